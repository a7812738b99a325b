package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pledge-news/pledge/internal/postgres"
	"github.com/pledge-news/pledge/migrations"
)

// dashboardRow: the 90-day staff dashboard on a database with o.Donations seeded donations,
// server time p50, against one full scan of the donations table on the same file.
func (b *bench) dashboardRow(ctx context.Context) error {
	cached, err := b.seeded(ctx)
	if err != nil {
		return err
	}
	db := filepath.Join(b.dir, "dashboard.db")
	if err := copyFile(db, cached); err != nil {
		return err
	}
	scan := func() error {
		n, err := countRows(db, `SELECT count(*) FROM (SELECT count(*), sum(amount) FROM donations)`)
		if err == nil && n != 1 {
			err = fmt.Errorf("%d rows", n)
		}
		return err
	}
	return b.measureDashboard(ctx, "dashboard", "serve-dashboard", db, scan)
}

// measureDashboard adds a staff member to db, starts the service on it, and measures the p50 of
// the dashboard page against the p50 of scan (one full scan of the donations table).
func (b *bench) measureDashboard(ctx context.Context, name, proc, db string, scan func() error) error {
	const email, password = "bench-staff@example.com", "bench-password-0123456789"
	if err := b.pledgeCmd(ctx, db, password+"\n", "staff", "add", email, "--role", "admin"); err != nil {
		return fmt.Errorf("pledge staff add: %w", err)
	}
	svc, err := b.startService(proc, db)
	if err != nil {
		return err
	}
	defer svc.stop()
	hc, err := staffLogin(svc.base, email, password)
	if err != nil {
		return err
	}
	u := svc.base + b.o.DashboardPath
	var times []time.Duration
	via := "round trip on loopback"
	start := time.Now()
	for i := 0; (i < 5 || time.Since(start) < b.o.Dur) && i < 200 && ctx.Err() == nil; i++ {
		t := time.Now()
		resp, err := hc.Get(u)
		if err != nil {
			return err
		}
		rt := time.Since(t)
		body := readAll(resp)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s = %d: %.200s", b.o.DashboardPath, resp.StatusCode, body)
		}
		if st, ok := serverTiming(resp.Header.Get("Server-Timing")); ok {
			rt, via = st, "Server-Timing"
		}
		if i >= 2 { // the first requests warm the page cache and templates
			times = append(times, rt)
		}
	}
	var scans []time.Duration
	for i := 0; i < 7; i++ {
		t := time.Now()
		if err := scan(); err != nil {
			return fmt.Errorf("full scan: %v", err)
		}
		if i >= 2 {
			scans = append(scans, time.Since(t))
		}
	}
	n, _ := countRows(db, `SELECT count(*) FROM donations`)
	p50, scanP50 := quantile(times, 0.5), quantile(scans, 0.5)
	say("%s: %d donations; %s p50 %.2fms over %d requests (%s); full scan p50 %.2fms", name, n, b.o.DashboardPath, ms(p50), len(times), via, ms(scanP50))
	rt := ratio(ms(p50), ms(scanP50))
	b.rows = append(b.rows, row{Name: name, Value: ms(p50), Baseline: ms(scanP50), Unit: "ms",
		Ratio: rt}.judged(rt, len(times) > 0))
	return nil
}

// dashboardPGRow is the dashboard row on PostgreSQL: a copy of the cached seeded database, made
// for this run (CREATE DATABASE ... TEMPLATE) and dropped after it; the full scan runs on a
// connection of its own, as the dashboard's queries run on the service's readers.
func (b *bench) dashboardPGRow(ctx context.Context) error {
	cached, err := b.pgSeeded(ctx)
	if err != nil {
		return err
	}
	name := "pledge_bench_" + b.runID + "_dash"
	t := time.Now()
	if err := pgAdmin(ctx, "CREATE DATABASE "+name+" TEMPLATE "+pgDBName(cached)+" STRATEGY FILE_COPY"); err != nil {
		return err
	}
	db := postgres.AdminURL(name)
	defer pgDrop(db)
	say("dashboard-pg: copied the seeded database in %s", time.Since(t).Round(time.Millisecond))
	var conn *pgx.Conn
	if conn, err = pgx.Connect(ctx, db); err != nil {
		return err
	}
	defer conn.Close(context.Background())
	scan := func() error {
		var n, sum int64
		return conn.QueryRow(ctx, `SELECT count(*), coalesce(sum(amount), 0) FROM donations`).Scan(&n, &sum)
	}
	return b.measureDashboard(ctx, "dashboard-pg", "serve-pg-dashboard", db, scan)
}

