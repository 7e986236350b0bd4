-- shelfops_forecast(..., covariates => relation): planned covariates for the target dates
-- (opening days, promotions, holidays, prices) change the forecast as the model learned;
-- every malformed plan is a clear error.
\set VERBOSITY terse
SELECT shelfops_generate_synthetic('fcov', 2, 4, 240, 11)->>'rows' AS rows;
SELECT r->>'version' AS version
  FROM shelfops_train('fcov', 'fc', 'xgboost', '{"n_estimators": 60, "max_depth": 4}', horizon => 14) r;
SELECT date_max AS last_date FROM shelfops.datasets WHERE dataset_id = 'fcov' \gset

-- the series x target dates of the forecast, as a plan to fill in
CREATE TEMP TABLE targets AS
SELECT DISTINCT s.store_id, s.product_id, d::date AS sale_date
  FROM shelfops.sales s, generate_series(:'last_date'::date + 1, :'last_date'::date + 14, '1 day') d
 WHERE s.dataset_id = 'fcov';
SELECT count(*) AS target_rows FROM targets;

CREATE TEMP TABLE base AS SELECT * FROM shelfops_forecast('fc', version => 1);
CREATE TEMP TABLE plan_nopromo AS
SELECT store_id, product_id, sale_date, true AS is_open, false AS is_promotional, 0::float8 AS promo_count
  FROM targets;
CREATE TEMP TABLE plan_promo AS
SELECT store_id, product_id, sale_date, true AS is_open, true AS is_promotional, 1::float8 AS promo_count
  FROM targets;
CREATE TEMP TABLE f_nopromo AS SELECT * FROM shelfops_forecast('fc', version => 1, covariates => 'plan_nopromo');
CREATE TEMP TABLE f_promo AS SELECT * FROM shelfops_forecast('fc', version => 1, covariates => 'plan_promo');

-- same rows; known promotions raise the forecast (synthetic promotions lift demand 1.3-2.5x)
SELECT (SELECT count(*) FROM base) AS base_rows, (SELECT count(*) FROM f_promo) AS promo_rows,
       (SELECT sum(forecast) FROM f_promo) > 1.1 * (SELECT sum(forecast) FROM f_nopromo) AS promo_lifts,
       (SELECT count(*) FROM f_promo p JOIN f_nopromo n USING (store_id, product_id, target_date)
         WHERE p.forecast > n.forecast) > 0.8 * (SELECT count(*) FROM f_promo) AS most_rows_higher;
-- a plan changes the forecast against unknown (NaN) covariates
SELECT count(*) > 0 AS differs_from_unknown
  FROM base b JOIN f_nopromo n USING (store_id, product_id, target_date)
 WHERE b.forecast <> n.forecast;

-- a known closing day is forecast 0 with a 0..0 interval; the other days are untouched
CREATE TEMP TABLE plan_closed AS
SELECT store_id, product_id, sale_date, sale_date <> :'last_date'::date + 3 AS is_open,
       false AS is_promotional, 0::float8 AS promo_count
  FROM targets;
CREATE TEMP TABLE f_closed AS SELECT * FROM shelfops_forecast('fc', version => 1, covariates => 'plan_closed');
SELECT target_date - :'last_date'::date AS step, count(*) AS rows,
       bool_and(forecast = 0 AND lower = 0 AND upper = 0) AS all_zero,
       bool_and(forecast > 0) AS all_positive
  FROM f_closed WHERE target_date BETWEEN :'last_date'::date + 2 AND :'last_date'::date + 4
 GROUP BY 1 ORDER BY 1;
SELECT count(*) AS unchanged_open_rows
  FROM f_closed c JOIN f_nopromo n USING (store_id, product_id, target_date)
 WHERE c.forecast = n.forecast AND c.target_date NOT IN (:'last_date'::date + 2, :'last_date'::date + 3, :'last_date'::date + 4);

-- a plan may cover only some rows and columns; NULL cells stay unknown
CREATE TEMP TABLE plan_partial (store_id text, product_id text, sale_date date, is_open boolean, holiday_type text);
INSERT INTO plan_partial
SELECT store_id, product_id, sale_date, NULL, 'Festivus' FROM targets WHERE sale_date = :'last_date'::date + 1;
INSERT INTO plan_partial
SELECT store_id, product_id, sale_date, false, NULL FROM targets
 WHERE sale_date = :'last_date'::date + 5 AND store_id = (SELECT min(store_id) FROM targets);
