package loop

import (
	"context"
	"testing"
	"time"
)

func TestEveryRunsOnScheduleAndKicksUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	kick := make(chan struct{})
	rounds := make(chan bool)
	done := make(chan struct{})
	go func() {
		Every(ctx, 0, time.Hour, kick, func(kicked bool) { rounds <- kicked })
		close(done)
	}()
	if kicked := <-rounds; kicked {
		t.Fatalf("first round: kicked = true, want the scheduled round")
	}
	kick <- struct{}{}
	if kicked := <-rounds; !kicked {
		t.Fatalf("round after a kick: kicked = false, want true")
	}
	cancel()
	select {
	case <-done:
	case kicked := <-rounds:
		t.Fatalf("a round (kicked %v) ran after the context ended, an hour early", kicked)
	case <-time.After(5 * time.Second):
		t.Fatal("Every did not return after the context ended")
	}
}
