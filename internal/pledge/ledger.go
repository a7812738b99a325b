package pledge

import (
	"context"
	"time"
)

// Outcome is what became of one Stripe event.
type Outcome string

// The outcomes of an event. Applied and ignored events are recorded; a duplicate changes
// nothing; a failed one is rolled back whole so that Stripe delivers it again.
const (
	OutcomeApplied   Outcome = "applied"
	OutcomeDuplicate Outcome = "duplicate"
	OutcomeIgnored   Outcome = "ignored"
	OutcomeFailed    Outcome = "failed"
)

// LedgerEvent is one Stripe event translated into a domain fact. Fact is one of the fact types
// below, or nil for an event Pledge records but does not act on (a type it does not handle, or
// an object without pledge_checkout metadata: the Stripe account may sell other things).
type LedgerEvent struct {
	ID       string // Stripe's event id, unique
	Type     string
	Created  time.Time // when Stripe says the event happened: the state's timestamp
	Livemode bool
	ObjectID string // the id of the event's object (session, invoice, subscription, charge...)
	Fact     any
}

// CheckoutID returns the local checkout the event is about, "" when it names none.
func (e *LedgerEvent) CheckoutID() string {
	switch f := e.Fact.(type) {
	case *CheckoutCompleted:
		return f.CheckoutID
	case *CheckoutClosed:
		return f.CheckoutID
	case *InvoicePaid:
		return f.Meta.CheckoutID
	case *InvoiceFailed:
		return f.Meta.CheckoutID
	case *SubscriptionChanged:
		return f.Meta.CheckoutID
	}
	return ""
}

// Metadata is what Pledge puts on every Stripe object it creates, read back from an event.
type Metadata struct {
	CheckoutID string // pledge_checkout
	Frequency  Frequency
	Article    string
	Campaign   string
}

// Customer is the Stripe customer behind a payment.
type Customer struct {
	StripeID string // "" when Stripe made none
	Email    string
	Name     string
}

// CheckoutCompleted is a Checkout Session that was completed (checkout.session.completed) or whose
// delayed payment succeeded (checkout.session.async_payment_succeeded).
type CheckoutCompleted struct {
	SessionID  string
	CheckoutID string
	Meta       Metadata
	Paid       bool // payment_status=paid; an unpaid completion waits for the async events
	Customer   Customer
	Amount     Money
	// PaymentIntent is set for a one-off; Subscription and Invoice for a recurring gift.
	PaymentIntent string
	Subscription  string
	Invoice       string
}

// CheckoutClosed is a Checkout Session whose delayed payment failed (Status failed) or that expired
// unpaid (Status abandoned).
type CheckoutClosed struct {
	SessionID  string
	CheckoutID string
	Status     CheckoutStatus
}

// InvoicePaid is a paid invoice of a subscription: the first payment or a renewal.
type InvoicePaid struct {
	InvoiceID     string
	Subscription  string
	Meta          Metadata
	Customer      Customer
	Amount        Money // amount_paid
	PaymentIntent string
	Charge        string
	PaidAt        time.Time
	PeriodStart   time.Time
	PeriodEnd     time.Time
	Interval      string // the price's recurring interval, month or year
}

// InvoiceFailed is a subscription invoice whose payment failed or needs the supporter's action:
// the subscription is past due and the attempt is recorded.
type InvoiceFailed struct {
	InvoiceID      string
	Subscription   string
	Meta           Metadata
	Amount         Money // amount_due
	AttemptCount   int64
	ActionRequired bool // invoice.payment_action_required rather than invoice.payment_failed
	NextAttempt    time.Time
}

// SubscriptionChanged is a subscription object as customer.subscription.created, updated or
// deleted shows it.
type SubscriptionChanged struct {
	SubscriptionID     string
	Meta               Metadata
	Customer           Customer // StripeID only: subscription events carry no e-mail
	Amount             Money    // price × quantity of the first item
	Interval           string
	Status             string // Stripe's status: incomplete, active, past_due, canceled...
	CancelAtPeriodEnd  bool
	CurrentPeriodEnd   time.Time
	StartedAt          time.Time
	CanceledAt         time.Time
	CancellationReason string
}

// ChargeRefunded is a charge's refunded total (charge.refunded, or the charge fetched again when a
// refund failed). AmountRefunded is cumulative, so a partial refund keeps the rest.
type ChargeRefunded struct {
	ChargeID       string
	PaymentIntent  string
	Invoice        string
	Amount         Money
	AmountRefunded int64
	Meta           Metadata
}

// RefundUpdated is a refund whose status changed (charge.refund.updated). A succeeded or pending
// refund counts toward its charge's refunded total; a failed or canceled one stops counting, and
// the charge is read again from Stripe (Charge) since its total changed.
type RefundUpdated struct {
	RefundID      string
	ChargeID      string
	PaymentIntent string
	Amount        int64
	Status        string
	Charge        *ChargeRefunded // the charge as fetched after a failure, nil otherwise
}

// DisputeChanged is a dispute opened or closed on a charge; Status is Stripe's dispute status
// (needs_response, under_review, won, lost, warning_closed...).
type DisputeChanged struct {
	DisputeID     string
	ChargeID      string
	PaymentIntent string
	Status        string
}

// FraudWarning is an early fraud warning from the card network about a charge.
type FraudWarning struct {
	WarningID     string
	ChargeID      string
	PaymentIntent string
}

// WebhookResult is what became of one webhook delivery: which event, and its outcome.
type WebhookResult struct {
	EventID string
	Type    string
	Outcome Outcome
}

// WebhookService receives Stripe's webhook deliveries.
type WebhookService interface {
	// Receive verifies payload against the Stripe-Signature header and applies the event. A bad,
	// missing or stale signature is an EUNAUTHORIZED error and nothing is stored; any other error
	// means nothing was stored and the delivery should be retried.
	Receive(ctx context.Context, payload []byte, signature string) (WebhookResult, error)
}

// LedgerService keeps the ledger of supporters, donations and subscriptions.
type LedgerService interface {
	// ApplyEvent records the event and applies its fact in one transaction. It answers
	// OutcomeDuplicate, changing nothing, for an event already recorded; on error nothing is kept.
	ApplyEvent(ctx context.Context, e *LedgerEvent) (Outcome, error)
	// HasEvent reports whether the event is recorded.
	HasEvent(ctx context.Context, id string) (bool, error)
	// SubscriptionMeta returns the metadata of a stored subscription, or ENOTFOUND.
	SubscriptionMeta(ctx context.Context, stripeSubscriptionID string) (Metadata, error)
}
