-- shelfops_metrics() and the metric aggregates (src/metrics.c, docs/metrics.md):
-- the golden vectors of reference section 4 one by one (NULL where the reference
-- returned a silent 0), the aggregates agreeing with the function (plain, GROUP BY,
-- forced parallel plan), and every input error.
-- Floats are printed as round(x::numeric, 10).
CREATE FUNCTION pg_temp.v(m jsonb, k text) RETURNS numeric
    LANGUAGE sql IMMUTABLE AS $$ SELECT round((m ->> k)::numeric, 10) $$;

-- Every key is always present.
SELECT k FROM jsonb_object_keys(shelfops_metrics('{1}', '{1}')) k ORDER BY k;

-- Golden: y = [10, 20, 30], f = [12, 18, 33] -> WAPE 7/60.
SELECT pg_temp.v(m, 'wape') AS wape, round(7 / 60.0, 10) AS expected
FROM shelfops_metrics('{10,20,30}', '{12,18,33}') m;

-- Golden: y = [100], f = [80] -> WAPE 0.2.
SELECT pg_temp.v(m, 'wape') AS wape
FROM shelfops_metrics('{100}', '{80}') m;

-- Golden: all-zero actuals -> WAPE NULL (the reference returned 0).
SELECT m -> 'wape' AS wape, m ? 'wape' AS key_present
FROM shelfops_metrics('{0,0,0}', '{1,2,3}') m;

-- Golden: y = [10, 0, 5], f = [8, 2, 0] -> MAE 3.0, mape_nonzero 0.6,
-- stockout_miss_rate 1/3, overstock_rate 1/3; no cost -> overstock_dollars
-- NULL "unavailable".
SELECT pg_temp.v(m, 'mae') AS mae,
       pg_temp.v(m, 'mape_nonzero') AS mape_nonzero,
       pg_temp.v(m, 'stockout_miss_rate') AS stockout_miss_rate,
       pg_temp.v(m, 'overstock_rate') AS overstock_rate,
       m -> 'overstock_dollars' AS overstock_dollars,
       m ->> 'overstock_dollars_confidence' AS confidence
FROM shelfops_metrics('{10,0,5}', '{8,2,0}') m;

-- Golden: same with unit_cost [2, 2, 1] -> overstock_dollars 4.0 "measured".
SELECT pg_temp.v(m, 'overstock_dollars') AS overstock_dollars,
       m ->> 'overstock_dollars_confidence' AS confidence
FROM shelfops_metrics('{10,0,5}', '{8,2,0}', unit_cost => '{2,2,1}') m;

-- Golden: y = [10, 3, 5], f = [8, 5, 5], cost [2, 2, 1], price [4, 4, 2],
-- holding [0.1, 0.1, 0.05] -> lost 2, stockout cost 4.0, overstock cost 0.2,
-- both "measured".
SELECT pg_temp.v(m, 'lost_sales_qty') AS lost,
       pg_temp.v(m, 'opportunity_cost_stockout') AS stockout_cost,
       m ->> 'opportunity_cost_stockout_confidence' AS stockout_conf,
       pg_temp.v(m, 'opportunity_cost_overstock') AS overstock_cost,
       m ->> 'opportunity_cost_overstock_confidence' AS overstock_conf
FROM shelfops_metrics('{10,3,5}', '{8,5,5}', unit_cost => '{2,2,1}',
                      unit_price => '{4,4,2}', holding_cost => '{0.1,0.1,0.05}') m;

-- Golden: one row, f 4, y 7, category cost 2 -> lost 3, stockout cost
-- 3 * (2 / 0.7) * 0.30 "estimated"; overstock cost 0 "estimated".
SELECT pg_temp.v(m, 'lost_sales_qty') AS lost,
       pg_temp.v(m, 'opportunity_cost_stockout') AS stockout_cost,
       round(3 * (2 / 0.7) * 0.30, 10) AS expected,
       m ->> 'opportunity_cost_stockout_confidence' AS stockout_conf,
       pg_temp.v(m, 'opportunity_cost_overstock') AS overstock_cost,
       m ->> 'opportunity_cost_overstock_confidence' AS overstock_conf
