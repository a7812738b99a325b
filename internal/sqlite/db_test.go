package sqlite

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/testkit"
)

// openTestDB opens a store, by default a fresh one of the test's own (testkit.StoreDSN), and
// closes it when the test ends (a test may close it sooner: Close twice is harmless). It is the
// package's one way to open a store in a test; the stores outside it use storetest.Open.
func openTestDB(t testing.TB, opts ...dbOption) *DB {
	t.Helper()
	dsn := ""
	for _, o := range opts {
		if o.dsn != "" {
			dsn = o.dsn
		}
	}
	if dsn == "" {
		dsn = testkit.StoreDSN(t)
	}
	db := NewDB(dsn)
	for _, o := range opts {
		if o.set != nil {
			o.set(db)
		}
	}
	if err := db.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// dbOption changes the store openTestDB opens: where it is, or a field set before Open.
type dbOption struct {
	dsn string
	set func(*DB)
}

// atDSN opens the store at dsn (a second handle, or one the test reopens) instead of a fresh one.
func atDSN(dsn string) dbOption { return dbOption{dsn: dsn} }

// withSealer opens the store with s as its data key(s).
func withSealer(s Sealer) dbOption { return dbOption{set: func(db *DB) { db.Sealer = s }} }

func TestPragmasOnEveryConnection(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	if db.pg {
		// PostgreSQL's counterpart of the pragmas: every reader connection is read-only.
		var conns []interface{ Close() error }
		for i := 0; i < 4; i++ {
			conn, err := db.read.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, conn)
			var ro, iso string
			if err := conn.QueryRowContext(ctx, `SELECT current_setting('default_transaction_read_only'),
				current_setting('default_transaction_isolation')`).Scan(&ro, &iso); err != nil {
				t.Fatal(err)
			}
			if ro != "on" || iso != "repeatable read" {
				t.Errorf("reader conn %d: default_transaction_read_only=%s default_transaction_isolation=%s", i, ro, iso)
			}
		}
		for _, c := range conns {
			c.Close()
		}
		if _, err := db.read.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('x', 'y')`); err == nil {
			t.Error("the reader pool accepted a write")
		}
		return
	}
	// Hold several reader connections at once so the pool must open distinct ones.
	var conns []interface{ Close() error }
	for i := 0; i < 4; i++ {
		conn, err := db.read.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		var fk, busy int
		var mode string
		if err := conn.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if fk != 1 || busy < 5000 || mode != "wal" {
			t.Errorf("reader conn %d: foreign_keys=%d busy_timeout=%d journal_mode=%s", i, fk, busy, mode)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	var sync int
	if err := db.write.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if sync != 2 { // FULL
		t.Errorf("writer synchronous = %d, want 2 (FULL)", sync)
	}
	var secure int
	if err := db.write.QueryRowContext(ctx, `PRAGMA secure_delete`).Scan(&secure); err != nil || secure != 1 {
		t.Errorf("writer secure_delete = %d (%v), want 1: erased addresses must not linger in free pages", secure, err)
	}
	if _, err := db.read.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('x', 'y')`); err == nil {
		t.Error("the reader pool accepted a write")
	}
}

func TestMigrateTwiceIsNoOp(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	v1, err := db.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := db.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v1 != v2 || v1 < 1 {
		t.Fatalf("versions %d then %d", v1, v2)
	}
	if err := db.Ready(ctx); err != nil {
		t.Fatalf("Ready after migrate: %v", err)
	}
}

// TestServingWriterIsNotTheMigratingOne: the writer connection that serves is not the one that
// ran the migrations on a new file (SQLite's total_changes() counts the rows a connection has
// changed since it opened), so the statements the start-up prepared, which the driver's cache
// keeps for the connection's life, are not kept while serving.
func TestServingWriterIsNotTheMigratingOne(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t, atDSN(filepath.Join(t.TempDir(), "new.db")))
	if v, err := db.Migrate(ctx); err != nil || v < 1 {
		t.Fatalf("Migrate = %d, %v", v, err)
	}
	// Migrate found nothing to do; the connection changed no row before it.
	var changed int
	if err := db.write.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&changed); err != nil {
		t.Fatal(err)
	}
	if changed != 0 {
		t.Errorf("the serving writer connection has changed %d rows: it ran the migrations", changed)
	}
	if err := db.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
}

