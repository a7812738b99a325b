// Package server is Pledge's HTTP side: Echo, the routes (one register function per area), thin
// handlers, middleware, the renderer and the one error handler. Everything that knows Echo lives
// here, so a move to Echo v5 touches this package alone.
package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/pledge-news/pledge/internal/abtest"
	"github.com/pledge-news/pledge/internal/locale"
	"github.com/pledge-news/pledge/internal/pledge"
)

// Config is what the HTTP side needs to know about its deployment.
type Config struct {
	BaseURL *url.URL
	Org     string // the newsroom's name when Giving is left unset (Giving.Org is the name in force)
	Demo    bool
	// EmbedOrigins are the article origins that may frame the prompt and post its forms.
	EmbedOrigins   []string
	TrustedProxies []*net.IPNet
	// Secret signs cookies and links.
	Secret []byte
	// DonateLimit limits POST /donate per client IP (card-testing defence); RemindLimit limits
	// POST /remind and POST /manage.
	DonateLimit Limit
	RemindLimit Limit
	// DonateGlobal caps POST /donate attempts over all clients together, a second layer against
	// card testing spread over many addresses (zero: ten times DonateLimit).
	DonateGlobal Limit
	// ThanksLimit limits GET /donate/thanks per client IP (default 30 a minute): each visit can
	// cost a Stripe API call, and Stripe's rate limit is shared with session creation.
	ThanksLimit Limit
	// StripeLive links the staff pages to Stripe's live dashboard instead of its test one.
	StripeLive bool
	// Giving is the newsroom's words, amount catalogue and fee formula (PLEDGE_CONFIG); the
	// zero value means pledge.DefaultSettings with Org as the name.
	Giving pledge.Settings
	// StatsFlush is how often prompt views and clicks are written to the store (default 10s).
	StatsFlush time.Duration
	// MailEnabled is whether e-mail is configured; without it /remind offers no e-mail field.
	MailEnabled bool
	// NewsletterURL, when set, is the newsroom's newsletter sign-up page, offered on the
	// thank-you page.
	NewsletterURL string
	// NewsletterOptIn offers a consent checkbox for the newsletter (thank-you page, and the page
	// the thank-you e-mail links to), recorded through Server.Newsletter.
	NewsletterOptIn bool
	// PromptViewCap silences the prompt after N showings within Per (default 4 in 30 days;
	// a negative N switches the cap off). RemindEmailLimit limits POST /remind per e-mail address
	// (default 5 an hour).
	PromptViewCap    Limit
	RemindEmailLimit Limit
	// ManageEmailLimit limits POST /manage per e-mail address (default 5 an hour).
	ManageEmailLimit Limit
	// Protect is protective mode: no article or campaign kept with a gift, no long-lived cookie,
	// nothing in the article site's storage (see Protect).
	Protect Protect
}

// Secure reports whether the service is served over https, which switches on HSTS and Secure
// cookies.
func (c Config) Secure() bool { return c.BaseURL != nil && c.BaseURL.Scheme == "https" }

