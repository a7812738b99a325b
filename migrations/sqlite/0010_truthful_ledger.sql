-- The ledger tells the truth in every ordinary Stripe case (issue 11).
--
-- * A supporter is a person: one address (in any case) with any number of Stripe customers
--   (Checkout makes a new customer for every one-off gift). `customers` holds what Stripe says about
--   each customer, and which supporter it belongs to; supporters gain `email_key` (the normalised
--   address) and their first gift (`first_*`), which the new-supporter count reads.
-- * A subscription's history is kept (`subscription_states`, one row per subscription object an
--   event showed), and the periods in which it counted as recurring revenue are derived from it
--   (`subscription_segments`): an upgrade changes MRR on the day it took effect, a cancellation at
--   period end keeps counting until the subscription ends, a lapse ends it at the event's time.
-- * Donations gain `tax` (recorded apart from what the supporter gave for the journalism),
--   `amount_disputed` (what a formal dispute withdrew, by the dispute's own amount) and
--   `stripe_customer_id`; charges and refunds gain their currency (a refund or dispute in another
--   currency than its donation is refused, never converted).
--
-- The daily rollups are no longer kept by triggers: the store computes every row's contribution
-- in Go (one definition, used by webhooks, the rebuild and `pledge seed`) and the rebuild that
-- follows this migration (settings key ledger_version) recomputes them from the rows.

-- +goose Up
DROP TRIGGER donations_rollup_insert;
DROP TRIGGER donations_rollup_update;
DROP TRIGGER donations_rollup_delete;
DROP TRIGGER donations_new_supporter_linked;
DROP TRIGGER donations_lost_insert;
DROP TRIGGER donations_lost_update;
DROP TRIGGER donations_lost_delete;
DROP TRIGGER subscriptions_rollup_insert;
DROP TRIGGER subscriptions_rollup_update;
DROP TRIGGER subscriptions_rollup_delete;
DROP TRIGGER subscriptions_lapse_insert;
DROP TRIGGER subscriptions_lapse_update;

CREATE TABLE customers (
    stripe_customer_id TEXT PRIMARY KEY,
    supporter_id       INTEGER REFERENCES supporters (id),
    email              TEXT,
    email_at           INTEGER NOT NULL DEFAULT 0,
    name               TEXT NOT NULL DEFAULT '',
    name_at            INTEGER NOT NULL DEFAULT 0,
    erased_at          INTEGER
) STRICT;
-- A supporter's customers, smallest id first, and its newest address and name: index reads, however
-- many customers one address has.
CREATE INDEX customers_supporter ON customers (supporter_id, stripe_customer_id);
CREATE INDEX customers_supporter_email ON customers (supporter_id, email_at, email) WHERE email IS NOT NULL;
CREATE INDEX customers_supporter_name ON customers (supporter_id, name_at, name) WHERE name <> '';

INSERT INTO customers (stripe_customer_id, supporter_id, email, email_at, name, name_at, erased_at)
SELECT stripe_customer_id, id, email, email_at, name, email_at, erased_at FROM supporters
WHERE stripe_customer_id IS NOT NULL;

ALTER TABLE supporters ADD COLUMN email_key TEXT NOT NULL DEFAULT '';
ALTER TABLE supporters ADD COLUMN first_paid_at INTEGER;
ALTER TABLE supporters ADD COLUMN first_currency TEXT NOT NULL DEFAULT '';
ALTER TABLE supporters ADD COLUMN first_frequency TEXT NOT NULL DEFAULT '';
CREATE INDEX supporters_email_key ON supporters (email_key);

ALTER TABLE donations ADD COLUMN stripe_customer_id TEXT NOT NULL DEFAULT '';
ALTER TABLE donations ADD COLUMN tax INTEGER NOT NULL DEFAULT 0;
ALTER TABLE donations ADD COLUMN amount_disputed INTEGER NOT NULL DEFAULT 0;
-- settled: the invoice itself set the figures (amount, tax, paid_at), so a checkout's earlier
-- view of the same payment no longer changes them.
ALTER TABLE donations ADD COLUMN settled INTEGER NOT NULL DEFAULT 0;
-- Disputes recorded before this version knew no amount of their own: they took the whole gift
-- (less refunds) while open or lost, as the ledger then counted them.
UPDATE donations SET amount_disputed = amount - amount_refunded
WHERE dispute_status NOT IN ('', 'won') AND dispute_status NOT LIKE 'warning%';
UPDATE donations SET stripe_customer_id = coalesce((SELECT s.stripe_customer_id FROM supporters s
    WHERE s.id = donations.supporter_id), '');
CREATE INDEX donations_customer ON donations (stripe_customer_id);

-- The object an event's object belongs to (a session's payment intent, a refund's or dispute's
-- charge...), so that a supporter's page lists every event about their gifts.
ALTER TABLE stripe_events ADD COLUMN related_id TEXT NOT NULL DEFAULT '';
CREATE INDEX stripe_events_related ON stripe_events (related_id);

