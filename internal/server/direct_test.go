package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/testkit"
)

// TestDirectRoutesAnswerAsEcho holds every direct route (direct.go) to what echo, its router and
// its middleware answer for the same request: the same status, headers and body, byte for byte,
// and the same views counted, metrics and log lines, for readers new and known, silenced, in an
// experiment's arms, in protective mode and over https. Values drawn at random (a new request id,
// CSRF token or nonce) are compared by their form and where they appear.
func TestDirectRoutesAnswerAsEcho(t *testing.T) {
	var logs testkit.LockedBuffer
	logTo := func(_ *Config, s *Server) { s.logger = slog.New(slog.NewJSONHandler(&logs, nil)) }
	configs := []struct {
		name string
		opt  fixtureOption
		plan bool
	}{
		{"default", func(c *Config, _ *Server) { c.PromptViewCap = Limit{} }, false},
		{"uncapped", func(*Config, *Server) {}, false},
		{"https", func(c *Config, _ *Server) {
			c.PromptViewCap = Limit{}
			c.BaseURL, _ = url.Parse("https://pledge.test")
			c.EmbedOrigins = []string{"https://pledge.test", "https://news.example"}
		}, false},
		{"protective", func(c *Config, _ *Server) {
			c.PromptViewCap = Limit{}
			c.Protect = Protect{On: true, QuietAfterGift: QuietSession}
		}, false},
		{"experiment", func(c *Config, _ *Server) { c.PromptViewCap = Limit{} }, true},
	}
	for _, cfg := range configs {
		t.Run(cfg.name, func(t *testing.T) {
			f := newGivingFixture(t, okPayments(), logTo, cfg.opt)
			s := f.srv
			if cfg.plan {
				p := testPlan()
				p.Experiments[0].HoldbackShare = 0.4
				setPlan(t, s, p)
			}
			if len(s.direct) == 0 {
				t.Fatal("no direct routes")
			}
			// A direct route that panics, to compare the recovery.
			s.area(s.echo, "", promptPolicy).direct("/test/panic",
				func(w http.ResponseWriter, r *http.Request, now time.Time, begin func() string) int {
					panic("secret panic detail")
				},
				func(c echo.Context) error { panic("secret panic detail") })
			// Which requests the direct routes answered (the rest fell through to echo).
			var directly bool
			for _, d := range s.direct {
				serve := d.serve
				d.serve = func(w http.ResponseWriter, r *http.Request, now time.Time, begin func() string) int {
					directly = true
					st := serve(w, r, now, begin)
					directly = st != 0
					return st
				}
			}
			future := time.Now().Add(48 * time.Hour)
			sign := func(name, value string) *http.Cookie {
				return &http.Cookie{Name: name, Value: s.sign(name, value, future)}
			}
			csrfName := s.csrfCookieName()
			type request struct {
				name, target string
				header       map[string]string
				cookies      []*http.Cookie
			}
			var reqs []request
			for path := range s.direct {
				if cfg.plan {
					// A reader with an experiment id, so that both answers are of one arm.
					window := future.Unix()
					for _, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
						views := sign(cookieViews, fmt.Sprintf("1.%d.%s", window, id))
						reqs = append(reqs,
							request{"arm " + id, path + "?article=https://news.example/a", nil, []*http.Cookie{views}},
							request{"arm change " + id, path + "?change=1&currency=eur", nil, []*http.Cookie{views}},
							request{"arm capped " + id, path, nil, []*http.Cookie{sign(cookieViews, fmt.Sprintf("4.%d.%s", window, id))}})
					}
					continue
				}
				reqs = append(reqs,
					request{"bench's", path + "?article=" + url.QueryEscape(benchArticleURL), map[string]string{"User-Agent": "Go-http-client/1.1"}, nil},
					request{"framed", path + "?article=https://news.example/a&campaign=spring&source=mail&title=The+budget",
						map[string]string{"Sec-Fetch-Site": "cross-site", "Accept-Language": "fr-FR,fr;q=0.9", "Origin": "https://news.example", "X-Request-Id": "proxy-1.a_b"}, nil},
					request{"known reader", path + "?article=https://news.example/a%3Fp%3D1%26q%3D%3Cb%3E&utm_campaign=x&utm_source=y",
						map[string]string{"Origin": "https://elsewhere.example", "X-Request-Id": "bad id\u00e9"},
						[]*http.Cookie{{Name: csrfName, Value: "known-token"}, sign(cookieViews, "1")}},
					request{"change", path + "?change=1&frequency=monthly&currency=eur&lang=de", nil, []*http.Cookie{sign(cookieViews, "3")}},
					request{"bad frequency and currency", path + "?frequency=weekly&currency=xyz&lang=zz", map[string]string{"Accept-Language": "es"}, nil},
					request{"preset amount", path + "?amount=10&frequency=annual", nil, nil},
					request{"deferred", path, nil, []*http.Cookie{sign(cookieDeferral, "week")}},
					request{"deferred change", path + "?change=1", nil, []*http.Cookie{sign(cookieSupporter, "1")}},
					request{"capped", path, nil, []*http.Cookie{sign(cookieViews, "4")}},
					request{"tampered cookie", path, nil, []*http.Cookie{{Name: cookieViews, Value: "9|99999999999|forged"}}},
				)
			}
			reqs = append(reqs, request{"panic", "/test/panic", map[string]string{"Accept": "text/html"}, nil})
			for _, rq := range reqs {
				t.Run(rq.name, func(t *testing.T) {
					newRequest := func() *http.Request {
						req := httptest.NewRequest(http.MethodGet, "http://pledge.test"+rq.target, nil)
						for k, v := range rq.header {
							req.Header.Set(k, v)
						}
						for _, c := range rq.cookies {
							req.AddCookie(c)
						}
						return req
					}
					// Both answers in one second, as the cookies' expiry is written in seconds.
					var viaEcho, direct answer
					for {
						sec := time.Now().Unix()
						viaEcho = record(s, &logs, func(w http.ResponseWriter) { s.echo.ServeHTTP(w, newRequest()) })
						directly = false
						direct = record(s, &logs, func(w http.ResponseWriter) { s.ServeHTTP(w, newRequest()) })
						if time.Now().Unix() == sec {
							break
						}
					}
					// The prompt with a preset amount is rendered from the template, by echo; all
					// else directly (the panicking route panics before it could decline).
					want := !strings.Contains(rq.target, "amount=") || strings.HasPrefix(rq.target, "/test/panic")
					if directly != want {
						t.Fatalf("answered directly: %v, want %v", directly, want)
					}
					viaEcho.normalize(t, csrfName)
					direct.normalize(t, csrfName)
					if viaEcho.status != direct.status {
						t.Fatalf("status: echo %d, direct %d", viaEcho.status, direct.status)
					}
					if !maps.EqualFunc(viaEcho.header, direct.header, slices.Equal) {
						t.Fatalf("headers differ:\necho   %v\ndirect %v", viaEcho.header, direct.header)
					}
					if viaEcho.body != direct.body {
						t.Fatalf("bodies differ:\necho   %q\ndirect %q", viaEcho.body, direct.body)
					}
					for _, d := range []struct {
						what       string
						echo, mine any
					}{
						{"counted", viaEcho.stats, direct.stats},
						{"metrics", viaEcho.metrics, direct.metrics},
						{"logged", viaEcho.logs, direct.logs},
					} {
						if fmt.Sprint(d.echo) != fmt.Sprint(d.mine) {
							t.Fatalf("%s: echo %v, direct %v", d.what, d.echo, d.mine)
						}
					}
					if rq.name == "panic" && (viaEcho.status != http.StatusInternalServerError || len(viaEcho.logs) == 0) {
						t.Fatalf("panic: %d, logged %v", viaEcho.status, viaEcho.logs)
					}
				})
			}
		})
	}
}

