// Package testkit starts the real processes Pledge's tests talk to (stripe-mock, mailpit,
// headless Chromium), each on its own loopback port and stopped when the test ends, and records
// what Pledge sends to Stripe. A missing tool fails the test with the make target that installs it.
package testkit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// Root returns the module's root directory (where go.mod is).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testkit: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Tool returns the path of a development tool installed in ./bin by the Makefile, failing the
// test with the make target to run when it is missing.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(Root(t), "bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("testkit: %s is not installed in ./bin: run `make tools` (it installs the pinned version)", name)
	}
	return p
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs a process for the length of the test, its output going to the test log on failure,
// and stops it (and waits for it) when the test ends.
func Start(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out LockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("testkit: start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("output of %s:\n%s", filepath.Base(name), out.String())
		}
	})
	return cmd
}

// WaitHTTP polls url until it answers with any HTTP response, or fails the test after timeout.
func WaitHTTP(t testing.TB, u string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testkit: %s did not answer within %s: %v", u, timeout, err)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, not waiting a fixed time
	}
}

// StripeMock returns the HTTP base URL of the package's stripe-mock (the pinned one, on free
// loopback ports), started by the first test that asks and stopped after the package's last
// (the package's TestMain runs its tests through Run). stripe-mock keeps no state between
// requests, so tests share it: what a test asserts about its requests it reads from a Recorder
// of its own.
func StripeMock(t testing.TB) string {
	t.Helper()
	bin := Tool(t, "stripe-mock")
	return sharedProcess(t, "stripe-mock", func(out *LockedBuffer) (*exec.Cmd, chan struct{}, string, bool) {
		port, tlsPort := FreePort(t), FreePort(t)
		cmd, done := startShared(bin, out, "-http-addr", fmt.Sprintf("127.0.0.1:%d", port), "-https-addr", fmt.Sprintf("127.0.0.1:%d", tlsPort))
		if cmd == nil {
			return nil, nil, "", false
		}
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		return cmd, done, base, waitShared(base+"/v1/customers", done, 60*time.Second)
	})
}

// waitUp polls u until it answers; false if the process exits first (a port lost to a race).
func waitUp(u string, cmd *exec.Cmd, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if answers(u) {
			return true
		}
		if cmd.ProcessState != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// answers reports whether u answers a GET (with a Stripe test key) with any HTTP response.
func answers(u string) bool {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer sk_test_123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}

// Request is one request Pledge sent, as the Recorder saw it.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Form   url.Values // the form-encoded body Stripe receives
}

func (r Request) methodPath() (string, string) { return r.Method, r.Path }

// Recorder is an http.RoundTripper that remembers every request before passing it on, so a test
// can assert exactly what reached Stripe (Requests, Reset).
type Recorder struct {
	Next http.RoundTripper

	requestLog[Request]
}

// RoundTrip records r and sends it on.
func (rec *Recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	form, _ := url.ParseQuery(string(body))
	for k, v := range r.URL.Query() { // a GET's parameters (stripe-go sends them in the query)
		form[k] = append(form[k], v...)
	}
	rec.add(Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Form: form})
	next := rec.Next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r)
}

// requestLog is the requests a Recorder or a FaultProxy saw, in order; safe for concurrent use.
type requestLog[R interface{ methodPath() (string, string) }] struct {
	mu       sync.Mutex
	requests []R
}

func (l *requestLog[R]) add(r R) {
	l.mu.Lock()
	l.requests = append(l.requests, r)
	l.mu.Unlock()
}

// Requests returns the requests seen so far whose method and path match ("" matches anything; a
// path ending in * matches a prefix).
func (l *requestLog[R]) Requests(method, path string) []R {
	l.mu.Lock()
	defer l.mu.Unlock()
	pre, prefix := strings.CutSuffix(path, "*")
	var out []R
	for _, r := range l.requests {
		m, p := r.methodPath()
		if (method == "" || m == method) && (path == "" || prefix && strings.HasPrefix(p, pre) || !prefix && p == path) {
			out = append(out, r)
		}
	}
	return out
}

// Reset forgets the requests seen so far.
func (l *requestLog[R]) Reset() {
	l.mu.Lock()
	l.requests = nil
	l.mu.Unlock()
}

// LockedBuffer is a bytes.Buffer that goroutines may write and read at once (a process's or a
// service's output read while it runs).
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// CheapPasswords has staff passwords hashed at a small argon2id cost (1 MiB, one pass) for the
// rest of the test binary, instead of the real 64 MiB and three passes: every sign-in hashes the
// password, seconds each under the race detector, and these packages' tests sign staff in over
// and over. Sign-in behaves the same at any cost (a hash carries its own); the real cost is
// checked by pledge's TestPasswordHash. TestMain passes it to Run.
func CheapPasswords() {
	pledge.PasswordCost = pledge.Argon2Cost{Time: 1, MemoryKiB: 1024, Threads: 1}
}
