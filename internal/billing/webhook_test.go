package billing_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/billing"
	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/testkit"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
	"github.com/stripe/stripe-go/v76/webhook"
)

const (
	secret    = "whsec_test_current"
	oldSecret = "whsec_test_previous"
)

func checkout(f pledge.Frequency, amount int64) *pledge.Checkout {
	return &pledge.Checkout{ID: "co_test", Frequency: f, Amount: pledge.Money{Amount: amount, Currency: "usd"},
		Article: "https://news.example/story", Campaign: "autumn"}
}

func build(t *testing.T, typ string, p billing.EventParams) []byte {
	t.Helper()
	b, err := billing.BuildEvent(typ, p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerify(t *testing.T) {
	payload := build(t, "checkout.session.completed", billing.EventParams{Checkout: checkout(pledge.Once, 500)})
	now := time.Now()
	w := &billing.Webhooks{Secrets: []string{secret, oldSecret}}
	cases := []struct {
		name    string
		payload []byte
		header  string
		ok      bool
	}{
		{"current secret", payload, billing.SignatureHeader(payload, secret, now), true},
		{"previous secret during rotation", payload, billing.SignatureHeader(payload, oldSecret, now), true},
		{"wrong secret", payload, billing.SignatureHeader(payload, "whsec_someone_else", now), false},
		{"tampered body", []byte(strings.Replace(string(payload), `"amount_total":500`, `"amount_total":50000`, 1)), billing.SignatureHeader(payload, secret, now), false},
		{"stale timestamp", payload, billing.SignatureHeader(payload, secret, now.Add(-301*time.Second)), false},
		{"just within tolerance", payload, billing.SignatureHeader(payload, secret, now.Add(-290*time.Second)), true},
		{"missing header", payload, "", false},
		{"garbage header", payload, "nonsense", false},
		{"other API version", []byte(strings.Replace(string(payload), `"api_version":"2023-10-16"`, `"api_version":"2025-03-31.basil"`, 1)), "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			header := c.header
			if c.name == "other API version" {
				header = billing.SignatureHeader(c.payload, secret, now)
			}
			ev, err := w.Verify(c.payload, header)
			if c.ok {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if ev.Type != "checkout.session.completed" {
					t.Fatalf("type %q", ev.Type)
				}
				return
			}
			if pledge.ErrorCode(err) != pledge.EUNAUTHORIZED {
				t.Fatalf("err = %v, want EUNAUTHORIZED", err)
			}
		})
	}
	if !strings.Contains(string(payload), `"amount_total":500`) {
		t.Fatal("the tampered case did not tamper")
	}
}

// TestVerifyDecodesAsStripeGo: Verify decodes the envelope itself (not through stripe-go's
// ConstructEvent, which also decodes the object into a map); for every event type it builds, the
// event must be the one stripe-go's own decoding gives, its object the same raw JSON, and a
// signed body that is not an event must be refused as stripe-go refuses it.
func TestVerifyDecodesAsStripeGo(t *testing.T) {
	w := &billing.Webhooks{Secrets: []string{secret}}
	for _, typ := range billing.HandledTypes {
		payload := build(t, typ, billing.EventParams{Checkout: checkout(pledge.Monthly, 500), Email: "ann@example.com"})
		header := billing.SignatureHeader(payload, secret, time.Now())
		want, err := webhook.ConstructEvent(payload, header, secret)
		if err != nil {
			t.Fatalf("%s: stripe-go refuses it: %v", typ, err)
		}
		got, err := w.Verify(payload, header)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if got.ID != want.ID || got.Type != want.Type || got.Created != want.Created || got.Livemode != want.Livemode ||
			got.APIVersion != want.APIVersion || got.Object != want.Object || got.PendingWebhooks != want.PendingWebhooks ||
			string(got.Data.Raw) != string(want.Data.Raw) {
			t.Fatalf("%s: Verify gave %+v, stripe-go %+v", typ, got, want)
		}
		if want.ID == "" || len(want.Data.Raw) < 100 {
			t.Fatalf("%s: the built event has no id or object: %s", typ, payload)
		}
	}
	for _, body := range []string{`not json`, `{"id":"evt_1","api_version":"2023-10-16","data":7}`} {
		header := billing.SignatureHeader([]byte(body), secret, time.Now())
		if _, err := webhook.ConstructEvent([]byte(body), header, secret); err == nil {
			t.Fatalf("stripe-go accepts %q", body)
		}
		if _, err := w.Verify([]byte(body), header); pledge.ErrorCode(err) != pledge.EUNAUTHORIZED {
			t.Fatalf("Verify(%q) = %v, want EUNAUTHORIZED", body, err)
		}
	}
}

func translate(t *testing.T, payload []byte) *pledge.LedgerEvent {
	t.Helper()
	ev, err := (&billing.Webhooks{Secrets: []string{secret}}).Verify(payload, billing.SignatureHeader(payload, secret, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	le, err := billing.Translate(ev)
	if err != nil {
		t.Fatal(err)
	}
	return le
}

func TestTranslateBuiltEvents(t *testing.T) {
	c := checkout(pledge.Monthly, 500)
	p := billing.EventParams{Checkout: c, Email: "ann@example.com", CustomerID: "cus_1", SubscriptionID: "sub_1",
		InvoiceID: "in_1", PaymentIntentID: "pi_1", ChargeID: "ch_1", SessionID: "cs_1", Created: time.Unix(1790000000, 0)}
	want := pledge.Metadata{CheckoutID: "co_test", Frequency: pledge.Monthly, Article: "https://news.example/story", Campaign: "autumn"}

	le := translate(t, build(t, "checkout.session.completed", p))
	cc, ok := le.Fact.(*pledge.CheckoutCompleted)
	if !ok || !cc.Paid || cc.Meta != want || cc.Subscription != "sub_1" || cc.Invoice != "in_1" || cc.PaymentIntent != "" ||
		cc.Customer != (pledge.Customer{StripeID: "cus_1", Email: "ann@example.com"}) || cc.Amount != c.Amount || le.ObjectID != "cs_1" {
		t.Fatalf("completed = %+v", le.Fact)
	}
	le = translate(t, build(t, "invoice.paid", p))
	ip, ok := le.Fact.(*pledge.InvoicePaid)
	if !ok || ip.InvoiceID != "in_1" || ip.Subscription != "sub_1" || ip.Meta != want || ip.Amount != c.Amount ||
		ip.Interval != "month" || ip.Charge != "ch_1" || ip.PaidAt.Unix() != 1790000000 {
		t.Fatalf("invoice.paid = %+v", le.Fact)
	}
	le = translate(t, build(t, "customer.subscription.deleted", p))
	sc, ok := le.Fact.(*pledge.SubscriptionChanged)
	if !ok || sc.Status != "canceled" || sc.Amount != c.Amount || sc.Interval != "month" || sc.CancellationReason != "cancellation_requested" ||
		sc.CurrentPeriodEnd.IsZero() || sc.CanceledAt.IsZero() {
		t.Fatalf("subscription = %+v", le.Fact)
	}
	le = translate(t, build(t, "invoice.payment_action_required", p))
	if f, ok := le.Fact.(*pledge.InvoiceFailed); !ok || !f.ActionRequired || f.AttemptCount != 1 || f.Amount != c.Amount {
		t.Fatalf("action required = %+v", le.Fact)
	}
	le = translate(t, build(t, "charge.refunded", p))
	if f, ok := le.Fact.(*pledge.ChargeRefunded); !ok || f.ChargeID != "ch_1" || f.Invoice != "in_1" || f.AmountRefunded != 500 {
		t.Fatalf("refunded = %+v", le.Fact)
	}
	le = translate(t, build(t, "charge.dispute.closed", p))
	if f, ok := le.Fact.(*pledge.DisputeChanged); !ok || f.ChargeID != "ch_1" || f.Status != "lost" {
		t.Fatalf("dispute = %+v", le.Fact)
	}
	le = translate(t, build(t, "radar.early_fraud_warning.created", p))
	if f, ok := le.Fact.(*pledge.FraudWarning); !ok || f.ChargeID != "ch_1" || f.PaymentIntent != "pi_1" {
		t.Fatalf("fraud = %+v", le.Fact)
	}
	le = translate(t, build(t, "checkout.session.expired", p))
	if f, ok := le.Fact.(*pledge.CheckoutClosed); !ok || f.Status != pledge.CheckoutAbandoned {
		t.Fatalf("expired = %+v", le.Fact)
	}
}

func TestForeignObjectsTranslateToNothing(t *testing.T) {
	for _, typ := range []string{"checkout.session.completed", "customer.subscription.updated", "invoice.paid"} {
		payload := build(t, typ, billing.EventParams{Checkout: checkout(pledge.Monthly, 500)})
		var m map[string]any
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatal(err)
		}
		obj := m["data"].(map[string]any)["object"].(map[string]any)
		obj["metadata"] = map[string]any{"order": "T-shirt"}
		if typ == "invoice.paid" { // a one-off invoice for something else
			obj["subscription"], obj["subscription_details"] = nil, map[string]any{"metadata": nil}
			line := obj["lines"].(map[string]any)["data"].([]any)[0].(map[string]any)
			line["subscription"], line["metadata"] = nil, map[string]any{}
		}
		payload, _ = json.Marshal(m)
		if le := translate(t, payload); le.Fact != nil {
			t.Fatalf("%s of a foreign object gave %+v", typ, le.Fact)
		}
	}
}

func TestInvoiceWithoutMetadataIsSettledLocallyThenFromStripe(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, nil)
	rec := &testkit.Recorder{}
	w := &billing.Webhooks{Secrets: []string{secret}, Ledger: db,
		Stripe: billing.New(billing.Config{SecretKey: "sk_test_123", APIBase: testkit.StripeMock(t), Transport: rec})}
	c := checkout(pledge.Monthly, 500)
	bare := func(sub string) []byte {
		var m map[string]any
		_ = json.Unmarshal(build(t, "invoice.paid", billing.EventParams{Checkout: c, SubscriptionID: sub}), &m)
		obj := m["data"].(map[string]any)["object"].(map[string]any)
		obj["subscription_details"] = map[string]any{"metadata": nil}
		obj["lines"].(map[string]any)["data"].([]any)[0].(map[string]any)["metadata"] = map[string]any{}
		b, _ := json.Marshal(m)
		return b
	}
	// A subscription stored here settles it without asking Stripe.
	if _, err := w.Receive(ctx, build(t, "customer.subscription.created", billing.EventParams{Checkout: c, SubscriptionID: "sub_known"}), ""); err == nil {
		t.Fatal("an unsigned delivery was accepted")
	}
	created := build(t, "customer.subscription.created", billing.EventParams{Checkout: c, SubscriptionID: "sub_known"})
	if res, err := w.Receive(ctx, created, billing.SignatureHeader(created, secret, time.Now())); err != nil || res.Outcome != pledge.OutcomeApplied {
		t.Fatalf("created: %+v %v", res, err)
	}
	p := bare("sub_known")
	res, err := w.Receive(ctx, p, billing.SignatureHeader(p, secret, time.Now()))
	if err != nil || res.Outcome != pledge.OutcomeApplied {
		t.Fatalf("known subscription's invoice: %+v %v", res, err)
	}
	if n := len(rec.Requests("GET", "/v1/subscriptions/*")); n != 0 {
		t.Fatalf("asked Stripe %d times for a subscription stored here", n)
	}
	// An unknown one is fetched from Stripe; stripe-mock's has no pledge_checkout: not Pledge's.
	p = bare("sub_unknown")
	res, err = w.Receive(ctx, p, billing.SignatureHeader(p, secret, time.Now()))
	if err != nil || res.Outcome != pledge.OutcomeIgnored {
		t.Fatalf("unknown subscription's invoice: %+v %v", res, err)
	}
	if got := rec.Requests("GET", "/v1/subscriptions/sub_unknown"); len(got) != 1 {
		t.Fatalf("fetched the subscription %d times, want 1", len(got))
	}
}

func TestFailedRefundRereadsTheCharge(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, nil)
	rec := &testkit.Recorder{}
	w := &billing.Webhooks{Secrets: []string{secret}, Ledger: db,
		Stripe: billing.New(billing.Config{SecretKey: "sk_test_123", APIBase: testkit.StripeMock(t), Transport: rec})}
	var m map[string]any
	_ = json.Unmarshal(build(t, "charge.refund.updated", billing.EventParams{Checkout: checkout(pledge.Once, 500), ChargeID: "ch_failed"}), &m)
	m["data"].(map[string]any)["object"].(map[string]any)["status"] = "failed"
	p, _ := json.Marshal(m)
	if _, err := w.Receive(ctx, p, billing.SignatureHeader(p, secret, time.Now())); err != nil {
		t.Fatal(err)
	}
	if got := rec.Requests("GET", "/v1/charges/ch_failed"); len(got) != 1 {
		t.Fatalf("charge fetched %d times, want 1", len(got))
	}
	// A succeeded refund needs no fetch.
	p = build(t, "charge.refund.updated", billing.EventParams{Checkout: checkout(pledge.Once, 500), ChargeID: "ch_ok"})
	if _, err := w.Receive(ctx, p, billing.SignatureHeader(p, secret, time.Now())); err != nil {
		t.Fatal(err)
	}
	if got := rec.Requests("GET", "/v1/charges/*"); len(got) != 1 {
		t.Fatalf("%d charge fetches, want still 1", len(got))
	}
}

