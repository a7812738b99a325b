package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	netmail "net/mail"
	"net/url"
	"os"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/server"
)

// givingFile is the PLEDGE_CONFIG file. Every field is optional; what is left out keeps its
// built-in default. Amounts are written in major units ("2.50", 10), as a reader would.
type givingFile struct {
	Organisation     *string `yaml:"organisation"`
	promptWords      `yaml:",inline"`
	DefaultLanguage  *string                   `yaml:"default_language"`
	Messages         map[string]map[string]any `yaml:"messages"`
	DefaultCurrency  *string                   `yaml:"default_currency"`
	DefaultFrequency *string                   `yaml:"default_frequency"`
	CoverFees        *coverFeesFile            `yaml:"cover_fees"`
	LegalName        *string                   `yaml:"legal_name"`
	Address          *string                   `yaml:"address"`
	Newsletter       *struct {
		URL     string    `yaml:"url"`
		OptIn   yaml.Node `yaml:"opt_in"`
		Wording *string   `yaml:"wording"`
	} `yaml:"newsletter"`
	Currencies yaml.Node `yaml:"currencies"`
	// Experiments are read by loadConfigFile (experiments_config.go), against these settings.
	Experiments yaml.Node    `yaml:"experiments"`
	Goals       *goalsFile   `yaml:"goals"`
	Protect     *protectFile `yaml:"protect"`
}

// goalsFile is the staff dashboard's monthly targets: money (net, in the settlement currency,
// major units) and recurring supporters.
type goalsFile struct {
	MonthlyMoney        map[string]string `yaml:"monthly_money"`
	RecurringSupporters *int              `yaml:"recurring_supporters"`
}

// protectFile is the protect block: protective mode's neutral e-mail sender and subject, the
// card statement's suffix, and how the prompt stays quiet after a gift.
type protectFile struct {
	MailFrom        *string `yaml:"mail_from"`
	Subject         *string `yaml:"subject"`
	StatementSuffix *string `yaml:"statement_suffix"`
	QuietAfterGift  *string `yaml:"quiet_after_gift"`
}

type coverFeesFile struct {
	Enabled *bool             `yaml:"enabled"`
	Percent *string           `yaml:"percent"`
	Fixed   map[string]string `yaml:"fixed"`
}

type tierSet struct {
	Once    *tierFile `yaml:"once"`
	Monthly *tierFile `yaml:"monthly"`
	Annual  *tierFile `yaml:"annual"`
}

type tierFile struct {
	Presets []string `yaml:"presets"`
	Default string   `yaml:"default"`
	Min     string   `yaml:"min"`
	Max     string   `yaml:"max"`
}

