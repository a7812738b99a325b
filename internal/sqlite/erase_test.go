package sqlite

import (
	"context"
	"strings"
	"testing"

	"github.com/pledge-news/pledge/internal/pledge"
)

// textColumnsContaining returns "table.column" for every text column of every table in which
// needle appears (case-insensitively).
func textColumnsContaining(t *testing.T, db *DB, needle string) []string {
	t.Helper()
	tablesQ, colsQ, instr := `SELECT name FROM sqlite_master WHERE type = 'table'`, `SELECT name, type FROM pragma_table_info(?)`, "instr"
	if db.pg {
		tablesQ = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
		colsQ = `SELECT column_name, CASE WHEN data_type IN ('text', 'character varying') THEN 'TEXT' ELSE data_type END
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?`
		instr = "strpos"
	}
	rows, err := db.read.Query(tablesQ)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var found []string
	scanned := 0
	for _, table := range tables {
		cols, err := db.read.Query(colsQ, table)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for cols.Next() {
			var name, typ string
			cols.Scan(&name, &typ)
			// Untyped columns (goose's, sqlite_sequence) may hold text as well.
			if typ == "" || strings.Contains(strings.ToUpper(typ), "TEXT") || strings.Contains(strings.ToUpper(typ), "CHAR") {
				names = append(names, name)
			}
		}
		cols.Close()
		for _, col := range names {
			scanned++
			var n int
			q := `SELECT count(*) FROM "` + table + `" WHERE ` + instr + `(lower(CAST("` + col + `" AS TEXT)), lower(?)) > 0`
			if err := db.read.QueryRow(q, needle).Scan(&n); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if n > 0 {
				found = append(found, table+"."+col)
			}
		}
	}
	if scanned < 20 {
		t.Fatalf("scanned only %d text columns: the scan is broken", scanned)
	}
	return found
}

func TestEraseLeavesNoCopyOfTheAddress(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	if err := db.Seed(ctx, SeedOptions{Donations: 300, Rand: 3}); err != nil {
		t.Fatal(err)
	}
	const addr = "Erase.Me@Example.org"
	exec(t, db, `INSERT INTO supporters (id, stripe_customer_id, email, name, created_at, updated_at) VALUES (9001, 'cus_erase', ?, 'Erin Example', 1, 1)`, addr)
	exec(t, db, `INSERT INTO supporters (id, stripe_customer_id, email, name, created_at, updated_at) VALUES (9002, 'cus_erase2', ?, 'Erin E.', 1, 1)`, strings.ToLower(addr))
	exec(t, db, `INSERT INTO donations (supporter_id, frequency, amount, currency, status, paid_at, created_at, updated_at) VALUES (9001, 'once', 1234, 'gbp', 'succeeded', 100, 100, 100)`)
	exec(t, db, `INSERT INTO deferrals (reader_id, choice, remind_at, email, reminder_status, created_at, updated_at) VALUES ('rd_e1', 'week', 5, ?, 'pending', 1, 1)`, strings.ToUpper(addr))
	exec(t, db, `INSERT INTO deferrals (reader_id, choice, remind_at, email, reminder_status, created_at, updated_at) VALUES ('rd_e2', 'month', 5, ?, 'sent', 1, 1)`, addr)
	if got := textColumnsContaining(t, db, addr); len(got) == 0 {
		t.Fatal("the scan does not find the address before erasure")
	}
	n, err := db.EraseEmail(ctx, "cli", addr)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("erased %d supporters, want 2", n)
	}
	if got := textColumnsContaining(t, db, addr); len(got) > 0 {
		t.Errorf("the address is still in %v", got)
	}
	var amount, erasedAt int64
	var name string
	if err := db.read.QueryRow(`SELECT d.amount, s.erased_at, s.name FROM donations d JOIN supporters s ON s.id = d.supporter_id WHERE s.id = 9001`).Scan(&amount, &erasedAt, &name); err != nil {
		t.Fatal(err)
	}
	if amount != 1234 || erasedAt == 0 || name != "" {
		t.Errorf("after erasure: amount %d, erased_at %d, name %q; want 1234, set, empty", amount, erasedAt, name)
	}
	var deferrals int
	db.read.QueryRow(`SELECT count(*) FROM deferrals WHERE reader_id IN ('rd_e1', 'rd_e2')`).Scan(&deferrals)
	if deferrals != 0 {
		t.Errorf("%d deferrals of the address remain", deferrals)
	}
	log, err := db.AuditLog(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].Action != "erase" || log[0].Actor != "cli" || !strings.Contains(log[0].Subject, "supporter 9001") {
		t.Errorf("audit log = %+v", log)
	}
}

func TestEraseSupporterByID(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	exec(t, db, `INSERT INTO supporters (id, email, name, created_at, updated_at) VALUES (7, 'ann@example.net', 'Ann', 1, 1)`)
	exec(t, db, `INSERT INTO deferrals (reader_id, choice, remind_at, email, created_at, updated_at) VALUES ('rd_1', 'week', 5, 'ann@example.net', 1, 1)`)
	if err := db.EraseSupporter(ctx, "admin@news.example", 7); err != nil {
		t.Fatal(err)
	}
	if got := textColumnsContaining(t, db, "ann@example.net"); len(got) > 0 {
		t.Errorf("the address is still in %v", got)
	}
	if err := db.EraseSupporter(ctx, "admin@news.example", 8); pledge.ErrorCode(err) != pledge.ENOTFOUND {
		t.Errorf("erasing a missing supporter: %v, want ENOTFOUND", err)
	}
}

// TestEraseSupporterLeavesOtherRecordsOfTheAddress: Checkout runs with
// customer_creation=always and no `customer`, so every one-off gift makes a new Stripe customer
// and a new supporters row with the same address. The staff UI's erasure (by id) anonymises one
// row and leaves the address in the others; `pledge erase EMAIL` (EraseEmail) gets them all.
func TestEraseSupporterLeavesOtherRecordsOfTheAddress(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	exec(t, db, `INSERT INTO supporters (id, stripe_customer_id, email, name, created_at, updated_at) VALUES (11, 'cus_a', 'dana@example.net', 'Dana', 1, 1)`)
	exec(t, db, `INSERT INTO supporters (id, stripe_customer_id, email, name, created_at, updated_at) VALUES (12, 'cus_b', 'Dana@example.net', 'Dana', 2, 2)`)
	if err := db.EraseSupporter(ctx, "admin@news.example", 11); err != nil {
		t.Fatal(err)
	}
	if got := textColumnsContaining(t, db, "dana@example.net"); len(got) > 0 {
		t.Errorf("after the staff area's erasure the address is still in %v", got)
	}
}
