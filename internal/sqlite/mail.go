package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// Supporter e-mails (issue 14) go through an outbox, supporter_mail (migration 0011). A ledger
// fact that calls for an e-mail enqueues a row in the same transaction as the fact, keyed so that
// a fact can make at most one row whatever order or how often events arrive (thanks:SUPPORTER,
// recovery:INVOICE, renewal:SUBSCRIPTION:DAY, statement:SUPPORTER:YEAR). Whether the e-mail is
// still wanted is decided again from the stored state when a sender claims it: a paid invoice
// cancels its recovery e-mail, an erased supporter gets nothing, an unsubscribed kind is skipped.

const (
	// thanksWindow: a thank-you is enqueued only for a first gift paid this recently, so that
	// reconciling old events, or a supporter who gave before thank-you e-mails existed, never
	// thanks anyone months late.
	thanksWindow = 30 * 24 * time.Hour
	// renewalSlack: two notices for one subscription whose dates are closer than this are one
	// renewal seen twice (invoice.upcoming's charge time and the sweep's period end differ by
	// Stripe's hour of draft time).
	renewalSlack = 7 * 24 * time.Hour
)

// enqueueMail enqueues the e-mails an applied event calls for, in the event's transaction.
func enqueueMail(ctx context.Context, tx *Tx, e *pledge.LedgerEvent) error {
	switch f := e.Fact.(type) {
	case *pledge.CheckoutCompleted:
		if !f.Paid {
			return nil
		}
		if f.PaymentIntent != "" {
			return enqueueThanks(ctx, tx, "stripe_payment_intent_id", f.PaymentIntent)
		}
		if f.Invoice != "" {
			return enqueueThanks(ctx, tx, "stripe_invoice_id", f.Invoice)
		}
	case *pledge.InvoicePaid:
		// A paid invoice needs no recovery e-mail: one not sent yet is cancelled.
		if _, err := tx.ExecContext(ctx, `
			UPDATE supporter_mail SET status = 'cancelled', reason = 'invoice paid', next_attempt_at = NULL, updated_at = ?
			WHERE key = ? AND status = 'pending'`, tx.now.Unix(), "recovery:"+f.InvoiceID); err != nil {
			return err
		}
		return enqueueThanks(ctx, tx, "stripe_invoice_id", f.InvoiceID)
	case *pledge.InvoiceFailed:
		if f.ActionRequired || !f.Renewal {
			return nil // Stripe e-mails for 3-D Secure itself; a first payment that fails made no supporter
		}
		return enqueueRecovery(ctx, tx, f)
	case *pledge.InvoiceUpcoming:
		return enqueueRenewal(ctx, tx, f.Subscription, f.Customer, f.Interval, f.Amount, f.RenewsAt)
	}
	return nil
}

