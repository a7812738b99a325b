package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

var _ pledge.LedgerService = (*DB)(nil)

// ApplyEvent records a Stripe event and applies its fact in one write transaction. The event id
// is the primary key of stripe_events, so a second delivery finds it there, answers
// OutcomeDuplicate and changes nothing. Every effect is an upsert keyed by a Stripe id and merged
// by a rule that does not depend on the order of arrival, so that the ledger ends the same
// whatever order Stripe delivers in. On any error the whole transaction rolls back: nothing of
// the event is kept and Stripe's retry applies it afresh.
func (db *DB) ApplyEvent(ctx context.Context, e *pledge.LedgerEvent) (pledge.Outcome, error) {
	// Group commit: events arriving together (Stripe sends bursts) share one durable commit, each
	// under its own savepoint, so one event's failure rolls back that event alone.
	// Once the committer runs fn, fn's queries must not follow ctx: the transaction is shared, and a
	// cancelled request interrupting the connection would make SQLite roll back every caller's
	// write. Whether to start at all is the committer's call (it skips a cancelled caller).
	wctx := context.WithoutCancel(ctx)
	var outcome pledge.Outcome
	err := db.WriteGrouped(ctx, func(tx *Tx) error {
		var err error
		outcome, err = applyEvent(wctx, tx, e)
		return err
	})
	if err != nil {
		return pledge.OutcomeFailed, err
	}
	return outcome, nil
}

// applyEvent records the event, or finds it recorded (a duplicate), and applies its fact.
func applyEvent(ctx context.Context, tx *Tx, e *pledge.LedgerEvent) (pledge.Outcome, error) {
	res, err := tx.ExecContext(ctx, `
		INSERT INTO stripe_events (id, type, created, livemode, object_id, checkout_id, outcome, received_at)
		VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)
		ON CONFLICT (id) DO NOTHING`,
		e.ID, e.Type, e.Created.Unix(), e.Livemode, e.ObjectID, e.CheckoutID(), tx.now.Unix())
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
	if _, err := tx.ExecContext(ctx, `UPDATE stripe_events SET outcome = ? WHERE id = ?`, outcome, e.ID); err != nil {
		return pledge.OutcomeFailed, err
	}
	return outcome, nil
}

