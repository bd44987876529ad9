-- Proposing theatre lists from the tables (docs/theatre.md): sessions less
-- leave, cancelled and emergency lists and existing bookings; the admitted
-- list in its order; pre-operative assessment and its expiry, patient
-- unavailability, equipment, day-case units; a reason for every patient
-- not proposed; accepting, rejecting, and a second run.  Undone at the end.
SET search_path = ptl, public;
SET datestyle = 'ISO, YMD';
\set ON_ERROR_ROLLBACK on
BEGIN;
-- Proposal and run numbers start from 1 here, whatever other scripts drew
-- before (a sequence is not rolled back with them; no script keeps a row).
SELECT setval(pg_get_serial_sequence('ptl.theatre_proposal', 'proposal_id'), coalesce(max(proposal_id), 0) + 1, false) > 0 AS numbered
FROM theatre_proposal;
SELECT setval(pg_get_serial_sequence('ptl.theatre_proposal_run', 'run_id'), coalesce(max(run_id), 0) + 1, false) > 0 AS numbered
FROM theatre_proposal_run;
INSERT INTO organisation (org_code, name, org_kind) VALUES ('QPP', 'Propose ICB', 'ics');
INSERT INTO organisation (org_code, name, parent_org_code) VALUES ('RP1', 'Propose Hospitals NHS Trust', 'QPP');
INSERT INTO site (site_code, org_code, name) VALUES ('RP101', 'RP1', 'Propose General'), ('RP102', 'RP1', 'Propose Day Unit');
INSERT INTO commissioner (commissioner_code, name) VALUES ('01P', 'Propose Sub-ICB');
INSERT INTO batch (batch_id, org_code, source_system) VALUES (971, 'RP1', 'PAS');
INSERT INTO theatre (theatre_code, site_code, name, equipment, day_case_only) VALUES
    ('TH1', 'RP101', 'Main 1', '{image_intensifier}', false),
    ('TH2', 'RP102', 'Day unit 1', '{}', true);
INSERT INTO procedure_requirement VALUES ('W37', 'image_intensifier'), ('M61.1', 'robot');

-- A trauma and orthopaedics patient listed on `listed` with a priority, a
-- procedure, planned minutes, a consultant and an intended management.
CREATE FUNCTION pg_temp.listed(name text, listed date, priority clinical_priority, minutes int,
                               consultant text DEFAULT 'C1', proc text DEFAULT 'W40.1',
                               management text DEFAULT '2', tci date DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE pat bigint; pw bigint; e bigint;
BEGIN
    INSERT INTO ptl.patient (org_code, source_system, local_patient_id, date_of_birth, batch_id)
    VALUES ('RP1', 'PAS', name, '1955-01-01', 971) RETURNING patient_id INTO pat;
    INSERT INTO ptl.pathway (patient_id, provider_org, site_code, ppid, ppid_issuer, treatment_function,
                             referral_received, commissioner_code, batch_id)
    VALUES (pat, 'RP1', 'RP101', 'PPID-' || name, 'RP1', '110', listed - 60, '01P', 971) RETURNING pathway_id INTO pw;
    INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, batch_id)
    VALUES (pw, pat, 'R', listed - 60, 'referral', 971);
    INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, batch_id)
    VALUES (pw, pat, 'D', listed, 'decision_to_admit', '20', 971);
    INSERT INTO ptl.waiting_list_entry (pathway_id, patient_id, entry_ref, procedure_code, intended_management,
                                        clinical_priority, decision_to_admit, expected_duration_minutes,
                                        consultant_code, tci_date, batch_id)
    VALUES (pw, pat, 'WL-' || name, proc, management, priority, listed, minutes, consultant, tci, 971)
    RETURNING entry_id INTO e;
    RETURN e;
END $$;

