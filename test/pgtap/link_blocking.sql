-- Blocking rules as data (docs/linkage.md, "Blocking"): a rule is an SQL
-- expression over a record's normalised fields, checked when it is written;
-- the shipped rules 7 to 13 find a person's two records without NHS number
-- or postcode through the slips each is for; a rule added takes effect at
-- the next run, which then links every record again; each run reports what
-- each rule did and the records no rule could key.  Also: Soundex, and the
-- "swapped" level of the name comparison.
BEGIN;
SELECT plan(43);

-- A record's blocking keys as a run computes them (ptl_internal.link_keys_sql).
CREATE FUNCTION pg_temp.keys(f ptl.link_fields) RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
    k bigint[];
BEGIN
    EXECUTE format('SELECT %s FROM (SELECT ($1).*) AS k', ptl_internal.link_keys_sql()) INTO k USING f;
    RETURN k;
END $$;
-- The rules under which two records share a key.
CREATE FUNCTION pg_temp.shared_rules(a ptl.link_fields, b ptl.link_fields) RETURNS int[]
LANGUAGE sql AS $$
    SELECT coalesce(array_agg(n ORDER BY n), '{}')
    FROM (SELECT pg_temp.keys(a) AS ka, pg_temp.keys(b) AS kb) k
    CROSS JOIN LATERAL generate_subscripts(k.ka, 1) n
    WHERE k.ka[n] = k.kb[n] $$;
CREATE FUNCTION pg_temp.rec(given text, family text, dob date, address text DEFAULT NULL) RETURNS ptl.link_fields
LANGUAGE sql AS $$ SELECT ROW(NULL, given, family, dob, NULL, NULL, address, NULL, NULL, NULL)::ptl.link_fields $$;

-- Soundex, the US National Archives' examples.
SELECT is(ARRAY(SELECT ptl.soundex(x) FROM unnest(ARRAY['Robert', 'Rupert', 'Rubin', 'Ashcraft', 'Tymczak',
                                                          'Pfister', 'Honeyman', 'o''Brien', '-']) x),
          ARRAY['R163', 'R163', 'R150', 'A261', 'T522', 'P236', 'H555', 'O165', NULL],
          'soundex: the National Archives'' coding (H and W do not separate, vowels do, the first letter''s code counts)');

-- Each slip, without NHS number or postcode, is still found by the rule for it.
SELECT ok(7 = ANY (pg_temp.shared_rules(pg_temp.rec('JOHN', 'SMITH', '1950-03-07'), pg_temp.rec(NULL, 'SMYTH', '1950-03-07'))),
          'rule 7: a given name missing and the family name misspelt (Soundex and date of birth)');
SELECT ok(8 = ANY (pg_temp.shared_rules(pg_temp.rec('JOHN', 'SMITH', '1950-03-07'), pg_temp.rec('JON', 'SMITH', '1950-07-03'))),
          'rule 8: day and month of birth swapped');
SELECT ok(9 = ANY (pg_temp.shared_rules(pg_temp.rec('MARGARET', 'SMITH', '1950-03-07'), pg_temp.rec('MARGRET', 'SMYTH', '1951-03-07'))),
          'rule 9: the year of birth wrong, both names misspelt');
SELECT ok(2 = ANY (pg_temp.shared_rules(pg_temp.rec('MARGARET', 'SMITH', '1950-03-07'), pg_temp.rec('MARGARET', 'JONES', '1950-03-07'))),
          'rule 2: the family name changed (marriage), the date of birth right');
SELECT ok(10 = ANY (pg_temp.shared_rules(pg_temp.rec('JOHN', 'SMITH', '1950-03-07'), pg_temp.rec('SMITH', 'JOHN', '1950-04-07'))),
          'rule 10: given and family name swapped (and a slip in the month)');
SELECT ok(11 = ANY (pg_temp.shared_rules(pg_temp.rec('CATHERINE', 'SMITH', '1950-03-07'), pg_temp.rec('CATHRINE', 'SMYTH', '1950-03-17'))),
          'rule 11: both names misspelt and a digit of the day wrong (Soundex of both names and year)');
