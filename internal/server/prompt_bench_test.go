package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
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
