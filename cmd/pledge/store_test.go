package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/pledge-news/pledge/internal/postgres"
)

// The end-to-end tests run on the store `make test` chooses (PLEDGE_TEST_STORE): every test that
// goes through the store takes its PLEDGE_DB from testkit.StoreDSN (a fresh, empty store of
// the test's own: an SQLite file in a directory only this user can enter, or a PostgreSQL
// database dropped when the test ends), so that the PostgreSQL pass runs it on
// PostgreSQL. The tests about SQLite itself (its files) call testkit.SQLiteOnly and are listed
// in internal/testkit/sqlite_only.txt, which the PostgreSQL pass leaves out.

// storeReader opens a read-only handle on the store at dsn, for tests that count rows with
// their own SQL (`?` placeholders work on both engines).
func storeReader(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if postgres.IsURL(dsn) {
		db, err = postgres.Open(dsn, postgres.Options{ReadOnly: true})
	} else {
		db, err = sql.Open("sqlite3", "file:"+dsn+"?mode=ro")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// waitForNone polls a count query on db until it gives 0, and fails the test, saying what is
// left, when it still does not after 10 s.
func waitForNone(t testing.TB, db *sql.DB, countQuery, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		var n int
		if err := db.QueryRow(countQuery).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %s after 10 s", n, what)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition
	}
}

// storeContents returns everything the store at dsn holds, by part, for tests that look for
// readers' data in plain text: on SQLite the bytes of the database file, its write-ahead log and
// its shared-memory file (named by their suffix: "pledge.db", "-wal", "-shm"); on PostgreSQL,
// whose files are the server's, the text of every row of every table (named by the table).
func storeContents(t testing.TB, dsn string) map[string][]byte {
	t.Helper()
	parts := map[string][]byte{}
	if !postgres.IsURL(dsn) {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			b, err := os.ReadFile(dsn + suffix)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			name := suffix
			if name == "" {
				name = filepath.Base(dsn)
			}
			parts[name] = b
		}
		return parts
	}
	db := storeReader(t, dsn)
	tables := storeTables(t, db, dsn)
	if len(tables) == 0 {
		t.Fatal("storeContents: the database has no tables")
	}
	for _, table := range tables {
		rows, err := db.Query(`SELECT r::text FROM "` + table + `" r`)
		if err != nil {
			t.Fatal(err)
		}
		var all []byte
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			all = append(append(all, s...), '\n')
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		parts[table] = all
	}
	return parts
}

// storeSize is the size of the store at dsn: the SQLite file's, or the PostgreSQL database's.
func storeSize(t testing.TB, dsn string) int64 {
	t.Helper()
	if !postgres.IsURL(dsn) {
		info, err := os.Stat(dsn)
		if err != nil {
			t.Fatal(err)
		}
		return info.Size()
	}
	var n int64
	if err := storeReader(t, dsn).QueryRow(`SELECT pg_database_size(current_database())`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// storeTables lists the tables of the store at dsn (db is storeReader's handle on it), sorted.
func storeTables(t testing.TB, db *sql.DB, dsn string) []string {
	t.Helper()
	list := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if postgres.IsURL(dsn) {
		list = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	rows, err := db.Query(list)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(tables)
	return tables
}
