-- Outpatients (docs/outpatients.md): hand-built clinics, appointments and
-- follow-ups at census Monday 2025-03-31.  The non-RTT follow-up list with
-- its days past the latest clinically appropriate date (LCAD), a validation
-- campaign on it, PIFU, every outpatient measure, advice and guidance, and
-- the independent sector's activity and displacement.  All undone at the end.
SET search_path = ptl, public;
SET datestyle = 'ISO, YMD';
BEGIN;
INSERT INTO organisation (org_code, name, org_kind) VALUES
    ('OA1', 'Outpatient Alpha NHS Trust', 'nhs_trust'), ('OI1', 'Outpatient Independent Hospital', 'independent_sector');
INSERT INTO site (site_code, org_code, name) VALUES ('OA101', 'OA1', 'Alpha General'), ('OI101', 'OI1', 'Independent');
INSERT INTO batch (batch_id, org_code, source_system) VALUES (981, 'OA1', 'PAS'), (982, 'OI1', 'PAS');
INSERT INTO clinic (clinic_code, site_code, treatment_function, name) VALUES
    ('DERM1', 'OA101', '330', 'Dermatology, Dr A'), ('DERM2', 'OA101', '330', 'Dermatology, Dr B');

-- A pathway with its patient and events 'date kind [status]' (';'-separated).
CREATE FUNCTION pg_temp.op_pathway(provider text, ppid text, tfc text, events text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    b bigint := CASE provider WHEN 'OA1' THEN 981 ELSE 982 END;
    pat bigint; pw bigint; e text; f text[]; n int := 0;
BEGIN
    INSERT INTO ptl.patient (org_code, source_system, local_patient_id, batch_id)
    VALUES (provider, 'PAS', 'P-' || ppid, b) RETURNING patient_id INTO pat;
    INSERT INTO ptl.pathway (patient_id, provider_org, site_code, ppid, ppid_issuer, treatment_function, referral_received, batch_id)
    VALUES (pat, provider, provider || '01', ppid, provider, tfc, split_part(events, ' ', 1)::date, b)
    RETURNING pathway_id INTO pw;
    FOREACH e IN ARRAY string_to_array(events, ';') LOOP
        f := regexp_split_to_array(trim(e), '\s+');
        n := n + 1;
        INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, batch_id)
        VALUES (pw, pat, 'E' || n, f[1]::date, f[2]::ptl.event_kind, f[3]::ptl.rtt_status, b);
    END LOOP;
    RETURN pw;
END $$;

-- Four dermatology pathways.  TRT treated in clinic on 6 January (clock
-- stopped), asked back in 8 weeks; MON on active monitoring (stopped),
-- asked back in 4; RUN still has its clock running (so its follow-up is on
-- the PTL, not this list); LOW treated, follow-up not due until May.
SELECT count(pg_temp.op_pathway('OA1', ppid, '330', events)) AS pathways
FROM (VALUES ('TRT', '2024-11-04 referral; 2025-01-06 outpatient 30'),
             ('MON', '2024-11-04 referral; 2025-01-13 outpatient 32'),
             ('RUN', '2025-01-06 referral; 2025-02-03 outpatient 10'),
             ('LOW', '2024-12-02 referral; 2025-03-03 outpatient 30')) v (ppid, events);
CALL refresh('2025-03-31');

