package server

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/locale"
	"github.com/pledge-news/pledge/internal/pledge"
)

// The newsletter opt-in (issue 14): where the newsroom asks for consent (newsletter.opt_in in
// PLEDGE_CONFIG), the thank-you page and the page the thank-you e-mail links to show a checkbox
// with the consent's wording; POST /newsletter (CSRF-protected, with a signed token naming the
// checkout or the supporter) records the consent, its time and the exact wording shown. The form
// carries a hash of the wording it showed: should the wording have changed before the post, the
// form is shown again with the new one, so the wording stored is always the wording rendered.

// newsletterPageTTL is how long the thank-you page's form works; the e-mail's link lasts as long
// as the e-mail's other links (newsletterEmailTTL).
const newsletterPageTTL = 24 * time.Hour

// newsletterForm is the opt-in form: the signed token, the wording shown and its hash.
type newsletterForm struct {
	Token   string
	Wording string
	Hash    string
	Error   string
}

// newsletterPage is GET /newsletter and the answers to POST /newsletter.
type newsletterPage struct {
	Layout
	Optin   *newsletterForm
	Done    bool
	Invalid bool
	URL     string // the newsletter's own page, when configured
}

func (s *Server) registerNewsletterRoutes(e *echo.Echo) {
	if !s.cfg.NewsletterOptIn {
		return
	}
	pages := s.area(e, "", pagePolicy)
	pages.form("/newsletter", s.handleNewsletterForm, s.handleNewsletter)
}

// newsletterWording is the checkbox's wording in a language: what is shown and what is stored.
func (s *Server) newsletterWording(lc *locale.Catalogue) string {
	return lc.T("newsletter.consent", "org", s.cfg.Giving.Org)
}

func wordingHash(w string) string {
	h := sha256.Sum256([]byte(w))
	return hex.EncodeToString(h[:12])
}

// newsletterFormFor returns the opt-in form for a checkout ("c" + id) or a supporter ("s" + id).
func (s *Server) newsletterFormFor(lc *locale.Catalogue, who string, ttl time.Duration) *newsletterForm {
	w := s.newsletterWording(lc)
	return &newsletterForm{Token: s.sign(linkNewsletter, who, time.Now().Add(ttl)), Wording: w, Hash: wordingHash(w)}
}

func (s *Server) newsletterInvalid(c echo.Context, lc *locale.Catalogue) error {
	return s.render(c, http.StatusBadRequest, "newsletter", &newsletterPage{
		Layout: Layout{Title: lc.T("newsletter.invalid_title"), L: lc}, Invalid: true})
}

// handleNewsletterForm is the page the thank-you e-mail links to.
func (s *Server) handleNewsletterForm(c echo.Context) error {
	lc := s.lang(c)
	c.Response().Header().Set("Cache-Control", "no-store")
	token := c.QueryParam("token")
	if _, _, ok := s.newsletterSubject(token); !ok || s.Newsletter == nil {
		return s.newsletterInvalid(c, lc)
	}
	w := s.newsletterWording(lc)
	return s.render(c, http.StatusOK, "newsletter", &newsletterPage{Layout: Layout{Title: lc.T("newsletter.title"), L: lc},
		Optin: &newsletterForm{Token: token, Wording: w, Hash: wordingHash(w)}})
}

// handleNewsletter records a consent: the box ticked, the token good, and the wording the form
// showed (its hash) still the wording of the language it was shown in.
func (s *Server) handleNewsletter(c echo.Context) error {
	lc := s.lang(c) // the form's lang field: the language it was rendered in
	c.Response().Header().Set("Cache-Control", "no-store")
	token := c.FormValue("token")
	checkout, supporter, ok := s.newsletterSubject(token)
	if !ok || s.Newsletter == nil {
		return s.newsletterInvalid(c, lc)
	}
	w := s.newsletterWording(lc)
	again := func(code int, msg string) error {
		return s.render(c, code, "newsletter", &newsletterPage{Layout: Layout{Title: lc.T("newsletter.title"), L: lc},
			Optin: &newsletterForm{Token: token, Wording: w, Hash: wordingHash(w), Error: msg}})
	}
	if c.FormValue("wording") != wordingHash(w) {
		return again(http.StatusConflict, lc.T("newsletter.changed"))
	}
	if c.FormValue("consent") != "1" {
		return again(http.StatusUnprocessableEntity, lc.T("newsletter.required"))
	}
	source := pledge.ConsentThanksPage
	if supporter > 0 {
		source = pledge.ConsentThanksEmail
	}
	if err := s.Newsletter.RecordNewsletterConsent(c.Request().Context(), &pledge.NewsletterConsent{
		SupporterID: supporter, CheckoutID: checkout, Source: source, Wording: w, Lang: lc.Code}); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "newsletter", &newsletterPage{Layout: Layout{Title: lc.T("newsletter.done_title"), L: lc},
		Done: true, URL: s.cfg.NewsletterURL})
}
