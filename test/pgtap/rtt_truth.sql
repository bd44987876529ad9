-- The RTT clock engine against the generator's truth: for every pathway
-- record the generator did not spoil, the stored clock is the one the rules
-- give (pathway_truth), the bulk path equals the reference function, and the
-- PTL, the refresh and the return agree with each other.
BEGIN;
SELECT plan(12);

CREATE EXTENSION IF NOT EXISTS ptl_synth;
SELECT count(*) FROM ptl_synth.generate(20000, seed => 11) b, ptl.load(b) l;
CALL ptl.refresh('2025-03-31');

CREATE TEMP TABLE compared AS
SELECT t.*, p.pathway_id, r.clock_start, r.clock_stop, r.stop_status::text AS stop_status, r.outcome,
       r.days_waited, r.has_dta, rp.responsible
FROM ptl_synth.pathway_truth t
JOIN ptl.pathway p ON p.provider_org = t.org_code AND p.ppid_issuer = t.ppid_issuer AND p.ppid = t.ppid
JOIN ptl.rtt_pathway rp ON rp.pathway_id = p.pathway_id
JOIN ptl.rtt_period r ON r.pathway_id = p.pathway_id AND r.period_no = rp.periods
WHERE NOT t.faulted;

SELECT cmp_ok((SELECT count(*) FROM compared), '>', 15000::bigint, 'most generated pathway records are compared');
SELECT is((SELECT count(*) FROM compared WHERE clock_start IS DISTINCT FROM expected_clock_start), 0::bigint,
          'rules 1-3, 4.8: every clock start is the expected one (referral, original start on transfer, rebook, ready after monitoring)');
SELECT is((SELECT count(*) FROM compared WHERE clock_stop IS DISTINCT FROM expected_clock_stop), 0::bigint,
          'rules 4-5: every clock stop is the expected one, and open pathways have none');
SELECT is((SELECT count(*) FROM compared WHERE expected_stop_status IS NOT NULL
                                           AND stop_status IS DISTINCT FROM expected_stop_status), 0::bigint,
          'every stop carries the status that stopped it');
SELECT is((SELECT count(*) FROM compared
           WHERE outcome IS DISTINCT FROM CASE expected_outcome WHEN 'stopped_admitted' THEN 'admitted'
                                                               WHEN 'stopped_non_admitted' THEN 'non_admitted'
                                                               WHEN 'nullified' THEN 'nullified'
                                                               ELSE 'incomplete' END), 0::bigint,
          'outcomes: admitted only by an admission, nullified by a first DNA (5e), transfers still incomplete');
SELECT is((SELECT count(*) FROM compared WHERE expected_days IS NOT NULL AND days_waited <> expected_days), 0::bigint,
          '5.1: days waited are stop (or census) minus start');
SELECT is((SELECT count(*) FROM compared WHERE expected_outcome = 'waiting' AND has_dta IS DISTINCT FROM expected_dta), 0::bigint,
          'Part 2A: a decision to admit is seen exactly where the truth has one');
SELECT is((SELECT count(*) FROM compared WHERE (expected_outcome = 'transferred_out') = responsible), 0::bigint,
          '4.8: a provider stops reporting a pathway it transferred out, and only then');

-- The bulk aggregate returns exactly what the reference function returns
-- (same-day events in the engine's order, whatever the array's).
SELECT is((SELECT count(*) FROM (
    (SELECT r.pathway_id, r.period_no, r.clock_start, r.clock_stop, r.stop_status, r.outcome,
            r.days_waited, r.week_band, r.has_dta, r.adjusted_days FROM ptl.rtt_period r
     EXCEPT
     SELECT e.pathway_id, x.* FROM (
         SELECT e.pathway_id, array_agg((e.event_date, e.kind, e.rtt_status, e.ref_date)::ptl.rtt_event
                                        ORDER BY e.event_date, e.event_id) AS events,
                bool_or(p.referral_priority = 'two_week_wait') AS tww
         FROM ptl.pathway_event e JOIN ptl.pathway p USING (pathway_id)
         -- a service that is not consultant-led has no clock (V23)
         JOIN ptl.treatment_function_in_use tf ON tf.tfc = p.treatment_function AND tf.consultant_led
         GROUP BY e.pathway_id) e,
         ptl.rtt_periods(e.events, '2025-03-31', e.tww) x)
    UNION ALL
    (SELECT e.pathway_id, x.* FROM (
         SELECT e.pathway_id, array_agg((e.event_date, e.kind, e.rtt_status, e.ref_date)::ptl.rtt_event
                                        ORDER BY e.event_date, e.event_id) AS events,
                bool_or(p.referral_priority = 'two_week_wait') AS tww
         FROM ptl.pathway_event e JOIN ptl.pathway p USING (pathway_id)
         -- a service that is not consultant-led has no clock (V23)
         JOIN ptl.treatment_function_in_use tf ON tf.tfc = p.treatment_function AND tf.consultant_led
         GROUP BY e.pathway_id) e,
         ptl.rtt_periods(e.events, '2025-03-31', e.tww) x
     EXCEPT
     SELECT r.pathway_id, r.period_no, r.clock_start, r.clock_stop, r.stop_status, r.outcome,
            r.days_waited, r.week_band, r.has_dta, r.adjusted_days FROM ptl.rtt_period r)) d),
    0::bigint, 'the bulk path (ptl.rtt_periods_agg) equals the reference function row for row');

-- Part 2 of the return (computed from the events as at the month end) is the PTL.
SELECT is((SELECT sum(pathways) FROM ptl.rtt_return('2025-03-31') WHERE part = 'Part_2' AND line = 'C_999'),
          (SELECT count(*)::numeric FROM ptl.census_snapshot WHERE census_date = '2025-03-31'),
          'Part 2 of the March return counts the list at the March census');

-- An incremental refresh after a change equals a full one (census aside: a
-- stopped period keeps the census it was computed at).
UPDATE ptl.pathway_event SET rtt_status = '30', kind = 'admission'
WHERE event_id IN (SELECT min(event_id) FROM ptl.pathway_event WHERE kind = 'tci_offer' GROUP BY pathway_id LIMIT 200);
CALL ptl.refresh('2025-04-06');
CREATE TEMP TABLE incremental AS SELECT * FROM ptl.rtt_period;
ALTER TABLE incremental DROP COLUMN census;
CALL ptl.refresh('2025-04-06', "full" => true);
CREATE TEMP TABLE full_refresh AS SELECT * FROM ptl.rtt_period;
ALTER TABLE full_refresh DROP COLUMN census;
SELECT is((SELECT count(*) FROM ((TABLE incremental EXCEPT TABLE full_refresh)
                                UNION ALL (TABLE full_refresh EXCEPT TABLE incremental)) d),
          0::bigint, 'an incremental refresh stores exactly what a full refresh does');

-- The snapshot and WLMDS list the same pathways.
SELECT is((SELECT count(*) FROM ptl.census_snapshot WHERE census_date = '2025-04-06'),
          (SELECT count(*) FROM ptl.wlmds('2025-04-06')),
          'the census snapshot and the WLMDS extract list the same pathways');

SELECT * FROM finish();
ROLLBACK;
