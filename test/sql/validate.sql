-- shelfops_validate_dataset: every check passing and failing on hand-built tiny
-- datasets, the four readiness states and what is stored, weekly gaps counted in
-- weeks, per-column null rates, threshold overrides and errors, unknown datasets
-- and tenant isolation.  Dates are relative to current_date, and dated details
-- are masked, so the output does not depend on the day the test runs.

-- Helpers: a dataset row, a block of daily or weekly rows, and the checks with
-- stable numbers (round to 4 places; details that print dates are masked).
CREATE FUNCTION pg_temp.ds(p_ds text, p_freq text DEFAULT 'daily', p_unit text DEFAULT 'units',
                           p_report jsonb DEFAULT '{}') RETURNS void
LANGUAGE sql AS $$
    INSERT INTO shelfops.datasets (tenant_id, dataset_id, family, frequency, grain, target_unit, load_report)
    VALUES ('public', p_ds, 'generic', p_freq, 'store x product x period', p_unit, p_report)
$$;
-- p_periods periods ending p_end_offset days from today, every p_step days,
-- for stores 1..p_stores x products 1..p_products; quantity varies 0..10.
CREATE FUNCTION pg_temp.rows(p_ds text, p_stores int, p_products int, p_periods int,
                             p_end_offset int DEFAULT -1, p_step int DEFAULT 1) RETURNS bigint
LANGUAGE sql AS $$
    WITH ins AS (
        INSERT INTO shelfops.sales (tenant_id, dataset_id, store_id, product_id, sale_date, quantity,
                                    category, unit_cost)
        SELECT 'public', p_ds, 's' || st, 'p' || pr,
               current_date + p_end_offset - (p_periods - i) * p_step,
               ((i * 7 + st * 3 + pr) % 11)::float8, 'cat', 1.5
          FROM generate_series(1, p_stores) st, generate_series(1, p_products) pr,
               generate_series(1, p_periods) i
        RETURNING 1)
    SELECT count(*) FROM ins
$$;
CREATE FUNCTION pg_temp.show(p_ds text, p_th jsonb DEFAULT NULL)
RETURNS TABLE(check_name text, observed numeric, threshold numeric, passed bool, detail text)
LANGUAGE sql AS $$
    SELECT v.check_name, round(v.observed::numeric, 4), round(v.threshold::numeric, 4), v.passed,
           CASE WHEN v.check_name IN ('max_future_days', 'history_years', 'history_days')
                THEN '(dated)' ELSE v.detail END
      FROM shelfops_validate_dataset(p_ds, NULL, p_th) v
$$;
-- Only the checks that did not pass, then the stored readiness.
CREATE FUNCTION pg_temp.failing(p_ds text, p_th jsonb DEFAULT NULL)
RETURNS TABLE(check_name text, observed numeric, threshold numeric)
LANGUAGE sql AS $$
    SELECT check_name, observed, threshold FROM pg_temp.show(p_ds, p_th) WHERE passed = false
$$;
CREATE FUNCTION pg_temp.stored(p_ds text) RETURNS TABLE(readiness text, readiness_reason text)
LANGUAGE sql AS $$
    SELECT readiness, readiness_reason FROM shelfops.datasets
     WHERE tenant_id = 'public' AND dataset_id = p_ds
$$;

-- 1. ready: 2 stores x 2 products x 120 days ending yesterday, no load report.
SELECT pg_temp.ds('good');
SELECT pg_temp.rows('good', 2, 2, 120);
SELECT * FROM pg_temp.show('good');
SELECT * FROM pg_temp.stored('good');
-- what is stored: every row, with its class, the thresholds used and the time
SELECT validation->>'readiness' AS readiness, jsonb_array_length(validation->'checks') AS checks,
       validation->'thresholds'->>'min_series_periods' AS min_series_periods,
       validation->'checks'->0 AS first_check, validated_at IS NOT NULL AS validated
  FROM shelfops.datasets WHERE dataset_id = 'good';
SELECT c->>'class' AS class, count(*)
  FROM shelfops.datasets, jsonb_array_elements(validation->'checks') c
 WHERE dataset_id = 'good' GROUP BY 1 ORDER BY 1;

-- 2. limited: 30 days of history, every series short.  Never reported as ready.
SELECT pg_temp.ds('short');
SELECT pg_temp.rows('short', 1, 2, 30);
SELECT * FROM pg_temp.failing('short');
SELECT * FROM pg_temp.stored('short');
-- overrides: a shorter series minimum clears short_series_share, not history_days
SELECT * FROM pg_temp.failing('short', '{"min_series_periods": 30}');
SELECT * FROM pg_temp.stored('short');
SELECT * FROM pg_temp.failing('short', '{"min_series_periods": 30, "min_history_days": 30}');
SELECT * FROM pg_temp.stored('short');
-- and a stricter history minimum limits the good dataset
SELECT * FROM pg_temp.failing('good', '{"min_history_days": 200}');
SELECT * FROM pg_temp.stored('good');
SELECT validation->'thresholds'->'min_history_days' AS stored_threshold
  FROM shelfops.datasets WHERE dataset_id = 'good';

