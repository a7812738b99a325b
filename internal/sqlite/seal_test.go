package sqlite

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/seal"
	"github.com/pledge-news/pledge/internal/testkit"
)

func newSealer(t *testing.T, keys ...*seal.Key) *seal.Sealer {
	t.Helper()
	s, err := seal.New(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newKey(t *testing.T) *seal.Key {
	t.Helper()
	k, err := seal.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func exportedSupporters(t *testing.T, db *DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	if err := db.EachSupporter(context.Background(), pledge.ExportFilter{}, func(s *pledge.SupporterRecord) error {
		if s.Email != "" {
			out[s.Email] = s.Name
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSealedAtRest (issue 13, item 2): a database written without a data key is sealed when it is
// opened with one; from then on no address or name is in any of its files (database, WAL, SHM),
// while exports, look-ups by address, reminders' one-per-address rule and erasure by address
// work as before. Without the key the database is refused.
func TestSealedAtRest(t *testing.T) {
	ctx := context.Background()
	path := testkit.StoreDSN(t)
	const addr, name, remind = "Sealed.Reader@Example.org", "Selma Sealington", "Later.Reader@Example.net"

	db := openTestDB(t, atDSN(path))
	if err := db.Seed(ctx, SeedOptions{Donations: 200, Rand: 9}); err != nil {
		t.Fatal(err)
	}
	exec(t, db, `INSERT INTO supporters (id, stripe_customer_id, email, email_key, name, created_at, updated_at)
		VALUES (9200, 'cus_sealed', ?, lower(?), ?, 1, 1)`, addr, addr, name)
	exec(t, db, `INSERT INTO customers (stripe_customer_id, supporter_id, email, email_at, name, name_at)
		VALUES ('cus_sealed', 9200, ?, 1, ?, 1)`, addr, name)
	if _, err := db.Defer(ctx, &pledge.Deferral{ReaderID: "rd_sealed", Choice: pledge.ChoiceWeek, Email: remind}); err != nil {
		t.Fatal(err)
	}
	plain := exportedSupporters(t, db)
	if len(plain) < 10 || plain[addr] != name {
		t.Fatalf("export before sealing: %d supporters, %q", len(plain), plain[addr])
	}
	if got := copiesIn(t, db, path, addr); len(got) == 0 {
		t.Fatal("the address is in no file before sealing: the scan is broken")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	k1 := newKey(t)
	db = openTestDB(t, atDSN(path), withSealer(newSealer(t, k1)))
	defer func() { db.Close() }()
	needles := []string{addr, name, remind, "example.com"} // every seeded address is on example.com
	for _, n := range needles {
		if got := copiesIn(t, db, path, n); len(got) > 0 {
			t.Errorf("%q is in %v after sealing", n, got)
		}
	}
	if got := exportedSupporters(t, db); len(got) != len(plain) || got[addr] != name {
		t.Fatalf("export after sealing: %d supporters (want %d), %q", len(got), len(plain), got[addr])
	}
	a, err := db.FindSupportAccount(ctx, strings.ToUpper(addr))
	if err != nil || a.SupporterID != 9200 || a.Email != addr {
		t.Fatalf("FindSupportAccount: %+v %v", a, err)
	}
	list, err := db.ListSupporters(ctx, pledge.SupporterFilter{Query: strings.ToLower(addr)})
	if err != nil || len(list) != 1 || list[0].Email != addr || list[0].Name != name {
		t.Fatalf("search by the whole address: %+v %v", list, err)
	}
	if list, _ := db.ListSupporters(ctx, pledge.SupporterFilter{Query: "sealed."}); len(list) != 0 {
		t.Fatalf("a prefix search found %d: sealed addresses are found whole only", len(list))
	}
	// One reminder waiting per address, in any case, by its keyed hash.
	d2, err := db.Defer(ctx, &pledge.Deferral{ReaderID: "rd_sealed2", Choice: pledge.ChoiceMonth, Email: strings.ToUpper(remind)})
	if err != nil {
		t.Fatal(err)
	}
	if d2.Email != strings.ToUpper(remind) {
		t.Fatalf("deferral read back: %q", d2.Email)
	}
	if n := countWhere(t, db, `deferrals WHERE reminder_status = 'pending' AND reader_id LIKE 'rd_sealed%'`); n != 1 {
		t.Fatalf("%d reminders pending for one address, want 1", n)
	}
	// A new customer of the same address joins its supporter (grouping by keyed hash).
	tx, err := db.BeginTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sid, err := linkCustomer(ctx, tx, pledge.Customer{StripeID: "cus_sealed_b", Email: strings.ToLower(addr), Name: name}, 10, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if sid != int64(9200) {
		t.Fatalf("the same address in another case made supporter %v, want 9200", sid)
	}
	for _, n := range needles {
		if got := copiesIn(t, db, path, n); len(got) > 0 {
			t.Errorf("%q is in %v after new writes", n, got)
		}
	}
	if n, err := db.EraseEmail(ctx, "test", strings.ToLower(addr)); err != nil || n != 1 {
		t.Fatalf("erase by address: %d %v", n, err)
	}
	if _, err := db.FindSupportAccount(ctx, addr); pledge.ErrorCode(err) != pledge.ENOTFOUND {
		t.Fatalf("after erasure: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Without the key: refused, naming the variable.
	bare := NewDB(path)
	if err := bare.Open(ctx); !errors.Is(err, ErrNeedKey) {
		t.Fatalf("opened without the key: %v", err)
	}
	bare.Close()
	// With another key: refused too (nothing can be opened).
	other := NewDB(path)
	other.Sealer = newSealer(t, newKey(t))
	if err := other.Open(ctx); err == nil || !strings.Contains(err.Error(), k1.ID) {
		t.Fatalf("opened with another key: %v", err)
	}
	other.Close()
}

func countWhere(t *testing.T, db *DB, from string) int {
	t.Helper()
	var n int
	if err := db.read.QueryRow(`SELECT count(*) FROM ` + from).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRotationInterruptedAndResumed: re-sealing under a new key commits batch by batch; stopped
// midway, every record is still readable (both keys loaded), and a second run finishes it, after
// which the new key alone reads everything and look-ups use the new keyed hashes.
func TestRotationInterruptedAndResumed(t *testing.T) {
	ctx := context.Background()
	path := testkit.StoreDSN(t)
	k1, k2 := newKey(t), newKey(t)
	db := openTestDB(t, atDSN(path), withSealer(newSealer(t, k1)))
	if err := db.Seed(ctx, SeedOptions{Donations: 400, Rand: 4}); err != nil {
		t.Fatal(err)
	}
	before := exportedSupporters(t, db)
	var someone string
	for e := range before {
		someone = e
		break
	}
	db.Close()

	// Rotation: the new key first, the old one still there to open what is left.
	// Open would finish the rotation itself; this test drives it batch by batch, so it opens the
	// store with the old key, then swaps in the rotating sealer.
	db = openTestDB(t, atDSN(path), withSealer(newSealer(t, k1)))
	db.Sealer = newSealer(t, k2, k1)
	stop, cancel := context.WithCancel(ctx)
	batches := 0
	n, err := db.SealAll(stop, 20, func(table string, rows int) {
		batches++
		if batches == 2 {
			cancel() // interrupted after two batches
		}
	})
	cancel()
	if !errors.Is(err, context.Canceled) || n != 40 {
		t.Fatalf("interrupted rotation: %d rows, %v; want 40 and context.Canceled", n, err)
	}
	if c1, c2 := countWhere(t, db, `supporters WHERE email LIKE 'enc:`+k1.ID+`:%'`),
		countWhere(t, db, `supporters WHERE email LIKE 'enc:`+k2.ID+`:%'`); c1 == 0 || c2 == 0 {
		t.Fatalf("after the interruption: %d under the old key, %d under the new; want both", c1, c2)
	}
	if got := exportedSupporters(t, db); len(got) != len(before) {
		t.Fatalf("midway, the export has %d supporters, want %d", len(got), len(before))
	}
	if _, err := db.SealAll(ctx, 20, nil); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = openTestDB(t, atDSN(path), withSealer(newSealer(t, k2)))
	for _, tbl := range []string{"supporters WHERE email", "supporters WHERE name", "customers WHERE email", "customers WHERE name", "deferrals WHERE email"} {
		if n := countWhere(t, db, tbl+` LIKE 'enc:`+k1.ID+`:%'`); n > 0 {
			t.Errorf("%s: %d values still under the old key", tbl, n)
		}
	}
	if n := countWhere(t, db, `supporters WHERE email_key LIKE 'h:`+k1.ID+`:%'`); n > 0 {
		t.Errorf("%d address keys still under the old key", n)
	}
	after := exportedSupporters(t, db)
	if len(after) != len(before) {
		t.Fatalf("after rotation %d supporters, want %d", len(after), len(before))
	}
	for e, n := range before {
		if after[e] != n {
			t.Fatalf("%s: name %q after rotation, want %q", e, after[e], n)
		}
	}
	if a, err := db.FindSupportAccount(ctx, strings.ToUpper(someone)); err != nil || a.Email != someone {
		t.Fatalf("look-up by address after rotation: %+v %v", a, err)
	}
}

// copiesIn returns where needle is stored in plain text: SQLite's files (the database, its
// write-ahead log and shared memory), or on PostgreSQL, whose files are the server's, every text
// column of every table.
func copiesIn(t *testing.T, db *DB, path, needle string) []string {
	t.Helper()
	if db.pg {
		return textColumnsContaining(t, db, needle)
	}
	return filesContaining(t, path, needle)
}
