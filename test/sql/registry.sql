-- Registry parity documents: registry.json, champion.json, MODEL_PERFORMANCE_LOG.md
-- and run_*.json agree with the tables after every train / promote / rollback step,
-- stay within one tenant, and export writes exactly them; bad export paths, a
-- disabled export and non-admin callers are refused.
-- Promotions are simulated with UPDATEs of the columns shelfops_promote changes.
\set VERBOSITY terse
SET shelfops.tenant_id = 'reg_a';
SELECT shelfops_generate_synthetic('rg', 2, 3, 120, 5)->>'rows' AS rows;
SELECT (shelfops_train('rg', 'demand_forecast', 'xgboost', '{"n_estimators": 10, "max_depth": 3}'))->>'version' AS version;
SELECT (shelfops_train('rg', 'demand_forecast', 'xgboost', '{"n_estimators": 10, "max_depth": 3}'))->>'version' AS version;
SELECT (shelfops_train('rg', 'demand_forecast', 'xgboost', '{"n_estimators": 10, "max_depth": 2}'))->>'version' AS version;
SELECT (shelfops_train('rg', 'naive', 'seasonal_naive'))->>'version' AS version;
-- fixed creation times, so the documents print the same on every run
UPDATE shelfops.model_versions
   SET created_at = '2024-06-01 10:00:00+00'::timestamptz + (version || ' hours')::interval
                    + CASE WHEN model_name = 'naive' THEN interval '1 day' ELSE interval '0' END
 WHERE tenant_id = 'reg_a';

-- Every entry of the registry document against its model_versions row, in creation
-- order; the number of disagreements (0 = the document is the table).
CREATE FUNCTION pg_temp.registry_mismatches(t text) RETURNS bigint LANGUAGE sql AS $$
    WITH doc AS (
        SELECT e, ord FROM jsonb_array_elements(shelfops_registry_json(t)->'models') WITH ORDINALITY AS x(e, ord)),
    tab AS (
        SELECT mv.*, row_number() OVER (ORDER BY created_at, model_name COLLATE "C", version) AS ord
          FROM shelfops.model_versions mv WHERE mv.tenant_id = t)
    SELECT count(*) FROM doc FULL JOIN tab USING (ord)
     WHERE doc.e IS NULL OR tab.version IS NULL
        OR (e->>'version')::int <> tab.version OR e->>'model_name' <> tab.model_name
        OR e->>'status' <> tab.status OR e->>'dataset' <> tab.dataset_id
        OR e->'mae' <> coalesce(tab.metrics->'holdout'->'mae', 'null')
        OR e->'mape' <> coalesce(tab.metrics->'holdout'->'mape_nonzero', tab.metrics->'holdout'->'mape', 'null')
        OR e->'wape' <> coalesce(tab.metrics->'holdout'->'wape', 'null')
        OR e->'mase' <> coalesce(tab.metrics->'holdout'->'mase', 'null')
        OR e->'bias_pct' <> coalesce(tab.metrics->'holdout'->'bias_pct', 'null')
        OR (e->>'rows_trained')::bigint IS DISTINCT FROM tab.rows_trained
        OR (e->>'trained_at')::timestamptz <> tab.created_at
        OR (e->>'promoted_at')::timestamptz IS DISTINCT FROM tab.promoted_at
        OR e->'lifecycle_events' <> tab.lifecycle_events
        OR e->'last_lifecycle_event' <> coalesce(tab.lifecycle_events->-1, 'null')
        OR e->'evaluation_window_days' <> coalesce(tab.lineage->'evaluation_window_days', 'null')
