-- Schema: every table shelfops keeps, with its vocabulary checks.
--
-- Conventions that hold for every table here (and that the pgTAP suite checks):
--  * tenant_id text NOT NULL leads every primary key, unique constraint and
--    foreign key, so the schema can be distributed by tenant (Citus) unchanged;
--  * no global counters for anything users see: model versions come from a
--    per-(tenant, model) counter row (shelfops.model_version_counters);
--  * every status column has a CHECK on its vocabulary;
--  * row-level security is enabled and FORCE'd on every table (see 90_security.sql).

-- The tenant a session acts for: the setting shelfops.tenant_id, 'public' when unset.
CREATE FUNCTION shelfops.current_tenant() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT coalesce(nullif(current_setting('shelfops.tenant_id', true), ''), 'public') $$;
COMMENT ON FUNCTION shelfops.current_tenant() IS
  'Tenant of the current session: setting shelfops.tenant_id, or ''public'' when unset';

-- Identifiers users choose (tenant, dataset, model, store and product ids are data
-- and stay free text).  Refusing control characters and quotes here means no
-- identifier can ever break a file name, a log line or a generated document.
CREATE DOMAIN shelfops.ident AS text
  CONSTRAINT ident_format CHECK (VALUE ~ '^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$');
COMMENT ON DOMAIN shelfops.ident IS
  'Tenant, dataset and model identifiers: 1-128 of A-Z a-z 0-9 _ . : @ -, starting with a letter or digit';

------------------------------------------------------------------------------
-- Datasets and the canonical sales contract
------------------------------------------------------------------------------

CREATE TABLE shelfops.datasets (
    tenant_id        shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    dataset_id       shelfops.ident NOT NULL,
    family           text NOT NULL
                     CHECK (family IN ('rossmann', 'walmart', 'favorita', 'seed', 'synthetic', 'contract', 'generic')),
    frequency        text NOT NULL CHECK (frequency IN ('daily', 'weekly')),
    country_code     text NOT NULL DEFAULT 'unknown',
    grain            text NOT NULL,                 -- e.g. 'store x product x day'
    target_unit      text NOT NULL DEFAULT 'units' CHECK (target_unit IN ('units', 'currency')),
    source_path      text,
    source_files     jsonb NOT NULL DEFAULT '[]',   -- [{name, size, sha256}]
    row_count        bigint NOT NULL DEFAULT 0 CHECK (row_count >= 0),
    store_count      integer NOT NULL DEFAULT 0,
    product_count    integer NOT NULL DEFAULT 0,
    series_count     integer NOT NULL DEFAULT 0,
    date_min         date,
    date_max         date,
    load_report      jsonb NOT NULL DEFAULT '{}',   -- rows read, kept, rejected by reason
    readiness        text NOT NULL DEFAULT 'pending'
                     CHECK (readiness IN ('pending', 'ready', 'limited', 'blocked', 'invalid')),
    readiness_reason text,
    validation       jsonb,                         -- last shelfops_validate_dataset result
    validated_at     timestamptz,
    contract         jsonb,                         -- tenant contract profile, when one was used
    loaded_by        text NOT NULL DEFAULT current_user,
    loaded_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, dataset_id),
    CHECK (date_min IS NULL OR date_max IS NULL OR date_min <= date_max)
);
COMMENT ON TABLE shelfops.datasets IS
  'One row per loaded dataset: family, calendar, source files with sha256, counts, readiness';

