package server

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// Protect is protective mode (PLEDGE_PROTECT=1), for newsrooms whose readers are at risk: what a
// reader's browser and this service keep must not betray them.
type Protect struct {
	On bool
	// QuietAfterGift is how the prompt stays quiet after a gift: QuietSession (a mark that ends
	// with the browser session) or QuietNone (no mark at all: the prompt shows again).
	QuietAfterGift string
}

// The choices of Protect.QuietAfterGift.
const (
	QuietSession = "session"
	QuietNone    = "none"
)

// protectCookies makes every cookie a reader's browser gets a session cookie in protective
// mode: Expires and Max-Age are dropped from each Set-Cookie (a deletion, Max-Age below zero,
// stays), so nothing Pledge sets outlives the browser session on a seized phone. Routes whose
// policy has ownCookies (the staff area) keep their cookies as they are.
func (s *Server) protectCookies(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !s.cfg.Protect.On || s.policyFor(c).ownCookies {
			return next(c)
		}
		res := c.Response()
		res.Before(func() { sessionOnlyCookies(res.Header()) })
		return next(c)
	}
}

// sessionOnlyCookies makes every cookie set in h a session cookie (sessionOnly).
func sessionOnlyCookies(h http.Header) {
	all := h.Values("Set-Cookie")
	if len(all) == 0 {
		return
	}
	h.Del("Set-Cookie")
	for _, v := range all {
		h.Add("Set-Cookie", sessionOnly(v))
	}
}

// sessionOnly removes the Expires and Max-Age attributes of a Set-Cookie value, unless it deletes
// the cookie.
func sessionOnly(v string) string {
	parts := strings.Split(v, ";")
	out := parts[:1]
	for _, p := range parts[1:] {
		name, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(name) {
		case "expires":
			continue
		case "max-age":
			if strings.HasPrefix(strings.TrimSpace(val), "-") || strings.TrimSpace(val) == "0" {
				return v
			}
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ";")
}

// readerFor is the anonymous reader id a request is recorded under: the pledge_reader cookie's
// (set for a year), or in protective mode a fresh id per request and no cookie, so no id ties a
// browser's visits together.
func (s *Server) readerFor(c echo.Context) string {
	if !s.cfg.Protect.On {
		return s.readerID(c)
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "rd_" + hex.EncodeToString(b)
}

// markSupporter keeps the prompt quiet after a gift: a year-long signed cookie, or in protective
// mode a session-only one (protectCookies strips its lifetime), or none at all.
func (s *Server) markSupporter(c echo.Context, set func()) {
	if s.cfg.Protect.On && s.cfg.Protect.QuietAfterGift == QuietNone {
		return
	}
	set()
}
