#!/usr/bin/env bash
# Nothing lost through pg_dump: a database filled through the whole loop (two tenants,
# synthetic data, small files in the Rossmann, Walmart and Favorita layouts (one with
# rejected rows), rows inserted by SQL, training,
# promotion, shadow rows, a backtest, persisted forecasts, a retrain job and a run,
# a tenant gate policy) is dumped with pg_dump -Fc and restored into a new database.
# pg_restore must report no error at all; every table of schema shelfops (the
# extension's own and the per-dataset partitions of shelfops.sales) must come back
# with the same row count and the same content checksum; the restored champion
# forecasts exactly what it did; the per-tenant counters continue (the next model
# version and job id follow the restored ones); partitions keep their key, bound and
# row-level security; and the restored database loads, trains and promotes again.
# Runs against the suite's cluster (PGHOST/PGPORT set by scripts/test.sh).  Prints TAP.
set -u
ROOT=${SHELFOPS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
SRC=shelfops_tap_dump
DST=shelfops_tap_restore
PAR=shelfops_tap_restore_j2
DIR=${SHELFOPS_CLUSTER:-$ROOT/.cluster}/tmp/dump
FX=$ROOT/test/fixtures/load
rm -rf "$DIR"; mkdir -p "$DIR"
echo "1..13"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2" 2>&1; }
psql -X -q -d postgres -c "SET client_min_messages = warning" \
     -c "DROP DATABASE IF EXISTS $SRC" -c "DROP DATABASE IF EXISTS $DST" -c "DROP DATABASE IF EXISTS $PAR" \
     -c "CREATE DATABASE $SRC" >/dev/null
trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $SRC" -c "DROP DATABASE IF EXISTS $DST" -c "DROP DATABASE IF EXISTS $PAR" >/dev/null 2>&1; rm -rf "$DIR"' EXIT

fill=$(psql -X -q -At -v ON_ERROR_STOP=1 -v fx="$FX" -d "$SRC" 2>&1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION shelfops;
-- tenant public: synthetic data, a real-layout file, rows inserted by SQL
SELECT shelfops_generate_synthetic('syn', 2, 3, 200, 11) ->> 'rows';
SELECT shelfops_load_dataset('ross', :'fx' || '/rossmann_good', 'rossmann') ->> 'rows_written';
SELECT shelfops_load_dataset('ross_bad', :'fx' || '/rossmann_some_bad') ->> 'rows_written';
SELECT shelfops_load_dataset('wal', :'fx' || '/walmart_good') ->> 'rows_written';
SELECT shelfops_load_dataset('fav', :'fx' || '/favorita_layout') ->> 'rows_written';
INSERT INTO shelfops.datasets (dataset_id, family, frequency, grain) VALUES ('by_sql', 'generic', 'daily', 'x');
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
SELECT 'by_sql', 's1', 'p1', d::date, 3 FROM generate_series('2024-01-01'::date, '2024-01-20', '1 day') d;
-- train two versions, promote the first, the second becomes a challenger
SELECT shelfops_train('syn', 'm', 'xgboost', '{"n_estimators": 15, "max_depth": 3}') ->> 'version';
SELECT shelfops_promote('m', 1) ->> 'decision';
SELECT shelfops_train('syn', 'm', 'xgboost', '{"n_estimators": 25, "max_depth": 4}') ->> 'version';
UPDATE shelfops.model_versions SET status = 'challenger' WHERE model_name = 'm' AND version = 2;
-- shadow rows, scored; persisted forecasts; a backtest
SELECT count(*) FROM shelfops_forecast('m', as_of => '2024-06-30', shadow => true);
SELECT count(*) FROM shelfops_score_shadow('m');
SELECT count(*) FROM shelfops_forecast('m', persist => true);
SELECT shelfops_backtest('m', 1, folds => 2) ->> 'folds';
-- a benchmark run and a small tuning search (its trials and a tuned candidate)
SELECT count(*) FROM shelfops_benchmark(ARRAY['syn'], ARRAY['seasonal_naive']);
SELECT shelfops_tune('syn', 'tuned', '{"max_depth": [2, 3]}', budget => 2, folds => 2) ->> 'version';
-- a retrain job, run once (the run trains version 3)
SELECT shelfops_add_retrain_job('m', 'syn', params => '{"n_estimators": 10, "max_depth": 3}');
-- a tenant policy beside the seeded default
INSERT INTO shelfops.gate_policy (tenant_id, model_name, min_scored_rows) VALUES ('public', 'm', 50);
-- tenant acme: its own dataset and model
SET shelfops.tenant_id = 'acme';
SELECT shelfops_generate_synthetic('syn', 1, 2, 120, 5) ->> 'rows';
SELECT shelfops_train('syn', 'm', 'seasonal_naive') ->> 'version';
SELECT shelfops_promote('m', 1) ->> 'decision';
SQL
)
run=$(q "$SRC" "CALL shelfops_retrain('m', 'public', 'manual')" && q "$SRC" "SELECT status || ':' || version_produced FROM shelfops.model_retraining_log WHERE job_id IS NOT NULL")
[ "$run" = "completed:3" ] && echo "ok 1 - database filled: loads, trainings, promotion, shadow, backtest, benchmark, tuning, forecasts, a job run" \
    || echo "not ok 1 - fill: $(echo "$fill" | tail -3) run: $run"

# describe_data DB: one line per table (name, rows, checksum); test 4 checks the seeded rows
# its filter leaves out are there.
source "$ROOT/test/tap/describe_data.bash"
before=$(describe_data "$SRC")
tables=$(echo "$before" | wc -l)
forecast_sql="SELECT md5(string_agg(concat_ws(' ', store_id, product_id, target_date, forecast, lower, upper, version), chr(10) ORDER BY store_id, product_id, target_date)) FROM shelfops_forecast('m')"
fc_before=$(q "$SRC" "$forecast_sql")
fc_acme_before=$(q "$SRC" "SET shelfops.tenant_id = 'acme'; $forecast_sql")

pg_dump -Fc -f "$DIR/db.dump" "$SRC" 2>"$DIR/dump.err"; rc_dump=$?
q postgres "CREATE DATABASE $DST" >/dev/null
pg_restore -d "$DST" "$DIR/db.dump" 2>"$DIR/restore.err"; rc_restore=$?
if [ "$rc_dump" -eq 0 ] && [ "$rc_restore" -eq 0 ] && [ ! -s "$DIR/dump.err" ] && [ ! -s "$DIR/restore.err" ]; then
    echo "ok 2 - pg_dump -Fc and pg_restore into a new database report no error and no warning"
else
    echo "not ok 2 - pg_dump rc $rc_dump, pg_restore rc $rc_restore"
    grep -c 'error:' "$DIR/restore.err" | sed 's/^/# pg_restore errors: /'
    head -c 3000 "$DIR/dump.err" "$DIR/restore.err" | sed 's/^/# /'
fi

after=$(describe_data "$DST")
diffs=$(diff <(echo "$before") <(echo "$after"))
empty=$(echo "$before" | awk '$2 == 0 {print $1}' | tr '\n' ' ')
if [ -z "$diffs" ] && [ "$tables" -ge 20 ] && [ -z "$empty" ]; then
    echo "ok 3 - all $tables tables of schema shelfops (none empty): same row counts and content checksums"
else
    echo "not ok 3 - $tables tables, empty before the dump: [$empty]; differences (table rows md5, < before, > after):"; echo "$diffs" | sed 's/^/# /'
fi
# a parallel restore (two jobs) must order each partition's data after the datasets it references
q postgres "CREATE DATABASE $PAR" >/dev/null
pg_restore -j 2 -d "$PAR" "$DIR/db.dump" 2>"$DIR/restore_j2.err"; rc_par=$?
diffs=$(diff <(echo "$before") <(describe_data "$PAR"))
if [ "$rc_par" -eq 0 ] && [ ! -s "$DIR/restore_j2.err" ] && [ -z "$diffs" ]; then
    echo "ok 4 - pg_restore -j 2 (parallel) restores the same dump with no error, every table equal"
else
    echo "not ok 4 - parallel restore rc $rc_par"; { head -c 3000 "$DIR/restore_j2.err"; echo "$diffs"; } | sed 's/^/# /'
fi
q postgres "DROP DATABASE $PAR" >/dev/null

parts=$(q "$DST" "SELECT count(*) FROM pg_inherits WHERE inhparent = 'shelfops.sales'::regclass")
rows=$(q "$DST" "SELECT (SELECT count(*) FROM shelfops.sales WHERE dataset_id = 'ross') || ' ' || (SELECT count(*) FROM shelfops.sales_default)")
seeded=$(q "$DST" "SELECT count(*) FROM shelfops.gate_policy WHERE tenant_id = '*'")
[ "$parts" = "7" ] && [ "$seeded" = "1" ] && [ "$rows" = "$(q "$SRC" "SELECT (SELECT count(*) FROM shelfops.sales WHERE dataset_id = 'ross') || ' ' || (SELECT count(*) FROM shelfops.sales_default)")" ] && [ "${rows%% *}" -gt 0 ] \
    && echo "ok 5 - shelfops.sales has its 6 dataset partitions and the default one again, rows where they were; one seeded default policy" \
    || echo "not ok 5 - partitions $parts, rows (ross, default) $rows, seeded policies $seeded"

# every partition: its own primary key, its bound, forced row-level security and the policy
bad=$(q "$DST" "SELECT string_agg(c.relname, ', ') FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = 'shelfops.sales'::regclass
                   AND NOT (c.relrowsecurity AND c.relforcerowsecurity
                            AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)
                            AND EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
                            AND EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'f'))")
