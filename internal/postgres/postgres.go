// Package postgres is the PostgreSQL engine of Pledge's store: the pgx driver (through its
// database/sql adapter, so the store's SQL and scans are the ones it runs on SQLite), the
// rewriting of each statement into PostgreSQL's dialect (Rebind), the DSN, the unique-violation
// test, and the advisory lock that makes every write transaction a single writer across all the
// instances sharing one database.
//
// The store itself (its ledger, rollups, reports, exports, outbox...) stays in package sqlite,
// whose *DB picks this engine when its DSN is a postgres:// URL. This package knows nothing of the
// store: it imports no package of ours but migrations, so the store and the test helpers
// (internal/testkit) can both import it without a cycle.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/pledge-news/pledge/migrations"
)

// Migrations are the PostgreSQL schema's goose files.
var Migrations fs.FS = migrations.Postgres

// LockKey is the advisory lock every write transaction takes first (pg_advisory_xact_lock), so
// that writes from every instance on one database run one at a time, as SQLite's do: the
// rollups are read-modify-write, and the outbox and ids (max + 1) rely on it. It is a fixed
// number ("pledge" in ASCII), the same in every instance and version.
const LockKey int64 = 0x706c65646765

// LockSQL is the statement that begins every write transaction.
var LockSQL = fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", LockKey)

// IsURL reports whether dsn names a PostgreSQL database (postgres:// or postgresql://) rather
// than an SQLite file.
func IsURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// ParseURL checks a postgres:// URL as pgx reads it, without connecting.
func ParseURL(dsn string) error {
	if _, err := url.Parse(dsn); err != nil {
		return err
	}
	_, err := pgx.ParseConfig(dsn)
	return err
}

// Redact returns dsn with its password hidden, for messages and logs.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://..."
	}
	return u.Redacted()
}

// Options are the per-pool settings of Open.
type Options struct {
	// ReadOnly makes every transaction of the pool read-only and REPEATABLE READ, so that a
	// report's several queries read one snapshot, as on SQLite's reader pool.
	ReadOnly bool
}

// Open returns a database/sql pool on the PostgreSQL database at dsn whose statements are
// rewritten by Rebind (once per statement text).
func Open(dsn string, o Options) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["timezone"] = "UTC"
	if o.ReadOnly {
		cfg.RuntimeParams["default_transaction_read_only"] = "on"
		cfg.RuntimeParams["default_transaction_isolation"] = "repeatable read"
	}
	return sql.OpenDB(&connector{inner: stdlib.GetConnector(*cfg), rb: &rebinder}), nil
}

// rebinder is shared by every pool: the statement texts are the same.
var rebinder Rebinder

// connector wraps pgx's, so that each connection rewrites what it is given.
type connector struct {
	inner driver.Connector
	rb    *Rebinder
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{Conn: dc.(*stdlib.Conn), rb: c.rb}, nil
}

func (c *connector) Driver() driver.Driver { return c.inner.Driver() }

// conn is pgx's connection with every statement text passed through Rebind first. Everything
// else (transactions, pings, session resets, argument checks) is pgx's own.
type conn struct {
	*stdlib.Conn
	rb *Rebinder
}

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(context.Background(), c.rb.Rebind(query))
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, c.rb.Rebind(query))
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, c.rb.Rebind(query), args)
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, c.rb.Rebind(query), args)
}

// CheckNamedValue passes arguments to pgx as they are, except booleans: the schema keeps flags
// in integer columns, as SQLite does (its driver stores a bool as 0 or 1), and pgx would refuse to
// put a bool into a bigint. A flag goes into either.
func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if b, ok := nv.Value.(bool); ok {
		nv.Value = flag(b)
	}
	return nil
}

// flag is a bool that pgx encodes as a boolean or as 0 or 1, whichever the parameter is.
type flag bool

func (f flag) BoolValue() (pgtype.Bool, error) { return pgtype.Bool{Bool: bool(f), Valid: true}, nil }

func (f flag) Int64Value() (pgtype.Int8, error) {
	if f {
		return pgtype.Int8{Int64: 1, Valid: true}, nil
	}
	return pgtype.Int8{Int64: 0, Valid: true}, nil
}

// IsUniqueViolation reports whether err is PostgreSQL's unique_violation (23505).
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
