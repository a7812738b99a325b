package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/seal"
	"github.com/pledge-news/pledge/internal/testkit"
)

// TestCopyMovesTheLedgerToPostgres: `pledge copy` moves a seeded, sealed SQLite ledger into a new
// PostgreSQL database: every table's rows arrive (the checkouts' daily rollup rebuilt by
// PostgreSQL's triggers to the same rows), `pledge export` and `pledge report` print the same
// bytes from both, a second copy into the now full database is refused and changes nothing,
// and bad arguments exit 2 naming the flag.
func TestCopyMovesTheLedgerToPostgres(t *testing.T) {
	dir := testkit.PrivateDir(t)
	key := filepath.Join(dir, "data.key")
	if _, err := seal.CreateKeyFile(key); err != nil {
		t.Fatal(err)
	}
	src, dst := filepath.Join(dir, "pledge.db"), testkit.PostgresDSN(t)
	vars := map[string]string{"PLEDGE_DATA_KEY_FILE": key, "PLEDGE_METRICS_ADDR": "off"}
	pledgeOn := func(db, stdin string, args ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := Run(context.Background(), args, strings.NewReader(stdin), &out, &errb, func(k string) string {
			if k == "PLEDGE_DB" {
				return db
			}
			return vars[k]
		})
		return code, out.String(), errb.String()
	}
	if code, _, stderr := pledgeOn(src, "", "seed", "--donations", "1500"); code != 0 {
		t.Fatalf("seed: exit %d: %s", code, stderr)
	}
	if code, _, stderr := pledgeOn(src, "a long enough passphrase\n", "staff", "add", "ed@news.example"); code != 0 {
		t.Fatalf("staff add: exit %d: %s", code, stderr)
	}

	code, stdout, stderr := pledgeOn("", "", "copy", "--from", src, "--to", dst)
	if code != 0 || !strings.Contains(stdout, "match byte for byte") {
		t.Fatalf("copy: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, "@news.example") {
		t.Errorf("copy printed an address: %s %s", stdout, stderr)
	}

	srcCounts, dstCounts := tableCounts(t, src), tableCounts(t, dst)
	if len(srcCounts) < 20 {
		t.Fatalf("the source has only %d tables: %v", len(srcCounts), srcCounts)
	}
	for table, n := range srcCounts {
		if table == "goose_db_version" {
			continue
		}
		if dstCounts[table] != n {
			t.Errorf("%s: %d rows in SQLite, %d in PostgreSQL", table, n, dstCounts[table])
		}
	}
	if srcCounts["donations"] < 1000 || srcCounts["staff"] != 1 {
		t.Errorf("the source ledger is not what was seeded: %v", srcCounts)
	}

	// What operators read, printed by each store, byte for byte.
	today := time.Now().UTC().Format("2006-01-02")
	for _, args := range [][]string{
		{"export", "donations"},
		{"export", "donations", "--format", "json"},
		{"export", "donations", "--with-variant"},
		{"export", "supporters"},
		{"report", "--from", "2000-01-01", "--to", today, "--format", "csv"},
		{"report", "--from", "2000-01-01", "--to", today},
	} {
		codeA, outA, errA := pledgeOn(src, "", args...)
		codeB, outB, errB := pledgeOn(dst, "", args...)
		if codeA != 0 || codeB != 0 {
			t.Fatalf("%v: exit %d (%s) and %d (%s)", args, codeA, errA, codeB, errB)
		}
		if len(outA) < 100 {
			t.Errorf("%v printed too little to compare: %q", args, outA)
		}
		if outA != outB {
			t.Errorf("%v differs between SQLite and PostgreSQL after the copy", args)
		}
	}

	// Into a database that holds a ledger: refused, nothing changed.
	code, _, stderr = pledgeOn("", "", "copy", "--from", src, "--to", dst)
	if code != 1 || !strings.Contains(stderr, "empty database") {
		t.Errorf("a second copy: exit %d, %q", code, stderr)
	}
	if again := tableCounts(t, dst); again["donations"] != dstCounts["donations"] || again["settings"] != dstCounts["settings"] {
		t.Errorf("the refused copy changed the target: %v, was %v", again, dstCounts)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"copy", "--to", dst}, "--from is required"},
		{[]string{"copy", "--from", src}, "--to is required"},
		{[]string{"copy", "--from", dst, "--to", dst}, "--from must be an SQLite file"},
		{[]string{"copy", "--from", src, "--to", filepath.Join(dir, "other.db")}, "--to must be a postgres:// URL"},
		{[]string{"copy", "--from", filepath.Join(dir, "missing.db"), "--to", dst}, "no such database file"},
		{[]string{"copy", "--bogus"}, "flag provided but not defined: -bogus"},
	} {
		code, _, stderr := pledgeOn("", "", tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, %q; want exit 2 and one line saying %q", tc.args[1:], code, stderr, tc.want)
		}
	}
	// -h prints the usage line once, then the flags.
	if code, stdout, stderr := pledgeOn("", "", "copy", "-h"); code != 0 || stdout != "" ||
		strings.Count(stderr, copyUsage) != 1 || !strings.HasPrefix(stderr, copyUsage+"\n") || !strings.Contains(stderr, "-from") {
		t.Errorf("copy -h: exit %d, %q %q; want exit 0 and the usage line once, then the flags", code, stdout, stderr)
	}
}

// tableCounts counts the rows of every table of the store at dsn.
func tableCounts(t *testing.T, dsn string) map[string]int {
	t.Helper()
	db := storeReader(t, dsn)
	out := map[string]int{}
	for _, table := range storeTables(t, db, dsn) {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}
