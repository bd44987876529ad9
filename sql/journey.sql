-- Journey stages (docs/journey.md): each open pathway's stage derived from
-- its events and waiting-list entries, time in stage and on the pathway, the
-- weekly flows between stages, a trust's own stage rules, and bottlenecks
-- with their clearance time.  Hand-built pathways, census 2025-03-31; all
-- undone at the end.
SET search_path = ptl, public;
SET datestyle = 'ISO, YMD';
BEGIN;
INSERT INTO organisation (org_code, name) VALUES ('JA1', 'Journey Alpha NHS Trust'), ('JA2', 'Journey Beta NHS Trust');
INSERT INTO site (site_code, org_code, name) VALUES ('JA101', 'JA1', 'Alpha General'), ('JA201', 'JA2', 'Beta General');
INSERT INTO batch (batch_id, org_code, source_system) VALUES (951, 'JA1', 'PAS'), (952, 'JA2', 'PAS');

-- A pathway with its patient and events 'date kind [status [ref_date]]', ';'-separated ('-': no status).
CREATE FUNCTION pg_temp.journey_pathway(provider text, ppid text, tfc text, events text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    b bigint := CASE provider WHEN 'JA1' THEN 951 ELSE 952 END;
    pat bigint; pw bigint; e text; f text[]; n int := 0;
BEGIN
    INSERT INTO ptl.patient (org_code, source_system, local_patient_id, batch_id)
    VALUES (provider, 'PAS', 'P-' || ppid, b) RETURNING patient_id INTO pat;
    INSERT INTO ptl.pathway (patient_id, provider_org, site_code, ppid, ppid_issuer, treatment_function, referral_received, batch_id)
    VALUES (pat, provider, provider || '01', ppid, 'JA1', tfc, split_part(events, ' ', 1)::date, b)
    RETURNING pathway_id INTO pw;
    FOREACH e IN ARRAY string_to_array(events, ';') LOOP
        f := regexp_split_to_array(trim(e), '\s+');
        n := n + 1;
        INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, ref_date, batch_id)
        VALUES (pw, pat, 'E' || n, f[1]::date, f[2]::ptl.event_kind, nullif(f[3], '-')::ptl.rtt_status, f[4]::date, b);
    END LOOP;
    RETURN pw;
END $$;

SELECT count(pg_temp.journey_pathway(provider, ppid, tfc, events)) AS pathways
FROM (VALUES
    -- a new referral, not yet seen
    ('JA1', 'NEW1', '110', '2025-03-03 referral'),
    -- a first-appointment DNA leaves the patient waiting for the first appointment
    ('JA1', 'DNA1', '110', '2025-01-06 referral; 2025-02-03 dna 33'),
    -- seen twice: one stay awaiting follow-up, from the first attendance
    ('JA1', 'FUP1', '110', '2024-12-02 referral; 2025-01-13 outpatient 10; 2025-02-24 outpatient 20'),
    -- listed without a date
    ('JA1', 'DTA1', '110', '2024-11-04 referral; 2024-12-02 outpatient 10; 2025-01-06 decision_to_admit 20'),
    -- a date offered: booked
    ('JA1', 'BKD1', '110', '2024-11-04 referral; 2024-12-02 outpatient 10; 2025-01-06 decision_to_admit 20; 2025-03-10 tci_offer - 2025-04-14'),
    -- a date offered and declined: back to no date
    ('JA1', 'DEC1', '110', '2024-10-07 referral; 2024-11-04 outpatient 10; 2024-12-02 decision_to_admit 20; 2025-02-03 tci_offer - 2025-02-24; 2025-02-10 tci_declined - 2025-02-10'),
    -- active monitoring stops the clock, and the pathway waits in it
    ('JA1', 'AM1', '130', '2024-12-02 referral; 2025-01-06 outpatient 10; 2025-02-17 decision 32'),
    -- treated: closed, so not in the journey of open pathways
    ('JA1', 'TRT1', '130', '2024-12-02 referral; 2025-01-06 outpatient 10; 2025-03-10 admission 30'),
    -- transferred: the sender's record waits in transferred, the receiver's for its first appointment
    ('JA1', 'MOVE1', '100', '2025-01-06 referral; 2025-02-03 transfer_out 21'),
    ('JA2', 'MOVE1', '100', '2025-02-04 transfer_in 20 2025-01-06'),
    -- an event after the census does not count yet
    ('JA1', 'FUT1', '110', '2025-03-10 referral; 2025-04-10 outpatient 10'),
    -- on the admitted list through its waiting-list entry only (no decision event)
    ('JA1', 'ENT1', '110', '2024-12-02 referral; 2024-12-16 outpatient 10'),
    -- JA2 records a nurse triage as an outpatient attendance with no status
    ('JA2', 'TRI2', '120', '2025-02-03 referral; 2025-02-17 outpatient')
) v (provider, ppid, tfc, events);
-- ENT1's entry: decided 13 January, admission booked for 7 April.  When it
-- was booked is not known (no theatre booking): from when ptl saw it, here
-- after the census, so from the census.
INSERT INTO waiting_list_entry (pathway_id, patient_id, entry_ref, intended_management, decision_to_admit, tci_date, batch_id)
SELECT pathway_id, patient_id, 'W1', '1', '2025-01-13', '2025-04-07', 951 FROM pathway WHERE ppid = 'ENT1';

