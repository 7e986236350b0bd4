-- Model layer, internal surface: functions that exercise the C model layer
-- (src/model*.c, src/envelope.c, src/params.c) directly on matrices and series,
-- for the regression tests and for diagnosing a stored model.  All VOLATILE so
-- that 90_security.sql revokes them from PUBLIC; none is granted to a role.

CREATE FUNCTION shelfops._model_fit_matrix(algorithm text, params jsonb, x float8[], y float8[],
                                           n_valid integer DEFAULT 0)
RETURNS bytea
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_model_fit_matrix';
COMMENT ON FUNCTION shelfops._model_fit_matrix(text, jsonb, float8[], float8[], integer) IS
  'Internal: fit algorithm on x (rows x features, NULL = missing) and y; the last n_valid rows validate (early stopping). Returns the enveloped model';

CREATE FUNCTION shelfops._model_predict_matrix(model bytea, x float8[])
RETURNS float8[]
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'shelfops_model_predict_matrix';
COMMENT ON FUNCTION shelfops._model_predict_matrix(bytea, float8[]) IS
  'Internal: predictions of an enveloped matrix model (xgboost) for the rows of x';

CREATE FUNCTION shelfops._model_predict_series(model bytea, history float8[], steps integer[])
RETURNS TABLE (step integer, forecast float8, fallback boolean)
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'shelfops_model_predict_series';
COMMENT ON FUNCTION shelfops._model_predict_series(bytea, float8[], integer[]) IS
  'Internal: forecasts of a history model (baselines) for steps after the last period of history (NULL = missing period)';

CREATE FUNCTION shelfops._model_params(algorithm text, params jsonb)
RETURNS jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_model_params';
COMMENT ON FUNCTION shelfops._model_params(text, jsonb) IS
  'Internal: the validated, fully resolved parameters of algorithm (defaults filled in)';

CREATE FUNCTION shelfops._model_describe(model bytea)
RETURNS jsonb
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'shelfops_model_describe';
COMMENT ON FUNCTION shelfops._model_describe(bytea) IS
  'Internal: an enveloped model''s kind, envelope fields, library version, parameters, rounds and importance';

CREATE FUNCTION shelfops._model_cache_stats()
RETURNS jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_model_cache_stats';
COMMENT ON FUNCTION shelfops._model_cache_stats() IS
  'Internal: this backend''s loaded-model cache: hits, misses, entries, capacity';

CREATE FUNCTION shelfops._model_cache_reset()
RETURNS void
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_model_cache_reset';
COMMENT ON FUNCTION shelfops._model_cache_reset() IS
  'Internal: empty this backend''s loaded-model cache and zero its counters';
