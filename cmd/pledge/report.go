package main

import (
	"bufio"
	"context"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

const reportUsage = "usage: pledge report --from YYYY-MM-DD --to YYYY-MM-DD [--format json|csv]"

// runReport prints the dashboard's headline figures for a period of whole UTC days, both dates
// inclusive, per currency in minor units.
func runReport(ctx context.Context, env *Env, args []string) error {
	cfg, fs := storeFlags(env, "report")
	usageErr := usageErrorf(env, "report", "")
	from := fs.String("from", "", "first day, YYYY-MM-DD (UTC), inclusive")
	to := fs.String("to", "", "last day, YYYY-MM-DD (UTC), inclusive")
	format := fs.String("format", pledge.FormatJSON, "json or csv")
	if err := parseFlags(env, fs, reportUsage, args, usageErr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q (%s)", fs.Arg(0), reportUsage)
	}
	first, err := reportDate("--from", *from, usageErr)
	if err != nil {
		return err
	}
	last, err := reportDate("--to", *to, usageErr)
	if err != nil {
		return err
	}
	if first.After(last) {
		return usageErr("--from %s is after --to %s", *from, *to)
	}
	if *format != pledge.FormatJSON && *format != pledge.FormatCSV {
		return usageErr("--format: want json or csv, got %q", *format)
	}
	p := pledge.Period{From: first, To: last.AddDate(0, 0, 1)}

	db, err := cfg.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	figures, err := db.Figures(ctx, p)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(env.Stdout)
	if err := pledge.WriteReport(w, p, figures, *format); err != nil {
		return err
	}
	return w.Flush()
}

// reportDate reads a required YYYY-MM-DD flag strictly (a real calendar day, nothing else).
func reportDate(name, s string, usageErr func(format string, a ...any) error) (time.Time, error) {
	if s == "" {
		return time.Time{}, usageErr("%s is required: a date YYYY-MM-DD", name)
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, usageErr("%s: want a date YYYY-MM-DD, got %q", name, s)
	}
	return t, nil
}