// benchArticleURL is the article make bench's prompt row names.
const benchArticleURL = "https://news.example/2026/11/the-council-budget"

// answer is what a request did: the response, and what it counted, measured and logged.
type answer struct {
	status  int
	header  http.Header
	body    string
	stats   map[string]int64
	metrics map[string]float64
	logs    []string
}

// record serves one request and returns what it did.
func record(s *Server, logs *testkit.LockedBuffer, serve func(http.ResponseWriter)) answer {
	b := s.stats
	b.mu.Lock()
	b.counts, b.titles, b.arms = map[statKey]*statCount{}, map[string]string{}, map[armKey]*statCount{}
	b.mu.Unlock()
	metrics0 := metricsOf(s)
	logged := len(logs.String())
	rec := httptest.NewRecorder()
	serve(rec)
	a := answer{status: rec.Code, header: rec.Header(), body: rec.Body.String(), stats: statsOf(s), metrics: metricsOf(s)}
	for k, v := range metrics0 {
		a.metrics[k] -= v
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()[logged:]), "\n") {
		var m map[string]any
		if line == "" || json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		// What differs between any two requests: when, how long, and the panic's call stack.
		delete(m, "time")
		delete(m, "latency_ms")
		delete(m, "request_id")
		if _, ok := m["stack"]; ok {
			m["stack"] = "STACK"
		}
		b, _ := json.Marshal(m)
		a.logs = append(a.logs, string(b))
	}
	return a
}

