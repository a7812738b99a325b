-- Money as it reaches the bank, and the staff figures built on it (issue 15).
--
-- * Each donation keeps its charge's Stripe balance transaction (`settle_*`): the settlement
--   currency, the amount converted at Stripe's rate, Stripe's fee and the net. Empty while not
--   known (the webhook could not fetch it yet; `pledge reconcile` fills it in).
-- * settlement_daily sums, per UTC day, charge currency and settlement currency ('' for "not
--   known yet"), what the donations left in the bank; the dashboard's headline reads it.
-- * subscriptions_daily gains `started`: recurring gifts whose first span of revenue began that
--   day (new recurring supporters, for net new recurring).
-- * supporter_totals: each supporter's lifetime net and number of gifts per currency, and
--   supporters.last_paid_at, kept by the store with each donation change (never summed per view).
-- * articles: each article's headline as embed.js reported it (plain text, never HTML).
--
-- Every derived figure here is computed in Go (internal/sqlite/rollup.go) by the rebuild that
-- follows this migration (ledger_version).

-- +goose Up
ALTER TABLE donations ADD COLUMN settle_txn TEXT NOT NULL DEFAULT '';
ALTER TABLE donations ADD COLUMN settle_currency TEXT NOT NULL DEFAULT '';
ALTER TABLE donations ADD COLUMN settle_amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE donations ADD COLUMN settle_fee INTEGER NOT NULL DEFAULT 0;
ALTER TABLE donations ADD COLUMN settle_net INTEGER NOT NULL DEFAULT 0;
-- Donations whose balance transaction is not known yet, for reconcile to fetch.
CREATE INDEX donations_unsettled ON donations (paid_at) WHERE settle_txn = '';

CREATE TABLE settlement_daily (
    day             INTEGER NOT NULL,
    currency        TEXT NOT NULL,          -- the charge's
    settle_currency TEXT NOT NULL,          -- the balance transaction's, '' when not known yet
    donations       INTEGER NOT NULL DEFAULT 0,
    amount          INTEGER NOT NULL DEFAULT 0, -- converted, before fees (settlement currency)
    fee             INTEGER NOT NULL DEFAULT 0, -- Stripe's fee (settlement currency)
    lost            INTEGER NOT NULL DEFAULT 0, -- refunded and disputed, converted (settlement currency)
    net             INTEGER NOT NULL DEFAULT 0, -- settled: amount - fee - lost; unknown: the charge currency's net
    PRIMARY KEY (day, currency, settle_currency)
) STRICT, WITHOUT ROWID;

ALTER TABLE subscriptions_daily ADD COLUMN started INTEGER NOT NULL DEFAULT 0;

CREATE TABLE supporter_totals (
    supporter_id INTEGER NOT NULL,
    currency     TEXT NOT NULL,
    net          INTEGER NOT NULL,
    donations    INTEGER NOT NULL,
    PRIMARY KEY (supporter_id, currency)
) STRICT, WITHOUT ROWID;
CREATE INDEX supporter_totals_rank ON supporter_totals (currency, net, supporter_id);

ALTER TABLE supporters ADD COLUMN last_paid_at INTEGER;
CREATE INDEX supporters_last_paid ON supporters (last_paid_at, id);

CREATE TABLE articles (
    url        TEXT PRIMARY KEY,
    title      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- Failed payments still open are read from the last 90 days of attempts: a covering index.
CREATE INDEX invoice_attempts_open ON invoice_attempts
    (failed_at, stripe_invoice_id, stripe_subscription_id, currency, amount, next_attempt_at);

DELETE FROM settings WHERE key = 'ledger_version';
