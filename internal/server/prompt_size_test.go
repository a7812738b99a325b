package server

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// The prompt is on every article view (issue 18): in the default configuration it stays under
// 6 KB, and what does not change between readers is not in it. The amounts catalogue comes in
// its own script, named by the hash of its content and cached for good, which prompt.js reads.
func TestPromptIsSmallAndItsCatalogueCached(t *testing.T) {
	f := newGivingFixture(t, okPayments())
	resp, body := f.do(http.MethodGet, "/prompt?article=https://news.example/2026/11/the-council-budget", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if n := len(body); n >= 6<<10 {
		t.Errorf("the prompt is %d bytes, want under 6 KB", n)
	}
	for _, inline := range []string{"data-catalogue", "<svg", "\n  "} {
		if strings.Contains(body, inline) {
			t.Errorf("the prompt carries %q", inline)
		}
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the prompt's Cache-Control is %q", cc)
	}
	m := regexp.MustCompile(`<script src="(/static/catalogue/[0-9a-f]{16}\.js)" defer></script>\n<script src="/static/js/prompt\.js`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no catalogue script before prompt.js in the prompt:\n%s", body)
	}
	resp, script := f.do(http.MethodGet, m[1], nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d", m[1], resp.StatusCode)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Errorf("%s: Cache-Control %q", m[1], cc)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("%s: Content-Type %q", m[1], ct)
	}
	js, ok := strings.CutPrefix(strings.TrimSpace(script), "window.PledgeCatalogue=")
	var cat catalogueJSON
	if !ok || json.Unmarshal([]byte(strings.TrimSuffix(js, ";")), &cat) != nil || cat.Currency != "USD" || len(cat.Tiers) != 3 {
		t.Errorf("%s is not the dollar catalogue:\n%s", m[1], script)
	}
	// Another language's words are another script; a name no prompt set made is not found.
	_, ru := f.do(http.MethodGet, "/prompt?article=https://news.example/a", nil, "Accept-Language", "ru")
	if strings.Contains(ru, m[1]) {
		t.Error("the Russian prompt names the English catalogue")
	}
	if resp, _ := f.do(http.MethodGet, "/static/catalogue/0123456789abcdef.js", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown catalogue: status %d", resp.StatusCode)
	}
}
