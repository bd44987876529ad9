-- Person linkage: EM on a hand-made set, clustering and its chaining guard,
-- then ptl.link_persons() on a small ICS built here (src/link/person.sql).
SET search_path = ptl, public;

-- EM recovers m and lambda.  Three fields (given name, family name, birth
-- date), each exact or different; the counts of the 8 comparison vectors
-- are what 100,000 pairs give when lambda = 0.2, m(exact) = 0.9, 0.8, 0.95
-- and u(exact) = 0.05, 0.02, 0.01 exactly.  With u fixed, EM must find the
-- m and lambda that made them.
CREATE TEMP TABLE em_case AS
WITH f (field_no, last_level, m, u) AS (VALUES (1, 5, 0.9, 0.05), (2, 5, 0.8, 0.02), (3, 4, 0.95, 0.01)),
v AS (
    SELECT g1, g2, g3,
           ((CASE g1 WHEN 1 THEN 1 ELSE 5 END) << 4) | ((CASE g2 WHEN 1 THEN 1 ELSE 5 END) << 8)
           | ((CASE g3 WHEN 1 THEN 1 ELSE 4 END) << 12) AS gamma
    FROM generate_series(0, 1) g1, generate_series(0, 1) g2, generate_series(0, 1) g3)
SELECT v.gamma,
       100000 * (0.2 * (CASE v.g1 WHEN 1 THEN 0.9 ELSE 0.1 END) * (CASE v.g2 WHEN 1 THEN 0.8 ELSE 0.2 END)
                     * (CASE v.g3 WHEN 1 THEN 0.95 ELSE 0.05 END)
                 + 0.8 * (CASE v.g1 WHEN 1 THEN 0.05 ELSE 0.95 END) * (CASE v.g2 WHEN 1 THEN 0.02 ELSE 0.98 END)
                       * (CASE v.g3 WHEN 1 THEN 0.01 ELSE 0.99 END))::float8 AS n
FROM v;
CREATE TEMP TABLE em_u AS
SELECT ptl_internal.link_parameter_array(ARRAY[17, 21, 33, 37, 49, 52], ARRAY[0.05, 0.95, 0.02, 0.98, 0.01, 0.99]) AS u,
       ptl_internal.link_parameter_array(ARRAY[17, 21, 33, 37, 49, 52], ARRAY[0.5, 0.5, 0.5, 0.5, 0.5, 0.5]) AS m0;
SELECT round(e.lambda::numeric, 4) AS lambda,
       round(e.m[18]::numeric, 4) AS m_given_exact, round(e.m[34]::numeric, 4) AS m_family_exact,
       round(e.m[50]::numeric, 4) AS m_dob_exact, round(e.m[53]::numeric, 4) AS m_dob_different,
       e.iterations < 1000 AS converged
FROM (SELECT array_agg(gamma) AS p, array_agg(n) AS n FROM em_case) c, em_u,
     link_em(c.p, c.n, em_u.u, em_u.m0, 0.5, 14, 14, 1000, 1e-9) e;
-- A field left out of the likelihood is not trained (it keeps its start).
SELECT round(e.m[18]::numeric, 4) AS m_given_untrained, round(e.m[34]::numeric, 4) AS m_family
FROM (SELECT array_agg(gamma) AS p, array_agg(n) AS n FROM em_case) c, em_u,
     link_em(c.p, c.n, em_u.u, em_u.m0, 0.5, 12, 12, 1000, 1e-9) e;
