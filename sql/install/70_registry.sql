-- Registry parity: the reference's file registry (registry.json, champion.json),
-- MODEL_PERFORMANCE_LOG.md and run_*.json, built per tenant from the tables and
-- never stored.  Each document is a pure function of the tables (its times are
-- the rows' own), so two calls over the same rows give the same document.
-- Layouts: docs/registry.md.

CREATE FUNCTION shelfops_registry_json(tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'shelfops_registry_json';
COMMENT ON FUNCTION shelfops_registry_json(text) IS
  'The reference''s registry.json for one tenant: {models: [entry per model version, in creation order], updated_at, tenant_id}; updated_at is the latest created/promoted/archived time';

CREATE FUNCTION shelfops_champion_json(tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'shelfops_champion_json';
COMMENT ON FUNCTION shelfops_champion_json(text) IS
  'The reference''s champion.json for one tenant: {models: {model_name: {version, promoted_at}}} plus top-level version, promoted_at, model_name of demand_forecast when it has a champion';

CREATE FUNCTION shelfops_performance_log(tenant_id text DEFAULT NULL)
RETURNS text
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'shelfops_performance_log';
COMMENT ON FUNCTION shelfops_performance_log(text) IS
  'MODEL_PERFORMANCE_LOG.md (reference auto-refresh format) for one tenant, rendered from its registry; deterministic';

CREATE FUNCTION shelfops_run_json(run_id uuid, tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'shelfops_run_json';
COMMENT ON FUNCTION shelfops_run_json(uuid, text) IS
  'The reference''s run_*.json artifact of one training run: params, tags, metrics, artifacts, timestamp, experiment, model_name';

CREATE FUNCTION shelfops_export_registry(directory text, tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_export_registry';
COMMENT ON FUNCTION shelfops_export_registry(text, text) IS
  'Write registry.json, champion.json, MODEL_PERFORMANCE_LOG.md and run_<run_id>.json of one tenant atomically into an existing directory inside shelfops.export_directory; admin only; returns the files written and their sizes';
