package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/testkit"
)

// flakyStats fails its first write, then records.
type flakyStats struct {
	mu     sync.Mutex
	fail   bool
	writes [][]pledge.PromptStat
}

func (f *flakyStats) AddPromptStats(_ context.Context, stats []pledge.PromptStat) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		f.fail = false
		return errors.New("disk full")
	}
	f.writes = append(f.writes, stats)
	return nil
}

func TestStatsBatcherKeepsCountsAcrossAFailedFlush(t *testing.T) {
	store := &flakyStats{fail: true}
	b := newStatsBatcher(store, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	clock := testkit.NewClock(time.Date(2026, 3, 1, 23, 59, 0, 0, time.UTC))
	b.now = clock.Now
	for range 3 {
		b.view("https://news.example/a", "")
	}
	b.click("https://news.example/a", "")
	if err := b.flush(context.Background()); err == nil {
		t.Fatal("the failing write was not reported")
	}
	clock.Add(2 * time.Minute) // the next day
	b.view("https://news.example/a", "")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if len(store.writes) != 1 || len(store.writes[0]) != 2 {
		t.Fatalf("writes = %+v, want one batch with two days", store.writes)
	}
	got := map[int]pledge.PromptStat{}
	for _, st := range store.writes[0] {
		got[st.Day.Day()] = st
	}
	if got[1].Views != 3 || got[1].Clicks != 1 || got[2].Views != 1 || got[2].Clicks != 0 {
		t.Fatalf("counts by day = %+v, want 3 views and 1 click on the 1st, 1 view on the 2nd", got)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestStatsBatcherFlushesOnItsInterval(t *testing.T) {
	store := &flakyStats{}
	b := newStatsBatcher(store, 10*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer b.Close()
	b.view("https://news.example/a", "spring")
	deadline := time.Now().Add(5 * time.Second)
	for {
		store.mu.Lock()
		n := len(store.writes)
		store.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no flush within 5s")
		}
		time.Sleep(5 * time.Millisecond) // polling a condition
	}
}

func TestStatsBatcherBoundsItsKeys(t *testing.T) {
	store := &flakyStats{}
	b := newStatsBatcher(store, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for i := range maxStatKeys + 50 {
		b.view("https://news.example/"+string(rune('a'+i%26))+time.Duration(i).String(), "")
	}
	b.mu.Lock()
	n, other := len(b.counts), int64(0)
	for k, c := range b.counts {
		if k.article == "" {
			other = c.views
		}
	}
	b.mu.Unlock()
	if n > maxStatKeys+1 || other != 50 {
		t.Fatalf("%d keys, %d views under \"\"; want at most %d keys and the overflow counted under \"\"", n, other, maxStatKeys+1)
	}
	b.Close()
}

// TestPromptStatsOnlyArticleOrigins: /prompt counts views under any http(s) URL given as
// ?article=, not only the configured article origins; strangers fill prompt_stats (up to 10,000
// new keys per flush) and put their own labels on the staff dashboard's funnel and conversion
// chart.
func TestPromptStatsOnlyArticleOrigins(t *testing.T) {
	f := newGivingFixture(t, okPayments())
	resp, _ := f.do(http.MethodGet, "/prompt?article="+url.QueryEscape("https://attacker.example/Call-0800-SCAM"), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("prompt: %d", resp.StatusCode)
	}
	if err := f.srv.Close(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := f.db.Reader().QueryRow(`SELECT count(*) FROM prompt_stats WHERE article LIKE '%attacker.example%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("prompt_stats recorded a foreign article (%d rows); only PLEDGE_EMBED_ORIGINS articles should be counted", n)
	}
}

// The headline embed.js sends is kept per article as plain text, replaced when it changes, and
// written with the counts (the prompt itself writes nothing).
func TestPromptStoresTheArticleHeadline(t *testing.T) {
	f := newGivingFixture(t, okPayments())
	t.Cleanup(func() { f.srv.Close() }) // before the store closes: the batcher's timer stops
	article := "https://news.example/story"
	for _, title := range []string{"First <b>draft</b>\n headline", "The  final headline"} {
		resp, _ := f.do(http.MethodGet, "/prompt?article="+url.QueryEscape(article)+"&title="+url.QueryEscape(title), nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("prompt: %d", resp.StatusCode)
		}
		var n int
		if err := f.db.Reader().QueryRow(`SELECT count(*) FROM articles`).Scan(&n); err != nil || n > 1 {
			t.Fatalf("articles: %d, %v", n, err)
		}
		if err := f.srv.stats.flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := f.db.Reader().QueryRow(`SELECT title FROM articles WHERE url = ?`, article).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := pledge.CleanTitle(title); got != want {
			t.Fatalf("title = %q, want %q", got, want)
		}
	}
}

func TestCleanTitle(t *testing.T) {
	for in, want := range map[string]string{
		"  Council\tvotes\n\nno  ": "Council votes no",
		"<script>x</script>":       "<script>x</script>", // kept as text; templates escape it
		"a\x00b":                   "a b",
	} {
		if got := pledge.CleanTitle(in); got != want {
			t.Errorf("CleanTitle(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFunnelShares: each step's share is of the step before, conversion of the views.
func TestFunnelShares(t *testing.T) {
	v := englishNumbers.funnelViewOf("a", pledge.FunnelRow{Views: 186420, Clicks: 1168, Checkouts: 400, Paid: 100})
	for _, tc := range []struct{ name, got, want string }{
		{"views", v.Views, "186,420"},
		{"continue share", v.ClickShare, "0.63%"},
		{"checkout share", v.CheckoutShare, "34.25%"},
		{"paid share", v.PaidShare, "25.00%"},
		{"conversion", v.Conversion, "0.05%"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	if none := englishNumbers.funnelViewOf("b", pledge.FunnelRow{}); none.ClickShare != "–" {
		t.Errorf("share without views = %q", none.ClickShare)
	}
}
