package pledge

import (
	"context"
	"time"
)

// Settlement is a charge's Stripe balance transaction: what the payment put in the Stripe
// balance, in the account's settlement currency, at Stripe's own exchange rate.
type Settlement struct {
	BalanceTransaction string   // txn_...
	Currency           Currency // the settlement currency
	Amount             int64    // the charge converted, before fees
	Fee                int64    // Stripe's fee
	Net                int64    // Amount - Fee, as Stripe reports it
}

// Known reports whether the balance transaction was fetched.
func (s Settlement) Known() bool { return s.BalanceTransaction != "" }

// SettledLost is what refunds and disputes took back from a settled donation, in the settlement
// currency: their share of the charge, converted at the charge's own rate (Amount / amount),
// rounded to the nearest minor unit. It approximates the refunds' and disputes' own balance
// transactions, which Stripe converts at the rate of their own day.
func SettledLost(s Settlement, amount, refunded, disputed int64) int64 {
	lost := refunded + disputed
	if amount <= 0 || lost <= 0 {
		return 0
	}
	if lost >= amount {
		return s.Amount
	}
	return (s.Amount*lost*2 + amount) / (amount * 2)
}

// SettledNetOf is the one definition of what a settled donation left in the bank: Stripe's net
// for the charge less what refunds and disputes took back (SettledLost). Stripe keeps its fee on
// a refund, so the fee is never given back.
func SettledNetOf(s Settlement, amount, refunded, disputed int64) int64 {
	return s.Net - SettledLost(s, amount, refunded, disputed)
}

// Settled is the money of a period in one settlement currency: what the donations whose balance
// transaction is known left in the bank.
type Settled struct {
	Currency  Currency // the settlement currency
	Donations int
	Amount    int64 // converted, before fees
	Fees      int64 // Stripe's fees
	Lost      int64 // refunded and disputed, converted (SettledLost)
	Net       int64 // Amount - Fees - Lost
}

// Unsettled is the money of a period whose balance transactions are not known yet, in the
// charges' own currency (net of refunds and disputes, NetOf).
type Unsettled struct {
	Currency  Currency
	Donations int
	Net       int64
}

// SettlementTarget is a donation whose balance transaction is not known yet: reconcile fetches
// it by the donation's charge (or payment intent).
type SettlementTarget struct {
	DonationID    int64
	PaymentIntent string
	Charge        string
}

// SettlementService records balance transactions fetched after the donation was (reconcile).
type SettlementService interface {
	// Unsettled lists up to limit donations without a known balance transaction, oldest first.
	UnsettledDonations(ctx context.Context, limit int) ([]SettlementTarget, error)
	// UnsettledSince is UnsettledDonations for the donations paid at or after since.
	UnsettledSince(ctx context.Context, since time.Time, limit int) ([]SettlementTarget, error)
	// RecordSettlement stores a donation's balance transaction and moves the rollups.
	RecordSettlement(ctx context.Context, donationID int64, charge string, s Settlement) error
}
