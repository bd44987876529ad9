-- ---------------------------------------------------------------------------
-- risk feed: pre-operative risk assessments through ptl's front door
-- (docs/loading.md, "Risk assessments").  An assessment is identified by
-- the source system's reference and hangs on its patient (the hospital
-- number of the batch's system), optionally on one of their pathways.  Only
-- an assessment that cannot be identified or dated is quarantined: a model
-- input that is malformed, out of its code list, or that the model itself
-- refuses (ptl.ariscat_score, ptl.possum_physiological_score ... raise on
-- values outside their published ranges) is left out with a warning, and
-- that model is simply not scored.  The pathway columns are named
-- pathway_ppid_issuer and pathway_ppid, not ppid_issuer and ppid: they are
-- an optional reference, so a warning about the row belongs to the patient
-- (ptl_internal.load_quarantine), never to a pathway the row may name wrongly.
-- (After src/theatre/feed.sql, whose row-rule helpers it uses.)
-- ---------------------------------------------------------------------------

ALTER TABLE ptl.risk_assessment
    ADD COLUMN source_org text REFERENCES ptl.organisation (org_code),
    ADD COLUMN source_ref text,
    ADD CONSTRAINT risk_assessment_source_key UNIQUE (source_org, source_ref),
    ADD CONSTRAINT risk_assessment_source_ref_with_org CHECK ((source_org IS NULL) = (source_ref IS NULL));
COMMENT ON COLUMN ptl.risk_assessment.source_org IS 'Organisation whose extract delivered the assessment (NULL: recorded directly)';
COMMENT ON COLUMN ptl.risk_assessment.source_ref IS 'The source system''s reference of the assessment, unique per organisation (NULL: recorded directly)';

INSERT INTO ptl.feed (extract, load_order, capability, natural_key, key_words, placed_on, loader, target, description)
VALUES ('risk_assessment', 190, 'risk', '{assessment_ref}', 'risk assessment (assessment_ref)', 'patient',
        'ptl_internal.load_risk_assessments', 'ptl.risk_assessment',
        'A pre-operative risk assessment of a patient: the inputs of every risk model, dated');

-- The policy's example (the PAS examples' patient EX-P1 and pathway
-- RZ9/EX-PW1) and the row rules beyond the column rules (docs/loading.md).
INSERT INTO ptl.feed_example (extract, example) VALUES
    ('risk_assessment', '{"assessment_ref": "EX-RA1", "local_patient_id": "EX-P1", "pathway_ppid_issuer": "RZ9", "pathway_ppid": "EX-PW1",
                          "assessed_on": "2025-01-20", "recorded_by": "Pre-op clinic", "asa_grade": "2", "emergency": "false",
                          "spo2_pct": "97", "respiratory_infection_last_month": "false", "hb_g_dl": "13.5", "incision": "peripheral",
                          "surgery_duration_hours": "2", "urgency": "elective", "sort_specialty": "orthopaedic", "severity": "major",
                          "cancer": "false", "clinician_band": "<1%", "cardiac": "no_failure", "respiratory": "no_dyspnoea",
                          "systolic_bp_mmhg": "130", "pulse_per_min": "72", "glasgow_coma_scale": "15", "wcc_10e9_per_l": "7.2",
                          "urea_mmol_l": "5.4", "sodium_mmol_l": "139", "potassium_mmol_l": "4.1", "ecg": "normal",
                          "operative_severity": "major", "procedure_count": "1", "blood_loss_ml": "300", "peritoneal_soiling": "none",
                          "malignancy": "none", "mode_of_surgery": "elective", "cfs_level": "3"}');

INSERT INTO ptl.feed_rule (extract, rule, column_name, action, reason, listed_by, description, example) VALUES
    ('risk_assessment', 'risk_assessment_pathway_known', 'pathway_ppid', 'load_without', 'unknown_parent', 'V32',
     'A pathway named that is not one of the patient''s at the organisation is left out: the assessment counts for any of the patient''s pathways',
     '[{"extract": "risk_assessment", "set": {"pathway_ppid": "NO-SUCH-PW"}}]'),
    ('risk_assessment', 'risk_assessment_model_accepts', 'spo2_pct', 'load_without', 'out_of_range', 'V32',
     'A model input the model itself refuses (outside its published range) is left out: that model is not scored, the others are',
     '[{"extract": "risk_assessment", "set": {"spo2_pct": "150"}}]');

