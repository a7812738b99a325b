package sqlite_test

import (
	"context"
	"github.com/pledge-news/pledge/internal/testkit"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
)

func TestFindSupportAccount(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(t0)
	db := storetest.Open(t, clk)
	tx, err := db.BeginTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO supporters (id, stripe_customer_id, email, created_at, updated_at) VALUES (1, 'cus_A', 'Ann@Example.com', 1, 1)`,
		`INSERT INTO supporters (id, stripe_customer_id, email, created_at, updated_at) VALUES (2, NULL, 'nocustomer@example.com', 1, 1)`,
		`INSERT INTO supporters (id, stripe_customer_id, email, created_at, updated_at, erased_at) VALUES (3, 'cus_C', 'erased@example.com', 1, 1, 5)`,
		`INSERT INTO supporters (id, stripe_customer_id, email, created_at, updated_at) VALUES (4, 'cus_D', 'once@example.com', 1, 1)`,
		`INSERT INTO subscriptions (stripe_subscription_id, supporter_id, frequency, amount, currency, status, created_at, updated_at)
		 VALUES ('sub_old', 1, 'monthly', 500, 'usd', 'canceled', 1, 1), ('sub_new', 1, 'annual', 5000, 'usd', 'active', 2, 2)`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	a, err := db.FindSupportAccount(ctx, "ann@example.COM")
	if err != nil || a.SupporterID != 1 || a.CustomerID != "cus_A" || a.SubscriptionID != "sub_new" || a.Email != "Ann@Example.com" {
		t.Fatalf("ann: %+v %v", a, err)
	}
	if a, err := db.FindSupportAccount(ctx, "once@example.com"); err != nil || a.SubscriptionID != "" {
		t.Fatalf("one-off supporter: %+v %v", a, err)
	}
	for _, email := range []string{"nocustomer@example.com", "erased@example.com", "nobody@example.com"} {
		if _, err := db.FindSupportAccount(ctx, email); pledge.ErrorCode(err) != pledge.ENOTFOUND {
			t.Errorf("%s: %v, want ENOTFOUND", email, err)
		}
	}
	if a, err := db.FindSupportAccountByID(ctx, 4); err != nil || a.CustomerID != "cus_D" {
		t.Fatalf("by id: %+v %v", a, err)
	}
}

func TestUseManageTokenOnce(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(t0)
	db := storetest.Open(t, clk)
	exp := t0.Add(time.Hour)
	if used, err := db.ManageTokenUsed(ctx, "tok1"); err != nil || used {
		t.Fatalf("before use: %v %v", used, err)
	}
	if err := db.UseManageToken(ctx, "tok1", exp); err != nil {
		t.Fatal(err)
	}
	if used, err := db.ManageTokenUsed(ctx, "tok1"); err != nil || !used {
		t.Fatalf("after use: %v %v", used, err)
	}
	if err := db.UseManageToken(ctx, "tok1", exp); pledge.ErrorCode(err) != pledge.ECONFLICT {
		t.Fatalf("second use: %v, want ECONFLICT", err)
	}
	if err := db.UseManageToken(ctx, "tok2", exp); err != nil {
		t.Fatalf("another token: %v", err)
	}
	// Past its expiry the row is pruned (the link's signature refuses it by then anyway).
	clk.Add(2 * time.Hour)
	if err := db.UseManageToken(ctx, "tok3", clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var n int
	db.Reader().QueryRow(`SELECT count(*) FROM manage_tokens_used`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d rows kept, want 1 (expired ones pruned)", n)
	}
}
