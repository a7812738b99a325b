package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// ApplyEvent records a Stripe event and applies its fact in one write transaction. The event id
// is the primary key of stripe_events, so a second delivery finds it there, answers
// OutcomeDuplicate and changes nothing. Every effect is an upsert keyed by a Stripe id and merged
// by a rule that does not depend on the order of arrival, so that the ledger ends the same
// whatever order Stripe delivers in. On any error the whole transaction rolls back: nothing of
// the event is kept and Stripe's retry applies it afresh.
func (db *DB) ApplyEvent(ctx context.Context, e *pledge.LedgerEvent) (_ pledge.Outcome, err error) {
	defer wrapErr(&err, "apply event")
	// Group commit: events arriving together (Stripe sends bursts) share one durable commit, each
	// under its own savepoint, so one event's failure rolls back that event alone.
	// Once the committer runs fn, fn's queries must not follow ctx: the transaction is shared, and a
	// cancelled request interrupting the connection would make SQLite roll back every caller's
	// write. Whether to start at all is the committer's call (it skips a cancelled caller).
	wctx := context.WithoutCancel(ctx)
	var outcome pledge.Outcome
	err = db.WriteGrouped(ctx, func(tx *Tx) error {
		var err error
		outcome, err = applyEvent(wctx, tx, e)
		return err
	})
	if err != nil {
		return pledge.OutcomeFailed, err
	}
	return outcome, nil
}

// applyEvent records the event, or finds it recorded (a duplicate), and applies its fact. The
// event is recorded as applied, as most are, and its outcome written again only when the fact
// ends otherwise: no one sees the row before the transaction commits, and on an error the
// transaction rolls back with it.
func applyEvent(ctx context.Context, tx *Tx, e *pledge.LedgerEvent) (pledge.Outcome, error) {
	res, err := tx.ExecContext(ctx, `
		INSERT INTO stripe_events (id, type, created, livemode, object_id, related_id, checkout_id, outcome, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		e.ID, e.Type, e.Created.Unix(), e.Livemode, e.ObjectID, e.RelatedID(), e.CheckoutID(), pledge.OutcomeApplied, tx.now.Unix())
	if err != nil {
		return pledge.OutcomeFailed, fmt.Errorf("record event: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return pledge.OutcomeDuplicate, nil
	}
	outcome, err := applyFact(ctx, tx, e)
	if err != nil {
		return pledge.OutcomeFailed, fmt.Errorf("apply %s: %w", e.Type, err)
	}
	if outcome == pledge.OutcomeApplied {
		// The e-mails the fact calls for are decided from the state it left, in its transaction.
		if err := enqueueMail(ctx, tx, e); err != nil {
			return pledge.OutcomeFailed, fmt.Errorf("enqueue e-mail for %s: %w", e.Type, err)
		}
		return outcome, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE stripe_events SET outcome = ? WHERE id = ?`, outcome, e.ID); err != nil {
		return pledge.OutcomeFailed, err
	}
	return outcome, nil
}

// HasEvent reports whether the event is recorded.
func (db *DB) HasEvent(ctx context.Context, id string) (_ bool, err error) {
	defer wrapErr(&err, "has event")
	var n int
	err = db.read.QueryRowContext(ctx, `SELECT count(*) FROM stripe_events WHERE id = ?`, id).Scan(&n)
	return n > 0, err
}

// SubscriptionMeta returns the Pledge metadata of a stored subscription (every stored subscription
// is Pledge's), so that an invoice whose payload lacks it can be settled without asking Stripe.
func (db *DB) SubscriptionMeta(ctx context.Context, stripeID string) (_ pledge.Metadata, err error) {
	defer wrapErr(&err, "subscription meta")
	var m pledge.Metadata
	var checkout sql.NullString
	err = db.read.QueryRowContext(ctx, `
		SELECT checkout_id, frequency, article, campaign FROM subscriptions
		WHERE stripe_subscription_id = ?`, stripeID).Scan(&checkout, &m.Frequency, &m.Article, &m.Campaign)
	if err != nil {
		return m, translate(err)
	}
	m.CheckoutID = checkout.String
	return m, nil
}

