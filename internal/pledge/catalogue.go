package pledge

import (
	"fmt"
	"slices"
)

// Tier is what a reader may give in one currency at one frequency, in minor units.
type Tier struct {
	Presets []int64 // the buttons, in the order shown
	Default int64   // preselected; one of Presets
	Min     int64
	Max     int64
}

// Catalogue is the set of currencies a newsroom offers and, per currency and frequency, the
// amounts the prompt shows and accepts.
type Catalogue struct {
	// Default is the currency shown when neither the reader nor their language picks one.
	Default Currency
	// Currencies lists the offered currencies in the order the currency menu shows them.
	Currencies []Currency
	Tiers      map[Currency]map[Frequency]Tier
}

// DefaultCatalogue is the built-in catalogue: USD, EUR and GBP with the amounts large
// reader-revenue programmes use (DESIGN.md "Money and amounts").
func DefaultCatalogue() Catalogue {
	c := Catalogue{Default: "usd", Tiers: map[Currency]map[Frequency]Tier{}}
	for _, cur := range []Currency{"usd", "eur", "gbp"} {
		c.Currencies = append(c.Currencies, cur)
		c.Tiers[cur] = map[Frequency]Tier{
			Once:    {Presets: []int64{500, 1000, 2500, 5000}, Default: 1000, Min: 200, Max: 1_000_000},
			Monthly: {Presets: []int64{200, 500, 1000, 2000}, Default: 500, Min: 200, Max: 1_000_000},
			Annual:  {Presets: []int64{5000, 10000, 20000}, Default: 10000, Min: 2000, Max: 1_000_000},
		}
	}
	return c
}

// Offers reports whether the catalogue offers cur.
func (c Catalogue) Offers(cur Currency) bool {
	_, ok := c.Tiers[cur]
	return ok
}

// Tier returns the amounts for cur at f; the zero Tier when cur is not offered.
func (c Catalogue) Tier(cur Currency, f Frequency) Tier {
	return c.Tiers[cur][f]
}

// Validate checks the catalogue and names the first field at fault the way the configuration
// file spells it ("currencies.eur.monthly.min").
func (c Catalogue) Validate() error {
	if len(c.Currencies) == 0 {
		return fmt.Errorf("currencies: at least one currency is required")
	}
	for _, cur := range c.Currencies {
		if _, ok := currencies[cur]; !ok {
			return fmt.Errorf("currencies.%s: unknown currency code", cur)
		}
		for _, f := range Frequencies {
			t, ok := c.Tiers[cur][f]
			if !ok {
				return fmt.Errorf("currencies.%s.%s: missing", cur, f)
			}
			if err := t.validate(); err != nil {
				return fmt.Errorf("currencies.%s.%s.%w", cur, f, err)
			}
		}
	}
	if !c.Offers(c.Default) {
		return fmt.Errorf("default_currency: %q is not one of the configured currencies", c.Default)
	}
	return nil
}

func (t Tier) validate() error {
	switch {
	case t.Min <= 0:
		return fmt.Errorf("min: must be more than zero")
	case t.Max < t.Min:
		return fmt.Errorf("max: must not be less than min")
	case len(t.Presets) == 0:
		return fmt.Errorf("presets: at least one amount is required")
	case len(t.Presets) > 6:
		return fmt.Errorf("presets: at most six amounts fit the prompt")
	}
	for _, p := range t.Presets {
		if p < t.Min || p > t.Max {
			return fmt.Errorf("presets: each amount must lie between min and max")
		}
	}
	if !slices.Contains(t.Presets, t.Default) {
		return fmt.Errorf("default: must be one of the presets")
	}
	return nil
}

// Check validates an amount the reader chose (before any fee cover is added) against the tier
// for its currency and frequency, with a message that names the limit in that currency.
func (c Catalogue) Check(f Frequency, m Money) error {
	t, ok := c.Tiers[m.Currency][f]
	if !ok {
		return FieldErrorf("currency", "We don't take %s yet. Please choose another currency.", m.Currency.Upper()).Keyed("error.currency")
	}
	if m.Amount < t.Min {
		return FieldErrorf("amount", "The minimum %s amount is %s.", f.Adverb(), Money{Amount: t.Min, Currency: m.Currency}.Grouped()).
			Keyed("error.amount.min", "frequency", f, "amount", Money{Amount: t.Min, Currency: m.Currency})
	}
	if m.Amount > t.Max {
		return FieldErrorf("amount", "The maximum %s amount is %s.", f.Adverb(), Money{Amount: t.Max, Currency: m.Currency}.Grouped()).
			Keyed("error.amount.max", "frequency", f, "amount", Money{Amount: t.Max, Currency: m.Currency})
	}
	return nil
}

// Upper writes the code in capitals, as people read it ("EUR").
func (c Currency) Upper() string {
	b := []byte(c)
	for i := range b {
		if b[i] >= 'a' && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}
