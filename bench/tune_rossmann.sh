#!/usr/bin/env bash
# bench/tune_rossmann.sh: shelfops_tune on the full Rossmann data (horizon 42, holdout
# the last 42 days) against one default training, in a fresh bench database.
# Prints the default training's holdout WAPE and seconds (one training before the tune and
# one after it, the ratio uses their mean: the machine's load moves), the tuned candidate's
# holdout WAPE and the whole tune's seconds (read, features, search, final fit), the ratio,
# the search schedule, the winner and every trial, then the targets (tuned WAPE <= 0.086
# and no worse than the defaults', tune <= 8x one default training).
#
#   SHELFOPS_PGPORT=54343 bash bench/tune_rossmann.sh [SEARCH_JSON] [BUDGET]
source "$(dirname "$0")/train_common.sh"

SEARCH=${1:-'{"max_depth": {"min": 6, "max": 10}, "eta": {"min": 0.03, "max": 0.15, "log": true}, "min_child_weight": {"min": 1, "max": 30, "log": true}, "subsample": {"min": 0.6, "max": 1.0}, "colsample_bytree": {"min": 0.5, "max": 1.0}}'}
BUDGET=${2:-20}

bench_setup rossmann
echo "machine: $(nproc) cores, load average $(loadavg), shelfops.xgboost_threads = $(q -tAc 'SHOW shelfops.xgboost_threads')"

# default_training: one shelfops_train with the default parameters; sets DEF_WAPE, DEF_SECS
default_training() {
    local t0
    t0=$(now)
    DEF_WAPE=$(q -tAc "SELECT r->'metrics'->>'wape' FROM shelfops_train('rossmann', 'tune_defaults', horizon => 42) r")
    DEF_SECS=$(elapsed "$t0")
    echo "defaults: holdout WAPE $DEF_WAPE in $DEF_SECS s (load average $(loadavg))"
}

say "one default training (shelfops_train, horizon 42)"
default_training
def_wape=$DEF_WAPE
def_before=$DEF_SECS

say "shelfops_tune, budget $BUDGET, 3 folds, horizon 42: $SEARCH"
t0=$(now)
out=$(q -tAc "SELECT r FROM shelfops_tune('rossmann', 'tune_ross', '$SEARCH'::jsonb, budget => $BUDGET, folds => 3, horizon => 42) r")
tune_secs=$(elapsed "$t0")
tuned_wape=$(q -tAc "SELECT '$out'::jsonb->'candidate'->'metrics'->>'wape'")
echo "tuned:    holdout WAPE $tuned_wape in $tune_secs s (load average $(loadavg))"
q -tAc "SELECT 'schedule ' || (r->'rungs')::text || E'\nwinner   ' || (r->'winner')::text || E'\ndefaults ' || (r->'defaults')::text || E'\nseconds  ' || (r->'seconds')::text || E'\nfinal    ' || (r->'candidate'->'seconds')::text FROM (SELECT '$out'::jsonb AS r) x"
say "one default training again (shelfops_train, horizon 42)"
default_training
def_secs=$(awk -v a="$def_before" -v b="$DEF_SECS" 'BEGIN { printf "%.3f", (a + b) / 2 }')
echo "default training: $def_before s before the tune, $DEF_SECS s after, mean $def_secs s"
say "trials"
q -c "SELECT trial, status, rung, round(score::numeric, 4) AS score, sampled, rounds, round(seconds::numeric, 1) AS seconds
        FROM shelfops.tuning_trials WHERE model_name = 'tune_ross' ORDER BY rung DESC, score"
echo
awk -v d="$def_wape" -v t="$tuned_wape" -v ds="$def_secs" -v ts="$tune_secs" 'BEGIN {
    printf "defaults WAPE %.4f in %.1f s; tuned WAPE %.4f in %.1f s; tune / default training = %.2fx\n", d, ds, t, ts, ts / ds;
    printf "tuned WAPE <= 0.086: %s; no worse than the defaults: %s; tune <= 8x: %s\n",
        (t <= 0.086 ? "met" : "MISSED"), (t <= d ? "met" : "MISSED"), (ts <= 8 * ds ? "met" : "MISSED") }'
