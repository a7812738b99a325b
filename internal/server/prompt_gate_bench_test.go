package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// BenchmarkPromptDecision is the prompt's decision alone, from signed cookies: a reader who
// deferred (silenced at the first cookie), and one with a view count under the cap (every cookie
// read and verified, then shown).
func BenchmarkPromptDecision(b *testing.B) {
	base, _ := url.Parse("http://pledge.test")
	s, err := New(Config{BaseURL: base, Org: "Bench", Secret: []byte("0123456789abcdef0123456789abcdef")}, os.DirFS("../../web"), nil)
	if err != nil {
		b.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	for _, tt := range []struct {
		name   string
		cookie *http.Cookie
		want   bool
	}{
		{"deferred", &http.Cookie{Name: cookieDeferral, Value: s.sign(cookieDeferral, "week", exp)}, true},
		{"counted", &http.Cookie{Name: cookieViews, Value: s.sign(cookieViews, "1", exp)}, false},
	} {
		b.Run(tt.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/prompt", nil)
			req.AddCookie(tt.cookie)
			c := echo.New().NewContext(req, httptest.NewRecorder())
			for b.Loop() {
				if got := s.promptSilenced(c.Request()); got != tt.want {
					b.Fatalf("silenced = %v, want %v", got, tt.want)
				}
			}
		})
	}
}
