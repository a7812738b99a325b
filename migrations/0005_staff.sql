-- The staff area: staff accounts, their server-side sessions, failed-login accounting, the audit
-- log of data requests, and the indexes the reports need so that no report query reads all of
-- history (each covers its query, so SQLite answers from the index alone).

-- +goose Up
CREATE TABLE staff (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    disabled_at   INTEGER,
    created_at    INTEGER NOT NULL
) STRICT;

-- id is the SHA-256 of the random token in the cookie, so a copy of the database cannot be
-- replayed as a session.
CREATE TABLE staff_sessions (
    id           TEXT PRIMARY KEY,
    staff_id     INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires      INTEGER NOT NULL
) STRICT;
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);
CREATE INDEX staff_sessions_expires ON staff_sessions (expires);

-- Failed logins, per account (as typed, lower-cased) and per client IP, kept for the limit's window.
CREATE TABLE login_attempts (
    id    INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    ip    TEXT NOT NULL,
    at    INTEGER NOT NULL
) STRICT;
CREATE INDEX login_attempts_email ON login_attempts (email, at);
CREATE INDEX login_attempts_ip ON login_attempts (ip, at);

-- Who did what to whose data. subject names a record ("supporter 42"), never an e-mail address.
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    detail  TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_log_at ON audit_log (at);

-- Money in per UTC day, kept by triggers on donations whoever writes them (the webhook, seed,
-- a refund updating a row), so the dashboard reads a few rows a day instead of every donation:
-- donations_daily by currency and frequency (headline figures, the daily chart), donations_sources
-- by article, campaign and currency (the top lists). The export still reads donations themselves.
CREATE TABLE donations_daily (
    day       INTEGER NOT NULL, -- Unix seconds of the UTC day's start
    currency  TEXT NOT NULL,
    frequency TEXT NOT NULL,
    donations INTEGER NOT NULL DEFAULT 0,
    gross     INTEGER NOT NULL DEFAULT 0,
    refunded  INTEGER NOT NULL DEFAULT 0,
    refunds   INTEGER NOT NULL DEFAULT 0,
    disputes  INTEGER NOT NULL DEFAULT 0,
    disputed  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, currency, frequency)
) STRICT, WITHOUT ROWID;

CREATE TABLE donations_sources (
    day       INTEGER NOT NULL,
    article   TEXT NOT NULL,
    campaign  TEXT NOT NULL,
    currency  TEXT NOT NULL,
    donations INTEGER NOT NULL DEFAULT 0,
    gross     INTEGER NOT NULL DEFAULT 0,
    refunded  INTEGER NOT NULL DEFAULT 0,
    refunds   INTEGER NOT NULL DEFAULT 0,
    disputes  INTEGER NOT NULL DEFAULT 0,
    disputed  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, article, campaign, currency)
) STRICT, WITHOUT ROWID;

INSERT INTO donations_daily
SELECT paid_at - paid_at % 86400, currency, frequency, count(*), sum(amount), sum(amount_refunded), sum(amount_refunded > 0), sum(status = 'disputed'),
       sum(CASE WHEN status = 'disputed' THEN amount ELSE 0 END)
FROM donations GROUP BY 1, 2, 3;

INSERT INTO donations_sources
SELECT paid_at - paid_at % 86400, article, campaign, currency, count(*), sum(amount), sum(amount_refunded), sum(amount_refunded > 0), sum(status = 'disputed'),
       sum(CASE WHEN status = 'disputed' THEN amount ELSE 0 END)
FROM donations GROUP BY 1, 2, 3, 4;

