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
    -- supporters whose first donation this day was, in this currency and frequency
    new_supporters INTEGER NOT NULL DEFAULT 0,
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

CREATE INDEX donations_supporter_paid ON donations (supporter_id, paid_at, id, currency, frequency);

INSERT INTO donations_daily (day, currency, frequency, donations, gross, refunded, refunds, disputes, disputed)
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
    -- A new supporter? (after the upserts above, so this day's row exists)
    UPDATE donations_daily SET new_supporters = new_supporters - 1
    WHERE day = (SELECT paid_at - paid_at % 86400 FROM donations INDEXED BY donations_supporter_paid
                 WHERE supporter_id = NEW.supporter_id AND id <> NEW.id ORDER BY paid_at, id LIMIT 1)
      AND currency = (SELECT currency FROM donations INDEXED BY donations_supporter_paid
                      WHERE supporter_id = NEW.supporter_id AND id <> NEW.id ORDER BY paid_at, id LIMIT 1)
      AND frequency = (SELECT frequency FROM donations INDEXED BY donations_supporter_paid
                       WHERE supporter_id = NEW.supporter_id AND id <> NEW.id ORDER BY paid_at, id LIMIT 1)
      AND NEW.supporter_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM donations INDEXED BY donations_supporter_paid
                      WHERE supporter_id = NEW.supporter_id AND id <> NEW.id
                        AND (paid_at < NEW.paid_at OR (paid_at = NEW.paid_at AND id < NEW.id)));
    UPDATE donations_daily SET new_supporters = new_supporters + 1
    WHERE day = NEW.paid_at - NEW.paid_at % 86400 AND currency = NEW.currency AND frequency = NEW.frequency
      AND NEW.supporter_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM donations INDEXED BY donations_supporter_paid
                      WHERE supporter_id = NEW.supporter_id AND id <> NEW.id
                        AND (paid_at < NEW.paid_at OR (paid_at = NEW.paid_at AND id < NEW.id)));
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
    -- The supporter's first donation went: the mark moves to the next one, if any.
    UPDATE donations_daily SET new_supporters = new_supporters - 1
    WHERE day = OLD.paid_at - OLD.paid_at % 86400 AND currency = OLD.currency AND frequency = OLD.frequency
      AND OLD.supporter_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM donations INDEXED BY donations_supporter_paid
                      WHERE supporter_id = OLD.supporter_id
                        AND (paid_at < OLD.paid_at OR (paid_at = OLD.paid_at AND id < OLD.id)));
    UPDATE donations_daily SET new_supporters = new_supporters + 1
    WHERE day = (SELECT paid_at - paid_at % 86400 FROM donations INDEXED BY donations_supporter_paid
                    WHERE supporter_id = OLD.supporter_id ORDER BY paid_at, id LIMIT 1)
      AND currency = (SELECT currency FROM donations INDEXED BY donations_supporter_paid
                    WHERE supporter_id = OLD.supporter_id ORDER BY paid_at, id LIMIT 1)
      AND frequency = (SELECT frequency FROM donations INDEXED BY donations_supporter_paid
                    WHERE supporter_id = OLD.supporter_id ORDER BY paid_at, id LIMIT 1)
      AND OLD.supporter_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM donations INDEXED BY donations_supporter_paid
                      WHERE supporter_id = OLD.supporter_id
                        AND (paid_at < OLD.paid_at OR (paid_at = OLD.paid_at AND id < OLD.id)));
END;
-- +goose StatementEnd


-- A supporter's first donation marks a new supporter (on its day, in its currency). Webhooks may
-- arrive out of order: a donation older than the supporter's first so far takes the mark over.

UPDATE donations_daily SET new_supporters = (
    SELECT count(*) FROM donations d
    WHERE d.paid_at - d.paid_at % 86400 = donations_daily.day AND d.currency = donations_daily.currency
      AND d.frequency = donations_daily.frequency AND d.supporter_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM donations e WHERE e.supporter_id = d.supporter_id
                      AND (e.paid_at < d.paid_at OR (e.paid_at = d.paid_at AND e.id < d.id))));

-- +goose StatementBegin
CREATE TRIGGER donations_new_supporter_linked AFTER UPDATE OF supporter_id ON donations
WHEN OLD.supporter_id IS NULL AND NEW.supporter_id IS NOT NULL BEGIN
    UPDATE donations_daily SET new_supporters = new_supporters - 1
    WHERE day = (SELECT paid_at - paid_at % 86400 FROM donations INDEXED BY donations_supporter_paid
                 WHERE supporter_id = NEW.supporter_id AND id <> NEW.id ORDER BY paid_at, id LIMIT 1)
      AND currency = (SELECT currency FROM donations INDEXED BY donations_supporter_paid
                      WHERE supporter_id = NEW.supporter_id AND id <> NEW.id ORDER BY paid_at, id LIMIT 1)
      AND frequency = (SELECT frequency FROM donations INDEXED BY donations_supporter_paid
                       WHERE supporter_id = NEW.supporter_id AND id <> NEW.id ORDER BY paid_at, id LIMIT 1)
      AND NEW.supporter_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM donations INDEXED BY donations_supporter_paid
                      WHERE supporter_id = NEW.supporter_id AND id <> NEW.id
                        AND (paid_at < NEW.paid_at OR (paid_at = NEW.paid_at AND id < NEW.id)));
    UPDATE donations_daily SET new_supporters = new_supporters + 1
    WHERE day = NEW.paid_at - NEW.paid_at % 86400 AND currency = NEW.currency AND frequency = NEW.frequency
      AND NEW.supporter_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM donations INDEXED BY donations_supporter_paid
                      WHERE supporter_id = NEW.supporter_id AND id <> NEW.id
                        AND (paid_at < NEW.paid_at OR (paid_at = NEW.paid_at AND id < NEW.id)));
