-- Hostile input: dataset ids, model names, tenant ids, algorithm names, paths and
-- staging table names holding quotes, semicolons, "..", slashes, NUL-free control
-- characters, escape sequences and very long strings.  Each is either accepted as
-- data (and comes back unchanged) or refused with a clear error naming the argument;
-- none is executed, none creates an object, and no path reaches a file outside the
-- directory it is allowed in.  Messages print control characters as '?' and the
-- export directory as <base>.
\set VERBOSITY terse
CREATE FUNCTION pg_temp.try(sql text, base text DEFAULT NULL) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || left(regexp_replace(CASE WHEN base IS NULL THEN SQLERRM ELSE replace(SQLERRM, base, '<base>') END,
                                                   '[\x01-\x1f\x7f]', '?', 'g'), 120);
END
$$;
CREATE TEMP TABLE hostile (label text PRIMARY KEY, v text);
INSERT INTO hostile VALUES
    ('quote',        $q$x'; DROP TABLE shelfops.sales; --$q$),
    ('dquote',       'x"; DROP TABLE shelfops.sales; --'),
    ('semicolon',    'a;b'),
    ('dotdot',       '..'),
    ('dotdot_path',  '../../etc/passwd'),
    ('slash',        'a/b'),
    ('tab',          E'a\tb'),
    ('newline',      E'a\nb'),
    ('ctrl_01',      E'a\x01b'),
    ('escape_seq',   E'\x1b[2J'),
    ('space',        ' a'),
    ('empty',        ''),
    ('percent',      'a%sb%n'),
    ('unicode',      'café'),
    ('long_129',     repeat('a', 129)),
    ('long_100k',    repeat('a', 100000));

-- what a call must never leave behind (other tests' rows may be there already)
CREATE TEMP TABLE before_relations AS
SELECT c.oid, c.relname FROM pg_class c WHERE c.relnamespace = 'shelfops'::regnamespace;
CREATE TEMP TABLE before_datasets AS SELECT tenant_id, dataset_id FROM shelfops.datasets;
CREATE TEMP TABLE before_models AS SELECT DISTINCT tenant_id, model_name FROM shelfops.model_versions;
CREATE TEMP TABLE before_jobs AS SELECT tenant_id, job_id FROM shelfops.retrain_jobs;

SELECT shelfops_generate_synthetic('hi_ds', 1, 2, 60, 3) ->> 'rows' AS rows;
SELECT shelfops_train('hi_ds', 'hi_m', 'seasonal_naive') ->> 'version' AS version;

-- every identifier argument of every user-facing function, with every hostile value
SELECT t.target, h.label, pg_temp.try(format(t.call, h.v)) AS outcome
  FROM hostile h,
       (VALUES
        ('synthetic dataset_id', 'SELECT shelfops_generate_synthetic(%L, 1, 1, 14, 1)'),
        ('synthetic tenant_id',  'SELECT shelfops_generate_synthetic(''ok'', 1, 1, 14, 1, ''2024-01-01'', %L)'),
        ('load dataset_id',      'SELECT shelfops_load_dataset(%L, ''/tmp'')'),
        ('validate dataset_id',  'SELECT shelfops_validate_dataset(%L)'),
        ('train dataset_id',     'SELECT shelfops_train(%L, ''m'', ''seasonal_naive'')'),
        ('train model_name',     'SELECT shelfops_train(''hi_ds'', %L, ''seasonal_naive'')'),
        ('train algorithm',      'SELECT shelfops_train(''hi_ds'', ''m'', %L)'),
        ('train tenant_id',      'SELECT shelfops_train(''hi_ds'', ''m'', ''seasonal_naive'', tenant_id => %L)'),
        ('forecast model_name',  'SELECT count(*) FROM shelfops_forecast(%L)'),
        ('promote model_name',   'SELECT shelfops_promote(%L)'),
        ('rollback model_name',  'SELECT shelfops_rollback(%L, 1, ''r'')'),
        ('backtest model_name',  'SELECT shelfops_backtest(%L, 1)'),
        ('shadow model_name',    'SELECT count(*) FROM shelfops_score_shadow(%L)'),
        ('registry tenant_id',   'SELECT shelfops_registry_json(%L)'),
        ('add job model_name',   'SELECT shelfops_add_retrain_job(%L, ''hi_ds'')'),
        ('add job dataset_id',   'SELECT shelfops_add_retrain_job(''m'', %L)'),
        ('request model_name',   'SELECT shelfops_request_retrain(%L)'),
        ('staging side table',   'SELECT shelfops_load_dataset_from(''ok'', ''pg_class'', ''rossmann'', side_tables => jsonb_build_object(''store.csv'', %L))')
       ) AS t(target, call)
 ORDER BY t.target, h.label;

-- a staging table name that is not a name says which side_tables value it was
\set VERBOSITY default
SELECT shelfops_load_dataset_from('ok', 'pg_class', 'rossmann', side_tables => $j${"store.csv": "x'; DROP TABLE shelfops.sales; --"}$j$);
\set VERBOSITY terse

-- the same values as the session's tenant: every function refuses the session
-- itself, the views show nothing, and a row cannot be written under it
SELECT h.label,
       pg_temp.try(format('SET LOCAL shelfops.tenant_id = %L; SELECT shelfops_train(''hi_ds'', ''m'', ''seasonal_naive'')', h.v)) AS train,
       pg_temp.try(format('SET LOCAL shelfops.tenant_id = %L; INSERT INTO shelfops.datasets (dataset_id, family, frequency, grain) VALUES (''d'', ''generic'', ''daily'', ''x'')', h.v)) AS insert_row
  FROM hostile h
 WHERE h.label NOT IN ('empty')   -- an empty setting means the 'public' tenant
 ORDER BY h.label;
BEGIN;
SET LOCAL shelfops.tenant_id = $q$x'; DROP TABLE shelfops.sales; --$q$;
SELECT count(*) AS history_rows FROM shelfops.model_history;
SELECT count(*) AS health_rows FROM shelfops.model_health;
ROLLBACK;

-- identifiers inside the rules are data: dots, colons, at signs and dashes
SELECT shelfops_generate_synthetic('a..b:c@d-e_f.', 1, 1, 60, 2) ->> 'rows' AS rows_odd_id;
SELECT shelfops_train('a..b:c@d-e_f.', 'x.y:z@w--1', 'seasonal_naive') ->> 'model_name' AS odd_model;
SELECT model_name, dataset_id FROM shelfops.model_history WHERE dataset_id = 'a..b:c@d-e_f.';

-- store and product ids are free text: hostile ones are stored and forecast as data
INSERT INTO shelfops.datasets (dataset_id, family, frequency, grain, date_min, date_max)
VALUES ('hi_free', 'generic', 'daily', 'x', '2024-01-01', '2024-02-29');
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
SELECT 'hi_free', h.v, h.label, d::date, 2 + (extract(day FROM d)::int % 3)
  FROM hostile h, generate_series('2024-01-01'::date, '2024-02-29', '1 day') d
 WHERE h.label NOT IN ('long_100k');
SELECT shelfops_train('hi_free', 'hi_free_m', 'seasonal_naive') ->> 'version' AS version;
SELECT count(*) AS series_forecast,
       bool_and(f.store_id = h.v) AS ids_unchanged
  FROM (SELECT DISTINCT store_id, product_id FROM shelfops_forecast('hi_free_m', version => 1)) f
  JOIN hostile h ON h.label = f.product_id;

-- loader paths: only absolute paths of existing directories, refused by name
SELECT h.label, pg_temp.try(format('SELECT shelfops_load_dataset(''p'', %L)', h.v)) AS outcome
  FROM hostile h ORDER BY h.label;
SELECT pg_temp.try(format('SELECT shelfops_load_dataset(''p'', %L)', p)) AS outcome
  FROM unnest(ARRAY['/tmp/../nonexistent/..', '/etc/hostname', '/' || repeat('a/', 3000), E'/tmp/\x01']) p;

-- export: a directory argument that is hostile is refused; a file the export writes
-- that is already a symlink out of the directory is replaced, never written through
SELECT '/tmp/shelfops_regress_hostile_' || current_setting('port') AS base \gset
SELECT format('rm -rf %1$s && mkdir -p %1$s/ok && echo outside > %1$s/outside.txt && ln -s %1$s/outside.txt %1$s/ok/champion.json', :'base') AS prepare \gset
COPY (SELECT '') TO PROGRAM :'prepare';
SET shelfops.export_directory = :'base';
SELECT h.label, pg_temp.try(format('SELECT shelfops_export_registry(%L)', :'base' || '/' || h.v), :'base') AS outcome
  FROM hostile h ORDER BY h.label;
SELECT jsonb_array_length(shelfops_export_registry(:'base' || '/ok') -> 'files') > 2 AS exported;
SELECT pg_read_file(:'base' || '/outside.txt') AS outside_file_unchanged,
       (pg_stat_file(:'base' || '/ok/champion.json')).size > 20 AS champion_is_a_file_now,
       pg_read_file(:'base' || '/ok/champion.json')::jsonb ? 'models' AS champion_is_the_document;
RESET shelfops.export_directory;
SELECT format('rm -rf %s', :'base') AS cleanup \gset
COPY (SELECT '') TO PROGRAM :'cleanup';

-- nothing was created by a refused call, nothing was dropped by an accepted one:
-- the new relations are the two loaded datasets' partitions and their keys
SELECT (SELECT string_agg(CASE WHEN c.relname ~ '^sales_[0-9a-f]{16}_[0-9]+(_pkey)?$' THEN 'a sales partition or its key'
                               ELSE c.relname END, ', ' ORDER BY 1)
          FROM pg_class c
         WHERE c.relnamespace = 'shelfops'::regnamespace
           AND NOT EXISTS (SELECT 1 FROM before_relations b WHERE b.oid = c.oid)) AS new_relations,
       (SELECT count(*) FROM before_relations b WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = b.oid)
           AND b.relname !~ '^sales_[0-9a-f]{16}_') AS dropped_relations,
       (SELECT string_agg(tenant_id || '/' || dataset_id, ', ' ORDER BY 1)
          FROM (SELECT tenant_id, dataset_id FROM shelfops.datasets EXCEPT SELECT * FROM before_datasets) d) AS new_datasets,
       (SELECT string_agg(tenant_id || '/' || model_name, ', ' ORDER BY 1)
          FROM (SELECT DISTINCT tenant_id, model_name FROM shelfops.model_versions EXCEPT SELECT * FROM before_models) m) AS new_models,
       (SELECT count(*) FROM (SELECT tenant_id, job_id FROM shelfops.retrain_jobs EXCEPT SELECT * FROM before_jobs) j) AS new_jobs;

-- clean up what this test made
DELETE FROM shelfops.model_versions WHERE model_name IN ('hi_m', 'x.y:z@w--1', 'hi_free_m');
DELETE FROM shelfops.model_version_counters WHERE model_name IN ('hi_m', 'x.y:z@w--1', 'hi_free_m');
DELETE FROM shelfops.training_runs WHERE model_name IN ('hi_m', 'x.y:z@w--1', 'hi_free_m');
DELETE FROM shelfops.model_retraining_log WHERE model_name IN ('hi_m', 'x.y:z@w--1', 'hi_free_m');
DELETE FROM shelfops.datasets WHERE dataset_id IN ('hi_ds', 'a..b:c@d-e_f.', 'hi_free');
