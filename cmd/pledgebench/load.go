package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// loadResult sums one closed-loop attack: how many requests got the wanted status, over how long,
// and their latencies.
type loadResult struct {
	OK        int
	Total     int
	Elapsed   time.Duration
	Latencies []time.Duration // of the OK requests
	Codes     map[int]int
	Errors    map[string]int
	// Busy is the CPU time the whole machine spent busy while it ran, on Cores cores (machineCPU):
	// with nothing else running, what one OK answer costs every process involved together.
	Busy   time.Duration
	Cores  int
	Window time.Duration // the wall time Busy was measured over (the side, with its setup)
	// Parts is Busy's share of each process named to measured, in its order: where the
	// machine's time went (the rest is the kernel's and every other process's).
	Parts []partCPU
}

// A cpuPart is a process whose own CPU time a side's busy time is split into.
type cpuPart struct {
	Name string
	PID  int
}

// partCPU is a process's CPU time over a side.
type partCPU struct {
	Name string
	Used time.Duration
}

// measured runs one side of a row, noting the machine's busy CPU time while it runs and the
// share of each of parts.
func measured(run func() (*loadResult, error), parts ...cpuPart) (*loadResult, error) {
	before, cores := machineCPU()
	used := make([]time.Duration, len(parts))
	for i, p := range parts {
		used[i] = cpuTime(p.PID)
	}
	start := time.Now()
	r, err := run()
	if r != nil && cores > 0 {
		after, _ := machineCPU()
		r.Busy, r.Cores, r.Window = after-before, cores, time.Since(start)
		for i, p := range parts {
			r.Parts = append(r.Parts, partCPU{p.Name, cpuTime(p.PID) - used[i]})
		}
	}
	return r, err
}

// PartsPerOK says what each part cost per OK answer and what the rest did, in µs: "service
// 143, load generator 73, the rest 75 µs/ok"; "" without parts.
func (r *loadResult) PartsPerOK() string {
	if len(r.Parts) == 0 || r.OK == 0 {
		return ""
	}
	var s []string
	rest := r.Busy
	for _, p := range r.Parts {
		s = append(s, fmt.Sprintf("%s %.0f", p.Name, perOK(p.Used, r.OK)))
		rest -= p.Used
	}
	return strings.Join(append(s, fmt.Sprintf("the rest %.0f µs/ok", perOK(max(rest, 0), r.OK))), ", ")
}

// perOK is d per OK answer in µs.
func perOK(d time.Duration, ok int) float64 {
	return float64(d) / float64(ok) / float64(time.Microsecond)
}

// CPUPerOK is the machine's busy CPU time per OK answer; 0 when unknown.
func (r *loadResult) CPUPerOK() time.Duration {
	if r.OK == 0 || r.Busy <= 0 {
		return 0
	}
	return r.Busy / time.Duration(r.OK)
}

// Saturation is the share of the machine's cores that were busy while it ran.
func (r *loadResult) Saturation() float64 {
	if r.Cores == 0 || r.Window <= 0 {
		return 0
	}
	return r.Busy.Seconds() / (r.Window.Seconds() * float64(r.Cores))
}

