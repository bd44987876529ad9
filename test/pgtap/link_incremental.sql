-- Incremental person linkage equals a frozen full relink (the rule:
-- docs/linkage.md, "Incremental runs"): after a day's planted changes (new
-- records of existing persons, a changed surname, a corrected date of birth,
-- a changed NHS number, a deleted record that bridged two persons, a new
-- record a reviewer joins to another person, a reviewer's non_match),
-- ptl.link_persons_incremental() compares only the pairs touching the
-- records changed, and stores the same persons (as a partition of the
-- records, and the same numbers where a person kept its number) and the same
-- ptl.link_pair as ptl.link_persons(false) from the same starting point.
BEGIN;
SELECT plan(40);

CREATE FUNCTION pg_temp.add_patient(like_patient bigint, changes jsonb) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO ptl.patient
    SELECT (jsonb_populate_record(pa, jsonb_build_object('patient_id', nextval(pg_get_serial_sequence('ptl.patient', 'patient_id')))
                                      || changes)).*
    FROM ptl.patient pa WHERE pa.patient_id = like_patient
    RETURNING patient_id $$;

-- What linkage compares of each record: its fields, its NHS number and the
-- reviewers' decisions on its pairs (the test's own reading, not ptl.link_record).
CREATE FUNCTION pg_temp.linkage_view() RETURNS TABLE (patient_id bigint, seen text)
LANGUAGE sql AS $$
    SELECT p.patient_id,
           ptl_internal.link_fields_of(p)::text || '|' || coalesce(p.nhs_number::text, '') || '|'
           || coalesce((SELECT string_agg(d.patient_a || '-' || d.patient_b || d.decision, ',' ORDER BY d.patient_a, d.patient_b)
                        FROM ptl.link_decision d WHERE p.patient_id IN (d.patient_a, d.patient_b)), '')
    FROM ptl.patient p $$;

CREATE EXTENSION IF NOT EXISTS ptl_synth;
SELECT count(*) FROM ptl_synth.generate(3000, seed => 23) b, ptl.load(b) l;

-- Eight records that are persons of their own: a valid NHS number and every
-- field, no other record with their NHS number or date of birth.
CREATE TEMP TABLE pick AS
WITH singles AS (
    SELECT p.* FROM ptl.patient p
    WHERE p.nhs_number IS NOT NULL AND p.given_name IS NOT NULL AND p.family_name IS NOT NULL
      AND p.date_of_birth IS NOT NULL AND p.postcode IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM ptl.patient q WHERE q.patient_id <> p.patient_id
                      AND (q.nhs_number = p.nhs_number OR q.date_of_birth = p.date_of_birth)))
SELECT (array_agg(patient_id ORDER BY patient_id))[1:10] AS ids FROM singles;
SELECT ok((SELECT cardinality(ids) FROM pick) = 10, 'ten isolated records to plant changes on');
SELECT ids[1] AS x1, ids[2] AS x2, ids[3] AS x3, ids[4] AS x4, ids[5] AS x5, ids[6] AS x6, ids[7] AS x7,
       ids[8] AS x8, ids[9] AS x9, ids[10] AS x10 FROM pick \gset

-- A bridge, planted before the full run: a second record of x1 (its NHS
-- number links them) that a reviewer matched with x2 (which has no NHS
-- number, so the chaining guard lets them join).  Deleted later.
UPDATE ptl.patient SET nhs_number = NULL, nhs_number_as_recorded = NULL WHERE patient_id = :x2;
SELECT pg_temp.add_patient(:x1, jsonb_build_object('local_patient_id', 'BRIDGE1')) AS bridge \gset
INSERT INTO ptl.link_decision (patient_a, patient_b, decision, note) VALUES (:x2, :bridge, 'match', 'test');

