package server

import (
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"github.com/pledge-news/pledge/internal/pledge"
)

// Limit is N requests per Per, per client IP.
type Limit struct {
	N   int
	Per time.Duration
}

// rateLimit limits a route per client IP (as the IPExtractor sees it, so proxies are believed
// only when configured). Past the limit it answers 429 with msg.
func (s *Server) rateLimit(l Limit, msg string) echo.MiddlewareFunc {
	if l.N <= 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	store := middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
		Rate:      rate.Limit(float64(l.N) / l.Per.Seconds()),
		Burst:     l.N,
		ExpiresIn: l.Per,
	})
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store:               store,
		IdentifierExtractor: func(c echo.Context) (string, error) { return c.RealIP(), nil },
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			return &pledge.Error{Code: pledge.ERATELIMIT, Message: msg}
		},
		ErrorHandler: func(c echo.Context, err error) error {
			return &pledge.Error{Code: pledge.ERATELIMIT, Message: msg}
		},
	})
}
