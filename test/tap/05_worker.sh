#!/usr/bin/env bash
# The background worker, in a cluster of its own that preloads shelfops with
# shelfops.worker_databases = 'shelfops_w' and a 1 s naptime: the launcher starts
# the database's worker, which marks an orphaned 'running' row 'crashed' at start
# and runs a due job (logged completed); SIGTERM stops the worker promptly and the
# launcher starts it again.  Every wait polls with a timeout.  Prints TAP.
set -u
ROOT=${SHELFOPS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=$(pg_config --bindir)
DIR=${SHELFOPS_CLUSTER:-$ROOT/.cluster}/tap-worker
PORT=$(( ${SHELFOPS_PGPORT:-54329} + 1001 ))
echo "1..6"
rm -rf "$DIR"; install -d -o postgres -g postgres -m 755 "$DIR"; install -d -o postgres -g postgres -m 700 "$DIR/data"; install -d -o postgres -g postgres -m 755 "$DIR/sock"
(cd / && runuser -u postgres -- "$BIN/initdb" -D "$DIR/data" --auth=trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null)
cat >>"$DIR/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$DIR/sock'
shared_preload_libraries = 'shelfops'
shelfops.worker_databases = 'shelfops_w'
shelfops.worker_naptime = 1
fsync = off
CONF
stop() { grep -E 'ERROR|FATAL|TRAP|terminated' "$DIR/log" | grep -v -E 'STATEMENT|does not exist' | tail -5 | sed 's/^/# log: /' >&2; (cd / && runuser -u postgres -- "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1); rm -rf "$DIR"; }
trap stop EXIT
(cd / && runuser -u postgres -- env OMP_WAIT_POLICY=passive "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w start >/dev/null 9>&-)
q() { psql -X -q -At -h "$DIR/sock" -p "$PORT" -U postgres -d "${2:-shelfops_w}" -c "$1" 2>&1; }
wait_for() {  # wait_for SECONDS SQL EXPECTED [DATABASE]
    local i
    for i in $(seq 1 $(( $1 * 10 ))); do
        [ "$(q "$2" "${4:-shelfops_w}")" = "$3" ] && return 0
        sleep 0.1
    done
    return 1
}
wait_for 20 "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'shelfops launcher'" 1 postgres \
    && echo "ok 1 - the launcher runs" || echo "not ok 1 - no launcher: $(tail -3 "$DIR/log")"
q "CREATE DATABASE shelfops_w" postgres >/dev/null
out=$(psql -X -q -At -1 -h "$DIR/sock" -p "$PORT" -U postgres -d shelfops_w 2>&1 <<'SQL'
CREATE EXTENSION shelfops;
SELECT shelfops_generate_synthetic('wds', 2, 3, 150, 2)->>'rows';
SELECT shelfops_add_retrain_job('wm', 'wds', params => '{"n_estimators": 10, "max_depth": 3}',
                                auto_promote => true, first_run_at => now());
INSERT INTO shelfops.model_retraining_log (model_name, job_id, trigger_type, status, backend_pid)
VALUES ('wm', 1, 'scheduled', 'running', 0);
SQL
)
[ "$(echo $out)" = "900 1" ] && echo "ok 2 - extension, dataset, a due job and an orphaned running row" || echo "not ok 2 - $out"
wait_for 60 "SELECT status FROM shelfops.model_retraining_log WHERE backend_pid = 0" crashed \
    && echo "ok 3 - the worker marks the orphaned running row crashed at start" \
    || echo "not ok 3 - $(q "SELECT status FROM shelfops.model_retraining_log WHERE backend_pid = 0") $(tail -3 "$DIR/log")"
wait_for 60 "SELECT string_agg(status || ':' || trigger_type || ':' || coalesce(decision, ''), ',') FROM shelfops.model_retraining_log WHERE backend_pid <> 0" "completed:scheduled:promoted" \
    && echo "ok 4 - the worker runs the due job: one log row, completed, promoted" \
    || echo "not ok 4 - $(q "SELECT string_agg(status || ' ' || coalesce(error, ''), ',') FROM shelfops.model_retraining_log") $(tail -3 "$DIR/log")"
wait_for 10 "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'shelfops worker'" 1 postgres \
    || grep -E 'ERROR|FATAL|TRAP|terminated' "$DIR/log" | grep -v STATEMENT | tail -5 | sed 's/^/# /' >&2
pid=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'shelfops worker'" postgres)
echo "# backends: $(q "SELECT string_agg(backend_type || '=' || pid, ', ') FROM pg_stat_activity" postgres)" >&2
kill -TERM "$pid" 2>/dev/null
wait_for 1 "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid" 0 postgres \
    && echo "ok 5 - SIGTERM stops the worker within a second" || echo "not ok 5 - worker $pid still there"
wait_for 30 "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'shelfops worker' AND pid <> $pid" 1 postgres \
    && echo "ok 6 - the launcher starts the worker again" || echo "not ok 6 - no new worker"
