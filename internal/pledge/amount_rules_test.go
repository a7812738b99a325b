package pledge_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/pledge-news/pledge/internal/pledge"
)

// amountRules is testdata/amounts.json: a catalogue and what readers' typed amounts come to in
// it. The browser's check (prompt.js) is tested against the same file.
type amountRules struct {
	Currencies map[string]map[string]struct {
		Presets []string `json:"presets"`
		Default string   `json:"default"`
		Min     string   `json:"min"`
		Max     string   `json:"max"`
	} `json:"currencies"`
	Cases []struct {
		Input     string `json:"input"`
		Currency  string `json:"currency"`
		Frequency string `json:"frequency"`
		Minor     *int64 `json:"minor"`
		Error     string `json:"error"`
	} `json:"cases"`
}

func TestAmountRules(t *testing.T) {
	b, err := os.ReadFile("testdata/amounts.json")
	if err != nil {
		t.Fatal(err)
	}
	var rules amountRules
	if err := json.Unmarshal(b, &rules); err != nil {
		t.Fatal(err)
	}
	cat := pledge.Catalogue{Tiers: map[pledge.Currency]map[pledge.Frequency]pledge.Tier{}}
	minor := func(s string, cur pledge.Currency) int64 {
		n, err := pledge.ParseMinor(s, cur.Decimals())
		if err != nil {
			t.Fatalf("amounts.json: %s %q: %v", cur, s, err)
		}
		return n
	}
	for code, tiers := range rules.Currencies {
		cur := pledge.Currency(code)
		cat.Currencies = append(cat.Currencies, cur)
		cat.Tiers[cur] = map[pledge.Frequency]pledge.Tier{}
		for f, tf := range tiers {
			tier := pledge.Tier{Default: minor(tf.Default, cur), Min: minor(tf.Min, cur), Max: minor(tf.Max, cur)}
			for _, p := range tf.Presets {
				tier.Presets = append(tier.Presets, minor(p, cur))
			}
			cat.Tiers[cur][pledge.Frequency(f)] = tier
		}
	}
	cat.Default = cat.Currencies[0]
	if err := cat.Validate(); err != nil {
		t.Fatalf("amounts.json: %v", err)
	}
	if len(rules.Cases) < 40 {
		t.Fatalf("%d cases read, want the whole table", len(rules.Cases))
	}
	for _, tc := range rules.Cases {
		t.Run(tc.Currency+"/"+tc.Frequency+"/"+strings.ReplaceAll(tc.Input, " ", "_"), func(t *testing.T) {
			if (tc.Minor == nil) == (tc.Error == "") {
				t.Fatal("amounts.json: a case gives either minor or error")
			}
			cur := pledge.Currency(tc.Currency)
			f, err := pledge.ParseFrequency(tc.Frequency)
			if err != nil {
				t.Fatal(err)
			}
			n, err := pledge.ParseAmount(tc.Input, cur)
			if err == nil {
				err = cat.Check(f, pledge.Money{Amount: n, Currency: cur})
			}
			var gotKey string
			if err != nil {
				var e *pledge.Error
				if !errors.As(err, &e) || e.Key == "" {
					t.Fatalf("error %v has no catalogue key", err)
				}
				gotKey = e.Key
			}
			switch {
			case tc.Error != "" && gotKey != tc.Error:
				t.Fatalf("ParseAmount(%q, %s) = %d, %q; want the error %q", tc.Input, cur, n, gotKey, tc.Error)
			case tc.Minor != nil && (err != nil || n != *tc.Minor):
				t.Fatalf("ParseAmount(%q, %s) = %d, %v; want %d", tc.Input, cur, n, err, *tc.Minor)
			}
		})
	}
}
