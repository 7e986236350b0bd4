#!/usr/bin/env bash
# Favorita loader on a train.csv fixture in the exact Kaggle layout plus the REAL side
# files (stores, oil, holidays_events) from ../shared/datasets/favorita, linked into a
# temporary folder outside the repository.  Runs against the suite's cluster
# (PGHOST/PGPORT set by scripts/test.sh).  Prints TAP.
set -u
ROOT=${SHELFOPS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
REAL=$(cd "$ROOT/.." && pwd)/shared/datasets/favorita
if [ ! -f "$REAL/holidays_events.csv" ]; then
    echo "1..0 # SKIP ../shared/datasets/favorita not found"
    exit 0
fi
echo "1..9"
DB=shelfops_tap_favorita
DIR=${SHELFOPS_CLUSTER:-$ROOT/.cluster}/tmp/favorita
rm -rf "$DIR"; mkdir -p "$DIR"
for f in stores.csv oil.csv holidays_events.csv; do ln -s "$REAL/$f" "$DIR/$f"; done
# Stores 1 (Quito, Pichincha), 12 (Latacunga, Cotopaxi), 24 (Guayaquil, Guayas).
# 2013-04-01 regional holiday of Cotopaxi; 2013-04-02 nothing; 2013-05-12 national Event
# (Dia de la Madre); 2013-10-09 holiday transferred away; 2013-10-11 the national
# Transfer day; 2013-12-06 local holiday of Quito.
{
    echo "id,date,store_nbr,family,sales,onpromotion"
    id=0
    for d in 2013-04-01 2013-04-02 2013-05-12 2013-10-09 2013-10-11 2013-12-06; do
        for s in 1 12 24; do
            for fam in "GROCERY I" BEVERAGES; do
                echo "$id,$d,$s,$fam,$((id % 7)).5,$((id % 3))"; id=$((id + 1))
            done
        done
    done
} >"$DIR/train.csv"
chmod -R o+rX "$DIR"
q() { psql -X -q -At -d "$DB" -c "$1" 2>&1; }
psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
q "CREATE EXTENSION shelfops" >/dev/null

out=$(q "SELECT (shelfops_load_dataset('fav', '$DIR'))->>'family'")
[ "$out" = "favorita" ] && echo "ok 1 - the Kaggle layout is detected and loaded as favorita" || echo "not ok 1 - $out"
out=$(q "SELECT row_count || ' ' || store_count || ' ' || product_count || ' ' || frequency || ' ' || country_code || ' ' || target_unit FROM shelfops.datasets WHERE dataset_id = 'fav'")
[ "$out" = "36 3 2 daily EC units" ] && echo "ok 2 - 36 rows, 3 stores, 2 families, daily EC units" || echo "not ok 2 - $out"
out=$(q "SELECT count(*) || ' ' || count(*) FILTER (WHERE value IS NULL) FROM shelfops.daily_indicators WHERE dataset_id = 'fav'")
[ "$out" = "1218 43" ] && echo "ok 3 - every oil.csv row kept, its 43 empty values as NULL" || echo "not ok 3 - $out"
out=$(q "SELECT count(*) FROM shelfops.calendar_events WHERE dataset_id = 'fav'")
[ "$out" = "350" ] && echo "ok 4 - all 350 holiday rows kept" || echo "not ok 4 - $out"
hol() { q "SELECT string_agg(store_id || ':' || is_holiday || ':' || coalesce(holiday_type, '-'), ' ' ORDER BY store_id::int) FROM (SELECT DISTINCT store_id, is_holiday, holiday_type FROM shelfops.sales WHERE dataset_id = 'fav' AND sale_date = '$1') s"; }
out=$(hol 2013-04-01)
[ "$out" = "1:false:- 12:true:Holiday 24:false:-" ] && echo "ok 5 - a regional holiday applies to the stores of its state only" || echo "not ok 5 - $out"
out=$(hol 2013-12-06)
[ "$out" = "1:true:Holiday 12:false:- 24:false:-" ] && echo "ok 6 - a local holiday applies to the stores of its city only" || echo "not ok 6 - $out"
out="$(hol 2013-10-09) | $(hol 2013-10-11)"
[ "$out" = "1:false:- 12:false:- 24:false:- | 1:true:Transfer 12:true:Transfer 24:true:Transfer" ] \
    && echo "ok 7 - a transferred holiday moves to its Transfer day" || echo "not ok 7 - $out"
out=$(hol 2013-05-12)
[ "$out" = "1:false:Event 12:false:Event 24:false:Event" ] && echo "ok 8 - a national Event is marked, not a day off" || echo "not ok 8 - $out"
# an unknown store fails the load and leaves the loaded dataset as it was
echo "99,2013-04-03,999,BEVERAGES,1,0" >>"$DIR/train.csv"
out=$(q "SELECT shelfops_load_dataset('fav', '$DIR')" | head -1)
after=$(q "SELECT row_count FROM shelfops.datasets WHERE dataset_id = 'fav'")
case "$out" in
    *unknown_store*|*"not in the store master"*) [ "$after" = "36" ] && echo "ok 9 - an unknown store fails the load, nothing changes" || echo "not ok 9 - rows now $after" ;;
    *) echo "not ok 9 - $out" ;;
esac
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null
rm -rf "$DIR"
