package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// AddPromptStats adds a batch of prompt counts in one transaction: one write per flush, not
// one per view.
func (db *DB) AddPromptStats(ctx context.Context, stats []pledge.PromptStat) (err error) {
	defer wrapErr(&err, "add prompt stats")
	return eachInTx(ctx, db, stats, func(tx *Tx, st pledge.PromptStat) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO prompt_stats (day, article, campaign, views, clicks) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (day, article, campaign)
			DO UPDATE SET views = prompt_stats.views + excluded.views, clicks = prompt_stats.clicks + excluded.clicks`,
			st.Day.UTC().Unix(), st.Article, st.Campaign, st.Views, st.Clicks)
		if err != nil {
			return translate(err)
		}
		if st.Title != "" && st.Article != "" {
			// One headline per article, replaced only when it changed.
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO articles (url, title, updated_at) VALUES (?, ?, ?)
				ON CONFLICT (url) DO UPDATE SET title = excluded.title, updated_at = excluded.updated_at
				WHERE articles.title <> excluded.title`, st.Article, st.Title, tx.now.Unix()); err != nil {
				return translate(err)
			}
		}
		return nil
	})
}

// PromptStats returns the stored counts, oldest day first (for tests and reports).
func (db *DB) PromptStats(ctx context.Context) (_ []pledge.PromptStat, err error) {
	defer wrapErr(&err, "prompt stats")
	return queryAll(ctx, db.read, `
		SELECT day, article, campaign, views, clicks FROM prompt_stats ORDER BY day, article, campaign`, nil,
		func(rows *sql.Rows) (pledge.PromptStat, error) {
			var st pledge.PromptStat
			var day int64
			err := rows.Scan(&day, &st.Article, &st.Campaign, &st.Views, &st.Clicks)
			st.Day = time.Unix(day, 0).UTC()
			return st, err
		})
}
