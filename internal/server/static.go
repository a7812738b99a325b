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
