package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pledge-news/pledge/internal/billing"
	"github.com/pledge-news/pledge/internal/pledge"
)

// TestEraseLeavesNoTraceOnARunningServer (issue 13, item 1): a real `pledge serve` records two
// readers' gifts (address and name, through Stripe's events) and a reminder request; one is
// erased from the staff area, the other with `pledge erase`. With the server still running, the
// database file, its write-ahead log and its shared-memory file (on PostgreSQL: the database's
// rows) hold no trace of either address or name.
func TestEraseLeavesNoTraceOnARunningServer(t *testing.T) {
	s := startService(t, nil)
	ctx := context.Background()
	readers := []struct{ email, name string }{
		{"Web.Erased@Example.org", "Wilhelmina Weberase"},
		{"cli.erased@example.net", "Cornelius Cliterase"},
	}
	for _, r := range readers {
		for i := 0; i < 3; i++ { // several gifts: several customers and many page versions
			c := s.checkout(t, pledge.Once, 500)
			if err := s.post(t, "checkout.session.completed", billing.EventParams{Checkout: c, Email: r.email, Name: r.name}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.db.Defer(ctx, &pledge.Deferral{ReaderID: "rd_" + r.name[:3], Choice: pledge.ChoiceMonth, Email: r.email}); err != nil {
			t.Fatal(err)
		}
	}
	// On PostgreSQL, whose files are the server's, every row of every table.
	traces := func() []string {
		var found []string
		for part, b := range storeContents(t, s.env["PLEDGE_DB"]) {
			b = bytes.ToLower(b)
			for _, r := range readers {
				for _, needle := range []string{r.email, r.name, strings.Fields(r.name)[1]} {
					if bytes.Contains(b, []byte(strings.ToLower(needle))) {
						found = append(found, needle+" in "+part)
					}
				}
			}
		}
		return found
	}
	if len(traces()) == 0 {
		t.Fatal("no trace of the readers before the erasure: the scan is broken")
	}
	list, err := s.db.ListSupporters(ctx, pledge.SupporterFilter{Query: readers[0].email})
	if err != nil || len(list) != 1 || list[0].Name != readers[0].name {
		t.Fatalf("supporters of %s: %+v (%v), want one with the name", readers[0].email, list, err)
	}

	// The staff area erases the first reader.
	const admin, pw = "admin@news.example", "a long enough passphrase"
	if _, err := s.db.CreateStaff(ctx, admin, pw, pledge.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	token := regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
	get := func(p string) string {
		res, err := hc.Get(s.url + p)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		m := token.FindSubmatch(b)
		if m == nil {
			t.Fatalf("GET %s (%d): no form token", p, res.StatusCode)
		}
		return string(m[1])
	}
	post := func(p string, form url.Values) *http.Response {
		res, err := hc.PostForm(s.url+p, form)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := post("/staff/login", url.Values{"_csrf": {get("/staff/login")}, "email": {admin}, "password": {pw}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	id := "/staff/supporters/" + strconv.FormatInt(list[0].ID, 10) + "/erase"
	if res := post(id, url.Values{"_csrf": {get(id)}, "confirm": {"erase"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("erase from the staff area: %d", res.StatusCode)
	}
	// The command line erases the second.
	if out, errs, code := s.run(t, "erase", readers[1].email); code != 0 {
		t.Fatalf("pledge erase: exit %d: %s %s", code, out, errs)
	}
	if got := traces(); len(got) > 0 {
		t.Errorf("after both erasures, with the server running: %v", got)
	}
	if res, err := http.Get(s.url + "/healthz"); err != nil || res.StatusCode != 200 {
		t.Fatalf("the server is not running: %v %v", res, err)
	}
}
