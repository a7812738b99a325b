package mail

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/pledge-news/pledge/internal/locale"
	"github.com/pledge-news/pledge/internal/pledge"
)

var supporterBodies = parseBodies("supporter")

// Link actions of supporter e-mails (signed into each link; see Links.Manage).
const (
	ActionManage  = "manage"
	ActionCancel  = "cancel"
	ActionRecover = "recover"
)

// How long the links of each kind work.
const (
	thanksLinkTTL   = 30 * 24 * time.Hour
	recoveryLinkTTL = 21 * 24 * time.Hour // Stripe's retries of a renewal last up to about three weeks
)

// Links makes the signed links of supporter e-mails (the server checks them).
type Links struct {
	// Manage returns a signed single-use link for action about e-mail m, valid until exp: the
	// billing portal (manage), its cancel flow (cancel) or its payment-method flow (recover).
	Manage func(m *pledge.OutgoingMail, action string, exp time.Time) string
	// Unsubscribe returns the one-click unsubscribe link of one kind for a supporter.
	Unsubscribe func(supporterID int64, kind pledge.MailKind) string
	// Newsletter, when set, returns the signed link to the newsletter opt-in page for the
	// supporter of a thank-you e-mail ("" for none); nil: the configured sign-up page, if any.
	Newsletter func(m *pledge.OutgoingMail) string
}

// Attachment is a file attached to a message.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// block is a paragraph of a supporter e-mail: text, a link (Button: a big one), or a table.
type block struct {
	Text   string
	Label  string
	URL    string
	Button bool
	Rows   [][]string
}

type supporterData struct {
	Lang, Org, Subject, Heading, SignOff string
	Blocks, Footer                       []block
}

// The words of the supporter e-mails are in the message catalogues (internal/locale, keys
// mail.*), in every language the service speaks; an e-mail is written in the language of the
// checkout its gift came from, else the default language.

// catalogue returns the catalogue of a language code, the default for "" or one not spoken.
func (m *Mailer) catalogue(code string) *locale.Catalogue {
	if c := m.langs.Get(code); c != nil {
		return c
	}
	return m.langs.Default()
}

// frequencyWord is how often, as an adjective of the gift ("your monthly gift").
func frequencyWord(c *locale.Catalogue, f pledge.Frequency) string {
	switch f {
	case pledge.Monthly, pledge.Annual:
		return c.T("mail.frequency." + string(f))
	}
	return c.T("mail.frequency.once")
}

// subject is a kind's subject: in protective mode Protect.Subject when set, else the kind's
// neutral subject (naming neither the newsroom nor the cause); otherwise the kind's own.
func (m *Mailer) subject(c *locale.Catalogue, kind pledge.MailKind, year int) string {
	if p := m.cfg.Protect; p != nil && p.Subject != "" {
		return p.Subject
	}
	return Subject(c, kind, m.cfg.Org, year, m.cfg.Protect != nil)
}

// Subject is the subject of a kind of supporter e-mail in a language; neutral gives one that
// names neither the newsroom nor the cause. year is the statement's.
func Subject(c *locale.Catalogue, kind pledge.MailKind, org string, year int, neutral bool) string {
	key := "mail." + string(kind) + ".subject"
	if neutral {
		key = "mail." + string(kind) + ".neutral_subject"
	}
	return c.T(key, "org", org, "year", strconv.Itoa(year))
}

