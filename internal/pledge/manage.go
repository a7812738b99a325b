package pledge

import (
	"context"
	"time"
)

// SupportAccount is what "Manage my support" needs about a supporter: their Stripe customer and,
// when they give regularly, their active subscription.
type SupportAccount struct {
	SupporterID    int64
	Email          string // the address on record, which the /manage e-mail goes to
	CustomerID     string
	SubscriptionID string // the newest active (or trialing, past_due) subscription, "" when none
}

// ManageService finds supporters for /manage and spends its single-use links.
type ManageService interface {
	// FindSupportAccount returns the supporter with a Stripe customer whose address is email
	// (case-insensitively), or an ENOTFOUND error.
	FindSupportAccount(ctx context.Context, email string) (*SupportAccount, error)
	// FindSupportAccountByID returns the same by supporter id, or an ENOTFOUND error.
	FindSupportAccountByID(ctx context.Context, supporterID int64) (*SupportAccount, error)
	// ManageTokenUsed reports whether the link with tokenID has been used already.
	ManageTokenUsed(ctx context.Context, tokenID string) (bool, error)
	// UseManageToken records that the link with tokenID (valid until expires) has been used; an
	// ECONFLICT error when it already was.
	UseManageToken(ctx context.Context, tokenID string, expires time.Time) error
}

// PortalRequest asks for a Stripe billing-portal session.
type PortalRequest struct {
	CustomerID string
	ReturnURL  string
	// CancelSubscriptionID, when set, opens the portal's subscription_cancel flow for it.
	CancelSubscriptionID string
	// UpdatePaymentMethod opens the portal's payment_method_update flow (a failed renewal).
	UpdatePaymentMethod bool
}

// PortalService creates billing-portal sessions.
type PortalService interface {
	// CreatePortalSession returns the URL of a new billing-portal session.
	CreatePortalSession(ctx context.Context, r PortalRequest) (string, error)
}
