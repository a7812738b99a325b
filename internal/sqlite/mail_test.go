package sqlite_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/pledge-news/pledge/internal/testkit"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
)

// A supporter e-mail takes the language of the checkout its gift came from (the form's language,
// set by POST /donate); a checkout that recorded none leaves it to the default language ("").
func TestSupporterMailTakesTheCheckoutsLanguage(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(lt0)
	db := storetest.Open(t, clk)
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

// A data request reports the person's supporter e-mails (kind, state, language, times; never a
// sender's claim token) and unsubscribes, and their newsletter consents, whether given for the
// supporter (the e-mail's link) or on their checkout's thank-you page before the ledger knew
// them; the supporters export's JSON carries the latest consent; an erasure deletes the
// consents and cancels e-mails not sent yet, and a data request after it finds neither.
func TestDataRequestAndErasureCoverMailAndNewsletter(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(lt0)
	db := storetest.Open(t, clk)
	c, err := db.CreateCheckout(ctx, &pledge.Checkout{Nonce: "n1", Frequency: pledge.Once, Lang: "ru",
		Amount: pledge.Money{Amount: 500, Currency: "usd"}})
	if err != nil {
		t.Fatal(err)
	}
	// Ticked on the thank-you page before the webhook arrived: no supporter yet.
	wording := "Присылайте мне рассылку The Riverside Ledger. Отписаться можно в любой момент."
	if err := db.RecordNewsletterConsent(ctx, &pledge.NewsletterConsent{CheckoutID: c.ID, Source: pledge.ConsentThanksPage,
		Wording: wording, Lang: "ru"}); err != nil {
		t.Fatal(err)
	}
	apply(t, db, ev("evt_1", "checkout.session.completed", lt0, oneOff(c, "pi_1", "cus_1", "olga@example.com")))
	claimed, err := db.ClaimDueMail(ctx, "secret-claim-token", nil, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claimed %d %v", len(claimed), err)
	}
	if err := db.MarkMailSent(ctx, claimed[0]); err != nil {
		t.Fatal(err)
	}
	id := claimed[0].SupporterID
	if err := db.UnsubscribeMail(ctx, id, pledge.MailRenewal); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	if err := db.RecordNewsletterConsent(ctx, &pledge.NewsletterConsent{SupporterID: id, Source: pledge.ConsentThanksEmail,
		Wording: "Send me the newsletter.", Lang: "en"}); err != nil {
		t.Fatal(err)
	}
	d, err := db.SupporterData(ctx, "editor@news.example", id)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Mails) != 1 || d.Mails[0].Kind != pledge.MailThanks || d.Mails[0].Status != pledge.MailSent ||
		d.Mails[0].Lang != "ru" || d.Mails[0].SentAt == nil || !d.Mails[0].SentAt.Equal(lt0) {
		t.Fatalf("e-mails in the data request: %+v", d.Mails)
	}
	if len(d.MailUnsubscribes) != 1 || d.MailUnsubscribes[0].Kind != pledge.MailRenewal {
		t.Fatalf("unsubscribes: %+v", d.MailUnsubscribes)
	}
	if len(d.Newsletter) != 2 || d.Newsletter[0].Wording != wording || d.Newsletter[0].Source != pledge.ConsentThanksPage ||
		!d.Newsletter[0].ConsentedAt.Equal(lt0) || d.Newsletter[1].Source != pledge.ConsentThanksEmail {
		t.Fatalf("newsletter consents: %+v", d.Newsletter)
	}
	if len(d.Checkouts) != 1 || d.Checkouts[0].Lang != "ru" {
		t.Fatalf("checkouts: %+v", d.Checkouts)
	}
	b, _ := json.Marshal(d)
	if strings.Contains(string(b), "secret-claim-token") || !strings.Contains(string(b), `"emails":[{"kind":"thanks","status":"sent"`) {
		t.Fatalf("data request JSON: %s", b)
	}

	var export bytes.Buffer
	if err := pledge.WriteSupporters(ctx, &export, db, pledge.ExportFilter{}, pledge.FormatJSON); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(export.String(), `"newsletter_consent":{"consented_at":"2026-11-01T13:00:00Z","wording":"Send me the newsletter."}`) {
		t.Fatalf("supporters export: %s", export.String())
	}
	export.Reset()
	if err := pledge.WriteSupporters(ctx, &export, db, pledge.ExportFilter{}, pledge.FormatCSV); err != nil {
		t.Fatal(err)
	}
	if head, _, _ := strings.Cut(export.String(), "\n"); head != strings.Join(pledge.SupportersCSVHeader, ",") {
		t.Fatalf("CSV header changed: %s", head)
	}

	// A recovery e-mail waits when the supporter is erased: it is cancelled with the consents gone.
	tx, err := db.BeginTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO supporter_mail (kind, key, supporter_id, next_attempt_at, created_at, updated_at)
		VALUES ('recovery', 'recovery:in_x', ?, 0, 0, 0)`, id); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := db.EraseSupporter(ctx, "editor@news.example", id); err != nil {
		t.Fatal(err)
	}
	if got := query(t, db, `SELECT count(*) FROM newsletter_consents`); got != "0" {
		t.Fatalf("%s newsletter consents left after erasure", got)
	}
	if got := query(t, db, `SELECT status, reason FROM supporter_mail WHERE kind = 'recovery'`); got != "cancelled|supporter erased" {
		t.Fatalf("pending e-mail after erasure: %s", got)
	}
	if d, err := db.SupporterData(ctx, "editor@news.example", id); err != nil || len(d.Newsletter) != 0 {
		t.Fatalf("after erasure: %+v %v", d.Newsletter, err)
	}
}

// The year's statements: one candidate per supporter who gave that year, enqueued once (its key
// is statement:SUPPORTER:YEAR), never again by a second run. On PostgreSQL the year is a
// parameter used in a concatenation and an integer column at once (it once failed there:
// "unable to encode 2026 into text format for text").
func TestStatementsEnqueuedOncePerSupporterAndYear(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(lt0)
	db := storetest.Open(t, clk)
	c, err := db.CreateCheckout(ctx, &pledge.Checkout{Nonce: "st1", Frequency: pledge.Once,
		Amount: pledge.Money{Amount: 700, Currency: "usd"}})
	if err != nil {
		t.Fatal(err)
	}
	apply(t, db, ev("evt_st1", "checkout.session.completed", lt0, oneOff(c, "pi_st1", "cus_st1", "stella@example.com")))
	year := lt0.UTC().Year()
	cands, err := db.StatementCandidates(ctx, year)
	if err != nil || len(cands) != 1 || cands[0].Email != "stella@example.com" {
		t.Fatalf("candidates for %d: %+v, %v; want stella's", year, cands, err)
	}
	if n, err := db.EnqueueStatements(ctx, year); err != nil || n != 1 {
		t.Fatalf("enqueued %d, %v; want 1", n, err)
	}
	if got, want := query(t, db, `SELECT m.key, m.year FROM supporter_mail m WHERE m.kind = 'statement'`),
		"statement:"+query(t, db, `SELECT id FROM supporters WHERE email = 'stella@example.com'`)+":"+strconv.Itoa(year)+"|"+strconv.Itoa(year); got != want {
		t.Fatalf("statement rows %q, want %q", got, want)
	}
	if n, err := db.EnqueueStatements(ctx, year); err != nil || n != 0 {
		t.Fatalf("second run enqueued %d, %v; want 0", n, err)
	}
	if cands, err := db.StatementCandidates(ctx, year); err != nil || len(cands) != 0 {
		t.Fatalf("candidates after enqueueing: %+v, %v; want none", cands, err)
	}
	if cands, err := db.StatementCandidates(ctx, year-1); err != nil || len(cands) != 0 {
		t.Fatalf("candidates for %d: %+v, %v; want none", year-1, cands, err)
	}
}
