-- Supporter e-mails in the reader's language, and a newsletter opt-in (issue 14).
--
-- `checkouts.lang` is the language the donation form was rendered in (its catalogue's code:
-- "en", "ru"); a supporter e-mail takes the language of the checkout its gift came from. Rows
-- from before this migration have '' (the default language).
--
-- `newsletter_consents` records a reader's opt-in to the newsroom's newsletter, from the thank-you
-- page or the thank-you e-mail's link: when, and the exact wording the reader was shown beside the
-- checkbox (in the language it was shown in). `checkout_id` is the gift the thank-you page was
-- about (the supporter may not be known yet when the reader ticks the box: the webhook can come
-- later); `supporter_id` is set when known. A data request reports these rows and an erasure
-- deletes them.

-- +goose Up
ALTER TABLE checkouts ADD COLUMN lang TEXT NOT NULL DEFAULT '';

CREATE TABLE newsletter_consents (
    id           INTEGER PRIMARY KEY,
    supporter_id INTEGER,
    checkout_id  TEXT,
    source       TEXT NOT NULL,   -- thanks_page or thanks_email
    wording      TEXT NOT NULL,   -- exactly what the checkbox said
    lang         TEXT NOT NULL DEFAULT '',
    consented_at INTEGER NOT NULL
) STRICT;
CREATE INDEX newsletter_consents_supporter ON newsletter_consents (supporter_id);
CREATE INDEX newsletter_consents_checkout ON newsletter_consents (checkout_id);

-- +goose Down
DROP TABLE newsletter_consents;
ALTER TABLE checkouts DROP COLUMN lang;
