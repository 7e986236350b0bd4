-- shelfops_load_dataset on the real Rossmann and Walmart files in ../shared/datasets
-- (beside the checkout).  Without that folder the test prints SKIPPED, which only the
-- alternative expected file load_real_1.out accepts: it never passes silently.
\getenv abs_srcdir PG_ABS_SRCDIR
\set datasets :abs_srcdir '/../../shared/datasets'
SELECT (pg_stat_file(:'datasets' || '/rossmann/train.csv.gz', true)).size IS NOT NULL
   AND (pg_stat_file(:'datasets' || '/walmart/train.csv.gz', true)).size IS NOT NULL AS have_datasets \gset
\if :have_datasets
-- in one transaction, rolled back at the end: later tests see no rows
BEGIN;
-- Rossmann: 1,017,209 rows, 1,115 stores, 2013-01-01..2015-07-31
SELECT r -> 'rows_read' AS rows_read, r -> 'rows_written' AS rows_written, r -> 'rejected' AS rejected,
       r -> 'side_rows' AS side_rows
  FROM shelfops_load_dataset('rossmann', :'datasets' || '/rossmann') AS r;
SELECT family, frequency, country_code, target_unit, row_count, store_count, product_count, series_count,
       date_min, date_max
  FROM shelfops.datasets WHERE dataset_id = 'rossmann';
-- source files as stored, with the sha256 the datasets README gives
SELECT f ->> 'name' AS name, f -> 'size' AS size, f ->> 'sha256' AS sha256
  FROM shelfops.datasets, jsonb_array_elements(source_files) f WHERE dataset_id = 'rossmann';
-- 934 stores with all 942 days, 1 with 941, 180 with 758: the 2014-07-01..2014-12-31 gap
SELECT days, count(*) AS stores
  FROM (SELECT store_id, count(*) AS days FROM shelfops.sales WHERE dataset_id = 'rossmann' GROUP BY 1) s
 GROUP BY days ORDER BY days;
SELECT count(*) AS stores_absent_in_gap
  FROM shelfops.stores st
 WHERE st.dataset_id = 'rossmann'
   AND NOT EXISTS (SELECT 1 FROM shelfops.sales s
                    WHERE s.dataset_id = 'rossmann' AND s.store_id = st.store_id
                      AND s.sale_date BETWEEN '2014-07-01' AND '2014-12-31');
SELECT count(*) FILTER (WHERE is_open) AS open_rows,
       count(*) FILTER (WHERE NOT is_open) AS closed_rows,
       count(*) FILTER (WHERE holiday_type = 'a') AS public_holiday_rows,
       sum(quantity)::bigint AS total_sales
  FROM shelfops.sales WHERE dataset_id = 'rossmann';
SELECT count(*) AS stores, count(store_type) AS with_type, count(promo2_since) AS with_promo2_since,
       count(*) FILTER (WHERE promo_interval = 'Jan,Apr,Jul,Oct') AS jan_apr_jul_oct
  FROM shelfops.stores WHERE dataset_id = 'rossmann';

-- Walmart: 421,570 rows, 45 stores, 3,331 store x dept series, 2010-02-05..2012-10-26
SELECT r -> 'rows_read' AS rows_read, r -> 'rows_written' AS rows_written, r -> 'rejected' AS rejected,
       r -> 'side_rows' AS side_rows
  FROM shelfops_load_dataset('walmart', :'datasets' || '/walmart') AS r;
SELECT family, frequency, country_code, target_unit, row_count, store_count, product_count, series_count,
       date_min, date_max
  FROM shelfops.datasets WHERE dataset_id = 'walmart';
SELECT count(*) FILTER (WHERE quantity < 0) AS negative_weeks,
       count(*) FILTER (WHERE is_return_week) AS return_weeks,
       count(*) FILTER (WHERE returns_adjustment < 0) AS with_adjustment,
       count(*) FILTER (WHERE is_holiday) AS holiday_rows,
       count(DISTINCT sale_date) AS weeks,
       bool_and(extract(isodow FROM sale_date) = 5) AS all_fridays
  FROM shelfops.sales WHERE dataset_id = 'walmart';
SELECT count(*) AS stores, count(store_type) AS with_type, count(size) AS with_size,
       string_agg(DISTINCT store_type, ',') AS types
  FROM shelfops.stores WHERE dataset_id = 'walmart';
SELECT count(*) AS store_periods, count(DISTINCT store_id) AS stores, min(period), max(period),
       count(*) FILTER (WHERE markdown1 IS NULL) AS markdown1_na, count(cpi) AS with_cpi
  FROM shelfops.store_periods WHERE dataset_id = 'walmart';
ROLLBACK;
\else
SELECT 'SKIPPED: ../shared/datasets not found' AS load_real;
\endif
