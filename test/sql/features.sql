-- Series and features (src/series.c, src/features.c): the dense calendar, horizon
-- safety (no feature of target t reads y after t - H), series isolation, windows
-- counting periods, weekly data, codes and statistics fixed at training, the spec's
-- jsonb round trip, the memory limit and the errors.
\set VERBOSITY terse
SET client_min_messages = warning;
SET DateStyle = ISO;

-- A daily dataset: three series over 120 days.  s1/p1 misses every day with
-- day-of-year % 5 = 3; s2 is closed on Sundays; promotions, the dataset's own
-- holidays (type 'a' or 'b'); s3/p9 (category zz) only starts in the last ten days.
INSERT INTO shelfops.datasets (dataset_id, family, frequency, grain, date_min, date_max)
VALUES ('f_daily', 'synthetic', 'daily', 'store x product x day', '2024-01-01', '2024-04-29');
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity, category,
                            promo_count, is_promotional, is_holiday, holiday_type, is_open)
SELECT 'f_daily', sp.s, sp.p, d,
       CASE WHEN sp.s = 's2' AND extract(isodow FROM d) = 7 THEN 0
            ELSE ((extract(doy FROM d)::int * 7 + length(sp.s || sp.p) * 3) % 17) + sp.base END,
       sp.cat,
       (extract(doy FROM d)::int % 9 < 2)::int,
       extract(doy FROM d)::int % 9 < 2,
       extract(doy FROM d)::int IN (32, 60, 91),
       CASE WHEN extract(doy FROM d)::int IN (32, 91) THEN 'a'
            WHEN extract(doy FROM d)::int = 60 THEN 'b' END,
       NOT (sp.s = 's2' AND extract(isodow FROM d) = 7)
  FROM (VALUES ('s1', 'p1', 'a', 10), ('s1', 'p2', 'b', 20), ('s2', 'p1', 'a', 30)) sp(s, p, cat, base),
       generate_series('2024-01-01'::date, '2024-04-29', '1 day') d
 WHERE NOT (sp.s = 's1' AND sp.p = 'p1' AND extract(doy FROM d)::int % 5 = 3);
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity, category)
SELECT 'f_daily', 's3', 'p9', d, 5, 'zz'
  FROM generate_series('2024-04-20'::date, '2024-04-29', '1 day') d;

-- The calendar: 120 periods per series; missing periods are counted, never zero.
SELECT s->>'frequency' AS frequency, s->'nseries' AS nseries, s->'nperiods' AS nperiods,
       s->'nrows' AS nrows, s->'missing_periods' AS missing, s->'missing_inside_series' AS inside,
       s->'covariates' AS covariates, s->'holiday_types' AS holiday_types,
       s->>'fingerprint' ~ '^crc32c:[0-9a-f]{8}$' AS fingerprint_ok
  FROM shelfops._series_summary('f_daily') s;
-- the same data gives the same fingerprint
SELECT (shelfops._series_summary('f_daily'))->'fingerprint' = (shelfops._series_summary('f_daily'))->'fingerprint' AS stable;
SELECT period, period_date, y, covariates FROM shelfops._series_periods('f_daily', 's1', 'p1')
 WHERE period_date BETWEEN '2024-01-01' AND '2024-01-04';

-- The feature list (daily, horizon 14).
SELECT unnest(shelfops._feature_names('f_daily', 14)) AS feature;

-- Same-weekday lags and the yearly lag sit at the smallest multiple not shorter than H.
SELECT f->>'name' AS name, f->'arg' AS offset
  FROM jsonb_array_elements(shelfops._feature_spec('f_daily', 10)->'features') f
 WHERE f->>'kind' IN ('lag', 'same_weekday_mean');

-- A stored spec for the tests below (trained up to 2024-03-01, horizon 7).
CREATE TEMP TABLE spec AS SELECT shelfops._feature_spec('f_daily', 7, '2024-03-01') AS j;

