-- shelfops_train and shelfops_forecast on a small synthetic dataset: what a training
-- writes, that it beats its own seasonal naive, determinism, baselines, cancel,
-- every bad argument, forecasting, and corrupted model bytes.
\set VERBOSITY terse
SELECT shelfops_generate_synthetic('tr', 3, 10, 200, 7)->>'rows' AS rows;

-- a small xgboost: version 1, a candidate that beats the seasonal naive on the same rows
SELECT r->>'version' AS version, r->>'status' AS status, r->>'holdout_start' AS holdout_start,
       r->>'holdout_end' AS holdout_end, r->'rows' AS rows,
       (r->'metrics'->>'wape')::float8 < (r->'seasonal_naive'->>'wape')::float8 AS beats_naive,
       (r->'metrics'->>'coverage')::float8 BETWEEN 0.5 AND 1 AS coverage_sane,
       r->'metrics'->>'overstock_dollars_confidence' AS cost_confidence
  FROM shelfops_train('tr', 'm', 'xgboost', '{"n_estimators": 40, "max_depth": 4}') r;

-- what it wrote
SELECT model_name, version, status, algorithm, dataset_id, frequency, horizon, length(model_sha256) AS sha_len,
       model_format, library_version, rows_holdout, train_end, holdout_start, holdout_end,
       params->>'n_estimators' AS rounds, feature_spec->>'horizon' AS spec_horizon,
       lineage->>'lineage_label' AS lineage_label, smoke_test_passed,
       jsonb_array_length(calibration->'halfwidths') AS calibration_levels
  FROM shelfops.model_versions WHERE dataset_id = 'tr';
SELECT model_name, version, algorithm, trigger, status, row_counts->>'holdout' AS holdout_rows,
       feature_importance IS NOT NULL AS has_importance, library_versions->>'xgboost' AS xgboost
  FROM shelfops.training_runs WHERE dataset_id = 'tr';
SELECT model_name, trigger_type, status, version_produced, decision, completed_at >= started_at AS ordered
  FROM shelfops.model_retraining_log WHERE model_name = 'm';

-- deterministic: the same data, parameters and seed give byte-identical models
SELECT (shelfops_train('tr', 'm', 'xgboost', '{"n_estimators": 40, "max_depth": 4}'))->>'version' AS version;
SELECT count(DISTINCT model_sha256) AS distinct_models, count(*) AS versions FROM shelfops.model_versions WHERE model_name = 'm';

-- baselines train through the same interface
SELECT r->>'algorithm' AS algorithm, r->>'version' AS version,
       round((r->'metrics'->>'wape')::numeric, 6) = round((r->'seasonal_naive'->>'wape')::numeric, 6) AS equals_naive
  FROM shelfops_train('tr', 'naive', 'seasonal_naive') r;
SELECT r->>'algorithm' AS algorithm, r->'metrics'->>'wape' IS NOT NULL AS scored
  FROM shelfops_train('tr', 'ma', 'moving_average', '{"window": 14}') r;

-- bad calls: each a clear error, and nothing written
CREATE TEMP TABLE before AS
SELECT (SELECT count(*) FROM shelfops.model_versions) AS versions, (SELECT count(*) FROM shelfops.training_runs) AS runs,
       (SELECT count(*) FROM shelfops.model_retraining_log) AS logs;
SELECT shelfops_train('tr', 'm', 'lightgbm');
SELECT shelfops_train('tr', 'm', 'xgboost', '{"n_trees": 10}');
SELECT shelfops_train('tr', 'm', 'xgboost', '{"max_depth": "deep"}');
SELECT shelfops_train('tr', 'm', 'xgboost', '{"objective": "count:poisson", "eta": 2}');
SELECT shelfops_train('tr', 'm', horizon => 0);
SELECT shelfops_train('tr', 'm', horizon => 7, holdout => 14);
SELECT shelfops_train('tr', 'm', horizon => 90);
SELECT shelfops_train('nope', 'm');
SELECT shelfops_train(NULL, 'm');
SELECT shelfops_train('tr', 'bad name');
SELECT shelfops_train('tr', 'm', trigger => 'cron');
SELECT shelfops_generate_synthetic('tiny', 1, 1, 30, 1)->>'rows' AS tiny_rows;
SELECT shelfops_train('tiny', 'm');
-- cancel: a statement timeout stops the boosting promptly
SET statement_timeout = '300ms';
SELECT shelfops_train('tr', 'm', 'xgboost', '{"n_estimators": 5000, "max_depth": 10, "eta": 0.01}');
RESET statement_timeout;
SELECT (SELECT count(*) FROM shelfops.model_versions) = versions AS versions_unchanged,
       (SELECT count(*) FROM shelfops.training_runs) = runs AS runs_unchanged,
       (SELECT count(*) FROM shelfops.model_retraining_log) = logs AS logs_unchanged
  FROM before;

-- forecasting: every series, the model's horizon, never negative, ordered intervals
SELECT count(*) AS rows, count(DISTINCT (store_id, product_id)) AS series, min(target_date), max(target_date),
       bool_and(forecast >= 0) AS non_negative, bool_and(lower <= forecast AND forecast <= upper) AS ordered,
       max(version) AS version
  FROM shelfops_forecast('m', version => 1);
-- a shorter horizon and an earlier origin
SELECT count(*) AS rows, min(target_date), max(target_date)
  FROM shelfops_forecast('m', horizon => 3, version => 1, as_of => '2024-06-30');
