package sqlite

import (
	"context"
	"slices"
	"testing"
)

// TestDataRequestCoversWhatErasureRemoves (issue 13, finding e): a data request for one supporter
// record reports exactly the records an erasure of it removes: every supporter record of the
// same address (in any case), their Stripe customers, and the address's reminder requests. A
// request that showed less would hide data the service holds about the person.
func TestDataRequestCoversWhatErasureRemoves(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	// Two records of one address (an older one-off customer, another case), one of someone else.
	exec(t, db, `INSERT INTO supporters (id, stripe_customer_id, email, email_key, name, created_at, updated_at) VALUES
		(21, 'cus_p1', 'pat@example.net', 'pat@example.net', 'Pat', 1, 1),
		(22, 'cus_p2', 'PAT@example.net', 'pat@example.net', 'Pat P.', 2, 2),
		(23, 'cus_q', 'quinn@example.net', 'quinn@example.net', 'Quinn', 3, 3)`)
	exec(t, db, `INSERT INTO customers (stripe_customer_id, supporter_id, email, email_at, name, name_at) VALUES
		('cus_p1', 21, 'pat@example.net', 1, 'Pat', 1),
		('cus_p2', 22, 'PAT@example.net', 2, 'Pat P.', 2),
		('cus_p3', 21, 'pat@example.net', 3, 'Patricia', 3),
		('cus_q', 23, 'quinn@example.net', 3, 'Quinn', 3)`)
	exec(t, db, `INSERT INTO donations (supporter_id, frequency, amount, currency, status, stripe_payment_intent_id, paid_at, created_at, updated_at) VALUES
		(21, 'once', 500, 'usd', 'succeeded', 'pi_p1', 10, 10, 10),
		(22, 'once', 700, 'usd', 'succeeded', 'pi_p2', 20, 20, 20),
		(23, 'once', 900, 'usd', 'succeeded', 'pi_q', 30, 30, 30)`)
	exec(t, db, `INSERT INTO deferrals (reader_id, choice, remind_at, email, reminder_status, created_at, updated_at) VALUES
		('rd_p', 'week', 5, 'Pat@Example.net', 'pending', 1, 1),
		('rd_q', 'week', 5, 'quinn@example.net', 'pending', 1, 1)`)

	d, err := db.SupporterData(ctx, "admin@news.example", 21)
	if err != nil {
		t.Fatal(err)
	}
	reported := []int64{d.Supporter.ID}
	for _, r := range d.Records {
		reported = append(reported, r.ID)
	}
	var customers []string
	for _, c := range d.Customers {
		customers = append(customers, c.StripeCustomerID)
	}
	var donations []string
	for _, dn := range d.Donations {
		donations = append(donations, dn.StripePaymentIntentID)
	}
	slices.Sort(reported)
	slices.Sort(customers)
	slices.Sort(donations)
	deferrals := len(d.Deferrals)

	if err := db.EraseSupporter(ctx, "admin@news.example", 21); err != nil {
		t.Fatal(err)
	}
	erased := queryInts(t, db, `SELECT id FROM supporters WHERE erased_at IS NOT NULL ORDER BY id`)
	var erasedCustomers []string
	rows, err := db.read.Query(`SELECT stripe_customer_id FROM customers WHERE erased_at IS NOT NULL AND email IS NULL AND name = '' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		erasedCustomers = append(erasedCustomers, id)
	}
	rows.Close()
	var deferralsLeft int
	db.read.QueryRow(`SELECT count(*) FROM deferrals`).Scan(&deferralsLeft)

	if !slices.Equal(reported, erased) || !slices.Equal(reported, []int64{21, 22}) {
		t.Errorf("data request reported supporter records %v; erasure removed %v (want both: [21 22])", reported, erased)
	}
	if !slices.Equal(customers, erasedCustomers) || !slices.Equal(customers, []string{"cus_p1", "cus_p2", "cus_p3"}) {
		t.Errorf("data request reported customers %v; erasure wiped %v (want cus_p1, cus_p2, cus_p3)", customers, erasedCustomers)
	}
	if !slices.Equal(donations, []string{"pi_p1", "pi_p2"}) {
		t.Errorf("data request reported donations %v, want both records' (pi_p1, pi_p2)", donations)
	}
	if deferrals != 1 || deferralsLeft != 1 {
		t.Errorf("data request reported %d reminder requests; erasure left %d of 2 (want 1 reported, quinn's left)", deferrals, deferralsLeft)
	}
	if got := textColumnsContaining(t, db, "pat@example.net"); len(got) > 0 {
		t.Errorf("after erasure the address is still in %v", got)
	}
	if got := textColumnsContaining(t, db, "Patricia"); len(got) > 0 {
		t.Errorf("after erasure a name is still in %v", got)
	}
}

func queryInts(t *testing.T, db *DB, q string, args ...any) []int64 {
	t.Helper()
	rows, err := db.read.Query(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}
