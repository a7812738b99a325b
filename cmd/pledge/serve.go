package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pledge-news/pledge/internal/billing"
	"github.com/pledge-news/pledge/internal/mail"
	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/server"
	"github.com/pledge-news/pledge/internal/sqlite"
	"github.com/pledge-news/pledge/web"
)

// Main is the running service: its configuration, store and HTTP server, wired together. The
// end-to-end tests build one the same way serve does.
type Main struct {
	Config *Config
	DB     *sqlite.DB
	Server *server.Server
	Stripe *billing.Client
	// Webhooks receives Stripe's events; its settler fetches recorded gifts' balance
	// transactions in the background while serving.
	Webhooks *billing.Webhooks
	// Reminders sends due reminder e-mails on a timer while serving; nil without SMTP.
	Reminders *mail.Reminders
	// SupporterMail sends the thank-you, recovery, renewal and statement e-mails on the same
	// timer; nil without SMTP.
	SupporterMail *mail.SupporterMail
	// StripeTransport, when set, carries the calls to Stripe (tests record them with it).
	StripeTransport http.RoundTripper

	env      *Env
	listener net.Listener
	http     *http.Server
	// metricsListener and metrics serve /metrics on PLEDGE_METRICS_ADDR (nil when off).
	metricsListener net.Listener
	metrics         *http.Server
	// hup receives SIGHUP: reload PLEDGE_CONFIG's experiments (experiments.go).
	hup chan os.Signal
}

// Open opens the store, builds the adapters and starts listening (not yet serving).
func (m *Main) Open(ctx context.Context) error {
	cfg := m.Config
	var err error
	if m.DB, err = cfg.newDB(); err != nil {
		return err
	}
	m.DB.StaffIdle = cfg.staffIdle
	if err := m.DB.Open(ctx); err != nil {
		return err
	}
	switch {
	case cfg.sealer != nil:
		m.env.Logger.Info("readers' addresses and names are encrypted at rest", "data_key", cfg.sealer.KeyID())
	case cfg.DataKeyFile == "none":
		m.env.Logger.Warn("PLEDGE_DATA_KEY_FILE=none: readers' addresses and names are stored unencrypted; " +
			"anyone with a copy of the database reads them (pledge keys new FILE makes a key)")
	}
	secret, mailer, err := secretAndMailer(ctx, cfg, m.DB)
	if err != nil {
		return err
	}
	if mailer != nil {
		m.Reminders = newReminders(cfg, m.DB, mailer, secret, m.env)
		m.SupporterMail = newSupporterMail(cfg, m.DB, mailer, secret, m.env)
	}
	if cfg.Demo && len(cfg.webhookSecrets) == 0 {
		// The demo signs its own events; a fresh secret per run is enough.
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		cfg.webhookSecrets = []string{"whsec_demo" + hex.EncodeToString(b)}
	}
	m.Stripe = billing.New(billing.Config{
		SecretKey: cfg.StripeSecretKey,
		APIBase:   cfg.StripeAPIBase,
		Timeout:   10 * time.Second,
		Retries:   2,
		Site:      cfg.SiteID,
		Transport: m.StripeTransport,
		Logger:    m.env.Logger,
	})
	plan, err := m.buildPlan(ctx, cfg.giving, cfg.experiments)
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{
		BaseURL:         cfg.baseURL,
		Giving:          m.promptSettings(plan),
		Demo:            cfg.Demo,
		EmbedOrigins:    cfg.embedOrigins,
		TrustedProxies:  cfg.trustedProxies,
		Secret:          secret,
		DonateLimit:     cfg.donateLimit,
		RemindLimit:     cfg.remindLimit,
		DonateGlobal:    cfg.donateGlobal,
		StripeLive:      billing.IsLiveKey(cfg.StripeSecretKey),
		MailEnabled:     mailer != nil,
		NewsletterURL:   cfg.giving.NewsletterURL,
		NewsletterOptIn: cfg.giving.NewsletterOptIn,
		PromptViewCap:   cfg.promptViewCap,
		Protect:         server.Protect{On: cfg.protect, QuietAfterGift: quietAfterGift(cfg.giving.Protect.QuietAfterGift)},
	}, web.FS, m.env.Logger)
	if err != nil {
		return err
	}
	srv.Ready = m.DB.Ready
	srv.Checkouts = m.DB
	srv.Staff, srv.Reports, srv.Supporters, srv.Exports = m.DB, m.DB, m.DB, m.DB
	srv.Payments = m.Stripe
	srv.PromptStats = m.DB
	srv.Deferrals = m.DB
	srv.Manage = m.DB
	srv.Portal = m.Stripe
	srv.Experiments = m.DB
	if err := srv.SetPlan(plan); err != nil {
		return fmt.Errorf("experiments: %w", err)
	}
	if mailer != nil {
		srv.SendManageLink = manageLinkSender(mailer)
	}
	m.Webhooks = m.newWebhooks()
	srv.Webhooks = m.Webhooks
	srv.Mail, srv.Statements, srv.Newsletter = m.DB, m.DB, m.DB
	srv.StatementFile = func(st *pledge.Statement, format string) (string, []byte, error) {
		return statementFile(cfg, st, format)
	}
	if cfg.Demo {
		srv.DemoPay = m.demoPay
	}
	m.Server = srv

	if m.listener, err = net.Listen("tcp", cfg.Addr); err != nil {
		return err
	}
	if cfg.MetricsAddr != "" {
		if m.metricsListener, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return fmt.Errorf("PLEDGE_METRICS_ADDR: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", srv.MetricsHandler())
		m.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	}
	// Before serving, so that a SIGHUP never finds the process without its handler.
	m.hup = make(chan os.Signal, 1)
	signal.Notify(m.hup, syscall.SIGHUP)
	m.http = &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	return nil
}

