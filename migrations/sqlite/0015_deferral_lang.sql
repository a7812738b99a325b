-- The language a reader asked "Remind me later" in: the reminder e-mail is written in it. Rows
-- from before this migration have '' and get the service's default language.

-- +goose Up
ALTER TABLE deferrals ADD COLUMN lang TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE deferrals DROP COLUMN lang;