-- Leakage, systematically: for every target t in March and April and horizons 1, 7
-- and 14, add 1000 to every y after t - H (all series), recompute with the same
-- spec, and count features of t that changed.  Also check that the perturbation is
-- seen by a target one period later (the test would be empty otherwise).
CREATE FUNCTION pg_temp.leaks(h int) RETURNS TABLE(targets int, changed int, later_changed int)
LANGUAGE plpgsql AS $$
DECLARE
    s jsonb := shelfops._feature_spec('f_daily', h, '2024-03-01');
    t date;
    before jsonb;
    after jsonb;
    nxt_before jsonb;
    nxt_after jsonb;
BEGIN
    targets := 0; changed := 0; later_changed := 0;
    FOR t IN SELECT generate_series('2024-03-02'::date, '2024-04-25', '1 day')::date LOOP
        SELECT features INTO before FROM shelfops._feature_rows_spec(s, 'f_daily', 's1', 'p2', t, t);
        SELECT features INTO nxt_before FROM shelfops._feature_rows_spec(s, 'f_daily', 's1', 'p2', t + 1, t + 1);
        UPDATE shelfops.sales SET quantity = quantity + 1000
         WHERE dataset_id = 'f_daily' AND sale_date > t - h;
        SELECT features INTO after FROM shelfops._feature_rows_spec(s, 'f_daily', 's1', 'p2', t, t);
        SELECT features INTO nxt_after FROM shelfops._feature_rows_spec(s, 'f_daily', 's1', 'p2', t + 1, t + 1);
        UPDATE shelfops.sales SET quantity = quantity - 1000
         WHERE dataset_id = 'f_daily' AND sale_date > t - h;
        targets := targets + 1;
        IF before IS DISTINCT FROM after THEN changed := changed + 1; END IF;
        IF nxt_before IS DISTINCT FROM nxt_after THEN later_changed := later_changed + 1; END IF;
    END LOOP;
    RETURN NEXT;
END $$;
SELECT 1 AS horizon, * FROM pg_temp.leaks(1)
UNION ALL SELECT 7, * FROM pg_temp.leaks(7)
UNION ALL SELECT 14, * FROM pg_temp.leaks(14);

-- Series never bleed into each other: change every y of s2/p1 and s1/p2 (all
-- dates); the features of s1/p1 under the stored spec stay the same.
CREATE TEMP TABLE f_before AS
SELECT target_date, features FROM shelfops._feature_rows_spec((SELECT j FROM spec), 'f_daily', 's1', 'p1', '2024-01-01', '2024-04-29');
UPDATE shelfops.sales SET quantity = quantity * 3 + 100
 WHERE dataset_id = 'f_daily' AND (store_id, product_id) IN (('s2', 'p1'), ('s1', 'p2'));
SELECT count(*) AS rows_compared,
       count(*) FILTER (WHERE b.features IS DISTINCT FROM a.features) AS rows_changed
  FROM f_before b
  JOIN shelfops._feature_rows_spec((SELECT j FROM spec), 'f_daily', 's1', 'p1', '2024-01-01', '2024-04-29') a
 USING (target_date);
UPDATE shelfops.sales SET quantity = (quantity - 100) / 3
 WHERE dataset_id = 'f_daily' AND (store_id, product_id) IN (('s2', 'p1'), ('s1', 'p2'));

