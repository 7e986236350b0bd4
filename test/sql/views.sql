-- Application views: model_history and model_health carry the reference's
-- /api/v1/ml/models/history and /health fields, with its defects fixed (nulls are
-- not averaged as zeros, a challenger without backtests has no MAE, next_retrain is
-- a Sunday 02:00 UTC), and show only the session tenant's rows, also to roles that
-- cannot read the tables and to callers that add leaky conditions.
\set VERBOSITY terse
SELECT shelfops_generate_synthetic('vw', 2, 3, 150, 4)->>'rows' AS rows;
SELECT (shelfops_train('vw', 'm', 'xgboost', '{"n_estimators": 15, "max_depth": 3}'))->>'version' AS v1;
SELECT (shelfops_train('vw', 'm', 'xgboost', '{"n_estimators": 15, "max_depth": 3}'))->>'version' AS v2;
SELECT r->>'decision' AS decision FROM shelfops_promote('m', 1) r;
-- v2 enters shadow testing without a decision of the arena
UPDATE shelfops.model_versions SET status = 'challenger' WHERE model_name = 'm' AND version = 2;

------------------------------------------------------------------------------
-- model_history
------------------------------------------------------------------------------

-- one row per version; metrics and lineage read from the version row
SELECT h.version, h.status, h.algorithm, h.tier, h.dataset_id, h.forecast_grain, h.feature_set_id,
       h.architecture, h.objective, h.segment_strategy, h.tuning_profile, h.trigger_source, h.lineage_label
  FROM shelfops.model_history h WHERE h.model_name = 'm' ORDER BY h.version;
SELECT h.version,
       h.mae = (v.metrics->'holdout'->>'mae')::float8 AS mae,
       h.mape = (v.metrics->'holdout'->>'mape_nonzero')::float8 AS mape_is_nonzero,
       h.wape = (v.metrics->'holdout'->>'wape')::float8 AS wape,
       h.mase = (v.metrics->'holdout'->>'mase')::float8 AS mase,
       h.bias_pct = (v.metrics->'holdout'->>'bias_pct')::float8 AS bias_pct,
       h.coverage = (v.metrics->'holdout'->>'coverage')::float8 AS coverage,
       h.seasonal_naive_wape = (v.metrics->'seasonal_naive'->>'wape')::float8 AS naive_wape,
       h.holdout_start, h.holdout_end,
       h.created_at = v.created_at AS created_at,
       h.promoted_at IS NOT DISTINCT FROM v.promoted_at AS promoted_at,
       h.archived_at IS NULL AS not_archived, h.smoke_test_passed,
       jsonb_array_length(h.lifecycle_events) AS events
  FROM shelfops.model_history h JOIN shelfops.model_versions v USING (model_name, version)
 WHERE h.model_name = 'm' ORDER BY h.version;

-- the first champion's decision; v2 has no decision yet
SELECT version, promotion_block_reason, promotion_decision->>'decision' AS decision,
       promotion_decision->>'promoted' AS promoted, promotion_decision->>'reason' AS reason
  FROM shelfops.model_history WHERE model_name = 'm' ORDER BY version;

-- metrics that are missing, JSON null or not numbers read NULL (never an error);
-- 'mape' is accepted when 'mape_nonzero' is absent; lifecycle events default to []
INSERT INTO shelfops.model_versions (model_name, version, algorithm, dataset_id, metrics)
VALUES ('odd', 1, 'seasonal_naive', 'vw',
        '{"holdout": {"mae": null, "mape": 0.25, "wape": "n/a"}}');
SELECT version, status, mae, mape, wape, mase, tier, architecture, forecast_grain, lineage_label,
       promotion_decision, lifecycle_events
  FROM shelfops.model_history WHERE model_name = 'odd';

-- a rejected decision: its reason is the block reason, and the decision document
-- carries the gate checks with the arena's final verdict
INSERT INTO shelfops.model_experiments (experiment_name, hypothesis, experiment_type, model_name,
                                        baseline_version, experimental_version, decision, reason, results)