// Server serves Pledge over HTTP. Its service fields are interfaces, set by cmd/pledge (or by
// tests, with mocks) before Handler is called.
type Server struct {
	cfg      Config
	echo     *echo.Echo
	logger   *slog.Logger
	renderer *renderer
	metrics  *metrics
	static   fs.FS
	// catalogues are the donation form's catalogue scripts (currencyView.script) by URL path,
	// of every prompt set built so far: a page rendered before a new plan still finds its own.
	catalogues sync.Map
	macs       macPool // the cookies' HMAC states (cookies.go)

	// Metrics holds the service's Prometheus series; MetricsHandler serves them.
	Metrics *vm.Set
	// Ready reports an error when the service cannot serve (database, migrations).
	Ready func(ctx context.Context) error

	Checkouts pledge.CheckoutService
	// Staff, Reports and Supporters serve the staff area.
	Staff      pledge.StaffService
	Reports    pledge.ReportService
	Supporters pledge.SupporterService
	// Exports streams the ledger for /staff/export (the same writer as `pledge export`).
	Exports pledge.ExportService
	// Payments creates and fetches Stripe Checkout Sessions.
	Payments pledge.PaymentService
	// PromptStats stores prompt views and clicks, written in batches; nil counts nothing.
	PromptStats pledge.PromptStatService
	// Deferrals stores "Remind me later" and cancels reminder e-mails.
	Deferrals pledge.DeferralService
	// Manage finds supporters for /manage and spends its single-use links; Portal creates Stripe
	// billing-portal sessions; SendManageLink e-mails a supporter their links, in the language of
	// the /manage page they asked on (nil without SMTP).
	Manage         pledge.ManageService
	Portal         pledge.PortalService
	SendManageLink func(ctx context.Context, to, lang, manageURL, cancelURL string) error
	// DemoPay, in demo mode only, "pays" a checkout by posting signed events of the shapes Stripe
	// sends to the service's own webhook. Nil: the demo stops at the thank-you page.
	DemoPay func(ctx context.Context, c *pledge.Checkout) error
	// Webhooks receives Stripe's events at POST /webhooks/stripe.
	Webhooks pledge.WebhookService
	// Mail serves the supporter e-mails' links and /staff/emails; Statements and StatementFile
	// (format pdf or html -> content type and body) the staff's statement downloads. Nil: none.
	Mail pledge.MailService
	// Newsletter records newsletter consents (Config.NewsletterOptIn); nil: none.
	Newsletter    pledge.NewsletterService
	Statements    pledge.StatementService
	StatementFile func(st *pledge.Statement, format string) (string, []byte, error)
	// Experiments stores experiments' counts and staff's decisions (/staff/experiments).
	Experiments pledge.ExperimentService

	// live is the plan of experiments in force with its pre-rendered prompts (SetPlan);
	// assigner puts readers into their arms.
	live     atomic.Pointer[livePlan]
	assigner pledge.Assigner
	// origin is Pledge's own origin (scheme://host of BaseURL), set once in New.
	origin string

	// policies holds each route path's policy, set by the areas that register the routes
	// (routes.go); direct holds the routes whose plain GETs are answered without echo (direct.go).
	policies map[string]policy
	direct   map[string]*directRoute
	// security is the headers every response carries (securityHeaders); recover is the panic
	// handler of every request, echo's or a direct route's.
	security securityHeaderSet
	recover  echo.MiddlewareFunc

	// giving is the way from a choice to Stripe Checkout; New builds it, Handler gives it the
	// Checkouts and Payments set in between.
	giving *pledge.Giving
	// base is the prompt for the settings the server started with (before any SetPlan); langs
	// are its catalogues, which pick the reader's language everywhere.
	base      *promptSet
	langs     *locale.Set
	langCache langCache
	queries   queryCache // the prompt's queries, parsed (prompt_cache.go)
	stats     *statsBatcher
	// remindPerEmail and managePerAddress limit POST /remind and POST /manage per address given.
	remindPerEmail   func(email string) bool
	managePerAddress func(email string) bool
	// background tracks work that outlives its request (the /manage e-mails); see Wait.
	background sync.WaitGroup
}

