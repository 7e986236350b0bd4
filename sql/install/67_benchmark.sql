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
