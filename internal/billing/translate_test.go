package billing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/billing"
	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/testkit"
)

// edited builds an event of typ about a checkout of amount in cur, with edit applied to its object.
func edited(t *testing.T, typ string, f pledge.Frequency, amount int64, cur pledge.Currency, edit func(o map[string]any)) *pledge.LedgerEvent {
	t.Helper()
	c := checkout(f, amount)
	c.Amount.Currency = cur
	return translate(t, build(t, typ, billing.EventParams{Checkout: c, Edit: edit}))
}

// coupon is a subscription's discount, as a 2023-10-16 subscription embeds it.
func coupon(percentOff any, amountOff any, cur any) map[string]any {
	return map[string]any{"id": "di_1", "object": "discount", "checkout_session": nil, "customer": "cus_1", "end": nil,
		"invoice": nil, "invoice_item": nil, "promotion_code": nil, "start": 1700000000, "subscription": "sub_1",
		"coupon": map[string]any{"id": "SUPPORT", "object": "coupon", "amount_off": amountOff, "created": 1700000000,
			"currency": cur, "duration": "forever", "duration_in_months": nil, "livemode": false, "max_redemptions": nil,
			"metadata": map[string]any{}, "name": "Supporter", "percent_off": percentOff, "redeem_by": nil,
			"times_redeemed": 1, "valid": true}}
}

func TestTranslateSessionTax(t *testing.T) {
	cases := []struct {
		name             string
		total, tax       int64
		wantAmt, wantTax int64
		noDetails        bool
	}{
		{"no tax", 1000, 0, 1000, 0, false},
		{"tax on top", 1200, 200, 1000, 200, false},
		{"discounted, taxed", 1080, 180, 900, 180, false},
		{"no total_details", 1000, 0, 1000, 0, true},
	}
	for _, c := range cases {
		for _, typ := range []string{"checkout.session.completed", "checkout.session.async_payment_succeeded"} {
			le := edited(t, typ, pledge.Once, c.total, "eur", func(o map[string]any) {
				o["amount_total"] = c.total
				o["total_details"] = map[string]any{"amount_discount": 0, "amount_shipping": 0, "amount_tax": c.tax}
				if c.noDetails {
					o["total_details"] = nil
				}
			})
			f, ok := le.Fact.(*pledge.CheckoutCompleted)
			if !ok || f.Amount != (pledge.Money{Amount: c.wantAmt, Currency: "eur"}) || f.Tax != c.wantTax {
				t.Errorf("%s, %s: %+v", c.name, typ, le.Fact)
			}
		}
	}
}

func TestTranslateInvoiceTax(t *testing.T) {
	cases := []struct {
		name             string
		edit             func(o map[string]any)
		wantAmt, wantTax int64
	}{
		{"tax null", func(o map[string]any) { o["amount_paid"], o["tax"] = 1000, nil }, 1000, 0},
		{"tax", func(o map[string]any) { o["amount_paid"], o["tax"] = 1200, 200 }, 1000, 200},
		{"newer shape: total_taxes", func(o map[string]any) {
			delete(o, "tax")
			o["amount_paid"], o["total_taxes"] = 1150, []any{map[string]any{"amount": 100}, map[string]any{"amount": 50}}
		}, 1000, 150},
	}
	for _, c := range cases {
		le := edited(t, "invoice.paid", pledge.Monthly, 1000, "gbp", c.edit)
		f, ok := le.Fact.(*pledge.InvoicePaid)
		if !ok || f.Amount != (pledge.Money{Amount: c.wantAmt, Currency: "gbp"}) || f.Tax != c.wantTax || f.PaidAt.IsZero() {
			t.Errorf("%s: %+v", c.name, le.Fact)
		}
	}
	// A failed invoice still asks amount_due.
	le := edited(t, "invoice.payment_failed", pledge.Monthly, 1000, "gbp", func(o map[string]any) { o["amount_due"], o["tax"] = 1200, 200 })
	if f, ok := le.Fact.(*pledge.InvoiceFailed); !ok || f.Amount.Amount != 1200 {
		t.Errorf("payment_failed: %+v", le.Fact)
	}
}

