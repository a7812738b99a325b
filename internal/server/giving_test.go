package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/mock"
	"github.com/pledge-news/pledge/internal/pledge"
)

// okPayments answers every session request with a new session and remembers it.
func okPayments() *mock.PaymentService {
	m := &mock.PaymentService{}
	n := 0
	m.CreateCheckoutSessionFn = func(_ context.Context, c *pledge.Checkout, req pledge.SessionRequest) (*pledge.Session, error) {
		n++
		id := fmt.Sprintf("cs_test_%d", n)
		return &pledge.Session{ID: id, URL: "https://checkout.stripe.com/c/pay/" + id, ClientReferenceID: c.ID}, nil
	}
	m.CheckoutSessionFn = func(_ context.Context, id string) (*pledge.Session, error) {
		return &pledge.Session{ID: id, Status: "complete", PaymentStatus: "paid"}, nil
	}
	return m
}

func TestDonateFormShowsCatalogue(t *testing.T) {
	f := newGivingFixture(t, okPayments())
	tests := []struct {
		name, target, lang string
		want               []string
	}{
		{"default monthly in dollars", "/donate", "", []string{
			`value="monthly" checked`, `value="5" data-fee="$0.46" checked`, `<label for="amount-3">$20/month</label>`,
			`<option value="usd" selected>`, "Minimum $2.00", "Remind me later"}},
		{"language picks euros", "/donate", "de-DE,de;q=0.9", []string{`<option value="eur" selected>`, "€5"}},
		{"query beats language", "/donate?currency=gbp&frequency=annual", "de-DE", []string{
			`<option value="gbp" selected>`, `value="annual" checked`, `value="100" data-fee="£3.20" checked`, "Minimum £20.00"}},
		{"preset amount from a link", "/donate?frequency=once&amount=25", "", []string{`value="once" checked`, `value="25" data-fee="$1.06" checked`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.do(http.MethodGet, tt.target, nil, "Accept-Language", tt.lang)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			if strings.Contains(body, "<script>") || strings.Contains(body, " style=") {
				t.Error("inline script or style in the page")
			}
		})
	}
}

func TestPromptIsFramableAndCounted(t *testing.T) {
	f := newGivingFixture(t, okPayments())
	resp, body := f.do(http.MethodGet, "/prompt?article=https://news.example/story%23comments&campaign=spring", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'self' http://pledge.test https://news.example") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP = %q", csp)
	}
	if xfo := resp.Header.Get("X-Frame-Options"); xfo != "" {
		t.Errorf("X-Frame-Options = %q on the framable prompt", xfo)
	}
	for _, w := range []string{`target="_top"`, `data-embed="1"`, `name="article" value="https://news.example/story"`, `<!doctype html>`} {
		if !strings.Contains(body, w) {
			t.Errorf("prompt lacks %q", w)
		}
	}
	// The full page must not be framable.
	resp, _ = f.do(http.MethodGet, "/donate", nil)
	if resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Error("/donate may be framed")
	}
	f.do(http.MethodGet, "/prompt?article=https://news.example/story&campaign=spring", nil)
	if err := f.srv.Close(); err != nil {
		t.Fatal(err)
	}
	stats, err := f.db.PromptStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 1 || stats[0].Views != 2 || stats[0].Article != "https://news.example/story" || stats[0].Campaign != "spring" {
		t.Fatalf("prompt stats = %+v, want 2 views of the story in campaign spring", stats)
	}
}

func TestPromptSilencedIsNotCounted(t *testing.T) {
	f := newGivingFixture(t, okPayments(), func(c *Config, _ *Server) { c.PromptViewCap = Limit{N: 2, Per: time.Hour} })
	var statuses []int
	for range 3 {
		resp, _ := f.do(http.MethodGet, "/prompt?article=https://news.example/story", nil)
		statuses = append(statuses, resp.StatusCode)
	}
	if fmt.Sprint(statuses) != "[200 200 204]" {
		t.Fatalf("statuses %v, want [200 200 204] with a view cap of 2", statuses)
	}
	if err := f.srv.Close(); err != nil {
		t.Fatal(err)
	}
	stats, err := f.db.PromptStats(context.Background())
	if err != nil || len(stats) != 1 || stats[0].Views != 2 {
		t.Fatalf("stats %+v (%v), want 2 views: a silenced prompt is not a view", stats, err)
	}
}

