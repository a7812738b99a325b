package pledge

import (
	"strings"
	"testing"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		name string
		in   string
		cur  Currency
		want int64
		err  string // part of the message, "" for success
	}{
		{"whole", "5", "usd", 500, ""},
		{"one decimal", "5.5", "usd", 550, ""},
		{"two decimals", "5.50", "usd", 550, ""},
		{"spaces", "  12 ", "usd", 1200, ""},
		{"symbol", "$7", "usd", 700, ""},
		{"euro symbol", "€7,50", "eur", 750, ""},
		{"code", "10 EUR", "eur", 1000, ""},
		{"thousands comma", "1,000", "usd", 100000, ""},
		{"thousands and decimals", "1,000.50", "usd", 100050, ""},
		{"millions", "1,000,000", "usd", 100000000, ""},
		{"decimal comma", "5,50", "eur", 550, ""},
		{"decimal comma one digit", "5,5", "eur", 550, ""},
		{"european grouping", "1.000,50", "eur", 100050, ""},
		{"trailing point", "5.", "usd", 500, ""},
		{"leading point", ".5", "usd", 50, ""},
		{"yen whole", "500", "jpy", 500, ""},
		{"yen grouped", "1,000", "jpy", 1000, ""},
		{"yen symbol", "¥1000", "jpy", 1000, ""},
		{"yen decimals", "500.5", "jpy", 0, "without decimals"},
		{"yen decimal comma", "5,50", "jpy", 0, "without decimals"},
		{"empty", "", "usd", 0, "Enter an amount"},
		{"blank", "   ", "usd", 0, "Enter an amount"},
		{"negative", "-5", "usd", 0, "negative"},
		{"negative sign", "\u22125", "usd", 0, "negative"},
		{"too many decimals", "5.505", "usd", 0, "at most 2 decimals"},
		{"three after dot", "1.000", "usd", 0, "at most 2 decimals"},
		{"letters", "five", "usd", 0, "as a number"},
		{"exponent", "1e3", "usd", 0, "as a number"},
		{"two points", "1.2.3", "usd", 0, "as a number"},
		{"bad grouping", "1,00,000", "usd", 0, "as a number"},
		{"lonely comma", ",50", "usd", 0, "as a number"},
		{"mixed wrong order", "1.000.000,5,0", "usd", 0, "as a number"},
		{"huge", "9999999999999", "usd", 0, "as a number"},
		{"plus", "+5", "usd", 0, "as a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAmount(tt.in, tt.cur)
			if tt.err != "" {
				if err == nil {
					t.Fatalf("ParseAmount(%q) = %d, want an error containing %q", tt.in, got, tt.err)
				}
				if !strings.Contains(ErrorMessage(err), tt.err) || ErrorField(err) != "amount" || ErrorCode(err) != EINVALID {
					t.Fatalf("ParseAmount(%q) error = %v (field %q), want %q on amount", tt.in, err, ErrorField(err), tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAmount(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseAmount(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestCatalogueCheck(t *testing.T) {
	c := DefaultCatalogue()
	jpy := Tier{Presets: []int64{500, 1000}, Default: 500, Min: 300, Max: 1_000_000}
	c.Currencies = append(c.Currencies, "jpy")
	c.Tiers["jpy"] = map[Frequency]Tier{Once: jpy, Monthly: jpy, Annual: jpy}
	tests := []struct {
		name string
		f    Frequency
		m    Money
		want string
	}{
		{"monthly minimum", Monthly, Money{200, "usd"}, ""},
		{"below monthly minimum", Monthly, Money{199, "usd"}, "The minimum monthly amount is $2.00."},
		{"below once minimum", Once, Money{100, "gbp"}, "The minimum one-off amount is £2.00."},
		{"below annual minimum", Annual, Money{1999, "eur"}, "The minimum annual amount is €20.00."},
		{"zero", Once, Money{0, "usd"}, "The minimum one-off amount is $2.00."},
		{"maximum", Once, Money{1_000_000, "usd"}, ""},
		{"above maximum", Once, Money{1_000_001, "usd"}, "The maximum one-off amount is $10,000.00."},
		{"yen minimum", Monthly, Money{299, "jpy"}, "The minimum monthly amount is ¥300."},
		{"yen above maximum", Annual, Money{1_000_001, "jpy"}, "The maximum annual amount is ¥1,000,000."},
		{"currency not offered", Once, Money{1000, "sek"}, "We don't take SEK yet."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Check(tt.f, tt.m)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if got := ErrorMessage(err); !strings.HasPrefix(got, tt.want) {
				t.Fatalf("Check message = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCatalogueValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Catalogue)
		want   string
	}{
		{"default is valid", func(*Catalogue) {}, ""},
		{"min zero", func(c *Catalogue) { setTier(c, "eur", Monthly, func(t *Tier) { t.Min = 0 }) }, "currencies.eur.monthly.min"},
		{"max below min", func(c *Catalogue) { setTier(c, "usd", Once, func(t *Tier) { t.Max = 100 }) }, "currencies.usd.once.max"},
		{"preset out of range", func(c *Catalogue) { setTier(c, "gbp", Annual, func(t *Tier) { t.Presets = []int64{100, 10000} }) }, "currencies.gbp.annual.presets"},
		{"default not a preset", func(c *Catalogue) { setTier(c, "usd", Monthly, func(t *Tier) { t.Default = 700 }) }, "currencies.usd.monthly.default"},
		{"unknown currency", func(c *Catalogue) { c.Currencies = append(c.Currencies, "xyz") }, "currencies.xyz"},
		{"default not offered", func(c *Catalogue) { c.Default = "jpy" }, "default_currency"},
		{"none", func(c *Catalogue) { c.Currencies = nil }, "currencies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultCatalogue()
			tt.change(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

func setTier(c *Catalogue, cur Currency, f Frequency, change func(*Tier)) {
	t := c.Tiers[cur][f]
	change(&t)
	c.Tiers[cur][f] = t
}

func TestFeesCover(t *testing.T) {
	f := DefaultSettings().Fees
	tests := []struct {
		m    Money
		want int64
	}{
		{Money{1000, "usd"}, 61},   // (1000+30)/0.971 = 1060.76 -> 1061
		{Money{500, "eur"}, 41},    // (500+25)/0.971 = 540.68 -> 541
		{Money{10000, "gbp"}, 320}, // (10000+20)/0.971 = 10319.26 -> 10320
		{Money{1000, "jpy"}, 30},   // no fixed part configured for jpy: 1000/0.971 = 1029.87 -> 1030
	}
	for _, tt := range tests {
		if got := f.Cover(tt.m); got != tt.want {
			t.Errorf("Cover(%v) = %d, want %d", tt.m, got, tt.want)
		}
		// Check the promise: after the fee, the newsroom keeps at least the gift.
		gross := tt.m.Amount + f.Cover(tt.m)
		fee := (gross*f.BasisPoints+9999)/10000 + f.Fixed[tt.m.Currency]
		if gross-fee < tt.m.Amount-1 {
			t.Errorf("Cover(%v): %d after fees, want at least %d", tt.m, gross-fee, tt.m.Amount)
		}
	}
	f.Enabled = false
	if got := f.Cover(Money{1000, "usd"}); got != 0 {
		t.Errorf("Cover with fees off = %d, want 0", got)
	}
}

func TestMoneyGrouped(t *testing.T) {
	for in, want := range map[Money]string{
		{500, "usd"}:       "$5.00",
		{100000, "usd"}:    "$1,000.00",
		{1_000_000, "eur"}: "€10,000.00",
		{1_000_000, "jpy"}: "¥1,000,000",
		{123, "jpy"}:       "¥123",
	} {
		if got := in.Grouped(); got != want {
			t.Errorf("%v.Grouped() = %q, want %q", in, got, want)
		}
	}
}

func TestCurrencyFor(t *testing.T) {
	c := DefaultCatalogue()
	tests := []struct {
		name, asked, lang string
		want              Currency
	}{
		{"asked", "eur", "en-US", "eur"},
		{"asked in capitals", "GBP", "", "gbp"},
		{"asked but not offered", "jpy", "en-GB,en;q=0.8", "gbp"},
		{"language region", "", "de-DE,de;q=0.9,en;q=0.5", "eur"},
		{"second language", "", "ja-JP,en-GB;q=0.8", "gbp"},
		{"script subtag", "", "zh-Hant-TW, fr-FR;q=0.5", "eur"},
		{"no region", "", "fr,en;q=0.5", "usd"},
		{"nothing", "", "", "usd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.CurrencyFor(tt.asked, tt.lang); got != tt.want {
				t.Fatalf("CurrencyFor(%q, %q) = %q, want %q", tt.asked, tt.lang, got, tt.want)
			}
		})
	}
}

func TestCleanArticle(t *testing.T) {
	long := "https://news.example/"
	for len(long) <= MaxArticle {
		long += "abcdefghij"
	}
	for in, want := range map[string]string{
		// The query string (tracking tails) and fragment go: Stripe's metadata holds 500 characters.
		"https://news.example/a/b?id=3#top": "https://news.example/a/b",
		"https://news.example/a?":           "https://news.example/a",
		long:                                "",
		"javascript:alert(1)":               "",
		"/relative":                         "",
		"https://user:pw@news.example/":     "",
		"http://news.example/x":             "http://news.example/x",
	} {
		if got := CleanArticle(in); got != want {
			t.Errorf("CleanArticle(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestArticleFromOrigins(t *testing.T) {
	origins := []string{"https://news.example", "http://blog.example:8080"}
	for in, want := range map[string]string{
		"https://news.example/a#top":                 "https://news.example/a",
		"https://NEWS.example/a":                     "https://NEWS.example/a",
		"http://blog.example:8080/post":              "http://blog.example:8080/post",
		"http://blog.example/post":                   "",
		"http://news.example/a":                      "",
		"https://news.example.evil.test/a":           "",
		"https://evil.example/?https://news.example": "",
		"javascript:alert(1)":                        "",
		"//news.example/a":                           "",
		"https://news.example":                       "https://news.example",
		"https://news.example?x=/a":                  "https://news.example",
		"https://news.example@evil.example/a":        "",
		"https://evil.example/https://news.example":  "",
	} {
		if got := ArticleFromOrigins(in, origins); got != want {
			t.Errorf("ArticleFromOrigins(%q) = %q, want %q", in, got, want)
		}
	}
	if got := ArticleFromOrigins("https://news.example/a", nil); got != "" {
		t.Errorf("no origins configured kept %q", got)
	}
}
