package pledge

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ExportFilter limits an export to a time range: donations by when they were paid, supporters by
// when they first appeared. Zero times leave that side open; To is exclusive.
type ExportFilter struct {
	From time.Time
	To   time.Time
	// Arms also reads each donation's checkout and experiment arm (DonationRecord's Checkout,
	// Arm).
	Arms bool
}

// DonationRecord is one row of the donations export.
type DonationRecord struct {
	PaidAt         time.Time
	Email          string // "" once the supporter is erased
	Amount         Money
	AmountRefunded int64
	Frequency      Frequency
	Status         string // succeeded, partially_refunded, refunded, disputed
	StripeID       string // the payment intent (one-off) or the invoice (recurring)
	Article        string
	Campaign       string
	// Checkout and Arm: the checkout the payment came through and the experiment arm it was made
	// in; read only with ExportFilter.Arms.
	Checkout string
	Arm      Arm
}

// SupporterRecord is one row of the supporters export.
type SupporterRecord struct {
	CreatedAt           time.Time
	Email               string
	Name                string
	StripeCustomerID    string
	Donations           int
	Totals              []Money // net of refunds and lost disputes, one per currency, by currency code
	FirstDonation       time.Time
	LastDonation        time.Time
	ActiveSubscriptions int
	// NewsletterConsentAt and NewsletterWording are the supporter's latest newsletter opt-in
	// (zero and "" for none); JSON export only, the CSV's columns are unchanged.
	NewsletterConsentAt time.Time
	NewsletterWording   string
}

// ExportService streams the ledger row by row, so an export of any size holds one row in memory.
type ExportService interface {
	// EachDonation calls fn for every donation paid in the range, oldest first.
	EachDonation(ctx context.Context, f ExportFilter, fn func(*DonationRecord) error) error
	// EachSupporter calls fn for every supporter created in the range, oldest first.
	EachSupporter(ctx context.Context, f ExportFilter, fn func(*SupporterRecord) error) error
}

// DonationsCSVHeader is the donations export's header, part of Pledge's outside contract.
var DonationsCSVHeader = []string{"date", "email", "amount", "currency", "frequency", "status", "stripe_id", "article", "campaign"}

// DonationsArmsCSVHeader is the donations export's header with --with-variant: the contract's
// columns, then the checkout and the experiment arm, so the default header never changes.
var DonationsArmsCSVHeader = append(append([]string(nil), DonationsCSVHeader...), "checkout", "experiment", "variant")

// SupportersCSVHeader is the supporters export's header.
var SupportersCSVHeader = []string{"created", "email", "name", "stripe_customer_id", "donations", "totals", "first_donation", "last_donation", "active_subscriptions"}

// Export formats.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
)

// exportTime writes times as RFC 3339 in UTC ("2026-11-28T09:30:00Z"), "" for none.
func exportTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// TotalsString writes per-currency totals as "15.00 usd; 5.00 eur".
func TotalsString(totals []Money) string {
	parts := make([]string, len(totals))
	for i, m := range totals {
		parts[i] = m.Major() + " " + string(m.Currency)
	}
	return strings.Join(parts, "; ")
}

// csvText neutralises a free-text cell (article, campaign, e-mail, name) for spreadsheets ("CSV
// injection"). A spreadsheet reads a formula where a cell starts with = + - @ (or their
// full-width forms), also after spaces or a double quote, and a file opened in a locale with
// another separator than the one it was written with is split at every comma, semicolon, tab or
// line break inside a cell: "Eve;=cmd|..." becomes two cells, the second a formula. So a single
// quote goes at the start of every such piece (and before a leading tab or carriage return),
// which makes it text in every spreadsheet. CSV only: JSON carries the text as it is, and the
// other columns (dates, amounts, Stripe ids) are never touched.
func csvText(s string) string {
	if !strings.ContainsAny(s, "=+-@\t\r＝＋－＠") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	piece := true // at the start of a piece a spreadsheet could read as a cell
	for i := 0; i < len(s); i++ {
		if piece {
			piece = false
			if formulaAhead(s[i:]) || (i == 0 && (s[0] == '\t' || s[0] == '\r')) {
				b.WriteByte('\'')
			}
		}
		b.WriteByte(s[i])
		if strings.IndexByte(cellSeparators, s[i]) >= 0 {
			piece = true
		}
	}
	return b.String()
}

