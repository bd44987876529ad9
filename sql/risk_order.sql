-- One order for the waiting list (docs/risk.md, "One order"):
-- the worked priority examples WE-29 to WE-34, ties, P1a/P1b first, P5/P6
-- and suspended patients set aside, the longest-wait policy, priority
-- reviews and their history, harm review, priorities due for review, and
-- the risk cohorts.  Everything is undone at the end.
SET search_path = ptl, public;
\set ON_ERROR_ROLLBACK on
BEGIN;
INSERT INTO organisation (org_code, name, org_kind) VALUES ('QRR', 'Order ICB', 'ics');
INSERT INTO organisation (org_code, name, parent_org_code) VALUES ('RR1', 'Order Hospitals NHS Trust', 'QRR');
INSERT INTO site (site_code, org_code, name) VALUES ('RR101', 'RR1', 'Order General');
INSERT INTO commissioner (commissioner_code, name) VALUES ('01R', 'Order Sub-ICB');
INSERT INTO batch (batch_id, org_code, source_system) VALUES (951, 'RR1', 'PAS');

-- A patient on the trauma and orthopaedics (110) list: referred on
-- `referred`, listed (decision to admit) on `listed` with a priority; no
-- `listed` means a non-admitted pathway.
CREATE FUNCTION pg_temp.listed_patient(name text, referred date, listed date, priority clinical_priority,
                                       born date DEFAULT '1950-06-01') RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    pat bigint; pw bigint;
BEGIN
    INSERT INTO ptl.patient (org_code, source_system, local_patient_id, date_of_birth, batch_id)
    VALUES ('RR1', 'PAS', name, born, 951) RETURNING patient_id INTO pat;
    INSERT INTO ptl.pathway (patient_id, provider_org, site_code, ppid, ppid_issuer, treatment_function,
                             referral_received, commissioner_code, batch_id)
    VALUES (pat, 'RR1', 'RR101', 'PPID-' || name, 'RR1', '110', referred, '01R', 951) RETURNING pathway_id INTO pw;
    INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, batch_id)
    VALUES (pw, pat, 'R', referred, 'referral', 951);
    IF listed IS NOT NULL THEN
        INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, batch_id)
        VALUES (pw, pat, 'D', listed, 'decision_to_admit', '20', 951);
        INSERT INTO ptl.waiting_list_entry (pathway_id, patient_id, entry_ref, intended_management,
                                            clinical_priority, decision_to_admit, site_code, batch_id)
        VALUES (pw, pat, 'WL-' || name, '1', priority, listed, 'RR101', 951);
    END IF;
    RETURN pw;
END $$;

-- WE-29 to WE-34 at as_of 2025-03-01 (targets P2 28, P3 90, P4 365 days).
SELECT count(pg_temp.listed_patient(name, referred, listed, priority)) AS listed
FROM (VALUES ('W1', '2025-01-10'::date, '2025-02-01'::date, 'P2'::clinical_priority),
             ('W2', '2024-10-01', '2024-12-01', 'P3'),
             ('W3', '2024-04-01', '2024-06-01', 'P4'),
             ('W4', '2024-12-01', '2025-01-15', 'P3'),
             ('W5', '2025-02-01', '2025-02-20', 'P2'),
             ('W6', '2023-10-01', '2023-12-01', 'P4')) v (name, referred, listed, priority);
CALL refresh('2025-03-01');

-- The published ranks: W6 breached (124.93%), then W2 and W1 tied at
-- exactly 100% (90 x 28 = 28 x 90) with W2 listed earlier, W3, W4, W5.
-- W1's target date is the census: breached today (wait >= target).
SELECT local_patient_id AS patient, clinical_priority, decision_to_admit AS listed, days_on_list,
       pct_target_elapsed, target_date, list_position, order_group
FROM ptl WHERE provider_org = 'RR1' ORDER BY list_position;