// enqueueThanks enqueues the thank-you of the supporter a donation belongs to, when their first
// gift is recent. The key is the supporter: one thank-you per person, whichever of their
// gifts' events comes first; the message shows the first gift as stored when it is sent.
func enqueueThanks(ctx context.Context, tx *Tx, column, value string) error {
	var supporter, first sql.NullInt64
	var lang string
	var erased bool
	err := tx.QueryRowContext(ctx, `
		SELECT d.supporter_id, coalesce(c.lang, ''), s.first_paid_at, s.erased_at IS NOT NULL
		FROM donations d LEFT JOIN checkouts c ON c.id = d.checkout_id LEFT JOIN supporters s ON s.id = d.supporter_id
		WHERE d.`+column+` = ?`, value).Scan(&supporter, &lang, &first, &erased)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !supporter.Valid {
		return nil
	} else if err != nil {
		return err
	}
	// A supporter row that is not there leaves first NULL: no thank-you, as for no first gift.
	if erased || !first.Valid || first.Int64 < tx.now.Add(-thanksWindow).Unix() {
		return nil
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO supporter_mail (kind, key, supporter_id, lang, next_attempt_at, created_at, updated_at)
		VALUES ('thanks', ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
		fmt.Sprintf("thanks:%d", supporter.Int64), supporter.Int64, lang, tx.now.Unix(), tx.now.Unix(), tx.now.Unix())
	return err
}

// enqueueRecovery enqueues the one recovery e-mail of a failed renewal invoice, unless it is paid.
func enqueueRecovery(ctx context.Context, tx *Tx, f *pledge.InvoiceFailed) error {
	var paid bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM donations WHERE stripe_invoice_id = ?)`,
		f.InvoiceID).Scan(&paid); err != nil || paid {
		return err
	}
	var supporter sql.NullInt64
	customer := f.Customer
	var subCustomer, lang string
	err := tx.QueryRowContext(ctx, `
		SELECT b.supporter_id, b.stripe_customer_id, coalesce(c.lang, '')
		FROM subscriptions b LEFT JOIN checkouts c ON c.id = b.checkout_id WHERE b.stripe_subscription_id = ?`,
		f.Subscription).Scan(&supporter, &subCustomer, &lang)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if customer == "" {
		customer = subCustomer
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO supporter_mail (kind, key, supporter_id, stripe_customer_id, ref, amount, currency, lang, next_attempt_at,
		                            created_at, updated_at)
		VALUES ('recovery', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
		"recovery:"+f.InvoiceID, supporter, customer, f.InvoiceID, f.Amount.Amount, f.Amount.Currency, lang,
		tx.now.Unix(), tx.now.Unix(), tx.now.Unix())
	return err
}

// enqueueRenewal enqueues the notice of an annual subscription's renewal at renews, unless one
// for the same renewal exists (a notice within renewalSlack of it: invoice.upcoming and the sweep
// date one renewal a little differently). SQLite serialises writers, so the check and the insert
// cannot interleave with another's.
func enqueueRenewal(ctx context.Context, tx *Tx, sub, customer, interval string, amount pledge.Money, renews time.Time) error {
	if sub == "" || renews.IsZero() || !renews.After(tx.now) {
		return nil
	}
	var freq pledge.Frequency
	var supporter sql.NullInt64
	var subCustomer, lang string
	err := tx.QueryRowContext(ctx, `
		SELECT b.frequency, b.supporter_id, b.stripe_customer_id, coalesce(c.lang, '')
		FROM subscriptions b LEFT JOIN checkouts c ON c.id = b.checkout_id WHERE b.stripe_subscription_id = ?`,
		sub).Scan(&freq, &supporter, &subCustomer, &lang)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if interval != "year" && freq != pledge.Annual {
		return nil // only annual supporters get a notice
	}
	if customer == "" {
		customer = subCustomer
	}
	var exists bool
	if err := tx.QueryRowContext(ctx, `
		SELECT EXISTS (SELECT 1 FROM supporter_mail WHERE ref = ? AND kind = 'renewal' AND due_at BETWEEN ? AND ?)`,
		sub, renews.Add(-renewalSlack).Unix(), renews.Add(renewalSlack).Unix()).Scan(&exists); err != nil || exists {
		return err
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO supporter_mail (kind, key, supporter_id, stripe_customer_id, ref, amount, currency, due_at, lang,
		                            next_attempt_at, created_at, updated_at)
		VALUES ('renewal', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
		"renewal:"+sub+":"+renews.UTC().Format(time.DateOnly), supporter, customer, sub, amount.Amount, amount.Currency,
		renews.Unix(), lang, tx.now.Unix(), tx.now.Unix(), tx.now.Unix())
	return err
}

// SweepRenewals enqueues notices for annual subscriptions renewing within notice, for when
// Stripe's invoice.upcoming is not configured (or was missed).
func (db *DB) SweepRenewals(ctx context.Context, notice time.Duration) (_ int, err error) {
	defer wrapErr(&err, "sweep renewals")
	return inTxValue(ctx, db, func(tx *Tx) (int, error) { return sweepRenewals(ctx, tx, notice) })
}

func sweepRenewals(ctx context.Context, tx *Tx, notice time.Duration) (int, error) {
	type renewal struct {
		sub, customer string
		amount        pledge.Money
		at            int64
	}
	due, err := queryAll(ctx, tx, `
		SELECT stripe_subscription_id, stripe_customer_id, amount, currency, current_period_end FROM subscriptions
		WHERE frequency = 'annual' AND status IN ('active', 'trialing') AND cancel_at_period_end = 0
		  AND ended_at IS NULL AND paused = 0 AND current_period_end > ? AND current_period_end <= ?`,
		[]any{tx.now.Unix(), tx.now.Add(notice).Unix()}, func(rows *sql.Rows) (renewal, error) {
			var r renewal
			err := rows.Scan(&r.sub, &r.customer, &r.amount.Amount, &r.amount.Currency, &r.at)
			return r, err
		})
	if err != nil {
		return 0, err
	}
	var before, after int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM supporter_mail WHERE kind = 'renewal'`).Scan(&before); err != nil {
		return 0, err
	}
	for _, r := range due {
		if err := enqueueRenewal(ctx, tx, r.sub, r.customer, "year", r.amount, e2t(r.at)); err != nil {
			return 0, err
		}
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM supporter_mail WHERE kind = 'renewal'`).Scan(&after); err != nil {
		return 0, err
	}
	return after - before, nil
}

// mailRow is a claimed supporter_mail row.
type mailRow struct {
	id            int64
	kind          pledge.MailKind
	supporter     sql.NullInt64
	customer, ref string
	amount        pledge.Money
	due           sql.NullInt64
	year          int
	lang          string
	attempts      int
}

// ClaimDueMail claims due e-mails for one sender in one write transaction (so two senders never
// claim the same row), and settles in it those no longer wanted.
func (db *DB) ClaimDueMail(ctx context.Context, token string, kinds []pledge.MailKind, limit int) (_ []*pledge.OutgoingMail, err error) {
	defer wrapErr(&err, "claim due mail")
	return inTxValue(ctx, db, func(tx *Tx) ([]*pledge.OutgoingMail, error) { return claimDueMail(ctx, tx, token, kinds, limit) })
}

func claimDueMail(ctx context.Context, tx *Tx, token string, kinds []pledge.MailKind, limit int) ([]*pledge.OutgoingMail, error) {
	kindSQL := ``
	args := []any{token, tx.now.Unix(), tx.now.Unix(), tx.now.Unix()}
	if len(kinds) > 0 {
		kindSQL = ` AND kind IN (?` + strings.Repeat(`, ?`, len(kinds)-1) + `)`
		for _, k := range kinds {
			args = append(args, k)
		}
	}
	args = append(args, limit)
	claimed, err := queryAll(ctx, tx, `
		UPDATE supporter_mail SET status = 'claimed', claim_token = ?, claimed_at = ?, attempts = attempts + 1, updated_at = ?
		WHERE id IN (SELECT id FROM supporter_mail WHERE status = 'pending' AND next_attempt_at <= ?`+kindSQL+`
		             ORDER BY next_attempt_at, id LIMIT ?)
		RETURNING id, kind, supporter_id, stripe_customer_id, ref, amount, currency, due_at, year, lang, attempts`, args,
		func(rows *sql.Rows) (mailRow, error) {
			var r mailRow
			err := rows.Scan(&r.id, &r.kind, &r.supporter, &r.customer, &r.ref, &r.amount.Amount, &r.amount.Currency,
				&r.due, &r.year, &r.lang, &r.attempts)
			return r, err
		})
	if err != nil {
		return nil, err
	}
	var out []*pledge.OutgoingMail
	for _, r := range claimed {
		m, status, reason, err := loadMail(ctx, tx, r)
		if err != nil {
			return nil, err
		}
		if status != "" {
			if _, err := tx.ExecContext(ctx, `
				UPDATE supporter_mail SET status = ?, reason = ?, claim_token = NULL, next_attempt_at = NULL, updated_at = ?
				WHERE id = ?`, status, reason, tx.now.Unix(), r.id); err != nil {
				return nil, err
			}
			continue
		}
		m.Token = token
		out = append(out, m)
	}
	return out, nil
}

// loadMail reads what a claimed e-mail shows, or says why it is no longer wanted (a status and
// a reason).
func loadMail(ctx context.Context, tx *Tx, r mailRow) (*pledge.OutgoingMail, string, string, error) {
	m := &pledge.OutgoingMail{ID: r.id, Kind: r.kind, Attempts: r.attempts, Lang: r.lang, Amount: r.amount}
	supporter := r.supporter
	if !supporter.Valid && r.customer != "" {
		err := tx.QueryRowContext(ctx, `SELECT supporter_id FROM customers WHERE stripe_customer_id = ?`, r.customer).Scan(&supporter)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, "", "", err
		}
	}
	if !supporter.Valid {
		return nil, pledge.MailCancelled, "no supporter", nil
	}
	m.SupporterID = supporter.Int64
	if !r.supporter.Valid {
		if _, err := tx.ExecContext(ctx, `UPDATE supporter_mail SET supporter_id = ? WHERE id = ?`, m.SupporterID, r.id); err != nil {
			return nil, "", "", err
		}
	}
	var email sql.NullString
	var erased bool
	err := tx.QueryRowContext(ctx, `SELECT email, name, erased_at IS NOT NULL FROM supporters WHERE id = ?`, m.SupporterID).Scan(
		&email, &m.Name, &erased)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pledge.MailCancelled, "supporter gone", nil
	} else if err != nil {
		return nil, "", "", err
	}
	if erased || !email.Valid || email.String == "" {
		return nil, pledge.MailCancelled, "no address", nil
	}
	m.Email = email.String
	if err := tx.db.openAll(&m.Email, &m.Name); err != nil { // sealed at rest with a data key
		return nil, "", "", err
	}
	if r.kind.Unsubscribable() {
		var off bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM mail_unsubscribes WHERE supporter_id = ? AND kind = ?)`,
			m.SupporterID, r.kind).Scan(&off); err != nil {
			return nil, "", "", err
		}
		if off {
			return nil, pledge.MailUnsubscribed, "", nil
		}
	}
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM subscriptions WHERE supporter_id = ?
		AND status IN ('active', 'trialing', 'past_due') AND ended_at IS NULL)`, m.SupporterID).Scan(&m.HasSubscription); err != nil {
		return nil, "", "", err
	}
	switch r.kind {
	case pledge.MailThanks:
		var g pledge.Donation
		var paid int64
		err := tx.QueryRowContext(ctx, `
			SELECT id, frequency, amount, currency, paid_at FROM donations WHERE supporter_id = ?
			ORDER BY paid_at, id LIMIT 1`, m.SupporterID).Scan(&g.ID, &g.Frequency, &g.Amount.Amount, &g.Amount.Currency, &paid)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, pledge.MailCancelled, "no gift", nil
		} else if err != nil {
			return nil, "", "", err
		}
		g.PaidAt = e2t(paid)
		m.Gift = &g
	case pledge.MailRecovery:
		var paid bool
		var next sql.NullInt64
		var sub string
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM donations WHERE stripe_invoice_id = ?)`, r.ref).Scan(&paid); err != nil {
			return nil, "", "", err
		}
		if paid {
			return nil, pledge.MailCancelled, "invoice paid", nil
		}
		err := tx.QueryRowContext(ctx, `SELECT next_attempt_at, stripe_subscription_id FROM invoice_attempts WHERE stripe_invoice_id = ?
			ORDER BY attempt DESC, failed_at DESC LIMIT 1`, r.ref).Scan(&next, &sub)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, "", "", err
		}
		m.Invoice, m.Due = r.ref, fromUnix(next)
		if err := tx.QueryRowContext(ctx, `SELECT frequency FROM subscriptions WHERE stripe_subscription_id = ?`, sub).Scan(&m.Frequency); err != nil &&
			!errors.Is(err, sql.ErrNoRows) {
			return nil, "", "", err
		}
	case pledge.MailRenewal:
		var live bool
		err := tx.QueryRowContext(ctx, `
			SELECT status IN ('active', 'trialing') AND cancel_at_period_end = 0 AND ended_at IS NULL AND paused = 0
			FROM subscriptions WHERE stripe_subscription_id = ?`, r.ref).Scan(&live)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, "", "", err
		}
		if !live {
			return nil, pledge.MailCancelled, "subscription not renewing", nil
		}
		m.Due, m.Frequency = fromUnix(r.due), pledge.Annual
		if !m.Due.After(tx.now) {
			return nil, pledge.MailCancelled, "renewal passed", nil
		}
	case pledge.MailStatement:
		st, err := statementOf(ctx, tx, m.SupporterID, m.Email, m.Name, r.year)
		if err != nil {
			return nil, "", "", err
		}
		if len(st.Gifts) == 0 {
			return nil, pledge.MailCancelled, "no gifts that year", nil
		}
		st.Lang = r.lang
		m.Statement = st
	}
	return m, "", "", nil
}

