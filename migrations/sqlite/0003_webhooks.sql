-- Webhooks and the ledger (issue 4): what the event handlers need beyond 0001. Events name their
-- checkout; subscriptions keep a second state stamp for their fields (status and fields are each
-- the newest seen, so any order of events ends the same); charges hold refund, dispute and fraud
-- facts even when they arrive before the donation they belong to; refunds and failed invoice
-- attempts are kept.

-- +goose Up
ALTER TABLE stripe_events ADD COLUMN checkout_id TEXT NOT NULL DEFAULT '';
CREATE INDEX stripe_events_checkout ON stripe_events (checkout_id) WHERE checkout_id <> '';

ALTER TABLE supporters ADD COLUMN email_at INTEGER NOT NULL DEFAULT 0;

ALTER TABLE subscriptions ADD COLUMN stripe_customer_id TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN fields_status TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN fields_at INTEGER NOT NULL DEFAULT 0;

CREATE TABLE charges (
    stripe_charge_id         TEXT PRIMARY KEY,
    stripe_payment_intent_id TEXT NOT NULL DEFAULT '',
    stripe_invoice_id        TEXT NOT NULL DEFAULT '',
    amount_refunded          INTEGER NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0),
    refunded_at              INTEGER NOT NULL DEFAULT 0,
    dispute_status           TEXT NOT NULL DEFAULT '',
    dispute_at               INTEGER NOT NULL DEFAULT 0,
    fraud_warning            INTEGER NOT NULL DEFAULT 0,
    updated_at               INTEGER NOT NULL
) STRICT;
CREATE INDEX charges_payment_intent ON charges (stripe_payment_intent_id) WHERE stripe_payment_intent_id <> '';
CREATE INDEX charges_invoice ON charges (stripe_invoice_id) WHERE stripe_invoice_id <> '';

-- One row per refund seen in charge.refund.updated: a refund Stripe reports succeeded or pending
-- counts even if charge.refunded was missed, and a failed one stops counting.
CREATE TABLE refunds (
    stripe_refund_id TEXT PRIMARY KEY,
    stripe_charge_id TEXT NOT NULL,
    amount           INTEGER NOT NULL CHECK (amount >= 0),
    status           TEXT NOT NULL,
    status_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX refunds_charge ON refunds (stripe_charge_id);

CREATE TABLE invoice_attempts (
    id                     INTEGER PRIMARY KEY,
    stripe_invoice_id      TEXT NOT NULL,
    stripe_subscription_id TEXT NOT NULL,
    attempt                INTEGER NOT NULL,
    action_required        INTEGER NOT NULL DEFAULT 0,
    amount                 INTEGER NOT NULL,
    currency               TEXT NOT NULL,
    next_attempt_at        INTEGER,
    failed_at              INTEGER NOT NULL,
    UNIQUE (stripe_invoice_id, attempt, action_required)
) STRICT;
CREATE INDEX invoice_attempts_subscription ON invoice_attempts (stripe_subscription_id);

-- +goose Down
DROP TABLE invoice_attempts;
DROP TABLE refunds;
DROP TABLE charges;
ALTER TABLE subscriptions DROP COLUMN fields_at;
ALTER TABLE subscriptions DROP COLUMN fields_status;
ALTER TABLE subscriptions DROP COLUMN stripe_customer_id;
ALTER TABLE supporters DROP COLUMN email_at;
DROP INDEX stripe_events_checkout;
ALTER TABLE stripe_events DROP COLUMN checkout_id;
