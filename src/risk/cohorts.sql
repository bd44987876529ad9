-- ---------------------------------------------------------------------------
-- risk: scores derived from the assessments, each PTL row's risk, the
-- cohorts that call for action, harm review and priorities due for review.
-- Thresholds are in ptl.risk_setting.
-- ---------------------------------------------------------------------------

-- Every assessment with every score its inputs allow.  Age is whole years
-- at the assessment from the patient's date of birth.
CREATE VIEW ptl.risk_score AS
SELECT x.assessment_id, x.patient_id, x.person_id, x.pathway_id, x.assessed_on, x.recorded_by,
       x.assessed_on + x.valid_days AS valid_until,
       current_date >= x.assessed_on + x.valid_days AS stale,
       x.age_years, x.asa_grade, x.asa_physical_status,
       x.ariscat_score, ptl.ariscat_class(x.ariscat_score) AS ariscat_class,
       x.sort_mortality_pct,
       ptl.sort_cj_mortality_pct(x.sort_mortality_pct, x.clinician_band) AS sort_cj_mortality_pct,
       x.sort_morbidity_pct,
       x.possum_physiological_score, x.possum_operative_score,
       ptl.possum_morbidity_pct(x.possum_physiological_score, x.possum_operative_score) AS possum_morbidity_pct,
       ptl.possum_mortality_pct(x.possum_physiological_score, x.possum_operative_score) AS possum_mortality_pct,
       ptl.p_possum_mortality_pct(x.possum_physiological_score, x.possum_operative_score) AS p_possum_mortality_pct,
       x.cfs_level, ptl.cfs_label(x.cfs_level) AS cfs_label, ptl.cfs_frail(x.cfs_level, x.frail_from) AS frail,
       ptl.cfs_warning(x.cfs_level, x.age_years) AS cfs_warning
FROM (
    SELECT a.*, pl.person_id, s.assessment_valid_days AS valid_days, s.frail_from_cfs AS frail_from,
           ptl.asa_physical_status(a.asa_grade, a.emergency) AS asa_physical_status,
           ptl.ariscat_score(y.age_years, a.spo2_pct, a.respiratory_infection_last_month, a.hb_g_dl, a.incision,
                             a.surgery_duration_hours, a.emergency) AS ariscat_score,
           ptl.sort_mortality_pct(nullif(a.asa_grade, 6), a.urgency, ptl.sort_high_risk_specialty(a.sort_specialty),
                                  a.severity, a.cancer, y.age_years) AS sort_mortality_pct,
           ptl.sort_morbidity_pct(nullif(a.asa_grade, 6), a.sort_specialty, a.severity, a.cancer, y.age_years)
               AS sort_morbidity_pct,
           ptl.possum_physiological_score(y.age_years, a.cardiac, a.respiratory, a.systolic_bp_mmhg, a.pulse_per_min,
                                          a.glasgow_coma_scale, a.hb_g_dl, a.wcc_10e9_per_l, a.urea_mmol_l,
                                          a.sodium_mmol_l, a.potassium_mmol_l, a.ecg) AS possum_physiological_score,
           ptl.possum_operative_score(a.operative_severity, a.procedure_count, a.blood_loss_ml,
                                      a.peritoneal_soiling, a.malignancy, a.mode_of_surgery) AS possum_operative_score,
           y.age_years
    FROM ptl.risk_assessment a
    JOIN ptl.patient p ON p.patient_id = a.patient_id
    LEFT JOIN ptl.person_link pl ON pl.patient_id = a.patient_id
    CROSS JOIN ptl.risk_setting_in_force() s
    -- an impossible age (birth after the assessment) scores nothing
    CROSS JOIN LATERAL (
        SELECT CASE WHEN n BETWEEN 0 AND 130 THEN n END AS age_years
        FROM (SELECT extract(year FROM age(a.assessed_on, p.date_of_birth))::int AS n) q) y
    OFFSET 0) x;     -- score once per row, not once per reference
COMMENT ON VIEW ptl.risk_score IS
    'Every risk assessment with every score its inputs allow (ASA, ARISCAT, SORT, SORT-CJ, SORT morbidity, POSSUM, P-POSSUM, CFS) and whether it is too old to trust';
