package soak

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	mrand "math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// load is a mix of readers and Stripe against one server, or spread over several instances of
// it: what was acknowledged is remembered, so the test can check that it was kept.
type load struct {
	bases     []string // client i talks to bases[i % len(bases)]
	maxEvents int
	weights   mix

	tally     tally
	nextEvent atomic.Int64

	mu           sync.Mutex
	readers      map[string]bool // reader ids whose "Remind me later" got a 2xx
	acked        map[int]bool    // events answered 2xx
	unacked      map[int]bool    // events sent without a 2xx (errors, crash)
	errSamples   []string
	transportOK  atomic.Int64
	transportErr atomic.Int64
}

// mix is the share of each kind of request, in percent.
type mix struct{ Prompt, Remind, Donate, Webhook int }

func newLoad(maxEvents int, m mix, bases ...string) *load {
	return &load{bases: bases, maxEvents: maxEvents, weights: m,
		readers: map[string]bool{}, acked: map[int]bool{}, unacked: map[int]bool{}}
}

// run drives `clients` concurrent clients, each with its own cookie jar (its own reader), until
// ctx ends.
func (l *load) run(ctx context.Context, clients int) {
	tr := &http.Transport{MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2, IdleConnTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	var wg sync.WaitGroup
	for i := range clients {
		base := l.bases[i%len(l.bases)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			jar, _ := cookiejar.New(nil)
			hc := &http.Client{Jar: jar, Transport: tr, Timeout: 60 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			for ctx.Err() == nil {
				l.one(ctx, hc, base)
			}
		}()
	}
	wg.Wait()
}

func (l *load) one(ctx context.Context, hc *http.Client, base string) {
	n := mrand.IntN(100)
	switch {
	case n < l.weights.Prompt:
		l.get(ctx, hc, base, "/prompt", "/prompt?article="+url.QueryEscape(article))
	case n < l.weights.Prompt+l.weights.Remind:
		// Every other click comes from a new reader (a browser without cookies), so acknowledged
		// deferrals are many distinct rows; the rest repeat this client's reader, which updates
		// its row. A card-like number rides in a stray field: it must never reach the logs.
		client := hc
		if mrand.IntN(2) == 0 {
			jar, _ := cookiejar.New(nil)
			client = &http.Client{Jar: jar, Transport: hc.Transport, Timeout: hc.Timeout}
		}
		resp, err := postForm(ctx, client, base, "/remind", url.Values{"choice": {"week"}, "article": {article},
			"note": {"4242 4242 4242 4242"}}, "application/json")
		if !l.done(ctx, "/remind", resp, err) {
			return
		}
		if resp.StatusCode/100 == 2 {
			if id := readerID(client, base); id != "" {
				l.mu.Lock()
				l.readers[id] = true
				l.mu.Unlock()
			}
		}
	case n < l.weights.Prompt+l.weights.Remind+l.weights.Donate:
		resp, err := postForm(ctx, hc, base, "/donate", url.Values{"frequency": {"once"}, "amount": {"10"},
			"currency": {"usd"}, "article": {article}, "campaign": {"soak"}, "nonce": {nonce()}}, "text/html")
		l.done(ctx, "/donate", resp, err)
	default:
		l.event(ctx, hc, base)
	}
}

// event delivers the next event, or (one time in ten) re-delivers an acknowledged one, as Stripe
// does.
func (l *load) event(ctx context.Context, hc *http.Client, base string) {
	i := -1
	if mrand.IntN(10) == 0 {
		l.mu.Lock()
		for k := range l.acked {
			i = k
			break
		}
		l.mu.Unlock()
	}
	if i < 0 {
		i = int(l.nextEvent.Add(1) - 1)
		if i >= l.maxEvents {
			l.get(ctx, hc, base, "/prompt", "/prompt?article="+url.QueryEscape(article))
			return
		}
	}
	code, err := postEvent(ctx, hc, base, completedEvent(i))
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			l.transportErr.Add(1)
			if len(l.errSamples) < 5 {
				l.errSamples = append(l.errSamples, "/webhooks/stripe: "+err.Error())
			}
		}
		if !l.acked[i] {
			l.unacked[i] = true
		}
		return
	}
	l.transportOK.Add(1)
	l.tally.add("/webhooks/stripe", code)
	if code/100 == 2 {
		l.acked[i] = true
		delete(l.unacked, i)
	} else if !l.acked[i] {
		l.unacked[i] = true
	}
}

func (l *load) get(ctx context.Context, hc *http.Client, base, route, path string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	resp, err := hc.Do(req)
	l.done(ctx, route, resp, err)
}

// done records a response (closing its body); false when there was none.
func (l *load) done(ctx context.Context, route string, resp *http.Response, err error) bool {
	if err != nil {
		if ctx.Err() == nil { // not the end of the load cutting a request short
			l.transportErr.Add(1)
			l.mu.Lock()
			if len(l.errSamples) < 5 {
				l.errSamples = append(l.errSamples, route+": "+err.Error())
			}
			l.mu.Unlock()
		}
		return false
	}
	resp.Body.Close()
	l.transportOK.Add(1)
	l.tally.add(route, resp.StatusCode)
	return true
}

// snapshot copies what was acknowledged so far.
func (l *load) snapshot() (readers []string, acked, unacked []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for r := range l.readers {
		readers = append(readers, r)
	}
	for i := range l.acked {
		acked = append(acked, i)
	}
	for i := range l.unacked {
		unacked = append(unacked, i)
	}
	return readers, acked, unacked
}

// readerID is the anonymous reader id the server gave this client, read from its signed cookie
// (value|expiry|mac).
func readerID(hc *http.Client, base string) string {
	u, _ := url.Parse(base)
	for _, c := range hc.Jar.Cookies(u) {
		if c.Name == "pledge_reader" {
			v, _, _ := strings.Cut(c.Value, "|")
			return v
		}
	}
	return ""
}

// nonce is a fresh form nonce, as the donate form renders (32 hex digits).
func nonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
