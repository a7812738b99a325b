package server

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/pledge"
)

// The supporter e-mails' links (issue 14): one-click unsubscribe per kind, and the signed
// single-use /manage links each e-mail carries, which name the e-mail so that staff see whether
// the supporter used them.

const (
	linkMailUnsubscribe = "link_mail_unsubscribe"
	// actionRecover opens the billing portal on the payment-method flow (a failed renewal).
	actionRecover = "recover"
)

// ManageLink returns a signed single-use /manage link for a supporter e-mail: action is manage,
// cancel or recover, and the link's id names the e-mail (mailID), so that using it is recorded
// against the e-mail. The sender (which runs without an HTTP server) makes its links with it.
func ManageLink(base string, secret []byte, mailID, supporterID int64, action string, exp time.Time) string {
	s := &Server{cfg: Config{Secret: secret}}
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	id := fmt.Sprintf("m%d-%s", mailID, hex.EncodeToString(b))
	signed := s.sign(linkManage, id+"."+strconv.FormatInt(supporterID, 10)+"."+action, exp)
	return strings.TrimRight(base, "/") + "/manage/" + base64.RawURLEncoding.EncodeToString([]byte(signed))
}

// mailOfToken returns the e-mail a /manage token's id names, 0 for links asked for at /manage.
func mailOfToken(id string) int64 {
	rest, ok := strings.CutPrefix(id, "m")
	if !ok {
		return 0
	}
	n, _, _ := strings.Cut(rest, "-")
	v, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// MailUnsubscribeURL returns the one-click unsubscribe link of one kind of supporter e-mail,
// valid for a year from now.
func MailUnsubscribeURL(base string, secret []byte, supporterID int64, kind pledge.MailKind, now time.Time) string {
	s := &Server{cfg: Config{Secret: secret}}
	token := s.sign(linkMailUnsubscribe, string(kind)+"."+strconv.FormatInt(supporterID, 10), now.Add(365*24*time.Hour))
	return strings.TrimRight(base, "/") + "/mail/unsubscribe?token=" + url.QueryEscape(token)
}

// mailUnsubscribeToken verifies an unsubscribe token and returns its supporter and kind.
func (s *Server) mailUnsubscribeToken(token string) (int64, pledge.MailKind, bool) {
	v, ok := s.verify(linkMailUnsubscribe, token, time.Now())
	if !ok {
		return 0, "", false
	}
	k, id, ok := strings.Cut(v, ".")
	kind, err := pledge.ParseMailKind(k)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || err2 != nil || !kind.Unsubscribable() {
		return 0, "", false
	}
	return n, kind, true
}

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
	links.GET("/mail/unsubscribe", s.handleMailUnsubscribeForm)
	links.POST("/mail/unsubscribe", s.handleMailUnsubscribe)
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
