package sqlite_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/sqlite"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
)

func newCheckout(t *testing.T, db *sqlite.DB, f pledge.Frequency, amount int64) *pledge.Checkout {
	t.Helper()
	c, err := db.CreateCheckout(context.Background(), &pledge.Checkout{
		Nonce: fmt.Sprintf("nonce-%d", time.Now().UnixNano()), Frequency: f,
		Amount: pledge.Money{Amount: amount, Currency: "usd"}, Article: "https://news.example/a", Campaign: "spring",
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func meta(c *pledge.Checkout) pledge.Metadata {
	return pledge.Metadata{CheckoutID: c.ID, Frequency: c.Frequency, Article: c.Article, Campaign: c.Campaign}
}

var lt0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func ev(id, typ string, at time.Time, fact any) *pledge.LedgerEvent {
	return &pledge.LedgerEvent{ID: id, Type: typ, Created: at, ObjectID: "obj_" + id, Fact: fact}
}

func apply(t *testing.T, db *sqlite.DB, e *pledge.LedgerEvent) pledge.Outcome {
	t.Helper()
	out, err := db.ApplyEvent(context.Background(), e)
	if err != nil {
		t.Fatalf("apply %s %s: %v", e.Type, e.ID, err)
	}
	return out
}

// query returns the rows of a query as lines of |-separated values.
func query(t *testing.T, db *sqlite.DB, q string, args ...any) string {
	t.Helper()
	rows, err := db.Reader().Query(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if b, ok := v.(bool); ok { // a comparison: SQLite answers 0 or 1, PostgreSQL a boolean
				v = 0
				if b {
					v = 1
				}
			}
			parts[i] = fmt.Sprint(v)
		}
		lines = append(lines, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

func oneOff(c *pledge.Checkout, pi, customer, email string) *pledge.CheckoutCompleted {
	return &pledge.CheckoutCompleted{SessionID: "cs_" + pi, CheckoutID: c.ID, Meta: meta(c), Paid: true,
		Customer: pledge.Customer{StripeID: customer, Email: email}, Amount: c.Amount, PaymentIntent: pi}
}

func TestDuplicateDeliveryMakesOneDonation(t *testing.T) {
	db := storetest.Open(t, nil)
	c := newCheckout(t, db, pledge.Once, 500)
	e := ev("evt_dup", "checkout.session.completed", lt0, oneOff(c, "pi_dup", "cus_dup", "reader@example.com"))
	if got := apply(t, db, e); got != pledge.OutcomeApplied {
		t.Fatalf("first delivery: %s", got)
	}
	for i := 0; i < 4; i++ {
		if got := apply(t, db, e); got != pledge.OutcomeDuplicate {
			t.Fatalf("delivery %d: %s, want duplicate", i+2, got)
		}
	}
	if got, want := query(t, db, `SELECT count(*), sum(amount), min(status), min(frequency) FROM donations`), "1|500|succeeded|once"; got != want {
		t.Fatalf("donations = %s, want %s", got, want)
	}
	if got, want := query(t, db, `SELECT count(*) FROM stripe_events`), "1"; got != want {
		t.Fatalf("events = %s, want %s", got, want)
	}
	if got, want := query(t, db, `SELECT status FROM checkouts WHERE id = ?`, c.ID), "paid"; got != want {
		t.Fatalf("checkout status = %s, want %s", got, want)
	}
	// The same payment delivered as another event (async_payment_succeeded) is still one gift.
	apply(t, db, ev("evt_async", "checkout.session.async_payment_succeeded", lt0.Add(time.Second), oneOff(c, "pi_dup", "cus_dup", "reader@example.com")))
	if got, want := query(t, db, `SELECT count(*) FROM donations`), "1"; got != want {
		t.Fatalf("donations after async event = %s, want %s", got, want)
	}
}

func TestForeignAndUnhandledEventsAreRecordedAndIgnored(t *testing.T) {
	db := storetest.Open(t, nil)
	if got := apply(t, db, ev("evt_foreign", "checkout.session.completed", lt0, nil)); got != pledge.OutcomeIgnored {
		t.Fatalf("outcome = %s, want ignored", got)
	}
	// A refund of a charge no donation claims is kept (its donation may come later) but ignored.
	if got := apply(t, db, ev("evt_ch", "charge.refunded", lt0, &pledge.ChargeRefunded{ChargeID: "ch_foreign", PaymentIntent: "pi_foreign", AmountRefunded: 100})); got != pledge.OutcomeIgnored {
		t.Fatalf("foreign charge outcome = %s, want ignored", got)
	}
	if got, want := query(t, db, `SELECT id, outcome FROM stripe_events ORDER BY id`), "evt_ch|ignored\nevt_foreign|ignored"; got != want {
		t.Fatalf("events = %q, want %q", got, want)
	}
	if got, want := query(t, db, `SELECT (SELECT count(*) FROM donations), (SELECT count(*) FROM supporters)`), "0|0"; got != want {
		t.Fatalf("ledger rows = %s, want %s", got, want)
	}
}

func TestUnpaidCompletionWaitsAndClosedCheckouts(t *testing.T) {
	db := storetest.Open(t, nil)
	c := newCheckout(t, db, pledge.Once, 500)
	f := oneOff(c, "pi_ach", "cus_ach", "ach@example.com")
	f.Paid = false
	apply(t, db, ev("evt_unpaid", "checkout.session.completed", lt0, f))
	if got := query(t, db, `SELECT count(*) FROM donations`); got != "0" {
		t.Fatalf("an unpaid completion made %s donations", got)
	}
	apply(t, db, ev("evt_failed", "checkout.session.async_payment_failed", lt0.Add(time.Hour), &pledge.CheckoutClosed{SessionID: "cs_pi_ach", CheckoutID: c.ID, Status: pledge.CheckoutFailed}))
	apply(t, db, ev("evt_expired", "checkout.session.expired", lt0.Add(2*time.Hour), &pledge.CheckoutClosed{SessionID: "cs_pi_ach", CheckoutID: c.ID, Status: pledge.CheckoutAbandoned}))
	if got, want := query(t, db, `SELECT status FROM checkouts WHERE id = ?`, c.ID), "failed"; got != want {
		t.Fatalf("checkout = %s, want %s (never moves back)", got, want)
	}
	c2 := newCheckout(t, db, pledge.Once, 500)
	apply(t, db, ev("evt_expired2", "checkout.session.expired", lt0, &pledge.CheckoutClosed{SessionID: "cs_2", CheckoutID: c2.ID, Status: pledge.CheckoutAbandoned}))
	if got, want := query(t, db, `SELECT status FROM checkouts WHERE id = ?`, c2.ID), "abandoned"; got != want {
		t.Fatalf("checkout = %s, want %s", got, want)
	}
}

func TestPartialRefundOfOneCent(t *testing.T) {
	for _, refundFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("refund first %v", refundFirst), func(t *testing.T) {
			db := storetest.Open(t, nil)
			c := newCheckout(t, db, pledge.Once, 500)
			paid := ev("evt_paid", "checkout.session.completed", lt0, oneOff(c, "pi_cent", "cus_cent", "cent@example.com"))
			refund := ev("evt_refund", "charge.refunded", lt0.Add(time.Hour), &pledge.ChargeRefunded{
				ChargeID: "ch_cent", PaymentIntent: "pi_cent", Amount: c.Amount, AmountRefunded: 1})
			if refundFirst {
				apply(t, db, refund)
				apply(t, db, paid)
			} else {
				apply(t, db, paid)
				if got := apply(t, db, refund); got != pledge.OutcomeApplied {
					t.Fatalf("refund outcome = %s", got)
				}
			}
			if got, want := query(t, db, `SELECT amount, amount_refunded, status, stripe_charge_id FROM donations`), "500|1|partially_refunded|ch_cent"; got != want {
				t.Fatalf("donation = %s, want %s", got, want)
			}
			// The rest refunded later; an older charge.refunded arriving late changes nothing.
			apply(t, db, ev("evt_refund_all", "charge.refunded", lt0.Add(2*time.Hour), &pledge.ChargeRefunded{
				ChargeID: "ch_cent", PaymentIntent: "pi_cent", Amount: c.Amount, AmountRefunded: 500}))
			apply(t, db, ev("evt_refund_old", "charge.refunded", lt0.Add(30*time.Minute), &pledge.ChargeRefunded{
				ChargeID: "ch_cent", PaymentIntent: "pi_cent", Amount: c.Amount, AmountRefunded: 1}))
			if got, want := query(t, db, `SELECT amount_refunded, status FROM donations`), "500|refunded"; got != want {
				t.Fatalf("donation = %s, want %s", got, want)
			}
		})
	}
}

func TestDisputeAndFraudWarningInAnyOrder(t *testing.T) {
	for _, order := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}} {
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			db := storetest.Open(t, nil)
			c := newCheckout(t, db, pledge.Once, 2500)
			events := []*pledge.LedgerEvent{
				ev("evt_paid", "checkout.session.completed", lt0, oneOff(c, "pi_d", "cus_d", "d@example.com")),
				ev("evt_efw", "radar.early_fraud_warning.created", lt0.Add(time.Hour), &pledge.FraudWarning{WarningID: "issfr_1", ChargeID: "ch_d", PaymentIntent: "pi_d"}),
				ev("evt_dp1", "charge.dispute.created", lt0.Add(2*time.Hour), &pledge.DisputeChanged{DisputeID: "dp_1", ChargeID: "ch_d", PaymentIntent: "pi_d", Status: "needs_response"}),
				ev("evt_dp2", "charge.dispute.closed", lt0.Add(9*time.Hour), &pledge.DisputeChanged{DisputeID: "dp_1", ChargeID: "ch_d", PaymentIntent: "pi_d", Status: "lost"}),
			}
			for _, i := range order {
				apply(t, db, events[i])
			}
			if got, want := query(t, db, `SELECT status, dispute_status, fraud_warning FROM donations`), "disputed|lost|1"; got != want {
				t.Fatalf("donation = %s, want %s", got, want)
			}
		})
	}
}