func TestTranslateSubscriptionDiscount(t *testing.T) {
	cases := []struct {
		name     string
		cur      pledge.Currency
		unit     int64
		quantity int64
		discount map[string]any
		want     int64
	}{
		{"no discount", "usd", 500, 1, nil, 500},
		{"quantity", "usd", 500, 3, nil, 1500},
		{"percent, exact", "usd", 1000, 1, coupon(12.5, nil, nil), 875},
		{"percent, rounds down", "usd", 250, 1, coupon(10.1, nil, nil), 225},              // 25.25 off
		{"percent, rounds up", "usd", 999, 1, coupon(33.33, nil, nil), 666},               // 332.97 off
		{"percent, half away from zero (usd)", "usd", 1005, 1, coupon(50, nil, nil), 502}, // 502.5 off
		{"percent, half away from zero (jpy)", "jpy", 50, 1, coupon(25, nil, nil), 37},    // 12.5 off
		{"percent, jpy", "jpy", 1000, 1, coupon(15, nil, nil), 850},
		{"percent, on the quantity", "jpy", 333, 3, coupon(10, nil, nil), 899}, // 99.9 off 999
		{"percent, all", "usd", 500, 1, coupon(100, nil, nil), 0},
		{"amount off", "usd", 500, 1, coupon(nil, 200, "usd"), 300},
		{"amount off, jpy", "jpy", 1000, 1, coupon(nil, 300, "jpy"), 700},
		{"amount off, more than the price", "usd", 500, 1, coupon(nil, 800, "usd"), 0},
		{"amount off in another currency", "usd", 500, 1, coupon(nil, 200, "eur"), 500},
	}
	for _, c := range cases {
		for _, typ := range []string{"customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted"} {
			le := edited(t, typ, pledge.Monthly, c.unit, c.cur, func(o map[string]any) {
				o["items"].(map[string]any)["data"].([]any)[0].(map[string]any)["quantity"] = c.quantity
				if c.discount != nil {
					o["discount"] = c.discount
				}
			})
			f, ok := le.Fact.(*pledge.SubscriptionChanged)
			if !ok || f.Amount != (pledge.Money{Amount: c.want, Currency: c.cur}) {
				t.Errorf("%s, %s: %+v, want %d %s", c.name, typ, le.Fact, c.want, c.cur)
			}
		}
	}
}

func TestTranslateSubscriptionDates(t *testing.T) {
	const cancelAt, endedAt = 1800000000, 1800001000
	le := edited(t, "customer.subscription.updated", pledge.Annual, 5000, "usd", func(o map[string]any) {
		o["cancel_at_period_end"], o["cancel_at"] = false, cancelAt
		o["pause_collection"] = map[string]any{"behavior": "void", "resumes_at": nil}
	})
	f, ok := le.Fact.(*pledge.SubscriptionChanged)
	if !ok || f.CancelAt.Unix() != cancelAt || !f.EndedAt.IsZero() || !f.Paused || f.CancelAtPeriodEnd || f.Interval != "year" {
		t.Fatalf("scheduled, paused: %+v", le.Fact)
	}
	le = edited(t, "customer.subscription.deleted", pledge.Monthly, 500, "usd", func(o map[string]any) {
		o["ended_at"], o["cancel_at"] = endedAt, nil
	})
	f, ok = le.Fact.(*pledge.SubscriptionChanged)
	if !ok || f.EndedAt.Unix() != endedAt || !f.CancelAt.IsZero() || f.Paused || f.Status != "canceled" {
		t.Fatalf("ended: %+v", le.Fact)
	}
	le = edited(t, "customer.subscription.created", pledge.Monthly, 500, "usd", nil)
	f, ok = le.Fact.(*pledge.SubscriptionChanged)
	if !ok || !f.EndedAt.IsZero() || !f.CancelAt.IsZero() || f.Paused || f.Status != "active" {
		t.Fatalf("running: %+v", le.Fact)
	}
}

