-- ---------------------------------------------------------------------------
-- risk: published peri-operative risk models (C, src/risk/scores.c).
-- Sources (the papers of each model) and boundary readings: docs/risk.md.
-- Probabilities are in per cent.
-- ---------------------------------------------------------------------------

CREATE FUNCTION ptl.asa_physical_status(asa_grade integer, emergency boolean) RETURNS text
    AS 'MODULE_PATHNAME', 'asa_physical_status' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.asa_physical_status(integer, boolean) IS
    'ASA physical status as written, e.g. III or IIIE (grade 1 to 6; E marks an emergency; VI takes no E). A clinician''s grade: ptl checks and labels it, never derives it';

CREATE FUNCTION ptl.asa_description(asa_grade integer) RETURNS text
    AS 'MODULE_PATHNAME', 'asa_description' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.asa_description(integer) IS 'What an ASA physical status grade (1 to 6) means';

CREATE FUNCTION ptl.ariscat_score(age_years integer, spo2_pct float8, respiratory_infection_last_month boolean,
                                  hb_g_dl float8, incision text, surgery_duration_hours float8,
                                  emergency boolean) RETURNS integer
    AS 'MODULE_PATHNAME', 'ariscat_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.ariscat_score(integer, float8, boolean, float8, text, float8, boolean) IS
    'ARISCAT-2010 score (0 to 123) for postoperative pulmonary complications (Canet 2010): age, pre-operative SpO2 on air, respiratory infection in the last month, Hb (g/dL, 10 or less is anaemia), incision (peripheral, upper_abdominal, intrathoracic), planned duration in hours, emergency';

CREATE FUNCTION ptl.ariscat_class(ariscat_score integer) RETURNS text
    AS 'MODULE_PATHNAME', 'ariscat_class' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.ariscat_class(integer) IS
    'ARISCAT risk class: low (under 26), intermediate (26 to 44), high (45 or more)';

CREATE FUNCTION ptl.sort_logit(asa_grade integer, urgency text, high_risk_specialty boolean, severity text,
                               cancer boolean, age_years integer) RETURNS float8
    AS 'MODULE_PATHNAME', 'sort_logit' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.sort_logit(integer, text, boolean, text, boolean, integer) IS
    'SORT-2014 log-odds of death within 30 days (Protopapa 2014): ASA 1 to 5, NCEPOD urgency (elective, expedited, urgent, immediate), high-risk specialty (gastrointestinal, thoracic, vascular), AXA severity (minor, intermediate, major, xmajor, complex), cancer in the last 5 years, age';

CREATE FUNCTION ptl.sort_mortality_pct(asa_grade integer, urgency text, high_risk_specialty boolean, severity text,
                                       cancer boolean, age_years integer) RETURNS float8
    AS 'MODULE_PATHNAME', 'sort_mortality_pct' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.sort_mortality_pct(integer, text, boolean, text, boolean, integer) IS
    'SORT-2014 predicted 30-day mortality in per cent (see ptl.sort_logit for the inputs). Derived in adult non-cardiac inpatient surgery';