-- The canonical contract: one row per (tenant, dataset, store, product, period) at
-- the dataset's grain.  quantity is signed (returns stay negative); NULL means
-- "not known", never "zero".
-- Identifier columns use the C collation: they are codes, compared byte-wise, which
-- keeps the primary key cheap to maintain during bulk loads.  tenant_id and
-- dataset_id are checked as shelfops.ident through each partition's foreign key to datasets.
CREATE TABLE shelfops.sales (
    tenant_id          text COLLATE "C" NOT NULL DEFAULT shelfops.current_tenant(),
    dataset_id         text COLLATE "C" NOT NULL,
    store_id           text COLLATE "C" NOT NULL,
    product_id         text COLLATE "C" NOT NULL,
    sale_date          date NOT NULL,
    quantity           float8 NOT NULL CHECK (quantity NOT IN ('NaN', 'Infinity', '-Infinity')),
    category           text,
    promo_count        float8 CHECK (promo_count >= 0),
    is_promotional     boolean NOT NULL DEFAULT false,
    is_holiday         boolean NOT NULL DEFAULT false,
    holiday_type       text,                        -- Rossmann StateHoliday a/b/c, Favorita holiday type
    is_school_holiday  boolean,
    is_open            boolean,
    unit_cost          float8 CHECK (unit_cost >= 0),
    unit_price         float8 CHECK (unit_price >= 0),
    customers          integer,                     -- Rossmann: known only after the fact, never a feature
    returns_adjustment float8,                      -- Walmart: min(net sales, 0)
    is_return_week     boolean
) PARTITION BY RANGE (tenant_id COLLATE "C", dataset_id COLLATE "C");
COMMENT ON TABLE shelfops.sales IS
  'Canonical sales contract: one row per tenant, dataset, store, product and period';

-- Storage (src/sales_writer.c): every bulk load writes one dataset into a table of
-- its own without indexes, builds the primary key in one sorted pass, and attaches
-- it as the partition FOR VALUES FROM (tenant, dataset) TO (tenant, dataset || chr(1)),
-- which holds exactly that (tenant, dataset).  Those partitions are made at run
-- time, owned by the extension's owner, with no grants and forced row-level
-- security; they are not members of the extension, so pg_dump dumps them whole.
-- Rows written by plain INSERT for a dataset that has no partition of its own land
-- here.
--
-- The primary key and the foreign key to shelfops.datasets are declared on every
-- partition, not on the parent: a (tenant, dataset) lives in exactly one partition, so
-- the partitions' keys together make (tenant_id, dataset_id, store_id, product_id,
-- sale_date) unique over the whole table.  This default partition keys on all five
-- columns; a dataset's own partition (src/sales_writer.c) keys on (store_id,
-- product_id, sale_date) only, since its bounds CHECK fixes tenant and dataset (a
-- smaller, faster key build).  A restore runs CREATE
-- EXTENSION (which would recreate keys declared on the parent) before it attaches
-- the dumped partitions, and ATTACH copies the parent's keys onto each partition:
--  * a parent primary key made the dump's own ADD CONSTRAINT of each partition's
--    key fail ("multiple primary keys");
--  * a parent foreign key was active while the partitions' rows were copied in, so
--    a parallel pg_restore (-j) that copied a partition before shelfops.datasets
--    lost its rows to foreign key violations.
-- With the keys on the partitions, pg_dump adds them after all data, as for any
-- table (test/tap/09_dump_restore.sh restores serially and with -j 2).
CREATE TABLE shelfops.sales_default PARTITION OF shelfops.sales (
    PRIMARY KEY (tenant_id, dataset_id, store_id, product_id, sale_date),
    FOREIGN KEY (tenant_id, dataset_id) REFERENCES shelfops.datasets (tenant_id, dataset_id) ON DELETE CASCADE
) DEFAULT;
COMMENT ON TABLE shelfops.sales_default IS
  'Sales rows of datasets without a partition of their own (rows inserted by SQL, not by a loader)';

------------------------------------------------------------------------------
-- Models and their lifecycle
------------------------------------------------------------------------------

CREATE TABLE shelfops.model_version_counters (
    tenant_id    shelfops.ident NOT NULL,
    model_name   shelfops.ident NOT NULL,
    last_version integer NOT NULL CHECK (last_version >= 0),
    PRIMARY KEY (tenant_id, model_name)
);
COMMENT ON TABLE shelfops.model_version_counters IS
  'Per-(tenant, model) version counter: versions are never allocated globally';

-- Allocate the next version number of (tenant, model).  The row lock taken by the
-- upsert serializes concurrent allocations of one model and nothing else.
CREATE FUNCTION shelfops.allocate_version(p_tenant text, p_model text) RETURNS integer
LANGUAGE sql VOLATILE
AS $$
    INSERT INTO shelfops.model_version_counters AS c (tenant_id, model_name, last_version)
    VALUES (p_tenant, p_model, 1)
    ON CONFLICT (tenant_id, model_name) DO UPDATE SET last_version = c.last_version + 1
    RETURNING last_version
