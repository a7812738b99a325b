package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/pledge-news/pledge/internal/postgres"
	"github.com/pledge-news/pledge/internal/sqlite"
)

const benchArticle = "https://news.example/2026/11/the-council-budget"

// promptRow: GET /prompt at 64 connections against a plain net/http server serving the same bytes,
// in its own process. It returns the plain server's peak RSS for the memory row's baseline.
func (b *bench) promptRow(ctx context.Context, svc *service) (int64, error) {
	u := svc.base + "/prompt?article=" + url.QueryEscape(benchArticle)
	resp, err := http.Get(u)
	if err != nil {
		return 0, err
	}
	body, ctype := readAll(resp), resp.Header.Get("Content-Type")
	if resp.StatusCode != http.StatusOK || len(body) == 0 {
		return 0, fmt.Errorf("GET /prompt = %d with %d bytes, want 200 with the prompt (has issue 3 landed?)", resp.StatusCode, len(body))
	}
	// The plain server answers with the very bytes pledge sent, headers included (cookies and
	// security headers too), so that the load generator does the same work in both cases and
	// the ratio measures the servers alone.
	file := filepath.Join(b.dir, "prompt.body")
	if err := os.WriteFile(file, body, 0o640); err != nil {
		return 0, err
	}
	hdr := resp.Header.Clone()
	hdr.Del("Date")
	hdr.Del("Content-Length")
	hdrJSON, _ := json.Marshal(hdr)
	hdrFile := filepath.Join(b.dir, "prompt.header.json")
	if err := os.WriteFile(hdrFile, hdrJSON, 0o640); err != nil {
		return 0, err
	}
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	port, _ := freePort()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	plain, err := startProc("plain", filepath.Join(b.dir, "plain.log"), nil, self, "plain", addr, file, hdrFile)
	if err != nil {
		return 0, err
	}
	defer plain.stop()
	plainURL := "http://" + addr + "/prompt?article=" + url.QueryEscape(benchArticle)
	if err := waitHTTP(plain, plainURL, nil, 10*time.Second); err != nil {
		return 0, err
	}
	say("prompt: %d bytes of %s and %d headers; %d connections, %d rounds of %s each side", len(body), ctype, len(hdr), b.o.Conns, b.o.Rounds, b.o.Dur)
	get := func(u string) targeter { return staticTargeter(http.MethodGet, u, nil, nil) }
	attack(ctx, "warm", b.o.Conns, time.Second, 200, get(plainURL))
	attack(ctx, "warm", b.o.Conns, time.Second, 200, get(u))
	var base, val loadResult
	var baseCPU, valCPU time.Duration
	for i := 0; i < b.o.Rounds && ctx.Err() == nil; i++ {
		c0 := cpuTime(plain.cmd.Process.Pid)
		r := attack(ctx, "plain", b.o.Conns, b.o.Dur, 200, get(plainURL))
		d := cpuTime(plain.cmd.Process.Pid) - c0
		say("  plain  %s; server CPU %.0fµs/request", r, perRequest(d, r.Total))
		base.add(r)
		baseCPU += d
		c0 = cpuTime(svc.cmd.Process.Pid)
		r = attack(ctx, "prompt", b.o.Conns, b.o.Dur, 200, get(u))
		d = cpuTime(svc.cmd.Process.Pid) - c0
		say("  prompt %s; server CPU %.0fµs/request", r, perRequest(d, r.Total))
		val.add(r)
		valCPU += d
	}
	rt := ratio(val.Rate(), base.Rate())
	b.rows = append(b.rows, row{Name: "prompt", Value: val.Rate(), Baseline: base.Rate(), Unit: "req/s",
		Ratio: rt}.judged(rt, val.OK > 0))
	// prompt-cpu: each server's own CPU time (user and system, from /proc) per request over all
	// rounds, which the machine's other load moves far less than throughput. Its ratio is the
	// plain server's over pledge's, so that 1.0 is "as cheap as replaying the bytes" and, as for
	// the throughput rows, higher is better (issue 18: >= 0.85).
	vu, bu := perRequest(valCPU, val.Total), perRequest(baseCPU, base.Total)
	crt := ratio(bu, vu)
	b.rows = append(b.rows, row{Name: "prompt-cpu", Value: vu, Baseline: bu, Unit: "us/req",
		Ratio: crt}.judged(crt, val.OK > 0))
	rss, err := peakRSS(plain.cmd.Process.Pid)
	if err != nil {
		return 0, err
	}
	return rss, nil
}

