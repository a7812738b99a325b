package server

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/pledge"
)

func testPlan() *pledge.Plan {
	warm := "Journalism that answers to you"
	return &pledge.Plan{Base: pledge.DefaultSettings(), Experiments: []pledge.Experiment{{
		Name: "ask-2027", HoldbackShare: 0.1,
		Variants: []pledge.Variant{{Name: "control", Weight: 1}, {Name: "warm-letter", Weight: 1, Override: pledge.Override{Heading: &warm}}},
	}}}
}

// setPlan puts p in force, failing the test if its prompts do not render.
func setPlan(t testing.TB, s *Server, p *pledge.Plan) {
	t.Helper()
	if err := s.SetPlan(p); err != nil {
		t.Fatal(err)
	}
}

// armProbe answers the arm experimentArm finds, for tests.
func armProbe(s *Server) {
	s.echo.GET("/test/arm", func(c echo.Context) error { return c.String(http.StatusOK, s.experimentArm(c).Variant) })
}

func viewsCookie(t *testing.T, rec interface{ Result() *http.Response }) *http.Cookie {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == cookieViews {
			return c
		}
	}
	t.Fatal("no view cookie set")
	return nil
}

func get(s *Server, target string, cookies ...*http.Cookie) *http.Response {
	req, _ := http.NewRequest(http.MethodGet, "http://pledge.test"+target, nil)
	req.Header.Set("Accept", "text/html")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := newRecorder()
	s.ServeHTTP(rec, req)
	return rec.Result()
}

// TestViewCookieCarriesTheExperimentID: while an experiment runs, the prompt's view cookie gets
// an anonymous id beside the count (no new cookie), which keeps the reader in one arm on every
// later request; the count and its window work as before.
func TestViewCookieCarriesTheExperimentID(t *testing.T) {
	s := newTestServer(t)
	// No holdback here: a fresh reader drawn into it (one in ten) gets the holdback's 204, which
	// TestHoldbackPromptAnswers204 checks; this test is about the cookie a shown prompt sets.
	p := testPlan()
	p.Experiments[0].HoldbackShare = 0
	setPlan(t, s, p)
	s.Handler()
	armProbe(s)
	res := get(s, "/prompt?article=https://news.example/a")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("prompt %d", res.StatusCode)
	}
	var ck *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == cookieViews {
			ck = c
		}
		if c.Name != cookieViews && c.Name != "pledge_csrf" {
			t.Errorf("a cookie besides the view cookie: %s", c.Name)
		}
	}
	if ck == nil {
		t.Fatal("no view cookie")
	}
	v, _, ok := s.readViewsValue(ck.Value)
	if !ok || v.n != 1 || v.id == "" || ck.Expires.Before(time.Now().Add(300*24*time.Hour)) {
		t.Fatalf("view cookie %q (%+v), expires %s", ck.Value, v, ck.Expires)
	}
	arm := ""
	for i := range 3 {
		b := readBody(get(s, "/test/arm", ck))
		if b != "control" && b != "warm-letter" && b != pledge.Holdback {
			t.Fatalf("arm %q", b)
		}
		if i > 0 && b != arm {
			t.Fatalf("arm %q then %q", arm, b)
		}
		arm = b
	}
	// The next view counts 2 with the same id, so the same arm.
	ck2 := viewsCookie(t, recorderOf(get(s, "/prompt", ck)))
	v2, _, _ := s.readViewsValue(ck2.Value)
	if v2.n != 2 || v2.id != v.id || !v2.window.Equal(v.window) {
		t.Fatalf("second view %+v, first %+v", v2, v)
	}
	if b := readBody(get(s, "/test/arm", ck2)); b != arm {
		t.Fatalf("arm after a second view %q, want %q", b, arm)
	}
	// Without a cookie there is no id yet, so no arm.
	if b := readBody(get(s, "/test/arm")); b != "" {
		t.Fatalf("no cookie: arm %q", b)
	}
}

