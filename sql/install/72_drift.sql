-- Drift monitor: the champion's recent error against its holdout error, read by the
-- retrain jobs (85_jobs.sql: the drift trigger of shelfops_run_due_jobs, the figures
-- in the log row of a drift run) and by shelfops.model_health (75_views.sql).  It
-- comes before both: PL/pgSQL bodies read model_retraining_log and retrain_jobs at
-- run time only.  See docs/scheduling.md.

-- The drift cooldown of a model's retrain job: when its last drift run (any log row
-- with trigger drift that was not skipped) started, and whether the policy's
-- drift_cooldown since then has not passed yet.  shelfops.retrain_drift reports it;
-- shelfops.retrain_due_trigger reads it first, so a cooling job skips the drift
-- measurement altogether.
CREATE FUNCTION shelfops.retrain_drift_cooling(p_tenant text, p_model text,
                                               OUT last_run timestamptz, OUT cooling boolean)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT l.last_run,
           coalesce(l.last_run + (shelfops.effective_gate_policy(p_tenant, p_model)).drift_cooldown > now(), false)
      FROM (SELECT max(r.started_at) AS last_run FROM shelfops.model_retraining_log r
             WHERE r.tenant_id = p_tenant AND r.model_name = p_model AND r.trigger_type = 'drift'
               AND r.status <> 'skipped') l
$$;
COMMENT ON FUNCTION shelfops.retrain_drift_cooling(text, text) IS
  'When a model''s last drift run started and whether its drift cooldown is still running';

