package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"log/slog"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

var (
	supporterText = texttemplate.Must(texttemplate.ParseFS(templates, "templates/supporter.txt"))
	supporterHTML = htmltemplate.Must(htmltemplate.ParseFS(templates, "templates/supporter.html"))
)

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

func (m *Mailer) date(c commonText, t time.Time) string { return t.UTC().Format(c.DateLayout) }

func frequencyWord(c commonText, f pledge.Frequency) string {
	switch f {
	case pledge.Monthly:
		return c.Monthly
	case pledge.Annual:
		return c.Annual
	}
	return c.Once
}

func lang(l string) string {
	if l == "" {
		return "en"
	}
	return l
}

// SupporterMessage composes one claimed supporter e-mail. Every kind but the statement (a receipt
// the supporter needs) carries its one-click unsubscribe link and the List-Unsubscribe headers.
func (m *Mailer) SupporterMessage(o *pledge.OutgoingMail, links Links) (*Message, error) {
	l := lang(o.Lang)
	c := commonCopy(l)
	d := supporterData{Lang: l, Org: m.cfg.Org, SignOff: c.SignOff}
	manage := func(action string, ttl time.Duration) string { return links.Manage(o, action, time.Now().Add(ttl)) }
	var stopWhat string
	switch o.Kind {
	case pledge.MailThanks:
		t := thanksCopy(l)
		d.Subject, d.Heading, stopWhat = ThanksSubject(l, m.cfg.Org, m.cfg.NeutralSubjects), t.Heading, t.StopWhat
		g := o.Gift
		d.Blocks = []block{
			{Text: fmt.Sprintf(t.Gift, frequencyWord(c, g.Frequency), g.Amount.String(), m.date(c, g.PaidAt))},
			{Text: fmt.Sprintf(t.Why, m.cfg.Org)},
			{Text: c.ManageIntro, Label: c.ManageLabel, URL: manage(ActionManage, thanksLinkTTL)},
		}
		if m.cfg.NewsletterURL != "" {
			d.Blocks = append(d.Blocks, block{Text: c.NewsletterIntro, Label: c.NewsletterLabel, URL: m.cfg.NewsletterURL})
		}
		d.Footer = []block{{Text: t.Receipt}}
	case pledge.MailRecovery:
		t := recoveryCopy(l)
		d.Subject, d.Heading, stopWhat = RecoverySubject(l, m.cfg.Org, m.cfg.NeutralSubjects), t.Heading, t.StopWhat
		d.Blocks = []block{{Text: fmt.Sprintf(t.Failed, frequencyWord(c, o.Frequency), o.Amount.String())}}
		if !o.Due.IsZero() {
			d.Blocks = append(d.Blocks, block{Text: fmt.Sprintf(t.Retry, m.date(c, o.Due))})
		} else {
			d.Blocks = append(d.Blocks, block{Text: t.NoRetry})
		}
		d.Blocks = append(d.Blocks, block{Label: t.Button, URL: manage(ActionRecover, recoveryLinkTTL), Button: true},
			block{Text: t.LinkNote})
	case pledge.MailRenewal:
		t := renewalCopy(l)
		d.Subject, d.Heading, stopWhat = RenewalSubject(l, m.cfg.Org, m.cfg.NeutralSubjects), t.Heading, t.StopWhat
		until := time.Until(o.Due) + 24*time.Hour
		d.Blocks = []block{
			{Text: fmt.Sprintf(t.Renews, o.Amount.String(), m.date(c, o.Due))},
			{Text: t.NoAction},
			{Text: c.ManageIntro, Label: c.ManageLabel, URL: manage(ActionManage, until)},
			{Text: t.CancelIntro, Label: t.CancelLabel, URL: manage(ActionCancel, until)},
		}
	case pledge.MailStatement:
		st := o.Statement
		t := statementCopy(l)
		d.Subject = StatementSubject(l, st.Year, m.cfg.Org, m.cfg.NeutralSubjects)
		d.Heading = fmt.Sprintf(t.Heading, st.Year)
		d.Blocks = append([]block{{Text: fmt.Sprintf(t.Intro, m.cfg.Org, st.Year)}}, StatementBlocks(l, st)...)
		if m.cfg.LegalName != "" {
			d.Footer = append(d.Footer, block{Text: StatementIssuer(l, m.cfg.LegalName, m.cfg.Address)})
		}
		if m.StatementPDF != nil {
			d.Footer = append(d.Footer, block{Text: t.Attached})
		}
		d.Footer = append(d.Footer, block{Text: c.ManageIntro, Label: c.ManageLabel, URL: m.link("/manage")})
	default:
		return nil, fmt.Errorf("mail: unknown kind %q", o.Kind)
	}
	headers := map[string]string{"Auto-Submitted": "auto-generated"}
	if o.Kind.Unsubscribable() {
		u := links.Unsubscribe(o.SupporterID, o.Kind)
		d.Footer = append(d.Footer, block{Label: fmt.Sprintf(c.Unsubscribe, stopWhat), URL: u})
		headers["List-Unsubscribe"] = "<" + u + ">"
		headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
	}
	var text, html bytes.Buffer
	if err := supporterText.Execute(&text, d); err != nil {
		return nil, err
	}
	if err := supporterHTML.Execute(&html, d); err != nil {
		return nil, err
	}
	msg := &Message{To: o.Email, Subject: d.Subject, Text: text.String(), HTML: html.String(), Headers: headers}
	if o.Kind == pledge.MailStatement && m.StatementPDF != nil {
		pdf, err := m.StatementPDF(o.Statement)
		if err != nil {
			return nil, fmt.Errorf("mail: statement PDF: %w", err)
		}
		msg.Attachments = []Attachment{{Name: fmt.Sprintf("statement-%d.pdf", o.Statement.Year), ContentType: "application/pdf", Data: pdf}}
	}
	return msg, nil
}

