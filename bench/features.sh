#!/usr/bin/env bash
# bench/features.sh: time series_load and features_build on a generated daily
# dataset of Rossmann's shape (1,115 series x 942 days = 1,050,330 rows, one store
# closed on Sundays in seven, promotions, holidays) with horizon 42.
# Usage: SHELFOPS_PGPORT=54337 bash bench/features.sh [runs]
# Prints one jsonb line per run (seconds per phase, rows, features, megabytes).
source "$(dirname "$0")/../scripts/lib.sh"

RUNS=${1:-3}
DB=shelfops_bench_features

install_packages
build_and_install
was_running=no
cluster_running && was_running=yes
cluster_start
[ "$was_running" = no ] && trap cluster_stop EXIT

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
psql -X -q -d "$DB" -v ON_ERROR_STOP=1 <<'SQL'
CREATE EXTENSION shelfops;
INSERT INTO shelfops.datasets (dataset_id, family, frequency, grain, date_min, date_max)
VALUES ('bench', 'synthetic', 'daily', 'store x product x day', '2013-01-01', '2015-07-31');
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity, category,
                            promo_count, is_promotional, is_holiday, holiday_type,
                            is_school_holiday, is_open)
SELECT 'bench', lpad(s::text, 4, '0'), 'total', d,
       CASE WHEN s % 7 = 0 AND extract(isodow FROM d) = 7 THEN 0
            ELSE 4000 + (s * 37) % 3000 + 800 * (extract(isodow FROM d) = 1)::int
                 + abs(hashint4(s * 10000 + (d - '2013-01-01'::date)) % 500) END,
       'type_' || (s % 4),
       ((d - '2013-01-01'::date) % 14 < 5)::int,
       (d - '2013-01-01'::date) % 14 < 5,
       extract(doy FROM d)::int IN (1, 100, 359),
       CASE WHEN extract(doy FROM d)::int IN (1, 359) THEN 'c' WHEN extract(doy FROM d)::int = 100 THEN 'b' END,
       extract(month FROM d) IN (7, 8),
       NOT (s % 7 = 0 AND extract(isodow FROM d) = 7)
  FROM generate_series(1, 1115) s,
       LATERAL (SELECT '2013-01-01'::date + k AS d FROM generate_series(0, 941) k) c;
ANALYZE shelfops.sales;
SQL
release_install_lock
echo "rows: $(psql -X -q -d "$DB" -tAc "SELECT count(*) FROM shelfops.sales")"
for i in $(seq 1 "$RUNS"); do
    psql -X -q -d "$DB" -tAc "SELECT shelfops._feature_bench('bench', 42)"
done
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null
