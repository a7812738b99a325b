package pledge

import (
	"context"
	"regexp"
	"strings"
	"time"
)

// langTag is what a stored language may look like: a BCP 47 tag's letters, digits and hyphens.
var langTag = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$`)

// DeferralChoice is how long a reader asked the prompt to stay quiet.
type DeferralChoice string

// The three answers to "Remind me later".
const (
	ChoiceWeek  DeferralChoice = "week"
	ChoiceMonth DeferralChoice = "month"
	ChoiceNever DeferralChoice = "never" // "don't ask me again": a year, and never an e-mail
)

// ParseDeferralChoice returns the choice named by s, or an EINVALID error.
func ParseDeferralChoice(s string) (DeferralChoice, error) {
	switch c := DeferralChoice(s); c {
	case ChoiceWeek, ChoiceMonth, ChoiceNever:
		return c, nil
	}
	return "", FieldErrorf("choice", "Choose when we should remind you: in a week, in a month, or not again.").Keyed("error.remind.choice")
}

// Duration is how long the prompt stays quiet after c.
func (c DeferralChoice) Duration() time.Duration {
	switch c {
	case ChoiceWeek:
		return 7 * 24 * time.Hour
	case ChoiceMonth:
		return 30 * 24 * time.Hour
	}
	return 365 * 24 * time.Hour
}

// ReminderStatus is where a deferral's reminder e-mail stands.
type ReminderStatus string

// The life of a reminder e-mail: none (no address), pending (due at NextAttemptAt), claimed (a
// sender took it and is sending), then sent, unsubscribed or given_up. The last three erase the
// address.
const (
	ReminderNone         ReminderStatus = "none"
	ReminderPending      ReminderStatus = "pending"
	ReminderClaimed      ReminderStatus = "claimed"
	ReminderSent         ReminderStatus = "sent"
	ReminderUnsubscribed ReminderStatus = "unsubscribed"
	ReminderGivenUp      ReminderStatus = "given_up"
)

// Deferral is one anonymous reader's "Remind me later": the prompt stays quiet until RemindAt, and
// when Email is set (with consent) one reminder e-mail is sent then.
type Deferral struct {
	ID        int64
	ReaderID  string
	Article   string
	Choice    DeferralChoice
	Frequency Frequency // the frequency the reader had picked on the prompt, "" when none
	Lang      string    // the language the reader asked in ("ru"): the reminder e-mail's
	RemindAt  time.Time
	Email     string // "" when none, or once the reminder has served

	Status        ReminderStatus
	Attempts      int
	NextAttemptAt time.Time
	SentAt        time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// DeferRequest is what a reader sent with "Remind me later".
type DeferRequest struct {
	ReaderID  string
	Choice    string
	Email     string
	Consent   bool
	Article   string
	Frequency string
	// Lang is the language the prompt was shown in; kept only when it looks like a language tag.
	Lang string
	// MailEnabled is whether this service can send e-mail at all; without it an address is refused.
	MailEnabled bool
	// ArticleOrigins are the origins an article may have (the reminder e-mail links to it); another
	// article is stored as "".
	ArticleOrigins []string
}

// Validate checks the request and returns the deferral to store (RemindAt is set by the store,
// from its clock). A malformed address or a missing consent is an EINVALID error naming its field.
func (r DeferRequest) Validate() (*Deferral, error) {
	choice, err := ParseDeferralChoice(r.Choice)
	if err != nil {
		return nil, err
	}
	d := &Deferral{ReaderID: r.ReaderID, Choice: choice, Article: ArticleFromOrigins(strings.TrimSpace(r.Article), r.ArticleOrigins)}
	if langTag.MatchString(r.Lang) {
		d.Lang = r.Lang
	}
	if r.ReaderID == "" {
		return nil, Errorf(EINVALID, "Your browser did not send a reader id.")
	}
	if r.Frequency != "" {
		if d.Frequency, err = ParseFrequency(r.Frequency); err != nil {
			return nil, err
		}
	}
	email := strings.TrimSpace(r.Email)
	if email == "" || choice == ChoiceNever {
		// "Don't ask me again" never e-mails, so an address given with it is not even kept.
		return d, nil
	}
	if !r.MailEnabled {
		return nil, FieldErrorf("email", "Reminder e-mails are not available here; leave the address empty.").Keyed("error.remind.no_mail")
	}
	if email, err = NormalizeEmail(email); err != nil {
		return nil, err
	}
	if !r.Consent {
		return nil, FieldErrorf("consent", "Tick the box to agree that we e-mail you this one reminder, or leave the address empty.").Keyed("error.remind.consent")
	}
	d.Email = email
	return d, nil
}

// Reminder is a due reminder claimed by one sender: the token proves the claim when the sender
// reports back.
type Reminder struct {
	DeferralID int64
	Token      string
	Email      string
	Article    string
	Frequency  Frequency
	Lang       string // the language to write in; "" for the default
	Attempts   int    // including this one
}

// DeferralService stores deferrals and runs their reminder e-mails' life.
type DeferralService interface {
	// Defer stores d as the reader's one deferral (a repeat replaces the previous one), with
	// RemindAt = now + d.Choice.Duration(), and returns it.
	Defer(ctx context.Context, d *Deferral) (*Deferral, error)
	// FindDeferral returns the deferral with that ID or an ENOTFOUND error.
	FindDeferral(ctx context.Context, id int64) (*Deferral, error)
	// UnsubscribeReminder cancels a deferral's reminder e-mail and erases its address. It succeeds
	// when there is nothing (left) to cancel.
	UnsubscribeReminder(ctx context.Context, id int64) error
}

// ReminderQueue is how senders take due reminders and report on them. Each due reminder is
// claimed by one sender only, and a claim whose sender vanished is given up, never resent.
type ReminderQueue interface {
	// ClaimDueReminders marks up to limit due reminders as claimed with token and returns them.
	ClaimDueReminders(ctx context.Context, token string, limit int) ([]*Reminder, error)
	// MarkReminderSent records a delivered reminder and erases its address.
	MarkReminderSent(ctx context.Context, r *Reminder) error
	// MarkReminderFailed schedules a retry after backoff, or gives up (erasing the address) after
	// maxAttempts; it reports whether it gave up.
	MarkReminderFailed(ctx context.Context, r *Reminder, backoff time.Duration, maxAttempts int) (gaveUp bool, err error)
	// GiveUpStaleClaims gives up reminders claimed longer than lease ago, erasing their addresses:
	// their sender crashed or hung, and whether their e-mail left is unknown.
	GiveUpStaleClaims(ctx context.Context, lease time.Duration) (int, error)
}

// SourceReminder is the checkout Source of a donation reached from a reminder e-mail's link
// (/donate?utm_source=reminder), so reports can count reminders that turned into support.
const SourceReminder = "reminder"

// CleanSource returns the checkout Source for a utm_source (or hidden "source" field) value: a
// short lower-case token, or "" for anything else, so a URL cannot write arbitrary text into
// reports.
func CleanSource(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) == 0 || len(s) > 32 {
		return ""
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '_' {
			return ""
		}
	}
	return s
}
