-- shelfops_evaluate_gates() (src/gates.c, docs/gates.md): the reference's 15 promotion
-- gates (reference section 5.2) as a pure function.  The reference's four arena cases,
-- each gate at its threshold (a tie passes, a hair above fails), champion value 0 in
-- R(c, ch, t%), missing / null / non-number inputs, the mape alias, the overstock_dollars
-- trade-off path, confidence labels, policies (tightened, a whole gate_policy row, bad
-- values), and a property test against an independent PL/pgSQL re-implementation.

-- A champion and a candidate on which every gate passes (overstock_dollars improves by
-- 10 %, everything else is equal), all costs measured.
CREATE FUNCTION pg_temp.champ() RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT '{"mae": 10, "mape": 0.2, "wape": 0.3, "mase": 0.9, "bias_pct": 0.05,
           "coverage": 0.8, "stockout_miss_rate": 0.08, "overstock_rate": 0.12,
           "lost_sales_qty": 40, "opportunity_cost_stockout": 240,
           "opportunity_cost_overstock": 18, "overstock_dollars": 1000,
           "opportunity_cost_stockout_confidence": "measured",
           "opportunity_cost_overstock_confidence": "measured",
           "overstock_dollars_confidence": "measured"}'::jsonb $$;
CREATE FUNCTION pg_temp.cand() RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.champ() || '{"overstock_dollars": 900}' $$;

-- The failing gates of a result, in key order.
CREATE FUNCTION pg_temp.failed(r jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(string_agg(key, ',' ORDER BY key), '')
    FROM jsonb_each(r -> 'gate_checks') WHERE value = 'false' $$;

-- The base pair passes.
SELECT r -> 'promoted' AS promoted, r ->> 'reason' AS reason
FROM shelfops_evaluate_gates(pg_temp.cand(), pg_temp.champ()) r;

-- The whole document of the base pair, every key always present.
SELECT jsonb_pretty(shelfops_evaluate_gates(pg_temp.cand(), pg_temp.champ()));

-----------------------------------------------------------------------------------------
-- The reference's arena test cases (reference 5.2, test_arena_promotion_gates.py).
-----------------------------------------------------------------------------------------

-- (1) all measured, small mae/mape regressions within 2 %, costs better -> promoted.
SELECT r -> 'promoted' AS promoted, r ->> 'reason' AS reason, pg_temp.failed(r) AS failed
FROM shelfops_evaluate_gates(
  '{"mae": 10.1, "mape": 0.202, "coverage": 1.0, "stockout_miss_rate": 0.079,
    "overstock_rate": 0.118, "lost_sales_qty": 39.8, "opportunity_cost_stockout": 238,
    "opportunity_cost_overstock": 17.9, "overstock_dollars": 980,
    "opportunity_cost_stockout_confidence": "measured",
    "opportunity_cost_overstock_confidence": "measured",
    "overstock_dollars_confidence": "measured"}',
  '{"mae": 10, "mape": 0.20, "coverage": 1.0, "stockout_miss_rate": 0.08,
    "overstock_rate": 0.12, "lost_sales_qty": 40, "opportunity_cost_stockout": 240,
    "opportunity_cost_overstock": 18, "overstock_dollars": 1000,
    "opportunity_cost_stockout_confidence": "measured",
    "opportunity_cost_overstock_confidence": "measured",
    "overstock_dollars_confidence": "measured"}') r;

-- (2) only mae/mape/coverage, mape 0.25 vs 0.20 -> not promoted, mape_gate false,
-- reason contains failed_gates.
SELECT r -> 'promoted' AS promoted, r -> 'gate_checks' -> 'mape_gate' AS mape_gate,
       r ->> 'reason' LIKE 'failed_gates:%' AS reason_failed_gates,
       r ->> 'reason' AS reason
FROM shelfops_evaluate_gates('{"mae": 10, "mape": 0.25, "coverage": 1.0}',
                             '{"mae": 10, "mape": 0.20, "coverage": 1.0}') r;

-- (3) the candidate lacks business metrics -> opportunity_cost_stockout_gate and
-- overstock_dollars_gate false.
SELECT r -> 'promoted' AS promoted,
       r -> 'gate_checks' -> 'opportunity_cost_stockout_gate' AS opportunity_cost_stockout_gate,
       r -> 'gate_checks' -> 'overstock_dollars_gate' AS overstock_dollars_gate,
       r -> 'missing_required_inputs' AS missing
FROM shelfops_evaluate_gates('{"mae": 9, "mape": 0.18, "coverage": 1.0}', pg_temp.champ()) r;

-- (4) mae 9.7 vs 10 but lost 31 vs 30 and stockout cost 140 vs 120 -> blocked by
-- lost_sales_qty_gate and opportunity_cost_stockout_gate (and nothing else).
SELECT r -> 'promoted' AS promoted, pg_temp.failed(r) AS failed, r ->> 'reason' AS reason
FROM shelfops_evaluate_gates(
  pg_temp.cand() || '{"mae": 9.7, "lost_sales_qty": 31, "opportunity_cost_stockout": 140}',
  pg_temp.champ() || '{"mae": 10, "lost_sales_qty": 30, "opportunity_cost_stockout": 120}') r;

