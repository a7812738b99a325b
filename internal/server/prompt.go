package server

import (
	"io/fs"
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/pledge"
)

// handlePrompt is the prompt an article frames: a small document with the donation form. It
// decides from signed cookies alone and counts the view in memory: no database on this path.
func (s *Server) handlePrompt(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	s.allowEmbedOrigin(c)
	// ?change=1: the reader changed currency or frequency inside a prompt already shown. That
	// is not a new view: it neither counts against the view cap nor is stopped by it.
	change := c.QueryParam("change") == "1"
	if (change && s.promptDeferred(c)) || (!change && s.promptSilenced(c)) {
		return c.NoContent(http.StatusNoContent)
	}
	if !change {
		s.countPromptView(c)
	}
	// The reader's experiment arm (after countPromptView, which gives a new reader the id it is
	// drawn from) and the prompts that arm sees, pre-rendered by SetPlan. The holdback sees none:
	// its "views" are the prompts it was not shown. A change is not a view, in any arm.
	arm, ps := s.armSet(c)
	if arm.Held() {
		if !change {
			s.stats.armView(arm)
		}
		return c.NoContent(http.StatusNoContent)
	}
	ch := s.choiceFromQuery(c)
	f := ps.giving.DefaultFrequency
	if ch.Frequency != "" { // most views name none: spare building the error that says so
		if pf, err := pledge.ParseFrequency(ch.Frequency); err == nil {
			f = pf
		}
	}
	lc := s.lang(c)
	if pr := ps.prompts[promptKey{lc.Code, pledge.Currency(ch.Currency), f}]; pr != nil && ch.Amount == "" {
		v := promptValues{csrf: csrfToken(c), nonce: newNonce(), article: pledge.CleanArticle(ch.Article),
			campaign: pledge.CleanCampaign(ch.Campaign), source: pledge.CleanSource(ch.Source)}
		article := pledge.CleanArticleFromOrigins(v.article, s.cfg.EmbedOrigins) // s.statArticle, cleaned once
		if !change {
			s.stats.view(article, v.campaign)
			s.stats.armView(arm)
		}
		s.stats.title(article, pledge.CleanTitle(c.QueryParam("title")))
		page := pr.write(v)
		defer releasePage(page) // HTMLBlob has written it out when it returns
		// A known length spares the chunked encoding: one write fewer per view.
		h.Set(echo.HeaderContentLength, strconv.Itoa(page.Len()))
		return c.HTMLBlob(http.StatusOK, page.Bytes())
	}
	// A preset amount from the query: render it the ordinary way.
	p := s.givingPage(ps, lc, ch, true, nil)
	if !change {
		s.stats.view(s.statArticle(p.Article), p.Campaign)
		s.stats.armView(arm)
	}
	s.stats.title(s.statArticle(p.Article), pledge.CleanTitle(c.QueryParam("title")))
	return s.render(c, http.StatusOK, "prompt#document", p)
}

// allowEmbedOrigin lets the configured article origins read the response from script (CORS), for
// newsrooms that fetch the prompt rather than frame it.
func (s *Server) allowEmbedOrigin(c echo.Context) {
	h := c.Response().Header()
	h.Add("Vary", "Origin")
	if o := c.Request().Header.Get("Origin"); o != "" && slices.Contains(s.cfg.EmbedOrigins, o) {
		h.Set("Access-Control-Allow-Origin", o)
		h.Set("Access-Control-Allow-Credentials", "true")
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
	s.allowEmbedOrigin(c)
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
