package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/pledge-news/pledge/internal/abtest"
	"github.com/pledge-news/pledge/internal/pledge"
)

const experimentsUsage = "usage: pledge experiments report NAME [--format json|csv]"

// runExperiments is `pledge experiments report NAME [--format json|csv]`: an experiment's
// results, as the staff page shows them, from the database (and PLEDGE_CONFIG's definition, or
// the copy the database keeps once the file no longer has it).
func runExperiments(ctx context.Context, env *Env, args []string) error {
	usageErr := usageErrorf(env, "experiments", "")
	if len(args) == 0 || args[0] != "report" {
		return usageErr("%s", experimentsUsage)
	}
	args = args[1:]
	name, args := leadingArg(args)
	cfg, fs := storeFlags(env, "experiments report")
	fs.StringVar(&cfg.ConfigFile, "config", cfg.ConfigFile, "configuration file (PLEDGE_CONFIG)")
	format := fs.String("format", pledge.FormatJSON, "json or csv")
	if err := parseFlags(env, fs, experimentsUsage, args, usageErr); err != nil {
		return err
	}
	switch {
	case name == "" && fs.NArg() == 1:
		name = fs.Arg(0)
	case fs.NArg() > 0 || name == "":
		return usageErr("%s", experimentsUsage)
	}
	if *format != pledge.FormatJSON && *format != pledge.FormatCSV {
		return usageErr("--format: want json or csv, got %q", *format)
	}
	base, es, err := loadConfigFile(cfg.ConfigFile)
	if err != nil {
		return &ConfigError{"PLEDGE_CONFIG", err.Error()}
	}
	db := cfg.store()
	if err := db.Open(ctx); err != nil {
		return err
	}
	defer db.Close()
	states, err := db.ExperimentStates(ctx)
	if err != nil {
		return err
	}
	plan := &pledge.Plan{Base: base, Experiments: es, States: states}
	e, ok := plan.Find(name)
	status := ""
	if ok {
		status = plan.Status(e, time.Now())
	} else {
		kept, err := db.RememberedExperiments(ctx)
		if err != nil {
			return err
		}
		k, found := kept[name]
		if !found {
			return fmt.Errorf("no experiment is called %q (neither in PLEDGE_CONFIG nor in the database)", name)
		}
		e, status = &k, pledge.StatusEnded
		if _, stopped := states[name]; stopped {
			status = plan.Status(e, time.Now())
		}
	}
	counts, err := db.ExperimentCounts(ctx, name)
	if err != nil {
		return err
	}
	r := abtest.Build(e, status, counts, base.Catalogue.Default)
	w := bufio.NewWriter(env.Stdout)
	if *format == pledge.FormatJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
		return w.Flush()
	}
	if err := writeExperimentCSV(w, r); err != nil {
		return err
	}
	return w.Flush()
}

// experimentCSVHeader: one row per arm and currency, then the prompted arms against the holdback
// (arm "prompted-vs-holdback"). Rates and values are per thousand views, money in minor units;
// the comparison columns are against the control (or, on the last row, the holdback).
var experimentCSVHeader = []string{"experiment", "arm", "currency", "views", "clicks", "clicks_per_1000", "clicks_low", "clicks_high",
	"checkouts", "checkouts_per_1000", "checkouts_low", "checkouts_high", "gifts", "gifts_per_1000", "gifts_low", "gifts_high",
	"money", "money_per_1000", "money_low", "money_high", "annualised", "value_per_1000", "value_low", "value_high",
	"prob_beats_control", "difference_per_1000", "difference_low", "difference_high", "call"}

func writeExperimentCSV(w io.Writer, r *abtest.Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(experimentCSVHeader); err != nil {
		return err
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 4, 64) }
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	est := func(e abtest.Estimate) []string { return []string{f(e.Mean), f(e.Low), f(e.High)} }
	verdict := func(v *abtest.Verdict) []string {
		if v == nil {
			return []string{"", "", "", "", ""}
		}
		if v.Call == abtest.CallTooEarly {
			return []string{"", "", "", "", v.Call}
		}
		return append(append([]string{f(v.ProbBetter)}, est(v.Difference)...), v.Call)
	}
	var currencies []pledge.Currency
	for cur := range r.Arms[0].Currencies {
		currencies = append(currencies, cur)
	}
	slices.Sort(currencies)
	for _, cur := range currencies {
		for _, a := range r.Arms {
			c := a.Currencies[cur]
			row := []string{r.Experiment, a.Variant, string(cur), i(a.Views), i(a.Clicks)}
			row = append(row, est(a.ClickRate)...)
			row = append(row, i(a.Checkouts))
			row = append(row, est(a.CheckoutRate)...)
			row = append(row, i(c.Gifts))
			row = append(row, est(abtest.Rate(c.Gifts, a.Views).Scale(1000))...)
			row = append(row, i(c.Money))
			row = append(row, est(c.MoneyPerViews)...)
			row = append(row, i(c.Annualised))
			row = append(row, est(c.ValuePerViews)...)
			row = append(row, verdict(c.VersusControl)...)
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		if eff := r.TotalEffect[cur]; eff != nil {
			row := make([]string, 21, len(experimentCSVHeader))
			row[0], row[1], row[2] = r.Experiment, "prompted-vs-holdback", string(cur)
			row = append(row, est(eff.Prompted)...)
			v := eff.Verdict
			row = append(row, verdict(&v)...)
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