// New builds the server from its configuration and the web files (web.FS, or os.DirFS("web") in
// tests that edit templates). It parses every template now, so a broken one stops start-up.
func New(cfg Config, webFS fs.FS, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.Default()
	}
	s := &Server{
		cfg:      cfg.withDefaults(),
		echo:     echo.New(),
		logger:   logger,
		Metrics:  vm.NewSet(),
		policies: map[string]policy{},
		direct:   map[string]*directRoute{},
	}
	var err error
	if s.renderer, err = newRenderer(webFS, s.templateFuncs()); err != nil {
		return nil, err
	}
	if s.static, err = fs.Sub(webFS, "static"); err != nil {
		return nil, err
	}
	if err := s.cfg.Giving.Validate(); err != nil {
		return nil, fmt.Errorf("giving settings: %w", err)
	}
	if s.cfg.BaseURL != nil {
		s.origin = s.cfg.BaseURL.Scheme + "://" + s.cfg.BaseURL.Host
	}
	if s.base, err = s.buildPromptSet(s.cfg.Giving); err != nil {
		return nil, err
	}
	s.langs = s.base.langs
	s.langCache.m = map[string]*locale.Catalogue{}
	s.assigner = pledge.NewAssigner(cfg.Secret)
	s.metrics = newMetrics(s.Metrics)

	// The services the handlers share, built once here; the register functions only register.
	s.giving = &pledge.Giving{
		Settings: s.cfg.Giving,
		BaseURL:  s.cfg.BaseURL.String(),
		// The article comes back as a link on the cancelled and thank-you pages: never a foreign one.
		ArticleOrigins:  s.cfg.EmbedOrigins,
		TrustLocal:      s.cfg.Demo,
		StatementSuffix: s.cfg.Giving.Protect.StatementSuffix,
	}
	s.remindPerEmail = keyedLimiter(s.cfg.RemindEmailLimit)
	s.managePerAddress = keyedLimiter(s.cfg.ManageEmailLimit)

	s.security = s.buildSecurityHeaders()
	s.recover = middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.logger.Error("panic", "err", err, "route", c.Path(), "stack", string(stack))
			return err
		},
	})
	s.echo.HideBanner, s.echo.HidePort = true, true
	s.echo.HTTPErrorHandler = s.handleError
	s.echo.IPExtractor = ipExtractor(cfg.TrustedProxies)
	return s, nil
}

// The defaults of the settings that have one, for withDefaults.
var (
	defaultThanksLimit      = Limit{N: 30, Per: time.Minute}
	DefaultViewCap          = Limit{N: 4, Per: 30 * 24 * time.Hour} // also PLEDGE_PROMPT_VIEW_CAP's default
	defaultRemindEmailLimit = Limit{N: 5, Per: time.Hour}
	defaultManageEmailLimit = Limit{N: 5, Per: time.Hour}
	defaultStatsFlush       = 10 * time.Second
)

// withDefaults returns c with every setting left unset at its default: the one place the HTTP
// side's defaults are filled in (New calls it).
func (c Config) withDefaults() Config {
	if len(c.Giving.Catalogue.Currencies) == 0 {
		st := pledge.DefaultSettings()
		if c.Org != "" {
			st.Org = c.Org
		}
		c.Giving = st
	}
	if c.DonateGlobal.N == 0 {
		c.DonateGlobal = Limit{N: 10 * c.DonateLimit.N, Per: c.DonateLimit.Per}
	}
	for _, l := range []struct{ v, def *Limit }{
		{&c.ThanksLimit, &defaultThanksLimit},
		{&c.PromptViewCap, &DefaultViewCap},
		{&c.RemindEmailLimit, &defaultRemindEmailLimit},
		{&c.ManageEmailLimit, &defaultManageEmailLimit},
	} {
		if l.v.N == 0 {
			*l.v = *l.def
		}
	}
	if c.StatsFlush <= 0 {
		c.StatsFlush = defaultStatsFlush
	}
	return c
}

// templateFuncs are the helpers every template may call.
func (s *Server) templateFuncs() template.FuncMap {
	return template.FuncMap{
		"money": func(m pledge.Money) string { return m.String() },
		"mask":  maskEmail,
		"list":  func(v ...string) []string { return v },
		"moneyOf": func(amount int64, c pledge.Currency) pledge.Money {
			return pledge.Money{Amount: amount, Currency: c}
		},
		"periodName": func(p string) string {
			return map[string]string{"7d": "7 days", "30d": "30 days", "90d": "90 days", "mtd": "Month to date", "custom": "Custom"}[p]
		},
		"stripeLink": stripeLink,
		"percent":    func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" },
		"est": func(e abtest.Estimate) string {
			return fmt.Sprintf("%.1f (%.1f–%.1f)", e.Mean, e.Low, e.High)
		},
		"estMoney": func(e abtest.Estimate, c pledge.Currency) string {
			m := func(f float64) string { return pledge.Money{Amount: int64(math.Round(f)), Currency: c}.String() }
			return m(e.Mean) + " (" + m(e.Low) + "–" + m(e.High) + ")"
		},
		"date": func(t time.Time) string {
			if t.IsZero() {
				return "–"
			}
			return t.UTC().Format("2 Jan 2006")
		},
		"datetime": func(t time.Time) string {
			if t.IsZero() {
				return "–"
			}
			return t.UTC().Format("2 Jan 2006 15:04 UTC")
		},
	}
}

