-- The arena: promotion on evidence, and rollback.

CREATE FUNCTION shelfops_promote(model_name text,
                                 version integer DEFAULT NULL,
                                 tenant_id text DEFAULT NULL,
                                 force boolean DEFAULT false,
                                 reason text DEFAULT NULL,
                                 evidence text DEFAULT 'holdout')
RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_promote';
COMMENT ON FUNCTION shelfops_promote(text, integer, text, boolean, text, text) IS
  'Score the candidate (newest by default) and the champion on the same rows (evidence holdout: the candidate''s holdout window; shadow: their scored shadow rows), apply the gates, record the decision and switch the champion (admins)';

CREATE FUNCTION shelfops_rollback(model_name text, version integer, reason text, tenant_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_rollback';
COMMENT ON FUNCTION shelfops_rollback(text, integer, text, text) IS
  'Re-promote an archived version as champion, recorded as a rollback in model_experiments (admins)';
