package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/billing"
	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/server"
	"github.com/pledge-news/pledge/internal/sqlite"
	"github.com/pledge-news/pledge/internal/testkit"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
	"github.com/pledge-news/pledge/web"
)

const secret = "whsec_server_test"

type webhookEnv struct {
	db   *sqlite.DB
	srv  *server.Server
	h    http.Handler
	logs *bytes.Buffer
}

func newWebhookEnv(t testing.TB) *webhookEnv {
	t.Helper()
	db := storetest.Open(t, nil)
	base, _ := url.Parse("http://localhost:8080")
	logs := &bytes.Buffer{}
	srv, err := server.New(server.Config{BaseURL: base, Org: "Test", Secret: bytes.Repeat([]byte("k"), 32),
		EmbedOrigins: []string{"http://localhost:8080"}}, web.FS, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.Checkouts = db
	srv.Webhooks = &billing.Webhooks{Secrets: []string{secret}, Ledger: db}
	return &webhookEnv{db: db, srv: srv, h: srv.Handler(), logs: logs}
}

func (e *webhookEnv) post(t testing.TB, payload []byte, signature string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(payload))
	r.Header.Set("Content-Type", "application/json")
	if signature != "" {
		r.Header.Set("Stripe-Signature", signature)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

func (e *webhookEnv) count(t testing.TB, table string) int {
	t.Helper()
	var n int
	if err := e.db.Reader().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *webhookEnv) metric(t *testing.T, typ, outcome string) string {
	t.Helper()
	w := httptest.NewRecorder()
	e.srv.MetricsHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	prefix := `pledge_webhook_events_total{outcome="` + outcome + `",type="` + typ + `"} `
	for _, line := range strings.Split(w.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return v
		}
	}
	return "0"
}

func onceEvent(t *testing.T, db *sqlite.DB) []byte {
	t.Helper()
	c, err := db.CreateCheckout(context.Background(), &pledge.Checkout{Nonce: "n-" + time.Now().Format(time.RFC3339Nano),
		Frequency: pledge.Once, Amount: pledge.Money{Amount: 500, Currency: "usd"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := billing.BuildEvent("checkout.session.completed", billing.EventParams{Checkout: c, Email: "reader@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWebhookSignatureFailuresAnswer400AndStoreNothing(t *testing.T) {
	e := newWebhookEnv(t)
	payload := onceEvent(t, e.db)
	now := time.Now()
	cases := map[string]struct {
		body   []byte
		header string
	}{
		"wrong secret":    {payload, billing.SignatureHeader(payload, "whsec_wrong", now)},
		"tampered body":   {bytes.Replace(payload, []byte(`"amount_total":500`), []byte(`"amount_total":5`), 1), billing.SignatureHeader(payload, secret, now)},
		"stale timestamp": {payload, billing.SignatureHeader(payload, secret, now.Add(-10*time.Minute))},
		"missing header":  {payload, ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			w := e.post(t, c.body, c.header)
			if w.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", w.Code, w.Body)
			}
		})
	}
	if n := e.count(t, "stripe_events") + e.count(t, "donations"); n != 0 {
		t.Fatalf("%d rows stored by rejected deliveries", n)
	}
	if got := e.metric(t, "unverified", "rejected"); got != "4" {
		t.Fatalf("rejected counter = %s, want 4", got)
	}
	if strings.Contains(e.logs.String(), "reader@example.com") || strings.Contains(e.logs.String(), "amount_total") {
		t.Fatal("the log holds payload data")
	}
}

func TestWebhookOversizeBodyAnswers413(t *testing.T) {
	e := newWebhookEnv(t)
	big := append([]byte(`{"id":"evt_big","pad":"`), bytes.Repeat([]byte("x"), 64<<10)...)
	big = append(big, `"}`...)
	if w := e.post(t, big, billing.SignatureHeader(big, secret, time.Now())); w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", w.Code)
	}
	// Without a Content-Length the body is cut while reading: still 413.
	r := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", io.MultiReader(bytes.NewReader(big)))
	r.ContentLength = -1
	r.Header.Set("Stripe-Signature", billing.SignatureHeader(big, secret, time.Now()))
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked: status %d, want 413", w.Code)
	}
	if n := e.count(t, "stripe_events"); n != 0 {
		t.Fatalf("%d events stored", n)
	}
}

func TestWebhookAppliesOnceAndAnswersDuplicates(t *testing.T) {
	e := newWebhookEnv(t)
	payload := onceEvent(t, e.db)
	for i := 0; i < 5; i++ {
		w := e.post(t, payload, billing.SignatureHeader(payload, secret, time.Now()))
		want := `"outcome":"duplicate"`
		if i == 0 {
			want = `"outcome":"applied"`
		}
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), want) {
			t.Fatalf("delivery %d: %d %s, want 200 %s", i+1, w.Code, w.Body, want)
		}
		if w.Header().Get("Set-Cookie") != "" {
			t.Fatal("the webhook set a cookie")
		}
	}
	if got := e.count(t, "donations"); got != 1 {
		t.Fatalf("donations = %d, want 1", got)
	}
	if a, d := e.metric(t, "checkout.session.completed", "applied"), e.metric(t, "checkout.session.completed", "duplicate"); a != "1" || d != "4" {
		t.Fatalf("counters applied=%s duplicate=%s, want 1 and 4", a, d)
	}
	// An unhandled type is recorded and answered 200.
	other := []byte(`{"id":"evt_other","object":"event","api_version":"2023-10-16","created":1790000000,"type":"payout.paid","livemode":false,"data":{"object":{"id":"po_1","object":"payout"}}}`)
	if w := e.post(t, other, billing.SignatureHeader(other, secret, time.Now())); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "ignored") {
		t.Fatalf("unhandled type: %d %s", w.Code, w.Body)
	}
}

