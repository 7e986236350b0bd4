-- Benchmarks: shelfops_benchmark scores exactly as shelfops_train does (same split,
-- features, fit and metrics) without creating versions; results carry one run id,
-- parameters, library versions, fingerprints, rows and seconds; two runs compare by a
-- query; combos pool each pair into one model, every dataset on its own calendar,
-- scored overall and per source; the JSON layout; bad arguments; tenancy.
\set VERBOSITY terse
SET shelfops.tenant_id = 'bench_a';
SELECT shelfops_generate_synthetic('bm', 2, 3, 120, 5)->>'rows' AS rows;
SELECT shelfops_generate_synthetic('bm2', 2, 2, 130, 6, '2023-06-01')->>'rows' AS rows;
-- a weekly dataset (3 years, 2 x 2 series)
INSERT INTO shelfops.datasets (dataset_id, family, frequency, grain, date_min, date_max)
VALUES ('bw', 'synthetic', 'weekly', 'store x product x week', '2021-01-01', '2023-12-29');
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
SELECT 'bw', 's' || s, 'p' || p, d,
       round(50 + 20 * sin(extract(week FROM d)::int / 8.0) + s * 5 + p + extract(doy FROM d)::int % 7)
  FROM generate_series('2021-01-01'::date, '2023-12-29', '7 days') d, generate_series(1, 2) s, generate_series(1, 2) p;

-- every dataset with every algorithm: no model version, run or log row is created
SELECT count(*) AS versions_before FROM shelfops.model_versions \gset
SELECT datasets, slice, algorithm, frequency, horizon_periods, holdout_periods, rows_used, rows_train, rows_holdout,
       wape IS NOT NULL AS has_wape, seasonal_naive_wape IS NOT NULL AS has_naive, seconds >= 0 AS has_seconds
  FROM shelfops_benchmark(ARRAY['bm', 'bw'], params => '{"n_estimators": 20, "max_depth": 3}');
SELECT (SELECT count(*) FROM shelfops.model_versions) - :versions_before AS new_versions,
       (SELECT count(*) FROM shelfops.training_runs WHERE tenant_id = 'bench_a') AS runs,
       (SELECT count(*) FROM shelfops.model_retraining_log WHERE tenant_id = 'bench_a') AS log_rows;
SELECT benchmark_run_id AS run1 FROM shelfops.benchmark_results WHERE tenant_id = 'bench_a' LIMIT 1 \gset

-- one run id, its parameters, library versions, fingerprints, the split and seconds per phase
SELECT count(DISTINCT benchmark_run_id) AS run_ids, count(*) AS result_rows,
       bool_and(library_versions ? 'xgboost' AND library_versions ? 'postgresql') AS libraries,
       bool_and(data_fingerprints->>datasets LIKE 'crc32c:%') AS fingerprints,
       bool_and(seconds ?& ARRAY['read', 'features', 'fit', 'score', 'total']) AS phases,
       bool_and((split->datasets->>'holdout_end')::date = (SELECT date_max FROM shelfops.datasets d
                                                            WHERE d.tenant_id = 'bench_a' AND d.dataset_id = datasets))
           AS holdout_ends_at_last_date,
       bool_and((split->datasets->>'train_end')::date < (split->datasets->>'calibration_start')::date
                AND (split->datasets->>'calibration_start')::date <= (split->datasets->>'origin')::date
                AND (split->datasets->>'origin')::date < (split->datasets->>'holdout_start')::date) AS time_ordered
  FROM shelfops.benchmark_results WHERE tenant_id = 'bench_a';
SELECT algorithm, params->>'n_estimators' AS n_estimators, params->>'window' AS window,
       params->>'season' AS season
  FROM shelfops.benchmark_results WHERE tenant_id = 'bench_a' AND datasets = 'bw' ORDER BY ordinal;

-- the same pipeline as shelfops_train: identical metrics, seasonal naive, rows and fingerprint
SELECT (shelfops_train('bm', 'bm_model', 'xgboost', '{"n_estimators": 20, "max_depth": 3}'))->>'version' AS version;
SELECT (shelfops_train('bw', 'bw_model', 'moving_average'))->>'version' AS version;
SELECT b.datasets, b.algorithm,
       b.metrics = mv.metrics->'holdout' AS same_metrics,
       b.seasonal_naive = mv.metrics->'seasonal_naive' AS same_naive,
       b.rows_train = mv.rows_trained AND b.rows_holdout = mv.rows_holdout AS same_rows,
       b.params = mv.params AS same_params,
       b.data_fingerprints->>b.datasets = mv.data_fingerprint AS same_fingerprint,
       b.library_versions->'xgboost' = tr.library_versions->'xgboost' AS same_xgboost,
       (b.split->b.datasets->>'holdout_start')::date = mv.holdout_start AS same_holdout
  FROM shelfops.benchmark_results b
  JOIN shelfops.model_versions mv ON mv.tenant_id = b.tenant_id AND mv.dataset_id = b.datasets
                                  AND mv.algorithm = b.algorithm
  JOIN shelfops.training_runs tr ON tr.tenant_id = mv.tenant_id AND tr.run_id = mv.training_run_id
 WHERE b.tenant_id = 'bench_a' AND b.benchmark_run_id = :'run1' ORDER BY b.ordinal;
