package sqlite

import (
	"context"
	"errors"
	"fmt"
)

// maxGroup bounds how many writes share one commit.
const maxGroup = 256

// groupWrite is one caller's work waiting for the group committer.
type groupWrite struct {
	ctx  context.Context
	fn   func(tx *Tx) error
	done chan error
}

// errClosed answers writes submitted after Close.
var errClosed = errors.New("sqlite: database closed")

// WriteGrouped runs fn inside a write transaction shared with other concurrent callers (group
// commit) and returns once that transaction is durably committed, or with fn's own error, in
// which case fn's writes were rolled back to a savepoint and the other callers are unaffected.
//
// With synchronous=FULL every commit waits for the disk; sharing one commit among all the writes
// that arrived meanwhile turns N fsyncs into one, which is what lets many readers' "Remind me
// later" clicks and Stripe's webhook bursts be acknowledged only after they are safe, at a rate
// above that of single-row transactions. fn must only touch the database through tx, and set what
// it returns to its caller afresh each time it runs: when another write of its group fails, the
// group runs again (commitGroup), fn with it.
func (db *DB) WriteGrouped(ctx context.Context, fn func(tx *Tx) error) (err error) {
	defer wrapErr(&err, "write grouped")
	w := &groupWrite{ctx: ctx, fn: fn, done: make(chan error, 1)}
	// The read lock orders this send before Close: once Close holds the lock, no write can slip
	// into the queue after the committer's final drain.
	db.groupMu.RLock()
	if db.groupClosed {
		db.groupMu.RUnlock()
		return errClosed
	}
	select {
	case db.group <- w:
		db.groupMu.RUnlock()
	case <-ctx.Done():
		db.groupMu.RUnlock()
		return ctx.Err()
	}
	// Once queued, wait for the outcome even if ctx ends: the write may commit, and the caller
	// must not report failure for a write that happened.
	return <-w.done
}

// runGroupCommit is the committer goroutine: it takes the first waiting write, gathers whatever
// else is queued (up to maxGroup), and commits them together.
func (db *DB) runGroupCommit() {
	defer close(db.groupDone)
	batch := make([]*groupWrite, 0, maxGroup)
	for {
		var first *groupWrite
		select {
		case first = <-db.group:
		case <-db.closing:
			// Drain what was queued before Close so no caller waits forever.
			for {
				select {
				case w := <-db.group:
					db.commitGroup([]*groupWrite{w})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	gather:
		for len(batch) < maxGroup {
			select {
			case w := <-db.group:
				batch = append(batch, w)
			default:
				break gather
			}
		}
		db.commitGroup(batch)
	}
}

// commitGroup runs the batch's writes in one transaction and commits once. It first runs them
// without savepoints: each savepoint is a statement, on PostgreSQL a round trip of the single
// writer connection (for a reminder request, half of its statements). Should a write fail, that
// transaction is rolled back whole and the batch runs again with each write under a savepoint of
// its own, so that the failed write alone is undone: its fn, and the others', run a second time.
// A batch of one write needs no second run: rolling back its transaction is rolling back the
// write.
func (db *DB) commitGroup(batch []*groupWrite) {
	if again := db.runGroup(batch, false); again {
		db.runGroup(batch, true)
	}
}

// runGroup runs the batch once, each write under a savepoint of its own or not, commits and
// answers every caller; except when a write failed without savepoints in a batch of several:
// then it has rolled back, answered no one, and reports that the batch must run again.
func (db *DB) runGroup(batch []*groupWrite, savepoints bool) (again bool) {
	results := make([]error, len(batch))
	finish := func(commitErr error) {
		for i, w := range batch {
			if results[i] == nil {
				results[i] = commitErr
			}
			w.done <- results[i]
		}
	}
	ctx := context.Background()
	tx, err := db.BeginTx(ctx)
	if err != nil {
		finish(fmt.Errorf("sqlite: begin group: %w", err))
		return false
	}
	applied := 0
	// open: a savepoint w is open. The next write's statement releases it and opens its own in one
	// round trip, and the commit releases the last one: each write costs one statement of its
	// own, not two.
	open := false
	for i, w := range batch {
		if err := w.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if savepoints {
			q := `SAVEPOINT w`
			if open {
				q = `RELEASE w; SAVEPOINT w`
			}
			if _, err := tx.ExecContext(ctx, q); err != nil {
				if open {
					// The previous write's release failed (or the savepoint after it): the
					// transaction cannot go on.
					tx.Rollback()
					finish(fmt.Errorf("sqlite: release savepoint: %w", err))
					return false
				}
				results[i] = err
				continue
			}
			open = true
		}
		if err := w.fn(tx); err != nil {
			results[i] = err
			if !savepoints {
				tx.Rollback()
				if len(batch) > 1 {
					return true
				}
				finish(nil)
				return false
			}
			// ROLLBACK TO keeps the savepoint: the next statement releases it, as after a success.
			if _, rbErr := tx.ExecContext(ctx, `ROLLBACK TO w`); rbErr != nil {
				tx.Rollback()
				finish(fmt.Errorf("sqlite: rollback to savepoint: %w", rbErr))
				return false
			}
		} else {
			applied++
		}
	}
	if applied == 0 {
		tx.Rollback()
		finish(nil)
		return false
	}
	if err := tx.Commit(); err != nil {
		// Nothing of this batch was written: every write that had succeeded now fails.
		for i := range results {
			if results[i] == nil {
				results[i] = fmt.Errorf("sqlite: commit: %w", err)
			}
		}
	}
	finish(nil)
	return false
}