func applyFact(ctx context.Context, tx *Tx, e *pledge.LedgerEvent) (pledge.Outcome, error) {
	at := e.Created.Unix()
	switch f := e.Fact.(type) {
	case *pledge.CheckoutCompleted:
		return applyCheckoutCompleted(ctx, tx, f, at)
	case *pledge.CheckoutClosed:
		_, err := advanceCheckout(ctx, tx, f.CheckoutID, f.SessionID, f.Status)
		return pledge.OutcomeApplied, err
	case *pledge.InvoicePaid:
		return applyInvoicePaid(ctx, tx, f, at)
	case *pledge.InvoiceFailed:
		return applyInvoiceFailed(ctx, tx, f, at)
	case *pledge.InvoiceUpcoming:
		return pledge.OutcomeApplied, nil // no ledger fact: only the renewal notice (enqueueMail)
	case *pledge.SubscriptionChanged:
		return applySubscriptionChanged(ctx, tx, f, e.ID, at)
	case *pledge.CustomerChanged:
		return applyCustomerChanged(ctx, tx, f, at)
	case *pledge.ChargeRefunded:
		return applyCharge(ctx, tx, chargeFact{id: f.ChargeID, pi: f.PaymentIntent, invoice: f.Invoice, ours: f.Meta.CheckoutID != "",
			currency: f.Amount.Currency, merge: refundedMerge(f.AmountRefunded, at)})
	case *pledge.RefundUpdated:
		if err := upsertRefund(ctx, tx, f, at); err != nil {
			return "", err
		}
		fact := chargeFact{id: f.ChargeID, pi: f.PaymentIntent, currency: f.Currency, merge: func(*chargeRow) {}}
		if c := f.Charge; c != nil { // read again after a failure: the charge's total as of this event
			fact = chargeFact{id: c.ChargeID, pi: c.PaymentIntent, invoice: c.Invoice, ours: c.Meta.CheckoutID != "",
				currency: c.Amount.Currency, merge: refundedMerge(c.AmountRefunded, at)}
		}
		return applyCharge(ctx, tx, fact)
	case *pledge.DisputeChanged:
		return applyCharge(ctx, tx, chargeFact{id: f.ChargeID, pi: f.PaymentIntent, currency: f.Amount.Currency,
			merge: func(c *chargeRow) {
				nr, or := pledge.DisputeRank(f.Status), pledge.DisputeRank(c.dispute)
				if nr > or || nr == or && (at > c.disputeAt || at == c.disputeAt && f.Status > c.dispute) {
					c.dispute, c.disputeAt = f.Status, at
				}
				c.disputeAmount = max(c.disputeAmount, f.Amount.Amount)
				c.reinstated = c.reinstated || f.Reinstated
			}})
	case *pledge.FraudWarning:
		return applyCharge(ctx, tx, chargeFact{id: f.ChargeID, pi: f.PaymentIntent,
			merge: func(c *chargeRow) { c.fraud = true }})
	case nil:
		return pledge.OutcomeIgnored, nil
	default:
		return pledge.OutcomeFailed, fmt.Errorf("unknown fact %T", f)
	}
}

// refundedMerge keeps the newest refunded total reported for a charge (the larger on a tie).
func refundedMerge(total, at int64) func(*chargeRow) {
	return func(c *chargeRow) {
		if at > c.refundedAt || at == c.refundedAt && total > c.refunded {
			c.refunded, c.refundedAt = total, at
		}
	}
}

// refundRank orders refund statuses at the same instant: failed and canceled are final.
func refundRank(status string) int {
	switch status {
	case "failed", "canceled":
		return 3
	case "succeeded":
		return 2
	case "requires_action":
		return 1
	}
	return 0
}