CREATE TABLE ptl_stage.risk_assessment (
    batch_id                           bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no                             bigint GENERATED ALWAYS AS IDENTITY,
    assessment_ref                     text,
    local_patient_id                   text,
    pathway_ppid_issuer                        text,
    pathway_ppid                               text,
    assessed_on                        text,
    recorded_by                        text,
    asa_grade                          text,
    emergency                          text,
    spo2_pct                           text,
    respiratory_infection_last_month   text,
    hb_g_dl                            text,
    incision                           text,
    surgery_duration_hours             text,
    urgency                            text,
    sort_specialty                     text,
    severity                           text,
    cancer                             text,
    clinician_band                     text,
    cardiac                            text,
    respiratory                        text,
    systolic_bp_mmhg                   text,
    pulse_per_min                      text,
    glasgow_coma_scale                 text,
    wcc_10e9_per_l                     text,
    urea_mmol_l                        text,
    sodium_mmol_l                      text,
    potassium_mmol_l                   text,
    ecg                                text,
    operative_severity                 text,
    procedure_count                    text,
    blood_loss_ml                      text,
    peritoneal_soiling                 text,
    malignancy                         text,
    mode_of_surgery                    text,
    cfs_level                          text,
    source_row                         bigint
);
CREATE INDEX ON ptl_stage.risk_assessment (batch_id);
COMMENT ON TABLE ptl_stage.risk_assessment IS 'Risk assessment extract as delivered (one row per assessment)';

INSERT INTO ptl.extract_column
    (extract, column_name, ordinal, required, value_type, allowed, pattern, pattern_meaning, code_table, when_invalid, listed_by,
     description, earliest_date, latest_days_after_opening, identifying)
