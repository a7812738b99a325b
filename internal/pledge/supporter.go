package pledge

import (
	"context"
	"strings"
	"time"
)

// Supporter is a reader Stripe knows as a customer.
type Supporter struct {
	ID               int64
	StripeCustomerID string
	Email            string // "" once erased
	Name             string
	CreatedAt        time.Time
	ErasedAt         time.Time
	// Recurring is the frequency of the supporter's latest subscription, "" when none; Status is
	// that subscription's Stripe status.
	Recurring Frequency
	Status    string
	Donations int
}

// Subscription is a recurring gift as Stripe reports it.
type Subscription struct {
	ID                   int64
	StripeSubscriptionID string
	Frequency            Frequency
	Amount               Money
	Status               string
	CancelAtPeriodEnd    bool
	CurrentPeriodEnd     time.Time
	StartedAt            time.Time
	CanceledAt           time.Time
	CancellationReason   string
	Article              string
	Campaign             string
}

// Donation is one payment that succeeded (and what happened to it since).
type Donation struct {
	ID                    int64
	Frequency             Frequency
	Amount                Money
	Refunded              int64
	Status                string
	DisputeStatus         string
	StripePaymentIntentID string
	StripeInvoiceID       string
	StripeChargeID        string
	Article               string
	Campaign              string
	PaidAt                time.Time
}

// StripeEvent is a recorded webhook event (its payload is not kept).
type StripeEvent struct {
	ID       string
	Type     string
	Created  time.Time
	ObjectID string
	Outcome  string
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
}

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

// SupporterData is the answer to a data request: what the service holds about one person.
type SupporterData struct {
	Supporter     Supporter        `json:"supporter"`
	Subscriptions []Subscription   `json:"subscriptions"`
	Donations     []Donation       `json:"donations"`
	Deferrals     []DeferralRecord `json:"reminder_requests"`
}

// DeferralRecord is a "remind me later" request that carries the person's address.
type DeferralRecord struct {
	Article        string    `json:"article"`
	Choice         string    `json:"choice"`
	RemindAt       time.Time `json:"remind_at"`
	ReminderStatus string    `json:"reminder_status"`
	CreatedAt      time.Time `json:"created_at"`
}
