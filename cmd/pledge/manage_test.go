package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/billing"
	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/testkit"
)

// startMain runs the service as serve does, on a free port, until the test ends.
func startMain(t *testing.T, vars map[string]string) (*Main, string) {
	t.Helper()
	port := testkit.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	vars["PLEDGE_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port)
	vars["PLEDGE_BASE_URL"] = base
	vars["PLEDGE_METRICS_ADDR"] = "off"
	vars["PLEDGE_DB"] = testkit.StoreDSN(t)
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

	// The supporter comes from a paid monthly checkout: the checkout row POST /donate stores, then
	// the signed events Stripe sends for it, through the service's own webhook.
	ctx := context.Background()
	co, err := m.DB.CreateCheckout(ctx, &pledge.Checkout{Nonce: "ann", Frequency: pledge.Monthly,
		Amount: pledge.Money{Amount: 500, Currency: "usd"}})
	if err != nil {
		t.Fatal(err)
	}
	paid := billing.EventParams{Checkout: co, Email: "ann@example.com", CustomerID: "cus_ann", SubscriptionID: "sub_ann"}
	for i, typ := range []string{"customer.subscription.created", "checkout.session.completed", "invoice.paid"} {
		p := paid
		p.EventID = fmt.Sprintf("evt_ann_%d", i)
		ev, err := billing.BuildEvent(typ, p)
		if err != nil {
			t.Fatal(err)
		}
		if err := billing.PostEvent(ctx, http.DefaultClient, base+"/webhooks/stripe", m.Config.webhookSecrets[0], ev); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
	}
	if got, err := m.DB.FindCheckout(ctx, co.ID); err != nil || got.Status != pledge.CheckoutPaid {
		t.Fatalf("the checkout is not paid after its events: %+v %v", got, err)
	}
	// The gift enqueued its thank-you, which the service's own timer may already be sending: send
	// it now, so that the mails counted below are those /manage sends, whenever the timer runs.
	if _, err := m.SupporterMail.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	if msgs := mp.WaitMessages(1, 10*time.Second); len(msgs) != 1 || !strings.HasPrefix(msgs[0].Subject, "Thank you for supporting") {
		t.Fatalf("messages after the gift %+v, want its one thank-you", msgs)
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
	msgs := mp.WaitMessages(2, 10*time.Second)
	var asked []testkit.MailSummary
	for _, msg := range msgs {
		if strings.HasPrefix(msg.Subject, "Your link to manage") {
			asked = append(asked, msg)
		}
	}
	if len(msgs) != 2 || len(asked) != 1 || asked[0].To[0].Address != "ann@example.com" {
		t.Fatalf("messages %+v, want the thank-you and exactly one link, to the supporter", msgs)
	}
	msg := mp.Message(asked[0].ID)
	manageLink := linkAfter(msg.Text, "Manage my support (change amount, payment method, or see receipts):")
	cancelLink := linkAfter(msg.Text, "Cancel my recurring support:")
	if !strings.HasPrefix(manageLink, base+"/manage/") || !strings.HasPrefix(cancelLink, base+"/manage/") || manageLink == cancelLink ||
		!strings.Contains(strings.Join(msg.Links(), " "), manageLink) {
		t.Fatalf("links %q %q in:\n%s", manageLink, cancelLink, msg.Text)
	}

	// A mail scanner's prefetch (a GET) spends nothing and asks Stripe for nothing.
	if resp := get(t, http.DefaultClient, manageLink); resp.StatusCode != http.StatusOK {
		t.Fatalf("prefetch: %d", resp.StatusCode)
	}
	if n := len(rec.Requests(http.MethodPost, "/v1/billing_portal/sessions")); n != 0 {
		t.Fatalf("a GET created %d portal sessions", n)
	}
	resp := follow(t, manageLink)
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
	if resp := follow(t, manageLink); resp.StatusCode != http.StatusGone {
		t.Fatalf("the link worked twice: %d", resp.StatusCode)
	}
	if len(rec.Requests(http.MethodPost, "/v1/billing_portal/sessions")) != 1 {
		t.Fatal("a used link created a portal session")
	}
	// The cancel link has its own token: following the manage link left it working.
	if resp := follow(t, cancelLink); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel link after the manage link: %d, want 303", resp.StatusCode)
	}
	sessions = rec.Requests(http.MethodPost, "/v1/billing_portal/sessions")
	if f := sessions[len(sessions)-1].Form; f.Get("customer") != "cus_ann" || f.Get("flow_data[type]") != "subscription_cancel" ||
		f.Get("flow_data[subscription_cancel][subscription]") != "sub_ann" {
		t.Fatalf("cancel portal request %v", f)
	}
	if resp := follow(t, cancelLink); resp.StatusCode != http.StatusGone {
		t.Fatalf("the cancel link worked twice: %d", resp.StatusCode)
	}
	ask("ann@example.com")
	m.Server.Wait()
	mp.WaitMessages(3, 10*time.Second)
	if n := len(mp.Messages()); n != 3 {
		t.Fatalf("%d messages, want 3: the thank-you and two links (none to the unknown address)", n)
	}
}

// linkAfter returns the URL on the line after label in a plain-text e-mail.
func linkAfter(text, label string) string {
	_, rest, ok := strings.Cut(text, label)
	if !ok {
		return ""
	}
	if f := strings.Fields(rest); len(f) > 0 {
		return f[0]
	}
	return ""
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// get GETs u with c and returns the response, its body read and closed.
func get(t *testing.T, c *http.Client, u string) *http.Response {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// follow does what a reader does with a /manage link: opens it, then presses the confirmation
// page's button (a POST with its CSRF token). It returns the POST's response (or the GET's when
// there is no button), without following redirects.
func follow(t *testing.T, link string) *http.Response {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		return resp
	}
	resp, err = c.PostForm(link, url.Values{"_csrf": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}
