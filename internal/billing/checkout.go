package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/pledge-news/pledge/internal/pledge"
)

var _ pledge.PaymentService = (*Client)(nil)

// CheckoutWait bounds how long a reader who pressed Continue waits for Stripe, retries included.
// Stripe answers a session creation in well under a second; past this the reader gets the
// "try again" page at once rather than after every retry's full client timeout (a hung
// connection would otherwise hold them for three 10-second timeouts). The retry of the same form
// sends the same idempotency key, so a session Stripe made meanwhile is the one they get.
const CheckoutWait = 5 * time.Second

// CreateCheckoutSession creates the Stripe Checkout Session for a checkout: a one-off payment
// (mode=payment, submit_type=donate, a Customer always created) or a subscription with a monthly
// or yearly price made inline. The checkout's id and choices travel as metadata on the session
// and on the payment intent or subscription it makes, so webhooks can find their way back, with
// the deployment's pledge_site mark (Config.Site) so that no other deployment applies them.
func (c *Client) CreateCheckoutSession(ctx context.Context, co *pledge.Checkout, req pledge.SessionRequest) (*pledge.Session, error) {
	meta := map[string]string{
		MetaCheckout: co.ID,
		"frequency":  string(co.Frequency),
	}
	// Sent only when known: in protective mode no article or campaign reaches Stripe at all.
	if co.Article != "" {
		meta["article"] = co.Article
	}
	if co.Campaign != "" {
		meta["campaign"] = co.Campaign
	}
	if c.site != "" {
		meta[MetaSite] = c.site
	}
	price := &stripe.CheckoutSessionLineItemPriceDataParams{
		Currency:    stripe.String(string(co.Amount.Currency)),
		UnitAmount:  stripe.Int64(co.Amount.Amount),
		ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{Name: stripe.String(req.ProductName)},
	}
	params := &stripe.CheckoutSessionParams{
		ClientReferenceID: stripe.String(co.ID),
		SuccessURL:        stripe.String(req.SuccessURL),
		CancelURL:         stripe.String(req.CancelURL),
		LineItems:         []*stripe.CheckoutSessionLineItemParams{{PriceData: price, Quantity: stripe.Int64(1)}},
		Metadata:          meta,
	}
	if req.Locale != "" {
		params.Locale = stripe.String(req.Locale)
	}
	if co.Frequency.Recurring() {
		params.Mode = stripe.String(string(stripe.CheckoutSessionModeSubscription))
		price.Recurring = &stripe.CheckoutSessionLineItemPriceDataRecurringParams{Interval: stripe.String(co.Frequency.Interval())}
		params.SubscriptionData = &stripe.CheckoutSessionSubscriptionDataParams{Metadata: meta}
		// No submit_type: with mode=subscription the API accepts it only from 2024-11-20.
	} else {
		params.Mode = stripe.String(string(stripe.CheckoutSessionModePayment))
		params.SubmitType = stripe.String(string(stripe.CheckoutSessionSubmitTypeDonate))
		params.CustomerCreation = stripe.String(string(stripe.CheckoutSessionCustomerCreationAlways))
		params.PaymentIntentData = &stripe.CheckoutSessionPaymentIntentDataParams{Metadata: meta}
		if req.StatementSuffix != "" {
			params.PaymentIntentData.StatementDescriptorSuffix = stripe.String(req.StatementSuffix)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, CheckoutWait)
	defer cancel()
	params.Context = ctx
	if req.IdempotencyKey != "" {
		params.SetIdempotencyKey(req.IdempotencyKey)
	}
	s, err := c.api.CheckoutSessions.New(params)
	if err != nil {
		return nil, translate("create checkout session", err)
	}
	return session(s), nil
}

// CheckoutSession fetches a Checkout Session by id.
func (c *Client) CheckoutSession(ctx context.Context, id string) (*pledge.Session, error) {
	params := &stripe.CheckoutSessionParams{}
	params.Context = ctx
	s, err := c.api.CheckoutSessions.Get(id, params)
	if err != nil {
		return nil, translate("fetch checkout session", err)
	}
	return session(s), nil
}

func session(s *stripe.CheckoutSession) *pledge.Session {
	return &pledge.Session{
		ID:                s.ID,
		URL:               s.URL,
		ClientReferenceID: s.ClientReferenceID,
		Status:            string(s.Status),
		PaymentStatus:     string(s.PaymentStatus),
	}
}

// translate turns a Stripe failure into a domain error: EUNAVAILABLE when Stripe could not be
// reached, was overloaded, failed on its side or was still working on the same request (409, the
// idempotency key in use): the reader may try again. ENOTFOUND for a
// missing object, EINTERNAL (our request was wrong) otherwise. Stripe's message is kept for the
// log, never shown.
func translate(op string, err error) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		switch {
		case se.HTTPStatusCode == http.StatusTooManyRequests || se.HTTPStatusCode >= 500:
			return fmt.Errorf("stripe: %s: status %d (request %s): %w", op, se.HTTPStatusCode, se.RequestID, unavailable())
		case se.HTTPStatusCode == http.StatusConflict:
			// The same idempotency key is still in flight (a double submit racing the first):
			// the first request's session will be there on a retry.
			return fmt.Errorf("stripe: %s: status 409 (request %s): %w", op, se.RequestID, &pledge.Error{Code: pledge.EUNAVAILABLE,
				Message: "Your payment page is still being prepared. No payment was taken. Please try again in a moment."})
		case se.HTTPStatusCode == http.StatusNotFound:
			return fmt.Errorf("stripe: %s: %w", op, &pledge.Error{Code: pledge.ENOTFOUND, Message: "We could not find that payment."})
		}
		return fmt.Errorf("stripe: %s: status %d, %s (request %s)", op, se.HTTPStatusCode, se.Msg, se.RequestID)
	}
	// Anything else is the network: refused, reset, timed out.
	return fmt.Errorf("stripe: %s: %v: %w", op, err, unavailable())
}

func unavailable() error {
	return &pledge.Error{Code: pledge.EUNAVAILABLE,
		Message: "We couldn't reach our payment provider just now. No payment was taken. Please try again in a moment."}
}