-- More patients: an urgent P1b, two more P3s listed the same day as W4 (so
-- the clock start decides, then the patient record), a P2 whose 42
-- suspended days do not count, one suspended today, P5 and P6, one listed
-- without a priority, and a non-admitted pathway (its own list).
SELECT count(pg_temp.listed_patient(name, referred, listed, priority)) AS listed
FROM (VALUES ('U1', '2025-02-20'::date, '2025-02-28'::date, 'P1b'::clinical_priority),
             ('T1', '2024-11-01', '2025-01-15', 'P3'),
             ('T2', '2024-12-01', '2025-01-15', 'P3'),
             ('S1', '2024-12-01', '2025-01-01', 'P2'),
             ('S2', '2025-01-01', '2025-02-01', 'P2'),
             ('X5', '2024-01-01', '2024-02-01', 'P5'),
             ('X6', '2024-01-01', '2024-02-01', 'P6'),
             ('N1', '2024-03-01', '2024-06-01', NULL),
             ('O1', '2024-09-01', NULL, NULL)) v (name, referred, listed, priority);
INSERT INTO waiting_list_suspension (entry_id, suspended_from, suspended_until, reason, recorded_by)
SELECT entry_id, f::date, u::date, 'patient_unavailable', 'PTL validator'
FROM waiting_list_entry JOIN (VALUES ('WL-S1', '2025-01-10', '2025-02-10'), ('WL-S1', '2025-02-01', '2025-02-20'),
                                     ('WL-S2', '2025-02-25', NULL)) v (ref, f, u) ON entry_ref = ref;
CALL refresh('2025-03-01');
-- S1: 59 days listed, 10 Jan to 20 Feb suspended (overlaps once: 42 days),
-- 17 of 28 days = 60.71%, between W3 and W4; its target date moves on by
-- the suspended days.  T1 starts its clock before W4, T2 on the same day as
-- W4 but its record is later.
SELECT local_patient_id AS patient, clinical_priority, decision_to_admit AS listed, clock_start,
       suspended_days, days_on_list, target_elapsed, pct_target_elapsed, target_date, order_group, list_position
FROM ptl WHERE provider_org = 'RR1'
ORDER BY waiting_list_entry_id IS NULL, list_position NULLS LAST, local_patient_id;

-- The order is one exact key: no two rows of a list share a position.
SELECT count(*) AS positioned, count(DISTINCT (waiting_list_entry_id IS NULL, list_position)) AS distinct_positions
FROM ptl WHERE provider_org = 'RR1' AND list_position IS NOT NULL;

-- Policy switch: longest RTT wait first (urgent still first, set-aside
-- still aside), from the next refresh (the PTL is as at the last refresh).
INSERT INTO risk_setting (order_policy) VALUES ('longest_wait');
CALL refresh('2025-03-01');
SELECT local_patient_id AS patient, clinical_priority, clock_start, days_waited, list_position
FROM ptl WHERE provider_org = 'RR1' AND waiting_list_entry_id IS NOT NULL
ORDER BY list_position NULLS LAST, local_patient_id;
INSERT INTO risk_setting (order_policy) VALUES ('clinical_priority');

-- Priority review: W5 is re-prioritised P2 -> P4 on 25 February and drops
-- to the foot of the P2-P4 group from the next refresh; a review dated
-- after the census does not count yet.  The history keeps both writers:
-- the source system's priority at listing and the clinician's review.
SELECT review_clinical_priority(entry_id, 'P4', 'Ms Surgeon', '2025-02-25', 'Symptoms settled') > 0 AS reviewed
FROM waiting_list_entry WHERE entry_ref = 'WL-W5';
SELECT review_clinical_priority(entry_id, 'P2', 'Ms Surgeon', '2025-03-05') > 0 AS future_review
FROM waiting_list_entry WHERE entry_ref = 'WL-W3';
CALL refresh('2025-03-01');
SELECT local_patient_id AS patient, clinical_priority, list_position
FROM ptl WHERE provider_org = 'RR1' AND local_patient_id IN ('W3', 'W5', 'N1') ORDER BY list_position;
SELECT e.entry_ref, h.priority, h.valid_from, h.source, h.reviewed_by, h.reason
FROM clinical_priority_history h JOIN waiting_list_entry e USING (entry_id)
WHERE e.entry_ref IN ('WL-W3', 'WL-W5') ORDER BY e.entry_ref, h.valid_from, h.history_id;
-- A change in the source system is recorded too (from the day it is loaded).
UPDATE waiting_list_entry SET clinical_priority = 'P3' WHERE entry_ref = 'WL-W1';
SELECT priority, valid_from = current_date AS from_load_day, source, reviewed_by
FROM clinical_priority_history h JOIN waiting_list_entry e USING (entry_id)
WHERE e.entry_ref = 'WL-W1' ORDER BY h.history_id;
-- A review needs a reviewer, and a date while the patient is on the list.
\set ON_ERROR_STOP 0
SELECT review_clinical_priority(entry_id, 'P3', 'Ms Surgeon', '2024-01-01') FROM waiting_list_entry WHERE entry_ref = 'WL-W1';
SELECT review_clinical_priority(entry_id, 'P3', ' ', '2025-02-10') FROM waiting_list_entry WHERE entry_ref = 'WL-W1';
SELECT review_clinical_priority(-1, 'P3', 'Ms Surgeon');
\set ON_ERROR_STOP 1

