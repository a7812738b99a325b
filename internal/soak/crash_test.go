package soak

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/testkit"
)

// TestCrashRecovery kills the server with SIGKILL in the middle of a write-heavy load, starts it
// again on the same file and checks: integrity_check is ok, every acknowledged deferral and event
// is there, and Stripe's retries of the unacknowledged events (and of some acknowledged ones)
// are each applied exactly once.
func TestCrashRecovery(t *testing.T) {
	d := soakDuration(t)
	s := newServer(t, testkit.StripeMock(t))
	maxEvents := int(d.Seconds()*1500) + 2000
	prepareCheckouts(t, s.db, maxEvents)
	s.start()

	l := newLoad(maxEvents, mix{Prompt: 10, Remind: 40, Donate: 0, Webhook: 50}, s.base)
	ctx, cancel := context.WithTimeout(context.Background(), 2*d+30*time.Second)
	defer cancel()
	stopped := make(chan struct{})
	go func() { l.run(ctx, 64); close(stopped) }()

	// Crash once the load is well under way: half the duration, and writes acknowledged.
	start := time.Now()
	for {
		readers, acked, _ := l.snapshot()
		if time.Since(start) >= d/2 && len(readers) >= 20 && len(acked) >= 20 {
			break
		}
		if time.Since(start) > d+20*time.Second {
			t.Fatalf("the load acknowledged too little before the crash: %s", l.tally.String())
		}
		time.Sleep(10 * time.Millisecond) // polling a condition
	}
	s.kill()
	cancel()
	<-stopped
	readers, acked, unacked := l.snapshot()
	t.Logf("killed after %s: %d deferrals and %d events acknowledged, %d events unacknowledged; %s",
		time.Since(start).Round(time.Millisecond), len(readers), len(acked), len(unacked), l.tally.String())

	s.start()
	db := s.query(t)
	checkIntegrity(t, db)
	checkKept(t, db, readers, acked)

	// Stripe retries what it did not see acknowledged; it may also resend what was.
	resend := append([]int(nil), unacked...)
	resend = append(resend, acked[:min(len(acked), 25)]...)
	hc := &http.Client{Timeout: 30 * time.Second}
	for _, i := range resend {
		code, err := postEvent(context.Background(), hc, s.base, completedEvent(i))
		if err != nil || code/100 != 2 {
			t.Fatalf("re-delivering event %d after restart: %d, %v", i, code, err)
		}
	}
	for _, i := range resend {
		var events, donations int
		if err := db.QueryRow(`SELECT count(*) FROM stripe_events WHERE id = ?`, "evt_"+soakID(i)).Scan(&events); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`SELECT count(*) FROM donations WHERE checkout_id = ?`, "co_"+soakID(i)).Scan(&donations); err != nil {
			t.Fatal(err)
		}
		if events != 1 || donations != 1 {
			t.Errorf("event %d after re-delivery: recorded %d times, %d donations; want 1 and 1", i, events, donations)
		}
	}
	checkOnce(t, db)
	s.stop()
	checkIntegrity(t, db)
	scanLogs(t, s.logs())
}
