package sqlite

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// TestDeferUnderCancelledNeighbours: readers who give up mid-request (their context cancelled
// while the shared commit runs) never cost the others their deferral: every call that was not
// cancelled succeeds and its row is there.
func TestDeferUnderCancelledNeighbours(t *testing.T) {
	db := openTestDB(t)
	const n = 400
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			if i%3 == 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Duration(i%7)*100*time.Microsecond)
				defer cancel()
			}
			_, errs[i] = db.Defer(ctx, &pledge.Deferral{ReaderID: fmt.Sprint("rd_", i), Choice: pledge.ChoiceWeek})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i%3 != 0 && err != nil {
			t.Errorf("reader %d: %v", i, err)
		}
		if err == nil {
			var got int
			if err := db.read.QueryRow(`SELECT count(*) FROM deferrals WHERE reader_id = ?`, fmt.Sprint("rd_", i)).Scan(&got); err != nil || got != 1 {
				t.Errorf("reader %d was told its deferral was kept, but it has %d rows (%v)", i, got, err)
			}
		}
	}
}
