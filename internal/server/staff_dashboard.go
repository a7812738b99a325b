package server

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/text/language"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/server/chart"
)

const dateForm = "2006-01-02"

// periodForm is the period picker: a preset (7d, 30d, 90d, mtd) or custom dates, inclusive.
type periodForm struct {
	Period string `query:"period"`
	From   string `query:"from"`
	To     string `query:"to"`
}

// period turns the picker into whole UTC days ending today (or the custom range).
func (f *periodForm) period(now time.Time) (pledge.Period, error) {
	today := now.UTC().Truncate(24 * time.Hour)
	tomorrow := today.Add(24 * time.Hour)
	switch f.Period {
	case "7d", "30d", "90d", "":
		n := map[string]int{"7d": 7, "30d": 30, "90d": 90, "": 30}[f.Period]
		if f.Period == "" {
			f.Period = "30d"
		}
		return pledge.Period{From: tomorrow.AddDate(0, 0, -n), To: tomorrow}, nil
	case "mtd":
		return pledge.Period{From: time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC), To: tomorrow, MonthToDate: true}, nil
	case "custom":
		from, err1 := time.Parse(dateForm, f.From)
		to, err2 := time.Parse(dateForm, f.To)
		if err1 != nil || err2 != nil {
			return pledge.Period{}, pledge.FieldErrorf("from", "Give both dates as YYYY-MM-DD.")
		}
		if to.Before(from) {
			return pledge.Period{}, pledge.FieldErrorf("to", "The end date comes before the start date.")
		}
		if to.Sub(from) > 5*366*24*time.Hour {
			return pledge.Period{}, pledge.FieldErrorf("to", "Choose a period of at most five years.")
		}
		return pledge.Period{From: from, To: to.Add(24 * time.Hour)}, nil
	}
	return pledge.Period{}, pledge.FieldErrorf("period", "Choose a period.")
}

// kpiView is one headline figure with its comparison with the previous period.
type kpiView struct {
	Key      string // machine name, in data-kpi
	Label    string
	Value    string
	Raw      string // the value in major units or as a count, in data-value
	Previous string
	Trend    string // up, down or flat
	Delta    string
	Hint     string
}

// currencyReportView is one currency's section of the dashboard.
type currencyReportView struct {
	Code      string
	Name      string
	KPIs      []kpiView
	Daily     template.HTML
	DailyRows []dailyRow
	MRR       template.HTML
	MRRRows   []dailyRow
	Top       template.HTML
	TopRows   []pledge.TopRow
	TopCamp   template.HTML
	CampRows  []pledge.TopRow
}

type dailyRow struct {
	Day                          string
	Once, Monthly, Annual, Total string
}

// funnelView is a funnel row as the tables show it: each step's count and its share of the step
// before.
type funnelView struct {
	Name                           string
	Title                          string // the article's headline, when embed.js reported it
	Views, Clicks, Checkouts, Paid string
	ClickShare, CheckoutShare      string // Continue / views, checkouts / Continue
	PaidShare, Conversion          string // paid / checkouts, paid / views
}

// englishNumbers is the staff pages' number format in English (1,234.50), for what is not
// shown to one staff member (the staff member's own comes from staffLayout).
var englishNumbers = numberFormat{pledge.NewNumbers(language.English)}

type dashboardPage struct {
	Layout
	Summary    summaryView
	Form       periodForm
	Label      string
	PrevLabel  string
	Currencies []currencyReportView
	Funnel     template.HTML
	FunnelRows []funnelView
	Articles   []funnelView
	Campaigns  []funnelView
	ConvChart  template.HTML
	Deferrals  pledge.Deferrals
	DeferChart template.HTML
	ExportFrom string
	ExportTo   string
	Error      string
}

