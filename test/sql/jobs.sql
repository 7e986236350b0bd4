-- Scheduled retraining: the job catalog and its validation, CALL shelfops_retrain
-- (one log row per run, auto-promotion through the arena, failures, retries and
-- disabling), manual requests, shelfops_run_due_jobs and crash accounting.
-- The lock-held skip needs two sessions: test/tap/04_cron.sh.
\set VERBOSITY terse
SELECT shelfops_generate_synthetic('jb', 2, 3, 150, 2)->>'rows' AS rows;

-- add: defaults are weekly, Sunday 02:00 UTC
SELECT shelfops_add_retrain_job('jm', 'jb', params => '{"n_estimators": 10, "max_depth": 3}',
                                auto_promote => true) AS job_id;
SELECT job_id, model_name, algorithm, schedule, enabled_triggers, auto_promote, enabled,
       extract(dow FROM next_run_at AT TIME ZONE 'UTC') AS next_dow,
       (next_run_at AT TIME ZONE 'UTC')::time AS next_time, next_run_at > now() AS in_future
  FROM shelfops.retrain_job_status;
-- validation, one clear error each
SELECT shelfops_add_retrain_job('jm', 'jb');
SELECT shelfops_add_retrain_job('j2', 'no_such_dataset');
SELECT shelfops_add_retrain_job('j2', 'jb', algorithm => 'prophet');
SELECT shelfops_add_retrain_job('j2', 'jb', params => '[1]');
SELECT shelfops_add_retrain_job('j2', 'jb', horizon => 0);
SELECT shelfops_add_retrain_job('j2', 'jb', schedule_interval => '30 seconds');
SELECT shelfops_add_retrain_job('j2', 'jb', schedule_interval => '1 hour', schedule_day => 'monday');
SELECT shelfops_add_retrain_job('j2', 'jb', schedule_day => 'someday');
SELECT shelfops_add_retrain_job('j2', 'jb', timezone => 'Mars/Olympus');
SELECT shelfops_add_retrain_job('j2', 'jb', enabled_triggers => '{scheduled,cosmic_rays}');
SELECT shelfops_add_retrain_job('j2', 'jb', enabled_triggers => '{}');
SELECT shelfops_add_retrain_job('j2', 'jb', max_retries => -1);
SELECT shelfops_add_retrain_job('j2 bad', 'jb');
SELECT shelfops_add_retrain_job(NULL, 'jb');
-- other schedules; job ids count per tenant
SELECT shelfops_add_retrain_job('j2', 'jb', algorithm => 'seasonal_naive', schedule_interval => '6 hours') AS job_id;
SELECT shelfops_add_retrain_job('j3', 'jb', algorithm => 'moving_average', schedule_day => 'daily',
                                schedule_time => '23:30', timezone => 'Europe/Berlin') AS job_id;
SELECT job_id, schedule FROM shelfops.retrain_job_status ORDER BY job_id;
SELECT (shelfops_alter_retrain_job(3, schedule_day => 'wednesday', max_retries => 0)).schedule_dow;
SELECT schedule FROM shelfops.retrain_job_status WHERE job_id = 3;
SELECT shelfops_alter_retrain_job(99, enabled => false);
SELECT shelfops_alter_retrain_job(3, schedule_day => 'funday');
SELECT shelfops_remove_retrain_job(3);
SELECT shelfops_remove_retrain_job(3);

-- a run: exactly one log row, completed with a version, auto-promoted (first champion)
CALL shelfops_retrain('jm');
SELECT status, trigger_type, version_produced, decision, error, job_id,
       trigger_metadata->>'promotion' AS promotion
  FROM shelfops.model_retraining_log WHERE model_name = 'jm';
SELECT version, status FROM shelfops.model_versions WHERE model_name = 'jm' ORDER BY version;
SELECT experimental_version, decision FROM shelfops.model_experiments WHERE model_name = 'jm';
SELECT last_status, consecutive_failures, last_version, last_decision, next_run_at > now() AS rescheduled
  FROM shelfops.retrain_job_status WHERE job_id = 1;

