package pledge

import (
	"context"
	"sort"
	"time"
)

// Period is a half-open range of time [From, To), in whole UTC days for the reports.
type Period struct {
	From time.Time
	To   time.Time
	// MonthToDate compares the period with the same days of the previous month (see Previous).
	MonthToDate bool
}

// Days returns the number of days the period covers.
func (p Period) Days() int { return int(p.To.Sub(p.From).Hours() / 24) }

// WholeDays widens p to whole UTC days.
func (p Period) WholeDays() Period {
	from := p.From.UTC().Truncate(24 * time.Hour)
	to := p.To.UTC().Truncate(24 * time.Hour)
	if to.Before(p.To) {
		to = to.Add(24 * time.Hour)
	}
	if !to.After(from) {
		to = from.Add(24 * time.Hour)
	}
	return Period{From: from, To: to, MonthToDate: p.MonthToDate}
}

// Previous returns the period p is compared with: the period of the same length that ends where
// p begins, except that month to date (a MonthToDate period starting on the 1st, within that
// month) is compared with the same days of the previous month: 1–15 March with 1–15 February,
// all of March with all of February.
func (p Period) Previous() Period {
	from, to := p.From.UTC(), p.To.UTC()
	if p.MonthToDate && from.Day() == 1 && from.Equal(from.Truncate(24*time.Hour)) && !to.After(from.AddDate(0, 1, 0)) {
		prev := from.AddDate(0, -1, 0)
		end := prev.Add(to.Sub(from))
		if end.After(from) {
			end = from
		}
		return Period{From: prev, To: end}
	}
	return Period{From: p.From.Add(-p.To.Sub(p.From)), To: p.From}
}

// KPIs are the headline figures of one currency over one period. Money is in that currency's
// minor units; figures of different currencies are never added together. docs/ledger.md's "What the
// figures mean" defines each one; this struct, NetOf, Derive and the store's rollups are that definition.
type KPIs struct {
	Currency Currency
	Gross    int64 // what the donations paid in the period brought: after discounts, before tax
	Refunded int64 // the refunded part of those donations
	// Disputed is what formal disputes on those donations withdrew and have not given back: the
	// dispute's own amount while it is open or once lost; nothing for an inquiry or a won dispute.
	Disputed               int64
	Net                    int64 // NetOf(Gross, Refunded, Disputed)
	Tax                    int64 // tax collected on top of Gross (not the newsroom's money)
	Donations              int   // number of donations paid in the period
	Average                int64 // Net / Donations
	NewSupporters          int   // people whose first gift fell in the period, in that gift's currency
	ActiveMonthly          int   // recurring gifts live at the period's end
	ActiveAnnual           int
	MRR                    int64 // monthly amounts plus annual amounts / 12, at the period's end
	ARR                    int64 // MRR * 12
	Cancellations          int   // recurring gifts that ended in the period
	CancellationsScheduled int   // recurring gifts live at the period's end that are set to end
	FailedPayments         int   // recurring invoices whose payment failed in the period
	Recovered              int   // of those, the ones paid on a later attempt
	Refunds                int   // donations of the period with a refund
	Disputes               int   // donations of the period with a formal dispute

	// Days is the length of the period the figures are for (the churn rate is per 30 days).
	Days int
	// RecurringAtStart is recurring supporters at the period's start; NewRecurring the recurring
	// gifts whose first span of revenue began in the period.
	RecurringAtStart int
	NewRecurring     int
	// OpenFailed is the recurring invoices with a failed attempt still unpaid at the period's end
	// (their subscription not ended); AtRisk is what they are for.
	OpenFailed int
	AtRisk     int64

	// Money as it reached the bank, with this currency as the settlement currency: the donations
	// of the period whose balance transaction is known (from any charge currency), converted at
	// Stripe's rates (see Settled).
	SettledDonations int
	SettledAmount    int64 // converted, before fees
	Fees             int64 // Stripe's fees
	SettledLost      int64 // refunds and disputes, converted at the charge's rate (SettledLost)
	SettledNet       int64 // SettledAmount - Fees - SettledLost
	// UnsettledDonations are this currency's donations of the period whose balance transaction is
	// not known yet; UnsettledNet is their NetOf, in this currency.
	UnsettledDonations int
	UnsettledNet       int64
}

// NetNewRecurring is new recurring gifts less those that ended in the period. Lapses (unpaid,
// paused) are neither, so it can differ from the change in RecurringSupporters.
func (k KPIs) NetNewRecurring() int { return k.NewRecurring - k.Cancellations }

// MonthlyChurn is the share of recurring supporters at the period's start whose gift ended in
// the period, per 30 days: Cancellations / RecurringAtStart × 30 / Days. Zero without recurring
// supporters at the start.
func (k KPIs) MonthlyChurn() float64 {
	if k.RecurringAtStart == 0 || k.Days <= 0 {
		return 0
	}
	return float64(k.Cancellations) / float64(k.RecurringAtStart) * 30 / float64(k.Days)
}

