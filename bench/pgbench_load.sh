#!/usr/bin/env bash
# bench/pgbench_load.sh: a mixed pgbench workload against the checkout's cluster
# (unix socket only), bounded in time, with a watcher checking the registry
# invariants once a second.  Client groups (one pgbench process each, own
# application_name):
#   read     3 clients: the champion's forecast (7 days), shelfops.model_history,
#            shelfops.model_health, persisted forecasts
#   train    1 client:  a small XGBoost version of model lm (10 trees, depth 3)
#   promote  1 client:  shelfops_promote of lm's newest candidate, forced in half of the
#                       calls so the champion really changes (then 200 ms pause)
#   shadow   1 client:  lm's champion forecast with shadow rows, then shelfops_score_shadow
#   jobs     1 client:  CALL shelfops_run_due_jobs() every second (model lj, every 1 minute,
#                       auto-promote)
# train/promote/shadow go through bench.op(), which retries the documented
# concurrency errors (40001 serialization_failure, 40P01 deadlock_detected, 55P03
# lock_not_available) up to 5 times and records every error with its SQLSTATE in
# bench.errors; any other error is recorded and counted as a failure.
# The watcher (psql \watch 1) records, each second: models with more than one
# champion, champions without their experiment row, and promotions whose
# returned experiment_id has no row.  Backend RssAnon of every client is read
# from /proc 15 s after the start, every 60 s, and 20 s before the end, beside
# each backend's palloc total at the end (pg_log_backend_memory_contexts).
#
#   bash bench/pgbench_load.sh                  # 10 minutes
#   BENCH_SECONDS=60 bash bench/pgbench_load.sh # shorter
#
# Prints a report (and writes it to .cluster/pgbench_load/report.txt); exits
# non-zero when an invariant was violated, an undocumented error occurred or a
# client aborted.
source "$(dirname "$0")/../scripts/lib.sh"
SECONDS_TOTAL=${BENCH_SECONDS:-600}
DB=shelfops_bench_load
OUT=$CLUSTER/pgbench_load

install_packages
build_and_install
cluster_start
ensure_database $DB
psql -X -q -d $DB -c 'DROP EXTENSION IF EXISTS shelfops CASCADE' -c 'DROP SCHEMA IF EXISTS bench CASCADE' \
    -c 'CREATE EXTENSION shelfops' >/dev/null
release_install_lock
rm -rf "$OUT"; mkdir -p "$OUT"
q() { psql -X -q -At -d $DB -c "$1"; }

say "set-up: 160000-row synthetic dataset, model lm (champion + challenger), job lj"
psql -X -q -At -d $DB -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SELECT shelfops_generate_synthetic('lb', 20, 20, 400, 5);
SELECT shelfops_train('lb', 'lm', 'seasonal_naive');
SELECT shelfops_promote('lm', 1);
SELECT shelfops_train('lb', 'lm', 'moving_average');
SELECT shelfops_promote('lm', 2);
SELECT count(*) FROM shelfops_forecast('lm', persist => true);
SELECT shelfops_add_retrain_job('lj', 'lb', params => '{"n_estimators": 10, "max_depth": 3}',
                                schedule_interval => '1 minute', auto_promote => true, first_run_at => now());

CREATE SCHEMA bench;
CREATE TABLE bench.errors (at timestamptz NOT NULL DEFAULT clock_timestamp(), op text NOT NULL,
                           sqlstate text NOT NULL, message text, retried boolean NOT NULL);
CREATE TABLE bench.promotions (at timestamptz NOT NULL DEFAULT clock_timestamp(), version integer,
                               decision text, experiment_id uuid);
CREATE TABLE bench.watch (at timestamptz NOT NULL, double_champions bigint, champions_without_experiment bigint,
                          promotions_without_experiment bigint);
