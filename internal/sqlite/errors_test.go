package sqlite

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// The store's errors name their operation, with the store named once.
func TestStoreErrorsNameTheOperationOnce(t *testing.T) {
	ctx := context.Background()
	if err := (&DB{}).Open(ctx); err == nil || err.Error() != "store: open: no database path" {
		t.Fatalf("Open without a path: %v", err)
	}
	need := func() (err error) {
		defer wrapErr(&err, "open")
		return ErrNeedKey
	}()
	if !errors.Is(need, ErrNeedKey) || !strings.HasPrefix(need.Error(), "store: open: the database holds") {
		t.Fatalf("a named cause: %q", need)
	}
	db := openTestDB(t)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for name, err := range map[string]error{
		"migrate": func() error { _, err := db.Migrate(canceled); return err }(),
		"begin":   func() error { _, err := db.BeginTx(canceled); return err }(),
	} {
		if err == nil || !strings.HasPrefix(err.Error(), "store: "+name+": ") || strings.Count(err.Error(), "store:") != 1 {
			t.Errorf("%s with a canceled context: %v", name, err)
		}
	}
}
