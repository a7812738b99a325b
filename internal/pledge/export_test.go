package pledge

import (
	"bytes"
	"encoding/csv"
	"reflect"
	"testing"
	"time"
)

func TestDonationsCSVRoundTrip(t *testing.T) {
	rows := []DonationRow{
		{PaidAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Email: "a@example.com", Amount: Money{500, "usd"},
			Frequency: Once, Status: "succeeded", StripeID: "pi_1", Article: "https://news.example/a?x=1,2", Campaign: `say "hi"`},
		{PaidAt: time.Date(2026, 3, 2, 13, 4, 5, 0, time.FixedZone("X", 3600)), Email: "", Amount: Money{123456, "eur"},
			Frequency: Annual, Status: "refunded", StripeID: "in_2", Article: "", Campaign: "line\nbreak"},
		{PaidAt: time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC), Email: "z@example.jp", Amount: Money{500, "jpy"},
			Frequency: Monthly, Status: "disputed", StripeID: "ch_3", Article: "=HYPERLINK(\"x\")", Campaign: "été"},
	}
	var buf bytes.Buffer
	w := NewDonationsCSV(&buf)
	for _, r := range rows {
		if err := w.WriteDonation(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := recs[0], []string{"date", "email", "amount", "currency", "frequency", "status", "stripe_id", "article", "campaign"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("header = %v, want %v", got, want)
	}
	if len(recs) != len(rows)+1 {
		t.Fatalf("%d records, want %d", len(recs), len(rows)+1)
	}
	for i, r := range rows {
		rec := recs[i+1]
		when, err := time.Parse(time.RFC3339, rec[0])
		if err != nil || !when.Equal(r.PaidAt) {
			t.Errorf("row %d date %q = %v, want %v", i, rec[0], when, r.PaidAt)
		}
		c := Currency(rec[3])
		amount, err := ParseMinor(rec[2], c.Decimals())
		if err != nil || amount != r.Amount.Amount || c != r.Amount.Currency {
			t.Errorf("row %d amount %q %q, want %v", i, rec[2], rec[3], r.Amount)
		}
		if rec[1] != r.Email || rec[4] != string(r.Frequency) || rec[5] != r.Status || rec[6] != r.StripeID {
			t.Errorf("row %d = %v", i, rec)
		}
		wantArticle := r.Article
		if i == 2 {
			wantArticle = "'" + r.Article // a formula is defused
		}
		if rec[7] != wantArticle || rec[8] != r.Campaign {
			t.Errorf("row %d article, campaign = %q, %q; want %q, %q", i, rec[7], rec[8], wantArticle, r.Campaign)
		}
	}
	if recs[1][2] != "5.00" || recs[2][2] != "1234.56" || recs[3][2] != "500" {
		t.Errorf("amounts = %s %s %s, want 5.00 1234.56 500", recs[1][2], recs[2][2], recs[3][2])
	}
}

func TestEmptyExportHasHeader(t *testing.T) {
	var buf bytes.Buffer
	if err := NewSupportersCSV(&buf).Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "created,id,email,name,stripe_customer_id,recurring,status,erased\n"; got != want {
		t.Errorf("empty export = %q, want %q", got, want)
	}
}

func TestPasswordHash(t *testing.T) {
	if _, err := HashPassword("short"); ErrorCode(err) != EINVALID {
		t.Errorf("short password: %v, want EINVALID", err)
	}
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !CheckPassword(h, "correct horse battery") {
		t.Error("the right password does not match")
	}
	if CheckPassword(h, "correct horse batterY") {
		t.Error("a wrong password matches")
	}
	h2, _ := HashPassword("correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
}
