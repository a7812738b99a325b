// Package storetest opens the store for the tests of the packages that use it. (The store's own
// in-package tests open it themselves: they cannot import this package, which imports theirs.)
package storetest

import (
	"context"
	"testing"

	"github.com/pledge-news/pledge/internal/seal"
	"github.com/pledge-news/pledge/internal/sqlite"
	"github.com/pledge-news/pledge/internal/testkit"
)

// Open opens a fresh store of the test's own (testkit.StoreDSN), on clk's time when clk is not
// nil, and closes it when the test ends.
func Open(t testing.TB, clk *testkit.Clock) *sqlite.DB {
	t.Helper()
	return OpenAt(t, testkit.StoreDSN(t), clk)
}

// OpenAt is Open for the store at dsn: a second handle on a store the test already has. Each of
// opts changes the store before it opens (SealedBy).
func OpenAt(t testing.TB, dsn string, clk *testkit.Clock, opts ...Option) *sqlite.DB {
	t.Helper()
	db := sqlite.NewDB(dsn)
	if clk != nil {
		db.Now = clk.Now
	}
	for _, o := range opts {
		o(db)
	}
	if err := db.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Option changes a store before OpenAt opens it.
type Option func(*sqlite.DB)

// SealedBy opens the store with the data keys in keyFile, as PLEDGE_DATA_KEY_FILE names them
// (none when keyFile is "none").
func SealedBy(t testing.TB, keyFile string) Option {
	t.Helper()
	if keyFile == "none" {
		return func(*sqlite.DB) {}
	}
	s, err := seal.Load(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return func(db *sqlite.DB) { db.Sealer = s }
}
