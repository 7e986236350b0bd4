-- shelfops 0.1.0 -> 0.2.0 (ALTER EXTENSION shelfops UPDATE).
--
-- Every change made to sql/install/ since 0.1.0 was released is repeated here, so
-- that an updated database and a fresh CREATE EXTENSION of 0.2.0 end up with the
-- same objects; test/tap/07_upgrade.sh compares the two, object by object, and
-- names every difference.  Steps follow the order of the
-- install parts.

\echo Use "ALTER EXTENSION shelfops UPDATE TO '0.2.0'" to load this file. \quit

------------------------------------------------------------------------------
-- 10_schema: the primary key and the foreign key of shelfops.sales move from the
-- parent to every partition (pg_restore of a dump with loaded datasets is clean,
-- serial or parallel; see the comment above shelfops.sales_default in
-- sql/install/10_schema.sql).
------------------------------------------------------------------------------
-- Dropping the parent's keys would drop every partition's copies with them, and
-- rebuilding the primary keys costs a sort of all sales rows.  Detaching a
-- partition keeps its keys as its own, so: detach the run-time partitions, drop
-- the parent's keys (which takes the default partition's copies with them), give
-- the default partition keys of its own (it holds only rows inserted by plain
-- SQL), and attach the partitions again.  Each partition's CHECK on its (tenant,
-- dataset) proves its bound, so no ATTACH reads a partition; each scans
-- shelfops.sales_default.
DO $$
DECLARE
    p      record;
    k      record;
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
    ALTER TABLE shelfops.sales DROP CONSTRAINT sales_tenant_id_dataset_id_fkey;
    ALTER TABLE shelfops.sales_default
        ADD CONSTRAINT sales_default_pkey PRIMARY KEY (tenant_id, dataset_id, store_id, product_id, sale_date),
        ADD CONSTRAINT sales_default_tenant_id_dataset_id_fkey FOREIGN KEY (tenant_id, dataset_id)
            REFERENCES shelfops.datasets (tenant_id, dataset_id) ON DELETE CASCADE;
    -- each partition's foreign key, NOT VALID as sales_writer.c now makes it (no
    -- row is re-checked here or by a restore; every row was checked when written)
    FOR i IN 1 .. cardinality(parts) LOOP
        FOR k IN SELECT c.conname FROM pg_constraint c WHERE c.conrelid = parts[i]::regclass AND c.contype = 'f' LOOP
            EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', parts[i], k.conname);
        END LOOP;
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (tenant_id, dataset_id) '
                       'REFERENCES shelfops.datasets (tenant_id, dataset_id) ON DELETE CASCADE NOT VALID',
                       parts[i], (SELECT c.relname FROM pg_class c WHERE c.oid = parts[i]::regclass) || '_tenant_id_dataset_id_fkey');
    END LOOP;
    FOR i IN 1 .. cardinality(parts) LOOP
        EXECUTE format('ALTER TABLE shelfops.sales ATTACH PARTITION %s %s', parts[i], bounds[i]);
    END LOOP;
END
$$;
