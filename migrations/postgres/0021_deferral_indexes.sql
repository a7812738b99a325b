-- A "Remind me later" click without an address (most of them) wrote five B-trees: the table, its
-- reader_id key, deferrals_due (reminder_status, next_attempt_at), deferrals_created_at and
-- deferrals_report. Two of those served no such row:
-- - deferrals_created_at (created_at) is a prefix of deferrals_report (created_at, choice,
--   reminder_status), which serves every range of created_at it served;
-- - deferrals_due is read only for the reminders waiting (the senders' claim: reminder_status =
--   'pending' by next_attempt_at) and those claimed (a crashed sender's: reminder_status =
--   'claimed' by claimed_at), as supporter_mail's partial indexes are. Partial indexes on those
--   two states serve both reads, and rows without a reminder are in neither.

-- +goose Up
DROP INDEX deferrals_created_at;
DROP INDEX deferrals_due;
CREATE INDEX deferrals_due ON deferrals (next_attempt_at) WHERE reminder_status = 'pending';
CREATE INDEX deferrals_claimed ON deferrals (claimed_at) WHERE reminder_status = 'claimed';

-- +goose Down
DROP INDEX deferrals_claimed;
DROP INDEX deferrals_due;
CREATE INDEX deferrals_due ON deferrals (reminder_status, next_attempt_at);
CREATE INDEX deferrals_created_at ON deferrals (created_at);