func TestPromptShownWithoutArticle(t *testing.T) {
	f := newGivingFixture(t, okPayments())
	resp, body := f.do(http.MethodGet, "/prompt", nil)
	if resp.StatusCode != http.StatusOK || body == "" {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestDonateBadInput(t *testing.T) {
	pay := okPayments()
	f := newGivingFixture(t, pay)
	tests := []struct {
		name   string
		fields url.Values
		want   string
		kept   string
	}{
		{"below the monthly minimum", url.Values{"frequency": {"monthly"}, "currency": {"usd"}, "other_amount": {"1.50"}},
			"The minimum monthly amount is $2.00.", `value="1.50"`},
		{"below the once minimum in pounds", url.Values{"frequency": {"once"}, "currency": {"gbp"}, "other_amount": {"1"}},
			"The minimum one-off amount is £2.00.", `value="1"`},
		{"above the maximum", url.Values{"frequency": {"annual"}, "currency": {"eur"}, "other_amount": {"10,000.01"}},
			"The maximum annual amount is €10,000.00.", `value="10,000.01"`},
		{"negative", url.Values{"frequency": {"once"}, "currency": {"usd"}, "other_amount": {"-5"}}, "can&#39;t be negative", `value="-5"`},
		{"not a number", url.Values{"frequency": {"once"}, "currency": {"usd"}, "other_amount": {"ten"}}, "as a number", `value="ten"`},
		{"too many decimals", url.Values{"frequency": {"once"}, "currency": {"usd"}, "other_amount": {"5.555"}}, "at most 2 decimals", `value="5.555"`},
		{"no amount", url.Values{"frequency": {"once"}, "currency": {"usd"}, "amount": {""}}, "Enter an amount", ""},
		{"preset tampered below minimum", url.Values{"frequency": {"monthly"}, "currency": {"usd"}, "amount": {"1"}}, "The minimum monthly amount is $2.00.", ""},
		{"bad frequency", url.Values{"frequency": {"weekly"}, "currency": {"usd"}, "amount": {"5"}}, "Choose once, monthly or annually.", ""},
		{"currency not offered", url.Values{"frequency": {"once"}, "currency": {"sek"}, "amount": {"50"}}, "choose one of the currencies", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := f.form("/donate", tt.fields)
			resp, body := f.do(http.MethodPost, "/donate", form)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", resp.StatusCode)
			}
			if !strings.Contains(body, tt.want) {
				t.Fatalf("page lacks %q:\n%s", tt.want, body)
			}
			if tt.kept != "" {
				if !strings.Contains(body, tt.kept) {
					t.Errorf("the typed amount %s was not kept", tt.kept)
				}
				// The message sits beside the field, which points at it.
				i := strings.Index(body, `id="amount-error" aria-live="polite">`)
				if !strings.Contains(body, `aria-describedby="other-hint amount-error" aria-invalid="true"`) ||
					i < 0 || !strings.Contains(body[i:i+200], tt.want) {
					t.Errorf("message not tied to the field:\n%s", body)
				}
			}
		})
	}
	if n := len(pay.Created()); n != 0 {
		t.Fatalf("%d sessions asked of Stripe for bad input, want 0", n)
	}
	if n := f.checkoutCount(); n != 0 {
		t.Fatalf("%d checkouts stored for bad input, want 0", n)
	}
}

func TestDonateCreatesCheckoutAndRedirects(t *testing.T) {
	pay := okPayments()
	f := newGivingFixture(t, pay)
	form := f.form("/donate?article=https://news.example/story&campaign=spring", url.Values{
		"frequency": {"annual"}, "currency": {"eur"}, "amount": {"100"}, "cover_fees": {"1"}})
	resp, _ := f.do(http.MethodPost, "/donate", form)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://checkout.stripe.com/c/pay/cs_test_1" {
		t.Fatalf("status %d to %q, want 303 to the session", resp.StatusCode, resp.Header.Get("Location"))
	}
	co := f.onlyCheckout()
	if co.Frequency != pledge.Annual || co.Amount != (pledge.Money{Amount: 10325, Currency: "eur"}) || co.CoverFees != 325 ||
		co.Article != "https://news.example/story" || co.Campaign != "spring" || co.Status != pledge.CheckoutOpen ||
		co.StripeSessionID != "cs_test_1" || co.ReaderID == "" {
		t.Fatalf("stored checkout = %+v", co)
	}
	created := pay.Created()
	if len(created) != 1 || created[0].ID != co.ID {
		t.Fatalf("sessions asked for: %+v", created)
	}

	// The same form again (a double click) makes no second checkout or session.
	resp, _ = f.do(http.MethodPost, "/donate", form)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://checkout.stripe.com/c/pay/cs_test_1" {
		t.Fatalf("double submit: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := len(pay.Created()); n != 1 {
		t.Fatalf("double submit asked for %d sessions, want 1", n)
	}
	_ = f.onlyCheckout()
}

