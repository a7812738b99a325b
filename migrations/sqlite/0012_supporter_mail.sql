-- E-mails that keep supporters (issue 14): thank-you on a first gift, failed-payment recovery,
-- annual renewal notices and year-end statements.
--
-- `supporter_mail` is the outbox: a row is enqueued in the same transaction as the ledger fact
-- that calls for it (a first gift, a failed renewal, an upcoming annual renewal) or by a command
-- (statements), keyed so that one fact can never make two rows (`key` is unique: thanks:SUPPORTER,
-- recovery:INVOICE, renewal:SUBSCRIPTION:DAY, statement:SUPPORTER:YEAR). A sender claims due rows
-- as the reminders do (claim_token, claimed_at), decides from the stored state at that moment
-- whether the e-mail is still wanted (a paid invoice cancels its recovery e-mail), sends, and marks
-- the row sent. `link_opened_at` is when the supporter first used a link of the e-mail.
--
-- `mail_unsubscribes` holds one row per supporter and kind they unsubscribed from.

-- +goose Up
CREATE TABLE supporter_mail (
    id                 INTEGER PRIMARY KEY,
    kind               TEXT NOT NULL,             -- thanks, recovery, renewal, statement
    key                TEXT NOT NULL UNIQUE,
    supporter_id       INTEGER,
    stripe_customer_id TEXT NOT NULL DEFAULT '',
    ref                TEXT NOT NULL DEFAULT '',  -- the invoice (recovery) or subscription (renewal)
    amount             INTEGER NOT NULL DEFAULT 0,
    currency           TEXT NOT NULL DEFAULT '',
    due_at             INTEGER,                   -- the renewal's date
    year               INTEGER NOT NULL DEFAULT 0,
    lang               TEXT NOT NULL DEFAULT 'en',
    status             TEXT NOT NULL DEFAULT 'pending', -- pending, claimed, sent, cancelled, unsubscribed, given_up, skipped
    reason             TEXT NOT NULL DEFAULT '',  -- why a row was cancelled
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    INTEGER,
    claim_token        TEXT,
    claimed_at         INTEGER,
    sent_at            INTEGER,
    link_opened_at     INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;
CREATE INDEX supporter_mail_due ON supporter_mail (next_attempt_at) WHERE status = 'pending';
CREATE INDEX supporter_mail_claimed ON supporter_mail (claimed_at) WHERE status = 'claimed';
CREATE INDEX supporter_mail_supporter ON supporter_mail (supporter_id);
CREATE INDEX supporter_mail_ref ON supporter_mail (ref, kind);

CREATE TABLE mail_unsubscribes (
    supporter_id INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    at           INTEGER NOT NULL,
    PRIMARY KEY (supporter_id, kind)
) STRICT, WITHOUT ROWID;

-- Supporters who gave before this feature have had their first gift: they get no thank-you now.
INSERT INTO supporter_mail (kind, key, supporter_id, status, reason, created_at, updated_at)
SELECT 'thanks', 'thanks:' || s.id, s.id, 'skipped', 'gave before thank-you e-mails', CAST(strftime('%s', 'now') AS INTEGER),
       CAST(strftime('%s', 'now') AS INTEGER)
FROM supporters s WHERE EXISTS (SELECT 1 FROM donations d WHERE d.supporter_id = s.id);

-- +goose Down
DROP TABLE mail_unsubscribes;
DROP TABLE supporter_mail;
