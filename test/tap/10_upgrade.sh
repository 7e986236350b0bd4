#!/usr/bin/env bash
# Upgrades: every released version (its frozen install script in sql/released/) is
# installed, filled through the whole loop, and updated with ALTER EXTENSION
# shelfops UPDATE to the current version.  Then: the data is unchanged, the models it
# saved still load and forecast exactly as before, the loop goes on (train, promote,
# load, a job run), a pg_dump of it restores with no error, and its schema equals a
# fresh CREATE EXTENSION of the current version object by object
# (test/tap/describe_extension.sql): a change to sql/install/ that the upgrade script
# does not repeat fails here, naming each object and property that differs.
# Last, a model envelope of another format version fails with an error naming it.
# Runs against the suite's cluster (PGHOST/PGPORT set by scripts/test.sh).  Prints TAP.
#
# A release adds one line to FROM_VERSIONS (the test fails while a version in
# sql/released/ is missing from it).
set -u
ROOT=${SHELFOPS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
FROM_VERSIONS=(
    0.1.0
)
CURRENT=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$ROOT/shelfops.control")
UP=shelfops_tap_upgrade
FRESH=shelfops_tap_fresh
COPY=shelfops_tap_upgrade_restore
DIR=${SHELFOPS_CLUSTER:-$ROOT/.cluster}/tmp/upgrade
FX=$ROOT/test/fixtures/load
rm -rf "$DIR"; mkdir -p "$DIR"
echo "1..$(( 1 + 8 * ${#FROM_VERSIONS[@]} + 1 ))"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2" 2>&1; }
dropdbs() { psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $UP" \
                 -c "DROP DATABASE IF EXISTS $FRESH" -c "DROP DATABASE IF EXISTS $COPY" >/dev/null 2>&1; }
trap 'dropdbs; [ -n "${KEEP:-}" ] || rm -rf "$DIR"' EXIT
t=0
ok() { t=$((t + 1)); echo "ok $t - $1"; }
notok() { t=$((t + 1)); echo "not ok $t - $1"; }

released=$(ls "$ROOT"/sql/released/shelfops--*.sql | sed 's/.*shelfops--\(.*\)\.sql/\1/' | sort -V | tr '\n' ' ')
listed=$(printf '%s\n' "${FROM_VERSIONS[@]}" | sort -V | tr '\n' ' ')
[ "$released" = "$listed" ] && ok "every released version ($released) is tested for an update to $CURRENT" \
    || notok "released versions [$released] but FROM_VERSIONS lists [$listed]: add a line"

source "$ROOT/test/tap/describe_data.bash"
forecast_sql="SELECT md5(string_agg(concat_ws(' ', store_id, product_id, target_date, forecast, lower, upper, version), chr(10) ORDER BY store_id, product_id, target_date)) FROM shelfops_forecast('m')"

for from in "${FROM_VERSIONS[@]}"; do
    dropdbs
    q postgres "CREATE DATABASE $UP" >/dev/null
    # The fill uses only what every released version has; a release that changes a
    # signature used here adapts the fill for the versions before it.
    fill=$(psql -X -q -At -v ON_ERROR_STOP=1 -v fx="$FX" -v from="$from" -d "$UP" 2>&1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION shelfops VERSION :'from';
SELECT shelfops_generate_synthetic('syn', 2, 3, 200, 11) ->> 'rows';
SELECT shelfops_load_dataset('ross', :'fx' || '/rossmann_good', 'rossmann') ->> 'rows_loaded';
SELECT shelfops_load_dataset('wal', :'fx' || '/walmart_good') ->> 'rows_loaded';
INSERT INTO shelfops.datasets (dataset_id, family, frequency, grain) VALUES ('by_sql', 'generic', 'daily', 'x');
INSERT INTO shelfops.sales (dataset_id, store_id, product_id, sale_date, quantity)
SELECT 'by_sql', 's1', 'p1', d::date, 3 FROM generate_series('2024-01-01'::date, '2024-01-20', '1 day') d;
SELECT shelfops_train('syn', 'm', 'xgboost', '{"n_estimators": 15, "max_depth": 3}') ->> 'version';
SELECT shelfops_promote('m', 1) ->> 'decision';
SELECT shelfops_train('syn', 'm', 'xgboost', '{"n_estimators": 25, "max_depth": 4}') ->> 'version';
UPDATE shelfops.model_versions SET status = 'challenger' WHERE model_name = 'm' AND version = 2;
SELECT count(*) FROM shelfops_forecast('m', as_of => '2024-06-30', shadow => true);
SELECT count(*) FROM shelfops_score_shadow('m');
SELECT count(*) FROM shelfops_forecast('m', persist => true);
SELECT shelfops_backtest('m', 1, folds => 2) ->> 'folds';
SELECT shelfops_add_retrain_job('m', 'syn', params => '{"n_estimators": 10, "max_depth": 3}');
-- only runs this test makes: the server's worker must not start a drift or new-data
-- run of its own between the snapshots taken before and after the update
UPDATE shelfops.retrain_jobs SET enabled_triggers = '{scheduled,manual}' WHERE model_name = 'm';
INSERT INTO shelfops.gate_policy (tenant_id, model_name, min_scored_rows) VALUES ('public', 'm', 50);
SET shelfops.tenant_id = 'acme';
SELECT shelfops_generate_synthetic('syn', 1, 2, 120, 5) ->> 'rows';
SELECT shelfops_train('syn', 'm', 'seasonal_naive') ->> 'version';
SELECT shelfops_promote('m', 1) ->> 'decision';
SQL
)
    rc=$?
    run=$(q "$UP" "CALL shelfops_retrain('m', 'public', 'manual')" && q "$UP" "SELECT status || ':' || version_produced FROM shelfops.model_retraining_log WHERE job_id IS NOT NULL")
    rm -f "$DIR/columns"
    data_before=$(describe_data "$UP" "$DIR/columns" before)
    fc_before=$(q "$UP" "$forecast_sql")
    fc_acme_before=$(q "$UP" "SET shelfops.tenant_id = 'acme'; $forecast_sql")

    out=$(q "$UP" "ALTER EXTENSION shelfops UPDATE" && q "$UP" "SELECT extversion FROM pg_extension WHERE extname = 'shelfops'")
    [ "$rc" -eq 0 ] && [ "$run" = "completed:3" ] && [ "$out" = "$CURRENT" ] \
        && ok "$from: installed, filled, ALTER EXTENSION shelfops UPDATE reaches $CURRENT" \
        || notok "$from: fill rc $rc ($(echo "$fill" | tail -2)), job run '$run', update: $out"

    # The update's one intended change of data: the extent of the dataset whose rows
    # were inserted by SQL (never counted before 0.2.0) is recounted.  Compared with
    # its old values put back, every other row must be as it was.
    extent=$(q "$UP" "SELECT concat_ws(' ', row_count, date_min, date_max) FROM shelfops.datasets WHERE dataset_id = 'by_sql'")
    q "$UP" "UPDATE shelfops.datasets SET row_count = 0, date_min = NULL, date_max = NULL WHERE dataset_id = 'by_sql'" >/dev/null
    data_after=$(describe_data "$UP" "$DIR/columns" after)
    q "$UP" "SELECT shelfops_refresh_dataset_extent('by_sql')" >/dev/null
    diffs=$(diff <(echo "$data_before") <(echo "$data_after"))
    [ -z "$diffs" ] && [ "$(echo "$data_before" | wc -l)" -ge 20 ] && [ "$extent" = "20 2024-01-01 2024-01-20" ] \
        && ok "$from: every table's rows are unchanged by the update ($(echo "$data_before" | wc -l) tables), but the extent of a dataset inserted by SQL, now counted ($extent)" \
        || { notok "$from: rows changed by the update (< before, > after), extent of by_sql '$extent'"; echo "$diffs" | sed 's/^/# /' >&2; }

    fc_after=$(q "$UP" "$forecast_sql")
    fc_acme_after=$(q "$UP" "SET shelfops.tenant_id = 'acme'; $forecast_sql")
    [ -n "$fc_before" ] && [ "$fc_before" = "$fc_after" ] && [ "$fc_acme_before" = "$fc_acme_after" ] \
        && ok "$from: models saved by $from load and forecast exactly as before (xgboost, seasonal_naive)" \
        || notok "$from: forecasts differ: $fc_before/$fc_after, acme $fc_acme_before/$fc_acme_after"

    # the loop goes on: a new version (the counter continues), a promotion, a
    # dataset replaced in place, a new one, a job run
    out=$(psql -X -q -At -v ON_ERROR_STOP=1 -v fx="$FX" -d "$UP" 2>&1 <<'SQL'
SET client_min_messages = warning;
SELECT shelfops_train('syn', 'm', 'xgboost', '{"n_estimators": 10, "max_depth": 3}') ->> 'version';
SELECT shelfops_promote('m', 4, force => true, reason => 'upgrade test') ->> 'decision';
SELECT shelfops_generate_synthetic('syn', 2, 3, 210, 11) ->> 'rows';
SELECT (shelfops_load_dataset('ross2', :'fx' || '/rossmann_good', 'rossmann') ->> 'rows_written')::int > 0;
SELECT count(*) FROM pg_inherits WHERE inhparent = 'shelfops.sales'::regclass;
SELECT string_agg(tenant_id || ':' || version, ',' ORDER BY tenant_id) FROM shelfops.model_versions WHERE model_name = 'm' AND status = 'champion';
SQL
)
    run=$(q "$UP" "CALL shelfops_retrain('m', 'public', 'manual')" && q "$UP" "SELECT string_agg(status || ':' || version_produced, ',' ORDER BY started_at) FROM shelfops.model_retraining_log WHERE job_id IS NOT NULL")
    [ "$(echo $out)" = "4 forced 1260 t 6 acme:1,public:4" ] && [ "$run" = "completed:3,completed:5" ] \
        && ok "$from: after the update: next version 4, promotion, dataset replaced, new load, job run (version 5)" \
        || notok "$from: after the update: '$(echo $out)' (want '4 forced 1260 t 6 acme:1,public:4'), job log '$run'"

    # every partition has its own keys; the parent has none
    out=$(q "$UP" "SELECT (SELECT count(*) FROM pg_index WHERE indrelid = 'shelfops.sales'::regclass) || ' '
                     || (SELECT count(*) FROM pg_constraint WHERE conrelid = 'shelfops.sales'::regclass AND contype IN ('p', 'f')) || ' '
                     || (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = 'shelfops.sales'::regclass
                          AND NOT (EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = i.inhrelid AND k.contype = 'p')
                                   AND EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = i.inhrelid AND k.contype = 'f')))")
    [ "$out" = "0 0 0" ] && ok "$from: every sales partition has its primary key and foreign key, the parent neither" \
        || notok "$from: (parent indexes, parent keys, partitions without both keys) = $out"

    pg_dump -Fc -f "$DIR/up.dump" "$UP" 2>"$DIR/dump.err"; rc_dump=$?
    q postgres "CREATE DATABASE $COPY" >/dev/null
    pg_restore -j 2 -d "$COPY" "$DIR/up.dump" 2>"$DIR/restore.err"; rc_restore=$?
    same=$(diff <(describe_data "$UP") <(describe_data "$COPY"))
    if [ "$rc_dump" -eq 0 ] && [ "$rc_restore" -eq 0 ] && [ ! -s "$DIR/dump.err" ] && [ ! -s "$DIR/restore.err" ] && [ -z "$same" ]; then
        ok "$from: the updated database dumps and restores (pg_restore -j 2) with no error, every table equal"
    else
        notok "$from: dump rc $rc_dump, restore rc $rc_restore, $(grep -c 'error:' "$DIR/restore.err") restore errors"
        { head -c 2000 "$DIR/dump.err" "$DIR/restore.err"; echo "$same"; } | sed 's/^/# /'
    fi

    q postgres "CREATE DATABASE $FRESH" >/dev/null
    q "$FRESH" "CREATE EXTENSION shelfops" >/dev/null
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$UP" -f "$ROOT/test/tap/describe_extension.sql" >"$DIR/updated.txt" 2>&1; rc1=$?
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$FRESH" -f "$ROOT/test/tap/describe_extension.sql" >"$DIR/fresh.txt" 2>&1; rc2=$?
    lines=$(wc -l <"$DIR/fresh.txt")
    if [ "$rc1$rc2" != "00" ]; then
        notok "$from: describe_extension.sql failed: $(head -3 "$DIR/updated.txt" "$DIR/fresh.txt")"
    elif cmp -s "$DIR/updated.txt" "$DIR/fresh.txt" && [ "$lines" -gt 500 ]; then
        ok "$from: the updated schema equals a fresh $CURRENT install ($lines object properties compared)"
    else
        notok "$from: the schema after ALTER EXTENSION UPDATE from $from differs from a fresh $CURRENT install"
        echo "# Each line is one object property.  '-' = only in the database updated from $from"
        echo "# (the upgrade script made or kept it), '+' = only in a fresh CREATE EXTENSION of $CURRENT"
        echo "# (sql/install/ has it, sql/shelfops--*--$CURRENT.sql does not)."
        diff -U0 "$DIR/updated.txt" "$DIR/fresh.txt" | grep -E '^[-+][^-+]' | sed 's/^/# /'
    fi
    # an update is tested only from an older release, along a path the scripts provide
    path=$(q "$FRESH" "SELECT path FROM pg_extension_update_paths('shelfops') WHERE source = '$from' AND target = '$CURRENT'")
    [ "$from" != "$CURRENT" ] && [ -n "$path" ] \
        && ok "$from: an update path to $CURRENT exists ($path)" || notok "$from: no update path to $CURRENT ('$path')"
done

# A model saved in another envelope format: the format version is read first, so a
# newer (or invalid) one is refused by name before anything else is checked.
out=$(psql -X -q -At -d "$UP" 2>&1 <<'SQL'
\set VERBOSITY default
INSERT INTO shelfops.model_versions (tenant_id, model_name, version, status, algorithm, dataset_id, frequency, horizon,
                                     params, feature_spec, metrics, calibration, model_format, model_bytes, train_end)
SELECT tenant_id, model_name, 90 + f, 'candidate', algorithm, dataset_id, frequency, horizon, params, feature_spec,
       metrics, calibration, f, set_byte(model_bytes, 8, f), train_end
  FROM shelfops.model_versions, (VALUES (2), (0)) v(f)
 WHERE tenant_id = 'public' AND model_name = 'm' AND version = 1;
SELECT count(*) FROM shelfops_forecast('m', version => 92);
SELECT count(*) FROM shelfops_forecast('m', version => 90);
SQL
)
if echo "$out" | grep -q 'model envelope format version 2 is not supported' \
   && echo "$out" | grep -q 'reads envelope format version 1 only; the model was written by a newer shelfops' \
   && echo "$out" | grep -q 'model envelope format version 0 is invalid'; then
    ok "a stored model of envelope format 2 (newer) or 0 (invalid) fails with an error naming the format version"
else
    notok "envelope version errors: $out"
fi
