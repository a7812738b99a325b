package soak

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/pledge-news/pledge/internal/seal"
	"github.com/pledge-news/pledge/internal/testkit"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
)

// pledgeBin is the pledge binary built once for the package's tests (a real child process,
// so that kill -9 is a real crash).
var pledgeBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pledge-soak")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pledgeBin = filepath.Join(dir, "pledge")
	build := exec.Command("go", "build", "-o", pledgeBin, "github.com/pledge-news/pledge/cmd/pledge")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "soak: building pledge:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := testkit.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// soakDuration is SOAK_DURATION (default 3s: `make test`); `make soak` sets 60s.
func soakDuration(t *testing.T) time.Duration {
	t.Helper()
	s := os.Getenv("SOAK_DURATION")
	if s == "" {
		return 3 * time.Second
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("SOAK_DURATION=%q is not a duration such as 60s", s)
	}
	return d
}

const webhookSecret = "whsec_soak_0123456789abcdef"

// server is one `pledge serve` child process on a database file that outlives it, so the test
// can kill it and start it again on the same data.
type server struct {
	t       *testing.T
	db      string
	logPath string
	stripe  string
	env     []string

	cmd  *exec.Cmd
	done chan struct{}
	base string
}

func newServer(t *testing.T, stripeBase string, env ...string) *server {
	dir := t.TempDir()
	return newServerOn(t, stripeBase, filepath.Join(dir, "pledge.db"), dataKey(t), env...)
}

// newServerOn is a server on the given database (a file, or a postgres:// URL that several
// servers share) with the given data key file.
func newServerOn(t *testing.T, stripeBase, db, key string, env ...string) *server {
	env = append([]string{"PLEDGE_DATA_KEY_FILE=" + key}, env...)
	return &server{t: t, db: db, logPath: filepath.Join(t.TempDir(), "serve.log"), stripe: stripeBase, env: env}
}

// dataKey makes a data key file: readers' addresses are sealed, as they are in production.
func dataKey(t *testing.T) string {
	t.Helper()
	key := filepath.Join(t.TempDir(), "data.key")
	if _, err := seal.CreateKeyFile(key); err != nil {
		t.Fatal(err)
	}
	return key
}

// start starts the server (again) and waits until it is ready.
func (s *server) start() {
	t := s.t
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	s.base = "http://" + addr
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pledgeBin, "serve")
	cmd.Env = append(os.Environ(),
		"PLEDGE_ADDR="+addr, "PLEDGE_METRICS_ADDR=", "PLEDGE_DB="+s.db, "PLEDGE_BASE_URL="+s.base,
		"PLEDGE_SECRET=soak-signing-secret-0123456789abcdef", "PLEDGE_DEMO=0",
		"PLEDGE_SMTP_URL=", "PLEDGE_MAIL_FROM=", "PLEDGE_CONFIG=", "PLEDGE_TRUSTED_PROXIES=", "PLEDGE_EMBED_ORIGINS=",
		"PLEDGE_REMIND_LIMIT=100000000/1s", "PLEDGE_DONATE_LIMIT=50/1s",
		"STRIPE_SECRET_KEY=sk_test_soak", "STRIPE_WEBHOOK_SECRET="+webhookSecret, "STRIPE_API_BASE="+s.stripe)
	cmd.Env = append(cmd.Env, s.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// The server dies with the test binary even when that is killed (a test timeout).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	done := s.done
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() { s.kill() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-done:
			t.Fatalf("pledge serve exited at start:\n%s", s.logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pledge serve not ready within a minute:\n%s", s.logs())
		}
		time.Sleep(20 * time.Millisecond) // polling a condition
	}
}

// kill ends the server with SIGKILL: a crash, nothing flushed.
func (s *server) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// stop ends the server with SIGTERM and waits for its graceful exit.
func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.t.Errorf("pledge serve did not stop within 30s of SIGTERM")
		s.kill()
	}
	s.cmd = nil
}

