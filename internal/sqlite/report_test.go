package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/testkit"
)

func at(s string) int64 {
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t.Unix()
}

// exec runs fixture statements on the writer.
func exec(t *testing.T, db *DB, q string, args ...any) {
	t.Helper()
	if _, err := db.write.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// rebuild recomputes everything derived from rows written by hand (rollups, revenue spans,
// first gifts) with the code the upgrade to a new ledger version runs.
func rebuild(t *testing.T, db *DB) {
	t.Helper()
	exec(t, db, `DELETE FROM settings WHERE key = 'ledger_version'`)
	if err := db.rebuildIfStale(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// state adds one subscription object, as an event at when showed it, to a subscription's history.
func state(t *testing.T, db *DB, sub, status string, amount int64, currency, interval, when, ended string) {
	t.Helper()
	var e any
	if ended != "" {
		e = at(ended)
	}
	exec(t, db, `INSERT INTO subscription_states (stripe_subscription_id, event_id, at, status, amount, currency, interval, ended_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, sub, "evt_"+sub+when, at(when), status, amount, currency, interval, e)
}

// fixtureLedger is a small ledger whose figures were worked out by hand (see the comments in
// TestDashboardKPIs).
func fixtureLedger(t *testing.T, db *DB) {
	defer rebuild(t, db)
	sup := func(id int64, created string) {
		exec(t, db, `INSERT INTO supporters (id, stripe_customer_id, email, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			id, "cus_"+string(rune('a'+id)), fmt.Sprintf("s%d@example.com", id), at(created), at(created))
	}
	sup(1, "2026-03-02 10:00:00")
	sup(2, "2026-01-01 10:00:00")
	sup(3, "2026-03-05 10:00:00")
	don := func(sid int64, freq string, amount, refunded int64, currency, status, paid, invoice string) {
		var inv any
		if invoice != "" {
			inv = invoice
		}
		disputed := int64(0)
		if status == "disputed" {
			disputed = amount // an open dispute: the funds are withdrawn
		}
		exec(t, db, `INSERT INTO donations (supporter_id, frequency, amount, amount_refunded, amount_disputed, currency, status,
			stripe_invoice_id, article, paid_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'https://news.example/a1', ?, ?, ?)`,
			sid, freq, amount, refunded, disputed, currency, status, inv, at(paid), at(paid), at(paid))
	}
	don(1, "once", 1000, 0, "usd", "succeeded", "2026-03-01 00:00:00", "")                  // first second of the period
	don(1, "once", 2500, 2500, "usd", "refunded", "2026-03-03 12:00:00", "")                // refunded in full
	don(2, "monthly", 500, 200, "usd", "partially_refunded", "2026-03-07 23:59:59", "in_A") // last second
	don(2, "once", 9999, 0, "usd", "succeeded", "2026-03-08 00:00:00", "")                  // the day after
	don(2, "once", 700, 0, "usd", "succeeded", "2026-02-28 23:59:59", "")                   // the period before
	don(3, "annual", 12000, 0, "eur", "disputed", "2026-03-05 09:00:00", "")
	sub := func(id int64, sid int64, freq string, amount int64, currency, status, started, canceled string) {
		var c any
		if canceled != "" {
			c = at(canceled)
		}
		stripeID := "sub_" + string(rune('a'+id))
		exec(t, db, `INSERT INTO subscriptions (id, stripe_subscription_id, supporter_id, frequency, amount, currency,
			status, started_at, canceled_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, stripeID, sid, freq, amount, currency, status, at(started), c, at(started), at(started))
		interval := pledge.Frequency(freq).Interval()
		first := status
		if status == "canceled" {
			first = "active"
		}
		state(t, db, stripeID, first, amount, currency, interval, started, "")
		if canceled != "" {
			state(t, db, stripeID, "canceled", amount, currency, interval, canceled, canceled)
		}
	}
	sub(1, 2, "monthly", 500, "usd", "active", "2026-01-01 00:00:00", "")
	sub(2, 2, "annual", 12000, "usd", "canceled", "2026-02-01 00:00:00", "2026-03-04 08:00:00")
	sub(3, 3, "annual", 12000, "eur", "active", "2026-03-05 09:00:00", "")
	sub(4, 1, "annual", 6000, "usd", "active", "2025-06-01 00:00:00", "")
	sub(5, 1, "monthly", 1000, "usd", "active", "2026-03-10 00:00:00", "")
	sub(6, 1, "monthly", 300, "usd", "incomplete", "2026-03-02 00:00:00", "")
	ev := func(id, typ, object, when string) {
		exec(t, db, `INSERT INTO stripe_events (id, type, created, object_id, outcome, received_at) VALUES (?, ?, ?, ?, 'applied', ?)`,
			id, typ, at(when), object, at(when))
	}
	fail := func(invoice, currency string, attempt int, when string) {
		exec(t, db, `INSERT INTO invoice_attempts (stripe_invoice_id, stripe_subscription_id, attempt, amount, currency, failed_at)
			VALUES (?, 'sub_x', ?, 500, ?, ?)`, invoice, attempt, currency, at(when))
	}
	fail("in_A", "usd", 1, "2026-03-02 00:00:00")
	fail("in_A", "usd", 2, "2026-03-04 00:00:00")
	fail("in_B", "usd", 1, "2026-03-03 00:00:00")
	fail("in_C", "usd", 1, "2026-02-27 00:00:00")
	fail("in_D", "eur", 1, "2026-03-07 23:59:59")
	fail("in_E", "eur", 1, "2026-03-08 00:00:00") // the day after
	ev("evt_1", "invoice.payment_failed", "in_A", "2026-03-02 00:00:00")
	ev("evt_2", "invoice.payment_failed", "in_A", "2026-03-04 00:00:00") // a retry: the same invoice
	ev("evt_3", "invoice.payment_failed", "in_B", "2026-03-03 00:00:00")
	exec(t, db, `INSERT INTO prompt_stats (day, article, campaign, views, clicks) VALUES (?, 'https://news.example/a1', 'spring', 1000, 50)`, at("2026-03-02 00:00:00"))
	exec(t, db, `INSERT INTO prompt_stats (day, article, campaign, views, clicks) VALUES (?, 'https://news.example/a1', 'spring', 5000, 90)`, at("2026-03-08 00:00:00"))
	co := func(id, status, source, when string) {
		exec(t, db, `INSERT INTO checkouts (id, nonce, frequency, amount, currency, article, campaign, source, status,
			created_at, updated_at) VALUES (?, ?, 'once', 500, 'usd', 'https://news.example/a1', 'spring', ?, ?, ?, ?)`,
			id, id, source, status, at(when), at(when))
	}
	co("co_1", "paid", "", "2026-03-02 11:00:00")
	co("co_2", "paid", "", "2026-03-03 11:00:00")
	co("co_3", "abandoned", "", "2026-03-03 12:00:00")
	co("co_4", "paid", "reminder", "2026-03-06 12:00:00")
	co("co_5", "paid", "", "2026-03-09 12:00:00") // after the period
	def := func(reader, choice, when string) {
		exec(t, db, `INSERT INTO deferrals (reader_id, choice, remind_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			reader, choice, at(when)+7*86400, at(when), at(when))
	}
	def("rd_1", "week", "2026-03-01 08:00:00")
	def("rd_2", "week", "2026-03-02 08:00:00")
	def("rd_3", "never", "2026-03-07 08:00:00")
	def("rd_4", "month", "2026-02-27 08:00:00") // before
}

func TestDashboardKPIs(t *testing.T) {
	db := openTestDB(t)
	fixtureLedger(t, db)
	p := pledge.Period{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)}
	d, err := db.Dashboard(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(d.Currencies), 2; got != want {
		t.Fatalf("currencies = %d, want %d", got, want)
	}
	var usd, eur pledge.CurrencyReport
	for _, c := range d.Currencies {
		switch c.Current.Currency {
		case "usd":
			usd = c
		case "eur":
			eur = c
		}
	}
	for _, tc := range []struct {
		name      string
		got, want int64
	}{
		// usd: 10.00 + 25.00 (refunded) + 5.00 (2.00 refunded); 99.99 is the next day's.
		{"usd gross", usd.Current.Gross, 4000},
		{"usd refunded", usd.Current.Refunded, 2700},
		{"usd net", usd.Current.Net, 1300},
		{"usd donations", int64(usd.Current.Donations), 3},
		{"usd average", usd.Current.Average, 433},
		{"usd refunds", int64(usd.Current.Refunds), 2},
		{"usd disputes", int64(usd.Current.Disputes), 0},
		{"usd new supporters", int64(usd.Current.NewSupporters), 1},
		// live at the end: monthly 5.00 and annual 60.00 (= 5.00 a month); the annual 120.00 was
		// cancelled on the 4th, the monthly 10.00 starts after, the incomplete one never counts.
		{"usd MRR", usd.Current.MRR, 1000},
		{"usd ARR", usd.Current.ARR, 12000},
		{"usd active monthly", int64(usd.Current.ActiveMonthly), 1},
		{"usd active annual", int64(usd.Current.ActiveAnnual), 1},
		{"usd cancellations", int64(usd.Current.Cancellations), 1},
		{"usd previous gross", usd.Previous.Gross, 700},
		{"usd previous donations", int64(usd.Previous.Donations), 1},
		// at the start of March: 5.00 + 120.00/12 + 60.00/12
		{"usd previous MRR", usd.Previous.MRR, 2000},
		{"usd previous active", int64(usd.Previous.RecurringSupporters()), 3},
		{"eur gross", eur.Current.Gross, 12000},
		// the open dispute withdrew the whole gift: none of it is the newsroom's while it lasts
		{"eur net", eur.Current.Net, 0},
		{"eur disputes", int64(eur.Current.Disputes), 1},
		{"eur disputed", eur.Current.Disputed, 12000},
		{"eur new supporters", int64(eur.Current.NewSupporters), 1},
		{"eur MRR", eur.Current.MRR, 1000},
		{"eur previous gross", eur.Previous.Gross, 0},
		// in_A failed twice (one invoice) and was paid; in_B was not; in_C failed before the period.
		{"usd failed payments", int64(usd.Current.FailedPayments), 2},
		{"usd recovered", int64(usd.Current.Recovered), 1},
		{"eur failed payments", int64(eur.Current.FailedPayments), 1},
		{"eur recovered", int64(eur.Current.Recovered), 0},
		{"usd previous failed", int64(usd.Previous.FailedPayments), 1},
		{"funnel views", d.Funnel.Views, 1000},
		{"funnel clicks", d.Funnel.Clicks, 50},
		{"funnel checkouts", d.Funnel.Checkouts, 4},
		{"funnel paid", d.Funnel.Paid, 3},
		{"deferrals week", int64(d.Deferrals.Week), 2},
		{"deferrals never", int64(d.Deferrals.Never), 1},
		{"deferrals month", int64(d.Deferrals.Month), 0},
		{"reminder checkouts", int64(d.Deferrals.ReminderCheckouts), 1},
		{"reminder paid", int64(d.Deferrals.ReminderPaid), 1},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
	// Daily: net money in by frequency, each day of the period present.
	if got, want := len(usd.Daily), 7; got != want {
		t.Fatalf("usd days = %d, want %d", got, want)
	}
	if got := usd.Daily[0].Once; got != 1000 {
		t.Errorf("1 March one-off = %d, want 1000", got)
	}
	if got := usd.Daily[2].Once; got != 0 {
		t.Errorf("3 March one-off = %d, want 0 (refunded in full)", got)
	}
	if got := usd.Daily[6].Monthly; got != 300 {
		t.Errorf("7 March monthly = %d, want 300", got)
	}
	// MRR over time: 20.00 until the cancellation on the 4th, then 10.00.
	if got := []int64{usd.MRR[0].MRR, usd.MRR[2].MRR, usd.MRR[3].MRR, usd.MRR[6].MRR}; got[0] != 2000 || got[1] != 2000 || got[2] != 1000 || got[3] != 1000 {
		t.Errorf("usd MRR series = %v, want [2000 2000 1000 1000]", got)
	}
	if got := []int64{eur.MRR[3].MRR, eur.MRR[4].MRR}; got[0] != 0 || got[1] != 1000 {
		t.Errorf("eur MRR series = %v, want [0 1000]", got)
	}
	if len(d.TopArticles) == 0 || d.TopArticles[0].Name != "https://news.example/a1" {
		t.Errorf("top articles = %+v", d.TopArticles)
	}
}

// TestRebuildFollowsRows checks that the rebuild (run after an upgrade and by seed) derives the
// rollups from the rows as they are: a refund recorded after the payment, a moved payment time
// and a deleted row. (The webhook keeps the rollups row by row with the same definitions; the
// ledger tests cover that path.)
func TestRebuildFollowsRows(t *testing.T) {
	db := openTestDB(t)
	fixtureLedger(t, db)
	exec(t, db, `UPDATE donations SET amount_refunded = 1000, status = 'refunded' WHERE amount = 1000`)
	exec(t, db, `UPDATE donations SET paid_at = ? WHERE amount = 9999`, at("2026-03-06 00:00:00"))
	exec(t, db, `DELETE FROM donations WHERE amount = 2500`)
	rebuild(t, db)
	p := pledge.Period{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)}
	d, err := db.Dashboard(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	var usd pledge.KPIs
	for _, c := range d.Currencies {
		if c.Current.Currency == "usd" {
			usd = c.Current
		}
	}
	// 10.00 (refunded) + 5.00 (2.00 refunded) + 99.99
	if usd.Gross != 11499 || usd.Refunded != 1200 || usd.Donations != 3 || usd.Refunds != 2 {
		t.Errorf("usd after updates = %+v, want gross 11499, refunded 1200, 3 donations, 2 refunds", usd)
	}
}

// TestStaffSearchFindsMixedCaseAddress: Stripe keeps addresses as typed, the ledger stores
// them so, and the staff search lower-cases the query and compares with BINARY collation.
func TestStaffSearchFindsMixedCaseAddress(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	exec(t, db, `INSERT INTO supporters (id, stripe_customer_id, email, name, created_at, updated_at) VALUES (21, 'cus_c', 'Alice.Smith@Example.org', '', 1, 1)`)
	list, err := db.ListSupporters(ctx, pledge.SupporterFilter{Query: "alice.smith@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Errorf("search for the address found %d supporters, want 1", len(list))
	}
	list, _ = db.ListSupporters(ctx, pledge.SupporterFilter{Query: "Alice.Smith@Example.org"})
	if len(list) != 1 {
		t.Errorf("search for the address as stored found %d supporters, want 1", len(list))
	}
}

// TestNetLeavesOutLostDisputes: Stripe takes a lost dispute's money back (plus a fee), and
// the supporters export leaves it out of its net totals; so does the dashboard's net.
func TestNetLeavesOutLostDisputes(t *testing.T) {
	db := openTestDB(t)
	exec(t, db, `INSERT INTO donations (frequency, amount, amount_disputed, currency, status, dispute_status, paid_at, created_at, updated_at)
		VALUES ('once', 5000, 5000, 'usd', 'disputed', 'lost', ?, ?, ?)`, at("2026-03-02 10:00:00"), at("2026-03-02 10:00:00"), at("2026-03-02 10:00:00"))
	exec(t, db, `INSERT INTO donations (frequency, amount, currency, status, paid_at, created_at, updated_at)
		VALUES ('once', 1000, 'usd', 'succeeded', ?, ?, ?)`, at("2026-03-03 10:00:00"), at("2026-03-03 10:00:00"), at("2026-03-03 10:00:00"))
	rebuild(t, db)
	d, err := db.Dashboard(context.Background(), firstWeekOfMarch())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Currencies) != 1 || d.Currencies[0].Current.Net != 1000 {
		t.Errorf("net money in = %+v, want 1000 (the lost dispute's 5000 went back to the card holder)", d.Currencies)
	}
}

// TestMRRLeavesOutUnpaidSubscriptions: a subscription Stripe has marked unpaid (retries
// exhausted, invoices left open) or paused brings in nothing from the moment it lapsed.
func TestMRRLeavesOutUnpaidSubscriptions(t *testing.T) {
	db := openTestDB(t)
	for i, st := range []string{"active", "unpaid", "paused"} {
		sub := "sub_r" + st
		exec(t, db, `INSERT INTO subscriptions (stripe_subscription_id, frequency, amount, currency, status, started_at, created_at, updated_at)
			VALUES (?, 'monthly', 1000, 'usd', ?, ?, ?, ?)`, sub, st, at("2026-01-01 00:00:00")+int64(i), 1, 1)
		state(t, db, sub, "active", 1000, "usd", "month", "2026-01-01 00:00:00", "")
		if st != "active" {
			state(t, db, sub, st, 1000, "usd", "month", "2026-02-10 00:00:00", "")
		}
	}
	rebuild(t, db)
	d, err := db.Dashboard(context.Background(), firstWeekOfMarch())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Currencies) != 1 || d.Currencies[0].Current.MRR != 1000 {
		t.Errorf("MRR = %+v, want 1000 (only the active subscription pays)", d.Currencies)
	}
}

func firstWeekOfMarch() pledge.Period {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	return pledge.Period{From: from, To: from.AddDate(0, 0, 7)}
}

// TestLiveSubscriptionsAtManyInstants: one read for several instants (in any order, repeated)
// gives each instant what a read of the days before it alone gives.
func TestLiveSubscriptionsAtManyInstants(t *testing.T) {
	db := openTestDB(t)
	fixtureLedger(t, db)
	ctx := context.Background()
	alone := func(u int64) map[pledge.Currency]live {
		out := map[pledge.Currency]live{}
		err := eachRow(ctx, db.read, `SELECT currency, frequency, sum(subscriptions), sum(amount), sum(scheduled)
			FROM subscriptions_daily WHERE day < ? GROUP BY currency, frequency`, []any{u}, func(rows *sql.Rows) error {
			var c pledge.Currency
			var f pledge.Frequency
			var n, scheduled int
			var sum int64
			if err := rows.Scan(&c, &f, &n, &sum, &scheduled); err != nil {
				return err
			}
			if n == 0 && sum == 0 {
				return nil
			}
			l := out[c]
			l.scheduled += scheduled
			if f == pledge.Monthly {
				l.monthly, l.monthlySum = l.monthly+n, l.monthlySum+sum
			} else {
				l.annual, l.annualSum = l.annual+n, l.annualSum+sum
			}
			out[c] = l
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	var ts []time.Time
	for d := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC); d.Before(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)); d = d.AddDate(0, 0, 3) {
		ts = append(ts, d)
	}
	ts = append(ts, ts[7], ts[2]) // repeated, out of order
	got, err := db.liveSubscriptions(ctx, ts...)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, tm := range ts {
		want := alone(tm.Unix())
		g := map[pledge.Currency]live{}
		for c, l := range got[tm.Unix()] {
			g[c] = *l
		}
		if fmt.Sprint(g) != fmt.Sprint(want) {
			t.Errorf("live at %s = %+v, want %+v", tm.Format("2006-01-02"), g, want)
		}
		seen += len(want)
	}
	if seen == 0 {
		t.Fatal("the fixture has no live subscriptions at any instant")
	}
}

// TestDashboardPreviousIsFigures: the dashboard's previous period shows the figures of that
// period read on their own.
func TestDashboardPreviousIsFigures(t *testing.T) {
	db := openTestDB(t)
	fixtureLedger(t, db)
	ctx := context.Background()
	for _, p := range []pledge.Period{
		firstWeekOfMarch(),
		{From: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC)},
		{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC), MonthToDate: true},
	} {
		d, err := db.Dashboard(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, which := range []struct {
			p   pledge.Period
			get func(pledge.CurrencyReport) pledge.KPIs
		}{
			{d.Period, func(r pledge.CurrencyReport) pledge.KPIs { return r.Current }},
			{d.Previous, func(r pledge.CurrencyReport) pledge.KPIs { return r.Previous }},
		} {
			figs, err := db.Figures(ctx, which.p)
			if err != nil {
				t.Fatal(err)
			}
			want := map[pledge.Currency]pledge.KPIs{}
			for _, k := range figs {
				want[k.Currency] = k
			}
			for _, r := range d.Currencies {
				k := which.get(r)
				w, ok := want[k.Currency]
				if !ok {
					w = pledge.KPIs{Currency: k.Currency}
				}
				if k != w {
					t.Errorf("%s–%s %s: dashboard %+v, figures %+v", which.p.From.Format("2006-01-02"), which.p.To.Format("2006-01-02"), k.Currency, k, w)
				}
			}
		}
	}
}

// TestWeekSpan: the whole weeks of donations_sources_weekly inside a period of whole days, and
// none when no week fits.
func TestWeekSpan(t *testing.T) {
	const d = 86400
	w := int64(2927) * week // a week's first second (a Thursday, as the epoch's)
	for _, c := range []struct {
		name           string
		from, to       int64
		wantW0, wantW1 int64
	}{
		{"aligned both ends", w, w + 3*week, w, w + 3*week},
		{"days on both sides", w - 2*d, w + 2*week + 3*d, w, w + 2*week},
		{"starts a day late", w + d, w + 3*week, w + week, w + 3*week},
		{"one whole week", w - d, w + week + d, w, w + week},
		{"six days", w + d, w + 7*d, w + 7*d, w + 7*d},
		{"eight days, no whole week", w + 3*d, w + 11*d, w + 11*d, w + 11*d},
		{"empty", w, w, w, w},
	} {
		if w0, w1 := weekSpan(c.from, c.to); w0 != c.wantW0 || w1 != c.wantW1 {
			t.Errorf("%s: weekSpan = [%d, %d), want [%d, %d)", c.name, w0, w1, c.wantW0, c.wantW1)
		}
	}
}

// TestTopMoneyFromWeeksAndDays: the top articles and campaigns, read from whole weeks and the days
// around them, are the sums of the donations themselves, for periods that start and end on and
// off a week's first day, shorter than a week, and longer than a year's part of the history.
func TestTopMoneyFromWeeksAndDays(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	now := time.Date(2026, 6, 17, 13, 0, 0, 0, time.UTC) // a Wednesday
	db.Now = func() time.Time { return now }
	if err := db.Seed(ctx, SeedOptions{Donations: 3000, Years: 1, Rand: 7}); err != nil {
		t.Fatal(err)
	}
	// Refunds and lost disputes through the webhook's path move both rollups row by row.
	rows, err := db.read.Query(`SELECT stripe_charge_id, currency, amount FROM donations WHERE id % 11 = 0`)
	if err != nil {
		t.Fatal(err)
	}
	type charge struct {
		id     string
		amount pledge.Money
	}
	var charges []charge
	for rows.Next() {
		var c charge
		if err := rows.Scan(&c.id, &c.amount.Currency, &c.amount.Amount); err != nil {
			t.Fatal(err)
		}
		charges = append(charges, c)
	}
	rows.Close()
	for i, c := range charges {
		var typ string
		var fact any = &pledge.ChargeRefunded{ChargeID: c.id, Amount: c.amount, AmountRefunded: c.amount.Amount / 3}
		typ = "charge.refunded"
		if i%2 == 1 {
			typ, fact = "charge.dispute.closed", &pledge.DisputeChanged{ChargeID: c.id, Status: "lost", Amount: c.amount}
		}
		if _, err := db.ApplyEvent(ctx, &pledge.LedgerEvent{ID: fmt.Sprintf("evt_top_%d", i), Type: typ,
			Created: now, Fact: fact}); err != nil {
			t.Fatal(err)
		}
	}
	if len(charges) == 0 {
		t.Fatal("no donations to refund")
	}
	today := now.Truncate(day)
	weekStart := time.Unix(weekOf(today.Unix()), 0).UTC() // a Thursday, as the epoch
	periods := []pledge.Period{
		{From: today.Add(-90 * day), To: today},
		{From: weekStart.Add(-4 * 7 * day), To: weekStart},
		{From: weekStart.Add(-4*7*day + day), To: weekStart.Add(-day)},
		{From: weekStart.Add(-9 * day), To: weekStart.Add(day)},
		{From: weekStart.Add(-10 * day), To: weekStart.Add(-4 * day)},
		{From: weekStart.Add(-10 * day), To: weekStart.Add(-2 * day)},
		{From: today.Add(-400 * day), To: today.Add(day)},
	}
	for _, p := range periods {
		arts, camps, err := db.topMoney(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		wantArts, wantCamps := topFromDonations(t, db, p)
		if !slices.Equal(arts, wantArts) || !slices.Equal(camps, wantCamps) {
			t.Errorf("%s to %s: top articles %v, campaigns %v; from the donations: %v, %v",
				p.From.Format(time.DateOnly), p.To.Format(time.DateOnly), arts, camps, wantArts, wantCamps)
		}
		if len(wantArts) == 0 {
			t.Errorf("%s to %s: no donations in the period", p.From.Format(time.DateOnly), p.To.Format(time.DateOnly))
		}
	}
	// The 90 days read whole weeks from the weekly rollup.
	w0, w1 := weekSpan(periods[0].From.Unix(), periods[0].To.Unix())
	var weekly int
	db.read.QueryRow(`SELECT count(*) FROM donations_sources_weekly WHERE week >= ? AND week < ?`, w0, w1).Scan(&weekly)
	if w1-w0 < 12*week || weekly == 0 {
		t.Errorf("90 days: whole weeks [%d, %d) with %d weekly rows", w0, w1, weekly)
	}
}

// topFromDonations computes topMoney's answer from the donations rows themselves.
func topFromDonations(t *testing.T, db *DB, p pledge.Period) (arts, camps []pledge.TopRow) {
	t.Helper()
	top := func(col string) []pledge.TopRow {
		rows, err := db.read.Query(`SELECT `+col+`, currency, count(*), sum(amount - amount_refunded - amount_disputed)
			FROM donations WHERE paid_at >= ? AND paid_at < ? AND `+col+` <> ''
			GROUP BY 1, 2 ORDER BY 2, 4 DESC, 1`, p.From.Unix(), p.To.Unix())
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []pledge.TopRow
		for rows.Next() {
			var r pledge.TopRow
			if err := rows.Scan(&r.Name, &r.Currency, &r.Donations, &r.Net); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	return top("article"), top("campaign")
}

// TestDashboardReadsUseTheirIndexes: on SQLite, the top lists read the whole weeks from the weekly
// rollup's key, and the open failed payments find each subscription's end in subscriptions_ended
// alone (a covering index), never in the table.
func TestDashboardReadsUseTheirIndexes(t *testing.T) {
	testkit.SQLiteOnly(t, "SQLite's query plans (PostgreSQL's planner chooses by its own statistics)")
	db := openTestDB(t)
	top := strings.Join(planOf(t, db.read, `SELECT article FROM donations_sources_weekly WHERE week >= ? AND week < ?`, 0, week), "\n")
	if !strings.Contains(top, "SEARCH donations_sources_weekly USING PRIMARY KEY (week>? AND week<?)") {
		t.Errorf("the weekly rollup's read:\n%s", top)
	}
	open := strings.Join(planOf(t, db.read, `SELECT currency FROM (`+db.openFailedQuery()+`) AS f`, int64(1_800_000_000)), "\n")
	if !strings.Contains(open, "SEARCH s USING COVERING INDEX subscriptions_ended (stripe_subscription_id=?") ||
		!strings.Contains(open, "COVERING INDEX invoice_attempts_open") {
		t.Errorf("the open failed payments' plan:\n%s", open)
	}
}
