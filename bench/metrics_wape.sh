#!/usr/bin/env bash
# bench/metrics_wape.sh: time the shelfops_wape aggregate over 1,000,000 rows next to
# the same formula written with built-in aggregates, on the throwaway cluster of
# scripts/lib.sh (database shelfops_bench).  Prints the best of 5 executor times
# (EXPLAIN (ANALYZE, TIMING OFF) "Execution Time") for a serial plan and for a
# parallel plan with 2 workers.  Stops the cluster afterwards if it started it.
#
# Usage: SHELFOPS_PGPORT=54331 bash bench/metrics_wape.sh [rows]
source "$(dirname "$0")/../scripts/lib.sh"

ROWS=${1:-1000000}
RUNS=5

install_packages
build_and_install
was_running=no
cluster_running && was_running=yes
cluster_start
[ "$was_running" = no ] && trap cluster_stop EXIT
ensure_database shelfops_bench

q() { PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -d shelfops_bench "$@"; }

say "preparing $ROWS rows"
q -c 'DROP EXTENSION IF EXISTS shelfops CASCADE' -c 'CREATE EXTENSION shelfops' >/dev/null
q <<SQL
DROP TABLE IF EXISTS wape_bench;
CREATE TABLE wape_bench AS
SELECT ((i * 7919) % 1000)::float8 / 10 AS a,
       ((i * 104729) % 1200)::float8 / 10 AS f
FROM generate_series(1::bigint, $ROWS) i;
VACUUM ANALYZE wape_bench;
SQL

# best_ms WORKERS QUERY: best "Execution Time" of $RUNS runs, after one warm-up.
best_ms() {
    local workers=$1 query=$2 best="" t
    for run in $(seq 0 "$RUNS"); do
        t=$(q -At <<SQL | sed -n 's/^Execution Time: \([0-9.]*\) ms$/\1/p'
SET max_parallel_workers_per_gather = $workers;
SET jit = off;
EXPLAIN (ANALYZE, TIMING OFF) $query;
SQL
)
        [ "$run" -eq 0 ] && continue
        if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then
            best=$t
        fi
    done
    echo "$best"
}

WAPE='SELECT shelfops_wape(a, f) FROM wape_bench'
PLAIN='SELECT sum(abs(a - f)) / sum(abs(a)) FROM wape_bench'

say "results (best of $RUNS, ms; $ROWS rows; $(nproc) CPUs)"
q -At -c "SELECT 'check: shelfops_wape = ' || shelfops_wape(a, f) || ', plain = ' || sum(abs(a - f)) / sum(abs(a)) FROM wape_bench"
printf '%-58s %10s %10s\n' "query" "serial" "2 workers"
for query in "$WAPE" "$PLAIN"; do
    printf '%-58s %10s %10s\n' "$query" "$(best_ms 0 "$query")" "$(best_ms 2 "$query")"
done