ALTER TABLE charges ADD COLUMN currency TEXT NOT NULL DEFAULT '';
ALTER TABLE charges ADD COLUMN dispute_amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE charges ADD COLUMN dispute_reinstated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN currency TEXT NOT NULL DEFAULT '';

ALTER TABLE subscriptions ADD COLUMN ended_at INTEGER;
ALTER TABLE subscriptions ADD COLUMN cancel_at INTEGER;
ALTER TABLE subscriptions ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions DROP COLUMN lapsed_at;
CREATE INDEX subscriptions_customer ON subscriptions (stripe_customer_id);

-- Every subscription object an event showed, by event: the history its revenue is derived from.
CREATE TABLE subscription_states (
    stripe_subscription_id TEXT NOT NULL,
    event_id               TEXT NOT NULL,
    at                     INTEGER NOT NULL, -- the event's created time
    status                 TEXT NOT NULL,
    amount                 INTEGER NOT NULL,
    currency               TEXT NOT NULL,
    interval               TEXT NOT NULL DEFAULT '',
    cancel_at_period_end   INTEGER NOT NULL DEFAULT 0,
    cancel_at              INTEGER,
    canceled_at            INTEGER,
    ended_at               INTEGER,
    current_period_end     INTEGER,
    started_at             INTEGER,
    paused                 INTEGER NOT NULL DEFAULT 0,
    cancellation_reason    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (stripe_subscription_id, event_id)
) STRICT, WITHOUT ROWID;

-- What the rows of earlier versions knew of each subscription, as its history: active from its
-- start, then its state as last seen. Their revenue spans are derived from this like any other.
INSERT INTO subscription_states (stripe_subscription_id, event_id, at, status, amount, currency, interval, started_at)
SELECT stripe_subscription_id, 'migrated:start', started_at, 'active', amount, currency,
       CASE frequency WHEN 'annual' THEN 'year' ELSE 'month' END, started_at
FROM subscriptions WHERE started_at IS NOT NULL AND status NOT IN ('incomplete', 'incomplete_expired');
INSERT INTO subscription_states (stripe_subscription_id, event_id, at, status, amount, currency, interval,
    cancel_at_period_end, canceled_at, ended_at, current_period_end, started_at, cancellation_reason)
SELECT stripe_subscription_id, 'migrated:last', max(coalesce(started_at, 0), state_at, fields_at), status, amount, currency,
       CASE frequency WHEN 'annual' THEN 'year' ELSE 'month' END, cancel_at_period_end, canceled_at,
       CASE WHEN status IN ('canceled', 'incomplete_expired') THEN coalesce(canceled_at, state_at) END,
       current_period_end, started_at, cancellation_reason
FROM subscriptions WHERE max(state_at, fields_at) > 0;

-- The spans in which a subscription counted as recurring revenue: [start, end), end NULL while it
-- still counts. `ends` marks the span whose end is the subscription's end (a cancellation).
CREATE TABLE subscription_segments (
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id),
    start           INTEGER NOT NULL,
    end             INTEGER,
    amount          INTEGER NOT NULL,
    currency        TEXT NOT NULL,
    frequency       TEXT NOT NULL,
    scheduled       INTEGER NOT NULL DEFAULT 0, -- set to end at the period's end
    ends            INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (subscription_id, start)
) STRICT;

ALTER TABLE donations_daily ADD COLUMN tax INTEGER NOT NULL DEFAULT 0;
ALTER TABLE donations_sources ADD COLUMN tax INTEGER NOT NULL DEFAULT 0;
ALTER TABLE donations_daily DROP COLUMN lost;
ALTER TABLE donations_sources DROP COLUMN lost;
ALTER TABLE subscriptions_daily ADD COLUMN scheduled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions_daily ADD COLUMN ended INTEGER NOT NULL DEFAULT 0;

-- The rebuild after this migration recomputes donations_daily, donations_sources and
-- subscriptions_daily (and supporters' first gifts and subscriptions' segments) in Go.
DELETE FROM settings WHERE key = 'ledger_version';
