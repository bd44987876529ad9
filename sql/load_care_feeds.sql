-- The care feeds through the front door: a worked example of every row rule
-- of the outpatient, beds and aid extracts (docs/loading.md).  One batch
-- from one trust stages each extract with one good row and one row per
-- fault; ptl.load quarantines what cannot be identified (or is meaningless
-- or contradicts itself where loading it would mislead) and loads the rest,
-- leaving out faulty values with a warning.  A second batch resends the
-- good rows: nothing changes.  Read = loaded + updated + quarantined.
--
-- Rules named below (reason, SQLSTATE):
--   C1 other organisation's site: a site of another trust     unknown_parent 23503
--   C2 clinic code of another trust                           inconsistent 23505
--   C3 unknown clinic (session, appointment)                  unknown_parent 23503
--   C4 negative slots / beds                                  out_of_range 22003
--   C5 outcome without attendance, follow_up without weeks,
--      weeks without follow_up, booked after the day          inconsistent 23514 (left out)
--   C6 due before requested, end without its reason, end
--      before start, seen without its appointment, window
--      ending before it starts, answer without outcome,
--      discharge before admission, offer ending before it
--      starts, slot outside its offer                         inconsistent 23514
--   C7 LCAD before the due date: left out, the due date stands inconsistent 23514 (left out)
--   C8 reference to an unknown record (clinic, appointment,
--      entry, referred pathway): left out                     unknown_clinic / unknown_appointment /
--                                                             unknown_entry / unknown_pathway 23503
--   C9 an offer no longer open keeps its details              inconsistent 55000
--   C10 every-day bed base row repeated                       duplicate_in_extract 23505
-- and the column rules of ptl.extract_column (invalid_code, invalid_date,
-- missing_required, placeholder codes), as for the PAS extracts.
-- Everything below is undone at the end (the database is shared with the
-- other scripts).
BEGIN;
\pset null '(null)'
SET datestyle = 'ISO, YMD';

-- The specification a site's data team reads: the columns of these
-- extracts that quarantine a row, and why (every other column loads
-- without its value, listed by validation rule V32).
SELECT c.extract, c.column_name, c.required, c.when_invalid
FROM ptl.extract_column c JOIN ptl.feed f USING (extract)
WHERE f.capability IN ('outpatient', 'beds', 'aid')
ORDER BY f.load_order, c.ordinal;

INSERT INTO ptl.organisation (org_code, name) VALUES ('RCF', 'Care Feeds NHS Trust'), ('RCO', 'Other NHS Trust');
INSERT INTO ptl.site (site_code, org_code, name) VALUES ('RCF01', 'RCF', 'Care Feeds General'), ('RCO01', 'RCO', 'Other General');
INSERT INTO ptl.clinic (clinic_code, site_code, treatment_function, name) VALUES ('RCO-110', 'RCO01', '110', 'Other trust''s clinic');

SELECT ptl.open_batch('RCF', 'PAS', 'RCF01', 'care feeds') AS batch \gset
UPDATE ptl.batch SET opened_at = '2025-03-31 12:00' WHERE batch_id = :batch;

-- The patient, four pathways and a waiting-list entry the records hang on.
COPY ptl_stage.patient (local_patient_id) FROM stdin WITH (FORMAT csv);
CF1
\.
COPY ptl_stage.pathway (local_patient_id, ppid, ppid_issuer, treatment_function, referral_received) FROM stdin WITH (FORMAT csv);
CF1,PW1,RCF,110,2024-10-01
CF1,PW2,RCF,110,2024-10-01
CF1,PW3,RCF,110,2024-10-01
CF1,PW4,RCF,110,2024-10-01
\.
COPY ptl_stage.waiting_list_entry (ppid_issuer, ppid, entry_ref, intended_management, decision_to_admit, removed_date, removal_reason) FROM stdin WITH (FORMAT csv);
RCF,PW1,E1,2,2025-01-10,2025-03-01,admitted
\.

