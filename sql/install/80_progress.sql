-- Training progress (docs/progress.md): what each running shelfops_train or shelfops_tune is doing,
-- read from shared memory.  Empty unless shelfops is in shared_preload_libraries.

CREATE FUNCTION shelfops_progress()
RETURNS TABLE(pid integer, tenant_id text, model_name text, dataset_id text, algorithm text,
              phase text, rounds_done integer, rounds_total integer,
              rows_train bigint, rows_holdout bigint,
              started_at timestamptz, phase_started_at timestamptz, elapsed interval,
              trials_done integer, trials_total integer)
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'shelfops_progress';
COMMENT ON FUNCTION shelfops_progress() IS
  'Trainings and tunings running in this database: phase, boosting rounds, rows, tuning trials; superusers see every tenant, others their own';

-- The session's tenant only (what a CLI polls from a second connection).
CREATE VIEW shelfops.training_progress AS
SELECT p.*
  FROM shelfops_progress() p
 WHERE p.tenant_id = shelfops.current_tenant();
COMMENT ON VIEW shelfops.training_progress IS
  'Running trainings of the session''s tenant (shelfops_progress filtered by shelfops.current_tenant())';
