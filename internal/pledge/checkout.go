package pledge

import (
	"context"
	"time"
)

// CheckoutStatus is where a reader's attempt to give stands.
type CheckoutStatus string

// The life of a checkout: created locally (pending), a Stripe session exists (open), then paid,
// failed (an async payment failed) or abandoned (the session expired).
const (
	CheckoutPending   CheckoutStatus = "pending"
	CheckoutOpen      CheckoutStatus = "open"
	CheckoutPaid      CheckoutStatus = "paid"
	CheckoutFailed    CheckoutStatus = "failed"
	CheckoutAbandoned CheckoutStatus = "abandoned"
)

// Checkout is one reader's attempt to give: what they chose on the prompt, before Stripe says
// whether it was paid. Its ID travels to Stripe as the pledge_checkout metadata.
type Checkout struct {
	ID        string
	Nonce     string // the rendered form's nonce: one checkout per form, whatever the clicks
	Frequency Frequency
	Amount    Money  // what the reader gives, including CoverFees
	CoverFees int64  // the part of Amount added to cover transaction costs, minor units
	Article   string // the article URL the prompt was under, "" when none
	Campaign  string
	Source    string // where the reader came from, e.g. "reminder"
	ReaderID  string // the anonymous reader id cookie, "" when none
	// Arm is the experiment arm the reader was in when they pressed Continue (none outside
	// experiments). It stays in Pledge's database: it is never sent to Stripe.
	Arm    Arm
	Lang   string // the language the form was rendered in ("en", "ru"); supporter e-mails use it
	Status CheckoutStatus

	StripeSessionID string
	StripeURL       string

	CreatedAt time.Time
	UpdatedAt time.Time
}

// CheckoutService stores checkouts.
type CheckoutService interface {
	// CreateCheckout stores c, with its ID when it has one (else a new one) and its times set:
	// open when it has a Stripe session, else pending. A second call with the same Nonce returns
	// the checkout stored first, so a double submit makes one checkout.
	CreateCheckout(ctx context.Context, c *Checkout) (*Checkout, error)
	// FindCheckout returns the checkout with that ID or an ENOTFOUND error.
	FindCheckout(ctx context.Context, id string) (*Checkout, error)
	// FindCheckoutByNonce returns the checkout stored for a form's choice (Checkout.Nonce), or
	// an ENOTFOUND error.
	FindCheckoutByNonce(ctx context.Context, nonce string) (*Checkout, error)
	// OpenCheckout records the Stripe session made for a checkout.
	OpenCheckout(ctx context.Context, id, sessionID, url string) error
	// FindCheckoutBySession returns the checkout whose Stripe session is sessionID, or an
	// ENOTFOUND error.
	FindCheckoutBySession(ctx context.Context, sessionID string) (*Checkout, error)
}