// statementOf reads one supporter's gifts paid in year (UTC), as the donations export shows them.
func statementOf(ctx context.Context, q rowsQueryer, supporterID int64, email, name string, year int) (*pledge.Statement, error) {
	from := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	gifts, err := queryAll(ctx, q, `
		SELECT paid_at, amount, currency, amount_refunded, frequency,
		       coalesce(stripe_payment_intent_id, stripe_invoice_id, stripe_charge_id, '')
		FROM donations WHERE supporter_id = ? AND paid_at >= ? AND paid_at < ? ORDER BY paid_at, id`,
		[]any{supporterID, from.Unix(), from.AddDate(1, 0, 0).Unix()}, func(rows *sql.Rows) (pledge.StatementGift, error) {
			var g pledge.StatementGift
			var paid int64
			err := rows.Scan(&paid, &g.Amount.Amount, &g.Amount.Currency, &g.Refunded, &g.Frequency, &g.StripeID)
			g.PaidAt = e2t(paid)
			return g, err
		})
	if err != nil {
		return nil, err
	}
	return pledge.NewStatement(supporterID, email, name, year, gifts), nil
}

// SupporterStatement returns one supporter's statement for year.
func (db *DB) SupporterStatement(ctx context.Context, supporterID int64, year int) (_ *pledge.Statement, err error) {
	defer wrapErr(&err, "supporter statement")
	var email sql.NullString
	var name, lang string
	if err := db.read.QueryRowContext(ctx, `SELECT email, name, `+supporterLang+` FROM supporters s WHERE id = ?`,
		supporterID).Scan(&email, &name, &lang); err != nil {
		return nil, translate(err)
	}
	addr := email.String
	if err := db.openAll(&addr, &name); err != nil {
		return nil, err
	}
	st, err := statementOf(ctx, db.read, supporterID, addr, name, year)
	if err != nil {
		return nil, err
	}
	st.Lang = lang
	return st, nil
}