END;
-- +goose StatementEnd

-- Recurring revenue over time: each subscription adds itself on the day it started and takes
-- itself away on the day it was cancelled, so the revenue live at any moment is a sum over a few
-- rows a day of history, not over every subscription. Subscriptions whose first payment never
-- went through (incomplete) never count.
CREATE TABLE subscriptions_daily (
    day           INTEGER NOT NULL,
    currency      TEXT NOT NULL,
    frequency     TEXT NOT NULL,
    subscriptions INTEGER NOT NULL DEFAULT 0, -- change in the number live
    amount        INTEGER NOT NULL DEFAULT 0, -- change in the sum of their amounts
    PRIMARY KEY (day, currency, frequency)
) STRICT, WITHOUT ROWID;

INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
SELECT day, currency, frequency, sum(n), sum(a) FROM (
    SELECT started_at - started_at % 86400 AS day, currency, frequency, 1 AS n, amount AS a FROM subscriptions
    WHERE started_at IS NOT NULL AND status NOT IN ('incomplete', 'incomplete_expired')
    UNION ALL
    SELECT canceled_at - canceled_at % 86400, currency, frequency, -1, -amount FROM subscriptions
    WHERE canceled_at IS NOT NULL AND started_at IS NOT NULL AND status NOT IN ('incomplete', 'incomplete_expired')
) GROUP BY day, currency, frequency;

-- +goose StatementBegin
CREATE TRIGGER subscriptions_rollup_insert AFTER INSERT ON subscriptions BEGIN
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT NEW.started_at - NEW.started_at % 86400, NEW.currency, NEW.frequency, 1, 1 * NEW.amount
    WHERE NEW.started_at IS NOT NULL AND NEW.started_at IS NOT NULL AND NEW.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT NEW.canceled_at - NEW.canceled_at % 86400, NEW.currency, NEW.frequency, -1, -1 * NEW.amount
    WHERE NEW.canceled_at IS NOT NULL AND NEW.started_at IS NOT NULL AND NEW.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER subscriptions_rollup_update AFTER UPDATE OF started_at, canceled_at, status, amount, currency, frequency
ON subscriptions BEGIN
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT OLD.started_at - OLD.started_at % 86400, OLD.currency, OLD.frequency, -1, -1 * OLD.amount
    WHERE OLD.started_at IS NOT NULL AND OLD.started_at IS NOT NULL AND OLD.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT OLD.canceled_at - OLD.canceled_at % 86400, OLD.currency, OLD.frequency, 1, 1 * OLD.amount
    WHERE OLD.canceled_at IS NOT NULL AND OLD.started_at IS NOT NULL AND OLD.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT NEW.started_at - NEW.started_at % 86400, NEW.currency, NEW.frequency, 1, 1 * NEW.amount
    WHERE NEW.started_at IS NOT NULL AND NEW.started_at IS NOT NULL AND NEW.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT NEW.canceled_at - NEW.canceled_at % 86400, NEW.currency, NEW.frequency, -1, -1 * NEW.amount
    WHERE NEW.canceled_at IS NOT NULL AND NEW.started_at IS NOT NULL AND NEW.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER subscriptions_rollup_delete AFTER DELETE ON subscriptions BEGIN
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT OLD.started_at - OLD.started_at % 86400, OLD.currency, OLD.frequency, -1, -1 * OLD.amount
    WHERE OLD.started_at IS NOT NULL AND OLD.started_at IS NOT NULL AND OLD.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT OLD.canceled_at - OLD.canceled_at % 86400, OLD.currency, OLD.frequency, 1, 1 * OLD.amount
    WHERE OLD.canceled_at IS NOT NULL AND OLD.started_at IS NOT NULL AND OLD.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
END;
-- +goose StatementEnd

-- Checkouts per day, article and campaign, for the funnel and the reminders' conversions.
CREATE TABLE checkouts_daily (
    day           INTEGER NOT NULL,
    article       TEXT NOT NULL,
    campaign      TEXT NOT NULL,
    checkouts     INTEGER NOT NULL DEFAULT 0,
    paid          INTEGER NOT NULL DEFAULT 0,
    reminder      INTEGER NOT NULL DEFAULT 0, -- reached from a reminder e-mail
    reminder_paid INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, article, campaign)
) STRICT, WITHOUT ROWID;

