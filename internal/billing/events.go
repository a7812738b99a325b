package billing

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/pledge-news/pledge/internal/pledge"
)

// templates are Stripe's own example objects in the 2023-10-16 shape (from its OpenAPI fixtures),
// trimmed of fields Pledge never reads; events are built by filling them in.
//
//go:embed templates/*.json
var templates embed.FS

// EventParams describes the payment an event is about. Zero fields are made up: random ids, a
// 5.00 USD one-off (monthly for invoice and subscription events).
type EventParams struct {
	Checkout *pledge.Checkout // metadata, amount and frequency; nil: a made-up one-off
	Email    string
	Name     string // the customer's name; "" gives none
	Created  time.Time

	EventID, SessionID, CustomerID, PaymentIntentID, ChargeID, SubscriptionID, InvoiceID string
	// RefundID is the refund of charge.refund.updated (random when ""); DisputeID the dispute of
	// charge.dispute.* ("" is dp_ and the charge id's suffix: a charge has one dispute, so every
	// event about it names the same).
	RefundID, DisputeID string

	// Site is the pledge_site mark in the object's metadata; "" puts no pledge_site key at all,
	// as on objects made before deployments marked theirs.
	Site string
	// Edit, when set, is called on the built data.object before it is marshalled, to set any
	// field Stripe may send (status, discount, tax, ended_at, pause_collection, currency...).
	Edit func(obj map[string]any)
}

