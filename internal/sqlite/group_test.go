package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestWriteGroupedCommitsEachWriteOrRollsBackOnlyTheFailedOne(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	const n = 300
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.WriteGrouped(ctx, func(tx *Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, 'v')`, fmt.Sprint("k", i)); err != nil {
					return err
				}
				if i%50 == 7 {
					return errors.New("this write fails after writing")
				}
				return nil
			})
		}()
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if (i%50 == 7) != (err != nil) {
			t.Errorf("write %d: err = %v", i, err)
		}
		if err != nil {
			failed++
		}
	}
	var rows int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM settings WHERE key LIKE 'k%'`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != n-failed {
		t.Fatalf("%d rows committed, want %d (the %d failed writes rolled back, the rest kept)", rows, n-failed, failed)
	}
	// A duplicate key is the caller's error, not the batch's.
	err := db.WriteGrouped(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('k0', 'again')`)
		return translate(err)
	})
	if err == nil {
		t.Fatal("duplicate insert succeeded")
	}
}

func TestWriteGroupedAfterClose(t *testing.T) {
	db := openTestDB(t)
	db.Close()
	if err := db.WriteGrouped(context.Background(), func(*Tx) error { return nil }); !errors.Is(err, errClosed) {
		t.Fatalf("err = %v, want errClosed", err)
	}
}

// TestTwoStoresOnOneDatabaseWriteOneAtATime: two stores open on the same database (two
// instances of Pledge) read-modify-write one row concurrently, through group commit and through
// plain write transactions. None of the increments is lost: on SQLite every write transaction
// begins IMMEDIATE, on PostgreSQL it first takes the store's advisory lock.
func TestTwoStoresOnOneDatabaseWriteOneAtATime(t *testing.T) {
	a := openTestDB(t)
	b := openTestDB(t, atDSN(a.Path))
	ctx := context.Background()
	if _, err := a.write.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('counter', '0')`); err != nil {
		t.Fatal(err)
	}
	increment := func(tx *Tx) error {
		var v int
		if err := tx.QueryRowContext(ctx, `SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'counter'`).Scan(&v); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE settings SET value = ? WHERE key = 'counter'`, fmt.Sprint(v+1))
		return err
	}
	const per = 40
	var wg sync.WaitGroup
	errs := make(chan error, 4*per)
	for _, db := range []*DB{a, b} {
		for range per {
			wg.Add(2)
			go func() {
				defer wg.Done()
				errs <- db.WriteGrouped(ctx, increment)
			}()
			go func() {
				defer wg.Done()
				tx, err := db.BeginTx(ctx)
				if err != nil {
					errs <- err
					return
				}
				defer tx.Rollback()
				if err := increment(tx); err != nil {
					errs <- err
					return
				}
				errs <- tx.Commit()
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var v int
	if err := a.read.QueryRowContext(ctx, `SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'counter'`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != 4*per {
		t.Fatalf("counter = %d after %d increments from two stores: writes overlapped", v, 4*per)
	}
}
