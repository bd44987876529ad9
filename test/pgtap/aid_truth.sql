-- Mutual aid on a generated ICS, checked by rules written again in plain
-- SQL: every suggestion is feasible (clinical-theatre.md 6.2-6.3), greedy
-- equals a plain loop over patients by longest wait, optimal serves at
-- least as many wait-days and leaves nobody with a free feasible slot, and
-- a moved patient keeps the clock (the destination reports the same clock
-- start; the origin stops reporting it; the ICS list is the same size).
BEGIN;
SELECT plan(11);

CREATE EXTENSION IF NOT EXISTS ptl_synth;
SET datestyle = 'ISO, YMD';
SELECT count(*) FROM ptl_synth.generate(6000, seed => 31) b, ptl.load(b) l;
CALL ptl.refresh('2025-03-31');
ANALYZE;
SELECT count(*) FROM ptl_synth.mutual_aid(31);

CREATE TEMP TABLE cand AS SELECT * FROM ptl.mutual_aid_candidate;
CREATE TEMP TABLE slot AS SELECT * FROM ptl.mutual_aid_free_slot;
CREATE TEMP TABLE sug AS
SELECT m.* FROM unnest(ARRAY['greedy', 'optimal']) mode, ptl.mutual_aid_suggestions(mode) m;

SELECT cmp_ok((SELECT count(*) FROM sug WHERE reason = 'SUGGESTED' AND plan_mode = 'greedy'), '>', 3::bigint,
              'greedy suggests moves');
SELECT is((SELECT count(*) FROM sug s JOIN cand c USING (pathway_id)
           WHERE s.reason = 'SUGGESTED'
             AND NOT (c.opted_in AND NOT c.clinician_veto AND NOT c.suspended AND c.age >= 18
                      AND NOT c.tertiary_referral AND c.clinical_priority::text IN ('P3', 'P4')
                      AND c.census - c.clock_start >= 280
                      AND (c.tci_date IS NULL OR c.tci_date - c.census > 56))),
          0::bigint, 'eligibility (6.2): every suggested patient opted in, unvetoed, adult, not tertiary, P3/P4, 40 weeks, no TCI in 8 weeks');
SELECT is((SELECT count(*) FROM sug s JOIN cand c USING (pathway_id) JOIN slot q USING (slot_id)
           WHERE s.reason = 'SUGGESTED'
             AND NOT (q.treatment_function = c.treatment_function AND q.offering_org <> c.provider_org
                      AND (q.accepted_groups IS NULL OR left(c.procedure_code, 3) = ANY (q.accepted_groups))
                      AND ptl.capability_rank(q.capability) >= ptl.capability_rank(c.required_capability)
                      AND (c.radius_miles IS NULL
                           OR ptl.haversine_miles(c.latitude, c.longitude, q.latitude, q.longitude) <= c.radius_miles)
                      AND q.slot_date >= c.census + 14
                      AND (c.expected_date IS NULL OR c.expected_date - q.slot_date >= 28))),
          0::bigint, 'feasibility (6.3): specialty, another provider, group, capability, radius, lead time, gain');
SELECT is((SELECT count(*) FROM (SELECT plan_mode, slot_id FROM sug WHERE reason = 'SUGGESTED'
                                 GROUP BY 1, 2 HAVING count(*) > 1) x),
          0::bigint, 'no slot is given twice');

-- Greedy again as a plain loop (6.4 mode A).
CREATE TEMP TABLE feasible AS
SELECT c.pathway_id, c.census - c.clock_start AS wait, c.clock_start, q.slot_id, q.slot_date,
       ptl.haversine_miles(c.latitude, c.longitude, q.latitude, q.longitude) AS miles
FROM cand c JOIN slot q
  ON q.treatment_function = c.treatment_function AND q.offering_org <> c.provider_org
 AND ptl.capability_rank(q.capability) >= ptl.capability_rank(c.required_capability)
 AND (c.radius_miles IS NULL OR ptl.haversine_miles(c.latitude, c.longitude, q.latitude, q.longitude) <= c.radius_miles)
 AND q.slot_date >= c.census + 14 AND (c.expected_date IS NULL OR c.expected_date - q.slot_date >= 28)
