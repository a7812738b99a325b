package server

import (
	"bytes"
	"fmt"
	"html"
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
	slots []string
	size  int
}

// promptValues are what differs between two readers' prompts.
type promptValues struct {
	csrf, nonce, article, campaign, source string
}

func (v promptValues) slot(name string) string {
	switch name {
	case "csrf":
		return html.EscapeString(v.csrf)
	case "nonce":
		return v.nonce
	case "article":
		return html.EscapeString(v.article)
	case "remind":
		if v.article == "" {
			return ""
		}
		return "&amp;article=" + html.EscapeString(url.QueryEscape(v.article))
	case "campaign":
		return v.campaign // CleanCampaign allows only [A-Za-z0-9._-]
	case "source":
		return v.source // CleanSource allows only [a-z0-9_-]
	}
	return ""
}

// prerenderPrompts renders ps's prompt for every language, currency and frequency with slot
// markers, from ps's settings, catalogues and views (which must be built).
func (s *Server) prerenderPrompts(ps *promptSet) (map[promptKey]*prerendered, error) {
	out := map[promptKey]*prerendered{}
	for _, lc := range ps.langs.Languages() {
		for _, cur := range ps.giving.Catalogue.Currencies {
			for _, f := range pledge.Frequencies {
				p := s.givingPage(ps, lc, pledge.GiftChoice{Currency: string(cur), Frequency: string(f)}, true, nil)
				p.Layout.Org = s.cfg.Org
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
					pr.parts = append(pr.parts, page[last:m[0]])
					pr.slots = append(pr.slots, page[m[2]:m[3]])
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
func (pr *prerendered) write(v promptValues) *bytes.Buffer {
	b := pageBufs.Get().(*bytes.Buffer)
	b.Reset()
	b.Grow(pr.size + 2*len(v.article) + 64)
	for i, part := range pr.parts {
		b.WriteString(part)
		if i < len(pr.slots) {
			b.WriteString(v.slot(pr.slots[i]))
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
