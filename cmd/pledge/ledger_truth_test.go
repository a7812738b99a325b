package main

import (
	"context"
	"encoding/csv"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/billing"
	"github.com/pledge-news/pledge/internal/pledge"
)

// The tests of issue 11, one per numbered case: Stripe-shaped events, signed, through the real
// webhook of a running `pledge serve`, read back with `pledge report` and both exports. Every
// event is dated in the autumn of 2026, well in the past, so the figures of a period are fixed
// numbers worked out by hand; the webhook's signature is dated now, as Stripe signs a delivery.

// oct and nov are an hour of a day of October or November 2026, UTC.
func oct(day, hour int) time.Time { return time.Date(2026, 10, day, hour, 0, 0, 0, time.UTC) }
func nov(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, time.UTC) }

// ymd is a time's UTC day, as `pledge report` takes it.
func ymd(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// stamp is a time as the exports write it.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// send posts one event and fails the test if the webhook does not answer 2xx.
func (s *service) send(t *testing.T, typ string, p billing.EventParams) {
	t.Helper()
	if err := s.post(t, typ, p); err != nil {
		t.Fatalf("%s at %s: %v", typ, stamp(p.Created), err)
	}
}

// usd is `pledge report` for the days from..to (inclusive), USD figures only (nil when the
// report has no USD, which reads as all zero). s.report also checks that the CSV agrees.
func (s *service) usd(t *testing.T, from, to time.Time) map[string]int64 {
	t.Helper()
	r := s.report(t, ymd(from), ymd(to))
	for c := range r.Currencies {
		if c != "usd" {
			t.Errorf("report of %s – %s has %s: %v", ymd(from), ymd(to), c, r.Currencies)
		}
	}
	return r.Currencies["usd"]
}

// figures checks the named figures of a report (figures not named are not checked).
func figures(t *testing.T, what string, got, want map[string]int64) {
	t.Helper()
	var bad []string
	for k, v := range want {
		if got[k] != v {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		t.Errorf("%s: wrong %v\n got %v\nwant %v", what, bad, got, want)
	}
}

// export runs `pledge export what` (CSV) and returns its rows as maps by column.
func (s *service) export(t *testing.T, what string) []map[string]string {
	t.Helper()
	out, errs, code := s.run(t, "export", what)
	if code != 0 {
		t.Fatalf("export %s exited %d: %s", what, code, errs)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("export %s (%v):\n%s", what, err, out)
	}
	var list []map[string]string
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, name := range rows[0] {
			m[name] = r[i]
		}
		list = append(list, m)
	}
	return list
}

// row returns the one export row whose column has the value; it fails unless there is exactly one.
func row(t *testing.T, rows []map[string]string, column, value string) map[string]string {
	t.Helper()
	var found []map[string]string
	for _, r := range rows {
		if r[column] == value {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d rows with %s %q, want 1: %v", len(found), column, value, rows)
	}
	return found[0]
}

// columns checks the named columns of an export row.
func columns(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s is %q, want %q (row %v)", what, k, got[k], v, got)
		}
	}
}

// outcome is what the ledger recorded of a Stripe event.
func (s *service) outcome(t *testing.T, eventID string) string {
	t.Helper()
	var o string
	if err := s.db.Reader().QueryRowContext(context.Background(), `SELECT outcome FROM stripe_events WHERE id = ?`, eventID).Scan(&o); err != nil {
		t.Fatalf("event %s: %v", eventID, err)
	}
	return o
}

// edits applies object edits in turn.
func edits(fns ...func(map[string]any)) func(map[string]any) {
	return func(o map[string]any) {
		for _, f := range fns {
			if f != nil {
				f(o)
			}
		}
	}
}

// running makes a subscription object one that started at start, is in the billing period
// [from, to) and is not set to cancel.
func running(start, from, to time.Time) func(map[string]any) {
	return func(o map[string]any) {
		o["created"], o["start_date"], o["billing_cycle_anchor"] = start.Unix(), start.Unix(), start.Unix()
		o["current_period_start"], o["current_period_end"] = from.Unix(), to.Unix()
		o["cancel_at_period_end"], o["cancel_at"], o["canceled_at"], o["ended_at"] = false, nil, nil, nil
		o["cancellation_details"] = map[string]any{"comment": nil, "feedback": nil, "reason": nil}
	}
}

// status sets a subscription's (or dispute's) status.
func status(st string) func(map[string]any) {
	return func(o map[string]any) { o["status"] = st }
}

// price sets the unit amount of a subscription's item: a change of plan in the billing portal.
func price(amount int64) func(map[string]any) {
	return func(o map[string]any) {
		item := o["items"].(map[string]any)["data"].([]any)[0].(map[string]any)
		item["price"].(map[string]any)["unit_amount"] = amount
		item["price"].(map[string]any)["unit_amount_decimal"] = strconv.FormatInt(amount, 10)
	}
}

// subscribe starts a monthly gift at start as Stripe reports it: the subscription (active, in its
// first period), the completed checkout and the first invoice, paid. p names the customer,
// subscription and first invoice.
func (s *service) subscribe(t *testing.T, p billing.EventParams, start time.Time) {
	t.Helper()
	p.Created = start
	p.Edit = running(start, start, start.AddDate(0, 1, 0))
	s.send(t, "customer.subscription.created", p)
	p.Edit = nil
	s.send(t, "checkout.session.completed", p)
	s.send(t, "invoice.paid", p)
}

// updated posts customer.subscription.updated as of at, with the subscription's own start and
// period and any further edits.
func (s *service) updated(t *testing.T, p billing.EventParams, at, start, from, to time.Time, more ...func(map[string]any)) {
	t.Helper()
	p.Created = at
	p.Edit = edits(append([]func(map[string]any){running(start, from, to)}, more...)...)
	s.send(t, "customer.subscription.updated", p)
}

// giveOnceAt pays a one-off gift at a time through checkout.session.completed, with named payment
// intent and charge so that refunds and disputes can follow.
func (s *service) giveOnceAt(t *testing.T, amount int64, email, id string, at time.Time) billing.EventParams {
	t.Helper()
	p := billing.EventParams{Checkout: s.checkout(t, pledge.Once, amount), Email: email, Created: at,
		CustomerID: "cus_" + id, PaymentIntentID: "pi_" + id, ChargeID: "ch_" + id}
	s.send(t, "checkout.session.completed", p)
	return p
}

