-- Promotion gates (src/gates.c, docs/gates.md): the reference's 15 gates (section 5.2)
-- as a pure function of two metric documents and a policy.  No reads, no writes, so it
-- is IMMUTABLE and stays executable by everyone (90_security.sql revokes only VOLATILE
-- functions).  shelfops_promote calls the same code through src/include/gates.h.

CREATE FUNCTION shelfops_evaluate_gates(
    candidate jsonb,
    champion  jsonb,
    policy    jsonb DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'shelfops_evaluate_gates'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION shelfops_evaluate_gates(jsonb, jsonb, jsonb)
    IS 'Reference promotion gates (15) on candidate vs champion metrics; policy keys = gate_policy threshold columns (NULL = reference defaults)';
