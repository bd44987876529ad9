-- The RTT clock engine, ptl.rtt_periods, on the worked scenarios of
-- docs/rtt-engine.md (Tnn), the rules they rest on, and the boundaries.
-- Census 2025-03-31 unless stated.  Each query names the scenario or rule.
SET search_path = ptl, public;

-- T01 (rules 1, 2A): referral, OPA with 10, DTA; still waiting: 84 days, band 11-12, Part 2A.
SELECT 'T01' AS t, * FROM rtt_periods(ARRAY[
    ('2025-01-06', 'referral', NULL, NULL), ('2025-02-03', 'outpatient', '10', NULL),
    ('2025-02-03', 'decision_to_admit', '20', NULL)]::rtt_event[], '2025-03-31');

-- T05 (5.1): referral and treatment in clinic the same day: 0 days, band 0, non-admitted.
SELECT 'T05' AS t, * FROM rtt_periods(ARRAY[
    ('2025-03-12', 'referral', NULL, NULL), ('2025-03-12', 'outpatient', '30', NULL)]::rtt_event[], '2025-03-31');

-- T06 (rule 4, 4.1): day-case admission with 30 stops the clock on the admission date: admitted, 119 days.
SELECT 'T06' AS t, * FROM rtt_periods(ARRAY[
    ('2024-11-11', 'referral', NULL, NULL), ('2025-03-10', 'admission', '30', NULL)]::rtt_event[], '2025-03-31');

-- T07 / T08 (5.2): 126 days is within 18 weeks (band 17), 127 is over (band 18).
SELECT 'T07' AS t, days_waited, week_band, rtt_over_weeks(days_waited, 18) AS over_18
FROM rtt_periods(ARRAY[('2024-11-25', 'referral', NULL, NULL)]::rtt_event[], '2025-03-31');
SELECT 'T08' AS t, days_waited, week_band, rtt_over_weeks(days_waited, 18) AS over_18
FROM rtt_periods(ARRAY[('2024-11-24', 'referral', NULL, NULL)]::rtt_event[], '2025-03-31');

-- T09 (rules 5e, 3e): first-appointment DNA with 33 nullifies; the rebook starts a new clock.
SELECT 'T09' AS t, * FROM rtt_periods(ARRAY[
    ('2024-12-02', 'referral', NULL, NULL), ('2025-01-20', 'dna', '33', NULL),
    ('2025-02-10', 'referral', NULL, NULL)]::rtt_event[], '2025-03-31');

-- T11 (4.6): a first DNA not demonstrably communicated is recorded without 33: the clock runs on.
SELECT 'T11' AS t, clock_start, outcome, days_waited, week_band FROM rtt_periods(ARRAY[
    ('2024-12-02', 'referral', NULL, NULL), ('2025-01-20', 'dna', '20', NULL)]::rtt_event[], '2025-03-31');

-- T13 (rule 5f, Q2): discharge to the GP after a later DNA; default stops on the discharge date,
-- dna_discharge_stop => 'dna_date' on the DNA's date.
SELECT 'T13 default' AS t, clock_stop, stop_status, outcome, days_waited, week_band FROM rtt_periods(ARRAY[
    ('2024-10-07', 'referral', NULL, NULL), ('2024-11-04', 'outpatient', '10', NULL),
    ('2025-02-10', 'dna', '20', NULL), ('2025-02-14', 'discharge', '34', NULL)]::rtt_event[], '2025-03-31');
SELECT 'T13 dna_date' AS t, clock_stop, stop_status, outcome, days_waited, week_band FROM rtt_periods(ARRAY[
    ('2024-10-07', 'referral', NULL, NULL), ('2024-11-04', 'outpatient', '10', NULL),
    ('2025-02-10', 'dna', '20', NULL), ('2025-02-14', 'discharge', '34', NULL)]::rtt_event[], '2025-03-31',
    dna_discharge_stop => 'dna_date');

