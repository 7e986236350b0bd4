-- shelfops_backtest: rolling-origin refits of a stored version.  Windows are
-- consecutive and end at the data's end, a fold never reads its own window
-- (changing y there leaves earlier folds unchanged), one row per fold and metric
-- agreeing with the returned document, mean/stddev as SQL computes them, the
-- seasonal naive as its own reference, every bad argument, roles and tenants.
\set VERBOSITY terse
SELECT shelfops_generate_synthetic('bt', 3, 6, 220, 3)->>'rows' AS rows;
SELECT (shelfops_train('bt', 'bt_x', 'xgboost', '{"n_estimators": 20, "max_depth": 3}'))->>'version' AS xgb_version;
SELECT (shelfops_train('bt', 'bt_n', 'seasonal_naive'))->>'version' AS naive_version;

-- three folds of the version's horizon (14), step = horizon
CREATE TEMP TABLE bt_run AS SELECT 1 AS run, shelfops_backtest('bt_x', 1) AS r;
SELECT r->>'model_name' AS model_name, r->>'version' AS version, r->>'algorithm' AS algorithm,
       r->>'horizon' AS horizon, r->>'step' AS step, jsonb_array_length(r->'folds') AS folds,
       (r->>'seconds')::float8 >= 0 AS timed
  FROM bt_run;
SELECT f->>'fold' AS fold, f->>'origin' AS origin, f->>'train_end' AS train_end,
       f->>'window_start' AS window_start, f->>'window_end' AS window_end, f->>'rows' AS rows,
       (f->>'train_end')::date < (f->>'window_start')::date AS trains_before_window,
       (f->>'origin')::date + 1 = (f->>'window_start')::date AS starts_after_origin,
       (f->'metrics'->>'wape')::float8 > 0 AS scored,
       (f->>'seasonal_naive_wape')::float8 > 0 AS naive_scored
  FROM bt_run, jsonb_array_elements(r->'folds') f;

-- consecutive, non-overlapping windows ending at the dataset's last date
SELECT bool_and(ws = prev_we + 1) AS consecutive,
       max(we) = (SELECT date_max FROM shelfops.datasets WHERE dataset_id = 'bt') AS ends_at_data_end
  FROM (SELECT (f->>'window_start')::date AS ws, (f->>'window_end')::date AS we,
               lag((f->>'window_end')::date) OVER (ORDER BY (f->>'fold')::int) AS prev_we
          FROM bt_run, jsonb_array_elements(r->'folds') f) w;

-- one row per fold and metric, all of one run, matching the document
SELECT fold, count(*) AS metrics, count(value) AS non_null, min(forecast_origin) AS origin,
       min(window_start) AS window_start, min(window_end) AS window_end, min(horizon) AS horizon,
       min(rows_scored) AS rows_scored
  FROM shelfops.backtest_results WHERE model_name = 'bt_x' GROUP BY fold ORDER BY fold;
SELECT string_agg(DISTINCT metric, ', ' ORDER BY metric) AS metrics,
       count(DISTINCT backtest_run_id) AS runs,
       bool_and(backtest_run_id::text = (SELECT r->>'backtest_run_id' FROM bt_run)) AS same_run_id
  FROM shelfops.backtest_results WHERE model_name = 'bt_x';
SELECT count(*) AS rows_checked,
       bool_and(b.value IS NOT DISTINCT FROM (f->'metrics'->>b.metric)::float8) AS values_match_document,
       bool_and(b.window_start = (f->>'window_start')::date AND b.rows_scored = (f->>'rows')::bigint) AS windows_match
  FROM bt_run, jsonb_array_elements(r->'folds') f
  JOIN shelfops.backtest_results b ON b.fold = (f->>'fold')::int AND b.model_name = 'bt_x';

-- mean and stddev agree with SQL's avg and stddev over the rows (NULL where undefined)
SELECT count(*) AS metrics,
       bool_and(coalesce(abs(a.mean - (r->'mean'->>a.metric)::float8) < 1e-9,
                         a.mean IS NULL AND r->'mean'->>a.metric IS NULL)) AS mean_matches,
       bool_and(coalesce(abs(a.sd - (r->'stddev'->>a.metric)::float8) < 1e-9,
                         a.sd IS NULL AND r->'stddev'->>a.metric IS NULL)) AS stddev_matches
  FROM bt_run,
       (SELECT metric, avg(value) AS mean, stddev(value) AS sd FROM shelfops.backtest_results
         WHERE model_name = 'bt_x' GROUP BY metric) a;

-- the seasonal-naive version is its own reference on every fold
CREATE TEMP TABLE bt_naive AS SELECT shelfops_backtest('bt_n', 1) AS r;
SELECT f->>'fold' AS fold,
       (f->'metrics'->>'wape')::float8 = (f->>'seasonal_naive_wape')::float8 AS equals_naive
  FROM bt_naive, jsonb_array_elements(r->'folds') f;
