package server

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
)

// A policy is what every route of an area gets besides its handler and its own middleware (rate
// limits, sign-in): which CSRF rule guards it, whether article pages may frame it, how loudly it
// is logged and whether protective mode may shorten its cookies. Routes get one by being
// registered through an area (Server.area), so the register functions show each route's policy
// where the route is added.
//
// Echo v4 runs the global middleware (CSRF, headers, the request log) before a route's own, so
// those read the matched route's policy (policyFor) rather than being route middleware; nothing
// but an area's registration decides it.
type policy struct {
	name   string
	csrf   csrfRule
	framed bool    // the configured article origins may frame it (frame-ancestors, no X-Frame-Options)
	logs   logRule // which requests get a log line
	// ownCookies: protective mode leaves its cookies as they are (the staff area's sessions).
	ownCookies bool
}

// csrfRule is how a route's unsafe requests prove they come from a form of ours.
type csrfRule int

const (
	// csrfSite: the reader token (form _csrf or X-CSRF-Token), or a browser's same-origin word.
	csrfSite csrfRule = iota
	// csrfEmbed: as csrfSite, and a POST from a configured article origin is trusted too (the
	// forms the embedded prompt posts).
	csrfEmbed
	// csrfStaff: the staff area's own token, from Pledge's own origin only.
	csrfStaff
	// csrfNone: no check and no cookie: the route carries no forms, or another authority (Stripe's
	// signature, a signed link that mail clients post to without a token).
	csrfNone
)

// logRule is which requests of a route the request log writes.
type logRule int

const (
	logAll      logRule = iota
	logFailures         // only status 400 and up: routes that serve every article page view
	logNever            // probes, polled every few seconds
)

// The areas' policies.
var (
	// pagePolicy is for reader pages and forms posted on Pledge's own pages. It is also the
	// policy of a request that matches no route, and of a route added without an area.
	pagePolicy = policy{name: "page"}
	// embedFormPolicy is for the forms the prompt posts from inside an article page.
	embedFormPolicy = policy{name: "embed-form", csrf: csrfEmbed}
	// framedFormPolicy is for an embedFormPolicy form that opens inside the prompt's frame.
	framedFormPolicy = policy{name: "framed-form", csrf: csrfEmbed, framed: true}
	// promptPolicy is for the prompt itself: framed by article pages, and on every page view.
	promptPolicy = policy{name: "prompt", framed: true, logs: logFailures}
	// assetPolicy is for scripts and static files: no forms, on every page view.
	assetPolicy = policy{name: "asset", csrf: csrfNone, logs: logFailures}
	// signedLinkPolicy is for pages whose signed token in the link is the authority (one-click
	// unsubscribe, RFC 8058).
	signedLinkPolicy = policy{name: "signed-link", csrf: csrfNone}
	// staffPolicy is for the staff area: its own CSRF token, never framed, cookies kept.
	staffPolicy = policy{name: "staff", csrf: csrfStaff, ownCookies: true}
	// webhookPolicy is for Stripe's webhook, which carries Stripe's signature instead of a token.
	webhookPolicy = policy{name: "webhook", csrf: csrfNone}
	// probePolicy is for health checks: no forms, no log lines.
	probePolicy = policy{name: "probe", csrf: csrfNone, logs: logNever}
)

// area is a group of routes registered under one policy.
type area struct {
	s *Server
	g *echo.Group
	p policy
	// guarded: the group has middleware of its own (sign-in, say), which a direct route would skip.
	guarded bool
}

// area returns the group of routes under prefix with policy p. Middleware m, as Echo's group
// middleware, runs on the prefix's unknown paths too (Echo registers not-found routes for them),
// so those paths get p as well.
func (s *Server) area(e *echo.Echo, prefix string, p policy, m ...echo.MiddlewareFunc) *area {
	a := &area{s: s, g: e.Group(prefix, m...), p: p, guarded: len(m) > 0}
	if len(m) > 0 {
		s.setPolicy(prefix, p)
		s.setPolicy(prefix+"/*", p)
	}
	return a
}

// GET adds a GET route to the area.
func (a *area) GET(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	a.add(http.MethodGet, path, h, m)
}

// POST adds a POST route to the area.
func (a *area) POST(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	a.add(http.MethodPost, path, h, m)
}

// form adds a form's two routes at path: GET shows it and POST submits it. Middleware m (a rate
// limit) runs on the submission only: showing the form costs nothing.
func (a *area) form(path string, show, submit echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	a.GET(path, show)
	a.POST(path, submit, m...)
}

// direct adds a GET route whose plain GETs serve answers without echo (direct.go), under the
// area's policy; echo's h answers the rest, and what serve declines. A direct route has no route
// middleware of its own: rate limits and sign-in are echo's.
func (a *area) direct(path string, serve directFunc, h echo.HandlerFunc) {
	if a.guarded {
		panic("direct route " + path + " in an area with middleware of its own")
	}
	r := a.g.Add(http.MethodGet, path, h)
	a.s.setPolicy(r.Path, a.p)
	a.s.direct[r.Path] = &directRoute{path: r.Path, p: a.p, serve: serve}
}

func (a *area) add(method, path string, h echo.HandlerFunc, m []echo.MiddlewareFunc) {
	r := a.g.Add(method, path, h, m...)
	a.s.setPolicy(r.Path, a.p)
}

// setPolicy records a route path's policy. A path has one policy whatever the method, so that a
// 405 or a HEAD is judged as the route's other methods are; two areas claiming one path is a
// mistake in the route table, caught at start.
func (s *Server) setPolicy(path string, p policy) {
	if old, ok := s.policies[path]; ok && old != p {
		panic(fmt.Sprintf("route %s registered under policies %s and %s", path, old.name, p.name))
	}
	s.policies[path] = p
}

// policyFor is the policy of the route a request matched (pagePolicy for none).
func (s *Server) policyFor(c echo.Context) policy {
	if p, ok := s.policies[c.Path()]; ok {
		return p
	}
	return pagePolicy
}
