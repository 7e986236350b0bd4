-- Features, internal surface: functions that exercise src/series.c and
-- src/features.c directly (the dense calendar, the horizon-safe feature
-- specification and the matrix builder), for the regression tests, the
-- benchmark and for diagnosing what a model saw.  All VOLATILE so that
-- 90_security.sql revokes them from PUBLIC; none is granted to a role.
-- tenant_id NULL means the session's tenant.

CREATE FUNCTION shelfops._series_summary(dataset_id text, tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_series_summary';
COMMENT ON FUNCTION shelfops._series_summary(text, text) IS
  'Internal: the dataset laid on its calendar: frequency, nseries, nperiods, rows, missing periods, covariates, fingerprint';

CREATE FUNCTION shelfops._series_periods(dataset_id text, store_id text, product_id text,
                                         tenant_id text DEFAULT NULL)
RETURNS TABLE (period integer, period_date date, y float8, covariates jsonb)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_series_periods';
COMMENT ON FUNCTION shelfops._series_periods(text, text, text, text) IS
  'Internal: every calendar period of one series, y NULL where no row exists';

CREATE FUNCTION shelfops._feature_names(dataset_id text, horizon integer, tenant_id text DEFAULT NULL)
RETURNS text[]
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_feature_names';
COMMENT ON FUNCTION shelfops._feature_names(text, integer, text) IS
  'Internal: the feature names, in column order, of a spec built on the whole dataset for this horizon';

CREATE FUNCTION shelfops._feature_spec(dataset_id text, horizon integer, train_end date DEFAULT NULL,
                                       tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_feature_spec';
COMMENT ON FUNCTION shelfops._feature_spec(text, integer, date, text) IS
  'Internal: the feature specification (jsonb, as stored with a model) for a horizon and training end (NULL: last date)';

CREATE FUNCTION shelfops._feature_spec_roundtrip(spec jsonb)
RETURNS jsonb
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'shelfops_feature_spec_roundtrip';
COMMENT ON FUNCTION shelfops._feature_spec_roundtrip(jsonb) IS
  'Internal: a spec read back from jsonb and written again (equal to the input for any valid spec)';

CREATE FUNCTION shelfops._feature_rows(dataset_id text, horizon integer, store_id text, product_id text,
                                       from_date date, to_date date, train_end date DEFAULT NULL,
                                       tenant_id text DEFAULT NULL)
RETURNS TABLE (target_date date, y float8, features jsonb)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_feature_rows';
COMMENT ON FUNCTION shelfops._feature_rows(text, integer, text, text, date, date, date, text) IS
  'Internal: features (name -> value, null = not computable) of one series for every target period in a range';

CREATE FUNCTION shelfops._feature_rows_spec(spec jsonb, dataset_id text, store_id text, product_id text,
                                            from_date date, to_date date, tenant_id text DEFAULT NULL)
RETURNS TABLE (target_date date, y float8, features jsonb)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_feature_rows_spec';
COMMENT ON FUNCTION shelfops._feature_rows_spec(jsonb, text, text, text, date, date, text) IS
  'Internal: as _feature_rows with a stored spec (the forecasting path); targets after the data get empty periods';

CREATE FUNCTION shelfops._feature_matrix(dataset_id text, horizon integer, from_date date, to_date date,
                                         train_end date DEFAULT NULL, include_unknown boolean DEFAULT false,
                                         tenant_id text DEFAULT NULL)
RETURNS TABLE (store_id text, product_id text, target_date date, y float8, features real[])
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_feature_matrix';
COMMENT ON FUNCTION shelfops._feature_matrix(text, integer, date, date, date, boolean, text) IS
  'Internal: the rows of features_build (closed periods left out), in matrix order';

CREATE FUNCTION shelfops._feature_bench(dataset_id text, horizon integer, tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_feature_bench';
COMMENT ON FUNCTION shelfops._feature_bench(text, integer, text) IS
  'Internal: seconds for series_load, feature_spec_build and features_build on every observed row of a dataset';
