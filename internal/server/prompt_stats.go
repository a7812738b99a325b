package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// maxStatKeys bounds the counts kept between flushes, so made-up article URLs cannot grow memory
// without limit; past it, new articles are counted under "".
const maxStatKeys = 10000

type statKey struct {
	day      int64
	article  string
	campaign string
}

type statCount struct{ views, clicks int64 }

// statsBatcher counts prompt views and Continue clicks in memory and writes them to the store
// in one transaction per interval: the prompt's hot path never waits on the database.
type statsBatcher struct {
	store  pledge.PromptStatService
	logger *slog.Logger
	now    func() time.Time

	mu     sync.Mutex
	counts map[statKey]*statCount
	titles map[string]string // article -> headline reported since the last flush

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func newStatsBatcher(store pledge.PromptStatService, every time.Duration, logger *slog.Logger) *statsBatcher {
	if every <= 0 {
		every = 10 * time.Second
	}
	b := &statsBatcher{store: store, logger: logger, now: time.Now, counts: map[statKey]*statCount{}, titles: map[string]string{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop(every)
	return b
}

func (b *statsBatcher) loop(every time.Duration) {
	defer close(b.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.flush(context.Background())
		case <-b.stop:
			return
		}
	}
}

// view counts one prompt shown. A nil batcher (no store configured) counts nothing.
func (b *statsBatcher) view(article, campaign string) { b.add(article, campaign, 1, 0) }

// title remembers an article's headline as the page reported it, to be stored at the next flush
// (only for a counted article; bounded like the counts).
func (b *statsBatcher) title(article, title string) {
	if b == nil || article == "" || title == "" {
		return
	}
	b.mu.Lock()
	if _, ok := b.titles[article]; ok || len(b.titles) < maxStatKeys {
		b.titles[article] = title
	}
	b.mu.Unlock()
}

// click counts one Continue.
func (b *statsBatcher) click(article, campaign string) { b.add(article, campaign, 0, 1) }

func (b *statsBatcher) add(article, campaign string, views, clicks int64) {
	if b == nil {
		return
	}
	now := b.now().Unix()
	b.addKey(statKey{day: now - now%86400, article: article, campaign: campaign}, views, clicks)
}

func (b *statsBatcher) addKey(k statKey, views, clicks int64) {
	b.mu.Lock()
	c := b.counts[k]
	if c == nil {
		if len(b.counts) >= maxStatKeys {
			k.article, k.campaign = "", ""
			c = b.counts[k]
		}
		if c == nil {
			c = &statCount{}
			b.counts[k] = c
		}
	}
	c.views += views
	c.clicks += clicks
	b.mu.Unlock()
}

// flush writes what was counted since the last flush. On failure the counts are put back, to be
// tried again at the next flush.
func (b *statsBatcher) flush(ctx context.Context) error {
	b.mu.Lock()
	counts, titles := b.counts, b.titles
	b.counts, b.titles = map[statKey]*statCount{}, map[string]string{}
	b.mu.Unlock()
	if len(counts) == 0 {
		return nil
	}
	stats := make([]pledge.PromptStat, 0, len(counts))
	for k, c := range counts {
		st := pledge.PromptStat{Day: time.Unix(k.day, 0).UTC(), Article: k.article,
			Campaign: k.campaign, Views: c.views, Clicks: c.clicks}
		if t, ok := titles[k.article]; ok {
			st.Title = t
			delete(titles, k.article) // once per article is enough
		}
		stats = append(stats, st)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := b.store.AddPromptStats(ctx, stats)
	if err != nil {
		b.logger.Error("flushing prompt stats", "err", err, "keys", len(stats))
		for _, st := range stats {
			b.addKey(statKey{day: st.Day.Unix(), article: st.Article, campaign: st.Campaign}, st.Views, st.Clicks)
			b.title(st.Article, st.Title)
		}
	}
	return err
}

// Close stops the timer and flushes what is left.
func (b *statsBatcher) Close() error {
	if b == nil {
		return nil
	}
	var err error
	b.once.Do(func() {
		close(b.stop)
		<-b.done
		err = b.flush(context.Background())
	})
	return err
}
