package server

import (
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/locale"
	"github.com/pledge-news/pledge/internal/pledge"
)

// registerGivingRoutes serves the reader's way from the prompt to Stripe Checkout and back.
func (s *Server) registerGivingRoutes(e *echo.Echo) {
	pages := s.area(e, "", pagePolicy)
	forms := s.area(e, "", embedFormPolicy)
	forms.form("/donate", s.handleDonateForm, s.handleDonate, s.attemptLimit())
	// Each visit can cost a Stripe API call, and Stripe's rate limit is shared with session creation.
	pages.GET("/donate/thanks", s.handleThanks, s.rateLimit(s.cfg.ThanksLimit, "error.rate.thanks"))
	pages.GET("/donate/cancelled", s.handleCancelled)
	s.area(e, "", promptPolicy).direct("/prompt", s.servePrompt, s.handlePrompt)
	s.area(e, "", assetPolicy).GET("/embed.js", s.handleEmbedJS)
	if s.cfg.Demo {
		pages.GET("/demo/article", s.handleDemoArticle)
		pages.form("/demo/checkout/:id", s.handleDemoCheckout, s.handleDemoPay)
	}
}

// attemptLimit limits real attempts to give, against card testing: per client first (so one
// client past its own limit spends none of the overall allowance), then over all clients. Updating
// the form (a frequency or currency change without JavaScript) is no attempt and is not counted. A
// refusal posted from the prompt inside the article's frame, without script, is the card drawn
// again with the message in it.
func (s *Server) attemptLimit() echo.MiddlewareFunc {
	perClient := s.rateLimit(s.cfg.DonateLimit, "error.rate.donate")
	overall := s.globalLimit(s.cfg.DonateGlobal, "error.rate.donate_global")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		limited := perClient(overall(next))
		return func(c echo.Context) error {
			if updating(c) {
				return next(c)
			}
			err := limited(c)
			if pledge.ErrorCode(err) == pledge.ERATELIMIT && embedded(c) && !wantsJSON(c.Request()) {
				status, _, _ := classify(err)
				return s.render(c, status, "prompt#document", s.givingPage(s.promptSetFor(c), s.lang(c), s.choiceFromForm(c), true, err))
			}
			return err
		}
	}
}

// updating reports whether a form was posted to be drawn again for a new frequency or currency.
func updating(c echo.Context) bool { return c.FormValue("step") == "update" }

// choiceFromQuery reads a preset choice from a link (?frequency=monthly&amount=10&currency=eur,
// utm_campaign and utm_source too, as the reminder e-mail's link carries) or the prompt's query;
// the currency falls back to the reader's language, then the default.
func (s *Server) choiceFromQuery(c echo.Context) pledge.GiftChoice {
	ch := queryChoice(c.QueryParams())
	ch.Currency = s.currencyFor(ch.Currency, c.Request().Header.Get("Accept-Language"))
	return ch
}

// queryChoice is the choice a query asks for, its currency as asked.
func queryChoice(q url.Values) pledge.GiftChoice {
	return pledge.GiftChoice{
		Frequency: q.Get("frequency"),
		Currency:  q.Get("currency"),
		Amount:    q.Get("amount"),
		Article:   q.Get("article"),
		Campaign:  firstNonEmpty(q.Get("campaign"), q.Get("utm_campaign")),
		Source:    firstNonEmpty(q.Get("source"), q.Get("utm_source")),
	}
}

// currencyFor is the currency asked for if offered, else the reader's language's (from an
// Accept-Language header), else the default.
func (s *Server) currencyFor(asked, acceptLanguage string) string {
	return string(s.cfg.Giving.Catalogue.CurrencyFor(asked, acceptLanguage))
}

// embedded reports whether a form was posted from the prompt inside an article's frame.
func embedded(c echo.Context) bool { return c.FormValue("embed") == "1" }

// choiceFromForm reads the posted form.
func (s *Server) choiceFromForm(c echo.Context) pledge.GiftChoice {
	return pledge.GiftChoice{
		Frequency: c.FormValue("frequency"),
		Currency:  c.FormValue("currency"),
		Amount:    c.FormValue("amount"),
		Other:     c.FormValue("other_amount"),
		CoverFees: c.FormValue("cover_fees") != "",
		Article:   c.FormValue("article"),
		Campaign:  c.FormValue("campaign"),
		Source:    c.FormValue("source"),
		Nonce:     c.FormValue("nonce"),
	}
}