-- the policy decides which triggers may promote: drift may not by default
CALL shelfops_retrain('jm', trigger => 'drift');
SELECT status, trigger_type, version_produced, decision, trigger_metadata->>'promotion' AS promotion
  FROM shelfops.model_retraining_log WHERE model_name = 'jm' ORDER BY started_at;
-- a trigger the job does not enable is skipped, and logged as such
SELECT (shelfops_alter_retrain_job(1, enabled_triggers => '{scheduled,manual}')).enabled_triggers;
CALL shelfops_retrain('jm', trigger => 'new_data');
SELECT status, trigger_type, decision, trigger_metadata->>'reason' AS reason, completed_at IS NOT NULL AS closed
  FROM shelfops.model_retraining_log WHERE model_name = 'jm' AND status = 'skipped';
CALL shelfops_retrain('jm', trigger => 'cosmic_rays');
CALL shelfops_retrain('no_job_model');

-- manual requests and shelfops_run_due_jobs
SELECT shelfops_request_retrain('jm') AS job_id;
SELECT pending_trigger, next_run_at <= now() AS due FROM shelfops.retrain_job_status WHERE job_id = 1;
CALL shelfops_run_due_jobs();
SELECT trigger_type, status, decision FROM shelfops.model_retraining_log
 WHERE model_name = 'jm' ORDER BY started_at DESC LIMIT 1;
SELECT pending_trigger, next_run_at > now() AS rescheduled FROM shelfops.retrain_job_status WHERE job_id = 1;
CALL shelfops_run_due_jobs();
-- if_due: a job that is not due is not a run and leaves no row
SELECT shelfops.retrain_due_trigger(j) AS due_for FROM shelfops.retrain_jobs j WHERE job_id = 1;
SELECT count(*) AS rows_before FROM shelfops.model_retraining_log WHERE model_name = 'jm';
CALL shelfops_retrain('jm', trigger => 'manual', if_due => true);
SELECT count(*) AS rows_after FROM shelfops.model_retraining_log WHERE model_name = 'jm';
-- a passed next_run_at makes a job due only for a trigger it enables
SELECT (shelfops_alter_retrain_job(1, next_run_at => now() - interval '1 minute',
                                   enabled_triggers => '{manual}')).enabled_triggers;
SELECT shelfops.retrain_due_trigger(j) AS due_for FROM shelfops.retrain_jobs j WHERE job_id = 1;
SELECT shelfops_request_retrain('jm') AS job_id;
SELECT shelfops.retrain_due_trigger(j) AS due_for FROM shelfops.retrain_jobs j WHERE job_id = 1;
CALL shelfops_retrain('jm', trigger => 'scheduled', if_due => true);
SELECT trigger_type, status FROM shelfops.model_retraining_log
 WHERE model_name = 'jm' ORDER BY started_at DESC LIMIT 1;
SELECT (shelfops_alter_retrain_job(1, enabled_triggers => '{scheduled,manual}')).enabled_triggers;
SELECT shelfops_request_retrain('nope');
SELECT count(*) AS running_rows FROM shelfops.model_retraining_log WHERE status = 'running';

-- a failing job: the dataset is gone.  Failed rows with the error, retries with
-- backoff, disabled after the policy's max_consecutive_failures (2 here)
SELECT shelfops_generate_synthetic('jb_gone', 1, 2, 150, 3)->>'rows' AS rows;
SELECT shelfops_add_retrain_job('jf', 'jb_gone', algorithm => 'seasonal_naive', max_retries => 5,
                                retry_backoff => '1 hour') AS job_id;
DELETE FROM shelfops.datasets WHERE dataset_id = 'jb_gone';
INSERT INTO shelfops.gate_policy (tenant_id, model_name, max_consecutive_failures) VALUES ('public', 'jf', 2);
CALL shelfops_retrain('jf', trigger => 'manual');
SELECT status, version_produced, error, trigger_metadata->>'sqlstate' AS sqlstate,
       decision, completed_at IS NOT NULL AS closed
  FROM shelfops.model_retraining_log WHERE model_name = 'jf';
