package sqlite

import "context"

// RebuildDerived recomputes everything derived from the ledger's rows (the rollups, the revenue
// spans, supporters' totals and first gifts) from scratch, as an upgrade does: for the tests of
// package sqlite_test that compare what the events kept up to date with its recomputation.
func RebuildDerived(db *DB) error {
	return db.inTx(context.Background(), func(tx *Tx) error { return rebuildDerived(context.Background(), tx) })
}
