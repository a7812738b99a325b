package server

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/locale"
	"github.com/pledge-news/pledge/internal/pledge"
)

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
	Embed       bool   // inside the article's frame: a compact document without the site's chrome
	BackURL     string // the prompt to go back to, without JavaScript
}

// remindDonePage confirms a deferral to a form post.
type remindDonePage struct {
	Layout
	RemindAt time.Time
	Choice   string
	Email    bool
	Article  string
	Message  string // "We won't ask you again until 2 March 2026."
	Embed    bool
	NoStore  bool // protective mode: embed.js must not remember the date in localStorage
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
	Message  string `json:"message"` // the confirmation, in the reader's language
	// Store tells embed.js whether it may remember the date in the article site's
	// localStorage: false in protective mode.
	Store bool `json:"store"`
}

// registerRemindRoutes serves "Remind me later", which the prompt opens inside its frame, and
// the reminder e-mail's one-click unsubscribe.
func (s *Server) registerRemindRoutes(e *echo.Echo) {
	forms := s.area(e, "", framedFormPolicy)
	forms.form("/remind", s.handleRemindForm, s.handleRemind, s.rateLimit(s.cfg.RemindLimit, "error.rate.remind"))
	links := s.area(e, "", signedLinkPolicy)
	links.form("/reminders/unsubscribe", s.handleUnsubscribeForm, s.handleUnsubscribe)
}

// handleRemindForm shows the choices; ?article= and ?frequency= come from the prompt.
func (s *Server) handleRemindForm(c echo.Context) error {
	p := s.remindPanel(s.lang(c), c.QueryParam("article"), c.QueryParam("frequency"))
	if c.QueryParam("embed") == "1" {
		p.Embed = true
		p.BackURL = s.promptURL(p)
		return s.render(c, http.StatusOK, "remind#document", p)
	}
	return s.render(c, http.StatusOK, "remind", p)
}

// remindPanel is the "Remind me later" form for a reader in a language.
func (s *Server) remindPanel(lc *locale.Catalogue, article, frequency string) *remindPage {
	p := &remindPage{Layout: Layout{Title: lc.T("remind.title"), L: lc}, Choice: string(pledge.ChoiceWeek),
		Article: article, MailEnabled: s.cfg.MailEnabled}
	if f, err := pledge.ParseFrequency(frequency); err == nil {
		p.Frequency = string(f)
	}
	return p
}

// promptURL is the way back from the framed remind form to the prompt, as a change (not a view).
func (s *Server) promptURL(p *remindPage) string {
	q := url.Values{"change": {"1"}, "lang": {p.L.Code}}
	if p.Article != "" {
		q.Set("article", p.Article)
	}
	if p.Frequency != "" {
		q.Set("frequency", p.Frequency)
	}
	return "/prompt?" + q.Encode()
}

// remindMessage is the confirmation of a deferral in the reader's language.
func remindMessage(lc *locale.Catalogue, d *pledge.Deferral) string {
	msg := lc.T("remind.done_until", "date", lc.Date(d.RemindAt.UTC()))
	if d.Choice == pledge.ChoiceNever {
		msg = lc.N("remind.done_never", 12)
	}
	if d.Email != "" {
		msg += " " + lc.T("remind.done_email")
	}
	return msg
}

// handleRemind stores the reader's deferral and sets the deferral cookie: 201 JSON to fetch, a
// confirmation page to a form post, 422 (the form again, or JSON) on bad input with nothing stored.
func (s *Server) handleRemind(c echo.Context) error {
	req := pledge.DeferRequest{
		ReaderID: s.readerFor(c), Choice: c.FormValue("choice"), Email: c.FormValue("email"),
		Consent: c.FormValue("consent") != "", Article: c.FormValue("article"),
		Frequency: c.FormValue("frequency"), MailEnabled: s.cfg.MailEnabled, ArticleOrigins: s.cfg.EmbedOrigins,
	}
	lc := s.lang(c)
	req.Lang = lc.Code // the prompt's language (the form's lang field), for the reminder e-mail
	d, err := req.Validate()
	if err == nil && s.cfg.Protect.On {
		d.Article = "" // protective mode: no reader's request is kept with an article
	}
	if err == nil && d.Email != "" && !s.remindPerEmail(addressKey(d.Email)) {
		err = pledge.Errorf(pledge.ERATELIMIT, "Too many reminders asked for this address. Please try again later.").Keyed("error.rate.email")
	}
	if err == nil {
		d, err = s.Deferrals.Defer(c.Request().Context(), d)
	}
	if err != nil {
		if pledge.ErrorCode(err) == pledge.EINVALID && !wantsJSON(c.Request()) {
			p := s.remindPanel(lc, req.Article, req.Frequency)
			p.Choice, p.Email, p.Consent = req.Choice, req.Email, req.Consent
			p.Error, p.ErrorField = lc.Error(err), pledge.ErrorField(err)
			if embedded(c) {
				p.Embed, p.BackURL = true, s.promptURL(p)
				return s.render(c, http.StatusUnprocessableEntity, "remind#document", p)
			}
			return s.render(c, http.StatusUnprocessableEntity, "remind", p)
		}
		if pledge.ErrorCode(err) != pledge.EINTERNAL && wantsJSON(c.Request()) {
			var body apiError
			status, code, _ := classify(err)
			body.Error.Code, body.Error.Message, body.Error.Field = code, lc.Error(err), pledge.ErrorField(err)
			return c.JSON(status, body)
		}
		return err
	}
	s.setSigned(c, cookieDeferral, string(d.Choice), d.RemindAt)
	msg := remindMessage(lc, d)
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusCreated, remindResponse{RemindAt: d.RemindAt.UTC().Format(time.RFC3339), Email: d.Email != "", Message: msg,
			Store: !s.cfg.Protect.On})
	}
	page := &remindDonePage{Layout: Layout{Title: lc.T("remind.done_title"), L: lc},
		RemindAt: d.RemindAt, Choice: string(d.Choice), Email: d.Email != "", Article: d.Article, Message: msg, Embed: embedded(c),
		NoStore: s.cfg.Protect.On}
	if page.Embed {
		return s.render(c, http.StatusOK, "remind_done#document", page)
	}
	return s.render(c, http.StatusOK, "remind_done", page)
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
