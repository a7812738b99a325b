package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pledge-news/pledge/internal/billing"
	"github.com/pledge-news/pledge/internal/locale"
	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/postgres"
	"github.com/pledge-news/pledge/internal/seal"
	"github.com/pledge-news/pledge/internal/server"
	"github.com/pledge-news/pledge/internal/sqlite"
)

// Config is the whole service configuration: filled from the environment, overridden by flags,
// validated once at start, then passed down explicitly. Nothing else reads the environment.
type Config struct {
	Addr string
	// MetricsAddr is where /metrics is served, never on Addr; "" or "off" serves none.
	MetricsAddr string
	DB          string
	BaseURL     string
	// SiteID is the pledge_site mark on this deployment's Stripe objects; "" is the base URL's
	// host.
	SiteID     string
	Secret     string
	ConfigFile string
	Demo       bool

	TrustedProxies string
	EmbedOrigins   string
	DonateLimit    string
	// DonateGlobalLimit caps POST /donate over all clients together; "" is ten times DonateLimit.
	DonateGlobalLimit string
	RemindLimit       string
	// Instances is how many Pledge instances share the database; each enforces its share of
	// the rate limits above.
	Instances     string
	StaffIdle     string
	PromptViewCap string

	SMTPURL  string
	MailFrom string
	// RenewalNotice is how long before an annual renewal its notice e-mail goes: a Go duration
	// or a number of days ("14d").
	RenewalNotice string

	// Protect is PLEDGE_PROTECT: "1" turns on protective mode.
	Protect string
	// Retention is PLEDGE_RETENTION: how long data the accounts do not need is kept ("400d",
	// a Go duration, or "off"); "" is 400d in protective mode, off otherwise.
	Retention string

	// DataKeyFile is the key file sealing readers' personal data at rest; "none" runs without
	// (said explicitly), and "" is allowed in demo mode only.
	DataKeyFile string

	StripeSecretKey     string
	StripeWebhookSecret string
	StripeAPIBase       string

	// Derived by Validate.
	baseURL        *url.URL
	trustedProxies []*net.IPNet
	embedOrigins   []string
	webhookSecrets []string
	staffIdle      time.Duration
	renewalNotice  time.Duration
	giving         pledge.Settings
	experiments    []pledge.Experiment
	sealer         *seal.Sealer // nil: readers' data stored as given
	protect        bool
	retention      time.Duration // 0: nothing purged
	langs          *locale.Set   // the catalogues built from giving (server.LoadLanguages)
	// The rate limits and the prompt's view cap, parsed; donateGlobal is zero when unset, which
	// the server reads as ten times donateLimit.
	donateLimit, donateGlobal, remindLimit, promptViewCap server.Limit
}

// DefaultRetention is PLEDGE_RETENTION's default in protective mode.
const DefaultRetention = 400 * 24 * time.Hour

