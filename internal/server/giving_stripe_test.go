package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/billing"
	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/testkit"
)

// stripeFixture is the server with the real billing client talking to a real stripe-mock, every
// request recorded on the way.
func stripeFixture(t *testing.T, apiBase string, next http.RoundTripper, opts ...fixtureOption) (*givingFixture, *testkit.Recorder) {
	t.Helper()
	rec := &testkit.Recorder{Next: next}
	client := billing.New(billing.Config{
		SecretKey: "sk_test_123",
		APIBase:   apiBase,
		Timeout:   2 * time.Second,
		Retries:   0,
		Transport: rec,
	})
	return newGivingFixture(t, client, opts...), rec
}

func TestDonateSendsStripeTheCheckout(t *testing.T) {
	mockURL := testkit.StripeMock(t)
	tests := []struct {
		name     string
		fields   url.Values
		mode     string
		interval string
		amount   string
		currency string
	}{
		{"done when: annual in euros", url.Values{"frequency": {"annual"}, "amount": {"100"}, "currency": {"eur"}}, "subscription", "year", "10000", "eur"},
		{"monthly in dollars", url.Values{"frequency": {"monthly"}, "amount": {"5"}, "currency": {"usd"}}, "subscription", "month", "500", "usd"},
		{"monthly other amount in pounds", url.Values{"frequency": {"monthly"}, "other_amount": {"7,50"}, "currency": {"gbp"}}, "subscription", "month", "750", "gbp"},
		{"once in dollars", url.Values{"frequency": {"once"}, "amount": {"25"}, "currency": {"usd"}}, "payment", "", "2500", "usd"},
		{"once in euros with fees covered", url.Values{"frequency": {"once"}, "amount": {"10"}, "currency": {"eur"}, "cover_fees": {"1"}}, "payment", "", "1056", "eur"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, rec := stripeFixture(t, mockURL, nil)
			form := f.form("/donate?article=https://news.example/story&campaign=spring", tt.fields)
			resp, _ := f.do(http.MethodPost, "/donate", form)
			co := f.onlyCheckout()
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") == "" || resp.Header.Get("Location") != co.StripeURL {
				t.Fatalf("status %d to %q, want 303 to the stored session URL %q", resp.StatusCode, resp.Header.Get("Location"), co.StripeURL)
			}
			if co.Status != pledge.CheckoutOpen || !strings.HasPrefix(co.StripeSessionID, "cs_") {
				t.Fatalf("checkout not opened: %+v", co)
			}
			reqs := rec.Requests(http.MethodPost, "/v1/checkout/sessions")
			if len(reqs) != 1 {
				t.Fatalf("%d session requests, want 1", len(reqs))
			}
			got := reqs[0].Form
			want := map[string]string{
				"mode":                                           tt.mode,
				"line_items[0][price_data][currency]":            tt.currency,
				"line_items[0][price_data][unit_amount]":         tt.amount,
				"line_items[0][price_data][recurring][interval]": tt.interval,
				"line_items[0][price_data][product_data][name]":  pledge.Frequency(tt.fields.Get("frequency")).Label() + " support for The Test Ledger",
				"line_items[0][quantity]":                        "1",
				"client_reference_id":                            co.ID,
				"success_url":                                    "http://pledge.test/donate/thanks?session_id={CHECKOUT_SESSION_ID}",
				"cancel_url":                                     "http://pledge.test/donate/cancelled?checkout=" + co.ID,
				"metadata[pledge_checkout]":                      co.ID,
				"metadata[frequency]":                            tt.fields.Get("frequency"),
				"metadata[article]":                              "https://news.example/story",
				"metadata[campaign]":                             "spring",
			}
			carrier := "payment_intent_data"
			if tt.mode == "subscription" {
				carrier = "subscription_data"
				want["submit_type"] = ""
				want["customer_creation"] = ""
				want["payment_intent_data[metadata][pledge_checkout]"] = ""
			} else {
				want["submit_type"] = "donate"
				want["customer_creation"] = "always"
				want["subscription_data[metadata][pledge_checkout]"] = ""
			}
			want[carrier+"[metadata][pledge_checkout]"] = co.ID
			want[carrier+"[metadata][frequency]"] = tt.fields.Get("frequency")
			want[carrier+"[metadata][article]"] = "https://news.example/story"
			want[carrier+"[metadata][campaign]"] = "spring"
			for k, v := range want {
				if g := got.Get(k); g != v {
					t.Errorf("Stripe received %s=%q, want %q", k, g, v)
				}
			}
			if key := reqs[0].Header.Get("Idempotency-Key"); key != "pledge-checkout-"+co.Nonce {
				t.Errorf("Idempotency-Key %q, want one derived from the form's nonce", key)
			}
		})
	}
}

