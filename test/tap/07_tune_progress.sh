#!/usr/bin/env bash
# Tuning progress and cancel (docs/tuning.md, docs/progress.md) on the suite's preloaded
# cluster (PGHOST/PGPORT/PGUSER set by scripts/test.sh): a shelfops_tune watched from a
# second connection shows phase tune with trials_total and trials_done rising, then a
# cancel in the middle of the search stops it, frees the slot and writes nothing.
# Every wait polls every 0.1 s up to a timeout.  Prints TAP.
set -u
ROOT=${SHELFOPS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
DB=shelfops_tap_tune
TMP=${SHELFOPS_CLUSTER:-$ROOT/.cluster}/tmp/tune
rm -rf "$TMP"; mkdir -p "$TMP"
echo "1..5"

q() { psql -X -q -At -d "$DB" -c "$1" 2>&1; }
cleanup() {
    [ -n "${bg:-}" ] && kill "$bg" 2>/dev/null
    psql -X -q -d postgres -c "SET client_min_messages = warning" \
        -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$DB' AND pid <> pg_backend_pid()" \
        -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
check() {
    if [ "$1" = 0 ]; then echo "ok $2 - $3"; else echo "not ok $2 - $3${4:+ # $4}"; fi
}

psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB" \
    -c "CREATE DATABASE $DB" >/dev/null
q "CREATE EXTENSION shelfops" >/dev/null
q "SELECT shelfops_generate_synthetic('tp', 4, 20, 300, 1)" >/dev/null

# budget 9, 3 folds: rungs of 9 and 3 configurations, 12 evaluations in all
PGAPPNAME=tune_progress psql -X -q -At -d "$DB" \
    -c "SELECT shelfops_tune('tp', 'tm', '{\"max_depth\": {\"min\": 4, \"max\": 8}, \"n_estimators\": 400, \"eta\": [0.02, 0.05, 0.1]}', budget => 9)" \
    >"$TMP/tune.out" 2>&1 &
bg=$!

# 1: phase tune with trials_total 12 and the tuning's names
ROW="SELECT phase || ' ' || coalesce(trials_total, -1) || '|' || model_name || ' ' || dataset_id || ' ' || algorithm
       FROM shelfops.training_progress"
row=
for ((i = 0; i < 600; i++)); do
    row=$(q "$ROW")
    [ "${row%%|*}" = "tune 12" ] && break
    sleep 0.1
done
[ "$row" = "tune 12|tm tp xgboost" ]; check $? 1 "the view shows the tuning in phase tune with trials_total 12" "saw '$row'"

# 2: trials_done rises while rounds of the current fit are reported
first=$(q "SELECT trials_done FROM shelfops.training_progress WHERE phase = 'tune'")
rc=1
for ((i = 0; i < 1200; i++)); do
    now=$(q "SELECT trials_done || ' ' || (rounds_total = 400) FROM shelfops.training_progress WHERE phase = 'tune'")
    n=${now%% *}
    if [[ "$first" =~ ^[0-9]+$ && "$n" =~ ^[0-9]+$ ]] && [ "$n" -gt "$first" ] && [ "$n" -lt 12 ] \
        && [ "${now#* }" = "true" ]; then rc=0; break; fi
    [[ "$n" =~ ^[0-9]+$ ]] || break
    sleep 0.1
done
check $rc 2 "trials_done rises during the search, with rounds of 400" "first '$first', then '$now'"

# 3-5: a cancel in the middle of the search
pid=$(q "SELECT pid FROM pg_stat_activity WHERE application_name = 'tune_progress'")
out=$(q "SELECT pg_cancel_backend($pid)")
rc=1
for ((i = 0; i < 300; i++)); do
    kill -0 "$bg" 2>/dev/null || { rc=0; break; }
    sleep 0.1
done
grep -q "canceling statement due to user request" "$TMP/tune.out" && [ "$rc" = 0 ] && [ "$out" = "t" ]
check $? 3 "a tuning in its search can be cancelled" "$(head -c 200 "$TMP/tune.out")"
bg=
out=$(q "SELECT count(*) FROM shelfops.training_progress")
[ "$out" = "0" ]; check $? 4 "after the cancel the slot is gone" "got '$out'"
out=$(q "SELECT (SELECT count(*) FROM shelfops.tuning_trials) || ' ' || (SELECT count(*) FROM shelfops.model_versions)
                || ' ' || (SELECT count(*) FROM shelfops.model_experiments)")
[ "$out" = "0 0 0" ]; check $? 5 "a cancelled tuning writes no trial, version or experiment" "got '$out'"
