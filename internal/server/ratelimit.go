package server

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"github.com/pledge-news/pledge/internal/locale"
	"github.com/pledge-news/pledge/internal/pledge"
)

// Limit is N requests per Per, per client IP.
type Limit struct {
	N   int
	Per time.Duration
}

// rateLimit limits a route per client (clientKey of the IP as the IPExtractor sees it, so proxies
// are believed only when configured). Past the limit it returns the 429 error with the catalogue's
// message key, answered in the reader's language; returned rather than handed to the error
// handler (as echo's RateLimiter does), so that a route may answer it in its own way
// (attemptLimit).
func (s *Server) rateLimit(l Limit, key string) echo.MiddlewareFunc {
	if l.N <= 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	limited := s.limitError(key)
	allow := keyedLimiter(l)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !allow(clientKey(c.RealIP())) {
				return limited()
			}
			return next(c)
		}
	}
}

// keyedLimiter returns a check that allows l per key (a client, an e-mail address), in memory.
func keyedLimiter(l Limit) func(key string) bool {
	if l.N <= 0 {
		return func(string) bool { return true }
	}
	store := middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
		Rate: rate.Limit(float64(l.N) / l.Per.Seconds()), Burst: l.N, ExpiresIn: l.Per,
	})
	return func(key string) bool {
		ok, err := store.Allow(key)
		return ok && err == nil
	}
}

// addressKey is the rate limiter's key for an address: a hash, so the limiter's memory holds no
// readers' addresses.
func addressKey(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	return hex.EncodeToString(sum[:16])
}

// clientKey is what the per-client limits count by: an IPv4 address, or an IPv6 address's /64
// (one home line or server has a whole /64, and picks any address in it at will).
func clientKey(ip string) string {
	a := net.ParseIP(ip)
	if a == nil || a.To4() != nil {
		return ip
	}
	return a.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// limitError returns the 429 error for a catalogue key: English for the logs, the key for the
// reader's language.
func (s *Server) limitError(key string) func() error {
	msg := s.langs.Get(locale.Reference).T(key)
	return func() error { return pledge.Errorf(pledge.ERATELIMIT, "%s", msg).Keyed(key) }
}

// globalLimit limits a route over all clients together: N per Per, then 429 with the catalogue's
// message key.
func (s *Server) globalLimit(l Limit, key string) echo.MiddlewareFunc {
	if l.N <= 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	limited := s.limitError(key)
	lim := rate.NewLimiter(rate.Limit(float64(l.N)/l.Per.Seconds()), l.N)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !lim.Allow() {
				return limited()
			}
			return next(c)
		}
	}
}