[ -z "$bad" ] && echo "ok 6 - restored partitions keep their primary key, foreign key, forced RLS and policy" \
    || echo "not ok 6 - partitions missing a key, FK or RLS: $bad"

fc_after=$(q "$DST" "$forecast_sql")
fc_acme_after=$(q "$DST" "SET shelfops.tenant_id = 'acme'; $forecast_sql")
[ -n "$fc_before" ] && [ "$fc_before" = "$fc_after" ] && [ "$fc_acme_before" = "$fc_acme_after" ] \
    && echo "ok 7 - the restored champions (two tenants) forecast exactly as before" \
    || echo "not ok 7 - forecasts differ: $fc_before/$fc_after, acme $fc_acme_before/$fc_acme_after"

out=$(q "$DST" "SELECT shelfops_train('syn', 'm', 'xgboost', '{\"n_estimators\": 10, \"max_depth\": 3}') ->> 'version'")
out2=$(q "$DST" "SET shelfops.tenant_id = 'acme'; SELECT shelfops_train('syn', 'm', 'seasonal_naive') ->> 'version'")
[ "$out" = "4" ] && [ "$out2" = "2" ] && echo "ok 8 - per-tenant version counters continue after restore (public v4, acme v2)" \
    || echo "not ok 8 - next versions: public '$out' (want 4), acme '$out2' (want 2)"

