-- Nothing to do on SQLite: this number changes PostgreSQL's row-numbering trigger
-- (migrations/postgres/0020_rowid_per_table.sql), which SQLite's rowid needs no counterpart of.
-- The file keeps both engines at the same schema version.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