SELECT count(*) AS listed FROM (VALUES
    (pg_temp.listed('FIRST',      '2025-04-01', 'P2', 120)),                -- P2 at 107% of target
    (pg_temp.listed('SECOND',     '2025-01-10', 'P3', 90)),                 -- P3 at 123%: ahead of FIRST
    (pg_temp.listed('NO_POA',     '2025-02-01', 'P4', 60)),
    (pg_temp.listed('UNFIT',      '2025-02-01', 'P3', 60)),
    (pg_temp.listed('OLD_POA',    '2025-02-01', 'P3', 60)),
    (pg_temp.listed('AWAY',       '2025-02-01', 'P3', 60)),
    (pg_temp.listed('NO_CONS',    '2025-02-01', 'P3', 60, consultant => 'C9')),
    (pg_temp.listed('ON_LEAVE',   '2025-02-01', 'P3', 60, consultant => 'C2')),
    (pg_temp.listed('ROBOT',      '2025-02-01', 'P3', 60, proc => 'M61.1')),
    (pg_temp.listed('LONG',       '2025-02-01', 'P3', 500)),
    (pg_temp.listed('P5',         '2025-02-01', 'P5', 60)),
    (pg_temp.listed('HAS_TCI',    '2025-02-01', 'P3', 60, tci => '2025-05-20')),
    (pg_temp.listed('NO_MINUTES', '2025-02-01', 'P4', NULL, proc => NULL)),
    (pg_temp.listed('BIG_A',      '2025-03-01', 'P4', 150)),
    (pg_temp.listed('BIG_B',      '2025-03-02', 'P4', 150)),
    (pg_temp.listed('INPATIENT',  '2025-02-01', 'P3', 60, consultant => 'C3', management => '1')),
    (pg_temp.listed('LATER',      '2025-03-03', 'P4', 60)),
    (pg_temp.listed('HIP',        '2025-03-04', 'P4', 60, consultant => 'C3', proc => 'W37.1'))) v (e);
CALL refresh('2025-05-01');

-- Pre-operative assessments: fit for most, none for NO_POA, not fit for
-- UNFIT, and OLD_POA's expired (84 days) before the first bookable date.
INSERT INTO preop_assessment (entry_id, assessed_on, outcome)
SELECT w.entry_id, CASE w.entry_ref WHEN 'WL-OLD_POA' THEN DATE '2025-01-20' ELSE DATE '2025-04-20' END,
       CASE w.entry_ref WHEN 'WL-UNFIT' THEN 'not_fit' ELSE 'fit' END
FROM waiting_list_entry w WHERE w.entry_ref NOT IN ('WL-NO_POA');
-- AWAY is away for the whole fortnight; LATER cannot come before 14 May.
INSERT INTO patient_unavailability (patient_id, unavailable_from, unavailable_to, reason)
SELECT w.patient_id, '2025-05-01', CASE w.entry_ref WHEN 'WL-AWAY' THEN DATE '2025-06-30' ELSE DATE '2025-05-13' END, 'holiday'
FROM waiting_list_entry w WHERE w.entry_ref IN ('WL-AWAY', 'WL-LATER');
INSERT INTO consultant_leave (consultant_code, leave_from, leave_to) VALUES ('C2', '2025-05-12', '2025-05-16');

-- Sessions 12-16 May: C1 has two lists in the main theatre (one already
-- holding a 60-minute case), C2 one (on leave), C3 one in the day unit;
-- an emergency list and a cancelled list are not offered.
INSERT INTO theatre_session (session_id, theatre_code, session_date, planned_start, planned_end, specialty,
                             consultant_code, session_type, cancelled, cancelled_reason) VALUES
    (901, 'TH1', '2025-05-12', '08:00', '12:00', '110', 'C1', 'elective', false, NULL),
    (902, 'TH1', '2025-05-14', '08:00', '12:00', '110', 'C1', 'elective', false, NULL),
    (903, 'TH1', '2025-05-13', '08:00', '12:00', '110', 'C2', 'elective', false, NULL),
    (904, 'TH2', '2025-05-12', '08:00', '12:00', '110', 'C3', 'day_case', false, NULL),
    (905, 'TH1', '2025-05-15', '08:00', '17:00', '110', 'C1', 'emergency', false, NULL),
    (906, 'TH1', '2025-05-16', '08:00', '17:00', '110', 'C1', 'elective', true, 'theatre maintenance');
INSERT INTO theatre_booking (session_id, entry_id, planned_order, planned_minutes)
SELECT 902, w.entry_id, 1, 60 FROM waiting_list_entry w WHERE w.entry_ref = 'WL-HAS_TCI';

