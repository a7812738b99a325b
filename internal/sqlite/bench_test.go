package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// BenchmarkSingleRowCommit is the baseline the bench program's remind and webhook rows compare
// against: one durable (synchronous=FULL) transaction per inserted row, many goroutines queueing
// on the one writer connection.
func BenchmarkSingleRowCommit(b *testing.B) {
	db := openTestDB(b, atDSN(filepath.Join(b.TempDir(), "pledge.db")))
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tx, err := db.BeginTx(ctx)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, 'v')`, fmt.Sprint("k", n.Add(1))); err != nil {
				tx.Rollback()
				b.Error(err)
				return
			}
			if err := tx.Commit(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkWriteGrouped is the same work through the group committer: concurrent writes share
// one commit, so one fsync.
func BenchmarkWriteGrouped(b *testing.B) {
	db := openTestDB(b, atDSN(filepath.Join(b.TempDir(), "pledge.db")))
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			err := db.WriteGrouped(ctx, func(tx *Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, 'v')`, fmt.Sprint("k", n.Add(1)))
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}