-- Windows count calendar periods, not rows: every rolling statistic of s1/p1 (which
-- misses one day in five) and s2/p1 (closed Sundays are not observations) equals
-- the SQL aggregate over the calendar window t-H-w+1 .. t-H of open rows.
CREATE FUNCTION pg_temp.window_mismatches(st text, pr text, h int)
RETURNS TABLE(targets bigint, mismatches bigint, min_count_91 float8)
LANGUAGE sql AS $$
    WITH f AS (
        SELECT target_date AS t, features AS f
          FROM shelfops._feature_rows('f_daily', h, st, pr, '2024-01-01', '2024-04-29')
    ), w AS (
        SELECT f.t, f.f, win,
               (SELECT ROW(avg(quantity), stddev_samp(quantity), min(quantity), max(quantity), count(*))::text
                  FROM shelfops.sales s
                 WHERE s.dataset_id = 'f_daily' AND s.store_id = st AND s.product_id = pr
                   AND s.is_open IS DISTINCT FROM false
                   AND s.sale_date BETWEEN f.t - h - win + 1 AND f.t - h) AS agg
          FROM f, unnest(ARRAY[7, 28, 91]) win
    ), c AS (
        SELECT t, f, win, (regexp_split_to_array(trim(both '()' FROM agg), ',')) AS a FROM w
    )
    SELECT count(DISTINCT t),
           count(*) FILTER (WHERE
               abs(coalesce((f->>('roll_mean_' || win))::float8, -1) - coalesce(nullif(a[1], '')::float8, -1)) > 1e-4 * (1 + abs(coalesce(nullif(a[1], '')::float8, 0)))
            OR abs(coalesce((f->>('roll_std_' || win))::float8, -1) - coalesce(nullif(a[2], '')::float8, -1)) > 1e-4 * (1 + abs(coalesce(nullif(a[2], '')::float8, 0)))
            OR coalesce((f->>('roll_min_' || win))::float8, -1) <> coalesce(nullif(a[3], '')::float8, -1)
            OR coalesce((f->>('roll_max_' || win))::float8, -1) <> coalesce(nullif(a[4], '')::float8, -1)
            OR (win = 91 AND (f->>'roll_count_91')::float8 <> a[5]::float8)),
           min((f->>'roll_count_91')::float8) FILTER (WHERE t >= '2024-04-20')
      FROM c
$$;
SELECT 's1/p1' AS series, 7 AS horizon, * FROM pg_temp.window_mismatches('s1', 'p1', 7)
UNION ALL SELECT 's1/p1', 1, * FROM pg_temp.window_mismatches('s1', 'p1', 1)
UNION ALL SELECT 's2/p1', 14, * FROM pg_temp.window_mismatches('s2', 'p1', 14);
-- One target by hand: 2024-04-10 with H = 7 reads 2024-03-28 .. 2024-04-03 for roll_*_7;
-- s1/p1 has no row on 2024-03-28 (doy 88) nor 2024-04-02 (doy 93).
SELECT features->'roll_mean_7' AS roll_mean_7, features->'roll_count_91' AS roll_count_91,
       features->'lag_horizon' AS lag_horizon, features->'lag_same_weekday_2' AS lag_same_weekday_2
  FROM shelfops._feature_rows('f_daily', 7, 's1', 'p1', '2024-04-10', '2024-04-10');
SELECT avg(quantity) AS sql_mean_7, count(*) AS rows_in_7_days
  FROM shelfops.sales WHERE dataset_id = 'f_daily' AND store_id = 's1' AND product_id = 'p1'
   AND sale_date BETWEEN '2024-03-28' AND '2024-04-03';
-- Lags read exactly y[t - offset] (NULL when that period is missing or closed).
SELECT count(*) AS targets,
       count(*) FILTER (WHERE (r.features->>'lag_horizon')::float8 IS DISTINCT FROM l0.quantity
                           OR (r.features->>'lag_same_weekday_3')::float8 IS DISTINCT FROM l3.quantity) AS mismatches
  FROM shelfops._feature_rows('f_daily', 10, 's2', 'p1', '2024-02-01', '2024-04-29') r
  LEFT JOIN shelfops.sales l0 ON l0.dataset_id = 'f_daily' AND l0.store_id = 's2' AND l0.product_id = 'p1'
        AND l0.sale_date = r.target_date - 10 AND l0.is_open
  LEFT JOIN shelfops.sales l3 ON l3.dataset_id = 'f_daily' AND l3.store_id = 's2' AND l3.product_id = 'p1'
        AND l3.sale_date = r.target_date - 28 AND l3.is_open;

-- Covariates of the target period itself, its neighbours' promotions and the
-- dataset's own holidays (no imposed calendar): 2024-02-29 is doy 60, type 'b'.
SELECT target_date, features->'promo_count' AS promo, features->'promo_prev' AS prev,
       features->'promo_next' AS next, features->'is_holiday' AS holiday,
       features->'holiday_type' AS htype, features->'holiday_prev' AS hprev,
       features->'holiday_next' AS hnext, features->'is_open' AS open
  FROM shelfops._feature_rows('f_daily', 7, 's1', 'p2', '2024-02-27', '2024-03-02');
