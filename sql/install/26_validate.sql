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

-- The Markdown validation report of reference §1.5 (src/validation_report.c): each
-- of favorita/, walmart/, rossmann/, seed/ under base_dir is loaded into a dataset
-- that is rolled back, validated (thresholds as for shelfops_validate_dataset), and
-- reported as one table row.
CREATE FUNCTION shelfops_validation_report(base_dir text, thresholds jsonb DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'shelfops_validation_report'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION shelfops_validation_report(text, jsonb) IS
  'Markdown readiness report for a directory holding favorita/, walmart/, rossmann/ and seed/ (each loaded and validated, then rolled back); needs pg_read_server_files';
