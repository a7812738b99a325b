package server

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/pledge"
)

// manageSendTimeout bounds the background lookup and e-mail of one /manage request.
const manageSendTimeout = time.Minute

// managePage is GET /manage and its 422.
type managePage struct {
	Layout
	Email string
	Error string
}

// manageConfirmPage is GET /manage/:token: a button that POSTs to the same URL. A GET spends
// nothing, so mail scanners that open links before the reader do no harm.
type manageConfirmPage struct {
	Layout
	Action  string // the form's target: the link itself
	Cancel  bool
	Recover bool // a failed renewal's link: the payment-method flow
	Days    bool // an e-mail's link, which works for days rather than an hour
}

// manageInfoPage is every page of the area that only informs: sent (the one neutral answer),
// expired or used links, back from the portal, unavailable.
type manageInfoPage struct {
	Layout
	Kind string // sent, expired, done
}

// registerManageRoutes serves a supporter's way to the billing portal: the request form (which
// the prompt may post too) and the signed links it e-mails.
func (s *Server) registerManageRoutes(e *echo.Echo) {
	forms := s.area(e, "", embedFormPolicy)
	forms.form("/manage", s.handleManageForm, s.handleManageRequest, s.rateLimit(s.cfg.RemindLimit, "error.rate.remind"))
	pages := s.area(e, "", pagePolicy)
	pages.GET("/manage/done", s.handleManageDone)
	pages.form("/manage/:token", s.handleManageConfirm, s.handleManageLink, s.rateLimit(s.cfg.RemindLimit, "error.rate.remind"))
}

func (s *Server) handleManageForm(c echo.Context) error {
	return s.render(c, http.StatusOK, "manage", &managePage{Layout: Layout{Title: "Manage my support"}})
}

// handleManageRequest answers the same page, with the same status, at once, whether or not the
// address belongs to a supporter: the lookup and the e-mail happen in the background, so neither
// the answer nor its timing tells who supports.
func (s *Server) handleManageRequest(c echo.Context) error {
	email, err := pledge.NormalizeEmail(c.FormValue("email"))
	if err != nil {
		lc := s.lang(c)
		return s.render(c, http.StatusUnprocessableEntity, "manage", &managePage{Layout: Layout{Title: lc.T("manage.title"), L: lc},
			Email: c.FormValue("email"), Error: lc.Error(err)})
	}
	if s.SendManageLink == nil || s.Manage == nil || s.Portal == nil {
		return pledge.Errorf(pledge.EUNAVAILABLE, "We can't send e-mail from here yet. Please contact us to change your support.").Keyed("error.manage.no_mail")
	}
	if !s.managePerAddress(addressKey(email)) {
		return pledge.Errorf(pledge.ERATELIMIT, "Too many links asked for this address. Please try again later.").Keyed("error.rate.manage_email")
	}
	lang := s.lang(c).Code // the e-mail is written in the language of the page it was asked on
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		ctx, cancel := context.WithTimeout(context.Background(), manageSendTimeout)
		defer cancel()
		s.sendManageLink(ctx, email, lang)
	}()
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, http.StatusOK, "manage_info", &manageInfoPage{Layout: Layout{Title: "Check your e-mail"}, Kind: "sent"})
}

// sendManageLink e-mails a supporter their links; an unknown address gets nothing. Errors are
// logged without the address.
func (s *Server) sendManageLink(ctx context.Context, email, lang string) {
	acct, err := s.Manage.FindSupportAccount(ctx, email)
	if pledge.ErrorCode(err) == pledge.ENOTFOUND {
		return
	} else if err != nil {
		s.logger.Error("manage: finding supporter", "err", err)
		return
	}
	now := time.Now()
	manageURL, cancelURL := s.manageURL(acct.SupporterID, actionManage, now), ""
	if acct.SubscriptionID != "" {
		cancelURL = s.manageURL(acct.SupporterID, actionCancel, now)
	}
	// To the address on record, not the one typed: they match without regard to case only.
	if err := s.SendManageLink(ctx, acct.Email, lang, manageURL, cancelURL); err != nil {
		s.logger.Warn("manage: link not sent", "supporter", acct.SupporterID, "err", err)
	}
}