CALL refresh('2025-03-31');
SELECT step->>'step' AS step, (step->>'rows')::int AS rows
FROM refresh_run r, jsonb_array_elements(r.steps) step
WHERE r.run_id = (SELECT max(run_id) FROM refresh_run) AND step->>'step' = 'journey';

-- Where each open pathway is, how long it has been there and on the pathway.
SELECT j.provider_org, p.ppid, j.stage, j.stage_entered, j.entered_by, j.days_in_stage, j.weeks_in_stage,
       j.days_on_pathway, j.rtt_days_waited
FROM journey j JOIN pathway p USING (pathway_id)
ORDER BY j.provider_org, p.ppid;
-- TRT1 is treated: a closed stage, not in ptl.journey.
SELECT p.ppid, e.stage, e.entered FROM journey_episode e JOIN pathway p USING (pathway_id)
WHERE p.ppid = 'TRT1' AND e.left_on IS NULL;
-- DEC1's whole journey: each stay, why it ended (the next stage), and when.
SELECT e.episode_no, e.previous_stage, e.stage, e.entered, e.entered_by, e.left_on, e.next_stage
FROM journey_episode e JOIN pathway p USING (pathway_id)
WHERE p.ppid = 'DEC1' ORDER BY e.episode_no;

-- Weekly flows: in the week of 10 February DEC1 went back from booked to no date.
SELECT week_starting, provider_org, treatment_function, from_stage, to_stage, pathways
FROM journey_flow WHERE week_starting BETWEEN '2025-02-03' AND '2025-02-10'
ORDER BY week_starting, provider_org, treatment_function, from_stage NULLS FIRST, to_stage;

-- The same per stage: JA1's trauma and orthopaedics (110) in the week of
-- 3 February: DEC1 entered booked; in the next week it left it for no date.
SELECT week_starting, stage, entered, left_stage, left_for
FROM journey_stage_week WHERE provider_org = 'JA1' AND treatment_function = '110'
  AND week_starting BETWEEN '2025-02-03' AND '2025-02-10'
ORDER BY week_starting, stage;

