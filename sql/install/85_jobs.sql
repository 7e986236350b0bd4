-- Jobs: scheduled retraining.  The job catalog (shelfops.retrain_jobs), its
-- management functions, the retrain procedure that pg_cron (or, later, the
-- background worker) calls, crash accounting and the job status view.
--
-- Every retrain run is accounted for in shelfops.model_retraining_log by exactly one
-- row: 'skipped' (lock held, job disabled, trigger not enabled), or 'running',
-- committed before training starts and then finished as 'completed' or 'failed' in a
-- later transaction, or marked 'crashed' by shelfops_mark_crashed_runs() when the
-- backend that ran it is gone.  See docs/scheduling.md.

------------------------------------------------------------------------------
-- The catalog
------------------------------------------------------------------------------

-- job_id counts per tenant (1, 2, ...), like model versions: no global counter is
-- visible to tenants.  A tenant has at most one job per model.
CREATE TABLE shelfops.retrain_jobs (
    tenant_id            shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    job_id               bigint NOT NULL CHECK (job_id >= 1),
    model_name           shelfops.ident NOT NULL,
    dataset_id           shelfops.ident NOT NULL,
    algorithm            text NOT NULL,
    params               jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(params) = 'object'),
    horizon              integer CHECK (horizon BETWEEN 1 AND 366),
    -- schedule: an interval, or a time of day (daily when schedule_dow is NULL,
    -- weekly on schedule_dow, 0 = Sunday) in schedule_timezone
    schedule_interval    interval CHECK (schedule_interval >= interval '1 minute'),
    schedule_dow         smallint CHECK (schedule_dow BETWEEN 0 AND 6),
    schedule_time        time,
    schedule_timezone    text NOT NULL DEFAULT 'UTC',
    enabled_triggers     text[] NOT NULL DEFAULT '{scheduled,drift,new_data,manual}'
                         CHECK (enabled_triggers <@ '{scheduled,drift,new_data,manual}'
                                AND cardinality(enabled_triggers) >= 1),
    auto_promote         boolean NOT NULL DEFAULT false,
    max_runtime          interval NOT NULL DEFAULT '2 hours' CHECK (max_runtime >= interval '1 second'),
    max_retries          integer NOT NULL DEFAULT 3 CHECK (max_retries BETWEEN 0 AND 100),
    retry_backoff        interval NOT NULL DEFAULT '5 minutes' CHECK (retry_backoff >= interval '0'),
    next_run_at          timestamptz,
    pending_trigger      text CHECK (pending_trigger IN ('manual', 'drift', 'new_data')),
    last_run_at          timestamptz,
    last_status          text CHECK (last_status IN ('completed', 'failed', 'skipped', 'timed_out', 'crashed')),
    last_retrain_id      uuid,
    rows_at_last_run     bigint CHECK (rows_at_last_run >= 0),
    consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    enabled              boolean NOT NULL DEFAULT true,
    disabled_reason      text,
    created_by           text NOT NULL DEFAULT current_user,
    created_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, job_id),
    UNIQUE (tenant_id, model_name),
    CONSTRAINT one_schedule CHECK ((schedule_interval IS NULL) <> (schedule_time IS NULL)),
    CONSTRAINT weekday_needs_time CHECK (schedule_dow IS NULL OR schedule_time IS NOT NULL),
    CONSTRAINT enabled_has_next_run CHECK (NOT enabled OR next_run_at IS NOT NULL)
);
COMMENT ON TABLE shelfops.retrain_jobs IS
  'Retraining jobs: one per (tenant, model); schedule, triggers, promotion, retry policy and last-run state';
CREATE INDEX retrain_jobs_due ON shelfops.retrain_jobs (next_run_at) WHERE enabled;
SELECT pg_catalog.pg_extension_config_dump('shelfops.retrain_jobs', '');

-- The model registry's name for an algorithm, or an error listing the valid ones.
CREATE FUNCTION shelfops.retrain_check_algorithm(algorithm text)
RETURNS text
LANGUAGE C IMMUTABLE STRICT
AS 'MODULE_PATHNAME', 'shelfops_retrain_check_algorithm';

