package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/pledge-news/pledge/internal/pledge"
)

// TestSupporterDataHoldsCheckoutsAndEvents: a data request carries the checkouts the supporter's
// donations and subscriptions came from and the Stripe events about their objects, none of
// another supporter's, under snake_case names.
func TestSupporterDataHoldsCheckoutsAndEvents(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	t0 := at("2026-01-02 10:00:00")
	exec(t, db, `INSERT INTO supporters (id, stripe_customer_id, email, name, created_at, updated_at) VALUES
		(1, 'cus_A', 'ann@example.com', 'Ann', ?1, ?1), (2, 'cus_B', 'bob@example.com', 'Bob', ?1, ?1)`, t0)
	exec(t, db, `INSERT INTO checkouts (id, nonce, frequency, amount, currency, reader_id, status, stripe_session_id,
		created_at, updated_at) VALUES
		('co_once', 'n1', 'once', 500, 'usd', 'rd_ann', 'paid', 'cs_once', ?1, ?1),
		('co_month', 'n2', 'monthly', 300, 'usd', 'rd_ann', 'paid', 'cs_month', ?1 + 1, ?1),
		('co_bob', 'n3', 'once', 700, 'usd', 'rd_bob', 'paid', 'cs_bob', ?1, ?1)`, t0)
	exec(t, db, `INSERT INTO subscriptions (id, stripe_subscription_id, supporter_id, checkout_id, frequency, amount,
		currency, status, created_at, updated_at) VALUES (1, 'sub_A', 1, 'co_month', 'monthly', 300, 'usd', 'active', ?1, ?1)`, t0)
	exec(t, db, `INSERT INTO donations (supporter_id, checkout_id, subscription_id, frequency, amount, currency, status,
		stripe_payment_intent_id, stripe_invoice_id, stripe_charge_id, paid_at, created_at, updated_at) VALUES
		(1, 'co_once', NULL, 'once', 500, 'usd', 'succeeded', 'pi_A', NULL, 'ch_A', ?1, ?1, ?1),
		(1, 'co_month', 1, 'monthly', 300, 'usd', 'succeeded', NULL, 'in_A', 'ch_A2', ?1, ?1, ?1),
		(2, 'co_bob', NULL, 'once', 700, 'usd', 'succeeded', 'pi_B', NULL, 'ch_B', ?1, ?1, ?1)`, t0)
	for i, obj := range []string{"cus_A", "sub_A", "pi_A", "ch_A", "in_A", "ch_A2", "cs_once", "cs_month", "cus_B", "pi_B", "cs_bob"} {
		exec(t, db, `INSERT INTO stripe_events (id, type, created, object_id, outcome, received_at)
			VALUES (?, 'x.updated', ?, ?, 'applied', ?)`, "evt_"+obj, t0+int64(i), obj, t0)
	}

	d, err := db.SupporterData(ctx, "admin@news.example", 1)
	if err != nil {
		t.Fatal(err)
	}
	var checkouts, events []string
	for _, c := range d.Checkouts {
		checkouts = append(checkouts, c.ID+"/"+c.StripeSessionID+"/"+c.ReaderID)
	}
	for _, e := range d.Events {
		events = append(events, e.ObjectID)
	}
	sort.Strings(events)
	if got, want := strings.Join(checkouts, " "), "co_once/cs_once/rd_ann co_month/cs_month/rd_ann"; got != want {
		t.Errorf("checkouts = %q, want %q", got, want)
	}
	if got, want := strings.Join(events, " "), "ch_A ch_A2 cs_month cs_once cus_A in_A pi_A sub_A"; got != want {
		t.Errorf("events about = %q, want %q", got, want)
	}

	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"supporter", "subscriptions", "donations", "reminder_requests", "checkouts", "stripe_events"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("data request JSON lacks %q: %s", k, b)
		}
	}
	for _, want := range []string{`"stripe_customer_id":"cus_A"`, `"stripe_subscription_id":"sub_A"`,
		`"stripe_payment_intent_id":"pi_A"`, `"amount":{"amount":500,"currency":"usd"}`, `"amount_refunded":0`,
		`"object_id":"cs_once"`, `"stripe_session_id":"cs_once"`, `"reader_id":"rd_ann"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("data request JSON lacks %s:\n%s", want, b)
		}
	}
	for _, bad := range []string{`"StripeCustomerID"`, `"Amount"`, `"ObjectID"`, "cus_B", "pi_B", "cs_bob", "co_bob"} {
		if strings.Contains(string(b), bad) {
			t.Errorf("data request JSON holds %s:\n%s", bad, b)
		}
	}
}

// planOf returns the EXPLAIN QUERY PLAN lines of q on conns (the readers, or the writer, whose
// connection a test's ANALYZE has just reloaded).
func planOf(t *testing.T, conns *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := conns.Query(`EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestSupporterFiltersAreIndexDriven: filtering the supporters list by subscription status or
// frequency reads the supporter ids from a subscriptions index instead of walking the supporters
// table (with or without ANALYZE statistics), and still returns the right pages.
func TestSupporterFiltersAreIndexDriven(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	filters := map[string]pledge.SupporterFilter{
		"status":             {Status: "past_due"},
		"status, next page":  {Status: "past_due", After: 1000},
		"monthly":            {Frequency: pledge.Monthly},
		"annual and status":  {Frequency: pledge.Annual, Status: "canceled", After: 500},
		"status and address": {Status: "active", Query: "a"},
	}
	check := func(stage string) {
		if db.pg {
			return // the plans are SQLite's; PostgreSQL's planner chooses by its own statistics
		}
		for name, f := range filters {
			q, args := db.supportersQuery(f)
			plan := strings.Join(planOf(t, db.read, q, args...), "\n")
			if regexp.MustCompile(`(?m)^SCAN s\b`).MatchString(plan) {
				t.Errorf("%s, %s: the query scans supporters:\n%s", stage, name, plan)
			}
			if f.Status != "" && f.Query == "" && !strings.Contains(plan, "INDEX subscriptions_status_supporter (status=? AND supporter_id<?)") {
				t.Errorf("%s, %s: the query does not use subscriptions_status_supporter:\n%s", stage, name, plan)
			}
			if f.Status == "" && !strings.Contains(plan, "INDEX subscriptions_frequency_supporter (frequency=? AND supporter_id<?)") {
				t.Errorf("%s, %s: the query does not use subscriptions_frequency_supporter:\n%s", stage, name, plan)
			}
		}
	}
	check("empty")
	if err := db.Seed(ctx, SeedOptions{Donations: 3000, Rand: 3}); err != nil { // seeding runs ANALYZE
		t.Fatal(err)
	}
	check("seeded and analysed")

	// The pages are still right: every supporter with a subscription of the status, newest first,
	// paged by keyset.
	var status string
	if err := db.read.QueryRow(`SELECT status FROM subscriptions GROUP BY status ORDER BY count(*), status LIMIT 1`).Scan(&status); err != nil {
		t.Fatal(err)
	}
	var want []int64
	rows, err := db.read.Query(`SELECT DISTINCT supporter_id FROM subscriptions WHERE status = ? ORDER BY supporter_id DESC`, status)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	rows.Close()
	var got []int64
	for f := (pledge.SupporterFilter{Status: status, Limit: 2}); ; {
		page, err := db.ListSupporters(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, s := range page {
			got = append(got, s.ID)
		}
		f.After = page[len(page)-1].ID
	}
	if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("supporters with a %q subscription, paged: %v, want %v", status, got, want)
	}
}

// TestEventsAboutReadsOnlyItsEvents: the events about a supporter's objects are those whose own
// object or related object is one of them, each once, newest first, at most the limit; and the
// query finds them by the object and related indexes instead of walking every event newest first
// (5,000 others here).
func TestEventsAboutReadsOnlyItsEvents(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	err := db.WriteGrouped(ctx, func(tx *Tx) error {
		add := func(id string, created int, object, related string) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO stripe_events (id, type, created, object_id, related_id, outcome, received_at)
				VALUES (?, 'x.updated', ?, ?, ?, 'applied', 0)`, id, created, object, related)
			return err
		}
		for i := range 5000 {
			if err := add(fmt.Sprint("evt_other", i), 1000+i, fmt.Sprint("pi_other", i), ""); err != nil {
				return err
			}
		}
		for _, e := range []struct {
			id              string
			created         int
			object, related string
		}{{"evt_1", 10, "pi_A", ""}, {"evt_2", 20, "in_A", "sub_A"}, {"evt_3", 30, "re_A", "pi_A"},
			{"evt_4", 40, "sub_A", "cus_A"}, {"evt_5", 50, "pi_B", ""}, {"evt_6", 60, "pi_A", "sub_A"}} {
			if err := add(e.id, e.created, e.object, e.related); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(limit int) string {
		evs, err := db.eventsAbout(ctx, []any{"pi_A", "sub_A"}, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range evs {
			out = append(out, e.ID)
		}
		return strings.Join(out, " ")
	}
	if got, want := ids(-1), "evt_6 evt_4 evt_3 evt_2 evt_1"; got != want {
		t.Errorf("events about pi_A and sub_A = %q, want %q", got, want)
	}
	if got, want := ids(2), "evt_6 evt_4"; got != want {
		t.Errorf("the 2 newest = %q, want %q", got, want)
	}
	if db.pg {
		return // the plan below is SQLite's; PostgreSQL plans its own union
	}
	// With statistics like those of a ledger whose events mostly relate to nothing (ANALYZE here
	// says so of the 5,000 others; the seeded million's say it of all 220,255), SQLite planned the
	// old "object_id IN (...) OR related_id IN (...)" as a walk of stripe_events_created.
	if _, err := db.write.ExecContext(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.ExecContext(ctx, `UPDATE sqlite_stat1 SET stat = '5006 5006'
		WHERE idx = 'stripe_events_related'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.ExecContext(ctx, `ANALYZE sqlite_schema`); err != nil {
		t.Fatal(err)
	}
	plan := planOf(t, db.write, eventsAboutSQL(2), "pi_A", "sub_A", "pi_A", "sub_A", 50)
	joined := strings.Join(plan, "\n")
	if strings.Contains(joined, "SCAN stripe_events") || !strings.Contains(joined, "stripe_events_object") ||
		!strings.Contains(joined, "stripe_events_related") {
		t.Errorf("the events about a supporter are not read by their indexes:\n%s", joined)
	}
}
