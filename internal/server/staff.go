package server

import (
	"golang.org/x/text/language"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/pledge"
)

// staffCookie is the staff session cookie's name: with the __Host- prefix over https, so the
// browser only accepts it Secure, host-only and for the whole path.
func (s *Server) staffCookie() string {
	if s.cfg.Secure() {
		return "__Host-pledge_staff"
	}
	return "pledge_staff"
}

// ctxStaff is where requireStaff leaves the session for the handlers.
const ctxStaff = "staff_session"

// registerStaffRoutes registers the staff area. The login form is outside the group; everything
// under /staff needs a session, and what shows readers' data needs an admin.
func (s *Server) registerStaffRoutes(e *echo.Echo) {
	login := s.area(e, "/staff", staffPolicy)
	login.GET("/login", s.handleStaffLoginForm, noStore)
	login.POST("/login", s.handleStaffLogin, noStore)

	g := s.area(e, "/staff", staffPolicy, noStore, s.requireStaff)
	g.GET("", s.handleDashboard)
	g.POST("/logout", s.handleStaffLogout)
	g.GET("/supporters", s.handleSupporters)
	g.GET("/supporters/:id", s.handleSupporter)
	g.GET("/emails", s.handleStaffEmails)
	g.GET("/past-due", s.handlePastDue)

	// Route middleware rather than a nested group: a group registers its middleware on the
	// prefix's not-found routes too, which would turn a viewer's 404 into a 403.
	admin := s.requireAdmin
	// Downloads of readers' data are GETs (the dashboard links to them) that only a same-origin
	// navigation may start.
	own := s.sameOriginOnly
	g.GET("/export/donations.csv", s.handleExportDonations, admin, own)
	g.GET("/export/supporters.csv", s.handleExportSupporters, admin, own)
	g.GET("/supporters/:id/data.json", s.handleSupporterData, admin, own)
	g.GET("/supporters/:id/statement", s.handleStatement, admin, own)
	g.GET("/supporters/:id/erase", s.handleEraseConfirm, admin)
	g.POST("/supporters/:id/erase", s.handleErase, admin)
	g.GET("/audit", s.handleAudit, admin)
}

// noStore keeps staff pages out of shared and browser caches.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}

// requireStaff lets through requests with a live staff session and sends the rest to the login.
func (s *Server) requireStaff(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		var token string
		if ck, err := c.Cookie(s.staffCookie()); err == nil {
			token = ck.Value
		}
		sess, err := s.Staff.Session(c.Request().Context(), token)
		if pledge.ErrorCode(err) == pledge.EUNAUTHORIZED {
			return c.Redirect(http.StatusSeeOther, "/staff/login")
		} else if err != nil {
			return err
		}
		c.Set(ctxStaff, sess)
		return next(c)
	}
}

// requireAdmin refuses viewers: only admins see readers' addresses and handle data requests.
func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !staffOf(c).Staff.Admin() {
			return pledge.Errorf(pledge.EFORBIDDEN, "Only admins can see readers' addresses, export or handle data requests.")
		}
		return next(c)
	}
}

// sameOriginOnly refuses a request another site started: a link, image or form on another
// origin (a sibling subdomain included) could otherwise make a signed-in admin's browser
// download readers' data and write the audit log. Browsers with Fetch Metadata say where the
// request came from (same-origin, or none for a typed address or bookmark); without it, the
// Referer must be Pledge's own (its pages send it: strict-origin-when-cross-origin).
func (s *Server) sameOriginOnly(next echo.HandlerFunc) echo.HandlerFunc {
	own := s.origin
	return func(c echo.Context) error {
		r := c.Request()
		ok := false
		switch r.Header.Get(echo.HeaderSecFetchSite) {
		case "same-origin", "none":
			ok = true
		case "":
			ok = r.Header.Get("Referer") != "" && ownOrigin(r, own)
		}
		if !ok {
			return pledge.Errorf(pledge.EFORBIDDEN,
				"Downloads of readers' data start only from Pledge's own pages: open the staff area and use its link.")
		}
		return next(c)
	}
}

// staffOf returns the session requireStaff found.
func staffOf(c echo.Context) *pledge.StaffSession {
	sess, _ := c.Get(ctxStaff).(*pledge.StaffSession)
	if sess == nil {
		return &pledge.StaffSession{}
	}
	return sess
}

// staffLayout is the Layout of a staff page.
func (s *Server) staffLayout(c echo.Context, title string) Layout {
	st := staffOf(c).Staff
	return Layout{Title: title, Staff: &StaffView{Email: st.Email, Admin: st.Admin()}, Num: s.staffNumbers(c)}
}

// staffNumbers is the staff member's number format: the language their browser asks for among
// the service's catalogues (Accept-Language), English by default: 1,234.50 in English, 1 234,50
// in Russian.
func (s *Server) staffNumbers(c echo.Context) numberFormat {
	lc := s.langs.Pick(c.Request().Header.Get("Accept-Language"), "")
	if lc == nil || lc.Code == "en" {
		return englishNumbers
	}
	return numberFormat{pledge.NewNumbers(language.Make(lc.Code))}
}

// loginPage is the staff login form.
type loginPage struct {
	Layout
	Email string
	Error string
}

func (s *Server) handleStaffLoginForm(c echo.Context) error {
	return s.render(c, http.StatusOK, "staff_login", &loginPage{Layout: Layout{Title: "Staff sign in"}})
}

// loginForm is what the login form posts.
type loginForm struct {
	Email    string `form:"email"`
	Password string `form:"password"`
}

func (s *Server) handleStaffLogin(c echo.Context) error {
	var f loginForm
	if err := c.Bind(&f); err != nil {
		return pledge.Errorf(pledge.EINVALID, "The form could not be read.")
	}
	var old string
	if ck, err := c.Cookie(s.staffCookie()); err == nil {
		old = ck.Value
	}
	sess, err := s.Staff.SignIn().Login(c.Request().Context(), f.Email, f.Password, clientKey(c.RealIP()), old)
	switch code := pledge.ErrorCode(err); code {
	case "":
	case pledge.EUNAUTHORIZED, pledge.ERATELIMIT:
		s.clearStaffCookie(c)
		status := http.StatusUnauthorized
		if code == pledge.ERATELIMIT {
			status = http.StatusTooManyRequests
		}
		return s.render(c, status, "staff_login", &loginPage{Layout: Layout{Title: "Staff sign in"},
			Email: f.Email, Error: pledge.ErrorMessage(err)})
	default:
		return err
	}
	c.SetCookie(&http.Cookie{Name: s.staffCookie(), Value: sess.Token, Path: "/", HttpOnly: true,
		Secure: s.cfg.Secure(), SameSite: http.SameSiteLaxMode})
	s.renewStaffCSRF(c)
	return c.Redirect(http.StatusSeeOther, "/staff")
}

func (s *Server) handleStaffLogout(c echo.Context) error {
	if err := s.Staff.Logout(c.Request().Context(), staffOf(c).Token); err != nil {
		return err
	}
	s.clearStaffCookie(c)
	s.renewStaffCSRF(c)
	return c.Redirect(http.StatusSeeOther, "/staff/login")
}

func (s *Server) clearStaffCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: s.staffCookie(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.cfg.Secure(), SameSite: http.SameSiteLaxMode})
}
