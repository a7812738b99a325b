// Package loop runs the service's background rounds (sending e-mails, settling gifts,
// reconciling with Stripe, reading staff's decisions on experiments) until their context ends.
package loop

import (
	"context"
	"time"
)

// Every calls round(false) once first has passed, and again interval after each such round ends;
// and round(true) at once whenever kick receives (a nil kick never does), which leaves that
// schedule as it was. It returns when ctx ends, only ever between rounds, so that a round under
// way (a claimed e-mail, a settlement) always finishes.
func Every[K any](ctx context.Context, first, interval time.Duration, kick <-chan K, round func(kicked bool)) {
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
			round(true)
		case <-t.C:
			round(false)
			t.Reset(interval)
		}
	}
}
