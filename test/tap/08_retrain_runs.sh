#!/usr/bin/env bash
# Retrain runs under the background worker, in a cluster of its own (shelfops
# preloaded, worker in database shelfops_r, naptime 1 s, max_parallel_retrains 2):
#   - max_runtime: a run past it ends 'timed_out' with no model version or training
#     run left, from CALL shelfops_retrain and from the worker;
#   - parallel retrain workers: three due jobs of different models, two at a time;
#   - two due runs of one model never overlap: while the worker trains it, the same
#     model's runs from another session are logged 'skipped' (lock_held);
#   - SIGTERM to the retrain worker during training: gone within a second, the row
#     ends 'failed' (never 'running'), no model version; SIGTERM to the database
#     worker stops its retrain worker the same way;
#   - kill -9 of the postmaster mid-run, restart: the row becomes 'crashed', no
#     model version;
#   - drift: injected degraded actuals make the worker run a drift retrain (figures
#     in trigger_metadata); the cooldown keeps it from running again, and it runs
#     again once the cooldown is lowered.
# Every wait polls with a timeout; no fixed sleeps.  Prints TAP.
set -u
ROOT=${SHELFOPS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=$(pg_config --bindir)
DIR=${SHELFOPS_CLUSTER:-$ROOT/.cluster}/tap-retrain
PORT=$(( ${SHELFOPS_PGPORT:-54329} + 1002 ))
DB=shelfops_r
echo "1..24"
rm -rf "$DIR"; install -d -o postgres -g postgres -m 755 "$DIR"; install -d -o postgres -g postgres -m 700 "$DIR/data"; install -d -o postgres -g postgres -m 755 "$DIR/sock"
(cd / && runuser -u postgres -- "$BIN/initdb" -D "$DIR/data" --auth=trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null)
cat >>"$DIR/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$DIR/sock'
shared_preload_libraries = 'shelfops'
shelfops.worker_databases = '$DB'
shelfops.worker_naptime = 1
shelfops.max_parallel_retrains = 2
fsync = off
CONF
start() { (cd / && runuser -u postgres -- env OMP_WAIT_POLICY=passive "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w start >/dev/null 2>&1 9>&-); }
stop() {
    grep -E 'ERROR|FATAL|TRAP|terminated' "$DIR/log" | grep -v -E 'STATEMENT|does not exist|canceling statement|SIGTERM|postmaster died' \
        | tail -5 | sed 's/^/# log: /' >&2
    (cd / && runuser -u postgres -- "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1); rm -rf "$DIR"
}
trap stop EXIT
start
q() { psql -X -q -At -h "$DIR/sock" -p "$PORT" -U postgres -d "${2:-$DB}" -c "$1" 2>&1; }
wait_for() {  # wait_for SECONDS SQL EXPECTED [DATABASE]
    local i
    for i in $(seq 1 $(( $1 * 10 ))); do
        [ "$(q "$2" "${4:-$DB}")" = "$3" ] && return 0
        sleep 0.1
    done
    return 1
}
ok() { if [ "$1" = 0 ]; then echo "ok $2 - $3"; else echo "not ok $2 - $3${4:+ # $4}"; fi; }
LOG="SELECT string_agg(status || ':' || trigger_type || ':' || coalesce(decision, '') || ':' || coalesce(error, ''), ' | ' ORDER BY started_at) FROM shelfops.model_retraining_log"
versions() { q "SELECT count(*) FROM shelfops.model_versions WHERE model_name = '$1'"; }
# the retrain worker training a model (its application_name), empty if none
trainer() { q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'shelfops retrain' AND application_name = 'shelfops retrain public/$1'" postgres; }
in_fit() { wait_for "$2" "SELECT count(*) FROM shelfops.training_progress WHERE model_name = '$1' AND phase = 'fit' AND rounds_done > 0" 1; }

wait_for 20 "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'shelfops launcher'" 1 postgres
q "CREATE DATABASE $DB" postgres >/dev/null
# slow: 72,000 rows (6 x 40 x 300 days); 300 rounds of depth 6 take a few seconds
out=$(q "CREATE EXTENSION shelfops;
         SELECT shelfops_generate_synthetic('slow', 6, 40, 300, 1)->>'rows';
         SELECT shelfops_generate_synthetic('fast', 2, 3, 150, 2)->>'rows'" | tr '\n' ' ')
[ "$out" = "72000 900 " ]; ok $? 1 "extension and two synthetic datasets" "$out"

# ---- max_runtime ---------------------------------------------------------------
q "SELECT shelfops_add_retrain_job('tm', 'slow', params => '{\"n_estimators\": 5000, \"max_depth\": 6}',
                                   max_runtime => '2 seconds', first_run_at => now() + interval '1 day')" >/dev/null
t0=$(date +%s%N)
out=$(q "CALL shelfops_retrain('tm')")
took=$(( ($(date +%s%N) - t0) / 1000000 ))
st=$(q "$LOG WHERE model_name = 'tm'")
[ "$st" = "timed_out:scheduled:timed_out:run exceeded max_runtime 00:00:02 and was cancelled" ] && [ "$took" -le 20000 ]
ok $? 2 "CALL shelfops_retrain past max_runtime (2 s): cancelled, logged timed_out (took ${took} ms)" "$st"
case "$out" in *"exceeded max_runtime"*) r=0;; *) r=1;; esac
ok $r 3 "the CALL warns instead of failing" "$out"
out="$(versions tm) $(q "SELECT count(*) FROM shelfops.training_runs WHERE model_name = 'tm'") $(q "SELECT last_status || ' ' || consecutive_failures FROM shelfops.retrain_jobs WHERE model_name = 'tm'")"
[ "$out" = "0 0 timed_out 1" ]; ok $? 4 "no model version or training run is left; the job counts a failure" "$out"
q "SELECT shelfops_alter_retrain_job(1, next_run_at => now())" >/dev/null
wait_for 60 "SELECT count(*) FROM shelfops.model_retraining_log WHERE model_name = 'tm' AND status = 'timed_out'" 2
ok $? 5 "the worker's run past max_runtime is logged timed_out too" "$(q "$LOG WHERE model_name = 'tm'")"
q "SELECT shelfops_alter_retrain_job(1, enabled => false)" >/dev/null
out="$(versions tm) $(q "SELECT count(*) FROM shelfops.model_retraining_log WHERE model_name = 'tm' AND status = 'running'")"
[ "$out" = "0 0" ]; ok $? 6 "no version after the worker's timeout, no running row" "$out"

# ---- parallel retrain workers (max_parallel_retrains = 2) ---------------------
q "SELECT shelfops_add_retrain_job('p' || i, 'slow', params => '{\"n_estimators\": 300, \"max_depth\": 6}',
                                   first_run_at => now() - interval '1 minute') FROM generate_series(1, 3) i" >/dev/null
wait_for 60 "SELECT count(*) FROM shelfops.model_retraining_log WHERE model_name LIKE 'p_' AND status = 'running'" 2
ok $? 7 "two due jobs of different models train at once" "$(q "$LOG WHERE model_name LIKE 'p_'")"
wait_for 180 "SELECT count(*) FROM shelfops.model_retraining_log WHERE model_name LIKE 'p_' AND status = 'completed'" 3
ok $? 8 "all three complete" "$(q "$LOG WHERE model_name LIKE 'p_'")"
out=$(q "SELECT max((SELECT count(*) FROM shelfops.model_retraining_log b
                     WHERE b.model_name LIKE 'p_' AND b.status <> 'skipped'
                       AND b.started_at <= a.started_at AND b.completed_at > a.started_at))
           FROM shelfops.model_retraining_log a WHERE a.model_name LIKE 'p_' AND a.status <> 'skipped'")
[ "$out" = "2" ]; ok $? 9 "never more than max_parallel_retrains (2) runs at once" "max overlap $out"

# ---- one model: no overlap; SIGTERM during training ---------------------------
q "SELECT shelfops_add_retrain_job('om', 'slow', params => '{\"n_estimators\": 5000, \"max_depth\": 6}',
                                   max_runtime => '10 minutes', first_run_at => now())" >/dev/null
