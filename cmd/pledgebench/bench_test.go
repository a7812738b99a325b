package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/pledge-news/pledge/internal/postgres"
)

func TestAttackCountsOnlyTheWantedStatus(t *testing.T) {
	var hits, created atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1)%3 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		created.Add(1)
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	res := attack(context.Background(), "t", 4, 200*time.Millisecond, http.StatusCreated, staticTargeter("POST", srv.URL, []byte("a=1"), nil))
	if res.Total == 0 || int64(res.Total) != hits.Load() {
		t.Fatalf("attack counted %d requests, the server saw %d", res.Total, hits.Load())
	}
	if int64(res.OK) != created.Load() || res.Codes[http.StatusServiceUnavailable] != res.Total-res.OK {
		t.Fatalf("ok %d (server created %d), codes %v", res.OK, created.Load(), res.Codes)
	}
	if len(res.Latencies) != res.OK || res.Elapsed <= 0 || res.Rate() <= 0 {
		t.Fatalf("latencies %d, elapsed %s, rate %f", len(res.Latencies), res.Elapsed, res.Rate())
	}
}

// TestAttackSendsEachTargetAndClosesItsConnections: every request is the targeter's (method,
// headers, Content-Type once, body), the attack ends when the targets run out, its clients share
// at most as many keep-alive connections as there are clients, and the attack closes them when
// it ends (well before fasthttp would close idle ones itself, after 10 s).
func TestAttackSendsEachTargetAndClosesItsConnections(t *testing.T) {
	const workers, n = 4, 50
	var mu sync.Mutex
	conns := map[string]bool{}
	var bad []string
	var opened, closed atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		conns[r.RemoteAddr] = true
		if r.Method != http.MethodPut || r.Header.Get("X-Bench") != "yes" || !strings.HasPrefix(string(body), "n=") ||
			len(r.Header["Content-Type"]) != 1 || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			bad = append(bad, fmt.Sprintf("%s %q %q %q", r.Method, r.Header.Get("X-Bench"), r.Header["Content-Type"], body))
		}
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			opened.Add(1)
		case http.StateClosed:
			closed.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	var next atomic.Int64
	tr := func(tg *target) error {
		i := next.Add(1)
		if i > n {
			return errNoTargets
		}
		tg.Method, tg.URL, tg.Body = http.MethodPut, srv.URL+"/x", []byte(fmt.Sprint("n=", i))
		tg.Header = http.Header{"X-Bench": {"yes"}, "Content-Type": {"application/x-www-form-urlencoded"}}
		return nil
	}
	res := attack(context.Background(), "t", workers, time.Minute, http.StatusAccepted, tr)
	if res.OK != n || res.Total != n || len(res.Errors) != 0 {
		t.Fatalf("ok %d of %d, errors %v; want %d of %d", res.OK, res.Total, res.Errors, n, n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("requests unlike the targets: %v", bad)
	}
	if len(conns) == 0 || len(conns) > workers {
		t.Fatalf("%d connections for %d clients", len(conns), workers)
	}
	for deadline := time.Now().Add(3 * time.Second); closed.Load() < opened.Load(); {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d connections still open after the attack", opened.Load()-closed.Load(), opened.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAttackEndsOnATargetersError: a targeter's error ends the attack (not a minute later),
// counted among the errors, with every request it did build sent and counted.
func TestAttackEndsOnATargetersError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	var next atomic.Int64
	tr := func(tg *target) error {
		if next.Add(1) > 5 {
			return errors.New("broken")
		}
		tg.Method, tg.URL = http.MethodGet, srv.URL
		return nil
	}
	res := attack(context.Background(), "t", 3, time.Minute, http.StatusOK, tr)
	if res.Total != 5 || res.OK != 5 || res.Errors["broken"] < 1 || res.Errors["broken"] > 3 {
		t.Fatalf("total %d, ok %d, errors %v; want the 5 built requests and the targeter's error", res.Total, res.OK, res.Errors)
	}
}

func TestBenchEventsAreDistinctAndVerify(t *testing.T) {
	const secret = "whsec_test_bench"
	seen := map[string]bool{}
	for i := range 3 {
		payload := sessionCompletedEvent("run1", i, time.Now())
		ev, err := webhook.ConstructEvent(payload, signature(payload, secret), secret)
		if err != nil {
			t.Fatalf("event %d does not verify: %v", i, err)
		}
		if ev.Type != "checkout.session.completed" || ev.Data.Object["metadata"].(map[string]any)["pledge_checkout"] != "co_"+benchID("run1", i) {
			t.Fatalf("event %d: type %s, object %v", i, ev.Type, ev.Data.Object)
		}
		if seen[ev.ID] {
			t.Fatalf("event id %s repeated", ev.ID)
		}
		seen[ev.ID] = true
		if _, err := webhook.ConstructEvent(payload, signature(payload, "whsec_other"), secret); err == nil {
			t.Fatal("an event signed with another secret verified")
		}
	}
}

func TestBenchLineFormat(t *testing.T) {
	re := regexp.MustCompile(`^BENCH [a-z-]+ value=-?[0-9.]+[a-zA-Z/]+ baseline=[0-9.]+[a-zA-Z/]+ ratio=[0-9.]+ target=[<>]=[0-9.]+[a-zA-Z]* (ok|short)$`)
	for _, r := range []row{
		{Name: "prompt", Value: 8123.4, Baseline: 10000, Unit: "req/s", Ratio: 0.81, Target: ">=0.7", OK: true},
		{Name: "donate-overhead", Value: -0.12, Baseline: 1.2, Unit: "ms", Ratio: 0.9, Target: "<=2ms", OK: true},
		{Name: "memory", Value: 61, Baseline: 9.5, Unit: "MB", Ratio: 6.4, Target: "<=60MB"},
	} {
		if l := r.line(); !re.MatchString(l) {
			t.Errorf("%q does not have the BENCH line's shape", l)
		}
	}
}

func TestServerTiming(t *testing.T) {
	for h, want := range map[string]time.Duration{
		"app;dur=12.5":                12500 * time.Microsecond,
		"db;dur=3, total;dur=7":       7 * time.Millisecond,
		`app;desc="render";dur=0.250`: 250 * time.Microsecond,
	} {
		if got, ok := serverTiming(h); !ok || got != want {
			t.Errorf("serverTiming(%q) = %s, %v; want %s", h, got, ok, want)
		}
	}
	if _, ok := serverTiming(""); ok {
		t.Error("an empty header gave a time")
	}
}

func TestPostgresRowsLines(t *testing.T) {
	re := regexp.MustCompile(`^BENCH [a-z-]+ value=-?[0-9.]+[a-zA-Z/]+ baseline=[0-9.]+[a-zA-Z/]+ ratio=[0-9.]+ target=[<>]=[0-9.]+[a-zA-Z]* (ok|short)$`)
	for _, r := range []row{
		{Name: "webhook-pg", Value: 812, Baseline: 2400, Unit: "events/s", Ratio: 0.34, Target: ">=0.5"},
		{Name: "remind-pg", Value: 5123, Baseline: 2400, Unit: "writes/s", Ratio: 2.13, Target: ">=1.0", OK: true},
		{Name: "dashboard-pg", Value: 180, Baseline: 95, Unit: "ms", Ratio: 1.89, Target: "<=1.0"},
		{Name: "two-instance-prompt", Value: 9000, Baseline: 10000, Unit: "req/s", Ratio: 0.9, Target: twoInstanceTarget, OK: true},
		{Name: "two-instance-webhook", Value: 500, Baseline: 600, Unit: "events/s", Ratio: 0.83, Target: twoInstanceTarget, OK: true},
	} {
		if l := r.line(); !re.MatchString(l) {
			t.Errorf("%q does not have the BENCH line's shape", l)
		}
	}
	// Every PostgreSQL row has a target, in the order of the lines; two-instance gives two lines.
	b := &bench{}
	for _, name := range pgRows {
		if err := b.failed(name, errors.New("PostgreSQL does not answer")); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("failed(%s) = %v", name, err)
		}
	}
	var names []string
	for _, r := range b.rows {
		names = append(names, r.Name)
		if r.OK || !strings.HasSuffix(r.line(), " short") {
			t.Errorf("a row not measured passes: %s", r.line())
		}
	}
	if got := strings.Join(names, ","); got != "remind-pg,webhook-pg,dashboard-pg,two-instance-prompt,two-instance-webhook" {
		t.Errorf("rows not measured: %s", got)
	}
	o := &options{Rows: "prompt,two-instance"}
	if !o.want("two-instance") || o.want("webhook-pg") {
		t.Error("-rows selects the wrong rows")
	}
}

