-- The dashboard's top articles and campaigns summed the 90 days of donations_sources by article,
-- campaign and currency: some 40,000 rows of a million seeded donations, nearly all of the
-- query's time spent in SQLite's sort of them by their text keys (issue 18). donations_sources_weekly
-- holds the same sums by week (the Unix time of the week's first day, weeks of 604,800 seconds
-- from the epoch): a period reads its whole weeks here and only the days before its first whole
-- week and after its last from donations_sources, about a quarter of the rows for 90 days. The
-- ledger's write path keeps it beside donations_sources (internal/sqlite, changeDonation), with a
-- row for a week exactly when donations_sources has one for a day of it; measures: the number of
-- donations and their net (gross - refunded - disputed), all the top lists read.
--
-- subscriptions_ended: the open failed payments (the dashboard's figures of each period, and the
-- past-due list) look up the subscription of each unpaid invoice, by its Stripe id, for when it
-- ended; the unique index on the Stripe id leads to the table's row for ended_at, this one holds
-- it (the query names it: SQLite's planner prefers the unique index for an equality).

-- +goose Up
CREATE TABLE donations_sources_weekly (
    week      INTEGER NOT NULL,
    article   TEXT NOT NULL,
    campaign  TEXT NOT NULL,
    currency  TEXT NOT NULL,
    donations INTEGER NOT NULL DEFAULT 0,
    net       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (week, article, campaign, currency)
) STRICT, WITHOUT ROWID;

INSERT INTO donations_sources_weekly (week, article, campaign, currency, donations, net)
SELECT day - day % 604800, article, campaign, currency, sum(donations), sum(gross - refunded - disputed)
FROM donations_sources GROUP BY 1, 2, 3, 4;

CREATE INDEX subscriptions_ended ON subscriptions (stripe_subscription_id, ended_at);

-- +goose Down
DROP INDEX subscriptions_ended;
DROP TABLE donations_sources_weekly;
