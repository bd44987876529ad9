-- The theatre feeds through the front door: a worked example.
--
-- Each theatre extract is staged as a file (ptl.stage_extract) in a batch
-- of the trust's PAS, after the patients, pathways and waiting-list
-- entries the rows hang on, and ptl.load() takes them in ptl.feed's order.
-- The loading policy (docs/loading.md): a row is quarantined only when its
-- record, or the record it hangs on, cannot be identified, or the record is
-- meaningless without the value; any other fault loads the row without the
-- value (a warning, listed by V32).  Rules named here:
--   missing_required, implausible_date, invalid_code, duplicate_in_extract
--                        column rules of ptl.extract_column (every feed)
--   unknown_parent       a theatre of another organisation, a session,
--                        booking, waiting-list entry or patient not held
--   parent_rejected      a session or booking this batch quarantined
--   theatre_session_ends_after_start, theatre_session_slot_taken,
--   theatre_booking_place_taken, theatre_booking_times_on_session_day,
--   theatre_booking_out_after_start, theatre_cancellation_reason_known,
--   preop_assessment_valid_after_assessed, <extract>_period_in_order
--   (leave, unavailability), procedure_duration_minutes_in_range
\pset null '(null)'
SET datestyle = 'ISO, YMD';
INSERT INTO ptl.organisation (org_code, name) VALUES ('RTH', 'Theatre Feed Test NHS Trust'), ('RTO', 'Other Test NHS Trust');
INSERT INTO ptl.site (site_code, org_code, name) VALUES ('RTH01', 'RTH', 'Theatre Test Hospital'), ('RTO01', 'RTO', 'Other Hospital');
-- Theatres are reference data an administrator keeps (not a feed).
INSERT INTO ptl.theatre (theatre_code, site_code, name) VALUES ('RTH01-T1', 'RTH01', 'Theatre 1'), ('RTO01-T1', 'RTO01', 'Other Theatre 1');

