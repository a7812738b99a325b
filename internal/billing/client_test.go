package billing

import (
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/pledge-news/pledge/internal/testkit"
)

// TestClientTalksToStripeMock checks the client goes to the configured API base with the key and
// API version, through the transport it was given.
func TestClientTalksToStripeMock(t *testing.T) {
	base := testkit.StripeMock(t)
	rec := &testkit.Recorder{}
	c := New(Config{SecretKey: "sk_test_123", APIBase: base, Transport: rec})
	cus, err := c.API().Customers.New(&stripe.CustomerParams{Email: stripe.String("reader@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if cus.ID == "" {
		t.Error("no customer id from stripe-mock")
	}
	reqs := rec.Requests("POST", "/v1/customers")
	if len(reqs) != 1 {
		t.Fatalf("recorded %d customer requests, want 1", len(reqs))
	}
	if got := reqs[0].Header.Get("Stripe-Version"); got != stripe.APIVersion {
		t.Errorf("Stripe-Version = %q, want %q", got, stripe.APIVersion)
	}
	if got := reqs[0].Header.Get("Authorization"); got != "Bearer sk_test_123" {
		t.Errorf("Authorization = %q", got)
	}
	if got := reqs[0].Form.Get("email"); got != "reader@example.com" {
		t.Errorf("email sent = %q", got)
	}
	if c.Live() {
		t.Error("a test key reported live")
	}
}

// TestClientRetriesNetworkErrorsThenGivesUp checks the configured retries happen and the error
// comes back rather than hanging.
func TestClientRetriesNetworkErrorsThenGivesUp(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: connection refused
	var calls int
	c := New(Config{SecretKey: "sk_test_123", APIBase: "http://" + addr, Retries: 2, Timeout: 2 * time.Second,
		Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			calls++
			return http.DefaultTransport.RoundTrip(r)
		})})
	_, err = c.API().Customers.Get("cus_123", nil)
	if err == nil {
		t.Fatal("no error from an unreachable Stripe")
	}
	if calls != 3 {
		t.Errorf("%d attempts, want 3 (1 + 2 retries)", calls)
	}
	var se *stripe.Error
	if errors.As(err, &se) {
		t.Errorf("a network failure came back as a Stripe API error: %v", se)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestLiveKeys(t *testing.T) {
	for key, live := range map[string]bool{"sk_live_x": true, "rk_live_x": true, "sk_test_x": false, "": false} {
		if IsLiveKey(key) != live {
			t.Errorf("IsLiveKey(%q) = %v", key, !live)
		}
	}
	for key, ok := range map[string]bool{"sk_test_x": true, "sk_live_x": true, "pk_test_x": false, "sk_test_": false, "": false} {
		if (ValidateKey(key) == nil) != ok {
			t.Errorf("ValidateKey(%q) ok = %v", key, !ok)
		}
	}
}