-- The max_runtime deadline of a run (src/jobs.c): start arms a timer for the current
-- transaction that cancels the running statement when it fires; stop disarms it
-- and says whether it fired (the cancel was the deadline's: the run timed out).
CREATE FUNCTION shelfops.retrain_deadline_start(max_runtime interval)
RETURNS void
LANGUAGE C VOLATILE STRICT
AS 'MODULE_PATHNAME', 'shelfops_retrain_deadline_start';

CREATE FUNCTION shelfops.retrain_deadline_stop()
RETURNS boolean
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_retrain_deadline_stop';

------------------------------------------------------------------------------
-- Schedules
------------------------------------------------------------------------------

-- The first scheduled time strictly after p_from.
CREATE FUNCTION shelfops.retrain_next_run(p_interval interval, p_dow smallint, p_time time,
                                          p_timezone text, p_from timestamptz)
RETURNS timestamptz
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_local     timestamp;
    v_candidate timestamp;
BEGIN
    IF p_interval IS NOT NULL THEN
        RETURN p_from + p_interval;
    END IF;
    v_local := p_from AT TIME ZONE p_timezone;
    v_candidate := date_trunc('day', v_local) + p_time;
    IF p_dow IS NOT NULL THEN
        v_candidate := v_candidate + ((p_dow - extract(dow FROM v_candidate)::int + 7) % 7) * interval '1 day';
        IF v_candidate <= v_local THEN
            v_candidate := v_candidate + interval '7 days';
        END IF;
    ELSIF v_candidate <= v_local THEN
        v_candidate := v_candidate + interval '1 day';
    END IF;
    RETURN v_candidate AT TIME ZONE p_timezone;
END
$$;

-- Argument checks shared by add and alter (check_config style: one clear error per
-- bad argument).
CREATE FUNCTION shelfops.retrain_job_check(p_algorithm text, p_params jsonb, p_horizon integer,
                                           p_interval interval, p_day text, p_time time, p_timezone text,
                                           p_triggers text[], p_max_runtime interval,
                                           p_max_retries integer, p_retry_backoff interval)
RETURNS smallint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_dow smallint;
    v_bad text[];
BEGIN
    IF p_algorithm IS NOT NULL THEN
        PERFORM shelfops.retrain_check_algorithm(p_algorithm);
    END IF;
    IF p_params IS NOT NULL AND jsonb_typeof(p_params) <> 'object' THEN
        RAISE EXCEPTION 'params must be a JSON object'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Got a JSON %s.', jsonb_typeof(p_params));
    END IF;
    IF p_horizon IS NOT NULL AND p_horizon NOT BETWEEN 1 AND 366 THEN
        RAISE EXCEPTION 'horizon must be between 1 and 366 periods'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got %s.', p_horizon);
    END IF;
    IF p_interval IS NOT NULL AND (p_day IS NOT NULL OR p_time IS NOT NULL) THEN
        RAISE EXCEPTION 'give either schedule_interval or schedule_day/schedule_time, not both'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_interval IS NOT NULL AND p_interval < interval '1 minute' THEN
        RAISE EXCEPTION 'schedule_interval must be at least 1 minute'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got %s.', p_interval);
    END IF;
    IF p_day IS NOT NULL THEN
        v_dow := array_position(ARRAY['sunday', 'monday', 'tuesday', 'wednesday', 'thursday',
                                      'friday', 'saturday'], lower(p_day)) - 1;
        IF v_dow IS NULL AND lower(p_day) <> 'daily' THEN
            RAISE EXCEPTION 'unknown schedule_day "%"', p_day
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Use a weekday name (sunday ... saturday) or daily.';
        END IF;
    END IF;
    IF p_timezone IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = p_timezone)
       AND NOT EXISTS (SELECT 1 FROM pg_timezone_abbrevs WHERE abbrev = p_timezone) THEN
        RAISE EXCEPTION 'unknown time zone "%"', p_timezone
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use a name from pg_timezone_names, e.g. UTC or Europe/Berlin.';
    END IF;
    IF p_triggers IS NOT NULL THEN
        v_bad := ARRAY(SELECT t FROM unnest(p_triggers) t
                        WHERE t IS NULL OR t NOT IN ('scheduled', 'drift', 'new_data', 'manual'));
        IF cardinality(v_bad) > 0 THEN
            RAISE EXCEPTION 'unknown trigger(s) %', array_to_string(v_bad, ', ', 'NULL')
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Use scheduled, drift, new_data or manual.';
        END IF;
        IF cardinality(p_triggers) = 0 THEN
            RAISE EXCEPTION 'enabled_triggers must not be empty'
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Disable the job with enabled => false instead.';
        END IF;
    END IF;
    IF p_max_runtime IS NOT NULL AND p_max_runtime < interval '1 second' THEN
        RAISE EXCEPTION 'max_runtime must be at least 1 second'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got %s.', p_max_runtime);
    END IF;
    IF p_max_retries IS NOT NULL AND p_max_retries NOT BETWEEN 0 AND 100 THEN
        RAISE EXCEPTION 'max_retries must be between 0 and 100'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got %s.', p_max_retries);
    END IF;
    IF p_retry_backoff IS NOT NULL AND p_retry_backoff < interval '0' THEN
        RAISE EXCEPTION 'retry_backoff must not be negative'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got %s.', p_retry_backoff);
    END IF;
    RETURN v_dow;
END
$$;

------------------------------------------------------------------------------
-- Management (admins: INSERT/UPDATE/DELETE on retrain_jobs; row-level security
-- keeps each tenant to its own jobs)
------------------------------------------------------------------------------

