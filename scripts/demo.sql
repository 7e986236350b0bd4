-- The main job on a fresh database: install the extension, show what it holds.
-- Run by scripts/demo.sh; every step prints what it did.
\set ON_ERROR_STOP 1
\pset footer off
DROP EXTENSION IF EXISTS shelfops CASCADE;
CREATE EXTENSION shelfops;

\echo
\echo '== shelfops tables'
SELECT c.relname AS "table", obj_description(c.oid, 'pg_class') AS "holds"
  FROM pg_class c
 WHERE c.relnamespace = 'shelfops'::regnamespace AND c.relkind = 'r'
 ORDER BY 1;

\echo '== default promotion gate thresholds (shelfops.gate_policy)'
SELECT max_mae_regression_pct, max_mape_regression_pct, max_stockout_miss_pp, max_overstock_rate_pp,
       require_business_metrics, min_scored_rows
  FROM shelfops.gate_policy WHERE tenant_id = '*';

\echo '== synthetic dataset: 10 stores x 50 products x 365 days, seed 42'
SELECT jsonb_pretty(shelfops_generate_synthetic('demo', 10, 50, 365, 42) - 'seconds') AS generated;

\echo '== readiness checks'
SELECT check_name, round(observed::numeric, 4) AS observed, threshold, passed
  FROM shelfops_validate_dataset('demo') ORDER BY check_name;

SELECT dataset_id, family, frequency, row_count, store_count, product_count, series_count,
       date_min, date_max, readiness
  FROM shelfops.datasets;

\echo '== canonical metrics: a same-weekday-last-week forecast, scored per category over the last 28 days'
WITH scored AS (
    SELECT category, sale_date, quantity AS actual,
           lag(quantity, 7) OVER (PARTITION BY store_id, product_id ORDER BY sale_date) AS forecast
      FROM shelfops.sales WHERE dataset_id = 'demo'
)
SELECT category,
       round(shelfops_mae(actual, forecast)::numeric, 3)                AS mae,
       round(shelfops_wape(actual, forecast)::numeric, 3)               AS wape,
       round(shelfops_bias_pct(actual, forecast)::numeric, 3)           AS bias_pct,
       round(shelfops_stockout_miss_rate(actual, forecast)::numeric, 3) AS stockout_miss_rate,
       round(shelfops_overstock_rate(actual, forecast)::numeric, 3)     AS overstock_rate
  FROM scored
 WHERE sale_date > (SELECT date_max - 28 FROM shelfops.datasets WHERE dataset_id = 'demo')
 GROUP BY category ORDER BY category;

\echo '== the same metrics and the cost metrics for one series, through shelfops_metrics'
SELECT jsonb_pretty(shelfops_metrics(array_agg(actual ORDER BY sale_date),
                                     array_agg(forecast ORDER BY sale_date),
                                     unit_cost => array_agg(unit_cost ORDER BY sale_date),
                                     unit_price => array_agg(unit_price ORDER BY sale_date))) AS metrics
  FROM (SELECT sale_date, quantity AS actual, unit_cost, unit_price,
               lag(quantity, 7) OVER (ORDER BY sale_date) AS forecast
          FROM shelfops.sales WHERE dataset_id = 'demo' AND store_id = 'S001' AND product_id = 'P0001') s
 WHERE forecast IS NOT NULL;

\echo '== train: xgboost, horizon 14 days, time-based holdout of the last 14 days'
SELECT r->>'version' AS version, r->>'holdout_start' AS holdout_start, r->>'holdout_end' AS holdout_end,
       round((r->'metrics'->>'wape')::numeric, 4) AS wape,
       round((r->'seasonal_naive'->>'wape')::numeric, 4) AS seasonal_naive_wape,
       round((r->'metrics'->>'coverage')::numeric, 3) AS coverage_90,
       r->'seconds'->>'total' AS seconds
  FROM shelfops_train('demo', 'demand_forecast') r;

\echo '== promote: the first version becomes champion'
SELECT r->>'decision' AS decision, r->>'reason' AS reason, r->>'version' AS version
  FROM shelfops_promote('demand_forecast') r;

\echo '== a challenger with other parameters, scored against the champion on the same rows'
SELECT r->>'version' AS version, round((r->'metrics'->>'wape')::numeric, 4) AS wape
  FROM shelfops_train('demo', 'demand_forecast', 'xgboost', '{"max_depth": 4, "n_estimators": 150}') r;
SELECT r->>'decision' AS decision, r->>'reason' AS reason,
       round((r->>'candidate_wape')::numeric, 4) AS candidate_wape,
       round((r->>'champion_wape')::numeric, 4) AS champion_wape, r->>'status' AS status
  FROM shelfops_promote('demand_forecast') r;

\echo '== model history (view shelfops.model_history, what applications read)'
SELECT version, status, algorithm, round(wape::numeric, 4) AS holdout_wape, round(mae::numeric, 3) AS mae,
       lineage_label, to_char(created_at, 'HH24:MI:SS') AS created, to_char(promoted_at, 'HH24:MI:SS') AS promoted
  FROM shelfops.model_history WHERE model_name = 'demand_forecast' ORDER BY version;
SELECT experiment_type, baseline_version, experimental_version, decision, reason
  FROM shelfops.model_experiments ORDER BY created_at;

\echo '== a rolling-origin backtest of the champion (3 folds of 14 days)'
SELECT f->>'fold' AS fold, f->>'window_start' AS window_start, f->>'window_end' AS window_end,
       round((f->'metrics'->>'wape')::numeric, 4) AS wape, round((f->>'seasonal_naive_wape')::numeric, 4) AS naive_wape
  FROM jsonb_array_elements((SELECT shelfops_backtest('demand_forecast', 2)->'folds')) f;

\echo '== the champion forecasts the next 14 days (first rows)'
SELECT store_id, product_id, target_date, round(forecast::numeric, 2) AS forecast,
       round(lower::numeric, 2) AS lower, round(upper::numeric, 2) AS upper, version
  FROM shelfops_forecast('demand_forecast') ORDER BY store_id, product_id, target_date LIMIT 5;