// Case 1: an upgrade changes MRR on the day it took effect, and a past period keeps its figures.
func TestLedgerTruthUpgrade(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	start := oct(1, 10)
	p := billing.EventParams{Checkout: s.checkout(t, pledge.Monthly, 500), Email: "upgrade@example.com",
		CustomerID: "cus_up", SubscriptionID: "sub_up", InvoiceID: "in_up1"}
	s.subscribe(t, p, start)

	before := s.usd(t, oct(1, 0), oct(10, 0))
	figures(t, "1–10 October, before the upgrade", before, map[string]int64{"gross": 500, "net": 500, "donations": 1,
		"new_supporters": 1, "recurring_supporters": 1, "mrr": 500, "cancellations": 0, "cancellations_scheduled": 0})

	// 15 October: the supporter moves to 10.00 a month in the billing portal.
	s.updated(t, p, oct(15, 9), start, start, start.AddDate(0, 1, 0), price(1000))

	if after := s.usd(t, oct(1, 0), oct(10, 0)); !reflect.DeepEqual(after, before) {
		t.Errorf("the upgrade rewrote 1–10 October:\n got %v\nwant %v", after, before)
	}
	figures(t, "14 October", s.usd(t, oct(14, 0), oct(14, 0)), map[string]int64{"recurring_supporters": 1, "mrr": 500})
	figures(t, "15 October, the day of the upgrade", s.usd(t, oct(15, 0), oct(15, 0)), map[string]int64{"recurring_supporters": 1, "mrr": 1000})
	figures(t, "1–20 October", s.usd(t, oct(1, 0), oct(20, 0)), map[string]int64{"gross": 500, "donations": 1,
		"new_supporters": 1, "recurring_supporters": 1, "mrr": 1000, "cancellations": 0})

	// 25 October: down to 7.00. Each period keeps what was true at its end.
	s.updated(t, p, oct(25, 9), start, start, start.AddDate(0, 1, 0), price(700))
	figures(t, "1–20 October after the downgrade", s.usd(t, oct(1, 0), oct(20, 0)), map[string]int64{"mrr": 1000})
	figures(t, "25 October", s.usd(t, oct(25, 0), oct(25, 0)), map[string]int64{"recurring_supporters": 1, "mrr": 700})
	if after := s.usd(t, oct(1, 0), oct(10, 0)); !reflect.DeepEqual(after, before) {
		t.Errorf("the downgrade rewrote 1–10 October:\n got %v\nwant %v", after, before)
	}

	// The exports: one gift of 5.00 (the first invoice), one supporter with a live subscription.
	dons := s.export(t, "donations")
	if len(dons) != 1 {
		t.Fatalf("%d donations, want 1: %v", len(dons), dons)
	}
	columns(t, "donation", dons[0], map[string]string{"date": stamp(start), "email": "upgrade@example.com", "amount": "5.00",
		"currency": "usd", "frequency": "monthly", "status": "succeeded", "stripe_id": "in_up1"})
	sups := s.export(t, "supporters")
	if len(sups) != 1 {
		t.Fatalf("%d supporters, want 1: %v", len(sups), sups)
	}
	columns(t, "supporter", sups[0], map[string]string{"email": "upgrade@example.com", "donations": "1", "totals": "5.00 usd",
		"active_subscriptions": "1", "first_donation": stamp(start)})
}

// Case 2: a cancellation at period end keeps the gift in MRR and the recurring count, marked
// scheduled, until the subscription ends; it is a cancellation on the day it ends.
func TestLedgerTruthCancelAtPeriodEnd(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	start, end := oct(1, 10), nov(1, 10)
	p := billing.EventParams{Checkout: s.checkout(t, pledge.Monthly, 500), Email: "leaving@example.com",
		CustomerID: "cus_leave", SubscriptionID: "sub_leave", InvoiceID: "in_leave1"}
	s.subscribe(t, p, start)

	// 10 October: the supporter cancels in the portal; Stripe keeps it active until 1 November.
	requested := oct(10, 15)
	s.updated(t, p, requested, start, start, end, func(o map[string]any) {
		o["cancel_at_period_end"], o["cancel_at"], o["canceled_at"] = true, end.Unix(), requested.Unix()
		o["cancellation_details"] = map[string]any{"comment": nil, "feedback": nil, "reason": "cancellation_requested"}
	})
	october := s.usd(t, oct(1, 0), oct(31, 0))
	figures(t, "October, the month of the request", october, map[string]int64{"gross": 500, "donations": 1, "new_supporters": 1,
		"recurring_supporters": 1, "mrr": 500, "cancellations_scheduled": 1, "cancellations": 0})
	figures(t, "9 October, before the request", s.usd(t, oct(9, 0), oct(9, 0)), map[string]int64{"recurring_supporters": 1,
		"mrr": 500, "cancellations_scheduled": 0})
	if sups := s.export(t, "supporters"); len(sups) != 1 || sups[0]["active_subscriptions"] != "1" {
		t.Errorf("supporters export after the request: %v; want one supporter with 1 active subscription", sups)
	}

	// 1 November: the period ends and Stripe deletes the subscription.
	p.Created = end
	p.Edit = edits(running(start, start, end), status("canceled"), func(o map[string]any) {
		o["cancel_at_period_end"], o["cancel_at"], o["canceled_at"], o["ended_at"] = true, end.Unix(), requested.Unix(), end.Unix()
		o["cancellation_details"] = map[string]any{"comment": nil, "feedback": nil, "reason": "cancellation_requested"}
	})
	s.send(t, "customer.subscription.deleted", p)

	figures(t, "November, the month it ended", s.usd(t, nov(1, 0), nov(30, 0)), map[string]int64{"cancellations": 1,
		"recurring_supporters": 0, "mrr": 0, "cancellations_scheduled": 0, "donations": 0, "new_supporters": 0})
	if again := s.usd(t, oct(1, 0), oct(31, 0)); !reflect.DeepEqual(again, october) {
		t.Errorf("the end rewrote October:\n got %v\nwant %v", again, october)
	}
	figures(t, "31 October", s.usd(t, oct(31, 0), oct(31, 0)), map[string]int64{"recurring_supporters": 1, "mrr": 500,
		"cancellations_scheduled": 1})

	dons := s.export(t, "donations")
	if len(dons) != 1 {
		t.Fatalf("%d donations, want 1: %v", len(dons), dons)
	}
	columns(t, "donation", dons[0], map[string]string{"amount": "5.00", "frequency": "monthly", "status": "succeeded", "stripe_id": "in_leave1"})
	sups := s.export(t, "supporters")
	if len(sups) != 1 {
		t.Fatalf("%d supporters, want 1: %v", len(sups), sups)
	}
	columns(t, "supporter", sups[0], map[string]string{"email": "leaving@example.com", "donations": "1", "totals": "5.00 usd",
		"active_subscriptions": "0"})
}

