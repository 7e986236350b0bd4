#!/usr/bin/env bash
# bench/train_vs_python.sh: shelfops_train side by side with the same pipeline done the
# usual way (bench/train_python.py: psycopg2 export, pandas features, python3-xgboost
# with identical parameters and thread count) on the full Rossmann data, horizon 42
# (holdout = last 42 days, calibration block = the 42 days before).
# For each thread count (1 and 2) and each run, the extension and Python alternate;
# each line gives the holdout WAPE and the seconds per phase (read, features,
# boosting/fit, scoring) plus the wall-clock seconds of the whole command (psql call;
# python3 process with its imports).  Then, per thread count, the best and the mean
# of the totals and the ratio extension / Python (target <= 0.9 at equal or better WAPE).
#
#   SHELFOPS_PGPORT=54361 bash bench/train_vs_python.sh [runs]      (default 2)
source "$(dirname "$0")/train_common.sh"

RUNS=${1:-2}
PY=/usr/bin/python3
export DEBIAN_FRONTEND=noninteractive
for p in python3-xgboost python3-pandas python3-sklearn python3-psycopg2; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
        || apt-get install -y -qq --no-install-recommends "$p" >/dev/null
done

bench_setup rossmann
DSN="host=$SOCK port=$PORT user=postgres dbname=$BENCH_DB"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GB; xgboost $($PY -c 'import xgboost; print(xgboost.__version__)'), pandas $($PY -c 'import pandas; print(pandas.__version__)')"

RES=$(mktemp)
for threads in 1 2; do
    for run in $(seq "$RUNS"); do
        la=$(loadavg); t0=$(now)
        ext=$(PGOPTIONS="-c shelfops.xgboost_threads=$threads -c client_min_messages=warning" \
              psql -X -q -v ON_ERROR_STOP=1 -d "$BENCH_DB" -tAc \
              "SELECT jsonb_build_object('wape', r->'metrics'->'wape', 'naive', r->'seasonal_naive'->'wape',
                      'coverage', r->'metrics'->'coverage', 'seconds', r->'seconds')
                 FROM shelfops_train('rossmann', 'vs_python', horizon => 42) r")
        wall=$(elapsed "$t0")
        echo "extension threads=$threads run=$run wall=$wall load=[$la] $ext" | tee -a "$RES"
        la=$(loadavg); t0=$(now)
        py=$(SHELFOPS_DSN="$DSN" $PY "$ROOT/bench/train_python.py" --dataset rossmann --horizon 42 --nthread "$threads")
        wall=$(elapsed "$t0")
        echo "python    threads=$threads run=$run wall=$wall load=[$la] $py" | tee -a "$RES"
    done
done

echo
$PY - "$RES" <<'PYEOF'
import json, re, sys
rows = []
for line in open(sys.argv[1]):
    m = re.match(r"(\w+)\s+threads=(\d+) run=(\d+) wall=([\d.]+) load=\[[^\]]*\] (.*)$", line.strip())
    side, th, run, wall, js = m.group(1), int(m.group(2)), int(m.group(3)), float(m.group(4)), json.loads(m.group(5))
    rows.append((side, th, wall, js["seconds"]["total"], float(js["wape"])))
for th in (1, 2):
    e = [r for r in rows if r[0] == "extension" and r[1] == th]
    p = [r for r in rows if r[0] == "python" and r[1] == th]
    eb, pb = min(r[3] for r in e), min(r[3] for r in p)
    em, pm = sum(r[3] for r in e) / len(e), sum(r[3] for r in p) / len(p)
    ew, pw = min(r[2] for r in e), min(r[2] for r in p)
    print(f"threads={th}: total best ext {eb:.2f} s / python {pb:.2f} s = {eb / pb:.3f}; "
          f"mean {em:.2f} / {pm:.2f} = {em / pm:.3f}; wall best {ew:.2f} / {pw:.2f} = {ew / pw:.3f}; "
          f"WAPE ext {e[0][4]:.4f} python {p[0][4]:.4f}; target ratio <= 0.9: "
          f"{'met' if eb / pb <= 0.9 and e[0][4] <= p[0][4] + 1e-9 else 'MISSED'}")
PYEOF
rm -f "$RES"
