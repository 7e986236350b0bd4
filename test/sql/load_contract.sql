-- shelfops_load_dataset with family 'contract': a generic CSV export plus a tenant
-- contract profile (jsonb).  Fixtures in test/fixtures/contract/ reproduce the
-- reference's (§1.10); the contracts are written here as jsonb literals.
\getenv abs_srcdir PG_ABS_SRCDIR
\set fx :abs_srcdir '/fixtures/contract'
SELECT set_config('contract_test.fixtures', :'fx', false) IS NOT NULL AS fixtures_set;

-- Load; return 'ok' or the error (SQLSTATE, message, detail) with <fx> for the path.
CREATE FUNCTION pg_temp.try_load(ds text, dir text, c jsonb, fam text DEFAULT 'contract', th jsonb DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text; det text;
BEGIN
    PERFORM shelfops_load_dataset(ds, current_setting('contract_test.fixtures') || '/' || dir, fam, NULL, th, c);
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN replace(format('%s: %s | %s', st, msg, det), current_setting('contract_test.fixtures'), '<fx>');
END $$;

CREATE FUNCTION pg_temp.counts() RETURNS text LANGUAGE sql AS $$
    SELECT format('datasets=%s sales=%s stores=%s rejects=%s',
                  (SELECT count(*) FROM shelfops.datasets), (SELECT count(*) FROM shelfops.sales),
                  (SELECT count(*) FROM shelfops.stores), (SELECT count(*) FROM shelfops.load_rejects))
$$;

-- Canonical rows of a dataset, for comparisons.
CREATE FUNCTION pg_temp.rows(ds text)
RETURNS TABLE (store_id text, product_id text, sale_date date, quantity float8, unit_cost float8,
               unit_price float8, is_promotional bool, category text)
LANGUAGE sql AS $$
    SELECT store_id, product_id, sale_date, quantity, unit_cost, unit_price, is_promotional, category
      FROM shelfops.sales WHERE dataset_id = ds ORDER BY 1, 2, 3
$$;

-- tenant_a (reference smb_tenant_a_v1): ISO dates, product ids upper-cased.
CREATE FUNCTION pg_temp.contract_a() RETURNS jsonb LANGUAGE sql AS $$ SELECT '{
  "contract_version": "v1", "tenant_id": "productization-smb-a", "source_type": "smb_csv",
  "grain": "daily", "timezone": "America/New_York", "timezone_handling": "convert_to_profile_tz_date",
  "quantity_sign_policy": "non_negative",
  "id_columns": {"store_id": "store", "product_id": "sku"},
  "field_map": {"sale_date": "date", "store": "store_id", "sku": "product_id", "qty": "quantity"},
  "type_map": {"date": "date", "store_id": "str", "product_id": "str", "quantity": "float"},
  "unit_map": {}, "null_policy": {},
  "dedupe_keys": ["store_id", "product_id", "date"],
  "dq_thresholds": {"min_date_parse_success": 0.99, "max_required_null_rate": 0.005,
                    "max_duplicate_rate": 0.01, "min_quantity_parse_success": 0.995},
  "country_code": "US",
  "id_normalization_rules": {"product_id": {"strip": true, "upper": true}}
}'::jsonb $$;

------------------------------------------------------------------------------
-- tenant_a and tenant_b map to identical canonical rows
------------------------------------------------------------------------------
SELECT r - 'seconds' AS report
  FROM shelfops_load_dataset('ten_a', :'fx' || '/tenant_a', 'contract', contract => pg_temp.contract_a()) AS r;
SELECT family, frequency, country_code, grain, target_unit, row_count, store_count, product_count,
       date_min, date_max, contract ->> 'tenant_id' AS contract_tenant, contract = pg_temp.contract_a() AS contract_stored
  FROM shelfops.datasets WHERE dataset_id = 'ten_a';
SELECT * FROM pg_temp.rows('ten_a');

