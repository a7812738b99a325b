-- Supporters are looked up by e-mail without regard to case: /manage (FindSupportAccount) and the
-- webhook's match of a gift without a Stripe customer (upsertSupporter) both compare
-- `email = ? COLLATE NOCASE`, which the binary supporters_email index cannot serve.

-- +goose Up
CREATE INDEX supporters_email_nocase ON supporters (email COLLATE NOCASE);

-- +goose Down
DROP INDEX supporters_email_nocase;