// Handler registers middleware and routes and returns the http.Handler to serve (the Server:
// its direct routes, then echo). Call it once, after the service fields are set: it hands the
// stores set since New to the services New built.
func (s *Server) Handler() http.Handler {
	e := s.echo
	e.Use(s.recover)
	e.Use(requestID)
	e.Use(s.logRequests())
	e.Use(s.metrics.middleware())
	e.Use(s.securityHeaders())
	e.Use(s.protectCookies)
	e.Use(middleware.BodyLimit("64K"))
	e.Use(s.csrf())

	// The stores set since New.
	s.giving.Checkouts, s.giving.Payments = s.Checkouts, s.Payments
	if s.PromptStats != nil && s.stats == nil {
		s.stats = newStatsBatcher(s.PromptStats, s.cfg.StatsFlush, s.logger)
	}

	s.registerHealthRoutes(e)
	s.registerStaticRoutes(e)
	s.registerStaffRoutes(e)
	s.registerExperimentRoutes(e)
	s.registerGivingRoutes(e)
	s.registerRemindRoutes(e)
	s.registerManageRoutes(e)
	s.registerMailRoutes(e)
	s.registerNewsletterRoutes(e)
	s.registerWebhookRoutes(e)
	s.area(e, "", pagePolicy).GET("/", func(c echo.Context) error { return c.Redirect(http.StatusFound, "/donate") })
	return s
}

// requestID gives every request an id, answered in X-Request-Id and carried by its log lines. A
// client's own id (a proxy's, say) is kept only when it is a short token of safe characters:
// anything else could forge log lines, carry a reader's address into the logs, or be shown back
// on an error page, so it is replaced by a fresh random id.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		id := requestIDOf(req)
		// The request logger reads the request's header first: it must see the id kept.
		req.Header.Set(echo.HeaderXRequestID, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// requestIDOf is r's request id: the client's own when safeRequestID keeps it, else a fresh one.
func requestIDOf(r *http.Request) string {
	if id := headerValue(r.Header, echo.HeaderXRequestID); safeRequestID(id) {
		return id
	}
	var b [16]byte
	randomBytes(b[:])
	return hex.EncodeToString(b[:])
}

// headerValue is h.Get(key) for a key in canonical form, without canonicalising it again: the
// prompt reads five of a request's headers on every view.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// safeRequestID reports whether a client's request id may be kept: 1 to 64 of A-Z a-z 0-9 . _ -.
func safeRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// logRequests writes one line per request: method, route pattern (never the raw URL, which can
// carry tokens), status, latency and request id, as the route's policy says: the article-view
// routes (logFailures: /prompt, /embed.js, static files) only when they fail, since they run on
// every page view of the news site, their volume is in /metrics and prompt_stats, and a line each
// would cost more than serving them (make bench's prompt row); probes (logNever) not at all.
func (s *Server) logRequests() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus:    true,
		LogLatency:   true,
		LogMethod:    true,
		LogRoutePath: true,
		LogRequestID: true,
		LogError:     true,
		HandleError:  true,
		Skipper:      func(c echo.Context) bool { return s.policyFor(c).logs == logNever },
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			if v.Status < 400 && s.policyFor(c).logs == logFailures {
				return nil
			}
			s.logRequest(c.Request().Context(), v.Method, v.RoutePath, v.Status, v.Latency, v.RequestID)
			return nil
		},
	})
}

// logRequest writes a request's log line (logRequests').
func (s *Server) logRequest(ctx context.Context, method, route string, status int, latency time.Duration, id string) {
	if route == "" {
		route = "unmatched"
	}
	s.logger.LogAttrs(ctx, slog.LevelInfo, "request",
		slog.String("method", method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(latency.Microseconds())/1000),
		slog.String("request_id", id),
	)
}

