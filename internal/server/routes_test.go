package server

import (
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestEveryRouteHasItsPolicy walks the router with every optional area on (demo mode, the
// newsletter opt-in): every route was registered through an area, so it has a policy, and the
// policies keep the rules DESIGN.md and the security tests rely on. A new route added straight
// on Echo, or under a policy that does not fit it, fails here.
func TestEveryRouteHasItsPolicy(t *testing.T) {
	s := newWiredServer(t, func(c *Config) { c.Demo, c.NewsletterOptIn = true, true })
	s.Handler()

	// The documented exceptions, each with its reason.
	noCSRF := map[string]string{
		"/webhooks/stripe":       "Stripe's signature",
		"/reminders/unsubscribe": "signed one-click link (RFC 8058)",
		"/mail/unsubscribe":      "signed one-click link (RFC 8058)",
		"/healthz":               "probe, no forms",
		"/readyz":                "probe, no forms",
		"/embed.js":              "script, no forms",
		"/static/*":              "files, no forms",
	}
	embedForms := []string{"/donate", "/remind", "/manage"} // posted from the prompt in an article page
	framed := []string{"/prompt", "/remind"}                // DESIGN.md: the prompt and what opens in its frame
	quiet := map[string]logRule{"/healthz": logNever, "/readyz": logNever,
		"/prompt": logFailures, "/embed.js": logFailures, "/static/*": logFailures}

	seen := map[string]bool{}
	for _, r := range s.echo.Routes() {
		p, ok := s.policies[r.Path]
		if !ok {
			t.Errorf("%s %s was registered without an area, so without a policy", r.Method, r.Path)
			continue
		}
		seen[r.Path] = true
		staff := r.Path == "/staff" || strings.HasPrefix(r.Path, "/staff/")
		if staff != (p == staffPolicy) {
			t.Errorf("%s %s: policy %s; the staff area and only it has the staff policy", r.Method, r.Path, p.name)
		}
		if why, ok := noCSRF[r.Path]; ok != (p.csrf == csrfNone) {
			t.Errorf("%s %s: policy %s; no CSRF check only for the documented exceptions (%q)", r.Method, r.Path, p.name, why)
		}
		if r.Method == http.MethodPost && p.csrf == csrfNone && noCSRF[r.Path] == "" {
			t.Errorf("POST %s is not CSRF-protected", r.Path)
		}
		if got, want := p.csrf == csrfEmbed, slices.Contains(embedForms, r.Path); got != want {
			t.Errorf("%s %s: trusts the article origins %v, want %v", r.Method, r.Path, got, want)
		}
		if got, want := p.framed, slices.Contains(framed, r.Path); got != want {
			t.Errorf("%s %s: framed %v, want %v", r.Method, r.Path, got, want)
		}
		if got, want := p.logs, quiet[r.Path]; got != want {
			t.Errorf("%s %s: log rule %d, want %d", r.Method, r.Path, got, want)
		}
		if p.ownCookies != staff {
			t.Errorf("%s %s: keeps its cookies in protective mode: %v", r.Method, r.Path, p.ownCookies)
		}
	}
	for _, p := range append(append(slices.Collect(maps.Keys(noCSRF)), embedForms...), framed...) {
		if !seen[p] {
			t.Errorf("%s is listed here but not registered", p)
		}
	}
	for p, pol := range s.policies { // direct routes too, which echo does not list
		if pol.framed && !slices.Contains(framed, p) {
			t.Errorf("%s is framed but not listed here", p)
		}
	}
}

// TestPoliciesApplyToTheirRoutes checks the policies' effect through the server: the framed
// routes' answers, the reader forms' trust in the article origin (a POST only), the staff area's
// refusal of it, and the quiet routes' missing log lines.
func TestPoliciesApplyToTheirRoutes(t *testing.T) {
	var logs strings.Builder
	s := newWiredServer(t, func(c *Config) { c.NewsletterOptIn = true })
	s.logger = slog.New(slog.NewTextHandler(&logs, nil))
	h := s.Handler()

	fromArticle := func(method, target string) int {
		req := httptest.NewRequest(method, target, strings.NewReader(url.Values{"step": {"update"}, "frequency": {"once"}, "currency": {"usd"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-site")
		req.Header.Set("Origin", "https://news.example")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if got := fromArticle(http.MethodPost, "/donate"); got != http.StatusOK {
		t.Errorf("POST /donate from the article origin = %d, want 200", got)
	}
	for _, p := range []string{"/staff/login", "/newsletter", "/manage/x"} {
		if got := fromArticle(http.MethodPost, p); got != http.StatusForbidden {
			t.Errorf("POST %s from the article origin = %d, want 403", p, got)
		}
	}

	logs.Reset()
	for _, p := range []string{"/healthz", "/readyz", "/prompt?article=https://news.example/a", "/embed.js"} {
		do(h, http.MethodGet, p, nil)
	}
	if strings.Contains(logs.String(), "route=") {
		t.Errorf("quiet routes were logged:\n%s", logs.String())
	}
	do(h, http.MethodGet, "/donate", nil)
	if !strings.Contains(logs.String(), "route=/donate") {
		t.Errorf("GET /donate was not logged:\n%s", logs.String())
	}

	// A route added without an area (as a test may) and a path with no route get the page policy:
	// CSRF-checked, never framed.
	s.echo.POST("/unlisted", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	for _, p := range []string{"/unlisted", "/no/such/page"} {
		rec := do(h, http.MethodPost, p, nil)
		if rec.Code != http.StatusForbidden && rec.Code != http.StatusBadRequest {
			t.Errorf("POST %s without a token = %d, want 403", p, rec.Code)
		}
		if rec.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("POST %s: X-Frame-Options %q", p, rec.Header().Get("X-Frame-Options"))
		}
	}
}

// TestOnePathOnePolicy: two areas claiming one path is a mistake caught at start.
func TestOnePathOnePolicy(t *testing.T) {
	s := newTestServer(t)
	e := echo.New()
	s.area(e, "", pagePolicy).GET("/x", func(c echo.Context) error { return nil })
	defer func() {
		if recover() == nil {
			t.Error("a second policy for /x was accepted")
		}
	}()
	s.area(e, "", embedFormPolicy).POST("/x", func(c echo.Context) error { return nil })
}