func TestPostgresUnreachableSaysSo(t *testing.T) {
	t.Setenv(postgres.AdminEnv, "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
	err := pgCheck(context.Background())
	if err == nil || !strings.Contains(err.Error(), "PostgreSQL does not answer at postgres://postgres@127.0.0.1:1/") || !strings.Contains(err.Error(), postgres.AdminEnv) {
		t.Fatalf("pgCheck = %v", err)
	}
	if got := pgDBName(postgres.AdminURL("pledge_bench_x_main")); got != "pledge_bench_x_main" {
		t.Errorf("AdminURL/pgDBName round trip gave %q", got)
	}
}

func TestMergeConcurrent(t *testing.T) {
	a := &loadResult{OK: 10, Total: 12, Elapsed: 3 * time.Second, Latencies: make([]time.Duration, 10), Codes: map[int]int{200: 10, 503: 2}, Errors: map[string]int{}}
	b := &loadResult{OK: 20, Total: 20, Elapsed: 2 * time.Second, Latencies: make([]time.Duration, 20), Codes: map[int]int{200: 20}, Errors: map[string]int{}}
	m := mergeConcurrent(a, b)
	if m.OK != 30 || m.Total != 32 || m.Elapsed != 3*time.Second || m.Rate() != 10 || m.Codes[200] != 30 || len(m.Latencies) != 30 {
		t.Fatalf("merged %+v", m)
	}
	if a.Elapsed != 3*time.Second || b.Elapsed != 2*time.Second {
		t.Fatal("merging changed its inputs")
	}
}

func TestSplitProgress(t *testing.T) {
	sc := bufio.NewScanner(strings.NewReader("seeding 1%\rseeding 2%\r\nseeded 3 donations in 1s\n"))
	sc.Split(splitCRLF)
	var got []string
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			got = append(got, s)
		}
	}
	if strings.Join(got, "|") != "seeding 1%|seeding 2%|seeded 3 donations in 1s" {
		t.Fatalf("progress lines %q", got)
	}
}

