package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pledge-news/pledge/internal/postgres"
	"github.com/pledge-news/pledge/internal/sqlite"
)

// The rows on PostgreSQL. The server is PLEDGE_TEST_POSTGRES (a URL whose database the bench may
// connect to, to create and drop others), else the one on 127.0.0.1:5432, as the tests use. Every
// database the bench makes is named pledge_bench_..., created at the start of its row and dropped
// at its end, except the cached seeded one of the dashboard-pg row
// (pledge_bench_seed_<schema>_<donations>_<data key>), reused across runs and dropped when the
// schema or the data key changes.

const (
	pgEnv       = "PLEDGE_TEST_POSTGRES"
	pgDefault   = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	seedDBStart = "pledge_bench_seed_"
)

// pgRows are the rows measured on PostgreSQL, as -rows names them.
var pgRows = []string{"remind-pg", "webhook-pg", "dashboard-pg", "two-instance"}

// pgAdminURL is the URL the bench administers databases through.
func pgAdminURL() string {
	if u := os.Getenv(pgEnv); u != "" {
		return u
	}
	return pgDefault
}

// pgURL is the admin URL with another database.
func pgURL(db string) string {
	u, err := url.Parse(pgAdminURL())
	if err != nil {
		return pgAdminURL()
	}
	u.Path = "/" + db
	return u.String()
}

// pgDBName is the database a postgres:// URL names.
func pgDBName(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}

