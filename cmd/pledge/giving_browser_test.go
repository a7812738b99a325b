package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/pledge-news/pledge/internal/testkit"
)

// demoService runs the real service in demo mode, as `make run` does, against a real stripe-mock
// whose requests are recorded.
func demoService(t *testing.T) (base string, rec *testkit.Recorder) {
	t.Helper()
	d := startDemo(t, nil)
	return d.base, d.rec
}

// demo is the service in demo mode, for tests that look inside it (its store, its counters).
type demo struct {
	base string
	rec  *testkit.Recorder
	m    *Main
}

// startDemo runs the service in demo mode with extra environment (PLEDGE_CONFIG, ...).
func startDemo(t *testing.T, extra map[string]string) *demo {
	t.Helper()
	mockURL := testkit.StripeMock(t)
	port := testkit.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := map[string]string{
		"PLEDGE_DEMO":         "1",
		"PLEDGE_ADDR":         fmt.Sprintf("127.0.0.1:%d", port),
		"PLEDGE_METRICS_ADDR": "off",
		"PLEDGE_BASE_URL":     base,
		"PLEDGE_DB":           testkit.StoreDSN(t),
		"STRIPE_API_BASE":     mockURL,
	}
	for k, v := range extra {
		env[k] = v
	}
	cfg := ConfigFromEnv(func(k string) string { return env[k] })
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	rec := &testkit.Recorder{}
	m := &Main{Config: &cfg, StripeTransport: rec,
		env: &Env{Stdout: io.Discard, Stderr: io.Discard, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		m.Close()
	})
	testkit.WaitHTTP(t, base+"/healthz", 10*time.Second)
	return &demo{base: base, rec: rec, m: m}
}

// promptFrame waits for embed.js to show the prompt and returns its frame node.
func promptFrame(ctx context.Context, t *testing.T) *cdp.Node {
	t.Helper()
	var frames []*cdp.Node
	err := chromedp.Run(ctx,
		chromedp.WaitVisible(`[data-pledge-prompt][data-pledge-state="shown"] iframe`, chromedp.ByQuery),
		chromedp.Nodes(`[data-pledge-prompt] iframe`, &frames, chromedp.ByQuery),
	)
	if err != nil || len(frames) != 1 {
		t.Fatalf("the prompt did not show in the article: %v", err)
	}
	return frames[0]
}

