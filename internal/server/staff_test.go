package server

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/sqlite"
	"github.com/pledge-news/pledge/internal/testkit"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
	"github.com/pledge-news/pledge/web"
)

const (
	adminEmail  = "admin@news.example"
	viewerEmail = "viewer@news.example"
	password    = "correct horse battery"
)

// staffEnv is a real server on a real SQLite file, with an admin and a viewer, and a clock the
// test can move.
type staffEnv struct {
	t     testing.TB
	db    *sqlite.DB
	srv   *Server
	http  *httptest.Server
	clock *testkit.Clock
}

func newStaffEnv(t testing.TB, baseURL string) *staffEnv {
	t.Helper()
	ctx := context.Background()
	clock := testkit.NewClock(time.Now().Truncate(time.Second))
	db := storetest.Open(t, clock)
	if _, err := db.CreateStaff(ctx, adminEmail, password, pledge.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateStaff(ctx, viewerEmail, password, pledge.RoleViewer); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(baseURL)
	srv, err := New(Config{BaseURL: u, Org: "Test Gazette", Secret: []byte(strings.Repeat("k", 32))}, web.FS,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.Ready = db.Ready
	srv.Checkouts, srv.Staff, srv.Reports, srv.Supporters, srv.Exports = db, db, db, db, db
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &staffEnv{t: t, db: db, srv: srv, http: hs, clock: clock}
}

// client is a browser stand-in: a cookie jar, no redirects followed, Accept: text/html.
type client struct {
	t    testing.TB
	base string
	hc   *http.Client
}

func (e *staffEnv) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, base: e.http.URL, hc: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(method, path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	return c.doHeader(method, path, form, nil)
}

// doHeader is do with extra request headers (Sec-Fetch-Site, Referer: what a browser adds).
func (c *client) doHeader(method, path string, form url.Values, header map[string]string) (*http.Response, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// sameOrigin is what a browser says of a navigation from Pledge's own pages.
var sameOrigin = map[string]string{"Sec-Fetch-Site": "same-origin"}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// csrf reads the form token from a page.
func (c *client) csrf(path string) string {
	c.t.Helper()
	_, body := c.do("GET", path, nil)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatalf("no _csrf field on %s", path)
	}
	return m[1]
}

func (c *client) login(email, pw string) *http.Response {
	c.t.Helper()
	res, _ := c.do("POST", "/staff/login", url.Values{"_csrf": {c.csrf("/staff/login")}, "email": {email}, "password": {pw}})
	return res
}

func (c *client) cookie(name string) string {
	u, _ := url.Parse(c.base)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

func (c *client) setCookie(name, value string) {
	u, _ := url.Parse(c.base)
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

func wantStatus(t testing.TB, res *http.Response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s %s = %d, want %d", res.Request.Method, res.Request.URL.Path, res.StatusCode, want)
	}
}

func wantRedirect(t testing.TB, res *http.Response, to string) {
	t.Helper()
	wantStatus(t, res, http.StatusSeeOther)
	if got := res.Header.Get("Location"); got != to {
		t.Fatalf("%s %s redirects to %q, want %q", res.Request.Method, res.Request.URL.Path, got, to)
	}
}

func TestStaffPagesNeedASession(t *testing.T) {
	e := newStaffEnv(t, "http://localhost")
	c := e.client()
	for _, p := range []string{"/staff", "/staff/supporters", "/staff/supporters/1", "/staff/export/donations.csv",
		"/staff/audit", "/staff/supporters/1/data.json", "/staff/nope"} {
		res, _ := c.do("GET", p, nil)
		wantRedirect(t, res, "/staff/login")
	}
	res, body := c.do("GET", "/staff/login", nil)
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(body, `<label for="password">`) {
		t.Error("the login page has no labelled password field")
	}
	// A forged cookie is no session either.
	c.setCookie("pledge_staff", "forged")
	res, _ = c.do("GET", "/staff", nil)
	wantRedirect(t, res, "/staff/login")
}

func TestStaffLogin(t *testing.T) {
	e := newStaffEnv(t, "http://localhost")
	c := e.client()
	res, body := c.do("POST", "/staff/login", url.Values{"_csrf": {c.csrf("/staff/login")}, "email": {adminEmail}, "password": {"wrong password!"}})
	wantStatus(t, res, http.StatusUnauthorized)
	if !strings.Contains(body, "do not match an account") {
		t.Errorf("wrong password page does not say so:\n%s", body)
	}
	if c.cookie("pledge_staff") != "" {
		t.Error("a wrong password set a session cookie")
	}
	res = c.login(adminEmail, password)
	wantRedirect(t, res, "/staff")
	var session *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "pledge_staff" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Lax, not Secure over http", session)
	}
	res, body = c.do("GET", "/staff", nil)
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(body, "<svg") || !strings.Contains(body, adminEmail) {
		t.Error("the dashboard shows no chart or not who is signed in")
	}
	if got := res.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
}

func TestStaffCookieOverHTTPS(t *testing.T) {
	e := newStaffEnv(t, "https://support.news.example")
	c := e.client()
	// Over https the CSRF cookie is Secure too, so the jar (talking http to the test server)
	// would not send it back: carry it by hand.
	res, body := c.do("GET", "/staff/login", nil)
	var csrfCookie *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "__Host-pledge_staff_csrf" {
			csrfCookie = ck
		}
	}
	token := csrfField.FindStringSubmatch(body)[1]
	req, _ := http.NewRequest("POST", e.http.URL+"/staff/login", strings.NewReader(url.Values{
		"_csrf": {token}, "email": {adminEmail}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(csrfCookie)
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	wantRedirect(t, res, "/staff")
	var session *http.Cookie
	for _, ck := range res.Cookies() {
		if strings.HasSuffix(ck.Name, "pledge_staff") {
			session = ck
		}
	}
	if session == nil || session.Name != "__Host-pledge_staff" || !session.Secure || !session.HttpOnly ||
		session.Path != "/" || session.Domain != "" || session.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie over https = %+v, want __Host-pledge_staff, Secure, HttpOnly, Path=/, no Domain, Lax", session)
	}
}

func TestStaffLockout(t *testing.T) {
	e := newStaffEnv(t, "http://localhost")
	c := e.client()
	for i := 1; i <= 5; i++ {
		res := c.login(adminEmail, "not the password")
		wantStatus(t, res, http.StatusUnauthorized)
	}
	res, body := c.do("POST", "/staff/login", url.Values{"_csrf": {c.csrf("/staff/login")}, "email": {adminEmail}, "password": {password}})
	wantStatus(t, res, http.StatusTooManyRequests)
	if !strings.Contains(body, "Too many failed sign-in attempts") {
		t.Errorf("the 429 page does not explain itself:\n%s", body)
	}
	// The lock is on this account from this address: a colleague on the same address signs in.
	wantRedirect(t, e.client().login(viewerEmail, password), "/staff")
	// Fifteen minutes later the account may try again.
	e.clock.Add(16 * time.Minute)
	wantRedirect(t, c.login(adminEmail, password), "/staff")
}

func TestStaffLockoutPerIP(t *testing.T) {
	e := newStaffEnv(t, "http://localhost")
	c := e.client()
	for i := 1; i <= pledge.LoginIPLimit; i++ {
		wantStatus(t, c.login("guess"+itoa(int64(i))+"@news.example", "not the password"), http.StatusUnauthorized)
	}
	// Password spraying: one more account from the same IP is refused before the password is
	// even checked.
	wantStatus(t, c.login(viewerEmail, password), http.StatusTooManyRequests)
}

func TestStaffNewSessionAtLogin(t *testing.T) {
	e := newStaffEnv(t, "http://localhost")
	c := e.client()
	wantRedirect(t, c.login(viewerEmail, password), "/staff")
	before := c.cookie("pledge_staff")
	if before == "" {
		t.Fatal("no session cookie")
	}
	// Signing in again (as someone else, on the same browser) must not keep the old id.
	wantRedirect(t, c.login(adminEmail, password), "/staff")
	after := c.cookie("pledge_staff")
	if after == "" || after == before {
		t.Fatalf("session id kept across login: before %q, after %q", before, after)
	}
	old := e.client()
	old.setCookie("pledge_staff", before)
	res, _ := old.do("GET", "/staff", nil)
	wantRedirect(t, res, "/staff/login")
	// A planted id (session fixation) is not adopted either.
	planted := e.client()
	planted.setCookie("pledge_staff", "attacker-chosen-id")
	wantRedirect(t, planted.login(adminEmail, password), "/staff")
	if got := planted.cookie("pledge_staff"); got == "attacker-chosen-id" || got == "" {
		t.Fatalf("planted session id kept: %q", got)
	}
}

func TestStaffLogout(t *testing.T) {
	e := newStaffEnv(t, "http://localhost")
	c := e.client()
	wantRedirect(t, c.login(adminEmail, password), "/staff")
	token := c.cookie("pledge_staff")
	res, _ := c.do("POST", "/staff/logout", url.Values{})
	wantStatus(t, res, http.StatusForbidden) // no CSRF token
	res, _ = c.do("POST", "/staff/logout", url.Values{"_csrf": {c.csrf("/staff")}})
	wantRedirect(t, res, "/staff/login")
	other := e.client()
	other.setCookie("pledge_staff", token)
	res, _ = other.do("GET", "/staff", nil)
	wantRedirect(t, res, "/staff/login")
}

func TestStaffIdleTimeout(t *testing.T) {
	e := newStaffEnv(t, "http://localhost")
	c := e.client()
	wantRedirect(t, c.login(viewerEmail, password), "/staff")
	e.clock.Add(11 * time.Hour)
	res, _ := c.do("GET", "/staff/supporters", nil)
	wantStatus(t, res, http.StatusOK) // use slides the timeout
	e.clock.Add(11 * time.Hour)
	res, _ = c.do("GET", "/staff/supporters", nil)
	wantStatus(t, res, http.StatusOK)
	e.clock.Add(12*time.Hour + time.Second)
	res, _ = c.do("GET", "/staff/supporters", nil)
	wantRedirect(t, res, "/staff/login")
}

func TestViewerCannotSeeReadersData(t *testing.T) {
	e := newStaffEnv(t, "http://localhost")
	ctx := context.Background()
	if err := e.db.Seed(ctx, sqlite.SeedOptions{Donations: 200, Rand: 1}); err != nil {
		t.Fatal(err)
	}
	list, err := e.db.ListSupporters(ctx, pledge.SupporterFilter{Limit: 1})
	if err != nil || len(list) == 0 {
		t.Fatal("no supporters seeded", err)
	}
	sup := list[0]
	id := "/staff/supporters/" + itoa(sup.ID)
	v := e.client()
	wantRedirect(t, v.login(viewerEmail, password), "/staff")
	for _, p := range []string{"/staff/export/donations.csv", "/staff/export/supporters.csv", id + "/data.json", id + "/erase", "/staff/audit"} {
		res, _ := v.do("GET", p, nil)
		wantStatus(t, res, http.StatusForbidden)
	}
	res, _ := v.do("POST", id+"/erase", url.Values{"_csrf": {v.csrf("/staff")}, "confirm": {"erase"}})
	wantStatus(t, res, http.StatusForbidden)
	for _, p := range []string{"/staff/supporters", id} {
		res, body := v.do("GET", p, nil)
		wantStatus(t, res, http.StatusOK)
		if strings.Contains(body, sup.Email) {
			t.Errorf("a viewer sees %s on %s", sup.Email, p)
		}
		if !strings.Contains(body, maskEmail(sup.Email)) {
			t.Errorf("%s shows no masked address %q", p, maskEmail(sup.Email))
		}
	}
	a := e.client()
	wantRedirect(t, a.login(adminEmail, password), "/staff")
	res, body := a.doHeader("GET", "/staff/export/donations.csv", nil, sameOrigin)
	wantStatus(t, res, http.StatusOK)
	if !strings.HasPrefix(body, "date,email,amount,currency,frequency,status,stripe_id,article,campaign\n") || !strings.Contains(body, "@example.com") {
		t.Errorf("admin's export:\n%.300s", body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type = %q", ct)
	}
	res, body = a.do("GET", id, nil)
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(body, sup.Email) {
		t.Errorf("an admin does not see the address on the supporter's page")
	}
}

func TestAdminErasesWithConfirmation(t *testing.T) {
	e := newStaffEnv(t, "http://localhost")
	ctx := context.Background()
	if err := e.db.Seed(ctx, sqlite.SeedOptions{Donations: 50, Rand: 2}); err != nil {
		t.Fatal(err)
	}
	list, _ := e.db.ListSupporters(ctx, pledge.SupporterFilter{Limit: 1})
	sup := list[0]
	id := "/staff/supporters/" + itoa(sup.ID)
	// A second record of the same address, in another case (another one-off gift).
	tx, err := e.db.BeginTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO supporters (id, stripe_customer_id, email, created_at, updated_at)
		VALUES (900001, 'cus_twin', upper(?), 1, 1)`, sup.Email); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	a := e.client()
	wantRedirect(t, a.login(adminEmail, password), "/staff")
	res, body := a.doHeader("GET", id+"/data.json", nil, sameOrigin)
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(body, sup.Email) || !strings.Contains(body, `"donations"`) {
		t.Errorf("data request JSON:\n%.300s", body)
	}
	res, body = a.do("GET", id+"/erase", nil)
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(body, "2 supporter records share this address") {
		t.Errorf("the confirmation does not say how many records share the address:\n%s", body)
	}
	token := csrfField.FindStringSubmatch(body)[1]
	res, _ = a.do("POST", id+"/erase", url.Values{"confirm": {"erase"}})
	wantStatus(t, res, http.StatusForbidden) // no CSRF token
	res, _ = a.do("POST", id+"/erase", url.Values{"_csrf": {token}})
	wantStatus(t, res, http.StatusUnprocessableEntity) // not confirmed
	res, _ = a.do("POST", id+"/erase", url.Values{"_csrf": {token}, "confirm": {"erase"}})
	wantRedirect(t, res, id+"?erased=1")
	d, err := e.db.FindSupporter(ctx, sup.ID)
	if err != nil || d.Supporter.Email != "" || d.Supporter.ErasedAt.IsZero() {
		t.Fatalf("after erasure: %+v, %v", d, err)
	}
	if twin, err := e.db.FindSupporter(ctx, 900001); err != nil || twin.Supporter.Email != "" {
		t.Fatalf("the other record of the address after erasure: %+v, %v", twin, err)
	}
	res, body = a.do("GET", "/staff/audit", nil)
	wantStatus(t, res, http.StatusOK)
	for _, want := range []string{"erase", "data request", "supporter " + itoa(sup.ID), adminEmail} {
		if !strings.Contains(body, want) {
			t.Errorf("audit log lacks %q", want)
		}
	}
	if strings.Contains(body, sup.Email) {
		t.Error("the audit log holds the reader's address")
	}
}

func TestStaffFormsNeedCSRF(t *testing.T) {
	e := newStaffEnv(t, "http://localhost")
	c := e.client()
	res, _ := c.do("POST", "/staff/login", url.Values{"email": {adminEmail}, "password": {password}})
	wantStatus(t, res, http.StatusForbidden)
	res, _ = c.do("POST", "/staff/login", url.Values{"_csrf": {"made-up"}, "email": {adminEmail}, "password": {password}})
	wantStatus(t, res, http.StatusForbidden)
	wantRedirect(t, c.login(adminEmail, password), "/staff")
	for _, p := range []string{"/staff/logout", "/staff/supporters/1/erase"} {
		res, _ := c.do("POST", p, url.Values{"confirm": {"erase"}})
		wantStatus(t, res, http.StatusForbidden)
	}
	// Every form on the staff pages carries the token.
	for _, p := range []string{"/staff/login", "/staff", "/staff/supporters"} {
		_, body := c.do("GET", p, nil)
		posts := strings.Count(body, `method="post"`)
		if got := strings.Count(body, `name="_csrf"`); got < posts {
			t.Errorf("%s: %d POST forms, %d CSRF fields", p, posts, got)
		}
	}
}

func TestDashboardPeriods(t *testing.T) {
	now := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	d := func(s string) time.Time { t, _ := time.Parse("2006-01-02", s); return t }
	for _, tc := range []struct {
		name     string
		form     periodForm
		from, to time.Time
		invalid  bool
	}{
		{"default is 30 days", periodForm{}, d("2026-02-14"), d("2026-03-16"), false},
		{"7 days ends today", periodForm{Period: "7d"}, d("2026-03-09"), d("2026-03-16"), false},
		{"90 days", periodForm{Period: "90d"}, d("2025-12-16"), d("2026-03-16"), false},
		{"month to date", periodForm{Period: "mtd"}, d("2026-03-01"), d("2026-03-16"), false},
		{"custom, inclusive", periodForm{Period: "custom", From: "2026-01-01", To: "2026-01-31"}, d("2026-01-01"), d("2026-02-01"), false},
		{"custom, reversed", periodForm{Period: "custom", From: "2026-02-01", To: "2026-01-31"}, time.Time{}, time.Time{}, true},
		{"custom, bad date", periodForm{Period: "custom", From: "yesterday", To: "2026-01-31"}, time.Time{}, time.Time{}, true},
		{"unknown", periodForm{Period: "forever"}, time.Time{}, time.Time{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.form.period(now)
			if tc.invalid {
				if pledge.ErrorCode(err) != pledge.EINVALID {
					t.Fatalf("err = %v, want EINVALID", err)
				}
				return
			}
			if err != nil || !p.From.Equal(tc.from) || !p.To.Equal(tc.to) || p.MonthToDate != (tc.form.Period == "mtd") {
				t.Fatalf("period = %v – %v (%v), want %v – %v", p.From, p.To, err, tc.from, tc.to)
			}
		})
	}
}

func TestMaskEmail(t *testing.T) {
	for in, want := range map[string]string{
		"ada.lovelace@example.com": "a•••@e•••.com",
		"x@mail.example.co.uk":     "x•••@m•••.uk",
		"":                         "•••",
	} {
		if got := maskEmail(in); got != want {
			t.Errorf("maskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestGrouped: the staff pages write money one way, `$1,234.50` in English (issue 15).
func TestGrouped(t *testing.T) {
	for _, tc := range []struct {
		m    pledge.Money
		want string
	}{
		{pledge.Money{Amount: 1908996, Currency: "usd"}, "$19,089.96"},
		{pledge.Money{Amount: 50000, Currency: "eur"}, "€500.00"},
		{pledge.Money{Amount: 123456789, Currency: "jpy"}, "¥123,456,789"},
	} {
		if got := englishNumbers.grouped(tc.m); got != tc.want {
			t.Errorf("englishNumbers.grouped(%v) = %q, want %q", tc.m, got, tc.want)
		}
	}
}

// TestArticleOriginCannotPostStaffForms: the CSRF middleware's TrustedOrigins (the article
// origins, so the embedded prompt can post /donate and /remind) apply to every route. The article
// site is same-site with Pledge's subdomain, so the staff cookie (SameSite=Lax) rides along: any
// script on news.example (an XSS, an ad or analytics tag) can erase supporters as a signed-in
// admin, with no token.
func TestArticleOriginCannotPostStaffForms(t *testing.T) {
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
		EmbedOrigins: []string{"http://news.example"}}, web.FS, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.Checkouts, srv.Staff, srv.Reports, srv.Supporters, srv.Exports = db, db, db, db, db
	srv.Handler()
	sess, err := db.SignIn().Login(ctx, adminEmail, password, "192.0.2.9", "")
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "http://support.news.example/staff/supporters/42/erase", strings.NewReader("confirm=erase"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-site")
	req.Header.Set("Origin", "http://news.example")
	req.AddCookie(&http.Cookie{Name: "pledge_staff", Value: sess.Token})
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	var erased sql.NullInt64
	db.Reader().QueryRow(`SELECT erased_at FROM supporters WHERE id = 42`).Scan(&erased)
	if rec.Code != http.StatusForbidden || erased.Valid {
		t.Errorf("a tokenless POST from the article origin to a staff form: %d, supporter erased: %v; want 403 and nothing erased", rec.Code, erased.Valid)
	}
}

// TestViewerCannotSearchByAddress: addresses are masked for viewers, but the search box
// takes an address prefix (s.email >= q AND s.email < q||U+FFFF) for viewers too. Whether a row
// comes back answers "does some supporter's address start with q?", so a viewer recovers any
// address one character at a time, and confirms whether a given person gives.
func TestViewerCannotSearchByAddress(t *testing.T) {
	e := newStaffEnv(t, "http://localhost")
	ctx := context.Background()
	tx, err := e.db.BeginTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO supporters (id, stripe_customer_id, email, created_at, updated_at)
		VALUES (42, 'cus_sec', 'source.whistle@example.org', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	wantRedirect(t, c.login(viewerEmail, password), "/staff")
	hits := func(q string) bool {
		res, body := c.do("GET", "/staff/supporters?q="+q, nil)
		return res.StatusCode == http.StatusOK && strings.Contains(body, `href="/staff/supporters/42"`)
	}
	if hits("source.w") && !hits("source.x") {
		t.Errorf("a viewer's address-prefix search tells which prefixes exist: the masked address can be read back")
	}
}

// TestDashboardSaysRefundsChangePastPeriods: refunds and disputes count against their donation's
// day, so the hints of the figures they move say a past period can still change.
func TestDashboardSaysRefundsChangePastPeriods(t *testing.T) {
	k := pledge.KPIs{Currency: "usd", Gross: 10000, Refunded: 500, Net: 9500, Donations: 3, Refunds: 1}
	d := &pledge.Dashboard{Period: pledge.Period{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		To: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}}
	v := englishNumbers.currencyViewOf(pledge.CurrencyReport{Current: k, Previous: k}, d)
	hints := map[string]string{}
	for _, kpi := range v.KPIs {
		hints[kpi.Key] = kpi.Hint
	}
	for _, key := range []string{"net", "refunds", "disputes"} {
		if h := hints[key]; !strings.Contains(h, "day the donation was paid") || !strings.Contains(h, "past period's figures can still change") {
			t.Errorf("%s hint = %q: it does not say refunds count on the donation's day", key, h)
		}
	}
	if !strings.Contains(hints["net"], "$100.00 charged, $5.00 refunded") {
		t.Errorf("net hint = %q", hints["net"])
	}
}

// TestStaffNumbersInTheStaffLanguage: staff pages write numbers one way, in the staff member's
// language among the service's catalogues (Accept-Language): $1,234.50 in English, the Russian
// grouping and decimal comma in Russian.
func TestStaffNumbersInTheStaffLanguage(t *testing.T) {
	e := newStaffEnv(t, "http://127.0.0.1")
	ctx := context.Background()
	if _, err := e.db.ApplyEvent(ctx, &pledge.LedgerEvent{ID: "evt_num", Type: "checkout.session.completed", Created: time.Now(),
		Fact: &pledge.CheckoutCompleted{SessionID: "cs_num", CheckoutID: "co_num", Paid: true, PaymentIntent: "pi_num",
			Meta:     pledge.Metadata{CheckoutID: "co_num", Frequency: pledge.Once},
			Customer: pledge.Customer{StripeID: "cus_num", Email: "num@example.com"}, Amount: pledge.Money{Amount: 123450, Currency: "usd"}}}); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.login(adminEmail, password)
	for lang, want := range map[string]string{"en-GB,en;q=0.9": "$1,234.50", "ru-RU,ru;q=0.9": englishNumbers.withTag("ru").Money(pledge.Money{Amount: 123450, Currency: "usd"})} {
		_, body := c.doHeader("GET", "/staff/supporters", nil, map[string]string{"Accept-Language": lang})
		if !strings.Contains(body, want) {
			t.Errorf("Accept-Language %s: the supporters list does not show %q", lang, want)
		}
	}
	if ru := englishNumbers.withTag("ru").Money(pledge.Money{Amount: 123450, Currency: "usd"}); ru == "$1,234.50" || !strings.Contains(ru, "234,50") {
		t.Errorf("Russian money = %q, want the decimal comma", ru)
	}
}
