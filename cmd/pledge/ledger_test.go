package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/billing"
	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/sqlite"
	"github.com/pledge-news/pledge/internal/testkit"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
)

const testSecret = "whsec_cmd_test"

// service is `pledge serve` running through Run on a temp database, with a second handle on the
// same file for setting up checkouts.
type service struct {
	env   map[string]string
	url   string
	db    *sqlite.DB
	errc  chan int
	close func()
	logs  *testkit.LockedBuffer // what serve logged so far
}

func (s *service) getenv(k string) string { return s.env[k] }

// run runs a command through Run with the service's environment and returns its output.
func (s *service) run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, strings.NewReader(""), &out, &errb, s.getenv)
	return out.String(), errb.String(), code
}

func startService(t *testing.T, extra map[string]string) *service {
	t.Helper()
	port := testkit.FreePort(t)
	s := &service{env: map[string]string{
		"PLEDGE_ADDR":           fmt.Sprintf("127.0.0.1:%d", port),
		"PLEDGE_METRICS_ADDR":   "127.0.0.1:0",
		"PLEDGE_DB":             testkit.StoreDSN(t),
		"PLEDGE_BASE_URL":       fmt.Sprintf("http://127.0.0.1:%d", port),
		"STRIPE_SECRET_KEY":     "sk_test_cmd",
		"STRIPE_WEBHOOK_SECRET": testSecret + ",whsec_cmd_next",
		"STRIPE_API_BASE":       testkit.StripeMock(t),
		"PLEDGE_DATA_KEY_FILE":  "none",
	}}
	for k, v := range extra {
		s.env[k] = v
	}
	s.url = s.env["PLEDGE_BASE_URL"]
	ctx, cancel := context.WithCancel(context.Background())
	s.errc = make(chan int, 1)
	s.logs = &testkit.LockedBuffer{}
	go func() { s.errc <- Run(ctx, []string{"serve"}, strings.NewReader(""), s.logs, s.logs, s.getenv) }()
	testkit.WaitHTTP(t, s.url+"/healthz", 10*time.Second)
	// Closed after the service stops (the cleanups run last first).
	s.db = storetest.OpenAt(t, s.env["PLEDGE_DB"], nil, storetest.SealedBy(t, s.env["PLEDGE_DATA_KEY_FILE"]))
	t.Cleanup(func() {
		cancel()
		if code := <-s.errc; code != 0 {
			t.Errorf("serve exited %d", code)
		}
	})
	return s
}

