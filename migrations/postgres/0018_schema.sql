-- Pledge's schema on PostgreSQL: the tables, indexes and triggers that the SQLite migrations
-- 0001 to 0018 (migrations/sqlite) leave, made at once. It is numbered 0018 so that both engines
-- report the same schema version; a later change adds a file of the same number to each
-- directory.
--
-- The translation, so that the store's SQL and scans are shared:
-- * INTEGER is bigint (times are Unix seconds, money minor units); flags stay integers 0/1.
-- * Every text column is COLLATE "C": comparisons and ORDER BY go by bytes, as on SQLite, so
--   lists and exports come out in the same order whatever the database's default locale.
-- * An `id bigint PRIMARY KEY` is given max(id) + 1 when inserted without one, as SQLite gives
--   an INTEGER PRIMARY KEY its rowid (pledge_rowid below). Every write transaction holds the
--   store's advisory lock, so two inserts never pick the same number.
-- * SQLite's COLLATE NOCASE (staff e-mail, supporters_email_nocase) is lower() here; lower() on
--   a "C" column folds ASCII only, like NOCASE.
-- * subscription_segments.end is a reserved word in PostgreSQL: it is quoted, "end" (which
--   SQLite reads too).
-- * Foreign keys are DEFERRABLE (still checked per statement unless a transaction defers them):
--   `pledge seed` defers them, as it turns SQLite's off, to write rows in the order it makes them.
-- * The checkouts' funnel rollup (checkouts_daily) is kept by triggers on SQLite; the same
--   triggers are PL/pgSQL here.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION pledge_rowid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS NULL THEN
        EXECUTE format('SELECT coalesce(max(id), 0) + 1 FROM %I', TG_TABLE_NAME) INTO NEW.id;
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TABLE settings (
    key   text COLLATE "C" PRIMARY KEY,
    value text COLLATE "C" NOT NULL
);
CREATE TABLE checkouts (
    id                text COLLATE "C" PRIMARY KEY,
    nonce             text COLLATE "C" NOT NULL UNIQUE,
    frequency         text COLLATE "C" NOT NULL CHECK (frequency IN ('once', 'monthly', 'annual')),
    amount            bigint NOT NULL CHECK (amount > 0),
    currency          text COLLATE "C" NOT NULL,
    cover_fees        bigint NOT NULL DEFAULT 0 CHECK (cover_fees >= 0),
    article           text COLLATE "C" NOT NULL DEFAULT '',
    campaign          text COLLATE "C" NOT NULL DEFAULT '',
    source            text COLLATE "C" NOT NULL DEFAULT '',
    reader_id         text COLLATE "C" NOT NULL DEFAULT '',
    status            text COLLATE "C" NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'open', 'paid', 'failed', 'abandoned')),
    stripe_session_id text COLLATE "C" UNIQUE,
    stripe_url        text COLLATE "C" NOT NULL DEFAULT '',
    created_at        bigint NOT NULL,
    updated_at        bigint NOT NULL,
    experiment text COLLATE "C" NOT NULL DEFAULT '', variant text COLLATE "C" NOT NULL DEFAULT '', lang text COLLATE "C" NOT NULL DEFAULT '');
CREATE INDEX checkouts_created_at ON checkouts (created_at);
CREATE TABLE supporters (
    id                 bigint PRIMARY KEY,
    stripe_customer_id text COLLATE "C" UNIQUE,
    email              text COLLATE "C",
    name               text COLLATE "C" NOT NULL DEFAULT '',
    created_at         bigint NOT NULL,
    updated_at         bigint NOT NULL,
    erased_at          bigint,
    email_at bigint NOT NULL DEFAULT 0, email_key text COLLATE "C" NOT NULL DEFAULT '', first_paid_at bigint, first_currency text COLLATE "C" NOT NULL DEFAULT '', first_frequency text COLLATE "C" NOT NULL DEFAULT '', last_paid_at bigint);
