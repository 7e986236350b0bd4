-- The flat-tree predictor (src/forest.c) gives exactly XGBoost's predictions:
-- forecasts with shelfops.fast_tree_predict on and off are equal on every row, the
-- flat trees really served them, and models it does not cover fall back to XGBoost.
\set VERBOSITY terse
SELECT shelfops_generate_synthetic('ftree', 3, 6, 260, 5)->>'rows' AS rows;
SELECT r->>'version' AS version
  FROM shelfops_train('ftree', 'ft', 'xgboost', '{"n_estimators": 80, "max_depth": 7}', horizon => 21) r;
SELECT r->>'version' AS version
  FROM shelfops_train('ftree', 'ft', 'xgboost', '{"n_estimators": 30, "max_depth": 5, "objective": "count:poisson"}',
                      horizon => 21) r;
SELECT shelfops._model_cache_reset();

-- squared error: served by the flat trees, equal to XGBoost's output
SELECT (shelfops._model_cache_stats()->>'flat_tree_rows')::bigint AS rows0 \gset
CREATE TEMP TABLE flat AS SELECT * FROM shelfops_forecast('ft', version => 1);
CREATE TEMP TABLE flat_past AS SELECT * FROM shelfops_forecast('ft', version => 1, as_of => '2024-06-01');
SELECT (shelfops._model_cache_stats()->>'flat_tree_rows')::bigint - :rows0 AS flat_rows;
SET shelfops.fast_tree_predict = off;
CREATE TEMP TABLE xgb AS SELECT * FROM shelfops_forecast('ft', version => 1);
CREATE TEMP TABLE xgb_past AS SELECT * FROM shelfops_forecast('ft', version => 1, as_of => '2024-06-01');
RESET shelfops.fast_tree_predict;
SELECT count(*) AS rows, count(*) FILTER (WHERE f.forecast = x.forecast AND f.lower = x.lower AND f.upper = x.upper) AS equal,
       count(DISTINCT f.forecast) > 100 AS varied
  FROM flat f JOIN xgb x USING (store_id, product_id, target_date);
SELECT count(*) AS rows, count(*) FILTER (WHERE f.forecast = x.forecast) AS equal
  FROM flat_past f JOIN xgb_past x USING (store_id, product_id, target_date);
-- with planned covariates too (promotions on every target: other branches of the trees)
CREATE TEMP TABLE plan AS
SELECT DISTINCT store_id, product_id, target_date AS sale_date, true AS is_promotional, 1.0 AS promo_count,
       true AS is_holiday FROM flat;
CREATE TEMP TABLE flat_plan AS SELECT * FROM shelfops_forecast('ft', version => 1, covariates => 'plan');
SET shelfops.fast_tree_predict = off;
CREATE TEMP TABLE xgb_plan AS SELECT * FROM shelfops_forecast('ft', version => 1, covariates => 'plan');
RESET shelfops.fast_tree_predict;
SELECT count(*) AS rows, count(*) FILTER (WHERE f.forecast = x.forecast) AS equal
  FROM flat_plan f JOIN xgb_plan x USING (store_id, product_id, target_date);

-- count:poisson is not covered: XGBoost predicts it (no flat-tree rows)
SELECT (shelfops._model_cache_stats()->>'flat_tree_rows')::bigint AS rows1 \gset
SELECT count(*) AS poisson_rows FROM shelfops_forecast('ft', version => 2);
SELECT (shelfops._model_cache_stats()->>'flat_tree_rows')::bigint - :rows1 AS flat_rows;