// pagingProxy stands in front of stripe-mock: it records each request's query and, on the first
// page, says has_more so that the client must ask for the next page.
type pagingProxy struct {
	mu      sync.Mutex
	queries []url.Values
}

func (p *pagingProxy) handler(t *testing.T, mock string) http.Handler {
	target, _ := url.Parse(mock)
	rp := httputil.NewSingleHostReverseProxy(target)
	direct := rp.Director
	rp.Director = func(r *http.Request) {
		direct(r)
		r.Header.Del("Accept-Encoding") // a plain body to rewrite
	}
	rp.ModifyResponse = func(r *http.Response) error {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.queries = append(p.queries, r.Request.URL.Query())
		if r.Request.URL.Query().Get("starting_after") != "" {
			return nil
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		var page map[string]any
		if err := json.Unmarshal(b, &page); err != nil {
			return err
		}
		page["has_more"] = true
		b, _ = json.Marshal(page)
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		r.ContentLength = int64(len(b))
		r.Header.Del("Content-Length")
		return nil
	}
	return rp
}

func TestReconcileListsAndPagesAgainstStripeMock(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, nil)
	proxy := &pagingProxy{}
	srv := httptest.NewServer(proxy.handler(t, testkit.StripeMock(t)))
	defer srv.Close()
	w := &billing.Webhooks{Secrets: []string{secret}, Ledger: db, Stripe: billing.New(billing.Config{SecretKey: "sk_test_123", APIBase: srv.URL})}
	since := time.Now().Add(-72 * time.Hour)
	sum, err := w.Reconcile(ctx, since, nil)
	if err != nil {
		t.Fatal(err)
	}
	// stripe-mock answers every page with its one fixed event (plan.created): two pages, one new.
	if want := (billing.ReconcileSummary{Seen: 2, New: 1, Ignored: 1}); sum != want {
		t.Fatalf("summary = %+v, want %+v", sum, want)
	}
	if len(proxy.queries) != 2 {
		t.Fatalf("%d requests, want 2 pages", len(proxy.queries))
	}
	first, second := proxy.queries[0], proxy.queries[1]
	// stripe-go writes the array indexed: types[0]=...&types[1]=...
	for i, typ := range billing.HandledTypes {
		if got := first.Get("types[" + strconv.Itoa(i) + "]"); got != typ {
			t.Fatalf("types[%d] = %q, want %q (query %v)", i, got, typ, first)
		}
	}
	if got, want := first.Get("created[gte]"), since.Unix(); got != strconv.FormatInt(want, 10) {
		t.Fatalf("created[gte] = %s, want %d", got, want)
	}
	if first.Get("limit") != "100" || second.Get("starting_after") != "evt_1Pgc76B7WZ01zgkWwyRHS12y" {
		t.Fatalf("paging: first %v, second %v", first, second)
	}
	// Idempotent: a second run finds everything recorded.
	sum, err = w.Reconcile(ctx, since, nil)
	if err != nil || sum != (billing.ReconcileSummary{Seen: 2}) {
		t.Fatalf("second run = %+v, %v", sum, err)
	}
}

