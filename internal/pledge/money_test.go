package pledge

import "testing"

func TestFormatMinor(t *testing.T) {
	tests := []struct {
		amount   int64
		decimals int
		want     string
	}{
		{500, 2, "5.00"},
		{5, 2, "0.05"},
		{0, 2, "0.00"},
		{123456, 2, "1234.56"},
		{500, 0, "500"},
		{-150, 2, "-1.50"},
		{1, 3, "0.001"},
	}
	for _, tt := range tests {
		if got := FormatMinor(tt.amount, tt.decimals); got != tt.want {
			t.Errorf("FormatMinor(%d, %d) = %q, want %q", tt.amount, tt.decimals, got, tt.want)
		}
	}
}

func TestParseMinor(t *testing.T) {
	tests := []struct {
		in       string
		decimals int
		want     int64
		wantErr  bool
	}{
		{"5", 2, 500, false},
		{"5.5", 2, 550, false},
		{"5.50", 2, 550, false},
		{"0.01", 2, 1, false},
		{".5", 2, 50, false},
		{"5.", 2, 500, false},
		{"500", 0, 500, false},
		{"5.555", 2, 0, true},
		{"5.5", 0, 0, true},
		{"-5", 2, 0, true},
		{"abc", 2, 0, true},
		{"", 2, 0, true},
		{".", 2, 0, true},
		{"1e3", 2, 0, true},
		{"9999999999999", 2, 0, true},
	}
	for _, tt := range tests {
		got, err := ParseMinor(tt.in, tt.decimals)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseMinor(%q, %d) = %d, %v; want %d, error %v", tt.in, tt.decimals, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestMoneyString(t *testing.T) {
	tests := []struct {
		m          Money
		str, short string
		major      string
	}{
		{Money{500, "usd"}, "$5.00", "$5", "5.00"},
		{Money{550, "eur"}, "€5.50", "€5.50", "5.50"},
		{Money{1000000, "gbp"}, "£10000.00", "£10000", "10000.00"},
		{Money{500, "jpy"}, "¥500", "¥500", "500"},
		{Money{12345, "sek"}, "123.45 kr", "123.45 kr", "123.45"},
		{Money{100, "xyz"}, "1.00 XYZ", "1 XYZ", "1.00"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.str {
			t.Errorf("%v.String() = %q, want %q", tt.m, got, tt.str)
		}
		if got := tt.m.Short(); got != tt.short {
			t.Errorf("%v.Short() = %q, want %q", tt.m, got, tt.short)
		}
		if got := tt.m.Major(); got != tt.major {
			t.Errorf("%v.Major() = %q, want %q", tt.m, got, tt.major)
		}
	}
}

func TestErrorCode(t *testing.T) {
	if got := ErrorCode(nil); got != "" {
		t.Errorf("ErrorCode(nil) = %q", got)
	}
	if got := ErrorCode(FieldErrorf("amount", "bad")); got != EINVALID {
		t.Errorf("ErrorCode(field error) = %q, want %q", got, EINVALID)
	}
	if got := ErrorMessage(errFake{}); got == "boom" {
		t.Errorf("ErrorMessage leaked an internal error's text")
	}
	if got := ErrorCode(errFake{}); got != EINTERNAL {
		t.Errorf("ErrorCode(other) = %q, want %q", got, EINTERNAL)
	}
}

type errFake struct{}

func (errFake) Error() string { return "boom" }

// ISK is not in the table: a catalogue cannot offer it, and any ISK amount Stripe reports reads in
// Stripe's two-decimal form.
func TestISKNotOffered(t *testing.T) {
	if _, ok := LookupCurrency("isk"); ok {
		t.Fatal("isk is in the currency table")
	}
	if d := Currency("isk").Decimals(); d != 2 {
		t.Fatalf("isk decimals %d, want Stripe's 2", d)
	}
}
