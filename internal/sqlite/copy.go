package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// CopyCounts is how many rows each table received.
type CopyCounts map[string]int

// Total is the number of rows copied.
func (c CopyCounts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// notCopied are the tables a copy leaves to the target: goose's own version table, and the
// checkouts' daily rollup, which PostgreSQL's triggers rebuild from the checkouts as they arrive.
var notCopied = []string{"goose_db_version", "checkouts_daily"}

// copyBatch bounds the rows of one INSERT (PostgreSQL takes at most 65,535 parameters).
const copyBatch = 500

// CopyTo copies this store's ledger, row for row, into to: an empty PostgreSQL store at the same
// schema version (both opened, so both migrated). Everything goes in one transaction, so a
// failure leaves the target as empty as it was. Readers' sealed data is copied as it is stored:
// open both stores with the same data key. progress, when set, hears each table as it is done.
func (db *DB) CopyTo(ctx context.Context, to *DB, progress func(table string, rows int)) (_ CopyCounts, err error) {
	defer wrapErr(&err, "copy to")
	if db.pg || !to.pg {
		return nil, fmt.Errorf("copy: from an SQLite store to a PostgreSQL one")
	}
	tables, err := queryStrings(ctx, db.read, `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("copy: list tables: %w", err)
	}
	tables = slices.DeleteFunc(tables, func(t string) bool { return slices.Contains(notCopied, t) })
	tx, err := to.BeginTx(ctx)
	if err != nil {
		return nil, fmt.Errorf("copy: begin: %w", err)
	}
	defer tx.Rollback()
	// Foreign keys are checked at commit, so tables can go in any order.
	if _, err := tx.ExecContext(ctx, `SET CONSTRAINTS ALL DEFERRED`); err != nil {
		return nil, err
	}
	counts := CopyCounts{}
	for _, table := range tables {
		n, err := db.copyTable(ctx, tx, table)
		if err != nil {
			return nil, fmt.Errorf("copy %s: %w", table, err)
		}
		counts[table] = n
		if progress != nil {
			progress(table, n)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("copy: commit: %w", err)
	}
	return counts, nil
}

// copyTable copies one table's rows into the target's table of the same name. The target must
// hold none, except settings, whose rows the source's replace (its secret, its ledger version).
func (db *DB) copyTable(ctx context.Context, tx *Tx, table string) (int, error) {
	if !simpleName(table) {
		return 0, fmt.Errorf("unexpected table name %q", table)
	}
	types, err := targetColumns(ctx, tx, table)
	if err != nil {
		return 0, err
	}
	if len(types) == 0 {
		return 0, fmt.Errorf("the target has no table %s: is it at the same schema version?", table)
	}
	if table == "settings" {
		if _, err := tx.ExecContext(ctx, `DELETE FROM settings`); err != nil {
			return 0, err
		}
	} else {
		var held int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&held); err != nil {
			return 0, err
		} else if held > 0 {
			return 0, fmt.Errorf("the target already holds %d rows: copy only into a new, empty database", held)
		}
	}
	cols, err := queryStrings(ctx, db.read, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return 0, err
	}
	for _, c := range cols {
		if _, ok := types[c]; !ok || !simpleName(c) {
			return 0, fmt.Errorf("the target's %s has no column %s: is it at the same schema version?", table, c)
		}
	}
	list := `"` + strings.Join(cols, `", "`) + `"`
	rows, err := db.read.QueryContext(ctx, `SELECT `+list+` FROM `+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	var batch []any
	n, inBatch := 0, 0
	flush := func() error {
		if inBatch == 0 {
			return nil
		}
		q := `INSERT INTO ` + table + ` (` + list + `) VALUES ` + strings.TrimSuffix(strings.Repeat(one+", ", inBatch), ", ")
		if _, err := tx.ExecContext(ctx, q, batch...); err != nil {
			return err
		}
		batch, inBatch = batch[:0], 0
		return nil
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, err
		}
		for i, v := range vals {
			batch = append(batch, convertFor(types[cols[i]], v))
		}
		n++
		if inBatch++; inBatch == copyBatch {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return n, flush()
}

// targetColumns maps each column of the target's table to its PostgreSQL data type.
func targetColumns(ctx context.Context, tx *Tx, table string) (map[string]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = ?`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, err
		}
		out[name] = typ
	}
	return out, rows.Err()
}

// convertFor turns a value as SQLite's driver scans it into what the PostgreSQL column takes:
// text comes as bytes, and a flag is 0 or 1 where PostgreSQL may keep a boolean.
func convertFor(pgType string, v any) any {
	switch x := v.(type) {
	case []byte:
		if pgType != "bytea" {
			return string(x)
		}
	case int64:
		if pgType == "boolean" {
			return x != 0
		}
	}
	return v
}

// simpleName reports whether s is a plain identifier, safe to put into a statement.
func simpleName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// queryStrings returns the first column of a query's rows.
func queryStrings(ctx context.Context, q rowsQueryer, query string, args ...any) ([]string, error) {
	return queryAll(ctx, q, query, args, func(rows *sql.Rows) (string, error) {
		var s string
		if err := rows.Scan(&s); err != nil {
			return s, err
		}
		return s, nil
	})
}