CREATE FUNCTION bench.op(kind text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    tries integer := 0;
    r     jsonb;
    v     integer;
    st    text;
    msg   text;
    asof  date;
BEGIN
    LOOP
        BEGIN
            IF kind = 'train' THEN
                r := shelfops_train('lb', 'lm', 'xgboost', '{"n_estimators": 10, "max_depth": 3}');
                RETURN r->>'version';
            ELSIF kind = 'promote' THEN
                SELECT max(version) INTO v FROM shelfops.model_versions
                 WHERE model_name = 'lm' AND status = 'candidate';
                IF v IS NULL THEN
                    RETURN 'no candidate';
                END IF;
                -- every other call forces the switch: the champion changes under load
                r := shelfops_promote('lm', v, force => random() < 0.5, reason => 'pgbench_load');
                INSERT INTO bench.promotions (version, decision, experiment_id)
                VALUES (v, r->>'decision', (r->>'experiment_id')::uuid);
                RETURN r->>'decision';
            ELSIF kind = 'shadow' THEN
                SELECT date_max - 14 INTO asof FROM shelfops.datasets WHERE dataset_id = 'lb';
                PERFORM count(*) FROM shelfops_forecast('lm', as_of => asof, shadow => true);
                PERFORM count(*) FROM shelfops_score_shadow('lm');
                RETURN 'scored';
            END IF;
            RAISE EXCEPTION 'unknown op %', kind;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st := RETURNED_SQLSTATE, msg := MESSAGE_TEXT;
            tries := tries + 1;
            INSERT INTO bench.errors (op, sqlstate, message, retried)
            VALUES (kind, st, msg, st IN ('40001', '40P01', '55P03') AND tries < 5);
            IF st IN ('40001', '40P01', '55P03') AND tries < 5 THEN
                CONTINUE;
            END IF;
            RETURN 'error ' || st;
        END;
    END LOOP;
END
$$;
SQL

cat >"$OUT/read.sql" <<'SQL'
SELECT count(*) FROM shelfops_forecast('lm', horizon => 7);
SELECT count(*), max(wape) FROM shelfops.model_history WHERE model_name = 'lm';
SELECT count(*) FROM shelfops.model_health;
SELECT store_id, product_id, target_date, forecast FROM shelfops.forecasts WHERE model_name = 'lm' ORDER BY target_date DESC, store_id, product_id LIMIT 100;
SQL
echo "SELECT bench.op('train');" >"$OUT/train.sql"
printf "SELECT bench.op('promote');\n\\sleep 200 ms\n" >"$OUT/promote.sql"
echo "SELECT bench.op('shadow');" >"$OUT/shadow.sql"
printf 'CALL shelfops_run_due_jobs();\n\\sleep 1000 ms\n' >"$OUT/jobs.sql"

say "watcher: invariants once a second"
cat >"$OUT/watch.sql" <<'SQL'
INSERT INTO bench.watch
SELECT clock_timestamp(),
       (SELECT count(*) FROM (SELECT 1 FROM shelfops.model_versions WHERE status = 'champion'
                               GROUP BY tenant_id, model_name HAVING count(*) > 1) d),
       (SELECT count(*) FROM shelfops.model_versions v WHERE v.status = 'champion'
           AND NOT EXISTS (SELECT 1 FROM shelfops.model_experiments e WHERE e.tenant_id = v.tenant_id
                             AND e.model_name = v.model_name AND e.experimental_version = v.version)),
       (SELECT count(*) FROM bench.promotions p WHERE p.experiment_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM shelfops.model_experiments e WHERE e.experiment_id = p.experiment_id))
\watch 1
SQL
PGAPPNAME=bench_watch timeout "$((SECONDS_TOTAL + 5))" psql -X -q -d $DB -f "$OUT/watch.sql" >/dev/null 2>"$OUT/watch.err" &
WATCH=$!

say "pgbench for $SECONDS_TOTAL s"
run() {  # run NAME CLIENTS
    PGAPPNAME=bench_$1 pgbench -n -c "$2" -j 1 -T "$SECONDS_TOTAL" -f "$OUT/$1.sql" \
        -l --log-prefix="$OUT/log_$1" --max-tries=1 --failures-detailed -d $DB >"$OUT/$1.out" 2>&1
}
run read 3 & P1=$!
run train 1 & P2=$!
run promote 1 & P3=$!
run shadow 1 & P4=$!
run jobs 1 & P5=$!

rss() {  # rss LABEL: RssAnon (kB) of every bench backend
    psql -X -q -At -d $DB -c "SELECT application_name, pid FROM pg_stat_activity
                              WHERE application_name LIKE 'bench\_%' AND application_name <> 'bench_watch'
                              ORDER BY 1, 2" |
    while IFS='|' read -r app pid; do
        echo "$1 $app $pid $(awk '/^RssAnon/ {print $2}' "/proc/$pid/status" 2>/dev/null)"
    done
}
# RssAnon 15 s after the start, then every 60 s, and 20 s before the end: a series
# shows whether memory settles (a high-water mark) or keeps growing (a leak).
sleep 15; rss 15 >"$OUT/rss.txt"
elapsed=15
while [ $((elapsed + 60)) -lt $((SECONDS_TOTAL - 20)) ]; do
    sleep 60; elapsed=$((elapsed + 60)); rss $elapsed >>"$OUT/rss.txt"
done
sleep $(( SECONDS_TOTAL - 20 > elapsed ? SECONDS_TOTAL - 20 - elapsed : 1 ))
elapsed=$(( SECONDS_TOTAL - 20 > elapsed ? SECONDS_TOTAL - 20 : elapsed + 1 )); rss $elapsed >>"$OUT/rss.txt"
# PostgreSQL's own memory (palloc contexts) of each backend at that moment, from
# pg_log_backend_memory_contexts in the server log: RssAnon well above it is memory
# malloc'd outside PostgreSQL (XGBoost, LLVM for JIT) or kept by the allocator.
log_before=$(stat -c %s "$CLUSTER/postgres.log")
psql -X -q -At -d $DB -c "SELECT pg_log_backend_memory_contexts(pid) FROM pg_stat_activity
                          WHERE application_name LIKE 'bench\_%' AND application_name <> 'bench_watch'" >/dev/null