$$;

CREATE TABLE shelfops.model_versions (
    tenant_id         shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    model_name        shelfops.ident NOT NULL,
    version           integer NOT NULL CHECK (version > 0),
    status            text NOT NULL DEFAULT 'candidate'
                      CHECK (status IN ('candidate', 'challenger', 'champion', 'archived', 'failed', 'shadow')),
    algorithm         text NOT NULL,
    dataset_id        shelfops.ident NOT NULL,
    frequency         text CHECK (frequency IN ('daily', 'weekly')),
    horizon           integer CHECK (horizon > 0),
    params            jsonb NOT NULL DEFAULT '{}',
    feature_spec      jsonb,                       -- features, category codes, calendar: fixed at training
    metrics           jsonb NOT NULL DEFAULT '{}', -- holdout metrics (canonical keys)
    lineage           jsonb NOT NULL DEFAULT '{}', -- reference lineage keys (architecture, objective, ...)
    calibration       jsonb,                       -- split-conformal residual quantiles
    train_start       date,
    train_end         date,
    holdout_start     date,
    holdout_end       date,
    rows_trained      bigint,
    rows_holdout      bigint,
    data_fingerprint  text,
    routing_weight    float8 NOT NULL DEFAULT 0 CHECK (routing_weight BETWEEN 0 AND 1),
    smoke_test_passed boolean NOT NULL DEFAULT false,
    model_format      integer,
    model_bytes       bytea,                       -- envelope: magic, format, length, checksum, payload
    model_sha256      text,
    library_version   text,
    training_run_id   uuid,
    lifecycle_events  jsonb NOT NULL DEFAULT '[]',
    created_by        text NOT NULL DEFAULT current_user,
    created_at        timestamptz NOT NULL DEFAULT now(),
    promoted_at       timestamptz,
    archived_at       timestamptz,
    PRIMARY KEY (tenant_id, model_name, version),
    CONSTRAINT champion_has_promoted_at CHECK (status <> 'champion' OR promoted_at IS NOT NULL)
);
COMMENT ON TABLE shelfops.model_versions IS
  'Every trained model version, its bytes (in a checked envelope), holdout metrics and lifecycle';

-- Two champions of one (tenant, model) are impossible, whatever the interleaving.
CREATE UNIQUE INDEX model_versions_one_champion
    ON shelfops.model_versions (tenant_id, model_name) WHERE status = 'champion';
CREATE INDEX model_versions_status ON shelfops.model_versions (tenant_id, model_name, status);

CREATE TABLE shelfops.training_runs (
    tenant_id         shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    run_id            uuid NOT NULL DEFAULT gen_random_uuid(),
    model_name        shelfops.ident NOT NULL,
    version           integer,
    dataset_id        shelfops.ident NOT NULL,
    algorithm         text NOT NULL,
    trigger           text NOT NULL DEFAULT 'manual',
    status            text NOT NULL DEFAULT 'completed' CHECK (status IN ('running', 'completed', 'failed')),
    params            jsonb NOT NULL DEFAULT '{}',
    timings           jsonb NOT NULL DEFAULT '{}', -- seconds per phase: read, features, fit, score
    metrics           jsonb NOT NULL DEFAULT '{}',
    feature_importance jsonb,
    row_counts        jsonb NOT NULL DEFAULT '{}',
    data_fingerprint  text,
    library_versions  jsonb NOT NULL DEFAULT '{}',
    error             text,
    created_by        text NOT NULL DEFAULT current_user,
    started_at        timestamptz NOT NULL DEFAULT now(),
    completed_at      timestamptz,
    PRIMARY KEY (tenant_id, run_id)
);
COMMENT ON TABLE shelfops.training_runs IS
  'One row per training run: the reference run_*.json artifact, kept in the database';
CREATE INDEX training_runs_model ON shelfops.training_runs (tenant_id, model_name, started_at);