-- The appointments of the week of 3 March at DERM1 (10 slots, one session)
-- and DERM2 (4 slots): 5 first attendances and 2 first DNAs, 6 follow-up
-- attendances and 1 follow-up DNA, 2 cancelled by the hospital, 1 by the
-- patient; outcomes: 2 discharged, 1 moved to PIFU, 1 listed.
INSERT INTO clinic_session (clinic_code, session_date, slots) VALUES ('DERM1', '2025-03-03', 10), ('DERM2', '2025-03-05', 4);
INSERT INTO outpatient_appointment (pathway_id, clinic_code, appointment_date, appointment_type, attendance, outcome, follow_up_weeks)
SELECT (SELECT pathway_id FROM pathway WHERE ppid = 'RUN'), v.clinic, v.d::date, v.kind, v.att, v.outcome, v.weeks
FROM (VALUES ('DERM1', '2025-03-03', 'first', 'attended', 'discharged', NULL),
             ('DERM1', '2025-03-03', 'first', 'attended', 'listed', NULL),
             ('DERM1', '2025-03-03', 'first', 'attended', 'follow_up', 6),
             ('DERM1', '2025-03-03', 'first', 'dna', NULL, NULL),
             ('DERM1', '2025-03-03', 'follow_up', 'attended', 'pifu', NULL),
             ('DERM1', '2025-03-03', 'follow_up', 'attended', 'follow_up', 12),
             ('DERM1', '2025-03-03', 'follow_up', 'attended', 'discharged', NULL),
             ('DERM1', '2025-03-03', 'follow_up', 'dna', NULL, NULL),
             ('DERM1', '2025-03-03', 'follow_up', 'cancelled_by_hospital', NULL, NULL),
             ('DERM1', '2025-03-03', 'follow_up', 'cancelled_by_patient', NULL, NULL),
             ('DERM2', '2025-03-05', 'first', 'attended', 'follow_up', 4),
             ('DERM2', '2025-03-05', 'first', 'attended', 'follow_up', 4),
             ('DERM2', '2025-03-05', 'first', 'dna', NULL, NULL),
             ('DERM2', '2025-03-05', 'follow_up', 'attended', 'follow_up', 8),
             ('DERM2', '2025-03-05', 'follow_up', 'attended', 'follow_up', 8),
             ('DERM2', '2025-03-05', 'follow_up', 'attended', 'other', NULL),
             ('DERM2', '2025-03-05', 'follow_up', 'cancelled_by_hospital', NULL, NULL)
) v (clinic, d, kind, att, outcome, weeks);
-- Advice and guidance that week: 4 asked, 3 answered, 1 of them diverted.
INSERT INTO advice_request (provider_org, treatment_function, requested_on, responded_on, outcome) VALUES
    ('OA1', '330', '2025-03-03', '2025-03-04', 'diverted'), ('OA1', '330', '2025-03-04', '2025-03-06', 'referral_advised'),
    ('OA1', '330', '2025-03-05', '2025-03-07', 'other'), ('OA1', '330', '2025-03-07', NULL, 'pending');

-- Each measure, worked: follow-ups per first 6 / 5 = 1.20; first DNA rate
-- 2 / 7 = 28.6%; follow-up DNA 1 / 7 = 14.3%; hospital cancellations 2 /
-- 17 due = 11.8%, patient 1 / 17 = 5.9%; PIFU uptake 1 / 11 attendances =
-- 9.1%; slots used 14 of 14 = 100% (DERM1 8 of 10, DERM2 6 of 4 = 150%,
-- overbooked); advice diverted 1 of 3 answered = 33.3%.
SELECT grouping, clinic_code, first_attended, follow_up_attended, follow_ups_per_first, first_dna_pct, follow_up_dna_pct,
       hospital_cancelled_pct, patient_cancelled_pct, moved_to_pifu, pifu_uptake_pct, discharged, slots, slots_used,
       slot_utilisation_pct, advice_requests, advice_answered, advice_diverted, advice_diverted_pct
FROM outpatient_measures WHERE provider_org = 'OA1' AND week_starting = '2025-03-03'
ORDER BY grouping, clinic_code;

-- A trust's reader sees its own clinics' sessions and advice only (they
-- carry no patient data, so no row security of their own).
INSERT INTO clinic (clinic_code, site_code, treatment_function, name) VALUES ('IND1', 'OI101', '330', 'Independent dermatology');
INSERT INTO clinic_session (clinic_code, session_date, slots) VALUES ('IND1', '2025-03-04', 20);
CREATE ROLE outpatient_reader IN ROLE ptl_reader;
INSERT INTO user_organisation (role_name, org_code) VALUES ('outpatient_reader', 'OA1');
SET ROLE outpatient_reader;
SELECT provider_org, grouping, count(*) AS rows, sum(slots) AS slots, sum(advice_requests) AS advice
FROM outpatient_measures WHERE week_starting = '2025-03-03' GROUP BY 1, 2 ORDER BY 1, 2;
RESET ROLE;
SELECT provider_org, grouping, count(*) AS rows, sum(slots) AS slots
FROM outpatient_measures WHERE week_starting = '2025-03-03' GROUP BY 1, 2 ORDER BY 1, 2;

