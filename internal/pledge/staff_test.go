package pledge

import (
	"bytes"
	"context"
	"encoding/csv"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPasswordHash(t *testing.T) {
	if _, err := HashPassword("short"); ErrorCode(err) != EINVALID {
		t.Errorf("short password: %v, want EINVALID", err)
	}
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h, "$m=65536,t=3,p=2$") {
		t.Errorf("hash %s: not at RFC 9106's cost with 64 MiB (m=65536,t=3,p=2)", h)
	}
	if !CheckPassword(h, "correct horse battery") {
		t.Error("the right password does not match")
	}
	if CheckPassword(h, "correct horse batterY") {
		t.Error("a wrong password matches")
	}
	if h2, _ := HashPassword("correct horse battery"); h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
}

// rows is an ExportService over a fixed list of donations.
type rows []DonationRecord

func (r rows) EachDonation(_ context.Context, _ ExportFilter, fn func(*DonationRecord) error) error {
	for i := range r {
		if err := fn(&r[i]); err != nil {
			return err
		}
	}
	return nil
}

func (r rows) EachSupporter(context.Context, ExportFilter, func(*SupporterRecord) error) error {
	return nil
}

// TestDonationsCSVRoundTrip writes awkward rows with the shared export writer and reads them back.
func TestDonationsCSVRoundTrip(t *testing.T) {
	in := rows{
		{PaidAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Email: "a@example.com", Amount: Money{500, "usd"},
			Frequency: Once, Status: "succeeded", StripeID: "pi_1", Article: "https://news.example/a?x=1,2", Campaign: `say "hi"`},
		{PaidAt: time.Date(2026, 3, 2, 13, 4, 5, 0, time.FixedZone("X", 3600)), Amount: Money{123456, "eur"},
			Frequency: Annual, Status: "refunded", StripeID: "in_2", Campaign: "line\nbreak"},
		{PaidAt: time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC), Email: "z@example.jp", Amount: Money{500, "jpy"},
			Frequency: Monthly, Status: "disputed", StripeID: "in_3", Campaign: "été"},
	}
	var buf bytes.Buffer
	if err := WriteDonations(context.Background(), &buf, in, ExportFilter{}, FormatCSV); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"date", "email", "amount", "currency", "frequency", "status", "stripe_id", "article", "campaign"}; !reflect.DeepEqual(recs[0], want) {
		t.Fatalf("header = %v, want %v", recs[0], want)
	}
	if len(recs) != len(in)+1 {
		t.Fatalf("%d records, want %d", len(recs), len(in)+1)
	}
	for i, r := range in {
		rec := recs[i+1]
		when, err := time.Parse(time.RFC3339, rec[0])
		if err != nil || !when.Equal(r.PaidAt) {
			t.Errorf("row %d date %q, want %v", i, rec[0], r.PaidAt)
		}
		c := Currency(rec[3])
		amount, err := ParseMinor(rec[2], c.Decimals())
		if err != nil || amount != r.Amount.Amount || c != r.Amount.Currency {
			t.Errorf("row %d amount %q %q, want %v", i, rec[2], rec[3], r.Amount)
		}
		if rec[1] != r.Email || rec[4] != string(r.Frequency) || rec[5] != r.Status || rec[6] != r.StripeID ||
			rec[7] != r.Article || rec[8] != r.Campaign {
			t.Errorf("row %d = %q", i, rec)
		}
	}
	if recs[1][2] != "5.00" || recs[2][2] != "1234.56" || recs[3][2] != "500" {
		t.Errorf("amounts = %s %s %s, want 5.00 1234.56 500", recs[1][2], recs[2][2], recs[3][2])
	}
}
