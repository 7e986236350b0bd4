-- Rolling-origin backtests of a stored model version (src/backtest.c, docs/backtests.md).

CREATE FUNCTION shelfops_backtest(model_name text,
                                  version integer,
                                  folds integer DEFAULT 3,
                                  horizon integer DEFAULT NULL,
                                  step integer DEFAULT NULL,
                                  tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_backtest';
COMMENT ON FUNCTION shelfops_backtest(text, integer, integer, integer, integer, text) IS
  'Refit a version''s algorithm and parameters at rolling origins, forecast each fold''s window, and record every canonical metric per fold in shelfops.backtest_results';
