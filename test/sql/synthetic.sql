-- shelfops_generate_synthetic: exact rows and checksum of a small configuration,
-- replacement without doubled rows, the dataset row, visible properties of the
-- demand model, determinism across configurations, every argument error,
-- privileges, and the US retail holiday calendar (reference §2.6).
\set VERBOSITY terse
SET datestyle = ISO;

-- The checksum recomputed in SQL from the stored rows: FNV-1a 64 over the
-- canonical lines of docs/synthetic.md, on 32-bit halves (h * (2^40 + 435)).
CREATE FUNCTION pg_temp.fnv1a64(p_tenant text, p_dataset text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    hi bigint := 3421674724;   -- 0xcbf29ce4
    lo bigint := 2216829733;   -- 0x84222325
    nlo bigint;
    line bytea;
    r record;
BEGIN
    FOR r IN
        SELECT format(E'%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\n',
                      store_id, product_id, to_char(sale_date, 'YYYY-MM-DD'), quantity::bigint,
                      category, promo_count::bigint,
                      CASE WHEN is_promotional THEN 't' ELSE 'f' END,
                      CASE WHEN is_holiday THEN 't' ELSE 'f' END, coalesce(holiday_type, ''),
                      CASE WHEN is_open THEN 't' ELSE 'f' END,
                      to_char(unit_cost, 'FM999990.00'), to_char(unit_price, 'FM999990.00')) AS l
          FROM shelfops.sales
         WHERE tenant_id = p_tenant AND dataset_id = p_dataset
         ORDER BY store_id, product_id, sale_date
    LOOP
        line := convert_to(r.l, 'UTF8');
        FOR i IN 0 .. length(line) - 1 LOOP
            lo := lo # get_byte(line, i);
            nlo := lo * 435;
            hi := (hi * 435 + (lo << 8) + (nlo >> 32)) & 4294967295;
            lo := nlo & 4294967295;
        END LOOP;
    END LOOP;
    RETURN lpad(to_hex(hi), 8, '0') || lpad(to_hex(lo), 8, '0');
END
$$;

-- 3 stores x 4 products x 60 days from 2024-11-01 (Thanksgiving to Christmas)
SELECT shelfops_generate_synthetic('synth_small', 3, 4, 60, 42, '2024-11-01') - 'seconds' AS generated;
SELECT load_report->>'checksum' AS first_checksum FROM shelfops.datasets
 WHERE tenant_id = 'public' AND dataset_id = 'synth_small' \gset
-- the checksum is the stored rows' checksum
SELECT pg_temp.fnv1a64('public', 'synth_small') = :'first_checksum' AS checksum_matches_rows;

-- generating again replaces the dataset: same checksum, no doubled rows
SELECT (shelfops_generate_synthetic('synth_small', 3, 4, 60, 42, '2024-11-01'))->>'checksum' = :'first_checksum'
       AS same_checksum;
SELECT count(*) AS sales_rows FROM shelfops.sales WHERE dataset_id = 'synth_small';
SELECT count(*) AS dataset_rows FROM shelfops.datasets WHERE dataset_id = 'synth_small';
-- ... also when the replacement is rolled back
BEGIN;
SELECT (shelfops_generate_synthetic('synth_small', 1, 1, 28, 7))->>'rows' AS rows_in_aborted_replacement;
ROLLBACK;
SELECT count(*) AS sales_rows_after_rollback FROM shelfops.sales WHERE dataset_id = 'synth_small';

-- the dataset row
SELECT family, frequency, country_code, grain, target_unit, source_path, source_files,
       row_count, store_count, product_count, series_count, date_min, date_max, readiness,
       load_report - 'seconds' AS load_report
  FROM shelfops.datasets WHERE dataset_id = 'synth_small';
SELECT jsonb_typeof(load_report->'seconds') AS seconds_type FROM shelfops.datasets WHERE dataset_id = 'synth_small';

-- every series has exactly 60 rows, one per day, no gaps
SELECT count(*) AS series, min(n) AS min_rows, max(n) AS max_rows,
       bool_and(n = days AND days = span) AS one_row_per_day
  FROM (SELECT store_id, product_id, count(*) AS n, count(DISTINCT sale_date) AS days,
               max(sale_date) - min(sale_date) + 1 AS span
          FROM shelfops.sales WHERE dataset_id = 'synth_small' GROUP BY 1, 2) s;
SELECT string_agg(DISTINCT store_id, ',' ORDER BY store_id) AS stores,
       string_agg(DISTINCT product_id, ',' ORDER BY product_id) AS products
  FROM shelfops.sales WHERE dataset_id = 'synth_small';

-- quantities are non-negative whole units; some days sell nothing
SELECT bool_and(quantity >= 0 AND quantity = trunc(quantity)) AS whole_units,
       count(*) FILTER (WHERE quantity = 0) > 0 AS has_zero_days,
       sum(quantity) > 0 AS has_sales,
       bool_and(is_open) AS all_open,
       bool_and(category IS NOT NULL) AS all_categorised
  FROM shelfops.sales WHERE dataset_id = 'synth_small';
-- promotions: flagged consistently, and present
SELECT count(*) FILTER (WHERE is_promotional) > 0 AS has_promotions,
       bool_and((promo_count > 0) = is_promotional) AS promo_count_matches_flag,
       bool_and(promo_count IN (0, 1)) AS promo_count_0_or_1
  FROM shelfops.sales WHERE dataset_id = 'synth_small';
-- holidays of the window, flagged on every row of the day and only on those days
SELECT sale_date, holiday_type, count(*) AS rows_flagged
  FROM shelfops.sales WHERE dataset_id = 'synth_small' AND is_holiday
 GROUP BY 1, 2 ORDER BY 1;
SELECT count(*) AS unflagged_holiday_types
  FROM shelfops.sales WHERE dataset_id = 'synth_small' AND NOT is_holiday AND holiday_type IS NOT NULL;
-- one cost and one price per product, in cents, cost below price
SELECT count(DISTINCT product_id) = count(DISTINCT (product_id, unit_cost, unit_price)) AS one_price_per_product,
       bool_and(unit_cost < unit_price) AS cost_below_price,
       bool_and(unit_cost BETWEEN 0.5 AND 40 AND round(unit_cost::numeric, 2) = unit_cost::numeric
                AND round(unit_price::numeric, 2) = unit_price::numeric) AS cents
  FROM shelfops.sales WHERE dataset_id = 'synth_small';

-- determinism: a series does not depend on how many stores, products or days are
-- generated with it, and another seed gives other rows
SELECT (shelfops_generate_synthetic('synth_part', 2, 3, 30, 42, '2024-11-01'))->>'rows' AS part_rows;
SELECT count(*) AS part_rows_differing
  FROM (SELECT store_id, product_id, sale_date, quantity, category, promo_count, is_holiday, unit_cost, unit_price
          FROM shelfops.sales WHERE dataset_id = 'synth_part'
        EXCEPT
        SELECT store_id, product_id, sale_date, quantity, category, promo_count, is_holiday, unit_cost, unit_price
          FROM shelfops.sales WHERE dataset_id = 'synth_small') d;
SELECT (shelfops_generate_synthetic('synth_other', 3, 4, 60, 43, '2024-11-01'))->>'checksum' <> :'first_checksum'
       AS other_seed_other_checksum;

-- tenants: an explicit tenant_id, and NULL meaning the session's tenant
SELECT shelfops_generate_synthetic('synth_small', 1, 2, 28, 1, tenant_id => 'acme') ->> 'tenant_id' AS explicit_tenant;
SET shelfops.tenant_id = 'acme';
SELECT shelfops_generate_synthetic('synth_mine', 1, 1, 28, 1) ->> 'tenant_id' AS session_tenant;
RESET shelfops.tenant_id;
SELECT tenant_id, dataset_id, row_count FROM shelfops.datasets
 WHERE dataset_id LIKE 'synth%' ORDER BY 1, 2;

-- bad arguments
SELECT shelfops_generate_synthetic('x', 0, 4, 60, 1);
SELECT shelfops_generate_synthetic('x', 10001, 4, 60, 1);
SELECT shelfops_generate_synthetic('x', 3, 0, 60, 1);
SELECT shelfops_generate_synthetic('x', 3, 100001, 60, 1);
SELECT shelfops_generate_synthetic('x', 3, 4, 27, 1);
SELECT shelfops_generate_synthetic('x', 3, 4, 3661, 1);
SELECT shelfops_generate_synthetic('x', 1000, 1000, 51, 1);
SELECT shelfops_generate_synthetic('bad id', 3, 4, 60, 1);
SELECT shelfops_generate_synthetic('-x', 3, 4, 60, 1);
SELECT shelfops_generate_synthetic('', 3, 4, 60, 1);
SELECT shelfops_generate_synthetic(repeat('a', 129), 3, 4, 60, 1);
SELECT shelfops_generate_synthetic('x', 3, 4, 60, 1, tenant_id => 'no tenant');
SELECT shelfops_generate_synthetic('x', 3, 4, 60, 1, 'infinity');
SELECT shelfops_generate_synthetic('x', 3, 4, 60, 1, '1899-12-31');
SELECT shelfops_generate_synthetic(NULL, 3, 4, 60, 1);
SELECT shelfops_generate_synthetic('x', 3, 4, 60, NULL);
SELECT shelfops_generate_synthetic('x', 3, 4, 60, 1, NULL);
SELECT count(*) AS datasets_named_x FROM shelfops.datasets WHERE dataset_id = 'x';

-- privileges: analysts generate for their own tenant only; the app role cannot
CREATE ROLE regress_synth_analyst;
CREATE ROLE regress_synth_app;
GRANT shelfops_analyst TO regress_synth_analyst;
GRANT shelfops_app TO regress_synth_app;
SET ROLE regress_synth_analyst;
SET shelfops.tenant_id = 'tenant_s';
SELECT shelfops_generate_synthetic('synth_rls', 2, 2, 28, 5) - 'seconds' - 'checksum' AS analyst_generated;
SELECT count(*) AS visible_rows FROM shelfops.sales;
SELECT shelfops_generate_synthetic('synth_rls', 2, 2, 28, 5, tenant_id => 'acme');
RESET shelfops.tenant_id;
RESET ROLE;
SET ROLE regress_synth_app;
SELECT shelfops_generate_synthetic('synth_app', 1, 1, 28, 1);
RESET ROLE;

-- The US retail calendar over 2024-01-01 .. 2025-12-20 (one series, 720 days).
SELECT (shelfops_generate_synthetic('synth_calendar', 1, 1, 720, 3))->>'date_max' AS calendar_end;
SELECT sale_date, to_char(sale_date, 'Dy') AS dow, holiday_type
  FROM shelfops.sales WHERE dataset_id = 'synth_calendar' AND is_holiday AND sale_date < '2025-01-01'
 ORDER BY 1;
SELECT d::date AS day, s.holiday_type
  FROM unnest(ARRAY['2024-03-31', '2024-03-30', '2024-05-12', '2024-05-27', '2024-11-28', '2024-11-29',
                    '2024-12-02', '2025-02-02', '2025-04-20', '2025-05-26', '2025-11-27', '2025-11-28',
                    '2025-12-01']) AS d
  LEFT JOIN shelfops.sales s ON s.dataset_id = 'synth_calendar' AND s.sale_date = d::date
 ORDER BY 1;
SELECT count(*) AS holidays_2025_to_dec_20
  FROM shelfops.sales WHERE dataset_id = 'synth_calendar' AND is_holiday AND sale_date >= '2025-01-01';

DELETE FROM shelfops.datasets WHERE dataset_id LIKE 'synth%';
SELECT count(*) AS sales_left FROM shelfops.sales WHERE dataset_id LIKE 'synth%';
DROP ROLE regress_synth_analyst, regress_synth_app;
