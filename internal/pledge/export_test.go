package pledge

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"
)

// formulaCell reports where a spreadsheet could start a formula in a CSV cell: at the cell's
// start, or at any point where a locale's separator (comma, semicolon, tab, line break) would
// split the cell when the file is opened with another separator than it was written with, after
// any spaces or double quotes. A single quote there makes the rest text.
func formulaCell(cell string) bool {
	if cell != "" && strings.ContainsRune("\t\r", rune(cell[0])) {
		return true
	}
	for _, seg := range strings.FieldsFunc(" "+cell, func(r rune) bool { return strings.ContainsRune(",;\t\r\n", r) }) {
		seg = strings.TrimLeft(seg, " \"\u00a0")
		if seg != "" && strings.ContainsAny(seg[:len(string([]rune(seg)[0]))], "=+-@＝＋－＠") {
			return true
		}
	}
	return false
}

// TestCSVTextNeutralisesFormulasInAnyLocale (issue 13, finding b): a spreadsheet whose locale
// separates cells with ';' (or a tab) splits "Eve;=cmd|..." into two cells, the second a formula;
// a leading space or quote does not stop one either. Every such place gets a single quote.
func TestCSVTextNeutralisesFormulasInAnyLocale(t *testing.T) {
	for _, in := range []string{
		"=1+1", "+cmd", "-2+3@example.com", "@SUM(A1)", "\t=1", "\r=1",
		"Eve;=cmd|' /C calc'!A0",
		"Eve,=cmd|' /C calc'!A0",
		"Eve\t=1+1",
		"Eve; =1+1",
		"Eve;\"=1+1\"",
		" =1+1",
		"\"=1+1",
		"a;b,c;+1",
		"x\n@SUM(1)",
		"Eve;＝1+1",
	} {
		got := csvText(in)
		if formulaCell(got) {
			t.Errorf("csvText(%q) = %q: still a formula in some locale", in, got)
		}
		if strings.ReplaceAll(got, "'", "") != strings.ReplaceAll(in, "'", "") {
			t.Errorf("csvText(%q) = %q: changed more than adding quotes", in, got)
		}
	}
	for _, in := range []string{"ada@example.com", "https://news.example/2026/story-one", "Ada Lovelace", "spring-2026", ""} {
		if got := csvText(in); got != in {
			t.Errorf("csvText(%q) = %q: harmless text changed", in, got)
		}
	}
	// Through the writer, in both exports, with the header kept.
	at := time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)
	svc := fakeExport{
		donations: []DonationRecord{{PaidAt: at, Email: "eve@example.com", Amount: Money{500, "usd"}, Frequency: Once,
			Status: DonationSucceeded, StripeID: "pi_1", Article: "https://news.example/a", Campaign: "Eve;=cmd|' /C calc'!A0"}},
		supporters: []SupporterRecord{{CreatedAt: at, Email: "eve@example.com", Name: "Eve;=HYPERLINK(\"x\")", StripeCustomerID: "cus_1"}},
	}
	for name, write := range map[string]func(*strings.Builder) error{
		"donations": func(b *strings.Builder) error {
			return WriteDonations(context.Background(), b, svc, ExportFilter{}, FormatCSV)
		},
		"supporters": func(b *strings.Builder) error {
			return WriteSupporters(context.Background(), b, svc, ExportFilter{}, FormatCSV)
		},
	} {
		var b strings.Builder
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if name == "donations" && strings.Join(recs[0], ",") != "date,email,amount,currency,frequency,status,stripe_id,article,campaign" {
			t.Errorf("header %v", recs[0])
		}
		for _, rec := range recs[1:] {
			for i, cell := range rec {
				if formulaCell(cell) {
					t.Errorf("%s column %d: %q is a formula in some locale", name, i, cell)
				}
			}
		}
	}
}
