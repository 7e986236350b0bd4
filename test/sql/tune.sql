-- shelfops_tune on a small synthetic dataset: every bad argument (with its SQLSTATE,
-- nothing written), the trial rows, the experiment row, a candidate that is not the
-- champion, determinism for a seed, and folds that end before the holdout.
\set VERBOSITY terse
SELECT shelfops_generate_synthetic('tu', 2, 8, 160, 11)->>'rows' AS rows;

-- errors: SQLSTATE, message and detail of a call
CREATE FUNCTION pg_temp.err(call text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text;
BEGIN
    EXECUTE call;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN st || ': ' || msg || coalesce(' | ' || nullif(det, ''), '');
END $$;

CREATE TEMP TABLE before AS
SELECT (SELECT count(*) FROM shelfops.model_versions) AS versions,
       (SELECT count(*) FROM shelfops.tuning_trials) AS trials,
       (SELECT count(*) FROM shelfops.model_experiments) AS experiments;

SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', NULL)$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '[1, 2]')$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"depth": {"min": 2, "max": 6}}')$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"window": {"min": 2, "max": 6}}')$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"max_depth": {"min": 6, "max": 2}}')$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"max_depth": {"min": 2}}')$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"max_depth": {"min": 2, "max": 30}}')$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"max_depth": {"min": 2.5, "max": 6}}')$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"max_depth": {"lo": 2, "hi": 6}}')$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"eta": {"min": 0, "max": 0.3, "log": true}}')$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"eta": []}')$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"eta": [0.1, 0.1]}')$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"eta": true}')$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"tree_method": {"min": 1, "max": 2}}')$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"objective": ["reg:squarederror", "reg:huber"]}')$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"eta": {"min": 0.1, "max": 0.2}, "learning_rate": 0.1}')$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"tweedie_variance_power": {"min": 1.1, "max": 1.9}}')$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"max_depth": 4, "eta": [0.1]}')$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"max_depth": {"min": 2, "max": 6}}', budget => 0)$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"max_depth": {"min": 2, "max": 6}}', budget => 1000)$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"max_depth": {"min": 2, "max": 6}}', folds => 0)$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"max_depth": {"min": 2, "max": 6}}', folds => 10)$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"max_depth": {"min": 2, "max": 6}}', metric => 'r2')$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 't', '{"max_depth": {"min": 2, "max": 6}}', horizon => 0)$$);
SELECT pg_temp.err($$SELECT shelfops_tune('nope', 't', '{"max_depth": {"min": 2, "max": 6}}')$$);
SELECT pg_temp.err($$SELECT shelfops_tune('tu', 'bad name', '{"max_depth": {"min": 2, "max": 6}}')$$);
-- cancel: a statement timeout stops the search promptly
SET statement_timeout = '300ms';
SELECT shelfops_tune('tu', 't', '{"max_depth": {"min": 8, "max": 12}, "n_estimators": 5000, "eta": 0.01}', budget => 4);
RESET statement_timeout;
SELECT (SELECT count(*) FROM shelfops.model_versions) = versions AS versions_unchanged,
       (SELECT count(*) FROM shelfops.tuning_trials) = trials AS trials_unchanged,
       (SELECT count(*) FROM shelfops.model_experiments) = experiments AS experiments_unchanged
  FROM before;

-- a search of 8 configurations on 2 folds: rungs of 8 configurations on 1 fold, 3 on 2 folds
CREATE TEMP TABLE run1 AS
SELECT shelfops_tune('tu', 't', '{"max_depth": {"min": 2, "max": 6}, "eta": {"min": 0.05, "max": 0.3, "log": true},
                                  "objective": ["reg:squarederror", "count:poisson"], "n_estimators": 25}',
                     budget => 8, folds => 2, horizon => 7, seed => 7) AS r;
SELECT r->>'budget' AS budget, r->>'folds' AS folds, r->>'metric' AS metric, r->'rungs' AS rungs,
       r->>'holdout_start' AS holdout_start, r->'fold_windows' AS fold_windows,
       r->'candidate'->>'status' AS candidate_status, r->'candidate'->>'version' AS candidate_version,
       (r->'winner'->>'trial')::int BETWEEN 0 AND 7 AS winner_is_a_trial,
       (r->'candidate'->'metrics'->>'wape')::float8 > 0 AS candidate_scored
  FROM run1;

-- one row per trial; trial 0 is the defaults with the fixed value; one winner, from the last rung
SELECT count(*) AS trials, count(*) FILTER (WHERE status = 'winner') AS winners,
       count(*) FILTER (WHERE status = 'finalist') AS finalists,
       count(*) FILTER (WHERE status = 'discarded') AS discarded,
       bool_and(rung = 1) FILTER (WHERE status <> 'discarded') AS kept_reached_rung_1,
       bool_and(jsonb_array_length(fold_metrics) = CASE rung WHEN 0 THEN 1 ELSE 3 END) AS one_element_per_rung_and_fold,
       bool_and(rounds = 25 * jsonb_array_length(fold_metrics)) AS rounds_counted,
       bool_and(seconds >= 0 AND score > 0) AS timed_and_scored,
       count(DISTINCT sampled) AS distinct_configurations,
       count(DISTINCT tuning_id) AS searches
  FROM shelfops.tuning_trials WHERE model_name = 't';
