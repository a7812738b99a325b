package pledge

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"
)

func TestSubscriptionStatusKeyOrder(t *testing.T) {
	t0 := time.Unix(1790000000, 0)
	cases := []struct {
		name         string
		older, newer StateKey
	}{
		{"later time wins", SubscriptionStatusKey("past_due", t0), SubscriptionStatusKey("active", t0.Add(time.Second))},
		{"same second: further along wins", SubscriptionStatusKey("incomplete", t0), SubscriptionStatusKey("active", t0)},
		{"canceled is final even if older", SubscriptionStatusKey("active", t0.Add(time.Hour)), SubscriptionStatusKey("canceled", t0)},
		{"incomplete_expired is final", SubscriptionStatusKey("past_due", t0.Add(time.Hour)), SubscriptionStatusKey("incomplete_expired", t0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !c.older.Less(c.newer) || c.newer.Less(c.older) {
				t.Fatalf("%+v should order before %+v", c.older, c.newer)
			}
		})
	}
	a := (&SubscriptionChanged{Status: "active", CancelAtPeriodEnd: false}).Key(t0)
	b := (&SubscriptionChanged{Status: "active", CancelAtPeriodEnd: true}).Key(t0)
	if !a.Less(b) || b.Less(a) {
		t.Fatal("equal status and time must still order by the other fields")
	}
}

func TestDonationStatus(t *testing.T) {
	cases := []struct {
		amount, refunded int64
		dispute, want    string
	}{
		{500, 0, "", DonationSucceeded},
		{500, 1, "", DonationPartiallyRefunded},
		{500, 500, "", DonationRefunded},
		{500, 0, "needs_response", DonationDisputed},
		{500, 0, "lost", DonationDisputed},
		{500, 0, "won", DonationSucceeded},
		{500, 100, "warning_closed", DonationPartiallyRefunded},
		{500, 0, "warning_needs_response", DonationSucceeded},
		{500, 0, "under_review", DonationDisputed},
	}
	for _, c := range cases {
		if got := DonationStatus(c.amount, c.refunded, DisputeWithdraws(c.dispute, false)); got != c.want {
			t.Errorf("DonationStatus(%d, %d, %q) = %s, want %s", c.amount, c.refunded, c.dispute, got, c.want)
		}
	}
}

func TestDisputeWithdraws(t *testing.T) {
	cases := []struct {
		status     string
		reinstated bool
		want       bool
	}{
		{"", false, false},
		{"warning_needs_response", false, false},
		{"warning_under_review", false, false},
		{"warning_closed", false, false},
		{"needs_response", false, true},
		{"under_review", false, true},
		{"under_review", true, false},
		{"won", false, false},
		{"won", true, false},
		{"lost", false, true},
		{"lost", true, true},
	}
	for _, c := range cases {
		if got := DisputeWithdraws(c.status, c.reinstated); got != c.want {
			t.Errorf("DisputeWithdraws(%q, %v) = %v, want %v", c.status, c.reinstated, got, c.want)
		}
	}
}

func TestParseExportDate(t *testing.T) {
	cases := []struct {
		in       string
		endOfDay bool
		want     string
		ok       bool
	}{
		{"", false, "0001-01-01T00:00:00Z", true},
		{"2026-11-30", false, "2026-11-30T00:00:00Z", true},
		{"2026-11-30", true, "2026-12-01T00:00:00Z", true},
		{"2026-11-30T10:00:00+01:00", true, "2026-11-30T09:00:00Z", true},
		{"30/11/2026", false, "", false},
	}
	for _, c := range cases {
		got, err := ParseExportDate(c.in, c.endOfDay)
		if (err == nil) != c.ok || c.ok && got.Format(time.RFC3339) != c.want {
			t.Errorf("ParseExportDate(%q, %v) = %v, %v; want %s", c.in, c.endOfDay, got, err, c.want)
		}
	}
}

type fakeExport struct {
	donations  []DonationRecord
	supporters []SupporterRecord
}

func (f fakeExport) EachDonation(_ context.Context, _ ExportFilter, fn func(*DonationRecord) error) error {
	for i := range f.donations {
		if err := fn(&f.donations[i]); err != nil {
			return err
		}
	}
	return nil
}

func (f fakeExport) EachSupporter(_ context.Context, _ ExportFilter, fn func(*SupporterRecord) error) error {
	for i := range f.supporters {
		if err := fn(&f.supporters[i]); err != nil {
			return err
		}
	}
	return nil
}

