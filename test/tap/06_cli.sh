#!/usr/bin/env bash
# The `shelfops` command-line program (src/cli/, docs/cli.md) end to end on the suite's
# preloaded cluster (PGHOST/PGPORT/PGUSER set by scripts/test.sh), on synthetic data:
# --help of every subcommand, tables and --json checked against the tables, the
# progress line of a training of a few seconds, server errors with their SQLSTATE and
# exit 1, usage errors (2), no connection (3), Ctrl-C (130), a quote in an argument
# staying a value, tenants, the performance log and export, benchmark,
# benchmark-combos, tune and plot.  Every wait polls with a timeout.  Prints TAP.
set -u
ROOT=${SHELFOPS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
CLI=$ROOT/bin/shelfops
DB=shelfops_tap_cli
TMP=${SHELFOPS_CLUSTER:-$ROOT/.cluster}/tmp/cli
DIAG=${SHELFOPS_CLUSTER:-$ROOT/.cluster}/tap-cli.log	# kept after the run: what each test saw
rm -rf "$TMP"; mkdir -p "$TMP"; : >"$DIAG"
export PGDATABASE=$DB

q() { psql -X -q -At -d "$DB" -c "$1" 2>&1; }
cleanup() {
    [ -n "${bg:-}" ] && kill "$bg" 2>/dev/null
    psql -X -q -d postgres -c "SET client_min_messages = warning" \
        -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$DB' AND pid <> pg_backend_pid()" \
        -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
n=0
# check STATUS DESCRIPTION [WHAT-WAS-SEEN]
check() {
    n=$((n + 1))
    if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2${3:+ # $3}"; fi | tee -a "$DIAG"
}
skip() {
    n=$((n + 1))
    echo "ok $n # skip $1" | tee -a "$DIAG"
}
# run ARGS...: the CLI with stdout in $TMP/out, stderr in $TMP/err, exit status in $rc
run() {
    "$CLI" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    { echo "# shelfops $* -> $rc"; head -c 2000 "$TMP/out" | sed 's/^/#   out: /'; head -c 2000 "$TMP/err" | sed 's/^/#   err: /'; } >>"$DIAG"
}
# json PYTHON-EXPRESSION: evaluate it on the JSON document in $TMP/out (bound to d);
# prints nothing when the output is not JSON or the expression fails
json() { python3 -c "import json,sys; d=json.load(open('$TMP/out')); print(($1))" 2>/dev/null; }
has_function() { [ "$(q "SELECT count(*) FROM pg_proc WHERE proname = '$1'")" != 0 ]; }

psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB" \
    -c "CREATE DATABASE $DB" >/dev/null
q "CREATE EXTENSION shelfops" >/dev/null

# 1: built by make and installed by make install
out=$("$(pg_config --bindir)/shelfops" --version 2>&1)
[ -x "$CLI" ] && [ "$out" = "$("$CLI" --version)" ] && [[ "$out" == "shelfops (CLI) "* ]]
check $? "make builds bin/shelfops and make install puts it in pg_config --bindir" "got '$out'"

# 2-17: help everywhere, without a server
SUBS=(generate validate validate-report train forecast benchmark benchmark-combos tune promote rollback
      history perf-log "plot forecast" "plot benchmark" export)
run --help
missing=
for s in "${SUBS[@]}"; do grep -q "^  $s  " "$TMP/out" || missing="$missing [$s]"; done
[ "$rc" = 0 ] && [ -z "$missing" ]; check $? "shelfops --help lists every subcommand" "rc $rc, missing$missing"
for s in "${SUBS[@]}"; do
    # shellcheck disable=SC2086
    PGHOST=/nonexistent run $s --help
    [ "$rc" = 0 ] && grep -q "^Usage: shelfops $s \[OPTION\]" "$TMP/out" && grep -q '^Example:' "$TMP/out" \
        && grep -q -- '--json' "$TMP/out"
    check $? "shelfops $s --help prints its usage, options and an example" "rc $rc: $(head -1 "$TMP/out")"
done

# 18-19: generate, as a key/value table
run generate cli --stores 6 --products 40 --days 300 --seed 1
rows=$(q "SELECT count(*) FROM shelfops.sales WHERE dataset_id = 'cli'")
[ "$rc" = 0 ] && grep -Eq "^rows +\| $rows\$" "$TMP/out" && grep -q '^(.* rows)$' "$TMP/out" \
    && [ "$(sed -n 2p "$TMP/out" | tr -d -- '-+')" = "" ]
check $? "generate prints the function's document as a key | value table ($rows rows)" "rc $rc"
run generate cli2 --stores 2 --products 3 --days 120 --seed 2 --json
[ "$rc" = 0 ] && [ "$(json "d['rows']")" = "$(q "SELECT count(*) FROM shelfops.sales WHERE dataset_id = 'cli2'")" ]
check $? "generate --json prints the document itself" "rc $rc, $(json "d.get('rows')")"

# 20-21: validate
run validate cli
checks=$(q "SELECT count(*) FROM shelfops_validate_dataset('cli')")
[ "$rc" = 0 ] && head -1 "$TMP/out" | grep -Eq '^check_name +\| observed +\| threshold +\| passed +\| detail$' \
    && [ "$(tail -1 "$TMP/out")" = "($checks rows)" ] && grep -Eq '^series_count +\| +240 \|' "$TMP/out"
check $? "validate prints an aligned table of the function's columns, one row per check" "rc $rc, $(tail -1 "$TMP/out")"
run --json validate cli
[ "$rc" = 0 ] && [ "$(json "len(d), sorted(d[0])")" = "($checks, ['check_name', 'detail', 'observed', 'passed', 'threshold'])" ]
check $? "validate --json is a JSON array of the rows" "$(json "len(d)")"

# 22-24: a training of a few seconds shows its progress line; without --progress and
# with stderr not a terminal it does not
run train cli -m m --params '{"n_estimators": 400, "max_depth": 6}' --progress
[ "$rc" = 0 ] && grep -Eq '^version +\| 1$' "$TMP/out" && grep -Eq '^status +\| candidate$' "$TMP/out"
check $? "train prints the new version" "rc $rc"
fit=$(grep -Ec '^shelfops train: m: phase fit, round [0-9]+/400, [0-9.]+ s$' "$TMP/err")
[ "$fit" -ge 1 ] && grep -Eq '^shelfops train: done, [0-9.]+ s$' "$TMP/err"
check $? "train --progress shows phase, rounds and elapsed while it runs ($fit lines in fit)" "$(head -c 300 "$TMP/err")"
run train cli -m m --params '{"n_estimators": 20}' --json
[ "$rc" = 0 ] && [ ! -s "$TMP/err" ] && [ "$(json "d['version'], d['status'], d['model_name']")" = "(2, 'candidate', 'm')" ]
check $? "train --json prints the document; no progress line when stderr is not a terminal" "rc $rc $(head -c 200 "$TMP/err")"

# 25: on a terminal (script(1) gives it one) the line is redrawn in place and cleared
if command -v script >/dev/null; then
    PGDATABASE=$DB script -qec "$CLI train cli -m tty --params '{\"n_estimators\": 200, \"max_depth\": 4}' >/dev/null" "$TMP/tty" >/dev/null 2>&1
    rc=$?
    redraws=$(grep -o $'\r\e\[Kshelfops train: tty: phase fit, round [0-9]*/200' "$TMP/tty" | wc -l)
    [ "$rc" = 0 ] && [ "$redraws" -ge 1 ] && grep -q $'\r\e\[Kshelfops train: done, ' "$TMP/tty"
    check $? "on a terminal the progress line is redrawn in place ($redraws redraws in fit)" "rc $rc: $(head -c 300 "$TMP/tty" | cat -v)"
else
    skip "script(1) is not installed"
fi

# 26-27: @FILE
echo '{"n_estimators": 7, "max_depth": 2}' >"$TMP/params.json"
run train cli -m f --params "@$TMP/params.json" --no-progress
[ "$rc" = 0 ] && [ "$(q "SELECT params->>'n_estimators' FROM shelfops.training_runs WHERE model_name = 'f'")" = 7 ]
check $? "--params @FILE sends the file's JSON" "rc $rc"
run train cli -m f --params "@$TMP/nosuch.json"
[ "$rc" = 4 ] && grep -q "cannot read $TMP/nosuch.json" "$TMP/err"
check $? "an unreadable @FILE exits 4" "rc $rc"

# 28-32: errors
run train cli -a nope
[ "$rc" = 1 ] && grep -q '^shelfops train: ERROR 22023: unknown algorithm "nope"$' "$TMP/err" \
    && grep -q '^DETAIL: Valid algorithms: ' "$TMP/err" && [ ! -s "$TMP/out" ]
check $? "a server error prints its SQLSTATE, message and detail and exits 1" "rc $rc: $(head -c 300 "$TMP/err")"
run validate nosuch --json
[ "$rc" = 1 ] && [ "$(json "d['error']['sqlstate'], d['error']['hint'] is not None")" = "('42704', True)" ] \
    && grep -q '^HINT: ' "$TMP/err"
check $? "with --json the error is also a JSON object (sqlstate, message, detail, hint)" "rc $rc"
run validate "x'); DROP TABLE shelfops.sales; --"
[ "$rc" = 1 ] && grep -q 'ERROR 22023: dataset_id "x'"'"'); DROP TABLE shelfops.sales; --" is not a valid identifier' "$TMP/err" \
    && [ "$(q "SELECT count(*) FROM shelfops.sales WHERE dataset_id = 'cli'")" = "$rows" ]
check $? "a quote in an argument stays a value (parameters, never SQL text)" "rc $rc"
run train
r1=$rc; run train cli --bogus; r2=$rc; run train cli extra; r3=$rc; run tune cli m; r4=$rc
[ "$r1$r2$r3$r4" = 2222 ] && grep -q "Try 'shelfops tune --help'" "$TMP/err"
check $? "usage errors (missing argument, unknown option, extra argument, missing required option) exit 2" "$r1 $r2 $r3 $r4"
run -h "$TMP" -p 1 history
[ "$rc" = 3 ] && grep -q '^shelfops history: cannot connect: ' "$TMP/err"
check $? "no server: exit 3" "rc $rc"

# 33-34: Ctrl-C cancels the running statement
"$CLI" train cli -m long --params '{"n_estimators": 5000, "max_depth": 8}' >"$TMP/out" 2>"$TMP/err" &
bg=$!
for ((i = 0; i < 600; i++)); do
    [ "$(q "SELECT count(*) FROM shelfops.training_progress WHERE model_name = 'long' AND rounds_done > 0")" = 1 ] && break
    sleep 0.1
done
kill -INT "$bg"
for ((i = 0; i < 300; i++)); do kill -0 "$bg" 2>/dev/null || break; sleep 0.1; done
wait "$bg"; rc=$?; bg=
[ "$rc" = 130 ] && grep -q 'ERROR 57014: canceling statement due to user request' "$TMP/err"
check $? "Ctrl-C cancels the training on the server and exits 130" "rc $rc: $(head -c 200 "$TMP/err")"
[ "$(q "SELECT count(*) FROM shelfops.model_versions WHERE model_name = 'long'")" = 0 ]
check $? "the cancelled training left no version"

# 35-39: promote, rollback, history
run promote m --version 1
[ "$rc" = 0 ] && grep -Eq '^decision +\| first_champion$' "$TMP/out"
check $? "promote makes the first champion" "rc $rc"
run --json promote m --version 2 --force --reason 'cli test'
dec=$(q "SELECT decision || ' ' || forced FROM shelfops.model_experiments WHERE model_name = 'm' AND experimental_version = 2")
[ "$rc" = 0 ] && [ "$(json "d['decision'] + ' ' + str(d['promoted']).lower()")" = "forced true" ] && [ "$dec" = "forced true" ]
check $? "promote --force --reason passes both; the JSON decision is the recorded one" "rc $rc, recorded '$dec'"
run rollback m 1 --reason 'back to one'
[ "$rc" = 0 ] && [ "$(q "SELECT version FROM shelfops.model_versions WHERE model_name = 'm' AND status = 'champion'")" = 1 ]
check $? "rollback re-promotes version 1" "rc $rc"
run history m
[ "$rc" = 0 ] && head -1 "$TMP/out" | grep -Eq '^model_name +\| version +\| status +\| algorithm' \
    && grep -Eq '^m +\| +1 \| champion +\|' "$TMP/out" && grep -Eq '^m +\| +2 \| archived +\|' "$TMP/out" \
    && [ "$(tail -1 "$TMP/out")" = "(2 rows)" ]
check $? "history prints the model's versions with their status" "rc $rc"
run history --json -n 2
want=$(q "SELECT string_agg(model_name || version || status, ',' ORDER BY created_at DESC, model_name, version DESC) FROM (SELECT * FROM shelfops.model_history ORDER BY created_at DESC, model_name, version DESC LIMIT 2) h")
[ "$rc" = 0 ] && [ "$(json "','.join(r['model_name'] + str(r['version']) + r['status'] for r in d)")" = "$want" ]
check $? "history --json --limit is the view's newest rows" "want $want"

# 40-41: forecast
run forecast m --horizon 3 --json
[ "$rc" = 0 ] && [ "$(json "len(d), sorted(set(r['version'] for r in d))")" = "(720, [1])" ]
check $? "forecast --json: one row per series and day from the champion" "rc $rc"
run forecast m --horizon 2 --version 2
[ "$rc" = 0 ] && [ "$(tail -1 "$TMP/out")" = "(480 rows)" ] && sed -n 3p "$TMP/out" | grep -Eq '^S001 +\| P0001 +\| 20..-..-.. +\| +[0-9.]+ \|'
check $? "forecast prints an aligned table" "$(sed -n 3p "$TMP/out")"

# 42-43: performance log
psql -X -q -At -d "$DB" -c "SELECT shelfops_performance_log()" | head -c -1 >"$TMP/log.sql"	# less psql's newline
run perf-log
[ "$rc" = 0 ] && diff -q "$TMP/out" "$TMP/log.sql" >/dev/null
check $? "perf-log prints the function's text as is" "rc $rc"
run perf-log -o "$TMP/PERF.md" --json
[ "$rc" = 0 ] && diff -q "$TMP/PERF.md" "$TMP/log.sql" >/dev/null \
    && [ "$(json "d['bytes']")" = "$(stat -c %s "$TMP/PERF.md")" ]
check $? "perf-log -o FILE writes it and reports the file" "rc $rc"

# 44-46: export and tenants
install -d -o postgres -m 755 "$TMP/export" "$TMP/export/public"
run export "$TMP/export/public"
[ "$rc" = 1 ] && grep -q 'ERROR 55000: registry export is disabled' "$TMP/err"
check $? "export without shelfops.export_directory: the server's 55000" "rc $rc"
PGOPTIONS="-c shelfops.export_directory=$TMP/export" run export "$TMP/export/public"
files=$(ls "$TMP/export/public" | wc -l)
[ "$rc" = 0 ] && [ "$files" -ge 4 ] && [ "$(grep -c '^files\[[0-9]*\]\.name ' "$TMP/out")" = "$files" ] \
    && [ -f "$TMP/export/public/registry.json" ]
check $? "export writes the registry files and lists each one" "rc $rc, $files files"
run -t acme generate a1 --stores 2 --products 2 --days 100 --seed 3
r1=$rc; run history --tenant acme
[ "$r1" = 0 ] && [ "$rc" = 0 ] && [ "$(tail -1 "$TMP/out")" = "(0 rows)" ] \
    && [ "$(q "SELECT tenant_id FROM shelfops.datasets WHERE dataset_id = 'a1'")" = acme ]
check $? "--tenant acts for another tenant (its dataset, its empty history)" "rc $r1 $rc"

# 47-51: benchmark, tune, plot, benchmark-combos, plot benchmark (a missing function fails)
if has_function shelfops_benchmark; then
    run benchmark cli cli2 -a seasonal_naive,moving_average --json
    [ "$rc" = 0 ] && [ "$(json "len(d) == 4")" = True ]
    check $? "benchmark --json: a row per dataset and algorithm" "rc $rc"
    run_id=$(json "next(v for k, v in d[0].items() if k.endswith('run_id'))")
else
    check 1 "shelfops_benchmark exists"
    run_id=
fi
if has_function shelfops_tune; then
    run tune cli2 tuned --search '{"max_depth": [2, 4]}' --budget 2 --folds 2 --progress
    [ "$rc" = 0 ] && grep -Eq '^shelfops tune: done, ' "$TMP/err" \
        && [ "$(q "SELECT status FROM shelfops.model_versions WHERE model_name = 'tuned'")" = candidate ]
    check $? "tune runs the search and leaves a candidate" "rc $rc"
else
    check 1 "shelfops_tune exists"
fi
if has_function shelfops_plot_forecast; then
    run plot forecast m S001 P0001 --history 30 -o "$TMP/f.svg"
    [ "$rc" = 0 ] && python3 -c "import xml.etree.ElementTree as E; E.parse('$TMP/f.svg')" 2>/dev/null \
        && grep -q "^wrote $TMP/f.svg" "$TMP/out"
    check $? "plot forecast -o FILE.svg writes an SVG that parses as XML" "rc $rc"
else
    check 1 "shelfops_plot_forecast exists"
fi
if has_function shelfops_benchmark_combos; then
    run benchmark-combos cli cli2
    [ "$rc" = 0 ] && grep -q '^(.* rows\?)$' "$TMP/out"
    check $? "benchmark-combos prints a table" "rc $rc"
else
    check 1 "shelfops_benchmark_combos exists"
fi
if has_function shelfops_plot_benchmark && [ -n "$run_id" ]; then
    run plot benchmark "$run_id" -o "$TMP/b.svg"
    [ "$rc" = 0 ] && python3 -c "import xml.etree.ElementTree as E; E.parse('$TMP/b.svg')" 2>/dev/null
    check $? "plot benchmark -o FILE.svg writes an SVG that parses as XML" "rc $rc"
else
    check 1 "shelfops_plot_benchmark exists and a benchmark run id was seen"
fi
echo "1..$n"
