package mail_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/mail"
	"github.com/pledge-news/pledge/internal/testkit"
)

// A refused recipient makes go-mail's error name the address; what goes to the log must not.
func TestSafeErrorWithholdsAddress(t *testing.T) {
	mp := testkit.Mailpit(t, "--smtp-allowed-recipients", `^allowed@example\.com$`)
	base, _ := url.Parse("https://support.news.example")
	m, err := mail.New(mail.Config{URL: mp.SMTPURL, From: "Pledge <support@news.example>", Org: "Pledge", BaseURL: base, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Send(context.Background(), &mail.Message{To: "secret.reader@example.com", Subject: "s", Text: "t"})
	if err == nil {
		t.Fatal("mailpit accepted a recipient it was told to refuse")
	}
	if !strings.Contains(err.Error(), "secret.reader@example.com") {
		t.Logf("note: the raw error no longer names the address: %v", err)
	}
	if safe := mail.SafeError(err); strings.Contains(safe, "secret.reader") || !strings.Contains(safe, "smtp") {
		t.Fatalf("SafeError = %q", safe)
	}
	if safe := mail.SafeError(errors.New("550 <x@example.com> unknown")); strings.Contains(safe, "x@example.com") {
		t.Fatalf("SafeError of an unknown error = %q", safe)
	}
}

func TestNewRejectsBadURLs(t *testing.T) {
	base, _ := url.Parse("https://support.news.example")
	for _, u := range []string{"", "http://mail.example", "smtp://", "smtp://host:port"} {
		if _, err := mail.New(mail.Config{URL: u, From: "a@example.com", BaseURL: base}); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
	if _, err := mail.New(mail.Config{URL: "smtps://user:pass@mail.example", From: "Newsroom <a@example.com>", BaseURL: base}); err != nil {
		t.Errorf("smtps with credentials: %v", err)
	}
}
