package pledge

import (
	"context"
	"strings"
	"time"
	"unicode"
)

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

// PromptStat counts what happened to the prompt under one article and campaign on one UTC day.
type PromptStat struct {
	Day      time.Time // the UTC day's start
	Article  string
	Campaign string
	Views    int64
	Clicks   int64
	// Title is the article's headline as embed.js last reported it ("" when it did not): the
	// store keeps one per article, replaced when it changes.
	Title string
}

// CleanTitle makes a reported headline safe to keep: plain text of at most 200 characters, no
// control characters, spaces collapsed. Templates escape it; it is never treated as HTML.
func CleanTitle(s string) string {
	var b strings.Builder
	space := false
	n := 0
	for _, r := range s {
		if n >= 200 {
			break
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// PromptStatService adds counts to the stored prompt statistics.
type PromptStatService interface {
	// AddPromptStats adds each stat's views and clicks to the stored ones for its key.
	AddPromptStats(ctx context.Context, stats []PromptStat) error
}
