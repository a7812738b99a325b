package sqlite

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// rollupMismatches compares each rollup with the same figures computed from the ledger itself.
func rollupMismatches(t *testing.T, db *DB) map[string]int {
	t.Helper()
	checks := map[string]string{
		"donations_daily": `
			SELECT count(*) FROM (
				SELECT paid_at - paid_at % 86400 AS day, currency, frequency, count(*) AS n, sum(amount) AS g,
				       sum(amount_refunded) AS r, count(*) FILTER (WHERE amount_refunded > 0), count(*) FILTER (WHERE amount_disputed > 0), sum(amount_disputed), sum(tax)
				FROM donations GROUP BY 1, 2, 3
				EXCEPT SELECT day, currency, frequency, donations, gross, refunded, refunds, disputes, disputed, tax
				FROM donations_daily WHERE donations <> 0) AS x`,
		"donations_sources": `
			SELECT count(*) FROM (
				SELECT paid_at - paid_at % 86400, article, campaign, currency, count(*),
				       sum(amount - amount_refunded - amount_disputed)
				FROM donations GROUP BY 1, 2, 3, 4
				EXCEPT SELECT day, article, campaign, currency, donations, gross - refunded - disputed
				FROM donations_sources WHERE donations <> 0) AS x`,
		"donations_sources_weekly": `
			SELECT count(*) FROM (
				SELECT paid_at - paid_at % 604800, article, campaign, currency, count(*),
				       sum(amount - amount_refunded - amount_disputed)
				FROM donations GROUP BY 1, 2, 3, 4
				EXCEPT SELECT week, article, campaign, currency, donations, net
				FROM donations_sources_weekly WHERE donations <> 0) AS x`,
		"new_supporters": `
			SELECT count(*) FROM (
				SELECT paid_at - paid_at % 86400, currency, frequency, count(*) FROM donations d
				WHERE supporter_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM donations e WHERE e.supporter_id = d.supporter_id
				      AND (e.paid_at < d.paid_at OR (e.paid_at = d.paid_at AND
				           coalesce(e.stripe_invoice_id, e.stripe_payment_intent_id, e.stripe_charge_id, '') <
				           coalesce(d.stripe_invoice_id, d.stripe_payment_intent_id, d.stripe_charge_id, ''))))
				GROUP BY 1, 2, 3
				EXCEPT SELECT day, currency, frequency, new_supporters FROM donations_daily WHERE new_supporters <> 0) AS x`,
		"subscriptions_daily": `
			SELECT count(*) FROM (
				SELECT day, currency, frequency, sum(n), sum(a), sum(e) FROM (
					SELECT start - start % 86400 AS day, currency, frequency, 1 AS n, amount AS a, 0 AS e FROM subscription_segments
					UNION ALL
					SELECT "end" - "end" % 86400, currency, frequency, -1, -amount, ends FROM subscription_segments WHERE "end" IS NOT NULL) AS s
				GROUP BY 1, 2, 3 HAVING sum(n) <> 0 OR sum(a) <> 0 OR sum(e) <> 0
				EXCEPT SELECT day, currency, frequency, subscriptions, amount, ended FROM subscriptions_daily
				WHERE subscriptions <> 0 OR amount <> 0 OR ended <> 0) AS x`,
		"segments": `
			SELECT count(*) FROM subscriptions s
			WHERE (s.status IN ('active', 'past_due') AND s.paused = 0 AND s.amount > 0)
			   <> EXISTS (SELECT 1 FROM subscription_segments g WHERE g.subscription_id = s.id AND g."end" IS NULL)`,
		"checkouts_daily": `
			SELECT count(*) FROM (
				SELECT created_at - created_at % 86400, article, campaign, count(*), count(*) FILTER (WHERE status = 'paid'),
				       count(*) FILTER (WHERE source = 'reminder'), count(*) FILTER (WHERE source = 'reminder' AND status = 'paid')
				FROM checkouts GROUP BY 1, 2, 3
				EXCEPT SELECT day, article, campaign, checkouts, paid, reminder, reminder_paid FROM checkouts_daily WHERE checkouts <> 0) AS x`,
	}
	out := map[string]int{}
	for name, q := range checks {
		var n int
		if err := db.read.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n > 0 {
			out[name] = n
		}
	}
	return out
}