SELECT sampled, params = shelfops._model_params('xgboost', '{"n_estimators": 25}') AS trial0_is_defaults
  FROM shelfops.tuning_trials WHERE model_name = 't' AND trial = 0;
SELECT bool_and((sampled->>'max_depth')::int BETWEEN 2 AND 6) AS depth_in_range,
       bool_and((sampled->>'eta')::float8 BETWEEN 0.05 AND 0.3) AS eta_in_range,
       bool_and(sampled->>'objective' IN ('reg:squarederror', 'count:poisson')) AS objective_a_choice,
       bool_and((params->>'n_estimators')::int = 25) AS fixed_value_applied
  FROM shelfops.tuning_trials WHERE model_name = 't' AND trial > 0;
-- the winner has the lowest score of the last rung (ties: lowest trial)
SELECT (SELECT trial FROM shelfops.tuning_trials WHERE model_name = 't' AND rung = 1 ORDER BY score, trial LIMIT 1)
     = (SELECT (r->'winner'->>'trial')::int FROM run1) AS winner_is_best;

-- holdout untouched: every fold window and every fold's training end before the holdout start
SELECT bool_and((f->>'valid_end')::date < v.holdout_start) AS folds_before_holdout,
       bool_and((f->>'train_end')::date < (f->>'valid_start')::date) AS trained_before_window,
       bool_and((f->>'valid_end')::date <= v.holdout_start - 1) AS ends_before,
       max((f->>'valid_end')::date) = v.holdout_start - 1 AS fold_1_is_the_calibration_block,
       bool_and((f->'metrics'->>'rows')::int = (f->>'valid_rows')::int) AS scored_rows
  FROM shelfops.tuning_trials t
  JOIN shelfops.model_versions v ON v.model_name = t.model_name
  CROSS JOIN LATERAL jsonb_array_elements(t.fold_metrics) f
 WHERE t.model_name = 't'
 GROUP BY v.holdout_start;

-- the candidate: tuned lineage, never champion; the experiment row holds the search
SELECT version, status, lineage->>'tuning_profile' AS tuning_profile, lineage->>'change_category' AS change_category,
       lineage->>'tuning_metric' AS tuning_metric,
       lineage->'tuned_params' = (SELECT sampled FROM shelfops.tuning_trials WHERE model_name = 't' AND status = 'winner') AS lineage_params,
       (lineage->>'tuning_id')::uuid = (SELECT DISTINCT tuning_id FROM shelfops.tuning_trials WHERE model_name = 't') AS lineage_id
  FROM shelfops.model_versions WHERE model_name = 't';
SELECT count(*) FILTER (WHERE status = 'champion') AS champions FROM shelfops.model_versions WHERE model_name = 't';
SELECT experiment_type, status, decision, experimental_version, baseline_version,
       experiment_id = (SELECT DISTINCT tuning_id FROM shelfops.tuning_trials WHERE model_name = 't') AS same_id,
       results->'search' ? 'max_depth' AS holds_search, results->'winner' ? 'params' AS holds_winner,
       (evidence->>'holdout_start')::date = (SELECT holdout_start FROM shelfops.model_versions WHERE model_name = 't') AS holdout_recorded
  FROM shelfops.model_experiments WHERE model_name = 't';
SELECT trigger, status FROM shelfops.training_runs WHERE model_name = 't';

-- deterministic: the same seed gives the same draws, scores and model; another seed other draws
CREATE TEMP TABLE run2 AS
SELECT shelfops_tune('tu', 't', '{"max_depth": {"min": 2, "max": 6}, "eta": {"min": 0.05, "max": 0.3, "log": true},
                                  "objective": ["reg:squarederror", "count:poisson"], "n_estimators": 25}',
                     budget => 8, folds => 2, horizon => 7, seed => 7) AS r;
SELECT count(*) AS trials_compared,
       bool_and(a.sampled = b.sampled AND a.score = b.score AND a.status = b.status) AS identical
  FROM shelfops.tuning_trials a
  JOIN shelfops.tuning_trials b ON a.trial = b.trial AND a.tuning_id = ((SELECT r FROM run1)->>'tuning_id')::uuid
                               AND b.tuning_id = ((SELECT r FROM run2)->>'tuning_id')::uuid;
SELECT count(*) AS versions, count(DISTINCT model_sha256) AS distinct_models FROM shelfops.model_versions WHERE model_name = 't';
SELECT (shelfops_tune('tu', 't2', '{"max_depth": {"min": 2, "max": 6}, "eta": {"min": 0.05, "max": 0.3, "log": true},
                                    "objective": ["reg:squarederror", "count:poisson"], "n_estimators": 25}',
                      budget => 8, folds => 2, horizon => 7, seed => 8))->'candidate'->>'status' AS other_seed;
SELECT (SELECT array_agg(sampled ORDER BY trial) FROM shelfops.tuning_trials WHERE model_name = 't2')
    <> (SELECT array_agg(sampled ORDER BY trial) FROM shelfops.tuning_trials
         WHERE tuning_id = ((SELECT r FROM run1)->>'tuning_id')::uuid) AS other_draws;

DELETE FROM shelfops.tuning_trials;
DELETE FROM shelfops.model_experiments;
DELETE FROM shelfops.model_versions;
DELETE FROM shelfops.training_runs;
DELETE FROM shelfops.model_retraining_log;
DELETE FROM shelfops.model_version_counters;
DELETE FROM shelfops.datasets;