in_fit om 60; ok $? 10 "the worker trains om (phase fit)" "$(q "$LOG WHERE model_name = 'om'")"
q "CALL shelfops_run_due_jobs()" >/dev/null
q "CALL shelfops_retrain('om', trigger => 'manual')" >/dev/null
st=$(q "$LOG WHERE model_name = 'om'")
[ "$st" = "running:scheduled:: | skipped:scheduled:skipped:lock_held: | skipped:manual:skipped:lock_held:" ]
ok $? 11 "two more runs of om while it trains: each logged skipped (lock_held), nothing overlaps" "$st"
pid=$(trainer om)
t0=$(date +%s%N)
kill -TERM "$pid" 2>/dev/null
wait_for 1 "SELECT count(*) FROM pg_stat_activity WHERE pid = ${pid:-0}" 0 postgres
r=$?; ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok $r 12 "SIGTERM stops the retrain worker within a second (${ms} ms)" "pid '$pid'"
wait_for 5 "SELECT status || ' ' || (trigger_metadata->>'canceled') FROM shelfops.model_retraining_log WHERE model_name = 'om' AND status <> 'skipped'" "failed true"
ok $? 13 "its log row ends failed (canceled), never running" "$(q "$LOG WHERE model_name = 'om'")"
[ "$(versions om)" = 0 ]; ok $? 14 "no model version of the stopped run"
# SIGTERM to the database worker stops its retrain worker the same way
q "SELECT shelfops_alter_retrain_job(5, next_run_at => now())" >/dev/null
in_fit om 60; r=$?
pid=$(trainer om); wpid=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'shelfops worker'" postgres)
t0=$(date +%s%N)
kill -TERM "$wpid" 2>/dev/null
wait_for 1 "SELECT count(*) FROM pg_stat_activity WHERE pid IN (${pid:-0}, ${wpid:-0})" 0 postgres
r=$(( r + $? )); ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok $r 15 "SIGTERM to the database worker stops it and its retrain worker within a second (${ms} ms)" "pids '$pid' '$wpid'"
wait_for 5 "SELECT string_agg(status, ',' ORDER BY started_at) FROM shelfops.model_retraining_log WHERE model_name = 'om' AND status <> 'skipped'" "failed,failed"
ok $? 16 "that run also ends failed" "$(q "$LOG WHERE model_name = 'om'")"
wait_for 30 "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'shelfops worker'" 1 postgres
ok $? 17 "the launcher starts the database worker again"

