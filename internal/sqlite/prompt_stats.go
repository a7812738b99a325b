package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// AddPromptStats adds a batch of prompt counts in one transaction: one write per flush, not
// one per view.
func (db *DB) AddPromptStats(ctx context.Context, stats []pledge.PromptStat) (err error) {
	defer wrapErr(&err, "add prompt stats")
	return eachInTx(ctx, db, stats, func(tx *Tx, st pledge.PromptStat) error {
		if err := addViewsClicks(ctx, tx, "prompt_stats", []string{"day", "article", "campaign"},
			[]any{st.Day.UTC().Unix(), st.Article, st.Campaign}, st.Views, st.Clicks); err != nil {
			return err
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

// addViewsClicks adds views and clicks to the counter row of table (prompt_stats,
// experiment_stats) whose key columns hold keys, creating it at zero first.
func addViewsClicks(ctx context.Context, tx *Tx, table string, keyCols []string, keys []any, views, clicks int64) error {
	cols := strings.Join(keyCols, ", ")
	_, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (`+cols+`, views, clicks) VALUES (`+strings.Repeat("?, ", len(keys))+`?, ?)
		ON CONFLICT (`+cols+`) DO UPDATE SET views = `+table+`.views + excluded.views, clicks = `+table+`.clicks + excluded.clicks`,
		append(keys, views, clicks)...)
	return translate(err)
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
