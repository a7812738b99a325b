package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/sqlite"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
)

// remindFixture is a real Server on a real SQLite file, with a stand-in GET /prompt that applies
// the gate exactly as the prompt handler does (the prompt UI lives on another branch).
type remindFixture struct {
	s  *Server
	db *sqlite.DB
}

func newRemindFixture(t testing.TB, cfg Config) *remindFixture {
	t.Helper()
	db := storetest.Open(t, nil)
	if cfg.BaseURL == nil {
		cfg.BaseURL, _ = url.Parse("http://support.test")
	}
	cfg.Org = "Daily Bugle"
	cfg.Secret = []byte(strings.Repeat("k", 32))
	cfg.EmbedOrigins = append(cfg.EmbedOrigins, "http://support.test", "https://news.example")
	s, err := New(cfg, os.DirFS("../../web"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s.Deferrals = db
	s.Handler()
	s.echo.GET("/prompt", stubPrompt(s))
	delete(s.direct, "/prompt") // the stand-in answers every GET /prompt
	return &remindFixture{s: s, db: db}
}

// stubPrompt answers as GET /prompt will: 204 when silenced, else the prompt (counting the view).
func stubPrompt(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.promptSilenced(c.Request()) {
			return c.NoContent(http.StatusNoContent)
		}
		s.countPromptView(c)
		return c.HTML(http.StatusOK, "<p>Support our journalism</p>")
	}
}

// do sends a request as a same-origin browser page would (so CSRF passes), with cookies.
func (f *remindFixture) do(method, target string, form url.Values, accept string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	f.s.ServeHTTP(rec, req)
	return rec
}

func (f *remindFixture) count(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.db.Reader().QueryRow(`SELECT count(*) FROM deferrals`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func cookieNamed(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

const jsonAccept, htmlAccept = "application/json", "text/html,application/xhtml+xml"

func TestRemindFetchSetsCookieAndSilencesPrompt(t *testing.T) {
	f := newRemindFixture(t, Config{})
	before := time.Now()
	rec := f.do(http.MethodPost, "/remind", url.Values{"choice": {"week"}, "article": {"https://news.example/a"}}, jsonAccept)
	if rec.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var body struct {
		RemindAt time.Time `json:"remind_at"`
		Email    bool      `json:"email"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	week := 7 * 24 * time.Hour
	if body.RemindAt.Before(before.Add(week).Truncate(time.Second)) || body.RemindAt.After(time.Now().Add(week)) || body.Email {
		t.Fatalf("body %+v: want remind_at a week from now and email false", body)
	}
	deferral := cookieNamed(rec, cookieDeferral)
	if deferral == nil || !deferral.HttpOnly {
		t.Fatalf("no HttpOnly deferral cookie in %v", rec.Result().Cookies())
	}
	if got := f.do(http.MethodGet, "/prompt?article=x", nil, htmlAccept, deferral).Code; got != http.StatusNoContent {
		t.Fatalf("GET /prompt with the cookie: %d, want 204", got)
	}
	if got := f.do(http.MethodGet, "/prompt?article=x", nil, htmlAccept).Code; got != http.StatusOK {
		t.Fatalf("GET /prompt without the cookie: %d, want 200", got)
	}
}

func TestRemindFormPostConfirms(t *testing.T) {
	f := newRemindFixture(t, Config{MailEnabled: true})
	rec := f.do(http.MethodPost, "/remind", url.Values{"choice": {"month"}, "email": {"Reader@Example.COM"}, "consent": {"yes"},
		"article": {"https://news.example/a"}}, htmlAccept)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	page := rec.Body.String()
	want := time.Now().Add(30 * 24 * time.Hour).UTC().Format("2 January 2006")
	for _, s := range []string{"ask you again until " + want, "one reminder e-mail", `href="https://news.example/a"`, "data-pledge-hidden"} {
		if !strings.Contains(page, s) {
			t.Errorf("confirmation lacks %q", s)
		}
	}
	var email string
	var status string
	f.db.Reader().QueryRow(`SELECT email, reminder_status FROM deferrals`).Scan(&email, &status)
	if email != "Reader@example.com" || status != "pending" {
		t.Fatalf("stored %q %q, want the address (domain lower-cased) pending", email, status)
	}
}

func TestRemindRepeatClicksUpdateOneRow(t *testing.T) {
	f := newRemindFixture(t, Config{})
	rec := f.do(http.MethodPost, "/remind", url.Values{"choice": {"week"}}, jsonAccept)
	reader := cookieNamed(rec, cookieReader)
	if reader == nil {
		t.Fatal("no reader cookie")
	}
	for _, choice := range []string{"month", "never", "week"} {
		if rec := f.do(http.MethodPost, "/remind", url.Values{"choice": {choice}}, jsonAccept, reader); rec.Code != http.StatusCreated {
			t.Fatalf("%s: %d", choice, rec.Code)
		}
	}
	if n := f.count(t); n != 1 {
		t.Fatalf("%d rows after four clicks from one reader, want 1", n)
	}
	// Another browser gets its own row.
	f.do(http.MethodPost, "/remind", url.Values{"choice": {"week"}}, jsonAccept)
	if n := f.count(t); n != 2 {
		t.Fatalf("%d rows, want 2", n)
	}
}

func TestRemindRejectsBadInputAndStoresNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mail  bool
		form  url.Values
		field string
		msg   string
	}{
		{"malformed e-mail", true, url.Values{"choice": {"week"}, "email": {"not-an-address"}, "consent": {"yes"}}, "email", "Enter an e-mail address"},
		{"display name", true, url.Values{"choice": {"week"}, "email": {"Ann <ann@example.com>"}, "consent": {"yes"}}, "email", "Enter an e-mail address"},
		{"no consent", true, url.Values{"choice": {"week"}, "email": {"ann@example.com"}}, "consent", "Tick the box"},
		{"no choice", true, url.Values{"email": {"ann@example.com"}, "consent": {"yes"}}, "choice", "Choose when"},
		{"unknown choice", false, url.Values{"choice": {"tomorrow"}}, "choice", "Choose when"},
		{"e-mail without SMTP", false, url.Values{"choice": {"week"}, "email": {"ann@example.com"}, "consent": {"yes"}}, "email", "not available"},
		{"bad frequency", false, url.Values{"choice": {"week"}, "frequency": {"weekly"}}, "frequency", "Choose once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newRemindFixture(t, Config{MailEnabled: tc.mail})
			rec := f.do(http.MethodPost, "/remind", tc.form, jsonAccept)
			var body apiError
			json.Unmarshal(rec.Body.Bytes(), &body)
			if rec.Code != http.StatusUnprocessableEntity || body.Error.Field != tc.field || !strings.Contains(body.Error.Message, tc.msg) {
				t.Fatalf("JSON: %d %+v, want 422 on %s saying %q", rec.Code, body.Error, tc.field, tc.msg)
			}
			rec = f.do(http.MethodPost, "/remind", tc.form, htmlAccept)
			if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), tc.msg) || !strings.Contains(rec.Body.String(), `name="choice"`) {
				t.Fatalf("form: %d, want 422 with the form and the message", rec.Code)
			}
			if cookieNamed(rec, cookieDeferral) != nil {
				t.Fatal("a deferral cookie was set on a 422")
			}
			if n := f.count(t); n != 0 {
				t.Fatalf("%d rows stored, want 0", n)
			}
		})
	}
}

func TestRemindNeverKeepsNoAddress(t *testing.T) {
	f := newRemindFixture(t, Config{MailEnabled: true})
	rec := f.do(http.MethodPost, "/remind", url.Values{"choice": {"never"}, "email": {"ann@example.com"}, "consent": {"yes"}}, jsonAccept)
	if rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), `"email":false`) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	var n int
	f.db.Reader().QueryRow(`SELECT count(*) FROM deferrals WHERE email IS NOT NULL`).Scan(&n)
	if n != 0 {
		t.Fatal("an address was kept with \"don't ask me again\"")
	}
}

func TestRemindRateLimits(t *testing.T) {
	t.Run("per address", func(t *testing.T) {
		f := newRemindFixture(t, Config{MailEnabled: true, RemindEmailLimit: Limit{N: 2, Per: time.Hour}})
		form := url.Values{"choice": {"week"}, "email": {"ann@example.com"}, "consent": {"yes"}}
		for i := range 2 {
			if rec := f.do(http.MethodPost, "/remind", form, jsonAccept); rec.Code != http.StatusCreated {
				t.Fatalf("request %d: %d", i, rec.Code)
			}
		}
		form.Set("email", "ANN@example.com") // same address, other case
		if rec := f.do(http.MethodPost, "/remind", form, jsonAccept); rec.Code != http.StatusTooManyRequests {
			t.Fatalf("third request for one address: %d, want 429", rec.Code)
		}
		form.Set("email", "bob@example.com")
		if rec := f.do(http.MethodPost, "/remind", form, jsonAccept); rec.Code != http.StatusCreated {
			t.Fatalf("another address: %d, want 201", rec.Code)
		}
	})
	t.Run("per IP", func(t *testing.T) {
		f := newRemindFixture(t, Config{RemindLimit: Limit{N: 2, Per: time.Hour}})
		codes := []int{}
		for range 3 {
			codes = append(codes, f.do(http.MethodPost, "/remind", url.Values{"choice": {"week"}}, jsonAccept).Code)
		}
		if codes[0] != 201 || codes[1] != 201 || codes[2] != 429 {
			t.Fatalf("codes %v, want 201 201 429", codes)
		}
	})
}

func TestPromptGateCookies(t *testing.T) {
	f := newRemindFixture(t, Config{})
	s := f.s
	future, past := time.Now().Add(time.Hour), time.Now().Add(-time.Second)
	signed := func(name, value string, exp time.Time) *http.Cookie {
		return &http.Cookie{Name: name, Value: s.sign(name, value, exp)}
	}
	tampered := signed(cookieDeferral, "week", future)
	tampered.Value = strings.Replace(tampered.Value, "week", "weak", 1)
	forgedExpiry := signed(cookieDeferral, "week", past)
	forgedExpiry.Value = strings.Replace(forgedExpiry.Value, "|"+itoa(past.Unix())+"|", "|"+itoa(future.Unix())+"|", 1)
	replayed := signed(cookieReader, "week", future)
	replayed.Name = cookieDeferral
	for _, tc := range []struct {
		name   string
		cookie *http.Cookie
		want   int
	}{
		{"none", nil, 200},
		{"valid deferral", signed(cookieDeferral, "week", future), 204},
		{"expired deferral", signed(cookieDeferral, "week", past), 200},
		{"tampered deferral", tampered, 200},
		{"deferral with a forged expiry", forgedExpiry, 200},
		{"another cookie's value replayed", replayed, 200},
		{"garbage", &http.Cookie{Name: cookieDeferral, Value: "yes"}, 200},
		{"supporter", signed(cookieSupporter, "1", future), 204},
		{"expired supporter", signed(cookieSupporter, "1", past), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cookies []*http.Cookie
			if tc.cookie != nil {
				cookies = append(cookies, tc.cookie)
			}
			if got := f.do(http.MethodGet, "/prompt", nil, htmlAccept, cookies...).Code; got != tc.want {
				t.Fatalf("GET /prompt: %d, want %d", got, tc.want)
			}
		})
	}
}

func itoa(n int64) string { return strconvFormat(n) }

func TestPromptViewCap(t *testing.T) {
	f := newRemindFixture(t, Config{PromptViewCap: Limit{N: 3, Per: time.Hour}})
	var views *http.Cookie
	var codes []int
	for range 5 {
		var cookies []*http.Cookie
		if views != nil {
			cookies = append(cookies, views)
		}
		rec := f.do(http.MethodGet, "/prompt", nil, htmlAccept, cookies...)
		codes = append(codes, rec.Code)
		if c := cookieNamed(rec, cookieViews); c != nil {
			views = c
		}
	}
	if want := []int{200, 200, 200, 204, 204}; !equalInts(codes, want) {
		t.Fatalf("codes %v, want %v", codes, want)
	}
	// The window does not slide: the third view's cookie expires when the first's did.
	if views.Expires.After(time.Now().Add(time.Hour)) {
		t.Fatalf("view cookie expires %s, after the window", views.Expires)
	}
	// A tampered count is ignored (counting restarts), as is an expired one.
	bad := &http.Cookie{Name: cookieViews, Value: strings.Replace(views.Value, "3|", "0|", 1)}
	if got := f.do(http.MethodGet, "/prompt", nil, htmlAccept, bad).Code; got != 200 {
		t.Fatalf("tampered views cookie: %d", got)
	}
	expired := &http.Cookie{Name: cookieViews, Value: f.s.sign(cookieViews, "9", time.Now().Add(-time.Second))}
	if got := f.do(http.MethodGet, "/prompt", nil, htmlAccept, expired).Code; got != 200 {
		t.Fatalf("expired views cookie: %d", got)
	}
	// The default cap is 4 in 30 days.
	if got := (Config{}).withDefaults().PromptViewCap; got != (Limit{N: 4, Per: 30 * 24 * time.Hour}) {
		t.Fatalf("default cap %+v", got)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestUnsubscribe(t *testing.T) {
	ctx := context.Background()
	f := newRemindFixture(t, Config{MailEnabled: true})
	d, err := f.db.Defer(ctx, &pledge.Deferral{ReaderID: "rd_1", Choice: pledge.ChoiceWeek, Email: "ann@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	link := UnsubscribeURL("http://support.test", f.s.cfg.Secret, d.ID, time.Now())
	u, _ := url.Parse(link)
	target := u.RequestURI()
	token := u.Query().Get("token")

	// GET shows a confirmation and changes nothing (mail scanners follow links).
	rec := f.do(http.MethodGet, target, nil, htmlAccept)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Unsubscribe from the reminder?") {
		t.Fatalf("GET: %d", rec.Code)
	}
	if got, _ := f.db.FindDeferral(ctx, d.ID); got.Status != pledge.ReminderPending {
		t.Fatalf("GET changed the status to %q", got.Status)
	}
	// A tampered token is refused, on GET and POST.
	bad := url.Values{"token": {strings.Replace(token, strconvFormat(d.ID)+"|", strconvFormat(d.ID+1)+"|", 1)}}
	if rec := f.do(http.MethodGet, "/reminders/unsubscribe?"+bad.Encode(), nil, htmlAccept); rec.Code != http.StatusBadRequest {
		t.Fatalf("GET tampered: %d", rec.Code)
	}
	if rec := f.do(http.MethodPost, "/reminders/unsubscribe", bad, htmlAccept); rec.Code != http.StatusBadRequest {
		t.Fatalf("POST tampered: %d", rec.Code)
	}
	// The confirmation form's POST (token in the body, no CSRF token, as a cross-site mail client).
	req := httptest.NewRequest(http.MethodPost, "/reminders/unsubscribe", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	rec = httptest.NewRecorder()
	f.s.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "You are unsubscribed") {
		t.Fatalf("POST: %d %s", rec.Code, rec.Body)
	}
	got, _ := f.db.FindDeferral(ctx, d.ID)
	if got.Status != pledge.ReminderUnsubscribed || got.Email != "" {
		t.Fatalf("after POST: %q %q, want unsubscribed and no address", got.Status, got.Email)
	}
	// RFC 8058 one-click: POST to the List-Unsubscribe URL, no cookies, no CSRF token; repeatable.
	req = httptest.NewRequest(http.MethodPost, target, strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec = httptest.NewRecorder()
	f.s.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("one-click: %d", rec.Code)
	}
	// The CSRF exemption is for this route alone.
	req = httptest.NewRequest(http.MethodPost, "/remind", strings.NewReader("choice=week"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	rec = httptest.NewRecorder()
	f.s.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("cross-site POST /remind without a token: %d, want 403", rec.Code)
	}
}

func TestUnsubscribeOneClickBeforeSending(t *testing.T) {
	ctx := context.Background()
	f := newRemindFixture(t, Config{MailEnabled: true})
	d, _ := f.db.Defer(ctx, &pledge.Deferral{ReaderID: "rd_1", Choice: pledge.ChoiceWeek, Email: "ann@example.com"})
	u, _ := url.Parse(UnsubscribeURL("http://support.test", f.s.cfg.Secret, d.ID, time.Now()))
	req := httptest.NewRequest(http.MethodPost, u.RequestURI(), strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	f.s.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("one-click: %d", rec.Code)
	}
	if got, _ := f.db.FindDeferral(ctx, d.ID); got.Status != pledge.ReminderUnsubscribed || got.Email != "" {
		t.Fatalf("%q %q", got.Status, got.Email)
	}
}

func TestRemindPageFramableAndOffersEmailOnlyWithSMTP(t *testing.T) {
	for _, mail := range []bool{false, true} {
		f := newRemindFixture(t, Config{MailEnabled: mail})
		rec := f.do(http.MethodGet, "/remind?article=https://news.example/a&frequency=monthly", nil, htmlAccept)
		if rec.Code != 200 {
			t.Fatalf("%d", rec.Code)
		}
		page := rec.Body.String()
		if got := strings.Contains(page, `name="email"`); got != mail {
			t.Errorf("mail %v: e-mail field shown = %v", mail, got)
		}
		if !strings.Contains(page, `value="monthly"`) || !strings.Contains(page, `value="https://news.example/a"`) {
			t.Error("the prompt's article and frequency are not carried")
		}
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'self' http://support.test https://news.example") || rec.Header().Get("X-Frame-Options") != "" {
			t.Errorf("GET /remind cannot be framed by the article origins: %q", csp)
		}
	}
}

func strconvFormat(n int64) string { return strconv.FormatInt(n, 10) }

// /remind keeps the article only when it is on a configured article origin (PLEDGE_EMBED_ORIGINS):
// the reminder e-mail shows it as a link, sent from the newsroom's address a week later, and
// anyone can enter a victim's address, tick consent and post a phishing URL.
func TestRemindRejectsForeignArticle(t *testing.T) {
	f := newRemindFixture(t, Config{MailEnabled: true})
	rec := f.do(http.MethodPost, "/remind", url.Values{"choice": {"week"}, "email": {"victim@example.com"},
		"consent": {"1"}, "article": {"https://evil.example/login"}}, jsonAccept)
	if rec.Code != http.StatusCreated {
		t.Fatalf("status %d", rec.Code)
	}
	var article string
	if err := f.db.Reader().QueryRowContext(context.Background(), `SELECT article FROM deferrals`).Scan(&article); err != nil {
		t.Fatal(err)
	}
	if article != "" {
		t.Fatalf("stored article %q from a foreign origin; it ends up as a link in the reminder e-mail", article)
	}
}