CREATE INDEX supporters_email ON supporters (email);
CREATE INDEX supporters_created_at ON supporters (created_at);
CREATE TABLE subscriptions (
    id                     bigint PRIMARY KEY,
    stripe_subscription_id text COLLATE "C" NOT NULL UNIQUE,
    supporter_id           bigint REFERENCES supporters (id) DEFERRABLE,
    checkout_id            text COLLATE "C" REFERENCES checkouts (id) DEFERRABLE,
    frequency              text COLLATE "C" NOT NULL CHECK (frequency IN ('monthly', 'annual')),
    amount                 bigint NOT NULL,
    currency               text COLLATE "C" NOT NULL,
    status                 text COLLATE "C" NOT NULL,
    cancel_at_period_end   bigint NOT NULL DEFAULT 0,
    current_period_end     bigint,
    started_at             bigint,
    canceled_at            bigint,
    cancellation_reason    text COLLATE "C" NOT NULL DEFAULT '',
    article                text COLLATE "C" NOT NULL DEFAULT '',
    campaign               text COLLATE "C" NOT NULL DEFAULT '',
    state_at               bigint NOT NULL DEFAULT 0,
    created_at             bigint NOT NULL,
    updated_at             bigint NOT NULL,
    stripe_customer_id text COLLATE "C" NOT NULL DEFAULT '', fields_status text COLLATE "C" NOT NULL DEFAULT '', fields_at bigint NOT NULL DEFAULT 0, ended_at bigint, cancel_at bigint, paused bigint NOT NULL DEFAULT 0);
CREATE INDEX subscriptions_supporter ON subscriptions (supporter_id);
CREATE INDEX subscriptions_status ON subscriptions (status, currency);
CREATE TABLE donations (
    id                       bigint PRIMARY KEY,
    supporter_id             bigint REFERENCES supporters (id) DEFERRABLE,
    checkout_id              text COLLATE "C" REFERENCES checkouts (id) DEFERRABLE,
    subscription_id          bigint REFERENCES subscriptions (id) DEFERRABLE,
    frequency                text COLLATE "C" NOT NULL CHECK (frequency IN ('once', 'monthly', 'annual')),
    amount                   bigint NOT NULL CHECK (amount > 0),
    amount_refunded          bigint NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0),
    currency                 text COLLATE "C" NOT NULL,
    status                   text COLLATE "C" NOT NULL,
    dispute_status           text COLLATE "C" NOT NULL DEFAULT '',
    fraud_warning            bigint NOT NULL DEFAULT 0,
    stripe_payment_intent_id text COLLATE "C" UNIQUE,
    stripe_invoice_id        text COLLATE "C" UNIQUE,
    stripe_charge_id         text COLLATE "C" UNIQUE,
    article                  text COLLATE "C" NOT NULL DEFAULT '',
    campaign                 text COLLATE "C" NOT NULL DEFAULT '',
    source                   text COLLATE "C" NOT NULL DEFAULT '',
    paid_at                  bigint NOT NULL,
    created_at               bigint NOT NULL,
    updated_at               bigint NOT NULL,
    stripe_customer_id text COLLATE "C" NOT NULL DEFAULT '', tax bigint NOT NULL DEFAULT 0, amount_disputed bigint NOT NULL DEFAULT 0, settled bigint NOT NULL DEFAULT 0, settle_txn text COLLATE "C" NOT NULL DEFAULT '', settle_currency text COLLATE "C" NOT NULL DEFAULT '', settle_amount bigint NOT NULL DEFAULT 0, settle_fee bigint NOT NULL DEFAULT 0, settle_net bigint NOT NULL DEFAULT 0);
