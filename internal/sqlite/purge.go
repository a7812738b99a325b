package sqlite

import (
	"context"
	"time"
)

// PurgeCounts says what one purge removed.
type PurgeCounts struct {
	Checkouts   int64 // abandoned checkouts (never paid) deleted
	ReaderIDs   int64 // checkouts whose anonymous reader id was cleared
	Deferrals   int64 // "remind me later" requests deleted (none still waiting to be sent)
	Events      int64 // recorded Stripe events deleted
	AuditDetail int64 // audit entries whose free-text detail was cleared (who, when, what stay)
	Logins      int64 // failed sign-ins and ended staff sessions deleted
}

// Purge forgets what is older than before and that the accounts do not need (PLEDGE_RETENTION):
// checkouts that never became a gift, the anonymous reader id on every checkout, "remind me
// later" requests that are done with, recorded Stripe events (their effects stay in the ledger),
// the detail of audit entries, failed sign-ins and ended staff sessions. Donations, subscriptions,
// supporters, their rollups and the funnel's daily counts (checkouts_daily, prompt_stats) are
// kept, so every figure stays the same. It runs in one transaction; the write-ahead log is then
// checkpointed and truncated, so nothing purged stays in the files.
func (db *DB) Purge(ctx context.Context, before time.Time) (_ PurgeCounts, err error) {
	defer wrapErr(&err, "purge")
	var n PurgeCounts
	tx, err := db.BeginTx(ctx)
	if err != nil {
		return n, err
	}
	defer tx.Rollback()
	cut := before.Unix()
	steps := []struct {
		count *int64
		q     string
	}{
		// A checkout a donation or subscription came from is part of the accounts.
		{&n.Checkouts, `DELETE FROM checkouts WHERE created_at < ?1 AND status <> 'paid'
			AND NOT EXISTS (SELECT 1 FROM donations d WHERE d.checkout_id = checkouts.id)
			AND NOT EXISTS (SELECT 1 FROM subscriptions b WHERE b.checkout_id = checkouts.id)`},
		{&n.ReaderIDs, `UPDATE checkouts SET reader_id = '' WHERE created_at < ?1 AND reader_id <> ''`},
		{&n.Deferrals, `DELETE FROM deferrals WHERE updated_at < ?1 AND remind_at < ?1
			AND reminder_status NOT IN ('pending', 'claimed')`},
		{&n.Events, `DELETE FROM stripe_events WHERE received_at < ?1 AND created < ?1`},
		{&n.AuditDetail, `UPDATE audit_log SET detail = '' WHERE at < ?1 AND detail <> ''`},
		{&n.Logins, `DELETE FROM login_attempts WHERE at < ?1`},
	}
	for _, s := range steps {
		res, err := tx.ExecContext(ctx, s.q, cut)
		if err != nil {
			return n, err
		}
		*s.count, _ = res.RowsAffected()
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE expires < ?`, tx.now.Unix())
	if err != nil {
		return n, err
	}
	ended, _ := res.RowsAffected()
	n.Logins += ended
	if err := tx.Commit(); err != nil {
		return n, err
	}
	if err := db.forgetWAL(ctx); err != nil {
		db.forgetSoon()
	}
	return n, nil
}
