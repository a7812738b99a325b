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
	"sync/atomic"
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
	var buf [128]byte
	return string(s.appendSigned(buf[:0], name, value, expires))
}

// appendSigned appends sign's value|expiry|mac to b.
func (s *Server) appendSigned(b []byte, name, value string, expires time.Time) []byte {
	start := len(b)
	b = append(b, value...)
	b = append(b, '|')
	b = strconv.AppendInt(b, expires.Unix(), 10)
	payload := b[start:]
	return appendMAC(s, append(b, '|'), name, payload)
}

// appendMAC appends the MAC of a payload signed for name, base64 (URL alphabet, unpadded).
func appendMAC[P string | []byte](s *Server, b []byte, name string, payload P) []byte {
	m := s.macs.get(s.cfg.Secret)
	defer s.macs.put(m)
	// One Write of the whole message from the state's own buffer: a string converted for each
	// Write would be allocated.
	m.msg = append(append(append(m.msg[:0], name...), 0), payload...)
	m.h.Write(m.msg)
	return base64.RawURLEncoding.AppendEncode(b, m.h.Sum(m.sum[:0])[:20])
}

// macPool keeps keyed HMAC-SHA256 states for reuse: every prompt view checks and signs cookies,
// and a fresh HMAC each time (its key schedule and buffers) was a good part of the view's
// garbage. A state is Reset before it goes back, so each use starts from the key alone.
type macPool struct{ p sync.Pool }

type pooledMAC struct {
	h   hash.Hash
	key []byte
	sum [sha256.Size]byte
	msg []byte
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
	var buf [32]byte
	if !hmac.Equal([]byte(mac), appendMAC(s, buf[:0], name, payload)) {
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
	var buf [256]byte
	v := s.appendSigned(buf[:0], name, value, expires)
	addCookie(w.Header(), &http.Cookie{Name: name, Path: "/", Expires: expires, MaxAge: int(time.Until(expires).Seconds()),
		HttpOnly: true, Secure: s.cfg.Secure(), SameSite: http.SameSiteLaxMode}, v)
}

// addCookie adds the Set-Cookie header of c with the value v (c.Value is not read) to h: what
// http.SetCookie writes, without its allocations but one, for the cookies this service sets on
// every prompt (TestAddCookieWritesAsSetCookie). A cookie whose name, value or attributes need
// what http.Cookie's String checks or quotes is written by it.
func addCookie[V string | []byte](h http.Header, c *http.Cookie, v V) {
	simple := c.Domain == "" && !c.Quoted && !c.Partitioned && validCookieExpires(c.Expires) && len(v) > 0 &&
		(c.SameSite == http.SameSiteLaxMode || c.SameSite == http.SameSiteDefaultMode)
	for i := 0; simple && i < len(v); i++ {
		b := v[i]
		simple = 0x20 < b && b < 0x7f && b != '"' && b != ';' && b != '\\' && b != ','
	}
	for i := 0; simple && i < len(c.Path); i++ {
		simple = 0x20 <= c.Path[i] && c.Path[i] < 0x7f && c.Path[i] != ';'
	}
	for i := 0; simple && i < len(c.Name); i++ {
		simple = cookieNameByte(c.Name[i])
	}
	if !simple || c.Name == "" {
		ck := *c
		ck.Value = string(v)
		if line := ck.String(); line != "" {
			appendCookie(h, line)
		}
		return
	}
	var buf [320]byte
	b := append(append(append(buf[:0], c.Name...), '='), v...)
	if c.Path != "" {
		b = append(append(b, "; Path="...), c.Path...)
	}
	b = appendHTTPDate(append(b, "; Expires="...), c.Expires)
	if c.MaxAge > 0 {
		b = strconv.AppendInt(append(b, "; Max-Age="...), int64(c.MaxAge), 10)
	} else if c.MaxAge < 0 {
		b = append(b, "; Max-Age=0"...)
	}
	if c.HttpOnly {
		b = append(b, "; HttpOnly"...)
	}
	if c.Secure {
		b = append(b, "; Secure"...)
	}
	if c.SameSite == http.SameSiteLaxMode {
		b = append(b, "; SameSite=Lax"...)
	}
	appendCookie(h, string(b))
}

// appendCookie adds a Set-Cookie line to h, with room for a second: the prompt sets two.
func appendCookie(h http.Header, line string) {
	if old := h["Set-Cookie"]; old != nil {
		h["Set-Cookie"] = append(old, line)
	} else {
		h["Set-Cookie"] = append(make([]string, 0, 2), line)
	}
}

// validCookieExpires is net/http's test of an Expires it writes: a year from 1601 (RFC 6265).
func validCookieExpires(t time.Time) bool { return t.Year() >= 1601 }

// cookieNameByte reports whether b may be in a cookie's name (an RFC 7230 token).
func cookieNameByte(b byte) bool {
	return b > 0x20 && b < 0x7f && !strings.ContainsRune("\"(),/:;<=>?@[\\]{}", rune(b))
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

// httpDates keeps the last dates appendHTTPDate wrote, a few by their second: the cookies of a
// second's prompts expire in the same few seconds (a day and 30 days on, for new readers).
var httpDates [16]atomic.Pointer[httpDate]

type httpDate struct {
	unix int64
	text [len(http.TimeFormat)]byte
}

// appendHTTPDate appends t as http.TimeFormat writes it (in UTC).
func appendHTTPDate(b []byte, t time.Time) []byte {
	sec := t.Unix()
	slot := &httpDates[uint64(sec)*0x9E3779B97F4A7C15>>60] // a day and 30 days apart are far apart here
	if d := slot.Load(); d != nil && d.unix == sec {
		return append(b, d.text[:]...)
	}
	d := &httpDate{unix: sec}
	if len(t.UTC().AppendFormat(d.text[:0], http.TimeFormat)) != len(d.text) { // a year beyond 9999
		return t.UTC().AppendFormat(b, http.TimeFormat)
	}
	slot.Store(d)
	return append(b, d.text[:]...)
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
