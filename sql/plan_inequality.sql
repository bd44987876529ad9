-- Inequalities: DNA rates by deprivation decile and ethnic group on
-- hand-built appointments, with small counts suppressed (waits by group
-- are in aid_ics).
BEGIN;
SELECT code, ptl.ethnic_group(code) FROM unnest(ARRAY['A', 'C', 'D', 'H', 'L', 'M', 'P', 'R', 'S', 'Z', '99', NULL]) code;

INSERT INTO ptl.organisation (org_code, name) VALUES ('IQA', 'Inequality Trust');
INSERT INTO ptl.area_deprivation VALUES ('E01990001', 1), ('E01990002', 10);
INSERT INTO ptl.batch (batch_id, org_code, source_system) VALUES (990001, 'IQA', 'PAS');
-- 12 patients: 6 in decile 1 (White), 5 in decile 10 (Asian: 3, Black: 2), 1 with no LSOA.
INSERT INTO ptl.patient (patient_id, org_code, source_system, local_patient_id, lsoa_code, ethnic_category, batch_id)
SELECT 990000 + k, 'IQA', 'PAS', 'P' || k,
       CASE WHEN k <= 6 THEN 'E01990001' WHEN k <= 11 THEN 'E01990002' END,
       CASE WHEN k <= 6 THEN 'A' WHEN k <= 9 THEN 'H' WHEN k <= 11 THEN 'M' END, 990001
FROM generate_series(1, 12) k;
INSERT INTO ptl.pathway (pathway_id, patient_id, provider_org, ppid, ppid_issuer, treatment_function,
                         referral_received, batch_id)
SELECT 990000 + k, 990000 + k, 'IQA', 'IQ' || k, 'IQA', '110', '2024-01-01', 990001 FROM generate_series(1, 12) k;
-- Two appointments each in 2024; decile 1 missed 6 of 12, decile 10 missed
-- 1 of 10 (a count of one: suppressed), the patient without an area 0 of 2.
INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, batch_id)
SELECT 990000 + k, 990000 + k, 'E' || k || '-' || j, date '2024-02-01' + 30 * j,
       CASE WHEN (k <= 6 AND j = 1) OR (k = 7 AND j = 2) THEN 'dna' ELSE 'outpatient' END::ptl.event_kind, 990001
FROM generate_series(1, 12) k, generate_series(1, 2) j;
-- an appointment outside the range is not counted
INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, batch_id)
VALUES (990001, 990001, 'late', '2025-06-01', 'dna', 990001);

SELECT dimension, group_value, provider_org, treatment_function, appointments, dnas, dna_rate, suppressed
FROM ptl.dna_rates('2024-01-01', '2024-12-31')
WHERE provider_org IS NULL OR treatment_function IS NOT NULL;
-- With a threshold of 1 nothing is hidden; with 7, decile 1's six
-- DNAs are hidden and the Black group's four appointments too.
SELECT group_value, appointments, dnas, dna_rate, suppressed
FROM ptl.dna_rates('2024-01-01', '2024-12-31', suppress_below => 1) WHERE provider_org IS NULL;
SELECT group_value, appointments, dnas, dna_rate, suppressed
FROM ptl.dna_rates('2024-01-01', '2024-12-31', suppress_below => 7) WHERE provider_org IS NULL;
-- Deciles are numbers too (decile): they sort 1, 2, ..., 10, not as text (1, 10, 2).
SELECT group_value, decile FROM ptl.patient_equity_group WHERE dimension = 'imd_decile' AND patient_id > 990000
GROUP BY 1, 2 ORDER BY decile NULLS LAST;
ROLLBACK;
\set SHOW_CONTEXT never

-- Suppression of one breakdown (ptl.suppressed_cells): primary below the
-- threshold; zero shown when zero is safe; when exactly one cell is hidden,
-- the smallest other too, so the total less the shown cells reveals no one.
SELECT counts, zero_is_safe, ptl.suppressed_cells(counts, 5, zero_is_safe) AS hidden
FROM (VALUES ('{10,3,8}'::bigint[], false), ('{10,3,8,0}', true), ('{0,7,9}', true), ('{0,7,9}', false),
             ('{3,2,40}', false), ('{3,40}', false), ('{3}', false), ('{}', false)) v(counts, zero_is_safe);
-- a cell already hidden (its group was too small) counts as hidden
SELECT ptl.suppressed_cells('{0,6,9}', 5, true, '{f,t,f}') AS hidden_events,
       ptl.suppressed_cells('{10,3,8}', 1, false) AS threshold_1;
SELECT ptl.suppressed_cells('{1}', 0, false);