// subscriptionEvents are the five events of a monthly subscription's life: created (incomplete),
// the first invoice paid, the checkout completed, updated (active, to cancel at period end) and
// deleted. Ids carry n so that many lives share one database.
func subscriptionEvents(c *pledge.Checkout, n int) []*pledge.LedgerEvent {
	sub, inv, cus := fmt.Sprintf("sub_%d", n), fmt.Sprintf("in_%d", n), fmt.Sprintf("cus_%d", n)
	email := fmt.Sprintf("monthly_%d@example.com", n) // one person per life
	m := meta(c)
	periodEnd := lt0.AddDate(0, 1, 0)
	subAt := func(status string, cancel bool, canceledAt time.Time, reason string) *pledge.SubscriptionChanged {
		return &pledge.SubscriptionChanged{SubscriptionID: sub, Meta: m, Customer: pledge.Customer{StripeID: cus},
			Amount: c.Amount, Interval: "month", Status: status, CancelAtPeriodEnd: cancel, CurrentPeriodEnd: periodEnd,
			StartedAt: lt0, CanceledAt: canceledAt, CancellationReason: reason}
	}
	id := func(s string) string { return fmt.Sprintf("evt_%d_%s", n, s) }
	return []*pledge.LedgerEvent{
		ev(id("created"), "customer.subscription.created", lt0, subAt("incomplete", false, time.Time{}, "")),
		ev(id("invoice"), "invoice.paid", lt0.Add(time.Second), &pledge.InvoicePaid{InvoiceID: inv, Subscription: sub, Meta: m,
			Customer: pledge.Customer{StripeID: cus, Email: email}, Amount: c.Amount,
			PaymentIntent: "pi_" + inv, Charge: "ch_" + inv, PaidAt: lt0.Add(time.Second), PeriodStart: lt0, PeriodEnd: periodEnd, Interval: "month"}),
		ev(id("completed"), "checkout.session.completed", lt0.Add(2*time.Second), &pledge.CheckoutCompleted{
			SessionID: fmt.Sprintf("cs_%d", n), CheckoutID: c.ID, Meta: m, Paid: true,
			Customer: pledge.Customer{StripeID: cus, Email: email, Name: "Ann Reader"},
			Amount:   c.Amount, Subscription: sub, Invoice: inv}),
		ev(id("updated"), "customer.subscription.updated", lt0.Add(3*time.Second), subAt("active", true, lt0.Add(3*time.Second), "cancellation_requested")),
		ev(id("deleted"), "customer.subscription.deleted", lt0.Add(10*24*time.Hour), subAt("canceled", true, lt0.Add(3*time.Second), "cancellation_requested")),
	}
}

