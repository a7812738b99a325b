// Package mail sends Pledge's e-mail over SMTP (github.com/wneessen/go-mail): the reminder
// e-mails of "Remind me later", the links that let supporters manage their support, and the
// e-mails that keep supporters (thank-you, failed-payment recovery, renewal notices, statements).
package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net"
	"net/url"
	"strconv"
	texttemplate "text/template"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/pledge-news/pledge/internal/locale"
	"github.com/pledge-news/pledge/internal/pledge"
)

// Config says where and as whom to send.
type Config struct {
	// URL is smtp://[user:pass@]host[:port] (STARTTLS when the server offers it, port 587 by
	// default) or smtps://[user:pass@]host[:port] (TLS from the start, port 465 by default).
	URL string
	// From is the sender address, e.g. "Newsroom <support@news.example>".
	From string
	// Org is the newsroom's name, shown in every e-mail.
	Org string
	// BaseURL is the public URL of the service, for links.
	BaseURL *url.URL
	// ArticleOrigins are the newsroom's article origins: a reminder links to its article only when
	// it is on one of them (rows stored before /remind checked this may hold any URL).
	ArticleOrigins []string
	// Timeout bounds one connection and delivery; default 30 seconds.
	Timeout time.Duration
	// LegalName and Address are the newsroom's, printed on year-end statements.
	LegalName string
	Address   string
	// NewsletterURL, when set, is offered in the thank-you e-mail.
	NewsletterURL string
	// Languages are the catalogues e-mails are written from, each in its reader's language;
	// nil: the built-in ones.
	Languages *locale.Set
	// Protect, when set, is protective mode: every e-mail comes from a neutral sender with a
	// neutral subject, and none names or links an article. Nil (the default): off.
	Protect *Protect
}

// Protect is protective mode for the e-mails, for newsrooms whose readers risk being known as
// supporters: what a glance at an inbox, or a mail server, shows.
type Protect struct {
	// From is the neutral sender ("Notifications <n@mail.example>"); "" keeps Config.From.
	From string
	// Subject is the neutral subject of every e-mail; "" uses each kind's neutral subject from
	// the catalogue (supporter e-mails) or DefaultNeutralSubject.
	Subject string
}

// DefaultNeutralSubject is protective mode's subject when the newsroom sets none.
const DefaultNeutralSubject = "The message you asked for"

// plainSubject is the subject of a reminder or link e-mail: its own, or the neutral one in
// protective mode.
func (m *Mailer) plainSubject(own string) string {
	if m.cfg.Protect == nil {
		return own
	}
	if m.cfg.Protect.Subject != "" {
		return m.cfg.Protect.Subject
	}
	return DefaultNeutralSubject
}

// Keys are the catalogue keys the e-mails use: New checks the catalogues hold them.
var Keys = []string{"mail.hello", "mail.reminder.subject", "mail.reminder.heading", "mail.reminder.intro",
	"mail.reminder.here", "mail.reminder.reading", "mail.reminder.support", "mail.reminder.support_frequency",
	"mail.reminder.only", "mail.reminder.supporter", "mail.reminder.manage", "mail.reminder.unsubscribe",
	"mail.manage.subject", "mail.manage.heading", "mail.manage.intro", "mail.manage.manage", "mail.manage.cancel",
	"mail.manage.once", "manage.title", "manage.cancel_title", "unsub.submit",
	"frequency.once", "frequency.monthly", "frequency.annual"}

// Message is one e-mail to send.
type Message struct {
	// From overrides the mailer's sender when set (protective mode's neutral sender).
	From    string
	To      string
	Subject string
	Text    string
	HTML    string
	Headers map[string]string
	// Attachments are files attached to the message (a statement's PDF).
	Attachments []Attachment
}

// Mailer sends e-mail through one SMTP server.
type Mailer struct {
	// StatementPDF, when set, renders a statement as PDF to attach to its e-mail.
	StatementPDF func(*pledge.Statement) ([]byte, error)

	cfg   Config
	langs *locale.Set
	opts  []gomail.Option
	host  string
}

// New checks the configuration and returns a Mailer. It does not connect yet.
func New(cfg Config) (*Mailer, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Hostname() == "" || (u.Scheme != "smtp" && u.Scheme != "smtps") {
		return nil, errors.New("mail: the SMTP URL must look like smtp://host:port or smtps://user:pass@host:port")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Languages == nil {
		if cfg.Languages, err = locale.Load(locale.Options{}); err != nil {
			return nil, err
		}
	}
	if err := cfg.Languages.Require(Keys...); err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	opts := []gomail.Option{gomail.WithTimeout(cfg.Timeout)}
	port := 587
	if u.Scheme == "smtps" {
		port = 465
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("mail: bad port %q in the SMTP URL", p)
		}
	}
	opts = append(opts, gomail.WithPort(port))
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	m := gomail.NewMsg()
	if err := m.From(cfg.From); err != nil {
		return nil, fmt.Errorf("mail: the sender %q is not an address", cfg.From)
	}
	if p := cfg.Protect; p != nil && p.From != "" {
		if err := m.From(p.From); err != nil {
			return nil, fmt.Errorf("mail: the protective-mode sender %q is not an address", p.From)
		}
	}
	if p := cfg.Protect; p != nil && p.From != "" {
		cfg.From = p.From // every e-mail, reminders and links included, from the neutral sender
	}
	return &Mailer{cfg: cfg, langs: cfg.Languages, opts: opts, host: u.Hostname()}, nil
}

