package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/billing"
	"github.com/pledge-news/pledge/internal/pledge"
)

const twoVariants = `
experiments:
  - name: %s
    holdback: 0.1
    variants:
      - {name: control, weight: 1}
      - {name: warm-letter, weight: 1, heading: "Journalism that answers to you"}
`

// TestReloadKeepsTheOldConfigOnABrokenFile: SIGHUP reloads PLEDGE_CONFIG's experiments while
// requests keep being answered; a broken file changes nothing (the old experiments keep serving,
// the error is logged), and a good one is put in force.
func TestReloadKeepsTheOldConfigOnABrokenFile(t *testing.T) {
	cfgFile := writeConfig(t, fmt.Sprintf(twoVariants, "first"))
	s := startService(t, map[string]string{"PLEDGE_CONFIG": cfgFile})
	if _, err := s.db.CreateStaff(context.Background(), "editor@example.com", "a long passphrase here", pledge.RoleViewer); err != nil {
		t.Fatal(err)
	}
	running := func() string {
		page := s.staffPage(t, "editor@example.com", "a long passphrase here", "/staff/experiments")
		for _, name := range []string{"first", "second"} {
			if strings.Contains(page, `href="/staff/experiments/`+name+`">`+name+`</a></th><td data-label="Status">running`) {
				return name
			}
		}
		return ""
	}
	if got := running(); got != "first" {
		t.Fatalf("at start: %q", got)
	}

	// Readers keep being answered throughout.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var served, failed atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := http.Get(s.url + "/prompt?article=" + s.url + "/a")
				if err != nil || (res.StatusCode != http.StatusOK && res.StatusCode != http.StatusNoContent) {
					failed.Add(1)
				} else {
					served.Add(1)
				}
				if res != nil {
					res.Body.Close()
				}
			}
		}()
	}
	hup := func() {
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}

	// Broken: a weight of zero. The old configuration keeps serving.
	if err := os.WriteFile(cfgFile, []byte(strings.Replace(fmt.Sprintf(twoVariants, "second"), "weight: 1}\n", "weight: 0}\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	hup()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(s.logs.String(), "reload refused"); {
		if time.Now().After(deadline) {
			t.Fatalf("the broken reload was not refused within 5s; serve logged:\n%s", s.logs.String())
		}
		time.Sleep(20 * time.Millisecond) // polling a condition
	}
	if got := running(); got != "first" {
		t.Fatalf("after a broken reload: %q, want the old experiment still in force", got)
	}

	// Good: the new experiment is in force.
	if err := os.WriteFile(cfgFile, []byte(fmt.Sprintf(twoVariants, "second")), 0o600); err != nil {
		t.Fatal(err)
	}
	hup()
	deadline := time.Now().Add(5 * time.Second)
	for running() != "second" {
		if time.Now().After(deadline) {
			t.Fatal("the good reload never took effect")
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || served.Load() == 0 {
		t.Fatalf("during reloads: %d served, %d failed", served.Load(), failed.Load())
	}
}

// TestExperimentReportEqualsExport: the report's gifts, money and annualised value per arm equal
// what the donations export with --with-variant gives, computed here from its rows.
func TestExperimentReportEqualsExport(t *testing.T) {
	cfgFile := writeConfig(t, fmt.Sprintf(twoVariants, "ask"))
	s := startService(t, map[string]string{"PLEDGE_CONFIG": cfgFile})
	ctx := context.Background()
	n := 0
	give := func(variant string, f pledge.Frequency, amount int64, renewals int) {
		n++
		c, err := s.db.CreateCheckout(ctx, &pledge.Checkout{Nonce: fmt.Sprint("exp", n), Frequency: f,
			Amount: pledge.Money{Amount: amount, Currency: "usd"}, Arm: pledge.Arm{Experiment: "ask", Variant: variant}})
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprint("x", n)
		p := billing.EventParams{Checkout: c, Email: id + "@example.com", PaymentIntentID: "pi_" + id, ChargeID: "ch_" + id}
		types := []string{"checkout.session.completed"}
		if f.Recurring() {
			p = billing.EventParams{Checkout: c, Email: id + "@example.com", CustomerID: "cus_" + id, SubscriptionID: "sub_" + id, InvoiceID: "in_" + id}
			types = []string{"customer.subscription.created", "checkout.session.completed", "invoice.paid"}
		}
		for _, typ := range types {
			if err := s.post(t, typ, p); err != nil {
				t.Fatal(err)
			}
		}
		for r := range renewals {
			p.InvoiceID = fmt.Sprintf("in_%s_%d", id, r)
			p.Created = time.Now().Add(-time.Duration(10-r) * time.Minute)
			if err := s.post(t, "invoice.paid", p); err != nil {
				t.Fatal(err)
			}
		}
	}
	give("control", pledge.Once, 1000, 0)
	give("control", pledge.Monthly, 500, 2)
	give("warm-letter", pledge.Annual, 5000, 0)
	give("warm-letter", pledge.Once, 2500, 0)
	give(pledge.Holdback, pledge.Once, 700, 0)
	// A checkout outside the experiment, and one never paid.
	if _, err := s.db.CreateCheckout(ctx, &pledge.Checkout{Nonce: "unpaid", Frequency: pledge.Once,
		Amount: pledge.Money{Amount: 900, Currency: "usd"}, Arm: pledge.Arm{Experiment: "ask", Variant: "control"}}); err != nil {
		t.Fatal(err)
	}
	s.giveOnce(t, 300, "usd", "outside@example.com")
	if err := s.db.AddExperimentStats(ctx, []pledge.ExperimentStat{
		{Day: time.Now(), Arm: pledge.Arm{Experiment: "ask", Variant: "control"}, Views: 400, Click: 9},
		{Day: time.Now(), Arm: pledge.Arm{Experiment: "ask", Variant: "warm-letter"}, Views: 410, Click: 7},
		{Day: time.Now(), Arm: pledge.Arm{Experiment: "ask", Variant: pledge.Holdback}, Views: 90},
	}); err != nil {
		t.Fatal(err)
	}

	out, errs, code := s.run(t, "export", "donations", "--with-variant")
	if code != 0 {
		t.Fatalf("export: %d %s", code, errs)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], ","); got != strings.Join(pledge.DonationsArmsCSVHeader, ",") ||
		!strings.HasPrefix(got, "date,email,amount,currency,frequency,status,stripe_id,article,campaign,") {
		t.Fatalf("header %s", got)
	}
	type sums struct{ gifts, money, annualised int64 }
	want := map[string]*sums{}
	firstSeen := map[string]bool{}
	for _, r := range rows[1:] { // oldest first
		checkout, exp, variant := r[9], r[10], r[11]
		if exp != "ask" {
			continue
		}
		minor, err := pledge.ParseMinor(r[2], 2)
		if err != nil {
			t.Fatal(err)
		}
		if want[variant] == nil {
			want[variant] = &sums{}
		}
		w := want[variant]
		w.money += minor
		if !firstSeen[checkout] {
			firstSeen[checkout] = true
			w.gifts++
			mult := map[string]int64{"once": 1, "monthly": 12, "annual": 1}[r[4]]
			w.annualised += mult * minor
		}
	}
	if len(firstSeen) != 5 || want["control"].money != 1000+3*500 {
		t.Fatalf("export by variant: %d checkouts, %+v", len(firstSeen), want["control"])
	}

	out, errs, code = s.run(t, "experiments", "report", "ask", "--format", "json")
	if code != 0 {
		t.Fatalf("report: %d %s", code, errs)
	}
	var rep struct {
		Arms []struct {
			Variant    string `json:"variant"`
			Views      int64  `json:"views"`
			Clicks     int64  `json:"clicks"`
			Checkouts  int64  `json:"checkouts"`
			Gifts      int64  `json:"gifts"`
			Currencies map[string]struct {
				Gifts      int64 `json:"gifts"`
				Money      int64 `json:"money"`
				Annualised int64 `json:"annualised"`
			} `json:"currencies"`
		} `json:"arms"`
		TotalEffect map[string]json.RawMessage `json:"total_effect"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rep.Arms) != 3 || rep.TotalEffect["usd"] == nil {
		t.Fatalf("report:\n%s", out)
	}
	for _, a := range rep.Arms {
		w, usd := want[a.Variant], a.Currencies["usd"]
		if w == nil || usd.Gifts != w.gifts || a.Gifts != w.gifts || usd.Money != w.money || usd.Annualised != w.annualised {
			t.Errorf("%s: report gifts %d money %d annualised %d; export %+v", a.Variant, usd.Gifts, usd.Money, usd.Annualised, w)
		}
	}
	if a := rep.Arms[0]; a.Variant != "control" || a.Views != 400 || a.Clicks != 9 || a.Checkouts != 3 {
		t.Errorf("control %+v", a)
	}

	// The CSV says the same.
	out, _, code = s.run(t, "experiments", "report", "ask", "--format", "csv")
	crow, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || code != 0 || len(crow) != 5 {
		t.Fatalf("csv %d %v:\n%s", code, err, out)
	}
	col := map[string]int{}
	for i, h := range crow[0] {
		col[h] = i
	}
	for _, r := range crow[1:4] {
		w := want[r[col["arm"]]]
		if r[col["gifts"]] != strconv.FormatInt(w.gifts, 10) || r[col["money"]] != strconv.FormatInt(w.money, 10) || r[col["annualised"]] != strconv.FormatInt(w.annualised, 10) {
			t.Errorf("csv row %v, export %+v", r, w)
		}
	}
	if crow[4][col["arm"]] != "prompted-vs-holdback" {
		t.Errorf("last row %v", crow[4])
	}
	// Usage errors: one line, exit 2.
	if _, errs, code := s.run(t, "experiments", "report", "ask", "--format", "xml"); code != 2 || !strings.Contains(errs, "--format") {
		t.Errorf("bad format: %d %q", code, errs)
	}
	if _, errs, code := s.run(t, "experiments", "report", "nope"); code != 1 || !strings.Contains(errs, `no experiment is called "nope"`) {
		t.Errorf("unknown experiment: %d %q", code, errs)
	}
	// The default export keeps its contract.
	out, _, _ = s.run(t, "export", "donations")
	if !strings.HasPrefix(out, "date,email,amount,currency,frequency,status,stripe_id,article,campaign\n") {
		t.Errorf("default export header: %q", strings.SplitN(out, "\n", 2)[0])
	}
}

// TestConfigShowsPromotion: `pledge config show` prints the settings in force with a promoted
// variant applied, and the experiment's state.
func TestConfigShowsPromotion(t *testing.T) {
	cfgFile := writeConfig(t, fmt.Sprintf(twoVariants, "ask"))
	s := startService(t, map[string]string{"PLEDGE_CONFIG": cfgFile})
	out, errs, code := s.run(t, "config", "show")
	if code != 0 || !strings.Contains(out, "status: running") || strings.Contains(out, "sk_test_cmd") || !strings.Contains(out, `STRIPE_SECRET_KEY: "(set)"`) {
		t.Fatalf("config show %d %s\n%s", code, errs, out)
	}
	v := pledge.Variant{}
	for _, x := range mustExperiments(t, cfgFile)[0].Variants {
		if x.Name == "warm-letter" {
			v = x
		}
	}
	if err := s.db.StopExperiment(context.Background(), "editor@example.com", "ask", pledge.ExperimentState{Promoted: "warm-letter", Override: v.Override}); err != nil {
		t.Fatal(err)
	}
	out, _, _ = s.run(t, "config", "show")
	for _, want := range []string{"heading: Journalism that answers to you", "status: promoted", "promoted: warm-letter", "stopped_by: editor@example.com", "- 'ask: warm-letter'"} {
		if !strings.Contains(out, want) {
			t.Errorf("config show lacks %q:\n%s", want, out)
		}
	}
}

func mustExperiments(t *testing.T, path string) []pledge.Experiment {
	t.Helper()
	_, es, err := loadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return es
}
