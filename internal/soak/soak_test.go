package soak

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/pledge-news/pledge/internal/testkit"
)

// TestSoak runs 200 concurrent clients mixing /prompt, /remind, /donate (stripe-mock) and signed
// webhooks for SOAK_DURATION: no 5xx, no "database is locked" in the logs, nothing secret or
// personal in the logs, and every acknowledged deferral and event kept.
func TestSoak(t *testing.T) {
	d := soakDuration(t)
	s := newServer(t, testkit.StripeMock(t))
	maxEvents := int(d.Seconds()*1500) + 2000
	prepareCheckouts(t, s.db, maxEvents)
	s.start()

	l := newLoad(maxEvents, mix{Prompt: 45, Remind: 20, Donate: 10, Webhook: 25}, s.base)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	l.run(ctx, 200)
	s.stop()
	t.Logf("soak %s, 200 clients: %s; transport errors %d", d, l.tally.String(), l.transportErr.Load())

	if bad := l.tally.serverErrors(); len(bad) > 0 {
		t.Errorf("5xx answers: %v", bad)
	}
	if n := l.transportErr.Load(); n > 0 {
		t.Errorf("%d requests got no answer at all, e.g. %v", n, l.errSamples)
	}
	for _, want := range []string{"/prompt 200", "/remind 201", "/donate 303", "/webhooks/stripe 200"} {
		if !strings.Contains(l.tally.String(), want+":") {
			t.Errorf("no %q answers during the soak: %s", want, l.tally.String())
		}
	}
	readers, acked, _ := l.snapshot()
	db := s.query(t)
	checkKept(t, db, readers, acked)
	checkIntegrity(t, db)
	checkOnce(t, db)
	scanLogs(t, s.logs())
}

// checkKept fails for any acknowledged deferral or event missing from the database.
func checkKept(t *testing.T, db *sql.DB, readers []string, acked []int) {
	t.Helper()
	have := func(q, id string) bool {
		var n int
		if err := db.QueryRow(q, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	missing := 0
	for _, r := range readers {
		if !have(`SELECT count(*) FROM deferrals WHERE reader_id = ?`, r) {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged deferrals are missing", missing, len(readers))
	}
	missing = 0
	for _, i := range acked {
		if !have(`SELECT count(*) FROM stripe_events WHERE id = ?`, "evt_"+soakID(i)) {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged events are missing", missing, len(acked))
	}
	if len(readers) == 0 || len(acked) == 0 {
		t.Errorf("nothing acknowledged to check: %d deferrals, %d events", len(readers), len(acked))
	}
}

// checkOnce fails if any prepared checkout was paid more than once (an event applied twice).
func checkOnce(t *testing.T, db *sql.DB) {
	t.Helper()
	var doubled int
	if err := db.QueryRow(`SELECT count(*) FROM (SELECT checkout_id FROM donations WHERE checkout_id LIKE 'co_soak_%'
		GROUP BY checkout_id HAVING count(*) > 1) AS doubled`).Scan(&doubled); err != nil {
		t.Fatal(err)
	}
	if doubled > 0 {
		t.Errorf("%d checkouts have more than one donation: an event was applied twice", doubled)
	}
}

func checkIntegrity(t *testing.T, db *sql.DB) {
	t.Helper()
	var res string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check = %q, %v", res, err)
	}
}

var (
	emailLike = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	cardLike  = regexp.MustCompile(`\b(?:\d[ -]?){12,18}\d\b`)
)

// scanLogs fails on "database is locked", a panic, a secret key or signing secret, an e-mail
// address or a card-like number (Luhn-valid) in the server's logs.
func scanLogs(t *testing.T, logs string) {
	t.Helper()
	if logs == "" {
		t.Fatal("no server logs to scan")
	}
	for _, p := range logProblems(logs) {
		t.Error(p)
	}
}

// logProblems lists what must never be in the logs, with the line it was found on.
func logProblems(logs string) []string {
	var out []string
	for _, bad := range []string{"database is locked", "SQLITE_BUSY", "panic", "sk_test_", "sk_live_", "whsec_"} {
		if i := strings.Index(logs, bad); i >= 0 {
			out = append(out, fmt.Sprintf("server log contains %q: %s", bad, line(logs, i)))
		}
	}
	if m := emailLike.FindStringIndex(logs); m != nil {
		out = append(out, "server log contains an e-mail address: "+line(logs, m[0]))
	}
	for _, m := range cardLike.FindAllStringIndex(logs, -1) {
		if luhn(logs[m[0]:m[1]]) {
			out = append(out, "server log contains a card-like number: "+line(logs, m[0]))
			break
		}
	}
	return out
}

func line(s string, i int) string {
	start := strings.LastIndexByte(s[:i], '\n') + 1
	end := strings.IndexByte(s[i:], '\n')
	if end < 0 {
		end = len(s) - i
	}
	return fmt.Sprintf("%.300s", s[start:i+end])
}

// luhn reports whether the digits of s pass the Luhn check that card numbers pass.
func luhn(s string) bool {
	var digits []int
	for _, r := range s {
		if r >= '0' && r <= '9' {
			digits = append(digits, int(r-'0'))
		}
	}
	sum := 0
	for i := range digits {
		d := digits[len(digits)-1-i]
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return len(digits) >= 13 && sum%10 == 0
}

func TestLogScanFindsWhatItLooksFor(t *testing.T) {
	for _, leak := range []string{
		`{"msg":"request","err":"database is locked"}`,
		`{"msg":"stripe","key":"sk_test_abc"}`,
		`{"msg":"verify","secret":"whsec_abc"}`,
		`{"msg":"remind","email":"reader@example.com"}`,
		`{"msg":"donate","card":"4242 4242 4242 4242"}`,
		`{"msg":"donate","card":"4000056655665556"}`,
	} {
		if len(logProblems(leak+"\n")) == 0 {
			t.Errorf("the log scan missed %s", leak)
		}
	}
	clean := `{"time":"2026-11-28T00:40:30.123456789Z","level":"INFO","msg":"request","route":"/prompt","status":200,"latency_ms":0.123,"request_id":"AbCdEf0123456789"}` + "\n"
	if p := logProblems(clean); len(p) > 0 {
		t.Errorf("the log scan flagged a clean line: %v", p)
	}
}
