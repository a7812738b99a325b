package sqlite

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/testkit"
	"github.com/pledge-news/pledge/migrations"
)

// TestUpgradeToTheTruthfulLedger opens a database written by the version before migration 0010
// (supporters per Stripe customer, subscriptions without history, rollups kept by triggers) with
// this version: people are merged by address, subscriptions' spans come from what their rows knew,
// lost disputes keep taking what they took, and the rollups agree with the rows.
func TestUpgradeToTheTruthfulLedger(t *testing.T) {
	testkit.SQLiteOnly(t, "upgrades a database written by SQLite's migrations before 0010; PostgreSQL's schema starts at 0018")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pledge.db")
	old := fstest.MapFS{}
	entries, _ := fs.ReadDir(migrations.FS, ".")
	for _, e := range entries {
		if e.Name() < "0010" {
			b, _ := fs.ReadFile(migrations.FS, e.Name())
			old[e.Name()] = &fstest.MapFile{Data: b}
		}
	}
	db := openTestDB(t, atDSN(path), dbOption{set: func(db *DB) { db.migr = old }})
	d := func(n int) int64 { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).AddDate(0, 0, n).Unix() }
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO supporters (id, stripe_customer_id, email, name, created_at, updated_at) VALUES
			(1, 'cus_a', 'Ada@Example.com', 'Ada', ?1, ?1), (2, 'cus_b', 'ada@example.com', 'Ada L.', ?2, ?2),
			(3, 'cus_c', 'bo@example.com', 'Bo', ?3, ?3)`, []any{d(1), d(10), d(2)}},
		{`INSERT INTO subscriptions (id, stripe_subscription_id, supporter_id, frequency, amount, currency, status, started_at,
			canceled_at, state_at, fields_at, created_at, updated_at) VALUES
			(1, 'sub_1', 3, 'monthly', 500, 'usd', 'active', ?1, NULL, ?1, ?1, ?1, ?1),
			(2, 'sub_2', 1, 'monthly', 700, 'usd', 'canceled', ?2, ?3, ?3, ?3, ?2, ?3)`, []any{d(5), d(2), d(20)}},
		{`INSERT INTO donations (supporter_id, subscription_id, frequency, amount, currency, status, dispute_status,
			stripe_payment_intent_id, stripe_invoice_id, paid_at, created_at, updated_at) VALUES
			(1, NULL, 'once', 1000, 'usd', 'succeeded', '', 'pi_1', NULL, ?1, ?1, ?1),
			(2, NULL, 'once', 500, 'usd', 'succeeded', '', 'pi_2', NULL, ?2, ?2, ?2),
			(3, 1, 'monthly', 500, 'usd', 'succeeded', '', NULL, 'in_1', ?3, ?3, ?3),
			(3, NULL, 'once', 2000, 'usd', 'disputed', 'lost', 'pi_3', NULL, ?3, ?3, ?3)`, []any{d(1), d(10), d(5)}},
	} {
		if _, err := db.write.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	db.Close()

	db = NewDB(path)
	if err := db.Open(ctx); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	defer db.Close()
	var supporters, adaGifts, customers int
	db.read.QueryRow(`SELECT count(*) FROM supporters`).Scan(&supporters)
	db.read.QueryRow(`SELECT count(*) FROM donations d JOIN supporters s ON s.id = d.supporter_id WHERE s.email_key = 'ada@example.com'`).Scan(&adaGifts)
	db.read.QueryRow(`SELECT count(*) FROM customers`).Scan(&customers)
	if supporters != 2 || adaGifts != 2 || customers != 3 {
		t.Errorf("after the upgrade: %d supporters, %d gifts of Ada, %d customers; want 2, 2, 3 (one person per address)", supporters, adaGifts, customers)
	}
	march := pledge.Period{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}
	early := pledge.Period{From: march.From, To: time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC)}
	figures := func(p pledge.Period) pledge.KPIs {
		t.Helper()
		f, err := db.Figures(ctx, p)
		if err != nil || len(f) != 1 {
			t.Fatalf("figures: %v %+v", err, f)
		}
		return f[0]
	}
	m, e := figures(march), figures(early)
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"gross", m.Gross, 4000},
		{"disputed (the lost dispute keeps what it took)", m.Disputed, 2000},
		{"net", m.Net, 2000},
		{"new supporters (people)", int64(m.NewSupporters), 2},
		{"MRR at the end of March (the cancelled one ended on the 21st)", m.MRR, 500},
		{"cancellations in March", int64(m.Cancellations), 1},
		{"MRR on 11 March (both live)", e.MRR, 1200},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if bad := rollupMismatches(t, db); len(bad) > 0 {
		t.Errorf("rollups disagree with the rows after the upgrade: %v", bad)
	}
	var version string
	db.read.QueryRow(`SELECT value FROM settings WHERE key = 'ledger_version'`).Scan(&version)
	if !strings.HasPrefix(version, ledgerVersion) {
		t.Errorf("ledger_version = %q, want %q", version, ledgerVersion)
	}
}
