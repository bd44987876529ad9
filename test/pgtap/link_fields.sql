-- The optional fields person linkage compares when an extract sends them:
-- town, telephone and email (docs/linkage.md, "Persons").  They load
-- through the front door, normalise, compare as fields of their own, block
-- records that share them, count once with the postcode and address where
-- they say where someone lives, and make the hard world (no NHS number, no
-- postcode) link better than the same world without them.
BEGIN;
SELECT plan(22);
CREATE EXTENSION IF NOT EXISTS ptl_synth;

-- Through the front door: trimmed; a value that breaks the column's rule
-- is left out with a warning while the patient loads.
INSERT INTO ptl.organisation (org_code, name, org_kind, in_ics) VALUES ('TWN', 'Field test trust', 'nhs_trust', true);
SELECT ptl.open_batch('TWN', 'PAS') AS b \gset
INSERT INTO ptl_stage.patient (batch_id, local_patient_id, given_name, family_name, date_of_birth, sex, town, telephone, email)
VALUES (:b, 'T1', 'Ann', 'Smith', '1950-03-01', '2', '  Dorchester ', '01305 123456', ' Ann.Smith@Example.org '),
       (:b, 'T2', 'Bob', 'Jones', '1960-04-02', '1', '=HYPERLINK("x")', 'call me', 'bob at example'),
       (:b, 'T3', 'Cat', 'Brown', '1970-05-03', '2', NULL, '+441305123456', NULL),
       (:b, 'T4', 'Dee', 'Green', '1980-06-04', '2', NULL, '(01305) 123456', NULL);
SELECT ok((SELECT rows_loaded = 4 FROM ptl.load(:b) WHERE extract = 'patient'), 'every patient loads');
SELECT is((SELECT array[town, telephone, email] FROM ptl.patient WHERE local_patient_id = 'T1'),
          ARRAY['Dorchester', '01305 123456', 'Ann.Smith@Example.org'], 'town, telephone and email load, trimmed');
SELECT is((SELECT array[town, telephone, email] FROM ptl.patient WHERE local_patient_id = 'T2'), ARRAY[NULL, NULL, NULL]::text[],
          'a town that starts like a formula, a telephone without digits and an email without @ are left out');
SELECT is((SELECT array_agg(column_name ORDER BY column_name) FROM ptl.load_warning WHERE batch_id = :b),
          ARRAY['email', 'telephone', 'town'], 'and each is a warning of its batch');
SELECT is((SELECT array[(ptl_internal.link_fields_of(p)).town, (ptl_internal.link_fields_of(p)).telephone,
                        (ptl_internal.link_fields_of(p)).email]
           FROM ptl.patient p WHERE local_patient_id = 'T1'),
          ARRAY['DORCHESTER', '01305123456', 'ann.smith@example.org'],
          'linkage compares the town upper case, the telephone''s digits, the email lower case');
SELECT is(ARRAY(SELECT (ptl_internal.link_fields_of(p)).telephone FROM ptl.patient p
                WHERE local_patient_id IN ('T3', 'T4') ORDER BY local_patient_id),
          ARRAY['01305123456', '01305123456'],
          'a number written +44, or with its area code in brackets, is the same number in national form');

-- Comparison levels (fields 7, 8 and 9): exact, a slip, different, missing.
CREATE FUNCTION pg_temp.level(field_no int, a text, b text) RETURNS int
LANGUAGE sql AS $$
    SELECT ((ptl.link_compare(
                 ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL, CASE field_no WHEN 7 THEN a END,
                     CASE field_no WHEN 8 THEN a END, CASE field_no WHEN 9 THEN a END)::ptl.link_fields,
                 ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL, CASE field_no WHEN 7 THEN b END,
                     CASE field_no WHEN 8 THEN b END, CASE field_no WHEN 9 THEN b END)::ptl.link_fields)
             >> (4 * field_no)) & 15)::int
$$;
SELECT is(ARRAY[pg_temp.level(7, 'DORCHESTER', 'DORCHESTER'), pg_temp.level(7, 'DORCHESTER', 'DORCHESTR'),
                pg_temp.level(7, 'DORCHESTER', 'WEYMOUTH'), pg_temp.level(7, 'DORCHESTER', NULL)],
          ARRAY[1, 2, 3, 0], 'town levels: exact 1, Jaro-Winkler >= 0.88 2, different 3, missing 0');
SELECT is(ARRAY[pg_temp.level(8, '01305123456', '01305123456'), pg_temp.level(8, '01305123456', '01305123465'),
                pg_temp.level(8, '01305123456', '07700900123'), pg_temp.level(8, NULL, '01305123456')],
          ARRAY[1, 2, 3, 0], 'telephone levels: exact 1, a digit wrong or two swapped 2, different 3, missing 0');
