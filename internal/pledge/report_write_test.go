package pledge

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestWriteReport(t *testing.T) {
	jan := Period{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}
	oneDay := Period{From: time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC)}
	usd := KPIs{Currency: "usd", Gross: 1000, Refunded: 100, Disputed: 200, Net: 700, Tax: 80, Donations: 2, Average: 350,
		NewSupporters: 2, ActiveMonthly: 1, ActiveAnnual: 2, MRR: 500, ARR: 6000, Cancellations: 3, CancellationsScheduled: 4,
		FailedPayments: 5, Recovered: 1, Refunds: 1, Disputes: 1,
		Days: 30, RecurringAtStart: 10, NewRecurring: 4, OpenFailed: 2, AtRisk: 1000, SettledDonations: 2,
		SettledAmount: 1080, Fees: 61, SettledLost: 100, SettledNet: 919, UnsettledDonations: 1, UnsettledNet: 300}
	eur := KPIs{Currency: "EUR", Gross: 2500, Net: 2500, Donations: 1, NewSupporters: 1}
	for _, tc := range []struct {
		name    string
		p       Period
		figures []KPIs
		format  string
		want    string
	}{
		{"empty json", jan, nil, FormatJSON, `{
  "from": "2026-01-01",
  "to": "2026-01-31",
  "currencies": {}
}
`},
		{"empty csv", jan, nil, FormatCSV,
			"currency,gross,refunded,disputed,net,tax,donations,new_supporters,recurring_supporters,mrr,cancellations,cancellations_scheduled,failed_payments,recovered_payments,recurring_at_start,new_recurring,net_new_recurring,churn_rate_bp,failed_open,at_risk,settled_donations,settled_amount,fees,settled_lost,settled_net,unsettled_donations,unsettled_net\n"},
		{"one day, one currency, json", oneDay, []KPIs{usd}, FormatJSON, `{
  "from": "2026-03-05",
  "to": "2026-03-05",
  "currencies": {
    "usd": {
      "gross": 1000,
      "refunded": 100,
      "disputed": 200,
      "net": 700,
      "tax": 80,
      "donations": 2,
      "new_supporters": 2,
      "recurring_supporters": 3,
      "mrr": 500,
      "cancellations": 3,
      "cancellations_scheduled": 4,
      "failed_payments": 5,
      "recovered_payments": 1,
      "recurring_at_start": 10,
      "new_recurring": 4,
      "net_new_recurring": 1,
      "churn_rate_bp": 3000,
      "failed_open": 2,
      "at_risk": 1000,
      "settled_donations": 2,
      "settled_amount": 1080,
      "fees": 61,
      "settled_lost": 100,
      "settled_net": 919,
      "unsettled_donations": 1,
      "unsettled_net": 300
    }
  }
}
`},
		{"two currencies in currency order, json", jan, []KPIs{usd, eur}, FormatJSON, `{
  "from": "2026-01-01",
  "to": "2026-01-31",
  "currencies": {
    "eur": {
      "gross": 2500,
      "refunded": 0,
      "disputed": 0,
      "net": 2500,
      "tax": 0,
      "donations": 1,
      "new_supporters": 1,
      "recurring_supporters": 0,
      "mrr": 0,
      "cancellations": 0,
      "cancellations_scheduled": 0,
      "failed_payments": 0,
      "recovered_payments": 0,
      "recurring_at_start": 0,
      "new_recurring": 0,
      "net_new_recurring": 0,
      "churn_rate_bp": 0,
      "failed_open": 0,
      "at_risk": 0,
      "settled_donations": 0,
      "settled_amount": 0,
      "fees": 0,
      "settled_lost": 0,
      "settled_net": 0,
      "unsettled_donations": 0,
      "unsettled_net": 0
    },
    "usd": {
      "gross": 1000,
      "refunded": 100,
      "disputed": 200,
      "net": 700,
      "tax": 80,
      "donations": 2,
      "new_supporters": 2,
      "recurring_supporters": 3,
      "mrr": 500,
      "cancellations": 3,
      "cancellations_scheduled": 4,
      "failed_payments": 5,
      "recovered_payments": 1,
      "recurring_at_start": 10,
      "new_recurring": 4,
      "net_new_recurring": 1,
      "churn_rate_bp": 3000,
      "failed_open": 2,
      "at_risk": 1000,
      "settled_donations": 2,
      "settled_amount": 1080,
      "fees": 61,
      "settled_lost": 100,
      "settled_net": 919,
      "unsettled_donations": 1,
      "unsettled_net": 300
    }
  }
}
`},
		{"two currencies in currency order, csv", jan, []KPIs{usd, eur}, FormatCSV,
			"currency,gross,refunded,disputed,net,tax,donations,new_supporters,recurring_supporters,mrr,cancellations,cancellations_scheduled,failed_payments,recovered_payments,recurring_at_start,new_recurring,net_new_recurring,churn_rate_bp,failed_open,at_risk,settled_donations,settled_amount,fees,settled_lost,settled_net,unsettled_donations,unsettled_net\n" +
				"eur,2500,0,0,2500,0,1,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n" +
				"usd,1000,100,200,700,80,2,2,3,500,3,4,5,1,10,4,1,3000,2,1000,2,1080,61,100,919,1,300\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteReport(&b, tc.p, tc.figures, tc.format); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
			if tc.format == FormatJSON && !json.Valid(b.Bytes()) {
				t.Error("not valid JSON")
			}
		})
	}
}

func TestWriteReportRefuses(t *testing.T) {
	p := Period{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}
	var b bytes.Buffer
	if err := WriteReport(&b, p, nil, "xml"); ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "xml") {
		t.Errorf("format xml: %v", err)
	}
	twice := []KPIs{{Currency: "usd"}, {Currency: "USD"}}
	if err := WriteReport(&b, p, twice, FormatCSV); err == nil {
		t.Error("a currency listed twice was written")
	}
	if b.Len() != 0 {
		t.Errorf("wrote %q before refusing", b.String())
	}
}