// parseRetention reads "400d", a Go duration such as "9600h", or "off" (0).
func parseRetention(s string) (time.Duration, error) {
	if s == "off" {
		return 0, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("%q is not a number of days such as 400d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 24*time.Hour {
		return 0, fmt.Errorf("%q is not a duration of a day or more, such as 400d (or off)", s)
	}
	return v, nil
}

// envNames maps each Config field to its environment variable; docker-compose.yml and the README
// are checked against this table by a test.
var envNames = []struct {
	Name  string
	Field func(*Config) *string
	Usage string
}{
	{"PLEDGE_ADDR", func(c *Config) *string { return &c.Addr }, "listen address"},
	{"PLEDGE_METRICS_ADDR", func(c *Config) *string { return &c.MetricsAddr }, "where /metrics is served (never the main listener); empty or off: nowhere"},
	{"PLEDGE_DB", func(c *Config) *string { return &c.DB }, "SQLite file, or postgres:// URL (PostgreSQL)"},
	{"PLEDGE_BASE_URL", func(c *Config) *string { return &c.BaseURL }, "public URL of this service"},
	{"PLEDGE_SITE_ID", func(c *Config) *string { return &c.SiteID }, "this deployment's mark on its Stripe objects (pledge_site; default: the base URL's host)"},
	{"PLEDGE_SECRET", func(c *Config) *string { return &c.Secret }, "key for signed cookies and links (32+ bytes)"},
	{"PLEDGE_CONFIG", func(c *Config) *string { return &c.ConfigFile }, "optional configuration file"},
	{"PLEDGE_TRUSTED_PROXIES", func(c *Config) *string { return &c.TrustedProxies }, "CIDRs whose X-Forwarded-For is believed"},
	{"PLEDGE_EMBED_ORIGINS", func(c *Config) *string { return &c.EmbedOrigins }, "article origins that may embed the prompt"},
	{"PLEDGE_DONATE_LIMIT", func(c *Config) *string { return &c.DonateLimit }, "POST /donate attempts per client IP, N/DURATION"},
	{"PLEDGE_DONATE_GLOBAL_LIMIT", func(c *Config) *string { return &c.DonateGlobalLimit }, "POST /donate attempts over all clients, N/DURATION (default 10x PLEDGE_DONATE_LIMIT)"},
	{"PLEDGE_REMIND_LIMIT", func(c *Config) *string { return &c.RemindLimit }, "each of POST /remind, /manage and /manage/TOKEN per client IP, N/DURATION"},
	{"PLEDGE_INSTANCES", func(c *Config) *string { return &c.Instances }, "how many instances share the database (PostgreSQL); each enforces 1/N of the rate limits"},
	{"PLEDGE_STAFF_IDLE", func(c *Config) *string { return &c.StaffIdle }, "staff sessions end after this long unused"},
	{"PLEDGE_PROMPT_VIEW_CAP", func(c *Config) *string { return &c.PromptViewCap }, "prompt showings per reader before it goes quiet, N/DURATION"},
	{"PLEDGE_PROTECT", func(c *Config) *string { return &c.Protect }, "1: protective mode for newsrooms whose readers are at risk"},
	{"PLEDGE_RETENTION", func(c *Config) *string { return &c.Retention }, "how long data the accounts do not need is kept, e.g. 400d, or off (default: 400d in protective mode, else off)"},
	{"PLEDGE_DATA_KEY_FILE", func(c *Config) *string { return &c.DataKeyFile }, "key file sealing readers' personal data at rest (pledge keys new FILE); none: run without"},
	{"PLEDGE_SMTP_URL", func(c *Config) *string { return &c.SMTPURL }, "SMTP server for reminder e-mail"},
	{"PLEDGE_MAIL_FROM", func(c *Config) *string { return &c.MailFrom }, "sender address of reminder e-mail"},
	{"PLEDGE_RENEWAL_NOTICE", func(c *Config) *string { return &c.RenewalNotice }, "how long before an annual renewal its notice is sent (e.g. 14d)"},
	{"STRIPE_SECRET_KEY", func(c *Config) *string { return &c.StripeSecretKey }, "Stripe secret key"},
	{"STRIPE_WEBHOOK_SECRET", func(c *Config) *string { return &c.StripeWebhookSecret }, "webhook signing secrets, comma-separated"},
	{"STRIPE_API_BASE", func(c *Config) *string { return &c.StripeAPIBase }, "Stripe API URL"},
}

// DefaultConfig returns the defaults of DESIGN.md's table.
func DefaultConfig() Config {
	return Config{
		Addr:          ":8080",
		MetricsAddr:   "127.0.0.1:9090",
		DB:            "./var/pledge.db",
		BaseURL:       "http://localhost:8080",
		DonateLimit:   "10/10m",
		RemindLimit:   "30/10m",
		Instances:     "1",
		StaffIdle:     shortDuration(sqlite.DefaultStaffIdle),
		PromptViewCap: formatLimit(server.DefaultViewCap),
		RenewalNotice: "14d",
	}
}

// ConfigFromEnv reads the environment over the defaults.
func ConfigFromEnv(getenv func(string) string) Config {
	c := DefaultConfig()
	for _, e := range envNames {
		if v := getenv(e.Name); v != "" {
			*e.Field(&c) = v
		}
	}
	c.Demo = getenv("PLEDGE_DEMO") == "1" || strings.EqualFold(getenv("PLEDGE_DEMO"), "true")
	return c
}

// RegisterFlags lets flags override every variable: PLEDGE_BASE_URL is -base-url, and so on.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	for _, e := range envNames {
		name := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(e.Name, "PLEDGE_"), "_", "-"))
		fs.StringVar(e.Field(c), name, *e.Field(c), e.Usage+" ("+e.Name+")")
	}
	fs.BoolVar(&c.Demo, "demo", c.Demo, "demo checkout, refused with a live key (PLEDGE_DEMO)")
}