-- +goose StatementBegin
CREATE TRIGGER donations_rollup_insert AFTER INSERT ON donations BEGIN
    INSERT INTO donations_daily (day, currency, frequency, donations, gross, refunded, refunds, disputes, disputed)
    VALUES (NEW.paid_at - NEW.paid_at % 86400, NEW.currency, NEW.frequency, 1, NEW.amount, NEW.amount_refunded, NEW.amount_refunded > 0, NEW.status = 'disputed',
            CASE WHEN NEW.status = 'disputed' THEN NEW.amount ELSE 0 END)
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        donations = donations + excluded.donations, gross = gross + excluded.gross,
        refunded = refunded + excluded.refunded, refunds = refunds + excluded.refunds,
        disputes = disputes + excluded.disputes, disputed = disputed + excluded.disputed;
    INSERT INTO donations_sources (day, article, campaign, currency, donations, gross, refunded, refunds, disputes, disputed)
    VALUES (NEW.paid_at - NEW.paid_at % 86400, NEW.article, NEW.campaign, NEW.currency, 1, NEW.amount, NEW.amount_refunded, NEW.amount_refunded > 0, NEW.status = 'disputed',
            CASE WHEN NEW.status = 'disputed' THEN NEW.amount ELSE 0 END)
    ON CONFLICT (day, article, campaign, currency) DO UPDATE SET
        donations = donations + excluded.donations, gross = gross + excluded.gross,
        refunded = refunded + excluded.refunded, refunds = refunds + excluded.refunds,
        disputes = disputes + excluded.disputes, disputed = disputed + excluded.disputed;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER donations_rollup_update AFTER UPDATE OF paid_at, currency, frequency, article, campaign, amount,
        amount_refunded, status ON donations BEGIN
    UPDATE donations_daily SET
        donations = donations - 1, gross = gross - OLD.amount, refunded = refunded - OLD.amount_refunded,
        refunds = refunds - (OLD.amount_refunded > 0), disputes = disputes - (OLD.status = 'disputed'),
        disputed = disputed - CASE WHEN OLD.status = 'disputed' THEN OLD.amount ELSE 0 END
    WHERE day = OLD.paid_at - OLD.paid_at % 86400 AND currency = OLD.currency AND frequency = OLD.frequency;
    UPDATE donations_sources SET
        donations = donations - 1, gross = gross - OLD.amount, refunded = refunded - OLD.amount_refunded,
        refunds = refunds - (OLD.amount_refunded > 0), disputes = disputes - (OLD.status = 'disputed'),
        disputed = disputed - CASE WHEN OLD.status = 'disputed' THEN OLD.amount ELSE 0 END
    WHERE day = OLD.paid_at - OLD.paid_at % 86400 AND article = OLD.article AND campaign = OLD.campaign AND currency = OLD.currency;
    INSERT INTO donations_daily (day, currency, frequency, donations, gross, refunded, refunds, disputes, disputed)
    VALUES (NEW.paid_at - NEW.paid_at % 86400, NEW.currency, NEW.frequency, 1, NEW.amount, NEW.amount_refunded, NEW.amount_refunded > 0, NEW.status = 'disputed',
            CASE WHEN NEW.status = 'disputed' THEN NEW.amount ELSE 0 END)
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        donations = donations + excluded.donations, gross = gross + excluded.gross,
        refunded = refunded + excluded.refunded, refunds = refunds + excluded.refunds,
        disputes = disputes + excluded.disputes, disputed = disputed + excluded.disputed;
    INSERT INTO donations_sources (day, article, campaign, currency, donations, gross, refunded, refunds, disputes, disputed)
    VALUES (NEW.paid_at - NEW.paid_at % 86400, NEW.article, NEW.campaign, NEW.currency, 1, NEW.amount, NEW.amount_refunded, NEW.amount_refunded > 0, NEW.status = 'disputed',
            CASE WHEN NEW.status = 'disputed' THEN NEW.amount ELSE 0 END)
    ON CONFLICT (day, article, campaign, currency) DO UPDATE SET
        donations = donations + excluded.donations, gross = gross + excluded.gross,
        refunded = refunded + excluded.refunded, refunds = refunds + excluded.refunds,
        disputes = disputes + excluded.disputes, disputed = disputed + excluded.disputed;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER donations_rollup_delete AFTER DELETE ON donations BEGIN
    UPDATE donations_daily SET
        donations = donations - 1, gross = gross - OLD.amount, refunded = refunded - OLD.amount_refunded,
        refunds = refunds - (OLD.amount_refunded > 0), disputes = disputes - (OLD.status = 'disputed'),
        disputed = disputed - CASE WHEN OLD.status = 'disputed' THEN OLD.amount ELSE 0 END
    WHERE day = OLD.paid_at - OLD.paid_at % 86400 AND currency = OLD.currency AND frequency = OLD.frequency;
    UPDATE donations_sources SET
        donations = donations - 1, gross = gross - OLD.amount, refunded = refunded - OLD.amount_refunded,
        refunds = refunds - (OLD.amount_refunded > 0), disputes = disputes - (OLD.status = 'disputed'),
        disputed = disputed - CASE WHEN OLD.status = 'disputed' THEN OLD.amount ELSE 0 END
    WHERE day = OLD.paid_at - OLD.paid_at % 86400 AND article = OLD.article AND campaign = OLD.campaign AND currency = OLD.currency;
END;
-- +goose StatementEnd

-- A supporter's first currency, for "new supporters" per currency.
CREATE INDEX donations_supporter_currency ON donations (supporter_id, currency);
-- Recurring revenue at a moment: live subscriptions (canceled_at IS NULL) plus those cancelled
-- after it; cancellations in a period.
CREATE INDEX subscriptions_life ON subscriptions (canceled_at, started_at, currency, frequency, amount, status);
CREATE INDEX subscriptions_started ON subscriptions (started_at, currency, frequency, amount, canceled_at, status);
CREATE INDEX checkouts_report ON checkouts (created_at, article, campaign, status, source);
CREATE INDEX deferrals_report ON deferrals (created_at, choice, reminder_status);
CREATE INDEX deferrals_email ON deferrals (email) WHERE email IS NOT NULL;
CREATE INDEX stripe_events_type ON stripe_events (type, created, object_id);

-- +goose Down
DROP INDEX donations_supporter_currency;
DROP TRIGGER donations_rollup_delete;
DROP TRIGGER donations_rollup_update;
DROP TRIGGER donations_rollup_insert;
DROP TABLE donations_sources;
DROP TABLE donations_daily;
DROP INDEX stripe_events_type;
DROP INDEX deferrals_email;
DROP INDEX deferrals_report;
DROP INDEX checkouts_report;
DROP INDEX subscriptions_started;
DROP INDEX subscriptions_life;
DROP TABLE audit_log;
DROP TABLE login_attempts;
DROP TABLE staff_sessions;
DROP TABLE staff;
