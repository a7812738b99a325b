package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/postgres"
	"github.com/pledge-news/pledge/internal/sqlite"
)

const copyUsage = "usage: pledge copy --from SQLITE_FILE --to postgres://..."

// runCopy is `pledge copy --from SQLITE_FILE --to postgres://...`: it moves an existing ledger
// into a new, empty PostgreSQL database, in one transaction, then proves the move by comparing
// what both stores export (donations, with and without experiment arms, and supporters) and
// report, byte for byte. Both stores open with PLEDGE_DATA_KEY_FILE's key, so sealed data moves
// as it is.
func runCopy(ctx context.Context, env *Env, args []string) error {
	cfg := ConfigFromEnv(env.Getenv)
	fs := newFlagSet(env, "copy")
	usageErr := usageErrorf(env, "copy", copyUsage)
	from := fs.String("from", "", "the SQLite file to copy from (its service stopped)")
	to := fs.String("to", "", "the PostgreSQL database to copy into (postgres://...), new and empty")
	if err := parseFlags(env, fs, copyUsage, args, usageErr); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case *from == "":
		return usageErr("--from is required")
	case postgres.IsURL(*from):
		return usageErr("--from must be an SQLite file, not %s", postgres.Redact(*from))
	case *to == "":
		return usageErr("--to is required")
	case !postgres.IsURL(*to):
		return usageErr("--to must be a postgres:// URL")
	}
	if err := postgres.ParseURL(*to); err != nil {
		return usageErr("--to: %v", err)
	}
	if st, err := os.Stat(*from); err != nil || st.IsDir() {
		return usageErr("--from %s: no such database file", *from)
	}
	cfg.DB = *from
	src, err := cfg.openDB(ctx)
	if err != nil {
		return err
	}
	defer src.Close()
	cfg.DB = *to
	dst, err := cfg.openDB(ctx)
	if err != nil {
		return err
	}
	defer dst.Close()

	start := time.Now()
	counts, err := src.CopyTo(ctx, dst, func(table string, rows int) {
		fmt.Fprintf(env.Stderr, "copied %-28s %9d rows\n", table, rows)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "copied %d rows of %d tables in %s; comparing what both stores export...\n",
		counts.Total(), len(counts), time.Since(start).Round(time.Millisecond))
	if err := sameLedger(ctx, src, dst); err != nil {
		return fmt.Errorf("the copy in %s does not match %s: %w; do not use it (drop the database and report this)",
			postgres.Redact(*to), *from, err)
	}
	fmt.Fprintf(env.Stdout, "copied %s to %s: %d rows; donations, supporters and the report match byte for byte\n",
		*from, postgres.Redact(*to), counts.Total())
	return nil
}

// sameLedger compares what two stores export and report, byte for byte, naming the first
// output that differs.
func sameLedger(ctx context.Context, a, b *sqlite.DB) error {
	for _, o := range ledgerOutputs() {
		ha, err := o.digest(ctx, a)
		if err != nil {
			return fmt.Errorf("%s of %s: %w", o.name, a.Engine(), err)
		}
		hb, err := o.digest(ctx, b)
		if err != nil {
			return fmt.Errorf("%s of %s: %w", o.name, b.Engine(), err)
		}
		if ha != hb {
			return fmt.Errorf("the %s differ", o.name)
		}
	}
	return nil
}

// ledgerOutput is one thing a store prints that must not change when the ledger moves.
type ledgerOutput struct {
	name  string
	write func(ctx context.Context, w io.Writer, db *sqlite.DB) error
}

func (o ledgerOutput) digest(ctx context.Context, db *sqlite.DB) ([32]byte, error) {
	var buf bytes.Buffer
	if err := o.write(ctx, &buf, db); err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(buf.Bytes()), nil
}

func ledgerOutputs() []ledgerOutput {
	all := pledge.ExportFilter{}
	export := func(write func(context.Context, io.Writer, pledge.ExportService, pledge.ExportFilter, string) error) func(context.Context, io.Writer, *sqlite.DB) error {
		return func(ctx context.Context, w io.Writer, db *sqlite.DB) error {
			return write(ctx, w, db, all, pledge.FormatCSV)
		}
	}
	return []ledgerOutput{
		{"donations exports", export(pledge.WriteDonations)},
		{"donations exports with experiment arms", export(pledge.WriteDonationsWithArms)},
		{"supporters exports", export(pledge.WriteSupporters)},
		{"reports (every day from 2000 to today)", func(ctx context.Context, w io.Writer, db *sqlite.DB) error {
			today := time.Now().UTC().Truncate(24 * time.Hour)
			p := pledge.Period{From: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), To: today.AddDate(0, 0, 1)}
			figures, err := db.Figures(ctx, p)
			if err != nil {
				return err
			}
			return pledge.WriteReport(w, p, figures, pledge.FormatJSON)
		}},
	}
}