-- Calendar of a few dates.
SELECT target_date, features->'day_of_week' AS dow, features->'day_of_month' AS dom,
       features->'day_of_year' AS doy, features->'week_of_year' AS woy, features->'month' AS month,
       features->'is_month_start' AS mstart, features->'is_month_end' AS mend,
       features->'is_weekend' AS weekend, features->'days_to_month_end' AS to_end
  FROM shelfops._feature_rows('f_daily', 7, 's1', 'p2', '2024-01-01', '2024-04-29')
 WHERE target_date IN ('2024-01-01', '2024-02-29', '2024-03-01', '2024-03-31', '2024-04-07');

-- Codes and statistics fixed at training.  Trained up to 2024-03-01: s3/p9 and
-- its category zz did not exist, so it gets the unknown codes and no statistics.
SELECT j->'categories' AS categories, j->'stores'->'id' AS stores, j->'holiday_types' AS holiday_types,
       j->'series'->'n' AS nseries, j->>'train_end' AS train_end
  FROM spec;
SELECT features->'category_code' AS category, features->'store_code' AS store,
       features->'series_mean_train' AS series_mean, features->'store_mean_train' AS store_mean
  FROM shelfops._feature_rows_spec((SELECT j FROM spec), 'f_daily', 's3', 'p9', '2024-04-25', '2024-04-25');
-- Trained on everything, zz has a code.
SELECT features->'category_code' AS category, features->'store_code' AS store
  FROM shelfops._feature_rows('f_daily', 7, 's3', 'p9', '2024-04-25', '2024-04-25');
-- The training-window means are those of the window only ...
SELECT round((features->>'series_mean_train')::numeric, 4) AS series_mean,
       (SELECT round(avg(quantity)::numeric, 4) FROM shelfops.sales
         WHERE dataset_id = 'f_daily' AND store_id = 's1' AND product_id = 'p2' AND sale_date <= '2024-03-01') AS sql_mean,
       round((features->>'store_mean_train')::numeric, 4) AS store_mean,
       (SELECT round(avg(quantity)::numeric, 4) FROM shelfops.sales
         WHERE dataset_id = 'f_daily' AND store_id = 's1' AND sale_date <= '2024-03-01') AS sql_store_mean,
       round((features->>'product_mean_train')::numeric, 4) AS product_mean,
       (SELECT round(avg(quantity)::numeric, 4) FROM shelfops.sales
         WHERE dataset_id = 'f_daily' AND product_id = 'p2' AND sale_date <= '2024-03-01') AS sql_product_mean
  FROM shelfops._feature_rows_spec((SELECT j FROM spec), 'f_daily', 's1', 'p2', '2024-04-01', '2024-04-01');
-- ... so changing data after train_end changes nothing in a rebuilt spec but the fingerprint.
UPDATE shelfops.sales SET quantity = quantity + 500, category = 'late'
 WHERE dataset_id = 'f_daily' AND sale_date > '2024-03-01';
SELECT (shelfops._feature_spec('f_daily', 7, '2024-03-01') - 'data_fingerprint') = (j - 'data_fingerprint') AS same_spec,
       shelfops._feature_spec('f_daily', 7, '2024-03-01')->'data_fingerprint' <> j->'data_fingerprint' AS new_fingerprint
  FROM spec;
UPDATE shelfops.sales SET quantity = quantity - 500,
       category = CASE product_id WHEN 'p1' THEN 'a' WHEN 'p2' THEN 'b' ELSE 'zz' END
 WHERE dataset_id = 'f_daily' AND sale_date > '2024-03-01';

-- The spec round-trips exactly through jsonb, and encodes as before.
SELECT shelfops._feature_spec_roundtrip(j) = j AS roundtrip FROM spec;
SELECT count(*) AS rows, count(*) FILTER (WHERE a.features IS DISTINCT FROM b.features) AS differ
  FROM shelfops._feature_rows_spec((SELECT shelfops._feature_spec_roundtrip(j) FROM spec), 'f_daily', 's1', 'p1', '2024-03-01', '2024-04-29') a
  JOIN shelfops._feature_rows_spec((SELECT j FROM spec), 'f_daily', 's1', 'p1', '2024-03-01', '2024-04-29') b USING (target_date);