CREATE TABLE shelfops.model_retraining_log (
    tenant_id         shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    retrain_id        uuid NOT NULL DEFAULT gen_random_uuid(),
    model_name        shelfops.ident NOT NULL,
    job_id            bigint,
    trigger_type      text NOT NULL
                      CHECK (trigger_type IN ('scheduled', 'drift', 'new_data', 'manual', 'feedback_drift')),
    trigger_metadata  jsonb NOT NULL DEFAULT '{}',
    status            text NOT NULL DEFAULT 'running'
                      CHECK (status IN ('running', 'completed', 'failed', 'skipped', 'timed_out', 'crashed')),
    version_produced  integer,
    decision          text,
    error             text,
    backend_pid       integer,
    started_at        timestamptz NOT NULL DEFAULT now(),
    completed_at      timestamptz,
    PRIMARY KEY (tenant_id, retrain_id),
    CONSTRAINT only_running_rows_are_open CHECK ((status = 'running') = (completed_at IS NULL))
);
COMMENT ON TABLE shelfops.model_retraining_log IS
  'Every training or retraining attempt: running, then completed/failed/skipped/timed_out/crashed';
CREATE INDEX model_retraining_log_model ON shelfops.model_retraining_log (tenant_id, model_name, started_at);

CREATE TABLE shelfops.backtest_results (
    tenant_id         shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    backtest_id       uuid NOT NULL DEFAULT gen_random_uuid(),
    backtest_run_id   uuid NOT NULL,
    model_name        shelfops.ident NOT NULL,
    version           integer NOT NULL,
    fold              integer NOT NULL CHECK (fold >= 1),
    forecast_origin   date NOT NULL,               -- last date the fold trained on
    window_start      date NOT NULL,
    window_end        date NOT NULL,
    horizon           integer NOT NULL CHECK (horizon > 0),
    metric            text NOT NULL,
    value             float8,                      -- NULL when the metric is undefined on the fold
    rows_scored       bigint NOT NULL DEFAULT 0,
    evaluated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, backtest_id),
    UNIQUE (tenant_id, backtest_run_id, fold, metric),
    CHECK (window_start <= window_end)
);
COMMENT ON TABLE shelfops.backtest_results IS
  'Rolling-origin backtests: one row per run, fold and metric';
CREATE INDEX backtest_results_model ON shelfops.backtest_results (tenant_id, model_name, version, forecast_origin);

CREATE TABLE shelfops.shadow_predictions (
    tenant_id             shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    model_name            shelfops.ident NOT NULL,
    champion_version      integer NOT NULL,
    challenger_version    integer NOT NULL,
    store_id              text NOT NULL,
    product_id            text NOT NULL,
    forecast_origin       date NOT NULL,
    target_date           date NOT NULL,
    champion_prediction   float8 NOT NULL,
    challenger_prediction float8 NOT NULL,
    actual_demand         float8,
    champion_error        float8,
    challenger_error      float8,
    created_at            timestamptz NOT NULL DEFAULT now(),
    scored_at             timestamptz,
    PRIMARY KEY (tenant_id, model_name, champion_version, challenger_version,
                 store_id, product_id, forecast_origin, target_date),
    CHECK (champion_version <> challenger_version)
);
COMMENT ON TABLE shelfops.shadow_predictions IS
  'Challenger forecasts scored beside the champion on the same series and dates';
CREATE INDEX shadow_predictions_target ON shelfops.shadow_predictions (tenant_id, model_name, target_date);

