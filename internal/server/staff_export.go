package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/pledge"
)

// exportForm is an export's period: inclusive dates, both optional (all of history).
type exportForm struct {
	From string `query:"from"`
	To   string `query:"to"`
}

func (f exportForm) period() (pledge.Period, error) {
	p := pledge.Period{From: time.Unix(0, 0).UTC(), To: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
	if f.From != "" {
		t, err := time.Parse(dateForm, f.From)
		if err != nil {
			return p, pledge.FieldErrorf("from", "Give the start date as YYYY-MM-DD.")
		}
		p.From = t
	}
	if f.To != "" {
		t, err := time.Parse(dateForm, f.To)
		if err != nil {
			return p, pledge.FieldErrorf("to", "Give the end date as YYYY-MM-DD.")
		}
		p.To = t.Add(24 * time.Hour)
	}
	return p, nil
}

// startCSV sends the headers of a CSV download; rows follow as they are read.
func startCSV(c echo.Context, name string, f exportForm) {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s-%s-%s.csv"`, name, orAll(f.From), orAll(f.To)))
	c.Response().WriteHeader(http.StatusOK)
}

func orAll(s string) string {
	if s == "" {
		return "all"
	}
	return s
}

func (s *Server) handleExportDonations(c echo.Context) error {
	var f exportForm
	_ = c.Bind(&f)
	p, err := f.period()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := s.Supporters.Audit(ctx, pledge.AuditEntry{Actor: staffOf(c).Staff.Email, Action: "export donations",
		Subject: "donations " + orAll(f.From) + " to " + orAll(f.To)}); err != nil {
		return err
	}
	startCSV(c, "donations", f)
	w := pledge.NewDonationsCSV(c.Response())
	n := 0
	err = s.Supporters.ExportDonations(ctx, p, func(r pledge.DonationRow) error {
		if n++; n%1000 == 0 {
			if err := w.Flush(); err != nil {
				return err
			}
			c.Response().Flush()
		}
		return w.WriteDonation(r)
	})
	if err != nil {
		// The status is sent: all that can be done is to stop, leaving a visibly cut file.
		s.logger.Error("donations export failed", "err", err)
		return nil
	}
	return w.Close()
}

func (s *Server) handleExportSupporters(c echo.Context) error {
	var f exportForm
	_ = c.Bind(&f)
	p, err := f.period()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := s.Supporters.Audit(ctx, pledge.AuditEntry{Actor: staffOf(c).Staff.Email, Action: "export supporters",
		Subject: "supporters " + orAll(f.From) + " to " + orAll(f.To)}); err != nil {
		return err
	}
	startCSV(c, "supporters", f)
	w := pledge.NewSupportersCSV(c.Response())
	if err := s.Supporters.ExportSupporters(ctx, p, w.WriteSupporter); err != nil {
		s.logger.Error("supporters export failed", "err", err)
		return nil
	}
	return w.Close()
}
