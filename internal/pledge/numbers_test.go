package pledge

import (
	"testing"

	"golang.org/x/text/language"
)

func TestNumbers(t *testing.T) {
	en := NewNumbers(language.Und)
	for _, tc := range []struct{ name, got, want string }{
		{"count", en.Int(186420), "186,420"},
		{"small count", en.Int(7), "7"},
		{"money", en.Money(Money{Amount: 123450, Currency: "usd"}), "$1,234.50"},
		{"euro", en.Money(Money{Amount: 1735200, Currency: "eur"}), "€17,352.00"},
		{"negative", en.Money(Money{Amount: -500, Currency: "gbp"}), "-£5.00"},
		{"zero-decimal", en.Money(Money{Amount: 123456, Currency: "jpy"}), "¥123,456"},
		{"decimal only", en.Decimal(Money{Amount: 327950, Currency: "usd"}), "3,279.50"},
		{"percent", en.Percent(0.01234, 2), "1.23%"},
		{"zero value is English", Numbers{}.Money(Money{Amount: 100, Currency: "usd"}), "$1.00"},
		{"german", NewNumbers(language.German).Int(186420), "186.420"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}
