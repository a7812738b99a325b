package postgres

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// AdminEnv names the PostgreSQL server on which the tests and the bench make and drop their
// databases: a URL whose database they may connect to, to create and drop others.
// DefaultAdminURL is the server when it is unset.
const (
	AdminEnv        = "PLEDGE_TEST_POSTGRES"
	DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
)

// AdminURL returns the URL AdminEnv names (else DefaultAdminURL), or with db set, the URL of the
// same server's database db.
func AdminURL(db string) string {
	u := os.Getenv(AdminEnv)
	if u == "" {
		u = DefaultAdminURL
	}
	if db == "" {
		return u
	}
	return WithDatabase(u, db)
}

// madeAt begins the comment that dates a database (MarkMade).
const madeAt = "pledge: made at "

// MarkMade dates the database name (in its comment), so that StaleDatabases can tell its age.
func MarkMade(ctx context.Context, conn *pgx.Conn, name string) error {
	_, err := conn.Exec(ctx, fmt.Sprintf(`COMMENT ON DATABASE %s IS '%s%d'`, pgx.Identifier{name}.Sanitize(), madeAt, time.Now().Unix()))
	return err
}

// StaleDatabases names the databases whose names begin with prefix, other than keep, dated
// (MarkMade) more than age ago. A database without a date (made before databases were dated) is
// dated now, and so found stale once age has passed.
//
// The tests' template databases and the bench's seeded ones are named by a hash of the schema,
// and one server may serve several checkouts of the project at once (branches with different
// migrations, each testing or benchmarking): dropping another schema's database as soon as this
// one is made would fail the other's run.
func StaleDatabases(ctx context.Context, conn *pgx.Conn, prefix, keep string, age time.Duration) ([]string, error) {
	rows, err := conn.Query(ctx, `SELECT datname, coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database
		WHERE starts_with(datname, $1) AND datname <> $2`, prefix, keep)
	if err != nil {
		return nil, err
	}
	type database struct{ Name, Comment string }
	all, err := pgx.CollectRows(rows, pgx.RowToStructByPos[database])
	if err != nil {
		return nil, err
	}
	var stale []string
	for _, d := range all {
		made, err := strconv.ParseInt(strings.TrimPrefix(d.Comment, madeAt), 10, 64)
		if err != nil || !strings.HasPrefix(d.Comment, madeAt) {
			if err := MarkMade(ctx, conn, d.Name); err != nil {
				return nil, err
			}
			continue
		}
		if time.Since(time.Unix(made, 0)) > age {
			stale = append(stale, d.Name)
		}
	}
	return stale, nil
}