// TestReconcileAppliesMissedEventsOfOtherVersions serves a list of Pledge's own events, in a
// newer API version's shape, as Stripe's list endpoint would.
func TestReconcileAppliesMissedEventsOfOtherVersions(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, nil)
	c := checkout(pledge.Monthly, 700)
	p := billing.EventParams{Checkout: c, CustomerID: "cus_r", SubscriptionID: "sub_r", InvoiceID: "in_r", Email: "r@example.com"}
	var events []json.RawMessage
	for _, typ := range []string{"customer.subscription.created", "invoice.paid", "charge.refunded"} {
		var m map[string]any
		_ = json.Unmarshal(build(t, typ, p), &m)
		m["api_version"] = "2025-03-31.basil"
		obj := m["data"].(map[string]any)["object"].(map[string]any)
		if typ == "invoice.paid" { // the newer shape: the subscription under parent
			obj["parent"] = map[string]any{"subscription_details": map[string]any{"subscription": "sub_r", "metadata": obj["subscription_details"].(map[string]any)["metadata"]}}
			delete(obj, "subscription")
			delete(obj, "subscription_details")
		}
		b, _ := json.Marshal(m)
		events = append(events, b)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "url": "/v1/events", "has_more": false, "data": events})
	}))
	defer srv.Close()
	w := &billing.Webhooks{Ledger: db, Stripe: billing.New(billing.Config{SecretKey: "sk_test_123", APIBase: srv.URL})}
	sum, err := w.Reconcile(ctx, time.Now().Add(-time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (billing.ReconcileSummary{Seen: 3, New: 3, Applied: 3}); sum != want {
		t.Fatalf("summary = %+v, want %+v", sum, want)
	}
	var got strings.Builder
	if err := pledge.WriteDonations(ctx, &got, db, pledge.ExportFilter{}, pledge.FormatCSV); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.String(), ",r@example.com,7.00,usd,monthly,refunded,in_r,https://news.example/story,autumn") {
		t.Fatalf("export after reconcile:\n%s", got.String())
	}
	if sum, err := w.Reconcile(ctx, time.Now().Add(-time.Hour), nil); err != nil || sum != (billing.ReconcileSummary{Seen: 3}) {
		t.Fatalf("second run = %+v, %v", sum, err)
	}
}

