package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/billing"
	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/testkit"
)

func TestReportUsageErrors(t *testing.T) {
	s := &service{env: map[string]string{"PLEDGE_DB": testkit.StoreDSN(t)}}
	for _, tc := range []struct {
		args []string
		want string // in the one line of stderr
	}{
		{[]string{"--to", "2026-01-31"}, "--from is required"},
		{[]string{"--from", "2026-01-01"}, "--to is required"},
		{[]string{"--from", "2026-13-01", "--to", "2026-12-31"}, `--from: want a date YYYY-MM-DD, got "2026-13-01"`},
		{[]string{"--from", "2026-01-01", "--to", "2026-02-30"}, `--to: want a date YYYY-MM-DD, got "2026-02-30"`},
		{[]string{"--from", "2026-01-01T00:00:00Z", "--to", "2026-01-31"}, `--from: want a date YYYY-MM-DD`},
		{[]string{"--from", "yesterday", "--to", "2026-01-31"}, `--from: want a date YYYY-MM-DD, got "yesterday"`},
		{[]string{"--from", "2026-02-01", "--to", "2026-01-01"}, "--from 2026-02-01 is after --to 2026-01-01"},
		{[]string{"--from", "2026-01-01", "--to", "2026-01-31", "--format", "xml"}, `--format: want json or csv, got "xml"`},
		{[]string{"--from", "2026-01-01", "--to", "2026-01-31", "--format"}, "format"},
		{[]string{"--since", "2026-01-01"}, "since"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, errs, code := s.run(t, append([]string{"report"}, tc.args...)...)
			if code != 2 || out != "" {
				t.Fatalf("exited %d with output %q, want 2 and none", code, out)
			}
			if !strings.HasPrefix(errs, "pledge report: ") || !strings.Contains(errs, tc.want) || strings.Count(errs, "\n") != 1 || !strings.HasSuffix(errs, "\n") {
				t.Fatalf("stderr %q: want one line saying %q", errs, tc.want)
			}
		})
	}
	if out, errs, code := s.run(t, "report", "-h"); code != 0 || out != "" || !strings.Contains(errs, reportUsage) {
		t.Fatalf("report -h exited %d: %q %q", code, out, errs)
	}
	if out, _, code := s.run(t, "help"); code != 0 || !strings.Contains(out, "  report ") {
		t.Fatalf("help does not list report:\n%s", out)
	}
}

// reportOutput is `pledge report --format json` read back.
type reportOutput struct {
	From       string                      `json:"from"`
	To         string                      `json:"to"`
	Currencies map[string]map[string]int64 `json:"currencies"`
}

// report runs `pledge report` for [from, to] and reads its JSON, checking that the CSV of the
// same period says the same.
func (s *service) report(t *testing.T, from, to string) reportOutput {
	t.Helper()
	out, errs, code := s.run(t, "report", "--from", from, "--to", to)
	if code != 0 {
		t.Fatalf("report exited %d: %s", code, errs)
	}
	var r reportOutput
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("report JSON: %v\n%s", err, out)
	}
	if r.From != from || r.To != to || r.Currencies == nil {
		t.Fatalf("report of %s – %s:\n%s", from, to, out)
	}
	out, errs, code = s.run(t, "report", "--from", from, "--to", to, "--format", "csv")
	if code != 0 {
		t.Fatalf("report --format csv exited %d: %s", code, errs)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("report CSV (%v):\n%s", err, out)
	}
	fromCSV := map[string]map[string]int64{}
	for _, row := range rows[1:] {
		m := map[string]int64{}
		for i, name := range rows[0][1:] {
			v, err := strconv.ParseInt(row[i+1], 10, 64)
			if err != nil {
				t.Fatalf("CSV %s of %s: %v", name, row[0], err)
			}
			m[name] = v
		}
		fromCSV[row[0]] = m
	}
	if !reflect.DeepEqual(fromCSV, r.Currencies) {
		t.Fatalf("CSV and JSON disagree:\n%v\n%v", fromCSV, r.Currencies)
	}
	return r
}

// reportDays is yesterday to tomorrow (UTC), so that events posted now fall in it even when the
// test runs across midnight.
func reportDays() (from, to string, p pledge.Period) {
	today := time.Now().UTC().Truncate(24 * time.Hour)
	p = pledge.Period{From: today.AddDate(0, 0, -1), To: today.AddDate(0, 0, 2)}
	return p.From.Format(time.DateOnly), today.AddDate(0, 0, 1).Format(time.DateOnly), p
}

