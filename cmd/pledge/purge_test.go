package main

import (
	"strconv"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/testkit"
)

// TestPurgeKeepsTheFigures (issue 13, item 3): `pledge purge` forgets, past the retention
// period, abandoned checkouts, reader ids, finished reminder requests, recorded Stripe events
// and audit detail, and `pledge report` over all of history prints the same figures before and
// after.
func TestPurgeKeepsTheFigures(t *testing.T) {
	dbPath := testkit.StoreDSN(t)
	getenv := env("PLEDGE_DB", dbPath, "PLEDGE_DATA_KEY_FILE", "none")
	if _, errs, code := runCmd(t, getenv, "seed", "--donations", "2000", "--seed", "3"); code != 0 {
		t.Fatalf("seed: %d %s", code, errs)
	}
	report := func() string {
		to := time.Now().UTC().AddDate(0, 0, 1).Format("2006-01-02")
		out, errs, code := runCmd(t, getenv, "report", "--from", "2015-01-01", "--to", to, "--format", "csv")
		if code != 0 {
			t.Fatalf("report: %d %s", code, errs)
		}
		return out
	}
	count := func(q string) int {
		db := storeReader(t, dbPath)
		defer db.Close()
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	cut := time.Now().Add(-400 * 24 * time.Hour).Unix()
	old := func(what string) int { return count(what + " < " + itoa64(cut)) }
	const abandoned = `SELECT count(*) FROM checkouts WHERE status <> 'paid' AND id NOT IN (SELECT checkout_id FROM donations WHERE checkout_id IS NOT NULL) AND created_at`
	if old(abandoned) == 0 || old(`SELECT count(*) FROM checkouts WHERE reader_id <> '' AND created_at`) == 0 {
		t.Fatal("the seed has no old abandoned checkouts or reader ids: the test would prove nothing")
	}
	before := report()
	out, errs, code := runCmd(t, getenv, "purge", "--older-than", "400d")
	if code != 0 {
		t.Fatalf("purge: %d %s", code, errs)
	}
	t.Log(out)
	if got := report(); got != before {
		t.Fatalf("the report changed with the purge:\nbefore\n%s\nafter\n%s", before, got)
	}
	for what, q := range map[string]string{
		"abandoned checkouts": abandoned,
		"reader ids":          `SELECT count(*) FROM checkouts WHERE reader_id <> '' AND created_at`,
		"finished reminders":  `SELECT count(*) FROM deferrals WHERE reminder_status NOT IN ('pending', 'claimed') AND remind_at < ` + itoa64(cut) + ` AND updated_at`,
	} {
		if n := old(q); n != 0 {
			t.Errorf("%d old %s left", n, what)
		}
	}
	if n := count(`SELECT count(*) FROM checkouts WHERE created_at >= ` + itoa64(cut) + ` AND reader_id <> ''`); n == 0 {
		t.Error("recent reader ids were purged too")
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