# ---- kill -9 of the postmaster mid-run ----------------------------------------
q "SELECT shelfops_alter_retrain_job(5, next_run_at => now())" >/dev/null
in_fit om 60; r=$?
q "SELECT shelfops_alter_retrain_job(5, next_run_at => now() + interval '1 day')" >/dev/null
pm=$(head -1 "$DIR/data/postmaster.pid")
kill -9 "$pm"
ok $r 18 "om trains again; postmaster $pm killed with SIGKILL mid-run"
started=1
for _ in $(seq 1 300); do
    start && { started=0; break; }
    sleep 0.1
done
ok $started 19 "the server restarts (orphaned training stops on postmaster death)" "$(tail -3 "$DIR/log")"
wait_for 60 "SELECT string_agg(status, ',' ORDER BY started_at) FROM shelfops.model_retraining_log WHERE model_name = 'om' AND status <> 'skipped'" "failed,failed,crashed"
ok $? 20 "after restart the worker marks the killed run crashed" "$(q "$LOG WHERE model_name = 'om'")"
out="$(versions om) $(q "SELECT last_status FROM shelfops.retrain_jobs WHERE model_name = 'om'")"
[ "$out" = "0 crashed" ]; ok $? 21 "no model version of the killed run; the job's last status is crashed" "$out"

