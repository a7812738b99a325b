package mail

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/testkit"
)

func supporterMailer(t *testing.T, protect *Protect) *Mailer {
	t.Helper()
	return supporterMailerAt(t, "smtp://127.0.0.1:1025", protect)
}

func supporterMailerAt(t *testing.T, smtpURL string, protect *Protect) *Mailer {
	t.Helper()
	base, _ := url.Parse("https://support.news.example")
	m, err := New(Config{URL: smtpURL, From: "News <support@news.example>", Org: "The Riverside Ledger",
		BaseURL: base, LegalName: "Riverside Media Ltd", Address: "1 Quay Street\nRivertown", Protect: protect})
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

// Every kind but the statement (a receipt) carries a one-click unsubscribe for its kind.
func TestSupporterMessages(t *testing.T) {
	m := supporterMailer(t, nil)
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
		if !strings.Contains(msg.Subject, "Riverside") || msg.From != "" {
			t.Errorf("%s: subject %q, sender %q; want the newsroom named, the configured sender", kind, msg.Subject, msg.From)
		}
	}
	msg, _ := m.SupporterMessage(outgoing(pledge.MailStatement), testLinks)
	for _, want := range []string{"USD  $30.00  $5.00  $25.00", "EUR  €3.00  €0.00  €3.00", "Issued by Riverside Media Ltd, 1 Quay Street, Rivertown."} {
		if !strings.Contains(msg.Text, want) {
			t.Errorf("statement lacks %q:\n%s", want, msg.Text)
		}
	}
	msg, _ = m.SupporterMessage(outgoing(pledge.MailRecovery), testLinks)
	if !strings.Contains(msg.Text, "Update my payment method: https://support.news.example/manage/recover") ||
		!strings.Contains(msg.Text, "We will try again on 1 March 2026") {
		t.Errorf("recovery:\n%s", msg.Text)
	}
}

// Protective mode (Config.Protect, off by default): every kind has the neutral subject and the
// neutral sender, names neither the newsroom nor the cause in its subject, and quotes no article.
func TestSupporterMessagesProtected(t *testing.T) {
	neutralFrom := "Notifications <notices@mail.example>"
	for _, p := range []*Protect{{From: neutralFrom, Subject: "Your account"}, {From: neutralFrom}} {
		m := supporterMailer(t, p)
		for _, kind := range pledge.MailKinds {
			o := outgoing(kind)
			if o.Gift != nil {
				o.Gift.Article = "https://news.example/undesirable-story"
			}
			msg, err := m.SupporterMessage(o, testLinks)
			if err != nil {
				t.Fatal(err)
			}
			want := p.Subject
			if want == "" {
				want = Subject(m.catalogue("en"), kind, "", 2026, true)
			}
			if msg.Subject != want || msg.From != neutralFrom {
				t.Errorf("%s (%+v): subject %q from %q; want %q from %q", kind, *p, msg.Subject, msg.From, want, neutralFrom)
			}
			for _, bad := range []string{"Riverside", "support", "gift"} {
				if strings.Contains(strings.ToLower(msg.Subject), strings.ToLower(bad)) {
					t.Errorf("%s: neutral subject %q names %q", kind, msg.Subject, bad)
				}
			}
			if strings.Contains(msg.Text+msg.HTML, "undesirable-story") {
				t.Errorf("%s quotes the article", kind)
			}
		}
	}
}

// The protected sender is the one the SMTP server sees in From.
func TestProtectedSenderIsSent(t *testing.T) {
	mp := testkit.Mailpit(t)
	m := supporterMailerAt(t, mp.SMTPURL, &Protect{From: "Notifications <notices@mail.example>"})
	msg, err := m.SupporterMessage(outgoing(pledge.MailThanks), testLinks)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	got := mp.Message(mp.WaitMessages(1, 10*time.Second)[0].ID)
	if from := strings.Join(got.Headers["From"], ","); !strings.Contains(from, "notices@mail.example") || got.Subject != "Thank you" {
		t.Fatalf("From %q, subject %q", from, got.Subject)
	}
}

// A supporter whose checkout was in Russian gets every kind in Russian: the catalogue's words,
// dates and money as Russian writes them; a language the service does not speak falls back to
// the default.
func TestSupporterMessagesInTheSupportersLanguage(t *testing.T) {
	m := supporterMailer(t, nil)
	want := map[pledge.MailKind][]string{
		pledge.MailThanks:    {"Спасибо, что поддерживаете The Riverside Ledger", "1 марта 2026\u00a0г. мы получили ваше ежемесячное пожертвование на сумму 5,00\u00a0$.", "Управлять поддержкой", "Не присылать письма с благодарностью"},
		pledge.MailRecovery:  {"Платёж не прошёл", "1 марта 2026\u00a0г. мы попробуем ещё раз.", "Обновить способ оплаты"},
		pledge.MailRenewal:   {"Скоро продлится", "60,00\u00a0$", "Отменить ежегодную поддержку"},
		pledge.MailStatement: {"за 2026 год", "Дата", "USD  30,00\u00a0$  5,00\u00a0$  25,00\u00a0$", "Выдано: Riverside Media Ltd, 1 Quay Street, Rivertown."},
	}
	for _, kind := range pledge.MailKinds {
		o := outgoing(kind)
		o.Lang = "ru"
		msg, err := m.SupporterMessage(o, testLinks)
		if err != nil {
			t.Fatal(err)
		}
		all := msg.Subject + "\n" + msg.Text
		for _, w := range want[kind] {
			if !strings.Contains(all, w) {
				t.Errorf("%s lacks %q:\n%s", kind, w, all)
			}
		}
		if !strings.Contains(msg.HTML, `<html lang="ru">`) {
			t.Errorf("%s: HTML not marked Russian", kind)
		}
		o.Lang = "xx"
		if msg, _ := m.SupporterMessage(o, testLinks); !strings.Contains(msg.Subject, "Riverside") || !strings.Contains(msg.HTML, `lang="en"`) {
			t.Errorf("%s in an unknown language: %q", kind, msg.Subject)
		}
	}
}

// The thank-you e-mail offers the newsletter: the opt-in page's signed link when the newsroom
// asks for consent (Links.Newsletter), else the configured sign-up page, else nothing.
func TestThanksNewsletterLink(t *testing.T) {
	m := supporterMailer(t, nil)
	links := testLinks
	links.Newsletter = func(o *pledge.OutgoingMail) string { return "https://support.news.example/newsletter?token=s7" }
	msg, err := m.SupporterMessage(outgoing(pledge.MailThanks), links)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg.Text, "Sign up for the newsletter: https://support.news.example/newsletter?token=s7") {
		t.Fatalf("thank-you without the opt-in link:\n%s", msg.Text)
	}
	if msg, _ := m.SupporterMessage(outgoing(pledge.MailThanks), testLinks); strings.Contains(msg.Text, "newsletter") {
		t.Fatalf("a newsletter offered with none configured:\n%s", msg.Text)
	}
}
