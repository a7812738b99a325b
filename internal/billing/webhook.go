package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/pledge-news/pledge/internal/pledge"
)

// Tolerance is how old a webhook signature may be: Stripe's own default, which bounds replays.
const Tolerance = 300 * time.Second

// HandledTypes are the event types Pledge acts on; the webhook endpoint in Stripe should send
// exactly these, and reconcile lists them. Any other type is recorded and answered 200.
var HandledTypes = []string{
	"checkout.session.completed",
	"checkout.session.async_payment_succeeded",
	"checkout.session.async_payment_failed",
	"checkout.session.expired",
	"invoice.paid",
	"invoice.payment_failed",
	"invoice.payment_action_required",
	"customer.subscription.created",
	"customer.subscription.updated",
	"customer.subscription.deleted",
	"charge.refunded",
	"charge.refund.updated",
	"charge.dispute.created",
	"charge.dispute.closed",
	"radar.early_fraud_warning.created",
}

var _ pledge.WebhookService = (*Webhooks)(nil)

// Webhooks receives Stripe's events: it verifies them, translates them into ledger facts, settles
// what a payload leaves open (locally first, from Stripe as a last resort) and applies them to
// the ledger. The webhook endpoint and reconcile share it, so both apply events the same way.
type Webhooks struct {
	// Secrets are the endpoint's signing secrets; during a rotation both old and new verify.
	Secrets []string
	Ledger  pledge.LedgerService
	// Stripe fetches what a payload cannot settle; nil means never (the fact is then kept as is).
	Stripe *Client
	Logger *slog.Logger
}

// Verify checks the Stripe-Signature header against each secret in turn, with Stripe's 300-second
// tolerance and its API version check, and decodes the event. Every failure is an
// EUNAUTHORIZED error whose message names the reason, never the payload.
func (w *Webhooks) Verify(payload []byte, header string) (*stripe.Event, error) {
	if len(w.Secrets) == 0 {
		return nil, pledge.Errorf(pledge.EUNAUTHORIZED, "no webhook secret is configured")
	}
	var err error
	for _, secret := range w.Secrets {
		var ev stripe.Event
		ev, err = webhook.ConstructEventWithOptions(payload, header, secret, webhook.ConstructEventOptions{Tolerance: Tolerance})
		if err == nil {
			return &ev, nil
		}
		if !errors.Is(err, webhook.ErrNoValidSignature) {
			break // missing or malformed header, stale timestamp, wrong API version: no secret helps
		}
	}
	switch {
	case errors.Is(err, webhook.ErrNotSigned):
		return nil, pledge.Errorf(pledge.EUNAUTHORIZED, "missing Stripe-Signature header")
	case errors.Is(err, webhook.ErrInvalidHeader):
		return nil, pledge.Errorf(pledge.EUNAUTHORIZED, "malformed Stripe-Signature header")
	case errors.Is(err, webhook.ErrTooOld):
		return nil, pledge.Errorf(pledge.EUNAUTHORIZED, "signature timestamp outside the tolerance")
	case errors.Is(err, webhook.ErrNoValidSignature):
		return nil, pledge.Errorf(pledge.EUNAUTHORIZED, "no valid signature for any configured secret")
	}
	// The signature was good but the body is not an event of this API version.
	return nil, pledge.Errorf(pledge.EUNAUTHORIZED, "signed event rejected: the endpoint must use API version %s", stripe.APIVersion)
}

// Receive verifies a delivery and applies it. A bad signature is an EUNAUTHORIZED error and
// nothing is stored; any other error means nothing was stored and Stripe should retry.
func (w *Webhooks) Receive(ctx context.Context, payload []byte, header string) (pledge.WebhookResult, error) {
	ev, err := w.Verify(payload, header)
	if err != nil {
		return pledge.WebhookResult{Outcome: pledge.OutcomeFailed}, err
	}
	return w.Apply(ctx, ev)
}

// Apply translates an event (of any API version) and applies it to the ledger. An event of the
// other mode than the Stripe key's (a test-mode event reaching a live deployment, or the reverse)
// is recorded as ignored: it must never change this ledger.
func (w *Webhooks) Apply(ctx context.Context, ev *stripe.Event) (pledge.WebhookResult, error) {
	res := pledge.WebhookResult{EventID: ev.ID, Type: string(ev.Type), Outcome: pledge.OutcomeFailed}
	le, err := Translate(ev)
	if err != nil {
		return res, err
	}
	if w.Stripe != nil && w.Stripe.Live() != ev.Livemode {
		w.logger().Warn("event of the other Stripe mode ignored", "event", ev.ID, "livemode", ev.Livemode)
		le.Fact = nil
	} else if err := w.settle(ctx, le); err != nil {
		return res, err
	}
	res.Outcome, err = w.Ledger.ApplyEvent(ctx, le)
	return res, err
}

// settle completes a fact the payload left open: an invoice whose subscription metadata is not in
// the payload (look for the subscription here, then ask Stripe), and a failed or canceled refund
// (the charge's refunded total went down: read it again).
func (w *Webhooks) settle(ctx context.Context, le *pledge.LedgerEvent) error {
	var sub string
	var meta *pledge.Metadata
	switch f := le.Fact.(type) {
	case *pledge.InvoicePaid:
		sub, meta = f.Subscription, &f.Meta
	case *pledge.InvoiceFailed:
		sub, meta = f.Subscription, &f.Meta
	case *pledge.RefundUpdated:
		if (f.Status != "failed" && f.Status != "canceled") || w.Stripe == nil || f.ChargeID == "" {
			return nil
		}
		params := &stripe.ChargeParams{}
		params.Context = ctx
		ch, err := w.Stripe.api.Charges.Get(f.ChargeID, params)
		if err != nil {
			return fmt.Errorf("fetch charge after a failed refund: %w", err)
		}
		f.Charge = chargeFact(ch)
		f.Charge.ChargeID = f.ChargeID // the one asked for, whatever a test double answers
		return nil
	default:
		return nil
	}
	if meta.CheckoutID != "" {
		return nil
	}
	m, err := w.Ledger.SubscriptionMeta(ctx, sub)
	if err == nil {
		*meta = m
		return nil
	} else if pledge.ErrorCode(err) != pledge.ENOTFOUND {
		return err
	}
	if w.Stripe != nil {
		params := &stripe.SubscriptionParams{}
		params.Context = ctx
		s, err := w.Stripe.api.Subscriptions.Get(sub, params)
		if err != nil {
			return fmt.Errorf("fetch subscription for an invoice: %w", err)
		}
		if m, ok := metadataOf(s.Metadata); ok {
			*meta = m
			return nil
		}
	}
	le.Fact = nil // not a Pledge subscription
	return nil
}

func (w *Webhooks) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}
