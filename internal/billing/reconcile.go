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
}

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
	return sum, nil
}