func (s *server) logs() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// query opens the database read-only (the server may be running: WAL lets it), or the
// PostgreSQL database the server uses.
func (s *server) query(t *testing.T) *sql.DB {
	t.Helper()
	if isPostgres(s.db) {
		return openPostgres(t, s.db)
	}
	db, err := sql.Open("sqlite3", "file:"+s.db+"?_query_only=on&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// prepareCheckouts stores n open checkouts before the server first starts: the ones the soak's
// webhook events complete.
func prepareCheckouts(t *testing.T, path string, n int) {
	t.Helper()
	ctx := context.Background()
	db := storetest.OpenAt(t, path, nil)
	defer db.Close() // before the server starts, not when the test ends
	tx, err := db.BeginTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	now := time.Now().Unix()
	for i := range n {
		id := soakID(i)
		if _, err := tx.ExecContext(ctx, `INSERT INTO checkouts (id, nonce, frequency, amount, currency, article, campaign,
			status, stripe_session_id, created_at, updated_at) VALUES (?, ?, 'once', 1000, 'usd', ?, 'soak', 'open', ?, ?, ?)`,
			"co_"+id, "nonce_"+id, article, "cs_"+id, now, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

const article = "https://news.example/2026/11/soak-article"

func soakID(i int) string { return fmt.Sprintf("soak_%07d", i) }

// completedEvent is a checkout.session.completed event (API version 2023-10-16's shape) paying the
// i-th prepared checkout: a one-off gift of 10 USD.
func completedEvent(i int) []byte {
	id := soakID(i)
	now := time.Now().Unix()
	meta := map[string]string{"pledge_checkout": "co_" + id, "frequency": "once", "article": article, "campaign": "soak"}
	ev := map[string]any{
		"id": "evt_" + id, "object": "event", "api_version": "2023-10-16", "created": now, "livemode": false,
		"pending_webhooks": 1, "type": "checkout.session.completed", "request": map[string]any{"id": nil, "idempotency_key": nil},
		"data": map[string]any{"object": map[string]any{
			"id": "cs_" + id, "object": "checkout.session", "livemode": false, "created": now - 60,
			"mode": "payment", "status": "complete", "payment_status": "paid", "submit_type": "donate",
			"amount_subtotal": 1000, "amount_total": 1000, "currency": "usd", "client_reference_id": "co_" + id,
			"customer": "cus_" + id, "customer_creation": "always",
			"customer_details": map[string]any{"email": "reader." + id + "@example.com", "name": "Soak Reader", "address": nil,
				"phone": nil, "tax_exempt": "none", "tax_ids": []any{}},
			"payment_intent": "pi_" + id, "subscription": nil, "invoice": nil, "metadata": meta,
			"success_url": "http://127.0.0.1/donate/thanks", "cancel_url": "http://127.0.0.1/donate/cancelled",
			"url": nil, "expires_at": now + 86400,
		}},
	}
	b, _ := json.Marshal(ev)
	return b
}

// postEvent delivers an event as Stripe does, signed.
func postEvent(ctx context.Context, hc *http.Client, base string, payload []byte) (int, error) {
	sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: webhookSecret, Timestamp: time.Now()})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/webhooks/stripe", strings.NewReader(string(payload)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", sig.Header)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// postForm posts a form the way a browser on the service's own page does (Sec-Fetch-Site lets
// the CSRF middleware judge it).
func postForm(ctx context.Context, hc *http.Client, base, path string, form url.Values, accept string) (*http.Response, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", base)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return hc.Do(req)
}

// tally counts responses by route and status, safely from many clients.
type tally struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *tally) add(route string, status int) {
	c.mu.Lock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[fmt.Sprintf("%s %d", route, status)]++
	c.mu.Unlock()
}

func (c *tally) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var parts []string
	for k, v := range c.counts {
		parts = append(parts, fmt.Sprintf("%s: %d", k, v))
	}
	return strings.Join(parts, ", ")
}

// serverErrors returns the counts of 5xx answers.
func (c *tally) serverErrors() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.counts {
		if strings.Contains(k, " 5") {
			out[k] = v
		}
	}
	return out
}