-- Follow-up requests.  TRT: due 3 March, LCAD 17 March: 14 days past it.
-- MON: due 10 Feb, LCAD 10 March, high risk, booked for 14 April (after the
-- LCAD).  LOW: due 5 May, LCAD 2 June: 63 days to go.  RUN's clock runs,
-- so its follow-up is on the PTL, not here (RTT guidance 5: only follow-ups
-- after a clock stop sit outside RTT, managed by risk and LCAD).
INSERT INTO follow_up_request (pathway_id, treatment_function, clinic_code, requested_on, due_date, lcad, clinical_risk)
SELECT p.pathway_id, '330', 'DERM1', v.requested::date, v.due::date, v.lcad::date, v.risk
FROM (VALUES ('TRT', '2025-01-06', '2025-03-03', '2025-03-17', 'medium'),
             ('MON', '2025-01-13', '2025-02-10', '2025-03-10', 'high'),
             ('LOW', '2025-03-03', '2025-05-05', '2025-06-02', 'low'),
             ('RUN', '2025-02-03', '2025-03-03', '2025-03-10', 'low')) v (ppid, requested, due, lcad, risk)
JOIN pathway p ON p.ppid = v.ppid;
INSERT INTO outpatient_appointment (pathway_id, clinic_code, appointment_date, appointment_type, booked_on)
SELECT pathway_id, 'DERM1', '2025-04-14', 'follow_up', '2025-03-20' FROM pathway WHERE ppid = 'MON';
SELECT p.ppid, b.requested_on, b.due_date, b.lcad, b.days_past_due, b.days_past_lcad, b.weeks_past_lcad, b.overdue,
       b.clinical_risk, b.next_booked, b.booked_after_lcad
FROM follow_up_list b JOIN pathway p USING (pathway_id) ORDER BY b.days_past_lcad DESC;
-- The follow-up list's order (docs/outpatients.md): earliest LCAD first,
-- then the clinician's risk of harm from delay (high, medium, low, not
-- stratified), then the date due.  A second request for LOW's patient,
-- high risk with TRT's LCAD, goes before TRT; MON's earlier LCAD leads.
INSERT INTO follow_up_request (pathway_id, treatment_function, clinic_code, requested_on, due_date, lcad, clinical_risk)
SELECT pathway_id, '330', 'DERM1', '2025-02-03', '2025-03-10', '2025-03-17', 'high' FROM pathway WHERE ppid = 'LOW';
SELECT p.ppid, b.lcad, b.clinical_risk, b.due_date, b.list_position
FROM follow_up_list b JOIN pathway p USING (pathway_id) ORDER BY b.provider_org, b.treatment_function, b.list_position;
DELETE FROM follow_up_request WHERE requested_on = '2025-02-03' AND clinical_risk = 'high';
-- Three weeks later TRT is 35 days past (5 weeks); a request closed since
-- is off the list.
UPDATE follow_up_request SET closed_on = '2025-04-10', closed_reason = 'discharged'
WHERE pathway_id = (SELECT pathway_id FROM pathway WHERE ppid = 'LOW');
SELECT p.ppid, b.days_past_lcad, b.weeks_past_lcad FROM follow_up_backlog('2025-04-21') b JOIN pathway p USING (pathway_id)
ORDER BY p.ppid;

