-- The role walk: every function, aggregate, procedure and view of the extension is
-- called as an unprivileged login, shelfops_app, shelfops_analyst and
-- shelfops_admin, and every table's privileges are read for each of them; the result
-- must be exactly the grant matrix documented in docs/security.md (read from the file
-- here, so the document and the install script cannot drift apart).  A new object
-- without a line in that matrix, or a grant that differs from it, is listed below.
--
-- A call counts as refused ('-') when it fails with "permission denied for" the
-- object itself or, for an object in schema shelfops, for that schema (the
-- unprivileged login has no USAGE on it); any other outcome (a result, or an error from the arguments or from reading a
-- table) means the role passed the privilege check ('x').  Arguments are NULLs passed
-- through sub-selects so that no strict function is folded away before the check.
-- Every call runs in a subtransaction that is rolled back.
\set VERBOSITY terse
\getenv abs_srcdir PG_ABS_SRCDIR
CREATE ROLE regress_walk_nobody LOGIN;

CREATE FUNCTION pg_temp.walk_call(r text, sql text, obj text, obj_schema text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', r);
    BEGIN
        EXECUTE sql;
        RAISE EXCEPTION 'walk: ran' USING ERRCODE = 'P0001';
    EXCEPTION WHEN OTHERS THEN
        RESET ROLE;
        IF SQLSTATE = '42501'
           AND (SQLERRM ~ ('^permission denied for (function|procedure|aggregate|view|table) ' || obj || '$')
                OR (SQLERRM = 'permission denied for schema shelfops' AND obj_schema = 'shelfops')) THEN
            RETURN '-';
        END IF;
        RETURN 'x';
    END;
END
$$;

-- every member of the extension that can be called or read, and how to call it
CREATE TEMP TABLE walk_objects AS
SELECT CASE WHEN n.nspname = 'shelfops' THEN 'shelfops.' ELSE '' END || p.proname AS object,
       CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END AS kind,
       p.proname::text AS bare, n.nspname::text AS schema,
       CASE p.prokind
            WHEN 'p' THEN format('CALL %I.%I(%s)', n.nspname, p.proname,
                                 (SELECT string_agg('NULL::' || format_type(t, NULL), ', ' ORDER BY i)
                                    FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY a(t, i)))
            WHEN 'a' THEN format('SELECT %I.%I(%s) FROM (SELECT %s) v', n.nspname, p.proname,
                                 (SELECT string_agg('a' || i, ', ' ORDER BY i)
                                    FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY a(t, i)),
                                 (SELECT string_agg('NULL::' || format_type(t, NULL) || ' AS a' || i, ', ' ORDER BY i)
                                    FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY a(t, i)))
            ELSE format('SELECT %I.%I(%s)', n.nspname, p.proname,
                        (SELECT string_agg('(SELECT NULL::' || format_type(t, NULL) || ')', ', ' ORDER BY i)
                           FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY a(t, i)))
       END AS sql,
       p.oid AS fn, NULL::regclass AS rel
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'shelfops'
UNION ALL
SELECT 'shelfops.' || c.relname, CASE c.relkind WHEN 'v' THEN 'view' ELSE 'table' END, c.relname, 'shelfops',
       format('SELECT * FROM shelfops.%I LIMIT 0', c.relname), NULL, c.oid
  FROM pg_class c
  JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
 WHERE c.relnamespace = 'shelfops'::regnamespace AND c.relkind IN ('v', 'r', 'p');

-- what each role may do: calls for routines and views, privileges for tables
-- (S SELECT, I INSERT, U UPDATE, u UPDATE of some columns only, D DELETE, T TRUNCATE)
BEGIN;
CREATE TEMP TABLE walked AS
SELECT o.object, o.kind, r.ord, r.r AS role,
       CASE WHEN o.kind <> 'table' THEN pg_temp.walk_call(r.r, o.sql, o.bare, o.schema)
            ELSE coalesce(nullif(
                 CASE WHEN has_table_privilege(r.r, o.rel, 'SELECT') THEN 'S' ELSE '' END
              || CASE WHEN has_table_privilege(r.r, o.rel, 'INSERT') THEN 'I' ELSE '' END
              || CASE WHEN has_table_privilege(r.r, o.rel, 'UPDATE') THEN 'U'
                      WHEN has_any_column_privilege(r.r, o.rel, 'UPDATE') THEN 'u' ELSE '' END
              || CASE WHEN has_table_privilege(r.r, o.rel, 'DELETE') THEN 'D' ELSE '' END
              || CASE WHEN has_table_privilege(r.r, o.rel, 'TRUNCATE') THEN 'T' ELSE '' END, ''), '-')
       END AS may,
       CASE WHEN o.kind = 'view' THEN has_table_privilege(r.r, o.rel, 'SELECT')
            WHEN o.kind <> 'table' THEN has_function_privilege(r.r, o.fn, 'EXECUTE')
                                        AND has_schema_privilege(r.r, (SELECT pronamespace FROM pg_proc WHERE oid = o.fn), 'USAGE')
       END AS catalog_says
  FROM walk_objects o,
       unnest(ARRAY['regress_walk_nobody', 'shelfops_app', 'shelfops_analyst', 'shelfops_admin']) WITH ORDINALITY r(r, ord);
COMMIT;

-- a call's outcome and the catalog's privileges agree for every routine and view
SELECT object, role, may, catalog_says FROM walked
 WHERE kind <> 'table' AND (may = 'x') IS DISTINCT FROM catalog_says
 ORDER BY object, ord;

-- the documented matrix (docs/security.md, section "Grant matrix")
CREATE TEMP TABLE documented AS
SELECT m[1] AS object, m[2] AS kind, trim(m[3]) AS nobody, trim(m[4]) AS app, trim(m[5]) AS analyst, trim(m[6]) AS admin
  FROM regexp_matches(pg_read_file(:'abs_srcdir' || '/../docs/security.md'),
                      '\n\| `([^`]+)` \| (\w+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|', 'g') m;
CREATE TEMP TABLE actual AS
SELECT object, kind,
       max(may) FILTER (WHERE ord = 1) AS nobody, max(may) FILTER (WHERE ord = 2) AS app,
       max(may) FILTER (WHERE ord = 3) AS analyst, max(may) FILTER (WHERE ord = 4) AS admin
  FROM walked GROUP BY object, kind;

-- every difference: 'installed' rows are what the database does, 'documented' what
-- docs/security.md says; an object only on one side is missing from the other
SELECT coalesce(a.object, d.object) AS object, side, x.kind, x.nobody, x.app, x.analyst, x.admin
  FROM actual a FULL JOIN documented d ON d.object = a.object AND d.kind = a.kind,
       LATERAL (VALUES ('installed', a.kind, a.nobody, a.app, a.analyst, a.admin),
                       ('documented', d.kind, d.nobody, d.app, d.analyst, d.admin)) x(side, kind, nobody, app, analyst, admin)
 WHERE (a.object IS NULL OR d.object IS NULL OR (a.nobody, a.app, a.analyst, a.admin) IS DISTINCT FROM (d.nobody, d.app, d.analyst, d.admin))
 ORDER BY 1, 2 DESC;

SELECT count(*) FILTER (WHERE kind IN ('function', 'aggregate', 'procedure')) >= 70 AS routines_walked,
       count(*) FILTER (WHERE kind = 'view') >= 4 AS views_walked,
       count(*) FILTER (WHERE kind = 'table') >= 18 AS tables_read
  FROM actual;

DROP ROLE regress_walk_nobody;