-- The list in its order, then the run.
SELECT local_patient_id AS patient, clinical_priority, pct_target_elapsed, list_position
FROM ptl.ptl WHERE provider_org = 'RP1' ORDER BY list_position NULLS LAST, local_patient_id;
CALL propose_theatre_lists('2025-05-12', '2025-05-16');

SELECT run_id > 0 AS ran, from_date, to_date, as_of, turnaround_minutes, sessions, session_minutes,
       minutes_booked_before, cases_considered, cases_proposed, minutes_proposed
FROM theatre_proposal_run;
-- Proposals: 12 May C1 (240 free) and 14 May C1 (165 free after the 60-
-- minute case and its turnaround); start offsets count from the session
-- start, after existing cases.
SELECT p.session_id, s.session_date, w.entry_ref, p.list_position, p.planned_minutes, p.start_offset_minutes, p.status
FROM theatre_proposal p JOIN waiting_list_entry w USING (entry_id) JOIN theatre_session s USING (session_id)
ORDER BY p.session_id, p.start_offset_minutes;
-- Everyone else, with the reason.
SELECT w.entry_ref, o.list_position, o.proposed, o.reason, o.detail
FROM theatre_proposal_outcome o JOIN waiting_list_entry w USING (entry_id)
ORDER BY o.proposed DESC, o.list_position NULLS LAST, w.entry_ref;
SELECT reason, detail FROM why_not_booked((SELECT entry_id FROM waiting_list_entry WHERE entry_ref = 'WL-ON_LEAVE'));

-- Planned utilisation before and after accepting the proposals.
SELECT session_id, planned_minutes, minutes_booked, minutes_proposed,
       round(100.0 * minutes_booked / planned_minutes, 1) AS booked_pct,
       round(100.0 * (minutes_booked + minutes_proposed) / planned_minutes, 1) AS with_proposals_pct
FROM theatre_session_load WHERE session_id IN (901, 902, 903, 904) ORDER BY session_id;

-- The scheduler accepts the first proposal (it becomes a booking at the
-- end of the running order) and rejects another with a reason.
SELECT accept_theatre_proposal(min(proposal_id), 'scheduler1') IS NOT NULL AS booked FROM theatre_proposal;
SELECT reject_theatre_proposal(max(proposal_id), 'patient prefers June', 'scheduler1') FROM theatre_proposal;
SELECT p.status, p.decided_by, p.reject_reason, b.session_id, b.planned_order, b.planned_minutes, b.status AS booking
FROM theatre_proposal p LEFT JOIN theatre_booking b USING (booking_id) ORDER BY p.proposal_id;
-- Deciding twice, or nothing to decide, is refused.
SELECT accept_theatre_proposal(min(proposal_id)) FROM theatre_proposal;
SELECT reject_theatre_proposal(min(proposal_id), '') FROM theatre_proposal;
SELECT accept_theatre_proposal(-1);

-- A second run: the booked patient is already_booked; the earlier run's
-- open proposals are superseded; a rejected patient is proposed again (a
-- patient who cannot come is recorded in patient_unavailability instead).
CALL propose_theatre_lists('2025-05-12', '2025-05-16');
SELECT run_id, status, count(*) FROM theatre_proposal GROUP BY 1, 2 ORDER BY 1, 2;
SELECT w.entry_ref, o.reason FROM theatre_proposal_outcome o JOIN waiting_list_entry w USING (entry_id)
WHERE o.run_id = (SELECT max(run_id) FROM theatre_proposal_run) AND o.reason IN ('already_booked', 'proposed')
ORDER BY 1;

-- A session that fills up between proposing and accepting refuses the case.
UPDATE theatre_booking SET planned_minutes = 230 WHERE session_id = 902;
SELECT accept_theatre_proposal(p.proposal_id) FROM theatre_proposal p
WHERE p.status = 'proposed' AND p.session_id = 902 ORDER BY p.proposal_id LIMIT 1;

-- A bad range.
CALL propose_theatre_lists('2025-05-16', '2025-05-12');
ROLLBACK;
