-- Row-level security across two tenants, for every table and view of the extension.
-- Both tenants get rows in every table through the real loop (loads of every layout,
-- training, promotion, shadow rows, forecasts, a backtest, a job, a gate policy, a
-- benchmark, a tuning search).
-- Then, as each shelfops role acting for tenant iso_a, for every table: no row of
-- iso_b is visible, all of iso_a's are; no iso_b row can be updated or deleted; no row
-- can be written for iso_b, by INSERT or by moving an iso_a row.  Only violations are
-- listed.  Every write runs in a subtransaction that is rolled back.
\set VERBOSITY terse
\getenv abs_srcdir PG_ABS_SRCDIR
\set fx :abs_srcdir '/fixtures/load'
SET client_min_messages = warning;

CREATE FUNCTION pg_temp.fill(t text, fx text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('shelfops.tenant_id', t, true);
    PERFORM shelfops_generate_synthetic('iso', 2, 2, 150, 4);
    PERFORM shelfops_load_dataset('iso_ross', fx || '/rossmann_some_bad');
    PERFORM shelfops_load_dataset('iso_wal', fx || '/walmart_good');
    PERFORM shelfops_load_dataset('iso_fav', fx || '/favorita_layout');
    INSERT INTO shelfops.datasets (dataset_id, family, frequency, grain) VALUES ('iso_sql', 'generic', 'daily', 'x');
    INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity) VALUES ('iso_sql', 's', 'p', '2024-01-01', 1);
    PERFORM shelfops_train('iso', 'iso_m', 'xgboost', '{"n_estimators": 10, "max_depth": 3}');
    PERFORM shelfops_promote('iso_m', 1);
    PERFORM shelfops_train('iso', 'iso_m', 'seasonal_naive');
    UPDATE shelfops.model_versions SET status = 'challenger' WHERE tenant_id = t AND model_name = 'iso_m' AND version = 2;
    PERFORM count(*) FROM shelfops_forecast('iso_m', as_of => '2024-05-01', shadow => true);
    PERFORM count(*) FROM shelfops_score_shadow('iso_m');
    PERFORM count(*) FROM shelfops_forecast('iso_m', persist => true);
    PERFORM shelfops_backtest('iso_m', 1, folds => 1);
    PERFORM shelfops_add_retrain_job('iso_m', 'iso');
    INSERT INTO shelfops.gate_policy (tenant_id, model_name) VALUES (t, 'iso_m');
    PERFORM count(*) FROM shelfops_benchmark(ARRAY['iso'], ARRAY['seasonal_naive']);
    PERFORM shelfops_tune('iso', 'iso_t', '{"max_depth": [2, 3]}', budget => 2, folds => 2);
END
$$;
BEGIN;
SELECT pg_temp.fill('iso_a', :'fx');
COMMIT;
BEGIN;
SELECT pg_temp.fill('iso_b', :'fx');
COMMIT;
RESET shelfops.tenant_id;

-- every table of the extension has rows of both tenants (else the checks below prove nothing)
CREATE TEMP TABLE iso_tables AS
SELECT c.oid::regclass AS t
  FROM pg_class c
  JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
 WHERE c.relnamespace = 'shelfops'::regnamespace AND c.relkind IN ('r', 'p');
