package mail

import (
	"context"
	"embed"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/pledge-news/pledge/internal/locale"
	"github.com/pledge-news/pledge/internal/pledge"
)

//go:embed templates
var templates embed.FS

var reminderBodies = parseBodies("reminder")

// reminderData is what the reminder templates show, in the reader's language L.
type reminderData struct {
	L              *locale.Catalogue
	Org            string
	Subject        string
	Article        string
	Support        string // "Support The Daily Bugle (monthly)"
	DonateURL      string
	ManageURL      string
	UnsubscribeURL string
}

// ReminderMessage composes the reminder e-mail for r: plain text and HTML, a button to /donate
// with utm_source=reminder (and the reader's frequency), the unsubscribe link in the body and in
// the List-Unsubscribe headers (RFC 8058 one-click), and a link to /manage; all of it in the
// language the reader asked in (the service's default for rows without one), and the links open
// the pages in it too.
func (m *Mailer) ReminderMessage(r *pledge.Reminder, unsubscribeURL string) (*Message, error) {
	lc := m.cfg.Languages.Lookup(r.Lang)
	q := url.Values{"utm_source": {"reminder"}, "lang": {lc.Code}}
	d := reminderData{
		L:              lc,
		Org:            m.cfg.Org,
		Subject:        m.plainSubject(lc.T("mail.reminder.subject", "org", m.cfg.Org)),
		Support:        lc.T("mail.reminder.support", "org", m.cfg.Org),
		ManageURL:      m.link("/manage?lang=" + url.QueryEscape(lc.Code)),
		UnsubscribeURL: unsubscribeURL,
	}
	if r.Frequency != "" {
		q.Set("frequency", string(r.Frequency))
		d.Support = lc.T("mail.reminder.support_frequency", "org", m.cfg.Org,
			"frequency", strings.ToLower(lc.T("frequency."+string(r.Frequency))))
	}
	if a := pledge.ArticleFromOrigins(r.Article, m.cfg.ArticleOrigins); a != "" && m.cfg.Protect == nil {
		d.Article = a
		q.Set("article", a)
	}
	d.DonateURL = m.link("/donate?" + q.Encode())
	text, html, err := reminderBodies.render(d)
	if err != nil {
		return nil, err
	}
	return &Message{
		To:      r.Email,
		Subject: d.Subject,
		Text:    text,
		HTML:    html,
		Headers: map[string]string{
			"List-Unsubscribe":      "<" + unsubscribeURL + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
			"Auto-Submitted":        "auto-generated",
		},
	}, nil
}

// Reminders sends due reminder e-mails, each at most once: a reminder is claimed in the store
// before it is sent and marked after; a failed send is retried with backoff, then given up; a
// claim left behind by a crashed sender is given up rather than resent (see docs/reminders.md).
type Reminders struct {
	Queue  pledge.ReminderQueue
	Mailer *Mailer
	// UnsubscribeURL returns the signed one-click unsubscribe link of a deferral.
	UnsubscribeURL func(deferralID int64) string
	Logger         *slog.Logger

	// Batch is how many reminders one claim takes (default 10, and never more than can be sent
	// within half the lease at the mailer's timeout each); Lease is how long a claim may
	// stay unreported before it counts as crashed (default 10 minutes: far longer than one send's
	// timeout); Backoff is the first retry's delay, doubled per attempt (default 5 minutes);
	// MaxAttempts is when to give up (default 5).
	Batch       int
	Lease       time.Duration
	Backoff     time.Duration
	MaxAttempts int
}

// Result counts what one run did.
type Result struct {
	Sent, Retried, GivenUp, Stale int
}

// SendDue sends every reminder due now, batch by batch, and returns what happened. It stops early
// when ctx ends; reminders already claimed in that round are reported as failed (to be retried).
func (s *Reminders) SendDue(ctx context.Context) (Result, error) {
	return s.outbox().sendDue(ctx)
}

func (s *Reminders) outbox() outbox[*pledge.Reminder] {
	return outbox[*pledge.Reminder]{
		noun: "reminder", logger: s.Logger, mailer: s.Mailer,
		batch: s.Batch, lease: s.Lease, backoff: s.Backoff, maxAttempts: s.MaxAttempts,
		giveUpStale: s.Queue.GiveUpStaleClaims,
		claim:       s.Queue.ClaimDueReminders,
		message: func(r *pledge.Reminder) (*Message, error) {
			return s.Mailer.ReminderMessage(r, s.UnsubscribeURL(r.DeferralID))
		},
		markSent:   s.Queue.MarkReminderSent,
		markFailed: s.Queue.MarkReminderFailed,
		attempts:   func(r *pledge.Reminder) int { return r.Attempts },
		// The address never goes to the log; the deferral id is enough to find the row.
		logAttrs: func(r *pledge.Reminder) []any { return []any{"deferral", r.DeferralID} },
	}
}

// Run sends due reminders every interval until ctx ends, and returns once the current round has
// finished, so a shutdown never leaves a claim behind.
func (s *Reminders) Run(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func() {
		res, err := s.SendDue(ctx)
		if err != nil && ctx.Err() == nil {
			s.Logger.Error("sending reminders", "err", err)
		} else if res.Sent+res.Retried+res.GivenUp > 0 {
			s.Logger.Info("reminders", "sent", res.Sent, "retried", res.Retried, "given_up", res.GivenUp)
		}
	})
}
