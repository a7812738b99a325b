package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/pledge"
)

// newTestServer builds a Server over the real templates with no services set; tests set the
// fields they need before calling Handler.
func newTestServer(t *testing.T, mutate ...func(*Config)) *Server {
	t.Helper()
	base, _ := url.Parse("http://pledge.test")
	cfg := Config{BaseURL: base, Org: "The Daily Test", Secret: []byte("0123456789abcdef0123456789abcdef"),
		EmbedOrigins: []string{"http://pledge.test", "https://news.example"}}
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := New(cfg, os.DirFS("../../web"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func do(h http.Handler, method, target string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestNotFoundIsHTMLForBrowsersAndJSONForAPIs(t *testing.T) {
	h := newTestServer(t).Handler()

	rec := do(h, "GET", "/no/such/page", map[string]string{"Accept": "text/html,application/xhtml+xml"})
	if rec.Code != http.StatusNotFound || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("browser: status %d, content-type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if body := rec.Body.String(); !strings.Contains(body, "Page not found") || !strings.Contains(body, "The Daily Test") {
		t.Errorf("browser 404 page lacks its heading or the newsroom's name:\n%s", body)
	}

	rec = do(h, "GET", "/no/such/page", map[string]string{"Accept": "application/json"})
	if rec.Code != http.StatusNotFound || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("API: status %d, content-type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var body apiError
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != "not_found" {
		t.Errorf("API 404 body %q (err %v)", rec.Body.String(), err)
	}
}

func TestInternalErrorsNeverShowTheirText(t *testing.T) {
	s := newTestServer(t)
	h := s.Handler()
	s.echo.GET("/boom", func(c echo.Context) error { return errors.New("secret database detail") })
	s.echo.GET("/bad", func(c echo.Context) error { return pledge.FieldErrorf("amount", "The minimum is $2.00.") })
	s.echo.GET("/panic", func(c echo.Context) error { panic("secret panic detail") })

	for _, path := range []string{"/boom", "/panic"} {
		for _, accept := range []string{"text/html", "application/json"} {
			rec := do(h, "GET", path, map[string]string{"Accept": accept})
			if rec.Code != http.StatusInternalServerError {
				t.Errorf("%s (%s): status %d, want 500", path, accept, rec.Code)
			}
			if strings.Contains(rec.Body.String(), "secret") {
				t.Errorf("%s (%s): response shows the internal error: %s", path, accept, rec.Body.String())
			}
		}
	}
	rec := do(h, "GET", "/bad", map[string]string{"Accept": "application/json"})
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "The minimum is $2.00.") ||
		!strings.Contains(rec.Body.String(), `"field":"amount"`) {
		t.Errorf("domain error: %d %s", rec.Code, rec.Body.String())
	}
}

func TestHealthAndReadiness(t *testing.T) {
	s := newTestServer(t)
	var readyErr error
	s.Ready = func(context.Context) error { return readyErr }
	h := s.Handler()
	if rec := do(h, "GET", "/healthz", nil); rec.Code != 200 {
		t.Errorf("/healthz = %d", rec.Code)
	}
	if rec := do(h, "GET", "/readyz", nil); rec.Code != 200 {
		t.Errorf("/readyz (ready) = %d", rec.Code)
	}
	readyErr = errors.New("schema version 1, want 2")
	if rec := do(h, "GET", "/readyz", nil); rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "schema") {
		t.Errorf("/readyz (not ready) = %d %s", rec.Code, rec.Body.String())
	}
	rec := do(s.MetricsHandler(), "GET", "/metrics", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `pledge_http_requests_total{method="GET",route="/readyz",status="503"} 1`) {
		t.Errorf("/metrics lacks the request counter by route and status:\n%.2000s", rec.Body.String())
	}
	if !strings.Contains(rec.Body.String(), "pledge_http_request_duration_seconds_bucket") {
		t.Error("/metrics lacks the latency histogram")
	}
	// The text format operators' scrapes read: each family typed, the latency histogram's buckets
	// (the same bounds as ever, cumulative, ending at +Inf), and the runtime's and the process's
	// series Prometheus's Go client wrote under these names.
	body := rec.Body.String()
	for _, want := range []string{
		"# TYPE pledge_http_requests_total counter\n",
		"# TYPE pledge_http_request_duration_seconds histogram\n",
		`pledge_http_request_duration_seconds_bucket{route="/readyz",le="0.0005"} `,
		`pledge_http_request_duration_seconds_bucket{route="/readyz",le="10"} 2` + "\n",
		`pledge_http_request_duration_seconds_bucket{route="/readyz",le="+Inf"} 2` + "\n",
		`pledge_http_request_duration_seconds_count{route="/readyz"} 2` + "\n",
		"\ngo_goroutines ", "\ngo_threads ", "\ngo_memstats_heap_inuse_bytes ", "\ngo_gc_duration_seconds_count ",
		"\nprocess_cpu_seconds_total ", "\nprocess_resident_memory_bytes ", "\nprocess_start_time_seconds ",
		"\nprocess_open_fds ", "\nprocess_max_fds ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("/metrics Content-Type %q", ct)
	}
}

// TestSeriesEscapesLabelValues: a label value with a quote, a backslash or a newline is written
// escaped, as the text format requires, so a strange route or event type cannot break a scrape.
func TestSeriesEscapesLabelValues(t *testing.T) {
	if got, want := series("x_total", "a", `q"b\c`+"\n", "b", "plain"), `x_total{a="q\"b\\c\n",b="plain"}`; got != want {
		t.Fatalf("series = %s, want %s", got, want)
	}
	if got := series("x_total"); got != "x_total" {
		t.Fatalf("series without labels = %s", got)
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := newTestServer(t, func(c *Config) { c.BaseURL, _ = url.Parse("https://support.news.example") }).Handler()
	rec := do(h, "GET", "/healthz", nil)
	want := map[string]string{
		"X-Content-Type-Options":    "nosniff",
		"Referrer-Policy":           "strict-origin-when-cross-origin",
		"X-Frame-Options":           "DENY",
		"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
	}
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	csp := rec.Header().Get("Content-Security-Policy")
	for _, part := range []string{"script-src 'self'", "frame-ancestors 'none'", "form-action 'self' https://checkout.stripe.com"} {
		if !strings.Contains(csp, part) {
			t.Errorf("CSP %q lacks %q", csp, part)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	// Plain http: no HSTS.
	rec = do(newTestServer(t).Handler(), "GET", "/healthz", nil)
	if got := rec.Header().Get("Strict-Transport-Security"); got != "" {
		t.Errorf("HSTS over http: %q", got)
	}
}

func TestStaticFiles(t *testing.T) {
	s := newTestServer(t)
	h := s.Handler()
	u, err := s.renderer.asset("css/pledge.css")
	if err != nil {
		t.Fatal(err)
	}
	rec := do(h, "GET", u, nil)
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") || !strings.Contains(rec.Body.String(), "--accent") {
		t.Errorf("hashed asset: %d %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	for _, p := range []string{"/static/..%2f..%2fgo.mod", "/static/../../go.mod", "/static/%2e%2e/%2e%2e/go.mod", "/static/", "/static/css/", "/static/css/nope.css"} {
		rec := do(h, "GET", p, nil)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "module ") {
			t.Errorf("GET %s leaked go.mod", p)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	s := newTestServer(t)
	h := s.Handler()
	s.echo.POST("/webhooks/echo", func(c echo.Context) error {
		_, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		return c.NoContent(200)
	})
	req := httptest.NewRequest("POST", "/webhooks/echo", strings.NewReader(strings.Repeat("x", 65*1024)))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize body: %d, want 413", rec.Code)
	}
}

func TestCSRFRefusesFormsWithoutToken(t *testing.T) {
	s := newTestServer(t)
	h := s.Handler()
	s.echo.POST("/form", func(c echo.Context) error { return c.NoContent(204) })
	req := httptest.NewRequest("POST", "/form", strings.NewReader("a=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest && rec.Code != http.StatusForbidden {
		t.Errorf("POST without CSRF token = %d, want 400 or 403", rec.Code)
	}
	// A cross-site browser post from an origin that is not configured is refused too.
	req = httptest.NewRequest("POST", "/form", strings.NewReader("a=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("cross-site POST = %d, want 403", rec.Code)
	}
	// The configured article origin may post the embedded prompt's forms (POST /donate here,
	// redrawing the form), and no other route.
	req = httptest.NewRequest("POST", "/donate", strings.NewReader("step=update&frequency=once&currency=usd"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-site")
	req.Header.Set("Origin", "https://news.example")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("POST /donate from the configured article origin = %d, want 200", rec.Code)
	}
	req = httptest.NewRequest("POST", "/form", strings.NewReader("a=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-site")
	req.Header.Set("Origin", "https://news.example")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("POST /form from the article origin = %d, want 403 (only the reader forms trust it)", rec.Code)
	}
}

func TestClientIPBelievesOnlyTrustedProxies(t *testing.T) {
	_, proxy, _ := net.ParseCIDR("10.0.0.0/8")
	for _, tt := range []struct {
		name    string
		trusted []*net.IPNet
		remote  string
		want    string
	}{
		{"no proxies configured: X-Forwarded-For ignored", nil, "192.0.2.1:1234", "192.0.2.1"},
		{"from a trusted proxy: believed", []*net.IPNet{proxy}, "10.1.2.3:1234", "198.51.100.7"},
		{"from elsewhere: ignored", []*net.IPNet{proxy}, "192.0.2.1:1234", "192.0.2.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, func(c *Config) { c.TrustedProxies = tt.trusted })
			h := s.Handler()
			var got string
			s.echo.GET("/ip", func(c echo.Context) error { got = c.RealIP(); return nil })
			req := httptest.NewRequest("GET", "/ip", nil)
			req.RemoteAddr = tt.remote
			req.Header.Set("X-Forwarded-For", "198.51.100.7")
			h.ServeHTTP(httptest.NewRecorder(), req)
			if got != tt.want {
				t.Errorf("RealIP = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSignedCookies(t *testing.T) {
	s := newTestServer(t)
	now := mustTime(t, "2026-06-01T00:00:00Z")
	signed := s.sign(cookieDeferral, "week", now.Add(time.Hour))
	if v, ok := s.verify(cookieDeferral, signed, now); !ok || v != "week" {
		t.Fatalf("verify(valid) = %q, %v", v, ok)
	}
	if _, ok := s.verify(cookieDeferral, signed, now.Add(2*time.Hour)); ok {
		t.Error("expired value verified")
	}
	if _, ok := s.verify(cookieSupporter, signed, now); ok {
		t.Error("value signed for one cookie verified as another")
	}
	tampered := strings.Replace(signed, "week", "year", 1)
	if _, ok := s.verify(cookieDeferral, tampered, now); ok {
		t.Error("tampered value verified")
	}
	for _, junk := range []string{"", "|", "a|b", "week|notanumber|mac"} {
		if _, ok := s.verify(cookieDeferral, junk, now); ok {
			t.Errorf("junk %q verified", junk)
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
