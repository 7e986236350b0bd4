-- shelfops 0.1.0 -> 0.2.0 (ALTER EXTENSION shelfops UPDATE).
--
-- Every change made to sql/install/ since 0.1.0 was released is repeated here, so
-- that an updated database and a fresh CREATE EXTENSION of 0.2.0 end up with the
-- same objects; test/tap/10_upgrade.sh compares the two, object by object, and
-- names every difference.  Steps follow the order of the
-- install parts.

\echo Use "ALTER EXTENSION shelfops UPDATE TO '0.2.0'" to load this file. \quit

------------------------------------------------------------------------------
-- 10_schema: the primary key and the foreign key of shelfops.sales move from the
-- parent to every partition (pg_restore of a dump with loaded datasets is clean,
-- serial or parallel; see the comment above shelfops.sales_default in
-- sql/install/10_schema.sql).
------------------------------------------------------------------------------
-- Dropping the parent's keys would drop every partition's copies with them, and
-- rebuilding the primary keys costs a sort of all sales rows.  Detaching a
-- partition keeps its keys as its own, so: detach the run-time partitions, drop
-- the parent's keys (which takes the default partition's copies with them), give
-- the default partition keys of its own (it holds only rows inserted by plain
-- SQL), and attach the partitions again.  Each partition's CHECK on its (tenant,
-- dataset) proves its bound, so no ATTACH reads a partition; each scans
-- shelfops.sales_default.
DO $$
DECLARE
    p      record;
    k      record;
    parts  text[] := '{}';
    bounds text[] := '{}';
BEGIN
    FOR p IN
        SELECT c.oid::regclass::text AS part, pg_get_expr(c.relpartbound, c.oid) AS bound
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'shelfops.sales'::regclass AND c.oid <> 'shelfops.sales_default'::regclass
         ORDER BY c.relname
    LOOP
        EXECUTE format('ALTER TABLE shelfops.sales DETACH PARTITION %s', p.part);
        parts := parts || p.part;
        bounds := bounds || p.bound;
    END LOOP;
    ALTER TABLE shelfops.sales DROP CONSTRAINT sales_pkey;
    ALTER TABLE shelfops.sales DROP CONSTRAINT sales_tenant_id_dataset_id_fkey;
    ALTER TABLE shelfops.sales_default
        ADD CONSTRAINT sales_default_pkey PRIMARY KEY (tenant_id, dataset_id, store_id, product_id, sale_date),
        ADD CONSTRAINT sales_default_tenant_id_dataset_id_fkey FOREIGN KEY (tenant_id, dataset_id)
            REFERENCES shelfops.datasets (tenant_id, dataset_id) ON DELETE CASCADE;
    -- each partition's foreign key, NOT VALID as sales_writer.c now makes it (no
    -- row is re-checked here or by a restore; every row was checked when written)
    FOR i IN 1 .. cardinality(parts) LOOP
        FOR k IN SELECT c.conname FROM pg_constraint c WHERE c.conrelid = parts[i]::regclass AND c.contype = 'f' LOOP
            EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', parts[i], k.conname);
        END LOOP;
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (tenant_id, dataset_id) '
                       'REFERENCES shelfops.datasets (tenant_id, dataset_id) ON DELETE CASCADE NOT VALID',
                       parts[i], (SELECT c.relname FROM pg_class c WHERE c.oid = parts[i]::regclass) || '_tenant_id_dataset_id_fkey');
    END LOOP;
    FOR i IN 1 .. cardinality(parts) LOOP
        EXECUTE format('ALTER TABLE shelfops.sales ATTACH PARTITION %s %s', parts[i], bounds[i]);
    END LOOP;
END
$$;

------------------------------------------------------------------------------
-- 10_schema: gate policy settings of the drift trigger (issue 6)
------------------------------------------------------------------------------
ALTER TABLE shelfops.gate_policy
    ADD CONSTRAINT gate_policy_drift_cooldown_check CHECK (drift_cooldown >= interval '0'),
    ADD COLUMN drift_window_days integer NOT NULL DEFAULT 7 CHECK (drift_window_days BETWEEN 1 AND 366),
    ADD COLUMN drift_min_rows integer NOT NULL DEFAULT 100 CHECK (drift_min_rows >= 1);

------------------------------------------------------------------------------
-- 12_sales_extent: shelfops.datasets' row_count, date_min and date_max follow SQL
-- writes to shelfops.sales (statement triggers); recounted once here, since rows
-- inserted by SQL under 0.1.0 were never counted.
------------------------------------------------------------------------------
-- A weekly dataset's periods lie every 7 days from its first date: a row off that grid
-- would make every later training refuse the dataset, so the statement that writes
-- it is refused, naming the first such row.  The query reads a trigger's transition
-- table, which only the trigger function itself can see: each trigger EXECUTEs the
-- text shelfops.weekly_grid_check(its table) returns.
CREATE FUNCTION shelfops.refuse_off_grid(p_tenant text, p_dataset text, p_store text, p_product text,
                                         p_date date, p_anchor date) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'weekly sale of store "%" product "%" on % is not on the calendar of dataset "%"',
                    p_store, p_product, p_date, p_dataset
          USING ERRCODE = 'data_exception',
                DETAIL = format('The periods of weekly dataset "%s" (tenant "%s") lie on %s and every 7 days from it.',
                                p_dataset, p_tenant, p_anchor),
                HINT = 'Write weekly rows on the dataset''s week dates.';
END
$$;
COMMENT ON FUNCTION shelfops.refuse_off_grid(text, text, text, text, date, date) IS
  'Raises the error for a sales row of a weekly dataset that lies off its 7-day grid';