COMMENT ON COLUMN ptl.risk_score.assessment_id IS 'Assessment';
COMMENT ON COLUMN ptl.risk_score.patient_id IS 'Patient record assessed';
COMMENT ON COLUMN ptl.risk_score.person_id IS 'ICS person (NULL until persons are linked)';
COMMENT ON COLUMN ptl.risk_score.pathway_id IS 'Pathway assessed (NULL: any)';
COMMENT ON COLUMN ptl.risk_score.assessed_on IS 'Date assessed';
COMMENT ON COLUMN ptl.risk_score.recorded_by IS 'Who recorded it';
COMMENT ON COLUMN ptl.risk_score.valid_until IS 'First day the assessment is too old for listing decisions (risk_setting.assessment_valid_days)';
COMMENT ON COLUMN ptl.risk_score.stale IS 'Too old to trust today';
COMMENT ON COLUMN ptl.risk_score.age_years IS 'Age in whole years at the assessment';
COMMENT ON COLUMN ptl.risk_score.asa_grade IS 'ASA grade 1 to 6';
COMMENT ON COLUMN ptl.risk_score.asa_physical_status IS 'ASA physical status as written (e.g. IIIE)';
COMMENT ON COLUMN ptl.risk_score.ariscat_score IS 'ARISCAT-2010 score 0 to 123';
COMMENT ON COLUMN ptl.risk_score.ariscat_class IS 'ARISCAT class: low, intermediate, high';
COMMENT ON COLUMN ptl.risk_score.sort_mortality_pct IS 'SORT-2014 30-day mortality, per cent (not for ASA VI)';
COMMENT ON COLUMN ptl.risk_score.sort_cj_mortality_pct IS 'SORT with clinical judgement (SORT-CJ-2020), per cent';
COMMENT ON COLUMN ptl.risk_score.sort_morbidity_pct IS 'SORT-morbidity-2017 day-7 morbidity, per cent';
COMMENT ON COLUMN ptl.risk_score.possum_physiological_score IS 'POSSUM physiological score 12 to 88';
COMMENT ON COLUMN ptl.risk_score.possum_operative_score IS 'POSSUM operative severity score 6 to 48 (provisional before the operation)';
COMMENT ON COLUMN ptl.risk_score.possum_morbidity_pct IS 'POSSUM-1991 morbidity, per cent';
COMMENT ON COLUMN ptl.risk_score.possum_mortality_pct IS 'POSSUM-1991 mortality, per cent';
COMMENT ON COLUMN ptl.risk_score.p_possum_mortality_pct IS 'P-POSSUM-1998 mortality, per cent';
COMMENT ON COLUMN ptl.risk_score.cfs_level IS 'Clinical Frailty Scale level';
COMMENT ON COLUMN ptl.risk_score.cfs_label IS 'Clinical Frailty Scale 2.0 name';
COMMENT ON COLUMN ptl.risk_score.frail IS 'Frail (CFS at or above risk_setting.frail_from_cfs)';
COMMENT ON COLUMN ptl.risk_score.cfs_warning IS 'Caution about the frailty level (not validated under 65)';

-- The latest assessment of each person (of each patient record not yet
-- linked to a person).
CREATE VIEW ptl.risk_latest AS
SELECT DISTINCT ON (coalesce(r.person_id, -r.patient_id)) r.*
FROM ptl.risk_score r
ORDER BY coalesce(r.person_id, -r.patient_id), r.assessed_on DESC, r.assessment_id DESC;
COMMENT ON VIEW ptl.risk_latest IS
    'The latest risk assessment of each ICS person (records not yet linked count alone), with every score (columns as ptl.risk_score)';
-- the same columns as ptl.risk_score, so the same comments
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT a.attname, col_description(a.attrelid, a.attnum) AS description
             FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = 'ptl.risk_score'::regclass AND a.attnum > 0 LOOP
        EXECUTE format('COMMENT ON COLUMN ptl.risk_latest.%I IS %L', c.attname, c.description);
    END LOOP;
END
$$;