// handleManageConfirm shows what the link does, with a button that POSTs to it.
func (s *Server) handleManageConfirm(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	t, ok := s.parseManageToken(c.Param("token"), time.Now())
	if ok {
		used, err := s.Manage.ManageTokenUsed(c.Request().Context(), t.id)
		if err != nil {
			return err
		}
		ok = !used
	}
	if !ok {
		return s.manageExpired(c)
	}
	title := "Manage my support"
	switch t.action {
	case actionCancel:
		title = "Cancel my recurring support"
	case actionRecover:
		title = "Update my payment method"
	}
	return s.render(c, http.StatusOK, "manage_confirm", &manageConfirmPage{Layout: Layout{Title: title},
		Action: "/manage/" + url.PathEscape(c.Param("token")), Cancel: t.action == actionCancel,
		Recover: t.action == actionRecover, Days: mailOfToken(t.id) != 0})
}

// handleManageLink sends the supporter to a billing-portal session for their own customer (on the
// subscription_cancel flow for a cancel link), and spends the single-use link only once the
// session exists: when Stripe fails the link still works.
func (s *Server) handleManageLink(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	ctx := c.Request().Context()
	t, ok := s.parseManageToken(c.Param("token"), time.Now())
	if ok {
		used, err := s.Manage.ManageTokenUsed(ctx, t.id)
		if err != nil {
			return err
		}
		ok = !used // checked first so that a used link never reaches Stripe
	}
	if !ok {
		return s.manageExpired(c)
	}
	mailID := mailOfToken(t.id)
	var acct *pledge.SupportAccount
	var err error
	if t.action == actionRecover {
		// The customer of the failed invoice's subscription, which may not be the supporter's
		// newest (a person can have several).
		if s.Mail == nil || mailID == 0 {
			return s.manageExpired(c)
		}
		acct, err = s.Mail.RecoveryTarget(ctx, mailID)
		if err == nil && acct.SupporterID != t.supporterID {
			err = pledge.Errorf(pledge.ENOTFOUND, "not this supporter's e-mail")
		}
	} else {
		acct, err = s.Manage.FindSupportAccountByID(ctx, t.supporterID)
	}
	if pledge.ErrorCode(err) == pledge.ENOTFOUND {
		return s.manageExpired(c)
	} else if err != nil {
		return err
	}
	req := pledge.PortalRequest{CustomerID: acct.CustomerID, ReturnURL: s.cfg.BaseURL.String() + "/manage/done"}
	switch t.action {
	case actionCancel:
		req.CancelSubscriptionID = acct.SubscriptionID
	case actionRecover:
		req.UpdatePaymentMethod = true
	}
	u, err := s.Portal.CreatePortalSession(ctx, req)
	if err != nil {
		return s.portalUnavailable(c, err)
	}
	if err := s.Manage.UseManageToken(ctx, t.id, t.expires); pledge.ErrorCode(err) == pledge.ECONFLICT {
		return s.manageExpired(c) // used meanwhile: the session just made is never shown
	} else if err != nil {
		return err
	}
	if mailID != 0 && s.Mail != nil {
		if err := s.Mail.MailLinkOpened(ctx, mailID); err != nil {
			s.logger.Warn("manage: e-mail link use not recorded", "mail", mailID, "err", err)
		}
	}
	return c.Redirect(http.StatusSeeOther, u)
}

// manageExpired answers 410 for an expired, used or altered link, offering a new one.
func (s *Server) manageExpired(c echo.Context) error {
	return s.render(c, http.StatusGone, "manage_info", &manageInfoPage{Layout: Layout{Title: "This link has expired"}, Kind: "expired"})
}

// portalUnavailable answers 503 when Stripe could not make a portal session; the link is unspent,
// so the page offers to try it again.
func (s *Server) portalUnavailable(c echo.Context, err error) error {
	s.logger.Error("manage: portal session failed", "err", err,
		"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	heading := "We can't open your account right now"
	return s.render(c, http.StatusServiceUnavailable, "error", &errorPage{
		Layout:  Layout{Title: heading},
		Heading: heading,
		Message: "Our payment provider did not answer. Your link has not been used: please try it again in a few minutes.",
		Retry:   "/manage/" + url.PathEscape(c.Param("token")),
	})
}

// handleManageDone is where the billing portal returns.
func (s *Server) handleManageDone(c echo.Context) error {
	return s.render(c, http.StatusOK, "manage_info", &manageInfoPage{Layout: Layout{Title: "Thank you"}, Kind: "done"})
}

// Wait waits for background work started by requests (the /manage e-mails) to finish; serve calls
// it after the HTTP server has shut down, and tests before they look at the mailbox.
func (s *Server) Wait() { s.background.Wait() }
