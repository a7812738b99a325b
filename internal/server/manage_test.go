package server

import (
	"context"
	"net/http"
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
}

func (s *sentLinks) send(_ context.Context, to, manageURL, cancelURL string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.links[to] = append(s.links[to], manageURL, cancelURL)
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
	if got := len(sent.links["Ann@example.com"]); got != 2 {
		t.Fatalf("links sent to the supporter: %d, want manage and cancel", got)
	}
	if len(sent.links) != 1 {
		t.Fatalf("links sent to %d addresses, want 1", len(sent.links))
	}
	if !strings.HasSuffix(sent.links["Ann@example.com"][1], "?action=cancel") {
		t.Fatalf("cancel link %q", sent.links["Ann@example.com"][1])
	}
}

func TestManageLinkOnceAndExpiry(t *testing.T) {
	f, portal, _ := newManageFixture(t, Config{})
	link, _ := url.Parse(f.s.manageURL(7, time.Now()))
	rec := f.do(http.MethodGet, link.Path, nil, htmlAccept)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "https://billing.stripe.test/session/1" {
		t.Fatalf("first use: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	want := pledge.PortalRequest{CustomerID: "cus_ann", ReturnURL: "http://support.test/manage/done"}
	if len(portal.reqs) != 1 || portal.reqs[0] != want {
		t.Fatalf("portal requests %+v, want %+v", portal.reqs, want)
	}
	rec = f.do(http.MethodGet, link.Path, nil, htmlAccept)
	if rec.Code != http.StatusGone || !strings.Contains(rec.Body.String(), "Send me a new link") {
		t.Fatalf("second use: %d", rec.Code)
	}

	cancel, _ := url.Parse(f.s.manageURL(7, time.Now()))
	if rec := f.do(http.MethodGet, cancel.Path+"?action=cancel", nil, htmlAccept); rec.Code != http.StatusSeeOther {
		t.Fatalf("cancel link: %d", rec.Code)
	}
	if got := portal.reqs[len(portal.reqs)-1]; got.CancelSubscriptionID != "sub_ann" {
		t.Fatalf("cancel request %+v", got)
	}

	expired, _ := url.Parse(f.s.manageURL(7, time.Now().Add(-manageTTL-time.Second)))
	tampered := link.Path[:len(link.Path)-3] + "AAA"
	for _, p := range []string{expired.Path, tampered, "/manage/not-a-token"} {
		if rec := f.do(http.MethodGet, p, nil, htmlAccept); rec.Code != http.StatusGone {
			t.Errorf("%s: %d, want 410", p, rec.Code)
		}
	}
	if len(portal.reqs) != 2 {
		t.Fatalf("%d portal sessions, want 2", len(portal.reqs))
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
