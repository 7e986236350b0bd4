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

\echo '== synthetic dataset: 15 stores x 500 products x 365 days, seed 42'
SELECT jsonb_pretty(shelfops_generate_synthetic('demo', 15, 500, 365, 42) - 'seconds') AS generated;

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