func randomID(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

// fill makes up what p leaves out.
func (p *EventParams) fill() {
	if p.Checkout == nil {
		p.Checkout = &pledge.Checkout{ID: randomID("co_trigger"), Frequency: pledge.Once,
			Amount: pledge.Money{Amount: 500, Currency: "usd"}}
	}
	if p.Email == "" {
		p.Email = "reader@example.com"
	}
	if p.Created.IsZero() {
		p.Created = time.Now()
	}
	for _, f := range []struct {
		v      *string
		prefix string
	}{{&p.EventID, "evt"}, {&p.SessionID, "cs_test"}, {&p.CustomerID, "cus"}, {&p.PaymentIntentID, "pi"},
		{&p.ChargeID, "ch"}, {&p.SubscriptionID, "sub"}, {&p.InvoiceID, "in"}} {
		if *f.v == "" {
			*f.v = randomID(f.prefix)
		}
	}
}

func (p *EventParams) metadata() map[string]any {
	c := p.Checkout
	m := map[string]any{MetaCheckout: c.ID, "frequency": string(c.Frequency), "article": c.Article, "campaign": c.Campaign}
	if p.Site != "" {
		m[MetaSite] = p.Site
	}
	return m
}

func loadTemplate(name string) (map[string]any, error) {
	b, err := templates.ReadFile("templates/" + name + ".json")
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

// BuildEvent returns a realistic event of the given type in the 2023-10-16 shape, as Stripe would
// send it about p's payment. It supports the handled types (HandledTypes).
func BuildEvent(typ string, p EventParams) ([]byte, error) {
	if p.Checkout == nil && (strings.HasPrefix(typ, "invoice.") || strings.HasPrefix(typ, "customer.subscription.")) {
		p.Checkout = &pledge.Checkout{ID: randomID("co_trigger"), Frequency: pledge.Monthly,
			Amount: pledge.Money{Amount: 500, Currency: "usd"}}
	}
	p.fill()
	obj, err := buildObject(typ, &p)
	if err != nil {
		return nil, err
	}
	if p.Edit != nil {
		p.Edit(obj)
	}
	ev, err := loadTemplate("event")
	if err != nil {
		return nil, err
	}
	ev["id"], ev["type"], ev["created"], ev["api_version"] = p.EventID, typ, p.Created.Unix(), stripe.APIVersion
	ev["data"] = map[string]any{"object": obj}
	return json.Marshal(ev)
}

// objectBase is what the objects of every event share: the event's time, the price the checkout
// pays, and the end of the period it pays for.
type objectBase struct {
	now       int64
	recurring bool
	price     map[string]any
	periodEnd int64
}

func newObjectBase(p *EventParams) objectBase {
	c, now := p.Checkout, p.Created.Unix()
	b := objectBase{now: now, recurring: c.Frequency.Recurring(), periodEnd: periodAfter(now, c.Frequency)}
	b.price = map[string]any{"id": randomID("price"), "object": "price", "currency": string(c.Amount.Currency),
		"unit_amount": c.Amount.Amount, "unit_amount_decimal": fmt.Sprint(c.Amount.Amount), "type": "one_time",
		"recurring": nil, "active": true, "billing_scheme": "per_unit", "livemode": false, "metadata": map[string]any{},
		"product": randomID("prod"), "created": now}
	if b.recurring {
		b.price["type"] = "recurring"
		b.price["recurring"] = map[string]any{"interval": c.Frequency.Interval(), "interval_count": 1, "usage_type": "licensed"}
	}
	return b
}

// periodAfter is the end of the billing period of f that starts at t: a month, or a year for
// annual support.
func periodAfter(t int64, f pledge.Frequency) int64 {
	if f == pledge.Annual {
		return time.Unix(t, 0).AddDate(1, 0, 0).Unix()
	}
	return time.Unix(t, 0).AddDate(0, 1, 0).Unix()
}

// objectBuilders are the event types BuildEvent builds, by the Stripe object each carries: its
// template (templates/NAME.json) and the function that fills it in.
var objectBuilders = []struct {
	template string
	fill     func(o map[string]any, typ string, p *EventParams, b objectBase)
	types    []string
}{
	{"checkout_session", sessionObject, []string{"checkout.session.completed", "checkout.session.async_payment_succeeded",
		"checkout.session.async_payment_failed", "checkout.session.expired"}},
	{"invoice", invoiceObject, []string{"invoice.paid", "invoice.payment_failed", "invoice.payment_action_required",
		"invoice.upcoming"}},
	{"subscription", subscriptionObject, []string{"customer.subscription.created", "customer.subscription.updated",
		"customer.subscription.deleted"}},
	{"charge", chargeObject, []string{"charge.refunded"}},
	{"refund", refundObject, []string{"charge.refund.updated"}},
	{"dispute", disputeObject, []string{"charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed",
		"charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated"}},
	{"customer", customerObject, []string{"customer.created", "customer.updated"}},
	{"early_fraud_warning", fraudWarningObject, []string{"radar.early_fraud_warning.created"}},
}

// buildObject builds the data.object of an event of type typ about p's payment.
func buildObject(typ string, p *EventParams) (map[string]any, error) {
	for _, ob := range objectBuilders {
		if !slices.Contains(ob.types, typ) {
			continue
		}
		b := newObjectBase(p)
		o, err := loadTemplate(ob.template)
		if err != nil {
			return nil, err
		}
		ob.fill(o, typ, p, b)
		return o, nil
	}
	return nil, pledge.Errorf(pledge.EINVALID, "pledge trigger cannot build %q; it builds: %v", typ, HandledTypes)
}

// sessionObject fills a Checkout Session: completed, paid later or not, or expired unpaid.
func sessionObject(o map[string]any, typ string, p *EventParams, b objectBase) {
	c, now, recurring := p.Checkout, b.now, b.recurring
	o["id"], o["created"], o["expires_at"] = p.SessionID, now, now+24*3600
	o["metadata"], o["amount_total"], o["amount_subtotal"] = p.metadata(), c.Amount.Amount, c.Amount.Amount
	o["currency"], o["url"] = string(c.Amount.Currency), nil
	o["customer"] = p.CustomerID
	o["customer_details"].(map[string]any)["email"] = p.Email
	if p.Name != "" {
		o["customer_details"].(map[string]any)["name"] = p.Name
	}
	o["status"], o["payment_status"] = "complete", "paid"
	o["total_details"] = map[string]any{"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0}
	switch typ {
	case "checkout.session.async_payment_failed":
		o["payment_status"] = "unpaid"
	case "checkout.session.expired":
		o["status"], o["payment_status"], o["customer"], o["customer_details"] = "expired", "unpaid", nil, nil
	}
	if recurring {
		o["mode"], o["payment_intent"], o["subscription"], o["invoice"] = "subscription", nil, p.SubscriptionID, p.InvoiceID
	} else {
		o["mode"], o["payment_intent"], o["customer_creation"], o["submit_type"] = "payment", p.PaymentIntentID, "always", "donate"
	}
	if typ == "checkout.session.expired" {
		o["payment_intent"], o["subscription"], o["invoice"] = nil, nil, nil
	}
}

// invoiceObject fills an invoice of the subscription: paid, failed, awaiting action, or the draft
// of an upcoming renewal.
func invoiceObject(o map[string]any, typ string, p *EventParams, b objectBase) {
	c, now, price, periodEnd := p.Checkout, b.now, b.price, b.periodEnd
	paid := typ == "invoice.paid"
	o["id"], o["created"], o["customer"], o["customer_email"] = p.InvoiceID, now, p.CustomerID, p.Email
	o["currency"], o["amount_due"], o["subtotal"], o["total"] = string(c.Amount.Currency), c.Amount.Amount, c.Amount.Amount, c.Amount.Amount
	o["subtotal_excluding_tax"], o["total_excluding_tax"] = c.Amount.Amount, c.Amount.Amount
	o["subscription"], o["subscription_details"] = p.SubscriptionID, map[string]any{"metadata": p.metadata()}
	o["billing_reason"], o["collection_method"], o["attempted"], o["attempt_count"] = "subscription_create", "charge_automatically", true, 1
	o["payment_intent"], o["charge"], o["period_start"], o["period_end"] = p.PaymentIntentID, p.ChargeID, now, now
	o["number"], o["due_date"], o["effective_at"], o["next_payment_attempt"] = "PLEDGE-0001", nil, now, nil
	if paid {
		o["status"], o["paid"], o["amount_paid"], o["amount_remaining"] = "paid", true, c.Amount.Amount, 0
		o["status_transitions"] = map[string]any{"finalized_at": now, "paid_at": now, "marked_uncollectible_at": nil, "voided_at": nil}
	} else {
		o["status"], o["paid"], o["amount_paid"], o["amount_remaining"] = "open", false, 0, c.Amount.Amount
		o["next_payment_attempt"] = now + 3*24*3600
		o["status_transitions"] = map[string]any{"finalized_at": now, "paid_at": nil, "marked_uncollectible_at": nil, "voided_at": nil}
	}
	if typ == "invoice.upcoming" {
		// Stripe's notice some days before a renewal: an invoice without an id, in draft, to be
		// charged at the end of the current period (the period its lines pay for starts then).
		renews := periodEnd
		delete(o, "id")
		o["status"], o["billing_reason"], o["attempted"], o["attempt_count"] = "draft", "upcoming", false, 0
		o["payment_intent"], o["charge"], o["next_payment_attempt"], o["number"] = nil, nil, renews, nil
		o["period_start"], o["period_end"] = now, renews
		o["status_transitions"] = map[string]any{"finalized_at": nil, "paid_at": nil, "marked_uncollectible_at": nil, "voided_at": nil}
	}
	lines := o["lines"].(map[string]any)
	line := lines["data"].([]any)[0].(map[string]any)
	line["id"], line["amount"], line["amount_excluding_tax"] = randomID("il"), c.Amount.Amount, c.Amount.Amount
	line["currency"], line["metadata"], line["price"], line["subscription"] = string(c.Amount.Currency), p.metadata(), price, p.SubscriptionID
	line["period"] = map[string]any{"start": now, "end": periodEnd}
	if typ == "invoice.upcoming" {
		line["period"] = map[string]any{"start": periodEnd, "end": periodAfter(periodEnd, c.Frequency)}
	}
	line["type"], line["invoice_item"], line["description"] = "subscription", nil, "1 × Reader support"
	line["unit_amount_excluding_tax"] = fmt.Sprint(c.Amount.Amount)
	lines["url"] = "/v1/invoices/" + p.InvoiceID + "/lines"
}

// subscriptionObject fills the subscription: started, set to cancel at the period's end, or ended.
func subscriptionObject(o map[string]any, typ string, p *EventParams, b objectBase) {
	c, now, price, periodEnd := p.Checkout, b.now, b.price, b.periodEnd
	o["id"], o["created"], o["start_date"], o["billing_cycle_anchor"] = p.SubscriptionID, now, now, now
	o["customer"], o["metadata"], o["currency"] = p.CustomerID, p.metadata(), string(c.Amount.Currency)
	o["current_period_start"], o["current_period_end"] = now, periodEnd
	o["status"], o["cancel_at_period_end"], o["cancel_at"], o["canceled_at"], o["ended_at"] = "active", false, nil, nil, nil
	o["trial_start"], o["trial_end"], o["latest_invoice"] = nil, nil, p.InvoiceID
	o["cancellation_details"] = map[string]any{"comment": nil, "feedback": nil, "reason": nil}
	switch typ {
	case "customer.subscription.updated":
		o["cancel_at_period_end"], o["cancel_at"], o["canceled_at"] = true, periodEnd, now
		o["cancellation_details"] = map[string]any{"comment": nil, "feedback": nil, "reason": "cancellation_requested"}
	case "customer.subscription.deleted":
		o["status"], o["canceled_at"], o["ended_at"] = "canceled", now, now
		o["cancellation_details"] = map[string]any{"comment": nil, "feedback": nil, "reason": "cancellation_requested"}
	}
	items := o["items"].(map[string]any)
	item := items["data"].([]any)[0].(map[string]any)
	item["id"], item["created"], item["price"], item["subscription"], item["quantity"] = randomID("si"), now, price, p.SubscriptionID, 1
	items["url"] = "/v1/subscription_items?subscription=" + p.SubscriptionID
}

// chargeObject fills the charge, refunded in full.
func chargeObject(o map[string]any, typ string, p *EventParams, b objectBase) {
	c, now, recurring := p.Checkout, b.now, b.recurring
	o["id"], o["created"], o["customer"], o["amount"], o["amount_captured"] = p.ChargeID, now, p.CustomerID, c.Amount.Amount, c.Amount.Amount
	o["amount_refunded"], o["refunded"], o["captured"], o["currency"] = c.Amount.Amount, true, true, string(c.Amount.Currency)
	o["payment_intent"], o["metadata"], o["balance_transaction"] = p.PaymentIntentID, p.metadata(), randomID("txn")
	o["invoice"], o["description"] = nil, "Reader support"
	if recurring {
		o["invoice"], o["metadata"] = p.InvoiceID, map[string]any{}
	}
	o["refunds"] = map[string]any{"object": "list", "data": []any{}, "has_more": false, "url": "/v1/charges/" + p.ChargeID + "/refunds"}
}

// refundObject fills the refund, succeeded.
func refundObject(o map[string]any, typ string, p *EventParams, b objectBase) {
	c, now := p.Checkout, b.now
	if p.RefundID == "" {
		p.RefundID = randomID("re")
	}
	o["id"], o["created"], o["charge"], o["payment_intent"] = p.RefundID, now, p.ChargeID, p.PaymentIntentID
	o["amount"], o["currency"], o["status"] = c.Amount.Amount, string(c.Amount.Currency), "succeeded"
}

// disputeObject fills the dispute with its balance transactions: opened, under review, lost, or
// won.
func disputeObject(o map[string]any, typ string, p *EventParams, b objectBase) {
	c, now := p.Checkout, b.now
	if p.DisputeID == "" {
		p.DisputeID = "dp_" + strings.TrimPrefix(p.ChargeID, "ch_")
	}
	o["id"], o["created"], o["charge"], o["payment_intent"] = p.DisputeID, now, p.ChargeID, p.PaymentIntentID
	o["amount"], o["currency"], o["status"], o["reason"] = c.Amount.Amount, string(c.Amount.Currency), "needs_response", "fraudulent"
	o["is_charge_refundable"] = false
	o["evidence_details"].(map[string]any)["due_by"] = now + 7*24*3600
	// The balance transactions of the funds withdrawn (and reinstated), as Stripe embeds them.
	txn := func(amount int64, category, desc string) map[string]any {
		return map[string]any{"id": randomID("txn"), "object": "balance_transaction", "amount": amount, "available_on": now,
			"created": now, "currency": string(c.Amount.Currency), "description": desc + " for " + p.ChargeID, "fee": 0,
			"fee_details": []any{}, "net": amount, "reporting_category": category, "source": p.DisputeID,
			"status": "available", "type": "adjustment"}
	}
	withdrawal := txn(-c.Amount.Amount, "dispute", "Chargeback withdrawal")
	o["balance_transactions"] = []any{withdrawal}
	switch typ {
	case "charge.dispute.updated": // evidence submitted
		o["status"] = "under_review"
		o["evidence_details"].(map[string]any)["has_evidence"] = true
		o["evidence_details"].(map[string]any)["submission_count"] = 1
	case "charge.dispute.closed":
		o["status"] = "lost"
	case "charge.dispute.funds_reinstated": // won: the withdrawn funds come back
		o["status"] = "won"
		o["balance_transactions"] = []any{withdrawal, txn(c.Amount.Amount, "dispute_reversal", "Chargeback reversal")}
	}
}

// customerObject fills the customer.
func customerObject(o map[string]any, typ string, p *EventParams, b objectBase) {
	now := b.now
	o["id"], o["created"], o["email"], o["name"] = p.CustomerID, now, p.Email, nil
	o["invoice_prefix"] = strings.ToUpper(randomID("x")[2:10])
}

// fraudWarningObject fills an early fraud warning on the charge.
func fraudWarningObject(o map[string]any, typ string, p *EventParams, b objectBase) {
	now := b.now
	o["id"], o["created"], o["charge"], o["payment_intent"] = randomID("issfr"), now, p.ChargeID, p.PaymentIntentID
}

// DemoEvents are the events Stripe sends when a checkout is paid: for a one-off,
// checkout.session.completed with its payment intent and customer; for a subscription,
// customer.subscription.created, checkout.session.completed with the subscription and its first
// invoice, and invoice.paid.
func DemoEvents(c *pledge.Checkout, email string, now time.Time) ([][]byte, error) {
	p := EventParams{Checkout: c, Email: email, Created: now}
	p.fill()
	types := []string{"checkout.session.completed"}
	if c.Frequency.Recurring() {
		types = []string{"customer.subscription.created", "checkout.session.completed", "invoice.paid"}
	}
	if c.StripeSessionID != "" {
		p.SessionID = c.StripeSessionID
	}
	var out [][]byte
	for _, t := range types {
		p.EventID = randomID("evt")
		b, err := BuildEvent(t, p)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// SignatureHeader is the Stripe-Signature header for payload signed with secret at time t.
func SignatureHeader(payload []byte, secret string, t time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: t}).Header
}

// PostEvent signs payload with secret and posts it to a webhook URL as Stripe does; any answer
// but 2xx is an error carrying the status.
func PostEvent(ctx context.Context, hc *http.Client, url, secret string, payload []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Stripe-Signature", SignatureHeader(payload, secret, time.Now()))
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks) pledge-trigger")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}
