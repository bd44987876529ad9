-- A full linkage run's candidate pairs (ptl_internal.link_candidates, in C)
-- are the sorted-neighbourhood pairs the incremental run reads in SQL
-- (docs/linkage.md, "Blocks that grow with the ICS"): in every block of
-- every rule, each record with the next block_window records in name order
-- (ptl_internal.link_window_sql), blocks over max_block_size skipped; each
-- pair once with the bits of every rule that paired it, its comparison
-- vector (ptl.link_compare) and NHS-number agreement; and per rule the
-- records keyed and the blocks skipped.  Property: on generated records
-- with few names and dates (large blocks, ties, missing names and dates,
-- names that are the start of others, letters outside ASCII), read in a
-- scrambled order (the pass sorts them itself), for several windows and
-- block limits, the C pass equals the SQL reference exactly.
BEGIN;
SELECT plan(16);

-- Records from small pools, so that blocks are large and names repeat.
SELECT setseed(0.26);
CREATE TEMP TABLE rec AS
SELECT i::bigint AS patient_id,
       ROW(CASE WHEN random() < 0.7 THEN lpad((i % 97)::text, 10, '4') END,
           (ARRAY['JOHN', 'JON', 'MARY', 'ANN', 'ANNE', NULL, 'PETER', 'SMITH', 'ÉMILE', 'ZOË'])[1 + floor(random() * 10)::int],
           (ARRAY['SMITH', 'SMYTH', 'JONES', 'BROWN', 'JOHN', NULL, 'ØSTER'])[1 + floor(random() * 7)::int],
           CASE WHEN random() < 0.9 THEN DATE '1950-01-01' + floor(random() * 40)::int * 100 END,
           (ARRAY['1', '2', NULL])[1 + floor(random() * 3)::int],
           (ARRAY['AB12CD', 'AB12CE', 'ZZ99ZZ', NULL])[1 + floor(random() * 4)::int],
           NULL, (ARRAY['LEEDS', 'YORK', NULL])[1 + floor(random() * 3)::int], NULL, NULL)::ptl.link_fields AS f
