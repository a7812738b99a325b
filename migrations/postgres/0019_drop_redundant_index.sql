-- donations_supporter (supporter_id) is a prefix of donations_supporter_paid (supporter_id,
-- paid_at, id, currency, frequency), which serves every lookup it served, the foreign key's
-- among them. Keeping both cost every recorded gift one more index write.

-- +goose Up
DROP INDEX donations_supporter;

-- +goose Down
CREATE INDEX donations_supporter ON donations (supporter_id);
