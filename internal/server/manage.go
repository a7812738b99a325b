package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/pledge"
)

const (
	linkManage = "link_manage"
	// manageTTL is how long a /manage link works.
	manageTTL = time.Hour
	// manageSendTimeout bounds the background lookup and e-mail of one /manage request.
	manageSendTimeout = time.Minute
)

// defaultManageEmailLimit is how often one address may ask for a /manage link.
var defaultManageEmailLimit = Limit{N: 5, Per: time.Hour}

// managePage is GET /manage and its 422.
type managePage struct {
	Layout
	Email string
	Error string
}

// manageInfoPage is every page of the area that only informs: sent (the one neutral answer),
// expired or used links, back from the portal, unavailable.
type manageInfoPage struct {
	Layout
	Kind string // sent, expired, done
}

func (s *Server) registerManageRoutes(e *echo.Echo) {
	perAddress := s.keyedLimiter(s.cfg.ManageEmailLimit, defaultManageEmailLimit)
	e.GET("/manage", s.handleManageForm)
	e.POST("/manage", func(c echo.Context) error { return s.handleManageRequest(c, perAddress) },
		s.rateLimit(s.cfg.RemindLimit, "Too many requests from your network. Please try again in a few minutes."))
	e.GET("/manage/done", s.handleManageDone)
	e.GET("/manage/:token", s.handleManageLink)
}

func (s *Server) handleManageForm(c echo.Context) error {
	return s.render(c, http.StatusOK, "manage", &managePage{Layout: Layout{Title: "Manage my support"}})
}

// handleManageRequest answers the same page, with the same status, at once, whether or not the
// address belongs to a supporter: the lookup and the e-mail happen in the background, so neither
// the answer nor its timing tells who supports.
func (s *Server) handleManageRequest(c echo.Context, perAddress func(string) bool) error {
	email, err := pledge.NormalizeEmail(c.FormValue("email"))
	if err != nil {
		return s.render(c, http.StatusUnprocessableEntity, "manage", &managePage{Layout: Layout{Title: "Manage my support"},
			Email: c.FormValue("email"), Error: pledge.ErrorMessage(err)})
	}
	if s.SendManageLink == nil || s.Manage == nil || s.Portal == nil {
		return pledge.Errorf(pledge.EUNAVAILABLE, "We can't send e-mail from here yet. Please contact us to change your support.")
	}
	if !perAddress(addressKey(email)) {
		return pledge.Errorf(pledge.ERATELIMIT, "Too many links asked for this address. Please try again later.")
	}
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		ctx, cancel := context.WithTimeout(context.Background(), manageSendTimeout)
		defer cancel()
		s.sendManageLink(ctx, email)
	}()
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, http.StatusOK, "manage_info", &manageInfoPage{Layout: Layout{Title: "Check your e-mail"}, Kind: "sent"})
}

// sendManageLink e-mails a supporter their links; an unknown address gets nothing. Errors are
// logged without the address.
func (s *Server) sendManageLink(ctx context.Context, email string) {
	acct, err := s.Manage.FindSupportAccount(ctx, email)
	if pledge.ErrorCode(err) == pledge.ENOTFOUND {
		return
	} else if err != nil {
		s.logger.Error("manage: finding supporter", "err", err)
		return
	}
	manageURL := s.manageURL(acct.SupporterID, time.Now())
	cancelURL := ""
	if acct.SubscriptionID != "" {
		cancelURL = manageURL + "?action=cancel"
	}
	if err := s.SendManageLink(ctx, email, manageURL, cancelURL); err != nil {
		s.logger.Warn("manage: link not sent", "supporter", acct.SupporterID, "err", err)
	}
}

// handleManageLink spends a single-use link and sends the supporter to a billing-portal session
// for their own customer; ?action=cancel opens it on the subscription_cancel flow.
func (s *Server) handleManageLink(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	ctx := c.Request().Context()
	tokenID, supporterID, expires, ok := s.parseManageToken(c.Param("token"), time.Now())
	if ok {
		err := s.Manage.UseManageToken(ctx, tokenID, expires)
		if ok = pledge.ErrorCode(err) != pledge.ECONFLICT; err != nil && ok {
			return err
		}
	}
	var acct *pledge.SupportAccount
	if ok {
		var err error
		if acct, err = s.Manage.FindSupportAccountByID(ctx, supporterID); pledge.ErrorCode(err) == pledge.ENOTFOUND {
			ok = false
		} else if err != nil {
			return err
		}
	}
	if !ok {
		return s.render(c, http.StatusGone, "manage_info", &manageInfoPage{Layout: Layout{Title: "This link has expired"}, Kind: "expired"})
	}
	req := pledge.PortalRequest{CustomerID: acct.CustomerID, ReturnURL: s.cfg.BaseURL.String() + "/manage/done"}
	if c.QueryParam("action") == "cancel" {
		req.CancelSubscriptionID = acct.SubscriptionID
	}
	u, err := s.Portal.CreatePortalSession(ctx, req)
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, u)
}

// handleManageDone is where the billing portal returns.
func (s *Server) handleManageDone(c echo.Context) error {
	return s.render(c, http.StatusOK, "manage_info", &manageInfoPage{Layout: Layout{Title: "Thank you"}, Kind: "done"})
}

// manageURL returns a signed, single-use link for a supporter, valid for manageTTL. The token is
// base64url, so it is one clean path segment.
func (s *Server) manageURL(supporterID int64, now time.Time) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	signed := s.sign(linkManage, hex.EncodeToString(b)+"."+strconv.FormatInt(supporterID, 10), now.Add(manageTTL))
	return s.cfg.BaseURL.String() + "/manage/" + base64.RawURLEncoding.EncodeToString([]byte(signed))
}

// parseManageToken verifies a /manage token: its id (for single use), supporter and expiry.
func (s *Server) parseManageToken(token string, now time.Time) (id string, supporterID int64, expires time.Time, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", 0, time.Time{}, false
	}
	v, ok := s.verify(linkManage, string(raw), now)
	if !ok {
		return "", 0, time.Time{}, false
	}
	id, sup, found := strings.Cut(v, ".")
	supporterID, err = strconv.ParseInt(sup, 10, 64)
	if !found || err != nil || id == "" {
		return "", 0, time.Time{}, false
	}
	expires, _ = signedExpiry(string(raw))
	return id, supporterID, expires, true
}

// Wait waits for background work started by requests (the /manage e-mails) to finish; serve calls
// it after the HTTP server has shut down, and tests before they look at the mailbox.
func (s *Server) Wait() { s.background.Wait() }
