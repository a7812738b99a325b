package mail_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/mail"
	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/sqlite"
	"github.com/pledge-news/pledge/internal/testkit"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
)

var t0 = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

func newReminders(t *testing.T, q pledge.ReminderQueue, smtpURL string) *mail.Reminders {
	t.Helper()
	base, _ := url.Parse("https://support.news.example")
	m, err := mail.New(mail.Config{URL: smtpURL, From: "Daily Bugle <support@news.example>", Org: "Daily Bugle", BaseURL: base, Timeout: 5 * time.Second,
		ArticleOrigins: []string{"https://news.example"}})
	if err != nil {
		t.Fatal(err)
	}
	return &mail.Reminders{
		Queue:  q,
		Mailer: m,
		UnsubscribeURL: func(id int64) string {
			return fmt.Sprintf("https://support.news.example/reminders/unsubscribe?token=t%d", id)
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Batch:  3,
	}
}

func defer1(t *testing.T, db *sqlite.DB, reader, email string, f pledge.Frequency) *pledge.Deferral {
	t.Helper()
	d, err := db.Defer(context.Background(), &pledge.Deferral{ReaderID: reader, Choice: pledge.ChoiceWeek, Email: email,
		Frequency: f, Article: "https://news.example/story"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestReminderEmailContent(t *testing.T) {
	ctx := context.Background()
	mp := testkit.Mailpit(t)
	clk := testkit.NewClock(t0)
	db := storetest.Open(t, clk)
	d := defer1(t, db, "rd_1", "reader@example.com", pledge.Monthly)
	rem := newReminders(t, db, mp.SMTPURL)

	clk.Add(8 * 24 * time.Hour)
	res, err := rem.SendDue(ctx)
	if err != nil || res.Sent != 1 {
		t.Fatalf("SendDue = %+v, %v; want 1 sent", res, err)
	}
	msgs := mp.WaitMessages(1, 10*time.Second)
	msg := mp.Message(msgs[0].ID)
	if len(msg.To) != 1 || msg.To[0].Address != "reader@example.com" {
		t.Fatalf("to = %+v", msg.To)
	}
	if !strings.Contains(msg.Subject, "Daily Bugle") {
		t.Fatalf("subject %q lacks the newsroom's name", msg.Subject)
	}
	unsub := fmt.Sprintf("https://support.news.example/reminders/unsubscribe?token=t%d", d.ID)
	if got := msg.Header("List-Unsubscribe"); got != "<"+unsub+">" {
		t.Fatalf("List-Unsubscribe = %q", got)
	}
	if got := msg.Header("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Fatalf("List-Unsubscribe-Post = %q", got)
	}
	links := strings.Join(msg.Links(), "\n")
	donate := "https://support.news.example/donate?article=https%3A%2F%2Fnews.example%2Fstory&frequency=monthly&lang=en&utm_source=reminder"
	for _, want := range []string{donate, unsub, "https://support.news.example/manage"} {
		if !strings.Contains(links, want) {
			t.Errorf("HTML links lack %s:\n%s", want, links)
		}
		if !strings.Contains(msg.Text, want) {
			t.Errorf("text part lacks %s", want)
		}
	}

	// A second run sends nothing, and the address is gone from the row.
	if res, err := rem.SendDue(ctx); err != nil || res.Sent != 0 {
		t.Fatalf("second SendDue = %+v, %v", res, err)
	}
	if n := len(mp.Messages()); n != 1 {
		t.Fatalf("mailpit holds %d messages after a second run, want 1", n)
	}
	got, _ := db.FindDeferral(ctx, d.ID)
	if got.Status != pledge.ReminderSent || got.Email != "" {
		t.Fatalf("after sending: status %q email %q", got.Status, got.Email)
	}
}

// A reader who asked in Russian gets the reminder in Russian, and its links open the pages in
// Russian; a language the service no longer speaks gets the default.
func TestReminderEmailInReadersLanguage(t *testing.T) {
	ctx := context.Background()
	mp := testkit.Mailpit(t)
	clk := testkit.NewClock(t0)
	db := storetest.Open(t, clk)
	for _, d := range []*pledge.Deferral{
		{ReaderID: "rd_ru", Choice: pledge.ChoiceWeek, Email: "ru@example.com", Frequency: pledge.Monthly, Lang: "ru"},
		{ReaderID: "rd_xx", Choice: pledge.ChoiceWeek, Email: "xx@example.com", Lang: "uk"},
	} {
		if _, err := db.Defer(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	rem := newReminders(t, db, mp.SMTPURL)
	clk.Add(8 * 24 * time.Hour)
	if res, err := rem.SendDue(ctx); err != nil || res.Sent != 2 {
		t.Fatalf("SendDue = %+v, %v; want 2 sent", res, err)
	}
	byTo := map[string]string{}
	for _, m := range mp.WaitMessages(2, 10*time.Second) {
		msg := mp.Message(m.ID)
		byTo[msg.To[0].Address] = m.ID
	}
	ru := mp.Message(byTo["ru@example.com"])
	if ru.Subject != "Напоминание от Daily Bugle" {
		t.Fatalf("subject %q", ru.Subject)
	}
	for _, want := range []string{"Здравствуйте!", "Поддержать Daily Bugle (ежемесячно):", "lang=ru", "Отписаться:"} {
		if !strings.Contains(ru.Text, want) {
			t.Errorf("Russian text lacks %q:\n%s", want, ru.Text)
		}
	}
	if !strings.Contains(ru.HTML, `<html lang="ru"`) || !strings.Contains(ru.HTML, "Вот напоминание, о котором вы просили") {
		t.Errorf("Russian HTML:\n%s", ru.HTML)
	}
	if other := mp.Message(byTo["xx@example.com"]); other.Subject != "Your reminder from Daily Bugle" {
		t.Fatalf("a language the service lacks: subject %q, want the default's", other.Subject)
	}
}

func TestManageLinkMessageInLanguage(t *testing.T) {
	r := newReminders(t, nil, "smtp://127.0.0.1:1")
	for _, tc := range []struct{ lang, subject, text string }{
		{"ru", "Ссылка для управления поддержкой Daily Bugle", "Отменить регулярную поддержку:"},
		{"en", "Your link to manage your support for Daily Bugle", "Cancel my recurring support:"},
		{"", "Your link to manage your support for Daily Bugle", "Each link works once, for one hour."},
	} {
		msg, err := r.Mailer.ManageLinkMessage("a@example.com", tc.lang, "https://m/1", "https://m/2")
		if err != nil {
			t.Fatal(err)
		}
		if msg.Subject != tc.subject || !strings.Contains(msg.Text, tc.text) || !strings.Contains(msg.Text, "https://m/2") {
			t.Errorf("%q: subject %q, text:\n%s", tc.lang, msg.Subject, msg.Text)
		}
	}
}

// Two senders on the same database (as serve's timer and `pledge reminders send`) deliver every
// due reminder exactly once between them.
func TestRemindersTwoSendersAtMostOnce(t *testing.T) {
	ctx := context.Background()
	mp := testkit.Mailpit(t)
	clk := testkit.NewClock(t0)
	path := testkit.StoreDSN(t)
	db1 := storetest.OpenAt(t, path, clk)
	db2 := storetest.OpenAt(t, path, clk)
	const n = 12
	for i := range n {
		defer1(t, db1, fmt.Sprintf("rd_%d", i), fmt.Sprintf("r%d@example.com", i), "")
	}
	clk.Add(8 * 24 * time.Hour)
	var wg sync.WaitGroup
	results := make([]mail.Result, 2)
	for i, db := range []*sqlite.DB{db1, db2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if results[i], err = newReminders(t, db, mp.SMTPURL).SendDue(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := results[0].Sent + results[1].Sent; got != n {
		t.Fatalf("sent %d+%d, want %d in all", results[0].Sent, results[1].Sent, n)
	}
	msgs := mp.WaitMessages(n, 10*time.Second)
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.To[0].Address]++
	}
	for addr, c := range seen {
		if c != 1 {
			t.Errorf("%s got %d reminders", addr, c)
		}
	}
	if len(msgs) != n || len(seen) != n {
		t.Fatalf("%d messages to %d addresses, want %d each", len(msgs), len(seen), n)
	}
}

// A sender that crashed between claim and send leaves a claim behind: the next run gives it up
// (recorded, address erased) instead of sending it, since the first may have sent it already.
func TestRemindersCrashBetweenClaimAndSend(t *testing.T) {
	ctx := context.Background()
	mp := testkit.Mailpit(t)
	clk := testkit.NewClock(t0)
	db := storetest.Open(t, clk)
	d := defer1(t, db, "rd_1", "crash@example.com", "")
	clk.Add(8 * 24 * time.Hour)
	if claimed, err := db.ClaimDueReminders(ctx, "crashed-sender", 10); err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %d %v", len(claimed), err)
	}
	rem := newReminders(t, db, mp.SMTPURL)
	if res, err := rem.SendDue(ctx); err != nil || res.Sent != 0 || res.Stale != 0 {
		t.Fatalf("within the lease: %+v %v; want nothing sent or given up", res, err)
	}
	clk.Add(11 * time.Minute)
	if res, err := rem.SendDue(ctx); err != nil || res.Sent != 0 || res.Stale != 1 {
		t.Fatalf("past the lease: %+v %v; want 1 given up, 0 sent", res, err)
	}
	if n := len(mp.Messages()); n != 0 {
		t.Fatalf("mailpit holds %d messages, want 0", n)
	}
	got, _ := db.FindDeferral(ctx, d.ID)
	if got.Status != pledge.ReminderGivenUp || got.Email != "" {
		t.Fatalf("status %q email %q, want given_up and no address", got.Status, got.Email)
	}
}

// A send that fails is retried after backoff and delivered once the server is back.
func TestRemindersRetryAfterFailure(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(t0)
	db := storetest.Open(t, clk)
	d := defer1(t, db, "rd_1", "retry@example.com", "")
	clk.Add(8 * 24 * time.Hour)
	down := newReminders(t, db, fmt.Sprintf("smtp://127.0.0.1:%d", testkit.FreePort(t)))
	down.Backoff = time.Minute
	if res, err := down.SendDue(ctx); err != nil || res.Retried != 1 || res.Sent != 0 {
		t.Fatalf("with SMTP down: %+v %v; want 1 retried", res, err)
	}
	got, _ := db.FindDeferral(ctx, d.ID)
	if got.Status != pledge.ReminderPending || got.Email == "" || !got.NextAttemptAt.Equal(clk.Now().Add(time.Minute)) {
		t.Fatalf("after a failure: %+v; want pending, address kept, next attempt in a minute", got)
	}
	mp := testkit.Mailpit(t)
	up := newReminders(t, db, mp.SMTPURL)
	if res, _ := up.SendDue(ctx); res.Sent != 0 {
		t.Fatal("retried before the backoff")
	}
	clk.Add(time.Minute)
	if res, err := up.SendDue(ctx); err != nil || res.Sent != 1 {
		t.Fatalf("after the backoff: %+v %v", res, err)
	}
	mp.WaitMessages(1, 10*time.Second)
}

// quitDropper is an SMTP server that accepts every message (250 after DATA) and then drops the
// connection on QUIT without answering, as a flaky relay or a dropped link does. With
// silentAfterData it drops the connection instead of answering the message: it received it, but
// the sender cannot know whether it was accepted. accepted counts the messages it received.
func quitDropper(t *testing.T, silentAfterData bool) (addr string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted = &atomic.Int32{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				r := bufio.NewReader(c)
				fmt.Fprint(c, "220 test ESMTP\r\n")
				inData := false
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if inData {
						if line == ".\r\n" {
							inData = false
							accepted.Add(1)
							if silentAfterData {
								return
							}
							fmt.Fprint(c, "250 queued\r\n")
						}
						continue
					}
					switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
					case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
						fmt.Fprint(c, "250-test\r\n250 8BITMIME\r\n")
					case strings.HasPrefix(cmd, "DATA"):
						inData = true
						fmt.Fprint(c, "354 go on\r\n")
					case strings.HasPrefix(cmd, "QUIT"):
						return // no 221: the message was accepted all the same
					default:
						fmt.Fprint(c, "250 ok\r\n")
					}
				}
			}(c)
		}
	}()
	return ln.Addr().String(), accepted
}

// A message the server accepted (250 after DATA) is sent, even when QUIT then fails: counting it
// failed would send the reader a second copy after the backoff.
func TestReminderNotResentWhenOnlyQuitFails(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(t0)
	db := storetest.Open(t, clk)
	defer1(t, db, "rd_q", "quit@example.com", "")
	clk.Add(8 * 24 * time.Hour)
	addr, accepted := quitDropper(t, false)
	r := newReminders(t, db, "smtp://"+addr)
	r.Backoff = time.Minute
	r.SendDue(ctx)
	clk.Add(time.Hour)
	r.SendDue(ctx)
	if n := accepted.Load(); n != 1 {
		t.Fatalf("the SMTP server accepted %d copies of one reminder, want 1", n)
	}
}

// A message whose answer never came (the connection dropped after the final ".") may have been
// accepted: the reminder is given up rather than sent again.
func TestReminderGivenUpWhenDeliveryIsUnknown(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(t0)
	db := storetest.Open(t, clk)
	d := defer1(t, db, "rd_u", "unknown@example.com", "")
	clk.Add(8 * 24 * time.Hour)
	addr, accepted := quitDropper(t, true)
	r := newReminders(t, db, "smtp://"+addr)
	r.Backoff = time.Minute
	if res, err := r.SendDue(ctx); err != nil || res.GivenUp != 1 {
		t.Fatalf("first run: %+v %v; want 1 given up", res, err)
	}
	clk.Add(time.Hour)
	r.SendDue(ctx)
	if n := accepted.Load(); n != 1 {
		t.Fatalf("the SMTP server received %d copies of one reminder, want 1", n)
	}
	got, _ := db.FindDeferral(ctx, d.ID)
	if got.Status != pledge.ReminderGivenUp || got.Email != "" {
		t.Fatalf("status %q email %q, want given_up and no address", got.Status, got.Email)
	}
}

// A stored article on another origin than the newsroom's (stored before /remind checked it) is
// neither shown nor carried into the donate link.
func TestReminderMessageDropsForeignArticle(t *testing.T) {
	r := newReminders(t, nil, "smtp://127.0.0.1:25")
	msg, err := r.Mailer.ReminderMessage(&pledge.Reminder{DeferralID: 1, Email: "a@example.com", Article: "https://evil.example/login"},
		"https://support.news.example/reminders/unsubscribe?token=t1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(msg.Text+msg.HTML, "evil.example") {
		t.Fatalf("the reminder links a foreign article:\n%s", msg.Text)
	}
}

// failingMarks is the store with MarkReminderSent failing once, as a locked or full disk would.
type failingMarks struct {
	pledge.ReminderQueue
	failed bool
}

func (q *failingMarks) MarkReminderSent(ctx context.Context, r *pledge.Reminder) error {
	if !q.failed {
		q.failed = true
		return fmt.Errorf("database is locked")
	}
	return q.ReminderQueue.MarkReminderSent(ctx, r)
}

// A store error while marking one reminder stops the round, but the rest of the claimed batch goes
// back to the queue and is sent later, rather than waiting out the lease to be given up unsent.
func TestRemindersStoreErrorReleasesTheBatch(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(t0)
	db := storetest.Open(t, clk)
	var ids []int64
	for i := range 3 {
		ids = append(ids, defer1(t, db, fmt.Sprintf("rd_%d", i), fmt.Sprintf("r%d@example.com", i), "").ID)
	}
	clk.Add(8 * 24 * time.Hour)
	addr, accepted := quitDropper(t, false)
	r := newReminders(t, &failingMarks{ReminderQueue: db}, "smtp://"+addr)
	r.Backoff = time.Minute
	if _, err := r.SendDue(ctx); err == nil {
		t.Fatal("the store error was not reported")
	}
	var pending int
	for _, id := range ids {
		if d, _ := db.FindDeferral(ctx, id); d.Status == pledge.ReminderPending && d.Email != "" {
			pending++
		}
	}
	if accepted.Load() != 1 || pending != 2 {
		t.Fatalf("after the error: %d sent, %d back in the queue; want 1 and 2", accepted.Load(), pending)
	}
	clk.Add(time.Minute)
	if res, err := r.SendDue(ctx); err != nil || res.Sent != 2 {
		t.Fatalf("next round: %+v %v; want the 2 released ones sent", res, err)
	}
	if n := accepted.Load(); n != 3 {
		t.Fatalf("%d messages, want 3 (one each)", n)
	}
}
