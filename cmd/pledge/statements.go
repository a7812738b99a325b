package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pledge-news/pledge/internal/locale"
	"github.com/pledge-news/pledge/internal/mail"
	"github.com/pledge-news/pledge/internal/pdf"
	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/server"
	"github.com/pledge-news/pledge/internal/sqlite"
)

// newSupporterMail wires the sender of the e-mails that keep supporters: the store's outbox, the
// mailer, and links signed with the service's secret (the /manage links name their e-mail).
func newSupporterMail(cfg *Config, db *sqlite.DB, mailer *mail.Mailer, secret []byte, env *Env) *mail.SupporterMail {
	base := cfg.baseURL.String()
	var newsletter func(*pledge.OutgoingMail) string
	if cfg.giving.NewsletterOptIn { // the thank-you e-mail links to the opt-in page, not the sign-up page
		newsletter = func(m *pledge.OutgoingMail) string {
			return server.NewsletterLink(base, secret, m.SupporterID, db.Now())
		}
	}
	return &mail.SupporterMail{
		Queue:  db,
		Mailer: mailer,
		Links: mail.Links{
			Manage: func(m *pledge.OutgoingMail, action string, exp time.Time) string {
				return server.ManageLink(base, secret, m.ID, m.SupporterID, action, exp)
			},
			Unsubscribe: func(supporterID int64, kind pledge.MailKind) string {
				return server.MailUnsubscribeURL(base, secret, supporterID, kind, db.Now())
			},
			Newsletter: newsletter,
		},
		Logger:        env.Logger,
		RenewalNotice: cfg.renewalNotice,
	}
}

// statementDocument lays a statement out with the newsroom's names from PLEDGE_CONFIG.
func statementDocument(cfg *Config, st *pledge.Statement) (mail.StatementDocument, error) {
	lc, err := cfg.catalogue(st.Lang)
	if err != nil {
		return mail.StatementDocument{}, err
	}
	return mail.NewStatementDocument(lc, st, cfg.giving.Org, cfg.giving.LegalName, cfg.giving.Address), nil
}

// languages returns the catalogues built from PLEDGE_CONFIG: those Validate loaded, else (a Config
// not validated, in tests) loaded now and kept.
func (c *Config) languages() (*locale.Set, error) {
	if c.langs == nil {
		langs, err := server.LoadLanguages(c.giving)
		if err != nil {
			return nil, err
		}
		c.langs = langs
	}
	return c.langs, nil
}

// catalogue is the catalogue of a language code, the default for "" or a language not spoken.
func (c *Config) catalogue(code string) (*locale.Catalogue, error) {
	langs, err := c.languages()
	if err != nil {
		return nil, err
	}
	if lc := langs.Get(code); lc != nil {
		return lc, nil
	}
	return langs.Default(), nil
}

// statementPDF renders a statement as PDF.
func statementPDF(cfg *Config, st *pledge.Statement) ([]byte, error) {
	d, err := statementDocument(cfg, st)
	if err != nil {
		return nil, err
	}
	return pdf.Render(pdf.Document{Title: d.Title, Header: d.Header, Tables: d.Tables, Footer: d.Footer})
}

// statementFile is a statement as staff download it: PDF, or a printable HTML page.
func statementFile(cfg *Config, st *pledge.Statement, format string) (string, []byte, error) {
	if format == "pdf" {
		b, err := statementPDF(cfg, st)
		return "application/pdf", b, err
	}
	d, err := statementDocument(cfg, st)
	if err != nil {
		return "", nil, err
	}
	b, err := d.HTML()
	return "text/html; charset=utf-8", b, err
}

// runStatements is `pledge statements send --year YYYY [--dry-run]`: e-mail every supporter who
// gave that year one statement of their gifts. Each supporter's statement is recorded in the
// outbox (statement:SUPPORTER:YEAR) before it is sent, so a second run, or one after a crash,
// sends nobody a second one.
func runStatements(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "send" {
		fmt.Fprintln(env.Stderr, "usage: pledge statements send --year YYYY [--dry-run]")
		return errUsage
	}
	var yearFlag string
	var dryRun bool
	cfg, _, err := loadConfig(env, "statements send", args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&yearFlag, "year", "", "the calendar year (UTC) whose gifts to state, e.g. 2026")
		fs.BoolVar(&dryRun, "dry-run", false, "print who would get a statement, with their totals, and send nothing")
	})
	if err != nil {
		return err
	}
	year, err := strconv.Atoi(yearFlag)
	if err != nil || year < 2000 || year > 9999 {
		fmt.Fprintf(env.Stderr, "pledge statements send: --year %q is not a year such as 2026\n", yearFlag)
		return errUsage
	}
	if cfg.giving.LegalName == "" {
		return &ConfigError{"PLEDGE_CONFIG", "legal_name: required to send statements (with address: the newsroom's legal name and postal address)"}
	}
	if cfg.SMTPURL == "" && !dryRun {
		return &ConfigError{"PLEDGE_SMTP_URL", "required to send statements (smtp://host:port)"}
	}
	db := cfg.store()
	if err := db.Open(ctx); err != nil {
		return err
	}
	defer db.Close()
	if dryRun {
		sts, err := db.StatementCandidates(ctx, year)
		if err != nil {
			return err
		}
		for _, st := range sts {
			var totals []string
			for _, t := range st.Totals {
				totals = append(totals, fmt.Sprintf("%s %s", pledge.FormatMinor(t.Amount, t.Currency.Decimals()), t.Currency))
			}
			fmt.Fprintf(env.Stdout, "supporter %d: %d gifts, %s\n", st.SupporterID, len(st.Gifts), strings.Join(totals, "; "))
		}
		fmt.Fprintf(env.Stdout, "statements %d: %d to send (dry run: nothing sent)\n", year, len(sts))
		return nil
	}
	secret, mailer, err := secretAndMailer(ctx, cfg, db)
	if err != nil {
		return err
	}
	queued, err := db.EnqueueStatements(ctx, year)
	if err != nil {
		return err
	}
	sender := newSupporterMail(cfg, db, mailer, secret, env)
	sender.Kinds, sender.RenewalNotice = []pledge.MailKind{pledge.MailStatement}, 0
	res, err := sender.SendDue(ctx)
	fmt.Fprintf(env.Stdout, "statements %d: %d newly queued, %d sent, %d to retry, %d given up, %d stale claims given up\n",
		year, queued, res.Sent, res.Retried, res.GivenUp, res.Stale)
	if err == nil && res.Retried+res.GivenUp > 0 {
		err = errors.New("some statements were not sent (see the log); run again to retry them")
	}
	return err
}
