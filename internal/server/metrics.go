package server

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the HTTP-level Prometheus series; areas add their own domain counters to the same
// registry.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// counters and observers keep the series already used, by requestKey and by route: finding
	// one by its label values hashes them and formats the status on every request.
	counters  sync.Map
	observers sync.Map
}

type requestKey struct {
	route, method string
	status        int
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pledge_http_requests_total",
			Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pledge_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
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

// observe counts a request and its latency under its route pattern.
func (m *metrics) observe(route, method string, status int, latency time.Duration) {
	k := requestKey{route, method, status}
	c, ok := m.counters.Load(k)
	if !ok {
		c, _ = m.counters.LoadOrStore(k, m.requests.WithLabelValues(route, method, strconv.Itoa(status)))
	}
	c.(prometheus.Counter).Inc()
	o, ok := m.observers.Load(route)
	if !ok {
		o, _ = m.observers.LoadOrStore(route, m.latency.WithLabelValues(route))
	}
	o.(prometheus.Observer).Observe(latency.Seconds())
}

// MetricsHandler serves the Prometheus metrics. It is not on the main listener (route names,
// volumes and runtime details are nobody else's business): `pledge serve` serves it on
// PLEDGE_METRICS_ADDR, loopback by default.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{})
}
