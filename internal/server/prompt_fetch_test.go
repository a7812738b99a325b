package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Rate-limit messages come from the catalogues: a page in the reader's language, JSON too, and
// inside the article's frame the prompt again with the message in the card.
func TestRateLimitInReadersLanguage(t *testing.T) {
	f := newGivingFixture(t, okPayments(), func(c *Config, _ *Server) { c.DonateLimit = Limit{N: 1, Per: time.Hour} })
	post := func(fields url.Values, header ...string) (*http.Response, string) {
		form := f.form("/prompt?lang=ru", fields)
		return f.do(http.MethodPost, "/donate", form, header...)
	}
	gift := url.Values{"frequency": {"once"}, "currency": {"usd"}, "amount": {"10"}}
	if resp, _ := post(gift); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first gift: %d", resp.StatusCode)
	}
	const ru = "Слишком много попыток с вашего подключения"
	resp, body := post(gift, "Accept-Language", "ru")
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, ru) || !strings.Contains(body, `<html lang="ru"`) {
		t.Fatalf("429 page: %d\n%s", resp.StatusCode, body)
	}
	embedded := url.Values{"frequency": {"once"}, "currency": {"usd"}, "amount": {"10"}, "embed": {"1"}}
	resp, body = post(embedded)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, `class="prompt-card"`) ||
		!strings.Contains(body, `id="form-error" role="alert">`+ru) {
		t.Fatalf("429 inside the frame: %d, want the card with the message\n%s", resp.StatusCode, body)
	}
	resp, body = post(embedded, "Accept", "application/json")
	var e apiError
	if err := json.Unmarshal([]byte(body), &e); err != nil || resp.StatusCode != http.StatusTooManyRequests || !strings.HasPrefix(e.Error.Message, ru) {
		t.Fatalf("429 to fetch: %d %q (%v)", resp.StatusCode, body, err)
	}
}

// prompt.js posts the gift with fetch from inside the frame: a refusal comes back as JSON naming
// the field, in the prompt's language; an accepted gift as the URL the top window goes to.
func TestDonateFetchFromPrompt(t *testing.T) {
	pay := okPayments()
	f := newGivingFixture(t, pay)
	over := f.form("/prompt?lang=ru", url.Values{"frequency": {"once"}, "currency": {"usd"}, "other_amount": {"10000"},
		"cover_fees": {"1"}, "embed": {"1"}})
	resp, body := f.do(http.MethodPost, "/donate", over, "Accept", "application/json")
	var e apiError
	if err := json.Unmarshal([]byte(body), &e); err != nil || resp.StatusCode != http.StatusUnprocessableEntity ||
		e.Error.Field != "other_amount" || !strings.Contains(e.Error.Message, "10\u00a0298,98\u00a0$") {
		t.Fatalf("refusal: %d %s", resp.StatusCode, body)
	}
	if len(pay.Created()) != 0 {
		t.Fatal("a refused gift reached Stripe")
	}
	ok := f.form("/prompt", url.Values{"frequency": {"once"}, "currency": {"usd"}, "amount": {"10"}, "embed": {"1"}})
	resp, body = f.do(http.MethodPost, "/donate", ok, "Accept", "application/json")
	var next leaveFrame
	if err := json.Unmarshal([]byte(body), &next); err != nil || resp.StatusCode != http.StatusOK || next.URL == "" {
		t.Fatalf("accepted gift: %d %s", resp.StatusCode, body)
	}
	if len(pay.Created()) != 1 {
		t.Fatalf("%d sessions, want 1", len(pay.Created()))
	}
}