-- tenant_b (reference smb_tenant_b_v1): MM-DD-YYYY through date_format_hint, qty in tens
SELECT r -> 'rows_written' AS rows_written
  FROM shelfops_load_dataset('ten_b', :'fx' || '/tenant_b', 'contract', contract => '{
  "contract_version": "v1", "tenant_id": "productization-smb-b", "source_type": "smb_sftp",
  "grain": "daily", "timezone": "America/New_York", "timezone_handling": "source_local_date",
  "quantity_sign_policy": "non_negative",
  "id_columns": {"store_id": "location_id", "product_id": "item_code"},
  "field_map": {"event_date": "date", "item_code": "product_id", "qty_tens": "quantity"},
  "type_map": {"date": "date", "quantity": "float"},
  "unit_map": {"quantity": 10}, "null_policy": {},
  "dedupe_keys": ["store_id", "product_id", "date"],
  "dq_thresholds": {"min_date_parse_success": 0.99, "max_required_null_rate": 0.005,
                    "max_duplicate_rate": 0.01, "min_quantity_parse_success": 0.995},
  "date_format_hint": "MM-DD-YYYY"
}'::jsonb) AS r;
SELECT count(*) AS rows_differing
  FROM ((SELECT store_id, product_id, sale_date, quantity FROM pg_temp.rows('ten_a')
         EXCEPT SELECT store_id, product_id, sale_date, quantity FROM pg_temp.rows('ten_b'))
        UNION ALL
        (SELECT store_id, product_id, sale_date, quantity FROM pg_temp.rows('ten_b')
         EXCEPT SELECT store_id, product_id, sale_date, quantity FROM pg_temp.rows('ten_a'))) d;
SELECT dataset_id, country_code, frequency FROM shelfops.datasets WHERE dataset_id IN ('ten_a', 'ten_b') ORDER BY 1;

-- without the hint the same file does not parse: every date is a bad_date
SELECT pg_temp.try_load('ten_b2', 'tenant_b',
         pg_temp.contract_a() || '{"field_map": {"event_date": "date", "location_id": "store_id",
                                                "item_code": "product_id", "qty_tens": "quantity"},
                                  "id_columns": {"store_id": "location_id"}}') AS no_hint;

------------------------------------------------------------------------------
-- tenant_c: MM/DD/YYYY, store "001" kept as text, cost and price, promo Y/N;
-- two transactions on one day are summed (cost averaged), not duplicates
------------------------------------------------------------------------------
SELECT r -> 'rows_read' AS rows_read, r -> 'rows_written' AS rows_written, r -> 'aggregated_rows' AS aggregated,
       r -> 'rejected' AS rejected, r -> 'contract' -> 'missing_values' AS missing_values
  FROM shelfops_load_dataset('ten_c', :'fx' || '/tenant_c', 'contract', contract => '{
  "contract_version": "v1", "tenant_id": "productization-smb-c", "source_type": "smb_csv",
  "grain": "daily", "timezone": "America/Chicago", "timezone_handling": "source_local_date",
  "quantity_sign_policy": "non_negative",
  "id_columns": {"store_id": "location", "product_id": "sku_id"},
  "field_map": {"sale_dt": "date", "location": "store_id", "sku_id": "product_id", "units_sold": "quantity",
                "cost_usd": "unit_cost", "retail_usd": "unit_price", "promo": "is_promotional"},
  "type_map": {"date": "date", "store_id": "string", "quantity": "int", "unit_cost": "float",
               "unit_price": "float", "is_promotional": "bool"},
  "unit_map": {}, "null_policy": {"is_promotional": {"fill_value": 0}},
  "dedupe_keys": ["store_id", "product_id", "date"],
  "dq_thresholds": {"min_date_parse_success": 0.99, "max_required_null_rate": 0.005,
                    "max_duplicate_rate": 0.01, "min_quantity_parse_success": 0.995},
  "date_format_hint": "MM/DD/YYYY", "currency": "usd"
}'::jsonb) AS r;
SELECT * FROM pg_temp.rows('ten_c');

------------------------------------------------------------------------------
-- tenant_d: YYYYMMDD, tenths and cents divided, store prefix removed, and
-- clip_negative: the negative row is clipped to 0 and counted
------------------------------------------------------------------------------
CREATE FUNCTION pg_temp.contract_d() RETURNS jsonb LANGUAGE sql AS $$ SELECT '{
  "contract_version": "v2", "tenant_id": "tenant-d", "source_type": "enterprise_sftp",
  "grain": "daily", "timezone": "UTC", "timezone_handling": "utc_date",
  "quantity_sign_policy": "clip_negative",
  "id_columns": {"store_id": "STORE_CODE", "product_id": "ITEM_CODE"},
  "field_map": {"BUSINESS_DATE": "date", "STORE_CODE": "store_id", "ITEM_CODE": "product_id",
                "QTY_TENTHS": "quantity", "UNIT_COST_CENTS": "unit_cost", "UNIT_PRICE_CENTS": "unit_price"},
  "type_map": {"quantity": "float", "unit_cost": "int", "unit_price": "int"},
  "unit_map": {"quantity": {"divide_by": 10}, "unit_cost": {"multiplier": 1, "divide_by": 100},
               "unit_price": {"divide_by": 100}},
  "null_policy": {},
  "dedupe_keys": ["store_id", "product_id", "date"],
  "dq_thresholds": {"min_date_parse_success": 0.99},
  "date_format_hint": "YYYYMMDD", "quantity_uom": "each",
  "id_normalization_rules": {"store_id": {"remove_prefix": "st-", "upper": true}}
}'::jsonb $$;
SELECT r -> 'aggregated_rows' AS aggregated, r -> 'contract' -> 'clipped_negative' AS clipped,
       r -> 'rejected' AS rejected
  FROM shelfops_load_dataset('ten_d', :'fx' || '/tenant_d', 'contract', contract => pg_temp.contract_d()) AS r;
