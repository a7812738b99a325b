package postgres

import "testing"

func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT * FROM t WHERE a = ? AND b = ?`, `SELECT * FROM t WHERE a = $1 AND b = $2`},
		{`WHERE id = ?1 OR (?2 <> '' AND email = ?3)`, `WHERE id = $1 OR ($2 <> '' AND email = $3)`},
		{`VALUES (?1, ?1, ?2)`, `VALUES ($1, $1, $2)`},
		// A bare ? takes one more than the largest number so far, as in SQLite.
		{`?2, ?, ?1, ?`, `$2, $3, $1, $4`},
		// Quoted strings, identifiers and comments keep their question marks.
		{`SELECT '?', "a?b", 'it''s ?' || ? -- why?
		 /* ? */ FROM t`, `SELECT '?', "a?b", 'it''s ?' || $1 -- why?
		 /* ? */ FROM t`},
		{`SELECT $$ ? $$, $x$ ? $x$, ?`, `SELECT $$ ? $$, $x$ ? $x$, $1`},
		{`LIKE '%\_seed%' ESCAPE '\' AND x = ?`, `LIKE '%\_seed%' ESCAPE '\' AND x = $1`},
		// Planner hints are SQLite's alone.
		{`FROM donations INDEXED BY donations_supporter_paid WHERE supporter_id = ?`,
			`FROM donations WHERE supporter_id = $1`},
		{`FROM supporter_totals t INDEXED BY supporter_totals_rank CROSS JOIN s`, `FROM supporter_totals t CROSS JOIN s`},
		{`FROM t NOT INDEXED WHERE`, `FROM t WHERE`},
		{`SELECT 'INDEXED BY x'`, `SELECT 'INDEXED BY x'`},
		// Scalar max and min; the aggregates stay.
		{`MIN(donations.paid_at, excluded.paid_at)`, `LEAST(donations.paid_at, excluded.paid_at)`},
		{`MAX(c.amount_refunded, COALESCE((SELECT SUM(r.amount) FROM refunds r WHERE r.x IN (1, 2)), 0))`,
			`GREATEST(c.amount_refunded, COALESCE((SELECT SUM(r.amount) FROM refunds r WHERE r.x IN (1, 2)), 0))`},
		{`max(paid_at), min(coalesce(a, b)), max(a, b, c)`, `max(paid_at), min(coalesce(a, b)), GREATEST(a, b, c)`},
		{`SELECT max(',')`, `SELECT max(',')`},
		{`x.max_amount, max_day(a, b)`, `x.max_amount, max_day(a, b)`},
		// SQLite's IS compares any two values.
		{`a IS NOT ? AND b IS ?`, `a IS DISTINCT FROM $1 AND b IS NOT DISTINCT FROM $2`},
		{`OLD.status IS 'lost'`, `OLD.status IS NOT DISTINCT FROM 'lost'`},
		{`a IS NULL AND b IS NOT NULL AND c IS TRUE AND d IS NOT DISTINCT FROM e`,
			`a IS NULL AND b IS NOT NULL AND c IS TRUE AND d IS NOT DISTINCT FROM e`},
		{`a is not
			?`, `a IS DISTINCT FROM
			$1`},
		// SQLite's negative LIMIT is none.
		{`ORDER BY id LIMIT ? OFFSET ?`, `ORDER BY id LIMIT NULLIF(GREATEST($1, -1), -1) OFFSET $2`},
		{`LIMIT 1`, `LIMIT 1`},
		// Already PostgreSQL's.
		{`SELECT $1, $2`, `SELECT $1, $2`},
	} {
		if got := Rebind(c.in); got != c.want {
			t.Errorf("Rebind(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestRebinderCaches(t *testing.T) {
	var r Rebinder
	q := `SELECT ?`
	if r.Rebind(q) != `SELECT $1` || r.Rebind(q) != `SELECT $1` {
		t.Fatal("wrong")
	}
	n := 0
	r.m.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Fatalf("%d entries, want 1", n)
	}
	if allocs := testing.AllocsPerRun(100, func() { r.Rebind(q) }); allocs > 0 {
		t.Errorf("a cached statement allocates %v times", allocs)
	}
}

func TestIsURL(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgres://127.0.0.1/x": true, "postgresql://u@h/db?sslmode=disable": true,
		"./var/pledge.db": false, "/data/postgres://x": false, "file:x.db": false,
	} {
		if IsURL(dsn) != want {
			t.Errorf("IsURL(%q) = %v", dsn, !want)
		}
	}
}

func FuzzRebind(f *testing.F) {
	f.Add(`SELECT '?' , ? , "?" -- ?`)
	f.Fuzz(func(t *testing.T, q string) {
		_ = Rebind(q) // never panics
	})
}