// supporterLang is the language of supporter s: that of their latest checkout that recorded one
// (” for the default language).
const supporterLang = `coalesce((SELECT c.lang FROM checkouts c
	WHERE c.id IN (SELECT checkout_id FROM donations WHERE supporter_id = s.id
	               UNION SELECT checkout_id FROM subscriptions WHERE supporter_id = s.id) AND c.lang <> ''
	ORDER BY c.created_at DESC, c.id DESC LIMIT 1), '')`

// statementSupporters is the supporters who gave in a year, can be written to, and have no
// statement e-mail for it yet. The year (?3) is cast where it is used: in a concatenation alone,
// PostgreSQL would take the parameter for text and refuse the integer.
const statementSupporters = `
	FROM supporters s
	WHERE s.erased_at IS NULL AND s.email IS NOT NULL
	  AND EXISTS (SELECT 1 FROM donations d INDEXED BY donations_supporter_paid
	              WHERE d.supporter_id = s.id AND d.paid_at >= ?1 AND d.paid_at < ?2)
	  AND NOT EXISTS (SELECT 1 FROM supporter_mail m WHERE m.key = 'statement:' || s.id || ':' || CAST(?3 AS INTEGER))`

// StatementCandidates returns the statements EnqueueStatements would enqueue.
func (db *DB) StatementCandidates(ctx context.Context, year int) (_ []*pledge.Statement, err error) {
	defer wrapErr(&err, "statement candidates")
	from := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	type who struct {
		id          int64
		email, name string
	}
	all, err := queryAll(ctx, db.read, `SELECT s.id, s.email, s.name`+statementSupporters+` ORDER BY s.id`,
		[]any{from.Unix(), from.AddDate(1, 0, 0).Unix(), year}, func(rows *sql.Rows) (who, error) {
			var w who
			if err := rows.Scan(&w.id, &w.email, &w.name); err != nil {
				return w, err
			}
			return w, db.openAll(&w.email, &w.name)
		})
	if err != nil {
		return nil, err
	}
	var out []*pledge.Statement
	for _, w := range all {
		st, err := statementOf(ctx, db.read, w.id, w.email, w.name, year)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// EnqueueStatements enqueues one statement e-mail per supporter who gave in year; the key
// (statement:SUPPORTER:YEAR) makes a second run enqueue nobody twice.
func (db *DB) EnqueueStatements(ctx context.Context, year int) (_ int, err error) {
	defer wrapErr(&err, "enqueue statements")
	from := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	return inTxValue(ctx, db, func(tx *Tx) (int, error) {
		return execCount(ctx, tx, `
			INSERT INTO supporter_mail (kind, key, supporter_id, year, lang, next_attempt_at, created_at, updated_at)
			SELECT 'statement', 'statement:' || s.id || ':' || CAST(?3 AS INTEGER), s.id, CAST(?3 AS INTEGER), `+supporterLang+`, ?4, ?4, ?4`+statementSupporters+`
			ON CONFLICT (key) DO NOTHING`,
			from.Unix(), from.AddDate(1, 0, 0).Unix(), year, tx.now.Unix())
	})
}

// MarkMailSent records a delivered e-mail. A claim that is no longer this sender's is left alone.
func (db *DB) MarkMailSent(ctx context.Context, m *pledge.OutgoingMail) (err error) {
	defer wrapErr(&err, "mark mail sent")
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `
			UPDATE supporter_mail SET status = 'sent', sent_at = ?, claim_token = NULL, next_attempt_at = NULL, updated_at = ?
			WHERE id = ? AND status = 'claimed' AND claim_token = ?`, tx.now.Unix(), tx.now.Unix(), m.ID, m.Token)
		return err
	})
}