FROM shelfops_metrics('{7}', '{4}', category_cost => '{2}') m;

-- Golden: f 15/5 vs y 10/7 with cost 2/3 -> overstock dollars 10 "measured";
-- with category cost 1.5 -> 7.5 "estimated".
SELECT pg_temp.v(m, 'overstock_dollars') AS overstock_dollars,
       m ->> 'overstock_dollars_confidence' AS confidence
FROM shelfops_metrics('{10,7}', '{15,5}', unit_cost => '{2,3}') m;
SELECT pg_temp.v(m, 'overstock_dollars') AS overstock_dollars,
       m ->> 'overstock_dollars_confidence' AS confidence
FROM shelfops_metrics('{10,7}', '{15,5}', category_cost => '{1.5,1.5}') m;

-- Golden: coverage y [10, 8, 12, 6], lower [9, 9, 10, 7], upper [11, 11, 13, 9] -> 0.5.
SELECT pg_temp.v(m, 'coverage') AS coverage
FROM shelfops_metrics('{10,8,12,6}', '{10,8,12,6}',
                      lower => '{9,9,10,7}', upper => '{11,11,13,9}') m;
-- ... and NULL when no interval is given.
SELECT m -> 'coverage' AS coverage FROM shelfops_metrics('{10,8}', '{10,8}') m;

-- Golden: constant series y = 5,5,5,5, f = 3, season 1 -> MASE NULL (the
-- reference returned 0.0: the naive error is 0, so MASE is undefined).
SELECT m -> 'mase' AS mase, pg_temp.v(m, 'mae') AS mae
FROM shelfops_metrics('{5,5,5,5}', '{3,3,3,3}', season => 1) m;

-- MASE where defined: naive errors with season 1 are all 1 -> MASE = MAE = 1.4;
-- with season 2 they are all 2 -> 0.7.
SELECT pg_temp.v(shelfops_metrics('{1,2,3,4,5}', '{2,2,2,2,2}', season => 1), 'mase') AS mase_1,
       pg_temp.v(shelfops_metrics('{1,2,3,4,5}', '{2,2,2,2,2}', season => 2), 'mase') AS mase_2;
-- No naive pairs (n <= season, default season 7) -> NULL (reference: scale 1.0).
SELECT m -> 'mase' AS mase FROM shelfops_metrics('{1,2,3,4,5,6,7}', '{1,1,1,1,1,1,1}') m;

-- The other NULL-instead-of-0 cases: mean(y) = 0 -> bias_pct NULL; no y > 0 ->
-- mape_nonzero NULL; both while the rest is defined.
SELECT m -> 'bias_pct' AS bias_pct, pg_temp.v(m, 'mae') AS mae
FROM shelfops_metrics('{2,-2}', '{1,1}') m;
SELECT m -> 'mape_nonzero' AS mape_nonzero, pg_temp.v(m, 'wape') AS wape
FROM shelfops_metrics('{0,-1}', '{1,1}') m;
SELECT pg_temp.v(m, 'bias_pct') AS bias_pct
FROM shelfops_metrics('{10,20,30}', '{12,18,33}') m;

-- Empty input: every metric NULL, every cost basis unavailable.
SELECT jsonb_pretty(shelfops_metrics('{}', '{}', unit_cost => '{}', lower => '{}', upper => '{}'));

-- A full document, as stored by callers.
SELECT jsonb_pretty(shelfops_metrics('{10,3,5,0}', '{8,5,5,1}', unit_cost => '{2,2,1,1}',
                                     unit_price => '{4,4,2,2}', lower => '{7,2,4,0}',
                                     upper => '{9,6,6,2}', season => 1));