-- Harm review: over 52 weeks (W6, X5, X6, N1, O1 by RTT wait), or at or
-- past the priority target (margin 0 days).
SELECT local_patient_id AS patient, clinical_priority, weeks_waited, target_date, days_past_target, reasons
FROM harm_review h JOIN patient USING (patient_id) WHERE h.provider_org = 'RR1'
ORDER BY local_patient_id;
-- With a 7-day margin, patients breached today are not yet flagged.
INSERT INTO risk_setting (harm_review_target_margin_days) VALUES (7);
SELECT local_patient_id AS patient, reasons
FROM harm_review h JOIN patient USING (patient_id)
WHERE h.provider_org = 'RR1' AND h.clinical_priority IS NOT NULL ORDER BY local_patient_id;

-- Priorities due for review: none recorded, or set 84 days or more before
-- the census (W5's review is recent; W3's future review does not count).
SELECT local_patient_id AS patient, clinical_priority, priority_set_on, priority_source, days_since_set, reason
FROM priority_review_due d JOIN patient USING (patient_id) WHERE d.provider_org = 'RR1'
ORDER BY local_patient_id;

-- Risk assessments and the cohorts.  W1: WE-13's ARISCAT inputs (42,
-- intermediate): prehabilitation.  W3: WE-3's SORT inputs (82 years old:
-- 6.888%): high mortality risk; assessed 13 weeks before the census, so
-- stale.  W6: CFS 5 at 52 (WE-28): frail, with the under-65 warning.  W4:
-- an old high ARISCAT superseded by a newer low one: not in the cohort.
UPDATE patient SET date_of_birth = CASE local_patient_id WHEN 'W1' THEN '1959-06-01'::date
                                                         WHEN 'W3' THEN '1942-06-01'::date
                                                         WHEN 'W6' THEN '1972-06-01'::date END
WHERE local_patient_id IN ('W1', 'W3', 'W6');
INSERT INTO risk_assessment (patient_id, assessed_on, recorded_by, spo2_pct, respiratory_infection_last_month,
                             hb_g_dl, incision, surgery_duration_hours, asa_grade, sort_specialty, severity, cancer,
                             clinician_band, cfs_level)
SELECT p.patient_id, v.assessed::date, 'Pre-op nurse', v.spo2, v.rti, v.hb, v.incision, v.hours, v.asa, v.spec,
       v.severity, v.cancer, v.band, v.cfs
FROM patient p JOIN (VALUES
    ('W1', '2025-02-15', 95, false, 12.0, 'upper_abdominal', 2.5, NULL, NULL, NULL, NULL, NULL, NULL),
    ('W3', '2024-11-30', NULL, NULL, NULL, NULL, NULL, 3, 'colorectal', 'xmajor', true, '2.6-5%', NULL),
    ('W6', '2025-02-01', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 5),
    ('W4', '2024-12-01', 85, true, 9.0, 'intrathoracic', 4, NULL, NULL, NULL, NULL, NULL, NULL),
    ('W4', '2025-02-01', 98, false, 14.0, 'peripheral', 1, NULL, NULL, NULL, NULL, NULL, NULL)
) v (name, assessed, spo2, rti, hb, incision, hours, asa, spec, severity, cancer, band, cfs)
  ON p.local_patient_id = v.name AND p.org_code = 'RR1';
SELECT p.local_patient_id AS patient, s.assessed_on, s.age_years, s.ariscat_score, s.ariscat_class,
       round(s.sort_mortality_pct::numeric, 3) AS sort_pct, round(s.sort_cj_mortality_pct::numeric, 3) AS sort_cj_pct,
       round(s.sort_morbidity_pct::numeric, 3) AS morbidity_pct, s.cfs_level, s.cfs_label, s.frail, s.cfs_warning
