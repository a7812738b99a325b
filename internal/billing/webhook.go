package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/pledge-news/pledge/internal/loop"
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
	"invoice.upcoming",
	"customer.subscription.created",
	"customer.subscription.updated",
	"customer.subscription.deleted",
	"customer.created",
	"customer.updated",
	"charge.refunded",
	"charge.refund.updated",
	"charge.dispute.created",
	"charge.dispute.updated",
	"charge.dispute.closed",
	"charge.dispute.funds_withdrawn",
	"charge.dispute.funds_reinstated",
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
	// Settlements records balance transactions reconcile fetches for donations that lack them;
	// nil skips that step.
	Settlements pledge.SettlementService
	// Stripe fetches what a payload cannot settle; nil means never (the fact is then kept as is).
	Stripe *Client
	// Site is this deployment's pledge_site mark. An object marked by another site (several
	// deployments sharing one Stripe account) is recorded and ignored; an unmarked one, made
	// before sites marked theirs, is this one's. "" applies every object.
	Site   string
	Logger *slog.Logger

	kickOnce sync.Once
	kicks    chan struct{} // a gift was recorded: the settler has work (RunSettler)
}

// Verify checks the Stripe-Signature header against each secret in turn, with Stripe's 300-second
// tolerance and its API version check, and decodes the event. Every failure is an
// EUNAUTHORIZED error whose message names the reason, never the payload.
//
// It checks what stripe-go's webhook.ConstructEvent checks, in the same order, but decodes only
// the envelope and keeps the object as its raw JSON (Translate decodes it once, into the type it
// needs): ConstructEvent also decodes the whole object into a map nothing reads, which was about
// half of a delivery's CPU before the store (BenchmarkVerifyTranslate).
func (w *Webhooks) Verify(payload []byte, header string) (*stripe.Event, error) {
	if len(w.Secrets) == 0 {
		return nil, pledge.Errorf(pledge.EUNAUTHORIZED, "no webhook secret is configured")
	}
	var err error
	for _, secret := range w.Secrets {
		err = webhook.ValidatePayloadWithTolerance(payload, header, secret, Tolerance)
		if !errors.Is(err, webhook.ErrNoValidSignature) {
			break // valid, or a missing or malformed header or stale timestamp: no secret helps
		}
	}
	switch {
	case err == nil:
		if ev, ok := decodeEvent(payload); ok {
			return ev, nil
		}
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

// decodeEvent decodes a signed event's envelope, its object kept raw; ok is false when the body
// is not JSON or not of this stripe-go's API version.
func decodeEvent(payload []byte) (*stripe.Event, bool) {
	var env struct {
		ID         string           `json:"id"`
		Object     string           `json:"object"`
		Account    string           `json:"account"`
		APIVersion string           `json:"api_version"`
		Created    int64            `json:"created"`
		Livemode   bool             `json:"livemode"`
		Type       stripe.EventType `json:"type"`
		Pending    int64            `json:"pending_webhooks"`
		Data       *struct {
			Object             json.RawMessage        `json:"object"`
			PreviousAttributes map[string]interface{} `json:"previous_attributes"`
		} `json:"data"`
	}
	if err := json.Unmarshal(payload, &env); err != nil || env.APIVersion != stripe.APIVersion {
		return nil, false
	}
	ev := &stripe.Event{ID: env.ID, Object: env.Object, Account: env.Account, APIVersion: env.APIVersion,
		Created: env.Created, Livemode: env.Livemode, Type: env.Type, PendingWebhooks: env.Pending}
	if env.Data != nil {
		ev.Data = &stripe.EventData{Raw: env.Data.Object, PreviousAttributes: env.Data.PreviousAttributes}
	}
	return ev, true
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
// other mode than the Stripe key's (a test-mode event reaching a live deployment, or the reverse),
// or about an object another site marked, is recorded as ignored: it must never change this
// ledger.
func (w *Webhooks) Apply(ctx context.Context, ev *stripe.Event) (pledge.WebhookResult, error) {
	res := pledge.WebhookResult{EventID: ev.ID, Type: string(ev.Type), Outcome: pledge.OutcomeFailed}
	le, err := Translate(ev)
	if err != nil {
		return res, err
	}
	if w.Stripe != nil && w.Stripe.Live() != ev.Livemode {
		w.logger().Warn("event of the other Stripe mode ignored", "event", ev.ID, "livemode", ev.Livemode)
		le.Fact = nil
	} else if !w.dropForeign(le, ev) {
		if err := w.settle(ctx, le); err != nil {
			return res, err
		}
		// settle may have read the metadata from Stripe: check its mark too.
		w.dropForeign(le, ev)
	}
	res.Outcome, err = w.Ledger.ApplyEvent(ctx, le)
	if err == nil && res.Outcome == pledge.OutcomeApplied && pays(le.Fact) {
		w.kick()
	}
	if err == nil && res.Outcome == pledge.OutcomeMismatch {
		// Never converted: staff settle it by hand (the supporter's page lists it).
		w.logger().Warn("refund or dispute in another currency than its donation: not applied",
			"event", ev.ID, "type", string(ev.Type), "object", le.ObjectID)
	}
	return res, err
}

// dropForeign sets the fact to nil, and says so, when its object carries another site's mark.
func (w *Webhooks) dropForeign(le *pledge.LedgerEvent, ev *stripe.Event) bool {
	if w.Site == "" || le.Fact == nil {
		return false
	}
	site := siteOf(le.Fact, ev)
	if site == "" || site == w.Site {
		return false
	}
	w.logger().Warn("event of another site's object ignored", "event", ev.ID, "site", site)
	le.Fact = nil
	return true
}

// siteOf is the pledge_site mark of a fact's object: from its metadata when the fact carries
// them, else from the object's own metadata (a closed Checkout Session).
func siteOf(fact any, ev *stripe.Event) string {
	if m, ok := pledge.FactMetadata(fact); ok {
		return m.Site
	}
	if ev.Data == nil {
		return ""
	}
	var obj struct {
		Metadata map[string]string `json:"metadata"`
	}
	if err := json.Unmarshal(ev.Data.Raw, &obj); err != nil {
		return ""
	}
	return obj.Metadata[MetaSite]
}

// settle completes a fact the payload left open: an invoice whose subscription metadata is not in
// the payload (look for the subscription here, then ask Stripe), a failed or canceled refund
// (the charge's refunded total went down: read it again), and a payment's balance transaction
// (what reached the bank, fetched from Stripe).
func (w *Webhooks) settle(ctx context.Context, le *pledge.LedgerEvent) error {
	return w.settleMeta(ctx, le)
}

// pays reports whether a fact records money paid, whose balance transaction the settler fetches.
func pays(fact any) bool {
	switch f := fact.(type) {
	case *pledge.CheckoutCompleted:
		return f.Paid && f.Amount.Amount > 0
	case *pledge.InvoicePaid:
		return f.Amount.Amount > 0
	}
	return false
}

func (w *Webhooks) kickChan() chan struct{} {
	w.kickOnce.Do(func() { w.kicks = make(chan struct{}, 1) })
	return w.kicks
}

// kick tells the settler a gift was recorded (never blocks: kicks in a burst become one pass).
func (w *Webhooks) kick() {
	select {
	case w.kickChan() <- struct{}{}:
	default:
	}
}

// SettleWindow is how far back the background settler looks for gifts without their balance
// transaction; older ones are reconcile's (pledge reconcile, and serve's timer).
const SettleWindow = 48 * time.Hour

// settleWorkers bounds the Stripe calls the settler makes at once.
const settleWorkers = 8

// RunSettler fetches, in the background, the balance transactions of the gifts recorded in the
// last SettleWindow that lack one: right after gifts are recorded (each one kicks it) and every
// interval, SettleBatch at a time, settleWorkers calls at once. The webhook never waits for
// Stripe's bank figures: it answers as soon as the gift is recorded. It returns when ctx ends.
func (w *Webhooks) RunSettler(ctx context.Context, interval time.Duration) {
	if w.Stripe == nil || w.Settlements == nil {
		return
	}
	loop.Every(ctx, interval, interval, w.kickChan(), func(bool) {
		if _, _, err := w.SettleRecent(ctx); err != nil && ctx.Err() == nil {
			w.logger().Warn("settling balance transactions", "err", err)
		}
	})
}

// SettleRecent fetches and records the balance transactions of up to SettleBatch gifts recorded
// in the last SettleWindow that lack one. It returns how many it settled and how many Stripe
// could not give yet (tried again at the next pass).
func (w *Webhooks) SettleRecent(ctx context.Context) (settled, unsettled int, err error) {
	targets, err := w.Settlements.UnsettledSince(ctx, time.Now().Add(-SettleWindow), SettleBatch)
	if err != nil || len(targets) == 0 {
		return 0, 0, err
	}
	var mu sync.Mutex
	var first error
	work := make(chan pledge.SettlementTarget)
	var wg sync.WaitGroup
	for range min(settleWorkers, len(targets)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				charge, s, ferr := w.Stripe.Settlement(ctx, t.PaymentIntent, t.Charge)
				if ferr == nil {
					ferr = w.Settlements.RecordSettlement(ctx, t.DonationID, charge, s)
				}
				mu.Lock()
				if ferr != nil {
					unsettled++
					if first == nil && pledge.ErrorCode(ferr) == pledge.EINTERNAL && ctx.Err() == nil {
						first = ferr
					}
				} else {
					settled++
				}
				mu.Unlock()
			}
		}()
	}
	for _, t := range targets {
		if ctx.Err() != nil {
			break
		}
		work <- t
	}
	close(work)
	wg.Wait()
	if unsettled > 0 {
		w.logger().Debug("balance transactions not available yet", "count", unsettled, "err", first)
	}
	return settled, unsettled, nil
}

// settleMeta finds the Pledge metadata of an invoice's subscription, and a failed refund's charge.
func (w *Webhooks) settleMeta(ctx context.Context, le *pledge.LedgerEvent) error {
	var sub string
	var meta *pledge.Metadata
	switch f := le.Fact.(type) {
	case *pledge.InvoicePaid:
		sub, meta = f.Subscription, &f.Meta
	case *pledge.InvoiceFailed:
		sub, meta = f.Subscription, &f.Meta
	case *pledge.InvoiceUpcoming:
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