// permutations returns every order of 0..n-1 (Heap's algorithm).
func permutations(n int) [][]int {
	a := make([]int, n)
	for i := range a {
		a[i] = i
	}
	var out [][]int
	var gen func(k int)
	gen = func(k int) {
		if k == 1 {
			out = append(out, append([]int(nil), a...))
			return
		}
		for i := 0; i < k; i++ {
			gen(k - 1)
			if k%2 == 0 {
				a[i], a[k-1] = a[k-1], a[i]
			} else {
				a[0], a[k-1] = a[k-1], a[0]
			}
		}
	}
	gen(n)
	return out
}

// subscriptionSnapshot is everything the ledger says about life n, with its ids made neutral.
func subscriptionSnapshot(t *testing.T, db *sqlite.DB, c *pledge.Checkout, n int) string {
	sub := fmt.Sprintf("sub_%d", n)
	s := query(t, db, `
		SELECT s.status, s.cancel_at_period_end, s.current_period_end, s.canceled_at, s.cancellation_reason,
		       s.amount, s.currency, s.frequency, s.started_at, s.article, s.campaign, s.checkout_id = ?,
		       p.email, p.name, p.created_at, p.stripe_customer_id
		FROM subscriptions s LEFT JOIN supporters p ON p.id = s.supporter_id
		WHERE s.stripe_subscription_id = ?`, c.ID, sub)
	d := query(t, db, `
		SELECT d.amount, d.currency, d.frequency, d.status, d.paid_at, d.stripe_invoice_id, d.stripe_payment_intent_id,
		       d.stripe_charge_id, d.article, d.campaign, d.checkout_id = ?, p.email
		FROM donations d JOIN subscriptions s ON s.id = d.subscription_id LEFT JOIN supporters p ON p.id = d.supporter_id
		WHERE s.stripe_subscription_id = ? ORDER BY d.stripe_invoice_id`, c.ID, sub)
	ck := query(t, db, `SELECT status FROM checkouts WHERE id = ?`, c.ID)
	return strings.ReplaceAll(s+"\n"+d+"\n"+ck, fmt.Sprintf("_%d", n), "_N")
}

