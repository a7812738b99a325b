package server

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// registerHealthRoutes serves the probes: polled every few seconds, so never logged.
func (s *Server) registerHealthRoutes(e *echo.Echo) {
	probes := s.area(e, "", probePolicy)
	probes.GET("/healthz", s.handleHealthz)
	probes.GET("/readyz", s.handleReadyz)
}

// handleHealthz answers while the process runs.
func (s *Server) handleHealthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers 200 only when the database answers and its schema is current.
func (s *Server) handleReadyz(c echo.Context) error {
	if s.Ready != nil {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := s.Ready(ctx); err != nil {
			s.logger.Warn("not ready", "err", err)
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}
