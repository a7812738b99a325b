package billing

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/pledge-news/pledge/internal/pledge"
)

// MetaCheckout is the metadata key that marks a Stripe object as Pledge's.
const MetaCheckout = "pledge_checkout"

// MetaSite is the metadata key naming the deployment that created the object: several Pledge
// deployments may share one Stripe account, and each applies only its own objects.
const MetaSite = "pledge_site"

// metadataOf reads Pledge's metadata; ok is false for an object Pledge did not create.
func metadataOf(m map[string]string) (pledge.Metadata, bool) {
	id := m[MetaCheckout]
	if id == "" {
		return pledge.Metadata{}, false
	}
	f := pledge.Frequency(m["frequency"])
	if _, err := pledge.ParseFrequency(string(f)); err != nil {
		f = ""
	}
	return pledge.Metadata{CheckoutID: id, Site: m[MetaSite], Frequency: f, Article: m["article"], Campaign: m["campaign"]}, true
}

func money(amount int64, cur stripe.Currency) pledge.Money {
	return pledge.Money{Amount: amount, Currency: pledge.Currency(cur)}
}

func unixTime(n int64) time.Time {
	if n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// Translate turns a Stripe event into a ledger event. Objects without Pledge's metadata, and
// types Pledge does not handle, translate to a nil Fact: recorded, then ignored. Listed events of
// other API versions translate too: the few fields that moved since 2023-10-16 are read from
// either place.
func Translate(ev *stripe.Event) (*pledge.LedgerEvent, error) {
	le := &pledge.LedgerEvent{ID: ev.ID, Type: string(ev.Type), Created: unixTime(ev.Created), Livemode: ev.Livemode}
	if ev.Data == nil || len(ev.Data.Raw) == 0 {
		return le, nil
	}
	raw := ev.Data.Raw
	var err error
	switch ev.Type {
	case "checkout.session.completed", "checkout.session.async_payment_succeeded",
		"checkout.session.async_payment_failed", "checkout.session.expired":
		// The hottest type names its object itself: one decode of the object, not two.
		le.ObjectID, le.Fact, err = translateSession(ev.Type, raw)
	case "invoice.paid", "invoice.payment_failed", "invoice.payment_action_required", "invoice.upcoming":
		le.Fact, err = translateInvoice(ev.Type, raw)
	case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted":
		le.Fact, err = translateSubscription(raw)
	case "charge.refunded":
		var ch stripe.Charge
		if err = json.Unmarshal(raw, &ch); err == nil {
			le.Fact = chargeFact(&ch)
		}
	case "charge.refund.updated":
		var r stripe.Refund
		if err = json.Unmarshal(raw, &r); err == nil {
			le.Fact = &pledge.RefundUpdated{RefundID: r.ID, ChargeID: idOf(r.Charge), PaymentIntent: idOf(r.PaymentIntent),
				Amount: r.Amount, Currency: pledge.Currency(r.Currency), Status: string(r.Status)}
		}
	case "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed",
		"charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated":
		var d stripe.Dispute
		if err = json.Unmarshal(raw, &d); err == nil {
			le.Fact = &pledge.DisputeChanged{DisputeID: d.ID, ChargeID: idOf(d.Charge), PaymentIntent: idOf(d.PaymentIntent),
				Status: string(d.Status), Amount: money(d.Amount, d.Currency), Reinstated: ev.Type == "charge.dispute.funds_reinstated"}
		}
	case "customer.created", "customer.updated":
		// Customers carry no Pledge metadata: the store changes only supporters it knows.
		var c stripe.Customer
		if err = json.Unmarshal(raw, &c); err == nil {
			le.Fact = &pledge.CustomerChanged{Customer: pledge.Customer{StripeID: c.ID, Email: c.Email, Name: c.Name}}
		}
	case "radar.early_fraud_warning.created":
		var w stripe.RadarEarlyFraudWarning
		if err = json.Unmarshal(raw, &w); err == nil {
			le.Fact = &pledge.FraudWarning{WarningID: w.ID, ChargeID: idOf(w.Charge), PaymentIntent: idOf(w.PaymentIntent)}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("event %s (%s): %w", ev.ID, ev.Type, err)
	}
	if le.ObjectID == "" {
		var head struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return nil, fmt.Errorf("event %s: %w", ev.ID, err)
		}
		le.ObjectID = head.ID
	}
	if f, ok := le.Fact.(*pledge.InvoiceUpcoming); ok && le.ObjectID == "" {
		le.ObjectID = f.Subscription // an upcoming invoice has no id of its own
	}
	return le, nil
}

// idOf returns the id of an expandable field, "" when absent. stripe-go decodes a bare id string
// into a struct with only ID set.
func idOf[T interface {
	*stripe.Charge | *stripe.PaymentIntent | *stripe.Invoice | *stripe.Customer | *stripe.Subscription
}](v T) string {
	if v == nil {
		return ""
	}
	switch o := any(v).(type) {
	case *stripe.Charge:
		return o.ID
	case *stripe.PaymentIntent:
		return o.ID
	case *stripe.Invoice:
		return o.ID
	case *stripe.Customer:
		return o.ID
	case *stripe.Subscription:
		return o.ID
	}
	return ""
}

// translateSession returns the session's id and its fact (nil for a session not Pledge's).
func translateSession(typ stripe.EventType, raw json.RawMessage) (string, any, error) {
	var s stripe.CheckoutSession
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", nil, err
	}
	meta, ours := metadataOf(s.Metadata)
	if !ours {
		return s.ID, nil, nil
	}
	switch typ {
	case "checkout.session.async_payment_failed":
		return s.ID, &pledge.CheckoutClosed{SessionID: s.ID, CheckoutID: meta.CheckoutID, Status: pledge.CheckoutFailed}, nil
	case "checkout.session.expired":
		return s.ID, &pledge.CheckoutClosed{SessionID: s.ID, CheckoutID: meta.CheckoutID, Status: pledge.CheckoutAbandoned}, nil
	}
	f := &pledge.CheckoutCompleted{
		SessionID: s.ID, CheckoutID: meta.CheckoutID, Meta: meta,
		Paid:          s.PaymentStatus == stripe.CheckoutSessionPaymentStatusPaid,
		Customer:      pledge.Customer{StripeID: idOf(s.Customer), Email: s.CustomerEmail},
		PaymentIntent: idOf(s.PaymentIntent),
		Subscription:  idOf(s.Subscription),
		Invoice:       idOf(s.Invoice),
	}
	// amount_total is after discounts and with tax; the journalism is what is left without tax.
	if s.TotalDetails != nil {
		f.Tax = s.TotalDetails.AmountTax
	}
	f.Amount = money(s.AmountTotal-f.Tax, s.Currency)
	if d := s.CustomerDetails; d != nil {
		if d.Email != "" {
			f.Customer.Email = d.Email
		}
		f.Customer.Name = d.Name
	}
	if s.Mode == stripe.CheckoutSessionModeSubscription {
		f.PaymentIntent = ""
	}
	return s.ID, f, nil
}

