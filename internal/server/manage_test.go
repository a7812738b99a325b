package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// fakePortal records portal requests and answers a fixed URL.
type fakePortal struct {
	mu   sync.Mutex
	reqs []pledge.PortalRequest
}

func (p *fakePortal) CreatePortalSession(_ context.Context, r pledge.PortalRequest) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reqs = append(p.reqs, r)
	return "https://billing.stripe.test/session/1", nil
}

// sentLinks records the links the server asked to e-mail.
type sentLinks struct {
	mu    sync.Mutex
	links map[string][]string
	langs []string // the language of each e-mail, in order
}

func (s *sentLinks) send(_ context.Context, to, lang, manageURL, cancelURL string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.links[to] = append(s.links[to], manageURL, cancelURL)
	s.langs = append(s.langs, lang)
	return nil
}

func newManageFixture(t *testing.T, cfg Config) (*remindFixture, *fakePortal, *sentLinks) {
	t.Helper()
	f := newRemindFixture(t, cfg)
	portal, sent := &fakePortal{}, &sentLinks{links: map[string][]string{}}
	f.s.Manage, f.s.Portal, f.s.SendManageLink = f.db, portal, sent.send
	ctx := context.Background()
	tx, err := f.db.BeginTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, q := range []string{
		`INSERT INTO supporters (id, stripe_customer_id, email, created_at, updated_at) VALUES (7, 'cus_ann', 'ann@example.com', 1, 1)`,
		`INSERT INTO subscriptions (stripe_subscription_id, supporter_id, frequency, amount, currency, status, created_at, updated_at)
		 VALUES ('sub_ann', 7, 'monthly', 500, 'usd', 'active', 1, 1)`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return f, portal, sent
}

func TestManageNeutralAnswer(t *testing.T) {
	f, _, sent := newManageFixture(t, Config{})
	known := f.do(http.MethodPost, "/manage", url.Values{"email": {"Ann@example.com"}}, htmlAccept)
	unknown := f.do(http.MethodPost, "/manage", url.Values{"email": {"nobody@example.com"}}, htmlAccept)
	f.s.Wait()
	if known.Code != http.StatusOK || known.Code != unknown.Code || known.Body.String() != unknown.Body.String() {
		t.Fatalf("known %d, unknown %d; bodies equal: %v", known.Code, unknown.Code, known.Body.String() == unknown.Body.String())
	}
	if !strings.Contains(known.Body.String(), "If that address belongs to a supporter") {
		t.Fatal("the neutral answer is missing")
	}
	// The e-mail goes to the address on record, not to the one typed (they match only without
	// regard to case).
	links := sent.links["ann@example.com"]
	if len(links) != 2 || len(sent.links) != 1 {
		t.Fatalf("links sent %v, want manage and cancel to ann@example.com only", sent.links)
	}
	m, _ := url.Parse(links[0])
	c, _ := url.Parse(links[1])
	if !strings.HasPrefix(m.Path, "/manage/") || !strings.HasPrefix(c.Path, "/manage/") || m.Path == c.Path || c.RawQuery != "" {
		t.Fatalf("links %q and %q, want two tokens of their own", links[0], links[1])
	}
	mt, ok1 := f.s.parseManageToken(strings.TrimPrefix(m.Path, "/manage/"), time.Now())
	ct, ok2 := f.s.parseManageToken(strings.TrimPrefix(c.Path, "/manage/"), time.Now())
	if !ok1 || !ok2 || mt.action != actionManage || ct.action != actionCancel || mt.id == ct.id {
		t.Fatalf("tokens %+v %+v", mt, ct)
	}
}

// A GET shows a confirmation and spends nothing (mail scanners open links); the POST it makes
// spends the link once, for the action signed into it.
func TestManageLinkOnceAndExpiry(t *testing.T) {
	f, portal, _ := newManageFixture(t, Config{})
	link, _ := url.Parse(f.s.manageURL(7, actionManage, time.Now()))
	for range 2 {
		rec := f.do(http.MethodGet, link.Path, nil, htmlAccept)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `<form method="post" action="`+link.Path+`">`) ||
			!strings.Contains(rec.Body.String(), `name="_csrf"`) || rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("GET: %d\n%s", rec.Code, rec.Body.String())
		}
	}
	if len(portal.reqs) != 0 {
		t.Fatalf("a GET created %d portal sessions", len(portal.reqs))
	}
	rec := f.do(http.MethodPost, link.Path, url.Values{}, htmlAccept)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "https://billing.stripe.test/session/1" {
		t.Fatalf("first use: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	want := pledge.PortalRequest{CustomerID: "cus_ann", ReturnURL: "http://support.test/manage/done"}
	if len(portal.reqs) != 1 || portal.reqs[0] != want {
		t.Fatalf("portal requests %+v, want %+v", portal.reqs, want)
	}
	rec = f.do(http.MethodPost, link.Path, url.Values{}, htmlAccept)
	if rec.Code != http.StatusGone || !strings.Contains(rec.Body.String(), "Send me a new link") {
		t.Fatalf("second use: %d", rec.Code)
	}

	// A manage link cannot be turned into a cancel link by a query; a cancel link cancels.
	manage, _ := url.Parse(f.s.manageURL(7, actionManage, time.Now()))
	if rec := f.do(http.MethodPost, manage.Path+"?action=cancel", url.Values{}, htmlAccept); rec.Code != http.StatusSeeOther {
		t.Fatalf("manage link with ?action=cancel: %d", rec.Code)
	}
	if got := portal.reqs[len(portal.reqs)-1]; got.CancelSubscriptionID != "" {
		t.Fatalf("a manage link opened the cancel flow: %+v", got)
	}
	cancel, _ := url.Parse(f.s.manageURL(7, actionCancel, time.Now()))
	if rec := f.do(http.MethodGet, cancel.Path, nil, htmlAccept); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Cancel my recurring support") {
		t.Fatalf("cancel link GET: %d", rec.Code)
	}
	if rec := f.do(http.MethodPost, cancel.Path, url.Values{}, htmlAccept); rec.Code != http.StatusSeeOther {
		t.Fatalf("cancel link: %d", rec.Code)
	}
	if got := portal.reqs[len(portal.reqs)-1]; got.CancelSubscriptionID != "sub_ann" {
		t.Fatalf("cancel request %+v", got)
	}

	expired, _ := url.Parse(f.s.manageURL(7, actionManage, time.Now().Add(-manageTTL-time.Second)))
	tampered := link.Path[:len(link.Path)-3] + "AAA"
	for _, p := range []string{expired.Path, tampered, "/manage/not-a-token"} {
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			if rec := f.do(m, p, url.Values{}, htmlAccept); rec.Code != http.StatusGone {
				t.Errorf("%s %s: %d, want 410", m, p, rec.Code)
			}
		}
	}
	if len(portal.reqs) != 3 {
		t.Fatalf("%d portal sessions, want 3", len(portal.reqs))
	}
}