// giveOnce pays a one-off gift through the webhook and returns its event parameters.
func (s *service) giveOnce(t *testing.T, amount int64, currency pledge.Currency, email string) billing.EventParams {
	t.Helper()
	c, err := s.db.CreateCheckout(context.Background(), &pledge.Checkout{Nonce: email, Frequency: pledge.Once,
		Amount: pledge.Money{Amount: amount, Currency: currency}, Article: "https://news.example/story"})
	if err != nil {
		t.Fatal(err)
	}
	// Named ids, so that a refund or a dispute can follow on the same payment.
	p := billing.EventParams{Checkout: c, Email: email, PaymentIntentID: "pi_" + c.ID, ChargeID: "ch_" + c.ID}
	if err := s.post(t, "checkout.session.completed", p); err != nil {
		t.Fatal(err)
	}
	return p
}

// giveMonthly starts a monthly gift through the webhook: subscription, checkout, first invoice.
func (s *service) giveMonthly(t *testing.T, amount int64, email, id string) {
	t.Helper()
	p := billing.EventParams{Checkout: s.checkout(t, pledge.Monthly, amount), Email: email,
		CustomerID: "cus_" + id, SubscriptionID: "sub_" + id, InvoiceID: "in_" + id}
	for _, typ := range []string{"customer.subscription.created", "checkout.session.completed", "invoice.paid"} {
		if err := s.post(t, typ, p); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReportCommand(t *testing.T) {
	s := startService(t, nil)
	from, to, _ := reportDays()
	if r := s.report(t, from, to); len(r.Currencies) != 0 {
		t.Fatalf("an empty ledger reports %v", r.Currencies)
	}
	s.giveOnce(t, 500, "usd", "once@example.com")
	s.giveMonthly(t, 500, "monthly@example.com", "m")
	s.waitSettled(t)

	want := map[string]int64{"gross": 1000, "refunded": 0, "disputed": 0, "net": 1000, "tax": 0, "donations": 2,
		"new_supporters": 2, "recurring_supporters": 1, "mrr": 500, "cancellations": 0, "cancellations_scheduled": 0,
		"failed_payments": 0, "recovered_payments": 0}
	// Added by issue 15: churn, and the money as it reached the bank (stripe-mock's balance
	// transaction fixture: 1.00 usd, no fee, for each gift).
	for k, v := range map[string]int64{"recurring_at_start": 0, "new_recurring": 1, "net_new_recurring": 1,
		"churn_rate_bp": 0, "failed_open": 0, "at_risk": 0, "settled_donations": 2, "settled_amount": 200, "fees": 0,
		"settled_lost": 0, "settled_net": 200, "unsettled_donations": 0, "unsettled_net": 0} {
		want[k] = v
	}
	r := s.report(t, from, to)
	if len(r.Currencies) != 1 || !reflect.DeepEqual(r.Currencies["usd"], want) {
		t.Fatalf("report:\n%v\nwant usd:\n%v", r.Currencies, want)
	}
	// The days before the gifts: nothing paid, nothing live yet.
	long := time.Now().UTC().AddDate(0, 0, -30).Format(time.DateOnly)
	if r := s.report(t, long, long); len(r.Currencies) != 0 {
		t.Fatalf("a day before the gifts reports %v", r.Currencies)
	}
}

// TestReportAgreesWithDashboard: for the same ledger and period, `pledge report` prints what the
// staff dashboard computes (Dashboard's current figures, currency by currency) and the dashboard
// page shows the report's gross and net as money.
func TestReportAgreesWithDashboard(t *testing.T) {
	s := startService(t, nil)
	ctx := context.Background()
	s.giveOnce(t, 500, "usd", "once@example.com")
	s.giveMonthly(t, 500, "monthly@example.com", "m")
	s.giveMonthly(t, 1500, "second@example.com", "m2")
	s.giveOnce(t, 300, "eur", "euro@example.com")
	refund := s.giveOnce(t, 2000, "eur", "refund@example.com")
	if err := s.post(t, "charge.refunded", refund); err != nil {
		t.Fatal(err)
	}
	disputed := s.giveOnce(t, 700, "usd", "dispute@example.com")
	if err := s.post(t, "charge.dispute.created", disputed); err != nil {
		t.Fatal(err)
	}

	s.waitSettled(t)
	from, to, p := reportDays()
	r := s.report(t, from, to)
	d, err := s.db.Dashboard(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Period.From.Equal(p.From) || !d.Period.To.Equal(p.To) {
		t.Fatalf("dashboard period %v – %v, report %v – %v", d.Period.From, d.Period.To, p.From, p.To)
	}
	seen := map[string]bool{}
	for _, cr := range d.Currencies {
		k := cr.Current
		dash := map[string]int64{"gross": k.Gross, "refunded": k.Refunded, "disputed": k.Disputed, "net": k.Net,
			"tax": k.Tax, "donations": int64(k.Donations), "new_supporters": int64(k.NewSupporters),
			"recurring_supporters": int64(k.ActiveMonthly + k.ActiveAnnual), "mrr": k.MRR,
			"cancellations": int64(k.Cancellations), "cancellations_scheduled": int64(k.CancellationsScheduled),
			"failed_payments": int64(k.FailedPayments), "recovered_payments": int64(k.Recovered),
			"recurring_at_start": int64(k.RecurringAtStart), "new_recurring": int64(k.NewRecurring),
			"net_new_recurring": int64(k.NetNewRecurring()), "churn_rate_bp": int64(math.Round(k.MonthlyChurn() * 10000)),
			"failed_open": int64(k.OpenFailed), "at_risk": k.AtRisk, "settled_donations": int64(k.SettledDonations),
			"settled_amount": k.SettledAmount, "fees": k.Fees, "settled_lost": k.SettledLost, "settled_net": k.SettledNet,
			"unsettled_donations": int64(k.UnsettledDonations), "unsettled_net": k.UnsettledNet}
		got, ok := r.Currencies[string(k.Currency)]
		if !ok {
			// The dashboard also lists a currency seen only in the previous period, all zero now.
			for name, v := range dash {
				if v != 0 {
					t.Errorf("%s: the dashboard has %s %d, the report has no %s", k.Currency, name, v, k.Currency)
				}
			}
			continue
		}
		seen[string(k.Currency)] = true
		if !reflect.DeepEqual(got, dash) {
			t.Errorf("%s: report\n%v\ndashboard\n%v", k.Currency, got, dash)
		}
	}
	for c := range r.Currencies {
		if !seen[c] {
			t.Errorf("the report has %s, the dashboard does not", c)
		}
	}
	t.Logf("report of %s – %s: %v", from, to, r.Currencies)
	// Something to compare: both currencies, with money refunded and recurring gifts live.
	if usd, eur := r.Currencies["usd"], r.Currencies["eur"]; usd["gross"] != 3200 || usd["disputed"] != 700 || usd["recurring_supporters"] != 2 || usd["mrr"] != 2000 ||
		eur["gross"] != 2300 || eur["refunded"] != 2000 {
		t.Fatalf("the seeded ledger reports %v", r.Currencies)
	}

	// The page a staff member sees for the same days.
	if _, err := s.db.CreateStaff(ctx, "editor@news.example", "a long enough passphrase", pledge.RoleViewer); err != nil {
		t.Fatal(err)
	}
	page := s.staffPage(t, "editor@news.example", "a long enough passphrase", "/staff?"+url.Values{"period": {"custom"}, "from": {from}, "to": {to}}.Encode())
	for c, figures := range r.Currencies {
		for _, key := range []string{"gross", "net", "disputed"} {
			m := pledge.Money{Amount: figures[key], Currency: pledge.Currency(c)}
			kpi := map[string]string{"disputed": "disputes"}[key]
			if kpi == "" {
				kpi = key
			}
			want := `data-kpi="` + kpi + `" data-currency="` + c + `" data-value="` + m.Major() + `">` + m.GroupedWith("\u202f") + `</dd>`
			if !strings.Contains(page, want) {
				t.Errorf("the dashboard does not show %s %s as %s", c, key, want)
			}
		}
		want := `data-kpi="scheduled" data-currency="` + c + `" data-value="` + strconv.FormatInt(figures["cancellations_scheduled"], 10) + `"`
		if !strings.Contains(page, want) {
			t.Errorf("the dashboard does not show %s's scheduled cancellations as %s", c, want)
		}
	}
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// staffPage signs in to the running service and returns the body of a staff page.
func (s *service) staffPage(t *testing.T, email, password, path string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	get := func(path string) string {
		res, err := hc.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s\n%s", path, res.Status, b)
		}
		return string(b)
	}
	m := csrfInput.FindStringSubmatch(get("/staff/login"))
	if m == nil {
		t.Fatal("no _csrf field on the login page")
	}
	res, err := hc.PostForm(s.url+"/staff/login", url.Values{"_csrf": {m[1]}, "email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Request.URL.Path != "/staff" {
		t.Fatalf("sign-in ended on %s (%s)", res.Request.URL, res.Status)
	}
	return get(path)
}
