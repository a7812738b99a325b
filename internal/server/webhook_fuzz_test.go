package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/pledge-news/pledge/internal/billing"
	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/server"
	"github.com/pledge-news/pledge/web"
)

// ledgerSpy is a pledge.LedgerService that writes nothing and counts what it was asked to write.
type ledgerSpy struct{ applied atomic.Int64 }

func (l *ledgerSpy) ApplyEvent(context.Context, *pledge.LedgerEvent) (pledge.Outcome, error) {
	l.applied.Add(1)
	return pledge.OutcomeApplied, nil
}
func (l *ledgerSpy) HasEvent(context.Context, string) (bool, error) { return false, nil }
func (l *ledgerSpy) SubscriptionMeta(context.Context, string) (pledge.Metadata, error) {
	return pledge.Metadata{}, pledge.Errorf(pledge.ENOTFOUND, "not found")
}

// FuzzWebhookHandler posts random bodies to POST /webhooks/stripe through the real server and
// the real verifier. With a random or absent signature nothing reaches the ledger and the answer
// is a 4xx; with a correct signature over random bytes the handler still never panics (Echo's
// recover would turn a panic into a 500) and never fails with a 500 (the spy ledger never does).
func FuzzWebhookHandler(f *testing.F) {
	const secret = "whsec_fuzz"
	f.Add([]byte(`{"id":"evt_1","object":"event","api_version":"2023-10-16","type":"checkout.session.completed","data":{"object":{}}}`), "", true)
	f.Add([]byte(`{"id":"evt_1","object":"event","api_version":"2023-10-16","type":"invoice.paid","data":{"object":{"id":"in_1","object":"invoice","lines":{"data":[{}]}}}}`), "", true)
	f.Add([]byte(`{"id":"evt_2","type":"charge.refunded","api_version":"2020-08-27","data":{"object":{"amount":-5}}}`), "t=1,v1=00", false)
	f.Add([]byte(`not json`), "t=9999999999,v1=deadbeef", false)
	f.Add([]byte(``), "", false)
	base, _ := url.Parse("http://localhost:8080")
	spy := &ledgerSpy{}
	srv, err := server.New(server.Config{BaseURL: base, Org: "Fuzz", Secret: bytes.Repeat([]byte("k"), 32),
		EmbedOrigins: []string{"http://localhost:8080"}}, web.FS, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	srv.Webhooks = &billing.Webhooks{Secrets: []string{secret}, Ledger: spy, Logger: slog.New(slog.DiscardHandler)}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, body []byte, sig string, signIt bool) {
		if signIt {
			sig = webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: time.Now()}).Header
		}
		before := spy.applied.Load()
		r := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Stripe-Signature", sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("status %d for body %q (signed: %v): %s", w.Code, body, signIt, w.Body.String())
		}
		if !signIt {
			if w.Code < 400 {
				t.Fatalf("unsigned body answered %d", w.Code)
			}
			if spy.applied.Load() != before {
				t.Fatalf("an event with signature %q reached the ledger", sig)
			}
		}
	})
}