CREATE TABLE shelfops.model_experiments (
    tenant_id            shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    experiment_id        uuid NOT NULL DEFAULT gen_random_uuid(),
    experiment_name      text NOT NULL,
    hypothesis           text NOT NULL,
    experiment_type      text NOT NULL
                         CHECK (experiment_type IN ('architecture', 'feature_set', 'hyperparameter_tuning',
                                'data_contract', 'data_window', 'segmentation', 'objective_function',
                                'post_processing', 'promotion_decision', 'rollback', 'baseline_refresh')),
    model_name           shelfops.ident NOT NULL,
    baseline_version     integer,
    experimental_version integer,
    status               text NOT NULL DEFAULT 'completed'
                         CHECK (status IN ('proposed', 'approved', 'in_progress', 'shadow_testing',
                                'completed', 'rejected', 'rolled_back')),
    decision             text,                     -- promoted / rejected / forced / rollback / first_champion
    reason               text,                     -- reference reason string
    forced               boolean NOT NULL DEFAULT false,
    evidence             jsonb NOT NULL DEFAULT '{}', -- window, rows, fingerprint, checksums
    results              jsonb NOT NULL DEFAULT '{}', -- both metric sets, gate checks, thresholds
    decision_rationale   text,
    proposed_by          text NOT NULL DEFAULT current_user,
    approved_by          text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    approved_at          timestamptz,
    completed_at         timestamptz,
    PRIMARY KEY (tenant_id, experiment_id)
);
COMMENT ON TABLE shelfops.model_experiments IS
  'Immutable record of every promotion decision, rollback and tuning search';
CREATE INDEX model_experiments_model ON shelfops.model_experiments (tenant_id, model_name, created_at);

CREATE TABLE shelfops.forecasts (
    tenant_id        shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    model_name       shelfops.ident NOT NULL,
    version          integer NOT NULL,
    store_id         text NOT NULL,
    product_id       text NOT NULL,
    forecast_origin  date NOT NULL,
    target_date      date NOT NULL,
    forecast         float8 NOT NULL CHECK (forecast >= 0),
    lower            float8,
    upper            float8,
    level            float8 CHECK (level > 0 AND level < 1),
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, model_name, version, store_id, product_id, forecast_origin, target_date),
    CONSTRAINT target_after_origin CHECK (target_date > forecast_origin),
    CONSTRAINT interval_ordered CHECK (lower IS NULL OR upper IS NULL OR lower <= upper)
);
COMMENT ON TABLE shelfops.forecasts IS 'Persisted forecasts with their interval bounds';

