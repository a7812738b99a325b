-- Failed payments open and recovered, without a look into donations per invoice: each failed
-- attempt carries when its invoice was paid (NULL while unpaid), kept by the store beside the
-- invoice's donation and by the ledger's rebuild. The dashboard reads both figures from one
-- covering index of the attempts.

-- +goose Up
ALTER TABLE invoice_attempts ADD COLUMN paid_at INTEGER;
DROP INDEX invoice_attempts_open;
CREATE INDEX invoice_attempts_open ON invoice_attempts
    (failed_at, stripe_invoice_id, stripe_subscription_id, currency, amount, next_attempt_at, paid_at);
DROP INDEX invoice_attempts_failed;
CREATE INDEX invoice_attempts_failed ON invoice_attempts (failed_at, currency, stripe_invoice_id, paid_at);
DELETE FROM settings WHERE key = 'ledger_version';
