-- Risk scores (src/risk/scores.c): every worked example of
-- docs/risk.md (WE-1 to WE-28) with its published value, the
-- boundaries scores.c sets, and the errors out-of-range inputs raise.
-- Logits are shown to 4 decimals, probabilities in per cent to 3.
SET search_path = ptl, public;
\set VERBOSITY default

-- SORT (1.3.1), WE-1 to WE-7: logit and 30-day mortality.
SELECT we, round(sort_logit(asa, urgency, high_risk, severity, cancer, age)::numeric, 4) AS logit,
       round(sort_mortality_pct(asa, urgency, high_risk, severity, cancer, age)::numeric, 3) AS mortality_pct,
       published_logit, published_pct
FROM (VALUES
    ('WE-1', 1, 'elective', false, 'minor', false, 45, -7.366, 0.063),
    ('WE-2', 2, 'elective', sort_high_risk_specialty('upper_gi'), 'xmajor', true, 70, -4.829, 0.793),
    ('WE-3', 3, 'elective', sort_high_risk_specialty('colorectal'), 'xmajor', true, 82, -2.604, 6.888),
    ('WE-5', 4, 'urgent', sort_high_risk_specialty('thoracic'), 'complex', true, 85, 0.030, 50.750),
    ('WE-6', 5, 'immediate', true, 'xmajor', false, 60, 0.260, 56.464),
    ('WE-7', 3, 'elective', sort_high_risk_specialty('orthopaedic'), 'major', false, 72, -5.178, 0.561)
) v (we, asa, urgency, high_risk, severity, cancer, age, published_logit, published_pct);