// The checkout keeps the language the form was rendered in (its hidden lang field), so that the
// supporter's e-mails speak it.
func TestDonateRecordsTheFormsLanguage(t *testing.T) {
	f := newGivingFixture(t, okPayments())
	form := f.form("/donate?lang=ru", url.Values{"frequency": {"monthly"}, "currency": {"eur"}, "amount": {"5"}})
	if form.Get("lang") != "ru" {
		t.Fatalf("the form's lang field is %q", form.Get("lang"))
	}
	if resp, _ := f.do(http.MethodPost, "/donate", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if co := f.onlyCheckout(); co.Lang != "ru" {
		t.Fatalf("checkout lang %q, want ru", co.Lang)
	}
}

func TestDonateWithoutCSRFIsRefused(t *testing.T) {
	pay := okPayments()
	f := newGivingFixture(t, pay)
	form := f.form("/donate", url.Values{"frequency": {"once"}, "currency": {"usd"}, "amount": {"10"}})
	form.Del("_csrf")
	resp, _ := f.do(http.MethodPost, "/donate", form)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
	// A cross-site browser post is refused too, token or not.
	form = f.form("/donate", url.Values{"frequency": {"once"}, "currency": {"usd"}, "amount": {"10"}})
	resp, _ = f.do(http.MethodPost, "/donate", form, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site: status %d, want 403", resp.StatusCode)
	}
	if len(pay.Created()) != 0 || f.checkoutCount() != 0 {
		t.Fatal("a refused post reached Stripe or the store")
	}
}

func TestDonateUpdateRedrawsWithoutCounting(t *testing.T) {
	f := newGivingFixture(t, okPayments(), func(c *Config, _ *Server) { c.DonateLimit = Limit{N: 1, Per: time.Hour} })
	for i := 0; i < 3; i++ {
		form := f.form("/donate", url.Values{"frequency": {"annual"}, "currency": {"gbp"}, "amount": {"5"}, "step": {"update"}})
		resp, body := f.do(http.MethodPost, "/donate", form)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `value="100" data-fee="£3.20" checked`) {
			t.Fatalf("update %d: status %d", i, resp.StatusCode)
		}
	}
}

func TestDonateRateLimited(t *testing.T) {
	pay := okPayments()
	f := newGivingFixture(t, pay, func(c *Config, _ *Server) { c.DonateLimit = Limit{N: 2, Per: time.Hour} })
	var statuses []int
	for i := 0; i < 3; i++ {
		form := f.form("/donate", url.Values{"frequency": {"once"}, "currency": {"usd"}, "amount": {"10"}})
		resp, body := f.do(http.MethodPost, "/donate", form)
		statuses = append(statuses, resp.StatusCode)
		if i == 2 && !strings.Contains(body, "Too many attempts") {
			t.Errorf("429 page lacks its message:\n%s", body)
		}
	}
	if fmt.Sprint(statuses) != "[303 303 429]" {
		t.Fatalf("statuses %v, want [303 303 429]", statuses)
	}
	// Another client is not limited.
	f.ip = "192.0.2.99"
	form := f.form("/donate", url.Values{"frequency": {"once"}, "currency": {"usd"}, "amount": {"10"}})
	if resp, _ := f.do(http.MethodPost, "/donate", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("other client: status %d", resp.StatusCode)
	}
}

