-- The supporters list filtered by subscription status or frequency is driven from subscriptions:
-- these indexes list the supporter ids of one status (or frequency) in order, without touching the
-- table, so a rare status no longer means walking the whole supporters table.

-- +goose Up
CREATE INDEX subscriptions_status_supporter ON subscriptions (status, supporter_id);
CREATE INDEX subscriptions_frequency_supporter ON subscriptions (frequency, supporter_id);

-- +goose Down
DROP INDEX subscriptions_frequency_supporter;
DROP INDEX subscriptions_status_supporter;
