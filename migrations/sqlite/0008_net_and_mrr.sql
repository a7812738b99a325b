-- Net money in leaves out lost disputes, and MRR leaves out subscriptions that stopped paying.
--
-- donations_daily and donations_sources gain `lost`: what a donation whose dispute was lost had
-- left after refunds (Stripe took it back), so the dashboard's net is gross - refunded - lost, as
-- the supporters export's. Separate triggers keep it, beside migration 0005's.
--
-- subscriptions gain `lapsed_at`: when the subscription moved into unpaid or paused (set by a
-- trigger, cleared when it comes back). The subscriptions_daily rollup ends a subscription at
-- coalesce(canceled_at, lapsed_at) instead of canceled_at; 0005's triggers are replaced for that.

-- +goose Up
ALTER TABLE donations_daily ADD COLUMN lost INTEGER NOT NULL DEFAULT 0;
ALTER TABLE donations_sources ADD COLUMN lost INTEGER NOT NULL DEFAULT 0;

INSERT INTO donations_daily (day, currency, frequency, lost)
SELECT paid_at - paid_at % 86400, currency, frequency, sum(amount - amount_refunded)
FROM donations WHERE dispute_status = 'lost' GROUP BY 1, 2, 3
ON CONFLICT (day, currency, frequency) DO UPDATE SET lost = excluded.lost;

INSERT INTO donations_sources (day, article, campaign, currency, lost)
SELECT paid_at - paid_at % 86400, article, campaign, currency, sum(amount - amount_refunded)
FROM donations WHERE dispute_status = 'lost' GROUP BY 1, 2, 3, 4
ON CONFLICT (day, article, campaign, currency) DO UPDATE SET lost = excluded.lost;

-- +goose StatementBegin
CREATE TRIGGER donations_lost_insert AFTER INSERT ON donations WHEN NEW.dispute_status = 'lost' BEGIN
    INSERT INTO donations_daily (day, currency, frequency, lost)
    VALUES (NEW.paid_at - NEW.paid_at % 86400, NEW.currency, NEW.frequency, NEW.amount - NEW.amount_refunded)
    ON CONFLICT (day, currency, frequency) DO UPDATE SET lost = lost + excluded.lost;
    INSERT INTO donations_sources (day, article, campaign, currency, lost)
    VALUES (NEW.paid_at - NEW.paid_at % 86400, NEW.article, NEW.campaign, NEW.currency, NEW.amount - NEW.amount_refunded)
    ON CONFLICT (day, article, campaign, currency) DO UPDATE SET lost = lost + excluded.lost;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER donations_lost_update AFTER UPDATE OF paid_at, currency, frequency, article, campaign, amount,
        amount_refunded, dispute_status ON donations
WHEN OLD.dispute_status IS 'lost' OR NEW.dispute_status IS 'lost' BEGIN
    INSERT INTO donations_daily (day, currency, frequency, lost)
    SELECT OLD.paid_at - OLD.paid_at % 86400, OLD.currency, OLD.frequency, -(OLD.amount - OLD.amount_refunded)
    WHERE OLD.dispute_status IS 'lost'
    ON CONFLICT (day, currency, frequency) DO UPDATE SET lost = lost + excluded.lost;
    INSERT INTO donations_sources (day, article, campaign, currency, lost)
    SELECT OLD.paid_at - OLD.paid_at % 86400, OLD.article, OLD.campaign, OLD.currency, -(OLD.amount - OLD.amount_refunded)
    WHERE OLD.dispute_status IS 'lost'
    ON CONFLICT (day, article, campaign, currency) DO UPDATE SET lost = lost + excluded.lost;
    INSERT INTO donations_daily (day, currency, frequency, lost)
    SELECT NEW.paid_at - NEW.paid_at % 86400, NEW.currency, NEW.frequency, NEW.amount - NEW.amount_refunded
    WHERE NEW.dispute_status IS 'lost'
    ON CONFLICT (day, currency, frequency) DO UPDATE SET lost = lost + excluded.lost;
    INSERT INTO donations_sources (day, article, campaign, currency, lost)
    SELECT NEW.paid_at - NEW.paid_at % 86400, NEW.article, NEW.campaign, NEW.currency, NEW.amount - NEW.amount_refunded
    WHERE NEW.dispute_status IS 'lost'
    ON CONFLICT (day, article, campaign, currency) DO UPDATE SET lost = lost + excluded.lost;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER donations_lost_delete AFTER DELETE ON donations WHEN OLD.dispute_status = 'lost' BEGIN
    UPDATE donations_daily SET lost = lost - (OLD.amount - OLD.amount_refunded)
    WHERE day = OLD.paid_at - OLD.paid_at % 86400 AND currency = OLD.currency AND frequency = OLD.frequency;
    UPDATE donations_sources SET lost = lost - (OLD.amount - OLD.amount_refunded)
    WHERE day = OLD.paid_at - OLD.paid_at % 86400 AND article = OLD.article AND campaign = OLD.campaign AND currency = OLD.currency;
