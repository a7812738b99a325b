-- The core ledger: what readers chose (checkouts) and what Stripe says happened (supporters,
-- subscriptions, donations, the events themselves). Times are Unix seconds (UTC); money is integer
-- minor units beside its lower-case ISO currency.

-- +goose Up
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE checkouts (
    id                TEXT PRIMARY KEY,
    nonce             TEXT NOT NULL UNIQUE,
    frequency         TEXT NOT NULL CHECK (frequency IN ('once', 'monthly', 'annual')),
    amount            INTEGER NOT NULL CHECK (amount > 0),
    currency          TEXT NOT NULL,
    cover_fees        INTEGER NOT NULL DEFAULT 0 CHECK (cover_fees >= 0),
    article           TEXT NOT NULL DEFAULT '',
    campaign          TEXT NOT NULL DEFAULT '',
    source            TEXT NOT NULL DEFAULT '',
    reader_id         TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'open', 'paid', 'failed', 'abandoned')),
    stripe_session_id TEXT UNIQUE,
    stripe_url        TEXT NOT NULL DEFAULT '',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX checkouts_created_at ON checkouts (created_at);

CREATE TABLE supporters (
    id                 INTEGER PRIMARY KEY,
    stripe_customer_id TEXT UNIQUE,
    email              TEXT,
    name               TEXT NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    erased_at          INTEGER
) STRICT;
CREATE INDEX supporters_email ON supporters (email);
CREATE INDEX supporters_created_at ON supporters (created_at);

CREATE TABLE subscriptions (
    id                     INTEGER PRIMARY KEY,
    stripe_subscription_id TEXT NOT NULL UNIQUE,
    supporter_id           INTEGER REFERENCES supporters (id),
    checkout_id            TEXT REFERENCES checkouts (id),
    frequency              TEXT NOT NULL CHECK (frequency IN ('monthly', 'annual')),
    amount                 INTEGER NOT NULL,
    currency               TEXT NOT NULL,
    status                 TEXT NOT NULL,
    cancel_at_period_end   INTEGER NOT NULL DEFAULT 0,
    current_period_end     INTEGER,
    started_at             INTEGER,
    canceled_at            INTEGER,
    cancellation_reason    TEXT NOT NULL DEFAULT '',
    article                TEXT NOT NULL DEFAULT '',
    campaign               TEXT NOT NULL DEFAULT '',
    state_at               INTEGER NOT NULL DEFAULT 0,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
) STRICT;
CREATE INDEX subscriptions_supporter ON subscriptions (supporter_id);
CREATE INDEX subscriptions_status ON subscriptions (status, currency);

CREATE TABLE donations (
    id                       INTEGER PRIMARY KEY,
    supporter_id             INTEGER REFERENCES supporters (id),
    checkout_id              TEXT REFERENCES checkouts (id),
    subscription_id          INTEGER REFERENCES subscriptions (id),
    frequency                TEXT NOT NULL CHECK (frequency IN ('once', 'monthly', 'annual')),
    amount                   INTEGER NOT NULL CHECK (amount > 0),
    amount_refunded          INTEGER NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0),
    currency                 TEXT NOT NULL,
    status                   TEXT NOT NULL,
    dispute_status           TEXT NOT NULL DEFAULT '',
    fraud_warning            INTEGER NOT NULL DEFAULT 0,
    stripe_payment_intent_id TEXT UNIQUE,
    stripe_invoice_id        TEXT UNIQUE,
    stripe_charge_id         TEXT UNIQUE,
    article                  TEXT NOT NULL DEFAULT '',
    campaign                 TEXT NOT NULL DEFAULT '',
    source                   TEXT NOT NULL DEFAULT '',
    paid_at                  INTEGER NOT NULL,
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL
) STRICT;
CREATE INDEX donations_paid_at ON donations (paid_at, currency);
CREATE INDEX donations_supporter ON donations (supporter_id);
CREATE INDEX donations_subscription ON donations (subscription_id);

CREATE TABLE stripe_events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    created     INTEGER NOT NULL,
    livemode    INTEGER NOT NULL DEFAULT 0,
    object_id   TEXT NOT NULL DEFAULT '',
    outcome     TEXT NOT NULL,
    received_at INTEGER NOT NULL
) STRICT;
CREATE INDEX stripe_events_object ON stripe_events (object_id);
CREATE INDEX stripe_events_created ON stripe_events (created);

-- Prompt impressions and Continue clicks, counted in memory and flushed in batches: one row per
-- UTC day, article and campaign, so the hot path never writes.
CREATE TABLE prompt_stats (
    day      INTEGER NOT NULL, -- Unix seconds of the UTC day's start
    article  TEXT NOT NULL DEFAULT '',
    campaign TEXT NOT NULL DEFAULT '',
    views    INTEGER NOT NULL DEFAULT 0,
    clicks   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, article, campaign)
) STRICT, WITHOUT ROWID;

-- "Remind me later": one row per anonymous reader (repeat clicks update it), with the reminder
-- e-mail's life when the reader left an address.
CREATE TABLE deferrals (
    id              INTEGER PRIMARY KEY,
    reader_id       TEXT NOT NULL UNIQUE,
    article         TEXT NOT NULL DEFAULT '',
    choice          TEXT NOT NULL CHECK (choice IN ('week', 'month', 'never')),
    frequency       TEXT NOT NULL DEFAULT '',
    remind_at       INTEGER NOT NULL,
    email           TEXT,
    reminder_status TEXT NOT NULL DEFAULT 'none'
                    CHECK (reminder_status IN ('none', 'pending', 'claimed', 'sent', 'unsubscribed', 'given_up')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    claimed_at      INTEGER,
    claim_token     TEXT,
    sent_at         INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX deferrals_due ON deferrals (reminder_status, next_attempt_at);
CREATE INDEX deferrals_created_at ON deferrals (created_at);

-- +goose Down
DROP TABLE deferrals;
DROP TABLE prompt_stats;
DROP TABLE stripe_events;
DROP TABLE donations;
DROP TABLE subscriptions;
DROP TABLE supporters;
DROP TABLE checkouts;
DROP TABLE settings;
