package sqlite

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/postgres"
)

// SeedOptions shapes the demo and benchmark data that Seed writes.
type SeedOptions struct {
	// Donations is how many donations to write (renewals included).
	Donations int
	// Years is how far back the history goes (3 when zero).
	Years int
	// Rand seeds the generator; the same seed over the same Now gives the same ledger.
	Rand uint64
	// Progress, when set, is called with the number of donations written so far.
	Progress func(done int)
	// Force seeds a database that already holds real (not seeded) donations; without it, Seed
	// refuses, so made-up gifts are never mixed into a live ledger by mistake.
	Force bool
}

var (
	seedFirst = []string{"Ada", "Ben", "Chloé", "Dev", "Elena", "Farah", "Gus", "Hana", "Ivan", "Jo", "Kwame",
		"Lena", "Mateo", "Nia", "Owen", "Priya", "Quinn", "Rosa", "Sam", "Tomás", "Uma", "Vik", "Wen", "Yara", "Zoë"}
	seedLast = []string{"Adeyemi", "Berg", "Castillo", "Dubois", "Eriksen", "Fischer", "García", "Hughes", "Ito",
		"Jensen", "Kowalski", "Li", "Murphy", "Nguyen", "Okafor", "Patel", "Rossi", "Schmidt", "Tanaka", "Walsh"}
	seedSlugs = []string{"city-budget-gap", "river-cleanup", "school-meals", "housing-report", "election-guide",
		"hospital-waits", "transit-fares", "heatwave-plan", "local-farms", "library-hours", "police-review",
		"water-rates", "night-buses", "court-backlog", "youth-sport", "harbour-deal", "tenant-rights",
		"air-quality", "bridge-repair", "arts-funding", "care-homes", "bike-lanes", "flood-maps", "mayor-interview",
		"tax-explainer", "stadium-vote", "clinic-closure", "ferry-strike", "market-reopens", "wildfire-smoke"}
	seedCampaigns = []string{"", "", "newsletter", "homepage", "spring-drive", "investigations"}
	seedAmounts   = map[string][]int64{"once": {500, 1000, 2500, 5000, 10000}, "monthly": {200, 500, 1000, 2000}, "annual": {5000, 10000, 20000}}
)

// seeder writes one seed run on the single writer connection, in one transaction: through
// prepared statements on SQLite, through a pipeline of statements on PostgreSQL.
type seeder struct {
	db   *DB // seals addresses and names as the store does
	ctx  context.Context
	conn *sql.Conn
	tx   *sql.Tx
	rng  *mrand.Rand
	run  string
	now  int64

	stmts map[string]*sql.Stmt
	// pipe, on PostgreSQL, carries the rows to the server in batches of seedPipeline statements
	// (in place of stmts): one round trip per batch rather than per row.
	pipe               *postgres.Pipeline
	supporterID, subID int64
	customer           string // the current supporter's Stripe customer
	donations          int
	seq                int64
	opts               SeedOptions
	articles           []string
	// funnel counts checkouts per (day, article, campaign), turned into prompt views at the end.
	funnel map[[3]string]int64
}