INSERT INTO checkouts_daily
SELECT created_at - created_at % 86400, article, campaign, count(*), sum(status = 'paid'), sum(source = 'reminder'),
       sum(source = 'reminder' AND status = 'paid')
FROM checkouts GROUP BY 1, 2, 3;

-- +goose StatementBegin
CREATE TRIGGER checkouts_rollup_insert AFTER INSERT ON checkouts BEGIN
    INSERT INTO checkouts_daily (day, article, campaign, checkouts, paid, reminder, reminder_paid)
    VALUES (NEW.created_at - NEW.created_at % 86400, NEW.article, NEW.campaign, 1, 1 * (NEW.status = 'paid'),
            1 * (NEW.source = 'reminder'), 1 * (NEW.source = 'reminder' AND NEW.status = 'paid'))
    ON CONFLICT (day, article, campaign) DO UPDATE SET
        checkouts = checkouts + excluded.checkouts, paid = paid + excluded.paid,
        reminder = reminder + excluded.reminder, reminder_paid = reminder_paid + excluded.reminder_paid;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER checkouts_rollup_update AFTER UPDATE OF created_at, article, campaign, status, source ON checkouts BEGIN
    INSERT INTO checkouts_daily (day, article, campaign, checkouts, paid, reminder, reminder_paid)
    VALUES (OLD.created_at - OLD.created_at % 86400, OLD.article, OLD.campaign, -1, -1 * (OLD.status = 'paid'),
            -1 * (OLD.source = 'reminder'), -1 * (OLD.source = 'reminder' AND OLD.status = 'paid'))
    ON CONFLICT (day, article, campaign) DO UPDATE SET
        checkouts = checkouts + excluded.checkouts, paid = paid + excluded.paid,
        reminder = reminder + excluded.reminder, reminder_paid = reminder_paid + excluded.reminder_paid;
    INSERT INTO checkouts_daily (day, article, campaign, checkouts, paid, reminder, reminder_paid)
    VALUES (NEW.created_at - NEW.created_at % 86400, NEW.article, NEW.campaign, 1, 1 * (NEW.status = 'paid'),
            1 * (NEW.source = 'reminder'), 1 * (NEW.source = 'reminder' AND NEW.status = 'paid'))
    ON CONFLICT (day, article, campaign) DO UPDATE SET
        checkouts = checkouts + excluded.checkouts, paid = paid + excluded.paid,
        reminder = reminder + excluded.reminder, reminder_paid = reminder_paid + excluded.reminder_paid;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER checkouts_rollup_delete AFTER DELETE ON checkouts BEGIN
    INSERT INTO checkouts_daily (day, article, campaign, checkouts, paid, reminder, reminder_paid)
    VALUES (OLD.created_at - OLD.created_at % 86400, OLD.article, OLD.campaign, -1, -1 * (OLD.status = 'paid'),
            -1 * (OLD.source = 'reminder'), -1 * (OLD.source = 'reminder' AND OLD.status = 'paid'))
    ON CONFLICT (day, article, campaign) DO UPDATE SET
        checkouts = checkouts + excluded.checkouts, paid = paid + excluded.paid,
        reminder = reminder + excluded.reminder, reminder_paid = reminder_paid + excluded.reminder_paid;
END;
-- +goose StatementEnd

-- Cancellations in a period; a moment's live subscriptions (canceled_at IS NULL, or cancelled
-- after it) when a report needs the rows themselves. (canceled_at IS NULL) plus those cancelled
-- after it; cancellations in a period.
CREATE INDEX subscriptions_life ON subscriptions (canceled_at, started_at, currency, frequency, amount, status);
CREATE INDEX deferrals_report ON deferrals (created_at, choice, reminder_status);
CREATE INDEX deferrals_email ON deferrals (email) WHERE email IS NOT NULL;
-- Failed recurring payments in a period, per currency (issue 4's invoice_attempts).
CREATE INDEX invoice_attempts_failed ON invoice_attempts (failed_at, currency, stripe_invoice_id);

-- +goose Down
DROP TRIGGER checkouts_rollup_delete;
DROP TRIGGER checkouts_rollup_update;
DROP TRIGGER checkouts_rollup_insert;
DROP TABLE checkouts_daily;
DROP TRIGGER subscriptions_rollup_delete;
DROP TRIGGER subscriptions_rollup_update;
DROP TRIGGER subscriptions_rollup_insert;
DROP TABLE subscriptions_daily;
DROP TRIGGER donations_new_supporter_linked;
DROP INDEX donations_supporter_paid;
DROP TRIGGER donations_rollup_delete;
DROP TRIGGER donations_rollup_update;
DROP TRIGGER donations_rollup_insert;
DROP TABLE donations_sources;
DROP TABLE donations_daily;
DROP INDEX invoice_attempts_failed;
DROP INDEX deferrals_email;
DROP INDEX deferrals_report;
DROP INDEX subscriptions_life;
DROP TABLE audit_log;
DROP TABLE login_attempts;
DROP TABLE staff_sessions;
DROP TABLE staff;
