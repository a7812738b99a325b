package pledge

import (
	"context"
	"time"
)

// MailKind is a kind of e-mail Pledge sends to supporters to keep them (issue 14).
type MailKind string

// The kinds of supporter e-mail.
const (
	MailThanks    MailKind = "thanks"    // after a supporter's first gift
	MailRecovery  MailKind = "recovery"  // after a renewal's payment failed
	MailRenewal   MailKind = "renewal"   // before an annual renewal takes a year's amount
	MailStatement MailKind = "statement" // a year's gifts
)

// MailKinds lists every kind, in the order staff pages show them.
var MailKinds = []MailKind{MailThanks, MailRecovery, MailRenewal, MailStatement}

// ParseMailKind returns the kind named s, or an EINVALID error.
func ParseMailKind(s string) (MailKind, error) {
	for _, k := range MailKinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", Errorf(EINVALID, "Unknown kind of e-mail.")
}

// Unsubscribable reports whether a supporter may turn the kind off. A statement is a receipt the
// supporter needs (for their taxes), so it has no unsubscribe link.
func (k MailKind) Unsubscribable() bool { return k != MailStatement }

// Label is the kind's name on staff pages.
func (k MailKind) Label() string {
	switch k {
	case MailThanks:
		return "Thank-you"
	case MailRecovery:
		return "Failed-payment recovery"
	case MailRenewal:
		return "Renewal notice"
	case MailStatement:
		return "Year-end statement"
	}
	return string(k)
}

// The states of a supporter e-mail.
const (
	MailPending      = "pending"
	MailClaimed      = "claimed"
	MailSent         = "sent"
	MailCancelled    = "cancelled" // no longer wanted: paid meanwhile, no address, subscription ended...
	MailUnsubscribed = "unsubscribed"
	MailGivenUp      = "given_up"
	MailSkipped      = "skipped" // supporters who gave before the e-mail existed
)

// OutgoingMail is one claimed supporter e-mail with everything its message shows, read from the
// store when it was claimed.
type OutgoingMail struct {
	ID          int64
	Kind        MailKind
	Token       string // the claim
	Attempts    int
	SupporterID int64
	Email       string
	Name        string
	Lang        string // "en" unless the store knows the reader's language

	// Gift is the first gift (thanks).
	Gift *Donation
	// Amount and Due: the failed invoice's amount and next retry (recovery), the renewal's amount
	// and date (renewal).
	Amount    Money
	Due       time.Time
	Frequency Frequency
	Invoice   string
	// HasSubscription: the supporter has a recurring gift to manage or cancel.
	HasSubscription bool
	// Statement is the year's statement (statement).
	Statement *Statement
}

// Statement is one supporter's gifts in one calendar year (UTC), with totals per currency.
type Statement struct {
	SupporterID int64
	Email       string
	Name        string
	Year        int
	Lang        string // the supporter's language ("" for the default)
	Gifts       []StatementGift
	Totals      []StatementTotal // in the order currencies first appear
}

// StatementGift is one line of a statement.
type StatementGift struct {
	PaidAt    time.Time
	Amount    Money // as the donations export shows it: after discounts, before tax and refunds
	Refunded  int64
	Frequency Frequency
	StripeID  string
}

// StatementTotal is a statement's total in one currency: what was given, what was refunded, and
// what remains.
type StatementTotal struct {
	Currency Currency
	Gifts    int
	Amount   int64
	Refunded int64
}

// Net is what the supporter gave and kept given: Amount less what the newsroom refunded. It is
// not NetOf: a statement is a receipt of gifts and refunds (docs/managing-support.md), and a
// dispute is neither, but the card issuer taking the money back, which the supporter's bank
// records and the statement's lines do not show; so disputes are left out of its net.
func (t StatementTotal) Net() int64 { return t.Amount - t.Refunded }

// NewStatement builds a statement from its gifts, adding the totals.
func NewStatement(supporterID int64, email, name string, year int, gifts []StatementGift) *Statement {
	st := &Statement{SupporterID: supporterID, Email: email, Name: name, Year: year, Gifts: gifts}
	idx := map[Currency]int{}
	for _, g := range gifts {
		i, ok := idx[g.Amount.Currency]
		if !ok {
			i = len(st.Totals)
			idx[g.Amount.Currency] = i
			st.Totals = append(st.Totals, StatementTotal{Currency: g.Amount.Currency})
		}
		t := &st.Totals[i]
		t.Gifts++
		t.Amount += g.Amount.Amount
		t.Refunded += g.Refunded
	}
	return st
}