$$;
-- champion.json against the champion rows: one pointer per model with a champion,
-- and the single-model fields naming demand_forecast's champion.
CREATE FUNCTION pg_temp.champion_mismatches(t text) RETURNS bigint LANGUAGE sql AS $$
    WITH doc AS (SELECT key AS model_name, value AS p FROM jsonb_each(shelfops_champion_json(t)->'models')),
    tab AS (SELECT model_name::text, version, promoted_at
              FROM shelfops.model_versions WHERE tenant_id = t AND status = 'champion')
    SELECT count(*) + (SELECT count(*) FROM (
               SELECT shelfops_champion_json(t)->'version' AS v, shelfops_champion_json(t)->'promoted_at' AS p) top
             WHERE top.v IS DISTINCT FROM (SELECT to_jsonb(version) FROM tab WHERE model_name = 'demand_forecast')
                OR (top.p->>0)::timestamptz IS DISTINCT FROM
                   (SELECT promoted_at FROM tab WHERE model_name = 'demand_forecast'))
      FROM doc FULL JOIN tab USING (model_name)
     WHERE doc.p IS NULL OR tab.version IS NULL OR (p->>'version')::int <> tab.version
        OR (p->>'promoted_at')::timestamptz <> tab.promoted_at
$$;
-- The performance log's table rows against the tables: status and decision of each.
CREATE FUNCTION pg_temp.log_mismatches(t text) RETURNS bigint LANGUAGE sql AS $$
    WITH lines AS (
        SELECT string_to_array(l, ' | ') AS c
          FROM regexp_split_to_table(shelfops_performance_log(t), E'\n') l
         WHERE l ~ '^\| [0-9]+ \|'),
    doc AS (SELECT trim(c[1], '| ')::int AS ord, c[2]::int AS version, c[3] AS model_name, c[12] AS status,
                   c[15] AS decision FROM lines),
    tab AS (SELECT mv.model_name::text, mv.version, mv.status,
                   row_number() OVER (ORDER BY created_at, model_name COLLATE "C", version) AS ord
              FROM shelfops.model_versions mv WHERE mv.tenant_id = t)
    SELECT count(*) FROM doc FULL JOIN tab USING (ord)
     WHERE doc.version IS NULL OR tab.version IS NULL OR doc.version <> tab.version
        OR doc.model_name <> tab.model_name OR doc.status <> tab.status
        OR doc.decision <> CASE tab.status WHEN 'champion' THEN 'promoted_to_champion'
                                           WHEN 'candidate' THEN 'candidate_pending'
                                           WHEN 'challenger' THEN 'challenger_shadow'
                                           WHEN 'archived' THEN 'archived' ELSE 'unknown' END
$$;
CREATE FUNCTION pg_temp.agree(t text) RETURNS TABLE(registry bigint, champion bigint, log bigint, updated_at_ok boolean)
LANGUAGE sql AS $$
    SELECT pg_temp.registry_mismatches(t), pg_temp.champion_mismatches(t), pg_temp.log_mismatches(t),
           (shelfops_registry_json(t)->>'updated_at')::timestamptz IS NOT DISTINCT FROM
           (SELECT max(greatest(created_at, promoted_at, archived_at)) FROM shelfops.model_versions WHERE tenant_id = t)
$$;

-- step 0: four candidates, no champion
SELECT * FROM pg_temp.agree('reg_a');
SELECT jsonb_array_length(shelfops_registry_json()->'models') AS entries,
       shelfops_registry_json()->>'updated_at' AS updated_at, shelfops_champion_json() AS champion;
SELECT e->>'version' AS version, e->>'model_name' AS model_name, e->>'status' AS status, e->>'dataset' AS dataset,
       e->>'feature_tier' AS tier, e->>'forecast_grain' AS grain, e->>'segment_strategy' AS segment,
       e->>'rule_overlay_enabled' AS overlay, e->>'evaluation_window_days' AS window_days,
       e->>'trained_at' AS trained_at, jsonb_typeof(e->'mae') AS mae_type
  FROM jsonb_array_elements(shelfops_registry_json()->'models') e;
-- the key set of an entry is the reference's (the exported file also keeps its order)
SELECT array_agg(k ORDER BY k) AS entry_keys
  FROM jsonb_object_keys(shelfops_registry_json()->'models'->0) k;

