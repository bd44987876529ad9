-- Planned bed occupancy (docs/journey.md): lengths of stay from past
-- elective spells at a percentile, planned admissions (theatre bookings,
-- booked dates, the latest proposals), expected and planned beds per site
-- and night against the elective bed base.  Hand-built, census Monday
-- 2025-03-31, one week ahead; all undone at the end.
SET search_path = ptl, public;
SET datestyle = 'ISO, YMD';
BEGIN;
INSERT INTO organisation (org_code, name) VALUES ('JB1', 'Bedford Beds NHS Trust');
INSERT INTO site (site_code, org_code, name) VALUES ('JB101', 'JB1', 'Bedford General'), ('JB102', 'JB1', 'Bedford Day Unit');
INSERT INTO batch (batch_id, org_code, source_system) VALUES (961, 'JB1', 'PAS');

-- One pathway and waiting-list entry per patient: procedure, specialty,
-- intended management, site, booked date.
CREATE FUNCTION pg_temp.listed(ref text, procedure text, tfc text, management text, at_site text, tci date)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE pat bigint; pw bigint; e bigint;
BEGIN
    INSERT INTO ptl.patient (org_code, source_system, local_patient_id, batch_id)
    VALUES ('JB1', 'PAS', 'P-' || ref, 961) RETURNING patient_id INTO pat;
    INSERT INTO ptl.pathway (patient_id, provider_org, site_code, ppid, ppid_issuer, treatment_function, referral_received, batch_id)
    VALUES (pat, 'JB1', at_site, ref, 'JB1', tfc, '2024-01-08', 961) RETURNING pathway_id INTO pw;
    INSERT INTO ptl.waiting_list_entry (pathway_id, patient_id, entry_ref, procedure_code, intended_management,
                                        decision_to_admit, tci_date, site_code, batch_id)
    VALUES (pw, pat, 'W-' || ref, procedure, management, '2024-02-05', tci, at_site, 961) RETURNING entry_id INTO e;
    RETURN e;
END $$;

-- Past stays.  Hip replacements (W37.1): 2, 3, 3, 4, 5 and 8 nights; the
-- 80th percentile (nearest rank: the 5th of 6) is 5 nights.  Day-case
-- banding of haemorrhoids (H52.4): five, all home the same day.
SELECT pg_temp.listed('HIST', NULL, '110', '1', 'JB101', NULL) IS NOT NULL AS listed;
INSERT INTO hospital_spell (pathway_id, site_code, procedure_code, treatment_function, intended_management, admitted, discharged)
SELECT p.pathway_id, 'JB101', v.procedure, v.tfc, v.management, v.admitted::date, v.admitted::date + v.nights
FROM pathway p
CROSS JOIN (VALUES ('W37.1', '110', '1', '2024-09-02', 2), ('W37.1', '110', '1', '2024-10-07', 3),
                   ('W37.1', '110', '1', '2024-11-04', 3), ('W37.1', '110', '1', '2024-12-02', 4),
                   ('W37.1', '110', '1', '2025-01-06', 5), ('W37.1', '110', '1', '2025-02-03', 8),
                   ('H52.4', '104', '2', '2024-09-02', 0), ('H52.4', '104', '2', '2024-10-07', 0),
                   ('H52.4', '104', '2', '2024-11-04', 0), ('H52.4', '104', '2', '2024-12-02', 0),
                   ('H52.4', '104', '2', '2025-01-06', 0),
                   -- older than the year of history: not read
                   ('W37.1', '110', '1', '2023-06-05', 30)) v (procedure, tfc, management, admitted, nights)
WHERE p.ppid = 'HIST';
-- A hip patient admitted on Saturday 29 March is still in.
INSERT INTO hospital_spell (pathway_id, site_code, procedure_code, treatment_function, intended_management, admitted)
SELECT pathway_id, 'JB101', 'W37.1', '110', '1', '2025-03-29' FROM pathway WHERE ppid = 'HIST';

SELECT level, key, spells, nights_at_percentile, mean_nights, still_in_after[1:9] AS still_in_after_0_to_8_nights
FROM length_of_stay('2025-03-31') WHERE key IN ('W37.1', 'H52.4', '110/overnight', '104/day', 'overnight', 'day')
ORDER BY level, key;

-- What is planned.  E2 has a date on the list (9 April) and a theatre
-- booking (2 April): the booking wins.  E5 is proposed by the latest run
-- (so is E2, but booked beats proposed); E6's old proposal was superseded
-- by a later run.  E7's date is beyond the week.
SELECT count(*) AS entries FROM (VALUES
    (pg_temp.listed('E1', 'W37.1', '110', '1', 'JB101', '2025-04-01')),
    (pg_temp.listed('E2', 'W37.1', '110', '1', 'JB101', '2025-04-09')),
    (pg_temp.listed('E3', 'H52.4', '104', '2', 'JB101', '2025-04-01')),
    -- no past stays for T20.1: its specialty's overnight stays (the hips) stand in
    (pg_temp.listed('E4', 'T20.1', '110', '1', 'JB101', '2025-04-03')),
    (pg_temp.listed('E5', 'W37.1', '110', '1', 'JB101', NULL)),
    (pg_temp.listed('E6', 'W37.1', '110', '1', 'JB101', NULL)),
    (pg_temp.listed('E7', 'W37.1', '110', '1', 'JB101', '2025-05-30')),
    -- the day unit has no bed base
    (pg_temp.listed('E8', 'W37.1', '110', '1', 'JB102', '2025-04-02'))) v (e);
