package server

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/sqlite"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
	"github.com/pledge-news/pledge/web"
)

// givingFixture is a real Server on a real SQLite file, with the payment service of the test's
// choosing, driven through ServeHTTP with a cookie jar like a browser's.
type givingFixture struct {
	t   testing.TB
	srv *Server
	db  *sqlite.DB
	jar http.CookieJar
	ip  string
}

type fixtureOption func(*Config, *Server)

// quiet drops the server's log lines (benchmarks would measure the terminal otherwise).
func quiet(_ *Config, s *Server) { s.logger = slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newGivingFixture(t testing.TB, payments pledge.PaymentService, opts ...fixtureOption) *givingFixture {
	t.Helper()
	db := storetest.Open(t, nil)
	base, _ := url.Parse("http://pledge.test")
	cfg := Config{
		BaseURL:      base,
		Org:          "The Test Ledger",
		EmbedOrigins: []string{"http://pledge.test", "https://news.example"},
		Secret:       []byte("0123456789abcdef0123456789abcdef"),
		DonateLimit:  Limit{N: 100, Per: time.Minute},
		StatsFlush:   time.Hour, // flushed by Close in the tests that look
		// The view cap is the prompt gate's, tested there; here it would silence busy tests.
		PromptViewCap: Limit{N: -1},
	}
	s := &Server{}
	for _, o := range opts {
		o(&cfg, s)
	}
	srv, err := New(cfg, web.FS, s.logger)
	if err != nil {
		t.Fatal(err)
	}
	srv.Checkouts = db
	srv.Payments = payments
	srv.PromptStats = db
	srv.DemoPay = s.DemoPay
	srv.Handler()
	t.Cleanup(func() { srv.Close() })
	jar, _ := cookiejar.New(nil)
	return &givingFixture{t: t, srv: srv, db: db, jar: jar, ip: "192.0.2.1"}
}

// do sends a request through the server, keeping cookies, and returns the response and body.
func (f *givingFixture) do(method, target string, form url.Values, header ...string) (*http.Response, string) {
	f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, "http://pledge.test"+target, body)
	req.RemoteAddr = f.ip + ":1234"
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	for _, c := range f.jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	resp := rec.Result()
	f.jar.SetCookies(req.URL, resp.Cookies())
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// form GETs a page with the donation form and returns its CSRF token and nonce with the given
// fields over them, ready to post.
func (f *givingFixture) form(page string, fields url.Values) url.Values {
	f.t.Helper()
	resp, body := f.do(http.MethodGet, page, nil)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("GET %s: %d", page, resp.StatusCode)
	}
	v := mergeHidden(f.t, body, fields)
	if len(v.Get("nonce")) != 32 {
		f.t.Fatalf("form without a nonce:\n%s", body)
	}
	return v
}

func mergeHidden(t testing.TB, body string, fields url.Values) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	if v.Get("_csrf") == "" {
		t.Fatalf("form without _csrf:\n%s", body)
	}
	for k, vs := range fields {
		v[k] = vs
	}
	return v
}

// checkoutCount counts stored checkouts.
func (f *givingFixture) checkoutCount() int {
	f.t.Helper()
	var n int
	if err := f.db.Reader().QueryRow(`SELECT count(*) FROM checkouts`).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// onlyCheckout returns the one stored checkout.
func (f *givingFixture) onlyCheckout() *pledge.Checkout {
	f.t.Helper()
	if n := f.checkoutCount(); n != 1 {
		f.t.Fatalf("%d checkouts stored, want 1", n)
	}
	var id string
	if err := f.db.Reader().QueryRow(`SELECT id FROM checkouts`).Scan(&id); err != nil {
		f.t.Fatal(err)
	}
	co, err := f.db.FindCheckout(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return co
}

// writeFile writes a file in a temporary directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
