-- Mutual aid, PIDMAS eligibility and validation campaigns on a generated ICS, checked by rules written again in plain
-- SQL: every suggestion is feasible (docs/ics.md), greedy
-- equals a plain loop over patients by longest wait, optimal serves at
-- least as many wait-days and leaves nobody with a free feasible slot, and
-- a moved patient keeps the clock (the destination reports the same clock
-- start; the origin stops reporting it; the ICS list is the same size).
BEGIN;
SELECT plan(23);

CREATE EXTENSION IF NOT EXISTS ptl_synth;
SET datestyle = 'ISO, YMD';
SELECT count(*) FROM ptl_synth.generate(6000, seed => 31) b, ptl.load(b) l;
CALL ptl.refresh('2025-03-31');
SELECT count(*) FROM ptl_synth.mutual_aid(31);
SELECT count(*) FROM ptl.batch b, ptl.load(b.batch_id) WHERE b.status = 'ready';

-- Rebuilt snapshots: for the census just refreshed, the rebuilt one holds
-- the same periods with the same waits as the refresh's own.
CREATE TEMP TABLE kept AS SELECT * FROM ptl.census_snapshot WHERE census_date = '2025-03-31';
SELECT is(ptl.backfill_census_snapshots('2025-03-31', '2025-03-31'), 0::bigint,
          'backfill leaves a census that has a snapshot alone');
DELETE FROM ptl.census_snapshot WHERE census_date = '2025-03-31';
SELECT cmp_ok(ptl.backfill_census_snapshots('2025-03-03', '2025-03-31'), '>', 0::bigint, 'backfill writes five weeks');
SELECT set_eq($$SELECT pathway_id, period_no, provider_org, treatment_function, clock_start, days_waited
                FROM ptl.census_snapshot WHERE census_date = '2025-03-31'$$,
              $$SELECT pathway_id, period_no, provider_org, treatment_function, clock_start, days_waited FROM kept$$,
              'a rebuilt snapshot equals the refresh''s at the same census');
DELETE FROM ptl.census_snapshot WHERE census_date = '2025-03-31';
INSERT INTO ptl.census_snapshot SELECT * FROM kept;

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

