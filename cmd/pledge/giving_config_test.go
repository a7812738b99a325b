package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/server"
)

const exampleGivingConfig = `
organisation: The Riverside Ledger
heading: Keep the Ledger independent
message: We are funded by our readers.
default_currency: eur
default_frequency: annual
cover_fees:
  enabled: true
  percent: 1.5
  fixed: {eur: "0.25", jpy: 40}
currencies:
  eur:
    once:    {presets: [5, 10, 25, 50], default: 10, min: 2, max: 10000}
    monthly: {presets: [3, 6, 12], default: 6, min: 2.50, max: 1000}
    annual:  {presets: [60, 120], default: 60, min: 20, max: 10000}
  jpy:
    once:    {presets: [500, 1000, 3000], default: 1000, min: 300, max: 1000000}
    monthly: {presets: [500, 1000], default: 500, min: 300, max: 100000}
    annual:  {presets: [5000, 10000], default: 5000, min: 3000, max: 1000000}
`

func TestLoadGivingSettings(t *testing.T) {
	st, err := LoadGivingSettings(writeTemp(t, exampleGivingConfig))
	if err != nil {
		t.Fatal(err)
	}
	if st.Org != "The Riverside Ledger" || st.Heading != "Keep the Ledger independent" ||
		st.DefaultFrequency != pledge.Annual || st.Catalogue.Default != "eur" {
		t.Fatalf("settings = %+v", st)
	}
	if got := strings.Join([]string{string(st.Catalogue.Currencies[0]), string(st.Catalogue.Currencies[1])}, ","); got != "eur,jpy" || len(st.Catalogue.Currencies) != 2 {
		t.Fatalf("currencies %v, want eur,jpy in the file's order", st.Catalogue.Currencies)
	}
	if tier := st.Catalogue.Tier("eur", pledge.Monthly); tier.Min != 250 || tier.Default != 600 || len(tier.Presets) != 3 {
		t.Fatalf("eur monthly = %+v", tier)
	}
	if tier := st.Catalogue.Tier("jpy", pledge.Once); tier.Min != 300 || tier.Max != 1000000 || tier.Presets[2] != 3000 {
		t.Fatalf("jpy once = %+v (zero-decimal amounts must not be multiplied)", tier)
	}
	if st.Fees.BasisPoints != 150 || st.Fees.Fixed["eur"] != 25 || st.Fees.Fixed["jpy"] != 40 {
		t.Fatalf("fees = %+v", st.Fees)
	}
	goals, err := LoadGivingSettings(writeTemp(t, "goals:\n  monthly_money: {usd: \"5,000\", eur: 1200.50}\n  recurring_supporters: 800\n"))
	if err != nil || goals.Goals.MonthlyMoney["usd"] != 500000 || goals.Goals.MonthlyMoney["eur"] != 120050 ||
		goals.Goals.RecurringSupporters != 800 {
		t.Fatalf("goals = %+v, %v", goals.Goals, err)
	}
	if def, err := LoadGivingSettings(""); err != nil || def.Org != pledge.DefaultSettings().Org {
		t.Fatalf("no file: %+v, %v", def.Org, err)
	}
	if _, err := LoadGivingSettings(writeTemp(t, "")); err != nil {
		t.Fatalf("an empty file: %v", err)
	}
}

func TestLoadGivingSettingsErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown field", "organization: typo\n", "organization"},
		{"min above max", strings.Replace(exampleGivingConfig, "min: 2.50, max: 1000", "min: 2000, max: 1000", 1), "currencies.eur.monthly.max"},
		{"default not a preset", strings.Replace(exampleGivingConfig, "default: 6,", "default: 7,", 1), "currencies.eur.monthly.default"},
		{"yen with decimals", strings.Replace(exampleGivingConfig, "min: 300, max: 100000}", "min: 300.5, max: 100000}", 1), "currencies.jpy.monthly.min"},
		{"not an amount", strings.Replace(exampleGivingConfig, "[5, 10, 25, 50]", "[5, ten, 25, 50]", 1), "currencies.eur.once.presets[1]"},
		{"unknown currency", "currencies:\n  xyz: {}\n", "currencies.xyz"},
		{"missing frequency", "currencies:\n  usd:\n    once: {presets: [5], default: 5, min: 2, max: 10}\n", "currencies.usd.monthly"},
		{"unknown tier field", "currencies:\n  usd:\n    once: {presets: [5], default: 5, min: 2, max: 10, maximum: 3}\n", "currencies.usd"},
		{"default currency not offered", strings.Replace(exampleGivingConfig, "default_currency: eur", "default_currency: usd", 1), "default_currency"},
		{"bad percent", "cover_fees: {percent: lots}\n", "cover_fees.percent"},
		{"bad frequency", "default_frequency: weekly\n", "default_frequency"},
		{"empty organisation", "organisation: \"\"\n", "organisation"},
		{"view cap lives in the environment", "view_cap: 3\n", "view_cap"},
		{"address without legal name", "address: 1 Quay Street\n", "legal_name"},
		{"newsletter not a URL", "newsletter: {url: news.example}\n", "newsletter.url"},
		{"unknown newsletter field", "newsletter: {link: https://news.example}\n", "link"},
		{"goal not an amount", "goals: {monthly_money: {usd: lots}}\n", "goals.monthly_money.usd"},
		{"goal in an unknown currency", "goals: {monthly_money: {xyz: 5}}\n", "goals.monthly_money.xyz"},
		{"negative supporters goal", "goals: {recurring_supporters: -3}\n", "goals.recurring_supporters"},
		{"unknown goal", "goals: {weekly_money: 5}\n", "weekly_money"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadGivingSettings(writeTemp(t, tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestConfigValidateReadsGivingFile(t *testing.T) {
	env := map[string]string{"PLEDGE_DEMO": "1", "PLEDGE_CONFIG": writeTemp(t, "default_frequency: weekly\n")}
	cfg := ConfigFromEnv(func(k string) string { return env[k] })
	var ce *ConfigError
	if err := cfg.Validate(); !errors.As(err, &ce) || ce.Var != "PLEDGE_CONFIG" || !strings.Contains(ce.Msg, "default_frequency") {
		t.Fatalf("Validate() = %v, want a PLEDGE_CONFIG error naming default_frequency", err)
	}
	env["PLEDGE_CONFIG"] = filepath.Join(t.TempDir(), "missing.yaml")
	cfg = ConfigFromEnv(func(k string) string { return env[k] })
	if err := cfg.Validate(); !errors.As(err, &ce) || ce.Var != "PLEDGE_CONFIG" {
		t.Fatalf("missing file: %v", err)
	}
	env["PLEDGE_CONFIG"] = writeTemp(t, exampleGivingConfig)
	cfg = ConfigFromEnv(func(k string) string { return env[k] })
	if err := cfg.Validate(); err != nil || cfg.giving.Org != "The Riverside Ledger" {
		t.Fatalf("Validate() = %v, org %q", err, cfg.giving.Org)
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pledge.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// docs/giving.md's example file is the one a newsroom will copy: it must load.
func TestDocGivingExampleLoads(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "giving.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## The PLEDGE_CONFIG file\n")
	if !ok {
		t.Fatal("docs/giving.md has no PLEDGE_CONFIG section")
	}
	_, rest, ok := strings.Cut(section, "```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/giving.md's PLEDGE_CONFIG section has no yaml example")
	}
	st, err := LoadGivingSettings(writeTemp(t, example))
	if err != nil {
		t.Fatalf("docs/giving.md example: %v", err)
	}
	if st.Org == pledge.DefaultSettings().Org || len(st.Catalogue.Currencies) == 0 {
		t.Fatalf("docs/giving.md example configured nothing: %+v", st)
	}
}

func TestExampleLetterLoads(t *testing.T) {
	st, err := LoadGivingSettings(filepath.Join("..", "..", "examples", "moscow-times.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.Message, "refuse to be silenced") || st.Ask[pledge.Monthly] == "" || st.Highlight[pledge.Monthly] != "10" {
		t.Fatalf("letter not read: %+v", st)
	}
	if _, ok := st.Messages["ru"]["letter.message"]; !ok {
		t.Fatal("the Russian letter was not read")
	}
}

func TestConfigMessagesMissingKeyFailsNamingIt(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pledge.yaml")
	// A new language must be complete: this one has a single key.
	if err := os.WriteFile(p, []byte("messages:\n  uk:\n    continue.plain: Далі\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadGivingSettings(p)
	if err == nil || !strings.Contains(err.Error(), "messages.uk: missing key") {
		t.Fatalf("err = %v, want the language and a missing key named", err)
	}
}

func TestGivingConfigProtect(t *testing.T) {
	st := pledge.DefaultSettings()
	if err := applyGivingFile(&st, []byte("protect:\n  mail_from: Notes <no-reply@mail.example>\n  subject: Your update\n  statement_suffix: READER SVC\n  quiet_after_gift: none\n")); err != nil {
		t.Fatal(err)
	}
	if p := st.Protect; p.MailFrom != "Notes <no-reply@mail.example>" || p.Subject != "Your update" || p.StatementSuffix != "READER SVC" || p.QuietAfterGift != "none" {
		t.Fatalf("protect = %+v", p)
	}
	for _, bad := range []string{
		"protect:\n  statement_suffix: \"<script>\"\n",
		"protect:\n  statement_suffix: 12345\n",
		"protect:\n  statement_suffix: A VERY LONG SUFFIX INDEED\n",
		"protect:\n  mail_from: nobody\n",
		"protect:\n  quiet_after_gift: forever\n",
	} {
		st := pledge.DefaultSettings()
		if err := applyGivingFile(&st, []byte(bad)); err == nil || !strings.Contains(err.Error(), "protect.") {
			t.Errorf("%q: %v, want an error naming the protect field", bad, err)
		}
	}
}

// newsletter: a plain link (url), or an opt-in checkbox (opt_in, with an optional wording that
// becomes every language's newsletter.consent); mistakes name the field.
func TestConfigNewsletter(t *testing.T) {
	dir := t.TempDir()
	load := func(yaml string) (pledge.Settings, error) {
		p := filepath.Join(dir, "pledge.yaml")
		if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return LoadGivingSettings(p)
	}
	st, err := load("newsletter:\n  opt_in: true\n  wording: Send me the Ledger's weekly newsletter.\n")
	if err != nil || !st.NewsletterOptIn || st.NewsletterURL != "" || st.NewsletterWording != "Send me the Ledger's weekly newsletter." {
		t.Fatalf("opt-in: %+v %v", st, err)
	}
	langs, err := server.LoadLanguages(st)
	if err != nil || langs.Get("ru").T("newsletter.consent") != st.NewsletterWording {
		t.Fatalf("the wording is not every language's: %v", err)
	}
	if st, err = load("newsletter:\n  url: https://news.example/nl\n  opt_in: true\n"); err != nil || !st.NewsletterOptIn ||
		st.NewsletterURL != "https://news.example/nl" || st.NewsletterWording != "" {
		t.Fatalf("opt-in with a page: %+v %v", st, err)
	}
	for yaml, want := range map[string]string{
		"newsletter:\n  opt_in: false\n":                                             "newsletter.url: required unless opt_in is true",
		"newsletter:\n  url: ftp://x\n  opt_in: true\n":                              "newsletter.url: \"ftp://x\" is not an http(s) URL",
		"newsletter:\n  url: https://news.example/nl\n  wording: Hi\n":               "newsletter.wording: only with opt_in: true",
		"newsletter:\n  opt_in: true\n  wording: \" \"\n":                            "newsletter.wording: must not be empty",
		"newsletter:\n  opt_in: true\n  wording: " + strings.Repeat("x", 501) + "\n": "newsletter.wording: at most 500 characters",
		"newsletter:\n  opt_in: yes please\n":                                        "opt_in",
	} {
		if _, err := load(yaml); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", yaml, err, want)
		}
	}
}
