package server

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/pledge"
)

// The supporter e-mails' pages (issue 14): one-click unsubscribe per kind, staff's view of the
// e-mails, and the statements. links.go makes and reads the e-mails' links.

// mailUnsubscribePage asks to confirm, or confirms, turning one kind of e-mail off.
type mailUnsubscribePage struct {
	Layout
	Token   string
	What    string
	Invalid bool
	Done    bool
}

// registerMailRoutes serves the supporter e-mails' one-click unsubscribe (RFC 8058), whose
// signed token is the authority: mail clients post it without a CSRF token.
func (s *Server) registerMailRoutes(e *echo.Echo) {
	links := s.area(e, "", signedLinkPolicy)
	links.form("/mail/unsubscribe", s.handleMailUnsubscribeForm, s.handleMailUnsubscribe)
}

// mailKindWhat says what a supporter stops receiving.
func mailKindWhat(k pledge.MailKind) string {
	switch k {
	case pledge.MailThanks:
		return "thank-you e-mails"
	case pledge.MailRecovery:
		return "e-mails about failed payments"
	case pledge.MailRenewal:
		return "notices before your annual support renews"
	}
	return "these e-mails"
}

func (s *Server) handleMailUnsubscribeForm(c echo.Context) error {
	token := c.QueryParam("token")
	_, kind, ok := s.mailUnsubscribeToken(token)
	if !ok || s.Mail == nil {
		return s.render(c, http.StatusBadRequest, "mail_unsubscribe", &mailUnsubscribePage{Layout: Layout{Title: "Link not valid"}, Invalid: true})
	}
	return s.render(c, http.StatusOK, "mail_unsubscribe", &mailUnsubscribePage{Layout: Layout{Title: "Unsubscribe"},
		Token: token, What: mailKindWhat(kind)})
}

// handleMailUnsubscribe turns one kind off: the confirmation's POST and the mail client's RFC 8058
// one-click POST alike. The signed token is the authority (no CSRF token).
func (s *Server) handleMailUnsubscribe(c echo.Context) error {
	token := c.QueryParam("token")
	if token == "" {
		token = c.FormValue("token")
	}
	id, kind, ok := s.mailUnsubscribeToken(token)
	if !ok || s.Mail == nil {
		return s.render(c, http.StatusBadRequest, "mail_unsubscribe", &mailUnsubscribePage{Layout: Layout{Title: "Link not valid"}, Invalid: true})
	}
	if err := s.Mail.UnsubscribeMail(c.Request().Context(), id, kind); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "mail_unsubscribe", &mailUnsubscribePage{Layout: Layout{Title: "Unsubscribed"},
		Done: true, What: mailKindWhat(kind)})
}

// staffEmailsPage is /staff/emails: every kind of supporter e-mail counted, recovered payments
// with and without a recovery e-mail, and the failed renewal invoices.
type staffEmailsPage struct {
	Layout
	Report    *pledge.MailReport
	Dashboard string
}

func (s *Server) handleStaffEmails(c echo.Context) error {
	if s.Mail == nil {
		return echo.ErrNotFound
	}
	r, err := s.Mail.MailReport(c.Request().Context())
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "staff_emails", &staffEmailsPage{Layout: s.staffLayout(c, "Supporter e-mails"),
		Report: r, Dashboard: s.stripeDashboard()})
}

// handleStatement is a supporter's statement for ?year= (default last year) as a PDF
// (?format=pdf) or a printable page (the default).
func (s *Server) handleStatement(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || s.Statements == nil || s.StatementFile == nil {
		return echo.ErrNotFound
	}
	year := time.Now().UTC().Year() - 1
	if y := c.QueryParam("year"); y != "" {
		if year, err = strconv.Atoi(y); err != nil || year < 2000 || year > 9999 {
			return pledge.Errorf(pledge.EINVALID, "The year must be like 2026.")
		}
	}
	format := c.QueryParam("format")
	if format != "pdf" {
		format = "html"
	}
	ctx := c.Request().Context()
	st, err := s.Statements.SupporterStatement(ctx, id, year)
	if err != nil {
		return err
	}
	contentType, body, err := s.StatementFile(st, format)
	if err != nil {
		return err
	}
	if err := s.Supporters.Audit(ctx, pledge.AuditEntry{Actor: staffOf(c).Staff.Email, Action: "statement",
		Subject: fmt.Sprintf("supporter %d", id), Detail: fmt.Sprintf("%d %s", year, format)}); err != nil {
		return err
	}
	if format == "pdf" {
		c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="statement-%d-%d.pdf"`, id, year))
	}
	return c.Blob(http.StatusOK, contentType, body)
}