// handleDonateForm is the full-page donation form.
func (s *Server) handleDonateForm(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, http.StatusOK, "donate", s.givingPage(s.promptSetFor(c), s.lang(c), s.choiceFromQuery(c), false, nil))
}

// handleDonate either redraws the form for a new frequency or currency (the no-JavaScript way to
// switch) or starts giving.
func (s *Server) handleDonate(c echo.Context) error {
	if updating(c) {
		ch := s.choiceFromForm(c)
		ch.Amount, ch.Other = "", "" // the old amount means nothing at the new frequency
		c.Response().Header().Set("Cache-Control", "no-store")
		// In the reader's experiment arm: its letter, presets and defaults, as the prompt showed.
		ps := s.promptSetFor(c)
		if embedded(c) { // the prompt without JavaScript: a new currency or frequency is not a view
			return s.render(c, http.StatusOK, "prompt#document", s.givingPage(ps, s.lang(c), ch, true, nil))
		}
		return s.render(c, http.StatusOK, "donate", s.givingPage(ps, s.lang(c), ch, false, nil))
	}
	return s.handleDonateSubmit(c)
}

// readerError answers prompt.js's fetch with a reader's error as JSON, in their language.
func (s *Server) readerError(c echo.Context, lc *locale.Catalogue, err error) error {
	var body apiError
	status, code, _ := classify(err)
	body.Error.Code, body.Error.Message, body.Error.Field = code, lc.Error(err), pledge.ErrorField(err)
	return c.JSON(status, body)
}

// leaveFrame is POST /donate's answer to prompt.js's fetch: where the top window goes next.
type leaveFrame struct {
	URL string `json:"url"`
}

// handleDonateSubmit validates the gift, stores the checkout, creates the Stripe session and
// sends the reader there.
func (s *Server) handleDonateSubmit(c echo.Context) error {
	ch := s.choiceFromForm(c)
	ch.ReaderID = s.readerFor(c)
	lc := s.lang(c)
	ch.Locale, ch.Lang = lc.Stripe(), lc.Code
	s.stats.click(s.statArticle(ch.Article), pledge.CleanCampaign(ch.Campaign))
	// The reader's experiment arm, counted beside the click and stored with the checkout (so
	// with every payment through it); never sent to Stripe. Validation is the same in every
	// arm: variants change presets and defaults, never the minimums, maximums or currencies.
	var ps *promptSet
	ch.Arm, ps = s.armSet(c)
	s.stats.armClick(ch.Arm)
	if s.cfg.Protect.On {
		// Counted above as a click on the article (a daily total); the gift itself never
		// learns which article or campaign it came from, and neither does Stripe.
		ch.Article, ch.Campaign = "", ""
	}
	co, err := s.giving.Begin(c.Request().Context(), ch)
	switch pledge.ErrorCode(err) {
	case "":
	case pledge.EINVALID:
		if wantsJSON(c.Request()) { // prompt.js, inside the frame: it shows the message in the card
			return s.readerError(c, lc, err)
		}
		if embedded(c) { // answered inside the article's frame: the prompt again, error shown
			return s.render(c, http.StatusUnprocessableEntity, "prompt#document", s.givingPage(ps, lc, ch, true, err))
		}
		return s.render(c, http.StatusUnprocessableEntity, "donate", s.givingPage(ps, lc, ch, false, err))
	case pledge.EUNAVAILABLE:
		return s.paymentUnavailable(c, ch, err)
	default:
		return err
	}
	next := co.StripeURL
	if s.cfg.Demo {
		next = "/demo/checkout/" + url.PathEscape(co.ID)
	}
	if wantsJSON(c.Request()) { // prompt.js takes the top window there itself
		return c.JSON(http.StatusOK, leaveFrame{URL: next})
	}
	// Posted inside the article's frame (no script to send it to the top window): Stripe's page
	// cannot be framed, so the card offers the link that leaves the frame.
	if embedded(c) && c.Request().Header.Get("Sec-Fetch-Dest") == "iframe" {
		return s.render(c, http.StatusOK, "prompt_continue#document", &continuePage{Layout: Layout{Title: lc.T("continue.to_payment"), L: lc}, URL: next})
	}
	return c.Redirect(http.StatusSeeOther, next)
}

// continuePage leads from the framed prompt to the payment page, in the top window.
type continuePage struct {
	Layout
	URL string
}

