package locale

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/number"

	"github.com/pledge-news/pledge/internal/pledge"
)

// Number writes minor units with the given decimals as the language writes numbers: its decimal
// sign, its grouping ("1,234.50" in English, "1 234,50" in Russian, "1.234,50" in German).
func (c *Catalogue) Number(minor int64, decimals int) string {
	return c.printer.Sprint(number.Decimal(minorFloat(minor, decimals), number.Scale(decimals)))
}

func minorFloat(minor int64, decimals int) float64 {
	f := float64(minor)
	for range decimals {
		f /= 10
	}
	return f
}

// Money writes an amount with its currency as the language does: "$2.00" in English, "2,00 €"
// in Russian. x/text gives the CLDR digits, decimal sign and grouping; where the symbol goes is
// the catalogue's meta.money pattern, since x/text does not expose CLDR's currency patterns.
// Currencies whose symbol always follows the number (kr) keep it after.
func (c *Catalogue) Money(m pledge.Money) string {
	return c.money(m, m.Currency.Decimals())
}

// Short writes an amount for a button: like Money, but a whole amount loses its decimals ("$5",
// "5 €").
func (c *Catalogue) Short(m pledge.Money) string {
	d := m.Currency.Decimals()
	p := int64(1)
	for range d {
		p *= 10
	}
	if m.Amount%p == 0 {
		return c.money(pledge.Money{Amount: m.Amount / p, Currency: m.Currency}, 0)
	}
	return c.money(m, d)
}

func (c *Catalogue) money(m pledge.Money, decimals int) string {
	amount := c.Number(m.Amount, decimals)
	info, ok := pledge.LookupCurrency(string(m.Currency))
	if !ok {
		return amount + "\u00a0" + m.Currency.Upper()
	}
	symbol := strings.TrimSpace(info.Symbol)
	if info.SymbolAfter {
		return amount + "\u00a0" + symbol
	}
	return fill(c.msgs[keyMoney].plain, []string{"amount", amount, "symbol", symbol})
}

// MoneyPattern returns the language's money pattern for scripts that format amounts themselves
// (prompt.js): the pattern, the decimal sign and the group separator.
func (c *Catalogue) MoneyPattern() (pattern, decimal, group string) {
	s := c.Number(123456789, 2) // "1,234,567.89"
	decimal = string([]rune(s)[len([]rune(s))-3])
	r := []rune(s)
	for i, ch := range r {
		if ch < '0' || ch > '9' {
			if i < len(r)-3 {
				group = string(ch)
			}
			break
		}
	}
	return c.msgs[keyMoney].plain, decimal, group
}

// StripeLocales are the locales Stripe Checkout accepts (API 2023-10-16, stripe-go v76, and
// stripe-mock's specification).
var StripeLocales = []string{"bg", "cs", "da", "de", "el", "en", "en-GB", "es", "es-419", "et", "fi",
	"fil", "fr", "fr-CA", "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl", "pl",
	"pt", "pt-BR", "ro", "ru", "sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW"}

// Stripe is the locale to open Stripe Checkout in for this language: the language itself when
// Stripe has it, else its base language, else "auto" (the browser's).
func (c *Catalogue) Stripe() string {
	for _, l := range StripeLocales {
		if strings.EqualFold(l, c.Code) {
			return l
		}
	}
	base, _ := c.Tag.Base()
	for _, l := range StripeLocales {
		if l == base.String() {
			return l
		}
	}
	return "auto"
}

// Error writes a domain error for a reader in this language: its catalogue message when it has
// one, else its English message (internal errors: a neutral sentence, never their text).
func (c *Catalogue) Error(err error) string {
	var e *pledge.Error
	if err == nil {
		return ""
	}
	if !errors.As(err, &e) {
		return c.T("error.internal")
	}
	if e.Key == "" || !c.Has(e.Key) {
		return e.Message
	}
	var args []string
	n := -1
	for i := 0; i+1 < len(e.Args); i += 2 {
		name, _ := e.Args[i].(string)
		var v string
		switch a := e.Args[i+1].(type) {
		case string:
			v = a
		case pledge.Money:
			v = c.Money(a)
		case pledge.Frequency:
			v = c.T("frequency.adverb." + string(a))
		case int:
			v, n = c.Number(int64(a), 0), a
		default:
			v = fmt.Sprint(a)
		}
		args = append(args, name, v)
	}
	if n >= 0 {
		return c.N(e.Key, n, args...)
	}
	return c.T(e.Key, args...)
}

// Date writes a day as the language does: "2 January 2026", "2 января 2026 г.".
func (c *Catalogue) Date(t time.Time) string {
	return c.T("date.format", "day", strconv.Itoa(t.Day()), "month", c.T("month."+strconv.Itoa(int(t.Month()))),
		"year", strconv.Itoa(t.Year()))
}
