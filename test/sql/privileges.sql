-- Roles and row-level security, checked as non-superuser roles: tenants see only
-- their own rows, the app role reads forecasts only, analysts cannot promote, and
-- the audit tables are append-only.
\set VERBOSITY terse
CREATE ROLE regress_app;
CREATE ROLE regress_analyst;
CREATE ROLE regress_admin;
GRANT shelfops_app TO regress_app;
GRANT shelfops_analyst TO regress_analyst;
GRANT shelfops_admin TO regress_admin;

-- as superuser: rows for two tenants
INSERT INTO shelfops.datasets (tenant_id, dataset_id, family, frequency, grain)
VALUES ('tenant_a', 'd', 'synthetic', 'daily', 'x'), ('tenant_b', 'd', 'synthetic', 'daily', 'x');
INSERT INTO shelfops.sales (tenant_id, dataset_id, store_id, product_id, sale_date, quantity)
VALUES ('tenant_a', 'd', 's', 'p', '2024-01-01', 1), ('tenant_b', 'd', 's', 'p', '2024-01-01', 2);
INSERT INTO shelfops.model_versions (tenant_id, model_name, version, algorithm, dataset_id)
VALUES ('tenant_a', 'm', 1, 'xgboost', 'd'), ('tenant_b', 'm', 1, 'xgboost', 'd');
INSERT INTO shelfops.forecasts (tenant_id, model_name, version, store_id, product_id, forecast_origin, target_date, forecast)
VALUES ('tenant_a', 'm', 1, 's', 'p', '2024-01-01', '2024-01-02', 5),
       ('tenant_b', 'm', 1, 's', 'p', '2024-01-01', '2024-01-02', 6);
INSERT INTO shelfops.model_experiments (tenant_id, experiment_name, hypothesis, experiment_type, model_name)
VALUES ('tenant_b', 'e', 'h', 'promotion_decision', 'm');

-- tenant A's analyst sees tenant A only, in every table
SET ROLE regress_analyst;
SET shelfops.tenant_id = 'tenant_a';
SELECT tenant_id, quantity FROM shelfops.sales;
SELECT tenant_id, version FROM shelfops.model_versions;
SELECT tenant_id, forecast FROM shelfops.forecasts;
SELECT count(*) AS experiments_visible FROM shelfops.model_experiments;
-- and cannot write rows for tenant B, nor change what it cannot see
INSERT INTO shelfops.sales (tenant_id, dataset_id, store_id, product_id, sale_date, quantity)
VALUES ('tenant_b', 'd', 's', 'p', '2024-01-02', 9);
UPDATE shelfops.sales SET quantity = 0 WHERE tenant_id = 'tenant_b';
DELETE FROM shelfops.forecasts WHERE tenant_id = 'tenant_b';
-- its own writes keep its dataset's extent (the triggers run with its rights)
INSERT INTO shelfops.sales (tenant_id, dataset_id, store_id, product_id, sale_date, quantity)
VALUES ('tenant_a', 'd', 's', 'p', '2024-01-02', 3), ('tenant_a', 'd', 's', 'p', '2024-01-03', 4);
SELECT row_count, date_min, date_max FROM shelfops.datasets;
UPDATE shelfops.sales SET sale_date = '2024-01-05' WHERE sale_date = '2024-01-03';
SELECT row_count, date_min, date_max FROM shelfops.datasets;
DELETE FROM shelfops.sales WHERE sale_date > '2024-01-01';
SELECT row_count, date_min, date_max FROM shelfops.datasets;
SELECT shelfops_refresh_dataset_extent('d') AS changed;
-- ... and it may not act for another tenant
SELECT shelfops_refresh_dataset_extent('d', 'tenant_b');
-- an unset tenant setting means the 'public' tenant, which has nothing here
RESET shelfops.tenant_id;
SELECT count(*) AS public_rows FROM shelfops.sales;
SET shelfops.tenant_id = 'tenant_a';
-- analysts cannot promote: no UPDATE on model_versions
UPDATE shelfops.model_versions SET status = 'champion', promoted_at = now();
-- append-only audit tables
INSERT INTO shelfops.model_experiments (experiment_name, hypothesis, experiment_type, model_name)
VALUES ('e', 'h', 'promotion_decision', 'm');
UPDATE shelfops.model_experiments SET decision = 'forged';
DELETE FROM shelfops.model_experiments;
INSERT INTO shelfops.model_retraining_log (model_name, trigger_type) VALUES ('m', 'manual');
UPDATE shelfops.model_retraining_log SET status = 'crashed', completed_at = now();
-- the default gate policy is readable, not writable
SELECT count(*) AS policies_visible FROM shelfops.gate_policy;
UPDATE shelfops.gate_policy SET max_mae_regression_pct = 50;
RESET ROLE;