func TestTranslateCustomerEvents(t *testing.T) {
	for _, typ := range []string{"customer.created", "customer.updated"} {
		p := billing.EventParams{CustomerID: "cus_42", Email: "new@example.com", Edit: func(o map[string]any) { o["name"] = "Ann Reader" }}
		le := translate(t, build(t, typ, p))
		f, ok := le.Fact.(*pledge.CustomerChanged)
		if !ok || f.Customer != (pledge.Customer{StripeID: "cus_42", Email: "new@example.com", Name: "Ann Reader"}) || le.ObjectID != "cus_42" {
			t.Errorf("%s: %+v", typ, le.Fact)
		}
		// No metadata, null e-mail and name: still translated.
		le = translate(t, build(t, typ, billing.EventParams{CustomerID: "cus_43", Edit: func(o map[string]any) {
			o["email"], o["name"], o["metadata"] = nil, nil, map[string]any{}
		}}))
		if f, ok := le.Fact.(*pledge.CustomerChanged); !ok || f.Customer != (pledge.Customer{StripeID: "cus_43"}) {
			t.Errorf("%s without e-mail: %+v", typ, le.Fact)
		}
	}
}

func TestTranslateDisputeEvents(t *testing.T) {
	want := map[string]struct {
		status     string
		reinstated bool
	}{
		"charge.dispute.created":          {"needs_response", false},
		"charge.dispute.updated":          {"under_review", false},
		"charge.dispute.funds_withdrawn":  {"needs_response", false},
		"charge.dispute.closed":           {"lost", false},
		"charge.dispute.funds_reinstated": {"won", true},
	}
	for typ, w := range want {
		p := billing.EventParams{Checkout: checkout(pledge.Once, 2000), ChargeID: "ch_d", PaymentIntentID: "pi_d"}
		f, ok := translate(t, build(t, typ, p)).Fact.(*pledge.DisputeChanged)
		if !ok || f.DisputeID != "dp_d" || f.ChargeID != "ch_d" || f.PaymentIntent != "pi_d" || f.Status != w.status ||
			f.Reinstated != w.reinstated || f.Amount != (pledge.Money{Amount: 2000, Currency: "usd"}) {
			t.Errorf("%s: %+v", typ, f)
		}
		// A partial dispute, in the currency Stripe says, with the status it says.
		p.Edit = func(o map[string]any) { o["amount"], o["currency"], o["status"] = 750, "eur", "warning_under_review" }
		f, ok = translate(t, build(t, typ, p)).Fact.(*pledge.DisputeChanged)
		if !ok || f.Amount != (pledge.Money{Amount: 750, Currency: "eur"}) || f.Status != "warning_under_review" || f.Reinstated != w.reinstated {
			t.Errorf("%s, edited: %+v", typ, f)
		}
	}
	if len(want) != 5 {
		t.Fatal("five dispute types")
	}
	for typ := range want {
		found := false
		for _, h := range billing.HandledTypes {
			found = found || h == typ
		}
		if !found {
			t.Errorf("%s is not in HandledTypes", typ)
		}
	}
}

func TestTranslateRefundCurrency(t *testing.T) {
	c := checkout(pledge.Once, 500)
	c.Amount.Currency = "jpy"
	p := billing.EventParams{Checkout: c, RefundID: "re_1", ChargeID: "ch_1"}
	f, ok := translate(t, build(t, "charge.refund.updated", p)).Fact.(*pledge.RefundUpdated)
	if !ok || f.RefundID != "re_1" || f.Currency != "jpy" || f.Amount != 500 || f.Status != "succeeded" {
		t.Fatalf("refund: %+v", f)
	}
	p.Edit = func(o map[string]any) { o["currency"], o["amount"], o["status"] = "gbp", 120, "pending" }
	f, ok = translate(t, build(t, "charge.refund.updated", p)).Fact.(*pledge.RefundUpdated)
	if !ok || f.Currency != "gbp" || f.Amount != 120 || f.Status != "pending" {
		t.Fatalf("edited refund: %+v", f)
	}
}

