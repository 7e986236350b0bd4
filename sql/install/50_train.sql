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

CREATE FUNCTION shelfops_forecast(model_name text,
                                  horizon integer DEFAULT NULL,
                                  version integer DEFAULT NULL,
                                  as_of date DEFAULT NULL,
                                  level float8 DEFAULT 0.9,
                                  tenant_id text DEFAULT NULL,
                                  persist boolean DEFAULT false,
                                  shadow boolean DEFAULT false,
                                  covariates regclass DEFAULT NULL)
RETURNS TABLE(store_id text, product_id text, target_date date, forecast float8,
              lower float8, upper float8, version integer)
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_forecast';
COMMENT ON FUNCTION shelfops_forecast(text, integer, integer, date, float8, text, boolean, boolean, regclass) IS
  'Forecast every series of a model''s dataset (champion by default) with conformal intervals; persist => true stores them; shadow => true also forecasts the challengers into shadow_predictions; covariates => a table or view of planned covariates (store_id, product_id, sale_date and canonical covariate columns) for the target dates';
