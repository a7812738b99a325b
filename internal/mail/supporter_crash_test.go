package mail_test

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/mail"
	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/sqlite"
	"github.com/pledge-news/pledge/internal/testkit"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
)

func newSupporterMail(t *testing.T, db *sqlite.DB, smtpURL string) *mail.SupporterMail {
	t.Helper()
	base, _ := url.Parse("https://support.news.example")
	m, err := mail.New(mail.Config{URL: smtpURL, From: "Daily Bugle <support@news.example>", Org: "Daily Bugle", BaseURL: base,
		Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &mail.SupporterMail{
		Queue:  db,
		Mailer: m,
		Links: mail.Links{
			Manage:      func(*pledge.OutgoingMail, string, time.Time) string { return "https://support.news.example/manage/x" },
			Unsubscribe: func(int64, pledge.MailKind) string { return "https://support.news.example/mail/unsubscribe?token=x" },
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// firstGift records a paid one-off gift through the ledger, which enqueues its thank-you.
func firstGift(t *testing.T, db *sqlite.DB, name string) {
	t.Helper()
	ctx := context.Background()
	c, err := db.CreateCheckout(ctx, &pledge.Checkout{Nonce: name, Frequency: pledge.Once, Amount: pledge.Money{Amount: 500, Currency: "usd"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.ApplyEvent(ctx, &pledge.LedgerEvent{ID: "evt_" + name, Type: "checkout.session.completed", Created: db.Now(),
		ObjectID: "cs_" + name, Fact: &pledge.CheckoutCompleted{SessionID: "cs_" + name, CheckoutID: c.ID, Paid: true,
			Meta:     pledge.Metadata{CheckoutID: c.ID, Frequency: pledge.Once},
			Customer: pledge.Customer{StripeID: "cus_" + name, Email: name + "@example.com"}, Amount: c.Amount, PaymentIntent: "pi_" + name}})
	if err != nil {
		t.Fatal(err)
	}
}

// A sender that claimed a supporter e-mail and died before sending it (claimed through the store,
// never sent) leaves a claim behind. Within the lease the next sender leaves it alone; past the
// lease it gives it up, recorded as such, and never sends it: the first sender may have sent it
// already, and at most once is the promise, as for reminders.
func TestSupporterMailCrashBetweenClaimAndSend(t *testing.T) {
	ctx := context.Background()
	mp := testkit.Mailpit(t)
	clk := testkit.NewClock(t0)
	db := storetest.Open(t, clk)
	firstGift(t, db, "crash")
	claimed, err := db.ClaimDueMail(ctx, "crashed-sender", nil, 10)
	if err != nil || len(claimed) != 1 || claimed[0].Kind != pledge.MailThanks {
		t.Fatalf("claim: %d %v", len(claimed), err)
	}
	// The crashed sender's process is gone: nothing reports its claim.
	s := newSupporterMail(t, db, mp.SMTPURL)
	if res, err := s.SendDue(ctx); err != nil || res.Sent != 0 || res.Stale != 0 {
		t.Fatalf("within the lease: %+v %v; want nothing sent or given up", res, err)
	}
	clk.Add(11 * time.Minute) // past the 10-minute lease
	if res, err := s.SendDue(ctx); err != nil || res.Sent != 0 || res.Stale != 1 {
		t.Fatalf("past the lease: %+v %v; want 1 given up, 0 sent", res, err)
	}
	clk.Add(24 * time.Hour)
	if res, err := s.SendDue(ctx); err != nil || res.Sent+res.Stale+res.Retried+res.GivenUp != 0 {
		t.Fatalf("a day later: %+v %v; want nothing", res, err)
	}
	// Mailpit stores a message before its SMTP server acknowledges it: had a round sent anything,
	// it would be listed by now.
	if n := len(mp.Messages()); n != 0 {
		t.Fatalf("mailpit holds %d messages, want 0", n)
	}
	mails, err := db.SupporterMails(ctx, claimed[0].SupporterID)
	if err != nil || len(mails) != 1 || mails[0].Status != pledge.MailGivenUp || !mails[0].SentAt.IsZero() {
		t.Fatalf("outbox row: %+v %v; want given up, never sent", mails, err)
	}
	// The crashed sender comes back and reports its send: its claim is no longer its own, so the
	// row stays given up.
	if err := db.MarkMailSent(ctx, claimed[0]); err != nil {
		t.Fatal(err)
	}
	if mails, _ := db.SupporterMails(ctx, claimed[0].SupporterID); mails[0].Status != pledge.MailGivenUp {
		t.Fatalf("a late report turned the row %q", mails[0].Status)
	}
}