-- PIDMAS eligibility (NHS England's cohort 1): every eligible patient meets the
-- rules written again here; the wait edge moves one day either side.
SELECT is((SELECT count(*) FROM ptl.pidmas_eligibility e JOIN ptl.ptl l USING (pathway_id, period_no)
           WHERE e.cohort = 'over_40_weeks' AND e.ineligible_reason IS NULL
             AND NOT (l.referral_priority = 'routine' AND l.days_waited >= 281 AND e.age >= 18
                      AND (l.waiting_list_entry_id IS NULL OR l.tci_date IS NULL
                           OR l.tci_date NOT BETWEEN l.census AND l.census + 56))),
          0::bigint, 'PIDMAS: every eligible patient is routine, over 40 weeks, adult, with no TCI within 8 weeks');
CREATE TEMP TABLE edge AS
SELECT pathway_id, days_waited FROM ptl.pidmas_eligibility
WHERE cohort = 'over_40_weeks' AND ineligible_reason IS NULL ORDER BY days_waited, pathway_id LIMIT 1;
UPDATE ptl.pidmas_cohort SET min_wait_days = (SELECT days_waited FROM edge) WHERE cohort = 'over_40_weeks';
SELECT is((SELECT ineligible_reason FROM ptl.pidmas_eligibility JOIN edge USING (pathway_id) WHERE cohort = 'over_40_weeks'),
          NULL, 'PIDMAS: a wait of exactly the minimum is eligible');
UPDATE ptl.pidmas_cohort SET min_wait_days = (SELECT days_waited + 1 FROM edge) WHERE cohort = 'over_40_weeks';
SELECT is((SELECT ineligible_reason FROM ptl.pidmas_eligibility JOIN edge USING (pathway_id) WHERE cohort = 'over_40_weeks'),
          'WAIT_TOO_SHORT', 'PIDMAS: a day short of the minimum is not');
UPDATE ptl.pidmas_cohort SET min_wait_days = 281 WHERE cohort = 'over_40_weeks';

-- A validation campaign over 26 weeks: the cohort is the PTL over 182 days.
SELECT ptl.start_validation_campaign('26 weeks', 26) AS campaign \gset
SELECT is((SELECT count(*) FROM ptl.validation_campaign_pathway WHERE campaign_id = :campaign),
          (SELECT count(DISTINCT pathway_id) FROM ptl.ptl WHERE days_waited > 182),
          'campaign cohort: every pathway on the PTL over 26 weeks not validated in 12 weeks');
CREATE TEMP TABLE answers AS
SELECT cp.pathway_id, (ARRAY['still_wants_treatment', 'no_longer_required', 'treated_elsewhere', 'unavailable_until',
                             'no_response', 'died'])[row_number() OVER (ORDER BY w.entry_id IS NULL, cp.pathway_id)] AS answer
FROM ptl.validation_campaign_pathway cp
LEFT JOIN ptl.waiting_list_entry w ON w.pathway_id = cp.pathway_id AND w.removed_date IS NULL
WHERE cp.campaign_id = :campaign
ORDER BY w.entry_id IS NULL, cp.pathway_id LIMIT 6;
INSERT INTO ptl.validation_contact (campaign_id, pathway_id, contacted_on, method, answer, unavailable_until)
SELECT :campaign, pathway_id, '2025-03-31', 'letter', answer,
       CASE WHEN answer = 'unavailable_until' THEN DATE '2025-06-30' END
FROM answers;
SELECT is((SELECT count(*) FROM ptl.validation_contact k, ptl.apply_validation_contact(k.contact_id) r
           WHERE k.campaign_id = :campaign), 6::bigint, 'six answers applied');
SELECT throws_ok(format('SELECT ptl.apply_validation_contact(%s)',
                        (SELECT min(contact_id) FROM ptl.validation_contact WHERE campaign_id = :campaign)),
                 '55000', NULL, 'an answer is applied once');
CALL ptl.refresh('2025-03-31');
SELECT results_eq($$SELECT a.answer, r.stop_status::text, (l.pathway_id IS NOT NULL) AS on_ptl, l.order_group
                    FROM answers a
                    LEFT JOIN ptl.rtt_period r ON r.pathway_id = a.pathway_id AND r.clock_stop = DATE '2025-03-31'
                    LEFT JOIN ptl.ptl l ON l.pathway_id = a.pathway_id
                    ORDER BY a.answer$$,
                  $$VALUES ('died', '36', false, NULL::text), ('no_longer_required', '34', false, NULL),
                           ('no_response', NULL, true, 'by_target'), ('still_wants_treatment', NULL, true, 'by_target'),
                           ('treated_elsewhere', '34', false, NULL), ('unavailable_until', NULL, true, 'set_aside')$$,
                  'answers applied: 34 for no longer required and treated elsewhere, 36 for died, suspension sets aside, the rest stay');
SELECT results_eq($$SELECT cohort > 6, contacted, validated, removed, no_response FROM ptl.validation_campaign_summary
                    WHERE campaign_id = $$ || :campaign,
                  $$VALUES (true, 6::bigint, 5::bigint, 3::bigint, 1::bigint)$$,
                  'campaign summary: 6 contacted, 5 validated (no response does not count), 3 removed');
SELECT ptl.start_validation_campaign('26 weeks again', 26) AS again \gset
SELECT is((SELECT count(*) FROM ptl.validation_campaign_pathway cp JOIN answers a USING (pathway_id)
           WHERE cp.campaign_id = :again),
          1::bigint, 'a second campaign leaves out those validated within 12 weeks (only the non-responder is picked again)');
SELECT * FROM finish();
ROLLBACK;
