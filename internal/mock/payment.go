// Package mock holds function-field mocks of the domain's service interfaces, for handler tests:
// set the field a test needs; calling an unset one panics, so an unexpected call shows.
package mock

import (
	"context"
	"sync"

	"github.com/pledge-news/pledge/internal/pledge"
)

var _ pledge.PaymentService = (*PaymentService)(nil)

// PaymentService mocks pledge.PaymentService and counts the sessions asked for.
type PaymentService struct {
	CreateCheckoutSessionFn func(ctx context.Context, c *pledge.Checkout, req pledge.SessionRequest) (*pledge.Session, error)
	CheckoutSessionFn       func(ctx context.Context, id string) (*pledge.Session, error)

	mu      sync.Mutex
	created []pledge.Checkout
}

// CreateCheckoutSession records the call and invokes CreateCheckoutSessionFn.
func (m *PaymentService) CreateCheckoutSession(ctx context.Context, c *pledge.Checkout, req pledge.SessionRequest) (*pledge.Session, error) {
	m.mu.Lock()
	m.created = append(m.created, *c)
	m.mu.Unlock()
	return m.CreateCheckoutSessionFn(ctx, c, req)
}

// CheckoutSession invokes CheckoutSessionFn.
func (m *PaymentService) CheckoutSession(ctx context.Context, id string) (*pledge.Session, error) {
	return m.CheckoutSessionFn(ctx, id)
}

// Created returns the checkouts sessions were asked for, in order.
func (m *PaymentService) Created() []pledge.Checkout {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]pledge.Checkout(nil), m.created...)
}