-- Clinics: good; C1; placeholder site; formula name (left out: the code
-- is its name); C2; missing treatment function.
COPY ptl_stage.clinic (clinic_code, site_code, treatment_function, name) FROM stdin WITH (FORMAT csv);
CF-110,RCF01,110,Trauma clinic
CF-111,RCO01,110,Elsewhere
CF-112,RCF09,110,New site clinic
CF-113,RCF01,110,=HYPERLINK(1)
RCO-110,RCF01,110,Taken code
CF-114,RCF01,,No specialty
\.
-- Sessions: good; C3; C4; unreadable cancelled (left out: held); bad
-- date; a repeated clinic and day (the last row counts).
COPY ptl_stage.clinic_session (clinic_code, session_date, slots, cancelled) FROM stdin WITH (FORMAT csv);
CF-110,2025-03-10,20,N
CF-999,2025-03-10,20,N
CF-110,2025-03-11,-1,N
CF-110,2025-03-12,12,maybe
CF-110,2025-02-30,12,N
CF-110,2025-03-13,10,N
CF-110,2025-03-13,11,Y
\.
-- Appointments: good; unknown pathway; C3; C5 (outcome of a DNA;
-- follow_up without weeks; booked after the day); bad type; unreadable
-- attendance (loads as booked).
COPY ptl_stage.outpatient_appointment (ppid_issuer, ppid, appointment_ref, clinic_code, appointment_date, appointment_type, attendance, outcome, follow_up_weeks, booked_on) FROM stdin WITH (FORMAT csv);
RCF,PW1,A1,CF-110,2025-03-10,first,attended,follow_up,6,2025-02-20
RCF,PW9,A2,CF-110,2025-03-10,first,attended,discharged,,
RCF,PW1,A3,RCO-110,2025-03-10,first,attended,discharged,,
RCF,PW1,A4,CF-110,2025-03-11,follow_up,dna,discharged,,
RCF,PW1,A5,CF-110,2025-03-12,follow_up,attended,follow_up,,
RCF,PW1,A6,CF-110,2025-03-13,follow_up,attended,discharged,,2025-03-20
RCF,PW1,A7,CF-110,2025-03-14,third,attended,discharged,,
RCF,PW2,A8,CF-110,2025-03-14,first,came,,,
\.
-- Follow-up requests: good (from A1); C6 due before requested; C6 end
-- without reason; C7; C8 unknown seen appointment, so C6 seen without
-- its appointment; C8 unknown clinic; good, closed as seen at A6.
COPY ptl_stage.follow_up_request (ppid_issuer, ppid, request_ref, clinic_code, from_appointment_ref, requested_on, due_date, lcad, clinical_risk, seen_appointment_ref, closed_on, closed_reason) FROM stdin WITH (FORMAT csv);
RCF,PW1,F1,CF-110,A1,2025-03-10,2025-04-21,2025-05-05,high,,,
RCF,PW1,F2,CF-110,A1,2025-03-10,2025-03-01,2025-05-05,high,,,
RCF,PW1,F3,CF-110,A1,2025-03-10,2025-04-21,,low,,2025-03-20,
RCF,PW1,F4,CF-110,A1,2025-03-10,2025-04-21,2025-04-01,medium,,,
RCF,PW1,F5,CF-110,A1,2025-03-10,2025-04-21,,low,A99,2025-03-20,seen
RCF,PW2,F6,CF-999,,2025-03-10,2025-04-21,,,,,
RCF,PW1,F7,CF-110,A1,2025-03-10,2025-03-12,,,A6,2025-03-13,seen
\.
-- PIFU: good; C6 window; C6 end without reason; initiated outside the
-- window (left out); C8 unknown appointment (left out).
COPY ptl_stage.pifu_episode (ppid_issuer, ppid, pifu_ref, from_appointment_ref, started_on, window_end, initiated_on, ended_on, end_reason) FROM stdin WITH (FORMAT csv);
RCF,PW1,P1,A1,2025-03-10,2025-09-10,,,
RCF,PW1,P2,A1,2025-03-10,2025-03-01,,,
RCF,PW1,P3,A1,2025-01-10,2025-07-10,,2025-03-01,
RCF,PW2,P4,,2025-01-10,2025-07-10,2024-12-01,,
RCF,PW3,P5,A42,2025-01-10,2025-07-10,2025-02-01,,
\.
-- Advice and guidance: good; C6 answered but pending; C6 an outcome
-- without its answer; C8 unknown referred pathway (left out); malformed
-- practice (left out); C6 answered before asked.
COPY ptl_stage.advice_request (advice_ref, treatment_function, gp_practice_code, requested_on, responded_on, outcome, referred_ppid_issuer, referred_ppid) FROM stdin WITH (FORMAT csv);
AG1,110,B82001,2025-03-01,2025-03-04,referral_advised,RCF,PW1
AG2,110,B82001,2025-03-01,2025-03-04,pending,,
AG3,110,B82001,2025-03-01,,diverted,,
AG4,110,B82001,2025-03-01,2025-03-04,referral_advised,RCF,PW99
AG5,110,b8,2025-03-01,,,,
AG6,110,B82001,2025-03-05,2025-03-04,other,,
\.
-- Spells: good (admitting E1); C6; C8 unknown entry (left out); C1;
-- missing intended management; unreadable elective flag (left out:
-- elective).
COPY ptl_stage.hospital_spell (ppid_issuer, ppid, spell_ref, entry_ref, site_code, treatment_function, intended_management, elective, admitted, discharged) FROM stdin WITH (FORMAT csv);
RCF,PW1,S1,E1,RCF01,110,1,Y,2025-03-01,2025-03-04
RCF,PW1,S2,,RCF01,110,1,Y,2025-03-05,2025-03-02
RCF,PW2,S3,E7,RCF01,110,2,Y,2025-03-05,2025-03-05
RCF,PW3,S4,,RCO01,110,1,Y,2025-03-05,2025-03-06
RCF,PW3,S5,,RCF01,110,,Y,2025-03-05,2025-03-06
RCF,PW4,S6,,,,2,maybe,2025-03-05,
\.
-- Bed base: C10 (the first every-day row of RCF01 is superseded); good
-- every-day and Saturday rows; a day of the week that is not one; C4; C1.
COPY ptl_stage.elective_bed_base (site_code, valid_from, isodow, beds, note) FROM stdin WITH (FORMAT csv);
RCF01,2025-01-01,,9,superseded
RCF01,2025-01-01,,10,ward 7
RCF01,2025-01-01,6,2,weekend
RCF01,2025-01-01,8,2,no such day
RCF01,2025-02-01,,-1,negative
RCO01,2025-01-01,,10,not ours
\.
-- Transfer preferences: good; radius 0 (out_of_range); an unreadable veto
-- (quarantined: a doubtful veto must not clear a move); a veto without
-- its reason and an unknown capability (loads, vetoed); unknown pathway.
COPY ptl_stage.transfer_preference (ppid_issuer, ppid, opted_in, radius_miles, recorded_on, clinician_veto, veto_reason, required_capability) FROM stdin WITH (FORMAT csv);
RCF,PW1,Y,50,2025-03-20,N,,
RCF,PW2,Y,0,2025-03-20,N,,
RCF,PW3,Y,100,2025-03-20,perhaps,,
RCF,PW4,Y,,2025-03-20,Y,,icu
RCF,PW9,Y,50,2025-03-20,N,,
\.
-- Offers: good; C6; malformed procedures (quarantined: read as any
-- procedure it would offer more than the trust did); C1; sessions 0
-- (left out).
COPY ptl_stage.mutual_aid_offer (offer_ref, site_code, treatment_function, accepted_groups, capability, available_from, available_until, sessions, conditions) FROM stdin WITH (FORMAT csv);
O1,RCF01,110,W37 W40,inpatient,2025-04-14,2025-05-23,6,ASA 1-3
O2,RCF01,110,,inpatient,2025-05-23,2025-04-14,6,
O3,RCF01,110,"W37,W40",inpatient,2025-04-14,2025-05-23,6,
O4,RCO01,110,,inpatient,2025-04-14,2025-05-23,6,
O5,RCF01,110,,daycase,2025-04-14,2025-05-23,0,
\.
-- Slots: good; C6 outside the offer; unknown offer.
COPY ptl_stage.mutual_aid_slot (offer_ref, slot_ref, slot_date) FROM stdin WITH (FORMAT csv);
O1,1,2025-04-14
O1,2,2025-06-02
O9,1,2025-04-14
\.

