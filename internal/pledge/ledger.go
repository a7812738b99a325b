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
	// OutcomeMismatch is a refund or dispute in another currency than its donation: recorded,
	// logged and shown on the supporter's page, never applied (Pledge does not convert silently).
	OutcomeMismatch Outcome = "mismatch"
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

// FactMetadata returns the Pledge metadata a fact carries: the facts that may carry some say it
// with their Metadata method. ok is false for the fact types that carry none (closed sessions,
// refunds without their fetched charge, disputes, fraud warnings, customers) and for nil.
func FactMetadata(fact any) (m Metadata, ok bool) {
	if f, ok := fact.(interface{ Metadata() (Metadata, bool) }); ok {
		return f.Metadata()
	}
	return Metadata{}, false
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
	case *InvoiceUpcoming:
		return f.Meta.CheckoutID
	case *SubscriptionChanged:
		return f.Meta.CheckoutID
	}
	return ""
}

// RelatedID returns the Stripe object the event's object belongs to, so that a supporter's page
// finds events about objects it does not store (a session, a refund, a dispute): the payment
// intent of a checkout or a charge's facts (else the charge), the subscription of an invoice,
// the customer of a subscription. "" when there is none.
func (e *LedgerEvent) RelatedID() string {
	or := func(a, b string) string {
		if a != "" {
			return a
		}
		return b
	}
	switch f := e.Fact.(type) {
	case *CheckoutCompleted:
		return or(f.PaymentIntent, f.Subscription)
	case *InvoicePaid:
		return f.Subscription
	case *InvoiceFailed:
		return f.Subscription
	case *InvoiceUpcoming:
		return f.Subscription
	case *SubscriptionChanged:
		return f.Customer.StripeID
	case *ChargeRefunded:
		return or(f.PaymentIntent, f.ChargeID)
	case *RefundUpdated:
		return or(f.PaymentIntent, f.ChargeID)
	case *DisputeChanged:
		return or(f.PaymentIntent, f.ChargeID)
	case *FraudWarning:
		return or(f.PaymentIntent, f.ChargeID)
	}
	return ""
}

// Metadata is what Pledge puts on every Stripe object it creates, read back from an event.
type Metadata struct {
	CheckoutID string // pledge_checkout
	// Site is pledge_site: the deployment that created the object ("" on objects made before
	// deployments marked theirs, which belong to this one).
	Site      string
	Frequency Frequency
	Article   string
	Campaign  string
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
	Amount     Money // what the supporter paid for the journalism: after discounts, before tax
	Tax        int64 // tax on top of Amount, in its currency's minor units
	// PaymentIntent is set for a one-off; Subscription and Invoice for a recurring gift.
	PaymentIntent string
	Subscription  string
	Invoice       string
	// Charge is the payment's charge, when the event names it (an invoice's comes with
	// invoice.paid). Its balance transaction is fetched after the gift is recorded (billing's
	// settler), never while the webhook waits.
	Charge string
}

// Metadata is the Checkout Session's (see FactMetadata).
func (f *CheckoutCompleted) Metadata() (Metadata, bool) { return f.Meta, true }

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
	Amount        Money // amount_paid less tax: after discounts, before tax
	Tax           int64
	PaymentIntent string
	Charge        string
	PaidAt        time.Time // status_transitions.paid_at
	PeriodStart   time.Time
	PeriodEnd     time.Time
	Interval      string // the price's recurring interval, month or year
}

// Metadata is the invoice's subscription's, from the payload or settled from the store or Stripe.
func (f *InvoicePaid) Metadata() (Metadata, bool) { return f.Meta, true }

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
	// Renewal: the invoice renews the subscription (billing_reason subscription_cycle), rather
	// than starting it; only a renewal's failure gets a recovery e-mail.
	Renewal  bool
	Customer string // the invoice's Stripe customer
}

// Metadata is the invoice's subscription's, from the payload or settled from the store or Stripe.
func (f *InvoiceFailed) Metadata() (Metadata, bool) { return f.Meta, true }

// InvoiceUpcoming is Stripe's notice (invoice.upcoming) that a subscription will renew: the
// upcoming invoice's amount and the date it will be charged. It changes nothing in the ledger;
// an annual renewal gets its notice e-mail from it.
type InvoiceUpcoming struct {
	Subscription string
	Meta         Metadata
	Customer     string
	Amount       Money // amount_due
	Interval     string
	RenewsAt     time.Time // next_payment_attempt, else the new period's start
}

// Metadata is the invoice's subscription's, from the payload or settled from the store or Stripe.
func (f *InvoiceUpcoming) Metadata() (Metadata, bool) { return f.Meta, true }

// SubscriptionChanged is a subscription object as customer.subscription.created, updated or
// deleted shows it.
type SubscriptionChanged struct {
	SubscriptionID     string
	Meta               Metadata
	Customer           Customer // StripeID only: subscription events carry no e-mail
	Amount             Money    // price × quantity of the first item, after the discount
	Interval           string
	Status             string // Stripe's status: incomplete, active, past_due, canceled...
	CancelAtPeriodEnd  bool
	CancelAt           time.Time // when a scheduled cancellation takes effect
	CurrentPeriodEnd   time.Time
	StartedAt          time.Time
	CanceledAt         time.Time // when cancellation was requested (not when it ends)
	EndedAt            time.Time // when the subscription ended, zero while it runs
	Paused             bool      // pause_collection is set: Stripe collects nothing
	CancellationReason string
}

// Metadata is the subscription's.
func (f *SubscriptionChanged) Metadata() (Metadata, bool) { return f.Meta, true }

// CustomerChanged is a Stripe customer's e-mail address or name as customer.created or
// customer.updated shows it (the billing portal changes them).
type CustomerChanged struct {
	Customer Customer
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

// Metadata is the charge's.
func (f *ChargeRefunded) Metadata() (Metadata, bool) { return f.Meta, true }

// RefundUpdated is a refund whose status changed (charge.refund.updated). A succeeded or pending
// refund counts toward its charge's refunded total; a failed or canceled one stops counting, and
// the charge is read again from Stripe (Charge) since its total changed.
type RefundUpdated struct {
	RefundID      string
	ChargeID      string
	PaymentIntent string
	Amount        int64
	Currency      Currency
	Status        string
	Charge        *ChargeRefunded // the charge as fetched after a failure, nil otherwise
}

// Metadata is the fetched charge's: a refund carries none of its own.
func (f *RefundUpdated) Metadata() (Metadata, bool) {
	if f.Charge == nil {
		return Metadata{}, false
	}
	return f.Charge.Meta, true
}

// DisputeChanged is a dispute on a charge as charge.dispute.created, updated, closed,
// funds_withdrawn or funds_reinstated shows it. Status is Stripe's dispute status (needs_response,
// under_review, won, lost, and warning_* for inquiries, which move no money). Amount is the
// disputed amount, which may be less than the charge.
type DisputeChanged struct {
	DisputeID     string
	ChargeID      string
	PaymentIntent string
	Status        string
	Amount        Money
	// Reinstated is set by charge.dispute.funds_reinstated: the withdrawn funds came back.
	Reinstated bool
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
