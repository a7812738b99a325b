package testkit

import (
	"sync"
	"testing"
	"time"
)

func TestClockMovesOnlyByHand(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewClock(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("NewClock: Now = %v, want %v", got, start)
	}
	c.Add(90 * time.Minute)
	if got, want := c.Now(), start.Add(90*time.Minute); !got.Equal(want) {
		t.Fatalf("after Add: Now = %v, want %v", got, want)
	}
	// Set goes anywhere, backwards too, as a test replaying events at their own times does.
	back := start.Add(-24 * time.Hour)
	c.Set(back)
	if got := c.Now(); !got.Equal(back) {
		t.Fatalf("after Set: Now = %v, want %v", got, back)
	}
	// Safe for concurrent use (the race detector checks the rest): 100 Adds of a second each.
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() { defer wg.Done(); c.Add(time.Second); c.Now() }()
	}
	wg.Wait()
	if got, want := c.Now(), back.Add(100*time.Second); !got.Equal(want) {
		t.Fatalf("after 100 concurrent Adds: Now = %v, want %v", got, want)
	}
}