-- 3. blocked: a dataset without rows (no load report either).
SELECT pg_temp.ds('empty');
SELECT * FROM pg_temp.show('empty');
SELECT * FROM pg_temp.stored('empty');

-- 4. invalid from the load report: bad dates 2 %, duplicates 1.5 %, one unknown
-- store; bad quantities 0.1 % pass.  Transaction rows aggregated are not duplicates.
SELECT pg_temp.ds('badload', p_report => '{"rows_read": 10000, "rows_written": 9639,
    "aggregated_rows": 500,
    "rejected": {"bad_date": 200, "bad_quantity": 10, "duplicate_key": 150, "unknown_store": 1}}');
SELECT pg_temp.rows('badload', 1, 1, 100);
SELECT check_name, observed, threshold, passed, detail FROM pg_temp.show('badload')
 WHERE check_name IN ('date_parse_success', 'quantity_parse_success', 'duplicate_rate', 'store_ref_missing_rate');
SELECT * FROM pg_temp.stored('badload');
-- relaxed thresholds clear the load-report failures
SELECT * FROM pg_temp.failing('badload', '{"min_date_parse_success": 0.98, "max_duplicate_rate": 0.02,
                                           "max_store_ref_missing_rate": 0.001}');
SELECT * FROM pg_temp.stored('badload');
-- a quantity parse rate under 0.995 fails
UPDATE shelfops.datasets SET load_report = '{"rows_read": 1000, "rejected": {"bad_quantity": 6}}'
 WHERE dataset_id = 'badload';
SELECT * FROM pg_temp.failing('badload');

-- 5. null rates per column, never averaged: 1 % of store ids were rejected as
-- NULL.  The reference's mean of the four required columns (0.0025) would pass;
-- here null_rate:store_id fails.  A fully NULL optional column (unit_price,
-- is_open) is informational and neither hides nor masks the required one.
SELECT pg_temp.ds('nulls', p_report => '{"rows_read": 1000,
    "rejected": {"null_required:store_id": 10, "field_count": 3}}');
SELECT pg_temp.rows('nulls', 1, 1, 100);
SELECT check_name, observed, threshold, passed, detail FROM pg_temp.show('nulls')
 WHERE check_name LIKE 'null_rate:%';
SELECT round(avg(observed::numeric), 4) AS reference_mean_would_pass
  FROM shelfops_validate_dataset('nulls') WHERE check_name LIKE 'null_rate:%' AND threshold IS NOT NULL;
SELECT * FROM pg_temp.stored('nulls');
-- the optional column alone does not fail anything
UPDATE shelfops.datasets SET load_report = '{}' WHERE dataset_id = 'nulls';
UPDATE shelfops.sales SET category = NULL WHERE dataset_id = 'nulls';
SELECT check_name, observed, threshold, passed FROM pg_temp.show('nulls') WHERE check_name LIKE 'null_rate:%';
SELECT * FROM pg_temp.stored('nulls');
-- blank ids left in the table count as missing; an unattributed null_required
-- count is charged to every required column
INSERT INTO shelfops.sales (tenant_id, dataset_id, store_id, product_id, sale_date, quantity)
SELECT 'public', 'nulls', 's1', ' ', current_date - i, 1 FROM generate_series(1, 100) i;
UPDATE shelfops.datasets SET load_report = '{"rows_read": 200, "rejected": {"null_required": 1}}'
 WHERE dataset_id = 'nulls';
SELECT check_name, observed, threshold, passed, detail FROM pg_temp.show('nulls')
 WHERE check_name LIKE 'null_rate:%' AND threshold IS NOT NULL;

-- 6. dates: 10 days into the future is invalid; 16 years of history is invalid
-- (and invalid wins over the gaps such sparse data also has).
SELECT pg_temp.ds('future');
SELECT pg_temp.rows('future', 1, 1, 100, 10);
SELECT * FROM pg_temp.failing('future');
SELECT * FROM pg_temp.stored('future');
SELECT pg_temp.ds('ancient');
INSERT INTO shelfops.sales (tenant_id, dataset_id, store_id, product_id, sale_date, quantity)
VALUES ('public', 'ancient', 's1', 'p1', current_date - 5845, 3),
       ('public', 'ancient', 's1', 'p1', current_date - 1, 4);
