package server

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/labstack/echo/v4"
)

// metrics are the HTTP-level Prometheus series; areas add their own domain counters to the same
// set (webhook.go).
type metrics struct {
	set *vm.Set
	// counters and observers keep the series already used, by requestKey and by route: finding
	// one by its name formats the labels and takes the set's lock on every request.
	counters  sync.Map
	observers sync.Map
}

type requestKey struct {
	route, method string
	status        int
}

// latencyBuckets are pledge_http_request_duration_seconds' upper bounds, in seconds.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

func newMetrics(set *vm.Set) *metrics {
	// Each family with its # TYPE line (and an empty # HELP), as Prometheus's own client wrote.
	vm.ExposeMetadata(true)
	return &metrics{set: set}
}

// middleware counts every request under its route pattern, so that ids in paths never explode the
// number of series.
func (m *metrics) middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err) // let the error handler set the real status before counting it
			}
			route := c.Path()
			if route == "" || c.Response().Status == 404 && route == "/*" {
				route = "unmatched"
			}
			m.observe(route, c.Request().Method, c.Response().Status, time.Since(start))
			return nil
		}
	}
}

// observe counts a request (pledge_http_requests_total) and its latency
// (pledge_http_request_duration_seconds) under its route pattern.
func (m *metrics) observe(route, method string, status int, latency time.Duration) {
	k := requestKey{route, method, status}
	c, ok := m.counters.Load(k)
	if !ok {
		c, _ = m.counters.LoadOrStore(k, m.set.GetOrCreateCounter(series("pledge_http_requests_total",
			"method", method, "route", route, "status", strconv.Itoa(status))))
	}
	c.(*vm.Counter).Inc()
	o, ok := m.observers.Load(route)
	if !ok {
		o, _ = m.observers.LoadOrStore(route, m.set.GetOrCreatePrometheusHistogramExt(
			series("pledge_http_request_duration_seconds", "route", route), latencyBuckets))
	}
	o.(*vm.PrometheusHistogram).Update(latency.Seconds())
}

// count adds one to a counter of the set, named with its labels (label, value pairs, in the
// order they are written: by label name, as Prometheus's client wrote them).
func (m *metrics) count(name string, labels ...string) {
	m.set.GetOrCreateCounter(series(name, labels...)).Inc()
}

// labelValue escapes a label's value for the text format: backslash, double quote, newline.
var labelValue = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// series is a series' name in the text format: the family's name and its labels, {a="x",b="y"}.
func series(name string, labels ...string) string {
	var b strings.Builder
	b.WriteString(name)
	for i := 0; i+1 < len(labels); i += 2 {
		if i == 0 {
			b.WriteByte('{')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(labels[i])
		b.WriteString(`="`)
		labelValue.WriteString(&b, labels[i+1])
		b.WriteByte('"')
	}
	if len(labels) > 0 {
		b.WriteByte('}')
	}
	return b.String()
}

// MetricsHandler serves the Prometheus metrics (text format 0.0.4): the service's series, then
// the Go runtime's (go_*) and the process's (process_*). It is not on the main listener (route
// names, volumes and runtime details are nobody else's business): `pledge serve` serves it on
// PLEDGE_METRICS_ADDR, loopback by default.
func (s *Server) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		s.Metrics.WritePrometheus(w)
		vm.WriteProcessMetrics(w)
		vm.WriteFDMetrics(w)
	})
}