-- A tampered spec is refused: a lag shorter than the horizon would leak.
SELECT shelfops._feature_spec_roundtrip(jsonb_set(j, '{features,9,arg}', '3')) FROM spec;
SELECT shelfops._feature_spec_roundtrip(j - 'stores') FROM spec;
SELECT shelfops._feature_spec_roundtrip(jsonb_set(j, '{format}', '2')) FROM spec;

-- The forecasting path: targets after the data get periods with unknown y; a
-- horizon-7 spec still has lag_horizon for the first 7 of them only.
SELECT target_date, y, features->'lag_horizon' AS lag_horizon, features->'day_of_week' AS dow
  FROM shelfops._feature_rows_spec((SELECT j FROM spec), 'f_daily', 's1', 'p2', '2024-04-28', '2024-05-08');

-- The matrix: observed rows, closed days left out (s2 Sundays), series then period
-- order, and every row equal to features_row.
SELECT store_id, product_id, count(*) AS rows, min(target_date), max(target_date)
  FROM shelfops._feature_matrix('f_daily', 7, '2024-01-01', '2024-04-29', '2024-03-01')
 GROUP BY 1, 2 ORDER BY 1, 2;
WITH names AS (
    SELECT n, i FROM unnest(shelfops._feature_names('f_daily', 7)) WITH ORDINALITY AS u(n, i)
), m AS (
    SELECT target_date, features FROM shelfops._feature_matrix('f_daily', 7, '2024-01-01', '2024-04-29')
     WHERE store_id = 's2' AND product_id = 'p1'
), r AS (
    SELECT target_date, (SELECT array_agg((features->>n)::real ORDER BY i) FROM names) AS features
      FROM shelfops._feature_rows('f_daily', 7, 's2', 'p1', '2024-01-01', '2024-04-29')
)
SELECT count(*) AS matrix_rows, count(*) FILTER (WHERE m.features IS DISTINCT FROM r.features) AS differ
  FROM m JOIN r USING (target_date);
-- include_unknown adds the periods without a row (s1/p1's missing days), never closed ones.
SELECT count(*) FILTER (WHERE y IS NULL) AS unknown_rows, count(*) AS rows
  FROM shelfops._feature_matrix('f_daily', 7, '2024-01-01', '2024-04-29', NULL, true);

-- Weekly data: periods are weeks anchored on date_min; lags and windows count weeks.
INSERT INTO shelfops.datasets (dataset_id, family, frequency, grain, date_min, date_max)
VALUES ('f_weekly', 'synthetic', 'weekly', 'store x product x week', '2022-01-07', '2023-12-29');
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity, is_holiday)
SELECT 'f_weekly', 'w1', 'q1', d, extract(week FROM d)::int * 10, extract(week FROM d)::int = 47
  FROM generate_series('2022-01-07'::date, '2023-12-29', '7 days') d
 WHERE d <> '2023-06-02';
SELECT s->'nperiods' AS nperiods, s->'nrows' AS nrows, s->'missing_periods' AS missing
  FROM shelfops._series_summary('f_weekly') s;
SELECT unnest(shelfops._feature_names('f_weekly', 3)) AS feature;
SELECT target_date, y, features->'lag_horizon' AS lag_horizon, features->'lag_year' AS lag_year,
       features->'roll_count_52' AS count_52, features->'roll_mean_4' AS mean_4,
       features->'is_month_start' AS mstart, features->'is_month_end' AS mend,
       features->'is_holiday' AS holiday
  FROM shelfops._feature_rows('f_weekly', 3, 'w1', 'q1', '2023-06-16', '2023-07-07');
-- the year-ago neighbours and year-over-year level change (weekly only); the row of
-- 2023-06-02 is missing, so the 4-week window ending there has 3 values
SELECT target_date, features->'lag_year' AS lag_year, features->'lag_year_next' AS next,
       features->'lag_year_prev' AS prev, features->'yoy_diff_4' AS yoy_4,
       features->'yoy_diff_13' AS yoy_13
  FROM shelfops._feature_rows('f_weekly', 3, 'w1', 'q1', '2023-06-16', '2023-06-30');
