package pledge

import (
	"context"
	"time"
)

// NewsletterConsent is a reader's opt-in to the newsroom's newsletter: when, where (the thank-you
// page or the thank-you e-mail's link), and the exact wording of the checkbox they ticked, in the
// language it was shown in.
type NewsletterConsent struct {
	SupporterID int64     `json:"-"`
	CheckoutID  string    `json:"checkout_id,omitempty"`
	Source      string    `json:"source"`
	Wording     string    `json:"wording"`
	Lang        string    `json:"language"`
	ConsentedAt time.Time `json:"consented_at"`
}

// Where a newsletter consent was given.
const (
	ConsentThanksPage  = "thanks_page"
	ConsentThanksEmail = "thanks_email"
)

// NewsletterService records newsletter opt-ins.
type NewsletterService interface {
	// RecordNewsletterConsent stores a consent given for a supporter (SupporterID) or on the
	// thank-you page of a checkout (CheckoutID; its supporter is found when the ledger knows it).
	RecordNewsletterConsent(ctx context.Context, c *NewsletterConsent) error
}
