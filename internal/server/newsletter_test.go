package server

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func optIn(cfg *Config, _ *Server) {
	cfg.NewsletterOptIn, cfg.NewsletterURL = true, "https://news.example/newsletter"
}

var consentLabel = regexp.MustCompile(`<input type="checkbox" name="consent" value="1"> ([^<]+)</label>`)

// Where the newsroom asks for consent, the thank-you page offers the newsletter as a checkbox;
// the post (CSRF-protected) records the consent with the checkout, its time, and exactly the
// wording the page showed; an unticked box, a changed wording or a missing token records nothing.
func TestThanksPageNewsletterOptIn(t *testing.T) {
	f := newGivingFixture(t, okPayments(), optIn)
	f.srv.Newsletter = f.db
	form := f.form("/donate", url.Values{"frequency": {"monthly"}, "currency": {"gbp"}, "amount": {"10"}})
	if resp, _ := f.do(http.MethodPost, "/donate", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("donate: %d", resp.StatusCode)
	}
	co := f.onlyCheckout()
	resp, body := f.do(http.MethodGet, "/donate/thanks?session_id="+co.StripeSessionID, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("thanks: %d", resp.StatusCode)
	}
	m := consentLabel.FindStringSubmatch(body)
	if m == nil || strings.Contains(body, `href="https://news.example/newsletter"`) {
		t.Fatalf("thanks page without the opt-in checkbox (or with the plain link):\n%s", body)
	}
	shown := html.UnescapeString(m[1])
	if shown != "Send me the newsletter of The Test Ledger by e-mail. I can unsubscribe at any time." {
		t.Fatalf("wording shown: %q", shown)
	}
	fields := mergeHidden(t, body, nil)
	count := func() string { return queryOne(t, f, `SELECT count(*) FROM newsletter_consents`) }

	post := func(change url.Values) (*http.Response, string) {
		v := url.Values{}
		for k, vs := range fields {
			v[k] = vs
		}
		for k, vs := range change {
			v[k] = vs
		}
		return f.do(http.MethodPost, "/newsletter", v)
	}
	if resp, body := post(nil); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Tick the box") || count() != "0" {
		t.Fatalf("unticked: %d, %s consents", resp.StatusCode, count())
	}
	if resp, body := post(url.Values{"consent": {"1"}, "wording": {"0000"}}); resp.StatusCode != http.StatusConflict ||
		!strings.Contains(body, "read it again") || count() != "0" {
		t.Fatalf("changed wording: %d, %s consents", resp.StatusCode, count())
	}
	if resp, _ := post(url.Values{"consent": {"1"}, "_csrf": {"forged"}}); resp.StatusCode != http.StatusForbidden || count() != "0" {
		t.Fatalf("without the CSRF token: %d, %s consents", resp.StatusCode, count())
	}
	if resp, _ := post(url.Values{"consent": {"1"}, "token": {"made-up"}}); resp.StatusCode != http.StatusBadRequest || count() != "0" {
		t.Fatalf("a made-up token: %d, %s consents", resp.StatusCode, count())
	}
	resp, body = post(url.Values{"consent": {"1"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "You are signed up") || !strings.Contains(body, `href="https://news.example/newsletter"`) {
		t.Fatalf("consent: %d\n%s", resp.StatusCode, body)
	}
	got := queryOne(t, f, `SELECT checkout_id || '|' || source || '|' || lang || '|' || wording || '|' || CASE WHEN abs(consented_at - `+strconv.FormatInt(time.Now().Unix(), 10)+`) < 5 THEN '1' ELSE '0' END FROM newsletter_consents`)
	if want := co.ID + "|thanks_page|en|" + shown + "|1"; got != want {
		t.Fatalf("recorded %q\nwant     %q", got, want)
	}
}

// The thank-you e-mail's link opens the same form for the supporter, in the reader's language;
// the wording stored is the one shown in that language.
func TestNewsletterLinkFromEmail(t *testing.T) {
	f := newGivingFixture(t, okPayments(), optIn)
	f.srv.Newsletter = f.db
	link := NewsletterLink("http://pledge.test", f.srv.cfg.Secret, 42, time.Now())
	u, _ := url.Parse(link)
	resp, body := f.do(http.MethodGet, u.RequestURI()+"&lang=ru", nil)
	m := consentLabel.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("opt-in page %d:\n%s", resp.StatusCode, body)
	}
	shown := html.UnescapeString(m[1])
	if !strings.HasPrefix(shown, "Присылайте мне рассылку The Test Ledger") {
		t.Fatalf("wording shown: %q", shown)
	}
	v := mergeHidden(t, body, url.Values{"consent": {"1"}})
	if resp, _ := f.do(http.MethodPost, "/newsletter", v); resp.StatusCode != http.StatusOK {
		t.Fatalf("consent: %d", resp.StatusCode)
	}
	if got, want := queryOne(t, f, `SELECT supporter_id || '|' || source || '|' || lang || '|' || wording FROM newsletter_consents`),
		"42|thanks_email|ru|"+shown; got != want {
		t.Fatalf("recorded %q, want %q", got, want)
	}
	if resp, _ := f.do(http.MethodGet, "/newsletter?token=x", nil); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad token: %d", resp.StatusCode)
	}
}

// Without opt_in there is no opt-in page.
func TestNewsletterOptInOffByDefault(t *testing.T) {
	f := newGivingFixture(t, okPayments())
	if resp, _ := f.do(http.MethodGet, "/newsletter?token=x", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /newsletter without opt-in: %d", resp.StatusCode)
	}
}

func queryOne(t *testing.T, f *givingFixture, q string) string {
	t.Helper()
	var s string
	if err := f.db.Reader().QueryRow(q).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}