-----------------------------------------------------------------------------------------
-- Every gate at its threshold: the tie (computed in float8 exactly as the rule is
-- written) passes, a hair above (x (1 + 1e-12)) fails; the other gates stay true.
-----------------------------------------------------------------------------------------
CREATE TEMP TABLE ties (gate text, metric text, tie float8, hair float8);
INSERT INTO ties VALUES
  ('mae_gate',                        'mae',                        10::float8 * (1 + 2::float8 / 100), NULL),
  ('mape_gate',                       'mape',                       0.2::float8 * (1 + 2::float8 / 100), NULL),
  ('wape_gate',                       'wape',                       0.3::float8 * (1 + 2::float8 / 100), NULL),
  ('mase_gate',                       'mase',                       0.9::float8 * (1 + 2::float8 / 100), NULL),
  ('bias_gate',                       'bias_pct',                   abs(0.05::float8) + 1::float8 / 100, NULL),
  ('stockout_miss_gate',              'stockout_miss_rate',         0.08::float8 + 0.5::float8 / 100, NULL),
  ('overstock_rate_gate',             'overstock_rate',             0.12::float8 + 0.5::float8 / 100, NULL),
  ('lost_sales_qty_gate',             'lost_sales_qty',             40::float8 * (1 + 0.5::float8 / 100), NULL),
  ('opportunity_cost_stockout_gate',  'opportunity_cost_stockout',  240::float8 * (1 + 0.5::float8 / 100), NULL),
  ('opportunity_cost_overstock_gate', 'opportunity_cost_overstock', 18::float8 * (1 + 0.5::float8 / 100), NULL),
  ('overstock_dollars_gate',          'overstock_dollars',          1000::float8 * (1 - 1::float8 / 100), NULL);
UPDATE ties SET hair = tie * (1 + 1e-12);
SELECT t.gate,
       pg_temp.failed(shelfops_evaluate_gates(pg_temp.cand() || jsonb_build_object(t.metric, t.tie),
                                              pg_temp.champ())) AS failed_at_tie,
       pg_temp.failed(shelfops_evaluate_gates(pg_temp.cand() || jsonb_build_object(t.metric, t.hair),
                                              pg_temp.champ())) AS failed_above
FROM ties t ORDER BY t.gate;

-- bias_gate compares absolute values: a negative candidate bias at -(|ch| + 1 pp) passes.
SELECT pg_temp.failed(shelfops_evaluate_gates(pg_temp.cand() || jsonb_build_object('bias_pct', -(0.05::float8 + 0.01::float8)),
                                              pg_temp.champ())) AS failed_negative_tie,
       pg_temp.failed(shelfops_evaluate_gates(pg_temp.cand() || jsonb_build_object('bias_pct', -(0.05::float8 + 0.01::float8) * (1 + 1e-12)),
                                              pg_temp.champ())) AS failed_negative_above;

-- coverage_gate: equal passes, a hair lower fails.
SELECT pg_temp.failed(shelfops_evaluate_gates(pg_temp.cand() || '{"coverage": 0.8}', pg_temp.champ())) AS failed_equal,
       pg_temp.failed(shelfops_evaluate_gates(pg_temp.cand() || jsonb_build_object('coverage', 0.8 * (1 - 1e-12)),
                                              pg_temp.champ())) AS failed_lower;

-- Ties follow the policy: mae at +5 % passes with max_mae_regression_pct 5 and fails at
-- the default; stockout at +1 pp passes with max_stockout_miss_pp 1.
SELECT pg_temp.failed(shelfops_evaluate_gates(pg_temp.cand() || jsonb_build_object('mae', 10::float8 * (1 + 5::float8 / 100)),
                                              pg_temp.champ(), '{"max_mae_regression_pct": 5}')) AS policy_5,
       pg_temp.failed(shelfops_evaluate_gates(pg_temp.cand() || jsonb_build_object('mae', 10::float8 * (1 + 5::float8 / 100)),
                                              pg_temp.champ())) AS default_2,
       pg_temp.failed(shelfops_evaluate_gates(pg_temp.cand() || jsonb_build_object('stockout_miss_rate', 0.08::float8 + 1::float8 / 100),
                                              pg_temp.champ(), '{"max_stockout_miss_pp": 1}')) AS stockout_1pp,
       pg_temp.failed(shelfops_evaluate_gates(pg_temp.cand() || jsonb_build_object('stockout_miss_rate', 0.08::float8 + 1::float8 / 100 + 1e-12),
                                              pg_temp.champ(), '{"max_stockout_miss_pp": 1}')) AS stockout_above;

-- A zero threshold means "no regression at all".
SELECT pg_temp.failed(shelfops_evaluate_gates(pg_temp.cand(), pg_temp.champ(),
                        '{"max_mae_regression_pct": 0, "max_stockout_miss_pp": 0}')) AS equal_zero_tolerance,
       pg_temp.failed(shelfops_evaluate_gates(pg_temp.cand() || '{"mae": 10.000000001, "stockout_miss_rate": 0.0800000001}',
                        pg_temp.champ(), '{"max_mae_regression_pct": 0, "max_stockout_miss_pp": 0}')) AS above_zero_tolerance;

-----------------------------------------------------------------------------------------
-- Champion value 0 in R(c, ch, t%): only c <= 0 passes.
-----------------------------------------------------------------------------------------
SELECT c AS candidate_lost_sales,
       shelfops_evaluate_gates(pg_temp.cand() || jsonb_build_object('lost_sales_qty', c),
                               pg_temp.champ() || '{"lost_sales_qty": 0}') -> 'gate_checks' -> 'lost_sales_qty_gate' AS gate
FROM (VALUES (0::float8), (-1), (1e-300), (0.001)) v(c);
-- The same for a pass-on-missing ratio gate (wape) and for mae.
SELECT shelfops_evaluate_gates(pg_temp.cand() || '{"wape": 0, "mae": 0}', pg_temp.champ() || '{"wape": 0, "mae": 0}')
         -> 'gate_checks' @> '{"wape_gate": true, "mae_gate": true}' AS zero_vs_zero,
       pg_temp.failed(shelfops_evaluate_gates(pg_temp.cand() || '{"wape": 0.01, "mae": 0.01}',
                                              pg_temp.champ() || '{"wape": 0, "mae": 0}')) AS positive_vs_zero;