VALUES ('t', 'h', 'promotion_decision', 'm', 1, 2, 'rejected',
        'failed_gates:wape_gate,beats_seasonal_naive_gate',
        '{"decision": {"promoted": false, "reason": "failed_gates:wape_gate", "gate_checks": {"wape_gate": false}},
          "extra_gates": {"beats_seasonal_naive_gate": false}, "promoted": false}');
SELECT version, promotion_block_reason, promotion_decision->>'decision' AS decision,
       promotion_decision->>'promoted' AS promoted, promotion_decision->>'reason' AS reason,
       promotion_decision->>'gates_reason' AS gates_reason,
       promotion_decision->'gate_checks' AS gate_checks, promotion_decision->'extra_gates' AS extra_gates
  FROM shelfops.model_history WHERE model_name = 'm' AND version = 2;
-- a later forced promotion of the same version supersedes it: no block reason
INSERT INTO shelfops.model_experiments (experiment_name, hypothesis, experiment_type, model_name,
                                        baseline_version, experimental_version, decision, reason, forced,
                                        results, created_at)
VALUES ('t2', 'h', 'promotion_decision', 'odd', NULL, 1, 'rejected', 'failed_gates:mae_gate', false, '{}',
        now() - interval '1 hour'),
       ('t3', 'h', 'promotion_decision', 'odd', NULL, 1, 'forced', 'failed_gates:mae_gate', true, '{}', now());
SELECT promotion_block_reason, promotion_decision->>'decision' AS decision,
       promotion_decision->>'promoted' AS promoted, promotion_decision->>'forced' AS forced
  FROM shelfops.model_history WHERE model_name = 'odd';

------------------------------------------------------------------------------
-- model_health
------------------------------------------------------------------------------

-- two days of data after the champion's holdout (2024-05-29): the data clock
-- (as_of) moves to 2024-05-31 and the champion has 2 new rows to learn from
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
SELECT dataset_id, store_id, product_id, sale_date + 2, quantity FROM shelfops.sales
 WHERE dataset_id = 'vw' AND sale_date = '2024-05-29'
 ORDER BY store_id, product_id LIMIT 1;
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
SELECT dataset_id, store_id, product_id, sale_date + 1, quantity FROM shelfops.sales
 WHERE dataset_id = 'vw' AND sale_date = '2024-05-29'
 ORDER BY store_id, product_id LIMIT 1;

-- champion backtests, as_of 2024-05-31: the 7-day window is 05-25..05-31, the
-- 30-day window 05-02..05-31.  NULL maes are not values: mae_7d = (2 + 4) / 2 = 3,
-- mae_30d = (2 + 4 + 6) / 3 = 4 (the reference divided by every row: 2 and 2.4).
-- Rows outside the windows, other metrics and NaN do not count.
INSERT INTO shelfops.backtest_results (backtest_run_id, model_name, version, fold, forecast_origin,
                                       window_start, window_end, horizon, metric, value)
SELECT gen_random_uuid(), 'm', 1, 1, e - 7, e - 6, e, 7, metric, value
  FROM (VALUES (date '2024-05-31', 'mae', 2.0),
               ('2024-05-27', 'mae', 4.0),
               ('2024-05-26', 'mae', NULL),
               ('2024-05-25', 'mae', 'NaN'),
               ('2024-05-10', 'mae', 6.0),
               ('2024-05-05', 'mae', NULL),
               ('2024-05-01', 'mae', 100.0),
               ('2024-06-10', 'mae', 100.0),
               ('2024-05-30', 'mape', 100.0)) b(e, metric, value);
SELECT model_name, champion->>'version' AS version, champion->>'status' AS status,
       champion->>'as_of' AS as_of, champion->>'mae_7d' AS mae_7d, champion->>'mae_7d_rows' AS n_7d,
       champion->>'mae_30d' AS mae_30d, champion->>'mae_30d_rows' AS n_30d, champion->>'trend' AS trend,
       (champion->>'promoted_at')::timestamptz = (SELECT promoted_at FROM shelfops.model_versions
                                                   WHERE model_name = 'm' AND version = 1) AS promoted_at
  FROM shelfops.model_health WHERE model_name = 'm';