// Org is the newsroom's name the mailer signs with.
func (m *Mailer) Org() string { return m.cfg.Org }

// Send delivers one message in its own SMTP session. A *gomail.SendError tells what failed.
func (m *Mailer) Send(ctx context.Context, msg *Message) error {
	g := gomail.NewMsg()
	from := m.cfg.From
	if msg.From != "" {
		from = msg.From
	}
	if err := g.From(from); err != nil {
		return err
	}
	if err := g.To(msg.To); err != nil {
		return fmt.Errorf("mail: recipient: %w", err)
	}
	g.Subject(msg.Subject)
	g.SetDate()
	g.SetMessageID()
	for k, v := range msg.Headers {
		g.SetGenHeader(gomail.Header(k), v)
	}
	g.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		g.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	for _, a := range msg.Attachments {
		if err := g.AttachReader(a.Name, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(a.ContentType))); err != nil {
			return fmt.Errorf("mail: attach %s: %w", a.Name, err)
		}
	}
	c, err := gomail.NewClient(m.host, m.opts...)
	if err != nil {
		return fmt.Errorf("mail: client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	sc, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("mail: dial: %w", err)
	}
	// QUIT comes after the server's answer to the message: its failure says nothing about the
	// message, so it is ignored (DialAndSend would report it, and the caller would resend). A
	// failed QUIT leaves the connection open, so close it.
	defer func() {
		if c.CloseWithSMTPClient(sc) != nil {
			_ = sc.Close()
		}
	}()
	if err := c.SendWithSMTPClient(sc, g); err != nil {
		if g.IsDelivered() {
			return nil // the server accepted the message (250 after DATA); only the RSET after it failed
		}
		if maybeDelivered(err) {
			return fmt.Errorf("%w: %w", ErrMaybeSent, err)
		}
		return err
	}
	return nil
}

// ErrMaybeSent marks a send that failed after the whole message had gone to the server but before
// its answer came back: the server may have accepted it, so sending again could deliver it twice.
var ErrMaybeSent = errors.New("mail: the message may have been delivered")

// maybeDelivered reports whether a send error leaves the message's fate unknown: the end of DATA
// was written but no SMTP reply was read (a dropped connection or a timeout). A 4xx or 5xx reply
// to it is a plain refusal; errors before it (MAIL, RCPT, DATA, writing the body, which only ends
// with the final ".") never let a message through.
func maybeDelivered(err error) bool {
	var se *gomail.SendError
	return errors.As(err, &se) && se.Reason == gomail.ErrSMTPDataClose && se.ErrorCode() < 400
}

// link returns BASE + path (path may carry a query).
func (m *Mailer) link(path string) string {
	return m.cfg.BaseURL.String() + path
}

// SafeError describes a sending error for the log without the recipient's address, which a
// *gomail.SendError (and the SMTP server's reply inside it) may carry.
func SafeError(err error) string {
	var se *gomail.SendError
	if errors.As(err, &se) {
		kind := "permanent"
		if se.IsTemp() {
			kind = "temporary"
		}
		return fmt.Sprintf("smtp %s failure: %s (code %d)", kind, se.Reason, se.ErrorCode())
	}
	var oe *net.OpError
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &oe) {
		return err.Error() // no address in these: a cancelled send or a connection failure
	}
	return "smtp failure (details withheld: they may name the recipient)"
}

// bodies are the two parts of one kind of e-mail, plain text and HTML, made from the same data.
type bodies struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// parseBodies parses templates/name.txt and templates/name.html.
func parseBodies(name string) bodies {
	return bodies{
		text: texttemplate.Must(texttemplate.ParseFS(templates, "templates/"+name+".txt")),
		html: htmltemplate.Must(htmltemplate.ParseFS(templates, "templates/"+name+".html")),
	}
}

// render executes both parts with data.
func (b bodies) render(data any) (text, html string, err error) {
	var t, h bytes.Buffer
	if err := b.text.Execute(&t, data); err != nil {
		return "", "", err
	}
	if err := b.html.Execute(&h, data); err != nil {
		return "", "", err
	}
	return t.String(), h.String(), nil
}
