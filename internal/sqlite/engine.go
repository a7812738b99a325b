package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/pledge-news/pledge/internal/postgres"
)

// The few places where the store differs by engine. Everything else (the SQL, the scans, group
// commit, the rollups) is shared; internal/postgres rewrites each statement's text for
// PostgreSQL.

// openWriter opens the pool of the single writer connection.
func (db *DB) openWriter(ctx context.Context) error {
	var err error
	if db.pg {
		// One connection, as on SQLite: this instance's writes queue here, and the advisory lock
		// each write transaction takes queues them behind the other instances'.
		if db.write, err = postgres.Open(db.Path, postgres.Options{}); err != nil {
			return err
		}
	} else {
		if err := prepareFiles(db.Path); err != nil {
			return err
		}
		if db.write, err = sql.Open(driverName, dsn(db.Path, false)); err != nil {
			return err
		}
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetMaxIdleConns(1)
	db.write.SetConnMaxLifetime(0)
	if err := db.write.PingContext(ctx); err != nil {
		return fmt.Errorf("%s: open %s: %w", db.Engine(), db.where(), err)
	}
	return nil
}

// openReaders opens the read-only pool.
func (db *DB) openReaders() (*sql.DB, error) {
	if db.pg {
		return postgres.Open(db.Path, postgres.Options{ReadOnly: true})
	}
	return sql.Open(driverName, dsn(db.Path, true))
}

// where names the database for messages, without a password.
func (db *DB) where() string {
	if db.pg {
		return postgres.Redact(db.Path)
	}
	return db.Path
}

// postgresProvider applies the PostgreSQL migrations, holding a session advisory lock so that
// instances starting together migrate one after the other.
func postgresProvider(db *sql.DB, migr fs.FS) (*goose.Provider, error) {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db, migr, goose.WithDisableGlobalRegistry(true),
		goose.WithSessionLocker(locker))
}

// tableExists reports whether the schema has the table.
func (db *DB) tableExists(ctx context.Context, name string) (bool, error) {
	q := `SELECT count(*) > 0 FROM sqlite_master WHERE name = ?`
	if db.pg {
		q = `SELECT count(*) > 0 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`
	}
	var ok bool
	err := db.write.QueryRowContext(ctx, q, name).Scan(&ok)
	return ok, err
}

// columnExists reports whether the table has the column.
func (db *DB) columnExists(ctx context.Context, table, column string) (bool, error) {
	q := `SELECT count(*) > 0 FROM pragma_table_info(?) WHERE name = ?`
	if db.pg {
		q = `SELECT count(*) > 0 FROM information_schema.columns WHERE table_schema = current_schema()
			AND table_name = ? AND column_name = ?`
	}
	var ok bool
	err := db.write.QueryRowContext(ctx, q, table, column).Scan(&ok)
	return ok, err
}

// cmpNoCase compares col with arg (a placeholder) by op, ignoring ASCII case: SQLite's NOCASE
// collation (which the NOCASE indexes serve), lower() on both sides on PostgreSQL (where the
// columns are COLLATE "C", so lower() too folds ASCII only, and the schema indexes lower(col)).
func (db *DB) cmpNoCase(col, op, arg string) string {
	if db.pg {
		return `lower(` + col + `) ` + op + ` lower(` + arg + `)`
	}
	return col + ` ` + op + ` ` + arg + ` COLLATE NOCASE`
}

// eqNoCase is cmpNoCase(col, "=", "?").
func (db *DB) eqNoCase(col string) string { return db.cmpNoCase(col, "=", "?") }

// crossJoin is the join that keeps SQLite's planner from reordering two tables (CROSS JOIN);
// PostgreSQL's CROSS JOIN takes no ON, and its planner is left to choose.
func (db *DB) crossJoin() string {
	if db.pg {
		return "JOIN"
	}
	return "CROSS JOIN"
}

// noCase is col as the case-insensitive comparisons and orders see it: col itself on SQLite,
// where the column or the comparison carries NOCASE, lower(col) on PostgreSQL.
func (db *DB) noCase(col string) string {
	if db.pg {
		return `lower(` + col + `)`
	}
	return col
}

// latest is a column of the row with the largest `by` in an aggregate query. SQLite takes a
// bare column from the row of the query's max(); PostgreSQL names the row it wants.
func (db *DB) latest(col, by string) string {
	if db.pg {
		return `(array_agg(` + col + ` ORDER BY ` + by + ` DESC))[1]`
	}
	return col
}

// execWrite runs one writing statement on its own. On SQLite it goes to the writer connection
// as it is (its implicit transaction is IMMEDIATE); on PostgreSQL it is a write transaction like
// any other, behind the advisory lock.
func (db *DB) execWrite(ctx context.Context, q string, args ...any) error {
	if !db.pg {
		_, err := db.write.ExecContext(ctx, q, args...)
		return err
	}
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	})
}
