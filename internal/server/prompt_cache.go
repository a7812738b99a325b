package server

import (
	"bytes"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"sync"

	"github.com/pledge-news/pledge/internal/pledge"
)

// The prompt is pre-rendered at start for every currency and frequency, with markers where the
// per-request values go (CSRF token, nonce, article, campaign, source); a request then only
// splices escaped values between the fixed parts. The template engine is off the hot path.

const slotMark = "PLEDGESLOT"

var slotRE = regexp.MustCompile(slotMark + `([a-z]+)X`)

type promptKey struct {
	lang string
	cur  pledge.Currency
	f    pledge.Frequency
}

// prerendered is a page split at its slots: parts[0] slots[0] parts[1] ... parts[n].
type prerendered struct {
	parts []string
	slots []slot
	size  int
}

// A slot is where a per-request value goes in a pre-rendered page.
type slot int

const (
	slotCSRF slot = iota
	slotNonce
	slotArticle
	slotRemind // the remind link's article parameter
	slotCampaign
	slotSource
)

// slotNames are the slots by the names the template's markers carry.
var slotNames = map[string]slot{"csrf": slotCSRF, "nonce": slotNonce, "article": slotArticle, "remind": slotRemind,
	"campaign": slotCampaign, "source": slotSource}

// promptValues are what differs between two readers' prompts: the CSRF token and nonce of each
// request, and what the query asks (the article, escaped for the page, the campaign and source).
type promptValues struct {
	csrf  string
	nonce [32]byte // hex
	q     *promptQuery
}

func (v *promptValues) slot(b *bytes.Buffer, s slot) {
	switch s {
	case slotCSRF:
		b.WriteString(html.EscapeString(v.csrf))
	case slotNonce:
		b.Write(v.nonce[:])
	case slotArticle:
		b.WriteString(v.q.articleHTML)
	case slotRemind:
		b.WriteString(v.q.remindHTML)
	case slotCampaign:
		b.WriteString(v.q.campaign) // CleanCampaign allows only [A-Za-z0-9._-]
	case slotSource:
		b.WriteString(v.q.source) // CleanSource allows only [a-z0-9_-]
	}
}

// promptQuery is what the prompt reads from its query, cleaned, and the article escaped for its
// slots: the same for every view of one article through one embed, so it is kept
// (promptQueryOf) rather than parsed and cleaned on each view.
type promptQuery struct {
	change bool
	// choice is the choice as asked, its currency not yet matched to the reader's language.
	choice                    pledge.GiftChoice
	lang, title               string
	article, campaign, source string // cleaned
	statArticle               string // the article the view is counted under (statArticle)
	articleHTML, remindHTML   string
}

// The query cache: at most maxPromptQueries queries of at most maxCachedQuery bytes; when full it
// is emptied, and the queries of the articles being read fill it again.
const (
	maxPromptQueries = 1000
	maxCachedQuery   = 1024
)

type queryCache struct {
	mu sync.RWMutex
	m  map[string]*promptQuery
}

// promptQueryOf is the prompt's query of r.
func (s *Server) promptQueryOf(r *http.Request) *promptQuery {
	raw := r.URL.RawQuery
	c := &s.queries
	c.mu.RLock()
	pq := c.m[raw]
	c.mu.RUnlock()
	if pq != nil {
		return pq
	}
	pq = s.parsePromptQuery(r.URL.Query())
	if len(raw) <= maxCachedQuery {
		c.mu.Lock()
		if c.m == nil || len(c.m) >= maxPromptQueries {
			c.m = make(map[string]*promptQuery)
		}
		c.m[raw] = pq
		c.mu.Unlock()
	}
	return pq
}

func (s *Server) parsePromptQuery(q url.Values) *promptQuery {
	pq := &promptQuery{
		change: q.Get("change") == "1",
		choice: queryChoice(q),
		lang:   q.Get("lang"),
		title:  pledge.CleanTitle(q.Get("title")),
	}
	pq.article = pledge.CleanArticle(pq.choice.Article)
	pq.campaign, pq.source = pledge.CleanCampaign(pq.choice.Campaign), pledge.CleanSource(pq.choice.Source)
	pq.statArticle = pledge.CleanArticleFromOrigins(pq.article, s.cfg.EmbedOrigins) // s.statArticle, cleaned once
	pq.articleHTML = html.EscapeString(pq.article)
	if pq.article != "" {
		pq.remindHTML = "&amp;article=" + html.EscapeString(url.QueryEscape(pq.article))
	}
	return pq
}

// prerenderPrompts renders ps's prompt for every language, currency and frequency with slot
// markers, from ps's settings, catalogues and views (which must be built).
func (s *Server) prerenderPrompts(ps *promptSet) (map[promptKey]*prerendered, error) {
	out := map[promptKey]*prerendered{}
	for _, lc := range ps.langs.Languages() {
		for _, cur := range ps.giving.Catalogue.Currencies {
			for _, f := range pledge.Frequencies {
				p := s.givingPage(ps, lc, pledge.GiftChoice{Currency: string(cur), Frequency: string(f)}, true, nil)
				p.Layout.Org = s.cfg.Giving.Org
				p.Layout.CSRF = slotMark + "csrfX"
				p.Nonce = slotMark + "nonceX"
				p.Article = slotMark + "articleX"
				p.Campaign = slotMark + "campaignX"
				p.Source = slotMark + "sourceX"
				p.RemindURL = "/remind?frequency=" + string(f) + "&lang=" + lc.Code + slotMark + "remindX"
				p.Remind.Article = p.Article
				p.syncRemind()
				var buf bytes.Buffer
				if err := s.renderer.execute(&buf, "prompt#document", p); err != nil {
					return nil, err
				}
				pr := &prerendered{}
				page := buf.String()
				last := 0
				for _, m := range slotRE.FindAllStringSubmatchIndex(page, -1) {
					sl, ok := slotNames[page[m[2]:m[3]]]
					if !ok {
						return nil, fmt.Errorf("prompt template: unknown slot %q", page[m[2]:m[3]])
					}
					pr.parts = append(pr.parts, page[last:m[0]])
					pr.slots = append(pr.slots, sl)
					last = m[1]
				}
				pr.parts = append(pr.parts, page[last:])
				pr.size = len(page)
				if len(pr.slots) < 6 {
					return nil, fmt.Errorf("prompt template: %d slots rendered, want at least 6", len(pr.slots))
				}
				out[promptKey{lc.Code, cur, f}] = pr
			}
		}
	}
	return out, nil
}

// pageBufs recycles the buffers prompts are spliced into: the prompt is served on every article
// view, and a fresh 8 KB page each time is most of its garbage.
var pageBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// write splices the values into the page, in a buffer from pageBufs; give it back with
// releasePage once the page is written out.
func (pr *prerendered) write(v *promptValues) *bytes.Buffer {
	b := pageBufs.Get().(*bytes.Buffer)
	b.Reset()
	b.Grow(pr.size + 2*len(v.q.articleHTML) + len(v.q.remindHTML) + 64)
	for i, part := range pr.parts {
		b.WriteString(part)
		if i < len(pr.slots) {
			v.slot(b, pr.slots[i])
		}
	}
	return b
}

// releasePage returns a page's buffer to pageBufs.
func releasePage(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		pageBufs.Put(b)
	}
}