SELECT l.extract, l.rows_read, l.rows_loaded, l.rows_updated, l.rows_quarantined, l.rows_with_warnings
FROM ptl.load(:batch) l JOIN ptl.feed f USING (extract) ORDER BY f.load_order;

-- Quarantined, with the rule's reason, SQLSTATE and message.
SELECT r.extract, r.row_in_extract AS "row", r.reason, r.sqlstate, r.column_name, r.message
FROM ptl.rejected_row r JOIN ptl.feed f USING (extract)
WHERE r.batch_id = :batch ORDER BY f.load_order, r.row_in_extract;
-- Loaded without a value (or with a placeholder code), one warning each.
SELECT w.extract, w.row_in_extract AS "row", w.column_name, w.reason, w.message
FROM ptl.load_warning w JOIN ptl.feed f USING (extract)
WHERE w.batch_id = :batch ORDER BY f.load_order, w.row_in_extract, w.column_name;

-- What loaded.
SELECT clinic_code, site_code, name FROM ptl.clinic WHERE clinic_code LIKE 'CF-%' ORDER BY 1;
SELECT clinic_code, session_date, slots, cancelled FROM ptl.clinic_session WHERE clinic_code LIKE 'CF-%' ORDER BY 1, 2;
SELECT source_ref, appointment_type, attendance, outcome, follow_up_weeks, booked_on
FROM ptl.outpatient_appointment WHERE source_ref IS NOT NULL AND clinic_code LIKE 'CF-%' ORDER BY 1;
SELECT f.source_ref, f.clinic_code, a.source_ref AS from_appointment, f.due_date, f.lcad, s.source_ref AS seen, f.closed_reason
FROM ptl.follow_up_request f
LEFT JOIN ptl.outpatient_appointment a ON a.appointment_id = f.from_appointment_id
LEFT JOIN ptl.outpatient_appointment s ON s.appointment_id = f.seen_appointment_id
WHERE f.clinic_code LIKE 'CF-%' OR f.source_ref = 'F6' ORDER BY 1;
SELECT e.source_ref, a.source_ref AS from_appointment, e.started_on, e.window_end, e.initiated_on
FROM ptl.pifu_episode e LEFT JOIN ptl.outpatient_appointment a ON a.appointment_id = e.from_appointment_id
JOIN ptl.pathway p ON p.pathway_id = e.pathway_id WHERE p.provider_org = 'RCF' ORDER BY 1;
SELECT r.source_ref, r.gp_practice_code, r.outcome, p.ppid AS referred_ppid
FROM ptl.advice_request r LEFT JOIN ptl.pathway p ON p.pathway_id = r.referred_pathway_id
WHERE r.provider_org = 'RCF' ORDER BY 1;
SELECT h.source_ref, e.entry_ref, h.site_code, h.treatment_function, h.elective, h.admitted, h.discharged
FROM ptl.hospital_spell h LEFT JOIN ptl.waiting_list_entry e ON e.entry_id = h.entry_id
JOIN ptl.pathway p ON p.pathway_id = h.pathway_id WHERE p.provider_org = 'RCF' ORDER BY 1;
SELECT site_code, valid_from, isodow, beds, note FROM ptl.elective_bed_base WHERE site_code LIKE 'RC%' ORDER BY 1, 2, 3 NULLS FIRST;
SELECT p.ppid, t.opted_in, t.radius_miles, t.clinician_veto, t.veto_reason, t.required_capability
FROM ptl.transfer_preference t JOIN ptl.pathway p USING (pathway_id) WHERE p.provider_org = 'RCF' ORDER BY 1;
SELECT o.source_ref, o.accepted_groups, o.capability, o.sessions, o.state,
       (SELECT string_agg(s.source_ref || ' ' || s.slot_date, ', ' ORDER BY s.slot_date) FROM ptl.mutual_aid_slot s WHERE s.offer_id = o.offer_id) AS slots