// pgAdmin runs statements on the administrative database.
func pgAdmin(ctx context.Context, stmts ...string) error {
	conn, err := pgx.Connect(ctx, pgAdminURL())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// pgCheck says whether the server answers, and why not.
func pgCheck(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pgAdmin(ctx, "SELECT 1"); err != nil {
		return fmt.Errorf("PostgreSQL does not answer at %s (%v); start one or set %s to a URL whose user may create databases",
			postgres.Redact(pgAdminURL()), err, pgEnv)
	}
	return nil
}

// pgCreate makes an empty database for this run and returns its URL; drop it with pgDrop.
func (b *bench) pgCreate(ctx context.Context, suffix string) (string, error) {
	name := "pledge_bench_" + b.runID + "_" + suffix
	if err := pgAdmin(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	return pgURL(name), nil
}

// pgDrop drops a database the bench made (after its services stopped).
func pgDrop(dsn string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := pgAdmin(ctx, "DROP DATABASE IF EXISTS "+pgDBName(dsn)+" WITH (FORCE)"); err != nil {
		say("could not drop %s: %v", pgDBName(dsn), err)
	}
}

// pgMainRows runs remind-pg and webhook-pg on one fresh service on a fresh database, each against
// raw inserts into a database of their own.
func (b *bench) pgMainRows(ctx context.Context) error {
	want := func(n string) bool { return b.o.want(n) }
	fail := func(err error) error {
		var errs []error
		for _, n := range []string{"remind-pg", "webhook-pg"} {
			if want(n) {
				errs = append(errs, b.failed(n, err))
			}
		}
		return errors.Join(errs...)
	}
	db, err := b.pgCreate(ctx, "main")
	if err != nil {
		return fail(err)
	}
	defer pgDrop(db)
	base, err := b.pgCreate(ctx, "base")
	if err != nil {
		return fail(err)
	}
	defer pgDrop(base)
	// The baseline's table is the service's own: migrate the baseline database first.
	if err := migrate(ctx, base); err != nil {
		return fail(err)
	}
	nCheckouts := 0
	if want("webhook-pg") {
		nCheckouts = 30000
		t := time.Now()
		if err := prepareCheckouts(ctx, db, b.runID, nCheckouts); err != nil {
			return fail(fmt.Errorf("prepare checkouts: %w", err))
		}
		say("webhook-pg: %d checkouts prepared in %s", nCheckouts, time.Since(t).Round(time.Millisecond))
	}
	svc, err := b.startService("serve-pg", db)
	if err != nil {
		return fail(err)
	}
	defer svc.stop()
	raw := func(ctx context.Context, round string) (*loadResult, error) { return b.pgRawInserts(ctx, base) }
	var errs []error
	if want("remind-pg") {
		errs = append(errs, b.failed("remind-pg", b.remindRow(ctx, svc, "remind-pg", raw)))
	}
	if want("webhook-pg") {
		errs = append(errs, b.failed("webhook-pg", b.webhookRow(ctx, svc, "webhook-pg", nCheckouts, raw)))
	}
	return errors.Join(errs...)
}

// migrate applies the store's migrations to a database.
func migrate(ctx context.Context, dsn string) error {
	db := sqlite.NewDB(dsn)
	if err := db.Open(ctx); err != nil {
		return err
	}
	return db.Close()
}

// pgRawInserts is the write baseline on PostgreSQL: single-row committed inserts of a deferral
// (BEGIN, INSERT, COMMIT), from as many connections as the load has, each goroutine on its own,
// through the driver the service uses (pgx's database/sql adapter with the store's rewriting), as
// a naive handler on a connection pool would do them. PostgreSQL shares the WAL flushes of
// concurrent commits by itself.
func (b *bench) pgRawInserts(ctx context.Context, dsn string) (*loadResult, error) {
	db, err := postgres.Open(dsn, postgres.Options{})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(b.o.Conns)
	db.SetMaxIdleConns(b.o.Conns)
	// Open the connections before the clock starts.
	var warm sync.WaitGroup
	for w := 0; w < b.o.Conns; w++ {
		warm.Add(1)
		go func() { defer warm.Done(); _ = db.PingContext(ctx) }()
	}
	warm.Wait()
	res := &loadResult{Codes: map[int]int{}, Errors: map[string]int{}}
	var mu sync.Mutex
	var seq atomic.Int64
	prefix := "rd_pgbase_" + randHex(4) + "_"
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < b.o.Conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < b.o.Dur && ctx.Err() == nil {
				t := time.Now()
				err := insertDeferralSQL(ctx, db, prefix+strconv.FormatInt(seq.Add(1), 10))
				mu.Lock()
				res.Total++
				if err != nil {
					res.Errors[err.Error()]++
				} else {
					res.OK++
					res.Latencies = append(res.Latencies, time.Since(t))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	return res, nil
}

func insertDeferralSQL(ctx context.Context, db *sql.DB, reader string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := time.Now().Unix()
	if _, err := tx.ExecContext(ctx, `INSERT INTO deferrals (reader_id, article, choice, remind_at, created_at, updated_at)
		VALUES (?, ?, 'week', ?, ?, ?)`, reader, benchArticle, now+7*86400, now, now); err != nil {
		return err
	}
	return tx.Commit()
}

// pgSeeded returns the URL of the cached seeded database for the current schema, donations and
// data key, seeding it first when absent. A seed in progress lives under a name ending in _tmp,
// renamed when complete, so a seed cut short is never taken for a cache; seeds of other schemas
// or keys are dropped when a new one is made.
func (b *bench) pgSeeded(ctx context.Context) (string, error) {
	key, err := schemaKey()
	if err != nil {
		return "", err
	}
	kb, err := os.ReadFile(b.keyFile)
	if err != nil {
		return "", err
	}
	kh := sha256.Sum256(kb)
	name := fmt.Sprintf("%s%s_%d_%s", seedDBStart, strings.ReplaceAll(key, "-", "_"), b.o.Donations, hex.EncodeToString(kh[:3]))
	var exists bool
	if err := pgQuery(ctx, pgAdminURL(), func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT count(*) > 0 FROM pg_database WHERE datname = $1`, name).Scan(&exists)
	}); err != nil {
		return "", err
	}
	if exists {
		say("dashboard-pg: using the cached seeded database %s", name)
		return pgURL(name), nil
	}
	// Seeds of older schemas or keys, and a seed cut short, are of no more use.
	var stale []string
	if err := pgQuery(ctx, pgAdminURL(), func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, seedDBStart)
		if err != nil {
			return err
		}
		stale, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	}); err != nil {
		return "", err
	}
	for _, s := range stale {
		say("dashboard-pg: dropping the stale seeded database %s", s)
		if err := pgAdmin(ctx, "DROP DATABASE IF EXISTS "+s+" WITH (FORCE)"); err != nil {
			return "", err
		}
	}
	tmp := name + "_tmp"
	if len(tmp) > 63 {
		return "", fmt.Errorf("database name %s is too long", tmp)
	}
	if err := pgAdmin(ctx, "CREATE DATABASE "+tmp); err != nil {
		return "", err
	}
	say("dashboard-pg: seeding %d donations into the PostgreSQL database %s (cached for later runs)", b.o.Donations, name)
	t := time.Now()
	if err := b.pledgeCmdProgress(ctx, "dashboard-pg", pgURL(tmp), "seed", "--donations", strconv.Itoa(b.o.Donations)); err != nil {
		pgDrop(pgURL(tmp))
		return "", fmt.Errorf("pledge seed: %w", err)
	}
	if err := pgAdmin(ctx, "ALTER DATABASE "+tmp+" RENAME TO "+name); err != nil {
		return "", err
	}
	say("dashboard-pg: seeded in %s", time.Since(t).Round(time.Second))
	return pgURL(name), nil
}

// pgQuery runs fn on a connection to dsn.
func pgQuery(ctx context.Context, dsn string, fn func(*pgx.Conn) error) error {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	return fn(c)
}

// pledgeCmdProgress runs a long pledge subcommand on db, printing the last line of its progress
// bar every 10 seconds.
func (b *bench) pledgeCmdProgress(ctx context.Context, row, db string, args ...string) error {
	cmd := exec.CommandContext(ctx, b.o.Pledge, args...)
	cmd.Env = append(os.Environ(), b.env("127.0.0.1:0", db)...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var mu sync.Mutex
	var last string
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Split(splitCRLF)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" {
				mu.Lock()
				last = l
				out.WriteString(l + "\n")
				mu.Unlock()
			}
		}
	}()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	stopTick := make(chan struct{})
	go func() {
		for {
			select {
			case <-tick.C:
				mu.Lock()
				l := last
				mu.Unlock()
				if l != "" {
					say("%s: %s", row, l)
				}
			case <-stopTick:
				return
			}
		}
	}()
	err := cmd.Run()
	pw.Close()
	<-done
	close(stopTick)
	if err != nil {
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		return fmt.Errorf("%v: %s", err, lines[len(lines)-1])
	}
	return nil
}

// splitCRLF splits a progress bar's output into its redraws (\r) and lines (\n).
func splitCRLF(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
