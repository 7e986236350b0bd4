-- The arena: first champion, same-window scoring (stored metrics are never trusted),
-- gates that hold back an equal model, forced promotion by an admin, the rollback
-- drill, roles and tenants, and the decision record.
\set VERBOSITY terse
SELECT shelfops_generate_synthetic('ar', 3, 8, 200, 11)->>'rows' AS rows;
SELECT (shelfops_train('ar', 'm', 'moving_average', '{"window": 56}'))->>'version' AS v1;
SELECT (shelfops_train('ar', 'm', 'xgboost', '{"n_estimators": 60, "max_depth": 4}'))->>'version' AS v2;
SELECT (shelfops_train('ar', 'm', 'xgboost', '{"n_estimators": 60, "max_depth": 4}'))->>'version' AS v3;

-- no champion yet: the candidate asked for becomes the first champion, recorded
SELECT r->>'promoted' AS promoted, r->>'decision' AS decision, r->>'reason' AS reason, r->>'version' AS version
  FROM shelfops_promote('m', 1) r;
SELECT version, status, promoted_at IS NOT NULL AS promoted, routing_weight FROM shelfops.model_versions
 WHERE model_name = 'm' ORDER BY version;

-- the champion's stored metrics claim perfection; the arena re-scores it on the candidate's window
UPDATE shelfops.model_versions SET metrics = jsonb_set(metrics, '{holdout,mae}', '0')
 WHERE model_name = 'm' AND version = 1;
SELECT r->>'decision' AS decision, r->>'version' AS version, r->>'previous_champion' AS previous,
       (r->>'candidate_wape')::float8 < (r->>'champion_wape')::float8 AS candidate_better,
       (r->>'candidate_wape')::float8 < (r->>'seasonal_naive_wape')::float8 AS beats_naive,
       r->>'rows_scored' AS rows_scored, r->>'status' AS status
  FROM shelfops_promote('m', 2) r;
SELECT (results->'champion'->>'mae')::float8 > 0 AS champion_rescored,
       evidence->>'window_start' AS window_start, evidence->>'window_end' AS window_end,
       (evidence->>'rows')::int AS rows, evidence ? 'data_fingerprint' AS fingerprinted,
       length(evidence->>'candidate_sha256') AS sha_len, decision, reason
  FROM shelfops.model_experiments WHERE experimental_version = 2;

-- v3 is byte-identical to v2: the same evidence, the same gates hold it back
SELECT r->>'promoted' AS promoted, r->>'decision' AS decision, r->>'reason' AS reason, r->>'status' AS status
  FROM shelfops_promote('m', 3) r;
SELECT version, status FROM shelfops.model_versions WHERE model_name = 'm' ORDER BY version;

-- an admin may force it; the record says so
CREATE ROLE regress_arena_admin;
CREATE ROLE regress_arena_analyst;
GRANT shelfops_admin TO regress_arena_admin;
GRANT shelfops_analyst TO regress_arena_analyst;
SET ROLE regress_arena_analyst;
SELECT shelfops_promote('m', 3);
SELECT shelfops_promote('m', 3, force => true);
SELECT shelfops_rollback('m', 1, 'analysts cannot');
RESET ROLE;
SET ROLE regress_arena_admin;
SELECT r->>'promoted' AS promoted, r->>'decision' AS decision, r->>'forced' AS forced
  FROM shelfops_promote('m', 3, force => true, reason => 'holiday freeze override') r;
RESET ROLE;
SELECT experimental_version, decision, forced, proposed_by, decision_rationale
  FROM shelfops.model_experiments WHERE experimental_version = 3 ORDER BY created_at;

-- rollback drill: v1 was champion, v2 and v3 followed; restore v1
SELECT r->>'rolled_back' AS rolled_back, r->>'version' AS version, r->>'previous_champion' AS previous
  FROM shelfops_rollback('m', 1, 'v3 over-forecasts the holiday week') r;
SELECT version, status, archived_at IS NULL AS not_archived FROM shelfops.model_versions
 WHERE model_name = 'm' ORDER BY version;
SELECT lifecycle_events->-1->>'event_type' AS last_event, lifecycle_events->-1->>'reason' AS reason
  FROM shelfops.model_versions WHERE model_name = 'm' AND version = 1;
SELECT count(*) FILTER (WHERE status = 'champion') AS champions FROM shelfops.model_versions WHERE model_name = 'm';
SELECT experiment_type, baseline_version, experimental_version, decision FROM shelfops.model_experiments
 WHERE model_name = 'm' ORDER BY created_at;

