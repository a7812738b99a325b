package billing

import (
	"context"
	"fmt"

	"github.com/stripe/stripe-go/v76"

	"github.com/pledge-news/pledge/internal/pledge"
)

// Settlement fetches a payment's balance transaction by id: the charge named (or the payment
// intent's latest charge) tells which, and GET /v1/balance_transactions/:id gives the
// settlement currency, the converted amount, Stripe's fee and the net. It returns the charge id
// with it. A charge with no balance transaction yet (still processing) is an ENOTFOUND error.
func (c *Client) Settlement(ctx context.Context, paymentIntent, charge string) (string, pledge.Settlement, error) {
	var txn string
	switch {
	case charge != "":
		params := &stripe.ChargeParams{}
		params.Context = ctx
		ch, err := c.api.Charges.Get(charge, params)
		if err != nil {
			return "", pledge.Settlement{}, fmt.Errorf("fetch charge %s: %w", charge, err)
		}
		if ch.BalanceTransaction != nil {
			txn = ch.BalanceTransaction.ID
		}
	case paymentIntent != "":
		// The payment intent's charge, expanded, names its balance transaction.
		params := &stripe.PaymentIntentParams{}
		params.Context = ctx
		params.AddExpand("latest_charge")
		pi, err := c.api.PaymentIntents.Get(paymentIntent, params)
		if err != nil {
			return "", pledge.Settlement{}, fmt.Errorf("fetch payment intent %s: %w", paymentIntent, err)
		}
		if pi.LatestCharge == nil || pi.LatestCharge.ID == "" {
			return "", pledge.Settlement{}, pledge.Errorf(pledge.ENOTFOUND, "payment intent %s has no charge yet", paymentIntent)
		}
		charge = pi.LatestCharge.ID
		if pi.LatestCharge.BalanceTransaction != nil {
			txn = pi.LatestCharge.BalanceTransaction.ID
		}
	}
	if txn == "" {
		return charge, pledge.Settlement{}, pledge.Errorf(pledge.ENOTFOUND, "charge %s has no balance transaction yet", charge)
	}
	params := &stripe.BalanceTransactionParams{}
	params.Context = ctx
	bt, err := c.api.BalanceTransactions.Get(txn, params)
	if err != nil {
		return charge, pledge.Settlement{}, fmt.Errorf("fetch balance transaction %s: %w", txn, err)
	}
	return charge, pledge.Settlement{BalanceTransaction: bt.ID, Currency: pledge.Currency(bt.Currency),
		Amount: bt.Amount, Fee: bt.Fee, Net: bt.Net}, nil
}
