package testkit

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// The accessibility check finds what it should: a page with an image without a text alternative
// and a button without a name has critical violations; a tidy page has none.
func TestAxeSerious(t *testing.T) {
	src := Axe(t)
	ctx := Browser(t)
	for _, tc := range []struct {
		page string
		want []string
	}{
		{`<!doctype html><html lang="en"><title>Bad</title><main><img src="x.png"><button></button></main></html>`, []string{"button-name", "image-alt"}},
		{`<!doctype html><html lang="en"><title>Good</title><main><h1>Hello</h1><button>Go</button></main></html>`, nil},
	} {
		if err := chromedp.Run(ctx, chromedp.Navigate("data:text/html,"+tc.page)); err != nil {
			t.Fatal(err)
		}
		vs, err := AxeSerious(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range vs {
			got = append(got, v.ID)
		}
		if len(got) != len(tc.want) || (len(got) > 0 && (got[0] != tc.want[0] || got[1] != tc.want[1])) {
			t.Fatalf("violations %v, want %v", got, tc.want)
		}
	}
}