-- every canonical metric is recorded
SELECT array_agg(k ORDER BY k) AS metric_keys
  FROM jsonb_object_keys((SELECT metrics FROM shelfops.benchmark_results WHERE benchmark_run_id = :'run1'
                           AND algorithm = 'xgboost' AND datasets = 'bm')) k;

-- two runs compared with a query, row by row: the same benchmark twice is reproducible
SELECT count(*) AS rows FROM shelfops_benchmark(ARRAY['bm'], ARRAY['xgboost'], '{"n_estimators": 20, "max_depth": 3}', horizon => 7);
SELECT count(*) AS rows FROM shelfops_benchmark(ARRAY['bm'], ARRAY['xgboost'], '{"n_estimators": 20, "max_depth": 3}', horizon => 7);
WITH runs AS (
    SELECT benchmark_run_id, row_number() OVER (ORDER BY min(created_at), benchmark_run_id) AS n
      FROM shelfops.benchmark_results WHERE tenant_id = 'bench_a' AND horizon = 7
     GROUP BY benchmark_run_id)
SELECT a.datasets, a.algorithm, a.horizon, a.holdout, a.metrics = b.metrics AS reproducible,
       a.benchmark_run_id <> b.benchmark_run_id AS two_runs
  FROM shelfops.benchmark_results a
  JOIN runs ra ON ra.benchmark_run_id = a.benchmark_run_id AND ra.n = 1
  JOIN shelfops.benchmark_results b ON b.datasets = a.datasets AND b.algorithm = a.algorithm
  JOIN runs rb ON rb.benchmark_run_id = b.benchmark_run_id AND rb.n = 2;

-- combos: every pair, one pooled model each, scored overall and per source
SELECT datasets, slice, algorithm, frequency, horizon_periods, holdout_periods, rows_used, rows_train, rows_holdout
  FROM shelfops_benchmark_combos(ARRAY['bm', 'bm2', 'bw'], params => '{"n_estimators": 20, "max_depth": 3}');
SELECT benchmark_run_id AS combo_run FROM shelfops.benchmark_results WHERE tenant_id = 'bench_a' AND kind = 'combo' LIMIT 1 \gset
-- each source slice keeps its own calendar and split: its holdout is the one a
-- single-dataset benchmark of that dataset uses (same dates, same rows)
SELECT c.datasets, c.slice, c.split->c.slice = s.split->c.slice AS same_split,
       c.rows_holdout = s.rows_holdout AS same_holdout_rows, c.rows_train = s.rows_train AS same_train_rows
  FROM shelfops.benchmark_results c
  JOIN shelfops.benchmark_results s ON s.tenant_id = c.tenant_id AND s.benchmark_run_id = :'run1'
                                   AND s.datasets = c.slice AND s.algorithm = c.algorithm
 WHERE c.benchmark_run_id = :'combo_run' AND c.slice <> 'overall' ORDER BY c.ordinal;
-- overall = both slices' rows: counts add up, and the absolute errors too (mae x rows)
SELECT o.datasets,
       o.rows_holdout = sum(s.rows_holdout) AS rows_add_up,
       o.rows_train = sum(s.rows_train) AS train_rows_add_up,
       abs((o.metrics->>'mae')::float8 * o.rows_holdout
           - sum((s.metrics->>'mae')::float8 * s.rows_holdout)) < 1e-6 AS errors_add_up,
       o.split = jsonb_object_agg(s.slice, s.split->s.slice) AS split_is_both,
       o.data_fingerprints = jsonb_object_agg(s.slice, s.data_fingerprints->s.slice) AS fingerprints_are_both
  FROM shelfops.benchmark_results o
  JOIN shelfops.benchmark_results s ON s.benchmark_run_id = o.benchmark_run_id AND s.datasets = o.datasets
                                   AND s.slice <> 'overall'
 WHERE o.benchmark_run_id = :'combo_run' AND o.slice = 'overall'
 GROUP BY o.datasets, o.rows_holdout, o.rows_train, o.metrics, o.split, o.data_fingerprints, o.ordinal
 ORDER BY o.ordinal;
-- a pooled model is not two separate models: a slice differs from its dataset trained alone
SELECT bool_or(c.metrics <> s.metrics) AS pooled_differs
  FROM shelfops.benchmark_results c
  JOIN shelfops.benchmark_results s ON s.benchmark_run_id = :'run1' AND s.datasets = c.slice AND s.algorithm = 'xgboost'
 WHERE c.benchmark_run_id = :'combo_run' AND c.slice <> 'overall';

-- the reference's JSON layout
SELECT array_agg(k ORDER BY k) AS top_keys FROM jsonb_object_keys(shelfops_benchmark_json(:'run1')) k;
SELECT array_agg(k ORDER BY k) AS result_keys
  FROM jsonb_object_keys(shelfops_benchmark_json(:'run1')->'results'->0) k;
