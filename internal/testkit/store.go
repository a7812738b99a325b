package testkit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3"

	"github.com/pledge-news/pledge/internal/postgres"
)

// The store tests run on either engine, chosen by PLEDGE_TEST_STORE:
//
//	PLEDGE_TEST_STORE=sqlite    (the default) a database file in the test's own 0700 directory
//	PLEDGE_TEST_STORE=postgres  a fresh PostgreSQL database per test, made from a migrated
//	                            template and dropped when the test ends
//
// PostgreSQL is PLEDGE_TEST_POSTGRES (a URL whose database the helper may connect to, to create
// and drop others), else postgres://postgres@127.0.0.1:5432/postgres. A run that asks for
// PostgreSQL and cannot reach it fails, saying how to get one: it never skips.

// StoreEnv, StorePostgresEnv and DefaultTestPostgres name the settings above.
const (
	StoreEnv            = "PLEDGE_TEST_STORE"
	StorePostgresEnv    = postgres.AdminEnv
	DefaultTestPostgres = postgres.DefaultAdminURL
)

// Store names the engine the store tests run on: "sqlite" or "postgres".
func Store() string {
	if os.Getenv(StoreEnv) == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// OnPostgres reports whether the store tests run on PostgreSQL.
func OnPostgres() bool { return Store() == "postgres" }

// sqliteOnlyList names the tests about SQLite itself: the PostgreSQL pass of `make test` leaves
// them out (go test -skip, built from this file), so that it runs no test that would skip.
//
//go:embed sqlite_only.txt
var sqliteOnlyList string

// SQLiteOnlyTests returns the names in sqlite_only.txt.
func SQLiteOnlyTests() []string {
	var names []string
	for _, line := range strings.Split(sqliteOnlyList, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			names = append(names, line)
		}
	}
	return names
}

// SQLiteOnly marks a test that is about SQLite itself (its files, pragmas, write-ahead log or
// its own migrations' history). The test must be listed in internal/testkit/sqlite_only.txt, so
// that the PostgreSQL pass of `make test` does not run it at all; run by hand on PostgreSQL, it
// explains itself and skips (and fails under CI=true, where no test may skip).
func SQLiteOnly(t testing.TB, why string) {
	t.Helper()
	top, _, _ := strings.Cut(t.Name(), "/")
	if !slices.Contains(SQLiteOnlyTests(), top) {
		t.Fatalf("testkit.SQLiteOnly: %s is not listed in internal/testkit/sqlite_only.txt: add it there, "+
			"so that the PostgreSQL pass of make test leaves it out (SQLite only: %s)", top, why)
	}
	if OnPostgres() {
		msg := fmt.Sprintf("SQLite only: %s. The PostgreSQL pass of make test leaves it out "+
			"(internal/testkit/sqlite_only.txt); run it without %s=postgres", why, StoreEnv)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (under CI=true no test may skip)")
		}
		t.Skip(msg)
	}
}

// StoreDSN returns what sqlite.NewDB takes for a fresh, empty store of this test, with the schema
// already migrated: a file path in a directory only this user can enter, holding a copy of the
// package's migrated SQLite template (sqliteTemplate), or the URL of a PostgreSQL database of its
// own, copied from the migrated template and dropped when the test ends.
func StoreDSN(t testing.TB) string {
	t.Helper()
	if OnPostgres() {
		return PostgresDSN(t)
	}
	tmpl, err := sqliteTemplate()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(PrivateDir(t), "pledge.db")
	if err := os.WriteFile(path, tmpl, 0o600); err != nil {
		t.Fatalf("testkit: copy the SQLite template: %v", err)
	}
	return path
}

// BareStoreDSN is StoreDSN for the tests of a store's first open: on SQLite a path in a directory
// only this user can enter where no file is yet, so that the store creates the file and applies
// every migration itself; on PostgreSQL, where a test's database can only come from the
// template, what StoreDSN returns.
func BareStoreDSN(t testing.TB) string {
	t.Helper()
	if OnPostgres() {
		return PostgresDSN(t)
	}
	return filepath.Join(PrivateDir(t), "pledge.db")
}

// PostgresDSN returns the URL of a fresh PostgreSQL database of this test's, with the schema
// migrated, dropped when the test ends, whichever engine the store tests run on: for tests that
// need both engines at once (pledge copy). An unreachable server fails the test, saying how to
// get one.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	tmpl, err := pgTemplate()
	if err != nil {
		t.Fatal(err)
	}
	return copyDatabase(t, tmpl)
}

// CloneStore returns a new PostgreSQL database made from the one dsn names (CREATE DATABASE ...
// TEMPLATE), dropped when the test ends: a copy of a prepared store for each run of a test, as
// SQLite's tests copy a file. Nothing may be connected to the source meanwhile (close its store
// first).
func CloneStore(t testing.TB, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || !postgres.IsURL(dsn) {
		t.Fatalf("testkit: CloneStore wants a postgres:// URL, got %q", postgres.Redact(dsn))
	}
	return copyDatabase(t, strings.TrimPrefix(u.Path, "/"))
}

