-- Base: the shelfops schema that holds every table and view.  User-facing
-- functions are created in the extension's own schema (@extschema@, public by
-- default) so that SELECT shelfops_train(...) works with the default search_path.
CREATE SCHEMA shelfops;
COMMENT ON SCHEMA shelfops IS 'ShelfOps tables and views: datasets, sales, models, experiments, logs';
