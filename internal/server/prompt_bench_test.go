package server

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPrompt measures the prompt's hot path: signed-cookie checks, the form rendered from
// precomputed views, the view counted in memory.
func BenchmarkPrompt(b *testing.B) {
	f := newGivingFixture(b, okPayments(), quiet)
	req := httptest.NewRequest(http.MethodGet, "http://pledge.test/prompt?article=https://news.example/story", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Accept-Language", "en-GB,en;q=0.9")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkPromptNewReader is the request of make bench's prompt row: a client without cookies
// or Sec-Fetch-Site (a new CSRF token and its cookie each time) under the default view cap (a
// new view cookie each time).
func BenchmarkPromptNewReader(b *testing.B) {
	f := newGivingFixture(b, okPayments(), quiet, func(c *Config, _ *Server) { c.PromptViewCap = Limit{} })
	req := httptest.NewRequest(http.MethodGet, "http://pledge.test/prompt?article=https://news.example/story", nil)
	req.Header.Set("User-Agent", "Go-http-client/1.1")
	req.Header.Set("Accept-Encoding", "gzip")
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || len(rec.Result().Cookies()) != 2 {
			b.Fatalf("status %d, cookies %v", rec.Code, rec.Result().Cookies())
		}
	}
}

// discardWriter is a ResponseWriter that keeps nothing but a fresh header map per response, as
// net/http's: the benchmarks below measure the handler and not a recorder's copies.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(p)
	return len(p), nil
}

// BenchmarkPromptServe is BenchmarkPromptNewReader's request written to a discarding writer,
// and BenchmarkPromptPlain a plain handler replaying that response's headers and body, as make
// bench's baseline does: the difference is what the service adds to net/http's own work.
func BenchmarkPromptServe(b *testing.B) {
	f := newGivingFixture(b, okPayments(), quiet, func(c *Config, _ *Server) { c.PromptViewCap = Limit{} })
	req := httptest.NewRequest(http.MethodGet, "http://pledge.test/prompt?article=https://news.example/story", nil)
	req.Header.Set("User-Agent", "Go-http-client/1.1")
	req.Header.Set("Accept-Encoding", "gzip")
	h := f.srv.Handler()
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
}

func BenchmarkPromptPlain(b *testing.B) {
	f := newGivingFixture(b, okPayments(), quiet, func(c *Config, _ *Server) { c.PromptViewCap = Limit{} })
	req := httptest.NewRequest(http.MethodGet, "http://pledge.test/prompt?article=https://news.example/story", nil)
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	header, body := rec.Header().Clone(), rec.Body.Bytes()
	length := strconv.Itoa(len(body))
	plain := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range header {
			h[k] = v
		}
		h.Set("Content-Length", length)
		_, _ = w.Write(body)
	})
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		w := &discardWriter{h: http.Header{}}
		plain.ServeHTTP(w, req)
	}
}

// reportCPU reports the process's CPU time (user and system, the garbage collector's included)
// per operation, as make bench counts a server's: on a shared machine the wall time per operation
// also counts other processes' turns. Call it after the setup, and its result when the loop ends.
func reportCPU(b *testing.B) func() {
	start := processCPU()
	return func() { b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op") }
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
