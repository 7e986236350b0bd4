-- Catalog facts of the metrics surface (pgTAP): the array function is IMMUTABLE
-- and PARALLEL SAFE; each aggregate exists, is PARALLEL SAFE and has a combine
-- function, so it can run as partial aggregates in a parallel plan.
BEGIN;
SELECT plan(26);

SELECT has_function('shelfops_metrics',
    ARRAY['double precision[]', 'double precision[]', 'double precision[]', 'double precision[]',
          'double precision[]', 'double precision[]', 'double precision[]', 'integer',
          'double precision[]'],
    'shelfops_metrics(actual, forecast, unit_cost, unit_price, holding_cost, lower, upper, season, category_cost) exists');
SELECT volatility_is('shelfops_metrics',
    ARRAY['double precision[]', 'double precision[]', 'double precision[]', 'double precision[]',
          'double precision[]', 'double precision[]', 'double precision[]', 'integer',
          'double precision[]'],
    'immutable', 'shelfops_metrics is IMMUTABLE');
SELECT is((SELECT proparallel::text FROM pg_proc WHERE proname = 'shelfops_metrics'), 's',
          'shelfops_metrics is PARALLEL SAFE');
SELECT is((SELECT pronargdefaults::int FROM pg_proc WHERE proname = 'shelfops_metrics'), 7,
          'shelfops_metrics: every argument after forecast has a default');

-- Each aggregate: exists, parallel safe, combine function set.
SELECT is_aggregate(a.name, a.args, a.name || ' is an aggregate')
FROM (VALUES ('shelfops_mae', ARRAY['double precision', 'double precision']),
             ('shelfops_wape', ARRAY['double precision', 'double precision']),
             ('shelfops_mape_nonzero', ARRAY['double precision', 'double precision']),
             ('shelfops_bias_pct', ARRAY['double precision', 'double precision']),
             ('shelfops_stockout_miss_rate', ARRAY['double precision', 'double precision']),
             ('shelfops_overstock_rate', ARRAY['double precision', 'double precision']),
             ('shelfops_coverage', ARRAY['double precision', 'double precision', 'double precision']))
     AS a(name, args)
ORDER BY a.name;

SELECT is(p.proparallel::text, 's', p.proname || ' is PARALLEL SAFE')
FROM pg_proc p JOIN pg_aggregate ag ON ag.aggfnoid = p.oid
WHERE p.proname LIKE 'shelfops\_%'
ORDER BY p.proname;

SELECT isnt(ag.aggcombinefn::text, '-', p.proname || ' has a combine function')
FROM pg_proc p JOIN pg_aggregate ag ON ag.aggfnoid = p.oid
WHERE p.proname LIKE 'shelfops\_%'
ORDER BY p.proname;

-- 4 + 7 * 3 = 25 so far; one more: no support function blocks parallelism.
SELECT is_empty($$
    SELECT f.proname FROM pg_aggregate ag JOIN pg_proc p ON p.oid = ag.aggfnoid
    JOIN pg_proc f ON f.oid IN (ag.aggtransfn, ag.aggfinalfn, ag.aggcombinefn)
    WHERE p.proname LIKE 'shelfops\_%' AND (f.proparallel <> 's' OR f.provolatile <> 'i')$$,
    'every transition, final and combine function is IMMUTABLE PARALLEL SAFE');

SELECT * FROM finish();
ROLLBACK;
