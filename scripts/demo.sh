#!/usr/bin/env bash
# scripts/demo.sh: install what is needed, build, start the throwaway cluster (left
# running, under .cluster/) and run the main job in database "shelfops": first in SQL
# (scripts/demo.sql), then the same loop through the `shelfops` command line
# (generate, validate, train, benchmark, promote, history, plot).  Idempotent: a second run reuses the packages, build and cluster, and
# recreates the demo database's extension.
source "$(dirname "$0")/lib.sh"

install_packages
build_and_install
cluster_start
release_install_lock
ensure_database "$DBNAME"

say "running the demo (scripts/demo.sql)"
psql -X -q -d "$DBNAME" -v ON_ERROR_STOP=1 -f "$ROOT/scripts/demo.sql"

say "the same loop through the shelfops command line (docs/cli.md)"
export PGDATABASE=$DBNAME   # (cluster_start exported PGHOST, PGPORT, PGUSER)
cli() { echo "\$ shelfops $*"; "$ROOT/bin/shelfops" "$@"; }
set -e
cli generate cli_demo --stores 5 --products 20 --days 200 --seed 42
cli validate cli_demo
cli train cli_demo -m cli_model
cli benchmark cli_demo
cli promote cli_model
cli history cli_model
cli plot forecast cli_model S001 P0001 --history 60 -o "$CLUSTER/cli_model.svg"
set +e

cat <<MSG

The cluster is still running. Connect with:
    psql -h $SOCK -p $PORT -U postgres $DBNAME
Stop it with:
    bash scripts/cluster.sh stop
MSG