SELECT enabled, last_status, consecutive_failures,
       next_run_at BETWEEN now() + interval '59 minutes' AND now() + interval '76 minutes' AS backoff
  FROM shelfops.retrain_job_status WHERE model_name = 'jf';
CALL shelfops_retrain('jf', trigger => 'manual');
SELECT status, decision, trigger_metadata->>'job_disabled' AS job_disabled,
       trigger_metadata->>'disabled_reason' AS disabled_reason
  FROM shelfops.model_retraining_log WHERE model_name = 'jf' ORDER BY started_at;
SELECT enabled, disabled_reason, last_status, consecutive_failures
  FROM shelfops.retrain_job_status WHERE model_name = 'jf';
CALL shelfops_retrain('jf', trigger => 'manual');
SELECT status, decision FROM shelfops.model_retraining_log WHERE model_name = 'jf' ORDER BY started_at DESC LIMIT 1;
SELECT count(*) FILTER (WHERE status <> 'skipped') AS runs, count(*) AS log_rows
  FROM shelfops.model_retraining_log WHERE model_name = 'jf';

-- drift: the champion's rolling MAE over persisted forecasts matched to actual sales,
-- against its holdout MAE.  Forecasts from 14 days before the data ends, persisted.
INSERT INTO shelfops.gate_policy (tenant_id, model_name, drift_min_rows, drift_cooldown)
VALUES ('public', 'jd', 20, '1 hour');
SELECT shelfops_add_retrain_job('jd', 'jb', params => '{"n_estimators": 10, "max_depth": 3}',
                                enabled_triggers => '{drift,manual}', auto_promote => true,
                                schedule_interval => '2 days', first_run_at => now() + interval '1 day') AS job_id;
SELECT shelfops.retrain_drift('public', 'jd') - '{cooldown}'::text[] AS no_champion;
CALL shelfops_retrain('jd', trigger => 'manual');
SELECT d->'drift' AS drift, d->>'reason' AS reason, d->'rows' AS rows
  FROM shelfops.retrain_drift('public', 'jd') d;
SELECT count(*) AS forecasts FROM shelfops_forecast('jd', horizon => 14, as_of => date '2024-05-15', persist => true);
SELECT d->'drift' AS drift, d->>'reason' AS reason, d->'rows' AS rows, d->'forecast_rows' AS forecast_rows,
       d->>'window_start' AS window_start, d->>'window_end' AS window_end, d->'threshold' AS threshold,
       (d->>'recent_mae')::float8 > 0 AS measured, d->'due' AS due
  FROM shelfops.retrain_drift('public', 'jd') d;
CALL shelfops_run_due_jobs();
-- degrade the actuals of the window: the recent MAE rises far above the holdout MAE
UPDATE shelfops.sales SET quantity = quantity + 40
 WHERE dataset_id = 'jb' AND sale_date > date '2024-05-22';
SELECT d->'drift' AS drift, d->>'reason' AS reason, (d->>'ratio')::float8 > 0.15 AS above, d->'due' AS due
  FROM shelfops.retrain_drift('public', 'jd') d;
SELECT (retraining_triggers->>'drift_detected') AS drift_detected,
       retraining_triggers->'drift'->'rows' AS drift_rows
  FROM shelfops.model_health WHERE model_name = 'jd';
-- run_due_jobs evaluates it: one drift run, the figures in trigger_metadata
CALL shelfops_run_due_jobs();
SELECT trigger_type, status, decision,
       (trigger_metadata->>'recent_mae')::float8 > (trigger_metadata->>'baseline_mae')::float8 * 1.15 AS figures,
       trigger_metadata->'champion_version' AS champion_version, trigger_metadata->'sample_count' AS sample_count,
       trigger_metadata->'drift'->>'reason' AS reason
  FROM shelfops.model_retraining_log WHERE model_name = 'jd' ORDER BY started_at;
-- the cooldown: still drifting (drift runs may not promote), but not due again
SELECT d->'drift' AS drift, d->'due' AS due, d->'cooldown_until' IS NOT NULL AS cooling
  FROM shelfops.retrain_drift('public', 'jd') d;
