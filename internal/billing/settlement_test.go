package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/billing"
	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/testkit"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
)

// stripe-mock answers GET /v1/balance_transactions/:id with a fixture (amount 100, fee 0, net
// 100, usd) carrying the id asked for, and stores nothing: the test asserts what Pledge fetched
// and that it reached the ledger and the dashboard's headline.
func TestBalanceTransactionsReachTheLedgerAndHeadline(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, nil)
	rec := &testkit.Recorder{}
	w := &billing.Webhooks{Secrets: []string{secret}, Ledger: db, Settlements: db,
		Stripe: billing.New(billing.Config{SecretKey: "sk_test_123", APIBase: testkit.StripeMock(t), Transport: rec})}
	deliver := func(typ string, p billing.EventParams) {
		t.Helper()
		b := build(t, typ, p)
		if res, err := w.Receive(ctx, b, billing.SignatureHeader(b, secret, time.Now())); err != nil || res.Outcome != pledge.OutcomeApplied {
			t.Fatalf("%s: %+v %v", typ, res, err)
		}
	}
	// The webhook records the gifts without waiting for Stripe: nothing is fetched yet.
	c := checkout(pledge.Monthly, 500)
	deliver("checkout.session.completed", billing.EventParams{Checkout: checkout(pledge.Once, 500), PaymentIntentID: "pi_once"})
	deliver("invoice.paid", billing.EventParams{Checkout: c, SubscriptionID: "sub_bt", InvoiceID: "in_bt", ChargeID: "ch_renewal"})
	if n := len(rec.Requests("GET", "/v1/*")); n != 0 {
		t.Fatalf("the webhook made %d Stripe calls before answering, want none", n)
	}
	// The settler, kicked by each recorded gift, fetches what reached the bank.
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.RunSettler(sctx, time.Hour); close(done) }()
	defer func() { stop(); <-done }()
	deliver("checkout.session.completed", billing.EventParams{Checkout: checkout(pledge.Once, 700), PaymentIntentID: "pi_kick"})
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, err := db.UnsettledSince(ctx, time.Time{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d gifts still unsettled after 10 s", len(left))
		}
		time.Sleep(10 * time.Millisecond) // polling a condition
	}
	stop()
	<-done
	// One call a gift: a one-off's payment intent with its charge's balance transaction
	// expanded; a renewal's charge (the invoice names it) with its balance transaction expanded.
	// Stripe-mock expands both, so no balance transaction is fetched on its own.
	if n := len(rec.Requests("GET", "/v1/balance_transactions/*")); n != 0 {
		t.Fatalf("balance transactions fetched on their own %d times, want 0 (expanded)", n)
	}
	for path, expand := range map[string]string{"/v1/payment_intents/pi_once": "latest_charge.balance_transaction",
		"/v1/payment_intents/pi_kick": "latest_charge.balance_transaction", "/v1/charges/ch_renewal": "balance_transaction"} {
		reqs := rec.Requests("GET", path)
		if len(reqs) != 1 {
			t.Fatalf("%s fetched %d times, want 1", path, len(reqs))
		}
		if got := reqs[0].Form["expand[0]"]; len(got) != 1 || got[0] != expand || len(reqs[0].Form) != 1 {
			t.Errorf("%s asked %v, want expand[0]=%s alone", path, reqs[0].Form, expand)
		}
	}
	// Once settled, a pass fetches nothing again.
	if settled, unsettled, err := w.SettleRecent(ctx); err != nil || settled != 0 || unsettled != 0 {
		t.Fatalf("a second pass settled %d, left %d (%v), want 0, 0", settled, unsettled, err)
	}

	today := time.Now().UTC().Truncate(24 * time.Hour)
	d, err := db.Dashboard(ctx, pledge.Period{From: today, To: today.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	got := d.Settled(false)
	want := []pledge.Settled{{Currency: "usd", Donations: 3, Amount: 300, Fees: 0, Net: 300}}
	if len(got) != 1 || got[0] != want[0] {
		t.Fatalf("headline = %+v, want %+v (stripe-mock's fixture three times)", got, want)
	}
	if u := d.Unsettled(false); len(u) != 0 {
		t.Fatalf("unsettled = %+v, want none", u)
	}
}

// When Stripe cannot be reached the gift is recorded without its balance transaction, counted
// as not yet settled in its own currency; the settler's pass leaves it for later, and reconcile
// (or a later pass) fetches it.
func TestUnreachableBalanceTransactionIsFetchedByReconcile(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, nil)
	down := &billing.Webhooks{Secrets: []string{secret}, Ledger: db, Settlements: db,
		Stripe: billing.New(billing.Config{SecretKey: "sk_test_x", APIBase: "http://127.0.0.1:1", Retries: 0, Timeout: time.Second})}
	b := build(t, "checkout.session.completed", billing.EventParams{Checkout: checkout(pledge.Once, 500), PaymentIntentID: "pi_late"})
	if res, err := down.Receive(ctx, b, billing.SignatureHeader(b, secret, time.Now())); err != nil || res.Outcome != pledge.OutcomeApplied {
		t.Fatalf("%+v %v", res, err)
	}
	if settled, unsettled, err := down.SettleRecent(ctx); err != nil || settled != 0 || unsettled != 1 {
		t.Fatalf("a pass with Stripe down settled %d, left %d (%v), want 0, 1", settled, unsettled, err)
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	p := pledge.Period{From: today, To: today.Add(24 * time.Hour)}
	d, err := db.Dashboard(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if u := d.Unsettled(false); len(u) != 1 || u[0] != (pledge.Unsettled{Currency: "usd", Donations: 1, Net: 500}) {
		t.Fatalf("unsettled = %+v", u)
	}

	rec := &testkit.Recorder{}
	up := &billing.Webhooks{Secrets: []string{secret}, Ledger: db, Settlements: db,
		Stripe: billing.New(billing.Config{SecretKey: "sk_test_123", APIBase: testkit.StripeMock(t), Transport: rec})}
	sum, err := up.Reconcile(ctx, time.Now().Add(-time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Settled != 1 || sum.Unsettled != 0 {
		t.Fatalf("reconcile: %s", sum.SettlementLine())
	}
	if n := len(rec.Requests("GET", "/v1/payment_intents/pi_late")); n != 1 {
		t.Fatalf("payment intent fetched %d times", n)
	}
	if d, err = db.Dashboard(ctx, p); err != nil {
		t.Fatal(err)
	}
	if s := d.Settled(false); len(s) != 1 || s[0].Net != 100 || len(d.Unsettled(false)) != 0 {
		t.Fatalf("after reconcile: settled %+v, unsettled %+v", s, d.Unsettled(false))
	}
}
