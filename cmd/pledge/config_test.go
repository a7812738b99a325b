package main

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pledge-news/pledge/internal/seal"
)

func env(kv ...string) func(string) string {
	// No test listens on the default metrics port, which other runs on the machine may hold.
	m := map[string]string{"PLEDGE_METRICS_ADDR": "off"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		env     func(string) string
		wantVar string // "" when valid
	}{
		{"demo needs no keys", env("PLEDGE_DEMO", "1"), ""},
		{"test keys", env("STRIPE_SECRET_KEY", "sk_test_x", "STRIPE_WEBHOOK_SECRET", "whsec_a", "PLEDGE_DATA_KEY_FILE", "none"), ""},
		{"rotation", env("STRIPE_SECRET_KEY", "sk_test_x", "STRIPE_WEBHOOK_SECRET", "whsec_a, whsec_b", "PLEDGE_DATA_KEY_FILE", "none"), ""},
		{"no data key outside demo mode", env("STRIPE_SECRET_KEY", "sk_test_x", "STRIPE_WEBHOOK_SECRET", "whsec_a"), "PLEDGE_DATA_KEY_FILE"},
		{"protective mode", env("PLEDGE_DEMO", "1", "PLEDGE_PROTECT", "1"), ""},
		{"bad protect", env("PLEDGE_DEMO", "1", "PLEDGE_PROTECT", "yes"), "PLEDGE_PROTECT"},
		{"retention", env("PLEDGE_DEMO", "1", "PLEDGE_RETENTION", "400d"), ""},
		{"bad retention", env("PLEDGE_DEMO", "1", "PLEDGE_RETENTION", "forever"), "PLEDGE_RETENTION"},
		{"protective e-mail without a neutral sender", env("PLEDGE_DEMO", "1", "PLEDGE_PROTECT", "1",
			"PLEDGE_SMTP_URL", "smtp://localhost:1025", "PLEDGE_MAIL_FROM", "News <news@news.example>"), "PLEDGE_CONFIG"},
		{"missing data key file", env("PLEDGE_DEMO", "1", "PLEDGE_DATA_KEY_FILE", "/nonexistent/data.key"), "PLEDGE_DATA_KEY_FILE"},
		{"missing secret key", env("STRIPE_WEBHOOK_SECRET", "whsec_a"), "STRIPE_SECRET_KEY"},
		{"live key in demo", env("PLEDGE_DEMO", "1", "STRIPE_SECRET_KEY", "sk_live_x"), "PLEDGE_DEMO"},
		{"malformed base URL", env("PLEDGE_DEMO", "1", "PLEDGE_BASE_URL", "support.news.example"), "PLEDGE_BASE_URL"},
		{"base URL with an empty port", env("PLEDGE_DEMO", "1", "PLEDGE_BASE_URL", "http://localhost:"), "PLEDGE_BASE_URL"},
		{"base URL with a query", env("PLEDGE_DEMO", "1", "PLEDGE_BASE_URL", "https://x.example/?a=1"), "PLEDGE_BASE_URL"},
		{"missing webhook secret", env("STRIPE_SECRET_KEY", "sk_test_x"), "STRIPE_WEBHOOK_SECRET"},
		{"bad webhook secret", env("STRIPE_SECRET_KEY", "sk_test_x", "STRIPE_WEBHOOK_SECRET", "nope"), "STRIPE_WEBHOOK_SECRET"},
		{"bad key", env("PLEDGE_DEMO", "1", "STRIPE_SECRET_KEY", "pk_test_x"), "STRIPE_SECRET_KEY"},
		{"short secret", env("PLEDGE_DEMO", "1", "PLEDGE_SECRET", "short"), "PLEDGE_SECRET"},
		{"bad proxy", env("PLEDGE_DEMO", "1", "PLEDGE_TRUSTED_PROXIES", "10.0.0.1"), "PLEDGE_TRUSTED_PROXIES"},
		{"bad origin", env("PLEDGE_DEMO", "1", "PLEDGE_EMBED_ORIGINS", "news.example"), "PLEDGE_EMBED_ORIGINS"},
		{"bad limit", env("PLEDGE_DEMO", "1", "PLEDGE_DONATE_LIMIT", "10 per minute"), "PLEDGE_DONATE_LIMIT"},
		{"smtp without from", env("PLEDGE_DEMO", "1", "PLEDGE_SMTP_URL", "smtp://localhost:1025"), "PLEDGE_MAIL_FROM"},
		{"bad addr", env("PLEDGE_DEMO", "1", "PLEDGE_ADDR", "8080"), "PLEDGE_ADDR"},
		{"bad API base", env("PLEDGE_DEMO", "1", "STRIPE_API_BASE", "localhost:12111"), "STRIPE_API_BASE"},
		{"site id", env("PLEDGE_DEMO", "1", "PLEDGE_SITE_ID", "news-example.org:eu_1"), ""},
		{"site id with a space", env("PLEDGE_DEMO", "1", "PLEDGE_SITE_ID", "news example"), "PLEDGE_SITE_ID"},
		{"site id with a slash", env("PLEDGE_DEMO", "1", "PLEDGE_SITE_ID", "news.example/eu"), "PLEDGE_SITE_ID"},
		{"renewal notice in days", env("PLEDGE_DEMO", "1", "PLEDGE_RENEWAL_NOTICE", "30d"), ""},
		{"renewal notice as a duration", env("PLEDGE_DEMO", "1", "PLEDGE_RENEWAL_NOTICE", "240h"), ""},
		{"renewal notice too long", env("PLEDGE_DEMO", "1", "PLEDGE_RENEWAL_NOTICE", "90d"), "PLEDGE_RENEWAL_NOTICE"},
		{"renewal notice not a duration", env("PLEDGE_DEMO", "1", "PLEDGE_RENEWAL_NOTICE", "two weeks"), "PLEDGE_RENEWAL_NOTICE"},
		{"site id too long", env("PLEDGE_DEMO", "1", "PLEDGE_SITE_ID", strings.Repeat("a", 101)), "PLEDGE_SITE_ID"},
		{"postgres URL", env("PLEDGE_DEMO", "1", "PLEDGE_DB", "postgres://pledge:pw@db.internal:5432/pledge?sslmode=require"), ""},
		{"postgresql URL", env("PLEDGE_DEMO", "1", "PLEDGE_DB", "postgresql://127.0.0.1/pledge"), ""},
		{"bad postgres URL", env("PLEDGE_DEMO", "1", "PLEDGE_DB", "postgres://x@[::1/pledge"), "PLEDGE_DB"},
		{"bad postgres option", env("PLEDGE_DEMO", "1", "PLEDGE_DB", "postgres://127.0.0.1/pledge?sslmode=sometimes"), "PLEDGE_DB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ConfigFromEnv(tt.env)
			err := cfg.Validate()
			var ce *ConfigError
			switch {
			case tt.wantVar == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantVar != "" && !errors.As(err, &ce):
				t.Fatalf("error = %v, want a ConfigError naming %s", err, tt.wantVar)
			case tt.wantVar != "" && ce.Var != tt.wantVar:
				t.Fatalf("error names %s (%v), want %s", ce.Var, ce, tt.wantVar)
			}
		})
	}
}