FROM risk_score s JOIN patient p USING (patient_id) WHERE p.org_code = 'RR1'
ORDER BY 1, 2;
SELECT p.local_patient_id AS patient, l.assessed_on, l.ariscat_score FROM risk_latest l JOIN patient p USING (patient_id)
WHERE p.org_code = 'RR1' AND p.local_patient_id = 'W4';
SELECT cohort, p.local_patient_id AS patient, c.list_position, c.weeks_waited, round(c.measure::numeric, 3) AS measure,
       c.threshold, c.assessment_stale
FROM risk_cohort c JOIN patient p USING (patient_id) WHERE c.provider_org = 'RR1'
ORDER BY cohort, list_position;
SELECT 'prehabilitation' AS cohort, count(*) FROM cohort_prehabilitation WHERE provider_org = 'RR1'
UNION ALL SELECT 'high_mortality_risk', count(*) FROM cohort_high_mortality_risk WHERE provider_org = 'RR1'
UNION ALL SELECT 'frail', count(*) FROM cohort_frail WHERE provider_org = 'RR1';
-- Thresholds are settings: with prehabilitation from ARISCAT 45 (high
-- class only), W1 leaves the cohort.
INSERT INTO risk_setting (prehabilitation_ariscat_from) VALUES (45);
SELECT count(*) AS prehabilitation FROM cohort_prehabilitation WHERE provider_org = 'RR1';
-- An assessment the models would refuse is refused when it is recorded.
\set ON_ERROR_STOP 0
INSERT INTO risk_assessment (patient_id, assessed_on, recorded_by, hb_g_dl, spo2_pct, respiratory_infection_last_month,
                             incision, surgery_duration_hours)
SELECT patient_id, '2025-02-01', 'Pre-op nurse', 120, 97, false, 'peripheral', 1 FROM patient WHERE local_patient_id = 'W2';
INSERT INTO risk_assessment (patient_id, assessed_on, recorded_by, cfs_level)
SELECT patient_id, '2025-02-01', 'Pre-op nurse', 10 FROM patient WHERE local_patient_id = 'W2';
\set ON_ERROR_STOP 1

-- The non-admitted list (docs/risk.md, "One order"): patients waiting for
-- a first appointment on the ENT (120) list, referred with a priority that
-- a clinician may have changed on triage.  Two-week-wait referrals come
-- first, then urgent, then routine, each by share of its target waited
-- (defaults 14, 28 and 126 days from clock start), then clock start, then
-- the patient record.
CREATE FUNCTION pg_temp.referred_patient(name text, referred date, priority referral_priority,
                                         triage referral_priority, consultant text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    pat bigint; pw bigint;
BEGIN
    INSERT INTO ptl.patient (org_code, source_system, local_patient_id, date_of_birth, batch_id)
    VALUES ('RR1', 'PAS', name, '1960-01-01', 951) RETURNING patient_id INTO pat;
    INSERT INTO ptl.pathway (patient_id, provider_org, site_code, ppid, ppid_issuer, treatment_function,
                             referral_priority, triage_priority, referral_received, commissioner_code,
                             consultant_code, batch_id)
    VALUES (pat, 'RR1', 'RR101', 'PPID-' || name, 'RR1', '120', priority, triage, referred, '01R', consultant, 951)
    RETURNING pathway_id INTO pw;
    INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, batch_id)
    VALUES (pw, pat, 'R', referred, 'referral', 951);
    RETURN pw;
END $$;
SELECT count(pg_temp.referred_patient(name, referred, priority, triage, consultant)) AS referred
FROM (VALUES ('AR1', '2024-10-01'::date, 'routine'::referral_priority, NULL::referral_priority, 'C100'),
             ('AR2', '2025-01-02', 'routine', NULL, 'C100'),
             ('AU1', '2025-02-10', 'urgent', NULL, 'C100'),
             ('AU2', '2025-01-20', 'urgent', NULL, 'C200'),
             ('AT1', '2025-02-25', 'two_week_wait', NULL, 'C200'),
             ('AG1', '2025-02-01', 'routine', 'urgent', 'C200'),
             ('AD1', '2024-12-01', 'urgent', 'routine', 'C100'),
             ('AE1', '2024-11-15', 'routine', NULL, 'C100'),
             ('AE2', '2024-11-15', 'routine', NULL, 'C200')) v (name, referred, priority, triage, consultant);