// StatementBlocks are a statement's gifts and totals as tables (the e-mail's and, through
// StatementLines, the staff's printable page and the PDF's).
func StatementBlocks(l string, st *pledge.Statement) []block {
	gifts, totals := StatementLines(l, st)
	t := statementCopy(lang(l))
	return []block{{Rows: gifts}, {Text: t.TotalsHeading}, {Rows: totals}}
}

// StatementLines returns a statement's rows, headers first: its gifts (date, amount, how often,
// refunded) and its totals per currency (currency, given, refunded, net).
func StatementLines(l string, st *pledge.Statement) (gifts, totals [][]string) {
	l = lang(l)
	t, c := statementCopy(l), commonCopy(l)
	gifts = [][]string{t.Columns[:]}
	for _, g := range st.Gifts {
		refunded := ""
		if g.Refunded > 0 {
			refunded = pledge.Money{Amount: g.Refunded, Currency: g.Amount.Currency}.String()
		}
		gifts = append(gifts, []string{g.PaidAt.UTC().Format(c.DateLayout), g.Amount.String(), frequencyWord(c, g.Frequency), refunded})
	}
	totals = [][]string{t.TotalColumns[:]}
	for _, s := range st.Totals {
		m := func(n int64) string { return pledge.Money{Amount: n, Currency: s.Currency}.String() }
		totals = append(totals, []string{s.Currency.Upper(), m(s.Amount), m(s.Refunded), m(s.Net())})
	}
	return gifts, totals
}

// StatementTitle is a statement's title, in the reader's language.
func StatementTitle(l string, year int) string {
	return fmt.Sprintf(statementCopy(lang(l)).Title, year)
}

// StatementSupporterLine names whom a statement is for.
func StatementSupporterLine(l string, st *pledge.Statement) string {
	who := st.Name
	if who == "" {
		who = st.Email
	} else if st.Email != "" {
		who += " <" + st.Email + ">"
	}
	return fmt.Sprintf(statementCopy(lang(l)).Supporter, who)
}

