package sqlite_test

import (
	"context"
	"testing"

	"github.com/pledge-news/pledge/internal/pledge"
)

// A supporter e-mail takes the language of the checkout its gift came from (the form's language,
// set by POST /donate); a checkout that recorded none leaves it to the default language ("").
func TestSupporterMailTakesTheCheckoutsLanguage(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: lt0}
	db := openDB(t, clk)
	for _, tc := range []struct{ nonce, lang, pi, email string }{
		{"ru-form", "ru", "pi_ru", "olga@example.com"},
		{"no-lang", "", "pi_none", "ann@example.com"},
	} {
		c, err := db.CreateCheckout(ctx, &pledge.Checkout{Nonce: tc.nonce, Frequency: pledge.Once, Lang: tc.lang,
			Amount: pledge.Money{Amount: 500, Currency: "usd"}})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := db.FindCheckout(ctx, c.ID); got.Lang != tc.lang {
			t.Fatalf("checkout lang %q, want %q", got.Lang, tc.lang)
		}
		apply(t, db, ev("evt_"+tc.pi, "checkout.session.completed", lt0, oneOff(c, tc.pi, "cus_"+tc.pi, tc.email)))
	}
	if got, want := query(t, db, `SELECT m.lang, s.email FROM supporter_mail m JOIN supporters s ON s.id = m.supporter_id
		WHERE m.kind = 'thanks' ORDER BY s.email`), "|ann@example.com\nru|olga@example.com"; got != want {
		t.Fatalf("thank-you rows:\n%s\nwant\n%s", got, want)
	}
	claimed, err := db.ClaimDueMail(ctx, "sender", nil, 10)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claimed %d, %v", len(claimed), err)
	}
	for _, m := range claimed {
		if want := map[string]string{"olga@example.com": "ru", "ann@example.com": ""}[m.Email]; m.Lang != want {
			t.Errorf("%s: lang %q, want %q", m.Email, m.Lang, want)
		}
	}
}