-----------------------------------------------------------------------------------------
-- Missing, null and non-number inputs.
-----------------------------------------------------------------------------------------
-- Each form of candidate mae: how it is read, mae_gate, and the missing list.
SELECT v.label, r -> 'candidate_metrics' -> 'mae' AS read_as,
       r -> 'gate_checks' -> 'mae_gate' AS mae_gate, r -> 'missing_required_inputs' AS missing
FROM (VALUES ('absent',          pg_temp.cand() - 'mae'),
             ('json null',       pg_temp.cand() || '{"mae": null}'),
             ('true',            pg_temp.cand() || '{"mae": true}'),
             ('object',          pg_temp.cand() || '{"mae": {"value": 10}}'),
             ('array',           pg_temp.cand() || '{"mae": [10]}'),
             ('empty string',    pg_temp.cand() || '{"mae": ""}'),
             ('"abc"',           pg_temp.cand() || '{"mae": "abc"}'),
             ('"1__0"',          pg_temp.cand() || '{"mae": "1__0"}'),
             ('"_10"',           pg_temp.cand() || '{"mae": "_10"}'),
             ('"0x10"',          pg_temp.cand() || '{"mae": "0x10"}'),
             ('"1e"',            pg_temp.cand() || '{"mae": "1e"}'),
             ('"."',             pg_temp.cand() || '{"mae": "."}'),
             ('"1 0"',           pg_temp.cand() || '{"mae": "1 0"}'),
             ('"10"',            pg_temp.cand() || '{"mae": "10"}'),
             ('" 9.5\n"',        pg_temp.cand() || '{"mae": " 9.5\n"}'),
             ('nbsp "9.5"',      pg_temp.cand() || '{"mae": "\u00a09.5\u3000"}'),
             ('"1_0"',           pg_temp.cand() || '{"mae": "1_0"}'),
             ('"+.5e1"',         pg_temp.cand() || '{"mae": "+.5e1"}'),
             ('"10."',           pg_temp.cand() || '{"mae": "10."}'),
             ('"1E1"',           pg_temp.cand() || '{"mae": "1E1"}'),
             ('"-inf"',          pg_temp.cand() || '{"mae": "-inf"}'),
             ('"Infinity"',      pg_temp.cand() || '{"mae": "Infinity"}'),
             ('"nan"',           pg_temp.cand() || '{"mae": "nan"}'),
             ('1e400',           pg_temp.cand() || '{"mae": 1e400}'),
             ('1e-400',          pg_temp.cand() || '{"mae": 1e-400}')) v(label, c),
     shelfops_evaluate_gates(v.c, pg_temp.champ()) r
ORDER BY v.label;

-- A NaN champion value is present (not missing) but every comparison with it is false;
-- an infinite champion value lets any finite candidate through R.
SELECT pg_temp.failed(shelfops_evaluate_gates(pg_temp.cand(), pg_temp.champ() || '{"mae": "NaN", "wape": "nan"}')) AS nan_champion,
       pg_temp.failed(shelfops_evaluate_gates(pg_temp.cand(), pg_temp.champ() || '{"mae": "inf"}')) AS inf_champion,
       shelfops_evaluate_gates(pg_temp.cand(), pg_temp.champ() || '{"mae": "NaN"}') -> 'missing_required_inputs' AS nan_missing;

-- wape, mase and bias_pct pass when either side is missing and are not required inputs.
SELECT r -> 'promoted' AS promoted, pg_temp.failed(r) AS failed, r -> 'missing_required_inputs' AS missing
FROM shelfops_evaluate_gates(pg_temp.cand() - 'wape' - 'mase' || '{"bias_pct": "n/a"}',
                             pg_temp.champ() || '{"wape": null}') r;

-- Missing required inputs: sorted in the list, first item of the reason.
SELECT r -> 'missing_required_inputs' AS missing, r ->> 'reason' AS reason
FROM shelfops_evaluate_gates(pg_temp.cand() - 'coverage' - 'mae',
                             pg_temp.champ() || '{"overstock_dollars": null}') r;

-- Everything missing: SQL NULL and {} are the same (every input missing).
SELECT shelfops_evaluate_gates(NULL, NULL) = shelfops_evaluate_gates('{}', '{}') AS null_is_empty,
       jsonb_array_length(shelfops_evaluate_gates(NULL, NULL) -> 'missing_required_inputs') AS n_missing,
       pg_temp.failed(shelfops_evaluate_gates(NULL, NULL)) AS failed,
       shelfops_evaluate_gates(NULL, NULL) ->> 'reason' AS reason;

-----------------------------------------------------------------------------------------
-- mape and its alias mape_nonzero (what shelfops_metrics() returns).
-----------------------------------------------------------------------------------------
SELECT v.label, r -> 'candidate_metrics' -> 'mape' AS mape_used,
       r -> 'gate_checks' -> 'mape_gate' AS mape_gate, r -> 'warnings' AS warnings
FROM (VALUES ('mape only',                pg_temp.cand()),
             ('mape_nonzero only',        pg_temp.cand() - 'mape' || '{"mape_nonzero": 0.2}'),
             ('mape_nonzero only, worse', pg_temp.cand() - 'mape' || '{"mape_nonzero": 0.3}'),
             ('both equal',               pg_temp.cand() || '{"mape_nonzero": 0.2}'),
             ('both differ',              pg_temp.cand() || '{"mape_nonzero": 0.3}'),
             ('mape null, alias number',  pg_temp.cand() || '{"mape": null, "mape_nonzero": 0.2}'),
             ('mape number, alias text',  pg_temp.cand() || '{"mape_nonzero": "n/a"}')) v(label, c),
     shelfops_evaluate_gates(v.c, pg_temp.champ()) r
