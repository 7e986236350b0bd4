-- shelfops 0.1.0 -> 0.2.0 (ALTER EXTENSION shelfops UPDATE).
--
-- Every change made to sql/install/ since 0.1.0 was released is repeated here, so
-- that an updated database and a fresh CREATE EXTENSION of 0.2.0 end up with the
-- same objects; test/tap/07_upgrade.sh compares the two, object by object, and
-- names every difference.  Steps follow the order of the
-- install parts.

\echo Use "ALTER EXTENSION shelfops UPDATE TO '0.2.0'" to load this file. \quit

------------------------------------------------------------------------------
-- 10_schema: the primary key of shelfops.sales moves from the parent to every
-- partition (pg_restore of a dump with loaded datasets is clean; see the comment
-- above shelfops.sales_default in sql/install/10_schema.sql).
------------------------------------------------------------------------------
-- Dropping the parent's key would drop every partition's key with it, and
-- rebuilding those costs a sort of all sales rows.  Detaching a partition keeps
-- its key as its own, so: detach the run-time partitions, drop the parent key
-- (which takes the default partition's index with it), give the default
-- partition its own key (it holds only rows inserted by plain SQL), and attach
-- the partitions again.  Each partition's CHECK on its (tenant, dataset) proves
-- its bound, so no ATTACH reads a partition; each scans shelfops.sales_default.
DO $$
DECLARE
    p      record;
    parts  text[] := '{}';
    bounds text[] := '{}';
BEGIN
    FOR p IN
        SELECT c.oid::regclass::text AS part, pg_get_expr(c.relpartbound, c.oid) AS bound
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'shelfops.sales'::regclass AND c.oid <> 'shelfops.sales_default'::regclass
         ORDER BY c.relname
    LOOP
        EXECUTE format('ALTER TABLE shelfops.sales DETACH PARTITION %s', p.part);
        parts := parts || p.part;
        bounds := bounds || p.bound;
    END LOOP;
    ALTER TABLE shelfops.sales DROP CONSTRAINT sales_pkey;
    ALTER TABLE shelfops.sales_default
        ADD CONSTRAINT sales_default_pkey PRIMARY KEY (tenant_id, dataset_id, store_id, product_id, sale_date);
    FOR i IN 1 .. cardinality(parts) LOOP
        EXECUTE format('ALTER TABLE shelfops.sales ATTACH PARTITION %s %s', parts[i], bounds[i]);
    END LOOP;
END
$$;