-- Each PTL row with the latest assessment that applies to it: one of the
-- same person, for this pathway or for none in particular.
CREATE VIEW ptl.ptl_risk AS
SELECT DISTINCT ON (l.pathway_id, l.period_no)
       l.pathway_id, l.period_no, l.patient_id, l.provider_org, l.site_code, l.treatment_function,
       l.clinical_priority, l.order_group, l.list_position, l.days_waited, l.weeks_waited, l.days_on_list,
       l.target_date, r.assessment_id, r.assessed_on, l.census >= r.valid_until AS assessment_stale, r.age_years,
       r.asa_physical_status, r.ariscat_score, r.ariscat_class, r.sort_mortality_pct, r.sort_cj_mortality_pct,
       r.sort_morbidity_pct, r.p_possum_mortality_pct, r.cfs_level, r.cfs_label, r.frail, r.cfs_warning
FROM ptl.ptl l
LEFT JOIN ptl.person_link pl ON pl.patient_id = l.patient_id
LEFT JOIN ptl.risk_score r
       ON coalesce(r.person_id, -r.patient_id) = coalesce(pl.person_id, -l.patient_id)
      AND (r.pathway_id IS NULL OR r.pathway_id = l.pathway_id)
ORDER BY l.pathway_id, l.period_no, r.assessed_on DESC NULLS LAST, r.assessment_id DESC;
COMMENT ON VIEW ptl.ptl_risk IS
    'Every PTL row with the latest risk assessment of the same ICS person that applies to its pathway (NULL scores: none)';
COMMENT ON COLUMN ptl.ptl_risk.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.ptl_risk.period_no IS 'RTT period';
COMMENT ON COLUMN ptl.ptl_risk.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.ptl_risk.provider_org IS 'Reporting provider';
COMMENT ON COLUMN ptl.ptl_risk.site_code IS 'Managing site';
COMMENT ON COLUMN ptl.ptl_risk.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.ptl_risk.clinical_priority IS 'Clinical priority in force';
COMMENT ON COLUMN ptl.ptl_risk.order_group IS 'Group in the order (see ptl.ptl)';
COMMENT ON COLUMN ptl.ptl_risk.list_position IS 'Place on the list (see ptl.ptl)';
COMMENT ON COLUMN ptl.ptl_risk.days_waited IS 'RTT days waited';
COMMENT ON COLUMN ptl.ptl_risk.weeks_waited IS 'RTT whole weeks waited';
COMMENT ON COLUMN ptl.ptl_risk.days_on_list IS 'Days on the admitted list, suspensions excluded';
COMMENT ON COLUMN ptl.ptl_risk.target_date IS 'Clinical priority target date';
COMMENT ON COLUMN ptl.ptl_risk.assessment_id IS 'Assessment used';
COMMENT ON COLUMN ptl.ptl_risk.assessed_on IS 'Date assessed';
COMMENT ON COLUMN ptl.ptl_risk.assessment_stale IS 'The assessment was too old for listing decisions at the census';
COMMENT ON COLUMN ptl.ptl_risk.age_years IS 'Age at the assessment';
COMMENT ON COLUMN ptl.ptl_risk.asa_physical_status IS 'ASA physical status';
COMMENT ON COLUMN ptl.ptl_risk.ariscat_score IS 'ARISCAT score';
COMMENT ON COLUMN ptl.ptl_risk.ariscat_class IS 'ARISCAT class';
COMMENT ON COLUMN ptl.ptl_risk.sort_mortality_pct IS 'SORT 30-day mortality, per cent';
COMMENT ON COLUMN ptl.ptl_risk.sort_cj_mortality_pct IS 'SORT-CJ 30-day mortality, per cent';
COMMENT ON COLUMN ptl.ptl_risk.sort_morbidity_pct IS 'SORT day-7 morbidity, per cent';
COMMENT ON COLUMN ptl.ptl_risk.p_possum_mortality_pct IS 'P-POSSUM mortality, per cent';
COMMENT ON COLUMN ptl.ptl_risk.cfs_level IS 'Clinical Frailty Scale level';
COMMENT ON COLUMN ptl.ptl_risk.cfs_label IS 'Clinical Frailty Scale name';
COMMENT ON COLUMN ptl.ptl_risk.frail IS 'Frail';
COMMENT ON COLUMN ptl.ptl_risk.cfs_warning IS 'Caution about the frailty level';