func (s *service) checkout(t *testing.T, f pledge.Frequency, amount int64) *pledge.Checkout {
	t.Helper()
	c, err := s.db.CreateCheckout(context.Background(), &pledge.Checkout{Nonce: fmt.Sprint(time.Now().UnixNano()), Frequency: f,
		Amount: pledge.Money{Amount: amount, Currency: "usd"}, Article: "https://news.example/story", Campaign: "launch"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *service) post(t *testing.T, typ string, p billing.EventParams) error {
	t.Helper()
	b, err := billing.BuildEvent(typ, p)
	if err != nil {
		t.Fatal(err)
	}
	return billing.PostEvent(context.Background(), http.DefaultClient, s.url+"/webhooks/stripe", testSecret, b)
}

// donations returns the export's rows (without the header) for one checkout's article.
func (s *service) donations(t *testing.T) [][]string {
	t.Helper()
	out, errs, code := s.run(t, "export", "donations")
	if code != 0 {
		t.Fatalf("export exited %d: %s", code, errs)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(rows[0], ","), "date,email,amount,currency,frequency,status,stripe_id,article,campaign"; got != want {
		t.Fatalf("header %q, want %q", got, want)
	}
	return rows[1:]
}

func TestDoneWhenOneOffCheckoutShowsInExport(t *testing.T) {
	s := startService(t, nil)
	c := s.checkout(t, pledge.Once, 500)
	stdout, stderr, code := s.run(t, "trigger", "checkout.session.completed", "--checkout", c.ID, "--email", "five@example.com")
	if code != 0 || !strings.Contains(stdout, "posted checkout.session.completed") {
		t.Fatalf("trigger exited %d: %s %s", code, stdout, stderr)
	}
	rows := s.donations(t)
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1: %v", len(rows), rows)
	}
	line := strings.Join(rows[0], ",")
	if !strings.Contains(line, ",five@example.com,5.00,usd,once,succeeded,pi_") || !strings.HasSuffix(line, ",https://news.example/story,launch") {
		t.Fatalf("row %q", line)
	}
	if _, err := time.Parse(time.RFC3339, rows[0][0]); err != nil {
		t.Fatalf("date %q is not RFC 3339", rows[0][0])
	}

	// The same event again changes nothing.
	p := billing.EventParams{Checkout: c, Email: "again@example.com", EventID: "evt_same", PaymentIntentID: "pi_same"}
	payload, _ := billing.BuildEvent("checkout.session.completed", p)
	for i := 0; i < 2; i++ {
		if err := billing.PostEvent(context.Background(), http.DefaultClient, s.url+"/webhooks/stripe", testSecret, payload); err != nil {
			t.Fatal(err)
		}
	}
	if rows := s.donations(t); len(rows) != 2 {
		t.Fatalf("%d rows after one more event delivered twice, want 2", len(rows))
	}
	// A bad signature answers 400.
	err := billing.PostEvent(context.Background(), http.DefaultClient, s.url+"/webhooks/stripe", "whsec_forged", payload)
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("forged delivery: %v, want a 400", err)
	}
	// The second secret of a rotation is accepted too.
	p2 := billing.EventParams{Checkout: c, PaymentIntentID: "pi_rotated"}
	b2, _ := billing.BuildEvent("checkout.session.completed", p2)
	if err := billing.PostEvent(context.Background(), http.DefaultClient, s.url+"/webhooks/stripe", "whsec_cmd_next", b2); err != nil {
		t.Fatalf("next secret: %v", err)
	}

	out, _, code := s.run(t, "export", "supporters", "--format", "csv")
	if code != 0 || !strings.HasPrefix(out, "created,email,name,stripe_customer_id,donations,totals,first_donation,last_donation,active_subscriptions\n") {
		t.Fatalf("supporters export (%d):\n%s", code, out)
	}
	out, _, code = s.run(t, "export", "donations", "--format", "json", "--from", time.Now().UTC().Format(time.DateOnly), "--to", time.Now().UTC().Format(time.DateOnly))
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil || len(list) != 3 || list[0]["amount"] != "5.00" {
		t.Fatalf("json export (%d, %v): %s", code, err, out)
	}
	out, _, _ = s.run(t, "export", "donations", "--to", "2000-01-01")
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("--to 2000-01-01 exported rows:\n%s", out)
	}
}

func TestDoneWhenMonthlyAndAnnual(t *testing.T) {
	s := startService(t, nil)
	monthly := s.checkout(t, pledge.Monthly, 500)
	p := billing.EventParams{Checkout: monthly, Email: "monthly@example.com", CustomerID: "cus_m", SubscriptionID: "sub_m", InvoiceID: "in_m1"}
	for _, typ := range []string{"customer.subscription.created", "checkout.session.completed", "invoice.paid"} {
		if err := s.post(t, typ, p); err != nil {
			t.Fatal(err)
		}
	}
	for i, at := range []time.Time{time.Now().AddDate(0, 1, 0), time.Now().AddDate(0, 2, 0)} {
		r := p
		r.InvoiceID, r.PaymentIntentID, r.ChargeID, r.Created = fmt.Sprintf("in_m%d", i+2), "", "", at
		// Renewal events are signed now; the invoice itself is dated in the coming months.
		b, _ := billing.BuildEvent("invoice.paid", r)
		if err := billing.PostEvent(context.Background(), http.DefaultClient, s.url+"/webhooks/stripe", testSecret, b); err != nil {
			t.Fatal(err)
		}
	}
	annual := s.checkout(t, pledge.Annual, 10000)
	a := billing.EventParams{Checkout: annual, Email: "annual@example.com", CustomerID: "cus_a", SubscriptionID: "sub_a", InvoiceID: "in_a1"}
	for _, typ := range []string{"invoice.paid", "checkout.session.completed"} {
		if err := s.post(t, typ, a); err != nil {
			t.Fatal(err)
		}
	}
	var monthlyRows, annualRows []string
	for _, r := range s.donations(t) {
		switch line := strings.Join(r, ","); {
		case strings.Contains(line, ",5.00,usd,monthly,succeeded,in_m"):
			monthlyRows = append(monthlyRows, line)
		case strings.Contains(line, ",100.00,usd,annual,succeeded,in_a1,"):
			annualRows = append(annualRows, line)
		default:
			t.Fatalf("unexpected row %q", line)
		}
	}
	if len(monthlyRows) != 3 || len(annualRows) != 1 {
		t.Fatalf("monthly %d (want 3), annual %d (want 1):\n%s\n%s", len(monthlyRows), len(annualRows), monthlyRows, annualRows)
	}
}