func TestDonatePaymentUnavailable(t *testing.T) {
	pay := okPayments()
	pay.CreateCheckoutSessionFn = func(context.Context, *pledge.Checkout, pledge.SessionRequest) (*pledge.Session, error) {
		return nil, fmt.Errorf("stripe: timeout: %w", &pledge.Error{Code: pledge.EUNAVAILABLE, Message: "We couldn't reach our payment provider just now."})
	}
	f := newGivingFixture(t, pay)
	form := f.form("/donate?article=https://news.example/story", url.Values{"frequency": {"monthly"}, "currency": {"usd"}, "other_amount": {"7.50"}})
	resp, body := f.do(http.MethodPost, "/donate", form)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	for _, w := range []string{"We can&#39;t take your gift right now", "Try again",
		`href="/donate?amount=7.50&amp;article=https%3A%2F%2Fnews.example%2Fstory&amp;currency=usd&amp;frequency=monthly"`} {
		if !strings.Contains(body, w) {
			t.Errorf("503 page lacks %q:\n%s", w, body)
		}
	}
	if co := f.onlyCheckout(); co.Status != pledge.CheckoutPending || co.StripeSessionID != "" || co.StripeURL != "" {
		t.Fatalf("checkout after a failure = %+v, want pending without a session", co)
	}
}

func TestDonateInternalErrorIs500(t *testing.T) {
	pay := okPayments()
	pay.CreateCheckoutSessionFn = func(context.Context, *pledge.Checkout, pledge.SessionRequest) (*pledge.Session, error) {
		return nil, errors.New("stripe: status 400, No such parameter")
	}
	f := newGivingFixture(t, pay)
	form := f.form("/donate", url.Values{"frequency": {"once"}, "currency": {"usd"}, "amount": {"10"}})
	resp, body := f.do(http.MethodPost, "/donate", form)
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(body, "No such parameter") {
		t.Fatalf("status %d (internal text shown: %v)", resp.StatusCode, strings.Contains(body, "No such parameter"))
	}
}