var seedSQL = map[string]string{
	"supporter": `INSERT INTO supporters (id, stripe_customer_id, email, email_key, name, email_at, created_at, updated_at)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6)`,
	"customer": `INSERT INTO customers (stripe_customer_id, supporter_id, email, email_at, name, name_at) VALUES (?1, ?2, ?3, ?4, ?5, ?4)`,
	"state": `INSERT INTO subscription_states (stripe_subscription_id, event_id, at, status, amount, currency, interval,
		canceled_at, ended_at, current_period_end, started_at, cancellation_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	"checkout": `INSERT INTO checkouts (id, nonce, frequency, amount, currency, article, campaign, source, reader_id,
		status, stripe_session_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	"subscription": `INSERT INTO subscriptions (id, stripe_subscription_id, supporter_id, checkout_id, frequency, amount,
		currency, status, current_period_end, started_at, canceled_at, cancellation_reason, article, campaign,
		state_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	"donation": `INSERT INTO donations (supporter_id, checkout_id, subscription_id, frequency, amount, amount_refunded,
		amount_disputed, currency, status, dispute_status, stripe_payment_intent_id, stripe_invoice_id, stripe_charge_id,
		stripe_customer_id, article, campaign, source, paid_at, settled, created_at, updated_at,
		settle_txn, settle_currency, settle_amount, settle_fee, settle_net)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)`,
	"attempt": `INSERT INTO invoice_attempts (stripe_invoice_id, stripe_subscription_id, attempt, amount, currency,
		failed_at) VALUES (?, ?, 1, ?, ?, ?)`,
	"event": `INSERT INTO stripe_events (id, type, created, object_id, outcome, received_at) VALUES (?, ?, ?, ?, 'applied', ?)`,
	"stats": `INSERT INTO prompt_stats (day, article, campaign, views, clicks) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (day, article, campaign) DO UPDATE SET views = prompt_stats.views + excluded.views, clicks = prompt_stats.clicks + excluded.clicks`,
	"deferral": `INSERT INTO deferrals (reader_id, article, choice, remind_at, email, email_key, reminder_status, sent_at, created_at,
		updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
}

// Seed writes realistic demo and benchmark data: supporters in usd, eur and gbp who give once,
// monthly or annually over the last years (more of them recently), with renewals, failed and
// recovered payments, cancellations, refunds, disputes, checkouts (paid and abandoned), prompt
// views and clicks, and "remind me later" requests. Addresses are on example.com.
func (db *DB) Seed(ctx context.Context, opts SeedOptions) (err error) {
	defer wrapErr(&err, "seed")
	if opts.Donations <= 0 {
		return fmt.Errorf("seed: the number of donations must be positive")
	}
	if opts.Years <= 0 {
		opts.Years = 3
	}
	if !opts.Force {
		// Seeded donations carry Stripe ids with _seed in them; any other is a real one.
		var real int
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM donations
			WHERE coalesce(stripe_charge_id, stripe_payment_intent_id, stripe_invoice_id, '') NOT LIKE '%\_seed%' ESCAPE '\'`).Scan(&real); err != nil {
			return err
		}
		if real > 0 {
			return fmt.Errorf("seed: the database holds %d real donations; seeding would mix made-up gifts into them (use --force to seed anyway)", real)
		}
	}
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Every row written refers to rows of the same run; checking each reference would double the
	// work. The writer connection gets the check back before it is released.
	// Seeding is a bulk load of throwaway data: a large page cache keeps the indexes in memory,
	// and a crash mid-seed loses nothing worth an fsync. Both are put back before the connection
	// returns to the pool.
	// (PostgreSQL keeps its settings: they are the server's.)
	if !db.pg {
		for _, p := range []string{`PRAGMA foreign_keys = OFF`, `PRAGMA cache_size = -262144`, `PRAGMA synchronous = OFF`} {
			if _, err := conn.ExecContext(ctx, p); err != nil {
				return err
			}
		}
		defer func() {
			for _, p := range []string{`PRAGMA foreign_keys = ON`, `PRAGMA cache_size = -2000`, `PRAGMA synchronous = FULL`} {
				conn.ExecContext(context.WithoutCancel(ctx), p)
			}
		}()
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	s := &seeder{db: db, ctx: ctx, conn: conn, run: hex.EncodeToString(b), now: db.Now().UTC().Unix(), opts: opts,
		rng: mrand.New(mrand.NewPCG(opts.Rand, opts.Rand^0x9e3779b97f4a7c15)), funnel: map[[3]string]int64{}}
	for _, slug := range seedSlugs {
		s.articles = append(s.articles, "https://news.example/"+slug)
	}
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM supporters`).Scan(&s.supporterID); err != nil {
		return err
	}
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM subscriptions`).Scan(&s.subID); err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer func() {
		if s.tx != nil {
			s.tx.Rollback()
		}
	}()
	// One transaction for the whole run: the rollup triggers are dropped inside it, the rollups
	// are brought up to date in bulk at the end and the triggers recreated, so a failed seed
	// leaves nothing behind, triggers included. Row by row, the triggers would more than double
	// the time.
	triggers, err := s.dropRollupTriggers()
	if err != nil {
		return err
	}
	var base seedBase
	if err := s.tx.QueryRowContext(ctx, `SELECT coalesce((SELECT max(id) FROM donations), 0)`).Scan(&base.donation); err != nil {
		return err
	}
	base.supporter, base.subscription = s.supporterID, s.subID
	start := s.now - int64(opts.Years)*365*86400
	for s.donations < opts.Donations {
		// More readers support as the newsroom grows: the density of start times rises linearly.
		t := start + int64(math.Sqrt(s.rng.Float64())*float64(s.now-start))
		if err := s.supporter(t); err != nil {
			return err
		}
	}
	if err := s.deferralsAndStats(start); err != nil {
		return err
	}
	if err := s.flush(); err != nil {
		return err
	}
	if err := s.rollUp(base); err != nil {
		return err
	}
	// Everything derived from the ledger's rows (rollups, revenue spans, first gifts) by the same
	// code the webhook and the upgrade use.
	if err := rebuildDerived(ctx, &Tx{Tx: s.tx, db: db, now: time.Unix(s.now, 0).UTC()}); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	for _, sql := range triggers {
		if _, err := s.tx.ExecContext(ctx, sql); err != nil {
			return fmt.Errorf("seed: recreate trigger: %w", err)
		}
	}
	if err := s.tx.Commit(); err != nil {
		return err
	}
	s.tx = nil
	if opts.Progress != nil {
		opts.Progress(s.donations)
	}
	// The planner's statistics for the new rows. On PostgreSQL, VACUUM too: what autovacuum would
	// do over the next minutes (marking the pages all-visible, which index-only scans need, and
	// setting the rows' hint bits), done before the first read rather than during it.
	q := `ANALYZE`
	if db.pg {
		q = `VACUUM (ANALYZE)`
	}
	_, err = conn.ExecContext(ctx, q)
	return err
}