// A cross-site POST without the CSRF token is refused and spends nothing.
func TestManageLinkPostNeedsCSRF(t *testing.T) {
	f, portal, _ := newManageFixture(t, Config{})
	link, _ := url.Parse(f.s.manageURL(7, actionManage, time.Now()))
	req := httptest.NewRequest(http.MethodPost, link.Path, strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	rec := httptest.NewRecorder()
	f.s.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || len(portal.reqs) != 0 {
		t.Fatalf("cross-site POST: %d, %d portal sessions", rec.Code, len(portal.reqs))
	}
	if rec := f.do(http.MethodPost, link.Path, url.Values{}, htmlAccept); rec.Code != http.StatusSeeOther {
		t.Fatalf("the link after a refused cross-site POST: %d, want 303", rec.Code)
	}
}

// flakyPortal fails its first call (a Stripe 5xx or timeout), then works.
type flakyPortal struct{ calls int }

func (p *flakyPortal) CreatePortalSession(_ context.Context, r pledge.PortalRequest) (string, error) {
	p.calls++
	if p.calls == 1 {
		return "", errors.New("stripe: 503")
	}
	return "https://billing.stripe.test/session/1", nil
}

// A transient portal failure must not burn the single-use link: the token is spent only once the
// portal session exists, and the reader sees a 503 page that offers the link again.
func TestManageLinkSurvivesPortalFailure(t *testing.T) {
	f, _, _ := newManageFixture(t, Config{})
	p := &flakyPortal{}
	f.s.Portal = p
	link, _ := url.Parse(f.s.manageURL(7, actionManage, time.Now()))
	rec := f.do(http.MethodPost, link.Path, url.Values{}, htmlAccept)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `href="`+link.Path+`"`) {
		t.Fatalf("first try: %d, want 503 offering the link again\n%s", rec.Code, rec.Body.String())
	}
	if rec := f.do(http.MethodPost, link.Path, url.Values{}, htmlAccept); rec.Code != http.StatusSeeOther {
		t.Fatalf("retry after a portal failure: %d, want 303 (the link was never used)", rec.Code)
	}
}