SELECT ok(12 = ANY (pg_temp.shared_rules(pg_temp.rec('ANN', 'HARDY', '1950-03-07', '1 HIGH STREET'),
                                         pg_temp.rec('ANNE', 'HARDIE', '1960-11-07', '1 HIGH STREET'))),
          'rule 12: no postcode and the date of birth wrong, the address line shared');
SELECT is(pg_temp.shared_rules(pg_temp.rec('JOHN', 'BROWN', '1950-08-31'), pg_temp.rec('BRWON', 'JOHNY', '1950-08-31')),
          '{13}'::int[], 'rule 13 alone: given and family name swapped and both misspelt, the date of birth right (initials in either order)');
SELECT is(pg_temp.shared_rules(pg_temp.rec('JOHN', 'SMITH', '1950-03-07'), pg_temp.rec('PETER', 'JONES', '1970-08-21')),
          '{}'::int[], 'two different people share no key');
SELECT is(cardinality(array_remove(pg_temp.keys(ROW(NULL, NULL, NULL, NULL, '1', NULL, NULL, NULL, NULL, NULL)::ptl.link_fields), NULL)),
          0, 'a record with only its sex has no key at all');

-- A rule is checked when it is written.
SELECT throws_ok($$INSERT INTO ptl.link_blocking_rule (rule_no, key_expression, description)
                   VALUES (20, 'left(family_name, 2', 'broken')$$, '22023', NULL,
                 'a key expression that does not run is refused when written (22023), not at the next run');
SELECT throws_like($$INSERT INTO ptl.link_blocking_rule (rule_no, key_expression, description)
                     VALUES (20, 'key_dob', 'an old column')$$,
                   '%blocking rule 20: the key expression "key_dob" names no field%',
                   'an expression naming no field of a record is refused, naming the rule and the expression');
SELECT throws_ok($$INSERT INTO ptl.link_blocking_rule (rule_no, key_expression, description)
                   VALUES (20, 'family_name; DROP TABLE ptl.patient', 'two statements')$$, '22023', NULL,
                 'a key expression must be one expression');
SELECT throws_ok($$UPDATE ptl.link_blocking_rule SET key_expression = 'family_name' WHERE rule_no = 7$$,
                 '55000', NULL, 'a shipped rule cannot be changed (55000): a restore would bring it back');
SELECT throws_ok($$DELETE FROM ptl.link_blocking_rule WHERE rule_no = 2$$,
                 '55000', NULL, 'a shipped rule cannot be removed');
SELECT is((SELECT blocked_fields FROM ptl.link_blocking_rule WHERE rule_no = 8), 4 | 8,
          'the fields a rule names are derived (rule 8: family name and date of birth), so EM leaves them out of its pairs');

-- Runs: what each rule did, and the records no rule could key.
CREATE EXTENSION IF NOT EXISTS ptl_synth;
SELECT count(*) FROM ptl_synth.generate(1500, seed => 31) b, ptl.load(b) l;
INSERT INTO ptl.patient (org_code, source_system, local_patient_id, sex, batch_id)
SELECT org_code, source_system, 'NO-FIELDS-1', '1', batch_id FROM ptl.patient LIMIT 1;
-- Planted without NHS numbers: twins (same family name, birth date, postcode
-- and address; given names differ), and one man as WILLIAM and as BILL.
INSERT INTO ptl.patient (org_code, source_system, local_patient_id, given_name, family_name, date_of_birth, sex,
                         postcode, address_line_1, batch_id)
SELECT p.org_code, p.source_system, x.id, x.given, x.family, x.dob::date, '1', 'DT1 2JY', x.address, p.batch_id
FROM (SELECT * FROM ptl.patient LIMIT 1) p,
     (VALUES ('TWIN-A', 'ZEBEDEE', 'QUIRKSTONE', '1961-02-03', '7 MILL ROAD'),
             ('TWIN-B', 'QUENTIN', 'QUIRKSTONE', '1961-02-03', '7 MILL ROAD'),
             ('NICK-A', 'WILLIAM', 'BRACKENBURY', '1955-05-05', '9 MILL ROAD'),
             ('NICK-B', 'BILL', 'BRACKENBURY', '1955-05-05', '9 MILL ROAD')) AS x (id, given, family, dob, address);
