#!/usr/bin/env bash
# scripts/cluster.sh start|stop|status|psql [args]: manage the throwaway cluster
# under .cluster/ that demo.sh and test.sh use.
source "$(dirname "$0")/lib.sh"
install_packages
case "${1:-status}" in
    start)  cluster_start ;;
    stop)   cluster_stop ;;
    status) if cluster_running; then echo "running: psql -h $SOCK -p $PORT -U postgres $DBNAME"; else echo "stopped"; fi ;;
    psql)   shift; cluster_env; exec psql -X -d "$DBNAME" "$@" ;;
    *)      echo "usage: $0 start|stop|status|psql [psql args]" >&2; exit 2 ;;
esac
