-- A description of every object of the installed shelfops extension, one line per
-- (object, property), sorted: test/tap/10_upgrade.sh diffs it between a database
-- updated with ALTER EXTENSION shelfops UPDATE and a fresh CREATE EXTENSION, so
-- any change to sql/install/ that the upgrade script does not repeat shows up as
-- the exact object and property that differ.  Nothing here depends on OIDs,
-- creation order or the data in the tables.  Each line starts with the object.
WITH ext AS (
    SELECT oid, extconfig, extcondition FROM pg_extension WHERE extname = 'shelfops'
), members AS (
    SELECT d.classid, d.objid
      FROM pg_depend d, ext
     WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
), rels AS (
    SELECT c.oid, c.oid::regclass::text AS name, c.relkind
      FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
), procs AS (
    SELECT p.oid, p.oid::regprocedure::text AS name
      FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
)
SELECT line FROM (
    -- every member, whatever its kind
    SELECT 'member ' || pg_describe_object(m.classid, m.objid, 0) AS line FROM members m
    UNION ALL
    -- routines
    SELECT format('function %s: %s', f.name, v)
      FROM procs f JOIN pg_proc p ON p.oid = f.oid JOIN pg_language l ON l.oid = p.prolang,
           LATERAL (VALUES
               ('kind ' || p.prokind::text),
               ('arguments ' || pg_get_function_arguments(p.oid)),
               ('returns ' || coalesce(pg_get_function_result(p.oid), '-')),
               ('language ' || l.lanname),
               ('volatility ' || p.provolatile::text),
               ('strict ' || p.proisstrict),
               ('security ' || CASE WHEN p.prosecdef THEN 'definer' ELSE 'invoker' END),
               ('leakproof ' || p.proleakproof),
               ('parallel ' || p.proparallel::text),
               ('cost ' || p.procost || ' rows ' || p.prorows),
               ('config ' || coalesce(array_to_string(p.proconfig, ', '), '-')),
               ('body md5 ' || md5(p.prosrc) || ' ' || coalesce(p.probin, '-')),
               ('grants ' || coalesce((SELECT string_agg(a.grantee::regrole::text || ':' || a.privilege_type, ', ' ORDER BY 1)
                                         FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a), '-')),
               ('comment ' || coalesce(obj_description(p.oid, 'pg_proc'), '-'))) x(v)
    UNION ALL
    SELECT format('aggregate %s: %s', f.name, v)
      FROM procs f JOIN pg_aggregate a ON a.aggfnoid = f.oid,
           LATERAL (VALUES
               ('transition ' || a.aggtransfn::regproc || ' ' || format_type(a.aggtranstype, NULL)
                || ' initial ' || coalesce(a.agginitval, '-')),
               ('final ' || a.aggfinalfn::regproc || ' combine ' || a.aggcombinefn::regproc)) x(v)
    UNION ALL
    -- tables, views, sequences: kind, options, row-level security, grants, comment
    SELECT format('relation %s: %s', r.name, v)
      FROM rels r JOIN pg_class c ON c.oid = r.oid,
           LATERAL (VALUES
               ('kind ' || c.relkind::text),
               ('options ' || coalesce(array_to_string(c.reloptions, ', '), '-')),
               ('row level security ' || c.relrowsecurity || ' forced ' || c.relforcerowsecurity),
               ('partition key ' || coalesce(pg_get_partkeydef(c.oid), '-')),
               ('partition bound ' || coalesce(pg_get_expr(c.relpartbound, c.oid), '-')),
               ('grants ' || coalesce((SELECT string_agg(a.grantee::regrole::text || ':' || a.privilege_type, ', ' ORDER BY 1)
                                         FROM aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a), '-')),
               ('comment ' || coalesce(obj_description(c.oid, 'pg_class'), '-'))) x(v)
    UNION ALL
    -- columns, in order (a column added by an upgrade must also be last in the fresh table)
    SELECT format('relation %s: column %s %s', r.name, a.attname, v)
      FROM rels r
      JOIN (SELECT a.*, row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS position
              FROM pg_attribute a WHERE a.attnum > 0 AND NOT a.attisdropped) a ON a.attrelid = r.oid
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum,
           LATERAL (VALUES
               ('position ' || a.position),
               ('type ' || format_type(a.atttypid, a.atttypmod)
                || CASE WHEN a.attcollation <> 0 AND a.attcollation <> (SELECT typcollation FROM pg_type WHERE oid = a.atttypid)
                        THEN ' collate ' || a.attcollation::regcollation ELSE '' END),
               ('not null ' || a.attnotnull),
               ('default ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-')),
               ('grants ' || coalesce((SELECT string_agg(x.grantee::regrole::text || ':' || x.privilege_type, ', ' ORDER BY 1)
                                         FROM aclexplode(a.attacl) x), '-')),
               ('comment ' || coalesce(col_description(a.attrelid, a.attnum), '-'))) x(v)
    UNION ALL
    SELECT format('relation %s: constraint %s %s', r.name, k.conname, pg_get_constraintdef(k.oid))
      FROM rels r JOIN pg_constraint k ON k.conrelid = r.oid
    UNION ALL
    SELECT format('relation %s: index %s', r.name, pg_get_indexdef(i.indexrelid))
      FROM rels r JOIN pg_index i ON i.indrelid = r.oid
    UNION ALL
    SELECT format('relation %s: trigger %s', r.name, pg_get_triggerdef(t.oid))
      FROM rels r JOIN pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
    UNION ALL
    SELECT format('relation %s: policy %s %s to %s using (%s) check (%s)', r.name, p.polname, p.polcmd,
                  (SELECT string_agg(CASE WHEN x = 0 THEN 'public' ELSE x::regrole::text END, ',' ORDER BY 1)
                     FROM unnest(p.polroles) x),
                  pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
      FROM rels r JOIN pg_policy p ON p.polrelid = r.oid
    UNION ALL
    SELECT format('relation %s: view %s', r.name, regexp_replace(pg_get_viewdef(r.oid), '\s+', ' ', 'g'))
      FROM rels r WHERE r.relkind IN ('v', 'm')
    UNION ALL
    -- types and domains
    SELECT format('type %s: %s', t.oid::regtype, v)
      FROM pg_type t JOIN members m ON m.classid = 'pg_type'::regclass AND m.objid = t.oid,
           LATERAL (VALUES
               ('kind ' || t.typtype::text || ' base ' || coalesce(nullif(t.typbasetype, 0)::regtype::text, '-')),
               ('comment ' || coalesce(obj_description(t.oid, 'pg_type'), '-'))) x(v)
    UNION ALL
    SELECT format('type %s: constraint %s %s', k.contypid::regtype, k.conname, pg_get_constraintdef(k.oid))
      FROM pg_constraint k JOIN members m ON m.classid = 'pg_type'::regclass AND m.objid = k.contypid
    UNION ALL
    -- schemas
    SELECT format('schema %s: grants %s, comment %s', n.nspname,
                  coalesce((SELECT string_agg(a.grantee::regrole::text || ':' || a.privilege_type, ', ' ORDER BY 1)
                              FROM aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a), '-'),
                  coalesce(obj_description(n.oid, 'pg_namespace'), '-'))
      FROM pg_namespace n JOIN members m ON m.classid = 'pg_namespace'::regclass AND m.objid = n.oid
    UNION ALL
    -- what pg_dump carries: the configuration tables and their filters
    SELECT format('pg_dump carries %s %s', c.oid::regclass, coalesce(nullif(x.cond, ''), '(every row)'))
      FROM ext, unnest(ext.extconfig, ext.extcondition) x(oid, cond) JOIN pg_class c ON c.oid = x.oid
) lines
ORDER BY line COLLATE "C";
