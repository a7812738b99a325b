package locale

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pledge-news/pledge/internal/pledge"
)

func mustLoad(t *testing.T, opts Options) *Set {
	t.Helper()
	s, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// german is a test catalogue: English words with German number rules.
func german() Messages {
	m := Builtin("en")
	m["meta.money"] = "{amount}\u00a0{symbol}"
	return m
}

func TestMoneyFollowsTheLanguage(t *testing.T) {
	s := mustLoad(t, Options{Overrides: map[string]Messages{"de": german()}})
	for _, tt := range []struct {
		lang string
		m    pledge.Money
		want string
	}{
		{"en", pledge.Money{Amount: 200, Currency: "usd"}, "$2.00"},
		{"en", pledge.Money{Amount: 123456, Currency: "eur"}, "€1,234.56"},
		{"ru", pledge.Money{Amount: 200, Currency: "eur"}, "2,00\u00a0€"},
		{"ru", pledge.Money{Amount: 123456, Currency: "usd"}, "1\u00a0234,56\u00a0$"},
		{"de", pledge.Money{Amount: 200, Currency: "eur"}, "2,00\u00a0€"},
		{"de", pledge.Money{Amount: 123456, Currency: "eur"}, "1.234,56\u00a0€"},
		{"en", pledge.Money{Amount: 5000, Currency: "jpy"}, "¥5,000"},
		{"en", pledge.Money{Amount: 10000, Currency: "sek"}, "100.00\u00a0kr"},
	} {
		t.Run(tt.lang+" "+tt.want, func(t *testing.T) {
			if got := s.Get(tt.lang).Money(tt.m); got != tt.want {
				t.Errorf("Money = %q, want %q", got, tt.want)
			}
		})
	}
	if got, want := s.Get("ru").Short(pledge.Money{Amount: 500, Currency: "usd"}), "5\u00a0$"; got != want {
		t.Errorf("Short = %q, want %q", got, want)
	}
}

func TestPlurals(t *testing.T) {
	s := mustLoad(t, Options{})
	ru := s.Get("ru")
	for n, want := range map[int]string{1: "1 месяц.", 2: "2 месяца.", 5: "5 месяцев.", 21: "21 месяц.", 12: "12 месяцев."} {
		if got := ru.N("remind.done_never", n); !strings.HasSuffix(got, want) {
			t.Errorf("N(%d) = %q, want it to end %q", n, got, want)
		}
	}
	if got := s.Get("en").N("remind.done_never", 1); !strings.HasSuffix(got, "1 month.") {
		t.Errorf("en N(1) = %q", got)
	}
}

func TestPick(t *testing.T) {
	s := mustLoad(t, Options{})
	for _, tt := range []struct {
		name, accept string
		asked        []string
		want         string
	}{
		{"data-lang wins", "en", []string{"ru", "en"}, "ru"},
		{"page lang with region", "", []string{"", "ru-RU"}, "ru"},
		{"accept-language", "de-DE,ru;q=0.8,en;q=0.5", nil, "ru"},
		{"unknown falls back", "fr-FR", []string{"xx-invalid-"}, "en"},
		{"nothing", "", nil, "en"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Pick(tt.accept, tt.asked...).Code; got != tt.want {
				t.Errorf("Pick = %q, want %q", got, tt.want)
			}
		})
	}
	if got := mustLoad(t, Options{Default: "ru"}).Pick("fr").Code; got != "ru" {
		t.Errorf("configured default: %q", got)
	}
}

func TestLoadNamesAMissingKey(t *testing.T) {
	uk := Builtin("ru")
	delete(uk, "continue.monthly")
	_, err := Load(Options{Overrides: map[string]Messages{"uk": uk}})
	if err == nil || !strings.Contains(err.Error(), `messages.uk: missing key "continue.monthly"`) {
		t.Fatalf("err = %v, want the language and key named", err)
	}
	_, err = Load(Options{Overrides: map[string]Messages{"en": {"continue.monthy": "x"}}})
	if err == nil || !strings.Contains(err.Error(), `unknown key "continue.monthy"`) {
		t.Fatalf("err = %v, want the unknown key named", err)
	}
	if _, err := Load(Options{Default: "fr"}); err == nil {
		t.Fatal("a default language without a catalogue was accepted")
	}
}

func TestBuiltinCataloguesAreComplete(t *testing.T) {
	s := mustLoad(t, Options{})
	for _, c := range s.Languages() {
		if c.Dir() != "ltr" {
			t.Errorf("%s: dir %s", c.Code, c.Dir())
		}
	}
	rtl := Builtin("en")
	delete(rtl, "meta.dir")
	if mustLoad(t, Options{Overrides: map[string]Messages{"ar": rtl}}).Get("ar").Dir() != "rtl" {
		t.Error("Arabic is not right to left")
	}
}

func TestErrorsInTheReadersLanguage(t *testing.T) {
	s := mustLoad(t, Options{})
	cat := pledge.DefaultCatalogue()
	err := cat.Check(pledge.Monthly, pledge.Money{Amount: 1, Currency: "eur"})
	if got, want := s.Get("ru").Error(err), "Минимальная ежемесячная сумма — 2,00\u00a0€."; got != want {
		t.Errorf("ru = %q, want %q", got, want)
	}
	if got, want := s.Get("en").Error(err), "The minimum monthly amount is €2.00."; got != want {
		t.Errorf("en = %q, want %q", got, want)
	}
	if got := s.Get("ru").Error(errors.New("disk on fire")); strings.Contains(got, "disk") {
		t.Errorf("internal error shown: %q", got)
	}
}

func TestStripeLocale(t *testing.T) {
	s := mustLoad(t, Options{Overrides: map[string]Messages{"pt-BR": Builtin("en"), "ar": Builtin("en")}})
	for code, want := range map[string]string{"en": "en", "ru": "ru", "pt-BR": "pt-BR", "ar": "auto"} {
		if got := s.Get(code).Stripe(); got != want {
			t.Errorf("%s: %q, want %q", code, got, want)
		}
	}
}

// TestFillAsAReplacer checks fill against strings.Replacer, which it replaced, on messages made
// of braces, names and text in every order.
func TestFillAsAReplacer(t *testing.T) {
	parts := []string{"{", "}", "{n}", "{amount}", "{x}", "n", "amount", "a ", "{{n}}", "{amount", "}{n}", "é"}
	args := []string{"n", "5", "amount", "{n}", "n", "ignored"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		var s strings.Builder
		for range rng.IntN(8) {
			s.WriteString(parts[rng.IntN(len(parts))])
		}
		var pairs []string
		for i := 0; i+1 < len(args); i += 2 {
			pairs = append(pairs, "{"+args[i]+"}", args[i+1])
		}
		want := strings.NewReplacer(pairs...).Replace(s.String())
		if got := fill(s.String(), args); got != want {
			t.Fatalf("fill(%q) = %q, want %q", s.String(), got, want)
		}
	}
}
