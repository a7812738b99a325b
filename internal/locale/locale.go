// Package locale holds the reader-facing words in every language Pledge speaks: the message
// catalogues (English and Russian built in, more or overrides from PLEDGE_CONFIG), the choice of
// a reader's language, plural forms, and numbers and money written the way that language writes
// them (CLDR data through golang.org/x/text).
package locale

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed messages/*.yaml
var builtin embed.FS

// Reference is the language every other catalogue is checked against: it must hold every key.
const Reference = "en"

// meta keys describe the catalogue rather than hold a sentence.
const (
	keyName  = "meta.name"  // the language's own name: "Русский"
	keyDir   = "meta.dir"   // ltr or rtl; default from the language's script
	keyMoney = "meta.money" // where the symbol goes: "{symbol}{amount}" or "{amount} {symbol}"
)

// text is one message: a plain text, or plural forms keyed zero, one, two, few, many, other.
type text struct {
	plain string
	forms map[string]string
}

// Catalogue is one language's messages with its formatting rules.
type Catalogue struct {
	Tag     language.Tag
	Code    string // the tag as written in <html lang>: "en", "ru", "pt-BR"
	msgs    map[string]text
	printer *message.Printer
	rtl     bool
}

// Dir is the writing direction for <html dir>: "ltr" or "rtl".
func (c *Catalogue) Dir() string {
	if c.rtl {
		return "rtl"
	}
	return "ltr"
}

// Name is the language's own name.
func (c *Catalogue) Name() string { return c.msgs[keyName].plain }

// Has reports whether the catalogue holds key.
func (c *Catalogue) Has(key string) bool { _, ok := c.msgs[key]; return ok }

// T returns the message for key with its {placeholders} replaced by args, given as name, value
// pairs. A missing key (a bug: the start-up check and the tests catch them) shows as the key.
func (c *Catalogue) T(key string, args ...string) string {
	m, ok := c.msgs[key]
	if !ok {
		return key
	}
	s := m.plain
	if m.forms != nil {
		s = m.forms["other"]
	}
	return fill(s, args)
}

// N returns the plural message for key chosen for the count n by the language's CLDR plural
// rules, with {n} written as a number in the language and the other placeholders from args.
func (c *Catalogue) N(key string, n int, args ...string) string {
	m, ok := c.msgs[key]
	if !ok {
		return key
	}
	s := m.plain
	if m.forms != nil {
		s = m.forms[formNames[plural.Cardinal.MatchPlural(c.Tag, n, 0, 0, 0, 0)]]
		if s == "" {
			s = m.forms["other"]
		}
	}
	return fill(s, append(args, "n", c.Number(int64(n), 0)))
}

// formNames name the CLDR plural forms as the catalogues' messages do.
var formNames = map[plural.Form]string{
	plural.Other: "other", plural.Zero: "zero", plural.One: "one", plural.Two: "two", plural.Few: "few", plural.Many: "many",
}

// fill replaces {name} by its value for each name, value pair (the first pair of a name wins);
// a {name} without a value stays as it is, and values are not scanned again. It runs for every
// message a page shows, so it scans the message once instead of building a strings.Replacer.
func fill(s string, args []string) string {
	if len(args) < 2 || !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 32)
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i+1:], '}')
		if j < 0 {
			break
		}
		if v, ok := value(args, s[i+1:i+1+j]); ok {
			b.WriteString(s[:i])
			b.WriteString(v)
			s = s[i+j+2:]
			continue
		}
		b.WriteString(s[:i+1])
		s = s[i+1:]
	}
	b.WriteString(s)
	return b.String()
}

// value returns the value of name among name, value pairs.
func value(args []string, name string) (string, bool) {
	for i := 0; i+1 < len(args); i += 2 {
		if args[i] == name {
			return args[i+1], true
		}
	}
	return "", false
}

// Set is every language the service speaks, with the default for readers whose language it does
// not.
type Set struct {
	langs   map[string]*Catalogue
	order   []string // codes: the default first, then alphabetical
	matcher language.Matcher
	def     *Catalogue
}

// Default is the set's default language.
func (s *Set) Default() *Catalogue { return s.def }

// Languages returns every catalogue, the default first.
func (s *Set) Languages() []*Catalogue {
	out := make([]*Catalogue, len(s.order))
	for i, code := range s.order {
		out[i] = s.langs[code]
	}
	return out
}

// Get returns the catalogue for a language code exactly as the set names it, or nil.
func (s *Set) Get(code string) *Catalogue { return s.langs[code] }

// Messages are a language's messages as PLEDGE_CONFIG writes them: key -> text, or key -> plural
// forms ({one: ..., other: ...}).
type Messages map[string]any

// Options build a Set: the default language and per-language overrides or additions.
type Options struct {
	Default string
	// Overrides are added over the built-in catalogues; a language with no built-in catalogue
	// must be complete.
	Overrides map[string]Messages
	// Shared are set in every language before its Overrides: the newsroom's letter as the
	// configuration's top level writes it, for languages that have no letter of their own.
	Shared Messages
}

// Load builds the set from the built-in catalogues and opts, and checks it: every language must
// hold every key of the reference catalogue (English), and no key it does not know. The error
// names the language and the key.
func Load(opts Options) (*Set, error) {
	raw := map[string]Messages{}
	files, _ := fs.Glob(builtin, "messages/*.yaml")
	for _, f := range files {
		b, err := builtin.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var m Messages
		if err := yaml.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("built-in catalogue %s: %w", f, err)
		}
		raw[strings.TrimSuffix(path.Base(f), ".yaml")] = m
	}
	ref := Messages{} // the built-in English: overrides may not add keys to it
	for k, v := range raw[Reference] {
		ref[k] = v
	}
	for k := range opts.Shared {
		if _, ok := ref[k]; !ok {
			return nil, fmt.Errorf("unknown key %q", k)
		}
	}
	for _, m := range raw {
		for k, v := range opts.Shared {
			m[k] = v
		}
	}
	for code, over := range opts.Overrides {
		if _, err := language.Parse(code); err != nil {
			return nil, fmt.Errorf("messages.%s: not a language tag", code)
		}
		if raw[code] == nil {
			raw[code] = Messages{}
			for k, v := range opts.Shared {
				raw[code][k] = v
			}
		}
		for k, v := range over {
			raw[code][k] = v
		}
	}
	s := &Set{langs: map[string]*Catalogue{}}
	for code, m := range raw {
		c, err := build(code, m, ref)
		if err != nil {
			return nil, err
		}
		s.langs[code] = c
	}
	def := opts.Default
	if def == "" {
		def = Reference
	}
	if s.def = s.langs[def]; s.def == nil {
		return nil, fmt.Errorf("default_language: no catalogue for %q (have %s)", def, strings.Join(sortedKeys(s.langs), ", "))
	}
	s.order = append([]string{def}, slices.DeleteFunc(sortedKeys(s.langs), func(k string) bool { return k == def })...)
	tags := make([]language.Tag, len(s.order))
	for i, code := range s.order {
		tags[i] = s.langs[code].Tag
	}
	s.matcher = language.NewMatcher(tags)
	return s, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// build checks one language's messages against the reference and makes its catalogue.
func build(code string, m, ref Messages) (*Catalogue, error) {
	tag, err := language.Parse(code)
	if err != nil {
		return nil, fmt.Errorf("messages.%s: not a language tag", code)
	}
	c := &Catalogue{Tag: tag, Code: code, msgs: map[string]text{}, printer: message.NewPrinter(tag)}
	for _, k := range sortedKeys(ref) {
		if _, ok := m[k]; !ok && k != keyDir {
			return nil, fmt.Errorf("messages.%s: missing key %q", code, k)
		}
	}
	for _, k := range sortedKeys(m) {
		if _, ok := ref[k]; !ok {
			return nil, fmt.Errorf("messages.%s: unknown key %q", code, k)
		}
		v := m[k]
		if mv, ok := v.(Messages); ok { // yaml gives nested maps the outer map's type
			v = map[string]any(mv)
		}
		switch v := v.(type) {
		case string:
			if _, refPlural := ref[k].(Messages); refPlural {
				return nil, fmt.Errorf("messages.%s: key %q: plural forms (one, other, ...) are required", code, k)
			}
			c.msgs[k] = text{plain: v}
		case map[string]any:
			forms := map[string]string{}
			for form, fv := range v {
				sv, ok := fv.(string)
				if !ok || !slices.Contains([]string{"zero", "one", "two", "few", "many", "other"}, form) {
					return nil, fmt.Errorf("messages.%s: key %q: form %q: want zero, one, two, few, many or other with a text", code, k, form)
				}
				forms[form] = sv
			}
			if forms["other"] == "" {
				return nil, fmt.Errorf("messages.%s: key %q: the form \"other\" is required", code, k)
			}
			c.msgs[k] = text{forms: forms}
		case nil:
			c.msgs[k] = text{}
		default:
			return nil, fmt.Errorf("messages.%s: key %q: want a text or plural forms", code, k)
		}
	}
	switch c.msgs[keyDir].plain {
	case "rtl":
		c.rtl = true
	case "ltr":
	case "":
		c.rtl = rtlScript(tag)
	default:
		return nil, fmt.Errorf("messages.%s: key %q: ltr or rtl", code, keyDir)
	}
	if mp := c.msgs[keyMoney].plain; !strings.Contains(mp, "{amount}") || !strings.Contains(mp, "{symbol}") {
		return nil, fmt.Errorf("messages.%s: key %q: must hold {amount} and {symbol}", code, keyMoney)
	}
	return c, nil
}

// rtlScript reports whether a language is written right to left by default.
func rtlScript(tag language.Tag) bool {
	script, _ := tag.Script()
	switch script.String() {
	case "Arab", "Hebr", "Thaa", "Syrc", "Nkoo", "Adlm", "Rohg", "Mand", "Samr":
		return true
	}
	return false
}

// Pick chooses a reader's language: the first of asked (data-lang, then the article page's lang)
// that the set speaks, else the best match for the Accept-Language header, else the default. A
// language the set lacks is never an error.
func (s *Set) Pick(acceptLanguage string, asked ...string) *Catalogue {
	for _, a := range asked {
		if a == "" {
			continue
		}
		if c := s.langs[a]; c != nil {
			return c
		}
		if t, err := language.Parse(a); err == nil {
			if c := s.match(t); c != nil {
				return c
			}
		}
	}
	if acceptLanguage != "" {
		if tags, _, err := language.ParseAcceptLanguage(acceptLanguage); err == nil && len(tags) > 0 {
			if c := s.match(tags...); c != nil {
				return c
			}
		}
	}
	return s.def
}

// match returns the catalogue for the best of tags, or nil when none is more than a guess.
func (s *Set) match(tags ...language.Tag) *Catalogue {
	_, i, conf := s.matcher.Match(tags...)
	if conf < language.High {
		return nil
	}
	return s.langs[s.order[i]]
}

// Builtin returns a copy of a built-in catalogue's messages (nil if there is none): a start for a
// newsroom's own language, and for tests.
func Builtin(code string) Messages {
	b, err := builtin.ReadFile("messages/" + code + ".yaml")
	if err != nil {
		return nil
	}
	var m Messages
	if yaml.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// Require checks that the catalogues hold every key code uses outside the templates (e-mails,
// rate-limit messages): every language holds every key of the reference, so checking it is
// enough. The error names the key.
func (s *Set) Require(keys ...string) error {
	ref := s.langs[Reference]
	if ref == nil {
		ref = s.def
	}
	for _, k := range keys {
		if !ref.Has(k) {
			return fmt.Errorf("messages.%s: missing key %q", ref.Code, k)
		}
	}
	return nil
}

// Lookup returns the catalogue for a language code as stored earlier (a deferral's language),
// else the default: a language since removed from the configuration is no error.
func (s *Set) Lookup(code string) *Catalogue {
	if c := s.langs[code]; c != nil {
		return c
	}
	return s.def
}