END;
-- +goose StatementEnd

ALTER TABLE subscriptions ADD COLUMN lapsed_at INTEGER;

-- Subscriptions already unpaid or paused lapsed when last updated (not before they started).
UPDATE subscriptions SET lapsed_at = max(coalesce(started_at, 0), updated_at)
WHERE status IN ('unpaid', 'paused') AND canceled_at IS NULL;

-- +goose StatementBegin
CREATE TRIGGER subscriptions_lapse_insert AFTER INSERT ON subscriptions
WHEN NEW.status IN ('unpaid', 'paused') AND NEW.lapsed_at IS NULL BEGIN
    UPDATE subscriptions SET lapsed_at = max(coalesce(NEW.started_at, 0), NEW.updated_at) WHERE id = NEW.id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER subscriptions_lapse_update AFTER UPDATE OF status ON subscriptions
WHEN (NEW.status IN ('unpaid', 'paused')) IS NOT (OLD.status IN ('unpaid', 'paused')) BEGIN
    UPDATE subscriptions SET lapsed_at = CASE WHEN NEW.status IN ('unpaid', 'paused')
        THEN max(coalesce(NEW.started_at, 0), NEW.updated_at) END
    WHERE id = NEW.id;
END;
-- +goose StatementEnd

DROP TRIGGER subscriptions_rollup_insert;
DROP TRIGGER subscriptions_rollup_update;
DROP TRIGGER subscriptions_rollup_delete;

-- Rebuild the rollup with the new end.
DELETE FROM subscriptions_daily;
INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
SELECT day, currency, frequency, sum(n), sum(a) FROM (
    SELECT started_at - started_at % 86400 AS day, currency, frequency, 1 AS n, amount AS a FROM subscriptions
    WHERE started_at IS NOT NULL AND status NOT IN ('incomplete', 'incomplete_expired')
    UNION ALL
    SELECT coalesce(canceled_at, lapsed_at) - coalesce(canceled_at, lapsed_at) % 86400, currency, frequency, -1, -amount
    FROM subscriptions
    WHERE coalesce(canceled_at, lapsed_at) IS NOT NULL AND started_at IS NOT NULL AND status NOT IN ('incomplete', 'incomplete_expired')
) GROUP BY day, currency, frequency;

-- +goose StatementBegin
CREATE TRIGGER subscriptions_rollup_insert AFTER INSERT ON subscriptions BEGIN
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT NEW.started_at - NEW.started_at % 86400, NEW.currency, NEW.frequency, 1, 1 * NEW.amount
    WHERE NEW.started_at IS NOT NULL AND NEW.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT coalesce(NEW.canceled_at, NEW.lapsed_at) - coalesce(NEW.canceled_at, NEW.lapsed_at) % 86400, NEW.currency, NEW.frequency, -1, -1 * NEW.amount
    WHERE coalesce(NEW.canceled_at, NEW.lapsed_at) IS NOT NULL AND NEW.started_at IS NOT NULL AND NEW.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER subscriptions_rollup_update AFTER UPDATE OF started_at, canceled_at, lapsed_at, status, amount, currency, frequency
ON subscriptions BEGIN
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT OLD.started_at - OLD.started_at % 86400, OLD.currency, OLD.frequency, -1, -1 * OLD.amount
    WHERE OLD.started_at IS NOT NULL AND OLD.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT coalesce(OLD.canceled_at, OLD.lapsed_at) - coalesce(OLD.canceled_at, OLD.lapsed_at) % 86400, OLD.currency, OLD.frequency, 1, 1 * OLD.amount
    WHERE coalesce(OLD.canceled_at, OLD.lapsed_at) IS NOT NULL AND OLD.started_at IS NOT NULL AND OLD.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT NEW.started_at - NEW.started_at % 86400, NEW.currency, NEW.frequency, 1, 1 * NEW.amount
    WHERE NEW.started_at IS NOT NULL AND NEW.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT coalesce(NEW.canceled_at, NEW.lapsed_at) - coalesce(NEW.canceled_at, NEW.lapsed_at) % 86400, NEW.currency, NEW.frequency, -1, -1 * NEW.amount
    WHERE coalesce(NEW.canceled_at, NEW.lapsed_at) IS NOT NULL AND NEW.started_at IS NOT NULL AND NEW.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER subscriptions_rollup_delete AFTER DELETE ON subscriptions BEGIN
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT OLD.started_at - OLD.started_at % 86400, OLD.currency, OLD.frequency, -1, -1 * OLD.amount
    WHERE OLD.started_at IS NOT NULL AND OLD.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT coalesce(OLD.canceled_at, OLD.lapsed_at) - coalesce(OLD.canceled_at, OLD.lapsed_at) % 86400, OLD.currency, OLD.frequency, 1, 1 * OLD.amount
    WHERE coalesce(OLD.canceled_at, OLD.lapsed_at) IS NOT NULL AND OLD.started_at IS NOT NULL AND OLD.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER subscriptions_rollup_insert;
