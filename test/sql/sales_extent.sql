-- A dataset's extent (shelfops.datasets row_count, date_min, date_max) follows SQL
-- writes to shelfops.sales (12_sales_extent.sql): new actuals extend the calendar
-- training uses, corrections and deletions recount, and shelfops.model_health reads
-- the data clock and the new rows from it.
\set VERBOSITY terse
SELECT shelfops_generate_synthetic('ext', 2, 3, 120, 4)->>'rows' AS rows;
SELECT row_count, date_min, date_max FROM shelfops.datasets WHERE dataset_id = 'ext';
SELECT (shelfops_train('ext', 'extm', 'seasonal_naive'))->>'version' AS v1;
SELECT r->>'decision' AS decision FROM shelfops_promote('extm', 1) r;
SELECT champion->>'as_of' AS as_of, retraining_triggers->'new_data_rows_since_last_retrain' AS new_rows,
       retraining_triggers->'new_data_available' AS new_data
  FROM shelfops.model_health WHERE model_name = 'extm';

-- two new days of actuals for every series: one statement, counted once
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
SELECT 'ext', s.store_id, s.product_id, d.day, 5
  FROM (SELECT DISTINCT store_id, product_id FROM shelfops.sales WHERE dataset_id = 'ext') s
 CROSS JOIN (SELECT date_max + i AS day FROM shelfops.datasets, generate_series(1, 2) i
              WHERE dataset_id = 'ext') d;
SELECT row_count, date_min, date_max FROM shelfops.datasets WHERE dataset_id = 'ext';
SELECT row_count = (SELECT count(*) FROM shelfops.sales WHERE dataset_id = 'ext') AS count_exact
  FROM shelfops.datasets WHERE dataset_id = 'ext';
SELECT champion->>'as_of' AS as_of, retraining_triggers->'new_data_rows_since_last_retrain' AS new_rows,
       retraining_triggers->'new_data_available' AS new_data
  FROM shelfops.model_health WHERE model_name = 'extm';

-- training sees the new days as part of the calendar (it used to refuse them)
SELECT r->>'version' AS v2, r->>'holdout_end' AS holdout_end
  FROM shelfops_train('ext', 'extm', 'seasonal_naive', horizon => 7) r;
SELECT version, row_counts->>'sales_rows' AS sales_rows FROM shelfops.training_runs
 WHERE model_name = 'extm' ORDER BY version;

-- an UPDATE that moves a row's date, and a DELETE of the last day, recount
UPDATE shelfops.sales SET sale_date = sale_date + 10
 WHERE dataset_id = 'ext' AND store_id = (SELECT min(store_id) FROM shelfops.sales WHERE dataset_id = 'ext')
   AND product_id = (SELECT min(product_id) FROM shelfops.sales WHERE dataset_id = 'ext')
   AND sale_date = (SELECT date_max FROM shelfops.datasets WHERE dataset_id = 'ext');
SELECT row_count, date_min, date_max FROM shelfops.datasets WHERE dataset_id = 'ext';
DELETE FROM shelfops.sales
 WHERE dataset_id = 'ext' AND sale_date > (SELECT date_max - 12 FROM shelfops.datasets WHERE dataset_id = 'ext');
SELECT row_count, date_min, date_max FROM shelfops.datasets WHERE dataset_id = 'ext';
-- a quantity correction keeps every key: nothing to recount (the recorded extent is
-- left alone even when it was wrong, which shows no recount ran)
UPDATE shelfops.datasets SET row_count = row_count + 1000 WHERE dataset_id = 'ext';
UPDATE shelfops.sales SET quantity = quantity + 1 WHERE dataset_id = 'ext' AND sale_date = '2024-02-01';
SELECT row_count - 1000 AS row_count_without_marker FROM shelfops.datasets WHERE dataset_id = 'ext';
-- a DELETE inside the calendar subtracts its rows without a recount; one on an end recounts
DELETE FROM shelfops.sales WHERE dataset_id = 'ext' AND sale_date = '2024-02-01';
SELECT row_count - 1000 AS row_count_without_marker, date_min, date_max FROM shelfops.datasets WHERE dataset_id = 'ext';
DELETE FROM shelfops.sales WHERE dataset_id = 'ext' AND sale_date = (SELECT date_max FROM shelfops.datasets WHERE dataset_id = 'ext');
SELECT row_count, date_min, date_max FROM shelfops.datasets WHERE dataset_id = 'ext';

