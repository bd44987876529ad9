-- An incremental refresh equals a full one: after a day's changes (the
-- generator's next day, plus the changes that reach across records: a
-- patient's NHS number and death, a validation recorded, a pathway record
-- deleted) and a census a month on, the refresh that recomputes only what
-- changed stores exactly the validation issues and duplicates that a full
-- refresh of the same data stores (docs/rtt-engine.md, "The daily refresh").
BEGIN;
SELECT plan(14);

CREATE EXTENSION IF NOT EXISTS ptl_synth;
SELECT count(*) FROM ptl_synth.generate(3000, seed => 11) b, ptl.load(b) l;
CALL ptl.refresh('2025-03-31');
CREATE TEMP TABLE day1_issue AS SELECT * FROM ptl.validation_issue;

-- The day's extracts: 3% of the records change, and a day of referrals.
SELECT count(*) FROM ptl_synth.next_day('2025-04-01', 0.03, seed => 11) b, ptl.load(b) l;

-- A patient takes the NHS number of another with an open pathway in the
-- same treatment function (V07 on both), as a corrected record would.
CREATE TEMP TABLE renumbered AS
SELECT pa.patient_id, pb.nhs_number
FROM ptl.rtt_open_period a
JOIN ptl.rtt_open_period b ON b.treatment_function = a.treatment_function AND b.patient_id <> a.patient_id
                          AND b.provider_org = a.provider_org
JOIN ptl.patient pa ON pa.patient_id = a.patient_id
JOIN ptl.patient pb ON pb.patient_id = b.patient_id
WHERE pa.nhs_number IS NOT NULL AND pb.nhs_number IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM ptl.validation_issue i WHERE i.pathway_id IN (a.pathway_id, b.pathway_id) AND i.rule_id = 'V07')
ORDER BY a.pathway_id, b.pathway_id LIMIT 1;
UPDATE ptl.patient p SET nhs_number = r.nhs_number, updated_at = now() FROM renumbered r WHERE p.patient_id = r.patient_id;
-- Another patient with an open pathway dies after the first census (V09):
-- one whose pathway the day's extracts leave alone and that has nothing
-- booked after the census, so that it is still open a month on.
CREATE TEMP TABLE died AS
SELECT o.patient_id FROM ptl.rtt_open_period o
JOIN ptl.rtt_pathway r ON r.pathway_id = o.pathway_id AND r.next_event_date IS NULL
WHERE o.patient_id NOT IN (SELECT patient_id FROM renumbered)
  AND NOT EXISTS (SELECT 1 FROM ptl.rtt_dirty_pathway d WHERE d.pathway_id = o.pathway_id)
ORDER BY o.pathway_id LIMIT 1;
UPDATE ptl.patient p SET date_of_death = '2025-04-10', updated_at = now() FROM died d WHERE p.patient_id = d.patient_id;
-- A pathway due for validation is validated (V26 goes).
CREATE TEMP TABLE validated AS
SELECT i.pathway_id FROM ptl.validation_issue i WHERE i.rule_id = 'V26' ORDER BY i.pathway_id LIMIT 1;
INSERT INTO ptl.pathway_validation (pathway_id, validated_on, outcome)
SELECT pathway_id, '2025-04-20', 'correct' FROM validated;
-- The record kept in place of a duplicate is deleted (its duplicate is
-- the one to keep now, or duplicates another record).
CREATE TEMP TABLE deleted AS
SELECT d.kept_pathway_id AS pathway_id FROM ptl.pathway_duplicate d ORDER BY d.pathway_id LIMIT 1;
DELETE FROM ptl.pathway_event WHERE pathway_id IN (SELECT pathway_id FROM deleted);
DELETE FROM ptl.waiting_list_entry WHERE pathway_id IN (SELECT pathway_id FROM deleted);
DELETE FROM ptl.pathway WHERE pathway_id IN (SELECT pathway_id FROM deleted);

SELECT is((SELECT count(*) FROM renumbered) + (SELECT count(*) FROM died) + (SELECT count(*) FROM validated)
          + (SELECT count(*) FROM deleted), 4::bigint, 'the day changes records across pathways of four kinds');

-- A month on: the waits pass 12 weeks, last events age past 84 days.
CALL ptl.refresh('2025-04-30');
CREATE TEMP TABLE incremental_issue AS SELECT * FROM ptl.validation_issue;
CREATE TEMP TABLE incremental_duplicate AS SELECT * FROM ptl.pathway_duplicate;

SELECT ok((SELECT NOT r.full_refresh AND r.pathways_computed < (SELECT count(*) FROM ptl.pathway) / 4
           FROM ptl.refresh_run r ORDER BY r.run_id DESC LIMIT 1),
          'the second refresh recomputed only the changed pathways (fewer than a quarter)');
SELECT ok((SELECT count(*) FROM ((TABLE day1_issue EXCEPT TABLE incremental_issue)
                                 UNION ALL (TABLE incremental_issue EXCEPT TABLE day1_issue)) x) > 100,
          'a month and a day of changes moved the validation issues');
SELECT ok(EXISTS (SELECT 1 FROM incremental_issue i JOIN ptl.pathway p USING (pathway_id)
                  WHERE i.rule_id = 'V07' AND p.patient_id IN (SELECT patient_id FROM renumbered)),
          'the renumbered patient''s pathway is a V07 duplicate');
SELECT ok(EXISTS (SELECT 1 FROM incremental_issue i JOIN ptl.pathway p USING (pathway_id)
                  WHERE i.rule_id = 'V09' AND p.patient_id IN (SELECT patient_id FROM died)),
          'the patient who died has a V09 issue');
