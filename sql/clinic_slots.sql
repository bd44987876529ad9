-- Filling clinic slots (docs/outpatients.md, "Filling clinic slots"):
-- session templates with new, follow-up and either slots, face to face or
-- virtual; a session with a slot count and no template; the notice; the
-- non-admitted list and the follow-up list in one fill order; a reason for
-- every wait not proposed, one example of each; accepting and rejecting;
-- a second run; and ptl.allocate_clinic on its own (the rule that no
-- patient is left out for one further down the list, and the most patients
-- booked).  Census Thursday 2025-05-01; all undone at the end.
SET search_path = ptl, public;
SET datestyle = 'ISO, YMD';
\set ON_ERROR_ROLLBACK on
BEGIN;
-- Keys printed below start at 1001 whatever ran before (undone at the end).
ALTER TABLE clinic_session ALTER COLUMN session_id RESTART WITH 1001;
ALTER TABLE clinic_slot ALTER COLUMN slot_id RESTART WITH 1001;
ALTER TABLE outpatient_appointment ALTER COLUMN appointment_id RESTART WITH 1001;
ALTER TABLE clinic_proposal_run ALTER COLUMN run_id RESTART WITH 1001;
ALTER TABLE clinic_proposal ALTER COLUMN proposal_id RESTART WITH 1001;
INSERT INTO organisation (org_code, name) VALUES ('RC1', 'Clinic Hospitals NHS Trust');
INSERT INTO site (site_code, org_code, name) VALUES ('RC101', 'RC1', 'Clinic General'), ('RC102', 'RC1', 'Clinic Community');
INSERT INTO batch (batch_id, org_code, source_system) VALUES (961, 'RC1', 'PAS');

-- A pathway of treatment function 110 at RC101 (unless said), with its
-- consultant and events 'date kind [status]' (';'-separated).
CREATE FUNCTION pg_temp.wait(name text, consultant text, events text, tfc text DEFAULT '110') RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE pat bigint; pw bigint; e text; f text[]; n int := 0;
BEGIN
    INSERT INTO ptl.patient (org_code, source_system, local_patient_id, batch_id)
    VALUES ('RC1', 'PAS', 'P-' || name, 961) RETURNING patient_id INTO pat;
    INSERT INTO ptl.pathway (patient_id, provider_org, site_code, ppid, ppid_issuer, treatment_function, referral_received,
                             consultant_code, batch_id)
    VALUES (pat, 'RC1', 'RC101', name, 'RC1', tfc, split_part(events, ' ', 1)::date, consultant, 961)
    RETURNING pathway_id INTO pw;
    FOREACH e IN ARRAY string_to_array(events, ';') LOOP
        f := regexp_split_to_array(trim(e), '\s+');
        n := n + 1;
        INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, batch_id)
        VALUES (pw, pat, 'E' || n, f[1]::date, f[2]::ptl.event_kind, f[3]::ptl.rtt_status, 961);
    END LOOP;
    RETURN pw;
END $$;
CREATE FUNCTION pg_temp.pw(name text) RETURNS bigint LANGUAGE sql AS $$ SELECT pathway_id FROM ptl.pathway WHERE ppid = name $$;