SELECT * FROM pg_temp.rows('ten_d');
-- the same file under non_negative: the negative row is a negative_quantity reject
-- (1 of 3 rows fails min_quantity_parse_success 0.995, and nothing is left behind)
SELECT pg_temp.counts() AS before_d \gset
SELECT pg_temp.try_load('ten_d', 'tenant_d', pg_temp.contract_d() || '{"quantity_sign_policy": "non_negative"}') AS non_negative,
       pg_temp.counts() = :'before_d' AS unchanged;
SELECT r -> 'rejected' AS rejected, r -> 'rows_written' AS rows_written
  FROM shelfops_load_dataset('ten_d_nn', :'fx' || '/tenant_d', 'contract', NULL, '{"min_quantity_parse_success": 0.5}',
                             pg_temp.contract_d() || '{"quantity_sign_policy": "non_negative"}') AS r;
SELECT line, reason, column_name, raw_text, detail FROM shelfops.load_rejects WHERE dataset_id = 'ten_d_nn';
SELECT * FROM pg_temp.rows('ten_d_nn');

------------------------------------------------------------------------------
-- enterprise_like: ISO timestamps with Z, a sale then a return, masters present
------------------------------------------------------------------------------
CREATE FUNCTION pg_temp.contract_e() RETURNS jsonb LANGUAGE sql AS $$ SELECT '{
  "contract_version": "v1", "tenant_id": "productization-enterprise-like", "source_type": "enterprise_event",
  "grain": "daily", "timezone": "America/New_York", "timezone_handling": "convert_to_profile_tz_date",
  "quantity_sign_policy": "allow_negative_returns",
  "id_columns": {"store_id": "store_id", "product_id": "sku", "transaction_id": "transaction_id"},
  "field_map": {"timestamp": "date", "sku": "product_id", "transaction_type": "transaction_type"},
  "type_map": {"date": "date", "quantity": "float", "unit_price": "float"},
  "unit_map": {}, "null_policy": {"transaction_type": "sale"},
  "dedupe_keys": ["store_id", "product_id", "date", "transaction_id"],
  "dq_thresholds": {"min_date_parse_success": 0.99, "max_required_null_rate": 0.005,
                    "max_duplicate_rate": 0.01, "min_quantity_parse_success": 0.995,
                    "max_store_ref_missing_rate": 0.0, "max_product_ref_missing_rate": 0.0},
  "country_code": "US"
}'::jsonb $$;
SELECT r - 'seconds' AS report
  FROM shelfops_load_dataset('ent', :'fx' || '/enterprise_like', 'contract', contract => pg_temp.contract_e()) AS r;
-- 2026-01-02T01:30Z and 03:00Z are 2026-01-01 in New York: 5 - 2 = 3
SELECT * FROM pg_temp.rows('ent');
SELECT store_id, attributes FROM shelfops.stores WHERE dataset_id = 'ent';
-- the same file under utc_date and source_local_date: both dates as written in UTC
SELECT pg_temp.try_load('ent_utc', 'enterprise_like', pg_temp.contract_e() || '{"timezone_handling": "UTC_DATE"}') AS utc,
       pg_temp.try_load('ent_local', 'enterprise_like', pg_temp.contract_e() || '{"timezone_handling": "source_local_date"}') AS local;
SELECT dataset_id, sale_date, quantity FROM shelfops.sales WHERE dataset_id IN ('ent_utc', 'ent_local') ORDER BY 1, 2;

-- dedupe on a transaction id: a repeated T2 row is a duplicate (not summed twice)
SELECT pg_temp.try_load('ent_dup', 'enterprise_dupes', pg_temp.contract_e()) AS default_threshold;
SELECT r -> 'rejected' AS rejected, r -> 'aggregated_rows' AS aggregated
  FROM shelfops_load_dataset('ent_dup', :'fx' || '/enterprise_dupes', 'contract', NULL, '{"max_duplicate_rate": 0.5}',
                             pg_temp.contract_e()) AS r;
