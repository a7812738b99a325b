package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/sqlite"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
	"github.com/pledge-news/pledge/web"
)

// BenchmarkDashboard90d renders the 90-day dashboard, queries and HTML, over a ledger of
// 1,000,000 seeded donations spread over three years. The ledger is seeded once per run into a
// temporary file (about a minute or two); the sub-benchmark measures one page.
func BenchmarkDashboard90d(b *testing.B) {
	ctx := context.Background()
	db := storetest.OpenAt(b, b.TempDir()+"/bench.db", nil)
	start := time.Now()
	if err := db.Seed(ctx, sqlite.SeedOptions{Donations: 1_000_000, Rand: 42}); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded 1,000,000 donations in %s", time.Since(start).Round(time.Second))
	if _, err := db.CreateStaff(ctx, viewerEmail, password, pledge.RoleViewer); err != nil {
		b.Fatal(err)
	}
	sess, err := db.SignIn().Login(ctx, viewerEmail, password, "127.0.0.1", "")
	if err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse("http://localhost")
	srv, err := New(Config{BaseURL: u, Org: "Bench", Secret: []byte(strings.Repeat("k", 32))}, web.FS,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	srv.Staff, srv.Reports, srv.Supporters, srv.Checkouts, srv.Exports = db, db, db, db, db
	h := srv.Handler()
	b.Run("render", func(b *testing.B) {
		for b.Loop() {
			req := httptest.NewRequest("GET", "/staff?period=90d", nil)
			req.AddCookie(&http.Cookie{Name: "pledge_staff", Value: sess.Token})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<svg") {
				b.Fatalf("GET /staff = %d", rec.Code)
			}
		}
	})
}