-- A link the chaining guard refused between two unchanged records: m, a
-- copy of x9 without an NHS number, is matched by a reviewer with r, a copy
-- of x10 (which gives r its NHS number), so m's link to x9 would bring two
-- NHS numbers together.  Later r loses its NHS number: the refused link then
-- joins the persons, though neither of its records changed and no pair r is
-- in leads to x9.
SELECT pg_temp.add_patient(:x9, jsonb_build_object('local_patient_id', 'M1', 'nhs_number', NULL,
                                                   'nhs_number_as_recorded', NULL)) AS m \gset
SELECT pg_temp.add_patient(:x10, jsonb_build_object('local_patient_id', 'R1')) AS r \gset
UPDATE ptl.patient SET nhs_number = NULL, nhs_number_as_recorded = NULL WHERE patient_id = :x10;
INSERT INTO ptl.link_decision (patient_a, patient_b, decision, note) VALUES (:m, :r, 'match', 'test');

SELECT ptl.link_persons();
SELECT is((SELECT count(DISTINCT person_id) FROM ptl.person_link WHERE patient_id IN (:x1, :x2, :bridge)), 1::bigint,
          'before the day, the bridge joins two records into one person');
SELECT is((SELECT outcome FROM ptl.link_pair WHERE patient_a = :x9 AND patient_b = :m), 'refused_nhs_number',
          'before the day, the chaining guard refuses x9''s link with m (m''s person has another NHS number)');
CREATE TEMP TABLE seen_before AS SELECT * FROM pg_temp.linkage_view();

-- The day's changes.
-- new records of existing persons (copies at another organisation)
CREATE TEMP TABLE new_copy AS
SELECT pg_temp.add_patient(patient_id, jsonb_build_object('local_patient_id', 'NEW' || patient_id)) AS patient_id
FROM (SELECT patient_id FROM ptl.person_link WHERE patient_id NOT IN (SELECT unnest(ids) FROM pick)
      ORDER BY patient_id LIMIT 5) x;