sleep 5   # each backend logs at its next interrupt check
tail -c +"$((log_before + 1))" "$CLUSTER/postgres.log" | grep -F 'Grand total' |
    sed -E 's/.*\[([0-9]+)\].*Grand total: ([0-9]+) bytes.*/\1 \2/' >"$OUT/contexts.txt" || true
[ -s "$OUT/contexts.txt" ] || echo "0 0" >"$OUT/contexts.txt"   # (the report's awk reads it first)
wait $P1 $P2 $P3 $P4 $P5 || true
wait $WATCH 2>/dev/null || true   # timeout ends the watcher

say "report"
{
echo "pgbench_load: $SECONDS_TOTAL s, $(nproc) cores shared with other work (load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-8s %7s %10s %10s %10s %10s %10s %8s\n' group clients txns tps p50_ms p95_ms p99_ms failed
for g in read:3 train:1 promote:1 shadow:1 jobs:1; do
    n=${g%%:*}; c=${g##*:}
    cat "$OUT"/log_$n* 2>/dev/null | awk '{print $3}' | sort -n >"$OUT/lat_$n.txt"
    cnt=$(wc -l <"$OUT/lat_$n.txt")
    pct() { [ "$cnt" -gt 0 ] && awk -v p="$1" -v n="$cnt" 'NR == int((n - 1) * p) + 1 {printf "%.1f", $1 / 1000}' "$OUT/lat_$n.txt" || echo -; }
    tps=$(grep -Eo 'tps = [0-9.]+' "$OUT/$n.out" | awk '{print $3}')
    failed=$(grep -Eo 'number of failed transactions: [0-9]+' "$OUT/$n.out" | awk '{print $5}')
    printf '%-8s %7s %10s %10s %10s %10s %10s %8s\n' "$n" "$c" "$cnt" "${tps:-?}" "$(pct 0.5)" "$(pct 0.95)" "$(pct 0.99)" "${failed:-?}"
done
echo
echo "bench.op results:"
q "SELECT '  ' || op || ' ' || sqlstate || ' retried=' || retried || ': ' || count(*) || ' (' || min(left(message, 90)) || ')'
     FROM bench.errors GROUP BY op, sqlstate, retried ORDER BY op, sqlstate"
echo "  errors recorded by bench.op: $(q "SELECT count(*) FROM bench.errors")"
echo "  promotions: $(q "SELECT coalesce(string_agg(decision || '=' || n, ' '), 'none') FROM (SELECT decision, count(*) n FROM bench.promotions GROUP BY 1 ORDER BY 1) d")"
echo "  versions of lm: $(q "SELECT count(*) FROM shelfops.model_versions WHERE model_name = 'lm'"), experiments: $(q "SELECT count(*) FROM shelfops.model_experiments")"
echo "  retrain log of lj: $(q "SELECT coalesce(string_agg(status || '=' || n, ' '), 'none') FROM (SELECT status, count(*) n FROM shelfops.model_retraining_log WHERE model_name = 'lj' GROUP BY 1 ORDER BY 1) d")"
echo "  shadow rows: $(q "SELECT count(*) || ' (' || count(scored_at) || ' scored)' FROM shelfops.shadow_predictions")"
echo
echo "watcher: $(q "SELECT count(*) || ' checks, ' || coalesce(sum(double_champions), 0) || ' double champions, ' || coalesce(sum(champions_without_experiment), 0) || ' champions without experiment, ' || coalesce(sum(promotions_without_experiment), 0) || ' promotions without experiment row' FROM bench.watch")"
echo
echo "backend RssAnon (kB) at seconds $(awk '{print $1}' "$OUT/rss.txt" | uniq | paste -sd' '); palloc contexts at the end (kB):"
awk 'NR == FNR {ctx[$1] = int($2 / 1024); next}
     {k = $2 " " $3; if (!(k in row)) keys[++n] = k; row[k] = row[k] " " $4; pid[k] = $3}
     END {for (i = 1; i <= n; i++) printf "  %-24s%s  | contexts %s\n", keys[i], row[keys[i]], (pid[keys[i]] in ctx ? ctx[pid[keys[i]]] : "?")}' \
    "$OUT/contexts.txt" "$OUT/rss.txt" | sort
echo
{ grep -h -E 'aborted|error' "$OUT"/*.out | grep -v 'number of failed' | sort | uniq -c | head -20 | sed 's/^/pgbench: /'; } || true
} | tee "$OUT/report.txt"

bad=$(q "SELECT (SELECT count(*) FROM bench.errors WHERE sqlstate NOT IN ('40001', '40P01', '55P03') OR NOT retried)
              + (SELECT coalesce(sum(double_champions + champions_without_experiment + promotions_without_experiment), 0) FROM bench.watch)")
aborted=$(cat "$OUT"/*.out | grep -c 'aborted' || true)
checks=$(q "SELECT count(*) FROM bench.watch")
echo "pgbench_load: $bad violations or undocumented errors, $aborted aborted clients, $checks watcher checks"
[ "$bad" -eq 0 ] && [ "$aborted" -eq 0 ] && [ "$checks" -gt 0 ]
