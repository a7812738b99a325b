package mail_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/mail"
	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/testkit"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
)

// TestProtectiveModeEmails (issue 13, item 3): in protective mode the reminder and the manage
// link (through mailpit) come from the newsroom's neutral sender with its neutral subject, and
// the reminder neither names nor links the article it was asked on, even a request stored with
// one before the mode was turned on.
func TestProtectiveModeEmails(t *testing.T) {
	ctx := context.Background()
	mp := testkit.Mailpit(t)
	clk := testkit.NewClock(t0)
	db := storetest.Open(t, clk)
	defer1(t, db, "rd_1", "reader@example.com", pledge.Monthly) // stored with an article
	base, _ := url.Parse("https://support.news.example")
	m, err := mail.New(mail.Config{URL: mp.SMTPURL, From: "Daily Bugle <support@news.example>", Org: "Daily Bugle", BaseURL: base,
		Timeout: 5 * time.Second, ArticleOrigins: []string{"https://news.example"},
		Protect: &mail.Protect{From: "Notifications <no-reply@mail.example>", Subject: "Your requested update"}})
	if err != nil {
		t.Fatal(err)
	}
	rem := &mail.Reminders{Queue: db, Mailer: m, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		UnsubscribeURL: func(id int64) string {
			return fmt.Sprintf("https://support.news.example/reminders/unsubscribe?token=t%d", id)
		}}
	clk.Add(8 * 24 * time.Hour)
	if res, err := rem.SendDue(ctx); err != nil || res.Sent != 1 {
		t.Fatalf("SendDue = %+v, %v", res, err)
	}
	msg, err := m.ManageLinkMessage("supporter@example.com", "en", "https://support.news.example/manage/tok", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	for _, s := range mp.WaitMessages(2, 10*time.Second) {
		got := mp.Message(s.ID)
		if got.Subject != "Your requested update" {
			t.Errorf("subject %q, want the neutral one", got.Subject)
		}
		if from := got.Header("From"); !strings.Contains(from, "no-reply@mail.example") || strings.Contains(from, "Bugle") {
			t.Errorf("From: %q, want the neutral sender", from)
		}
		for _, part := range []string{got.Text, got.HTML, strings.Join(got.Links(), " ")} {
			if strings.Contains(part, "news.example/story") || strings.Contains(part, "article=") {
				t.Errorf("%s quotes the article:\n%s", got.Subject, part)
			}
		}
	}
}