func TestTranslateReadsPledgeSite(t *testing.T) {
	for _, typ := range []string{"checkout.session.completed", "invoice.paid", "invoice.payment_failed",
		"customer.subscription.updated", "charge.refunded"} {
		for _, site := range []string{"", "eu.news.example"} {
			f := pledge.Once
			if typ != "checkout.session.completed" && typ != "charge.refunded" {
				f = pledge.Monthly
			}
			payload := build(t, typ, billing.EventParams{Checkout: checkout(f, 500), Site: site})
			if has := strings.Contains(string(payload), `"pledge_site"`); has != (site != "") {
				t.Errorf("%s, site %q: pledge_site in the payload: %v", typ, site, has)
			}
			m, ok := pledge.FactMetadata(translate(t, payload).Fact)
			if !ok || m.Site != site || m.CheckoutID != "co_test" {
				t.Errorf("%s, site %q: metadata %+v (%v)", typ, site, m, ok)
			}
		}
	}
}

// recordingLedger is a pledge.LedgerService that keeps what it was given.
type recordingLedger struct {
	mu     sync.Mutex
	events []*pledge.LedgerEvent
	subs   map[string]pledge.Metadata
}

func (l *recordingLedger) ApplyEvent(_ context.Context, e *pledge.LedgerEvent) (pledge.Outcome, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
	if e.Fact == nil {
		return pledge.OutcomeIgnored, nil
	}
	return pledge.OutcomeApplied, nil
}

func (l *recordingLedger) HasEvent(context.Context, string) (bool, error) { return false, nil }

func (l *recordingLedger) SubscriptionMeta(_ context.Context, id string) (pledge.Metadata, error) {
	if m, ok := l.subs[id]; ok {
		return m, nil
	}
	return pledge.Metadata{}, pledge.Errorf(pledge.ENOTFOUND, "no subscription %s", id)
}

func TestApplyIgnoresAnotherSitesObjects(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	ledger := &recordingLedger{subs: map[string]pledge.Metadata{
		"sub_theirs": {CheckoutID: "co_x", Site: "us.news.example", Frequency: pledge.Monthly},
		"sub_ours":   {CheckoutID: "co_y", Site: "eu.news.example", Frequency: pledge.Monthly},
	}}
	w := &billing.Webhooks{Secrets: []string{secret}, Ledger: ledger, Site: "eu.news.example",
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	// Invoices without metadata in the payload: the site comes from the stored subscription.
	bare := func(o map[string]any) {
		o["subscription_details"] = map[string]any{"metadata": nil}
		o["lines"].(map[string]any)["data"].([]any)[0].(map[string]any)["metadata"] = map[string]any{}
	}
	cases := []struct {
		name, typ, site string
		f               pledge.Frequency
		edit            func(map[string]any)
		sub             string
		want            pledge.Outcome
	}{
		{"unmarked", "checkout.session.completed", "", pledge.Once, nil, "", pledge.OutcomeApplied},
		{"ours", "checkout.session.completed", "eu.news.example", pledge.Once, nil, "", pledge.OutcomeApplied},
		{"theirs", "checkout.session.completed", "us.news.example", pledge.Once, nil, "", pledge.OutcomeIgnored},
		{"theirs, expired", "checkout.session.expired", "us.news.example", pledge.Once, nil, "", pledge.OutcomeIgnored},
		{"ours, expired", "checkout.session.expired", "eu.news.example", pledge.Once, nil, "", pledge.OutcomeApplied},
		{"theirs, subscription", "customer.subscription.updated", "us.news.example", pledge.Monthly, nil, "", pledge.OutcomeIgnored},
		{"theirs, invoice", "invoice.paid", "us.news.example", pledge.Monthly, nil, "", pledge.OutcomeIgnored},
		{"ours, invoice", "invoice.paid", "eu.news.example", pledge.Monthly, nil, "", pledge.OutcomeApplied},
		{"theirs, settled invoice", "invoice.paid", "", pledge.Monthly, bare, "sub_theirs", pledge.OutcomeIgnored},
		{"ours, settled invoice", "invoice.paid", "", pledge.Monthly, bare, "sub_ours", pledge.OutcomeApplied},
		{"theirs, charge", "charge.refunded", "us.news.example", pledge.Once, nil, "", pledge.OutcomeIgnored},
		{"a customer", "customer.updated", "us.news.example", pledge.Once, nil, "", pledge.OutcomeApplied},
	}
	for i, c := range cases {
		p := billing.EventParams{Checkout: checkout(c.f, 500), Site: c.site, Edit: c.edit, SubscriptionID: c.sub,
			Email: "private@example.com", EventID: "evt_site_" + string(rune('a'+i))}
		payload := build(t, c.typ, p)
		logs.Reset()
		res, err := w.Receive(ctx, payload, billing.SignatureHeader(payload, secret, time.Now()))
		if err != nil || res.Outcome != c.want {
			t.Errorf("%s: %+v %v, want %s", c.name, res, err, c.want)
			continue
		}
		if got := ledger.events[len(ledger.events)-1]; got.ID != p.EventID || (got.Fact == nil) != (c.want == pledge.OutcomeIgnored) {
			t.Errorf("%s: the ledger was given %+v", c.name, got)
		}
		if c.want == pledge.OutcomeIgnored {
			if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), p.EventID) {
				t.Errorf("%s: no warning naming the event: %q", c.name, logs.String())
			}
			if strings.Contains(logs.String(), "private@example.com") || strings.Contains(logs.String(), "co_test") {
				t.Errorf("%s: the log shows the payload: %q", c.name, logs.String())
			}
		}
	}
	// A receiver without a site applies every site's objects.
	w.Site = ""
	payload := build(t, "checkout.session.completed", billing.EventParams{Checkout: checkout(pledge.Once, 500), Site: "us.news.example"})
	if res, err := w.Receive(ctx, payload, billing.SignatureHeader(payload, secret, time.Now())); err != nil || res.Outcome != pledge.OutcomeApplied {
		t.Errorf("no site configured: %+v %v", res, err)
	}
}

