package server

import (
	"fmt"
	"golang.org/x/text/language"
	"strings"

	"github.com/pledge-news/pledge/internal/pledge"
)

// The one screen at the top of /staff: the money that reached the bank against the period
// before and the goal, then recurring supporters, churn, MRR and failed payments. Every figure is
// one of "What the figures mean" (docs/ledger.md), taken from the dashboard's KPIs.

// goalView is a progress bar toward a goal.
type goalView struct {
	Target  string // the goal, written
	Percent int    // 0..100, the bar's width
	Text    string // "62% of $5,000.00"
}

// summaryCard is one figure of the screen, with the period before.
type summaryCard struct {
	Key      string
	Label    string
	Value    string
	Previous string
	Trend    string // up, down, flat; good or bad for fewer-is-better figures
	Delta    string
	Hint     string
	Goal     *goalView
}

// summaryView is the top of the dashboard.
type summaryView struct {
	Money     []summaryCard // one per settlement currency (usually one)
	Unsettled []string      // money whose balance transactions are not known yet, per currency
	Gifts     []string      // net gifts per charge currency
	Cards     []summaryCard
}

// goalFor scales a monthly goal to the period: month to date is measured against the whole
// month's goal, other periods against the goal × days / 30.
func goalFor(monthly int64, p pledge.Period) int64 {
	if p.MonthToDate {
		return monthly
	}
	return monthly * int64(p.Days()) / 30
}

func (n numberFormat) goal(value, target int64, written string) *goalView {
	if target <= 0 {
		return nil
	}
	pct := int(100 * value / target)
	bar := min(max(pct, 0), 100)
	return &goalView{Target: written, Percent: bar, Text: fmt.Sprintf("%s of the goal, %s", n.Percent(float64(value)/float64(target), 0), written)}
}

// numberFormat is the staff pages' pledge.Numbers.
type numberFormat struct{ pledge.Numbers }

