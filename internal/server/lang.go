package server

import (
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/locale"
	"github.com/pledge-news/pledge/internal/pledge"
)

// codeKeys are catalogue keys the Go code names (rate limits, the prompt's script): New refuses
// catalogues without them, rather than show a key to a reader.
var codeKeys = []string{"error.rate.donate", "error.rate.donate_global", "error.rate.thanks", "error.rate.remind",
	"error.rate.email", "error.rate.manage_email", "error.manage.no_mail", "error.internal", "continue.to_payment",
	"prompt.frame_title"}

// maxLangCache bounds the Accept-Language headers remembered: browsers send few distinct ones,
// and a stranger sending many only stops new ones being remembered.
const maxLangCache = 2000

// langCache remembers the language picked for an Accept-Language header, so the prompt's hot
// path does not parse the header and run the matcher on every view.
type langCache struct {
	mu sync.RWMutex
	m  map[string]*locale.Catalogue
}

// lang is the reader's language: ?lang= (or the posted lang field: data-lang on the embed, else
// the article page's lang, as embed.js sees them), else Accept-Language, else the default.
func (s *Server) lang(c echo.Context) *locale.Catalogue {
	asked := c.QueryParam("lang")
	if asked == "" && c.Request().Method == "POST" {
		asked = c.FormValue("lang")
	}
	return s.langOf(asked, c.Request().Header.Get("Accept-Language"))
}

// langOf is the language asked for by name (asked, "" for none), else the best for an
// Accept-Language header, else the default.
func (s *Server) langOf(asked, accept string) *locale.Catalogue {
	if asked != "" {
		if lc := s.langs.Get(asked); lc != nil {
			return lc
		}
	}
	if asked == "" {
		s.langCache.mu.RLock()
		lc, ok := s.langCache.m[accept]
		s.langCache.mu.RUnlock()
		if ok {
			return lc
		}
	}
	lc := s.langs.Pick(accept, asked)
	if asked == "" {
		s.langCache.mu.Lock()
		if len(s.langCache.m) < maxLangCache {
			s.langCache.m[accept] = lc
		}
		s.langCache.mu.Unlock()
	}
	return lc
}

// LoadLanguages builds the catalogues from the built-in ones and the newsroom's settings: the
// letter at the top level of PLEDGE_CONFIG goes to every language without its own.
func LoadLanguages(st pledge.Settings) (*locale.Set, error) {
	shared := locale.Messages{}
	set := func(key, v string) {
		if v != "" {
			shared[key] = v
		}
	}
	set("letter.heading", st.Heading)
	set("letter.message", st.Message)
	set("letter.signoff", st.Signoff)
	set("newsletter.consent", st.NewsletterWording)
	for f, a := range st.Ask {
		set("letter.ask."+string(f), a)
	}
	over := map[string]locale.Messages{}
	for code, m := range st.Messages {
		over[code] = locale.Messages(m)
	}
	return locale.Load(locale.Options{Default: st.DefaultLanguage, Overrides: over, Shared: shared})
}
