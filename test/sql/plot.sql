-- Pictures: shelfops_plot_forecast and shelfops_plot_benchmark return SVG that parses
-- as XML, whose plotted points are the data: one forecast point per step of the
-- horizon with shelfops_forecast's values and bounds, one actual point per known
-- period of the history window, one bar per benchmark row with its metric value.
\set VERBOSITY terse
SET shelfops.tenant_id = 'plot_a';
SELECT shelfops_generate_synthetic('pt', 2, 3, 120, 5)->>'rows' AS rows;
SELECT (shelfops_train('pt', 'ptm', 'xgboost', '{"n_estimators": 20, "max_depth": 3}', horizon => 10))->>'version' AS version;

-- points of an SVG: class -> rows of (date, value)
CREATE FUNCTION pg_temp.points(svg text, cls text)
RETURNS TABLE(d date, v float8, lo float8, hi float8) LANGUAGE sql AS $$
    SELECT (xpath('/*/@data-date', e))[1]::text::date, (xpath('/*/@data-value', e))[1]::text::float8,
           (xpath('/*/@data-lower', e))[1]::text::float8, (xpath('/*/@data-upper', e))[1]::text::float8
      FROM unnest(xpath(format('//*[local-name()="circle"][@class="%s"]', cls), svg::xml)) e
$$;
CREATE FUNCTION pg_temp.count_of(svg text, path text) RETURNS int LANGUAGE sql AS $$
    SELECT (xpath(format('count(%s)', path), svg::xml))[1]::text::numeric::int
$$;

-- the latest version (no champion yet), its own horizon, 30 periods of history
SELECT shelfops_plot_forecast('ptm', 'S001', 'P0002', history => 30) AS svg \gset
SELECT xml_is_well_formed_document(:'svg') AS well_formed,
       pg_temp.count_of(:'svg', '//*[local-name()="circle"][@class="forecast-point"]') AS forecast_points,
       pg_temp.count_of(:'svg', '//*[local-name()="circle"][@class="actual-point"]') AS actual_points,
       pg_temp.count_of(:'svg', '//*[local-name()="path"][@class="interval"]') AS bands,
       pg_temp.count_of(:'svg', '//*[local-name()="g"][@class="legend"]/*') AS legend_entries,
       pg_temp.count_of(:'svg', '//*[local-name()="text"][@class="x-tick"]') >= 2 AS has_date_ticks,
       pg_temp.count_of(:'svg', '//*[local-name()="text"][@class="y-tick"]') >= 2 AS has_value_ticks,
       (xpath('//*[local-name()="title"]/text()', :'svg'::xml))[1]::text AS title;
-- the forecast points are shelfops_forecast's rows of that series: dates, values, bounds
SELECT count(*) AS matched, count(*) FILTER (WHERE p.v = f.forecast AND p.lo = f.lower AND p.hi = f.upper) AS equal
  FROM pg_temp.points(:'svg', 'forecast-point') p
  JOIN shelfops_forecast('ptm', version => 1) f ON f.store_id = 'S001' AND f.product_id = 'P0002' AND f.target_date = p.d;
-- the actual points are the series' sales rows of the last 30 days
SELECT count(*) AS sales_rows, count(*) FILTER (WHERE p.v = s.quantity) AS equal
  FROM shelfops.sales s
  JOIN pg_temp.points(:'svg', 'actual-point') p ON p.d = s.sale_date
 WHERE s.tenant_id = 'plot_a' AND s.dataset_id = 'pt' AND s.store_id = 'S001' AND s.product_id = 'P0002';
SELECT min(d) AS first_actual, max(d) AS last_actual FROM pg_temp.points(:'svg', 'actual-point');
SELECT min(d) AS first_forecast, max(d) AS last_forecast FROM pg_temp.points(:'svg', 'forecast-point');
-- dates on the axis: the first and last tick are the window's ends
SELECT (xpath('//*[local-name()="text"][@class="x-tick"][1]/text()', :'svg'::xml))[1]::text AS first_tick,
       (xpath('//*[local-name()="text"][@class="x-tick"][last()]/text()', :'svg'::xml))[1]::text AS last_tick;

-- a shorter horizon, an earlier origin: actuals continue into the forecast window
SELECT shelfops_plot_forecast('ptm', 'S001', 'P0002', history => 14, horizon => 5, as_of => '2024-04-10') AS svg2 \gset
SELECT pg_temp.count_of(:'svg2', '//*[local-name()="circle"][@class="forecast-point"]') AS forecast_points,
       (SELECT count(*) FROM pg_temp.points(:'svg2', 'actual-point') WHERE d > '2024-04-10') AS actuals_after_origin,
       (SELECT min(d) FROM pg_temp.points(:'svg2', 'actual-point')) AS first_actual,
       (xpath('//*[local-name()="line"][@class="origin"]/@data-date', :'svg2'::xml))[1]::text AS origin;
-- the champion is plotted when there is one
SELECT (shelfops_train('pt', 'ptm', 'moving_average', horizon => 10))->>'version' AS version;
UPDATE shelfops.model_versions SET status = 'champion', promoted_at = now()
 WHERE tenant_id = 'plot_a' AND model_name = 'ptm' AND version = 1;
