package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

const day = 24 * time.Hour

// Dashboard computes the staff dashboard from the ledger. Every query reads a range of a covering
// index or of the daily rollup (migration 0005), so the cost grows with the period, not with the
// years of history. The period is widened to whole UTC days.
func (db *DB) Dashboard(ctx context.Context, p pledge.Period) (_ *pledge.Dashboard, err error) {
	defer wrapErr(&err, "dashboard")
	p = p.WholeDays()
	d := &pledge.Dashboard{Period: p, Previous: p.Previous()}
	// The parts are independent indexed reads: run them at once on the reader pool, so the page
	// waits for the slowest part rather than for their sum (make bench's dashboard row).
	var (
		cur, prev map[pledge.Currency]*pledge.KPIs
		daily     map[pledge.Currency][]pledge.DailyMoney
		mrr       map[pledge.Currency][]pledge.MRRPoint
	)
	// What was live at each period's ends is read once for all the parts that need it.
	lives := db.livesAt(ctx, d.Previous.From, d.Previous.To, p.From, p.To)
	errs := make([]error, 6)
	var wg sync.WaitGroup
	run := func(i int, fn func() error) {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = fn() }()
	}
	run(0, func() (err error) { cur, err = db.kpis(ctx, p, lives); return err })
	run(1, func() (err error) { prev, err = db.kpis(ctx, d.Previous, lives); return err })
	run(2, func() (err error) {
		if daily, err = db.dailyMoney(ctx, p); err != nil {
			return err
		}
		mrr, err = db.mrrSeries(ctx, p, lives)
		return err
	})
	run(3, func() error { return db.funnel(ctx, p, d) })
	run(4, func() (err error) { d.TopArticles, d.TopCampaigns, err = db.topMoney(ctx, p); return err })
	run(5, func() (err error) { d.Deferrals, err = db.deferralStats(ctx, p); return err })
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for c := range prev {
		if _, ok := cur[c]; !ok {
			cur[c] = &pledge.KPIs{Currency: c}
		}
	}
	for c, k := range cur {
		r := pledge.CurrencyReport{Current: *k, Daily: daily[c], MRR: mrr[c]}
		if pk, ok := prev[c]; ok {
			r.Previous = *pk
		} else {
			r.Previous = pledge.KPIs{Currency: c}
		}
		d.Currencies = append(d.Currencies, r)
	}
	sort.Slice(d.Currencies, func(i, j int) bool {
		a, b := d.Currencies[i].Current, d.Currencies[j].Current
		if a.Net != b.Net {
			return a.Net > b.Net
		}
		return a.Currency < b.Currency
	})
	return d, nil
}