// MarkMailFailed puts a failed e-mail back after backoff doubled per attempt (at most a day), or
// gives it up once maxAttempts were made.
func (db *DB) MarkMailFailed(ctx context.Context, m *pledge.OutgoingMail, backoff time.Duration, maxAttempts int) (_ bool, err error) {
	defer wrapErr(&err, "mark mail failed")
	return db.markFailed(ctx, failedSends{
		giveUp: `
			UPDATE supporter_mail SET status = 'given_up', claim_token = NULL, next_attempt_at = NULL, updated_at = ?
			WHERE id = ? AND status = 'claimed' AND claim_token = ?`,
		retry: `
			UPDATE supporter_mail SET status = 'pending', claim_token = NULL, claimed_at = NULL, next_attempt_at = ?, updated_at = ?
			WHERE id = ? AND status = 'claimed' AND claim_token = ?`,
	}, m.ID, m.Token, m.Attempts, backoff, maxAttempts)
}

// GiveUpStaleMail gives up e-mails whose claim is older than lease: their sender stopped between
// claiming and reporting, so each may or may not have left, and at most once is the promise.
func (db *DB) GiveUpStaleMail(ctx context.Context, lease time.Duration) (_ int, err error) {
	defer wrapErr(&err, "give up stale mail")
	return inTxValue(ctx, db, func(tx *Tx) (int, error) {
		return execCount(ctx, tx, `
			UPDATE supporter_mail SET status = 'given_up', reason = 'sender stopped mid-send', claim_token = NULL,
			       next_attempt_at = NULL, updated_at = ?
			WHERE status = 'claimed' AND claimed_at <= ?`, tx.now.Unix(), tx.now.Add(-lease).Unix())
	})
}

