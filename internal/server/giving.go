package server

import (
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/pledge"
)

// registerGivingRoutes serves the reader's way from the prompt to Stripe Checkout and back.
func (s *Server) registerGivingRoutes(e *echo.Echo) {
	s.giving = &pledge.Giving{
		Settings:  s.cfg.Giving,
		Checkouts: s.Checkouts,
		Payments:  s.Payments,
		BaseURL:   s.cfg.BaseURL.String(),
		// The article comes back as a link on the cancelled and thank-you pages: never a foreign one.
		ArticleOrigins: s.cfg.EmbedOrigins,
		TrustLocal:     s.cfg.Demo,
	}
	if s.PromptStats != nil && s.stats == nil {
		s.stats = newStatsBatcher(s.PromptStats, s.cfg.StatsFlush, s.logger)
	}
	// Only a real attempt to give counts against the card-testing limit; updating the form
	// (a frequency or currency change without JavaScript) does not.
	// Per client first, so one client past its own limit spends none of the overall allowance.
	s.donateLimited = s.rateLimit(s.cfg.DonateLimit,
		"Too many attempts to give from your connection. Please wait a few minutes and try again.")(
		s.globalLimit(s.cfg.DonateGlobal,
			"We are receiving an unusual number of gifts right now. Please wait a few minutes and try again.")(s.handleDonateSubmit))

	e.GET("/donate", s.handleDonateForm)
	e.POST("/donate", s.handleDonate)
	e.GET("/donate/thanks", s.handleThanks, s.rateLimit(s.cfg.ThanksLimit,
		"Too many requests from your connection. Please wait a minute and reload this page."))
	e.GET("/donate/cancelled", s.handleCancelled)
	e.GET("/prompt", s.handlePrompt)
	e.GET("/embed.js", s.handleEmbedJS)
	s.framable["/prompt"] = true
	if s.cfg.Demo {
		e.GET("/demo/article", s.handleDemoArticle)
		e.GET("/demo/checkout/:id", s.handleDemoCheckout)
		e.POST("/demo/checkout/:id", s.handleDemoPay)
	}
}

// choiceFromQuery reads a preset choice from a link (?frequency=monthly&amount=10&currency=eur,
// utm_campaign and utm_source too, as the reminder e-mail's link carries) or the prompt's query;
// the currency falls back to the reader's language, then the default.
func (s *Server) choiceFromQuery(c echo.Context) pledge.GiftChoice {
	q := c.QueryParams()
	return pledge.GiftChoice{
		Frequency: q.Get("frequency"),
		Currency:  string(s.cfg.Giving.Catalogue.CurrencyFor(q.Get("currency"), c.Request().Header.Get("Accept-Language"))),
		Amount:    q.Get("amount"),
		Article:   q.Get("article"),
		Campaign:  firstNonEmpty(q.Get("campaign"), q.Get("utm_campaign")),
		Source:    firstNonEmpty(q.Get("source"), q.Get("utm_source")),
	}
}

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
	return s.render(c, http.StatusOK, "donate", s.givingPage(s.choiceFromQuery(c), false, nil))
}

// handleDonate either redraws the form for a new frequency or currency (the no-JavaScript way to
// switch) or starts giving.
func (s *Server) handleDonate(c echo.Context) error {
	if c.FormValue("step") == "update" {
		ch := s.choiceFromForm(c)
		ch.Amount, ch.Other = "", "" // the old amount means nothing at the new frequency
		c.Response().Header().Set("Cache-Control", "no-store")
		return s.render(c, http.StatusOK, "donate", s.givingPage(ch, false, nil))
	}
	return s.donateLimited(c)
}

// handleDonateSubmit validates the gift, stores the checkout, creates the Stripe session and
// sends the reader there.
func (s *Server) handleDonateSubmit(c echo.Context) error {
	ch := s.choiceFromForm(c)
	ch.ReaderID = s.readerID(c)
	s.stats.click(s.statArticle(ch.Article), pledge.CleanCampaign(ch.Campaign))
	co, err := s.giving.Begin(c.Request().Context(), ch)
	switch pledge.ErrorCode(err) {
	case "":
	case pledge.EINVALID:
		return s.render(c, http.StatusUnprocessableEntity, "donate", s.givingPage(ch, false, err))
	case pledge.EUNAVAILABLE:
		return s.paymentUnavailable(c, ch, err)
	default:
		return err
	}
	if s.cfg.Demo {
		return c.Redirect(http.StatusSeeOther, "/demo/checkout/"+url.PathEscape(co.ID))
	}
	return c.Redirect(http.StatusSeeOther, co.StripeURL)
}

// paymentUnavailable answers 503 with a page that offers to try again with the same choice.
func (s *Server) paymentUnavailable(c echo.Context, ch pledge.GiftChoice, err error) error {
	s.logger.Error("checkout session failed", "err", err,
		"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	retry := url.Values{"frequency": {ch.Frequency}, "currency": {ch.Currency}, "amount": {firstNonEmpty(ch.Other, ch.Amount)}}
	if a := pledge.CleanArticle(ch.Article); a != "" {
		retry.Set("article", a)
	}
	heading := "We can't take your gift right now"
	return s.render(c, http.StatusServiceUnavailable, "error", &errorPage{
		Layout:  Layout{Title: heading},
		Heading: heading,
		Message: pledge.ErrorMessage(err),
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
	switch {
	case pledge.ErrorCode(err) == pledge.ENOTFOUND:
		return s.render(c, http.StatusNotFound, "payment_status", &paymentStatusPage{Layout: Layout{Title: "Payment not found"},
			Heading: "We could not find that payment", Message: "No gift is recorded for this link. If you gave, Stripe has e-mailed you a receipt."})
	case err != nil:
		return err
	case done == pledge.Processing:
		return s.render(c, http.StatusOK, "payment_status", &paymentStatusPage{Layout: Layout{Title: "Your payment is processing"},
			Heading: "Your payment is processing", Article: s.safeArticle(co.Article),
			Message: "Thank you for giving. Your bank has not confirmed the payment yet; Stripe will e-mail you a receipt once it has."})
	case done != pledge.Paid:
		return s.render(c, http.StatusOK, "payment_status", &paymentStatusPage{Layout: Layout{Title: "No payment yet"},
			Heading: "No payment has been taken yet", Article: s.safeArticle(co.Article),
			Message: "This payment was not completed. If you meant to give, please start again from the article."})
	}
	s.setSigned(c, cookieSupporter, "1", time.Now().Add(365*24*time.Hour))
	return s.render(c, http.StatusOK, "thanks", &thanksPage{
		Layout:     Layout{Title: "Thank you"},
		Amount:     co.Amount.Grouped(),
		Frequency:  co.Frequency,
		Article:    s.safeArticle(co.Article),
		Newsletter: s.cfg.NewsletterURL,
	})
}

// cancelledPage is where Stripe's cancel link lands: no money moved, back to the article.
type cancelledPage struct {
	Layout
	Article string
	Retry   string
}

// handleCancelled takes a reader who left Checkout back towards the article.
func (s *Server) handleCancelled(c echo.Context) error {
	p := &cancelledPage{Layout: Layout{Title: "No payment was taken"}, Retry: "/donate"}
	if co, err := s.Checkouts.FindCheckout(c.Request().Context(), c.QueryParam("checkout")); err == nil {
		p.Article = s.safeArticle(co.Article)
		q := url.Values{"frequency": {string(co.Frequency)}, "currency": {string(co.Amount.Currency)},
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