CREATE INDEX donations_paid_at ON donations (paid_at, currency);
CREATE INDEX donations_supporter ON donations (supporter_id);
CREATE INDEX donations_subscription ON donations (subscription_id);
CREATE TABLE stripe_events (
    id          text COLLATE "C" PRIMARY KEY,
    type        text COLLATE "C" NOT NULL,
    created     bigint NOT NULL,
    livemode    bigint NOT NULL DEFAULT 0,
    object_id   text COLLATE "C" NOT NULL DEFAULT '',
    outcome     text COLLATE "C" NOT NULL,
    received_at bigint NOT NULL,
    checkout_id text COLLATE "C" NOT NULL DEFAULT '', related_id text COLLATE "C" NOT NULL DEFAULT '');
CREATE INDEX stripe_events_object ON stripe_events (object_id);
CREATE INDEX stripe_events_created ON stripe_events (created);
CREATE TABLE prompt_stats (
    day      bigint NOT NULL, -- Unix seconds of the UTC day's start
    article  text COLLATE "C" NOT NULL DEFAULT '',
    campaign text COLLATE "C" NOT NULL DEFAULT '',
    views    bigint NOT NULL DEFAULT 0,
    clicks   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, article, campaign)
);
CREATE TABLE deferrals (
    id              bigint PRIMARY KEY,
    reader_id       text COLLATE "C" NOT NULL UNIQUE,
    article         text COLLATE "C" NOT NULL DEFAULT '',
    choice          text COLLATE "C" NOT NULL CHECK (choice IN ('week', 'month', 'never')),
    frequency       text COLLATE "C" NOT NULL DEFAULT '',
    remind_at       bigint NOT NULL,
    email           text COLLATE "C",
    reminder_status text COLLATE "C" NOT NULL DEFAULT 'none'
                    CHECK (reminder_status IN ('none', 'pending', 'claimed', 'sent', 'unsubscribed', 'given_up')),
    attempts        bigint NOT NULL DEFAULT 0,
    next_attempt_at bigint,
    claimed_at      bigint,
    claim_token     text COLLATE "C",
    sent_at         bigint,
    created_at      bigint NOT NULL,
    updated_at      bigint NOT NULL,
    lang text COLLATE "C" NOT NULL DEFAULT '', email_key text COLLATE "C");
CREATE INDEX deferrals_due ON deferrals (reminder_status, next_attempt_at);
CREATE INDEX deferrals_created_at ON deferrals (created_at);
CREATE INDEX stripe_events_checkout ON stripe_events (checkout_id) WHERE checkout_id <> '';
CREATE TABLE charges (
    stripe_charge_id         text COLLATE "C" PRIMARY KEY,
    stripe_payment_intent_id text COLLATE "C" NOT NULL DEFAULT '',
    stripe_invoice_id        text COLLATE "C" NOT NULL DEFAULT '',
    amount_refunded          bigint NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0),
    refunded_at              bigint NOT NULL DEFAULT 0,
    dispute_status           text COLLATE "C" NOT NULL DEFAULT '',
    dispute_at               bigint NOT NULL DEFAULT 0,
    fraud_warning            bigint NOT NULL DEFAULT 0,
    updated_at               bigint NOT NULL,
    currency text COLLATE "C" NOT NULL DEFAULT '', dispute_amount bigint NOT NULL DEFAULT 0, dispute_reinstated bigint NOT NULL DEFAULT 0);
CREATE INDEX charges_payment_intent ON charges (stripe_payment_intent_id) WHERE stripe_payment_intent_id <> '';
CREATE INDEX charges_invoice ON charges (stripe_invoice_id) WHERE stripe_invoice_id <> '';
CREATE TABLE refunds (
    stripe_refund_id text COLLATE "C" PRIMARY KEY,
    stripe_charge_id text COLLATE "C" NOT NULL,
    amount           bigint NOT NULL CHECK (amount >= 0),
    status           text COLLATE "C" NOT NULL,
    status_at        bigint NOT NULL,
    currency text COLLATE "C" NOT NULL DEFAULT '');