// kpis returns the headline figures of p, per currency. lives must cover p.From and p.To.
func (db *DB) kpis(ctx context.Context, p pledge.Period, lives func() (livesByTime, error)) (map[pledge.Currency]*pledge.KPIs, error) {
	out := map[pledge.Currency]*pledge.KPIs{}
	get := func(c pledge.Currency) *pledge.KPIs {
		if k, ok := out[c]; ok {
			return k
		}
		k := &pledge.KPIs{Currency: c}
		out[c] = k
		return k
	}
	from, to := p.From.Unix(), p.To.Unix()
	if err := eachRow(ctx, db.read, `
		SELECT currency, sum(donations), sum(gross), sum(refunded), sum(refunds), sum(disputes), sum(disputed), sum(tax),
		       sum(new_supporters)
		FROM donations_daily WHERE day >= ? AND day < ?
		GROUP BY currency`, []any{from, to}, func(rows *sql.Rows) error {
		var c pledge.Currency
		var n, refunds, disputes, newSupporters int
		var gross, refunded, disputed, tax int64
		if err := rows.Scan(&c, &n, &gross, &refunded, &refunds, &disputes, &disputed, &tax, &newSupporters); err != nil {
			return err
		}
		// New supporters: those whose first donation fell in the period, in its currency (kept
		// by the rollup's triggers).
		if newSupporters != 0 {
			get(c).NewSupporters = newSupporters
		}
		if n == 0 {
			return nil
		}
		k := get(c)
		k.Donations, k.Gross, k.Refunded, k.Disputed, k.Tax = n, gross, refunded, disputed, tax
		k.Refunds, k.Disputes = refunds, disputes
		return nil
	}); err != nil {
		return nil, err
	}

	byTime, err := lives()
	if err != nil {
		return nil, err
	}
	for c, l := range byTime[p.To.Unix()] {
		k := get(c)
		k.ActiveMonthly, k.ActiveAnnual = l.monthly, l.annual
		k.CancellationsScheduled = l.scheduled
		k.MRR = l.mrr()
	}
	for c, l := range byTime[p.From.Unix()] {
		get(c).RecurringAtStart = l.monthly + l.annual
	}

	// Cancellations: spans that ended with their subscription, on the day it ended; new recurring
	// gifts: first spans that began in the period.
	if err := eachRow(ctx, db.read, `
		SELECT currency, sum(ended), sum(started) FROM subscriptions_daily
		WHERE day >= ? AND day < ? AND (ended <> 0 OR started <> 0)
		GROUP BY currency`, []any{from, to}, func(rows *sql.Rows) error {
		var c pledge.Currency
		var ended, started int
		if err := rows.Scan(&c, &ended, &started); err != nil {
			return err
		}
		if ended != 0 || started != 0 {
			k := get(c)
			k.Cancellations, k.NewRecurring = ended, started
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := db.settlement(ctx, p, get); err != nil {
		return nil, err
	}
	if err := db.openFailed(ctx, p.To, get); err != nil {
		return nil, err
	}
	if err := db.recovery(ctx, p, get); err != nil {
		return nil, err
	}
	for _, k := range out {
		k.Days = p.Days()
		k.Derive()
	}
	return out, nil
}

// settlement adds what the period's donations left in the bank (settlement_daily): settled money
// under its settlement currency, money whose balance transaction is not known under the
// charge's currency.
func (db *DB) settlement(ctx context.Context, p pledge.Period, get func(pledge.Currency) *pledge.KPIs) error {
	return eachRow(ctx, db.read, `
		SELECT settle_currency, currency, sum(donations), sum(amount), sum(fee), sum(lost), sum(net)
		FROM settlement_daily WHERE day >= ? AND day < ?
		GROUP BY settle_currency, currency`, []any{p.From.Unix(), p.To.Unix()}, func(rows *sql.Rows) error {
		var settle, c pledge.Currency
		var n int
		var amount, fee, lost, net int64
		if err := rows.Scan(&settle, &c, &n, &amount, &fee, &lost, &net); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if settle == "" {
			k := get(c)
			k.UnsettledDonations += n
			k.UnsettledNet += net
			return nil
		}
		k := get(settle)
		k.SettledDonations += n
		k.SettledAmount += amount
		k.Fees += fee
		k.SettledLost += lost
		k.SettledNet += net
		return nil
	})
}

// openFailedQuery finds the recurring invoices with a failed attempt in the 90 days (7,776,000 s)
// before ?1 that were still unpaid at ?1, of subscriptions that had not ended by then: one row
// per invoice, with its latest attempt (SQLite takes the bare columns from the row of
// max(failed_at)). The window: Stripe's retries end within two months (then it cancels the
// subscription, or leaves it unpaid or past due, which staff see on the subscription itself);
// bounding the scan keeps the dashboard's cost to recent failures, not all of history's.
//
// Every attempt of an invoice carries the same paid_at (attemptPaidAt, set for all of them at
// once), so the attempts of invoices paid before ?1 are left out before grouping rather than
// their groups after it: a quarter of the attempts are grouped on the seeded million. Each
// remaining invoice's subscription is looked up in subscriptions_ended, which holds ended_at.
func (db *DB) openFailedQuery() string {
	return `
	SELECT a.stripe_invoice_id, a.stripe_subscription_id, a.currency, a.amount, a.attempts, a.first_failed,
	       a.last_failed, a.next_attempt_at
	FROM (SELECT stripe_invoice_id, ` + db.latest("stripe_subscription_id", "failed_at") + ` AS stripe_subscription_id,
	             ` + db.latest("currency", "failed_at") + ` AS currency, ` + db.latest("amount", "failed_at") + ` AS amount,
	             count(*) AS attempts, min(failed_at) AS first_failed, max(failed_at) AS last_failed,
	             ` + db.latest("next_attempt_at", "failed_at") + ` AS next_attempt_at, max(paid_at) AS paid_at
	      FROM invoice_attempts INDEXED BY invoice_attempts_open
	      WHERE failed_at >= ?1 - 7776000 AND failed_at < ?1 AND (paid_at IS NULL OR paid_at >= ?1)
	      GROUP BY stripe_invoice_id) a
	WHERE NOT EXISTS (SELECT 1 FROM subscriptions s INDEXED BY subscriptions_ended
	                  WHERE s.stripe_subscription_id = a.stripe_subscription_id AND s.ended_at IS NOT NULL AND s.ended_at < ?1)`
}

// openFailed counts the failed recurring payments still open at t and the money they are for.
func (db *DB) openFailed(ctx context.Context, t time.Time, get func(pledge.Currency) *pledge.KPIs) error {
	return eachRow(ctx, db.read, `SELECT currency, count(*), sum(amount) FROM (`+db.openFailedQuery()+`) AS f GROUP BY currency`, []any{t.Unix()}, func(rows *sql.Rows) error {
		var c pledge.Currency
		var n int
		var amount int64
		if err := rows.Scan(&c, &n, &amount); err != nil {
			return err
		}
		k := get(c)
		k.OpenFailed, k.AtRisk = n, amount
		return nil
	})
}

// live is the recurring revenue of one currency at a moment: counts and amounts by frequency.
type live struct {
	monthly, annual       int
	scheduled             int
	monthlySum, annualSum int64
}

// mrr counts annual gifts as a twelfth a month. It sums before dividing, so that twelve $1 annual
// gifts make $1 of MRR rather than twelve times a rounded-down cent.
func (l live) mrr() int64 { return pledge.MRROf(l.monthlySum, l.annualSum) }

// livesByTime is the recurring revenue live at some instants (Unix seconds), per currency.
type livesByTime map[int64]map[pledge.Currency]*live

// livesAt returns a function that reads what was live at each of ts the first time it is called
// (liveSubscriptions) and hands every caller that one answer.
func (db *DB) livesAt(ctx context.Context, ts ...time.Time) func() (livesByTime, error) {
	return sync.OnceValues(func() (livesByTime, error) { return db.liveSubscriptions(ctx, ts...) })
}

// liveSubscriptions returns the recurring revenue live at each of ts (a day's start), per
// currency: the sum of the starts and cancellations of every day before it, a few rows a day of
// history. One read serves every instant: the days are summed by the interval between
// consecutive instants they fall in, and each instant's figures are the running sum of the
// intervals before it.
func (db *DB) liveSubscriptions(ctx context.Context, ts ...time.Time) (livesByTime, error) {
	var us []int64
	for _, t := range ts {
		us = append(us, t.Unix())
	}
	sort.Slice(us, func(i, j int) bool { return us[i] < us[j] })
	us = slices.Compact(us)
	out := livesByTime{}
	if len(us) == 0 {
		return out, nil
	}
	// Interval i holds the days before us[i] and on or after us[i-1].
	var interval strings.Builder
	args := make([]any, 0, len(us)+1)
	interval.WriteString("CASE")
	for i, u := range us {
		fmt.Fprintf(&interval, " WHEN day < ? THEN %d", i)
		args = append(args, u)
	}
	interval.WriteString(" END")
	args = append(args, us[len(us)-1])
	type key struct {
		c pledge.Currency
		f pledge.Frequency
	}
	type sums struct {
		n, scheduled int
		sum          int64
	}
	byInterval := map[key][]sums{}
	var keys []key
	err := eachRow(ctx, db.read, `
		SELECT `+interval.String()+`, currency, frequency, sum(subscriptions), sum(amount), sum(scheduled)
		FROM subscriptions_daily WHERE day < ? GROUP BY 1, 2, 3`, args, func(rows *sql.Rows) error {
		var i int
		var k key
		var s sums
		if err := rows.Scan(&i, &k.c, &k.f, &s.n, &s.sum, &s.scheduled); err != nil {
			return err
		}
		if _, ok := byInterval[k]; !ok {
			byInterval[k] = make([]sums, len(us))
			keys = append(keys, k)
		}
		byInterval[k][i] = s
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, u := range us {
		out[u] = map[pledge.Currency]*live{}
	}
	for _, k := range keys {
		var run sums
		for i, s := range byInterval[k] {
			run.n, run.sum, run.scheduled = run.n+s.n, run.sum+s.sum, run.scheduled+s.scheduled
			if run.n == 0 && run.sum == 0 {
				continue
			}
			at := out[us[i]]
			l, ok := at[k.c]
			if !ok {
				l = &live{}
				at[k.c] = l
			}
			l.scheduled += run.scheduled
			switch k.f {
			case pledge.Monthly:
				l.monthly, l.monthlySum = l.monthly+run.n, l.monthlySum+run.sum
			case pledge.Annual:
				l.annual, l.annualSum = l.annual+run.n, l.annualSum+run.sum
			}
		}
	}
	return out, nil
}

// dayIndex returns which day of p t falls on.
func dayIndex(p pledge.Period, t int64) int { return int((t - p.From.Unix()) / int64(day/time.Second)) }

// dailyMoney returns net money in per UTC day and frequency, per currency, with every day of p
// present (zero when nothing came in).
func (db *DB) dailyMoney(ctx context.Context, p pledge.Period) (map[pledge.Currency][]pledge.DailyMoney, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT (day - ?) / 86400, currency, frequency, sum(gross), sum(refunded), sum(disputed), sum(donations)
		FROM donations_daily WHERE day >= ? AND day < ?
		GROUP BY 1, 2, 3`, p.From.Unix(), p.From.Unix(), p.To.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	n := p.Days()
	out := map[pledge.Currency][]pledge.DailyMoney{}
	for rows.Next() {
		var i int
		var c pledge.Currency
		var f pledge.Frequency
		var gross, refunded, disputed, count int64
		if err := rows.Scan(&i, &c, &f, &gross, &refunded, &disputed, &count); err != nil {
			return nil, err
		}
		sum := pledge.NetOf(gross, refunded, disputed)
		if count == 0 {
			continue
		}
		days, ok := out[c]
		if !ok {
			days = make([]pledge.DailyMoney, n)
			for j := range days {
				days[j].Day = p.From.Add(time.Duration(j) * day)
			}
			out[c] = days
		}
		if i < 0 || i >= n {
			continue
		}
		switch f {
		case pledge.Once:
			days[i].Once += sum
		case pledge.Monthly:
			days[i].Monthly += sum
		case pledge.Annual:
			days[i].Annual += sum
		}
	}
	return out, rows.Err()
}

// mrrSeries returns MRR at the end of each day of p, per currency: what was live at the start
// (lives must cover p.From), then each day's starts and cancellations.
func (db *DB) mrrSeries(ctx context.Context, p pledge.Period, lives func() (livesByTime, error)) (map[pledge.Currency][]pledge.MRRPoint, error) {
	byTime, err := lives()
	if err != nil {
		return nil, err
	}
	start := byTime[p.From.Unix()]
	n := p.Days()
	type deltas struct{ monthly, annual []int64 }
	ds := map[pledge.Currency]*deltas{}
	get := func(c pledge.Currency) *deltas {
		d, ok := ds[c]
		if !ok {
			d = &deltas{monthly: make([]int64, n), annual: make([]int64, n)}
			ds[c] = d
		}
		return d
	}
	for c := range start {
		get(c)
	}
	rows, err := db.read.QueryContext(ctx, `
		SELECT day, currency, frequency, amount FROM subscriptions_daily
		WHERE day >= ? AND day < ? AND amount <> 0`, p.From.Unix(), p.To.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var t, amount int64
		var c pledge.Currency
		var f pledge.Frequency
		if err := rows.Scan(&t, &c, &f, &amount); err != nil {
			return nil, err
		}
		i := dayIndex(p, t)
		if i < 0 || i >= n {
			continue
		}
		d := get(c)
		if f == pledge.Annual {
			d.annual[i] += amount
		} else {
			d.monthly[i] += amount
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := map[pledge.Currency][]pledge.MRRPoint{}
	for c, d := range ds {
		var l live
		if s, ok := start[c]; ok {
			l = *s
		}
		pts := make([]pledge.MRRPoint, n)
		for i := range pts {
			l.monthlySum += d.monthly[i]
			l.annualSum += d.annual[i]
			pts[i] = pledge.MRRPoint{Day: p.From.Add(time.Duration(i) * day), MRR: l.mrr()}
		}
		out[c] = pts
	}
	return out, nil
}

// funnel fills the overall, per-article and per-campaign funnels of p.
func (db *DB) funnel(ctx context.Context, p pledge.Period, d *pledge.Dashboard) error {
	type key struct{ article, campaign string }
	rowsBy := map[key]*pledge.FunnelRow{}
	// The prompt's counts and the checkouts' come from two tables, summed the same way.
	sums := []struct {
		query string
		set   func(r *pledge.FunnelRow, x, y int64)
	}{
		{`SELECT article, campaign, sum(views), sum(clicks) FROM prompt_stats
			WHERE day >= ? AND day < ? GROUP BY article, campaign`,
			func(r *pledge.FunnelRow, views, clicks int64) { r.Views, r.Clicks = views, clicks }},
		{`SELECT article, campaign, sum(checkouts), sum(paid) FROM checkouts_daily
			WHERE day >= ? AND day < ? GROUP BY article, campaign`,
			func(r *pledge.FunnelRow, n, paid int64) { r.Checkouts, r.Paid = n, paid }},
	}
	for _, sum := range sums {
		err := db.sumByArticle(ctx, sum.query, p, func(a, c string, x, y int64) {
			sum.set(funnelRow(rowsBy, key{a, c}, a, c), x, y)
		})
		if err != nil {
			return err
		}
	}
	arts, camps := map[string]*pledge.FunnelRow{}, map[string]*pledge.FunnelRow{}
	add := func(dst, src *pledge.FunnelRow) {
		dst.Views += src.Views
		dst.Clicks += src.Clicks
		dst.Checkouts += src.Checkouts
		dst.Paid += src.Paid
	}
	for k, r := range rowsBy {
		add(&d.Funnel, r)
		if k.article != "" {
			add(funnelRow(arts, k.article, k.article, ""), r)
		}
		if k.campaign != "" {
			add(funnelRow(camps, k.campaign, "", k.campaign), r)
		}
	}
	d.Articles, d.Campaigns = sortFunnel(arts), sortFunnel(camps)
	return db.articleTitles(ctx, d)
}

// funnelRow returns m's row for k, adding an empty one for article and campaign when it has none.
func funnelRow[K comparable](m map[K]*pledge.FunnelRow, k K, article, campaign string) *pledge.FunnelRow {
	r, ok := m[k]
	if !ok {
		r = &pledge.FunnelRow{Article: article, Campaign: campaign}
		m[k] = r
	}
	return r
}

// articleTitles reads the headlines of the articles the dashboard names (the 50 first).
func (db *DB) articleTitles(ctx context.Context, d *pledge.Dashboard) error {
	d.Titles = map[string]string{}
	var args []any
	for i, a := range d.Articles {
		if i == 50 {
			break
		}
		args = append(args, a.Article)
	}
	if len(args) == 0 {
		return nil
	}
	return eachRow(ctx, db.read, `SELECT url, title FROM articles WHERE url IN (`+placeholders(len(args))+`)`, args, func(rows *sql.Rows) error {
		var u, t string
		if err := rows.Scan(&u, &t); err != nil {
			return err
		}
		d.Titles[u] = t
		return nil
	})
}

func sortFunnel(m map[string]*pledge.FunnelRow) []pledge.FunnelRow {
	out := make([]pledge.FunnelRow, 0, len(m))
	for _, r := range m {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Paid != out[j].Paid {
			return out[i].Paid > out[j].Paid
		}
		return out[i].Article+out[i].Campaign < out[j].Article+out[j].Campaign
	})
	return out
}

// topMoney returns net money in by article and by campaign, per currency, largest first. The
// period's whole weeks come from donations_sources_weekly and the days outside them from
// donations_sources (weekSpan): the sort of the GROUP BY, most of the query's time, has a quarter
// of the rows of the days alone for 90 days. The days' net is summed in SQL (gross - refunded -
// disputed mirrors pledge.NetOf; TestNetInSQLIsNetOf holds them equal), the weeks' is stored.
func (db *DB) topMoney(ctx context.Context, p pledge.Period) (arts, camps []pledge.TopRow, err error) {
	from, to := p.From.Unix(), p.To.Unix()
	w0, w1 := weekSpan(from, to)
	rows, err := db.read.QueryContext(ctx, `
		SELECT article, campaign, currency, sum(donations), sum(net) FROM (
			SELECT article, campaign, currency, donations, gross - refunded - disputed AS net
			FROM donations_sources WHERE day >= ?1 AND day < ?2
			UNION ALL
			SELECT article, campaign, currency, donations, net
			FROM donations_sources_weekly WHERE week >= ?2 AND week < ?3
			UNION ALL
			SELECT article, campaign, currency, donations, gross - refunded - disputed
			FROM donations_sources WHERE day >= ?3 AND day < ?4) AS s
		GROUP BY article, campaign, currency`, from, w0, w1, to)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	type key struct {
		name string
		c    pledge.Currency
	}
	am, cm := map[key]*pledge.TopRow{}, map[key]*pledge.TopRow{}
	add := func(m map[key]*pledge.TopRow, name string, c pledge.Currency, n int, net int64) {
		if name == "" {
			return
		}
		r, ok := m[key{name, c}]
		if !ok {
			r = &pledge.TopRow{Name: name, Currency: c}
			m[key{name, c}] = r
		}
		r.Donations += n
		r.Net += net
	}
	for rows.Next() {
		var a, camp string
		var c pledge.Currency
		var n int
		var net int64
		if err := rows.Scan(&a, &camp, &c, &n, &net); err != nil {
			return nil, nil, err
		}
		add(am, a, c, n, net)
		add(cm, camp, c, n, net)
	}
	flat := func(m map[key]*pledge.TopRow) []pledge.TopRow {
		out := make([]pledge.TopRow, 0, len(m))
		for _, r := range m {
			out = append(out, *r)
		}
		sort.Slice(out, func(i, j int) bool {
			if out[i].Currency != out[j].Currency {
				return out[i].Currency < out[j].Currency
			}
			if out[i].Net != out[j].Net {
				return out[i].Net > out[j].Net
			}
			return out[i].Name < out[j].Name
		})
		return out
	}
	return flat(am), flat(cm), rows.Err()
}

// weekSpan returns the whole weeks of donations_sources_weekly within [from, to) (whole days):
// [w0, w1), the weeks that start on or after from and end by to. The days of [from, w0) and
// [w1, to) lie outside them; with no whole week in the period, w0 = w1 = to and every day is
// outside.
func weekSpan(from, to int64) (w0, w1 int64) {
	w0, w1 = weekOf(from+week-1), weekOf(to)
	if w0 >= w1 {
		return to, to
	}
	return w0, w1
}

// deferralStats sums "remind me later" over p: choices made in p, reminders sent in p, and
// checkouts of p that came from a reminder.
func (db *DB) deferralStats(ctx context.Context, p pledge.Period) (pledge.Deferrals, error) {
	var d pledge.Deferrals
	from, to := p.From.Unix(), p.To.Unix()
	err := db.read.QueryRowContext(ctx, `
		SELECT count(*) FILTER (WHERE choice = 'week'), count(*) FILTER (WHERE choice = 'month'),
		       count(*) FILTER (WHERE choice = 'never'), count(*) FILTER (WHERE reminder_status <> 'none')
		FROM deferrals INDEXED BY deferrals_report WHERE created_at >= ? AND created_at < ?`, from, to).Scan(
		&d.Week, &d.Month, &d.Never, &d.WithEmail)
	if err != nil {
		return d, err
	}
	// sent_at has no index of its own: reminders are sent within weeks of the request, so the
	// rows are found among deferrals created up to 60 days before the period.
	err = db.read.QueryRowContext(ctx, `
		SELECT count(*) FROM deferrals
		WHERE created_at >= ? AND created_at < ? AND sent_at >= ? AND sent_at < ?`,
		from-60*86400, to, from, to).Scan(&d.RemindersSent)
	if err != nil {
		return d, err
	}
	err = db.read.QueryRowContext(ctx, `
		SELECT coalesce(sum(reminder), 0), coalesce(sum(reminder_paid), 0) FROM checkouts_daily
		WHERE day >= ? AND day < ?`, from, to).Scan(
		&d.ReminderCheckouts, &d.ReminderPaid)
	return d, err
}

// recovery counts, per currency, the recurring invoices whose payment failed in p (from the
// webhook's invoice_attempts) and, of those, how many were paid later: Stripe retries the same
// invoice, so a recovered payment is a donation for that invoice.
func (db *DB) recovery(ctx context.Context, p pledge.Period, get func(pledge.Currency) *pledge.KPIs) error {
	return eachRow(ctx, db.read, `
		SELECT currency, count(*), count(paid)
		FROM (SELECT currency, stripe_invoice_id AS invoice, max(paid_at) AS paid
		      FROM invoice_attempts INDEXED BY invoice_attempts_failed
		      WHERE failed_at >= ? AND failed_at < ? GROUP BY currency, stripe_invoice_id) f
		GROUP BY currency`, []any{p.From.Unix(), p.To.Unix()}, func(rows *sql.Rows) error {
		var c pledge.Currency
		var failed, recovered int
		if err := rows.Scan(&c, &failed, &recovered); err != nil {
			return err
		}
		k := get(c)
		k.FailedPayments, k.Recovered = failed, recovered
		return nil
	})
}

// sumByArticle runs a query over p's days that yields (article, campaign, x, y) rows and hands
// each row to fn.
func (db *DB) sumByArticle(ctx context.Context, query string, p pledge.Period, fn func(article, campaign string, x, y int64)) error {
	return eachRow(ctx, db.read, query, []any{p.From.Unix(), p.To.Unix()}, func(rows *sql.Rows) error {
		var a, c string
		var x, y int64
		if err := rows.Scan(&a, &c, &x, &y); err != nil {
			return err
		}
		fn(a, c, x, y)
		return nil
	})
}

// Figures returns the headline figures of p (widened to whole UTC days) per currency, in
// currency order: the same figures Dashboard shows for the period.
func (db *DB) Figures(ctx context.Context, p pledge.Period) (_ []pledge.KPIs, err error) {
	defer wrapErr(&err, "figures")
	p = p.WholeDays()
	m, err := db.kpis(ctx, p, db.livesAt(ctx, p.From, p.To))
	if err != nil {
		return nil, err
	}
	out := make([]pledge.KPIs, 0, len(m))
	for _, k := range m {
		out = append(out, *k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out, nil
}

// PastDue lists every failed recurring payment still open at now (openFailedQuery), oldest
// first, with its supporter.
func (db *DB) PastDue(ctx context.Context, now time.Time) (_ []pledge.FailedPayment, err error) {
	defer wrapErr(&err, "past due")
	return db.pastDue(ctx, now, ``)
}

func (db *DB) pastDue(ctx context.Context, now time.Time, where string, args ...any) ([]pledge.FailedPayment, error) {
	return queryAll(ctx, db.read, `
		SELECT f.stripe_invoice_id, f.stripe_subscription_id, f.currency, f.amount, f.attempts, f.first_failed,
		       f.last_failed, f.next_attempt_at, coalesce(s.supporter_id, 0), coalesce(p.email, '')
		FROM (`+db.openFailedQuery()+`) f
		LEFT JOIN subscriptions s ON s.stripe_subscription_id = f.stripe_subscription_id
		LEFT JOIN supporters p ON p.id = s.supporter_id
		WHERE 1 = 1 `+where+`
		ORDER BY f.first_failed, f.stripe_invoice_id`, append([]any{now.Unix()}, args...), func(rows *sql.Rows) (pledge.FailedPayment, error) {
		var f pledge.FailedPayment
		var first, last int64
		var next sql.NullInt64
		if err := rows.Scan(&f.Invoice, &f.Subscription, &f.Amount.Currency, &f.Amount.Amount, &f.Attempts, &first, &last,
			&next, &f.SupporterID, &f.Email); err != nil {
			return f, err
		}
		f.FirstFailedAt, f.LastFailedAt, f.NextAttemptAt = e2t(first), e2t(last), fromUnix(next)
		if err := db.openAll(&f.Email); err != nil {
			return f, err
		}
		return f, nil
	})
}