CREATE TEMP TABLE planted AS
SELECT local_patient_id AS id, patient_id FROM ptl.patient WHERE local_patient_id IN ('TWIN-A', 'TWIN-B', 'NICK-A', 'NICK-B');
SELECT (ptl.link_persons()).run_id IS NOT NULL AS first_run;
SELECT is((SELECT count(*) FROM ptl.link_run_rule r JOIN ptl.link_run l USING (run_id) WHERE l.kind = 'full'
             AND l.run_id = (SELECT max(run_id) FROM ptl.link_run)),
          (SELECT count(*) FROM ptl.link_blocking_rule), 'a run reports every blocking rule');
SELECT ok((SELECT bool_and(r.only_this_rule <= r.candidate_pairs AND r.candidate_pairs <= l.candidate_pairs
                           AND abs(r.pair_share - r.candidate_pairs::float8 / l.candidate_pairs) < 1e-12)
           FROM ptl.link_run_rule r JOIN ptl.link_run l USING (run_id)
           WHERE l.run_id = (SELECT max(run_id) FROM ptl.link_run)),
          'per rule: pairs, pairs no other rule found, and their share of the pairs compared agree with the run');
SELECT cmp_ok((SELECT sum(candidate_pairs)::bigint FROM ptl.link_run_rule WHERE run_id = (SELECT max(run_id) FROM ptl.link_run)),
              '>=', (SELECT candidate_pairs FROM ptl.link_run ORDER BY run_id DESC LIMIT 1),
              'every pair compared came from at least one rule');
SELECT is((SELECT unblocked_records FROM ptl.link_run ORDER BY run_id DESC LIMIT 1),
          (SELECT count(*) FROM ptl.patient p
           WHERE cardinality(array_remove(pg_temp.keys(ptl_internal.link_fields_of(p)), NULL)) = 0),
          'the run counts the records no rule could key');
SELECT cmp_ok((SELECT unblocked_records FROM ptl.link_run ORDER BY run_id DESC LIMIT 1), '>=', 1::bigint,
              'the planted record with no fields is among them');
SELECT is((SELECT blocking_rules FROM ptl.link_run ORDER BY run_id DESC LIMIT 1), ptl_internal.link_rules_signature(),
          'a run records the rules it used');
SELECT ok(NOT ptl_internal.link_model_stale(), 'after a full run with today''s rules the model is current');

-- Look-alikes go to a reviewer; a nickname is not a look-alike.
CREATE FUNCTION pg_temp.look_alike(ga text, fa text, da date, sa text, gb text, fb text, db date, sb text) RETURNS boolean
LANGUAGE sql AS $$ SELECT ptl_internal.link_look_alike(ptl.link_compare(ROW(NULL, ga, fa, da, sa, NULL, NULL, NULL, NULL, NULL)::ptl.link_fields,
                                                                        ROW(NULL, gb, fb, db, sb, NULL, NULL, NULL, NULL, NULL)::ptl.link_fields)) $$;
SELECT is(ARRAY[pg_temp.look_alike('JOHN', 'SMITH', '1950-03-07', '1', 'PETER', 'SMITH', '1950-03-07', '1'),
                pg_temp.look_alike('JOHN', 'SMITH', '1950-03-07', '1', 'MARY', 'SMITH', '1975-06-01', '2'),
                pg_temp.look_alike(NULL, 'SMITH', '1950-03-07', '1', 'MARY', 'SMITH', '1950-03-07', '2'),
                pg_temp.look_alike('JOHN', 'SMITH', '1950-03-07', '1', 'JON', 'SMITH', '1950-03-07', '1'),
                pg_temp.look_alike('JOHN', 'SMITH', '1950-03-07', '1', 'JOHN', 'SMITH', '1950-03-17', '1'),
                pg_temp.look_alike('JOHN', 'SMITH', '1950-03-07', NULL, 'PETER', 'SMITH', '1950-03-07', NULL)],
          ARRAY[true, true, true, false, false, false],
          'look-alikes: twins (given names differ), a household (given name and birth date differ), twins told apart only by sex; not a slip in a name or a date, nor records that state no sex');
SELECT is(ARRAY[(ptl.link_compare(pg_temp.rec('ANNEMARIE', 'SMITH', '1950-03-07'), pg_temp.rec('MARIE', 'SMITH', '1950-03-07')) >> 4) & 15,
                (ptl.link_compare(pg_temp.rec('ANN', 'SMITHJONES', '1950-03-07'), pg_temp.rec('ANN', 'JONES', '1950-03-07')) >> 8) & 15],
          ARRAY[8, 8]::bigint[], 'a name that is the end of the other (a middle name run in, a double-barrelled family name) is level 8, part');
