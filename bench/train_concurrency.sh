#!/usr/bin/env bash
# bench/train_concurrency.sh: two shelfops_train on the full Rossmann data (horizon 42)
# at once, in two backends, with shelfops.xgboost_threads = 1 each and then = 2 each,
# against one training alone with the same setting.  Prints each training's
# seconds (the function's own total and fit phase) and the slowdown vs alone
# (target: no worse than about 2x on this 2-core machine).  The cluster runs with
# OMP_WAIT_POLICY=passive (scripts/lib.sh).
#
#   SHELFOPS_PGPORT=54361 bash bench/train_concurrency.sh
source "$(dirname "$0")/train_common.sh"

bench_setup rossmann
one() {  # THREADS MODEL: prints "total fit"
    PGOPTIONS="-c shelfops.xgboost_threads=$1 -c client_min_messages=warning" \
        psql -X -q -v ON_ERROR_STOP=1 -d "$BENCH_DB" -tAc \
        "SELECT (r->'seconds'->>'total') || ' ' || (r->'seconds'->>'fit') FROM shelfops_train('rossmann', '$2', horizon => 42) r"
}
for threads in 1 2; do
    la=$(loadavg)
    alone=$(one "$threads" conc_alone)
    echo "threads=$threads alone: total/fit $alone s (load before [$la])"
    la=$(loadavg); t0=$(now)
    a=$(mktemp); b=$(mktemp)
    one "$threads" conc_a >"$a" & pa=$!
    one "$threads" conc_b >"$b" & pb=$!
    wait "$pa" "$pb"
    echo "threads=$threads together: A total/fit $(cat "$a") s, B total/fit $(cat "$b") s, both done in $(elapsed "$t0") s (load before [$la])"
    awk -v al="${alone%% *}" -v a="$(cut -d' ' -f1 "$a")" -v b="$(cut -d' ' -f1 "$b")" -v th="$threads" \
        'BEGIN { m = (a > b ? a : b) / al; printf "threads=%d slowdown vs alone: A %.2fx, B %.2fx (target about 2x or less: %s)\n", th, a / al, b / al, (m <= 2.1 ? "met" : "MISSED") }'
    rm -f "$a" "$b"
done