// disputeAmount sets the disputed amount (and the funds withdrawn with it).
func disputeAmount(amount int64) func(map[string]any) {
	return func(o map[string]any) {
		o["amount"] = amount
		for _, x := range o["balance_transactions"].([]any) {
			txn := x.(map[string]any)
			sign := int64(1)
			if txn["amount"].(int64) < 0 {
				sign = -1
			}
			txn["amount"], txn["net"] = sign*amount, sign*amount
		}
	}
}

// Case 3: a lost dispute of part of a gift takes the dispute's amount off net, not the gift.
func TestLedgerTruthPartialDisputeLost(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	p := s.giveOnceAt(t, 5000, "partial@example.com", "partial", oct(5, 12))

	for _, ev := range []struct {
		typ string
		at  time.Time
		st  string
	}{
		{"charge.dispute.created", oct(7, 8), "needs_response"},
		{"charge.dispute.funds_withdrawn", oct(7, 8), "needs_response"},
		{"charge.dispute.updated", oct(12, 8), "under_review"},
		{"charge.dispute.closed", oct(30, 8), "lost"},
	} {
		p.Created = ev.at
		p.Edit = edits(disputeAmount(2000), status(ev.st))
		s.send(t, ev.typ, p)
	}

	figures(t, "October", s.usd(t, oct(1, 0), oct(31, 0)), map[string]int64{"gross": 5000, "refunded": 0, "disputed": 2000,
		"net": 3000, "donations": 1, "new_supporters": 1})
	figures(t, "5 October, the gift's day", s.usd(t, oct(5, 0), oct(5, 0)), map[string]int64{"gross": 5000, "disputed": 2000, "net": 3000})
	dons := s.export(t, "donations")
	if len(dons) != 1 {
		t.Fatalf("%d donations, want 1: %v", len(dons), dons)
	}
	columns(t, "donation", dons[0], map[string]string{"amount": "50.00", "status": "disputed", "stripe_id": "pi_partial"})
	columns(t, "supporter", row(t, s.export(t, "supporters"), "email", "partial@example.com"),
		map[string]string{"donations": "1", "totals": "30.00 usd"})
}

// Case 4: a formal dispute withdraws the funds when it opens and a won one gives them back; an
// inquiry moves no money.
func TestLedgerTruthDisputeWonAndInquiry(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	formal := s.giveOnceAt(t, 2500, "formal@example.com", "formal", oct(5, 12))
	inquiry := s.giveOnceAt(t, 1000, "inquiry@example.com", "inquiry", oct(6, 12))
	period := func() map[string]int64 { return s.usd(t, oct(1, 0), oct(31, 0)) }
	state := func(what, formalStatus, formalTotal string) {
		t.Helper()
		dons := s.export(t, "donations")
		columns(t, what+": formal dispute's gift", row(t, dons, "stripe_id", "pi_formal"), map[string]string{"amount": "25.00", "status": formalStatus})
		columns(t, what+": inquiry's gift", row(t, dons, "stripe_id", "pi_inquiry"), map[string]string{"amount": "10.00", "status": "succeeded"})
		sups := s.export(t, "supporters")
		columns(t, what+": formal's supporter", row(t, sups, "email", "formal@example.com"), map[string]string{"totals": formalTotal})
		columns(t, what+": inquiry's supporter", row(t, sups, "email", "inquiry@example.com"), map[string]string{"totals": "10.00 usd"})
	}
	figures(t, "before any dispute", period(), map[string]int64{"gross": 3500, "disputed": 0, "net": 3500, "donations": 2})

	// The inquiry opens: no funds move.
	inquiry.Created, inquiry.Edit = oct(8, 9), edits(status("warning_needs_response"), func(o map[string]any) { o["balance_transactions"] = []any{} })
	s.send(t, "charge.dispute.created", inquiry)
	figures(t, "inquiry open", period(), map[string]int64{"gross": 3500, "disputed": 0, "net": 3500})

	// The formal dispute opens and Stripe withdraws the funds.
	formal.Created = oct(9, 9)
	s.send(t, "charge.dispute.created", formal)
	s.send(t, "charge.dispute.funds_withdrawn", formal)
	figures(t, "formal dispute open", period(), map[string]int64{"gross": 3500, "disputed": 2500, "net": 1000, "donations": 2})
	state("formal dispute open", "disputed", "0.00 usd")

	// Evidence goes in; the inquiry closes without becoming a dispute.
	formal.Created, formal.Edit = oct(12, 9), nil
	s.send(t, "charge.dispute.updated", formal)
	inquiry.Created, inquiry.Edit = oct(14, 9), edits(status("warning_closed"), func(o map[string]any) { o["balance_transactions"] = []any{} })
	s.send(t, "charge.dispute.closed", inquiry)
	figures(t, "under review, inquiry closed", period(), map[string]int64{"gross": 3500, "disputed": 2500, "net": 1000})

	// Won: the funds are reinstated.
	formal.Created, formal.Edit = oct(28, 9), status("won")
	s.send(t, "charge.dispute.closed", formal)
	s.send(t, "charge.dispute.funds_reinstated", formal)
	figures(t, "formal dispute won", period(), map[string]int64{"gross": 3500, "refunded": 0, "disputed": 0, "net": 3500,
		"donations": 2, "new_supporters": 2})
	state("formal dispute won", "succeeded", "25.00 usd")
}

