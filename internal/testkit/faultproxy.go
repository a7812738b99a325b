package testkit

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
)

// Fault is what a FaultProxy does to a request instead of (or besides) passing it on.
type Fault string

// The faults a FaultProxy injects.
const (
	// FaultNone passes requests through.
	FaultNone Fault = ""
	// Fault500 answers 500 with a Stripe-shaped api_error, without passing the request on.
	Fault500 Fault = "500"
	// Fault429 answers 429 with a Stripe-shaped rate_limit_error, without passing it on.
	Fault429 Fault = "429"
	// FaultHang passes the request on, then withholds the answer until the client gives up (its
	// timeout) or the proxy closes: Stripe did the work but its answer was lost.
	FaultHang Fault = "hang"
	// FaultReset resets the connection (TCP RST) without passing the request on.
	FaultReset Fault = "reset"
)

// ProxiedRequest is one request the proxy saw.
type ProxiedRequest struct {
	Method         string
	Path           string
	IdempotencyKey string
	Fault          Fault
	// Forwarded reports whether the request reached the upstream (stripe-mock).
	Forwarded bool
}

func (r ProxiedRequest) methodPath() (string, string) { return r.Method, r.Path }

// FaultProxy is a reverse proxy on loopback in front of an upstream (stripe-mock) that injects
// faults on demand and records every request, so a test can check what reached the upstream
// (Requests, Reset).
type FaultProxy struct {
	// URL is the proxy's base URL: point the Stripe client here.
	URL string

	proxy *httputil.ReverseProxy
	srv   *http.Server

	mu     sync.Mutex // guards fault and left
	fault  Fault
	left   int // requests left to fault; <0: until changed
	closed chan struct{}

	requestLog[ProxiedRequest]
}

// NewFaultProxy starts a FaultProxy in front of upstream for the length of the test.
func NewFaultProxy(t testing.TB, upstream string) *FaultProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &FaultProxy{URL: "http://" + l.Addr().String(), proxy: httputil.NewSingleHostReverseProxy(u), left: -1, closed: make(chan struct{})}
	p.srv = &http.Server{Handler: p}
	go func() { _ = p.srv.Serve(l) }()
	t.Cleanup(func() {
		close(p.closed)
		_ = p.srv.Close()
	})
	return p
}

// SetFault injects f into every request from now on (FaultNone: pass through).
func (p *FaultProxy) SetFault(f Fault) { p.SetFaultFor(f, -1) }

// SetFaultFor injects f into the next n requests, then passes requests through.
func (p *FaultProxy) SetFaultFor(f Fault, n int) {
	p.mu.Lock()
	p.fault, p.left = f, n
	p.mu.Unlock()
}

// next decides the fault for one request and records it (under mu, so that the requests are
// recorded in the order their faults were decided).
func (p *FaultProxy) next(r *http.Request) Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.fault
	if p.left == 0 {
		f = FaultNone
	} else if p.left > 0 {
		p.left--
	}
	p.add(ProxiedRequest{Method: r.Method, Path: r.URL.Path,
		IdempotencyKey: r.Header.Get("Idempotency-Key"), Fault: f, Forwarded: f == FaultNone || f == FaultHang})
	return f
}

// ServeHTTP applies the current fault to one request.
func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f := p.next(r)
	switch f {
	case Fault500:
		stripeError(w, http.StatusInternalServerError, "api_error", "An unknown error occurred (injected by FaultProxy).")
	case Fault429:
		stripeError(w, http.StatusTooManyRequests, "rate_limit_error", "Too many requests (injected by FaultProxy).")
	case FaultReset:
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic(http.ErrAbortHandler)
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close with RST, not FIN
		}
		conn.Close()
	case FaultHang:
		// Let the upstream do the work, then lose the answer: wait until the client gives up.
		rec := &discard{header: http.Header{}}
		p.proxy.ServeHTTP(rec, r.WithContext(context.WithoutCancel(r.Context())))
		select {
		case <-r.Context().Done():
		case <-p.closed:
		}
	default:
		p.proxy.ServeHTTP(w, r)
	}
}

func stripeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_faultproxy")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":{"type":"` + typ + `","message":"` + msg + `"}}`))
}

// discard is a ResponseWriter that drops the upstream's answer.
type discard struct{ header http.Header }

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
