-- A dataset's extent (shelfops.datasets.row_count, date_min, date_max) follows the
-- rows written to shelfops.sales by SQL, as it follows a load.
--
-- The loaders and the synthetic generator write their partition in C and record the
-- extent themselves; live data arrives by INSERT (new actuals, corrections).  Without
-- these triggers the recorded calendar stopped at the load: training refused a new
-- actual as "outside the calendar", and everything that needed the data's clock or
-- its size (shelfops.model_health, the new_data retrain trigger) had to scan the
-- dataset on every read, which made the health view's plan expensive enough for JIT.
--
-- Statement triggers on the partitioned parent with transition tables: one UPDATE of
-- shelfops.datasets per statement and dataset, not per row.  An INSERT adds its rows
-- to the counts; a DELETE subtracts its rows and recounts the dates of a dataset
-- only when it removed a row on its first or last date; an UPDATE recounts only when
-- a row changed its dataset or date; TRUNCATE empties them all.  Rows of weekly
-- datasets off the dataset's 7-day grid are refused.
-- Writes addressed to a partition by name (not through shelfops.sales) do not fire
-- them: shelfops_refresh_dataset_extent() recounts.  Concurrent INSERTs into one
-- dataset queue on its shelfops.datasets row until the first commits.
--
-- The functions run with the writer's rights: a role that may write sales may update
-- its tenant's datasets rows (shelfops_analyst, shelfops_admin; 90_security.sql), and
-- row-level security applies to both.

-- A weekly dataset's periods lie every 7 days from its first date: a row off that grid
-- would make every later training refuse the dataset, so the statement that writes
-- it is refused, naming the first such row.  The query reads a trigger's transition
-- table, which only the trigger function itself can see: each trigger EXECUTEs the
-- text shelfops.weekly_grid_check(its table) returns.
CREATE FUNCTION shelfops.refuse_off_grid(p_tenant text, p_dataset text, p_store text, p_product text,
                                         p_date date, p_anchor date) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'weekly sale of store "%" product "%" on % is not on the calendar of dataset "%"',
                    p_store, p_product, p_date, p_dataset
          USING ERRCODE = 'data_exception',
                DETAIL = format('The periods of weekly dataset "%s" (tenant "%s") lie on %s and every 7 days from it.',
                                p_dataset, p_tenant, p_anchor),
                HINT = 'Write weekly rows on the dataset''s week dates.';
END
$$;
COMMENT ON FUNCTION shelfops.refuse_off_grid(text, text, text, text, date, date) IS
  'Raises the error for a sales row of a weekly dataset that lies off its 7-day grid';

