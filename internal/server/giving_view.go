package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"net/url"

	"github.com/pledge-news/pledge/internal/locale"
	"github.com/pledge-news/pledge/internal/pledge"
)

// givingForm is the donation form, on GET/POST /donate (with the site's layout) and on GET
// /prompt (as a small document for the article's frame).
type givingForm struct {
	Layout
	Embed       bool // rendered inside the article's frame: Continue targets the top window
	Heading     string
	Letter      []template.HTML // the newsroom's letter, paragraph by paragraph
	Fold        bool            // a long letter: all but its first paragraph fold behind "Read more" on narrow screens
	Signoff     template.HTML
	Ask         string // the ask line for the chosen frequency, with {min} and {default} filled in
	Frequency   pledge.Frequency
	Currency    pledge.Currency
	Frequencies []frequencyOption
	Currencies  []currencyOption
	Presets     []presetOption
	Other       string
	OtherHint   string // "Minimum $2.00"
	Continue    string // "Give $5 monthly"
	Fees        bool   // the fee-cover box is offered
	CoverFees   bool
	FeeLabel    string // the fee-cover label, with what covering the fees adds for the chosen amount
	Article     string
	Campaign    string
	Source      string
	Nonce       string
	Error       string
	ErrorField  string // amount, other_amount, frequency, currency or "" (the form)
	RemindURL   string
	Remind      *remindPage // the in-card "Remind me later" panel (the prompt only)
}

type frequencyOption struct {
	Value   pledge.Frequency
	Label   string
	Checked bool
}

type currencyOption struct {
	Code     pledge.Currency
	Label    string
	Selected bool
}

type presetOption struct {
	Value     string `json:"value"`     // major units, as posted
	Label     string `json:"label"`     // "$10/month"
	Amount    string `json:"amount"`    // "$10", for the Continue button
	Fee       string `json:"fee"`       // "$0.61": what covering the fees adds to it
	Highlight bool   `json:"highlight"` // "Most chosen"
	Checked   bool   `json:"-"`
}

// currencyView is what the form shows for one currency in one language, computed once at start
// so the prompt's hot path only picks from it.
type currencyView struct {
	presets  map[pledge.Frequency][]presetOption
	defaults map[pledge.Frequency]string
	hints    map[pledge.Frequency]string
	asks     map[pledge.Frequency]string
	// script is the catalogue as prompt.js reads it (window.PledgeCatalogue = JSON), served
	// at src, a URL named by its content's hash so that browsers cache it for good: the
	// prompt on every page view then carries its URL, not its 5 KB.
	script []byte
	src    string
}

type viewKey struct {
	lang string
	cur  pledge.Currency
}

// tierJSON is one frequency's amounts as prompt.js reads them.
type tierJSON struct {
	Presets  []presetOption `json:"presets"`
	Default  string         `json:"default"`
	Min      int64          `json:"min"`
	Max      int64          `json:"max"`
	MinMsg   string         `json:"minMsg"`
	MaxMsg   string         `json:"maxMsg"`
	Hint     string         `json:"hint"`
	Ask      string         `json:"ask"`
	Amount   string         `json:"amount"`   // "{amount}/month"
	Continue string         `json:"continue"` // "Give {amount} monthly"
}

type catalogueJSON struct {
	Currency string              `json:"currency"`
	Decimals int                 `json:"decimals"`
	Symbol   string              `json:"symbol"`
	Pattern  string              `json:"pattern"` // "{symbol}{amount}"
	Point    string              `json:"point"`   // the language's decimal sign
	Group    string              `json:"group"`   // and its group separator
	Digits   string              `json:"digits"`  // its digits 0-9 when not ASCII ("٠١٢٣٤٥٦٧٨٩")
	FeeBPS   int64               `json:"feeBps"`
	FeeFixed int64               `json:"feeFixed"`
	Fees     bool                `json:"fees"`
	Tiers    map[string]tierJSON `json:"tiers"`
	Text     map[string]string   `json:"text"`
}

// buildViews precomputes every language's and currency's presets, labels and JSON.
func buildViews(st pledge.Settings, langs *locale.Set) (map[viewKey]*currencyView, error) {
	out := map[viewKey]*currencyView{}
	for _, lc := range langs.Languages() {
		for _, cur := range st.Catalogue.Currencies {
			v, err := buildView(st, lc, cur)
			if err != nil {
				return nil, err
			}
			out[viewKey{lc.Code, cur}] = v
		}
	}
	return out, nil
}

