package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/pledge-news/pledge/internal/billing"
)

// reconcileSince is how far back reconcile looks by default: Stripe retries a delivery for up to
// three days, so anything older was either delivered or is for reconcile to find.
const reconcileSince = 72 * time.Hour

// runReconcile lists Stripe's events since --since and applies the ones not yet recorded.
func runReconcile(ctx context.Context, env *Env, args []string) error {
	since := reconcileSince
	cfg, _, err := loadConfig(env, "reconcile", args, func(fs *flag.FlagSet) {
		fs.DurationVar(&since, "since", since, "how far back to list events (Stripe keeps 30 days)")
	})
	if err != nil {
		return err
	}
	if since <= 0 {
		return fmt.Errorf("--since must be a positive duration such as 72h")
	}
	m := &Main{Config: cfg, env: env}
	if err := m.openStore(ctx); err != nil {
		return err
	}
	defer m.Close()
	sum, err := m.reconcile(ctx, since, func(s billing.ReconcileSummary) {
		fmt.Fprintf(env.Stdout, "reconcile: %d events seen, %d new so far\n", s.Seen, s.New)
	})
	fmt.Fprintln(env.Stdout, sum)
	fmt.Fprintln(env.Stdout, sum.SettlementLine())
	if err != nil {
		return err
	}
	if sum.Failed > 0 {
		return fmt.Errorf("%d events failed; run reconcile again later", sum.Failed)
	}
	return nil
}