SELECT ok(NOT EXISTS (SELECT 1 FROM incremental_issue i
                      WHERE i.rule_id = 'V26' AND i.pathway_id IN (SELECT pathway_id FROM validated)),
          'the validated pathway has no V26 issue');
SELECT is((SELECT count(*) FROM ptl.validation_pending_key), 0::bigint,
          'the incremental validation took the keys noted');

-- The same data, every pathway recomputed and revalidated.
CALL ptl.refresh('2025-04-30', "full" => true);

SELECT is((SELECT count(*) FROM ((TABLE incremental_issue EXCEPT ALL TABLE ptl.validation_issue)
                                 UNION ALL (TABLE ptl.validation_issue EXCEPT ALL TABLE incremental_issue)) x),
          0::bigint,
          'incremental refresh after a day''s changes stores exactly the validation issues of a full refresh of the same data');
SELECT is((SELECT count(*) FROM ((TABLE incremental_duplicate EXCEPT ALL TABLE ptl.pathway_duplicate)
                                 UNION ALL (TABLE ptl.pathway_duplicate EXCEPT ALL TABLE incremental_duplicate)) x),
          0::bigint,
          'incremental refresh after a day''s changes stores exactly the duplicates of a full refresh of the same data');
SELECT cmp_ok((SELECT count(*) FROM ptl.validation_issue), '>', 100::bigint,
              'the full refresh found issues to compare');

-- Partners across records, exactly: a V07 pair by NHS number comes apart
-- when one patient's number is corrected to one no other record has.
-- Validated at the same census with only that patient's pathways
-- recomputed (nothing else in scope, as when the two records are not
-- linked as one person), the number the record had
-- (ptl.validation_pending_key) brings the former partner back, and its V07
-- goes; the result equals validating every pathway.
CREATE TEMP TABLE unpaired AS
SELECT a.pathway_id AS partner, pb.patient_id AS changed
FROM ptl.validation_issue ia
JOIN ptl.pathway a ON a.pathway_id = ia.pathway_id
JOIN ptl.patient pa ON pa.patient_id = a.patient_id
JOIN ptl.patient pb ON pb.nhs_number = pa.nhs_number AND pb.patient_id <> pa.patient_id
WHERE ia.rule_id = 'V07'
  AND (SELECT count(*) FROM ptl.patient x WHERE x.nhs_number = pa.nhs_number) = 2
  -- (its only partner by the number is that other patient's)
  AND NOT EXISTS (SELECT 1 FROM ptl.pathway o
                  WHERE o.patient_id = a.patient_id AND o.pathway_id <> a.pathway_id)
  AND NOT EXISTS (SELECT 1 FROM ptl.pathway u WHERE u.ubrn = a.ubrn AND u.pathway_id <> a.pathway_id)
  -- (and nothing else brings it back at the same census: no holder of a
  -- rule on reference data, no validation recorded, no status 99)
  AND NOT EXISTS (SELECT 1 FROM ptl.validation_issue h
                  WHERE h.pathway_id = a.pathway_id AND h.rule_id IN ('V03', 'V23', 'V32'))
  AND NOT EXISTS (SELECT 1 FROM ptl.pathway_validation v WHERE v.pathway_id = a.pathway_id)
  AND NOT EXISTS (SELECT 1 FROM ptl.rtt_event_issue e WHERE e.pathway_id = a.pathway_id AND e.rule_id = 'V27')
ORDER BY a.pathway_id LIMIT 1;
UPDATE ptl.patient p
SET nhs_number = (SELECT (n9::text || ptl_synth.nhs_check_digit(n9))::ptl.nhs_number
                  FROM generate_series(990000001::bigint, 990000200) n9
                  WHERE ptl_synth.nhs_check_digit(n9) < 10
                    AND NOT EXISTS (SELECT 1 FROM ptl.patient x
                                    WHERE x.nhs_number = (n9::text || ptl_synth.nhs_check_digit(n9))::ptl.nhs_number)
                  ORDER BY n9 LIMIT 1),
    updated_at = now()
FROM unpaired u WHERE p.patient_id = u.changed;
-- (the refreshes' table of recomputed pathways, refilled)
DELETE FROM pg_temp.rtt_target;
INSERT INTO pg_temp.rtt_target SELECT p.pathway_id FROM ptl.pathway p JOIN unpaired u ON p.patient_id = u.changed;
SELECT cmp_ok(ptl.validate('2025-04-30', '2025-04-30'), '>', 0::bigint, 'validated at the same census');
SELECT ok((SELECT count(*) = 1 FROM unpaired)
          AND NOT EXISTS (SELECT 1 FROM ptl.validation_issue i
                          WHERE i.rule_id = 'V07' AND i.pathway_id IN (SELECT partner FROM unpaired)),
          'partners across records: the former partner of a renumbered patient has no V07 issue');
CREATE TEMP TABLE keyed_issue AS SELECT * FROM ptl.validation_issue;
SELECT lives_ok($$SELECT ptl.validate('2025-04-30')$$, 'every pathway validated again');
SELECT is((SELECT count(*) FROM ((TABLE keyed_issue EXCEPT ALL TABLE ptl.validation_issue)
                                 UNION ALL (TABLE ptl.validation_issue EXCEPT ALL TABLE keyed_issue)) x),
          0::bigint, 'partners across records: validating the changed record''s partners equals validating everything');

SELECT * FROM finish();
ROLLBACK;
