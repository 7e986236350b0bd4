#!/usr/bin/env bash
# Faults on purpose, in a cluster of its own: statement_timeout fires inside
# every long function (load, synthetic generation, validation, training,
# backtest, forecast, shadow scoring, promotion) and shelfops.training_memory_mb
# is set below what a training and a backtest need.  Each time: the error is
# clean (SQLSTATE 57014 / 54000), nothing is left behind (the tables the
# function writes are unchanged), the same backend keeps working, and the same
# call then succeeds.  Timeouts are a fraction of each call's measured
# duration on this data; a call that finishes inside its timeout fails the
# test (it would prove nothing).  Prints TAP.
set -u
ROOT=${SHELFOPS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=$(pg_config --bindir)
DIR=${SHELFOPS_CLUSTER:-$ROOT/.cluster}/tap-faults
PORT=$(( ${SHELFOPS_PGPORT:-54329} + 1003 ))
ROSSMANN=${SHELFOPS_DATASETS:-$ROOT/../shared/datasets}/rossmann
DB=shelfops_f
echo "1..12"
rm -rf "$DIR"; install -d -o postgres -g postgres -m 755 "$DIR" "$DIR/sock"; install -d -o postgres -g postgres -m 700 "$DIR/data"
(cd / && runuser -u postgres -- "$BIN/initdb" -D "$DIR/data" --auth=trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null)
cat >>"$DIR/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$DIR/sock'
shared_preload_libraries = 'shelfops'
max_locks_per_transaction = 256
shared_buffers = 256MB
fsync = off
CONF
stop() { grep -E 'PANIC|TRAP|terminated by signal' "$DIR/log" | tail -5 | sed 's/^/# log: /' >&2
         (cd / && runuser -u postgres -- "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1); rm -rf "$DIR"; }
trap stop EXIT
(cd / && runuser -u postgres -- env OMP_WAIT_POLICY=passive "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -t 60 start >/dev/null 9>&-)
q() { psql -X -q -At -h "$DIR/sock" -p "$PORT" -U postgres -d "${2:-$DB}" -c "$1" 2>&1; }

q "CREATE DATABASE $DB" postgres >/dev/null
out=$(psql -X -q -At -h "$DIR/sock" -p "$PORT" -U postgres -d $DB 2>&1 <<'SQL'
CREATE EXTENSION shelfops;
SELECT shelfops_generate_synthetic('big', 40, 25, 400, 11)->>'rows';
SELECT shelfops_train('big', 'fm', 'xgboost', '{"n_estimators": 20, "max_depth": 4}')->>'version';
SELECT shelfops_promote('fm', 1)->>'decision';
SELECT shelfops_train('big', 'fm', 'xgboost', '{"n_estimators": 25, "max_depth": 4}')->>'version';
SELECT shelfops_train('big', 'sm', 'seasonal_naive')->>'version';
SELECT shelfops_promote('sm', 1)->>'decision';
SELECT shelfops_train('big', 'sm', 'moving_average')->>'version';
UPDATE shelfops.model_versions SET status = 'challenger' WHERE model_name = 'sm' AND version = 2;
SELECT count(*) FROM shelfops_forecast('sm', as_of => (SELECT date_max - 28 FROM shelfops.datasets WHERE dataset_id = 'big'), shadow => true);
SQL
)
[ "$(echo $out)" = "400000 1 first_champion 2 1 first_champion 2 14000" ] \
    && echo "ok 1 - setup: 400000-row dataset, champion and candidate of fm, champion and challenger of sm, 14000 shadow rows" \
    || echo "not ok 1 - setup: $(echo $out)"

# fault N NAME SETTING CALL STATE_SQL [EXPECTED_STATE]
#   In one session: STATE_SQL, then CALL under SETTING (must fail with the
#   expected SQLSTATE), then STATE_SQL again (must be unchanged), the backend
#   pid (must be the same), then CALL again without the setting (must work).
fault() {
    local n=$1 name=$2 setting=$3 call=$4 state=$5 code=${6:-57014} out expect
    out=$(psql -X -q -At -h "$DIR/sock" -p "$PORT" -U postgres -d $DB 2>&1 <<SQL
\\set VERBOSITY sqlstate
SELECT 'pid', pg_backend_pid();
SELECT 'before', ($state);
SET $setting;
SELECT 'call', ($call) IS NOT NULL;
RESET ALL;
SELECT 'after', ($state);
SELECT 'pid', pg_backend_pid();
SELECT 't0', extract(epoch FROM clock_timestamp());
SELECT 'again', ($call) IS NOT NULL;
SELECT 't1', extract(epoch FROM clock_timestamp());
SQL
)
    echo "# $name: the call takes $(echo "$out" | awk -F'|' '$1 == "t0" {a = $2} $1 == "t1" {b = $2} END {printf "%.2f", b - a}') s without the fault" >&2
    local pid1 pid2 before after err again
    pid1=$(echo "$out" | grep '^pid|' | sed -n 1p); pid2=$(echo "$out" | grep '^pid|' | sed -n 2p)
    before=$(echo "$out" | grep '^before|'); after=$(echo "$out" | grep '^after|' | sed 's/^after/before/')
    err=$(echo "$out" | grep -E '^(psql:.*)?ERROR' | head -1)
    again=$(echo "$out" | grep '^again|')
    if echo "$out" | grep -q '^call|'; then
        echo "not ok $n - $name: the call finished inside the limit ($setting)"
    elif [ "$err" != "ERROR:  $code" ] && ! echo "$err" | grep -q "ERROR:  $code\$"; then
        echo "not ok $n - $name: expected SQLSTATE $code, got: $(echo "$out" | tr '\n' ' ')"
    elif [ -z "$before" ] || [ "$before" != "$after" ]; then
        echo "not ok $n - $name: left something behind: $before -> $after"
    elif [ -z "$pid1" ] || [ "$pid1" != "$pid2" ]; then
        echo "not ok $n - $name: the backend did not survive ($pid1, $pid2)"
    elif [ "$again" != "again|t" ]; then
        echo "not ok $n - $name: the call fails afterwards: $(echo "$out" | tail -3 | tr '\n' ' ')"
    else
        echo "ok $n - $name: $code, nothing left behind, same backend, then succeeds"
    fi
}
DS="SELECT count(*) || '/' || coalesce(sum(row_count), 0) || '/' || (SELECT count(*) FROM pg_inherits WHERE inhparent = 'shelfops.sales'::regclass) || '/' || (SELECT count(*) FROM pg_class WHERE relname LIKE 'sales%') FROM shelfops.datasets"
MODELS="SELECT (SELECT count(*) FROM shelfops.model_versions) || '/' || (SELECT count(*) FROM shelfops.training_runs) || '/' || (SELECT count(*) FROM shelfops.model_retraining_log) || '/' || (SELECT string_agg(model_name || last_version, ',' ORDER BY model_name) FROM shelfops.model_version_counters)"

if [ -f "$ROSSMANN/train.csv.gz" ]; then
    fault 2 "load (Rossmann)" "statement_timeout = '400ms'" \
        "SELECT shelfops_load_dataset('ross', '$ROSSMANN', 'rossmann')" "$DS"
    q "SELECT count(*) FROM shelfops.datasets WHERE dataset_id = 'ross'" | grep -q '^1$' && q "DELETE FROM shelfops.datasets WHERE dataset_id = 'ross'" >/dev/null
else
    echo "ok 2 - load # skip ../shared/datasets/rossmann not found"
fi
fault 3 "synthetic generation" "statement_timeout = '100ms'" \
    "SELECT shelfops_generate_synthetic('gen', 40, 25, 400, 5)" "$DS"
fault 4 "validation" "statement_timeout = '50ms'" \
    "SELECT count(*) FROM shelfops_validate_dataset('big')" \
    "SELECT coalesce(validated_at::text, 'never') || readiness FROM shelfops.datasets WHERE dataset_id = 'big'"
fault 5 "training" "statement_timeout = '500ms'" \
    "SELECT shelfops_train('big', 'fm', 'xgboost', '{\"n_estimators\": 20, \"max_depth\": 4}')" "$MODELS"
fault 6 "backtest" "statement_timeout = '500ms'" \
    "SELECT shelfops_backtest('fm', 1, folds => 2)" "SELECT count(*) FROM shelfops.backtest_results"
fault 7 "forecast (persisted)" "statement_timeout = '50ms'" \
    "SELECT count(*) FROM shelfops_forecast('fm', persist => true)" "SELECT count(*) FROM shelfops.forecasts"
fault 8 "forecast with shadow rows" "statement_timeout = '100ms'" \
    "SELECT count(*) FROM shelfops_forecast('sm', as_of => (SELECT date_max - 20 FROM shelfops.datasets WHERE dataset_id = 'big'), shadow => true)" \
    "SELECT count(*) || '/' || count(actual_demand) FROM shelfops.shadow_predictions"
fault 9 "shadow scoring" "statement_timeout = '30ms'" \
    "SELECT count(*) FROM shelfops_score_shadow('sm')" \
    "SELECT count(*) || '/' || count(actual_demand) || '/' || count(scored_at) FROM shelfops.shadow_predictions"
fault 10 "promotion" "statement_timeout = '50ms'" \
    "SELECT shelfops_promote('fm', 2)" \
    "SELECT (SELECT string_agg(version || status, ',' ORDER BY version) FROM shelfops.model_versions WHERE model_name = 'fm') || '/' || (SELECT count(*) FROM shelfops.model_experiments)"
fault 11 "training under training_memory_mb = 16" "shelfops.training_memory_mb = 16" \
    "SELECT shelfops_train('big', 'fm', 'xgboost', '{\"n_estimators\": 10}')" "$MODELS" 54000
fault 12 "backtest under training_memory_mb = 16" "shelfops.training_memory_mb = 16" \
    "SELECT shelfops_backtest('fm', 1, folds => 2)" "SELECT count(*) FROM shelfops.backtest_results" 54000
