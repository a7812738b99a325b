package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// issueExample is the experiment of issue 16, as docs/experiments.md shows it.
const issueExample = `
experiments:
  - name: ask-2027
    start: 2027-01-05        # optional, UTC days; without them it runs until stopped
    end: 2027-02-05
    holdback: 0.05           # share of readers who see no prompt
    variants:
      - {name: control, weight: 1}
      - {name: warm-letter, weight: 1, heading: "Journalism that answers to you", ask: {monthly: "Join us from {min} a month"}}
      - name: bigger-asks
        weight: 2
        presets: {usd: {monthly: [5, 10, 25]}}
        default_amount: {usd: {monthly: 10}}
        default_frequency: annual
        highlight: {monthly: "10"}
`

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pledge.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigExperimentsLoad(t *testing.T) {
	st, es, err := loadConfigFile(writeConfig(t, "organisation: The Ledger\n"+issueExample))
	if err != nil {
		t.Fatal(err)
	}
	if st.Org != "The Ledger" || len(es) != 1 {
		t.Fatalf("settings %q, %d experiments", st.Org, len(es))
	}
	e := es[0]
	if e.Name != "ask-2027" || e.HoldbackShare != 0.05 || len(e.Variants) != 3 || e.Control() != "control" {
		t.Fatalf("experiment %+v", e)
	}
	if !e.Start.Equal(time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC)) || !e.End.Equal(time.Date(2027, 2, 6, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("days %v to %v: the end day is the last one it runs", e.Start, e.End)
	}
	warm := e.Variants[1].Override
	if *warm.Heading != "Journalism that answers to you" || warm.Ask[pledge.Monthly] != "Join us from {min} a month" {
		t.Errorf("warm-letter %+v", warm)
	}
	big := e.Variants[2].Override.Apply(st)
	if tier := big.Catalogue.Tier("usd", pledge.Monthly); tier.Default != 1000 || len(tier.Presets) != 3 ||
		big.DefaultFrequency != pledge.Annual || big.Highlight[pledge.Monthly] != "10" {
		t.Errorf("bigger-asks %+v %s", tier, big.DefaultFrequency)
	}
	// LoadGivingSettings, used where experiments do not matter, reads the same file.
	if _, err := LoadGivingSettings(writeConfig(t, issueExample)); err != nil {
		t.Errorf("LoadGivingSettings: %v", err)
	}
}

func TestConfigExperimentErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"experiments:\n  - name: a\n    variants:\n      - {name: control, weight: 1}\n      - {name: b, weight: 0}\n",
			"experiments[0].variants[1].weight: must be positive"},
		{"experiments:\n  - name: a\n    variants:\n      - {name: control, weight: 1}\n      - {name: b}\n",
			"experiments[0].variants[1].weight: required"},
		{"experiments:\n  - name: a\n    start: 5 January\n    variants:\n      - {name: control, weight: 1}\n",
			`experiments[0].start: "5 January" is not a day`},
		{"experiments:\n  - name: a\n    variants:\n      - {name: control, weight: 1}\n      - {name: b, weight: 1, presets: {usd: {monthly: [1]}}}\n",
			"experiments[0].variants[1].presets.usd.monthly[0]: must lie between"},
		{"experiments:\n  - name: a\n    variants:\n      - {name: control, weight: 1, colour: red}\n",
			"experiments[0].variants[0]: line 4: unknown field colour"},
		{"experiments:\n  - name: a\n    variants:\n      - {name: control, weight: 1, presets: {usd: {monthly: [x]}}}\n",
			`experiments[0].variants[0].presets.usd.monthly[0]: "x" is not an amount in USD`},
		{"experiments: {name: a}\n", "experiments: line 1: a list of experiments"},
	} {
		_, _, err := loadConfigFile(writeConfig(t, tc.body))
		if err == nil || !strings.Contains(err.Error(), "pledge.yaml: "+tc.want) {
			t.Errorf("%q:\nerr  %v\nwant %q", tc.body, err, tc.want)
		}
	}
}

// TestConfigExperimentErrorStopsStart: Validate (what serve runs first) refuses a broken
// experiment with the variable and the field named.
func TestConfigExperimentErrorStopsStart(t *testing.T) {
	p := writeConfig(t, "experiments:\n  - name: a\n    variants:\n      - {name: control, weight: 1}\n      - {name: b, weight: -1}\n")
	cfg := ConfigFromEnv(func(k string) string {
		return map[string]string{"PLEDGE_CONFIG": p, "PLEDGE_DEMO": "1"}[k]
	})
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "PLEDGE_CONFIG") || !strings.Contains(err.Error(), "experiments[0].variants[1].weight: must be positive") {
		t.Fatalf("err = %v", err)
	}
}

// TestDocExperimentExampleLoads: docs/experiments.md's example is a valid PLEDGE_CONFIG.
func TestDocExperimentExampleLoads(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "experiments.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Running one\n")
	_, rest, ok2 := strings.Cut(section, "```yaml\n")
	example, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("docs/experiments.md's Running one section has no yaml example")
	}
	_, es, err := loadConfigFile(writeConfig(t, example))
	if err != nil || len(es) != 1 || len(es[0].Variants) != 3 || es[0].HoldbackShare != 0.05 {
		t.Fatalf("docs/experiments.md example: %v %+v", err, es)
	}
}