SELECT sale_date, quantity FROM shelfops.sales WHERE dataset_id = 'ent_dup' ORDER BY 1;
-- without transaction_id among the dedupe keys the same rows are all transactions of the day
SELECT r -> 'rejected' AS rejected, r -> 'aggregated_rows' AS aggregated, r -> 'contract' -> 'dedupe' AS dedupe
  FROM shelfops_load_dataset('ent_dup2', :'fx' || '/enterprise_dupes', 'contract',
                             contract => pg_temp.contract_e() || '{"dedupe_keys": ["store_id", "product_id", "date"]}') AS r;
SELECT sale_date, quantity FROM shelfops.sales WHERE dataset_id = 'ent_dup2' ORDER BY 1;

-- an unknown product against products.csv fails max_product_ref_missing_rate 0.0
SELECT pg_temp.counts() AS before_ref \gset
SELECT pg_temp.try_load('ent', 'enterprise_unknown_product', pg_temp.contract_e()) AS product_ref,
       pg_temp.counts() = :'before_ref' AS unchanged;
SELECT r -> 'rejected' AS rejected, r -> 'rows_written' AS rows_written
  FROM shelfops_load_dataset('ent_ref', :'fx' || '/enterprise_unknown_product', 'contract', NULL,
                             '{"max_product_ref_missing_rate": 0.5}', pg_temp.contract_e()) AS r;
SELECT line, reason, column_name, detail FROM shelfops.load_rejects WHERE dataset_id = 'ent_ref';

------------------------------------------------------------------------------
-- Files: every CSV but the masters when no preferred name; store_master.csv
------------------------------------------------------------------------------
SELECT r -> 'contract' -> 'transaction_files' AS files, r -> 'contract' -> 'masters' AS masters,
       r -> 'rows_read' AS rows_read, r -> 'aggregated_rows' AS aggregated
  FROM shelfops_load_dataset('multi', :'fx' || '/multi_file', 'contract', contract => pg_temp.contract_a()) AS r;
SELECT * FROM pg_temp.rows('multi');
SELECT jsonb_path_query_array(source_files, '$[*].name') AS files FROM shelfops.datasets WHERE dataset_id = 'multi';

------------------------------------------------------------------------------
-- Bad input: the load fails naming file, first bad line and reason, and leaves
-- every table as it was
------------------------------------------------------------------------------
SELECT pg_temp.counts() AS baseline \gset
SELECT pg_temp.try_load('ten_a', 'tenant_a_bad', pg_temp.contract_a()) AS bad_rows,
       pg_temp.try_load('ten_a', 'nested', pg_temp.contract_a()) AS nested,
       pg_temp.try_load('ten_a', 'only_masters', pg_temp.contract_a()) AS no_transactions,
       pg_temp.try_load('ten_a', 'tenant_a', pg_temp.contract_a() || '{"field_map": {"sale_date": "date", "store": "store_id", "sku": "product_id"}}') AS no_quantity_source,
       pg_temp.try_load('ten_a', 'tenant_a', pg_temp.contract_a() || '{"field_map": {"sale_date": "date", "store": "store_id", "sku": "product_id", "units": "quantity"}}') AS wrong_header,
       -- (the observed distance to today changes every day: masked)
       regexp_replace(pg_temp.try_load('ten_a', 'tenant_a', pg_temp.contract_a() || '{"dq_thresholds": {"max_future_days": 7, "max_history_years": 0.5}}'),
                      'Observed [0-9.]+', 'Observed <n>') AS history_too_long,
       regexp_replace(pg_temp.try_load('ten_a', 'tenant_a_future', pg_temp.contract_a()),
                      'Observed [0-9.]+', 'Observed <n>') AS future_date,
       pg_temp.counts() = :'baseline' AS unchanged;
