package pledge

import "strings"

// regionCurrencies maps ISO 3166 regions to the currency people there pay in, for the
// currencies Pledge can format.
var regionCurrencies = map[string]Currency{
	"US": "usd", "GB": "gbp", "JP": "jpy", "CA": "cad", "AU": "aud", "NZ": "nzd", "CH": "chf",
	"LI": "chf", "SE": "sek", "NO": "nok", "DK": "dkk", "KR": "krw", "CL": "clp",
	"AT": "eur", "BE": "eur", "CY": "eur", "DE": "eur", "EE": "eur", "ES": "eur", "FI": "eur",
	"FR": "eur", "GR": "eur", "HR": "eur", "IE": "eur", "IT": "eur", "LT": "eur", "LU": "eur",
	"LV": "eur", "MT": "eur", "NL": "eur", "PT": "eur", "SK": "eur", "SI": "eur",
}

// CurrencyFor picks the reader's currency: the one asked for when offered, else the first
// Accept-Language region whose currency is offered, else the catalogue's default.
func (c Catalogue) CurrencyFor(asked, acceptLanguage string) Currency {
	if cur := Currency(strings.ToLower(asked)); c.Offers(cur) {
		return cur
	}
	for len(acceptLanguage) > 0 {
		var tag string
		tag, acceptLanguage, _ = strings.Cut(acceptLanguage, ",")
		tag, _, _ = strings.Cut(tag, ";")
		tag = strings.TrimSpace(tag)
		// The region is the last two-letter subtag after the language: en-GB, zh-Hant-TW.
		for i := strings.LastIndexAny(tag, "-_"); i > 0; i = -1 {
			if region := strings.ToUpper(tag[i+1:]); len(region) == 2 {
				if cur, ok := regionCurrencies[region]; ok && c.Offers(cur) {
					return cur
				}
			}
		}
	}
	return c.Default
}
