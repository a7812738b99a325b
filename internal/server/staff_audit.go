package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/pledge"
)

type auditPage struct {
	Layout
	Entries []pledge.AuditEntry
}

func (s *Server) handleAudit(c echo.Context) error {
	entries, err := s.Supporters.AuditLog(c.Request().Context(), 500)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "staff_audit", &auditPage{Layout: s.staffLayout(c, "Audit log"), Entries: entries})
}
