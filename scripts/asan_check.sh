#!/usr/bin/env bash
# scripts/asan_check.sh (make asan-check): the regression suite against an
# AddressSanitizer + UBSan build of the extension.
#
# The sanitized shelfops.so never touches the machine's shared install folders:
# it goes into a private copy of the server's layout under .build/asan/root
# (the postgres binary copied, every other file a symlink to the real one), and
# PostgreSQL, which finds its share/ and lib/ folders relative to its own
# executable, loads the extension from there.  A throwaway cluster (own socket
# folder, port SHELFOPS_PGPORT) starts with libasan preloaded, pg_regress runs
# the suite (make installcheck: regression and isolation tests), and the run
# fails on any test failure or any sanitizer report (report files or lines in
# the server log).
#
# Settings: SHELFOPS_PGPORT (default 54329), ASAN_KEEP=1 keeps the cluster
# folder for inspection.
source "$(dirname "$0")/lib.sh"
install_packages

A=$ROOT/.build/asan
TREE=$A/tree
PRIV=$A/root
ADATA=$A/data
ASOCK=$A/sock
REPORTS=$A/reports
PGVER=$(pg_config --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
REAL_LIB=$(pg_config --pkglibdir)
REAL_SHARE=$(pg_config --sharedir)
REAL_BIN=$(pg_config --bindir)
LIBASAN=$(gcc -print-file-name=libasan.so)
SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize=alignment"

stop_asan_cluster() {
    if [ -f "$ADATA/postmaster.pid" ]; then
        (cd / && runuser -u postgres -- "$REAL_BIN/pg_ctl" -D "$ADATA" -m fast -w stop >/dev/null 2>&1) || true
    fi
}
trap stop_asan_cluster EXIT

stop_asan_cluster
rm -rf "$A"
mkdir -p "$TREE" "$REPORTS"

say "building shelfops with $SAN_FLAGS (in $TREE)"
cp -a "$ROOT/Makefile" "$ROOT/shelfops.control" "$ROOT/src" "$ROOT/sql" "$ROOT/test" "$ROOT/expected" "$TREE/"
rm -f "$TREE"/src/*.o "$TREE"/src/*.d "$TREE"/*.so
make -C "$TREE" -s -j2 COPT="$SAN_FLAGS" >/dev/null
nm -D "$TREE/shelfops.so" | grep -q __asan_report || { echo "the build is not instrumented" >&2; exit 1; }
# gettext without translations, preloaded after libasan (see test/asan/nonls.c)
gcc -shared -fPIC -O1 -Wall -o "$A/nonls.so" "$ROOT/test/asan/nonls.c"

# test/sql/load_real.sql reads ../shared/datasets beside the checkout
if [ -d "$ROOT/../shared" ]; then
    ln -s "$(cd "$ROOT/../shared" && pwd)" "$A/shared"
    open_path_for_postgres "$(cd "$ROOT/../shared" && pwd)"
fi

say "private server layout in $PRIV"
PBIN=$PRIV/lib/postgresql/$PGVER/bin
PLIB=$PRIV/lib/postgresql/$PGVER/lib
PSHARE=$PRIV/share/postgresql/$PGVER
# the layout must mirror the real one relative to the binary
[ "$REAL_BIN" = "/usr/lib/postgresql/$PGVER/bin" ] && [ "$REAL_SHARE" = "/usr/share/postgresql/$PGVER" ] \
    || { echo "unexpected server layout ($REAL_BIN, $REAL_SHARE)" >&2; exit 1; }
mkdir -p "$PBIN" "$PLIB" "$PSHARE/extension"
cp "$REAL_BIN/postgres" "$PBIN/postgres"
for f in "$REAL_LIB"/*; do
    [ "$(basename "$f")" = shelfops.so ] || ln -s "$f" "$PLIB/"
done
cp "$TREE/shelfops.so" "$PLIB/shelfops.so"
for f in "$REAL_SHARE"/*; do
    [ "$(basename "$f")" = extension ] || ln -s "$f" "$PSHARE/"
done
for f in "$REAL_SHARE"/extension/*; do
    case "$(basename "$f")" in shelfops*) ;; *) ln -s "$f" "$PSHARE/extension/" ;; esac
done
cp "$TREE/shelfops.control" "$TREE"/sql/shelfops--*.sql "$PSHARE/extension/"

say "throwaway cluster in $ADATA (socket $ASOCK, port $PORT), libasan preloaded"
open_path_for_postgres "$A"
install -d -o postgres -g postgres -m 755 "$ASOCK" "$REPORTS" "$A/log"
install -d -o postgres -g postgres -m 700 "$ADATA"
(cd / && runuser -u postgres -- "$REAL_BIN/initdb" -D "$ADATA" --auth=trust -U postgres \
    -E UTF8 --locale=C.UTF-8 >/dev/null)
cat >>"$ADATA/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$ASOCK'
shared_preload_libraries = 'pg_cron,shelfops'
cron.database_name = 'postgres'
max_worker_processes = 24
max_locks_per_transaction = 256
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
work_mem = 64MB
maintenance_work_mem = 256MB
log_min_messages = warning
CONF
# detect_leaks=0: the server frees by memory context reset and exits without
# freeing; stack-use-after-return off: PostgreSQL's stack-depth check reads the
# address of a local of the postmaster.  Reports go to files, one per process.
# nonls.so: see test/asan/nonls.c (the server would hang at start without it).
SAN_ENV=(LD_PRELOAD="$LIBASAN $A/nonls.so"
         ASAN_OPTIONS="detect_leaks=0:detect_stack_use_after_return=0:log_path=$REPORTS/asan:abort_on_error=0"
         UBSAN_OPTIONS="print_stacktrace=1:log_path=$REPORTS/ubsan"
         OMP_WAIT_POLICY=passive)
(cd / && runuser -u postgres -- env "${SAN_ENV[@]}" "$REAL_BIN/pg_ctl" -D "$ADATA" -p "$PBIN/postgres" \
    -l "$A/log/postgres.log" -w -t 120 start >/dev/null 9>&-)

# the server must load the sanitized library from the private tree
export PGHOST=$ASOCK PGPORT=$PORT PGUSER=postgres
psql -X -q -d postgres -tAc "SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'" >/dev/null
pid=$(head -1 "$ADATA/postmaster.pid")
grep -q "$PLIB/shelfops.so" "/proc/$pid/maps" \
    || { echo "the server did not load $PLIB/shelfops.so" >&2; exit 1; }

say "pg_regress against the sanitized build"
set +e
make -C "$TREE" -s installcheck 2>&1 | tee "$A/installcheck.out"
rc=${PIPESTATUS[0]}
set -e
stop_asan_cluster

reports=$(find "$REPORTS" -type f | wc -l)
inlog=$(grep -Ec 'runtime error:|AddressSanitizer|LeakSanitizer|terminated by signal' "$A/log/postgres.log" || true)
ok=$(grep -Ec '^(ok|test) .*\.\.\. ok|^ok ' "$A/installcheck.out" || true)
echo
echo "asan-check: $ok tests ok, installcheck exit $rc, $reports sanitizer report files, $inlog report lines in the server log"
if [ "$reports" -gt 0 ]; then
    for f in "$REPORTS"/*; do echo "--- $f"; head -60 "$f"; done
fi
[ "$inlog" -gt 0 ] && grep -E -B2 -A20 'runtime error:|AddressSanitizer|terminated by signal' "$A/log/postgres.log" | head -80
[ "$rc" -ne 0 ] && [ -f "$TREE/regression.diffs" ] && head -c 20000 "$TREE/regression.diffs"
[ "$rc" -eq 0 ] && [ "$reports" -eq 0 ] && [ "$inlog" -eq 0 ]