SELECT (xpath('//*[local-name()="title"]/text()', shelfops_plot_forecast('ptm', 'S002', 'P0003')::xml))[1]::text AS champion_title,
       (xpath('//*[local-name()="title"]/text()', shelfops_plot_forecast('ptm', 'S002', 'P0003', version => 2)::xml))[1]::text AS version_title;

-- bad arguments
SELECT shelfops_plot_forecast('ptm', 'S009', 'P0001');
SELECT shelfops_plot_forecast('ptm', NULL, 'P0001');
SELECT shelfops_plot_forecast('ptm', 'S001', 'P0001', history => -1);
SELECT shelfops_plot_forecast('ptm', 'S001', 'P0001', horizon => 11);
SELECT shelfops_plot_forecast('ptm', 'S001', 'P0001', version => 9);
SELECT shelfops_plot_forecast('nomodel', 'S001', 'P0001');

-- benchmark bars: one per row with a value, each with the row's metric
SELECT shelfops_generate_synthetic('pt2', 2, 2, 110, 6, '2023-03-01')->>'rows' AS rows;
SELECT benchmark_run_id AS brun FROM shelfops_benchmark(ARRAY['pt', 'pt2'], params => '{"n_estimators": 10}') LIMIT 1 \gset
SELECT shelfops_plot_benchmark(:'brun') AS bsvg \gset
CREATE FUNCTION pg_temp.bars(svg text)
RETURNS TABLE(datasets text, slice text, algorithm text, v float8) LANGUAGE sql AS $$
    SELECT (xpath('/*/@data-datasets', e))[1]::text, (xpath('/*/@data-slice', e))[1]::text,
           (xpath('/*/@data-algorithm', e))[1]::text, (xpath('/*/@data-value', e))[1]::text::float8
      FROM unnest(xpath('//*[local-name()="rect"][@class="bar"]', svg::xml)) e
$$;
SELECT xml_is_well_formed_document(:'bsvg') AS well_formed,
       (SELECT count(*) FROM pg_temp.bars(:'bsvg')) AS bars,
       (SELECT count(*) FROM shelfops.benchmark_results WHERE benchmark_run_id = :'brun') AS result_rows,
       (SELECT count(*) FROM pg_temp.bars(:'bsvg') b JOIN shelfops.benchmark_results r
            ON r.benchmark_run_id = :'brun' AND r.datasets = b.datasets AND r.slice = b.slice
           AND r.algorithm = b.algorithm AND (r.metrics->>'wape')::float8 = b.v) AS bars_equal_rows,
       pg_temp.count_of(:'bsvg', '//*[local-name()="g"][@class="legend"]/*') AS legend_entries,
       pg_temp.count_of(:'bsvg', '//*[local-name()="text"][@class="x-tick"]') AS groups;
-- a combo run: overall and per-source bars; another metric
SELECT benchmark_run_id AS crun FROM shelfops_benchmark_combos(ARRAY['pt', 'pt2'], params => '{"n_estimators": 10}') LIMIT 1 \gset
SELECT string_agg(datasets || '/' || slice || '/' || algorithm, ', ' ORDER BY datasets, slice) AS bars,
       bool_and(v = (SELECT (metrics->>'mae')::float8 FROM shelfops.benchmark_results r
                      WHERE r.benchmark_run_id = :'crun' AND r.slice = b.slice)) AS values_agree
  FROM pg_temp.bars(shelfops_plot_benchmark(:'crun', 'mae')) b;
-- negative values (bias) draw below the zero line; undefined values get no bar
SELECT bool_and((xpath('/*/@height', e))[1]::text::float8 >= 0) AS heights_non_negative,
       count(*) AS bars
  FROM unnest(xpath('//*[local-name()="rect"][@class="bar"]', shelfops_plot_benchmark(:'brun', 'bias_pct')::xml)) e;
UPDATE shelfops.benchmark_results SET metrics = metrics || '{"coverage": null}'
 WHERE benchmark_run_id = :'brun' AND algorithm = 'seasonal_naive';
SELECT (SELECT count(*) FROM pg_temp.bars(shelfops_plot_benchmark(:'brun', 'coverage'))) AS bars,
       pg_temp.count_of(shelfops_plot_benchmark(:'brun', 'coverage'), '//*[@class="no-value"]') AS no_value_marks;
SELECT shelfops_plot_benchmark(:'brun', 'rows');
SELECT shelfops_plot_benchmark('00000000-0000-0000-0000-000000000000');
SELECT shelfops_plot_benchmark(NULL);

-- another tenant sees no run
SET shelfops.tenant_id = 'plot_b';
SELECT shelfops_plot_benchmark(:'brun');

RESET shelfops.tenant_id;
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN
        SELECT c.oid::regclass FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
         WHERE c.relnamespace = 'shelfops'::regnamespace AND c.relkind = 'r' AND a.attname = 'tenant_id'
    LOOP
        EXECUTE format('DELETE FROM %s WHERE tenant_id IN (''plot_a'', ''plot_b'')', t);
    END LOOP;
END
$$;
