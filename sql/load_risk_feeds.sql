-- Risk assessments through the front door: a worked example.
--
-- An assessment is identified by the source system's reference
-- (assessment_ref) and hangs on its patient, by the hospital number of the
-- batch's system; it may name one of the patient's pathways.  Rules named:
--   missing_required, unknown_parent (column rules and the patient: the row
--                        is quarantined, no hospital number is quoted)
--   risk_assessment_pathway_known: a pathway that is not the patient's at
--                        this organisation is left out (warning): the
--                        assessment counts for any of their pathways
--   risk_assessment_model_accepts: an input a model refuses (out of its
--                        published range) is left out (warning), with the
--                        model's own message; the other inputs load
--   invalid codes, formula cells: left out (warning), listed by V32
\pset null '(null)'
SET datestyle = 'ISO, YMD';
INSERT INTO ptl.organisation (org_code, name) VALUES ('RRK', 'Risk Feed Test NHS Trust');
INSERT INTO ptl.batch (batch_id, org_code, source_system, label) VALUES (8901, 'RRK', 'PAS', 'risk');
SELECT staged FROM ptl.stage_extract(8901, 'patient', convert_to(
'local_patient_id,given_name
RK1,Ann
RK2,Bob', 'UTF8'));
SELECT staged FROM ptl.stage_extract(8901, 'pathway', convert_to(
'local_patient_id,ppid,ppid_issuer,treatment_function
RK1,PR1,RRK,110
RK2,PR2,RRK,110', 'UTF8'));
-- R1 good; R2 names RK1's pathway (its warnings still belong to RK2), an
-- ASA grade 7, SpO2 150 %, GCS 2 and CFS 12 (out of the models' ranges), an
-- unknown incision, a flag that is not one and a formula; R3's patient is
-- unknown; R4 is undated.
\set assessments 'assessment_ref,local_patient_id,pathway_ppid_issuer,pathway_ppid,assessed_on,recorded_by,asa_grade,emergency,spo2_pct,respiratory_infection_last_month,hb_g_dl,incision,surgery_duration_hours,sort_specialty,severity,cancer,clinician_band,cfs_level,glasgow_coma_scale\nR1,RK1,RRK,PR1,2025-03-01,Dr A,2,false,97.0,no,13.1,peripheral,1.5,orthopaedic,major,no,<1%,3,\nR2,RK2,RRK,PR1,2025-03-01,=Dr B,7,maybe,150,no,13.1,sideways,1.5,orthopaedic,major,no,<1%,12,2\nR3,RK9,RRK,,2025-03-01,Dr C,2,,,,,,,,,,,,\nR4,RK1,,,,Dr D,2,,,,,,,,,,,,'
SELECT staged FROM ptl.stage_extract(8901, 'risk_assessment', convert_to(:'assessments', 'UTF8'));
SELECT extract, rows_read, rows_loaded, rows_quarantined, rows_with_warnings FROM ptl.load(8901);
SELECT row_in_extract AS row, reason, sqlstate, column_name, message FROM ptl.rejected_row WHERE batch_id = 8901 ORDER BY 1;
SELECT w.row_in_extract AS row, w.column_name, w.value, w.reason, w.message, p.local_patient_id AS patient,
       w.pathway_id IS NULL AS any_pathway
FROM ptl.load_warning w LEFT JOIN ptl.patient p USING (patient_id)
WHERE w.batch_id = 8901 AND w.extract = 'risk_assessment' ORDER BY 1, 2;
SELECT a.source_ref, p.local_patient_id, a.pathway_id IS NOT NULL AS on_pathway, a.recorded_by, a.asa_grade, a.emergency,
       a.spo2_pct, a.hb_g_dl, a.incision, a.cfs_level, a.glasgow_coma_scale
FROM ptl.risk_assessment a JOIN ptl.patient p USING (patient_id) WHERE a.source_org = 'RRK' ORDER BY 1;
-- The scores of what loaded (R2 has no ASA grade or frailty level left to
-- score).  Ages need a date of birth, which these patients lack.
SELECT a.source_ref, s.asa_physical_status, s.cfs_label
FROM ptl.risk_assessment a JOIN ptl.risk_score s USING (assessment_id) WHERE a.source_org = 'RRK' ORDER BY 1;

-- Sent again: matched, unchanged; nothing lost.
INSERT INTO ptl.batch (batch_id, org_code, source_system, label) VALUES (8902, 'RRK', 'PAS', 'risk again');
SELECT staged FROM ptl.stage_extract(8902, 'risk_assessment', convert_to(:'assessments', 'UTF8'));
SELECT extract, rows_read, rows_loaded, rows_updated, rows_unchanged, rows_quarantined FROM ptl.load(8902);
SELECT batch_id, extract, nothing_lost, counts_agree FROM ptl.load_summary WHERE batch_id IN (8901, 8902) ORDER BY 1, 2;

-- Tidy up: later scripts score every assessment and count every pathway in
-- the database.
DELETE FROM ptl.risk_assessment WHERE source_org = 'RRK';
DELETE FROM ptl.rtt_dirty_pathway WHERE pathway_id IN (SELECT p.pathway_id FROM ptl.pathway p WHERE p.provider_org = 'RRK');
DELETE FROM ptl.pathway WHERE provider_org = 'RRK';
DELETE FROM ptl.patient WHERE org_code = 'RRK';