CREATE FUNCTION ptl.sort_high_risk_specialty(specialty text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'sort_high_risk_specialty' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.sort_high_risk_specialty(text) IS
    'Whether a SORT calculator specialty (colorectal, upper_gi, bariatric, hpb, thoracic, vascular, orthopaedic, other) is one of SORT''s high-risk ones (all but orthopaedic and other)';

CREATE FUNCTION ptl.sort_cj_logit(sort_mortality_pct float8, clinician_band text) RETURNS float8
    AS 'MODULE_PATHNAME', 'sort_cj_logit' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.sort_cj_logit(float8, text) IS
    'SORT-CJ-2020 log-odds of 30-day death from the SORT percentage and the clinician''s own band (<1%, 1-2.5%, 2.6-5%, 5.1-10%, 10.1-50%, >50%; unknown gives NULL)';

CREATE FUNCTION ptl.sort_cj_mortality_pct(sort_mortality_pct float8, clinician_band text) RETURNS float8
    AS 'MODULE_PATHNAME', 'sort_cj_mortality_pct' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.sort_cj_mortality_pct(float8, text) IS
    'SORT with clinical judgement (SORT-CJ-2020, Wong 2020): predicted 30-day mortality in per cent; NULL when the clinician''s band is unknown';

CREATE FUNCTION ptl.sort_morbidity_logit(asa_grade integer, specialty text, severity text, cancer boolean,
                                         age_years integer) RETURNS float8
    AS 'MODULE_PATHNAME', 'sort_morbidity_logit' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.sort_morbidity_logit(integer, text, text, boolean, integer) IS
    'SORT-morbidity-2017 log-odds of day-7 postoperative morbidity (POMS)';

CREATE FUNCTION ptl.sort_morbidity_pct(asa_grade integer, specialty text, severity text, cancer boolean,
                                       age_years integer) RETURNS float8
    AS 'MODULE_PATHNAME', 'sort_morbidity_pct' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.sort_morbidity_pct(integer, text, text, boolean, integer) IS
    'SORT-morbidity-2017 (Wong 2017): predicted day-7 postoperative morbidity in per cent from ASA 1 to 5, SORT specialty, AXA severity, malignancy and age';

CREATE FUNCTION ptl.possum_physiological_score(
        age_years integer, cardiac text, respiratory text, systolic_bp_mmhg integer, pulse_per_min integer,
        glasgow_coma_scale integer, hb_g_dl float8, wcc_10e9_per_l float8, urea_mmol_l float8,
        sodium_mmol_l float8, potassium_mmol_l float8, ecg text) RETURNS integer
    AS 'MODULE_PATHNAME', 'possum_physiological_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.possum_physiological_score(integer, text, text, integer, integer, integer, float8, float8, float8, float8, float8, text) IS
    'POSSUM physiological score (12 to 88) from 12 items scored 1, 2, 4 or 8. cardiac: no_failure, cardiac_drugs, oedema_or_warfarin, cardiomegaly; respiratory: no_dyspnoea, dyspnoea_on_exertion, limiting_dyspnoea, dyspnoea_at_rest; ecg: normal, af_rate_60_90, other_abnormal';

CREATE FUNCTION ptl.possum_operative_score(
        operative_severity text, procedure_count integer, blood_loss_ml integer, peritoneal_soiling text,
        malignancy text, mode_of_surgery text) RETURNS integer
    AS 'MODULE_PATHNAME', 'possum_operative_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.possum_operative_score(text, integer, integer, text, text, text) IS
    'POSSUM operative severity score (6 to 48). operative_severity: minor, moderate, major, major_plus; peritoneal_soiling: none, minor_serous, local_pus, free_content; malignancy: none, primary_only, nodal_metastases, distant_metastases; mode_of_surgery: elective, emergency, emergency_immediate. Before the operation use planned values: the result is provisional';

CREATE FUNCTION ptl.possum_morbidity_pct(physiological_score integer, operative_score integer) RETURNS float8
    AS 'MODULE_PATHNAME', 'possum_morbidity_pct' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.possum_morbidity_pct(integer, integer) IS
    'POSSUM-1991 predicted morbidity in per cent: ln(R/(1-R)) = -5.91 + 0.16 PS + 0.19 OS';

CREATE FUNCTION ptl.possum_mortality_pct(physiological_score integer, operative_score integer) RETURNS float8
    AS 'MODULE_PATHNAME', 'possum_mortality_pct' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.possum_mortality_pct(integer, integer) IS
    'POSSUM-1991 predicted mortality in per cent: ln(R/(1-R)) = -7.04 + 0.13 PS + 0.16 OS (over-predicts at low risk; prefer P-POSSUM)';

CREATE FUNCTION ptl.p_possum_logit(physiological_score integer, operative_score integer) RETURNS float8
    AS 'MODULE_PATHNAME', 'p_possum_logit' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.p_possum_logit(integer, integer) IS
    'P-POSSUM-1998 log-odds of death: -9.065 + 0.1692 PS + 0.1550 OS';

CREATE FUNCTION ptl.p_possum_mortality_pct(physiological_score integer, operative_score integer) RETURNS float8
    AS 'MODULE_PATHNAME', 'p_possum_mortality_pct' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.p_possum_mortality_pct(integer, integer) IS
    'P-POSSUM-1998 (Prytherch 1998) predicted mortality in per cent, from the physiological and operative scores';

-- POSSUM and P-POSSUM from the raw variables in one call.
CREATE FUNCTION ptl.possum_scores(
        age_years integer, cardiac text, respiratory text, systolic_bp_mmhg integer, pulse_per_min integer,
        glasgow_coma_scale integer, hb_g_dl float8, wcc_10e9_per_l float8, urea_mmol_l float8,
        sodium_mmol_l float8, potassium_mmol_l float8, ecg text,
        operative_severity text, procedure_count integer, blood_loss_ml integer, peritoneal_soiling text,
        malignancy text, mode_of_surgery text,
        OUT physiological_score integer, OUT operative_score integer, OUT possum_morbidity_pct float8,
        OUT possum_mortality_pct float8, OUT p_possum_mortality_pct float8)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT s.ps, s.os, ptl.possum_morbidity_pct(s.ps, s.os), ptl.possum_mortality_pct(s.ps, s.os),
           ptl.p_possum_mortality_pct(s.ps, s.os)
    FROM (SELECT ptl.possum_physiological_score(age_years, cardiac, respiratory, systolic_bp_mmhg, pulse_per_min,
                                                glasgow_coma_scale, hb_g_dl, wcc_10e9_per_l, urea_mmol_l,
                                                sodium_mmol_l, potassium_mmol_l, ecg) AS ps,
                 ptl.possum_operative_score(operative_severity, procedure_count, blood_loss_ml,
                                            peritoneal_soiling, malignancy, mode_of_surgery) AS os) s;
END;
COMMENT ON FUNCTION ptl.possum_scores(integer, text, text, integer, integer, integer, float8, float8, float8, float8, float8, text, text, integer, integer, text, text, text) IS
    'POSSUM and P-POSSUM from the 12 physiological and 6 operative variables (see ptl.possum_physiological_score and ptl.possum_operative_score): both scores, POSSUM morbidity and mortality, P-POSSUM mortality, in per cent';

CREATE FUNCTION ptl.cfs_label(cfs_level integer) RETURNS text
    AS 'MODULE_PATHNAME', 'cfs_label' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.cfs_label(integer) IS
    'Clinical Frailty Scale 2.0 name of a level 1 to 9 (the scale''s text and pictures are copyrighted; ptl keeps the level and name only)';

CREATE FUNCTION ptl.cfs_frail(cfs_level integer, frail_from_level integer DEFAULT 5) RETURNS boolean
    AS 'MODULE_PATHNAME', 'cfs_frail' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.cfs_frail(integer, integer) IS
    'Whether a Clinical Frailty Scale level counts as frail (level 5, living with mild frailty, or more by default)';

CREATE FUNCTION ptl.cfs_warning(cfs_level integer, age_years integer) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN ptl.cfs_label(cfs_level) IS NOT NULL AND age_years < 65 THEN 'CFS not validated under 65' END;
COMMENT ON FUNCTION ptl.cfs_warning(integer, integer) IS
    'A warning to show beside a Clinical Frailty Scale level: the scale is not validated under 65 (NULL when there is nothing to say)';
