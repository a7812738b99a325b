package postgres

import (
	"strconv"
	"strings"
	"sync"
)

// Rebind turns one statement of the store's SQL, written for SQLite, into PostgreSQL's:
//
//   - placeholders: `?` and SQLite's numbered `?NNN` become `$n`. A bare `?` takes the number one
//     above the largest used so far in the statement, as SQLite numbers it, so `?1 ... ? ...`
//     gives `$1 ... $2 ...`;
//   - SQLite's planner hints `INDEXED BY name` and `NOT INDEXED` are dropped (PostgreSQL plans
//     by itself);
//   - the scalar `max(a, b, ...)` and `min(a, b, ...)` (two or more arguments; one argument is
//     the aggregate and stays) become GREATEST and LEAST. They differ only when an argument is
//     NULL (SQLite answers NULL, PostgreSQL ignores it): the store never passes one;
//   - `x IS y` and `x IS NOT y`, where y is not NULL, TRUE, FALSE or DISTINCT, become
//     `IS NOT DISTINCT FROM` and `IS DISTINCT FROM`, which is what SQLite's IS means;
//   - `LIMIT ?`: SQLite reads a negative limit as none (the store passes -1 for "all"), which
//     PostgreSQL refuses: the placeholder becomes NULLIF(GREATEST($n, -1), -1), NULL being no
//     limit.
//
// Nothing inside a quoted string ('...'), a quoted identifier ("..."), a comment or a
// dollar-quoted body ($$...$$, $tag$...$tag$) is touched.
func Rebind(q string) string {
	toks := lex(q)
	var b strings.Builder
	b.Grow(len(q) + 16)
	maxN := 0
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.kind == tokParam:
			n := 0
			if len(t.text) > 1 {
				n, _ = strconv.Atoi(t.text[1:])
			} else {
				n = maxN + 1
			}
			maxN = max(maxN, n)
			p := "$" + strconv.Itoa(n)
			if i > 0 && prevWordIs(toks, i, "LIMIT") {
				p = "NULLIF(GREATEST(" + p + ", -1), -1)"
			}
			b.WriteString(p)
			continue
		case t.is("INDEXED"):
			// INDEXED BY name: drop the three words (and the space before them).
			if j := next(toks, i); j > 0 && toks[j].is("BY") {
				if k := next(toks, j); k > 0 && toks[k].kind == tokWord {
					trimSpace(&b)
					i = k
					continue
				}
			}
		case t.is("NOT"):
			if j := next(toks, i); j > 0 && toks[j].is("INDEXED") {
				trimSpace(&b)
				i = j
				continue
			}
		case t.is("IS"):
			j := next(toks, i)
			if j < 0 {
				break
			}
			not := toks[j].is("NOT")
			k := j
			if not {
				if k = next(toks, j); k < 0 {
					break
				}
			}
			if toks[k].is("NULL") || toks[k].is("TRUE") || toks[k].is("FALSE") || toks[k].is("DISTINCT") {
				break
			}
			if not {
				b.WriteString("IS DISTINCT FROM")
			} else {
				b.WriteString("IS NOT DISTINCT FROM")
			}
			// Keep the space before the operand.
			i = k - 1
			if toks[k-1].kind == tokSpace {
				i = k - 2
			}
			continue
		case t.is("max") || t.is("min"):
			if j := next(toks, i); j == i+1 && toks[j].text == "(" && topLevelCommas(toks, j) > 0 {
				if t.is("max") {
					b.WriteString("GREATEST")
				} else {
					b.WriteString("LEAST")
				}
				continue
			}
		}
		b.WriteString(t.text)
	}
	return b.String()
}

// Rebinder caches Rebind by statement text: the store's statements are a fixed set of strings,
// so each is rewritten once per process, not once per call.
type Rebinder struct{ m sync.Map }

// Rebind returns Rebind(q), from the cache when q was seen before.
func (r *Rebinder) Rebind(q string) string {
	if v, ok := r.m.Load(q); ok {
		return v.(string)
	}
	out := Rebind(q)
	r.m.Store(q, out)
	return out
}

type tokKind int

