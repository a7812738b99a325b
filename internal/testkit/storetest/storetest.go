// Package storetest opens the store for the tests of the packages that use it. (The store's own
// in-package tests open it themselves: they cannot import this package, which imports theirs.)
package storetest

import (
	"context"
	"testing"

	"github.com/pledge-news/pledge/internal/sqlite"
	"github.com/pledge-news/pledge/internal/testkit"
)

// Open opens a fresh store of the test's own (testkit.StoreDSN), on clk's time when clk is not
// nil, and closes it when the test ends.
func Open(t testing.TB, clk *testkit.Clock) *sqlite.DB {
	t.Helper()
	return OpenAt(t, testkit.StoreDSN(t), clk)
}

// OpenAt is Open for the store at dsn: a second handle on a store the test already has.
func OpenAt(t testing.TB, dsn string, clk *testkit.Clock) *sqlite.DB {
	t.Helper()
	db := sqlite.NewDB(dsn)
	if clk != nil {
		db.Now = clk.Now
	}
	if err := db.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