// Rate is OK requests per second.
func (r *loadResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// P50 is the median latency of the OK requests.
func (r *loadResult) P50() time.Duration { return quantile(r.Latencies, 0.5) }

// add merges another attack's result (rounds of the same measurement).
func (r *loadResult) add(o *loadResult) {
	if r.Codes == nil {
		r.Codes, r.Errors = map[int]int{}, map[string]int{}
	}
	r.OK += o.OK
	r.Total += o.Total
	r.Elapsed += o.Elapsed
	r.Busy += o.Busy
	r.Window += o.Window
	r.Cores = max(r.Cores, o.Cores)
	for i, p := range o.Parts {
		if i < len(r.Parts) && r.Parts[i].Name == p.Name {
			r.Parts[i].Used += p.Used
		} else {
			r.Parts = append(r.Parts, p)
		}
	}
	r.Latencies = append(r.Latencies, o.Latencies...)
	for k, v := range o.Codes {
		r.Codes[k] += v
	}
	for k, v := range o.Errors {
		r.Errors[k] += v
	}
}

func (r *loadResult) String() string {
	var codes []string
	for c, n := range r.Codes {
		codes = append(codes, fmt.Sprintf("%d:%d", c, n))
	}
	sort.Strings(codes)
	s := fmt.Sprintf("%d ok of %d in %.1fs = %.0f/s, p50 %.2fms, codes %s", r.OK, r.Total, r.Elapsed.Seconds(),
		r.Rate(), ms(r.P50()), strings.Join(codes, " "))
	if c := r.CPUPerOK(); c > 0 {
		s += fmt.Sprintf(", machine CPU %.0fµs/ok (%.0f%% of %d cores busy)", float64(c)/float64(time.Microsecond),
			100*r.Saturation(), r.Cores)
		if p := r.PartsPerOK(); p != "" {
			s += ": " + p
		}
	}
	for e, n := range r.Errors {
		s += fmt.Sprintf("; error x%d: %.120s", n, e)
	}
	return s
}

// A target is one request of an attack.
type target struct {
	Method, URL string
	Body        []byte
	Header      http.Header
}

// A targeter fills in an attack's next request; errNoTargets ends the attack (the webhook rows'
// events run out).
type targeter func(*target) error

var errNoTargets = errors.New("no targets to attack")

// attack runs a closed loop of `workers` concurrent clients (sharing at most as many keep-alive
// connections, one each at a time) for dur, counting a response as OK when its status is want. A
// targeter that returns an error ends the attack early: errNoTargets quietly, any other counted
// among the errors.
func attack(ctx context.Context, name string, workers int, dur time.Duration, want int, tr targeter) *loadResult {
	return attackWant(ctx, name, workers, dur, func(code int) bool { return code == want }, tr)
}

// attackWant is attack with a predicate on the status code.
//
// The clients are fasthttp's: each sends its request and reads the answer on its own goroutine,
// where net/http's client hands every request to two goroutines of the connection's and back.
// On this 2-core machine the load generator shares the cores with the service it measures, and
// the lighter client leaves the service more of them (a reminder's request cost this process 65
// to 90 µs of CPU with vegeta on net/http, 27 to 38 with fasthttp; docs/performance.md).
func attackWant(ctx context.Context, name string, workers int, dur time.Duration, want func(int) bool, tr targeter) *loadResult {
	// The attack's own client, so that its connections are closed when it ends: a client that
	// leaves does not keep its connection open, and connections abandoned by one round would
	// otherwise stay on the server (and in the memory row) until its idle timeout.
	c := &fasthttp.Client{
		Name: "pledgebench/" + name, MaxConnsPerHost: workers, MaxConnWaitTimeout: 30 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, MaxIdemponentCallAttempts: 1,
	}
	defer c.CloseIdleConnections()
	res := &loadResult{Codes: map[int]int{}, Errors: map[string]int{}}
	var stop atomic.Bool // a targeter ended the attack
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(dur)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := runClient(ctx, c, deadline, &stop, want, tr)
			mu.Lock()
			res.add(own)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	return res
}

// runClient is one of an attack's clients: it sends one request after another until the
// deadline, or until its targeter or another client's ends the attack (stop), and returns the sum
// of its answers.
func runClient(ctx context.Context, c *fasthttp.Client, deadline time.Time, stop *atomic.Bool, want func(int) bool, tr targeter) *loadResult {
	res := &loadResult{Codes: map[int]int{}, Errors: map[string]int{}}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	for ctx.Err() == nil && !stop.Load() && time.Now().Before(deadline) {
		var t target
		if err := tr(&t); err != nil {
			if !errors.Is(err, errNoTargets) {
				res.Errors[err.Error()]++
			}
			stop.Store(true)
			break
		}
		req.Reset()
		req.Header.SetMethod(t.Method)
		req.SetRequestURI(t.URL)
		for k, vs := range t.Header {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
		req.SetBody(t.Body)
		sent := time.Now()
		err := c.DoDeadline(req, resp, sent.Add(30*time.Second))
		res.Total++
		if err != nil {
			res.Errors[err.Error()]++
			continue
		}
		code := resp.StatusCode()
		res.Codes[code]++
		if want(code) {
			res.OK++
			res.Latencies = append(res.Latencies, time.Since(sent))
		}
	}
	return res
}

// staticTargeter sends the same request every time.
func staticTargeter(method, url string, body []byte, header http.Header) targeter {
	return func(t *target) error {
		t.Method, t.URL, t.Body, t.Header = method, url, body, header
		return nil
	}
}

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
