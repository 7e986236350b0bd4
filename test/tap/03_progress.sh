#!/usr/bin/env bash
# Training progress (docs/progress.md) on the suite's preloaded cluster (PGHOST/PGPORT/
# PGUSER set by scripts/test.sh): a training watched from a second connection shows
# phase fit with rounds rising to 400, the tenant filter of shelfops.training_progress,
# and no slot left behind after completion, a cancel, or an ERROR inside a transaction
# block.  Every wait polls every 0.1 s up to a timeout.  Prints TAP.
set -u
ROOT=${SHELFOPS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
DB=shelfops_tap_progress
ROLE=shelfops_tap_progress_user
TMP=${SHELFOPS_CLUSTER:-$ROOT/.cluster}/tmp/progress
DIAG=${SHELFOPS_CLUSTER:-$ROOT/.cluster}/tap-progress.log	# kept after the run: what each test saw
rm -rf "$TMP"; mkdir -p "$TMP"; : >"$DIAG"
echo "1..13"

q() { psql -X -q -At -d "$DB" -c "$1" 2>&1; }
cleanup() {
    [ -n "${bg:-}" ] && kill "$bg" 2>/dev/null
    psql -X -q -d postgres -c "SET client_min_messages = warning" \
        -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$DB' AND pid <> pg_backend_pid()" \
        -c "DROP DATABASE IF EXISTS $DB" -c "DROP ROLE IF EXISTS $ROLE" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
# wait_for SQL EXPECTED SECONDS: poll until the query prints EXPECTED; 0 on success.
wait_for() {
    local i n=$(( $3 * 10 ))
    for ((i = 0; i < n; i++)); do
        [ "$(q "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
# wait_exit PID SECONDS: poll until the background job has exited.
wait_exit() {
    local i n=$(( $2 * 10 ))
    for ((i = 0; i < n; i++)); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    return 1
}
check() {
    if [ "$1" = 0 ]; then echo "ok $2 - $3"; else echo "not ok $2 - $3${4:+ # $4}"; fi | tee -a "$DIAG"
}

psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB" \
    -c "DROP ROLE IF EXISTS $ROLE" -c "CREATE DATABASE $DB" >/dev/null
q "CREATE EXTENSION shelfops" >/dev/null
q "SELECT shelfops_generate_synthetic('pg', 6, 40, 300, 1)" >/dev/null
VIEW="SELECT phase || ' ' || coalesce(rounds_total, -1) FROM shelfops.training_progress"

# 1-6: a training of a few seconds, watched from here (one sample for 1-3)
t0=$(date +%s.%N)
PGAPPNAME=progress_train psql -X -q -At -d "$DB" \
    -c "SELECT shelfops_train('pg', 'm', 'xgboost', '{\"n_estimators\": 400, \"max_depth\": 6}')->>'version'" \
    >"$TMP/train.out" 2>&1 &
bg=$!
ROW="SELECT phase || ' ' || coalesce(rounds_total, -1) || '|' || (pid = (SELECT pid FROM pg_stat_activity WHERE application_name = 'progress_train'))
            || ' ' || tenant_id || ' ' || model_name || ' ' || dataset_id || ' ' || algorithm
            || ' ' || (rows_train > 0) || ' ' || (started_at <= phase_started_at) || ' ' || (elapsed > '0'::interval)
       FROM shelfops.training_progress"
row=
for ((i = 0; i < 600; i++)); do
    row=$(q "$ROW")
    [ "${row%%|*}" = "fit 400" ] && break
    sleep 0.1
done
[ "${row%%|*}" = "fit 400" ]; check $? 1 "the view shows the training in phase fit with rounds_total 400" "saw '$row'"

[ "${row#*|}" = "true public m pg xgboost true true true" ]; check $? 2 "pid, tenant, model, dataset, algorithm, rows and times are reported" "got '$row'"

out=$(q "SET shelfops.tenant_id = 'other'; SELECT (SELECT count(*) FROM shelfops.training_progress) || ' ' || (SELECT count(*) FROM shelfops_progress())")
[ "$out" = "0 1" ]; check $? 3 "another tenant's view is empty; a superuser's function sees every tenant" "got '$out'"
first=$(q "SELECT rounds_done FROM shelfops.training_progress WHERE phase = 'fit'")
rc=1
for ((i = 0; i < 600; i++)); do
    now=$(q "SELECT rounds_done FROM shelfops.training_progress WHERE phase = 'fit'")
    if [[ "$first" =~ ^[0-9]+$ && "$now" =~ ^[0-9]+$ ]] && [ "$now" -gt "$first" ] && [ "$now" -le 400 ]; then rc=0; break; fi
    [[ "$now" =~ ^[0-9]+$ ]] || break
    sleep 0.1
done
check $rc 4 "rounds_done increases while it runs ($first -> ${now:-none})"

wait_exit "$bg" 120; rc=$?
echo "# 400-round training: $(echo "$(date +%s.%N) - $t0" | bc) s" >>"$DIAG"
out=$(cat "$TMP/train.out")
[ "$rc" = 0 ] && [ "$out" = "1" ]; check $? 5 "the training completes" "got '$out'"
out=$(q "SELECT count(*) FROM shelfops.training_progress")
[ "$out" = "0" ]; check $? 6 "after completion the view is empty" "got '$out'"

# 7-8: a cancelled training leaves no slot
psql -X -q -At -d "$DB" -c "SELECT shelfops_train('pg', 'long', 'xgboost', '{\"n_estimators\": 5000, \"max_depth\": 8}')" \
    >"$TMP/cancel.out" 2>&1 &
bg=$!
wait_for "SELECT phase FROM shelfops.training_progress WHERE model_name = 'long' AND rounds_done > 0" "fit" 60
pid=$(q "SELECT pid FROM shelfops.training_progress WHERE model_name = 'long'")
out=$(q "SELECT pg_cancel_backend($pid)")
wait_exit "$bg" 30; rc=$?
grep -q "canceling statement due to user request" "$TMP/cancel.out" && [ "$rc" = 0 ] && [ "$out" = "t" ]
check $? 7 "a training in fit can be cancelled" "$(head -c 200 "$TMP/cancel.out")"
out=$(q "SELECT count(*) FROM shelfops_progress()")
[ "$out" = "0" ]; check $? 8 "after the cancel the slot is gone" "got '$out'"

# 9-10: an ERROR inside a transaction block frees the slot before ROLLBACK
psql -X -q -At -d "$DB" >"$TMP/block.out" 2>&1 <<SQL &
BEGIN;
SELECT shelfops_train('pg', 'blk', 'xgboost', '{"n_estimators": 5000, "max_depth": 8}');
\! touch $TMP/aborted; for i in \$(seq 300); do [ -f $TMP/release ] && break; sleep 0.1; done
ROLLBACK;
SQL
bg=$!
wait_for "SELECT phase FROM shelfops.training_progress WHERE model_name = 'blk' AND rounds_done > 0" "fit" 60
pid=$(q "SELECT pid FROM shelfops.training_progress WHERE model_name = 'blk'")
q "SELECT pg_cancel_backend($pid)" >/dev/null
for ((i = 0; i < 300; i++)); do [ -f "$TMP/aborted" ] && break; sleep 0.1; done
state=$(q "SELECT state FROM pg_stat_activity WHERE pid = $pid")
[ "$state" = "idle in transaction (aborted)" ]; check $? 9 "the session is idle in an aborted transaction" "state '$state'"
out=$(q "SELECT count(*) FROM shelfops_progress()")
[ "$out" = "0" ]; check $? 10 "its slot is gone before ROLLBACK" "got '$out'"
touch "$TMP/release"
wait_exit "$bg" 30

# 11: a non-superuser analyst reads the view and the function, only for its tenant
psql -X -q -d postgres -c "CREATE ROLE $ROLE LOGIN IN ROLE shelfops_analyst" >/dev/null
out=$(psql -X -q -At -d "$DB" -U "$ROLE" -c "SELECT (SELECT count(*) FROM shelfops.training_progress) || ' ' || (SELECT count(*) FROM shelfops_progress())" 2>&1)
[ "$out" = "0 0" ]; check $? 11 "shelfops_analyst may read the view and the function" "got '$out'"

# 12-13: a training cancelled inside an EXCEPTION block frees the slot while the block goes on
PGAPPNAME=progress_exc psql -X -q -At -d "$DB" >"$TMP/exc.out" 2>&1 <<SQL &
DO \$\$
BEGIN
    PERFORM shelfops_train('pg', 'exc', 'xgboost', '{"n_estimators": 5000, "max_depth": 8}');
EXCEPTION WHEN query_canceled THEN
    RAISE NOTICE 'caught';
    PERFORM pg_sleep(3);
END
\$\$;
SQL
bg=$!
wait_for "SELECT phase FROM shelfops.training_progress WHERE model_name = 'exc' AND rounds_done > 0" "fit" 60
pid=$(q "SELECT pid FROM shelfops.training_progress WHERE model_name = 'exc'")
q "SELECT pg_cancel_backend($pid)" >/dev/null
wait_for "SELECT wait_event FROM pg_stat_activity WHERE application_name = 'progress_exc'" "PgSleep" 30; rc=$?
check $rc 12 "the cancel is caught and the block goes on" "$(head -c 200 "$TMP/exc.out")"
out=$(q "SELECT count(*) FROM shelfops_progress()")
[ "$out" = "0" ]; check $? 13 "the slot is gone while the block still runs" "got '$out'"
wait_exit "$bg" 60