SELECT count(*) FILTER (WHERE forecast = 0) AS closed_rows, count(*) AS rows
  FROM shelfops_forecast('fc', version => 1, covariates => 'plan_partial');

-- a view with other column types: cast to the sales contract's types
CREATE TEMP VIEW plan_view AS
SELECT store_id::varchar AS store_id, product_id, sale_date::text AS sale_date, 0 AS promo_count,
       (sale_date <> :'last_date'::date + 1)::int::boolean AS is_open
  FROM targets;
SELECT count(*) FILTER (WHERE forecast = 0) AS closed_rows FROM shelfops_forecast('fc', version => 1, covariates => 'plan_view');

-- forecasting from an earlier origin: the plan overrides the stored rows of its targets
CREATE TEMP TABLE plan_past AS
SELECT DISTINCT store_id, product_id, :'last_date'::date - 10 AS sale_date, false AS is_open FROM targets;
SELECT target_date = :'last_date'::date - 10 AS planned_day, bool_and(forecast = 0) AS zero
  FROM shelfops_forecast('fc', version => 1, horizon => 7, as_of => :'last_date'::date - 14, covariates => 'plan_past')
 GROUP BY 1 ORDER BY 1;

-- persisted forecasts carry the plan too
SELECT count(*) FILTER (WHERE forecast = 0) AS closed_rows
  FROM shelfops_forecast('fc', version => 1, covariates => 'plan_closed', persist => true);
SELECT count(*) FILTER (WHERE forecast = 0) AS persisted_closed_rows
  FROM shelfops.forecasts WHERE model_name = 'fc';

-- bad plans: each a clear error
CREATE TEMP TABLE bad_col AS SELECT store_id, product_id, sale_date, true AS is_open, 1 AS markdown FROM targets;
SELECT count(*) FROM shelfops_forecast('fc', version => 1, covariates => 'bad_col');
CREATE TEMP TABLE bad_nokey AS SELECT store_id, sale_date, true AS is_open FROM targets;
SELECT count(*) FROM shelfops_forecast('fc', version => 1, covariates => 'bad_nokey');
CREATE TEMP TABLE bad_dup AS SELECT * FROM plan_nopromo UNION ALL SELECT * FROM plan_nopromo WHERE sale_date = :'last_date'::date + 2;
SELECT count(*) FROM shelfops_forecast('fc', version => 1, covariates => 'bad_dup');
CREATE TEMP TABLE bad_past AS SELECT store_id, product_id, sale_date - 14 AS sale_date, true AS is_open FROM targets;
SELECT count(*) FROM shelfops_forecast('fc', version => 1, covariates => 'bad_past');
CREATE TEMP TABLE bad_far AS SELECT store_id, product_id, sale_date + 1 AS sale_date, true AS is_open FROM targets;
SELECT count(*) FROM shelfops_forecast('fc', version => 1, covariates => 'bad_far');
SELECT count(*) FROM shelfops_forecast('fc', version => 1, horizon => 7, covariates => 'plan_nopromo');
CREATE TEMP TABLE bad_series AS SELECT 'S999'::text AS store_id, product_id, sale_date, true AS is_open FROM targets;
SELECT count(*) FROM shelfops_forecast('fc', version => 1, covariates => 'bad_series');
CREATE TEMP TABLE bad_null AS SELECT store_id, product_id, NULL::date AS sale_date, true AS is_open FROM targets;
SELECT count(*) FROM shelfops_forecast('fc', version => 1, covariates => 'bad_null');
CREATE TEMP TABLE bad_nan AS SELECT store_id, product_id, sale_date, 'NaN'::float8 AS unit_price FROM targets;
SELECT count(*) FROM shelfops_forecast('fc', version => 1, covariates => 'bad_nan');
CREATE TEMP TABLE bad_type AS SELECT store_id, product_id, sale_date, 'maybe'::text AS is_open FROM targets;
SELECT count(*) FROM shelfops_forecast('fc', version => 1, covariates => 'bad_type');
SELECT count(*) FROM shelfops_forecast('fc', version => 1, covariates => 'no_such_plan');
