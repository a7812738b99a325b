package abtest

import (
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

func TestBuildReport(t *testing.T) {
	e := &pledge.Experiment{Name: "ask", HoldbackShare: 0.1, Variants: []pledge.Variant{{Name: "control", Weight: 1}, {Name: "warm", Weight: 1}}}
	day := time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC)
	c := &pledge.ExperimentCounts{
		Views:     map[string]int64{"control": 2000, "warm": 2000, pledge.Holdback: 400},
		Clicks:    map[string]int64{"control": 40, "warm": 60},
		Checkouts: map[string]int64{"control": 10, "warm": 12, pledge.Holdback: 1},
		First:     day, Last: day.AddDate(0, 0, 6),
		Gifts: []pledge.ExperimentGift{
			{Variant: "control", Frequency: pledge.Once, Currency: "usd", First: 1000, Total: 1000, Payments: 1},
			{Variant: "control", Frequency: pledge.Monthly, Currency: "usd", First: 500, Total: 1500, Payments: 3},
			{Variant: "warm", Frequency: pledge.Annual, Currency: "usd", First: 10000, Total: 10000, Payments: 1},
			{Variant: "warm", Frequency: pledge.Once, Currency: "eur", First: 700, Total: 700, Payments: 1},
		},
	}
	r := Build(e, pledge.StatusRunning, c, "usd")
	if len(r.Arms) != 3 || r.Arms[2].Variant != pledge.Holdback || r.From != "2027-01-05" || r.To != "2027-01-11" {
		t.Fatalf("arms %+v", r)
	}
	ctl := r.Arms[0]
	usd := ctl.Currencies["usd"]
	if ctl.Gifts != 2 || usd.Gifts != 2 || usd.Money != 2500 || usd.Annualised != 1000+12*500 {
		t.Errorf("control %+v %+v", ctl, usd)
	}
	if warm := r.Arms[1]; warm.Gifts != 2 || warm.Currencies["usd"].Annualised != 10000 || warm.Currencies["eur"].Annualised != 700 {
		t.Errorf("warm %+v", warm)
	}
	want := Rate(40, 2000).Scale(1000)
	if ctl.ClickRate != want {
		t.Errorf("click rate %+v, want %+v", ctl.ClickRate, want)
	}
	if v := r.Arms[1].Currencies["usd"].VersusControl; v == nil || v.Call != CallTooEarly {
		t.Errorf("two gifts each: %+v", v)
	}
	if r.Arms[0].Currencies["usd"].VersusControl != nil {
		t.Error("the control compared with itself")
	}
	// No gift in the holdback yet: its value is what the uniform prior on its rate allows, a
	// wide interval from zero, and no call is made.
	if eff := r.TotalEffect["usd"]; eff == nil || eff.Call != CallTooEarly || eff.Holdback.Low > 500 || eff.Prompted.Mean <= 0 {
		t.Errorf("total effect %+v", eff)
	}
	// Value per thousand views: two gifts in 2,000 views worth 7,000 a year, so 3,500 per
	// thousand views, inside the interval; the mean is pulled up by the uniform prior on the rate
	// ((2+1)/(2000+2) rather than 2/2000).
	if v, naive := usd.ValuePerViews, 7000.0/2000*1000; v.Low > naive || v.High < naive || v.Mean < naive || v.Mean > 2*naive {
		t.Errorf("control value per 1000 views %+v, naive %.0f", v, naive)
	}
}