// TestRowsJudgedByTheirTargets checks that each row is judged by its own line of the targets
// table (the SQLite and PostgreSQL rows of one kind have different targets), on both sides of it,
// and that a row not measured is short.
func TestRowsJudgedByTheirTargets(t *testing.T) {
	for _, c := range []struct {
		name     string
		x        float64
		measured bool
		target   string
		ok       bool
	}{
		{"remind", 3.0, true, ">=3.0", true},
		{"remind", 2.99, true, ">=3.0", false},
		{"remind-pg", 1.2, true, ">=1.0", true},
		{"webhook", 0.9, true, ">=1.0", false},
		{"webhook-pg", 0.5, true, ">=0.5", true},
		{"dashboard", 0.4, true, "<=0.4", true},
		{"dashboard", 0.41, true, "<=0.4", false},
		{"dashboard-pg", 0.9, true, "<=1.0", true},
		{"donate-overhead", 0.98, true, "<=1.0ms", true},
		{"donate-overhead", 1.2, true, "<=1.0ms", false},
		{"memory", 39.9, true, "<=40MB", true},
		{"memory", 41.5, true, "<=40MB", false},
		{"prompt-cpu", 0.9, false, ">=0.85", false},
	} {
		r := row{Name: c.name}.judged(c.x, c.measured)
		if r.Target != c.target || r.OK != c.ok {
			t.Errorf("%s at %v (measured %v): target %s ok %v, want %s %v", c.name, c.x, c.measured, r.Target, r.OK, c.target, c.ok)
		}
	}
}

