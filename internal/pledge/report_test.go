package pledge

import (
	"testing"
	"time"
)

func TestPeriodPrevious(t *testing.T) {
	d := func(s string) time.Time {
		tm, err := time.Parse("2006-01-02", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, tt := range []struct {
		name                    string
		mtd                     bool
		from, to, wantF, wantTo string
	}{
		{"7 days: the 7 days before", false, "2026-03-10", "2026-03-17", "2026-03-03", "2026-03-10"},
		{"a custom week from the 1st: the 7 days before", false, "2026-03-01", "2026-03-08", "2026-02-22", "2026-03-01"},
		{"month to date: the same days of last month", true, "2026-03-01", "2026-03-16", "2026-02-01", "2026-02-16"},
		{"month to date on the 31st: all of the shorter month before", true, "2026-03-01", "2026-04-01", "2026-02-01", "2026-03-01"},
		{"month to date on the 31st, after a 30-day month", true, "2026-05-01", "2026-06-01", "2026-04-01", "2026-05-01"},
	} {
		got := Period{From: d(tt.from), To: d(tt.to), MonthToDate: tt.mtd}.WholeDays().Previous()
		if !got.From.Equal(d(tt.wantF)) || !got.To.Equal(d(tt.wantTo)) {
			t.Errorf("%s: %s–%s, want %s–%s", tt.name, got.From.Format("2006-01-02"), got.To.Format("2006-01-02"), tt.wantF, tt.wantTo)
		}
	}
}

// Derive fills Net (NetOf), Average (net per donation, zero without donations) and ARR (MRR × 12).
func TestKPIsDerive(t *testing.T) {
	k := KPIs{Gross: 3500, Refunded: 500, Disputed: 1200, Donations: 3, MRR: 1250}
	k.Derive()
	if k.Net != 1800 || k.Average != 600 || k.ARR != 15000 {
		t.Fatalf("net %d average %d ARR %d, want 1800 600 15000", k.Net, k.Average, k.ARR)
	}
	z := KPIs{Average: 7, MRR: 0}
	z.Derive()
	if z.Net != 0 || z.Average != 0 || z.ARR != 0 {
		t.Fatalf("no donations: net %d average %d ARR %d, want zeros", z.Net, z.Average, z.ARR)
	}
}

// MRROf counts a monthly gift whole and an annual gift as a twelfth, the annual sum divided once:
// three annual gifts of 10.00 are 2.50 a month, not three twelfths rounded down each.
func TestMRROf(t *testing.T) {
	for _, tc := range []struct{ monthly, annual, want int64 }{
		{0, 0, 0},
		{500, 0, 500},
		{0, 12000, 1000},
		{0, 3 * 1000, 250},
		{1000, 1000, 1083},
		{0, 11, 0},
	} {
		if got := MRROf(tc.monthly, tc.annual); got != tc.want {
			t.Errorf("MRROf(%d, %d) = %d, want %d", tc.monthly, tc.annual, got, tc.want)
		}
	}
}