func TestReconcileCommand(t *testing.T) {
	s := startService(t, nil)
	out, errs, code := s.run(t, "reconcile", "--since", "72h")
	// stripe-mock lists one fixed event (plan.created): recorded, not Pledge's.
	if code != 0 || !strings.Contains(out, "reconcile: seen 1, new 1, applied 0, ignored 1, failed 0") {
		t.Fatalf("reconcile exited %d:\n%s%s", code, out, errs)
	}
	out, _, code = s.run(t, "reconcile")
	if code != 0 || !strings.Contains(out, "reconcile: seen 1, new 0, applied 0, ignored 0, failed 0") {
		t.Fatalf("second reconcile exited %d:\n%s", code, out)
	}
}

func TestCommandUsageErrors(t *testing.T) {
	s := &service{env: map[string]string{"PLEDGE_DB": testkit.StoreDSN(t), "STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": testSecret,
		"PLEDGE_DATA_KEY_FILE": "none"}}
	if _, _, code := s.run(t, "export", "refunds"); code != 2 {
		t.Fatalf("export refunds exited %d, want 2", code)
	}
	if _, errs, code := s.run(t, "export", "donations", "--from", "yesterday"); code != 1 || !strings.Contains(errs, "--from") {
		t.Fatalf("bad --from exited %d: %s", code, errs)
	}
	if _, _, code := s.run(t, "trigger"); code != 2 {
		t.Fatalf("trigger without a type exited %d, want 2", code)
	}
	if _, errs, code := s.run(t, "trigger", "payout.paid", "--url", "http://127.0.0.1:1/webhooks/stripe"); code != 1 || !strings.Contains(errs, "cannot build") {
		t.Fatalf("trigger of an unknown type exited %d: %s", code, errs)
	}
	s.env["STRIPE_SECRET_KEY"] = "sk_live_x"
	_, errs, code := s.run(t, "trigger", "checkout.session.completed", "--url", "http://127.0.0.1:1/webhooks/stripe")
	if code != 2 || !strings.Contains(errs, "refusing to run with a live key") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Fatalf("trigger with a live key exited %d: %q; want one line refusing", code, errs)
	}
}

// TestDemoPay builds the service as serve does in demo mode and pays a checkout: the events go
// through the service's own webhook into the ledger.
func TestDemoPay(t *testing.T) {
	port := testkit.FreePort(t)
	env := map[string]string{
		"PLEDGE_DEMO": "1", "PLEDGE_ADDR": fmt.Sprintf("127.0.0.1:%d", port), "PLEDGE_DB": testkit.StoreDSN(t),
		"PLEDGE_METRICS_ADDR": "off",
		"PLEDGE_BASE_URL":     fmt.Sprintf("http://localhost:%d", port), "STRIPE_API_BASE": testkit.StripeMock(t),
	}
	var logs bytes.Buffer
	e := &Env{Stdout: &logs, Stderr: &logs, Getenv: func(k string) string { return env[k] }, Logger: newLogger(&logs)}
	cfg, _, err := loadConfig(e, "serve", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: cfg, env: e}
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	if m.Server.DemoPay == nil {
		t.Fatal("DemoPay is not set in demo mode")
	}
	for _, f := range pledge.Frequencies {
		c, err := m.DB.CreateCheckout(ctx, &pledge.Checkout{Nonce: string(f), Frequency: f, Amount: pledge.Money{Amount: 1000, Currency: "eur"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Server.DemoPay(ctx, c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if got, _ := m.DB.FindCheckout(ctx, c.ID); got.Status != pledge.CheckoutPaid {
			t.Fatalf("%s checkout is %s after the demo payment", f, got.Status)
		}
	}
	var buf bytes.Buffer
	if err := pledge.WriteDonations(ctx, &buf, m.DB, pledge.ExportFilter{}, pledge.FormatCSV); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"once", "monthly", "annual"} {
		if n := strings.Count(buf.String(), ",10.00,eur,"+f+",succeeded,"); n != 1 {
			t.Fatalf("%d %s donations after the demo payment:\n%s", n, f, buf.String())
		}
	}
}

// waitSettled waits until serve's background settler has fetched the balance transaction of
// every recorded gift (stripe-mock answers at once), so that figures read next are final.
func (s *service) waitSettled(t *testing.T) {
	t.Helper()
	waitForNone(t, s.db.Reader(), `SELECT count(*) FROM donations WHERE settle_txn = ''`, "gifts still without their balance transaction")
}
