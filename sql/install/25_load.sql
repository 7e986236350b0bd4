-- Loading: shelfops_load_dataset (src/load.c and the per-family files), the side
-- tables it fills beside shelfops.sales, and the rejects it keeps.  Every table here
-- belongs to one dataset row and goes with it (ON DELETE CASCADE), so replacing or
-- dropping a dataset never leaves side rows behind.

-- Store master rows: Rossmann store.csv, Walmart stores.csv.  Columns a family does
-- not have stay NULL; source columns without a column of their own go to attributes.
CREATE TABLE shelfops.stores (
    tenant_id              shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    dataset_id             shelfops.ident NOT NULL,
    store_id               text COLLATE "C" NOT NULL,
    store_type             text,
    assortment             text,
    size                   integer CHECK (size >= 0),
    competition_distance   float8 CHECK (competition_distance >= 0),
    competition_open_since date,                    -- first day of CompetitionOpenSince month/year
    promo2                 boolean,
    promo2_since           date,                    -- Monday of Promo2SinceWeek (ISO week) of Promo2SinceYear
    promo_interval         text,                    -- e.g. 'Jan,Apr,Jul,Oct'
    city                   text,                    -- Favorita
    state                  text,                    -- Favorita (province)
    cluster                integer,                 -- Favorita
    attributes             jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, dataset_id, store_id),
    FOREIGN KEY (tenant_id, dataset_id) REFERENCES shelfops.datasets (tenant_id, dataset_id) ON DELETE CASCADE
);
COMMENT ON TABLE shelfops.stores IS
  'Store master of a dataset (Rossmann store.csv, Walmart stores.csv, Favorita stores.csv)';

-- Store x period side data: Walmart features.csv ('NA' is NULL).
CREATE TABLE shelfops.store_periods (
    tenant_id     shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    dataset_id    shelfops.ident NOT NULL,
    store_id      text COLLATE "C" NOT NULL,
    period        date NOT NULL,
    temperature   float8,
    fuel_price    float8,
    markdown1     float8,
    markdown2     float8,
    markdown3     float8,
    markdown4     float8,
    markdown5     float8,
    cpi           float8,
    unemployment  float8,
    is_holiday    boolean,
    PRIMARY KEY (tenant_id, dataset_id, store_id, period),
    FOREIGN KEY (tenant_id, dataset_id) REFERENCES shelfops.datasets (tenant_id, dataset_id) ON DELETE CASCADE
);
COMMENT ON TABLE shelfops.store_periods IS
  'Store x period side data of a dataset (Walmart features.csv)';

-- The first rejected rows of a load, per reason (load_report has the full counts).
-- Dated events of a dataset's own calendar (Favorita holidays_events.csv), kept
-- as published, transferred rows included; the loader applies them to sales rows
-- by locale.
CREATE TABLE shelfops.calendar_events (
    tenant_id    shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    dataset_id   shelfops.ident NOT NULL,
    event_no     integer NOT NULL CHECK (event_no > 0),   -- line order in the source
    event_date   date NOT NULL,
    event_type   text NOT NULL CHECK (event_type IN ('Holiday', 'Transfer', 'Additional', 'Bridge', 'Work Day', 'Event')),
    locale       text NOT NULL CHECK (locale IN ('National', 'Regional', 'Local')),
    locale_name  text NOT NULL,                            -- country, state or city
    description  text,
    transferred  boolean NOT NULL,
    PRIMARY KEY (tenant_id, dataset_id, event_no),
    FOREIGN KEY (tenant_id, dataset_id) REFERENCES shelfops.datasets (tenant_id, dataset_id) ON DELETE CASCADE
);
COMMENT ON TABLE shelfops.calendar_events IS
  'Holidays and events of a dataset''s own calendar (Favorita holidays_events.csv)';

-- Calendar-level numeric series of a dataset (Favorita oil.csv); NULL = unknown.
CREATE TABLE shelfops.daily_indicators (
    tenant_id    shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    dataset_id   shelfops.ident NOT NULL,
    indicator    text NOT NULL,
    day          date NOT NULL,
    value        float8 CHECK (value NOT IN ('NaN', 'Infinity', '-Infinity')),
    PRIMARY KEY (tenant_id, dataset_id, indicator, day),
    FOREIGN KEY (tenant_id, dataset_id) REFERENCES shelfops.datasets (tenant_id, dataset_id) ON DELETE CASCADE
);
COMMENT ON TABLE shelfops.daily_indicators IS
  'Dated indicators of a dataset (Favorita WTI oil price)';

CREATE TABLE shelfops.load_rejects (
    tenant_id    shelfops.ident NOT NULL DEFAULT shelfops.current_tenant(),
    dataset_id   shelfops.ident NOT NULL,
    reject_no    integer NOT NULL CHECK (reject_no > 0),
    file         text NOT NULL,                     -- relative to the dataset directory
    line         bigint NOT NULL CHECK (line > 0),  -- physical line where the record starts
    reason       text NOT NULL,
    column_name  text,                              -- NULL when the whole record is at fault
    raw_text     text NOT NULL,                     -- the record's fields re-joined by ',', truncated
    detail       text,
    PRIMARY KEY (tenant_id, dataset_id, reject_no),
    FOREIGN KEY (tenant_id, dataset_id) REFERENCES shelfops.datasets (tenant_id, dataset_id) ON DELETE CASCADE
);
COMMENT ON TABLE shelfops.load_rejects IS
  'First rejected rows of each load, up to 100 per reason, with file, line, column and text';

SELECT pg_catalog.pg_extension_config_dump('shelfops.stores', '');
SELECT pg_catalog.pg_extension_config_dump('shelfops.store_periods', '');
SELECT pg_catalog.pg_extension_config_dump('shelfops.load_rejects', '');
SELECT pg_catalog.pg_extension_config_dump('shelfops.calendar_events', '');
SELECT pg_catalog.pg_extension_config_dump('shelfops.daily_indicators', '');

-- contract: a tenant contract profile (family 'contract', src/contract.c and
-- src/load_contract.c); NULL for the other families.
CREATE FUNCTION shelfops_load_dataset(dataset_id text, path text, family text DEFAULT 'auto',
                                      tenant_id text DEFAULT NULL, dq_thresholds jsonb DEFAULT NULL,
                                      contract jsonb DEFAULT NULL)
RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_load_dataset';
COMMENT ON FUNCTION shelfops_load_dataset(text, text, text, text, jsonb, jsonb) IS
  'Load a server-side dataset directory (favorita, walmart, rossmann, seed auto-detected; contract with a tenant contract profile) into shelfops.sales and its side tables; needs pg_read_server_files';

CREATE FUNCTION shelfops_load_dataset_from(dataset_id text, staging regclass, family text,
                                           tenant_id text DEFAULT NULL, side_tables jsonb DEFAULT NULL,
                                           dq_thresholds jsonb DEFAULT NULL)
RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_load_dataset_from';
COMMENT ON FUNCTION shelfops_load_dataset_from(text, regclass, text, text, jsonb, jsonb) IS
  'Load a dataset from staging tables filled with \copy, in the original layout of the family''s files (main table + side_tables); needs SELECT on them, not pg_read_server_files';
