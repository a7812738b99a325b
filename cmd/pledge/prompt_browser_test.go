package main

import (
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/pledge-news/pledge/internal/testkit"
)

// Issue 12's "Done when", in real Chromium, on the demo article with the Moscow Times letter as
// PLEDGE_CONFIG (examples/moscow-times.yaml).

// moscowTimes runs the demo with the example letter.
func moscowTimes(t *testing.T) *demo {
	t.Helper()
	return startDemo(t, map[string]string{"PLEDGE_CONFIG": filepath.Join(testkit.Root(t), "examples", "moscow-times.yaml")})
}

// inFrame evaluates a function body with d bound to the prompt frame's document.
func inFrame(body string) string {
	return `(function () { var f = document.querySelector("[data-pledge-prompt] iframe"); var d = f && f.contentDocument; ` +
		`if (!d) return null; ` + body + ` })()`
}

// views flushes the prompt's counters and returns the views recorded so far.
func (d *demo) views(t *testing.T) int64 {
	t.Helper()
	ctx := context.Background()
	if err := d.m.Server.FlushStats(ctx); err != nil {
		t.Fatal(err)
	}
	stats, err := d.m.DB.PromptStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, s := range stats {
		n += s.Views
	}
	return n
}

// frameNode returns the prompt's frame as it is now (a new document after a reload inside it).
func frameNode(ctx context.Context, t *testing.T) *cdp.Node {
	t.Helper()
	var frames []*cdp.Node
	if err := chromedp.Run(ctx, chromedp.Nodes(`[data-pledge-prompt] iframe`, &frames, chromedp.ByQuery)); err != nil || len(frames) != 1 {
		t.Fatalf("the prompt's frame: %v", err)
	}
	return frames[0]
}

