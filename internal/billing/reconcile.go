package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/pledge-news/pledge/internal/pledge"
)

// ReconcileSummary counts what a reconcile run saw and did.
type ReconcileSummary struct {
	Seen    int // events listed by Stripe
	New     int // of those, not yet recorded here
	Applied int
	Ignored int
	Failed  int
	// Settled and Unsettled count the donations whose balance transaction this run fetched, and
	// those it could not (not available yet, or Stripe failed): a later run tries them again.
	Settled   int
	Unsettled int
}

// SettlementLine is the second line `pledge reconcile` prints: the balance transactions fetched.
func (s ReconcileSummary) SettlementLine() string {
	return fmt.Sprintf("reconcile: balance transactions fetched %d, not yet available %d", s.Settled, s.Unsettled)
}

// SettleBatch is how many donations without a balance transaction one reconcile run looks up,
// oldest first.
const SettleBatch = 1000

// String is the summary line `pledge reconcile` prints.
func (s ReconcileSummary) String() string {
	return fmt.Sprintf("reconcile: seen %d, new %d, applied %d, ignored %d, failed %d",
		s.Seen, s.New, s.Applied, s.Ignored, s.Failed)
}

// Reconcile lists the handled events Stripe created since the given time, page by page, and
// applies those not yet recorded through the same path as the webhook. Listed events carry the
// API version current when each was created, so they are decoded without the version check
// (they come over TLS with the secret key, no signature needed). It is idempotent: a second run
// finds everything recorded. progress, if not nil, is called every 100 events. One event failing
// is counted and logged by id, and the run goes on; a listing error ends the run.
func (w *Webhooks) Reconcile(ctx context.Context, since time.Time, progress func(ReconcileSummary)) (ReconcileSummary, error) {
	var sum ReconcileSummary
	if w.Stripe == nil {
		return sum, fmt.Errorf("reconcile: no Stripe client")
	}
	params := &stripe.EventListParams{
		Types:        stripe.StringSlice(HandledTypes),
		CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: since.Unix()},
	}
	params.Context = ctx
	params.Limit = stripe.Int64(100)
	it := w.Stripe.api.Events.List(params)
	for it.Next() {
		ev := it.Event()
		sum.Seen++
		if progress != nil && sum.Seen%100 == 0 {
			progress(sum)
		}
		known, err := w.Ledger.HasEvent(ctx, ev.ID)
		if err != nil {
			return sum, err
		}
		if known {
			continue
		}
		sum.New++
		res, err := w.Apply(ctx, ev)
		switch {
		case err != nil:
			sum.Failed++
			w.logger().Error("reconcile: event failed", "event_id", ev.ID, "type", string(ev.Type), "err", err)
		case res.Outcome == pledge.OutcomeIgnored:
			sum.Ignored++
		case res.Outcome == pledge.OutcomeApplied:
			sum.Applied++
		}
	}
	if err := it.Err(); err != nil {
		return sum, fmt.Errorf("list events: %w", err)
	}
	return sum, w.settleMissing(ctx, &sum)
}

// settleMissing fetches the balance transactions the webhook could not (Stripe was down, or the
// charge had none yet) for up to SettleBatch donations, oldest first, and records them.
func (w *Webhooks) settleMissing(ctx context.Context, sum *ReconcileSummary) error {
	if w.Settlements == nil {
		return nil
	}
	targets, err := w.Settlements.UnsettledDonations(ctx, SettleBatch)
	if err != nil {
		return err
	}
	for _, t := range targets {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		charge, s, err := w.Stripe.Settlement(ctx, t.PaymentIntent, t.Charge)
		if err != nil {
			sum.Unsettled++
			w.logger().Debug("reconcile: balance transaction not available", "donation", t.DonationID, "err", err)
			continue
		}
		if err := w.Settlements.RecordSettlement(ctx, t.DonationID, charge, s); err != nil {
			return err
		}
		sum.Settled++
	}
	return nil
}
