package server

import (
	"bufio"
	"crypto/rand"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// A direct route answers the plain GETs of one path without echo: Echo v4 finds the route and
// wraps its handler in every global middleware's closures on each request, which for the prompt,
// served on every article view, cost more than the prompt itself (make bench's prompt-cpu row).
// An area declares one where it registers the route (area.direct), so it has the area's policy,
// and Server.ServeHTTP answers with it; the route is also echo's, which answers what the direct
// route leaves (another method, a body, or what its function declines). What echo's middleware
// does to a GET is done here from the same policy: the request id, the security headers, the CSRF
// token and cookie, protective mode's cookies, the metrics, the log line, a panic's recovery.
// TestDirectRoutesAnswerAsEcho holds the two to the same bytes.
type directRoute struct {
	path  string
	p     policy
	serve directFunc
}

// A directFunc answers a GET on w and returns its status, or returns 0 having written and counted
// nothing, to leave the request to echo. It calls begin before it writes anything: begin applies
// the route's policy to the response and returns the CSRF token for its forms. now is when the
// request began (a clock read costs some 100 ns here: one serves the request).
type directFunc func(w http.ResponseWriter, r *http.Request, now time.Time, begin func() string) int

// ServeHTTP serves a request: a plain GET of a direct route's path directly, anything else
// through echo. Tests drive the server through it without a listener.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// As echo's router sees the path: the raw one when it has escapes of its own.
	if d := s.direct[r.URL.Path]; d != nil && r.Method == http.MethodGet && r.URL.RawPath == "" &&
		r.ContentLength == 0 && s.serveDirect(d, w, r) {
		return
	}
	s.echo.ServeHTTP(w, r)
}

// directRequest is one request on a direct route. They are pooled, each with its begin, so that
// a request allocates neither.
type directRequest struct {
	s       *Server
	d       *directRoute
	w       http.ResponseWriter
	r       *http.Request
	now     time.Time
	begun   bool
	csrf    string
	beginFn func() string
}

var directRequests = sync.Pool{New: func() any {
	dr := &directRequest{}
	dr.beginFn = dr.begin
	return dr
}}

// begin is what the global middleware does to a GET before its handler (Server.Handler's order):
// the request id, the security headers and the CSRF token.
func (dr *directRequest) begin() string {
	if !dr.begun {
		dr.begun = true
		h := dr.w.Header()
		h[echo.HeaderXRequestID] = []string{requestIDOf(dr.r)}
		dr.s.security.set(h, dr.d.p.framed)
		dr.csrf = dr.s.csrfGET(dr.w, dr.r, dr.d.p.csrf, dr.now)
	}
	return dr.csrf
}

// serveDirect answers r with d, or returns false having done nothing when d leaves it to echo.
func (s *Server) serveDirect(d *directRoute, w http.ResponseWriter, r *http.Request) (served bool) {
	start := time.Now()
	if s.cfg.Protect.On && !d.p.ownCookies {
		w = &sessionCookieWriter{ResponseWriter: w}
	}
	dr := directRequests.Get().(*directRequest)
	dr.s, dr.d, dr.w, dr.r, dr.now, dr.begun, dr.csrf = s, d, w, r, start, false, ""
	defer func() {
		if v := recover(); v != nil {
			// As in echo, where the middleware has run before the handler panics: the same
			// recovery (its log line, the error page with the page's CSRF token); no request log
			// line and no metrics, which the panic passes by in echo's middleware too.
			csrf := dr.begin()
			c := s.echo.NewContext(r, w)
			c.SetPath(d.path)
			if d.p.csrf != csrfNone {
				c.Set("csrf", csrf)
			}
			_ = s.recover(func(echo.Context) error { panic(v) })(c)
			served = true
		}
		dr.s, dr.d, dr.w, dr.r = nil, nil, nil, nil
		directRequests.Put(dr)
	}()
	status := d.serve(w, r, start, dr.beginFn)
	if status == 0 {
		return false
	}
	latency := time.Since(start)
	s.metrics.observe(d.path, r.Method, status, latency)
	if d.p.logs == logAll || d.p.logs == logFailures && status >= 400 {
		s.logRequest(r.Context(), r.Method, d.path, status, latency, w.Header().Get(echo.HeaderXRequestID))
	}
	return true
}

// sessionCookieWriter makes a response's cookies session cookies (sessionOnlyCookies) as its
// header is written: protectCookies for a direct route.
type sessionCookieWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *sessionCookieWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		sessionOnlyCookies(w.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *sessionCookieWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// csrfGET is what csrf's middleware does to a GET under rule: the token for the page's forms,
// with its cookie (kept a day) and "Vary: Cookie", or, for a browser that sends Sec-Fetch-Site
// (which the middleware judges by instead) or a route without forms, no token and no cookie.
func (s *Server) csrfGET(w http.ResponseWriter, r *http.Request, rule csrfRule, now time.Time) string {
	if rule == csrfNone || headerValue(r.Header, echo.HeaderSecFetchSite) != "" {
		return middleware.CSRFUsingSecFetchSite
	}
	name := s.csrfCookieName()
	if rule == csrfStaff {
		name = s.staffCSRFCookieName()
	}
	var token string
	if ck, err := r.Cookie(name); err == nil {
		token = ck.Value
	} else {
		token = csrfRandomToken()
	}
	h := w.Header()
	addCookie(h, &http.Cookie{Name: name, Path: "/", SameSite: http.SameSiteLaxMode,
		Expires: now.Add(csrfCookieMaxAge), Secure: s.cfg.Secure(), HttpOnly: true}, token)
	addVary(h, echo.HeaderCookie)
	return token
}

// csrfCookieMaxAge is the CSRF cookie's lifetime, the middleware's default (CookieMaxAge).
const csrfCookieMaxAge = 86400 * time.Second

// csrfTokenLetters are the letters of the middleware's tokens: 32 of them, each drawn uniformly.
const csrfTokenLetters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// csrfRandomToken is a new CSRF token as the middleware makes them: 32 letters from crypto/rand,
// bytes above the largest multiple of 52 skipped so that every letter is equally likely.
func csrfRandomToken() string {
	const n, limit = 32, 256 - 256%len(csrfTokenLetters)
	var tok [n]byte
	var buf [n + n/4]byte
	for i := 0; i < n; {
		randomBytes(buf[:])
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			tok[i] = csrfTokenLetters[int(b)%len(csrfTokenLetters)]
			if i++; i == n {
				break
			}
		}
	}
	return string(tok[:])
}

// randomReaders buffer crypto/rand, as echo's CSRF middleware does for its tokens: a prompt view
// takes three random values (request id, CSRF token, nonce), and each read of the system's
// generator costs more than copying the bytes out of a buffer.
var randomReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(rand.Reader, 4096) }}

// randomBytes fills b (at most 4 KB) from crypto/rand, through randomReaders. It copies from the
// buffer (Peek) rather than Read into b, which would put b on the heap.
func randomBytes(b []byte) {
	r := randomReaders.Get().(*bufio.Reader)
	defer randomReaders.Put(r)
	p, err := r.Peek(len(b))
	if err != nil {
		panic("crypto/rand: " + err.Error()) // crypto/rand's reader never fails (Go 1.24)
	}
	copy(b, p)
	_, _ = r.Discard(len(b))
}