-- next_retrain: the next Sunday 02:00 UTC, in the future and within a week
SELECT extract(dow FROM n AT TIME ZONE 'UTC') AS dow, extract(hour FROM n AT TIME ZONE 'UTC') AS hour,
       extract(minute FROM n AT TIME ZONE 'UTC') AS minute, extract(second FROM n AT TIME ZONE 'UTC') AS second,
       n > now() AS future, n <= now() + interval '7 days' AS within_a_week
  FROM (SELECT (champion->>'next_retrain')::timestamptz AS n FROM shelfops.model_health WHERE model_name = 'm') x;
-- the schedule rule on fixed instants (the reference's now + (7 - weekday) days gave Mondays)
SELECT t AS after_utc, shelfops.next_weekly_retrain(t::timestamptz) AT TIME ZONE 'UTC' AS next_utc
  FROM (VALUES ('2026-12-05 12:00+00'), ('2026-12-06 01:59:59+00'), ('2026-12-06 02:00+00'),
               ('2026-12-07 00:00+00'), ('2026-12-05 22:00-05'), ('2026-12-05 23:00+05')) v(t);

-- the challenger has no backtests: no MAE, no eligibility, no confidence (the
-- reference borrowed numbers it never produced)
SELECT challenger->>'version' AS version, challenger->>'status' AS status, challenger->>'mae_7d' AS mae_7d,
       challenger->>'mae_7d_rows' AS n_7d, challenger->>'routing_weight' AS routing_weight,
       challenger->>'promotion_eligible' AS eligible, challenger->>'confidence' AS confidence
  FROM shelfops.model_health WHERE model_name = 'm';
-- with its own backtests: 1 - 2.5 / 3 = 0.167 >= -0.02, confidence clamped to 0.5
INSERT INTO shelfops.backtest_results (backtest_run_id, model_name, version, fold, forecast_origin,
                                       window_start, window_end, horizon, metric, value)
VALUES (gen_random_uuid(), 'm', 2, 1, '2024-05-23', '2024-05-24', '2024-05-30', 7, 'mae', 2.5),
       (gen_random_uuid(), 'm', 2, 1, '2024-05-22', '2024-05-23', '2024-05-29', 7, 'mae', NULL);
SELECT challenger->>'mae_7d' AS mae_7d, challenger->>'mae_7d_rows' AS n_7d,
       challenger->>'promotion_eligible' AS eligible, challenger->>'confidence' AS confidence
  FROM shelfops.model_health WHERE model_name = 'm';

-- a bad recent week: mae_7d = (2 + 4 + 20) / 3 > 1.05 x mae_30d = 32 / 4 -> degrading, warning;
-- the challenger's improvement 1 - 2.5 / 8.667 = 0.712
INSERT INTO shelfops.backtest_results (backtest_run_id, model_name, version, fold, forecast_origin,
                                       window_start, window_end, horizon, metric, value)
VALUES (gen_random_uuid(), 'm', 1, 1, '2024-05-22', '2024-05-23', '2024-05-29', 7, 'mae', 20.0);
UPDATE shelfops.model_versions SET routing_weight = 0.1 WHERE model_name = 'm' AND version = 2;
SELECT champion->>'status' AS status, round((champion->>'mae_7d')::numeric, 4) AS mae_7d,
       champion->>'mae_30d' AS mae_30d, champion->>'trend' AS trend,
       challenger->>'status' AS challenger_status, challenger->>'routing_weight' AS routing_weight,
       challenger->>'promotion_eligible' AS eligible, round((challenger->>'confidence')::numeric, 4) AS confidence
  FROM shelfops.model_health WHERE model_name = 'm';
-- stable between the bounds: one more 30-day row (05-09, outside the 7 days) of 11 makes
-- mae_30d = 43 / 5 = 8.6, and 8.667 / 8.6 = 1.008 is within [0.95, 1.05]
INSERT INTO shelfops.backtest_results (backtest_run_id, model_name, version, fold, forecast_origin,
                                       window_start, window_end, horizon, metric, value)
VALUES (gen_random_uuid(), 'm', 1, 1, '2024-05-02', '2024-05-03', '2024-05-09', 7, 'mae', 11.0);
SELECT champion->>'mae_30d' AS mae_30d, champion->>'trend' AS trend, champion->>'status' AS status
  FROM shelfops.model_health WHERE model_name = 'm';

-- retraining triggers and the last 5 runs.  The two trainings logged 'manual'
-- completed rows; six more runs follow (k = 1..6, one second apart).
INSERT INTO shelfops.model_retraining_log (model_name, trigger_type, trigger_metadata, status,
                                           version_produced, error, started_at, completed_at)
SELECT 'm', t, jsonb_build_object('k', k), s, vp, err,
       now() + k * interval '1 second',
       CASE WHEN s <> 'running' THEN now() + k * interval '1 second' + interval '30 seconds' END
  FROM (VALUES (1, 'scheduled', 'failed', NULL, 'boom'),
               (2, 'new_data', 'skipped', NULL, NULL),
               (3, 'drift', 'completed', 2, NULL),
               (4, 'manual', 'timed_out', NULL, NULL),
               (5, 'scheduled', 'completed', NULL, NULL),
               (6, 'manual', 'running', NULL, NULL)) r(k, t, s, vp, err);
SELECT retraining_triggers->'drift_detected' AS drift_detected,
       retraining_triggers->'new_data_available' AS new_data_available,
       retraining_triggers->'new_data_rows_since_last_retrain' AS new_rows,
       retraining_triggers->>'last_trigger' AS last_trigger,
       (retraining_triggers->>'last_retrain_at')::timestamptz =
           (SELECT completed_at FROM shelfops.model_retraining_log WHERE trigger_metadata->>'k' = '5') AS last_retrain_is_k5,
       models_count
  FROM shelfops.model_health WHERE model_name = 'm';
SELECT n, e->>'trigger_type' AS trigger_type, e->>'status' AS status, e->>'version_produced' AS version_produced,
       e->'trigger_metadata'->>'k' AS k,
       (e->>'started_at')::timestamptz = l.started_at AS started_at,
       (e->>'completed_at')::timestamptz IS NOT DISTINCT FROM l.completed_at AS completed_at,
       array(SELECT jsonb_object_keys(e) ORDER BY 1) AS keys
  FROM shelfops.model_health h, jsonb_array_elements(h.recent_retraining_events) WITH ORDINALITY x(e, n)
  JOIN shelfops.model_retraining_log l ON l.model_name = 'm' AND l.trigger_metadata = e->'trigger_metadata'
 WHERE h.model_name = 'm' ORDER BY n;

-- models_count counts the champion and the challengers only: no champion, no
-- challenger -> 0 (the reference said 1 without a champion); champion left -> 1
SELECT model_name, champion, challenger, models_count, retraining_triggers->'new_data_rows_since_last_retrain' AS new_rows,
       recent_retraining_events
  FROM shelfops.model_health WHERE model_name = 'odd';
UPDATE shelfops.model_versions SET status = 'archived', archived_at = now() WHERE model_name = 'm' AND version = 2;
SELECT models_count, challenger FROM shelfops.model_health WHERE model_name = 'm';
-- a model known only from its log (its first training failed) has a row too
INSERT INTO shelfops.model_retraining_log (model_name, trigger_type, status, error, completed_at)
VALUES ('never', 'manual', 'failed', 'no data', now());
SELECT model_name, champion, challenger, models_count, retraining_triggers->>'last_trigger' AS last_trigger,
       retraining_triggers->'last_retrain_at' AS last_retrain_at,
       jsonb_array_length(recent_retraining_events) AS events
  FROM shelfops.model_health WHERE model_name = 'never';

------------------------------------------------------------------------------
-- Tenants and roles
------------------------------------------------------------------------------

-- another tenant's model, written by the superuser
INSERT INTO shelfops.model_versions (tenant_id, model_name, version, algorithm, dataset_id, status, promoted_at)
VALUES ('other', 'secret', 1, 'xgboost', 'd', 'champion', now());
INSERT INTO shelfops.model_retraining_log (tenant_id, model_name, trigger_type, status, completed_at)
VALUES ('other', 'secret', 'manual', 'completed', now());
INSERT INTO shelfops.model_experiments (tenant_id, experiment_name, hypothesis, experiment_type, model_name,
                                        experimental_version, decision, reason)
VALUES ('other', 'x', 'h', 'promotion_decision', 'm', 1, 'rejected', 'leaked');

-- even the superuser (who bypasses row-level security) sees one tenant through the views,
-- and another tenant's experiment about a model of the same name is not mixed in
SELECT DISTINCT tenant_id, model_name FROM shelfops.model_history ORDER BY 1, 2;
SELECT tenant_id, model_name FROM shelfops.model_health ORDER BY 1, 2;
SELECT count(*) AS leaked FROM shelfops.model_history WHERE promotion_block_reason = 'leaked';

-- a caller's condition cannot see other tenants' rows before the tenant filter
-- (security_barrier): the peek sees this tenant's models only (recorded in a
-- setting and listed sorted, so the heap's row order does not matter)
CREATE FUNCTION public.regress_views_peek(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
    PERFORM set_config('regress.peeks', coalesce(current_setting('regress.peeks', true), '') || ',' || $1, false);
    RETURN true;
END $$;

CREATE ROLE regress_views_app;
CREATE ROLE regress_views_analyst;
GRANT shelfops_app TO regress_views_app;
GRANT shelfops_analyst TO regress_views_analyst;
SELECT has_table_privilege('shelfops_app', 'shelfops.model_history', 'SELECT') AS app_history,
       has_table_privilege('shelfops_app', 'shelfops.model_health', 'SELECT') AS app_health,
       has_table_privilege('shelfops_app', 'shelfops.model_history', 'INSERT') AS app_insert,
       has_table_privilege('public', 'shelfops.model_health', 'SELECT') AS public_health;

SET ROLE regress_views_app;
SELECT model_name, version, status FROM shelfops.model_history ORDER BY 1, 2;
SELECT model_name, champion->>'version' AS champion, models_count FROM shelfops.model_health ORDER BY 1;
SELECT count(*) FROM shelfops.model_history WHERE regress_views_peek(tenant_id || '/' || model_name);
SELECT string_agg(p, ' ' ORDER BY p) AS peeked
  FROM unnest(string_to_array(current_setting('regress.peeks'), ',')) p WHERE p <> '';
-- the tables themselves stay closed to the app role
SELECT count(*) FROM shelfops.model_versions;
SELECT count(*) FROM shelfops.backtest_results;
SELECT count(*) FROM shelfops.model_retraining_log;
SET shelfops.tenant_id = 'other';
SELECT tenant_id, model_name, version, status FROM shelfops.model_history;
SELECT tenant_id, model_name, champion->>'version' AS champion, champion->>'next_retrain' IS NOT NULL AS scheduled,
       models_count, retraining_triggers->>'last_trigger' AS last_trigger
  FROM shelfops.model_health;
SET shelfops.tenant_id = 'nobody';
SELECT count(*) AS history_rows FROM shelfops.model_history;
SELECT count(*) AS health_rows FROM shelfops.model_health;
RESET shelfops.tenant_id;
RESET ROLE;

-- analysts read the views too (through shelfops_app)
SET ROLE regress_views_analyst;
SELECT count(*) AS history_rows FROM shelfops.model_history;
RESET ROLE;

DROP FUNCTION public.regress_views_peek(text);
DROP ROLE regress_views_app;
DROP ROLE regress_views_analyst;