-- T14 (4.6): patient cancellations never stop or pause the clock.
SELECT 'T14' AS t, outcome, days_waited, week_band FROM rtt_periods(ARRAY[
    ('2025-01-06', 'referral', NULL, NULL), ('2025-02-03', 'patient_cancel', NULL, NULL),
    ('2025-02-24', 'patient_cancel', NULL, NULL), ('2025-03-03', 'provider_cancel', NULL, NULL)]::rtt_event[], '2025-03-31');

-- T18 (4.4): two TCIs declined, then clinician-initiated active monitoring (32): non-admitted stop, 106 days.
SELECT 'T18' AS t, * FROM rtt_periods(ARRAY[
    ('2024-10-01', 'referral', NULL, NULL), ('2024-12-02', 'decision_to_admit', '20', NULL),
    ('2024-12-09', 'tci_offer', NULL, '2025-01-06'), ('2024-12-09', 'tci_offer', NULL, '2025-01-13'),
    ('2024-12-16', 'tci_declined', NULL, '2024-12-16'), ('2024-12-16', 'tci_declined', NULL, '2024-12-16'),
    ('2025-01-15', 'decision', '32', NULL)]::rtt_event[], '2025-03-31');

-- T20 (4.5, Q1): pre-2015 adjusted wait: two reasonable offers (4 and 5 weeks' notice) declined,
-- available again 2014-06-02: pause [2014-04-07, 2014-06-02) = 56 days; 161 unadjusted, 105 adjusted.
SELECT 'T20' AS t, * FROM rtt_periods(ARRAY[
    ('2014-01-06', 'referral', NULL, NULL), ('2014-03-03', 'decision_to_admit', '20', NULL),
    ('2014-03-10', 'tci_offer', NULL, '2014-04-07'), ('2014-03-10', 'tci_offer', NULL, '2014-04-14'),
    ('2014-03-12', 'tci_declined', NULL, '2014-03-12'), ('2014-03-12', 'tci_declined', NULL, '2014-03-12'),
    ('2014-06-02', 'patient_ready', NULL, NULL), ('2014-06-16', 'admission', '30', NULL)]::rtt_event[], '2014-06-30');

-- T21 (4.5): the first offer gave only 2 weeks' notice (not reasonable): no pause, 161 days.
SELECT 'T21' AS t, days_waited, adjusted_days FROM rtt_periods(ARRAY[
    ('2014-01-06', 'referral', NULL, NULL), ('2014-03-03', 'decision_to_admit', '20', NULL),
    ('2014-03-24', 'tci_offer', NULL, '2014-04-07'), ('2014-03-24', 'tci_offer', NULL, '2014-04-14'),
    ('2014-03-26', 'tci_declined', NULL, '2014-03-26'), ('2014-03-26', 'tci_declined', NULL, '2014-03-26'),
    ('2014-06-02', 'patient_ready', NULL, NULL), ('2014-06-16', 'admission', '30', NULL)]::rtt_event[], '2014-06-30');

-- 4.5: pauses only ever applied to admitted waits; the same declines before an outpatient stop leave it unadjusted.
SELECT '4.5 non-admitted' AS t, outcome, days_waited, adjusted_days FROM rtt_periods(ARRAY[
    ('2014-01-06', 'referral', NULL, NULL), ('2014-03-03', 'decision_to_admit', '20', NULL),
    ('2014-03-10', 'tci_offer', NULL, '2014-04-07'), ('2014-03-10', 'tci_offer', NULL, '2014-04-14'),
    ('2014-03-12', 'tci_declined', NULL, '2014-03-12'), ('2014-03-12', 'tci_declined', NULL, '2014-03-12'),
    ('2014-06-02', 'patient_ready', NULL, NULL), ('2014-06-16', 'outpatient', '30', NULL)]::rtt_event[], '2014-06-30');

-- T25 (rule 3b): treated, then a decision to start substantively new treatment (status 10): new period, 56 days.
SELECT 'T25' AS t, * FROM rtt_periods(ARRAY[
    ('2024-03-01', 'referral', NULL, NULL), ('2024-06-01', 'admission', '30', NULL),
    ('2024-09-02', 'outpatient', '90', NULL), ('2025-02-03', 'decision', '10', NULL)]::rtt_event[], '2025-03-31');

-- T27 (rule 5, Q6): died 2025-03-10, hospital told 2025-03-12; default stops at the date of death.
SELECT 'T27 default' AS t, clock_stop, stop_status, days_waited, week_band FROM rtt_periods(ARRAY[
    ('2024-11-04', 'referral', NULL, NULL), ('2025-03-12', 'death', '36', '2025-03-10')]::rtt_event[], '2025-03-31');
SELECT 'T27 date_notified' AS t, clock_stop, stop_status, days_waited, week_band FROM rtt_periods(ARRAY[
    ('2024-11-04', 'referral', NULL, NULL), ('2025-03-12', 'death', NULL, '2025-03-10')]::rtt_event[], '2025-03-31',
    death_stop => 'date_notified');

-- T28, T30 (5.2): 761 days is over 104 weeks (band 104); 365 days is over 52 weeks (band 52).
SELECT 'T28' AS t, days_waited, week_band, rtt_over_weeks(days_waited, 104) AS over_104
FROM rtt_periods(ARRAY[('2023-03-01', 'referral', NULL, NULL)]::rtt_event[], '2025-03-31');
SELECT 'T30' AS t, days_waited, week_band, rtt_over_weeks(days_waited, 52) AS over_52
FROM rtt_periods(ARRAY[('2024-03-31', 'referral', NULL, NULL)]::rtt_event[], '2025-03-31');
-- 364 days is not a 52-week breach (band 51), although floor(364 / 7) = 52.
SELECT '364 days' AS t, days_waited, days_waited / 7 AS floor_weeks, week_band, rtt_over_weeks(days_waited, 52) AS over_52
FROM rtt_periods(ARRAY[('2024-04-01', 'referral', NULL, NULL)]::rtt_event[], '2025-03-31');

-- T32 (4.7): emergency admission and surgery (90/98) with no referral: not RTT, no period.
SELECT 'T32' AS t, count(*) AS periods FROM rtt_periods(ARRAY[
    ('2025-02-01', 'admission', '98', NULL), ('2025-02-01', 'outpatient', '90', NULL)]::rtt_event[], '2025-03-31');

-- T37 (3.2): the English provider's receipt date starts the clock; no backdating to the Scottish referral.
SELECT 'T37' AS t, clock_start, days_waited, week_band FROM rtt_periods(ARRAY[
    ('2025-01-10', 'referral', NULL, NULL)]::rtt_event[], '2025-03-31');

-- T39 (3.2, status 12): the new pathway B for a separate condition starts on the referral to the second consultant.
SELECT 'T39' AS t, clock_start, days_waited, week_band FROM rtt_periods(ARRAY[
    ('2025-02-10', 'outpatient', '12', NULL)]::rtt_event[], '2025-03-31');

-- T40 (9.3): a clock start after the census is not yet counted.
SELECT 'T40' AS t, count(*) AS periods FROM rtt_periods(ARRAY[
    ('2025-04-14', 'referral', NULL, NULL)]::rtt_event[], '2025-03-31');

-- T41 (5.5): WLMDS census on the week-ending Sunday 2025-03-30: 88 days, band 12.
SELECT 'T41' AS t, days_waited, week_band FROM rtt_periods(ARRAY[
    ('2025-01-01', 'referral', NULL, NULL)]::rtt_event[], '2025-03-30');

-- T42 (8.2): PIDMAS cohort 1 at Sunday 2023-10-29: start 2023-01-21 is 281 days (over 40 weeks), 2023-01-22 is 280.
SELECT 'T42' AS t, clock_start, days_waited, rtt_over_weeks(days_waited, 40) AS over_40
FROM unnest(ARRAY['2023-01-21', '2023-01-22']::date[]) s,
     rtt_periods(ARRAY[(s, 'referral', NULL, NULL)]::rtt_event[], '2023-10-29');

-- T43 (Q3): a first DNA on a two-week-wait referral does not nullify (NHS Data Dictionary).
SELECT 'T43' AS t, clock_start, outcome, days_waited, week_band FROM rtt_periods(ARRAY[
    ('2024-12-02', 'referral', NULL, NULL), ('2025-01-20', 'dna', '33', NULL)]::rtt_event[], '2025-03-31', true);

-- Rule 5e: a 33 after an attended appointment is not a first DNA: the clock runs on.
SELECT '5e later 33' AS t, outcome, days_waited FROM rtt_periods(ARRAY[
    ('2024-12-02', 'referral', NULL, NULL), ('2025-01-06', 'outpatient', '10', NULL),
    ('2025-01-20', 'dna', '33', NULL)]::rtt_event[], '2025-03-31');

-- 4.8: a transfer in carries the original start; the sender's transfer out does not stop the clock.
SELECT '4.8 receiver' AS t, clock_start, outcome, days_waited FROM rtt_periods(ARRAY[
    ('2025-01-28', 'transfer_in', '20', '2025-01-02')]::rtt_event[], '2025-03-31');
SELECT '4.8 sender' AS t, clock_start, outcome, days_waited FROM rtt_periods(ARRAY[
    ('2025-01-02', 'referral', NULL, NULL), ('2025-01-27', 'transfer_out', '21', NULL)]::rtt_event[], '2025-03-31');
-- ... and without the original start the clock start is unknown (reported in its own column).
SELECT '4.8 unknown start' AS t, clock_start, outcome, days_waited, week_band FROM rtt_periods(ARRAY[
    ('2025-01-28', 'transfer_in', '20', NULL)]::rtt_event[], '2025-03-31');

-- Rule 3d, 4.4: active monitoring (32) stops the clock; the patient ready to proceed starts a new one;
-- activity during monitoring (91) does nothing.
SELECT '3d' AS t, * FROM rtt_periods(ARRAY[
    ('2024-06-03', 'referral', NULL, NULL), ('2024-07-01', 'outpatient', '10', NULL),
    ('2024-07-01', 'decision', '32', NULL), ('2024-10-07', 'outpatient', '91', NULL),
    ('2025-01-13', 'patient_ready', '11', NULL)]::rtt_event[], '2025-03-31');

-- Rule 4, 4.1: an admission without 30 (diagnostic only, or the procedure not done) does not stop the clock.
SELECT '4.1 diagnostic admission' AS t, outcome, days_waited FROM rtt_periods(ARRAY[
    ('2024-12-02', 'referral', NULL, NULL), ('2025-02-03', 'admission', '20', NULL)]::rtt_event[], '2025-03-31');

-- Rule 5: a death stops the clock with 36 even where no status was recorded.
SELECT '5 death' AS t, clock_stop, stop_status, outcome FROM rtt_periods(ARRAY[
    ('2024-12-02', 'referral', NULL, NULL), ('2025-02-03', 'death', NULL, NULL)]::rtt_event[], '2025-03-31');

-- 9.3: a stop after the census leaves the period incomplete.
SELECT '9.3 stop after census' AS t, clock_stop, outcome, days_waited FROM rtt_periods(ARRAY[
    ('2024-12-02', 'referral', NULL, NULL), ('2025-04-02', 'admission', '30', NULL)]::rtt_event[], '2025-03-31');

-- Leap year: 2024-02-29 exists; 2024-02-28 to 2025-02-28 is 366 days (band 52).
SELECT 'leap year' AS t, clock_start, clock_stop, days_waited, week_band FROM rtt_periods(ARRAY[
    ('2024-02-28', 'referral', NULL, NULL), ('2024-02-29', 'outpatient', '10', NULL),
    ('2025-02-28', 'admission', '30', NULL)]::rtt_event[], '2025-03-31');

-- Unsorted input is sorted by date; same-day events by precedence, not by the
-- array's order: a start before a stop, so both give the 0-day period (see rtt_same_day).
SELECT 'unsorted' AS t, * FROM rtt_periods(ARRAY[
    ('2025-03-10', 'admission', '30', NULL), ('2024-11-11', 'referral', NULL, NULL)]::rtt_event[], '2025-03-31');
SELECT 'same day, stop first' AS t, period_no, clock_start, outcome FROM rtt_periods(ARRAY[
    ('2025-03-12', 'outpatient', '30', NULL), ('2025-03-12', 'referral', NULL, NULL)]::rtt_event[], '2025-03-31');
SELECT 'same day, start first' AS t, period_no, clock_start, outcome FROM rtt_periods(ARRAY[
    ('2025-03-12', 'referral', NULL, NULL), ('2025-03-12', 'outpatient', '30', NULL)]::rtt_event[], '2025-03-31');

-- Bands (5.2): 0-7 days are band 0 (eight values), 8 is band 1, 728 is band 103, 729 and over band 104.
SELECT d, rtt_week_band(d) AS band, rtt_week_band_label(rtt_week_band(d)) AS label
FROM unnest(ARRAY[0, 7, 8, 14, 15, 126, 127, 364, 365, 728, 729, 5000]) d;
SELECT rtt_week_band_label(b) FROM unnest(ARRAY[9, 10, 99, 100, 103]) b;

-- The engine's doubts, for validation (V15, V16, V17, V24, V25, V27).
SELECT * FROM rtt_event_issues(ARRAY[
    ('2024-06-03', 'referral', NULL, NULL), ('2024-07-01', 'outpatient', '10', NULL),
    ('2024-07-15', 'outpatient', '10', NULL), ('2024-08-05', 'dna', '33', NULL),
    ('2024-08-12', 'outpatient', '99', NULL), ('2024-08-19', 'discharge', NULL, NULL),
    ('2024-09-02', 'decision', '32', NULL), ('2024-09-09', 'outpatient', '20', NULL),
    ('2024-12-02', 'outpatient', '20', NULL), ('2024-12-09', 'decision', '34', NULL)]::rtt_event[], '2025-03-31');

-- Errors name the bad value and the rule.
SELECT * FROM rtt_periods(ARRAY[NULL]::rtt_event[], '2025-03-31');
SELECT * FROM rtt_periods(ARRAY[(NULL, 'referral', NULL, NULL)]::rtt_event[], '2025-03-31');
SELECT * FROM rtt_periods(ARRAY[('2025-01-01', 'referral', NULL, NULL)]::rtt_event[], '2025-03-31',
                          dna_discharge_stop => 'letter_date');
SELECT * FROM rtt_periods(ARRAY[('2025-01-01', 'referral', NULL, NULL)]::rtt_event[], '2025-03-31',
                          death_stop => 'funeral');
SELECT rtt_week_band(-1);
-- An empty array has no periods; NULL arguments give no rows (STRICT).
SELECT count(*) FROM rtt_periods('{}'::rtt_event[], '2025-03-31');
SELECT count(*) FROM rtt_periods(NULL, '2025-03-31');

-- The bulk aggregate returns exactly what the reference function returns, whatever the row order.
WITH ev(pathway, event_date, kind, rtt_status, ref_date, seq) AS (VALUES
    (1, date '2024-12-02', 'referral'::event_kind, NULL::rtt_status, NULL::date, 1),
    (1, '2025-01-20', 'dna', '33', NULL, 2),
    (1, '2025-02-10', 'referral', NULL, NULL, 3),
    (2, '2025-03-12', 'outpatient', '30', NULL, 5),
    (2, '2025-03-12', 'referral', NULL, NULL, 4),
    (2, '2014-03-10', 'tci_offer', NULL, '2014-04-07', 0))
SELECT pathway, (unnest(rtt_periods_agg(event_date, kind, rtt_status, ref_date, seq, '2025-03-31', false))).*
FROM (SELECT * FROM ev ORDER BY random()) x
GROUP BY pathway ORDER BY pathway;
