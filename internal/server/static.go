package server

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// registerStaticRoutes serves the embedded static files, on every article page view.
func (s *Server) registerStaticRoutes(e *echo.Echo) {
	files := http.StripPrefix("/static/", http.FileServerFS(s.static))
	s.area(e, "/static", assetPolicy).GET("/*", func(c echo.Context) error {
		if strings.HasPrefix(c.Request().URL.Path, catalogueDir) {
			return s.serveCatalogue(c)
		}
		p := strings.TrimPrefix(c.Request().URL.Path, "/static/")
		// Only files the renderer hashed at start exist; this also refuses directory listings and
		// any path that io/fs would not accept (.., encoded slashes, absolute paths).
		hash, ok := s.renderer.assets[p]
		if !ok {
			return echo.ErrNotFound
		}
		h := c.Response().Header()
		if c.QueryParam("v") == hash {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "public, max-age=300")
		}
		files.ServeHTTP(c.Response(), c.Request())
		return nil
	})
}

// catalogueDir is where the donation form's catalogue scripts are served, each at a name made of
// its content's hash (currencyView.src).
const catalogueDir = "/static/catalogue/"

// serveCatalogue serves a catalogue script. Its name is its content's hash, so it never changes
// and browsers may keep it for good; a name no prompt set made is 404.
func (s *Server) serveCatalogue(c echo.Context) error {
	b, ok := s.catalogues.Load(c.Request().URL.Path)
	if !ok {
		return echo.ErrNotFound
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	return c.Blob(http.StatusOK, "text/javascript; charset=utf-8", b.([]byte))
}