// ConfigError names the variable at fault.
type ConfigError struct {
	Var string
	Msg string
}

func (e *ConfigError) Error() string { return e.Var + ": " + e.Msg }

// Validate checks every rule, cross-field ones included, and fills the derived fields. The first
// problem is returned as a *ConfigError naming its variable.
func (c *Config) Validate() error {
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.HasSuffix(u.Host, ":") || u.RawQuery != "" || u.Fragment != "" {
		return &ConfigError{"PLEDGE_BASE_URL", fmt.Sprintf("%q is not an absolute http(s) URL such as https://support.news.example", c.BaseURL)}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	c.baseURL = u
	if c.SiteID == "" {
		c.SiteID = strings.NewReplacer("[", "", "]", "").Replace(u.Host) // an IPv6 host loses its brackets
	}
	if !validSiteID(c.SiteID) {
		return &ConfigError{"PLEDGE_SITE_ID", fmt.Sprintf("%q must be 1 to 100 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'", c.SiteID)}
	}

	if c.Demo && billing.IsLiveKey(c.StripeSecretKey) {
		return &ConfigError{"PLEDGE_DEMO", "refusing demo mode with a live key (STRIPE_SECRET_KEY starts with sk_live_)"}
	}
	if c.StripeSecretKey == "" && !c.Demo {
		return &ConfigError{"STRIPE_SECRET_KEY", "required (sk_test_... or sk_live_...) unless PLEDGE_DEMO=1"}
	}
	if c.StripeSecretKey == "" {
		c.StripeSecretKey = "sk_test_demo" // stripe-mock accepts any test key
	}
	if err := billing.ValidateKey(c.StripeSecretKey); err != nil {
		return &ConfigError{"STRIPE_SECRET_KEY", err.Error()}
	}
	c.webhookSecrets = splitList(c.StripeWebhookSecret)
	if len(c.webhookSecrets) == 0 && !c.Demo {
		return &ConfigError{"STRIPE_WEBHOOK_SECRET", "required (whsec_...; several, comma-separated, during rotation)"}
	}
	for _, s := range c.webhookSecrets {
		if !strings.HasPrefix(s, "whsec_") {
			return &ConfigError{"STRIPE_WEBHOOK_SECRET", "each secret must start with whsec_"}
		}
	}
	if c.StripeAPIBase != "" {
		if u, err := url.Parse(c.StripeAPIBase); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return &ConfigError{"STRIPE_API_BASE", fmt.Sprintf("%q is not an absolute http(s) URL", c.StripeAPIBase)}
		}
	}
	if c.Secret != "" && len(c.Secret) < 32 {
		return &ConfigError{"PLEDGE_SECRET", "must be at least 32 bytes (try: openssl rand -hex 32)"}
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return &ConfigError{"PLEDGE_ADDR", fmt.Sprintf("%q is not host:port", c.Addr)}
	}
	if c.MetricsAddr == "off" {
		c.MetricsAddr = ""
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return &ConfigError{"PLEDGE_METRICS_ADDR", fmt.Sprintf("%q is not host:port (or empty, or off, to serve no metrics)", c.MetricsAddr)}
		}
		if c.MetricsAddr == c.Addr {
			return &ConfigError{"PLEDGE_METRICS_ADDR", "must differ from PLEDGE_ADDR: metrics are never served on the main listener"}
		}
	}
	if c.DB == "" {
		return &ConfigError{"PLEDGE_DB", "required"}
	}
	// A postgres:// URL must parse; anything else is an SQLite file, whose directory and modes
	// the store checks when it opens it.
	if postgres.IsURL(c.DB) {
		if err := postgres.ParseURL(c.DB); err != nil {
			return &ConfigError{"PLEDGE_DB", fmt.Sprintf("%s is not a PostgreSQL URL pgx can use: %v", postgres.Redact(c.DB), err)}
		}
	}
	c.trustedProxies = nil
	for _, s := range splitList(c.TrustedProxies) {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return &ConfigError{"PLEDGE_TRUSTED_PROXIES", fmt.Sprintf("%q is not a CIDR such as 10.0.0.0/8", s)}
		}
		c.trustedProxies = append(c.trustedProxies, n)
	}
	c.embedOrigins = []string{u.Scheme + "://" + u.Host}
	for _, s := range splitList(c.EmbedOrigins) {
		o, err := url.Parse(s)
		if err != nil || (o.Scheme != "http" && o.Scheme != "https") || o.Host == "" || (o.Path != "" && o.Path != "/") {
			return &ConfigError{"PLEDGE_EMBED_ORIGINS", fmt.Sprintf("%q is not an origin such as https://news.example", s)}
		}
		if origin := o.Scheme + "://" + o.Host; origin != c.embedOrigins[0] {
			c.embedOrigins = append(c.embedOrigins, origin)
		}
	}
	c.donateGlobal = server.Limit{}
	for _, l := range []struct {
		name, v string
		to      *server.Limit
	}{
		{"PLEDGE_DONATE_LIMIT", c.DonateLimit, &c.donateLimit},
		{"PLEDGE_REMIND_LIMIT", c.RemindLimit, &c.remindLimit},
		{"PLEDGE_PROMPT_VIEW_CAP", c.PromptViewCap, &c.promptViewCap},
		{"PLEDGE_DONATE_GLOBAL_LIMIT", c.DonateGlobalLimit, &c.donateGlobal},
	} {
		if l.v == "" && l.to == &c.donateGlobal {
			continue
		}
		n, per, err := ParseLimit(l.v)
		if err != nil {
			return &ConfigError{l.name, err.Error()}
		}
		*l.to = server.Limit{N: n, Per: per}
	}
	instances, err := strconv.Atoi(c.Instances)
	if err != nil || instances < 1 || instances > 1000 {
		return &ConfigError{"PLEDGE_INSTANCES", fmt.Sprintf("%q is not a number of instances from 1 to 1000", c.Instances)}
	}
	// The card-testing limits hold across instances without a shared counter on the reader's
	// path: each instance allows its share (rounded down, at least one), so however the load
	// balancer spreads a client's requests, the instances together allow at most the limit.
	for _, l := range []*server.Limit{&c.donateLimit, &c.remindLimit, &c.donateGlobal} {
		if l.N > 0 {
			l.N = max(1, l.N/instances)
		}
	}
	if c.staffIdle, err = time.ParseDuration(c.StaffIdle); err != nil || c.staffIdle < time.Minute {
		return &ConfigError{"PLEDGE_STAFF_IDLE", fmt.Sprintf("%q is not a duration of a minute or more, such as 12h", c.StaffIdle)}
	}
	if c.renewalNotice, err = parseDays(c.RenewalNotice); err != nil || c.renewalNotice < time.Hour || c.renewalNotice > 60*24*time.Hour {
		return &ConfigError{"PLEDGE_RENEWAL_NOTICE", fmt.Sprintf("%q is not a duration between an hour and 60 days, such as 14d or 336h", c.RenewalNotice)}
	}
	if (c.SMTPURL == "") != (c.MailFrom == "") {
		if c.SMTPURL == "" {
			return &ConfigError{"PLEDGE_SMTP_URL", "required when PLEDGE_MAIL_FROM is set"}
		}
		return &ConfigError{"PLEDGE_MAIL_FROM", "required when PLEDGE_SMTP_URL is set"}
	}
	if c.SMTPURL != "" {
		if u, err := url.Parse(c.SMTPURL); err != nil || u.Hostname() == "" || (u.Scheme != "smtp" && u.Scheme != "smtps") {
			return &ConfigError{"PLEDGE_SMTP_URL", "must look like smtp://host:port or smtps://user:pass@host:port"}
		}
		if _, err := mail.ParseAddress(c.MailFrom); err != nil {
			return &ConfigError{"PLEDGE_MAIL_FROM", "must be an address such as \"Newsroom <support@news.example>\""}
		}
	}
	if c.giving, c.experiments, err = loadConfigFile(c.ConfigFile); err != nil {
		return &ConfigError{"PLEDGE_CONFIG", err.Error()}
	}
	switch strings.ToLower(c.Protect) {
	case "", "0", "false":
		c.protect = false
	case "1", "true":
		c.protect = true
	default:
		return &ConfigError{"PLEDGE_PROTECT", fmt.Sprintf("%q must be 1 or 0", c.Protect)}
	}
	c.retention = 0
	switch {
	case c.Retention != "":
		if c.retention, err = parseRetention(c.Retention); err != nil {
			return &ConfigError{"PLEDGE_RETENTION", err.Error()}
		}
	case c.protect:
		c.retention = DefaultRetention
	}
	if c.protect && c.SMTPURL != "" && c.giving.Protect.MailFrom == "" {
		return &ConfigError{"PLEDGE_CONFIG", "protect.mail_from: required in protective mode when e-mail is on " +
			"(a neutral sender such as \"Notifications <no-reply@mail.example>\")"}
	}
	if c.DataKeyFile == "" && !c.Demo {
		return &ConfigError{"PLEDGE_DATA_KEY_FILE", "required: readers' addresses and names are encrypted with it " +
			"(make one with: pledge keys new /etc/pledge/data.key); set it to none to store them unencrypted"}
	}
	if c.langs, err = server.LoadLanguages(c.giving); err != nil {
		return &ConfigError{"PLEDGE_CONFIG", err.Error()}
	}
	return c.loadDataKey()
}

