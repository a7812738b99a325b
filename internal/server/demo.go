package server

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/pledge"
)

// demoArticlePage is a sample news article with the prompt embedded, as a newsroom would.
type demoArticlePage struct {
	Layout
	Article string // its own URL, for data-article
}

// handleDemoArticle serves the sample article (demo mode only).
func (s *Server) handleDemoArticle(c echo.Context) error {
	return s.render(c, http.StatusOK, "demo_article#document", &demoArticlePage{
		Layout:  Layout{Title: "The river that learned to read"},
		Article: s.cfg.BaseURL.String() + "/demo/article",
	})
}

// demoCheckoutPage stands in for Stripe's hosted page, which stripe-mock cannot serve.
type demoCheckoutPage struct {
	Layout
	Checkout *pledge.Checkout
	Amount   string
}

// handleDemoCheckout shows a checkout the way Stripe's page would, plainly marked as a demo.
func (s *Server) handleDemoCheckout(c echo.Context) error {
	co, err := s.Checkouts.FindCheckout(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "demo_checkout", &demoCheckoutPage{
		Layout: Layout{Title: "Demo checkout"}, Checkout: co, Amount: co.Amount.Grouped(),
	})
}

// handleDemoPay "pays": DemoPay sends the events Stripe would send (when set), then the reader
// follows the success URL as they would from Stripe.
func (s *Server) handleDemoPay(c echo.Context) error {
	ctx := c.Request().Context()
	co, err := s.Checkouts.FindCheckout(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if s.DemoPay != nil {
		if err := s.DemoPay(ctx, co); err != nil {
			return err
		}
	}
	return c.Redirect(http.StatusSeeOther, "/donate/thanks?session_id="+url.QueryEscape(co.StripeSessionID))
}
