#!/usr/bin/env bash
# kill -9 of the postmaster (and, as in a host crash, every process of the
# cluster) during a dataset load, a training, a stream of promotions and a
# background-worker retrain run, in a cluster of its own (worker on, 1 s
# naptime).  After each restart (crash recovery from WAL): nothing half
# written (datasets match their sales rows, no orphan partitions, no model
# version without its bytes, no run row left 'running'), at most one champion
# per model with its experiment row, no 'running' log row older than the
# restart once the worker has started, and the same operation then succeeds.
# Every wait polls with a timeout.  Prints TAP.
set -u
ROOT=${SHELFOPS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=$(pg_config --bindir)
DIR=${SHELFOPS_CLUSTER:-$ROOT/.cluster}/tap-crash
PORT=$(( ${SHELFOPS_PGPORT:-54329} + 1002 ))
ROSSMANN=${SHELFOPS_DATASETS:-$ROOT/../shared/datasets}/rossmann
DB=shelfops_c
echo "1..20"
rm -rf "$DIR"; install -d -o postgres -g postgres -m 755 "$DIR" "$DIR/sock"; install -d -o postgres -g postgres -m 700 "$DIR/data"
(cd / && runuser -u postgres -- "$BIN/initdb" -D "$DIR/data" --auth=trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null)
cat >>"$DIR/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$DIR/sock'
shared_preload_libraries = 'shelfops'
shelfops.worker_databases = '$DB'
shelfops.worker_naptime = 1
max_locks_per_transaction = 256
shared_buffers = 256MB
restart_after_crash = on
CONF
start() { (cd / && runuser -u postgres -- env OMP_WAIT_POLICY=passive "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -t 120 start >/dev/null 2>&1 9>&-); }
stop() { grep -E 'PANIC|TRAP|terminated by signal' "$DIR/log" | tail -5 | sed 's/^/# log: /' >&2
         (cd / && runuser -u postgres -- "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1)
         [ -n "${BG:-}" ] && kill "$BG" 2>/dev/null; rm -rf "$DIR"; }
trap stop EXIT
start
q() { psql -X -q -At -h "$DIR/sock" -p "$PORT" -U postgres -d "${2:-$DB}" -c "$1" 2>&1; }
wait_for() {  # wait_for SECONDS SQL EXPECTED [DATABASE]
    local i
    for i in $(seq 1 $(( $1 * 20 ))); do
        [ "$(q "$2" "${4:-$DB}")" = "$3" ] && return 0
        sleep 0.05
    done
    return 1
}
# Start SQL in the background (its output in $DIR/bg.out); BG is its pid.
background() { psql -X -q -At -h "$DIR/sock" -p "$PORT" -U postgres -d "$DB" -c "$1" >"$DIR/bg.out" 2>&1 & BG=$!; }
# kill -9 the postmaster and every process of the cluster, wait until they are
# gone, start again (crash recovery); RESTARTED_AT is the server's start time.
crash_restart() {
    local pm pids i
    pm=$(head -1 "$DIR/data/postmaster.pid")
    pids="$pm $(ps -o pid= --ppid "$pm" | tr '\n' ' ')"
    kill -9 $pids 2>/dev/null
    for i in $(seq 1 200); do
        kill -0 $pids 2>/dev/null || break
        sleep 0.05
    done
    wait "$BG" 2>/dev/null; BG=
    start
    RESTARTED_AT=$(q "SELECT pg_postmaster_start_time()")
}
# The invariants that must hold after any crash.
check_consistent() {  # check_consistent N WHAT
    local bad
    bad=$(q "SELECT concat_ws(' ',
        (SELECT 'dataset ' || d.dataset_id || ' has ' || count(s.*) || ' sales rows, row_count ' || d.row_count
           FROM shelfops.datasets d LEFT JOIN shelfops.sales s USING (tenant_id, dataset_id)
          GROUP BY d.tenant_id, d.dataset_id, d.row_count HAVING count(s.*) <> d.row_count LIMIT 1),
        (SELECT 'orphan partition ' || i.inhrelid::regclass FROM pg_inherits i
          WHERE i.inhparent = 'shelfops.sales'::regclass AND i.inhrelid <> 'shelfops.sales_default'::regclass
            AND NOT EXISTS (SELECT 1 FROM shelfops.sales s JOIN shelfops.datasets d USING (tenant_id, dataset_id)
                             WHERE s.tableoid = i.inhrelid) LIMIT 1),
        (SELECT 'version ' || model_name || '/' || version || ' without valid bytes' FROM shelfops.model_versions
          WHERE model_bytes IS NULL OR model_sha256 IS DISTINCT FROM encode(sha256(model_bytes), 'hex') LIMIT 1),
        (SELECT 'training run ' || run_id || ' still running' FROM shelfops.training_runs WHERE status = 'running' LIMIT 1),
        (SELECT 'model ' || model_name || ' has ' || count(*) || ' champions' FROM shelfops.model_versions
          WHERE status = 'champion' GROUP BY tenant_id, model_name HAVING count(*) > 1 LIMIT 1),
        (SELECT 'champion ' || v.model_name || '/' || v.version || ' without its experiment row'
           FROM shelfops.model_versions v WHERE v.status = 'champion'
            AND NOT EXISTS (SELECT 1 FROM shelfops.model_experiments e WHERE e.tenant_id = v.tenant_id
                              AND e.model_name = v.model_name AND e.experimental_version = v.version) LIMIT 1),
        (SELECT count(*) || ' running log rows older than the restart' FROM shelfops.model_retraining_log
          WHERE status = 'running' AND started_at < pg_postmaster_start_time() HAVING count(*) > 0))")
    [ -z "$bad" ] && echo "ok $1 - after the crash $2: nothing half written, runs closed, at most one champion" \
        || echo "not ok $1 - after the crash $2: $bad"
}

q "CREATE DATABASE $DB" postgres >/dev/null
out=$(q "CREATE EXTENSION shelfops; SELECT shelfops_generate_synthetic('syn', 30, 20, 400, 7)->>'rows'")
[ "$out" = "240000" ] && echo "ok 1 - extension and a 240000-row synthetic dataset" || echo "not ok 1 - $out"

# --- 1. a dataset load -------------------------------------------------------
if [ -f "$ROSSMANN/train.csv.gz" ]; then
    background "SELECT shelfops_load_dataset('ross', '$ROSSMANN', 'rossmann')->>'rows_written'"
    what="Rossmann load"
    sql="shelfops_load_dataset('ross', '$ROSSMANN', 'rossmann')->>'rows_written'"
else  # no real data beside the checkout: a big synthetic generation instead
    background "SELECT shelfops_generate_synthetic('ross', 100, 50, 400, 3)->>'rows'"
    what="synthetic generation"
    sql="shelfops_generate_synthetic('ross', 100, 50, 400, 3)->>'rows'"
fi
wait_for 60 "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT shelfops_%(''ross''%' AND state = 'active' AND now() - query_start > interval '300 ms'" 1
reached=$?
crash_restart
# the kill must land while the call runs: it was seen running, and it did not return
[ "$reached" = 0 ] && ! grep -qE '^[0-9]+$' "$DIR/bg.out" \
    && echo "ok 2 - kill -9 of the postmaster during the $what" \
    || echo "not ok 2 - the $what was not running at the kill (seen running: $reached): $(cat "$DIR/bg.out")"
[ "$(q "SELECT count(*) FROM shelfops.datasets WHERE dataset_id = 'ross'")|$(q "SELECT count(*) FROM shelfops.sales WHERE dataset_id = 'ross'")" = "0|0" ] \
    && echo "ok 3 - the interrupted load left no dataset row and no sales rows" \
    || echo "not ok 3 - $(q "SELECT row_count FROM shelfops.datasets WHERE dataset_id = 'ross'")"
check_consistent 4 "during the $what"
out=$(q "SELECT $sql")
[ "$out" -gt 0 ] 2>/dev/null && [ "$(q "SELECT row_count FROM shelfops.datasets WHERE dataset_id = 'ross'")" = "$out" ] \
    && echo "ok 5 - the same load then succeeds ($out rows)" || echo "not ok 5 - $out"

# --- 2. a training -----------------------------------------------------------
background "SELECT shelfops_train('syn', 'mt', 'xgboost', '{\"n_estimators\": 3000, \"max_depth\": 8, \"eta\": 0.01, \"early_stopping_rounds\": 0}')->>'version'"
wait_for 120 "SELECT count(*) FROM shelfops_progress() WHERE model_name = 'mt' AND phase = 'fit' AND rounds_done >= 3" 1
reached=$?
crash_restart
[ "$reached" = 0 ] && ! grep -qE '^[0-9]+$' "$DIR/bg.out" \
    && echo "ok 6 - kill -9 of the postmaster while the training is fitting" \
    || echo "not ok 6 - the training was not fitting at the kill (seen fitting: $reached): $(cat "$DIR/bg.out")"
[ "$(q "SELECT count(*) FROM shelfops.model_versions WHERE model_name = 'mt'")|$(q "SELECT count(*) FROM shelfops.training_runs WHERE model_name = 'mt'")|$(q "SELECT count(*) FROM shelfops.model_version_counters WHERE model_name = 'mt'")" = "0|0|0" ] \
    && echo "ok 7 - the interrupted training left no version, run or counter" || echo "not ok 7 - rows of model mt remain"
check_consistent 8 "during training"
out=$(q "SELECT shelfops_train('syn', 'mt', 'xgboost', '{\"n_estimators\": 20, \"max_depth\": 4}')->>'version'")
[ "$out" = "1" ] && echo "ok 9 - the next training works and gets version 1" || echo "not ok 9 - $out"

# --- 3. promotions -----------------------------------------------------------
# v1 first champion, v2 and v3 forced in; then a stream of rollbacks between the
# archived v2 and v3, each one a champion switch with its experiment row.
for v in 1 2 3; do q "SELECT shelfops_train('syn', 'mp', 'seasonal_naive')" >/dev/null; done
out=$(q "SELECT shelfops_promote('mp', 1)->>'decision';
         SELECT shelfops_promote('mp', 2, force => true, reason => 'setup')->>'decision';
         SELECT shelfops_promote('mp', 3, force => true, reason => 'setup')->>'decision'")
[ "$(echo $out)" = "first_champion forced forced" ] || echo "# promotion setup: $out" >&2
{ for i in $(seq 1 400); do
      echo "SELECT shelfops_rollback('mp', $(( 2 + i % 2 )), 'crash test $i')->>'decision';"
  done; } >"$DIR/promote.sql"
psql -X -q -At -h "$DIR/sock" -p "$PORT" -U postgres -d "$DB" -f "$DIR/promote.sql" >"$DIR/bg.out" 2>&1 & BG=$!
wait_for 60 "SELECT count(*) >= 20 FROM shelfops.model_experiments WHERE model_name = 'mp' AND decision = 'rollback'" t
crash_restart
n=$(q "SELECT count(*) FROM shelfops.model_experiments WHERE model_name = 'mp' AND decision = 'rollback'")
[ "$n" -lt 400 ] 2>/dev/null && [ "$n" -ge 20 ] && echo "ok 10 - kill -9 of the postmaster during a stream of champion switches ($n committed)" \
    || echo "not ok 10 - $n switches committed: $(head -3 "$DIR/bg.out")"
out=$(q "SELECT (SELECT count(*) FROM shelfops.model_versions WHERE model_name = 'mp' AND status = 'champion')
          || '|' || ((SELECT version FROM shelfops.model_versions WHERE model_name = 'mp' AND status = 'champion')
                     = (SELECT experimental_version FROM shelfops.model_experiments WHERE model_name = 'mp'
                         ORDER BY created_at DESC LIMIT 1))")
[ "$out" = "1|true" ] && echo "ok 11 - one champion, and it is the version of the last committed experiment" \
    || echo "not ok 11 - $out"
check_consistent 12 "during promotions"
ch=$(q "SELECT version FROM shelfops.model_versions WHERE model_name = 'mp' AND status = 'champion'")
other=$(( ch == 2 ? 3 : 2 ))
q "SELECT shelfops_train('syn', 'mp', 'seasonal_naive')" >/dev/null
out=$(q "SELECT shelfops_rollback('mp', $other, 'after the crash') IS NOT NULL;
         SELECT shelfops_promote('mp', 4, force => true, reason => 'after the crash')->>'decision';
         SELECT version FROM shelfops.model_versions WHERE model_name = 'mp' AND status = 'champion'")
[ "$(echo $out)" = "t forced 4" ] && echo "ok 13 - the next rollback and promotion work" || echo "not ok 13 - $out"

# --- 4. a background-worker retrain run ----------------------------------------
# A session holds the version counters, so the worker's run (a "shelfops retrain"
# background worker; its 'running' row
# committed, the model fitted) waits to write its version when the crash comes.
background "BEGIN; LOCK TABLE shelfops.model_version_counters IN EXCLUSIVE MODE; SELECT pg_sleep(300);"
wait_for 20 "SELECT count(*) FROM pg_locks WHERE relation = 'shelfops.model_version_counters'::regclass AND mode = 'ExclusiveLock' AND granted" 1
out=$(q "SELECT shelfops_add_retrain_job('mw', 'syn', params => '{\"n_estimators\": 20, \"max_depth\": 4}', auto_promote => true, first_run_at => now())")
wait_for 90 "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'shelfops retrain' AND wait_event_type = 'Lock'" 1 postgres \
    && [ "$(q "SELECT status FROM shelfops.model_retraining_log WHERE model_name = 'mw'")" = running ] \
    && echo "ok 14 - the worker's run is in progress (running row committed, waiting to write)" \
    || echo "not ok 14 - job $out: $(q "SELECT string_agg(status, ',') FROM shelfops.model_retraining_log WHERE model_name = 'mw'")"
rid=$(q "SELECT retrain_id FROM shelfops.model_retraining_log WHERE model_name = 'mw'")
crash_restart
wait_for 60 "SELECT status FROM shelfops.model_retraining_log WHERE retrain_id = '$rid'" crashed \
    && echo "ok 15 - the restarted worker marks the interrupted run crashed" \
    || echo "not ok 15 - $(q "SELECT status FROM shelfops.model_retraining_log WHERE retrain_id = '$rid'")"
[ "$(q "SELECT last_status FROM shelfops.retrain_jobs WHERE model_name = 'mw'")|$(q "SELECT count(*) FROM shelfops.model_versions WHERE model_name = 'mw'")" = "crashed|0" ] \
    && echo "ok 16 - the job's last status is crashed and no version was half written" \
    || echo "not ok 16 - $(q "SELECT last_status FROM shelfops.retrain_jobs WHERE model_name = 'mw'")"
check_consistent 17 "during a worker run"
q "SELECT shelfops_request_retrain('mw')" >/dev/null
wait_for 90 "SELECT count(*) FROM shelfops.model_retraining_log WHERE model_name = 'mw' AND status = 'completed'" 1 \
    && echo "ok 18 - the worker's next run of the job completes" \
    || echo "not ok 18 - $(q "SELECT string_agg(status || ':' || coalesce(error, ''), ',') FROM shelfops.model_retraining_log WHERE model_name = 'mw'")"
out=$(q "SELECT count(*) FROM shelfops.model_versions WHERE model_name = 'mw' AND status = 'champion'")
[ "$out" = 1 ] && echo "ok 19 - the completed run promoted its version (first champion)" || echo "not ok 19 - $out champions"
check_consistent 20 "at the end"
