package server

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/pledge"
)

// exportForm is an export's period: inclusive dates (YYYY-MM-DD), both optional.
type exportForm struct {
	From string `query:"from"`
	To   string `query:"to"`
}

// filter reads the dates as `pledge export` does: --to names the last day included.
func (f exportForm) filter() (pledge.ExportFilter, error) {
	from, err := pledge.ParseExportDate(f.From, false)
	if err != nil {
		return pledge.ExportFilter{}, err
	}
	to, err := pledge.ParseExportDate(f.To, true)
	return pledge.ExportFilter{From: from, To: to}, err
}

func orAll(s string) string {
	if s == "" {
		return "all"
	}
	return s
}

// handleExportDonations streams the donations CSV (written as rows are read) through the one
// writer `pledge export` uses, after writing the export to the audit log.
func (s *Server) handleExportDonations(c echo.Context) error {
	return s.export(c, "donations", pledge.WriteDonations)
}

func (s *Server) handleExportSupporters(c echo.Context) error {
	return s.export(c, "supporters", pledge.WriteSupporters)
}

// exportWriter is pledge.WriteDonations or pledge.WriteSupporters.
type exportWriter func(ctx context.Context, w io.Writer, svc pledge.ExportService, f pledge.ExportFilter, format string) error

func (s *Server) export(c echo.Context, name string, write exportWriter) error {
	var f exportForm
	if err := c.Bind(&f); err != nil {
		return pledge.Errorf(pledge.EINVALID, "The dates could not be read.")
	}
	filter, err := f.filter()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := s.Supporters.Audit(ctx, pledge.AuditEntry{Actor: staffOf(c).Staff.Email, Action: "export " + name,
		Subject: name + " " + orAll(f.From) + " to " + orAll(f.To)}); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s-%s-%s.csv"`, name, orAll(f.From), orAll(f.To)))
	c.Response().WriteHeader(http.StatusOK)
	if err := write(ctx, c.Response(), s.Exports, filter, pledge.FormatCSV); err != nil {
		// The status is sent: all that can be done is to stop, leaving a visibly cut file.
		s.logger.Error("export failed", "export", name, "err", err)
	}
	return nil
}
