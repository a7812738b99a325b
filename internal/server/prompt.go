package server

import (
	"encoding/hex"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/locale"
	"github.com/pledge-news/pledge/internal/pledge"
)

// handlePrompt is the prompt an article frames: a small document with the donation form. It
// decides from signed cookies alone and counts the view in memory: no database on this path.
// Echo serves it when the direct route (servePrompt) leaves a request to it: a preset amount,
// rendered from the template, and what is not a plain GET.
func (s *Server) handlePrompt(c echo.Context) error {
	a := s.decidePrompt(c.Request(), s.promptQueryOf(c.Request()), time.Now())
	if !a.show || a.pr != nil {
		s.answerPrompt(c.Response(), c.Request(), &a, csrfToken(c))
		return nil
	}
	// A preset amount from the query: render it the ordinary way.
	s.promptHeader(c.Response(), c.Request(), &a)
	p := s.givingPage(a.ps, a.lc, a.ch, true, nil)
	if !a.change {
		s.stats.view(s.statArticle(p.Article), p.Campaign)
		s.stats.armView(a.arm)
	}
	s.stats.title(s.statArticle(p.Article), a.q.title)
	return s.render(c, http.StatusOK, "prompt#document", p)
}

// servePrompt is GET /prompt's direct route (direct.go): the pre-rendered prompt, or 204, without
// echo; a preset amount it leaves to handlePrompt.
func (s *Server) servePrompt(w http.ResponseWriter, r *http.Request, now time.Time, begin func() string) int {
	a := s.decidePrompt(r, s.promptQueryOf(r), now)
	if a.show && a.pr == nil {
		return 0
	}
	return s.answerPrompt(w, r, &a, begin())
}

// promptAnswer is GET /prompt's answer as decided from the request alone (its cookies and query,
// and the plan in force), before anything is written or counted.
type promptAnswer struct {
	show bool // the prompt; else 204 No Content (silenced, or the holdback's arm)
	// change: ?change=1, the reader changed currency or frequency inside a prompt already shown.
	// That is not a new view: it neither counts against the view cap nor is stopped by it.
	change bool
	// views is the view cookie to set (when setViews) and when it expires.
	views       viewState
	viewsExpire time.Time
	setViews    bool
	arm         pledge.Arm
	ps          *promptSet
	q           *promptQuery
	ch          pledge.GiftChoice // q's, its currency matched to the reader's language
	lc          *locale.Catalogue
	pr          *prerendered // the pre-rendered prompt; nil for a preset amount (the template's)
}

// decidePrompt decides GET /prompt's answer for r, whose query is q, at now.
func (s *Server) decidePrompt(r *http.Request, q *promptQuery, now time.Time) (a promptAnswer) {
	a.q, a.change = q, q.change
	if (a.change && s.promptDeferred(r)) || (!a.change && s.promptSilenced(r)) {
		return a
	}
	// The reader's experiment arm (from the view cookie counted first, which gives a new reader
	// the id it is drawn from) and the prompts that arm sees, pre-rendered by SetPlan. The
	// holdback sees none: its "views" are the prompts it was not shown.
	if a.change {
		a.arm, a.ps = s.armOf(now, func() string {
			v, _, _ := s.readViews(r)
			return v.id
		})
	} else {
		a.views, a.viewsExpire, a.setViews = s.nextViews(r, now)
		a.arm, a.ps = s.armOf(now, func() string { return a.views.id })
	}
	if a.arm.Held() {
		return a
	}
	a.show = true
	a.ch = q.choice
	accept := headerValue(r.Header, "Accept-Language")
	a.ch.Currency = s.currencyFor(q.choice.Currency, accept)
	f := a.ps.giving.DefaultFrequency
	if a.ch.Frequency != "" { // most views name none: spare building the error that says so
		if pf, err := pledge.ParseFrequency(a.ch.Frequency); err == nil {
			f = pf
		}
	}
	a.lc = s.langOf(q.lang, accept)
	if a.ch.Amount == "" {
		a.pr = a.ps.prompts[promptKey{a.lc.Code, pledge.Currency(a.ch.Currency), f}]
	}
	return a
}

