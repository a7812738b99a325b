package billing

import (
	"fmt"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/stripe/stripe-go/v76/webhook"
)

// BenchmarkVerifySignature is the signature check every webhook delivery pays (Webhooks.Verify,
// during a secret rotation: the old secret is tried first): HMAC-SHA256 over a typical
// checkout.session.completed payload, the tolerance and API version checks, and the decoding of
// the event envelope.
func BenchmarkVerifySignature(b *testing.B) {
	const secret = "whsec_bench_0123456789"
	payload := []byte(fmt.Sprintf(`{"id":"evt_1","object":"event","api_version":"2023-10-16","created":%d,"livemode":false,`+
		`"type":"checkout.session.completed","data":{"object":{"id":"cs_test_1","object":"checkout.session","mode":"payment",`+
		`"payment_status":"paid","status":"complete","amount_total":1000,"currency":"usd","customer":"cus_1",`+
		`"payment_intent":"pi_1","metadata":{"pledge_checkout":"co_1","frequency":"once","article":"https://news.example/a","campaign":""}}}}`,
		time.Now().Unix()))
	header := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: time.Now()}).Header
	w := &Webhooks{Secrets: []string{"whsec_old_rotated", secret}}
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := w.Verify(payload, header); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyTranslate is what a webhook delivery costs before the store: the signature
// check and envelope (Verify), then the translation of a full checkout.session.completed object
// into its ledger fact (Translate), as the handler does for every delivery.
func BenchmarkVerifyTranslate(b *testing.B) {
	const secret = "whsec_bench_0123456789"
	c := &pledge.Checkout{ID: "co_bench", Frequency: pledge.Once, Amount: pledge.Money{Amount: 500, Currency: "usd"}}
	payload, err := BuildEvent("checkout.session.completed", EventParams{Checkout: c})
	if err != nil {
		b.Fatal(err)
	}
	header := SignatureHeader(payload, secret, time.Now())
	w := &Webhooks{Secrets: []string{secret}}
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		ev, err := w.Verify(payload, header)
		if err != nil {
			b.Fatal(err)
		}
		le, err := Translate(ev)
		if err != nil || le.Fact == nil {
			b.Fatalf("translate: %v, %v", le, err)
		}
	}
}
