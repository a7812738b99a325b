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
	"github.com/stripe/stripe-go/v76/balancetransaction"
	portalsession "github.com/stripe/stripe-go/v76/billingportal/session"
	"github.com/stripe/stripe-go/v76/charge"
	checkoutsession "github.com/stripe/stripe-go/v76/checkout/session"
	"github.com/stripe/stripe-go/v76/customer"
	"github.com/stripe/stripe-go/v76/event"
	"github.com/stripe/stripe-go/v76/paymentintent"
	"github.com/stripe/stripe-go/v76/subscription"
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

// API is the part of Stripe's API the service calls, one stripe-go client per resource. It is not
// stripe-go's client.API, which holds a client for every resource Stripe has and so links some
// 150 packages the service never calls (about 1 MB of the binary, all of it resident when the
// service runs: see docs/performance.md, "The memory row, fourth round").
type API struct {
	BalanceTransactions   *balancetransaction.Client
	BillingPortalSessions *portalsession.Client
	Charges               *charge.Client
	CheckoutSessions      *checkoutsession.Client
	Customers             *customer.Client
	Events                *event.Client
	PaymentIntents        *paymentintent.Client
	Subscriptions         *subscription.Client
}

// Client talks to Stripe. It is safe for concurrent use.
type Client struct {
	api  *API
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
	b, key := stripe.GetBackendWithConfig(stripe.APIBackend, bc), cfg.SecretKey
	api := &API{
		BalanceTransactions:   &balancetransaction.Client{B: b, Key: key},
		BillingPortalSessions: &portalsession.Client{B: b, Key: key},
		Charges:               &charge.Client{B: b, Key: key},
		CheckoutSessions:      &checkoutsession.Client{B: b, Key: key},
		Customers:             &customer.Client{B: b, Key: key},
		Events:                &event.Client{B: b, Key: key},
		PaymentIntents:        &paymentintent.Client{B: b, Key: key},
		Subscriptions:         &subscription.Client{B: b, Key: key},
	}
	return &Client{api: api, key: key, site: cfg.Site}
}

// API returns the stripe-go clients of the resources the service uses.
func (c *Client) API() *API { return c.api }

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
