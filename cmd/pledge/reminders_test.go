package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/testkit"
)

// Done when: a deferral with e-mail and consent, after `pledge reminders send --now` eight days
// later, delivers exactly one message (with a /donate link and List-Unsubscribe); a second run
// delivers none; the unsubscribe link answers.
func TestRemindersSendEndToEnd(t *testing.T) {
	mp := testkit.Mailpit(t)
	vars := map[string]string{
		"PLEDGE_DEMO":      "1",
		"PLEDGE_SECRET":    strings.Repeat("s", 32),
		"PLEDGE_SMTP_URL":  mp.SMTPURL,
		"PLEDGE_MAIL_FROM": "Pledge <support@news.example>",
	}
	_, base := startMain(t, vars)
	getenv := func(k string) string { return vars[k] }

	// The reader asks to be reminded in a week, by e-mail.
	form := url.Values{"choice": {"week"}, "email": {"reader@example.com"}, "consent": {"yes"}, "article": {"https://news.example/story"}}
	req, _ := http.NewRequest(http.MethodPost, base+"/remind", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		RemindAt time.Time `json:"remind_at"`
		Email    bool      `json:"email"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || !body.Email {
		t.Fatalf("POST /remind: %d %+v", resp.StatusCode, body)
	}

	send := func() string {
		var out, errOut bytes.Buffer
		later := time.Now().Add(8 * 24 * time.Hour).UTC().Format(time.RFC3339)
		if code := Run(context.Background(), []string{"reminders", "send", "--now", later}, nil, &out, &errOut, getenv); code != 0 {
			t.Fatalf("reminders send exited %d: %s%s", code, out.String(), errOut.String())
		}
		return out.String()
	}
	if out := send(); !strings.Contains(out, "1 sent") {
		t.Fatalf("first run: %q", out)
	}
	msgs := mp.WaitMessages(1, 10*time.Second)
	msg := mp.Message(msgs[0].ID)
	if msg.To[0].Address != "reader@example.com" {
		t.Fatalf("sent to %+v", msg.To)
	}
	var donate string
	for _, l := range msg.Links() {
		if strings.HasPrefix(l, base+"/donate?") && strings.Contains(l, "utm_source=reminder") {
			donate = l
		}
	}
	if donate == "" {
		t.Fatalf("no /donate?utm_source=reminder link in %v", msg.Links())
	}
	unsub := strings.Trim(msg.Header("List-Unsubscribe"), "<>")
	if !strings.HasPrefix(unsub, base+"/reminders/unsubscribe?token=") {
		t.Fatalf("List-Unsubscribe = %q", msg.Header("List-Unsubscribe"))
	}

	if out := send(); !strings.Contains(out, "0 sent") {
		t.Fatalf("second run: %q", out)
	}
	if n := len(mp.Messages()); n != 1 {
		t.Fatalf("mailpit holds %d messages after the second run, want 1", n)
	}

	// The unsubscribe link answers: a confirmation page, and the one-click POST.
	resp, err = http.Get(unsub)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "Unsubscribe") {
		t.Fatalf("GET unsubscribe: %d\n%s", resp.StatusCode, page)
	}
	resp, err = http.Post(unsub, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("one-click POST: %d", resp.StatusCode)
	}
}

func TestRemindersSendNeedsSMTP(t *testing.T) {
	vars := map[string]string{"PLEDGE_DEMO": "1", "PLEDGE_DB": testkit.StoreDSN(t)}
	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"reminders", "send"}, nil, &out, &errOut, func(k string) string { return vars[k] })
	if code != 2 || !strings.Contains(errOut.String(), "PLEDGE_SMTP_URL") {
		t.Fatalf("exit %d, stderr %q; want 2 naming PLEDGE_SMTP_URL", code, errOut.String())
	}
}
