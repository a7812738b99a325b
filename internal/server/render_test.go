package server

import (
	"strings"
	"testing"
	"testing/fstest"
)

// Pages are built on their first use, yet a broken one still stops start-up; the templates'
// indentation does not reach the page, and the words between tags keep their spaces.
func TestRendererBuildsPagesOnUseAndChecksThemAtStart(t *testing.T) {
	files := fstest.MapFS{
		"static/css/a.css":          {Data: []byte("p{}")},
		"templates/layout.html":     {Data: []byte("{{define \"layout\"}}<main>\n    {{block \"content\" .}}{{end}}\n</main>{{end}}")},
		"templates/partials/p.html": {Data: []byte("{{define \"greeting\"}}<p>\n      Hello <b>{{.}}</b>\n\n      again</p>{{end}}")},
		"templates/pages/one.html":  {Data: []byte("{{define \"content\"}}{{template \"greeting\" .}}{{end}}")},
		"templates/pages/two.html":  {Data: []byte("{{define \"content\"}}two{{end}}")},
	}
	r, err := newRenderer(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.pages) != 0 {
		t.Errorf("%d pages kept from start, want none until used", len(r.pages))
	}
	var b strings.Builder
	if err := r.execute(&b, "one", "reader"); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "<main>\n<p>\nHello <b>reader</b>\nagain</p>\n</main>"; got != want {
		t.Errorf("page one = %q, want %q", got, want)
	}
	if len(r.pages) != 1 {
		t.Errorf("%d pages built after one was used", len(r.pages))
	}
	if err := r.execute(&b, "three", nil); err == nil {
		t.Error("a page that does not exist rendered")
	}

	files["templates/pages/two.html"] = &fstest.MapFile{Data: []byte("{{define \"content\"}}{{if}}{{end}}")}
	if _, err := newRenderer(files, nil); err == nil || !strings.Contains(err.Error(), "two.html") {
		t.Errorf("a broken page at start: %v, want an error naming it", err)
	}
}