CREATE FUNCTION shelfops.weekly_grid_check(p_rows text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT format($q$
        SELECT shelfops.refuse_off_grid(x.tenant_id, x.dataset_id, x.store_id, x.product_id, x.sale_date, x.anchor)
          FROM (SELECT n.tenant_id, n.dataset_id, n.store_id, n.product_id, n.sale_date,
                       coalesce(d.date_min, min(n.sale_date) OVER (PARTITION BY n.tenant_id, n.dataset_id)) AS anchor
                  FROM %I n
                  JOIN shelfops.datasets d ON d.tenant_id = n.tenant_id AND d.dataset_id = n.dataset_id
                 WHERE d.frequency = 'weekly') x
         WHERE (x.sale_date - x.anchor) %% 7 <> 0
         ORDER BY x.tenant_id, x.dataset_id, x.store_id, x.product_id, x.sale_date
         LIMIT 1$q$, p_rows)
$$;
COMMENT ON FUNCTION shelfops.weekly_grid_check(text) IS
  'The query a sales trigger runs on its transition table to refuse rows of weekly datasets off their 7-day grid';

CREATE FUNCTION shelfops.sales_extent_after_insert() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p      record;
    weekly boolean := false;
BEGIN
    -- the datasets rows in key order first: two statements writing the same datasets
    -- then queue instead of deadlocking
    FOR p IN SELECT d.frequency
               FROM shelfops.datasets d
               JOIN (SELECT DISTINCT tenant_id, dataset_id FROM inserted_sales) n
                 ON d.tenant_id = n.tenant_id AND d.dataset_id = n.dataset_id
              ORDER BY d.tenant_id, d.dataset_id
                FOR UPDATE OF d
    LOOP
        weekly := weekly OR p.frequency = 'weekly';
    END LOOP;
    -- against the calendar as it was, before this statement's rows move its first date
    IF weekly THEN
        EXECUTE shelfops.weekly_grid_check('inserted_sales');
    END IF;
    UPDATE shelfops.datasets d
       SET row_count = d.row_count + n.rows,
           date_min  = least(d.date_min, n.first_date),
           date_max  = greatest(d.date_max, n.last_date)
      FROM (SELECT tenant_id, dataset_id, count(*) AS rows,
                   min(sale_date) AS first_date, max(sale_date) AS last_date
              FROM inserted_sales
             GROUP BY tenant_id, dataset_id) n
     WHERE d.tenant_id = n.tenant_id AND d.dataset_id = n.dataset_id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shelfops.sales_extent_after_insert() IS
  'Trigger: adds the rows an INSERT wrote to shelfops.sales to their datasets'' row_count, date_min and date_max';

-- Recount (tenant, dataset) pairs from shelfops.sales; pairs without rows get 0 and
-- an empty calendar.
CREATE FUNCTION shelfops.recount_dataset_extent(p_pairs jsonb) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    -- Lock the rows first, in key order, and count in the next statement: its fresh
    -- snapshot (READ COMMITTED) then sees every INSERT that committed meanwhile, and an
    -- INSERT still running adds its rows after this commits.  Counting before the lock
    -- could miss rows another transaction committed while this one waited.
    PERFORM 1
       FROM shelfops.datasets d
       JOIN jsonb_to_recordset(p_pairs) AS p(tenant_id text, dataset_id text)
         ON d.tenant_id = p.tenant_id AND d.dataset_id = p.dataset_id
      ORDER BY d.tenant_id, d.dataset_id
        FOR UPDATE OF d;
    UPDATE shelfops.datasets d
       SET row_count = c.rows, date_min = c.first_date, date_max = c.last_date
      FROM (SELECT p.tenant_id, p.dataset_id, x.rows, x.first_date, x.last_date
              FROM jsonb_to_recordset(p_pairs) AS p(tenant_id text, dataset_id text)
             CROSS JOIN LATERAL (
                   SELECT count(*) AS rows, min(s.sale_date) AS first_date, max(s.sale_date) AS last_date
                     FROM shelfops.sales s
                    WHERE s.tenant_id = p.tenant_id AND s.dataset_id = p.dataset_id) x) c
     WHERE d.tenant_id = c.tenant_id AND d.dataset_id = c.dataset_id
       AND (d.row_count, d.date_min, d.date_max) IS DISTINCT FROM (c.rows, c.first_date, c.last_date);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION shelfops.recount_dataset_extent(jsonb) IS
  'Recounts row_count, date_min and date_max of the given [{tenant_id, dataset_id}] from shelfops.sales; returns the datasets rows changed';

-- UPDATE: nothing to do unless a row changed its dataset or date (a quantity
-- correction keeps the key): then the touched datasets are recounted, after the
-- weekly grid check of the new rows.  DELETE: the deleted rows are subtracted; only
-- a dataset that lost a row on its first or last date is recounted for its dates.
CREATE FUNCTION shelfops.sales_extent_after_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pairs jsonb;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- keys are unique and both tables hold the same number of rows: no new key, no move
        IF NOT EXISTS (SELECT tenant_id, dataset_id, store_id, product_id, sale_date FROM new_sales
                       EXCEPT
                       SELECT tenant_id, dataset_id, store_id, product_id, sale_date FROM old_sales) THEN
            RETURN NULL;
        END IF;
        EXECUTE shelfops.weekly_grid_check('new_sales');
        SELECT jsonb_agg(jsonb_build_object('tenant_id', t.tenant_id, 'dataset_id', t.dataset_id))
          INTO pairs
          FROM (SELECT tenant_id, dataset_id FROM old_sales
                UNION SELECT tenant_id, dataset_id FROM new_sales) t;
    ELSE
        PERFORM 1 FROM shelfops.datasets d
          JOIN (SELECT DISTINCT tenant_id, dataset_id FROM old_sales) o
            ON d.tenant_id = o.tenant_id AND d.dataset_id = o.dataset_id
         ORDER BY d.tenant_id, d.dataset_id
           FOR UPDATE OF d;
        WITH o AS (SELECT tenant_id, dataset_id, count(*) AS rows,
                          min(sale_date) AS first_date, max(sale_date) AS last_date
                     FROM old_sales GROUP BY tenant_id, dataset_id),
             u AS (UPDATE shelfops.datasets d
                      SET row_count = greatest(d.row_count - o.rows, 0)
                     FROM o
                    WHERE d.tenant_id = o.tenant_id AND d.dataset_id = o.dataset_id
                RETURNING d.tenant_id, d.dataset_id, d.row_count, d.date_min, d.date_max, o.first_date, o.last_date)
        SELECT jsonb_agg(jsonb_build_object('tenant_id', u.tenant_id, 'dataset_id', u.dataset_id))
          INTO pairs
          FROM u
         WHERE u.first_date <= u.date_min OR u.last_date >= u.date_max OR u.row_count = 0;
    END IF;
    IF pairs IS NOT NULL THEN
        PERFORM shelfops.recount_dataset_extent(pairs);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shelfops.sales_extent_after_change() IS
  'Trigger: keeps row_count, date_min and date_max of the datasets an UPDATE or DELETE of shelfops.sales touched (recounting only when a key moved or an end date was deleted)';

-- TRUNCATE of shelfops.sales empties every dataset (a loader truncates only its own
-- partition, by name, which does not fire this).
CREATE FUNCTION shelfops.sales_extent_after_truncate() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE shelfops.datasets d SET row_count = 0, date_min = NULL, date_max = NULL
     WHERE d.row_count <> 0 OR d.date_min IS NOT NULL OR d.date_max IS NOT NULL;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shelfops.sales_extent_after_truncate() IS
  'Trigger: a TRUNCATE of shelfops.sales leaves every dataset with 0 rows and no calendar';

CREATE TRIGGER sales_extent_insert AFTER INSERT ON shelfops.sales
    REFERENCING NEW TABLE AS inserted_sales
    FOR EACH STATEMENT EXECUTE FUNCTION shelfops.sales_extent_after_insert();
CREATE TRIGGER sales_extent_update AFTER UPDATE ON shelfops.sales
    REFERENCING OLD TABLE AS old_sales NEW TABLE AS new_sales
    FOR EACH STATEMENT EXECUTE FUNCTION shelfops.sales_extent_after_change();
CREATE TRIGGER sales_extent_delete AFTER DELETE ON shelfops.sales
    REFERENCING OLD TABLE AS old_sales
    FOR EACH STATEMENT EXECUTE FUNCTION shelfops.sales_extent_after_change();
CREATE TRIGGER sales_extent_truncate AFTER TRUNCATE ON shelfops.sales
    FOR EACH STATEMENT EXECUTE FUNCTION shelfops.sales_extent_after_truncate();

-- For writes the triggers did not see (a partition written by name, rows copied in
-- with triggers disabled): recount one dataset, or every dataset of the session's
-- tenant.  Returns the number of datasets whose recorded extent changed.
CREATE FUNCTION shelfops_refresh_dataset_extent(dataset_id text DEFAULT NULL, tenant_id text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tenant text := coalesce(shelfops_refresh_dataset_extent.tenant_id, shelfops.current_tenant());
    pairs    jsonb;
BEGIN
    IF v_tenant <> shelfops.current_tenant()
       AND NOT (SELECT r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        RAISE EXCEPTION 'cannot act for tenant "%" from a session of tenant "%"', v_tenant, shelfops.current_tenant()
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT jsonb_agg(jsonb_build_object('tenant_id', d.tenant_id, 'dataset_id', d.dataset_id))
      INTO pairs
      FROM shelfops.datasets d
     WHERE d.tenant_id = v_tenant
       AND (shelfops_refresh_dataset_extent.dataset_id IS NULL
            OR d.dataset_id = shelfops_refresh_dataset_extent.dataset_id);
    IF pairs IS NULL AND shelfops_refresh_dataset_extent.dataset_id IS NOT NULL THEN
        RAISE EXCEPTION 'dataset "%" does not exist for tenant "%"', shelfops_refresh_dataset_extent.dataset_id, v_tenant
              USING ERRCODE = 'undefined_object';
    END IF;
    RETURN coalesce(shelfops.recount_dataset_extent(pairs), 0);
END
$$;
COMMENT ON FUNCTION shelfops_refresh_dataset_extent(text, text) IS
  'Recount row_count, date_min and date_max of a dataset (or of every dataset of the tenant) from shelfops.sales';
