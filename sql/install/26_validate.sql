-- Validation and readiness (src/validate.c, docs/validation.md): every data-quality
-- check on one dataset, per column and per series, with the readiness state
-- (ready / limited / blocked / invalid) stored in shelfops.datasets.
CREATE FUNCTION shelfops_validate_dataset(dataset_id text, tenant_id text DEFAULT NULL,
                                          thresholds jsonb DEFAULT NULL)
RETURNS TABLE(check_name text, observed float8, threshold float8, passed bool, detail text)
AS 'MODULE_PATHNAME', 'shelfops_validate_dataset'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION shelfops_validate_dataset(text, text, jsonb) IS
  'Run every data-quality check on a dataset (one row per check and column) and store its readiness';
