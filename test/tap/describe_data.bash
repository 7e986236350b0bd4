# test/tap/describe_data.bash: describe_data, sourced by 09_dump_restore.sh and
# 10_upgrade.sh (not a test itself: prove runs only *.sh).  Uses the sourcing
# script's q DB SQL.
#
# describe_data DB [COLUMNS before|after]: one line per table of schema shelfops:
# name, row count, checksum of its rows in a fixed order (every column's text form,
# bytea and float8 included).  The rows CREATE EXTENSION seeds (the default gate
# policy) are left out by the table's pg_extension_config_dump filter, as pg_dump
# leaves them out.  With "before", the tables' columns are also written to the file
# COLUMNS; with "after", only those tables and columns are described (an update may
# add columns and tables: those must not change the rows that were there), and a new
# table is listed only when it has rows.
describe_data() {
    local db=$1 colfile=${2:-} mode=${3:-} t cond cols n
    q "$db" "SELECT c.relname || '|' || coalesce(x.cond, '')
              FROM pg_class c
              LEFT JOIN (SELECT unnest(extconfig) AS oid, unnest(extcondition) AS cond
                           FROM pg_extension WHERE extname = 'shelfops') x ON x.oid = c.oid
             WHERE c.relnamespace = 'shelfops'::regnamespace AND c.relkind = 'r' ORDER BY 1" |
    while IFS='|' read -r t cond; do
        cols='*'
        if [ "$mode" = after ]; then
            cols=$(grep "^$t|" "$colfile" | cut -d'|' -f2)
            if [ -z "$cols" ]; then
                n=$(q "$db" "SELECT count(*) FROM ONLY shelfops.\"$t\"")
                [ "$n" != 0 ] && echo "new table $t: $n rows"
                continue
            fi
        elif [ "$mode" = before ]; then
            echo "$t|$(q "$db" "SELECT string_agg(quote_ident(attname), ',' ORDER BY attnum) FROM pg_attribute
                                WHERE attrelid = 'shelfops.\"$t\"'::regclass AND attnum > 0 AND NOT attisdropped")" >>"$colfile"
        fi
        echo "$t $(q "$db" "SELECT count(*) || ' ' || md5(coalesce(string_agg(r::text, chr(10) ORDER BY r::text), '')) FROM (SELECT $cols FROM ONLY shelfops.\"$t\" t $cond) r")"
    done
}
