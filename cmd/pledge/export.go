package main

import (
	"bufio"
	"context"
	"fmt"

	"github.com/pledge-news/pledge/internal/pledge"
)

// runExport writes the donations or supporters ledger to standard output.
func runExport(ctx context.Context, env *Env, args []string) error {
	what, args := leadingArg(args)
	cfg, fs := storeFlags(env, "export")
	from := fs.String("from", "", "first day (YYYY-MM-DD, UTC) or RFC 3339 time, inclusive")
	to := fs.String("to", "", "last day (YYYY-MM-DD, UTC, inclusive) or RFC 3339 time (exclusive)")
	format := fs.String("format", pledge.FormatCSV, "csv or json")
	withVariant := fs.Bool("with-variant", false, "donations: add checkout, experiment and variant after the usual columns")
	setUsage(fs, "usage: pledge export donations|supporters [--from DATE] [--to DATE] [--format csv|json] [--with-variant]")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if what == "" {
		what = fs.Arg(0)
	}
	var f pledge.ExportFilter
	var err error
	if f.From, err = pledge.ParseExportDate(*from, false); err != nil {
		return fmt.Errorf("--from: %s", pledge.ErrorMessage(err))
	}
	if f.To, err = pledge.ParseExportDate(*to, true); err != nil {
		return fmt.Errorf("--to: %s", pledge.ErrorMessage(err))
	}
	if *format != pledge.FormatCSV && *format != pledge.FormatJSON {
		return fmt.Errorf("--format must be csv or json")
	}
	write := pledge.WriteDonations
	if *withVariant {
		write = pledge.WriteDonationsWithArms
	}
	switch what {
	case "donations":
	case "supporters":
		if *withVariant {
			return fmt.Errorf("--with-variant is for donations")
		}
		write = pledge.WriteSupporters
	default:
		fs.Usage()
		return errUsage
	}
	db, err := cfg.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	w := bufio.NewWriterSize(env.Stdout, 64<<10)
	if err := write(ctx, w, db, f, *format); err != nil {
		return err
	}
	return w.Flush()
}
