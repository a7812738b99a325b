package testkit

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	_ "github.com/mattn/go-sqlite3" // the template is made with the driver the store uses
	"github.com/pressly/goose/v3"

	"github.com/pledge-news/pledge/migrations"
)

var (
	sqliteTmplOnce sync.Once
	sqliteTmpl     []byte // the template file's bytes
	sqliteTmplErr  error
)

// sqliteTemplate returns the bytes of the test binary's SQLite template: an empty database file
// with every SQLite migration applied, as the PostgreSQL pass has its template database.
// StoreDSN writes a copy for each test instead of each test's store applying every migration on
// open, each migration's commit waiting for the disk. It is made once, in a directory removed
// as soon as its bytes are read.
func sqliteTemplate() ([]byte, error) {
	sqliteTmplOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pledge-sqlite-template-")
		if err != nil {
			sqliteTmplErr = err
			return
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "template.db")
		if sqliteTmplErr = makeSQLiteTemplate(path); sqliteTmplErr == nil {
			sqliteTmpl, sqliteTmplErr = os.ReadFile(path)
		}
	})
	return sqliteTmpl, sqliteTmplErr
}

// makeSQLiteTemplate applies the SQLite migrations to a new file at path, as the store's Open
// does (goose, each migration in its own transaction, foreign keys on, write-ahead log), and
// closes it, which checkpoints the log into the file: the file alone is the template.
func makeSQLiteTemplate(path string) error {
	ctx := context.Background()
	db, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=on&_journal_mode=WAL&_busy_timeout=10000&_txlock=immediate")
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1)
	p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations.FS, goose.WithDisableGlobalRegistry(true))
	if err == nil {
		_, err = p.Up(ctx)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("testkit: migrate the SQLite template: %w", err)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		return fmt.Errorf("testkit: the SQLite template's write-ahead log was not checkpointed (%d bytes)", fi.Size())
	}
	return nil
}