func TestWriteExports(t *testing.T) {
	at := time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)
	svc := fakeExport{
		donations: []DonationRecord{
			{PaidAt: at, Email: "a@example.com", Amount: Money{500, "usd"}, Frequency: Once, Status: DonationSucceeded, StripeID: "pi_1", Article: "https://news.example/a?x=1,2", Campaign: "spring"},
			{PaidAt: at, Amount: Money{1500, "jpy"}, Frequency: Monthly, Status: DonationPartiallyRefunded, StripeID: "in_1"},
		},
		supporters: []SupporterRecord{{CreatedAt: at, Email: "a@example.com", StripeCustomerID: "cus_1", Donations: 2,
			Totals: []Money{{1500, "jpy"}, {500, "usd"}}, FirstDonation: at, LastDonation: at, ActiveSubscriptions: 1}},
	}
	var b strings.Builder
	if err := WriteDonations(context.Background(), &b, svc, ExportFilter{}, FormatCSV); err != nil {
		t.Fatal(err)
	}
	want := "date,email,amount,currency,frequency,status,stripe_id,article,campaign\n" +
		"2026-11-28T09:30:00Z,a@example.com,5.00,usd,once,succeeded,pi_1,\"https://news.example/a?x=1,2\",spring\n" +
		"2026-11-28T09:30:00Z,,1500,jpy,monthly,partially_refunded,in_1,,\n"
	if b.String() != want {
		t.Fatalf("donations CSV:\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteSupporters(context.Background(), &b, svc, ExportFilter{}, FormatCSV); err != nil {
		t.Fatal(err)
	}
	if want := "created,email,name,stripe_customer_id,donations,totals,first_donation,last_donation,active_subscriptions\n" +
		"2026-11-28T09:30:00Z,a@example.com,,cus_1,2,1500 jpy; 5.00 usd,2026-11-28T09:30:00Z,2026-11-28T09:30:00Z,1\n"; b.String() != want {
		t.Fatalf("supporters CSV:\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteDonations(context.Background(), &b, fakeExport{}, ExportFilter{}, FormatJSON); err != nil || b.String() != "[\n]\n" {
		t.Fatalf("empty JSON export %q, %v", b.String(), err)
	}
	if err := WriteDonations(context.Background(), &b, svc, ExportFilter{}, "xml"); ErrorCode(err) != EINVALID {
		t.Fatalf("xml format: %v", err)
	}
}

// Article, campaign, e-mail and name come from readers: in the CSV a cell starting with = + - @
// (or tab / CR) would be a formula in the staff's spreadsheet, so it is quoted; JSON keeps the text.
func TestExportNeutralisesFormulas(t *testing.T) {
	at := time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)
	svc := fakeExport{
		donations: []DonationRecord{{PaidAt: at, Email: "@SUM(1+1)@example.com", Amount: Money{500, "usd"}, Frequency: Once,
			Status: DonationSucceeded, StripeID: "pi_1", Article: `=HYPERLINK("https://evil.example","x")`, Campaign: "+cmd|' /C calc'!A0"}},
		supporters: []SupporterRecord{{CreatedAt: at, Email: "-2+3@example.com", Name: "=1+1", StripeCustomerID: "cus_1"}},
	}
	check := func(what, out string) {
		r := csv.NewReader(strings.NewReader(out))
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs[1:] {
			for i, cell := range rec {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Errorf("%s column %d starts with a formula character: %q", what, i, cell)
				}
			}
		}
	}
	var b strings.Builder
	if err := WriteDonations(context.Background(), &b, svc, ExportFilter{}, FormatCSV); err != nil {
		t.Fatal(err)
	}
	check("donations", b.String())
	b.Reset()
	if err := WriteSupporters(context.Background(), &b, svc, ExportFilter{}, FormatCSV); err != nil {
		t.Fatal(err)
	}
	check("supporters", b.String())
	if !strings.Contains(b.String(), "'=1+1") || !strings.Contains(b.String(), "'-2+3@example.com") {
		t.Errorf("supporters CSV lost the neutralised text: %s", b.String())
	}
	b.Reset()
	if err := WriteDonations(context.Background(), &b, svc, ExportFilter{}, FormatCSV); err != nil {
		t.Fatal(err)
	}
	if first := strings.SplitN(b.String(), "\n", 2)[0]; first != "date,email,amount,currency,frequency,status,stripe_id,article,campaign" {
		t.Errorf("header %q", first)
	}
	if !strings.Contains(b.String(), `"'=HYPERLINK(""https://evil.example"",""x"")"`) || !strings.Contains(b.String(), ",5.00,usd,") {
		t.Errorf("donations CSV: %s", b.String())
	}
	b.Reset()
	if err := WriteDonations(context.Background(), &b, svc, ExportFilter{}, FormatJSON); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"campaign":"+cmd|' /C calc'!A0"`) {
		t.Errorf("JSON must keep the text as it is: %s", b.String())
	}
}

func TestLedgerEventCheckoutID(t *testing.T) {
	m := Metadata{CheckoutID: "co_1"}
	for _, fact := range []any{&CheckoutCompleted{CheckoutID: "co_1"}, &CheckoutClosed{CheckoutID: "co_1"},
		&InvoicePaid{Meta: m}, &InvoiceFailed{Meta: m}, &SubscriptionChanged{Meta: m}} {
		if got := (&LedgerEvent{Fact: fact}).CheckoutID(); got != "co_1" {
			t.Errorf("%T: CheckoutID() = %q, want co_1", fact, got)
		}
	}
	if got := (&LedgerEvent{}).CheckoutID(); got != "" {
		t.Errorf("no fact: %q", got)
	}
}

func TestFactMetadata(t *testing.T) {
	m := Metadata{CheckoutID: "co_1", Site: "eu.news.example"}
	for _, fact := range []any{&CheckoutCompleted{Meta: m}, &InvoicePaid{Meta: m}, &InvoiceFailed{Meta: m},
		&InvoiceUpcoming{Meta: m}, &SubscriptionChanged{Meta: m}, &ChargeRefunded{Meta: m},
		&RefundUpdated{Charge: &ChargeRefunded{Meta: m}}} {
		if got, ok := FactMetadata(fact); !ok || got != m {
			t.Errorf("%T: FactMetadata = %+v, %v; want %+v, true", fact, got, ok, m)
		}
	}
	for _, fact := range []any{nil, &CheckoutClosed{CheckoutID: "co_1"}, &RefundUpdated{}, &DisputeChanged{},
		&FraudWarning{}, &CustomerChanged{}} {
		if got, ok := FactMetadata(fact); ok || got != (Metadata{}) {
			t.Errorf("%T: FactMetadata = %+v, %v; want none", fact, got, ok)
		}
	}
}
