-- Catalog invariants of the installed extension: every table is tenant-keyed and
-- under forced row-level security, every writing function is revoked from PUBLIC,
-- the single-champion index exists, append-only tables stay append-only, and
-- pg_dump carries every table.
BEGIN;
SELECT plan(20);

-- Before anything is loaded: every row CREATE EXTENSION seeds into a table is left
-- out of pg_dump by that table's pg_extension_config_dump condition (a restore runs
-- CREATE EXTENSION, which seeds them again; dumping them too would make the restore
-- fail on their keys).
CREATE FUNCTION pg_temp.dumped_rows() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n bigint;
    out text[] := '{}';
BEGIN
    FOR r IN SELECT c.oid::regclass AS t, x.cond
               FROM (SELECT unnest(extconfig) AS oid, unnest(extcondition) AS cond
                       FROM pg_extension WHERE extname = 'shelfops') x
               JOIN pg_class c ON c.oid = x.oid
              WHERE c.relkind = 'r'
              ORDER BY 1
    LOOP
        EXECUTE format('SELECT count(*) FROM ONLY %s %s', r.t, r.cond) INTO n;
        IF n > 0 THEN
            out := out || format('%s: %s rows', r.t, n);
        END IF;
    END LOOP;
    RETURN nullif(array_to_string(out, ', '), '');
END
$$;
SELECT is(pg_temp.dumped_rows(), NULL,
          'a fresh install has no row that pg_dump would dump (seeded rows are filtered out)');

-- a loaded dataset, so its run-time partition of shelfops.sales is checked too
SELECT lives_ok($$SELECT shelfops_generate_synthetic('catalog_probe', 1, 2, 28, 7)$$,
                'a dataset load makes its own partition of shelfops.sales');

SELECT has_extension('shelfops', 'shelfops is installed');
SELECT has_schema('shelfops', 'schema shelfops exists');

SELECT is(
    (SELECT array_agg(c.relname ORDER BY c.relname)
       FROM pg_class c
      WHERE c.relnamespace = 'shelfops'::regnamespace AND c.relkind IN ('r', 'p')
        AND NOT (c.relrowsecurity AND c.relforcerowsecurity)),
    NULL,
    'every shelfops table has row-level security enabled and forced');

SELECT is(
    (SELECT array_agg(c.relname ORDER BY c.relname)
       FROM pg_class c
      WHERE c.relnamespace = 'shelfops'::regnamespace AND c.relkind IN ('r', 'p')
        AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)),
    NULL,
    'every shelfops table has a row-level security policy');

SELECT is(
    (SELECT array_agg(c.relname ORDER BY c.relname)
       FROM pg_class c
       JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p'
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1]
      WHERE c.relnamespace = 'shelfops'::regnamespace AND c.relkind IN ('r', 'p')
        AND (a.attname <> 'tenant_id' OR NOT a.attnotnull)
        -- a dataset's own sales partition keys on (store_id, product_id, sale_date):
        -- its bounds CHECK fixes tenant_id and dataset_id (src/sales_writer.c)
        AND NOT (c.relispartition AND c.relname <> 'sales_default'
                 AND pg_get_constraintdef(k.oid) = 'PRIMARY KEY (store_id, product_id, sale_date)'
                 AND EXISTS (SELECT 1 FROM pg_constraint b
                              WHERE b.conrelid = c.oid AND b.contype = 'c'
                                AND b.conname = c.relname || '_bounds'))),
    NULL,
    'every primary key leads with tenant_id NOT NULL (dataset partitions: fixed by their bounds CHECK)');

SELECT is(
    (SELECT array_agg(k.conname ORDER BY k.conname)
       FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1]
      WHERE c.relnamespace = 'shelfops'::regnamespace AND k.contype IN ('u', 'f')
        AND a.attname <> 'tenant_id'),
    NULL,
    'every unique constraint and foreign key leads with tenant_id');