func summaryOf(d *pledge.Dashboard, goals pledge.Goals, n numberFormat) summaryView {
	var v summaryView
	prev := map[pledge.Currency]pledge.Settled{}
	for _, s := range d.Settled(true) {
		prev[s.Currency] = s
	}
	for _, s := range d.Settled(false) {
		pv := prev[s.Currency]
		t, delta := trend(s.Net, pv.Net)
		m := func(a int64) string { return n.Money(pledge.Money{Amount: a, Currency: s.Currency}) }
		card := summaryCard{Key: "settled", Label: "Money in the bank, " + s.Currency.Upper(), Value: m(s.Net),
			Previous: m(pv.Net), Trend: t, Delta: delta,
			Hint: fmt.Sprintf("%s gifts converted at Stripe's rates, less %s Stripe fees and %s refunded or disputed; %s gifts.",
				m(s.Amount), m(s.Fees), m(s.Lost), n.Int(int64(s.Donations)))}
		if g := goals.MonthlyMoney[s.Currency]; g > 0 {
			target := goalFor(g, d.Period)
			card.Goal = n.goal(s.Net, target, m(target))
		}
		v.Money = append(v.Money, card)
	}
	for _, u := range d.Unsettled(false) {
		v.Unsettled = append(v.Unsettled, fmt.Sprintf("%s in %s gifts whose payout Stripe has not reported yet (counted in %s, net of refunds and disputes)",
			n.Money(pledge.Money{Amount: u.Net, Currency: u.Currency}), n.Int(int64(u.Donations)), u.Currency.Upper()))
	}
	var cur, pre pledge.KPIs // counts over every currency (people, not money, add up)
	var mrr, prevMRR, risk, prevRisk []string
	for _, r := range d.Currencies {
		k, pk := r.Current, r.Previous
		if k.Donations > 0 {
			v.Gifts = append(v.Gifts, fmt.Sprintf("%s from %s gifts", n.Money(pledge.Money{Amount: k.Net, Currency: k.Currency}), n.Int(int64(k.Donations))))
		}
		cur.ActiveMonthly += k.ActiveMonthly + k.ActiveAnnual
		pre.ActiveMonthly += pk.ActiveMonthly + pk.ActiveAnnual
		cur.RecurringAtStart += k.RecurringAtStart
		pre.RecurringAtStart += pk.RecurringAtStart
		cur.NewRecurring += k.NewRecurring
		pre.NewRecurring += pk.NewRecurring
		cur.Cancellations += k.Cancellations
		pre.Cancellations += pk.Cancellations
		cur.OpenFailed += k.OpenFailed
		pre.OpenFailed += pk.OpenFailed
		if k.MRR != 0 || pk.MRR != 0 {
			mrr = append(mrr, n.Money(pledge.Money{Amount: k.MRR, Currency: k.Currency}))
			prevMRR = append(prevMRR, n.Money(pledge.Money{Amount: pk.MRR, Currency: k.Currency}))
		}
		if k.AtRisk != 0 || pk.AtRisk != 0 {
			risk = append(risk, n.Money(pledge.Money{Amount: k.AtRisk, Currency: k.Currency}))
			prevRisk = append(prevRisk, n.Money(pledge.Money{Amount: pk.AtRisk, Currency: k.Currency}))
		}
	}
	cur.Days, pre.Days = d.Period.Days(), d.Previous.Days()
	count := func(key, label, hint string, a, b int, fewerIsBetter bool) summaryCard {
		t, delta := trend(int64(a), int64(b))
		if fewerIsBetter {
			t = map[string]string{"up": "bad", "down": "good", "flat": "flat"}[t]
		}
		return summaryCard{Key: key, Label: label, Value: n.Int(int64(a)), Previous: n.Int(int64(b)), Trend: t, Delta: delta, Hint: hint}
	}
	recurring := count("recurring", "Recurring supporters", "monthly and annual gifts counting at the period's end", cur.ActiveMonthly, pre.ActiveMonthly, false)
	if goals.RecurringSupporters > 0 {
		recurring.Goal = n.goal(int64(cur.ActiveMonthly), int64(goals.RecurringSupporters), n.Int(int64(goals.RecurringSupporters)))
	}
	netNew := count("net_new", "Net new recurring", fmt.Sprintf("%s new, %s ended", n.Int(int64(cur.NewRecurring)), n.Int(int64(cur.Cancellations))),
		cur.NetNewRecurring(), pre.NetNewRecurring(), false)
	netNew.Value = signed(n, cur.NetNewRecurring())
	netNew.Previous = signed(n, pre.NetNewRecurring())
	churn := summaryCard{Key: "churn", Label: "Monthly churn", Value: n.Percent(cur.MonthlyChurn(), 1),
		Previous: n.Percent(pre.MonthlyChurn(), 1),
		Hint:     fmt.Sprintf("%s ended of %s recurring at the start, per 30 days", n.Int(int64(cur.Cancellations)), n.Int(int64(cur.RecurringAtStart)))}
	churn.Trend, churn.Delta = trendRate(cur.MonthlyChurn(), pre.MonthlyChurn(), n)
	v.Cards = append(v.Cards, recurring, netNew, churn,
		summaryCard{Key: "mrr", Label: "MRR", Value: joinOr(mrr), Previous: joinOr(prevMRR), Trend: "flat",
			Hint: "monthly + annual ÷ 12, at the period's end"},
		func() summaryCard {
			c := count("failed_open", "Failed payments open", "recurring payments Stripe is still retrying (or gave up on) at the period's end",
				cur.OpenFailed, pre.OpenFailed, true)
			c.Hint = "money at risk: " + joinOr(risk) + ". " + c.Hint
			return c
		}())
	return v
}

func signed(n numberFormat, v int) string {
	if v > 0 {
		return "+" + n.Int(int64(v))
	}
	return n.Int(int64(v))
}

func joinOr(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, " · ")
}

// trendRate compares two rates where lower is better (churn): the change in percentage points.
func trendRate(cur, prev float64, n numberFormat) (string, string) {
	diff := cur - prev
	switch {
	case diff > 0.0005:
		return "bad", "+" + strings.TrimSuffix(n.Percent(diff, 1), "%") + " pts"
	case diff < -0.0005:
		return "good", strings.TrimSuffix(n.Percent(diff, 1), "%") + " pts"
	}
	return "flat", "no change"
}

// withTag is the number format of another language (tests, and staffNumbers).
func (numberFormat) withTag(code string) numberFormat {
	return numberFormat{pledge.NewNumbers(language.Make(code))}
}