// TestSeedKeepsRollupsAndTriggers seeds twice (the second run adds to the first's rollups), checks
// every rollup against the ledger, then checks that the triggers are back.
func TestSeedKeepsRollupsAndTriggers(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	// Live triggers: SQLite's, or PostgreSQL's enabled ones (seed disables one while it runs).
	triggersQ := `SELECT count(*) FROM sqlite_master WHERE type = 'trigger'`
	if db.pg {
		triggersQ = `SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D'`
	}
	var triggersBefore int
	db.read.QueryRow(triggersQ).Scan(&triggersBefore)
	for i := range 2 {
		if err := db.Seed(ctx, SeedOptions{Donations: 2000, Rand: uint64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	var donations, triggers int
	db.read.QueryRow(`SELECT count(*) FROM donations`).Scan(&donations)
	db.read.QueryRow(triggersQ).Scan(&triggers)
	if donations != 4000 {
		t.Fatalf("%d donations, want 4000", donations)
	}
	if triggers != triggersBefore || triggers == 0 {
		t.Fatalf("%d triggers after seeding, %d before", triggers, triggersBefore)
	}
	if bad := rollupMismatches(t, db); len(bad) > 0 {
		t.Fatalf("rollups disagree with the ledger after seeding: %v", bad)
	}
	// Webhook events about seeded rows keep the rollups right, row by row.
	type don struct {
		charge, currency string
		amount, id       int64
	}
	var dons []don
	rows, err := db.read.Query(`SELECT id, stripe_charge_id, currency, amount FROM donations WHERE id % 7 = 0 OR id % 13 = 0`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d don
		if err := rows.Scan(&d.id, &d.charge, &d.currency, &d.amount); err != nil {
			t.Fatal(err)
		}
		dons = append(dons, d)
	}
	rows.Close()
	n := 0
	apply := func(typ string, fact any) {
		t.Helper()
		n++
		if _, err := db.ApplyEvent(ctx, &pledge.LedgerEvent{ID: fmt.Sprintf("evt_late_%d", n), Type: typ,
			Created: time.Unix(1_700_000_000+int64(n), 0), Fact: fact}); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range dons {
		m := pledge.Money{Amount: d.amount, Currency: pledge.Currency(d.currency)}
		if d.id%7 == 0 {
			apply("charge.refunded", &pledge.ChargeRefunded{ChargeID: d.charge, Amount: m, AmountRefunded: d.amount / 2})
		} else {
			apply("charge.dispute.closed", &pledge.DisputeChanged{ChargeID: d.charge, Status: "lost", Amount: m})
		}
	}
	subs, err := db.read.Query(`SELECT stripe_subscription_id, amount, currency, frequency, started_at FROM subscriptions
		WHERE id % 5 = 0 AND ended_at IS NULL`)
	if err != nil {
		t.Fatal(err)
	}
	var changes []*pledge.SubscriptionChanged
	for subs.Next() {
		var c pledge.SubscriptionChanged
		var f pledge.Frequency
		var started int64
		if err := subs.Scan(&c.SubscriptionID, &c.Amount.Amount, &c.Amount.Currency, &f, &started); err != nil {
			t.Fatal(err)
		}
		c.Interval, c.Status = f.Interval(), "canceled"
		c.EndedAt = time.Unix(started+40*86400, 0)
		changes = append(changes, &c)
	}
	subs.Close()
	for _, c := range changes {
		apply("customer.subscription.deleted", c)
	}
	// A new supporter whose gift is older than everything: takes the new-supporter mark on its day.
	apply("checkout.session.completed", &pledge.CheckoutCompleted{SessionID: "cs_late", CheckoutID: "co_late", Paid: true,
		Customer: pledge.Customer{StripeID: "cus_late", Email: "late@example.com"}, Amount: pledge.Money{Amount: 777, Currency: "usd"},
		PaymentIntent: "pi_late", Meta: pledge.Metadata{CheckoutID: "co_late", Frequency: pledge.Once}})
	if bad := rollupMismatches(t, db); len(bad) > 0 {
		t.Fatalf("rollups disagree with the ledger after later events: %v", bad)
	}
}

// TestSeedRefusesARealLedger: a real donation in the database stops the seed unless forced;
// seeded donations do not.
func TestSeedRefusesARealLedger(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	if err := db.Seed(ctx, SeedOptions{Donations: 50, Rand: 1}); err != nil {
		t.Fatal(err)
	}
	if err := db.Seed(ctx, SeedOptions{Donations: 50, Rand: 2}); err != nil {
		t.Fatalf("seeding over seeded data: %v", err)
	}
	exec(t, db, `INSERT INTO donations (frequency, amount, currency, status, stripe_charge_id, paid_at, created_at, updated_at)
		VALUES ('once', 500, 'usd', 'succeeded', 'ch_3Real', 1700000000, 1, 1)`)
	if err := db.Seed(ctx, SeedOptions{Donations: 50, Rand: 3}); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("seeding over a real donation: %v, want a refusal naming --force", err)
	}
	if err := db.Seed(ctx, SeedOptions{Donations: 50, Rand: 3, Force: true}); err != nil {
		t.Fatalf("forced seed: %v", err)
	}
}
