package server

import (
	"context"
	"encoding/csv"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/sqlite"
	"github.com/pledge-news/pledge/internal/testkit"
)

// TestStaffBrowser signs in with Chromium and checks that the dashboard shows SVG charts and
// headline figures that agree with the donations export of the same period.
func TestStaffBrowser(t *testing.T) {
	e := newStaffEnv(t, "http://localhost")
	if err := e.db.Seed(context.Background(), sqlite.SeedOptions{Donations: 3000, Rand: 11}); err != nil {
		t.Fatal(err)
	}
	ctx := testkit.Browser(t, chromedp.WindowSize(1280, 900))
	var svgs []*cdp.Node
	var exportHref string
	err := chromedp.Run(ctx,
		chromedp.Navigate(e.http.URL+"/staff"),
		chromedp.WaitVisible(`#email`, chromedp.ByQuery),
		chromedp.SendKeys(`#email`, adminEmail, chromedp.ByQuery),
		chromedp.SendKeys(`#password`, password, chromedp.ByQuery),
		chromedp.Submit(`#password`, chromedp.ByQuery),
		chromedp.WaitVisible(`section.summary`, chromedp.ByQuery),
		chromedp.Nodes(`svg.chart[role="img"]`, &svgs, chromedp.ByQueryAll),
		chromedp.AttributeValue(`a[href^="/staff/export/donations.csv"]`, "href", &exportHref, nil, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if len(svgs) == 0 {
		t.Fatal("no SVG chart on the dashboard")
	}
	shown := map[string]string{} // "donations usd" -> "123"
	for _, kpi := range []string{"donations", "gross"} {
		var nodes []*cdp.Node
		if err := chromedp.Run(ctx, chromedp.Nodes(`dd[data-kpi="`+kpi+`"]`, &nodes, chromedp.ByQueryAll)); err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			shown[kpi+" "+n.AttributeValue("data-currency")] = n.AttributeValue("data-value")
		}
	}
	if shown["donations usd"] == "" || shown["donations usd"] == "0" {
		t.Fatalf("no usd donations shown: %v", shown)
	}

	// The export the page links to, for the same period.
	if !strings.Contains(exportHref, "from=") || !strings.Contains(exportHref, "&to=") {
		t.Fatalf("export link %q does not carry the period", exportHref)
	}
	var docCookie string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.cookie`, &docCookie)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(docCookie, "pledge_staff") {
		t.Error("the session cookie is readable from script: it must be HttpOnly")
	}
	c := e.client()
	wantRedirect(t, c.login(adminEmail, password), "/staff")
	res, body := c.doHeader("GET", exportHref, nil, sameOrigin)
	wantStatus(t, res, http.StatusOK)
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	count, gross := map[string]int{}, map[string]int64{}
	for _, r := range recs[1:] {
		cur := pledge.Currency(r[3])
		n, err := pledge.ParseMinor(r[2], cur.Decimals())
		if err != nil {
			t.Fatal(err)
		}
		count[r[3]]++
		gross[r[3]] += n
	}
	for cur, n := range count {
		if got, want := shown["donations "+cur], itoa(int64(n)); got != want {
			t.Errorf("%s donations: dashboard %s, export %s", cur, got, want)
		}
		if got, want := shown["gross "+cur], (pledge.Money{Amount: gross[cur], Currency: pledge.Currency(cur)}).Major(); got != want {
			t.Errorf("%s charged: dashboard %s, export %s", cur, got, want)
		}
	}
	if len(count) == 0 {
		t.Fatal("the export is empty")
	}

	if path := os.Getenv("PLEDGE_SCREENSHOT"); path != "" {
		var png []byte
		if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Run(ctx, chromedp.Screenshot(`section.summary`, &png, chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(strings.TrimSuffix(path, ".png")+"-section.png", png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Signing out from the header's form ends the session: /staff sends the browser to the login.
	var loc string
	if err := chromedp.Run(ctx,
		chromedp.Click(`form.logout button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#password`, chromedp.ByQuery),
		chromedp.Navigate(e.http.URL+"/staff"),
		chromedp.WaitVisible(`#password`, chromedp.ByQuery),
		chromedp.Location(&loc),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(loc, "/staff/login") {
		t.Errorf("after signing out, /staff led to %s", loc)
	}

}

// TestStaffPagesOnAPhone signs in at 390 px wide (a phone): no staff page scrolls sideways (with
// every folded section open), and axe-core finds no serious or critical violation on any of them.
func TestStaffPagesOnAPhone(t *testing.T) {
	e := newStaffEnv(t, "http://localhost")
	if err := e.db.Seed(context.Background(), sqlite.SeedOptions{Donations: 2000, Rand: 7}); err != nil {
		t.Fatal(err)
	}
	axe := testkit.Axe(t)
	ctx := testkit.Browser(t, chromedp.WindowSize(390, 844))
	if err := chromedp.Run(ctx,
		// Headless Chromium keeps windows at least 500 px wide: emulate the phone's viewport.
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(e.http.URL+"/staff"),
		chromedp.WaitVisible(`#email`, chromedp.ByQuery),
		chromedp.SendKeys(`#email`, adminEmail, chromedp.ByQuery),
		chromedp.SendKeys(`#password`, password, chromedp.ByQuery),
		chromedp.Submit(`#password`, chromedp.ByQuery),
		chromedp.WaitVisible(`section.summary`, chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	var first int64
	if err := e.db.Reader().QueryRow(`SELECT min(id) FROM supporters`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	pages := []string{"/staff", "/staff?period=90d", "/staff/supporters", "/staff/supporters?sort=total&currency=usd",
		"/staff/past-due", "/staff/supporters/" + itoa(first), "/staff/audit", "/staff/emails", "/staff/experiments", "/staff/supporters/" + itoa(first) + "/erase"}
	for _, path := range pages {
		var overflow, width, inner int64
		if err := chromedp.Run(ctx,
			chromedp.Navigate(e.http.URL+path),
			chromedp.WaitReady(`footer`, chromedp.ByQuery),
			chromedp.Evaluate(`document.querySelectorAll("details").forEach(d => d.open = true)`, nil),
			chromedp.Evaluate(`document.documentElement.scrollWidth`, &overflow),
			chromedp.Evaluate(`document.documentElement.clientWidth`, &width),
			chromedp.Evaluate(`window.innerWidth`, &inner),
		); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if inner != 390 {
			t.Fatalf("%s: the viewport is %d px wide, want 390", path, inner)
		}
		if overflow > width {
			t.Errorf("%s scrolls sideways at 390 px: %d px wide in a %d px window", path, overflow, width)
		}
		violations, err := testkit.AxeSerious(ctx, axe)
		if err != nil {
			t.Fatalf("%s: axe: %v", path, err)
		}
		for _, v := range violations {
			t.Errorf("%s: axe %s", path, v)
		}
	}
}