func TestFailingMigrationLeavesDatabaseAsItWas(t *testing.T) {
	path := testkit.StoreDSN(t)
	ctx := context.Background()
	db := openTestDB(t, atDSN(path))
	before, _ := db.Migrate(ctx)
	db.Close()

	// The real migrations plus one that creates a table and then fails.
	fsys := fstest.MapFS{}
	entries, _ := fs.ReadDir(db.migr, ".")
	for _, e := range entries {
		b, _ := fs.ReadFile(db.migr, e.Name())
		fsys[e.Name()] = &fstest.MapFile{Data: b}
	}
	fsys["9999_broken.sql"] = &fstest.MapFile{Data: []byte(
		"-- +goose Up\nCREATE TABLE half_done (id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n-- +goose Down\nDROP TABLE half_done;\n")}
	broken := NewDB(path)
	broken.migr = fsys
	if err := broken.Open(ctx); err == nil {
		t.Fatal("Open with a broken migration succeeded")
	}
	broken.Close()

	db = openTestDB(t, atDSN(path))
	after, _ := db.Migrate(ctx)
	if after != before {
		t.Errorf("version after failed migration = %d, want %d", after, before)
	}
	if left, err := db.tableExists(ctx, "half_done"); err != nil || left {
		t.Error("the failed migration left its table behind")
	}
}

func TestCreateCheckoutIsIdempotentByNonce(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	db.Now = func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
	in := &pledge.Checkout{Nonce: "n1", Frequency: pledge.Monthly, Amount: pledge.Money{Amount: 500, Currency: "usd"}, Article: "https://news.example/a"}

	// Concurrent double submits: one row, one ID.
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := db.CreateCheckout(ctx, in)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = c.ID
		}()
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("double submit made distinct checkouts: %v", ids)
		}
	}
	var n int
	db.read.QueryRowContext(ctx, `SELECT count(*) FROM checkouts`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d checkout rows, want 1", n)
	}

	if err := db.OpenCheckout(ctx, ids[0], "cs_test_1", "https://checkout.stripe.com/c/pay/cs_test_1"); err != nil {
		t.Fatal(err)
	}
	got, err := db.FindCheckout(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != pledge.CheckoutOpen || got.StripeSessionID != "cs_test_1" || got.Amount.Amount != 500 ||
		got.Frequency != pledge.Monthly || !got.CreatedAt.Equal(db.Now()) {
		t.Errorf("stored checkout = %+v", got)
	}
	if _, err := db.FindCheckout(ctx, "co_missing"); pledge.ErrorCode(err) != pledge.ENOTFOUND {
		t.Errorf("FindCheckout(missing) error = %v, want ENOTFOUND", err)
	}
	if err := db.OpenCheckout(ctx, "co_missing", "cs_x", ""); pledge.ErrorCode(err) != pledge.ENOTFOUND {
		t.Errorf("OpenCheckout(missing) error = %v, want ENOTFOUND", err)
	}
}