const (
	tokOther  tokKind = iota // punctuation, operators, numbers
	tokSpace                 // white space and comments
	tokWord                  // a bare word: keyword or identifier
	tokQuoted                // '...', "...", `...`, [...], $tag$...$tag$
	tokParam                 // ? or ?NNN
)

type token struct {
	kind tokKind
	text string
}

func (t token) is(word string) bool { return t.kind == tokWord && strings.EqualFold(t.text, word) }

// prevWordIs reports whether the token before i that is not space is the word w.
func prevWordIs(toks []token, i int, w string) bool {
	for j := i - 1; j >= 0; j-- {
		if toks[j].kind != tokSpace {
			return toks[j].is(w)
		}
	}
	return false
}

// next returns the index of the first token after i that is not space, or -1.
func next(toks []token, i int) int {
	for j := i + 1; j < len(toks); j++ {
		if toks[j].kind != tokSpace {
			return j
		}
	}
	return -1
}

// topLevelCommas counts the commas directly inside the parenthesis that opens at toks[open].
func topLevelCommas(toks []token, open int) int {
	depth, commas := 0, 0
	for j := open; j < len(toks); j++ {
		switch toks[j].text {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return commas
			}
		case ",":
			if depth == 1 && toks[j].kind == tokOther {
				commas++
			}
		}
	}
	return commas
}

// trimSpace drops trailing white space already written, so a dropped phrase leaves one space.
func trimSpace(b *strings.Builder) {
	s := b.String()
	t := strings.TrimRight(s, " \t\r\n")
	if len(t) != len(s) {
		b.Reset()
		b.WriteString(t)
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// past returns the index just past the first end in q at or after from, or len(q) when there is
// none (an unclosed bracket or comment runs to the end).
func past(q string, from int, end string) int {
	if j := strings.Index(q[from:], end); j >= 0 {
		return from + j + len(end)
	}
	return len(q)
}

// lex splits q into tokens; concatenating their texts gives q back.
func lex(q string) []token {
	var toks []token
	for i := 0; i < len(q); {
		c := q[i]
		start := i
		switch {
		case c == '\'' || c == '"' || c == '`':
			// A doubled quote inside is the quote itself.
			i++
			for i < len(q) {
				if q[i] == c {
					if i+1 < len(q) && q[i+1] == c {
						i += 2
						continue
					}
					i++
					break
				}
				i++
			}
			toks = append(toks, token{tokQuoted, q[start:i]})
		case c == '[':
			i = past(q, i, "]")
			toks = append(toks, token{tokQuoted, q[start:i]})
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			i = past(q, i, "\n")
			toks = append(toks, token{tokSpace, q[start:i]})
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			i = past(q, i+2, "*/")
			toks = append(toks, token{tokSpace, q[start:i]})
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			for i < len(q) && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r') {
				i++
			}
			toks = append(toks, token{tokSpace, q[start:i]})
		case c == '?':
			i++
			for i < len(q) && q[i] >= '0' && q[i] <= '9' {
				i++
			}
			toks = append(toks, token{tokParam, q[start:i]})
		case c == '$':
			// $tag$ ... $tag$ (a dollar-quoted body), else $n (already PostgreSQL's).
			j := i + 1
			for j < len(q) && isWordByte(q[j]) && !(q[j] >= '0' && q[j] <= '9' && j == i+1) {
				j++
			}
			if j < len(q) && q[j] == '$' {
				tag := q[i : j+1]
				if k := strings.Index(q[j+1:], tag); k >= 0 {
					i = j + 1 + k + len(tag)
				} else {
					i = len(q)
				}
				toks = append(toks, token{tokQuoted, q[start:i]})
			} else {
				i++
				for i < len(q) && q[i] >= '0' && q[i] <= '9' {
					i++
				}
				toks = append(toks, token{tokOther, q[start:i]})
			}
		case isWordByte(c):
			for i < len(q) && isWordByte(q[i]) {
				i++
			}
			toks = append(toks, token{tokWord, q[start:i]})
		default:
			i++
			toks = append(toks, token{tokOther, q[start:i]})
		}
	}
	return toks
}