FROM ptl.mutual_aid_offer o WHERE o.offering_org = 'RCF' ORDER BY 1;

-- Resent as they were, the good rows change nothing (updated, unchanged);
-- C9: an offer agreed since is not changed by the extract.
UPDATE ptl.mutual_aid_offer SET state = 'agreed' WHERE offering_org = 'RCF' AND source_ref = 'O5';
SELECT ptl.open_batch('RCF', 'PAS', 'RCF01', 'care feeds again') AS batch2 \gset
UPDATE ptl.batch SET opened_at = '2025-03-31 13:00' WHERE batch_id = :batch2;
COPY ptl_stage.clinic (clinic_code, site_code, treatment_function, name) FROM stdin WITH (FORMAT csv);
CF-110,RCF01,110,Trauma clinic
\.
COPY ptl_stage.clinic_session (clinic_code, session_date, slots, cancelled) FROM stdin WITH (FORMAT csv);
CF-110,2025-03-10,20,N
\.
COPY ptl_stage.outpatient_appointment (ppid_issuer, ppid, appointment_ref, clinic_code, appointment_date, appointment_type, attendance, outcome, follow_up_weeks, booked_on) FROM stdin WITH (FORMAT csv);
RCF,PW1,A1,CF-110,2025-03-10,first,attended,follow_up,6,2025-02-20
\.
COPY ptl_stage.follow_up_request (ppid_issuer, ppid, request_ref, clinic_code, from_appointment_ref, requested_on, due_date, lcad, clinical_risk, seen_appointment_ref, closed_on, closed_reason) FROM stdin WITH (FORMAT csv);
RCF,PW1,F1,CF-110,A1,2025-03-10,2025-04-21,2025-05-05,high,,,
\.
COPY ptl_stage.pifu_episode (ppid_issuer, ppid, pifu_ref, from_appointment_ref, started_on, window_end, initiated_on, ended_on, end_reason) FROM stdin WITH (FORMAT csv);
RCF,PW1,P1,A1,2025-03-10,2025-09-10,,,
\.
COPY ptl_stage.advice_request (advice_ref, treatment_function, gp_practice_code, requested_on, responded_on, outcome, referred_ppid_issuer, referred_ppid) FROM stdin WITH (FORMAT csv);
AG1,110,B82001,2025-03-01,2025-03-04,referral_advised,RCF,PW1
\.
COPY ptl_stage.hospital_spell (ppid_issuer, ppid, spell_ref, entry_ref, site_code, treatment_function, intended_management, elective, admitted, discharged) FROM stdin WITH (FORMAT csv);
RCF,PW1,S1,E1,RCF01,110,1,Y,2025-03-01,2025-03-04
\.
COPY ptl_stage.elective_bed_base (site_code, valid_from, isodow, beds, note) FROM stdin WITH (FORMAT csv);
RCF01,2025-01-01,,10,ward 7
\.
COPY ptl_stage.transfer_preference (ppid_issuer, ppid, opted_in, radius_miles, recorded_on, clinician_veto, veto_reason, required_capability) FROM stdin WITH (FORMAT csv);
RCF,PW1,Y,50,2025-03-20,N,,
\.
COPY ptl_stage.mutual_aid_offer (offer_ref, site_code, treatment_function, accepted_groups, capability, available_from, available_until, sessions, conditions) FROM stdin WITH (FORMAT csv);
O1,RCF01,110,W37 W40,inpatient,2025-04-14,2025-05-23,6,ASA 1-3
O5,RCF01,110,,daycase,2025-04-14,2025-05-30,,
\.
COPY ptl_stage.mutual_aid_slot (offer_ref, slot_ref, slot_date) FROM stdin WITH (FORMAT csv);
O1,1,2025-04-14
\.
SELECT l.extract, l.rows_read, l.rows_loaded, l.rows_updated, l.rows_unchanged, l.rows_quarantined
FROM ptl.load(:batch2) l JOIN ptl.feed f USING (extract) ORDER BY f.load_order;
SELECT r.extract, r.reason, r.sqlstate, r.message FROM ptl.rejected_row r WHERE r.batch_id = :batch2;

-- Nothing lost: every row read is loaded, updated or quarantined, and the
-- quarantine and warnings hold as many rows as were counted.
SELECT batch_id = :batch AS first_batch, count(*) AS extracts, bool_and(nothing_lost) AS nothing_lost,
       bool_and(counts_agree) AS counts_agree
FROM ptl.load_summary WHERE batch_id IN (:batch, :batch2) GROUP BY 1 ORDER BY 1 DESC;
ROLLBACK;
