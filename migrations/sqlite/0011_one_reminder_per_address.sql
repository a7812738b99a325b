-- "Remind me later" let anyone have the newsroom e-mail any address, once per request (issue 13,
-- finding c). An address now has at most one reminder waiting (pending, or claimed by a sender):
-- a new request replaces the old one, which keeps its deferral but loses the address. Earlier
-- duplicates are resolved the same way, the latest request winning.

-- +goose Up
UPDATE deferrals SET reminder_status = 'none', email = NULL, next_attempt_at = NULL, claim_token = NULL,
       claimed_at = NULL
WHERE reminder_status IN ('pending', 'claimed') AND email IS NOT NULL
  AND EXISTS (SELECT 1 FROM deferrals newer
              WHERE newer.email = deferrals.email COLLATE NOCASE
                AND newer.reminder_status IN ('pending', 'claimed')
                AND (newer.updated_at > deferrals.updated_at
                     OR newer.updated_at = deferrals.updated_at AND newer.id > deferrals.id));
CREATE UNIQUE INDEX deferrals_one_reminder ON deferrals (email COLLATE NOCASE)
WHERE reminder_status IN ('pending', 'claimed') AND email IS NOT NULL;

-- +goose Down
DROP INDEX deferrals_one_reminder;
