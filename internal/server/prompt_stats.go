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

// armKey counts an experiment arm's views and clicks per day, beside the article counts.
type armKey struct {
	day int64
	arm pledge.Arm
}

// armStatStore is what the store offers to keep arms' counts (the SQLite store does).
type armStatStore interface {
	AddExperimentStats(ctx context.Context, stats []pledge.ExperimentStat) error
}

// statsBatcher counts prompt views and Continue clicks in memory and writes them to the store
// in one transaction per interval: the prompt's hot path never waits on the database.
type statsBatcher struct {
	store  pledge.PromptStatService
	logger *slog.Logger
	now    func() time.Time

	mu     sync.Mutex
	counts map[statKey]*statCount
	titles map[string]string // article -> headline reported since the last flush
	arms   map[armKey]*statCount

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// newStatsBatcher counts in memory and writes to store every period (positive: Config's
// withDefaults gives StatsFlush its default).
func newStatsBatcher(store pledge.PromptStatService, every time.Duration, logger *slog.Logger) *statsBatcher {
	b := &statsBatcher{store: store, logger: logger, now: time.Now, counts: map[statKey]*statCount{}, titles: map[string]string{},
		arms: map[armKey]*statCount{}, stop: make(chan struct{}), done: make(chan struct{})}
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

// armView counts one prompt shown to a reader in an experiment arm, or for the holdback one not
// shown. Zero arms (no experiment) and a nil batcher count nothing.
func (b *statsBatcher) armView(a pledge.Arm) { b.addArm(a, 1, 0) }

// armClick counts one Continue in an experiment arm.
func (b *statsBatcher) armClick(a pledge.Arm) { b.addArm(a, 0, 1) }

func (b *statsBatcher) addArm(a pledge.Arm, views, clicks int64) {
	if b == nil || a.None() {
		return
	}
	now := b.now().Unix()
	b.addArmKey(armKey{day: now - now%86400, arm: a}, views, clicks)
}

// addArmKey adds to an arm's day. Arms are few (experiments × variants × days), so they need no
// bound like articles.
func (b *statsBatcher) addArmKey(k armKey, views, clicks int64) {
	b.mu.Lock()
	c := counter(b.arms, k)
	c.views += views
	c.clicks += clicks
	b.mu.Unlock()
}

func (b *statsBatcher) add(article, campaign string, views, clicks int64) {
	if b == nil {
		return
	}
	now := b.now().Unix()
	b.addKey(statKey{day: now - now%86400, article: article, campaign: campaign}, views, clicks)
}

func (b *statsBatcher) addKey(k statKey, views, clicks int64) {
	b.mu.Lock()
	if _, ok := b.counts[k]; !ok && len(b.counts) >= maxStatKeys {
		k.article, k.campaign = "", ""
	}
	c := counter(b.counts, k)
	c.views += views
	c.clicks += clicks
	b.mu.Unlock()
}

// counter returns m's count of k, made at first use.
func counter[K comparable](m map[K]*statCount, k K) *statCount {
	c := m[k]
	if c == nil {
		c = &statCount{}
		m[k] = c
	}
	return c
}

// flush writes what was counted since the last flush: article counts to prompt_stats, arm counts
// to experiment_stats (when the store keeps them). On failure the counts are put back, to be
// tried again at the next flush.
func (b *statsBatcher) flush(ctx context.Context) error {
	b.mu.Lock()
	counts, titles, arms := b.counts, b.titles, b.arms
	b.counts, b.titles, b.arms = map[statKey]*statCount{}, map[string]string{}, map[armKey]*statCount{}
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var err error
	if len(counts) > 0 {
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
		if err = b.store.AddPromptStats(ctx, stats); err != nil {
			b.logger.Error("flushing prompt stats", "err", err, "keys", len(stats))
			for _, st := range stats {
				b.addKey(statKey{day: st.Day.Unix(), article: st.Article, campaign: st.Campaign}, st.Views, st.Clicks)
				b.title(st.Article, st.Title)
			}
		}
	}
	as, ok := b.store.(armStatStore)
	if len(arms) == 0 || !ok {
		return err
	}
	stats := make([]pledge.ExperimentStat, 0, len(arms))
	for k, c := range arms {
		stats = append(stats, pledge.ExperimentStat{Day: time.Unix(k.day, 0).UTC(), Arm: k.arm, Views: c.views, Click: c.clicks})
	}
	if aerr := as.AddExperimentStats(ctx, stats); aerr != nil {
		b.logger.Error("flushing experiment stats", "err", aerr, "keys", len(stats))
		for _, st := range stats {
			b.addArmKey(armKey{day: st.Day.Unix(), arm: st.Arm}, st.Views, st.Click)
		}
		if err == nil {
			err = aerr
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
