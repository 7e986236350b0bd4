-- Pictures as self-contained SVG (src/plot.c, docs/plots.md).

CREATE FUNCTION shelfops_plot_forecast(model_name text,
                                       store_id text,
                                       product_id text,
                                       history integer DEFAULT 90,
                                       version integer DEFAULT NULL,
                                       horizon integer DEFAULT NULL,
                                       as_of date DEFAULT NULL,
                                       level float8 DEFAULT 0.9,
                                       tenant_id text DEFAULT NULL)
RETURNS text
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'shelfops_plot_forecast';
COMMENT ON FUNCTION shelfops_plot_forecast(text, text, text, integer, integer, integer, date, float8, text) IS
  'SVG of one series: actuals over history periods, the version''s forecast (champion, else the latest version) and its interval band, with axes, dates and a legend';

CREATE FUNCTION shelfops_plot_benchmark(run_id uuid,
                                        metric text DEFAULT 'wape',
                                        tenant_id text DEFAULT NULL)
RETURNS text
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'shelfops_plot_benchmark';
COMMENT ON FUNCTION shelfops_plot_benchmark(uuid, text, text) IS
  'SVG bar chart of one metric of a benchmark run, one bar per dataset (or combo slice) and algorithm';