-- admins promote within their tenant only
SET ROLE regress_admin;
SET shelfops.tenant_id = 'tenant_a';
UPDATE shelfops.model_versions SET status = 'champion', promoted_at = now() WHERE model_name = 'm';
UPDATE shelfops.model_experiments SET decision = 'forged';
-- ... and tighten their own gates, not the shared default
INSERT INTO shelfops.gate_policy (tenant_id, model_name, max_mae_regression_pct) VALUES ('tenant_a', '*', 1);
UPDATE shelfops.gate_policy SET max_mae_regression_pct = 50 WHERE tenant_id = '*';
INSERT INTO shelfops.gate_policy (tenant_id, model_name) VALUES ('tenant_b', '*');
RESET ROLE;
SELECT tenant_id, version, status FROM shelfops.model_versions ORDER BY 1;
SELECT tenant_id, model_name, max_mae_regression_pct FROM shelfops.gate_policy ORDER BY 1;

-- the app role reads forecasts of its tenant, nothing else
SET ROLE regress_app;
SET shelfops.tenant_id = 'tenant_b';
SELECT tenant_id, forecast FROM shelfops.forecasts;
SELECT count(*) FROM shelfops.sales;
SELECT count(*) FROM shelfops.model_versions;
INSERT INTO shelfops.forecasts (model_name, version, store_id, product_id, forecast_origin, target_date, forecast)
VALUES ('m', 1, 's', 'p', '2024-01-01', '2024-01-03', 1);
SELECT shelfops.allocate_version('tenant_b', 'm');
RESET ROLE;
RESET shelfops.tenant_id;

-- an analyst's load: the partition DDL runs as the extension's owner, the
-- tenant checks stay the caller's, and the partition is not readable directly
SET ROLE regress_analyst;
SET shelfops.tenant_id = 'tenant_a';
SELECT shelfops_generate_synthetic('p_load', 1, 2, 28, 1) ->> 'rows' AS rows_loaded;
SELECT shelfops_generate_synthetic('p_load', 1, 2, 28, 1) ->> 'rows' AS rows_replaced;
SELECT count(*) AS visible FROM shelfops.sales WHERE dataset_id = 'p_load';
SELECT shelfops_generate_synthetic('p_load', 1, 2, 28, 1, '2024-01-01', 'tenant_b');
RESET ROLE;
SELECT count(*) AS partitions,
       bool_or(has_table_privilege('regress_analyst', c.oid, 'SELECT')) AS analyst_reads_partition,
       bool_and(c.relowner = (SELECT extowner FROM pg_extension WHERE extname = 'shelfops')) AS owned_by_extension_owner
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'shelfops.sales'::regclass
   AND pg_get_expr(c.relpartbound, c.oid) LIKE '%''p_load''%';
RESET shelfops.tenant_id;

DELETE FROM shelfops.datasets;
DELETE FROM shelfops.model_versions;
DELETE FROM shelfops.forecasts;
DELETE FROM shelfops.model_experiments;
DELETE FROM shelfops.model_retraining_log;
DELETE FROM shelfops.gate_policy WHERE tenant_id <> '*';
DROP ROLE regress_app, regress_analyst, regress_admin;