-- step 1: v1 becomes the first champion
UPDATE shelfops.model_versions
   SET status = 'champion', promoted_at = '2024-06-03 09:00:00+00', routing_weight = 1,
       lifecycle_events = lifecycle_events || jsonb_build_object('event_type', 'promoted_to_champion',
           'at', '2024-06-03T09:00:00+00:00', 'from_status', 'candidate', 'to_status', 'champion',
           'reason', 'first_champion', 'actor', 'regress', 'related_version', NULL, 'metadata', '{}'::jsonb)
 WHERE tenant_id = 'reg_a' AND model_name = 'demand_forecast' AND version = 1;
SELECT * FROM pg_temp.agree('reg_a');
SELECT shelfops_champion_json() AS champion;
SELECT shelfops_registry_json()->'models'->0->'last_lifecycle_event'->>'event_type' AS last_event;

-- step 2: v2 promoted, v1 archived; v3 fails its gates and becomes challenger
BEGIN;
UPDATE shelfops.model_versions SET status = 'archived', archived_at = '2024-06-04 09:00:00+00', routing_weight = 0
 WHERE tenant_id = 'reg_a' AND model_name = 'demand_forecast' AND version = 1;
UPDATE shelfops.model_versions SET status = 'champion', promoted_at = '2024-06-04 09:00:00+00', routing_weight = 1
 WHERE tenant_id = 'reg_a' AND model_name = 'demand_forecast' AND version = 2;
UPDATE shelfops.model_versions SET status = 'challenger'
 WHERE tenant_id = 'reg_a' AND model_name = 'demand_forecast' AND version = 3;
COMMIT;
SELECT * FROM pg_temp.agree('reg_a');
SELECT shelfops_champion_json() AS champion, shelfops_registry_json()->>'updated_at' AS updated_at;

-- step 3: rollback to v1 (v2 archived), and the naive model gets a champion of its own
BEGIN;
UPDATE shelfops.model_versions SET status = 'archived', archived_at = '2024-06-05 09:00:00+00', routing_weight = 0
 WHERE tenant_id = 'reg_a' AND model_name = 'demand_forecast' AND version = 2;
UPDATE shelfops.model_versions SET status = 'champion', promoted_at = '2024-06-05 09:00:00+00', archived_at = NULL,
       routing_weight = 1
 WHERE tenant_id = 'reg_a' AND model_name = 'demand_forecast' AND version = 1;
UPDATE shelfops.model_versions SET status = 'champion', promoted_at = '2024-06-05 10:00:00+00', routing_weight = 1
 WHERE tenant_id = 'reg_a' AND model_name = 'naive';
COMMIT;
SELECT * FROM pg_temp.agree('reg_a');
SELECT jsonb_pretty(shelfops_champion_json()) AS champion;
-- the log: fixed times, floats masked (they come from a real training)
SELECT regexp_replace(shelfops_performance_log(), '(?<![0-9:])-?[0-9]+\.[0-9]{6}(?![0-9])', '<f6>', 'g') AS log;
-- floats have exactly six decimals or are "-"
SELECT bool_and(c ~ '^-?[0-9]+\.[0-9]{6}$' OR c = '-') AS floats_6dp
  FROM regexp_split_to_table(shelfops_performance_log(), E'\n') l,
       LATERAL unnest((string_to_array(l, ' | '))[8:11]) c
 WHERE l ~ '^\| [0-9]+ \|';
-- a pure function of the tables: the same in another transaction, whatever the time zone
SET TimeZone = 'Asia/Tokyo';
SELECT shelfops_registry_json() = (SELECT shelfops_registry_json()) AS same_registry,
       md5(shelfops_performance_log()) = md5((SELECT shelfops_performance_log())) AS same_log,
       shelfops_registry_json()->>'updated_at' AS updated_at_utc;
RESET TimeZone;

-- run_*.json: the reference layout, values from training_runs
SELECT array_agg(k ORDER BY k) AS run_keys
  FROM (SELECT run_id FROM shelfops.training_runs WHERE tenant_id = 'reg_a' ORDER BY started_at LIMIT 1) r,
       LATERAL jsonb_object_keys(shelfops_run_json(r.run_id)) k;
