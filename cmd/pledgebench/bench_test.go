package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

func TestAttackCountsOnlyTheWantedStatus(t *testing.T) {
	var hits, created atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1)%3 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		created.Add(1)
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	res := attack(context.Background(), "t", 4, 200*time.Millisecond, http.StatusCreated, staticTargeter("POST", srv.URL, []byte("a=1"), nil))
	if res.Total == 0 || int64(res.Total) != hits.Load() {
		t.Fatalf("attack counted %d requests, the server saw %d", res.Total, hits.Load())
	}
	if int64(res.OK) != created.Load() || res.Codes[http.StatusServiceUnavailable] != res.Total-res.OK {
		t.Fatalf("ok %d (server created %d), codes %v", res.OK, created.Load(), res.Codes)
	}
	if len(res.Latencies) != res.OK || res.Elapsed <= 0 || res.Rate() <= 0 {
		t.Fatalf("latencies %d, elapsed %s, rate %f", len(res.Latencies), res.Elapsed, res.Rate())
	}
}

func TestBenchEventsAreDistinctAndVerify(t *testing.T) {
	const secret = "whsec_test_bench"
	seen := map[string]bool{}
	for i := range 3 {
		payload := sessionCompletedEvent("run1", i, time.Now())
		ev, err := webhook.ConstructEvent(payload, signature(payload, secret), secret)
		if err != nil {
			t.Fatalf("event %d does not verify: %v", i, err)
		}
		if ev.Type != "checkout.session.completed" || ev.Data.Object["metadata"].(map[string]any)["pledge_checkout"] != "co_"+benchID("run1", i) {
			t.Fatalf("event %d: type %s, object %v", i, ev.Type, ev.Data.Object)
		}
		if seen[ev.ID] {
			t.Fatalf("event id %s repeated", ev.ID)
		}
		seen[ev.ID] = true
		if _, err := webhook.ConstructEvent(payload, signature(payload, "whsec_other"), secret); err == nil {
			t.Fatal("an event signed with another secret verified")
		}
	}
}

func TestBenchLineFormat(t *testing.T) {
	re := regexp.MustCompile(`^BENCH [a-z-]+ value=-?[0-9.]+[a-zA-Z/]+ baseline=[0-9.]+[a-zA-Z/]+ ratio=[0-9.]+ target=[<>]=[0-9.]+[a-zA-Z]* (ok|short)$`)
	for _, r := range []row{
		{Name: "prompt", Value: 8123.4, Baseline: 10000, Unit: "req/s", Ratio: 0.81, Target: ">=0.7", OK: true},
		{Name: "donate-overhead", Value: -0.12, Baseline: 1.2, Unit: "ms", Ratio: 0.9, Target: "<=2ms", OK: true},
		{Name: "memory", Value: 61, Baseline: 9.5, Unit: "MB", Ratio: 6.4, Target: "<=60MB"},
	} {
		if l := r.line(); !re.MatchString(l) {
			t.Errorf("%q does not have the BENCH line's shape", l)
		}
	}
}

func TestServerTiming(t *testing.T) {
	for h, want := range map[string]time.Duration{
		"app;dur=12.5":                12500 * time.Microsecond,
		"db;dur=3, total;dur=7":       7 * time.Millisecond,
		`app;desc="render";dur=0.250`: 250 * time.Microsecond,
	} {
		if got, ok := serverTiming(h); !ok || got != want {
			t.Errorf("serverTiming(%q) = %s, %v; want %s", h, got, ok, want)
		}
	}
	if _, ok := serverTiming(""); ok {
		t.Error("an empty header gave a time")
	}
}