// TestWebhookFailureRollsBackAndRetryAppliesOnce trips a trigger (created from a second
// connection, as an operator's mistake or a full disk would) between the event's receipt and its
// commit: the answer is 500, nothing is kept, and Stripe's retry applies the event once.
func TestWebhookFailureRollsBackAndRetryAppliesOnce(t *testing.T) {
	e := newWebhookEnv(t)
	payload := onceEvent(t, e.db)
	driver, dsn := "sqlite3", "file:"+e.db.Path+"?_busy_timeout=5000"
	create := []string{`CREATE TRIGGER fail_donation BEFORE INSERT ON donations BEGIN SELECT RAISE(ABORT, 'injected failure'); END`}
	drop := `DROP TRIGGER fail_donation`
	if testkit.OnPostgres() {
		driver, dsn = "pgx", e.db.Path
		create = []string{`CREATE FUNCTION fail_donation() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'injected failure'; END $$`,
			`CREATE TRIGGER fail_donation BEFORE INSERT ON donations FOR EACH ROW EXECUTE FUNCTION fail_donation()`}
		drop = `DROP TRIGGER fail_donation ON donations`
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range create {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	w := e.post(t, payload, billing.SignatureHeader(payload, secret, time.Now()))
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", w.Code)
	}
	if n := e.count(t, "stripe_events") + e.count(t, "donations") + e.count(t, "supporters"); n != 0 {
		t.Fatalf("%d rows kept after a failure", n)
	}
	var checkout string
	_ = e.db.Reader().QueryRow(`SELECT status FROM checkouts`).Scan(&checkout)
	if checkout != "pending" {
		t.Fatalf("checkout status %q after a rolled-back event, want pending", checkout)
	}
	if !strings.Contains(e.logs.String(), `"event_id":"evt_`) || strings.Contains(e.logs.String(), "reader@example.com") {
		t.Fatalf("failure log line:\n%s", e.logs)
	}
	if got := e.metric(t, "checkout.session.completed", "failed"); got != "1" {
		t.Fatalf("failed counter = %s", got)
	}
	if _, err := raw.Exec(drop); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if w := e.post(t, payload, billing.SignatureHeader(payload, secret, time.Now())); w.Code != http.StatusOK {
			t.Fatalf("retry %d: status %d", i+1, w.Code)
		}
	}
	if got := e.count(t, "donations"); got != 1 {
		t.Fatalf("donations after retries = %d, want 1", got)
	}
}

// BenchmarkWebhook measures distinct, signed one-off events applied through the handler into a
// real SQLite file (synchronous=FULL: each commit is on disk).
func BenchmarkWebhook(b *testing.B) {
	e := newWebhookEnv(b)
	payloads := make([][]byte, b.N)
	headers := make([]string, b.N)
	c := &pledge.Checkout{ID: "co_bench", Frequency: pledge.Once, Amount: pledge.Money{Amount: 500, Currency: "usd"}}
	for i := range payloads {
		payloads[i], _ = billing.BuildEvent("checkout.session.completed", billing.EventParams{Checkout: c})
		headers[i] = billing.SignatureHeader(payloads[i], secret, time.Now())
	}
	b.ResetTimer()
	for i := range payloads {
		if w := e.post(b, payloads[i], headers[i]); w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkWebhookParallel is Stripe's burst: many distinct events delivered at once, which the
// store's group commit turns into shared fsyncs.
func BenchmarkWebhookParallel(b *testing.B) {
	e := newWebhookEnv(b)
	c := &pledge.Checkout{ID: "co_bench", Frequency: pledge.Once, Amount: pledge.Money{Amount: 500, Currency: "usd"}}
	next := make(chan []byte, b.N)
	for i := 0; i < b.N; i++ {
		p, _ := billing.BuildEvent("checkout.session.completed", billing.EventParams{Checkout: c})
		next <- p
	}
	close(next)
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p := <-next
			if w := e.post(b, p, billing.SignatureHeader(p, secret, time.Now())); w.Code != http.StatusOK {
				b.Errorf("status %d", w.Code)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if got := e.count(b, "donations"); got != b.N {
		b.Fatalf("%d donations for %d events", got, b.N)
	}
}
