package pdf

import (
	"bytes"
	"compress/zlib"
	"io"
	"strings"
	"testing"
	"unicode/utf16"

	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
)

func TestRenderMakesAPDF(t *testing.T) {
	b, err := Render(Document{Title: "Statement of gifts, 2026", Header: []string{"The Riverside Ledger", "Supporter: Zoë"},
		Tables: [][][]string{{{"Date", "Amount"}, {"1 March 2026", "€5.00"}}}, Footer: []string{"Issued by Riverside Media Ltd."}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("%PDF-")) || !bytes.Contains(b, []byte("%%EOF")) {
		t.Fatalf("not a PDF: %q...", b[:min(len(b), 20)])
	}
}

// A statement in Russian, for a supporter and a newsroom with Cyrillic names, prints every letter
// as written: the Go font is embedded (a TrueType subset, Identity-H), the text drawn is exactly
// the document's (no '?' replacements, as the core Helvetica's code page 1252 would make), and
// the font has a glyph for every character of it.
func TestRenderCyrillic(t *testing.T) {
	d := Document{
		Title:  "Выписка о пожертвованиях за 2026 год",
		Header: []string{"Новая газета Европа", "Жертвователь: Ольга Щербакова <olga@example.com>"},
		Tables: [][][]string{{{"Дата", "Сумма", "Периодичность", "Возвращено"}, {"1 марта 2026 г.", "5,00 €", "ежемесячное", ""}}},
		Footer: []string{"Выдано: ООО «Редакция», ул. Пушкина, д. 1 (Рига)."},
	}
	b, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/FontFile2", "/Encoding /Identity-H", "/ToUnicode", "/CIDToGIDMap"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("the PDF lacks %s: the font is not embedded as a Unicode font", want)
		}
	}
	if bytes.Contains(b, []byte("/Helvetica")) {
		t.Error("the PDF still uses the core Helvetica font")
	}
	drawn := strings.Join(shownText(t, b), "\n")
	for _, want := range append(append([]string{d.Title}, d.Header...), d.Footer[0], "Периодичность", "ежемесячное") {
		if !strings.Contains(drawn, want) {
			t.Errorf("the PDF does not draw %q; it draws:\n%s", want, drawn)
		}
	}
	if strings.Contains(drawn, "?") {
		t.Errorf("'?' replacements in the drawn text:\n%s", drawn)
	}
	f, err := sfnt.Parse(goregular.TTF)
	if err != nil {
		t.Fatal(err)
	}
	var buf sfnt.Buffer
	for _, r := range drawn {
		if r == '\n' {
			continue
		}
		if g, err := f.GlyphIndex(&buf, r); err != nil || g == 0 {
			t.Errorf("the font has no glyph for %q", r)
		}
	}
}

// shownText returns the strings the PDF's page content draws (Tj operators), decoded from the
// UTF-16BE that a UTF-8 font's text is written in.
func shownText(t *testing.T, pdf []byte) []string {
	t.Helper()
	var out []string
	for rest := pdf; ; {
		i := bytes.Index(rest, []byte("stream\n"))
		if i < 0 {
			break
		}
		rest = rest[i+len("stream\n"):]
		end := bytes.Index(rest, []byte("endstream"))
		if end < 0 {
			break
		}
		r, err := zlib.NewReader(bytes.NewReader(rest[:end]))
		if err != nil {
			continue // not compressed content
		}
		content, err := io.ReadAll(r)
		if err != nil && len(content) == 0 {
			continue
		}
		out = append(out, tjStrings(content)...)
		rest = rest[end:]
	}
	if len(out) == 0 {
		t.Fatal("no text found in the PDF's content streams")
	}
	return out
}

// tjStrings reads the literal strings before each Tj, undoing PDF's escapes, as UTF-16BE.
func tjStrings(content []byte) []string {
	var out []string
	for i := 0; i < len(content); i++ {
		if content[i] != '(' {
			continue
		}
		var raw []byte
		j := i + 1
		for ; j < len(content) && content[j] != ')'; j++ {
			if content[j] == '\\' && j+1 < len(content) {
				j++
				switch content[j] {
				case 'r':
					raw = append(raw, '\r')
				case 'n':
					raw = append(raw, '\n')
				default:
					raw = append(raw, content[j])
				}
				continue
			}
			raw = append(raw, content[j])
		}
		if j >= len(content) {
			break
		}
		if !bytes.HasPrefix(bytes.TrimLeft(content[j+1:], " "), []byte("Tj")) || len(raw)%2 != 0 {
			i = j
			continue
		}
		u := make([]uint16, len(raw)/2)
		for k := range u {
			u[k] = uint16(raw[2*k])<<8 | uint16(raw[2*k+1])
		}
		out = append(out, string(utf16.Decode(u)))
		i = j
	}
	return out
}