// NetOf is the one definition of net money in: what was paid, less what was refunded and what
// disputes withdrew (taxes are never in gross to begin with).
func NetOf(gross, refunded, disputed int64) int64 { return gross - refunded - disputed }

// MRROf is the one definition of monthly recurring revenue: the live monthly gifts' amounts plus
// a twelfth of the live annual gifts' (their sum divided once, in minor units, rounding down).
func MRROf(monthly, annual int64) int64 { return monthly + annual/12 }

// RecurringSupporters is the number of live recurring gifts at the period's end.
func (k KPIs) RecurringSupporters() int { return k.ActiveMonthly + k.ActiveAnnual }

// Derive fills the figures that follow from the others: Net from Gross, Refunded and Disputed
// (NetOf), Average from Net and Donations (zero without donations), ARR from MRR. A store fills
// the counted figures and calls it once they are all in.
func (k *KPIs) Derive() {
	k.Net = NetOf(k.Gross, k.Refunded, k.Disputed)
	k.Average = 0
	if k.Donations > 0 {
		k.Average = k.Net / int64(k.Donations)
	}
	k.ARR = k.MRR * 12
}

// DailyMoney is one UTC day's net money in for one currency, by frequency.
type DailyMoney struct {
	Day                   time.Time
	Once, Monthly, Annual int64
}

// MRRPoint is the monthly recurring revenue of one currency at the end of a UTC day.
type MRRPoint struct {
	Day time.Time
	MRR int64
}

// FunnelRow is prompt views -> Continue clicks -> checkouts -> paid for one article and campaign
// (both "" for the total).
type FunnelRow struct {
	Article   string
	Campaign  string
	Views     int64
	Clicks    int64
	Checkouts int64
	Paid      int64
}

// Conversion is paid checkouts per prompt view, 0 without views.
func (f FunnelRow) Conversion() float64 {
	if f.Views == 0 {
		return 0
	}
	return float64(f.Paid) / float64(f.Views)
}

// TopRow is the money one article or campaign brought in one currency.
type TopRow struct {
	Name      string
	Currency  Currency
	Net       int64
	Donations int
}

// Deferrals sums "remind me later" over a period: choices made, reminders sent and the checkouts
// reached from a reminder, and how many of those were paid.
type Deferrals struct {
	Week, Month, Never int
	WithEmail          int
	RemindersSent      int
	ReminderCheckouts  int
	ReminderPaid       int
}

// CurrencyReport is everything the dashboard shows for one currency.
type CurrencyReport struct {
	Current  KPIs
	Previous KPIs
	Daily    []DailyMoney
	MRR      []MRRPoint
}

// Dashboard is the staff dashboard for a period and the one before it.
type Dashboard struct {
	Period       Period
	Previous     Period
	Currencies   []CurrencyReport // in order of net money in, largest first
	Funnel       FunnelRow        // all articles and campaigns
	Articles     []FunnelRow      // per article (campaign ""), most paid first
	Campaigns    []FunnelRow      // per campaign (article ""), most paid first
	TopArticles  []TopRow         // by net money, per currency
	TopCampaigns []TopRow
	Deferrals    Deferrals
	// Titles are the articles' headlines by URL, as embed.js reported them (plain text).
	Titles map[string]string
}

// Of returns the figures of the period, or of the one before it when previous.
func (r CurrencyReport) Of(previous bool) KPIs {
	if previous {
		return r.Previous
	}
	return r.Current
}

// Settled returns the period's money in each settlement currency, largest first: the headline.
func (d *Dashboard) Settled(previous bool) []Settled {
	var out []Settled
	for _, r := range d.Currencies {
		k := r.Of(previous)
		if k.SettledDonations == 0 {
			continue
		}
		out = append(out, Settled{Currency: k.Currency, Donations: k.SettledDonations, Amount: k.SettledAmount,
			Fees: k.Fees, Lost: k.SettledLost, Net: k.SettledNet})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Net > out[j].Net })
	return out
}

// Unsettled returns the period's money whose balance transactions are not known yet, per charge
// currency.
func (d *Dashboard) Unsettled(previous bool) []Unsettled {
	var out []Unsettled
	for _, r := range d.Currencies {
		k := r.Of(previous)
		if k.UnsettledDonations > 0 {
			out = append(out, Unsettled{Currency: k.Currency, Donations: k.UnsettledDonations, Net: k.UnsettledNet})
		}
	}
	return out
}

// ReportService computes the staff reports from the ledger.
type ReportService interface {
	// Dashboard returns the figures of p compared with the period before it.
	Dashboard(ctx context.Context, p Period) (*Dashboard, error)
	// Figures returns the headline figures of p per currency, in currency order: what the
	// dashboard shows for p and what `pledge report` prints.
	Figures(ctx context.Context, p Period) ([]KPIs, error)
}