SELECT is(ARRAY[pg_temp.level(9, 'ann@example.org', 'ann@example.org'), pg_temp.level(9, 'ann@example.org', 'ann@exmaple.org'),
                pg_temp.level(9, 'ann@example.org', 'bob@example.org'), pg_temp.level(9, 'ann@example.org', NULL)],
          ARRAY[1, 2, 3, 0], 'email levels: exact 1, one edit 2, different 3, missing 0');
SELECT ok(ptl.link_compare(ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'a@b.c')::ptl.link_fields,
                           ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'x@y.z')::ptl.link_fields) > 2147483647,
          'the comparison vector is a bigint: the email''s level sits above bit 32');
SELECT is((SELECT array_agg(rule_no ORDER BY rule_no) FROM ptl.link_blocking_rule
           WHERE blocked_fields & ((1 << 7) | (1 << 8) | (1 << 9)) <> 0),
          ARRAY[14, 15, 16], 'rules 14, 15 and 16 block on the town, the telephone and the email');

-- The hard world, linked with its towns, then again with every town removed.
SELECT ptl_synth.link_world(3000, 7, 'hard') > 0 AS made \gset
SELECT ok((SELECT abs(avg((town IS NOT NULL)::int) - 0.60) < 0.03 FROM ptl.patient WHERE org_code <> 'TWN'),
          'hard world: about 60% of records carry a town');
SELECT ok((SELECT abs(avg((telephone IS NOT NULL)::int) - 0.20) < 0.03
                  AND abs(avg((email IS NOT NULL)::int) - 0.10) < 0.03 FROM ptl.patient WHERE org_code <> 'TWN'),
          'hard world: about 20% of records carry a telephone number and 10% an email address');
SELECT ok((ptl.link_persons()).run_id IS NOT NULL, 'ptl.link_persons() links the hard world with its towns');
CREATE TEMP TABLE with_town AS SELECT * FROM ptl_synth.link_accuracy() WHERE method = 'ptl.link_persons';
SELECT is((SELECT untrained_fields FROM ptl.link_run ORDER BY run_id DESC LIMIT 1), 'nhs_number, postcode',
          'town, telephone and email are trained where records carry them');
SELECT ok((SELECT bool_and(weight > 0) FILTER (WHERE level = 1) AND bool_and(weight < 0) FILTER (WHERE level = 3)
           FROM ptl.link_parameter WHERE field_no IN (7, 8, 9)),
          'for each of them, agreeing weighs for a match and differing against');

-- Postcode, address, town and telephone all say where someone lives: of
-- those that agree, only the largest weight counts (the explanation shows
-- the rest taken off), so a household is not several pieces of evidence.
CREATE TEMP TABLE explained AS
SELECT e.*
FROM (SELECT a.patient_id AS pa, b.patient_id AS pb
      FROM ptl.patient a JOIN ptl.patient b ON a.patient_id < b.patient_id
       AND a.town = b.town AND a.address_line_1 = b.address_line_1 AND a.telephone = b.telephone
      WHERE a.org_code <> 'TWN' LIMIT 1) x,
     ptl.link_explain(x.pa, x.pb) e;
SELECT is((SELECT count(*) FROM explained WHERE field IN ('address', 'town', 'telephone') AND level = 1), 3::bigint,
          'a pair agreeing on address, town and telephone');
SELECT is((SELECT round(weight::numeric, 6) FROM explained WHERE field = 'residence'),
          (SELECT round((-(sum(weight) - max(weight)))::numeric, 6) FROM explained
           WHERE field IN ('postcode', 'address', 'town', 'telephone') AND weight > 0),
          'the residence line takes off all but the largest agreeing weight of the four');
SELECT is((SELECT round(weight::numeric, 6) FROM explained WHERE field = 'total'),
          (SELECT round(sum(weight)::numeric, 6) FROM explained WHERE field NOT IN ('total', 'blocking', 'decision')),
          'the total is the prior, the fields and the residence line');

UPDATE ptl.patient SET town = NULL, telephone = NULL, email = NULL;
SELECT ok((ptl.link_persons()).run_id IS NOT NULL, 'the same world linked again without any town, telephone or email');
CREATE TEMP TABLE without_town AS SELECT * FROM ptl_synth.link_accuracy() WHERE method = 'ptl.link_persons';
SELECT diag(format('hard world with the optional fields: precision %s, recall %s, F1 %s; without: precision %s, recall %s, F1 %s',
                   round(w.precision::numeric, 4), round(w.recall::numeric, 4), round(w.f1::numeric, 4),
                   round(o.precision::numeric, 4), round(o.recall::numeric, 4), round(o.f1::numeric, 4)))
FROM with_town w, without_town o;
SELECT ok(w.f1 > o.f1 AND w.recall > o.recall AND w.precision >= 0.98,
          'the optional fields add evidence: recall and F1 higher than without them, precision still at least 0.98')
FROM with_town w, without_town o;
SELECT is((SELECT untrained_fields FROM ptl.link_run ORDER BY run_id DESC LIMIT 1),
          'nhs_number, postcode, town, telephone, email', 'without them, the run says they were not trained');

SELECT * FROM finish();
ROLLBACK;