-- The non-admitted list (clock running, no decision to admit), longest
-- wait first: referrals in January, February and March to C1; BOOKED has
-- a first appointment booked; SEEN was seen on 1 April and waits for a
-- scan; AWAY is away all May; ENT is an ear, nose and throat referral;
-- NOBODY asked for C9, who runs no clinic; LATE came last.
-- The follow-up list (clock stopped at treatment in clinic): FU_SOON's
-- LCAD is 13 May (before the run's last date: ahead of the non-admitted
-- list); FU_LATER's is in June; FU_NOT_DUE is not due until August;
-- FU_CLINIC must be seen in clinic CL-X; FU_C2 goes to C2, whose clinic
-- has new slots only; FU_HIGH is high risk with C3, whose slots are
-- virtual.
SELECT count(*) AS pathways FROM (VALUES
    (pg_temp.wait('NA1',        'C1', '2025-01-06 referral')),
    (pg_temp.wait('NA2',        'C1', '2025-01-20 referral')),
    (pg_temp.wait('BOOKED',     'C1', '2025-01-27 referral')),
    (pg_temp.wait('SEEN',       'C1', '2025-02-03 referral; 2025-04-01 outpatient 20')),
    (pg_temp.wait('AWAY',       'C1', '2025-02-10 referral')),
    (pg_temp.wait('ENT',        'C1', '2025-02-17 referral', '120')),
    (pg_temp.wait('NOBODY',     'C9', '2025-02-24 referral')),
    (pg_temp.wait('NA3',        'C1', '2025-03-03 referral')),
    (pg_temp.wait('NA4',        'C1', '2025-03-10 referral')),
    (pg_temp.wait('LATE',       'C1', '2025-03-17 referral')),
    (pg_temp.wait('FU_SOON',    'C1', '2024-10-01 referral; 2024-12-02 outpatient 30')),
    (pg_temp.wait('FU_LATER',   'C1', '2024-10-01 referral; 2024-12-02 outpatient 30')),
    (pg_temp.wait('FU_NOT_DUE', 'C1', '2024-10-01 referral; 2024-12-02 outpatient 30')),
    (pg_temp.wait('FU_CLINIC',  'C1', '2024-10-01 referral; 2024-12-02 outpatient 30')),
    (pg_temp.wait('FU_C2',      'C2', '2024-10-01 referral; 2024-12-02 outpatient 30')),
    (pg_temp.wait('FU_HIGH',    'C3', '2024-10-01 referral; 2024-12-02 outpatient 30'))) v (pw);

INSERT INTO clinic (clinic_code, site_code, treatment_function, name, consultant_code) VALUES
    ('CL-A', 'RC101', '110', 'Hip and knee, C1', 'C1'),
    ('CL-B', 'RC101', '110', 'Foot and ankle, C2', 'C2'),
    ('CL-V', 'RC101', '110', 'Virtual fracture clinic, C3', 'C3'),
    ('CL-X', 'RC102', '110', 'Community orthopaedics', NULL);
INSERT INTO outpatient_appointment (pathway_id, clinic_code, appointment_date, appointment_type, attendance, booked_on)
VALUES (pg_temp.pw('SEEN'), 'CL-A', '2025-04-01', 'first', 'attended', '2025-03-01'),
       (pg_temp.pw('BOOKED'), 'CL-A', '2025-05-12', 'first', 'booked', '2025-04-20');
INSERT INTO follow_up_request (pathway_id, treatment_function, clinic_code, requested_on, due_date, lcad, clinical_risk)
VALUES (pg_temp.pw('FU_SOON'),    '110', NULL,   '2024-12-02', '2025-04-28', '2025-05-13', 'low'),
       (pg_temp.pw('FU_LATER'),   '110', NULL,   '2024-12-02', '2025-05-12', '2025-06-30', 'medium'),
       (pg_temp.pw('FU_NOT_DUE'), '110', NULL,   '2024-12-02', '2025-08-01', '2025-09-01', NULL),
       (pg_temp.pw('FU_CLINIC'),  '110', 'CL-X', '2024-12-02', '2025-05-01', '2025-06-01', NULL),
       (pg_temp.pw('FU_C2'),      '110', NULL,   '2024-12-02', '2025-05-01', '2025-06-01', NULL),
       (pg_temp.pw('FU_HIGH'),    '110', NULL,   '2024-12-02', '2025-05-01', '2025-06-01', 'high');
INSERT INTO patient_unavailability (patient_id, unavailable_from, unavailable_to, reason)
SELECT patient_id, '2025-05-01', '2025-05-31', 'abroad' FROM pathway WHERE ppid = 'AWAY';
CALL refresh('2025-05-01');

