-- Model layer (src/model*.c, envelope.c, params.c) through the internal SQL
-- surface: XGBoost learns a small problem, fits are byte-identical, parameters
-- are validated, corrupted envelopes give clean errors, a long fit is
-- cancellable, the loaded-model cache works, and the baselines forecast as
-- documented in docs/models.md.

-- A small deterministic regression problem: y = 2a + b on a grid.
CREATE TEMP TABLE grid AS
SELECT i, (i % 10)::float8 AS a, ((i * 7) % 13)::float8 AS b,
       (2 * (i % 10) + (i * 7) % 13)::float8 AS y
  FROM generate_series(1, 300) i;
SELECT shelfops._model_fit_matrix('xgboost', '{"n_estimators": 80, "eta": 0.3, "max_depth": 4}',
         (SELECT array_agg(ARRAY[a, b] ORDER BY i) FROM grid),
         (SELECT array_agg(y ORDER BY i) FROM grid)) AS m1 \gset
SELECT shelfops._model_fit_matrix('xgboost', '{"n_estimators": 80, "eta": 0.3, "max_depth": 4}',
         (SELECT array_agg(ARRAY[a, b] ORDER BY i) FROM grid),
         (SELECT array_agg(y ORDER BY i) FROM grid)) AS m2 \gset

-- predictions close to the truth (2a + b) on points of the grid
SELECT t.a, t.b, 2 * t.a + t.b AS truth, abs(p - (2 * t.a + t.b)) < 0.5 AS close
  FROM (VALUES (1, 0, 1), (2, 3, 5), (3, 9, 12), (4, 9, 4)) AS t(n, a, b),
       LATERAL (SELECT (shelfops._model_predict_matrix(:'m1'::bytea,
                          '{{0,1},{3,5},{9,12},{9,4}}'))[t.n] AS p) q
 ORDER BY t.n;

-- the same data, parameters and seed give byte-identical models
SELECT md5(:'m1'::bytea) = md5(:'m2'::bytea) AS identical, length(:'m1'::bytea) > 1000 AS nonempty;

-- what is stored: envelope fields, library, effective parameters, importance
SELECT d->>'kind' AS kind, d->>'algorithm' AS algorithm, d->>'envelope_format' AS format,
       (d->>'payload_bytes')::int + 32 = length(:'m1'::bytea) AS length_ok,
       d->>'library_version' AS library_version, d->>'rounds' AS rounds, d->>'n_features' AS n_features,
       d->>'best_iteration' AS best_iteration,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(d->'importance_gain') k) AS importance_of,
       d->'params' AS params
  FROM shelfops._model_describe(:'m1'::bytea) d;

