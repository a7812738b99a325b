package server

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
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
	c.SetCookie(&http.Cookie{
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
	ck, err := c.Cookie(name)
	if err != nil {
		return "", false
	}
	return s.verify(name, ck.Value, time.Now())
}

// readerID returns the anonymous reader id from its cookie, creating (newReaderID) and setting
// one (for a year) when there is none. It identifies a browser, never a person.
func (s *Server) readerID(c echo.Context) string {
	if id, ok := s.readSigned(c, cookieReader); ok {
		return id
	}
	now := time.Now()
	id := newReaderID(now)
	s.setSigned(c, cookieReader, id, now.Add(365*24*time.Hour))
	return id
}

// newReaderID returns a new anonymous reader id: "rd_", the time it is made (Unix milliseconds,
// 12 hex digits), then 8 random bytes (16 hex digits). Ids made together sort together, so the
// first write of a burst of new readers (a deferral, a checkout), which is when most ids are made,
// lands at the end of the reader_id index rather than on a random page of it: a group commit of
// some 30 new readers' deferrals then writes a few pages to the write-ahead log, not one each.
// The time says no more than the row's created_at; protective mode's ids (readerFor) stay random.
func newReaderID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())) // its low 6 bytes: until the year 10889
	_, _ = rand.Read(b[8:])
	return "rd_" + hex.EncodeToString(b[2:])
}