// LoadGivingSettings reads the PLEDGE_CONFIG file over the built-in settings and validates the
// result; errors name the field at fault ("currencies.eur.monthly.min: ..."). An empty path
// returns the defaults.
func LoadGivingSettings(path string) (pledge.Settings, error) {
	st := pledge.DefaultSettings()
	if path == "" {
		return st, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return st, fmt.Errorf("cannot read %s", path)
	}
	if err := applyGivingFile(&st, b); err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

func applyGivingFile(st *pledge.Settings, b []byte) error {
	var f givingFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = strings.TrimSpace(*src)
		}
	}
	set(&st.Org, f.Organisation)
	set(&st.Heading, f.Heading)
	set(&st.Message, f.Message)
	set(&st.Signoff, f.Signoff)
	set(&st.DefaultLanguage, f.DefaultLanguage)
	if pf := f.Protect; pf != nil {
		set(&st.Protect.MailFrom, pf.MailFrom)
		set(&st.Protect.Subject, pf.Subject)
		set(&st.Protect.StatementSuffix, pf.StatementSuffix)
		set(&st.Protect.QuietAfterGift, pf.QuietAfterGift)
		if err := validateProtect(st.Protect); err != nil {
			return err
		}
	}
	if err := f.byFrequency(&st.Ask, &st.Highlight); err != nil {
		return err
	}
	if f.Messages != nil {
		st.Messages = f.Messages
	}
	set(&st.LegalName, f.LegalName)
	set(&st.Address, f.Address)
	if len(st.LegalName) > 200 {
		return errors.New("legal_name: at most 200 characters")
	}
	if len(st.Address) > 500 {
		return errors.New("address: at most 500 characters")
	}
	if st.Address != "" && st.LegalName == "" {
		return errors.New("legal_name: required when address is set (statements print both)")
	}
	if n := f.Newsletter; n != nil {
		var optIn bool
		if n.OptIn.Kind != 0 {
			if err := n.OptIn.Decode(&optIn); err != nil {
				return errors.New("newsletter.opt_in: true or false")
			}
		}
		if strings.TrimSpace(n.URL) != "" || !optIn {
			u, err := url.Parse(strings.TrimSpace(n.URL))
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				if strings.TrimSpace(n.URL) == "" {
					return errors.New("newsletter.url: required unless opt_in is true (the newsletter's sign-up page, such as https://news.example/newsletter)")
				}
				return fmt.Errorf("newsletter.url: %q is not an http(s) URL such as https://news.example/newsletter", n.URL)
			}
			st.NewsletterURL = u.String()
		}
		st.NewsletterOptIn = optIn
		if n.Wording != nil {
			w := strings.TrimSpace(*n.Wording)
			switch {
			case !optIn:
				return errors.New("newsletter.wording: only with opt_in: true (a plain link records no consent)")
			case w == "":
				return errors.New("newsletter.wording: must not be empty (leave it out for the built-in wording)")
			case len(w) > 500:
				return errors.New("newsletter.wording: at most 500 characters")
			}
			st.NewsletterWording = w
		}
	}
	if f.DefaultFrequency != nil {
		st.DefaultFrequency = pledge.Frequency(strings.TrimSpace(*f.DefaultFrequency))
	}
	if f.Currencies.Kind != 0 {
		cat, err := catalogueFromNode(&f.Currencies)
		if err != nil {
			return err
		}
		cat.Default = cat.Currencies[0]
		st.Catalogue = cat
	}
	if f.DefaultCurrency != nil {
		st.Catalogue.Default = pledge.Currency(strings.ToLower(strings.TrimSpace(*f.DefaultCurrency)))
	}
	if cf := f.CoverFees; cf != nil {
		if cf.Enabled != nil {
			st.Fees.Enabled = *cf.Enabled
		}
		if cf.Percent != nil {
			bps, err := pledge.ParseMinor(strings.TrimSpace(*cf.Percent), 2)
			if err != nil {
				return fmt.Errorf("cover_fees.percent: %q is not a percentage such as 2.9", *cf.Percent)
			}
			st.Fees.BasisPoints = bps
		}
		if cf.Fixed != nil {
			st.Fees.Fixed = map[pledge.Currency]int64{}
			for code, v := range cf.Fixed {
				cur := pledge.Currency(strings.ToLower(code))
				n, err := pledge.ParseMinor(strings.TrimSpace(v), cur.Decimals())
				if err != nil {
					return fmt.Errorf("cover_fees.fixed.%s: %q is not an amount in %s", code, v, cur.Upper())
				}
				st.Fees.Fixed[cur] = n
			}
		}
	}
	if g := f.Goals; g != nil {
		st.Goals = pledge.Goals{MonthlyMoney: map[pledge.Currency]int64{}}
		for code, v := range g.MonthlyMoney {
			cur := pledge.Currency(strings.ToLower(code))
			if _, ok := pledge.LookupCurrency(string(cur)); !ok {
				return fmt.Errorf("goals.monthly_money.%s: unknown currency code", code)
			}
			n, err := pledge.ParseAmount(v, cur) // as a person writes it: 5000, "5,000", 1200.50
			if err != nil || n <= 0 {
				return fmt.Errorf("goals.monthly_money.%s: %q is not a positive amount in %s", code, v, cur.Upper())
			}
			st.Goals.MonthlyMoney[cur] = n
		}
		if r := g.RecurringSupporters; r != nil {
			if *r <= 0 {
				return fmt.Errorf("goals.recurring_supporters: %d is not a positive number of supporters", *r)
			}
			st.Goals.RecurringSupporters = *r
		}
	}
	if err := st.Validate(); err != nil {
		return err
	}
	// The catalogues are checked here too, so a missing key stops start-up naming the file.
	_, err := server.LoadLanguages(*st)
	return err
}