VALUES
    ('risk_assessment', 'assessment_ref', 1, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', NULL, 'The source system''s reference of the assessment: identifies it at the organisation', NULL, NULL, false),
    ('risk_assessment', 'local_patient_id', 2, true, NULL, NULL, NULL, NULL, NULL, 'quarantine', NULL, 'The patient assessed, by the same system''s patient identifier (hospital number)', NULL, NULL, true),
    ('risk_assessment', 'pathway_ppid_issuer', 3, false, NULL, NULL, '^[A-Z0-9]{3,6}$', 'an ODS code of 3 to 6 capitals or digits', NULL, 'load_without', 'V32', 'Pathway whose operation was assessed: PPID issuer. Another value is left out (warning): the assessment loads for the patient, any of their pathways', NULL, NULL, false),
    ('risk_assessment', 'pathway_ppid', 4, false, NULL, NULL, '^[!-~]{1,20}$', 'up to 20 printable characters without spaces', NULL, 'load_without', 'V32', 'Pathway whose operation was assessed: PPID. Another value, or a pathway of this patient the organisation does not hold, is left out (warning): the assessment loads for the patient, any of their pathways', NULL, NULL, false),
    ('risk_assessment', 'assessed_on', 5, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', NULL, 'Date of the assessment, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to the day the batch was opened. Required: the latest assessment counts and old ones are flagged stale, so an invalid or implausible date quarantines the row', '1980-01-01', 0, false),
    ('risk_assessment', 'recorded_by', 6, false, NULL, NULL, NULL, NULL, NULL, 'load_without', 'V32', 'Who recorded it. A value that starts like a spreadsheet formula is left out (warning): the assessment loads as recorded by the extract''s source system', NULL, NULL, false),
    ('risk_assessment', 'asa_grade', 7, false, 'smallint', NULL, NULL, NULL, NULL, 'load_without', 'V32', 'ASA physical status grade 1 to 6. An invalid or out-of-range value is left out (warning): the models that need it are not scored', NULL, NULL, false),
    ('risk_assessment', 'emergency', 8, false, NULL, '{true,false,yes,no,Y,N,1,0}', NULL, NULL, NULL, 'load_without', 'V32', 'Emergency operation (ASA E; ARISCAT). An invalid value is left out (warning): the assessment loads as elective (false)', NULL, NULL, false),
    ('risk_assessment', 'spo2_pct', 9, false, NULL, NULL, '^[0-9]{1,3}([.][0-9])?$', 'a number with at most one decimal, e.g. 97.5', NULL, 'load_without', 'V32', 'ARISCAT: SpO2 on room air, per cent, 0 to 100. Another value is left out (warning): ARISCAT is not scored', NULL, NULL, false),
    ('risk_assessment', 'respiratory_infection_last_month', 10, false, NULL, '{true,false,yes,no,Y,N,1,0}', NULL, NULL, NULL, 'load_without', 'V32', 'ARISCAT: respiratory infection in the last month. An invalid value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'hb_g_dl', 11, false, NULL, NULL, '^[0-9]{1,3}([.][0-9])?$', 'a number with at most one decimal, e.g. 12.5', NULL, 'load_without', 'V32', 'ARISCAT and POSSUM: haemoglobin, g/dL. Another or out-of-range value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'incision', 12, false, NULL, '{peripheral,upper_abdominal,intrathoracic}', NULL, NULL, NULL, 'load_without', 'V32', 'ARISCAT: incision. Another value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'surgery_duration_hours', 13, false, NULL, NULL, '^[0-9]{1,2}([.][0-9]{1,2})?$', 'a number of hours with at most two decimals, e.g. 1.75', NULL, 'load_without', 'V32', 'ARISCAT: planned duration of surgery, hours. Another or out-of-range value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'urgency', 14, false, NULL, '{elective,expedited,urgent,immediate}', NULL, NULL, NULL, 'load_without', 'V32', 'SORT: NCEPOD urgency. Another value is left out (warning): the assessment loads as elective (the default)', NULL, NULL, false),
    ('risk_assessment', 'sort_specialty', 15, false, NULL, '{colorectal,upper_gi,bariatric,hpb,thoracic,vascular,orthopaedic,other}', NULL, NULL, NULL, 'load_without', 'V32', 'SORT: specialty. Another value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'severity', 16, false, NULL, '{minor,intermediate,major,xmajor,complex}', NULL, NULL, NULL, 'load_without', 'V32', 'SORT: AXA severity. Another value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'cancer', 17, false, NULL, '{true,false,yes,no,Y,N,1,0}', NULL, NULL, NULL, 'load_without', 'V32', 'SORT: active malignancy in the last 5 years. An invalid value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'clinician_band', 18, false, NULL, '{<1%,1-2.5%,2.6-5%,5.1-10%,10.1-50%,>50%,unknown}', NULL, NULL, NULL, 'load_without', 'V32', 'SORT-CJ: the clinician''s estimate of 30-day mortality. Another value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'cardiac', 19, false, NULL, '{no_failure,cardiac_drugs,oedema_or_warfarin,cardiomegaly}', NULL, NULL, NULL, 'load_without', 'V32', 'POSSUM: cardiac signs. Another value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'respiratory', 20, false, NULL, '{no_dyspnoea,dyspnoea_on_exertion,limiting_dyspnoea,dyspnoea_at_rest}', NULL, NULL, NULL, 'load_without', 'V32', 'POSSUM: respiratory signs. Another value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'systolic_bp_mmhg', 21, false, 'integer', NULL, NULL, NULL, NULL, 'load_without', 'V32', 'POSSUM: systolic blood pressure, mmHg. An invalid or out-of-range value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'pulse_per_min', 22, false, 'integer', NULL, NULL, NULL, NULL, 'load_without', 'V32', 'POSSUM: pulse, beats per minute. An invalid or out-of-range value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'glasgow_coma_scale', 23, false, 'integer', NULL, NULL, NULL, NULL, 'load_without', 'V32', 'POSSUM: Glasgow Coma Scale, 3 to 15. Another value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'wcc_10e9_per_l', 24, false, NULL, NULL, '^[0-9]{1,4}([.][0-9])?$', 'a number with at most one decimal, e.g. 7.2', NULL, 'load_without', 'V32', 'POSSUM: white cell count, 10^9/L. Another or out-of-range value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'urea_mmol_l', 25, false, NULL, NULL, '^[0-9]{1,4}([.][0-9])?$', 'a number with at most one decimal, e.g. 5.4', NULL, 'load_without', 'V32', 'POSSUM: urea, mmol/L. Another or out-of-range value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'sodium_mmol_l', 26, false, NULL, NULL, '^[0-9]{1,4}([.][0-9])?$', 'a number with at most one decimal, e.g. 139.0', NULL, 'load_without', 'V32', 'POSSUM: sodium, mmol/L. Another or out-of-range value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'potassium_mmol_l', 27, false, NULL, NULL, '^[0-9]{1,3}([.][0-9])?$', 'a number with at most one decimal, e.g. 4.1', NULL, 'load_without', 'V32', 'POSSUM: potassium, mmol/L. Another or out-of-range value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'ecg', 28, false, NULL, '{normal,af_rate_60_90,other_abnormal}', NULL, NULL, NULL, 'load_without', 'V32', 'POSSUM: ECG. Another value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'operative_severity', 29, false, NULL, '{minor,moderate,major,major_plus}', NULL, NULL, NULL, 'load_without', 'V32', 'POSSUM: operative severity. Another value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'procedure_count', 30, false, 'integer', NULL, NULL, NULL, NULL, 'load_without', 'V32', 'POSSUM: number of procedures planned. An invalid or out-of-range value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'blood_loss_ml', 31, false, 'integer', NULL, NULL, NULL, NULL, 'load_without', 'V32', 'POSSUM: blood loss expected, mL. An invalid or out-of-range value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'peritoneal_soiling', 32, false, NULL, '{none,minor_serous,local_pus,free_content}', NULL, NULL, NULL, 'load_without', 'V32', 'POSSUM: peritoneal soiling. Another value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'malignancy', 33, false, NULL, '{none,primary_only,nodal_metastases,distant_metastases}', NULL, NULL, NULL, 'load_without', 'V32', 'POSSUM: malignancy. Another value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'mode_of_surgery', 34, false, NULL, '{elective,emergency,emergency_immediate}', NULL, NULL, NULL, 'load_without', 'V32', 'POSSUM: mode of surgery. Another value is left out (warning)', NULL, NULL, false),
    ('risk_assessment', 'cfs_level', 35, false, 'smallint', NULL, NULL, NULL, NULL, 'load_without', 'V32', 'Clinical Frailty Scale level 1 to 9. An invalid or out-of-range value is left out (warning): the frailty cohort does not count the assessment', NULL, NULL, false);

CREATE FUNCTION ptl_internal.load_risk_assessments(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
    r bigint[];
    m text[];
    x record;
    ra ptl.risk_assessment;
    model int;
    inputs text[];
    bad text;
    problem text;
    -- each CHECK of ptl.risk_assessment and the columns it reads
    model_inputs constant text[] := ARRAY[
        'asa_grade,emergency',
        'spo2_pct,respiratory_infection_last_month,hb_g_dl,incision,surgery_duration_hours,emergency',
        'asa_grade,urgency,sort_specialty,severity,cancer',
        'asa_grade,sort_specialty,severity,cancer',
        'clinician_band',
        'cardiac,respiratory,systolic_bp_mmhg,pulse_per_min,glasgow_coma_scale,hb_g_dl,wcc_10e9_per_l,urea_mmol_l,sodium_mmol_l,potassium_mmol_l,ecg',
        'operative_severity,procedure_count,blood_loss_ml,peritoneal_soiling,malignancy,mode_of_surgery',
        'cfs_level'];
BEGIN
    -- Rule risk_assessment_pathway_known: a pathway named must be one of
    -- the patient's at the batch's organisation; otherwise the assessment
    -- loads for the patient (any of their pathways), with a warning.
    SELECT array_agg(w.row_no), array_agg(format('no pathway with PPID %s issued by %s is known at %s for this patient; the assessment counts for any of the patient''s pathways',
                                                 ptl.extract_value(w.pathway_ppid), coalesce(ptl.extract_value(w.pathway_ppid_issuer), '(none)'), b.org_code))
    INTO r, m
    FROM pg_temp.ptl_load_risk_assessment w
    WHERE w.bad_column IS NULL AND w.reason IS NULL
      AND ptl.extract_value(w.pathway_ppid) IS NOT NULL AND 'pathway_ppid' <> ALL (w.warn_columns)
      AND NOT EXISTS (SELECT 1 FROM ptl.pathway p JOIN ptl.patient pt ON pt.patient_id = p.patient_id
                      WHERE p.provider_org = b.org_code AND p.ppid = ptl.extract_value(w.pathway_ppid)
                        AND p.ppid_issuer = ptl.extract_value(w.pathway_ppid_issuer) AND 'pathway_ppid_issuer' <> ALL (w.warn_columns)
                        AND pt.org_code = b.org_code AND pt.source_system = b.source_system
                        AND pt.local_patient_id = ptl.extract_value(w.local_patient_id));
    PERFORM ptl_internal.load_mark_warn('ptl_load_risk_assessment', r, 'pathway_ppid', 'unknown_parent', '23503', m);

    -- Rule risk_assessment_model_accepts: every model (each CHECK of
    -- ptl.risk_assessment) is tried on the row's inputs, a missing one
    -- standing in as a plain value in range, so that each input present is
    -- judged even when the model cannot be scored yet; an input the model
    -- refuses is left out (the one its message names, or else all the
    -- model's inputs in the row), and the model is tried again.  One
    -- subtransaction per model and row.
    FOR x IN
        SELECT w.row_no, w.warn_columns,
               CASE WHEN 'asa_grade' <> ALL (w.warn_columns) THEN ptl.extract_value(w.asa_grade)::smallint END AS asa_grade,
               coalesce(CASE WHEN 'emergency' <> ALL (w.warn_columns) THEN ptl.extract_value(w.emergency)::boolean END, false) AS emergency,
               CASE WHEN 'spo2_pct' <> ALL (w.warn_columns) THEN ptl.extract_value(w.spo2_pct)::numeric END AS spo2_pct,
               CASE WHEN 'respiratory_infection_last_month' <> ALL (w.warn_columns) THEN ptl.extract_value(w.respiratory_infection_last_month)::boolean END AS respiratory_infection_last_month,
               CASE WHEN 'hb_g_dl' <> ALL (w.warn_columns) THEN ptl.extract_value(w.hb_g_dl)::numeric END AS hb_g_dl,
               CASE WHEN 'incision' <> ALL (w.warn_columns) THEN ptl.extract_value(w.incision) END AS incision,
               CASE WHEN 'surgery_duration_hours' <> ALL (w.warn_columns) THEN ptl.extract_value(w.surgery_duration_hours)::numeric END AS surgery_duration_hours,
               coalesce(CASE WHEN 'urgency' <> ALL (w.warn_columns) THEN ptl.extract_value(w.urgency) END, 'elective') AS urgency,
               CASE WHEN 'sort_specialty' <> ALL (w.warn_columns) THEN ptl.extract_value(w.sort_specialty) END AS sort_specialty,
               CASE WHEN 'severity' <> ALL (w.warn_columns) THEN ptl.extract_value(w.severity) END AS severity,
               CASE WHEN 'cancer' <> ALL (w.warn_columns) THEN ptl.extract_value(w.cancer)::boolean END AS cancer,
               CASE WHEN 'clinician_band' <> ALL (w.warn_columns) THEN ptl.extract_value(w.clinician_band) END AS clinician_band,
               CASE WHEN 'cardiac' <> ALL (w.warn_columns) THEN ptl.extract_value(w.cardiac) END AS cardiac,
               CASE WHEN 'respiratory' <> ALL (w.warn_columns) THEN ptl.extract_value(w.respiratory) END AS respiratory,
               CASE WHEN 'systolic_bp_mmhg' <> ALL (w.warn_columns) THEN ptl.extract_value(w.systolic_bp_mmhg)::int END AS systolic_bp_mmhg,
               CASE WHEN 'pulse_per_min' <> ALL (w.warn_columns) THEN ptl.extract_value(w.pulse_per_min)::int END AS pulse_per_min,
               CASE WHEN 'glasgow_coma_scale' <> ALL (w.warn_columns) THEN ptl.extract_value(w.glasgow_coma_scale)::int END AS glasgow_coma_scale,
               CASE WHEN 'wcc_10e9_per_l' <> ALL (w.warn_columns) THEN ptl.extract_value(w.wcc_10e9_per_l)::numeric END AS wcc_10e9_per_l,
               CASE WHEN 'urea_mmol_l' <> ALL (w.warn_columns) THEN ptl.extract_value(w.urea_mmol_l)::numeric END AS urea_mmol_l,
               CASE WHEN 'sodium_mmol_l' <> ALL (w.warn_columns) THEN ptl.extract_value(w.sodium_mmol_l)::numeric END AS sodium_mmol_l,
               CASE WHEN 'potassium_mmol_l' <> ALL (w.warn_columns) THEN ptl.extract_value(w.potassium_mmol_l)::numeric END AS potassium_mmol_l,
               CASE WHEN 'ecg' <> ALL (w.warn_columns) THEN ptl.extract_value(w.ecg) END AS ecg,
               CASE WHEN 'operative_severity' <> ALL (w.warn_columns) THEN ptl.extract_value(w.operative_severity) END AS operative_severity,
               CASE WHEN 'procedure_count' <> ALL (w.warn_columns) THEN ptl.extract_value(w.procedure_count)::int END AS procedure_count,
               CASE WHEN 'blood_loss_ml' <> ALL (w.warn_columns) THEN ptl.extract_value(w.blood_loss_ml)::int END AS blood_loss_ml,
               CASE WHEN 'peritoneal_soiling' <> ALL (w.warn_columns) THEN ptl.extract_value(w.peritoneal_soiling) END AS peritoneal_soiling,
               CASE WHEN 'malignancy' <> ALL (w.warn_columns) THEN ptl.extract_value(w.malignancy) END AS malignancy,
               CASE WHEN 'mode_of_surgery' <> ALL (w.warn_columns) THEN ptl.extract_value(w.mode_of_surgery) END AS mode_of_surgery,
               CASE WHEN 'cfs_level' <> ALL (w.warn_columns) THEN ptl.extract_value(w.cfs_level)::smallint END AS cfs_level
        FROM pg_temp.ptl_load_risk_assessment w
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ORDER BY w.row_no
    LOOP
        ra := jsonb_populate_record(NULL::ptl.risk_assessment, to_jsonb(x));
        FOR model IN 1 .. cardinality(model_inputs) LOOP
            inputs := string_to_array(model_inputs[model], ',');
            LOOP
                problem := NULL;
                BEGIN
                    IF NOT coalesce(CASE model
                        WHEN 1 THEN ptl.asa_physical_status(coalesce(ra.asa_grade, 1::smallint), ra.emergency) <> ''
                        WHEN 2 THEN ptl.ariscat_score(50, coalesce(ra.spo2_pct, 97), coalesce(ra.respiratory_infection_last_month, false),
                                                      coalesce(ra.hb_g_dl, 13), coalesce(ra.incision, 'peripheral'),
                                                      coalesce(ra.surgery_duration_hours, 1), ra.emergency) >= 0
                        WHEN 3 THEN ptl.sort_logit(least(coalesce(ra.asa_grade, 1::smallint), 5::smallint), ra.urgency,
                                                   ptl.sort_high_risk_specialty(coalesce(ra.sort_specialty, 'other')),
                                                   coalesce(ra.severity, 'minor'), coalesce(ra.cancer, false), 50) < 100
                        WHEN 4 THEN ptl.sort_morbidity_logit(least(coalesce(ra.asa_grade, 1::smallint), 5::smallint),
                                                             coalesce(ra.sort_specialty, 'other'), coalesce(ra.severity, 'minor'),
                                                             coalesce(ra.cancer, false), 50) < 100
                        WHEN 5 THEN ptl.sort_cj_logit(0, coalesce(ra.clinician_band, 'unknown')) < 100
                        WHEN 6 THEN ptl.possum_physiological_score(50, coalesce(ra.cardiac, 'no_failure'), coalesce(ra.respiratory, 'no_dyspnoea'),
                                                                   coalesce(ra.systolic_bp_mmhg, 120), coalesce(ra.pulse_per_min, 70),
                                                                   coalesce(ra.glasgow_coma_scale, 15), coalesce(ra.hb_g_dl, 13),
                                                                   coalesce(ra.wcc_10e9_per_l, 7), coalesce(ra.urea_mmol_l, 5),
                                                                   coalesce(ra.sodium_mmol_l, 140), coalesce(ra.potassium_mmol_l, 4),
                                                                   coalesce(ra.ecg, 'normal')) > 0
                        WHEN 7 THEN ptl.possum_operative_score(coalesce(ra.operative_severity, 'minor'), coalesce(ra.procedure_count, 1),
                                                               coalesce(ra.blood_loss_ml, 100), coalesce(ra.peritoneal_soiling, 'none'),
                                                               coalesce(ra.malignancy, 'none'), coalesce(ra.mode_of_surgery, 'elective')) > 0
                        WHEN 8 THEN ptl.cfs_label(ra.cfs_level) <> '' END, true) THEN
                        problem := 'the model refuses these inputs';
                    END IF;
                EXCEPTION WHEN data_exception OR check_violation OR invalid_parameter_value THEN
                    problem := SQLERRM;
                END;
                EXIT WHEN problem IS NULL;
                bad := split_part(problem, ' ', 1);
                IF bad <> ALL (inputs) OR bad IN ('emergency', 'urgency') THEN
                    bad := NULL;
                END IF;
                -- the input named, or every input of the model present
                FOR bad IN SELECT i FROM unnest(inputs) i
                           WHERE i NOT IN ('emergency', 'urgency') AND to_jsonb(ra) ->> i IS NOT NULL
                             AND (bad IS NULL OR i = bad) LOOP
                    PERFORM ptl_internal.load_mark_warn('ptl_load_risk_assessment', ARRAY[x.row_no], bad, 'out_of_range', '22003',
                                               ARRAY[rtrim(problem, '.') || ' (' || replace(model_inputs[model], ',', ', ') || ')']);
                    ra := jsonb_populate_record(ra, jsonb_build_object(bad, NULL));
                END LOOP;
            END LOOP;
        END LOOP;
    END LOOP;

    WITH upserted AS (
        INSERT INTO ptl.risk_assessment AS t
            (source_org, source_ref, patient_id, pathway_id, assessed_on, recorded_by,
             asa_grade, emergency, spo2_pct, respiratory_infection_last_month, hb_g_dl, incision, surgery_duration_hours, urgency, sort_specialty, severity, cancer, clinician_band, cardiac, respiratory, systolic_bp_mmhg, pulse_per_min, glasgow_coma_scale, wcc_10e9_per_l, urea_mmol_l, sodium_mmol_l, potassium_mmol_l, ecg, operative_severity, procedure_count, blood_loss_ml, peritoneal_soiling, malignancy, mode_of_surgery, cfs_level)
        SELECT b.org_code, ptl.extract_value(w.assessment_ref), pt.patient_id,
               (SELECT p.pathway_id FROM ptl.pathway p
                WHERE 'pathway_ppid' <> ALL (w.warn_columns) AND 'pathway_ppid_issuer' <> ALL (w.warn_columns)
                  AND p.patient_id = pt.patient_id AND p.provider_org = b.org_code
                  AND p.ppid_issuer = ptl.extract_value(w.pathway_ppid_issuer) AND p.ppid = ptl.extract_value(w.pathway_ppid)),
               ptl.extract_value(w.assessed_on)::date,
               coalesce(CASE WHEN 'recorded_by' <> ALL (w.warn_columns) THEN ptl.extract_value(w.recorded_by) END,
                        format('%s extract', b.source_system)),
               CASE WHEN 'asa_grade' <> ALL (w.warn_columns) THEN ptl.extract_value(w.asa_grade)::smallint END,
               coalesce(CASE WHEN 'emergency' <> ALL (w.warn_columns) THEN ptl.extract_value(w.emergency)::boolean END, false),
               CASE WHEN 'spo2_pct' <> ALL (w.warn_columns) THEN ptl.extract_value(w.spo2_pct)::numeric END,
               CASE WHEN 'respiratory_infection_last_month' <> ALL (w.warn_columns) THEN ptl.extract_value(w.respiratory_infection_last_month)::boolean END,
               CASE WHEN 'hb_g_dl' <> ALL (w.warn_columns) THEN ptl.extract_value(w.hb_g_dl)::numeric END,
               CASE WHEN 'incision' <> ALL (w.warn_columns) THEN ptl.extract_value(w.incision) END,
               CASE WHEN 'surgery_duration_hours' <> ALL (w.warn_columns) THEN ptl.extract_value(w.surgery_duration_hours)::numeric END,
               coalesce(CASE WHEN 'urgency' <> ALL (w.warn_columns) THEN ptl.extract_value(w.urgency) END, 'elective'),
               CASE WHEN 'sort_specialty' <> ALL (w.warn_columns) THEN ptl.extract_value(w.sort_specialty) END,
               CASE WHEN 'severity' <> ALL (w.warn_columns) THEN ptl.extract_value(w.severity) END,
               CASE WHEN 'cancer' <> ALL (w.warn_columns) THEN ptl.extract_value(w.cancer)::boolean END,
               CASE WHEN 'clinician_band' <> ALL (w.warn_columns) THEN ptl.extract_value(w.clinician_band) END,
               CASE WHEN 'cardiac' <> ALL (w.warn_columns) THEN ptl.extract_value(w.cardiac) END,
               CASE WHEN 'respiratory' <> ALL (w.warn_columns) THEN ptl.extract_value(w.respiratory) END,
               CASE WHEN 'systolic_bp_mmhg' <> ALL (w.warn_columns) THEN ptl.extract_value(w.systolic_bp_mmhg)::int END,
               CASE WHEN 'pulse_per_min' <> ALL (w.warn_columns) THEN ptl.extract_value(w.pulse_per_min)::int END,
               CASE WHEN 'glasgow_coma_scale' <> ALL (w.warn_columns) THEN ptl.extract_value(w.glasgow_coma_scale)::int END,
               CASE WHEN 'wcc_10e9_per_l' <> ALL (w.warn_columns) THEN ptl.extract_value(w.wcc_10e9_per_l)::numeric END,
               CASE WHEN 'urea_mmol_l' <> ALL (w.warn_columns) THEN ptl.extract_value(w.urea_mmol_l)::numeric END,
               CASE WHEN 'sodium_mmol_l' <> ALL (w.warn_columns) THEN ptl.extract_value(w.sodium_mmol_l)::numeric END,
               CASE WHEN 'potassium_mmol_l' <> ALL (w.warn_columns) THEN ptl.extract_value(w.potassium_mmol_l)::numeric END,
               CASE WHEN 'ecg' <> ALL (w.warn_columns) THEN ptl.extract_value(w.ecg) END,
               CASE WHEN 'operative_severity' <> ALL (w.warn_columns) THEN ptl.extract_value(w.operative_severity) END,
               CASE WHEN 'procedure_count' <> ALL (w.warn_columns) THEN ptl.extract_value(w.procedure_count)::int END,
               CASE WHEN 'blood_loss_ml' <> ALL (w.warn_columns) THEN ptl.extract_value(w.blood_loss_ml)::int END,
               CASE WHEN 'peritoneal_soiling' <> ALL (w.warn_columns) THEN ptl.extract_value(w.peritoneal_soiling) END,
               CASE WHEN 'malignancy' <> ALL (w.warn_columns) THEN ptl.extract_value(w.malignancy) END,
               CASE WHEN 'mode_of_surgery' <> ALL (w.warn_columns) THEN ptl.extract_value(w.mode_of_surgery) END,
               CASE WHEN 'cfs_level' <> ALL (w.warn_columns) THEN ptl.extract_value(w.cfs_level)::smallint END
        FROM pg_temp.ptl_load_risk_assessment w
        JOIN ptl.patient pt ON pt.org_code = b.org_code AND pt.source_system = b.source_system
                           AND pt.local_patient_id = ptl.extract_value(w.local_patient_id)
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (source_org, source_ref) DO UPDATE
        SET patient_id = excluded.patient_id, pathway_id = excluded.pathway_id, assessed_on = excluded.assessed_on,
            recorded_by = excluded.recorded_by,
            asa_grade = excluded.asa_grade,
            emergency = excluded.emergency,
            spo2_pct = excluded.spo2_pct,
            respiratory_infection_last_month = excluded.respiratory_infection_last_month,
            hb_g_dl = excluded.hb_g_dl,
            incision = excluded.incision,
            surgery_duration_hours = excluded.surgery_duration_hours,
            urgency = excluded.urgency,
            sort_specialty = excluded.sort_specialty,
            severity = excluded.severity,
            cancer = excluded.cancer,
            clinician_band = excluded.clinician_band,
            cardiac = excluded.cardiac,
            respiratory = excluded.respiratory,
            systolic_bp_mmhg = excluded.systolic_bp_mmhg,
            pulse_per_min = excluded.pulse_per_min,
            glasgow_coma_scale = excluded.glasgow_coma_scale,
            wcc_10e9_per_l = excluded.wcc_10e9_per_l,
            urea_mmol_l = excluded.urea_mmol_l,
            sodium_mmol_l = excluded.sodium_mmol_l,
            potassium_mmol_l = excluded.potassium_mmol_l,
            ecg = excluded.ecg,
            operative_severity = excluded.operative_severity,
            procedure_count = excluded.procedure_count,
            blood_loss_ml = excluded.blood_loss_ml,
            peritoneal_soiling = excluded.peritoneal_soiling,
            malignancy = excluded.malignancy,
            mode_of_surgery = excluded.mode_of_surgery,
            cfs_level = excluded.cfs_level
        WHERE (t.patient_id, t.pathway_id, t.assessed_on, t.recorded_by, t.asa_grade, t.emergency, t.spo2_pct, t.respiratory_infection_last_month, t.hb_g_dl, t.incision, t.surgery_duration_hours, t.urgency, t.sort_specialty, t.severity, t.cancer, t.clinician_band, t.cardiac, t.respiratory, t.systolic_bp_mmhg, t.pulse_per_min, t.glasgow_coma_scale, t.wcc_10e9_per_l, t.urea_mmol_l, t.sodium_mmol_l, t.potassium_mmol_l, t.ecg, t.operative_severity, t.procedure_count, t.blood_loss_ml, t.peritoneal_soiling, t.malignancy, t.mode_of_surgery, t.cfs_level)
              IS DISTINCT FROM
              (excluded.patient_id, excluded.pathway_id, excluded.assessed_on, excluded.recorded_by, excluded.asa_grade, excluded.emergency, excluded.spo2_pct, excluded.respiratory_infection_last_month, excluded.hb_g_dl, excluded.incision, excluded.surgery_duration_hours, excluded.urgency, excluded.sort_specialty, excluded.severity, excluded.cancer, excluded.clinician_band, excluded.cardiac, excluded.respiratory, excluded.systolic_bp_mmhg, excluded.pulse_per_min, excluded.glasgow_coma_scale, excluded.wcc_10e9_per_l, excluded.urea_mmol_l, excluded.sodium_mmol_l, excluded.potassium_mmol_l, excluded.ecg, excluded.operative_severity, excluded.procedure_count, excluded.blood_loss_ml, excluded.peritoneal_soiling, excluded.malignancy, excluded.mode_of_surgery, excluded.cfs_level)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
    INTO loaded, changed
    FROM upserted;

    PERFORM ptl.analyze_if_grown('ptl.risk_assessment', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_risk_assessment w
    JOIN ptl.risk_assessment t ON t.source_org = b.org_code AND t.source_ref = ptl.extract_value(w.assessment_ref)
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_risk_assessments(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s risk assessment extract';

SELECT ptl_internal.prepare_staging_table('risk_assessment');