SELECT ok(pg_temp.look_alike('ANNEMARIE', 'SMITH', '1950-03-07', '2', 'MARIE', 'SMITH', '1950-03-07', '2'),
          'given names one part of the other, same family name and birth date: still look-alikes (sisters may share a name part)');
SELECT ok((SELECT a.person_id <> b.person_id FROM ptl.person_link a, ptl.person_link b
           WHERE a.patient_id = (SELECT patient_id FROM planted WHERE id = 'TWIN-A')
             AND b.patient_id = (SELECT patient_id FROM planted WHERE id = 'TWIN-B')),
          'the planted twins stay two persons');
SELECT is((SELECT why FROM ptl.link_review
           WHERE (patient_a, patient_b) IN (SELECT least(a.patient_id, b.patient_id), greatest(a.patient_id, b.patient_id)
                                            FROM planted a, planted b WHERE a.id = 'TWIN-A' AND b.id = 'TWIN-B')),
          'look_alike', 'and go to clerical review as look-alikes');
SELECT ok((SELECT a.person_id = b.person_id FROM ptl.person_link a, ptl.person_link b
           WHERE a.patient_id = (SELECT patient_id FROM planted WHERE id = 'NICK-A')
             AND b.patient_id = (SELECT patient_id FROM planted WHERE id = 'NICK-B')),
          'WILLIAM and BILL, all else the same, are one person (ptl.link_nickname)');
SELECT is((SELECT weight FROM ptl.link_explain((SELECT patient_id FROM planted WHERE id = 'TWIN-A'),
                                               (SELECT patient_id FROM planted WHERE id = 'TWIN-B')) WHERE field = 'residence'),
          -(SELECT least(max(weight) FILTER (WHERE field = 'postcode'), max(weight) FILTER (WHERE field = 'address'))
            FROM ptl.link_explain((SELECT patient_id FROM planted WHERE id = 'TWIN-A'),
                                  (SELECT patient_id FROM planted WHERE id = 'TWIN-B'))),
          'postcode and address both agreeing count once: the smaller weight is taken back, and ptl.link_explain shows it');
SELECT ok((SELECT level_label LIKE 'rules %' FROM ptl.link_explain((SELECT patient_id FROM planted WHERE id = 'TWIN-A'),
                                                                  (SELECT patient_id FROM planted WHERE id = 'TWIN-B'))
           WHERE field = 'blocking')
          AND (SELECT level_label LIKE 'clerical review (link at probability 0.95%' FROM ptl.link_explain(
                   (SELECT patient_id FROM planted WHERE id = 'TWIN-A'), (SELECT patient_id FROM planted WHERE id = 'TWIN-B'))
               WHERE field = 'decision'),
          'ptl.link_explain names the blocking rules that found the pair and the decision against the thresholds');
SELECT ok((SELECT expected_precision > 0.9 AND expected_precision <= 1 AND expected_recall > 0 AND expected_recall <= 1
           FROM ptl.link_run ORDER BY run_id DESC LIMIT 1),
          'the run reports the model''s expected precision and recall of its links');

-- A rule of one's own takes effect at the next run, which links every record.
INSERT INTO ptl.link_blocking_rule (rule_no, key_expression, description)
VALUES (20, $$ptl.soundex(family_name) || to_char(date_of_birth, 'YYYYMM')$$, 'family name''s Soundex and month of birth');
SELECT ok(ptl_internal.link_model_stale(), 'a rule added makes the stored model and keys stale');
SELECT throws_ok('SELECT ptl.link_persons_incremental()', '55000', NULL,
                 'an incremental run refuses to use keys made under other rules');
SELECT (ptl.link_persons()).run_id IS NOT NULL AS second_run;
SELECT ok((SELECT candidate_pairs > 0 FROM ptl.link_run_rule
           WHERE rule_no = 20 AND run_id = (SELECT max(run_id) FROM ptl.link_run)),
          'the next run compares the pairs the new rule finds');
