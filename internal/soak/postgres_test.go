package soak

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/postgres"
	"github.com/pledge-news/pledge/internal/testkit"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
)

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// openPostgres opens the database through the store's engine, so the checks' SQL (with ?
// placeholders) is the same on both engines.
func openPostgres(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := postgres.Open(dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// createDatabase makes a database on the server at serverURL and returns its URL.
func createDatabase(t *testing.T, serverURL, name string) string {
	t.Helper()
	admin := openPostgres(t, serverURL)
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(serverURL)
	u.Path = "/" + name
	return u.String()
}

// TestSoakTwoInstancesOnePostgres is issue 17's soak: two `pledge serve` on one PostgreSQL, 200
// clients spread over both, PostgreSQL restarted once in the middle, and `pledge reminders send`
// running on both instances at once before, during and after the restart. Every acknowledged
// write is kept, no event is applied twice, no e-mail leaves twice, and the only 5xx answers are
// 503s (the database was down), never a 500.
func TestSoakTwoInstancesOnePostgres(t *testing.T) {
	d := soakDuration(t)
	pg := testkit.StartPostgres(t)
	dsn := createDatabase(t, pg.URL, "pledge")
	stripe := testkit.StripeMock(t)
	mp := testkit.Mailpit(t)
	maxEvents := int(d.Seconds()*1000) + 2000
	prepareCheckouts(t, dsn, maxEvents)
	key := dataKey(t)
	addresses := prepareDueReminders(t, dsn, key, 60)

	mailEnv := []string{"PLEDGE_SMTP_URL=" + mp.SMTPURL, "PLEDGE_MAIL_FROM=Pledge soak <support@news.example>"}
	a := newServerOn(t, stripe, dsn, key, mailEnv...)
	b := newServerOn(t, stripe, dsn, key, mailEnv...)
	a.start()
	b.start()

	l := newLoad(maxEvents, mix{Prompt: 40, Remind: 25, Donate: 10, Webhook: 25}, a.base, b.base)
	// The load runs for d/2, through the restart, and for d/2 after PostgreSQL is back.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var senders sync.WaitGroup
	var sendMu sync.Mutex
	var sendOut []string
	// Both instances send reminders at once, several times: before, across and after the restart.
	sendBoth := func() {
		for _, s := range []*server{a, b} {
			senders.Add(1)
			go func() {
				defer senders.Done()
				out := s.remindersSend(mailEnv)
				sendMu.Lock()
				sendOut = append(sendOut, out)
				sendMu.Unlock()
			}()
		}
	}
	restarted := make(chan int, 1)
	go func() {
		sendBoth()
		time.Sleep(d / 2) // the load's first half
		sendBoth()
		pg.Restart(time.Second)
		_, acked, _ := l.snapshot()
		restarted <- len(acked)
		sendBoth()
		time.Sleep(d / 2) // the load's second half, with the database back
		cancel()
	}()
	l.run(ctx, 200)
	ackedAtRestart := <-restarted
	senders.Wait()
	sendBoth()
	senders.Wait()
	a.stop()
	b.stop()
	t.Logf("two instances, one PostgreSQL restarted, soak %s, 200 clients: %s; transport errors %d", d, l.tally.String(), l.transportErr.Load())

	for k, n := range l.tally.serverErrors() {
		if !strings.HasSuffix(k, " 503") {
			t.Errorf("%d answers %q: only 503 may answer while the database is down; errors logged:\n%s", n, k, distinctErrors(a.logs()+b.logs()))
		}
	}
	if n := l.transportErr.Load(); n > 0 {
		t.Errorf("%d requests got no answer at all, e.g. %v", n, l.errSamples)
	}
	readers, acked, _ := l.snapshot()
	if len(acked) <= ackedAtRestart {
		t.Errorf("no event was acknowledged after the restart (%d before, %d in all): the instances did not recover; errors logged:\n%s",
			ackedAtRestart, len(acked), distinctErrors(a.logs()+b.logs()))
	}
	db := a.query(t)
	checkKept(t, db, readers, acked)
	checkOnce(t, db)

	// No reminder left twice, whichever instances and senders raced for it. A reminder whose
	// sender lost the database between claiming and recording it stays claimed (then given up:
	// at most once is the promise); every other one was sent, and every one recorded as sent
	// is in the inbox.
	t.Logf("senders said:\n%s", strings.Join(sendOut, "\n"))
	status := map[string]string{}
	rows, err := db.Query(`SELECT reader_id, reminder_status FROM deferrals WHERE reader_id LIKE 'rdr_due_%'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, st string
		if err := rows.Scan(&id, &st); err != nil {
			t.Fatal(err)
		}
		status[id] = st
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	wantSent := 0
	for _, st := range status {
		if st == string(pledge.ReminderSent) {
			wantSent++
		}
	}
	msgs := mp.WaitMessages(wantSent, 30*time.Second)
	inbox := map[string]int{}
	for _, m := range msgs {
		for _, to := range m.To {
			inbox[to.Address]++
		}
	}
	unsent := 0
	for i, addr := range addresses {
		st := status[fmt.Sprintf("rdr_due_%03d", i)]
		switch {
		case inbox[addr] > 1:
			t.Errorf("%s got %d reminders: an e-mail left twice", addr, inbox[addr])
		case st == string(pledge.ReminderSent) && inbox[addr] != 1:
			t.Errorf("%s is recorded as sent but is not in the inbox", addr)
		case st != string(pledge.ReminderSent) && st != string(pledge.ReminderClaimed) && st != string(pledge.ReminderGivenUp):
			t.Errorf("%s is still %q after every sender ran with the database back", addr, st)
		case st != string(pledge.ReminderSent):
			unsent++
		}
	}
	if unsent > len(addresses)/2 {
		t.Errorf("%d of %d due reminders were caught by the restart: more than the senders in flight could hold", unsent, len(addresses))
	}
	t.Logf("%d due reminders: %d sent once, %d claimed when the database went away (at most once: not sent again)",
		len(addresses), len(addresses)-unsent, unsent)
	scanLogs(t, a.logs()+b.logs())
}

// prepareDueReminders stores n deferrals with an address, made eight days ago with "remind me
// in a week", so that they are due; it returns the addresses.
func prepareDueReminders(t *testing.T, dsn, key string, n int) []string {
	t.Helper()
	ctx := context.Background()
	past := testkit.NewClock(time.Now().Add(-8 * 24 * time.Hour))
	db := storetest.OpenAt(t, dsn, past, storetest.SealedBy(t, key))
	defer db.Close() // before the servers start, not when the test ends
	var out []string
	for i := range n {
		addr := fmt.Sprintf("due.%03d@example.com", i)
		if _, err := db.Defer(ctx, &pledge.Deferral{ReaderID: fmt.Sprintf("rdr_due_%03d", i), Article: article,
			Choice: pledge.ChoiceWeek, Email: addr}); err != nil {
			t.Fatal(err)
		}
		out = append(out, addr)
	}
	return out
}

// remindersSend runs `pledge reminders send` as this instance would (its database, key and
// mail settings) and returns what it printed.
func (s *server) remindersSend(env []string) string {
	cmd := exec.Command(pledgeBin, "reminders", "send")
	cmd.Env = append(os.Environ(), "PLEDGE_DB="+s.db, "PLEDGE_BASE_URL="+s.base, "PLEDGE_METRICS_ADDR=",
		"PLEDGE_SECRET=soak-signing-secret-0123456789abcdef", "PLEDGE_CONFIG=", "STRIPE_SECRET_KEY=sk_test_soak",
		"STRIPE_WEBHOOK_SECRET="+webhookSecret, "STRIPE_API_BASE="+s.stripe)
	cmd.Env = append(cmd.Env, s.env...)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return fmt.Sprintf("%s (%v)", strings.TrimSpace(string(out)), err)
}

// distinctErrors lists the different error messages in the logs, with how often each came.
func distinctErrors(logs string) string {
	counts := map[string]int{}
	for _, line := range strings.Split(logs, "\n") {
		if _, e, ok := strings.Cut(line, `"err":"`); ok {
			e, _, _ = strings.Cut(e, `"`)
			counts[e]++
		}
	}
	var out []string
	for e, n := range counts {
		out = append(out, fmt.Sprintf("%6d  %.200s", n, e))
	}
	return strings.Join(out, "\n")
}

// TestCardTestingLimitHoldsAcrossInstances: with PLEDGE_INSTANCES=2, a client whose POST /donate
// attempts alternate between two instances gets no more than PLEDGE_DONATE_LIMIT in all (each
// instance allows its half), where two instances each allowing the whole limit would let twice
// as many through.
func TestCardTestingLimitHoldsAcrossInstances(t *testing.T) {
	stripe := testkit.StripeMock(t)
	dsn := testkit.PostgresDSN(t)
	key := dataKey(t)
	limits := []string{"PLEDGE_INSTANCES=2", "PLEDGE_DONATE_LIMIT=6/1h", "PLEDGE_DONATE_GLOBAL_LIMIT=1000/1h"}
	a := newServerOn(t, stripe, dsn, key, limits...)
	b := newServerOn(t, stripe, dsn, key, limits...)
	a.start()
	b.start()
	hc := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	codes := map[int]int{}
	for i := range 20 {
		base := []string{a.base, b.base}[i%2]
		resp, err := postForm(context.Background(), hc, base, "/donate", url.Values{"frequency": {"once"}, "amount": {"10"},
			"currency": {"usd"}, "article": {article}, "nonce": {nonce()}}, "text/html")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes[resp.StatusCode]++
	}
	if codes[http.StatusSeeOther] != 6 || codes[http.StatusTooManyRequests] != 14 {
		t.Errorf("20 attempts over two instances with a limit of 6: %v; want 6 through (303) and 14 refused (429)", codes)
	}
}

// TestSameEventAtTwoInstancesAtOnce: Stripe delivers each event to two instances at the same
// instant; each answers 200, exactly one applies it and the other finds it recorded, and the
// ledger holds one donation per event.
func TestSameEventAtTwoInstancesAtOnce(t *testing.T) {
	stripe := testkit.StripeMock(t)
	dsn := testkit.PostgresDSN(t)
	const events = 40
	prepareCheckouts(t, dsn, events)
	key := dataKey(t)
	a := newServerOn(t, stripe, dsn, key)
	b := newServerOn(t, stripe, dsn, key)
	a.start()
	b.start()
	hc := &http.Client{Timeout: 30 * time.Second}
	outcomes := map[string]int{}
	for i := range events {
		payload := completedEvent(i)
		start := make(chan struct{})
		var wg sync.WaitGroup
		got := make([]string, 2)
		for j, base := range []string{a.base, b.base} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: webhookSecret, Timestamp: time.Now()})
				req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/stripe", bytes.NewReader(payload))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Stripe-Signature", sig.Header)
				resp, err := hc.Do(req)
				if err != nil {
					got[j] = err.Error()
					return
				}
				defer resp.Body.Close()
				var body struct{ Outcome string }
				_ = json.NewDecoder(resp.Body).Decode(&body)
				got[j] = fmt.Sprintf("%d %s", resp.StatusCode, body.Outcome)
			}()
		}
		close(start)
		wg.Wait()
		slices.Sort(got)
		outcomes[strings.Join(got, " + ")]++
	}
	if outcomes["200 applied + 200 duplicate"] != events {
		t.Errorf("each event sent to both instances at once: %v; want every one applied once and found recorded once", outcomes)
	}
	db := a.query(t)
	checkOnce(t, db)
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM donations WHERE checkout_id LIKE 'co_soak_%'`).Scan(&n); err != nil || n != events {
		t.Errorf("%d donations for %d events (%v)", n, events, err)
	}
}