// cellSeparators are the bytes some locale's spreadsheet splits cells (or rows) at.
const cellSeparators = ",;\t\r\n"

// formulaAhead reports whether a spreadsheet would start a formula reading s as a cell: its first
// character after spaces and double quotes is = + - @ or a full-width form of one.
func formulaAhead(s string) bool {
	s = strings.TrimLeft(s, " \"\u00a0")
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && strings.ContainsRune("=+-@＝＋－＠", r)
}

// donationJSON and supporterJSON are the JSON export's objects: the CSV's columns, plus minor
// units so that programs need not parse decimals.
type donationJSON struct {
	Date          string `json:"date"`
	Email         string `json:"email"`
	Amount        string `json:"amount"`
	AmountMinor   int64  `json:"amount_minor"`
	RefundedMinor int64  `json:"amount_refunded_minor"`
	Currency      string `json:"currency"`
	Frequency     string `json:"frequency"`
	Status        string `json:"status"`
	StripeID      string `json:"stripe_id"`
	Article       string `json:"article"`
	Campaign      string `json:"campaign"`
}

type donationArmJSON struct {
	donationJSON
	Checkout   string `json:"checkout"`
	Experiment string `json:"experiment"`
	Variant    string `json:"variant"`
}

type supporterJSON struct {
	Created             string            `json:"created"`
	Email               string            `json:"email"`
	Name                string            `json:"name"`
	StripeCustomerID    string            `json:"stripe_customer_id"`
	Donations           int               `json:"donations"`
	Totals              map[string]string `json:"totals"`
	FirstDonation       string            `json:"first_donation"`
	LastDonation        string            `json:"last_donation"`
	ActiveSubscriptions int               `json:"active_subscriptions"`
	Newsletter          *newsletterJSON   `json:"newsletter_consent"`
}

// newsletterJSON is a supporter's latest newsletter opt-in in the JSON export (null for none).
type newsletterJSON struct {
	ConsentedAt string `json:"consented_at"`
	Wording     string `json:"wording"`
}

// WriteDonations writes the donations export to w as CSV (the header DonationsCSVHeader, amounts
// in major units) or as a JSON array. `pledge export donations` and the staff area's
// /staff/export/donations.csv both call it, so the two never drift apart.
func WriteDonations(ctx context.Context, w io.Writer, svc ExportService, f ExportFilter, format string) error {
	switch format {
	case FormatCSV:
		return writeCSV(w, DonationsCSVHeader, func(write func([]string) error) error {
			return svc.EachDonation(ctx, f, func(d *DonationRecord) error {
				return write([]string{exportTime(d.PaidAt), csvText(d.Email), d.Amount.Major(), string(d.Amount.Currency),
					string(d.Frequency), d.Status, d.StripeID, csvText(d.Article), csvText(d.Campaign)})
			})
		})
	case FormatJSON:
		return writeJSONArray(w, func(emit func(any) error) error {
			return svc.EachDonation(ctx, f, func(d *DonationRecord) error {
				return emit(donationJSON{exportTime(d.PaidAt), d.Email, d.Amount.Major(), d.Amount.Amount, d.AmountRefunded,
					string(d.Amount.Currency), string(d.Frequency), d.Status, d.StripeID, d.Article, d.Campaign})
			})
		})
	}
	return Errorf(EINVALID, "Unknown export format %q: use csv or json.", format)
}

