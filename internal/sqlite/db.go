// Package sqlite is Pledge's store: one writer connection (every write transaction begins
// IMMEDIATE, so writers queue on the busy timeout instead of failing), a pool of readers, and the
// embedded migrations.
//
// The same store runs on PostgreSQL when its DSN is a postgres:// (or postgresql://) URL. The
// store's logic and SQL are shared: the SQL is written so that both engines read it (COALESCE,
// ON CONFLICT ... DO, count(*) FILTER, string_agg, quoted "end"), and package internal/postgres
// holds the engine itself: pgx's database/sql driver, which rewrites each statement once into
// PostgreSQL's dialect (placeholders, planner hints, scalar max/min, IS), the schema's migrations
// and the write lock. The few steps that differ (the write lock, the catalogue look-ups, the
// case-insensitive comparisons, the file-level forgetting) are in engine.go. The engine lives in
// its own package because it needs nothing of the store's, so the test helpers in
// internal/testkit can use it (to make template databases) without importing the store.
package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/pressly/goose/v3"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/postgres"
	"github.com/pledge-news/pledge/migrations"
)

// DB is the store. Its methods implement the service interfaces of package pledge.
type DB struct {
	// Path is the SQLite file, or the postgres:// URL of a PostgreSQL database.
	Path string
	// Now returns the current time; tests replace it.
	Now func() time.Time
	// StaffIdle is how long a staff session lives without use (DefaultStaffIdle when zero).
	StaffIdle time.Duration
	// Sealer, when set before Open, seals readers' addresses and names at rest (see Sealer).
	Sealer Sealer
	// SealBatch and SealProgress tune and report the re-sealing Open does (SealAll).
	SealBatch    int
	SealProgress SealProgress

	write *sql.DB
	read  *sql.DB
	migr  fs.FS
	// pg: the database is PostgreSQL (Path is a postgres:// URL).
	pg bool

	// signIn signs staff in over this store (SignIn).
	signIn *pledge.SignIn

	group       chan *groupWrite
	groupMu     sync.RWMutex
	groupClosed bool
	closing     chan struct{}
	groupDone   chan struct{}

	// forgetKick asks runForget to checkpoint and truncate the WAL soon (after a purge).
	forgetKick chan struct{}
	forgetDone chan struct{}
}

// The services of package pledge that the store provides, one file each (deferral.go serves the
// reminders' queue too, mail.go the statements and the e-mails' queue, supporter.go the newsletter).
var (
	_ pledge.CheckoutService   = (*DB)(nil)
	_ pledge.DeferralService   = (*DB)(nil)
	_ pledge.ExperimentService = (*DB)(nil)
	_ pledge.ExportService     = (*DB)(nil)
	_ pledge.LedgerService     = (*DB)(nil)
	_ pledge.MailQueue         = (*DB)(nil)
	_ pledge.MailService       = (*DB)(nil)
	_ pledge.ManageService     = (*DB)(nil)
	_ pledge.NewsletterService = (*DB)(nil)
	_ pledge.PromptStatService = (*DB)(nil)
	_ pledge.ReminderQueue     = (*DB)(nil)
	_ pledge.ReportService     = (*DB)(nil)
	_ pledge.SettlementService = (*DB)(nil)
	_ pledge.StaffService      = (*DB)(nil)
	_ pledge.SignInStore       = (*DB)(nil)
	_ pledge.StatementService  = (*DB)(nil)
	_ pledge.SupporterService  = (*DB)(nil)
)

// NewDB returns a store for the SQLite file at path, or for the PostgreSQL database when path is
// a postgres:// or postgresql:// URL. Call Open before use.
func NewDB(path string) *DB {
	db := &DB{Path: path, Now: time.Now, migr: migrations.FS}
	db.signIn = pledge.NewSignIn(db, func() time.Time { return db.Now() })
	if postgres.IsURL(path) {
		db.pg, db.migr = true, postgres.Migrations
	}
	return db
}

// Engine names the database engine: "sqlite" or "postgres".
func (db *DB) Engine() string {
	if db.pg {
		return "postgres"
	}
	return "sqlite"
}

// driverName is the go-sqlite3 driver with a connect hook for the pragmas the DSN cannot carry.
const driverName = "sqlite3_pledge"

