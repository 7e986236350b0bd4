-- shelfops_validation_report on the fixture base directories of test/fixtures/report/
-- (see its README.txt): one row per dataset key, in the reference's order, statuses
-- ready / limited / blocked / invalid / missing / error, and nothing left behind.
-- The validation's history_years check is relative to today; the 2010 Walmart rows
-- would turn it from pass to fail as the years go by, so it is raised here to keep
-- the output fixed.
\getenv abs_srcdir PG_ABS_SRCDIR
\set base :abs_srcdir '/fixtures/report'
SELECT set_config('report_test.base', :'base', false) IS NOT NULL AS base_set;

CREATE FUNCTION pg_temp.report(dir text, th jsonb DEFAULT '{"max_history_years": 100}')
RETURNS text LANGUAGE sql AS $$
    SELECT replace(shelfops_validation_report(current_setting('report_test.base') || '/' || dir, th),
                   current_setting('report_test.base'), '<fx>')
$$;

CREATE FUNCTION pg_temp.counts() RETURNS text LANGUAGE sql AS $$
    SELECT format('datasets=%s sales=%s stores=%s store_periods=%s rejects=%s events=%s indicators=%s',
                  (SELECT count(*) FROM shelfops.datasets), (SELECT count(*) FROM shelfops.sales),
                  (SELECT count(*) FROM shelfops.stores), (SELECT count(*) FROM shelfops.store_periods),
                  (SELECT count(*) FROM shelfops.load_rejects), (SELECT count(*) FROM shelfops.calendar_events),
                  (SELECT count(*) FROM shelfops.daily_indicators))
$$;
SELECT pg_temp.counts() AS baseline \gset

\pset format unaligned
\pset tuples_only on
SELECT pg_temp.report('base');
SELECT pg_temp.report('partial');
\pset format aligned
\pset tuples_only off
SELECT pg_temp.counts() = :'baseline' AS nothing_left_behind;

-- without the raised threshold the 2010 Walmart rows are "implausibly old" today
SELECT split_part(split_part(pg_temp.report('base', NULL), E'\n', 8), '|', 4) AS walmart_status;

-- a dataset of the same id as the report's own is untouched
SELECT shelfops_load_dataset('validation_report.walmart', :'base' || '/base/walmart') ->> 'rows_written' AS loaded;
SELECT pg_temp.report('base') IS NOT NULL AS reported;
SELECT row_count, readiness FROM shelfops.datasets WHERE dataset_id = 'validation_report.walmart';
DELETE FROM shelfops.datasets WHERE dataset_id = 'validation_report.walmart';

-- errors
SELECT shelfops_validation_report('relative/dir');
SELECT shelfops_validation_report(NULL);
-- errors name the path; shown relative to the fixtures so the output is the same in every checkout
CREATE FUNCTION pg_temp.report_error(dir text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM shelfops_validation_report(dir);
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN replace(SQLSTATE || ': ' || SQLERRM, current_setting('report_test.base'), '<fx>');
END $$;
SELECT set_config('report_test.base', :'base', false) IS NOT NULL AS set;
SELECT pg_temp.report_error(:'base' || '/no_such_dir');
SELECT pg_temp.report_error(:'base' || '/README.txt');
SELECT pg_temp.report('base', '{"min_history_dayz": 5}');

-- privileges: pg_read_server_files, as for the loader
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_reporter;
RESET client_min_messages;
CREATE ROLE regress_reporter;
GRANT shelfops_analyst TO regress_reporter;
SET ROLE regress_reporter;
SELECT shelfops_validation_report('/tmp');
RESET ROLE;
GRANT pg_read_server_files TO regress_reporter;
SET ROLE regress_reporter;
SET shelfops.tenant_id = 'tenant_r';
SELECT split_part(pg_temp.report('partial'), E'\n', 10) AS seed_row;
RESET shelfops.tenant_id;
RESET ROLE;
REVOKE pg_read_server_files, shelfops_analyst FROM regress_reporter;
DROP ROLE regress_reporter;
SELECT pg_temp.counts() = :'baseline' AS nothing_left_behind;