-- Cost-basis details.  NULL cost elements count as 0 for overstock_dollars.
SELECT pg_temp.v(m, 'overstock_dollars') AS overstock_dollars, m ->> 'overstock_dollars_confidence' AS conf
FROM shelfops_metrics('{10,7}', '{15,9}', unit_cost => '{2,NULL}') m;
-- An all-NULL array is no basis: unit_cost all NULL falls back to category_cost.
SELECT pg_temp.v(m, 'overstock_dollars') AS overstock_dollars, m ->> 'overstock_dollars_confidence' AS conf
FROM shelfops_metrics('{10,7}', '{15,9}', unit_cost => '{NULL,NULL}', category_cost => '{1,1}') m;
-- Stockout cost: row 1 has price 5 and cost 2 (margin 0.6); row 2 has no price,
-- so cost 3 (from category) / 0.7 at margin 0.30: 2*5*0.6 + 1*(3/0.7)*0.3.
SELECT pg_temp.v(m, 'opportunity_cost_stockout') AS stockout_cost,
       round(2 * 5 * 0.6 + 1 * (3 / 0.7) * 0.3, 10) AS expected,
       m ->> 'opportunity_cost_stockout_confidence' AS conf
FROM shelfops_metrics('{10,7}', '{8,6}', unit_cost => '{2,NULL}', unit_price => '{5,NULL}',
                      category_cost => '{9,3}') m;
-- Margins are clipped: price below cost -> 0; price without cost -> 0.95.
SELECT pg_temp.v(shelfops_metrics('{10}', '{8}', unit_cost => '{5}', unit_price => '{4}'),
                 'opportunity_cost_stockout') AS below_cost,
       pg_temp.v(shelfops_metrics('{10}', '{8}', unit_price => '{4}'),
                 'opportunity_cost_stockout') AS no_cost;
-- Holding cost estimated from cost: 5 over-units * 365 * 0.25 / 365.
SELECT pg_temp.v(m, 'opportunity_cost_overstock') AS overstock_cost,
       m ->> 'opportunity_cost_overstock_confidence' AS conf
FROM shelfops_metrics('{10}', '{15}', unit_cost => '{365}') m;
-- No basis at all: NULL and "unavailable" for each cost metric; lost sales stay.
SELECT m -> 'opportunity_cost_stockout' AS stockout_cost,
       m ->> 'opportunity_cost_stockout_confidence' AS stockout_conf,
       m -> 'opportunity_cost_overstock' AS overstock_cost,
       m ->> 'opportunity_cost_overstock_confidence' AS overstock_conf,
       pg_temp.v(m, 'lost_sales_qty') AS lost
FROM shelfops_metrics('{10,7}', '{8,9}') m;

-- NULL required argument -> NULL result (as a strict function would).
SELECT shelfops_metrics(NULL, '{1}') IS NULL AS null_actual,
       shelfops_metrics('{1}', NULL) IS NULL AS null_forecast,
       shelfops_metrics('{1}', '{1}', season => NULL) IS NULL AS null_season;

-- Aggregates on small data, matching the golden vectors.
SELECT round(shelfops_wape(y, f)::numeric, 10) AS wape
FROM unnest('{10,20,30}'::float8[], '{12,18,33}'::float8[]) AS t(y, f);
SELECT round(shelfops_mae(y, f)::numeric, 10) AS mae,
       round(shelfops_mape_nonzero(y, f)::numeric, 10) AS mape_nonzero,
       round(shelfops_stockout_miss_rate(y, f)::numeric, 10) AS stockout_miss_rate,
       round(shelfops_overstock_rate(y, f)::numeric, 10) AS overstock_rate
FROM unnest('{10,0,5}'::float8[], '{8,2,0}'::float8[]) AS t(y, f);
SELECT round(shelfops_coverage(y, lo, hi)::numeric, 10) AS coverage
FROM unnest('{10,8,12,6}'::float8[], '{9,9,10,7}'::float8[], '{11,11,13,9}'::float8[]) AS t(y, lo, hi);
-- NULL inputs are skipped; no rows (or only zero actuals) -> NULL.
SELECT round(shelfops_wape(y, f)::numeric, 10) AS wape, round(shelfops_mae(y, f)::numeric, 10) AS mae
FROM unnest('{100,NULL,5}'::float8[], '{80,1,NULL}'::float8[]) AS t(y, f);
SELECT shelfops_wape(y, f) AS wape, shelfops_mae(y, f) AS mae, shelfops_bias_pct(y, f) AS bias_pct,
       shelfops_mape_nonzero(y, f) AS mape, shelfops_stockout_miss_rate(y, f) AS stockout,
       shelfops_overstock_rate(y, f) AS overstock, shelfops_coverage(y, f, f) AS coverage
