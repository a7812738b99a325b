-- Experiments (issue 16): the arm each checkout was made in, and prompt views and Continue clicks
-- per arm and UTC day, counted in memory and flushed in batches beside prompt_stats. Staff's
-- decisions (stopped, promoted) and a copy of each experiment's definition live in settings
-- (keys experiment.state.NAME and experiment.definition.NAME), so results outlive the
-- configuration. (0011 is taken by two branches in flight, 0012 kept for whichever renumbers.)

-- +goose Up
ALTER TABLE checkouts ADD COLUMN experiment TEXT NOT NULL DEFAULT '';
ALTER TABLE checkouts ADD COLUMN variant TEXT NOT NULL DEFAULT '';
CREATE INDEX checkouts_experiment ON checkouts (experiment, variant) WHERE experiment <> '';
-- An experiment's results read each of its checkouts' payments.
CREATE INDEX donations_checkout ON donations (checkout_id);

CREATE TABLE experiment_stats (
    experiment TEXT NOT NULL,
    variant    TEXT NOT NULL, -- a variant's name, or 'holdback' (views: the prompts not shown)
    day        INTEGER NOT NULL, -- Unix seconds of the UTC day's start
    views      INTEGER NOT NULL DEFAULT 0,
    clicks     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (experiment, variant, day)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE experiment_stats;
DROP INDEX donations_checkout;
DROP INDEX checkouts_experiment;
ALTER TABLE checkouts DROP COLUMN variant;
ALTER TABLE checkouts DROP COLUMN experiment;