-- early stopping on the last rows (by time: the caller's order) keeps the best round only
SELECT (d->>'best_iteration')::int + 1 = (d->>'rounds')::int AS kept_to_best,
       (d->>'rounds')::int < 500 AS stopped_early
  FROM shelfops._model_describe(
         shelfops._model_fit_matrix('xgboost', '{"n_estimators": 500, "eta": 0.5, "early_stopping_rounds": 5}',
           (SELECT array_agg(ARRAY[a, b] ORDER BY i) FROM grid),
           (SELECT array_agg(y ORDER BY i) FROM grid), 60)) d;

-- the loaded-model cache: the second predict of one model does not decode again
SELECT shelfops._model_cache_reset();
SELECT array_length(shelfops._model_predict_matrix(:'m1'::bytea, '{{1,1}}'), 1) AS n;
SELECT array_length(shelfops._model_predict_matrix(:'m1'::bytea, '{{2,2},{3,3}}'), 1) AS n;
SELECT shelfops._model_cache_stats();

-- parameters: defaults, aliases, and every kind of invalid value
SELECT shelfops._model_params('xgboost', NULL);
SELECT shelfops._model_params('xgboost', '{"learning_rate": 0.1, "num_boost_round": 50, "reg_lambda": 2, "objective": "reg:tweedie", "tweedie_variance_power": 1.5}');
SELECT shelfops._model_params('seasonal_naive', '{"period": 52}');
SELECT shelfops._model_params('moving_average', '{}');
SELECT shelfops._model_params('xgboost', '{"max_depht": 6}');
SELECT shelfops._model_params('xgboost', '{"eta": "0.1"}');
SELECT shelfops._model_params('xgboost', '{"max_depth": [6]}');
SELECT shelfops._model_params('xgboost', '{"subsample": {"a": 1}}');
SELECT shelfops._model_params('xgboost', '{"gamma": null}');
SELECT shelfops._model_params('xgboost', '{"seed": true}');
SELECT shelfops._model_params('xgboost', '{"max_depth": 0}');
SELECT shelfops._model_params('xgboost', '{"max_depth": 6.5}');
SELECT shelfops._model_params('xgboost', '{"eta": 0}');
SELECT shelfops._model_params('xgboost', '{"tweedie_variance_power": 2, "objective": "reg:tweedie"}');
SELECT shelfops._model_params('xgboost', '{"n_estimators": 5001}');
SELECT shelfops._model_params('xgboost', '{"objective": "reg:linear"}');
SELECT shelfops._model_params('xgboost', '{"eta": 0.1, "learning_rate": 0.2}');
SELECT shelfops._model_params('xgboost', '{"tweedie_variance_power": 1.5}');
SELECT shelfops._model_params('xgboost', '{"window": 7}');
SELECT shelfops._model_params('seasonal_naive', '{"season": 0}');
SELECT shelfops._model_params('xgboost', '[1, 2]');
SELECT shelfops._model_params('lightgbm', '{}');
SELECT shelfops._model_fit_matrix('xgboost', '{"objective": "count:poisson"}', '{{1},{2}}', '{1,-1}');
SELECT shelfops._model_fit_matrix('xgboost', '{}', '{1,2}', '{1,2}');
SELECT shelfops._model_predict_matrix(:'m1'::bytea, '{{1,2,3}}');

-- corrupted envelopes: each a clean ERROR, never a crash
\set VERBOSITY terse
SELECT shelfops._model_predict_matrix(substring(:'m1'::bytea from 1 for length(:'m1'::bytea) - 10), '{{1,1}}');
SELECT shelfops._model_predict_matrix(substring(:'m1'::bytea from 1 for 20), '{{1,1}}');
SELECT shelfops._model_predict_matrix(substring(:'m1'::bytea from 1 for 32), '{{1,1}}');
SELECT shelfops._model_predict_matrix(set_byte(:'m1'::bytea, 10, get_byte(:'m1'::bytea, 10) # 4), '{{1,1}}');
SELECT shelfops._model_predict_matrix(set_byte(:'m1'::bytea, 17, get_byte(:'m1'::bytea, 17) # 1), '{{1,1}}');
SELECT shelfops._model_predict_matrix(set_byte(:'m1'::bytea, 1000, get_byte(:'m1'::bytea, 1000) # 1), '{{1,1}}');
SELECT shelfops._model_predict_matrix(overlay(:'m1'::bytea placing 'SHELFOPZ'::bytea from 1), '{{1,1}}');
SELECT shelfops._model_predict_matrix(set_byte(:'m1'::bytea, 8, 2), '{{1,1}}');
SELECT shelfops._model_predict_matrix(set_byte(:'m1'::bytea, 8, 0), '{{1,1}}');
SELECT shelfops._model_predict_matrix(''::bytea, '{{1,1}}');
SELECT shelfops._model_predict_matrix(decode(repeat(md5('shelfops'), 8), 'hex'), '{{1,1}}');
SELECT shelfops._model_predict_matrix('SHELFOPS'::bytea || decode('0100' || repeat(md5('x'), 4), 'hex'), '{{1,1}}');
SELECT shelfops._model_describe(substring(:'m1'::bytea from 33));
-- every byte of a (small, baseline) envelope corrupted in turn: all refused
DO $$
DECLARE
    m bytea := shelfops._model_fit_matrix('moving_average', '{"window": 3}', NULL, NULL);
    refused int := 0;
    states text[] := '{}';
BEGIN
    FOR k IN 0 .. length(m) - 1 LOOP
        BEGIN
            PERFORM shelfops._model_describe(set_byte(m, k, get_byte(m, k) # 255));
        EXCEPTION WHEN data_corrupted OR feature_not_supported THEN
            refused := refused + 1;
            IF NOT SQLSTATE = ANY (states) THEN states := states || SQLSTATE::text; END IF;
        END;
    END LOOP;
    RAISE NOTICE 'bytes % refused % states %', length(m), refused, states;
END
$$;
\set VERBOSITY default

-- cancel: a long fit stops promptly at statement_timeout and the backend goes on
SELECT clock_timestamp() AS t0 \gset
SET statement_timeout = '200ms';
SELECT length(shelfops._model_fit_matrix('xgboost', '{"n_estimators": 5000}',
         (SELECT array_agg(ARRAY[i % 97, i % 13, (i * 31) % 101, i % 7, (i * 17) % 59, i % 3]::float8[] ORDER BY i)
            FROM generate_series(1, 20000) i),
         (SELECT array_agg(((i % 97) * 0.5 + (i % 7))::float8 ORDER BY i) FROM generate_series(1, 20000) i)));
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '3 seconds' AS prompt;
SELECT array_length(shelfops._model_predict_matrix(:'m1'::bytea, '{{1,1}}'), 1) AS still_works;
SELECT md5(shelfops._model_fit_matrix('xgboost', '{"n_estimators": 80, "eta": 0.3, "max_depth": 4}',
         (SELECT array_agg(ARRAY[a, b] ORDER BY i) FROM grid),
         (SELECT array_agg(y ORDER BY i) FROM grid))) = md5(:'m1'::bytea) AS same_model_after_cancel;

-- baselines on a tiny series (14 days, season 7): exact values
SELECT shelfops._model_fit_matrix('seasonal_naive', '{"season": 7}', NULL, NULL) AS sn \gset
SELECT shelfops._model_fit_matrix('moving_average', '{"window": 3}', NULL, NULL) AS ma \gset
SELECT d->>'algorithm' AS algorithm, d->'params' AS params, d->>'payload_bytes' AS payload_bytes
  FROM (VALUES (shelfops._model_describe(:'sn'::bytea)), (shelfops._model_describe(:'ma'::bytea))) v(d);
SELECT * FROM shelfops._model_predict_series(:'sn'::bytea, '{1,2,3,4,5,6,7,8,9,10,11,12,13,14}', '{1,2,7,8,15}');
-- a missing value steps back one more season; all missing falls back to 0 with the flag
SELECT * FROM shelfops._model_predict_series(:'sn'::bytea, '{1,2,3,4,5,6,7,NULL,9,10,11,12,13,14}', '{1,2}');
SELECT * FROM shelfops._model_predict_series(:'sn'::bytea, '{NULL,2,3,4,5,6,7,NULL,9,10,11,12,13,14}', '{1}');
SELECT * FROM shelfops._model_predict_series(:'ma'::bytea, '{1,2,3,4,5,6,7,8,9,10,11,12,13,14}', '{1,5}');
SELECT * FROM shelfops._model_predict_series(:'ma'::bytea, '{1,2,3,4,5,6,7,8,9,10,11,NULL,13,14}', '{1}');
SELECT * FROM shelfops._model_predict_series(:'ma'::bytea, '{5,NULL,NULL,NULL}', '{1}');
SELECT * FROM shelfops._model_predict_series(:'sn'::bytea, '{1,2,3}', '{0}');
SELECT shelfops._model_predict_matrix(:'sn'::bytea, '{{1,1}}');
SELECT * FROM shelfops._model_predict_series(:'m1'::bytea, '{1,2,3}', '{1}');
