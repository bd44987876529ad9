-- The pairs an incremental linkage run looks at again
-- (ptl_internal.link_window_delta, in C; docs/linkage.md, "Incremental
-- runs").  The rule: a block a changed record is in, now or before the
-- run, is windowed twice, as a full run windows it (each record with the
-- next block_window in name order, ptl_internal.link_window_sql; a block
-- over max_block_size has no window): with its records now and with its
-- records before.  A pair is looked at again when it is in a window now and
-- one of its records changed (new, changed or deleted), or when it is in
-- exactly one of a block's two windows (it entered or left it).  Each such
-- pair carries the rules whose touched blocks hold it in a window now, the
-- rules of the untouched blocks it shares (the caller reads their windows),
-- and its comparison as the records are now.  Property: on generated
-- records with few names and dates (large blocks, ties, missing values),
-- with records deleted, added and changed, for several windows and block
-- limits, the C function equals the same rule written in SQL; and it gives
-- the same rows whether it is given every record or, as the run gives it,
-- only the records of the touched blocks.  The run reads those records by
-- ptl_internal.link_block_members_sql: every record of the blocks asked
-- for, each once, whichever rules they are of.
BEGIN;
SELECT plan(18);

-- Records before the run, from small pools (large blocks, repeated names).
SELECT setseed(0.61);
CREATE TEMP TABLE gen AS
SELECT i::bigint AS patient_id,
       ROW(CASE WHEN random() < 0.7 THEN lpad((i % 97)::text, 10, '4') END,
           (ARRAY['JOHN', 'JON', 'MARY', 'ANN', 'ANNE', NULL, 'PETER', 'SMITH', 'ÉMILE', 'ZOË'])[1 + floor(random() * 10)::int],
           (ARRAY['SMITH', 'SMYTH', 'JONES', 'BROWN', 'JOHN', NULL, 'ØSTER'])[1 + floor(random() * 7)::int],
           CASE WHEN random() < 0.9 THEN DATE '1950-01-01' + floor(random() * 40)::int * 100 END,
           (ARRAY['1', '2', NULL])[1 + floor(random() * 3)::int],
           (ARRAY['AB12CD', 'AB12CE', 'ZZ99ZZ', NULL])[1 + floor(random() * 4)::int],
           NULL, (ARRAY['LEEDS', 'YORK', NULL])[1 + floor(random() * 3)::int], NULL, NULL)::ptl.link_fields AS f,
       -- what happens to the record in the run: kept, deleted, changed or (over 700) new
       CASE WHEN i > 700 THEN 'new' WHEN i % 23 = 0 THEN 'deleted' WHEN i % 17 = 0 THEN 'changed' ELSE 'kept' END AS fate
FROM generate_series(1, 740) AS i;
-- A changed record as it is now: another given name or date of birth.
CREATE TEMP TABLE rec_before AS SELECT patient_id, f, fate FROM gen WHERE fate <> 'new';
CREATE TEMP TABLE rec_now AS
SELECT patient_id, fate,
       CASE WHEN fate = 'changed' THEN
           ROW((f).nhs_number,
               CASE WHEN patient_id % 2 = 0 THEN (ARRAY['JOHN', 'MARY', 'ANN'])[1 + (patient_id % 3)::int] ELSE (f).given_name END,
               (f).family_name,
               CASE WHEN patient_id % 2 = 1 THEN (f).date_of_birth + 100 ELSE (f).date_of_birth END,
               (f).sex, (f).postcode, (f).address, (f).town, (f).telephone, (f).email)::ptl.link_fields
       ELSE f END AS f
FROM gen WHERE fate <> 'deleted';
ALTER TABLE rec_before ADD COLUMN keys bigint[];
ALTER TABLE rec_now ADD COLUMN keys bigint[], ADD COLUMN nhs_valid text;
UPDATE rec_now SET nhs_valid = CASE WHEN patient_id % 3 = 0 THEN (f).nhs_number END;
DO $$ BEGIN
    EXECUTE format('UPDATE rec_before r SET keys = k.keys FROM (SELECT patient_id, %s AS keys FROM rec_before CROSS JOIN LATERAL (SELECT (rec_before.f).*) x) k
                    WHERE k.patient_id = r.patient_id', ptl_internal.link_keys_sql());
    EXECUTE format('UPDATE rec_now r SET keys = k.keys FROM (SELECT patient_id, %s AS keys FROM rec_now CROSS JOIN LATERAL (SELECT (rec_now.f).*) x) k
                    WHERE k.patient_id = r.patient_id', ptl_internal.link_keys_sql());
END $$;

-- Each record once per side: 1 as it is now (new or changed), 2 as it was
-- (deleted or changed), 3 unchanged.
CREATE TEMP VIEW sided AS
SELECT patient_id, keys, f, nhs_valid, CASE WHEN fate = 'kept' THEN 3 ELSE 1 END AS side FROM rec_now
UNION ALL
SELECT patient_id, keys, f, NULL, 2 FROM rec_before WHERE fate <> 'kept';
-- The touched blocks: those a new, changed or deleted record is in, now or before.
CREATE TEMP VIEW touched AS
SELECT DISTINCT x.n::int AS rule_no, x.k
FROM sided s CROSS JOIN LATERAL unnest(s.keys) WITH ORDINALITY AS x (k, n)
WHERE s.side <> 3 AND x.k IS NOT NULL;

-- The C function, given every record, or only those of the touched blocks (as the run gives them).
CREATE FUNCTION pg_temp.c_rows(block_window int, max_block_size int, only_touched boolean)
RETURNS TABLE (a bigint, b bigint, rules int, other_rules int, gamma bigint, same_nhs boolean,
               given_a text, family_a text, given_b text, rule_no int, keyed_records bigint, skipped_blocks bigint)
LANGUAGE sql AS $$
    SELECT * FROM ptl_internal.link_window_delta(
        'SELECT patient_id, keys, f, nhs_valid, side FROM pg_temp.sided s '
        || CASE WHEN only_touched THEN
               'WHERE EXISTS (SELECT 1 FROM pg_temp.touched t, pg_temp.rec_now r
                              WHERE r.patient_id = s.patient_id AND r.keys[t.rule_no] = t.k) OR s.side = 2 '
           ELSE '' END
        || 'ORDER BY md5(patient_id::text || side)',
        block_window, max_block_size) $$;

-- The reference: the rule in SQL, each rule's windows read as the full run reads them.
CREATE FUNCTION pg_temp.sql_rows(block_window int, max_block_size int)
RETURNS TABLE (a bigint, b bigint, rules int, other_rules int, gamma bigint, same_nhs boolean,
               given_a text, family_a text, given_b text, rule_no int, keyed_records bigint, skipped_blocks bigint)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    CREATE TEMP TABLE ref_window (rule_no int, k bigint, now boolean, a bigint, b bigint) ON COMMIT DROP;
    FOR r IN SELECT x.rule_no, t.tab, t.now FROM ptl.link_blocking_rule x,
                    (VALUES ('rec_now', true), ('rec_before', false)) t (tab, now) LOOP
        EXECUTE format('INSERT INTO ref_window
                        SELECT %1$s, s.k, %4$L::boolean, least(s.patient_id, x), greatest(s.patient_id, x)
                        FROM (SELECT patient_id, keys[%1$s] AS k, count(*) OVER (PARTITION BY keys[%1$s]) AS size,
                                     array_agg(patient_id) OVER (PARTITION BY keys[%1$s] %2$s) AS next
                              FROM pg_temp.%5$I WHERE keys[%1$s] IS NOT NULL) s
                        CROSS JOIN LATERAL unnest(s.next) AS x
                        WHERE s.size <= %3$s',
                       r.rule_no, ptl_internal.link_window_sql(block_window), max_block_size, r.now, r.tab);
    END LOOP;
    RETURN QUERY
    WITH changed AS (SELECT patient_id FROM gen WHERE fate <> 'kept'),
    win AS (SELECT w.rule_no, w.k, w.a, w.b, bool_or(w.now) AS now, bool_or(NOT w.now) AS before,
                   EXISTS (SELECT 1 FROM pg_temp.touched t WHERE (t.rule_no, t.k) = (w.rule_no, w.k)) AS touched
            FROM ref_window w GROUP BY w.rule_no, w.k, w.a, w.b),
    again AS (SELECT w.a, w.b, coalesce(bit_or(1 << (w.rule_no - 1)) FILTER (WHERE w.now AND w.touched), 0) AS rules
              FROM win w GROUP BY w.a, w.b
              HAVING bool_or(w.now AND (w.a IN (SELECT patient_id FROM changed) OR w.b IN (SELECT patient_id FROM changed)))
                  OR bool_or(w.now <> w.before))
    SELECT g.a, g.b, g.rules,
           coalesce((SELECT bit_or(1 << (x.n::int - 1))
                     FROM unnest(ra.keys, rb.keys) WITH ORDINALITY AS x (ka, kb, n)
                     WHERE x.ka = x.kb
                       AND NOT EXISTS (SELECT 1 FROM pg_temp.touched t WHERE (t.rule_no, t.k) = (x.n::int, x.ka))), 0),
           CASE WHEN ra.patient_id IS NOT NULL THEN ptl.link_compare(ra.f, rb.f) END, CASE WHEN ra.patient_id IS NOT NULL AND rb.patient_id IS NOT NULL
                                              THEN coalesce(ra.nhs_valid = rb.nhs_valid, false) END,
           (ra.f).given_name, (ra.f).family_name, (rb.f).given_name, NULL::int, NULL::bigint, NULL::bigint
    FROM again g
    LEFT JOIN pg_temp.rec_now ra ON ra.patient_id = g.a AND EXISTS (SELECT 1 FROM pg_temp.rec_now rb WHERE rb.patient_id = g.b)
    LEFT JOIN pg_temp.rec_now rb ON rb.patient_id = g.b AND ra.patient_id IS NOT NULL
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, n.rule_no,
           (SELECT count(*) FROM pg_temp.rec_now s WHERE s.fate <> 'kept' AND s.keys[n.rule_no] IS NOT NULL),
           (SELECT count(*) FROM pg_temp.touched t
            WHERE t.rule_no = n.rule_no
              AND (SELECT count(*) FROM pg_temp.rec_now s WHERE s.keys[t.rule_no] = t.k) > max_block_size)
    FROM ptl.link_blocking_rule n;
    DROP TABLE ref_window;
END $$;

-- Rows of one side not on the other (both ways).
CREATE FUNCTION pg_temp.differences(block_window int, max_block_size int, only_touched boolean) RETURNS bigint
LANGUAGE sql AS $$
    WITH c AS (SELECT c.* FROM pg_temp.c_rows(block_window, max_block_size, only_touched) c
               WHERE c.a IS NOT NULL OR c.rule_no IN (SELECT rule_no FROM ptl.link_blocking_rule)),
         s AS (SELECT * FROM pg_temp.sql_rows(block_window, max_block_size))
    SELECT count(*) FROM ((SELECT * FROM c EXCEPT ALL SELECT * FROM s)
                          UNION ALL (SELECT * FROM s EXCEPT ALL SELECT * FROM c)) d $$;

-- The world has what the property needs.
SELECT cmp_ok((SELECT count(*) FROM pg_temp.c_rows(3, 1000, true) WHERE a IS NOT NULL AND rules = 0 AND other_rules = 0),
              '>', 10::bigint, 'some pairs left every window (deleted records, and neighbours moved apart)');
SELECT cmp_ok((SELECT count(*) FROM pg_temp.c_rows(3, 1000, true) c
               WHERE c.a IN (SELECT patient_id FROM gen WHERE fate = 'kept')
                 AND c.b IN (SELECT patient_id FROM gen WHERE fate = 'kept')), '>', 10::bigint,
              'some pairs of two unchanged records entered or left a window (a neighbour came or went)');
SELECT cmp_ok((SELECT count(*) FROM pg_temp.c_rows(3, 1000, true) WHERE other_rules <> 0), '>', 5::bigint,
              'some of them share a block no changed record is in');

SELECT is(pg_temp.differences(1, 1000, false), 0::bigint, 'block_window 1: the C function equals the rule in SQL');
SELECT is(pg_temp.differences(3, 1000, false), 0::bigint, 'block_window 3 (the default): equal');
SELECT is(pg_temp.differences(1000, 1000, false), 0::bigint, 'a window wider than every block: equal');
SELECT is(pg_temp.differences(3, 12, false), 0::bigint, 'max_block_size 12 (blocks crossing it): equal');
SELECT cmp_ok((SELECT sum(skipped_blocks) FROM pg_temp.c_rows(3, 12, true)), '>', 0::numeric,
              'max_block_size 12 skips touched blocks in this world');
SELECT is(pg_temp.differences(3, 1000, true), 0::bigint,
          'given only the records of the touched blocks (as the run gives them): the same rows');
SELECT is(pg_temp.differences(2, 12, true), 0::bigint,
          'only the touched blocks, block_window 2 and max_block_size 12: the same rows');
SELECT is((SELECT count(*) FROM pg_temp.c_rows(3, 1000, true) WHERE a >= b), 0::bigint, 'each pair has a < b');

-- The records of some blocks as the run reads them from ptl.link_record
-- (ptl_internal.link_block_members_sql): every record holding one of the
-- keys asked for, each once; asked for one rule's blocks at a time, that
-- rule's members and no others.
INSERT INTO ptl.link_record (patient_id, fields, nhs_valid, keys) SELECT patient_id, f, nhs_valid, keys FROM rec_now;
-- (the blocks asked for: each rule's keys as an array, repeats allowed)
CREATE TEMP TABLE block_keys AS
SELECT rule_no, array_agg(k) || array_agg(k) AS keys FROM touched GROUP BY rule_no;
CREATE FUNCTION pg_temp.members_read() RETURNS TABLE (patient_id bigint, keys bigint[], f ptl.link_fields, nhs_valid text)
LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY EXECUTE ptl_internal.link_block_members_sql('pg_temp.block_keys'); END $$;
CREATE FUNCTION pg_temp.members_rule() RETURNS TABLE (patient_id bigint, keys bigint[], f ptl.link_fields, nhs_valid text)
LANGUAGE sql AS $$ SELECT r.patient_id, r.keys, r.f, r.nhs_valid FROM pg_temp.rec_now r
                   WHERE EXISTS (SELECT 1 FROM pg_temp.block_keys t WHERE r.keys[t.rule_no] = ANY (t.keys)) $$;
SELECT bag_eq('SELECT * FROM pg_temp.members_read()', 'SELECT * FROM pg_temp.members_rule()',
              'link_block_members_sql: the records of the touched blocks, each once, with their keys and fields');
CREATE TEMP TABLE per_rule (rule_no int, members bigint, differences bigint);
DO $$ DECLARE n int; BEGIN
    FOR n IN SELECT rule_no FROM ptl.link_blocking_rule LOOP
        TRUNCATE block_keys;
        INSERT INTO block_keys SELECT t.rule_no, array_agg(t.k) FROM touched t WHERE t.rule_no = n GROUP BY t.rule_no;
        INSERT INTO per_rule
        SELECT n, (SELECT count(*) FROM pg_temp.members_rule()),
               (SELECT count(*) FROM ((SELECT * FROM pg_temp.members_read() EXCEPT ALL SELECT * FROM pg_temp.members_rule())
                                      UNION ALL (SELECT * FROM pg_temp.members_rule() EXCEPT ALL SELECT * FROM pg_temp.members_read())) d);
    END LOOP;
END $$;
SELECT is((SELECT sum(differences) FROM per_rule), 0::numeric,
          'link_block_members_sql asked for one rule''s blocks: exactly their records, for every rule');
SELECT cmp_ok((SELECT count(*) FROM per_rule WHERE members > 0), '>=', 10::bigint,
              'ten rules or more have touched blocks in this world');
DELETE FROM ptl.link_record;

-- Faults are named.
SELECT throws_ok($$SELECT * FROM ptl_internal.link_window_delta('SELECT patient_id, keys, f, nhs_valid FROM pg_temp.rec_now', 3, 100)$$,
                 '42804', 'records_sql must return (patient_id bigint, keys bigint[], f ptl.link_fields, nhs_valid text, side int)',
                 'records_sql without a side is refused, naming the shape');
SELECT throws_ok($$SELECT * FROM ptl_internal.link_window_delta('SELECT patient_id, keys, f, nhs_valid, 4 FROM pg_temp.rec_now', 3, 100)$$,
                 '22023', 'records_sql returned side 4 for record 1, not 1 (now), 2 (before) or 3 (both)',
                 'a side that is not 1, 2 or 3 is refused, naming the record');
SELECT throws_ok($$SELECT * FROM ptl_internal.link_window_delta(
                     'SELECT patient_id, keys, f, nhs_valid, side FROM pg_temp.sided UNION ALL
                      SELECT patient_id, keys, f, nhs_valid, 3 FROM pg_temp.rec_now WHERE patient_id = 5', 3, 100)$$,
                 '22023', 'records_sql gave record 5 twice as it is now',
                 'a record given twice as it is now is refused');
SELECT throws_ok($$SELECT * FROM ptl_internal.link_window_delta('SELECT patient_id, keys, f, nhs_valid, side FROM pg_temp.sided', 3, 1)$$,
                 '22023', 'max_block_size 1 must be at least 2', 'a block limit under 2 is refused');

SELECT * FROM finish();
ROLLBACK;
