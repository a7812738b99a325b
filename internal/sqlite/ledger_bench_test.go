package sqlite_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
)

// BenchmarkApplyEvent applies distinct paid checkout.session.completed facts (each a new
// supporter and donation) from 32 goroutines, durably, as the webhook does under a burst; on
// PostgreSQL when PLEDGE_TEST_STORE=postgres.
func BenchmarkApplyEvent(b *testing.B) {
	ctx := context.Background()
	db := storetest.Open(b, nil)
	n := b.N + 64
	checkouts := make([]*pledge.Checkout, n)
	for i := range checkouts {
		c, err := db.CreateCheckout(ctx, &pledge.Checkout{Nonce: fmt.Sprintf("bench-%d", i), Frequency: pledge.Once,
			Amount: pledge.Money{Amount: 1000, Currency: "usd"}, Article: "https://news.example/a"})
		if err != nil {
			b.Fatal(err)
		}
		checkouts[i] = c
	}
	var next atomic.Int64
	at := time.Now()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			c := checkouts[i]
			id := fmt.Sprint(i)
			out, err := db.ApplyEvent(ctx, &pledge.LedgerEvent{ID: "evt_" + id, Type: "checkout.session.completed", Created: at,
				ObjectID: "cs_" + id, Fact: &pledge.CheckoutCompleted{SessionID: "cs_" + id, CheckoutID: c.ID, Paid: true,
					Meta:     pledge.Metadata{CheckoutID: c.ID, Frequency: c.Frequency, Article: c.Article},
					Customer: pledge.Customer{StripeID: "cus_" + id, Email: "r" + id + "@example.com"}, Amount: c.Amount, PaymentIntent: "pi_" + id}})
			if err != nil || out != pledge.OutcomeApplied {
				b.Errorf("apply: %v, %v", out, err)
				return
			}
		}
	})
}
