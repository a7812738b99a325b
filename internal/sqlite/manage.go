package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// FindSupportAccount returns the most recently updated supporter with a Stripe customer and this
// address (compared without regard to case, by its address key), with their newest active
// subscription.
func (db *DB) FindSupportAccount(ctx context.Context, email string) (_ *pledge.SupportAccount, err error) {
	defer wrapErr(&err, "find support account")
	if normalise(email) == "" {
		return nil, pledge.Errorf(pledge.ENOTFOUND, "Not found.")
	}
	where, args := db.addressMatch("supporters", "s", email)
	return db.findSupportAccount(ctx, db.read, where, args...)
}

// FindSupportAccountByID returns a supporter with a Stripe customer by id.
func (db *DB) FindSupportAccountByID(ctx context.Context, supporterID int64) (_ *pledge.SupportAccount, err error) {
	defer wrapErr(&err, "find support account by id")
	return db.findSupportAccount(ctx, db.read, `s.id = ?`, supporterID)
}

// supportAccountSQL is findSupportAccount's query: the newest supporter with a Stripe customer
// that where selects, with their newest active subscription.
func supportAccountSQL(where string) string {
	return `
		SELECT s.id, s.email, s.stripe_customer_id,
		       (SELECT b.stripe_subscription_id FROM subscriptions b
		        WHERE b.supporter_id = s.id AND b.status IN ('active', 'trialing', 'past_due')
		        ORDER BY b.created_at DESC, b.id DESC LIMIT 1)
		FROM supporters s
		WHERE ` + where + ` AND s.stripe_customer_id IS NOT NULL AND s.erased_at IS NULL
		ORDER BY s.updated_at DESC, s.id DESC LIMIT 1`
}

func (db *DB) findSupportAccount(ctx context.Context, q queryer, where string, args ...any) (*pledge.SupportAccount, error) {
	var a pledge.SupportAccount
	var sub sql.NullString
	err := q.QueryRowContext(ctx, supportAccountSQL(where), args...).Scan(&a.SupporterID, &a.Email, &a.CustomerID, &sub)
	if err != nil {
		return nil, translate(err)
	}
	a.SubscriptionID = sub.String
	if err := db.openAll(&a.Email); err != nil {
		return nil, err
	}
	return &a, nil
}

// ManageTokenUsed reports whether a single-use link has been spent. It is a courtesy check (a used
// link is told so before Stripe is asked); UseManageToken is what guarantees the single use.
func (db *DB) ManageTokenUsed(ctx context.Context, tokenID string) (_ bool, err error) {
	defer wrapErr(&err, "manage token used")
	var n int
	err = db.read.QueryRowContext(ctx, `SELECT count(*) FROM manage_tokens_used WHERE id = ?`, tokenID).Scan(&n)
	return n > 0, err
}

// UseManageToken spends a single-use link: the first call for tokenID succeeds, every later one
// is an ECONFLICT error. Rows of links that have expired anyway are pruned on the way.
func (db *DB) UseManageToken(ctx context.Context, tokenID string, expires time.Time) (err error) {
	defer wrapErr(&err, "use manage token")
	return db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM manage_tokens_used WHERE expires_at < ?`, tx.now.Unix()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO manage_tokens_used (id, used_at, expires_at) VALUES (?, ?, ?)`,
			tokenID, tx.now.Unix(), expires.Unix()); err != nil {
			if pledge.ErrorCode(translate(err)) == pledge.ECONFLICT {
				return pledge.Errorf(pledge.ECONFLICT, "This link has already been used.")
			}
			return err
		}
		return nil
	})
}
