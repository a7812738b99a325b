package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/testkit"
)

func TestBadConfigurationExitsWithOneClearLine(t *testing.T) {
	tests := []struct {
		name string
		env  func(string) string
		want string
	}{
		{"missing key", env("STRIPE_WEBHOOK_SECRET", "whsec_x"), "STRIPE_SECRET_KEY"},
		{"live key in demo", env("PLEDGE_DEMO", "1", "STRIPE_SECRET_KEY", "sk_live_abc"), "refusing demo mode with a live key"},
		{"malformed base URL", env("PLEDGE_DEMO", "1", "PLEDGE_BASE_URL", "not a url"), "PLEDGE_BASE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := Run(context.Background(), []string{"serve", "-db", testkit.StoreDSN(t)}, nil, &stdout, &stderr, tt.env)
			if code == 0 {
				t.Fatal("exit code 0")
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tt.want) {
				t.Fatalf("stderr = %q, want one line naming %q", stderr.String(), tt.want)
			}
		})
	}
}

func TestMigrateTwiceChangesNothing(t *testing.T) {
	db := testkit.BareStoreDSN(t) // the first migrate makes the schema (on SQLite)
	var first, second, stderr strings.Builder
	if code := Run(context.Background(), []string{"migrate", "-db", db}, nil, &first, &stderr, env()); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, stderr.String())
	}
	size1 := storeSize(t, db)
	if code := Run(context.Background(), []string{"migrate", "-db", db}, nil, &second, &stderr, env()); code != 0 {
		t.Fatalf("second migrate: exit %d: %s", code, stderr.String())
	}
	if !strings.HasPrefix(first.String(), "schema version ") || first.String() != second.String() {
		t.Fatalf("migrate printed %q then %q", first.String(), second.String())
	}
	if size2 := storeSize(t, db); size1 != size2 {
		t.Errorf("database size changed: %d -> %d", size1, size2)
	}
}

// TestGracefulShutdown starts the service in-process, holds a request in flight, cancels the
// context as SIGTERM would, and checks the request still completes and Serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	cfg := ConfigFromEnv(env("PLEDGE_DEMO", "1"))
	cfg.Addr = "127.0.0.1:0"
	cfg.DB = testkit.StoreDSN(t)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	m := &Main{Config: &cfg, env: &Env{Stderr: &stderr, Logger: newLogger(&stderr)}}
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	inside, release := make(chan struct{}), make(chan struct{})
	next := m.http.Handler
	m.http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(inside)
			<-release
			w.WriteHeader(http.StatusAccepted)
			return
		}
		next.ServeHTTP(w, r)
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- m.Serve(ctx) }()

	var wg sync.WaitGroup
	var status int
	var reqErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		resp, err := http.Get("http://" + m.Addr() + "/slow")
		if err != nil {
			reqErr = err
			return
		}
		resp.Body.Close()
		status = resp.StatusCode
	}()
	<-inside
	cancel() // what SIGTERM does through signal.NotifyContext
	// The listener closes at once: new connections are refused while the old one finishes.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := http.Get("http://" + m.Addr() + "/healthz"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server kept accepting connections after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	if reqErr != nil || status != http.StatusAccepted {
		t.Fatalf("in-flight request: status %d, err %v", status, reqErr)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve returned %v", err)
	}
}

// TestBinarySIGTERM builds the real binary, waits for /healthz and /readyz, sends SIGTERM and
// expects exit 0: what `make run` and docker stop rely on.
func TestBinarySIGTERM(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "pledge")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	port, metricsPort := testkit.FreePort(t), testkit.FreePort(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "PLEDGE_DEMO=1", fmt.Sprintf("PLEDGE_ADDR=127.0.0.1:%d", port),
		fmt.Sprintf("PLEDGE_METRICS_ADDR=127.0.0.1:%d", metricsPort),
		"PLEDGE_DB="+testkit.StoreDSN(t), "STRIPE_SECRET_KEY=", "PLEDGE_SECRET=")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	testkit.WaitHTTP(t, base+"/healthz", 30*time.Second)
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
	// /metrics is on its own listener only (issue 13, finding f).
	if resp, err := http.Get(base + "/metrics"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /metrics on the main listener: %v %v, want 404", resp, err)
	} else {
		resp.Body.Close()
	}
	if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics on PLEDGE_METRICS_ADDR: %v %v, want 200", resp, err)
	} else {
		resp.Body.Close()
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30s after SIGTERM\n%s", out.String())
	}
	if !strings.Contains(out.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", out.String())
	}
}
