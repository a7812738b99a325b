package pledge

import (
	"strings"
	"testing"
)

// FuzzParseAmount: whatever a reader types in "Other amount", in any currency code, the parser
// never panics, and an accepted amount is not negative (the catalogue's Check refuses zero) and
// reads back the same from its own formatting in an offered currency.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"5", "5.5", "$5", " 5 ", "1,000", "1,000.50", "5,50", "1.000,50", "5.505", "1.000.000", "-5", "abc", "", "５", "1e3", "10000.01"} {
		f.Add(s, "usd")
	}
	f.Add("500", "jpy")
	f.Add("5.5", "jpy")
	f.Fuzz(func(t *testing.T, s, cur string) {
		c := Currency(cur)
		v, err := ParseAmount(s, c)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("ParseAmount(%q, %q) failed with code %q, want EINVALID: %v", s, cur, ErrorCode(err), err)
			}
			return
		}
		if v < 0 {
			t.Fatalf("ParseAmount(%q, %q) = %d, negative", s, cur, v)
		}
		if _, ok := currencies[c]; !ok {
			return // an unknown code never gets this far in Validate; its symbol rules are moot
		}
		if back, err := ParseAmount(FormatMinor(v, c.Decimals()), c); err != nil || back != v {
			t.Fatalf("ParseAmount(%q, %q) = %d, but its formatting reads back as %d, %v", s, cur, v, back, err)
		}
	})
}

// FuzzGiftChoice is the donate form's decoding: any fields never panic; a choice that validates
// names an offered currency, a frequency, and an amount inside the catalogue's bounds; one that
// does not is an EINVALID error naming a field.
func FuzzGiftChoice(f *testing.F) {
	f.Add("once", "usd", "10", "", "0123456789abcdef0123456789abcdef", "https://news.example/a")
	f.Add("monthly", "EUR", "", "5,50", "0123456789abcdef0123456789abcdef", "")
	f.Add("annual", "gbp", "", "1,000", "nonce", "javascript:alert(1)")
	f.Add("weekly", "xxx", "-1", "1e9", "", "")
	g := &Giving{Settings: DefaultSettings()}
	f.Fuzz(func(t *testing.T, freq, cur, amount, other, nonce, article string) {
		co, err := g.Validate(GiftChoice{Frequency: freq, Currency: cur, Amount: amount, Other: other, Nonce: nonce, Article: article})
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("Validate failed with code %q, want EINVALID: %v", ErrorCode(err), err)
			}
			return
		}
		tier := g.Settings.Catalogue.Tier(co.Amount.Currency, co.Frequency)
		if !g.Settings.Catalogue.Offers(co.Amount.Currency) || co.Amount.Amount < tier.Min || co.Amount.Amount > tier.Max {
			t.Fatalf("Validate accepted %v %s (tier %d-%d)", co.Amount, co.Frequency, tier.Min, tier.Max)
		}
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(co.Article)), "javascript:") {
			t.Fatalf("Validate kept a script URL as the article: %q", co.Article)
		}
	})
}

// FuzzDeferRequest is the remind form's decoding: any fields never panic, and an accepted
// request with an address has a well-formed one and consent.
func FuzzDeferRequest(f *testing.F) {
	f.Add("week", "reader@example.com", true, "https://news.example/a", "monthly", true)
	f.Add("never", "x@y", false, "", "", false)
	f.Add("month", "\"Name\" <a@b.example>", true, "", "weekly", true)
	f.Fuzz(func(t *testing.T, choice, email string, consent bool, article, freq string, mail bool) {
		d, err := DeferRequest{ReaderID: "rd_1", Choice: choice, Email: email, Consent: consent, Article: article,
			Frequency: freq, MailEnabled: mail}.Validate()
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("Validate failed with code %q, want EINVALID: %v", ErrorCode(err), err)
			}
			return
		}
		if d.Email != "" && (!consent || !mail || !strings.Contains(d.Email, "@")) {
			t.Fatalf("kept address %q (consent %v, mail %v)", d.Email, consent, mail)
		}
		if len(d.Article) > 2048 {
			t.Fatalf("kept an article of %d bytes", len(d.Article))
		}
	})
}

// BenchmarkParseAmount is the reader-facing amount parser on a grouped amount.
func BenchmarkParseAmount(b *testing.B) {
	for b.Loop() {
		if _, err := ParseAmount("1,000.50", "usd"); err != nil {
			b.Fatal(err)
		}
	}
}
