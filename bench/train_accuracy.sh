#!/usr/bin/env bash
# bench/train_accuracy.sh: holdout accuracy of shelfops_train with the default
# parameters on the real Rossmann (horizon 42: holdout = last 42 days) and Walmart
# (horizon 13: holdout = last 13 weeks) data, loaded into a fresh bench database.
# Prints, per dataset, the holdout WAPE, the seasonal-naive WAPE on the same rows,
# the 90 % interval coverage, the row counts and the seconds per phase; then the
# issue's targets (Rossmann WAPE <= 0.090, Walmart <= 0.092).
#
# Extra arguments are parameter sets (jsonb) also trained on Walmart, one line each:
#   SHELFOPS_PGPORT=54361 bash bench/train_accuracy.sh '{"max_depth": 6}' '{"eta": 0.1}'
source "$(dirname "$0")/train_common.sh"

bench_setup rossmann walmart
echo "machine: $(nproc) cores, load average $(loadavg), shelfops.xgboost_threads = $(q -tAc 'SHOW shelfops.xgboost_threads')"

# train DATASET MODEL HORIZON PARAMS: one line of figures (and the wape for the summary)
train() {
    local out
    out=$(q -tAc "SELECT r->'metrics'->>'wape', r->'seasonal_naive'->>'wape', r->'metrics'->>'coverage',
                         r->'rows', r->'seconds'
                    FROM shelfops_train('$1', '$2', params => '$4'::jsonb, horizon => $3) r" -F ' | ')
    awk -F ' \\| ' -v d="$1" -v p="$4" '{ printf "%-8s %-40s WAPE %.4f  naive %.4f  coverage %.3f  rows %s  seconds %s\n", d, p, $1, $2, $3, $4, $5 }' <<<"$out"
    LAST_WAPE=$(cut -d'|' -f1 <<<"$out" | tr -d ' ')
}

say "default parameters"
train rossmann acc_ross 42 '{}'
ross=$LAST_WAPE
train walmart acc_wal 13 '{}'
wal=$LAST_WAPE
if [ $# -gt 0 ]; then
    say "Walmart, other parameter sets"
    for p in "$@"; do train walmart acc_wal 13 "$p"; done
fi
echo
awk -v r="$ross" -v w="$wal" 'BEGIN {
    printf "Rossmann holdout WAPE %.4f (target <= 0.090): %s\n", r, (r <= 0.090 ? "met" : "MISSED");
    printf "Walmart  holdout WAPE %.4f (target <= 0.092): %s\n", w, (w <= 0.092 ? "met" : "MISSED") }'