// SupporterMessage composes one claimed supporter e-mail in the supporter's language. Every kind
// but the statement (a receipt the supporter needs) carries its one-click unsubscribe link and
// the List-Unsubscribe headers. In protective mode (Config.Protect) the subject is neutral and
// the sender is Protect.From; no supporter e-mail quotes an article.
func (m *Mailer) SupporterMessage(o *pledge.OutgoingMail, links Links) (*Message, error) {
	c := m.catalogue(o.Lang)
	d := supporterData{Lang: c.Code, Org: m.cfg.Org, SignOff: c.T("mail.signoff")}
	manage := func(action string, ttl time.Duration) string { return links.Manage(o, action, time.Now().Add(ttl)) }
	manageBlock := func(url string) block {
		return block{Text: c.T("mail.manage_intro"), Label: c.T("mail.manage_label"), URL: url}
	}
	k := "mail." + string(o.Kind) + "."
	year := 0
	if o.Statement != nil {
		year = o.Statement.Year
	}
	d.Subject = m.subject(c, o.Kind, year)
	switch o.Kind {
	case pledge.MailThanks:
		g := o.Gift
		d.Heading = c.T(k + "heading")
		d.Blocks = []block{
			{Text: c.T(k+"gift", "frequency", frequencyWord(c, g.Frequency), "amount", c.Money(g.Amount), "date", c.Date(g.PaidAt.UTC()))},
			{Text: c.T(k+"why", "org", m.cfg.Org)},
			manageBlock(manage(ActionManage, thanksLinkTTL)),
		}
		if u := m.newsletterLink(o, links); u != "" {
			d.Blocks = append(d.Blocks, block{Text: c.T("mail.newsletter_intro"), Label: c.T("mail.newsletter_label"), URL: u})
		}
		d.Footer = []block{{Text: c.T(k + "receipt")}}
	case pledge.MailRecovery:
		d.Heading = c.T(k + "heading")
		d.Blocks = []block{{Text: c.T(k+"failed", "frequency", frequencyWord(c, o.Frequency), "amount", c.Money(o.Amount))}}
		if !o.Due.IsZero() {
			d.Blocks = append(d.Blocks, block{Text: c.T(k+"retry", "date", c.Date(o.Due.UTC()))})
		} else {
			d.Blocks = append(d.Blocks, block{Text: c.T(k + "no_retry")})
		}
		d.Blocks = append(d.Blocks, block{Label: c.T(k + "button"), URL: manage(ActionRecover, recoveryLinkTTL), Button: true},
			block{Text: c.T(k + "link_note")})
	case pledge.MailRenewal:
		d.Heading = c.T(k + "heading")
		until := time.Until(o.Due) + 24*time.Hour
		d.Blocks = []block{
			{Text: c.T(k+"renews", "amount", c.Money(o.Amount), "date", c.Date(o.Due.UTC()))},
			{Text: c.T(k + "no_action")},
			manageBlock(manage(ActionManage, until)),
			{Text: c.T(k + "cancel_intro"), Label: c.T(k + "cancel_label"), URL: manage(ActionCancel, until)},
		}
	case pledge.MailStatement:
		st := o.Statement
		d.Heading = c.T(k+"heading", "year", strconv.Itoa(st.Year))
		d.Blocks = append([]block{{Text: c.T(k+"intro", "org", m.cfg.Org, "year", strconv.Itoa(st.Year))}}, statementBlocks(c, st)...)
		if m.cfg.LegalName != "" {
			d.Footer = append(d.Footer, block{Text: StatementIssuer(c, m.cfg.LegalName, m.cfg.Address)})
		}
		if m.StatementPDF != nil {
			d.Footer = append(d.Footer, block{Text: c.T(k + "attached")})
		}
		d.Footer = append(d.Footer, manageBlock(m.link("/manage")))
	default:
		return nil, fmt.Errorf("mail: unknown kind %q", o.Kind)
	}
	headers := map[string]string{"Auto-Submitted": "auto-generated"}
	if o.Kind.Unsubscribable() {
		u := links.Unsubscribe(o.SupporterID, o.Kind)
		d.Footer = append(d.Footer, block{Label: c.T("mail.unsubscribe", "what", c.T(k+"stop")), URL: u})
		headers["List-Unsubscribe"] = "<" + u + ">"
		headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
	}
	text, html, err := supporterBodies.render(d)
	if err != nil {
		return nil, err
	}
	msg := &Message{To: o.Email, Subject: d.Subject, Text: text, HTML: html, Headers: headers}
	if p := m.cfg.Protect; p != nil && p.From != "" {
		msg.From = p.From
	}
	if o.Kind == pledge.MailStatement && m.StatementPDF != nil {
		if o.Statement.Lang == "" {
			o.Statement.Lang = c.Code
		}
		pdf, err := m.StatementPDF(o.Statement)
		if err != nil {
			return nil, fmt.Errorf("mail: statement PDF: %w", err)
		}
		msg.Attachments = []Attachment{{Name: fmt.Sprintf("statement-%d.pdf", o.Statement.Year), ContentType: "application/pdf", Data: pdf}}
	}
	return msg, nil
}

