-- The sales writer checks the extension's own CHECK constraints in C (sales_writer.c,
-- plan_checks); a constraint it does not know makes it evaluate every one per row,
-- so a violation is still PostgreSQL's own error and nothing is written.
\set VERBOSITY terse
SELECT shelfops_generate_synthetic('chk', 1, 2, 30, 3)->>'rows' AS rows;
ALTER TABLE shelfops.sales ADD CONSTRAINT test_small_quantity CHECK (quantity < 0.5) NOT VALID;
DO $$
BEGIN
    PERFORM shelfops_generate_synthetic('chk2', 1, 2, 30, 3);
EXCEPTION WHEN check_violation THEN
    RAISE NOTICE 'check violation of constraint %', (regexp_match(SQLERRM, 'constraint "([^"]+)"'))[1];
END $$;
SELECT count(*) AS chk2_rows FROM shelfops.sales WHERE dataset_id = 'chk2';
SELECT count(*) AS chk2_datasets FROM shelfops.datasets WHERE dataset_id = 'chk2';
ALTER TABLE shelfops.sales DROP CONSTRAINT test_small_quantity;
SELECT shelfops_generate_synthetic('chk2', 1, 2, 30, 3)->>'rows' AS rows;
-- leave nothing behind for the tests after this one
DELETE FROM shelfops.datasets WHERE dataset_id IN ('chk', 'chk2');