SELECT r->>'dataset_id' AS dataset_id, r->>'algorithm' AS algorithm, r->>'frequency' AS frequency,
       r->>'target_transform' AS target_transform,
       r->'mape' = r->'mape_nonzero' AS mape_alias,
       r->'wape' = b.metrics->'wape' AND r->'mae' = b.metrics->'mae' AS metrics_agree,
       (r->>'rows_test')::bigint = b.rows_holdout AS rows_agree
  FROM jsonb_array_elements(shelfops_benchmark_json(:'run1')->'results') WITH ORDINALITY AS x(r, n)
  JOIN shelfops.benchmark_results b ON b.benchmark_run_id = :'run1' AND b.ordinal = x.n - 1
 ORDER BY x.n;
SELECT jsonb_array_length(j->'results') AS results, jsonb_array_length(j->'combos') AS combos,
       j->'combos'->0->'datasets' AS first_pair,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(j->'combos'->0->'per_source') k) AS sources,
       j->'combos'->0->'overall'->'wape' = j->'combos'->0->'wape' AS overall_wape,
       j->'combos'->2->>'frequency' AS mixed_frequency
  FROM shelfops_benchmark_json(:'combo_run') j;
SELECT shelfops_benchmark_json('00000000-0000-0000-0000-000000000000') AS unknown_run;

-- bad arguments: nothing is written
SELECT count(*) AS rows_before FROM shelfops.benchmark_results WHERE tenant_id = 'bench_a' \gset
SELECT * FROM shelfops_benchmark(NULL);
SELECT * FROM shelfops_benchmark('{}');
SELECT * FROM shelfops_benchmark(ARRAY['bm', 'bm']);
SELECT * FROM shelfops_benchmark(ARRAY['bm', NULL]);
SELECT * FROM shelfops_benchmark(ARRAY['bad id']);
SELECT * FROM shelfops_benchmark(ARRAY['nope']);
SELECT * FROM shelfops_benchmark(ARRAY['bm'], ARRAY['nope']);
SELECT * FROM shelfops_benchmark(ARRAY['bm'], params => '[1]');
SELECT * FROM shelfops_benchmark(ARRAY['bm'], params => '{"xgboost": {}, "max_depth": 3}');
SELECT * FROM shelfops_benchmark(ARRAY['bm'], params => '{"xgboost": 3}');
SELECT * FROM shelfops_benchmark(ARRAY['bm'], params => '{"max_depth": -1}');
SELECT * FROM shelfops_benchmark(ARRAY['bm'], horizon => 50);
SELECT * FROM shelfops_benchmark(ARRAY['bm'], horizon => 7, holdout => 8);
SELECT * FROM shelfops_benchmark(ARRAY['bm', 'nope']);
SELECT * FROM shelfops_benchmark_combos(ARRAY['bm'], ARRAY['xgboost']);
SELECT * FROM shelfops_benchmark_combos(ARRAY['bm', 'bm2'], ARRAY['seasonal_naive']);
SELECT count(*) - :rows_before AS rows_written FROM shelfops.benchmark_results WHERE tenant_id = 'bench_a';

-- tenancy: an analyst of tenant B sees none of A's results and cannot act for A
CREATE ROLE regress_bench_analyst;
GRANT shelfops_analyst TO regress_bench_analyst;
SET ROLE regress_bench_analyst;
SET shelfops.tenant_id = 'bench_b';
SELECT count(*) AS visible FROM shelfops.benchmark_results;
SELECT shelfops_benchmark_json(:'run1') AS other_tenants_run;
SELECT * FROM shelfops_benchmark(ARRAY['bm'], tenant_id => 'bench_a');
SELECT * FROM shelfops_benchmark(ARRAY['bm']);
-- in its own tenant's session it benchmarks, and reads its rows back
SET shelfops.tenant_id = 'bench_a';
SELECT datasets, algorithm, rows_holdout FROM shelfops_benchmark(ARRAY['bm'], ARRAY['seasonal_naive']);
SELECT count(DISTINCT benchmark_run_id) AS runs_visible FROM shelfops.benchmark_results;
-- an app role may not benchmark
RESET ROLE;
CREATE ROLE regress_bench_app;
GRANT shelfops_app TO regress_bench_app;
SET ROLE regress_bench_app;
SELECT * FROM shelfops_benchmark(ARRAY['bm']);
RESET ROLE;
DROP ROLE regress_bench_analyst;
DROP ROLE regress_bench_app;

-- later tests read whole tables: leave no row of this tenant behind
RESET shelfops.tenant_id;
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN
        SELECT c.oid::regclass FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
         WHERE c.relnamespace = 'shelfops'::regnamespace AND c.relkind = 'r' AND a.attname = 'tenant_id'
    LOOP
        EXECUTE format('DELETE FROM %s WHERE tenant_id IN (''bench_a'', ''bench_b'')', t);
    END LOOP;
END
$$;
