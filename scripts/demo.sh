#!/usr/bin/env bash
# scripts/demo.sh: install what is needed, build, start the throwaway cluster (left
# running, under .cluster/) and run the main job (scripts/demo.sql) in database
# "shelfops".  Idempotent: a second run reuses the packages, build and cluster, and
# recreates the demo database's extension.
source "$(dirname "$0")/lib.sh"

install_packages
build_and_install
cluster_start
release_install_lock
ensure_database "$DBNAME"

say "running the demo (scripts/demo.sql)"
psql -X -q -d "$DBNAME" -v ON_ERROR_STOP=1 -f "$ROOT/scripts/demo.sql"

cat <<MSG

The cluster is still running. Connect with:
    psql -h $SOCK -p $PORT -U postgres $DBNAME
Stop it with:
    bash scripts/cluster.sh stop
MSG
