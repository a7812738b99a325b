package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	_ "github.com/mattn/go-sqlite3"

	"github.com/pledge-news/pledge/internal/postgres"
)

// bench is one run: its directory, stripe-mock and the service under test.
type bench struct {
	o       *options
	dir     string // this run's files
	mockURL string
	mock    *proc
	secret  string // STRIPE_WEBHOOK_SECRET of the service
	keyFile string // PLEDGE_DATA_KEY_FILE: the service runs as in production, readers' data sealed
	runID   string // makes ids unique across runs
	rows    []row
}

// service is one `pledge serve` child process.
type service struct {
	*proc
	base string
	db   string
}

func run(ctx context.Context, o *options) ([]row, error) {
	b := &bench{o: o, runID: randHex(4)}
	b.dir = filepath.Join(o.Dir, "run")
	if err := os.RemoveAll(b.dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(b.dir, 0o750); err != nil {
		return nil, err
	}
	for _, bin := range []string{o.Pledge, o.StripeMock} {
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("%s is missing: run `make build tools` (make bench does)", bin)
		}
	}
	b.secret = "whsec_bench" + randHex(16)
	// One data key for every run, kept beside the cached seeded database, which it seals.
	b.keyFile = filepath.Join(o.Dir, "data.key")
	if _, err := os.Stat(b.keyFile); err != nil {
		if out, err := exec.Command(o.Pledge, "keys", "new", b.keyFile).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("pledge keys new: %v: %s", err, out)
		}
	}
	if err := b.startMock(); err != nil {
		return nil, err
	}
	defer b.mock.stop()

	var errs []error
	step := func(name string, fn func(ctx context.Context) error) {
		if ctx.Err() != nil {
			return
		}
		if err := fn(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if o.want("prompt") || o.want("remind") || o.want("memory") || o.want("webhook") || o.want("donate-overhead") {
		step("main service", b.mainRows)
	}
	if o.want("dashboard") {
		step("dashboard", func(ctx context.Context) error { return b.failed("dashboard", b.dashboardRow(ctx)) })
	}
	var wantPG []string
	for _, r := range pgRows {
		if o.want(r) {
			wantPG = append(wantPG, r)
		}
	}
	if len(wantPG) > 0 && ctx.Err() == nil {
		if err := pgCheck(ctx); err != nil {
			// Each row says so and is reported as not measured.
			for _, r := range wantPG {
				errs = append(errs, b.failed(r, err))
			}
		} else {
			say("PostgreSQL at %s", postgres.Redact(postgres.AdminURL("")))
			if o.want("remind-pg") || o.want("webhook-pg") {
				step("main service on PostgreSQL", b.pgMainRows)
			}
			if o.want("dashboard-pg") {
				step("dashboard-pg", func(ctx context.Context) error { return b.failed("dashboard-pg", b.dashboardPGRow(ctx)) })
			}
			if o.want("two-instance") {
				step("two-instance", func(ctx context.Context) error { return b.failed("two-instance", b.twoInstanceRows(ctx)) })
			}
		}
	}
	var rows []row
	for _, t := range targets {
		for _, r := range b.rows {
			if r.Name == t.name {
				rows = append(rows, r)
			}
		}
	}
	return rows, errors.Join(errs...)
}

// startMock starts stripe-mock on two free loopback ports (it would otherwise take :12112 too).
func (b *bench) startMock() error {
	for attempt := 0; attempt < 3; attempt++ {
		p1, _ := freePort()
		p2, _ := freePort()
		p, err := startProc("stripe-mock", filepath.Join(b.dir, "stripe-mock.log"), nil, b.o.StripeMock,
			"-http-addr", fmt.Sprintf("127.0.0.1:%d", p1), "-https-addr", fmt.Sprintf("127.0.0.1:%d", p2))
		if err != nil {
			return err
		}
		base := fmt.Sprintf("http://127.0.0.1:%d", p1)
		if err := waitHTTP(p, base+"/v1/customers", http.Header{"Authorization": {"Bearer sk_test_bench"}}, 30*time.Second); err == nil {
			b.mock, b.mockURL = p, base
			return nil
		}
		p.stop()
	}
	return fmt.Errorf("stripe-mock did not start")
}

// env is the service's configuration: test keys against the local stripe-mock, a known webhook
// secret so the bench can sign events, and rate limits raised out of the way of the load.
func (b *bench) env(addr, db string) []string {
	return []string{
		"PLEDGE_ADDR=" + addr,
		"PLEDGE_METRICS_ADDR=",
		"PLEDGE_DB=" + db,
		"PLEDGE_DATA_KEY_FILE=" + b.keyFile,
		"PLEDGE_BASE_URL=http://" + addr,
		"PLEDGE_SECRET=bench-signing-secret-0123456789abcdef",
		"PLEDGE_DEMO=0",
		"PLEDGE_DONATE_LIMIT=100000000/1s",
		"PLEDGE_REMIND_LIMIT=100000000/1s",
		"PLEDGE_CONFIG=",
		"PLEDGE_SMTP_URL=",
		"PLEDGE_MAIL_FROM=",
		"PLEDGE_TRUSTED_PROXIES=",
		"PLEDGE_EMBED_ORIGINS=",
		"STRIPE_SECRET_KEY=sk_test_bench",
		"STRIPE_WEBHOOK_SECRET=" + b.secret,
		"STRIPE_API_BASE=" + b.mockURL,
	}
}

// startService starts `pledge serve` on db and waits for /readyz.
func (b *bench) startService(name, db string) (*service, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p, err := startProc(name, filepath.Join(b.dir, name+".log"), b.env(addr, db), b.o.Pledge, "serve")
	if err != nil {
		return nil, err
	}
	s := &service{proc: p, base: "http://" + addr, db: db}
	if err := waitHTTP(p, s.base+"/readyz", nil, 60*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	return s, nil
}

// startMain prepares the main database and starts the service on it.
func (b *bench) startMain(ctx context.Context) (*service, int, error) {
	db := filepath.Join(b.dir, "pledge.db")
	nCheckouts := 60000
	if b.o.want("webhook") {
		if err := prepareCheckouts(ctx, db, b.runID, nCheckouts); err != nil {
			return nil, 0, fmt.Errorf("prepare checkouts for the webhook row: %w", err)
		}
	}
	svc, err := b.startService("serve", db)
	return svc, nCheckouts, err
}

// mainRows runs the rows that share one fresh service: prompt, remind, memory (read right after
// those two loads), webhook and donate-overhead.
func (b *bench) mainRows(ctx context.Context) error {
	svc, nCheckouts, err := b.startMain(ctx)
	if err != nil {
		var errs []error
		for _, name := range []string{"prompt", "remind", "webhook", "donate-overhead", "memory"} {
			if b.o.want(name) {
				errs = append(errs, b.failed(name, err))
			}
		}
		return errors.Join(errs...)
	}
	defer svc.stop()
	var errs []error
	var plainRSS int64
	if b.o.want("prompt") {
		rss, err := b.promptRow(ctx, svc)
		plainRSS = rss
		errs = append(errs, b.failed("prompt", err))
	}
	if b.o.want("remind") {
		errs = append(errs, b.failed("remind", b.remindRow(ctx, svc, "remind", b.rawInserts)))
	}
	if b.o.want("memory") {
		if !b.o.want("remind") {
			b.remindLoad(ctx, svc)
		}
		errs = append(errs, b.failed("memory", b.memoryRow(svc, plainRSS)))
	}
	if b.o.want("webhook") {
		errs = append(errs, b.failed("webhook", b.webhookRow(ctx, svc, "webhook", nCheckouts, b.rawInserts)))
	}
	if b.o.want("donate-overhead") {
		errs = append(errs, b.failed("donate-overhead", b.donateRow(ctx, svc)))
	}
	return errors.Join(errs...)
}

// targets are the rows' targets, in the order the BENCH lines are printed: a ratio to the row's
// baseline, or an absolute figure where a unit follows (donate-overhead's milliseconds, memory's
// megabytes). Issue 18 ("Leaner") raised the SQLite rows' to where the machine's limits are; the
// PostgreSQL rows keep issue 17's.
var targets = []struct{ name, unit, target string }{
	{"prompt", "req/s", ">=0.7"},
	{"prompt-cpu", "us/req", ">=0.85"},
	{"remind", "writes/s", ">=3.0"},
	{"webhook", "events/s", ">=1.0"},
	{"donate-overhead", "ms", "<=1.0ms"},
	{"dashboard", "ms", "<=0.4"},
	{"memory", "MB", "<=40MB"},
	{"remind-pg", "writes/s", ">=1.0"},
	{"webhook-pg", "events/s", ">=0.5"},
	{"dashboard-pg", "ms", "<=1.0"},
	{"two-instance-prompt", "req/s", twoInstanceTarget},
	{"two-instance-webhook", "events/s", twoInstanceTarget},
}

// judged is r with its target from the targets table and whether x (its ratio, or its value for
// an absolute target) meets it; a row not measured (measured false) is short whatever x is.
func (r row) judged(x float64, measured bool) row {
	for _, t := range targets {
		if t.name == r.Name {
			r.Target = t.target
			r.OK = measured && meets(t.target, x)
			return r
		}
	}
	panic("pledgebench: no target for row " + r.Name)
}

// meets reports whether x meets a target such as ">=0.5", "<=1.0ms" or "<=40MB".
func meets(target string, x float64) bool {
	limit, err := strconv.ParseFloat(strings.TrimRightFunc(target[2:], unicode.IsLetter), 64)
	if err != nil {
		panic("pledgebench: bad target " + target)
	}
	if strings.HasPrefix(target, ">=") {
		return x >= limit
	}
	return x <= limit
}

// failed records a row that could not be measured: it still gets its BENCH line, marked short.
// "two-instance" names both of its lines (those it has not given yet).
func (b *bench) failed(name string, err error) error {
	if err == nil {
		return nil
	}
	say("%s: NOT MEASURED: %v", name, err)
	for _, t := range targets {
		if t.name == name || name == "two-instance" && strings.HasPrefix(t.name, "two-instance-") && !b.has(t.name) ||
			name == "prompt" && t.name == "prompt-cpu" && !b.has(t.name) {
			b.rows = append(b.rows, row{Name: t.name, Unit: t.unit, Target: t.target})
		}
	}
	return fmt.Errorf("%s: %w", name, err)
}

// has reports whether the row has its line already.
func (b *bench) has(name string) bool {
	for _, r := range b.rows {
		if r.Name == name {
			return true
		}
	}
	return false
}

// memoryRow reads the service's peak RSS after the prompt and remind loads, beside the peak RSS
// of the plain server after its share of the prompt load.
func (b *bench) memoryRow(svc *service, plainRSS int64) error {
	rss, err := peakRSS(svc.cmd.Process.Pid)
	if err != nil {
		return err
	}
	mb := func(n int64) float64 { return float64(n) / (1 << 20) }
	// What is resident now, by kind: the binary's own pages (file) and the heaps (anonymous: Go's
	// and C's, SQLite's included). Not the peak's split, which /proc does not keep, but its shape.
	anon, _ := statusKB(svc.cmd.Process.Pid, "RssAnon")
	file, _ := statusKB(svc.cmd.Process.Pid, "RssFile")
	say("memory: serve VmHWM %.1f MB, now %.1f MB anonymous and %.1f MB file-backed (plain server %.1f MB)",
		mb(rss), mb(anon), mb(file), mb(plainRSS))
	b.rows = append(b.rows, row{Name: "memory", Value: mb(rss), Baseline: mb(plainRSS), Unit: "MB",
		Ratio: ratio(float64(rss), float64(plainRSS))}.judged(mb(rss), true))
	return nil
}

// countRows runs a count query on a database file (or a PostgreSQL database) through a
// read-only connection.
func countRows(path, query string, args ...any) (int, error) {
	var db *sql.DB
	var err error
	if postgres.IsURL(path) {
		db, err = postgres.Open(path, postgres.Options{ReadOnly: true})
	} else {
		db, err = sql.Open("sqlite3", "file:"+path+"?"+url.Values{"_query_only": {"on"}, "_busy_timeout": {"10000"}}.Encode())
	}
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	err = db.QueryRow(query, args...).Scan(&n)
	return n, err
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// checkpoint folds a database's WAL into its main file.
func checkpoint(path string) error {
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return err
	}
	_, err = db.Exec(`PRAGMA journal_mode=DELETE`)
	return err
}
