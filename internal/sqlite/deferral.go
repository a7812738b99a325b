package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// Defer stores d as its reader's one deferral: a repeat click replaces the reader's previous
// choice, address and reminder state in the same row, and a request with an address replaces
// any other reminder waiting for that address (at most one per address, in any case). It returns once the row is durably
// committed; concurrent deferrals share one commit (WriteGrouped), so a burst of readers'
// clicks costs one fsync, not one each.
func (db *DB) Defer(ctx context.Context, d *pledge.Deferral) (_ *pledge.Deferral, err error) {
	defer wrapErr(&err, "defer")
	// Inside the shared transaction the queries must not follow ctx: a reader who closes the tab
	// would interrupt the connection, and SQLite would roll back every caller's write with it.
	// Whether to start at all is the committer's call (it skips a cancelled caller).
	wctx := context.WithoutCancel(ctx)
	var found *pledge.Deferral
	var replaced bool
	err = db.WriteGrouped(ctx, func(tx *Tx) error {
		ctx := wctx
		out := *d
		out.RemindAt = tx.now.Add(d.Choice.Duration())
		out.Status, out.Attempts, out.NextAttemptAt, out.SentAt, out.UpdatedAt = pledge.ReminderNone, 0, time.Time{}, time.Time{}, tx.now
		var email, key, next any
		if d.Email != "" {
			out.Status, email, key, next = pledge.ReminderPending, db.seal(d.Email), db.addressKey(d.Email), out.RemindAt.Unix()
			out.NextAttemptAt = out.RemindAt
			// One reminder waiting per address (a unique index holds it): this request replaces
			// any other, which keeps its deferral but loses the address. A claimed one may be
			// in a sender's hands; its outcome then finds the claim gone and changes nothing.
			res, err := tx.ExecContext(ctx, `
				UPDATE deferrals SET reminder_status = 'none', email = NULL, email_key = NULL, next_attempt_at = NULL,
				       claim_token = NULL, claimed_at = NULL, updated_at = ?
				WHERE email_key = ? AND reminder_status IN ('pending', 'claimed')`,
				tx.now.Unix(), key)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			replaced = n > 0
		}
		row := tx.QueryRowContext(ctx, `
			INSERT INTO deferrals (reader_id, article, choice, frequency, lang, remind_at, email, email_key, reminder_status,
			                       next_attempt_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (reader_id) DO UPDATE SET
				article = excluded.article, choice = excluded.choice, frequency = excluded.frequency,
				lang = excluded.lang,
				remind_at = excluded.remind_at, email = excluded.email, email_key = excluded.email_key,
				reminder_status = excluded.reminder_status, attempts = 0,
				next_attempt_at = excluded.next_attempt_at, claimed_at = NULL, claim_token = NULL,
				sent_at = NULL, updated_at = excluded.updated_at
			RETURNING id, created_at`,
			d.ReaderID, d.Article, d.Choice, d.Frequency, d.Lang, out.RemindAt.Unix(), email, key, out.Status, next,
			tx.now.Unix(), tx.now.Unix())
		// The write sets every column from out but the row's id and, for a reader's second
		// click, when it was first made: those come back with it, the rest is out as stored.
		var created int64
		if err := row.Scan(&out.ID, &created); err != nil {
			return translate(err)
		}
		out.CreatedAt = time.Unix(created, 0).UTC()
		found = &out
		return nil
	})
	if err != nil {
		return nil, err
	}
	if replaced {
		db.forgetSoon()
	}
	return found, nil
}

// FindDeferral returns one deferral by ID.
func (db *DB) FindDeferral(ctx context.Context, id int64) (_ *pledge.Deferral, err error) {
	defer wrapErr(&err, "find deferral")
	return db.scanDeferral(db.read.QueryRowContext(ctx, `SELECT `+deferralColumns+` FROM deferrals WHERE id = ?`, id))
}

// deferralColumns are the columns scanDeferral reads.
const deferralColumns = `id, reader_id, article, choice, frequency, lang, remind_at, email, reminder_status, attempts,
	next_attempt_at, sent_at, created_at, updated_at`

// scanDeferral reads a row of deferralColumns.
func (db *DB) scanDeferral(row *sql.Row) (*pledge.Deferral, error) {
	var d pledge.Deferral
	var email sql.NullString
	var remind, created, updated int64
	var next, sent sql.NullInt64
	err := row.Scan(&d.ID, &d.ReaderID, &d.Article, &d.Choice, &d.Frequency, &d.Lang, &remind, &email, &d.Status,
		&d.Attempts, &next, &sent, &created, &updated)
	if err != nil {
		return nil, translate(err)
	}
	if d.Email, err = db.open(email.String); err != nil {
		return nil, err
	}
	d.RemindAt = time.Unix(remind, 0).UTC()
	d.NextAttemptAt, d.SentAt = fromUnix(next), fromUnix(sent)
	d.CreatedAt, d.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	return &d, nil
}

// UnsubscribeReminder cancels a pending (or in-flight) reminder and erases its address. A
// reminder that already served, or a deferral without one, is left as it is: there is nothing to
// cancel, and the answer is the same.
func (db *DB) UnsubscribeReminder(ctx context.Context, id int64) (err error) {
	defer wrapErr(&err, "unsubscribe reminder")
	return db.inTx(ctx, func(tx *Tx) error {
		tx.forget = true
		_, err := tx.ExecContext(ctx, `
			UPDATE deferrals SET reminder_status = 'unsubscribed', email = NULL, email_key = NULL, claim_token = NULL,
			       next_attempt_at = NULL, updated_at = ?
			WHERE id = ? AND reminder_status IN ('pending', 'claimed')`, tx.now.Unix(), id)
		return err
	})
}