// newsletterLink is the thank-you e-mail's newsletter link: the opt-in page (Links.Newsletter)
// when the newsroom asks for consent, else the configured sign-up page, else "".
func (m *Mailer) newsletterLink(o *pledge.OutgoingMail, links Links) string {
	if links.Newsletter != nil {
		if u := links.Newsletter(o); u != "" {
			return u
		}
	}
	return m.cfg.NewsletterURL
}

// statementBlocks are a statement's gifts and totals as tables (the e-mail's; StatementLines
// gives the same rows to the staff's printable page and the PDF).
func statementBlocks(c *locale.Catalogue, st *pledge.Statement) []block {
	gifts, totals := StatementLines(c, st)
	return []block{{Rows: gifts}, {Text: c.T("mail.statement.totals")}, {Rows: totals}}
}

// StatementLines returns a statement's rows, headers first: its gifts (date, amount, how often,
// refunded) and its totals per currency (currency, given, refunded, net).
func StatementLines(c *locale.Catalogue, st *pledge.Statement) (gifts, totals [][]string) {
	k := "mail.statement."
	gifts = [][]string{{c.T(k + "col.date"), c.T(k + "col.amount"), c.T(k + "col.frequency"), c.T(k + "col.refunded")}}
	for _, g := range st.Gifts {
		refunded := ""
		if g.Refunded > 0 {
			refunded = c.Money(pledge.Money{Amount: g.Refunded, Currency: g.Amount.Currency})
		}
		gifts = append(gifts, []string{c.Date(g.PaidAt.UTC()), c.Money(g.Amount), frequencyWord(c, g.Frequency), refunded})
	}
	totals = [][]string{{c.T(k + "total.currency"), c.T(k + "total.given"), c.T(k + "total.refunded"), c.T(k + "total.net")}}
	for _, s := range st.Totals {
		money := func(n int64) string { return c.Money(pledge.Money{Amount: n, Currency: s.Currency}) }
		totals = append(totals, []string{s.Currency.Upper(), money(s.Amount), money(s.Refunded), money(s.Net())})
	}
	return gifts, totals
}

// StatementSupporterLine names whom a statement is for.
func StatementSupporterLine(c *locale.Catalogue, st *pledge.Statement) string {
	who := st.Name
	if who == "" {
		who = st.Email
	} else if st.Email != "" {
		who += " <" + st.Email + ">"
	}
	return c.T("mail.statement.supporter", "who", who)
}

// StatementIssuer is the statement's "issued by" line, "" without a legal name.
func StatementIssuer(c *locale.Catalogue, legalName, address string) string {
	if legalName == "" {
		return ""
	}
	var lines []string
	for _, line := range strings.Split(address, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return c.T("mail.statement.issued_by_name", "name", legalName)
	}
	return c.T("mail.statement.issued_by", "name", legalName, "address", strings.Join(lines, ", "))
}

// SupporterMail sends the supporter e-mails, each at most once, exactly as Reminders sends
// reminders: claim in the store, send, report; a failed send is retried with backoff, then given
// up; a claim left by a crashed sender is given up, never resent. It also sweeps for annual
// renewals due a notice, once a day.
type SupporterMail struct {
	Queue  pledge.MailQueue
	Mailer *Mailer
	Links  Links
	Logger *slog.Logger
	// Kinds limits a round to some kinds (pledge statements send sends statements only); nil: all.
	Kinds []pledge.MailKind
	// RenewalNotice is how long before an annual renewal its notice goes; 0 sweeps nothing.
	RenewalNotice time.Duration

	Batch       int
	Lease       time.Duration
	Backoff     time.Duration
	MaxAttempts int

	lastSweep time.Time
}