func TestConfigDerived(t *testing.T) {
	cfg := ConfigFromEnv(env("PLEDGE_DEMO", "1", "PLEDGE_BASE_URL", "https://support.news.example/",
		"PLEDGE_EMBED_ORIGINS", "https://news.example, https://www.news.example/", "PLEDGE_TRUSTED_PROXIES", "10.0.0.0/8"))
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.embedOrigins, []string{"https://support.news.example", "https://news.example", "https://www.news.example"}; !slices.Equal(got, want) {
		t.Errorf("embed origins = %v, want %v", got, want)
	}
	if cfg.baseURL.String() != "https://support.news.example" {
		t.Errorf("base URL = %q", cfg.baseURL)
	}
	if len(cfg.trustedProxies) != 1 {
		t.Errorf("trusted proxies = %v", cfg.trustedProxies)
	}
	if cfg.SiteID != "support.news.example" {
		t.Errorf("site id = %q, want the base URL's host", cfg.SiteID)
	}
	for base, want := range map[string]string{"http://localhost:8080": "localhost:8080", "http://[::1]:8080/": "::1:8080"} {
		cfg := ConfigFromEnv(env("PLEDGE_DEMO", "1", "PLEDGE_BASE_URL", base))
		if err := cfg.Validate(); err != nil || cfg.SiteID != want {
			t.Errorf("base URL %s: site id %q (%v), want %q", base, cfg.SiteID, err, want)
		}
	}
	cfg = ConfigFromEnv(env("PLEDGE_DEMO", "1", "PLEDGE_SITE_ID", "eu-1"))
	if err := cfg.Validate(); err != nil || cfg.SiteID != "eu-1" {
		t.Errorf("explicit site id = %q (%v)", cfg.SiteID, err)
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	var stderr strings.Builder
	e := &Env{Stderr: &stderr, Getenv: env("PLEDGE_DEMO", "1", "PLEDGE_ADDR", ":9000")}
	cfg, _, err := loadConfig(e, "serve", []string{"-addr", "127.0.0.1:9100", "-base-url", "https://x.example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9100" || cfg.BaseURL != "https://x.example" {
		t.Errorf("flags did not override: %+v", cfg)
	}
}

// TestDockerComposeAgreesWithConfig keeps docker-compose.yml honest: its services exist, every
// variable it gives Pledge is one Config reads, and the addresses point at the services.
func TestDockerComposeAgreesWithConfig(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Build       any               `yaml:"build"`
			Ports       []string          `yaml:"ports"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pledge", "stripe-mock", "mailpit"} {
		if _, ok := compose.Services[name]; !ok {
			t.Fatalf("docker-compose.yml has no %s service", name)
		}
	}
	known := map[string]bool{"PLEDGE_DEMO": true}
	for _, e := range envNames {
		known[e.Name] = true
	}
	p := compose.Services["pledge"]
	for k := range p.Environment {
		if !known[k] {
			t.Errorf("docker-compose.yml sets %s, which Config does not read", k)
		}
	}
	// The container makes its data key at first start (its entrypoint runs pledge keys new);
	// here a key of the test's stands in for it.
	if p.Environment["PLEDGE_DATA_KEY_FILE"] == "" {
		t.Error("docker-compose.yml sets no PLEDGE_DATA_KEY_FILE")
	}
	localKey := filepath.Join(t.TempDir(), "data.key")
	if _, err := seal.CreateKeyFile(localKey); err != nil {
		t.Fatal(err)
	}
	cfg := ConfigFromEnv(func(k string) string {
		if k == "PLEDGE_DATA_KEY_FILE" {
			return localKey
		}
		return p.Environment[k]
	})
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the compose environment does not validate: %v", err)
	}
	_, port, _ := strings.Cut(cfg.Addr, ":")
	if !slices.Contains(p.Ports, port+":"+port) {
		t.Errorf("pledge listens on %s but publishes %v", cfg.Addr, p.Ports)
	}
	if want := "http://stripe-mock:12111"; cfg.StripeAPIBase != want {
		t.Errorf("STRIPE_API_BASE = %q, want %q (the stripe-mock service)", cfg.StripeAPIBase, want)
	}
	if !slices.Contains(compose.Services["stripe-mock"].Ports, "12111:12111") {
		t.Error("stripe-mock does not publish 12111")
	}
	if !strings.Contains(compose.Services["stripe-mock"].Image, "v0.203.0") || !strings.Contains(compose.Services["mailpit"].Image, "v1.33.1") {
		t.Error("compose images are not at the versions the Makefile pins")
	}
	if cfg.SMTPURL != "" && !strings.Contains(cfg.SMTPURL, "mailpit:1025") {
		t.Errorf("PLEDGE_SMTP_URL = %q, want the mailpit service", cfg.SMTPURL)
	}

	// The postgres profile: two instances with one configuration on the postgres service,
	// sharing one key, behind the proxy.
	for _, name := range []string{"postgres", "pledge-key", "pledge-a", "pledge-b", "proxy"} {
		if _, ok := compose.Services[name]; !ok {
			t.Fatalf("docker-compose.yml has no %s service in the postgres profile", name)
		}
	}
	a, b2 := compose.Services["pledge-a"], compose.Services["pledge-b"]
	if !maps.Equal(a.Environment, b2.Environment) {
		t.Error("the two instances are configured differently")
	}
	for k := range a.Environment {
		if !known[k] {
			t.Errorf("docker-compose.yml's instances set %s, which Config does not read", k)
		}
	}
	pg := ConfigFromEnv(func(k string) string {
		if k == "PLEDGE_DATA_KEY_FILE" {
			return localKey
		}
		return a.Environment[k]
	})
	if err := pg.Validate(); err != nil {
		t.Fatalf("the instances' environment does not validate: %v", err)
	}
	if !strings.HasPrefix(pg.DB, "postgres://") || !strings.Contains(pg.DB, "@postgres:5432/") {
		t.Errorf("the instances' PLEDGE_DB = %q, want the postgres service", pg.DB)
	}
	if a.Environment["PLEDGE_INSTANCES"] != "2" {
		t.Errorf("PLEDGE_INSTANCES = %q for two instances", a.Environment["PLEDGE_INSTANCES"])
	}
	if !strings.HasPrefix(compose.Services["postgres"].Image, "postgres:15") {
		t.Errorf("the postgres service runs %q, not PostgreSQL 15 (the version the tests use)", compose.Services["postgres"].Image)
	}
}

// TestREADMEListsEveryVariable keeps the README's configuration table complete.
func TestREADMEListsEveryVariable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, e := range append([]string{"PLEDGE_DEMO"}, envNamesList()...) {
		if !strings.Contains(readme, "| `"+e+"`") && !strings.Contains(readme, "`"+e+"` |") && !strings.Contains(readme, ", `"+e+"`") {
			t.Errorf("README.md's configuration table does not list %s", e)
		}
	}
}

func envNamesList() []string {
	var out []string
	for _, e := range envNames {
		out = append(out, e.Name)
	}
	return out
}

// TestMetricsAddr (issue 13, finding f): /metrics has its own address, loopback by default;
// empty or off turns it off, and it may never be the main listener.
func TestMetricsAddr(t *testing.T) {
	cfg := ConfigFromEnv(func(k string) string { return map[string]string{"PLEDGE_DEMO": "1"}[k] })
	if err := cfg.Validate(); err != nil || cfg.MetricsAddr != "127.0.0.1:9090" {
		t.Errorf("default metrics address %q (%v), want 127.0.0.1:9090", cfg.MetricsAddr, err)
	}
	for in, want := range map[string]string{"off": "", "0.0.0.0:9100": "0.0.0.0:9100"} {
		cfg := ConfigFromEnv(env("PLEDGE_DEMO", "1", "PLEDGE_METRICS_ADDR", in))
		if err := cfg.Validate(); err != nil || cfg.MetricsAddr != want {
			t.Errorf("PLEDGE_METRICS_ADDR=%s: %q (%v), want %q", in, cfg.MetricsAddr, err, want)
		}
	}
	t.Setenv("PLEDGE_METRICS_ADDR", "")
	if got := getenv("PLEDGE_METRICS_ADDR"); got != "off" {
		t.Errorf("PLEDGE_METRICS_ADDR set empty reads %q, want off", got)
	}
	for _, bad := range []string{"9090", ":8080"} {
		cfg := ConfigFromEnv(env("PLEDGE_DEMO", "1", "PLEDGE_METRICS_ADDR", bad))
		var ce *ConfigError
		if err := cfg.Validate(); !errors.As(err, &ce) || ce.Var != "PLEDGE_METRICS_ADDR" {
			t.Errorf("PLEDGE_METRICS_ADDR=%s: %v, want an error naming it", bad, err)
		}
	}
}

// The defaults kept by the packages that apply them (sqlite.DefaultStaffIdle, server.DefaultViewCap)
// read as README's table writes them.
func TestDefaultConfigWritesPackageDefaults(t *testing.T) {
	c := DefaultConfig()
	if c.StaffIdle != "12h" || c.PromptViewCap != "4/720h" {
		t.Fatalf("staff idle %q, view cap %q; want 12h and 4/720h", c.StaffIdle, c.PromptViewCap)
	}
	for d, want := range map[time.Duration]string{10 * time.Minute: "10m", 90 * time.Second: "1m30s", 36 * time.Hour: "36h", 90 * time.Minute: "1h30m"} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
