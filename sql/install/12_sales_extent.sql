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
-- to the counts; UPDATE and DELETE (rare: corrections, retention) recount the
-- datasets they touched, since a removed row may have held the first or last date;
-- TRUNCATE empties them all.
-- Writes addressed to a partition by name (not through shelfops.sales) do not fire
-- them: shelfops_refresh_dataset_extent() recounts.  Concurrent INSERTs into one
-- dataset queue on its shelfops.datasets row until the first commits.
--
-- The functions run with the writer's rights: a role that may write sales may update
-- its tenant's datasets rows (shelfops_analyst, shelfops_admin; 90_security.sql), and
-- row-level security applies to both.

CREATE FUNCTION shelfops.sales_extent_after_insert() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
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

CREATE FUNCTION shelfops.sales_extent_after_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pairs jsonb;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        SELECT jsonb_agg(DISTINCT jsonb_build_object('tenant_id', t.tenant_id, 'dataset_id', t.dataset_id))
          INTO pairs
          FROM (SELECT tenant_id, dataset_id FROM old_sales
                UNION SELECT tenant_id, dataset_id FROM new_sales) t;
    ELSE
        SELECT jsonb_agg(DISTINCT jsonb_build_object('tenant_id', t.tenant_id, 'dataset_id', t.dataset_id))
          INTO pairs
          FROM old_sales t;
    END IF;
    IF pairs IS NOT NULL THEN
        PERFORM shelfops.recount_dataset_extent(pairs);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shelfops.sales_extent_after_change() IS
  'Trigger: recounts row_count, date_min and date_max of the datasets an UPDATE or DELETE of shelfops.sales touched';

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
