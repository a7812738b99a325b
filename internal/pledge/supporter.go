package pledge

import (
	"context"
	"strings"
	"time"
)

// Supporter is a reader Stripe knows as a customer.
type Supporter struct {
	ID               int64     `json:"id"`
	StripeCustomerID string    `json:"stripe_customer_id"`
	Email            string    `json:"email"` // "" once erased
	Name             string    `json:"name"`
	CreatedAt        time.Time `json:"created_at"`
	ErasedAt         time.Time `json:"erased_at"`
	// Recurring is the frequency of the supporter's latest subscription, "" when none; Status is
	// that subscription's Stripe status.
	Recurring Frequency `json:"recurring"`
	Status    string    `json:"status"`
	Donations int       `json:"donations"`
	// Totals are the supporter's lifetime net per currency (NetOf of each gift), largest first;
	// LastPaidAt is their latest gift. Both are kept by the store with each donation change.
	Totals     []Money   `json:"-"`
	LastPaidAt time.Time `json:"-"`
}

// Subscription is a recurring gift as Stripe reports it.
type Subscription struct {
	ID                   int64     `json:"id"`
	StripeSubscriptionID string    `json:"stripe_subscription_id"`
	Frequency            Frequency `json:"frequency"`
	Amount               Money     `json:"amount"`
	Status               string    `json:"status"`
	CancelAtPeriodEnd    bool      `json:"cancel_at_period_end"`
	CurrentPeriodEnd     time.Time `json:"current_period_end"`
	StartedAt            time.Time `json:"started_at"`
	CanceledAt           time.Time `json:"canceled_at"`
	CancellationReason   string    `json:"cancellation_reason"`
	Article              string    `json:"article"`
	Campaign             string    `json:"campaign"`
}

// Donation is one payment that succeeded (and what happened to it since).
type Donation struct {
	ID                    int64     `json:"id"`
	Frequency             Frequency `json:"frequency"`
	Amount                Money     `json:"amount"`
	Refunded              int64     `json:"amount_refunded"`
	Status                string    `json:"status"`
	DisputeStatus         string    `json:"dispute_status"`
	StripePaymentIntentID string    `json:"stripe_payment_intent_id"`
	StripeInvoiceID       string    `json:"stripe_invoice_id"`
	StripeChargeID        string    `json:"stripe_charge_id"`
	Article               string    `json:"article"`
	Campaign              string    `json:"campaign"`
	PaidAt                time.Time `json:"paid_at"`
}

// StripeEvent is a recorded webhook event (its payload is not kept).
type StripeEvent struct {
	ID       string    `json:"id"`
	Type     string    `json:"type"`
	Created  time.Time `json:"created"`
	ObjectID string    `json:"object_id"`
	Outcome  string    `json:"outcome"`
}

// SupporterDetail is one supporter with everything the ledger holds about them.
type SupporterDetail struct {
	Supporter     Supporter
	Subscriptions []Subscription
	Donations     []Donation
	Events        []StripeEvent
	// SameAddress is how many supporter records (this one included) hold this address, in any
	// case; erasing the supporter erases them all.
	SameAddress int
	// Customers are the Stripe customers the supporter gave through (Checkout makes one per
	// one-off gift).
	Customers []string
	// Mismatches are refunds or disputes Stripe reported in another currency than their
	// donation: refused, never converted, and shown here for staff to settle by hand.
	Mismatches []CurrencyMismatch
	// Failed are the supporter's failed recurring payments still open (past due).
	Failed []FailedPayment
}

// FailedPayment is a recurring invoice whose payment failed and is still open: not paid, its
// subscription not ended.
type FailedPayment struct {
	Invoice       string
	Subscription  string
	SupporterID   int64 // 0 when the subscription's supporter is not known
	Email         string
	Amount        Money
	Attempts      int
	FirstFailedAt time.Time
	LastFailedAt  time.Time
	NextAttemptAt time.Time // zero when Stripe will not retry
}

// CurrencyMismatch is a charge whose refund or dispute came in another currency than the
// donation it belongs to.
type CurrencyMismatch struct {
	ChargeID         string   `json:"stripe_charge_id"`
	ChargeCurrency   Currency `json:"charge_currency"`
	DonationCurrency Currency `json:"donation_currency"`
	Refunded         int64    `json:"amount_refunded"`
	Dispute          string   `json:"dispute_status"`
}

// SupporterFilter narrows the supporters list. Query is an e-mail address (or its start) or a
// Stripe id (cus_, sub_, pi_, in_, ch_); After is the keyset cursor (the last ID of the previous
// page).
type SupporterFilter struct {
	Query     string
	Frequency Frequency // "", once (no subscription), monthly or annual
	Status    string    // a subscription status, "" for any
	After     int64
	Limit     int
	// Sort is "" (newest first, paged by After), SortLastGift, SortTotal (lifetime net in
	// Currency, largest first) or SortStart (first gift, newest first); the sorted lists are
	// paged by Offset.
	Sort     string
	Currency Currency
	Offset   int
}

// The supporters list's orders.
const (
	SortLastGift = "last"
	SortTotal    = "total"
	SortStart    = "start"
)

