package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"go.yaml.in/yaml/v3"

	"github.com/pledge-news/pledge/internal/locale"
	"github.com/pledge-news/pledge/internal/testkit"
)

// A right-to-left language lays the prompt out right to left: a test-only catalogue (English
// words, meta.dir rtl) added through PLEDGE_CONFIG's messages, as a newsroom would add Arabic.
func TestBrowserRightToLeftPrompt(t *testing.T) {
	rtl := locale.Builtin("en")
	rtl["meta.name"] = "Right to left (test)"
	rtl["meta.dir"] = "rtl"
	b, err := yaml.Marshal(map[string]any{"messages": map[string]any{"ar": rtl}})
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "rtl.yaml")
	if err := os.WriteFile(conf, b, 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDemo(t, map[string]string{"PLEDGE_CONFIG": conf})
	ctx := testkit.Browser(t)
	var dir, cardDir string
	var onceLeft, annualLeft float64
	var heading struct{ TextLeft, TextRight, BoxLeft, BoxRight float64 }
	err = chromedp.Run(ctx,
		chromedp.Navigate(d.base+"/prompt?lang=ar"),
		chromedp.WaitReady(`form.giving`, chromedp.ByQuery),
		chromedp.Evaluate(`document.documentElement.dir`, &dir),
		chromedp.Evaluate(`getComputedStyle(document.querySelector(".prompt-card")).direction`, &cardDir),
		chromedp.Evaluate(`document.querySelector('label[for="frequency-once"]').getBoundingClientRect().left`, &onceLeft),
		chromedp.Evaluate(`document.querySelector('label[for="frequency-annual"]').getBoundingClientRect().left`, &annualLeft),
		chromedp.Evaluate(`(function () {
			var h = document.querySelector("h1"), r = document.createRange();
			r.selectNodeContents(h);
			var t = r.getBoundingClientRect(), b = h.getBoundingClientRect();
			return { TextLeft: t.left, TextRight: t.right, BoxLeft: b.left, BoxRight: b.right };
		})()`, &heading),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(ctx, t, "pledge-rtl.png")
	if dir != "rtl" || cardDir != "rtl" {
		t.Fatalf("<html dir=%q>, the card's direction %q; want rtl", dir, cardDir)
	}
	// Once comes first in reading order: on the right, with Annual to its left.
	if onceLeft <= annualLeft {
		t.Fatalf("Once at x=%.0f, Annual at x=%.0f: the frequencies are not mirrored", onceLeft, annualLeft)
	}
	// The heading's text starts at the card's right edge.
	if heading.BoxRight-heading.TextRight > 2 || heading.TextLeft-heading.BoxLeft < 20 {
		t.Fatalf("heading text at %.0f..%.0f in a box at %.0f..%.0f: not aligned to the right", heading.TextLeft, heading.TextRight, heading.BoxLeft, heading.BoxRight)
	}
}
