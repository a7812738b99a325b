package server

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"github.com/pledge-news/pledge/internal/pledge"
)

// defaultRemindEmailLimit is how often one e-mail address may be given to "Remind me later".
var defaultRemindEmailLimit = Limit{N: 5, Per: time.Hour}

// remindPage is GET /remind: the three choices and, when e-mail is configured, the address.
type remindPage struct {
	Layout
	Article     string
	Frequency   string
	Choice      string
	Email       string
	Consent     bool
	MailEnabled bool
	Error       string
	ErrorField  string
}

// remindDonePage confirms a deferral to a form post.
type remindDonePage struct {
	Layout
	RemindAt time.Time
	Choice   string
	Email    bool
	Article  string
}

// unsubscribePage asks to confirm, or confirms, an unsubscribe.
type unsubscribePage struct {
	Layout
	Token   string
	Done    bool
	Invalid bool
}

// remindResponse is POST /remind's answer to fetch.
type remindResponse struct {
	RemindAt string `json:"remind_at"`
	Email    bool   `json:"email"`
}

func (s *Server) registerRemindRoutes(e *echo.Echo) {
	perEmail := s.keyedLimiter(s.cfg.RemindEmailLimit, defaultRemindEmailLimit)
	s.framable["/remind"] = true // the prompt's "Remind me later" opens it inside the prompt's frame
	e.GET("/remind", s.handleRemindForm)
	e.POST("/remind", func(c echo.Context) error { return s.handleRemind(c, perEmail) },
		s.rateLimit(s.cfg.RemindLimit, "Too many requests from your network. Please try again in a few minutes."))
	e.GET("/reminders/unsubscribe", s.handleUnsubscribeForm)
	e.POST("/reminders/unsubscribe", s.handleUnsubscribe)
}

// handleRemindForm shows the choices; ?article= and ?frequency= come from the prompt.
func (s *Server) handleRemindForm(c echo.Context) error {
	p := &remindPage{Layout: Layout{Title: "Remind me later"}, Choice: string(pledge.ChoiceWeek),
		Article: c.QueryParam("article"), MailEnabled: s.cfg.MailEnabled}
	if f, err := pledge.ParseFrequency(c.QueryParam("frequency")); err == nil {
		p.Frequency = string(f)
	}
	return s.render(c, http.StatusOK, "remind", p)
}

// handleRemind stores the reader's deferral and sets the deferral cookie: 201 JSON to fetch, a
// confirmation page to a form post, 422 (the form again, or JSON) on bad input with nothing stored.
func (s *Server) handleRemind(c echo.Context, perEmail func(string) bool) error {
	req := pledge.DeferRequest{
		ReaderID: s.readerID(c), Choice: c.FormValue("choice"), Email: c.FormValue("email"),
		Consent: c.FormValue("consent") != "", Article: c.FormValue("article"),
		Frequency: c.FormValue("frequency"), MailEnabled: s.cfg.MailEnabled, ArticleOrigins: s.cfg.EmbedOrigins,
	}
	d, err := req.Validate()
	if err == nil && d.Email != "" && !perEmail(addressKey(d.Email)) {
		err = pledge.Errorf(pledge.ERATELIMIT, "Too many reminders asked for this address. Please try again later.")
	}
	if err == nil {
		d, err = s.Deferrals.Defer(c.Request().Context(), d)
	}
	if err != nil {
		if pledge.ErrorCode(err) == pledge.EINVALID && !wantsJSON(c.Request()) {
			return s.render(c, http.StatusUnprocessableEntity, "remind", &remindPage{
				Layout: Layout{Title: "Remind me later"}, Article: req.Article, Frequency: req.Frequency,
				Choice: req.Choice, Email: req.Email, Consent: req.Consent, MailEnabled: s.cfg.MailEnabled,
				Error: pledge.ErrorMessage(err), ErrorField: pledge.ErrorField(err)})
		}
		return err
	}
	s.setSigned(c, cookieDeferral, string(d.Choice), d.RemindAt)
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusCreated, remindResponse{RemindAt: d.RemindAt.UTC().Format(time.RFC3339), Email: d.Email != ""})
	}
	return s.render(c, http.StatusOK, "remind_done", &remindDonePage{Layout: Layout{Title: "We'll remind you later"},
		RemindAt: d.RemindAt, Choice: string(d.Choice), Email: d.Email != "", Article: d.Article})
}

// handleUnsubscribeForm asks the reader to confirm (a GET must change nothing: mail scanners
// follow links).
func (s *Server) handleUnsubscribeForm(c echo.Context) error {
	token := c.QueryParam("token")
	if _, ok := s.unsubscribeID(token); !ok {
		return s.render(c, http.StatusBadRequest, "unsubscribe", &unsubscribePage{Layout: Layout{Title: "Link not valid"}, Invalid: true})
	}
	return s.render(c, http.StatusOK, "unsubscribe", &unsubscribePage{Layout: Layout{Title: "Unsubscribe"}, Token: token})
}

// handleUnsubscribe cancels the reminder: the confirmation form's POST and the mail client's
// RFC 8058 one-click POST (body List-Unsubscribe=One-Click, token in the query) alike. It needs no
// CSRF token: the signed token is the authority, and a forger has none.
func (s *Server) handleUnsubscribe(c echo.Context) error {
	token := c.QueryParam("token")
	if token == "" {
		token = c.FormValue("token")
	}
	id, ok := s.unsubscribeID(token)
	if !ok {
		return s.render(c, http.StatusBadRequest, "unsubscribe", &unsubscribePage{Layout: Layout{Title: "Link not valid"}, Invalid: true})
	}
	if err := s.Deferrals.UnsubscribeReminder(c.Request().Context(), id); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "unsubscribe", &unsubscribePage{Layout: Layout{Title: "Unsubscribed"}, Done: true})
}

// keyedLimiter returns a check that allows l (or def when l is unset) per key, e.g. per e-mail
// address, in memory.
func (s *Server) keyedLimiter(l, def Limit) func(key string) bool {
	if l.N == 0 {
		l = def
	}
	if l.N < 0 {
		return func(string) bool { return true }
	}
	store := middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
		Rate: rate.Limit(float64(l.N) / l.Per.Seconds()), Burst: l.N, ExpiresIn: l.Per,
	})
	return func(key string) bool {
		ok, err := store.Allow(key)
		return ok && err == nil
	}
}

// wantsJSON reports whether the client asked for JSON (fetch from the prompt or remind.js).
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get(echo.HeaderAccept), "application/json")
}

// safeArticle returns a stored article URL when it is fit for a "back to the article" link: an
// http(s) URL on one of the configured article origins (rows stored before that rule may hold
// others), else "".
func (s *Server) safeArticle(a string) string {
	return pledge.ArticleFromOrigins(a, s.cfg.EmbedOrigins)
}

// addressKey is the rate limiter's key for an address: a hash, so the limiter's memory holds no
// readers' addresses.
func addressKey(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	return hex.EncodeToString(sum[:16])
}