func (s *seeder) begin() error {
	var err error
	if s.tx, err = s.db.beginWrite(s.ctx, s.conn.BeginTx); err != nil {
		return err
	}
	if s.db.pg {
		// The references checked at commit rather than row by row (the schema's foreign keys are
		// DEFERRABLE), as SQLite's foreign_keys=OFF lets seed write.
		if _, err := s.tx.ExecContext(s.ctx, `SET CONSTRAINTS ALL DEFERRED`); err != nil {
			return err
		}
	}
	if s.db.pg {
		s.pipe = postgres.NewPipeline(s.conn)
		return nil
	}
	s.stmts = map[string]*sql.Stmt{}
	for k, q := range seedSQL {
		if s.stmts[k], err = s.tx.PrepareContext(s.ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// seedBase is where the run's rows begin: every row above it is new.
type seedBase struct{ donation, supporter, subscription int64 }

// dropRollupTriggers drops the rollups' insert triggers and returns their SQL.
func (s *seeder) dropRollupTriggers() ([]string, error) {
	// Only the checkouts' rollup trigger, whose work rollUp redoes in bulk; any other trigger
	// keeps firing row by row.
	if s.db.pg {
		// Disabled for this transaction's work, enabled again before it commits.
		if _, err := s.tx.ExecContext(s.ctx, `ALTER TABLE checkouts DISABLE TRIGGER checkouts_rollup_insert`); err != nil {
			return nil, err
		}
		return []string{`ALTER TABLE checkouts ENABLE TRIGGER checkouts_rollup_insert`}, nil
	}
	rows, err := s.tx.QueryContext(s.ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'trigger'
		AND name IN ('checkouts_rollup_insert')
		ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var names, sqls []string
	for rows.Next() {
		var n, q string
		if err := rows.Scan(&n, &q); err != nil {
			rows.Close()
			return nil, err
		}
		names, sqls = append(names, n), append(sqls, q)
	}
	rows.Close()
	for _, n := range names {
		if _, err := s.tx.ExecContext(s.ctx, `DROP TRIGGER "`+n+`"`); err != nil {
			return nil, err
		}
	}
	return sqls, rows.Err()
}

// rollUp adds the run's checkouts to the funnel's daily rollup, as the checkouts' triggers would
// have one by one. (The ledger's own rollups are rebuilt by rebuildDerived.) The run's checkouts
// are those whose ids carry its mark (seeder.id).
func (s *seeder) rollUp(b seedBase) error {
	_, err := s.tx.ExecContext(s.ctx, `
		INSERT INTO checkouts_daily (day, article, campaign, checkouts, paid, reminder, reminder_paid)
		SELECT created_at - created_at % 86400, article, campaign, count(*), count(*) FILTER (WHERE status = 'paid'),
		       count(*) FILTER (WHERE source = 'reminder'), count(*) FILTER (WHERE source = 'reminder' AND status = 'paid')
		FROM checkouts WHERE id > ? AND id < ? GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
		ON CONFLICT (day, article, campaign) DO UPDATE SET
		    checkouts = checkouts_daily.checkouts + excluded.checkouts, paid = checkouts_daily.paid + excluded.paid,
		    reminder = checkouts_daily.reminder + excluded.reminder, reminder_paid = checkouts_daily.reminder_paid + excluded.reminder_paid`,
		"co_seed"+s.run, "co_seed"+s.run+"~")
	if err != nil {
		return fmt.Errorf("seed: roll up: %w", err)
	}
	return nil
}

// seedPipeline is how many statements go to PostgreSQL in one round trip.
const seedPipeline = 2000

func (s *seeder) exec(stmt string, args ...any) error {
	if s.pipe != nil {
		s.pipe.Queue("seed "+stmt, seedSQL[stmt], args...)
		if s.pipe.Len() >= seedPipeline {
			return s.flush()
		}
		return nil
	}
	_, err := s.stmts[stmt].ExecContext(s.ctx, args...)
	if err != nil {
		return fmt.Errorf("seed %s: %w", stmt, err)
	}
	return nil
}

// flush sends the rows still queued for PostgreSQL (a no-op on SQLite, which writes each row as
// it comes).
func (s *seeder) flush() error {
	if s.pipe == nil {
		return nil
	}
	return s.pipe.Flush(s.ctx)
}

func (s *seeder) id(prefix string) string {
	s.seq++
	return prefix + "_seed" + s.run + strconv.FormatInt(s.seq, 36)
}

func (s *seeder) pick(list []string) string { return list[s.rng.IntN(len(list))] }

// share is a value that a draw from 0 to 99 chooses when it falls below below (and below no
// earlier share's).
type share struct {
	below int
	value string
}

// draw chooses one of shares with one draw from 0 to 99, or otherwise when it falls past them all.
func (s *seeder) draw(otherwise string, shares ...share) string {
	r := s.rng.IntN(100)
	for _, sh := range shares {
		if r < sh.below {
			return sh.value
		}
	}
	return otherwise
}

// article picks an article with a long tail: a few stories bring most support.
func (s *seeder) article() string {
	if s.rng.IntN(10) == 0 {
		return ""
	}
	i := int(float64(len(s.articles)) * math.Pow(s.rng.Float64(), 2.2))
	return s.articles[i]
}

func (s *seeder) campaign(t int64) string {
	if time.Unix(t, 0).UTC().Month() == time.December && s.rng.IntN(3) > 0 {
		return fmt.Sprintf("year-end-%d", time.Unix(t, 0).UTC().Year())
	}
	return s.pick(seedCampaigns)
}

// supporter writes one supporter and their whole history from t.
func (s *seeder) supporter(t int64) error {
	s.supporterID++
	sid := s.supporterID
	first, last := s.pick(seedFirst), s.pick(seedLast)
	email := fmt.Sprintf("%s.%s.%d@example.com", strings.ToLower(asciiName(first)), strings.ToLower(asciiName(last)), sid)
	s.customer = s.id("cus")
	sealedEmail, sealedName := s.db.seal(email), s.db.seal(first+" "+last)
	if err := s.exec("supporter", sid, s.customer, sealedEmail, s.db.addressKey(email), sealedName, t); err != nil {
		return err
	}
	if err := s.exec("customer", s.customer, sid, sealedEmail, t, sealedName); err != nil {
		return err
	}
	currency := s.draw("usd", share{25, "eur"}, share{40, "gbp"})
	freq := s.draw("once", share{30, "monthly"}, share{40, "annual"})
	amounts := seedAmounts[freq]
	amount := amounts[min(s.rng.IntN(len(amounts)+1), len(amounts)-1)]
	article, campaign := s.article(), s.campaign(t)
	source := ""
	if s.rng.IntN(20) == 0 {
		source = "reminder"
	}
	checkoutID, err := s.checkout(t, freq, amount, currency, article, campaign, source)
	if err != nil {
		return err
	}
	if freq == "once" {
		gifts := 1
		if s.rng.IntN(5) == 0 {
			gifts += 1 + s.rng.IntN(3)
		}
		for g := 0; g < gifts && s.donations < s.opts.Donations; g++ {
			at := t + int64(g)*int64(30+s.rng.IntN(300))*86400
			if at > s.now {
				break
			}
			co := checkoutID
			if g > 0 {
				if co, err = s.checkout(at, freq, amount, currency, article, campaign, ""); err != nil {
					return err
				}
			}
			if err := s.donation(sid, co, nil, freq, amount, currency, article, campaign, source, at, ""); err != nil {
				return err
			}
		}
		return nil
	}
	return s.subscription(sid, checkoutID, t, freq, amount, currency, article, campaign, source)
}

func asciiName(n string) string {
	return strings.NewReplacer("é", "e", "á", "a", "í", "i", "ë", "e", "ó", "o").Replace(n)
}

// checkout writes a paid checkout and, as most readers who click Continue do not pay, an
// abandoned one beside it; both count towards the prompt funnel.
func (s *seeder) checkout(t int64, freq string, amount int64, currency, article, campaign, source string) (string, error) {
	id := s.id("co")
	if err := s.exec("checkout", id, s.id("n"), freq, amount, currency, article, campaign, source, s.id("rd"),
		"paid", s.id("cs"), t-60, t); err != nil {
		return "", err
	}
	k := [3]string{strconv.FormatInt(t-t%86400, 10), article, campaign}
	s.funnel[k]++
	if s.rng.IntN(3) > 0 {
		if err := s.exec("checkout", s.id("co"), s.id("n"), freq, amount, currency, article, campaign, "", s.id("rd"),
			"abandoned", s.id("cs"), t-3600, t); err != nil {
			return "", err
		}
		s.funnel[k]++
	}
	return id, nil
}

// donation writes one payment; a few are refunded (in full or in part) or disputed.
func (s *seeder) donation(sid int64, checkoutID any, subID any, freq string, amount int64, currency, article,
	campaign, source string, at int64, invoice string) error {
	status, refunded, disputed, dispute := "succeeded", int64(0), int64(0), ""
	switch r := s.rng.IntN(1000); {
	case r < 15:
		status, refunded = "refunded", amount
	case r < 22:
		status, refunded = "partially_refunded", amount/2
	case r < 25:
		status, dispute, disputed = "disputed", "needs_response", amount
	}
	var pi, inv any
	if invoice != "" {
		inv = invoice
	} else {
		pi = s.id("pi")
	}
	charge := s.id("ch")
	// What reached the bank: settled in usd at a fixed rate, less 2.9% + 0.30; the last two
	// days' payouts are not reported yet.
	txn, settleCur, settleAmount, fee := "", "", int64(0), int64(0)
	if at < s.now-2*86400 {
		rate := map[string]int64{"usd": 100, "eur": 108, "gbp": 127}[currency]
		if rate == 0 {
			rate = 100
		}
		txn, settleCur, settleAmount = s.id("txn"), "usd", amount*rate/100
		fee = (settleAmount*29+500)/1000 + 30
	}
	if err := s.exec("donation", sid, checkoutID, subID, freq, amount, refunded, disputed, currency, status, dispute, pi, inv,
		charge, s.customer, article, campaign, source, at, at, at, txn, settleCur, settleAmount, fee, settleAmount-fee); err != nil {
		return err
	}
	switch status {
	case "refunded", "partially_refunded":
		if err := s.exec("event", s.id("evt"), "charge.refunded", at+86400, charge, at+86400); err != nil {
			return err
		}
	case "disputed":
		if err := s.exec("event", s.id("evt"), "charge.dispute.created", at+5*86400, charge, at+5*86400); err != nil {
			return err
		}
	}
	s.donations++
	if s.opts.Progress != nil && s.donations%10_000 == 0 {
		s.opts.Progress(s.donations)
	}
	return nil
}

// subscription writes a recurring gift: renewals until the reader cancels, a payment fails for
// good, or today; some failed payments are recovered by Stripe's retries.
func (s *seeder) subscription(sid int64, checkoutID string, t int64, freq string, amount int64, currency, article,
	campaign, source string) error {
	s.subID++
	subID, stripeID := s.subID, s.id("sub")
	months, churn := 1, 0.035
	if freq == "annual" {
		months, churn = 12, 0.22
	}
	status, canceledAt, reason := "active", int64(0), ""
	at := t
	paidThrough := t
	for k := 0; s.donations < s.opts.Donations; k++ {
		at = time.Unix(t, 0).UTC().AddDate(0, k*months, 0).Unix()
		if at > s.now {
			break
		}
		if k > 0 && s.rng.Float64() < churn {
			status, canceledAt, reason = "canceled", at-int64(s.rng.IntN(20)+1)*86400, "cancellation_requested"
			break
		}
		invoice := s.id("in")
		if k > 0 && s.rng.IntN(25) == 0 {
			failedAt := at
			if err := s.exec("event", s.id("evt"), "invoice.payment_failed", failedAt, invoice, failedAt); err != nil {
				return err
			}
			if err := s.exec("attempt", invoice, stripeID, amount, currency, failedAt); err != nil {
				return err
			}
			if s.rng.IntN(4) == 0 { // never recovered
				if at+14*86400 > s.now {
					status = "past_due"
				} else {
					status, canceledAt, reason = "canceled", at+14*86400, "payment_failed"
				}
				break
			}
			at += int64(1+s.rng.IntN(5)) * 86400
			if at > s.now {
				status = "past_due"
				break
			}
			if err := s.exec("event", s.id("evt"), "invoice.paid", at, invoice, at); err != nil {
				return err
			}
		}
		var co any
		if k == 0 {
			co = checkoutID
		}
		src := ""
		if k == 0 {
			src = source
		}
		if err := s.donation(sid, co, subID, freq, amount, currency, article, campaign, src, at, invoice); err != nil {
			return err
		}
		paidThrough = time.Unix(at, 0).UTC().AddDate(0, months, 0).Unix()
	}
	var canceled any
	if canceledAt > 0 {
		canceled = canceledAt
	}
	if err := s.exec("subscription", subID, stripeID, sid, checkoutID, freq, amount, currency, status, paidThrough,
		t, canceled, reason, article, campaign, t, t, max(t, canceledAt)); err != nil {
		return err
	}
	if err := s.exec("event", s.id("evt"), "customer.subscription.created", t, stripeID, t); err != nil {
		return err
	}
	// The subscription's history, from which its revenue spans are derived as for a real one.
	interval := pledge.Frequency(freq).Interval()
	if err := s.exec("state", stripeID, s.id("evt"), t, "active", amount, currency, interval, nil, nil, paidThrough, t, ""); err != nil {
		return err
	}
	if canceledAt > 0 {
		if err := s.exec("state", stripeID, s.id("evt"), canceledAt, "canceled", amount, currency, interval, canceledAt,
			canceledAt, paidThrough, t, reason); err != nil {
			return err
		}
	}
	if canceledAt > 0 {
		return s.exec("event", s.id("evt"), "customer.subscription.deleted", canceledAt, stripeID, canceledAt)
	}
	return nil
}

// deferralsAndStats writes the prompt's views and clicks (a few hundred views and a handful of
// clicks per checkout) and "remind me later" requests on every day of the history.
func (s *seeder) deferralsAndStats(start int64) error {
	// By day, as a live service writes them (and in the same order on every run with one seed).
	keys := slices.Collect(maps.Keys(s.funnel))
	slices.SortFunc(keys, func(a, b [3]string) int {
		da, _ := strconv.ParseInt(a[0], 10, 64)
		db, _ := strconv.ParseInt(b[0], 10, 64)
		return cmp.Or(cmp.Compare(da, db), cmp.Compare(a[1], b[1]), cmp.Compare(a[2], b[2]))
	})
	for _, k := range keys {
		checkouts := s.funnel[k]
		d, _ := strconv.ParseInt(k[0], 10, 64)
		views := checkouts * int64(150+s.rng.IntN(350))
		clicks := checkouts + checkouts*int64(s.rng.IntN(3))
		if err := s.exec("stats", d, k[1], k[2], views, clicks); err != nil {
			return err
		}
	}
	perDay := max(1, s.opts.Donations/20_000)
	for d := start - start%86400; d < s.now; d += 86400 {
		for i := s.rng.IntN(perDay + 1); i > 0; i-- {
			at := d + int64(s.rng.IntN(86400))
			if at > s.now {
				continue
			}
			choice := []string{"week", "week", "month", "never"}[s.rng.IntN(4)]
			remind := at + 7*86400
			if choice == "month" {
				remind = at + 30*86400
			} else if choice == "never" {
				remind = at + 365*86400
			}
			var email, key, sent any
			status := "none"
			if choice != "never" && s.rng.IntN(3) == 0 {
				s.seq++
				address := fmt.Sprintf("reader.%s%d@example.com", s.run, s.seq)
				email, key = s.db.seal(address), s.db.addressKey(address)
				status = "pending"
				if remind <= s.now {
					status, sent = "sent", remind
				}
			}
			if err := s.exec("deferral", s.id("rd"), s.article(), choice, remind, email, key, status, sent, at, at); err != nil {
				return err
			}
		}
	}
	return nil
}
