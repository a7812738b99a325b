// Package postgres is the PostgreSQL engine of Pledge's store: the pgx driver (through its
// database/sql adapter, so the store's SQL and scans are the ones it runs on SQLite), the
// rewriting of each statement into PostgreSQL's dialect (Rebind), the DSN, the unique-violation
// test, and the advisory lock that makes every write transaction a single writer across all the
// instances sharing one database.
//
// The store itself (its ledger, rollups, reports, exports, outbox...) stays in package sqlite,
// whose *DB picks this engine when its DSN is a postgres:// URL. This package knows nothing of the
// store: it imports no package of ours but migrations and the domain's error type, so the store
// and the test helpers (internal/testkit) can both import it without a cycle.
//
// While the server cannot be reached (a restart, a failover, a cut connection), every error the
// driver returns is a pledge.Error with code EUNAVAILABLE, which the handlers answer with 503
// (and Stripe retries); the pool reconnects by itself once the server is back.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/pledge-news/pledge/internal/pledge"
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

// lockedBegin begins a write transaction and takes its lock in one round trip to the server (two
// statements in one simple-protocol message).
var lockedBegin = "BEGIN; " + LockSQL

// writeLockKey marks a context whose transactions take the write lock (WithWriteLock).
type writeLockKey struct{}

// WithWriteLock returns ctx marked so that a transaction begun with it, on a pool of Open, takes
// the write lock (LockSQL) in the same message as its BEGIN: one round trip instead of two.
func WithWriteLock(ctx context.Context) context.Context {
	return context.WithValue(ctx, writeLockKey{}, true)
}

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
		return nil, unavailable(err)
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
	return c.PrepareContext(context.Background(), query)
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.Conn.PrepareContext(ctx, c.rb.Rebind(query))
	return st, unavailable(err)
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.Conn.ExecContext(ctx, c.rb.Rebind(query), args)
	return res, unavailable(err)
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.Conn.QueryContext(ctx, c.rb.Rebind(query), args)
	return rows, unavailable(err)
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if ctx.Value(writeLockKey{}) != nil && opts == (driver.TxOptions{}) {
		pc := c.Conn.Conn()
		if pc.IsClosed() {
			return nil, driver.ErrBadConn
		}
		tx, err := pc.BeginTx(ctx, pgx.TxOptions{BeginQuery: lockedBegin})
		if err != nil {
			// The BEGIN may have run and the lock failed (a timeout, a cancel): leave no aborted
			// transaction behind on a connection that stays in the pool. (A connection that
			// went away is closed, and database/sql takes a fresh one next time.)
			if !pc.IsClosed() && pc.PgConn().TxStatus() != 'I' {
				_, _ = pc.Exec(context.WithoutCancel(ctx), "ROLLBACK")
			}
			return nil, unavailable(fmt.Errorf("postgres: write lock: %w", err))
		}
		return txn{pgxTx{ctx: ctx, tx: tx}}, nil
	}
	tx, err := c.Conn.BeginTx(ctx, opts)
	if err != nil {
		return nil, unavailable(err)
	}
	return txn{tx}, nil
}

// pgxTx is a pgx transaction as database/sql's driver.Tx (what pgx's stdlib does for the
// transactions it begins).
type pgxTx struct {
	ctx context.Context
	tx  pgx.Tx
}

func (t pgxTx) Commit() error   { return t.tx.Commit(t.ctx) }
func (t pgxTx) Rollback() error { return t.tx.Rollback(t.ctx) }

func (c *conn) Ping(ctx context.Context) error { return unavailable(c.Conn.Ping(ctx)) }

// txn is pgx's transaction whose commit says when the server was out of reach.
type txn struct{ driver.Tx }

func (t txn) Commit() error { return unavailable(t.Tx.Commit()) }

// unavailable turns an error that means the server cannot be reached right now into an
// EUNAVAILABLE pledge.Error (wrapping it, so database/sql still sees driver.ErrBadConn and
// retries on a fresh connection); other errors pass unchanged.
func unavailable(err error) error {
	if err == nil || !IsUnavailable(err) {
		return err
	}
	return &pledge.Error{Code: pledge.EUNAVAILABLE, Message: "The database is unavailable. Please try again shortly.", Err: err}
}

// IsUnavailable reports whether err means the server could not be reached or went away: a
// refused or failed connection, a connection cut mid-statement, or the server shutting down,
// starting up or out of connections.
func IsUnavailable(err error) bool {
	var pe *pgconn.PgError
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &pe):
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" ||
			pe.Code == "53300"
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE):
		return true
	}
	return false
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

// Pipeline queues statements for one connection of a pool of Open and sends them to the server
// together (pgx's batch, one round trip for many statements), for bulk loads such as `pledge
// seed`: on PostgreSQL each statement sent on its own waits a round trip, which a load of
// millions of rows cannot afford. The statements run in whatever transaction the connection is
// in, one after another, in the order queued.
type Pipeline struct {
	conn  *sql.Conn
	batch pgx.Batch
	names []string
}

// NewPipeline returns a pipeline on c, a connection of a pool of Open.
func NewPipeline(c *sql.Conn) *Pipeline { return &Pipeline{conn: c} }

// Queue adds a statement in the store's SQL (rewritten as Open's pools rewrite it) with its
// arguments; name says which statement failed, if one does.
func (p *Pipeline) Queue(name, query string, args ...any) {
	for i, a := range args {
		if b, ok := a.(bool); ok {
			args[i] = flag(b)
		}
	}
	p.batch.Queue(rebinder.Rebind(query), args...)
	p.names = append(p.names, name)
}

// Len is the number of statements queued and not yet sent.
func (p *Pipeline) Len() int { return len(p.names) }

// Flush sends the queued statements and waits for all of them; it returns the first one's error.
func (p *Pipeline) Flush(ctx context.Context) error {
	if len(p.names) == 0 {
		return nil
	}
	err := p.conn.Raw(func(dc any) error {
		c, ok := dc.(*conn)
		if !ok {
			return fmt.Errorf("postgres: pipeline on a connection of another driver (%T)", dc)
		}
		br := c.Conn.Conn().SendBatch(ctx, &p.batch)
		for _, name := range p.names {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		return br.Close()
	})
	p.batch, p.names = pgx.Batch{}, p.names[:0]
	return unavailable(err)
}
