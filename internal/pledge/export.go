package pledge

import (
	"encoding/csv"
	"io"
	"time"
)

// DonationsCSVHeader is the donations export's header, part of the outside contract.
var DonationsCSVHeader = []string{"date", "email", "amount", "currency", "frequency", "status", "stripe_id", "article", "campaign"}

// SupportersCSVHeader is the supporters export's header.
var SupportersCSVHeader = []string{"created", "id", "email", "name", "stripe_customer_id", "recurring", "status", "erased"}

// CSVWriter writes the exports as CSV, one row at a time, so a large export streams. `pledge
// export` and the staff pages both use it, so the two cannot drift apart.
type CSVWriter struct {
	w      *csv.Writer
	header []string
	wrote  bool
}

// NewDonationsCSV returns a writer of the donations export.
func NewDonationsCSV(w io.Writer) *CSVWriter {
	return &CSVWriter{w: csv.NewWriter(w), header: DonationsCSVHeader}
}

// NewSupportersCSV returns a writer of the supporters export.
func NewSupportersCSV(w io.Writer) *CSVWriter {
	return &CSVWriter{w: csv.NewWriter(w), header: SupportersCSVHeader}
}

// csvTime is how the exports write times: RFC 3339 in UTC.
const csvTime = time.RFC3339

func (c *CSVWriter) row(rec []string) error {
	if !c.wrote {
		c.wrote = true
		if err := c.w.Write(c.header); err != nil {
			return err
		}
	}
	for i, v := range rec {
		rec[i] = csvSafe(v)
	}
	return c.w.Write(rec)
}

// csvSafe defuses cells a spreadsheet would run as a formula (CSV injection through an article
// URL or a name).
func csvSafe(v string) string {
	if v != "" {
		switch v[0] {
		case '=', '+', '-', '@', '\t', '\r':
			return "'" + v
		}
	}
	return v
}

// WriteDonation writes one donation (and the header before the first).
func (c *CSVWriter) WriteDonation(r DonationRow) error {
	return c.row([]string{r.PaidAt.UTC().Format(csvTime), r.Email, r.Amount.Major(), string(r.Amount.Currency),
		string(r.Frequency), r.Status, r.StripeID, r.Article, r.Campaign})
}

// WriteSupporter writes one supporter (and the header before the first).
func (c *CSVWriter) WriteSupporter(r SupporterRow) error {
	erased := "false"
	if r.Erased {
		erased = "true"
	}
	return c.row([]string{r.CreatedAt.UTC().Format(csvTime), itoa(r.ID), r.Email, r.Name, r.StripeCustomerID,
		string(r.Recurring), r.Status, erased})
}

// Close writes the header if no row was written, and flushes.
func (c *CSVWriter) Close() error {
	if !c.wrote {
		c.wrote = true
		if err := c.w.Write(c.header); err != nil {
			return err
		}
	}
	c.w.Flush()
	return c.w.Error()
}

// Flush sends buffered rows to the underlying writer (call it every so often while streaming).
func (c *CSVWriter) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

func itoa(n int64) string { return FormatMinor(n, 0) }
