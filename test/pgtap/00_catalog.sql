-- Catalog invariants of the installed extension (pgTAP).
BEGIN;
SELECT plan(2);
SELECT has_extension('shelfops', 'shelfops is installed');
SELECT has_schema('shelfops', 'schema shelfops exists');
SELECT * FROM finish();
ROLLBACK;