func TestEveryOrderOfASubscriptionsEventsEndsTheSame(t *testing.T) {
	db := storetest.Open(t, nil)
	perms := permutations(5)
	if len(perms) != 120 {
		t.Fatalf("%d permutations, want 120", len(perms))
	}
	var want string
	for n, perm := range perms {
		c := newCheckout(t, db, pledge.Monthly, 500)
		events := subscriptionEvents(c, n)
		for _, i := range perm {
			apply(t, db, events[i])
		}
		// A second delivery of everything, in reverse, changes nothing either.
		for i := len(perm) - 1; i >= 0; i-- {
			if got := apply(t, db, events[perm[i]]); got != pledge.OutcomeDuplicate {
				t.Fatalf("redelivery outcome %s", got)
			}
		}
		got := subscriptionSnapshot(t, db, c, n)
		if n == 0 {
			want = got
			continue
		}
		if got != want {
			t.Fatalf("order %v ends in\n%s\nwant (order %v)\n%s", perm, got, perms[0], want)
		}
	}
	// And the state all orders agree on is the right one.
	end := lt0.AddDate(0, 1, 0).Unix()
	// The supporter starts with their first gift: the invoice's paid time.
	wantSub := fmt.Sprintf("canceled|1|%d|%d|cancellation_requested|500|usd|monthly|%d|https://news.example/a|spring|1|monthly_N@example.com|Ann Reader|%d|cus_N",
		end, lt0.Add(3*time.Second).Unix(), lt0.Unix(), lt0.Add(time.Second).Unix())
	wantDon := fmt.Sprintf("500|usd|monthly|succeeded|%d|in_N|pi_in_N|ch_in_N|https://news.example/a|spring|1|monthly_N@example.com", lt0.Add(time.Second).Unix())
	if w := wantSub + "\n" + wantDon + "\npaid"; want != w {
		t.Fatalf("final state\n%s\nwant\n%s", want, w)
	}
	if got, want := query(t, db, `SELECT count(*) FROM supporters`), "120"; got != want {
		t.Fatalf("supporters = %s, want one per life (%s)", got, want)
	}
}

