// Command pledgebench is `make bench`'s load program. Everything runs on loopback: it starts
// stripe-mock and `pledge serve` as real child processes, drives them with closed loops of
// fasthttp clients (load.go), measures each row beside a baseline measured in the same run on the
// same machine, and ends its output with one line per row:
//
//	BENCH <name> value=<figure><unit> baseline=<figure><unit> ratio=<r> target=<comparison> ok|short
//
// Only ratios carry over between machines: the baselines absorb how fast this one is today.
//
// `pledgebench plain ADDR BODY-FILE HEADER-FILE` is the plain net/http server the prompt row
// compares against: it answers every request with the recorded body and headers (JSON) of one
// pledge response. The bench re-executes itself in that mode, so both servers are separate
// processes.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "plain" {
		if err := runPlain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "pledgebench plain:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.StringVar(&o.Pledge, "pledge", "bin/pledge", "the pledge binary")
	flag.StringVar(&o.StripeMock, "stripe-mock", "bin/stripe-mock", "the stripe-mock binary")
	flag.StringVar(&o.Dir, "dir", "var/bench", "working directory: run files and the cached seeded database")
	flag.DurationVar(&o.Dur, "dur", 3*time.Second, "measuring time of one side of a row in one round")
	flag.IntVar(&o.Rounds, "rounds", 3, "rounds per row; baseline and value alternate")
	flag.IntVar(&o.Conns, "c", 64, "connections for the throughput rows")
	flag.IntVar(&o.Donations, "donations", 1_000_000, "donations seeded for the dashboard row")
	flag.StringVar(&o.Rows, "rows", "prompt,remind,memory,webhook,donate-overhead,dashboard,remind-pg,webhook-pg,dashboard-pg,two-instance", "rows to run (the *-pg rows and two-instance need PostgreSQL: PLEDGE_TEST_POSTGRES, else 127.0.0.1:5432)")
	flag.StringVar(&o.DashboardPath, "dashboard-path", "/staff?period=90d", "the 90-day staff dashboard")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rows, err := run(ctx, &o)
	if err != nil {
		fmt.Printf("\npledgebench: some rows were not measured:\n%v\n", err)
	}
	fmt.Println()
	for _, r := range rows {
		fmt.Println(r.line())
	}
	if err != nil {
		os.Exit(1)
	}
}

// options are the bench's flags.
type options struct {
	Pledge, StripeMock, Dir string
	Dur                     time.Duration
	Rounds, Conns           int
	Donations               int
	Rows                    string
	DashboardPath           string
}

func (o *options) want(row string) bool {
	for _, r := range strings.Split(o.Rows, ",") {
		if strings.TrimSpace(r) == row {
			return true
		}
	}
	return false
}

// row is one BENCH line.
type row struct {
	Name            string
	Value, Baseline float64
	Unit            string
	Ratio           float64
	Target          string
	OK              bool
}

func (r row) line() string {
	verdict := "short"
	if r.OK {
		verdict = "ok"
	}
	return fmt.Sprintf("BENCH %s value=%s%s baseline=%s%s ratio=%.2f target=%s %s",
		r.Name, figure(r.Value), r.Unit, figure(r.Baseline), r.Unit, r.Ratio, r.Target, verdict)
}

// figure writes a number with about three significant digits.
func figure(v float64) string {
	switch a := abs(v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// say prints a progress line (the BENCH lines come last).
func say(format string, args ...any) {
	fmt.Printf("%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// runPlain serves a recorded response at ADDR, on every path: the prompt row's baseline, a
// plain net/http handler in its own process like pledge's.
func runPlain(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: pledgebench plain ADDR BODY-FILE HEADER-FILE")
	}
	body, err := os.ReadFile(args[1])
	if err != nil {
		return err
	}
	hj, err := os.ReadFile(args[2])
	if err != nil {
		return err
	}
	var header http.Header
	if err := json.Unmarshal(hj, &header); err != nil {
		return err
	}
	length := strconv.Itoa(len(body))
	srv := &http.Server{
		Addr: args[0],
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			for k, v := range header {
				h[k] = v
			}
			h.Set("Content-Length", length)
			_, _ = w.Write(body)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// copyFile copies src to dst (the cached seeded database into the run directory).
func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	// The service refuses a database other users can read.
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