func (s *Server) handleDashboard(c echo.Context) error {
	var f periodForm
	if err := c.Bind(&f); err != nil {
		return pledge.Errorf(pledge.EINVALID, "The period could not be read.")
	}
	p, err := f.period(time.Now())
	if err != nil {
		return err
	}
	d, err := s.Reports.Dashboard(c.Request().Context(), p)
	if err != nil {
		return err
	}
	layout := s.staffLayout(c, "Dashboard")
	pg := layout.Num.dashboardView(d)
	pg.Summary = summaryOf(d, s.cfg.Giving.Goals, layout.Num)
	pg.Layout, pg.Form = layout, f
	if f.Period != "custom" {
		pg.Form.From, pg.Form.To = pg.ExportFrom, pg.ExportTo // a starting point for custom dates
	}
	return s.render(c, http.StatusOK, "staff_dashboard", pg)
}

// dayLabel writes an inclusive range of days for people.
func dayLabel(p pledge.Period) string {
	last := p.To.Add(-24 * time.Hour)
	if p.From.Equal(last) {
		return p.From.Format("2 Jan 2006")
	}
	return p.From.Format("2 Jan 2006") + " – " + last.Format("2 Jan 2006")
}

func major(amount int64, c pledge.Currency) float64 {
	v := float64(amount)
	for range c.Decimals() {
		v /= 10
	}
	return v
}

// compact writes an axis value: $1.2k, €350.
func compact(c pledge.Currency) func(float64) string {
	sym := strings.TrimSpace(strings.TrimSuffix(pledge.Money{Amount: 0, Currency: c}.Short(), "0"))
	return func(v float64) string {
		switch {
		case v >= 1e6:
			return fmt.Sprintf("%s%.1fM", sym, v/1e6)
		case v >= 1e4:
			return fmt.Sprintf("%s%.0fk", sym, v/1e3)
		case v >= 1e3:
			return fmt.Sprintf("%s%.1fk", sym, v/1e3)
		}
		return fmt.Sprintf("%s%.0f", sym, v)
	}
}

func count(v float64) string { return fmt.Sprintf("%.0f", v) }

// trend compares a figure with the previous period's.
func trend(cur, prev int64) (string, string) {
	switch {
	case prev == 0 && cur == 0:
		return "flat", "no change"
	case prev == 0:
		return "up", "new"
	}
	pct := 100 * float64(cur-prev) / float64(prev)
	switch {
	case pct >= 0.5:
		return "up", fmt.Sprintf("+%.0f%%", pct)
	case pct <= -0.5:
		return "down", fmt.Sprintf("%.0f%%", pct)
	}
	return "flat", "±0%"
}

func (n numberFormat) moneyKPI(key, label, hint string, cur, prev int64, c pledge.Currency) kpiView {
	t, d := trend(cur, prev)
	m := pledge.Money{Amount: cur, Currency: c}
	return kpiView{Key: key, Label: label, Value: n.grouped(m), Raw: m.Major(), Hint: hint,
		Previous: n.grouped(pledge.Money{Amount: prev, Currency: c}), Trend: t, Delta: d}
}

// grouped writes money for a figure in the staff pages' one number format.
func (n numberFormat) grouped(m pledge.Money) string { return n.Money(m) }

func (n numberFormat) countKPI(key, label, hint string, cur, prev int) kpiView {
	t, d := trend(int64(cur), int64(prev))
	return kpiView{Key: key, Label: label, Value: n.Int(int64(cur)), Raw: fmt.Sprint(cur), Hint: hint,
		Previous: n.Int(int64(prev)), Trend: t, Delta: d}
}

