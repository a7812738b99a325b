package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/pledge"
)

// supportersForm is the supporters search.
type supportersForm struct {
	Query     string `query:"q"`
	Frequency string `query:"frequency"`
	Status    string `query:"status"`
	Sort      string `query:"sort"`
	Currency  string `query:"currency"`
	Page      int    `query:"page"`
}

// supporterRow is one supporter as the list shows it.
type supporterRow struct {
	*pledge.Supporter
	Lifetime string // per currency, largest first
	LastGift string
}

type supportersPage struct {
	Layout
	Form       supportersForm
	Supporters []supporterRow
	Count      string // how many match
	Prev, Next string
	Statuses   []string
	Currencies []pledge.Currency
	// Notice explains a search that was not run (a viewer's address query).
	Notice string
}

const supportersPerPage = 50

func (s *Server) handleSupporters(c echo.Context) error {
	var f supportersForm
	if err := c.Bind(&f); err != nil {
		return pledge.Errorf(pledge.EINVALID, "The search could not be read.")
	}
	f.Page = max(f.Page, 1)
	switch f.Sort {
	case pledge.SortLastGift, pledge.SortTotal, pledge.SortStart:
	default:
		f.Sort = ""
	}
	if _, ok := pledge.LookupCurrency(f.Currency); !ok {
		f.Currency = string(s.cfg.Giving.Catalogue.Default)
	}
	pg := &supportersPage{Layout: s.staffLayout(c, "Supporters"), Form: f, Currencies: s.cfg.Giving.Catalogue.Currencies,
		Statuses: []string{"active", "trialing", "past_due", "unpaid", "canceled", "incomplete"}}
	if q := strings.TrimSpace(f.Query); q != "" && !pg.Layout.Staff.Admin && !pledge.StripeIDQuery(q) {
		// Addresses are masked for viewers; a search by address (or its beginning) would tell
		// them which addresses exist, one character at a time.
		pg.Notice = "Viewers can search by Stripe id only (cus_, sub_, pi_, in_, ch_). Ask an admin to search by address."
		return s.render(c, http.StatusOK, "staff_supporters", pg)
	}
	filter := pledge.SupporterFilter{Query: f.Query, Frequency: pledge.Frequency(f.Frequency), Status: f.Status,
		Sort: f.Sort, Currency: pledge.Currency(f.Currency), Offset: (f.Page - 1) * supportersPerPage, Limit: supportersPerPage + 1}
	ctx := c.Request().Context()
	list, err := s.Supporters.ListSupporters(ctx, filter)
	if err != nil {
		return err
	}
	n, err := s.Supporters.CountSupporters(ctx, filter)
	if err != nil {
		return err
	}
	pg.Count = pg.Layout.Num.Int(int64(n))
	page := func(p int) string {
		q := url.Values{"q": {f.Query}, "frequency": {f.Frequency}, "status": {f.Status}, "sort": {f.Sort},
			"currency": {f.Currency}, "page": {strconv.Itoa(p)}}
		return "/staff/supporters?" + q.Encode()
	}
	if len(list) > supportersPerPage {
		list = list[:supportersPerPage]
		pg.Next = page(f.Page + 1)
	}
	if f.Page > 1 {
		pg.Prev = page(f.Page - 1)
	}
	for _, sp := range list {
		r := supporterRow{Supporter: sp, Lifetime: "–", LastGift: "–"}
		var parts []string
		for _, m := range sp.Totals {
			parts = append(parts, pg.Layout.Num.Money(m))
		}
		if len(parts) > 0 {
			r.Lifetime = strings.Join(parts, " · ")
		}
		if !sp.LastPaidAt.IsZero() {
			r.LastGift = sp.LastPaidAt.Format("2 Jan 2006")
		}
		pg.Supporters = append(pg.Supporters, r)
	}
	return s.render(c, http.StatusOK, "staff_supporters", pg)
}

type supporterPage struct {
	Layout
	Detail    *pledge.SupporterDetail
	Dashboard string // https://dashboard.stripe.com/ or .../test/
	// Mails are the supporter e-mails sent or due to them; Years the years a statement can be
	// downloaded for (those they gave in). Both empty without e-mail.
	Mails []pledge.SupporterMail
	Years []int
}

func (s *Server) handleSupporter(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.ErrNotFound
	}
	d, err := s.findSupporterAudited(c, id, "opened the supporter's page")
	if err != nil {
		return err
	}
	pg := &supporterPage{Layout: s.staffLayout(c, "Supporter "+c.Param("id")), Detail: d, Dashboard: s.stripeDashboard()}
	if s.Mail != nil {
		if pg.Mails, err = s.Mail.SupporterMails(c.Request().Context(), id); err != nil {
			return err
		}
	}
	if s.Statements != nil {
		seen := map[int]bool{}
		for _, g := range d.Donations {
			if y := g.PaidAt.UTC().Year(); !seen[y] {
				seen[y] = true
				pg.Years = append(pg.Years, y)
			}
		}
	}
	return s.render(c, http.StatusOK, "staff_supporter", pg)
}

// findSupporterAudited finds a supporter for a page that shows them and writes the view to the
// audit log (who looked at whom, and when: for readers at risk, a look is itself a disclosure),
// before anything is shown.
func (s *Server) findSupporterAudited(c echo.Context, id int64, detail string) (*pledge.SupporterDetail, error) {
	ctx := c.Request().Context()
	d, err := s.Supporters.FindSupporter(ctx, id)
	if err != nil {
		return nil, err
	}
	err = s.Supporters.Audit(ctx, pledge.AuditEntry{Actor: staffOf(c).Staff.Email, Action: "view",
		Subject: fmt.Sprintf("supporter %d", id), Detail: detail})
	return d, err
}

// stripeDashboard is the base of links into Stripe's dashboard, in test or live mode.
func (s *Server) stripeDashboard() string {
	if s.cfg.StripeLive {
		return "https://dashboard.stripe.com/"
	}
	return "https://dashboard.stripe.com/test/"
}

// maskEmail shows a viewer enough of an address to tell two apart, but not to read it:
// "a•••@e•••.com".
func maskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "•••"
	}
	host, tld, _ := strings.Cut(domain, ".")
	first := func(s string) string {
		if s == "" {
			return ""
		}
		return string([]rune(s)[:1])
	}
	out := first(local) + "•••@" + first(host) + "•••"
	if tld != "" {
		out += "." + tld[strings.LastIndexByte(tld, '.')+1:]
	}
	return out
}

// stripeLink returns the dashboard path of a Stripe object id.
func stripeLink(base, id string) string {
	prefix, _, _ := strings.Cut(id, "_")
	kind := map[string]string{"cus": "customers", "sub": "subscriptions", "pi": "payments", "in": "invoices",
		"ch": "payments", "evt": "events"}[prefix]
	if kind == "" || strings.Contains(id, "_seed") {
		return ""
	}
	return fmt.Sprintf("%s%s/%s", base, kind, url.PathEscape(id))
}
