#!/usr/bin/env bash
# bench/sales_extent.sh: what the extent triggers on shelfops.sales (sql/install/
# 12_sales_extent.sql) cost SQL writers.  On the throwaway cluster of scripts/lib.sh
# (database shelfops_bench), for a dataset inserted by SQL: one INSERT ... SELECT of
# ROWS rows, 200 one-row UPDATEs of a quantity and 200 one-row DELETEs inside the
# calendar (on the full dataset), a DELETE of all rows, and 200 one-row INSERTs (a
# day's actuals arriving row by row), each with the triggers enabled and disabled,
# alternating, best of RUNS.  Prints milliseconds per case and the ratio.  Stops the cluster afterwards
# if it started it.
#
# Usage: bash bench/sales_extent.sh [rows] [runs]
source "$(dirname "$0")/../scripts/lib.sh"

ROWS=${1:-500000}
RUNS=${2:-3}

install_packages
build_and_install
was_running=no
cluster_running && was_running=yes
cluster_start
[ "$was_running" = no ] && trap cluster_stop EXIT
ensure_database shelfops_bench
release_install_lock

q() { PGOPTIONS='-c client_min_messages=warning' psql -X -q -At -v ON_ERROR_STOP=1 -d shelfops_bench "$@"; }
q -c 'DROP EXTENSION IF EXISTS shelfops CASCADE' -c 'CREATE EXTENSION shelfops' >/dev/null
q -c "INSERT INTO shelfops.datasets (dataset_id, family, frequency, grain) VALUES ('ext_bench', 'generic', 'daily', 'x')"

series=$(( (ROWS + 999) / 1000 ))
bulk_insert="INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
             SELECT 'ext_bench', 's' || (i % 20), 'p' || i, '2020-01-01'::date + d, 1
               FROM generate_series(0, $series - 1) i, generate_series(0, 999) d LIMIT $ROWS"
delete_all="DELETE FROM shelfops.sales WHERE dataset_id = 'ext_bench'"
small_inserts=$(for k in $(seq 0 199); do
    echo "INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity) VALUES ('ext_bench', 'one', 'row', '2030-01-01'::date + $k, 1);"
done)

# 200 one-row corrections and deletions inside the dataset's calendar (series s0/p0..)
small_updates=$(for k in $(seq 0 199); do
    echo "UPDATE shelfops.sales SET quantity = 2 WHERE tenant_id = 'public' AND dataset_id = 'ext_bench' AND store_id = 's$((k % 20))' AND product_id = 'p$k' AND sale_date = '2020-06-01';"
done)
small_deletes=$(for k in $(seq 0 199); do
    echo "DELETE FROM shelfops.sales WHERE tenant_id = 'public' AND dataset_id = 'ext_bench' AND store_id = 's$((k % 20))' AND product_id = 'p$k' AND sale_date = '2020-07-01';"
done)

# ms SQL...: wall milliseconds of the statements (one session, psql \timing summed)
ms() {
    { echo '\timing on'; printf '%s;\n' "$@"; } | q 2>&1 |
        awk '/^Time: / {s += $2} END {printf "%.1f", s}'
}
triggers() { q -c "ALTER TABLE shelfops.sales $1 TRIGGER USER"; }

declare -A best
for run in $(seq 1 "$RUNS"); do
    for mode in ENABLE DISABLE; do
        triggers "$mode"
        t_ins=$(ms "$bulk_insert")
        t_upd=$(ms "$small_updates")
        t_del1=$(ms "$small_deletes")
        t_del=$(ms "$delete_all")
        t_small=$(ms "$small_inserts")
        ms "$delete_all" >/dev/null
        for k in ins upd del1 del small; do
            v=$(eval echo "\$t_$k")
            cur=${best[$mode$k]:-}
            if [ -z "$cur" ] || awk -v a="$v" -v b="$cur" 'BEGIN {exit !(a < b)}'; then best[$mode$k]=$v; fi
        done
    done
done
triggers ENABLE

echo "sales_extent: $ROWS rows; best of $RUNS; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s %12s %12s %8s\n' case "triggers ms" "without ms" ratio
for k in ins:"INSERT ... SELECT $ROWS rows" upd:"200 one-row UPDATEs" del1:"200 one-row DELETEs" \
         del:"DELETE $ROWS rows" small:"200 one-row INSERTs"; do
    key=${k%%:*}; label=${k#*:}
    printf '%-28s %12s %12s %8s\n' "$label" "${best[ENABLE$key]}" "${best[DISABLE$key]}" \
        "$(awk -v a="${best[ENABLE$key]}" -v b="${best[DISABLE$key]}" 'BEGIN {printf "%.2f", a / b}')"
done
