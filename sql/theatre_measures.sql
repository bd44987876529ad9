-- Theatre productivity and duration uncertainty (docs/theatre.md,
-- "Productivity" and "Planning durations"): the worked examples WE-35 to WE-37 (capped
-- utilisation, late start, early finish, overrun, turnaround), the weekly
-- roll-up, on-the-day cancellations and the 28-day standard, pre-operative
-- assessment lead time, and WE-38 to WE-41 (lognormal percentiles, overrun
-- risk) with planning durations fitted from history.  Undone at the end.
SET search_path = ptl, public;
SET datestyle = 'ISO, YMD';
\set ON_ERROR_ROLLBACK on
BEGIN;
INSERT INTO organisation (org_code, name, org_kind) VALUES ('QTT', 'Theatre ICB', 'ics');
INSERT INTO organisation (org_code, name, parent_org_code) VALUES ('RT1', 'Theatre Hospitals NHS Trust', 'QTT');
INSERT INTO site (site_code, org_code, name) VALUES ('RT101', 'RT1', 'Theatre General');
INSERT INTO commissioner (commissioner_code, name) VALUES ('01T', 'Theatre Sub-ICB');
INSERT INTO batch (batch_id, org_code, source_system) VALUES (961, 'RT1', 'PAS');
INSERT INTO theatre (theatre_code, site_code, name) VALUES ('TH1', 'RT101', 'Main theatre 1');

-- A listed patient (trauma and orthopaedics), returning the entry.
CREATE FUNCTION pg_temp.entry(name text, management text DEFAULT '2') RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE pat bigint; pw bigint; e bigint;
BEGIN
    INSERT INTO ptl.patient (org_code, source_system, local_patient_id, date_of_birth, batch_id)
    VALUES ('RT1', 'PAS', name, '1960-01-01', 961) RETURNING patient_id INTO pat;
    INSERT INTO ptl.pathway (patient_id, provider_org, site_code, ppid, ppid_issuer, treatment_function,
                             referral_received, commissioner_code, batch_id)
    VALUES (pat, 'RT1', 'RT101', 'PPID-' || name, 'RT1', '110', '2025-01-02', '01T', 961) RETURNING pathway_id INTO pw;
    INSERT INTO ptl.waiting_list_entry (pathway_id, patient_id, entry_ref, procedure_code, intended_management,
                                        clinical_priority, decision_to_admit, consultant_code, site_code, batch_id)
    VALUES (pw, pat, 'WL-' || name, 'W37.1', management, 'P4', '2025-02-01', 'C1', 'RT101', 961)
    RETURNING entry_id INTO e;
    RETURN e;
END $$;