-- The cohorts: one view each, thresholds from ptl.risk_setting.
CREATE VIEW ptl.risk_cohort AS
SELECT c.cohort, r.pathway_id, r.period_no, r.patient_id, r.provider_org, r.site_code, r.treatment_function,
       r.clinical_priority, r.order_group, r.list_position, r.days_waited, r.weeks_waited, r.target_date,
       r.assessment_id, r.assessed_on, r.assessment_stale, c.measure, c.threshold
FROM ptl.ptl_risk r
CROSS JOIN ptl.risk_setting_in_force() s
CROSS JOIN LATERAL (VALUES
    ('prehabilitation', r.ariscat_score::float8, s.prehabilitation_ariscat_from::float8),
    ('high_mortality_risk', r.sort_mortality_pct, s.high_mortality_sort_pct),
    ('frail', r.cfs_level::float8, s.frail_from_cfs::float8)) c (cohort, measure, threshold)
WHERE c.measure >= c.threshold;
COMMENT ON VIEW ptl.risk_cohort IS
    'Patients on the PTL whose latest assessment puts them in a cohort: prehabilitation (ARISCAT at or above 26), high_mortality_risk (SORT at or above 5%), frail (CFS at or above 5); thresholds in ptl.risk_setting';
COMMENT ON COLUMN ptl.risk_cohort.cohort IS 'prehabilitation, high_mortality_risk or frail';
COMMENT ON COLUMN ptl.risk_cohort.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.risk_cohort.period_no IS 'RTT period';
COMMENT ON COLUMN ptl.risk_cohort.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.risk_cohort.provider_org IS 'Reporting provider';
COMMENT ON COLUMN ptl.risk_cohort.site_code IS 'Managing site';
COMMENT ON COLUMN ptl.risk_cohort.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.risk_cohort.clinical_priority IS 'Clinical priority in force';
COMMENT ON COLUMN ptl.risk_cohort.order_group IS 'Group in the order';
COMMENT ON COLUMN ptl.risk_cohort.list_position IS 'Place on the list';
COMMENT ON COLUMN ptl.risk_cohort.days_waited IS 'RTT days waited';
COMMENT ON COLUMN ptl.risk_cohort.weeks_waited IS 'RTT whole weeks waited';
COMMENT ON COLUMN ptl.risk_cohort.target_date IS 'Clinical priority target date';
COMMENT ON COLUMN ptl.risk_cohort.assessment_id IS 'Assessment that put the patient in the cohort';
COMMENT ON COLUMN ptl.risk_cohort.assessed_on IS 'Date assessed';
COMMENT ON COLUMN ptl.risk_cohort.assessment_stale IS 'The assessment is too old: reassess before acting';
COMMENT ON COLUMN ptl.risk_cohort.measure IS 'The score: ARISCAT points, SORT per cent or CFS level';
COMMENT ON COLUMN ptl.risk_cohort.threshold IS 'The threshold it met';

CREATE VIEW ptl.cohort_prehabilitation AS
SELECT c.pathway_id, c.period_no, c.patient_id, c.provider_org, c.site_code, c.treatment_function,
       c.clinical_priority, c.list_position, c.days_waited, c.weeks_waited, c.target_date,
       c.measure::int AS ariscat_score, c.assessed_on, c.assessment_stale
FROM ptl.risk_cohort c WHERE c.cohort = 'prehabilitation';
COMMENT ON VIEW ptl.cohort_prehabilitation IS
    'Patients for respiratory prehabilitation: ARISCAT at or above risk_setting.prehabilitation_ariscat_from (26: intermediate or high risk of pulmonary complications), with their place on the list and wait';
COMMENT ON COLUMN ptl.cohort_prehabilitation.ariscat_score IS 'ARISCAT score';

