package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/pledge-news/pledge/internal/sqlite"
)

func runSeed(ctx context.Context, env *Env, args []string) error {
	var n, years int
	var seed uint64
	var force bool
	db, _, err := openDB(ctx, env, "seed", args, func(fs *flag.FlagSet) {
		fs.IntVar(&n, "donations", 10_000, "number of donations to write, renewals included")
		fs.IntVar(&years, "years", 3, "years of history")
		fs.Uint64Var(&seed, "seed", uint64(time.Now().UnixNano()), "random seed, for a repeatable ledger")
		fs.BoolVar(&force, "force", false, "seed even though the database holds real donations")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	bar := progressbar.NewOptions(n,
		progressbar.OptionSetWriter(env.Stderr),
		progressbar.OptionSetDescription("seeding donations"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("donations"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(env.Stderr) }),
	)
	start := time.Now()
	err = db.Seed(ctx, sqlite.SeedOptions{Donations: n, Years: years, Rand: seed, Force: force, Progress: func(done int) {
		_ = bar.Set(done)
	}})
	if err != nil {
		return err
	}
	_ = bar.Finish()
	fmt.Fprintf(env.Stdout, "seeded %d donations in %s\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}