SELECT * FROM pg_temp.failing('ancient');
SELECT * FROM pg_temp.stored('ancient');

-- 7. weekly (Walmart-like: weekly, currency, returns signed).  Two series of 40
-- weeks, on the weekday of current_date - 3; the second misses 10 weeks.  Gaps
-- are counted in weeks: the complete series has no gap (counted in days it
-- would look 6/7 empty).
SELECT pg_temp.ds('weekly', 'weekly', 'currency');
SELECT pg_temp.rows('weekly', 1, 2, 40, -3, 7);
DELETE FROM shelfops.sales WHERE dataset_id = 'weekly' AND product_id = 'p2'
   AND sale_date BETWEEN current_date - 3 - 7 * 20 AND current_date - 3 - 7 * 11;
UPDATE shelfops.sales SET quantity = -quantity
 WHERE dataset_id = 'weekly' AND sale_date > current_date - 3 - 7 * 5;
SELECT * FROM pg_temp.show('weekly');
SELECT * FROM pg_temp.stored('weekly');
-- a weekly row off the series' weekday is reported (written with the extent trigger off:
-- through it, such a row is refused, test/sql/sales_extent.sql)
ALTER TABLE shelfops.sales DISABLE TRIGGER sales_extent_insert;
INSERT INTO shelfops.sales (tenant_id, dataset_id, store_id, product_id, sale_date, quantity)
VALUES ('public', 'weekly', 's1', 'p1', current_date - 5, 1);
ALTER TABLE shelfops.sales ENABLE TRIGGER sales_extent_insert;
SELECT detail FROM pg_temp.show('weekly') WHERE check_name = 'calendar_gap_share';
ALTER TABLE shelfops.sales DISABLE TRIGGER sales_extent_delete;
DELETE FROM shelfops.sales WHERE dataset_id = 'weekly' AND sale_date = current_date - 5;
ALTER TABLE shelfops.sales ENABLE TRIGGER sales_extent_delete;
-- gap share over the threshold: limited
SELECT * FROM pg_temp.failing('weekly', '{"max_calendar_gap_share": 0.1}');
SELECT * FROM pg_temp.stored('weekly');
-- daily: one of two series misses 80 of 200 days: 0.2 overall passes (<=) ...
SELECT pg_temp.ds('gappy');
SELECT pg_temp.rows('gappy', 2, 1, 200);
DELETE FROM shelfops.sales WHERE dataset_id = 'gappy' AND store_id = 's2'
   AND sale_date BETWEEN current_date - 100 AND current_date - 21;
SELECT check_name, observed, threshold, passed, detail FROM pg_temp.show('gappy')
 WHERE check_name IN ('calendar_gap_share', 'max_series_gap_share');
SELECT * FROM pg_temp.stored('gappy');
-- ... 100 of 200 days (0.25 overall) is limited
DELETE FROM shelfops.sales WHERE dataset_id = 'gappy' AND store_id = 's2'
   AND sale_date BETWEEN current_date - 120 AND current_date - 101;
SELECT * FROM pg_temp.failing('gappy');
SELECT * FROM pg_temp.stored('gappy');

-- short series: 1 of 5 series under 56 days (0.2) is tolerated, 1 of 4 is not
SELECT pg_temp.ds('oneshort');
SELECT pg_temp.rows('oneshort', 1, 5, 100);
DELETE FROM shelfops.sales WHERE dataset_id = 'oneshort' AND product_id = 'p1'
   AND sale_date < current_date - 30;
SELECT check_name, observed, threshold, passed, detail FROM pg_temp.show('oneshort')
 WHERE check_name IN ('min_series_history', 'short_series_share');
SELECT * FROM pg_temp.stored('oneshort');
DELETE FROM shelfops.sales WHERE dataset_id = 'oneshort' AND product_id = 'p5';
SELECT * FROM pg_temp.failing('oneshort');
SELECT * FROM pg_temp.stored('oneshort');

-- 8. negative quantities: 5 % of a units target is limited.
SELECT pg_temp.ds('negunits');
SELECT pg_temp.rows('negunits', 1, 1, 100);
UPDATE shelfops.sales SET quantity = -1 WHERE dataset_id = 'negunits' AND sale_date > current_date - 6;
SELECT * FROM pg_temp.failing('negunits');
SELECT * FROM pg_temp.stored('negunits');

-- 9. degenerate series: of 4, two are all zero and one constant at 3.
SELECT pg_temp.ds('zeros');
SELECT pg_temp.rows('zeros', 1, 4, 100);
UPDATE shelfops.sales SET quantity = 0 WHERE dataset_id = 'zeros' AND product_id IN ('p1', 'p2');
UPDATE shelfops.sales SET quantity = 3 WHERE dataset_id = 'zeros' AND product_id = 'p3';
SELECT check_name, observed, threshold, passed, detail FROM pg_temp.show('zeros')
 WHERE check_name IN ('constant_series_share', 'all_zero_series_share');
