-- Views for applications: shelfops.model_history and shelfops.model_health carry the
-- fields of the reference's /api/v1/ml/models/history and /api/v1/ml/models/health
-- (reference §9.1, §9.2), with that endpoint's defects fixed (§12 item 24).
-- docs/views.md defines every column.
--
-- Tenant isolation.  A view reads its tables with its owner's privileges, and the
-- owner (the role that ran CREATE EXTENSION, usually a superuser) bypasses row-level
-- security; shelfops_app has no grant on the tables at all.  So each view filters on
-- shelfops.current_tenant() itself, and is a security_barrier view so that no
-- condition or function a caller adds can be evaluated on another tenant's rows
-- before that filter.

-- A JSON number as float8; NULL for a missing key, JSON null, a string or anything
-- else that is not a number (a cast would raise an error and break the whole view).
CREATE FUNCTION shelfops.json_float(j jsonb) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN jsonb_typeof(j) = 'number' THEN (j #>> '{}')::float8 END $$;
COMMENT ON FUNCTION shelfops.json_float(jsonb) IS
  'A JSON number as float8, NULL for anything that is not a number';

-- The reference's retraining schedule (Sunday 02:00 UTC, weekly): the first such
-- instant strictly after p_after.  The reference computed now + (7 - weekday) days,
-- which lands on a Monday and ignores the hour.  date_trunc('week') is the Monday
-- 00:00 that starts the ISO week, so its Sunday 02:00 is 6 days 2 hours later; when
-- that is already past (Sunday from 02:00 on) the next one is a week later.
CREATE FUNCTION shelfops.next_weekly_retrain(p_after timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$
    SELECT (s + CASE WHEN s <= u THEN interval '7 days' ELSE interval '0' END) AT TIME ZONE 'UTC'
      FROM (SELECT p_after AT TIME ZONE 'UTC') a(u),
           LATERAL (SELECT date_trunc('week', u) + interval '6 days 2 hours') b(s)
$$;
COMMENT ON FUNCTION shelfops.next_weekly_retrain(timestamptz) IS
  'The reference''s default retraining time: the first Sunday 02:00 UTC strictly after the argument';

------------------------------------------------------------------------------
-- model_history: one row per model version (/api/v1/ml/models/history)
------------------------------------------------------------------------------

CREATE VIEW shelfops.model_history WITH (security_barrier) AS
SELECT v.tenant_id::text                                                 AS tenant_id,
       v.model_name::text                                                AS model_name,
       v.version,
       v.status,
       v.algorithm,
       shelfops.json_float(v.metrics -> 'holdout' -> 'mae')              AS mae,
       -- the reference's "mape" is mape_nonzero; 'mape' is accepted as an alias
       coalesce(shelfops.json_float(v.metrics -> 'holdout' -> 'mape_nonzero'),
                shelfops.json_float(v.metrics -> 'holdout' -> 'mape'))   AS mape,
       shelfops.json_float(v.metrics -> 'holdout' -> 'wape')             AS wape,
       shelfops.json_float(v.metrics -> 'holdout' -> 'mase')             AS mase,
       shelfops.json_float(v.metrics -> 'holdout' -> 'bias_pct')         AS bias_pct,
       shelfops.json_float(v.metrics -> 'holdout' -> 'coverage')         AS coverage,
       shelfops.json_float(v.metrics -> 'seasonal_naive' -> 'wape')      AS seasonal_naive_wape,
       -- as in the registry documents: feature_tier when recorded, else the feature set
       coalesce(v.lineage ->> 'feature_tier', v.lineage ->> 'feature_set_id') AS tier,
       v.dataset_id::text                                                AS dataset_id,
       coalesce(v.lineage ->> 'forecast_grain', v.frequency)             AS forecast_grain,
       v.lineage ->> 'feature_set_id'                                    AS feature_set_id,
       coalesce(v.lineage ->> 'architecture', v.algorithm)               AS architecture,
       v.lineage ->> 'objective'                                         AS objective,
       v.lineage ->> 'segment_strategy'                                  AS segment_strategy,
       v.lineage ->> 'tuning_profile'                                    AS tuning_profile,
       v.lineage ->> 'trigger_source'                                    AS trigger_source,
       v.lineage ->> 'lineage_label'                                     AS lineage_label,
       -- the latest decision about this version: its reason only when it was not promoted
       CASE WHEN e.decision = 'rejected' THEN e.reason END               AS promotion_block_reason,
       -- the gate document (gate_checks, thresholds, missing inputs, both metric sets)
       -- with the arena's final verdict on top: its reason covers our extra gates too
       CASE WHEN e.experiment_id IS NOT NULL THEN
           coalesce(e.results -> 'decision', '{}'::jsonb)
           || jsonb_build_object(
                  'decision',        e.decision,
                  'promoted',        e.decision IN ('promoted', 'forced', 'first_champion', 'rollback'),
                  'forced',          e.forced,
                  'reason',          e.reason,
                  'gates_reason',    e.results -> 'decision' -> 'reason',
                  'extra_gates',     e.results -> 'extra_gates',
                  'experiment_id',   e.experiment_id,
                  'experiment_type', e.experiment_type,
                  'decided_by',      e.proposed_by,
                  'decided_at',      e.created_at)
       END                                                               AS promotion_decision,
       coalesce(v.lifecycle_events, '[]'::jsonb)                         AS lifecycle_events,
       v.holdout_start,
       v.holdout_end,
       v.created_at,
       v.promoted_at,
       v.archived_at,
       v.smoke_test_passed
  FROM shelfops.model_versions v
  LEFT JOIN LATERAL (
        SELECT x.experiment_id, x.experiment_type, x.decision, x.reason, x.forced, x.results,
               x.proposed_by, x.created_at
          FROM shelfops.model_experiments x
         WHERE x.tenant_id = v.tenant_id AND x.model_name = v.model_name
           AND x.experimental_version = v.version
           AND x.experiment_type IN ('promotion_decision', 'rollback')
         ORDER BY x.created_at DESC, x.experiment_id DESC
         LIMIT 1) e ON true
 WHERE v.tenant_id = shelfops.current_tenant();
COMMENT ON VIEW shelfops.model_history IS
  'Every model version of the session''s tenant with its holdout metrics, lineage and last promotion decision (reference /api/v1/ml/models/history)';

------------------------------------------------------------------------------
-- model_health: one row per model (/api/v1/ml/models/health)
------------------------------------------------------------------------------

-- Backtest MAE windows are anchored on the data's clock, not the wall clock: "the
-- last 7 days" are the 7 days ending at the latest sale date of the champion's
-- dataset (as_of).  For live data that is yesterday or today, as in the reference;
-- for a historical dataset (Rossmann ends in 2015) a now()-anchored window would be
-- empty forever.  Backtests that stopped before the data did fall out of the
-- window and read NULL: no recent evidence is reported as none, never as an old
-- number.  Only non-null, non-NaN values are averaged.
CREATE VIEW shelfops.model_health WITH (security_barrier) AS
WITH models AS (
    SELECT tenant_id, model_name FROM shelfops.model_versions
     WHERE tenant_id = shelfops.current_tenant()
    UNION
    SELECT tenant_id, model_name FROM shelfops.model_retraining_log
     WHERE tenant_id = shelfops.current_tenant()
)
SELECT m.tenant_id::text  AS tenant_id,
       m.model_name::text AS model_name,
       CASE WHEN ch.version IS NOT NULL THEN
           jsonb_build_object(
               'version',      ch.version,
               'status',       CASE WHEN ct.trend = 'degrading' THEN 'warning' ELSE 'healthy' END,
               'mae_7d',       cb.mae_7d,
               'mae_30d',      cb.mae_30d,
               'mae_7d_rows',  cb.n_7d,
               'mae_30d_rows', cb.n_30d,
               'as_of',        anchor.as_of,
               'trend',        ct.trend,
               'promoted_at',  ch.promoted_at,
               -- the model's retrain job (85_jobs.sql); without one (or disabled), the
               -- reference's default weekly schedule
               'next_retrain', coalesce(job.next_run_at, shelfops.next_weekly_retrain(now())))
       END AS champion,
       CASE WHEN cl.version IS NOT NULL THEN
           jsonb_build_object(
               'version',            cl.version,
               'status',             CASE WHEN cl.routing_weight > 0 THEN 'canary' ELSE 'shadow_testing' END,
               'mae_7d',             lb.mae_7d,
               'mae_7d_rows',        lb.n_7d,
               'routing_weight',     cl.routing_weight,
               'promotion_eligible', imp.improvement >= -0.02,
               -- greatest() ignores NULLs: without the guard no evidence would read 0.5
               'confidence',         CASE WHEN imp.improvement IS NOT NULL
                                          THEN least(greatest(imp.improvement, 0.5), 0.99) END)
       END AS challenger,
       jsonb_build_object(
           -- shelfops.retrain_drift (72_drift.sql): NULL = unknown (no champion, no
           -- holdout MAE, too few matched rows), never "no drift"
           'drift_detected',                   (dr.d ->> 'drift')::boolean,
           'drift',                            dr.d,
           -- new periods since the champion's holdout, or more rows than its training read
           'new_data_available',               CASE WHEN ch.version IS NOT NULL
                                                    THEN anchor.as_of > ch.holdout_end OR nd.n > 0 END,
           'new_data_rows_since_last_retrain', nd.n,
           'last_trigger',                     lastlog.trigger_type,
           'last_retrain_at',                  lastdone.completed_at
       ) AS retraining_triggers,
       coalesce(ev.events, '[]'::jsonb) AS recent_retraining_events,
       -- versions serving or competing: the champion (if any) and challengers
       (SELECT count(*)::int FROM shelfops.model_versions c
         WHERE c.tenant_id = m.tenant_id AND c.model_name = m.model_name
           AND c.status IN ('champion', 'challenger')) AS models_count
  FROM models m
  LEFT JOIN LATERAL (
        SELECT v.version, v.dataset_id, v.promoted_at, v.holdout_end
          FROM shelfops.model_versions v
         WHERE v.tenant_id = m.tenant_id AND v.model_name = m.model_name AND v.status = 'champion') ch ON true
  LEFT JOIN LATERAL (
        -- the newest challenger, as the reference's forecast worker picks it
        SELECT v.version, v.dataset_id, v.routing_weight
          FROM shelfops.model_versions v
         WHERE v.tenant_id = m.tenant_id AND v.model_name = m.model_name AND v.status = 'challenger'
         ORDER BY v.version DESC
         LIMIT 1) cl ON true
  LEFT JOIN LATERAL (
        -- the data clock: the last sale date of the champion's dataset (else the
        -- challenger's), and its row count, as shelfops.datasets records them (kept
        -- current by loads and by the triggers of 12_sales_extent.sql: no scan of sales)
        SELECT d.date_max AS as_of, d.row_count
          FROM shelfops.datasets d
         WHERE d.tenant_id = m.tenant_id AND d.dataset_id = coalesce(ch.dataset_id, cl.dataset_id)) anchor ON true
  LEFT JOIN LATERAL (
        SELECT avg(b.value) FILTER (WHERE b.window_end > anchor.as_of - 7)  AS mae_7d,
               count(b.value) FILTER (WHERE b.window_end > anchor.as_of - 7) AS n_7d,
               avg(b.value)                                                AS mae_30d,
               count(b.value)                                              AS n_30d
          FROM shelfops.backtest_results b
         WHERE b.tenant_id = m.tenant_id AND b.model_name = m.model_name AND b.version = ch.version
           AND b.metric = 'mae' AND b.value IS NOT NULL AND b.value <> 'NaN'
           AND b.window_end > anchor.as_of - 30 AND b.window_end <= anchor.as_of) cb ON true
  LEFT JOIN LATERAL (
        -- the challenger's own backtests only: no rows, no number
        SELECT avg(b.value) AS mae_7d, count(b.value) AS n_7d
          FROM shelfops.backtest_results b
         WHERE b.tenant_id = m.tenant_id AND b.model_name = m.model_name AND b.version = cl.version
           AND b.metric = 'mae' AND b.value IS NOT NULL AND b.value <> 'NaN'
           AND b.window_end > anchor.as_of - 7 AND b.window_end <= anchor.as_of) lb ON true
  CROSS JOIN LATERAL (
        SELECT CASE WHEN cb.mae_7d IS NULL OR cb.mae_30d IS NULL THEN NULL
                    WHEN cb.mae_7d < 0.95 * cb.mae_30d THEN 'improving'
                    WHEN cb.mae_7d > 1.05 * cb.mae_30d THEN 'degrading'
                    ELSE 'stable' END AS trend) ct
  CROSS JOIN LATERAL (
        -- reference rule: improvement = 1 - challenger/champion 7-day MAE; NULL without both
        SELECT CASE WHEN cb.mae_7d > 0 AND lb.mae_7d IS NOT NULL
                    THEN 1 - lb.mae_7d / cb.mae_7d END AS improvement) imp
  LEFT JOIN LATERAL (
        -- rows the champion's dataset gained since the champion was trained: its row
        -- count now less the rows its training read (training_runs.row_counts)
        SELECT greatest(anchor.row_count - (r.row_counts ->> 'sales_rows')::bigint, 0) AS n
          FROM shelfops.training_runs r
         WHERE r.tenant_id = m.tenant_id AND r.model_name = m.model_name AND r.version = ch.version
           AND r.status = 'completed' AND jsonb_typeof(r.row_counts -> 'sales_rows') = 'number'
         ORDER BY r.started_at DESC
         LIMIT 1) nd ON ch.version IS NOT NULL
  CROSS JOIN LATERAL (
        SELECT shelfops.retrain_job_next_run(m.model_name) AS next_run_at) job
  CROSS JOIN LATERAL (
        SELECT shelfops.model_drift(m.model_name) AS d) dr
  LEFT JOIN LATERAL (
        SELECT l.trigger_type FROM shelfops.model_retraining_log l
         WHERE l.tenant_id = m.tenant_id AND l.model_name = m.model_name
         ORDER BY l.started_at DESC, l.retrain_id DESC LIMIT 1) lastlog ON true
  LEFT JOIN LATERAL (
        SELECT max(l.completed_at) AS completed_at FROM shelfops.model_retraining_log l
         WHERE l.tenant_id = m.tenant_id AND l.model_name = m.model_name
           AND l.status = 'completed') lastdone ON true
  LEFT JOIN LATERAL (
        SELECT jsonb_agg(jsonb_build_object(
                   'trigger_type',     l.trigger_type,
                   'status',           l.status,
                   'version_produced', l.version_produced,
                   'started_at',       l.started_at,
                   'completed_at',     l.completed_at,
                   'trigger_metadata', l.trigger_metadata)
                 ORDER BY l.started_at DESC, l.retrain_id DESC) AS events
          FROM (SELECT * FROM shelfops.model_retraining_log l
                 WHERE l.tenant_id = m.tenant_id AND l.model_name = m.model_name
                 ORDER BY l.started_at DESC, l.retrain_id DESC LIMIT 5) l) ev ON true;
COMMENT ON VIEW shelfops.model_health IS
  'Per model of the session''s tenant: champion health, challenger, retraining triggers and recent runs (reference /api/v1/ml/models/health)';
