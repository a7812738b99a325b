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
func queryAll[T any](ctx context.Context, q rowsQueryer, query string, args []any, scan func(rows *sql.Rows) (T, error)) ([]T, error) {
	var out []T
	err := eachRow(ctx, q, query, args, func(rows *sql.Rows) error {
		v, err := scan(rows)
		out = append(out, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachRow runs a query of many rows and calls fn, which scans it, on each row in order; the
// first error stops it.
func eachRow(ctx context.Context, q rowsQueryer, query string, args []any, fn func(rows *sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
