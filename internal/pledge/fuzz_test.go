package pledge

import (
	"strings"
	"testing"
)

// FuzzParseMinor: any string and any decimals of a real currency (0-3) never panic; an accepted
// amount is never negative and survives a round trip through FormatMinor.
func FuzzParseMinor(f *testing.F) {
	for _, s := range []string{"5", "5.5", "5.50", "0.01", "10000", ".5", "5.", "", "-1", "1e3", "1,000.00", "999999999999.99", "٣"} {
		f.Add(s, uint8(2))
	}
	f.Add("500", uint8(0))
	f.Fuzz(func(t *testing.T, s string, d uint8) {
		decimals := int(d % 4)
		v, err := ParseMinor(s, decimals)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("ParseMinor(%q, %d) = %d, negative", s, decimals, v)
		}
		out := FormatMinor(v, decimals)
		back, err := ParseMinor(out, decimals)
		if err != nil || back != v {
			t.Fatalf("ParseMinor(%q, %d) = %d; FormatMinor gives %q, which parses to %d, %v", s, decimals, v, out, back, err)
		}
		if strings.ContainsAny(s, "-+eE,") {
			t.Fatalf("ParseMinor(%q) accepted a sign, exponent or grouping", s)
		}
	})
}

// BenchmarkParseMinor is the strict amount parser on a typical form value.
func BenchmarkParseMinor(b *testing.B) {
	for b.Loop() {
		if _, err := ParseMinor("25.50", 2); err != nil {
			b.Fatal(err)
		}
	}
}