FROM unnest('{NULL}'::float8[], '{1}'::float8[]) AS t(y, f);
SELECT shelfops_wape(y, f) AS wape, shelfops_bias_pct(y, f) AS bias_pct
FROM unnest('{0,0}'::float8[], '{1,2}'::float8[]) AS t(y, f);

-- As window aggregates: running and sliding (the sliding frame restarts the state).
SELECT t, round(shelfops_wape(y, f) OVER (ORDER BY t)::numeric, 10) AS running_wape,
       round(shelfops_wape(y, f) OVER (ORDER BY t ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)::numeric, 10) AS sliding_wape
FROM unnest('{10,20,30}'::float8[], '{12,18,33}'::float8[]) WITH ORDINALITY AS u(y, f, t)
ORDER BY t;

-- Aggregates agree with the function on the same data (NULL rows excluded from
-- the arrays), overall and per group.
CREATE TABLE metric_rows AS
SELECT i, i % 5 AS g,
       CASE WHEN i % 97 = 0 THEN NULL ELSE ((i * 7) % 23)::float8 END AS y,
       CASE WHEN i % 89 = 0 THEN NULL ELSE ((i * 11) % 19 - 2)::float8 / 2 END AS f,
       ((i * 11) % 19 - 6)::float8 / 2 AS lo,
       ((i * 11) % 19 + 2)::float8 / 2 AS hi
FROM generate_series(1, 60000) i;
ANALYZE metric_rows;

CREATE TEMP VIEW by_function AS
SELECT g, shelfops_metrics(array_agg(y ORDER BY i), array_agg(f ORDER BY i),
                           lower => array_agg(lo ORDER BY i), upper => array_agg(hi ORDER BY i)) AS m
FROM metric_rows WHERE y IS NOT NULL AND f IS NOT NULL
GROUP BY ROLLUP (g);

CREATE TEMP VIEW by_aggregate AS
SELECT g, shelfops_mae(y, f) AS mae, shelfops_wape(y, f) AS wape,
       shelfops_mape_nonzero(y, f) AS mape_nonzero, shelfops_bias_pct(y, f) AS bias_pct,
       shelfops_stockout_miss_rate(y, f) AS stockout_miss_rate,
       shelfops_overstock_rate(y, f) AS overstock_rate,
       shelfops_coverage(y, lo, hi) FILTER (WHERE f IS NOT NULL) AS coverage
FROM metric_rows GROUP BY ROLLUP (g);

CREATE TEMP VIEW agreement AS
SELECT a.g,
       round(a.mae::numeric, 10) = pg_temp.v(m, 'mae') AS mae,
       round(a.wape::numeric, 10) = pg_temp.v(m, 'wape') AS wape,
       round(a.mape_nonzero::numeric, 10) = pg_temp.v(m, 'mape_nonzero') AS mape,
       round(a.bias_pct::numeric, 10) = pg_temp.v(m, 'bias_pct') AS bias,
       round(a.stockout_miss_rate::numeric, 10) = pg_temp.v(m, 'stockout_miss_rate') AS stockout,
       round(a.overstock_rate::numeric, 10) = pg_temp.v(m, 'overstock_rate') AS overstock,
       round(a.coverage::numeric, 10) = pg_temp.v(m, 'coverage') AS coverage,
       round(a.wape::numeric, 10) AS wape_value
FROM by_aggregate a JOIN by_function b ON a.g IS NOT DISTINCT FROM b.g
ORDER BY a.g NULLS LAST;

SELECT * FROM agreement;