func TestBuildEventRejectsUnknownTypes(t *testing.T) {
	_, err := billing.BuildEvent("payout.paid", billing.EventParams{})
	if pledge.ErrorCode(err) != pledge.EINVALID {
		t.Fatalf("err = %v", err)
	}
}

func TestEveryHandledTypeBuildsAVerifiableEvent(t *testing.T) {
	for _, typ := range billing.HandledTypes {
		t.Run(typ, func(t *testing.T) {
			le := translate(t, build(t, typ, billing.EventParams{}))
			if le.Type != typ || le.Fact == nil || le.ObjectID == "" {
				t.Fatalf("%s translated to %+v", typ, le)
			}
		})
	}
}

// TestEveryOrderThroughTranslation delivers the five events of a monthly subscription's life, as
// built and signed like Stripe's, in all 120 orders: every order ends in the same ledger.
func TestEveryOrderThroughTranslation(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, nil)
	w := &billing.Webhooks{Secrets: []string{secret}, Ledger: db}
	types := []string{"customer.subscription.created", "invoice.paid", "checkout.session.completed",
		"customer.subscription.updated", "customer.subscription.deleted"}
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	perms := permutations(len(types))
	var want string
	for n, perm := range perms {
		c := checkout(pledge.Monthly, 900)
		p := billing.EventParams{Checkout: c, Email: "p@example.com", CustomerID: fmt.Sprintf("cus_%d", n),
			SubscriptionID: fmt.Sprintf("sub_%d", n), InvoiceID: fmt.Sprintf("in_%d", n), PaymentIntentID: fmt.Sprintf("pi_%d", n),
			ChargeID: fmt.Sprintf("ch_%d", n), SessionID: fmt.Sprintf("cs_%d", n)}
		payloads := make([][]byte, len(types))
		for i, typ := range types {
			q := p
			q.EventID, q.Created = fmt.Sprintf("evt_%d_%d", n, i), t0.Add(time.Duration(i)*time.Minute)
			payloads[i] = build(t, typ, q)
		}
		for _, i := range perm {
			if res, err := w.Receive(ctx, payloads[i], billing.SignatureHeader(payloads[i], secret, time.Now())); err != nil || res.Outcome != pledge.OutcomeApplied {
				t.Fatalf("order %v, %s: %+v %v", perm, types[i], res, err)
			}
		}
		var sub, don string
		if err := db.Reader().QueryRow(`
			SELECT s.status || '|' || s.cancel_at_period_end || '|' || (s.current_period_end - ?) || '|' ||
			       (s.canceled_at - ?) || '|' || s.cancellation_reason || '|' || s.amount || '|' || s.frequency || '|' ||
			       COALESCE(p.email, '')
			FROM subscriptions s LEFT JOIN supporters p ON p.id = s.supporter_id WHERE s.stripe_subscription_id = ?`,
			t0.Unix(), t0.Unix(), p.SubscriptionID).Scan(&sub); err != nil {
			t.Fatal(err)
		}
		if err := db.Reader().QueryRow(`
			SELECT count(*) || '|' || sum(amount) || '|' || min(status) || '|' || min(paid_at - ?)
			FROM donations WHERE stripe_invoice_id = ?`, t0.Unix(), p.InvoiceID).Scan(&don); err != nil {
			t.Fatal(err)
		}
		got := sub + "\n" + don
		if n == 0 {
			want = got
		} else if got != want {
			t.Fatalf("order %v ends in\n%s\nwant\n%s", perm, got, want)
		}
	}
	// Canceled by the deleted event (4 minutes in), one donation of 9.00 paid by the invoice (1 minute in).
	if w := "canceled|0|" + fmt.Sprint(int64(4*60)+int64(t0.AddDate(0, 1, 0).Sub(t0).Seconds())) + "|240|cancellation_requested|900|monthly|p@example.com\n1|900|succeeded|60"; want != w {
		t.Fatalf("final state\n%s\nwant\n%s", want, w)
	}
}

