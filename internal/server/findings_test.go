package server

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/sqlite"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
	"github.com/pledge-news/pledge/web"
)

// TestRequestIDOnlyASafeToken (issue 13, finding g): a client's X-Request-Id is echoed and
// logged only when it is a short token of safe characters; anything else (log injection, a
// reader's address, a megabyte) is replaced by a fresh id.
func TestRequestIDOnlyASafeToken(t *testing.T) {
	var logs bytes.Buffer
	base, _ := url.Parse("http://pledge.test")
	s, err := New(Config{BaseURL: base, Org: "The Daily Test", Secret: []byte("0123456789abcdef0123456789abcdef")},
		os.DirFS("../../web"), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	safe := regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	for _, tc := range []struct {
		in   string
		keep bool
	}{
		{"abc-123_X.9", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"reader@example.com", false},
		{"x\" level=ERROR msg=forged", false},
		{"<script>alert(1)</script>", false},
		{"id with spaces", false},
	} {
		logs.Reset()
		rec := do(h, "GET", "/nope", map[string]string{"X-Request-Id": tc.in, "Accept": "text/html"})
		got := rec.Header().Get("X-Request-Id")
		if tc.keep && got != tc.in {
			t.Errorf("X-Request-Id %q answered %q, want it kept", tc.in, got)
		}
		if !tc.keep && (got == tc.in || !safe.MatchString(got)) {
			t.Errorf("X-Request-Id %q answered %q, want a fresh id", tc.in, got)
		}
		if !tc.keep && (strings.Contains(logs.String(), tc.in) || strings.Contains(rec.Body.String(), tc.in)) {
			t.Errorf("X-Request-Id %q reached the log or the page:\n%s", tc.in, logs.String())
		}
		if !strings.Contains(logs.String(), "request_id="+got) {
			t.Errorf("the log does not carry the id answered (%q):\n%s", got, logs.String())
		}
	}
}

// articleSiteEnv is a server on support.news.example whose prompt news.example embeds, with an
// admin signed in and one supporter to erase.
type articleSiteEnv struct {
	db      *sqlite.DB
	srv     *Server
	session string
}

func newArticleSiteEnv(t *testing.T) *articleSiteEnv {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, nil)
	if _, err := db.CreateStaff(ctx, adminEmail, password, pledge.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	tx, _ := db.BeginTx(ctx)
	if _, err := tx.ExecContext(ctx, `INSERT INTO supporters (id, stripe_customer_id, email, created_at, updated_at)
		VALUES (42, 'cus_x', 'reader@example.org', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	tx.Commit()
	u, _ := url.Parse("http://support.news.example")
	srv, err := New(Config{BaseURL: u, Org: "Test Gazette", Secret: []byte(strings.Repeat("k", 32)),
		EmbedOrigins: []string{"http://support.news.example", "http://news.example"}}, web.FS,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.Checkouts, srv.Staff, srv.Reports, srv.Supporters, srv.Exports = db, db, db, db, db
	srv.Handler()
	sess, err := db.SignIn().Login(ctx, adminEmail, password, "192.0.2.9", "")
	if err != nil {
		t.Fatal(err)
	}
	return &articleSiteEnv{db: db, srv: srv, session: sess.Token}
}

// get requests path with the cookies given and returns the response and the form token on it.
func (e *articleSiteEnv) get(t *testing.T, path string, header map[string]string, cookies ...*http.Cookie) (*httptest.ResponseRecorder, string) {
	t.Helper()
	req := httptest.NewRequest("GET", "http://support.news.example"+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	token := ""
	if m := csrfField.FindStringSubmatch(rec.Body.String()); m != nil {
		token = m[1]
	}
	return rec, token
}

func (e *articleSiteEnv) post(t *testing.T, path string, form url.Values, header map[string]string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("POST", "http://support.news.example"+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

func (e *articleSiteEnv) erased(t *testing.T) bool {
	var erased sql.NullInt64
	e.db.Reader().QueryRow(`SELECT erased_at FROM supporters WHERE id = 42`).Scan(&erased)
	return erased.Valid
}

// TestStaffFormsHaveTheirOwnCSRFToken (issue 13, finding a): in a browser without Fetch Metadata,
// a script on the article site can read the reader forms' CSRF token (credentialed CORS on
// /prompt, which hands it the token and sets its cookie). That token must not open the staff
// forms, and a staff form must refuse any Origin but Pledge's own, even with a good staff token.
func TestStaffFormsHaveTheirOwnCSRFToken(t *testing.T) {
	e := newArticleSiteEnv(t)
	staff := &http.Cookie{Name: "pledge_staff", Value: e.session}
	// What the article origin's script gets from /prompt: the reader token and its cookie.
	rec, readerToken := e.get(t, "/prompt?article=http://news.example/a", map[string]string{"Origin": "http://news.example"})
	if rec.Code != http.StatusOK || readerToken == "" || rec.Header().Get("Access-Control-Allow-Origin") != "http://news.example" {
		t.Fatalf("/prompt = %d, token %q, CORS %q", rec.Code, readerToken, rec.Header().Get("Access-Control-Allow-Origin"))
	}
	var readerCookies []*http.Cookie
	readerCookies = append(readerCookies, rec.Result().Cookies()...)
	for name, hdr := range map[string]map[string]string{
		"from the article origin": {"Origin": "http://news.example"},
		"without an Origin":       {},
	} {
		res := e.post(t, "/staff/supporters/42/erase", url.Values{"_csrf": {readerToken}, "confirm": {"erase"}}, hdr,
			append([]*http.Cookie{staff}, readerCookies...)...)
		if res.Code != http.StatusForbidden || e.erased(t) {
			t.Fatalf("a staff form with the reader token (%s): %d, erased %v; want 403", name, res.Code, e.erased(t))
		}
	}
	// The staff token itself, from a staff page.
	rec, staffToken := e.get(t, "/staff/supporters/42/erase", nil, staff)
	if rec.Code != http.StatusOK || staffToken == "" || staffToken == readerToken {
		t.Fatalf("erase confirmation = %d, staff token %q (reader's %q)", rec.Code, staffToken, readerToken)
	}
	staffCookies := append([]*http.Cookie{staff}, rec.Result().Cookies()...)
	for _, origin := range []string{"http://news.example", "https://evil.example", "null"} {
		res := e.post(t, "/staff/supporters/42/erase", url.Values{"_csrf": {staffToken}, "confirm": {"erase"}},
			map[string]string{"Origin": origin}, staffCookies...)
		if res.Code != http.StatusForbidden || e.erased(t) {
			t.Fatalf("a staff form with the staff token from Origin %s: %d, erased %v; want 403", origin, res.Code, e.erased(t))
		}
	}
	res := e.post(t, "/staff/supporters/42/erase", url.Values{"_csrf": {staffToken}, "confirm": {"erase"}},
		map[string]string{"Origin": "http://support.news.example"}, staffCookies...)
	if res.Code != http.StatusSeeOther || !e.erased(t) {
		t.Fatalf("the staff form from Pledge's own origin with its token: %d, erased %v; want 303", res.Code, e.erased(t))
	}
}

// TestStaffCSRFTokenRenewedAtSignIn (issue 13, finding h): the token a visitor had before
// signing in (which a page could have planted or read) stops working once they sign in.
func TestStaffCSRFTokenRenewedAtSignIn(t *testing.T) {
	e := newStaffEnv(t, "http://localhost")
	c := e.client()
	before := c.csrf("/staff/login")
	res, _ := c.do("POST", "/staff/login", url.Values{"_csrf": {before}, "email": {adminEmail}, "password": {password}})
	wantRedirect(t, res, "/staff")
	res, _ = c.do("POST", "/staff/logout", url.Values{"_csrf": {before}})
	wantStatus(t, res, http.StatusForbidden)
	after := c.csrf("/staff")
	if after == before {
		t.Fatalf("the staff pages still carry the pre-login token %q", before)
	}
	res, _ = c.do("POST", "/staff/logout", url.Values{"_csrf": {after}})
	wantRedirect(t, res, "/staff/login")
}

// TestExportsAndDataRequestsRefuseCrossSite (issue 13, finding i): the exports and a supporter's
// data download stay GETs (the outside contract lists them, and the dashboard links to them), but
// only a same-origin navigation (or one the person typed) starts them: a link or image on
// another site, or a sibling subdomain, cannot make an admin's browser download readers' data
// (and write the audit log). Browsers without Fetch Metadata must show Pledge's own Referer.
func TestExportsAndDataRequestsRefuseCrossSite(t *testing.T) {
	e := newStaffEnv(t, "http://localhost")
	if err := e.db.Seed(context.Background(), sqlite.SeedOptions{Donations: 20, Rand: 4}); err != nil {
		t.Fatal(err)
	}
	list, err := e.db.ListSupporters(context.Background(), pledge.SupporterFilter{Limit: 1})
	if err != nil || len(list) == 0 {
		t.Fatal("no supporter", err)
	}
	c := e.client()
	wantRedirect(t, c.login(adminEmail, password), "/staff")
	audits := func() int {
		log, err := e.db.AuditLog(context.Background(), 1000)
		if err != nil {
			t.Fatal(err)
		}
		return len(log)
	}
	for _, p := range []string{"/staff/export/donations.csv", "/staff/export/supporters.csv?from=2020-01-01",
		"/staff/supporters/" + itoa(list[0].ID) + "/data.json"} {
		for name, hdr := range map[string]map[string]string{
			"cross-site":                         {"Sec-Fetch-Site": "cross-site"},
			"same-site":                          {"Sec-Fetch-Site": "same-site"},
			"foreign Referer, no Fetch Metadata": {"Referer": "https://evil.example/page"},
			"no Fetch Metadata, no Referer":      {},
		} {
			before := audits()
			res, _ := c.doHeader("GET", p, nil, hdr)
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("GET %s (%s) = %d, want 403", p, name, res.StatusCode)
			}
			if audits() != before {
				t.Errorf("GET %s (%s) wrote the audit log", p, name)
			}
		}
		for name, hdr := range map[string]map[string]string{
			"same-origin":                    {"Sec-Fetch-Site": "same-origin"},
			"typed or bookmarked":            {"Sec-Fetch-Site": "none"},
			"own Referer, no Fetch Metadata": {"Referer": "http://localhost/staff"},
		} {
			if res, _ := c.doHeader("GET", p, nil, hdr); res.StatusCode != http.StatusOK {
				t.Errorf("GET %s (%s) = %d, want 200", p, name, res.StatusCode)
			}
		}
	}
}

// TestMetricsNotOnTheMainListener (issue 13, finding f): /metrics (route names, volumes, Go
// runtime details) is not served to the world on the main listener; `pledge serve` serves
// MetricsHandler on PLEDGE_METRICS_ADDR instead.
func TestMetricsNotOnTheMainListener(t *testing.T) {
	s := newTestServer(t)
	h := s.Handler()
	do(h, "GET", "/healthz", nil)
	if rec := do(h, "GET", "/metrics", nil); rec.Code != http.StatusNotFound {
		t.Errorf("GET /metrics on the main listener = %d, want 404", rec.Code)
	}
	rec := httptest.NewRecorder()
	s.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `pledge_http_requests_total{method="GET",route="/healthz",status="200"} 1`) {
		t.Errorf("MetricsHandler = %d:\n%.1000s", rec.Code, rec.Body.String())
	}
}

// TestSupporterViewsAreAudited (issue 13, item 4): every view of a supporter's page (by an admin
// or a viewer, and the erase confirmation, which shows it too) is in the audit log, beside data
// requests and exports: who looked at whom, and when, never the address.
func TestSupporterViewsAreAudited(t *testing.T) {
	e := newStaffEnv(t, "http://localhost")
	ctx := context.Background()
	tx, err := e.db.BeginTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO supporters (id, stripe_customer_id, email, created_at, updated_at)
		VALUES (42, 'cus_seen', 'seen.reader@example.org', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	a, v := e.client(), e.client()
	wantRedirect(t, a.login(adminEmail, password), "/staff")
	wantRedirect(t, v.login(viewerEmail, password), "/staff")
	for _, step := range []struct {
		c     *client
		path  string
		actor string
	}{
		{a, "/staff/supporters/42", adminEmail},
		{v, "/staff/supporters/42", viewerEmail},
		{a, "/staff/supporters/42/erase", adminEmail},
		{a, "/staff/supporters/42/data.json", adminEmail},
		{a, "/staff/export/supporters.csv", adminEmail},
	} {
		res, _ := step.c.doHeader("GET", step.path, nil, sameOrigin)
		wantStatus(t, res, http.StatusOK)
		log, err := e.db.AuditLog(ctx, 1)
		if err != nil || len(log) != 1 {
			t.Fatalf("audit log after GET %s: %v, %v", step.path, log, err)
		}
		if got := log[0]; got.Actor != step.actor || !strings.Contains(got.Subject, "supporter") && !strings.Contains(got.Subject, "supporters") {
			t.Errorf("GET %s by %s: latest audit entry %+v", step.path, step.actor, got)
		} else if strings.Contains(got.Subject+got.Detail, "seen.reader") {
			t.Errorf("the audit entry holds the reader's address: %+v", got)
		}
	}
	all, _ := e.db.AuditLog(ctx, 100)
	views := 0
	for _, en := range all {
		if en.Action == "view" && en.Subject == "supporter 42" {
			views++
		}
	}
	if views != 3 {
		t.Errorf("%d views of supporter 42 audited, want 3 (two pages and the erase confirmation):\n%+v", views, all)
	}
}
