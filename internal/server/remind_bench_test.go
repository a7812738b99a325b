//go:build unix

package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkRemind is the bench's remind row in process: a new reader's "remind me in a week"
// from fetch (JSON), through every middleware (the bench's rate limit included) and a durable
// group commit on a real SQLite file, from many goroutines at once as the row's 64 connections
// are. Besides the wall time it reports the process's CPU time per request (cpu-µs/op), which a
// busy machine disturbs less.
func BenchmarkRemind(b *testing.B) {
	f := newRemindFixture(b, Config{RemindLimit: Limit{N: 100_000_000, Per: time.Second}})
	body := url.Values{"choice": {"week"}, "article": {"https://news.example/2026/11/the-council-budget"}}.Encode()
	b.ReportAllocs()
	b.SetParallelism(32)
	before := cpuTime(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "http://support.test/remind", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", jsonAccept)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			req.Header.Set("Origin", "http://support.test")
			rec := httptest.NewRecorder()
			f.s.ServeHTTP(rec, req)
			if rec.Code != http.StatusCreated {
				b.Errorf("status %d: %s", rec.Code, rec.Body)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-before).Microseconds())/float64(b.N), "cpu-µs/op")
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