// StripeIDQuery reports whether a supporters search names a Stripe object (cus_, sub_, pi_, in_
// or ch_) rather than an address.
func StripeIDQuery(q string) bool {
	for _, p := range []string{"cus_", "sub_", "pi_", "in_", "ch_"} {
		if strings.HasPrefix(q, p) {
			return true
		}
	}
	return false
}

// SupporterService finds supporters and answers data requests (the exports are ExportService).
type SupporterService interface {
	// ListSupporters returns one page of supporters, newest first.
	ListSupporters(ctx context.Context, f SupporterFilter) ([]*Supporter, error)
	// PastDue lists every failed recurring payment still open at now, oldest first.
	PastDue(ctx context.Context, now time.Time) ([]FailedPayment, error)
	// CountSupporters counts the supporters the filter matches (ignoring its page).
	CountSupporters(ctx context.Context, f SupporterFilter) (int, error)
	// FindSupporter returns a supporter with donations, subscriptions and events.
	FindSupporter(ctx context.Context, id int64) (*SupporterDetail, error)
	// SupporterData returns everything held about a supporter, for a data request, and audits it.
	SupporterData(ctx context.Context, actor string, id int64) (*SupporterData, error)
	// EraseSupporter anonymises a supporter and deletes their address's deferrals, and audits it.
	EraseSupporter(ctx context.Context, actor string, id int64) error
	// EraseEmail erases every supporter with that address and its deferrals; it returns how many
	// supporters were erased.
	EraseEmail(ctx context.Context, actor, email string) (int, error)
	// Audit records an action; AuditLog lists the latest first.
	Audit(ctx context.Context, e AuditEntry) error
	AuditLog(ctx context.Context, limit int) ([]AuditEntry, error)
}

// SupporterData is the answer to a data request: what the service holds about one person. It
// covers exactly what erasing the supporter removes: the record asked about, every other
// supporter record with the same address (in any case), their Stripe customers, and the address's
// reminder requests; donations, subscriptions, checkouts and events are those of all the records.
type SupporterData struct {
	Supporter Supporter `json:"supporter"`
	// Records are the other supporter records with the same address.
	Records []Supporter `json:"other_records"`
	// Customers are what Stripe said of each of the person's Stripe customers.
	Customers     []CustomerRecord `json:"stripe_customers"`
	Subscriptions []Subscription   `json:"subscriptions"`
	Donations     []Donation       `json:"donations"`
	Deferrals     []DeferralRecord `json:"reminder_requests"`
	// Checkouts are the checkouts the supporter's donations and subscriptions came from.
	Checkouts []CheckoutRecord `json:"checkouts"`
	// Events are the Stripe events recorded about the supporter's customer, subscriptions,
	// payments, invoices, charges and checkout sessions (their payloads are not kept).
	Events []StripeEvent `json:"stripe_events"`
	// Mails are the supporter e-mails sent or due to the person (the outbox rows: kind, state,
	// times; never the senders' claim tokens), and MailUnsubscribes the kinds they turned off.
	Mails            []MailRecord        `json:"emails"`
	MailUnsubscribes []MailUnsubscribe   `json:"email_unsubscribes"`
	Newsletter       []NewsletterConsent `json:"newsletter_consents"`
}

// MailRecord is one supporter e-mail as a data request reports it.
type MailRecord struct {
	Kind         MailKind   `json:"kind"`
	Status       string     `json:"status"`
	Reason       string     `json:"reason,omitempty"`
	Lang         string     `json:"language"`
	Year         int        `json:"year,omitempty"`
	Attempts     int        `json:"attempts"`
	CreatedAt    time.Time  `json:"created_at"`
	SentAt       *time.Time `json:"sent_at"`
	LinkOpenedAt *time.Time `json:"link_opened_at"`
}

// MailUnsubscribe is one kind of supporter e-mail a supporter turned off, and when.
type MailUnsubscribe struct {
	Kind MailKind  `json:"kind"`
	At   time.Time `json:"at"`
}

// CheckoutRecord is a checkout as a data request reports it (minus the form nonce and the Stripe
// session URL, which say nothing about the person).
type CheckoutRecord struct {
	ID              string    `json:"id"`
	Frequency       Frequency `json:"frequency"`
	Amount          Money     `json:"amount"`
	CoverFees       int64     `json:"cover_fees"`
	Article         string    `json:"article"`
	Campaign        string    `json:"campaign"`
	Source          string    `json:"source"`
	ReaderID        string    `json:"reader_id"`
	Status          string    `json:"status"`
	StripeSessionID string    `json:"stripe_session_id"`
	Lang            string    `json:"language"`
	CreatedAt       time.Time `json:"created_at"`
}

// CustomerRecord is a Stripe customer as a data request reports it: the address and name Stripe
// last gave for it.
type CustomerRecord struct {
	StripeCustomerID string `json:"stripe_customer_id"`
	Email            string `json:"email"`
	Name             string `json:"name"`
}

// DeferralRecord is a "remind me later" request that carries the person's address.
type DeferralRecord struct {
	Article        string    `json:"article"`
	Choice         string    `json:"choice"`
	RemindAt       time.Time `json:"remind_at"`
	ReminderStatus string    `json:"reminder_status"`
	CreatedAt      time.Time `json:"created_at"`
}