func TestBrowserGiveFromArticle(t *testing.T) {
	base, rec := demoService(t)
	ctx := testkit.Browser(t)

	// Monthly, the $10 preset, Continue: from the article's frame to the (demo) checkout.
	if err := chromedp.Run(ctx, chromedp.Navigate(base+"/demo/article")); err != nil {
		t.Fatal(err)
	}
	frame := promptFrame(ctx, t)
	screenshot(ctx, t, "pledge-article.png")
	var amount, location string
	var annual bool
	err := chromedp.Run(ctx,
		// The frequency control is a radio group: the arrow keys move the choice.
		chromedp.Focus(`#frequency-monthly`, chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.KeyEvent(kb.ArrowRight),
		chromedp.WaitReady(`input[name="amount"][value="200"]`, chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.JavascriptAttribute(`#frequency-annual`, "checked", &annual, chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.Click(`label[for="frequency-once"]`, chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.WaitReady(`input[name="amount"][value="50"]`, chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.Click(`label[for="frequency-monthly"]`, chromedp.ByQuery, chromedp.FromNode(frame)),
		// The presets were swapped in place: $20 is the monthly tier's top preset.
		chromedp.WaitReady(`input[name="amount"][value="20"]`, chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.Click(`label[for="amount-2"]`, chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.Click(`button.continue`, chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.WaitVisible(`.demo-checkout [data-amount]`, chromedp.ByQuery),
		chromedp.Text(`.demo-checkout [data-amount]`, &amount, chromedp.ByQuery),
		chromedp.Location(&location),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !annual {
		t.Error("ArrowRight from Monthly did not choose Annual")
	}
	if amount != "$10.00" || !strings.Contains(location, "/demo/checkout/co_") {
		t.Fatalf("arrived at %s showing %q, want the demo checkout for $10.00", location, amount)
	}
	screenshot(ctx, t, "pledge-demo-checkout.png")
	reqs := rec.Requests(http.MethodPost, "/v1/checkout/sessions")
	if len(reqs) != 1 {
		t.Fatalf("%d session requests, want 1", len(reqs))
	}
	form := reqs[0].Form
	if form.Get("mode") != "subscription" || form.Get("line_items[0][price_data][recurring][interval]") != "month" ||
		form.Get("line_items[0][price_data][unit_amount]") != "1000" || form.Get("line_items[0][price_data][currency]") != "usd" ||
		form.Get("metadata[article]") != base+"/demo/article" {
		t.Fatalf("Stripe received %v, want a monthly $10 subscription for the demo article", form)
	}

	// Pay (demo) and land on the thank-you page.
	var thanks string
	err = chromedp.Run(ctx,
		chromedp.Click(`.demo-checkout button.continue`, chromedp.ByQuery),
		chromedp.WaitVisible(`#thanks-heading`, chromedp.ByQuery),
		chromedp.Text(`.thanks .lead`, &thanks, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(ctx, t, "pledge-thanks.png")
	if !strings.Contains(thanks, "$10.00") || !strings.Contains(thanks, "every month") {
		t.Fatalf("thank-you page says %q", thanks)
	}

	// Once, an Other amount below the minimum: the message shows beside the field, in the frame,
	// and nothing reaches Stripe. (The supporter cookie would now silence the prompt; clear it.)
	var msg, describedBy string
	err = chromedp.Run(ctx,
		network.ClearBrowserCookies(),
		chromedp.Navigate(base+"/demo/article"),
	)
	if err != nil {
		t.Fatal(err)
	}
	frame = promptFrame(ctx, t)
	err = chromedp.Run(ctx,
		chromedp.Click(`label[for="frequency-once"]`, chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.SendKeys(`#other_amount`, "1", chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.Click(`button.continue`, chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.WaitVisible(`#amount-error`, chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.Text(`#amount-error`, &msg, chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.AttributeValue(`#other_amount`, "aria-describedby", &describedBy, nil, chromedp.ByQuery, chromedp.FromNode(frame)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if msg != "The minimum one-off amount is $2.00." || !strings.Contains(describedBy, "amount-error") {
		t.Fatalf("message %q (field described by %q)", msg, describedBy)
	}
	if n := len(rec.Requests(http.MethodPost, "/v1/checkout/sessions")); n != 1 {
		t.Fatalf("%d session requests after the refused amount, want still 1", n)
	}
}

func TestBrowserGiveWithoutJavaScript(t *testing.T) {
	base, rec := demoService(t)
	ctx := testkit.Browser(t)
	if err := chromedp.Run(ctx, emulation.SetScriptExecutionDisabled(true)); err != nil {
		t.Fatal(err)
	}
	// Without JavaScript there is no embed: the reader uses /donate. Frequency changes by a
	// plain post ("Update amounts"), then the same monthly $10 gift.
	var amount, location string
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/donate?frequency=once"),
		chromedp.WaitVisible(`button[name="step"][value="update"]`, chromedp.ByQuery),
		chromedp.Click(`label[for="frequency-monthly"]`, chromedp.ByQuery),
		chromedp.Click(`button[name="step"][value="update"]`, chromedp.ByQuery),
		chromedp.WaitReady(`input[name="amount"][value="20"]`, chromedp.ByQuery),
		chromedp.Click(`label[for="amount-2"]`, chromedp.ByQuery),
		chromedp.Click(`button.continue`, chromedp.ByQuery),
		chromedp.WaitVisible(`.demo-checkout [data-amount]`, chromedp.ByQuery),
		chromedp.Text(`.demo-checkout [data-amount]`, &amount, chromedp.ByQuery),
		chromedp.Location(&location),
	)
	if err != nil {
		t.Fatal(err)
	}
	if amount != "$10.00" || !strings.Contains(location, "/demo/checkout/co_") {
		t.Fatalf("arrived at %s showing %q", location, amount)
	}
	reqs := rec.Requests(http.MethodPost, "/v1/checkout/sessions")
	if len(reqs) != 1 {
		t.Fatalf("%d session requests, want 1", len(reqs))
	}
	if f := reqs[0].Form; f.Get("mode") != "subscription" || f.Get("line_items[0][price_data][recurring][interval]") != "month" ||
		f.Get("line_items[0][price_data][unit_amount]") != "1000" {
		t.Fatalf("Stripe received %v, want a monthly $10 subscription", f)
	}

	// Below the minimum: the server answers 422 with the message beside the field.
	var msg, invalid string
	var ok bool
	err = chromedp.Run(ctx,
		chromedp.Navigate(base+"/donate"),
		chromedp.Click(`label[for="frequency-once"]`, chromedp.ByQuery),
		chromedp.SendKeys(`#other_amount`, "1.50", chromedp.ByQuery),
		chromedp.Click(`button.continue`, chromedp.ByQuery),
		chromedp.WaitVisible(`#amount-error`, chromedp.ByQuery),
		chromedp.Text(`#amount-error`, &msg, chromedp.ByQuery),
		chromedp.AttributeValue(`#other_amount`, "aria-invalid", &invalid, &ok, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(ctx, t, "pledge-donate-422.png")
	if msg != "The minimum one-off amount is $2.00." || invalid != "true" {
		t.Fatalf("message %q, aria-invalid %q", msg, invalid)
	}
	if n := len(rec.Requests(http.MethodPost, "/v1/checkout/sessions")); n != 1 {
		t.Fatalf("%d session requests after the refused amount, want still 1", n)
	}
}

// screenshot saves the page to $PLEDGE_SCREENSHOT_DIR when set, for people checking the look.
func screenshot(ctx context.Context, t *testing.T, name string) {
	dir := os.Getenv("PLEDGE_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	var buf []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&buf, 100)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The reader changes currency in the frame, then chooses "Remind me later": embed.js hides the
// prompt and, on the next visit, does not even ask for it.
func TestBrowserRemindLaterHidesThePrompt(t *testing.T) {
	base, _ := demoService(t)
	ctx := testkit.Browser(t)
	if err := chromedp.Run(ctx, chromedp.Navigate(base+"/demo/article")); err != nil {
		t.Fatal(err)
	}
	frame := promptFrame(ctx, t)
	var frames []*cdp.Node
	// The reader switches to euros: the frame reloads in the new currency.
	err := chromedp.Run(ctx,
		chromedp.Evaluate(`(function () {
			var sel = document.querySelector("[data-pledge-prompt] iframe").contentDocument.querySelector("#currency");
			sel.value = "eur";
			sel.dispatchEvent(new Event("change", { bubbles: true }));
		})()`, nil),
		chromedp.Poll(`(function () {
			var d = document.querySelector("[data-pledge-prompt] iframe").contentDocument;
			var l = d && d.querySelector('label[for="amount-1"]');
			return !!(l && l.textContent === "€5/month");
		})()`, nil),
		chromedp.Nodes(`[data-pledge-prompt] iframe`, &frames, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("switching currency: %v", err)
	}
	frame = frames[0]
	err = chromedp.Run(ctx,
		chromedp.Click(`.remind-later a`, chromedp.ByQuery, chromedp.FromNode(frame)),
		// The frame now holds /remind (same origin in the demo, so the test may look inside).
		chromedp.Poll(`(function () {
			var d = document.querySelector("[data-pledge-prompt] iframe").contentDocument;
			return !!(d && d.querySelector("#choice-week"));
		})()`, nil),
		chromedp.Nodes(`[data-pledge-prompt] iframe`, &frames, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	var state, until string
	var confirmed string
	var submitVisible bool
	err = chromedp.Run(ctx,
		// The panel is inside the card and the frame has grown to show its submit button.
		chromedp.Poll(`(function () {
			var f = document.querySelector("[data-pledge-prompt] iframe");
			var b = f.contentDocument.querySelector("form[data-pledge-remind] button[type=submit]");
			var r = b && b.getBoundingClientRect();
			return !!(r && r.height > 0 && r.bottom <= f.getBoundingClientRect().height);
		})()`, &submitVisible),
		chromedp.Evaluate(`(function () {
			var d = document.querySelector("[data-pledge-prompt] iframe").contentDocument;
			d.querySelector("#choice-week").click();
			d.querySelector("form[data-pledge-remind] button[type=submit]").click();
		})()`, nil),
		// The confirmation is seen, inside the card, before the prompt goes.
		chromedp.Poll(`(function () {
			var d = document.querySelector("[data-pledge-prompt] iframe").contentDocument;
			var s = d.querySelector("#remind-status[data-state=done]");
			return s && !document.querySelector("[data-pledge-prompt]").hidden ? s.textContent : "";
		})()`, &confirmed),
		chromedp.Evaluate(`document.querySelector("[data-pledge-prompt] iframe").contentDocument.querySelector("#remind-status button").click()`, nil),
		chromedp.WaitNotVisible(`[data-pledge-prompt]`, chromedp.ByQuery),
		chromedp.AttributeValue(`[data-pledge-prompt]`, "data-pledge-state", &state, nil, chromedp.ByQuery),
		chromedp.Evaluate(`localStorage.getItem("pledge:hiddenUntil") || ""`, &until),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(confirmed, "We won't ask you again until") {
		t.Fatalf("confirmation %q", confirmed)
	}
	if state != "deferred" || until == "" {
		t.Fatalf("state %q, remembered until %q", state, until)
	}
	// A later visit: the prompt is not even requested.
	err = chromedp.Run(ctx,
		chromedp.Reload(),
		chromedp.WaitReady(`[data-pledge-prompt][data-pledge-state="deferred"]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	var iframes int
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelectorAll("[data-pledge-prompt] iframe").length`, &iframes)); err != nil || iframes != 0 {
		t.Fatalf("%d frames after a deferral (%v), want 0", iframes, err)
	}
}
