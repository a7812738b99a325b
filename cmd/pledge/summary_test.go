package main

import (
	"context"
	"encoding/json"
	"html"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/text/language"

	"github.com/pledge-news/pledge/internal/pledge"
)

// TestOneScreenAgreesWithExport: the dashboard's one screen for a seeded ledger shows what is
// computed independently here from `pledge export donations`: net gifts per currency, the
// number of gifts, recurring supporters (each monthly gift paid once), and the money in the bank
// (stripe-mock's balance transaction fixture: 1.00 usd, no fee, per gift).
func TestOneScreenAgreesWithExport(t *testing.T) {
	s := startService(t, nil)
	ctx := context.Background()
	s.giveOnce(t, 500, "usd", "once@example.com")
	s.giveOnce(t, 123456, "usd", "large@example.com")
	s.giveMonthly(t, 500, "monthly@example.com", "m")
	s.giveMonthly(t, 1500, "second@example.com", "m2")
	s.giveOnce(t, 300, "eur", "euro@example.com")
	refund := s.giveOnce(t, 2000, "eur", "refund@example.com")
	if err := s.post(t, "charge.refunded", refund); err != nil {
		t.Fatal(err)
	}
	from, to, _ := reportDays()

	out, errs, code := s.run(t, "export", "donations", "--from", from, "--to", to, "--format", "json")
	if code != 0 {
		t.Fatalf("export exited %d: %s", code, errs)
	}
	var rows []struct {
		Currency  string `json:"currency"`
		Frequency string `json:"frequency"`
		Amount    int64  `json:"amount_minor"`
		Refunded  int64  `json:"amount_refunded_minor"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("export JSON: %v\n%s", err, out)
	}
	net, gifts := map[string]int64{}, map[string]int64{}
	recurring, settled := int64(0), int64(0)
	for _, r := range rows {
		// stripe-mock settles every gift as 1.00 usd; a refund takes back its share of it.
		settled += pledge.SettledNetOf(pledge.Settlement{BalanceTransaction: "txn", Currency: "usd", Amount: 100, Net: 100},
			r.Amount, r.Refunded, 0)
		net[r.Currency] += r.Amount - r.Refunded
		gifts[r.Currency]++
		if r.Frequency != "once" {
			recurring++
		}
	}
	en := pledge.NewNumbers(language.English)
	if _, err := s.db.CreateStaff(ctx, "editor@news.example", "a long enough passphrase", pledge.RoleViewer); err != nil {
		t.Fatal(err)
	}
	page := s.staffPage(t, "editor@news.example", "a long enough passphrase", "/staff?"+url.Values{"period": {"custom"}, "from": {from}, "to": {to}}.Encode())
	top := page[strings.Index(page, `class="summary"`):]
	top = html.UnescapeString(top[:strings.Index(top, "</section>")])
	for c, n := range net {
		want := en.Money(pledge.Money{Amount: n, Currency: pledge.Currency(c)}) + " from " + en.Int(gifts[c]) + " gifts"
		if !strings.Contains(top, want) {
			t.Errorf("the one screen does not say %q:\n%s", want, top)
		}
	}
	for key, want := range map[string]string{
		"settled":   en.Money(pledge.Money{Amount: settled, Currency: "usd"}),
		"recurring": en.Int(recurring),
		"net_new":   "+" + en.Int(recurring),
		"churn":     "0.0%",
	} {
		if !strings.Contains(top, `data-kpi="`+key+`">`+want+`</dd>`) {
			t.Errorf("one screen %s: want %s in\n%s", key, want, top[:min(len(top), 3000)])
		}
	}
}