-- The same validation campaigns as the RTT list (validation guidance, December 2022: validate
-- non-RTT follow-up lists too): the follow-ups past their LCAD not
-- validated in 12 weeks.  TRT no longer needs seeing (closed); MON
-- cannot come before 1 May (kept, noted).  No clock is touched.
SELECT start_follow_up_validation_campaign('Dermatology follow-ups past LCAD', 0) AS campaign \gset
SELECT p.ppid, c.days_waited FROM validation_campaign_pathway c JOIN pathway p USING (pathway_id)
WHERE c.campaign_id = :campaign ORDER BY p.ppid;
INSERT INTO validation_contact (campaign_id, pathway_id, contacted_on, method, answer, unavailable_until)
SELECT :campaign, p.pathway_id, '2025-03-31', 'phone', v.answer, v.until::date
FROM (VALUES ('TRT', 'no_longer_required', NULL), ('MON', 'unavailable_until', '2025-05-01')) v (ppid, answer, until)
JOIN pathway p ON p.ppid = v.ppid;
SELECT p.ppid, apply_validation_contact(k.contact_id) AS applied
FROM validation_contact k JOIN pathway p USING (pathway_id) WHERE k.campaign_id = :campaign ORDER BY p.ppid;
SELECT p.ppid, f.closed_on, f.closed_reason, f.unavailable_until FROM follow_up_request f JOIN pathway p USING (pathway_id)
WHERE p.ppid IN ('TRT', 'MON') ORDER BY p.ppid;
SELECT count(*) AS events_added FROM pathway_event e JOIN pathway p USING (pathway_id)
WHERE p.ppid IN ('TRT', 'MON') AND e.event_ref LIKE 'validation-%';
SELECT p.ppid, b.last_validated_on, b.last_validation_outcome FROM follow_up_list b JOIN pathway p USING (pathway_id)
ORDER BY p.ppid;
SELECT list, cohort, contacted, validated, removed FROM validation_campaign_summary WHERE campaign_id = :campaign;

-- PIFU: four patients moved to PIFU in dermatology.  One asked to be seen;
-- two windows ended (one discharged at the end, one early); one is open.
-- Shares: initiated 1 of 4 = 25%; discharged at the end 1 of 2 ended = 50%.
INSERT INTO pifu_episode (pathway_id, treatment_function, started_on, window_end, initiated_on, ended_on, end_reason)
SELECT p.pathway_id, '330', v.started::date, v.window_end::date, v.initiated::date, v.ended::date, v.reason
FROM (VALUES ('TRT', '2024-06-03', '2024-12-03', NULL, '2024-12-03', 'discharged_at_window_end'),
             ('MON', '2024-09-02', '2025-03-02', NULL, '2024-10-01', 'discharged_early'),
             ('LOW', '2025-01-06', '2025-07-06', '2025-02-10', NULL, NULL),
             ('RUN', '2025-02-03', '2025-08-03', NULL, NULL, NULL)) v (ppid, started, window_end, initiated, ended, reason)
JOIN pathway p ON p.ppid = v.ppid;
SELECT * FROM pifu_summary('2025-03-31') WHERE provider_org = 'OA1';

-- The independent sector: OI1 does dermatology from November.  Its activity
-- grows in the three months to March on the three before, while OA1's
-- falls: displacement.
SELECT count(pg_temp.op_pathway(v.provider, v.provider || '-' || v.month || '-' || g, '330',
                                v.month || '-05 referral; ' || v.month || '-12 outpatient 30'))
FROM (VALUES ('OA1', '2024-10', 6), ('OA1', '2024-11', 6), ('OA1', '2024-12', 6),
             ('OA1', '2025-01', 4), ('OA1', '2025-02', 4), ('OA1', '2025-03', 3),
             ('OI1', '2024-11', 1), ('OI1', '2024-12', 1),
             ('OI1', '2025-01', 3), ('OI1', '2025-02', 3), ('OI1', '2025-03', 4)) v (provider, month, n)
CROSS JOIN LATERAL generate_series(1, v.n) g;
CALL refresh('2025-03-31');
SELECT month, provider_type, attendances, admissions, activity, clock_stops
FROM provider_type_activity WHERE treatment_function = '330' AND month >= '2024-10-01' ORDER BY month, provider_type;
SELECT month, nhs_activity, is_activity, is_share_pct, nhs_3m, nhs_3m_before, is_3m, is_3m_before, nhs_change, is_change,
       displacement
FROM independent_sector_displacement WHERE treatment_function = '330' AND month >= '2024-12-01' ORDER BY month;
ROLLBACK;

-- Errors name the value and the rule.
\set VERBOSITY terse
SELECT start_follow_up_validation_campaign('x', 0, -1);
INSERT INTO outpatient_appointment (pathway_id, clinic_code, appointment_date, appointment_type, attendance, outcome)
VALUES (1, 'X', '2025-01-01', 'first', 'dna', 'discharged');
INSERT INTO follow_up_request (pathway_id, treatment_function, requested_on, due_date, lcad)
VALUES (1, '330', '2025-01-01', '2025-03-01', '2025-02-01');
\set VERBOSITY default