// catalogueFromNode reads currencies in the file's order, so the currency menu follows it.
func catalogueFromNode(n *yaml.Node) (pledge.Catalogue, error) {
	cat := pledge.Catalogue{Tiers: map[pledge.Currency]map[pledge.Frequency]pledge.Tier{}}
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return cat, fmt.Errorf("currencies: line %d: a map of currency codes (usd: ...) is required", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		code := strings.ToLower(n.Content[i].Value)
		cur := pledge.Currency(code)
		if _, ok := pledge.LookupCurrency(code); !ok {
			return cat, fmt.Errorf("currencies.%s: unknown currency code", code)
		}
		var ts tierSet
		val := n.Content[i+1]
		if err := decodeStrict(val, &ts); err != nil {
			return cat, fmt.Errorf("currencies.%s: %w", code, err)
		}
		cat.Currencies = append(cat.Currencies, cur)
		cat.Tiers[cur] = map[pledge.Frequency]pledge.Tier{}
		for j, tf := range []*tierFile{ts.Once, ts.Monthly, ts.Annual} {
			f := pledge.Frequencies[j]
			if tf == nil {
				return cat, fmt.Errorf("currencies.%s.%s: missing", code, f)
			}
			t, err := tf.tier(cur)
			if err != nil {
				return cat, fmt.Errorf("currencies.%s.%s.%w", code, f, err)
			}
			cat.Tiers[cur][f] = t
		}
	}
	return cat, nil
}

// decodeStrict decodes a node refusing unknown fields, as the file's top level does.
func decodeStrict(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("line %d: %s", n.Line, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return nil
}

func (tf *tierFile) tier(cur pledge.Currency) (pledge.Tier, error) {
	var t pledge.Tier
	d := cur.Decimals()
	amount := func(field, s string) (int64, error) {
		n, err := pledge.ParseMinor(strings.TrimSpace(s), d)
		if err != nil || s == "" {
			return 0, fmt.Errorf("%s: %q is not an amount in %s (major units, at most %d decimals)", field, s, cur.Upper(), d)
		}
		return n, nil
	}
	var err error
	for i, p := range tf.Presets {
		n, err := amount(fmt.Sprintf("presets[%d]", i), p)
		if err != nil {
			return t, err
		}
		t.Presets = append(t.Presets, n)
	}
	if t.Default, err = amount("default", tf.Default); err != nil {
		return t, err
	}
	if t.Min, err = amount("min", tf.Min); err != nil {
		return t, err
	}
	if t.Max, err = amount("max", tf.Max); err != nil {
		return t, err
	}
	return t, nil
}

// validateProtect checks the protect block, naming the field at fault.
func validateProtect(p pledge.ProtectSettings) error {
	if p.MailFrom != "" {
		if _, err := netmail.ParseAddress(p.MailFrom); err != nil {
			return fmt.Errorf("protect.mail_from: must be an address such as \"Notifications <no-reply@mail.example>\"")
		}
	}
	if strings.ContainsAny(p.Subject, "\r\n") || len(p.Subject) > 200 {
		return fmt.Errorf("protect.subject: one line of at most 200 characters")
	}
	if s := p.StatementSuffix; s != "" {
		if len(s) > 22 || strings.ContainsAny(s, "<>\\'\"*") || !strings.ContainsFunc(s, unicode.IsLetter) {
			return fmt.Errorf("protect.statement_suffix: at most 22 characters, with a letter, and none of < > \\ ' \" * (Stripe's rule)")
		}
	}
	switch p.QuietAfterGift {
	case "", "session", "none":
	default:
		return fmt.Errorf("protect.quiet_after_gift: session or none")
	}
	return nil
}

// quietAfterGift is protect.quiet_after_gift with its default: a session-only mark.
func quietAfterGift(s string) string {
	if s == server.QuietNone {
		return server.QuietNone
	}
	return server.QuietSession
}