// WriteDonationsWithArms is WriteDonations with three trailing columns (fields, in JSON):
// checkout, experiment and variant (`pledge export donations --with-variant`).
func WriteDonationsWithArms(ctx context.Context, w io.Writer, svc ExportService, f ExportFilter, format string) error {
	f.Arms = true
	switch format {
	case FormatCSV:
		return writeCSV(w, DonationsArmsCSVHeader, func(write func([]string) error) error {
			return svc.EachDonation(ctx, f, func(d *DonationRecord) error {
				return write([]string{exportTime(d.PaidAt), csvText(d.Email), d.Amount.Major(), string(d.Amount.Currency),
					string(d.Frequency), d.Status, d.StripeID, csvText(d.Article), csvText(d.Campaign),
					d.Checkout, d.Arm.Experiment, d.Arm.Variant})
			})
		})
	case FormatJSON:
		return writeJSONArray(w, func(emit func(any) error) error {
			return svc.EachDonation(ctx, f, func(d *DonationRecord) error {
				return emit(donationArmJSON{donationJSON{exportTime(d.PaidAt), d.Email, d.Amount.Major(), d.Amount.Amount, d.AmountRefunded,
					string(d.Amount.Currency), string(d.Frequency), d.Status, d.StripeID, d.Article, d.Campaign},
					d.Checkout, d.Arm.Experiment, d.Arm.Variant})
			})
		})
	}
	return Errorf(EINVALID, "Unknown export format %q: use csv or json.", format)
}

// WriteSupporters writes the supporters export to w as CSV (SupportersCSVHeader) or a JSON array.
// Used by `pledge export supporters` and /staff/export/supporters.csv.
func WriteSupporters(ctx context.Context, w io.Writer, svc ExportService, f ExportFilter, format string) error {
	switch format {
	case FormatCSV:
		return writeCSV(w, SupportersCSVHeader, func(write func([]string) error) error {
			return svc.EachSupporter(ctx, f, func(s *SupporterRecord) error {
				return write([]string{exportTime(s.CreatedAt), csvText(s.Email), csvText(s.Name), s.StripeCustomerID,
					strconv.Itoa(s.Donations), TotalsString(s.Totals), exportTime(s.FirstDonation),
					exportTime(s.LastDonation), strconv.Itoa(s.ActiveSubscriptions)})
			})
		})
	case FormatJSON:
		return writeJSONArray(w, func(emit func(any) error) error {
			return svc.EachSupporter(ctx, f, func(s *SupporterRecord) error {
				totals := map[string]string{}
				for _, m := range s.Totals {
					totals[string(m.Currency)] = m.Major()
				}
				var nl *newsletterJSON
				if !s.NewsletterConsentAt.IsZero() {
					nl = &newsletterJSON{exportTime(s.NewsletterConsentAt), s.NewsletterWording}
				}
				return emit(supporterJSON{exportTime(s.CreatedAt), s.Email, s.Name, s.StripeCustomerID, s.Donations,
					totals, exportTime(s.FirstDonation), exportTime(s.LastDonation), s.ActiveSubscriptions, nl})
			})
		})
	}
	return Errorf(EINVALID, "Unknown export format %q: use csv or json.", format)
}

// writeCSV streams a CSV file: the header, then each row that each writes.
func writeCSV(w io.Writer, header []string, each func(write func([]string) error) error) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	err := each(cw.Write)
	cw.Flush()
	if err != nil {
		return err
	}
	return cw.Error()
}

// writeJSONArray streams a JSON array, one element per line.
func writeJSONArray(w io.Writer, each func(emit func(any) error) error) error {
	if _, err := io.WriteString(w, "["); err != nil {
		return err
	}
	n := 0
	err := each(func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		sep := ",\n"
		if n == 0 {
			sep = "\n"
		}
		n++
		_, err = fmt.Fprintf(w, "%s%s", sep, b)
		return err
	})
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n]\n")
	return err
}

// ParseExportDate reads an export bound: a day (YYYY-MM-DD, UTC) or an RFC 3339 time. With
// endOfDay a bare day means the end of that day, so --to 2026-11-30 includes the 30th.
func ParseExportDate(s string, endOfDay bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if endOfDay {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, Errorf(EINVALID, "%q is not a date (YYYY-MM-DD) or an RFC 3339 time.", s)
}
