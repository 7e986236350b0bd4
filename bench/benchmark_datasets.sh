#!/usr/bin/env bash
# bench/benchmark_datasets.sh: shelfops_benchmark on the real Rossmann and Walmart data
# (the reference's benchmark_datasets.py, split by time), loaded into a fresh bench
# database: every default algorithm on both datasets, default horizons (14 days, 8 weeks),
# holdout = horizon.  Prints the results, seconds per phase and the JSON document's
# first entry; with BENCH_COMBOS=1 also the pooled Rossmann + Walmart combo.
#   SHELFOPS_PGPORT=54342 bash bench/benchmark_datasets.sh
source "$(dirname "$0")/train_common.sh"

bench_setup rossmann walmart
echo "machine: $(nproc) cores, load average $(loadavg), shelfops.xgboost_threads = $(q -tAc 'SHOW shelfops.xgboost_threads')"

say "SELECT * FROM shelfops_benchmark(ARRAY['rossmann', 'walmart'])"
t0=$(now)
q -c "SELECT datasets, algorithm, frequency AS freq, horizon_periods AS h, rows_used, rows_train, rows_holdout,
             round(mae::numeric, 3) AS mae, round(wape::numeric, 4) AS wape, round(mase::numeric, 4) AS mase,
             round(bias_pct::numeric, 4) AS bias_pct, round(coverage::numeric, 3) AS coverage,
             round(seasonal_naive_wape::numeric, 4) AS naive_wape
        FROM shelfops_benchmark(ARRAY['rossmann', 'walmart'])"
echo "wall clock: $(elapsed "$t0") s; load average after: $(loadavg)"
RUN=$(q -tAc "SELECT benchmark_run_id FROM shelfops.benchmark_results ORDER BY created_at DESC LIMIT 1")
q -c "SELECT datasets, algorithm, seconds, params->>'n_estimators' AS rounds, library_versions->>'xgboost' AS xgboost,
             data_fingerprints->>datasets AS fingerprint, split->datasets->>'holdout_start' AS holdout_start,
             split->datasets->>'holdout_end' AS holdout_end
        FROM shelfops.benchmark_results WHERE benchmark_run_id = '$RUN' ORDER BY ordinal"
q -tAc "SELECT jsonb_pretty((shelfops_benchmark_json('$RUN')->'results'->-1) - 'params' - 'split')"

if [ "${BENCH_COMBOS:-0}" = 1 ]; then
    say "SELECT * FROM shelfops_benchmark_combos(ARRAY['rossmann', 'walmart'])"
    t0=$(now)
    q -c "SELECT datasets, slice, frequency AS freq, rows_train, rows_holdout, round(wape::numeric, 4) AS wape,
                 round(mase::numeric, 4) AS mase, round(coverage::numeric, 3) AS coverage,
                 round(seasonal_naive_wape::numeric, 4) AS naive_wape, seconds
            FROM shelfops_benchmark_combos(ARRAY['rossmann', 'walmart'])"
    echo "wall clock: $(elapsed "$t0") s; load average after: $(loadavg)"
fi
