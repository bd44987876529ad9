-- ---------------------------------------------------------------------------
-- Risk and ordering: seeded random inputs of every risk model with a place
-- on a waiting list (bench/risk.sh, test/pgtap/risk_truth.sql), seeded
-- assessments for generated patients, and the same scores written in plain
-- SQL -- the benchmark's baseline and the suite's second opinion on the C.
-- The SQL functions are not STRICT so the planner inlines them.
-- ---------------------------------------------------------------------------

-- Pick one of a list by a uniform number in [0, 1).
CREATE FUNCTION ptl_synth.pick(choices text[], v float8) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN choices[1 + pg_catalog.floor(v * pg_catalog.cardinality(choices))::int];
COMMENT ON FUNCTION ptl_synth.pick(text[], float8) IS 'The element of choices that v in [0, 1) falls on';

CREATE FUNCTION ptl_synth.risk_inputs(n bigint, seed bigint DEFAULT 1, as_of date DEFAULT '2025-03-31')
RETURNS TABLE (entry_id bigint, age_years int, spo2_pct float8, respiratory_infection boolean, hb_g_dl float8,
               incision text, surgery_hours float8, emergency boolean, asa_grade int, urgency text,
               specialty text, severity text, cancer boolean, clinician_band text, cardiac text,
               respiratory text, systolic_bp_mmhg int, pulse_per_min int, glasgow_coma_scale int,
               wcc_10e9_per_l float8, urea_mmol_l float8, sodium_mmol_l float8, potassium_mmol_l float8,
               ecg text, operative_severity text, procedure_count int, blood_loss_ml int,
               peritoneal_soiling text, malignancy text, mode_of_surgery text, cfs_level int,
               priority ptl.clinical_priority, listed date, clock_start date)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT i,
           18 + pg_catalog.floor(ptl_synth.u(i * 64 + 1, seed) * 80)::int,
           pg_catalog.round((86 + ptl_synth.u(i * 64 + 2, seed) * 14)::numeric, 1)::float8,
           ptl_synth.u(i * 64 + 3, seed) < 0.08,
           pg_catalog.round((8 + ptl_synth.u(i * 64 + 4, seed) * 9)::numeric, 1)::float8,
           ptl_synth.pick('{peripheral,peripheral,upper_abdominal,intrathoracic}', ptl_synth.u(i * 64 + 5, seed)),
           pg_catalog.round((0.5 + ptl_synth.u(i * 64 + 6, seed) * 4.5)::numeric, 2)::float8,
           false,
           1 + pg_catalog.floor(ptl_synth.u(i * 64 + 7, seed) * 5)::int,
           ptl_synth.pick('{elective,elective,elective,expedited,urgent,immediate}', ptl_synth.u(i * 64 + 8, seed)),
           ptl_synth.pick('{colorectal,upper_gi,bariatric,hpb,thoracic,vascular,orthopaedic,other}',
                          ptl_synth.u(i * 64 + 9, seed)),
           ptl_synth.pick('{minor,intermediate,major,xmajor,complex}', ptl_synth.u(i * 64 + 10, seed)),
           ptl_synth.u(i * 64 + 11, seed) < 0.2,
           ptl_synth.pick('{<1%,1-2.5%,2.6-5%,5.1-10%,10.1-50%,>50%,unknown}', ptl_synth.u(i * 64 + 12, seed)),
           ptl_synth.pick('{no_failure,cardiac_drugs,oedema_or_warfarin,cardiomegaly}', ptl_synth.u(i * 64 + 13, seed)),
           ptl_synth.pick('{no_dyspnoea,dyspnoea_on_exertion,limiting_dyspnoea,dyspnoea_at_rest}',
                          ptl_synth.u(i * 64 + 14, seed)),
           80 + pg_catalog.floor(ptl_synth.u(i * 64 + 15, seed) * 110)::int,
           35 + pg_catalog.floor(ptl_synth.u(i * 64 + 16, seed) * 100)::int,
           7 + pg_catalog.floor(ptl_synth.u(i * 64 + 17, seed) * 9)::int,
           pg_catalog.round((2 + ptl_synth.u(i * 64 + 18, seed) * 22)::numeric, 1)::float8,
           pg_catalog.round((3 + ptl_synth.u(i * 64 + 19, seed) * 15)::numeric, 1)::float8,
           pg_catalog.round((122 + ptl_synth.u(i * 64 + 20, seed) * 24)::numeric, 1)::float8,
           pg_catalog.round((2.6 + ptl_synth.u(i * 64 + 21, seed) * 4)::numeric, 1)::float8,
           ptl_synth.pick('{normal,normal,af_rate_60_90,other_abnormal}', ptl_synth.u(i * 64 + 22, seed)),
           ptl_synth.pick('{minor,moderate,major,major_plus}', ptl_synth.u(i * 64 + 23, seed)),
           1 + pg_catalog.floor(ptl_synth.u(i * 64 + 24, seed) * 3)::int,
           pg_catalog.floor(ptl_synth.u(i * 64 + 25, seed) * 1500)::int,
           ptl_synth.pick('{none,none,minor_serous,local_pus,free_content}', ptl_synth.u(i * 64 + 26, seed)),
           ptl_synth.pick('{none,none,primary_only,nodal_metastases,distant_metastases}', ptl_synth.u(i * 64 + 27, seed)),
           ptl_synth.pick('{elective,elective,emergency,emergency_immediate}', ptl_synth.u(i * 64 + 28, seed)),
           1 + pg_catalog.floor(ptl_synth.u(i * 64 + 29, seed) * 9)::int,
           ptl_synth.pick('{P1a,P1b,P2,P2,P2,P3,P3,P3,P3,P4,P4,P4,P5,P6}', ptl_synth.u(i * 64 + 30, seed))::ptl.clinical_priority,
           as_of - pg_catalog.floor(ptl_synth.u(i * 64 + 31, seed) * 700)::int,
           as_of - pg_catalog.floor(ptl_synth.u(i * 64 + 31, seed) * 700)::int
                 - pg_catalog.floor(ptl_synth.u(i * 64 + 32, seed) * 200)::int
    FROM pg_catalog.generate_series(1, n) i;