func TestDonateDoubleSubmitMakesOneSession(t *testing.T) {
	f, rec := stripeFixture(t, testkit.StripeMock(t), nil)
	form := f.form("/donate", url.Values{"frequency": {"monthly"}, "amount": {"10"}, "currency": {"usd"}})

	// Two clicks at once, then a third after the first answered.
	var wg sync.WaitGroup
	locations := make([]string, 3)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := f.do(http.MethodPost, "/donate", form)
			locations[i] = resp.Header.Get("Location")
		}()
	}
	wg.Wait()
	resp, _ := f.do(http.MethodPost, "/donate", form)
	locations[2] = resp.Header.Get("Location")

	co := f.onlyCheckout()
	if locations[2] != co.StripeURL || co.StripeURL == "" {
		t.Fatalf("third click went to %q, want the stored session %q", locations[2], co.StripeURL)
	}
	reqs := rec.Requests(http.MethodPost, "/v1/checkout/sessions")
	if len(reqs) == 0 || len(reqs) > 2 {
		t.Fatalf("%d session requests for one form", len(reqs))
	}
	// Whatever reached Stripe carried one key, so Stripe itself makes one session of them.
	for _, r := range reqs {
		if k := r.Header.Get("Idempotency-Key"); k != "pledge-checkout-"+co.Nonce {
			t.Fatalf("Idempotency-Key %q, want %q", k, "pledge-checkout-"+co.Nonce)
		}
	}
}

// faultTransport answers Stripe calls with a failure instead of passing them on.
type faultTransport struct{ fault string }

func (ft faultTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	switch ft.fault {
	case "timeout":
		<-r.Context().Done() // the client's timeout ends the wait
		return nil, r.Context().Err()
	case "500", "429", "409":
		status := map[string]int{"500": 500, "429": 429, "409": 409}[ft.fault]
		typ := map[string]string{"500": "api_error", "429": "api_error", "409": "idempotency_error"}[ft.fault]
		body := fmt.Sprintf(`{"error":{"type":%q,"message":"injected %s"}}`, typ, ft.fault)
		return &http.Response{StatusCode: status, Status: ft.fault, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	}
	return nil, fmt.Errorf("unknown fault %q", ft.fault)
}

func TestDonateStripeFailures(t *testing.T) {
	mockURL := testkit.StripeMock(t)
	closed := fmt.Sprintf("http://127.0.0.1:%d", testkit.FreePort(t)) // nothing listens there
	tests := []struct {
		name  string
		base  string
		fault http.RoundTripper
	}{
		{"server error", mockURL, faultTransport{"500"}},
		{"rate limited by Stripe", mockURL, faultTransport{"429"}},
		{"idempotency key in use", mockURL, faultTransport{"409"}},
		{"timeout", mockURL, faultTransport{"timeout"}},
		{"connection refused", closed, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, rec := stripeFixture(t, tt.base, tt.fault)
			if tt.name == "timeout" {
				f.srv.giving.Payments = billing.New(billing.Config{SecretKey: "sk_test_123", APIBase: tt.base,
					Timeout: 200 * time.Millisecond, Transport: rec})
			}
			form := f.form("/donate", url.Values{"frequency": {"annual"}, "amount": {"50"}, "currency": {"gbp"}})
			resp, body := f.do(http.MethodPost, "/donate", form)
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("status %d, want 503", resp.StatusCode)
			}
			if loc := resp.Header.Get("Location"); loc != "" {
				t.Fatalf("redirected to %q", loc)
			}
			if !strings.Contains(body, "No payment was taken") || !strings.Contains(body, "Try again") {
				t.Errorf("503 page does not reassure and offer a retry:\n%s", body)
			}
			if n := len(rec.Requests(http.MethodPost, "/v1/checkout/sessions")); n != 1 {
				t.Errorf("%d attempts reached the transport, want 1", n)
			}
			co := f.onlyCheckout()
			if co.Status != pledge.CheckoutPending || co.StripeSessionID != "" || co.StripeURL != "" {
				t.Fatalf("checkout looks further along than it is: %+v", co)
			}
		})
	}
}

// TestThanksFetchesTheSession: a checkout not yet marked paid by the webhook is judged by its
// session, fetched once; stripe-mock's fixture is not a complete, paid session, so the reader is
// not thanked. Once the webhook has marked the checkout paid, the page thanks without a fetch.
func TestThanksFetchesTheSession(t *testing.T) {
	f, rec := stripeFixture(t, testkit.StripeMock(t), nil)
	form := f.form("/donate?article=https://news.example/story", url.Values{"frequency": {"once"}, "amount": {"25"}, "currency": {"eur"}})
	if resp, _ := f.do(http.MethodPost, "/donate", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("donate: %d", resp.StatusCode)
	}
	co := f.onlyCheckout()
	resp, body := f.do(http.MethodGet, "/donate/thanks?session_id="+url.QueryEscape(co.StripeSessionID), nil)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "You gave") {
		t.Fatalf("thanks for stripe-mock's unpaid session: %d\n%s", resp.StatusCode, body)
	}
	if n := len(rec.Requests(http.MethodGet, "/v1/checkout/sessions/"+co.StripeSessionID)); n != 1 {
		t.Fatalf("%d fetches of the session, want 1", n)
	}
	tx, err := f.db.BeginTx(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`UPDATE checkouts SET status = 'paid' WHERE id = ?`, co.ID); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	resp, body = f.do(http.MethodGet, "/donate/thanks?session_id="+url.QueryEscape(co.StripeSessionID), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "You gave €25.00") {
		t.Fatalf("thanks: %d\n%s", resp.StatusCode, body)
	}
	if n := len(rec.Requests(http.MethodGet, "/v1/checkout/sessions/"+co.StripeSessionID)); n != 1 {
		t.Fatalf("%d fetches of the session, want still 1 (the paid checkout is enough)", n)
	}
}