func TestRenewalsAndFailedPayments(t *testing.T) {
	db := storetest.Open(t, nil)
	c := newCheckout(t, db, pledge.Monthly, 500)
	events := subscriptionEvents(c, 1)
	for _, e := range events[:4] { // all but deleted
		apply(t, db, e)
	}
	renewal := func(n int, at time.Time) *pledge.LedgerEvent {
		inv := fmt.Sprintf("in_renew_%d", n)
		return ev("evt_"+inv, "invoice.paid", at, &pledge.InvoicePaid{InvoiceID: inv, Subscription: "sub_1",
			Customer: pledge.Customer{StripeID: "cus_1", Email: "monthly@example.com"}, Amount: c.Amount,
			PaymentIntent: "pi_" + inv, Charge: "ch_" + inv, PaidAt: at, Interval: "month"})
	}
	// The second renewal arrives first, and its invoice carries no metadata: the stored
	// subscription settles it (in billing); here the fact arrives as billing hands it over.
	apply(t, db, renewal(2, lt0.AddDate(0, 2, 0)))
	apply(t, db, renewal(1, lt0.AddDate(0, 1, 0)))
	apply(t, db, renewal(1, lt0.AddDate(0, 1, 0)))
	if got, want := query(t, db, `SELECT count(*), sum(amount), (SELECT string_agg(frequency, ',') FROM (SELECT DISTINCT frequency FROM donations) AS f) FROM donations`), "3|1500|monthly"; got != want {
		t.Fatalf("donations = %s, want %s", got, want)
	}
	failed := ev("evt_fail", "invoice.payment_failed", lt0.AddDate(0, 3, 0), &pledge.InvoiceFailed{InvoiceID: "in_fail", Subscription: "sub_1",
		Amount: c.Amount, AttemptCount: 1, NextAttempt: lt0.AddDate(0, 3, 3)})
	apply(t, db, failed)
	if got, want := query(t, db, `SELECT s.status, (SELECT count(*) FROM invoice_attempts WHERE stripe_subscription_id = 'sub_1') FROM subscriptions s`), "past_due|1"; got != want {
		t.Fatalf("after a failed payment: %s, want %s", got, want)
	}
	// An older "active" state arriving late does not undo past_due; a newer one does.
	apply(t, db, ev("evt_old_active", "customer.subscription.updated", lt0.AddDate(0, 2, 0), &pledge.SubscriptionChanged{
		SubscriptionID: "sub_1", Meta: meta(c), Amount: c.Amount, Interval: "month", Status: "active"}))
	if got := query(t, db, `SELECT status FROM subscriptions`); got != "past_due" {
		t.Fatalf("an older event moved the status to %s", got)
	}
	apply(t, db, ev("evt_recovered", "customer.subscription.updated", lt0.AddDate(0, 3, 1), &pledge.SubscriptionChanged{
		SubscriptionID: "sub_1", Meta: meta(c), Amount: c.Amount, Interval: "month", Status: "active", CurrentPeriodEnd: lt0.AddDate(0, 4, 0)}))
	if got := query(t, db, `SELECT status FROM subscriptions`); got != "active" {
		t.Fatalf("a newer event left the status at %s", got)
	}
}

func TestAnnualFirstInvoiceBeforeCompletionIsOneDonation(t *testing.T) {
	db := storetest.Open(t, nil)
	c := newCheckout(t, db, pledge.Annual, 10000)
	m := meta(c)
	apply(t, db, ev("evt_inv", "invoice.paid", lt0, &pledge.InvoicePaid{InvoiceID: "in_a", Subscription: "sub_a", Meta: m,
		Customer: pledge.Customer{StripeID: "cus_a", Email: "annual@example.com"}, Amount: c.Amount, PaidAt: lt0, Interval: "year"}))
	apply(t, db, ev("evt_cs", "checkout.session.completed", lt0.Add(time.Second), &pledge.CheckoutCompleted{SessionID: "cs_a",
		CheckoutID: c.ID, Meta: m, Paid: true, Customer: pledge.Customer{StripeID: "cus_a", Email: "annual@example.com"},
		Amount: c.Amount, Subscription: "sub_a", Invoice: "in_a"}))
	if got, want := query(t, db, `SELECT count(*), sum(amount), min(frequency), min(paid_at) FROM donations`), fmt.Sprintf("1|10000|annual|%d", lt0.Unix()); got != want {
		t.Fatalf("donations = %s, want %s", got, want)
	}
	if got, want := query(t, db, `SELECT frequency, status, amount FROM subscriptions`), "annual|active|10000"; got != want {
		t.Fatalf("subscription = %s, want %s", got, want)
	}
	if got, want := query(t, db, `SELECT status FROM checkouts WHERE id = ?`, c.ID), "paid"; got != want {
		t.Fatalf("checkout = %s, want %s", got, want)
	}
}

