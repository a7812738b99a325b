package testkit

import (
	"net/http"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

func TestFaultProxy(t *testing.T) {
	proxy := NewFaultProxy(t, StripeMock(t))
	bc := &stripe.BackendConfig{URL: stripe.String(proxy.URL), HTTPClient: &http.Client{Timeout: 300 * time.Millisecond},
		MaxNetworkRetries: stripe.Int64(1), LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}}
	api := client.New("sk_test_faults", &stripe.Backends{API: stripe.GetBackendWithConfig(stripe.APIBackend, bc)})
	create := func(key string) error {
		p := &stripe.CustomerParams{Email: stripe.String("fault@example.com")}
		p.SetIdempotencyKey(key)
		_, err := api.Customers.New(p)
		return err
	}
	for _, tt := range []struct {
		fault     Fault
		wantErr   bool
		attempts  int // stripe-go retries network failures, never a POST's 500 or a plain 429
		forwarded int
		atLeast   bool // net/http also retries a keyed request whose reused connection was reset
	}{
		{FaultNone, false, 1, 1, false},
		{Fault500, true, 1, 0, false},
		{Fault429, true, 1, 0, false},
		{FaultReset, true, 2, 0, true},
		{FaultHang, true, 2, 2, false},
	} {
		t.Run("fault="+string(tt.fault), func(t *testing.T) {
			proxy.Reset()
			proxy.SetFault(tt.fault)
			key := "key-" + string(tt.fault)
			if err := create(key); (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tt.wantErr)
			}
			reqs := proxy.Requests("POST", "/v1/customers")
			forwarded := 0
			for _, r := range reqs {
				if r.IdempotencyKey != key {
					t.Errorf("idempotency key %q, want %q", r.IdempotencyKey, key)
				}
				if r.Forwarded {
					forwarded++
				}
			}
			if (len(reqs) != tt.attempts && !(tt.atLeast && len(reqs) > tt.attempts)) || forwarded != tt.forwarded {
				t.Fatalf("%d attempts (%d forwarded), want %d (%d)", len(reqs), forwarded, tt.attempts, tt.forwarded)
			}
		})
	}
	// A fault for the next request only, then the upstream again.
	proxy.Reset()
	proxy.SetFaultFor(Fault500, 1)
	if err := create("k1"); err == nil {
		t.Fatal("first request passed through a 500 fault")
	}
	if err := create("k1"); err != nil {
		t.Fatalf("second request: %v", err)
	}
	if got := len(proxy.Requests("POST", "/v1/*")); got != 2 {
		t.Fatalf("%d requests recorded, want 2", got)
	}
}
