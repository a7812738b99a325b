package pledge

import "context"

// SessionRequest is what the payment provider needs besides the checkout to make a hosted
// payment page for it.
type SessionRequest struct {
	ProductName string // the line the reader sees, e.g. "Monthly support for The Daily"
	SuccessURL  string // may hold {CHECKOUT_SESSION_ID}
	CancelURL   string
	// IdempotencyKey makes a repeated request (a double submit, a retry) yield one session.
	IdempotencyKey string
	// Locale is the language of the hosted page, one the provider knows ("ru"); "" or "auto":
	// the reader's browser decides.
	Locale string
	// StatementSuffix is the card statement's descriptor suffix for a one-off gift ("": the
	// account's default).
	StatementSuffix string
}

// Session is a hosted payment page as the provider describes it.
type Session struct {
	ID                string
	URL               string
	ClientReferenceID string // our checkout id
	Status            string // open, complete, expired
	PaymentStatus     string // paid, unpaid, no_payment_required
}

// PaymentService makes and fetches hosted checkout sessions (Stripe Checkout). Its errors carry
// EUNAVAILABLE when the provider could not be reached or was overloaded, so the reader can be
// asked to try again.
type PaymentService interface {
	CreateCheckoutSession(ctx context.Context, c *Checkout, req SessionRequest) (*Session, error)
	CheckoutSession(ctx context.Context, id string) (*Session, error)
}