-- The champion's rolling MAE over matched forecasts and actuals, against its holdout
-- MAE.  Pairs: the champion version's persisted forecasts (shelfops.forecasts) joined
-- to the actual sales rows of its dataset, and its scored shadow rows
-- (shelfops.shadow_predictions, champion side); one pair per (store, product, target
-- date): a persisted forecast before a shadow row, the latest origin first.  The
-- window is the policy's drift_window_days ending at the newest matched target date
-- (the data's clock, as in shelfops.model_health).  Drift: at least drift_min_rows
-- pairs and recent_mae > holdout_mae * (1 + drift_mae_ratio).  Cooldown: a drift run
-- (any log row with trigger drift that was not skipped) started less than
-- drift_cooldown ago.  'due' = drift and not cooling down.  Returns the figures;
-- 'drift' is NULL (unknown) with a 'reason' when it cannot be measured.
CREATE FUNCTION shelfops.retrain_drift(p_tenant text, p_model text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pol        shelfops.gate_policy := shelfops.effective_gate_policy(p_tenant, p_model);
    v_version  integer;
    v_dataset  text;
    v_holdout  float8;
    v_end      date;
    v_mae      float8;
    v_rows     bigint;
    v_fc       bigint;
    v_sh       bigint;
    v_last     timestamptz;
    v_drift    boolean;
    v_reason   text;
    v_ratio    float8;
    v_cooling  boolean;
BEGIN
    SELECT v.version, v.dataset_id, shelfops.json_float(v.metrics -> 'holdout' -> 'mae')
      INTO v_version, v_dataset, v_holdout
      FROM shelfops.model_versions v
     WHERE v.tenant_id = p_tenant AND v.model_name = p_model AND v.status = 'champion';
    SELECT c.last_run, c.cooling INTO v_last, v_cooling FROM shelfops.retrain_drift_cooling(p_tenant, p_model) c;
    IF v_version IS NULL THEN
        v_reason := 'no_champion';
    ELSE
        WITH pairs AS (
            SELECT DISTINCT ON (x.store_id, x.product_id, x.target_date)
                   x.target_date, abs(x.pred - x.actual) AS err, x.src
              FROM (SELECT f.store_id, f.product_id, f.target_date, f.forecast AS pred, s.quantity AS actual,
                           1 AS pri, f.forecast_origin AS origin, 'forecasts' AS src
                      FROM shelfops.forecasts f
                      JOIN shelfops.sales s
                        ON s.tenant_id = p_tenant AND s.dataset_id = v_dataset
                       AND s.store_id = f.store_id COLLATE "C" AND s.product_id = f.product_id COLLATE "C"
                       AND s.sale_date = f.target_date
                     WHERE f.tenant_id = p_tenant AND f.model_name = p_model AND f.version = v_version
                    UNION ALL
                    SELECT sp.store_id, sp.product_id, sp.target_date, sp.champion_prediction, sp.actual_demand,
                           2, sp.forecast_origin, 'shadow'
                      FROM shelfops.shadow_predictions sp
                     WHERE sp.tenant_id = p_tenant AND sp.model_name = p_model
                       AND sp.champion_version = v_version AND sp.actual_demand IS NOT NULL) x
             ORDER BY x.store_id, x.product_id, x.target_date, x.pri, x.origin DESC
        ), windowed AS (
            SELECT p.* FROM pairs p
             WHERE p.target_date > (SELECT max(target_date) FROM pairs) - pol.drift_window_days
        )
        SELECT avg(err), count(*), max(target_date),
               count(*) FILTER (WHERE src = 'forecasts'), count(*) FILTER (WHERE src = 'shadow')
          INTO v_mae, v_rows, v_end, v_fc, v_sh
          FROM windowed;
        IF v_holdout IS NULL OR v_holdout <= 0 THEN
            v_reason := 'no_holdout_mae';
        ELSIF v_rows < pol.drift_min_rows THEN
            v_reason := 'too_few_rows';
        ELSE
            v_ratio := v_mae / v_holdout - 1;
            v_drift := v_ratio > pol.drift_mae_ratio;
            v_reason := CASE WHEN v_drift THEN 'recent_mae_above_threshold' ELSE 'within_threshold' END;
        END IF;
    END IF;
    RETURN jsonb_build_object(
        'drift',            v_drift,
        'due',              coalesce(v_drift AND NOT v_cooling, false),
        'reason',           v_reason,
        'champion_version', v_version,
        'holdout_mae',      v_holdout,
        'recent_mae',       v_mae,
        'baseline_mae',     v_holdout,
        'ratio',            v_ratio,
        'drift_pct',        round((v_ratio * 100)::numeric, 1),
        'threshold',        pol.drift_mae_ratio,
        'rows',             coalesce(v_rows, 0),
        'min_rows',         pol.drift_min_rows,
        'forecast_rows',    coalesce(v_fc, 0),
        'shadow_rows',      coalesce(v_sh, 0),
        'window_days',      pol.drift_window_days,
        'window_start',     v_end - pol.drift_window_days + 1,
        'window_end',       v_end,
        'cooldown',         pol.drift_cooldown,
        'last_drift_run_at', v_last,
        'cooldown_until',   CASE WHEN v_cooling THEN v_last + pol.drift_cooldown END);
END
$$;
COMMENT ON FUNCTION shelfops.retrain_drift(text, text) IS
  'Drift of a model''s champion: rolling MAE over matched forecasts/shadow rows vs holdout MAE, policy ratio and cooldown';

-- For shelfops.model_health, whose readers (shelfops_app) have no grant on the
-- tables: the session tenant's figures only, so a caller cannot name another tenant.
CREATE FUNCTION shelfops.model_drift(p_model text)
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT shelfops.retrain_drift(shelfops.current_tenant(), p_model) $$;
COMMENT ON FUNCTION shelfops.model_drift(text) IS
  'shelfops.retrain_drift for the session tenant (used by shelfops.model_health)';

-- The next run of the session tenant's enabled retrain job of a model, NULL without
-- one (for shelfops.model_health, which is created before the job catalog).
CREATE FUNCTION shelfops.retrain_job_next_run(p_model text)
RETURNS timestamptz
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (SELECT j.next_run_at FROM shelfops.retrain_jobs j
             WHERE j.tenant_id = shelfops.current_tenant() AND j.model_name = p_model AND j.enabled);
END
$$;
COMMENT ON FUNCTION shelfops.retrain_job_next_run(text) IS
  'Next run of the session tenant''s enabled retrain job of a model (used by shelfops.model_health)';