CREATE FUNCTION shelfops_add_retrain_job(model_name text,
                                         dataset_id text,
                                         algorithm text DEFAULT 'xgboost',
                                         params jsonb DEFAULT '{}',
                                         horizon integer DEFAULT NULL,
                                         schedule_interval interval DEFAULT NULL,
                                         schedule_day text DEFAULT NULL,
                                         schedule_time time DEFAULT NULL,
                                         timezone text DEFAULT 'UTC',
                                         enabled_triggers text[] DEFAULT '{scheduled,drift,new_data,manual}',
                                         auto_promote boolean DEFAULT false,
                                         max_runtime interval DEFAULT '2 hours',
                                         max_retries integer DEFAULT 3,
                                         retry_backoff interval DEFAULT '5 minutes',
                                         first_run_at timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_tenant text := shelfops.current_tenant();
    v_dow    smallint;
    v_time   time;
    v_id     bigint;
BEGIN
    IF model_name IS NULL OR dataset_id IS NULL OR algorithm IS NULL OR params IS NULL
       OR timezone IS NULL OR enabled_triggers IS NULL OR auto_promote IS NULL OR max_runtime IS NULL
       OR max_retries IS NULL OR retry_backoff IS NULL THEN
        RAISE EXCEPTION 'only horizon, the schedule arguments and first_run_at may be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF model_name !~ '^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$' THEN
        RAISE EXCEPTION 'invalid model_name "%"', model_name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Identifiers are 1-128 of A-Z a-z 0-9 _ . : @ -, starting with a letter or digit.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM shelfops.datasets d
                    WHERE d.tenant_id = v_tenant AND d.dataset_id = shelfops_add_retrain_job.dataset_id) THEN
        RAISE EXCEPTION 'dataset "%" does not exist for tenant "%"', dataset_id, v_tenant
            USING ERRCODE = 'undefined_object', HINT = 'Load or generate the dataset first.';
    END IF;
    v_dow := shelfops.retrain_job_check(algorithm, params, horizon, schedule_interval, schedule_day,
                                        schedule_time, timezone, enabled_triggers, max_runtime,
                                        max_retries, retry_backoff);
    IF EXISTS (SELECT 1 FROM shelfops.retrain_jobs j
                WHERE j.tenant_id = v_tenant AND j.model_name = shelfops_add_retrain_job.model_name) THEN
        RAISE EXCEPTION 'model "%" already has a retrain job', model_name
            USING ERRCODE = 'unique_violation', HINT = 'Use shelfops_alter_retrain_job to change it.';
    END IF;
    IF schedule_interval IS NULL THEN
        -- the reference's default: weekly, Sunday 02:00 UTC
        v_time := coalesce(schedule_time, time '02:00');
        IF schedule_day IS NULL THEN
            v_dow := CASE WHEN schedule_time IS NULL THEN 0 END;
        END IF;
    END IF;
    -- per-tenant job counter, serialised per tenant
    PERFORM pg_advisory_xact_lock(hashtext('shelfops.retrain_jobs'), hashtext(v_tenant));
    SELECT coalesce(max(j.job_id), 0) + 1 INTO v_id FROM shelfops.retrain_jobs j WHERE j.tenant_id = v_tenant;
    INSERT INTO shelfops.retrain_jobs (tenant_id, job_id, model_name, dataset_id, algorithm, params, horizon,
                                       schedule_interval, schedule_dow, schedule_time, schedule_timezone,
                                       enabled_triggers, auto_promote, max_runtime, max_retries, retry_backoff,
                                       next_run_at)
    VALUES (v_tenant, v_id, model_name, dataset_id, algorithm, params, horizon,
            schedule_interval, v_dow, v_time, timezone,
            ARRAY(SELECT DISTINCT t FROM unnest(enabled_triggers) t ORDER BY 1), auto_promote, max_runtime,
            max_retries, retry_backoff,
            coalesce(first_run_at, shelfops.retrain_next_run(schedule_interval, v_dow, v_time, timezone, now())));
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION shelfops_add_retrain_job(text, text, text, jsonb, integer, interval, text, time, text, text[],
                                             boolean, interval, integer, interval, timestamptz) IS
  'Add the retrain job of a model (admins): dataset, algorithm, schedule (default weekly Sunday 02:00 UTC), triggers, promotion, retries';

-- NULL arguments leave the setting as it is.
CREATE FUNCTION shelfops_alter_retrain_job(job_id bigint,
                                           dataset_id text DEFAULT NULL,
                                           algorithm text DEFAULT NULL,
                                           params jsonb DEFAULT NULL,
                                           horizon integer DEFAULT NULL,
                                           schedule_interval interval DEFAULT NULL,
                                           schedule_day text DEFAULT NULL,
                                           schedule_time time DEFAULT NULL,
                                           timezone text DEFAULT NULL,
                                           enabled_triggers text[] DEFAULT NULL,
                                           auto_promote boolean DEFAULT NULL,
                                           max_runtime interval DEFAULT NULL,
                                           max_retries integer DEFAULT NULL,
                                           retry_backoff interval DEFAULT NULL,
                                           next_run_at timestamptz DEFAULT NULL,
                                           enabled boolean DEFAULT NULL)
RETURNS shelfops.retrain_jobs
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_tenant text := shelfops.current_tenant();
    j        shelfops.retrain_jobs;
    v_dow    smallint;
