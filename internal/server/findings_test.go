package server

import (
	"bytes"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestRequestIDOnlyASafeToken (issue 13, finding g): a client's X-Request-Id is echoed and
// logged only when it is a short token of safe characters; anything else (log injection, a
// reader's address, a megabyte) is replaced by a fresh id.
func TestRequestIDOnlyASafeToken(t *testing.T) {
	var logs bytes.Buffer
	base, _ := url.Parse("http://pledge.test")
	s, err := New(Config{BaseURL: base, Org: "The Daily Test", Secret: []byte("0123456789abcdef0123456789abcdef")},
		os.DirFS("../../web"), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	safe := regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	for _, tc := range []struct {
		in   string
		keep bool
	}{
		{"abc-123_X.9", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"reader@example.com", false},
		{"x\" level=ERROR msg=forged", false},
		{"<script>alert(1)</script>", false},
		{"id with spaces", false},
	} {
		logs.Reset()
		rec := do(h, "GET", "/nope", map[string]string{"X-Request-Id": tc.in, "Accept": "text/html"})
		got := rec.Header().Get("X-Request-Id")
		if tc.keep && got != tc.in {
			t.Errorf("X-Request-Id %q answered %q, want it kept", tc.in, got)
		}
		if !tc.keep && (got == tc.in || !safe.MatchString(got)) {
			t.Errorf("X-Request-Id %q answered %q, want a fresh id", tc.in, got)
		}
		if !tc.keep && (strings.Contains(logs.String(), tc.in) || strings.Contains(rec.Body.String(), tc.in)) {
			t.Errorf("X-Request-Id %q reached the log or the page:\n%s", tc.in, logs.String())
		}
		if !strings.Contains(logs.String(), "request_id="+got) {
			t.Errorf("the log does not carry the id answered (%q):\n%s", got, logs.String())
		}
	}
}
