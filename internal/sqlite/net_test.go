package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/sqlite"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
)

// TestNetInSQLIsNetOf: the figures whose net is summed in SQL (the top lists, the supporter
// export) agree with pledge.NetOf, which the headline net and the daily series use, for a
// donation both partly refunded and with a lost dispute.
func TestNetInSQLIsNetOf(t *testing.T) {
	db := storetest.Open(t, nil)
	ctx := context.Background()
	kept, both := newCheckout(t, db, pledge.Once, 1000), newCheckout(t, db, pledge.Once, 2500)
	apply(t, db, ev("evt_k", "checkout.session.completed", lt0, oneOff(kept, "pi_k", "cus_n", "n@example.com")))
	apply(t, db, ev("evt_b", "checkout.session.completed", lt0, oneOff(both, "pi_b", "cus_n", "n@example.com")))
	apply(t, db, ev("evt_rf", "charge.refunded", lt0.Add(time.Hour), &pledge.ChargeRefunded{
		ChargeID: "ch_b", PaymentIntent: "pi_b", Amount: both.Amount, AmountRefunded: 500}))
	apply(t, db, ev("evt_dl", "charge.dispute.closed", lt0.Add(2*time.Hour), &pledge.DisputeChanged{DisputeID: "dp_b",
		ChargeID: "ch_b", PaymentIntent: "pi_b", Status: "lost", Amount: pledge.Money{Amount: 1200, Currency: "usd"}}))
	want := pledge.NetOf(1000+2500, 500, 1200)

	day := lt0.Truncate(24 * time.Hour)
	for _, p := range []pledge.Period{
		{From: day, To: day.AddDate(0, 0, 1)},                     // the days' rows only
		{From: day.AddDate(0, 0, -14), To: day.AddDate(0, 0, 14)}, // whole weeks too
	} {
		d, err := db.Dashboard(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Currencies) != 1 {
			t.Fatalf("%v: currencies %+v, want usd only", p, d.Currencies)
		}
		k := d.Currencies[0].Current
		if k.Gross != 3500 || k.Refunded != 500 || k.Disputed != 1200 || k.Net != want {
			t.Fatalf("%v: gross %d refunded %d disputed %d net %d, want 3500 500 1200 %d", p, k.Gross, k.Refunded, k.Disputed, k.Net, want)
		}
		var daily int64
		for _, m := range d.Currencies[0].Daily {
			daily += m.Once + m.Monthly + m.Annual
		}
		if daily != want {
			t.Errorf("%v: daily net sums to %d, want %d", p, daily, want)
		}
		if len(d.TopArticles) != 1 || d.TopArticles[0].Net != want {
			t.Errorf("%v: top articles %+v, want one with net %d", p, d.TopArticles, want)
		}
		if len(d.TopCampaigns) != 1 || d.TopCampaigns[0].Net != want {
			t.Errorf("%v: top campaigns %+v, want one with net %d", p, d.TopCampaigns, want)
		}
	}
	got := lastSupporterTotals(t, db)
	if len(got) != 1 || got[0] != (pledge.Money{Amount: want, Currency: "usd"}) {
		t.Fatalf("export totals %v, want %d usd", got, want)
	}
}

// lastSupporterTotals is the net totals the supporter export gives its last supporter.
func lastSupporterTotals(t *testing.T, db *sqlite.DB) []pledge.Money {
	t.Helper()
	var got []pledge.Money
	if err := db.EachSupporter(context.Background(), pledge.ExportFilter{}, func(s *pledge.SupporterRecord) error {
		got = s.Totals
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}