func TestEventForUnknownCheckoutStillCounts(t *testing.T) {
	db := storetest.Open(t, nil)
	ghost := &pledge.Checkout{ID: "co_elsewhere", Frequency: pledge.Once, Amount: pledge.Money{Amount: 700, Currency: "eur"}, Article: "x"}
	if got := apply(t, db, ev("evt_ghost", "checkout.session.completed", lt0, oneOff(ghost, "pi_ghost", "cus_ghost", "g@example.com"))); got != pledge.OutcomeApplied {
		t.Fatalf("outcome %s", got)
	}
	if got, want := query(t, db, `SELECT amount, currency, checkout_id IS NULL, article FROM donations`), "700|eur|1|x"; got != want {
		t.Fatalf("donation = %s, want %s", got, want)
	}
}

func TestRefundUpdatesInAnyOrder(t *testing.T) {
	for _, reversed := range []bool{false, true} {
		t.Run(fmt.Sprintf("reversed %v", reversed), func(t *testing.T) {
			db := storetest.Open(t, nil)
			c := newCheckout(t, db, pledge.Once, 1000)
			events := []*pledge.LedgerEvent{
				ev("evt_paid", "checkout.session.completed", lt0, oneOff(c, "pi_r", "cus_r", "r@example.com")),
				// Only the refund's own event arrives (charge.refunded was missed): it still counts.
				ev("evt_re1", "charge.refund.updated", lt0.Add(time.Hour), &pledge.RefundUpdated{RefundID: "re_1", ChargeID: "ch_r", PaymentIntent: "pi_r", Amount: 200, Status: "succeeded"}),
			}
			for _, e := range events {
				apply(t, db, e)
			}
			if got, want := query(t, db, `SELECT amount_refunded, status FROM donations`), "200|partially_refunded"; got != want {
				t.Fatalf("after a succeeded refund: %s, want %s", got, want)
			}
			// The refund fails; the charge read again from Stripe says nothing is refunded.
			fail := ev("evt_re1_failed", "charge.refund.updated", lt0.Add(2*time.Hour), &pledge.RefundUpdated{RefundID: "re_1", ChargeID: "ch_r", PaymentIntent: "pi_r", Amount: 200, Status: "failed",
				Charge: &pledge.ChargeRefunded{ChargeID: "ch_r", PaymentIntent: "pi_r", Amount: c.Amount, AmountRefunded: 0}})
			late := ev("evt_refunded_late", "charge.refunded", lt0.Add(90*time.Minute), &pledge.ChargeRefunded{ChargeID: "ch_r", PaymentIntent: "pi_r", Amount: c.Amount, AmountRefunded: 200})
			if reversed {
				apply(t, db, fail)
				apply(t, db, late)
			} else {
				apply(t, db, late)
				apply(t, db, fail)
			}
			if got, want := query(t, db, `SELECT amount_refunded, status FROM donations`), "0|succeeded"; got != want {
				t.Fatalf("after the refund failed: %s, want %s", got, want)
			}
		})
	}
}

func TestZeroAmountsMakeNoDonation(t *testing.T) {
	db := storetest.Open(t, nil)
	c := newCheckout(t, db, pledge.Once, 500)
	free := oneOff(c, "pi_free", "cus_free", "free@example.com")
	free.Amount.Amount = 0
	if got := apply(t, db, ev("evt_free", "checkout.session.completed", lt0, free)); got != pledge.OutcomeApplied {
		t.Fatalf("outcome %s", got)
	}
	m := newCheckout(t, db, pledge.Monthly, 500)
	apply(t, db, ev("evt_trial", "invoice.paid", lt0, &pledge.InvoicePaid{InvoiceID: "in_trial", Subscription: "sub_trial", Meta: meta(m),
		Customer: pledge.Customer{StripeID: "cus_t"}, Amount: pledge.Money{Currency: "usd"}, Interval: "month"}))
	if got, want := query(t, db, `SELECT (SELECT count(*) FROM donations), (SELECT count(*) FROM subscriptions)`), "0|1"; got != want {
		t.Fatalf("donations|subscriptions = %s, want %s", got, want)
	}
}