CALL refresh('2025-03-01');
-- AT1 (two-week wait, 4 of 14 days) leads though it waited least.  Urgent:
-- AU2 past its target (40/28), AG1 (a routine referral triaged urgent) at it
-- today (28/28), AU1 (19/28).  Routine: AR1 (151/126), AE1 and AE2 (referred
-- the same day: the patient record decides), AD1 (an urgent referral triaged
-- routine, 90/126), AR2 (58/126).  The consultant is the pathway's.
SELECT local_patient_id AS patient, referral_priority, triage_priority, clock_start, days_waited,
       target_days, target_elapsed, pct_target_elapsed, target_date, order_group, list_position, consultant_code
FROM ptl WHERE provider_org = 'RR1' AND treatment_function = '120' ORDER BY list_position;
-- A trust that keeps the longest-wait order: the non-admitted list by
-- clock start alone, whatever the priority (release 0.3.0's order).
INSERT INTO risk_setting (order_policy) VALUES ('longest_wait');
CALL refresh('2025-03-01');
SELECT local_patient_id AS patient, referral_priority, triage_priority, clock_start, list_position
FROM ptl WHERE provider_org = 'RR1' AND treatment_function = '120' ORDER BY list_position;
-- Targets are settings: with urgent referrals due within 42 days, AU2 is at
-- 40/42 and AG1 at 28/42 (the order within the group stays by wait).
INSERT INTO risk_setting (order_policy, urgent_referral_target_days) VALUES ('clinical_priority', 42);
CALL refresh('2025-03-01');
SELECT local_patient_id AS patient, target_days, target_elapsed, target_date, list_position
FROM ptl WHERE provider_org = 'RR1' AND treatment_function = '120' AND order_group = 'non_admitted'
  AND coalesce(triage_priority, referral_priority) = 'urgent' ORDER BY list_position;
-- On the admitted list the consultant is the one who will operate, when the
-- waiting-list entry names one; otherwise the pathway's.
UPDATE pathway SET consultant_code = 'C100' WHERE ppid IN ('PPID-W1', 'PPID-W2');
UPDATE waiting_list_entry SET consultant_code = 'C300' WHERE entry_ref = 'WL-W1';
CALL refresh('2025-03-01');
SELECT local_patient_id AS patient, consultant_code FROM ptl
WHERE provider_org = 'RR1' AND local_patient_id IN ('W1', 'W2') ORDER BY 1;
-- A consultant's own lists (ptl.consultant_list), in order, with the next
-- actions due: W2 has a TCI and no fit pre-op assessment; W1's fit
-- assessment lapses before its TCI; AR2 has a follow-up past its LCAD;
-- targets reached and priorities due for review are listed too.
UPDATE waiting_list_entry SET tci_date = '2025-03-20' WHERE entry_ref IN ('WL-W1', 'WL-W2');
UPDATE waiting_list_entry SET consultant_code = 'C100' WHERE entry_ref = 'WL-W1';
INSERT INTO preop_assessment (entry_id, assessed_on, outcome, valid_until)
SELECT entry_id, '2025-01-10', 'fit', '2025-03-15' FROM waiting_list_entry WHERE entry_ref = 'WL-W1';
INSERT INTO preop_assessment (entry_id, assessed_on, outcome)
SELECT entry_id, '2025-02-10', 'not_fit' FROM waiting_list_entry WHERE entry_ref = 'WL-W2';
INSERT INTO follow_up_request (pathway_id, treatment_function, requested_on, due_date, lcad, clinical_risk)
SELECT pathway_id, '120', '2025-01-06', '2025-02-03', '2025-02-17', 'medium' FROM pathway WHERE ppid = 'PPID-AR2';
CALL refresh('2025-03-01');
SELECT c.list, c.list_position AS pos, p.local_patient_id AS patient, c.clinical_priority AS cp,
       coalesce(c.triage_priority, c.referral_priority) AS referral, c.tci_date, c.next_actions
FROM consultant_list c JOIN patient p USING (patient_id)
WHERE c.consultant_code = 'C100' ORDER BY c.list, c.list_position;

-- The census snapshot keeps each pathway's place and target date.
SELECT p.local_patient_id AS patient, s.list_position, s.target_date
FROM census_snapshot s JOIN pathway pw USING (pathway_id) JOIN patient p ON p.patient_id = pw.patient_id
WHERE s.census_date = '2025-03-01' AND s.provider_org = 'RR1' AND s.list_position <= 3 AND s.has_dta
ORDER BY s.list_position;
ROLLBACK;