// csrf protects every form, by the rule of the route's policy. Tokens travel in the _csrf field
// (or the X-CSRF-Token header for fetch); browsers that send Sec-Fetch-Site are judged by it. Two
// tokens, each with its own cookie: the reader token, whose forms the embedded prompt posts
// (csrfEmbed: POST /donate, /remind, /manage) also trust the configured article origins, which
// read the reader token through CORS on /prompt; the staff area's token (csrfStaff; so the reader
// token opens nothing there), renewed at sign-in, trusts only its own origin (Sec-Fetch-Site
// same-origin or none, never same-site: the article site is usually a sibling subdomain) and
// refuses a POST whose Origin (or, without one, Referer) is any other, token or not. Routes with
// csrfNone carry another authority (Stripe's signature, a signed link) or no forms, and should
// not set a cookie on every hit.
func (s *Server) csrf() echo.MiddlewareFunc {
	var trusted []string
	own := s.origin
	for _, o := range s.cfg.EmbedOrigins {
		if o != own {
			trusted = append(trusted, o)
		}
	}
	refused := echo.NewHTTPError(http.StatusForbidden,
		"This form has expired or did not come from this site. Reload the page and try again.")
	base := middleware.CSRFConfig{
		TokenLookup:    "form:_csrf,header:X-CSRF-Token",
		CookieName:     s.csrfCookieName(),
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   s.cfg.Secure(),
		CookieSameSite: http.SameSiteLaxMode,
		ErrorHandler:   func(err error, c echo.Context) error { return refused },
	}
	reader, staff, other := base, base, base
	reader.TrustedOrigins = trusted
	staff.CookieName = s.staffCSRFCookieName()
	if own != "" {
		staff.TrustedOrigins = []string{own}
	}
	staff.AllowSecFetchSiteFunc = func(c echo.Context) (bool, error) { return false, refused }
	readerMW, staffMW, otherMW := middleware.CSRFWithConfig(reader), middleware.CSRFWithConfig(staff),
		middleware.CSRFWithConfig(other)
	// Echo v4 applies the global middleware to the route's handler on every request: only the
	// one rule the route needs is applied to it.
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			switch s.policyFor(c).csrf {
			case csrfNone:
				return next(c)
			case csrfStaff:
				// A browser's Sec-Fetch-Site is judged by the token middleware (only same-origin
				// and none pass); without it, the Origin or Referer must be Pledge's own.
				if r := c.Request(); r.Method != http.MethodGet && r.Method != http.MethodHead &&
					r.Header.Get(echo.HeaderSecFetchSite) == "" && !ownOrigin(r, own) {
					return refused
				}
				return staffMW(next)(c)
			case csrfEmbed:
				// Only the post is trusted from the article origins: a GET under the reader
				// configuration would skip setting the token its form needs.
				if c.Request().Method == http.MethodPost {
					return readerMW(next)(c)
				}
			}
			return otherMW(next)(c)
		}
	}
}

// ownOrigin reports whether a request's Origin header, or its Referer's origin when there is no
// Origin, is own; a request with neither (a client that is not a browser) passes on to the token.
// "null" (a sandboxed frame, a redirect across origins) is no origin of ours.
func ownOrigin(r *http.Request, own string) bool {
	if o := r.Header.Get("Origin"); o != "" {
		return strings.EqualFold(o, own)
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		u, err := url.Parse(ref)
		return err == nil && strings.EqualFold(u.Scheme+"://"+u.Host, own)
	}
	return true
}

// staffCSRFCookieName is the staff area's CSRF cookie: apart from the reader forms' one, whose
// token the article origins can read.
func (s *Server) staffCSRFCookieName() string {
	if s.cfg.Secure() {
		return "__Host-pledge_staff_csrf"
	}
	return "pledge_staff_csrf"
}