ORDER BY v.label;

-- shelfops_metrics() output is accepted as is (its costs are unavailable without cost
-- inputs, so the business gates fail, never silently pass).
SELECT r -> 'candidate_metrics' -> 'mape' AS mape, pg_temp.failed(r) AS failed
FROM shelfops_evaluate_gates(shelfops_metrics('{10,20,30}', '{12,18,33}'),
                             shelfops_metrics('{10,20,30}', '{13,17,34}')) r;

-----------------------------------------------------------------------------------------
-- overstock_dollars_gate: improve by 1 %, or stay within +0.5 % while the stockout
-- opportunity cost is strictly cheaper (both present).
-----------------------------------------------------------------------------------------
SELECT v.label, r -> 'gate_checks' -> 'overstock_dollars_gate' AS gate
FROM (VALUES ('-1 %, same stockout cost',          pg_temp.cand() || '{"overstock_dollars": 990}', pg_temp.champ()),
             ('+0.5 %, cheaper stockout',          pg_temp.cand() || jsonb_build_object('overstock_dollars', 1000::float8 * (1 + 0.5::float8 / 100), 'opportunity_cost_stockout', 239), pg_temp.champ()),
             ('+0.5 % + hair, cheaper stockout',   pg_temp.cand() || jsonb_build_object('overstock_dollars', 1000::float8 * (1 + 0.5::float8 / 100) * (1 + 1e-12), 'opportunity_cost_stockout', 239), pg_temp.champ()),
             ('+0.5 %, same stockout cost',        pg_temp.cand() || jsonb_build_object('overstock_dollars', 1000::float8 * (1 + 0.5::float8 / 100)), pg_temp.champ()),
             ('flat, cheaper stockout',            pg_temp.cand() || '{"overstock_dollars": 1000, "opportunity_cost_stockout": 200}', pg_temp.champ()),
             ('flat, candidate stockout missing',  pg_temp.cand() || '{"overstock_dollars": 1000, "opportunity_cost_stockout": null}', pg_temp.champ()),
             ('flat, champion stockout missing',   pg_temp.cand() || '{"overstock_dollars": 1000, "opportunity_cost_stockout": 200}', pg_temp.champ() - 'opportunity_cost_stockout'),
             ('-10 %, labels unavailable',         pg_temp.cand() || '{"overstock_dollars_confidence": "unavailable"}', pg_temp.champ()),
             ('champion 0, candidate 0',           pg_temp.cand() || '{"overstock_dollars": 0}', pg_temp.champ() || '{"overstock_dollars": 0}'),
             ('champion 0, candidate 0, cheaper',  pg_temp.cand() || '{"overstock_dollars": 0, "opportunity_cost_stockout": 1}', pg_temp.champ() || '{"overstock_dollars": 0}')
       ) v(label, c, ch),
     shelfops_evaluate_gates(v.c, v.ch) r
ORDER BY v.label;

-----------------------------------------------------------------------------------------
-- Confidence labels: trimmed, lower-cased; blank, null or absent -> "unavailable";
-- only measured and estimated pass.
-----------------------------------------------------------------------------------------
SELECT v.label, r -> 'candidate_metrics' -> 'overstock_dollars_confidence' AS normalised,
       r -> 'gate_checks' -> 'overstock_dollars_confidence_gate' AS confidence_gate,
       r -> 'gate_checks' -> 'overstock_dollars_gate' AS dollars_gate
FROM (VALUES ('" Measured "',  pg_temp.cand() || '{"overstock_dollars_confidence": " Measured "}'),
             ('"ESTIMATED"',   pg_temp.cand() || '{"overstock_dollars_confidence": "ESTIMATED"}'),
             ('"estimated\t"', pg_temp.cand() || '{"overstock_dollars_confidence": "estimated\t"}'),
             ('""',            pg_temp.cand() || '{"overstock_dollars_confidence": ""}'),
             ('"   "',         pg_temp.cand() || '{"overstock_dollars_confidence": "   "}'),
             ('null',          pg_temp.cand() || '{"overstock_dollars_confidence": null}'),
             ('absent',        pg_temp.cand() - 'overstock_dollars_confidence'),
             ('"unavailable"', pg_temp.cand() || '{"overstock_dollars_confidence": "unavailable"}'),
             ('"measured-ish"',pg_temp.cand() || '{"overstock_dollars_confidence": "measured-ish"}'),
             ('true',          pg_temp.cand() || '{"overstock_dollars_confidence": true}'),
             ('1',             pg_temp.cand() || '{"overstock_dollars_confidence": 1}')) v(label, c),
     shelfops_evaluate_gates(v.c, pg_temp.champ()) r
ORDER BY v.label;

-- The champion's label counts too, and each cost gate needs its own confidence gate.
SELECT pg_temp.failed(shelfops_evaluate_gates(pg_temp.cand(),
         pg_temp.champ() || '{"opportunity_cost_stockout_confidence": "Unavailable",
                               "opportunity_cost_overstock_confidence": "estimated"}')) AS failed;

-----------------------------------------------------------------------------------------
-- Policies.
-----------------------------------------------------------------------------------------
-- Arena case (1) is promoted by default; a tightened mae tolerance (0.5 %) flips it.
CREATE TEMP TABLE case1 AS SELECT
  '{"mae": 10.1, "mape": 0.202, "coverage": 1.0, "stockout_miss_rate": 0.079,
    "overstock_rate": 0.118, "lost_sales_qty": 39.8, "opportunity_cost_stockout": 238,
    "opportunity_cost_overstock": 17.9, "overstock_dollars": 980,
    "opportunity_cost_stockout_confidence": "measured",
    "opportunity_cost_overstock_confidence": "measured",
    "overstock_dollars_confidence": "measured"}'::jsonb AS cand,
  '{"mae": 10, "mape": 0.20, "coverage": 1.0, "stockout_miss_rate": 0.08,
    "overstock_rate": 0.12, "lost_sales_qty": 40, "opportunity_cost_stockout": 240,
    "opportunity_cost_overstock": 18, "overstock_dollars": 1000,
    "opportunity_cost_stockout_confidence": "measured",
    "opportunity_cost_overstock_confidence": "measured",
    "overstock_dollars_confidence": "measured"}'::jsonb AS champ;