-- with raised thresholds the bad rows are kept as rejects, each with its reason
-- (here through the contract's own dq_thresholds)
SELECT r -> 'rejected' AS rejected, r -> 'rows_written' AS rows_written, r -> 'thresholds' AS thresholds
  FROM shelfops_load_dataset('ten_a_bad', :'fx' || '/tenant_a_bad', 'contract', contract => pg_temp.contract_a() ||
         '{"dq_thresholds": {"min_date_parse_success": 0.5, "min_quantity_parse_success": 0.5, "max_required_null_rate": 0.5}}') AS r;
SELECT line, reason, column_name, raw_text, detail FROM shelfops.load_rejects WHERE dataset_id = 'ten_a_bad' ORDER BY reject_no;

------------------------------------------------------------------------------
-- Contract validation: every error names the key (22023), nothing is written
------------------------------------------------------------------------------
SELECT pg_temp.counts() AS baseline \gset
SELECT k AS missing_key, pg_temp.try_load('ten_a', 'tenant_a', pg_temp.contract_a() - k) AS error
  FROM unnest(ARRAY['contract_version', 'tenant_id', 'source_type', 'grain', 'timezone', 'timezone_handling',
                    'quantity_sign_policy', 'id_columns', 'field_map', 'type_map', 'unit_map', 'null_policy',
                    'dedupe_keys', 'dq_thresholds']) AS k;
SELECT bad, pg_temp.try_load('ten_a', 'tenant_a', pg_temp.contract_a() || bad::jsonb) AS error
  FROM (VALUES ('{"colour": "blue"}'),
               ('{"source_type": "ftp"}'),
               ('{"timezone_handling": "local"}'),
               ('{"quantity_sign_policy": "abs"}'),
               ('{"contract_version": "1.0"}'),
               ('{"grain": "weekly"}'),
               ('{"timezone": "Mars/Olympus"}'),
               ('{"type_map": {"quantity": "decimal"}}'),
               ('{"type_map": {"date": "float"}}'),
               ('{"type_map": {}}'),
               ('{"field_map": {}}'),
               ('{"field_map": {"sale_date": "when"}}'),
               ('{"field_map": {"sale_date": "date", "store": "date"}}'),
               ('{"id_columns": {"store_id": "shop"}}'),
               ('{"unit_map": {"quantity": "ten"}}'),
               ('{"unit_map": {"quantity": {"divide_by": 0}}}'),
               ('{"unit_map": {"store_id": 2}}'),
               ('{"null_policy": {"quantity": {"fill": 0}}}'),
               ('{"null_policy": {"category": null}}'),
               ('{"dedupe_keys": []}'),
               ('{"dedupe_keys": ["store_id", "transaction_id"]}'),
               ('{"dq_thresholds": {"max_duplicate_rate": "0.01"}}'),
               ('{"dq_thresholds": {"max_duplicate_rate": 2}}'),
               ('{"dq_thresholds": {"max_typo_rate": 0.1}}'),
               ('{"dq_thresholds": {}}'),
               ('{"date_format_hint": "DD.MM.YY"}'),
               ('{"id_normalization_rules": {"product_id": {"upper": true, "lower": true}}}'),
               ('{"id_normalization_rules": {"quantity": {"upper": true}}}'),
               ('{"currency": 840}')) AS t(bad);
SELECT pg_temp.try_load('ten_a', 'tenant_a', '[1, 2]') AS not_an_object,
       pg_temp.try_load('ten_a', 'tenant_a', NULL) AS contract_family_without_contract,
       pg_temp.try_load('ten_a', 'tenant_a', pg_temp.contract_a(), 'rossmann') AS contract_with_rossmann,
       pg_temp.counts() = :'baseline' AS unchanged;
-- family 'auto' with a contract is the contract family; without one it never picks it
SELECT pg_temp.try_load('ten_auto', 'tenant_a', pg_temp.contract_a(), 'auto') AS auto_with_contract,
       pg_temp.try_load('ten_auto2', 'tenant_a', NULL, 'auto') AS auto_without_contract;
SELECT family FROM shelfops.datasets WHERE dataset_id = 'ten_auto';

-- Hostile values (found by test/fuzz/contract_fuzz.c): a NUL byte inside an id that the
-- upper rule rewrites is refused as bad text (it once overran the copy), and a quantity the
-- unit_map multiplier takes past float8 is a bad_quantity reject, never an infinite row.
SELECT r -> 'rows_written' AS rows_written, r -> 'rejected' AS rejected
  FROM shelfops_load_dataset('hostile', :'fx' || '/hostile', 'contract',
       dq_thresholds => '{"min_quantity_parse_success": 0, "max_malformed_rate": 1}',
       contract => pg_temp.contract_a() || '{"unit_map": {"quantity": 1e10},
           "dq_thresholds": {"min_quantity_parse_success": 0, "max_malformed_rate": 1}}') AS r;
SELECT line, reason, column_name, detail FROM shelfops.load_rejects WHERE dataset_id = 'hostile' ORDER BY reject_no;
SELECT product_id, sale_date, quantity FROM shelfops.sales WHERE dataset_id = 'hostile' ORDER BY 2;

DELETE FROM shelfops.datasets WHERE family = 'contract';
