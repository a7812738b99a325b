package pledge

import (
	"fmt"
	"strconv"
	"strings"
)

// Currency is an ISO 4217 code in lower case, as Stripe writes it ("usd").
type Currency string

// CurrencyInfo is what Pledge knows about a currency: how many decimals its minor unit has and
// how to write an amount in it.
type CurrencyInfo struct {
	Code     Currency
	Decimals int
	Symbol   string
	// SymbolAfter writes the symbol after the number ("100 kr").
	SymbolAfter bool
}

// currencies is the table of currencies Pledge can format. The catalogue decides which of them a
// newsroom offers. Zero-decimal currencies follow Stripe's list. ISK is not offered: Stripe wants
// its amounts in two-decimal form (multiples of 100), unlike its other zero-decimal currencies.
var currencies = map[Currency]CurrencyInfo{
	"usd": {Code: "usd", Decimals: 2, Symbol: "$"},
	"eur": {Code: "eur", Decimals: 2, Symbol: "€"},
	"gbp": {Code: "gbp", Decimals: 2, Symbol: "£"},
	"cad": {Code: "cad", Decimals: 2, Symbol: "CA$"},
	"aud": {Code: "aud", Decimals: 2, Symbol: "A$"},
	"nzd": {Code: "nzd", Decimals: 2, Symbol: "NZ$"},
	"chf": {Code: "chf", Decimals: 2, Symbol: "CHF ", SymbolAfter: false},
	"sek": {Code: "sek", Decimals: 2, Symbol: " kr", SymbolAfter: true},
	"nok": {Code: "nok", Decimals: 2, Symbol: " kr", SymbolAfter: true},
	"dkk": {Code: "dkk", Decimals: 2, Symbol: " kr", SymbolAfter: true},
	"jpy": {Code: "jpy", Decimals: 0, Symbol: "¥"},
	"krw": {Code: "krw", Decimals: 0, Symbol: "₩"},
	"clp": {Code: "clp", Decimals: 0, Symbol: "CLP$"},
}

// LookupCurrency returns what Pledge knows about a currency code, case-insensitively.
func LookupCurrency(code string) (CurrencyInfo, bool) {
	info, ok := currencies[Currency(strings.ToLower(strings.TrimSpace(code)))]
	return info, ok
}

// Decimals returns the number of decimals of c's minor unit (2 for unknown currencies, as for
// most of the world's).
func (c Currency) Decimals() int {
	if info, ok := currencies[c]; ok {
		return info.Decimals
	}
	return 2
}

// Money is an amount in a currency's minor units (cents for usd, yen for jpy).
type Money struct {
	Amount   int64    `json:"amount"`
	Currency Currency `json:"currency"`
}

// Major writes the amount in major units with the currency's decimals and no symbol: "5.00",
// "1234.50", "500" for jpy. This is the export format.
func (m Money) Major() string {
	return FormatMinor(m.Amount, m.Currency.Decimals())
}

// String writes the amount for people: "$5.00", "€10.00", "¥500".
func (m Money) String() string {
	info, ok := currencies[m.Currency]
	if !ok {
		return m.Major() + " " + strings.ToUpper(string(m.Currency))
	}
	if info.SymbolAfter {
		return m.Major() + info.Symbol
	}
	return info.Symbol + m.Major()
}

// Short writes the amount for a button: like String, but whole amounts lose their decimals
// ("$5", "$5.50").
func (m Money) Short() string {
	d := m.Currency.Decimals()
	if d > 0 && m.Amount%pow10(d) == 0 {
		whole := Money{Amount: m.Amount / pow10(d), Currency: m.Currency}
		info, ok := currencies[m.Currency]
		s := strconv.FormatInt(whole.Amount, 10)
		if !ok {
			return s + " " + strings.ToUpper(string(m.Currency))
		}
		if info.SymbolAfter {
			return s + info.Symbol
		}
		return info.Symbol + s
	}
	return m.String()
}

// FormatMinor writes minor units as a decimal string with exactly decimals digits after the point.
func FormatMinor(amount int64, decimals int) string {
	neg := amount < 0
	if neg {
		amount = -amount
	}
	s := strconv.FormatInt(amount, 10)
	if decimals > 0 {
		if len(s) <= decimals {
			s = strings.Repeat("0", decimals-len(s)+1) + s
		}
		s = s[:len(s)-decimals] + "." + s[len(s)-decimals:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

// ParseMinor reads a plain decimal string ("5", "5.5", "5.50") as minor units of a currency with
// the given decimals. It is strict: digits, at most one point, at most decimals digits after it.
// Reader-facing parsing, with its friendlier rules and messages, is ParseAmount.
func ParseMinor(s string, decimals int) (int64, error) {
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" && frac == "" {
		return 0, fmt.Errorf("empty amount")
	}
	if hasPoint && frac == "" {
		frac = ""
	}
	if len(frac) > decimals {
		return 0, fmt.Errorf("too many decimals")
	}
	if !allDigits(whole) || !allDigits(frac) {
		return 0, fmt.Errorf("not a number")
	}
	if len(whole) > 12 {
		return 0, fmt.Errorf("too large")
	}
	var n int64
	if whole != "" {
		w, err := strconv.ParseInt(whole, 10, 64)
		if err != nil {
			return 0, err
		}
		n = w * pow10(decimals)
	}
	if frac != "" {
		f, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return 0, err
		}
		n += f * pow10(decimals-len(frac))
	}
	return n, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
