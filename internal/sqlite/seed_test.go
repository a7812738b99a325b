package sqlite

import (
	"context"
	"strings"
	"testing"
)

// rollupMismatches compares each rollup with the same figures computed from the ledger itself.
func rollupMismatches(t *testing.T, db *DB) map[string]int {
	t.Helper()
	checks := map[string]string{
		"donations_daily": `
			SELECT count(*) FROM (
				SELECT paid_at - paid_at % 86400 AS day, currency, frequency, count(*) AS n, sum(amount) AS g,
				       sum(amount_refunded) AS r, sum(status = 'disputed') AS di FROM donations GROUP BY 1, 2, 3
				EXCEPT SELECT day, currency, frequency, donations, gross, refunded, disputes FROM donations_daily WHERE donations <> 0)`,
		"donations_sources": `
			SELECT count(*) FROM (
				SELECT paid_at - paid_at % 86400, article, campaign, currency, count(*), sum(amount - amount_refunded),
				       sum(CASE WHEN dispute_status = 'lost' THEN amount - amount_refunded ELSE 0 END)
				FROM donations GROUP BY 1, 2, 3, 4
				EXCEPT SELECT day, article, campaign, currency, donations, gross - refunded, lost FROM donations_sources WHERE donations <> 0)`,
		"donations_lost": `
			SELECT count(*) FROM (
				SELECT paid_at - paid_at % 86400, currency, frequency,
				       sum(CASE WHEN dispute_status = 'lost' THEN amount - amount_refunded ELSE 0 END) AS l
				FROM donations GROUP BY 1, 2, 3 HAVING l <> 0
				EXCEPT SELECT day, currency, frequency, lost FROM donations_daily WHERE lost <> 0)`,
		"new_supporters": `
			SELECT count(*) FROM (
				SELECT paid_at - paid_at % 86400, currency, frequency, count(*) FROM donations d
				WHERE supporter_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM donations e WHERE e.supporter_id = d.supporter_id
				      AND (e.paid_at < d.paid_at OR (e.paid_at = d.paid_at AND e.id < d.id)))
				GROUP BY 1, 2, 3
				EXCEPT SELECT day, currency, frequency, new_supporters FROM donations_daily WHERE new_supporters <> 0)`,
		"subscriptions_daily": `
			SELECT count(*) FROM (
				SELECT day, currency, frequency, sum(n), sum(a) FROM (
					SELECT started_at - started_at % 86400 AS day, currency, frequency, 1 AS n, amount AS a FROM subscriptions
					WHERE started_at IS NOT NULL AND status NOT IN ('incomplete', 'incomplete_expired')
					UNION ALL
					SELECT coalesce(canceled_at, lapsed_at) - coalesce(canceled_at, lapsed_at) % 86400, currency, frequency, -1, -amount
					FROM subscriptions
					WHERE coalesce(canceled_at, lapsed_at) IS NOT NULL AND started_at IS NOT NULL
					  AND status NOT IN ('incomplete', 'incomplete_expired'))
				GROUP BY 1, 2, 3 HAVING sum(n) <> 0 OR sum(a) <> 0
				EXCEPT SELECT day, currency, frequency, subscriptions, amount FROM subscriptions_daily
				WHERE subscriptions <> 0 OR amount <> 0)`,
		"checkouts_daily": `
			SELECT count(*) FROM (
				SELECT created_at - created_at % 86400, article, campaign, count(*), sum(status = 'paid'),
				       sum(source = 'reminder'), sum(source = 'reminder' AND status = 'paid') FROM checkouts GROUP BY 1, 2, 3
				EXCEPT SELECT day, article, campaign, checkouts, paid, reminder, reminder_paid FROM checkouts_daily WHERE checkouts <> 0)`,
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
	var triggersBefore int
	db.read.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'trigger'`).Scan(&triggersBefore)
	for i := range 2 {
		if err := db.Seed(ctx, SeedOptions{Donations: 2000, Rand: uint64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	var donations, triggers int
	db.read.QueryRow(`SELECT count(*) FROM donations`).Scan(&donations)
	db.read.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'trigger'`).Scan(&triggers)
	if donations != 4000 {
		t.Fatalf("%d donations, want 4000", donations)
	}
	if triggers != triggersBefore || triggers == 0 {
		t.Fatalf("%d triggers after seeding, %d before", triggers, triggersBefore)
	}
	if bad := rollupMismatches(t, db); len(bad) > 0 {
		t.Fatalf("rollups disagree with the ledger after seeding: %v", bad)
	}
	// The triggers work again: rows written, changed and deleted after the seed keep the rollups right.
	exec(t, db, `INSERT INTO supporters (id, email, created_at, updated_at) VALUES (99999, 'late@example.com', 1, 1)`)
	exec(t, db, `INSERT INTO donations (supporter_id, frequency, amount, currency, status, paid_at, created_at, updated_at)
		VALUES (99999, 'once', 777, 'usd', 'succeeded', 1700000000, 1, 1)`)
	exec(t, db, `INSERT INTO donations (supporter_id, frequency, amount, currency, status, paid_at, created_at, updated_at)
		VALUES (99999, 'once', 555, 'eur', 'succeeded', 1600000000, 1, 1)`) // earlier: takes the new-supporter mark
	exec(t, db, `UPDATE donations SET amount_refunded = amount, status = 'refunded' WHERE id % 7 = 0`)
	exec(t, db, `UPDATE subscriptions SET canceled_at = started_at + 86400 * 40, status = 'canceled' WHERE id % 5 = 0 AND canceled_at IS NULL`)
	exec(t, db, `UPDATE checkouts SET status = 'paid' WHERE status = 'abandoned' AND rowid % 3 = 0`)
	exec(t, db, `UPDATE subscriptions SET status = 'unpaid', updated_at = started_at + 86400 * 70 WHERE id % 6 = 1 AND canceled_at IS NULL`)
	exec(t, db, `UPDATE subscriptions SET status = 'active' WHERE id % 12 = 1 AND status = 'unpaid'`)
	exec(t, db, `UPDATE donations SET status = 'disputed', dispute_status = 'lost' WHERE id % 13 = 0`)
	exec(t, db, `UPDATE donations SET dispute_status = 'won' WHERE id % 26 = 0`)
	exec(t, db, `DELETE FROM donations WHERE id % 11 = 0`)
	if bad := rollupMismatches(t, db); len(bad) > 0 {
		t.Fatalf("rollups disagree with the ledger after later writes: %v", bad)
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