// HasEvent reports whether the event is recorded.
func (db *DB) HasEvent(ctx context.Context, id string) (bool, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM stripe_events WHERE id = ?`, id).Scan(&n)
	return n > 0, err
}

// SubscriptionMeta returns the Pledge metadata of a stored subscription (every stored subscription
// is Pledge's), so that an invoice whose payload lacks it can be settled without asking Stripe.
func (db *DB) SubscriptionMeta(ctx context.Context, stripeID string) (pledge.Metadata, error) {
	var m pledge.Metadata
	var checkout sql.NullString
	err := db.read.QueryRowContext(ctx, `
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
		return pledge.OutcomeApplied, advanceCheckout(ctx, tx, f.CheckoutID, f.SessionID, f.Status)
	case *pledge.InvoicePaid:
		return applyInvoicePaid(ctx, tx, f, at)
	case *pledge.InvoiceFailed:
		return applyInvoiceFailed(ctx, tx, f, at)
	case *pledge.SubscriptionChanged:
		return applySubscriptionChanged(ctx, tx, f, at)
	case *pledge.ChargeRefunded:
		return applyCharge(ctx, tx, chargeFact{id: f.ChargeID, pi: f.PaymentIntent, invoice: f.Invoice, ours: f.Meta.CheckoutID != "",
			merge: refundedMerge(f.AmountRefunded, at)})
	case *pledge.RefundUpdated:
		if err := upsertRefund(ctx, tx, f, at); err != nil {
			return "", err
		}
		fact := chargeFact{id: f.ChargeID, pi: f.PaymentIntent, merge: func(*chargeRow) {}}
		if c := f.Charge; c != nil { // read again after a failure: the charge's total as of this event
			fact = chargeFact{id: c.ChargeID, pi: c.PaymentIntent, invoice: c.Invoice, ours: c.Meta.CheckoutID != "",
				merge: refundedMerge(c.AmountRefunded, at)}
		}
		return applyCharge(ctx, tx, fact)
	case *pledge.DisputeChanged:
		return applyCharge(ctx, tx, chargeFact{id: f.ChargeID, pi: f.PaymentIntent,
			merge: func(c *chargeRow) {
				nr, or := pledge.DisputeRank(f.Status), pledge.DisputeRank(c.dispute)
				if nr > or || nr == or && (at > c.disputeAt || at == c.disputeAt && f.Status > c.dispute) {
					c.dispute, c.disputeAt = f.Status, at
				}
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
		INSERT INTO refunds (stripe_refund_id, stripe_charge_id, amount, status, status_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (stripe_refund_id) DO UPDATE SET status = excluded.status, status_at = excluded.status_at`,
		f.RefundID, f.ChargeID, f.Amount, f.Status, at)
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
	c, err := localCheckout(ctx, tx, f.CheckoutID)
	if err != nil {
		return "", err
	}
	if err := advanceCheckout(ctx, tx, f.CheckoutID, f.SessionID, pledge.CheckoutPaid); err != nil {
		return "", err
	}
	supporter, err := upsertSupporter(ctx, tx, f.Customer, at)
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
			id, err := upsertDonation(ctx, tx, donation{
				key: "stripe_invoice_id", keyValue: f.Invoice, supporter: supporter, subscription: subID,
				origin: o, amount: f.Amount, paidAt: at,
			}, false)
			if err != nil {
				return "", err
			}
			return pledge.OutcomeApplied, syncDonation(ctx, tx, id)
		}
	case f.PaymentIntent != "" && f.Amount.Amount > 0: // a fully discounted session is no gift
		o.frequency = pledge.Once
		id, err := upsertDonation(ctx, tx, donation{
			key: "stripe_payment_intent_id", keyValue: f.PaymentIntent, supporter: supporter,
			origin: o, amount: f.Amount, paidAt: at,
		}, false)
		if err != nil {
			return "", err
		}
		return pledge.OutcomeApplied, syncDonation(ctx, tx, id)
	}
	return pledge.OutcomeApplied, nil
}

// advanceCheckout moves a checkout forward (open, abandoned, failed, paid) and never back, and
// remembers its session when the checkout did not know it yet.
func advanceCheckout(ctx context.Context, tx *Tx, id, session string, status pledge.CheckoutStatus) error {
	if id == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `
		UPDATE checkouts SET
			status = CASE WHEN (CASE status WHEN 'open' THEN 1 WHEN 'abandoned' THEN 2 WHEN 'failed' THEN 3
			                                 WHEN 'paid' THEN 4 ELSE 0 END) < ?1 THEN ?2 ELSE status END,
			stripe_session_id = COALESCE(stripe_session_id,
				(SELECT NULLIF(?3, '') WHERE NOT EXISTS (SELECT 1 FROM checkouts WHERE stripe_session_id = ?3))),
			updated_at = ?4
		WHERE id = ?5`, pledge.CheckoutRank(status), status, session, tx.now.Unix(), id)
	return err
}

// upsertSupporter creates or updates the supporter behind a Stripe customer and returns its row id
// (nil when Stripe names no customer and no e-mail). The newest e-mail wins; an erased supporter
// keeps no e-mail.
func upsertSupporter(ctx context.Context, tx *Tx, c pledge.Customer, at int64) (any, error) {
	email := sql.NullString{String: c.Email, Valid: c.Email != ""}
	var id int64
	if c.StripeID == "" {
		if !email.Valid {
			return nil, nil
		}
		// The unary + keeps the planner off the stripe_customer_id index (every customer-less
		// supporter sits under its NULL) and on supporters_email_nocase, which finds the address.
		err := tx.QueryRowContext(ctx, `
			SELECT id FROM supporters WHERE +stripe_customer_id IS NULL AND email = ? COLLATE NOCASE AND erased_at IS NULL`,
			c.Email).Scan(&id)
		if err == nil {
			return id, nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		err = tx.QueryRowContext(ctx, `
			INSERT INTO supporters (email, name, email_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, c.Email, c.Name, at, at, tx.now.Unix()).Scan(&id)
		return id, err
	}
	emailAt := int64(0)
	if email.Valid {
		emailAt = at
	}
	err := tx.QueryRowContext(ctx, `
		INSERT INTO supporters (stripe_customer_id, email, name, email_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (stripe_customer_id) DO UPDATE SET
			email = CASE WHEN supporters.erased_at IS NULL AND excluded.email IS NOT NULL AND
			                  (excluded.email_at > supporters.email_at OR
			                   excluded.email_at = supporters.email_at AND excluded.email > COALESCE(supporters.email, ''))
			        THEN excluded.email ELSE supporters.email END,
			name = CASE WHEN supporters.erased_at IS NULL AND excluded.name <> '' AND excluded.email_at >= supporters.email_at
			       THEN excluded.name ELSE supporters.name END,
			email_at = MAX(supporters.email_at, excluded.email_at),
			created_at = MIN(supporters.created_at, excluded.created_at),
			updated_at = excluded.updated_at
		RETURNING id`,
		c.StripeID, email, c.Name, emailAt, at, tx.now.Unix()).Scan(&id)
	return id, err
}

// subscriptionSeed is what a checkout or an invoice knows about a subscription: enough to create
// its row when it is not there yet, never enough to overrule what the subscription events said.
type subscriptionSeed struct {
	stripeID  string
	customer  string
	supporter any
	origin    origin
	amount    pledge.Money
	startedAt int64
}

// seedSubscription creates the subscription row if missing (active, with the weakest state stamp,
// so any subscription event overrules it) and fills in links it lacked. It returns the row id.
func seedSubscription(ctx context.Context, tx *Tx, s subscriptionSeed) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `
		INSERT INTO subscriptions (stripe_subscription_id, stripe_customer_id, supporter_id, checkout_id,
		                           frequency, amount, currency, status, started_at, article, campaign,
		                           state_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, 0, ?, ?)
		ON CONFLICT (stripe_subscription_id) DO UPDATE SET
			stripe_customer_id = CASE WHEN subscriptions.stripe_customer_id = '' THEN excluded.stripe_customer_id ELSE subscriptions.stripe_customer_id END,
			supporter_id = COALESCE(subscriptions.supporter_id, excluded.supporter_id),
			checkout_id = COALESCE(subscriptions.checkout_id, excluded.checkout_id),
			started_at = COALESCE(subscriptions.started_at, excluded.started_at),
			article = CASE WHEN subscriptions.article = '' THEN excluded.article ELSE subscriptions.article END,
			campaign = CASE WHEN subscriptions.campaign = '' THEN excluded.campaign ELSE subscriptions.campaign END,
			updated_at = excluded.updated_at
		RETURNING id`,
		s.stripeID, s.customer, s.supporter, s.origin.checkoutID, s.origin.recurring(), s.amount.Amount,
		s.amount.Currency, nullUnix(s.startedAt), s.origin.article, s.origin.campaign, tx.now.Unix(), tx.now.Unix(),
	).Scan(&id)
	return id, err
}

func nullUnix(n int64) any {
	if n <= 0 {
		return nil
	}
	return n
}

// subscriptionState is the part of a subscription row that events fight over.
type subscriptionState struct {
	id           int64
	status       string
	statusAt     int64
	fieldsStatus string
	fieldsAt     int64
	changed      pledge.SubscriptionChanged
}

func loadSubscriptionState(ctx context.Context, tx *Tx, stripeID string) (*subscriptionState, error) {
	var s subscriptionState
	var cpe, canceled sql.NullInt64
	var cape bool
	err := tx.QueryRowContext(ctx, `
		SELECT id, status, state_at, fields_status, fields_at, cancel_at_period_end, current_period_end,
		       canceled_at, amount
		FROM subscriptions WHERE stripe_subscription_id = ?`, stripeID).Scan(
		&s.id, &s.status, &s.statusAt, &s.fieldsStatus, &s.fieldsAt, &cape, &cpe, &canceled, &s.changed.Amount.Amount)
	if err != nil {
		return nil, err
	}
	s.changed.Status, s.changed.CancelAtPeriodEnd = s.fieldsStatus, cape
	s.changed.CurrentPeriodEnd, s.changed.CanceledAt = fromUnix(cpe), fromUnix(canceled)
	return &s, nil
}

// applySubscriptionChanged merges a subscription object into its row: the status takes the
// newest (terminal first) of everything seen, and the other fields come from the newest whole
// object, so that any order of created, updated and deleted ends in the same row.
func applySubscriptionChanged(ctx context.Context, tx *Tx, f *pledge.SubscriptionChanged, at int64) (pledge.Outcome, error) {
	c, err := localCheckout(ctx, tx, f.Meta.CheckoutID)
	if err != nil {
		return "", err
	}
	supporter, err := upsertSupporter(ctx, tx, f.Customer, at)
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
	s, err := loadSubscriptionState(ctx, tx, f.SubscriptionID)
	if err != nil {
		return "", err
	}
	when := e2t(at)
	if stored := pledge.SubscriptionStatusKey(s.status, e2t(s.statusAt)); s.statusAt == 0 || !pledge.SubscriptionStatusKey(f.Status, when).Less(stored) {
		if _, err := tx.ExecContext(ctx, `UPDATE subscriptions SET status = ?, state_at = ? WHERE id = ?`, f.Status, at, s.id); err != nil {
			return "", err
		}
	}
	stored := s.changed.Key(e2t(s.fieldsAt))
	if s.fieldsAt == 0 || !f.Key(when).Less(stored) {
		if _, err := tx.ExecContext(ctx, `
			UPDATE subscriptions SET fields_status = ?, fields_at = ?, cancel_at_period_end = ?,
			       current_period_end = ?, canceled_at = ?, cancellation_reason = ?, started_at = ?,
			       amount = ?, currency = ?, frequency = ?, updated_at = ?
			WHERE id = ?`,
			f.Status, at, f.CancelAtPeriodEnd, unix(f.CurrentPeriodEnd), unix(f.CanceledAt), f.CancellationReason,
			unix(f.StartedAt), f.Amount.Amount, f.Amount.Currency, o.recurring(), tx.now.Unix(), s.id); err != nil {
			return "", err
		}
	}
	return pledge.OutcomeApplied, nil
}

func applyInvoicePaid(ctx context.Context, tx *Tx, f *pledge.InvoicePaid, at int64) (pledge.Outcome, error) {
	c, err := localCheckout(ctx, tx, f.Meta.CheckoutID)
	if err != nil {
		return "", err
	}
	supporter, err := upsertSupporter(ctx, tx, f.Customer, at)
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
	if f.Amount.Amount <= 0 {
		return pledge.OutcomeApplied, nil // a trial or fully discounted invoice is no donation
	}
	paidAt := f.PaidAt.Unix()
	if f.PaidAt.IsZero() {
		paidAt = at
	}
	o.frequency = o.recurring()
	id, err := upsertDonation(ctx, tx, donation{
		key: "stripe_invoice_id", keyValue: f.InvoiceID, supporter: supporter, subscription: subID,
		origin: o, amount: f.Amount, paidAt: paidAt, paymentIntent: f.PaymentIntent, charge: f.Charge,
	}, true)
	if err != nil {
		return "", err
	}
	return pledge.OutcomeApplied, syncDonation(ctx, tx, id)
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
		                              amount, currency, next_attempt_at, failed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (stripe_invoice_id, attempt, action_required) DO NOTHING`,
		f.InvoiceID, f.Subscription, f.AttemptCount, f.ActionRequired, f.Amount.Amount, f.Amount.Currency,
		unix(f.NextAttempt), at); err != nil {
		return "", err
	}
	s, err := loadSubscriptionState(ctx, tx, f.Subscription)
	if err != nil {
		return "", err
	}
	// Past due only if nothing newer (or final) was seen: a later recovery or cancellation stands.
	if s.statusAt == 0 || pledge.SubscriptionStatusKey(s.status, e2t(s.statusAt)).Less(pledge.SubscriptionStatusKey(pledge.SubscriptionPastDue, e2t(at))) {
		if _, err := tx.ExecContext(ctx, `UPDATE subscriptions SET status = ?, state_at = ?, updated_at = ? WHERE id = ?`,
			pledge.SubscriptionPastDue, at, tx.now.Unix(), s.id); err != nil {
			return "", err
		}
	}
	return pledge.OutcomeApplied, nil
}

// donation is one gift to insert or complete, keyed by its payment intent (one-off) or invoice
// (recurring).
type donation struct {
	key, keyValue string
	supporter     any
	subscription  any
	origin        origin
	amount        pledge.Money
	paidAt        int64
	paymentIntent string
	charge        string
}

// upsertDonation inserts the donation or, when its key exists, completes it: links it lacked are
// filled in, and with authoritative (the invoice itself) the money figures are replaced, since the
// invoice is the truth about what was paid. It returns the row id.
func upsertDonation(ctx context.Context, tx *Tx, d donation, authoritative bool) (int64, error) {
	update := ``
	if authoritative {
		update = `amount = excluded.amount, currency = excluded.currency, paid_at = excluded.paid_at,
			frequency = excluded.frequency,
			stripe_payment_intent_id = COALESCE(excluded.stripe_payment_intent_id, donations.stripe_payment_intent_id),
			stripe_charge_id = COALESCE(excluded.stripe_charge_id, donations.stripe_charge_id),`
	}
	pi, charge := any(nil), any(nil)
	if d.paymentIntent != "" {
		pi = d.paymentIntent
	}
	if d.charge != "" {
		charge = d.charge
	}
	if d.key == "stripe_payment_intent_id" {
		pi = d.keyValue
	}
	invoice := any(nil)
	if d.key == "stripe_invoice_id" {
		invoice = d.keyValue
	}
	var id int64
	err := tx.QueryRowContext(ctx, `
		INSERT INTO donations (supporter_id, checkout_id, subscription_id, frequency, amount, currency, status,
		                       stripe_payment_intent_id, stripe_invoice_id, stripe_charge_id, article, campaign,
		                       source, paid_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, 'succeeded', ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (`+d.key+`) DO UPDATE SET `+update+`
			supporter_id = COALESCE(donations.supporter_id, excluded.supporter_id),
			checkout_id = COALESCE(donations.checkout_id, excluded.checkout_id),
			subscription_id = COALESCE(donations.subscription_id, excluded.subscription_id),
			article = CASE WHEN donations.article = '' THEN excluded.article ELSE donations.article END,
			campaign = CASE WHEN donations.campaign = '' THEN excluded.campaign ELSE donations.campaign END,
			source = CASE WHEN donations.source = '' THEN excluded.source ELSE donations.source END,
			updated_at = excluded.updated_at
		RETURNING id`,
		d.supporter, d.origin.checkoutID, d.subscription, d.origin.frequency, d.amount.Amount, d.amount.Currency,
		pi, invoice, charge, d.origin.article, d.origin.campaign, d.origin.source, d.paidAt, tx.now.Unix(), tx.now.Unix(),
	).Scan(&id)
	return id, err
}

// chargeRow is what Pledge knows of a charge's fate: refunds, dispute, fraud warning. Charges are
// kept apart from donations so that a refund or dispute arriving before its donation is not lost.
type chargeRow struct {
	refunded   int64
	refundedAt int64
	dispute    string
	disputeAt  int64
	fraud      bool
}

type chargeFact struct {
	id, pi, invoice string
	ours            bool // the charge's own metadata names a Pledge checkout
	merge           func(*chargeRow)
}

// applyCharge merges a fact into the charge's row and brings the donations it belongs to up to
// date. A charge no donation claims (yet) is kept and reported ignored: if its donation arrives
// later, it picks the facts up.
func applyCharge(ctx context.Context, tx *Tx, f chargeFact) (pledge.Outcome, error) {
	if f.id == "" {
		return pledge.OutcomeIgnored, nil
	}
	var c chargeRow
	err := tx.QueryRowContext(ctx, `
		SELECT amount_refunded, refunded_at, dispute_status, dispute_at, fraud_warning
		FROM charges WHERE stripe_charge_id = ?`, f.id).Scan(&c.refunded, &c.refundedAt, &c.dispute, &c.disputeAt, &c.fraud)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	f.merge(&c)
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO charges (stripe_charge_id, stripe_payment_intent_id, stripe_invoice_id, amount_refunded,
		                     refunded_at, dispute_status, dispute_at, fraud_warning, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (stripe_charge_id) DO UPDATE SET
			stripe_payment_intent_id = CASE WHEN charges.stripe_payment_intent_id = '' THEN excluded.stripe_payment_intent_id ELSE charges.stripe_payment_intent_id END,
			stripe_invoice_id = CASE WHEN charges.stripe_invoice_id = '' THEN excluded.stripe_invoice_id ELSE charges.stripe_invoice_id END,
			amount_refunded = excluded.amount_refunded, refunded_at = excluded.refunded_at,
			dispute_status = excluded.dispute_status, dispute_at = excluded.dispute_at,
			fraud_warning = excluded.fraud_warning, updated_at = excluded.updated_at`,
		f.id, f.pi, f.invoice, c.refunded, c.refundedAt, c.dispute, c.disputeAt, c.fraud, tx.now.Unix()); err != nil {
		return "", err
	}
	rows, err := tx.QueryContext(ctx, `
		SELECT d.id FROM donations d, charges c
		WHERE c.stripe_charge_id = ? AND (d.stripe_charge_id = c.stripe_charge_id
		   OR (c.stripe_payment_intent_id <> '' AND d.stripe_payment_intent_id = c.stripe_payment_intent_id)
		   OR (c.stripe_invoice_id <> '' AND d.stripe_invoice_id = c.stripe_invoice_id))`, f.id)
	if err != nil {
		return "", err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return "", err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", err
	}
	for _, id := range ids {
		if err := syncDonation(ctx, tx, id); err != nil {
			return "", err
		}
	}
	if len(ids) == 0 && !f.ours {
		return pledge.OutcomeIgnored, nil
	}
	return pledge.OutcomeApplied, nil
}

// syncDonation recomputes a donation's refunds, dispute, fraud flag and status from the charges
// that belong to it (by charge, payment intent or invoice). A charge's refunded total is the
// newest total Stripe reported for it, or the sum of its live refunds if that is more (a
// refund seen in charge.refund.updated whose charge.refunded was missed).
func syncDonation(ctx context.Context, tx *Tx, id int64) error {
	// Most donations have no charge facts: a cheap indexed look first.
	var known bool
	if err := tx.QueryRowContext(ctx, `
		SELECT EXISTS (SELECT 1 FROM donations d, charges c WHERE d.id = ? AND (c.stripe_charge_id = d.stripe_charge_id
		   OR (c.stripe_payment_intent_id <> '' AND c.stripe_payment_intent_id = d.stripe_payment_intent_id)
		   OR (c.stripe_invoice_id <> '' AND c.stripe_invoice_id = d.stripe_invoice_id)))`, id).Scan(&known); err != nil || !known {
		return err
	}
	var amount, refunded int64
	var dispute string
	var fraud bool
	var charge sql.NullString
	err := tx.QueryRowContext(ctx, `
		SELECT d.amount,
		       COALESCE(SUM(MAX(c.amount_refunded, COALESCE((SELECT SUM(r.amount) FROM refunds r
		                 WHERE r.stripe_charge_id = c.stripe_charge_id
		                   AND r.status IN ('pending', 'requires_action', 'succeeded')), 0))), 0),
		       COALESCE(MAX(CASE WHEN c.dispute_status IN ('won', 'lost', 'warning_closed') THEN '2' ELSE '1' END
		                    || c.dispute_status) FILTER (WHERE c.dispute_status <> ''), ''),
		       COALESCE(MAX(c.fraud_warning), 0), MIN(c.stripe_charge_id)
		FROM donations d LEFT JOIN charges c
		  ON c.stripe_charge_id = d.stripe_charge_id
		  OR (c.stripe_payment_intent_id <> '' AND c.stripe_payment_intent_id = d.stripe_payment_intent_id)
		  OR (c.stripe_invoice_id <> '' AND c.stripe_invoice_id = d.stripe_invoice_id)
		WHERE d.id = ?
		GROUP BY d.id`, id).Scan(&amount, &refunded, &dispute, &fraud, &charge)
	if err != nil {
		return err
	}
	if dispute != "" {
		dispute = dispute[1:] // drop the rank prefix that made MAX prefer closed disputes
	}
	refunded = min(refunded, amount)
	_, err = tx.ExecContext(ctx, `
		UPDATE donations SET amount_refunded = ?1, dispute_status = ?2, fraud_warning = ?3, status = ?4,
		       stripe_charge_id = COALESCE(stripe_charge_id,
		           (SELECT ?5 WHERE NOT EXISTS (SELECT 1 FROM donations WHERE stripe_charge_id = ?5))),
		       updated_at = ?6
		WHERE id = ?7`,
		refunded, dispute, fraud, pledge.DonationStatus(amount, refunded, dispute), charge, tx.now.Unix(), id)
	return err
}

// e2t turns Unix seconds into a time.
func e2t(n int64) time.Time { return time.Unix(n, 0).UTC() }