-- Promotion thresholds.  The row ('*', '*') holds the reference defaults and applies
-- to every tenant and model without a row of its own; an admin tightens a tenant's
-- or a model's gates by inserting or updating its row.
CREATE TABLE shelfops.gate_policy (
    tenant_id                                     text NOT NULL,   -- '*' = every tenant
    model_name                                    text NOT NULL,   -- '*' = every model
    max_mae_regression_pct                        float8 NOT NULL DEFAULT 2.0,
    max_mape_regression_pct                       float8 NOT NULL DEFAULT 2.0,
    max_wape_regression_pct                       float8 NOT NULL DEFAULT 2.0,
    max_mase_regression_pct                       float8 NOT NULL DEFAULT 2.0,
    max_bias_abs_regression_pp                    float8 NOT NULL DEFAULT 1.0,
    max_stockout_miss_pp                          float8 NOT NULL DEFAULT 0.5,
    max_overstock_rate_pp                         float8 NOT NULL DEFAULT 0.5,
    max_lost_sales_qty_regression_pct             float8 NOT NULL DEFAULT 0.5,
    max_stockout_opportunity_cost_regression_pct  float8 NOT NULL DEFAULT 0.5,
    max_overstock_opportunity_cost_regression_pct float8 NOT NULL DEFAULT 0.5,
    overstock_dollars_improvement_pct             float8 NOT NULL DEFAULT 1.0,
    overstock_dollars_tolerance_pct               float8 NOT NULL DEFAULT 0.5,
    require_business_metrics                      boolean NOT NULL DEFAULT true,
    require_beat_seasonal_naive                   boolean NOT NULL DEFAULT true,
    max_regressed_store_share                     float8 NOT NULL DEFAULT 0.25 CHECK (max_regressed_store_share BETWEEN 0 AND 1),
    store_regression_tolerance_pct                float8 NOT NULL DEFAULT 10.0 CHECK (store_regression_tolerance_pct >= 0),
    min_scored_rows                               integer NOT NULL DEFAULT 100 CHECK (min_scored_rows >= 1),
    shadow_min_rows                               integer NOT NULL DEFAULT 200 CHECK (shadow_min_rows >= 1),
    shadow_min_days                               integer NOT NULL DEFAULT 7 CHECK (shadow_min_days >= 1),
    drift_mae_ratio                               float8 NOT NULL DEFAULT 0.15 CHECK (drift_mae_ratio > 0),
    drift_cooldown                                interval NOT NULL DEFAULT '7 days' CHECK (drift_cooldown >= interval '0'),
    new_data_min_rows                             bigint NOT NULL DEFAULT 1000 CHECK (new_data_min_rows >= 1),
    auto_promote_triggers                         text[] NOT NULL DEFAULT '{scheduled,manual}'
                                                  CHECK (auto_promote_triggers <@ '{scheduled,drift,new_data,manual,feedback_drift}'),
    max_consecutive_failures                      integer NOT NULL DEFAULT 5 CHECK (max_consecutive_failures >= 1),
    updated_by                                    text NOT NULL DEFAULT current_user,
    updated_at                                    timestamptz NOT NULL DEFAULT now(),
    -- added in 0.2.0 (columns of a release go last: an updated table has them there too)
    drift_window_days                             integer NOT NULL DEFAULT 7 CHECK (drift_window_days BETWEEN 1 AND 366),
    drift_min_rows                                integer NOT NULL DEFAULT 100 CHECK (drift_min_rows >= 1),
    PRIMARY KEY (tenant_id, model_name),
    CHECK (tenant_id = '*' OR tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$'),
    CHECK (model_name = '*' OR model_name ~ '^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$'),
    CHECK (max_mae_regression_pct >= 0 AND max_mape_regression_pct >= 0 AND max_wape_regression_pct >= 0
           AND max_mase_regression_pct >= 0 AND max_bias_abs_regression_pp >= 0 AND max_stockout_miss_pp >= 0
           AND max_overstock_rate_pp >= 0 AND max_lost_sales_qty_regression_pct >= 0
           AND max_stockout_opportunity_cost_regression_pct >= 0
           AND max_overstock_opportunity_cost_regression_pct >= 0
           AND overstock_dollars_improvement_pct >= 0 AND overstock_dollars_tolerance_pct >= 0)
);
COMMENT ON TABLE shelfops.gate_policy IS
  'Promotion thresholds per tenant and model; the (''*'', ''*'') row holds the reference defaults';
INSERT INTO shelfops.gate_policy (tenant_id, model_name, updated_by) VALUES ('*', '*', 'shelfops install');

-- The policy in force for (tenant, model): the most specific row.
CREATE FUNCTION shelfops.effective_gate_policy(p_tenant text, p_model text)
RETURNS shelfops.gate_policy
LANGUAGE sql STABLE
AS $$
    SELECT g FROM shelfops.gate_policy g
     WHERE g.tenant_id IN (p_tenant, '*') AND g.model_name IN (p_model, '*')
     ORDER BY (g.tenant_id = p_tenant) DESC, (g.model_name = p_model) DESC
     LIMIT 1
$$;

-- pg_dump must carry what users put in these tables (the seeded default policy row
-- is recreated by CREATE EXTENSION, so it is filtered out).
SELECT pg_catalog.pg_extension_config_dump('shelfops.datasets', '');
SELECT pg_catalog.pg_extension_config_dump('shelfops.sales', '');
SELECT pg_catalog.pg_extension_config_dump('shelfops.sales_default', '');
SELECT pg_catalog.pg_extension_config_dump('shelfops.model_version_counters', '');
SELECT pg_catalog.pg_extension_config_dump('shelfops.model_versions', '');
SELECT pg_catalog.pg_extension_config_dump('shelfops.training_runs', '');
SELECT pg_catalog.pg_extension_config_dump('shelfops.model_retraining_log', '');
SELECT pg_catalog.pg_extension_config_dump('shelfops.backtest_results', '');
SELECT pg_catalog.pg_extension_config_dump('shelfops.shadow_predictions', '');
SELECT pg_catalog.pg_extension_config_dump('shelfops.model_experiments', '');
SELECT pg_catalog.pg_extension_config_dump('shelfops.forecasts', '');
SELECT pg_catalog.pg_extension_config_dump('shelfops.gate_policy', $$WHERE tenant_id <> '*'$$);