SELECT array_agg(k ORDER BY k) AS param_keys
  FROM (SELECT run_id FROM shelfops.training_runs WHERE tenant_id = 'reg_a' ORDER BY started_at LIMIT 1) r,
       LATERAL jsonb_object_keys(shelfops_run_json(r.run_id)->'params') k;
SELECT array_agg(k ORDER BY k) AS metric_keys
  FROM (SELECT run_id FROM shelfops.training_runs WHERE tenant_id = 'reg_a' ORDER BY started_at LIMIT 1) r,
       LATERAL jsonb_object_keys(shelfops_run_json(r.run_id)->'metrics') k;
SELECT tr.version, j->>'experiment' AS experiment, j->>'model_name' AS model_name, j->'tags' AS tags,
       j->'params'->>'model_type' AS model_type, j->'artifacts' AS artifacts,
       j->'params'->'hyperparameters' = tr.params AS params_agree,
       (j->'params'->>'n_rows')::bigint = mv.rows_trained AS n_rows_agree,
       (j->'params'->>'n_features')::int = jsonb_array_length(mv.feature_spec->'features') AS n_features_agree,
       coalesce(j->'metrics'->'xgb_mae', j->'metrics'->'seasonal_naive_mae') = tr.metrics->'mae' AS mae_agrees,
       j->'metrics'->'ensemble_wape' = tr.metrics->'wape' AS wape_agrees,
       (j->'metrics'->>'training_time_sec')::numeric = round((tr.timings->>'total')::numeric, 1) AS time_agrees,
       (j->>'timestamp')::timestamptz = tr.started_at AS timestamp_agrees
  FROM shelfops.training_runs tr
  JOIN shelfops.model_versions mv USING (tenant_id, model_name, version)
  CROSS JOIN LATERAL shelfops_run_json(tr.run_id) j
 WHERE tr.tenant_id = 'reg_a' ORDER BY tr.started_at;
SELECT shelfops_run_json('00000000-0000-0000-0000-000000000000');
SELECT shelfops_run_json(NULL);

-- Tenant B, inserted directly: fixed values show every formatting rule, and B's
-- documents never hold A's rows (nor A's B's), though both have a demand_forecast.
INSERT INTO shelfops.model_versions (tenant_id, model_name, version, status, algorithm, dataset_id, frequency,
                                     metrics, lineage, rows_trained, created_at, promoted_at, archived_at)
VALUES ('reg_b', 'demand_forecast', 1, 'failed', 'xgboost', 'bd', 'weekly', '{}', '{}', NULL,
        '2024-01-01 00:00:00+00', NULL, NULL),
       ('reg_b', 'b_model', 1, 'archived', 'xgboost', 'bd', 'weekly',
        '{"holdout": {"mae": 2.5, "mape_nonzero": 0.125, "wape": 0.3333333333, "mase": null, "bias_pct": -0.0000001}}',
        '{"forecast_grain": "weekly", "feature_set_id": "horizon_safe_v1", "segment_strategy": "global", "rule_overlay_enabled": false, "evaluation_window_days": 56}',
        100, '2024-01-02 00:00:00+00', '2024-01-03 00:00:00+00', '2024-01-09 12:30:00+00'),
       ('reg_b', 'b_model', 2, 'champion', 'xgboost', 'bd', 'weekly',
        '{"holdout": {"mae": 12, "mape": 0.5, "wape": 1e-7, "mase": 0.9999995, "bias_pct": 3}}',
        '{"feature_tier": "cold_start", "forecast_grain": "store|product|week"}',
        2000, '2024-01-08 00:00:00+00', '2024-01-09 12:30:00+00', NULL),
       ('reg_b', 'b_model', 3, 'candidate', 'xgboost', 'bd', 'weekly', '{"holdout": {}}', '{}', 5,
        '2024-01-10 00:00:00+00', NULL, NULL);