-- a changed surname, a corrected date of birth, a changed NHS number (x5 takes x6's)
UPDATE ptl.patient SET family_name = family_name || 'SON' WHERE patient_id = :x3;
UPDATE ptl.patient SET date_of_birth = date_of_birth + 400 WHERE patient_id = :x4;
UPDATE ptl.patient SET nhs_number = (SELECT nhs_number FROM ptl.patient WHERE patient_id = :x6),
                       nhs_number_as_recorded = NULL
WHERE patient_id = :x5;
-- the bridge is deleted (and with it the reviewer's match on it)
DELETE FROM ptl.patient WHERE patient_id = :bridge;
-- a new record of x7 that a reviewer matches with x8 (which loses its NHS number)
UPDATE ptl.patient SET nhs_number = NULL, nhs_number_as_recorded = NULL WHERE patient_id = :x8;
SELECT pg_temp.add_patient(:x7, jsonb_build_object('local_patient_id', 'JOIN1')) AS joiner \gset
INSERT INTO ptl.link_decision (patient_a, patient_b, decision, note) VALUES (:x8, :joiner, 'match', 'test');
-- r loses its NHS number
UPDATE ptl.patient SET nhs_number = NULL, nhs_number_as_recorded = NULL WHERE patient_id = :r;
-- a reviewer's non_match on a probabilistic link, a person of two records
CREATE TEMP TABLE refused AS
SELECT lp.patient_a, lp.patient_b FROM ptl.link_pair lp
JOIN ptl.person_link pl ON pl.patient_id = lp.patient_a
WHERE lp.method = 'probabilistic' AND lp.outcome = 'linked'
  AND (SELECT count(*) FROM ptl.person_link q WHERE q.person_id = pl.person_id) = 2
ORDER BY lp.patient_a LIMIT 1;
INSERT INTO ptl.link_decision (patient_a, patient_b, decision, note)
SELECT patient_a, patient_b, 'non_match', 'test' FROM refused;

-- Every planted change is one linkage sees.
CREATE TEMP TABLE changed AS
SELECT coalesce(n.patient_id, b.patient_id) AS patient_id
FROM pg_temp.linkage_view() n FULL JOIN seen_before b USING (patient_id)
WHERE n.seen IS DISTINCT FROM b.seen;
SELECT is((SELECT array_agg(x ORDER BY x) FROM (
               SELECT patient_id FROM new_copy
               UNION SELECT unnest(ARRAY[:x2, :x3, :x4, :x5, :x8, :bridge, :joiner, :r])
               UNION SELECT patient_a FROM refused UNION SELECT patient_b FROM refused
               EXCEPT SELECT patient_id FROM changed) m (x)), NULL,
          'every planted change changes what linkage compares (fields, NHS number, reviewer decisions) or deletes the record');
SELECT ok((SELECT count(*) FROM refused) = 1 AND (SELECT count(*) FROM new_copy) = 5, 'a linked pair and five records to copy were found');

-- The starting point, kept for the frozen relink.
CREATE TEMP TABLE before_link AS SELECT * FROM ptl.person_link;

SELECT ptl.link_persons_incremental() IS NOT NULL;
CREATE TEMP TABLE inc_run AS SELECT * FROM ptl.link_run ORDER BY run_id DESC LIMIT 1;
CREATE TEMP TABLE inc_person AS SELECT * FROM ptl.person_link;
CREATE TEMP TABLE inc_pair AS SELECT * FROM ptl.link_pair;

SELECT is((SELECT kind || ' ' || compared_records FROM inc_run),
          'incremental ' || (SELECT count(*) FROM changed),
          'ptl.link_run records an incremental run and compared exactly the records new, changed or deleted');
SELECT is((SELECT count(DISTINCT person_id) FROM inc_person WHERE patient_id IN (:x7, :x8, :joiner)), 1::bigint,
          'the new record joins two persons (its NHS number and a reviewer''s match)');
SELECT isnt((SELECT person_id FROM inc_person WHERE patient_id = :x1),
            (SELECT person_id FROM inc_person WHERE patient_id = :x2),
            'the deleted bridge leaves two persons');
SELECT is((SELECT count(DISTINCT person_id) FROM inc_person WHERE patient_id IN (:x9, :m, :r, :x10)), 1::bigint,
          'a link the chaining guard refused between unchanged records joins their persons once the conflict is gone');
SELECT isnt((SELECT person_id FROM inc_person WHERE patient_id = (SELECT patient_a FROM refused)),
            (SELECT person_id FROM inc_person WHERE patient_id = (SELECT patient_b FROM refused)),
            'the reviewer''s non_match splits the pair');
SELECT is((SELECT persons FROM inc_run), (SELECT count(DISTINCT person_id) FROM inc_person),
          'the incremental run counts the persons there are');
SELECT ok((SELECT count(*) FROM inc_person i JOIN before_link b USING (patient_id)
           WHERE (i.person_id, i.linked_at) IS DISTINCT FROM (b.person_id, b.linked_at)) * 20
          < (SELECT count(*) FROM before_link),
          'the incremental run clusters again only the persons the changes touch');
-- ptl.person_link.linked_at: when a run gave the record its person, method
-- and weight; a run that clusters a record again and finds them unchanged
-- keeps the time.
SELECT cmp_ok((SELECT count(*) FROM pg_temp.link_scope s JOIN inc_person i USING (patient_id) JOIN before_link b USING (patient_id)
               WHERE (i.person_id, i.method, i.match_weight) IS NOT DISTINCT FROM (b.person_id, b.method, b.match_weight)),
              '>', 0::bigint, 'some records the incremental run clustered again keep their person, method and weight');
SELECT is((SELECT count(*) FROM inc_person i JOIN before_link b USING (patient_id)
           WHERE (i.person_id, i.method, i.match_weight) IS NOT DISTINCT FROM (b.person_id, b.method, b.match_weight)
             AND i.linked_at <> b.linked_at), 0::bigint,
          'a record whose person, method and weight the incremental run kept keeps its linked_at');

-- The frozen full relink from the same starting point.
DELETE FROM ptl.person_link;
INSERT INTO ptl.person_link SELECT * FROM before_link;
SELECT is((SELECT kind FROM ptl.link_persons(false)), 'frozen', 'ptl.link_persons(false) is a frozen relink');
SELECT ok((SELECT candidate_pairs FROM inc_run) * 10 < (SELECT candidate_pairs FROM ptl.link_run ORDER BY run_id DESC LIMIT 1),
          'the incremental run compared a small share of the pairs');

SELECT bag_eq(
    'SELECT a.patient_id AS a, b.patient_id AS b FROM inc_person a JOIN inc_person b USING (person_id) WHERE a.patient_id < b.patient_id',
    'SELECT a.patient_id AS a, b.patient_id AS b FROM ptl.person_link a JOIN ptl.person_link b USING (person_id) WHERE a.patient_id < b.patient_id',
    'incremental persons equal a frozen full relink (pairs of records in one person)');
SELECT bag_eq(
    'SELECT i.patient_id, i.person_id FROM inc_person i JOIN ptl.person_link f USING (patient_id)
     WHERE f.person_id IN (SELECT person_id FROM before_link)',
    'SELECT f.patient_id, f.person_id FROM ptl.person_link f WHERE f.person_id IN (SELECT person_id FROM before_link)',
    'person numbers a frozen relink keeps, the incremental run keeps');
SELECT bag_eq('SELECT * FROM inc_pair', 'SELECT * FROM ptl.link_pair',
              'incremental ptl.link_pair equals a frozen full relink''s');

-- A full run keeps what it saw of each record (ptl.link_record) for the
-- next day: one row per patient record, none for a deleted one.
SELECT pg_temp.add_patient(:x6, jsonb_build_object('local_patient_id', 'GONE1')) AS gone \gset
SELECT kind FROM ptl.link_persons(false);
SELECT is((SELECT count(*) FROM ptl.link_record WHERE patient_id = :gone), 1::bigint,
          'a full run records a new patient record in ptl.link_record');
DELETE FROM ptl.patient WHERE patient_id = :gone;
SELECT kind FROM ptl.link_persons(false);
SELECT is((SELECT count(*) FROM ptl.link_record WHERE patient_id = :gone), 0::bigint,
          'a full run removes a deleted patient record from ptl.link_record');
SELECT is((SELECT count(*) FROM ptl.link_record), (SELECT count(*) FROM ptl.patient),
          'ptl.link_record has one row per patient record');

-- A reviewer's match alone, with no patient record changed, is applied by
-- the next daily refresh (records without an NHS number: no guard refuses it).
CALL ptl.refresh('2025-03-31');
CREATE TEMP TABLE apart AS
SELECT a.patient_id AS a, b.patient_id AS b
FROM ptl.person_link a JOIN ptl.patient pa ON pa.patient_id = a.patient_id,
     ptl.person_link b JOIN ptl.patient pb ON pb.patient_id = b.patient_id
WHERE a.person_id <> b.person_id AND a.patient_id < b.patient_id
  AND pa.nhs_number IS NULL AND pb.nhs_number IS NULL
  AND NOT EXISTS (SELECT 1 FROM ptl.link_decision d WHERE d.patient_a = a.patient_id OR d.patient_b = b.patient_id)
ORDER BY a.patient_id DESC, b.patient_id DESC LIMIT 1;
INSERT INTO ptl.link_decision (patient_a, patient_b, decision) SELECT a, b, 'match' FROM apart;
CALL ptl.refresh('2025-04-01');
SELECT is((SELECT count(DISTINCT person_id) FROM ptl.person_link
           WHERE patient_id IN (SELECT a FROM apart UNION SELECT b FROM apart)), 1::bigint,
          'a reviewer''s match alone is applied by the next daily refresh');

-- A run reads only the records the triggers noted (ptl.link_pending), and
-- compares with what the last run saw only those.
SELECT is((SELECT count(*) FROM ptl.link_pending), 0::bigint, 'a linkage run takes every note it reads');
UPDATE ptl.patient SET updated_at = now() WHERE patient_id = :x3;
SELECT is((SELECT array_agg(patient_id) FROM ptl.link_pending), ARRAY[:x3::bigint],
          'an updated patient record is noted for the next run');
SELECT is((SELECT compared_records FROM ptl.link_persons_incremental()), 0::bigint,
          'a noted record whose compared fields did not change is not compared');
UPDATE ptl.patient SET given_name = given_name || 'A' WHERE patient_id IN (:x3, :x4);
SELECT is((SELECT compared_records FROM ptl.link_persons_incremental()), 2::bigint,
          'the records a plain UPDATE changed are compared');
TRUNCATE ptl.link_decision;
SELECT set_eq('SELECT patient_id FROM ptl.link_pending',
              'SELECT patient_id FROM ptl.link_record WHERE decisions IS NOT NULL',
              'emptying the reviewers'' decisions notes every record that had one');

-- The model is frozen: settings changed since the full run need a full run.
INSERT INTO ptl.link_setting (max_block_size) VALUES (500);
SELECT throws_ok('SELECT ptl.link_persons_incremental()', '55000', NULL,
                 'an incremental run refuses link settings changed since the full run that estimated the model');

-- Blocks a change moves across max_block_size (docs/linkage.md, "Incremental
-- runs"): with max_block_size 3, a new copy of a record in a block of three
-- makes it four (the block's other pairs lose its rule), and a record that
-- leaves a block of four (every field corrected) makes it three (the pairs
-- left gain the rule, though none of their records changed).  The incremental run still equals a frozen
-- full relink.  (The settings are dated an hour back: a setting written in
-- the transaction of a run is newer than its model, so the run would refuse.)
INSERT INTO ptl.link_setting (max_block_size) VALUES (3);
UPDATE ptl.link_setting SET set_at = set_at - interval '1 hour' WHERE set_at >= now();
SELECT ptl.link_persons() IS NOT NULL;
CREATE TEMP TABLE block AS
SELECT n AS rule_no, lr.keys[n] AS k, array_agg(lr.patient_id ORDER BY lr.patient_id) AS members
FROM ptl.link_record lr CROSS JOIN LATERAL generate_subscripts(lr.keys, 1) AS n
WHERE lr.keys[n] IS NOT NULL
GROUP BY 1, 2;
SELECT b.members[1] AS grown_like, b.rule_no AS grown_rule, b.k AS grown_key
FROM block b WHERE cardinality(b.members) = 3 ORDER BY b.rule_no, b.k LIMIT 1 \gset
SELECT b.members[1] AS shrunk_gone, b.rule_no AS shrunk_rule, b.k AS shrunk_key
FROM block b WHERE cardinality(b.members) = 4 AND NOT (:grown_like = ANY (b.members))
ORDER BY b.rule_no, b.k LIMIT 1 \gset
SELECT pg_temp.add_patient(:grown_like, jsonb_build_object('local_patient_id', 'GROW1')) AS grown \gset
UPDATE ptl.patient
SET given_name = 'QUENTINA', family_name = 'ZYXWORTH', date_of_birth = '1901-02-03', nhs_number = NULL,
    nhs_number_as_recorded = NULL, postcode = NULL, address_line_1 = NULL
WHERE patient_id = :shrunk_gone;
CREATE TEMP TABLE before_cross AS SELECT * FROM ptl.person_link;
SELECT ptl.link_persons_incremental() IS NOT NULL;
SELECT is((SELECT count(*) FROM ptl.link_record WHERE keys[:grown_rule] = :grown_key), 4::bigint,
          'a new record takes a block of three past max_block_size');
SELECT is((SELECT count(*) FROM ptl.link_record WHERE keys[:shrunk_rule] = :shrunk_key), 3::bigint,
          'a record leaving a block of four brings it within max_block_size');
TRUNCATE inc_person, inc_pair;
INSERT INTO inc_person SELECT * FROM ptl.person_link;
INSERT INTO inc_pair SELECT * FROM ptl.link_pair;
DELETE FROM ptl.person_link;
INSERT INTO ptl.person_link SELECT * FROM before_cross;
SELECT ptl.link_persons(false) IS NOT NULL;
SELECT bag_eq(
    'SELECT a.patient_id AS a, b.patient_id AS b FROM inc_person a JOIN inc_person b USING (person_id) WHERE a.patient_id < b.patient_id',
    'SELECT a.patient_id AS a, b.patient_id AS b FROM ptl.person_link a JOIN ptl.person_link b USING (person_id) WHERE a.patient_id < b.patient_id',
    'blocks crossing max_block_size: incremental persons equal a frozen full relink');
SELECT bag_eq('SELECT * FROM inc_pair', 'SELECT * FROM ptl.link_pair',
              'blocks crossing max_block_size: incremental ptl.link_pair equals a frozen full relink''s');

-- Sorted neighbourhoods (docs/linkage.md, "Blocking"): with block_window 1
-- each record of a block is compared with the next in name order only, so
-- a record that comes, goes or is renamed moves its neighbours into and out
-- of each other's windows though none of them changed.  Three rounds of
-- seeded changes to records in blocks of three or more (copies with the
-- given name's last letter changed, given names that move to the start or
-- the end of the order, records that leave every block); after each the
-- incremental run equals a frozen full relink from the same start.
-- Planted: JOHN SMITH and JOHN SMYTH, one person (same date of birth and
-- address), neighbours in their block of rule 2 (date of birth and
-- initial) and sharing rule 7's (family name's Soundex and date of birth).
SELECT pg_temp.add_patient(:x8, jsonb_build_object('local_patient_id', 'NEIGH_A', 'given_name', 'JOHN',
           'family_name', 'SMITH', 'date_of_birth', '1933-03-03', 'nhs_number', NULL, 'nhs_number_as_recorded', NULL)) AS neigh_a \gset
SELECT pg_temp.add_patient(:x8, jsonb_build_object('local_patient_id', 'NEIGH_B', 'given_name', 'JOHN',
           'family_name', 'SMYTH', 'date_of_birth', '1933-03-03', 'nhs_number', NULL, 'nhs_number_as_recorded', NULL)) AS neigh_b \gset
INSERT INTO ptl.link_setting (max_block_size, block_window) VALUES (1000, 1);
UPDATE ptl.link_setting SET set_at = set_at - interval '1 hour' WHERE set_at >= now();
SELECT ok((SELECT candidate_pairs FROM ptl.link_persons())
          < (SELECT r.candidate_pairs FROM ptl.link_run r WHERE r.kind = 'full' ORDER BY r.run_id DESC OFFSET 1 LIMIT 1),
          'block_window 1 compares fewer pairs than whole blocks');
-- (the incremental run against a frozen full relink from the same start:
-- 'equal', or what differs)
CREATE FUNCTION pg_temp.incremental_equals_full() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    diff bigint;
    pair_diff bigint;
BEGIN
    CREATE TEMP TABLE round_before AS SELECT * FROM ptl.person_link;
    PERFORM ptl.link_persons_incremental();
    CREATE TEMP TABLE round_person AS SELECT * FROM ptl.person_link;
    CREATE TEMP TABLE round_pair AS SELECT * FROM ptl.link_pair;
    DELETE FROM ptl.person_link;
    INSERT INTO ptl.person_link SELECT * FROM round_before;
    PERFORM ptl.link_persons(false);
    SELECT count(*) INTO diff FROM (
        ((SELECT a.patient_id, b.patient_id FROM round_person a JOIN round_person b USING (person_id)
          WHERE a.patient_id < b.patient_id)
         EXCEPT ALL
         (SELECT a.patient_id, b.patient_id FROM ptl.person_link a JOIN ptl.person_link b USING (person_id)
          WHERE a.patient_id < b.patient_id))
        UNION ALL
        ((SELECT a.patient_id, b.patient_id FROM ptl.person_link a JOIN ptl.person_link b USING (person_id)
          WHERE a.patient_id < b.patient_id)
         EXCEPT ALL
         (SELECT a.patient_id, b.patient_id FROM round_person a JOIN round_person b USING (person_id)
          WHERE a.patient_id < b.patient_id))) d;
    SELECT count(*) INTO pair_diff FROM (
        (SELECT * FROM round_pair EXCEPT ALL SELECT * FROM ptl.link_pair)
        UNION ALL
        (SELECT * FROM ptl.link_pair EXCEPT ALL SELECT * FROM round_pair)) d;
    DROP TABLE round_before, round_person, round_pair;
    RETURN CASE WHEN diff > 0 THEN diff || ' pairs of records in one person differ'
                WHEN pair_diff > 0 THEN pair_diff || ' rows of ptl.link_pair differ'
                ELSE 'equal' END;
END $$;
CREATE FUNCTION pg_temp.window_round(seed float8) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    moved bigint[];
BEGIN
    PERFORM setseed(seed);
    -- records of blocks of three or more, in a seeded order
    SELECT array_agg(patient_id ORDER BY random()) INTO moved
    FROM (SELECT DISTINCT lr.patient_id
          FROM ptl.link_record lr CROSS JOIN LATERAL generate_subscripts(lr.keys, 1) AS n
          WHERE lr.keys[n] IS NOT NULL
            AND (SELECT count(*) FROM ptl.link_record o WHERE o.keys[n] = lr.keys[n]) >= 3
          ORDER BY lr.patient_id) x;
    PERFORM pg_temp.add_patient(m, jsonb_build_object('local_patient_id', 'WIN' || m || '-' || seed,
                                                      'given_name', left(p.given_name, -1) || 'Y'))
    FROM unnest(moved[1:8]) AS m JOIN ptl.patient p ON p.patient_id = m;
    UPDATE ptl.patient SET given_name = CASE WHEN patient_id % 2 = 0 THEN 'AARON' ELSE 'ZYGMUNT' END
    WHERE patient_id = ANY (moved[9:16]);
    UPDATE ptl.patient
    SET given_name = 'QUENTINA', family_name = 'ZYX' || patient_id, date_of_birth = '1901-02-03', nhs_number = NULL,
        nhs_number_as_recorded = NULL, postcode = NULL, address_line_1 = NULL, town = NULL, telephone = NULL, email = NULL
    WHERE patient_id = ANY (moved[17:20]);
    RETURN pg_temp.incremental_equals_full();
END $$;
-- A record that comes between the two in name order (JOHN SMPQ, same date
-- of birth, nothing else shared) takes JOHN SMYTH out of JOHN SMITH's
-- window of rules 2 and 13; their pair keeps rule 7's, a block no change
-- touched.
SELECT ok((SELECT rules & (1 << 1) <> 0 AND rules & (1 << 6) <> 0 FROM ptl.link_pair
           WHERE patient_a = :neigh_a AND patient_b = :neigh_b),
          'JOHN SMITH and JOHN SMYTH: a stored pair of rules 2 and 7');
SELECT pg_temp.add_patient(:x8, jsonb_build_object('local_patient_id', 'NEIGH_X', 'given_name', 'JOHN',
           'family_name', 'SMPQ', 'date_of_birth', '1933-03-03', 'nhs_number', NULL, 'nhs_number_as_recorded', NULL,
           'postcode', NULL, 'address_line_1', NULL, 'town', NULL, 'telephone', NULL, 'email', NULL)) IS NOT NULL;
SELECT is(pg_temp.incremental_equals_full(), 'equal',
          'a pair pushed out of one window: incremental equals a frozen full relink');
SELECT ok((SELECT rules & (1 << 1) = 0 AND rules & (1 << 6) <> 0 FROM ptl.link_pair
           WHERE patient_a = :neigh_a AND patient_b = :neigh_b),
          'JOHN SMITH and JOHN SMYTH: out of rule 2''s window, still a pair of rule 7');

SELECT is(pg_temp.window_round(0.11), 'equal', 'windows moved, round 1: incremental equals a frozen full relink');
SELECT is(pg_temp.window_round(0.52), 'equal', 'windows moved, round 2: incremental equals a frozen full relink');
SELECT is(pg_temp.window_round(-0.37), 'equal', 'windows moved, round 3: incremental equals a frozen full relink');

SELECT * FROM finish();
ROLLBACK;
