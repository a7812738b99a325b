package server

import (
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// TestDashboardFigures: tax (when there is some), scheduled cancellations and what disputes
// withdrew are on the dashboard, next to the figures they change.
func TestDashboardFigures(t *testing.T) {
	d := &pledge.Dashboard{Period: pledge.Period{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		To: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}}
	k := pledge.KPIs{Currency: "usd", Gross: 10000, Refunded: 500, Disputed: 700, Net: 8800, Tax: 80, Donations: 3,
		Refunds: 1, Disputes: 2, ActiveMonthly: 4, CancellationsScheduled: 2}
	prev := pledge.KPIs{Currency: "usd", Disputed: 1400, CancellationsScheduled: 1}
	kpis := func(cur, prev pledge.KPIs) map[string]kpiView {
		m := map[string]kpiView{}
		for _, v := range englishNumbers.currencyViewOf(pledge.CurrencyReport{Current: cur, Previous: prev}, d).KPIs {
			m[v.Key] = v
		}
		return m
	}
	got := kpis(k, prev)
	for _, tc := range []struct{ key, label, value, raw, trend, hint string }{
		{"net", "Money in, net of refunds and disputes", "$88.00", "88.00", "up", "$100.00 charged, $5.00 refunded, $7.00 withdrawn by disputes."},
		{"tax", "Tax", "$0.80", "0.80", "up", "not the newsroom's money"},
		{"scheduled", "Cancellations scheduled", "2", "2", "bad", "set to end, still counted until they end"},
		{"disputes", "Disputes", "$7.00", "7.00", "good", "withdrawn by open or lost disputes"},
	} {
		v, ok := got[tc.key]
		if !ok {
			t.Errorf("no %s figure", tc.key)
			continue
		}
		if v.Label != tc.label || v.Value != tc.value || v.Raw != tc.raw || v.Trend != tc.trend || !strings.Contains(v.Hint, tc.hint) {
			t.Errorf("%s = %+v; want %q %q (%s) %s, hint with %q", tc.key, v, tc.label, tc.value, tc.raw, tc.trend, tc.hint)
		}
	}
	if h := got["disputes"].Hint; !strings.Contains(h, "donations disputed: 2") {
		t.Errorf("disputes hint %q does not count the disputed donations", h)
	}
	// No tax in either period: no tax figure.
	k.Tax = 0
	if v, ok := kpis(k, prev)["tax"]; ok {
		t.Errorf("a tax figure without tax: %+v", v)
	}
	// Tax last period only: shown, to compare.
	prev.Tax = 50
	if v, ok := kpis(k, prev)["tax"]; !ok || v.Value != "$0.00" || v.Previous != "$0.50" {
		t.Errorf("tax of the previous period only: %+v", v)
	}
}