func (n numberFormat) dashboardView(d *pledge.Dashboard) *dashboardPage {
	pg := &dashboardPage{Label: dayLabel(d.Period), PrevLabel: dayLabel(d.Previous),
		Deferrals:  d.Deferrals,
		ExportFrom: d.Period.From.Format(dateForm), ExportTo: d.Period.To.Add(-24 * time.Hour).Format(dateForm)}
	for _, r := range d.Currencies {
		pg.Currencies = append(pg.Currencies, n.currencyViewOf(r, d))
	}
	steps := []struct {
		name string
		v    int64
	}{{"Prompt views", d.Funnel.Views}, {"Continue clicks", d.Funnel.Clicks}, {"Checkouts", d.Funnel.Checkouts}, {"Paid", d.Funnel.Paid}}
	var bars []chart.Bar
	for i, st := range steps {
		text := n.Int(st.v)
		if i > 0 {
			text += " (" + n.share(st.v, steps[i-1].v) + " of the step before)"
		}
		bars = append(bars, chart.Bar{Label: st.name, Value: float64(st.v), Text: text, Class: fmt.Sprintf("s%d", i+1)})
	}
	pg.Funnel = chart.HBars(chart.Chart{ID: "funnel", Title: "Prompt funnel",
		Desc: fmt.Sprintf("From %s prompt views to %s Continue clicks, %s checkouts and %s paid.", n.Int(d.Funnel.Views),
			n.Int(d.Funnel.Clicks), n.Int(d.Funnel.Checkouts), n.Int(d.Funnel.Paid))}, bars, true)
	pg.FunnelRows = []funnelView{n.funnelViewOf("All articles and campaigns", d.Funnel)}
	for i, a := range d.Articles {
		if i == 15 {
			break
		}
		v := n.funnelViewOf(shortArticle(a.Article), a)
		v.Title = d.Titles[a.Article]
		pg.Articles = append(pg.Articles, v)
	}
	for i, a := range d.Campaigns {
		if i == 15 {
			break
		}
		pg.Campaigns = append(pg.Campaigns, n.funnelViewOf(a.Campaign, a))
	}
	// Conversion by article: only articles seen often enough for the rate to mean something.
	var conv []chart.Bar
	for _, a := range d.Articles {
		if a.Views >= 500 && len(conv) < 10 {
			label := shortArticle(a.Article)
			if t := d.Titles[a.Article]; t != "" {
				label = t
			}
			conv = append(conv, chart.Bar{Label: label, Value: a.Conversion() * 100,
				Text: n.Percent(a.Conversion(), 2), Class: "s2"})
		}
	}
	sortBars(conv)
	pg.ConvChart = chart.HBars(chart.Chart{ID: "conv", Title: "Conversion by article",
		Desc: "Paid checkouts per hundred prompt views, for articles with at least 500 views."}, conv, false)
	df := d.Deferrals
	pg.DeferChart = chart.HBars(chart.Chart{ID: "defer", Title: "Remind me later",
		Desc: fmt.Sprintf("%d chose a week, %d a month, %d never; %d reminders sent; %d checkouts from a reminder, %d paid.",
			df.Week, df.Month, df.Never, df.RemindersSent, df.ReminderCheckouts, df.ReminderPaid)},
		[]chart.Bar{
			{Label: "In a week", Value: float64(df.Week), Text: n.Int(int64(df.Week)), Class: "s1"},
			{Label: "In a month", Value: float64(df.Month), Text: n.Int(int64(df.Month)), Class: "s1"},
			{Label: "Never", Value: float64(df.Never), Text: n.Int(int64(df.Never)), Class: "s4"},
			{Label: "Reminders sent", Value: float64(df.RemindersSent), Text: n.Int(int64(df.RemindersSent)), Class: "s2"},
			{Label: "Checkouts from a reminder", Value: float64(df.ReminderCheckouts), Text: n.Int(int64(df.ReminderCheckouts)), Class: "s3"},
			{Label: "Paid from a reminder", Value: float64(df.ReminderPaid), Text: n.Int(int64(df.ReminderPaid)), Class: "s3"},
		}, false)
	return pg
}

func sortBars(b []chart.Bar) {
	for i := 1; i < len(b); i++ {
		for j := i; j > 0 && b[j].Value > b[j-1].Value; j-- {
			b[j], b[j-1] = b[j-1], b[j]
		}
	}
}

// shortArticle drops the scheme and host of an article URL for a label.
func shortArticle(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.IndexByte(u, '/'); j >= 0 && j < len(u)-1 {
			u = u[j+1:]
		}
	}
	if u == "" {
		return "(no article)"
	}
	return u
}

