-- "Manage my support": the ids of single-use /manage links already followed. A row is kept until
-- its link would have expired anyway, then pruned.

-- +goose Up
CREATE TABLE manage_tokens_used (
    id         TEXT PRIMARY KEY,
    used_at    INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX manage_tokens_used_expires ON manage_tokens_used (expires_at);

-- +goose Down
DROP TABLE manage_tokens_used;