out=$(q "$DST" "SELECT shelfops_add_retrain_job('m2', 'syn')")
[ "$out" = "2" ] && echo "ok 9 - the per-tenant job id continues (next job is 2)" || echo "not ok 9 - next job id '$out'"

out=$(q "$DST" "CALL shelfops_retrain('m', 'public', 'manual')" && q "$DST" "SELECT string_agg(status || ':' || coalesce(version_produced::text, '-'), ',' ORDER BY started_at) FROM shelfops.model_retraining_log WHERE job_id = 1")
[ "$out" = "completed:3,completed:5" ] && echo "ok 10 - the restored job runs again and produces the next version" \
    || echo "not ok 10 - job log: $out"

# loads replace restored partitions and add new ones
out=$(q "$DST" "SELECT (shelfops_generate_synthetic('syn', 2, 3, 210, 11) ->> 'rows') || ' ' || (shelfops_load_dataset('ross2', '$FX/rossmann_good', 'rossmann') ->> 'rows_written')")
cnt=$(q "$DST" "SELECT (SELECT count(*) FROM shelfops.sales WHERE dataset_id = 'syn' AND tenant_id = 'public') || ' ' || (SELECT count(*) FROM pg_inherits WHERE inhparent = 'shelfops.sales'::regclass)")
[ "$cnt" = "1260 8" ] && echo "ok 11 - the restored database replaces a restored dataset and loads a new one" \
    || echo "not ok 11 - load: $out, rows and partitions: $cnt"

out=$(q "$DST" "SELECT shelfops_promote('m', 4, force => true, reason => 'restore test') ->> 'decision'")
champ=$(q "$DST" "SELECT string_agg(tenant_id || ':' || version, ',' ORDER BY tenant_id) FROM shelfops.model_versions WHERE model_name = 'm' AND status = 'champion'")
[ "$champ" = "acme:1,public:4" ] && echo "ok 12 - promotion works on restored versions (one champion per tenant)" \
    || echo "not ok 12 - promote: $out, champions $champ"

# tenants stay apart in the restored database, for a role under RLS
out=$(psql -X -q -At -d "$DST" 2>&1 <<'SQL'
CREATE ROLE regress_dump_analyst;
GRANT shelfops_analyst TO regress_dump_analyst;
SET ROLE regress_dump_analyst;
SET shelfops.tenant_id = 'acme';
SELECT string_agg(DISTINCT tenant_id, ',') || ' ' || count(*) FROM shelfops.sales;
SELECT count(*) FROM shelfops.model_versions WHERE tenant_id <> 'acme';
RESET ROLE;
DROP OWNED BY regress_dump_analyst;
DROP ROLE regress_dump_analyst;
SQL
)
[ "$(echo $out)" = "acme 240 0" ] && echo "ok 13 - row-level security still separates the tenants after restore" \
    || echo "not ok 13 - as acme analyst: $out"