FROM generate_series(1, 700) AS i;
ALTER TABLE rec ADD COLUMN nhs_valid text, ADD COLUMN keys bigint[];
UPDATE rec SET nhs_valid = CASE WHEN patient_id % 3 = 0 THEN (f).nhs_number END;
DO $$ BEGIN
    EXECUTE format('UPDATE rec r SET keys = k.keys FROM (SELECT patient_id, %s AS keys FROM rec CROSS JOIN LATERAL (SELECT (rec.f).*) x) k
                    WHERE k.patient_id = r.patient_id', ptl_internal.link_keys_sql());
END $$;

-- The C pass, as a full run calls it.
CREATE FUNCTION pg_temp.c_pairs(block_window int, max_block_size int)
RETURNS TABLE (a bigint, b bigint, rules int, gamma bigint, same_nhs boolean, given_a text, family_a text, given_b text,
               rule_no int, keyed_records bigint, skipped_blocks bigint)
LANGUAGE sql AS $$
    SELECT * FROM ptl_internal.link_candidates(
        'SELECT patient_id, keys, f, nhs_valid FROM pg_temp.rec ORDER BY md5(patient_id::text)',
        block_window, max_block_size) $$;

-- The reference: each rule's windows in SQL, as the incremental run reads them.
CREATE FUNCTION pg_temp.sql_pairs(block_window int, max_block_size int)
RETURNS TABLE (a bigint, b bigint, rules int, gamma bigint, same_nhs boolean, given_a text, family_a text, given_b text,
               rule_no int, keyed_records bigint, skipped_blocks bigint)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    CREATE TEMP TABLE ref_pair (a bigint, b bigint, bit int) ON COMMIT DROP;
    CREATE TEMP TABLE ref_count (rule_no int, keyed bigint, skipped bigint) ON COMMIT DROP;
    FOR r IN SELECT x.rule_no FROM ptl.link_blocking_rule x ORDER BY x.rule_no LOOP
        EXECUTE format('INSERT INTO ref_pair
                        SELECT least(s.patient_id, x), greatest(s.patient_id, x), 1 << (%1$s - 1)
                        FROM (SELECT patient_id, count(*) OVER (PARTITION BY keys[%1$s]) AS size,
                                     array_agg(patient_id) OVER (PARTITION BY keys[%1$s] %2$s) AS next
                              FROM pg_temp.rec WHERE keys[%1$s] IS NOT NULL) s
                        CROSS JOIN LATERAL unnest(s.next) AS x
                        WHERE s.size <= %3$s', r.rule_no, ptl_internal.link_window_sql(block_window), max_block_size);
        EXECUTE format('INSERT INTO ref_count
                        SELECT %1$s, coalesce(sum(n), 0), count(*) FILTER (WHERE n > %2$s)
                        FROM (SELECT count(*) AS n FROM pg_temp.rec WHERE keys[%1$s] IS NOT NULL GROUP BY keys[%1$s]) b',
                       r.rule_no, max_block_size);
    END LOOP;
    RETURN QUERY
    SELECT p.a, p.b, p.rules, ptl.link_compare(ra.f, rb.f),
           coalesce(ra.nhs_valid = rb.nhs_valid, false), (ra.f).given_name, (ra.f).family_name, (rb.f).given_name,
           NULL::int, NULL::bigint, NULL::bigint
    FROM (SELECT x.a, x.b, bit_or(x.bit) AS rules FROM ref_pair x GROUP BY x.a, x.b) p
    JOIN pg_temp.rec ra ON ra.patient_id = p.a
    JOIN pg_temp.rec rb ON rb.patient_id = p.b
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, c.rule_no, c.keyed, c.skipped::bigint FROM ref_count c;
    DROP TABLE ref_pair, ref_count;
END $$;

-- Rows of one side not on the other (both ways), for a window and a limit.
CREATE FUNCTION pg_temp.differences(block_window int, max_block_size int) RETURNS bigint
LANGUAGE sql AS $$
    SELECT count(*) FROM (
        (SELECT * FROM pg_temp.c_pairs(block_window, max_block_size) c
         WHERE c.a IS NOT NULL OR c.rule_no IN (SELECT rule_no FROM ptl.link_blocking_rule)
         EXCEPT ALL SELECT * FROM pg_temp.sql_pairs(block_window, max_block_size))
        UNION ALL
        (SELECT * FROM pg_temp.sql_pairs(block_window, max_block_size)
         EXCEPT ALL SELECT * FROM pg_temp.c_pairs(block_window, max_block_size))) d $$;

-- The world has what the property needs: blocks past the limits tried, pairs by several rules.
SELECT cmp_ok((SELECT max(n) FROM (SELECT count(*) AS n FROM rec GROUP BY keys[2]) b), '>', 20::bigint,
              'the generated records have blocks of more than 20 records');
SELECT cmp_ok((SELECT count(*) FROM pg_temp.c_pairs(2, 1000) WHERE bit_count(rules::bit(32)) > 1), '>', 100::bigint,
              'many pairs are found by more than one rule');
SELECT cmp_ok((SELECT count(*) FROM rec WHERE (f).given_name IS NULL), '>', 50::bigint,
              'some records have no given name (they sort last)');
SELECT cmp_ok((SELECT count(*) FROM rec WHERE (f).date_of_birth IS NULL), '>', 30::bigint,
              'some have no date of birth (last among their names)');

SELECT is(pg_temp.differences(1, 1000), 0::bigint, 'block_window 1: the C pass equals each rule''s window in SQL');
SELECT is(pg_temp.differences(3, 1000), 0::bigint, 'block_window 3 (the default): the C pass equals the SQL windows');
SELECT is(pg_temp.differences(7, 1000), 0::bigint, 'block_window 7: the C pass equals the SQL windows');
SELECT is(pg_temp.differences(1000, 1000), 0::bigint, 'a window wider than every block: every pair of each block');
SELECT is(pg_temp.differences(3, 12), 0::bigint, 'max_block_size 12: the same blocks skipped, the same counts');
SELECT cmp_ok((SELECT sum(skipped_blocks) FROM pg_temp.c_pairs(3, 12)), '>', 0::numeric,
              'max_block_size 12 skips blocks in this world');

SELECT is((SELECT count(*) FROM pg_temp.c_pairs(3, 1000) WHERE a >= b), 0::bigint, 'each pair has a < b');
SELECT is((SELECT count(*) FROM (SELECT a, b FROM pg_temp.c_pairs(3, 1000) WHERE a IS NOT NULL GROUP BY a, b HAVING count(*) > 1) d),
          0::bigint, 'each pair appears once');
SELECT is((SELECT array_agg(rule_no ORDER BY rule_no) FROM pg_temp.c_pairs(3, 1000) WHERE a IS NULL),
          (SELECT array_agg(n) FROM generate_series(1, (SELECT max(rule_no) FROM ptl.link_blocking_rule)) n),
          'one row of counts per rule number');

-- Faults are named.
SELECT throws_ok($$SELECT * FROM ptl_internal.link_candidates('SELECT patient_id, keys FROM pg_temp.rec', 3, 100)$$,
                 '42804', 'records_sql must return (patient_id bigint, keys bigint[], f ptl.link_fields, nhs_valid text)',
                 'records_sql of the wrong shape is refused, naming the shape');
SELECT throws_ok($$SELECT * FROM ptl_internal.link_candidates('SELECT patient_id, keys, f, nhs_valid FROM pg_temp.rec', 0, 100)$$,
                 '22023', 'block_window 0 must be at least 1', 'a window of 0 is refused');
SELECT throws_ok($$SELECT * FROM ptl_internal.link_candidates('SELECT patient_id, keys, f, nhs_valid FROM pg_temp.rec', 3, 1)$$,
                 '22023', 'max_block_size 1 must be at least 2', 'a block limit under 2 is refused');

SELECT * FROM finish();
ROLLBACK;
