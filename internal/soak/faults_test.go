package soak

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/testkit"
)

// TestStripeFaults puts testkit.FaultProxy between the server and stripe-mock. For each fault (a
// 500, a 429, a reset connection, a hang past the client's timeout) a reader's POST /donate gets
// the 503 page, the rest of the service keeps answering meanwhile, and the reader's retry of the
// same form, once Stripe is back, makes exactly one session: every attempt that reached Stripe
// carried one idempotency key. How long the reader waited for the 503 page is logged (make soak
// shows it); it is not asserted.
func TestStripeFaults(t *testing.T) {
	proxy := testkit.NewFaultProxy(t, testkit.StripeMock(t))
	s := newServer(t, proxy.URL)
	s.start()
	hc := &http.Client{Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ctx := context.Background()

	for _, fault := range []testkit.Fault{testkit.Fault500, testkit.Fault429, testkit.FaultReset, testkit.FaultHang} {
		t.Run(string(fault), func(t *testing.T) {
			proxy.Reset()
			proxy.SetFault(fault)
			form := url.Values{"frequency": {"once"}, "amount": {"10"}, "currency": {"usd"}, "article": {article}, "nonce": {nonce()}}

			// The rest of the service while the reader waits.
			others := &tally{}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for first := true; ; first = false {
					if !first { // at least one round, however fast the donate answer
						select {
						case <-stop:
							return
						default:
						}
					}
					for _, p := range []string{"/healthz", "/prompt?article=" + url.QueryEscape(article)} {
						route, _, _ := strings.Cut(p, "?")
						resp, err := hc.Get(s.base + p)
						if err != nil {
							others.add(route, 0)
							continue
						}
						resp.Body.Close()
						others.add(route, resp.StatusCode)
					}
				}
			}()
			start := time.Now()
			resp, err := postForm(ctx, hc, s.base, "/donate", form, "text/html")
			waited := time.Since(start)
			close(stop)
			wg.Wait()
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			attempts := len(proxy.Requests("POST", "/v1/checkout/sessions"))
			t.Logf("Stripe fault %s: the reader got %d after %s (%d attempts reached the proxy); meanwhile %s",
				fault, resp.StatusCode, waited.Round(time.Millisecond), attempts, others.String())
			if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("POST /donate during a Stripe %s = %d %s, want the 503 page:\n%.500s", fault, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			o := others.String()
			if !strings.Contains(o, "/healthz 200:") || !strings.Contains(o, "/prompt 200:") || len(others.serverErrors()) > 0 ||
				strings.Contains(o, "/healthz 0:") || strings.Contains(o, "/prompt 0:") {
				t.Errorf("the rest of the service during the fault: %s", o)
			}

			// Stripe is back: the reader submits the same form again.
			proxy.SetFault(testkit.FaultNone)
			resp, err = postForm(ctx, hc, s.base, "/donate", form, "text/html")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") == "" {
				t.Fatalf("retry after the fault = %d (Location %q), want 303 to Checkout", resp.StatusCode, resp.Header.Get("Location"))
			}
			keys := map[string]int{}
			made := 0
			for _, r := range proxy.Requests("POST", "/v1/checkout/sessions") {
				keys[r.IdempotencyKey]++
				if r.Forwarded && r.Fault == testkit.FaultNone {
					made++
				}
			}
			if len(keys) != 1 || keys[""] > 0 {
				t.Errorf("session requests carried idempotency keys %v, want one", keys)
			}
			if made != 1 {
				t.Errorf("%d session requests answered by Stripe after the fault, want 1", made)
			}
			// A third submit of the same form goes straight to the session already made.
			resp, err = postForm(ctx, hc, s.base, "/donate", form, "text/html")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Errorf("third submit = %d, want 303", resp.StatusCode)
			}
			if n := len(proxy.Requests("POST", "/v1/checkout/sessions")); n != attempts+1 {
				t.Errorf("the third submit reached Stripe again (%d requests, want %d)", n, attempts+1)
			}
		})
	}
	s.stop()
	scanLogs(t, s.logs())
}