# ---- drift ---------------------------------------------------------------------
# a champion on 'fast' (manual request), its forecasts of the last 14 days persisted
q "INSERT INTO shelfops.gate_policy (tenant_id, model_name, drift_min_rows, drift_cooldown)
   VALUES ('public', 'dm', 20, '1 hour');
   SELECT shelfops_add_retrain_job('dm', 'fast', params => '{\"n_estimators\": 10, \"max_depth\": 3}',
                                   enabled_triggers => '{drift,manual}', auto_promote => true,
                                   schedule_interval => '1 day');
   SELECT shelfops_request_retrain('dm')" >/dev/null
wait_for 60 "SELECT count(*) FROM shelfops.model_versions WHERE model_name = 'dm' AND status = 'champion'" 1
r=$?
q "SELECT count(*) FROM shelfops_forecast('dm', horizon => 14, as_of => date '2024-05-15', persist => true)" >/dev/null
out=$(q "SELECT (d->>'drift') || ' ' || (d->>'rows') FROM shelfops.retrain_drift('public', 'dm') d")
[ "$r $out" = "0 false 42" ]; ok $? 22 "a champion, 42 matched forecast rows, no drift yet" "$r $out"
# degraded actuals in the window; a probe job shows when the worker has looked again
q "UPDATE shelfops.sales SET quantity = quantity + 40 WHERE dataset_id = 'fast' AND sale_date > date '2024-05-22'" >/dev/null
wait_for 60 "SELECT count(*) FROM shelfops.model_retraining_log WHERE model_name = 'dm' AND trigger_type = 'drift' AND status = 'completed'" 1
r=$?
out=$(q "SELECT (trigger_metadata->>'recent_mae')::float8 > 1.15 * (trigger_metadata->>'baseline_mae')::float8,
                trigger_metadata->>'sample_count', trigger_metadata->'drift'->>'reason'
           FROM shelfops.model_retraining_log WHERE model_name = 'dm' AND trigger_type = 'drift'" | tr '\n' ' ')
[ "$r $out" = "0 t|42|recent_mae_above_threshold " ]; ok $? 23 "the worker runs a drift retrain, the figures in trigger_metadata" "$r $out $(q "$LOG WHERE model_name = 'dm'")"
q "SELECT shelfops_add_retrain_job('probe', 'fast', algorithm => 'seasonal_naive', first_run_at => now())" >/dev/null
wait_for 60 "SELECT count(*) FROM shelfops.model_retraining_log WHERE model_name = 'probe' AND status = 'completed'" 1
r=$?
n1=$(q "SELECT count(*) FROM shelfops.model_retraining_log WHERE model_name = 'dm' AND trigger_type = 'drift'")
still=$(q "SELECT (d->>'drift') || ' ' || (d->>'due') FROM shelfops.retrain_drift('public', 'dm') d")
q "UPDATE shelfops.gate_policy SET drift_cooldown = '0' WHERE tenant_id = 'public' AND model_name = 'dm'" >/dev/null
wait_for 60 "SELECT count(*) >= 2 FROM shelfops.model_retraining_log WHERE model_name = 'dm' AND trigger_type = 'drift' AND status = 'completed'" t
r2=$?
q "SELECT shelfops_alter_retrain_job(6, enabled_triggers => '{manual}')" >/dev/null
[ "$r $n1 $still $r2" = "0 1 true false 0" ]
ok $? 24 "the cooldown holds it back while the drift persists (one drift run after a later worker pass); with no cooldown it runs again" "$r $n1 $still $r2"