// Addr is the address the service listens on (useful with port 0).
func (m *Main) Addr() string { return m.listener.Addr().String() }

// MetricsAddr is the address /metrics is served on, "" when off.
func (m *Main) MetricsAddr() string {
	if m.metricsListener == nil {
		return ""
	}
	return m.metricsListener.Addr().String()
}

// Serve serves until ctx ends, then lets in-flight requests finish (up to 20 seconds).
func (m *Main) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- m.http.Serve(m.listener) }()
	if m.metrics != nil {
		go func() {
			if err := m.metrics.Serve(m.metricsListener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.env.Logger.Error("metrics listener stopped", "err", err)
			}
		}()
		defer m.metrics.Close()
	}
	if m.Reminders != nil {
		// The reminder timer stops with ctx and finishes its round first, so no claim is left
		// behind by a clean shutdown.
		rctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { m.Reminders.Run(rctx, reminderInterval); close(done) }()
		defer func() { stop(); <-done }()
	}
	if m.SupporterMail != nil {
		sctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { m.SupporterMail.Run(sctx, reminderInterval); close(done) }()
		defer func() { stop(); <-done }()
	}
	{
		sctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { m.Webhooks.RunSettler(sctx, settleInterval); close(done) }()
		defer func() { stop(); <-done }()
	}
	reconcileCtx, stopReconcile := context.WithCancel(ctx)
	reconciled := m.startReconcile(reconcileCtx)
	defer func() { stopReconcile(); <-reconciled }()
	expCtx, stopExp := context.WithCancel(ctx)
	expDone := make(chan struct{})
	go func() { m.watchExperiments(expCtx); close(expDone) }()
	defer func() { stopExp(); <-expDone }()
	purgeCtx, stopPurge := context.WithCancel(ctx)
	purged := m.startPurge(purgeCtx)
	defer func() { stopPurge(); <-purged }()
	m.env.Logger.Info("serving", "addr", m.Addr(), "metrics_addr", m.MetricsAddr(), "base_url", m.Config.baseURL.String(), "demo", m.Config.Demo,
		"protect", m.Config.protect, "retention", m.Config.retention.String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	m.env.Logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.http.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	m.Server.Wait() // e-mails that requests started in the background
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// settleInterval is how often the settler looks for gifts without their balance transaction
// besides the moment each is recorded.
const settleInterval = 30 * time.Second

// Close releases what Open took. The server's counters are flushed before the store closes.
func (m *Main) Close() error {
	if m.hup != nil {
		signal.Stop(m.hup)
	}
	if m.listener != nil {
		m.listener.Close()
	}
	if m.metricsListener != nil {
		m.metricsListener.Close()
	}
	if m.Server != nil {
		if err := m.Server.Close(); err != nil {
			m.env.Logger.Error("closing server", "err", err)
		}
	}
	if m.DB != nil {
		return m.DB.Close()
	}
	return nil
}

func runServe(ctx context.Context, env *Env, args []string) error {
	cfg, _, err := loadConfig(env, "serve", args, nil)
	if err != nil {
		return err
	}
	m := &Main{Config: cfg, env: env}
	defer m.Close()
	if err := m.Open(ctx); err != nil {
		return err
	}
	if err := m.Serve(ctx); err != nil {
		return err
	}
	if err := m.Close(); err != nil {
		return err
	}
	m.env.Logger.Info("stopped")
	return nil
}

func runMigrate(ctx context.Context, env *Env, args []string) error {
	cfg, fs := storeFlags(env, "migrate")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	db, err := cfg.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "schema version %d\n", v)
	return nil
}