// TestCheckoutSessionCarriesPledgeSite checks, on the request stripe-mock received, that the
// site's mark is on the session and on what it makes: the payment intent or the subscription.
func TestCheckoutSessionCarriesPledgeSite(t *testing.T) {
	base := testkit.StripeMock(t)
	for _, site := range []string{"eu.news.example", ""} {
		rec := &testkit.Recorder{}
		c := billing.New(billing.Config{SecretKey: "sk_test_123", APIBase: base, Transport: rec, Site: site})
		for _, f := range []pledge.Frequency{pledge.Once, pledge.Monthly, pledge.Annual} {
			rec.Reset()
			co := checkout(f, 1000)
			co.ID = "co_" + string(f)
			_, err := c.CreateCheckoutSession(context.Background(), co, pledge.SessionRequest{ProductName: "Support",
				SuccessURL: "https://support.news.example/thanks?s={CHECKOUT_SESSION_ID}", CancelURL: "https://support.news.example/"})
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			reqs := rec.Requests("POST", "/v1/checkout/sessions")
			if len(reqs) != 1 {
				t.Fatalf("%d session requests", len(reqs))
			}
			form := reqs[0].Form
			carrier := "payment_intent_data"
			if f.Recurring() {
				carrier = "subscription_data"
			}
			for _, key := range []string{"metadata", carrier + "[metadata]"} {
				if got := form.Get(key + "[pledge_checkout]"); got != co.ID {
					t.Errorf("%s: %s[pledge_checkout] = %q", f, key, got)
				}
				got, sent := form[key+"[pledge_site]"]
				if site == "" && sent {
					t.Errorf("%s, no site: %s[pledge_site] sent as %q", f, key, got)
				}
				if site != "" && (len(got) != 1 || got[0] != site) {
					t.Errorf("%s: %s[pledge_site] = %q, want %q", f, key, got, site)
				}
			}
		}
	}
}

// TestEditAndSiteReachThePayload checks the builder's hooks on the JSON Stripe would send.
func TestEditAndSiteReachThePayload(t *testing.T) {
	payload := build(t, "customer.subscription.updated", billing.EventParams{Site: "eu-1", Edit: func(o map[string]any) {
		o["status"] = "past_due"
	}})
	var ev struct {
		Data struct {
			Object struct {
				Status   string            `json:"status"`
				Metadata map[string]string `json:"metadata"`
			} `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Data.Object.Status != "past_due" || ev.Data.Object.Metadata["pledge_site"] != "eu-1" {
		t.Fatalf("object = %+v", ev.Data.Object)
	}
}