func (n numberFormat) funnelViewOf(name string, f pledge.FunnelRow) funnelView {
	return funnelView{Name: name, Views: n.Int(f.Views), Clicks: n.Int(f.Clicks), Checkouts: n.Int(f.Checkouts), Paid: n.Int(f.Paid),
		ClickShare: n.share(f.Clicks, f.Views), CheckoutShare: n.share(f.Checkouts, f.Clicks), PaidShare: n.share(f.Paid, f.Checkouts),
		Conversion: n.share(f.Paid, f.Views)}
}

// share writes part / whole as a percentage with two decimals, "–" without a whole.
func (n numberFormat) share(part, whole int64) string {
	if whole <= 0 {
		return "–"
	}
	return n.Percent(float64(part)/float64(whole), 2)
}

// laterChanges is the hint under the figures that refunds and disputes change: they count
// against the day the donation was paid, not the day of the refund or dispute, so a period that
// has ended can still change.
const laterChanges = "Refunds and disputes count on the day the donation was paid, not the day they happen, so a past period's figures can still change."

func (n numberFormat) currencyViewOf(r pledge.CurrencyReport, d *pledge.Dashboard) currencyReportView {
	c, k, pk := r.Current.Currency, r.Current, r.Previous
	code := strings.ToUpper(string(c))
	v := currencyReportView{Code: code, Name: string(c)}
	money := func(a int64) string { return n.grouped(pledge.Money{Amount: a, Currency: c}) }
	v.KPIs = []kpiView{
		n.moneyKPI("net", "Money in, net of refunds and disputes", fmt.Sprintf("%s charged, %s refunded, %s withdrawn by disputes. %s",
			money(k.Gross), money(k.Refunded), money(k.Disputed), laterChanges), k.Net, pk.Net, c),
		n.moneyKPI("gross", "Charged", "after discounts, before refunds and tax", k.Gross, pk.Gross, c),
	}
	if k.Tax != 0 || pk.Tax != 0 {
		v.KPIs = append(v.KPIs, n.moneyKPI("tax", "Tax", "collected on top of the gifts: not the newsroom's money", k.Tax, pk.Tax, c))
	}
	v.KPIs = append(v.KPIs,
		n.countKPI("donations", "Donations", "payments, renewals included", k.Donations, pk.Donations),
		n.moneyKPI("average", "Average gift", "net, per donation", k.Average, pk.Average, c),
		n.countKPI("new", "New supporters", "first donation in the period", k.NewSupporters, pk.NewSupporters),
		n.countKPI("active", "Recurring supporters", fmt.Sprintf("%d monthly, %d annual, at the period's end", k.ActiveMonthly, k.ActiveAnnual), k.RecurringSupporters(), pk.RecurringSupporters()),
		n.moneyKPI("mrr", "MRR", "monthly + annual ÷ 12", k.MRR, pk.MRR, c),
		n.moneyKPI("arr", "ARR", "MRR × 12", k.ARR, pk.ARR, c),
		n.countKPI("cancellations", "Cancellations", "recurring gifts ended", k.Cancellations, pk.Cancellations),
		n.countKPI("scheduled", "Cancellations scheduled", "recurring gifts set to end, still counted until they end", k.CancellationsScheduled, pk.CancellationsScheduled),
		n.countKPI("failed", "Failed payments", fmt.Sprintf("%d paid on a later attempt", k.Recovered), k.FailedPayments, pk.FailedPayments),
		n.countKPI("refunds", "Refunds", money(k.Refunded)+" refunded. "+laterChanges, k.Refunds, pk.Refunds),
		n.moneyKPI("disputes", "Disputes", fmt.Sprintf("withdrawn by open or lost disputes (an inquiry or a won dispute takes nothing); donations disputed: %d. %s",
			k.Disputes, laterChanges), k.Disputed, pk.Disputed, c),
	)
	// Fewer-is-better figures read the other way round.
	for i := range v.KPIs {
		switch v.KPIs[i].Key {
		case "cancellations", "scheduled", "failed", "refunds", "disputes":
			v.KPIs[i].Trend = map[string]string{"up": "bad", "down": "good", "flat": "flat"}[v.KPIs[i].Trend]
		}
	}
	labels := make([]string, len(r.Daily))
	once, monthly, annual := make([]float64, len(r.Daily)), make([]float64, len(r.Daily)), make([]float64, len(r.Daily))
	for i, dm := range r.Daily {
		labels[i] = dm.Day.Format("2 Jan")
		once[i], monthly[i], annual[i] = major(dm.Once, c), major(dm.Monthly, c), major(dm.Annual, c)
		m := func(a int64) string { return n.grouped(pledge.Money{Amount: a, Currency: c}) }
		v.DailyRows = append(v.DailyRows, dailyRow{Day: dm.Day.Format("Mon 2 Jan 2006"), Once: m(dm.Once),
			Monthly: m(dm.Monthly), Annual: m(dm.Annual), Total: m(dm.Once + dm.Monthly + dm.Annual)})
	}
	v.Daily = chart.StackedBars(chart.Chart{ID: "daily-" + string(c), Format: compact(c),
		Title: "Money in per day, " + code,
		Desc:  fmt.Sprintf("Net money in per day from %s, stacked by one-off, monthly and annual gifts; %s in all.", dayLabel(d.Period), n.grouped(pledge.Money{Amount: k.Net, Currency: c}))},
		labels, []chart.Series{{Name: "One-off", Class: "s1", Values: once}, {Name: "Monthly", Class: "s2", Values: monthly}, {Name: "Annual", Class: "s3", Values: annual}})
	mrr := make([]float64, len(r.MRR))
	mlabels := make([]string, len(r.MRR))
	for i, pt := range r.MRR {
		mrr[i], mlabels[i] = major(pt.MRR, c), pt.Day.Format("2 Jan")
		if i%7 == 0 || i == len(r.MRR)-1 {
			v.MRRRows = append(v.MRRRows, dailyRow{Day: pt.Day.Format("Mon 2 Jan 2006"), Total: n.grouped(pledge.Money{Amount: pt.MRR, Currency: c})})
		}
	}
	first, last := int64(0), k.MRR
	if len(r.MRR) > 0 {
		first = r.MRR[0].MRR
	}
	v.MRR = chart.Line(chart.Chart{ID: "mrr-" + string(c), Format: compact(c), Title: "Monthly recurring revenue, " + code,
		Desc: fmt.Sprintf("MRR at the end of each day, from %s to %s.", n.grouped(pledge.Money{Amount: first, Currency: c}), n.grouped(pledge.Money{Amount: last, Currency: c}))},
		mlabels, chart.Series{Name: "MRR", Class: "s2", Values: mrr})
	v.TopRows, v.CampRows = topOf(d.TopArticles, c), topOf(d.TopCampaigns, c)
	v.Top = n.topChart("top-art-"+string(c), "Top articles by money in, "+code, v.TopRows, c, true)
	v.TopCamp = n.topChart("top-camp-"+string(c), "Top campaigns by money in, "+code, v.CampRows, c, false)
	return v
}

func topOf(rows []pledge.TopRow, c pledge.Currency) []pledge.TopRow {
	var out []pledge.TopRow
	for _, r := range rows {
		if r.Currency == c && len(out) < 10 {
			out = append(out, r)
		}
	}
	return out
}

func (n numberFormat) topChart(id, title string, rows []pledge.TopRow, c pledge.Currency, article bool) template.HTML {
	var bars []chart.Bar
	for _, r := range rows {
		name := r.Name
		if article {
			name = shortArticle(name)
		}
		bars = append(bars, chart.Bar{Label: name, Value: float64(r.Net), Text: n.grouped(pledge.Money{Amount: r.Net, Currency: c}), Class: "s1"})
	}
	return chart.HBars(chart.Chart{ID: id, Title: title, Desc: fmt.Sprintf("The %d largest sources of net money in over the period.", len(bars))}, bars, false)
}