INSERT INTO ptl.batch (batch_id, org_code, source_system, site_code, label) VALUES (8801, 'RTH', 'PAS', 'RTH01', 'theatre feeds');
\set batch 8801
SELECT staged FROM ptl.stage_extract(:batch, 'patient', convert_to(
'local_patient_id,given_name,family_name
TP1,Ann,Able
TP2,Bob,Baker', 'UTF8'));
SELECT staged FROM ptl.stage_extract(:batch, 'pathway', convert_to(
'local_patient_id,ppid,ppid_issuer,treatment_function,referral_received
TP1,PP1,RTH,110,2024-10-01
TP2,PP2,RTH,110,2024-10-01', 'UTF8'));
SELECT staged FROM ptl.stage_extract(:batch, 'waiting_list_entry', convert_to(
'ppid_issuer,ppid,entry_ref,procedure_code,intended_management,decision_to_admit,consultant_code
RTH,PP1,E1,W37.1,2,2024-12-01,C110A
RTH,PP2,E2,W38.1,1,2024-12-01,C110A', 'UTF8'));

-- Sessions: S1 good; S2 loads with a placeholder specialty and without its
-- session type, equipment, cancelled flag and reason; S3 names another
-- trust's theatre; S4 ends before it starts; S5 takes S1's slot; S6 is
-- dated 1970; the last has no reference.
\set sessions 'session_ref,theatre_code,session_date,planned_start,planned_end,specialty,consultant_code,session_type,equipment,cancelled,cancelled_reason\nS1,RTH01-T1,2025-03-03,08:30,12:30,110,C110A,elective,laser,false,\nS2,RTH01-T1,2025-03-03,13:30,17:30,999,C110A,weekly,Laser!,maybe,staffing\nS3,RTO01-T1,2025-03-04,08:30,12:30,110,,,,,\nS4,RTH01-T1,2025-03-04,12:30,08:30,110,,,,,\nS5,RTH01-T1,2025-03-03,08:30,12:00,110,,,,,\nS6,RTH01-T1,1970-01-01,08:30,12:30,110,,,,,\n,RTH01-T1,2025-03-05,08:30,12:30,110,,,,,'
-- Bookings: B1 good; B2 loads without an anaesthetic start on another day, a
-- knife-to-skin time on a day that does not exist,
-- an out-of-theatre time before into theatre and so as booked, not
-- completed; B3's session was quarantined; B4's session and B5's entry are
-- unknown; B6 takes B1's place; B7 plans 0 minutes.
\set bookings 'booking_ref,session_ref,ppid_issuer,ppid,entry_ref,planned_order,planned_minutes,status,day_case,into_theatre,anaesthetic_start,knife_to_skin,out_of_theatre\nB1,S1,RTH,PP1,E1,1,90,completed,true,2025-03-03 08:40,2025-03-03 08:45,2025-03-03 09:00,2025-03-03 10:10\nB2,S1,RTH,PP2,E2,2,60,completed,no,2025-03-03 10:30,2025-03-09 10:35,2025-02-30 10:40,2025-03-03 10:20\nB3,S4,RTH,PP1,E1,1,60,booked,,,,,\nB4,S9,RTH,PP1,E1,1,60,,,,,,\nB5,S1,RTH,PP9,E9,3,60,,,,,,\nB6,S1,RTH,PP2,E2,1,45,,,,,,\nB7,S1,RTH,PP2,E2,4,0,,,,,,'
\set cancellations 'booking_ref,cancelled_on,reason_code\nB2,2025-03-03,no_bed\nB1,2025-03-03,bored\nB3,2025-03-03,no_bed\nB8,2025-03-03,no_bed'
\set leave 'leave_ref,consultant_code,leave_from,leave_to,leave_reason\nL1,C110A,2025-03-10,2025-03-14,study\nL2,C110B,2025-03-10,2025-03-14,holiday\nL3,C110C,2025-03-14,2025-03-10,study\nL4,C110D,10/03/2025,14/03/2025,'
\set preop 'assessment_ref,ppid_issuer,ppid,entry_ref,assessed_on,outcome,valid_until,needs_inpatient_bed\nA1,RTH,PP1,E1,2025-02-01,fit,2025-04-30,false\nA2,RTH,PP2,E2,2025-02-01,fit,2025-01-01,perhaps\nA3,RTH,PP2,E2,2025-02-01,,,\nA4,RTH,PP2,E7,2025-02-01,fit,,'
\set unavailability 'unavailability_ref,local_patient_id,unavailable_from,unavailable_to,unavailable_reason\nU1,TP1,2025-04-01,2025-04-14,holiday\nU2,TP2,2025-04-01,2025-04-14,=cmd\nU3,TP9,2025-04-01,2025-04-14,holiday\nU4,TP1,2025-04-14,2025-04-01,holiday'
\set durations 'case_ref,procedure_code,consultant_code,performed_on,minutes\nD1,W37.1,C110A,2024-06-01,95\nD2,W371X,C110A,2024-06-01,95\nD3,W37.1,C110A,2024-06-01,2000\nD4,W37.1,C110A,2024-06-01,95\nD4,W37.1,C110A,2024-06-02,96'

CREATE FUNCTION pg_temp.stage_theatre(batch bigint, sessions text, bookings text, cancellations text, leave text,
                                      preop text, unavailability text, durations text)
RETURNS TABLE ("extract" text, staged bigint)
LANGUAGE sql AS $$
    SELECT x.e, (ptl.stage_extract(batch, x.e, convert_to(x.f, 'UTF8'))).staged
    FROM (VALUES (1, 'theatre_session', sessions), (2, 'theatre_booking', bookings),
                 (3, 'theatre_cancellation', cancellations), (4, 'consultant_leave', leave),
                 (5, 'preop_assessment', preop), (6, 'patient_unavailability', unavailability),
                 (7, 'procedure_duration', durations)) x(i, e, f)
    ORDER BY x.i
$$;
SELECT * FROM pg_temp.stage_theatre(:batch, :'sessions', :'bookings', :'cancellations', :'leave', :'preop',
                                    :'unavailability', :'durations');
SELECT extract, rows_read, rows_loaded, rows_updated, rows_quarantined, rows_with_warnings
FROM ptl.load(:batch);

-- Quarantined rows, with the rule that put them there (no hospital number
-- is ever quoted: U3 names no patient).
SELECT extract, row_in_extract AS row, reason, sqlstate, column_name, message
FROM ptl.rejected_row WHERE batch_id = :batch
ORDER BY (SELECT f.load_order FROM ptl.feed f WHERE f.extract = rejected_row.extract), row_in_extract;
-- Rows loaded without a value, each a warning V32 lists.
SELECT extract, row_in_extract AS row, column_name, value, reason, message
FROM ptl.load_warning WHERE batch_id = :batch
ORDER BY (SELECT f.load_order FROM ptl.feed f WHERE f.extract = load_warning.extract), row_in_extract, column_name;

-- What loaded.
SELECT source_ref, theatre_code, session_date, planned_start, planned_end, specialty, session_type, equipment, cancelled, cancelled_reason
FROM ptl.theatre_session WHERE source_org = 'RTH' ORDER BY source_ref;
SELECT tfc, name, placeholder FROM ptl.treatment_function WHERE tfc = '999';
SELECT b.source_ref, s.source_ref AS session, e.entry_ref, b.planned_order, b.planned_minutes, b.status, b.day_case,
       b.into_theatre, b.anaesthetic_start, b.out_of_theatre
FROM ptl.theatre_booking b JOIN ptl.theatre_session s USING (session_id) JOIN ptl.waiting_list_entry e USING (entry_id)
WHERE b.source_org = 'RTH' ORDER BY b.source_ref;
SELECT b.source_ref, c.cancelled_on, c.reason_code
FROM ptl.theatre_cancellation c JOIN ptl.theatre_booking b USING (booking_id) WHERE b.source_org = 'RTH';
SELECT source_ref, consultant_code, leave_from, leave_to, reason FROM ptl.consultant_leave WHERE source_org = 'RTH' ORDER BY source_ref;
SELECT a.source_ref, e.entry_ref, a.assessed_on, a.outcome, a.valid_until, a.needs_inpatient_bed
FROM ptl.preop_assessment a JOIN ptl.waiting_list_entry e USING (entry_id) WHERE a.source_org = 'RTH' ORDER BY a.source_ref;
SELECT u.source_ref, p.local_patient_id, u.unavailable_from, u.unavailable_to, u.reason
FROM ptl.patient_unavailability u JOIN ptl.patient p USING (patient_id) WHERE u.source_org = 'RTH' ORDER BY u.source_ref;
SELECT source_ref, procedure_code, consultant_code, performed_on, minutes FROM ptl.procedure_duration WHERE source_org = 'RTH' ORDER BY source_ref;

-- The same files again, in a new batch: every good row is matched and
-- unchanged, the bad ones are quarantined again; nothing is lost.
INSERT INTO ptl.batch (batch_id, org_code, source_system, site_code, label) VALUES (8802, 'RTH', 'PAS', 'RTH01', 'theatre feeds again');
SELECT count(*) AS extracts FROM pg_temp.stage_theatre(8802, :'sessions', :'bookings', :'cancellations', :'leave', :'preop',
                                                      :'unavailability', :'durations');
SELECT extract, rows_read, rows_loaded, rows_updated, rows_unchanged, rows_quarantined FROM ptl.load(8802);
SELECT extract, bool_and(nothing_lost) AS nothing_lost, bool_and(counts_agree) AS counts_agree
FROM ptl.load_summary WHERE batch_id IN (8801, 8802) GROUP BY extract ORDER BY extract;

-- A list re-ordered in one delivery (B1 second, B2 first): the running
-- order is checked when the whole extract has loaded
-- (theatre_booking_place_taken sees that B1 moves).
INSERT INTO ptl.batch (batch_id, org_code, source_system, site_code, label) VALUES (8803, 'RTH', 'PAS', 'RTH01', 'reordered');
SELECT staged FROM ptl.stage_extract(8803, 'theatre_booking', convert_to(
'booking_ref,session_ref,ppid_issuer,ppid,entry_ref,planned_order,planned_minutes,status
B2,S1,RTH,PP2,E2,1,60,booked
B1,S1,RTH,PP1,E1,2,90,booked', 'UTF8'));
SELECT extract, rows_read, rows_loaded, rows_updated, rows_unchanged, rows_quarantined FROM ptl.load(8803);
SELECT source_ref, planned_order, status FROM ptl.theatre_booking WHERE source_org = 'RTH' ORDER BY planned_order;

-- Another trust's batch cannot reach this trust's records: RTO's extract
-- naming S1 finds no session S1 at RTO.
INSERT INTO ptl.batch (batch_id, org_code, source_system, label) VALUES (8804, 'RTO', 'PAS', 'other trust');
SELECT staged FROM ptl.stage_extract(8804, 'theatre_cancellation', convert_to(
'booking_ref,cancelled_on,reason_code
B1,2025-03-03,no_bed', 'UTF8'));
SELECT extract, rows_read, rows_quarantined FROM ptl.load(8804);
SELECT reason, message FROM ptl.rejected_row WHERE batch_id = 8804;

-- An administrator may still insert directly (no source reference).
INSERT INTO ptl.theatre_session (theatre_code, session_date, planned_start, planned_end, specialty)
VALUES ('RTH01-T1', '2025-03-05', '08:30', '12:30', '110');
SELECT count(*) AS direct_sessions FROM ptl.theatre_session WHERE theatre_code = 'RTH01-T1' AND source_ref IS NULL;

-- The specification a site's data team reads, for these extracts.
SELECT extract, count(*) AS columns, count(*) FILTER (WHERE when_invalid = 'quarantine') AS quarantine_when_invalid
FROM ptl.extract_column WHERE extract IN (SELECT f.extract FROM ptl.feed f WHERE f.capability = 'theatre')
GROUP BY extract ORDER BY min((SELECT f.load_order FROM ptl.feed f WHERE f.extract = extract_column.extract));

-- Tidy up: later scripts measure every theatre session and count every
-- pathway in the database.
DELETE FROM ptl.theatre_cancellation WHERE booking_id IN (SELECT b.booking_id FROM ptl.theatre_booking b
                                                          JOIN ptl.theatre_session s USING (session_id)
                                                          WHERE s.theatre_code LIKE 'RT_01-T1');
DELETE FROM ptl.theatre_booking WHERE session_id IN (SELECT s.session_id FROM ptl.theatre_session s WHERE s.theatre_code LIKE 'RT_01-T1');
DELETE FROM ptl.theatre_session WHERE theatre_code LIKE 'RT_01-T1';
DELETE FROM ptl.theatre WHERE theatre_code LIKE 'RT_01-T1';
DELETE FROM ptl.preop_assessment WHERE source_org = 'RTH';
DELETE FROM ptl.consultant_leave WHERE source_org = 'RTH';
DELETE FROM ptl.patient_unavailability WHERE source_org = 'RTH';
DELETE FROM ptl.procedure_duration WHERE source_org = 'RTH';
DELETE FROM ptl.waiting_list_entry WHERE pathway_id IN (SELECT p.pathway_id FROM ptl.pathway p WHERE p.provider_org = 'RTH');
DELETE FROM ptl.rtt_dirty_pathway WHERE pathway_id IN (SELECT p.pathway_id FROM ptl.pathway p WHERE p.provider_org = 'RTH');
DELETE FROM ptl.pathway WHERE provider_org = 'RTH';
DELETE FROM ptl.patient WHERE org_code = 'RTH';
DELETE FROM ptl.treatment_function WHERE tfc = '999' AND placeholder;