CREATE FUNCTION shelfops.weekly_grid_check(p_rows text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT format($q$
        SELECT shelfops.refuse_off_grid(x.tenant_id, x.dataset_id, x.store_id, x.product_id, x.sale_date, x.anchor)
          FROM (SELECT n.tenant_id, n.dataset_id, n.store_id, n.product_id, n.sale_date,
                       coalesce(d.date_min, min(n.sale_date) OVER (PARTITION BY n.tenant_id, n.dataset_id)) AS anchor
                  FROM %I n
                  JOIN shelfops.datasets d ON d.tenant_id = n.tenant_id AND d.dataset_id = n.dataset_id
                 WHERE d.frequency = 'weekly') x
         WHERE (x.sale_date - x.anchor) %% 7 <> 0
         ORDER BY x.tenant_id, x.dataset_id, x.store_id, x.product_id, x.sale_date
         LIMIT 1$q$, p_rows)
$$;
COMMENT ON FUNCTION shelfops.weekly_grid_check(text) IS
  'The query a sales trigger runs on its transition table to refuse rows of weekly datasets off their 7-day grid';

CREATE FUNCTION shelfops.sales_extent_after_insert() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p      record;
    weekly boolean := false;
BEGIN
    -- the datasets rows in key order first: two statements writing the same datasets
    -- then queue instead of deadlocking
    FOR p IN SELECT d.frequency
               FROM shelfops.datasets d
               JOIN (SELECT DISTINCT tenant_id, dataset_id FROM inserted_sales) n
                 ON d.tenant_id = n.tenant_id AND d.dataset_id = n.dataset_id
              ORDER BY d.tenant_id, d.dataset_id
                FOR UPDATE OF d
    LOOP
        weekly := weekly OR p.frequency = 'weekly';
    END LOOP;
    -- against the calendar as it was, before this statement's rows move its first date
    IF weekly THEN
        EXECUTE shelfops.weekly_grid_check('inserted_sales');
    END IF;
    UPDATE shelfops.datasets d
       SET row_count = d.row_count + n.rows,
           date_min  = least(d.date_min, n.first_date),
           date_max  = greatest(d.date_max, n.last_date)
      FROM (SELECT tenant_id, dataset_id, count(*) AS rows,
                   min(sale_date) AS first_date, max(sale_date) AS last_date
              FROM inserted_sales
             GROUP BY tenant_id, dataset_id) n
     WHERE d.tenant_id = n.tenant_id AND d.dataset_id = n.dataset_id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shelfops.sales_extent_after_insert() IS
  'Trigger: adds the rows an INSERT wrote to shelfops.sales to their datasets'' row_count, date_min and date_max';

-- Recount (tenant, dataset) pairs from shelfops.sales; pairs without rows get 0 and
-- an empty calendar.
CREATE FUNCTION shelfops.recount_dataset_extent(p_pairs jsonb) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    -- Lock the rows first, in key order, and count in the next statement: its fresh
    -- snapshot (READ COMMITTED) then sees every INSERT that committed meanwhile, and an
    -- INSERT still running adds its rows after this commits.  Counting before the lock
    -- could miss rows another transaction committed while this one waited.
    PERFORM 1
       FROM shelfops.datasets d
       JOIN jsonb_to_recordset(p_pairs) AS p(tenant_id text, dataset_id text)
         ON d.tenant_id = p.tenant_id AND d.dataset_id = p.dataset_id
      ORDER BY d.tenant_id, d.dataset_id
        FOR UPDATE OF d;
    UPDATE shelfops.datasets d
       SET row_count = c.rows, date_min = c.first_date, date_max = c.last_date
      FROM (SELECT p.tenant_id, p.dataset_id, x.rows, x.first_date, x.last_date
              FROM jsonb_to_recordset(p_pairs) AS p(tenant_id text, dataset_id text)
             CROSS JOIN LATERAL (
                   SELECT count(*) AS rows, min(s.sale_date) AS first_date, max(s.sale_date) AS last_date
                     FROM shelfops.sales s
                    WHERE s.tenant_id = p.tenant_id AND s.dataset_id = p.dataset_id) x) c
     WHERE d.tenant_id = c.tenant_id AND d.dataset_id = c.dataset_id
       AND (d.row_count, d.date_min, d.date_max) IS DISTINCT FROM (c.rows, c.first_date, c.last_date);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION shelfops.recount_dataset_extent(jsonb) IS
  'Recounts row_count, date_min and date_max of the given [{tenant_id, dataset_id}] from shelfops.sales; returns the datasets rows changed';

-- UPDATE: nothing to do unless a row changed its dataset or date (a quantity
-- correction keeps the key): then the touched datasets are recounted, after the
-- weekly grid check of the new rows.  DELETE: the deleted rows are subtracted; only
-- a dataset that lost a row on its first or last date is recounted for its dates.
CREATE FUNCTION shelfops.sales_extent_after_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pairs jsonb;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- keys are unique and both tables hold the same number of rows: no new key, no move
        IF NOT EXISTS (SELECT tenant_id, dataset_id, store_id, product_id, sale_date FROM new_sales
                       EXCEPT
                       SELECT tenant_id, dataset_id, store_id, product_id, sale_date FROM old_sales) THEN
            RETURN NULL;
        END IF;
        EXECUTE shelfops.weekly_grid_check('new_sales');
        SELECT jsonb_agg(jsonb_build_object('tenant_id', t.tenant_id, 'dataset_id', t.dataset_id))
          INTO pairs
          FROM (SELECT tenant_id, dataset_id FROM old_sales
                UNION SELECT tenant_id, dataset_id FROM new_sales) t;
    ELSE
        PERFORM 1 FROM shelfops.datasets d
          JOIN (SELECT DISTINCT tenant_id, dataset_id FROM old_sales) o
            ON d.tenant_id = o.tenant_id AND d.dataset_id = o.dataset_id
         ORDER BY d.tenant_id, d.dataset_id
           FOR UPDATE OF d;
        WITH o AS (SELECT tenant_id, dataset_id, count(*) AS rows,
                          min(sale_date) AS first_date, max(sale_date) AS last_date
                     FROM old_sales GROUP BY tenant_id, dataset_id),
             u AS (UPDATE shelfops.datasets d
                      SET row_count = greatest(d.row_count - o.rows, 0)
                     FROM o
                    WHERE d.tenant_id = o.tenant_id AND d.dataset_id = o.dataset_id
                RETURNING d.tenant_id, d.dataset_id, d.row_count, d.date_min, d.date_max, o.first_date, o.last_date)
        SELECT jsonb_agg(jsonb_build_object('tenant_id', u.tenant_id, 'dataset_id', u.dataset_id))
          INTO pairs
          FROM u
         WHERE u.first_date <= u.date_min OR u.last_date >= u.date_max OR u.row_count = 0;
    END IF;
    IF pairs IS NOT NULL THEN
        PERFORM shelfops.recount_dataset_extent(pairs);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shelfops.sales_extent_after_change() IS
  'Trigger: keeps row_count, date_min and date_max of the datasets an UPDATE or DELETE of shelfops.sales touched (recounting only when a key moved or an end date was deleted)';

-- TRUNCATE of shelfops.sales empties every dataset (a loader truncates only its own
-- partition, by name, which does not fire this).
CREATE FUNCTION shelfops.sales_extent_after_truncate() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE shelfops.datasets d SET row_count = 0, date_min = NULL, date_max = NULL
     WHERE d.row_count <> 0 OR d.date_min IS NOT NULL OR d.date_max IS NOT NULL;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shelfops.sales_extent_after_truncate() IS
  'Trigger: a TRUNCATE of shelfops.sales leaves every dataset with 0 rows and no calendar';

CREATE TRIGGER sales_extent_insert AFTER INSERT ON shelfops.sales
    REFERENCING NEW TABLE AS inserted_sales
    FOR EACH STATEMENT EXECUTE FUNCTION shelfops.sales_extent_after_insert();
CREATE TRIGGER sales_extent_update AFTER UPDATE ON shelfops.sales
    REFERENCING OLD TABLE AS old_sales NEW TABLE AS new_sales
    FOR EACH STATEMENT EXECUTE FUNCTION shelfops.sales_extent_after_change();
CREATE TRIGGER sales_extent_delete AFTER DELETE ON shelfops.sales
    REFERENCING OLD TABLE AS old_sales
    FOR EACH STATEMENT EXECUTE FUNCTION shelfops.sales_extent_after_change();
CREATE TRIGGER sales_extent_truncate AFTER TRUNCATE ON shelfops.sales
    FOR EACH STATEMENT EXECUTE FUNCTION shelfops.sales_extent_after_truncate();

-- For writes the triggers did not see (a partition written by name, rows copied in
-- with triggers disabled): recount one dataset, or every dataset of the session's
-- tenant.  Returns the number of datasets whose recorded extent changed.
CREATE FUNCTION shelfops_refresh_dataset_extent(dataset_id text DEFAULT NULL, tenant_id text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tenant text := coalesce(shelfops_refresh_dataset_extent.tenant_id, shelfops.current_tenant());
    pairs    jsonb;
BEGIN
    IF v_tenant <> shelfops.current_tenant()
       AND NOT (SELECT r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        RAISE EXCEPTION 'cannot act for tenant "%" from a session of tenant "%"', v_tenant, shelfops.current_tenant()
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT jsonb_agg(jsonb_build_object('tenant_id', d.tenant_id, 'dataset_id', d.dataset_id))
      INTO pairs
      FROM shelfops.datasets d
     WHERE d.tenant_id = v_tenant
       AND (shelfops_refresh_dataset_extent.dataset_id IS NULL
            OR d.dataset_id = shelfops_refresh_dataset_extent.dataset_id);
    IF pairs IS NULL AND shelfops_refresh_dataset_extent.dataset_id IS NOT NULL THEN
        RAISE EXCEPTION 'dataset "%" does not exist for tenant "%"', shelfops_refresh_dataset_extent.dataset_id, v_tenant
              USING ERRCODE = 'undefined_object';
    END IF;
    RETURN coalesce(shelfops.recount_dataset_extent(pairs), 0);
END
$$;
COMMENT ON FUNCTION shelfops_refresh_dataset_extent(text, text) IS
  'Recount row_count, date_min and date_max of a dataset (or of every dataset of the tenant) from shelfops.sales';

DO $$
BEGIN
    PERFORM shelfops.recount_dataset_extent(
                (SELECT jsonb_agg(jsonb_build_object('tenant_id', d.tenant_id, 'dataset_id', d.dataset_id))
                   FROM shelfops.datasets d));
END
$$;

------------------------------------------------------------------------------
-- 50_train: shelfops_forecast takes planned covariates (a 9th argument)
------------------------------------------------------------------------------
DROP FUNCTION shelfops_forecast(text, integer, integer, date, float8, text, boolean, boolean);
CREATE FUNCTION shelfops_forecast(model_name text,
                                  horizon integer DEFAULT NULL,
                                  version integer DEFAULT NULL,
                                  as_of date DEFAULT NULL,
                                  level float8 DEFAULT 0.9,
                                  tenant_id text DEFAULT NULL,
                                  persist boolean DEFAULT false,
                                  shadow boolean DEFAULT false,
                                  covariates regclass DEFAULT NULL)
RETURNS TABLE(store_id text, product_id text, target_date date, forecast float8,
              lower float8, upper float8, version integer)
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_forecast';
COMMENT ON FUNCTION shelfops_forecast(text, integer, integer, date, float8, text, boolean, boolean, regclass) IS
  'Forecast every series of a model''s dataset (champion by default) with conformal intervals; persist => true stores them; shadow => true also forecasts the challengers into shadow_predictions; covariates => a table or view of planned covariates (store_id, product_id, sale_date and canonical covariate columns) for the target dates';

------------------------------------------------------------------------------
-- 52_tune: shelfops_tune and shelfops.tuning_trials (new)
------------------------------------------------------------------------------
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

------------------------------------------------------------------------------
-- 67_benchmark: benchmarks across datasets (new)
------------------------------------------------------------------------------
-- Benchmarks across datasets and pairs of datasets (src/benchmark.c, docs/benchmarks-sql.md).

CREATE TABLE shelfops.benchmark_results (
    tenant_id         shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    benchmark_run_id  uuid NOT NULL,
    ordinal           integer NOT NULL,            -- order of the row within its run
    kind              text NOT NULL CHECK (kind IN ('dataset', 'combo')),
    datasets          text NOT NULL,               -- 'rossmann', or 'rossmann+walmart' for a combo
    slice             text NOT NULL,               -- 'overall', or one dataset of a combo
    algorithm         text NOT NULL,
    frequency         text NOT NULL CHECK (frequency IN ('daily', 'weekly', 'mixed')),
    horizon           integer,                     -- NULL when a combo's datasets differ
    holdout           integer,
    split             jsonb NOT NULL,              -- per dataset: horizon, holdout and the dates of each block
    params            jsonb NOT NULL,              -- the validated parameters the model was fit with
    metrics           jsonb NOT NULL,              -- every canonical metric on the holdout
    seasonal_naive    jsonb NOT NULL,              -- the same metrics of the seasonal naive on the same rows
    rows_used         bigint NOT NULL,             -- sales rows read
    rows_train        bigint NOT NULL,
    rows_calibration  bigint NOT NULL,
    rows_holdout      bigint NOT NULL,
    seconds           jsonb NOT NULL,              -- read, features, fit, score, total
    data_fingerprints jsonb NOT NULL,              -- {dataset_id: fingerprint of the rows read}
    library_versions  jsonb NOT NULL,
    created_by        text NOT NULL DEFAULT current_user,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, benchmark_run_id, ordinal),
    UNIQUE (tenant_id, benchmark_run_id, datasets, slice, algorithm)
);
COMMENT ON TABLE shelfops.benchmark_results IS
  'Benchmarks: one row per run, dataset (or pair and slice) and algorithm, scored like shelfops_train';
CREATE INDEX benchmark_results_created ON shelfops.benchmark_results (tenant_id, created_at);
SELECT pg_catalog.pg_extension_config_dump('shelfops.benchmark_results', '');

CREATE FUNCTION shelfops._benchmark_run(dataset_ids text[], algorithms text[], params jsonb,
                                        horizon integer, holdout integer, combos boolean,
                                        tenant_id text DEFAULT NULL)
RETURNS uuid
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_benchmark_run';
COMMENT ON FUNCTION shelfops._benchmark_run(text[], text[], jsonb, integer, integer, boolean, text) IS
  'Internal: run a benchmark (every dataset, or every pair with combos), write its rows, return the run id';

-- The rows of a run as the two benchmark functions return them.
CREATE FUNCTION shelfops.benchmark_rows(p_run uuid, p_tenant text)
RETURNS TABLE(benchmark_run_id uuid, datasets text, slice text, algorithm text, frequency text,
              horizon_periods integer, holdout_periods integer, rows_used bigint, rows_train bigint, rows_holdout bigint,
              mae float8, wape float8, mase float8, bias_pct float8, coverage float8,
              seasonal_naive_wape float8, seconds float8)
LANGUAGE sql STABLE
AS $$
    SELECT b.benchmark_run_id, b.datasets, b.slice, b.algorithm, b.frequency, b.horizon, b.holdout,
           b.rows_used, b.rows_train, b.rows_holdout,
           (b.metrics->>'mae')::float8, (b.metrics->>'wape')::float8, (b.metrics->>'mase')::float8,
           (b.metrics->>'bias_pct')::float8, (b.metrics->>'coverage')::float8,
           (b.seasonal_naive->>'wape')::float8, (b.seconds->>'total')::float8
      FROM shelfops.benchmark_results b
     WHERE b.tenant_id = p_tenant AND b.benchmark_run_id = p_run
     ORDER BY b.ordinal
$$;

CREATE FUNCTION shelfops_benchmark(dataset_ids text[],
                                   algorithms text[] DEFAULT ARRAY['seasonal_naive', 'moving_average', 'xgboost'],
                                   params jsonb DEFAULT '{}',
                                   horizon integer DEFAULT NULL,
                                   holdout integer DEFAULT NULL,
                                   tenant_id text DEFAULT NULL)
RETURNS TABLE(benchmark_run_id uuid, datasets text, slice text, algorithm text, frequency text,
              horizon_periods integer, holdout_periods integer, rows_used bigint, rows_train bigint, rows_holdout bigint,
              mae float8, wape float8, mase float8, bias_pct float8, coverage float8,
              seasonal_naive_wape float8, seconds float8)
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_run uuid := shelfops._benchmark_run(dataset_ids, algorithms, params, horizon, holdout, false, tenant_id);
BEGIN
    RETURN QUERY SELECT * FROM shelfops.benchmark_rows(v_run, coalesce(tenant_id, shelfops.current_tenant()));
END
$$;
COMMENT ON FUNCTION shelfops_benchmark(text[], text[], jsonb, integer, integer, text) IS
  'Train and score every algorithm on every dataset as shelfops_train does (time-based holdout), without creating model versions; rows go to shelfops.benchmark_results under one run id';

CREATE FUNCTION shelfops_benchmark_combos(dataset_ids text[],
                                          algorithms text[] DEFAULT ARRAY['xgboost'],
                                          params jsonb DEFAULT '{}',
                                          horizon integer DEFAULT NULL,
                                          holdout integer DEFAULT NULL,
                                          tenant_id text DEFAULT NULL)
RETURNS TABLE(benchmark_run_id uuid, datasets text, slice text, algorithm text, frequency text,
              horizon_periods integer, holdout_periods integer, rows_used bigint, rows_train bigint, rows_holdout bigint,
              mae float8, wape float8, mase float8, bias_pct float8, coverage float8,
              seasonal_naive_wape float8, seconds float8)
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_run uuid := shelfops._benchmark_run(dataset_ids, algorithms, params, horizon, holdout, true, tenant_id);
BEGIN
    RETURN QUERY SELECT * FROM shelfops.benchmark_rows(v_run, coalesce(tenant_id, shelfops.current_tenant()));
END
$$;
COMMENT ON FUNCTION shelfops_benchmark_combos(text[], text[], jsonb, integer, integer, text) IS
  'Every pair of datasets trained together as one pooled model (source feature, each dataset on its own calendar and holdout), scored overall and per dataset';

-- The reference's benchmark JSON (benchmark_datasets.py / benchmark_dataset_combos.py,
-- reference section 10.1) for one run.
-- The error of shelfops_benchmark_json for a run id the tenant has no rows of.
CREATE FUNCTION shelfops.no_benchmark_run(p_run uuid, p_tenant text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RAISE EXCEPTION 'tenant "%" has no benchmark run with that id', p_tenant
        USING ERRCODE = 'undefined_object',
              DETAIL = format('No row of shelfops.benchmark_results has run id %s.', p_run),
              HINT = 'Run ids are in shelfops.benchmark_results (benchmark_run_id); a run of another tenant is not visible.';
END
$$;

CREATE FUNCTION shelfops_benchmark_json(run_id uuid, tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    WITH t AS (SELECT coalesce(tenant_id, shelfops.current_tenant()) AS tenant),
    rows AS (
        SELECT b.*,
               jsonb_build_object(
                   'mae', b.metrics->'mae',
                   'mape_nonzero', b.metrics->'mape_nonzero',
                   'mape', b.metrics->'mape_nonzero',
                   'wape', b.metrics->'wape',
                   'mase', b.metrics->'mase',
                   'bias_pct', b.metrics->'bias_pct',
                   'stockout_miss_rate', b.metrics->'stockout_miss_rate',
                   'overstock_rate', b.metrics->'overstock_rate',
                   'overstock_dollars', b.metrics->'overstock_dollars',
                   'overstock_dollars_confidence', b.metrics->'overstock_dollars_confidence',
                   'coverage', b.metrics->'coverage',
                   'seasonal_naive_wape', b.seasonal_naive->'wape') AS m,
               (SELECT bool_or(v->>'frequency' = 'weekly') FROM jsonb_each(b.split) AS s(k, v)) AS any_weekly
          FROM shelfops.benchmark_results b, t
         WHERE b.tenant_id = t.tenant AND b.benchmark_run_id = shelfops_benchmark_json.run_id),
    single AS (
        SELECT jsonb_agg(jsonb_build_object(
                   'dataset_id', r.datasets,
                   'algorithm', r.algorithm,
                   'rows_used', r.rows_used,
                   'rows_train', r.rows_train,
                   'rows_test', r.rows_holdout,
                   'frequency', r.frequency,
                   'use_log_target', false,
                   'target_transform', CASE WHEN r.any_weekly AND r.algorithm = 'xgboost'
                                            THEN 'y - lag_year' ELSE 'none' END,
                   'split', r.split,
                   'params', r.params,
                   'seconds', r.seconds,
                   'data_fingerprint', r.data_fingerprints->r.datasets) || r.m ORDER BY r.ordinal) AS j
          FROM rows r WHERE r.kind = 'dataset'),
    combo AS (
        SELECT jsonb_agg(jsonb_build_object(
                   'datasets', to_jsonb(string_to_array(o.datasets, '+')),
                   'algorithm', o.algorithm,
                   'rows_used', o.rows_used,
                   'rows_train', o.rows_train,
                   'rows_test', o.rows_holdout,
                   'frequency', o.frequency,
                   'use_log_target', false,
                   'target_transform', CASE WHEN o.any_weekly THEN 'y - lag_year on weekly rows' ELSE 'none' END,
                   'split', o.split,
                   'params', o.params,
                   'seconds', o.seconds,
                   'data_fingerprints', o.data_fingerprints,
                   'overall', o.m,
                   'per_source', (SELECT jsonb_object_agg(s.slice, s.m || jsonb_build_object('rows_test', s.rows_holdout,
                                                                                              'rows_train', s.rows_train))
                                    FROM rows s
                                   WHERE s.kind = 'combo' AND s.datasets = o.datasets
                                     AND s.algorithm = o.algorithm AND s.slice <> 'overall'))
                   || o.m ORDER BY o.ordinal) AS j
          FROM rows o WHERE o.kind = 'combo' AND o.slice = 'overall')
    SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM rows)
                THEN shelfops.no_benchmark_run(shelfops_benchmark_json.run_id, (SELECT tenant FROM t)) ELSE
           jsonb_build_object(
               'benchmark_run_id', shelfops_benchmark_json.run_id,
               'tenant_id', (SELECT tenant FROM t),
               'generated_at', (SELECT to_char(min(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') FROM rows),
               'split', 'time',
               'library_versions', (SELECT library_versions FROM rows ORDER BY ordinal LIMIT 1),
               'results', coalesce((SELECT j FROM single), '[]'),
               'combos', coalesce((SELECT j FROM combo), '[]')) END
$$;
COMMENT ON FUNCTION shelfops_benchmark_json(uuid, text) IS
  'One benchmark run in the reference''s benchmark JSON layout (results per dataset, combos with per-source slices); an unknown run (or another tenant''s) is an error';

------------------------------------------------------------------------------
-- 68_plot: SVG pictures (new)
------------------------------------------------------------------------------
-- Pictures as self-contained SVG (src/plot.c, docs/plots.md).

CREATE FUNCTION shelfops_plot_forecast(model_name text,
                                       store_id text,
                                       product_id text,
                                       history integer DEFAULT 90,
                                       version integer DEFAULT NULL,
                                       horizon integer DEFAULT NULL,
                                       as_of date DEFAULT NULL,
                                       level float8 DEFAULT 0.9,
                                       tenant_id text DEFAULT NULL)
RETURNS text
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'shelfops_plot_forecast';
COMMENT ON FUNCTION shelfops_plot_forecast(text, text, text, integer, integer, integer, date, float8, text) IS
  'SVG of one series: actuals over history periods, the version''s forecast (champion, else the latest version) and its interval band, with axes, dates and a legend';

CREATE FUNCTION shelfops_plot_benchmark(run_id uuid,
                                        metric text DEFAULT 'wape',
                                        tenant_id text DEFAULT NULL)
RETURNS text
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'shelfops_plot_benchmark';
COMMENT ON FUNCTION shelfops_plot_benchmark(uuid, text, text) IS
  'SVG bar chart of one metric of a benchmark run, one bar per dataset (or combo slice) and algorithm';

------------------------------------------------------------------------------
-- 72_drift: the drift trigger (new)
------------------------------------------------------------------------------
-- Drift monitor: the champion's recent error against its holdout error, read by the
-- retrain jobs (85_jobs.sql: the drift trigger of shelfops_run_due_jobs, the figures
-- in the log row of a drift run) and by shelfops.model_health (75_views.sql).  It
-- comes before both: PL/pgSQL bodies read model_retraining_log and retrain_jobs at
-- run time only.  See docs/scheduling.md.

-- The drift cooldown of a model's retrain job: when its last drift run (any log row
-- with trigger drift that was not skipped) started, and whether the policy's
-- drift_cooldown since then has not passed yet.  shelfops.retrain_drift reports it;
-- shelfops.retrain_due_trigger reads it first, so a cooling job skips the drift
-- measurement altogether.
CREATE FUNCTION shelfops.retrain_drift_cooling(p_tenant text, p_model text,
                                               OUT last_run timestamptz, OUT cooling boolean)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT l.last_run,
           coalesce(l.last_run + (shelfops.effective_gate_policy(p_tenant, p_model)).drift_cooldown > now(), false)
      FROM (SELECT max(r.started_at) AS last_run FROM shelfops.model_retraining_log r
             WHERE r.tenant_id = p_tenant AND r.model_name = p_model AND r.trigger_type = 'drift'
               AND r.status <> 'skipped') l
$$;
COMMENT ON FUNCTION shelfops.retrain_drift_cooling(text, text) IS
  'When a model''s last drift run started and whether its drift cooldown is still running';

-- The champion's rolling MAE over matched forecasts and actuals, against its holdout
-- MAE.  Pairs: the champion version's persisted forecasts (shelfops.forecasts) joined
-- to the actual sales rows of its dataset, and its scored shadow rows
-- (shelfops.shadow_predictions, champion side); one pair per (store, product, target
-- date): a persisted forecast before a shadow row, the latest origin first.  The
-- window is the policy's drift_window_days ending at the newest matched target date
-- (the data's clock, as in shelfops.model_health).  Drift: at least drift_min_rows
-- pairs and recent_mae > holdout_mae * (1 + drift_mae_ratio).  Cooldown: a drift run
-- (any log row with trigger drift that was not skipped) started less than
-- drift_cooldown ago.  'due' = drift and not cooling down.  Returns the figures;
-- 'drift' is NULL (unknown) with a 'reason' when it cannot be measured.
CREATE FUNCTION shelfops.retrain_drift(p_tenant text, p_model text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pol        shelfops.gate_policy := shelfops.effective_gate_policy(p_tenant, p_model);
    v_version  integer;
    v_dataset  text;
    v_holdout  float8;
    v_end      date;
    v_mae      float8;
    v_rows     bigint;
    v_fc       bigint;
    v_sh       bigint;
    v_last     timestamptz;
    v_drift    boolean;
    v_reason   text;
    v_ratio    float8;
    v_cooling  boolean;
BEGIN
    SELECT v.version, v.dataset_id, shelfops.json_float(v.metrics -> 'holdout' -> 'mae')
      INTO v_version, v_dataset, v_holdout
      FROM shelfops.model_versions v
     WHERE v.tenant_id = p_tenant AND v.model_name = p_model AND v.status = 'champion';
    SELECT c.last_run, c.cooling INTO v_last, v_cooling FROM shelfops.retrain_drift_cooling(p_tenant, p_model) c;
    IF v_version IS NULL THEN
        v_reason := 'no_champion';
    ELSE
        WITH pairs AS (
            SELECT DISTINCT ON (x.store_id, x.product_id, x.target_date)
                   x.target_date, abs(x.pred - x.actual) AS err, x.src
              FROM (SELECT f.store_id, f.product_id, f.target_date, f.forecast AS pred, s.quantity AS actual,
                           1 AS pri, f.forecast_origin AS origin, 'forecasts' AS src
                      FROM shelfops.forecasts f
                      JOIN shelfops.sales s
                        ON s.tenant_id = p_tenant AND s.dataset_id = v_dataset
                       AND s.store_id = f.store_id COLLATE "C" AND s.product_id = f.product_id COLLATE "C"
                       AND s.sale_date = f.target_date
                     WHERE f.tenant_id = p_tenant AND f.model_name = p_model AND f.version = v_version
                    UNION ALL
                    SELECT sp.store_id, sp.product_id, sp.target_date, sp.champion_prediction, sp.actual_demand,
                           2, sp.forecast_origin, 'shadow'
                      FROM shelfops.shadow_predictions sp
                     WHERE sp.tenant_id = p_tenant AND sp.model_name = p_model
                       AND sp.champion_version = v_version AND sp.actual_demand IS NOT NULL) x
             ORDER BY x.store_id, x.product_id, x.target_date, x.pri, x.origin DESC
        ), windowed AS (
            SELECT p.* FROM pairs p
             WHERE p.target_date > (SELECT max(target_date) FROM pairs) - pol.drift_window_days
        )
        SELECT avg(err), count(*), max(target_date),
               count(*) FILTER (WHERE src = 'forecasts'), count(*) FILTER (WHERE src = 'shadow')
          INTO v_mae, v_rows, v_end, v_fc, v_sh
          FROM windowed;
        IF v_holdout IS NULL OR v_holdout <= 0 THEN
            v_reason := 'no_holdout_mae';
        ELSIF v_rows < pol.drift_min_rows THEN
            v_reason := 'too_few_rows';
        ELSE
            v_ratio := v_mae / v_holdout - 1;
            v_drift := v_ratio > pol.drift_mae_ratio;
            v_reason := CASE WHEN v_drift THEN 'recent_mae_above_threshold' ELSE 'within_threshold' END;
        END IF;
    END IF;
    RETURN jsonb_build_object(
        'drift',            v_drift,
        'due',              coalesce(v_drift AND NOT v_cooling, false),
        'reason',           v_reason,
        'champion_version', v_version,
        'holdout_mae',      v_holdout,
        'recent_mae',       v_mae,
        'baseline_mae',     v_holdout,
        'ratio',            v_ratio,
        'drift_pct',        round((v_ratio * 100)::numeric, 1),
        'threshold',        pol.drift_mae_ratio,
        'rows',             coalesce(v_rows, 0),
        'min_rows',         pol.drift_min_rows,
        'forecast_rows',    coalesce(v_fc, 0),
        'shadow_rows',      coalesce(v_sh, 0),
        'window_days',      pol.drift_window_days,
        'window_start',     v_end - pol.drift_window_days + 1,
        'window_end',       v_end,
        'cooldown',         pol.drift_cooldown,
        'last_drift_run_at', v_last,
        'cooldown_until',   CASE WHEN v_cooling THEN v_last + pol.drift_cooldown END);
END
$$;
COMMENT ON FUNCTION shelfops.retrain_drift(text, text) IS
  'Drift of a model''s champion: rolling MAE over matched forecasts/shadow rows vs holdout MAE, policy ratio and cooldown';

-- For shelfops.model_health, whose readers (shelfops_app) have no grant on the
-- tables: the session tenant's figures only, so a caller cannot name another tenant.
CREATE FUNCTION shelfops.model_drift(p_model text)
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT shelfops.retrain_drift(shelfops.current_tenant(), p_model) $$;
COMMENT ON FUNCTION shelfops.model_drift(text) IS
  'shelfops.retrain_drift for the session tenant (used by shelfops.model_health)';

-- The next run of the session tenant's enabled retrain job of a model, NULL without
-- one (for shelfops.model_health, which is created before the job catalog).
CREATE FUNCTION shelfops.retrain_job_next_run(p_model text)
RETURNS timestamptz
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (SELECT j.next_run_at FROM shelfops.retrain_jobs j
             WHERE j.tenant_id = shelfops.current_tenant() AND j.model_name = p_model AND j.enabled);
END
$$;
COMMENT ON FUNCTION shelfops.retrain_job_next_run(text) IS
  'Next run of the session tenant''s enabled retrain job of a model (used by shelfops.model_health)';

------------------------------------------------------------------------------
-- 75_views: model_health reads the retrain job and the drift monitor
------------------------------------------------------------------------------
CREATE OR REPLACE VIEW shelfops.model_health WITH (security_barrier) AS
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
               -- the model's retrain job (85_jobs.sql); without one (or disabled), the
               -- reference's default weekly schedule
               'next_retrain', coalesce(job.next_run_at, shelfops.next_weekly_retrain(now())))
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
           -- shelfops.retrain_drift (72_drift.sql): NULL = unknown (no champion, no
           -- holdout MAE, too few matched rows), never "no drift"
           'drift_detected',                   (dr.d ->> 'drift')::boolean,
           'drift',                            dr.d,
           -- new periods since the champion's holdout, or more rows than its training read
           'new_data_available',               CASE WHEN ch.version IS NOT NULL
                                                    THEN anchor.as_of > ch.holdout_end OR nd.n > 0 END,
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
        -- the data clock: the last sale date of the champion's dataset (else the
        -- challenger's), and its row count, as shelfops.datasets records them (kept
        -- current by loads and by the triggers of 12_sales_extent.sql: no scan of sales)
        SELECT d.date_max AS as_of, d.row_count
          FROM shelfops.datasets d
         WHERE d.tenant_id = m.tenant_id AND d.dataset_id = coalesce(ch.dataset_id, cl.dataset_id)) anchor ON true
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
        -- rows the champion's dataset gained since the champion was trained: its row
        -- count now less the rows its training read (training_runs.row_counts)
        SELECT greatest(anchor.row_count - (r.row_counts ->> 'sales_rows')::bigint, 0) AS n
          FROM shelfops.training_runs r
         WHERE r.tenant_id = m.tenant_id AND r.model_name = m.model_name AND r.version = ch.version
           AND r.status = 'completed' AND jsonb_typeof(r.row_counts -> 'sales_rows') = 'number'
         ORDER BY r.started_at DESC
         LIMIT 1) nd ON ch.version IS NOT NULL
  CROSS JOIN LATERAL (
        SELECT shelfops.retrain_job_next_run(m.model_name) AS next_run_at) job
  CROSS JOIN LATERAL (
        SELECT shelfops.model_drift(m.model_name) AS d) dr
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

------------------------------------------------------------------------------
-- 80_progress: tuning trials in the progress function (its row type changes)
------------------------------------------------------------------------------
DROP VIEW shelfops.training_progress;
DROP FUNCTION shelfops_progress();
-- Training progress (docs/progress.md): what each running shelfops_train or shelfops_tune is doing,
-- read from shared memory.  Empty unless shelfops is in shared_preload_libraries.

CREATE FUNCTION shelfops_progress()
RETURNS TABLE(pid integer, tenant_id text, model_name text, dataset_id text, algorithm text,
              phase text, rounds_done integer, rounds_total integer,
              rows_train bigint, rows_holdout bigint,
              started_at timestamptz, phase_started_at timestamptz, elapsed interval,
              trials_done integer, trials_total integer)
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_progress';
COMMENT ON FUNCTION shelfops_progress() IS
  'Trainings and tunings running in this database: phase, boosting rounds, rows, tuning trials; superusers see every tenant, others their own';

-- The session's tenant only (what a CLI polls from a second connection).
CREATE VIEW shelfops.training_progress AS
SELECT p.*
  FROM shelfops_progress() p
 WHERE p.tenant_id = shelfops.current_tenant();
COMMENT ON VIEW shelfops.training_progress IS
  'Running trainings of the session''s tenant (shelfops_progress filtered by shelfops.current_tenant())';
GRANT SELECT ON shelfops.training_progress TO shelfops_analyst;

------------------------------------------------------------------------------
-- 85_jobs: max_runtime deadline, if_due, drift and new_data triggers, parallel
-- retrain workers (issue 6)
------------------------------------------------------------------------------
-- The max_runtime deadline of a run (src/jobs.c): start arms a timer for the current
-- transaction that cancels the running statement when it fires; stop disarms it
-- and says whether it fired (the cancel was the deadline's: the run timed out).
CREATE FUNCTION shelfops.retrain_deadline_start(max_runtime interval)
RETURNS void
LANGUAGE C VOLATILE STRICT
AS 'MODULE_PATHNAME', 'shelfops_retrain_deadline_start';

CREATE FUNCTION shelfops.retrain_deadline_stop()
RETURNS boolean
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_retrain_deadline_stop';


DROP PROCEDURE shelfops_retrain(text, text, text);

-- A procedure so that it can COMMIT: the running row is committed before training
-- starts, and the outcome is written in a later transaction.  It must therefore be
-- called with CALL outside an explicit transaction block, and it is neither
-- SECURITY DEFINER nor SET (PostgreSQL forbids transaction control in those).
CREATE PROCEDURE shelfops_retrain(model_name text, tenant_id text DEFAULT NULL, trigger text DEFAULT 'scheduled',
                                   if_due boolean DEFAULT false)
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
    v_timeout  boolean := false;
    v_started  timestamptz;
    v_drift    jsonb;
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
    IF coalesce(if_due, false) AND NOT j.enabled THEN
        RETURN;                                -- not due: not a run, no row
    END IF;
    IF NOT j.enabled THEN
        v_skip := 'job_disabled';
    ELSIF NOT coalesce(if_due, false) AND NOT v_trigger = ANY (j.enabled_triggers) THEN
        v_skip := 'trigger_not_enabled';
    ELSIF NOT pg_catalog.pg_try_advisory_lock(v_k1, v_k2) THEN
        v_skip := 'lock_held';
    ELSIF coalesce(if_due, false) THEN
        -- under the lock, with a fresh snapshot: another session may have run the job
        -- since the caller found it due; then this is not a run and leaves no row
        SELECT * INTO j FROM shelfops.retrain_jobs r WHERE r.tenant_id = v_tenant AND r.model_name = v_model;
        v_trigger := CASE WHEN FOUND THEN shelfops.retrain_due_trigger(j) END;
        IF v_trigger IS NULL THEN
            PERFORM pg_catalog.pg_advisory_unlock(v_k1, v_k2);
            COMMIT;
            RETURN;
        END IF;
    END IF;
    IF v_trigger = 'drift' THEN
        -- the figures that (would have) triggered the run, as measured now
        v_drift := shelfops.retrain_drift(v_tenant, v_model);
        v_drift := jsonb_build_object('drift', v_drift)
                   || jsonb_strip_nulls(jsonb_build_object(
                          'drift_pct', v_drift->'drift_pct', 'baseline_mae', v_drift->'baseline_mae',
                          'recent_mae', v_drift->'recent_mae', 'champion_version', v_drift->'champion_version',
                          'sample_count', v_drift->'rows'));
    END IF;
    IF v_skip IS NOT NULL THEN
        INSERT INTO shelfops.model_retraining_log (tenant_id, model_name, job_id, trigger_type, trigger_metadata,
                                                   status, decision, backend_pid, completed_at)
        VALUES (v_tenant, v_model, j.job_id, v_trigger, jsonb_build_object('reason', v_skip) || coalesce(v_drift, '{}'),
                'skipped', 'skipped:' || v_skip, pg_catalog.pg_backend_pid(), clock_timestamp());
        COMMIT;
        RETURN;
    END IF;

    -- the dataset's size as recorded (loads and the triggers of 12_sales_extent.sql)
    SELECT d.row_count INTO v_rows FROM shelfops.datasets d
     WHERE d.tenant_id = v_tenant AND d.dataset_id = j.dataset_id;
    INSERT INTO shelfops.model_retraining_log (tenant_id, model_name, job_id, trigger_type, trigger_metadata,
                                               status, backend_pid)
    VALUES (v_tenant, v_model, j.job_id, v_trigger,
            jsonb_build_object('dataset_id', j.dataset_id, 'algorithm', j.algorithm, 'params', j.params,
                               'horizon', j.horizon) || coalesce(v_drift, '{}'),
            'running', pg_catalog.pg_backend_pid())
    RETURNING retrain_id, started_at INTO v_id, v_started;
    COMMIT;

    BEGIN
        -- max_runtime: a timer cancels the run when it passes (between boosting rounds)
        PERFORM shelfops.retrain_deadline_start(j.max_runtime);
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
        -- the deadline may have fired after the last interrupt check: still a timeout
        IF shelfops.retrain_deadline_stop() THEN
            RAISE EXCEPTION 'max_runtime reached' USING ERRCODE = 'query_canceled';
        END IF;
        PERFORM shelfops.retrain_finish(v_id, 'completed', v_version, v_decision, NULL, v_meta);
    EXCEPTION
        WHEN query_canceled THEN
            -- everything the run wrote (model version, training run) is rolled back
            GET STACKED DIAGNOSTICS v_err := MESSAGE_TEXT, v_state := RETURNED_SQLSTATE;
            IF shelfops.retrain_deadline_stop() THEN
                v_timeout := true;
                PERFORM shelfops.retrain_finish(v_id, 'timed_out', NULL, 'timed_out',
                            format('run exceeded max_runtime %s and was cancelled', j.max_runtime),
                            jsonb_build_object('sqlstate', v_state, 'max_runtime', j.max_runtime,
                                               'seconds', round(extract(epoch FROM clock_timestamp() - v_started)::numeric, 3)));
            ELSE
                v_cancel := true;
                PERFORM shelfops.retrain_finish(v_id, 'failed', NULL, NULL, v_err,
                                                jsonb_build_object('sqlstate', v_state, 'canceled', true));
            END IF;
        WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_err := MESSAGE_TEXT, v_state := RETURNED_SQLSTATE;
            PERFORM shelfops.retrain_deadline_stop();
            PERFORM shelfops.retrain_finish(v_id, 'failed', NULL, NULL, v_err,
                                            jsonb_build_object('sqlstate', v_state));
    END;
    PERFORM pg_catalog.pg_advisory_unlock(v_k1, v_k2);
    COMMIT;
    IF v_timeout THEN
        RAISE WARNING 'retrain of model "%" exceeded max_runtime % and was cancelled (logged timed_out)',
            v_model, j.max_runtime;
    END IF;
    IF v_cancel THEN
        RAISE EXCEPTION 'retrain of model "%" was canceled: %', v_model, v_err USING ERRCODE = 'query_canceled';
    END IF;
END
$$;
COMMENT ON PROCEDURE shelfops_retrain(text, text, text, boolean) IS
  'Run a model''s retrain job now (if_due: only if still due, checked under its lock): one log row (skipped, or running then completed/failed/timed_out), auto-promotion per policy';

-- new_data: the job's dataset gained at least the policy's new_data_min_rows rows
-- since the last completed run.
CREATE FUNCTION shelfops.retrain_new_data_due(j shelfops.retrain_jobs)
RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT 'new_data' = ANY (j.enabled_triggers) AND j.rows_at_last_run IS NOT NULL
       AND (SELECT d.row_count FROM shelfops.datasets d
             WHERE d.tenant_id = j.tenant_id AND d.dataset_id = j.dataset_id) - j.rows_at_last_run
           >= (shelfops.effective_gate_policy(j.tenant_id, j.model_name)).new_data_min_rows
$$;

-- The trigger for which a job is due now, NULL when it is not: its schedule or a
-- pending request (next_run_at passed, trigger enabled), new data, or drift out of
-- cooldown (shelfops.retrain_drift).  In that order.  While a failing job waits for
-- its retry (consecutive_failures > 0, next_run_at ahead) new data and drift do not
-- make it due: the backoff holds for every trigger.
CREATE FUNCTION shelfops.retrain_due_trigger(j shelfops.retrain_jobs)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT CASE
        WHEN NOT j.enabled THEN NULL
        WHEN j.next_run_at <= now() AND j.pending_trigger IS NOT NULL
             AND j.pending_trigger = ANY (j.enabled_triggers) THEN j.pending_trigger
        WHEN j.next_run_at <= now() AND 'scheduled' = ANY (j.enabled_triggers) THEN 'scheduled'
        WHEN j.consecutive_failures > 0 AND j.next_run_at > now() THEN NULL
        WHEN shelfops.retrain_new_data_due(j) THEN 'new_data'
        WHEN 'drift' = ANY (j.enabled_triggers)
             AND NOT (shelfops.retrain_drift_cooling(j.tenant_id, j.model_name)).cooling
             AND (shelfops.retrain_drift(j.tenant_id, j.model_name) ->> 'due')::boolean THEN 'drift'
    END
$$;

-- The enabled jobs that are due now, with the trigger they are due for, in the order
-- they should run: the one list shelfops_run_due_jobs, the worker's count
-- (retrain_free_due_jobs) and a retrain worker's claim (retrain_claim) read.
CREATE FUNCTION shelfops.retrain_due_jobs()
RETURNS TABLE(tenant_id text, model_name text, next_run_at timestamptz, trigger text)
LANGUAGE sql STABLE
AS $$
    SELECT d.tenant_id, d.model_name, d.next_run_at, d.trigger
      FROM (SELECT j.tenant_id::text, j.model_name::text, j.next_run_at,
                   shelfops.retrain_due_trigger(j) AS trigger
              FROM shelfops.retrain_jobs j WHERE j.enabled) d
     WHERE d.trigger IS NOT NULL
     ORDER BY d.next_run_at, d.tenant_id, d.model_name
$$;

-- For the background worker (superuser only, no grant): the due jobs whose
-- (tenant, model) lock is free now, tested with a try-lock that is released at once.
CREATE FUNCTION shelfops.retrain_free_due_jobs()
RETURNS TABLE(tenant_id text, model_name text, trigger text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r  record;
    k1 integer := hashtext('shelfops.retrain');
BEGIN
    FOR r IN SELECT d.tenant_id, d.model_name, d.trigger FROM shelfops.retrain_due_jobs() d LOOP
        IF pg_try_advisory_lock(k1, hashtext(r.tenant_id || '/' || r.model_name)) THEN
            PERFORM pg_advisory_unlock(k1, hashtext(r.tenant_id || '/' || r.model_name));
            tenant_id := r.tenant_id; model_name := r.model_name; trigger := r.trigger;
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;

-- For a retrain worker (superuser only, no grant): claim the first due job whose
-- lock is free by taking that session advisory lock and keeping it; the worker then
-- runs CALL shelfops_retrain(..., if_due => true), which takes the same lock again
-- (advisory locks nest within a session) and re-checks that the job is still due.
-- The worker exits after the run, which releases the claim.
CREATE FUNCTION shelfops.retrain_claim()
RETURNS TABLE(tenant_id text, model_name text, trigger text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r  record;
    k1 integer := hashtext('shelfops.retrain');
BEGIN
    FOR r IN SELECT d.tenant_id, d.model_name, d.trigger FROM shelfops.retrain_due_jobs() d LOOP
        IF pg_try_advisory_lock(k1, hashtext(r.tenant_id || '/' || r.model_name)) THEN
            tenant_id := r.tenant_id; model_name := r.model_name; trigger := r.trigger;
            RETURN NEXT;
            RETURN;
        END IF;
    END LOOP;
END
$$;

-- Run every due job, one transaction each: scheduled (or the pending manual
-- request) when next_run_at has passed, new_data when the job's dataset gained at
-- least the policy's new_data_min_rows rows since the last completed run, drift when
-- shelfops.retrain_drift says the champion drifted and the cooldown has passed.
-- result: {"ran": n, "completed": n, "failed": n, "skipped": n, "timed_out": n}.
CREATE OR REPLACE PROCEDURE shelfops_run_due_jobs(INOUT result jsonb DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
    r        record;
    v_status text;
    v_done   jsonb := '{"ran": 0, "completed": 0, "failed": 0, "skipped": 0, "timed_out": 0}';
    v_due    jsonb;
    v_before timestamptz;
BEGIN
    SELECT coalesce(jsonb_agg(jsonb_build_object('tenant', d.tenant_id, 'model', d.model_name,
                                                 'trigger', d.trigger) ORDER BY d.next_run_at), '[]')
      INTO v_due
      FROM shelfops.retrain_due_jobs() d;
    COMMIT;
    FOR r IN SELECT * FROM jsonb_to_recordset(v_due) AS x(tenant text, model text, trigger text) LOOP
        v_before := now();     -- a row this CALL writes starts in this or a later transaction
        -- if_due: re-checked under the lock; a job another session ran meanwhile is left alone
        CALL @extschema@.shelfops_retrain(r.model, r.tenant, r.trigger, if_due => true);
        v_status := NULL;
        SELECT l.status INTO v_status FROM shelfops.model_retraining_log l
         WHERE l.tenant_id = r.tenant AND l.model_name = r.model AND l.backend_pid = pg_catalog.pg_backend_pid()
           AND l.started_at >= v_before
         ORDER BY l.started_at DESC LIMIT 1;
        CONTINUE WHEN v_status IS NULL;
        v_done := jsonb_set(v_done, '{ran}', to_jsonb((v_done->>'ran')::int + 1));
        IF v_status IN ('completed', 'failed', 'skipped', 'timed_out') THEN
            v_done := jsonb_set(v_done, ARRAY[v_status], to_jsonb((v_done->>v_status)::int + 1));
        END IF;
    END LOOP;
    result := v_done;
END
$$;
COMMENT ON PROCEDURE shelfops_run_due_jobs(jsonb) IS
  'Run every due retrain job (scheduled, requested, new data), committing each run; returns counts';

------------------------------------------------------------------------------
-- 90_security for the objects above: table grants, row-level security on the new
-- tables, then the revoke and grant passes over every routine (both idempotent).
------------------------------------------------------------------------------
GRANT SELECT ON shelfops.benchmark_results, shelfops.tuning_trials TO shelfops_analyst;
GRANT INSERT ON shelfops.benchmark_results TO shelfops_analyst;
GRANT INSERT ON shelfops.tuning_trials TO shelfops_analyst;
DO $$
DECLARE
    t regclass;
BEGIN
    FOREACH t IN ARRAY ARRAY['shelfops.benchmark_results', 'shelfops.tuning_trials']::regclass[] LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %s
                            USING (tenant_id = shelfops.current_tenant())
                            WITH CHECK (tenant_id = shelfops.current_tenant())', t);
    END LOOP;
END
$$;

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
                ('shelfops_refresh_dataset_extent', 'shelfops_analyst'),  -- dataset extent (12_sales_extent.sql)
                ('recount_dataset_extent',        'shelfops_analyst'),
                ('shelfops_train',                'shelfops_analyst'),
                ('shelfops_tune',                 'shelfops_analyst'),  -- tuning (52_tune.sql)
                ('shelfops_backtest',             'shelfops_analyst'),
                ('shelfops_benchmark',            'shelfops_analyst'),  -- benchmarks (67_benchmark.sql)
                ('shelfops_benchmark_combos',     'shelfops_analyst'),
                ('_benchmark_run',                'shelfops_analyst'),
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
                ('retrain_finish',                'shelfops_analyst'),
                ('retrain_deadline_start',        'shelfops_analyst'),
                ('retrain_deadline_stop',         'shelfops_analyst')
               ) AS grants(name, role)
          JOIN pg_proc p ON p.proname = grants.name
          JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
          JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'shelfops'
    LOOP
        EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO %I', g.fn, g.role);
    END LOOP;
END
$$;