func TestViewCookieWithoutExperimentsIsAsBefore(t *testing.T) {
	s := newTestServer(t)
	s.Handler()
	ck := viewsCookie(t, recorderOf(get(s, "/prompt")))
	if !strings.HasPrefix(ck.Value, "1|") || ck.Expires.After(time.Now().Add(31*24*time.Hour)) {
		t.Fatalf("no experiment: cookie %q expiring %s, want a bare count for the window", ck.Value, ck.Expires)
	}
	// An old cookie's count is kept when an experiment starts and the id is added.
	setPlan(t, s, testPlan())
	old := &http.Cookie{Name: cookieViews, Value: s.sign(cookieViews, "2", time.Now().Add(time.Hour))}
	ck = viewsCookie(t, recorderOf(get(s, "/prompt", old)))
	if v, _, _ := s.readViewsValue(ck.Value); v.n != 3 || v.id == "" || v.window.After(time.Now().Add(time.Hour+time.Second)) {
		t.Fatalf("upgraded cookie %+v", v)
	}
	// A window that has ended (the cookie kept alive by its id) starts again: the cap no longer
	// silences, and the id stays.
	past := time.Now().Add(-time.Minute).Unix()
	ended := &http.Cookie{Name: cookieViews, Value: s.sign(cookieViews, "4."+itoa(past)+".abc", time.Now().Add(24*time.Hour))}
	res := get(s, "/prompt", ended)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("after the window: %d", res.StatusCode)
	}
	if v, _, _ := s.readViewsValue(viewsCookie(t, recorderOf(res)).Value); v.n != 1 || v.id != "abc" {
		t.Fatalf("after the window %+v", v)
	}
	// Still in the window at the cap: silenced.
	full := &http.Cookie{Name: cookieViews, Value: s.sign(cookieViews, "4."+itoa(time.Now().Add(time.Hour).Unix())+".abc", time.Now().Add(24*time.Hour))}
	if res := get(s, "/prompt", full); res.StatusCode != http.StatusNoContent {
		t.Fatalf("at the cap: %d", res.StatusCode)
	}
}

// TestHoldbackPromptAnswers204 is the HTTP-level check that a reader in the holdback gets
// 204 from GET /prompt (the arm-level split is tested by TestAssignSplitsByWeight).
func TestHoldbackPromptAnswers204(t *testing.T) {
	s := newTestServer(t)
	p := testPlan()
	p.Experiments[0].HoldbackShare = 0.5
	setPlan(t, s, p)
	s.Handler()
	armProbe(s)
	held, shown := 0, 0
	for range 200 {
		res := get(s, "/prompt")
		ck := viewsCookie(t, recorderOf(res))
		arm := readBody(get(s, "/test/arm", ck))
		if arm == pledge.Holdback {
			held++
			if res.StatusCode != http.StatusNoContent {
				t.Fatalf("holdback reader got %d", res.StatusCode)
			}
		} else if res.StatusCode == http.StatusOK {
			shown++
		}
	}
	if held == 0 || shown == 0 {
		t.Fatalf("held %d, shown %d", held, shown)
	}
}

func TestArmCountsAreFlushed(t *testing.T) {
	f := newRemindFixture(t, Config{})
	b := newStatsBatcher(f.db, time.Hour, f.s.logger)
	arm := pledge.Arm{Experiment: "ask-2027", Variant: "warm-letter"}
	b.view("", "")
	b.armView(arm)
	b.armView(arm)
	b.armClick(arm)
	b.armView(pledge.Arm{Experiment: "ask-2027", Variant: pledge.Holdback})
	b.armView(pledge.Arm{}) // no experiment: not counted
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := f.db.ExperimentCounts(context.Background(), "ask-2027")
	if err != nil {
		t.Fatal(err)
	}
	if c.Views["warm-letter"] != 2 || c.Clicks["warm-letter"] != 1 || c.Views[pledge.Holdback] != 1 || len(c.Views) != 2 {
		t.Fatalf("counts %+v", c)
	}
	st, err := f.db.PromptStats(context.Background())
	if err != nil || len(st) != 1 || st[0].Views != 1 {
		t.Fatalf("prompt stats %+v %v", st, err)
	}
}

