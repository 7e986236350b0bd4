-- shelfops_load_dataset_from: the fixtures of test/fixtures/load/ copied into staging
-- tables (here with a server-side COPY as the superuser running the suite; a client
-- would use \copy), loaded through the unchanged family code and compared with the
-- same files loaded from disk.  Rejects name the staging table and the row number.
\getenv abs_srcdir PG_ABS_SRCDIR
\set fx :abs_srcdir '/fixtures/load'

CREATE SCHEMA stage;
-- typed columns (the values are read as text through their output functions)
CREATE TABLE stage.rossmann_train (store int, dayofweek int, date date, sales numeric,
                                   customers int, open int, promo int, stateholiday text,
                                   schoolholiday text);
-- header names match case-insensitively, but store.csv's extra columns become keys of
-- stores.attributes as spelled: quoted names keep "Region" as the file has it
CREATE TABLE stage.rossmann_store ("Store" text, "StoreType" text, "Assortment" text,
                                   "CompetitionDistance" text, "CompetitionOpenSinceMonth" text,
                                   "CompetitionOpenSinceYear" text, "Promo2" text, "Promo2SinceWeek" text,
                                   "Promo2SinceYear" text, "PromoInterval" text, "Region" text);
\set f :fx '/rossmann_good/train.csv'
COPY stage.rossmann_train FROM :'f' WITH (FORMAT csv, HEADER true);
\set f :fx '/rossmann_good/store.csv'
COPY stage.rossmann_store FROM :'f' WITH (FORMAT csv, HEADER true);
-- all text: a bad date cannot even enter a date column
CREATE TABLE stage.rossmann_bad (LIKE stage.rossmann_train);
ALTER TABLE stage.rossmann_bad ALTER date TYPE text;
\set f :fx '/rossmann_some_bad/train.csv'
COPY stage.rossmann_bad FROM :'f' WITH (FORMAT csv, HEADER true);