// MailQueue is the outbox of supporter e-mail: claim-then-send, as the reminders do.
type MailQueue interface {
	// SweepRenewals enqueues a notice for every annual subscription renewing within notice from
	// now that has none for that renewal yet, and returns how many it enqueued.
	SweepRenewals(ctx context.Context, notice time.Duration) (int, error)
	// ClaimDueMail claims up to limit due e-mails of the kinds given (all when none) for one
	// sender. Rows no longer wanted (paid meanwhile, unsubscribed, no address) are settled in the
	// same transaction and not returned.
	ClaimDueMail(ctx context.Context, token string, kinds []MailKind, limit int) ([]*OutgoingMail, error)
	// MarkMailSent records a delivered e-mail (only if the claim is still the sender's).
	MarkMailSent(ctx context.Context, m *OutgoingMail) error
	// MarkMailFailed puts a failed e-mail back after backoff, or gives it up after maxAttempts.
	MarkMailFailed(ctx context.Context, m *OutgoingMail, backoff time.Duration, maxAttempts int) (bool, error)
	// GiveUpStaleMail gives up e-mails claimed longer than lease ago: their sender died between
	// claim and report, and resending could send twice.
	GiveUpStaleMail(ctx context.Context, lease time.Duration) (int, error)
}

// StatementService makes year-end statements.
type StatementService interface {
	// StatementCandidates returns the statements of every supporter who gave in year and has no
	// statement e-mail for it yet (for --dry-run, and to enqueue).
	StatementCandidates(ctx context.Context, year int) ([]*Statement, error)
	// EnqueueStatements enqueues one statement e-mail per supporter who gave in year and has none
	// for it yet; it returns how many it enqueued.
	EnqueueStatements(ctx context.Context, year int) (int, error)
	// SupporterStatement returns one supporter's statement for year (ENOTFOUND: no such supporter).
	SupporterStatement(ctx context.Context, supporterID int64, year int) (*Statement, error)
}

// MailKindStats counts one kind of e-mail by state.
type MailKindStats struct {
	Kind                                            MailKind
	Pending, Sent, Cancelled, Unsubscribed, GivenUp int
	Opened                                          int // sent e-mails whose link the supporter used
	UnsubscribedSupporters                          int // supporters who turned the kind off
}

// RecoveredMoney is payments that recovered after failing, in one currency.
type RecoveredMoney struct {
	Currency Currency
	Payments int
	Amount   int64
}

// FailedInvoice is a renewal invoice with failed attempts, as staff follow it.
type FailedInvoice struct {
	InvoiceID      string
	SubscriptionID string
	SupporterID    int64
	Amount         Money
	Attempts       int
	NextAttempt    time.Time
	LastFailed     time.Time
	MailStatus     string // "" when no recovery e-mail was enqueued
	MailSentAt     time.Time
	LinkOpenedAt   time.Time
	PaidAt         time.Time // zero while unpaid
}

// MailReport is what /staff/emails shows.
type MailReport struct {
	Kinds []MailKindStats
	// RecoveredWithMail are failed invoices paid after their recovery e-mail was sent;
	// RecoveredWithoutMail are those paid without one (Stripe's own retries, or before it went).
	RecoveredWithMail, RecoveredWithoutMail []RecoveredMoney
	FailedInvoices                          []FailedInvoice
}

// SupporterMail is one e-mail on a supporter's staff page.
type SupporterMail struct {
	ID           int64
	Kind         MailKind
	Status       string
	Reason       string
	Ref          string
	Year         int
	CreatedAt    time.Time
	SentAt       time.Time
	LinkOpenedAt time.Time
}

// MailService is the supporter e-mails' side of the store that HTTP handlers use.
type MailService interface {
	// MailReport returns the counts and failed invoices of /staff/emails.
	MailReport(ctx context.Context) (*MailReport, error)
	// SupporterMails lists the e-mails of one supporter, newest first.
	SupporterMails(ctx context.Context, supporterID int64) ([]SupporterMail, error)
	// UnsubscribeMail turns one kind of e-mail off for a supporter and cancels pending ones.
	UnsubscribeMail(ctx context.Context, supporterID int64, kind MailKind) error
	// MailLinkOpened records that a link of e-mail id was used (the first time counts).
	MailLinkOpened(ctx context.Context, id int64) error
	// RecoveryTarget returns the customer and subscription a recovery e-mail is about, for the
	// billing portal's payment-method flow (ENOTFOUND when the e-mail or its supporter is gone).
	RecoveryTarget(ctx context.Context, id int64) (*SupportAccount, error)
}