// promptHeader writes the headers of every answer of GET /prompt, and its view cookie.
func (s *Server) promptHeader(w http.ResponseWriter, r *http.Request, a *promptAnswer) {
	w.Header()["Cache-Control"] = noStoreValue
	s.allowEmbedOrigin(w.Header(), r)
	if a.setViews {
		s.setViews(w, a.views, a.viewsExpire)
	}
}

// noStoreValue is the Cache-Control value of pages that must not be kept (shared: it is never changed).
var noStoreValue = []string{"no-store"}

// htmlType is the Content-Type of the pre-rendered prompt, as echo's HTMLBlob writes it.
var htmlType = []string{echo.MIMETextHTMLCharsetUTF8}

// answerPrompt writes a decided answer that needs no template (a.pr, or 204) and counts it, and
// returns its status; csrf is the CSRF token for its forms.
func (s *Server) answerPrompt(w http.ResponseWriter, r *http.Request, a *promptAnswer, csrf string) int {
	s.promptHeader(w, r, a)
	if !a.show {
		if !a.change {
			s.stats.armView(a.arm) // the holdback's; silenced readers have no arm
		}
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent
	}
	v := promptValues{csrf: csrf, q: a.q}
	var nonce [16]byte
	randomBytes(nonce[:])
	hex.Encode(v.nonce[:], nonce[:]) // newNonce's, without its allocations
	if !a.change {
		s.stats.view(a.q.statArticle, a.q.campaign)
		s.stats.armView(a.arm)
	}
	s.stats.title(a.q.statArticle, a.q.title)
	page := a.pr.write(&v)
	defer releasePage(page)
	h := w.Header()
	h["Content-Type"] = htmlType
	// A known length spares the chunked encoding: one write fewer per view.
	h[echo.HeaderContentLength] = []string{strconv.Itoa(page.Len())}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(page.Bytes())
	return http.StatusOK
}

// allowEmbedOrigin lets the configured article origins read the response from script (CORS), for
// newsrooms that fetch the prompt rather than frame it.
func (s *Server) allowEmbedOrigin(h http.Header, r *http.Request) {
	addVary(h, echo.HeaderOrigin)
	if o := headerValue(r.Header, echo.HeaderOrigin); o != "" && slices.Contains(s.cfg.EmbedOrigins, o) {
		h.Set("Access-Control-Allow-Origin", o)
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

// The Vary values the prompt sends, shared (Add copies a full slice on append, and nothing else
// changes a header's values in place).
var (
	varyCookie       = []string{echo.HeaderCookie}
	varyOrigin       = []string{echo.HeaderOrigin}
	varyCookieOrigin = []string{echo.HeaderCookie, echo.HeaderOrigin}
)

// addVary is h.Add("Vary", v), without allocating for the prompt's values.
func addVary(h http.Header, v string) {
	old := h[echo.HeaderVary]
	switch {
	case len(old) == 0 && v == echo.HeaderCookie:
		h[echo.HeaderVary] = varyCookie
	case len(old) == 0 && v == echo.HeaderOrigin:
		h[echo.HeaderVary] = varyOrigin
	case len(old) == 1 && old[0] == echo.HeaderCookie && v == echo.HeaderOrigin:
		h[echo.HeaderVary] = varyCookieOrigin
	default:
		h.Add(echo.HeaderVary, v)
	}
}

// handleEmbedJS serves the script article pages include. Its URL cannot carry a content hash (it
// is pasted into the newsroom's templates), so it is cached for an hour and revalidated by ETag.
func (s *Server) handleEmbedJS(c echo.Context) error {
	b, err := fs.ReadFile(s.static, "js/embed.js")
	if err != nil {
		return err
	}
	etag := `"` + s.renderer.assets["js/embed.js"] + `"`
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("ETag", etag)
	s.allowEmbedOrigin(h, c.Request())
	if c.Request().Header.Get("If-None-Match") == etag {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, "text/javascript; charset=utf-8", b)
}

// statArticle is the article prompt views and clicks are counted under: one from the configured
// article origins, else "" (anyone can name any URL, and the staff dashboard shows these).
func (s *Server) statArticle(a string) string {
	return pledge.ArticleFromOrigins(a, s.cfg.EmbedOrigins)
}
