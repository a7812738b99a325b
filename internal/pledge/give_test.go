package pledge

import "testing"

// TestCoverFeesStayWithinMax: Validate checks the maximum before adding the fee cover, so
// the maximum gift with "cover the transaction costs" reaches Stripe above the catalogue's max.
func TestCoverFeesStayWithinMax(t *testing.T) {
	g := &Giving{Settings: DefaultSettings()}
	co, err := g.Validate(GiftChoice{Frequency: "once", Currency: "usd", Amount: "10000", CoverFees: true,
		Nonce: "0123456789abcdef0123456789abcdef"})
	if err != nil {
		return // refusing is one acceptable fix
	}
	if max := g.Settings.Catalogue.Tier("usd", Once).Max; co.Amount.Amount > max {
		t.Errorf("unit_amount sent to Stripe = %d, above the catalogue's max %d", co.Amount.Amount, max)
	}
}

// TestArticleFitsStripeMetadata: the article travels as Stripe metadata (session, payment
// intent, subscription), whose values Stripe caps at 500 characters; CleanArticle keeps up to
// 1000 bytes, so a long article URL (UTM tails are common) makes Checkout answer 400, which
// Pledge shows the reader as a 500.
func TestArticleFitsStripeMetadata(t *testing.T) {
	g := &Giving{Settings: DefaultSettings(), ArticleOrigins: []string{"https://news.example"}}
	long := "https://news.example/2026/11/story?utm_source=newsletter&utm_medium=email&x=" + string(make([]byte, 0))
	for len(long) < 700 {
		long += "abcdefghij"
	}
	co, err := g.Validate(GiftChoice{Frequency: "monthly", Currency: "usd", Amount: "5", Article: long,
		Nonce: "0123456789abcdef0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len([]rune(co.Article)); n > 500 {
		t.Errorf("article metadata is %d characters; Stripe refuses metadata values over 500", n)
	}
}
