package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// supportersWithTotals writes n supporters, each with one usd gift of a different size and every
// third with a eur gift too, and rebuilds the derived tables (supporter_totals among them).
func supportersWithTotals(tb testing.TB, db *DB, n int) {
	tb.Helper()
	tx, err := db.write.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		t := at("2026-01-01 00:00:00") + int64(i)*60
		if _, err := tx.Exec(`INSERT INTO supporters (id, email, email_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			i, fmt.Sprintf("s%d@example.com", i), fmt.Sprintf("s%d@example.com", i), t, t); err != nil {
			tb.Fatal(err)
		}
		amount := int64(100 + (i*7919)%100000)
		if _, err := tx.Exec(`INSERT INTO donations (supporter_id, frequency, amount, currency, status, stripe_payment_intent_id,
			paid_at, created_at, updated_at) VALUES (?, 'once', ?, 'usd', 'succeeded', ?, ?, ?, ?)`,
			i, amount, fmt.Sprintf("pi_%d", i), t, t, t); err != nil {
			tb.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := tx.Exec(`INSERT INTO donations (supporter_id, frequency, amount, currency, status, stripe_payment_intent_id,
				paid_at, created_at, updated_at) VALUES (?, 'once', 500, 'eur', 'succeeded', ?, ?, ?, ?)`,
				i, fmt.Sprintf("pi_e%d", i), t+30, t+30, t+30); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.write.Exec(`DELETE FROM settings WHERE key = 'ledger_version'`); err != nil {
		tb.Fatal(err)
	}
	if err := db.rebuildIfStale(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

func TestSupportersSortedAndCounted(t *testing.T) {
	db := openTestDB(t)
	supportersWithTotals(t, db, 30)
	ctx := context.Background()
	f := pledge.SupporterFilter{Sort: pledge.SortTotal, Currency: "usd", Limit: 10}
	first, err := db.ListSupporters(ctx, f)
	if err != nil || len(first) != 10 {
		t.Fatalf("%d, %v", len(first), err)
	}
	f.Offset = 10
	second, _ := db.ListSupporters(ctx, f)
	all := append(first, second...)
	for i := 1; i < len(all); i++ {
		if all[i].Totals[0].Currency != "usd" && len(all[i].Totals) > 1 {
			continue
		}
		if usd(all[i]) > usd(all[i-1]) {
			t.Fatalf("not largest first at %d: %d after %d", i, usd(all[i]), usd(all[i-1]))
		}
	}
	if n, err := db.CountSupporters(ctx, f); err != nil || n != 30 {
		t.Fatalf("count = %d, %v", n, err)
	}
	if n, _ := db.CountSupporters(ctx, pledge.SupporterFilter{Sort: pledge.SortTotal, Currency: "eur"}); n != 10 {
		t.Fatalf("eur count = %d, want 10", n)
	}
	last, _ := db.ListSupporters(ctx, pledge.SupporterFilter{Sort: pledge.SortLastGift, Limit: 1})
	if len(last) != 1 || last[0].ID != 30 || !last[0].LastPaidAt.Equal(time.Unix(at("2026-01-01 00:00:00")+30*60+30, 0).UTC()) {
		t.Fatalf("latest gift first: %+v", last[0])
	}
}

func usd(s *pledge.Supporter) int64 {
	for _, m := range s.Totals {
		if m.Currency == "usd" {
			return m.Amount
		}
	}
	return 0
}

// BenchmarkSupportersByLifetimeTotal: one page of the supporters list sorted by lifetime total,
// with its result count, at 200,000 supporters (the bound: under 50 ms).
func BenchmarkSupportersByLifetimeTotal(b *testing.B) {
	db := openTestDB(b)
	supportersWithTotals(b, db, 200000)
	ctx := context.Background()
	f := pledge.SupporterFilter{Sort: pledge.SortTotal, Currency: "usd", Limit: 51}
	b.ResetTimer()
	for b.Loop() {
		if _, err := db.ListSupporters(ctx, f); err != nil {
			b.Fatal(err)
		}
		if _, err := db.CountSupporters(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/page")
}