// perRequest is CPU time per request in microseconds.
func perRequest(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(n)
}

// remindRow: durable POST /remind (a 2xx only after commit) at 64 connections against raw
// single-row committed inserts with the same settings. Each request carries no cookie, so each is
// a new reader and a new row.
// raw is its baseline, one round of raw inserts.
func (b *bench) remindRow(ctx context.Context, svc *service, name string, raw baseline) error {
	base, val, err := b.againstRaw(ctx, svc, name, raw, "remind", "POST /remind", remindTargeter(svc),
		`SELECT count(*) FROM deferrals`, "%d deferrals acknowledged but only %d rows stored")
	if err != nil {
		return err
	}
	rt := ratio(val.Rate(), base.Rate())
	b.rows = append(b.rows, row{Name: name, Value: val.Rate(), Baseline: base.Rate(), Unit: "writes/s",
		Ratio: rt}.judged(rt, val.OK > 0))
	return nil
}

// remindTargeter is the remind row's request: a new reader's "remind me in a week".
func remindTargeter(svc *service) targeter {
	body := []byte(url.Values{"choice": {"week"}, "article": {benchArticle}}.Encode())
	h := formHeader(svc.base)
	h.Set("Accept", "application/json")
	return staticTargeter(http.MethodPost, svc.base+"/remind", body, h)
}

// remindLoad is the remind row's load without its baseline, for the memory row when the remind
// row is not selected: the memory row is the peak after both loads.
func (b *bench) remindLoad(ctx context.Context, svc *service) {
	say("memory: the remind row is not selected; its load runs for the memory row")
	for i := 0; i < b.o.Rounds && ctx.Err() == nil; i++ {
		say("  POST /remind %s", attack(ctx, "remind", b.o.Conns, b.o.Dur, http.StatusCreated, remindTargeter(svc)))
	}
}

// againstRaw runs the row's rounds: in each, one round of the raw-insert baseline, then one of the
// service's requests from tr (attack names the attack, label the requests in the log). Then it
// checks that every request the service acknowledged left a row that the count(*) query counted
// finds; lost (a format of the acknowledged and stored counts) says which did not.
func (b *bench) againstRaw(ctx context.Context, svc *service, name string, raw baseline, attack, label string, tr targeter,
	counted, lost string) (base, val loadResult, err error) {
	before, err := countRows(svc.db, counted)
	if err != nil {
		return base, val, err
	}
	say("%s: %d connections, %d rounds of %s each side", name, b.o.Conns, b.o.Rounds, b.o.Dur)
	for i := 0; i < b.o.Rounds && ctx.Err() == nil; i++ {
		r, err := measured(func() (*loadResult, error) { return raw(ctx, fmt.Sprintf("%s-%d", name, i)) })
		if err != nil {
			return base, val, err
		}
		say("  raw inserts %s", r)
		base.add(r)
		r, _ = measured(func() (*loadResult, error) { return attackOK(ctx, attack, b.o.Conns, b.o.Dur, tr), nil },
			b.cpuParts(svc)...)
		say("  %s %s", label, r)
		val.add(r)
	}
	if c := val.CPUPerOK(); c > 0 && base.CPUPerOK() > 0 {
		// What bounds the row: with the machine's every core busy at this cost, the value could not
		// exceed ceiling a second, whatever the software did about waiting.
		ceiling := float64(val.Cores) * float64(time.Second) / float64(c)
		say("  machine CPU per item: raw insert %.0fµs, %s %.0fµs (%s); at this cost all %d cores allow at most %.0f/s, ratio %.2f",
			float64(base.CPUPerOK())/float64(time.Microsecond), name, float64(c)/float64(time.Microsecond), val.PartsPerOK(),
			val.Cores, ceiling, ceiling/base.Rate())
	}
	after, err := countRows(svc.db, counted)
	if err != nil {
		return base, val, err
	}
	if after-before < val.OK {
		return base, val, fmt.Errorf(lost, val.OK, after-before)
	}
	return base, val, nil
}

