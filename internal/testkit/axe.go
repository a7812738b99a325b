package testkit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Axe returns the source of axe-core, installed at its pinned version by `make axe`. Without it
// the test is skipped, loudly, with the command that installs it, except under CI=true, where a
// missing axe fails the run.
func Axe(t testing.TB) string {
	t.Helper()
	p := filepath.Join(Root(t), "bin", "axe", "node_modules", "axe-core", "axe.min.js")
	b, err := os.ReadFile(p)
	if err != nil {
		msg := "testkit: axe-core is not installed in ./bin/axe: run `make axe` (it installs the pinned version with npm)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPING ACCESSIBILITY TEST: " + msg)
	}
	return string(b)
}

// AxeViolation is one rule axe found broken, with the elements that break it.
type AxeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

func (v AxeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", v.ID, v.Impact, v.Help)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n    %v %s", n.Target, n.HTML)
	}
	return b.String()
}

// AxeSerious injects axe (its source from Axe) into the page ctx shows, runs it over the whole
// document and returns the violations of serious or critical impact.
func AxeSerious(ctx context.Context, source string) ([]AxeViolation, error) {
	var all []AxeViolation
	await := func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }
	err := chromedp.Run(ctx,
		chromedp.Evaluate(source+"\n;true", nil),
		chromedp.Evaluate(`axe.run(document, { resultTypes: ["violations"] }).then(function (r) { return r.violations; })`, &all, await),
	)
	if err != nil {
		return nil, err
	}
	var out []AxeViolation
	for _, v := range all {
		if v.Impact == "serious" || v.Impact == "critical" {
			out = append(out, v)
		}
	}
	return out, nil
}
