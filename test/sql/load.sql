-- shelfops_load_dataset on small hand-written fixtures (test/fixtures/load/): the three
-- families, detection, rejects and thresholds, replacement, and a corpus of broken
-- inputs, each of which must fail with its documented error and leave every table
-- exactly as it was.
\getenv abs_srcdir PG_ABS_SRCDIR
\set fx :abs_srcdir '/fixtures/load'
SELECT set_config('load_test.fixtures', :'fx', false) IS NOT NULL AS fixtures_set;

-- Load a fixture directory; return 'ok' or the error (SQLSTATE, message, detail)
-- with the checkout's path replaced by <fx>, so the output is the same anywhere.
CREATE FUNCTION pg_temp.try_load(ds text, dir text, fam text DEFAULT 'auto', th jsonb DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text; det text;
BEGIN
    PERFORM shelfops_load_dataset(ds, current_setting('load_test.fixtures') || '/' || dir, fam, NULL, th);
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN replace(format('%s: %s | %s', st, msg, det), current_setting('load_test.fixtures'), '<fx>');
END $$;

-- Row counts of every table a load writes.
CREATE FUNCTION pg_temp.counts() RETURNS text LANGUAGE sql AS $$
    SELECT format('datasets=%s sales=%s stores=%s store_periods=%s rejects=%s',
                  (SELECT count(*) FROM shelfops.datasets), (SELECT count(*) FROM shelfops.sales),
                  (SELECT count(*) FROM shelfops.stores), (SELECT count(*) FROM shelfops.store_periods),
                  (SELECT count(*) FROM shelfops.load_rejects))
$$;

------------------------------------------------------------------------------
-- Rossmann: train.csv + store.csv (test.csv beside them changes nothing)
------------------------------------------------------------------------------
SELECT r - 'seconds' AS report
  FROM shelfops_load_dataset('r1', :'fx' || '/rossmann_good') AS r;
SELECT family, frequency, country_code, grain, target_unit, row_count, store_count, product_count,
       series_count, date_min, date_max, readiness, jsonb_pretty(source_files) AS source_files
  FROM shelfops.datasets WHERE dataset_id = 'r1';
SELECT store_id, store_type, assortment, competition_distance, competition_open_since, promo2,
       promo2_since, promo_interval, attributes
  FROM shelfops.stores WHERE dataset_id = 'r1' ORDER BY store_id;
SELECT store_id, product_id, category, sale_date, quantity, promo_count, is_promotional, is_holiday,
       holiday_type, is_school_holiday, is_open, customers
  FROM shelfops.sales WHERE dataset_id = 'r1' AND (sale_date IN ('2015-07-29', '2015-07-31'))
 ORDER BY store_id, sale_date;

-- the same rows from .gz, CRLF and CR-only files (store.csv without the extra column)
SELECT pg_temp.try_load('r_gz', 'rossmann_gz') AS gz,
       pg_temp.try_load('r_crlf', 'rossmann_crlf') AS crlf,
       pg_temp.try_load('r_cr', 'rossmann_cr') AS cr;
SELECT dataset_id, row_count, store_count, date_min, date_max, source_files -> 1 ->> 'name' AS train_file
  FROM shelfops.datasets WHERE dataset_id IN ('r_gz', 'r_crlf', 'r_cr') ORDER BY dataset_id;
SELECT count(*) AS rows_differing
  FROM (SELECT store_id, sale_date, quantity, is_open, is_promotional, holiday_type, is_school_holiday, customers
          FROM shelfops.sales WHERE dataset_id = 'r1'
        EXCEPT
        SELECT store_id, sale_date, quantity, is_open, is_promotional, holiday_type, is_school_holiday, customers
          FROM shelfops.sales WHERE dataset_id IN ('r_gz', 'r_crlf', 'r_cr')) d;
SELECT pg_temp.counts() AS baseline \gset
SELECT :'baseline' AS baseline;

------------------------------------------------------------------------------
-- Replacing a dataset: twice, never doubled
------------------------------------------------------------------------------
SELECT (shelfops_load_dataset('r1', :'fx' || '/rossmann_good') ->> 'replaced') AS replaced;
SELECT (shelfops_load_dataset('r1', :'fx' || '/rossmann_good') ->> 'replaced') AS replaced;
SELECT pg_temp.counts() = :'baseline' AS unchanged_after_two_replacements,
       (SELECT row_count FROM shelfops.datasets WHERE dataset_id = 'r1') AS row_count;

------------------------------------------------------------------------------
-- Broken inputs, each loaded as dataset r1 over the good one: the error, and
-- every table unchanged (r1 still holds the good rows)
------------------------------------------------------------------------------
SELECT pg_temp.try_load('r1', 'rossmann_truncated') AS truncated, pg_temp.counts() = :'baseline' AS unchanged;
SELECT pg_temp.try_load('r1', 'rossmann_truncated_gz') AS truncated_gzip, pg_temp.counts() = :'baseline' AS unchanged;
SELECT pg_temp.try_load('r1', 'rossmann_gzip_garbage') AS gzip_garbage, pg_temp.counts() = :'baseline' AS unchanged;
SELECT pg_temp.try_load('r1', 'rossmann_bad_header') AS wrong_header, pg_temp.counts() = :'baseline' AS unchanged;
SELECT pg_temp.try_load('r1', 'rossmann_empty') AS empty_file, pg_temp.counts() = :'baseline' AS unchanged;
SELECT pg_temp.try_load('r1', 'rossmann_header_only') AS header_only, pg_temp.counts() = :'baseline' AS unchanged;
SELECT pg_temp.try_load('r1', 'rossmann_bad_dates') AS bad_dates, pg_temp.counts() = :'baseline' AS unchanged;
SELECT pg_temp.try_load('r1', 'rossmann_nan') AS nan_sales, pg_temp.counts() = :'baseline' AS unchanged;
SELECT pg_temp.try_load('r1', 'rossmann_dupes') AS duplicate_keys, pg_temp.counts() = :'baseline' AS unchanged;
SELECT pg_temp.try_load('r1', 'rossmann_unknown_store') AS unknown_store, pg_temp.counts() = :'baseline' AS unchanged;
SELECT pg_temp.try_load('r1', 'rossmann_dow') AS day_of_week, pg_temp.counts() = :'baseline' AS unchanged;
SELECT pg_temp.try_load('r1', 'rossmann_no_store') AS missing_store_csv, pg_temp.counts() = :'baseline' AS unchanged;
SELECT pg_temp.try_load('r1', 'rossmann_no_store', 'rossmann') AS missing_store_csv_explicit, pg_temp.counts() = :'baseline' AS unchanged;
SELECT pg_temp.try_load('r1', 'unknown_layout') AS unknown_layout, pg_temp.counts() = :'baseline' AS unchanged;
SELECT pg_temp.try_load('r1', 'rossmann_good', 'walmart') AS wrong_family, pg_temp.counts() = :'baseline' AS unchanged;
SELECT pg_temp.try_load('r1', 'rossmann_good', 'm5') AS unknown_family, pg_temp.counts() = :'baseline' AS unchanged;
-- a Favorita layout is detected as such (its loader is tested on the real side files in test/tap/02_favorita.sh)
SELECT pg_temp.try_load('fav1', 'favorita_layout') AS favorita;
SELECT family, row_count, country_code FROM shelfops.datasets WHERE dataset_id = 'fav1';
DELETE FROM shelfops.datasets WHERE dataset_id = 'fav1';
SELECT pg_temp.counts() = :'baseline' AS unchanged;
SELECT pg_temp.try_load('r1', 'no_such_dir') AS missing_dir, pg_temp.counts() = :'baseline' AS unchanged;
SELECT pg_temp.try_load('r1', 'rossmann_good', 'auto', '{"min_date_parse_success": 2}') AS bad_threshold,
       pg_temp.try_load('r1', 'rossmann_good', 'auto', '{"max_typo_rate": 0.1}') AS unknown_threshold,
       pg_temp.counts() = :'baseline' AS unchanged;
SELECT pg_temp.try_load('r1/x', 'rossmann_good') AS bad_dataset_id;
SELECT shelfops_load_dataset('r1', 'relative/path') IS NULL;

------------------------------------------------------------------------------
-- Reject rates: below the threshold the load succeeds and keeps the rejects;
-- the same file with a stricter threshold fails
------------------------------------------------------------------------------
SELECT r -> 'rejected' AS rejected, r -> 'rows_read' AS rows_read, r -> 'rows_written' AS rows_written
  FROM shelfops_load_dataset('r_some_bad', :'fx' || '/rossmann_some_bad') AS r;
SELECT reject_no, file, line, reason, column_name, raw_text, detail
  FROM shelfops.load_rejects WHERE dataset_id = 'r_some_bad' ORDER BY reject_no;
SELECT pg_temp.counts() AS before_strict \gset
SELECT pg_temp.try_load('r_some_bad', 'rossmann_some_bad', 'auto', '{"min_date_parse_success": 0.999}') AS strict,
       pg_temp.counts() = :'before_strict' AS unchanged;
-- thresholds raised: duplicates, unknown stores and a DayOfWeek mismatch are kept as rejects
SELECT r -> 'rejected' AS rejected, r -> 'rows_written' AS rows_written
  FROM shelfops_load_dataset('r_dupes', :'fx' || '/rossmann_dupes', 'rossmann', NULL,
                             '{"max_duplicate_rate": 0.2}') AS r;
SELECT r -> 'rejected' AS rejected, r -> 'rows_written' AS rows_written
  FROM shelfops_load_dataset('r_unknown', :'fx' || '/rossmann_unknown_store', 'auto', NULL,
                             '{"max_store_ref_missing_rate": 0.1, "max_future_days": 7}') AS r;
SELECT r -> 'rejected' AS rejected, r -> 'rows_written' AS rows_written
  FROM shelfops_load_dataset('r_dow', :'fx' || '/rossmann_dow', 'auto', NULL, '{"max_malformed_rate": 0.1}') AS r;
SELECT dataset_id, line, reason, column_name, raw_text
  FROM shelfops.load_rejects WHERE dataset_id IN ('r_dupes', 'r_unknown', 'r_dow') ORDER BY dataset_id, reject_no;
-- the first of two duplicate rows is the one kept
SELECT quantity FROM shelfops.sales WHERE dataset_id = 'r_dupes' AND store_id = '2' AND sale_date = '2015-07-31';

------------------------------------------------------------------------------
-- Walmart: train.csv + features.csv + stores.csv (CR-only line endings)
------------------------------------------------------------------------------
SELECT r - 'seconds' - 'thresholds' AS report FROM shelfops_load_dataset('w1', :'fx' || '/walmart_good') AS r;
SELECT family, frequency, country_code, target_unit, row_count, store_count, product_count, series_count,
       date_min, date_max
  FROM shelfops.datasets WHERE dataset_id = 'w1';
SELECT store_id, store_type, size FROM shelfops.stores WHERE dataset_id = 'w1' ORDER BY store_id;
SELECT store_id, period, temperature, fuel_price, markdown1, markdown5, cpi, unemployment, is_holiday
  FROM shelfops.store_periods WHERE dataset_id = 'w1' ORDER BY store_id, period;
SELECT store_id, product_id, category, sale_date, quantity, is_holiday, returns_adjustment, is_return_week
  FROM shelfops.sales WHERE dataset_id = 'w1' AND store_id = '2' ORDER BY product_id, sale_date;

------------------------------------------------------------------------------
-- Seed: transactions/DAILY_SALES_*.csv aggregated to store x item x day
------------------------------------------------------------------------------
SELECT r - 'seconds' - 'thresholds' AS report FROM shelfops_load_dataset('s1', :'fx' || '/seed_good') AS r;
SELECT family, frequency, country_code, target_unit, row_count, store_count, product_count, series_count,
       date_min, date_max, jsonb_array_length(source_files) AS files
  FROM shelfops.datasets WHERE dataset_id = 's1';
SELECT store_id, product_id, category, sale_date, quantity, unit_price, is_promotional
  FROM shelfops.sales WHERE dataset_id = 's1' ORDER BY store_id, product_id, sale_date;

------------------------------------------------------------------------------
-- Privileges: pg_read_server_files is required; with it, an analyst loads
-- its own tenant's rows under row-level security
------------------------------------------------------------------------------
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_loader;
RESET client_min_messages;
CREATE ROLE regress_loader;
GRANT shelfops_analyst TO regress_loader;
SET ROLE regress_loader;
SELECT shelfops_load_dataset('r_priv', '/tmp');
RESET ROLE;
GRANT pg_read_server_files TO regress_loader;
SET ROLE regress_loader;
SET shelfops.tenant_id = 'tenant_x';
SELECT r -> 'rows_written' AS rows_written FROM shelfops_load_dataset('r_priv', :'fx' || '/rossmann_good') AS r;
SELECT pg_temp.try_load('r_priv', 'rossmann_good', 'auto', NULL) AS again;
SELECT tenant_id, dataset_id, row_count, loaded_by FROM shelfops.datasets;
SELECT count(*) AS sales_visible, count(DISTINCT tenant_id) AS tenants FROM shelfops.sales;
-- another tenant's id is refused
SELECT shelfops_load_dataset('r_priv', '/tmp', 'auto', 'public');
RESET shelfops.tenant_id;
RESET ROLE;
SELECT tenant_id, count(*) FROM shelfops.stores GROUP BY 1 ORDER BY 1;
DELETE FROM shelfops.datasets WHERE tenant_id = 'tenant_x';
REVOKE pg_read_server_files, shelfops_analyst FROM regress_loader;
DROP ROLE regress_loader;

-- clean up: every dataset this test loaded goes, with its sales, side rows and rejects
DELETE FROM shelfops.datasets
 WHERE dataset_id IN ('r1', 'r_gz', 'r_crlf', 'r_cr', 'r_some_bad', 'r_dupes', 'r_unknown', 'r_dow', 'w1', 's1');
SELECT pg_temp.counts() AS after_cleanup;