CALL shelfops_run_due_jobs();
-- once the cooldown has passed it is due again
UPDATE shelfops.gate_policy SET drift_cooldown = '0' WHERE tenant_id = 'public' AND model_name = 'jd';
SELECT d->'due' AS due FROM shelfops.retrain_drift('public', 'jd') d;
-- scored shadow rows of the champion count too; a persisted forecast of the same
-- series and date wins; the window follows the newest matched date
INSERT INTO shelfops.shadow_predictions (model_name, champion_version, challenger_version, store_id, product_id,
                                         forecast_origin, target_date, champion_prediction, challenger_prediction,
                                         actual_demand, scored_at)
SELECT 'jd', 1, 2, 'S001', 'P0001', date '2024-05-20', d, 1, 1, 1, now()
  FROM generate_series(date '2024-05-28', date '2024-05-30', interval '1 day') d;
SELECT d->'rows' AS rows, d->'forecast_rows' AS forecast_rows, d->'shadow_rows' AS shadow_rows,
       d->>'window_start' AS window_start, d->>'window_end' AS window_end
  FROM shelfops.retrain_drift('public', 'jd') d;
DELETE FROM shelfops.shadow_predictions WHERE model_name = 'jd';
SELECT recent_retraining_events->0->>'trigger_type' AS last_event,
       jsonb_array_length(recent_retraining_events) AS events,
       (champion->>'next_retrain')::timestamptz > now() + interval '23 hours' AS next_retrain_from_job
  FROM shelfops.model_health WHERE model_name = 'jd';
SET ROLE shelfops_app;
SELECT retraining_triggers->>'drift_detected' AS app_sees_drift FROM shelfops.model_health WHERE model_name = 'jd';
RESET ROLE;

-- crash accounting: a running row whose backend is gone becomes crashed
INSERT INTO shelfops.model_retraining_log (model_name, job_id, trigger_type, status, backend_pid)
VALUES ('jm', 1, 'scheduled', 'running', 0);
SELECT shelfops_mark_crashed_runs() AS crashed;
SELECT status, error, completed_at IS NOT NULL AS closed FROM shelfops.model_retraining_log
 WHERE model_name = 'jm' AND backend_pid = 0;
SELECT last_status FROM shelfops.retrain_job_status WHERE job_id = 1;
SELECT shelfops_mark_crashed_runs() AS crashed_again;

-- shelfops_train cannot be told to skip its log row from outside a retrain
SET shelfops.retrain_run_id = '00000000-0000-0000-0000-000000000000';
SELECT shelfops_train('jb', 'jx', 'seasonal_naive');
RESET shelfops.retrain_run_id;
SELECT count(*) AS jx_versions FROM shelfops.model_versions WHERE model_name = 'jx';
-- the run bookkeeping only finishes this backend's running rows
SELECT shelfops.retrain_finish('11111111-1111-1111-1111-111111111111', 'completed', 1, NULL, NULL, NULL);

-- roles: analysts request and run, admins manage
SET ROLE shelfops_analyst;
SELECT shelfops_add_retrain_job('ja', 'jb');
SELECT shelfops_request_retrain('jm') AS job_id;
UPDATE shelfops.retrain_jobs SET enabled = false;
SELECT count(*) AS visible FROM shelfops.retrain_job_status;
SET shelfops.tenant_id = 'other';
SELECT count(*) AS other_tenant_sees FROM shelfops.retrain_job_status;
CALL shelfops_retrain('jm');
CALL shelfops_retrain('jm', 'public');
RESET shelfops.tenant_id;
RESET ROLE;

-- leave the shared regression database as found
DELETE FROM shelfops.retrain_jobs;
DELETE FROM shelfops.model_versions;
DELETE FROM shelfops.model_experiments;
DELETE FROM shelfops.training_runs;
DELETE FROM shelfops.model_retraining_log;
DELETE FROM shelfops.model_version_counters;
DELETE FROM shelfops.datasets;
DELETE FROM shelfops.gate_policy WHERE tenant_id <> '*';
