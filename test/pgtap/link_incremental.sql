-- Incremental person linkage equals a frozen full relink (the rule:
-- docs/linkage.md, "Incremental runs"): after a day's planted changes (new
-- records of existing persons, a changed surname, a corrected date of birth,
-- a changed NHS number, a deleted record that bridged two persons, a new
-- record that joins two persons, a reviewer's non_match),
-- ptl.link_persons_incremental() stores the same persons (as a partition of
-- the records, and the same numbers where a person kept its number) and the
-- same ptl.link_pair as ptl.link_persons(false) from the same starting point.
BEGIN;
SELECT plan(12);

CREATE FUNCTION pg_temp.add_patient(like_patient bigint, changes jsonb) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO ptl.patient
    SELECT (jsonb_populate_record(pa, jsonb_build_object('patient_id', nextval(pg_get_serial_sequence('ptl.patient', 'patient_id')))
                                      || changes)).*
    FROM ptl.patient pa WHERE pa.patient_id = like_patient
    RETURNING patient_id $$;

CREATE EXTENSION IF NOT EXISTS ptl_synth;
SELECT count(*) FROM ptl_synth.generate(3000, seed => 23) b, ptl.load(b) l;

-- Two single records with valid NHS numbers (persons X and Y), a record
-- without one (Z), and a bridge planted before the full run: a record with
-- X's NHS number and Y's other details, deleted later.
CREATE TEMP TABLE pick AS
WITH singles AS (
    SELECT p.* FROM ptl.patient p
    WHERE p.nhs_number IS NOT NULL AND p.given_name IS NOT NULL AND p.family_name IS NOT NULL
      AND p.date_of_birth IS NOT NULL AND p.postcode IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM ptl.patient q WHERE q.patient_id <> p.patient_id
                      AND (q.nhs_number = p.nhs_number OR q.date_of_birth = p.date_of_birth)))
SELECT (array_agg(patient_id ORDER BY patient_id))[1:8] AS ids FROM singles;
SELECT ok((SELECT cardinality(ids) FROM pick) = 8, 'eight isolated records to plant changes on');

-- the bridge between ids[1] and ids[2]: NHS number of the first, the rest of the second
SELECT pg_temp.add_patient((SELECT ids[2] FROM pick),
       jsonb_build_object('local_patient_id', 'BRIDGE1',
                          'nhs_number', (SELECT nhs_number FROM ptl.patient WHERE patient_id = (SELECT ids[1] FROM pick)),
                          'nhs_number_as_recorded', NULL)) AS bridge \gset
-- ids[2] loses its own NHS number so the bridge's can join it
UPDATE ptl.patient SET nhs_number = NULL, nhs_number_as_recorded = NULL WHERE patient_id = (SELECT ids[2] FROM pick);

SELECT ptl.link_persons();
SELECT is((SELECT count(DISTINCT person_id) FROM ptl.person_link
           WHERE patient_id IN ((SELECT ids[1] FROM pick), (SELECT ids[2] FROM pick), :bridge)), 1::bigint,
          'before the day, the bridge joins two records into one person');

-- The day's changes.
-- new records of existing persons (copies at another organisation)
SELECT pg_temp.add_patient(patient_id, jsonb_build_object('local_patient_id', 'NEW' || patient_id))
FROM ptl.patient WHERE patient_id IN (SELECT patient_id FROM ptl.person_link ORDER BY patient_id LIMIT 5);
-- a changed surname, a corrected date of birth, a changed NHS number
UPDATE ptl.patient SET family_name = family_name || 'SON' WHERE patient_id = (SELECT ids[3] FROM pick);
UPDATE ptl.patient SET date_of_birth = date_of_birth + 400 WHERE patient_id = (SELECT ids[4] FROM pick);
UPDATE ptl.patient SET nhs_number = (SELECT nhs_number FROM ptl.patient WHERE patient_id = (SELECT ids[6] FROM pick))
WHERE patient_id = (SELECT ids[5] FROM pick);
-- the bridge is deleted
DELETE FROM ptl.patient WHERE patient_id = :bridge;
-- a new record joining ids[7] and ids[8]: the NHS number of one, the details of the other
UPDATE ptl.patient SET nhs_number = NULL, nhs_number_as_recorded = NULL WHERE patient_id = (SELECT ids[8] FROM pick);
SELECT pg_temp.add_patient((SELECT ids[8] FROM pick),
       jsonb_build_object('local_patient_id', 'JOIN1',
                          'nhs_number', (SELECT nhs_number FROM ptl.patient WHERE patient_id = (SELECT ids[7] FROM pick)),
                          'nhs_number_as_recorded', NULL)) AS joiner \gset