INSERT INTO theatre (theatre_code, site_code, name) VALUES ('JBT1', 'JB101', 'Theatre 1');
INSERT INTO theatre_session (session_id, theatre_code, session_date, planned_start, planned_end, specialty)
VALUES (9601, 'JBT1', '2025-04-02', '08:00', '13:00', '110'), (9602, 'JBT1', '2025-04-03', '08:00', '13:00', '110');
INSERT INTO theatre_booking (booking_id, session_id, entry_id, planned_order, planned_minutes)
SELECT 9601, 9601, entry_id, 1, 120 FROM waiting_list_entry WHERE entry_ref = 'W-E2';
INSERT INTO theatre_proposal_run (run_id, from_date, to_date, as_of, turnaround_minutes, sessions, session_minutes,
                                  minutes_booked_before, cases_considered, cases_proposed, minutes_proposed)
VALUES (9601, '2025-03-24', '2025-04-27', '2025-03-24', 15, 2, 600, 0, 1, 1, 120),
       (9602, '2025-03-31', '2025-05-04', '2025-03-31', 15, 2, 600, 120, 2, 2, 240);
INSERT INTO theatre_proposal (proposal_id, run_id, entry_id, session_id, list_position, start_offset_minutes, planned_minutes)
SELECT 9601, 9601, entry_id, 9602, 1, 0, 120 FROM waiting_list_entry WHERE entry_ref = 'W-E6'
UNION ALL
SELECT 9602, 9602, entry_id, 9602, 1, 0, 120 FROM waiting_list_entry WHERE entry_ref = 'W-E5'
UNION ALL
SELECT 9603, 9602, entry_id, 9601, 2, 135, 120 FROM waiting_list_entry WHERE entry_ref = 'W-E2';
SELECT w.entry_ref, a.site_code, a.admission_date, a.source, a.procedure_code, a.intended_management
FROM planned_admissions('2025-03-31', 7) a JOIN waiting_list_entry w USING (entry_id)
ORDER BY w.entry_ref;

-- The bed base: three beds on weekdays, two at the weekend.
INSERT INTO elective_bed_base (site_code, valid_from, isodow, beds) VALUES
    ('JB101', '2025-01-01', NULL, 3), ('JB101', '2025-01-01', 6, 2), ('JB101', '2025-01-01', 7, 2);

-- Beds, night by night.  At the 80th percentile every hip stays 5 nights:
-- the patient in now (2 nights so far) stays 3 more (31 Mar - 2 Apr); E1
-- fills 1-5 Apr, E2 2-6 Apr, E4 and E5 3-7 Apr; E3 is a day case (no
-- night).  So 1, 2, 3, 4, 4, 4, 3 beds: over the base from Thursday.
-- Expected beds take each past stay's chance instead: a hip admitted that
-- day is in for nights 0 and 1 for sure, night 2 with 5/6, night 3 with
-- 3/6, ...; the patient in now, having stayed 2 nights, stays a third with
-- (3/6)/(5/6) = 0.6.  E.g. Thursday 3 Apr: 0.2 + 0.83 + 1 + 1 + 1 = 4.0.
SELECT site_code, day, to_char(day, 'Dy') AS dow, admissions, day_cases, expected_beds, planned_beds, bed_base,
       over_base, beds_free
FROM bed_occupancy('2025-03-31', 7) ORDER BY site_code, day;

-- A lower percentile plans shorter stays: at the median (3 nights) only
-- Thursday is over the base; the setting does the same as the argument.
SELECT day, planned_beds, bed_base, over_base FROM bed_occupancy('2025-03-31', 7, 0.5)
WHERE site_code = 'JB101' ORDER BY day;
INSERT INTO ops_setting (los_percentile) VALUES (0.5);
SELECT count(*) AS same_as_argument
FROM bed_occupancy('2025-03-31', 7) s JOIN bed_occupancy('2025-03-31', 7, 0.5) a USING (site_code, day)
WHERE s.planned_beds = a.planned_beds AND s.expected_beds = a.expected_beds;
ROLLBACK;

-- Errors name the value and the rule.
\set VERBOSITY terse
SELECT * FROM bed_occupancy('2025-03-31', 0);
SELECT * FROM length_of_stay('2025-03-31', 1.5);
SELECT * FROM length_of_stay('infinity');
INSERT INTO elective_bed_base (site_code, valid_from, isodow, beds) VALUES ('RZZ01', '2025-01-01', 8, 3);
\set VERBOSITY default
