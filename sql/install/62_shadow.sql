-- Shadow scoring (src/shadow.c, docs/shadow.md): challengers forecast beside the
-- champion (shelfops_forecast(..., shadow => true)), actuals filled as they arrive,
-- metrics per version on the rows both members of a pair forecast.

CREATE FUNCTION shelfops_score_shadow(model_name text, tenant_id text DEFAULT NULL)
RETURNS TABLE(version integer, role text, paired_with integer, rows bigint, days integer,
              mae float8, wape float8, bias_pct float8, stockout_miss_rate float8,
              overstock_rate float8)
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_score_shadow';
COMMENT ON FUNCTION shelfops_score_shadow(text, text) IS
  'Fill shadow rows'' actuals from sales, then metrics of the champion and each challenger on each pair''s scored rows';

CREATE FUNCTION shelfops._shadow_evidence(model_name text, champion_version integer,
                                          challenger_version integer, tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_shadow_evidence';
COMMENT ON FUNCTION shelfops._shadow_evidence(text, integer, integer, text) IS
  'Internal: the shadow evidence of a (champion, challenger) pair on its scored rows, as the arena reads it';
