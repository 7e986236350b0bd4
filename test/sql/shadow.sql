-- Shadow scoring: challengers forecast beside the champion into shadow_predictions
-- (upserted, never wiped), actuals filled from sales as they arrive, per-version
-- metrics on each pair's matched rows, the arena's evidence, tenants and errors.
\set VERBOSITY terse
SELECT shelfops_generate_synthetic('sh', 2, 4, 200, 9)->>'rows' AS rows;
SELECT date_min, date_max FROM shelfops.datasets WHERE dataset_id = 'sh';
SELECT (shelfops_train('sh', 'shm', 'xgboost', '{"n_estimators": 20, "max_depth": 3}'))->>'version' AS v1;
SELECT (shelfops_train('sh', 'shm', 'xgboost', '{"n_estimators": 40, "max_depth": 4}'))->>'version' AS v2;
SELECT r->>'decision' AS decision FROM shelfops_promote('shm', 1) r;
SELECT r->>'decision' AS decision, r->>'status' AS status FROM shelfops_promote('shm', 2) r;
-- whatever the gates decided: v1 champion, v2 challenger (two steps: one champion at a time)
UPDATE shelfops.model_versions SET status = 'archived' WHERE model_name = 'shm' AND version <> 1;
UPDATE shelfops.model_versions SET status = 'champion' WHERE model_name = 'shm' AND version = 1;
UPDATE shelfops.model_versions SET status = 'challenger' WHERE model_name = 'shm' AND version = 2;
SELECT version, status FROM shelfops.model_versions WHERE model_name = 'shm' ORDER BY version;

-- without shadow => true nothing is written
SELECT count(*) AS rows FROM shelfops_forecast('shm', as_of => '2024-06-30');
SELECT count(*) AS shadow_rows FROM shelfops.shadow_predictions;

-- the champion serves; the output stays the champion's rows
SELECT count(*) AS rows, min(version) AS min_version, max(version) AS max_version,
       min(target_date) AS first_target, max(target_date) AS last_target
  FROM shelfops_forecast('shm', as_of => '2024-06-30', shadow => true);
SELECT champion_version, challenger_version, count(*) AS rows,
       count(DISTINCT (store_id, product_id)) AS series, min(forecast_origin) AS origin,
       max(forecast_origin) AS last_origin, min(target_date) AS first_target, max(target_date) AS last_target,
       count(actual_demand) AS with_actual, count(scored_at) AS scored
  FROM shelfops.shadow_predictions GROUP BY 1, 2;
-- both predictions are exactly what each version forecasts on its own
SELECT count(*) FILTER (WHERE sp.champion_prediction = f.forecast) AS champion_matches
  FROM shelfops.shadow_predictions sp
  JOIN shelfops_forecast('shm', version => 1, as_of => '2024-06-30') f USING (store_id, product_id, target_date);
SELECT count(*) FILTER (WHERE sp.challenger_prediction = f.forecast) AS challenger_matches
  FROM shelfops.shadow_predictions sp
  JOIN shelfops_forecast('shm', version => 2, as_of => '2024-06-30') f USING (store_id, product_id, target_date);

-- a second forecast from another origin adds rows and deletes none; its last six
-- targets lie after the data's end (2024-07-18)
SELECT count(*) AS rows FROM shelfops_forecast('shm', as_of => '2024-07-10', shadow => true);
-- forecasting the first origin again rewrites its rows in place
SELECT count(*) AS rows FROM shelfops_forecast('shm', as_of => '2024-06-30', shadow => true);
SELECT forecast_origin, count(*) AS rows, count(*) FILTER (WHERE target_date > '2024-07-18') AS after_data
  FROM shelfops.shadow_predictions GROUP BY 1 ORDER BY 1;

