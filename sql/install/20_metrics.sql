-- Metrics (src/metrics.c, docs/metrics.md): forecast accuracy and business cost,
-- as one array function returning jsonb and as parallel-safe aggregates.  Every
-- undefined value is NULL, never a made-up 0.

CREATE FUNCTION shelfops_metrics(
    actual        float8[],
    forecast      float8[],
    unit_cost     float8[] DEFAULT NULL,
    unit_price    float8[] DEFAULT NULL,
    holding_cost  float8[] DEFAULT NULL,
    lower         float8[] DEFAULT NULL,
    upper         float8[] DEFAULT NULL,
    season        int      DEFAULT 7,
    category_cost float8[] DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'shelfops_metrics'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION shelfops_metrics(float8[], float8[], float8[], float8[], float8[], float8[], float8[], int, float8[])
    IS 'Forecast accuracy and cost metrics of position-wise arrays as jsonb (15 keys; NULL when undefined)';

-- Aggregate support.  Each state is a float8[] of running sums; one combine
-- function adds two states of any metric.
CREATE FUNCTION shelfops_metric_combine(float8[], float8[]) RETURNS float8[]
AS 'MODULE_PATHNAME', 'shelfops_metric_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION shelfops_mae_accum(float8[], float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'shelfops_mae_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION shelfops_mae_final(float8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'shelfops_mae_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE shelfops_mae(actual float8, forecast float8) (
    SFUNC = shelfops_mae_accum, STYPE = float8[], INITCOND = '{0,0}',
    FINALFUNC = shelfops_mae_final, COMBINEFUNC = shelfops_metric_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE shelfops_mae(float8, float8) IS 'Mean absolute error; NULL without rows';

CREATE FUNCTION shelfops_wape_accum(float8[], float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'shelfops_wape_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION shelfops_wape_final(float8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'shelfops_wape_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE shelfops_wape(actual float8, forecast float8) (
    SFUNC = shelfops_wape_accum, STYPE = float8[], INITCOND = '{0,0}',
    FINALFUNC = shelfops_wape_final, COMBINEFUNC = shelfops_metric_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE shelfops_wape(float8, float8) IS 'sum|actual - forecast| / sum|actual|; NULL when sum|actual| = 0';

CREATE FUNCTION shelfops_mape_nonzero_accum(float8[], float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'shelfops_mape_nonzero_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION shelfops_mape_nonzero_final(float8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'shelfops_mape_nonzero_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE shelfops_mape_nonzero(actual float8, forecast float8) (
    SFUNC = shelfops_mape_nonzero_accum, STYPE = float8[], INITCOND = '{0,0}',
    FINALFUNC = shelfops_mape_nonzero_final, COMBINEFUNC = shelfops_metric_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE shelfops_mape_nonzero(float8, float8) IS 'Mean absolute percentage error over actual > 0; NULL when no actual > 0';

CREATE FUNCTION shelfops_bias_pct_accum(float8[], float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'shelfops_bias_pct_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION shelfops_bias_pct_final(float8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'shelfops_bias_pct_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE shelfops_bias_pct(actual float8, forecast float8) (
    SFUNC = shelfops_bias_pct_accum, STYPE = float8[], INITCOND = '{0,0}',
    FINALFUNC = shelfops_bias_pct_final, COMBINEFUNC = shelfops_metric_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE shelfops_bias_pct(float8, float8) IS 'mean(forecast - actual) / mean(actual); NULL when mean(actual) = 0';

CREATE FUNCTION shelfops_stockout_miss_rate_accum(float8[], float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'shelfops_stockout_miss_rate_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION shelfops_stockout_miss_rate_final(float8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'shelfops_stockout_miss_rate_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE shelfops_stockout_miss_rate(actual float8, forecast float8) (
    SFUNC = shelfops_stockout_miss_rate_accum, STYPE = float8[], INITCOND = '{0,0}',
    FINALFUNC = shelfops_stockout_miss_rate_final, COMBINEFUNC = shelfops_metric_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE shelfops_stockout_miss_rate(float8, float8) IS 'Share of rows with actual > 0 and forecast <= 0; NULL without rows';

CREATE FUNCTION shelfops_overstock_rate_accum(float8[], float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'shelfops_overstock_rate_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION shelfops_overstock_rate_final(float8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'shelfops_overstock_rate_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE shelfops_overstock_rate(actual float8, forecast float8) (
    SFUNC = shelfops_overstock_rate_accum, STYPE = float8[], INITCOND = '{0,0}',
    FINALFUNC = shelfops_overstock_rate_final, COMBINEFUNC = shelfops_metric_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE shelfops_overstock_rate(float8, float8) IS 'Share of rows with forecast > actual; NULL without rows';

CREATE FUNCTION shelfops_coverage_accum(float8[], float8, float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'shelfops_coverage_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION shelfops_coverage_final(float8[]) RETURNS float8
AS 'MODULE_PATHNAME', 'shelfops_coverage_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE shelfops_coverage(actual float8, lower float8, upper float8) (
    SFUNC = shelfops_coverage_accum, STYPE = float8[], INITCOND = '{0,0}',
    FINALFUNC = shelfops_coverage_final, COMBINEFUNC = shelfops_metric_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE shelfops_coverage(float8, float8, float8) IS 'Share of rows with lower <= actual <= upper; NULL without rows';
