package billing

import (
	"encoding/json"
	"testing"

	"github.com/stripe/stripe-go/v76"
)

// TestSettledChargeDecodesAsStripeGo: Settlement decodes only a charge's id and balance
// transaction; expanded or not, they must be what stripe-go's own types give.
func TestSettledChargeDecodesAsStripeGo(t *testing.T) {
	for _, raw := range []string{
		`{"id":"pi_1","latest_charge":{"id":"ch_1","amount":1000,"balance_transaction":{"id":"txn_1","currency":"eur",` +
			`"amount":912,"fee":56,"net":856,"fee_details":[{"amount":56}]},"outcome":{"type":"authorized"}},"amount":1000}`,
		`{"id":"pi_2","latest_charge":{"id":"ch_2","balance_transaction":"txn_2"}}`,
		`{"id":"pi_3","latest_charge":"ch_3"}`,
		`{"id":"pi_4","latest_charge":null}`,
		`{"id":"pi_5","latest_charge":{"id":"ch_5","balance_transaction":null}}`,
	} {
		var want stripe.PaymentIntent
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			t.Fatal(err)
		}
		var got struct {
			LatestCharge *settledCharge `json:"latest_charge"`
		}
		if err := json.Unmarshal([]byte(raw), &got); err != nil {
			t.Fatal(err)
		}
		if (want.LatestCharge == nil) != (got.LatestCharge == nil) {
			t.Fatalf("%s: charge %+v, stripe-go %+v", raw, got.LatestCharge, want.LatestCharge)
		}
		if want.LatestCharge == nil {
			continue
		}
		w, g := want.LatestCharge, got.LatestCharge
		if g.ID != w.ID || (w.BalanceTransaction == nil) != (g.BalanceTransaction == nil) {
			t.Fatalf("%s: charge %+v, stripe-go %+v", raw, g, w)
		}
		if wb, gb := w.BalanceTransaction, g.BalanceTransaction; wb != nil && (gb.ID != wb.ID ||
			gb.Currency != string(wb.Currency) || gb.Amount != wb.Amount || gb.Fee != wb.Fee || gb.Net != wb.Net) {
			t.Fatalf("%s: balance %+v, stripe-go %+v", raw, gb, wb)
		}
	}
}
