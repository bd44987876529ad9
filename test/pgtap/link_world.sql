-- Person linkage on generated worlds with planted, labelled faults
-- (ptl_synth.link_world, docs/linkage.md "Generated worlds with planted
-- faults").  The hard world (no NHS number, no postcode) must keep its
-- profile's promises and ptl must stay precise on it; its recall and the
-- recall per fault are printed, not asserted (blocking is being rewritten).
-- The normal world must be linked almost perfectly.
BEGIN;
SELECT plan(44);
CREATE EXTENSION IF NOT EXISTS ptl_synth;

SELECT throws_ok($$SELECT ptl_synth.link_world(10, 1, 'easy')$$, '22023', 'unknown link world profile "easy"',
                 'an unknown profile is refused, naming it');
SELECT throws_ok($$SELECT ptl_synth.link_world(0)$$, '22023', NULL, 'a world has at least one person');

-- The hard world: 5,000 persons, about 10,000 records.
SELECT ptl_synth.link_world(5000, 42, 'hard') AS hard_records \gset
SELECT ok(:hard_records >= 10000, format('the hard world has at least 10,000 records (%s)', :hard_records));
SELECT is((SELECT count(*) FROM ptl.patient), :hard_records::bigint, 'every record made was loaded through ptl.load()');
SELECT is((SELECT count(*) FROM ptl_synth.person_link_truth), (SELECT count(*) FROM ptl.patient),
          'the truth (ptl_synth.patient_record) covers every loaded record');

-- The profile's promises: no NHS number, no postcode, addresses on 60%.
SELECT is((SELECT count(*) FROM ptl.patient WHERE nhs_number IS NOT NULL OR nhs_number_as_recorded IS NOT NULL), 0::bigint,
          'hard world: no record carries an NHS number');
SELECT is((SELECT count(*) FROM ptl.patient WHERE postcode IS NOT NULL), 0::bigint, 'hard world: no record carries a postcode');
SELECT ok((SELECT abs(avg((address_line_1 IS NOT NULL)::int) - 0.60) < 0.03 FROM ptl.patient),
          'hard world: about 60% of records carry an address line');

-- Records per person: 1 to 4 (40/30/20/10%), each at a different system.
SELECT is((SELECT count(*) FROM (SELECT person_id FROM ptl_synth.patient_record GROUP BY person_id
                                 HAVING count(*) NOT BETWEEN 1 AND 4
                                     OR count(DISTINCT (org_code, source_system)) <> count(*)) x), 0::bigint,
          'every person has 1 to 4 records, each at a different organisation system');
SELECT ok((SELECT bool_and(abs(x.share - r.rate) < 0.03)
           FROM (SELECT n, count(*)::float8 / sum(count(*)) OVER () AS share
                 FROM (SELECT count(*) AS n FROM ptl_synth.patient_record GROUP BY person_id) y GROUP BY n) x
           JOIN ptl_synth.link_world_rate r ON r.profile = 'hard' AND r.item = 'records_' || x.n),
          'persons have 1, 2, 3, 4 records at the stated shares');

-- Every fault class at its stated rate, on the records it can be planted
-- on (within four standard deviations).
CREATE TEMP TABLE lw_rec AS
SELECT r.org_code, r.source_system, r.local_patient_id, pe.*,
       (SELECT array_agg(f.fault) FROM ptl_synth.link_world_fault f
        WHERE (f.org_code, f.source_system, f.local_patient_id) = (r.org_code, r.source_system, r.local_patient_id)) AS faults
FROM ptl_synth.patient_record r JOIN ptl_synth.person pe USING (person_id);
CREATE TEMP TABLE lw_rate AS
SELECT w.item AS fault, w.rate,
       count(*) FILTER (WHERE e.eligible) AS eligible,
       count(*) FILTER (WHERE e.eligible AND w.item = ANY (coalesce(c.faults, '{}'))) AS planted,
       count(*) FILTER (WHERE NOT e.eligible AND w.item = ANY (coalesce(c.faults, '{}'))) AS misplanted
FROM ptl_synth.link_world_rate w
CROSS JOIN lw_rec c
CROSS JOIN LATERAL (SELECT CASE w.item
        WHEN 'family_name_changed' THEN c.sex = '2' AND DATE '2025-03-31' - c.date_of_birth >= 7305
        ELSE NOT ('family_name_changed' = ANY (coalesce(c.faults, '{}')))
             AND CASE w.item
                    WHEN 'nickname' THEN c.given_name IN (SELECT given_name FROM ptl_synth.link_world_nickname)
                    WHEN 'names_swapped' THEN NOT ('given_name_missing' = ANY (coalesce(c.faults, '{}')))
                    WHEN 'dob_day_month_swapped' THEN extract(day FROM c.date_of_birth) <= 12
                                                      AND extract(day FROM c.date_of_birth) <> extract(month FROM c.date_of_birth)
                    ELSE true END END AS eligible) e
WHERE w.profile = 'hard'
  AND w.item IN ('family_name_changed', 'given_name_typo', 'given_name_missing', 'nickname', 'family_name_typo',
                 'names_swapped', 'dob_day_month_swapped', 'dob_digits_swapped', 'dob_digit_wrong', 'dob_year_off_by_one')
GROUP BY w.item, w.rate;
SELECT ok(planted > 0 AND misplanted = 0
          AND abs(planted - rate * eligible) <= 4 * sqrt(rate * (1 - rate) * eligible) + 1,
          format('hard world: fault %s planted at about %s of %s eligible records (%s)', fault, rate, eligible, planted))
FROM lw_rate ORDER BY fault;

-- Each planted fault is in the loaded record as labelled.
SELECT is((SELECT count(*)
           FROM ptl_synth.link_world_fault f
           JOIN ptl.patient p USING (org_code, source_system, local_patient_id)
           JOIN ptl_synth.patient_record r USING (org_code, source_system, local_patient_id)
           JOIN ptl_synth.person pe ON pe.person_id = r.person_id
           LEFT JOIN ptl_synth.link_world_fault sw
             ON (sw.org_code, sw.source_system, sw.local_patient_id, sw.fault) = (f.org_code, f.source_system, f.local_patient_id, 'names_swapped')
           WHERE NOT CASE f.fault
               WHEN 'given_name_missing' THEN p.given_name IS NULL
               WHEN 'nickname' THEN f.sent_value = (SELECT nickname FROM ptl_synth.link_world_nickname WHERE given_name = pe.given_name)
                                    AND f.sent_value = CASE WHEN sw.fault IS NULL THEN p.given_name ELSE initcap(p.family_name) END
               WHEN 'names_swapped' THEN p.given_name IS NOT DISTINCT FROM split_part(f.true_value, '|', 2)
                                         AND upper(p.family_name) = upper(split_part(f.true_value, '|', 1))
               WHEN 'family_name_changed' THEN upper(p.family_name) <> upper(pe.family_name) AND p.given_name = pe.given_name
                                              AND p.date_of_birth = pe.date_of_birth
               WHEN 'given_name_typo' THEN upper(f.sent_value) <> upper(pe.given_name)
                                          AND abs(length(f.sent_value) - length(pe.given_name)) <= 1
               WHEN 'family_name_typo' THEN upper(regexp_replace(f.sent_value, '[^A-Za-z]', '', 'g'))
                                            <> upper(regexp_replace(pe.family_name, '[^A-Za-z]', '', 'g'))
                                           AND abs(length(f.sent_value) - length(pe.family_name)) <= 1
               WHEN 'dob_day_month_swapped' THEN extract(day FROM p.date_of_birth) = extract(month FROM pe.date_of_birth)
                                                 AND extract(month FROM p.date_of_birth) = extract(day FROM pe.date_of_birth)
                                                 AND extract(year FROM p.date_of_birth) = extract(year FROM pe.date_of_birth)
               WHEN 'dob_year_off_by_one' THEN abs(extract(year FROM p.date_of_birth) - extract(year FROM pe.date_of_birth)) = 1
               WHEN 'dob_digit_wrong' THEN p.date_of_birth <> pe.date_of_birth
                   AND (SELECT count(*) FROM generate_series(1, 8) k
                        WHERE substr(to_char(p.date_of_birth, 'YYYYMMDD'), k, 1) <> substr(to_char(pe.date_of_birth, 'YYYYMMDD'), k, 1)) = 1
               WHEN 'dob_digits_swapped' THEN p.date_of_birth <> pe.date_of_birth
                   AND EXISTS (SELECT 1 FROM generate_series(1, 7) k
                               WHERE to_char(p.date_of_birth, 'YYYYMMDD')
                                     = substr(to_char(pe.date_of_birth, 'YYYYMMDD'), 1, k - 1)
                                       || substr(to_char(pe.date_of_birth, 'YYYYMMDD'), k + 1, 1)
                                       || substr(to_char(pe.date_of_birth, 'YYYYMMDD'), k, 1)
                                       || substr(to_char(pe.date_of_birth, 'YYYYMMDD'), k + 2))
               END), 0::bigint,
          'every planted fault shows in the loaded record as its label says');

-- Hard negatives: twins and household members, truly different persons.
SELECT ok((SELECT abs(count(*) FILTER (WHERE relation = 'twin') / 5000.0 - 0.015) < 0.006
                  AND abs(count(*) FILTER (WHERE relation = 'family_member') / 5000.0 - 0.08) < 0.015
           FROM ptl_synth.link_world_relative),
          'about 1.5% of persons are twins and 8% household members of another person');
SELECT is((SELECT count(*) FROM ptl_synth.link_world_relative rel
           JOIN ptl_synth.person a ON a.person_id = rel.person_id JOIN ptl_synth.person b ON b.person_id = rel.relative_id
           WHERE rel.relation = 'twin'
             AND NOT (a.family_name = b.family_name AND a.address_line_1 = b.address_line_1 AND a.postcode = b.postcode
                      AND a.date_of_birth = b.date_of_birth AND a.given_name <> b.given_name AND a.nhs_number <> b.nhs_number)),
          0::bigint, 'twins share family name, address and birth date, differ in given name, and are different persons');
SELECT is((SELECT count(*) FROM ptl_synth.link_world_relative rel
           JOIN ptl_synth.person a ON a.person_id = rel.person_id JOIN ptl_synth.person b ON b.person_id = rel.relative_id
           WHERE rel.relation = 'family_member'
             AND NOT (a.family_name = b.family_name AND a.address_line_1 = b.address_line_1
                      AND a.date_of_birth <> b.date_of_birth AND a.given_name <> b.given_name AND a.nhs_number <> b.nhs_number)),
          0::bigint, 'household members share family name and address, differ in birth date and given name, and are different persons');
SELECT ok((SELECT count(*) > 0 FROM ptl_synth.link_world_relative rel
           JOIN ptl_synth.patient_record a ON a.person_id = rel.person_id
           JOIN ptl_synth.patient_record b ON b.person_id = rel.relative_id
           WHERE rel.relation = 'twin'), 'twins have records in the world to be confused');

-- Names are skewed: the commonest family name is far more frequent than the rarest.
SELECT ok((SELECT max(n) >= 10 * min(n) FROM (SELECT count(*) AS n FROM ptl_synth.person GROUP BY family_name) x),
          'family names are uneven (the commonest at least 10 times the rarest)');

-- Link, and measure.
SELECT lives_ok('SELECT ptl.link_persons()', 'ptl.link_persons() links the hard world');
CREATE TEMP TABLE hard_accuracy AS SELECT * FROM ptl_synth.link_accuracy() WHERE method = 'ptl.link_persons';
CREATE TEMP TABLE hard_diagnosis AS SELECT * FROM ptl_synth.link_world_diagnosis();
SELECT diag(format('hard world, %s records: precision %s, recall %s, F1 %s (true pairs %s, predicted %s)',
                   :hard_records, round("precision"::numeric, 4), round(recall::numeric, 4), round(f1::numeric, 4),
                   true_pairs, predicted_pairs))
FROM hard_accuracy;
SELECT diag(format('%-22s %-9s %6s pairs %6s linked %6s scored %6s blocked  recall %s', fault, pair_kind, pairs, linked,
                   scored, blocked, coalesce(round(recall::numeric, 3)::text, '-')))
FROM hard_diagnosis;
SELECT ok((SELECT "precision" >= 0.98 FROM hard_accuracy), 'hard world: precision at least 0.98');
-- What the blocking rules 7-13, the look-alike guard, the married-name and
-- birth-date slip levels and the 0.95 threshold give with neither NHS
-- number nor postcode (docs/linkage.md): floors a little under the measured
-- figures (recall 0.916, F1 0.952 at seed 42; F1 0.953 and 0.950 at seeds
-- 7 and 99).
SELECT ok((SELECT recall >= 0.905 AND f1 >= 0.945 FROM hard_accuracy), 'hard world: recall at least 0.905 and F1 at least 0.945');
-- A birth date with one slip (a digit, or the year one out) is evidence for
-- a match; two parts agreeing by coincidence (a shared birthday) is not.
SELECT ok((SELECT max(weight) FILTER (WHERE level = 3) > 0 AND max(weight) FILTER (WHERE level = 5) < 0
           FROM ptl.link_parameter WHERE field_no = 3),
          'hard world: a birth date one slip out weighs for a match, two parts agreeing otherwise against it');
-- The married-name level, trained: between two women a family name that
-- differs says less against a match than between others.
SELECT ok((SELECT max(weight) FILTER (WHERE level = 7) > max(weight) FILTER (WHERE level = 5) + 3
           FROM ptl.link_parameter WHERE field_no = 2),
          'hard world: a family name that differs weighs at least 3 bits less against a match between two women (married name) than otherwise');
SELECT ok((SELECT d.blocked >= 0.9 * d.pairs FROM ptl_synth.link_world_diagnosis() d
           WHERE d.pair_kind = 'true' AND d.fault = 'all'),
          'hard world: at least 90% of the true pairs share a blocking key (they are compared)');
SELECT ok((SELECT expected_precision BETWEEN 0.9 AND 1 AND expected_recall BETWEEN 0.5 AND 1
           FROM ptl.link_run ORDER BY run_id DESC LIMIT 1),
          'the run reports the model''s own estimates of its precision and recall');
SELECT is((SELECT untrained_fields FROM ptl.link_run ORDER BY run_id DESC LIMIT 1), 'nhs_number, postcode',
          'hard world: the run says which fields it could not train (no record has an NHS number or a postcode)');
SELECT is((SELECT (pairs, linked) FROM hard_diagnosis WHERE fault = 'all'),
          (SELECT (true_pairs, true_positives) FROM hard_accuracy),
          'the diagnosis counts the same true pairs and true positives as ptl_synth.link_accuracy()');
SELECT is((SELECT count(*) FROM hard_diagnosis WHERE pair_kind = 'true' AND pairs > 0
             AND fault IN (SELECT item FROM ptl_synth.link_world_rate)), 10::bigint,
          'the diagnosis has true pairs for each of the ten fault classes');
SELECT ok((SELECT bool_and(linked <= scored AND blocked <= pairs) FROM hard_diagnosis),
          'diagnosis: linked pairs are counted as scored, blocked pairs are among the pairs');

-- The normal world (the hard world's records removed first).
DELETE FROM ptl.patient p USING ptl_synth.patient_record r
WHERE (p.org_code, p.source_system, p.local_patient_id) = (r.org_code, r.source_system, r.local_patient_id);
SELECT ptl_synth.link_world(2000, 42, 'normal') AS normal_records \gset
SELECT ok((SELECT abs(avg((nhs_number_as_recorded IS NOT NULL)::int) - 0.90) < 0.03
                  AND abs(avg((postcode IS NOT NULL)::int) - 0.95) < 0.02
                  AND count(*) FILTER (WHERE nhs_number_as_recorded IS NOT NULL AND nhs_number IS NULL) > 0
           FROM ptl.patient),
          'normal world: NHS numbers on about 90% of records (some invalid), postcodes on about 95%');
SELECT lives_ok('SELECT ptl.link_persons()', 'ptl.link_persons() links the normal world');
CREATE TEMP TABLE normal_accuracy AS SELECT * FROM ptl_synth.link_accuracy() WHERE method = 'ptl.link_persons';
SELECT diag(format('normal world, %s records: precision %s, recall %s, F1 %s', :normal_records,
                   round("precision"::numeric, 4), round(recall::numeric, 4), round(f1::numeric, 4)))
FROM normal_accuracy;
SELECT ok((SELECT f1 >= 0.99 FROM normal_accuracy), 'normal world: F1 at least 0.99');
SELECT ok((SELECT "precision" >= 0.995 FROM normal_accuracy), 'normal world: precision at least 0.995');
SELECT is((SELECT untrained_fields FROM ptl.link_run ORDER BY run_id DESC LIMIT 1), NULL,
          'normal world: every field trained');

-- Reproducible from the seed.
CREATE FUNCTION pg_temp.world_digest() RETURNS text LANGUAGE sql AS $$
    SELECT md5(string_agg(x, E'\n' ORDER BY x)) FROM (
        SELECT format('%s', p) FROM ptl_synth.person p
        UNION ALL SELECT format('%s|%s|%s|%s|%s', r.org_code, r.source_system, r.local_patient_id, r.person_id, r.nhs_number_sent)
        FROM ptl_synth.patient_record r
        UNION ALL SELECT format('%s', f) FROM ptl_synth.link_world_fault f
        UNION ALL SELECT format('%s', rel) FROM ptl_synth.link_world_relative rel) d (x) $$;
SELECT ptl_synth.link_world(300, 5, 'hard') \gset
SELECT pg_temp.world_digest() AS digest1 \gset
SELECT ptl_synth.link_world(300, 5, 'hard') \gset
SELECT is(pg_temp.world_digest(), :'digest1', 'the same seed gives the same world');
SELECT ptl_synth.link_world(300, 6, 'hard') \gset
SELECT isnt(pg_temp.world_digest(), :'digest1', 'another seed gives another world');

SELECT * FROM finish();
ROLLBACK;