// invoiceParent is where API versions after 2023-10-16 put an invoice's subscription.
type invoiceParent struct {
	Parent *struct {
		SubscriptionDetails *struct {
			Subscription string            `json:"subscription"`
			Metadata     map[string]string `json:"metadata"`
		} `json:"subscription_details"`
	} `json:"parent"`
}

func translateInvoice(typ stripe.EventType, raw json.RawMessage) (any, error) {
	var inv stripe.Invoice
	if err := json.Unmarshal(raw, &inv); err != nil {
		return nil, err
	}
	sub := idOf(inv.Subscription)
	var meta pledge.Metadata
	ours := false
	// A snapshot of the subscription's metadata at finalization. When it holds metadata but no
	// pledge_checkout, the subscription is someone else's (every Pledge subscription has it from
	// creation): the payload settles that, with no lookup. An empty or null one settles nothing.
	foreign := false
	if inv.SubscriptionDetails != nil {
		meta, ours = metadataOf(inv.SubscriptionDetails.Metadata)
		foreign = !ours && len(inv.SubscriptionDetails.Metadata) > 0
	}
	var interval string
	var period *stripe.Period
	if inv.Lines != nil {
		for _, l := range inv.Lines.Data {
			if !ours {
				meta, ours = metadataOf(l.Metadata)
			}
			if sub == "" {
				sub = idOf(l.Subscription)
			}
			if interval == "" && l.Price != nil && l.Price.Recurring != nil {
				interval = string(l.Price.Recurring.Interval)
			}
			if interval == "" && l.Plan != nil {
				interval = string(l.Plan.Interval)
			}
			if period == nil {
				period = l.Period
			}
		}
	}
	if sub == "" || !ours {
		var p invoiceParent
		if err := json.Unmarshal(raw, &p); err == nil && p.Parent != nil && p.Parent.SubscriptionDetails != nil {
			if sub == "" {
				sub = p.Parent.SubscriptionDetails.Subscription
			}
			if !ours {
				meta, ours = metadataOf(p.Parent.SubscriptionDetails.Metadata)
				foreign = foreign || !ours && len(p.Parent.SubscriptionDetails.Metadata) > 0
			}
		}
	}
	if sub == "" || foreign && !ours {
		return nil, nil // an invoice of no subscription, or of another's, is not Pledge's
	}
	// Without metadata in the payload the fact goes on with an empty Meta; Webhooks.settle looks
	// the subscription up and drops the fact if it is not Pledge's.
	if typ == "invoice.upcoming" {
		// An upcoming invoice has no id yet. Its date is when Stripe will try to charge it; its
		// lines' period is the period it pays for, which starts at the renewal.
		f := &pledge.InvoiceUpcoming{Subscription: sub, Meta: meta, Customer: idOf(inv.Customer),
			Amount: money(inv.AmountDue, inv.Currency), Interval: interval, RenewsAt: unixTime(inv.NextPaymentAttempt)}
		if f.RenewsAt.IsZero() && period != nil {
			f.RenewsAt = unixTime(period.Start)
		}
		return f, nil
	}
	if typ != "invoice.paid" {
		return &pledge.InvoiceFailed{
			InvoiceID: inv.ID, Subscription: sub, Meta: meta, Amount: money(inv.AmountDue, inv.Currency),
			AttemptCount: inv.AttemptCount, ActionRequired: typ == "invoice.payment_action_required",
			NextAttempt: unixTime(inv.NextPaymentAttempt),
			Renewal:     inv.BillingReason == stripe.InvoiceBillingReasonSubscriptionCycle,
			Customer:    idOf(inv.Customer),
		}, nil
	}
	f := &pledge.InvoicePaid{
		InvoiceID: inv.ID, Subscription: sub, Meta: meta,
		Customer:      pledge.Customer{StripeID: idOf(inv.Customer), Email: inv.CustomerEmail, Name: inv.CustomerName},
		Tax:           invoiceTax(&inv, raw),
		PaymentIntent: idOf(inv.PaymentIntent),
		Charge:        idOf(inv.Charge),
		Interval:      interval,
	}
	f.Amount = money(inv.AmountPaid-f.Tax, inv.Currency)
	if inv.StatusTransitions != nil {
		f.PaidAt = unixTime(inv.StatusTransitions.PaidAt)
	}
	if period != nil {
		f.PeriodStart, f.PeriodEnd = unixTime(period.Start), unixTime(period.End)
	}
	return f, nil
}

