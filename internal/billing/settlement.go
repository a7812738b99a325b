package billing

import (
	"context"
	"fmt"

	"github.com/stripe/stripe-go/v76"

	"github.com/pledge-news/pledge/internal/pledge"
)

// Settlement fetches a payment's balance transaction: the charge named (or the payment intent's
// latest charge) with its balance transaction expanded, one call, which gives the settlement
// currency, the converted amount, Stripe's fee and the net. (Should Stripe answer with the
// transaction's id alone, GET /v1/balance_transactions/:id fetches it.) It returns the charge id
// with it. A charge with no balance transaction yet (still processing) is an ENOTFOUND error.
func (c *Client) Settlement(ctx context.Context, paymentIntent, charge string) (string, pledge.Settlement, error) {
	var bt *stripe.BalanceTransaction
	switch {
	case charge != "":
		params := &stripe.ChargeParams{Params: expanded(ctx, "balance_transaction")}
		ch, err := c.api.Charges.Get(charge, params)
		if err != nil {
			return "", pledge.Settlement{}, fmt.Errorf("fetch charge %s: %w", charge, err)
		}
		bt = ch.BalanceTransaction
	case paymentIntent != "":
		params := &stripe.PaymentIntentParams{Params: expanded(ctx, "latest_charge.balance_transaction")}
		pi, err := c.api.PaymentIntents.Get(paymentIntent, params)
		if err != nil {
			return "", pledge.Settlement{}, fmt.Errorf("fetch payment intent %s: %w", paymentIntent, err)
		}
		if pi.LatestCharge == nil || pi.LatestCharge.ID == "" {
			return "", pledge.Settlement{}, pledge.Errorf(pledge.ENOTFOUND, "payment intent %s has no charge yet", paymentIntent)
		}
		charge, bt = pi.LatestCharge.ID, pi.LatestCharge.BalanceTransaction
	}
	if bt == nil || bt.ID == "" {
		return charge, pledge.Settlement{}, pledge.Errorf(pledge.ENOTFOUND, "charge %s has no balance transaction yet", charge)
	}
	if bt.Currency == "" { // not expanded
		params := &stripe.BalanceTransactionParams{Params: expanded(ctx)}
		id := bt.ID
		var err error
		if bt, err = c.api.BalanceTransactions.Get(id, params); err != nil {
			return charge, pledge.Settlement{}, fmt.Errorf("fetch balance transaction %s: %w", id, err)
		}
	}
	return charge, pledge.Settlement{BalanceTransaction: bt.ID, Currency: pledge.Currency(bt.Currency),
		Amount: bt.Amount, Fee: bt.Fee, Net: bt.Net}, nil
}

// expanded is a request's parameters on ctx that expand the fields named.
func expanded(ctx context.Context, fields ...string) stripe.Params {
	p := stripe.Params{Context: ctx}
	for _, f := range fields {
		p.AddExpand(f)
	}
	return p
}
