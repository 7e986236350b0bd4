#!/usr/bin/env bash
# Scheduled retraining from pg_cron, against the suite's cluster (which preloads
# pg_cron with cron.database_name = 'shelfops'): a cron job calling
# shelfops_retrain runs and logs 'completed'; a second session holding the
# (tenant, model) advisory lock makes a run log 'skipped' (lock_held).
# pg_cron's finest schedule is one minute: the test polls up to 150 s for the run.
# pg_cron lives in the cron database ('shelfops'); the work runs in a fresh database of
# this test's own through cron.schedule_in_database, so the demo's database is untouched.
set -u
ROOT=${SHELFOPS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
CLUSTER=${SHELFOPS_CLUSTER:-$ROOT/.cluster}
export PGHOST=$CLUSTER/sock PGPORT=${SHELFOPS_PGPORT:-54329} PGUSER=postgres
CRONDB=shelfops
DB=shelfops_tap_cron
DS=cron_ds_$$
q() { psql -X -q -At -d "$DB" -c "$1" 2>&1; }
qc() { psql -X -q -At -d "$CRONDB" -c "$1" 2>&1; }
echo "1..6"
psql -X -q -At -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$CRONDB'" | grep -q 1 \
    || psql -X -q -d postgres -c "CREATE DATABASE $CRONDB" >/dev/null
psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
cleanup() {
    qc "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = 'shelfops-test'" >/dev/null
    q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'shelfops_lock_holder_$$'" >/dev/null
}
trap 'cleanup; psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1' EXIT
out="$(qc "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_cron; SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'") $(q "CREATE EXTENSION shelfops; SELECT count(*) FROM pg_extension WHERE extname = 'shelfops'")"
[ "$out" = "1 1" ] && echo "ok 1 - pg_cron in $CRONDB, shelfops in $DB" || echo "not ok 1 - $out"
cleanup
t0=$(q "SELECT now()")
out=$(q "SELECT shelfops_generate_synthetic('$DS', 2, 3, 150, 2)->>'rows';
         SELECT shelfops_add_retrain_job('cron_m', '$DS', params => '{\"n_estimators\": 10, \"max_depth\": 3}');
         SELECT shelfops_add_retrain_job('lock_m', '$DS', algorithm => 'seasonal_naive')" | tr '\n' ' ')
case "$out" in "900 "[0-9]*" "[0-9]*) echo "ok 2 - dataset and jobs";; *) echo "not ok 2 - $out";; esac

# lock held by another session: the run is skipped and logged, nothing trains
PGAPPNAME=shelfops_lock_holder_$$ psql -X -q -d "$DB" -c "SELECT pg_advisory_lock(hashtext('shelfops.retrain'), hashtext('public/lock_m')); SELECT pg_sleep(60)" >/dev/null 2>&1 &
holder=$!
for _ in $(seq 1 100); do
    [ "$(q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = (hashtext('public/lock_m'))::oid AND granted")" = "1" ] && break
    sleep 0.1
done
q "CALL shelfops_retrain('lock_m')" >/dev/null
out=$(q "SELECT status || ' ' || (trigger_metadata->>'reason') || ' ' || (completed_at IS NOT NULL)
           FROM shelfops.model_retraining_log WHERE model_name = 'lock_m' AND started_at >= '$t0'")
[ "$out" = "skipped lock_held true" ] && echo "ok 3 - a held (tenant, model) lock skips the run, logged" || echo "not ok 3 - $out"
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'shelfops_lock_holder_$$'" >/dev/null
wait "$holder" 2>/dev/null; holder=
for _ in $(seq 1 100); do
    [ "$(q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = (hashtext('public/lock_m'))::oid")" = "0" ] && break
    sleep 0.1
done
q "CALL shelfops_retrain('lock_m')" >/dev/null
out=$(q "SELECT string_agg(status, ',' ORDER BY started_at) FROM shelfops.model_retraining_log WHERE model_name = 'lock_m' AND started_at >= '$t0'")
[ "$out" = "skipped,completed" ] && echo "ok 4 - once the lock is free the run completes" || echo "not ok 4 - $out"

# pg_cron: every minute; wait (polling) for the first run
start=$(q "SELECT now()")
out=$(qc "SELECT cron.schedule_in_database('shelfops-test', '* * * * *', \$\$CALL shelfops_retrain('cron_m', 'public', 'scheduled')\$\$, '$DB') > 0")
[ "$out" = "t" ] || echo "# schedule: $out"
ok=
for _ in $(seq 1 150); do
    st=$(qc "SELECT status FROM cron.job_run_details d JOIN cron.job j USING (jobid)
             WHERE j.jobname = 'shelfops-test' AND d.status IN ('succeeded', 'failed') ORDER BY d.runid LIMIT 1")
    [ -n "$st" ] && { ok=1; break; }
    sleep 1
done
[ "$st" = "succeeded" ] && echo "ok 5 - the cron job ran shelfops_retrain" \
    || echo "not ok 5 - cron status '$st' $(qc "SELECT return_message FROM cron.job_run_details ORDER BY runid DESC LIMIT 1")"
out=$(q "SELECT status || ' ' || trigger_type || ' ' || (version_produced IS NOT NULL)
           FROM shelfops.model_retraining_log WHERE model_name = 'cron_m' AND started_at >= '$start' ORDER BY started_at LIMIT 1")
[ "$out" = "completed scheduled true" ] && echo "ok 6 - the cron run is logged completed with a version" || echo "not ok 6 - '$out'"
