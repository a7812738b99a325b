package server

import (
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/pledge-news/pledge/web"
)

// New works out Pledge's own origin once, without the base URL's path, for the CSRF check, the
// staff downloads' same-origin check and the letter's links.
func TestOwnOriginFromBaseURL(t *testing.T) {
	for base, want := range map[string]string{
		"https://support.example":          "https://support.example",
		"https://support.example:8443/":    "https://support.example:8443",
		"http://news.example/support/give": "http://news.example",
	} {
		u, _ := url.Parse(base)
		s, err := New(Config{BaseURL: u, Secret: []byte(strings.Repeat("k", 32))}, web.FS, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if s.origin != want || !slices.Contains(s.letterOrigins(), want) {
			t.Errorf("%s: origin %q, letter origins %v; want %q", base, s.origin, s.letterOrigins(), want)
		}
	}
}
