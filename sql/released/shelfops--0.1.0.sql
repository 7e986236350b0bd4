-- shelfops install script, assembled by make from sql/install/*.sql in name order.
-- Do not edit the assembled sql/shelfops--<version>.sql; edit the parts.

\echo Use "CREATE EXTENSION shelfops" to load this file. \quit
-- Base: the shelfops schema that holds every table and view.  User-facing
-- functions are created in the extension's own schema (@extschema@, public by
-- default) so that SELECT shelfops_train(...) works with the default search_path.
CREATE SCHEMA shelfops;
COMMENT ON SCHEMA shelfops IS 'ShelfOps tables and views: datasets, sales, models, experiments, logs';
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
-- dataset_id are checked as shelfops.ident through the foreign key to datasets.
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
    is_return_week     boolean,
    PRIMARY KEY (tenant_id, dataset_id, store_id, product_id, sale_date),
    FOREIGN KEY (tenant_id, dataset_id) REFERENCES shelfops.datasets (tenant_id, dataset_id) ON DELETE CASCADE
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
-- here, under the same primary key.
CREATE TABLE shelfops.sales_default PARTITION OF shelfops.sales DEFAULT;
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
    drift_cooldown                                interval NOT NULL DEFAULT '7 days',
    new_data_min_rows                             bigint NOT NULL DEFAULT 1000 CHECK (new_data_min_rows >= 1),
    auto_promote_triggers                         text[] NOT NULL DEFAULT '{scheduled,manual}'
                                                  CHECK (auto_promote_triggers <@ '{scheduled,drift,new_data,manual,feedback_drift}'),
    max_consecutive_failures                      integer NOT NULL DEFAULT 5 CHECK (max_consecutive_failures >= 1),
    updated_by                                    text NOT NULL DEFAULT current_user,
    updated_at                                    timestamptz NOT NULL DEFAULT now(),
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
-- Metrics (src/metrics.c, docs/metrics.md): forecast accuracy and business cost,
-- as one array function returning jsonb and as parallel-safe aggregates.  Every
-- undefined value is NULL, never a made-up 0.

CREATE FUNCTION shelfops_metrics(
    actual        float8[],
    forecast      float8[],
    unit_cost     float8[] DEFAULT NULL,
    unit_price    float8[] DEFAULT NULL,
    holding_cost  float8[] DEFAULT NULL,
    lower         float8[] DEFAULT NULL,
    upper         float8[] DEFAULT NULL,
    season        int      DEFAULT 7,
    category_cost float8[] DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'shelfops_metrics'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION shelfops_metrics(float8[], float8[], float8[], float8[], float8[], float8[], float8[], int, float8[])
    IS 'Forecast accuracy and cost metrics of position-wise arrays as jsonb (15 keys; NULL when undefined)';

-- Aggregate support.  Each state is a float8[] of running sums; one combine
-- function adds two states of any metric.
CREATE FUNCTION shelfops_metric_combine(float8[], float8[]) RETURNS float8[]
AS 'MODULE_PATHNAME', 'shelfops_metric_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION shelfops_mae_accum(float8[], float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'shelfops_mae_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION shelfops_mae_final(float8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'shelfops_mae_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE shelfops_mae(actual float8, forecast float8) (
    SFUNC = shelfops_mae_accum, STYPE = float8[], INITCOND = '{0,0}',
    FINALFUNC = shelfops_mae_final, COMBINEFUNC = shelfops_metric_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE shelfops_mae(float8, float8) IS 'Mean absolute error; NULL without rows';

CREATE FUNCTION shelfops_wape_accum(float8[], float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'shelfops_wape_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION shelfops_wape_final(float8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'shelfops_wape_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE shelfops_wape(actual float8, forecast float8) (
    SFUNC = shelfops_wape_accum, STYPE = float8[], INITCOND = '{0,0}',
    FINALFUNC = shelfops_wape_final, COMBINEFUNC = shelfops_metric_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE shelfops_wape(float8, float8) IS 'sum|actual - forecast| / sum|actual|; NULL when sum|actual| = 0';

CREATE FUNCTION shelfops_mape_nonzero_accum(float8[], float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'shelfops_mape_nonzero_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION shelfops_mape_nonzero_final(float8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'shelfops_mape_nonzero_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE shelfops_mape_nonzero(actual float8, forecast float8) (
    SFUNC = shelfops_mape_nonzero_accum, STYPE = float8[], INITCOND = '{0,0}',
    FINALFUNC = shelfops_mape_nonzero_final, COMBINEFUNC = shelfops_metric_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE shelfops_mape_nonzero(float8, float8) IS 'Mean absolute percentage error over actual > 0; NULL when no actual > 0';

CREATE FUNCTION shelfops_bias_pct_accum(float8[], float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'shelfops_bias_pct_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION shelfops_bias_pct_final(float8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'shelfops_bias_pct_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE shelfops_bias_pct(actual float8, forecast float8) (
    SFUNC = shelfops_bias_pct_accum, STYPE = float8[], INITCOND = '{0,0}',
    FINALFUNC = shelfops_bias_pct_final, COMBINEFUNC = shelfops_metric_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE shelfops_bias_pct(float8, float8) IS 'mean(forecast - actual) / mean(actual); NULL when mean(actual) = 0';

CREATE FUNCTION shelfops_stockout_miss_rate_accum(float8[], float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'shelfops_stockout_miss_rate_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION shelfops_stockout_miss_rate_final(float8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'shelfops_stockout_miss_rate_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE shelfops_stockout_miss_rate(actual float8, forecast float8) (
    SFUNC = shelfops_stockout_miss_rate_accum, STYPE = float8[], INITCOND = '{0,0}',
    FINALFUNC = shelfops_stockout_miss_rate_final, COMBINEFUNC = shelfops_metric_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE shelfops_stockout_miss_rate(float8, float8) IS 'Share of rows with actual > 0 and forecast <= 0; NULL without rows';

CREATE FUNCTION shelfops_overstock_rate_accum(float8[], float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'shelfops_overstock_rate_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION shelfops_overstock_rate_final(float8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'shelfops_overstock_rate_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE shelfops_overstock_rate(actual float8, forecast float8) (
    SFUNC = shelfops_overstock_rate_accum, STYPE = float8[], INITCOND = '{0,0}',
    FINALFUNC = shelfops_overstock_rate_final, COMBINEFUNC = shelfops_metric_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE shelfops_overstock_rate(float8, float8) IS 'Share of rows with forecast > actual; NULL without rows';

CREATE FUNCTION shelfops_coverage_accum(float8[], float8, float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'shelfops_coverage_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION shelfops_coverage_final(float8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'shelfops_coverage_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE shelfops_coverage(actual float8, lower float8, upper float8) (
    SFUNC = shelfops_coverage_accum, STYPE = float8[], INITCOND = '{0,0}',
    FINALFUNC = shelfops_coverage_final, COMBINEFUNC = shelfops_metric_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE shelfops_coverage(float8, float8, float8) IS 'Share of rows with lower <= actual <= upper; NULL without rows';
-- Loading: shelfops_load_dataset (src/load.c and the per-family files), the side
-- tables it fills beside shelfops.sales, and the rejects it keeps.  Every table here
-- belongs to one dataset row and goes with it (ON DELETE CASCADE), so replacing or
-- dropping a dataset never leaves side rows behind.

-- Store master rows: Rossmann store.csv, Walmart stores.csv.  Columns a family does
-- not have stay NULL; source columns without a column of their own go to attributes.
CREATE TABLE shelfops.stores (
    tenant_id              shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    dataset_id             shelfops.ident NOT NULL,
    store_id               text COLLATE "C" NOT NULL,
    store_type             text,
    assortment             text,
    size                   integer CHECK (size >= 0),
    competition_distance   float8 CHECK (competition_distance >= 0),
    competition_open_since date,                    -- first day of CompetitionOpenSince month/year
    promo2                 boolean,
    promo2_since           date,                    -- Monday of Promo2SinceWeek (ISO week) of Promo2SinceYear
    promo_interval         text,                    -- e.g. 'Jan,Apr,Jul,Oct'
    city                   text,                    -- Favorita
    state                  text,                    -- Favorita (province)
    cluster                integer,                 -- Favorita
    attributes             jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, dataset_id, store_id),
    FOREIGN KEY (tenant_id, dataset_id) REFERENCES shelfops.datasets (tenant_id, dataset_id) ON DELETE CASCADE
);
COMMENT ON TABLE shelfops.stores IS
  'Store master of a dataset (Rossmann store.csv, Walmart stores.csv, Favorita stores.csv)';

-- Store x period side data: Walmart features.csv ('NA' is NULL).
CREATE TABLE shelfops.store_periods (
    tenant_id     shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    dataset_id    shelfops.ident NOT NULL,
    store_id      text COLLATE "C" NOT NULL,
    period        date NOT NULL,
    temperature   float8,
    fuel_price    float8,
    markdown1     float8,
    markdown2     float8,
    markdown3     float8,
    markdown4     float8,
    markdown5     float8,
    cpi           float8,
    unemployment  float8,
    is_holiday    boolean,
    PRIMARY KEY (tenant_id, dataset_id, store_id, period),
    FOREIGN KEY (tenant_id, dataset_id) REFERENCES shelfops.datasets (tenant_id, dataset_id) ON DELETE CASCADE
);
COMMENT ON TABLE shelfops.store_periods IS
  'Store x period side data of a dataset (Walmart features.csv)';

-- The first rejected rows of a load, per reason (load_report has the full counts).
-- Dated events of a dataset's own calendar (Favorita holidays_events.csv), kept
-- as published, transferred rows included; the loader applies them to sales rows
-- by locale.
CREATE TABLE shelfops.calendar_events (
    tenant_id    shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    dataset_id   shelfops.ident NOT NULL,
    event_no     integer NOT NULL CHECK (event_no > 0),   -- line order in the source
    event_date   date NOT NULL,
    event_type   text NOT NULL CHECK (event_type IN ('Holiday', 'Transfer', 'Additional', 'Bridge', 'Work Day', 'Event')),
    locale       text NOT NULL CHECK (locale IN ('National', 'Regional', 'Local')),
    locale_name  text NOT NULL,                            -- country, state or city
    description  text,
    transferred  boolean NOT NULL,
    PRIMARY KEY (tenant_id, dataset_id, event_no),
    FOREIGN KEY (tenant_id, dataset_id) REFERENCES shelfops.datasets (tenant_id, dataset_id) ON DELETE CASCADE
);
COMMENT ON TABLE shelfops.calendar_events IS
  'Holidays and events of a dataset''s own calendar (Favorita holidays_events.csv)';

-- Calendar-level numeric series of a dataset (Favorita oil.csv); NULL = unknown.
CREATE TABLE shelfops.daily_indicators (
    tenant_id    shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    dataset_id   shelfops.ident NOT NULL,
    indicator    text NOT NULL,
    day          date NOT NULL,
    value        float8 CHECK (value NOT IN ('NaN', 'Infinity', '-Infinity')),
    PRIMARY KEY (tenant_id, dataset_id, indicator, day),
    FOREIGN KEY (tenant_id, dataset_id) REFERENCES shelfops.datasets (tenant_id, dataset_id) ON DELETE CASCADE
);
COMMENT ON TABLE shelfops.daily_indicators IS
  'Dated indicators of a dataset (Favorita WTI oil price)';

CREATE TABLE shelfops.load_rejects (
    tenant_id    shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    dataset_id   shelfops.ident NOT NULL,
    reject_no    integer NOT NULL CHECK (reject_no > 0),
    file         text NOT NULL,                     -- relative to the dataset directory
    line         bigint NOT NULL CHECK (line > 0),  -- physical line where the record starts
    reason       text NOT NULL,
    column_name  text,                              -- NULL when the whole record is at fault
    raw_text     text NOT NULL,                     -- the record's fields re-joined by ',', truncated
    detail       text,
    PRIMARY KEY (tenant_id, dataset_id, reject_no),
    FOREIGN KEY (tenant_id, dataset_id) REFERENCES shelfops.datasets (tenant_id, dataset_id) ON DELETE CASCADE
);
COMMENT ON TABLE shelfops.load_rejects IS
  'First rejected rows of each load, up to 100 per reason, with file, line, column and text';

SELECT pg_catalog.pg_extension_config_dump('shelfops.stores', '');
SELECT pg_catalog.pg_extension_config_dump('shelfops.store_periods', '');
SELECT pg_catalog.pg_extension_config_dump('shelfops.load_rejects', '');
SELECT pg_catalog.pg_extension_config_dump('shelfops.calendar_events', '');
SELECT pg_catalog.pg_extension_config_dump('shelfops.daily_indicators', '');

-- contract: a tenant contract profile (family 'contract', src/contract.c and
-- src/load_contract.c); NULL for the other families.
CREATE FUNCTION shelfops_load_dataset(dataset_id text, path text, family text DEFAULT 'auto',
                                      tenant_id text DEFAULT NULL, dq_thresholds jsonb DEFAULT NULL,
                                      contract jsonb DEFAULT NULL)
RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_load_dataset';
COMMENT ON FUNCTION shelfops_load_dataset(text, text, text, text, jsonb, jsonb) IS
  'Load a server-side dataset directory (favorita, walmart, rossmann, seed auto-detected; contract with a tenant contract profile) into shelfops.sales and its side tables; needs pg_read_server_files';

CREATE FUNCTION shelfops_load_dataset_from(dataset_id text, staging regclass, family text,
                                           tenant_id text DEFAULT NULL, side_tables jsonb DEFAULT NULL,
                                           dq_thresholds jsonb DEFAULT NULL)
RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_load_dataset_from';
COMMENT ON FUNCTION shelfops_load_dataset_from(text, regclass, text, text, jsonb, jsonb) IS
  'Load a dataset from staging tables filled with \copy, in the original layout of the family''s files (main table + side_tables); needs SELECT on them, not pg_read_server_files';
-- Validation and readiness (src/validate.c, docs/validation.md): every data-quality
-- check on one dataset, per column and per series, with the readiness state
-- (ready / limited / blocked / invalid) stored in shelfops.datasets.
CREATE FUNCTION shelfops_validate_dataset(dataset_id text, tenant_id text DEFAULT NULL,
                                          thresholds jsonb DEFAULT NULL)
RETURNS TABLE(check_name text, observed float8, threshold float8, passed bool, detail text)
AS 'MODULE_PATHNAME', 'shelfops_validate_dataset'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION shelfops_validate_dataset(text, text, jsonb) IS
  'Run every data-quality check on a dataset (one row per check and column) and store its readiness';

-- The Markdown validation report of reference §1.5 (src/validation_report.c): each
-- of favorita/, walmart/, rossmann/, seed/ under base_dir is loaded into a dataset
-- that is rolled back, validated (thresholds as for shelfops_validate_dataset), and
-- reported as one table row.
CREATE FUNCTION shelfops_validation_report(base_dir text, thresholds jsonb DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'shelfops_validation_report'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION shelfops_validation_report(text, jsonb) IS
  'Markdown readiness report for a directory holding favorita/, walmart/, rossmann/ and seed/ (each loaded and validated, then rolled back); needs pg_read_server_files';
-- Synthetic data: a deterministic generator of daily store x product sales with
-- a documented demand model (docs/synthetic.md).  Writes shelfops.datasets and
-- shelfops.sales for one tenant, replacing a dataset of the same id.
CREATE FUNCTION shelfops_generate_synthetic(
    dataset_id text,
    stores     integer,
    products   integer,
    days       integer,
    seed       integer,
    start_date date DEFAULT '2024-01-01',
    tenant_id  text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_generate_synthetic';
COMMENT ON FUNCTION shelfops_generate_synthetic(text, integer, integer, integer, integer, date, text) IS
  'Generate (or replace) a deterministic synthetic daily sales dataset; returns counts, dates, seconds and a content checksum';
-- Features, internal surface: functions that exercise src/series.c and
-- src/features.c directly (the dense calendar, the horizon-safe feature
-- specification and the matrix builder), for the regression tests, the
-- benchmark and for diagnosing what a model saw.  All VOLATILE so that
-- 90_security.sql revokes them from PUBLIC; none is granted to a role.
-- tenant_id NULL means the session's tenant.

CREATE FUNCTION shelfops._series_summary(dataset_id text, tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_series_summary';
COMMENT ON FUNCTION shelfops._series_summary(text, text) IS
  'Internal: the dataset laid on its calendar: frequency, nseries, nperiods, rows, missing periods, covariates, fingerprint';

CREATE FUNCTION shelfops._series_periods(dataset_id text, store_id text, product_id text,
                                         tenant_id text DEFAULT NULL)
RETURNS TABLE (period integer, period_date date, y float8, covariates jsonb)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_series_periods';
COMMENT ON FUNCTION shelfops._series_periods(text, text, text, text) IS
  'Internal: every calendar period of one series, y NULL where no row exists';

CREATE FUNCTION shelfops._feature_names(dataset_id text, horizon integer, tenant_id text DEFAULT NULL)
RETURNS text[]
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_feature_names';
COMMENT ON FUNCTION shelfops._feature_names(text, integer, text) IS
  'Internal: the feature names, in column order, of a spec built on the whole dataset for this horizon';

CREATE FUNCTION shelfops._feature_spec(dataset_id text, horizon integer, train_end date DEFAULT NULL,
                                       tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_feature_spec';
COMMENT ON FUNCTION shelfops._feature_spec(text, integer, date, text) IS
  'Internal: the feature specification (jsonb, as stored with a model) for a horizon and training end (NULL: last date)';

CREATE FUNCTION shelfops._feature_spec_roundtrip(spec jsonb)
RETURNS jsonb
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'shelfops_feature_spec_roundtrip';
COMMENT ON FUNCTION shelfops._feature_spec_roundtrip(jsonb) IS
  'Internal: a spec read back from jsonb and written again (equal to the input for any valid spec)';

CREATE FUNCTION shelfops._feature_rows(dataset_id text, horizon integer, store_id text, product_id text,
                                       from_date date, to_date date, train_end date DEFAULT NULL,
                                       tenant_id text DEFAULT NULL)
RETURNS TABLE (target_date date, y float8, features jsonb)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_feature_rows';
COMMENT ON FUNCTION shelfops._feature_rows(text, integer, text, text, date, date, date, text) IS
  'Internal: features (name -> value, null = not computable) of one series for every target period in a range';

CREATE FUNCTION shelfops._feature_rows_spec(spec jsonb, dataset_id text, store_id text, product_id text,
                                            from_date date, to_date date, tenant_id text DEFAULT NULL)
RETURNS TABLE (target_date date, y float8, features jsonb)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_feature_rows_spec';
COMMENT ON FUNCTION shelfops._feature_rows_spec(jsonb, text, text, text, date, date, text) IS
  'Internal: as _feature_rows with a stored spec (the forecasting path); targets after the data get empty periods';

CREATE FUNCTION shelfops._feature_matrix(dataset_id text, horizon integer, from_date date, to_date date,
                                         train_end date DEFAULT NULL, include_unknown boolean DEFAULT false,
                                         tenant_id text DEFAULT NULL)
RETURNS TABLE (store_id text, product_id text, target_date date, y float8, features real[])
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_feature_matrix';
COMMENT ON FUNCTION shelfops._feature_matrix(text, integer, date, date, date, boolean, text) IS
  'Internal: the rows of features_build (closed periods left out), in matrix order';

CREATE FUNCTION shelfops._feature_bench(dataset_id text, horizon integer, tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_feature_bench';
COMMENT ON FUNCTION shelfops._feature_bench(text, integer, text) IS
  'Internal: seconds for series_load, feature_spec_build and features_build on every observed row of a dataset';
-- Model layer, internal surface: functions that exercise the C model layer
-- (src/model*.c, src/envelope.c, src/params.c) directly on matrices and series,
-- for the regression tests and for diagnosing a stored model.  All VOLATILE so
-- that 90_security.sql revokes them from PUBLIC; none is granted to a role.

CREATE FUNCTION shelfops._model_fit_matrix(algorithm text, params jsonb, x float8[], y float8[],
                                           n_valid integer DEFAULT 0)
RETURNS bytea
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_model_fit_matrix';
COMMENT ON FUNCTION shelfops._model_fit_matrix(text, jsonb, float8[], float8[], integer) IS
  'Internal: fit algorithm on x (rows x features, NULL = missing) and y; the last n_valid rows validate (early stopping). Returns the enveloped model';

CREATE FUNCTION shelfops._model_predict_matrix(model bytea, x float8[])
RETURNS float8[]
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'shelfops_model_predict_matrix';
COMMENT ON FUNCTION shelfops._model_predict_matrix(bytea, float8[]) IS
  'Internal: predictions of an enveloped matrix model (xgboost) for the rows of x';

CREATE FUNCTION shelfops._model_predict_series(model bytea, history float8[], steps integer[])
RETURNS TABLE (step integer, forecast float8, fallback boolean)
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'shelfops_model_predict_series';
COMMENT ON FUNCTION shelfops._model_predict_series(bytea, float8[], integer[]) IS
  'Internal: forecasts of a history model (baselines) for steps after the last period of history (NULL = missing period)';

CREATE FUNCTION shelfops._model_params(algorithm text, params jsonb)
RETURNS jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_model_params';
COMMENT ON FUNCTION shelfops._model_params(text, jsonb) IS
  'Internal: the validated, fully resolved parameters of algorithm (defaults filled in)';

CREATE FUNCTION shelfops._model_describe(model bytea)
RETURNS jsonb
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'shelfops_model_describe';
COMMENT ON FUNCTION shelfops._model_describe(bytea) IS
  'Internal: an enveloped model''s kind, envelope fields, library version, parameters, rounds and importance';

CREATE FUNCTION shelfops._model_cache_stats()
RETURNS jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_model_cache_stats';
COMMENT ON FUNCTION shelfops._model_cache_stats() IS
  'Internal: this backend''s loaded-model cache: hits, misses, entries, capacity';

CREATE FUNCTION shelfops._model_cache_reset()
RETURNS void
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_model_cache_reset';
COMMENT ON FUNCTION shelfops._model_cache_reset() IS
  'Internal: empty this backend''s loaded-model cache and zero its counters';
-- Training and forecasting.

CREATE FUNCTION shelfops_train(dataset_id text,
                               model_name text DEFAULT 'demand_forecast',
                               algorithm text DEFAULT 'xgboost',
                               params jsonb DEFAULT '{}',
                               horizon integer DEFAULT NULL,
                               holdout integer DEFAULT NULL,
                               trigger text DEFAULT 'manual',
                               tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_train';
COMMENT ON FUNCTION shelfops_train(text, text, text, jsonb, integer, integer, text, text) IS
  'Train a model version on a dataset with a time-based holdout; records a candidate, its run and a log row';

CREATE FUNCTION shelfops_forecast(model_name text,
                                  horizon integer DEFAULT NULL,
                                  version integer DEFAULT NULL,
                                  as_of date DEFAULT NULL,
                                  level float8 DEFAULT 0.9,
                                  tenant_id text DEFAULT NULL,
                                  persist boolean DEFAULT false,
                                  shadow boolean DEFAULT false)
RETURNS TABLE(store_id text, product_id text, target_date date, forecast float8,
              lower float8, upper float8, version integer)
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_forecast';
COMMENT ON FUNCTION shelfops_forecast(text, integer, integer, date, float8, text, boolean, boolean) IS
  'Forecast every series of a model''s dataset (champion by default) with conformal intervals; persist => true stores them; shadow => true also forecasts the challengers into shadow_predictions';
-- Promotion gates (src/gates.c, docs/gates.md): the reference's 15 gates (section 5.2)
-- as a pure function of two metric documents and a policy.  No reads, no writes, so it
-- is IMMUTABLE and stays executable by everyone (90_security.sql revokes only VOLATILE
-- functions).  shelfops_promote calls the same code through src/include/gates.h.

CREATE FUNCTION shelfops_evaluate_gates(
    candidate jsonb,
    champion  jsonb,
    policy    jsonb DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'shelfops_evaluate_gates'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION shelfops_evaluate_gates(jsonb, jsonb, jsonb)
    IS 'Reference promotion gates (15) on candidate vs champion metrics; policy keys = gate_policy threshold columns (NULL = reference defaults)';
-- The arena: promotion on evidence, and rollback.

CREATE FUNCTION shelfops_promote(model_name text,
                                 version integer DEFAULT NULL,
                                 tenant_id text DEFAULT NULL,
                                 force boolean DEFAULT false,
                                 reason text DEFAULT NULL,
                                 evidence text DEFAULT 'holdout')
RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_promote';
COMMENT ON FUNCTION shelfops_promote(text, integer, text, boolean, text, text) IS
  'Score the candidate (newest by default) and the champion on the same rows (evidence holdout: the candidate''s holdout window; shadow: their scored shadow rows), apply the gates, record the decision and switch the champion (admins)';

CREATE FUNCTION shelfops_rollback(model_name text, version integer, reason text, tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_rollback';
COMMENT ON FUNCTION shelfops_rollback(text, integer, text, text) IS
  'Re-promote an archived version as champion, recorded as a rollback in model_experiments (admins)';
-- Shadow scoring (src/shadow.c, docs/shadow.md): challengers forecast beside the
-- champion (shelfops_forecast(..., shadow => true)), actuals filled as they arrive,
-- metrics per version on the rows both members of a pair forecast.

CREATE FUNCTION shelfops_score_shadow(model_name text, tenant_id text DEFAULT NULL)
RETURNS TABLE(version integer, role text, paired_with integer, rows bigint, days integer,
              mae float8, wape float8, bias_pct float8, stockout_miss_rate float8,
              overstock_rate float8)
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_score_shadow';
COMMENT ON FUNCTION shelfops_score_shadow(text, text) IS
  'Fill shadow rows'' actuals from sales, then metrics of the champion and each challenger on each pair''s scored rows';

CREATE FUNCTION shelfops._shadow_evidence(model_name text, champion_version integer,
                                          challenger_version integer, tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_shadow_evidence';
COMMENT ON FUNCTION shelfops._shadow_evidence(text, integer, integer, text) IS
  'Internal: the shadow evidence of a (champion, challenger) pair on its scored rows, as the arena reads it';
-- Rolling-origin backtests of a stored model version (src/backtest.c, docs/backtests.md).

CREATE FUNCTION shelfops_backtest(model_name text,
                                  version integer,
                                  folds integer DEFAULT 3,
                                  horizon integer DEFAULT NULL,
                                  step integer DEFAULT NULL,
                                  tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_backtest';
COMMENT ON FUNCTION shelfops_backtest(text, integer, integer, integer, integer, text) IS
  'Refit a version''s algorithm and parameters at rolling origins, forecast each fold''s window, and record every canonical metric per fold in shelfops.backtest_results';
-- Registry parity: the reference's file registry (registry.json, champion.json),
-- MODEL_PERFORMANCE_LOG.md and run_*.json, built per tenant from the tables and
-- never stored.  Each document is a pure function of the tables (its times are
-- the rows' own), so two calls over the same rows give the same document.
-- Layouts: docs/registry.md.

CREATE FUNCTION shelfops_registry_json(tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'shelfops_registry_json';
COMMENT ON FUNCTION shelfops_registry_json(text) IS
  'The reference''s registry.json for one tenant: {models: [entry per model version, in creation order], updated_at, tenant_id}; updated_at is the latest created/promoted/archived time';

CREATE FUNCTION shelfops_champion_json(tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'shelfops_champion_json';
COMMENT ON FUNCTION shelfops_champion_json(text) IS
  'The reference''s champion.json for one tenant: {models: {model_name: {version, promoted_at}}} plus top-level version, promoted_at, model_name of demand_forecast when it has a champion';

CREATE FUNCTION shelfops_performance_log(tenant_id text DEFAULT NULL)
RETURNS text
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'shelfops_performance_log';
COMMENT ON FUNCTION shelfops_performance_log(text) IS
  'MODEL_PERFORMANCE_LOG.md (reference auto-refresh format) for one tenant, rendered from its registry; deterministic';

CREATE FUNCTION shelfops_run_json(run_id uuid, tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'shelfops_run_json';
COMMENT ON FUNCTION shelfops_run_json(uuid, text) IS
  'The reference''s run_*.json artifact of one training run: params, tags, metrics, artifacts, timestamp, experiment, model_name';

CREATE FUNCTION shelfops_export_registry(directory text, tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_export_registry';
COMMENT ON FUNCTION shelfops_export_registry(text, text) IS
  'Write registry.json, champion.json, MODEL_PERFORMANCE_LOG.md and run_<run_id>.json of one tenant atomically into an existing directory inside shelfops.export_directory; admin only; returns the files written and their sizes';
-- Views for applications: shelfops.model_history and shelfops.model_health carry the
-- fields of the reference's /api/v1/ml/models/history and /api/v1/ml/models/health
-- (reference §9.1, §9.2), with that endpoint's defects fixed (§12 item 24).
-- docs/views.md defines every column.
--
-- Tenant isolation.  A view reads its tables with its owner's privileges, and the
-- owner (the role that ran CREATE EXTENSION, usually a superuser) bypasses row-level
-- security; shelfops_app has no grant on the tables at all.  So each view filters on
-- shelfops.current_tenant() itself, and is a security_barrier view so that no
-- condition or function a caller adds can be evaluated on another tenant's rows
-- before that filter.

-- A JSON number as float8; NULL for a missing key, JSON null, a string or anything
-- else that is not a number (a cast would raise an error and break the whole view).
CREATE FUNCTION shelfops.json_float(j jsonb) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN jsonb_typeof(j) = 'number' THEN (j #>> '{}')::float8 END $$;
COMMENT ON FUNCTION shelfops.json_float(jsonb) IS
  'A JSON number as float8, NULL for anything that is not a number';

-- The reference's retraining schedule (Sunday 02:00 UTC, weekly): the first such
-- instant strictly after p_after.  The reference computed now + (7 - weekday) days,
-- which lands on a Monday and ignores the hour.  date_trunc('week') is the Monday
-- 00:00 that starts the ISO week, so its Sunday 02:00 is 6 days 2 hours later; when
-- that is already past (Sunday from 02:00 on) the next one is a week later.
CREATE FUNCTION shelfops.next_weekly_retrain(p_after timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$
    SELECT (s + CASE WHEN s <= u THEN interval '7 days' ELSE interval '0' END) AT TIME ZONE 'UTC'
      FROM (SELECT p_after AT TIME ZONE 'UTC') a(u),
           LATERAL (SELECT date_trunc('week', u) + interval '6 days 2 hours') b(s)
$$;
COMMENT ON FUNCTION shelfops.next_weekly_retrain(timestamptz) IS
  'The reference''s default retraining time: the first Sunday 02:00 UTC strictly after the argument';

------------------------------------------------------------------------------
-- model_history: one row per model version (/api/v1/ml/models/history)
------------------------------------------------------------------------------

CREATE VIEW shelfops.model_history WITH (security_barrier) AS
SELECT v.tenant_id::text                                                 AS tenant_id,
       v.model_name::text                                                AS model_name,
       v.version,
       v.status,
       v.algorithm,
       shelfops.json_float(v.metrics -> 'holdout' -> 'mae')              AS mae,
       -- the reference's "mape" is mape_nonzero; 'mape' is accepted as an alias
       coalesce(shelfops.json_float(v.metrics -> 'holdout' -> 'mape_nonzero'),
                shelfops.json_float(v.metrics -> 'holdout' -> 'mape'))   AS mape,
       shelfops.json_float(v.metrics -> 'holdout' -> 'wape')             AS wape,
       shelfops.json_float(v.metrics -> 'holdout' -> 'mase')             AS mase,
       shelfops.json_float(v.metrics -> 'holdout' -> 'bias_pct')         AS bias_pct,
       shelfops.json_float(v.metrics -> 'holdout' -> 'coverage')         AS coverage,
       shelfops.json_float(v.metrics -> 'seasonal_naive' -> 'wape')      AS seasonal_naive_wape,
       -- as in the registry documents: feature_tier when recorded, else the feature set
       coalesce(v.lineage ->> 'feature_tier', v.lineage ->> 'feature_set_id') AS tier,
       v.dataset_id::text                                                AS dataset_id,
       coalesce(v.lineage ->> 'forecast_grain', v.frequency)             AS forecast_grain,
       v.lineage ->> 'feature_set_id'                                    AS feature_set_id,
       coalesce(v.lineage ->> 'architecture', v.algorithm)               AS architecture,
       v.lineage ->> 'objective'                                         AS objective,
       v.lineage ->> 'segment_strategy'                                  AS segment_strategy,
       v.lineage ->> 'tuning_profile'                                    AS tuning_profile,
       v.lineage ->> 'trigger_source'                                    AS trigger_source,
       v.lineage ->> 'lineage_label'                                     AS lineage_label,
       -- the latest decision about this version: its reason only when it was not promoted
       CASE WHEN e.decision = 'rejected' THEN e.reason END               AS promotion_block_reason,
       -- the gate document (gate_checks, thresholds, missing inputs, both metric sets)
       -- with the arena's final verdict on top: its reason covers our extra gates too
       CASE WHEN e.experiment_id IS NOT NULL THEN
           coalesce(e.results -> 'decision', '{}'::jsonb)
           || jsonb_build_object(
                  'decision',        e.decision,
                  'promoted',        e.decision IN ('promoted', 'forced', 'first_champion', 'rollback'),
                  'forced',          e.forced,
                  'reason',          e.reason,
                  'gates_reason',    e.results -> 'decision' -> 'reason',
                  'extra_gates',     e.results -> 'extra_gates',
                  'experiment_id',   e.experiment_id,
                  'experiment_type', e.experiment_type,
                  'decided_by',      e.proposed_by,
                  'decided_at',      e.created_at)
       END                                                               AS promotion_decision,
       coalesce(v.lifecycle_events, '[]'::jsonb)                         AS lifecycle_events,
       v.holdout_start,
       v.holdout_end,
       v.created_at,
       v.promoted_at,
       v.archived_at,
       v.smoke_test_passed
  FROM shelfops.model_versions v
  LEFT JOIN LATERAL (
        SELECT x.experiment_id, x.experiment_type, x.decision, x.reason, x.forced, x.results,
               x.proposed_by, x.created_at
          FROM shelfops.model_experiments x
         WHERE x.tenant_id = v.tenant_id AND x.model_name = v.model_name
           AND x.experimental_version = v.version
           AND x.experiment_type IN ('promotion_decision', 'rollback')
         ORDER BY x.created_at DESC, x.experiment_id DESC
         LIMIT 1) e ON true
 WHERE v.tenant_id = shelfops.current_tenant();
COMMENT ON VIEW shelfops.model_history IS
  'Every model version of the session''s tenant with its holdout metrics, lineage and last promotion decision (reference /api/v1/ml/models/history)';

------------------------------------------------------------------------------
-- model_health: one row per model (/api/v1/ml/models/health)
------------------------------------------------------------------------------

-- Backtest MAE windows are anchored on the data's clock, not the wall clock: "the
-- last 7 days" are the 7 days ending at the latest sale date of the champion's
-- dataset (as_of).  For live data that is yesterday or today, as in the reference;
-- for a historical dataset (Rossmann ends in 2015) a now()-anchored window would be
-- empty forever.  Backtests that stopped before the data did fall out of the
-- window and read NULL: no recent evidence is reported as none, never as an old
-- number.  Only non-null, non-NaN values are averaged.
CREATE VIEW shelfops.model_health WITH (security_barrier) AS
WITH models AS (
    SELECT tenant_id, model_name FROM shelfops.model_versions
     WHERE tenant_id = shelfops.current_tenant()
    UNION
    SELECT tenant_id, model_name FROM shelfops.model_retraining_log
     WHERE tenant_id = shelfops.current_tenant()
)
SELECT m.tenant_id::text  AS tenant_id,
       m.model_name::text AS model_name,
       CASE WHEN ch.version IS NOT NULL THEN
           jsonb_build_object(
               'version',      ch.version,
               'status',       CASE WHEN ct.trend = 'degrading' THEN 'warning' ELSE 'healthy' END,
               'mae_7d',       cb.mae_7d,
               'mae_30d',      cb.mae_30d,
               'mae_7d_rows',  cb.n_7d,
               'mae_30d_rows', cb.n_30d,
               'as_of',        anchor.as_of,
               'trend',        ct.trend,
               'promoted_at',  ch.promoted_at,
               -- no retrain_jobs table yet: the reference's default weekly schedule
               'next_retrain', shelfops.next_weekly_retrain(now()))
       END AS champion,
       CASE WHEN cl.version IS NOT NULL THEN
           jsonb_build_object(
               'version',            cl.version,
               'status',             CASE WHEN cl.routing_weight > 0 THEN 'canary' ELSE 'shadow_testing' END,
               'mae_7d',             lb.mae_7d,
               'mae_7d_rows',        lb.n_7d,
               'routing_weight',     cl.routing_weight,
               'promotion_eligible', imp.improvement >= -0.02,
               -- greatest() ignores NULLs: without the guard no evidence would read 0.5
               'confidence',         CASE WHEN imp.improvement IS NOT NULL
                                          THEN least(greatest(imp.improvement, 0.5), 0.99) END)
       END AS challenger,
       jsonb_build_object(
           -- no drift monitor yet: unknown, not "no drift"
           'drift_detected',                   NULL::boolean,
           'new_data_available',               nd.n > 0,
           'new_data_rows_since_last_retrain', nd.n,
           'last_trigger',                     lastlog.trigger_type,
           'last_retrain_at',                  lastdone.completed_at
       ) AS retraining_triggers,
       coalesce(ev.events, '[]'::jsonb) AS recent_retraining_events,
       -- versions serving or competing: the champion (if any) and challengers
       (SELECT count(*)::int FROM shelfops.model_versions c
         WHERE c.tenant_id = m.tenant_id AND c.model_name = m.model_name
           AND c.status IN ('champion', 'challenger')) AS models_count
  FROM models m
  LEFT JOIN LATERAL (
        SELECT v.version, v.dataset_id, v.promoted_at, v.holdout_end
          FROM shelfops.model_versions v
         WHERE v.tenant_id = m.tenant_id AND v.model_name = m.model_name AND v.status = 'champion') ch ON true
  LEFT JOIN LATERAL (
        -- the newest challenger, as the reference's forecast worker picks it
        SELECT v.version, v.dataset_id, v.routing_weight
          FROM shelfops.model_versions v
         WHERE v.tenant_id = m.tenant_id AND v.model_name = m.model_name AND v.status = 'challenger'
         ORDER BY v.version DESC
         LIMIT 1) cl ON true
  LEFT JOIN LATERAL (
        -- the data clock: latest sale of the champion's dataset (else the challenger's)
        SELECT coalesce((SELECT max(s.sale_date) FROM shelfops.sales s
                          WHERE s.tenant_id = m.tenant_id
                            AND s.dataset_id = coalesce(ch.dataset_id, cl.dataset_id)),
                        d.date_max) AS as_of
          FROM (SELECT NULL) one
          LEFT JOIN shelfops.datasets d
            ON d.tenant_id = m.tenant_id AND d.dataset_id = coalesce(ch.dataset_id, cl.dataset_id)) anchor ON true
  LEFT JOIN LATERAL (
        SELECT avg(b.value) FILTER (WHERE b.window_end > anchor.as_of - 7)  AS mae_7d,
               count(b.value) FILTER (WHERE b.window_end > anchor.as_of - 7) AS n_7d,
               avg(b.value)                                                AS mae_30d,
               count(b.value)                                              AS n_30d
          FROM shelfops.backtest_results b
         WHERE b.tenant_id = m.tenant_id AND b.model_name = m.model_name AND b.version = ch.version
           AND b.metric = 'mae' AND b.value IS NOT NULL AND b.value <> 'NaN'
           AND b.window_end > anchor.as_of - 30 AND b.window_end <= anchor.as_of) cb ON true
  LEFT JOIN LATERAL (
        -- the challenger's own backtests only: no rows, no number
        SELECT avg(b.value) AS mae_7d, count(b.value) AS n_7d
          FROM shelfops.backtest_results b
         WHERE b.tenant_id = m.tenant_id AND b.model_name = m.model_name AND b.version = cl.version
           AND b.metric = 'mae' AND b.value IS NOT NULL AND b.value <> 'NaN'
           AND b.window_end > anchor.as_of - 7 AND b.window_end <= anchor.as_of) lb ON true
  CROSS JOIN LATERAL (
        SELECT CASE WHEN cb.mae_7d IS NULL OR cb.mae_30d IS NULL THEN NULL
                    WHEN cb.mae_7d < 0.95 * cb.mae_30d THEN 'improving'
                    WHEN cb.mae_7d > 1.05 * cb.mae_30d THEN 'degrading'
                    ELSE 'stable' END AS trend) ct
  CROSS JOIN LATERAL (
        -- reference rule: improvement = 1 - challenger/champion 7-day MAE; NULL without both
        SELECT CASE WHEN cb.mae_7d > 0 AND lb.mae_7d IS NOT NULL
                    THEN 1 - lb.mae_7d / cb.mae_7d END AS improvement) imp
  LEFT JOIN LATERAL (
        SELECT count(*)::bigint AS n
          FROM shelfops.sales s
         WHERE s.tenant_id = m.tenant_id AND s.dataset_id = ch.dataset_id
           AND s.sale_date > ch.holdout_end) nd ON ch.version IS NOT NULL
  LEFT JOIN LATERAL (
        SELECT l.trigger_type FROM shelfops.model_retraining_log l
         WHERE l.tenant_id = m.tenant_id AND l.model_name = m.model_name
         ORDER BY l.started_at DESC, l.retrain_id DESC LIMIT 1) lastlog ON true
  LEFT JOIN LATERAL (
        SELECT max(l.completed_at) AS completed_at FROM shelfops.model_retraining_log l
         WHERE l.tenant_id = m.tenant_id AND l.model_name = m.model_name
           AND l.status = 'completed') lastdone ON true
  LEFT JOIN LATERAL (
        SELECT jsonb_agg(jsonb_build_object(
                   'trigger_type',     l.trigger_type,
                   'status',           l.status,
                   'version_produced', l.version_produced,
                   'started_at',       l.started_at,
                   'completed_at',     l.completed_at,
                   'trigger_metadata', l.trigger_metadata)
                 ORDER BY l.started_at DESC, l.retrain_id DESC) AS events
          FROM (SELECT * FROM shelfops.model_retraining_log l
                 WHERE l.tenant_id = m.tenant_id AND l.model_name = m.model_name
                 ORDER BY l.started_at DESC, l.retrain_id DESC LIMIT 5) l) ev ON true;
COMMENT ON VIEW shelfops.model_health IS
  'Per model of the session''s tenant: champion health, challenger, retraining triggers and recent runs (reference /api/v1/ml/models/health)';
-- Training progress (docs/progress.md): what each running shelfops_train is doing,
-- read from shared memory.  Empty unless shelfops is in shared_preload_libraries.

CREATE FUNCTION shelfops_progress()
RETURNS TABLE(pid integer, tenant_id text, model_name text, dataset_id text, algorithm text,
              phase text, rounds_done integer, rounds_total integer,
              rows_train bigint, rows_holdout bigint,
              started_at timestamptz, phase_started_at timestamptz, elapsed interval)
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_progress';
COMMENT ON FUNCTION shelfops_progress() IS
  'Trainings running in this database: phase, boosting rounds, rows; superusers see every tenant, others their own';

-- The session's tenant only (what a CLI polls from a second connection).
CREATE VIEW shelfops.training_progress AS
SELECT p.*
  FROM shelfops_progress() p
 WHERE p.tenant_id = shelfops.current_tenant();
COMMENT ON VIEW shelfops.training_progress IS
  'Running trainings of the session''s tenant (shelfops_progress filtered by shelfops.current_tenant())';
-- Jobs: scheduled retraining.  The job catalog (shelfops.retrain_jobs), its
-- management functions, the retrain procedure that pg_cron (or, later, the
-- background worker) calls, crash accounting and the job status view.
--
-- Every retrain run is accounted for in shelfops.model_retraining_log by exactly one
-- row: 'skipped' (lock held, job disabled, trigger not enabled), or 'running',
-- committed before training starts and then finished as 'completed' or 'failed' in a
-- later transaction, or marked 'crashed' by shelfops_mark_crashed_runs() when the
-- backend that ran it is gone.  See docs/scheduling.md.

------------------------------------------------------------------------------
-- The catalog
------------------------------------------------------------------------------

-- job_id counts per tenant (1, 2, ...), like model versions: no global counter is
-- visible to tenants.  A tenant has at most one job per model.
CREATE TABLE shelfops.retrain_jobs (
    tenant_id            shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    job_id               bigint NOT NULL CHECK (job_id >= 1),
    model_name           shelfops.ident NOT NULL,
    dataset_id           shelfops.ident NOT NULL,
    algorithm            text NOT NULL,
    params               jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(params) = 'object'),
    horizon              integer CHECK (horizon BETWEEN 1 AND 366),
    -- schedule: an interval, or a time of day (daily when schedule_dow is NULL,
    -- weekly on schedule_dow, 0 = Sunday) in schedule_timezone
    schedule_interval    interval CHECK (schedule_interval >= interval '1 minute'),
    schedule_dow         smallint CHECK (schedule_dow BETWEEN 0 AND 6),
    schedule_time        time,
    schedule_timezone    text NOT NULL DEFAULT 'UTC',
    enabled_triggers     text[] NOT NULL DEFAULT '{scheduled,drift,new_data,manual}'
                         CHECK (enabled_triggers <@ '{scheduled,drift,new_data,manual}'
                                AND cardinality(enabled_triggers) >= 1),
    auto_promote         boolean NOT NULL DEFAULT false,
    max_runtime          interval NOT NULL DEFAULT '2 hours' CHECK (max_runtime >= interval '1 second'),
    max_retries          integer NOT NULL DEFAULT 3 CHECK (max_retries BETWEEN 0 AND 100),
    retry_backoff        interval NOT NULL DEFAULT '5 minutes' CHECK (retry_backoff >= interval '0'),
    next_run_at          timestamptz,
    pending_trigger      text CHECK (pending_trigger IN ('manual', 'drift', 'new_data')),
    last_run_at          timestamptz,
    last_status          text CHECK (last_status IN ('completed', 'failed', 'skipped', 'timed_out', 'crashed')),
    last_retrain_id      uuid,
    rows_at_last_run     bigint CHECK (rows_at_last_run >= 0),
    consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    enabled              boolean NOT NULL DEFAULT true,
    disabled_reason      text,
    created_by           text NOT NULL DEFAULT current_user,
    created_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, job_id),
    UNIQUE (tenant_id, model_name),
    CONSTRAINT one_schedule CHECK ((schedule_interval IS NULL) <> (schedule_time IS NULL)),
    CONSTRAINT weekday_needs_time CHECK (schedule_dow IS NULL OR schedule_time IS NOT NULL),
    CONSTRAINT enabled_has_next_run CHECK (NOT enabled OR next_run_at IS NOT NULL)
);
COMMENT ON TABLE shelfops.retrain_jobs IS
  'Retraining jobs: one per (tenant, model); schedule, triggers, promotion, retry policy and last-run state';
CREATE INDEX retrain_jobs_due ON shelfops.retrain_jobs (next_run_at) WHERE enabled;
SELECT pg_catalog.pg_extension_config_dump('shelfops.retrain_jobs', '');

-- The model registry's name for an algorithm, or an error listing the valid ones.
CREATE FUNCTION shelfops.retrain_check_algorithm(algorithm text)
RETURNS text
LANGUAGE C IMMUTABLE STRICT
AS 'MODULE_PATHNAME', 'shelfops_retrain_check_algorithm';

------------------------------------------------------------------------------
-- Schedules
------------------------------------------------------------------------------

-- The first scheduled time strictly after p_from.
CREATE FUNCTION shelfops.retrain_next_run(p_interval interval, p_dow smallint, p_time time,
                                          p_timezone text, p_from timestamptz)
RETURNS timestamptz
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_local     timestamp;
    v_candidate timestamp;
BEGIN
    IF p_interval IS NOT NULL THEN
        RETURN p_from + p_interval;
    END IF;
    v_local := p_from AT TIME ZONE p_timezone;
    v_candidate := date_trunc('day', v_local) + p_time;
    IF p_dow IS NOT NULL THEN
        v_candidate := v_candidate + ((p_dow - extract(dow FROM v_candidate)::int + 7) % 7) * interval '1 day';
        IF v_candidate <= v_local THEN
            v_candidate := v_candidate + interval '7 days';
        END IF;
    ELSIF v_candidate <= v_local THEN
        v_candidate := v_candidate + interval '1 day';
    END IF;
    RETURN v_candidate AT TIME ZONE p_timezone;
END
$$;

-- Argument checks shared by add and alter (check_config style: one clear error per
-- bad argument).
CREATE FUNCTION shelfops.retrain_job_check(p_algorithm text, p_params jsonb, p_horizon integer,
                                           p_interval interval, p_day text, p_time time, p_timezone text,
                                           p_triggers text[], p_max_runtime interval,
                                           p_max_retries integer, p_retry_backoff interval)
RETURNS smallint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_dow smallint;
    v_bad text[];
BEGIN
    IF p_algorithm IS NOT NULL THEN
        PERFORM shelfops.retrain_check_algorithm(p_algorithm);
    END IF;
    IF p_params IS NOT NULL AND jsonb_typeof(p_params) <> 'object' THEN
        RAISE EXCEPTION 'params must be a JSON object'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Got a JSON %s.', jsonb_typeof(p_params));
    END IF;
    IF p_horizon IS NOT NULL AND p_horizon NOT BETWEEN 1 AND 366 THEN
        RAISE EXCEPTION 'horizon must be between 1 and 366 periods'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got %s.', p_horizon);
    END IF;
    IF p_interval IS NOT NULL AND (p_day IS NOT NULL OR p_time IS NOT NULL) THEN
        RAISE EXCEPTION 'give either schedule_interval or schedule_day/schedule_time, not both'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_interval IS NOT NULL AND p_interval < interval '1 minute' THEN
        RAISE EXCEPTION 'schedule_interval must be at least 1 minute'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got %s.', p_interval);
    END IF;
    IF p_day IS NOT NULL THEN
        v_dow := array_position(ARRAY['sunday', 'monday', 'tuesday', 'wednesday', 'thursday',
                                      'friday', 'saturday'], lower(p_day)) - 1;
        IF v_dow IS NULL AND lower(p_day) <> 'daily' THEN
            RAISE EXCEPTION 'unknown schedule_day "%"', p_day
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Use a weekday name (sunday ... saturday) or daily.';
        END IF;
    END IF;
    IF p_timezone IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = p_timezone)
       AND NOT EXISTS (SELECT 1 FROM pg_timezone_abbrevs WHERE abbrev = p_timezone) THEN
        RAISE EXCEPTION 'unknown time zone "%"', p_timezone
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use a name from pg_timezone_names, e.g. UTC or Europe/Berlin.';
    END IF;
    IF p_triggers IS NOT NULL THEN
        v_bad := ARRAY(SELECT t FROM unnest(p_triggers) t
                        WHERE t IS NULL OR t NOT IN ('scheduled', 'drift', 'new_data', 'manual'));
        IF cardinality(v_bad) > 0 THEN
            RAISE EXCEPTION 'unknown trigger(s) %', array_to_string(v_bad, ', ', 'NULL')
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Use scheduled, drift, new_data or manual.';
        END IF;
        IF cardinality(p_triggers) = 0 THEN
            RAISE EXCEPTION 'enabled_triggers must not be empty'
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Disable the job with enabled => false instead.';
        END IF;
    END IF;
    IF p_max_runtime IS NOT NULL AND p_max_runtime < interval '1 second' THEN
        RAISE EXCEPTION 'max_runtime must be at least 1 second'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got %s.', p_max_runtime);
    END IF;
    IF p_max_retries IS NOT NULL AND p_max_retries NOT BETWEEN 0 AND 100 THEN
        RAISE EXCEPTION 'max_retries must be between 0 and 100'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got %s.', p_max_retries);
    END IF;
    IF p_retry_backoff IS NOT NULL AND p_retry_backoff < interval '0' THEN
        RAISE EXCEPTION 'retry_backoff must not be negative'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got %s.', p_retry_backoff);
    END IF;
    RETURN v_dow;
END
$$;

------------------------------------------------------------------------------
-- Management (admins: INSERT/UPDATE/DELETE on retrain_jobs; row-level security
-- keeps each tenant to its own jobs)
------------------------------------------------------------------------------

CREATE FUNCTION shelfops_add_retrain_job(model_name text,
                                         dataset_id text,
                                         algorithm text DEFAULT 'xgboost',
                                         params jsonb DEFAULT '{}',
                                         horizon integer DEFAULT NULL,
                                         schedule_interval interval DEFAULT NULL,
                                         schedule_day text DEFAULT NULL,
                                         schedule_time time DEFAULT NULL,
                                         timezone text DEFAULT 'UTC',
                                         enabled_triggers text[] DEFAULT '{scheduled,drift,new_data,manual}',
                                         auto_promote boolean DEFAULT false,
                                         max_runtime interval DEFAULT '2 hours',
                                         max_retries integer DEFAULT 3,
                                         retry_backoff interval DEFAULT '5 minutes',
                                         first_run_at timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_tenant text := shelfops.current_tenant();
    v_dow    smallint;
    v_time   time;
    v_id     bigint;
BEGIN
    IF model_name IS NULL OR dataset_id IS NULL OR algorithm IS NULL OR params IS NULL
       OR timezone IS NULL OR enabled_triggers IS NULL OR auto_promote IS NULL OR max_runtime IS NULL
       OR max_retries IS NULL OR retry_backoff IS NULL THEN
        RAISE EXCEPTION 'only horizon, the schedule arguments and first_run_at may be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF model_name !~ '^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$' THEN
        RAISE EXCEPTION 'invalid model_name "%"', model_name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Identifiers are 1-128 of A-Z a-z 0-9 _ . : @ -, starting with a letter or digit.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM shelfops.datasets d
                    WHERE d.tenant_id = v_tenant AND d.dataset_id = shelfops_add_retrain_job.dataset_id) THEN
        RAISE EXCEPTION 'dataset "%" does not exist for tenant "%"', dataset_id, v_tenant
            USING ERRCODE = 'undefined_object', HINT = 'Load or generate the dataset first.';
    END IF;
    v_dow := shelfops.retrain_job_check(algorithm, params, horizon, schedule_interval, schedule_day,
                                        schedule_time, timezone, enabled_triggers, max_runtime,
                                        max_retries, retry_backoff);
    IF EXISTS (SELECT 1 FROM shelfops.retrain_jobs j
                WHERE j.tenant_id = v_tenant AND j.model_name = shelfops_add_retrain_job.model_name) THEN
        RAISE EXCEPTION 'model "%" already has a retrain job', model_name
            USING ERRCODE = 'unique_violation', HINT = 'Use shelfops_alter_retrain_job to change it.';
    END IF;
    IF schedule_interval IS NULL THEN
        -- the reference's default: weekly, Sunday 02:00 UTC
        v_time := coalesce(schedule_time, time '02:00');
        IF schedule_day IS NULL THEN
            v_dow := CASE WHEN schedule_time IS NULL THEN 0 END;
        END IF;
    END IF;
    -- per-tenant job counter, serialised per tenant
    PERFORM pg_advisory_xact_lock(hashtext('shelfops.retrain_jobs'), hashtext(v_tenant));
    SELECT coalesce(max(j.job_id), 0) + 1 INTO v_id FROM shelfops.retrain_jobs j WHERE j.tenant_id = v_tenant;
    INSERT INTO shelfops.retrain_jobs (tenant_id, job_id, model_name, dataset_id, algorithm, params, horizon,
                                       schedule_interval, schedule_dow, schedule_time, schedule_timezone,
                                       enabled_triggers, auto_promote, max_runtime, max_retries, retry_backoff,
                                       next_run_at)
    VALUES (v_tenant, v_id, model_name, dataset_id, algorithm, params, horizon,
            schedule_interval, v_dow, v_time, timezone,
            ARRAY(SELECT DISTINCT t FROM unnest(enabled_triggers) t ORDER BY 1), auto_promote, max_runtime,
            max_retries, retry_backoff,
            coalesce(first_run_at, shelfops.retrain_next_run(schedule_interval, v_dow, v_time, timezone, now())));
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION shelfops_add_retrain_job(text, text, text, jsonb, integer, interval, text, time, text, text[],
                                             boolean, interval, integer, interval, timestamptz) IS
  'Add the retrain job of a model (admins): dataset, algorithm, schedule (default weekly Sunday 02:00 UTC), triggers, promotion, retries';

-- NULL arguments leave the setting as it is.
CREATE FUNCTION shelfops_alter_retrain_job(job_id bigint,
                                           dataset_id text DEFAULT NULL,
                                           algorithm text DEFAULT NULL,
                                           params jsonb DEFAULT NULL,
                                           horizon integer DEFAULT NULL,
                                           schedule_interval interval DEFAULT NULL,
                                           schedule_day text DEFAULT NULL,
                                           schedule_time time DEFAULT NULL,
                                           timezone text DEFAULT NULL,
                                           enabled_triggers text[] DEFAULT NULL,
                                           auto_promote boolean DEFAULT NULL,
                                           max_runtime interval DEFAULT NULL,
                                           max_retries integer DEFAULT NULL,
                                           retry_backoff interval DEFAULT NULL,
                                           next_run_at timestamptz DEFAULT NULL,
                                           enabled boolean DEFAULT NULL)
RETURNS shelfops.retrain_jobs
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_tenant text := shelfops.current_tenant();
    j        shelfops.retrain_jobs;
    v_dow    smallint;
BEGIN
    SELECT * INTO j FROM shelfops.retrain_jobs r
     WHERE r.tenant_id = v_tenant AND r.job_id = shelfops_alter_retrain_job.job_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'retrain job % does not exist for tenant "%"', job_id, v_tenant
            USING ERRCODE = 'undefined_object';
    END IF;
    v_dow := shelfops.retrain_job_check(algorithm, params, horizon, schedule_interval, schedule_day,
                                        schedule_time, timezone, enabled_triggers, max_runtime,
                                        max_retries, retry_backoff);
    IF dataset_id IS NOT NULL THEN
        IF NOT EXISTS (SELECT 1 FROM shelfops.datasets d
                        WHERE d.tenant_id = v_tenant AND d.dataset_id = shelfops_alter_retrain_job.dataset_id) THEN
            RAISE EXCEPTION 'dataset "%" does not exist for tenant "%"', dataset_id, v_tenant
                USING ERRCODE = 'undefined_object';
        END IF;
        j.dataset_id := dataset_id;
        j.rows_at_last_run := NULL;
    END IF;
    j.algorithm := coalesce(algorithm, j.algorithm);
    j.params := coalesce(params, j.params);
    j.horizon := coalesce(horizon, j.horizon);
    IF schedule_interval IS NOT NULL THEN
        j.schedule_interval := schedule_interval;
        j.schedule_dow := NULL;
        j.schedule_time := NULL;
    ELSIF schedule_day IS NOT NULL OR schedule_time IS NOT NULL THEN
        j.schedule_interval := NULL;
        j.schedule_time := coalesce(schedule_time, j.schedule_time, time '02:00');
        IF schedule_day IS NOT NULL THEN
            j.schedule_dow := v_dow;
        END IF;
    END IF;
    j.schedule_timezone := coalesce(timezone, j.schedule_timezone);
    IF enabled_triggers IS NOT NULL THEN
        j.enabled_triggers := ARRAY(SELECT DISTINCT t FROM unnest(enabled_triggers) t ORDER BY 1);
    END IF;
    j.auto_promote := coalesce(auto_promote, j.auto_promote);
    j.max_runtime := coalesce(max_runtime, j.max_runtime);
    j.max_retries := coalesce(max_retries, j.max_retries);
    j.retry_backoff := coalesce(retry_backoff, j.retry_backoff);
    IF enabled IS NOT NULL THEN
        IF enabled AND NOT j.enabled THEN
            j.consecutive_failures := 0;
            j.disabled_reason := NULL;
        ELSIF NOT enabled THEN
            j.disabled_reason := 'disabled by ' || current_user;
        END IF;
        j.enabled := enabled;
    END IF;
    IF next_run_at IS NOT NULL THEN
        j.next_run_at := next_run_at;
    ELSIF schedule_interval IS NOT NULL OR schedule_day IS NOT NULL OR schedule_time IS NOT NULL
          OR timezone IS NOT NULL OR j.next_run_at IS NULL THEN
        j.next_run_at := shelfops.retrain_next_run(j.schedule_interval, j.schedule_dow, j.schedule_time,
                                                   j.schedule_timezone, now());
    END IF;
    UPDATE shelfops.retrain_jobs r SET
        dataset_id = j.dataset_id, algorithm = j.algorithm, params = j.params, horizon = j.horizon,
        schedule_interval = j.schedule_interval, schedule_dow = j.schedule_dow, schedule_time = j.schedule_time,
        schedule_timezone = j.schedule_timezone, enabled_triggers = j.enabled_triggers,
        auto_promote = j.auto_promote, max_runtime = j.max_runtime, max_retries = j.max_retries,
        retry_backoff = j.retry_backoff, next_run_at = j.next_run_at, enabled = j.enabled,
        disabled_reason = j.disabled_reason, consecutive_failures = j.consecutive_failures,
        rows_at_last_run = j.rows_at_last_run
     WHERE r.tenant_id = v_tenant AND r.job_id = j.job_id
    RETURNING * INTO j;
    RETURN j;
END
$$;
COMMENT ON FUNCTION shelfops_alter_retrain_job(bigint, text, text, jsonb, integer, interval, text, time, text,
                                               text[], boolean, interval, integer, interval, timestamptz, boolean) IS
  'Change a retrain job (admins); NULL leaves a setting unchanged; enabled => true resets the failure count';

CREATE FUNCTION shelfops_remove_retrain_job(job_id bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    DELETE FROM shelfops.retrain_jobs r
     WHERE r.tenant_id = shelfops.current_tenant() AND r.job_id = shelfops_remove_retrain_job.job_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'retrain job % does not exist for tenant "%"', job_id, shelfops.current_tenant()
            USING ERRCODE = 'undefined_object';
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION shelfops_remove_retrain_job(bigint) IS
  'Remove a retrain job (admins); its log rows stay';

-- Mark a job due now with the manual trigger (analysts: column UPDATE grant).
CREATE FUNCTION shelfops_request_retrain(model_name text, tenant_id text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_tenant text := coalesce(tenant_id, shelfops.current_tenant());
    v_id     bigint;
BEGIN
    UPDATE shelfops.retrain_jobs j SET pending_trigger = 'manual', next_run_at = now()
     WHERE j.tenant_id = v_tenant AND j.model_name = shelfops_request_retrain.model_name
    RETURNING j.job_id INTO v_id;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'model "%" has no retrain job for tenant "%"', model_name, v_tenant
            USING ERRCODE = 'undefined_object', HINT = 'Add one with shelfops_add_retrain_job.';
    END IF;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION shelfops_request_retrain(text, text) IS
  'Mark a model''s retrain job due now with the manual trigger';

------------------------------------------------------------------------------
-- Run accounting (SECURITY DEFINER: the log is append-only for every role)
------------------------------------------------------------------------------

-- Finish a running log row of THIS backend (running -> completed/failed/timed_out
-- only) and update its job's last-run state: failure count, retry with backoff,
-- disabling after the policy's max_consecutive_failures.  Returns the job state.
CREATE FUNCTION shelfops.retrain_finish(p_retrain_id uuid, p_status text, p_version integer,
                                        p_decision text, p_error text, p_metadata jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    l        shelfops.model_retraining_log;
    j        shelfops.retrain_jobs;
    v_fail   integer;
    v_max    integer;
    v_off    boolean := false;
    v_next   timestamptz;
    v_meta   jsonb := coalesce(p_metadata, '{}');
BEGIN
    IF p_status NOT IN ('completed', 'failed', 'timed_out') THEN
        RAISE EXCEPTION 'a run can only finish as completed, failed or timed_out, not "%"', p_status
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO l FROM shelfops.model_retraining_log r
     WHERE r.retrain_id = p_retrain_id AND r.status = 'running' AND r.backend_pid = pg_backend_pid()
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'retrain % is not a running retrain of this session', p_retrain_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Only the backend that started a run may finish it, and only once.';
    END IF;
    IF l.job_id IS NOT NULL THEN
        SELECT * INTO j FROM shelfops.retrain_jobs r
         WHERE r.tenant_id = l.tenant_id AND r.job_id = l.job_id FOR UPDATE;
    END IF;
    IF j.job_id IS NOT NULL THEN
        v_max := (shelfops.effective_gate_policy(l.tenant_id, l.model_name)).max_consecutive_failures;
        v_fail := CASE WHEN p_status = 'completed' THEN 0 ELSE j.consecutive_failures + 1 END;
        v_next := shelfops.retrain_next_run(j.schedule_interval, j.schedule_dow, j.schedule_time,
                                            j.schedule_timezone, now());
        IF v_fail > 0 AND v_fail <= j.max_retries THEN
            -- retry: exponential backoff with up to 25 % jitter, never later than the schedule
            v_next := least(v_next, clock_timestamp()
                            + j.retry_backoff * power(2, v_fail - 1) * (1 + random() * 0.25));
        END IF;
        v_off := v_fail >= v_max;
        IF v_off THEN
            v_meta := v_meta || jsonb_build_object('job_disabled', true,
                        'disabled_reason', format('%s consecutive failures (policy max_consecutive_failures = %s)',
                                                  v_fail, v_max));
        END IF;
        UPDATE shelfops.retrain_jobs r SET
            last_run_at = l.started_at, last_status = p_status, last_retrain_id = l.retrain_id,
            consecutive_failures = v_fail, next_run_at = v_next, pending_trigger = NULL,
            rows_at_last_run = CASE WHEN p_status = 'completed' THEN (v_meta->>'sales_rows')::bigint
                                    ELSE r.rows_at_last_run END,
            enabled = r.enabled AND NOT v_off,
            disabled_reason = CASE WHEN v_off THEN v_meta->>'disabled_reason' ELSE r.disabled_reason END
         WHERE r.tenant_id = j.tenant_id AND r.job_id = j.job_id;
    END IF;
    UPDATE shelfops.model_retraining_log r SET
        status = p_status, version_produced = p_version,
        decision = CASE WHEN v_off THEN coalesce(p_decision || ';', '') || 'job_disabled' ELSE p_decision END,
        error = p_error, trigger_metadata = r.trigger_metadata || v_meta, completed_at = clock_timestamp()
     WHERE r.tenant_id = l.tenant_id AND r.retrain_id = l.retrain_id;
    RETURN jsonb_build_object('status', p_status, 'consecutive_failures', v_fail,
                              'job_disabled', v_off, 'next_run_at', v_next);
END
$$;

-- Runs whose backend is gone (server crash, killed backend) become 'crashed'.  The
-- background worker calls this at start; pg_cron setups can schedule it.  A pid
-- reused by a newer backend does not keep a row alive (backend_start is compared).
CREATE FUNCTION shelfops_mark_crashed_runs()
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_n integer;
BEGIN
    WITH gone AS (
        UPDATE shelfops.model_retraining_log l SET
            status = 'crashed', completed_at = clock_timestamp(),
            error = format('backend %s ended while the run was running', l.backend_pid)
         WHERE l.status = 'running'
           AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                            WHERE a.pid = l.backend_pid AND a.backend_start <= l.started_at)
        RETURNING l.tenant_id, l.job_id, l.retrain_id, l.started_at
    ), jobs AS (
        UPDATE shelfops.retrain_jobs j SET last_status = 'crashed', last_run_at = g.started_at,
               last_retrain_id = g.retrain_id
          FROM gone g
         WHERE j.tenant_id = g.tenant_id AND j.job_id = g.job_id
           AND (j.last_run_at IS NULL OR j.last_run_at <= g.started_at)
        RETURNING 1
    )
    SELECT count(*) INTO v_n FROM gone;
    RETURN v_n;
END
$$;
COMMENT ON FUNCTION shelfops_mark_crashed_runs() IS
  'Mark running retraining log rows whose backend is gone as crashed (every tenant); returns how many';

------------------------------------------------------------------------------
-- The retrain procedure: CALL shelfops_retrain(model, tenant, trigger)
------------------------------------------------------------------------------

-- A procedure so that it can COMMIT: the running row is committed before training
-- starts, and the outcome is written in a later transaction.  It must therefore be
-- called with CALL outside an explicit transaction block, and it is neither
-- SECURITY DEFINER nor SET (PostgreSQL forbids transaction control in those).
CREATE PROCEDURE shelfops_retrain(model_name text, tenant_id text DEFAULT NULL, trigger text DEFAULT 'scheduled')
LANGUAGE plpgsql
AS $$
DECLARE
    v_tenant   text := coalesce(tenant_id, shelfops.current_tenant());
    v_model    text := model_name;
    v_trigger  text := coalesce(trigger, 'scheduled');
    j          shelfops.retrain_jobs;
    v_skip     text;
    v_id       uuid;
    v_k1       integer := hashtext('shelfops.retrain');
    v_k2       integer;
    v_result   jsonb;
    v_promo    jsonb;
    v_version  integer;
    v_decision text;
    v_meta     jsonb;
    v_rows     bigint;
    v_err      text;
    v_state    text;
    v_cancel   boolean := false;
BEGIN
    IF v_trigger NOT IN ('scheduled', 'drift', 'new_data', 'manual') THEN
        RAISE EXCEPTION 'unknown trigger "%"', v_trigger
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use scheduled, drift, new_data or manual.';
    END IF;
    IF v_tenant <> shelfops.current_tenant()
       AND NOT (SELECT r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        RAISE EXCEPTION 'cannot act for tenant "%" from a session of tenant "%"', v_tenant, shelfops.current_tenant()
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT * INTO j FROM shelfops.retrain_jobs r WHERE r.tenant_id = v_tenant AND r.model_name = v_model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" has no retrain job for tenant "%"', v_model, v_tenant
            USING ERRCODE = 'undefined_object', HINT = 'Add one with shelfops_add_retrain_job.';
    END IF;

    v_k2 := hashtext(v_tenant || '/' || v_model);
    IF NOT j.enabled THEN
        v_skip := 'job_disabled';
    ELSIF NOT v_trigger = ANY (j.enabled_triggers) THEN
        v_skip := 'trigger_not_enabled';
    ELSIF NOT pg_catalog.pg_try_advisory_lock(v_k1, v_k2) THEN
        v_skip := 'lock_held';
    END IF;
    IF v_skip IS NOT NULL THEN
        INSERT INTO shelfops.model_retraining_log (tenant_id, model_name, job_id, trigger_type, trigger_metadata,
                                                   status, decision, backend_pid, completed_at)
        VALUES (v_tenant, v_model, j.job_id, v_trigger, jsonb_build_object('reason', v_skip),
                'skipped', 'skipped:' || v_skip, pg_catalog.pg_backend_pid(), clock_timestamp());
        COMMIT;
        RETURN;
    END IF;

    SELECT count(*) INTO v_rows FROM shelfops.sales s
     WHERE s.tenant_id = v_tenant AND s.dataset_id = j.dataset_id;
    INSERT INTO shelfops.model_retraining_log (tenant_id, model_name, job_id, trigger_type, trigger_metadata,
                                               status, backend_pid)
    VALUES (v_tenant, v_model, j.job_id, v_trigger,
            jsonb_build_object('dataset_id', j.dataset_id, 'algorithm', j.algorithm, 'params', j.params,
                               'horizon', j.horizon),
            'running', pg_catalog.pg_backend_pid())
    RETURNING retrain_id INTO v_id;
    COMMIT;

    BEGIN
        -- shelfops_train writes no log row of its own for this running row
        PERFORM pg_catalog.set_config('shelfops.retrain_run_id', v_id::text, true);
        v_result := @extschema@.shelfops_train(j.dataset_id, v_model, j.algorithm, j.params, j.horizon,
                                               NULL, v_trigger, v_tenant);
        PERFORM pg_catalog.set_config('shelfops.retrain_run_id', '', true);
        v_version := (v_result->>'version')::integer;
        v_meta := jsonb_build_object('run_id', v_result->>'training_run_id', 'sales_rows', v_rows,
                                     'metrics', v_result->'metrics');
        IF NOT j.auto_promote THEN
            v_decision := 'candidate';
        ELSIF NOT v_trigger = ANY ((shelfops.effective_gate_policy(v_tenant, v_model)).auto_promote_triggers) THEN
            v_decision := 'candidate';
            v_meta := v_meta || jsonb_build_object('promotion', 'trigger_not_allowed_by_policy');
        ELSE
            BEGIN
                v_promo := @extschema@.shelfops_promote(v_model, v_version, v_tenant, false,
                                                        'auto_promote:' || v_trigger);
                v_decision := CASE WHEN (v_promo->>'promoted')::boolean THEN 'promoted' ELSE 'rejected' END;
                v_meta := v_meta || jsonb_build_object('promotion', v_promo->>'decision',
                                                       'promotion_reason', v_promo->>'reason');
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS v_err := MESSAGE_TEXT, v_state := RETURNED_SQLSTATE;
                v_decision := 'promotion_failed';
                v_meta := v_meta || jsonb_build_object('promotion_error', v_err, 'promotion_sqlstate', v_state);
            END;
        END IF;
        PERFORM shelfops.retrain_finish(v_id, 'completed', v_version, v_decision, NULL, v_meta);
    EXCEPTION
        WHEN query_canceled THEN
            GET STACKED DIAGNOSTICS v_err := MESSAGE_TEXT, v_state := RETURNED_SQLSTATE;
            v_cancel := true;
            PERFORM shelfops.retrain_finish(v_id, 'failed', NULL, NULL, v_err,
                                            jsonb_build_object('sqlstate', v_state, 'canceled', true));
        WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_err := MESSAGE_TEXT, v_state := RETURNED_SQLSTATE;
            PERFORM shelfops.retrain_finish(v_id, 'failed', NULL, NULL, v_err,
                                            jsonb_build_object('sqlstate', v_state));
    END;
    PERFORM pg_catalog.pg_advisory_unlock(v_k1, v_k2);
    COMMIT;
    IF v_cancel THEN
        RAISE EXCEPTION 'retrain of model "%" was canceled: %', v_model, v_err USING ERRCODE = 'query_canceled';
    END IF;
END
$$;
COMMENT ON PROCEDURE shelfops_retrain(text, text, text) IS
  'Run a model''s retrain job now: one log row (skipped, or running then completed/failed), auto-promotion per policy';

-- Run every due job, one transaction each: scheduled (or the pending manual
-- request) when next_run_at has passed, new_data when the job's dataset gained at
-- least the policy's new_data_min_rows rows since the last completed run.
-- result: {"ran": n, "completed": n, "failed": n, "skipped": n}.
CREATE PROCEDURE shelfops_run_due_jobs(INOUT result jsonb DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
    r        record;
    v_status text;
    v_done   jsonb := '{"ran": 0, "completed": 0, "failed": 0, "skipped": 0}';
    v_due    jsonb;
BEGIN
    SELECT coalesce(jsonb_agg(jsonb_build_object('tenant', d.tenant_id, 'model', d.model_name,
                                                 'trigger', d.trigger) ORDER BY d.next_run_at), '[]')
      INTO v_due
      FROM (SELECT j.tenant_id, j.model_name, j.next_run_at,
                   CASE WHEN j.next_run_at <= now() THEN coalesce(j.pending_trigger, 'scheduled')
                        ELSE 'new_data' END AS trigger
              FROM shelfops.retrain_jobs j
             WHERE j.enabled
               AND (j.next_run_at <= now()
                    OR ('new_data' = ANY (j.enabled_triggers) AND j.rows_at_last_run IS NOT NULL
                        AND (SELECT count(*) FROM shelfops.sales s
                              WHERE s.tenant_id = j.tenant_id AND s.dataset_id = j.dataset_id)
                            - j.rows_at_last_run
                            >= (shelfops.effective_gate_policy(j.tenant_id, j.model_name)).new_data_min_rows))
           ) d;
    COMMIT;
    FOR r IN SELECT * FROM jsonb_to_recordset(v_due) AS x(tenant text, model text, trigger text) LOOP
        CALL @extschema@.shelfops_retrain(r.model, r.tenant, r.trigger);
        SELECT l.status INTO v_status FROM shelfops.model_retraining_log l
         WHERE l.tenant_id = r.tenant AND l.model_name = r.model AND l.backend_pid = pg_catalog.pg_backend_pid()
         ORDER BY l.started_at DESC LIMIT 1;
        v_done := jsonb_set(v_done, '{ran}', to_jsonb((v_done->>'ran')::int + 1));
        IF v_status IN ('completed', 'failed', 'skipped') THEN
            v_done := jsonb_set(v_done, ARRAY[v_status], to_jsonb((v_done->>v_status)::int + 1));
        END IF;
    END LOOP;
    result := v_done;
END
$$;
COMMENT ON PROCEDURE shelfops_run_due_jobs(jsonb) IS
  'Run every due retrain job (scheduled, requested, new data), committing each run; returns counts';

------------------------------------------------------------------------------
-- Status
------------------------------------------------------------------------------

CREATE VIEW shelfops.retrain_job_status WITH (security_barrier, security_invoker) AS
SELECT j.tenant_id, j.job_id, j.model_name, j.dataset_id, j.algorithm, j.enabled, j.disabled_reason,
       CASE WHEN j.schedule_interval IS NOT NULL THEN 'every ' || j.schedule_interval::text
            WHEN j.schedule_dow IS NULL THEN 'daily at ' || to_char(j.schedule_time, 'HH24:MI') || ' ' || j.schedule_timezone
            ELSE (ARRAY['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'])[j.schedule_dow + 1]
                 || 's at ' || to_char(j.schedule_time, 'HH24:MI') || ' ' || j.schedule_timezone
       END AS schedule,
       j.enabled_triggers, j.auto_promote, j.next_run_at, j.pending_trigger, j.last_run_at, j.last_status,
       j.consecutive_failures, l.version_produced AS last_version, l.decision AS last_decision, l.error AS last_error
  FROM shelfops.retrain_jobs j
  LEFT JOIN shelfops.model_retraining_log l ON l.tenant_id = j.tenant_id AND l.retrain_id = j.last_retrain_id;
COMMENT ON VIEW shelfops.retrain_job_status IS
  'Each retrain job: schedule, next run, last run, last status and outcome, consecutive failures';
-- Security: roles, privileges and row-level security for everything the parts before
-- this one created.  This part runs last so that no table or function escapes it.
--
-- Three roles, each including the one below it:
--   shelfops_app      reads the application views and forecasts;
--   shelfops_analyst  reads everything, loads data, trains, evaluates, forecasts;
--                     cannot promote (no UPDATE on model_versions, no promote function);
--   shelfops_admin    everything, including promotion, rollback and gate policy.
-- model_experiments and model_retraining_log are append-only for all three: no role
-- gets UPDATE, DELETE or TRUNCATE on them.
-- Roles are cluster-wide objects, so they are created only if missing and survive
-- DROP EXTENSION (other databases may use them).
--
-- Row-level security is enabled and FORCE'd on every table, keyed on
-- shelfops.current_tenant() (the setting shelfops.tenant_id).  Superusers bypass RLS
-- as always; shelfops' own functions therefore also filter by tenant explicitly.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'shelfops_app') THEN
        CREATE ROLE shelfops_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'shelfops_analyst') THEN
        CREATE ROLE shelfops_analyst NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'shelfops_admin') THEN
        CREATE ROLE shelfops_admin NOLOGIN;
    END IF;
END
$$;
GRANT shelfops_app TO shelfops_analyst;
GRANT shelfops_analyst TO shelfops_admin;

REVOKE ALL ON ALL TABLES IN SCHEMA shelfops FROM PUBLIC;
GRANT USAGE ON SCHEMA shelfops TO shelfops_app;

-- app: forecasts and the application views (75_views.sql).  The views filter on
-- the session's tenant themselves: they read the tables with their owner's rights.
GRANT SELECT ON shelfops.forecasts TO shelfops_app;
GRANT SELECT ON shelfops.model_history, shelfops.model_health TO shelfops_app;

-- analyst: read all; write what loading, training, forecasting and scoring write.
GRANT SELECT ON ALL TABLES IN SCHEMA shelfops TO shelfops_analyst;
GRANT INSERT, UPDATE, DELETE ON shelfops.datasets, shelfops.sales TO shelfops_analyst;
GRANT INSERT, UPDATE ON shelfops.model_version_counters TO shelfops_analyst;
GRANT INSERT ON shelfops.model_versions TO shelfops_analyst;
GRANT INSERT, UPDATE ON shelfops.training_runs TO shelfops_analyst;
GRANT INSERT ON shelfops.model_retraining_log TO shelfops_analyst;
GRANT INSERT ON shelfops.backtest_results TO shelfops_analyst;
GRANT INSERT, UPDATE, DELETE ON shelfops.shadow_predictions TO shelfops_analyst;
GRANT INSERT, UPDATE, DELETE ON shelfops.forecasts TO shelfops_analyst;
GRANT INSERT ON shelfops.model_experiments TO shelfops_analyst;
GRANT INSERT ON shelfops.stores, shelfops.store_periods, shelfops.load_rejects,
                shelfops.calendar_events, shelfops.daily_indicators TO shelfops_analyst;

-- analyst: training progress (80_progress.sql; also covered by the SELECT above).
GRANT SELECT ON shelfops.training_progress TO shelfops_analyst;

-- admin: promotion (status changes) and gate policy.
GRANT UPDATE ON shelfops.model_versions TO shelfops_admin;
GRANT INSERT, UPDATE, DELETE ON shelfops.gate_policy TO shelfops_admin;

-- jobs (85_jobs.sql): admins manage jobs; analysts may only mark one due
-- (shelfops_request_retrain); run bookkeeping goes through shelfops.retrain_finish.
GRANT INSERT, UPDATE, DELETE ON shelfops.retrain_jobs TO shelfops_admin;
GRANT UPDATE (pending_trigger, next_run_at) ON shelfops.retrain_jobs TO shelfops_analyst;
GRANT SELECT ON shelfops.retrain_job_status TO shelfops_analyst;

-- Row-level security on every table.
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN
        SELECT c.oid::regclass
          FROM pg_class c
         WHERE c.relnamespace = 'shelfops'::regnamespace AND c.relkind IN ('r', 'p')
           AND c.relname <> 'gate_policy'
    LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %s
                            USING (tenant_id = shelfops.current_tenant())
                            WITH CHECK (tenant_id = shelfops.current_tenant())', t);
    END LOOP;
END
$$;

-- gate_policy: every tenant reads the shared default row ('*'); writes only its own rows.
ALTER TABLE shelfops.gate_policy ENABLE ROW LEVEL SECURITY;
ALTER TABLE shelfops.gate_policy FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON shelfops.gate_policy FOR SELECT
    USING (tenant_id IN (shelfops.current_tenant(), '*'));
CREATE POLICY tenant_write ON shelfops.gate_policy FOR ALL
    USING (tenant_id = shelfops.current_tenant())
    WITH CHECK (tenant_id = shelfops.current_tenant());

-- Functions.  Every VOLATILE function or procedure of the extension (the ones that
-- write, read files or start work) is revoked from PUBLIC, then granted explicitly
-- below.  IMMUTABLE and STABLE functions (metrics, gate evaluation, documents)
-- stay executable by everyone: they read nothing RLS does not already filter.
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
          FROM pg_proc p
          JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
          JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'shelfops'
         WHERE p.provolatile = 'v'
    LOOP
        EXECUTE format('REVOKE EXECUTE ON ROUTINE %s FROM PUBLIC', f);  -- ROUTINE: procedures too (jobs)
    END LOOP;
END
$$;

-- Who may run which writing function (higher roles inherit).  One line per function
-- name; every overload of the name gets the grant.
DO $$
DECLARE
    g record;
BEGIN
    FOR g IN
        SELECT p.oid::regprocedure AS fn, grants.role
          FROM (VALUES
                ('allocate_version',              'shelfops_analyst'),
                ('shelfops_generate_synthetic',   'shelfops_analyst'),
                ('shelfops_validate_dataset',     'shelfops_analyst'),
                ('shelfops_load_dataset',         'shelfops_analyst'),
                ('shelfops_train',                'shelfops_analyst'),
                ('shelfops_backtest',             'shelfops_analyst'),
                ('shelfops_forecast',             'shelfops_analyst'),
                ('shelfops_score_shadow',         'shelfops_analyst'),
                ('_shadow_evidence',              'shelfops_analyst'),
                ('shelfops_promote',              'shelfops_admin'),
                ('shelfops_rollback',             'shelfops_admin'),
                ('shelfops_load_dataset_from',    'shelfops_analyst'),
                ('shelfops_validation_report',    'shelfops_analyst'),
                ('shelfops_export_registry',      'shelfops_admin'),
                ('shelfops_progress',             'shelfops_analyst'),  -- progress (80_progress.sql)
                -- jobs (85_jobs.sql)
                ('shelfops_add_retrain_job',      'shelfops_admin'),
                ('shelfops_alter_retrain_job',    'shelfops_admin'),
                ('shelfops_remove_retrain_job',   'shelfops_admin'),
                ('shelfops_mark_crashed_runs',    'shelfops_admin'),
                ('shelfops_request_retrain',      'shelfops_analyst'),
                ('shelfops_retrain',              'shelfops_analyst'),
                ('shelfops_run_due_jobs',         'shelfops_analyst'),
                ('retrain_finish',                'shelfops_analyst')
               ) AS grants(name, role)
          JOIN pg_proc p ON p.proname = grants.name
          JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
          JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'shelfops'
    LOOP
        EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO %I', g.fn, g.role);
    END LOOP;
END
$$;