BEGIN
    SELECT * INTO j FROM shelfops.retrain_jobs r
     WHERE r.tenant_id = v_tenant AND r.job_id = shelfops_alter_retrain_job.job_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'retrain job % does not exist for tenant "%"', job_id, v_tenant
            USING ERRCODE = 'undefined_object';
    END IF;
    v_dow := shelfops.retrain_job_check(algorithm, params, horizon, schedule_interval, schedule_day,
                                        schedule_time, timezone, enabled_triggers, max_runtime,
                                        max_retries, retry_backoff);
    IF dataset_id IS NOT NULL THEN
        IF NOT EXISTS (SELECT 1 FROM shelfops.datasets d
                        WHERE d.tenant_id = v_tenant AND d.dataset_id = shelfops_alter_retrain_job.dataset_id) THEN
            RAISE EXCEPTION 'dataset "%" does not exist for tenant "%"', dataset_id, v_tenant
                USING ERRCODE = 'undefined_object';
        END IF;
        j.dataset_id := dataset_id;
        j.rows_at_last_run := NULL;
    END IF;
    j.algorithm := coalesce(algorithm, j.algorithm);
    j.params := coalesce(params, j.params);
    j.horizon := coalesce(horizon, j.horizon);
    IF schedule_interval IS NOT NULL THEN
        j.schedule_interval := schedule_interval;
        j.schedule_dow := NULL;
        j.schedule_time := NULL;
    ELSIF schedule_day IS NOT NULL OR schedule_time IS NOT NULL THEN
        j.schedule_interval := NULL;
        j.schedule_time := coalesce(schedule_time, j.schedule_time, time '02:00');
        IF schedule_day IS NOT NULL THEN
            j.schedule_dow := v_dow;
        END IF;
    END IF;
    j.schedule_timezone := coalesce(timezone, j.schedule_timezone);
    IF enabled_triggers IS NOT NULL THEN
        j.enabled_triggers := ARRAY(SELECT DISTINCT t FROM unnest(enabled_triggers) t ORDER BY 1);
    END IF;
    j.auto_promote := coalesce(auto_promote, j.auto_promote);
    j.max_runtime := coalesce(max_runtime, j.max_runtime);
    j.max_retries := coalesce(max_retries, j.max_retries);
    j.retry_backoff := coalesce(retry_backoff, j.retry_backoff);
    IF enabled IS NOT NULL THEN
        IF enabled AND NOT j.enabled THEN
            j.consecutive_failures := 0;
            j.disabled_reason := NULL;
        ELSIF NOT enabled THEN
            j.disabled_reason := 'disabled by ' || current_user;
        END IF;
        j.enabled := enabled;
    END IF;
    IF next_run_at IS NOT NULL THEN
        j.next_run_at := next_run_at;
    ELSIF schedule_interval IS NOT NULL OR schedule_day IS NOT NULL OR schedule_time IS NOT NULL
          OR timezone IS NOT NULL OR j.next_run_at IS NULL THEN
        j.next_run_at := shelfops.retrain_next_run(j.schedule_interval, j.schedule_dow, j.schedule_time,
                                                   j.schedule_timezone, now());
    END IF;
    UPDATE shelfops.retrain_jobs r SET
        dataset_id = j.dataset_id, algorithm = j.algorithm, params = j.params, horizon = j.horizon,
        schedule_interval = j.schedule_interval, schedule_dow = j.schedule_dow, schedule_time = j.schedule_time,
        schedule_timezone = j.schedule_timezone, enabled_triggers = j.enabled_triggers,
        auto_promote = j.auto_promote, max_runtime = j.max_runtime, max_retries = j.max_retries,
        retry_backoff = j.retry_backoff, next_run_at = j.next_run_at, enabled = j.enabled,
        disabled_reason = j.disabled_reason, consecutive_failures = j.consecutive_failures,
        rows_at_last_run = j.rows_at_last_run
     WHERE r.tenant_id = v_tenant AND r.job_id = j.job_id
    RETURNING * INTO j;
    RETURN j;
END
$$;
COMMENT ON FUNCTION shelfops_alter_retrain_job(bigint, text, text, jsonb, integer, interval, text, time, text,
                                               text[], boolean, interval, integer, interval, timestamptz, boolean) IS
  'Change a retrain job (admins); NULL leaves a setting unchanged; enabled => true resets the failure count';

