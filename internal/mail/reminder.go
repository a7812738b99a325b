package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	htmltemplate "html/template"
	"log/slog"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/pledge-news/pledge/internal/locale"
	"github.com/pledge-news/pledge/internal/pledge"
)

//go:embed templates
var templates embed.FS

var (
	reminderText = texttemplate.Must(texttemplate.ParseFS(templates, "templates/reminder.txt"))
	reminderHTML = htmltemplate.Must(htmltemplate.ParseFS(templates, "templates/reminder.html"))
)

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
	var text, html bytes.Buffer
	if err := reminderText.Execute(&text, d); err != nil {
		return nil, err
	}
	if err := reminderHTML.Execute(&html, d); err != nil {
		return nil, err
	}
	return &Message{
		To:      r.Email,
		Subject: d.Subject,
		Text:    text.String(),
		HTML:    html.String(),
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
	var res Result
	lease, batch := s.Lease, s.Batch
	if lease <= 0 {
		lease = 10 * time.Minute
	}
	if batch <= 0 {
		batch = 10
	}
	// A batch must be sent well within the lease, even if every send takes its full timeout, or
	// another sender would give up reminders that are still being sent.
	if t := s.Mailer.cfg.Timeout; time.Duration(batch)*t > lease/2 {
		batch = max(1, int(lease/2/t))
	}
	n, err := s.Queue.GiveUpStaleClaims(ctx, lease)
	if err != nil {
		return res, err
	}
	if res.Stale = n; n > 0 {
		s.Logger.Warn("reminders given up: their sender stopped between claim and report", "count", n)
	}
	for ctx.Err() == nil {
		token := claimToken()
		claimed, err := s.Queue.ClaimDueReminders(ctx, token, batch)
		if err != nil {
			return res, err
		}
		if len(claimed) == 0 {
			break
		}
		for i, r := range claimed {
			if err := s.sendOne(ctx, r, &res); err != nil {
				s.release(ctx, claimed[i+1:])
				return res, err
			}
		}
	}
	return res, nil
}

// release puts claimed reminders that were never sent back in the queue (after the usual backoff,
// never given up for it), so that a store error on one reminder does not leave the rest of its
// batch claimed until they are given up as stale.
func (s *Reminders) release(ctx context.Context, rs []*pledge.Reminder) {
	report := context.WithoutCancel(ctx)
	for _, r := range rs {
		if _, err := s.Queue.MarkReminderFailed(report, r, s.backoff(), r.Attempts+1); err != nil {
			s.Logger.Error("reminder not released: it will be given up as stale", "deferral", r.DeferralID, "err", err)
		}
	}
}

func (s *Reminders) backoff() time.Duration {
	if s.Backoff <= 0 {
		return 5 * time.Minute
	}
	return s.Backoff
}

// sendOne sends one claimed reminder and reports the outcome to the store. The store calls use a
// context that outlives ctx's cancellation, so a shutdown mid-send still records what happened.
func (s *Reminders) sendOne(ctx context.Context, r *pledge.Reminder, res *Result) error {
	report := context.WithoutCancel(ctx)
	var sendErr error
	if ctx.Err() != nil {
		sendErr = ctx.Err()
	} else if msg, err := s.Mailer.ReminderMessage(r, s.UnsubscribeURL(r.DeferralID)); err != nil {
		sendErr = err
	} else {
		sendErr = s.Mailer.Send(ctx, msg)
	}
	if sendErr == nil {
		res.Sent++
		return s.Queue.MarkReminderSent(report, r)
	}
	backoff, maxAttempts := s.backoff(), s.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 5
	}
	if errors.Is(sendErr, ErrMaybeSent) {
		maxAttempts = 0 // at most once: a reminder that may have reached the reader is given up, never resent
	}
	gaveUp, err := s.Queue.MarkReminderFailed(report, r, backoff, maxAttempts)
	if err != nil {
		return err
	}
	// The address never goes to the log; the deferral id is enough to find the row.
	s.Logger.Warn("reminder not sent", "deferral", r.DeferralID, "attempt", r.Attempts, "gave_up", gaveUp, "err", SafeError(sendErr))
	if gaveUp {
		res.GivenUp++
	} else {
		res.Retried++
	}
	return nil
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

// every runs round at once and then every interval until ctx ends; a round under way finishes
// first, so a shutdown never leaves a claim behind.
func every(ctx context.Context, interval time.Duration, round func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		round()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func claimToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "cl_" + hex.EncodeToString(b)
}
