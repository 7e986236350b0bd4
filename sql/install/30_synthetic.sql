-- Synthetic data: a deterministic generator of daily store x product sales with
-- a documented demand model (docs/synthetic.md).  Writes shelfops.datasets and
-- shelfops.sales for one tenant, replacing a dataset of the same id.
CREATE FUNCTION shelfops_generate_synthetic(
    dataset_id text,
    stores     integer,
    products   integer,
    days       integer,
    seed       integer,
    start_date date DEFAULT '2024-01-01',
    tenant_id  text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_generate_synthetic';
COMMENT ON FUNCTION shelfops_generate_synthetic(text, integer, integer, integer, integer, date, text) IS
  'Generate (or replace) a deterministic synthetic daily sales dataset; returns counts, dates, seconds and a content checksum';