// ClaimDueReminders claims up to limit due reminders for one sender in a single write
// transaction. SQLite serialises writers (one writer connection here, and IMMEDIATE transactions
// across processes), so two senders can never claim the same row.
func (db *DB) ClaimDueReminders(ctx context.Context, token string, limit int) (_ []*pledge.Reminder, err error) {
	defer wrapErr(&err, "claim due reminders")
	return inTxValue(ctx, db, func(tx *Tx) ([]*pledge.Reminder, error) {
		return queryAll(ctx, tx, `
			UPDATE deferrals SET reminder_status = 'claimed', claim_token = ?, claimed_at = ?,
			       attempts = attempts + 1, updated_at = ?
			WHERE id IN (SELECT id FROM deferrals
			             WHERE reminder_status = 'pending' AND next_attempt_at <= ? AND email IS NOT NULL
			             ORDER BY next_attempt_at LIMIT ?)
			RETURNING id, email, article, frequency, lang, attempts`,
			[]any{token, tx.now.Unix(), tx.now.Unix(), tx.now.Unix(), limit}, func(rows *sql.Rows) (*pledge.Reminder, error) {
				r := &pledge.Reminder{Token: token}
				if err := rows.Scan(&r.DeferralID, &r.Email, &r.Article, &r.Frequency, &r.Lang, &r.Attempts); err != nil {
					return nil, err
				}
				return r, db.openAll(&r.Email)
			})
	})
}

// MarkReminderSent records a delivered reminder and erases its address. A claim that is no longer
// this sender's (the reader unsubscribed or deferred again meanwhile) is left alone.
func (db *DB) MarkReminderSent(ctx context.Context, r *pledge.Reminder) (err error) {
	defer wrapErr(&err, "mark reminder sent")
	return db.inTx(ctx, func(tx *Tx) error {
		tx.forget = true
		_, err := tx.ExecContext(ctx, `
			UPDATE deferrals SET reminder_status = 'sent', sent_at = ?, email = NULL, email_key = NULL, claim_token = NULL,
			       next_attempt_at = NULL, updated_at = ?
			WHERE id = ? AND reminder_status = 'claimed' AND claim_token = ?`,
			tx.now.Unix(), tx.now.Unix(), r.DeferralID, r.Token)
		return err
	})
}

// MarkReminderFailed puts a failed reminder back in the queue after backoff doubled per attempt
// (capped at a day), or gives it up and erases the address once maxAttempts were made.
func (db *DB) MarkReminderFailed(ctx context.Context, r *pledge.Reminder, backoff time.Duration, maxAttempts int) (_ bool, err error) {
	defer wrapErr(&err, "mark reminder failed")
	return db.markFailed(ctx, failedSends{
		giveUp: `
			UPDATE deferrals SET reminder_status = 'given_up', email = NULL, email_key = NULL, claim_token = NULL,
			       next_attempt_at = NULL, updated_at = ?
			WHERE id = ? AND reminder_status = 'claimed' AND claim_token = ?`,
		retry: `
			UPDATE deferrals SET reminder_status = 'pending', claim_token = NULL, claimed_at = NULL,
			       next_attempt_at = ?, updated_at = ?
			WHERE id = ? AND reminder_status = 'claimed' AND claim_token = ?`,
		erases: true,
	}, r.DeferralID, r.Token, r.Attempts, backoff, maxAttempts)
}

// failedSends are a send queue's two statements for a failed send (markFailed): giveUp takes
// updated_at, the row's id and its claim token; retry takes the next attempt's time first.
type failedSends struct {
	giveUp, retry string
	// erases: giving up drops the row's address (see Tx.forget).
	erases bool
}

// markFailed records a failed send of the claimed row id: given up once attempts reached
// maxAttempts, else back in the queue after backoff doubled per attempt made (at most a day).
// It reports whether it gave up.
func (db *DB) markFailed(ctx context.Context, q failedSends, id int64, token string, attempts int, backoff time.Duration, maxAttempts int) (bool, error) {
	gaveUp := attempts >= maxAttempts
	return gaveUp, db.inTx(ctx, func(tx *Tx) error {
		if gaveUp {
			tx.forget = q.erases
			_, err := tx.ExecContext(ctx, q.giveUp, tx.now.Unix(), id, token)
			return err
		}
		wait := backoff << max(0, attempts-1)
		if wait <= 0 || wait > 24*time.Hour {
			wait = 24 * time.Hour
		}
		_, err := tx.ExecContext(ctx, q.retry, tx.now.Add(wait).Unix(), tx.now.Unix(), id, token)
		return err
	})
}

// GiveUpStaleClaims gives up reminders whose claim is older than lease. Their sender stopped
// between claiming and reporting, so the e-mail may or may not have left: resending could send it
// twice, and at most once is the promise, so they are recorded as given up and their addresses
// erased.
func (db *DB) GiveUpStaleClaims(ctx context.Context, lease time.Duration) (_ int, err error) {
	defer wrapErr(&err, "give up stale claims")
	return inTxValue(ctx, db, func(tx *Tx) (int, error) {
		n, err := execCount(ctx, tx, `
			UPDATE deferrals SET reminder_status = 'given_up', email = NULL, email_key = NULL, claim_token = NULL,
			       next_attempt_at = NULL, updated_at = ?
			WHERE reminder_status = 'claimed' AND claimed_at <= ?`,
			tx.now.Unix(), tx.now.Add(-lease).Unix())
		tx.forget = n > 0
		return n, err
	})
}