SELECT count(*) AS wape_rows FROM shelfops.backtest_results b, bt_naive n
 WHERE b.backtest_run_id::text = n.r->>'backtest_run_id' AND b.metric = 'wape'
   AND b.value = (n.r->'folds'->(b.fold - 1)->>'seasonal_naive_wape')::float8;

-- a fold never sees its own window: change y inside fold 3's window and backtest again;
-- folds 1 and 2 are unchanged to the bit, fold 3 is not
UPDATE shelfops.sales SET quantity = quantity * 3 + 7
 WHERE dataset_id = 'bt' AND sale_date >= (SELECT (r->'folds'->2->>'window_start')::date FROM bt_run);
INSERT INTO bt_run SELECT 2, shelfops_backtest('bt_x', 1);
SELECT a.fold, count(*) AS metrics,
       bool_and(a.value IS NOT DISTINCT FROM b.value) AS unchanged
  FROM shelfops.backtest_results a
  JOIN shelfops.backtest_results b ON b.fold = a.fold AND b.metric = a.metric
 WHERE a.backtest_run_id::text = (SELECT r->>'backtest_run_id' FROM bt_run WHERE run = 1)
   AND b.backtest_run_id::text = (SELECT r->>'backtest_run_id' FROM bt_run WHERE run = 2)
 GROUP BY a.fold ORDER BY a.fold;

-- horizon and step: overlapping windows of 7 every 3 periods, the last ending at the data's end
SELECT f->>'fold' AS fold, f->>'origin' AS origin, f->>'window_start' AS window_start,
       f->>'window_end' AS window_end
  FROM shelfops_backtest('bt_x', 1, folds => 3, horizon => 7, step => 3) r, jsonb_array_elements(r->'folds') f;
SELECT horizon, count(*) AS rows FROM shelfops.backtest_results WHERE model_name = 'bt_x' AND horizon = 7
 GROUP BY horizon;

-- NULL stays NULL: without costs or prices the cost metrics have no basis
UPDATE shelfops.sales SET unit_cost = NULL, unit_price = NULL WHERE dataset_id = 'bt';
CREATE TEMP TABLE bt_nocost AS SELECT shelfops_backtest('bt_n', 1, folds => 1) AS r;
SELECT b.metric, b.value IS NULL AS value_null, r->'folds'->0->'metrics'->>b.metric IS NULL AS null_in_document,
       (r->'mean'->>b.metric)::float8 IS NOT DISTINCT FROM b.value AS mean_is_the_value,
       r->'stddev'->>b.metric AS stddev_of_one_fold
  FROM shelfops.backtest_results b, bt_nocost
 WHERE b.backtest_run_id::text = r->>'backtest_run_id' AND (b.value IS NULL OR b.metric IN ('wape', 'mae'))
 ORDER BY b.metric;

-- every bad argument
SELECT shelfops_backtest('nope', 1);
SELECT shelfops_backtest('bt_x', 9);
SELECT shelfops_backtest('bt_x', NULL);
SELECT shelfops_backtest('bt_x', 1, folds => 0);
SELECT shelfops_backtest('bt_x', 1, folds => 21);
SELECT shelfops_backtest('bt_x', 1, horizon => 0);
SELECT shelfops_backtest('bt_x', 1, horizon => 15);
SELECT shelfops_backtest('bt_x', 1, step => 0);
\set VERBOSITY default
SELECT shelfops_backtest('bt_x', 1, folds => 20);
\set VERBOSITY terse
SELECT count(DISTINCT backtest_run_id) AS runs_recorded FROM shelfops.backtest_results WHERE model_name LIKE 'bt_%';

-- analysts may run it; another tenant's role may neither act for this tenant nor see the model
CREATE ROLE regress_bt_analyst;
GRANT shelfops_analyst TO regress_bt_analyst;
SET ROLE regress_bt_analyst;
SELECT jsonb_array_length(r->'folds') AS folds, r->'folds'->0->>'window_end' AS window_end
  FROM shelfops_backtest('bt_n', 1, folds => 1) r;
SET shelfops.tenant_id = 'tenant_b';
SELECT shelfops_backtest('bt_x', 1, tenant_id => 'public');
SELECT shelfops_backtest('bt_x', 1);
SELECT count(*) AS visible FROM shelfops.backtest_results;
RESET shelfops.tenant_id;
RESET ROLE;
DROP ROLE regress_bt_analyst;

DELETE FROM shelfops.backtest_results;
DELETE FROM shelfops.model_versions;
DELETE FROM shelfops.training_runs;
DELETE FROM shelfops.model_retraining_log;
DELETE FROM shelfops.model_version_counters;
DELETE FROM shelfops.datasets;