// journalSizeLimit bounds the WAL file kept after a checkpoint: without it the file keeps its
// largest size, and the old page images in it (erased addresses among them) stay until
// overwritten.
const journalSizeLimit = 4 << 20

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec(fmt.Sprintf("PRAGMA journal_size_limit = %d", journalSizeLimit), nil)
		return err
	}})
}

// dsn carries every pragma, so that each pooled connection has them (a PRAGMA run with Exec
// reaches only the one connection that ran it).
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Set("_foreign_keys", "on")
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "10000")
	q.Set("_synchronous", "FULL")
	// Erased addresses are overwritten, not left in free pages.
	q.Set("_secure_delete", "on")
	// Reuse prepared statements: preparing is a third of the CPU of a webhook event otherwise.
	q.Set("_stmt_cache_size", "256")
	if readOnly {
		q.Set("_query_only", "on")
		q.Set("_txlock", "deferred")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens both pools and applies pending migrations.
func (db *DB) Open(ctx context.Context) (err error) {
	defer wrapErr(&err, "open")
	if db.Path == "" {
		return errors.New("no database path")
	}
	if err := db.openWriter(ctx); err != nil {
		return err
	}
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	if err := db.rebuildIfStale(ctx); err != nil {
		return err
	}
	if err := db.checkSealing(ctx); err != nil {
		return err
	}
	if db.Sealer != nil {
		// What was stored before sealing was turned on, or under a key being rotated away, is
		// sealed under the current key now.
		if _, err := db.SealAll(ctx, db.SealBatch, db.SealProgress); err != nil {
			return fmt.Errorf("seal readers' data: %w", err)
		}
	}
	// The writer connection that ran the start-up's work keeps its statements prepared (the
	// driver's cache holds up to _stmt_cache_size of them) and its page cache: after a first
	// start's migrations, about 1 MB of SQLite's heap that serving never uses again. A fresh
	// connection serves instead.
	if err := db.write.Close(); err != nil {
		return err
	}
	if err := db.openWriter(ctx); err != nil {
		return err
	}
	if db.read, err = db.openReaders(); err != nil {
		return err
	}
	n := max(4, 2*runtime.NumCPU())
	db.read.SetMaxOpenConns(n)
	db.read.SetMaxIdleConns(n)
	if err := db.read.PingContext(ctx); err != nil {
		return err
	}
	db.group = make(chan *groupWrite, maxGroup)
	db.closing = make(chan struct{})
	db.groupDone = make(chan struct{})
	go db.runGroupCommit()
	db.forgetKick = make(chan struct{}, 1)
	db.forgetDone = make(chan struct{})
	go db.runForget()
	return nil
}

// Close closes both pools.
func (db *DB) Close() error {
	db.groupMu.Lock()
	if db.closing != nil && !db.groupClosed {
		db.groupClosed = true
		close(db.closing)
		db.groupMu.Unlock()
		<-db.groupDone
		<-db.forgetDone
	} else {
		db.groupClosed = true
		db.groupMu.Unlock()
	}
	var errs []error
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	return errors.Join(errs...)
}

func (db *DB) provider() (*goose.Provider, error) {
	if db.pg {
		return postgresProvider(db.write, db.migr)
	}
	return goose.NewProvider(goose.DialectSQLite3, db.write, db.migr, goose.WithDisableGlobalRegistry(true))
}

// Migrate applies pending migrations, each in its own transaction, and returns the schema version.
// A failing migration is rolled back whole, leaving the database as it was before it.
func (db *DB) Migrate(ctx context.Context) (_ int64, err error) {
	defer wrapErr(&err, "migrate")
	p, err := db.provider()
	if err != nil {
		return 0, fmt.Errorf("load migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return 0, err
	}
	return p.GetDBVersion(ctx)
}

// Ready reports an error unless the database answers and its schema is current.
func (db *DB) Ready(ctx context.Context) (err error) {
	defer wrapErr(&err, "ready")
	if err := db.read.PingContext(ctx); err != nil {
		return fmt.Errorf("database does not answer: %w", err)
	}
	p, err := db.provider()
	if err != nil {
		return err
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return err
	}
	if current != target {
		return fmt.Errorf("schema version %d, want %d", current, target)
	}
	return nil
}

// Tx is a write transaction that carries the time it began, so that every row it writes agrees
// on "now" and tests can set it.
type Tx struct {
	*sql.Tx
	db  *DB
	now time.Time
	// release runs once the transaction ends: for an undurable one, it makes the writer
	// connection durable again and gives it back.
	release func()
	// forget is set by a transaction that drops readers' addresses: once it commits, the
	// write-ahead log is checkpointed and truncated soon (forgetSoon), so that they leave the disk
	// too.
	forget bool
}

// Commit commits the transaction.
func (tx *Tx) Commit() error {
	err := tx.Tx.Commit()
	tx.end()
	if err == nil && tx.forget {
		tx.db.forgetSoon()
	}
	return err
}

// Rollback abandons the transaction; after Commit it does nothing.
func (tx *Tx) Rollback() error {
	err := tx.Tx.Rollback()
	tx.end()
	return err
}

func (tx *Tx) end() {
	if tx.release != nil {
		tx.release()
		tx.release = nil
	}
}

// BeginTx starts a write transaction on the single writer connection. On PostgreSQL it first
// takes the store's advisory lock (postgres.LockSQL), held until commit or rollback, so that
// write transactions run one at a time across every instance on the database, as on SQLite.
func (db *DB) BeginTx(ctx context.Context) (_ *Tx, err error) {
	defer wrapErr(&err, "begin")
	tx, err := db.beginWrite(ctx, db.write.BeginTx)
	if err != nil {
		return nil, err
	}
	return &Tx{Tx: tx, db: db, now: db.Now().UTC().Truncate(time.Second)}, nil
}

// beginUndurable starts a write transaction whose commit does not wait for the disk: it
// survives the process crashing (the write is in the operating system's hands) but not the
// machine losing power before the next durable commit, which flushes it with its own. Only for
// rows that can be rebuilt from elsewhere (an open checkout, from its Stripe session's metadata).
// On SQLite it holds the writer connection, set to synchronous=NORMAL for this transaction only
// (SQLite refuses to change it inside one); on PostgreSQL it sets synchronous_commit off locally.
func (db *DB) beginUndurable(ctx context.Context) (*Tx, error) {
	if db.pg {
		tx, err := db.BeginTx(ctx)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit TO off`); err != nil {
			tx.Rollback()
			return nil, err
		}
		return tx, nil
	}
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return nil, err
	}
	release := func() {
		// A writer connection that cannot be made durable again must never commit again.
		if _, err := conn.ExecContext(context.Background(), `PRAGMA synchronous = FULL`); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); err != nil {
		release()
		return nil, err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		release()
		return nil, err
	}
	return &Tx{Tx: tx, db: db, now: db.Now().UTC().Truncate(time.Second), release: release}, nil
}

// beginWrite begins a write transaction with begin (the writer pool's BeginTx, or that of one of
// its connections). On PostgreSQL the BEGIN and the write lock go to the server in one message
// (postgres.WithWriteLock), so taking the lock costs no round trip of its own.
func (db *DB) beginWrite(ctx context.Context, begin func(context.Context, *sql.TxOptions) (*sql.Tx, error)) (*sql.Tx, error) {
	if db.pg {
		ctx = postgres.WithWriteLock(ctx)
	}
	return begin(ctx, nil)
}

// Reader returns the read-only pool, for queries that need no transaction.
func (db *DB) Reader() *sql.DB { return db.read }

// Secret returns the service's signing secret, generating and storing one on first use.
func (db *DB) Secret(ctx context.Context) (_ []byte, err error) {
	defer wrapErr(&err, "secret")
	tx, err := db.BeginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var s string
	err = tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'secret'`).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		s = hex.EncodeToString(b)
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('secret', ?)`, s); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return hex.DecodeString(s)
}

// unix returns t as Unix seconds, or nil for the zero time, for nullable columns.
func unix(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Unix()
}

// fromUnix turns a nullable Unix-seconds column back into a time (zero for NULL).
func fromUnix(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(n.Int64, 0).UTC()
}

// translate turns driver errors into domain errors at the store's edge.
func translate(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey) ||
		postgres.IsUniqueViolation(err) {
		return &pledge.Error{Code: pledge.ECONFLICT, Message: "That already exists."}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &pledge.Error{Code: pledge.ENOTFOUND, Message: "Not found."}
	}
	return err
}

// NewID returns a random identifier with a prefix, e.g. "co_5f0c...".
func NewID(prefix string) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + "_" + hex.EncodeToString(b)
}
