package server

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/pledge"
)

// pastDuePage lists every failed recurring payment still open, oldest first.
type pastDuePage struct {
	Layout
	Payments  []pledge.FailedPayment
	Count     string
	AtRisk    []string // per currency
	Dashboard string   // Stripe's dashboard, for links
}

func (s *Server) handlePastDue(c echo.Context) error {
	list, err := s.Supporters.PastDue(c.Request().Context(), time.Now())
	if err != nil {
		return err
	}
	layout := s.staffLayout(c, "Past due")
	pg := &pastDuePage{Layout: layout, Payments: list, Count: layout.Num.Int(int64(len(list))),
		Dashboard: s.stripeDashboard()}
	sums := map[pledge.Currency]int64{}
	var order []pledge.Currency
	for _, p := range list {
		if _, ok := sums[p.Amount.Currency]; !ok {
			order = append(order, p.Amount.Currency)
		}
		sums[p.Amount.Currency] += p.Amount.Amount
	}
	for _, c := range order {
		pg.AtRisk = append(pg.AtRisk, pg.Layout.Num.Money(pledge.Money{Amount: sums[c], Currency: c}))
	}
	return s.render(c, http.StatusOK, "staff_past_due", pg)
}
