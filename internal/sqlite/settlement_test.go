package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// figuresOf returns the figures of one currency over [from, to) days.
func figuresOf(t *testing.T, db *DB, from, to string, c pledge.Currency) pledge.KPIs {
	t.Helper()
	p := pledge.Period{From: time.Unix(at(from+" 00:00:00"), 0).UTC(), To: time.Unix(at(to+" 00:00:00"), 0).UTC()}
	fs, err := db.Figures(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range fs {
		if k.Currency == c {
			return k
		}
	}
	return pledge.KPIs{Currency: c}
}

// TestChurnAndNetNewRecurring works April 2026 (30 days) out by hand: ten monthly gifts since
// January; two of them end in April; four new ones start in April, one of which also ends in
// April; one lapses into unpaid (neither new nor ended).
func TestChurnAndNetNewRecurring(t *testing.T) {
	db := openTestDB(t)
	sub := func(id int64, started, status, when string) {
		stripeID := "sub_" + string(rune('a'+id))
		exec(t, db, `INSERT INTO subscriptions (id, stripe_subscription_id, frequency, amount, currency, status,
			started_at, created_at, updated_at) VALUES (?, ?, 'monthly', 500, 'usd', 'active', ?, ?, ?) ON CONFLICT DO NOTHING`,
			id, stripeID, at(started), at(started), at(started))
		ended := ""
		if status == "canceled" {
			ended = when
		}
		state(t, db, stripeID, status, 500, "usd", "month", when, ended)
	}
	for i := int64(1); i <= 10; i++ {
		sub(i, "2026-01-05 10:00:00", "active", "2026-01-05 10:00:00")
	}
	sub(1, "2026-01-05 10:00:00", "canceled", "2026-04-03 10:00:00")
	sub(2, "2026-01-05 10:00:00", "canceled", "2026-04-20 10:00:00")
	sub(3, "2026-01-05 10:00:00", "unpaid", "2026-04-21 10:00:00")
	for i := int64(11); i <= 14; i++ {
		sub(i, "2026-04-10 10:00:00", "active", "2026-04-10 10:00:00")
	}
	sub(14, "2026-04-10 10:00:00", "canceled", "2026-04-25 10:00:00")
	sub(15, "2026-05-02 10:00:00", "active", "2026-05-02 10:00:00") // after the period
	rebuild(t, db)

	k := figuresOf(t, db, "2026-04-01", "2026-05-01", "usd")
	for _, tc := range []struct {
		name      string
		got, want int64
	}{
		{"recurring at start", int64(k.RecurringAtStart), 10},
		{"new recurring", int64(k.NewRecurring), 4},
		{"ended", int64(k.Cancellations), 3},
		{"net new recurring", int64(k.NetNewRecurring()), 1},
		// 10 + 4 - 3 ended - 1 lapsed
		{"recurring at the end", int64(k.RecurringSupporters()), 10},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
	if got, want := k.MonthlyChurn(), 0.3; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("monthly churn = %v, want %v (3 ended / 10 at the start, over 30 days)", got, want)
	}
	// Over 15 days (1-15 April: one ended), the rate is per 30 days: 1/10 × 30/15.
	k = figuresOf(t, db, "2026-04-01", "2026-04-16", "usd")
	if got, want := k.MonthlyChurn(), 0.2; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("half-month churn = %v, want %v", got, want)
	}
}

