package abtest

import (
	"slices"

	"github.com/pledge-news/pledge/internal/pledge"
)

// Report is an experiment's results: per arm its counts and rates, and per currency its money
// and value per thousand views, compared with the control; and the ask's total effect (all
// prompted arms against the holdback). Rates and values are per thousand views, each with its
// 95% interval.
type Report struct {
	Experiment    string   `json:"experiment"`
	Status        string   `json:"status"`
	Control       string   `json:"control"`
	HoldbackShare float64  `json:"holdback_share"`
	From          string   `json:"from,omitempty"` // the first and last UTC days with a view
	To            string   `json:"to,omitempty"`
	Minimum       Minimum  `json:"minimum"`
	Method        string   `json:"method"`
	Arms          []ArmRow `json:"arms"`
	// TotalEffect, by currency: every prompted arm together against the holdback (nil without
	// a holdback).
	TotalEffect map[pledge.Currency]*Effect `json:"total_effect,omitempty"`
}

// Minimum is what each arm needs before it is compared.
type Minimum struct {
	Views int64 `json:"views"`
	Gifts int64 `json:"gifts"`
}

// ArmRow is one arm: a variant, or the holdback.
type ArmRow struct {
	Variant   string   `json:"variant"`
	Views     int64    `json:"views"`
	Clicks    int64    `json:"clicks"`
	ClickRate Estimate `json:"clicks_per_1000"`
	Checkouts int64    `json:"checkouts"`
	// CheckoutRate and GiftRate count checkouts and paid gifts per thousand views.
	CheckoutRate Estimate                         `json:"checkouts_per_1000"`
	Gifts        int64                            `json:"gifts"`
	GiftRate     Estimate                         `json:"gifts_per_1000"`
	Currencies   map[pledge.Currency]*CurrencyRow `json:"currencies"`
}

// CurrencyRow is an arm's money in one currency, in its minor units.
type CurrencyRow struct {
	Gifts int64 `json:"gifts"`
	// Money is every payment through the arm's checkouts so far (renewals too), before refunds.
	Money         int64    `json:"money"`
	MoneyPerViews Estimate `json:"money_per_1000"`
	// Annualised values each gift at a year: once as given, monthly × 12, annual × 1.
	Annualised     int64    `json:"annualised"`
	ValuePerViews  Estimate `json:"value_per_1000"`
	VersusControl  *Verdict `json:"versus_control,omitempty"`
	annualisedVals []float64
	views          int64
}

// Effect is the prompted arms' value per thousand views against the holdback's.
type Effect struct {
	Prompted Estimate `json:"prompted_value_per_1000"`
	Holdback Estimate `json:"holdback_value_per_1000"`
	Verdict
}

// Method says, in one line, how the figures are made (docs/experiments.md says more).
const Method = "Bayesian: Beta(1+k, 1+n-k) rates; value per view = gift rate × Bayesian-bootstrap mean gift value, " +
	"Monte Carlo (20,000 draws, fixed seed); a call needs P ≥ 0.95 and an always-valid mixture SPRT ratio ≥ 20"

// Annualise is a gift's value over a year: once as given, monthly × 12, annual × 1.
func Annualise(f pledge.Frequency, amount int64) int64 {
	if f == pledge.Monthly {
		return 12 * amount
	}
	return amount
}