// upsertRefund keeps each refund's newest status (final ones outrank the rest).
func upsertRefund(ctx context.Context, tx *Tx, f *pledge.RefundUpdated, at int64) error {
	if f.RefundID == "" || f.ChargeID == "" {
		return nil
	}
	var status string
	var statusAt int64
	err := tx.QueryRowContext(ctx, `SELECT status, status_at FROM refunds WHERE stripe_refund_id = ?`, f.RefundID).Scan(&status, &statusAt)
	if err == nil {
		newer := pledge.StateKey{Terminal: refundRank(f.Status) == 3, At: at, Rank: refundRank(f.Status)}
		old := pledge.StateKey{Terminal: refundRank(status) == 3, At: statusAt, Rank: refundRank(status)}
		if newer.Less(old) || !old.Less(newer) {
			return nil
		}
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO refunds (stripe_refund_id, stripe_charge_id, amount, currency, status, status_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (stripe_refund_id) DO UPDATE SET status = excluded.status, status_at = excluded.status_at`,
		f.RefundID, f.ChargeID, f.Amount, f.Currency, f.Status, at)
	return err
}

// localCheckout returns the stored checkout named by metadata, or nil when there is none here
// (an event from another environment, or a hand-made trigger): the ledger then keeps the
// metadata's article and campaign and links no checkout, rather than failing for ever.
func localCheckout(ctx context.Context, tx *Tx, id string) (*pledge.Checkout, error) {
	if id == "" {
		return nil, nil
	}
	c, err := findCheckout(ctx, tx, `id = ?`, id)
	if pledge.ErrorCode(err) == pledge.ENOTFOUND {
		return nil, nil
	}
	return c, err
}

// origin is where a gift came from: the checkout row when it is here, else the metadata.
type origin struct {
	checkoutID any // nil when the checkout is not stored here
	frequency  pledge.Frequency
	article    string
	campaign   string
	source     string
}

func originOf(c *pledge.Checkout, m pledge.Metadata, interval string) origin {
	o := origin{frequency: m.Frequency, article: m.Article, campaign: m.Campaign}
	if c != nil {
		o = origin{checkoutID: c.ID, frequency: c.Frequency, article: c.Article, campaign: c.Campaign, source: c.Source}
	}
	if f := pledge.FrequencyFromInterval(interval); f.Recurring() {
		o.frequency = f // what Stripe bills is the truth
	}
	return o
}

// recurring returns the frequency of a subscription, monthly when nothing says otherwise (the
// invoice's interval corrects it when it arrives).
func (o origin) recurring() pledge.Frequency {
	if o.frequency.Recurring() {
		return o.frequency
	}
	return pledge.Monthly
}

func applyCheckoutCompleted(ctx context.Context, tx *Tx, f *pledge.CheckoutCompleted, at int64) (pledge.Outcome, error) {
	if !f.Paid {
		// Bank debits and the like complete unpaid; async_payment_succeeded or _failed follows.
		return pledge.OutcomeApplied, nil
	}
	c, err := advanceCheckout(ctx, tx, f.CheckoutID, f.SessionID, pledge.CheckoutPaid)
	if err != nil {
		return "", err
	}
	supporter, err := linkCustomer(ctx, tx, f.Customer, at, true)
	if err != nil {
		return "", err
	}
	o := originOf(c, f.Meta, "")
	switch {
	case f.Subscription != "":
		subID, err := seedSubscription(ctx, tx, subscriptionSeed{
			stripeID: f.Subscription, customer: f.Customer.StripeID, supporter: supporter, origin: o,
			amount: f.Amount, startedAt: at,
		})
		if err != nil {
			return "", err
		}
		if f.Invoice != "" && f.Amount.Amount > 0 {
			// The first invoice's donation, keyed by the invoice as invoice.paid keys it: whichever
			// arrives first creates it, and the invoice's own figures win.
			o.frequency = o.recurring()
			if err := upsertDonation(ctx, tx, donation{
				key: "stripe_invoice_id", keyValue: f.Invoice, customer: f.Customer.StripeID, supporter: supporter,
				subscription: subID, origin: o, amount: f.Amount, tax: f.Tax, paidAt: at,
			}, false); err != nil {
				return "", err
			}
		}
		return pledge.OutcomeApplied, recomputeSubscription(ctx, tx, f.Subscription)
	case f.PaymentIntent != "" && f.Amount.Amount > 0: // a fully discounted session is no gift
		o.frequency = pledge.Once
		if err := upsertDonation(ctx, tx, donation{
			key: "stripe_payment_intent_id", keyValue: f.PaymentIntent, customer: f.Customer.StripeID, supporter: supporter,
			origin: o, amount: f.Amount, tax: f.Tax, paidAt: at, charge: f.Charge,
		}, false); err != nil {
			return "", err
		}
	}
	return pledge.OutcomeApplied, nil
}

// advanceCheckout moves a checkout forward (open, abandoned, failed, paid) and never back, and
// remembers its session when the checkout did not know it yet. It returns the checkout as it
// left it, or nil when it is not stored here (as localCheckout does), in the same statement.
func advanceCheckout(ctx context.Context, tx *Tx, id, session string, status pledge.CheckoutStatus) (*pledge.Checkout, error) {
	if id == "" {
		return nil, nil
	}
	c, err := scanCheckout(tx.QueryRowContext(ctx, `
		UPDATE checkouts SET
			status = CASE WHEN (CASE status WHEN 'open' THEN 1 WHEN 'abandoned' THEN 2 WHEN 'failed' THEN 3
			                                 WHEN 'paid' THEN 4 ELSE 0 END) < ?1 THEN ?2 ELSE status END,
			stripe_session_id = COALESCE(stripe_session_id,
				(SELECT NULLIF(?3, '') WHERE NOT EXISTS (SELECT 1 FROM checkouts WHERE stripe_session_id = ?3))),
			updated_at = ?4
		WHERE id = ?5
		RETURNING `+checkoutColumns, pledge.CheckoutRank(status), status, session, tx.now.Unix(), id))
	if pledge.ErrorCode(err) == pledge.ENOTFOUND {
		return nil, nil
	}
	return c, err
}

// subscriptionSeed is what a checkout or an invoice knows about a subscription: enough to create
// its row when it is not there yet, never enough to overrule what the subscription's own history
// says (recomputeSubscription derives the row from that).
type subscriptionSeed struct {
	stripeID  string
	customer  string
	supporter any
	origin    origin
	amount    pledge.Money
	startedAt int64
}

// seedSubscription creates the subscription row if missing (incomplete until its history says
// otherwise) and fills in links it lacked. It returns the row id.
func seedSubscription(ctx context.Context, tx *Tx, s subscriptionSeed) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `
		INSERT INTO subscriptions (stripe_subscription_id, stripe_customer_id, supporter_id, checkout_id,
		                           frequency, amount, currency, status, started_at, article, campaign,
		                           state_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'incomplete', ?, ?, ?, 0, ?, ?)
		ON CONFLICT (stripe_subscription_id) DO UPDATE SET
			stripe_customer_id = CASE WHEN subscriptions.stripe_customer_id = '' THEN excluded.stripe_customer_id ELSE subscriptions.stripe_customer_id END,
			supporter_id = COALESCE(excluded.supporter_id, subscriptions.supporter_id),
			checkout_id = COALESCE(subscriptions.checkout_id, excluded.checkout_id),
			article = CASE WHEN subscriptions.article = '' THEN excluded.article ELSE subscriptions.article END,
			campaign = CASE WHEN subscriptions.campaign = '' THEN excluded.campaign ELSE subscriptions.campaign END
		RETURNING id`,
		s.stripeID, s.customer, s.supporter, s.origin.checkoutID, s.origin.recurring(), s.amount.Amount,
		s.amount.Currency, nullUnix(s.startedAt), s.origin.article, s.origin.campaign, tx.now.Unix(), tx.now.Unix(),
	).Scan(&id)
	if err != nil {
		return 0, err
	}
	if s.supporter == nil && s.customer != "" {
		// The customer may already belong to a supporter (a gift came first).
		_, err = tx.ExecContext(ctx, `UPDATE subscriptions SET supporter_id =
			(SELECT supporter_id FROM customers WHERE stripe_customer_id = ?) WHERE id = ? AND supporter_id IS NULL`, s.customer, id)
	}
	return id, err
}

func nullUnix(n int64) any {
	if n <= 0 {
		return nil
	}
	return n
}

// applySubscriptionChanged keeps the subscription object in the subscription's history and
// derives the subscription's row and spans of revenue from the whole history again.
func applySubscriptionChanged(ctx context.Context, tx *Tx, f *pledge.SubscriptionChanged, eventID string, at int64) (pledge.Outcome, error) {
	c, err := localCheckout(ctx, tx, f.Meta.CheckoutID)
	if err != nil {
		return "", err
	}
	supporter, err := linkCustomer(ctx, tx, f.Customer, at, false)
	if err != nil {
		return "", err
	}
	o := originOf(c, f.Meta, f.Interval)
	if _, err := seedSubscription(ctx, tx, subscriptionSeed{
		stripeID: f.SubscriptionID, customer: f.Customer.StripeID, supporter: supporter, origin: o,
		amount: f.Amount, startedAt: f.StartedAt.Unix(),
	}); err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO subscription_states (stripe_subscription_id, event_id, at, status, amount, currency, interval,
		    cancel_at_period_end, cancel_at, canceled_at, ended_at, current_period_end, started_at, paused, cancellation_reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
		f.SubscriptionID, eventID, at, f.Status, f.Amount.Amount, f.Amount.Currency, f.Interval, f.CancelAtPeriodEnd,
		unix(f.CancelAt), unix(f.CanceledAt), unix(f.EndedAt), unix(f.CurrentPeriodEnd), unix(f.StartedAt), f.Paused,
		f.CancellationReason); err != nil {
		return "", err
	}
	return pledge.OutcomeApplied, recomputeSubscription(ctx, tx, f.SubscriptionID)
}

// subscriptionFacts is everything stored about one subscription that its row and its spans of
// recurring revenue are derived from: what the checkout said (fallbacks), the objects events
// showed, its paid invoices (its donations) and its failed attempts.
type subscriptionFacts struct {
	id         int64
	stripeID   string
	frequency  pledge.Frequency
	currency   pledge.Currency
	seedAmount int64
	seedStart  sql.NullInt64
	states     []pledge.SubscriptionState
	payments   []pledge.SubscriptionPayment
}

const subscriptionFactsColumns = `id, stripe_subscription_id, frequency, currency, amount, started_at`

func (f *subscriptionFacts) scan(r scanner) error {
	return r.Scan(&f.id, &f.stripeID, &f.frequency, &f.currency, &f.seedAmount, &f.seedStart)
}

// subscriptionStatesQuery and subscriptionPaymentsQuery read the history of the subscriptions
// where holds (a condition on the Stripe subscription id, s).
const subscriptionStatesQuery = `
	SELECT stripe_subscription_id, event_id, at, status, amount, currency, interval, cancel_at_period_end, cancel_at,
	       canceled_at, ended_at, current_period_end, started_at, paused, cancellation_reason
	FROM subscription_states s WHERE `

const subscriptionPaymentsQuery = `
	SELECT s.stripe_subscription_id, d.paid_at, coalesce(d.stripe_invoice_id, ''), d.amount, d.currency, 0
	FROM donations d JOIN subscriptions s ON s.id = d.subscription_id WHERE %[1]s
	UNION ALL
	SELECT s.stripe_subscription_id, s.failed_at, s.stripe_invoice_id, s.amount, s.currency, 1
	FROM invoice_attempts s WHERE %[1]s`

// loadSubscriptionHistory reads the states and payments of the subscriptions where holds and
// hands each to add with its Stripe subscription id.
func loadSubscriptionHistory(ctx context.Context, tx *Tx, where string, arg []any,
	addState func(string, pledge.SubscriptionState), addPayment func(string, pledge.SubscriptionPayment)) error {
	err := eachRow(ctx, tx, subscriptionStatesQuery+where, arg, func(rows *sql.Rows) error {
		var sub string
		var s pledge.SubscriptionState
		var at int64
		var cancelAt, canceled, ended, cpe, started sql.NullInt64
		if err := rows.Scan(&sub, &s.EventID, &at, &s.Status, &s.Amount.Amount, &s.Amount.Currency, &s.Interval,
			&s.CancelAtPeriodEnd, &cancelAt, &canceled, &ended, &cpe, &started, &s.Paused, &s.CancellationReason); err != nil {
			return err
		}
		s.At, s.CancelAt, s.CanceledAt, s.EndedAt = e2t(at), fromUnix(cancelAt), fromUnix(canceled), fromUnix(ended)
		s.CurrentPeriodEnd, s.StartedAt = fromUnix(cpe), fromUnix(started)
		addState(sub, s)
		return nil
	})
	if err != nil {
		return err
	}
	return eachRow(ctx, tx, fmt.Sprintf(subscriptionPaymentsQuery, where), append(arg, arg...), func(rows *sql.Rows) error {
		var sub string
		var p pledge.SubscriptionPayment
		var at int64
		if err := rows.Scan(&sub, &at, &p.Invoice, &p.Amount.Amount, &p.Amount.Currency, &p.Failed); err != nil {
			return err
		}
		p.At = e2t(at)
		addPayment(sub, p)
		return nil
	})
}

// life derives the subscription's life (pledge.SubscriptionTimeline) and writes its row. It
// returns the spans of recurring revenue, for the caller to store.
func (f *subscriptionFacts) writeLife(ctx context.Context, tx *Tx) ([]pledge.Segment, error) {
	fallback := pledge.SubscriptionState{Interval: f.frequency.Interval(), Amount: pledge.Money{Currency: f.currency}}
	life := pledge.SubscriptionTimeline(fallback, f.states, f.payments)
	l := life.Latest
	started := l.StartedAt
	if !life.HasState {
		// Only invoices and the checkout: the amount and start of the first payment.
		started = time.Time{}
		for _, p := range f.payments {
			if !p.Failed && (started.IsZero() || p.At.Before(started)) {
				started, l.Amount = p.At, p.Amount
			}
		}
		if l.Amount.Amount == 0 {
			l.Amount = pledge.Money{Amount: f.seedAmount, Currency: f.currency}
		}
		if started.IsZero() && f.seedStart.Valid {
			started = e2t(f.seedStart.Int64)
		}
	}
	freq := pledge.FrequencyFromInterval(l.Interval)
	if !freq.Recurring() {
		freq = f.frequency
	}
	_, err := tx.ExecContext(ctx, `
		UPDATE subscriptions SET status = ?, amount = ?, currency = ?, frequency = ?, cancel_at_period_end = ?,
		       cancel_at = ?, canceled_at = ?, ended_at = ?, current_period_end = ?, started_at = ?, paused = ?,
		       cancellation_reason = ?, updated_at = ?
		WHERE id = ?`,
		life.Status, l.Amount.Amount, l.Amount.Currency, freq, l.CancelAtPeriodEnd, unix(l.CancelAt), unix(l.CanceledAt),
		unix(life.EndedAt), unix(l.CurrentPeriodEnd), unix(started), l.Paused, l.CancellationReason, tx.now.Unix(), f.id)
	return life.Segments, err
}

// recomputeSubscription derives a subscription's row (status, fields) and its spans of recurring
// revenue from everything stored about it, and moves the rollup from its old spans to the new.
func recomputeSubscription(ctx context.Context, tx *Tx, stripeID string) error {
	var f subscriptionFacts
	if err := f.scan(tx.QueryRowContext(ctx, `SELECT `+subscriptionFactsColumns+` FROM subscriptions
		WHERE stripe_subscription_id = ?`, stripeID)); err != nil {
		return err
	}
	err := loadSubscriptionHistory(ctx, tx, `s.stripe_subscription_id = ?`, []any{stripeID},
		func(_ string, s pledge.SubscriptionState) { f.states = append(f.states, s) },
		func(_ string, p pledge.SubscriptionPayment) { f.payments = append(f.payments, p) })
	if err != nil {
		return err
	}
	segs, err := f.writeLife(ctx, tx)
	if err != nil {
		return err
	}
	return replaceSegments(ctx, tx, f.id, segs)
}

// rebuildSubscriptions is recomputeSubscription for every subscription at once (the rebuild):
// the history is read in two scans and subscriptions_daily written once from the spans' sums.
func rebuildSubscriptions(ctx context.Context, tx *Tx) error {
	subs := map[string]*subscriptionFacts{}
	var order []*subscriptionFacts
	rows, err := tx.QueryContext(ctx, `SELECT `+subscriptionFactsColumns+` FROM subscriptions ORDER BY id`)
	if err != nil {
		return err
	}
	for rows.Next() {
		f := &subscriptionFacts{}
		if err := f.scan(rows); err != nil {
			rows.Close()
			return err
		}
		subs[f.stripeID] = f
		order = append(order, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	err = loadSubscriptionHistory(ctx, tx, `true`, nil,
		func(sub string, s pledge.SubscriptionState) {
			if f := subs[sub]; f != nil {
				f.states = append(f.states, s)
			}
		},
		func(sub string, p pledge.SubscriptionPayment) {
			if f := subs[sub]; f != nil {
				f.payments = append(f.payments, p)
			}
		})
	if err != nil {
		return err
	}
	type key struct {
		day                 int64
		currency, frequency string
	}
	daily := map[key]spanDelta{}
	for _, f := range order {
		segs, err := f.writeLife(ctx, tx)
		if err != nil {
			return err
		}
		for i, s := range segs {
			if err := insertSegment(ctx, tx, f.id, s); err != nil {
				return err
			}
			for _, d := range spanDeltas(s, i == 0) {
				k := key{d.day, d.currency, d.frequency}
				sum := daily[k]
				sum.n, sum.amount = sum.n+d.n, sum.amount+d.amount
				sum.scheduled, sum.ended = sum.scheduled+d.scheduled, sum.ended+d.ended
				sum.started += d.started
				daily[k] = sum
			}
		}
	}
	for k, d := range daily {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount, scheduled, ended, started)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, k.day, k.currency, k.frequency, d.n, d.amount, d.scheduled, d.ended, d.started); err != nil {
			return err
		}
	}
	return nil
}

func applyInvoicePaid(ctx context.Context, tx *Tx, f *pledge.InvoicePaid, at int64) (pledge.Outcome, error) {
	c, err := localCheckout(ctx, tx, f.Meta.CheckoutID)
	if err != nil {
		return "", err
	}
	supporter, err := linkCustomer(ctx, tx, f.Customer, at, f.Amount.Amount > 0)
	if err != nil {
		return "", err
	}
	o := originOf(c, f.Meta, f.Interval)
	subID, err := seedSubscription(ctx, tx, subscriptionSeed{
		stripeID: f.Subscription, customer: f.Customer.StripeID, supporter: supporter, origin: o,
		amount: f.Amount, startedAt: f.PeriodStart.Unix(),
	})
	if err != nil {
		return "", err
	}
	if f.Amount.Amount > 0 { // a trial or fully discounted invoice is no donation
		paidAt := f.PaidAt.Unix()
		if f.PaidAt.IsZero() {
			paidAt = at
		}
		o.frequency = o.recurring()
		if err := upsertDonation(ctx, tx, donation{
			key: "stripe_invoice_id", keyValue: f.InvoiceID, customer: f.Customer.StripeID, supporter: supporter,
			subscription: subID, origin: o, amount: f.Amount, tax: f.Tax, paidAt: paidAt, paymentIntent: f.PaymentIntent,
			charge: f.Charge,
		}, true); err != nil {
			return "", err
		}
	}
	return pledge.OutcomeApplied, recomputeSubscription(ctx, tx, f.Subscription)
}

func applyInvoiceFailed(ctx context.Context, tx *Tx, f *pledge.InvoiceFailed, at int64) (pledge.Outcome, error) {
	c, err := localCheckout(ctx, tx, f.Meta.CheckoutID)
	if err != nil {
		return "", err
	}
	if _, err := seedSubscription(ctx, tx, subscriptionSeed{
		stripeID: f.Subscription, origin: originOf(c, f.Meta, ""), amount: f.Amount,
	}); err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO invoice_attempts (stripe_invoice_id, stripe_subscription_id, attempt, action_required,
		                              amount, currency, next_attempt_at, failed_at, paid_at)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, `+attemptPaidAt+`)
		ON CONFLICT (stripe_invoice_id, attempt, action_required) DO NOTHING`,
		f.InvoiceID, f.Subscription, f.AttemptCount, f.ActionRequired, f.Amount.Amount, f.Amount.Currency,
		unix(f.NextAttempt), at); err != nil {
		return "", err
	}
	return pledge.OutcomeApplied, recomputeSubscription(ctx, tx, f.Subscription)
}

// applyCustomerChanged records a customer's new address or name (the billing portal changes
// them) and moves the customer to the supporter of its new address.
func applyCustomerChanged(ctx context.Context, tx *Tx, f *pledge.CustomerChanged, at int64) (pledge.Outcome, error) {
	if _, err := linkCustomer(ctx, tx, f.Customer, at, false); err != nil {
		return "", err
	}
	return pledge.OutcomeApplied, nil
}

// attemptPaidAt is when a failed attempt's invoice (?1) was paid: its donation's paid time, NULL
// while it is unpaid. Failed payments open and recovered are read from it (the rebuild sets it
// with the same expression).
const attemptPaidAt = `(SELECT paid_at FROM donations WHERE stripe_invoice_id = ?1)`

// donation is one gift to insert or complete, keyed by its payment intent (one-off) or invoice
// (recurring).
type donation struct {
	key, keyValue string
	customer      string
	supporter     any
	subscription  any
	origin        origin
	amount        pledge.Money
	tax           int64
	paidAt        int64
	paymentIntent string
	charge        string
}

// upsertDonation inserts the donation or, when its key exists, completes it: links it lacked are
// filled in; with authoritative (the invoice itself) the money figures and the paid time are
// replaced, since the invoice is the truth about what was paid, and the row is settled. An
// unsettled row keeps the earliest paid time any event gave it, so arrival order never matters.
// The rollups and the supporter's first gift follow the row.
func upsertDonation(ctx context.Context, tx *Tx, d donation, authoritative bool) error {
	update := `paid_at = CASE WHEN donations.settled = 0 THEN MIN(donations.paid_at, excluded.paid_at) ELSE donations.paid_at END,`
	if authoritative {
		update = `amount = excluded.amount, currency = excluded.currency, tax = excluded.tax, paid_at = excluded.paid_at,
			frequency = excluded.frequency, settled = 1,
			stripe_payment_intent_id = COALESCE(excluded.stripe_payment_intent_id, donations.stripe_payment_intent_id),
			stripe_charge_id = COALESCE(excluded.stripe_charge_id, donations.stripe_charge_id),`
	}
	pi, charge, invoice := any(nil), any(nil), any(nil)
	if d.paymentIntent != "" {
		pi = d.paymentIntent
	}
	if d.charge != "" {
		charge = d.charge
		// A charge belongs to one payment; never let a second donation claim it (and fail the
		// event for ever on the unique index).
		var other int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM donations WHERE stripe_charge_id = ? AND `+d.key+` IS NOT ?`,
			d.charge, d.keyValue).Scan(&other); err != nil {
			return err
		}
		if other > 0 {
			charge = nil
		}
	}
	switch d.key {
	case "stripe_payment_intent_id":
		pi = d.keyValue
	case "stripe_invoice_id":
		invoice = d.keyValue
	}
	before, err := loadDonationRowBy(ctx, tx, d.key, d.keyValue)
	if err != nil {
		return err
	}
	// The row as the upsert left it comes back with it (RETURNING), so it is read again only if
	// syncDonation changes it.
	var charged bool
	after, err := scanDonationRow(withExtra{tx.QueryRowContext(ctx, `
		INSERT INTO donations (supporter_id, checkout_id, subscription_id, frequency, amount, tax, currency, status,
		                       stripe_payment_intent_id, stripe_invoice_id, stripe_charge_id, stripe_customer_id,
		                       article, campaign, source, paid_at, settled, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'succeeded', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (`+d.key+`) DO UPDATE SET `+update+`
			supporter_id = COALESCE(excluded.supporter_id, donations.supporter_id),
			stripe_customer_id = CASE WHEN donations.stripe_customer_id = '' THEN excluded.stripe_customer_id ELSE donations.stripe_customer_id END,
			checkout_id = COALESCE(donations.checkout_id, excluded.checkout_id),
			subscription_id = COALESCE(donations.subscription_id, excluded.subscription_id),
			article = CASE WHEN donations.article = '' THEN excluded.article ELSE donations.article END,
			campaign = CASE WHEN donations.campaign = '' THEN excluded.campaign ELSE donations.campaign END,
			source = CASE WHEN donations.source = '' THEN excluded.source ELSE donations.source END,
			updated_at = excluded.updated_at
		RETURNING `+donationRowColumns+`, `+chargesKnown("donations"),
		d.supporter, d.origin.checkoutID, d.subscription, d.origin.frequency, d.amount.Amount, d.tax, d.amount.Currency,
		pi, invoice, charge, d.customer, d.origin.article, d.origin.campaign, d.origin.source, d.paidAt, authoritative,
		tx.now.Unix(), tx.now.Unix(),
	), []any{&charged}})
	if err != nil {
		return err
	}
	if charged { // charge facts came first: merge them
		if synced, _, err := syncCharges(ctx, tx, after.id); err != nil {
			return err
		} else if synced {
			if after, err = loadDonationRow(ctx, tx, after.id); err != nil {
				return err
			}
		}
	}
	// The rollups, and the totals and first gifts of the supporters it belonged to and belongs to.
	if err := changeDonation(ctx, tx, before, after, true); err != nil {
		return err
	}
	if invoice != nil && (before == nil || before.paidAt != after.paidAt) {
		// The invoice's failed attempts learn that (and when) it was paid.
		if _, err := tx.ExecContext(ctx, `UPDATE invoice_attempts SET paid_at = `+attemptPaidAt+`
			WHERE stripe_invoice_id = ?1`, invoice); err != nil {
			return err
		}
	}
	return nil
}

// chargeRow is what Pledge knows of a charge's fate: refunds, dispute, fraud warning. Charges are
// kept apart from donations so that a refund or dispute arriving before its donation is not lost.
type chargeRow struct {
	currency      string
	refunded      int64
	refundedAt    int64
	dispute       string
	disputeAt     int64
	disputeAmount int64
	reinstated    bool
	fraud         bool
}

type chargeFact struct {
	id, pi, invoice string
	currency        pledge.Currency
	ours            bool // the charge's own metadata names a Pledge checkout
	merge           func(*chargeRow)
}

// applyCharge merges a fact into the charge's row and brings the donations it belongs to up to
// date. A charge no donation claims (yet) is kept and reported ignored: if its donation arrives
// later, it picks the facts up. A charge in another currency than its donation is kept but
// never applied to it: the event is a mismatch.
func applyCharge(ctx context.Context, tx *Tx, f chargeFact) (pledge.Outcome, error) {
	if f.id == "" {
		return pledge.OutcomeIgnored, nil
	}
	var c chargeRow
	err := tx.QueryRowContext(ctx, `
		SELECT currency, amount_refunded, refunded_at, dispute_status, dispute_at, dispute_amount, dispute_reinstated, fraud_warning
		FROM charges WHERE stripe_charge_id = ?`, f.id).Scan(&c.currency, &c.refunded, &c.refundedAt, &c.dispute, &c.disputeAt,
		&c.disputeAmount, &c.reinstated, &c.fraud)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	f.merge(&c)
	if c.currency == "" {
		c.currency = string(f.currency)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO charges (stripe_charge_id, stripe_payment_intent_id, stripe_invoice_id, currency, amount_refunded,
		                     refunded_at, dispute_status, dispute_at, dispute_amount, dispute_reinstated, fraud_warning, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (stripe_charge_id) DO UPDATE SET
			stripe_payment_intent_id = CASE WHEN charges.stripe_payment_intent_id = '' THEN excluded.stripe_payment_intent_id ELSE charges.stripe_payment_intent_id END,
			stripe_invoice_id = CASE WHEN charges.stripe_invoice_id = '' THEN excluded.stripe_invoice_id ELSE charges.stripe_invoice_id END,
			currency = excluded.currency,
			amount_refunded = excluded.amount_refunded, refunded_at = excluded.refunded_at,
			dispute_status = excluded.dispute_status, dispute_at = excluded.dispute_at,
			dispute_amount = excluded.dispute_amount, dispute_reinstated = excluded.dispute_reinstated,
			fraud_warning = excluded.fraud_warning, updated_at = excluded.updated_at`,
		f.id, f.pi, f.invoice, c.currency, c.refunded, c.refundedAt, c.dispute, c.disputeAt, c.disputeAmount, c.reinstated,
		c.fraud, tx.now.Unix()); err != nil {
		return "", err
	}
	ids, err := queryIDs(ctx, tx, `
		SELECT d.id FROM donations d, charges c
		WHERE c.stripe_charge_id = ? AND (d.stripe_charge_id = c.stripe_charge_id
		   OR (c.stripe_payment_intent_id <> '' AND d.stripe_payment_intent_id = c.stripe_payment_intent_id)
		   OR (c.stripe_invoice_id <> '' AND d.stripe_invoice_id = c.stripe_invoice_id))`, f.id)
	if err != nil {
		return "", err
	}
	outcome := pledge.OutcomeApplied
	for _, id := range ids {
		before, err := loadDonationRow(ctx, tx, id)
		if err != nil {
			return "", err
		}
		if c.currency != "" && before.currency != c.currency {
			outcome = pledge.OutcomeMismatch
		}
		if _, _, err := syncDonation(ctx, tx, id); err != nil {
			return "", err
		}
		after, err := loadDonationRow(ctx, tx, id)
		if err != nil {
			return "", err
		}
		if err := changeDonation(ctx, tx, before, after, false); err != nil {
			return "", err
		}
	}
	if len(ids) == 0 && !f.ours {
		return pledge.OutcomeIgnored, nil
	}
	return outcome, nil
}

// syncDonation recomputes a donation's refunds, dispute, fraud flag and status from the charges
// that belong to it (by charge, payment intent or invoice) in its own currency; a charge in
// another currency is a mismatch and changes nothing. A charge's refunded total is the newest
// total Stripe reported for it, or the sum of its live refunds if that is more (a refund seen in
// charge.refund.updated whose charge.refunded was missed). A dispute takes its own amount while
// it holds the funds (pledge.DisputeWithdraws). It reports whether it wrote the donation (when
// no charge belongs to it, it leaves the row untouched) and whether a mismatched charge exists.
func syncDonation(ctx context.Context, tx *Tx, id int64) (wrote, mismatch bool, err error) {
	// Most donations have no charge facts: three index probes settle that before the join.
	var known bool
	if err := tx.QueryRowContext(ctx, `SELECT `+chargesKnown("d")+` FROM donations d WHERE d.id = ?`, id).Scan(&known); err != nil || !known {
		return false, false, err
	}
	return syncCharges(ctx, tx, id)
}

// chargesKnown is whether any charge facts belong to the donation row named row: three index
// probes (syncDonation's, or the upsert's RETURNING, which saves it a statement).
func chargesKnown(row string) string {
	return `(EXISTS (SELECT 1 FROM charges c WHERE c.stripe_charge_id = ` + row + `.stripe_charge_id)
		    OR EXISTS (SELECT 1 FROM charges c WHERE c.stripe_payment_intent_id = ` + row + `.stripe_payment_intent_id
		                                        AND c.stripe_payment_intent_id <> '')
		    OR EXISTS (SELECT 1 FROM charges c WHERE c.stripe_invoice_id = ` + row + `.stripe_invoice_id AND c.stripe_invoice_id <> ''))`
}

// syncCharges is syncDonation for a donation known to have charge facts.
func syncCharges(ctx context.Context, tx *Tx, id int64) (wrote, mismatch bool, err error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT d.amount, d.currency, c.stripe_charge_id, c.currency,
		       MAX(c.amount_refunded, COALESCE((SELECT SUM(r.amount) FROM refunds r
		                 WHERE r.stripe_charge_id = c.stripe_charge_id
		                   AND r.status IN ('pending', 'requires_action', 'succeeded')), 0)),
		       c.dispute_status, c.dispute_amount, c.dispute_reinstated, c.fraud_warning
		FROM donations d JOIN charges c
		  ON c.stripe_charge_id = d.stripe_charge_id
		  OR (c.stripe_payment_intent_id <> '' AND c.stripe_payment_intent_id = d.stripe_payment_intent_id)
		  OR (c.stripe_invoice_id <> '' AND c.stripe_invoice_id = d.stripe_invoice_id)
		WHERE d.id = ?
		ORDER BY c.stripe_charge_id`, id)
	if err != nil {
		return false, false, err
	}
	var amount, refunded, disputed int64
	var dispute, charge string
	var fraud, withdraws, found bool
	for rows.Next() {
		var currency, chargeID, chargeCurrency, status string
		var chRefunded, dAmount int64
		var reinstated, chFraud bool
		if err := rows.Scan(&amount, &currency, &chargeID, &chargeCurrency, &chRefunded, &status, &dAmount, &reinstated, &chFraud); err != nil {
			rows.Close()
			return false, false, err
		}
		found = true
		if chargeCurrency != "" && chargeCurrency != currency {
			mismatch = true
			continue
		}
		if charge == "" {
			charge = chargeID
		}
		refunded += chRefunded
		fraud = fraud || chFraud
		if status != "" && (dispute == "" || pledge.DisputeRank(status) > pledge.DisputeRank(dispute) ||
			pledge.DisputeRank(status) == pledge.DisputeRank(dispute) && status > dispute) {
			dispute = status
		}
		if pledge.DisputeWithdraws(status, reinstated) {
			withdraws = true
			if dAmount <= 0 {
				dAmount = amount
			}
			disputed += dAmount
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, false, err
	}
	if !found {
		return false, false, nil // most donations have no charge facts
	}
	refunded = min(refunded, amount)
	disputed = max(0, min(disputed, amount-refunded))
	var chargeArg any
	if charge != "" {
		chargeArg = charge
	}
	_, err = tx.ExecContext(ctx, `
		UPDATE donations SET amount_refunded = ?1, amount_disputed = ?2, dispute_status = ?3, fraud_warning = ?4, status = ?5,
		       stripe_charge_id = COALESCE(stripe_charge_id,
		           (SELECT ?6 WHERE NOT EXISTS (SELECT 1 FROM donations WHERE stripe_charge_id = ?6))),
		       updated_at = ?7
		WHERE id = ?8`,
		refunded, disputed, dispute, fraud, pledge.DonationStatus(amount, refunded, withdraws), chargeArg, tx.now.Unix(), id)
	return err == nil, mismatch, err
}

// e2t turns Unix seconds into a time.
func e2t(n int64) time.Time { return time.Unix(n, 0).UTC() }