SELECT ok(NOT ptl_internal.link_model_stale() AND EXISTS (SELECT 1 FROM ptl.link_record WHERE keys[20] IS NOT NULL),
          'and keys every record by it, so incremental runs can follow');

-- The keys do not depend on the session's date style: a rule's
-- date_of_birth::text is ISO inside the runs, so a DBA's 'SQL, DMY' session,
-- a German one and the scheduler's default key and read the same blocks.
CREATE TEMP TABLE keys_iso AS SELECT patient_id, keys FROM ptl.link_record;
SET DateStyle = 'SQL, DMY';
SELECT (ptl.link_persons()).run_id IS NOT NULL AS run_in_dmy;
SELECT is((SELECT count(*) FROM ptl.link_record r JOIN keys_iso k USING (patient_id) WHERE r.keys IS DISTINCT FROM k.keys),
          0::bigint, 'a full run in a session with DateStyle SQL, DMY keys every record as under ISO');
UPDATE ptl.patient SET given_name = given_name || 'E' WHERE patient_id = (SELECT min(patient_id) FROM keys_iso);
SET DateStyle = 'German';
SELECT (ptl.link_persons_incremental()).run_id IS NOT NULL AS day_in_german;
RESET DateStyle;
SELECT is((SELECT keys FROM ptl.link_record WHERE patient_id = (SELECT min(patient_id) FROM keys_iso)),
          (SELECT pg_temp.keys(ptl_internal.link_fields_of(p)) FROM ptl.patient p WHERE patient_id = (SELECT min(patient_id) FROM keys_iso)),
          'an incremental run in a German session keys a changed record as under ISO');

-- ptl.link_explain names the blocking rules from the records' keys as a run
-- computes them (ptl_internal.link_keys_of), in any date style, and without
-- ptl.link_record: that table is unlogged, so a standby cannot read it.
SET DateStyle = 'SQL, DMY';
SELECT is((SELECT count(*) FROM ptl.link_record r JOIN ptl.patient p USING (patient_id)
           WHERE ptl_internal.link_keys_of(ptl_internal.link_fields_of(p)) IS DISTINCT FROM r.keys),
          0::bigint, 'ptl_internal.link_keys_of gives every record the keys the last run stored, in a DMY session too');
RESET DateStyle;
SAVEPOINT without_link_record;
TRUNCATE ptl.link_record;
SELECT ok((SELECT level_label LIKE 'rules %' FROM ptl.link_explain((SELECT patient_id FROM planted WHERE id = 'TWIN-A'),
                                                                  (SELECT patient_id FROM planted WHERE id = 'TWIN-B'))
           WHERE field = 'blocking'),
          'ptl.link_explain names the blocking rules without reading ptl.link_record');
ROLLBACK TO SAVEPOINT without_link_record;

-- Names recorded the wrong way round compare as swapped (level 6), not different.
SELECT is(ARRAY[(ptl.link_compare(pg_temp.rec('JOHN', 'SMITH', '1950-03-07'), pg_temp.rec('SMITH', 'JOHN', '1950-03-07')) >> 4) & 15,
                (ptl.link_compare(pg_temp.rec('JOHN', 'SMITH', '1950-03-07'), pg_temp.rec('SMITH', 'JOHN', '1950-03-07')) >> 8) & 15,
                (ptl.link_compare(pg_temp.rec('JOHN', 'SMITH', '1950-03-07'), pg_temp.rec('PETER', 'JONES', '1950-03-07')) >> 4) & 15],
          ARRAY[6, 6, 5]::bigint[], 'names swapped: both name fields at level 6 "swapped"; two other names stay "different"');

-- Without the guard, the twins' weight links them: the guard is what keeps them apart.
INSERT INTO ptl.link_setting (look_alike_review) VALUES (false);
SELECT (ptl.link_persons()).run_id IS NOT NULL AS run_without_guard;
SELECT ok((SELECT a.person_id = b.person_id FROM ptl.person_link a, ptl.person_link b
           WHERE a.patient_id = (SELECT patient_id FROM planted WHERE id = 'TWIN-A')
             AND b.patient_id = (SELECT patient_id FROM planted WHERE id = 'TWIN-B')),
          'with look_alike_review off the twins are linked by weight');

SELECT * FROM finish();
ROLLBACK;