func TestStaffStopsAndPromotes(t *testing.T) {
	env := newStaffEnv(t, "http://pledge.test")
	env.srv.Experiments = env.db
	setPlan(t, env.srv, testPlan())
	ctx := context.Background()
	if err := env.db.AddExperimentStats(ctx, []pledge.ExperimentStat{{Day: time.Now(), Arm: pledge.Arm{Experiment: "ask-2027", Variant: "control"}, Views: 40}}); err != nil {
		t.Fatal(err)
	}

	viewer := env.client()
	wantRedirect(t, viewer.login(viewerEmail, password), "/staff")
	res, body := viewer.do("GET", "/staff/experiments", nil)
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(body, "ask-2027") || !strings.Contains(body, "running") {
		t.Fatalf("list:\n%s", body)
	}
	res, body = viewer.do("GET", "/staff/experiments/ask-2027", nil)
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(body, "not enough data yet") || !strings.Contains(body, "<td>40</td>") || strings.Contains(body, "Stop the experiment") {
		t.Fatalf("viewer's page:\n%s", body)
	}
	token := csrfField.FindStringSubmatch(body)[1]
	res, _ = viewer.do("POST", "/staff/experiments/ask-2027/stop", url.Values{"_csrf": {token}, "confirm": {"stop"}})
	wantStatus(t, res, http.StatusForbidden)

	admin := env.client()
	wantRedirect(t, admin.login(adminEmail, password), "/staff")
	_, body = admin.do("GET", "/staff/experiments/ask-2027", nil)
	if !strings.Contains(body, "Stop the experiment") {
		t.Fatalf("admin's page has no stop button:\n%s", body)
	}
	token = csrfField.FindStringSubmatch(body)[1]
	res, _ = admin.do("POST", "/staff/experiments/ask-2027/stop", url.Values{"_csrf": {token}, "confirm": {"stop"}, "promote": {"nope"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	res, _ = admin.do("POST", "/staff/experiments/ask-2027/stop", url.Values{"_csrf": {token}, "confirm": {"stop"}, "promote": {"warm-letter"}})
	wantRedirect(t, res, "/staff/experiments/ask-2027?done=promoted")

	p := env.srv.Plan()
	if p.Running(time.Now()) != nil || p.States["ask-2027"].Promoted != "warm-letter" {
		t.Fatalf("plan after promotion: %+v", p.States)
	}
	if st, _ := p.Settings(); st.Heading != "Journalism that answers to you" {
		t.Fatalf("default heading after promotion %q", st.Heading)
	}
	log, _ := env.db.AuditLog(ctx, 5)
	if len(log) == 0 || log[0].Action != "experiment promoted" || log[0].Actor != adminEmail {
		t.Fatalf("audit %+v", log)
	}
	_, body = admin.do("GET", "/staff/experiments/ask-2027", nil)
	if !strings.Contains(body, "promoted warm-letter") || !strings.Contains(body, "<td>40</td>") || strings.Contains(body, "Stop the experiment") {
		t.Fatalf("page after promotion keeps the results, no button:\n%s", body)
	}
	res, _ = admin.do("POST", "/staff/experiments/ask-2027/stop", url.Values{"_csrf": {token}, "confirm": {"stop"}})
	wantStatus(t, res, http.StatusConflict)
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// recorderOf wraps a response for viewsCookie.
type responseOf struct{ r *http.Response }

func (r responseOf) Result() *http.Response { return r.r }

func recorderOf(r *http.Response) responseOf { return responseOf{r} }

func readBody(r *http.Response) string {
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	return string(b)
}

// armViews sums the views and clicks counted in memory for an experiment's variant.
func armViews(s *Server, variant string) (views, clicks int64) {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	for k, c := range s.stats.arms {
		if k.arm.Variant == variant {
			views += c.views
			clicks += c.clicks
		}
	}
	return views, clicks
}

// TestArmsSeeTheirVariants: two readers in different arms get their variants' prompts (the
// warm-letter heading, or the default's); a ?change=1 switch inside an arm keeps the arm's
// heading and counts no view; Continue counts a click in the arm and the checkout stores it.
func TestArmsSeeTheirVariants(t *testing.T) {
	f := newGivingFixture(t, okPayments())
	warm := "Journalism that answers to you"
	setPlan(t, f.srv, &pledge.Plan{Base: f.srv.cfg.Giving, Experiments: []pledge.Experiment{{Name: "ask-2027",
		Variants: []pledge.Variant{{Name: "control", Weight: 1}, {Name: "warm-letter", Weight: 1, Override: pledge.Override{Heading: &warm}}}}}})
	armProbe(f.srv)
	control := html.EscapeString(f.srv.langs.Default().T("letter.heading"))
	const prompt = "/prompt?article=https://news.example/a"

	jars := map[string]http.CookieJar{}
	var warmViews int64
	for i := 0; i < 100 && len(jars) < 2; i++ {
		f.jar, _ = cookiejar.New(nil)
		res, body := f.do(http.MethodGet, prompt, nil)
		_, arm := f.do(http.MethodGet, "/test/arm", nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s reader's prompt: %d", arm, res.StatusCode)
		}
		if arm == "warm-letter" {
			warmViews++
		}
		if jars[arm] != nil {
			continue
		}
		want, not := control, warm
		if arm == "warm-letter" {
			want, not = warm, control
		}
		if !strings.Contains(body, want) || strings.Contains(body, not) {
			t.Fatalf("%s reader's prompt: want heading %q, not %q:\n%s", arm, want, not, body)
		}
		jars[arm] = f.jar
	}
	if len(jars) != 2 {
		t.Fatalf("readers found only in %v", jars)
	}
	if v, _ := armViews(f.srv, "warm-letter"); v != warmViews {
		t.Fatalf("warm-letter views %d, want %d", v, warmViews)
	}

	// A switch inside the warm-letter arm: its heading, no view counted (arm or article).
	f.jar = jars["warm-letter"]
	articleViews := func() (n int64) {
		f.srv.stats.mu.Lock()
		defer f.srv.stats.mu.Unlock()
		for _, c := range f.srv.stats.counts {
			n += c.views
		}
		return n
	}
	before := articleViews()
	for _, q := range []string{"&change=1&frequency=annual", "&change=1&frequency=monthly&amount=10"} {
		res, body := f.do(http.MethodGet, prompt+q, nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, warm) || strings.Contains(body, control) {
			t.Fatalf("switch %s in the warm-letter arm: %d\n%s", q, res.StatusCode, body)
		}
	}
	if v, _ := armViews(f.srv, "warm-letter"); v != warmViews || articleViews() != before {
		t.Fatalf("after switches: arm views %d (want %d), article views %d (want %d)", v, warmViews, articleViews(), before)
	}

	// The form posted without script (a new frequency) stays in the arm too.
	form := mergeHidden(t, readBodyOf(f, prompt+"&change=1"), url.Values{"step": {"update"}, "embed": {"1"}, "frequency": {"annual"}})
	if _, body := f.do(http.MethodPost, "/donate", form); !strings.Contains(body, warm) {
		t.Fatalf("update in the warm-letter arm:\n%s", body)
	}

	// Continue: a click in the arm, stored with the checkout.
	form = f.form("/donate?article=https://news.example/a", url.Values{"frequency": {"annual"}, "currency": {"eur"}, "amount": {"100"}})
	if res, _ := f.do(http.MethodPost, "/donate", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("donate %d", res.StatusCode)
	}
	if _, c := armViews(f.srv, "warm-letter"); c != 1 {
		t.Fatalf("warm-letter clicks %d, want 1", c)
	}
	if co := f.onlyCheckout(); co.Arm != (pledge.Arm{Experiment: "ask-2027", Variant: "warm-letter"}) {
		t.Fatalf("checkout's arm %+v", co.Arm)
	}
}

func readBodyOf(f *givingFixture, target string) string {
	f.t.Helper()
	res, body := f.do(http.MethodGet, target, nil)
	if res.StatusCode != http.StatusOK {
		f.t.Fatalf("GET %s: %d", target, res.StatusCode)
	}
	return body
}
