package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/testkit"
)

// protective is a fixture option: protective mode with a statement suffix.
func protective(quiet string) fixtureOption {
	return func(cfg *Config, _ *Server) {
		cfg.Protect = Protect{On: true, QuietAfterGift: quiet}
		cfg.Giving = pledge.DefaultSettings()
		cfg.Giving.Org = "The Test Ledger"
		cfg.Giving.Protect.StatementSuffix = "READER SVC"
	}
}

// noLongLivedCookie fails when a response sets a cookie that outlives the browser session.
func noLongLivedCookie(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	for _, v := range resp.Header.Values("Set-Cookie") {
		l := strings.ToLower(v)
		if strings.Contains(l, "expires=") || (strings.Contains(l, "max-age=") && !strings.Contains(l, "max-age=-") && !strings.Contains(l, "max-age=0")) {
			t.Errorf("%s sets a lasting cookie: %s", what, v)
		}
		if strings.HasPrefix(v, cookieReader+"=") {
			t.Errorf("%s sets the reader-id cookie: %s", what, v)
		}
	}
}

// TestProtectiveModeGift (issue 13, item 3): in protective mode a gift from an article sends
// Stripe no article and no campaign (recorded requests to stripe-mock), stores none with the
// checkout, carries the statement descriptor suffix (which stripe-mock accepts), still counts
// the click under the article, and no reader response sets a cookie that outlives the session.
func TestProtectiveModeGift(t *testing.T) {
	mockURL := testkit.StripeMock(t)
	const article = "https://news.example/story-of-a-reader"
	for _, freq := range []string{"once", "monthly"} {
		t.Run(freq, func(t *testing.T) {
			f, rec := stripeFixture(t, mockURL, nil, protective(QuietSession))
			resp, _ := f.do(http.MethodGet, "/prompt?article="+url.QueryEscape(article)+"&campaign=spring", nil)
			noLongLivedCookie(t, "GET /prompt", resp)
			form := f.form("/donate?article="+url.QueryEscape(article)+"&campaign=spring", url.Values{"frequency": {freq}, "amount": {"10"}, "currency": {"usd"}})
			if form.Get("article") != article {
				t.Fatalf("the form does not carry the article (%q): the test would prove nothing", form.Get("article"))
			}
			resp, _ = f.do(http.MethodPost, "/donate", form)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("POST /donate: %d", resp.StatusCode)
			}
			noLongLivedCookie(t, "POST /donate", resp)
			co := f.onlyCheckout()
			if co.Article != "" || co.Campaign != "" {
				t.Errorf("stored checkout keeps article %q, campaign %q", co.Article, co.Campaign)
			}
			reqs := rec.Requests(http.MethodPost, "/v1/checkout/sessions")
			if len(reqs) != 1 {
				t.Fatalf("%d session requests", len(reqs))
			}
			for k, vs := range reqs[0].Form {
				for _, v := range vs {
					if strings.Contains(k, "article") || strings.Contains(k, "campaign") || strings.Contains(v, "story-of-a-reader") || v == "spring" {
						t.Errorf("Stripe received %s=%q", k, v)
					}
				}
			}
			suffix := reqs[0].Form.Get("payment_intent_data[statement_descriptor_suffix]")
			if freq == "once" && suffix != "READER SVC" {
				t.Errorf("statement_descriptor_suffix = %q, want READER SVC", suffix)
			}
			if freq == "monthly" && suffix != "" {
				t.Errorf("a subscription sent a payment intent suffix %q", suffix)
			}
			// The funnel still counts the click under the article, as a daily total.
			f.srv.Close()
			var clicks int
			if err := f.db.Reader().QueryRow(`SELECT coalesce(sum(clicks), 0) FROM prompt_stats WHERE article = ?`, article).Scan(&clicks); err != nil || clicks != 1 {
				t.Errorf("clicks under the article: %d %v, want 1", clicks, err)
			}
		})
	}
}

// TestProtectiveModeRemind: "remind me later" in protective mode stores no article, tells
// embed.js to keep nothing in the article site's storage, and sets only session cookies; two
// requests from one browser are not tied together by a reader id.
func TestProtectiveModeRemind(t *testing.T) {
	f := newGivingFixture(t, nil, protective(QuietNone))
	f.srv.Deferrals = f.db
	resp, body := f.do(http.MethodGet, "/remind?article="+url.QueryEscape("https://news.example/story"), nil)
	noLongLivedCookie(t, "GET /remind", resp)
	v := mergeHidden(t, body, url.Values{"choice": {"week"}, "article": {"https://news.example/story"}})
	resp, body = f.do(http.MethodPost, "/remind", v, "Accept", "application/json")
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, `"store":false`) {
		t.Fatalf("POST /remind: %d %s", resp.StatusCode, body)
	}
	noLongLivedCookie(t, "POST /remind", resp)
	resp, body = f.do(http.MethodPost, "/remind", v)
	if !strings.Contains(body, `data-store="0"`) {
		t.Errorf("the confirmation page does not tell embed.js to store nothing:\n%.400s", body)
	}
	noLongLivedCookie(t, "POST /remind (page)", resp)
	var rows, withArticle int
	f.db.Reader().QueryRow(`SELECT count(*), count(*) FILTER (WHERE article <> '') FROM deferrals`).Scan(&rows, &withArticle)
	if rows != 2 || withArticle != 0 {
		t.Errorf("%d deferrals (want 2: no reader id ties them), %d with an article (want 0)", rows, withArticle)
	}
}

func TestSessionOnly(t *testing.T) {
	for in, want := range map[string]string{
		"a=1; Path=/; Expires=Wed, 01 Jan 2031 00:00:00 GMT; Max-Age=86400; HttpOnly; SameSite=Lax": "a=1; Path=/; HttpOnly; SameSite=Lax",
		"a=; Path=/; Max-Age=-1": "a=; Path=/; Max-Age=-1",
		"a=1; Path=/":            "a=1; Path=/",
	} {
		if got := sessionOnly(in); got != want {
			t.Errorf("sessionOnly(%q) = %q, want %q", in, got, want)
		}
	}
}
