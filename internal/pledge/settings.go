package pledge

import "fmt"

// Settings is how a newsroom has set up giving: its name and words, the amount catalogue and the
// fee-cover formula. PLEDGE_CONFIG overrides the defaults. (How often the prompt may show is
// PLEDGE_PROMPT_VIEW_CAP.)
type Settings struct {
	Org string
	// The newsroom's letter, in its default language (the catalogues' own when empty; a
	// language's messages in Messages win over these): the prompt's heading, the message under
	// it (paragraphs, **bold**, *italic*, links), the signature, and one ask line per frequency
	// with {min} and {default}.
	Heading string
	Message string
	Signoff string
	Ask     map[Frequency]string
	// Highlight marks one preset per frequency ("Most chosen"), in major units ("10").
	Highlight map[Frequency]string
	// DefaultLanguage is the language of readers whose own the service does not speak ("en").
	DefaultLanguage string
	// Messages add or override reader-facing words per language (code -> key -> text or plural
	// forms); see internal/locale.
	Messages  map[string]map[string]any
	Catalogue Catalogue
	// DefaultFrequency is the frequency preselected on the prompt.
	DefaultFrequency Frequency
	Fees             Fees
	// LegalName and Address are the newsroom's legal name and postal address, printed on
	// year-end statements (required to send them).
	LegalName string
	Address   string
	// NewsletterURL, when set, is the newsroom's newsletter sign-up page, offered on the thank-you
	// page and in the thank-you e-mail.
	NewsletterURL string
	// NewsletterOptIn offers an opt-in checkbox instead (on the thank-you page, and through the
	// thank-you e-mail's link), whose consent, time and wording are recorded. NewsletterWording
	// is the checkbox's wording for every language without its own newsletter.consent message;
	// "" keeps the catalogues'.
	NewsletterOptIn   bool
	NewsletterWording string
	// Goals are the staff dashboard's targets (none by default).
	Goals Goals
	// Protect is what protective mode (PLEDGE_PROTECT=1) uses; PLEDGE_CONFIG's protect block.
	Protect ProtectSettings
}

// Goals are what the newsroom aims for each month: money in the bank (net, per settlement
// currency, minor units) and recurring supporters. Zero means no goal.
type Goals struct {
	MonthlyMoney        map[Currency]int64
	RecurringSupporters int
}

// ProtectSettings are the newsroom's choices for protective mode.
type ProtectSettings struct {
	// MailFrom is the neutral sender of every e-mail ("Notifications <no-reply@mail.example>").
	MailFrom string
	// Subject is the neutral subject of every e-mail.
	Subject string
	// StatementSuffix is what a one-off gift's card statement shows after the account's prefix
	// (Stripe: up to 22 characters, a letter at least, none of < > \ ' " *).
	StatementSuffix string
	// QuietAfterGift: "session" (the default: the prompt stays quiet for the browser session
	// after a gift) or "none" (no mark at all).
	QuietAfterGift string
}

// DefaultSettings are the built-in settings.
func DefaultSettings() Settings {
	return Settings{
		Org:              "Pledge demo newsroom",
		Catalogue:        DefaultCatalogue(),
		DefaultFrequency: Monthly,
		Fees: Fees{
			Enabled:     true,
			BasisPoints: 290,
			Fixed:       map[Currency]int64{"usd": 30, "eur": 25, "gbp": 20},
		},
	}
}

// Validate checks the settings, naming the field at fault as the configuration file spells it.
func (s Settings) Validate() error {
	switch {
	case s.Org == "":
		return fmt.Errorf("organisation: required")
	case len(s.Org) > 120:
		return fmt.Errorf("organisation: at most 120 characters")
	case len(s.Heading) > 200:
		return fmt.Errorf("heading: at most 200 characters")
	case len(s.Message) > 5000:
		return fmt.Errorf("message: at most 5000 characters")
	case s.DefaultFrequency != Once && s.DefaultFrequency != Monthly && s.DefaultFrequency != Annual:
		return fmt.Errorf("default_frequency: must be once, monthly or annual")
	case s.Fees.BasisPoints < 0 || s.Fees.BasisPoints >= 5000:
		return fmt.Errorf("cover_fees.percent: must be at least 0 and below 50")
	}
	for cur, v := range s.Fees.Fixed {
		if v < 0 {
			return fmt.Errorf("cover_fees.fixed.%s: must not be negative", cur)
		}
	}
	return s.Catalogue.Validate()
}

// Fees is the "cover the transaction costs" formula: a percentage of the gift plus a fixed part
// per currency, such as Stripe's 2.9% + 30¢.
type Fees struct {
	Enabled     bool
	BasisPoints int64 // hundredths of a percent: 290 is 2.9%
	Fixed       map[Currency]int64
}

// Cover returns what to add to m so that, after a fee of the percentage plus the fixed part is
// taken from the total, the newsroom receives m: ceil((m + fixed) / (1 - p)) - m. Zero when
// the formula is off.
func (f Fees) Cover(m Money) int64 {
	if !f.Enabled || m.Amount <= 0 {
		return 0
	}
	num := (m.Amount + f.Fixed[m.Currency]) * 10000
	den := 10000 - f.BasisPoints
	gross := (num + den - 1) / den
	return gross - m.Amount
}