-- A session with completed cases at the given local times.
CREATE FUNCTION pg_temp.held(day date, starts time, ends time, cases text[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE s bigint; k int := 0; c text;
BEGIN
    INSERT INTO ptl.theatre_session (theatre_code, session_date, planned_start, planned_end, specialty, consultant_code)
    VALUES ('TH1', day, starts, ends, '110', 'C1') RETURNING session_id INTO s;
    FOREACH c IN ARRAY cases LOOP
        k := k + 1;
        INSERT INTO ptl.theatre_booking (session_id, entry_id, planned_order, planned_minutes, status,
                                         into_theatre, out_of_theatre)
        VALUES (s, pg_temp.entry('S' || s || 'C' || k), k, 60, 'completed',
                day + split_part(c, '-', 1)::time, day + split_part(c, '-', 2)::time);
    END LOOP;
    RETURN s;
END $$;

SELECT pg_temp.held('2025-05-06', '08:30', '12:30', '{08:50-10:10,10:25-11:40,11:55-12:50}') AS we35,
       pg_temp.held('2025-05-06', '13:30', '17:30', '{13:35-14:40,14:55-16:05}') AS we36,
       pg_temp.held('2025-05-07', '08:00', '12:00', '{07:50-09:30,09:45-11:50}') AS we37 \gset

-- WE-35: CTU 79.17%, uncapped 87.50%, late start 20, overrun 20, early
-- finish 0, turnarounds 15 + 15, 3 cases = 3.0 per 4 hours.
-- WE-36: CTU 56.25%, late start 5, early finish 85 (flagged), turnaround 15.
-- WE-37: CTU 89.58% (the 10 minutes before the planned start are not
-- credited), uncapped 93.75%, early finish 10, late start 0.
SELECT CASE session_id WHEN :we35 THEN 'WE-35' WHEN :we36 THEN 'WE-36' ELSE 'WE-37' END AS example,
       planned_minutes AS c, cases, capped_touch_minutes AS capped, touch_minutes AS touch,
       capped_utilisation_pct AS ctu, uncapped_utilisation_pct AS uncapped, late_start_minutes AS late,
       early_finish_minutes AS early, overrun_minutes AS overrun, turnarounds, turnaround_minutes,
       cases_per_4_hours, late_start_flag, early_finish_flag
FROM theatre_session_measures ORDER BY session_id;
SELECT session_id = :we35 AS we35, touch_minutes, capped_touch_minutes, turnaround_minutes
FROM theatre_case_times ORDER BY booking_id;

-- Flag thresholds are settings: at 45 minutes (one product's default) the
-- 85-minute early finish is still flagged, at 90 it is not.
INSERT INTO theatre_setting (early_finish_flag_minutes) VALUES (45);
SELECT early_finish_minutes, early_finish_flag FROM theatre_session_measures WHERE session_id = :we36;
INSERT INTO theatre_setting (early_finish_flag_minutes) VALUES (90);
SELECT early_finish_minutes, early_finish_flag FROM theatre_session_measures WHERE session_id = :we36;
DELETE FROM theatre_setting WHERE NOT shipped;

-- A session held with no operation counts as cancelled and stays out of
-- the utilisation ratios.
INSERT INTO theatre_session (theatre_code, session_date, planned_start, planned_end, specialty, consultant_code)
VALUES ('TH1', '2025-05-07', '13:30', '17:30', '110', 'C1');

-- On-the-day cancellations: one for no bed (non-clinical, rebooked 10 days
-- later), one for no bed never rebooked (breaches the 28-day standard), one
-- clinical (patient unfit) and one cancelled the day before (not on the day).
WITH s AS (INSERT INTO theatre_session (theatre_code, session_date, planned_start, planned_end, specialty, consultant_code)
           VALUES ('TH1', '2025-05-08', '08:00', '12:00', '110', 'C1') RETURNING session_id),
     b AS (INSERT INTO theatre_booking (session_id, entry_id, planned_order, planned_minutes, status)
           SELECT s.session_id, pg_temp.entry('X' || k), k, 60, 'cancelled' FROM s, generate_series(1, 4) k
           RETURNING booking_id, planned_order)
INSERT INTO theatre_cancellation (booking_id, cancelled_on, reason_code)
SELECT b.booking_id, CASE b.planned_order WHEN 4 THEN DATE '2025-05-07' ELSE DATE '2025-05-08' END,
       (ARRAY['no_bed', 'no_bed', 'patient_unfit', 'admin_error'])[b.planned_order]
FROM b;
WITH s AS (INSERT INTO theatre_session (theatre_code, session_date, planned_start, planned_end, specialty, consultant_code)
           VALUES ('TH1', '2025-05-18', '08:00', '12:00', '110', 'C1') RETURNING session_id)
INSERT INTO theatre_booking (session_id, entry_id, planned_order, planned_minutes, status, into_theatre, out_of_theatre)
SELECT s.session_id, w.entry_id, 1, 60, 'completed', '2025-05-18 08:10', '2025-05-18 09:20'
FROM s, waiting_list_entry w WHERE w.entry_ref = 'WL-X1';
SELECT reason_code, clinical, cancellations, on_the_day, last_minute_non_clinical, not_rebooked_within_28_days
FROM theatre_cancellations ORDER BY reason_code;

-- The weekly roll-up (week of Monday 5 May): ratios from summed minutes.
-- The 8 May session had only cancellations: no operation performed.
SELECT grouping, week_starting, site_code, theatre_code, specialty, sessions, sessions_without_operation,
       planned_minutes, capped_utilisation_pct, uncapped_utilisation_pct, late_starts, early_finishes,
       overrun_minutes, mean_turnaround_minutes, cases, cases_per_4_hours, day_case_rate_pct, cancelled_on_the_day
FROM theatre_productivity ORDER BY week_starting, grouping DESC, theatre_code NULLS LAST, treatment_function NULLS LAST;

-- Day-case rate: an inpatient case (intended management 1) in WE-37's list.
UPDATE theatre_booking SET day_case = false
WHERE session_id = :we37 AND planned_order = 1;
SELECT day_case_rate_pct FROM theatre_productivity WHERE grouping = 'ics' AND week_starting = '2025-05-05';

-- Pre-operative assessment lead time: fit assessments 20 and 40 days before
-- two of WE-37's operations, one long expired (100 days, valid 84).
INSERT INTO preop_assessment (entry_id, assessed_on, outcome)
SELECT b.entry_id, DATE '2025-05-07' - (ARRAY[20, 100])[b.planned_order], 'fit'
FROM theatre_booking b WHERE b.session_id = :we37;
INSERT INTO preop_assessment (entry_id, assessed_on, outcome)
SELECT b.entry_id, DATE '2025-05-06' - 40, 'fit'
FROM theatre_booking b WHERE b.session_id = :we36 AND b.planned_order = 1;
SELECT week_starting, operations, without_assessment, assessment_expired, median_lead_days, p90_lead_days
FROM preop_lead_time ORDER BY week_starting;

-- WE-38 to WE-40: lognormal percentiles from a mean and SD.
SELECT m, s, round(lognormal_quantile(m, s, 0.5)::numeric, 2) AS p50,
       round(lognormal_quantile(m, s, 0.8)::numeric, 2) AS p80,
       round(lognormal_quantile(m, s, 0.9)::numeric, 2) AS p90
FROM (VALUES (90, 30), (60, 15), (150, 60)) v (m, s);
SELECT round(normal_quantile(0.8)::numeric, 6) AS z80, round(normal_quantile(0.9)::numeric, 6) AS z90,
       round(normal_quantile(0.95)::numeric, 6) AS z95, normal_quantile(0.5) AS z50;

-- WE-41: three cases (means 60, 70, 80; SDs 15, 20, 25) in 240 minutes:
-- P(overrun) 0.1981 by the normal approximation, 0.1888 by Fenton-Wilkinson.
SELECT round(session_overrun_probability('{60,70,80}', '{15,20,25}', 240)::numeric, 4) AS normal,
       round(session_overrun_probability('{60,70,80}', '{15,20,25}', 240, 'fenton_wilkinson')::numeric, 4) AS fenton_wilkinson,
       session_overrun_probability('{60,70}', '{0,0}', 130) AS certain_fit,
       session_overrun_probability('{60,71}', '{0,0}', 130) AS certain_overrun;

-- Planning durations: a lognormal fitted to ln(minutes) per procedure and
-- consultant, booked at the 80th percentile; a consultant with fewer than 5
-- cases falls back to the procedure's fit over all consultants.
INSERT INTO procedure_duration (procedure_code, consultant_code, performed_on, minutes)
SELECT 'W40.1', CASE WHEN k <= 8 THEN 'C1' ELSE 'C2' END, DATE '2025-01-01' + k,
       (ARRAY[80, 95, 100, 110, 120, 90, 105, 130, 70, 150])[k]
FROM generate_series(1, 10) k;
SELECT procedure_code, consultant_code, cases, mean_minutes, round(mu::numeric, 5) AS mu,
       round(sigma::numeric, 5) AS sigma, percentile, planned_minutes,
       ceil(exp(mu + normal_quantile(0.8) * sigma)) = planned_minutes AS is_p80
FROM procedure_duration_estimate WHERE procedure_code = 'W40.1' ORDER BY consultant_code NULLS LAST;
SELECT planned_case_minutes('W40.1', 'C1', 60) AS own_history, planned_case_minutes('W40.1', 'C2', 60) AS procedure_history,
       planned_case_minutes('W99.9', 'C1', 60) AS listed_minutes;
-- Completed bookings feed the history too (the WE-35..37 cases, W37.1).
SELECT source, count(*) FROM procedure_duration_history GROUP BY 1 ORDER BY 1;

-- Errors.
SELECT lognormal_quantile(0, 10, 0.8);
SELECT lognormal_quantile(90, 30, 80);
SELECT session_overrun_probability('{60,70}', '{15}', 240);
SELECT session_overrun_probability('{60}', '{15}', 240, 'exact');
ROLLBACK;
