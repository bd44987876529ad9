-- A load plans on statistics that know the rows it wrote.
--
-- After a load is rolled back (or its rows deleted) and the table vacuumed
-- or analysed, its statistics say "no rows" for pages that are still
-- there, and the planner takes every row written since for none.  Each
-- loader counts the records it matched by joining the rows it has just
-- written; planned on such statistics, that count once ran a nested loop
-- over every pathway of the provider for each row read, and a load of
-- 100,000 referrals stalled for more than ten minutes where it takes one.
-- Rule: every loader analyses its table (ptl.analyze_if_grown) between its
-- upsert and its count whenever the statistics say empty for a table with
-- pages, or know fewer than half of its rows.
BEGIN;
SELECT plan(6);

INSERT INTO ptl.organisation (org_code, name) VALUES ('RZZ', 'Test Hospitals NHS Trust');

-- The state a rolled-back load leaves: pages, and statistics saying empty.
-- (Rows deleted in this transaction are dead to ANALYZE, as rows rolled
-- back are to VACUUM.)
SELECT ptl.open_batch('RZZ', 'PAS') AS b1 \gset
INSERT INTO ptl_stage.patient (local_patient_id, date_of_birth)
SELECT 'OLD' || i, '1960-01-01' FROM generate_series(1, 3000) i;
SELECT count(*) FROM ptl.load(:b1);
DELETE FROM ptl.patient;
ANALYZE ptl.patient;
SELECT ok((SELECT c.reltuples = 0 AND pg_relation_size(c.oid) > 8 * current_setting('block_size')::int
           FROM pg_class c WHERE c.oid = 'ptl.patient'::regclass),
    'precondition: ptl.patient has pages and statistics that say it is empty');
SELECT is(ptl.analyze_if_grown('ptl.patient', 0), false,
    'nothing written since: no ANALYZE (the statistics are right)');

-- A small delivery, well under the 1,000 rows that make a grown table
-- worth analysing by count alone.
SELECT ptl.open_batch('RZZ', 'PAS') AS b2 \gset
INSERT INTO ptl_stage.patient (local_patient_id, date_of_birth)
SELECT 'NEW' || i, '1970-01-01' FROM generate_series(1, 200) i;
SELECT is((SELECT rows_loaded FROM ptl.load(:b2) WHERE extract = 'patient'), 200::bigint,
    'the delivery loads');
SELECT cmp_ok((SELECT c.reltuples FROM pg_class c WHERE c.oid = 'ptl.patient'::regclass), '>', 0::real,
    'the loader analysed its table: statistics that said empty for a table with pages now know its rows');
SELECT is(ptl.analyze_if_grown('ptl.patient', 200), false,
    'statistics that know the rows are left alone');

-- Every loader of every feed does it, before the count that joins the
-- rows it wrote (ptl.feed names each loader and its table).
SELECT is(ARRAY(SELECT f.loader::text FROM ptl.feed f
                JOIN pg_proc p ON p.oid = f.loader::regproc
                WHERE position(format('analyze_if_grown(%L, loaded)', f.target::text) IN p.prosrc) = 0
                   OR position(format('analyze_if_grown(%L, loaded)', f.target::text) IN p.prosrc)
                      > position('INTO matched' IN p.prosrc)
                ORDER BY f.load_order),
    '{}'::text[],
    'every feed''s loader analyses its table between its upsert and its count of matched records');

SELECT * FROM finish();
ROLLBACK;
