package billing

import (
	"context"

	"github.com/stripe/stripe-go/v76"

	"github.com/pledge-news/pledge/internal/pledge"
)

var _ pledge.PortalService = (*Client)(nil)

// CreatePortalSession creates a billing-portal session for a customer and returns its URL. With
// CancelSubscriptionID it opens straight on the portal's subscription_cancel flow; with
// UpdatePaymentMethod on payment_method_update (a failed renewal's recovery link).
func (c *Client) CreatePortalSession(ctx context.Context, r pledge.PortalRequest) (string, error) {
	params := &stripe.BillingPortalSessionParams{
		Customer:  stripe.String(r.CustomerID),
		ReturnURL: stripe.String(r.ReturnURL),
	}
	if r.UpdatePaymentMethod {
		params.FlowData = &stripe.BillingPortalSessionFlowDataParams{
			Type: stripe.String(string(stripe.BillingPortalSessionFlowTypePaymentMethodUpdate)),
		}
	} else if r.CancelSubscriptionID != "" {
		params.FlowData = &stripe.BillingPortalSessionFlowDataParams{
			Type: stripe.String(string(stripe.BillingPortalSessionFlowTypeSubscriptionCancel)),
			SubscriptionCancel: &stripe.BillingPortalSessionFlowDataSubscriptionCancelParams{
				Subscription: stripe.String(r.CancelSubscriptionID),
			},
		}
	}
	params.Context = ctx
	s, err := c.api.BillingPortalSessions.New(params)
	if err != nil {
		return "", err
	}
	return s.URL, nil
}