-- a reviewer's non_match on a probabilistic link
INSERT INTO ptl.link_decision (patient_a, patient_b, decision, note)
SELECT patient_a, patient_b, 'non_match', 'test'
FROM ptl.link_pair WHERE method = 'probabilistic' AND outcome = 'linked' ORDER BY patient_a LIMIT 1;

-- The starting point, kept for the frozen relink.
CREATE TEMP TABLE before_link AS SELECT * FROM ptl.person_link;

SELECT ptl.link_persons_incremental() IS NOT NULL;
CREATE TEMP TABLE inc_run AS SELECT * FROM ptl.link_run ORDER BY run_id DESC LIMIT 1;
CREATE TEMP TABLE inc_person AS SELECT patient_id, person_id FROM ptl.person_link;
CREATE TEMP TABLE inc_pair AS SELECT * FROM ptl.link_pair;

SELECT is((SELECT kind || ' ' || compared_records FROM inc_run), 'incremental 14',
          'ptl.link_run records an incremental run and the records it compared: 5 new, 2 joined, 4 changed, 1 deleted, 2 non_match');
SELECT is((SELECT count(DISTINCT person_id) FROM inc_person
           WHERE patient_id IN ((SELECT ids[7] FROM pick), (SELECT ids[8] FROM pick), :joiner)), 1::bigint,
          'the new record joins two persons');
SELECT isnt((SELECT person_id FROM inc_person WHERE patient_id = (SELECT ids[1] FROM pick)),
            (SELECT person_id FROM inc_person WHERE patient_id = (SELECT ids[2] FROM pick)),
            'the deleted bridge leaves two persons');
SELECT is((SELECT persons FROM inc_run), (SELECT count(DISTINCT person_id) FROM inc_person),
          'the incremental run counts the persons there are');

-- The frozen full relink from the same starting point.
DELETE FROM ptl.person_link;
INSERT INTO ptl.person_link SELECT * FROM before_link;
SELECT is((SELECT kind FROM ptl.link_persons(false)), 'frozen', 'ptl.link_persons(false) is a frozen relink');
SELECT ok((SELECT candidate_pairs FROM inc_run) * 10 < (SELECT candidate_pairs FROM ptl.link_run ORDER BY run_id DESC LIMIT 1),
          'the incremental run compared a small share of the pairs');

SELECT set_eq(
    'SELECT a.patient_id AS a, b.patient_id AS b FROM inc_person a JOIN inc_person b USING (person_id) WHERE a.patient_id < b.patient_id',
    'SELECT a.patient_id AS a, b.patient_id AS b FROM ptl.person_link a JOIN ptl.person_link b USING (person_id) WHERE a.patient_id < b.patient_id',
    'incremental persons equal a frozen full relink (pairs of records in one person)');
SELECT set_eq(
    'SELECT i.patient_id, i.person_id FROM inc_person i JOIN ptl.person_link f USING (patient_id)
     WHERE f.person_id IN (SELECT person_id FROM before_link)',
    'SELECT f.patient_id, f.person_id FROM ptl.person_link f WHERE f.person_id IN (SELECT person_id FROM before_link)',
    'person numbers a frozen relink keeps, the incremental run keeps');
SELECT set_eq('SELECT * FROM inc_pair', 'SELECT * FROM ptl.link_pair',
              'incremental ptl.link_pair equals a frozen full relink''s');

-- The model is frozen: settings changed since the last run need a full run.
INSERT INTO ptl.link_setting (max_block_size) VALUES (500);
SELECT throws_ok('SELECT ptl.link_persons_incremental()', '55000', NULL,
                 'an incremental run refuses link settings changed since the last run');

SELECT * FROM finish();
ROLLBACK;
