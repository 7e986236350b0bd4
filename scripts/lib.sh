# scripts/lib.sh: shared steps of the two top-level commands (demo.sh, test.sh):
# install packages, build and install the extension, and run a throwaway cluster
# under a gitignored folder of the checkout.  Sourced, never run.
#
# Settings (environment):
#   SHELFOPS_CLUSTER  cluster folder        (default: <checkout>/.cluster)
#   SHELFOPS_PGPORT   the cluster's port    (default: 54329; socket only, no TCP)

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLUSTER=${SHELFOPS_CLUSTER:-$ROOT/.cluster}
PORT=${SHELFOPS_PGPORT:-54329}
DATA=$CLUSTER/data
SOCK=$CLUSTER/sock
DBNAME=shelfops
PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-15-cron postgresql-15-pgtap
          libtap-parser-sourcehandler-pgtap-perl libjson-c-dev libxgboost-dev zlib1g-dev
          libpq-dev pkg-config make gcc libc6-dev gzip ca-certificates
          procps bc                  # ps (the crash test kills a postmaster's children), bc
          clang libclang-rt-14-dev)  # clang: libFuzzer harnesses (test/fuzz)

say() { printf '\n== %s\n' "$*"; }

install_packages() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    PGBIN=$(pg_config --bindir)
    export PGBIN
}

# make, then make install under a machine-wide lock: several checkouts on one
# machine share the server's lib and extension folders.  The lock (fd 9) is held
# until the calling script exits, so a test run is not disturbed by another
# checkout's install; release_install_lock gives it up earlier.
build_and_install() {
    say "building shelfops"
    make -C "$ROOT" -s -j2
    exec 9>/tmp/shelfops-install.lock
    flock 9
    make -C "$ROOT" -s install >/dev/null
}

release_install_lock() {
    exec 9>&-
}

# The postgres user must be able to reach the cluster folder and ../shared
# (server-side dataset loads): give ancestors search (x) permission only.
open_path_for_postgres() {
    local d=$1
    while [ "$d" != "/" ]; do
        chmod o+x "$d" 2>/dev/null || true
        d=$(dirname "$d")
    done
}

cluster_env() {
    export PGHOST=$SOCK PGPORT=$PORT PGUSER=postgres
}

cluster_running() {
    [ -f "$DATA/postmaster.pid" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

cluster_start() {
    open_path_for_postgres "$CLUSTER"
    [ -d "$ROOT/../shared" ] && open_path_for_postgres "$(cd "$ROOT/../shared" && pwd)"
    install -d -o postgres -g postgres -m 755 "$CLUSTER" "$SOCK"
    if [ ! -f "$DATA/PG_VERSION" ]; then
        say "creating cluster in $DATA"
        install -d -o postgres -g postgres -m 700 "$DATA"
        (cd / && runuser -u postgres -- "$PGBIN/initdb" -D "$DATA" --auth=trust -U postgres \
            -E UTF8 --locale=C.UTF-8 >/dev/null)
        cat >>"$DATA/postgresql.conf" <<CONF
# shelfops throwaway cluster (scripts/lib.sh)
port = $PORT
listen_addresses = ''
unix_socket_directories = '$SOCK'
shared_preload_libraries = 'pg_cron,shelfops'
cron.database_name = '$DBNAME'
cron.use_background_workers = on
max_worker_processes = 24
max_locks_per_transaction = 256
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 512MB
work_mem = 64MB
maintenance_work_mem = 512MB
log_min_messages = warning
CONF
    fi
    # A preloaded library is read at postmaster start: restart when it changed.
    local libsum
    libsum=$(sha256sum "$(pg_config --pkglibdir)/shelfops.so" | cut -d' ' -f1)
    if cluster_running; then
        if [ "$(cat "$CLUSTER/loaded.sha256" 2>/dev/null)" = "$libsum" ]; then
            cluster_env
            return 0
        fi
        say "restarting cluster (shelfops.so changed)"
        (cd / && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null)
    fi
    say "starting cluster on socket $SOCK port $PORT"
    # 9>&-: the server must not inherit the install lock (it would hold it forever).
    (cd / && runuser -u postgres -- env OMP_WAIT_POLICY=passive "$PGBIN/pg_ctl" -D "$DATA" \
        -l "$CLUSTER/postgres.log" -w -t 60 start >/dev/null 9>&-)
    echo "$libsum" >"$CLUSTER/loaded.sha256"
    cluster_env
}

cluster_stop() {
    if cluster_running; then
        say "stopping cluster"
        (cd / && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null)
    fi
}

ensure_database() {
    local db=$1
    psql -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 \
        || psql -X -q -d postgres -c "CREATE DATABASE \"$db\"" >/dev/null
}