// loadDataKey reads PLEDGE_DATA_KEY_FILE, unless it is "" or "none".
func (c *Config) loadDataKey() error {
	c.sealer = nil
	if c.DataKeyFile == "" || c.DataKeyFile == "none" {
		return nil
	}
	var err error
	if c.sealer, err = seal.Load(c.DataKeyFile); err != nil {
		return &ConfigError{"PLEDGE_DATA_KEY_FILE", err.Error()}
	}
	return nil
}

// newDB returns the store for PLEDGE_DB, sealing readers' data with the data key of
// PLEDGE_DATA_KEY_FILE when there is one. Commands open the database through it, or through
// store when they bring their own key (keys rotate) or need none.
func (c *Config) newDB() (*sqlite.DB, error) {
	if c.sealer == nil {
		if err := c.loadDataKey(); err != nil {
			return nil, err
		}
	}
	db := c.store()
	if c.sealer != nil {
		db.Sealer = c.sealer
	}
	return db, nil
}

// openDB returns newDB's store, open: for the commands that need only the ledger.
func (c *Config) openDB(ctx context.Context) (*sqlite.DB, error) {
	db, err := c.newDB()
	if err != nil {
		return nil, err
	}
	if err := db.Open(ctx); err != nil {
		return nil, err
	}
	return db, nil
}

