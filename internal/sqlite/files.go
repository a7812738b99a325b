package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// prepareFiles makes sure the database's files are for this user alone: a new directory is made
// 0700 and a new database file 0600 (SQLite gives its -wal and -shm files the database file's
// mode), and an existing directory or file that other users of the machine can read or write is
// refused, with the command that fixes it: readers' addresses must not be one `cat` away from
// every local account.
func prepareFiles(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sqlite: create %s: %w", dir, err)
	}
	if err := notWorldAccessible(dir, "700"); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := notWorldAccessible(p, "600"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// notWorldAccessible returns an error naming p and the chmod that fixes it when other users (not
// the owner or its group) may read or write it and can reach it: a directory above that they
// cannot enter (a private home, a test's temporary directory) already keeps them out.
func notWorldAccessible(p, mode string) error {
	info, err := os.Stat(p)
	if err != nil {
		return err
	}
	perm := info.Mode().Perm()
	if perm&0o006 == 0 || !reachable(filepath.Dir(p)) {
		return nil
	}
	return fmt.Errorf("sqlite: %s is open to every user of this machine (mode %s); it holds readers' personal data: run chmod %s %s",
		p, perm, mode, p)
}

// reachable reports whether other users can enter dir: every directory from the root down to it
// lets them through.
func reachable(dir string) bool {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return true
	}
	for {
		info, err := os.Stat(abs)
		if err != nil {
			return true
		}
		if info.Mode().Perm()&0o001 == 0 {
			return false
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return true
		}
		abs = parent
	}
}

// forgetWAL checkpoints the write-ahead log into the database file and truncates it to nothing,
// so that the old page images in it (an address just erased or purged, among them) are gone from
// the disk, not only from the tables: SQLite keeps them in the -wal file, checkpoint or not,
// until they are overwritten or the last connection closes. secure_delete (in the DSN) has
// already zeroed the erased bytes in the pages themselves. The checkpoint waits (the busy
// timeout) for readers of older snapshots; if one still holds on, it is tried again a few times.
//
// PostgreSQL has no such file to truncate: its old row versions go with (auto)vacuum, and its
// WAL with its checkpoints and archive settings, which are the operator's.
func (db *DB) forgetWAL(ctx context.Context) error {
	if db.pg {
		return nil
	}
	for attempt := 0; ; attempt++ {
		var busy, frames, done int
		if err := db.write.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &done); err != nil {
			return fmt.Errorf("sqlite: checkpoint: %w", err)
		}
		if busy == 0 {
			return nil
		}
		if attempt == 4 {
			return fmt.Errorf("sqlite: checkpoint: readers kept the write-ahead log busy")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// forgetSoon asks for forgetWAL within a second, after a purge of addresses. Purges come in
// bursts (a round of reminders), so the checkpoints are coalesced.
func (db *DB) forgetSoon() {
	if db.forgetKick == nil {
		return
	}
	select {
	case db.forgetKick <- struct{}{}:
	default:
	}
}

// runForget runs the checkpoints forgetSoon asks for, a second after the first request (more
// requests meanwhile ride along), and retries one that failed every ten seconds. It stops with
// Close.
func (db *DB) runForget() {
	defer close(db.forgetDone)
	var retry <-chan time.Time
	for {
		select {
		case <-db.closing:
			return
		case <-db.forgetKick:
			select {
			case <-db.closing:
				return
			case <-time.After(time.Second):
			}
		case <-retry:
		}
		retry = nil
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := db.forgetWAL(ctx); err != nil {
			retry = time.After(10 * time.Second)
		}
		cancel()
	}
}
