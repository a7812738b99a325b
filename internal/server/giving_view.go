package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/url"

	"github.com/pledge-news/pledge/internal/pledge"
)

// givingPage is the donation form, on GET/POST /donate (with the site's layout) and on GET
// /prompt (as a small document for the article's frame).
type givingPage struct {
	Layout
	Embed       bool // rendered inside the article's frame: Continue targets the top window
	Heading     string
	Message     string
	Frequency   pledge.Frequency
	Currency    pledge.Currency
	Frequencies []frequencyOption
	Currencies  []currencyOption
	Presets     []presetOption
	Other       string
	OtherHint   string // "Minimum $2.00"
	Fees        bool   // the fee-cover box is offered
	CoverFees   bool
	FeeLabel    string // what covering the fees adds for the preselected amount
	Article     string
	Campaign    string
	Source      string
	Nonce       string
	Catalogue   string // JSON of this currency's tiers, for prompt.js
	Error       string
	ErrorField  string // amount, other_amount, frequency, currency or "" (the form)
	RemindURL   string
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
	Value   string `json:"value"` // major units, as posted
	Label   string `json:"label"` // "$10"
	Fee     string `json:"fee"`   // "$0.61": what covering the fees adds to it
	Checked bool   `json:"-"`
}

// currencyView is what the form shows for one currency, computed once at start so the prompt's
// hot path only picks from it.
type currencyView struct {
	presets  map[pledge.Frequency][]presetOption
	defaults map[pledge.Frequency]string
	hints    map[pledge.Frequency]string
	json     string
}

// tierJSON is one frequency's amounts as prompt.js reads them.
type tierJSON struct {
	Presets []presetOption `json:"presets"`
	Default string         `json:"default"`
	Min     int64          `json:"min"`
	Max     int64          `json:"max"`
	MinMsg  string         `json:"minMsg"`
	MaxMsg  string         `json:"maxMsg"`
	Hint    string         `json:"hint"`
}

type catalogueJSON struct {
	Decimals int                 `json:"decimals"`
	Symbol   string              `json:"symbol"`
	After    bool                `json:"after"`
	FeeBPS   int64               `json:"feeBps"`
	FeeFixed int64               `json:"feeFixed"`
	Fees     bool                `json:"fees"`
	Tiers    map[string]tierJSON `json:"tiers"`
}

// buildViews precomputes every currency's presets, labels and JSON.
func buildViews(st pledge.Settings) (map[pledge.Currency]*currencyView, error) {
	out := map[pledge.Currency]*currencyView{}
	for _, cur := range st.Catalogue.Currencies {
		info, _ := pledge.LookupCurrency(string(cur))
		v := &currencyView{
			presets:  map[pledge.Frequency][]presetOption{},
			defaults: map[pledge.Frequency]string{},
			hints:    map[pledge.Frequency]string{},
		}
		cj := catalogueJSON{Decimals: info.Decimals, Symbol: info.Symbol, After: info.SymbolAfter,
			FeeBPS: st.Fees.BasisPoints, FeeFixed: st.Fees.Fixed[cur], Fees: st.Fees.Enabled, Tiers: map[string]tierJSON{}}
		for _, f := range pledge.Frequencies {
			t := st.Catalogue.Tier(cur, f)
			for _, p := range t.Presets {
				m := pledge.Money{Amount: p, Currency: cur}
				fee := pledge.Money{Amount: st.Fees.Cover(m), Currency: cur}
				v.presets[f] = append(v.presets[f], presetOption{Value: majorInput(m), Label: m.Short(), Fee: fee.String()})
			}
			v.defaults[f] = majorInput(pledge.Money{Amount: t.Default, Currency: cur})
			minM := pledge.Money{Amount: t.Min, Currency: cur}
			v.hints[f] = "Minimum " + minM.Grouped()
			cj.Tiers[string(f)] = tierJSON{
				Presets: v.presets[f], Default: v.defaults[f], Min: t.Min, Max: t.Max, Hint: v.hints[f],
				MinMsg: pledge.ErrorMessage(st.Catalogue.Check(f, pledge.Money{Amount: t.Min - 1, Currency: cur})),
				MaxMsg: pledge.ErrorMessage(st.Catalogue.Check(f, pledge.Money{Amount: t.Max + 1, Currency: cur})),
			}
		}
		b, err := json.Marshal(cj)
		if err != nil {
			return nil, err
		}
		v.json = string(b)
		out[cur] = v
	}
	return out, nil
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

// givingPage builds the form for a reader's (possibly partial, possibly wrong) choice.
func (s *Server) givingPage(ch pledge.GiftChoice, embed bool, err error) *givingPage {
	st := s.cfg.Giving
	cur := pledge.Currency(ch.Currency)
	if !st.Catalogue.Offers(cur) {
		cur = st.Catalogue.Default
	}
	f, ferr := pledge.ParseFrequency(ch.Frequency)
	if ferr != nil {
		f = st.DefaultFrequency
	}
	v := s.views[cur]
	p := &givingPage{
		Layout:    Layout{Title: st.Heading},
		Embed:     embed,
		Heading:   st.Heading,
		Message:   st.Message,
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
		Catalogue: v.json,
	}
	if len(p.Nonce) != 32 || pledge.ErrorField(err) == "nonce" {
		p.Nonce = newNonce()
	}
	for _, fr := range pledge.Frequencies {
		p.Frequencies = append(p.Frequencies, frequencyOption{Value: fr, Label: fr.Label(), Checked: fr == f})
	}
	for _, c := range st.Catalogue.Currencies {
		p.Currencies = append(p.Currencies, currencyOption{Code: c, Label: c.Upper(), Selected: c == cur})
	}
	selected := ch.Amount
	if selected == "" && ch.Other == "" {
		selected = v.defaults[f]
	}
	p.Presets = make([]presetOption, len(v.presets[f]))
	for i, o := range v.presets[f] {
		o.Checked = o.Value == selected && ch.Other == ""
		if o.Checked {
			p.FeeLabel = o.Fee
		}
		p.Presets[i] = o
	}
	if p.FeeLabel == "" {
		if n, perr := pledge.ParseAmount(firstNonEmpty(ch.Other, ch.Amount), cur); perr == nil {
			p.FeeLabel = pledge.Money{Amount: st.Fees.Cover(pledge.Money{Amount: n, Currency: cur}), Currency: cur}.String()
		}
	}
	if err != nil {
		p.Error, p.ErrorField = pledge.ErrorMessage(err), pledge.ErrorField(err)
		p.Title = "Please check your gift"
	}
	p.RemindURL = "/remind?frequency=" + string(f)
	if p.Article != "" {
		p.RemindURL += "&article=" + url.QueryEscape(p.Article)
	}
	return p
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