-- SORT age bands: under 65, 65 to 79, 80 and over.
SELECT age, round(sort_logit(1, 'elective', false, 'minor', false, age)::numeric, 3) AS logit
FROM unnest(ARRAY[64, 65, 79, 80]) age;
-- High-risk specialties (the calculator's list).
SELECT s AS specialty, sort_high_risk_specialty(s) AS high_risk
FROM unnest(ARRAY['colorectal', 'upper_gi', 'bariatric', 'hpb', 'thoracic', 'vascular', 'orthopaedic', 'other']) s;

-- SORT with clinical judgement (1.3.3), WE-9 to WE-11: the SORT percentage
-- as the SORT function returns it, and the clinician's band.
SELECT we, round(sort_cj_logit(sort_pct, band)::numeric, 4) AS logit,
       round(sort_cj_mortality_pct(sort_pct, band)::numeric, 3) AS mortality_pct, published_logit, published_pct
FROM (VALUES
    ('WE-9', sort_mortality_pct(3, 'elective', true, 'xmajor', true, 82), '2.6-5%', -3.7674, 2.259),
    ('WE-10', sort_mortality_pct(1, 'elective', false, 'minor', false, 45), '<1%', -6.6264, 0.132),
    ('WE-11', sort_mortality_pct(4, 'urgent', true, 'complex', true, 85), '10.1-50%', -0.2207, 44.505)
) v (we, sort_pct, band, published_logit, published_pct);
-- A clinician who does not know gives no result.
SELECT sort_cj_mortality_pct(6.888, 'unknown') IS NULL AS unknown_gives_null;

-- SORT morbidity (1.3.4): the coefficients as published, term by term.
SELECT round(sort_morbidity_logit(1, 'orthopaedic', 'minor', false, 40)::numeric, 3) AS intercept_only,
       round(sort_morbidity_logit(2, 'colorectal', 'xmajor', true, 70)::numeric, 3) AS asa2_colorectal_xmajor_cancer_70,
       round(sort_morbidity_logit(5, 'upper_gi', 'major', false, 85)::numeric, 3) AS asa5_upper_gi_85,
       round(sort_morbidity_logit(3, 'other', 'minor', false, 30)::numeric, 3) AS asa3_other,
       round(sort_morbidity_pct(2, 'colorectal', 'xmajor', true, 70)::numeric, 3) AS pct;

-- ARISCAT (1.2), WE-12 to WE-20: points and class.
SELECT we, ariscat_score(age, spo2, infection, hb, incision, hours, emergency) AS score,
       ariscat_class(ariscat_score(age, spo2, infection, hb, incision, hours, emergency)) AS class,
       published_score, published_class
FROM (VALUES
    ('WE-12', 45, 98, false, 13.0, 'peripheral', 1.5, false, 0, 'low'),
    ('WE-13', 65, 95, false, 12.0, 'upper_abdominal', 2.5, false, 42, 'intermediate'),
    ('WE-15', 55, 97, false, 14.0, 'upper_abdominal', 1, false, 18, 'low'),
    ('WE-16', 70, 96, false, 11.0, 'peripheral', 3.5, false, 26, 'intermediate'),
    ('WE-17', 50, 90, false, 10.0, 'peripheral', 2.0, false, 35, 'intermediate'),
    ('WE-19', 80, 95, true, 12.0, 'upper_abdominal', 2, false, 43, 'intermediate'),
    ('WE-20', 80, 95, true, 12.0, 'upper_abdominal', 2, true, 51, 'high')
) v (we, age, spo2, infection, hb, incision, hours, emergency, published_score, published_class);

-- ARISCAT boundaries (1.2 implementation notes): age 50/51 and 80/81; SpO2
-- 96 and 90 (and a decimal between); Hb exactly 10 g/dL is anaemia; 2 and 3
-- hours exactly; class edges 25/26 and 44/45; intrathoracic incision.
SELECT ariscat_score(50, 99, false, 14, 'peripheral', 1, false) AS age_50,
       ariscat_score(51, 99, false, 14, 'peripheral', 1, false) AS age_51,
       ariscat_score(80, 99, false, 14, 'peripheral', 1, false) AS age_80,
       ariscat_score(81, 99, false, 14, 'peripheral', 1, false) AS age_81,
       ariscat_score(40, 96, false, 14, 'peripheral', 1, false) AS spo2_96,
       ariscat_score(40, 95.5, false, 14, 'peripheral', 1, false) AS spo2_95_5,
       ariscat_score(40, 90.5, false, 14, 'peripheral', 1, false) AS spo2_90_5,
       ariscat_score(40, 90, false, 14, 'peripheral', 1, false) AS spo2_90,
       ariscat_score(40, 99, false, 10.1, 'peripheral', 1, false) AS hb_10_1,
       ariscat_score(40, 99, false, 10.0, 'peripheral', 1, false) AS hb_10,
       ariscat_score(40, 99, false, 14, 'peripheral', 2.0, false) AS hours_2,
       ariscat_score(40, 99, false, 14, 'peripheral', 2.01, false) AS hours_2_01,
       ariscat_score(40, 99, false, 14, 'peripheral', 3.0, false) AS hours_3,
       ariscat_score(40, 99, false, 14, 'peripheral', 3.01, false) AS hours_3_01,
       ariscat_score(40, 99, false, 14, 'intrathoracic', 1, false) AS intrathoracic;
SELECT s AS score, ariscat_class(s) AS class FROM unnest(ARRAY[0, 25, 26, 44, 45, 123]) s;
-- The highest possible score.
SELECT ariscat_score(90, 85, true, 8, 'intrathoracic', 5, true) AS maximum;

-- POSSUM family from the two scores (1.4.3), WE-21 to WE-26.
SELECT we, round(p_possum_logit(ps, os)::numeric, 4) AS p_possum_logit,
       round(p_possum_mortality_pct(ps, os)::numeric, 3) AS p_possum_pct,
       round(possum_mortality_pct(ps, os)::numeric, 3) AS possum_mortality_pct,
       round(possum_morbidity_pct(ps, os)::numeric, 3) AS possum_morbidity_pct,
       published
FROM (VALUES
    ('WE-21', 12, 6, '-6.1046 0.223 1.077 5.468'),
    ('WE-22', 14, 10, '-5.1462 0.579 2.608 14.554'),
    ('WE-23', 16, 15, '-4.0328 1.742 7.176 37.754'),
    ('WE-25', 30, 20, '-0.8890 29.132 51.500 93.643'),
    ('WE-26', 40, 26, '1.7330 84.980 91.052 99.564')
) v (we, ps, os, published);

-- WE-27: P-POSSUM from the raw variables.  PS 26, OS 11, logit -2.9608,
-- P-POSSUM 4.923%, POSSUM mortality 13.011%, morbidity 58.419%.
SELECT physiological_score, operative_score,
       round(p_possum_logit(physiological_score, operative_score)::numeric, 4) AS p_possum_logit,
       round(p_possum_mortality_pct::numeric, 3) AS p_possum_pct,
       round(possum_mortality_pct::numeric, 3) AS possum_mortality_pct,
       round(possum_morbidity_pct::numeric, 3) AS possum_morbidity_pct
FROM possum_scores(age_years => 72, cardiac => 'cardiac_drugs', respiratory => 'no_dyspnoea',
                   systolic_bp_mmhg => 150, pulse_per_min => 88, glasgow_coma_scale => 15, hb_g_dl => 11.0,
                   wcc_10e9_per_l => 8.0, urea_mmol_l => 8.2, sodium_mmol_l => 134, potassium_mmol_l => 4.2,
                   ecg => 'af_rate_60_90', operative_severity => 'major', procedure_count => 1,
                   blood_loss_ml => 300, peritoneal_soiling => 'none', malignancy => 'primary_only',
                   mode_of_surgery => 'elective');

-- POSSUM bands, one item at a time from an all-ones patient (PS 12): each
-- column is the score with that item moved to the value named.  The gaps
-- in the published bands are closed with half-open intervals (1.4 notes).
SELECT item, value, possum_physiological_score(age, 'no_failure', 'no_dyspnoea', sbp, pulse, gcs, hb, wcc, urea, na, k, 'normal') - 11 AS points
FROM (VALUES
    ('age', '60', 60, 120, 70, 15, 14.0, 7.0, 5.0, 140.0, 4.0),
    ('age', '61', 61, 120, 70, 15, 14.0, 7.0, 5.0, 140.0, 4.0),
    ('age', '71', 71, 120, 70, 15, 14.0, 7.0, 5.0, 140.0, 4.0),
    ('systolic', '89', 40, 89, 70, 15, 14.0, 7.0, 5.0, 140.0, 4.0),
    ('systolic', '99', 40, 99, 70, 15, 14.0, 7.0, 5.0, 140.0, 4.0),
    ('systolic', '109', 40, 109, 70, 15, 14.0, 7.0, 5.0, 140.0, 4.0),
    ('systolic', '131', 40, 131, 70, 15, 14.0, 7.0, 5.0, 140.0, 4.0),
    ('systolic', '171', 40, 171, 70, 15, 14.0, 7.0, 5.0, 140.0, 4.0),
    ('pulse', '39', 40, 120, 39, 15, 14.0, 7.0, 5.0, 140.0, 4.0),
    ('pulse', '49', 40, 120, 49, 15, 14.0, 7.0, 5.0, 140.0, 4.0),
    ('pulse', '101', 40, 120, 101, 15, 14.0, 7.0, 5.0, 140.0, 4.0),
    ('pulse', '121', 40, 120, 121, 15, 14.0, 7.0, 5.0, 140.0, 4.0),
    ('gcs', '14', 40, 120, 70, 14, 14.0, 7.0, 5.0, 140.0, 4.0),
    ('gcs', '11', 40, 120, 70, 11, 14.0, 7.0, 5.0, 140.0, 4.0),
    ('gcs', '8', 40, 120, 70, 8, 14.0, 7.0, 5.0, 140.0, 4.0),
    ('hb', '9.9', 40, 120, 70, 15, 9.9, 7.0, 5.0, 140.0, 4.0),
    ('hb', '10.0', 40, 120, 70, 15, 10.0, 7.0, 5.0, 140.0, 4.0),
    ('hb', '12.95', 40, 120, 70, 15, 12.95, 7.0, 5.0, 140.0, 4.0),
    ('hb', '16.05', 40, 120, 70, 15, 16.05, 7.0, 5.0, 140.0, 4.0),
    ('hb', '18.1', 40, 120, 70, 15, 18.1, 7.0, 5.0, 140.0, 4.0),
    ('wcc', '3.0', 40, 120, 70, 15, 14.0, 3.0, 5.0, 140.0, 4.0),
    ('wcc', '3.5', 40, 120, 70, 15, 14.0, 3.5, 5.0, 140.0, 4.0),
    ('wcc', '10.05', 40, 120, 70, 15, 14.0, 10.05, 5.0, 140.0, 4.0),
    ('wcc', '20.1', 40, 120, 70, 15, 14.0, 20.1, 5.0, 140.0, 4.0),
    ('urea', '7.5', 40, 120, 70, 15, 14.0, 7.0, 7.5, 140.0, 4.0),
    ('urea', '7.55', 40, 120, 70, 15, 14.0, 7.0, 7.55, 140.0, 4.0),
    ('urea', '15.1', 40, 120, 70, 15, 14.0, 7.0, 15.1, 140.0, 4.0),
    ('sodium', '135', 40, 120, 70, 15, 14.0, 7.0, 5.0, 135.0, 4.0),
    ('sodium', '130', 40, 120, 70, 15, 14.0, 7.0, 5.0, 130.0, 4.0),
    ('sodium', '125', 40, 120, 70, 15, 14.0, 7.0, 5.0, 125.0, 4.0),
    ('potassium', '2.8', 40, 120, 70, 15, 14.0, 7.0, 5.0, 140.0, 2.8),
    ('potassium', '3.1', 40, 120, 70, 15, 14.0, 7.0, 5.0, 140.0, 3.1),
    ('potassium', '3.4', 40, 120, 70, 15, 14.0, 7.0, 5.0, 140.0, 3.4),
    ('potassium', '5.3', 40, 120, 70, 15, 14.0, 7.0, 5.0, 140.0, 5.3),
    ('potassium', '5.9', 40, 120, 70, 15, 14.0, 7.0, 5.0, 140.0, 5.9),
    ('potassium', '6.0', 40, 120, 70, 15, 14.0, 7.0, 5.0, 140.0, 6.0)
) v (item, value, age, sbp, pulse, gcs, hb, wcc, urea, na, k);
-- The categorical items at their worst, and the operative items.
SELECT possum_physiological_score(40, 'cardiomegaly', 'dyspnoea_at_rest', 120, 70, 15, 14, 7, 5, 140, 4, 'other_abnormal') AS worst_categorical,
       possum_physiological_score(80, 'cardiomegaly', 'dyspnoea_at_rest', 80, 130, 3, 8, 25, 20, 120, 7, 'other_abnormal') AS maximum_ps,
       possum_operative_score('minor', 1, 0, 'none', 'none', 'elective') AS minimum_os,
       possum_operative_score('major_plus', 3, 1000, 'free_content', 'distant_metastases', 'emergency_immediate') AS maximum_os,
       possum_operative_score('moderate', 2, 101, 'minor_serous', 'nodal_metastases', 'emergency') AS middle_os,
       possum_operative_score('minor', 1, 999, 'none', 'none', 'elective') AS blood_999;

-- ASA physical status (1.1): a clinician's grade, labelled; E for emergencies.
SELECT g AS asa_grade, asa_physical_status(g, false) AS status, asa_physical_status(g, g < 6) AS emergency,
       asa_description(g) AS meaning
FROM generate_series(1, 6) g;

-- Clinical Frailty Scale (1.5), WE-28: level 5 is frail with the default
-- threshold, level 4 is not; level 5 at 52 carries a warning (as any level
-- under 65 does: the scale is not validated there).
SELECT l AS cfs_level, cfs_label(l) AS label, cfs_frail(l) AS frail, cfs_frail(l, 6) AS frail_from_6
FROM generate_series(1, 9) l;
SELECT cfs_frail(5) AS we28_level5_frail, cfs_frail(4) AS we28_level4_frail,
       cfs_warning(5, 52) AS we28_level5_age52, cfs_warning(5, 70) IS NULL AS no_warning_at_70,
       cfs_warning(2, 40) AS level2_age40;

-- NULL in, NULL out (the functions are STRICT).
SELECT ariscat_score(NULL, 95, false, 12, 'peripheral', 1, false) IS NULL AS ariscat,
       sort_mortality_pct(3, NULL, true, 'major', false, 70) IS NULL AS sort,
       p_possum_mortality_pct(20, NULL) IS NULL AS p_possum;

-- Out-of-range inputs: 22023, naming the input and its range.
\set ON_ERROR_STOP 0
SELECT ariscat_score(45, 98, false, 130, 'peripheral', 1.5, false);   -- Hb in g/L
SELECT ariscat_score(45, 101, false, 13, 'peripheral', 1.5, false);
SELECT ariscat_score(45, 98, false, 13, 'abdominal', 1.5, false);
SELECT ariscat_score(45, 98, false, 13, 'peripheral', 0, false);
SELECT ariscat_score(-1, 98, false, 13, 'peripheral', 1, false);
SELECT ariscat_score(45, 'NaN', false, 13, 'peripheral', 1, false);
SELECT ariscat_class(124);
SELECT sort_logit(6, 'elective', false, 'minor', false, 45);
SELECT sort_logit(3, 'routine', false, 'minor', false, 45);
SELECT sort_logit(3, 'elective', false, 'huge', false, 45);
SELECT sort_cj_logit(101, '<1%');
SELECT sort_cj_logit(5, '1-5%');
SELECT sort_morbidity_pct(2, 'cardiac', 'minor', false, 45);
SELECT possum_physiological_score(72, 'cardiac_drugs', 'no_dyspnoea', 150, 88, 16, 11, 8, 8.2, 134, 4.2, 'normal');
SELECT possum_physiological_score(72, 'cardiac_drugs', 'no_dyspnoea', 150, 88, 15, 11, 8, 8.2, 134, 4.2, 'af');
SELECT possum_operative_score('major', 0, 300, 'none', 'none', 'elective');
SELECT p_possum_mortality_pct(11, 6);
SELECT possum_mortality_pct(12, 49);
SELECT asa_physical_status(6, true);
SELECT asa_physical_status(7, false);
SELECT cfs_label(0);
SELECT cfs_frail(5, 10);
\set ON_ERROR_STOP 1
DO $$
BEGIN
    PERFORM ptl.sort_logit(0, 'elective', false, 'minor', false, 45);
EXCEPTION WHEN invalid_parameter_value THEN
    RAISE NOTICE 'out of range is SQLSTATE 22023 (%)', SQLERRM;
END
$$;

-- ptl.target_elapsed: days waited over target days, compared exactly.
-- 90/90 and 28/28 are equal (WE-30/WE-31's tie); 1/3 and 2/6 are equal;
-- floating point would not be trusted to say so, the cross product is.
SELECT '90/90'::target_elapsed = '28/28'::target_elapsed AS we30_we31_tie,
       '1/3'::target_elapsed = '2/6'::target_elapsed AS one_third,
       '456/365'::target_elapsed > '90/90'::target_elapsed AS we29_first,
       '273/365'::target_elapsed > '45/90'::target_elapsed AS we32_before_we33,
       target_elapsed(2147483647, 1) > target_elapsed(2147483646, 1) AS no_overflow,
       ' 9 / 28 '::target_elapsed AS spaces_allowed,
       round(ptl_internal.pct('456/365')::numeric, 2) AS pct_456_365;
SELECT array_agg(t ORDER BY t DESC, t::text) AS most_elapsed_first
FROM unnest('{9/28, 45/90, 456/365, 90/90, 28/28, 273/365, 2/6, 1/3}'::target_elapsed[]) t;
SELECT c.opcname, amvalidate(c.oid) FROM pg_opclass c WHERE c.opcname = 'target_elapsed_ops';
\set ON_ERROR_STOP 0
SELECT '90'::target_elapsed;
SELECT '90/0'::target_elapsed;
SELECT '-1/28'::target_elapsed;
SELECT '99999999999/28'::target_elapsed;
SELECT '9/28x'::target_elapsed;
\set ON_ERROR_STOP 1
