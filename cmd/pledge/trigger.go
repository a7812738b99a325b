package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"time"

	"github.com/pledge-news/pledge/internal/billing"
)

// runTrigger posts one realistic, correctly signed event to a webhook URL, for local work and
// demos. With --checkout the event is about that stored checkout (metadata, amount, frequency).
func runTrigger(ctx context.Context, env *Env, args []string) error {
	typ, args := leadingArg(args)
	var target, checkoutID, email string
	cfg, fs, err := loadConfig(env, "trigger", args, func(fs *flag.FlagSet) {
		fs.StringVar(&target, "url", "", "webhook URL (default: PLEDGE_BASE_URL/webhooks/stripe)")
		fs.StringVar(&checkoutID, "checkout", "", "id of a stored checkout the event is about")
		fs.StringVar(&email, "email", "", "the supporter's e-mail address in the event")
	})
	if err != nil {
		return err
	}
	if typ == "" {
		typ = fs.Arg(0)
	}
	if typ == "" {
		fmt.Fprintf(env.Stderr, "usage: pledge trigger EVENT_TYPE [--url URL] [--checkout ID]\nTypes: %v\n", billing.HandledTypes)
		return errUsage
	}
	if billing.IsLiveKey(cfg.StripeSecretKey) {
		// The events it builds are test-mode fakes; a live deployment ignores them anyway.
		return &ConfigError{"STRIPE_SECRET_KEY", "trigger posts made-up test events: refusing to run with a live key (sk_live_/rk_live_)"}
	}
	if len(cfg.webhookSecrets) == 0 {
		return &ConfigError{"STRIPE_WEBHOOK_SECRET", "required: trigger signs with the first secret"}
	}
	if target == "" {
		target = cfg.baseURL.String() + "/webhooks/stripe"
	}
	p := billing.EventParams{Email: email, Site: cfg.SiteID} // as this deployment marks its objects
	if checkoutID != "" {
		db, err := cfg.openDB(ctx)
		if err != nil {
			return err
		}
		p.Checkout, err = db.FindCheckout(ctx, checkoutID)
		db.Close()
		if err != nil {
			return fmt.Errorf("checkout %s: %w", checkoutID, err)
		}
		p.SessionID = p.Checkout.StripeSessionID
	}
	payload, err := billing.BuildEvent(typ, p)
	if err != nil {
		return err
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	if err := billing.PostEvent(ctx, hc, target, cfg.webhookSecrets[0], payload); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "posted %s to %s\n", typ, target)
	return nil
}