-- wider intervals at a higher level
SELECT (SELECT avg(upper - lower) FROM shelfops_forecast('m', version => 1, level => 0.95))
     > (SELECT avg(upper - lower) FROM shelfops_forecast('m', version => 1, level => 0.6)) AS wider;
-- persisted forecasts
SELECT count(*) AS returned FROM shelfops_forecast('m', version => 1, persist => true);
SELECT count(*) AS stored, min(level), max(version) FROM shelfops.forecasts;
-- a baseline serves forecasts too
SELECT count(*) AS naive_rows FROM shelfops_forecast('naive', version => 1);
-- bad calls
SELECT * FROM shelfops_forecast('m');
SELECT * FROM shelfops_forecast('m', version => 99);
SELECT * FROM shelfops_forecast('m', version => 0);
SELECT * FROM shelfops_forecast('m', horizon => 15, version => 1);
SELECT * FROM shelfops_forecast('m', version => 1, level => 0.3);
SELECT * FROM shelfops_forecast('m', version => 1, as_of => '2030-01-01');
SELECT * FROM shelfops_forecast('nobody', version => 1);

-- weekly data learns a seasonal difference (docs/features.md): the spec records the
-- base (smoothed lag_year, damped drift, fallback) and the residual weight fitted on
-- the calibration block; a series younger than a year (no lag_year) is forecast by the
-- fallback alone, its value one horizon (8 weeks) before each target
INSERT INTO shelfops.datasets (dataset_id, family, frequency, grain, date_min, date_max)
VALUES ('tw', 'synthetic', 'weekly', 'store x product x week', '2021-01-01', '2023-06-30');
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
SELECT 'tw', 's1', 'p' || p, d, round(100 + 40 * sin(extract(week FROM d)::int / 8.3) + 10 * p + extract(doy FROM d)::int % 5)
  FROM generate_series('2021-01-01'::date, '2023-06-30', '7 days') d, generate_series(1, 2) p
UNION ALL
SELECT 'tw', 's2', 'young', d, 30 + extract(doy FROM d)::int % 11
  FROM generate_series('2023-01-06'::date, '2023-06-30', '7 days') d;
SELECT r->'rows'->>'train' AS train_rows, r->'rows'->>'holdout' AS holdout_rows
  FROM shelfops_train('tw', 'tw_m', 'xgboost', '{"n_estimators": 20, "max_depth": 3}') r;
SELECT feature_spec->>'target_base' AS base, feature_spec->'target_base_smooth' AS smooth,
       feature_spec->>'target_base_drift' AS drift, feature_spec->'target_base_drift_weight' AS drift_weight,
       feature_spec->>'target_base_fallback' AS fallback,
       round((feature_spec->>'residual_weight')::numeric, 3) AS residual_weight
  FROM shelfops.model_versions WHERE model_name = 'tw_m';
SELECT count(*) AS targets, bool_and(f.forecast = s.quantity) AS fallback_is_lag_horizon
  FROM shelfops_forecast('tw_m', version => 1) f
  JOIN shelfops.sales s ON s.dataset_id = 'tw' AND s.store_id = f.store_id AND s.product_id = f.product_id
                       AND s.sale_date = f.target_date - 56
 WHERE f.product_id = 'young';
SELECT count(*) AS targets, bool_and(forecast > 0) AS positive FROM shelfops_forecast('tw_m', version => 1) WHERE store_id = 's1';
-- nothing fitted reads the holdout: with every holdout quantity changed, a second
-- training gives the same model bytes, residual weight and conformal calibration, and
-- only the holdout metrics move
UPDATE shelfops.sales SET quantity = quantity * 3 WHERE dataset_id = 'tw' AND sale_date > '2023-05-05';
SELECT (shelfops_train('tw', 'tw_m', 'xgboost', '{"n_estimators": 20, "max_depth": 3}'))->>'version' AS v2;
SELECT a.model_bytes = b.model_bytes AS same_model,
       a.feature_spec->'residual_weight' = b.feature_spec->'residual_weight' AS same_residual_weight,
       a.calibration = b.calibration AS same_calibration,
       a.holdout_start = b.holdout_start AND a.holdout_start = '2023-05-12' AS same_holdout,
       a.metrics->'holdout'->'wape' <> b.metrics->'holdout'->'wape' AS holdout_metrics_moved
  FROM shelfops.model_versions a, shelfops.model_versions b
 WHERE a.model_name = 'tw_m' AND a.version = 1 AND b.model_name = 'tw_m' AND b.version = 2;

-- corrupted model bytes give a clean error, never a crash
UPDATE shelfops.model_versions SET model_bytes = overlay(model_bytes PLACING '\xff'::bytea FROM 200 FOR 1)
 WHERE model_name = 'm' AND version = 1;
SELECT count(*) FROM shelfops_forecast('m', version => 1);
UPDATE shelfops.model_versions SET model_bytes = substring(model_bytes FROM 1 FOR 40)
 WHERE model_name = 'm' AND version = 2;
SELECT count(*) FROM shelfops_forecast('m', version => 2);
SELECT 1 AS backend_still_works;

DELETE FROM shelfops.forecasts;
DELETE FROM shelfops.model_versions;
DELETE FROM shelfops.datasets;
DELETE FROM shelfops.training_runs;
DELETE FROM shelfops.model_retraining_log;
DELETE FROM shelfops.model_version_counters;