// cpuParts are the processes a side against raw inserts splits the machine's time into: the
// service, this program (the load generator) and stripe-mock (the settler's calls).
func (b *bench) cpuParts(svc *service) []cpuPart {
	parts := []cpuPart{{"service", svc.cmd.Process.Pid}, {"load generator", os.Getpid()}}
	if b.mock != nil {
		parts = append(parts, cpuPart{"stripe-mock", b.mock.cmd.Process.Pid})
	}
	return parts
}

// webhookRow: distinct signed checkout.session.completed events for prepared checkouts, verified
// and applied, at 64 connections, against the same raw inserts.
func (b *bench) webhookRow(ctx context.Context, svc *service, name string, nCheckouts int, raw baseline) error {
	var next atomic.Int64
	tr := func(t *target) error {
		i := next.Add(1) - 1
		if i >= int64(nCheckouts) {
			return errNoTargets
		}
		payload := sessionCompletedEvent(b.runID, int(i), time.Now())
		t.Method, t.URL, t.Body = http.MethodPost, svc.base+"/webhooks/stripe", payload
		t.Header = http.Header{"Content-Type": {"application/json"}, "Stripe-Signature": {signature(payload, b.secret)}}
		return nil
	}
	base, val, err := b.againstRaw(ctx, svc, name, raw, "webhook", "POST /webhooks/stripe", tr,
		`SELECT count(*) FROM stripe_events`, "%d events acknowledged but only %d recorded")
	if err != nil {
		return err
	}
	if n, err := countRows(svc.db, `SELECT count(*) FROM donations WHERE checkout_id LIKE ?`, "co_bench_"+b.runID+"%"); err == nil {
		say("  %d donations applied from %d acknowledged events", n, val.OK)
	}
	rt := ratio(val.Rate(), base.Rate())
	b.rows = append(b.rows, row{Name: name, Value: val.Rate(), Baseline: base.Rate(), Unit: "events/s",
		Ratio: rt}.judged(rt, val.OK > 0))
	return nil
}

// donateRow: p50 of POST /donate (one reader at a time, each with a fresh form nonce) minus the
// p50 of the bare Checkout Session call it makes, with the same parameters, to the same
// stripe-mock.
func (b *bench) donateRow(ctx context.Context, svc *service) error {
	h := formHeader(svc.base)
	tr := func(t *target) error {
		t.Method, t.URL, t.Header = http.MethodPost, svc.base+"/donate", h
		t.Body = []byte(url.Values{"frequency": {"once"}, "amount": {"10"}, "currency": {"usd"},
			"article": {benchArticle}, "campaign": {"bench"}, "nonce": {randHex(16)}}.Encode())
		return nil
	}
	api := stripeClient(b.mockURL)
	say("donate-overhead: one client at a time, %d rounds of %s each side", b.o.Rounds, b.o.Dur)
	attack(ctx, "warm", 1, time.Second, http.StatusSeeOther, tr)
	bareCheckouts(ctx, api, svc.base, time.Second)
	var base, val loadResult
	for i := 0; i < b.o.Rounds && ctx.Err() == nil; i++ {
		r := bareCheckouts(ctx, api, svc.base, b.o.Dur)
		say("  bare Checkout Session %s", r)
		base.add(r)
		r = attack(ctx, "donate", 1, b.o.Dur, http.StatusSeeOther, tr)
		say("  POST /donate %s", r)
		val.add(r)
	}
	if val.OK == 0 {
		return fmt.Errorf("no POST /donate answered 303: %s", val.String())
	}
	over := ms(val.P50()) - ms(base.P50())
	b.rows = append(b.rows, row{Name: "donate-overhead", Value: over, Baseline: ms(base.P50()), Unit: "ms",
		Ratio: ratio(ms(val.P50()), ms(base.P50()))}.judged(over, true))
	return nil
}

