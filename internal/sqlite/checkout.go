package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// CreateCheckout stores c under its ID (a new one when it has none): open when it has its Stripe
// session, else pending. A second call with the same nonce returns the checkout stored first, so
// that a double-clicked form makes one checkout and one Stripe session.
func (db *DB) CreateCheckout(ctx context.Context, c *pledge.Checkout) (_ *pledge.Checkout, err error) {
	defer wrapErr(&err, "create checkout")
	// A checkout with its Stripe session need not wait for the disk: were it lost with the
	// machine's power, the session's metadata rebuilds it when Stripe reports the payment, so the
	// reader leaves for the payment page without a durable commit. A pending one has no session.
	begin := db.BeginTx
	if c.StripeSessionID != "" {
		begin = db.beginUndurable
	}
	tx, err := begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	out := *c
	if out.ID == "" {
		out.ID = NewID("co")
	}
	out.Status = pledge.CheckoutPending
	var session any // NULL until Stripe made one
	if out.StripeSessionID != "" {
		out.Status, session = pledge.CheckoutOpen, out.StripeSessionID
	}
	out.CreatedAt, out.UpdatedAt = tx.now, tx.now
	// No conflict target: the same nonce, and so the same ID when the ID comes from it, is the
	// same checkout stored first.
	res, err := tx.ExecContext(ctx, `
		INSERT INTO checkouts (id, nonce, frequency, amount, currency, cover_fees, article, campaign,
		                       source, reader_id, lang, status, stripe_session_id, stripe_url,
		                       created_at, updated_at, experiment, variant)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
		out.ID, out.Nonce, out.Frequency, out.Amount.Amount, out.Amount.Currency, out.CoverFees,
		out.Article, out.Campaign, out.Source, out.ReaderID, out.Lang, out.Status, session, out.StripeURL,
		tx.now.Unix(), tx.now.Unix(), out.Arm.Experiment, out.Arm.Variant)
	if err != nil {
		return nil, translate(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		existing, err := findCheckout(ctx, tx, `nonce = ?`, c.Nonce)
		if err != nil {
			return nil, err
		}
		return existing, tx.Commit()
	}
	return &out, tx.Commit()
}

// FindCheckout returns one checkout by its ID.
func (db *DB) FindCheckout(ctx context.Context, id string) (_ *pledge.Checkout, err error) {
	defer wrapErr(&err, "find checkout")
	return findCheckout(ctx, db.read, `id = ?`, id)
}

// FindCheckoutByNonce returns the checkout stored for a form's choice.
func (db *DB) FindCheckoutByNonce(ctx context.Context, nonce string) (_ *pledge.Checkout, err error) {
	defer wrapErr(&err, "find checkout by nonce")
	return findCheckout(ctx, db.read, `nonce = ?`, nonce)
}

// OpenCheckout records the Stripe session created for checkout id.
func (db *DB) OpenCheckout(ctx context.Context, id, sessionID, url string) (err error) {
	defer wrapErr(&err, "open checkout")
	return db.inTx(ctx, func(tx *Tx) error {
		n, err := execCount(ctx, tx, `
			UPDATE checkouts SET stripe_session_id = ?, stripe_url = ?, updated_at = ?,
			       status = CASE status WHEN 'pending' THEN 'open' ELSE status END
			WHERE id = ?`, sessionID, url, tx.now.Unix(), id)
		if err != nil {
			return translate(err)
		}
		if n == 0 {
			return pledge.Errorf(pledge.ENOTFOUND, "No such checkout.")
		}
		return nil
	})
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// rowsQueryer is a queryer that also runs queries of many rows: a *Tx or the reader pool.
type rowsQueryer interface {
	queryer
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func findCheckout(ctx context.Context, q queryer, where string, args ...any) (*pledge.Checkout, error) {
	return scanCheckout(q.QueryRowContext(ctx, `SELECT `+checkoutColumns+` FROM checkouts WHERE `+where, args...))
}

// checkoutColumns are the columns scanCheckout reads.
const checkoutColumns = `id, nonce, frequency, amount, currency, cover_fees, article, campaign, source,
	reader_id, lang, status, stripe_session_id, stripe_url, created_at, updated_at, experiment, variant`

// scanCheckout reads a row of checkoutColumns.
func scanCheckout(row *sql.Row) (*pledge.Checkout, error) {
	var c pledge.Checkout
	var session sql.NullString
	var created, updated int64
	err := row.Scan(&c.ID, &c.Nonce, &c.Frequency, &c.Amount.Amount, &c.Amount.Currency, &c.CoverFees,
		&c.Article, &c.Campaign, &c.Source, &c.ReaderID, &c.Lang, &c.Status, &session, &c.StripeURL,
		&created, &updated, &c.Arm.Experiment, &c.Arm.Variant)
	if err != nil {
		return nil, translate(err)
	}
	c.StripeSessionID = session.String
	c.CreatedAt, c.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	return &c, nil
}

// FindCheckoutBySession returns the checkout whose Stripe session is sessionID.
func (db *DB) FindCheckoutBySession(ctx context.Context, sessionID string) (_ *pledge.Checkout, err error) {
	defer wrapErr(&err, "find checkout by session")
	return findCheckout(ctx, db.read, `stripe_session_id = ?`, sessionID)
}
