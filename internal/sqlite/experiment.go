package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

// Keys in settings: staff's decision about an experiment, and the latest definition seen.
const (
	experimentStateKey = "experiment.state."
	experimentDefKey   = "experiment.definition."
)

// AddExperimentStats adds a batch of views and clicks per arm in one transaction.
func (db *DB) AddExperimentStats(ctx context.Context, stats []pledge.ExperimentStat) (err error) {
	defer wrapErr(&err, "add experiment stats")
	return eachInTx(ctx, db, stats, func(tx *Tx, st pledge.ExperimentStat) error {
		return addViewsClicks(ctx, tx, "experiment_stats", []string{"experiment", "variant", "day"},
			[]any{st.Arm.Experiment, st.Arm.Variant, st.Day.UTC().Unix()}, st.Views, st.Click)
	})
}

// ExperimentCounts reads one experiment's views, clicks, checkouts and paid gifts by arm. A gift
// is a checkout with at least one payment: its first payment's amount, and all of them summed.
func (db *DB) ExperimentCounts(ctx context.Context, name string) (_ *pledge.ExperimentCounts, err error) {
	defer wrapErr(&err, "experiment counts")
	out := &pledge.ExperimentCounts{Views: map[string]int64{}, Clicks: map[string]int64{}, Checkouts: map[string]int64{}}
	rows, err := db.read.QueryContext(ctx, `
		SELECT variant, SUM(views), SUM(clicks), MIN(day), MAX(day) FROM experiment_stats
		WHERE experiment = ? GROUP BY variant`, name)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var v string
		var views, clicks, first, last int64
		if err := rows.Scan(&v, &views, &clicks, &first, &last); err != nil {
			rows.Close()
			return nil, err
		}
		out.Views[v], out.Clicks[v] = views, clicks
		if f := time.Unix(first, 0).UTC(); out.First.IsZero() || f.Before(out.First) {
			out.First = f
		}
		if l := time.Unix(last, 0).UTC(); l.After(out.Last) {
			out.Last = l
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = db.read.QueryContext(ctx, `
		SELECT variant, count(*) FROM checkouts WHERE experiment = ? GROUP BY variant`, name)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var v string
		var n int64
		if err := rows.Scan(&v, &n); err != nil {
			rows.Close()
			return nil, err
		}
		out.Checkouts[v] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = db.read.QueryContext(ctx, `
		SELECT c.id, c.variant, c.frequency, d.currency,
		       (SELECT f.amount FROM donations f WHERE f.checkout_id = c.id ORDER BY f.paid_at, f.id LIMIT 1),
		       SUM(d.amount), count(*)
		FROM checkouts c JOIN donations d ON d.checkout_id = c.id
		WHERE c.experiment = ?
		GROUP BY c.id, d.currency ORDER BY c.id`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var g pledge.ExperimentGift
		if err := rows.Scan(&g.Checkout, &g.Variant, &g.Frequency, &g.Currency, &g.First, &g.Total, &g.Payments); err != nil {
			return nil, err
		}
		out.Gifts = append(out.Gifts, g)
	}
	return out, rows.Err()
}

// ExperimentStates returns staff's decisions by experiment name.
func (db *DB) ExperimentStates(ctx context.Context) (_ map[string]pledge.ExperimentState, err error) {
	defer wrapErr(&err, "experiment states")
	return experimentSettings[pledge.ExperimentState](ctx, db, experimentStateKey, "state")
}

// StopExperiment records staff's decision and audits it, in one transaction.
func (db *DB) StopExperiment(ctx context.Context, actor, name string, st pledge.ExperimentState) (err error) {
	defer wrapErr(&err, "stop experiment")
	return db.inTx(ctx, func(tx *Tx) error {
		st.StoppedAt, st.StoppedBy = tx.now, actor
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)`, experimentStateKey+name, string(b)); err != nil {
			if pledge.ErrorCode(translate(err)) == pledge.ECONFLICT {
				return pledge.Errorf(pledge.ECONFLICT, "Experiment %s has already been stopped.", name)
			}
			return err
		}
		action, detail := "experiment stopped", ""
		if st.Promoted != "" {
			action, detail = "experiment promoted", "variant "+st.Promoted+" is the default"
		}
		return audit(ctx, tx, pledge.AuditEntry{Actor: actor, Action: action, Subject: "experiment " + name, Detail: detail})
	})
}

// RememberExperiments keeps the latest definition of each experiment.
func (db *DB) RememberExperiments(ctx context.Context, es []pledge.Experiment) (err error) {
	defer wrapErr(&err, "remember experiments")
	return eachInTx(ctx, db, es, func(tx *Tx, e pledge.Experiment) error {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, experimentDefKey+e.Name, string(b))
		return err
	})
}

// RememberedExperiments returns the kept definitions by name.
func (db *DB) RememberedExperiments(ctx context.Context) (_ map[string]pledge.Experiment, err error) {
	defer wrapErr(&err, "remembered experiments")
	return experimentSettings[pledge.Experiment](ctx, db, experimentDefKey, "definition")
}

// experimentSettings decodes the JSON of every setting under prefix, by experiment name; what
// names the value in errors.
func experimentSettings[T any](ctx context.Context, db *DB, prefix, what string) (map[string]T, error) {
	out := map[string]T{}
	err := eachSetting(ctx, db.read, prefix, func(name string, b []byte) error {
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("experiment %s: %s: %w", name, what, err)
		}
		out[name] = v
		return nil
	})
	return out, err
}

// eachSetting calls fn for every setting whose key starts with prefix, with the rest of the key.
func eachSetting(ctx context.Context, q *sql.DB, prefix string, fn func(rest string, value []byte) error) error {
	// A range on the primary key: prefix <= key < prefix with its last byte incremented.
	end := prefix[:len(prefix)-1] + string(prefix[len(prefix)-1]+1)
	return eachRow(ctx, q, `SELECT key, value FROM settings WHERE key >= ? AND key < ? ORDER BY key`, []any{prefix, end},
		func(rows *sql.Rows) error {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				return err
			}
			return fn(strings.TrimPrefix(k, prefix), []byte(v))
		})
}