-- A trust's own coding: JA2's outpatient attendances without a status are
-- nurse triage, not the first appointment.  The rule marks JA2's pathways
-- for the next refresh, which moves TRI2 back to awaiting its first appointment.
INSERT INTO journey_stage_rule (provider_org, kind, rtt_status, stage, note)
VALUES ('JA2', 'outpatient', NULL, NULL, 'JA2 records nurse triage as an outpatient attendance without a status');
SELECT count(*) AS marked FROM rtt_dirty_pathway d JOIN pathway p USING (pathway_id) WHERE p.provider_org = 'JA2';
SELECT provider_org, kind, rtt_status, stage FROM journey_stage_rule_in_force
WHERE provider_org IN ('JA1', 'JA2') AND kind = 'outpatient' AND rtt_status IN ('*', '10')
ORDER BY provider_org, rtt_status;
CALL refresh('2025-03-31');
SELECT p.ppid, j.stage, j.stage_entered FROM journey j JOIN pathway p USING (pathway_id) WHERE p.ppid = 'TRI2';

-- Bottlenecks.  JA1's urology (101): four referrals waiting since January,
-- two of them seen in March; four new referrals in March.  Over the 4 weeks
-- to the census (from 3 March): the first-appointment queue went from 4 to
-- 6, entered 4 (1.00 a week) and left 2 (0.50 a week), so it grows 0.50 a
-- week and clears in 6 / 0.50 = 12.0 weeks (clearance time = queue /
-- weekly exits, as RTT guidance 9.1 defines it for the list): a bottleneck.  Follow-up
-- gained the 2 and lost none: it never clears at this rate (NULL).
SELECT count(pg_temp.journey_pathway('JA1', ppid, '101', events)) AS urology
FROM (VALUES ('Q1', '2025-01-06 referral; 2025-03-10 outpatient 10'),
             ('Q2', '2025-01-06 referral; 2025-03-17 outpatient 10'),
             ('Q3', '2025-01-06 referral'), ('Q4', '2025-01-06 referral'),
             ('Q5', '2025-03-10 referral'), ('Q6', '2025-03-10 referral'),
             ('Q7', '2025-03-17 referral'), ('Q8', '2025-03-24 referral')) v (ppid, events);
CALL refresh('2025-03-31');
SELECT stage, queue_now, queue_before, entered_per_week, exited_per_week, growth_per_week, clearance_weeks, bottleneck
FROM journey_bottlenecks('2025-03-31', 4) WHERE provider_org = 'JA1' AND treatment_function = '101';
-- The same at an earlier census, one week back: on 10 March Q1 left and Q5, Q6 came.
SELECT stage, queue_now, queue_before, entered_per_week, exited_per_week, clearance_weeks, bottleneck
FROM journey_bottlenecks('2025-03-10', 1) WHERE provider_org = 'JA1' AND treatment_function = '101';
-- The view reads the last refresh with the weeks in ptl.ops_setting (4).
SELECT count(*) AS same FROM journey_bottleneck v
JOIN journey_bottlenecks('2025-03-31', 4) f USING (provider_org, treatment_function, stage)
WHERE v.clearance_weeks IS NOT DISTINCT FROM f.clearance_weeks AND v.queue_now = f.queue_now;
-- Active monitoring and transferred are not queues the provider owes: never bottlenecks.
SELECT DISTINCT stage, bottleneck FROM journey_bottleneck WHERE stage IN ('active_monitoring', 'transferred');

-- Incremental: NEW1 is seen on 2 April; the next refresh re-derives it and
-- the others' stays are a week longer.
INSERT INTO pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, batch_id)
SELECT pathway_id, patient_id, 'E9', '2025-04-02', 'outpatient', '10', 951 FROM pathway WHERE ppid = 'NEW1';
CALL refresh('2025-04-07');
SELECT p.ppid, j.stage, j.stage_entered, j.days_in_stage, j.census FROM journey j JOIN pathway p USING (pathway_id)
WHERE p.ppid IN ('NEW1', 'DNA1') ORDER BY p.ppid;

ROLLBACK;

-- Errors name the value and the rule.
\set VERBOSITY terse
SELECT * FROM journey_bottlenecks('2025-03-31', 0);
SELECT journey_compute('infinity');
INSERT INTO journey_stage_rule (kind, rtt_status, stage) VALUES ('outpatient', '1O', 'treated');
INSERT INTO journey_stage_rule (kind, stage) VALUES ('outpatient', 'seen');
\set VERBOSITY default
