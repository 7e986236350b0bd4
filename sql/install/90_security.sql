-- Security: roles, privileges and row-level security for everything the parts before
-- this one created.  This part runs last so that no table or function escapes it.
--
-- Three roles, each including the one below it:
--   shelfops_app      reads the application views and forecasts;
--   shelfops_analyst  reads everything, loads data, trains, evaluates, forecasts;
--                     cannot promote (no UPDATE on model_versions, no promote function);
--   shelfops_admin    everything, including promotion, rollback and gate policy.
-- model_experiments and model_retraining_log are append-only for all three: no role
-- gets UPDATE, DELETE or TRUNCATE on them.
-- Roles are cluster-wide objects, so they are created only if missing and survive
-- DROP EXTENSION (other databases may use them).
--
-- Row-level security is enabled and FORCE'd on every table, keyed on
-- shelfops.current_tenant() (the setting shelfops.tenant_id).  Superusers bypass RLS
-- as always; shelfops' own functions therefore also filter by tenant explicitly.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'shelfops_app') THEN
        CREATE ROLE shelfops_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'shelfops_analyst') THEN
        CREATE ROLE shelfops_analyst NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'shelfops_admin') THEN
        CREATE ROLE shelfops_admin NOLOGIN;
    END IF;
END
$$;
GRANT shelfops_app TO shelfops_analyst;
GRANT shelfops_analyst TO shelfops_admin;

REVOKE ALL ON ALL TABLES IN SCHEMA shelfops FROM PUBLIC;
GRANT USAGE ON SCHEMA shelfops TO shelfops_app;

-- app: forecasts and the application views (75_views.sql).  The views filter on
-- the session's tenant themselves: they read the tables with their owner's rights.
GRANT SELECT ON shelfops.forecasts TO shelfops_app;
GRANT SELECT ON shelfops.model_history, shelfops.model_health TO shelfops_app;

-- analyst: read all; write what loading, training, forecasting and scoring write.
GRANT SELECT ON ALL TABLES IN SCHEMA shelfops TO shelfops_analyst;
GRANT INSERT, UPDATE, DELETE ON shelfops.datasets, shelfops.sales TO shelfops_analyst;
GRANT INSERT, UPDATE ON shelfops.model_version_counters TO shelfops_analyst;
GRANT INSERT ON shelfops.model_versions TO shelfops_analyst;
GRANT INSERT, UPDATE ON shelfops.training_runs TO shelfops_analyst;
GRANT INSERT ON shelfops.model_retraining_log TO shelfops_analyst;
GRANT INSERT ON shelfops.backtest_results TO shelfops_analyst;
GRANT INSERT ON shelfops.benchmark_results TO shelfops_analyst;
GRANT INSERT, UPDATE, DELETE ON shelfops.shadow_predictions TO shelfops_analyst;
GRANT INSERT, UPDATE, DELETE ON shelfops.forecasts TO shelfops_analyst;
GRANT INSERT ON shelfops.model_experiments TO shelfops_analyst;
GRANT INSERT ON shelfops.tuning_trials TO shelfops_analyst;
GRANT INSERT ON shelfops.stores, shelfops.store_periods, shelfops.load_rejects,
                shelfops.calendar_events, shelfops.daily_indicators TO shelfops_analyst;

-- analyst: training progress (80_progress.sql; also covered by the SELECT above).
GRANT SELECT ON shelfops.training_progress TO shelfops_analyst;

-- admin: promotion (status changes) and gate policy.
GRANT UPDATE ON shelfops.model_versions TO shelfops_admin;
GRANT INSERT, UPDATE, DELETE ON shelfops.gate_policy TO shelfops_admin;

-- jobs (85_jobs.sql): admins manage jobs; analysts may only mark one due
-- (shelfops_request_retrain); run bookkeeping goes through shelfops.retrain_finish.
GRANT INSERT, UPDATE, DELETE ON shelfops.retrain_jobs TO shelfops_admin;
GRANT UPDATE (pending_trigger, next_run_at) ON shelfops.retrain_jobs TO shelfops_analyst;
GRANT SELECT ON shelfops.retrain_job_status TO shelfops_analyst;

