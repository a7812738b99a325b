package sqlite

import (
	"database/sql"
	"fmt"
	"testing"

	"github.com/pledge-news/pledge/internal/pledge"
)

func TestWrapErrNamesTheOperationAndKeepsTheCode(t *testing.T) {
	op := func(name string, err error) (out error) {
		defer wrapErr(&out, name)
		return err
	}
	if err := op("find checkout", nil); err != nil {
		t.Fatalf("no error: got %v", err)
	}
	err := op("find checkout", translate(sql.ErrNoRows))
	if got, want := err.Error(), "store: find checkout: pledge error: code=not_found message=Not found."; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if got, want := pledge.ErrorCode(err), pledge.ENOTFOUND; got != want {
		t.Fatalf("ErrorCode = %q, want %q", got, want)
	}
	if got, want := pledge.ErrorMessage(err), "Not found."; got != want {
		t.Fatalf("ErrorMessage = %q, want %q", got, want)
	}
	// An exported method calling another names both, the caller first, with one prefix.
	inner := op("write grouped", fmt.Errorf("boom"))
	if got, want := op("apply event", inner).Error(), "store: apply event: write grouped: boom"; got != want {
		t.Fatalf("nested: %q, want %q", got, want)
	}
}