func TestConflictingIDsNeverFailForEver(t *testing.T) {
	db := storetest.Open(t, nil)
	a := newCheckout(t, db, pledge.Once, 500)
	b := newCheckout(t, db, pledge.Once, 700)
	if err := db.OpenCheckout(context.Background(), a.ID, "cs_shared", "https://checkout.example/a"); err != nil {
		t.Fatal(err)
	}
	// An event naming checkout b with a's session (inconsistent, but it must not fail for ever).
	f := oneOff(b, "pi_b", "cus_b", "b@example.com")
	f.SessionID = "cs_shared"
	if got := apply(t, db, ev("evt_b", "checkout.session.completed", lt0, f)); got != pledge.OutcomeApplied {
		t.Fatalf("outcome %s", got)
	}
	if got, want := query(t, db, `SELECT id = ?, status, COALESCE(stripe_session_id, '') FROM checkouts ORDER BY id = ? DESC`, a.ID, a.ID), "1|open|cs_shared\n0|paid|"; got != want {
		t.Fatalf("checkouts = %q, want %q", got, want)
	}
}

func TestGiftsWithoutStripeCustomerShareASupporterByEmail(t *testing.T) {
	db := storetest.Open(t, nil)
	c := newCheckout(t, db, pledge.Once, 500)
	apply(t, db, ev("evt_n1", "checkout.session.completed", lt0, oneOff(c, "pi_n1", "", "Guest@Example.com")))
	apply(t, db, ev("evt_n2", "checkout.session.completed", lt0.Add(time.Hour), oneOff(c, "pi_n2", "", "guest@example.com")))
	if got, want := query(t, db, `SELECT count(*), count(DISTINCT supporter_id), min(CASE WHEN supporter_id IS NOT NULL THEN 1 ELSE 0 END) FROM donations`), "2|1|1"; got != want {
		t.Fatalf("donations|supporters|linked = %s, want %s", got, want)
	}
}

// cancelledOnceStarted is a request context that is cancelled just after the group committer has
// checked it and started the write: the first Err() answers nil, then the context is done.
type cancelledOnceStarted struct {
	context.Context
	once sync.Once
	done chan struct{}
}

func (c *cancelledOnceStarted) Done() <-chan struct{} { return c.done }

func (c *cancelledOnceStarted) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		c.once.Do(func() { close(c.done) })
		return nil
	}
}

// A request cancelled while its event is being written inside the shared group commit does not
// fail that write (nor, through SQLite's interrupt, the other writes of the batch): the work
// inside the batch does not follow the caller's context.
func TestApplyEventIgnoresCancellationOnceStarted(t *testing.T) {
	db := storetest.Open(t, nil)
	c := newCheckout(t, db, pledge.Once, 500)
	ctx := &cancelledOnceStarted{Context: context.Background(), done: make(chan struct{})}
	out, err := db.ApplyEvent(ctx, ev("evt_cancel", "checkout.session.completed", lt0, oneOff(c, "pi_cancel", "cus_cancel", "c@example.com")))
	if err != nil || out != pledge.OutcomeApplied {
		t.Fatalf("ApplyEvent = %s, %v; want applied", out, err)
	}
	if got, want := query(t, db, `SELECT count(*) FROM donations`), "1"; got != want {
		t.Fatalf("donations = %s, want %s", got, want)
	}
}

