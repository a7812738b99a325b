package sqlite

import (
	"context"
	"database/sql"
)

// eachInTx runs write for every item in one write transaction, committed once: a flush of
// counters is one commit, not one per row. No items, no transaction.
func eachInTx[T any](ctx context.Context, db *DB, items []T, write func(tx *Tx, item T) error) error {
	if len(items) == 0 {
		return nil
	}
	tx, err := db.BeginTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, item := range items {
		if err := write(tx, item); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// queryAll runs a query of many rows and reads each with scan, in order.
func queryAll[T any](ctx context.Context, q rowsQueryer, scan func(rows *sql.Rows) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
