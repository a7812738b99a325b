package sqlite

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"

	"github.com/pledge-news/pledge/internal/testkit"
)

// FilesContaining returns the database's files (the database, its -wal and -shm) whose bytes
// hold needle in any ASCII case.
func filesContaining(t *testing.T, path, needle string) []string {
	t.Helper()
	var out []string
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(bytes.ToLower(b), []byte(strings.ToLower(needle))) {
			out = append(out, filepath.Base(p))
		}
	}
	return out
}

// TestEraseLeavesNothingInTheFiles (issue 13, item 1): after an erasure, with the store still
// open (a running server), no copy of the address or the name is left in the database file, its
// write-ahead log or its shared-memory file; nor, shortly after, of an address a served
// reminder dropped.
func TestEraseLeavesNothingInTheFiles(t *testing.T) {
	testkit.SQLiteOnly(t, "reads SQLite's database, WAL and shared-memory files")
	ctx := context.Background()
	db := openTestDB(t)
	if err := db.Seed(ctx, SeedOptions{Donations: 300, Rand: 5}); err != nil {
		t.Fatal(err)
	}
	const addr, name = "Hidden.Reader@Example.org", "Hedda Hiddensen"
	for i := 0; i < 20; i++ { // many versions of the pages in the log
		exec(t, db, `INSERT OR REPLACE INTO supporters (id, stripe_customer_id, email, email_key, name, created_at, updated_at)
			VALUES (9100, 'cus_hidden', ?, lower(?), ?, ?, ?)`, addr, addr, name, i, i)
		exec(t, db, `INSERT OR REPLACE INTO customers (stripe_customer_id, supporter_id, email, email_at, name, name_at)
			VALUES ('cus_hidden', 9100, ?, ?, ?, ?)`, addr, i, name, i)
	}
	exec(t, db, `INSERT INTO donations (supporter_id, frequency, amount, currency, status, paid_at, created_at, updated_at)
		VALUES (9100, 'once', 1500, 'eur', 'succeeded', 100, 100, 100)`)
	if _, err := db.Defer(ctx, &pledge.Deferral{ReaderID: "rd_hidden", Choice: pledge.ChoiceWeek, Email: addr}); err != nil {
		t.Fatal(err)
	}
	if got := filesContaining(t, db.Path, addr); len(got) == 0 {
		t.Fatal("the address is in none of the files before the erasure: the scan is broken")
	}
	if _, err := db.EraseEmail(ctx, "cli", addr); err != nil {
		t.Fatal(err)
	}
	for _, needle := range []string{addr, name, "hidden.reader", "Hiddensen"} {
		if got := filesContaining(t, db.Path, needle); len(got) > 0 {
			t.Errorf("after the erasure %q is still in %v", needle, got)
		}
	}

	// A reminder that has served drops its address: gone from the files soon after.
	const served = "served.reader@example.net"
	d, err := db.Defer(ctx, &pledge.Deferral{ReaderID: "rd_served", Choice: pledge.ChoiceWeek, Email: served})
	if err != nil {
		t.Fatal(err)
	}
	db.Now = func() time.Time { return d.RemindAt.Add(time.Minute) }
	due, err := db.ClaimDueReminders(ctx, "tok", 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("claimed %d reminders (%v), want 1", len(due), err)
	}
	if err := db.MarkReminderSent(ctx, due[0]); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(filesContaining(t, db.Path, served)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("5 s after the reminder was sent its address is still in %v", filesContaining(t, db.Path, served))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDatabaseFilesAreTheOwners (issue 13, item 1): a new database and its directory are for
// its owner alone, and the store refuses to open one that every local user can read, naming the
// file and the fix.
func TestDatabaseFilesAreTheOwners(t *testing.T) {
	testkit.SQLiteOnly(t, "the modes of SQLite's files and directory")
	ctx := context.Background()
	base := t.TempDir()
	dir := filepath.Join(base, "var")
	path := filepath.Join(dir, "pledge.db")
	db := openTestDB(t, atDSN(path))
	if _, err := db.Secret(ctx); err != nil { // a write: the -wal and -shm files exist
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(p), got, want)
		}
	}
	db.Close()

	// The test's temporary directory keeps others out; open it up, as a home directory or a
	// Docker volume's parent may be.
	for p := base; p != os.TempDir() && p != "/"; p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		chmod   string
		mode    os.FileMode
		dirMode os.FileMode // others may enter, to reach the file
		fix     string
	}{
		{path, 0o644, 0o711, "chmod 600 " + path},
		{dir, 0o755, 0o755, "chmod 700 " + dir},
	} {
		if err := os.Chmod(dir, tc.dirMode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(tc.chmod, tc.mode); err != nil {
			t.Fatal(err)
		}
		err := NewDB(path).Open(ctx)
		if err == nil || !strings.Contains(err.Error(), tc.fix) {
			t.Errorf("open with %s at %v: %v, want a refusal saying %q", filepath.Base(tc.chmod), tc.mode, err, tc.fix)
		}
		os.Chmod(tc.chmod, map[string]os.FileMode{path: 0o600, dir: 0o700}[tc.chmod])
	}
	again := NewDB(path)
	if err := again.Open(ctx); err != nil {
		t.Fatalf("open once fixed: %v", err)
	}
	again.Close()
}