// A supporter's net total leaves out refunds and donations whose dispute was lost.
func TestSupporterTotalsNetOfRefundsAndLostDisputes(t *testing.T) {
	db := storetest.Open(t, nil)
	kept, refunded, lost, won := newCheckout(t, db, pledge.Once, 1000), newCheckout(t, db, pledge.Once, 700),
		newCheckout(t, db, pledge.Once, 2500), newCheckout(t, db, pledge.Once, 300)
	apply(t, db, ev("evt_k", "checkout.session.completed", lt0, oneOff(kept, "pi_k", "cus_n", "n@example.com")))
	apply(t, db, ev("evt_r", "checkout.session.completed", lt0, oneOff(refunded, "pi_r", "cus_n", "n@example.com")))
	apply(t, db, ev("evt_l", "checkout.session.completed", lt0, oneOff(lost, "pi_l", "cus_n", "n@example.com")))
	apply(t, db, ev("evt_w", "checkout.session.completed", lt0, oneOff(won, "pi_w", "cus_n", "n@example.com")))
	apply(t, db, ev("evt_rf", "charge.refunded", lt0.Add(time.Hour), &pledge.ChargeRefunded{
		ChargeID: "ch_r", PaymentIntent: "pi_r", Amount: refunded.Amount, AmountRefunded: 200}))
	apply(t, db, ev("evt_dl", "charge.dispute.closed", lt0.Add(time.Hour), &pledge.DisputeChanged{DisputeID: "dp_l", ChargeID: "ch_l", PaymentIntent: "pi_l", Status: "lost"}))
	apply(t, db, ev("evt_dw", "charge.dispute.closed", lt0.Add(time.Hour), &pledge.DisputeChanged{DisputeID: "dp_w", ChargeID: "ch_w", PaymentIntent: "pi_w", Status: "won"}))
	got := lastSupporterTotals(t, db)
	// 10.00 + (7.00 - 2.00) + 0 (lost) + 3.00 (won)
	if len(got) != 1 || got[0] != (pledge.Money{Amount: 1800, Currency: "usd"}) {
		t.Fatalf("totals %v, want 18.00 usd", got)
	}
}

// TestRefundInAnotherCurrencyIsRefused: a refund or dispute in another currency than its
// donation is recorded as a mismatch, changes nothing, and shows on the supporter's page.
func TestRefundInAnotherCurrencyIsRefused(t *testing.T) {
	db := storetest.Open(t, nil)
	c := newCheckout(t, db, pledge.Once, 2500)
	apply(t, db, ev("evt_paid", "checkout.session.completed", lt0, oneOff(c, "pi_mm", "cus_mm", "mm@example.com")))
	// The refund arrives in euros for a dollar gift: refused.
	out := apply(t, db, ev("evt_ref", "charge.refunded", lt0.Add(time.Hour), &pledge.ChargeRefunded{ChargeID: "ch_mm",
		PaymentIntent: "pi_mm", Amount: pledge.Money{Amount: 2500, Currency: "eur"}, AmountRefunded: 1000, Meta: meta(c)}))
	if out != pledge.OutcomeMismatch {
		t.Fatalf("outcome %s, want mismatch", out)
	}
	if got := query(t, db, `SELECT amount_refunded, status FROM donations WHERE stripe_payment_intent_id = 'pi_mm'`); got != "0|succeeded" {
		t.Fatalf("donation after a refund in another currency = %s, want 0|succeeded", got)
	}
	var id int64
	if err := db.Reader().QueryRow(`SELECT supporter_id FROM donations WHERE stripe_payment_intent_id = 'pi_mm'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	d, err := db.FindSupporter(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Mismatches) != 1 || d.Mismatches[0].ChargeCurrency != "eur" || d.Mismatches[0].DonationCurrency != "usd" {
		t.Fatalf("mismatches = %+v, want the euro charge on a dollar gift", d.Mismatches)
	}
	// Arriving before the donation changes nothing either.
	c2 := newCheckout(t, db, pledge.Once, 900)
	apply(t, db, ev("evt_disp", "charge.dispute.created", lt0, &pledge.DisputeChanged{ChargeID: "ch_mm2", PaymentIntent: "pi_mm2",
		Status: "needs_response", Amount: pledge.Money{Amount: 900, Currency: "gbp"}}))
	apply(t, db, ev("evt_paid2", "checkout.session.completed", lt0.Add(time.Minute), oneOff(c2, "pi_mm2", "cus_mm", "mm@example.com")))
	if got := query(t, db, `SELECT amount_disputed, status FROM donations WHERE stripe_payment_intent_id = 'pi_mm2'`); got != "0|succeeded" {
		t.Fatalf("donation after an earlier dispute in another currency = %s, want 0|succeeded", got)
	}
}
