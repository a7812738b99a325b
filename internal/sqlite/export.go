package sqlite

import (
	"context"
	"database/sql"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// bounds turns a filter into Unix-second bounds [from, to).
func bounds(f pledge.ExportFilter) (from, to int64) {
	from, to = math.MinInt64, math.MaxInt64
	if !f.From.IsZero() {
		from = f.From.Unix()
	}
	if !f.To.IsZero() {
		to = f.To.Unix()
	}
	return from, to
}

// EachDonation streams the donations paid in the range, oldest first, from the read pool.
func (db *DB) EachDonation(ctx context.Context, f pledge.ExportFilter, fn func(*pledge.DonationRecord) error) (err error) {
	defer wrapErr(&err, "each donation")
	from, to := bounds(f)
	// The checkout's arm only when asked: the contract's export reads no other table.
	arms, join := `'', '', ''`, ``
	if f.Arms {
		arms, join = `COALESCE(d.checkout_id, ''), COALESCE(c.experiment, ''), COALESCE(c.variant, '')`,
			`LEFT JOIN checkouts c ON c.id = d.checkout_id`
	}
	rows, err := db.read.QueryContext(ctx, `
		SELECT d.paid_at, COALESCE(s.email, ''), d.amount, d.amount_refunded, d.currency, d.frequency, d.status,
		       COALESCE(d.stripe_invoice_id, d.stripe_payment_intent_id, ''), d.article, d.campaign, `+arms+`
		FROM donations d LEFT JOIN supporters s ON s.id = d.supporter_id `+join+`
		WHERE d.paid_at >= ? AND d.paid_at < ?
		ORDER BY d.paid_at, d.id`, from, to)
	if err != nil {
		return err
	}
	defer rows.Close()
	var d pledge.DonationRecord
	for rows.Next() {
		var paid int64
		if err := rows.Scan(&paid, &d.Email, &d.Amount.Amount, &d.AmountRefunded, &d.Amount.Currency,
			&d.Frequency, &d.Status, &d.StripeID, &d.Article, &d.Campaign,
			&d.Checkout, &d.Arm.Experiment, &d.Arm.Variant); err != nil {
			return err
		}
		if err := db.openAll(&d.Email); err != nil {
			return err
		}
		d.PaidAt = time.Unix(paid, 0).UTC()
		if err := fn(&d); err != nil {
			return err
		}
	}
	return rows.Err()
}

// EachSupporter streams the supporters created in the range, oldest first, with their donation
// counts, net totals per currency and live subscriptions. The net is what was paid less refunds,
// and less what disputes withdrew: the SQL mirrors pledge.NetOf (TestNetInSQLIsNetOf holds them
// equal), so that the per-currency totals are aggregated in the one query.
func (db *DB) EachSupporter(ctx context.Context, f pledge.ExportFilter, fn func(*pledge.SupporterRecord) error) (err error) {
	defer wrapErr(&err, "each supporter")
	from, to := bounds(f)
	rows, err := db.read.QueryContext(ctx, `
		SELECT s.created_at, COALESCE(s.email, ''), s.name, COALESCE(s.stripe_customer_id, ''),
		       (SELECT count(*) FROM donations WHERE supporter_id = s.id),
		       (SELECT string_agg(currency || ' ' || net, ';' ORDER BY currency) FROM
		           (SELECT currency, SUM(amount - amount_refunded - amount_disputed) AS net
		            FROM donations
		            WHERE supporter_id = s.id GROUP BY currency) AS n),
		       (SELECT MIN(paid_at) FROM donations WHERE supporter_id = s.id),
		       (SELECT MAX(paid_at) FROM donations WHERE supporter_id = s.id),
		       (SELECT count(*) FROM subscriptions b WHERE b.supporter_id = s.id
		          AND EXISTS (SELECT 1 FROM subscription_segments g WHERE g.subscription_id = b.id AND g."end" IS NULL)),
		       n.consented_at, coalesce(n.wording, '')
		FROM supporters s
		LEFT JOIN newsletter_consents n ON n.id = (
		    SELECT c.id FROM newsletter_consents c
		    WHERE c.supporter_id = s.id
		       OR c.checkout_id IN (SELECT checkout_id FROM donations WHERE supporter_id = s.id
		                            UNION SELECT checkout_id FROM subscriptions WHERE supporter_id = s.id)
		    ORDER BY c.consented_at DESC, c.id DESC LIMIT 1)
		WHERE s.created_at >= ? AND s.created_at < ?
		ORDER BY s.created_at, s.id`, from, to)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s pledge.SupporterRecord
		var created int64
		var totals sql.NullString
		var first, last, consented sql.NullInt64
		if err := rows.Scan(&created, &s.Email, &s.Name, &s.StripeCustomerID, &s.Donations, &totals,
			&first, &last, &s.ActiveSubscriptions, &consented, &s.NewsletterWording); err != nil {
			return err
		}
		if err := db.openAll(&s.Email, &s.Name); err != nil {
			return err
		}
		s.CreatedAt, s.FirstDonation, s.LastDonation = time.Unix(created, 0).UTC(), fromUnix(first), fromUnix(last)
		s.NewsletterConsentAt = fromUnix(consented)
		for _, part := range strings.Split(totals.String, ";") {
			cur, n, ok := strings.Cut(part, " ")
			if !ok {
				continue
			}
			amount, err := strconv.ParseInt(n, 10, 64)
			if err != nil {
				return err
			}
			s.Totals = append(s.Totals, pledge.Money{Amount: amount, Currency: pledge.Currency(cur)})
		}
		if err := fn(&s); err != nil {
			return err
		}
	}
	return rows.Err()
}
