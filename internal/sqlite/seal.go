package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Sealer protects readers' personal data at rest: e-mail addresses and names in supporters,
// customers and deferrals are stored sealed, and looked up by a keyed hash of the normalised
// address (package seal implements it; cmd/pledge sets DB.Sealer from PLEDGE_DATA_KEY_FILE).
// Sealed values begin with "enc:" and the id of the key that sealed them, then a colon; a value
// without that marker was stored before sealing was turned on. With no Sealer, values are
// stored as given and the address key is the normalised address itself.
type Sealer interface {
	// Seal returns the stored form of a value; "" stays "".
	Seal(plain string) string
	// Open returns a stored value's plain text (a value without the marker as it is).
	Open(stored string) (string, error)
	// Index returns the keyed hash of a normalised address.
	Index(normalised string) string
	// KeyID returns the id of the key Seal and Index use.
	KeyID() string
}

// sealedMarker begins every sealed value.
const sealedMarker = "enc:"

// ErrNeedKey is returned when the database holds sealed data and no Sealer was given.
var ErrNeedKey = errors.New("store: the database holds encrypted readers' data: set PLEDGE_DATA_KEY_FILE to its key file")

// normalise is the form of an address that look-ups compare: trimmed, lower-cased.
func normalise(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// addressKey is the key supporters and reminder requests are grouped and found by: the keyed
// hash of the normalised address, or the normalised address itself without a Sealer.
func (db *DB) addressKey(email string) string {
	n := normalise(email)
	if db.Sealer == nil || n == "" {
		return n
	}
	return db.Sealer.Index(n)
}

// addressMatch is the condition and arguments that find the rows of table (supporters or
// deferrals, named alias in the query, or "" when it has none) of an address: by its address
// key (email_key) and, without a data key, also by the address itself (email) in any case (rows
// written by hand or before their table had a key column). The two lookups are a union, each on
// its own index: SQLite's planner (3.54) reads "key = ? OR email = ? COLLATE NOCASE" with a scan
// of the whole table, unanalysed, however large.
func (db *DB) addressMatch(table, alias, email string) (string, []any) {
	col := func(c string) string {
		if alias == "" {
			return c
		}
		return alias + "." + c
	}
	if db.Sealer != nil {
		return col("email_key") + ` = ?`, []any{db.addressKey(email)}
	}
	return col("id") + ` IN (SELECT id FROM ` + table + ` WHERE email_key = ?
		UNION ALL SELECT id FROM ` + table + ` WHERE ` + db.eqNoCase("email") + `)`,
		[]any{db.addressKey(email), strings.TrimSpace(email)}
}

// seal returns the stored form of a reader's address or name.
func (db *DB) seal(s string) string {
	if db.Sealer == nil {
		return s
	}
	return db.Sealer.Seal(s)
}

// sealNull is seal for a nullable column: "" is NULL.
func (db *DB) sealNull(s string) any {
	if s == "" {
		return nil
	}
	return db.seal(s)
}

// open returns the plain text of a stored address or name.
func (db *DB) open(s string) (string, error) {
	if db.Sealer == nil {
		if strings.HasPrefix(s, sealedMarker) {
			return "", ErrNeedKey
		}
		return s, nil
	}
	return db.Sealer.Open(s)
}

// openAll opens each stored value in place.
func (db *DB) openAll(ps ...*string) error {
	for _, p := range ps {
		v, err := db.open(*p)
		if err != nil {
			return err
		}
		*p = v
	}
	return nil
}

// sealedColumns lists every column that holds a reader's address or name, by table, with the
// table's address-key column ("" for none), which is recomputed beside them.
var sealedColumns = []struct {
	table, key, id string
	cols           []string
}{
	{"supporters", "email_key", "id", []string{"email", "name"}},
	{"customers", "", "stripe_customer_id", []string{"email", "name"}},
	{"deferrals", "email_key", "id", []string{"email"}},
}

// checkSealing refuses a database that holds sealed values when no Sealer is set: its pages
// would show ciphertext and new rows would mix plain and sealed addresses.
func (db *DB) checkSealing(ctx context.Context) error {
	if db.Sealer != nil {
		return nil
	}
	for _, t := range sealedColumns {
		for _, c := range t.cols {
			var n int
			if ok, err := db.columnExists(ctx, t.table, c); err != nil || !ok {
				continue // an old schema, before this table (tests open one)
			}
			if err := db.write.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+t.table+
				` WHERE `+c+` LIKE 'enc:%' LIMIT 1) AS x`).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return ErrNeedKey
			}
		}
	}
	return nil
}

// SealProgress reports a batch of SealAll: the table and how many rows it re-sealed.
type SealProgress func(table string, rows int)

