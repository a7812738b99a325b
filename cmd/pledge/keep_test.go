package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/billing"
	"github.com/pledge-news/pledge/internal/mail"
	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/testkit"
)

// keepService is the service as serve runs it, with mailpit, stripe-mock and a recorder on the
// billing-portal calls, for issue 14's e-mails.
type keepService struct {
	m    *Main
	base string
	mp   *testkit.MailpitServer
	rec  *testkit.Recorder
	vars map[string]string
}

func startKeep(t *testing.T) *keepService {
	t.Helper()
	mp := testkit.Mailpit(t)
	mock := testkit.StripeMock(t)
	cfgFile := filepath.Join(t.TempDir(), "pledge.yaml")
	if err := os.WriteFile(cfgFile, []byte("organisation: The Riverside Ledger\nlegal_name: Riverside Media Ltd\naddress: |\n  1 Quay Street\n  Rivertown RT1 1AA\nnewsletter:\n  url: https://news.example/newsletter\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"PLEDGE_SECRET": strings.Repeat("k", 32), "STRIPE_API_BASE": mock, "STRIPE_SECRET_KEY": "sk_test_keep",
		"STRIPE_WEBHOOK_SECRET": testSecret, "PLEDGE_SMTP_URL": mp.SMTPURL,
		"PLEDGE_MAIL_FROM": "Riverside <support@news.example>", "PLEDGE_CONFIG": cfgFile, "PLEDGE_DATA_KEY_FILE": "none",
	}
	m, base := startMain(t, vars)
	rec := &testkit.Recorder{}
	m.Server.Portal = billing.New(billing.Config{SecretKey: "sk_test_keep", APIBase: mock, Transport: rec})
	return &keepService{m: m, base: base, mp: mp, rec: rec, vars: vars}
}

func (k *keepService) post(t *testing.T, typ string, p billing.EventParams) {
	t.Helper()
	b, err := billing.BuildEvent(typ, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := billing.PostEvent(context.Background(), http.DefaultClient, k.base+"/webhooks/stripe", testSecret, b); err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
}

// send runs one round of the supporter e-mail sender (serve runs the same on its timer) and
// returns every message mailpit holds, oldest first.
func (k *keepService) send(t *testing.T) []testkit.MailSummary {
	t.Helper()
	if _, err := k.m.SupporterMail.SendDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	return k.messages(t)
}

func (k *keepService) messages(t *testing.T) []testkit.MailSummary {
	t.Helper()
	// A round of serve's own timer may still be sending what it claimed: wait until the outbox
	// holds no claimed row. Mailpit stores a message before its SMTP server acknowledges it, so
	// every e-mail sent by then is listed.
	waitForNone(t, storeReader(t, k.vars["PLEDGE_DB"]), `SELECT count(*) FROM supporter_mail WHERE status = 'claimed'`,
		"supporter e-mails still claimed")
	msgs := k.mp.Messages()
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	return msgs
}

// only returns the messages to an address whose subject contains what.
func only(msgs []testkit.MailSummary, to, what string) []testkit.MailSummary {
	var out []testkit.MailSummary
	for _, m := range msgs {
		if len(m.To) > 0 && m.To[0].Address == to && strings.Contains(m.Subject, what) {
			out = append(out, m)
		}
	}
	return out
}

// give records a paid recurring gift through the webhook as Stripe sends it.
func (k *keepService) give(t *testing.T, f pledge.Frequency, amount int64, email, name string) billing.EventParams {
	t.Helper()
	co, err := k.m.DB.CreateCheckout(context.Background(), &pledge.Checkout{Nonce: name, Frequency: f,
		Amount: pledge.Money{Amount: amount, Currency: "usd"}})
	if err != nil {
		t.Fatal(err)
	}
	p := billing.EventParams{Checkout: co, Email: email, CustomerID: "cus_" + name, SubscriptionID: "sub_" + name, InvoiceID: "in_" + name + "_1"}
	for i, typ := range []string{"customer.subscription.created", "checkout.session.completed", "invoice.paid"} {
		q := p
		q.EventID = fmt.Sprintf("evt_%s_%d", name, i)
		k.post(t, typ, q)
	}
	return p
}

func renewal(attempt int) func(map[string]any) {
	return func(o map[string]any) { o["billing_reason"], o["attempt_count"] = "subscription_cycle", attempt }
}

// staffClient signs in as an admin and returns a client with the session.
func (k *keepService) staffClient(t *testing.T) *http.Client {
	t.Helper()
	if _, err := k.m.DB.CreateStaff(context.Background(), "editor@news.example", "a long passphrase here", pledge.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(k.base + "/staff/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token on the login page")
	}
	resp, err = c.PostForm(k.base+"/staff/login", url.Values{"_csrf": {string(m[1])}, "email": {"editor@news.example"},
		"password": {"a long passphrase here"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/staff" {
		t.Fatalf("login ended at %s (%d)", resp.Request.URL, resp.StatusCode)
	}
	return c
}

// page GETs u as a staff member's browser navigating within Pledge (Sec-Fetch-Site
// same-origin: downloads and data requests answer nothing else).
func page(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	// As a browser following a link on Pledge's own pages: downloads of readers' data are
	// same-origin only.
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Issue 14, done when: a first gift makes one thank-you e-mail (a duplicate event makes none); a
// failed renewal makes one recovery e-mail whose link opens a portal session with the
// payment-method flow for that customer; a second failed attempt and a duplicate event make
// none, and a paid invoice stops further ones; staff see the invoice's attempts, next retry and
// whether the link was opened, and recovered money with and without the e-mail apart.
func TestKeepThanksAndRecovery(t *testing.T) {
	k := startKeep(t)
	ann := k.give(t, pledge.Monthly, 500, "ann@example.com", "ann")
	msgs := k.send(t)
	thanks := only(msgs, "ann@example.com", "Thank you")
	if len(msgs) != 1 || len(thanks) != 1 {
		t.Fatalf("messages %+v, want one thank-you to ann", msgs)
	}
	msg := k.mp.Message(thanks[0].ID)
	if !strings.Contains(msg.Text, "monthly gift of $5.00") || !strings.Contains(msg.Text, "https://news.example/newsletter") ||
		msg.Header("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || !strings.Contains(msg.Header("List-Unsubscribe"), "/mail/unsubscribe?token=") {
		t.Fatalf("thank-you e-mail:\n%s\nheaders %v", msg.Text, msg.Headers)
	}
	// The same events again, and the checkout under a new event id: no second thank-you.
	for i, typ := range []string{"checkout.session.completed", "invoice.paid"} {
		q := ann
		q.EventID = fmt.Sprintf("evt_ann_%d", i+1)
		k.post(t, typ, q)
	}
	again := ann
	again.EventID = "evt_ann_again"
	k.post(t, "checkout.session.completed", again)
	if msgs := k.send(t); len(msgs) != 1 {
		t.Fatalf("%d messages after duplicate events, want 1", len(msgs))
	}

	// A renewal fails: one recovery e-mail.
	fail := ann
	fail.InvoiceID, fail.EventID, fail.Edit = "in_ann_2", "evt_ann_fail_1", renewal(1)
	k.post(t, "invoice.payment_failed", fail)
	msgs = k.send(t)
	rec := only(msgs, "ann@example.com", "did not go through")
	if len(msgs) != 2 || len(rec) != 1 {
		t.Fatalf("messages %+v, want the thank-you and one recovery e-mail", msgs)
	}
	// A second failed attempt and a duplicate of the first: none.
	k.post(t, "invoice.payment_failed", fail)
	fail2 := fail
	fail2.EventID, fail2.Edit = "evt_ann_fail_2", renewal(2)
	k.post(t, "invoice.payment_failed", fail2)
	if msgs := k.send(t); len(msgs) != 2 {
		t.Fatalf("%d messages after a second attempt, want 2", len(msgs))
	}
	recovery := k.mp.Message(rec[0].ID)
	link := linkAfter(recovery.Text, "Update my payment method:")
	if !strings.HasPrefix(link, k.base+"/manage/") || recovery.Header("List-Unsubscribe") == "" {
		t.Fatalf("recovery e-mail:\n%s", recovery.Text)
	}
	resp := follow(t, link)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("recovery link: %d", resp.StatusCode)
	}
	sessions := k.rec.Requests(http.MethodPost, "/v1/billing_portal/sessions")
	if len(sessions) != 1 {
		t.Fatalf("%d portal sessions, want 1", len(sessions))
	}
	if f := sessions[0].Form; f.Get("customer") != "cus_ann" || f.Get("flow_data[type]") != "payment_method_update" {
		t.Fatalf("portal request %v, want the payment_method_update flow for cus_ann", f)
	}
	if resp := follow(t, link); resp.StatusCode != http.StatusGone {
		t.Fatalf("the recovery link worked twice: %d", resp.StatusCode)
	}
	// The supporter updated their card; Stripe's retry pays the invoice.
	paid := ann
	paid.InvoiceID, paid.EventID, paid.Edit = "in_ann_2", "evt_ann_2_paid", func(o map[string]any) { o["billing_reason"] = "subscription_cycle" }
	k.post(t, "invoice.paid", paid)

	// Another renewal fails and is paid before the sender runs: its e-mail is never sent.
	fail3 := ann
	fail3.InvoiceID, fail3.EventID, fail3.Edit = "in_ann_3", "evt_ann_3_fail", renewal(1)
	k.post(t, "invoice.payment_failed", fail3)
	paid3 := ann
	paid3.InvoiceID, paid3.EventID, paid3.Edit = "in_ann_3", "evt_ann_3_paid", func(o map[string]any) { o["billing_reason"] = "subscription_cycle" }
	k.post(t, "invoice.paid", paid3)
	// And a late duplicate of its failure changes nothing.
	k.post(t, "invoice.payment_failed", fail3)
	if msgs := k.send(t); len(msgs) != 2 {
		t.Fatalf("%d messages after a failure paid before sending, want 2", len(msgs))
	}

	// Staff: per failed invoice the attempts, the next retry and whether the link was opened;
	// recovered money with the e-mail apart from without.
	r, err := k.m.DB.MailReport(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byInvoice := map[string]pledge.FailedInvoice{}
	for _, f := range r.FailedInvoices {
		byInvoice[f.InvoiceID] = f
	}
	if f := byInvoice["in_ann_2"]; f.Attempts != 2 || f.NextAttempt.IsZero() || f.LinkOpenedAt.IsZero() || f.MailStatus != "sent" || f.PaidAt.IsZero() {
		t.Fatalf("in_ann_2 on the staff page: %+v", f)
	}
	if f := byInvoice["in_ann_3"]; f.MailStatus != "cancelled" || !f.LinkOpenedAt.IsZero() {
		t.Fatalf("in_ann_3 on the staff page: %+v", f)
	}
	if fmt.Sprint(r.RecoveredWithMail) != "[{usd 1 500}]" || fmt.Sprint(r.RecoveredWithoutMail) != "[{usd 1 500}]" {
		t.Fatalf("recovered with mail %v, without %v", r.RecoveredWithMail, r.RecoveredWithoutMail)
	}
	staff := k.staffClient(t)
	code, body := page(t, staff, k.base+"/staff/emails")
	if code != http.StatusOK || !strings.Contains(body, "in_ann_2") || !strings.Contains(body, "After a recovery e-mail") ||
		!strings.Contains(body, "Without a recovery e-mail") || strings.Count(body, "$5.00") < 2 {
		t.Fatalf("/staff/emails %d:\n%s", code, body)
	}
	for _, kind := range r.Kinds {
		if kind.Kind == pledge.MailRecovery && (kind.Sent != 1 || kind.Opened != 1 || kind.Cancelled != 1) {
			t.Fatalf("recovery counts %+v", kind)
		}
		if kind.Kind == pledge.MailThanks && kind.Sent != 1 {
			t.Fatalf("thank-you counts %+v", kind)
		}
	}
}

// Issue 14, done when: an annual subscription near renewal gets one notice (from invoice.upcoming
// and the daily sweep together), and unsubscribing from a kind stops that kind only.
func TestKeepRenewalNoticeAndUnsubscribe(t *testing.T) {
	k := startKeep(t)
	// Noon UTC, ten days on: the invoice's next attempt an hour later is the same day, whatever the
	// hour the test runs (the notice names the attempt's date; at 23:00 it was the day after).
	renews := time.Now().Add(10 * 24 * time.Hour).Truncate(24 * time.Hour).Add(12 * time.Hour)
	bob := k.give(t, pledge.Annual, 6000, "bob@example.com", "bob")
	// The subscription as it stands: renewing in ten days.
	sub := bob
	sub.EventID, sub.Edit = "evt_bob_sub_now", func(o map[string]any) { o["current_period_end"] = renews.Unix() }
	sub.Created = time.Now()
	k.post(t, "customer.subscription.updated", sub)
	// That last event scheduled no cancellation: the builder's updated event does, so undo it.
	undo := bob
	undo.Created = sub.Created.Add(2 * time.Second) // later, as Stripe would send it: the newer object wins
	undo.EventID, undo.Edit = "evt_bob_sub_keep", func(o map[string]any) {
		o["current_period_end"], o["cancel_at_period_end"], o["cancel_at"], o["canceled_at"] = renews.Unix(), false, nil, nil
	}
	k.post(t, "customer.subscription.updated", undo)
	up := bob
	up.EventID, up.Edit = "evt_bob_upcoming", func(o map[string]any) { o["next_payment_attempt"] = renews.Add(time.Hour).Unix() }
	k.post(t, "invoice.upcoming", up)
	k.post(t, "invoice.upcoming", up) // a duplicate
	if n, err := k.m.DB.SweepRenewals(context.Background(), 14*24*time.Hour); err != nil || n != 0 {
		t.Fatalf("the sweep found %d more renewals (%v), want 0: invoice.upcoming already gave this one its notice", n, err)
	}
	msgs := k.send(t)
	notices := only(msgs, "bob@example.com", "renews soon")
	if len(notices) != 1 || len(only(msgs, "bob@example.com", "Thank you")) != 1 {
		t.Fatalf("messages %+v, want one renewal notice and one thank-you to bob", msgs)
	}
	notice := k.mp.Message(notices[0].ID)
	if !strings.Contains(notice.Text, "annual gift of $60.00 will renew on "+renews.UTC().Format("2 January 2006")) ||
		!strings.HasPrefix(linkAfter(notice.Text, "Cancel my annual support:"), k.base+"/manage/") {
		t.Fatalf("renewal notice:\n%s", notice.Text)
	}

	// Bob turns renewal notices off, with his mail client's one-click POST (RFC 8058).
	unsub := strings.Trim(notice.Header("List-Unsubscribe"), "<>")
	resp, err := http.Post(unsub, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("one-click unsubscribe: %v %v", resp, err)
	}
	resp.Body.Close()
	// A year on, the next renewal: no notice. His payment fails: the recovery e-mail still comes.
	next := bob
	next.EventID, next.Edit = "evt_bob_upcoming_2", func(o map[string]any) { o["next_payment_attempt"] = renews.AddDate(1, 0, 0).Unix() }
	k.post(t, "invoice.upcoming", next)
	fail := bob
	fail.InvoiceID, fail.EventID, fail.Edit = "in_bob_2", "evt_bob_fail", renewal(1)
	k.post(t, "invoice.payment_failed", fail)
	msgs = k.send(t)
	if len(only(msgs, "bob@example.com", "renews soon")) != 1 || len(only(msgs, "bob@example.com", "did not go through")) != 1 || len(msgs) != 3 {
		t.Fatalf("messages after unsubscribing from notices: %+v", msgs)
	}
	// A monthly supporter's upcoming invoice makes no notice.
	cy := k.give(t, pledge.Monthly, 500, "cy@example.com", "cy")
	cy.EventID, cy.Edit = "evt_cy_upcoming", func(o map[string]any) { o["next_payment_attempt"] = renews.Unix() }
	k.post(t, "invoice.upcoming", cy)
	if msgs := k.send(t); len(only(msgs, "cy@example.com", "renew")) != 0 {
		t.Fatalf("a monthly supporter got a renewal notice: %+v", msgs)
	}
}

// Issue 14, done when: `pledge statements send` twice sends each supporter exactly one statement
// whose totals match `pledge export donations`; staff download any supporter's statement.
func TestKeepStatements(t *testing.T) {
	k := startKeep(t)
	k.give(t, pledge.Monthly, 500, "ann@example.com", "ann")
	k.give(t, pledge.Annual, 6000, "bob@example.com", "bob")
	// Ann also gives once, and a second renewal is paid.
	co, _ := k.m.DB.CreateCheckout(context.Background(), &pledge.Checkout{Nonce: "ann-once", Frequency: pledge.Once,
		Amount: pledge.Money{Amount: 2500, Currency: "usd"}})
	k.post(t, "checkout.session.completed", billing.EventParams{Checkout: co, Email: "ann@example.com", CustomerID: "cus_ann_once"})
	renew := billing.EventParams{Checkout: &pledge.Checkout{ID: "co_x", Frequency: pledge.Monthly, Amount: pledge.Money{Amount: 500, Currency: "usd"}},
		Email: "ann@example.com", CustomerID: "cus_ann", SubscriptionID: "sub_ann", InvoiceID: "in_ann_2"}
	k.post(t, "invoice.paid", renew)
	k.send(t) // the thank-you e-mails go first
	before := len(k.messages(t))

	year := strconv.Itoa(time.Now().UTC().Year())
	runCmd := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := Run(context.Background(), args, strings.NewReader(""), &out, &errb, func(key string) string { return k.vars[key] })
		return out.String(), errb.String(), code
	}
	out, errs, code := runCmd("statements", "send", "--year", year, "--dry-run")
	if code != 0 || !strings.Contains(out, "2 to send (dry run: nothing sent)") || !strings.Contains(out, "3 gifts, 35.00 usd") {
		t.Fatalf("dry run %d: %s %s", code, out, errs)
	}
	if n := len(k.messages(t)); n != before {
		t.Fatalf("the dry run sent %d messages", n-before)
	}
	for i := 0; i < 2; i++ {
		out, errs, code = runCmd("statements", "send", "--year", year)
		if code != 0 {
			t.Fatalf("statements send exited %d: %s %s", code, out, errs)
		}
	}
	msgs := k.messages(t)
	if len(msgs) != before+2 {
		t.Fatalf("%d statements after two runs, want 2", len(msgs)-before)
	}
	// The totals match the donations export, per supporter and currency.
	exp, errs, code := runCmd("export", "donations", "--from", year+"-01-01", "--to", year+"-12-31")
	if code != 0 {
		t.Fatalf("export: %s", errs)
	}
	rows, _ := csv.NewReader(strings.NewReader(exp)).ReadAll()
	totals := map[string]int64{}
	for _, r := range rows[1:] {
		n, err := pledge.ParseMinor(r[2], 2)
		if err != nil {
			t.Fatal(err)
		}
		totals[r[1]+" "+r[3]] += n
	}
	for _, who := range []string{"ann@example.com", "bob@example.com"} {
		st := only(msgs, who, "statement")
		if len(st) != 1 {
			t.Fatalf("%s got %d statements", who, len(st))
		}
		m := k.mp.Message(st[0].ID)
		want := pledge.Money{Amount: totals[who+" usd"], Currency: "usd"}.String()
		if !strings.Contains(m.Text, "USD  "+want+"  $0.00  "+want) || !strings.Contains(m.Text, "Issued by Riverside Media Ltd, 1 Quay Street, Rivertown RT1 1AA.") ||
			m.Header("List-Unsubscribe") != "" {
			t.Fatalf("statement to %s (want total %s):\n%s", who, want, m.Text)
		}
	}
	if totals["ann@example.com usd"] != 3500 {
		t.Fatalf("export totals %v", totals)
	}

	// Staff download a statement as PDF and as a printable page.
	acct, err := k.m.DB.FindSupportAccount(context.Background(), "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	staff := k.staffClient(t)
	u := fmt.Sprintf("%s/staff/supporters/%d/statement?year=%s", k.base, acct.SupporterID, year)
	code, body := page(t, staff, u+"&format=pdf")
	if code != http.StatusOK || !strings.HasPrefix(body, "%PDF-") {
		t.Fatalf("PDF statement: %d %.20q", code, body)
	}
	code, body = page(t, staff, u)
	if code != http.StatusOK || !strings.Contains(body, "Statement of gifts, "+year) || !strings.Contains(body, "$35.00") {
		t.Fatalf("printable statement %d:\n%s", code, body)
	}
	code, body = page(t, staff, fmt.Sprintf("%s/staff/supporters/%d", k.base, acct.SupporterID))
	if code != http.StatusOK || !strings.Contains(body, "Year-end statement") || !strings.Contains(body, "statement?year="+year) {
		t.Fatalf("supporter page %d:\n%s", code, body)
	}
}

// Two senders at once (two processes, or serve's timer beside a command) send each e-mail once.
func TestKeepConcurrentSenders(t *testing.T) {
	k := startKeep(t)
	for i := 0; i < 8; i++ {
		k.give(t, pledge.Monthly, 500, fmt.Sprintf("p%d@example.com", i), fmt.Sprintf("p%d", i))
	}
	var senders []*mail.SupporterMail
	for i := 0; i < 3; i++ {
		mailer, err := newMailer(k.m.Config)
		if err != nil {
			t.Fatal(err)
		}
		s := newSupporterMail(k.m.Config, k.m.DB, mailer, []byte(k.vars["PLEDGE_SECRET"]), k.m.env)
		s.Batch = 1
		senders = append(senders, s)
	}
	done := make(chan error)
	for _, s := range senders {
		go func() { _, err := s.SendDue(context.Background()); done <- err }()
	}
	for range senders {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	k.send(t) // and serve's own sender
	if msgs := k.messages(t); len(msgs) != 8 {
		t.Fatalf("%d messages from three senders, want 8", len(msgs))
	}
}