CREATE FUNCTION pg_temp.n(sql text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE r bigint;
BEGIN
    EXECUTE sql INTO r;
    RETURN r;
END
$$;
SELECT t AS table_without_rows_of_both_tenants
  FROM iso_tables
 WHERE pg_temp.n(format('SELECT count(DISTINCT tenant_id) FROM %s WHERE tenant_id IN (''iso_a'', ''iso_b'')', t)) < 2
 ORDER BY 1;

-- one statement as a role acting for iso_a; rolled back; the outcome as text
CREATE FUNCTION pg_temp.as_a(r text, sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    res text;
    n bigint;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', r);
    PERFORM set_config('shelfops.tenant_id', 'iso_a', true);
    BEGIN
        IF sql ~* '^select' THEN
            EXECUTE sql INTO n;
            res := n::text;
        ELSE
            EXECUTE sql;
            GET DIAGNOSTICS n = ROW_COUNT;
            res := n || ' rows';
        END IF;
        RAISE EXCEPTION 'rollback' USING ERRCODE = 'P0001';
    EXCEPTION WHEN OTHERS THEN
        IF SQLSTATE <> 'P0001' OR SQLERRM <> 'rollback' THEN
            res := CASE WHEN SQLERRM ~ '^permission denied' THEN 'denied'
                        WHEN SQLERRM ~ 'row-level security' THEN 'rls'
                        ELSE SQLSTATE || ' ' || SQLERRM END;
        END IF;
    END;
    RESET ROLE;
    PERFORM set_config('shelfops.tenant_id', '', true);
    RETURN res;
END
$$;

-- a row of iso_b to try to insert, and the first column each role may update
CREATE TEMP TABLE iso_probe AS
SELECT t, r,
       pg_temp.n(format('SELECT count(*) FROM %s WHERE tenant_id = ''iso_a''', t)) AS own_rows,
       (SELECT a.attname FROM pg_attribute a
         WHERE a.attrelid = t AND a.attnum > 0 AND NOT a.attisdropped
           AND has_column_privilege(r, t, a.attname, 'UPDATE')
         ORDER BY a.attname = 'tenant_id' DESC, a.attnum LIMIT 1) AS upd_col
  FROM iso_tables, unnest(ARRAY['shelfops_app', 'shelfops_analyst', 'shelfops_admin']) r;

BEGIN;
CREATE TEMP TABLE iso_result AS
SELECT p.t, p.r, p.own_rows,
       pg_temp.as_a(p.r, format('SELECT count(*) FROM %s WHERE tenant_id NOT IN (''iso_a'', ''*'')', p.t)) AS other_visible,
       pg_temp.as_a(p.r, format('SELECT count(*) FROM %s WHERE tenant_id = ''iso_a''', p.t)) AS own_visible,
       pg_temp.as_a(p.r, format('UPDATE %1$s SET %2$I = %2$I WHERE tenant_id = ''iso_b''', p.t, coalesce(p.upd_col, 'tenant_id'))) AS update_other,
       pg_temp.as_a(p.r, format('DELETE FROM %s WHERE tenant_id = ''iso_b''', p.t)) AS delete_other,
       pg_temp.as_a(p.r, format('INSERT INTO %1$s SELECT (jsonb_populate_record(NULL::%1$s, to_jsonb(x) || ''{"tenant_id": "iso_b", "dataset_id": "iso_new", "model_name": "iso_new"}'')).* FROM %1$s x WHERE tenant_id = ''iso_a'' LIMIT 1', p.t)) AS insert_other,
       pg_temp.as_a(p.r, format('UPDATE %s SET tenant_id = ''iso_b'' WHERE tenant_id = ''iso_a''', p.t)) AS move_to_other
  FROM iso_probe p;
COMMIT;

-- violations: another tenant's row seen, changed or written; own rows not all seen
SELECT t, r, own_rows, other_visible, own_visible, update_other, delete_other, insert_other, move_to_other
  FROM iso_result
 WHERE other_visible NOT IN ('0', 'denied')
    OR (own_visible <> 'denied' AND own_visible <> own_rows::text)
    OR update_other NOT IN ('0 rows', 'denied')
    OR delete_other NOT IN ('0 rows', 'denied')
    OR insert_other NOT IN ('rls', 'denied')
    OR move_to_other NOT IN ('0 rows', 'rls', 'denied')
 ORDER BY 1, 2;

-- how much was checked: tables x roles, and how often RLS (not a missing grant) refused
SELECT count(*) >= 54 AS table_role_pairs,
       count(*) FILTER (WHERE other_visible = '0') >= 18 AS reads_filtered_by_rls,
       count(*) FILTER (WHERE insert_other = 'rls') >= 18 AS inserts_refused_by_rls,
       count(*) FILTER (WHERE move_to_other = 'rls') >= 5 AS moves_refused_by_rls
  FROM iso_result;

-- views: only the session tenant's rows, whoever asks
SELECT v, r, pg_temp.as_a(r, format('SELECT count(*) FROM shelfops.%I WHERE tenant_id <> ''iso_a''', v)) AS other_rows,
       pg_temp.as_a(r, format('SELECT (count(*) > 0)::int FROM shelfops.%I', v)) AS has_own_rows
  FROM unnest(ARRAY['model_history', 'model_health', 'retrain_job_status', 'training_progress']) v,
       unnest(ARRAY['shelfops_app', 'shelfops_analyst', 'shelfops_admin']) r
 ORDER BY 1, 2;

-- partition DDL that runs as the extension owner does not resolve names through the
-- caller's search_path: a collation "C" of the caller's first schema is not used
CREATE SCHEMA regress_evil;
CREATE COLLATION regress_evil."C" FROM pg_catalog."POSIX";
GRANT USAGE ON SCHEMA regress_evil TO shelfops_analyst;
SET ROLE shelfops_analyst;
SET shelfops.tenant_id = 'iso_a';
SET search_path = regress_evil, pg_catalog, public;
SELECT shelfops_generate_synthetic('iso_evil', 1, 1, 30, 1) ->> 'rows' AS rows;
RESET search_path;
RESET ROLE;
SELECT count(*) AS objects_using_the_callers_collation
  FROM pg_depend WHERE refclassid = 'pg_collation'::regclass AND refobjid = 'regress_evil."C"'::regcollation;
DROP SCHEMA regress_evil CASCADE;

-- clean up
RESET shelfops.tenant_id;
DELETE FROM shelfops.model_versions WHERE tenant_id IN ('iso_a', 'iso_b');
DELETE FROM shelfops.model_version_counters WHERE tenant_id IN ('iso_a', 'iso_b');
DELETE FROM shelfops.training_runs WHERE tenant_id IN ('iso_a', 'iso_b');
DELETE FROM shelfops.model_retraining_log WHERE tenant_id IN ('iso_a', 'iso_b');
DELETE FROM shelfops.model_experiments WHERE tenant_id IN ('iso_a', 'iso_b');
DELETE FROM shelfops.backtest_results WHERE tenant_id IN ('iso_a', 'iso_b');
DELETE FROM shelfops.shadow_predictions WHERE tenant_id IN ('iso_a', 'iso_b');
DELETE FROM shelfops.forecasts WHERE tenant_id IN ('iso_a', 'iso_b');
DELETE FROM shelfops.retrain_jobs WHERE tenant_id IN ('iso_a', 'iso_b');
DELETE FROM shelfops.gate_policy WHERE tenant_id IN ('iso_a', 'iso_b');
DELETE FROM shelfops.datasets WHERE tenant_id IN ('iso_a', 'iso_b');
DO $$
DECLARE p regclass;
BEGIN
    FOR p IN SELECT c.oid::regclass FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = 'shelfops.sales'::regclass
                AND pg_get_expr(c.relpartbound, c.oid) ~ '''iso_[ab]'''
    LOOP
        EXECUTE format('DROP TABLE %s', p);
    END LOOP;
END
$$;