func permutations(n int) [][]int {
	if n == 1 {
		return [][]int{{0}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

// A deployment with a live key ignores test-mode events (livemode=false), e.g. what `pledge
// trigger` posts when run with production's environment: a made-up donation must not reach the
// real ledger and export. The reverse holds too.
func TestLiveDeploymentIgnoresTestModeEvents(t *testing.T) {
	db := storetest.Open(t, nil)
	stripe := billing.New(billing.Config{SecretKey: "sk_live_x", APIBase: "http://127.0.0.1:1"})
	w := &billing.Webhooks{Secrets: []string{secret}, Ledger: db, Stripe: stripe}
	payload := build(t, "checkout.session.completed", billing.EventParams{Checkout: checkout(pledge.Once, 500)})
	res, err := w.Receive(context.Background(), payload, billing.SignatureHeader(payload, secret, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != pledge.OutcomeIgnored {
		t.Fatalf("test-mode event on a live deployment: %s, want ignored", res.Outcome)
	}
	var donations int
	var outcome string
	if err := db.Reader().QueryRow(`SELECT (SELECT count(*) FROM donations), (SELECT outcome FROM stripe_events)`).Scan(&donations, &outcome); err != nil {
		t.Fatal(err)
	}
	if donations != 0 || outcome != "ignored" {
		t.Fatalf("%d donations, event recorded %q; want none and ignored", donations, outcome)
	}

	var ev map[string]any
	if err := json.Unmarshal(build(t, "checkout.session.completed", billing.EventParams{Checkout: checkout(pledge.Once, 700)}), &ev); err != nil {
		t.Fatal(err)
	}
	ev["id"], ev["livemode"] = "evt_live_1", true
	live, _ := json.Marshal(ev)
	testKey := &billing.Webhooks{Secrets: []string{secret}, Ledger: db, Stripe: billing.New(billing.Config{SecretKey: "sk_test_x", APIBase: "http://127.0.0.1:1"})}
	if res, err := testKey.Receive(context.Background(), live, billing.SignatureHeader(live, secret, time.Now())); err != nil || res.Outcome != pledge.OutcomeIgnored {
		t.Fatalf("live event on a test deployment: %+v %v, want ignored", res, err)
	}
}

// A 2023-10-16 invoice carries subscription_details.metadata; when it holds metadata without
// pledge_checkout the invoice is not Pledge's, and the payload settles that: no Stripe call inside
// the webhook (which would answer 500, and be retried for days, whenever Stripe is unreachable).
func TestForeignInvoiceNeedsNoStripeCall(t *testing.T) {
	db := storetest.Open(t, nil)
	down := billing.New(billing.Config{SecretKey: "sk_test_x", APIBase: "http://127.0.0.1:1", Retries: 0, Timeout: time.Second})
	w := &billing.Webhooks{Secrets: []string{secret}, Ledger: db, Stripe: down}
	var ev map[string]any
	if err := json.Unmarshal(build(t, "invoice.paid", billing.EventParams{}), &ev); err != nil {
		t.Fatal(err)
	}
	inv := ev["data"].(map[string]any)["object"].(map[string]any)
	inv["subscription_details"] = map[string]any{"metadata": map[string]any{"shop_order": "42"}}
	for _, l := range inv["lines"].(map[string]any)["data"].([]any) {
		l.(map[string]any)["metadata"] = map[string]any{"shop_order": "42"}
	}
	payload, _ := json.Marshal(ev)
	res, err := w.Receive(context.Background(), payload, billing.SignatureHeader(payload, secret, time.Now()))
	if err != nil {
		t.Fatalf("foreign invoice with Stripe unreachable: %v (the webhook answers 500)", err)
	}
	if res.Outcome != pledge.OutcomeIgnored {
		t.Fatalf("outcome %s, want ignored", res.Outcome)
	}
}

// Subscription metadata in the invoice without pledge_checkout, in either API version's place,
// makes a paid or failed invoice foreign; an empty snapshot settles nothing and is looked up.
func TestInvoiceOfAnotherSubscriptionTranslatesToNothing(t *testing.T) {
	invoice := func(typ string, edit func(obj map[string]any)) *pledge.LedgerEvent {
		var m map[string]any
		if err := json.Unmarshal(build(t, typ, billing.EventParams{Checkout: checkout(pledge.Monthly, 500), SubscriptionID: "sub_x"}), &m); err != nil {
			t.Fatal(err)
		}
		obj := m["data"].(map[string]any)["object"].(map[string]any)
		obj["lines"].(map[string]any)["data"].([]any)[0].(map[string]any)["metadata"] = map[string]any{}
		edit(obj)
		payload, _ := json.Marshal(m)
		return translate(t, payload)
	}
	shop := map[string]any{"shop_order": "42"}
	for _, typ := range []string{"invoice.paid", "invoice.payment_failed"} {
		if le := invoice(typ, func(o map[string]any) { o["subscription_details"] = map[string]any{"metadata": shop} }); le.Fact != nil {
			t.Errorf("%s with another's subscription_details.metadata: %+v", typ, le.Fact)
		}
		newer := func(o map[string]any) {
			delete(o, "subscription_details")
			o["parent"] = map[string]any{"subscription_details": map[string]any{"subscription": "sub_x", "metadata": shop}}
		}
		if le := invoice(typ, newer); le.Fact != nil {
			t.Errorf("%s with another's parent.subscription_details.metadata: %+v", typ, le.Fact)
		}
		if le := invoice(typ, func(o map[string]any) { o["subscription_details"] = map[string]any{"metadata": map[string]any{}} }); le.Fact == nil {
			t.Errorf("%s with empty subscription metadata was dropped without a lookup", typ)
		}
	}
}

// invoice.upcoming carries the renewal's amount and date; invoice.payment_failed says whether the
// invoice renews the subscription (only renewals get a recovery e-mail).
func TestTranslateUpcomingAndRenewalFailure(t *testing.T) {
	co := &pledge.Checkout{ID: "co_up", Frequency: pledge.Annual, Amount: pledge.Money{Amount: 6000, Currency: "eur"}}
	at := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	le := translate(t, build(t, "invoice.upcoming", billing.EventParams{Checkout: co, SubscriptionID: "sub_up", CustomerID: "cus_up",
		Edit: func(o map[string]any) { o["next_payment_attempt"] = at.Unix() }}))
	up, ok := le.Fact.(*pledge.InvoiceUpcoming)
	if !ok || up.Subscription != "sub_up" || up.Customer != "cus_up" || up.Amount != (pledge.Money{Amount: 6000, Currency: "eur"}) ||
		!up.RenewsAt.Equal(at) || up.Interval != "year" || up.Meta.CheckoutID != "co_up" || le.ObjectID != "sub_up" {
		t.Fatalf("invoice.upcoming: %+v %+v", le, up)
	}
	for reason, renewal := range map[string]bool{"subscription_cycle": true, "subscription_create": false} {
		le := translate(t, build(t, "invoice.payment_failed", billing.EventParams{Checkout: co,
			Edit: func(o map[string]any) { o["billing_reason"] = reason }}))
		if f := le.Fact.(*pledge.InvoiceFailed); f.Renewal != renewal || f.Customer == "" {
			t.Fatalf("billing_reason %s: %+v", reason, f)
		}
	}
}
