package server

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// The signed view cookie (pledge_views) holds what the prompt's gate needs: how many times the
// prompt showed in the current view-cap window, when that window ends, and, while an experiment
// runs, the reader's anonymous experiment id, from which their arm is derived (experiment.go).
// One cookie, no new one: "n" as before any experiment, "n.WINDOW.ID" with the id (WINDOW in
// Unix seconds). The cookie lives as long as the later of the window and the id.

// viewIDLifetime is how long an experiment id lasts: long enough to keep a reader in one arm
// for any experiment's length. It is random and says nothing about the reader.
const viewIDLifetime = 365 * 24 * time.Hour

// ctxViewID is where countView leaves the id it read or made, for experimentArm later in the
// same request (the response's cookie is not readable from the request).
const ctxViewID = "pledge_view_id"

// viewState is the view cookie's payload.
type viewState struct {
	n      int
	window time.Time // when the view-cap window ends
	id     string    // the experiment id, "" when none
}

func (v viewState) encode() string {
	if v.id == "" {
		return strconv.Itoa(v.n)
	}
	return strconv.Itoa(v.n) + "." + strconv.FormatInt(v.window.Unix(), 10) + "." + v.id
}

// decodeViewState reads a payload; a bare count's window ends with the cookie.
func decodeViewState(value string, cookieExpiry time.Time) (viewState, bool) {
	parts := strings.Split(value, ".")
	n, err := strconv.Atoi(parts[0])
	if err != nil || n < 0 {
		return viewState{}, false
	}
	v := viewState{n: n, window: cookieExpiry}
	switch len(parts) {
	case 1:
	case 3:
		w, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil || parts[2] == "" {
			return viewState{}, false
		}
		v.window, v.id = time.Unix(w, 0), parts[2]
	default:
		return viewState{}, false
	}
	return v, true
}

// readViews reads the view cookie and when it expires; a missing, tampered or expired cookie
// reads as absent.
func (s *Server) readViews(r *http.Request) (v viewState, expires time.Time, ok bool) {
	ck, err := r.Cookie(cookieViews)
	if err != nil {
		return viewState{}, time.Time{}, false
	}
	value, ok := s.verify(cookieViews, ck.Value, time.Now())
	if !ok {
		return viewState{}, time.Time{}, false
	}
	expires, _ = signedExpiry(ck.Value)
	v, ok = decodeViewState(value, expires)
	return v, expires, ok
}

// countPromptView counts one showing of the prompt in the signed view-count cookie, against the
// view cap, and keeps (or, while an experiment runs, makes) the reader's experiment id in the same
// cookie. The window starts with the first counted view and does not slide: the cookie keeps its
// first expiry.
func (s *Server) countPromptView(c echo.Context) {
	v, expires, set := s.nextViews(c.Request(), time.Now())
	if v.id != "" {
		c.Set(ctxViewID, v.id)
	}
	if set {
		s.setViews(c.Response(), v, expires)
	}
}

// nextViews is the view cookie after one more showing of the prompt to r's reader, as
// countPromptView counts it: its state, its expiry, and whether there is a cookie to set (none
// without a cap and an experiment).
func (s *Server) nextViews(r *http.Request, now time.Time) (v viewState, expires time.Time, set bool) {
	capacity := s.cfg.PromptViewCap
	v, expires, _ = s.readViews(r)
	if v.id == "" && s.currentPlan().Running(now) != nil {
		v.id = newViewID()
		expires = latest(expires, now.Add(viewIDLifetime))
	}
	if capacity.N >= 0 {
		if v.window.IsZero() || !now.Before(v.window) { // a new window starts with this view
			v.n, v.window = 0, now.Add(capacity.Per)
		}
		v.n++
	} else if v.id == "" {
		return v, expires, false // no cap and no experiment: nothing to keep
	}
	return v, latest(expires, v.window), true
}

// setViews writes the view cookie. In protective mode it is a session cookie (see
// viewCookieSessionOnly): the experiment id and the view count end with the browser session.
func (s *Server) setViews(w http.ResponseWriter, v viewState, expires time.Time) {
	if viewCookieSessionOnly() {
		http.SetCookie(w, &http.Cookie{Name: cookieViews, Value: s.sign(cookieViews, v.encode(), expires), Path: "/",
			HttpOnly: true, Secure: s.cfg.Secure(), SameSite: http.SameSiteLaxMode})
		return
	}
	s.setSignedOn(w, cookieViews, v.encode(), expires)
}

// viewCookieSessionOnly reports whether the view cookie must end with the browser session, so
// that in protective mode the experiment id is a session-only id. TODO(protective mode): return
// the PLEDGE_PROTECT setting; false until that mode exists.
func viewCookieSessionOnly() bool { return false }

// viewID returns the reader's experiment id: the one countView saw or made in this request, else
// the cookie's; "" for none.
func (s *Server) viewID(c echo.Context) string {
	if id, ok := c.Get(ctxViewID).(string); ok {
		return id
	}
	v, _, ok := s.readViews(c.Request())
	if !ok {
		return ""
	}
	return v.id
}

func newViewID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// readViewsValue reads a signed view cookie's value (for tests and tools).
func (s *Server) readViewsValue(signed string) (viewState, time.Time, bool) {
	value, ok := s.verify(cookieViews, signed, time.Now())
	if !ok {
		return viewState{}, time.Time{}, false
	}
	expires, _ := signedExpiry(signed)
	v, ok := decodeViewState(value, expires)
	return v, expires, ok
}
