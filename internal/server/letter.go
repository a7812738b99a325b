package server

import (
	"html"
	"html/template"
	"net/url"
	"slices"
	"strings"
)

// The newsroom's letter is written in a tiny, safe markup: paragraphs separated by blank lines,
// **bold**, *italic* and [text](https://...) links to the configured article origins (or
// Pledge's own). Everything else is text, escaped: the letter comes from a configuration file,
// but it is shown on other sites' pages, so it can never carry markup of its own.

// letterParagraphs renders a letter's paragraphs as HTML.
func letterParagraphs(src string, origins []string) []template.HTML {
	var out []template.HTML
	for _, p := range strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, letterInline(p, origins))
		}
	}
	return out
}

// letterInline renders one paragraph's inline markup; a line break inside it is kept.
func letterInline(s string, origins []string) template.HTML {
	var b strings.Builder
	inline(&b, s, origins)
	return template.HTML(b.String()) // every piece of s went through html.EscapeString
}

func inline(b *strings.Builder, s string, origins []string) {
	for len(s) > 0 {
		i := strings.IndexAny(s, "*[\n")
		if i < 0 {
			b.WriteString(html.EscapeString(s))
			return
		}
		b.WriteString(html.EscapeString(s[:i]))
		s = s[i:]
		switch {
		case s[0] == '\n':
			b.WriteString("<br>")
			s = s[1:]
		case strings.HasPrefix(s, "**"):
			s = emphasis(b, s, "**", "strong", origins)
		case s[0] == '*':
			s = emphasis(b, s, "*", "em", origins)
		default: // '['
			text, rest, ok := strings.Cut(s[1:], "](")
			href, after, ok2 := strings.Cut(rest, ")")
			if ok && ok2 && !strings.ContainsAny(text, "[]\n") && allowedLink(href, origins) {
				b.WriteString(`<a href="` + html.EscapeString(href) + `" target="_top">`)
				inline(b, text, origins)
				b.WriteString("</a>")
				s = after
				continue
			}
			b.WriteString("[")
			s = s[1:]
		}
	}
}

// emphasis renders the marker that starts s: the text up to the same marker again, in tag, when
// that text is tight; else the marker as it is. It returns the rest of s.
func emphasis(b *strings.Builder, s, marker, tag string, origins []string) string {
	n := len(marker)
	if end := strings.Index(s[n:], marker); end > 0 && tight(s[n:n+end]) {
		b.WriteString("<" + tag + ">")
		inline(b, s[n:n+end], origins)
		b.WriteString("</" + tag + ">")
		return s[2*n+end:]
	}
	b.WriteString(marker)
	return s[n:]
}

// allowedLink reports whether a letter may link to href: an absolute http(s) URL on one of the
// origins.
func allowedLink(href string, origins []string) bool {
	u, err := url.Parse(href)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil {
		return false
	}
	return slices.Contains(origins, u.Scheme+"://"+u.Host)
}

// tight reports whether emphasised text starts and ends with a non-space, as Markdown asks, so
// that "5 * 3" stays arithmetic.
func tight(s string) bool {
	return s != "" && s[0] != ' ' && s[len(s)-1] != ' ' && !strings.Contains(s, "\n")
}
