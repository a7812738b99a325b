package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/pledge-news/pledge/internal/testkit"
)

// hostPage is an article page on another origin that embeds Pledge in a frame and hides it on
// the "pledge:hide" message, as embed.js does.
const hostPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Article</title></head><body>
<h1>An article</h1>
<div id="prompt"><iframe id="pledge" title="Support us" src="%s/remind?article=%s" width="600" height="600"></iframe></div>
<script>
window.addEventListener("message", function (e) {
  if (e.origin === %q && e.data && e.data.type === "pledge:hide") {
    document.getElementById("prompt").hidden = true;
    document.body.setAttribute("data-hidden-until", e.data.remindAt);
  }
});
</script></body></html>`

// A reader in Chromium, on an article page that frames GET /remind, chooses "in a week": the
// frame tells the page to hide the prompt, and /prompt then answers 204 with that browser's
// cookies (after a reload too), and 200 once the cookies are cleared.
func TestRemindInBrowser(t *testing.T) {
	var pledgeURL string
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, hostPage, pledgeURL, url.QueryEscape(r.Host+"/story"), pledgeURL)
	}))
	defer host.Close()

	f := newRemindFixture(t, Config{EmbedOrigins: []string{host.URL}})
	pledge := httptest.NewServer(f.s)
	defer pledge.Close()
	pledgeURL = pledge.URL

	ctx := testkit.Browser(t)
	var frames []*cdp.Node
	var hiddenUntil string
	err := chromedp.Run(ctx,
		chromedp.Navigate(host.URL+"/story"),
		chromedp.WaitVisible("iframe#pledge", chromedp.ByQuery),
		chromedp.Nodes("iframe#pledge", &frames, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Run(ctx,
		chromedp.WaitVisible("#choice-week", chromedp.ByQuery, chromedp.FromNode(frames[0])),
		chromedp.Click("#choice-week", chromedp.ByQuery, chromedp.FromNode(frames[0])),
		chromedp.Click("button[type=submit]", chromedp.ByQuery, chromedp.FromNode(frames[0])),
		chromedp.Poll(`document.body.getAttribute("data-hidden-until") || ""`, &hiddenUntil),
	)
	if err != nil {
		t.Fatalf("the prompt was not hidden after Remind me later: %v", err)
	}
	var promptHidden bool
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.getElementById("prompt").hidden`, &promptHidden)); err != nil || !promptHidden {
		t.Fatalf("prompt hidden = %v (%v)", promptHidden, err)
	}
	if n := f.count(t); n != 1 {
		t.Fatalf("%d deferrals stored, want 1", n)
	}

	// Pledge's own page: the confirmation text, and /prompt as fetched by that browser.
	status := func() int {
		t.Helper()
		var code int
		if err := chromedp.Run(ctx, chromedp.Evaluate(`fetch("/prompt?article=x").then(r => r.status)`, &code,
			func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) })); err != nil {
			t.Fatal(err)
		}
		return code
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(pledge.URL+"/remind")); err != nil {
		t.Fatal(err)
	}
	if got := status(); got != http.StatusNoContent {
		t.Fatalf("/prompt after Remind me later: %d, want 204", got)
	}
	if err := chromedp.Run(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	if got := status(); got != http.StatusNoContent {
		t.Fatalf("/prompt after a reload: %d, want 204", got)
	}
	if err := chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		return network.ClearBrowserCookies().Do(ctx)
	})); err != nil {
		t.Fatal(err)
	}
	if got := status(); got != http.StatusOK {
		t.Fatalf("/prompt with cookies cleared: %d, want 200", got)
	}

	// The same page without a frame: the fetch-enhanced form confirms in its live region.
	var text string
	err = chromedp.Run(ctx,
		chromedp.Navigate(pledge.URL+"/remind"),
		chromedp.Click("#choice-month", chromedp.ByQuery),
		chromedp.Click("button[type=submit]", chromedp.ByQuery),
		chromedp.Poll(`document.getElementById("remind-status").dataset.state === "done"`, nil),
		chromedp.Text("#remind-status", &text, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "We won't ask you again until") {
		t.Fatalf("confirmation %q", text)
	}
	if got := status(); got != http.StatusNoContent {
		t.Fatalf("/prompt after the page's own form: %d, want 204", got)
	}
}