// Case 5: a lapse into unpaid delivered late lands on its own day, not the day it arrived.
func TestLedgerTruthLateLapse(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	start := time.Date(2026, 9, 5, 10, 0, 0, 0, time.UTC)
	renewal := oct(5, 10)
	p := billing.EventParams{Checkout: s.checkout(t, pledge.Monthly, 500), Email: "lapse@example.com",
		CustomerID: "cus_lapse", SubscriptionID: "sub_lapse", InvoiceID: "in_lapse1"}
	s.subscribe(t, p, start)

	// 5 October: the renewal fails and the subscription goes past due (it still counts).
	r := p
	r.InvoiceID, r.Created = "in_lapse2", renewal
	r.Edit = func(o map[string]any) { o["billing_reason"] = "subscription_cycle" }
	s.send(t, "invoice.payment_failed", r)
	s.updated(t, p, renewal, start, renewal, renewal.AddDate(0, 1, 0), status("past_due"))

	// Other events come in first, dated after the lapse: another reader's gift on 25 October.
	s.giveOnceAt(t, 700, "other@example.com", "other", oct(25, 12))

	// Then, late (delivered today), the move into unpaid that happened on 20 October.
	s.updated(t, p, oct(20, 10), start, renewal, renewal.AddDate(0, 1, 0), status("unpaid"))

	figures(t, "19 October, the day before the lapse", s.usd(t, oct(19, 0), oct(19, 0)), map[string]int64{"recurring_supporters": 1, "mrr": 500})
	figures(t, "20 October, the lapse's day", s.usd(t, oct(20, 0), oct(20, 0)), map[string]int64{"recurring_supporters": 0, "mrr": 0})
	figures(t, "October", s.usd(t, oct(1, 0), oct(31, 0)), map[string]int64{"gross": 700, "donations": 1, "new_supporters": 1,
		"recurring_supporters": 0, "mrr": 0, "failed_payments": 1, "recovered_payments": 0})
	figures(t, "September", s.usd(t, time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC)),
		map[string]int64{"gross": 500, "donations": 1, "new_supporters": 1, "recurring_supporters": 1, "mrr": 500})
	today := time.Now().UTC()
	figures(t, "today, the day the lapse arrived", s.usd(t, today, today), map[string]int64{"recurring_supporters": 0, "mrr": 0,
		"cancellations": 0, "donations": 0})

	sups := s.export(t, "supporters")
	columns(t, "lapsed supporter", row(t, sups, "email", "lapse@example.com"), map[string]string{"donations": "1", "totals": "5.00 usd",
		"active_subscriptions": "0"})
	dons := s.export(t, "donations")
	columns(t, "lapsed supporter's gift", row(t, dons, "stripe_id", "in_lapse1"), map[string]string{"date": stamp(start), "status": "succeeded"})
	if len(dons) != 2 {
		t.Errorf("%d donations, want 2 (the failed renewal is none): %v", len(dons), dons)
	}
}

// Case 6: the new-supporter count follows the invoice's paid time wherever the checkout put it
// first, and the supporter's name is the newest by event time, in any order of arrival.
func TestLedgerTruthPaidTimeAndName(t *testing.T) {
	t.Parallel()
	created, paid, delivered := oct(3, 9), oct(4, 8), oct(5, 6)
	for _, order := range [][]string{
		{"checkout.session.completed", "customer.subscription.created", "invoice.paid", "customer.updated"},
		{"customer.updated", "invoice.paid", "customer.subscription.created", "checkout.session.completed"},
	} {
		t.Run(strings.Join(order, ","), func(t *testing.T) {
			t.Parallel()
			s := startService(t, nil)
			p := billing.EventParams{Checkout: s.checkout(t, pledge.Monthly, 500), Email: "named@example.com",
				CustomerID: "cus_named", SubscriptionID: "sub_named", InvoiceID: "in_named1"}
			for _, typ := range order {
				e := p
				switch typ {
				case "checkout.session.completed":
					e.Created = created
					e.Edit = func(o map[string]any) { o["customer_details"].(map[string]any)["name"] = "First Name" }
				case "customer.subscription.created":
					e.Created, e.Edit = created, running(created, created, created.AddDate(0, 1, 0))
				case "invoice.paid": // created with the subscription, paid a day later, reported the day after
					e.Created = delivered
					e.Edit = func(o map[string]any) {
						o["created"], o["customer_name"] = created.Unix(), "Middle Name"
						o["status_transitions"].(map[string]any)["finalized_at"] = created.Unix()
						o["status_transitions"].(map[string]any)["paid_at"] = paid.Unix()
					}
				case "customer.updated":
					e.Created = oct(6, 12)
					e.Edit = func(o map[string]any) { o["created"], o["name"] = created.Unix(), "Newest Name" }
				}
				s.send(t, typ, e)
			}

			figures(t, "3 October, the checkout's day", s.usd(t, oct(3, 0), oct(3, 0)), map[string]int64{"new_supporters": 0,
				"donations": 0, "gross": 0, "recurring_supporters": 1, "mrr": 500})
			figures(t, "4 October, the invoice's paid day", s.usd(t, oct(4, 0), oct(4, 0)), map[string]int64{"new_supporters": 1,
				"donations": 1, "gross": 500, "net": 500})
			figures(t, "5 October, the invoice event's day", s.usd(t, oct(5, 0), oct(5, 0)), map[string]int64{"new_supporters": 0,
				"donations": 0})
			figures(t, "October", s.usd(t, oct(1, 0), oct(31, 0)), map[string]int64{"new_supporters": 1, "donations": 1,
				"gross": 500, "recurring_supporters": 1, "mrr": 500})

			dons := s.export(t, "donations")
			if len(dons) != 1 {
				t.Fatalf("%d donations, want 1: %v", len(dons), dons)
			}
			columns(t, "donation", dons[0], map[string]string{"date": stamp(paid), "amount": "5.00", "stripe_id": "in_named1"})
			sups := s.export(t, "supporters")
			if len(sups) != 1 {
				t.Fatalf("%d supporters, want 1: %v", len(sups), sups)
			}
			columns(t, "supporter", sups[0], map[string]string{"name": "Newest Name", "email": "named@example.com",
				"created": stamp(paid), "first_donation": stamp(paid), "donations": "1", "active_subscriptions": "1"})
		})
	}
}

