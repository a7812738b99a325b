package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// UnsettledDonations lists up to limit donations whose balance transaction is not known yet,
// oldest first (the donations_unsettled index holds only those).
func (db *DB) UnsettledDonations(ctx context.Context, limit int) (_ []pledge.SettlementTarget, err error) {
	defer wrapErr(&err, "unsettled donations")
	return db.UnsettledSince(ctx, time.Time{}, limit)
}

// UnsettledSince lists up to limit donations paid at or after since without a known balance
// transaction, oldest first.
func (db *DB) UnsettledSince(ctx context.Context, since time.Time, limit int) (_ []pledge.SettlementTarget, err error) {
	defer wrapErr(&err, "unsettled since")
	from := int64(0)
	if !since.IsZero() {
		from = since.Unix()
	}
	return queryAll(ctx, db.read, `
		SELECT id, coalesce(stripe_payment_intent_id, ''), coalesce(stripe_charge_id, '')
		FROM donations INDEXED BY donations_unsettled WHERE settle_txn = '' AND paid_at >= ?
		ORDER BY paid_at, id LIMIT ?`, []any{from, limit}, func(rows *sql.Rows) (pledge.SettlementTarget, error) {
		var t pledge.SettlementTarget
		if err := rows.Scan(&t.DonationID, &t.PaymentIntent, &t.Charge); err != nil {
			return t, err
		}
		return t, nil
	})
}

// RecordSettlement stores a donation's balance transaction (and its charge, when the donation
// did not know it) and moves the rollups. A donation that already has one keeps it: a charge
// has one balance transaction.
func (db *DB) RecordSettlement(ctx context.Context, donationID int64, charge string, s pledge.Settlement) (err error) {
	defer wrapErr(&err, "record settlement")
	if !s.Known() {
		return pledge.Errorf(pledge.EINVALID, "A balance transaction id is required.")
	}
	// Settlements arrive in bursts (the background settler fetches many at once): they share
	// durable commits, as webhook events do.
	wctx := context.WithoutCancel(ctx)
	return db.WriteGrouped(ctx, func(tx *Tx) error { return recordSettlement(wctx, tx, donationID, charge, s) })
}

func recordSettlement(ctx context.Context, tx *Tx, donationID int64, charge string, s pledge.Settlement) error {
	before, err := loadDonationRow(ctx, tx, donationID)
	if err != nil {
		return err
	}
	if before == nil {
		return pledge.Errorf(pledge.ENOTFOUND, "Donation %d not found.", donationID)
	}
	if before.settle.Known() {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE donations SET settle_txn = ?1, settle_currency = ?2, settle_amount = ?3, settle_fee = ?4, settle_net = ?5,
		       stripe_charge_id = coalesce(stripe_charge_id,
		           (SELECT nullif(?6, '') WHERE NOT EXISTS (SELECT 1 FROM donations WHERE stripe_charge_id = ?6))),
		       updated_at = ?7
		WHERE id = ?8`, s.BalanceTransaction, s.Currency, s.Amount, s.Fee, s.Net, charge, tx.now.Unix(), donationID); err != nil {
		return err
	}
	after, err := loadDonationRow(ctx, tx, donationID)
	if err != nil {
		return err
	}
	return changeDonation(ctx, tx, before, after, false)
}
