#!/usr/bin/env bash
# bench/promote_rossmann.sh: time one promotion decision on the full Rossmann data with
# horizon 42 — both versions forecast the candidate's 42-day holdout (46,830 rows each),
# the seasonal naive too, then every gate and the decision record.  Two small XGBoost
# versions keep the set-up short; the decision's cost does not depend on how long they
# trained.  Prints the seconds of each promote call (best of 3; each run re-promotes from
# the same state inside a rolled-back transaction).
#
#   bash bench/promote_rossmann.sh
source "$(dirname "$0")/../scripts/lib.sh"
DATASETS=$(cd "$ROOT/.." && pwd)/shared/datasets

install_packages
build_and_install
cluster_start
ensure_database shelfops_bench_promote
psql -X -q -d shelfops_bench_promote -c 'DROP EXTENSION IF EXISTS shelfops CASCADE' -c 'CREATE EXTENSION shelfops'
release_install_lock
q() { psql -X -q -At -d shelfops_bench_promote -c "$1"; }

say "loading Rossmann and training two versions (horizon 42)"
q "SELECT shelfops_load_dataset('rossmann', '$DATASETS/rossmann')->>'rows_written'"
q "SELECT shelfops_train('rossmann', 'ross', 'xgboost', '{\"n_estimators\": 30, \"max_depth\": 6}', horizon => 42)->>'version'"
q "SELECT shelfops_train('rossmann', 'ross', 'xgboost', '{\"n_estimators\": 40, \"max_depth\": 6}', horizon => 42)->>'version'"
q "SELECT shelfops_promote('ross', 1)->>'decision'"

say "deciding version 2 against the champion, best of 3"
best=""
for i in 1 2 3; do
    t=$(psql -X -q -d shelfops_bench_promote -c '\timing on' -c 'BEGIN' \
        -c "SELECT r->>'decision' AS decision, r->>'rows_scored' AS rows FROM shelfops_promote('ross', 2) r" \
        -c 'ROLLBACK' | tee /dev/stderr | grep -Eo 'Time: [0-9.]+ ms' | sed -n 2p | awk '{print $2}')
    echo "run $i: $t ms"
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
done
echo "best promote decision: $best ms (target: at most 3000 ms)"
