package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// latestSubscription is a correlated subquery column pair: the frequency and status of a
// supporter's latest subscription.
const latestSubscription = `
	(SELECT frequency FROM subscriptions WHERE supporter_id = s.id ORDER BY id DESC LIMIT 1),
	(SELECT status FROM subscriptions WHERE supporter_id = s.id ORDER BY id DESC LIMIT 1)`

// ListSupporters returns a page of supporters, newest first, by keyset on id.
func (db *DB) ListSupporters(ctx context.Context, f pledge.SupporterFilter) (_ []*pledge.Supporter, err error) {
	defer wrapErr(&err, "list supporters")
	q, args := db.supportersQuery(f)
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*pledge.Supporter
	for rows.Next() {
		s, err := db.scanSupporter(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, db.supporterTotals(ctx, out)
}

// supporterTotals fills in a page's lifetime totals and last gifts (supporter_totals, kept with
// each donation change).
func (db *DB) supporterTotals(ctx context.Context, page []*pledge.Supporter) error {
	if len(page) == 0 {
		return nil
	}
	by := map[int64]*pledge.Supporter{}
	args := make([]any, 0, len(page))
	for _, s := range page {
		by[s.ID] = s
		args = append(args, s.ID)
	}
	in := `(` + placeholders(len(args)) + `)`
	err := eachRow(ctx, db.read, `SELECT supporter_id, currency, net FROM supporter_totals
		WHERE supporter_id IN `+in+` ORDER BY supporter_id, net DESC, currency`, args, func(rows *sql.Rows) error {
		var id int64
		var m pledge.Money
		if err := rows.Scan(&id, &m.Currency, &m.Amount); err != nil {
			return err
		}
		by[id].Totals = append(by[id].Totals, m)
		return nil
	})
	if err != nil {
		return err
	}
	return eachRow(ctx, db.read, `SELECT id, last_paid_at FROM supporters WHERE id IN `+in+` AND last_paid_at IS NOT NULL`, args,
		func(rows *sql.Rows) error {
			var id, at int64
			if err := rows.Scan(&id, &at); err != nil {
				return err
			}
			by[id].LastPaidAt = e2t(at)
			return nil
		})
}

// CountSupporters counts the supporters the filter matches.
func (db *DB) CountSupporters(ctx context.Context, f pledge.SupporterFilter) (_ int, err error) {
	defer wrapErr(&err, "count supporters")
	f.After, f.Offset = 0, 0
	if f.Sort == pledge.SortTotal && strings.TrimSpace(f.Query) == "" && f.Frequency == "" && f.Status == "" {
		// Every totals row belongs to a supporter: count the currency's range of the index alone.
		var n int
		err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM supporter_totals INDEXED BY supporter_totals_rank
			WHERE currency = ?`, f.Currency).Scan(&n)
		return n, err
	}
	from, where, args := db.supportersWhere(f)
	var n int
	err = db.read.QueryRowContext(ctx, `SELECT count(*) FROM `+from+` WHERE `+where, args...).Scan(&n)
	return n, err
}

// supportersQuery is ListSupporters' query (scanned by scanSupporter) and its arguments.
func (db *DB) supportersQuery(f pledge.SupporterFilter) (string, []any) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	if f.Sort != "" {
		f.After = 0
	}
	from, where, args := db.supportersWhere(f)
	order := `s.id DESC`
	switch f.Sort {
	case pledge.SortLastGift:
		order = `s.last_paid_at DESC, s.id DESC` // the supporters_last_paid index, backwards
	case pledge.SortStart:
		order = `s.created_at DESC, s.id DESC`
	case pledge.SortTotal:
		order = `t.net DESC, t.supporter_id DESC` // the supporter_totals_rank index, backwards
	}
	return `
		SELECT s.id, coalesce(s.stripe_customer_id, ''), coalesce(s.email, ''), s.name, s.created_at, s.erased_at,
		       (SELECT count(*) FROM donations WHERE supporter_id = s.id), ` + latestSubscription + `
		FROM ` + from + ` WHERE ` + where + `
		ORDER BY ` + order + ` LIMIT ? OFFSET ?`, append(args, f.Limit, max(f.Offset, 0))
}

// supportersWhere is the FROM and WHERE of the supporters list for a filter, and their
// arguments: the lifetime-total order reads supporter_totals of one currency, joined to
// supporters.
func (db *DB) supportersWhere(f pledge.SupporterFilter) (string, string, []any) {
	from := `supporters s`
	where, args := []string{"1 = 1"}, []any{}
	if f.Sort == pledge.SortTotal {
		// CROSS JOIN keeps supporter_totals outside: the rank index gives the order, and the
		// page stops after its rows.
		from = `supporter_totals t INDEXED BY supporter_totals_rank ` + db.crossJoin() + ` supporters s ON s.id = t.supporter_id`
		where, args = append(where, "t.currency = ?"), append(args, f.Currency)
	}
	if f.After > 0 {
		where, args = append(where, "s.id < ?"), append(args, f.After)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		switch {
		case strings.HasPrefix(q, "cus_"):
			where, args = append(where, "s.stripe_customer_id = ?"), append(args, q)
		case strings.HasPrefix(q, "sub_"):
			where, args = append(where, "s.id IN (SELECT supporter_id FROM subscriptions WHERE stripe_subscription_id = ?)"), append(args, q)
		case strings.HasPrefix(q, "pi_"), strings.HasPrefix(q, "in_"), strings.HasPrefix(q, "ch_"):
			where = append(where, `s.id IN (SELECT supporter_id FROM donations WHERE stripe_payment_intent_id = ?
				UNION SELECT supporter_id FROM donations WHERE stripe_invoice_id = ?
				UNION SELECT supporter_id FROM donations WHERE stripe_charge_id = ?)`)
			args = append(args, q, q, q)
		case db.Sealer != nil:
			// Sealed addresses cannot be searched by their beginning: the whole address, in any
			// case, is found by its keyed hash.
			where, args = append(where, "s.email_key = ?"), append(args, db.addressKey(q))
		default:
			// An address or its beginning, in any case (Stripe keeps addresses as typed): a range
			// on the supporters_email_nocase index.
			where, args = append(where, db.cmpNoCase("s.email", ">=", "?")+" AND "+db.cmpNoCase("s.email", "<", "?")), append(args, q, q+"\uffff")
		}
	}
	// A status or a recurring frequency is looked up in subscriptions (the subscriptions_status_supporter
	// and subscriptions_frequency_supporter indexes), whose supporter ids then drive the page in
	// order: a rare status reads a few index entries rather than every supporter. The keyset
	// cursor narrows the list too.
	after := f.After
	if after <= 0 {
		after = math.MaxInt64
	}
	switch f.Frequency {
	case pledge.Once:
		where = append(where, "NOT EXISTS (SELECT 1 FROM subscriptions WHERE supporter_id = s.id)")
	case pledge.Monthly, pledge.Annual:
		where = append(where, "s.id IN (SELECT supporter_id FROM subscriptions WHERE frequency = ? AND supporter_id < ?)")
		args = append(args, f.Frequency, after)
	}
	if f.Status != "" {
		where = append(where, "s.id IN (SELECT supporter_id FROM subscriptions WHERE status = ? AND supporter_id < ?)")
		args = append(args, f.Status, after)
	}
	return from, strings.Join(where, " AND "), args
}

type scanner interface{ Scan(dest ...any) error }

// withExtra scans a row into the destinations a scan function gives, then into extra: for a
// query that returns a little more than a shared column list.
type withExtra struct {
	scanner
	extra []any
}

func (w withExtra) Scan(dest ...any) error { return w.scanner.Scan(append(dest, w.extra...)...) }

func (db *DB) scanSupporter(r scanner) (*pledge.Supporter, error) {
	var s pledge.Supporter
	var created int64
	var erased sql.NullInt64
	var freq, status sql.NullString
	if err := r.Scan(&s.ID, &s.StripeCustomerID, &s.Email, &s.Name, &created, &erased, &s.Donations, &freq, &status); err != nil {
		return nil, translate(err)
	}
	s.CreatedAt, s.ErasedAt = time.Unix(created, 0).UTC(), fromUnix(erased)
	s.Recurring, s.Status = pledge.Frequency(freq.String), status.String
	if err := db.openAll(&s.Email, &s.Name); err != nil {
		return nil, err
	}
	return &s, nil
}

// FindSupporter returns a supporter with their subscriptions, latest donations (up to 500) and
// the Stripe events about their objects.
func (db *DB) FindSupporter(ctx context.Context, id int64) (_ *pledge.SupporterDetail, err error) {
	defer wrapErr(&err, "find supporter")
	s, err := db.scanSupporter(db.read.QueryRowContext(ctx, `
		SELECT s.id, coalesce(s.stripe_customer_id, ''), coalesce(s.email, ''), s.name, s.created_at, s.erased_at,
		       (SELECT count(*) FROM donations WHERE supporter_id = s.id), `+latestSubscription+`
		FROM supporters s WHERE s.id = ?`, id))
	if err != nil {
		return nil, err
	}
	d := &pledge.SupporterDetail{Supporter: *s, SameAddress: 1}
	if s.Email != "" {
		where, args := db.addressMatch("supporters", "", s.Email)
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM supporters WHERE `+where,
			args...).Scan(&d.SameAddress); err != nil {
			return nil, err
		}
	}
	if d.Subscriptions, err = db.subscriptionsOf(ctx, id); err != nil {
		return nil, err
	}
	if d.Donations, err = db.donationsOf(ctx, id, 500); err != nil {
		return nil, err
	}
	if d.Customers, err = db.customersOf(ctx, id); err != nil {
		return nil, err
	}
	if d.Mismatches, err = db.mismatchesOf(ctx, id); err != nil {
		return nil, err
	}
	if d.Failed, err = db.pastDue(ctx, time.Now(), `AND s.supporter_id = ?`, id); err != nil {
		return nil, err
	}
	d.Events, err = db.eventsAbout(ctx, stripeObjects(s.StripeCustomerID, d.Subscriptions, d.Donations, d.Customers...), 500)
	return d, err
}

// customersOf lists the Stripe customers of a supporter.
func (db *DB) customersOf(ctx context.Context, supporterID int64) ([]string, error) {
	return queryAll(ctx, db.read, `SELECT stripe_customer_id FROM customers WHERE supporter_id = ? ORDER BY stripe_customer_id`, []any{supporterID}, func(rows *sql.Rows) (string, error) {
		var c string
		if err := rows.Scan(&c); err != nil {
			return c, err
		}
		return c, nil
	})
}

// mismatchesOf lists the charges of a supporter's donations whose refunds or disputes came in
// another currency than the donation (the ledger refused them).
func (db *DB) mismatchesOf(ctx context.Context, supporterID int64) ([]pledge.CurrencyMismatch, error) {
	return queryAll(ctx, db.read, `
		SELECT DISTINCT c.stripe_charge_id, c.currency, d.currency, c.amount_refunded, c.dispute_status
		FROM donations d JOIN charges c
		  ON c.stripe_charge_id = d.stripe_charge_id
		  OR (c.stripe_payment_intent_id <> '' AND c.stripe_payment_intent_id = d.stripe_payment_intent_id)
		  OR (c.stripe_invoice_id <> '' AND c.stripe_invoice_id = d.stripe_invoice_id)
		WHERE d.supporter_id = ? AND c.currency <> '' AND c.currency <> d.currency
		ORDER BY c.stripe_charge_id`, []any{supporterID}, func(rows *sql.Rows) (pledge.CurrencyMismatch, error) {
		var m pledge.CurrencyMismatch
		if err := rows.Scan(&m.ChargeID, &m.ChargeCurrency, &m.DonationCurrency, &m.Refunded, &m.Dispute); err != nil {
			return m, err
		}
		return m, nil
	})
}

// stripeObjects lists the Stripe ids of a supporter's customer, subscriptions and payments, and
// any extra ids (checkout sessions), skipping empty ones.
func stripeObjects(customer string, subs []pledge.Subscription, dons []pledge.Donation, extra ...string) []any {
	var out []any
	add := func(ids ...string) {
		for _, id := range ids {
			if id != "" {
				out = append(out, id)
			}
		}
	}
	add(customer)
	for _, sub := range subs {
		add(sub.StripeSubscriptionID)
	}
	for _, dn := range dons {
		add(dn.StripePaymentIntentID, dn.StripeInvoiceID, dn.StripeChargeID)
	}
	add(extra...)
	return out
}

// eventsAbout returns the recorded Stripe events about the objects, newest first, at most limit
// (-1: all).
func (db *DB) eventsAbout(ctx context.Context, objects []any, limit int) ([]pledge.StripeEvent, error) {
	if len(objects) == 0 {
		return nil, nil
	}
	args := append(append(append(make([]any, 0, 2*len(objects)+1), objects...), objects...), limit)
	return queryAll(ctx, db.read, eventsAboutSQL(len(objects)), args, func(rows *sql.Rows) (pledge.StripeEvent, error) {
		var e pledge.StripeEvent
		var created int64
		if err := rows.Scan(&e.ID, &e.Type, &created, &e.ObjectID, &e.Outcome); err != nil {
			return e, err
		}
		e.Created = time.Unix(created, 0).UTC()
		return e, nil
	})
}

// eventsAboutSQL is eventsAbout's query for n objects (its arguments: the objects twice, then the
// limit): the events whose object is one of them and those related to one, each found by its own
// index (named: most events relate to nothing, so the statistics of stripe_events_related say a
// related id matches half the table, and SQLite would rather walk every event newest first) and
// merged. With "object_id IN (...) OR related_id IN (...)" SQLite did walk them: half a second on
// the seeded 220,000 events for a supporter with few.
func eventsAboutSQL(n int) string {
	in := `(` + placeholders(n) + `)`
	return `
		SELECT id, type, created, object_id, outcome FROM stripe_events INDEXED BY stripe_events_object
		WHERE object_id IN ` + in + `
		UNION
		SELECT id, type, created, object_id, outcome FROM stripe_events INDEXED BY stripe_events_related
		WHERE related_id IN ` + in + `
		ORDER BY created DESC, id LIMIT ?`
}

// checkoutsOf returns the checkouts a supporter's donations and subscriptions came from, oldest
// first.
func (db *DB) checkoutsOf(ctx context.Context, supporterID int64) ([]pledge.CheckoutRecord, error) {
	return queryAll(ctx, db.read, `
		SELECT id, frequency, amount, currency, cover_fees, article, campaign, source, reader_id, status,
		       coalesce(stripe_session_id, ''), lang, created_at
		FROM checkouts WHERE id IN (SELECT checkout_id FROM donations WHERE supporter_id = ?1
		                            UNION SELECT checkout_id FROM subscriptions WHERE supporter_id = ?1)
		ORDER BY created_at, id`, []any{supporterID}, func(rows *sql.Rows) (pledge.CheckoutRecord, error) {
		var c pledge.CheckoutRecord
		var created int64
		if err := rows.Scan(&c.ID, &c.Frequency, &c.Amount.Amount, &c.Amount.Currency, &c.CoverFees, &c.Article,
			&c.Campaign, &c.Source, &c.ReaderID, &c.Status, &c.StripeSessionID, &c.Lang, &created); err != nil {
			return c, err
		}
		c.CreatedAt = time.Unix(created, 0).UTC()
		return c, nil
	})
}

func (db *DB) subscriptionsOf(ctx context.Context, supporterID int64) ([]pledge.Subscription, error) {
	return queryAll(ctx, db.read, `
		SELECT id, stripe_subscription_id, frequency, amount, currency, status, cancel_at_period_end,
		       current_period_end, started_at, canceled_at, cancellation_reason, article, campaign
		FROM subscriptions WHERE supporter_id = ? ORDER BY id DESC`, []any{supporterID}, func(rows *sql.Rows) (pledge.Subscription, error) {
		var s pledge.Subscription
		var periodEnd, started, canceled sql.NullInt64
		if err := rows.Scan(&s.ID, &s.StripeSubscriptionID, &s.Frequency, &s.Amount.Amount, &s.Amount.Currency,
			&s.Status, &s.CancelAtPeriodEnd, &periodEnd, &started, &canceled, &s.CancellationReason,
			&s.Article, &s.Campaign); err != nil {
			return s, err
		}
		s.CurrentPeriodEnd, s.StartedAt, s.CanceledAt = fromUnix(periodEnd), fromUnix(started), fromUnix(canceled)
		return s, nil
	})
}

func (db *DB) donationsOf(ctx context.Context, supporterID int64, limit int) ([]pledge.Donation, error) {
	return queryAll(ctx, db.read, `
		SELECT id, frequency, amount, currency, amount_refunded, status, dispute_status,
		       coalesce(stripe_payment_intent_id, ''), coalesce(stripe_invoice_id, ''),
		       coalesce(stripe_charge_id, ''), article, campaign, paid_at
		FROM donations WHERE supporter_id = ? ORDER BY paid_at DESC, id DESC LIMIT ?`, []any{supporterID, limit}, func(rows *sql.Rows) (pledge.Donation, error) {
		var d pledge.Donation
		var paid int64
		if err := rows.Scan(&d.ID, &d.Frequency, &d.Amount.Amount, &d.Amount.Currency, &d.Refunded, &d.Status,
			&d.DisputeStatus, &d.StripePaymentIntentID, &d.StripeInvoiceID, &d.StripeChargeID,
			&d.Article, &d.Campaign, &paid); err != nil {
			return d, err
		}
		d.PaidAt = time.Unix(paid, 0).UTC()
		return d, nil
	})
}

// person is what a data request reports and an erasure removes, chosen by one function for
// both (selectPerson), so the two can never cover different sets: the supporter records of one
// address (the one asked about first, then every other with the address in any case), their
// Stripe customers, and the address's reminder requests.
type person struct {
	email     string  // "" when the record asked about has no address (erased, or none given)
	ids       []int64 // supporter records
	customers []any   // Stripe customer ids
	deferrals []any   // deferral ids
	consents  []any   // newsletter_consents ids: of the records, or given on their checkouts' thank-you pages
}

// subjects names the records for the audit log ("supporter 21, supporter 22"), never the address.
func (p *person) subjects() string {
	if len(p.ids) == 0 {
		return "no supporter record"
	}
	parts := make([]string, len(p.ids))
	for i, id := range p.ids {
		parts[i] = fmt.Sprintf("supporter %d", id)
	}
	return strings.Join(parts, ", ")
}

// personSQL is selectPerson's query of the supporter records: the record ?1, and those of the
// address whose key is ?2 or (Stripe customers' addresses, stored as ?3) equal to ?3 in any case.
// A union of three lookups, each on its own index, for the reason addressMatch gives.
func (db *DB) personSQL() string {
	return `
		SELECT id FROM supporters
		WHERE id IN (SELECT CAST(?1 AS BIGINT)
			UNION ALL SELECT id FROM supporters WHERE ?2 <> '' AND email_key = ?2
			UNION ALL SELECT id FROM supporters WHERE ?2 <> '' AND ` + db.cmpNoCase("email", "=", "?3") + `)
		ORDER BY id <> ?1, id`
}

// selectPerson selects a person by a supporter record's id, or (id 0) by an address.
// Every look-up by address compares address keys (supporters and reminder requests) or, for
// Stripe customers, the stored address exactly as sealed or, without a data key, in any case.
func (db *DB) selectPerson(ctx context.Context, q rowsQueryer, id int64, email string) (*person, error) {
	if id != 0 {
		var e sql.NullString
		if err := q.QueryRowContext(ctx, `SELECT email FROM supporters WHERE id = ?`, id).Scan(&e); err != nil {
			return nil, translate(err)
		}
		var err error
		if email, err = db.open(e.String); err != nil {
			return nil, err
		}
	}
	p := &person{email: strings.TrimSpace(email)}
	key := db.addressKey(p.email)
	stored := db.seal(p.email)
	var err error
	if p.ids, err = queryIDs(ctx, q, db.personSQL(), id, key, stored); err != nil {
		return nil, err
	}
	if len(p.ids) == 0 {
		return p, nil
	}
	in := placeholders(len(p.ids))
	ids := make([]any, len(p.ids))
	for i, id := range p.ids {
		ids[i] = id
	}
	rows, err := q.QueryContext(ctx, `
		SELECT stripe_customer_id FROM customers
		WHERE supporter_id IN (`+in+`)
		   OR stripe_customer_id IN (SELECT stripe_customer_id FROM supporters WHERE id IN (`+in+`))
		   OR (? <> '' AND `+db.eqNoCase("email")+`)
		ORDER BY stripe_customer_id`, append(append(append([]any{}, ids...), ids...), stored, stored)...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return nil, err
		}
		p.customers = append(p.customers, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	cids, err := queryIDs(ctx, q, `
		SELECT id FROM newsletter_consents
		WHERE supporter_id IN (`+in+`)
		   OR checkout_id IN (SELECT checkout_id FROM donations WHERE supporter_id IN (`+in+`)
		                      UNION SELECT checkout_id FROM subscriptions WHERE supporter_id IN (`+in+`))
		ORDER BY id`, append(append(append([]any{}, ids...), ids...), ids...)...)
	if err != nil {
		return nil, err
	}
	for _, c := range cids {
		p.consents = append(p.consents, c)
	}
	if p.email != "" {
		where, args := db.addressMatch("deferrals", "", p.email)
		dids, err := queryIDs(ctx, q, `SELECT id FROM deferrals WHERE `+where+` ORDER BY id`, args...)
		if err != nil {
			return nil, err
		}
		for _, d := range dids {
			p.deferrals = append(p.deferrals, d)
		}
	}
	return p, nil
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// SupporterData gathers what is held about a supporter for a data request (the person
// selectPerson chooses, as an erasure would), and audits it.
func (db *DB) SupporterData(ctx context.Context, actor string, id int64) (_ *pledge.SupporterData, err error) {
	defer wrapErr(&err, "supporter data")
	p, err := db.selectPerson(ctx, db.read, id, "")
	if err != nil {
		return nil, err
	}
	out := &pledge.SupporterData{}
	var sessions []string
	var objects []any
	for i, sid := range p.ids {
		d, err := db.FindSupporter(ctx, sid)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			out.Supporter = d.Supporter
		} else {
			out.Records = append(out.Records, d.Supporter)
		}
		out.Subscriptions = append(out.Subscriptions, d.Subscriptions...)
		dons, err := db.donationsOf(ctx, sid, -1)
		if err != nil {
			return nil, err
		}
		out.Donations = append(out.Donations, dons...)
		checkouts, err := db.checkoutsOf(ctx, sid)
		if err != nil {
			return nil, err
		}
		out.Checkouts = append(out.Checkouts, checkouts...)
		for _, c := range checkouts {
			sessions = append(sessions, c.StripeSessionID)
		}
		objects = append(objects, stripeObjects(d.Supporter.StripeCustomerID, d.Subscriptions, dons)...)
	}
	objects = append(objects, p.customers...)
	for _, s := range sessions {
		if s != "" {
			objects = append(objects, s)
		}
	}
	if out.Events, err = db.eventsAbout(ctx, objects, -1); err != nil {
		return nil, err
	}
	if out.Customers, err = db.customerRecords(ctx, p.customers); err != nil {
		return nil, err
	}
	if out.Deferrals, err = db.deferralRecords(ctx, p.deferrals); err != nil {
		return nil, err
	}
	if out.Mails, out.MailUnsubscribes, err = db.mailRecords(ctx, p.ids); err != nil {
		return nil, err
	}
	if out.Newsletter, err = db.consentRecords(ctx, p.consents); err != nil {
		return nil, err
	}
	err = db.Audit(ctx, pledge.AuditEntry{Actor: actor, Action: "data request", Subject: p.subjects(),
		Detail: fmt.Sprintf("downloaded the data of supporter %d as JSON", id)})
	return out, err
}

func (db *DB) customerRecords(ctx context.Context, ids []any) ([]pledge.CustomerRecord, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return queryAll(ctx, db.read, `
		SELECT stripe_customer_id, coalesce(email, ''), name FROM customers
		WHERE stripe_customer_id IN (`+placeholders(len(ids))+`) ORDER BY stripe_customer_id`, ids, func(rows *sql.Rows) (pledge.CustomerRecord, error) {
		var c pledge.CustomerRecord
		if err := rows.Scan(&c.StripeCustomerID, &c.Email, &c.Name); err != nil {
			return c, err
		}
		if err := db.openAll(&c.Email, &c.Name); err != nil {
			return c, err
		}
		return c, nil
	})
}

// mailRecords lists the supporter e-mails (outbox rows) and unsubscribes of supporter records.
func (db *DB) mailRecords(ctx context.Context, ids []int64) ([]pledge.MailRecord, []pledge.MailUnsubscribe, error) {
	if len(ids) == 0 {
		return nil, nil, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	mails, err := queryAll(ctx, db.read, `
		SELECT kind, status, reason, lang, year, attempts, created_at, sent_at, link_opened_at FROM supporter_mail
		WHERE supporter_id IN (`+placeholders(len(ids))+`) ORDER BY created_at, id`, args, func(rows *sql.Rows) (pledge.MailRecord, error) {
		var m pledge.MailRecord
		var created int64
		var sent, opened sql.NullInt64
		err := rows.Scan(&m.Kind, &m.Status, &m.Reason, &m.Lang, &m.Year, &m.Attempts, &created, &sent, &opened)
		m.CreatedAt = time.Unix(created, 0).UTC()
		m.SentAt, m.LinkOpenedAt = timePtr(sent), timePtr(opened)
		return m, err
	})
	if err != nil {
		return nil, nil, err
	}
	unsubs, err := queryAll(ctx, db.read, `SELECT kind, at FROM mail_unsubscribes
		WHERE supporter_id IN (`+placeholders(len(ids))+`) ORDER BY at, kind`, args, func(rows *sql.Rows) (pledge.MailUnsubscribe, error) {
		var u pledge.MailUnsubscribe
		var at int64
		err := rows.Scan(&u.Kind, &at)
		u.At = time.Unix(at, 0).UTC()
		return u, err
	})
	if err != nil {
		return nil, nil, err
	}
	return mails, unsubs, nil
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.Unix(v.Int64, 0).UTC()
	return &t
}

// consentRecords returns newsletter consents by id, oldest first.
func (db *DB) consentRecords(ctx context.Context, ids []any) ([]pledge.NewsletterConsent, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return queryAll(ctx, db.read, `
		SELECT coalesce(supporter_id, 0), coalesce(checkout_id, ''), source, wording, lang, consented_at
		FROM newsletter_consents WHERE id IN (`+placeholders(len(ids))+`) ORDER BY consented_at, id`, ids, func(rows *sql.Rows) (pledge.NewsletterConsent, error) {
		var c pledge.NewsletterConsent
		var at int64
		if err := rows.Scan(&c.SupporterID, &c.CheckoutID, &c.Source, &c.Wording, &c.Lang, &at); err != nil {
			return c, err
		}
		c.ConsentedAt = time.Unix(at, 0).UTC()
		return c, nil
	})
}

func (db *DB) deferralRecords(ctx context.Context, ids []any) ([]pledge.DeferralRecord, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return queryAll(ctx, db.read, `
		SELECT article, choice, remind_at, reminder_status, created_at FROM deferrals
		WHERE id IN (`+placeholders(len(ids))+`) ORDER BY created_at, id`, ids, func(rows *sql.Rows) (pledge.DeferralRecord, error) {
		var r pledge.DeferralRecord
		var remind, created int64
		if err := rows.Scan(&r.Article, &r.Choice, &remind, &r.ReminderStatus, &created); err != nil {
			return r, err
		}
		r.RemindAt, r.CreatedAt = time.Unix(remind, 0).UTC(), time.Unix(created, 0).UTC()
		return r, nil
	})
}

// EraseSupporter anonymises a supporter and every other record of the person (selectPerson: the
// same address in any case, their Stripe customers): the address and name go, amounts and dates
// stay for the accounts; the address's reminder requests are deleted. The audit entry names the
// records, not the address.
func (db *DB) EraseSupporter(ctx context.Context, actor string, id int64) (err error) {
	defer wrapErr(&err, "erase supporter")
	_, err = db.erase(ctx, actor, id, "")
	return err
}

// EraseEmail erases every supporter with the address (in any case), their Stripe customers and
// the address's reminder requests.
func (db *DB) EraseEmail(ctx context.Context, actor, email string) (_ int, err error) {
	defer wrapErr(&err, "erase email")
	email = strings.TrimSpace(email)
	if email == "" {
		return 0, pledge.FieldErrorf("email", "Give the address to erase.")
	}
	return db.erase(ctx, actor, 0, email)
}

// erase erases the person selectPerson chooses by id or address, and returns how many supporter
// records it erased. After the commit the write-ahead log is checkpointed and truncated
// (forgetWAL), so no copy of the address or name stays in the database's files.
func (db *DB) erase(ctx context.Context, actor string, id int64, email string) (int, error) {
	tx, err := db.BeginTx(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	p, err := db.selectPerson(ctx, tx, id, email)
	if err != nil {
		return 0, err
	}
	if err := erasePerson(ctx, tx, p); err != nil {
		return 0, err
	}
	if err := audit(ctx, tx, pledge.AuditEntry{Actor: actor, Action: "erase", Subject: p.subjects(),
		Detail: fmt.Sprintf("address and name removed; %d reminder request(s) and %d newsletter consent(s) deleted",
			len(p.deferrals), len(p.consents))}); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	// No copy of the address may stay in the -wal file. Should readers hold the log a while,
	// the background retries: the erasure itself is done.
	if err := db.forgetWAL(ctx); err != nil {
		db.forgetSoon()
	}
	return len(p.ids), nil
}

// erasePerson removes a person's address and name from their supporter records and Stripe
// customers (amounts and dates stay for the accounts), deletes their reminder requests and
// newsletter consents, and cancels their supporter e-mails not sent yet.
func erasePerson(ctx context.Context, tx *Tx, p *person) error {
	now := tx.now.Unix()
	if len(p.ids) > 0 {
		ids := make([]any, len(p.ids))
		for i, id := range p.ids {
			ids[i] = id
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE supporters SET email = NULL, email_key = '', name = '', erased_at = coalesce(erased_at, ?),
			       updated_at = ?
			WHERE id IN (`+placeholders(len(ids))+`)`, append([]any{now, now}, ids...)...); err != nil {
			return err
		}
	}
	if len(p.customers) > 0 {
		if _, err := tx.ExecContext(ctx, `
			UPDATE customers SET email = NULL, name = '', erased_at = coalesce(erased_at, ?)
			WHERE stripe_customer_id IN (`+placeholders(len(p.customers))+`)`, append([]any{now}, p.customers...)...); err != nil {
			return err
		}
	}
	if len(p.deferrals) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM deferrals WHERE id IN (`+placeholders(len(p.deferrals))+`)`,
			p.deferrals...); err != nil {
			return err
		}
	}
	if len(p.consents) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM newsletter_consents WHERE id IN (`+placeholders(len(p.consents))+`)`,
			p.consents...); err != nil {
			return err
		}
	}
	if len(p.ids) > 0 {
		// E-mails not sent yet will not be: there is no address to send them to.
		ids := make([]any, len(p.ids))
		for i, id := range p.ids {
			ids[i] = id
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE supporter_mail SET status = 'cancelled', reason = 'supporter erased', next_attempt_at = NULL, updated_at = ?
			WHERE status = 'pending' AND supporter_id IN (`+placeholders(len(ids))+`)`, append([]any{now}, ids...)...); err != nil {
			return err
		}
	}
	return nil
}

// Audit records one action in the audit log.
func (db *DB) Audit(ctx context.Context, e pledge.AuditEntry) (err error) {
	defer wrapErr(&err, "audit")
	return db.inTx(ctx, func(tx *Tx) error { return audit(ctx, tx, e) })
}

func audit(ctx context.Context, tx *Tx, e pledge.AuditEntry) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)`,
		tx.now.Unix(), e.Actor, e.Action, e.Subject, e.Detail)
	return err
}

// AuditLog returns the latest entries of the audit log, newest first.
func (db *DB) AuditLog(ctx context.Context, limit int) (_ []pledge.AuditEntry, err error) {
	defer wrapErr(&err, "audit log")
	return queryAll(ctx, db.read, `
		SELECT at, actor, action, subject, detail FROM audit_log ORDER BY at DESC, id DESC LIMIT ?`, []any{limit}, func(rows *sql.Rows) (pledge.AuditEntry, error) {
		var e pledge.AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.Actor, &e.Action, &e.Subject, &e.Detail); err != nil {
			return e, err
		}
		e.At = time.Unix(at, 0).UTC()
		return e, nil
	})
}

// RecordNewsletterConsent stores a newsletter opt-in. One given on a checkout's thank-you page
// names the checkout's supporter when the ledger already knows it; otherwise the checkout links
// it to them (data requests, erasure and the export look both ways).
func (db *DB) RecordNewsletterConsent(ctx context.Context, c *pledge.NewsletterConsent) (err error) {
	defer wrapErr(&err, "record newsletter consent")
	if strings.TrimSpace(c.Wording) == "" {
		return pledge.Errorf(pledge.EINVALID, "A consent needs the wording it was given to.")
	}
	return db.inTx(ctx, func(tx *Tx) error {
		supporter := sql.NullInt64{Int64: c.SupporterID, Valid: c.SupporterID > 0}
		if !supporter.Valid && c.CheckoutID != "" {
			err := tx.QueryRowContext(ctx, `
				SELECT supporter_id FROM donations WHERE checkout_id = ?1 AND supporter_id IS NOT NULL
				UNION ALL SELECT supporter_id FROM subscriptions WHERE checkout_id = ?1 AND supporter_id IS NOT NULL
				LIMIT 1`, c.CheckoutID).Scan(&supporter)
			if err != nil && err != sql.ErrNoRows {
				return err
			}
		}
		checkout := sql.NullString{String: c.CheckoutID, Valid: c.CheckoutID != ""}
		c.ConsentedAt = tx.now.UTC().Truncate(time.Second)
		_, err := tx.ExecContext(ctx, `
			INSERT INTO newsletter_consents (supporter_id, checkout_id, source, wording, lang, consented_at)
			VALUES (?, ?, ?, ?, ?, ?)`, supporter, checkout, c.Source, c.Wording, c.Lang, c.ConsentedAt.Unix())
		return err
	})
}