var (
	hexID    = regexp.MustCompile(`^[0-9a-f]{32}$`)
	letters  = regexp.MustCompile(`^[A-Za-z]{32}$`)
	nonceRE  = regexp.MustCompile(`name="nonce" value="([0-9a-f]{32})"`)
	cookieRE = regexp.MustCompile(`^([^=]+)=([^;]*)`)
)

// normalize replaces the values drawn at random for each request with their names, after
// checking their form.
func (a *answer) normalize(t *testing.T, csrfName string) {
	t.Helper()
	replace := func(old, new string) {
		for k, vs := range a.header {
			for i := range vs {
				vs[i] = strings.ReplaceAll(vs[i], old, new)
			}
			a.header[k] = vs
		}
		a.body = strings.ReplaceAll(a.body, old, new)
	}
	if id := a.header.Get(echo.HeaderXRequestID); hexID.MatchString(id) {
		replace(id, "REQUEST-ID")
	}
	for _, c := range a.header.Values("Set-Cookie") {
		if m := cookieRE.FindStringSubmatch(c); m != nil && m[1] == csrfName && letters.MatchString(m[2]) {
			replace(m[2], "CSRF-TOKEN")
		}
	}
	if m := nonceRE.FindStringSubmatch(a.body); m != nil {
		replace(m[1], "NONCE")
	}
}

// statsOf is what the server's batcher has counted so far.
func statsOf(s *Server) map[string]int64 {
	out := map[string]int64{}
	b := s.stats
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, c := range b.counts {
		out[fmt.Sprintf("view %v", k)] = c.views
		out[fmt.Sprintf("click %v", k)] = c.clicks
	}
	for k, c := range b.arms {
		out[fmt.Sprintf("arm view %v", k)] = c.views
		out[fmt.Sprintf("arm click %v", k)] = c.clicks
	}
	for k, v := range b.titles {
		out[fmt.Sprintf("title %s %s", k, v)] = 1
	}
	return out
}

// metricsOf is the server's request counts and latency observations by their series (name and
// labels), read from what /metrics writes.
func metricsOf(s *Server) map[string]float64 {
	var b bytes.Buffer
	s.Metrics.WritePrometheus(&b)
	out := map[string]float64{}
	for _, line := range strings.Split(b.String(), "\n") {
		key, value, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(key, "pledge_http_requests_total") && !strings.HasPrefix(key, "pledge_http_request_duration_seconds_count") {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			panic(fmt.Sprintf("metrics line %q: %v", line, err))
		}
		out[key] = v
	}
	return out
}