// TestOpenCheckoutInOneCommit: a checkout stored with its Stripe session is open at once,
// keeps the ID it was given, is found by its nonce and its session, and (on SQLite, where its
// commit does not wait for the disk) leaves the writer connection durable for the next write,
// even when its transaction failed.
func TestOpenCheckoutInOneCommit(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	in := &pledge.Checkout{ID: "co_given", Nonce: "n-open", Frequency: pledge.Once, Amount: pledge.Money{Amount: 1000, Currency: "eur"},
		StripeSessionID: "cs_test_open", StripeURL: "https://checkout.stripe.com/c/pay/cs_test_open"}
	co, err := db.CreateCheckout(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if co.ID != "co_given" || co.Status != pledge.CheckoutOpen {
		t.Fatalf("stored %+v, want co_given, open", co)
	}
	for name, find := range map[string]func() (*pledge.Checkout, error){
		"nonce":   func() (*pledge.Checkout, error) { return db.FindCheckoutByNonce(ctx, "n-open") },
		"session": func() (*pledge.Checkout, error) { return db.FindCheckoutBySession(ctx, "cs_test_open") },
	} {
		got, err := find()
		if err != nil || got.ID != "co_given" || got.Status != pledge.CheckoutOpen || got.StripeURL != in.StripeURL {
			t.Errorf("by %s: %+v %v", name, got, err)
		}
	}
	if _, err := db.FindCheckoutByNonce(ctx, "n-none"); pledge.ErrorCode(err) != pledge.ENOTFOUND {
		t.Errorf("FindCheckoutByNonce(unknown) error = %v, want ENOTFOUND", err)
	}
	// The same session under another nonce breaks a uniqueness rule: nothing is stored, and the
	// failed transaction too gives the writer back durable.
	dup := *in
	dup.ID, dup.Nonce = "co_dup", "n-dup"
	if got, err := db.CreateCheckout(ctx, &dup); err == nil && got.ID == "co_dup" {
		t.Fatalf("a second checkout with the same session was stored: %+v", got)
	}
	if db.pg {
		return // synchronous_commit is set for that one transaction (SET LOCAL)
	}
	var sync int
	if err := db.write.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
		t.Fatalf("writer synchronous = %d (%v) after an open checkout, want 2 (FULL)", sync, err)
	}
}

func TestSecretIsGeneratedOnceAndKept(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	a, err := db.Secret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.Secret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 32 || string(a) != string(b) {
		t.Fatalf("secret changed or has the wrong size: %d bytes", len(a))
	}
}

// The e-mail lookups that ignore case use the NOCASE index (migration 0007), not a scan of every
// supporter: the queries the code runs without a data key, findSupportAccount's (by e-mail, for
// "manage my support") and selectPerson's (a data request or an erasure by address), built by
// the same functions, and the staff list's search by an address's beginning.
func TestEmailLookupsUseNocaseIndex(t *testing.T) {
	testkit.SQLiteOnly(t, "SQLite's query plans and its NOCASE index (PostgreSQL indexes lower(email))")
	db := openTestDB(t)
	if db.Sealer != nil {
		t.Fatal("the test store has a data key: these are the lookups without one")
	}
	// Enough supporters that the planner, which estimates an unanalysed table's rows from its
	// pages, weighs the lookups as on a newsroom's ledger rather than on an empty table.
	ctx := context.Background()
	err := db.WriteGrouped(ctx, func(tx *Tx) error {
		for i := range 5000 {
			e := fmt.Sprintf("reader%d@example.com", i)
			if _, err := tx.ExecContext(ctx, `INSERT INTO supporters (stripe_customer_id, email, email_key, created_at, updated_at)
				VALUES (?, ?, ?, 0, 0)`, fmt.Sprint("cus_", i), e, db.addressKey(e)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	const email = "Ann@Example.com"
	where, args := db.addressMatch("supporters", "s", email)
	search, searchArgs := db.supportersQuery(pledge.SupporterFilter{Query: "ann@"})
	for name, q := range map[string]struct {
		sql  string
		args []any
		want string
	}{
		"manage": {supportAccountSQL(where), args, "INDEX supporters_email_nocase (email=?)"},
		"person": {db.personSQL(), []any{0, db.addressKey(email), email}, "INDEX supporters_email_nocase (email=?)"},
		"search": {search, searchArgs, "INDEX supporters_email_nocase (email>? AND email<?)"},
	} {
		plan := planOf(t, db.read, q.sql, q.args...)
		joined := strings.Join(plan, "\n")
		if !strings.Contains(joined, q.want) {
			t.Errorf("%s lookup does not use supporters_email_nocase (%s):\n%s", name, q.want, joined)
		}
		for _, step := range plan {
			if step == "SCAN s" || step == "SCAN supporters" {
				t.Errorf("%s lookup reads every supporter:\n%s", name, joined)
			}
		}
	}
}