-- same rows for both sides: a champion that was excellent on the data it was trained on
-- ("old": level 30) loses on the candidate's window of "new" data (level 10 since day
-- 150).  No costs in these datasets: business gates have no basis.
INSERT INTO shelfops.datasets (dataset_id, family, frequency, grain, date_min, date_max)
VALUES ('old', 'generic', 'daily', 'store x product x day', '2024-01-01', date '2024-01-01' + 149),
       ('new', 'generic', 'daily', 'store x product x day', '2024-01-01', date '2024-01-01' + 199);
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
SELECT d.id, 's' || s, 'p' || p, date '2024-01-01' + t,
       CASE WHEN d.id = 'new' AND t >= 150 THEN 10 ELSE 30 END
       + CASE WHEN extract(isodow FROM date '2024-01-01' + t) >= 6 THEN 5 ELSE 0 END
  FROM (VALUES ('old', 149), ('new', 199)) d(id, last), generate_series(1, 2) s, generate_series(1, 2) p,
       generate_series(0, 199) t
 WHERE t <= d.last;
SELECT ((shelfops_train('old', 'shift', 'xgboost', '{"n_estimators": 100, "max_depth": 3, "eta": 0.3}'))->'metrics'->>'mae')::float8 < 0.5 AS champion_was_excellent;
SELECT (shelfops_promote('shift'))->>'decision' AS decision;
SELECT (shelfops_train('new', 'shift', 'seasonal_naive'))->>'version' AS candidate;
INSERT INTO shelfops.gate_policy (tenant_id, model_name, min_scored_rows, require_beat_seasonal_naive)
VALUES ('public', 'shift', 10, false);
-- the default policy requires business metrics: without costs they are missing inputs
SELECT r->>'promoted' AS promoted, r->>'reason' AS reason FROM shelfops_promote('shift', 2) r;
-- a policy that does not require them skips the business gates, and says so
UPDATE shelfops.gate_policy SET require_business_metrics = false WHERE model_name = 'shift';
SELECT (shelfops_train('new', 'shift', 'seasonal_naive'))->>'version' AS candidate;
SELECT r->>'promoted' AS promoted, r->>'decision' AS decision, r->>'reason' AS reason,
       round((r->>'champion_wape')::numeric, 3) AS champion_wape_on_window,
       round((r->>'candidate_wape')::numeric, 3) AS candidate_wape
  FROM shelfops_promote('shift', 3) r;
SELECT results->'extra_gates'->>'business_gates_skipped' AS skipped,
       results->'decision'->'missing_required_inputs' AS missing
  FROM shelfops.model_experiments WHERE model_name = 'shift' AND experimental_version = 3;
SELECT version, status FROM shelfops.model_versions WHERE model_name = 'shift' ORDER BY version;

-- after this real sequence of trainings, promotions, a forced promotion and a rollback,
-- the parity documents agree with the tables
SELECT count(*) AS registry_disagreements
  FROM shelfops.model_versions v
  LEFT JOIN jsonb_array_elements(shelfops_registry_json()->'models') e
         ON e->>'model_name' = v.model_name AND (e->>'version')::int = v.version
 WHERE e IS NULL OR e->>'status' <> v.status;
SELECT (shelfops_champion_json()->'models'->'m'->>'version')::int =
       (SELECT version FROM shelfops.model_versions WHERE model_name = 'm' AND status = 'champion') AS champion_json_agrees,
       (SELECT count(*) FROM regexp_split_to_table(shelfops_performance_log(), E'\n') l
         WHERE l LIKE '%| m |%' OR l LIKE '%| shift |%') =
       (SELECT count(*) FROM shelfops.model_versions WHERE model_name IN ('m', 'shift')) AS log_has_every_version;

-- bad calls
SELECT shelfops_promote('m', 1);
SELECT shelfops_promote('m', 99);
SELECT shelfops_promote('nobody');
SELECT shelfops_promote('m', 0);
SELECT shelfops_rollback('m', 3, 'x');
SELECT shelfops_rollback('m', 1, 'already champion');
SELECT shelfops_rollback('m', 2, NULL);

-- another tenant's admin can neither promote nor see this model
SET ROLE regress_arena_admin;
SET shelfops.tenant_id = 'tenant_b';
SELECT shelfops_promote('m', 2, tenant_id => 'public');
SELECT shelfops_promote('m', 2);
SELECT count(*) AS visible FROM shelfops.model_versions;
RESET shelfops.tenant_id;
RESET ROLE;

DROP ROLE regress_arena_admin, regress_arena_analyst;
DELETE FROM shelfops.model_versions;
DELETE FROM shelfops.model_experiments;
DELETE FROM shelfops.training_runs;
DELETE FROM shelfops.model_retraining_log;
DELETE FROM shelfops.model_version_counters;
DELETE FROM shelfops.datasets;
DELETE FROM shelfops.gate_policy WHERE tenant_id <> '*';