// UnsubscribeMail turns one kind off for a supporter and settles their pending e-mails of it.
func (db *DB) UnsubscribeMail(ctx context.Context, supporterID int64, kind pledge.MailKind) (err error) {
	defer wrapErr(&err, "unsubscribe mail")
	if !kind.Unsubscribable() {
		return pledge.Errorf(pledge.EINVALID, "This e-mail has no unsubscribe.")
	}
	return db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO mail_unsubscribes (supporter_id, kind, at) VALUES (?, ?, ?)
			ON CONFLICT DO NOTHING`, supporterID, kind, tx.now.Unix()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
			UPDATE supporter_mail SET status = 'unsubscribed', next_attempt_at = NULL, updated_at = ?
			WHERE supporter_id = ? AND kind = ? AND status = 'pending'`, tx.now.Unix(), supporterID, kind)
		return err
	})
}

// MailLinkOpened records the first use of a link of e-mail id.
func (db *DB) MailLinkOpened(ctx context.Context, id int64) (err error) {
	defer wrapErr(&err, "mail link opened")
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE supporter_mail SET link_opened_at = coalesce(link_opened_at, ?) WHERE id = ?`,
			tx.now.Unix(), id)
		return err
	})
}

// RecoveryTarget returns the customer whose payment method a recovery e-mail's link updates: the
// failed invoice's subscription's customer (the invoice's own when the subscription is unknown).
func (db *DB) RecoveryTarget(ctx context.Context, id int64) (_ *pledge.SupportAccount, err error) {
	defer wrapErr(&err, "recovery target")
	var a pledge.SupportAccount
	var supporter sql.NullInt64
	var email sql.NullString
	var customer, subCustomer, sub sql.NullString
	err = db.read.QueryRowContext(ctx, `
		SELECT m.supporter_id, s.email, m.stripe_customer_id, b.stripe_customer_id, b.stripe_subscription_id
		FROM supporter_mail m
		JOIN supporters s ON s.id = m.supporter_id AND s.erased_at IS NULL
		LEFT JOIN invoice_attempts i ON i.stripe_invoice_id = m.ref
		LEFT JOIN subscriptions b ON b.stripe_subscription_id = i.stripe_subscription_id
		WHERE m.id = ? AND m.kind = 'recovery' LIMIT 1`, id).Scan(&supporter, &email, &customer, &subCustomer, &sub)
	if err != nil {
		return nil, translate(err)
	}
	a.SupporterID, a.Email, a.SubscriptionID = supporter.Int64, email.String, sub.String
	if err := db.openAll(&a.Email); err != nil {
		return nil, err
	}
	a.CustomerID = subCustomer.String
	if a.CustomerID == "" {
		a.CustomerID = customer.String
	}
	if a.CustomerID == "" {
		return nil, pledge.Errorf(pledge.ENOTFOUND, "No customer for this e-mail.")
	}
	return &a, nil
}

// SupporterMails lists a supporter's e-mails, newest first.
func (db *DB) SupporterMails(ctx context.Context, supporterID int64) (_ []pledge.SupporterMail, err error) {
	defer wrapErr(&err, "supporter mails")
	return queryAll(ctx, db.read, `
		SELECT id, kind, status, reason, ref, year, created_at, sent_at, link_opened_at FROM supporter_mail
		WHERE supporter_id = ? ORDER BY created_at DESC, id DESC LIMIT 200`, []any{supporterID}, func(rows *sql.Rows) (pledge.SupporterMail, error) {
		var m pledge.SupporterMail
		var created int64
		var sent, opened sql.NullInt64
		if err := rows.Scan(&m.ID, &m.Kind, &m.Status, &m.Reason, &m.Ref, &m.Year, &created, &sent, &opened); err != nil {
			return m, err
		}
		m.CreatedAt, m.SentAt, m.LinkOpenedAt = e2t(created), fromUnix(sent), fromUnix(opened)
		return m, nil
	})
}

// MailReport counts every kind of e-mail by state, the failed payments that recovered with and
// without a recovery e-mail, and lists the newest failed invoices.
func (db *DB) MailReport(ctx context.Context) (_ *pledge.MailReport, err error) {
	defer wrapErr(&err, "mail report")
	r := &pledge.MailReport{}
	idx := map[pledge.MailKind]*pledge.MailKindStats{}
	r.Kinds = make([]pledge.MailKindStats, len(pledge.MailKinds))
	for i, k := range pledge.MailKinds {
		r.Kinds[i].Kind = k
		idx[k] = &r.Kinds[i]
	}
	rows, err := db.read.QueryContext(ctx, `
		SELECT kind, status, count(*), count(link_opened_at) FROM supporter_mail GROUP BY kind, status`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var kind pledge.MailKind
		var status string
		var n, opened int
		if err := rows.Scan(&kind, &status, &n, &opened); err != nil {
			rows.Close()
			return nil, err
		}
		s := idx[kind]
		if s == nil {
			continue
		}
		switch status {
		case pledge.MailPending, pledge.MailClaimed:
			s.Pending += n
		case pledge.MailSent:
			s.Sent += n
			s.Opened += opened
		case pledge.MailCancelled:
			s.Cancelled += n
		case pledge.MailUnsubscribed:
			s.Unsubscribed += n
		case pledge.MailGivenUp:
			s.GivenUp += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = db.read.QueryContext(ctx, `SELECT kind, count(*) FROM mail_unsubscribes GROUP BY kind`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var kind pledge.MailKind
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			rows.Close()
			return nil, err
		}
		if s := idx[kind]; s != nil {
			s.UnsubscribedSupporters = n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	// A failed invoice recovered "with the e-mail" when it was paid after its recovery e-mail was
	// sent; every other failed invoice that was paid recovered without one.
	rows, err = db.read.QueryContext(ctx, `
		SELECT d.currency, CASE WHEN m.sent_at IS NOT NULL AND d.paid_at >= m.sent_at THEN 1 ELSE 0 END, count(*), sum(d.amount)
		FROM (SELECT DISTINCT stripe_invoice_id FROM invoice_attempts) a
		JOIN donations d ON d.stripe_invoice_id = a.stripe_invoice_id
		LEFT JOIN supporter_mail m ON m.key = 'recovery:' || a.stripe_invoice_id AND m.status = 'sent'
		GROUP BY 1, 2 ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var rm pledge.RecoveredMoney
		var withMail bool
		if err := rows.Scan(&rm.Currency, &withMail, &rm.Payments, &rm.Amount); err != nil {
			rows.Close()
			return nil, err
		}
		if withMail {
			r.RecoveredWithMail = append(r.RecoveredWithMail, rm)
		} else {
			r.RecoveredWithoutMail = append(r.RecoveredWithoutMail, rm)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	rows, err = db.read.QueryContext(ctx, `
		SELECT a.stripe_invoice_id, max(a.stripe_subscription_id), coalesce(max(b.supporter_id), max(m.supporter_id), 0),
		       max(a.amount), max(a.currency), max(a.attempt),
		       (SELECT x.next_attempt_at FROM invoice_attempts x WHERE x.stripe_invoice_id = a.stripe_invoice_id
		        ORDER BY x.attempt DESC, x.failed_at DESC LIMIT 1),
		       max(a.failed_at), coalesce(max(m.status), ''), max(m.sent_at), max(m.link_opened_at), max(d.paid_at)
		FROM invoice_attempts a
		LEFT JOIN subscriptions b ON b.stripe_subscription_id = a.stripe_subscription_id
		LEFT JOIN supporter_mail m ON m.key = 'recovery:' || a.stripe_invoice_id
		LEFT JOIN donations d ON d.stripe_invoice_id = a.stripe_invoice_id
		GROUP BY a.stripe_invoice_id ORDER BY max(a.failed_at) DESC LIMIT 100`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var f pledge.FailedInvoice
		var next, sent, opened, paid sql.NullInt64
		var last int64
		if err := rows.Scan(&f.InvoiceID, &f.SubscriptionID, &f.SupporterID, &f.Amount.Amount, &f.Amount.Currency, &f.Attempts,
			&next, &last, &f.MailStatus, &sent, &opened, &paid); err != nil {
			return nil, err
		}
		f.NextAttempt, f.LastFailed = fromUnix(next), e2t(last)
		f.MailSentAt, f.LinkOpenedAt, f.PaidAt = fromUnix(sent), fromUnix(opened), fromUnix(paid)
		r.FailedInvoices = append(r.FailedInvoices, f)
	}
	return r, rows.Err()
}