SELECT ppid, order_group, list_position FROM ptl.ptl WHERE provider_org = 'RC1' ORDER BY list_position, ppid;

-- Sessions.  CL-A on Monday 5 May is inside the week's notice and is not
-- offered.  CL-A on Monday 12 May has a template: two new slots, an
-- either slot and a follow-up slot, face to face; BOOKED's appointment
-- from the PAS names no slot and takes a new one.  CL-A on Wednesday 14
-- May has a count of 2 and no template: two either slots of 15 minutes.
-- CL-B (C2) has new slots only; CL-V (C3) is virtual; CL-X has no
-- session in the fortnight.
INSERT INTO clinic_session (clinic_code, session_date, slots) VALUES
    ('CL-A', '2025-05-05', 4), ('CL-A', '2025-05-12', 4), ('CL-A', '2025-05-14', 2),
    ('CL-B', '2025-05-13', 2), ('CL-V', '2025-05-13', 2), ('CL-X', '2025-06-02', 4);
SELECT set_clinic_template(session_id, '{new,new,either,follow_up}', '{30,30,20,15}') AS slots
FROM clinic_session WHERE clinic_code = 'CL-A' AND session_date = '2025-05-12';
SELECT set_clinic_template(session_id, '{new,new}', '{30,30}') AS slots FROM clinic_session WHERE clinic_code = 'CL-B';
SELECT set_clinic_template(session_id, '{either,either}', '{15,15}', '{false,false}') AS slots FROM clinic_session WHERE clinic_code = 'CL-V';

-- A template needs one type and one length per slot, of known types.
SELECT set_clinic_template(session_id, '{new,either}', '{30}') FROM clinic_session WHERE clinic_code = 'CL-B';
SELECT set_clinic_template(session_id, '{new,walk_in}', '{30,30}') FROM clinic_session WHERE clinic_code = 'CL-B';