// Case 7: one reader giving twice through two Stripe customers, with the same address in
// different case, is one supporter and one new supporter, whichever gift arrives first.
func TestLedgerTruthOnePersonTwoCustomers(t *testing.T) {
	t.Parallel()
	for _, laterFirst := range []bool{false, true} {
		name := "in order"
		if laterFirst {
			name = "later gift first"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startService(t, nil)
			first := func() { s.giveOnceAt(t, 500, "Reader@Example.com", "first", oct(5, 12)) }
			second := func() { s.giveOnceAt(t, 1000, "reader@example.com", "second", nov(5, 12)) }
			if laterFirst {
				second()
				figures(t, "November, before the earlier gift arrives", s.usd(t, nov(1, 0), nov(30, 0)),
					map[string]int64{"new_supporters": 1, "donations": 1, "gross": 1000})
				first()
			} else {
				first()
				second()
			}

			figures(t, "October", s.usd(t, oct(1, 0), oct(31, 0)), map[string]int64{"new_supporters": 1, "donations": 1, "gross": 500})
			figures(t, "November", s.usd(t, nov(1, 0), nov(30, 0)), map[string]int64{"new_supporters": 0, "donations": 1, "gross": 1000})
			figures(t, "October and November", s.usd(t, oct(1, 0), nov(30, 0)), map[string]int64{"new_supporters": 1, "donations": 2,
				"gross": 1500, "net": 1500})

			sups := s.export(t, "supporters")
			if len(sups) != 1 {
				t.Fatalf("%d supporters, want 1 person: %v", len(sups), sups)
			}
			columns(t, "supporter", sups[0], map[string]string{"email": "reader@example.com", "donations": "2", "totals": "15.00 usd",
				"created": stamp(oct(5, 12)), "first_donation": stamp(oct(5, 12)), "last_donation": stamp(nov(5, 12))})
			dons := s.export(t, "donations")
			if len(dons) != 2 {
				t.Fatalf("%d donations, want 2: %v", len(dons), dons)
			}
			for _, d := range dons {
				if d["email"] != sups[0]["email"] {
					t.Errorf("donation %s is from %q, the supporter is %q", d["stripe_id"], d["email"], sups[0]["email"])
				}
			}
		})
	}
}

// Case 8: MRR is after the discount; gross is before tax, and the tax is recorded apart.
func TestLedgerTruthDiscountAndTax(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	// A 10.00 monthly gift with a 50% coupon, and 1.00 tax on the 5.00 paid.
	start := oct(2, 10)
	coupon := map[string]any{"id": "half", "object": "coupon", "percent_off": 50, "amount_off": nil, "currency": nil,
		"duration": "forever", "valid": true, "livemode": false, "metadata": map[string]any{}}
	p := billing.EventParams{Checkout: s.checkout(t, pledge.Monthly, 1000), Email: "coupon@example.com", Created: start,
		CustomerID: "cus_coupon", SubscriptionID: "sub_coupon", InvoiceID: "in_coupon1"}
	p.Edit = edits(running(start, start, start.AddDate(0, 1, 0)), func(o map[string]any) {
		o["discount"] = map[string]any{"id": "di_half", "object": "discount", "coupon": coupon, "customer": "cus_coupon",
			"start": start.Unix(), "end": nil, "subscription": "sub_coupon"}
	})
	s.send(t, "customer.subscription.created", p)
	p.Edit = func(o map[string]any) {
		o["amount_subtotal"], o["amount_total"] = 1000, 600
		o["total_details"] = map[string]any{"amount_discount": 500, "amount_shipping": 0, "amount_tax": 100}
	}
	s.send(t, "checkout.session.completed", p)
	p.Edit = func(o map[string]any) {
		o["subtotal"], o["total_excluding_tax"], o["tax"], o["total"] = 1000, 500, 100, 600
		o["amount_due"], o["amount_paid"] = 600, 600
		o["total_discount_amounts"] = []any{map[string]any{"amount": 500, "discount": "di_half"}}
	}
	s.send(t, "invoice.paid", p)

	// A 10.00 one-off with 2.00 tax on top: the session's total is 12.00.
	once := billing.EventParams{Checkout: s.checkout(t, pledge.Once, 1000), Email: "taxed@example.com", Created: oct(8, 12),
		CustomerID: "cus_taxed", PaymentIntentID: "pi_taxed"}
	once.Edit = func(o map[string]any) {
		o["amount_subtotal"], o["amount_total"] = 1000, 1200
		o["total_details"] = map[string]any{"amount_discount": 0, "amount_shipping": 0, "amount_tax": 200}
	}
	s.send(t, "checkout.session.completed", once)

	figures(t, "2 October, the subscription", s.usd(t, oct(2, 0), oct(2, 0)), map[string]int64{"gross": 500, "net": 500, "tax": 100,
		"donations": 1, "recurring_supporters": 1, "mrr": 500})
	figures(t, "8 October, the one-off", s.usd(t, oct(8, 0), oct(8, 0)), map[string]int64{"gross": 1000, "net": 1000, "tax": 200,
		"donations": 1, "mrr": 500})
	figures(t, "October", s.usd(t, oct(1, 0), oct(31, 0)), map[string]int64{"gross": 1500, "net": 1500, "tax": 300, "donations": 2,
		"new_supporters": 2, "recurring_supporters": 1, "mrr": 500})

	dons := s.export(t, "donations")
	columns(t, "subscription's gift", row(t, dons, "stripe_id", "in_coupon1"), map[string]string{"amount": "5.00", "frequency": "monthly"})
	columns(t, "one-off", row(t, dons, "stripe_id", "pi_taxed"), map[string]string{"amount": "10.00", "frequency": "once"})
	sups := s.export(t, "supporters")
	columns(t, "coupon supporter", row(t, sups, "email", "coupon@example.com"), map[string]string{"totals": "5.00 usd", "active_subscriptions": "1"})
	columns(t, "taxed supporter", row(t, sups, "email", "taxed@example.com"), map[string]string{"totals": "10.00 usd"})
}

