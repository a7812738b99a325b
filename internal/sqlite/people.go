package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pledge-news/pledge/internal/pledge"
)

// A supporter is a person: every gift from one address (in any case) belongs to one supporter,
// whatever Stripe customer it came through (Checkout makes a new customer for each one-off gift).
// customers records what Stripe said of each customer (the newest address and name by event
// time, so arrival order never matters) and which supporter it belongs to; a supporter's address
// and name are the newest of its customers'.

// linkCustomer records what an event says of a customer and returns the supporter it belongs to:
// the supporter of its address, created when create is set (the event is a gift) and moved to
// when the address changed. It returns nil for a customer that belongs to no supporter yet
// (subscription events name only the customer).
func linkCustomer(ctx context.Context, tx *Tx, c pledge.Customer, at int64, create bool) (any, error) {
	if c.StripeID == "" {
		if c.Email == "" || !create {
			return nil, nil
		}
		id, _, err := supporterOfKey(ctx, tx, tx.db.addressKey(c.Email), tx.db.seal(c.Email), tx.db.seal(c.Name), "", at)
		return id, err
	}
	// The address and name are stored sealed (with a data key). Sealing is deterministic, so the
	// tie-breaks below compare one value's one stored form whatever the order of events.
	email := sql.NullString{String: tx.db.seal(c.Email), Valid: c.Email != ""}
	emailAt, nameAt := int64(0), int64(0)
	if email.Valid {
		emailAt = at
	}
	if c.Name != "" {
		nameAt = at
	}
	var current sql.NullInt64
	var stored sql.NullString
	var storedName string
	var erased sql.NullInt64
	err := tx.QueryRowContext(ctx, `
		INSERT INTO customers (stripe_customer_id, email, email_at, name, name_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (stripe_customer_id) DO UPDATE SET
			email = CASE WHEN customers.erased_at IS NULL AND excluded.email IS NOT NULL AND
			                  (excluded.email_at > customers.email_at OR
			                   excluded.email_at = customers.email_at AND excluded.email > coalesce(customers.email, ''))
			        THEN excluded.email ELSE customers.email END,
			email_at = CASE WHEN customers.erased_at IS NULL AND excluded.email IS NOT NULL AND
			                  (excluded.email_at > customers.email_at OR
			                   excluded.email_at = customers.email_at AND excluded.email > coalesce(customers.email, ''))
			        THEN excluded.email_at ELSE customers.email_at END,
			name = CASE WHEN customers.erased_at IS NULL AND excluded.name <> '' AND
			                 (excluded.name_at > customers.name_at OR
			                  excluded.name_at = customers.name_at AND excluded.name > customers.name)
			       THEN excluded.name ELSE customers.name END,
			name_at = CASE WHEN customers.erased_at IS NULL AND excluded.name <> '' AND
			                 (excluded.name_at > customers.name_at OR
			                  excluded.name_at = customers.name_at AND excluded.name > customers.name)
			       THEN excluded.name_at ELSE customers.name_at END
		RETURNING supporter_id, email, name, erased_at`,
		c.StripeID, email, emailAt, tx.db.seal(c.Name), nameAt).Scan(&current, &stored, &storedName, &erased)
	if err != nil {
		return nil, fmt.Errorf("record customer: %w", err)
	}
	if erased.Valid {
		// An erased customer stays with its (erased) supporter and gets no address back.
		if current.Valid {
			return current.Int64, nil
		}
		return nil, nil
	}
	key := "customer:" + c.StripeID // a customer Stripe knows no address for is a person of its own
	if stored.Valid {
		address, err := tx.db.open(stored.String)
		if err != nil {
			return nil, err
		}
		key = tx.db.addressKey(address)
	}
	if current.Valid {
		var currentKey string
		if err := tx.QueryRowContext(ctx, `SELECT email_key FROM supporters WHERE id = ?`, current.Int64).Scan(&currentKey); err != nil {
			return nil, err
		}
		if currentKey == key { // the usual case: a renewal, or the same customer again
			return current.Int64, refreshSupporter(ctx, tx, current.Int64)
		}
	} else if !create {
		return nil, nil
	} else {
		// A customer new to Pledge: it joins the supporter of its address, made with this
		// customer's address and name if there is none, and takes along the subscriptions its
		// events recorded before its first gift.
		target, made, err := supporterOfKey(ctx, tx, key, stored.String, storedName, c.StripeID, at)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE customers SET supporter_id = ? WHERE stripe_customer_id = ?`, target, c.StripeID); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE subscriptions SET supporter_id = ? WHERE stripe_customer_id = ?`, target, c.StripeID); err != nil {
			return nil, err
		}
		if made {
			return target, nil
		}
		return target, refreshSupporter(ctx, tx, target)
	}
	t, _, err := supporterOfKey(ctx, tx, key, stored.String, "", "", at)
	if err != nil {
		return nil, err
	}
	// The customer's address changed: it joins the supporter of its new address, and its gifts
	// and subscriptions go with it.
	for _, q := range []string{
		`UPDATE customers SET supporter_id = ?1 WHERE stripe_customer_id = ?2`,
		`UPDATE donations SET supporter_id = ?1 WHERE stripe_customer_id = ?2`,
		`UPDATE subscriptions SET supporter_id = ?1 WHERE stripe_customer_id = ?2`,
	} {
		if _, err := tx.ExecContext(ctx, q, t, c.StripeID); err != nil {
			return nil, err
		}
	}
	if err := settleSupporter(ctx, tx, current.Int64); err != nil {
		return nil, err
	}
	return t, settleSupporter(ctx, tx, t)
}

