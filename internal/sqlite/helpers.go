package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
)

// inTx runs fn in one write transaction: begun, rolled back when fn fails, committed when it
// does not.
func (db *DB) inTx(ctx context.Context, fn func(tx *Tx) error) error {
	_, err := inTxValue(ctx, db, func(tx *Tx) (struct{}, error) { return struct{}{}, fn(tx) })
	return err
}

// inTxValue is inTx for a transaction that returns something (the rows it claimed, how many it
// changed): fn's value comes back as fn returned it, with fn's error or else the commit's.
func inTxValue[T any](ctx context.Context, db *DB, fn func(tx *Tx) (T, error)) (T, error) {
	tx, err := db.BeginTx(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	defer tx.Rollback()
	v, err := fn(tx)
	if err != nil {
		return v, err
	}
	return v, tx.Commit()
}

// eachInTx runs write for every item in one write transaction, committed once: a flush of
// counters is one commit, not one per row. No items, no transaction.
func eachInTx[T any](ctx context.Context, db *DB, items []T, write func(tx *Tx, item T) error) error {
	if len(items) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx *Tx) error {
		for _, item := range items {
			if err := write(tx, item); err != nil {
				return err
			}
		}
		return nil
	})
}

// execCount runs one writing statement and returns how many rows it changed.
func execCount(ctx context.Context, tx *Tx, query string, args ...any) (int, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
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

// opError is an error of one of the store's exported methods, named by its operation ("create
// checkout"), so that the log line of a 500 says what failed. It unwraps to the cause, so a
// *pledge.Error's code and message still reach pledge.ErrorCode and pledge.ErrorMessage.
type opError struct {
	op  string
	err error
}

// Error names the store once: a cause that is itself named "store: ..." (a sentinel such as
// ErrNeedKey, which stands alone too) loses its prefix.
func (e *opError) Error() string {
	return "store: " + e.op + ": " + strings.TrimPrefix(e.err.Error(), "store: ")
}
func (e *opError) Unwrap() error { return e.err }

// wrapErr names the operation of *errp, deferred at the top of an exported method. An error that
// already names one (an exported method calling another, such as WriteGrouped) names both, the
// caller's first: "store: apply event: write grouped: ...".
func wrapErr(errp *error, op string) {
	if *errp == nil {
		return
	}
	if inner, ok := errors.AsType[*opError](*errp); ok && inner == *errp {
		*errp = &opError{op: op + ": " + inner.op, err: inner.err}
		return
	}
	*errp = &opError{op: op, err: *errp}
}