// bareCheckouts creates Checkout Sessions one after another for dur, with the parameters
// POST /donate sends for a one-off gift of 10 USD.
func bareCheckouts(ctx context.Context, api *client.API, base string, dur time.Duration) *loadResult {
	res := &loadResult{Codes: map[int]int{}, Errors: map[string]int{}}
	start := time.Now()
	for time.Since(start) < dur && ctx.Err() == nil {
		meta := map[string]string{"pledge_checkout": "co_" + randHex(12), "frequency": "once", "article": benchArticle, "campaign": "bench"}
		p := &stripe.CheckoutSessionParams{
			ClientReferenceID: stripe.String(meta["pledge_checkout"]),
			SuccessURL:        stripe.String(base + "/donate/thanks?session_id={CHECKOUT_SESSION_ID}"),
			CancelURL:         stripe.String(base + "/donate/cancelled"),
			LineItems: []*stripe.CheckoutSessionLineItemParams{{Quantity: stripe.Int64(1), PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
				Currency: stripe.String("usd"), UnitAmount: stripe.Int64(1000),
				ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{Name: stripe.String("Support for The Daily Bench")},
			}}},
			Metadata:          meta,
			Mode:              stripe.String(string(stripe.CheckoutSessionModePayment)),
			SubmitType:        stripe.String(string(stripe.CheckoutSessionSubmitTypeDonate)),
			CustomerCreation:  stripe.String(string(stripe.CheckoutSessionCustomerCreationAlways)),
			PaymentIntentData: &stripe.CheckoutSessionPaymentIntentDataParams{Metadata: meta},
		}
		p.Context = ctx
		p.SetIdempotencyKey("pledge-checkout-" + randHex(16))
		t := time.Now()
		_, err := api.CheckoutSessions.New(p)
		res.Total++
		if err != nil {
			res.Errors[err.Error()]++
			continue
		}
		res.OK++
		res.Codes[200]++
		res.Latencies = append(res.Latencies, time.Since(t))
	}
	res.Elapsed = time.Since(start)
	return res
}

// stripeClient is a stripe-go client on the same stripe-mock, without retries.
func stripeClient(base string) *client.API {
	bc := &stripe.BackendConfig{URL: stripe.String(base), HTTPClient: &http.Client{Timeout: 10 * time.Second},
		MaxNetworkRetries: stripe.Int64(0), EnableTelemetry: stripe.Bool(false),
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}}
	return client.New("sk_test_bench", &stripe.Backends{
		API: stripe.GetBackendWithConfig(stripe.APIBackend, bc), Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, bc),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, bc),
	})
}

// baseline measures one round of a row's baseline.
type baseline func(ctx context.Context, round string) (*loadResult, error)

// rawInserts is the write baseline: single-row committed inserts of a deferral into a fresh
// SQLite file opened exactly as the service opens its own (same DSN: WAL, synchronous=FULL,
// IMMEDIATE transactions, one writer connection), one row per transaction, from as many
// goroutines as the load has connections (they queue on the one writer, as a naive handler's
// would).
func (b *bench) rawInserts(ctx context.Context, name string) (*loadResult, error) {
	db := sqlite.NewDB(filepath.Join(b.dir, "baseline-"+name+".db"))
	if err := db.Open(ctx); err != nil {
		return nil, err
	}
	defer db.Close()
	return b.closedLoop(ctx, func(i int64) error {
		return insertDeferral(ctx, db, fmt.Sprintf("rd_base_%d", i))
	}), nil
}

