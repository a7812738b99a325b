package pledge

import (
	"strings"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// Numbers writes numbers for people, one way everywhere on the staff pages (figures, charts,
// tables): in English `1,234.50`, `$1,234.50`, `12.5%`. It is built on golang.org/x/text for a
// language tag, so the staff pages can follow the staff member's language once the catalogues do;
// the zero value is English.
type Numbers struct {
	tag language.Tag
	p   *message.Printer
}

// NewNumbers returns the number format of a language (English when tag is the zero tag).
func NewNumbers(tag language.Tag) Numbers {
	if tag == language.Und {
		tag = language.English
	}
	return Numbers{tag: tag, p: message.NewPrinter(tag)}
}

func (n Numbers) printer() *message.Printer {
	if n.p == nil {
		return message.NewPrinter(language.English)
	}
	return n.p
}

// Int writes a count with thousands grouped: 186,420.
func (n Numbers) Int(v int64) string { return n.printer().Sprint(number.Decimal(v)) }

// Decimal writes an amount in major units with exactly the currency's decimals and no symbol:
// 1,234.50 (the tables' money columns, whose header names the currency).
func (n Numbers) Decimal(m Money) string {
	d := m.Currency.Decimals()
	return n.printer().Sprint(number.Decimal(n.major(m), number.Scale(d)))
}

func (n Numbers) major(m Money) float64 {
	v := float64(m.Amount)
	for range m.Currency.Decimals() {
		v /= 10
	}
	return v
}

// Symbol is the currency's symbol in the language: $, €, £, CA$.
func (n Numbers) Symbol(c Currency) string {
	u, err := currency.ParseISO(string(c))
	if err != nil {
		return c.Upper() + " "
	}
	return n.printer().Sprint(currency.Symbol(u))
}

// Money writes money with its symbol: $1,234.50, -€5.00 (English puts the symbol before the
// number, with no space, and the sign before both).
func (n Numbers) Money(m Money) string {
	abs := m
	sign := ""
	if m.Amount < 0 {
		abs.Amount, sign = -m.Amount, "-"
	}
	tag := n.tag
	if tag == language.Und {
		tag = language.English
	}
	base, _ := tag.Base()
	if b, _ := language.English.Base(); base == b {
		return sign + n.Symbol(m.Currency) + n.Decimal(abs)
	}
	u, err := currency.ParseISO(string(m.Currency))
	if err != nil {
		return sign + n.Decimal(abs) + " " + m.Currency.Upper()
	}
	return n.printer().Sprint(currency.Symbol(u.Amount(n.major(m))))
}

// Percent writes a share (0.1234) as a percentage with the given decimals: 12.3%.
func (n Numbers) Percent(share float64, decimals int) string {
	s := n.printer().Sprint(number.Percent(share, number.Scale(decimals)))
	return strings.TrimSpace(s)
}