func buildView(st pledge.Settings, lc *locale.Catalogue, cur pledge.Currency) (*currencyView, error) {
	info, _ := pledge.LookupCurrency(string(cur))
	v := &currencyView{
		presets:  map[pledge.Frequency][]presetOption{},
		defaults: map[pledge.Frequency]string{},
		hints:    map[pledge.Frequency]string{},
		asks:     map[pledge.Frequency]string{},
	}
	pattern, point, group := lc.MoneyPattern()
	digits := ""
	for i := range int64(10) {
		digits += lc.Number(i, 0)
	}
	if digits == "0123456789" {
		digits = ""
	}
	if info.SymbolAfter {
		pattern = "{amount}\u00a0{symbol}"
	}
	cj := catalogueJSON{Currency: cur.Upper(), Decimals: info.Decimals, Symbol: info.Symbol, Pattern: pattern, Point: point, Group: group, Digits: digits,
		FeeBPS: st.Fees.BasisPoints, FeeFixed: st.Fees.Fixed[cur], Fees: st.Fees.Enabled, Tiers: map[string]tierJSON{},
		Text: map[string]string{
			"cover": lc.T("cover.label"), "continue": lc.T("continue.plain"), "highlight": lc.T("amount.highlight"),
			"failed": lc.T("error.internal"), "toPayment": lc.T("continue.to_payment"),
			"empty": lc.T("error.amount.empty"), "negative": lc.T("error.amount.negative"), "number": lc.T("error.amount.number"),
			"whole":    lc.T("error.amount.whole", "currency", cur.Upper()),
			"decimals": lc.N("error.amount.decimals", info.Decimals),
		}}
	for _, f := range pledge.Frequencies {
		t := st.Catalogue.Tier(cur, f)
		for _, p := range t.Presets {
			m := pledge.Money{Amount: p, Currency: cur}
			fee := pledge.Money{Amount: st.Fees.Cover(m), Currency: cur}
			short := lc.Short(m)
			v.presets[f] = append(v.presets[f], presetOption{Value: majorInput(m), Amount: short,
				Label: lc.T("amount."+string(f), "amount", short), Fee: lc.Money(fee),
				Highlight: st.Highlight[f] != "" && st.Highlight[f] == majorInput(m)})
		}
		v.defaults[f] = majorInput(pledge.Money{Amount: t.Default, Currency: cur})
		minM := pledge.Money{Amount: t.Min, Currency: cur}
		v.hints[f] = lc.T("amount.minimum", "min", lc.Money(minM))
		v.asks[f] = lc.T("letter.ask."+string(f), "min", lc.Short(minM), "default", lc.Short(pledge.Money{Amount: t.Default, Currency: cur}))
		cj.Tiers[string(f)] = tierJSON{
			Presets: v.presets[f], Default: v.defaults[f], Min: t.Min, Max: t.Max, Hint: v.hints[f], Ask: v.asks[f],
			MinMsg:   lc.Error(st.Catalogue.Check(f, pledge.Money{Amount: t.Min - 1, Currency: cur})),
			MaxMsg:   lc.Error(st.Catalogue.Check(f, pledge.Money{Amount: t.Max + 1, Currency: cur})),
			Amount:   lc.T("amount." + string(f)),
			Continue: lc.T("continue." + string(f)),
		}
	}
	b, err := json.Marshal(cj)
	if err != nil {
		return nil, err
	}
	v.script = append(append([]byte("window.PledgeCatalogue="), b...), ";\n"...)
	sum := sha256.Sum256(v.script)
	v.src = catalogueDir + hex.EncodeToString(sum[:8]) + ".js"
	return v, nil
}

// majorInput writes an amount as a reader would type it: "10", "2.50", "500" (yen).
func majorInput(m pledge.Money) string {
	s := m.Major()
	if d := m.Currency.Decimals(); d > 0 {
		whole, frac := s[:len(s)-d-1], s[len(s)-d:]
		allZero := true
		for i := 0; i < len(frac); i++ {
			allZero = allZero && frac[i] == '0'
		}
		if allZero {
			return whole
		}
	}
	return s
}

// newNonce returns the random token that ties a rendered form to the one checkout it may make.
func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// letterFoldAfter is how long a letter may be before it folds behind "Read more" on narrow
// screens.
const letterFoldAfter = 280