CREATE FUNCTION shelfops_remove_retrain_job(job_id bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    DELETE FROM shelfops.retrain_jobs r
     WHERE r.tenant_id = shelfops.current_tenant() AND r.job_id = shelfops_remove_retrain_job.job_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'retrain job % does not exist for tenant "%"', job_id, shelfops.current_tenant()
            USING ERRCODE = 'undefined_object';
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION shelfops_remove_retrain_job(bigint) IS
  'Remove a retrain job (admins); its log rows stay';

-- Mark a job due now with the manual trigger (analysts: column UPDATE grant).
CREATE FUNCTION shelfops_request_retrain(model_name text, tenant_id text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_tenant text := coalesce(tenant_id, shelfops.current_tenant());
    v_id     bigint;
BEGIN
    UPDATE shelfops.retrain_jobs j SET pending_trigger = 'manual', next_run_at = now()
     WHERE j.tenant_id = v_tenant AND j.model_name = shelfops_request_retrain.model_name
    RETURNING j.job_id INTO v_id;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'model "%" has no retrain job for tenant "%"', model_name, v_tenant
            USING ERRCODE = 'undefined_object', HINT = 'Add one with shelfops_add_retrain_job.';
    END IF;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION shelfops_request_retrain(text, text) IS
  'Mark a model''s retrain job due now with the manual trigger';

------------------------------------------------------------------------------
-- Run accounting (SECURITY DEFINER: the log is append-only for every role)
------------------------------------------------------------------------------

-- Finish a running log row of THIS backend (running -> completed/failed/timed_out
-- only) and update its job's last-run state: failure count, retry with backoff,
-- disabling after the policy's max_consecutive_failures.  Returns the job state.
CREATE FUNCTION shelfops.retrain_finish(p_retrain_id uuid, p_status text, p_version integer,
                                        p_decision text, p_error text, p_metadata jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    l        shelfops.model_retraining_log;
    j        shelfops.retrain_jobs;
    v_fail   integer;
    v_max    integer;
    v_off    boolean := false;
    v_next   timestamptz;
    v_meta   jsonb := coalesce(p_metadata, '{}');
BEGIN
    IF p_status NOT IN ('completed', 'failed', 'timed_out') THEN
        RAISE EXCEPTION 'a run can only finish as completed, failed or timed_out, not "%"', p_status
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO l FROM shelfops.model_retraining_log r
     WHERE r.retrain_id = p_retrain_id AND r.status = 'running' AND r.backend_pid = pg_backend_pid()
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'retrain % is not a running retrain of this session', p_retrain_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Only the backend that started a run may finish it, and only once.';
    END IF;
    IF l.job_id IS NOT NULL THEN
        SELECT * INTO j FROM shelfops.retrain_jobs r
         WHERE r.tenant_id = l.tenant_id AND r.job_id = l.job_id FOR UPDATE;
    END IF;
    IF j.job_id IS NOT NULL THEN
        v_max := (shelfops.effective_gate_policy(l.tenant_id, l.model_name)).max_consecutive_failures;
        v_fail := CASE WHEN p_status = 'completed' THEN 0 ELSE j.consecutive_failures + 1 END;
        v_next := shelfops.retrain_next_run(j.schedule_interval, j.schedule_dow, j.schedule_time,
                                            j.schedule_timezone, now());
        IF v_fail > 0 AND v_fail <= j.max_retries THEN
            -- retry: exponential backoff with up to 25 % jitter, never later than the schedule
            v_next := least(v_next, clock_timestamp()
                            + j.retry_backoff * power(2, v_fail - 1) * (1 + random() * 0.25));
        END IF;
        v_off := v_fail >= v_max;
        IF v_off THEN
            v_meta := v_meta || jsonb_build_object('job_disabled', true,
                        'disabled_reason', format('%s consecutive failures (policy max_consecutive_failures = %s)',
                                                  v_fail, v_max));
        END IF;
        UPDATE shelfops.retrain_jobs r SET
            last_run_at = l.started_at, last_status = p_status, last_retrain_id = l.retrain_id,
            consecutive_failures = v_fail, next_run_at = v_next, pending_trigger = NULL,
            rows_at_last_run = CASE WHEN p_status = 'completed' THEN (v_meta->>'sales_rows')::bigint
                                    ELSE r.rows_at_last_run END,
            enabled = r.enabled AND NOT v_off,
            disabled_reason = CASE WHEN v_off THEN v_meta->>'disabled_reason' ELSE r.disabled_reason END
         WHERE r.tenant_id = j.tenant_id AND r.job_id = j.job_id;
    END IF;
    UPDATE shelfops.model_retraining_log r SET
        status = p_status, version_produced = p_version,
        decision = CASE WHEN v_off THEN coalesce(p_decision || ';', '') || 'job_disabled' ELSE p_decision END,
        error = p_error, trigger_metadata = r.trigger_metadata || v_meta, completed_at = clock_timestamp()
     WHERE r.tenant_id = l.tenant_id AND r.retrain_id = l.retrain_id;
    RETURN jsonb_build_object('status', p_status, 'consecutive_failures', v_fail,
                              'job_disabled', v_off, 'next_run_at', v_next);
END
$$;

-- Runs whose backend is gone (server crash, killed backend) become 'crashed'.  The
-- background worker calls this at start; pg_cron setups can schedule it.  A pid
-- reused by a newer backend does not keep a row alive (backend_start is compared).
CREATE FUNCTION shelfops_mark_crashed_runs()
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_n integer;
BEGIN
    WITH gone AS (
        UPDATE shelfops.model_retraining_log l SET
            status = 'crashed', completed_at = clock_timestamp(),
            error = format('backend %s ended while the run was running', l.backend_pid)
         WHERE l.status = 'running'
           AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                            WHERE a.pid = l.backend_pid AND a.backend_start <= l.started_at)
        RETURNING l.tenant_id, l.job_id, l.retrain_id, l.started_at
    ), jobs AS (
        UPDATE shelfops.retrain_jobs j SET last_status = 'crashed', last_run_at = g.started_at,
               last_retrain_id = g.retrain_id
          FROM gone g
         WHERE j.tenant_id = g.tenant_id AND j.job_id = g.job_id
           AND (j.last_run_at IS NULL OR j.last_run_at <= g.started_at)
        RETURNING 1
    )
    SELECT count(*) INTO v_n FROM gone;
    RETURN v_n;
END
$$;
COMMENT ON FUNCTION shelfops_mark_crashed_runs() IS
  'Mark running retraining log rows whose backend is gone as crashed (every tenant); returns how many';

------------------------------------------------------------------------------
-- The retrain procedure: CALL shelfops_retrain(model, tenant, trigger)
------------------------------------------------------------------------------

-- A procedure so that it can COMMIT: the running row is committed before training
-- starts, and the outcome is written in a later transaction.  It must therefore be
-- called with CALL outside an explicit transaction block, and it is neither
-- SECURITY DEFINER nor SET (PostgreSQL forbids transaction control in those).
CREATE PROCEDURE shelfops_retrain(model_name text, tenant_id text DEFAULT NULL, trigger text DEFAULT 'scheduled',
                                   if_due boolean DEFAULT false)
LANGUAGE plpgsql
AS $$
DECLARE
    v_tenant   text := coalesce(tenant_id, shelfops.current_tenant());
    v_model    text := model_name;
    v_trigger  text := coalesce(trigger, 'scheduled');
    j          shelfops.retrain_jobs;
    v_skip     text;
    v_id       uuid;
    v_k1       integer := hashtext('shelfops.retrain');
    v_k2       integer;
    v_result   jsonb;
    v_promo    jsonb;
    v_version  integer;
    v_decision text;
    v_meta     jsonb;
    v_rows     bigint;
    v_err      text;
    v_state    text;
    v_cancel   boolean := false;
    v_timeout  boolean := false;
    v_started  timestamptz;
    v_drift    jsonb;
BEGIN
    IF v_trigger NOT IN ('scheduled', 'drift', 'new_data', 'manual') THEN
        RAISE EXCEPTION 'unknown trigger "%"', v_trigger
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use scheduled, drift, new_data or manual.';
    END IF;
    IF v_tenant <> shelfops.current_tenant()
       AND NOT (SELECT r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        RAISE EXCEPTION 'cannot act for tenant "%" from a session of tenant "%"', v_tenant, shelfops.current_tenant()
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT * INTO j FROM shelfops.retrain_jobs r WHERE r.tenant_id = v_tenant AND r.model_name = v_model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" has no retrain job for tenant "%"', v_model, v_tenant
            USING ERRCODE = 'undefined_object', HINT = 'Add one with shelfops_add_retrain_job.';
    END IF;

    v_k2 := hashtext(v_tenant || '/' || v_model);
    IF coalesce(if_due, false) AND NOT j.enabled THEN
        RETURN;                                -- not due: not a run, no row
    END IF;
    IF NOT j.enabled THEN
        v_skip := 'job_disabled';
    ELSIF NOT coalesce(if_due, false) AND NOT v_trigger = ANY (j.enabled_triggers) THEN
        v_skip := 'trigger_not_enabled';
    ELSIF NOT pg_catalog.pg_try_advisory_lock(v_k1, v_k2) THEN
        v_skip := 'lock_held';
    ELSIF coalesce(if_due, false) THEN
        -- under the lock, with a fresh snapshot: another session may have run the job
        -- since the caller found it due; then this is not a run and leaves no row
        SELECT * INTO j FROM shelfops.retrain_jobs r WHERE r.tenant_id = v_tenant AND r.model_name = v_model;
        v_trigger := CASE WHEN FOUND THEN shelfops.retrain_due_trigger(j) END;
        IF v_trigger IS NULL THEN
            PERFORM pg_catalog.pg_advisory_unlock(v_k1, v_k2);
            COMMIT;
            RETURN;
        END IF;
    END IF;
    IF v_trigger = 'drift' THEN
        -- the figures that (would have) triggered the run, as measured now
        v_drift := shelfops.retrain_drift(v_tenant, v_model);
        v_drift := jsonb_build_object('drift', v_drift)
                   || jsonb_strip_nulls(jsonb_build_object(
                          'drift_pct', v_drift->'drift_pct', 'baseline_mae', v_drift->'baseline_mae',
                          'recent_mae', v_drift->'recent_mae', 'champion_version', v_drift->'champion_version',
                          'sample_count', v_drift->'rows'));
    END IF;
    IF v_skip IS NOT NULL THEN
        INSERT INTO shelfops.model_retraining_log (tenant_id, model_name, job_id, trigger_type, trigger_metadata,
                                                   status, decision, backend_pid, completed_at)
        VALUES (v_tenant, v_model, j.job_id, v_trigger, jsonb_build_object('reason', v_skip) || coalesce(v_drift, '{}'),
                'skipped', 'skipped:' || v_skip, pg_catalog.pg_backend_pid(), clock_timestamp());
        COMMIT;
        RETURN;
    END IF;

    -- the dataset's size as recorded (loads and the triggers of 12_sales_extent.sql)
    SELECT d.row_count INTO v_rows FROM shelfops.datasets d
     WHERE d.tenant_id = v_tenant AND d.dataset_id = j.dataset_id;
    INSERT INTO shelfops.model_retraining_log (tenant_id, model_name, job_id, trigger_type, trigger_metadata,
                                               status, backend_pid)
    VALUES (v_tenant, v_model, j.job_id, v_trigger,
            jsonb_build_object('dataset_id', j.dataset_id, 'algorithm', j.algorithm, 'params', j.params,
                               'horizon', j.horizon) || coalesce(v_drift, '{}'),
            'running', pg_catalog.pg_backend_pid())
    RETURNING retrain_id, started_at INTO v_id, v_started;
    COMMIT;

    BEGIN
        -- max_runtime: a timer cancels the run when it passes (between boosting rounds)
        PERFORM shelfops.retrain_deadline_start(j.max_runtime);
        -- shelfops_train writes no log row of its own for this running row
        PERFORM pg_catalog.set_config('shelfops.retrain_run_id', v_id::text, true);
        v_result := @extschema@.shelfops_train(j.dataset_id, v_model, j.algorithm, j.params, j.horizon,
                                               NULL, v_trigger, v_tenant);
        PERFORM pg_catalog.set_config('shelfops.retrain_run_id', '', true);
        v_version := (v_result->>'version')::integer;
        v_meta := jsonb_build_object('run_id', v_result->>'training_run_id', 'sales_rows', v_rows,
                                     'metrics', v_result->'metrics');
        IF NOT j.auto_promote THEN
            v_decision := 'candidate';
        ELSIF NOT v_trigger = ANY ((shelfops.effective_gate_policy(v_tenant, v_model)).auto_promote_triggers) THEN
            v_decision := 'candidate';
            v_meta := v_meta || jsonb_build_object('promotion', 'trigger_not_allowed_by_policy');
        ELSE
            BEGIN
                v_promo := @extschema@.shelfops_promote(v_model, v_version, v_tenant, false,
                                                        'auto_promote:' || v_trigger);
                v_decision := CASE WHEN (v_promo->>'promoted')::boolean THEN 'promoted' ELSE 'rejected' END;
                v_meta := v_meta || jsonb_build_object('promotion', v_promo->>'decision',
                                                       'promotion_reason', v_promo->>'reason');
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS v_err := MESSAGE_TEXT, v_state := RETURNED_SQLSTATE;
                v_decision := 'promotion_failed';
                v_meta := v_meta || jsonb_build_object('promotion_error', v_err, 'promotion_sqlstate', v_state);
            END;
        END IF;
        -- the deadline may have fired after the last interrupt check: still a timeout
        IF shelfops.retrain_deadline_stop() THEN
            RAISE EXCEPTION 'max_runtime reached' USING ERRCODE = 'query_canceled';
        END IF;
        PERFORM shelfops.retrain_finish(v_id, 'completed', v_version, v_decision, NULL, v_meta);
    EXCEPTION
        WHEN query_canceled THEN
            -- everything the run wrote (model version, training run) is rolled back
            GET STACKED DIAGNOSTICS v_err := MESSAGE_TEXT, v_state := RETURNED_SQLSTATE;
            IF shelfops.retrain_deadline_stop() THEN
                v_timeout := true;
                PERFORM shelfops.retrain_finish(v_id, 'timed_out', NULL, 'timed_out',
                            format('run exceeded max_runtime %s and was cancelled', j.max_runtime),
                            jsonb_build_object('sqlstate', v_state, 'max_runtime', j.max_runtime,
                                               'seconds', round(extract(epoch FROM clock_timestamp() - v_started)::numeric, 3)));
            ELSE
                v_cancel := true;
                PERFORM shelfops.retrain_finish(v_id, 'failed', NULL, NULL, v_err,
                                                jsonb_build_object('sqlstate', v_state, 'canceled', true));
            END IF;
        WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_err := MESSAGE_TEXT, v_state := RETURNED_SQLSTATE;
            PERFORM shelfops.retrain_deadline_stop();
            PERFORM shelfops.retrain_finish(v_id, 'failed', NULL, NULL, v_err,
                                            jsonb_build_object('sqlstate', v_state));
    END;
    PERFORM pg_catalog.pg_advisory_unlock(v_k1, v_k2);
    COMMIT;
    IF v_timeout THEN
        RAISE WARNING 'retrain of model "%" exceeded max_runtime % and was cancelled (logged timed_out)',
            v_model, j.max_runtime;
    END IF;
    IF v_cancel THEN
        RAISE EXCEPTION 'retrain of model "%" was canceled: %', v_model, v_err USING ERRCODE = 'query_canceled';
    END IF;
END
$$;
COMMENT ON PROCEDURE shelfops_retrain(text, text, text, boolean) IS
  'Run a model''s retrain job now (if_due: only if still due, checked under its lock): one log row (skipped, or running then completed/failed/timed_out), auto-promotion per policy';

-- new_data: the job's dataset gained at least the policy's new_data_min_rows rows
-- since the last completed run.
CREATE FUNCTION shelfops.retrain_new_data_due(j shelfops.retrain_jobs)
RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT 'new_data' = ANY (j.enabled_triggers) AND j.rows_at_last_run IS NOT NULL
       AND (SELECT d.row_count FROM shelfops.datasets d
             WHERE d.tenant_id = j.tenant_id AND d.dataset_id = j.dataset_id) - j.rows_at_last_run
           >= (shelfops.effective_gate_policy(j.tenant_id, j.model_name)).new_data_min_rows
$$;

-- The trigger for which a job is due now, NULL when it is not: its schedule or a
-- pending request (next_run_at passed, trigger enabled), new data, or drift out of
-- cooldown (shelfops.retrain_drift).  In that order.  While a failing job waits for
-- its retry (consecutive_failures > 0, next_run_at ahead) new data and drift do not
-- make it due: the backoff holds for every trigger.
CREATE FUNCTION shelfops.retrain_due_trigger(j shelfops.retrain_jobs)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT CASE
        WHEN NOT j.enabled THEN NULL
        WHEN j.next_run_at <= now() AND j.pending_trigger IS NOT NULL
             AND j.pending_trigger = ANY (j.enabled_triggers) THEN j.pending_trigger
        WHEN j.next_run_at <= now() AND 'scheduled' = ANY (j.enabled_triggers) THEN 'scheduled'
        WHEN j.consecutive_failures > 0 AND j.next_run_at > now() THEN NULL
        WHEN shelfops.retrain_new_data_due(j) THEN 'new_data'
        WHEN 'drift' = ANY (j.enabled_triggers)
             AND NOT (shelfops.retrain_drift_cooling(j.tenant_id, j.model_name)).cooling
             AND (shelfops.retrain_drift(j.tenant_id, j.model_name) ->> 'due')::boolean THEN 'drift'
    END
$$;

-- The enabled jobs that are due now, with the trigger they are due for, in the order
-- they should run: the one list shelfops_run_due_jobs, the worker's count
-- (retrain_free_due_jobs) and a retrain worker's claim (retrain_claim) read.
CREATE FUNCTION shelfops.retrain_due_jobs()
RETURNS TABLE(tenant_id text, model_name text, next_run_at timestamptz, trigger text)
LANGUAGE sql STABLE
AS $$
    SELECT d.tenant_id, d.model_name, d.next_run_at, d.trigger
      FROM (SELECT j.tenant_id::text, j.model_name::text, j.next_run_at,
                   shelfops.retrain_due_trigger(j) AS trigger
              FROM shelfops.retrain_jobs j WHERE j.enabled) d
     WHERE d.trigger IS NOT NULL
     ORDER BY d.next_run_at, d.tenant_id, d.model_name
$$;

-- For the background worker (superuser only, no grant): the due jobs whose
-- (tenant, model) lock is free now, tested with a try-lock that is released at once.
CREATE FUNCTION shelfops.retrain_free_due_jobs()
RETURNS TABLE(tenant_id text, model_name text, trigger text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r  record;
    k1 integer := hashtext('shelfops.retrain');
BEGIN
    FOR r IN SELECT d.tenant_id, d.model_name, d.trigger FROM shelfops.retrain_due_jobs() d LOOP
        IF pg_try_advisory_lock(k1, hashtext(r.tenant_id || '/' || r.model_name)) THEN
            PERFORM pg_advisory_unlock(k1, hashtext(r.tenant_id || '/' || r.model_name));
            tenant_id := r.tenant_id; model_name := r.model_name; trigger := r.trigger;
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;

-- For a retrain worker (superuser only, no grant): claim the first due job whose
-- lock is free by taking that session advisory lock and keeping it; the worker then
-- runs CALL shelfops_retrain(..., if_due => true), which takes the same lock again
-- (advisory locks nest within a session) and re-checks that the job is still due.
-- The worker exits after the run, which releases the claim.
CREATE FUNCTION shelfops.retrain_claim()
RETURNS TABLE(tenant_id text, model_name text, trigger text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r  record;
    k1 integer := hashtext('shelfops.retrain');
BEGIN
    FOR r IN SELECT d.tenant_id, d.model_name, d.trigger FROM shelfops.retrain_due_jobs() d LOOP
        IF pg_try_advisory_lock(k1, hashtext(r.tenant_id || '/' || r.model_name)) THEN
            tenant_id := r.tenant_id; model_name := r.model_name; trigger := r.trigger;
            RETURN NEXT;
            RETURN;
        END IF;
    END LOOP;
END
$$;

-- Run every due job, one transaction each: scheduled (or the pending manual
-- request) when next_run_at has passed, new_data when the job's dataset gained at
-- least the policy's new_data_min_rows rows since the last completed run, drift when
-- shelfops.retrain_drift says the champion drifted and the cooldown has passed.
-- result: {"ran": n, "completed": n, "failed": n, "skipped": n, "timed_out": n}.
CREATE PROCEDURE shelfops_run_due_jobs(INOUT result jsonb DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
    r        record;
    v_status text;
    v_done   jsonb := '{"ran": 0, "completed": 0, "failed": 0, "skipped": 0, "timed_out": 0}';
    v_due    jsonb;
    v_before timestamptz;
BEGIN
    SELECT coalesce(jsonb_agg(jsonb_build_object('tenant', d.tenant_id, 'model', d.model_name,
                                                 'trigger', d.trigger) ORDER BY d.next_run_at), '[]')
      INTO v_due
      FROM shelfops.retrain_due_jobs() d;
    COMMIT;
    FOR r IN SELECT * FROM jsonb_to_recordset(v_due) AS x(tenant text, model text, trigger text) LOOP
        v_before := now();     -- a row this CALL writes starts in this or a later transaction
        -- if_due: re-checked under the lock; a job another session ran meanwhile is left alone
        CALL @extschema@.shelfops_retrain(r.model, r.tenant, r.trigger, if_due => true);
        v_status := NULL;
        SELECT l.status INTO v_status FROM shelfops.model_retraining_log l
         WHERE l.tenant_id = r.tenant AND l.model_name = r.model AND l.backend_pid = pg_catalog.pg_backend_pid()
           AND l.started_at >= v_before
         ORDER BY l.started_at DESC LIMIT 1;
        CONTINUE WHEN v_status IS NULL;
        v_done := jsonb_set(v_done, '{ran}', to_jsonb((v_done->>'ran')::int + 1));
        IF v_status IN ('completed', 'failed', 'skipped', 'timed_out') THEN
            v_done := jsonb_set(v_done, ARRAY[v_status], to_jsonb((v_done->>v_status)::int + 1));
        END IF;
    END LOOP;
    result := v_done;
END
$$;
COMMENT ON PROCEDURE shelfops_run_due_jobs(jsonb) IS
  'Run every due retrain job (scheduled, requested, new data), committing each run; returns counts';

------------------------------------------------------------------------------
-- Status
------------------------------------------------------------------------------

CREATE VIEW shelfops.retrain_job_status WITH (security_barrier, security_invoker) AS
SELECT j.tenant_id, j.job_id, j.model_name, j.dataset_id, j.algorithm, j.enabled, j.disabled_reason,
       CASE WHEN j.schedule_interval IS NOT NULL THEN 'every ' || j.schedule_interval::text
            WHEN j.schedule_dow IS NULL THEN 'daily at ' || to_char(j.schedule_time, 'HH24:MI') || ' ' || j.schedule_timezone
            ELSE (ARRAY['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'])[j.schedule_dow + 1]
                 || 's at ' || to_char(j.schedule_time, 'HH24:MI') || ' ' || j.schedule_timezone
       END AS schedule,
       j.enabled_triggers, j.auto_promote, j.next_run_at, j.pending_trigger, j.last_run_at, j.last_status,
       j.consecutive_failures, l.version_produced AS last_version, l.decision AS last_decision, l.error AS last_error
  FROM shelfops.retrain_jobs j
  LEFT JOIN shelfops.model_retraining_log l ON l.tenant_id = j.tenant_id AND l.retrain_id = j.last_retrain_id;
COMMENT ON VIEW shelfops.retrain_job_status IS
  'Each retrain job: schedule, next run, last run, last status and outcome, consecutive failures';
