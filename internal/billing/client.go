// Package billing is Pledge's adapter to Stripe: Checkout and billing-portal sessions, fetching
// and listing objects, verifying webhooks and translating Stripe's events into domain facts.
package billing

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Config is what the Stripe client needs. It is built from the service's configuration in
// cmd/pledge and passed in; nothing here reads the environment.
type Config struct {
	SecretKey string
	// APIBase points the client at another Stripe API (stripe-mock in development and tests);
	// "" means Stripe's.
	APIBase string
	// Timeout bounds one HTTP request to Stripe, retries included separately.
	Timeout time.Duration
	// Retries is how many times a failed network call, 409 or 5xx is retried.
	Retries int64
	// Site is this deployment's pledge_site mark, put on every Checkout Session it creates (and
	// the payment intent or subscription the session makes); "" puts none.
	Site string
	// Transport replaces the HTTP transport (tests record or break requests with it).
	Transport http.RoundTripper
	Logger    *slog.Logger
}

// Client talks to Stripe. It is safe for concurrent use.
type Client struct {
	api  *client.API
	key  string
	site string
}

// New builds a Client from cfg.
func New(cfg Config) *Client {
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	hc := &http.Client{Timeout: cfg.Timeout, Transport: cfg.Transport}
	bc := &stripe.BackendConfig{
		HTTPClient:        hc,
		MaxNetworkRetries: stripe.Int64(cfg.Retries),
		LeveledLogger:     slogLeveled{cfg.Logger},
		EnableTelemetry:   stripe.Bool(false),
	}
	if cfg.APIBase != "" {
		bc.URL = stripe.String(strings.TrimRight(cfg.APIBase, "/"))
	}
	backends := &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, bc),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, bc),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, bc),
	}
	return &Client{api: client.New(cfg.SecretKey, backends), key: cfg.SecretKey, site: cfg.Site}
}

// API returns the underlying stripe-go client.
func (c *Client) API() *client.API { return c.api }

// Live reports whether the client uses a live-mode key.
func (c *Client) Live() bool { return IsLiveKey(c.key) }

// IsLiveKey reports whether key is a live-mode secret or restricted key.
func IsLiveKey(key string) bool {
	return strings.HasPrefix(key, "sk_live_") || strings.HasPrefix(key, "rk_live_")
}

// ValidateKey says what is wrong with a secret key, or nil.
func ValidateKey(key string) error {
	for _, p := range []string{"sk_test_", "sk_live_", "rk_test_", "rk_live_"} {
		if strings.HasPrefix(key, p) && len(key) > len(p) {
			return nil
		}
	}
	return fmt.Errorf("must start with sk_test_ or sk_live_")
}

// slogLeveled passes stripe-go's own log lines to slog. stripe-go logs request paths and error
// messages, never bodies, at these levels; debug and info lines are dropped as noise.
type slogLeveled struct{ l *slog.Logger }

func (s slogLeveled) Debugf(string, ...any) {}
func (s slogLeveled) Infof(string, ...any)  {}
func (s slogLeveled) Warnf(format string, v ...any) {
	s.l.Warn(fmt.Sprintf(format, v...), "component", "stripe")
}
func (s slogLeveled) Errorf(format string, v ...any) {
	s.l.Error(fmt.Sprintf(format, v...), "component", "stripe")
}
