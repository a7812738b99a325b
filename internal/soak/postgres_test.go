package soak

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/seal"
	"github.com/pledge-news/pledge/internal/sqlite"
	"github.com/pledge-news/pledge/internal/testkit"
)

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func openPostgres(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
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
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var senders sync.WaitGroup
	var sendMu sync.Mutex
	var sendOut []string
	// Both instances send reminders at once, three times: before, across and after the restart.
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
		select {
		case <-time.After(d / 2): // the middle of the soak
		case <-ctx.Done():
		}
		_, acked, _ := l.snapshot()
		sendBoth()
		pg.Restart(time.Second)
		restarted <- len(acked)
		sendBoth()
	}()
	l.run(ctx, 200)
	ackedBefore := <-restarted
	senders.Wait()
	sendBoth()
	senders.Wait()
	a.stop()
	b.stop()
	t.Logf("two instances, one PostgreSQL restarted, soak %s, 200 clients: %s; transport errors %d", d, l.tally.String(), l.transportErr.Load())

	for k, n := range l.tally.serverErrors() {
		if !strings.HasSuffix(k, " 503") {
			t.Errorf("%d answers %q: only 503 may answer while the database is down", n, k)
		}
	}
	if n := l.transportErr.Load(); n > 0 {
		t.Errorf("%d requests got no answer at all, e.g. %v", n, l.errSamples)
	}
	readers, acked, _ := l.snapshot()
	if len(acked) <= ackedBefore {
		t.Errorf("no event was acknowledged after the restart (%d before, %d in all): the instances did not recover", ackedBefore, len(acked))
	}
	db := a.query(t)
	checkKept(t, db, readers, acked)
	checkOnce(t, db)

	// Each due reminder left exactly once, whichever instance sent it.
	msgs := mp.WaitMessages(len(addresses), 30*time.Second)
	sent := map[string]int{}
	for _, m := range msgs {
		for _, to := range m.To {
			sent[to.Address]++
		}
	}
	for _, addr := range addresses {
		if sent[addr] != 1 {
			t.Errorf("%s got %d reminders, want exactly 1", addr, sent[addr])
		}
	}
	if len(msgs) != len(addresses) {
		t.Errorf("%d e-mails left for %d due reminders; senders said:\n%s", len(msgs), len(addresses), strings.Join(sendOut, "\n"))
	}
	scanLogs(t, a.logs()+b.logs())
}

// prepareDueReminders stores n deferrals with an address, made eight days ago with "remind me
// in a week", so that they are due; it returns the addresses.
func prepareDueReminders(t *testing.T, dsn, key string, n int) []string {
	t.Helper()
	ctx := context.Background()
	db := sqlite.NewDB(dsn)
	keys, err := seal.ReadKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	if db.Sealer, err = seal.New(keys...); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-8 * 24 * time.Hour)
	db.Now = func() time.Time { return past }
	if err := db.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
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
