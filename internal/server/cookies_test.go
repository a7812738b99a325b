package server

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// TestAddCookieWritesAsSetCookie: addCookie writes every cookie as http.SetCookie does, the
// cookies it writes itself and those it leaves to http.Cookie.
func TestAddCookieWritesAsSetCookie(t *testing.T) {
	exp := time.Date(2027, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	values := []string{"1.1798839641.0hsEMhteldYfUPcp|1827783641|4ivzUqUl1ulMX2zSqbOeeTfrGMo", "abcXYZ", "",
		"with space", "a,b", `quo"te`, "semi;colon", `back\slash`, "tab\there", "caf\u00e9", "x=y", "\x7f"}
	cookies := []http.Cookie{
		{Name: "pledge_views", Path: "/", Expires: exp, MaxAge: 2591999, HttpOnly: true, SameSite: http.SameSiteLaxMode},
		{Name: "__Host-pledge_csrf", Path: "/", Expires: exp, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode},
		{Name: "n", Expires: exp, MaxAge: -1},
		{Name: "n", Path: "/a b;c", Expires: exp},
		{Name: "n", Path: "/", MaxAge: 5},
		{Name: "n", Path: "/", Expires: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Name: "n", Path: "/", Expires: exp, Domain: "news.example"},
		{Name: "n", Path: "/", Expires: exp, Quoted: true},
		{Name: "n", Path: "/", Expires: exp, Partitioned: true, Secure: true},
		{Name: "n", Path: "/", Expires: exp, SameSite: http.SameSiteStrictMode},
		{Name: "n", Path: "/", Expires: exp, SameSite: http.SameSiteNoneMode},
		{Name: "bad name", Path: "/", Expires: exp},
		{Name: "", Path: "/", Expires: exp},
	}
	for _, c := range cookies {
		for _, v := range values {
			c.Value = v
			want := http.Header{}
			http.SetCookie(httpHeaderWriter(want), &c)
			got, gotBytes := http.Header{}, http.Header{}
			addCookie(got, &c, v)
			addCookie(gotBytes, &c, []byte(v))
			if !slices.Equal(got["Set-Cookie"], want["Set-Cookie"]) || !slices.Equal(gotBytes["Set-Cookie"], want["Set-Cookie"]) {
				t.Errorf("%+v: addCookie wrote %q and %q, http.SetCookie %q", c, got["Set-Cookie"], gotBytes["Set-Cookie"], want["Set-Cookie"])
			}
		}
	}
}

// httpHeaderWriter is a ResponseWriter that is only its header.
type httpHeaderWriter http.Header

func (w httpHeaderWriter) Header() http.Header       { return http.Header(w) }
func (httpHeaderWriter) Write(b []byte) (int, error) { return len(b), nil }
func (httpHeaderWriter) WriteHeader(int)             {}

// TestAppendHTTPDate: the cached dates are those http.TimeFormat writes, however the seconds
// share the cache's slots, and from any zone.
func TestAppendHTTPDate(t *testing.T) {
	base := time.Date(2026, 12, 2, 21, 59, 59, 999, time.FixedZone("X", -5*3600))
	for _, tm := range []time.Time{base, base.Add(time.Second), base.Add(16 * time.Second), base.Add(24 * time.Hour),
		base.Add(30 * 24 * time.Hour), base.Add(365 * 24 * time.Hour), base.Add(-time.Nanosecond), base.AddDate(9000, 0, 0)} {
		for range 2 { // the second time from the cache
			if got, want := string(appendHTTPDate([]byte("x"), tm)), "x"+tm.UTC().Format(http.TimeFormat); got != want {
				t.Fatalf("appendHTTPDate(%v) = %q, want %q", tm, got, want)
			}
		}
	}
}