CREATE INDEX refunds_charge ON refunds (stripe_charge_id);
CREATE TABLE invoice_attempts (
    id                     bigint PRIMARY KEY,
    stripe_invoice_id      text COLLATE "C" NOT NULL,
    stripe_subscription_id text COLLATE "C" NOT NULL,
    attempt                bigint NOT NULL,
    action_required        bigint NOT NULL DEFAULT 0,
    amount                 bigint NOT NULL,
    currency               text COLLATE "C" NOT NULL,
    next_attempt_at        bigint,
    failed_at              bigint NOT NULL, paid_at bigint,
    UNIQUE (stripe_invoice_id, attempt, action_required)
);
CREATE INDEX invoice_attempts_subscription ON invoice_attempts (stripe_subscription_id);
CREATE TABLE staff (
    id            bigint PRIMARY KEY,
    email         text COLLATE "C" NOT NULL,
    password_hash text COLLATE "C" NOT NULL,
    role          text COLLATE "C" NOT NULL CHECK (role IN ('admin', 'viewer')),
    disabled_at   bigint,
    created_at    bigint NOT NULL
);
CREATE TABLE staff_sessions (
    id           text COLLATE "C" PRIMARY KEY,
    staff_id     bigint NOT NULL REFERENCES staff (id) ON DELETE CASCADE DEFERRABLE,
    created_at   bigint NOT NULL,
    last_seen_at bigint NOT NULL,
    expires      bigint NOT NULL
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);
CREATE INDEX staff_sessions_expires ON staff_sessions (expires);
CREATE TABLE login_attempts (
    id    bigint PRIMARY KEY,
    email text COLLATE "C" NOT NULL,
    ip    text COLLATE "C" NOT NULL,
    at    bigint NOT NULL
);
CREATE INDEX login_attempts_email ON login_attempts (email, at);
CREATE INDEX login_attempts_ip ON login_attempts (ip, at);
CREATE TABLE audit_log (
    id      bigint PRIMARY KEY,
    at      bigint NOT NULL,
    actor   text COLLATE "C" NOT NULL,
    action  text COLLATE "C" NOT NULL,
    subject text COLLATE "C" NOT NULL DEFAULT '',
    detail  text COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE TABLE donations_daily (
    day       bigint NOT NULL, -- Unix seconds of the UTC day's start
    currency  text COLLATE "C" NOT NULL,
    frequency text COLLATE "C" NOT NULL,
    -- supporters whose first donation this day was, in this currency and frequency
    new_supporters bigint NOT NULL DEFAULT 0,
    donations bigint NOT NULL DEFAULT 0,
    gross     bigint NOT NULL DEFAULT 0,
    refunded  bigint NOT NULL DEFAULT 0,
    refunds   bigint NOT NULL DEFAULT 0,
    disputes  bigint NOT NULL DEFAULT 0,
    disputed  bigint NOT NULL DEFAULT 0, tax bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, currency, frequency)
);
CREATE TABLE donations_sources (
    day       bigint NOT NULL,
    article   text COLLATE "C" NOT NULL,
    campaign  text COLLATE "C" NOT NULL,
    currency  text COLLATE "C" NOT NULL,
    donations bigint NOT NULL DEFAULT 0,
    gross     bigint NOT NULL DEFAULT 0,
    refunded  bigint NOT NULL DEFAULT 0,
    refunds   bigint NOT NULL DEFAULT 0,
    disputes  bigint NOT NULL DEFAULT 0,
    disputed  bigint NOT NULL DEFAULT 0, tax bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, article, campaign, currency)
);
CREATE INDEX donations_supporter_paid ON donations (supporter_id, paid_at, id, currency, frequency);
CREATE TABLE subscriptions_daily (
    day           bigint NOT NULL,
    currency      text COLLATE "C" NOT NULL,
    frequency     text COLLATE "C" NOT NULL,
    subscriptions bigint NOT NULL DEFAULT 0, -- change in the number live
    amount        bigint NOT NULL DEFAULT 0, scheduled bigint NOT NULL DEFAULT 0, ended bigint NOT NULL DEFAULT 0, started bigint NOT NULL DEFAULT 0, -- change in the sum of their amounts
    PRIMARY KEY (day, currency, frequency)
);
CREATE TABLE checkouts_daily (
    day           bigint NOT NULL,
    article       text COLLATE "C" NOT NULL,
    campaign      text COLLATE "C" NOT NULL,
    checkouts     bigint NOT NULL DEFAULT 0,
    paid          bigint NOT NULL DEFAULT 0,
    reminder      bigint NOT NULL DEFAULT 0, -- reached from a reminder e-mail
    reminder_paid bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, article, campaign)
);
CREATE INDEX subscriptions_life ON subscriptions (canceled_at, started_at, currency, frequency, amount, status);
CREATE INDEX deferrals_report ON deferrals (created_at, choice, reminder_status);
CREATE INDEX deferrals_email ON deferrals (email) WHERE email IS NOT NULL;
CREATE TABLE manage_tokens_used (
    id         text COLLATE "C" PRIMARY KEY,
    used_at    bigint NOT NULL,
    expires_at bigint NOT NULL
);
CREATE INDEX manage_tokens_used_expires ON manage_tokens_used (expires_at);
CREATE INDEX supporters_email_nocase ON supporters (lower(email));
CREATE INDEX subscriptions_status_supporter ON subscriptions (status, supporter_id);
CREATE INDEX subscriptions_frequency_supporter ON subscriptions (frequency, supporter_id);
CREATE TABLE customers (
    stripe_customer_id text COLLATE "C" PRIMARY KEY,
    supporter_id       bigint REFERENCES supporters (id) DEFERRABLE,
    email              text COLLATE "C",
    email_at           bigint NOT NULL DEFAULT 0,
    name               text COLLATE "C" NOT NULL DEFAULT '',
    name_at            bigint NOT NULL DEFAULT 0,
    erased_at          bigint
);
CREATE INDEX customers_supporter ON customers (supporter_id, stripe_customer_id);
CREATE INDEX customers_supporter_email ON customers (supporter_id, email_at, email) WHERE email IS NOT NULL;
CREATE INDEX customers_supporter_name ON customers (supporter_id, name_at, name) WHERE name <> '';
CREATE INDEX supporters_email_key ON supporters (email_key);
CREATE INDEX donations_customer ON donations (stripe_customer_id);
CREATE INDEX stripe_events_related ON stripe_events (related_id);
CREATE INDEX subscriptions_customer ON subscriptions (stripe_customer_id);
CREATE TABLE subscription_states (
    stripe_subscription_id text COLLATE "C" NOT NULL,
    event_id               text COLLATE "C" NOT NULL,
    at                     bigint NOT NULL, -- the event's created time
    status                 text COLLATE "C" NOT NULL,
    amount                 bigint NOT NULL,
    currency               text COLLATE "C" NOT NULL,
    interval               text COLLATE "C" NOT NULL DEFAULT '',
    cancel_at_period_end   bigint NOT NULL DEFAULT 0,
    cancel_at              bigint,
    canceled_at            bigint,
    ended_at               bigint,
    current_period_end     bigint,
    started_at             bigint,
    paused                 bigint NOT NULL DEFAULT 0,
    cancellation_reason    text COLLATE "C" NOT NULL DEFAULT '',
    PRIMARY KEY (stripe_subscription_id, event_id)
);
CREATE TABLE subscription_segments (
    subscription_id bigint NOT NULL REFERENCES subscriptions (id) DEFERRABLE,
    start           bigint NOT NULL,
    "end"             bigint,
    amount          bigint NOT NULL,
    currency        text COLLATE "C" NOT NULL,
    frequency       text COLLATE "C" NOT NULL,
    scheduled       bigint NOT NULL DEFAULT 0, -- set to end at the period's end
    ends            bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (subscription_id, start)
);
CREATE TABLE supporter_mail (
    id                 bigint PRIMARY KEY,
    kind               text COLLATE "C" NOT NULL,             -- thanks, recovery, renewal, statement
    key                text COLLATE "C" NOT NULL UNIQUE,
    supporter_id       bigint,
    stripe_customer_id text COLLATE "C" NOT NULL DEFAULT '',
    ref                text COLLATE "C" NOT NULL DEFAULT '',  -- the invoice (recovery) or subscription (renewal)
    amount             bigint NOT NULL DEFAULT 0,
    currency           text COLLATE "C" NOT NULL DEFAULT '',
    due_at             bigint,                   -- the renewal's date
    year               bigint NOT NULL DEFAULT 0,
    lang               text COLLATE "C" NOT NULL DEFAULT 'en',
    status             text COLLATE "C" NOT NULL DEFAULT 'pending', -- pending, claimed, sent, cancelled, unsubscribed, given_up, skipped
    reason             text COLLATE "C" NOT NULL DEFAULT '',  -- why a row was cancelled
    attempts           bigint NOT NULL DEFAULT 0,
    next_attempt_at    bigint,
    claim_token        text COLLATE "C",
    claimed_at         bigint,
    sent_at            bigint,
    link_opened_at     bigint,
    created_at         bigint NOT NULL,
    updated_at         bigint NOT NULL
);
CREATE INDEX supporter_mail_due ON supporter_mail (next_attempt_at) WHERE status = 'pending';
CREATE INDEX supporter_mail_claimed ON supporter_mail (claimed_at) WHERE status = 'claimed';
CREATE INDEX supporter_mail_supporter ON supporter_mail (supporter_id);
CREATE INDEX supporter_mail_ref ON supporter_mail (ref, kind);
CREATE TABLE mail_unsubscribes (
    supporter_id bigint NOT NULL,
    kind         text COLLATE "C" NOT NULL,
    at           bigint NOT NULL,
    PRIMARY KEY (supporter_id, kind)
);
CREATE INDEX donations_unsettled ON donations (paid_at) WHERE settle_txn = '';
CREATE TABLE settlement_daily (
    day             bigint NOT NULL,
    currency        text COLLATE "C" NOT NULL,          -- the charge's
    settle_currency text COLLATE "C" NOT NULL,          -- the balance transaction's, '' when not known yet
    donations       bigint NOT NULL DEFAULT 0,
    amount          bigint NOT NULL DEFAULT 0, -- converted, before fees (settlement currency)
    fee             bigint NOT NULL DEFAULT 0, -- Stripe's fee (settlement currency)
    lost            bigint NOT NULL DEFAULT 0, -- refunded and disputed, converted (settlement currency)
    net             bigint NOT NULL DEFAULT 0, -- settled: amount - fee - lost; unknown: the charge currency's net
    PRIMARY KEY (day, currency, settle_currency)
);
CREATE TABLE supporter_totals (
    supporter_id bigint NOT NULL,
    currency     text COLLATE "C" NOT NULL,
    net          bigint NOT NULL,
    donations    bigint NOT NULL,
    PRIMARY KEY (supporter_id, currency)
);
CREATE INDEX supporter_totals_rank ON supporter_totals (currency, net, supporter_id);
CREATE INDEX supporters_last_paid ON supporters (last_paid_at, id);
CREATE TABLE articles (
    url        text COLLATE "C" PRIMARY KEY,
    title      text COLLATE "C" NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX checkouts_experiment ON checkouts (experiment, variant) WHERE experiment <> '';
CREATE INDEX donations_checkout ON donations (checkout_id);
CREATE TABLE experiment_stats (
    experiment text COLLATE "C" NOT NULL,
    variant    text COLLATE "C" NOT NULL, -- a variant's name, or 'holdback' (views: the prompts not shown)
    day        bigint NOT NULL, -- Unix seconds of the UTC day's start
    views      bigint NOT NULL DEFAULT 0,
    clicks     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (experiment, variant, day)
);
CREATE UNIQUE INDEX deferrals_one_reminder ON deferrals (email_key)
WHERE reminder_status IN ('pending', 'claimed') AND email_key IS NOT NULL;
CREATE INDEX deferrals_email_key ON deferrals (email_key) WHERE email_key IS NOT NULL;
CREATE TABLE newsletter_consents (
    id           bigint PRIMARY KEY,
    supporter_id bigint,
    checkout_id  text COLLATE "C",
    source       text COLLATE "C" NOT NULL,   -- thanks_page or thanks_email
    wording      text COLLATE "C" NOT NULL,   -- exactly what the checkbox said
    lang         text COLLATE "C" NOT NULL DEFAULT '',
    consented_at bigint NOT NULL
);
CREATE INDEX newsletter_consents_supporter ON newsletter_consents (supporter_id);
CREATE INDEX newsletter_consents_checkout ON newsletter_consents (checkout_id);
CREATE INDEX invoice_attempts_open ON invoice_attempts
    (failed_at, stripe_invoice_id, stripe_subscription_id, currency, amount, next_attempt_at, paid_at);
CREATE INDEX invoice_attempts_failed ON invoice_attempts (failed_at, currency, stripe_invoice_id, paid_at);
CREATE UNIQUE INDEX staff_email_nocase ON staff (lower(email));

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['supporters', 'subscriptions', 'donations', 'deferrals', 'invoice_attempts',
        'staff', 'login_attempts', 'audit_log', 'supporter_mail', 'newsletter_consents'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE INSERT ON %I FOR EACH ROW EXECUTE FUNCTION pledge_rowid()',
            t || '_rowid', t);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION checkouts_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO checkouts_daily AS r (day, article, campaign, checkouts, paid, reminder, reminder_paid)
        VALUES (OLD.created_at - OLD.created_at % 86400, OLD.article, OLD.campaign, -1, -(OLD.status = 'paid')::int,
                -(OLD.source = 'reminder')::int, -(OLD.source = 'reminder' AND OLD.status = 'paid')::int)
        ON CONFLICT (day, article, campaign) DO UPDATE SET
            checkouts = r.checkouts + excluded.checkouts, paid = r.paid + excluded.paid,
            reminder = r.reminder + excluded.reminder, reminder_paid = r.reminder_paid + excluded.reminder_paid;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO checkouts_daily AS r (day, article, campaign, checkouts, paid, reminder, reminder_paid)
        VALUES (NEW.created_at - NEW.created_at % 86400, NEW.article, NEW.campaign, 1, (NEW.status = 'paid')::int,
                (NEW.source = 'reminder')::int, (NEW.source = 'reminder' AND NEW.status = 'paid')::int)
        ON CONFLICT (day, article, campaign) DO UPDATE SET
            checkouts = r.checkouts + excluded.checkouts, paid = r.paid + excluded.paid,
            reminder = r.reminder + excluded.reminder, reminder_paid = r.reminder_paid + excluded.reminder_paid;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER checkouts_rollup_insert AFTER INSERT ON checkouts FOR EACH ROW EXECUTE FUNCTION checkouts_rollup();
CREATE TRIGGER checkouts_rollup_update AFTER UPDATE OF created_at, article, campaign, status, source ON checkouts
    FOR EACH ROW EXECUTE FUNCTION checkouts_rollup();
CREATE TRIGGER checkouts_rollup_delete AFTER DELETE ON checkouts FOR EACH ROW EXECUTE FUNCTION checkouts_rollup();

-- +goose Down
DROP SCHEMA public CASCADE;
CREATE SCHEMA public;
