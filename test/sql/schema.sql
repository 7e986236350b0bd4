-- Schema behaviour: vocabularies, the single champion, per-tenant versions,
-- identifiers, the default gate policy.
\set VERBOSITY terse
-- the tables the extension installs (per-dataset partitions of sales are made by loads)
SELECT c.relname, c.relkind FROM pg_class c
 WHERE c.relnamespace = 'shelfops'::regnamespace AND c.relkind IN ('r', 'p')
   AND EXISTS (SELECT 1 FROM pg_depend d
                WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY c.relname;

INSERT INTO shelfops.datasets (dataset_id, family, frequency, grain)
VALUES ('demo', 'synthetic', 'daily', 'store x product x day');
SELECT tenant_id, dataset_id, readiness, target_unit FROM shelfops.datasets;

-- sales: NaN and infinities are not quantities; negatives (returns) are.
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
VALUES ('demo', 's1', 'p1', '2024-01-01', -2);
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
VALUES ('demo', 's1', 'p1', '2024-01-02', 'NaN');
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
VALUES ('demo', 's1', 'p1', '2024-01-02', 'Infinity');
-- one row per series and period
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
VALUES ('demo', 's1', 'p1', '2024-01-01', 3);
-- sales need their dataset
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
VALUES ('nodata', 's1', 'p1', '2024-01-01', 3);

-- identifiers
INSERT INTO shelfops.datasets (dataset_id, family, frequency, grain)
VALUES ('bad''; DROP TABLE x; --', 'synthetic', 'daily', 'x');
INSERT INTO shelfops.datasets (dataset_id, family, frequency, grain)
VALUES ('demo2', 'parquet', 'daily', 'x');

-- versions are allocated per (tenant, model), never globally
SELECT shelfops.allocate_version('public', 'm1'), shelfops.allocate_version('public', 'm1'),
       shelfops.allocate_version('public', 'm2'), shelfops.allocate_version('other', 'm1');

INSERT INTO shelfops.model_versions (model_name, version, algorithm, dataset_id)
VALUES ('m1', 1, 'xgboost', 'demo'), ('m1', 2, 'xgboost', 'demo'), ('m1', 3, 'seasonal_naive', 'demo');
-- status vocabulary
UPDATE shelfops.model_versions SET status = 'deployed' WHERE version = 1;
-- a champion needs promoted_at
UPDATE shelfops.model_versions SET status = 'champion' WHERE version = 1;
UPDATE shelfops.model_versions SET status = 'champion', promoted_at = now() WHERE version = 1;
-- never two champions of one model
UPDATE shelfops.model_versions SET status = 'champion', promoted_at = now() WHERE version = 2;
-- ... but another model or tenant may have its own
INSERT INTO shelfops.model_versions (tenant_id, model_name, version, algorithm, dataset_id, status, promoted_at)
VALUES ('other', 'm1', 1, 'xgboost', 'demo', 'champion', now());
SELECT tenant_id, model_name, version, status FROM shelfops.model_versions ORDER BY 1, 2, 3;

-- retraining log: a running row has no completion time, a finished one has
INSERT INTO shelfops.model_retraining_log (model_name, trigger_type, status)
VALUES ('m1', 'manual', 'completed');
INSERT INTO shelfops.model_retraining_log (model_name, trigger_type) VALUES ('m1', 'cron');
INSERT INTO shelfops.model_retraining_log (model_name, trigger_type) VALUES ('m1', 'manual');
SELECT model_name, trigger_type, status, completed_at IS NULL AS open FROM shelfops.model_retraining_log;

-- experiments: the reference taxonomy only
INSERT INTO shelfops.model_experiments (experiment_name, hypothesis, experiment_type, model_name)
VALUES ('x', 'y', 'vibes', 'm1');

-- forecasts are never negative and lie after their origin
INSERT INTO shelfops.forecasts (model_name, version, store_id, product_id, forecast_origin, target_date, forecast)
VALUES ('m1', 1, 's1', 'p1', '2024-01-01', '2024-01-02', -1);
INSERT INTO shelfops.forecasts (model_name, version, store_id, product_id, forecast_origin, target_date, forecast)
VALUES ('m1', 1, 's1', 'p1', '2024-01-02', '2024-01-02', 1);

-- the default gate policy is the reference threshold table
SELECT max_mae_regression_pct, max_mape_regression_pct, max_wape_regression_pct, max_mase_regression_pct,
       max_bias_abs_regression_pp, max_stockout_miss_pp, max_overstock_rate_pp,
       max_lost_sales_qty_regression_pct, max_stockout_opportunity_cost_regression_pct,
       max_overstock_opportunity_cost_regression_pct, overstock_dollars_improvement_pct,
       overstock_dollars_tolerance_pct, require_business_metrics
  FROM shelfops.gate_policy WHERE tenant_id = '*';
-- a model-specific row wins over the default
INSERT INTO shelfops.gate_policy (tenant_id, model_name, max_mae_regression_pct) VALUES ('public', 'm1', 1.0);
SELECT (shelfops.effective_gate_policy('public', 'm1')).max_mae_regression_pct AS m1,
       (shelfops.effective_gate_policy('public', 'm2')).max_mae_regression_pct AS m2,
       (shelfops.effective_gate_policy('other', 'm1')).max_mae_regression_pct AS other_m1;
INSERT INTO shelfops.gate_policy (tenant_id, model_name, max_regressed_store_share) VALUES ('public', 'm2', 2);

-- deleting a dataset removes its sales
DELETE FROM shelfops.datasets WHERE dataset_id = 'demo';
SELECT count(*) FROM shelfops.sales;
