package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/pledge-news/pledge/internal/testkit"
)

// TestBrowserAmountRules runs the prompt's own check (prompt.js, PledgeAmount.validate) in
// Chromium over internal/pledge/testdata/amounts.json, the table TestAmountRules holds
// pledge.ParseAmount and the catalogue's limits to: one rule set, checked on both sides.
func TestBrowserAmountRules(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testkit.Root(t), "internal", "pledge", "testdata", "amounts.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Currencies json.RawMessage `json:"currencies"`
		Cases      []struct {
			Input     string `json:"input"`
			Currency  string `json:"currency"`
			Frequency string `json:"frequency"`
			Minor     *int64 `json:"minor"`
			Error     string `json:"error"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &rules); err != nil {
		t.Fatal(err)
	}
	// JSON is YAML: the table's catalogue is the service's configuration.
	conf := filepath.Join(t.TempDir(), "amounts.yaml")
	if err := os.WriteFile(conf, []byte(`{"currencies": `+string(rules.Currencies)+`}`), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDemo(t, map[string]string{"PLEDGE_CONFIG": conf})
	ctx := testkit.Browser(t)
	type result struct {
		Minor *int64 `json:"minor"`
		Err   string `json:"err"`
	}
	byCurrency := map[string][]int{}
	for i, tc := range rules.Cases {
		byCurrency[tc.Currency] = append(byCurrency[tc.Currency], i)
	}
	checked := 0
	for cur, idx := range byCurrency {
		inputs, freqs := make([]string, len(idx)), make([]string, len(idx))
		for j, i := range idx {
			inputs[j], freqs[j] = rules.Cases[i].Input, rules.Cases[i].Frequency
		}
		in, _ := json.Marshal(inputs)
		fr, _ := json.Marshal(freqs)
		var got []result
		err := chromedp.Run(ctx,
			chromedp.Navigate(d.base+"/donate?currency="+cur),
			chromedp.WaitReady(`form.giving`, chromedp.ByQuery),
			chromedp.Evaluate(`(function () {
				var cat = window.PledgeCatalogue;
				var inputs = `+string(in)+`, freqs = `+string(fr)+`;
				return inputs.map(function (s, i) {
					var r = window.PledgeAmount.validate(s, cat, freqs[i]);
					return r.err ? { err: r.err } : { minor: r.minor };
				});
			})()`, &got),
		)
		if err != nil {
			t.Fatalf("%s: %v", cur, err)
		}
		if len(got) != len(idx) {
			t.Fatalf("%s: %d answers for %d cases", cur, len(got), len(idx))
		}
		for j, i := range idx {
			tc, r := rules.Cases[i], got[j]
			key := ""
			if r.Err != "" {
				key = "error.amount." + r.Err
			}
			if tc.Error != "" && key != tc.Error || tc.Minor != nil && (r.Minor == nil || *r.Minor != *tc.Minor) {
				gotMinor := "none"
				if r.Minor != nil {
					gotMinor = strconv.FormatInt(*r.Minor, 10)
				}
				t.Errorf("prompt.js: %q in %s %s = %s, %q; want %v, %q", tc.Input, cur, tc.Frequency, gotMinor, key, deref(tc.Minor), tc.Error)
			}
			checked++
		}
	}
	if checked != len(rules.Cases) || checked < 40 {
		t.Fatalf("checked %d of %d cases", checked, len(rules.Cases))
	}
}

func deref(p *int64) any {
	if p == nil {
		return "none"
	}
	return *p
}