// TestMachineCPU: the machine's busy time grows while this test keeps a core busy, and a side's
// cost per answer and share of the cores follow from it.
func TestMachineCPU(t *testing.T) {
	before, cores := machineCPU()
	if cores < 1 || before <= 0 {
		t.Fatalf("machineCPU() = %v, %d cores", before, cores)
	}
	start := time.Now()
	for {
		if after, _ := machineCPU(); after-before >= 50*time.Millisecond {
			break
		}
		if time.Since(start) > time.Minute {
			t.Fatal("a minute of spinning and the machine's busy time did not grow by 50 ms")
		}
	}
	r := &loadResult{OK: 4, Elapsed: 2 * time.Second, Busy: time.Second, Cores: 2, Window: 2 * time.Second}
	if r.CPUPerOK() != 250*time.Millisecond || r.Saturation() != 0.25 {
		t.Fatalf("CPUPerOK %v, Saturation %v", r.CPUPerOK(), r.Saturation())
	}
	var sum loadResult
	sum.add(r)
	sum.add(r)
	if sum.Busy != 2*time.Second || sum.Cores != 2 || sum.Saturation() != 0.25 || sum.CPUPerOK() != 250*time.Millisecond {
		t.Fatalf("added: %+v", sum)
	}
	if !strings.Contains(r.String(), "machine CPU 250000µs/ok (25% of 2 cores busy)") {
		t.Fatalf("String() = %q", r.String())
	}
}

// TestCPUParts: measured splits a side's busy time into the named processes' own (this process
// spinning is counted as its part), and the parts add up over rounds with what is left as the
// rest.
func TestCPUParts(t *testing.T) {
	r, err := measured(func() (*loadResult, error) {
		start, deadline := cpuTime(os.Getpid()), time.Now().Add(time.Minute)
		for cpuTime(os.Getpid())-start < 50*time.Millisecond && time.Now().Before(deadline) {
		}
		return &loadResult{OK: 1}, nil
	}, cpuPart{"spinner", os.Getpid()})
	if err != nil || len(r.Parts) != 1 || r.Parts[0].Name != "spinner" || r.Parts[0].Used < 50*time.Millisecond {
		t.Fatalf("measured: %+v, %v; want the spinner's 50 ms or more", r, err)
	}

	side := &loadResult{OK: 4, Busy: 1000 * time.Microsecond, Cores: 2, Window: time.Second,
		Parts: []partCPU{{"service", 600 * time.Microsecond}, {"load generator", 200 * time.Microsecond}}}
	var sum loadResult
	sum.add(side)
	sum.add(side)
	if len(sum.Parts) != 2 || sum.Parts[0].Used != 1200*time.Microsecond || sum.Parts[1].Used != 400*time.Microsecond {
		t.Fatalf("added parts: %+v", sum.Parts)
	}
	if got, want := sum.PartsPerOK(), "service 150, load generator 50, the rest 50 µs/ok"; got != want {
		t.Fatalf("PartsPerOK() = %q, want %q", got, want)
	}
	if !strings.Contains(sum.String(), "cores busy): service 150, load generator 50, the rest 50 µs/ok") {
		t.Fatalf("String() = %q", sum.String())
	}
}
