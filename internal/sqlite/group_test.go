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
