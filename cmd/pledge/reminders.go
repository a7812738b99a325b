package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/pledge-news/pledge/internal/mail"
	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/server"
	"github.com/pledge-news/pledge/internal/sqlite"
)

// reminderInterval is how often serve looks for due reminders.
const reminderInterval = time.Minute

// newMailer returns the SMTP mailer, or nil when e-mail is not configured.
func newMailer(cfg *Config) (*mail.Mailer, error) {
	if cfg.SMTPURL == "" {
		return nil, nil
	}
	langs, err := cfg.languages()
	if err != nil {
		return nil, err
	}
	m, err := mail.New(mail.Config{URL: cfg.SMTPURL, From: cfg.MailFrom, Org: cfg.giving.Org, BaseURL: cfg.baseURL,
		ArticleOrigins: cfg.embedOrigins, Languages: langs, LegalName: cfg.giving.LegalName, Address: cfg.giving.Address,
		NewsletterURL: cfg.giving.NewsletterURL, Protect: cfg.mailProtect()})
	if err != nil {
		return nil, err
	}
	m.StatementPDF = func(st *pledge.Statement) ([]byte, error) { return statementPDF(cfg, st) }
	return m, nil
}

// newReminders wires the reminder sender: the store's queue, the mailer, and unsubscribe links
// signed with the service's secret (dated by the store's clock, so --now dates them too).
func newReminders(cfg *Config, db *sqlite.DB, mailer *mail.Mailer, secret []byte, env *Env) *mail.Reminders {
	base := cfg.baseURL.String()
	return &mail.Reminders{
		Queue:  db,
		Mailer: mailer,
		UnsubscribeURL: func(id int64) string {
			return server.UnsubscribeURL(base, secret, id, db.Now())
		},
		Logger: env.Logger,
	}
}

// signingSecret is PLEDGE_SECRET, or the one generated into the database on first run.
func signingSecret(ctx context.Context, cfg *Config, db *sqlite.DB) ([]byte, error) {
	if cfg.Secret != "" {
		return []byte(cfg.Secret), nil
	}
	secret, err := db.Secret(ctx)
	if err != nil {
		return nil, fmt.Errorf("signing secret: %w", err)
	}
	return secret, nil
}

// secretAndMailer returns what the commands that send e-mail need: the signing secret of the
// e-mails' links (signingSecret) and the mailer (nil when e-mail is not configured).
func secretAndMailer(ctx context.Context, cfg *Config, db *sqlite.DB) ([]byte, *mail.Mailer, error) {
	secret, err := signingSecret(ctx, cfg, db)
	if err != nil {
		return nil, nil, err
	}
	mailer, err := newMailer(cfg)
	if err != nil {
		return nil, nil, &ConfigError{"PLEDGE_SMTP_URL", err.Error()}
	}
	return secret, mailer, nil
}

// runReminders is `pledge reminders send [--now RFC3339]`: send every reminder due now (or at
// --now, for tests and catching up) and print what happened.
func runReminders(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "send" {
		fmt.Fprintln(env.Stderr, "usage: pledge reminders send [--now RFC3339]")
		return errUsage
	}
	var nowFlag string
	cfg, _, err := loadConfig(env, "reminders send", args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&nowFlag, "now", "", "send what is due at this time (RFC 3339), instead of now")
	})
	if err != nil {
		return err
	}
	if cfg.SMTPURL == "" {
		return &ConfigError{"PLEDGE_SMTP_URL", "required to send reminders (smtp://host:port)"}
	}
	db, err := cfg.newDB()
	if err != nil {
		return err
	}
	if nowFlag != "" {
		now, err := time.Parse(time.RFC3339, nowFlag)
		if err != nil {
			fmt.Fprintf(env.Stderr, "pledge reminders send: --now %q is not RFC 3339 (2026-01-02T15:04:05Z)\n", nowFlag)
			return errUsage
		}
		db.Now = func() time.Time { return now }
	}
	if err := db.Open(ctx); err != nil {
		return err
	}
	defer db.Close()
	secret, mailer, err := secretAndMailer(ctx, cfg, db)
	if err != nil {
		return err
	}
	res, err := newReminders(cfg, db, mailer, secret, env).SendDue(ctx)
	fmt.Fprintf(env.Stdout, "reminders: %d sent, %d to retry, %d given up, %d stale claims given up\n",
		res.Sent, res.Retried, res.GivenUp, res.Stale)
	if err == nil && res.Retried+res.GivenUp > 0 {
		err = errors.New("some reminders were not sent (see the log)")
	}
	return err
}

// manageLinkSender e-mails a supporter their /manage links. Its error names no address (the
// server logs it).
func manageLinkSender(mailer *mail.Mailer) func(ctx context.Context, to, lang, manageURL, cancelURL string) error {
	return func(ctx context.Context, to, lang, manageURL, cancelURL string) error {
		msg, err := mailer.ManageLinkMessage(to, lang, manageURL, cancelURL)
		if err != nil {
			return err
		}
		if err := mailer.Send(ctx, msg); err != nil {
			return errors.New(mail.SafeError(err))
		}
		return nil
	}
}

// mailProtect is protective mode for every e-mail (PLEDGE_PROTECT=1): the newsroom's neutral
// sender and subject from PLEDGE_CONFIG's protect block; nil when protective mode is off.
func (c *Config) mailProtect() *mail.Protect {
	if !c.protect {
		return nil
	}
	return &mail.Protect{From: c.giving.Protect.MailFrom, Subject: c.giving.Protect.Subject}
}