DROP TRIGGER subscriptions_rollup_update;
DROP TRIGGER subscriptions_rollup_delete;
DROP TRIGGER subscriptions_lapse_insert;
DROP TRIGGER subscriptions_lapse_update;
DELETE FROM subscriptions_daily;
INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
SELECT day, currency, frequency, sum(n), sum(a) FROM (
    SELECT started_at - started_at % 86400 AS day, currency, frequency, 1 AS n, amount AS a FROM subscriptions
    WHERE started_at IS NOT NULL AND status NOT IN ('incomplete', 'incomplete_expired')
    UNION ALL
    SELECT canceled_at - canceled_at % 86400, currency, frequency, -1, -amount FROM subscriptions
    WHERE canceled_at IS NOT NULL AND started_at IS NOT NULL AND status NOT IN ('incomplete', 'incomplete_expired')
) GROUP BY day, currency, frequency;
ALTER TABLE subscriptions DROP COLUMN lapsed_at;
-- +goose StatementBegin
CREATE TRIGGER subscriptions_rollup_insert AFTER INSERT ON subscriptions BEGIN
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT NEW.started_at - NEW.started_at % 86400, NEW.currency, NEW.frequency, 1, 1 * NEW.amount
    WHERE NEW.started_at IS NOT NULL AND NEW.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT NEW.canceled_at - NEW.canceled_at % 86400, NEW.currency, NEW.frequency, -1, -1 * NEW.amount
    WHERE NEW.canceled_at IS NOT NULL AND NEW.started_at IS NOT NULL AND NEW.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER subscriptions_rollup_update AFTER UPDATE OF started_at, canceled_at, status, amount, currency, frequency
ON subscriptions BEGIN
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT OLD.started_at - OLD.started_at % 86400, OLD.currency, OLD.frequency, -1, -1 * OLD.amount
    WHERE OLD.started_at IS NOT NULL AND OLD.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT OLD.canceled_at - OLD.canceled_at % 86400, OLD.currency, OLD.frequency, 1, 1 * OLD.amount
    WHERE OLD.canceled_at IS NOT NULL AND OLD.started_at IS NOT NULL AND OLD.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT NEW.started_at - NEW.started_at % 86400, NEW.currency, NEW.frequency, 1, 1 * NEW.amount
    WHERE NEW.started_at IS NOT NULL AND NEW.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT NEW.canceled_at - NEW.canceled_at % 86400, NEW.currency, NEW.frequency, -1, -1 * NEW.amount
    WHERE NEW.canceled_at IS NOT NULL AND NEW.started_at IS NOT NULL AND NEW.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER subscriptions_rollup_delete AFTER DELETE ON subscriptions BEGIN
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT OLD.started_at - OLD.started_at % 86400, OLD.currency, OLD.frequency, -1, -1 * OLD.amount
    WHERE OLD.started_at IS NOT NULL AND OLD.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
    INSERT INTO subscriptions_daily (day, currency, frequency, subscriptions, amount)
    SELECT OLD.canceled_at - OLD.canceled_at % 86400, OLD.currency, OLD.frequency, 1, 1 * OLD.amount
    WHERE OLD.canceled_at IS NOT NULL AND OLD.started_at IS NOT NULL AND OLD.status NOT IN ('incomplete', 'incomplete_expired')
    ON CONFLICT (day, currency, frequency) DO UPDATE SET
        subscriptions = subscriptions + excluded.subscriptions, amount = amount + excluded.amount;
END;
-- +goose StatementEnd
DROP TRIGGER donations_lost_delete;
DROP TRIGGER donations_lost_update;
DROP TRIGGER donations_lost_insert;
ALTER TABLE donations_sources DROP COLUMN lost;
ALTER TABLE donations_daily DROP COLUMN lost;