// TestSettlementFigures: a usd gift settled in usd, a eur gift settled in usd with half of it
// refunded, a gbp gift whose balance transaction is not known; then reconcile's record of it.
func TestSettlementFigures(t *testing.T) {
	db := openTestDB(t)
	exec(t, db, `INSERT INTO supporters (id, email, created_at, updated_at) VALUES (1, 'a@example.com', 0, 0)`)
	don := func(pi string, amount, refunded int64, currency string, s pledge.Settlement) {
		paid := at("2026-04-02 10:00:00")
		exec(t, db, `INSERT INTO donations (supporter_id, frequency, amount, amount_refunded, currency, status,
			stripe_payment_intent_id, paid_at, created_at, updated_at, settle_txn, settle_currency, settle_amount, settle_fee, settle_net)
			VALUES (1, 'once', ?, ?, ?, 'succeeded', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			amount, refunded, currency, pi, paid, paid, paid, s.BalanceTransaction, s.Currency, s.Amount, s.Fee, s.Net)
	}
	don("pi_usd", 1000, 0, "usd", pledge.Settlement{BalanceTransaction: "txn_1", Currency: "usd", Amount: 1000, Fee: 59, Net: 941})
	don("pi_eur", 1000, 500, "eur", pledge.Settlement{BalanceTransaction: "txn_2", Currency: "usd", Amount: 1080, Fee: 61, Net: 1019})
	don("pi_gbp", 500, 0, "gbp", pledge.Settlement{})
	rebuild(t, db)

	check := func(name string, got, want int64) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	usd := figuresOf(t, db, "2026-04-01", "2026-05-01", "usd")
	check("settled donations", int64(usd.SettledDonations), 2)
	check("settled amount", usd.SettledAmount, 2080)
	check("fees", usd.Fees, 120)
	// half of the eur gift refunded: half of its 10.80 converted
	check("lost", usd.SettledLost, 540)
	check("settled net", usd.SettledNet, 941+1019-540)
	gbp := figuresOf(t, db, "2026-04-01", "2026-05-01", "gbp")
	check("gbp unsettled", int64(gbp.UnsettledDonations), 1)
	check("gbp unsettled net", gbp.UnsettledNet, 500)

	// Reconcile records the gbp gift's balance transaction: the rollup moves at once.
	targets, err := db.UnsettledDonations(context.Background(), 10)
	if err != nil || len(targets) != 1 || targets[0].PaymentIntent != "pi_gbp" {
		t.Fatalf("unsettled = %+v, %v", targets, err)
	}
	if err := db.RecordSettlement(context.Background(), targets[0].DonationID, "ch_gbp",
		pledge.Settlement{BalanceTransaction: "txn_3", Currency: "usd", Amount: 635, Fee: 48, Net: 587}); err != nil {
		t.Fatal(err)
	}
	incremental := figuresOf(t, db, "2026-04-01", "2026-05-01", "usd")
	check("settled net after reconcile", incremental.SettledNet, 941+1019-540+587)
	check("gbp unsettled after reconcile", int64(figuresOf(t, db, "2026-04-01", "2026-05-01", "gbp").UnsettledDonations), 0)
	rebuild(t, db)
	if got := figuresOf(t, db, "2026-04-01", "2026-05-01", "usd"); got != incremental {
		t.Errorf("rebuild = %+v\nincremental = %+v", got, incremental)
	}
	// The supporter's lifetime totals, per currency.
	var net, n int64
	if err := db.read.QueryRow(`SELECT net, donations FROM supporter_totals WHERE supporter_id = 1 AND currency = 'eur'`).Scan(&net, &n); err != nil {
		t.Fatal(err)
	}
	check("eur lifetime net", net, 500)
	check("eur lifetime donations", n, 1)
}

func TestSettledNetOf(t *testing.T) {
	s := pledge.Settlement{BalanceTransaction: "txn", Currency: "usd", Amount: 1080, Fee: 61, Net: 1019}
	for _, tc := range []struct {
		name                       string
		amount, refunded, disputed int64
		want                       int64
	}{
		{"nothing back", 1000, 0, 0, 1019},
		{"half refunded", 1000, 500, 0, 1019 - 540},
		{"a third disputed, rounded", 1000, 0, 333, 1019 - 360},
		{"all refunded: the fee stays lost", 1000, 1000, 0, -61},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pledge.SettledNetOf(s, tc.amount, tc.refunded, tc.disputed); got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}

// TestPastDue: failed invoices still unpaid, of subscriptions that have not ended, oldest first;
// the figures at a past moment see only what was open then.
func TestPastDue(t *testing.T) {
	db := openTestDB(t)
	exec(t, db, `INSERT INTO supporters (id, email, created_at, updated_at) VALUES (1, 'p@example.com', 0, 0)`)
	for _, sub := range []string{"sub_open", "sub_paid", "sub_ended"} {
		exec(t, db, `INSERT INTO subscriptions (stripe_subscription_id, supporter_id, frequency, amount, currency, status,
			created_at, updated_at, ended_at) VALUES (?, 1, 'monthly', 500, 'usd', 'past_due', 0, 0, ?)`,
			sub, map[bool]any{true: at("2026-04-10 00:00:00"), false: nil}[sub == "sub_ended"])
	}
	fail := func(invoice, sub string, attempt int, when string, next any) {
		exec(t, db, `INSERT INTO invoice_attempts (stripe_invoice_id, stripe_subscription_id, attempt, amount, currency,
			next_attempt_at, failed_at) VALUES (?, ?, ?, 500, 'usd', ?, ?)`, invoice, sub, attempt, next, at(when))
	}
	fail("in_open", "sub_open", 1, "2026-04-02 00:00:00", at("2026-04-05 00:00:00"))
	fail("in_open", "sub_open", 2, "2026-04-05 00:00:00", at("2026-04-12 00:00:00"))
	fail("in_paid", "sub_paid", 1, "2026-04-01 00:00:00", nil)
	fail("in_ended", "sub_ended", 1, "2026-04-03 00:00:00", nil)
	exec(t, db, `INSERT INTO donations (supporter_id, frequency, amount, currency, status, stripe_invoice_id, paid_at,
		created_at, updated_at) VALUES (1, 'monthly', 500, 'usd', 'succeeded', 'in_paid', ?, 0, 0)`, at("2026-04-04 00:00:00"))
	// The subscriptions' histories, then what the store derives from rows written by hand.
	state(t, db, "sub_open", "active", 500, "usd", "month", "2026-03-02 00:00:00", "")
	state(t, db, "sub_paid", "active", 500, "usd", "month", "2026-03-01 00:00:00", "")
	state(t, db, "sub_ended", "active", 500, "usd", "month", "2026-03-03 00:00:00", "")
	state(t, db, "sub_ended", "canceled", 500, "usd", "month", "2026-04-10 00:00:00", "2026-04-10 00:00:00")
	rebuild(t, db)

	list, err := db.PastDue(context.Background(), time.Unix(at("2026-04-20 00:00:00"), 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Invoice != "in_open" || list[0].Attempts != 2 || list[0].SupporterID != 1 ||
		!list[0].NextAttemptAt.Equal(time.Unix(at("2026-04-12 00:00:00"), 0).UTC()) {
		t.Fatalf("past due = %+v", list)
	}
	// At noon on 3 April all three were open (the paid one was paid on the 4th, the ended one
	// ended on the 10th): oldest first.
	then, _ := db.PastDue(context.Background(), time.Unix(at("2026-04-03 12:00:00"), 0))
	if len(then) != 3 || then[0].Invoice != "in_paid" || then[1].Invoice != "in_open" {
		t.Fatalf("past due on 3 April = %+v", then)
	}
	k := figuresOf(t, db, "2026-04-01", "2026-04-21", "usd")
	if k.OpenFailed != 1 || k.AtRisk != 500 {
		t.Fatalf("open failed %d, at risk %d", k.OpenFailed, k.AtRisk)
	}
}
