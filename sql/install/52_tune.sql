-- Hyperparameter tuning (docs/tuning.md): shelfops_tune and the trials it scores.

CREATE TABLE shelfops.tuning_trials (
    tenant_id     shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    tuning_id     uuid NOT NULL,            -- = model_experiments.experiment_id of the search
    trial         integer NOT NULL CHECK (trial >= 0),  -- 0: the defaults (with the search's fixed values)
    model_name    shelfops.ident NOT NULL,
    dataset_id    shelfops.ident NOT NULL,
    params        jsonb NOT NULL,           -- every effective parameter
    sampled       jsonb NOT NULL,           -- the searched keys' drawn values ({} for trial 0)
    status        text NOT NULL CHECK (status IN ('winner', 'finalist', 'discarded')),
    rung          integer NOT NULL CHECK (rung >= 0),   -- last successive-halving rung reached
    metric        text NOT NULL,
    score         float8,                   -- mean metric over the folds of that rung (NULL: not computable)
    fold_metrics  jsonb NOT NULL,           -- one element per (rung, fold): windows, rows, rounds, seconds, metrics
    rounds        bigint NOT NULL,          -- boosting rounds over every fit of the trial
    seconds       float8 NOT NULL,          -- fitting and scoring time over every fit
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, tuning_id, trial)
);
COMMENT ON TABLE shelfops.tuning_trials IS
  'Every configuration shelfops_tune scored: parameters, per-fold metrics, rounds, seconds';
CREATE INDEX tuning_trials_model ON shelfops.tuning_trials (tenant_id, model_name, created_at);
SELECT pg_catalog.pg_extension_config_dump('shelfops.tuning_trials', '');

CREATE FUNCTION shelfops_tune(dataset_id text,
                              model_name text,
                              search jsonb,
                              budget integer DEFAULT 20,
                              folds integer DEFAULT 3,
                              horizon integer DEFAULT NULL,
                              metric text DEFAULT 'wape',
                              seed integer DEFAULT 42,
                              tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_tune';
COMMENT ON FUNCTION shelfops_tune(text, text, jsonb, integer, integer, integer, text, integer, text) IS
  'Search XGBoost parameters by successive halving on rolling-origin folds before the holdout; trains the winner as a candidate';
