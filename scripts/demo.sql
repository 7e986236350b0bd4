-- The main job on a fresh database: install the extension, show what it holds.
-- Run by scripts/demo.sh; every step prints what it did.
\set ON_ERROR_STOP 1
\pset footer off
DROP EXTENSION IF EXISTS shelfops CASCADE;
CREATE EXTENSION shelfops;

\echo
\echo '== shelfops tables'
SELECT c.relname AS "table", obj_description(c.oid, 'pg_class') AS "holds"
  FROM pg_class c
 WHERE c.relnamespace = 'shelfops'::regnamespace AND c.relkind = 'r'
 ORDER BY 1;

\echo '== default promotion gate thresholds (shelfops.gate_policy)'
SELECT max_mae_regression_pct, max_mape_regression_pct, max_stockout_miss_pp, max_overstock_rate_pp,
       require_business_metrics, min_scored_rows
  FROM shelfops.gate_policy WHERE tenant_id = '*';