-- weekly specs learn y - lag_year
SELECT shelfops._feature_spec('f_weekly', 13)->>'target_base' AS target_base;
SELECT shelfops._feature_spec_roundtrip(shelfops._feature_spec('f_weekly', 13))
       = shelfops._feature_spec('f_weekly', 13) AS weekly_roundtrip;
-- the base: lag_year smoothed with its neighbours, plus half of yoy_diff_13, and
-- lag_horizon where lag_year is unknown; residual_weight 1 (omitted) until training fits it
SELECT j->'target_base_smooth' AS smooth, j->>'target_base_drift' AS drift,
       j->'target_base_drift_weight' AS drift_weight, j->>'target_base_fallback' AS fallback,
       j ? 'residual_weight' AS has_residual_weight
  FROM shelfops._feature_spec('f_weekly', 13) j;
-- a spec of the first seasonal-difference models (lag_year alone) still reads, unchanged
WITH s AS (SELECT shelfops._feature_spec('f_weekly', 13) - 'target_base_smooth' - 'target_base_drift'
                  - 'target_base_drift_weight' - 'target_base_fallback' AS j)
SELECT shelfops._feature_spec_roundtrip(j) = j AS lag_year_only_roundtrip FROM s;
WITH s AS (SELECT shelfops._feature_spec('f_weekly', 13) AS j)
SELECT shelfops._feature_spec_roundtrip(j || '{"residual_weight": 0.75}')->'residual_weight' AS residual_weight FROM s;
-- malformed parts are refused
WITH s AS (SELECT shelfops._feature_spec('f_weekly', 13) AS j)
SELECT shelfops._feature_spec_roundtrip(j || '{"residual_weight": 1.5}') FROM s;
WITH s AS (SELECT shelfops._feature_spec('f_weekly', 13) AS j)
SELECT shelfops._feature_spec_roundtrip(j || '{"target_base_fallback": "month"}') FROM s;
WITH s AS (SELECT shelfops._feature_spec('f_weekly', 13) AS j)
SELECT shelfops._feature_spec_roundtrip(j || '{"target_base_smooth": ["lag_year_next"]}') FROM s;
WITH s AS (SELECT shelfops._feature_spec('f_weekly', 13) AS j)
SELECT shelfops._feature_spec_roundtrip(j - 'target_base_drift_weight') FROM s;
-- a weekly row off the grid
INSERT INTO shelfops.datasets (dataset_id, family, frequency, grain, date_min, date_max)
VALUES ('f_badweek', 'synthetic', 'weekly', 'store x product x week', '2023-01-06', '2023-02-24');
-- (refused when written through shelfops.sales; with the trigger off, the reader refuses it)
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
VALUES ('f_badweek', 'w1', 'q1', '2023-01-06', 1), ('f_badweek', 'w1', 'q1', '2023-01-16', 2);
ALTER TABLE shelfops.sales DISABLE TRIGGER sales_extent_insert;
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
VALUES ('f_badweek', 'w1', 'q1', '2023-01-06', 1), ('f_badweek', 'w1', 'q1', '2023-01-16', 2);
ALTER TABLE shelfops.sales ENABLE TRIGGER sales_extent_insert;
SELECT shelfops._series_summary('f_badweek');

-- Store attributes come from shelfops.stores when that table exists (the loaders
-- create it); their codes are fixed in the spec.
BEGIN;
DO $$
BEGIN
    IF to_regclass('shelfops.stores') IS NULL THEN
        CREATE TABLE shelfops.stores (
            tenant_id text NOT NULL DEFAULT shelfops.current_tenant(), dataset_id text NOT NULL,
            store_id text COLLATE "C" NOT NULL, store_type text, assortment text, size integer,
            competition_distance float8, promo2 boolean, attributes jsonb NOT NULL DEFAULT '{}',
            PRIMARY KEY (tenant_id, dataset_id, store_id));
    END IF;