// renewStaffCSRF gives the browser a fresh staff CSRF token (at sign-in and sign-out), so a token
// known before, planted or read, stops working. It replaces the cookie the CSRF middleware set on
// this response with the old token.
func (s *Server) renewStaffCSRF(c echo.Context) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	name := s.staffCSRFCookieName()
	h := c.Response().Header()
	kept := h.Values("Set-Cookie")[:0:0]
	for _, v := range h.Values("Set-Cookie") {
		if !strings.HasPrefix(v, name+"=") {
			kept = append(kept, v)
		}
	}
	h.Del("Set-Cookie")
	for _, v := range kept {
		h.Add("Set-Cookie", v)
	}
	c.SetCookie(&http.Cookie{Name: name, Value: base64.RawURLEncoding.EncodeToString(b), Path: "/",
		Expires: time.Now().Add(24 * time.Hour), HttpOnly: true, Secure: s.cfg.Secure(), SameSite: http.SameSiteLaxMode})
}

// csrfCookieName is the CSRF cookie's name: __Host- prefixed over https, so a sibling subdomain
// cannot plant its own token.
func (s *Server) csrfCookieName() string {
	if s.cfg.Secure() {
		return "__Host-pledge_csrf"
	}
	return "pledge_csrf"
}

// securityHeaders sets the headers every response carries. Routes whose policy is framed may be
// framed by the configured article origins; everything else refuses to be framed.
func (s *Server) securityHeaders() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			s.security.set(c.Response().Header(), s.policyFor(c).framed)
			return next(c)
		}
	}
}

// securityHeaderSet is the security headers' values, built once (buildSecurityHeaders) and shared
// (each a one-element slice, which Set replaces and Add copies on append): they go on every
// response, the article-view ones included.
type securityHeaderSet struct {
	framed, unframed, deny []string
	common                 []struct {
		key   string
		value []string
	}
}

// set sets the headers on h, for a route that may be framed or not.
func (sh *securityHeaderSet) set(h http.Header, framed bool) {
	if framed {
		h["Content-Security-Policy"] = sh.framed
	} else {
		h["Content-Security-Policy"] = sh.unframed
		h["X-Frame-Options"] = sh.deny
	}
	for _, kv := range sh.common {
		h[kv.key] = kv.value
	}
}

func (s *Server) buildSecurityHeaders() securityHeaderSet {
	ancestors := "'none'"
	if len(s.cfg.EmbedOrigins) > 0 {
		ancestors = "'self' " + strings.Join(s.cfg.EmbedOrigins, " ")
	}
	csp := func(frame string) string {
		return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
			"connect-src 'self'; form-action 'self' https://checkout.stripe.com https://billing.stripe.com; " +
			"base-uri 'none'; object-src 'none'; frame-ancestors " + frame
	}
	one := func(v string) []string { return []string{v} }
	type header = struct {
		key   string
		value []string
	}
	common := []header{
		{"X-Content-Type-Options", one("nosniff")},
		{"Referrer-Policy", one("strict-origin-when-cross-origin")},
		{"Permissions-Policy", one("camera=(), microphone=(), geolocation=(), payment=(self)")},
		{"Cross-Origin-Opener-Policy", one("same-origin-allow-popups")},
	}
	if s.cfg.Secure() {
		common = append(common, header{"Strict-Transport-Security", one("max-age=63072000; includeSubDomains")})
	}
	return securityHeaderSet{framed: one(csp(ancestors)), unframed: one(csp("'none'")), deny: one("DENY"), common: common}
}

// ipExtractor believes X-Forwarded-For only from the configured proxies; Echo's default would
// believe it from anyone, which would let a card tester dodge the rate limits.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// Close writes what is still counted in memory (prompt statistics). Call it after the HTTP
// server has stopped and before the store closes.
func (s *Server) Close() error { return s.stats.Close() }

// FlushStats writes the prompt statistics counted in memory now, rather than at the next tick:
// for tests and tools that read prompt_stats while the server runs.
func (s *Server) FlushStats(ctx context.Context) error {
	if s.stats == nil {
		return nil
	}
	return s.stats.flush(ctx)
}