-- scoring: an analyst may score (and reads the pair's metrics)
CREATE ROLE regress_shadow_analyst;
GRANT shelfops_analyst TO regress_shadow_analyst;
SET ROLE regress_shadow_analyst;
SELECT version, role, paired_with, rows, days, mae > 0 AS mae_positive, wape > 0 AS wape_positive,
       bias_pct IS NOT NULL AS has_bias, stockout_miss_rate >= 0 AS has_stockout,
       overstock_rate BETWEEN 0 AND 1 AS has_overstock
  FROM shelfops_score_shadow('shm');
RESET ROLE;
SELECT max(scored_at) AS first_scoring FROM shelfops.shadow_predictions \gset

-- actuals filled from sales, errors = |prediction - actual|; no actual yet: unscored
SELECT count(*) FILTER (WHERE sp.scored_at IS NOT NULL) AS scored,
       count(*) FILTER (WHERE sp.scored_at IS NULL) AS unscored,
       bool_and((sp.scored_at IS NULL) = (sp.target_date > '2024-07-18')) AS unscored_iff_no_sales,
       bool_and(sp.actual_demand IS NOT DISTINCT FROM s.quantity) AS actual_is_sales,
       bool_and(sp.champion_error IS NOT DISTINCT FROM abs(sp.champion_prediction - s.quantity)) AS champion_error_ok,
       bool_and(sp.challenger_error IS NOT DISTINCT FROM abs(sp.challenger_prediction - s.quantity)) AS challenger_error_ok,
       bool_and(sp.scored_at IS NULL = (sp.champion_error IS NULL AND sp.challenger_error IS NULL)) AS errors_iff_scored
  FROM shelfops.shadow_predictions sp
  LEFT JOIN shelfops.sales s ON s.tenant_id = sp.tenant_id AND s.dataset_id = 'sh'
       AND s.store_id = sp.store_id AND s.product_id = sp.product_id AND s.sale_date = sp.target_date;

-- the metrics equal a recomputation with shelfops_metrics() over the same rows
WITH recomputed AS (
    SELECT r.role, r.version, count(*) AS rows, count(DISTINCT sp.target_date) AS days,
           avg(abs(r.pred - sp.actual_demand)) AS mae,
           shelfops_metrics(array_agg(sp.actual_demand ORDER BY sp.store_id, sp.product_id, sp.forecast_origin, sp.target_date),
                            array_agg(r.pred ORDER BY sp.store_id, sp.product_id, sp.forecast_origin, sp.target_date)) AS m
      FROM shelfops.shadow_predictions sp
     CROSS JOIN LATERAL (VALUES ('champion', sp.champion_version, sp.champion_prediction),
                                ('challenger', sp.challenger_version, sp.challenger_prediction)) r(role, version, pred)
     WHERE sp.scored_at IS NOT NULL
     GROUP BY r.role, r.version)
SELECT s.role, s.version, s.rows = r.rows AS rows_ok, s.days = r.days AS days_ok,
       abs(s.mae - r.mae) < 1e-9 AS mae_ok,
       abs(s.mae - (r.m->>'mae')::float8) < 1e-9 AS mae_metrics_ok,
       abs(s.wape - (r.m->>'wape')::float8) < 1e-9 AS wape_ok,
       abs(s.bias_pct - (r.m->>'bias_pct')::float8) < 1e-9 AS bias_ok,
       abs(s.stockout_miss_rate - (r.m->>'stockout_miss_rate')::float8) < 1e-9 AS stockout_ok,
       abs(s.overstock_rate - (r.m->>'overstock_rate')::float8) < 1e-9 AS overstock_ok
  FROM shelfops_score_shadow('shm') s JOIN recomputed r USING (role, version)
 ORDER BY s.role DESC;

-- scoring again changes nothing already scored
SELECT count(*) AS rescored FROM shelfops.shadow_predictions WHERE scored_at > :'first_scoring';

-- an actual that arrives later is scored then; a corrected actual is scored again
INSERT INTO shelfops.sales (tenant_id, dataset_id, store_id, product_id, sale_date, quantity)
SELECT 'public', 'sh', min(store_id), min(product_id), '2024-07-19', 5 FROM shelfops.shadow_predictions;
SELECT version, role, rows, days FROM shelfops_score_shadow('shm');
SELECT target_date, actual_demand, champion_error = abs(champion_prediction - 5) AS error_ok
  FROM shelfops.shadow_predictions WHERE target_date = '2024-07-19' AND scored_at IS NOT NULL;
UPDATE shelfops.sales SET quantity = 7 WHERE dataset_id = 'sh' AND sale_date = '2024-07-19';
SELECT version, role, rows, days FROM shelfops_score_shadow('shm');
SELECT target_date, actual_demand, challenger_error = abs(challenger_prediction - 7) AS error_ok
  FROM shelfops.shadow_predictions WHERE target_date = '2024-07-19' AND scored_at IS NOT NULL;
-- (take the row out again, which moves the dataset's calendar back; the shadow row
-- keeps its score)
DELETE FROM shelfops.sales WHERE dataset_id = 'sh' AND sale_date = '2024-07-19';

-- the arena's evidence: the same rows, both metric documents with the canonical keys
SELECT e->>'evidence' AS evidence, e->'champion_version' AS champion, e->'challenger_version' AS challenger,
       e->'rows' AS rows, e->'days' AS days, e->>'first_target' AS first_target, e->>'last_target' AS last_target,
       e->'champion' ?& array['mae', 'mape_nonzero', 'wape', 'mase', 'bias_pct', 'stockout_miss_rate',
                               'overstock_rate', 'coverage', 'overstock_dollars', 'lost_sales_qty',
                               'opportunity_cost_stockout', 'opportunity_cost_overstock'] AS champion_keys,
       e->'challenger' ?& array['mae', 'wape', 'mase', 'bias_pct'] AS challenger_keys,
       e->'champion'->'rows' AS champion_rows, e->'challenger'->'rows' AS challenger_rows,
       (e->'champion'->>'mase')::float8 > 0 AS has_mase, e->'champion'->'mase_series' AS mase_series,
       e->'champion'->'coverage' AS coverage
  FROM shelfops._shadow_evidence('shm', 1, 2) e;
SELECT abs((e->'champion'->>'mae')::float8 - s.mae) < 1e-9 AS champion_mae_ok,
       abs((e->'challenger'->>'wape')::float8 - c.wape) < 1e-9 AS challenger_wape_ok
  FROM shelfops._shadow_evidence('shm', 1, 2) e,
       shelfops_score_shadow('shm') s, shelfops_score_shadow('shm') c
 WHERE s.role = 'champion' AND c.role = 'challenger';
-- a pair without rows: no evidence, every metric NULL
SELECT e->'rows' AS rows, e->'days' AS days, e->'first_target' AS first_target,
       e->'champion'->'mae' AS mae, e->'challenger'->'wape' AS wape
  FROM shelfops._shadow_evidence('shm', 2, 1) e;

-- tenants: another tenant sees no shadow rows and cannot score this one's
SET ROLE regress_shadow_analyst;
SET shelfops.tenant_id = 'tenant_b';
SELECT count(*) AS visible FROM shelfops.shadow_predictions;
SELECT * FROM shelfops_score_shadow('shm');
SELECT * FROM shelfops_score_shadow('shm', 'public');
SELECT shelfops._shadow_evidence('shm', 1, 2, 'public');
RESET shelfops.tenant_id;
RESET ROLE;
-- even a superuser acting for tenant_b finds no such model
SELECT * FROM shelfops_score_shadow('shm', 'tenant_b');

-- tenant_b's own model of the same name: its shadow rows and scores stay its own
-- (written and scored by an analyst of tenant_b, under row-level security)
SELECT count(*) AS public_rows_before FROM shelfops.shadow_predictions WHERE tenant_id = 'public' \gset
SET ROLE regress_shadow_analyst;
SET shelfops.tenant_id = 'tenant_b';
SELECT shelfops_generate_synthetic('sh', 2, 4, 200, 10)->>'rows' AS rows;
SELECT (shelfops_train('sh', 'shm', 'xgboost', '{"n_estimators": 20, "max_depth": 3}'))->>'version' AS b1;
SELECT (shelfops_train('sh', 'shm', 'xgboost', '{"n_estimators": 40, "max_depth": 4}'))->>'version' AS b2;
RESET ROLE;
UPDATE shelfops.model_versions SET status = 'champion', promoted_at = now() WHERE tenant_id = 'tenant_b' AND model_name = 'shm' AND version = 1;
UPDATE shelfops.model_versions SET status = 'challenger' WHERE tenant_id = 'tenant_b' AND model_name = 'shm' AND version = 2;
SET ROLE regress_shadow_analyst;
SELECT count(*) AS rows FROM shelfops_forecast('shm', as_of => '2024-07-04', shadow => true);
SELECT version, role, paired_with, rows, days FROM shelfops_score_shadow('shm');
SELECT tenant_id, forecast_origin, count(*) AS rows FROM shelfops.shadow_predictions GROUP BY 1, 2;
RESET shelfops.tenant_id;
RESET ROLE;
SELECT count(*) = :public_rows_before AS public_rows_unchanged,
       count(*) FILTER (WHERE forecast_origin = '2024-07-04') AS public_rows_from_b
  FROM shelfops.shadow_predictions WHERE tenant_id = 'public';
SELECT version, role, rows, days FROM shelfops_score_shadow('shm');

-- errors
SELECT * FROM shelfops_score_shadow('no_such_model');
SELECT * FROM shelfops_score_shadow(NULL);
SELECT shelfops._shadow_evidence('shm', NULL, 2);
SELECT count(*) FROM shelfops_forecast('shm', version => 2, as_of => '2024-06-30', shadow => true);
-- the champion asked for by number may shadow
SELECT count(*) AS rows FROM shelfops_forecast('shm', version => 1, as_of => '2024-06-30', shadow => true);
SELECT count(*) AS shadow_rows FROM shelfops.shadow_predictions WHERE tenant_id = 'public';
-- no challenger: nothing written, nothing wiped
UPDATE shelfops.model_versions SET status = 'archived' WHERE model_name = 'shm' AND version = 2;
SELECT count(*) AS rows FROM shelfops_forecast('shm', as_of => '2024-07-01', shadow => true);
SELECT count(*) AS shadow_rows FROM shelfops.shadow_predictions WHERE tenant_id = 'public';

DROP ROLE regress_shadow_analyst;
DELETE FROM shelfops.shadow_predictions;
DELETE FROM shelfops.model_versions;
DELETE FROM shelfops.model_experiments;
DELETE FROM shelfops.training_runs;
DELETE FROM shelfops.model_retraining_log;
DELETE FROM shelfops.model_version_counters;
DELETE FROM shelfops.datasets;

-- the arena decides on shadow evidence: too few matched rows or days for the policy first
SELECT shelfops_generate_synthetic('sp', 2, 3, 200, 21)->>'rows' AS rows;
SELECT (shelfops_train('sp', 'ps', 'xgboost', '{"n_estimators": 20, "max_depth": 3}'))->>'version' AS v1;
SELECT (shelfops_promote('ps', 1))->>'decision' AS decision;
SELECT (shelfops_train('sp', 'ps', 'moving_average', '{"window": 7}'))->>'version' AS v2;
UPDATE shelfops.model_versions SET status = 'challenger' WHERE model_name = 'ps' AND version = 2;
SELECT count(*) AS champion_rows FROM shelfops_forecast('ps', as_of => '2024-06-20', shadow => true);
SELECT r->>'promoted' AS promoted, r->>'reason' AS reason, r->>'rows_scored' AS rows_scored
  FROM shelfops_promote('ps', 2, evidence => 'shadow') r;
SELECT evidence->>'evidence' AS evidence, (evidence->>'rows')::int AS rows, (evidence->>'days')::int AS days,
       evidence->>'shadow_min_rows' AS min_rows, results->'extra_gates'->>'min_scored_rows_gate' AS enough
  FROM shelfops.model_experiments WHERE model_name = 'ps' AND experimental_version = 2;
SELECT shelfops_promote('ps', 2, evidence => 'vibes');
DELETE FROM shelfops.model_experiments WHERE model_name = 'ps';
DELETE FROM shelfops.shadow_predictions WHERE model_name = 'ps';
DELETE FROM shelfops.model_versions WHERE model_name = 'ps';
DELETE FROM shelfops.training_runs WHERE model_name = 'ps';
DELETE FROM shelfops.model_retraining_log WHERE model_name = 'ps';
DELETE FROM shelfops.model_version_counters WHERE model_name = 'ps';
DELETE FROM shelfops.datasets WHERE dataset_id = 'sp';

-- only the newest shelfops.shadow_max_challengers challengers are shadowed
SELECT shelfops_generate_synthetic('sc', 1, 2, 120, 5)->>'rows' AS rows;
SELECT (shelfops_train('sc', 'cap', 'seasonal_naive'))->>'version' AS v1;
SELECT (shelfops_train('sc', 'cap', 'moving_average', '{"window": 7}'))->>'version' AS v2;
SELECT (shelfops_train('sc', 'cap', 'moving_average', '{"window": 14}'))->>'version' AS v3;
SELECT (shelfops_train('sc', 'cap', 'moving_average', '{"window": 28}'))->>'version' AS v4;
SELECT (shelfops_promote('cap', 1))->>'decision' AS decision;
UPDATE shelfops.model_versions SET status = 'challenger' WHERE model_name = 'cap' AND version > 1;
SET shelfops.shadow_max_challengers = 2;
SELECT count(*) > 0 AS served FROM shelfops_forecast('cap', shadow => true);
SELECT challenger_version, count(*) > 0 AS has_rows
  FROM shelfops.shadow_predictions WHERE model_name = 'cap' GROUP BY 1 ORDER BY 1;
SET shelfops.shadow_max_challengers = 0;
RESET shelfops.shadow_max_challengers;
SELECT count(*) > 0 AS served FROM shelfops_forecast('cap', shadow => true);
SELECT challenger_version, count(*) > 0 AS has_rows
  FROM shelfops.shadow_predictions WHERE model_name = 'cap' GROUP BY 1 ORDER BY 1;
DELETE FROM shelfops.shadow_predictions WHERE model_name = 'cap';
DELETE FROM shelfops.model_experiments WHERE model_name = 'cap';
DELETE FROM shelfops.model_versions WHERE model_name = 'cap';
DELETE FROM shelfops.training_runs WHERE model_name = 'cap';
DELETE FROM shelfops.model_retraining_log WHERE model_name = 'cap';
DELETE FROM shelfops.model_version_counters WHERE model_name = 'cap';
DELETE FROM shelfops.datasets WHERE dataset_id = 'sc';