// givingPage builds the form for a reader's (possibly partial, possibly wrong) choice, in the
// reader's language, from the prompt set ps (the default's or the reader's experiment arm's:
// its letter, presets and defaults).
func (s *Server) givingPage(ps *promptSet, lc *locale.Catalogue, ch pledge.GiftChoice, embed bool, err error) *givingForm {
	lc = ps.lang(lc)
	st := ps.giving
	cur := pledge.Currency(ch.Currency)
	if !st.Catalogue.Offers(cur) {
		cur = st.Catalogue.Default
	}
	f, ferr := pledge.ParseFrequency(ch.Frequency)
	if ferr != nil {
		f = st.DefaultFrequency
	}
	v := ps.views[viewKey{lc.Code, cur}]
	heading := lc.T("letter.heading")
	p := &givingForm{
		Layout:    Layout{Title: heading, L: lc, Catalogue: v.src},
		Embed:     embed,
		Heading:   heading,
		Letter:    letterParagraphs(lc.T("letter.message"), s.letterOrigins()),
		Signoff:   letterInline(lc.T("letter.signoff"), s.letterOrigins()),
		Ask:       v.asks[f],
		Frequency: f,
		Currency:  cur,
		Other:     ch.Other,
		OtherHint: v.hints[f],
		Fees:      st.Fees.Enabled,
		CoverFees: ch.CoverFees,
		Article:   pledge.CleanArticle(ch.Article),
		Campaign:  pledge.CleanCampaign(ch.Campaign),
		Source:    pledge.CleanSource(ch.Source),
		Nonce:     ch.Nonce,
		Continue:  lc.T("continue.plain"),
	}
	p.Fold = len(p.Letter) > 1 && len(lc.T("letter.message")) > letterFoldAfter
	if len(p.Nonce) != 32 || pledge.ErrorField(err) == "nonce" {
		p.Nonce = newNonce()
	}
	for _, fr := range pledge.Frequencies {
		p.Frequencies = append(p.Frequencies, frequencyOption{Value: fr, Label: lc.T("frequency." + string(fr)), Checked: fr == f})
	}
	for _, c := range st.Catalogue.Currencies {
		p.Currencies = append(p.Currencies, currencyOption{Code: c, Label: c.Upper(), Selected: c == cur})
	}
	selected := ch.Amount
	if selected == "" && ch.Other == "" {
		selected = v.defaults[f]
	}
	fee := ""
	p.Presets = make([]presetOption, len(v.presets[f]))
	for i, o := range v.presets[f] {
		o.Checked = o.Value == selected && ch.Other == ""
		if o.Checked {
			fee = o.Fee
			p.Continue = lc.T("continue."+string(f), "amount", o.Amount)
		}
		p.Presets[i] = o
	}
	if fee == "" {
		if n, perr := pledge.ParseAmount(firstNonEmpty(ch.Other, ch.Amount), cur); perr == nil {
			fee = lc.Money(pledge.Money{Amount: st.Fees.Cover(pledge.Money{Amount: n, Currency: cur}), Currency: cur})
		}
	}
	if fee == "" {
		fee = lc.T("cover.some")
	}
	p.FeeLabel = lc.T("cover.label", "fee", fee)
	if err != nil {
		p.Error, p.ErrorField = lc.Error(err), pledge.ErrorField(err)
		p.Title = lc.T("prompt.check")
	}
	// In the order the pre-rendered prompt writes it (its article is spliced in last).
	p.RemindURL = "/remind?frequency=" + string(f) + "&lang=" + url.QueryEscape(lc.Code)
	if p.Article != "" {
		p.RemindURL += "&article=" + url.QueryEscape(p.Article)
	}
	if embed {
		p.Remind = s.remindPanel(lc, p.Article, string(f))
		p.Remind.Embed = true
	}
	return p
}

// syncRemind gives the in-card remind panel the page's layout (CSRF token, name), once render
// or the pre-renderer has filled it.
func (p *givingForm) syncRemind() {
	if p.Remind != nil {
		p.Remind.Layout = p.Layout
		p.Remind.Title = p.L.T("remind.title")
	}
}

// letterOrigins are the origins the letter may link to: the article sites and Pledge's own.
func (s *Server) letterOrigins() []string {
	return append([]string{s.origin}, s.cfg.EmbedOrigins...)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
