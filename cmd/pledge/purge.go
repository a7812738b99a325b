package main

import (
	"context"
	"fmt"
	"time"

	"github.com/pledge-news/pledge/internal/sqlite"
)

// purgeOnce forgets what is older than the retention period and logs what went.
func purgeOnce(ctx context.Context, db *sqlite.DB, retention time.Duration) (sqlite.PurgeCounts, error) {
	return db.Purge(ctx, db.Now().Add(-retention))
}

// startPurge runs the purge a minute after start and then every day, while ctx lasts; the
// returned channel closes when it has stopped. With no retention it does nothing.
func (m *Main) startPurge(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if m.Config.retention <= 0 {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		wait := time.Minute
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = 24 * time.Hour
			n, err := purgeOnce(ctx, m.DB, m.Config.retention)
			if err != nil {
				m.env.Logger.Error("purge failed", "err", err)
				continue
			}
			m.env.Logger.Info("purged", "checkouts", n.Checkouts, "reader_ids", n.ReaderIDs, "deferrals", n.Deferrals,
				"events", n.Events, "audit_details", n.AuditDetail, "logins", n.Logins)
		}
	}()
	return done
}

// runPurge is `pledge purge [--older-than 400d]`: forget now what is older than PLEDGE_RETENTION
// (or --older-than), keeping what the accounts need.
func runPurge(ctx context.Context, env *Env, args []string) error {
	cfg, fs := storeFlags(env, "purge")
	older := fs.String("older-than", "", "purge what is older than this (e.g. 400d; default PLEDGE_RETENTION, or 400d)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	spec := *older
	if spec == "" {
		spec = cfg.Retention
	}
	retention := DefaultRetention
	if spec != "" {
		var err error
		if retention, err = parseRetention(spec); err != nil {
			return &ConfigError{"PLEDGE_RETENTION", err.Error()}
		}
		if retention == 0 {
			return &ConfigError{"PLEDGE_RETENTION", "is off: give --older-than to purge anyway"}
		}
	}
	db, err := cfg.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := purgeOnce(ctx, db, retention)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "purge: older than %s: %d abandoned checkouts, %d reader ids, %d reminder requests, %d Stripe events, %d audit details, %d sign-in records\n",
		db.Now().Add(-retention).UTC().Format("2006-01-02"), n.Checkouts, n.ReaderIDs, n.Deferrals, n.Events, n.AuditDetail, n.Logins)
	return nil
}