-- weekly datasets: a row off the 7-day grid is refused, naming it; rows on it are counted
INSERT INTO shelfops.datasets (dataset_id, family, frequency, grain) VALUES ('extw', 'generic', 'weekly', 'x');
\set VERBOSITY default
\set SHOW_CONTEXT never
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
VALUES ('extw', 's', 'p', '2024-01-05', 1), ('extw', 's', 'p', '2024-01-12', 1), ('extw', 's', 'p', '2024-01-20', 1);
\set VERBOSITY terse
\set SHOW_CONTEXT errors
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
VALUES ('extw', 's', 'p', '2024-01-05', 1), ('extw', 's', 'p', '2024-01-12', 1), ('extw', 's', 'p', '2024-01-19', 1);
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
VALUES ('extw', 's', 'q', '2023-12-29', 1);
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
VALUES ('extw', 's', 'q', '2023-12-30', 1);
UPDATE shelfops.sales SET sale_date = sale_date + 1 WHERE dataset_id = 'extw' AND product_id = 'q';
SELECT row_count, date_min, date_max FROM shelfops.datasets WHERE dataset_id = 'extw';
DELETE FROM shelfops.datasets WHERE dataset_id = 'extw';

-- a statement that touches no row changes nothing
DELETE FROM shelfops.sales WHERE dataset_id = 'ext' AND sale_date < '1900-01-01';
SELECT row_count FROM shelfops.datasets WHERE dataset_id = 'ext';

-- writes the triggers do not see (triggers disabled): the refresh function recounts
ALTER TABLE shelfops.sales DISABLE TRIGGER sales_extent_delete;
DELETE FROM shelfops.sales WHERE dataset_id = 'ext' AND sale_date = (SELECT date_min FROM shelfops.datasets WHERE dataset_id = 'ext');
ALTER TABLE shelfops.sales ENABLE TRIGGER sales_extent_delete;
SELECT row_count, date_min FROM shelfops.datasets WHERE dataset_id = 'ext';
SELECT shelfops_refresh_dataset_extent('ext') AS changed;
SELECT row_count, date_min, date_max FROM shelfops.datasets WHERE dataset_id = 'ext';
SELECT shelfops_refresh_dataset_extent('ext') AS changed_again;
UPDATE shelfops.datasets SET row_count = 0 WHERE dataset_id = 'ext';
SELECT shelfops_refresh_dataset_extent() >= 1 AS every_dataset_recounted;
SELECT row_count = (SELECT count(*) FROM shelfops.sales WHERE dataset_id = 'ext') AS ext_exact_again
  FROM shelfops.datasets WHERE dataset_id = 'ext';

-- TRUNCATE of shelfops.sales empties every dataset (rolled back: later tests keep their data)
BEGIN;
TRUNCATE shelfops.sales;
SELECT count(*) AS datasets_with_rows FROM shelfops.datasets
 WHERE row_count <> 0 OR date_min IS NOT NULL OR date_max IS NOT NULL;
ROLLBACK;
SELECT row_count FROM shelfops.datasets WHERE dataset_id = 'ext';

-- a load still works beside the extension's own triggers (and records the extent itself)
SELECT shelfops_generate_synthetic('ext', 2, 3, 60, 4)->>'rows' AS reloaded_rows;
SELECT row_count, date_min, date_max FROM shelfops.datasets WHERE dataset_id = 'ext';

-- wrong calls
SELECT shelfops_refresh_dataset_extent('no_such_dataset');
SELECT shelfops_refresh_dataset_extent('ext', 'no_such_tenant');

-- leave nothing behind for the tests after this one
DELETE FROM shelfops.model_retraining_log WHERE model_name = 'extm';
DELETE FROM shelfops.model_experiments WHERE model_name = 'extm';
DELETE FROM shelfops.training_runs WHERE model_name = 'extm';
DELETE FROM shelfops.model_versions WHERE model_name = 'extm';
DELETE FROM shelfops.datasets WHERE dataset_id = 'ext';