// The e-mail's "manage" and "cancel" links have their own tokens: following one leaves the other
// working; and GETs (a mail scanner's prefetch) spend neither.
func TestManageAndCancelLinksAreIndependent(t *testing.T) {
	f, _, sent := newManageFixture(t, Config{})
	f.do(http.MethodPost, "/manage", url.Values{"email": {"ann@example.com"}}, htmlAccept)
	f.s.Wait()
	links := sent.links["ann@example.com"]
	if len(links) != 2 {
		t.Fatalf("links %v", links)
	}
	m, _ := url.Parse(links[0])
	c, _ := url.Parse(links[1])
	for _, p := range []string{m.Path, c.Path} {
		if rec := f.do(http.MethodGet, p, nil, htmlAccept); rec.Code != http.StatusOK {
			t.Fatalf("prefetch of %s: %d", p, rec.Code)
		}
	}
	if rec := f.do(http.MethodPost, m.Path, url.Values{}, htmlAccept); rec.Code != http.StatusSeeOther {
		t.Fatalf("manage: %d", rec.Code)
	}
	if rec := f.do(http.MethodPost, c.Path, url.Values{}, htmlAccept); rec.Code != http.StatusSeeOther {
		t.Fatalf("cancel link after the manage link was followed: %d, want 303", rec.Code)
	}
}

func TestManageRejectsAndLimits(t *testing.T) {
	f, _, sent := newManageFixture(t, Config{ManageEmailLimit: Limit{N: 1, Per: time.Hour}})
	if rec := f.do(http.MethodPost, "/manage", url.Values{"email": {"nope"}}, htmlAccept); rec.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(rec.Body.String(), "Enter an e-mail address") {
		t.Fatalf("bad address: %d", rec.Code)
	}
	f.do(http.MethodPost, "/manage", url.Values{"email": {"ann@example.com"}}, htmlAccept)
	if rec := f.do(http.MethodPost, "/manage", url.Values{"email": {"ANN@example.com"}}, htmlAccept); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("second request for one address: %d, want 429", rec.Code)
	}
	if rec := f.do(http.MethodPost, "/manage", url.Values{"email": {"other@example.com"}}, htmlAccept); rec.Code != http.StatusOK {
		t.Fatalf("another address: %d", rec.Code)
	}
	f.s.Wait()
	if len(sent.links["ann@example.com"]) != 2 {
		t.Fatalf("sent %v", sent.links)
	}
	// Without e-mail configured, the same answer for everyone: unavailable.
	f.s.SendManageLink = nil
	if rec := f.do(http.MethodPost, "/manage", url.Values{"email": {"x@example.com"}}, htmlAccept); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("without mail: %d", rec.Code)
	}
}