// invoiceTaxes is where API versions after 2023-10-16 put an invoice's tax, once `tax` is gone.
type invoiceTaxes struct {
	Tax        *int64 `json:"tax"`
	TotalTaxes []struct {
		Amount int64 `json:"amount"`
	} `json:"total_taxes"`
}

// invoiceTax is the invoice's tax: `tax` (null without tax), or the sum of total_taxes in newer
// shapes.
func invoiceTax(inv *stripe.Invoice, raw json.RawMessage) int64 {
	if inv.Tax != 0 {
		return inv.Tax
	}
	var t invoiceTaxes
	if err := json.Unmarshal(raw, &t); err != nil || t.Tax != nil {
		return 0
	}
	var sum int64
	for _, x := range t.TotalTaxes {
		sum += x.Amount
	}
	return sum
}

// itemPeriod is where API versions after 2023-10-16 put a subscription's current period.
type itemPeriod struct {
	Items *struct {
		Data []struct {
			CurrentPeriodEnd int64 `json:"current_period_end"`
		} `json:"data"`
	} `json:"items"`
}

func translateSubscription(raw json.RawMessage) (any, error) {
	var s stripe.Subscription
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	meta, ours := metadataOf(s.Metadata)
	if !ours {
		return nil, nil
	}
	f := &pledge.SubscriptionChanged{
		SubscriptionID:    s.ID,
		Meta:              meta,
		Customer:          pledge.Customer{StripeID: idOf(s.Customer)},
		Status:            string(s.Status),
		CancelAtPeriodEnd: s.CancelAtPeriodEnd,
		CurrentPeriodEnd:  unixTime(s.CurrentPeriodEnd),
		StartedAt:         unixTime(s.StartDate),
		CanceledAt:        unixTime(s.CanceledAt),
		CancelAt:          unixTime(s.CancelAt),
		EndedAt:           unixTime(s.EndedAt),
		Paused:            s.PauseCollection != nil,
		Amount:            pledge.Money{Currency: pledge.Currency(s.Currency)},
	}
	if s.CancellationDetails != nil {
		f.CancellationReason = string(s.CancellationDetails.Reason)
	}
	if s.Items != nil && len(s.Items.Data) > 0 {
		it := s.Items.Data[0]
		q := max(it.Quantity, 1)
		if it.Price != nil {
			f.Amount.Amount = it.Price.UnitAmount * q
			if it.Price.Recurring != nil {
				f.Interval = string(it.Price.Recurring.Interval)
			}
			if f.Amount.Currency == "" {
				f.Amount.Currency = pledge.Currency(it.Price.Currency)
			}
		}
	}
	if s.Discount != nil {
		f.Amount.Amount = discounted(f.Amount, s.Discount.Coupon)
	}
	if f.CurrentPeriodEnd.IsZero() {
		var p itemPeriod
		if err := json.Unmarshal(raw, &p); err == nil && p.Items != nil && len(p.Items.Data) > 0 {
			f.CurrentPeriodEnd = unixTime(p.Items.Data[0].CurrentPeriodEnd)
		}
	}
	return f, nil
}