// closedLoop runs do from as many goroutines as the load has connections, each calling it again
// as soon as it returns, for the measuring time, and counts the calls that succeeded; i numbers
// the calls from 1.
func (b *bench) closedLoop(ctx context.Context, do func(i int64) error) *loadResult {
	res := &loadResult{Codes: map[int]int{}, Errors: map[string]int{}}
	var mu sync.Mutex
	var seq atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < b.o.Conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < b.o.Dur && ctx.Err() == nil {
				t := time.Now()
				err := do(seq.Add(1))
				mu.Lock()
				res.Total++
				if err != nil {
					res.Errors[err.Error()]++
				} else {
					res.OK++
					res.Latencies = append(res.Latencies, time.Since(t))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	return res
}

func insertDeferral(ctx context.Context, db *sqlite.DB, reader string) error {
	tx, err := db.BeginTx(ctx)
	if err != nil {
		return err
	}
	return commitDeferral(ctx, tx.Tx, reader)
}

// commitDeferral inserts one raw deferral row for reader in tx and commits: the baselines' write.
func commitDeferral(ctx context.Context, tx *sql.Tx, reader string) error {
	defer tx.Rollback()
	now := time.Now().Unix()
	if _, err := tx.ExecContext(ctx, `INSERT INTO deferrals (reader_id, article, choice, remind_at, created_at, updated_at)
		VALUES (?, ?, 'week', ?, ?, ?)`, reader, benchArticle, now+7*86400, now, now); err != nil {
		return err
	}
	return tx.Commit()
}

// prepareCheckouts stores n open checkouts, the ones the webhook row's events complete, before the
// service starts.
func prepareCheckouts(ctx context.Context, path, runID string, n int) error {
	db := sqlite.NewDB(path)
	if err := db.Open(ctx); err != nil {
		return err
	}
	defer db.Close()
	// In transactions of a few thousand: on PostgreSQL each checkout's funnel rollup trigger
	// updates the same checkouts_daily row (one day, article and campaign), and within one
	// transaction each update steps over every version the earlier ones left.
	const batch = 250
	now := time.Now().Unix()
	for from := 0; from < n; from += batch {
		if err := insertCheckouts(ctx, db, runID, from, min(n, from+batch), now); err != nil {
			return err
		}
	}
	if db.Engine() == "postgres" {
		// What autovacuum would do within a minute of such a burst: clear the rollup row's dead
		// versions, so the load starts as it would in service.
		pg, err := postgres.Open(path, postgres.Options{})
		if err != nil {
			return err
		}
		defer pg.Close()
		_, err = pg.ExecContext(ctx, `VACUUM (ANALYZE) checkouts, checkouts_daily`)
		return err
	}
	return nil
}

func insertCheckouts(ctx context.Context, db *sqlite.DB, runID string, from, to int, now int64) error {
	tx, err := db.BeginTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO checkouts (id, nonce, frequency, amount, currency, article, campaign,
		status, stripe_session_id, created_at, updated_at) VALUES (?, ?, 'once', 1000, 'usd', ?, 'bench', 'open', ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := from; i < to; i++ {
		id := benchID(runID, i)
		if _, err := stmt.ExecContext(ctx, "co_"+id, "nonce_"+id, benchArticle, "cs_"+id, now, now); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// attackOK is attack counting any 2xx as OK.
func attackOK(ctx context.Context, name string, workers int, dur time.Duration, tr targeter) *loadResult {
	return attackWant(ctx, name, workers, dur, func(code int) bool { return code >= 200 && code < 300 }, tr)
}

// formHeader is what a browser posting one of the service's own forms sends: Sec-Fetch-Site lets
// the CSRF middleware judge it without a token.
func formHeader(base string) http.Header {
	return http.Header{
		"Content-Type":   {"application/x-www-form-urlencoded"},
		"Sec-Fetch-Site": {"same-origin"},
		"Origin":         {base},
	}
}