SELECT is(
    (SELECT array_agg(c.relname ORDER BY c.relname)
       FROM pg_class c
      WHERE c.relnamespace = 'shelfops'::regnamespace AND c.relkind IN ('r', 'p')
        AND EXISTS (SELECT 1 FROM pg_depend d
                     WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
        AND c.oid <> ALL ((SELECT extconfig FROM pg_extension WHERE extname = 'shelfops')::oid[])),
    NULL,
    'every table the extension installs is registered with pg_extension_config_dump');

-- Partitions made by loads are not members of the extension, so pg_dump dumps
-- them whole (definition, data, ATTACH); they are readable only through
-- shelfops.sales and its policy.
SELECT is(
    (SELECT array_agg(c.relname ORDER BY c.relname)
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'shelfops.sales'::regclass AND c.relname <> 'sales_default'
        AND EXISTS (SELECT 1 FROM pg_depend d
                     WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')),
    NULL,
    'run-time partitions of shelfops.sales are not extension members (pg_dump dumps them)');

SELECT is(
    (SELECT count(*)::int FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'shelfops.sales'::regclass AND c.relname <> 'sales_default'),
    1,
    'the loaded dataset has one partition');

SELECT is(
    (SELECT array_agg(c.relname || ' ' || r || ' ' || priv ORDER BY 1)
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
            unnest(ARRAY['shelfops_app', 'shelfops_analyst', 'shelfops_admin']) r,
            unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) priv
      WHERE i.inhparent = 'shelfops.sales'::regclass AND c.relname <> 'sales_default'
        AND has_table_privilege(r, c.oid, priv)),
    NULL,
    'no shelfops role has any privilege on a run-time partition');

SELECT is(
    (SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'shelfops.sales'::regclass AND c.relname <> 'sales_default'),
    format('FOR VALUES FROM (%L, %L) TO (%L, %L)', 'public', 'catalog_probe', 'public', 'catalog_probe' || chr(1)),
    'the partition holds exactly one (tenant, dataset)');

SELECT is(
    (SELECT array_agg(p.oid::regprocedure::text ORDER BY 1)
       FROM pg_proc p
       JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
       JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'shelfops'
      WHERE p.provolatile = 'v'
        AND has_function_privilege('public', p.oid, 'EXECUTE')),
    NULL,
    'no volatile (writing) function is executable by PUBLIC');

SELECT ok(
    EXISTS (SELECT 1 FROM pg_index i
             WHERE i.indexrelid = 'shelfops.model_versions_one_champion'::regclass
               AND i.indisunique
               AND pg_get_expr(i.indpred, i.indrelid) LIKE '%status = ''champion''%'
               AND pg_get_indexdef(i.indexrelid) LIKE '%(tenant_id, model_name)%'),
    'a partial unique index allows one champion per (tenant, model)');

SELECT is(
    (SELECT array_agg(r || ' ' || t || ' ' || priv ORDER BY 1)
       FROM unnest(ARRAY['shelfops_app', 'shelfops_analyst', 'shelfops_admin']) r,
            unnest(ARRAY['shelfops.model_experiments', 'shelfops.model_retraining_log']) t,
            unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE']) priv
      WHERE has_table_privilege(r, t, priv)),
    NULL,
    'model_experiments and model_retraining_log are append-only for every shelfops role');

SELECT ok(
    NOT has_table_privilege('shelfops_analyst', 'shelfops.model_versions', 'UPDATE')
    AND has_table_privilege('shelfops_admin', 'shelfops.model_versions', 'UPDATE'),
    'only admins can change model status (promotion)');

SELECT ok(
    NOT has_table_privilege('shelfops_app', 'shelfops.sales', 'SELECT')
    AND has_table_privilege('shelfops_app', 'shelfops.forecasts', 'SELECT'),
    'the app role reads forecasts but not raw sales');

-- SECURITY DEFINER routines run with their owner's rights: each must pin search_path
-- to schemas in which PUBLIC cannot create objects, with pg_temp named last (else
-- temporary objects are searched first).
SELECT is(
    (SELECT array_agg(p.oid::regprocedure::text ORDER BY 1)
       FROM pg_proc p
       JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
       JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'shelfops'
      WHERE p.prosecdef
        AND NOT EXISTS (
            SELECT 1 FROM unnest(p.proconfig) c
             WHERE c ~ '^search_path=.*pg_temp$'
               AND NOT EXISTS (
                   SELECT 1 FROM regexp_split_to_table(substr(c, length('search_path=') + 1), ',\s*') s
                    WHERE s <> 'pg_temp'
                      AND (to_regnamespace(s) IS NULL
                           OR has_schema_privilege('public', to_regnamespace(s), 'CREATE'))))),
    NULL,
    'every SECURITY DEFINER routine pins search_path (schemas PUBLIC cannot write, pg_temp last)');
SELECT cmp_ok(
    (SELECT count(*)::int FROM pg_proc p
       JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
       JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'shelfops'
      WHERE p.prosecdef), '>=', 2,
    'the SECURITY DEFINER check above has routines to check (retrain_finish, shelfops_mark_crashed_runs)');

SELECT * FROM finish();
ROLLBACK;