SELECT shelfops_evaluate_gates(cand, champ) -> 'promoted' AS default_policy,
       shelfops_evaluate_gates(cand, champ, '{"max_mae_regression_pct": 0.5}') ->> 'reason' AS tightened,
       shelfops_evaluate_gates(cand, champ, '{"max_mae_regression_pct": 0.5}') -> 'thresholds' -> 'max_mae_regression_pct' AS recorded
FROM case1;

-- A whole gate_policy row passes as is (non-threshold keys are ignored): the default row
-- gives the default decision, a tenant's tightened row flips it.
BEGIN;
INSERT INTO shelfops.gate_policy (tenant_id, model_name, max_mae_regression_pct, overstock_dollars_improvement_pct)
VALUES ('acme', '*', 0.5, 3);
SELECT shelfops_evaluate_gates(cand, champ, to_jsonb(shelfops.effective_gate_policy('public', 'demand'))) -> 'promoted' AS public_row,
       shelfops_evaluate_gates(cand, champ, to_jsonb(shelfops.effective_gate_policy('acme', 'demand'))) ->> 'reason' AS acme_row,
       shelfops_evaluate_gates(cand, champ, to_jsonb(shelfops.effective_gate_policy('acme', 'demand'))) -> 'thresholds' AS acme_thresholds
FROM case1;
ROLLBACK;

-- Keys left out take the default; unknown keys are ignored.
SELECT shelfops_evaluate_gates('{}', '{}', '{"max_wape_regression_pct": 7.25, "min_scored_rows": 100, "tenant_id": "x"}')
         -> 'thresholds' AS thresholds;

-- Bad policies: a threshold that is not a non-negative number names its key.
SELECT shelfops_evaluate_gates('{}', '{}', '{"max_mae_regression_pct": -1}');
SELECT shelfops_evaluate_gates('{}', '{}', '{"max_stockout_miss_pp": "0.5"}');
SELECT shelfops_evaluate_gates('{}', '{}', '{"overstock_dollars_tolerance_pct": null}');
SELECT shelfops_evaluate_gates('{}', '{}', '{"max_overstock_rate_pp": true}');
SELECT shelfops_evaluate_gates('{}', '{}', '{"max_bias_abs_regression_pp": {"pp": 1}}');
SELECT shelfops_evaluate_gates('{}', '{}', '[1, 2]');
SELECT shelfops_evaluate_gates('{}', '{}', 'null');
-- Metric documents must be objects.
SELECT shelfops_evaluate_gates('[]', '{}');
SELECT shelfops_evaluate_gates('{}', '"mae"');

-- IMMUTABLE, PARALLEL SAFE, callable by everyone.
SELECT p.provolatile, p.proparallel, p.proisstrict,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
FROM pg_proc p WHERE p.proname = 'shelfops_evaluate_gates';

-----------------------------------------------------------------------------------------
-- Property test: 4000 generated metric pairs (missing keys, JSON nulls, unparseable and
-- numeric strings, zeros, values exactly at each threshold, mape given as mape_nonzero,
-- random policies) against an independent PL/pgSQL re-implementation of reference 5.2.
-----------------------------------------------------------------------------------------

-- Oracle: a metric as the reference reads it (float8 input is Python float() on the
-- generated strings; NaN is never generated: PostgreSQL orders NaN above everything).
CREATE FUNCTION pg_temp.o_num(m jsonb, k text) RETURNS float8 LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF k = 'mape' AND NOT m ? 'mape' THEN
        k := 'mape_nonzero';
    END IF;
    CASE jsonb_typeof(m -> k)
        WHEN 'number' THEN RETURN (m ->> k)::float8;
        WHEN 'string' THEN
            BEGIN
                RETURN btrim(m ->> k)::float8;
            EXCEPTION WHEN invalid_text_representation THEN
                RETURN NULL;
            END;
        ELSE RETURN NULL;
    END CASE;
END $$;

