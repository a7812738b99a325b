package mail

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

func supporterMailer(t *testing.T, neutral bool) *Mailer {
	t.Helper()
	base, _ := url.Parse("https://support.news.example")
	m, err := New(Config{URL: "smtp://127.0.0.1:1025", From: "News <support@news.example>", Org: "The Riverside Ledger",
		BaseURL: base, LegalName: "Riverside Media Ltd", Address: "1 Quay Street\nRivertown", NeutralSubjects: neutral})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var testLinks = Links{
	Manage: func(m *pledge.OutgoingMail, action string, exp time.Time) string {
		return "https://support.news.example/manage/" + action
	},
	Unsubscribe: func(id int64, k pledge.MailKind) string {
		return "https://support.news.example/mail/unsubscribe?k=" + string(k)
	},
}

func outgoing(kind pledge.MailKind) *pledge.OutgoingMail {
	usd := func(n int64) pledge.Money { return pledge.Money{Amount: n, Currency: "usd"} }
	when := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	o := &pledge.OutgoingMail{ID: 1, Kind: kind, SupporterID: 7, Email: "ann@example.com", Amount: usd(6000), Due: when,
		Frequency: pledge.Annual}
	switch kind {
	case pledge.MailThanks:
		o.Gift = &pledge.Donation{Frequency: pledge.Monthly, Amount: usd(500), PaidAt: when}
	case pledge.MailStatement:
		o.Statement = pledge.NewStatement(7, "ann@example.com", "Ann", 2026, []pledge.StatementGift{
			{PaidAt: when, Amount: usd(500), Frequency: pledge.Monthly},
			{PaidAt: when, Amount: usd(2500), Refunded: 500, Frequency: pledge.Once},
			{PaidAt: when, Amount: pledge.Money{Amount: 300, Currency: "eur"}, Frequency: pledge.Once},
		})
	}
	return o
}

// Every kind but the statement (a receipt) carries a one-click unsubscribe for its kind; a
// neutral subject names neither the newsroom nor the cause.
func TestSupporterMessages(t *testing.T) {
	for _, neutral := range []bool{false, true} {
		m := supporterMailer(t, neutral)
		for _, kind := range pledge.MailKinds {
			msg, err := m.SupporterMessage(outgoing(kind), testLinks)
			if err != nil {
				t.Fatal(err)
			}
			unsub := msg.Headers["List-Unsubscribe"]
			if kind.Unsubscribable() != (unsub == "<https://support.news.example/mail/unsubscribe?k="+string(kind)+">") ||
				kind.Unsubscribable() != (msg.Headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click") {
				t.Errorf("%s: headers %v", kind, msg.Headers)
			}
			if neutral == strings.Contains(msg.Subject, "Riverside") {
				t.Errorf("%s (neutral %v): subject %q", kind, neutral, msg.Subject)
			}
		}
	}
	msg, _ := supporterMailer(t, false).SupporterMessage(outgoing(pledge.MailStatement), testLinks)
	for _, want := range []string{"USD  $30.00  $5.00  $25.00", "EUR  €3.00  €0.00  €3.00", "Issued by Riverside Media Ltd, 1 Quay Street, Rivertown."} {
		if !strings.Contains(msg.Text, want) {
			t.Errorf("statement lacks %q:\n%s", want, msg.Text)
		}
	}
	msg, _ = supporterMailer(t, false).SupporterMessage(outgoing(pledge.MailRecovery), testLinks)
	if !strings.Contains(msg.Text, "Update my payment method: https://support.news.example/manage/recover") ||
		!strings.Contains(msg.Text, "We will try again on 1 March 2026") {
		t.Errorf("recovery:\n%s", msg.Text)
	}
}