WHERE c.opted_in AND NOT c.clinician_veto AND NOT c.suspended AND c.age >= 18 AND NOT c.tertiary_referral
  AND c.clinical_priority::text IN ('P3', 'P4') AND c.census - c.clock_start >= 280
  AND (c.tci_date IS NULL OR c.tci_date - c.census > 56);
CREATE TEMP TABLE greedy_again (pathway_id bigint, slot_id bigint);
DO $$
DECLARE p record; q bigint;
BEGIN
    FOR p IN SELECT DISTINCT pathway_id, wait, clock_start FROM feasible ORDER BY wait DESC, clock_start, pathway_id LOOP
        SELECT f.slot_id INTO q FROM feasible f
        WHERE f.pathway_id = p.pathway_id AND f.slot_id NOT IN (SELECT slot_id FROM greedy_again)
        ORDER BY f.slot_date, f.miles, f.slot_id LIMIT 1;
        IF q IS NOT NULL THEN INSERT INTO greedy_again VALUES (p.pathway_id, q); END IF;
    END LOOP;
END $$;
SELECT set_eq('SELECT pathway_id, slot_id FROM sug WHERE plan_mode = ''greedy'' AND reason = ''SUGGESTED''',
              'SELECT pathway_id, slot_id FROM greedy_again',
              'greedy (6.4 mode A) equals a plain loop by longest wait taking the earliest, nearest free slot');
SELECT cmp_ok((SELECT sum(wait_days) FROM sug WHERE plan_mode = 'optimal' AND reason = 'SUGGESTED'), '>=',
              (SELECT sum(wait_days) FROM sug WHERE plan_mode = 'greedy' AND reason = 'SUGGESTED'),
              'optimal (6.4 mode B) serves at least the wait-days greedy serves');
SELECT is((SELECT count(*) FROM feasible f
           WHERE f.pathway_id NOT IN (SELECT pathway_id FROM sug WHERE plan_mode = 'optimal' AND reason = 'SUGGESTED')
             AND f.slot_id NOT IN (SELECT slot_id FROM sug WHERE plan_mode = 'optimal' AND reason = 'SUGGESTED')),
          0::bigint, 'optimal leaves no unserved eligible patient with a free feasible slot');

-- Move the longest waiter greedy suggests; refresh; the clock continues.
CREATE TEMP TABLE moved AS
SELECT s.pathway_id, s.slot_id, s.destination, s.days_saved, l.clock_start, l.patient_id,
       (SELECT count(*) FROM ptl.ptl) AS ptl_before
FROM sug s JOIN ptl.ptl l USING (pathway_id)
WHERE s.plan_mode = 'greedy' AND s.reason = 'SUGGESTED'
ORDER BY s.wait_days DESC, s.pathway_id LIMIT 1;
SELECT ok(ptl.transfer_for_mutual_aid(m.pathway_id, m.slot_id, '2025-03-31', m.days_saved) > 0, 'the move is recorded')
FROM moved m;
CALL ptl.refresh('2025-03-31');
SELECT results_eq('SELECT l.provider_org, l.clock_start, l.days_waited FROM ptl.ptl l
                   JOIN ptl.mutual_aid_transfer t ON t.destination_pathway_id = l.pathway_id',
                  'SELECT destination, clock_start, DATE ''2025-03-31'' - clock_start FROM moved',
                  'the destination reports the patient with the original clock start (inter-provider transfer)');
SELECT is((SELECT count(*) FROM ptl.ptl l JOIN moved m USING (pathway_id)), 0::bigint,
          'the origin no longer reports the pathway');
SELECT is((SELECT count(*) FROM ptl.ptl), (SELECT ptl_before FROM moved), 'the ICS list is the same size');
SELECT * FROM finish();
ROLLBACK;