// MailResult counts what one round did.
type MailResult struct {
	Swept, Sent, Retried, GivenUp, Stale int
}

// SendDue sweeps for renewals (at most once a day) and sends every supporter e-mail due now.
func (s *SupporterMail) SendDue(ctx context.Context) (MailResult, error) {
	var res MailResult
	if s.RenewalNotice > 0 && time.Since(s.lastSweep) >= 24*time.Hour {
		n, err := s.Queue.SweepRenewals(ctx, s.RenewalNotice)
		if err != nil {
			return res, err
		}
		res.Swept, s.lastSweep = n, time.Now()
	}
	sent, err := s.outbox().sendDue(ctx)
	res.Sent, res.Retried, res.GivenUp, res.Stale = sent.Sent, sent.Retried, sent.GivenUp, sent.Stale
	return res, err
}

func (s *SupporterMail) outbox() outbox[*pledge.OutgoingMail] {
	return outbox[*pledge.OutgoingMail]{
		noun: "supporter e-mail", logger: s.Logger, mailer: s.Mailer,
		batch: s.Batch, lease: s.Lease, backoff: s.Backoff, maxAttempts: s.MaxAttempts,
		giveUpStale: s.Queue.GiveUpStaleMail,
		claim: func(ctx context.Context, token string, limit int) ([]*pledge.OutgoingMail, error) {
			return s.Queue.ClaimDueMail(ctx, token, s.Kinds, limit)
		},
		message:    func(m *pledge.OutgoingMail) (*Message, error) { return s.Mailer.SupporterMessage(m, s.Links) },
		markSent:   s.Queue.MarkMailSent,
		markFailed: s.Queue.MarkMailFailed,
		attempts:   func(m *pledge.OutgoingMail) int { return m.Attempts },
		logAttrs:   func(m *pledge.OutgoingMail) []any { return []any{"mail", m.ID, "kind", string(m.Kind)} },
	}
}

// Run sends due supporter e-mails every interval until ctx ends, finishing the current round.
func (s *SupporterMail) Run(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func() {
		res, err := s.SendDue(ctx)
		if err != nil && ctx.Err() == nil {
			s.Logger.Error("sending supporter e-mails", "err", err)
		} else if res.Sent+res.Retried+res.GivenUp+res.Swept > 0 {
			s.Logger.Info("supporter e-mails", "renewals_found", res.Swept, "sent", res.Sent, "retried", res.Retried, "given_up", res.GivenUp)
		}
	})
}

var statementPage = htmltemplate.Must(htmltemplate.ParseFS(templates, "templates/statement.html"))

// StatementDocument is a statement's content, in the reader's language: what the printable page
// and the PDF show.
type StatementDocument struct {
	Lang   string
	Title  string
	Header []string
	Tables [][][]string
	Footer []string
}

// NewStatementDocument lays out a statement in the catalogue's language for the newsroom org,
// issued by its legal name and address.
func NewStatementDocument(c *locale.Catalogue, st *pledge.Statement, org, legalName, address string) StatementDocument {
	gifts, totals := StatementLines(c, st)
	d := StatementDocument{Lang: c.Code, Title: c.T("mail.statement.title", "year", strconv.Itoa(st.Year)),
		Header: []string{org, StatementSupporterLine(c, st)},
		Tables: [][][]string{gifts, totals}, Footer: []string{StatementIssuer(c, legalName, address)}}
	if len(st.Gifts) == 0 {
		d.Tables = nil
		d.Header = append(d.Header, c.T("mail.statement.no_gifts"))
	}
	return d
}

// HTML renders the document as a printable page.
func (d StatementDocument) HTML() ([]byte, error) {
	var b bytes.Buffer
	err := statementPage.Execute(&b, d)
	return b.Bytes(), err
}
