#!/usr/bin/env bash
# bench/synthetic.sh: time shelfops_generate_synthetic at the reference seed size
# (15 stores x 500 products x 365 days = 2,737,500 rows), best of 3, with psql \timing.
# Two cases: a new dataset id (the table holds no rows of it) and a replacement of an
# existing dataset (old partition emptied, new one written and swapped in, in one transaction).
#
#   SHELFOPS_PGPORT=54334 bash bench/synthetic.sh [stores products days]
source "$(dirname "$0")/../scripts/lib.sh"

STORES=${1:-15}
PRODUCTS=${2:-500}
DAYS=${3:-365}
RUNS=3

install_packages
build_and_install
cluster_start
ensure_database shelfops_bench
psql -X -q -d shelfops_bench -c 'DROP EXTENSION IF EXISTS shelfops CASCADE' -c 'CREATE EXTENSION shelfops'

ms() { grep -Eo 'Time: [0-9.]+ ms' | awk '{print $2}'; }
best() { sort -n | head -1; }

say "new dataset: $STORES x $PRODUCTS x $DAYS, best of $RUNS"
fresh=()
for i in $(seq $RUNS); do
    psql -X -q -d shelfops_bench -c 'DELETE FROM shelfops.datasets' -c 'VACUUM shelfops.sales' >/dev/null
    t=$(psql -X -q -d shelfops_bench -c '\timing on' \
        -c "SELECT shelfops_generate_synthetic('bench', $STORES, $PRODUCTS, $DAYS, 42) - 'dataset_id' - 'tenant_id'" \
        | tee /dev/stderr | ms)
    fresh+=("$t")
done

say "replacing the dataset: best of $RUNS"
replace=()
for i in $(seq $RUNS); do
    t=$(psql -X -q -d shelfops_bench -c '\timing on' \
        -c "SELECT shelfops_generate_synthetic('bench', $STORES, $PRODUCTS, $DAYS, 42)->>'seconds' AS seconds" \
        | tee /dev/stderr | ms)
    replace+=("$t")
done

echo
echo "new dataset ms: ${fresh[*]}  best $(printf '%s\n' "${fresh[@]}" | best)"
echo "replacement ms: ${replace[*]}  best $(printf '%s\n' "${replace[@]}" | best)"