// supporterOfKey returns the (not erased) supporter of an address key, creating it (made) when
// there is none with the address, name and Stripe customer as stored ("" for none; the address
// and name sealed with a data key).
func supporterOfKey(ctx context.Context, tx *Tx, key, email, name, customer string, at int64) (id int64, made bool, err error) {
	err = tx.QueryRowContext(ctx, `SELECT id FROM supporters WHERE email_key = ? AND erased_at IS NULL`, key).Scan(&id)
	if err == nil {
		return id, false, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, err
	}
	e := sql.NullString{String: email, Valid: email != ""}
	cus := sql.NullString{String: customer, Valid: customer != ""}
	err = tx.QueryRowContext(ctx, `
		INSERT INTO supporters (stripe_customer_id, email, email_key, name, email_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, cus, e, key, name, at, at, tx.now.Unix()).Scan(&id)
	return id, true, err
}

// settleSupporter brings a supporter up to date after its customers or gifts changed: its first
// gift, and its address, name and customer from its customers; one left with nothing (all its
// customers moved to another supporter) is deleted.
func settleSupporter(ctx context.Context, tx *Tx, id int64) error {
	var left bool
	if err := tx.QueryRowContext(ctx, `
		SELECT erased_at IS NOT NULL
		    OR EXISTS (SELECT 1 FROM customers WHERE supporter_id = ?1)
		    OR EXISTS (SELECT 1 FROM donations WHERE supporter_id = ?1)
		    OR EXISTS (SELECT 1 FROM subscriptions WHERE supporter_id = ?1)
		FROM supporters WHERE id = ?1`, id).Scan(&left); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	}
	if !left {
		if err := refreshSupporterFigures(ctx, tx, id, figures{first: true}); err != nil { // takes its new-supporter mark away
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM supporter_totals WHERE supporter_id = ?`, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM supporters WHERE id = ?`, id)
		return err
	}
	if err := refreshSupporterFigures(ctx, tx, id, figures{totals: true, first: true}); err != nil {
		return err
	}
	return refreshSupporter(ctx, tx, id)
}

// refreshSupporter sets a supporter's address and name to the newest of its customers' (ties
// broken by value, so the result never depends on arrival order), its Stripe customer to the
// smallest id among them, and its start to its first gift.
func refreshSupporter(ctx context.Context, tx *Tx, id int64) error {
	return refreshSupporters(ctx, tx, `id = ?`, id)
}

// refreshSupporters is refreshSupporter for every supporter where holds.
func refreshSupporters(ctx context.Context, tx *Tx, where string, args ...any) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE supporters SET
			email = CASE WHEN erased_at IS NOT NULL THEN NULL ELSE coalesce(
				(SELECT c.email FROM customers c WHERE c.supporter_id = supporters.id AND c.email IS NOT NULL
				 ORDER BY c.email_at DESC, c.email DESC LIMIT 1), email) END,
			email_at = coalesce((SELECT max(c.email_at) FROM customers c WHERE c.supporter_id = supporters.id AND c.email IS NOT NULL), email_at),
			name = CASE WHEN erased_at IS NOT NULL THEN '' ELSE coalesce(
				(SELECT c.name FROM customers c WHERE c.supporter_id = supporters.id AND c.name <> ''
				 ORDER BY c.name_at DESC, c.name DESC LIMIT 1), name) END,
			stripe_customer_id = (SELECT min(c.stripe_customer_id) FROM customers c WHERE c.supporter_id = supporters.id),
			created_at = coalesce(first_paid_at, created_at),
			updated_at = ?
		WHERE `+where, append([]any{tx.now.Unix()}, args...)...)
	return err
}

// mergePeople groups supporters by address after an upgrade: every supporter gets its address
// key, and supporters sharing one are merged into the oldest (their customers, gifts and
// subscriptions move to it).
func mergePeople(ctx context.Context, tx *Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, coalesce(email, ''), stripe_customer_id, email_key FROM supporters
		WHERE erased_at IS NULL ORDER BY id`)
	if err != nil {
		return err
	}
	type row struct {
		id       int64
		key      string
		stored   string // the key the row has now
		customer sql.NullString
	}
	var all []row
	for rows.Next() {
		var r row
		var email string
		if err := rows.Scan(&r.id, &email, &r.customer, &r.stored); err != nil {
			rows.Close()
			return err
		}
		address, err := tx.db.open(email)
		if err != nil {
			rows.Close()
			return err
		}
		r.key = tx.db.addressKey(address)
		if r.key == "" {
			r.key = "supporter:" + fmt.Sprint(r.id)
			if r.customer.Valid {
				r.key = "customer:" + r.customer.String
			}
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	keep := map[string]int64{}
	for _, r := range all {
		k, dup := keep[r.key]
		if !dup {
			keep[r.key] = r.id
			if r.key == r.stored {
				continue // usually so (the webhook and seed store it): no write, no new row version
			}
			if _, err := tx.ExecContext(ctx, `UPDATE supporters SET email_key = ? WHERE id = ?`, r.key, r.id); err != nil {
				return err
			}
			continue
		}
		for _, q := range []string{
			`UPDATE customers SET supporter_id = ?1 WHERE supporter_id = ?2`,
			`UPDATE donations SET supporter_id = ?1 WHERE supporter_id = ?2`,
			`UPDATE subscriptions SET supporter_id = ?1 WHERE supporter_id = ?2`,
			`DELETE FROM supporters WHERE id = ?2`,
		} {
			if _, err := tx.ExecContext(ctx, q, k, r.id); err != nil {
				return err
			}
		}
	}
	return nil
}