END;
COMMENT ON FUNCTION ptl_synth.risk_inputs(bigint, bigint, date) IS
    'n seeded rows of inputs for every risk model, with a clinical priority, date listed and clock start (for the risk benchmark and tests)';

-- One assessment for about two in three patients with an open waiting-list
-- entry, dated within the 20 weeks before as_of (so some are stale), with
-- inputs from ptl_synth.risk_inputs (ASA grade and frailty drawn as in an
-- elective population, as are ARISCAT's), staged as the trusts' risk assessment
-- extracts: one batch per organisation and patient administration system
-- (an assessment names its patient by that system's number).  Returns the
-- open batches, for ptl.load or (closed) ptl.daily_refresh.
CREATE FUNCTION ptl_synth.assess_waiting_patients(seed bigint DEFAULT 1, as_of date DEFAULT '2025-03-31')
RETURNS SETOF bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, YMD'
AS $fn$
DECLARE
    v_prev_batch text := current_setting('ptl.current_batch', true);
BEGIN
    CREATE TEMP TABLE synth_risk_batch ON COMMIT DROP AS
    SELECT s.org_code, s.source_system,
           ptl.open_batch(s.org_code, s.source_system, NULL, format('ptl_synth risk assessments seed %s, as of %s', seed, as_of)) AS batch_id
    FROM (SELECT DISTINCT p.org_code, p.source_system FROM ptl.patient p) s
    ORDER BY s.org_code, s.source_system;

    WITH listed AS (
        SELECT DISTINCT e.patient_id FROM ptl.waiting_list_entry e
        WHERE e.removed_date IS NULL AND ptl_synth.u(e.patient_id, seed) < 0.67),
    numbered AS (SELECT l.patient_id, row_number() OVER (ORDER BY l.patient_id) AS i FROM listed l)
    INSERT INTO ptl_stage.risk_assessment (batch_id, assessment_ref, local_patient_id, assessed_on, recorded_by, asa_grade,
                                           spo2_pct, respiratory_infection_last_month, hb_g_dl, incision,
                                           surgery_duration_hours, sort_specialty, severity, cancer, clinician_band, cfs_level)
    SELECT b.batch_id, 'RA' || n.patient_id, pt.local_patient_id,
           as_of - floor(ptl_synth.u(n.patient_id, seed + 1) * 140)::int, 'ptl_synth',
           -- ASA and frailty as in an elective surgical population, not
           -- uniform: mostly ASA II, one in twenty ASA IV or V, about one in
           -- six frail (so the setting rules, docs/theatre.md, find low-risk
           -- patients as well as high-risk ones)
           CASE WHEN ptl_synth.u(n.patient_id, seed + 2) < 0.20 THEN 1 WHEN ptl_synth.u(n.patient_id, seed + 2) < 0.70 THEN 2
                WHEN ptl_synth.u(n.patient_id, seed + 2) < 0.95 THEN 3 WHEN ptl_synth.u(n.patient_id, seed + 2) < 0.99 THEN 4
                ELSE 5 END,
           -- and ARISCAT's inputs likewise: most have SpO2 of 96% or more, a
           -- peripheral incision and an operation of two hours or less
           CASE WHEN ptl_synth.u(n.patient_id, seed + 4) < 0.8 THEN 96 + round((ptl_synth.u(n.patient_id, seed + 4) * 5)::numeric, 1)
                ELSE r.spo2_pct END,
           r.respiratory_infection, r.hb_g_dl,
           CASE WHEN ptl_synth.u(n.patient_id, seed + 5) < 0.75 THEN 'peripheral' ELSE r.incision END,
           CASE WHEN ptl_synth.u(n.patient_id, seed + 6) < 0.7 THEN round((0.5 + ptl_synth.u(n.patient_id, seed + 6) * 2)::numeric, 2)
                ELSE r.surgery_hours END,
           r.specialty, r.severity, r.cancer, r.clinician_band,
           CASE WHEN ptl_synth.u(n.patient_id, seed + 3) < 0.84 THEN 1 + floor(ptl_synth.u(n.patient_id, seed + 3) / 0.84 * 4)::int
                ELSE 5 + floor((ptl_synth.u(n.patient_id, seed + 3) - 0.84) / 0.16 * 5)::int END
    FROM numbered n
    JOIN ptl.patient pt ON pt.patient_id = n.patient_id
    JOIN synth_risk_batch b ON b.org_code = pt.org_code AND b.source_system = pt.source_system
    JOIN ptl_synth.risk_inputs((SELECT count(*) FROM numbered), seed) r ON r.entry_id = n.i
    ORDER BY n.i;

    PERFORM set_config('ptl.current_batch', coalesce(v_prev_batch, ''), false);
    RETURN QUERY SELECT b.batch_id FROM synth_risk_batch b ORDER BY b.batch_id;
END
$fn$;
COMMENT ON FUNCTION ptl_synth.assess_waiting_patients(bigint, date) IS
    'Stages a seeded risk assessment for about two in three patients on the admitted list as the trusts'' risk assessment extracts; returns the open batches';

-- The scores in plain SQL.
CREATE FUNCTION ptl_synth.ariscat_score_sql(age_years int, spo2_pct float8, respiratory_infection boolean,
                                            hb_g_dl float8, incision text, surgery_hours float8, emergency boolean)
RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN age_years > 80 THEN 16 WHEN age_years > 50 THEN 3 ELSE 0 END
     + CASE WHEN spo2_pct >= 96 THEN 0 WHEN spo2_pct > 90 THEN 8 ELSE 24 END
     + CASE WHEN respiratory_infection THEN 17 ELSE 0 END
     + CASE WHEN hb_g_dl <= 10 THEN 11 ELSE 0 END
     + CASE incision WHEN 'upper_abdominal' THEN 15 WHEN 'intrathoracic' THEN 24 ELSE 0 END
     + CASE WHEN surgery_hours > 3 THEN 23 WHEN surgery_hours > 2 THEN 16 ELSE 0 END
     + CASE WHEN emergency THEN 8 ELSE 0 END;
COMMENT ON FUNCTION ptl_synth.ariscat_score_sql(int, float8, boolean, float8, text, float8, boolean) IS
    'ARISCAT in plain SQL (baseline for ptl.ariscat_score)';

CREATE FUNCTION ptl_synth.sort_mortality_pct_sql(asa_grade int, urgency text, specialty text, severity text,
                                                 cancer boolean, age_years int)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 100 / (1 + exp(-(-7.366::float8
    + CASE asa_grade WHEN 3 THEN 1.411::float8 WHEN 4 THEN 2.388 WHEN 5 THEN 4.081 ELSE 0 END
    + CASE urgency WHEN 'expedited' THEN 1.236::float8 WHEN 'urgent' THEN 1.657 WHEN 'immediate' THEN 2.452 ELSE 0 END
    + CASE WHEN specialty IN ('colorectal', 'upper_gi', 'bariatric', 'hpb', 'thoracic', 'vascular')
           THEN 0.712::float8 ELSE 0 END
    + CASE WHEN severity IN ('xmajor', 'complex') THEN 0.381::float8 ELSE 0 END
    + CASE WHEN cancer THEN 0.667::float8 ELSE 0 END
    + CASE WHEN age_years >= 80 THEN 1.591::float8 WHEN age_years >= 65 THEN 0.777 ELSE 0 END)));
COMMENT ON FUNCTION ptl_synth.sort_mortality_pct_sql(int, text, text, text, boolean, int) IS
    'SORT 30-day mortality in plain SQL (baseline for ptl.sort_mortality_pct)';

CREATE FUNCTION ptl_synth.possum_ps_sql(age_years int, cardiac text, respiratory text, sbp int, pulse int, gcs int,
                                        hb float8, wcc float8, urea float8, sodium float8, potassium float8, ecg text)
RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN age_years >= 71 THEN 4 WHEN age_years >= 61 THEN 2 ELSE 1 END
     + CASE cardiac WHEN 'no_failure' THEN 1 WHEN 'cardiac_drugs' THEN 2 WHEN 'oedema_or_warfarin' THEN 4 ELSE 8 END
     + CASE respiratory WHEN 'no_dyspnoea' THEN 1 WHEN 'dyspnoea_on_exertion' THEN 2
                        WHEN 'limiting_dyspnoea' THEN 4 ELSE 8 END
     + CASE WHEN sbp <= 89 THEN 8 WHEN sbp <= 99 THEN 4 WHEN sbp <= 109 THEN 2 WHEN sbp <= 130 THEN 1
            WHEN sbp <= 170 THEN 2 ELSE 4 END
     + CASE WHEN pulse <= 39 THEN 8 WHEN pulse <= 49 THEN 2 WHEN pulse <= 80 THEN 1 WHEN pulse <= 100 THEN 2
            WHEN pulse <= 120 THEN 4 ELSE 8 END
     + CASE WHEN gcs = 15 THEN 1 WHEN gcs >= 12 THEN 2 WHEN gcs >= 9 THEN 4 ELSE 8 END
     + CASE WHEN hb < 10 THEN 8 WHEN hb < 11.5 THEN 4 WHEN hb < 13 THEN 2 WHEN hb <= 16 THEN 1
            WHEN hb <= 17 THEN 2 WHEN hb <= 18 THEN 4 ELSE 8 END
     + CASE WHEN wcc <= 3 THEN 4 WHEN wcc < 4 THEN 2 WHEN wcc <= 10 THEN 1 WHEN wcc <= 20 THEN 2 ELSE 4 END
     + CASE WHEN urea <= 7.5 THEN 1 WHEN urea <= 10 THEN 2 WHEN urea <= 15 THEN 4 ELSE 8 END
     + CASE WHEN sodium >= 136 THEN 1 WHEN sodium >= 131 THEN 2 WHEN sodium >= 126 THEN 4 ELSE 8 END
     + CASE WHEN potassium < 2.9 THEN 8 WHEN potassium < 3.2 THEN 4 WHEN potassium < 3.5 THEN 2
            WHEN potassium <= 5.0 THEN 1 WHEN potassium <= 5.3 THEN 2 WHEN potassium < 6.0 THEN 4 ELSE 8 END
     + CASE ecg WHEN 'normal' THEN 1 WHEN 'af_rate_60_90' THEN 4 ELSE 8 END;
COMMENT ON FUNCTION ptl_synth.possum_ps_sql(int, text, text, int, int, int, float8, float8, float8, float8, float8, text) IS
    'POSSUM physiological score in plain SQL (baseline for ptl.possum_physiological_score)';

CREATE FUNCTION ptl_synth.possum_os_sql(severity text, procedures int, blood_loss_ml int, soiling text,
                                        malignancy text, mode text)
RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE severity WHEN 'minor' THEN 1 WHEN 'moderate' THEN 2 WHEN 'major' THEN 4 ELSE 8 END
     + CASE WHEN procedures > 2 THEN 8 WHEN procedures = 2 THEN 4 ELSE 1 END
     + CASE WHEN blood_loss_ml <= 100 THEN 1 WHEN blood_loss_ml <= 500 THEN 2 WHEN blood_loss_ml <= 999 THEN 4 ELSE 8 END
     + CASE soiling WHEN 'none' THEN 1 WHEN 'minor_serous' THEN 2 WHEN 'local_pus' THEN 4 ELSE 8 END
     + CASE malignancy WHEN 'none' THEN 1 WHEN 'primary_only' THEN 2 WHEN 'nodal_metastases' THEN 4 ELSE 8 END
     + CASE mode WHEN 'elective' THEN 1 WHEN 'emergency' THEN 4 ELSE 8 END;
COMMENT ON FUNCTION ptl_synth.possum_os_sql(text, int, int, text, text, text) IS
    'POSSUM operative severity score in plain SQL (baseline for ptl.possum_operative_score)';

CREATE FUNCTION ptl_synth.p_possum_mortality_pct_sql(ps int, os int)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 100 / (1 + exp(-(-9.065::float8 + 0.1692::float8 * ps + 0.1550::float8 * os)));
COMMENT ON FUNCTION ptl_synth.p_possum_mortality_pct_sql(int, int) IS
    'P-POSSUM mortality in plain SQL (baseline for ptl.p_possum_mortality_pct)';