CREATE FUNCTION pg_temp.try_stage(ds text, stg regclass, fam text, side jsonb DEFAULT NULL,
                                  th jsonb DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text; det text;
BEGIN
    PERFORM shelfops_load_dataset_from(ds, stg, fam, NULL, side, th);
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN format('%s: %s | %s', st, msg, det);
END $$;

CREATE FUNCTION pg_temp.counts() RETURNS text LANGUAGE sql AS $$
    SELECT format('datasets=%s sales=%s stores=%s store_periods=%s rejects=%s',
                  (SELECT count(*) FROM shelfops.datasets), (SELECT count(*) FROM shelfops.sales),
                  (SELECT count(*) FROM shelfops.stores), (SELECT count(*) FROM shelfops.store_periods),
                  (SELECT count(*) FROM shelfops.load_rejects))
$$;

------------------------------------------------------------------------------
-- Rossmann: the same rows as from the files
------------------------------------------------------------------------------
SELECT r - 'seconds' AS report
  FROM shelfops_load_dataset_from('rs1', 'stage.rossmann_train', 'rossmann',
                                  side_tables => '{"store.csv": "stage.rossmann_store"}') AS r;
SELECT shelfops_load_dataset('rd1', :'fx' || '/rossmann_good') ->> 'rows_written' AS from_disk;
SELECT family, source_path, row_count, store_count, product_count, series_count, date_min, date_max,
       jsonb_pretty(source_files) AS source_files
  FROM shelfops.datasets WHERE dataset_id = 'rs1';
-- every column of every row, both ways
SELECT count(*) AS staging_not_disk FROM (
    SELECT store_id, product_id, category, sale_date, quantity, promo_count, is_promotional, is_holiday,
           holiday_type, is_school_holiday, is_open, customers, unit_cost, unit_price
      FROM shelfops.sales WHERE dataset_id = 'rs1'
    EXCEPT
    SELECT store_id, product_id, category, sale_date, quantity, promo_count, is_promotional, is_holiday,
           holiday_type, is_school_holiday, is_open, customers, unit_cost, unit_price
      FROM shelfops.sales WHERE dataset_id = 'rd1') d;
SELECT count(*) AS disk_not_staging FROM (
    SELECT store_id, product_id, category, sale_date, quantity, promo_count, is_promotional, is_holiday,
           holiday_type, is_school_holiday, is_open, customers, unit_cost, unit_price
      FROM shelfops.sales WHERE dataset_id = 'rd1'
    EXCEPT
    SELECT store_id, product_id, category, sale_date, quantity, promo_count, is_promotional, is_holiday,
           holiday_type, is_school_holiday, is_open, customers, unit_cost, unit_price
      FROM shelfops.sales WHERE dataset_id = 'rs1') d;
SELECT (SELECT count(*) FROM shelfops.sales WHERE dataset_id = 'rs1') AS staging_rows,
       (SELECT count(*) FROM shelfops.sales WHERE dataset_id = 'rd1') AS disk_rows;
SELECT count(*) AS store_rows_differing FROM (
    (SELECT store_id, store_type, assortment, competition_distance, competition_open_since, promo2,
            promo2_since, promo_interval, attributes FROM shelfops.stores WHERE dataset_id = 'rs1'
     EXCEPT
     SELECT store_id, store_type, assortment, competition_distance, competition_open_since, promo2,
            promo2_since, promo_interval, attributes FROM shelfops.stores WHERE dataset_id = 'rd1')
    UNION ALL
    (SELECT store_id, store_type, assortment, competition_distance, competition_open_since, promo2,
            promo2_since, promo_interval, attributes FROM shelfops.stores WHERE dataset_id = 'rd1'
     EXCEPT
     SELECT store_id, store_type, assortment, competition_distance, competition_open_since, promo2,
            promo2_since, promo_interval, attributes FROM shelfops.stores WHERE dataset_id = 'rs1')) d;
-- the key may omit ".csv"; DateStyle of the session does not matter
SET DateStyle = 'SQL, DMY';
SELECT pg_temp.try_stage('rs2', 'stage.rossmann_train', 'rossmann', '{"store": "stage.rossmann_store"}') AS short_key;
RESET DateStyle;
SELECT count(*) AS rows_differing FROM (
    SELECT store_id, sale_date, quantity FROM shelfops.sales WHERE dataset_id = 'rs2'
    EXCEPT SELECT store_id, sale_date, quantity FROM shelfops.sales WHERE dataset_id = 'rd1') d;

------------------------------------------------------------------------------
-- A bad row: a reject naming the staging table and its row number (the file
-- has it on line 12: line 1 is the header)
------------------------------------------------------------------------------
SELECT r -> 'rejected' AS rejected, r -> 'rows_read' AS rows_read, r -> 'rows_written' AS rows_written
  FROM shelfops_load_dataset_from('rs_bad', 'stage.rossmann_bad', 'rossmann', NULL,
                                  '{"store.csv": "stage.rossmann_store"}') AS r;
SELECT reject_no, file, line, reason, column_name, raw_text, detail
  FROM shelfops.load_rejects WHERE dataset_id = 'rs_bad' ORDER BY reject_no;
SELECT shelfops_load_dataset('rd_bad', :'fx' || '/rossmann_some_bad') ->> 'rows_written' AS from_disk;
SELECT file, line FROM shelfops.load_rejects WHERE dataset_id = 'rd_bad';
-- over the threshold: the error names the table and the row
SELECT pg_temp.try_stage('rs_bad', 'stage.rossmann_bad', 'rossmann', '{"store.csv": "stage.rossmann_store"}',
                         '{"min_date_parse_success": 0.999}') AS strict;

------------------------------------------------------------------------------
-- Atomicity: failing loads over rs1 leave every table as it was
------------------------------------------------------------------------------
SELECT pg_temp.counts() AS baseline \gset
SELECT pg_temp.try_stage('rs1', 'stage.rossmann_bad', 'rossmann', '{"store.csv": "stage.rossmann_store"}',
                         '{"min_date_parse_success": 0.999}') AS threshold_breach,
       pg_temp.counts() = :'baseline' AS unchanged;
CREATE TABLE stage.wrong_header (store int, dayofweek int, datum date, sales numeric, customers int,
                                 open int, promo int, stateholiday text, schoolholiday text);
INSERT INTO stage.wrong_header SELECT * FROM stage.rossmann_train;
SELECT pg_temp.try_stage('rs1', 'stage.wrong_header', 'rossmann', '{"store.csv": "stage.rossmann_store"}') AS wrong_header,
       pg_temp.counts() = :'baseline' AS unchanged;
CREATE TABLE stage.empty (LIKE stage.rossmann_train);
SELECT pg_temp.try_stage('rs1', 'stage.empty', 'rossmann', '{"store.csv": "stage.rossmann_store"}') AS empty_table,
       pg_temp.counts() = :'baseline' AS unchanged;
-- a store.csv with a bad value fails at once (side files are strict); the updated
-- row is now the table's third in scan order, and that is the line reported
CREATE TABLE stage.bad_store AS SELECT * FROM stage.rossmann_store;
UPDATE stage.bad_store SET "CompetitionDistance" = 'far' WHERE "Store" = '2';
SELECT pg_temp.try_stage('rs1', 'stage.rossmann_train', 'rossmann', '{"store.csv": "stage.bad_store"}') AS bad_side_value,
       pg_temp.counts() = :'baseline' AS unchanged;
SELECT row_count, source_path FROM shelfops.datasets WHERE dataset_id = 'rs1';

------------------------------------------------------------------------------
-- Argument errors
------------------------------------------------------------------------------
SELECT pg_temp.try_stage('rs1', 'stage.rossmann_train', 'rossmann') AS missing_side_table;
SELECT pg_temp.try_stage('rs1', 'stage.rossmann_train', 'walmart', '{"features.csv": "stage.rossmann_store"}') AS missing_one_of_two;
SELECT pg_temp.try_stage('rs1', 'stage.rossmann_train', 'rossmann', '{"stores.csv": "stage.rossmann_store"}') AS unknown_key;
SELECT pg_temp.try_stage('rs1', 'stage.rossmann_train', 'rossmann', '{"store.csv": "stage.nope"}') AS no_such_side_table;
SELECT pg_temp.try_stage('rs1', 'stage.rossmann_train', 'rossmann', '{"store.csv": 7}') AS not_a_name;
SELECT pg_temp.try_stage('rs1', 'stage.rossmann_train', 'rossmann', '["stage.rossmann_store"]') AS not_an_object;
SELECT pg_temp.try_stage('rs1', 'stage.rossmann_train', 'auto') AS auto_family;
SELECT pg_temp.try_stage('rs1', 'stage.rossmann_train', 'm5') AS unknown_family;
SELECT pg_temp.try_stage('rs1', 'stage.rossmann_train', NULL) AS null_family;
SELECT pg_temp.try_stage('rs1', 'shelfops.datasets_pkey', 'rossmann') AS an_index;
SELECT pg_temp.counts() = :'baseline' AS unchanged;

------------------------------------------------------------------------------
-- Walmart (typed weekly sales and a boolean flag) and seed transactions
------------------------------------------------------------------------------
CREATE TABLE stage.walmart_train (store int, dept int, date date, weekly_sales float8, isholiday boolean);
CREATE TABLE stage.walmart_features (store text, date text, temperature text, fuel_price text,
                                     markdown1 text, markdown2 text, markdown3 text, markdown4 text,
                                     markdown5 text, cpi text, unemployment text, isholiday text);
CREATE TABLE stage.walmart_stores (store text, type text, size text);
\set f :fx '/walmart_good/train.csv'
COPY stage.walmart_train FROM :'f' WITH (FORMAT csv, HEADER true);
\set f :fx '/walmart_good/features.csv'
COPY stage.walmart_features FROM :'f' WITH (FORMAT csv, HEADER true);
-- stores.csv has CR-only line ends, which COPY does not take: its rows by hand
INSERT INTO stage.walmart_stores VALUES ('1', 'A', '151315'), ('2', 'B', '202307');
SELECT r -> 'rows_written' AS rows_written, r -> 'side_rows' AS side_rows
  FROM shelfops_load_dataset_from('ws1', 'stage.walmart_train', 'walmart', NULL,
         '{"features.csv": "stage.walmart_features", "stores.csv": "stage.walmart_stores"}') AS r;
SELECT shelfops_load_dataset('wd1', :'fx' || '/walmart_good') ->> 'rows_written' AS from_disk;
SELECT count(*) AS rows_differing FROM (
    (SELECT store_id, product_id, category, sale_date, quantity, is_holiday, returns_adjustment, is_return_week
       FROM shelfops.sales WHERE dataset_id = 'ws1'
     EXCEPT
     SELECT store_id, product_id, category, sale_date, quantity, is_holiday, returns_adjustment, is_return_week
       FROM shelfops.sales WHERE dataset_id = 'wd1')
    UNION ALL
    (SELECT store_id, product_id, category, sale_date, quantity, is_holiday, returns_adjustment, is_return_week
       FROM shelfops.sales WHERE dataset_id = 'wd1'
     EXCEPT
     SELECT store_id, product_id, category, sale_date, quantity, is_holiday, returns_adjustment, is_return_week
       FROM shelfops.sales WHERE dataset_id = 'ws1')) d;
SELECT count(*) AS period_rows_differing FROM (
    (SELECT store_id, period, temperature, fuel_price, markdown1, markdown5, cpi, unemployment, is_holiday
       FROM shelfops.store_periods WHERE dataset_id = 'ws1'
     EXCEPT
     SELECT store_id, period, temperature, fuel_price, markdown1, markdown5, cpi, unemployment, is_holiday
       FROM shelfops.store_periods WHERE dataset_id = 'wd1')
    UNION ALL
    (SELECT store_id, period, temperature, fuel_price, markdown1, markdown5, cpi, unemployment, is_holiday
       FROM shelfops.store_periods WHERE dataset_id = 'wd1'
     EXCEPT
     SELECT store_id, period, temperature, fuel_price, markdown1, markdown5, cpi, unemployment, is_holiday
       FROM shelfops.store_periods WHERE dataset_id = 'ws1')) d;

CREATE TABLE stage.seed_tx (trans_id text, store_nbr text, item_nbr text, upc text, qty_sold numeric,
                            unit_price numeric, sale_amt numeric, trans_date text, trans_time text,
                            trans_type text);
\set f :fx '/seed_good/transactions/DAILY_SALES_20240101.csv'
COPY stage.seed_tx FROM :'f' WITH (FORMAT csv, HEADER true);
\set f :fx '/seed_good/transactions/DAILY_SALES_20240102.csv'
COPY stage.seed_tx FROM :'f' WITH (FORMAT csv, HEADER true);
SELECT r -> 'rows_read' AS rows_read, r -> 'aggregated_rows' AS aggregated_rows, r -> 'rows_written' AS rows_written
  FROM shelfops_load_dataset_from('ss1', 'stage.seed_tx', 'seed') AS r;
SELECT shelfops_load_dataset('sd1', :'fx' || '/seed_good') ->> 'rows_written' AS from_disk;
SELECT count(*) AS rows_differing FROM (
    (SELECT store_id, product_id, sale_date, quantity, unit_price FROM shelfops.sales WHERE dataset_id = 'ss1'
     EXCEPT SELECT store_id, product_id, sale_date, quantity, unit_price FROM shelfops.sales WHERE dataset_id = 'sd1')
    UNION ALL
    (SELECT store_id, product_id, sale_date, quantity, unit_price FROM shelfops.sales WHERE dataset_id = 'sd1'
     EXCEPT SELECT store_id, product_id, sale_date, quantity, unit_price FROM shelfops.sales WHERE dataset_id = 'ss1')) d;
SELECT (source_files -> 0) - 'sha256' AS source_file, length(source_files -> 0 ->> 'sha256') AS sha256_hex
  FROM shelfops.datasets WHERE dataset_id = 'ss1';
SELECT pg_temp.try_stage('ss1', 'stage.seed_tx', 'seed', '{"stores.csv": "stage.walmart_stores"}') AS seed_has_no_side_files;

------------------------------------------------------------------------------
-- Privileges: SELECT on the staging tables is what counts, not pg_read_server_files
------------------------------------------------------------------------------
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_stager;
RESET client_min_messages;
CREATE ROLE regress_stager;
GRANT shelfops_analyst TO regress_stager;
GRANT USAGE ON SCHEMA stage TO regress_stager;
GRANT SELECT ON stage.rossmann_train, stage.rossmann_store TO regress_stager;
SET ROLE regress_stager;
SELECT pg_has_role('pg_read_server_files', 'USAGE') AS reads_server_files;
SET shelfops.tenant_id = 'tenant_s';
SELECT r -> 'rows_written' AS rows_written
  FROM shelfops_load_dataset_from('rs_priv', 'stage.rossmann_train', 'rossmann', NULL,
                                  '{"store.csv": "stage.rossmann_store"}') AS r;
SELECT tenant_id, dataset_id, row_count, loaded_by FROM shelfops.datasets;
-- no SELECT on the side table: refused, naming it
RESET ROLE;
REVOKE SELECT ON stage.rossmann_store FROM regress_stager;
SET ROLE regress_stager;
SELECT pg_temp.try_stage('rs_priv', 'stage.rossmann_train', 'rossmann', '{"store.csv": "stage.rossmann_store"}') AS no_select_side;
SELECT pg_temp.try_stage('rs_priv', 'stage.rossmann_bad', 'rossmann', '{"store.csv": "stage.rossmann_store"}') AS no_select_main;
-- every column granted one by one is as good as the table
RESET ROLE;
GRANT SELECT ("Store", "StoreType", "Assortment", "CompetitionDistance", "CompetitionOpenSinceMonth",
              "CompetitionOpenSinceYear", "Promo2", "Promo2SinceWeek", "Promo2SinceYear", "PromoInterval",
              "Region") ON stage.rossmann_store TO regress_stager;
SET ROLE regress_stager;
SELECT pg_temp.try_stage('rs_priv', 'stage.rossmann_train', 'rossmann', '{"store.csv": "stage.rossmann_store"}') AS column_grants;
-- another tenant's id is refused
SELECT shelfops_load_dataset_from('rs_priv', 'stage.rossmann_train', 'rossmann', 'public',
                                  '{"store.csv": "stage.rossmann_store"}');
RESET shelfops.tenant_id;
RESET ROLE;
-- EXECUTE: shelfops_analyst (and so shelfops_admin), not PUBLIC or shelfops_app
SELECT r AS role, has_function_privilege(r, 'shelfops_load_dataset_from(text, regclass, text, text, jsonb, jsonb)',
                                         'EXECUTE') AS may_execute
  FROM unnest(ARRAY['shelfops_analyst', 'shelfops_admin', 'shelfops_app', 'public']) AS r;
DELETE FROM shelfops.datasets WHERE tenant_id = 'tenant_s';
REVOKE ALL ON stage.rossmann_train, stage.rossmann_store FROM regress_stager;
REVOKE USAGE ON SCHEMA stage FROM regress_stager;
REVOKE shelfops_analyst FROM regress_stager;
DROP ROLE regress_stager;

-- clean up
DELETE FROM shelfops.datasets
 WHERE dataset_id IN ('rs1', 'rs2', 'rd1', 'rs_bad', 'rd_bad', 'ws1', 'wd1', 'ss1', 'sd1');
DROP SCHEMA stage CASCADE;
SELECT pg_temp.counts() AS after_cleanup;