// SealAll seals every address and name not yet sealed under the Sealer's current key (values
// stored before sealing was turned on, or under a key being rotated away), and recomputes the
// address keys beside them, batch rows per transaction. Each batch commits on its own, so an
// interrupted run loses nothing and the next one takes up what is left. At the end the database
// is rebuilt and the write-ahead log truncated (rewrite), so no plain or old-key copy stays in
// any of the files.
func (db *DB) SealAll(ctx context.Context, batch int, progress SealProgress) (_ int, err error) {
	defer wrapErr(&err, "seal all")
	if db.Sealer == nil {
		return 0, errors.New("no data key to seal with")
	}
	if batch <= 0 {
		batch = 500
	}
	prefix := sealedMarker + db.Sealer.KeyID() + ":"
	total := 0
	for _, t := range sealedColumns {
		var stale []string
		for _, c := range t.cols {
			// An empty name or a NULL address is nothing to seal.
			stale = append(stale, fmt.Sprintf("(%s <> '' AND substr(%s, 1, %d) <> '%s')", c, c, len(prefix), prefix))
		}
		// Keyset order: each batch starts where the last one ended, so a run reads each table once.
		sel := `SELECT ` + t.id + `, ` + strings.Join(coalesced(t.cols), ", ") + ` FROM ` + t.table +
			` WHERE ` + t.id + ` > ? AND (` + strings.Join(stale, " OR ") + `) ORDER BY ` + t.id + ` LIMIT ?`
		set := make([]string, len(t.cols))
		for i, c := range t.cols {
			set[i] = c + ` = ?`
		}
		if t.key != "" {
			// Keys that are not an address's (a customer without one, an erased record) stay.
			set = append(set, t.key+` = CASE WHEN `+t.key+` LIKE 'customer:%' OR `+t.key+` LIKE 'supporter:%' OR `+t.key+` = ''
				OR `+t.key+` IS NULL OR CAST(? AS TEXT) IS NULL THEN `+t.key+` ELSE ? END`)
		}
		upd := `UPDATE ` + t.table + ` SET ` + strings.Join(set, ", ") + ` WHERE ` + t.id + ` = ?`
		var after any = 0
		if t.id == "stripe_customer_id" {
			after = ""
		}
		for {
			n, last, err := db.sealBatch(ctx, sel, upd, t.cols, t.key != "", after, batch)
			after = last
			total += n
			if err != nil {
				return total, err
			}
			if n == 0 {
				break
			}
			if progress != nil {
				progress(t.table, n)
			}
		}
	}
	if total == 0 {
		return 0, nil
	}
	return total, db.rewrite(ctx)
}

// rewrite rebuilds the database file (VACUUM) and then truncates the write-ahead log, so that no
// old form of a re-sealed value is left anywhere in the files: secure_delete zeroes deleted
// cells, but a page that SQLite reorganises while rows on it grow can keep old bytes in its
// unallocated space. The rebuild's temporary copy is kept in memory, not in a temporary file.
//
// On PostgreSQL the equivalent is VACUUM FULL, which rewrites every table into new files without
// the old row versions.
func (db *DB) rewrite(ctx context.Context) error {
	if db.pg {
		if _, err := db.write.ExecContext(ctx, `VACUUM FULL`); err != nil {
			return fmt.Errorf("postgres: vacuum: %w", err)
		}
		return nil
	}
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA temp_store = MEMORY`); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `VACUUM`); err != nil {
		return fmt.Errorf("sqlite: vacuum: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA temp_store = DEFAULT`); err != nil {
		return err
	}
	conn.Close()
	return db.forgetWAL(ctx)
}

func coalesced(cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = `coalesce(` + c + `, '')`
	}
	return out
}

// sealBatch re-seals up to batch rows chosen by sel in one transaction.
// It returns how many, and the last row's id.
func (db *DB) sealBatch(ctx context.Context, sel, upd string, cols []string, keyed bool, after any, batch int) (int, any, error) {
	if err := ctx.Err(); err != nil {
		return 0, after, err
	}
	tx, err := db.BeginTx(ctx)
	if err != nil {
		return 0, after, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, sel, after, batch)
	if err != nil {
		return 0, after, err
	}
	type row struct {
		id   any
		vals []string
	}
	var todo []row
	for rows.Next() {
		r := row{vals: make([]string, len(cols))}
		dest := []any{&r.id}
		for i := range r.vals {
			dest = append(dest, &r.vals[i])
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return 0, after, err
		}
		todo = append(todo, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, after, err
	}
	for _, r := range todo {
		args := make([]any, 0, len(cols)+2)
		var address string
		for i, v := range r.vals {
			plain, err := db.Sealer.Open(v)
			if err != nil {
				return 0, after, fmt.Errorf("re-seal %s: %w", cols[i], err)
			}
			if cols[i] == "email" {
				address = plain
				args = append(args, db.sealNull(plain))
			} else {
				args = append(args, db.seal(plain))
			}
		}
		if keyed {
			var key any = db.addressKey(address)
			if address == "" {
				key = nil
			}
			args = append(args, key, key)
		}
		args = append(args, r.id)
		if _, err := tx.ExecContext(ctx, upd, args...); err != nil {
			return 0, after, err
		}
		after = r.id
	}
	return len(todo), after, tx.Commit()
}