func TestBrowserMoscowTimesPrompt(t *testing.T) {
	d := moscowTimes(t)
	ctx := testkit.Browser(t)
	article := d.base + "/demo/article"
	if err := chromedp.Run(ctx, chromedp.Navigate(article)); err != nil {
		t.Fatal(err)
	}
	promptFrame(ctx, t)
	screenshot(ctx, t, "moscow-times-en.png")

	// The letter: its paragraphs, its emphasis and its sign-off, not one grey wall.
	var paragraphs int
	var strong, signoff, ask string
	err := chromedp.Run(ctx,
		chromedp.Evaluate(inFrame(`return d.querySelectorAll(".letter p").length;`), &paragraphs),
		chromedp.Evaluate(inFrame(`return d.querySelector(".letter strong").textContent;`), &strong),
		chromedp.Evaluate(inFrame(`return d.querySelector(".letter-signoff").textContent;`), &signoff),
		chromedp.Evaluate(inFrame(`return d.querySelector("[data-ask]").textContent;`), &ask),
	)
	if err != nil {
		t.Fatal(err)
	}
	if paragraphs != 5 || strong != "refuse to be silenced" || signoff != "The Moscow Times editorial team" {
		t.Fatalf("letter: %d paragraphs, strong %q, sign-off %q; want 4 paragraphs and the sign-off", paragraphs, strong, signoff)
	}
	// Chromium asks for en-US: dollars.
	if ask != "If you can, please support us monthly starting from just $2." {
		t.Fatalf("ask %q", ask)
	}
	if n := d.views(t); n != 1 {
		t.Fatalf("%d views after one showing, want 1", n)
	}

	// A currency switch redraws the card in euros, and is not a view.
	var label string
	err = chromedp.Run(ctx,
		chromedp.Evaluate(inFrame(`var sel = d.querySelector("#currency"); sel.value = "eur";
			sel.dispatchEvent(new Event("change", { bubbles: true })); return true;`), nil),
		chromedp.Poll(inFrame(`var l = d.querySelector('label[for="amount-0"]');
			return l && l.textContent.indexOf("€") === 0 && d.readyState === "complete" ? l.textContent : null;`), &label),
	)
	if err != nil {
		t.Fatalf("switching currency: %v", err)
	}
	if n := d.views(t); n != 1 {
		t.Fatalf("%d views after a currency switch, want still 1", n)
	}
	if err := chromedp.Run(ctx, chromedp.Poll(inFrame(`return d.querySelector("[data-ask]").textContent.indexOf("€2.") >= 0;`), nil)); err != nil {
		t.Fatalf("the ask does not follow the currency: %v", err)
	}

	// "abc": the message shows beside the field, inside the card; the article stays.
	frame := frameNode(ctx, t)
	var msg, location string
	err = chromedp.Run(ctx,
		chromedp.SendKeys(`#other_amount`, "abc", chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.Click(`button.continue`, chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.Poll(inFrame(`var e = d.querySelector("#amount-error"); return e && e.textContent ? e.textContent : null;`), &msg),
		chromedp.Location(&location),
	)
	if err != nil {
		t.Fatal(err)
	}
	if msg != "Enter the amount as a number, such as 10 or 10.50." || location != article {
		t.Fatalf("message %q, top window at %s; want the message in the card and the article", msg, location)
	}
	if n := len(d.rec.Requests(http.MethodPost, "/v1/checkout/sessions")); n != 0 {
		t.Fatalf("%d Checkout sessions for \"abc\"", n)
	}

	// Remind me later: a panel inside the card, the frame grown to its submit button, the
	// confirmation seen before the prompt goes.
	var confirmed string
	err = chromedp.Run(ctx,
		chromedp.Evaluate(inFrame(`d.querySelector(".remind-later a").click(); return true;`), nil),
		chromedp.Poll(`(function () {
			var f = document.querySelector("[data-pledge-prompt] iframe");
			var d = f.contentDocument, p = d.querySelector("#remind-panel");
			var b = d.querySelector("#remind-panel form[data-pledge-remind] button[type=submit]");
			if (!p || p.hidden || !b) return false;
			var r = b.getBoundingClientRect();
			return r.height > 0 && r.bottom <= f.getBoundingClientRect().height;
		})()`, nil),
		chromedp.Evaluate(inFrame(`d.querySelector("#remind-panel #choice-week").click();
			d.querySelector("#remind-panel form[data-pledge-remind] button[type=submit]").click(); return true;`), nil),
		chromedp.Poll(inFrame(`var s = d.querySelector("#remind-status[data-state=done]");
			var f = document.querySelector("[data-pledge-prompt] iframe").getBoundingClientRect();
			var r = s && s.getBoundingClientRect();
			return s && !document.querySelector("[data-pledge-prompt]").hidden && r.height > 0 && r.bottom <= f.height ? s.textContent : null;`), &confirmed),
		chromedp.Location(&location),
	)
	if err != nil {
		t.Fatalf("remind me later: %v", err)
	}
	screenshot(ctx, t, "moscow-times-remind-done.png")
	if !strings.Contains(confirmed, "We won't ask you again until") || location != article {
		t.Fatalf("confirmation %q, top window at %s", confirmed, location)
	}
}

func TestBrowserMoscowTimesRussian(t *testing.T) {
	d := moscowTimes(t)
	ctx := testkit.Browser(t)
	err := chromedp.Run(ctx,
		network.Enable(),
		network.SetExtraHTTPHeaders(network.Headers{"Accept-Language": "ru"}),
		chromedp.Navigate(d.base+"/demo/article"),
	)
	if err != nil {
		t.Fatal(err)
	}
	promptFrame(ctx, t)
	screenshot(ctx, t, "moscow-times-ru.png")
	var lang, heading, hint, ask, text, title string
	err = chromedp.Run(ctx,
		chromedp.Evaluate(inFrame(`return d.documentElement.lang;`), &lang),
		chromedp.Evaluate(inFrame(`return d.querySelector("h1").textContent;`), &heading),
		chromedp.Evaluate(inFrame(`return d.querySelector("#other-hint").textContent;`), &hint),
		chromedp.Evaluate(inFrame(`return d.querySelector("[data-ask]").textContent;`), &ask),
		chromedp.Evaluate(inFrame(`return d.querySelector("main").textContent;`), &text),
		chromedp.Evaluate(`document.querySelector("[data-pledge-prompt] iframe").title`, &title),
	)
	if err != nil {
		t.Fatal(err)
	}
	if lang != "ru" || heading != "Поддержите независимую журналистику" {
		t.Fatalf("prompt in %q, heading %q", lang, heading)
	}
	// Russian money: the decimal comma, the symbol after a no-break space.
	if hint != "Минимум 2,00\u00a0€" || ask != "Если можете, поддержите нас ежемесячным взносом — всего от 2\u00a0€." {
		t.Fatalf("hint %q, ask %q", hint, ask)
	}
	if title != "Поддержите нашу журналистику" {
		t.Fatalf("the frame's title is %q", title)
	}
	// Russian throughout: no English word is left in the card but names.
	names := strings.NewReplacer("The Moscow Times", "", "Stripe", "", "Apple Pay", "", "Google Pay", "", "Pay", "", "EUR", "", "USD", "", "GBP", "")
	if w := regexp.MustCompile(`[A-Za-z]{2,}`).FindAllString(names.Replace(text), -1); len(w) > 0 {
		t.Fatalf("English left in the Russian prompt: %q\n%s", w, text)
	}

	// Continue: Checkout opens in Russian.
	frame := frameNode(ctx, t)
	var amount string
	err = chromedp.Run(ctx,
		chromedp.Click(`button.continue`, chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.WaitVisible(`.demo-checkout [data-amount]`, chromedp.ByQuery),
		chromedp.Text(`.demo-checkout [data-amount]`, &amount, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	reqs := d.rec.Requests(http.MethodPost, "/v1/checkout/sessions")
	if len(reqs) != 1 {
		t.Fatalf("%d session requests, want 1", len(reqs))
	}
	if f := reqs[0].Form; f.Get("locale") != "ru" || f.Get("line_items[0][price_data][currency]") != "eur" {
		t.Fatalf("Stripe received locale %q in %q, want ru and eur", f.Get("locale"), f.Get("line_items[0][price_data][currency]"))
	}
}

// A refusal only the server can make (the gift with its fee cover above the maximum) shows in the
// card too, with script on; the article stays in the top window, and nothing reaches Stripe.
// Then a gift the server accepts still takes the top window to the payment page.
func TestBrowserServerRefusalInCard(t *testing.T) {
	d := startDemo(t, nil)
	ctx := testkit.Browser(t)
	article := d.base + "/demo/article"
	if err := chromedp.Run(ctx, chromedp.Navigate(article)); err != nil {
		t.Fatal(err)
	}
	frame := promptFrame(ctx, t)
	var msg, location, invalid string
	err := chromedp.Run(ctx,
		chromedp.Click(`label[for="frequency-once"]`, chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.SendKeys(`#other_amount`, "10000", chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.Click(`label[for="cover_fees"]`, chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.Click(`button.continue`, chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.Poll(inFrame(`var e = d.querySelector("#amount-error"); return e && e.textContent ? e.textContent : null;`), &msg),
		chromedp.Evaluate(inFrame(`return d.querySelector("#other_amount").getAttribute("aria-invalid") || "";`), &invalid),
		chromedp.Location(&location),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(ctx, t, "pledge-refused-in-card.png")
	if !strings.Contains(msg, "With the transaction costs covered this comes to $10,298.98, above the maximum one-off amount of $10,000.00.") || invalid != "true" || location != article {
		t.Fatalf("message %q (aria-invalid %q), top window at %s; want the server's message in the card, the article kept", msg, invalid, location)
	}
	if n := len(d.rec.Requests(http.MethodPost, "/v1/checkout/sessions")); n != 0 {
		t.Fatalf("%d Checkout sessions for a refused gift", n)
	}

	// A smaller gift: the top window goes to the payment page.
	err = chromedp.Run(ctx,
		chromedp.Evaluate(inFrame(`d.querySelector("#other_amount").value = ""; return true;`), nil),
		chromedp.SendKeys(`#other_amount`, "50", chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.Click(`button.continue`, chromedp.ByQuery, chromedp.FromNode(frame)),
		chromedp.WaitVisible(`.demo-checkout [data-amount]`, chromedp.ByQuery),
		chromedp.Location(&location),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(location, "/demo/checkout/co_") {
		t.Fatalf("top window at %s, want the demo checkout", location)
	}
	if n := len(d.rec.Requests(http.MethodPost, "/v1/checkout/sessions")); n != 1 {
		t.Fatalf("%d Checkout sessions, want 1", n)
	}
}
