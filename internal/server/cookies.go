package server

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// Cookie names. The prompt decides from these alone, so its hot path needs no database.
const (
	cookieReader    = "pledge_reader"    // anonymous reader id
	cookieSupporter = "pledge_supporter" // set by the thank-you page
	cookieDeferral  = "pledge_deferral"  // set by "Remind me later"
	cookieViews     = "pledge_views"     // prompt views, for the view cap
)

// sign returns value|expiry|mac, where mac covers the cookie's name too, so a value signed for
// one cookie cannot be replayed as another.
func (s *Server) sign(name, value string, expires time.Time) string {
	payload := value + "|" + strconv.FormatInt(expires.Unix(), 10)
	return payload + "|" + s.mac(name, payload)
}

func (s *Server) mac(name, payload string) string {
	m := s.macs.get(s.cfg.Secret)
	defer s.macs.put(m)
	m.h.Write([]byte(name))
	m.h.Write([]byte{0})
	m.h.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.h.Sum(m.sum[:0])[:20])
}

// macPool keeps keyed HMAC-SHA256 states for reuse: every prompt view checks and signs cookies,
// and a fresh HMAC each time (its key schedule and buffers) was a good part of the view's
// garbage. A state is Reset before it goes back, so each use starts from the key alone.
type macPool struct{ p sync.Pool }

type pooledMAC struct {
	h   hash.Hash
	key []byte
	sum [sha256.Size]byte
}

func (mp *macPool) get(key []byte) *pooledMAC {
	if m, ok := mp.p.Get().(*pooledMAC); ok && bytes.Equal(m.key, key) {
		return m
	}
	return &pooledMAC{h: hmac.New(sha256.New, key), key: key}
}

func (mp *macPool) put(m *pooledMAC) {
	m.h.Reset()
	mp.p.Put(m)
}

// verify returns the value of a signed string if its MAC is right and it has not expired.
func (s *Server) verify(name, signed string, now time.Time) (string, bool) {
	i := strings.LastIndexByte(signed, '|')
	if i < 0 {
		return "", false
	}
	payload, mac := signed[:i], signed[i+1:]
	if !hmac.Equal([]byte(mac), []byte(s.mac(name, payload))) {
		return "", false
	}
	j := strings.LastIndexByte(payload, '|')
	if j < 0 {
		return "", false
	}
	exp, err := strconv.ParseInt(payload[j+1:], 10, 64)
	if err != nil || now.Unix() >= exp {
		return "", false
	}
	return payload[:j], true
}

// setSigned sets a signed, HttpOnly cookie that expires at expires.
func (s *Server) setSigned(c echo.Context, name, value string, expires time.Time) {
	s.setSignedOn(c.Response(), name, value, expires)
}

// setSignedOn is setSigned on any response.
func (s *Server) setSignedOn(w http.ResponseWriter, name, value string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    s.sign(name, value, expires),
		Path:     "/",
		Expires:  expires,
		MaxAge:   int(time.Until(expires).Seconds()),
		HttpOnly: true,
		Secure:   s.cfg.Secure(),
		SameSite: http.SameSiteLaxMode,
	})
}

// readSigned returns a signed cookie's value; a missing, tampered or expired cookie reads as
// absent.
func (s *Server) readSigned(c echo.Context, name string) (string, bool) {
	return s.readSignedOf(c.Request(), name)
}

// readSignedOf is readSigned of any request.
func (s *Server) readSignedOf(r *http.Request, name string) (string, bool) {
	ck, err := r.Cookie(name)
	if err != nil {
		return "", false
	}
	return s.verify(name, ck.Value, time.Now())
}

// readerID returns the anonymous reader id from its cookie, creating and setting one (for a
// year) when there is none. It identifies a browser, never a person.
func (s *Server) readerID(c echo.Context) string {
	if id, ok := s.readSigned(c, cookieReader); ok {
		return id
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	id := "rd_" + hex.EncodeToString(b)
	s.setSigned(c, cookieReader, id, time.Now().Add(365*24*time.Hour))
	return id
}