-- Bad arguments name themselves.
SELECT link_em(ARRAY[1], ARRAY[1.0], ARRAY[0.5], (SELECT u FROM em_u), 0.5, 1, 1, 10, 1e-6);
SELECT link_em(ARRAY[1], ARRAY[1.0], (SELECT u FROM em_u), (SELECT u FROM em_u), 1.5, 1, 1, 10, 1e-6);
-- (m and u of 0.3.0's seven fields are still read, but not mixed with ten)
SELECT link_em(ARRAY[1], ARRAY[1.0], (SELECT u FROM em_u), (SELECT u[1:112] FROM em_u), 0.5, 1, 1, 10, 1e-6);
-- A count is a number of pairs: finite, 0 or more (22023, naming the element).
SELECT link_em(ARRAY[1, 2], ARRAY[1.0, -5], (SELECT u FROM em_u), (SELECT m0 FROM em_u), 0.5, 1, 1, 10, 1e-6);
SELECT link_em(ARRAY[1], ARRAY['Infinity'::float8], (SELECT u FROM em_u), (SELECT m0 FROM em_u), 0.5, 1, 1, 10, 1e-6);
SELECT link_em(ARRAY[1], ARRAY['NaN'::float8], (SELECT u FROM em_u), (SELECT m0 FROM em_u), 0.5, 1, 1, 10, 1e-6);
SELECT link_em(ARRAY[1, 2], ARRAY[1e308, 1e308], (SELECT u FROM em_u), (SELECT m0 FROM em_u), 0.5, 1, 1, 10, 1e-6);
-- m and u are probabilities; the tolerance is finite and not negative; the
-- field sets are sets of the 7 link fields.
SELECT link_em(ARRAY[1], ARRAY[1.0], (SELECT u FROM em_u),
               (SELECT array_replace(m0, 0.5, 'NaN') FROM em_u), 0.5, 1, 1, 10, 1e-6);
SELECT link_em(ARRAY[1], ARRAY[1.0], (SELECT array_replace(u, 0.05, -0.05) FROM em_u),
               (SELECT m0 FROM em_u), 0.5, 1, 1, 10, 1e-6);
SELECT link_em(ARRAY[1], ARRAY[1.0], (SELECT u FROM em_u), (SELECT m0 FROM em_u), 0.5, 1, 1, 10, 'NaN');
SELECT link_em(ARRAY[1], ARRAY[1.0], (SELECT u FROM em_u), (SELECT m0 FROM em_u), 0.5, 1, 1, 10, -1);
SELECT link_em(ARRAY[1], ARRAY[1.0], (SELECT u FROM em_u), (SELECT m0 FROM em_u), 0.5, -1, 1, 10, 1e-6);
SELECT link_em(ARRAY[1], ARRAY[1.0], (SELECT u FROM em_u), (SELECT m0 FROM em_u), 0.5, 1023, 1024, 10, 1e-6);
-- (each of these is SQLSTATE 22023, invalid_parameter_value)
\set VERBOSITY sqlstate
SELECT link_em(ARRAY[1, 2], ARRAY[1.0, -5], (SELECT u FROM em_u), (SELECT m0 FROM em_u), 0.5, 1, 1, 10, 1e-6);
\set VERBOSITY default
-- A NULL count is a count of none; all-zero counts leave the start as it was.
SELECT e.lambda, e.iterations
FROM link_em(ARRAY[1, 2], ARRAY[NULL, 0]::float8[], (SELECT u FROM em_u), (SELECT m0 FROM em_u), 0.5, 1, 1, 10, 1e-6) e;

-- Clustering: strongest links first; the guard refuses a link that would
-- put two NHS numbers in one person, and one that would pass the size cap.
SELECT * FROM link_clusters(ARRAY[1, 2, 3, 4, 5, 6, 7]::bigint[],
                            ARRAY['9434765919', NULL, '9434765870', NULL, NULL, NULL, NULL],
                            ARRAY[1, 2, 4, 5, 1, 6]::bigint[], ARRAY[2, 3, 5, 6, 3, 7]::bigint[],
                            ARRAY[10, 9, 8, 7, 'Infinity', 1]::float8[], 2)
ORDER BY left_id, right_id;
SELECT * FROM link_clusters(ARRAY[1, 2]::bigint[], ARRAY[NULL, NULL]::text[], ARRAY[1]::bigint[],
                            ARRAY[3]::bigint[], ARRAY[1.0]::float8[], 5);

-- ---------------------------------------------------------------------------
-- A small ICS: 300 people at trust LKA; 40 of them also at LKB, some with
-- typing slips and no NHS number; namesakes; a conflict; a chaining trap.
-- ---------------------------------------------------------------------------
INSERT INTO organisation (org_code, name) VALUES ('LKA', 'Linkage Test Trust A'), ('LKB', 'Linkage Test Trust B');
SELECT open_batch('LKA', 'PAS-A') AS batch_a \gset
SELECT open_batch('LKB', 'PAS-B') AS batch_b \gset
CREATE TEMP TABLE person_truth AS
WITH n AS (
    SELECT (row_number() OVER (ORDER BY x))::int AS i, x::text AS nhs
    FROM generate_series(9400000000::bigint, 9400010000) x
    WHERE nhs_number_valid(x::text)
    LIMIT 300)
SELECT n.i, n.nhs,
       (ARRAY['OLIVER', 'AMELIA', 'GEORGE', 'ISLA', 'HARRY', 'AVA', 'NOAH', 'MIA', 'JACK', 'IVY', 'LEO',
              'LILY', 'ARTHUR', 'FREYA', 'MUHAMMAD', 'EMILY', 'OSCAR', 'GRACE', 'CHARLIE', 'SOPHIA'])[1 + n.i % 20] AS given,
       (ARRAY['SMITH', 'JONES', 'TAYLOR', 'BROWN', 'WILLIAMS', 'WILSON', 'JOHNSON', 'DAVIES', 'ROBINSON',
              'WRIGHT', 'THOMPSON', 'EVANS', 'WALKER', 'WHITE', 'ROBERTS', 'GREEN', 'HALL', 'WOOD', 'JACKSON',
              'CLARKE', 'PATEL', 'KHAN', 'LEWIS'])[1 + (n.i * 7) % 23] AS family,
       DATE '1940-01-01' + (n.i * 97) % 25000 AS dob,
       CASE WHEN n.i % 2 = 0 THEN '1' ELSE '2' END AS sex,
       'QA' || (1 + n.i % 9) || ' ' || (n.i % 10) || chr(65 + n.i % 26) || chr(65 + (n.i / 26) % 26) AS postcode,
       (1 + n.i % 80) || ' ' || (ARRAY['MILL ROAD', 'CHURCH LANE', 'STATION STREET', 'PARK AVENUE', 'HIGH STREET'])[1 + n.i % 5] AS address
FROM n;
INSERT INTO patient (org_code, source_system, local_patient_id, nhs_number, nhs_number_as_recorded, given_name,
                     family_name, date_of_birth, sex, postcode, address_line_1, batch_id)
SELECT 'LKA', 'PAS-A', 'A' || i, nhs::nhs_number, nhs, initcap(given), initcap(family), dob, sex, postcode, address, :batch_a
FROM person_truth;
-- Second records at LKB: i 1..20 identical with the NHS number; 21..40 with
-- slips (a letter dropped or swapped, a house number changed) and no NHS number.
INSERT INTO patient (org_code, source_system, local_patient_id, nhs_number, nhs_number_as_recorded, given_name,
                     family_name, date_of_birth, sex, postcode, address_line_1, batch_id)
SELECT 'LKB', 'PAS-B', 'B' || i,
       CASE WHEN i <= 20 THEN nhs::nhs_number END, CASE WHEN i <= 20 THEN nhs END,
       CASE WHEN i > 20 AND i % 3 = 0 THEN left(given, 2) || substr(given, 4) ELSE given END,
       CASE WHEN i > 20 AND i % 3 = 1 THEN left(family, 1) || substr(family, 3, 1) || substr(family, 2, 1) || substr(family, 4)
            ELSE family END,
       dob, sex, replace(postcode, ' ', ''),
       CASE WHEN i > 20 AND i % 3 = 2 THEN (2 + i % 80) || substr(address, length((1 + i % 80)::text) + 1) ELSE address END,
       :batch_b
FROM person_truth WHERE i <= 40;
-- A namesake of person 50 (same name and birth date, another address, no
-- NHS number): a different person.
INSERT INTO patient (org_code, source_system, local_patient_id, given_name, family_name, date_of_birth, sex,
                     postcode, address_line_1, batch_id)
SELECT 'LKB', 'PAS-B', 'NAMESAKE', given, family, dob, sex, 'QB7 1ZZ', '3 Far Away Close', :batch_b
FROM person_truth WHERE i = 50;
-- Person 60's NHS number on a record of somebody else entirely: a conflict.
INSERT INTO patient (org_code, source_system, local_patient_id, nhs_number, nhs_number_as_recorded, given_name,
                     family_name, date_of_birth, sex, postcode, address_line_1, batch_id)
SELECT 'LKB', 'PAS-B', 'CONFLICT', nhs::nhs_number, nhs, 'Zebedee', 'Quartermaine', '2001-12-25', '1',
       'QC1 9XX', '99 Other Road', :batch_b
FROM person_truth WHERE i = 60;
-- The chaining trap: person 70's details under person 71's NHS number at
-- LKB, and again with no number.  The record without a number matches both
-- person 70's LKA record and the mis-numbered record, which carries a
-- different valid number: the guard must keep 70 and 71 apart.
INSERT INTO patient (org_code, source_system, local_patient_id, nhs_number, nhs_number_as_recorded, given_name,
                     family_name, date_of_birth, sex, postcode, address_line_1, batch_id)
SELECT 'LKB', 'PAS-B', 'TRAP-' || k, CASE k WHEN 1 THEN t71.nhs::nhs_number END, CASE k WHEN 1 THEN t71.nhs END,
       t70.given, t70.family, t70.dob, t70.sex, t70.postcode, t70.address, :batch_b
FROM person_truth t70, person_truth t71, generate_series(1, 2) k
WHERE t70.i = 70 AND t71.i = 71;

SELECT records, candidate_pairs, skipped_blocks, nhs_number_links, probabilistic_links, conflicts,
       refused_links, persons, prior_weight < 0 AS prior_negative
FROM link_persons();

-- Every pair of person_truth records at both trusts is one person ...
SELECT count(*) FILTER (WHERE pa.person_id = pb.person_id) AS linked, count(*) AS pairs
FROM person_truth t
JOIN patient a ON a.local_patient_id = 'A' || t.i JOIN person_link pa ON pa.patient_id = a.patient_id
JOIN patient b ON b.local_patient_id = 'B' || t.i JOIN person_link pb ON pb.patient_id = b.patient_id;
-- ... by NHS number for 1..20 and probabilistically for 21..40.
SELECT pl.method, count(*) FROM person_link pl JOIN patient p USING (patient_id)
WHERE p.org_code = 'LKB' AND p.local_patient_id ~ '^B' GROUP BY 1 ORDER BY 1;
-- ... and no two LKA records share a person.
SELECT count(*) AS lka_people_merged
FROM (SELECT pl.person_id FROM person_link pl JOIN patient p USING (patient_id)
      WHERE p.org_code = 'LKA' GROUP BY 1 HAVING count(*) > 1) x;
-- The namesake stays apart; the conflict is reported and not linked.
SELECT (SELECT person_id FROM person_link JOIN patient USING (patient_id) WHERE local_patient_id = 'NAMESAKE')
     = (SELECT person_id FROM person_link JOIN patient USING (patient_id) WHERE local_patient_id = 'A50') AS namesake_linked;
SELECT given_name_a, family_name_a, given_name_b, family_name_b FROM link_conflict;
SELECT (SELECT person_id FROM person_link JOIN patient USING (patient_id) WHERE local_patient_id = 'CONFLICT')
     = (SELECT person_id FROM person_link JOIN patient USING (patient_id) WHERE local_patient_id = 'A60') AS conflict_linked;
-- The trap: 70 and 71 are still two people; the refused link waits for review.
SELECT (SELECT person_id FROM person_link JOIN patient USING (patient_id) WHERE local_patient_id = 'A70')
     = (SELECT person_id FROM person_link JOIN patient USING (patient_id) WHERE local_patient_id = 'A71') AS chained;
SELECT why, count(*) FROM link_review GROUP BY 1 ORDER BY 1;

-- Why B21 (a dropped letter, no NHS number) links to A21: every field's weight.
SELECT field, value_a, value_b, level, level_label, round(weight::numeric, 2) AS weight
FROM link_explain((SELECT patient_id FROM patient WHERE local_patient_id = 'A21'),
                  (SELECT patient_id FROM patient WHERE local_patient_id = 'B21'));
-- The model: exact agreement weighs for a match, disagreement against.
SELECT l.field, bool_and(p.weight > 0) FILTER (WHERE p.level = 1) AS exact_for,
       bool_and(p.weight < 0) FILTER (WHERE p.level = lv.last) AS different_against
FROM link_parameter p JOIN link_level l USING (field_no, level)
JOIN (SELECT field_no, max(level) AS last FROM link_level GROUP BY 1) lv USING (field_no)
GROUP BY l.field_no, l.field ORDER BY l.field_no;

-- Person numbers are stable: a second run changes none.
CREATE TEMP TABLE first_run AS SELECT patient_id, person_id FROM person_link;
SELECT persons FROM link_persons();
SELECT count(*) AS changed FROM first_run f JOIN person_link pl USING (patient_id) WHERE pl.person_id <> f.person_id;
-- A reviewer's decision joins the namesake after all; the person keeps one of
-- the two numbers (the smaller, on a tie of votes).
INSERT INTO link_decision (patient_a, patient_b, decision, note)
SELECT least(a.patient_id, b.patient_id), greatest(a.patient_id, b.patient_id), 'match', 'confirmed by phone'
FROM patient a, patient b WHERE a.local_patient_id = 'A50' AND b.local_patient_id = 'NAMESAKE';
SELECT persons FROM link_persons();
SELECT p.local_patient_id, pl.method,
       pl.person_id = (SELECT min(f.person_id) FROM first_run f JOIN patient q USING (patient_id)
                       WHERE q.local_patient_id IN ('A50', 'NAMESAKE')) AS smaller_number_kept
FROM person_link pl JOIN patient p USING (patient_id)
WHERE p.local_patient_id IN ('A50', 'NAMESAKE') ORDER BY p.local_patient_id;
SELECT records, organisations, given_name, family_name FROM person
WHERE person_id = (SELECT person_id FROM person_link JOIN patient USING (patient_id) WHERE local_patient_id = 'A50');

-- Leave the database as this script found it: the small ICS, its persons
-- and the model estimated on it go (another script's first refresh must
-- estimate its own).
DELETE FROM patient WHERE org_code IN ('LKA', 'LKB');
DELETE FROM link_record;
DELETE FROM link_run;
DELETE FROM link_parameter;
DELETE FROM link_term_frequency;
DELETE FROM batch WHERE org_code IN ('LKA', 'LKB');
DELETE FROM organisation WHERE org_code IN ('LKA', 'LKB');
SELECT (SELECT count(*) FROM patient) AS patients_left, (SELECT count(*) FROM link_pair) AS pairs_left;
