# bench/train_common.sh: shared steps of the training benchmarks (train_accuracy.sh,
# train_vs_python.sh, train_forecast.sh, train_concurrency.sh).  Sourced, never run.
#
# Builds and installs this checkout, starts (or restarts) its throwaway cluster so the
# preloaded shelfops.so is this checkout's, re-creates the extension in the bench
# database from this checkout's install script, all under the machine-wide install
# lock (other checkouts install their own shelfops into the same server folders),
# then releases the lock and loads the real Rossmann and Walmart data.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

BENCH_DB=${SHELFOPS_BENCH_DB:-shelfops_bench_train}
DATASETS=$(cd "$ROOT/../shared/datasets" 2>/dev/null && pwd) || {
    echo "SKIPPED: ../shared/datasets not found"; exit 0; }

q() { PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -d "$BENCH_DB" "$@"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# bench_setup DATASET...: fresh extension and the named datasets loaded
bench_setup() {
    install_packages
    build_and_install
    cluster_start
    ensure_database "$BENCH_DB"
    q -c 'DROP EXTENSION IF EXISTS shelfops CASCADE' -c 'CREATE EXTENSION shelfops' >/dev/null
    release_install_lock
    local d t0
    for d in "$@"; do
        t0=$(now)
        q -tAc "SELECT shelfops_load_dataset('$d', '$DATASETS/$d')" >/dev/null
        echo "loaded $d: $(q -tAc "SELECT count(*) FROM shelfops.sales WHERE dataset_id = '$d'") rows in $(elapsed "$t0") s"
    done
    q -c 'ANALYZE shelfops.sales' >/dev/null
}