-- Two weeks from the census: 8 May (a week's notice) to 15 May.
CALL propose_clinic_slots(2, '2025-05-01');
SELECT from_date, to_date, sessions, free_slots, patients_considered, patients_proposed FROM clinic_proposal_run;

-- The slots: the count-only session now has two either slots of 15 minutes.
SELECT s.clinic_code, s.session_date, x.slot_no, x.slot_type, x.minutes, x.face_to_face, x.from_count,
       f.slot_id IS NOT NULL AS free_before_run, pw.ppid AS proposed
FROM clinic_slot x JOIN clinic_session s USING (session_id)
LEFT JOIN clinic_free_slots('2025-05-08', '2025-05-15') f ON f.slot_id = x.slot_id
LEFT JOIN clinic_proposal p ON p.slot_id = x.slot_id AND p.status = 'proposed'
LEFT JOIN pathway pw ON pw.pathway_id = p.pathway_id
ORDER BY s.session_date, s.clinic_code, x.slot_no;

-- Every wait, in the fill order, with what happened and why.
SELECT o.list_rank, pw.ppid, o.list, o.need, o.list_position, o.reason, o.detail
FROM clinic_proposal_outcome o JOIN pathway pw USING (pathway_id) ORDER BY o.list_rank;

-- Accepting books the appointment in the slot; the same proposal twice, or
-- a second proposal into a slot already taken, is refused.
SELECT accept_clinic_proposal(proposal_id, 'clerk1') > 0 AS booked FROM clinic_proposal p JOIN pathway pw USING (pathway_id)
WHERE pw.ppid = 'NA1';
SELECT a.appointment_type, a.attendance, a.clinic_code, a.appointment_date, x.slot_no, p.status, p.decided_by
FROM clinic_proposal p JOIN outpatient_appointment a ON a.appointment_id = p.appointment_id
JOIN clinic_slot x ON x.slot_id = a.slot_id WHERE p.status = 'accepted';
SELECT accept_clinic_proposal(proposal_id, 'clerk2') FROM clinic_proposal p JOIN pathway pw USING (pathway_id) WHERE pw.ppid = 'NA1';
-- The PAS is the system of record: the booking is an outbound action for
-- the trust's PAS team (docs/outbound.md), and ptl's appointment is
-- provisional until an extract books it.
SELECT action_kind, state, ppid, action_date, detail, source_kind FROM outbound_action ORDER BY action_id;
-- A proposal of another run into the same slot (as if made before NA1 was
-- booked, and not superseded) finds it taken.
INSERT INTO clinic_proposal_run (as_of, from_date, to_date, sessions, free_slots, patients_considered, patients_proposed)
VALUES ('2025-05-01', '2025-05-08', '2025-05-15', 1, 1, 1, 1);
INSERT INTO clinic_proposal (run_id, item_no, list, pathway_id, need, list_rank, slot_id, session_id, session_date)
SELECT (SELECT max(run_id) FROM clinic_proposal_run), 1, 'non_admitted', pg_temp.pw('LATE'), 'new', 1,
       slot_id, session_id, session_date
FROM clinic_proposal WHERE status = 'accepted';
SELECT accept_clinic_proposal(p.proposal_id, 'clerk2') FROM clinic_proposal p JOIN pathway pw USING (pathway_id) WHERE pw.ppid = 'LATE';
DELETE FROM clinic_proposal_run WHERE run_id = (SELECT max(run_id) FROM clinic_proposal_run);
-- A template cannot change under a booked slot.
SELECT set_clinic_template(session_id, '{new}', '{30}') FROM clinic_session WHERE clinic_code = 'CL-A' AND session_date = '2025-05-12';

-- Rejecting needs a reason.
SELECT reject_clinic_proposal(proposal_id, '  ') FROM clinic_proposal p JOIN pathway pw USING (pathway_id) WHERE pw.ppid = 'NA2';
SELECT reject_clinic_proposal(proposal_id, 'patient prefers the community clinic', 'clerk1')
FROM clinic_proposal p JOIN pathway pw USING (pathway_id) WHERE pw.ppid = 'NA2';

-- A second run supersedes the open proposals; NA1 is booked now, and the
-- slot it holds is no longer free.
CALL propose_clinic_slots(2, '2025-05-01');
SELECT p.run_id, pw.ppid, p.status FROM clinic_proposal p JOIN pathway pw USING (pathway_id) ORDER BY p.run_id, p.list_rank;
SELECT reason, detail FROM why_no_clinic_slot(pg_temp.pw('NA1'));
SELECT list, reason FROM why_no_clinic_slot(pg_temp.pw('SEEN'));

-- The notice and the horizon come from ptl.clinic_setting.
SELECT min_notice_days, horizon_weeks, default_slot_minutes, book_named_clinician, follow_up_early_days,
       high_risk_face_to_face FROM clinic_setting_in_force();
CALL propose_clinic_slots(0, '2025-05-01');

-- Templates through the front door: the clinic_slot extract, loaded by
-- ptl.load like the sessions.  CL-A's session of Wednesday 14 May, made
-- from its count of 2, gets a template: slot 1 a new slot of 30 minutes,
-- slot 2 a virtual follow-up slot whose length (600) is out of range (the
-- default length, with a warning).  A slot 3 beyond the session's count of
-- 2, a slot of a day CL-A has no session, a slot of an unknown type and a
-- slot of a clinic the trust does not hold are quarantined.  The proposal waiting on
-- slot 1, made for an either slot, is superseded; a run then proposes into
-- the slots as they are.
SELECT x.slot_no, x.slot_type, pw.ppid AS proposed
FROM clinic_slot x JOIN clinic_session s USING (session_id)
LEFT JOIN clinic_proposal p ON p.slot_id = x.slot_id AND p.status = 'proposed'
LEFT JOIN pathway pw ON pw.pathway_id = p.pathway_id
WHERE s.clinic_code = 'CL-A' AND s.session_date = '2025-05-14' ORDER BY x.slot_no;
SELECT ptl.open_batch('RC1', 'PAS', 'RC101', 'clinic templates') AS slot_batch \gset
INSERT INTO ptl_stage.clinic_slot (clinic_code, session_date, slot_no, slot_type, minutes, face_to_face) VALUES
    ('CL-A', '2025-05-14', '1', 'new',       '30',  'Y'),
    ('CL-A', '2025-05-14', '2', 'follow_up', '600', 'N'),
    ('CL-A', '2025-05-14', '3', 'new',       '30',  'Y'),
    ('CL-A', '2025-05-15', '1', 'new',       '30',  'Y'),
    ('CL-B', '2025-05-13', '1', 'walk_in',   '30',  'Y'),
    ('EX-C1', '2025-01-13', '1', 'new',      '30',  'Y');
SELECT l.extract, l.rows_read, l.rows_loaded, l.rows_updated, l.rows_quarantined, l.rows_with_warnings
FROM ptl.load(:slot_batch) l;
SELECT r.row_in_extract AS "row", r.reason, r.sqlstate, r.column_name, r.message
FROM ptl.rejected_row r WHERE r.batch_id = :slot_batch ORDER BY r.row_in_extract;
SELECT w.row_in_extract AS "row", w.column_name, w.reason, w.message
FROM ptl.load_warning w WHERE w.batch_id = :slot_batch ORDER BY w.row_in_extract;
SELECT x.slot_no, x.slot_type, x.minutes, x.face_to_face, x.from_count, p.status AS earlier_proposal
FROM clinic_slot x JOIN clinic_session s USING (session_id)
LEFT JOIN clinic_proposal p ON p.slot_id = x.slot_id AND p.run_id = (SELECT max(run_id) FROM clinic_proposal_run)
WHERE s.clinic_code = 'CL-A' AND s.session_date = '2025-05-14' ORDER BY x.slot_no;
CALL propose_clinic_slots(2, '2025-05-01');
SELECT x.slot_no, x.slot_type, x.face_to_face, pw.ppid AS proposed, p.need
FROM clinic_slot x JOIN clinic_session s USING (session_id)
LEFT JOIN clinic_proposal p ON p.slot_id = x.slot_id AND p.status = 'proposed'
LEFT JOIN pathway pw ON pw.pathway_id = p.pathway_id
WHERE s.clinic_code = 'CL-A' AND s.session_date = '2025-05-14' ORDER BY x.slot_no;

-- The PAS books NA1's appointment and sends it in its extract: the next
-- reconciliation (every refresh runs it) confirms the action, and ptl's
-- provisional appointment gives way to the PAS's, which takes the slot.
SELECT ptl.open_batch('RC1', 'PAS', 'RC101', 'appointments') AS appt_batch \gset
INSERT INTO ptl_stage.outpatient_appointment (ppid_issuer, ppid, appointment_ref, clinic_code, appointment_date,
                                              appointment_type, attendance, booked_on)
SELECT 'RC1', 'NA1', 'PAS-A77', a.clinic_code, to_char(a.appointment_date, 'YYYY-MM-DD'), 'first', 'booked', '2025-05-02'
FROM outpatient_appointment a JOIN clinic_proposal p USING (appointment_id) WHERE p.status = 'accepted';
SELECT l.rows_loaded FROM ptl.load(:appt_batch) l WHERE l.extract = 'outpatient_appointment';
SELECT reconcile_outbound() AS resolved;
SELECT action_kind, state, resolution_rule, resolution FROM outbound_action ORDER BY action_id;
SELECT a.source_ref, a.clinic_code, a.appointment_date, a.attendance, x.slot_no, p.status AS proposal
FROM outpatient_appointment a JOIN pathway pw USING (pathway_id)
LEFT JOIN clinic_slot x ON x.slot_id = a.slot_id LEFT JOIN clinic_proposal p ON p.appointment_id = a.appointment_id
WHERE pw.ppid = 'NA1' ORDER BY a.appointment_date;
-- A clerk books NA3 into 14 May's new slot, but the PAS books NA3 on 19
-- May instead: the action is contradicted, ptl's appointment is withdrawn
-- (not cancelled: nobody cancelled it) and the proposal superseded, which
-- frees the slot.
SELECT accept_clinic_proposal(p.proposal_id, 'clerk1') > 0 AS booked
FROM clinic_proposal p JOIN pathway pw USING (pathway_id) WHERE pw.ppid = 'NA3' AND p.status = 'proposed';
SELECT ptl.open_batch('RC1', 'PAS', 'RC101', 'appointments again') AS appt_batch \gset
INSERT INTO ptl_stage.outpatient_appointment (ppid_issuer, ppid, appointment_ref, clinic_code, appointment_date,
                                              appointment_type, attendance, booked_on)
VALUES ('RC1', 'NA3', 'PAS-A78', 'CL-A', '2025-05-19', 'first', 'booked', '2025-05-02');
SELECT l.rows_loaded FROM ptl.load(:appt_batch) l WHERE l.extract = 'outpatient_appointment';
SELECT reconcile_outbound() AS resolved;
SELECT pw.ppid, a.action_kind, a.state, a.resolution_rule, a.resolution
FROM outbound_action a JOIN pathway pw USING (pathway_id) ORDER BY a.action_id;
SELECT a.source_ref, a.appointment_date, a.attendance FROM outpatient_appointment a JOIN pathway pw USING (pathway_id)
WHERE pw.ppid = 'NA3' ORDER BY a.appointment_date;
SELECT p.status, p.appointment_id, f.slot_id IS NOT NULL AS slot_free_again
FROM clinic_proposal p JOIN pathway pw USING (pathway_id)
LEFT JOIN clinic_free_slots('2025-05-14', '2025-05-14') f ON f.slot_id = p.slot_id
WHERE pw.ppid = 'NA3' AND p.decided_by = 'clerk1';

-- The session extract may name the clinician who runs a session (CL-X's
-- of 2 June, by C4); a later row without one keeps them.
SELECT ptl.open_batch('RC1', 'PAS', 'RC101', 'session clinician') AS session_batch \gset
INSERT INTO ptl_stage.clinic_session (clinic_code, session_date, slots, cancelled, clinician_code)
VALUES ('CL-X', '2025-06-02', '4', 'N', 'C4');
SELECT l.rows_updated FROM ptl.load(:session_batch) l WHERE l.extract = 'clinic_session';
SELECT ptl.open_batch('RC1', 'PAS', 'RC101', 'session again') AS session_batch \gset
INSERT INTO ptl_stage.clinic_session (clinic_code, session_date, slots, cancelled) VALUES ('CL-X', '2025-06-02', '5', 'N');
SELECT l.rows_updated FROM ptl.load(:session_batch) l WHERE l.extract = 'clinic_session';
SELECT clinic_code, session_date, slots, clinician_code FROM clinic_session WHERE clinic_code = 'CL-X';
-- One key spelt two ways is one key (the load's repeated-key rule compares
-- typed key columns by value): 2 June written 2025-06-02 and 02/06/2025 is
-- one session, slot 1 written 1 and 01 one slot; the earlier row of each
-- is superseded by the later (duplicate_in_extract), and the batch loads.
SELECT ptl.open_batch('RC1', 'PAS', 'RC101', 'one key, two spellings') AS session_batch \gset
INSERT INTO ptl_stage.clinic_session (clinic_code, session_date, slots, cancelled)
VALUES ('CL-X', '2025-06-02', '4', 'N'), ('CL-X', '02/06/2025', '3', 'N');
INSERT INTO ptl_stage.clinic_slot (clinic_code, session_date, slot_no, slot_type, minutes)
VALUES ('CL-X', '2025-06-02', '1', 'new', '30'), ('CL-X', '02/06/2025', '01', 'follow_up', '20');
SELECT l.extract, l.rows_read, l.rows_loaded, l.rows_updated, l.rows_quarantined FROM ptl.load(:session_batch) l;
SELECT r.extract, r.row_in_extract AS "row", r.reason, r.message FROM ptl.rejected_row r
WHERE r.batch_id = :session_batch ORDER BY r.extract, r.row_in_extract;
SELECT s.slots, x.slot_no, x.slot_type, x.minutes
FROM clinic_session s JOIN clinic_slot x USING (session_id) WHERE s.clinic_code = 'CL-X' ORDER BY x.slot_no;

-- ptl.allocate_clinic on its own.  Three slots of one session: a new slot
-- (10), an either slot (11) and a follow-up slot (12).  F (a follow-up,
-- first in the order) would take the either slot if it went first-come;
-- N1 and N2 need new slots: the fill moves F to the follow-up slot so both
-- new patients are booked, and N3 is left out only because no slot it
-- could take is free.
SELECT a.patient_key, a.slot_id
FROM allocate_clinic(
    ARRAY[ROW(10, 1, '2025-05-12', 'K', 'S1', '110', 'C1', 'new', true),
          ROW(11, 1, '2025-05-12', 'K', 'S1', '110', 'C1', 'either', true),
          ROW(12, 1, '2025-05-12', 'K', 'S1', '110', 'C1', 'follow_up', true)]::clinic_slot_offer[],
    ARRAY[ROW(1, 'follow_up', '110', NULL, NULL, NULL, false, 1, NULL, NULL),
          ROW(2, 'new', '110', NULL, NULL, NULL, false, 2, NULL, NULL),
          ROW(3, 'new', '110', NULL, NULL, NULL, false, 3, NULL, NULL),
          ROW(4, 'new', '110', NULL, NULL, NULL, false, 4, NULL, NULL)]::clinic_patient[]) a
ORDER BY a.patient_key;
-- Earlier dates to patients higher on the list: two sessions, the first
-- patient in the order gets the Monday slot.
SELECT a.patient_key, a.slot_id
FROM allocate_clinic(
    ARRAY[ROW(21, 2, '2025-05-14', 'K', 'S1', '110', NULL, 'either', true),
          ROW(20, 1, '2025-05-12', 'K', 'S1', '110', NULL, 'either', true)]::clinic_slot_offer[],
    ARRAY[ROW(7, 'new', '110', NULL, NULL, NULL, false, 2, NULL, NULL),
          ROW(8, 'new', '110', NULL, NULL, NULL, false, 1, NULL, NULL)]::clinic_patient[]) a
ORDER BY a.slot_id;
-- Bad input is refused, naming the value.
SELECT * FROM allocate_clinic(ARRAY[ROW(1, 1, '2025-05-12', 'K', 'S1', '110', NULL, 'walk_in', true)]::clinic_slot_offer[], '{}');
SELECT * FROM allocate_clinic(ARRAY[ROW(1, 1, '2025-05-12', 'K', 'S1', '110', NULL, 'new', true),
                                    ROW(1, 1, '2025-05-12', 'K', 'S1', '110', NULL, 'new', true)]::clinic_slot_offer[], '{}');
SELECT * FROM allocate_clinic('{}', ARRAY[ROW(1, 'review', '110', NULL, NULL, NULL, false, 1, NULL, NULL)]::clinic_patient[]);
SELECT * FROM allocate_clinic(ARRAY[ROW(1, 1, '2025-05-12', 'K', 'S1', '110', NULL, 'new', true),
                                    ROW(2, 1, '2025-05-13', 'K', 'S1', '110', NULL, 'new', true)]::clinic_slot_offer[], '{}');
SELECT * FROM allocate_clinic('{}', ARRAY[ROW(1, 'new', '110', NULL, NULL, NULL, false, NULL, NULL, NULL)]::clinic_patient[]);
ROLLBACK;
