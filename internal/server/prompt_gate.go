package server

import (
	"net/http"
	"time"
)

// promptSilenced reports whether GET /prompt should answer 204 for this reader: a valid deferral
// or supporter cookie, or past the view cap. It reads signed cookies only: no database on the
// prompt's hot path. A tampered or expired cookie reads as absent. It never counts a view: the
// prompt handler calls countPromptView when it does show the prompt.
func (s *Server) promptSilenced(r *http.Request) bool {
	if s.promptDeferred(r) {
		return true
	}
	capacity := s.cfg.PromptViewCap // withDefaults fills it in; a negative N switches it off
	if capacity.N < 0 {
		return false
	}
	n, _, ok := s.promptViews(r)
	return ok && n >= capacity.N
}

// promptDeferred reports whether the reader asked not to be asked, or already gives.
func (s *Server) promptDeferred(r *http.Request) bool {
	if _, ok := s.readSignedOf(r, cookieDeferral); ok {
		return true
	}
	_, ok := s.readSignedOf(r, cookieSupporter)
	return ok
}

// promptViews reads the view-count cookie: the count and when its window ends. A window that has
// ended reads as absent (the cookie may outlive it to keep an experiment id: view_cookie.go).
func (s *Server) promptViews(r *http.Request) (n int, expires time.Time, ok bool) {
	v, _, ok := s.readViews(r)
	if !ok || !time.Now().Before(v.window) {
		return 0, time.Time{}, false
	}
	return v.n, v.window, true
}
