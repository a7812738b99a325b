package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// benchID names the i-th prepared checkout and everything Stripe would make for it.
func benchID(runID string, i int) string { return fmt.Sprintf("bench_%s_%07d", runID, i) }

// sessionCompletedEvent is a checkout.session.completed event in API version 2023-10-16's shape
// (from Stripe's own fixtures) for the i-th prepared checkout: a paid one-off gift of 10 USD.
func sessionCompletedEvent(runID string, i int, now time.Time) []byte {
	id := benchID(runID, i)
	meta := map[string]string{"pledge_checkout": "co_" + id, "frequency": "once", "article": benchArticle, "campaign": "bench"}
	session := map[string]any{
		"id": "cs_" + id, "object": "checkout.session", "livemode": false, "created": now.Unix() - 60,
		"mode": "payment", "status": "complete", "payment_status": "paid", "submit_type": "donate",
		"amount_subtotal": 1000, "amount_total": 1000, "currency": "usd",
		"client_reference_id": "co_" + id, "customer": "cus_" + id, "customer_creation": "always",
		"customer_details": map[string]any{"email": "reader." + id + "@example.com", "name": "Bench Reader",
			"address": nil, "phone": nil, "tax_exempt": "none", "tax_ids": []any{}},
		"payment_intent": "pi_" + id, "subscription": nil, "invoice": nil,
		"metadata": meta, "success_url": "http://127.0.0.1/donate/thanks", "cancel_url": "http://127.0.0.1/donate/cancelled",
		"url": nil, "expires_at": now.Unix() + 86400,
	}
	ev := map[string]any{
		"id": "evt_" + id, "object": "event", "api_version": "2023-10-16", "created": now.Unix(),
		"livemode": false, "pending_webhooks": 1, "type": "checkout.session.completed",
		"request": map[string]any{"id": nil, "idempotency_key": nil},
		"data":    map[string]any{"object": session},
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err) // maps of plain values always marshal
	}
	return b
}

// signature is the Stripe-Signature header Stripe would send for payload.
func signature(payload []byte, secret string) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: time.Now()}).Header
}

func readAll(resp *http.Response) []byte {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}