// store returns the store PLEDGE_DB names, not yet open and without a data key: PostgreSQL
// (through pgx) for a postgres:// or postgresql:// URL, else the SQLite file at that path. It is
// the one place that turns PLEDGE_DB into a store.
func (c *Config) store() *sqlite.DB {
	return sqlite.NewDB(c.DB)
}

// validSiteID reports whether s can be a pledge_site mark: short, plain and printable, as a
// Stripe metadata value that identifies one deployment.
func validSiteID(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("._:-", r):
		default:
			return false
		}
	}
	return true
}

// parseDays reads a Go duration, or a whole number of days written Nd ("14d").
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d < 0 {
			return 0, errors.New("bad number of days")
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// formatLimit writes a limit as ParseLimit reads it, for the defaults kept by the packages that
// apply them: 4/720h.
func formatLimit(l server.Limit) string { return fmt.Sprintf("%d/%s", l.N, shortDuration(l.Per)) }

// shortDuration writes d as a setting is written, without trailing zero units: 12h, 10m.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ParseLimit reads a rate limit written N/DURATION ("10/10m").
func ParseLimit(s string) (n int, per time.Duration, err error) {
	a, b, ok := strings.Cut(s, "/")
	if ok {
		n, err = strconv.Atoi(a)
		if err == nil {
			per, err = time.ParseDuration(b)
		}
	}
	if !ok || err != nil || n <= 0 || per <= 0 {
		return 0, 0, errors.New("must be N/DURATION, such as 10/10m")
	}
	return n, per, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
