-- Readers' addresses may be stored sealed (encrypted, issue 13), so look-ups compare a key of the
-- address instead: its keyed hash with a data key, the normalised address without one (what
-- supporters.email_key already holds). Reminder requests gain that key, and "one reminder waiting
-- per address" (0011) holds on it rather than on the address itself.

-- +goose Up
ALTER TABLE deferrals ADD COLUMN email_key TEXT;
UPDATE deferrals SET email_key = lower(trim(email)) WHERE email IS NOT NULL;
DROP INDEX deferrals_one_reminder;
CREATE UNIQUE INDEX deferrals_one_reminder ON deferrals (email_key)
WHERE reminder_status IN ('pending', 'claimed') AND email_key IS NOT NULL;
CREATE INDEX deferrals_email_key ON deferrals (email_key) WHERE email_key IS NOT NULL;

-- +goose Down
DROP INDEX deferrals_email_key;
DROP INDEX deferrals_one_reminder;
CREATE UNIQUE INDEX deferrals_one_reminder ON deferrals (email COLLATE NOCASE)
WHERE reminder_status IN ('pending', 'claimed') AND email IS NOT NULL;
ALTER TABLE deferrals DROP COLUMN email_key;
