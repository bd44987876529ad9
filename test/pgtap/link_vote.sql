-- Stable person numbers (ptl_internal.link_vote, in C; docs/linkage.md,
-- "Stable numbers").  The rule: a cluster of this run keeps the
-- person number most of its records had in the last run (a tie: the
-- smaller number); when several clusters would keep one number (a person
-- split), the cluster with more records voting for it keeps it (a tie: the
-- smaller cluster); the others, and clusters of records new to linkage, get
-- new numbers.  Property: on generated clusters (splits, merges, ties, new
-- records, clusters of one), read in a scrambled order, the C vote equals
-- the rule written in SQL.
BEGIN;
SELECT plan(8);

SELECT setseed(0.42);
-- Records: a cluster from a small range (large clusters), a last person from
-- a small range (persons split across clusters), a fifth new (no person).
CREATE TEMP TABLE member AS
SELECT i::bigint AS patient_id, (1 + floor(random() * 400))::bigint AS cluster,
       CASE WHEN random() < 0.8 THEN (1000 + floor(random() * 300))::bigint END AS person_id
FROM generate_series(1, 3000) AS i;
-- and many clusters of one record, each with its own person or none
INSERT INTO member
SELECT i, 10000 + i, CASE WHEN i % 3 <> 0 THEN 5000 + i END FROM generate_series(3001, 4000) AS i;

CREATE FUNCTION pg_temp.c_vote() RETURNS TABLE (cluster bigint, person_id bigint)
LANGUAGE sql AS $$
    SELECT * FROM ptl_internal.link_vote('SELECT cluster, person_id FROM pg_temp.member ORDER BY md5(patient_id::text)') $$;

-- The reference: the rule in SQL.
CREATE FUNCTION pg_temp.sql_vote() RETURNS TABLE (cluster bigint, person_id bigint)
LANGUAGE sql AS $$
    WITH votes AS (
        SELECT m.cluster, m.person_id, count(*) AS n FROM pg_temp.member m
        WHERE m.person_id IS NOT NULL GROUP BY m.cluster, m.person_id),
    best AS (
        SELECT DISTINCT ON (v.cluster) v.cluster, v.person_id, v.n
        FROM votes v ORDER BY v.cluster, v.n DESC, v.person_id),
    kept AS (
        SELECT DISTINCT ON (b.person_id) b.cluster, b.person_id
        FROM best b ORDER BY b.person_id, b.n DESC, b.cluster)
    SELECT c.cluster, k.person_id
    FROM (SELECT DISTINCT m.cluster FROM pg_temp.member m) c
    LEFT JOIN kept k USING (cluster) $$;

-- The world has what the property needs.
SELECT cmp_ok((SELECT count(*) FROM (SELECT person_id FROM member WHERE person_id IS NOT NULL
                                     GROUP BY person_id HAVING count(DISTINCT cluster) > 1) s), '>', 100::bigint,
              'many last persons are split across clusters');
SELECT cmp_ok((SELECT count(*) FROM (
                   SELECT v.cluster FROM (SELECT cluster, rank() OVER (PARTITION BY cluster ORDER BY count(*) DESC) AS r
                                          FROM member WHERE person_id IS NOT NULL GROUP BY cluster, person_id) v
                   WHERE v.r = 1 GROUP BY v.cluster HAVING count(*) > 1) t), '>', 10::bigint,
              'some clusters have a tie for the most votes');

SELECT bag_eq('SELECT * FROM pg_temp.c_vote()', 'SELECT * FROM pg_temp.sql_vote()',
              'the C vote equals the rule in SQL: each cluster''s kept number, or none');
SELECT is((SELECT count(*) FROM pg_temp.c_vote()), (SELECT count(DISTINCT cluster) FROM member),
          'one row per cluster');
SELECT is((SELECT count(*) FROM (SELECT person_id FROM pg_temp.c_vote() WHERE person_id IS NOT NULL
                                 GROUP BY person_id HAVING count(*) > 1) d), 0::bigint,
          'no number is kept by two clusters');
SELECT is((SELECT count(*) FROM pg_temp.c_vote() v
           WHERE v.person_id IS NULL AND v.cluster > 10000
             AND EXISTS (SELECT 1 FROM member m WHERE m.cluster = v.cluster AND m.person_id IS NOT NULL)), 0::bigint,
          'a cluster of one record keeps its number');

-- Faults are named.
SELECT throws_ok($$SELECT * FROM ptl_internal.link_vote('SELECT cluster FROM pg_temp.member')$$,
                 '42804', 'members_sql must return (cluster bigint, person_id bigint)',
                 'members_sql of the wrong shape is refused, naming the shape');
SELECT throws_ok($$SELECT * FROM ptl_internal.link_vote('SELECT NULL::bigint, person_id FROM pg_temp.member')$$,
                 '22004', 'members_sql returned a record with no cluster',
                 'a record with no cluster is refused');

SELECT * FROM finish();
ROLLBACK;