-- The same under a forced parallel plan: partial aggregates combined.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
SELECT shelfops_wape(y, f), shelfops_coverage(y, lo, hi) FROM metric_rows;
SELECT round(shelfops_mae(y, f)::numeric, 10) = (SELECT pg_temp.v(m, 'mae') FROM by_function WHERE g IS NULL) AS mae,
       round(shelfops_wape(y, f)::numeric, 10) = (SELECT pg_temp.v(m, 'wape') FROM by_function WHERE g IS NULL) AS wape,
       round(shelfops_mape_nonzero(y, f)::numeric, 10) = (SELECT pg_temp.v(m, 'mape_nonzero') FROM by_function WHERE g IS NULL) AS mape,
       round(shelfops_bias_pct(y, f)::numeric, 10) = (SELECT pg_temp.v(m, 'bias_pct') FROM by_function WHERE g IS NULL) AS bias,
       round(shelfops_stockout_miss_rate(y, f)::numeric, 10) = (SELECT pg_temp.v(m, 'stockout_miss_rate') FROM by_function WHERE g IS NULL) AS stockout,
       round(shelfops_overstock_rate(y, f)::numeric, 10) = (SELECT pg_temp.v(m, 'overstock_rate') FROM by_function WHERE g IS NULL) AS overstock,
       round((shelfops_coverage(y, lo, hi) FILTER (WHERE f IS NOT NULL))::numeric, 10) = (SELECT pg_temp.v(m, 'coverage') FROM by_function WHERE g IS NULL) AS coverage
FROM metric_rows;
EXPLAIN (COSTS OFF)
SELECT g, shelfops_wape(y, f) FROM metric_rows GROUP BY g;
SELECT g, round(shelfops_wape(y, f)::numeric, 10) AS wape FROM metric_rows GROUP BY g ORDER BY g;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
DROP TABLE metric_rows CASCADE;

-- Input errors: each names the argument and the 1-based position.
SELECT shelfops_metrics('{1,2,3}', '{1,2}');
SELECT shelfops_metrics('{1,2,3}', '{1,2,3}', unit_cost => '{1}');
SELECT shelfops_metrics('{1,2,3}', '{1,2,3}', category_cost => '{1,2,3,4}');
SELECT shelfops_metrics('{1,NULL,3}', '{1,2,3}');
SELECT shelfops_metrics('{1,2,3}', '{1,2,NULL}');
SELECT shelfops_metrics('{1,2}', '{1,2}', lower => '{0,NULL}', upper => '{3,3}');
SELECT shelfops_metrics('{1,2,3}', '{1,2,NaN}');
SELECT shelfops_metrics('{1,Infinity,3}', '{1,2,3}');
SELECT shelfops_metrics('{1,2,3}', '{1,2,3}', unit_price => '{1,-Infinity,NULL}');
SELECT shelfops_metrics('{1,2}', '{1,2}', holding_cost => '{NULL,NaN}');
SELECT shelfops_metrics('{1,2}', '{1,2}', lower => '{0,0}', upper => '{3,Infinity}');
SELECT shelfops_metrics('{{1,2},{3,4}}', '{1,2}');
SELECT shelfops_metrics('{1,2}', '{1,2}', unit_cost => '{{1},{2}}');
SELECT shelfops_metrics('{1,2}', '{1,2}', season => 0);
SELECT shelfops_metrics('{1,2}', '{1,2}', lower => '{0,0}');
SELECT shelfops_metrics('{1,2}', '{1,2}', upper => '{3,3}');
SELECT shelfops_wape(y, f) FROM unnest('{1,2}'::float8[], '{1,NaN}'::float8[]) AS t(y, f);
SELECT shelfops_mae(y, f) FROM unnest('{Infinity}'::float8[], '{1}'::float8[]) AS t(y, f);
SELECT shelfops_coverage(1, '-Infinity', 2);
SELECT shelfops_coverage(1, 0, 'NaN');
-- A state that no aggregate made.
SELECT shelfops_wape_final('{1,2,3}');
SELECT shelfops_metric_combine('{1,2}', '{1,2,3}');