SELECT * FROM pg_temp.agree('reg_b');
SELECT * FROM pg_temp.agree('reg_a');
SELECT jsonb_pretty(shelfops_registry_json('reg_b')) AS registry_b;
SELECT shelfops_champion_json('reg_b') AS champion_b;
SELECT shelfops_performance_log('reg_b') AS log_b;
SELECT (SELECT count(*) FROM jsonb_array_elements(shelfops_registry_json('reg_b')->'models') e
         WHERE e->>'dataset' <> 'bd') AS b_holds_other_rows,
       (SELECT count(*) FROM jsonb_array_elements(shelfops_registry_json('reg_a')->'models') e
         WHERE e->>'dataset' <> 'rg') AS a_holds_other_rows,
       position('| bd |' IN shelfops_performance_log('reg_a')) AS a_log_mentions_b;
-- a tenant with nothing
SELECT shelfops_registry_json('reg_empty') AS registry, shelfops_champion_json('reg_empty') AS champion;
SELECT shelfops_performance_log('reg_empty') AS log;
-- bad tenant ids
SELECT shelfops_registry_json('bad tenant');

-- as a tenant's own (non-superuser) roles; try() runs a statement and prints its
-- error with a run-dependent string replaced by <base>
CREATE FUNCTION pg_temp.try(sql text, base text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || replace(SQLERRM, base, '<base>');
END
$$;
SELECT run_id AS a_run FROM shelfops.training_runs WHERE tenant_id = 'reg_a' ORDER BY started_at LIMIT 1 \gset
CREATE ROLE regress_reg_analyst;
CREATE ROLE regress_reg_admin;
GRANT shelfops_analyst TO regress_reg_analyst;
GRANT shelfops_admin TO regress_reg_admin;
SET ROLE regress_reg_analyst;
SET shelfops.tenant_id = 'reg_b';
SELECT jsonb_array_length(shelfops_registry_json()->'models') AS b_entries,
       shelfops_champion_json()->'models' ? 'b_model' AS b_champion;
SELECT * FROM pg_temp.agree('reg_b');
SELECT shelfops_registry_json('reg_a');
SELECT count(*) AS runs_visible FROM shelfops.training_runs;
SELECT pg_temp.try(format('SELECT shelfops_run_json(%L)', :'a_run'), :'a_run') AS a_run_from_b;
RESET ROLE;
SET shelfops.tenant_id = 'reg_a';

-- Export.  The directory lives under /tmp, one per test cluster (its port), made by
-- the server; messages print it as <base>.
SELECT '/tmp/shelfops_regress_export_' || current_setting('port') AS exportbase \gset
SELECT 'rm -rf ' || :'exportbase' || ' && mkdir -p ' || :'exportbase' || '/ok/sub && ln -s /tmp '
       || :'exportbase' || '/ok/escape' AS prepare \gset
COPY (SELECT '') TO PROGRAM :'prepare';
-- disabled until a superuser sets the directory
SELECT pg_temp.try(format('SELECT shelfops_export_registry(%L)', :'exportbase' || '/ok'), :'exportbase') AS disabled;
SET shelfops.export_directory = :'exportbase';
-- refusals: "..", relative, outside, a symlink out, missing, NULL
SELECT pg_temp.try(format('SELECT shelfops_export_registry(%L)', p), :'exportbase') AS refused
  FROM unnest(ARRAY[:'exportbase' || '/ok/..', :'exportbase' || '/ok/sub/../../..', 'ok', '/tmp', '/',
                    :'exportbase' || '/ok/escape', :'exportbase' || '/missing',
                    :'exportbase' || '/ok/../ok']) p;
SELECT shelfops_export_registry(NULL);
-- a non-admin cannot export at all
SET ROLE regress_reg_analyst;
SELECT shelfops_export_registry('/tmp');
RESET ROLE;

-- an admin of tenant A exports A's files
SET ROLE regress_reg_admin;
SELECT f->>'name' ~ '^run_[0-9a-f-]{36}\.json$' AS is_run_file,
       CASE WHEN f->>'name' LIKE 'run_%' THEN 'run_<run_id>.json' ELSE f->>'name' END AS name,
       (f->>'bytes')::int > 0 AS has_bytes, replace(f->>'path', :'exportbase', '<base>') LIKE '<base>/ok/%' AS in_dir
  FROM jsonb_array_elements((shelfops_export_registry(:'exportbase' || '/ok'))->'files') f;
-- the sub-directory and the base itself are allowed too
SELECT jsonb_array_length(shelfops_export_registry(:'exportbase' || '/ok/sub')->'files') AS files_in_sub;
SELECT shelfops_export_registry(:'exportbase')->>'tenant_id' AS exported_tenant;
RESET ROLE;
-- the files are the documents, byte for byte, and the sizes reported are theirs
SELECT pg_read_file(:'exportbase' || '/ok/registry.json')::jsonb = shelfops_registry_json('reg_a') AS registry_file,
       pg_read_file(:'exportbase' || '/ok/champion.json')::jsonb = shelfops_champion_json('reg_a') AS champion_file,
       pg_read_file(:'exportbase' || '/ok/MODEL_PERFORMANCE_LOG.md') = shelfops_performance_log('reg_a') AS log_file,
       pg_read_file(:'exportbase' || '/ok/registry.json') LIKE E'{\n  "models": [\n    {\n      "version": 1,\n      "model_name": "demand_forecast",\n      "feature_tier"%' AS reference_key_order;
SELECT count(*) AS runs, bool_and(pg_read_file(format('%s/ok/run_%s.json', :'exportbase', run_id))::jsonb
                                  = shelfops_run_json(run_id)) AS run_files
  FROM shelfops.training_runs WHERE tenant_id = 'reg_a';
SELECT bool_and((f->>'bytes')::bigint = octet_length(pg_read_file(f->>'path'))) AS sizes_agree
  FROM jsonb_array_elements((shelfops_export_registry(:'exportbase' || '/ok'))->'files') f;
-- no temporary files remain, and nothing was written outside the target
SELECT array_agg(f ORDER BY f) FILTER (WHERE f NOT LIKE 'run_%') AS files, count(*) FILTER (WHERE f LIKE 'run_%') AS run_files
  FROM pg_ls_dir(:'exportbase' || '/ok') f;
-- after a rollback the files follow the tables
BEGIN;
UPDATE shelfops.model_versions SET status = 'archived', archived_at = '2024-06-06 09:00:00+00'
 WHERE tenant_id = 'reg_a' AND model_name = 'demand_forecast' AND version = 1;
UPDATE shelfops.model_versions SET status = 'champion', promoted_at = '2024-06-06 09:00:00+00', archived_at = NULL
 WHERE tenant_id = 'reg_a' AND model_name = 'demand_forecast' AND version = 2;
COMMIT;
SELECT jsonb_array_length(shelfops_export_registry(:'exportbase' || '/ok')->'files') AS files;
SELECT pg_read_file(:'exportbase' || '/ok/champion.json')::jsonb->'version' AS file_champion,
       pg_read_file(:'exportbase' || '/ok/registry.json')::jsonb = shelfops_registry_json('reg_a') AS registry_file,
       pg_read_file(:'exportbase' || '/ok/MODEL_PERFORMANCE_LOG.md') = shelfops_performance_log('reg_a') AS log_file;
SELECT * FROM pg_temp.agree('reg_a');

-- clean up
RESET shelfops.export_directory;
SELECT 'rm -rf ' || :'exportbase' AS cleanup \gset
COPY (SELECT '') TO PROGRAM :'cleanup';
DROP ROLE regress_reg_analyst;
DROP ROLE regress_reg_admin;
RESET shelfops.tenant_id;
-- later tests read whole tables: leave no row of these tenants behind
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN
        SELECT c.oid::regclass FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
         WHERE c.relnamespace = 'shelfops'::regnamespace AND c.relkind = 'r' AND a.attname = 'tenant_id'
    LOOP
        EXECUTE format('DELETE FROM %s WHERE tenant_id IN (''reg_a'', ''reg_b'')', t);
    END LOOP;
END
$$;
