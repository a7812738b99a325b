package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/billing"
	"github.com/pledge-news/pledge/internal/testkit"
)

// startMain runs the service as serve does, on a free port, until the test ends.
func startMain(t *testing.T, vars map[string]string) (*Main, string) {
	t.Helper()
	port := testkit.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	vars["PLEDGE_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port)
	vars["PLEDGE_BASE_URL"] = base
	vars["PLEDGE_DB"] = filepath.Join(t.TempDir(), "pledge.db")
	env := &Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return vars[k] },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cfg, _, err := loadConfig(env, "serve", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Main{Config: cfg, env: env}
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- m.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
		m.Close()
	})
	testkit.WaitHTTP(t, base+"/healthz", 10*time.Second)
	return m, base
}

// Done when: a supporter asks at /manage, receives exactly one e-mail, follows its link and is
// redirected to a billing-portal session created for their own customer; the same link does not
// work a second time; an unknown address gets the same answer and no e-mail.
func TestManageEndToEnd(t *testing.T) {
	mp := testkit.Mailpit(t)
	mock := testkit.StripeMock(t)
	m, base := startMain(t, map[string]string{
		"PLEDGE_DEMO": "1", "PLEDGE_SECRET": strings.Repeat("s", 32), "STRIPE_API_BASE": mock,
		"PLEDGE_SMTP_URL": mp.SMTPURL, "PLEDGE_MAIL_FROM": "Pledge <support@news.example>",
	})
	rec := &testkit.Recorder{}
	m.Server.Portal = billing.New(billing.Config{SecretKey: "sk_test_123", APIBase: mock, Transport: rec})

	// The supporter, as the webhook records one after a paid monthly checkout.
	ctx := context.Background()
	tx, err := m.DB.BeginTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO supporters (id, stripe_customer_id, email, created_at, updated_at) VALUES (1, 'cus_ann', 'ann@example.com', 1, 1)`,
		`INSERT INTO subscriptions (stripe_subscription_id, supporter_id, frequency, amount, currency, status, created_at, updated_at)
		 VALUES ('sub_ann', 1, 'monthly', 500, 'usd', 'active', 1, 1)`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	ask := func(email string) (int, string) {
		form := url.Values{"email": {email}}
		req, _ := http.NewRequest(http.MethodPost, base+"/manage", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	knownCode, knownBody := ask("ann@example.com")
	unknownCode, unknownBody := ask("stranger@example.com")
	if knownCode != http.StatusOK || knownCode != unknownCode || knownBody != unknownBody {
		t.Fatalf("known %d, unknown %d, same body %v", knownCode, unknownCode, knownBody == unknownBody)
	}
	m.Server.Wait()
	msgs := mp.WaitMessages(1, 10*time.Second)
	if len(msgs) != 1 || msgs[0].To[0].Address != "ann@example.com" {
		t.Fatalf("messages %+v, want exactly one, to the supporter", msgs)
	}
	msg := mp.Message(msgs[0].ID)
	var manageLink, cancelLink string
	for _, l := range msg.Links() {
		switch {
		case strings.HasPrefix(l, base+"/manage/") && strings.HasSuffix(l, "?action=cancel"):
			cancelLink = l
		case strings.HasPrefix(l, base+"/manage/"):
			manageLink = l
		}
	}
	if manageLink == "" || cancelLink == "" || !strings.Contains(msg.Text, manageLink) {
		t.Fatalf("links %v", msg.Links())
	}

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	follow := func(link string) *http.Response {
		resp, err := noFollow.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := follow(manageLink)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "https://") {
		t.Fatalf("manage link: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	sessions := rec.Requests(http.MethodPost, "/v1/billing_portal/sessions")
	if len(sessions) != 1 {
		t.Fatalf("%d portal sessions created, want 1", len(sessions))
	}
	if f := sessions[0].Form; f.Get("customer") != "cus_ann" || f.Get("return_url") != base+"/manage/done" || f.Get("flow_data[type]") != "" {
		t.Fatalf("portal request %v", f)
	}
	if resp := follow(manageLink); resp.StatusCode != http.StatusGone {
		t.Fatalf("the link worked twice: %d", resp.StatusCode)
	}
	// The cancel link shares the e-mail's single use: ask again for a fresh one.
	if resp := follow(cancelLink); resp.StatusCode != http.StatusGone {
		t.Fatalf("cancel link after the manage link: %d, want 410", resp.StatusCode)
	}
	if len(rec.Requests(http.MethodPost, "/v1/billing_portal/sessions")) != 1 {
		t.Fatal("a used link created a portal session")
	}
	ask("ann@example.com")
	m.Server.Wait()
	msgs = mp.WaitMessages(2, 10*time.Second)
	msg = mp.Message(msgs[0].ID) // newest first
	for _, l := range msg.Links() {
		if strings.HasSuffix(l, "?action=cancel") {
			cancelLink = l
		}
	}
	if resp := follow(cancelLink); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("fresh cancel link: %d", resp.StatusCode)
	}
	sessions = rec.Requests(http.MethodPost, "/v1/billing_portal/sessions")
	if f := sessions[len(sessions)-1].Form; f.Get("customer") != "cus_ann" || f.Get("flow_data[type]") != "subscription_cancel" ||
		f.Get("flow_data[subscription_cancel][subscription]") != "sub_ann" {
		t.Fatalf("cancel portal request %v", f)
	}
	if n := len(mp.Messages()); n != 2 {
		t.Fatalf("%d messages, want 2 (none to the unknown address)", n)
	}
}
