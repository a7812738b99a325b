package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pledge-news/pledge/internal/testkit/storetest"
)

// routeParam matches the :param and * parts of an Echo route, replaced by a harmless value to
// request it.
var routeParam = regexp.MustCompile(`:[A-Za-z_]+|\*`)

// newWiredServer is newTestServer with every service field that the SQLite store implements set
// to a real store in a temporary file, so that routes behave as in production up to the store.
func newWiredServer(t *testing.T, mutate ...func(*Config)) *Server {
	t.Helper()
	s := newTestServer(t, mutate...)
	db := storetest.Open(t, nil)
	s.Ready = db.Ready
	v, dbv := reflect.ValueOf(s).Elem(), reflect.ValueOf(db)
	for i := range v.NumField() {
		if f := v.Field(i); f.CanSet() && f.Kind() == reflect.Interface && f.IsNil() && dbv.Type().Implements(f.Type()) {
			f.Set(dbv)
		}
	}
	return s
}

// routes returns the registered routes of a method, with concrete paths to request.
func routes(s *Server, method string) []string {
	var out []string
	for _, r := range s.echo.Routes() {
		if r.Method == method {
			out = append(out, routeParam.ReplaceAllString(r.Path, "x"))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestEveryFormRefusesAPostWithoutCSRF walks the router: every POST route except Stripe's
// webhook (which carries a signature instead) and the signed one-click unsubscribe (RFC 8058,
// whose token is the authority) refuses a post that has neither a token nor a browser's
// same-origin word, and one from a foreign site.
func TestEveryFormRefusesAPostWithoutCSRF(t *testing.T) {
	// Demo mode registers every route there is (the demo's checkout form too).
	s := newWiredServer(t, func(c *Config) { c.Demo = true })
	h := s.Handler()
	posts := routes(s, http.MethodPost)
	t.Logf("POST routes: %v", posts)
	for _, want := range []string{"/donate", "/remind", "/manage", "/staff/login", "/demo/checkout/x"} {
		if !slices.Contains(posts, want) {
			t.Errorf("POST %s is not registered (routes: %v)", want, posts)
		}
	}
	for _, p := range posts {
		if strings.HasPrefix(p, "/webhooks/") || p == "/reminders/unsubscribe" || p == "/mail/unsubscribe" {
			continue
		}
		for name, hdr := range map[string]map[string]string{
			"no token":   {},
			"cross-site": {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
			"bad token":  {"X-CSRF-Token": "forged"},
		} {
			req := httptest.NewRequest(http.MethodPost, p, strings.NewReader(url.Values{"email": {"a@example.com"}, "password": {"x"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusForbidden && rec.Code != http.StatusBadRequest {
				t.Errorf("POST %s (%s) = %d, want 403", p, name, rec.Code)
			}
		}
	}
}

// TestEveryStaffRouteNeedsASession walks the router: every staff route but the login form sends a
// visitor without a session to the login page (or refuses), whatever the method.
func TestEveryStaffRouteNeedsASession(t *testing.T) {
	s := newWiredServer(t)
	h := s.Handler()
	n := 0
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		for _, p := range routes(s, method) {
			if !strings.HasPrefix(p, "/staff") || p == "/staff/login" {
				continue
			}
			n++
			req := httptest.NewRequest(method, p, strings.NewReader("q=1"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin") // past CSRF: the session is what is tested
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			switch {
			case rec.Code == http.StatusSeeOther || rec.Code == http.StatusFound:
				if loc := rec.Header().Get("Location"); !strings.HasPrefix(loc, "/staff/login") {
					t.Errorf("%s %s redirects to %q, want /staff/login", method, p, loc)
				}
			case rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden:
			default:
				t.Errorf("%s %s without a session = %d, want a redirect to /staff/login", method, p, rec.Code)
			}
			if strings.Contains(rec.Body.String(), "supporter") && rec.Code == 200 {
				t.Errorf("%s %s showed staff data without a session", method, p)
			}
		}
	}
	if n == 0 {
		t.Error("no staff routes registered")
	}
}

// TestEveryPostRefusesOversizeBodies: a body over the limit is refused before any handler or
// store sees it.
func TestEveryPostRefusesOversizeBodies(t *testing.T) {
	s := newWiredServer(t)
	h := s.Handler()
	big := "a=" + strings.Repeat("x", 1<<20)
	for _, p := range routes(s, http.MethodPost) {
		req := httptest.NewRequest(http.MethodPost, p, strings.NewReader(big))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("POST %s with 1 MB = %d, want 413", p, rec.Code)
		}
	}
}

// TestEveryPageCarriesTheSecurityHeaders walks the GET routes: each answer, whatever its status,
// carries CSP with frame-ancestors, nosniff, a Referrer-Policy and (over https) HSTS; only the
// framable routes let the article origins frame them.
func TestEveryPageCarriesTheSecurityHeaders(t *testing.T) {
	s := newWiredServer(t, func(c *Config) { c.BaseURL, _ = url.Parse("https://pledge.test") })
	h := s.Handler()
	for _, r := range s.echo.Routes() {
		if r.Method != http.MethodGet {
			continue
		}
		p := routeParam.ReplaceAllString(r.Path, "x")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		hd := rec.Header()
		csp := hd.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: CSP %q", p, csp)
		}
		framed := s.policies[r.Path].framed
		if framed != strings.Contains(csp, "https://news.example") {
			t.Errorf("GET %s: framed %v but frame-ancestors in %q", p, framed, csp)
		}
		if !framed && hd.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: X-Frame-Options %q", p, hd.Get("X-Frame-Options"))
		}
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "strict-origin-when-cross-origin",
			"Strict-Transport-Security": "max-age=63072000; includeSubDomains"} {
			if got := hd.Get(k); got != want {
				t.Errorf("GET %s: %s = %q, want %q", p, k, got, want)
			}
		}
	}
}