CREATE FUNCTION pg_temp.o_label(m jsonb, k text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN jsonb_typeof(m -> k) IS DISTINCT FROM 'string' OR btrim(m ->> k) = '' THEN 'unavailable'
              ELSE lower(btrim(m ->> k)) END $$;

CREATE FUNCTION pg_temp.o_r(c float8, ch float8, t float8) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN c IS NULL OR ch IS NULL THEN false
              WHEN ch = 0 THEN c <= 0
              ELSE c <= ch * (1 + t / 100.0) END $$;

CREATE FUNCTION pg_temp.oracle(cand jsonb, champ jsonb, pol jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    keys  text[] := ARRAY['mae', 'mape', 'wape', 'mase', 'bias_pct', 'coverage', 'stockout_miss_rate',
                          'overstock_rate', 'lost_sales_qty', 'opportunity_cost_stockout',
                          'opportunity_cost_overstock', 'overstock_dollars'];
    labels text[] := ARRAY['opportunity_cost_stockout_confidence', 'opportunity_cost_overstock_confidence',
                           'overstock_dollars_confidence'];
    req   text[] := ARRAY['mae', 'mape', 'coverage', 'stockout_miss_rate', 'overstock_rate',
                          'overstock_dollars', 'lost_sales_qty', 'opportunity_cost_stockout',
                          'opportunity_cost_overstock'];
    c jsonb := '{}';   -- parsed candidate values (jsonb numbers / null)
    h jsonb := '{}';
    t jsonb := '{"max_mae_regression_pct": 2.0, "max_mape_regression_pct": 2.0,
                 "max_wape_regression_pct": 2.0, "max_mase_regression_pct": 2.0,
                 "max_bias_abs_regression_pp": 1.0, "max_stockout_miss_pp": 0.5,
                 "max_overstock_rate_pp": 0.5, "max_lost_sales_qty_regression_pct": 0.5,
                 "max_stockout_opportunity_cost_regression_pct": 0.5,
                 "max_overstock_opportunity_cost_regression_pct": 0.5,
                 "overstock_dollars_improvement_pct": 1.0,
                 "overstock_dollars_tolerance_pct": 0.5}';
    k text;
    missing text[] := '{}';
    g jsonb;
    ok_s boolean; ok_o boolean; ok_d boolean;
    cv float8; hv float8;
    fails text[] := '{}';
    gate_order text[] := ARRAY['mae_gate', 'mape_gate', 'wape_gate', 'mase_gate', 'bias_gate',
        'coverage_gate', 'stockout_miss_gate', 'overstock_rate_gate', 'lost_sales_qty_gate',
        'opportunity_cost_stockout_confidence_gate', 'opportunity_cost_stockout_gate',
        'opportunity_cost_overstock_confidence_gate', 'opportunity_cost_overstock_gate',
        'overstock_dollars_confidence_gate', 'overstock_dollars_gate'];
    promoted boolean;
    reason text;
BEGIN
    IF pol IS NOT NULL THEN
        t := t || (SELECT coalesce(jsonb_object_agg(key, value), '{}') FROM jsonb_each(pol) WHERE t ? key);
    END IF;
    FOREACH k IN ARRAY keys LOOP
        c := c || jsonb_build_object(k, pg_temp.o_num(cand, k));
        h := h || jsonb_build_object(k, pg_temp.o_num(champ, k));
    END LOOP;
    FOREACH k IN ARRAY labels LOOP
        c := c || jsonb_build_object(k, pg_temp.o_label(cand, k));
        h := h || jsonb_build_object(k, pg_temp.o_label(champ, k));
    END LOOP;
    FOREACH k IN ARRAY req LOOP
        IF c -> k = 'null' THEN missing := missing || ('candidate.' || k); END IF;
        IF h -> k = 'null' THEN missing := missing || ('champion.' || k); END IF;
    END LOOP;
    missing := ARRAY(SELECT m FROM unnest(missing) m ORDER BY m COLLATE "C");

    ok_s := (c ->> 'opportunity_cost_stockout_confidence') IN ('measured', 'estimated')
        AND (h ->> 'opportunity_cost_stockout_confidence') IN ('measured', 'estimated');
    ok_o := (c ->> 'opportunity_cost_overstock_confidence') IN ('measured', 'estimated')
        AND (h ->> 'opportunity_cost_overstock_confidence') IN ('measured', 'estimated');
    ok_d := (c ->> 'overstock_dollars_confidence') IN ('measured', 'estimated')
        AND (h ->> 'overstock_dollars_confidence') IN ('measured', 'estimated');

    g := jsonb_build_object(
        'mae_gate', pg_temp.o_r((c->>'mae')::float8, (h->>'mae')::float8, (t->>'max_mae_regression_pct')::float8),
        'mape_gate', pg_temp.o_r((c->>'mape')::float8, (h->>'mape')::float8, (t->>'max_mape_regression_pct')::float8),
        'wape_gate', CASE WHEN c->'wape' = 'null' OR h->'wape' = 'null' THEN true
                          ELSE (c->>'wape')::float8 <= (h->>'wape')::float8 * (1 + (t->>'max_wape_regression_pct')::float8 / 100.0) END,
        'mase_gate', CASE WHEN c->'mase' = 'null' OR h->'mase' = 'null' THEN true
                          ELSE (c->>'mase')::float8 <= (h->>'mase')::float8 * (1 + (t->>'max_mase_regression_pct')::float8 / 100.0) END,
        'bias_gate', CASE WHEN c->'bias_pct' = 'null' OR h->'bias_pct' = 'null' THEN true
                          ELSE abs((c->>'bias_pct')::float8) <= abs((h->>'bias_pct')::float8) + (t->>'max_bias_abs_regression_pp')::float8 / 100.0 END,
        'coverage_gate', coalesce((c->>'coverage')::float8 >= (h->>'coverage')::float8, false),
        'stockout_miss_gate', coalesce((c->>'stockout_miss_rate')::float8 <= (h->>'stockout_miss_rate')::float8 + (t->>'max_stockout_miss_pp')::float8 / 100.0, false),
        'overstock_rate_gate', coalesce((c->>'overstock_rate')::float8 <= (h->>'overstock_rate')::float8 + (t->>'max_overstock_rate_pp')::float8 / 100.0, false),
        'lost_sales_qty_gate', pg_temp.o_r((c->>'lost_sales_qty')::float8, (h->>'lost_sales_qty')::float8, (t->>'max_lost_sales_qty_regression_pct')::float8),
        'opportunity_cost_stockout_confidence_gate', ok_s,
        'opportunity_cost_stockout_gate', pg_temp.o_r((c->>'opportunity_cost_stockout')::float8, (h->>'opportunity_cost_stockout')::float8,
                                                      (t->>'max_stockout_opportunity_cost_regression_pct')::float8) AND ok_s,
        'opportunity_cost_overstock_confidence_gate', ok_o,
        'opportunity_cost_overstock_gate', pg_temp.o_r((c->>'opportunity_cost_overstock')::float8, (h->>'opportunity_cost_overstock')::float8,
                                                       (t->>'max_overstock_opportunity_cost_regression_pct')::float8) AND ok_o,
        'overstock_dollars_confidence_gate', ok_d,
        'overstock_dollars_gate',
            CASE WHEN c->'overstock_dollars' = 'null' OR h->'overstock_dollars' = 'null' OR NOT ok_d THEN false
                 ELSE (c->>'overstock_dollars')::float8 <= (h->>'overstock_dollars')::float8 * (1 - (t->>'overstock_dollars_improvement_pct')::float8 / 100.0)
                   OR ((c->>'overstock_dollars')::float8 <= (h->>'overstock_dollars')::float8 * (1 + (t->>'overstock_dollars_tolerance_pct')::float8 / 100.0)
                       AND coalesce((c->>'opportunity_cost_stockout')::float8 < (h->>'opportunity_cost_stockout')::float8, false)) END);

    FOREACH k IN ARRAY gate_order LOOP
        IF NOT (g ->> k)::boolean THEN fails := fails || k; END IF;
    END LOOP;
    promoted := cardinality(fails) = 0 AND cardinality(missing) = 0;
    IF cardinality(missing) > 0 THEN
        fails := ('missing_required_inputs:' || array_to_string(missing, ',')) || fails;
    END IF;
    reason := CASE WHEN promoted THEN 'passed_business_and_ds_gates'
                   WHEN cardinality(fails) > 0 THEN 'failed_gates:' || array_to_string(fails, ',')
                   ELSE 'failed_unknown_gate' END;
    RETURN jsonb_build_object('promoted', promoted, 'reason', reason, 'gate_checks', g,
                              'missing_required_inputs', to_jsonb(missing),
                              'candidate_metrics', c, 'champion_metrics', h);
END $$;

-- Generator.  Per pair: a mode, a missing rate and a policy (default or random), then
-- per metric a champion value (absent, null, unparseable or numeric string, 0, negative
-- or random) and a candidate value (the same kinds, or exact float8 ties of each rule at
-- its default threshold).  A third of the pairs are "close" pairs: no missing values,
-- good labels, candidate equal to the champion, 1 % better, or exactly at its own gate's
-- tie, so that promotions and single failing gates are frequent too.
CREATE FUNCTION pg_temp.pick(VARIADIC xs jsonb[]) RETURNS jsonb LANGUAGE sql VOLATILE AS $$
  SELECT xs[1 + floor(random() * cardinality(xs))::int] $$;

CREATE FUNCTION pg_temp.gen_value(p_missing float8) RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
DECLARE u float8 := random();
BEGIN
    IF u < p_missing THEN RETURN NULL; END IF;                  -- key absent
    u := random();
    RETURN CASE WHEN u < 0.04 THEN 'null'::jsonb
                WHEN u < 0.07 THEN '"n/a"'::jsonb
                WHEN u < 0.10 THEN to_jsonb(' ' || round((random() * 50)::numeric, 1)::text || ' ')
                WHEN u < 0.20 THEN '0'::jsonb
                WHEN u < 0.25 THEN to_jsonb(-random())
                ELSE to_jsonb(round((random() * 100)::numeric, (random() * 6)::int)) END;
END $$;

-- The exact tie of metric k's rule at the default threshold, for champion value ch.
CREATE FUNCTION pg_temp.tie(k text, ch float8) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT to_jsonb(CASE WHEN k IN ('mae', 'mape', 'wape', 'mase') THEN ch * (1 + 2::float8 / 100)
                       WHEN k IN ('lost_sales_qty', 'opportunity_cost_stockout',
                                  'opportunity_cost_overstock') THEN ch * (1 + 0.5::float8 / 100)
                       WHEN k IN ('stockout_miss_rate', 'overstock_rate') THEN ch + 0.5::float8 / 100
                       WHEN k = 'bias_pct' THEN abs(ch) + 1::float8 / 100
                       WHEN k = 'overstock_dollars' THEN ch * (1 - 1::float8 / 100)
                       ELSE ch END) $$;

CREATE TEMP TABLE pairs (i int, cand jsonb, champ jsonb, pol jsonb);
SELECT setseed(0.42);
DO $$
DECLARE
    keys text[] := ARRAY['mae', 'mape', 'wape', 'mase', 'bias_pct', 'coverage', 'stockout_miss_rate',
                         'overstock_rate', 'lost_sales_qty', 'opportunity_cost_stockout',
                         'opportunity_cost_overstock', 'overstock_dollars'];
    labels text[] := ARRAY['opportunity_cost_stockout_confidence', 'opportunity_cost_overstock_confidence',
                           'overstock_dollars_confidence'];
    i int; k text; p_missing float8; u float8; close boolean;
    c jsonb; h jsonb; pol jsonb; hv jsonb; cv jsonb; ch float8;
BEGIN
    FOR i IN 1 .. 4000 LOOP
        close := random() < 1 / 3.0;
        p_missing := CASE WHEN close THEN 0
                          ELSE (ARRAY[0, 0, 0.02, 0.1, 0.3])[1 + floor(random() * 5)::int] END;
        c := '{}'; h := '{}';
        FOREACH k IN ARRAY keys LOOP
            IF close THEN
                hv := pg_temp.pick('0', to_jsonb(round((random() * 100)::numeric, (random() * 6)::int)),
                                   to_jsonb(random()), to_jsonb(random() * 1000));
                ch := hv::text::float8;
                u := random();
                cv := CASE WHEN u < 0.5 THEN hv
                           WHEN u < 0.8 THEN to_jsonb(ch * (1 - 1::float8 / 100))
                           ELSE pg_temp.tie(k, ch) END;
            ELSE
                hv := pg_temp.gen_value(p_missing);
                IF jsonb_typeof(hv) = 'number' AND random() < 0.6 THEN
                    ch := hv::text::float8;
                    -- Exact ties (as float8) of every rule at the default thresholds,
                    -- equal values, a hair above a tie, and small moves either side.
                    cv := pg_temp.pick(to_jsonb(ch), to_jsonb(ch * (1 + 2::float8 / 100)),
                                       to_jsonb(ch * (1 + 0.5::float8 / 100)), to_jsonb(ch * (1 - 1::float8 / 100)),
                                       to_jsonb(ch + 0.5::float8 / 100), to_jsonb(ch + 1::float8 / 100),
                                       to_jsonb(-(abs(ch) + 1::float8 / 100)),
                                       to_jsonb(ch * (1 + 2::float8 / 100) * (1 + 1e-12)),
                                       to_jsonb(ch * (0.97 + random() * 0.06)), to_jsonb(0::float8));
                ELSE
                    cv := pg_temp.gen_value(p_missing);
                END IF;
            END IF;
            -- mape sometimes arrives under its alias.
            IF k = 'mape' AND random() < 0.3 THEN
                IF cv IS NOT NULL THEN c := c || jsonb_build_object('mape_nonzero', cv); END IF;
                IF hv IS NOT NULL THEN h := h || jsonb_build_object('mape_nonzero', hv); END IF;
                CONTINUE;
            END IF;
            IF cv IS NOT NULL THEN c := c || jsonb_build_object(k, cv); END IF;
            IF hv IS NOT NULL THEN h := h || jsonb_build_object(k, hv); END IF;
        END LOOP;
        FOREACH k IN ARRAY labels LOOP
            IF close THEN
                c := c || jsonb_build_object(k, pg_temp.pick('"measured"', '"estimated"', '" Estimated "', '"MEASURED"'));
                h := h || jsonb_build_object(k, pg_temp.pick('"measured"', '"estimated"', '" Estimated "', '"MEASURED"'));
            ELSE
                c := c || jsonb_build_object(k, pg_temp.pick('"measured"', '"estimated"', '"measured"', '" Estimated "',
                                                             '"MEASURED"', '""', 'null', '"unavailable"'));
                h := h || jsonb_build_object(k, pg_temp.pick('"measured"', '"estimated"', '"measured"', '" Estimated "',
                                                             '"MEASURED"', '""', 'null', '"unavailable"'));
                IF random() < p_missing THEN c := c - k; END IF;
            END IF;
        END LOOP;
        pol := NULL;
        IF random() < 0.3 THEN
            pol := jsonb_build_object(
                'max_mae_regression_pct', pg_temp.pick('0', '0.5', '2', '5'),
                'max_stockout_miss_pp', pg_temp.pick('0', '0.5', '1'),
                'max_bias_abs_regression_pp', pg_temp.pick('0', '1', '3'),
                'max_lost_sales_qty_regression_pct', pg_temp.pick('0', '0.5', '2'),
                'overstock_dollars_improvement_pct', pg_temp.pick('0', '1', '5'),
                'overstock_dollars_tolerance_pct', pg_temp.pick('0', '0.5', '2'),
                'require_business_metrics', true);
        END IF;
        INSERT INTO pairs VALUES (i, c, h, pol);
    END LOOP;
END $$;

CREATE TEMP TABLE compared AS
SELECT p.i, shelfops_evaluate_gates(p.cand, p.champ, p.pol) AS got, pg_temp.oracle(p.cand, p.champ, p.pol) AS want
FROM pairs p;

-- Zero disagreements on any part of the decision.
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE got -> 'promoted' <> want -> 'promoted') AS promoted_differs,
       count(*) FILTER (WHERE got ->> 'reason' <> want ->> 'reason') AS reason_differs,
       count(*) FILTER (WHERE got -> 'gate_checks' <> want -> 'gate_checks') AS gates_differ,
       count(*) FILTER (WHERE got -> 'missing_required_inputs' <> want -> 'missing_required_inputs') AS missing_differs,
       count(*) FILTER (WHERE got -> 'candidate_metrics' <> want -> 'candidate_metrics'
                           OR got -> 'champion_metrics' <> want -> 'champion_metrics') AS metrics_differ
FROM compared;

-- The first disagreement, if any (no rows expected).
SELECT i, got, want FROM compared
WHERE got - 'thresholds' - 'warnings' <> want ORDER BY i LIMIT 1;

-- The generated pairs exercise every outcome: some promoted, each gate both true and
-- false, some missing inputs, some ties decided either way.
SELECT count(*) FILTER (WHERE (got ->> 'promoted')::boolean) >= 100 AS some_promoted,
       count(*) FILTER (WHERE jsonb_array_length(got -> 'missing_required_inputs') = 0
                          AND NOT (got ->> 'promoted')::boolean) >= 100 AS some_rejected_without_missing,
       count(*) FILTER (WHERE jsonb_array_length(got -> 'missing_required_inputs') > 0) >= 100 AS some_missing
FROM compared;
SELECT g.key AS gate, count(*) FILTER (WHERE g.value = 'true') >= 20 AS seen_true,
       count(*) FILTER (WHERE g.value = 'false') >= 20 AS seen_false
FROM compared, jsonb_each(got -> 'gate_checks') g
GROUP BY g.key ORDER BY g.key;