CREATE VIEW ptl.cohort_high_mortality_risk AS
SELECT c.pathway_id, c.period_no, c.patient_id, c.provider_org, c.site_code, c.treatment_function,
       c.clinical_priority, c.list_position, c.days_waited, c.weeks_waited, c.target_date,
       round(c.measure::numeric, 3) AS sort_mortality_pct, c.assessed_on, c.assessment_stale
FROM ptl.risk_cohort c WHERE c.cohort = 'high_mortality_risk';
COMMENT ON VIEW ptl.cohort_high_mortality_risk IS
    'High-risk surgical patients: SORT predicted 30-day mortality at or above risk_setting.high_mortality_sort_pct (5%), with their place on the list and wait';
COMMENT ON COLUMN ptl.cohort_high_mortality_risk.sort_mortality_pct IS 'SORT 30-day mortality, per cent';

CREATE VIEW ptl.cohort_frail AS
SELECT c.pathway_id, c.period_no, c.patient_id, c.provider_org, c.site_code, c.treatment_function,
       c.clinical_priority, c.list_position, c.days_waited, c.weeks_waited, c.target_date,
       c.measure::int AS cfs_level, c.assessed_on, c.assessment_stale
FROM ptl.risk_cohort c WHERE c.cohort = 'frail';
COMMENT ON VIEW ptl.cohort_frail IS
    'Frail patients: Clinical Frailty Scale at or above risk_setting.frail_from_cfs (5), with their place on the list and wait';
COMMENT ON COLUMN ptl.cohort_frail.cfs_level IS 'Clinical Frailty Scale level';

-- The cohort views' shared columns mean what they mean in ptl.risk_cohort.
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT v.attrelid::regclass AS cohort_view, v.attname, col_description(r.attrelid, r.attnum) AS description
             FROM pg_catalog.pg_attribute v
             JOIN pg_catalog.pg_attribute r ON r.attrelid = 'ptl.risk_cohort'::regclass AND r.attname = v.attname
             WHERE v.attrelid IN ('ptl.cohort_prehabilitation'::regclass, 'ptl.cohort_high_mortality_risk'::regclass,
                                  'ptl.cohort_frail'::regclass)
               AND v.attnum > 0 LOOP
        EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', c.cohort_view, c.attname, c.description);
    END LOOP;
END
$$;

-- Harm review: long waits, and admitted patients past their clinical
-- priority's target (the non-admitted list's referral targets order the
-- list; they are not a harm review criterion).
CREATE VIEW ptl.harm_review AS
SELECT l.pathway_id, l.period_no, l.patient_id, l.provider_org, l.site_code, l.treatment_function,
       l.clinical_priority, l.list_position, l.days_waited, l.weeks_waited, l.priority_target_date AS target_date,
       l.census - l.priority_target_date AS days_past_target,
       array_remove(ARRAY[
           CASE WHEN l.days_waited > 7 * s.harm_review_weeks
                THEN format('waiting over %s weeks', s.harm_review_weeks) END,
           CASE WHEN l.census = l.priority_target_date AND s.harm_review_target_margin_days = 0
                THEN format('%s target date reached', l.clinical_priority)
                WHEN l.census >= l.priority_target_date + s.harm_review_target_margin_days
                THEN format('%s target passed by %s days', l.clinical_priority, l.census - l.priority_target_date) END],
           NULL) AS reasons
FROM (SELECT p.*, CASE WHEN p.waiting_list_entry_id IS NOT NULL THEN p.target_date END AS priority_target_date
      FROM ptl.ptl p) l
CROSS JOIN ptl.risk_setting_in_force() s
WHERE l.days_waited > 7 * s.harm_review_weeks
   OR l.census >= l.priority_target_date + s.harm_review_target_margin_days;
COMMENT ON VIEW ptl.harm_review IS
    'Pathways for clinical harm review, with the reasons: waiting more than risk_setting.harm_review_weeks (52), or at or past the clinical priority target date by risk_setting.harm_review_target_margin_days (0)';