// discounted is amount less a coupon, as Stripe computes it on an invoice: percent_off rounded
// half away from zero on the minor units, or amount_off when in the same currency; never below
// zero. A coupon in another currency takes nothing off.
func discounted(amount pledge.Money, c *stripe.Coupon) int64 {
	a := amount.Amount
	if c == nil || a <= 0 {
		return a
	}
	var off int64
	switch {
	case c.PercentOff > 0:
		// percent_off in ten-thousandths of a percent, so the arithmetic is exact integers.
		p := int64(math.Round(c.PercentOff * 10000))
		off = (a*p + 500000) / 1000000
	case c.AmountOff > 0 && strings.EqualFold(string(c.Currency), string(amount.Currency)):
		off = c.AmountOff
	}
	return max(a-off, 0)
}

// chargeFact is a charge's refunded total as a ledger fact.
func chargeFact(ch *stripe.Charge) *pledge.ChargeRefunded {
	meta, _ := metadataOf(ch.Metadata)
	return &pledge.ChargeRefunded{
		ChargeID: ch.ID, PaymentIntent: idOf(ch.PaymentIntent), Invoice: idOf(ch.Invoice),
		Amount: money(ch.Amount, ch.Currency), AmountRefunded: ch.AmountRefunded, Meta: meta,
	}
}