SELECT * FROM pg_temp.stored('zeros');
-- a third all-zero series fails all_zero_series_share too
UPDATE shelfops.sales SET quantity = 0 WHERE dataset_id = 'zeros' AND product_id = 'p3';
SELECT * FROM pg_temp.failing('zeros');

-- 10. store-level dataset (Rossmann-like: product_id 'all', money): the product
-- minimum of tenant readiness does not apply.
SELECT pg_temp.ds('storelevel', 'daily', 'currency');
INSERT INTO shelfops.sales (tenant_id, dataset_id, store_id, product_id, sale_date, quantity)
SELECT 'public', 'storelevel', 's' || st, 'all', current_date - i, (i % 9) * 100
  FROM generate_series(1, 3) st, generate_series(1, 100) i;
SELECT check_name, observed, threshold, passed, detail FROM pg_temp.show('storelevel')
 WHERE check_name IN ('product_count', 'store_count', 'series_count');
SELECT * FROM pg_temp.stored('storelevel');
-- a product-level dataset with fewer than 25 products says so, informationally
SELECT detail FROM pg_temp.show('good') WHERE check_name = 'product_count';

-- 11. bad thresholds (and a failed call stores nothing)
SELECT validated_at AS good_validated_at FROM shelfops.datasets WHERE dataset_id = 'good' \gset
SELECT * FROM shelfops_validate_dataset('good', NULL, '{"min_history": 10}');
SELECT * FROM shelfops_validate_dataset('good', NULL, '{"min_history_days": "90"}');
SELECT * FROM shelfops_validate_dataset('good', NULL, '{"max_duplicate_rate": null}');
SELECT * FROM shelfops_validate_dataset('good', NULL, '{"max_future_days": -1}');
SELECT * FROM shelfops_validate_dataset('good', NULL, '[1, 2]');
SELECT * FROM shelfops_validate_dataset('good', NULL, '5');
SELECT validated_at = :'good_validated_at' AS unchanged FROM shelfops.datasets WHERE dataset_id = 'good';

-- 12. unknown dataset, bad identifiers
SELECT * FROM shelfops_validate_dataset('no_such_dataset');
SELECT * FROM shelfops_validate_dataset('good', 'other_tenant');
SELECT * FROM shelfops_validate_dataset(NULL);
SELECT * FROM shelfops_validate_dataset('bad id');

-- 13. tenant isolation, as non-superuser roles under row-level security
CREATE ROLE regress_validate_a;
CREATE ROLE regress_validate_b;
CREATE ROLE regress_validate_app;
GRANT shelfops_analyst TO regress_validate_a, regress_validate_b;
GRANT shelfops_app TO regress_validate_app;
INSERT INTO shelfops.datasets (tenant_id, dataset_id, family, frequency, grain)
VALUES ('val_a', 'secret', 'generic', 'daily', 'x');
INSERT INTO shelfops.sales (tenant_id, dataset_id, store_id, product_id, sale_date, quantity)
SELECT 'val_a', 'secret', 's1', 'p1', current_date - i, i % 4 FROM generate_series(1, 100) i;
SET ROLE regress_validate_b;
SET shelfops.tenant_id = 'val_b';
-- tenant B cannot see A's dataset, nor act for A
SELECT * FROM shelfops_validate_dataset('secret');
SELECT * FROM shelfops_validate_dataset('secret', 'val_a');
RESET ROLE;
-- the app role may not run it at all
SET ROLE regress_validate_app;
SET shelfops.tenant_id = 'val_a';
SELECT * FROM shelfops_validate_dataset('secret');
RESET ROLE;
SELECT readiness, validation IS NULL AS never_validated FROM shelfops.datasets WHERE dataset_id = 'secret';
-- tenant A's analyst validates its own dataset
SET ROLE regress_validate_a;
SET shelfops.tenant_id = 'val_a';
SELECT check_name, round(observed::numeric, 4) AS observed, passed
  FROM shelfops_validate_dataset('secret') WHERE check_name IN ('series_count', 'history_days');
SELECT readiness, readiness_reason FROM shelfops.datasets WHERE dataset_id = 'secret';
RESET ROLE;
RESET shelfops.tenant_id;

-- every state, as stored
SELECT dataset_id, readiness FROM shelfops.datasets WHERE tenant_id = 'public' ORDER BY dataset_id;

DELETE FROM shelfops.datasets WHERE tenant_id IN ('public', 'val_a');
DROP ROLE regress_validate_a;
DROP ROLE regress_validate_b;
DROP ROLE regress_validate_app;