// Case 9: a refund or dispute in another currency than its donation is refused, recorded as a
// mismatch and shown on the supporter's page; a refund in the same currency applies.
func TestLedgerTruthCurrencyMismatch(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	ctx := context.Background()
	refunded := s.giveOnceAt(t, 2000, "refund@example.com", "refund", oct(5, 12))
	disputed := s.giveOnceAt(t, 1500, "dispute@example.com", "dispute", oct(6, 12))
	partial := s.giveOnceAt(t, 1000, "partial@example.com", "partial", oct(6, 13))

	eur := func(o map[string]any) { o["currency"] = "eur" }
	refunded.Created, refunded.EventID, refunded.Edit = oct(7, 9), "evt_refund_eur", eur
	s.send(t, "charge.refunded", refunded)
	disputed.Created, disputed.EventID, disputed.Edit = oct(8, 9), "evt_dispute_eur", eur
	s.send(t, "charge.dispute.created", disputed)
	partial.Created, partial.EventID = oct(9, 9), "evt_refund_usd"
	partial.Edit = func(o map[string]any) { o["amount_refunded"], o["refunded"] = 400, false }
	s.send(t, "charge.refunded", partial)

	for id, want := range map[string]string{"evt_refund_eur": "mismatch", "evt_dispute_eur": "mismatch", "evt_refund_usd": "applied"} {
		if got := s.outcome(t, id); got != want {
			t.Errorf("event %s recorded %q, want %q", id, got, want)
		}
	}
	figures(t, "October", s.usd(t, oct(1, 0), oct(31, 0)), map[string]int64{"gross": 4500, "refunded": 400, "disputed": 0,
		"net": 4100, "donations": 3})

	dons := s.export(t, "donations")
	columns(t, "gift refunded in eur", row(t, dons, "stripe_id", "pi_refund"), map[string]string{"amount": "20.00", "status": "succeeded"})
	columns(t, "gift disputed in eur", row(t, dons, "stripe_id", "pi_dispute"), map[string]string{"amount": "15.00", "status": "succeeded"})
	columns(t, "gift refunded in part", row(t, dons, "stripe_id", "pi_partial"), map[string]string{"status": "partially_refunded"})
	sups := s.export(t, "supporters")
	columns(t, "refund's supporter", row(t, sups, "email", "refund@example.com"), map[string]string{"totals": "20.00 usd"})
	columns(t, "dispute's supporter", row(t, sups, "email", "dispute@example.com"), map[string]string{"totals": "15.00 usd"})
	columns(t, "partial refund's supporter", row(t, sups, "email", "partial@example.com"), map[string]string{"totals": "6.00 usd"})

	// The supporter's page (FindSupporter is what /staff/supporters/:id shows) lists the refused
	// events as mismatches, as it lists the applied refund.
	for email, event := range map[string]string{"refund@example.com": "evt_refund_eur", "dispute@example.com": "evt_dispute_eur",
		"partial@example.com": "evt_refund_usd"} {
		var id int64
		if err := s.db.Reader().QueryRowContext(ctx, `SELECT id FROM supporters WHERE email = ?`, email).Scan(&id); err != nil {
			t.Fatal(err)
		}
		d, err := s.db.FindSupporter(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		shown := false
		for _, e := range d.Events {
			shown = shown || e.ID == event && e.Outcome == s.outcome(t, event)
		}
		if !shown {
			t.Errorf("%s's page does not show %s (%s); it shows %+v", email, event, s.outcome(t, event), d.Events)
		}
	}
}

// Case 10: objects marked with another deployment's pledge_site are ignored; unmarked ones are
// this deployment's; one of this deployment's whose checkout row is missing is recorded from its
// metadata.
func TestLedgerTruthSite(t *testing.T) {
	t.Parallel()
	const site, other = "news-a.example", "news-b.example"
	s := startService(t, map[string]string{"PLEDGE_SITE_ID": site})

	// Another deployment's one-off and monthly gift, on the same Stripe account.
	foreignOnce := billing.EventParams{Checkout: &pledge.Checkout{ID: "co_b_once", Frequency: pledge.Once,
		Amount: pledge.Money{Amount: 700, Currency: "usd"}}, Email: "theirs@example.com", Created: oct(4, 12), Site: other,
		EventID: "evt_foreign_once", CustomerID: "cus_theirs", PaymentIntentID: "pi_theirs"}
	s.send(t, "checkout.session.completed", foreignOnce)
	foreignSub := billing.EventParams{Checkout: &pledge.Checkout{ID: "co_b_monthly", Frequency: pledge.Monthly,
		Amount: pledge.Money{Amount: 900, Currency: "usd"}}, Email: "theirs2@example.com", Site: other,
		CustomerID: "cus_theirs2", SubscriptionID: "sub_theirs", InvoiceID: "in_theirs"}
	s.subscribe(t, foreignSub, oct(4, 13))
	if r := s.report(t, ymd(oct(1, 0)), ymd(oct(31, 0))); len(r.Currencies) != 0 {
		t.Errorf("another site's objects are counted: %v", r.Currencies)
	}
	if got := s.outcome(t, "evt_foreign_once"); got != "ignored" {
		t.Errorf("another site's checkout recorded %q, want ignored", got)
	}
	if d, sp := s.export(t, "donations"), s.export(t, "supporters"); len(d) != 0 || len(sp) != 0 {
		t.Errorf("another site's objects exported: %v %v", d, sp)
	}

	// An unmarked one-off (made before sites marked theirs) and a subscription of this site whose
	// checkout row is gone (a restored database).
	unmarked := billing.EventParams{Checkout: s.checkout(t, pledge.Once, 500), Email: "old@example.com", Created: oct(6, 12),
		CustomerID: "cus_old", PaymentIntentID: "pi_old"}
	s.send(t, "checkout.session.completed", unmarked)
	restored := billing.EventParams{Checkout: &pledge.Checkout{ID: "co_not_stored", Frequency: pledge.Monthly,
		Amount: pledge.Money{Amount: 1500, Currency: "usd"}, Article: "https://news.example/restored", Campaign: "winter"},
		Email: "restored@example.com", Site: site, CustomerID: "cus_restored", SubscriptionID: "sub_restored", InvoiceID: "in_restored"}
	s.subscribe(t, restored, oct(7, 12))
	restoredOnce := billing.EventParams{Checkout: &pledge.Checkout{ID: "co_not_stored_once", Frequency: pledge.Once,
		Amount: pledge.Money{Amount: 300, Currency: "usd"}, Article: "https://news.example/restored", Campaign: "spring"},
		Email: "restored-once@example.com", Created: oct(8, 12), Site: site, CustomerID: "cus_restored_once", PaymentIntentID: "pi_restored"}
	s.send(t, "checkout.session.completed", restoredOnce)

	october := s.usd(t, oct(1, 0), oct(31, 0))
	figures(t, "October", october, map[string]int64{"gross": 2300, "net": 2300, "donations": 3, "new_supporters": 3,
		"recurring_supporters": 1, "mrr": 1500})

	// One more of the other site's, later: nothing changes.
	foreignOnce.EventID, foreignOnce.PaymentIntentID, foreignOnce.Created = "", "pi_theirs_again", oct(20, 12)
	s.send(t, "checkout.session.completed", foreignOnce)
	if again := s.usd(t, oct(1, 0), oct(31, 0)); !reflect.DeepEqual(again, october) {
		t.Errorf("another site's gift changed October:\n got %v\nwant %v", again, october)
	}

	dons := s.export(t, "donations")
	if len(dons) != 3 {
		t.Fatalf("%d donations, want 3: %v", len(dons), dons)
	}
	columns(t, "restored one-off", row(t, dons, "stripe_id", "pi_restored"), map[string]string{"amount": "3.00", "frequency": "once",
		"article": "https://news.example/restored", "campaign": "spring"})
	columns(t, "unmarked gift", row(t, dons, "stripe_id", "pi_old"), map[string]string{"amount": "5.00", "frequency": "once",
		"email": "old@example.com"})
	columns(t, "restored gift", row(t, dons, "stripe_id", "in_restored"), map[string]string{"amount": "15.00", "frequency": "monthly",
		"email": "restored@example.com", "article": "https://news.example/restored", "campaign": "winter"})
	sups := s.export(t, "supporters")
	if len(sups) != 3 {
		t.Fatalf("%d supporters, want 3: %v", len(sups), sups)
	}
	columns(t, "restored supporter", row(t, sups, "email", "restored@example.com"), map[string]string{"totals": "15.00 usd",
		"active_subscriptions": "1"})
	columns(t, "unmarked supporter", row(t, sups, "email", "old@example.com"), map[string]string{"totals": "5.00 usd"})
}

// Case 11: a first SEPA payment that fails, invoice.paid clearing past_due and unpaid,
// pause_collection, and the portal's change of address.
func TestLedgerTruthOtherCases(t *testing.T) {
	t.Parallel()

	t.Run("first SEPA payment fails", func(t *testing.T) {
		t.Parallel()
		s := startService(t, nil)
		start := oct(3, 10)
		p := billing.EventParams{Checkout: s.checkout(t, pledge.Monthly, 1000), Email: "sepa@example.com", Created: start,
			CustomerID: "cus_sepa", SubscriptionID: "sub_sepa", InvoiceID: "in_sepa1"}
		s.send(t, "customer.created", p) // Checkout makes the customer, with the address
		p.Edit = edits(running(start, start, start.AddDate(0, 1, 0)), status("incomplete"))
		s.send(t, "customer.subscription.created", p)
		p.Edit = func(o map[string]any) { o["payment_status"] = "unpaid" } // the debit is processing
		s.send(t, "checkout.session.completed", p)
		figures(t, "3 October, debit processing", s.usd(t, oct(3, 0), oct(3, 0)), map[string]int64{"recurring_supporters": 0, "mrr": 0,
			"donations": 0, "new_supporters": 0})

		// 6 October: the debit fails; the subscription expires unpaid.
		failed := oct(6, 10)
		p.Created, p.Edit = failed, nil
		s.send(t, "invoice.payment_failed", p)
		s.send(t, "checkout.session.async_payment_failed", p)
		p.Created = failed.Add(5 * time.Minute)
		p.Edit = edits(running(start, start, start.AddDate(0, 1, 0)), status("incomplete_expired"),
			func(o map[string]any) { o["ended_at"] = failed.Add(5 * time.Minute).Unix() })
		s.send(t, "customer.subscription.updated", p)

		figures(t, "October", s.usd(t, oct(1, 0), oct(31, 0)), map[string]int64{"gross": 0, "donations": 0, "new_supporters": 0,
			"recurring_supporters": 0, "mrr": 0, "cancellations": 0, "failed_payments": 1, "recovered_payments": 0})
		if sups := s.export(t, "supporters"); len(sups) != 0 {
			t.Errorf("a supporter who never paid is exported: %v", sups)
		}
		if dons := s.export(t, "donations"); len(dons) != 0 {
			t.Errorf("a payment that failed is exported: %v", dons)
		}
	})

	t.Run("invoice.paid clears past_due and unpaid", func(t *testing.T) {
		t.Parallel()
		s := startService(t, nil)
		start := time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC)
		p := billing.EventParams{Checkout: s.checkout(t, pledge.Monthly, 500), Email: "retry@example.com",
			CustomerID: "cus_retry", SubscriptionID: "sub_retry", InvoiceID: "in_retry1"}
		s.subscribe(t, p, start)
		subStatus := func() string {
			var st string
			if err := s.db.Reader().QueryRowContext(context.Background(),
				`SELECT status FROM subscriptions WHERE stripe_subscription_id = 'sub_retry'`).Scan(&st); err != nil {
				t.Fatal(err)
			}
			return st
		}
		cycle := func(o map[string]any) { o["billing_reason"] = "subscription_cycle" }

		// 1 October: the renewal fails, the subscription is past due; 4 October the retry pays,
		// and no customer.subscription.updated follows.
		r := p
		r.InvoiceID, r.Created, r.Edit = "in_retry2", oct(1, 10), cycle
		s.send(t, "invoice.payment_failed", r)
		s.updated(t, p, oct(1, 10), start, oct(1, 10), nov(1, 10), status("past_due"))
		if st := subStatus(); st != "past_due" {
			t.Fatalf("status %q after the failure, want past_due", st)
		}
		r.Created = oct(4, 10)
		s.send(t, "invoice.paid", r)
		if st := subStatus(); st != "active" {
			t.Errorf("status %q after the retry paid, want active", st)
		}
		figures(t, "October", s.usd(t, oct(1, 0), oct(31, 0)), map[string]int64{"gross": 500, "donations": 1, "new_supporters": 0,
			"recurring_supporters": 1, "mrr": 500, "failed_payments": 1, "recovered_payments": 1, "cancellations": 0})

		// 1 November it fails again; 15 November Stripe gives up (unpaid); 20 November the
		// supporter pays the open invoice: it counts again from then, without an update.
		r.InvoiceID, r.Created = "in_retry3", nov(1, 10)
		s.send(t, "invoice.payment_failed", r)
		s.updated(t, p, nov(1, 10), start, nov(1, 10), time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), status("past_due"))
		s.updated(t, p, nov(15, 10), start, nov(1, 10), time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), status("unpaid"))
		figures(t, "15 November, unpaid", s.usd(t, nov(15, 0), nov(15, 0)), map[string]int64{"recurring_supporters": 0, "mrr": 0})
		r.Created = nov(20, 10)
		s.send(t, "invoice.paid", r)
		figures(t, "14 November", s.usd(t, nov(14, 0), nov(14, 0)), map[string]int64{"recurring_supporters": 1, "mrr": 500})
		figures(t, "15–19 November", s.usd(t, nov(15, 0), nov(19, 0)), map[string]int64{"recurring_supporters": 0, "mrr": 0})
		figures(t, "November", s.usd(t, nov(1, 0), nov(30, 0)), map[string]int64{"gross": 500, "donations": 1,
			"recurring_supporters": 1, "mrr": 500, "failed_payments": 1, "recovered_payments": 1})
		if st := subStatus(); st != "active" {
			t.Errorf("status %q after the open invoice was paid, want active", st)
		}

		dons := s.export(t, "donations")
		if len(dons) != 3 {
			t.Fatalf("%d donations, want 3: %v", len(dons), dons)
		}
		columns(t, "recovered renewal", row(t, dons, "stripe_id", "in_retry2"), map[string]string{"date": stamp(oct(4, 10)), "status": "succeeded"})
		columns(t, "supporter", row(t, s.export(t, "supporters"), "email", "retry@example.com"), map[string]string{"donations": "3",
			"totals": "15.00 usd", "active_subscriptions": "1"})
	})

	t.Run("pause_collection", func(t *testing.T) {
		t.Parallel()
		s := startService(t, nil)
		start := oct(1, 10)
		p := billing.EventParams{Checkout: s.checkout(t, pledge.Monthly, 500), Email: "pause@example.com",
			CustomerID: "cus_pause", SubscriptionID: "sub_pause", InvoiceID: "in_pause1"}
		s.subscribe(t, p, start)
		s.updated(t, p, oct(10, 10), start, start, nov(1, 10), func(o map[string]any) {
			o["pause_collection"] = map[string]any{"behavior": "void", "resumes_at": nil}
		})
		figures(t, "9 October", s.usd(t, oct(9, 0), oct(9, 0)), map[string]int64{"recurring_supporters": 1, "mrr": 500})
		figures(t, "10 October, paused", s.usd(t, oct(10, 0), oct(10, 0)), map[string]int64{"recurring_supporters": 0, "mrr": 0})
		columns(t, "paused supporter", row(t, s.export(t, "supporters"), "email", "pause@example.com"),
			map[string]string{"active_subscriptions": "0"})

		s.updated(t, p, oct(20, 10), start, start, nov(1, 10)) // pause_collection null again
		figures(t, "10–19 October", s.usd(t, oct(10, 0), oct(19, 0)), map[string]int64{"recurring_supporters": 0, "mrr": 0})
		figures(t, "October", s.usd(t, oct(1, 0), oct(31, 0)), map[string]int64{"gross": 500, "donations": 1, "new_supporters": 1,
			"recurring_supporters": 1, "mrr": 500, "cancellations": 0})
		columns(t, "resumed supporter", row(t, s.export(t, "supporters"), "email", "pause@example.com"),
			map[string]string{"active_subscriptions": "1", "donations": "1", "totals": "5.00 usd"})
		if dons := s.export(t, "donations"); len(dons) != 1 {
			t.Errorf("%d donations, want 1: %v", len(dons), dons)
		}
	})

	t.Run("customer.updated changes the address", func(t *testing.T) {
		t.Parallel()
		s := startService(t, nil)
		p := s.giveOnceAt(t, 500, "before@example.com", "moving", oct(5, 12))
		p.Created, p.Email = oct(8, 12), "after@example.com"
		p.Edit = func(o map[string]any) { o["created"] = oct(5, 12).Unix() }
		s.send(t, "customer.updated", p)

		sups := s.export(t, "supporters")
		if len(sups) != 1 {
			t.Fatalf("%d supporters, want 1: %v", len(sups), sups)
		}
		columns(t, "supporter", sups[0], map[string]string{"email": "after@example.com", "stripe_customer_id": "cus_moving",
			"donations": "1", "totals": "5.00 usd", "created": stamp(oct(5, 12))})
		dons := s.export(t, "donations")
		if len(dons) != 1 {
			t.Fatalf("%d donations, want 1: %v", len(dons), dons)
		}
		columns(t, "donation", dons[0], map[string]string{"email": "after@example.com", "stripe_id": "pi_moving"})
		figures(t, "October", s.usd(t, oct(1, 0), oct(31, 0)), map[string]int64{"gross": 500, "donations": 1, "new_supporters": 1})
	})
}
