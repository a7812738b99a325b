package testkit

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// AxeViolation is one rule axe-core found broken on a page.
type AxeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []string `json:"target"`
	} `json:"nodes"`
}

// AxeScript returns axe-core's script from ./bin (installed by `make axe`). Without it the test
// skips, loudly, or fails under CI=true, naming the make target.
func AxeScript(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Root(t), "bin", "axe", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		msg := "testkit: axe-core is not installed: run `make axe` (npm install into ./bin/axe)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPING ACCESSIBILITY CHECK: " + msg)
	}
	return string(b)
}

// Axe injects axe-core into the page ctx shows and returns its violations.
func Axe(ctx context.Context, script string) ([]AxeViolation, error) {
	var raw string
	err := chromedp.Run(ctx,
		chromedp.Evaluate(script, nil),
		chromedp.Evaluate(`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`, &raw,
			func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
	)
	if err != nil {
		return nil, err
	}
	var out []AxeViolation
	return out, json.Unmarshal([]byte(raw), &out)
}
