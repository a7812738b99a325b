package server

import (
	"encoding/hex"
	"strconv"
	"testing"
	"time"
)

// TestNewReaderIDSortsByTime: reader ids made later sort after earlier ones (so new readers'
// rows land at the end of the reader_id index), ids made in the same millisecond still differ,
// and the id is "rd_", the time in milliseconds, then random bytes.
func TestNewReaderIDSortsByTime(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 21, 30, 0, 0, time.UTC)
	ids := []string{newReaderID(t0), newReaderID(t0.Add(time.Millisecond)), newReaderID(t0.Add(time.Second)),
		newReaderID(t0.Add(400 * 24 * time.Hour))}
	for i := 1; i < len(ids); i++ {
		if !(ids[i-1] < ids[i]) {
			t.Errorf("%s made before %s sorts after it", ids[i-1], ids[i])
		}
	}
	seen := map[string]bool{}
	for range 1000 {
		id := newReaderID(t0)
		if seen[id] {
			t.Fatalf("%s made twice", id)
		}
		seen[id] = true
	}
	id := ids[0]
	if len(id) != len("rd_")+28 || id[:3] != "rd_" {
		t.Fatalf("id %q: want rd_ and 28 hex digits", id)
	}
	if _, err := hex.DecodeString(id[3:]); err != nil {
		t.Fatalf("id %q: %v", id, err)
	}
	if ms, err := strconv.ParseInt(id[3:15], 16, 64); err != nil || ms != t0.UnixMilli() {
		t.Errorf("id %q begins with %d, want the time %d", id, ms, t0.UnixMilli())
	}
}
