#!/usr/bin/env bash
# scripts/test.sh: install what is needed, build, start the throwaway cluster and run the
# whole test suite: pg_regress (make installcheck), pgTAP (pg_prove) and the shell TAP
# tests under test/tap.  Stops the cluster afterwards if this run started it.
# Prints one closing line "shelfops: N passed, M failed" (test files) and exits non-zero
# on any failure.
source "$(dirname "$0")/lib.sh"

install_packages

passed=0
failed=0
count() { passed=$((passed + $1)); failed=$((failed + $2)); }

# before the install lock: the harnesses need no server
mkdir -p "$CLUSTER"
say "libFuzzer harnesses, ${SHELFOPS_FUZZ_SECONDS:-30} s each, two at a time (make -C test/fuzz run)"
# each harness is one test; a crash, leak, timeout or sanitizer report fails it
set +e
make -s -k -j2 -C "$ROOT/test/fuzz" run FUZZ_SECONDS="${SHELFOPS_FUZZ_SECONDS:-30}" 2>&1 | tee "$CLUSTER/fuzz.out"
set -e
fuzz_total=$(ls "$ROOT"/test/fuzz/*_fuzz.c | wc -l)
fuzz_ok=$(grep -Ec '^fuzz [a-z]+: #[0-9]+[[:space:]]+DONE' "$CLUSTER/fuzz.out" || true)
count "$fuzz_ok" $((fuzz_total - fuzz_ok))

build_and_install
was_running=no
cluster_running && was_running=yes
cluster_start
[ "$was_running" = no ] && trap cluster_stop EXIT

say "C unit tests (make -C test/unit)"
set +e
make -s -C "$ROOT/test/unit" 2>&1 | tee "$CLUSTER/unit.out"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -eq 0 ]; then count 1 0; else count 0 1; fi

say "pg_regress (make installcheck)"
cd "$ROOT"
set +e
make -s installcheck 2>&1 | tee "$CLUSTER/installcheck.out"
rc=${PIPESTATUS[0]}
set -e
ok=$(grep -Ec '^(ok|test) .*\.\.\. ok|^ok ' "$CLUSTER/installcheck.out" || true)
bad=$(grep -Ec 'FAILED|failed \(ignored\)' "$CLUSTER/installcheck.out" || true)
if [ "$rc" -ne 0 ]; then
    [ -f regression.diffs ] && head -c 20000 regression.diffs
    [ "$bad" -eq 0 ] && bad=1
fi
count "$ok" "$bad"

say "pgTAP (pg_prove test/pgtap)"
psql -X -q -d postgres -c 'DROP DATABASE IF EXISTS shelfops_tap' -c 'CREATE DATABASE shelfops_tap' >/dev/null
psql -X -q -d shelfops_tap -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION shelfops' >/dev/null
set +e
pg_prove -d shelfops_tap test/pgtap/*.sql 2>&1 | tee "$CLUSTER/pgtap.out"
rc=${PIPESTATUS[0]}
set -e
files=$(ls test/pgtap/*.sql | wc -l)
bad=$(grep -Ec '^test/pgtap/.* (Failed|Dubious|Parse errors)' "$CLUSTER/pgtap.out" || true)
grep -q '^test/pgtap/.*Failed' "$CLUSTER/pgtap.out" && true
[ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
count $((files - bad)) "$bad"

if compgen -G "test/tap/*.sh" >/dev/null; then
    say "end-to-end TAP tests (prove test/tap)"
    set +e
    SHELFOPS_ROOT=$ROOT prove --exec bash test/tap/*.sh 2>&1 | tee "$CLUSTER/tap.out"
    rc=${PIPESTATUS[0]}
    set -e
    files=$(ls test/tap/*.sh | wc -l)
    bad=$(grep -Ec '^test/tap/.* (Failed|Dubious)' "$CLUSTER/tap.out" || true)
    [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
    count $((files - bad)) "$bad"
fi

echo
echo "shelfops: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
