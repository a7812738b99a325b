package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"github.com/pledge-news/pledge/internal/loop"
)

// outbox is the claim-send-report loop that Reminders and SupporterMail share: each item is
// claimed in the store before it is sent and reported after; a failed send is retried with
// backoff, then given up; a claim left behind by a crashed sender is given up rather than resent.
// The senders differ only in the store calls and the message, which are its functions.
type outbox[T any] struct {
	noun   string // names an item in log lines: "reminder", "supporter e-mail"
	logger *slog.Logger
	mailer *Mailer

	batch       int
	lease       time.Duration
	backoff     time.Duration
	maxAttempts int

	giveUpStale func(ctx context.Context, lease time.Duration) (int, error)
	claim       func(ctx context.Context, token string, limit int) ([]T, error)
	message     func(item T) (*Message, error)
	markSent    func(ctx context.Context, item T) error
	markFailed  func(ctx context.Context, item T, backoff time.Duration, maxAttempts int) (gaveUp bool, err error)
	attempts    func(item T) int
	// logAttrs names an item in log lines; never its address.
	logAttrs func(item T) []any
}

// withDefaults fills the zero settings: a batch of 10 (and never more than can be sent within
// half the lease at the mailer's timeout each), a lease of 10 minutes (far longer than one send's
// timeout), a first backoff of 5 minutes, 5 attempts.
func (o outbox[T]) withDefaults() outbox[T] {
	if o.lease <= 0 {
		o.lease = 10 * time.Minute
	}
	if o.batch <= 0 {
		o.batch = 10
	}
	// A batch must be sent well within the lease, even if every send takes its full timeout, or
	// another sender would give up items that are still being sent.
	if t := o.mailer.cfg.Timeout; time.Duration(o.batch)*t > o.lease/2 {
		o.batch = max(1, int(o.lease/2/t))
	}
	if o.backoff <= 0 {
		o.backoff = 5 * time.Minute
	}
	if o.maxAttempts <= 0 {
		o.maxAttempts = 5
	}
	return o
}

// sendDue gives up stale claims, then sends every item due now, batch by batch. It stops early
// when ctx ends; items already claimed in that round are reported as failed (to be retried).
func (o outbox[T]) sendDue(ctx context.Context) (Result, error) {
	o = o.withDefaults()
	var res Result
	n, err := o.giveUpStale(ctx, o.lease)
	if err != nil {
		return res, err
	}
	if res.Stale = n; n > 0 {
		o.logger.Warn(o.noun+"s given up: their sender stopped between claim and report", "count", n)
	}
	for ctx.Err() == nil {
		claimed, err := o.claim(ctx, claimToken(), o.batch)
		if err != nil {
			return res, err
		}
		if len(claimed) == 0 {
			break
		}
		for i, item := range claimed {
			if err := o.sendOne(ctx, item, &res); err != nil {
				o.release(ctx, claimed[i+1:])
				return res, err
			}
		}
	}
	return res, nil
}

// release puts claimed items that were never sent back in the queue (after the usual backoff,
// never given up for it), so that a store error on one item does not leave the rest of its
// batch claimed until they are given up as stale.
func (o outbox[T]) release(ctx context.Context, items []T) {
	report := context.WithoutCancel(ctx)
	for _, item := range items {
		if _, err := o.markFailed(report, item, o.backoff, o.attempts(item)+1); err != nil {
			o.logger.Error(o.noun+" not released: it will be given up as stale", append(o.logAttrs(item), "err", err)...)
		}
	}
}

// sendOne sends one claimed item and reports the outcome to the store. The store calls use a
// context that outlives ctx's cancellation, so a shutdown mid-send still records what happened.
func (o outbox[T]) sendOne(ctx context.Context, item T, res *Result) error {
	report := context.WithoutCancel(ctx)
	var sendErr error
	if ctx.Err() != nil {
		sendErr = ctx.Err()
	} else if msg, err := o.message(item); err != nil {
		sendErr = err
	} else {
		sendErr = o.mailer.Send(ctx, msg)
	}
	if sendErr == nil {
		res.Sent++
		return o.markSent(report, item)
	}
	maxAttempts := o.maxAttempts
	if errors.Is(sendErr, ErrMaybeSent) {
		maxAttempts = 0 // at most once: an item that may have reached the reader is given up, never resent
	}
	gaveUp, err := o.markFailed(report, item, o.backoff, maxAttempts)
	if err != nil {
		return err
	}
	o.logger.Warn(o.noun+" not sent", append(o.logAttrs(item),
		"attempt", o.attempts(item), "gave_up", gaveUp, "err", SafeError(sendErr))...)
	if gaveUp {
		res.GivenUp++
	} else {
		res.Retried++
	}
	return nil
}

// every runs round at once and then every interval until ctx ends; a round under way finishes
// first, so a shutdown never leaves a claim behind.
func every(ctx context.Context, interval time.Duration, round func()) {
	loop.Every[struct{}](ctx, 0, interval, nil, func(bool) { round() })
}

func claimToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "cl_" + hex.EncodeToString(b)
}