COMMENT ON COLUMN ptl.harm_review.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.harm_review.period_no IS 'RTT period';
COMMENT ON COLUMN ptl.harm_review.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.harm_review.provider_org IS 'Reporting provider';
COMMENT ON COLUMN ptl.harm_review.site_code IS 'Managing site';
COMMENT ON COLUMN ptl.harm_review.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.harm_review.clinical_priority IS 'Clinical priority in force';
COMMENT ON COLUMN ptl.harm_review.list_position IS 'Place on the list';
COMMENT ON COLUMN ptl.harm_review.days_waited IS 'RTT days waited';
COMMENT ON COLUMN ptl.harm_review.weeks_waited IS 'RTT whole weeks waited';
COMMENT ON COLUMN ptl.harm_review.target_date IS 'Clinical priority target date';
COMMENT ON COLUMN ptl.harm_review.days_past_target IS 'Days since the target date (0 on the day it is breached; negative: not yet due)';
COMMENT ON COLUMN ptl.harm_review.reasons IS 'Why the pathway needs a harm review';

-- Admitted-list entries whose clinical priority is missing or has not been
-- set or reviewed for risk_setting.priority_review_days.
CREATE VIEW ptl.priority_review_due AS
SELECT l.waiting_list_entry_id, l.pathway_id, l.patient_id, l.provider_org, l.site_code, l.treatment_function,
       l.clinical_priority, l.list_position, l.days_waited,
       coalesce(h.valid_from, l.decision_to_admit) AS priority_set_on,
       coalesce(h.source, 'listing') AS priority_source, h.reviewed_by AS priority_set_by,
       l.census - coalesce(h.valid_from, l.decision_to_admit) AS days_since_set,
       CASE WHEN l.clinical_priority IS NULL THEN 'no clinical priority'
            ELSE format('priority not reviewed for %s days', l.census - coalesce(h.valid_from, l.decision_to_admit))
       END AS reason
FROM ptl.ptl l
CROSS JOIN ptl.risk_setting_in_force() s
-- each entry's priority as last set by the census of the stored PTL (one
-- census for every row): the history read once, not once a row, so that
-- its row security runs once for a trust's reader
LEFT JOIN (
    SELECT DISTINCT ON (ph.entry_id) ph.entry_id, ph.valid_from, ph.source, ph.reviewed_by
    FROM ptl.clinical_priority_history ph
    WHERE ph.valid_from <= (SELECT e.census FROM ptl.ptl_entry e LIMIT 1)
    ORDER BY ph.entry_id, ph.valid_from DESC, ph.history_id DESC) h ON h.entry_id = l.waiting_list_entry_id
WHERE l.waiting_list_entry_id IS NOT NULL
  AND (l.clinical_priority IS NULL
       OR l.census - coalesce(h.valid_from, l.decision_to_admit) >= s.priority_review_days);
COMMENT ON VIEW ptl.priority_review_due IS
    'Waiting-list entries with no clinical priority, or whose priority was last set or reviewed risk_setting.priority_review_days (84) or more days before the census';
COMMENT ON COLUMN ptl.priority_review_due.waiting_list_entry_id IS 'Waiting-list entry';
COMMENT ON COLUMN ptl.priority_review_due.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.priority_review_due.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.priority_review_due.provider_org IS 'Reporting provider';
COMMENT ON COLUMN ptl.priority_review_due.site_code IS 'Managing site';
COMMENT ON COLUMN ptl.priority_review_due.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.priority_review_due.clinical_priority IS 'Clinical priority in force';
COMMENT ON COLUMN ptl.priority_review_due.list_position IS 'Place on the list';
COMMENT ON COLUMN ptl.priority_review_due.days_waited IS 'RTT days waited';
COMMENT ON COLUMN ptl.priority_review_due.priority_set_on IS 'Date the priority was last set or reviewed';
COMMENT ON COLUMN ptl.priority_review_due.priority_source IS 'listing or extract (source system) or review (in ptl)';
COMMENT ON COLUMN ptl.priority_review_due.priority_set_by IS 'Reviewer, or the batch that carried it (NULL: unchanged since listing)';
COMMENT ON COLUMN ptl.priority_review_due.days_since_set IS 'Days since then, at the census';
COMMENT ON COLUMN ptl.priority_review_due.reason IS 'Why a review is due';