// StatementIssuer is the statement's "issued by" line, "" without a legal name.
func StatementIssuer(l, legalName, address string) string {
	if legalName == "" {
		return ""
	}
	var lines []string
	for _, line := range strings.Split(address, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	return fmt.Sprintf(statementCopy(lang(l)).IssuedBy, legalName, strings.Join(lines, ", "))
}

// The subject builders: neutral gives a subject that names neither the newsroom nor the cause, for
// protective mode.

// ThanksSubject is the thank-you e-mail's subject.
func ThanksSubject(l, org string, neutral bool) string {
	t := thanksCopy(lang(l))
	if neutral {
		return t.NeutralSubject
	}
	return fmt.Sprintf(t.Subject, org)
}

// RecoverySubject is the failed-payment e-mail's subject.
func RecoverySubject(l, org string, neutral bool) string {
	t := recoveryCopy(lang(l))
	if neutral {
		return t.NeutralSubject
	}
	return fmt.Sprintf(t.Subject, org)
}

// RenewalSubject is the renewal notice's subject.
func RenewalSubject(l, org string, neutral bool) string {
	t := renewalCopy(lang(l))
	if neutral {
		return t.NeutralSubject
	}
	return fmt.Sprintf(t.Subject, org)
}

// StatementSubject is the year-end statement's subject.
func StatementSubject(l string, year int, org string, neutral bool) string {
	t := statementCopy(lang(l))
	if neutral {
		return fmt.Sprintf(t.NeutralSubject, year)
	}
	return fmt.Sprintf(t.Subject, year, org)
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
	lease, batch := s.Lease, s.Batch
	if lease <= 0 {
		lease = 10 * time.Minute
	}
	if batch <= 0 {
		batch = 10
	}
	if t := s.Mailer.cfg.Timeout; time.Duration(batch)*t > lease/2 {
		batch = max(1, int(lease/2/t))
	}
	if s.RenewalNotice > 0 && time.Since(s.lastSweep) >= 24*time.Hour {
		n, err := s.Queue.SweepRenewals(ctx, s.RenewalNotice)
		if err != nil {
			return res, err
		}
		res.Swept, s.lastSweep = n, time.Now()
	}
	n, err := s.Queue.GiveUpStaleMail(ctx, lease)
	if err != nil {
		return res, err
	}
	if res.Stale = n; n > 0 {
		s.Logger.Warn("supporter e-mails given up: their sender stopped between claim and report", "count", n)
	}
	for ctx.Err() == nil {
		token := claimToken()
		claimed, err := s.Queue.ClaimDueMail(ctx, token, s.Kinds, batch)
		if err != nil {
			return res, err
		}
		if len(claimed) == 0 {
			break
		}
		for i, m := range claimed {
			if err := s.sendOne(ctx, m, &res); err != nil {
				report := context.WithoutCancel(ctx)
				for _, rest := range claimed[i+1:] {
					if _, err := s.Queue.MarkMailFailed(report, rest, s.backoff(), rest.Attempts+1); err != nil {
						s.Logger.Error("supporter e-mail not released: it will be given up as stale", "mail", rest.ID, "err", err)
					}
				}
				return res, err
			}
		}
	}
	return res, nil
}

func (s *SupporterMail) backoff() time.Duration {
	if s.Backoff <= 0 {
		return 5 * time.Minute
	}
	return s.Backoff
}

func (s *SupporterMail) sendOne(ctx context.Context, m *pledge.OutgoingMail, res *MailResult) error {
	report := context.WithoutCancel(ctx)
	var sendErr error
	if ctx.Err() != nil {
		sendErr = ctx.Err()
	} else if msg, err := s.Mailer.SupporterMessage(m, s.Links); err != nil {
		sendErr = err
	} else {
		sendErr = s.Mailer.Send(ctx, msg)
	}
	if sendErr == nil {
		res.Sent++
		return s.Queue.MarkMailSent(report, m)
	}
	maxAttempts := s.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 5
	}
	if errors.Is(sendErr, ErrMaybeSent) {
		maxAttempts = 0 // it may have reached the supporter: never resent
	}
	gaveUp, err := s.Queue.MarkMailFailed(report, m, s.backoff(), maxAttempts)
	if err != nil {
		return err
	}
	s.Logger.Warn("supporter e-mail not sent", "mail", m.ID, "kind", string(m.Kind), "attempt", m.Attempts,
		"gave_up", gaveUp, "err", SafeError(sendErr))
	if gaveUp {
		res.GivenUp++
	} else {
		res.Retried++
	}
	return nil
}

// Run sends due supporter e-mails every interval until ctx ends, finishing the current round.
func (s *SupporterMail) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		res, err := s.SendDue(ctx)
		if err != nil && ctx.Err() == nil {
			s.Logger.Error("sending supporter e-mails", "err", err)
		} else if res.Sent+res.Retried+res.GivenUp+res.Swept > 0 {
			s.Logger.Info("supporter e-mails", "renewals_found", res.Swept, "sent", res.Sent, "retried", res.Retried, "given_up", res.GivenUp)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
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

// NewStatementDocument lays out a statement for the newsroom org, issued by its legal name and
// address.
func NewStatementDocument(l string, st *pledge.Statement, org, legalName, address string) StatementDocument {
	l = lang(l)
	gifts, totals := StatementLines(l, st)
	d := StatementDocument{Lang: l, Title: StatementTitle(l, st.Year), Header: []string{org, StatementSupporterLine(l, st)},
		Tables: [][][]string{gifts, totals}, Footer: []string{StatementIssuer(l, legalName, address)}}
	if len(st.Gifts) == 0 {
		d.Tables = nil
		d.Header = append(d.Header, statementCopy(l).NoGifts)
	}
	return d
}

// HTML renders the document as a printable page.
func (d StatementDocument) HTML() ([]byte, error) {
	var b bytes.Buffer
	err := statementPage.Execute(&b, d)
	return b.Bytes(), err
}