// copyDatabase makes a new database of the test's from the database src (CREATE DATABASE ...
// TEMPLATE), dropped when the test ends, and returns its URL.
func copyDatabase(t testing.TB, src string) string {
	t.Helper()
	name := "pledge_t_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	for attempt := 0; ; attempt++ {
		err = pgAdmin(ctx, `CREATE DATABASE `+name+` TEMPLATE `+src)
		// 55006: the source's last connection is still going away.
		if err == nil || attempt == 50 || !strings.Contains(err.Error(), "55006") {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling a condition
	}
	if err != nil {
		t.Fatalf("testkit: copy database %s: %v", src, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := pgAdmin(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("testkit: drop database %s: %v", name, err)
		}
	})
	return postgres.AdminURL(name)
}

// PrivateDir returns a new directory for this test that only this user can enter (0700): the
// store refuses files that every local user could read.
func PrivateDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// pgAdmin runs one statement on the administrative database.
func pgAdmin(ctx context.Context, stmt string) error {
	conn, err := pgx.Connect(ctx, postgres.AdminURL(""))
	if err != nil {
		return unreachable(err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
}

func unreachable(err error) error {
	return fmt.Errorf("testkit: %s=postgres but PostgreSQL does not answer at %s (%v).\n"+
		"Start one (Debian: apt-get install postgresql, then pg_ctlcluster --skip-systemctl-redirect 15 main start),\n"+
		"or point %s at one: postgres://USER:PASSWORD@HOST:5432/postgres?sslmode=disable\n"+
		"(the user must be allowed to create databases). Or run the tests on SQLite: unset %s",
		StoreEnv, postgres.Redact(postgres.AdminURL("")), err, StorePostgresEnv, StoreEnv)
}

var (
	tmplOnce sync.Once
	tmplName string
	tmplErr  error
)

// pgTemplate returns the template database: the PostgreSQL migrations applied to an empty
// database. It is named by a hash of the migrations, so a package's tests make it once (the
// first that needs it) and later runs and other packages reuse it; templates of other schemas
// are dropped when a new one is made, once they are a day old (postgres.StaleDatabases).
func pgTemplate() (string, error) {
	tmplOnce.Do(func() { tmplName, tmplErr = makeTemplate() })
	return tmplName, tmplErr
}

func makeTemplate() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h := sha256.New()
	err := fs.WalkDir(postgres.Migrations, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(postgres.Migrations, p)
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return err
	})
	if err != nil {
		return "", err
	}
	name := "pledge_tmpl_" + hex.EncodeToString(h.Sum(nil))[:16]

	conn, err := pgx.Connect(ctx, postgres.AdminURL(""))
	if err != nil {
		return "", unreachable(err)
	}
	defer conn.Close(ctx)
	// Test packages run at once: one of them makes the template, the others wait for it.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(7364656474)`); err != nil {
		return "", err
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock(7364656474)`)
	var ready bool
	if err := conn.QueryRow(ctx, `SELECT count(*) > 0 FROM pg_database WHERE datname = $1 AND datistemplate`, name).Scan(&ready); err != nil {
		return "", err
	}
	if ready {
		return name, nil
	}
	stale, err := postgres.StaleDatabases(ctx, conn, "pledge_tmpl_", name, staleTemplateAge)
	if err != nil {
		return "", err
	}
	for _, s := range append(stale, name) {
		if _, err := conn.Exec(ctx, `ALTER DATABASE `+s+` WITH IS_TEMPLATE false`); err == nil {
			conn.Exec(ctx, `DROP DATABASE IF EXISTS `+s+` WITH (FORCE)`)
		}
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE template0 ENCODING 'UTF8'`); err != nil {
		return "", fmt.Errorf("testkit: create template: %w", err)
	}
	if err := migrateTemplate(ctx, postgres.AdminURL(name)); err != nil {
		conn.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
		return "", fmt.Errorf("testkit: migrate template: %w", err)
	}
	// Marked a template only once migrated: a run that died half way leaves a database that the
	// next run drops and makes again.
	if _, err := conn.Exec(ctx, `ALTER DATABASE `+name+` WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`); err != nil {
		return "", err
	}
	if err := postgres.MarkMade(ctx, conn, name); err != nil {
		return "", err
	}
	return name, nil
}

// staleTemplateAge is how long the template of another schema is kept (postgres.StaleDatabases).
const staleTemplateAge = 24 * time.Hour

func migrateTemplate(ctx context.Context, dsn string) error {
	db, err := postgres.Open(dsn, postgres.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, postgres.Migrations, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