func TestThanksAndCancelled(t *testing.T) {
	f := newGivingFixture(t, okPayments())
	form := f.form("/donate?article=https://news.example/story", url.Values{"frequency": {"monthly"}, "currency": {"gbp"}, "amount": {"10"}})
	if resp, _ := f.do(http.MethodPost, "/donate", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("donate: %d", resp.StatusCode)
	}
	co := f.onlyCheckout()

	resp, body := f.do(http.MethodGet, "/donate/thanks?session_id="+co.StripeSessionID, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("thanks: %d", resp.StatusCode)
	}
	for _, w := range []string{"Thank you", "You are now giving £10.00 every month", `href="/manage?lang=en"`, `href="https://news.example/story"`} {
		if !strings.Contains(body, w) {
			t.Errorf("thanks page lacks %q", w)
		}
	}
	var supporter bool
	for _, c := range resp.Cookies() {
		if c.Name == cookieSupporter && c.HttpOnly {
			_, supporter = f.srv.verify(cookieSupporter, c.Value, time.Now().Add(364*24*time.Hour))
		}
	}
	if !supporter {
		t.Error("no signed supporter cookie lasting a year")
	}

	if resp, _ := f.do(http.MethodGet, "/donate/thanks?session_id=cs_test_unknown", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown session: %d, want 404", resp.StatusCode)
	}
	if resp, _ := f.do(http.MethodGet, "/donate/thanks?session_id=nonsense", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("malformed session: %d, want 404", resp.StatusCode)
	}

	resp, body = f.do(http.MethodGet, "/donate/cancelled?checkout="+co.ID, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<a class="button" href="https://news.example/story">Back to the article</a>`) ||
		!strings.Contains(body, "No payment was taken") || !strings.Contains(body, "amount=10&amp;") {
		t.Fatalf("cancelled: %d\n%s", resp.StatusCode, body)
	}
}

func TestEmbedJS(t *testing.T) {
	f := newGivingFixture(t, okPayments())
	resp, body := f.do(http.MethodGet, "/embed.js", nil, "Origin", "https://news.example")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if len(body) >= 10*1024 || !strings.Contains(body, "[data-pledge-prompt]") {
		t.Fatalf("embed.js is %d bytes", len(body))
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=3600" {
		t.Errorf("Cache-Control %q", cc)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://news.example" {
		t.Error("embed origin not allowed by CORS")
	}
	resp, _ = f.do(http.MethodGet, "/embed.js", nil, "If-None-Match", resp.Header.Get("ETag"))
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", resp.StatusCode)
	}
	resp, _ = f.do(http.MethodGet, "/embed.js", nil, "Origin", "https://evil.example")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("an unknown origin was allowed")
	}
}

func TestDemoRoutes(t *testing.T) {
	f := newGivingFixture(t, okPayments())
	if resp, _ := f.do(http.MethodGet, "/demo/article", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("demo article outside demo mode: %d", resp.StatusCode)
	}

	var paid []string
	f = newGivingFixture(t, okPayments(), func(c *Config, s *Server) {
		c.Demo = true
		s.DemoPay = func(_ context.Context, co *pledge.Checkout) error { paid = append(paid, co.ID); return nil }
	})
	resp, body := f.do(http.MethodGet, "/demo/article", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<div data-pledge-prompt></div>`) ||
		!strings.Contains(body, `<script src="/embed.js" data-article="http://pledge.test/demo/article" async></script>`) {
		t.Fatalf("demo article: %d\n%s", resp.StatusCode, body)
	}
	form := f.form("/donate", url.Values{"frequency": {"once"}, "currency": {"usd"}, "amount": {"25"}})
	resp, _ = f.do(http.MethodPost, "/donate", form)
	co := f.onlyCheckout()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/demo/checkout/"+co.ID {
		t.Fatalf("demo donate: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body = f.do(http.MethodGet, "/demo/checkout/"+co.ID, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Demo stand-in for Stripe") || !strings.Contains(body, "$25.00") {
		t.Fatalf("demo checkout: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = f.do(http.MethodPost, "/demo/checkout/"+co.ID, mergeHidden(t, body, nil))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/donate/thanks?session_id="+co.StripeSessionID {
		t.Fatalf("demo pay: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if len(paid) != 1 || paid[0] != co.ID {
		t.Fatalf("DemoPay calls: %v", paid)
	}
}

func TestPromptPrerenderedMatchesTemplate(t *testing.T) {
	f := newGivingFixture(t, okPayments())
	for _, article := range []string{"", "https://news.example/a?b=1&c='x'<y>", "https://news.example/story"} {
		for _, q := range []string{"", "&frequency=annual&currency=gbp", "&frequency=once&currency=eur&campaign=spring&source=mail"} {
			target := "/prompt?article=" + url.QueryEscape(article) + q
			resp, fast := f.do(http.MethodGet, target, nil, "Sec-Fetch-Site", "cross-site")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d", target, resp.StatusCode)
			}
			hidden := mergeHidden(t, fast, nil)
			if hidden.Get("article") != pledge.CleanArticle(article) {
				t.Fatalf("article round trip: %q, want %q", hidden.Get("article"), article)
			}
			req, _ := http.NewRequest(http.MethodGet, "http://pledge.test"+target, nil)
			c := f.srv.echo.NewContext(req, httptest.NewRecorder())
			ch := f.srv.choiceFromQuery(c)
			ch.Nonce = hidden.Get("nonce")
			p := f.srv.givingPage(f.srv.base, f.srv.lang(c), ch, true, nil)
			p.Layout.Org, p.Layout.CSRF = f.srv.cfg.Giving.Org, hidden.Get("_csrf")
			p.syncRemind()
			var slow strings.Builder
			if err := f.srv.renderer.execute(&slow, "prompt#document", p); err != nil {
				t.Fatal(err)
			}
			if fast != slow.String() {
				t.Fatalf("%s: pre-rendered prompt differs from the template's:\n%s\n----\n%s", target, fast, slow.String())
			}
		}
	}
}

func TestDonateFromReminderLinkRecordsSource(t *testing.T) {
	f := newGivingFixture(t, okPayments())
	form := f.form("/donate?utm_source=reminder&utm_campaign=spring", url.Values{"frequency": {"monthly"}, "amount": {"5"}, "currency": {"usd"}})
	if form.Get("source") != pledge.SourceReminder || form.Get("campaign") != "spring" {
		t.Fatalf("form carries source %q campaign %q", form.Get("source"), form.Get("campaign"))
	}
	if resp, _ := f.do(http.MethodPost, "/donate", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if co := f.onlyCheckout(); co.Source != pledge.SourceReminder || co.Campaign != "spring" || co.Frequency != pledge.Monthly {
		t.Fatalf("checkout %+v, want source reminder, campaign spring", co)
	}
}

// A foreign article is not recorded with a gift, and an article stored before that rule is not
// offered as "Back to the article": Pledge's pages never link a reader to another site.
func TestDonateDropsForeignArticle(t *testing.T) {
	f := newGivingFixture(t, okPayments())
	form := f.form("/donate", url.Values{"frequency": {"once"}, "currency": {"usd"}, "amount": {"10"},
		"article": {"https://evil.example/login"}})
	if resp, _ := f.do(http.MethodPost, "/donate", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("donate: %d", resp.StatusCode)
	}
	co := f.onlyCheckout()
	if co.Article != "" {
		t.Fatalf("stored article %q from a foreign origin", co.Article)
	}
	tx, err := f.db.BeginTx(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`UPDATE checkouts SET article = 'https://evil.example/login'`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"/donate/cancelled?checkout=" + co.ID, "/donate/thanks?session_id=" + co.StripeSessionID} {
		resp, body := f.do(http.MethodGet, page, nil)
		if resp.StatusCode != http.StatusOK || strings.Contains(body, "evil.example") {
			t.Fatalf("%s: %d links the foreign article:\n%s", page, resp.StatusCode, body)
		}
	}
}

// TestThanksRefusesUnpaidSession: a session that is still open (or expired) was not paid,
// yet /donate/thanks thanks the reader for the gift and sets the supporter cookie that silences
// the prompt for a year. Anyone can get an open session's id from the Checkout URL.
func TestThanksRefusesUnpaidSession(t *testing.T) {
	pay := okPayments()
	pay.CheckoutSessionFn = func(_ context.Context, id string) (*pledge.Session, error) {
		return &pledge.Session{ID: id, Status: "open", PaymentStatus: "unpaid"}, nil
	}
	f := newGivingFixture(t, pay)
	form := f.form("/donate", url.Values{"frequency": {"monthly"}, "currency": {"usd"}, "amount": {"10"}})
	if resp, _ := f.do(http.MethodPost, "/donate", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("donate: %d", resp.StatusCode)
	}
	co := f.onlyCheckout()
	resp, body := f.do(http.MethodGet, "/donate/thanks?session_id="+co.StripeSessionID, nil)
	for _, c := range resp.Cookies() {
		if c.Name == cookieSupporter && c.MaxAge > 0 {
			t.Errorf("an unpaid session set the supporter cookie")
		}
	}
	if strings.Contains(body, "You are now giving") {
		t.Errorf("an unpaid (open) session is thanked as a gift: %d", resp.StatusCode)
	}
}

// TestThanksUnknownSessionDoesNotCallStripe: /donate/thanks is public and unthrottled; every
// made-up cs_ id costs one Stripe API call, and Stripe's rate limit is per account, shared with
// session creation. A flood of made-up ids turns real readers' Continue into 503s.
func TestThanksUnknownSessionDoesNotCallStripe(t *testing.T) {
	pay := okPayments()
	var calls atomic.Int64
	pay.CheckoutSessionFn = func(_ context.Context, id string) (*pledge.Session, error) {
		calls.Add(1)
		return nil, &pledge.Error{Code: pledge.ENOTFOUND, Message: "We could not find that payment."}
	}
	f := newGivingFixture(t, pay)
	for i := 0; i < 5; i++ {
		f.do(http.MethodGet, "/donate/thanks?session_id=cs_test_madeup"+string(rune('a'+i)), nil)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d Stripe calls for session ids this service never created, want 0", n)
	}
}

// TestDonateLimitPerIPv6Prefix: the card-testing limit keys on the full client address; a
// host with an IPv6 /64 (every home line and VPS has one) gets a fresh allowance per address.
func TestDonateLimitPerIPv6Prefix(t *testing.T) {
	f := newGivingFixture(t, okPayments(), func(c *Config, _ *Server) { c.DonateLimit = Limit{N: 2, Per: time.Hour} })
	post := func(ip string) int {
		f.ip = ip
		form := f.form("/donate", url.Values{"frequency": {"once"}, "currency": {"usd"}, "amount": {"10"}})
		resp, _ := f.do(http.MethodPost, "/donate", form)
		return resp.StatusCode
	}
	post("[2001:db8:1:2::1]")
	post("[2001:db8:1:2::1]")
	if got := post("[2001:db8:1:2::1]"); got != http.StatusTooManyRequests {
		t.Fatalf("third attempt from one address: %d, want 429", got)
	}
	if got := post("[2001:db8:1:2::2]"); got != http.StatusTooManyRequests {
		t.Errorf("next attempt from the same /64: %d, want 429 (the limit is dodged by changing the interface id)", got)
	}
}

// TestDonateGlobalLimit: past the overall cap, a client with allowance of its own left is refused
// too (card testing spread over many addresses).
func TestDonateGlobalLimit(t *testing.T) {
	f := newGivingFixture(t, okPayments(), func(c *Config, _ *Server) {
		c.DonateLimit, c.DonateGlobal = Limit{N: 2, Per: time.Hour}, Limit{N: 3, Per: time.Hour}
	})
	post := func(ip string) int {
		f.ip = ip
		form := f.form("/donate", url.Values{"frequency": {"once"}, "currency": {"usd"}, "amount": {"10"}})
		resp, _ := f.do(http.MethodPost, "/donate", form)
		return resp.StatusCode
	}
	for i, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		if got := post(ip); got != http.StatusSeeOther {
			t.Fatalf("attempt %d: %d, want 303", i+1, got)
		}
	}
	if got := post("192.0.2.4"); got != http.StatusTooManyRequests {
		t.Errorf("fourth attempt overall, first from its address: %d, want 429", got)
	}
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":                 "192.0.2.7",
		"2001:db8:1:2:aaaa:bbbb::1": "2001:db8:1:2::/64",
		"2001:db8:1:2::2":           "2001:db8:1:2::/64",
		"2001:db8:1:3::2":           "2001:db8:1:3::/64",
		"::ffff:192.0.2.7":          "::ffff:192.0.2.7",
		"not an address":            "not an address",
	} {
		if got := clientKey(in); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestThanksProcessingPayment: a complete session whose money has not arrived (a bank debit) gets
// the "processing" page, without the supporter cookie.
func TestThanksProcessingPayment(t *testing.T) {
	pay := okPayments()
	pay.CheckoutSessionFn = func(_ context.Context, id string) (*pledge.Session, error) {
		return &pledge.Session{ID: id, Status: "complete", PaymentStatus: "unpaid"}, nil
	}
	f := newGivingFixture(t, pay)
	form := f.form("/donate", url.Values{"frequency": {"once"}, "currency": {"usd"}, "amount": {"10"}})
	if resp, _ := f.do(http.MethodPost, "/donate", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("donate: %d", resp.StatusCode)
	}
	resp, body := f.do(http.MethodGet, "/donate/thanks?session_id="+f.onlyCheckout().StripeSessionID, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Your payment is processing") || strings.Contains(body, "You gave") {
		t.Fatalf("thanks for a processing payment: %d\n%s", resp.StatusCode, body)
	}
	for _, c := range resp.Cookies() {
		if c.Name == cookieSupporter && c.MaxAge >= 0 {
			t.Errorf("a payment still processing set the supporter cookie")
		}
	}
}

// Without script the prompt's form posts inside the frame: a refusal answers there with the
// prompt and its error, and a good gift with a link that leaves the frame for the payment page.
func TestDonateFromTheFrameWithoutScript(t *testing.T) {
	f := newGivingFixture(t, okPayments())
	form := f.form("/prompt?article=https://news.example/story", url.Values{"frequency": {"monthly"}, "currency": {"usd"}, "other_amount": {"abc"}, "embed": {"1"}, "lang": {"ru"}})
	resp, body := f.do(http.MethodPost, "/donate", form, "Sec-Fetch-Dest", "iframe")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `class="prompt-doc"`) ||
		!strings.Contains(body, "Введите сумму числом") || !strings.Contains(body, `<html lang="ru"`) {
		t.Fatalf("refusal in the frame: %d\n%s", resp.StatusCode, body)
	}
	form = f.form("/prompt?article=https://news.example/story", url.Values{"frequency": {"monthly"}, "currency": {"usd"}, "amount": {"5"}, "embed": {"1"}})
	resp, body = f.do(http.MethodPost, "/donate", form, "Sec-Fetch-Dest", "iframe")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `target="_top"`) {
		t.Fatalf("success in the frame: %d\n%s", resp.StatusCode, body)
	}
}
