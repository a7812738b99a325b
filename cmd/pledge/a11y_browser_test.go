package main

import (
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/pledge-news/pledge/internal/testkit"
)

// TestBrowserAccessibility runs axe-core (pinned, `make axe`) over every page a reader sees, in
// English and in Russian, and fails on any serious or critical violation.
func TestBrowserAccessibility(t *testing.T) {
	axe := testkit.Axe(t)
	d := moscowTimes(t)
	for _, lang := range []string{"en", "ru"} {
		t.Run(lang, func(t *testing.T) {
			ctx := testkit.Browser(t)
			if err := chromedp.Run(ctx, network.Enable(), network.SetExtraHTTPHeaders(network.Headers{"Accept-Language": lang})); err != nil {
				t.Fatal(err)
			}
			check := func(name string, actions ...chromedp.Action) {
				t.Helper()
				if err := chromedp.Run(ctx, actions...); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				vs, err := testkit.AxeSerious(ctx, axe)
				if err != nil {
					t.Fatalf("%s: axe: %v", name, err)
				}
				for _, v := range vs {
					t.Errorf("%s: %s", name, v)
				}
			}
			// The prompt the article frames: its own document, as the frame holds it.
			var src string
			if err := chromedp.Run(ctx, chromedp.Navigate(d.base+"/demo/article")); err != nil {
				t.Fatal(err)
			}
			promptFrame(ctx, t)
			if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelector("[data-pledge-prompt] iframe").src`, &src)); err != nil {
				t.Fatal(err)
			}
			check("the prompt", chromedp.Navigate(src), chromedp.WaitReady(`form.giving`, chromedp.ByQuery))
			check("the prompt's remind panel",
				chromedp.Click(`.remind-later a`, chromedp.ByQuery),
				chromedp.WaitVisible(`#remind-panel`, chromedp.ByQuery))
			check("the prompt with an amount error",
				chromedp.Click(`[data-remind-back]`, chromedp.ByQuery),
				chromedp.WaitVisible(`form.giving`, chromedp.ByQuery),
				chromedp.SendKeys(`#other_amount`, "abc", chromedp.ByQuery),
				chromedp.Click(`button.continue`, chromedp.ByQuery),
				chromedp.Poll(`document.querySelector("#amount-error").textContent !== ""`, nil))
			check("/donate", chromedp.Navigate(d.base+"/donate"), chromedp.WaitReady(`form.giving`, chromedp.ByQuery))
			check("/remind?embed=1", chromedp.Navigate(d.base+"/remind?embed=1"), chromedp.WaitReady(`form[data-pledge-remind]`, chromedp.ByQuery))
			check("/remind", chromedp.Navigate(d.base+"/remind"), chromedp.WaitReady(`form[data-pledge-remind]`, chromedp.ByQuery))
			check("/manage", chromedp.Navigate(d.base+"/manage"), chromedp.WaitReady(`#manage-email`, chromedp.ByQuery))
			check("/donate/cancelled", chromedp.Navigate(d.base+"/donate/cancelled"), chromedp.WaitReady(`main`, chromedp.ByQuery))
			check("the thank-you page",
				chromedp.Navigate(d.base+"/donate"),
				chromedp.WaitReady(`form.giving`, chromedp.ByQuery),
				chromedp.Click(`button.continue`, chromedp.ByQuery),
				chromedp.WaitVisible(`.demo-checkout button.continue`, chromedp.ByQuery),
				chromedp.Click(`.demo-checkout button.continue`, chromedp.ByQuery),
				chromedp.WaitVisible(`#thanks-heading`, chromedp.ByQuery))
		})
	}
}