// seeded returns the cached seeded database for the current schema, seeding it first when
// absent (var/bench/seed-<schema>-<n>.db; delete it to reseed).
func (b *bench) seeded(ctx context.Context) (string, error) {
	key, err := schemaKey()
	if err != nil {
		return "", err
	}
	path := filepath.Join(b.o.Dir, fmt.Sprintf("seed-%s-%d.db", key, b.o.Donations))
	if _, err := os.Stat(path); err == nil {
		say("dashboard: using the cached seeded database %s", path)
		return path, nil
	}
	tmp := path + ".tmp"
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(tmp + suffix)
	}
	say("dashboard: seeding %d donations into %s (cached for later runs)", b.o.Donations, path)
	t := time.Now()
	if err := b.pledgeCmd(ctx, tmp, "", "seed", "--donations", strconv.Itoa(b.o.Donations)); err != nil {
		return "", fmt.Errorf("pledge seed: %w", err)
	}
	// Fold the WAL into the file so the cache is one self-contained file.
	if _, err := countRows(tmp, `SELECT count(*) FROM donations`); err != nil {
		return "", err
	}
	if err := checkpoint(tmp); err != nil {
		return "", err
	}
	say("dashboard: seeded in %s", time.Since(t).Round(time.Second))
	// Seeds of older schemas are of no more use: drop them (each is some 600 MB).
	if old, _ := filepath.Glob(filepath.Join(b.o.Dir, "seed-*.db")); len(old) > 0 {
		for _, f := range old {
			if f != path {
				os.Remove(f)
			}
		}
	}
	return path, os.Rename(tmp, path)
}

// schemaKey names the schema: the newest migration's version and a hash of all of them.
func schemaKey() (string, error) {
	h := sha256.New()
	var names []string
	err := fs.WalkDir(migrations.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".sql") {
			names = append(names, p)
		}
		return err
	})
	if err != nil || len(names) == 0 {
		return "", fmt.Errorf("migrations: %v", err)
	}
	slices.Sort(names)
	for _, n := range names {
		b, _ := fs.ReadFile(migrations.FS, n)
		h.Write([]byte(n))
		h.Write(b)
	}
	version := strings.SplitN(filepath.Base(names[len(names)-1]), "_", 2)[0]
	return "v" + version + "-" + hex.EncodeToString(h.Sum(nil))[:8], nil
}

// pledgeCmd runs a pledge subcommand on db with stdin, its output in the run directory's log.
func (b *bench) pledgeCmd(ctx context.Context, db, stdin string, args ...string) error {
	cmd := exec.CommandContext(ctx, b.o.Pledge, args...)
	cmd.Env = append(os.Environ(), b.env("127.0.0.1:0", db)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return fmt.Errorf("%v: %s", err, lines[len(lines)-1])
	}
	return nil
}

var csrfField = regexp.MustCompile(`name="_csrf"\s+value="([^"]+)"|value="([^"]+)"\s+name="_csrf"`)

// staffLogin logs in through the staff login form and returns a client carrying the session.
func staffLogin(base, email, password string) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(base + "/staff/login")
	if err != nil {
		return nil, err
	}
	page := readAll(resp)
	m := csrfField.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		return nil, fmt.Errorf("GET /staff/login = %d, no _csrf field (has issue 6 landed?)", resp.StatusCode)
	}
	token := string(m[1]) + string(m[2])
	resp, err = hc.PostForm(base+"/staff/login", url.Values{"email": {email}, "password": {password}, "_csrf": {token}})
	if err != nil {
		return nil, err
	}
	body := readAll(resp)
	if resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("POST /staff/login = %d: %.200s", resp.StatusCode, body)
	}
	return hc, nil
}

// serverTiming reads the total duration from a Server-Timing header ("app;dur=12.3").
func serverTiming(h string) (time.Duration, bool) {
	var total float64
	found := false
	for _, part := range strings.Split(h, ",") {
		for _, p := range strings.Split(part, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "dur="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f > total {
					total, found = f, true
				}
			}
		}
	}
	return time.Duration(total * float64(time.Millisecond)), found
}
