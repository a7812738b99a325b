package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/pledge-news/pledge/internal/billing"
	"github.com/pledge-news/pledge/internal/loop"
	"github.com/pledge-news/pledge/internal/pledge"
)

// The reconcile timer of serve: a first run a minute after start (not at start, so a crash loop
// does not hammer Stripe), then every six hours, each looking back reconcileSince.
const (
	reconcileDelay = time.Minute
	reconcileEvery = 6 * time.Hour
)

// demoEmail is the supporter address the demo checkout "pays" with.
const demoEmail = "demo.reader@example.com"

// newWebhooks builds the webhook receiver over the store and the Stripe client.
func (m *Main) newWebhooks() *billing.Webhooks {
	return &billing.Webhooks{Secrets: m.Config.webhookSecrets, Ledger: m.DB, Settlements: m.DB, Stripe: m.Stripe,
		Site: m.Config.SiteID, Logger: m.env.Logger}
}

// openStore opens what a command needs without the HTTP side: the store and Stripe.
func (m *Main) openStore(ctx context.Context) error {
	var err error
	if m.DB, err = m.Config.newDB(); err != nil {
		return err
	}
	if err := m.DB.Open(ctx); err != nil {
		return err
	}
	m.Stripe = billing.New(billing.Config{
		SecretKey: m.Config.StripeSecretKey,
		APIBase:   m.Config.StripeAPIBase,
		Timeout:   30 * time.Second,
		Retries:   2,
		Site:      m.Config.SiteID,
		Logger:    m.env.Logger,
	})
	return nil
}

// reconcile applies the events of the last `since` that Stripe has and the ledger lacks.
func (m *Main) reconcile(ctx context.Context, since time.Duration, progress func(billing.ReconcileSummary)) (billing.ReconcileSummary, error) {
	return m.newWebhooks().Reconcile(ctx, time.Now().Add(-since), progress)
}

// startReconcile runs reconcile on serve's timer until ctx ends; the returned channel closes
// when the loop has stopped, so the store is closed only after it.
func (m *Main) startReconcile(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		loop.Every[struct{}](ctx, reconcileDelay, reconcileEvery, nil, func(bool) {
			sum, err := m.reconcile(ctx, reconcileSince, nil)
			if err != nil && ctx.Err() == nil {
				m.env.Logger.Warn("reconcile failed", "err", err)
			}
			m.env.Logger.Info("reconciled", "seen", sum.Seen, "new", sum.New, "applied", sum.Applied,
				"ignored", sum.Ignored, "failed", sum.Failed, "settled", sum.Settled, "unsettled", sum.Unsettled)
		})
	}()
	return done
}

// demoPay "pays" a checkout in demo mode: it posts to the service's own webhook the signed events
// Stripe would send, so the demo exercises the same ledger code as production.
func (m *Main) demoPay(ctx context.Context, c *pledge.Checkout) error {
	if len(m.Config.webhookSecrets) == 0 {
		return fmt.Errorf("demo: no webhook secret")
	}
	events, err := billing.DemoEvents(c, demoEmail, time.Now())
	if err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(m.Addr())
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port) + "/webhooks/stripe"
	hc := &http.Client{Timeout: 10 * time.Second}
	for _, ev := range events {
		if err := billing.PostEvent(ctx, hc, url, m.Config.webhookSecrets[0], ev); err != nil {
			return fmt.Errorf("demo payment: %w", err)
		}
	}
	return nil
}
