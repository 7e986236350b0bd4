-- Training and forecasting.

CREATE FUNCTION shelfops_train(dataset_id text,
                               model_name text DEFAULT 'demand_forecast',
                               algorithm text DEFAULT 'xgboost',
                               params jsonb DEFAULT '{}',
                               horizon integer DEFAULT NULL,
                               holdout integer DEFAULT NULL,
                               trigger text DEFAULT 'manual',
                               tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_train';
COMMENT ON FUNCTION shelfops_train(text, text, text, jsonb, integer, integer, text, text) IS
  'Train a model version on a dataset with a time-based holdout; records a candidate, its run and a log row';
