#!/usr/bin/env bash
# The extension works where it is not preloaded: a fresh cluster without
# shared_preload_libraries, CREATE EXTENSION, settings and a metric.  Prints TAP.
set -u
ROOT=${SHELFOPS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=$(pg_config --bindir)
DIR=${SHELFOPS_CLUSTER:-$ROOT/.cluster}/tap-no-preload
PORT=$(( ${SHELFOPS_PGPORT:-54329} + 1000 ))
echo "1..4"
rm -rf "$DIR"; install -d -o postgres -g postgres -m 755 "$DIR"; install -d -o postgres -g postgres -m 700 "$DIR/data"; install -d -o postgres -g postgres -m 755 "$DIR/sock"
(cd / && runuser -u postgres -- "$BIN/initdb" -D "$DIR/data" --auth=trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null)
cat >>"$DIR/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$DIR/sock'
CONF
stop() { (cd / && runuser -u postgres -- "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1); rm -rf "$DIR"; }
trap stop EXIT
(cd / && runuser -u postgres -- "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w start >/dev/null 9>&-)
q() { psql -X -q -At -h "$DIR/sock" -p "$PORT" -U postgres -d postgres -c "$1" 2>&1; }
pre=$(q "SHOW shared_preload_libraries")
[ -z "$pre" ] && echo "ok 1 - cluster runs without shared_preload_libraries" || echo "not ok 1 - preload is '$pre'"
out=$(q "CREATE EXTENSION shelfops")
[ -z "$out" ] && echo "ok 2 - CREATE EXTENSION shelfops works without preloading" || echo "not ok 2 - $out"
out=$(q "SET shelfops.tenant_id = 'acme'; SELECT shelfops.current_tenant()")
[ "$out" = "acme" ] && echo "ok 3 - the tenant setting works before the library is loaded" || echo "not ok 3 - got '$out'"
out=$(q "SELECT shelfops_metrics('{10,20,30}', '{12,18,33}')->>'mae'")
[ "$out" = "2.3333333333333335" ] && echo "ok 4 - C functions run (mae of the reference vector)" || echo "not ok 4 - got '$out'"