END $$;
INSERT INTO shelfops.stores (dataset_id, store_id, store_type, assortment, competition_distance, promo2)
VALUES ('f_daily', 's1', 'c', 'x', '570', 'true'), ('f_daily', 's2', 'a', NULL, '14130', 'false');
SELECT j->'store_types' AS store_types, j->'assortments' AS assortments,
       j->'stores'->'store_type' AS store_type, j->'stores'->'competition_distance' AS distance,
       j->'stores'->'promo2' AS promo2, j->'stores'->'size' AS size
  FROM shelfops._feature_spec('f_daily', 7) j;
SELECT store_id, features[array_position(shelfops._feature_names('f_daily', 7), 'store_type_code')] AS store_type,
       features[array_position(shelfops._feature_names('f_daily', 7), 'assortment_code')] AS assortment,
       features[array_position(shelfops._feature_names('f_daily', 7), 'competition_distance')] AS distance,
       features[array_position(shelfops._feature_names('f_daily', 7), 'promo2')] AS promo2,
       array_position(shelfops._feature_names('f_daily', 7), 'store_size') AS size_feature
  FROM shelfops._feature_matrix('f_daily', 7, '2024-04-25', '2024-04-25')
 ORDER BY store_id, product_id;
ROLLBACK;

-- Tenants: another tenant's dataset of the same name is another dataset.
INSERT INTO shelfops.datasets (tenant_id, dataset_id, family, frequency, grain, date_min, date_max)
VALUES ('acme', 'f_daily', 'synthetic', 'daily', 'x', '2024-01-01', '2024-01-10');
INSERT INTO shelfops.sales (tenant_id, dataset_id, store_id, product_id, sale_date, quantity)
SELECT 'acme', 'f_daily', 'a1', 'b1', d, 1 FROM generate_series('2024-01-01'::date, '2024-01-10', '1 day') d;
SELECT s->'nseries' AS nseries, s->'nperiods' AS nperiods FROM shelfops._series_summary('f_daily', 'acme') s;

-- Errors.
SELECT shelfops._series_summary('no_such_dataset');
SELECT shelfops._feature_names('f_daily', 0);
SELECT shelfops._feature_names('f_daily', 1001);
SELECT shelfops._feature_spec('f_daily', 7, '2025-01-01');
SELECT * FROM shelfops._feature_rows('f_daily', 7, 's9', 'p9', '2024-01-01', '2024-01-02');

-- Memory: 150 series x 3000 days x 40 bytes = 18 MB of series, over a 16 MB limit;
-- the error says how much is needed before anything is allocated.
INSERT INTO shelfops.datasets (dataset_id, family, frequency, grain, date_min, date_max)
VALUES ('f_big', 'synthetic', 'daily', 'x', '2015-01-01', '2015-01-01'::date + 2999);
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
SELECT 'f_big', 's' || lpad(i::text, 3, '0'), 'p', d, i
  FROM generate_series(1, 150) i, (VALUES ('2015-01-01'::date), ('2015-01-01'::date + 2999)) v(d);
SET shelfops.training_memory_mb = 16;
\set VERBOSITY default
SELECT shelfops._series_summary('f_big');
\set VERBOSITY terse
-- The matrix counts too: 130 series x 1000 days fit as series (5 MB) but 130,000
-- rows of features do not.
INSERT INTO shelfops.datasets (dataset_id, family, frequency, grain, date_min, date_max)
VALUES ('f_rows', 'synthetic', 'daily', 'x', '2015-01-01', '2015-01-01'::date + 999);
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
SELECT 'f_rows', 's' || lpad(i::text, 3, '0'), 'p', '2015-01-01'::date + k, (i * k) % 13
  FROM generate_series(1, 130) i, generate_series(0, 999) k;
SELECT (shelfops._series_summary('f_rows'))->'memory_bytes' AS series_bytes;
SELECT count(*) FROM shelfops._feature_matrix('f_rows', 7, '2015-01-01', '2017-12-31');
RESET shelfops.training_memory_mb;
SELECT count(*) FROM shelfops._feature_matrix('f_rows', 7, '2015-01-01', '2017-12-31');

DELETE FROM shelfops.datasets WHERE dataset_id LIKE 'f\_%';