-- Row-level security on every table.
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN
        SELECT c.oid::regclass
          FROM pg_class c
         WHERE c.relnamespace = 'shelfops'::regnamespace AND c.relkind IN ('r', 'p')
           AND c.relname <> 'gate_policy'
    LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %s
                            USING (tenant_id = shelfops.current_tenant())
                            WITH CHECK (tenant_id = shelfops.current_tenant())', t);
    END LOOP;
END
$$;

-- gate_policy: every tenant reads the shared default row ('*'); writes only its own rows.
ALTER TABLE shelfops.gate_policy ENABLE ROW LEVEL SECURITY;
ALTER TABLE shelfops.gate_policy FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON shelfops.gate_policy FOR SELECT
    USING (tenant_id IN (shelfops.current_tenant(), '*'));
CREATE POLICY tenant_write ON shelfops.gate_policy FOR ALL
    USING (tenant_id = shelfops.current_tenant())
    WITH CHECK (tenant_id = shelfops.current_tenant());

-- Functions.  Every VOLATILE function or procedure of the extension (the ones that
-- write, read files or start work) is revoked from PUBLIC, then granted explicitly
-- below.  IMMUTABLE and STABLE functions (metrics, gate evaluation, documents)
-- stay executable by everyone: they read nothing RLS does not already filter.
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
          FROM pg_proc p
          JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
          JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'shelfops'
         WHERE p.provolatile = 'v'
    LOOP
        EXECUTE format('REVOKE EXECUTE ON ROUTINE %s FROM PUBLIC', f);  -- ROUTINE: procedures too (jobs)
    END LOOP;
END
$$;

-- Who may run which writing function (higher roles inherit).  One line per function
-- name; every overload of the name gets the grant.
DO $$
DECLARE
    g record;
BEGIN
    FOR g IN
        SELECT p.oid::regprocedure AS fn, grants.role
          FROM (VALUES
                ('allocate_version',              'shelfops_analyst'),
                ('shelfops_generate_synthetic',   'shelfops_analyst'),
                ('shelfops_validate_dataset',     'shelfops_analyst'),
                ('shelfops_load_dataset',         'shelfops_analyst'),
                ('shelfops_refresh_dataset_extent', 'shelfops_analyst'),  -- dataset extent (12_sales_extent.sql)
                ('recount_dataset_extent',        'shelfops_analyst'),
                ('shelfops_train',                'shelfops_analyst'),
                ('shelfops_tune',                 'shelfops_analyst'),  -- tuning (52_tune.sql)
                ('shelfops_backtest',             'shelfops_analyst'),
                ('shelfops_benchmark',            'shelfops_analyst'),  -- benchmarks (67_benchmark.sql)
                ('shelfops_benchmark_combos',     'shelfops_analyst'),
                ('_benchmark_run',                'shelfops_analyst'),
                ('shelfops_forecast',             'shelfops_analyst'),
                ('shelfops_score_shadow',         'shelfops_analyst'),
                ('_shadow_evidence',              'shelfops_analyst'),
                ('shelfops_promote',              'shelfops_admin'),
                ('shelfops_rollback',             'shelfops_admin'),
                ('shelfops_load_dataset_from',    'shelfops_analyst'),
                ('shelfops_validation_report',    'shelfops_analyst'),
                ('shelfops_export_registry',      'shelfops_admin'),
                ('shelfops_progress',             'shelfops_analyst'),  -- progress (80_progress.sql)
                -- jobs (85_jobs.sql)
                ('shelfops_add_retrain_job',      'shelfops_admin'),
                ('shelfops_alter_retrain_job',    'shelfops_admin'),
                ('shelfops_remove_retrain_job',   'shelfops_admin'),
                ('shelfops_mark_crashed_runs',    'shelfops_admin'),
                ('shelfops_request_retrain',      'shelfops_analyst'),
                ('shelfops_retrain',              'shelfops_analyst'),
                ('shelfops_run_due_jobs',         'shelfops_analyst'),
                ('retrain_finish',                'shelfops_analyst'),
                ('retrain_deadline_start',        'shelfops_analyst'),
                ('retrain_deadline_stop',         'shelfops_analyst')
               ) AS grants(name, role)
          JOIN pg_proc p ON p.proname = grants.name
          JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
          JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'shelfops'
    LOOP
        EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO %I', g.fn, g.role);
    END LOOP;
END
$$;