// paymentUnavailable answers 503 with a page that offers to try again with the same choice.
func (s *Server) paymentUnavailable(c echo.Context, ch pledge.GiftChoice, err error) error {
	s.logger.Error("checkout session failed", "err", err,
		"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	if wantsJSON(c.Request()) {
		return s.readerError(c, s.lang(c), err)
	}
	retry := url.Values{"frequency": {ch.Frequency}, "currency": {ch.Currency}, "amount": {firstNonEmpty(ch.Other, ch.Amount)}}
	if a := pledge.CleanArticle(ch.Article); a != "" {
		retry.Set("article", a)
	}
	lc := s.lang(c)
	heading := lc.T("status.unavailable.title")
	return s.render(c, http.StatusServiceUnavailable, "error", &errorPage{
		Layout:  Layout{Title: heading, L: lc},
		Heading: heading,
		Message: lc.Error(err),
		Retry:   "/donate?" + retry.Encode(),
	})
}

// thanksPage thanks a reader for a completed Checkout.
type thanksPage struct {
	Layout
	Amount     string
	Frequency  pledge.Frequency
	Article    string
	Newsletter string // the newsroom's newsletter sign-up page, "" for none
	// Optin is the newsletter opt-in form, where the newsroom asks for consent (then no link).
	Optin *newsletterForm
}

// paymentStatusPage answers a return from Checkout that is not (yet) a paid gift.
type paymentStatusPage struct {
	Layout
	Heading string
	Message string
	Article string
}

// handleThanks is Stripe's success URL: it finds our checkout by the session id, and only when
// the gift is paid thanks the reader and marks the browser as a supporter's, so the prompt stays
// silent. A payment still on its way gets a "processing" page; anything else a neutral one.
func (s *Server) handleThanks(c echo.Context) error {
	co, done, err := s.giving.Completed(c.Request().Context(), c.QueryParam("session_id"))
	c.Response().Header().Set("Cache-Control", "no-store")
	lc := s.lang(c)
	status := func(code int, kind, article string) error {
		h := lc.T("status." + kind + ".title")
		return s.render(c, code, "payment_status", &paymentStatusPage{Layout: Layout{Title: h, L: lc},
			Heading: h, Message: lc.T("status." + kind + ".body"), Article: article})
	}
	switch {
	case pledge.ErrorCode(err) == pledge.ENOTFOUND:
		return status(http.StatusNotFound, "notfound", "")
	case err != nil:
		return err
	case done == pledge.Processing:
		return status(http.StatusOK, "processing", s.safeArticle(co.Article))
	case done != pledge.Paid:
		return status(http.StatusOK, "unpaid", s.safeArticle(co.Article))
	}
	s.markSupporter(c, func() { s.setSigned(c, cookieSupporter, "1", time.Now().Add(365*24*time.Hour)) })
	p := &thanksPage{
		Layout:     Layout{Title: lc.T("thanks.title"), L: lc},
		Amount:     lc.Money(co.Amount),
		Frequency:  co.Frequency,
		Article:    s.safeArticle(co.Article),
		Newsletter: s.cfg.NewsletterURL,
	}
	if s.cfg.NewsletterOptIn && s.Newsletter != nil {
		p.Newsletter, p.Optin = "", s.newsletterFormFor(lc, "c"+co.ID, newsletterPageTTL)
	}
	return s.render(c, http.StatusOK, "thanks", p)
}

// cancelledPage is where Stripe's cancel link lands: no money moved, back to the article.
type cancelledPage struct {
	Layout
	Article string
	Retry   string
}

// handleCancelled takes a reader who left Checkout back towards the article.
func (s *Server) handleCancelled(c echo.Context) error {
	lc := s.lang(c)
	p := &cancelledPage{Layout: Layout{Title: lc.T("cancelled.title"), L: lc}, Retry: "/donate?lang=" + url.QueryEscape(lc.Code)}
	if co, err := s.Checkouts.FindCheckout(c.Request().Context(), c.QueryParam("checkout")); err == nil {
		p.Article = s.safeArticle(co.Article)
		q := url.Values{"frequency": {string(co.Frequency)}, "currency": {string(co.Amount.Currency)}, "lang": {lc.Code},
			"amount": {majorInput(pledge.Money{Amount: co.Amount.Amount - co.CoverFees, Currency: co.Amount.Currency})}}
		if p.Article != "" {
			q.Set("article", p.Article)
		}
		p.Retry = "/donate?" + q.Encode()
	} else if pledge.ErrorCode(err) != pledge.ENOTFOUND {
		return err
	}
	return s.render(c, http.StatusOK, "cancelled", p)
}