// Build makes an experiment's report from its stored counts. defaultCurrency is shown when no arm
// has a gift yet.
func Build(e *pledge.Experiment, status string, c *pledge.ExperimentCounts, defaultCurrency pledge.Currency) *Report {
	r := &Report{Experiment: e.Name, Status: status, Control: e.Control(), HoldbackShare: e.HoldbackShare,
		Minimum: Minimum{Views: MinViews, Gifts: MinGifts}, Method: Method}
	if !c.First.IsZero() {
		r.From, r.To = c.First.Format("2006-01-02"), c.Last.Format("2006-01-02")
	}
	arms := e.Arms()
	// Arms that no longer exist in the definition but hold data still show: nothing is lost.
	for _, v := range slices.Sorted(keys(c.Views, c.Checkouts, giftVariants(c.Gifts))) {
		if !slices.Contains(arms, v) {
			arms = append(arms, v)
		}
	}
	currencies := []pledge.Currency{}
	for _, g := range c.Gifts {
		if !slices.Contains(currencies, g.Currency) {
			currencies = append(currencies, g.Currency)
		}
	}
	slices.Sort(currencies)
	if len(currencies) == 0 {
		currencies = []pledge.Currency{defaultCurrency}
	}
	byName := map[string]*ArmRow{}
	for _, name := range arms {
		row := &ArmRow{Variant: name, Views: c.Views[name], Clicks: c.Clicks[name], Checkouts: c.Checkouts[name],
			Currencies: map[pledge.Currency]*CurrencyRow{}}
		for _, cur := range currencies {
			row.Currencies[cur] = &CurrencyRow{views: row.Views}
		}
		byName[name] = row
		r.Arms = append(r.Arms, *row)
	}
	for _, g := range c.Gifts {
		row := byName[g.Variant]
		row.Gifts++
		cr := row.Currencies[g.Currency]
		cr.Gifts++
		cr.Money += g.Total
		a := Annualise(g.Frequency, g.First)
		cr.Annualised += a
		cr.annualisedVals = append(cr.annualisedVals, float64(a))
	}
	moneyVals := map[string]map[pledge.Currency][]float64{}
	for _, g := range c.Gifts {
		if moneyVals[g.Variant] == nil {
			moneyVals[g.Variant] = map[pledge.Currency][]float64{}
		}
		moneyVals[g.Variant][g.Currency] = append(moneyVals[g.Variant][g.Currency], float64(g.Total))
	}
	for i := range r.Arms {
		row := byName[r.Arms[i].Variant]
		row.ClickRate = Rate(row.Clicks, row.Views).Scale(1000)
		row.CheckoutRate = Rate(row.Checkouts, row.Views).Scale(1000)
		row.GiftRate = Rate(row.Gifts, row.Views).Scale(1000)
		r.Arms[i] = *row
	}
	for _, cur := range currencies {
		var value, money []Arm
		for _, name := range arms {
			row := byName[name]
			value = append(value, Arm{Name: name, Views: row.Views, Values: row.Currencies[cur].annualisedVals})
			money = append(money, Arm{Name: name, Views: row.Views, Values: moneyVals[name][cur]})
		}
		av, am := Analyse(value, Options{}), Analyse(money, Options{})
		for i, name := range arms {
			cr := byName[name].Currencies[cur]
			cr.ValuePerViews = av.Arms[i].Value.Scale(1000)
			cr.MoneyPerViews = am.Arms[i].Value.Scale(1000)
		}
		control := value[0]
		for i, name := range arms {
			if i == 0 || name == pledge.Holdback || slices.IndexFunc(e.Variants, func(v pledge.Variant) bool { return v.Name == name }) < 0 {
				continue
			}
			v := Judge(control, value[i], Options{})
			v.Difference = v.Difference.Scale(1000)
			byName[name].Currencies[cur].VersusControl = &v
		}
		if e.HoldbackShare > 0 {
			var prompted []Arm
			var held Arm
			for _, a := range value {
				if a.Name == pledge.Holdback {
					held = a
				} else {
					prompted = append(prompted, a)
				}
			}
			pool := Pool("prompted", prompted...)
			an := Analyse([]Arm{held, pool}, Options{})
			v := Judge(held, pool, Options{})
			v.Difference = v.Difference.Scale(1000)
			if r.TotalEffect == nil {
				r.TotalEffect = map[pledge.Currency]*Effect{}
			}
			r.TotalEffect[cur] = &Effect{Prompted: an.Arms[1].Value.Scale(1000), Holdback: an.Arms[0].Value.Scale(1000), Verdict: v}
		}
	}
	return r
}

func giftVariants(gs []pledge.ExperimentGift) map[string]int64 {
	m := map[string]int64{}
	for _, g := range gs {
		m[g.Variant]++
	}
	return m
}

func keys(ms ...map[string]int64) func(func(string) bool) {
	return func(yield func(string) bool) {
		seen := map[string]bool{}
		for _, m := range ms {
			for k := range m {
				if !seen[k] {
					seen[k] = true
					if !yield(k) {
						return
					}
				}
			}
		}
	}
}
