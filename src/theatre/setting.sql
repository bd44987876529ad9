-- ---------------------------------------------------------------------------
-- The right setting by risk: what each site can look after (critical care,
-- level 2 beds, overnight beds; whether it is an elective hub or in the
-- independent sector), rules that turn a patient's risk (ASA grade, SORT,
-- ARISCAT class, Clinical Frailty Scale) into the capabilities a case needs,
-- and the share of low-risk cases operated on in high-capability theatres.
-- Theatre proposals (src/theatre/propose.sql) and mutual aid suggestions
-- (src/aid/mutual_aid.sql) place a case only where its needs are met, and
-- give a reason when no place meets them.  docs/theatre.md, "The right
-- setting by risk".
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.site_capability (
    site_code           text PRIMARY KEY REFERENCES ptl.site (site_code),
    critical_care       boolean NOT NULL DEFAULT false,
    level2_beds         boolean NOT NULL DEFAULT false,
    day_unit_only       boolean NOT NULL DEFAULT false,
    elective_hub        boolean NOT NULL DEFAULT false,
    independent_sector  boolean NOT NULL DEFAULT false,
    set_at              timestamptz NOT NULL DEFAULT now(),
    set_by              text NOT NULL DEFAULT current_user,
    note                text,
    CONSTRAINT site_capability_day_unit_has_no_beds CHECK (NOT (day_unit_only AND (critical_care OR level2_beds))),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT site_capability_set_at_in_range CHECK (ptl.in_storage_range(set_at))
);
SELECT pg_catalog.pg_extension_config_dump('ptl.site_capability', '');
COMMENT ON TABLE ptl.site_capability IS
    'What each site can look after, kept by an administrator: critical care and level 2 beds on site, day unit only, elective hub, independent sector. '
    'A site without a row is taken as a general acute hospital (overnight beds, level 2 and critical care), as before 0.4.0 (docs/theatre.md)';
COMMENT ON COLUMN ptl.site_capability.site_code IS 'Site';
COMMENT ON COLUMN ptl.site_capability.critical_care IS 'Adult critical care (level 3) beds on site; they also take level 2 patients';
COMMENT ON COLUMN ptl.site_capability.level2_beds IS 'Level 2 (high dependency) beds on site';
COMMENT ON COLUMN ptl.site_capability.day_unit_only IS 'A day unit: no overnight beds, so no level 2 or critical care either';
COMMENT ON COLUMN ptl.site_capability.elective_hub IS 'An elective surgical hub (ring-fenced elective capacity), for reporting; what it can take comes from its beds';
COMMENT ON COLUMN ptl.site_capability.independent_sector IS 'An independent sector provider''s site, for reporting; what it can take comes from its beds';
COMMENT ON COLUMN ptl.site_capability.set_at IS 'When the row was set';
COMMENT ON COLUMN ptl.site_capability.set_by IS 'Who set it';
COMMENT ON COLUMN ptl.site_capability.note IS 'Anything the administrator wants to say about the site';

-- Every site with the capabilities it offers, as names a case's needs are
-- matched against (the same names as theatre equipment): inpatient_beds,
-- level2, critical_care.
CREATE VIEW ptl.site_care_capability AS
SELECT s.site_code, s.org_code, c.site_code IS NOT NULL AS described,
       CASE WHEN c.site_code IS NULL THEN '{critical_care,inpatient_beds,level2}'::text[]
            ELSE array_remove(ARRAY[CASE WHEN c.critical_care THEN 'critical_care' END,
                                    CASE WHEN NOT c.day_unit_only THEN 'inpatient_beds' END,
                                    CASE WHEN c.critical_care OR c.level2_beds THEN 'level2' END], NULL) END AS capabilities,
       coalesce(c.critical_care, true) AS critical_care,
       coalesce(c.day_unit_only, false) AS day_unit_only,
       coalesce(c.elective_hub, false) AS elective_hub,
       coalesce(c.independent_sector, false) AS independent_sector
FROM ptl.site s
LEFT JOIN ptl.site_capability c ON c.site_code = s.site_code;
COMMENT ON VIEW ptl.site_care_capability IS
    'Every site with the capabilities a case''s risk needs are matched against (inpatient_beds, level2, critical_care); a site ptl.site_capability does not describe offers all three';
COMMENT ON COLUMN ptl.site_care_capability.site_code IS 'Site';
COMMENT ON COLUMN ptl.site_care_capability.org_code IS 'Organisation that runs it';
COMMENT ON COLUMN ptl.site_care_capability.described IS 'True if ptl.site_capability has a row for it';
COMMENT ON COLUMN ptl.site_care_capability.capabilities IS
    'What it offers, in name order: critical_care (critical care beds), inpatient_beds (not a day unit), level2 (level 2 or critical care beds)';
COMMENT ON COLUMN ptl.site_care_capability.critical_care IS 'Critical care on site (true for a site not described)';
COMMENT ON COLUMN ptl.site_care_capability.day_unit_only IS 'A day unit only';
COMMENT ON COLUMN ptl.site_care_capability.elective_hub IS 'An elective surgical hub';
COMMENT ON COLUMN ptl.site_care_capability.independent_sector IS 'An independent sector site';

-- The rules: a measure at or above a threshold needs a capability.  ptl
-- ships defaults (docs/theatre.md gives each one's source); a trust changes
-- one by adding its own row with the same rule_code (enabled false switches
-- it off) or adds rules of its own.
CREATE TABLE ptl.setting_rule (
    rule_code       text NOT NULL CHECK (rule_code ~ '^[a-z][a-z0-9_]*$'),
    measure         text NOT NULL CHECK (measure IN ('asa_grade', 'sort_mortality_pct', 'ariscat_class', 'cfs_level',
                                                     'no_assessment')),
    at_least        numeric,
    at_least_class  text,
    needs           text NOT NULL CHECK (needs IN ('inpatient_beds', 'level2', 'critical_care')),
    enabled         boolean NOT NULL DEFAULT true,
    shipped         boolean NOT NULL DEFAULT false,
    set_at          timestamptz NOT NULL DEFAULT now(),
    set_by          text NOT NULL DEFAULT current_user,
    source          text,
    PRIMARY KEY (rule_code, shipped),
    CONSTRAINT setting_rule_threshold CHECK (CASE measure
        WHEN 'asa_grade' THEN at_least IN (1, 2, 3, 4, 5, 6) AND at_least_class IS NULL
        WHEN 'sort_mortality_pct' THEN at_least > 0 AND at_least < 100 AND at_least_class IS NULL
        WHEN 'cfs_level' THEN at_least IN (1, 2, 3, 4, 5, 6, 7, 8, 9) AND at_least_class IS NULL
        WHEN 'ariscat_class' THEN at_least IS NULL AND at_least_class IN ('intermediate', 'high')
        WHEN 'no_assessment' THEN at_least IS NULL AND at_least_class IS NULL END),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT setting_rule_set_at_in_range CHECK (ptl.in_storage_range(set_at) OR (shipped AND set_at = '-infinity'))
);
SELECT pg_catalog.pg_extension_config_dump('ptl.setting_rule', 'WHERE NOT shipped');
COMMENT ON TABLE ptl.setting_rule IS
    'Which risk needs which capability of a site: a case whose risk assessment in force has the measure at or above the threshold goes only to a site that offers needs. '
    'A trust''s row overrides the shipped row of the same rule_code (enabled false switches a rule off); ptl.setting_rule_in_force shows what applies';
COMMENT ON COLUMN ptl.setting_rule.rule_code IS 'Name of the rule, e.g. asa_4_critical_care';
COMMENT ON COLUMN ptl.setting_rule.measure IS
    'asa_grade (1 to 6), sort_mortality_pct (SORT 30-day mortality, per cent), ariscat_class (low, intermediate, high), cfs_level (Clinical Frailty Scale 1 to 9), '
    'or no_assessment (no risk assessment with an ASA grade in force)';
COMMENT ON COLUMN ptl.setting_rule.at_least IS 'Threshold of a numeric measure: the rule applies at this value or above';
COMMENT ON COLUMN ptl.setting_rule.at_least_class IS 'Threshold of ariscat_class: intermediate (intermediate or high) or high';
COMMENT ON COLUMN ptl.setting_rule.needs IS 'Capability needed: inpatient_beds, level2 or critical_care (ptl.site_care_capability)';
COMMENT ON COLUMN ptl.setting_rule.enabled IS 'False: the rule does not apply (a trust''s row switching a shipped rule off)';
COMMENT ON COLUMN ptl.setting_rule.shipped IS 'True for the rules ptl ships (read only: CREATE EXTENSION writes them again after a restore)';
COMMENT ON COLUMN ptl.setting_rule.set_at IS 'When the rule was set';
COMMENT ON COLUMN ptl.setting_rule.set_by IS 'Who set it';
COMMENT ON COLUMN ptl.setting_rule.source IS 'Why: the guidance the rule follows';

INSERT INTO ptl.setting_rule (rule_code, measure, at_least, at_least_class, needs, shipped, set_at, set_by, source) VALUES
    ('asa_4_critical_care', 'asa_grade', 4, NULL, 'critical_care', true, '-infinity', 'ptl',
     'ASA physical status IV and V: severe systemic disease that is a constant threat to life (ASA Physical Status Classification System). '
     'Elective hubs and day units without critical care select ASA I to III (GIRFT and CPOC guidance on elective surgical hubs)'),
    ('sort_5pct_critical_care', 'sort_mortality_pct', 5, NULL, 'critical_care', true, '-infinity', 'ptl',
     'A predicted 30-day mortality of 5% or more marks a higher-risk patient to be cared for in critical care after the operation '
     '(RCS England and Department of Health, The Higher Risk General Surgical Patient, 2011); the same threshold as ptl.cohort_high_mortality_risk'),
    ('ariscat_high_level2', 'ariscat_class', NULL, 'high', 'level2', true, '-infinity', 'ptl',
     'ARISCAT high class (45 or more): the highest rate of postoperative pulmonary complications (Canet et al., Anesthesiology 2010); '
     'respiratory support is level 2 care (Intensive Care Society, Levels of Adult Critical Care)'),
    ('ariscat_intermediate_inpatient', 'ariscat_class', NULL, 'intermediate', 'inpatient_beds', true, '-infinity', 'ptl',
     'ARISCAT intermediate class (26 to 44): a pulmonary complication rate above one in ten; ptl''s choice is an overnight bed, not a day unit'),
    ('cfs_5_inpatient', 'cfs_level', 5, NULL, 'inpatient_beds', true, '-infinity', 'ptl',
     'Clinical Frailty Scale 5 or more (frail, the threshold of ptl.cohort_frail): delirium and functional decline after surgery are more likely '
     '(CPOC guideline for perioperative care for people living with frailty, 2021); ptl''s choice is an overnight bed, not a day unit'),
    ('no_assessment_critical_care', 'no_assessment', NULL, NULL, 'critical_care', true, '-infinity', 'ptl',
     'ptl''s rule: with no risk assessment with an ASA grade in force the needs are unknown, so only a site with critical care may take the case; '
     'a hub or day unit takes a patient on evidence that they are low risk (docs/theatre.md)');

-- Shipped rules are read only: CREATE EXTENSION writes them again after a
-- restore, so a change to one would be lost.
CREATE FUNCTION ptl_internal.setting_rule_guard() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'setting rule % is shipped with ptl and cannot be changed or removed', OLD.rule_code
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = 'CREATE EXTENSION writes shipped rules again when a dump is restored, so the change would be lost.',
              HINT = format('Add your own row with rule_code %L (enabled false switches the rule off); it overrides the shipped one.',
                            OLD.rule_code);
END
$$;
COMMENT ON FUNCTION ptl_internal.setting_rule_guard() IS 'Trigger: refuses UPDATE or DELETE of a setting rule shipped with ptl (add a row of your own to override it)';
CREATE TRIGGER setting_rule_shipped_is_read_only BEFORE UPDATE OR DELETE ON ptl.setting_rule
    FOR EACH ROW WHEN (OLD.shipped) EXECUTE FUNCTION ptl_internal.setting_rule_guard();

CREATE VIEW ptl.setting_rule_in_force AS
SELECT x.rule_code, x.measure, x.at_least, x.at_least_class, x.needs, x.shipped, x.source
FROM (SELECT DISTINCT ON (r.rule_code) r.*
      FROM ptl.setting_rule r
      ORDER BY r.rule_code, r.shipped, r.set_at DESC) x
WHERE x.enabled;
COMMENT ON VIEW ptl.setting_rule_in_force IS
    'The setting rules that apply: for each rule_code a trust''s row before the shipped one, left out when it is switched off';
COMMENT ON COLUMN ptl.setting_rule_in_force.rule_code IS 'Rule';
COMMENT ON COLUMN ptl.setting_rule_in_force.measure IS 'Measure it reads';
COMMENT ON COLUMN ptl.setting_rule_in_force.at_least IS 'Threshold of a numeric measure';
COMMENT ON COLUMN ptl.setting_rule_in_force.at_least_class IS 'Threshold of ariscat_class';
COMMENT ON COLUMN ptl.setting_rule_in_force.needs IS 'Capability needed';
COMMENT ON COLUMN ptl.setting_rule_in_force.shipped IS 'True if the rule in force is the one ptl ships';
COMMENT ON COLUMN ptl.setting_rule_in_force.source IS 'Why';

-- The rules a risk assessment meets, and the capabilities they need.  A
-- NULL ASA grade means no risk assessment with an ASA grade is in force
-- (the no_assessment rules apply); any other NULL measure meets no rule.
CREATE FUNCTION ptl.setting_needs(asa_grade int, sort_mortality_pct float8, ariscat_class text, cfs_level int,
                                  OUT rules text[], OUT needs text[])
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
BEGIN ATOMIC
    SELECT coalesce(array_agg(r.rule_code ORDER BY r.rule_code), '{}'),
           coalesce(array_agg(DISTINCT r.needs ORDER BY r.needs), '{}')
    FROM ptl.setting_rule_in_force r
    WHERE CASE r.measure
              WHEN 'no_assessment' THEN setting_needs.asa_grade IS NULL
              WHEN 'asa_grade' THEN setting_needs.asa_grade >= r.at_least
              WHEN 'sort_mortality_pct' THEN setting_needs.sort_mortality_pct >= r.at_least
              WHEN 'cfs_level' THEN setting_needs.cfs_level >= r.at_least
              WHEN 'ariscat_class' THEN array_position('{low,intermediate,high}'::text[], setting_needs.ariscat_class)
                                        >= array_position('{low,intermediate,high}'::text[], r.at_least_class)
          END;
END;
COMMENT ON FUNCTION ptl.setting_needs(int, float8, text, int) IS
    'The setting rules in force that a risk assessment meets (rule codes) and the capabilities they need, in name order; asa_grade NULL means no assessment is in force';

-- The scores the setting rules read, per assessment: those for a pathway
-- the user sees, and those for no pathway in particular of a person with a
-- record at one of the user's organisations (all for those who see the
-- ICS), whichever trust recorded them.  The scores
-- need the date of birth, which plain readers may not see, so ptl.risk_score
-- is for identifiable users only; this view runs with its owner's rights (a
-- security barrier) and shows no age, so that the rules work for every
-- reader of the theatre measures and every analyst who proposes lists.
CREATE VIEW ptl.setting_risk_score AS
SELECT x.assessment_id, x.person_key, x.pathway_id, x.assessed_on, x.valid_until, x.asa_grade,
       -- the scores exactly as ptl.risk_score computes them (src/risk/cohorts.sql)
       ptl.sort_mortality_pct(nullif(x.asa_grade, 6), x.urgency, ptl.sort_high_risk_specialty(x.sort_specialty),
                              x.severity, x.cancer, x.age_years) AS sort_mortality_pct,
       ptl.ariscat_class(ptl.ariscat_score(x.age_years, x.spo2_pct, x.respiratory_infection_last_month, x.hb_g_dl,
                                           x.incision, x.surgery_duration_hours, x.emergency)) AS ariscat_class,
       x.cfs_level
FROM (
    SELECT a.assessment_id, coalesce(pl.person_id, -a.patient_id) AS person_key, a.pathway_id, a.assessed_on,
           a.assessed_on + st.assessment_valid_days AS valid_until, a.asa_grade, a.urgency, a.sort_specialty,
           a.severity, a.cancer, a.spo2_pct, a.respiratory_infection_last_month, a.hb_g_dl, a.incision,
           a.surgery_duration_hours, a.emergency, a.cfs_level,
           CASE WHEN y.n BETWEEN 0 AND 130 THEN y.n END AS age_years
    FROM ptl.risk_assessment a
    JOIN ptl.patient p ON p.patient_id = a.patient_id
    LEFT JOIN ptl.person_link pl ON pl.patient_id = a.patient_id
    CROSS JOIN ptl.risk_setting_in_force() st
    CROSS JOIN LATERAL (SELECT extract(year FROM age(a.assessed_on, p.date_of_birth))::int AS n) y
    -- an assessment for a pathway: shown when the user sees the pathway (its
    -- provider's, or transferred to or from it); for none in particular:
    -- when the person has a record at one of the user's organisations
    WHERE (SELECT ptl.sees_all_organisations())
       OR (a.pathway_id IS NOT NULL
           AND (EXISTS (SELECT 1 FROM ptl.pathway w
                        WHERE w.pathway_id = a.pathway_id AND w.provider_org = ANY ((SELECT ptl.my_organisations())::text[]))
                OR a.pathway_id IN (SELECT t.pathway_id FROM ptl.transferred_pathway_visible t)))
       OR (a.pathway_id IS NULL
           AND (p.org_code = ANY ((SELECT ptl.my_organisations())::text[])
                OR EXISTS (SELECT 1 FROM ptl.person_link o JOIN ptl.patient op ON op.patient_id = o.patient_id
                           WHERE o.person_id = pl.person_id AND op.org_code = ANY ((SELECT ptl.my_organisations())::text[]))))
    OFFSET 0) x;     -- score once per row
COMMENT ON VIEW ptl.setting_risk_score IS
    'The scores the setting rules read (ASA, SORT, ARISCAT class, CFS), per risk assessment for a pathway the user sees, or for no pathway of a person with a record at the user''s organisations; no age or identifier (docs/theatre.md)';
COMMENT ON COLUMN ptl.setting_risk_score.assessment_id IS 'Assessment';
COMMENT ON COLUMN ptl.setting_risk_score.person_key IS 'ICS person, or minus the patient record not yet linked';
COMMENT ON COLUMN ptl.setting_risk_score.pathway_id IS 'Pathway assessed (NULL: any)';
COMMENT ON COLUMN ptl.setting_risk_score.assessed_on IS 'Date assessed';
COMMENT ON COLUMN ptl.setting_risk_score.valid_until IS 'First day the assessment is stale (risk_setting.assessment_valid_days)';
COMMENT ON COLUMN ptl.setting_risk_score.asa_grade IS 'ASA grade 1 to 6';
COMMENT ON COLUMN ptl.setting_risk_score.sort_mortality_pct IS 'SORT 30-day mortality, per cent';
COMMENT ON COLUMN ptl.setting_risk_score.ariscat_class IS 'ARISCAT class: low, intermediate, high';
COMMENT ON COLUMN ptl.setting_risk_score.cfs_level IS 'Clinical Frailty Scale level';

-- For every waiting-list entry open on a date (not removed before it), the
-- risk assessment in force then and what it needs.  In force: the latest
-- assessment of the same ICS person, for this pathway or for none, made on
-- or before the date and not yet stale (risk_setting.assessment_valid_days),
-- with an ASA grade; an entry with none has only the no_assessment needs.
CREATE FUNCTION ptl.setting_need_at(as_of date)
RETURNS TABLE (entry_id bigint, assessment_id bigint, assessed_on date, asa_grade smallint, sort_mortality_pct float8,
               ariscat_class text, cfs_level smallint, rules text[], needs text[])
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
BEGIN ATOMIC
    WITH r AS MATERIALIZED (
        SELECT s.assessment_id, s.person_key AS who, s.pathway_id, s.assessed_on,
               s.asa_grade, s.sort_mortality_pct, s.ariscat_class, s.cfs_level
        FROM ptl.setting_risk_score s
        WHERE s.asa_grade IS NOT NULL AND s.assessed_on <= setting_need_at.as_of AND setting_need_at.as_of < s.valid_until),
    e AS (
        SELECT DISTINCT ON (w.entry_id) w.entry_id, r.assessment_id, r.assessed_on, r.asa_grade, r.sort_mortality_pct,
               r.ariscat_class, r.cfs_level
        FROM ptl.waiting_list_entry w
        LEFT JOIN ptl.person_link pl ON pl.patient_id = w.patient_id
        LEFT JOIN r ON r.who = coalesce(pl.person_id, -w.patient_id)
                   AND (r.pathway_id IS NULL OR r.pathway_id = w.pathway_id)
        WHERE w.removed_date IS NULL OR w.removed_date >= setting_need_at.as_of
        ORDER BY w.entry_id, r.assessed_on DESC NULLS LAST, r.assessment_id DESC)
    SELECT e.entry_id, e.assessment_id, e.assessed_on, e.asa_grade, e.sort_mortality_pct, e.ariscat_class, e.cfs_level,
           n.rules, n.needs
    FROM e CROSS JOIN LATERAL ptl.setting_needs(e.asa_grade, e.sort_mortality_pct, e.ariscat_class, e.cfs_level) n;
END;
COMMENT ON FUNCTION ptl.setting_need_at(date) IS
    'For every waiting-list entry open on as_of: the risk assessment in force then (latest of the same person, not stale, with an ASA grade), the setting rules it meets and the capabilities they need';

-- The measure: how many low-risk cases (an assessment in force that meets
-- no setting rule) are operated on in high-capability theatres (a theatre
-- that is not day-case only, at a site with critical care), per site and
-- week of the session, and for the ICS.  Risk is judged as known on the
-- Monday of the session's week.  Cancelled bookings and sessions do not count.
CREATE VIEW ptl.theatre_low_risk_share AS
WITH b AS MATERIALIZED (
    SELECT b.entry_id, date_trunc('week', s.session_date)::date AS week_start, t.site_code,
           NOT t.day_case_only AND 'critical_care' = ANY (c.capabilities) AS high_capability
    FROM ptl.theatre_booking b
    JOIN ptl.theatre_session s ON s.session_id = b.session_id
    JOIN ptl.theatre t ON t.theatre_code = s.theatre_code
    JOIN ptl.site_care_capability c ON c.site_code = t.site_code
    WHERE b.status <> 'cancelled' AND NOT s.cancelled),
n AS MATERIALIZED (
    SELECT w.week_start, x.entry_id, x.assessment_id IS NOT NULL AS assessed,
           x.assessment_id IS NOT NULL AND x.needs = '{}' AS low_risk
    FROM (SELECT DISTINCT b.week_start FROM b) w
    CROSS JOIN LATERAL ptl.setting_need_at(w.week_start) x)
SELECT b.week_start, b.site_code,
       CASE WHEN GROUPING(b.site_code) = 0 THEN bool_or(b.high_capability) END AS high_capability,
       count(*) AS cases,
       count(*) FILTER (WHERE b.high_capability) AS high_capability_cases,
       count(*) FILTER (WHERE NOT coalesce(n.assessed, false)) AS unassessed_cases,
       count(*) FILTER (WHERE n.low_risk) AS low_risk_cases,
       count(*) FILTER (WHERE n.low_risk AND b.high_capability) AS low_risk_high_capability_cases,
       round(100.0 * count(*) FILTER (WHERE n.low_risk AND b.high_capability)
             / nullif(count(*) FILTER (WHERE n.low_risk), 0), 1) AS low_risk_high_capability_pct
FROM b
LEFT JOIN n ON n.week_start = b.week_start AND n.entry_id = b.entry_id
GROUP BY GROUPING SETS ((b.week_start, b.site_code), (b.week_start));
COMMENT ON VIEW ptl.theatre_low_risk_share IS
    'Per site and week of the session, and for the ICS (site_code NULL): cases booked or operated on, how many were low risk, and the share of the low-risk ones '
    'in high-capability theatres (not day-case only, at a site with critical care), whose time the higher-risk cases need (docs/theatre.md)';
COMMENT ON COLUMN ptl.theatre_low_risk_share.week_start IS 'Monday of the sessions'' week';
COMMENT ON COLUMN ptl.theatre_low_risk_share.site_code IS 'Site of the theatre (NULL: the ICS)';
COMMENT ON COLUMN ptl.theatre_low_risk_share.high_capability IS 'The site has a high-capability theatre among those booked that week (NULL on the ICS row)';
COMMENT ON COLUMN ptl.theatre_low_risk_share.cases IS 'Cases booked or done (not cancelled)';
COMMENT ON COLUMN ptl.theatre_low_risk_share.high_capability_cases IS 'Of them, in high-capability theatres';
COMMENT ON COLUMN ptl.theatre_low_risk_share.unassessed_cases IS 'Cases with no risk assessment in force on the Monday';
COMMENT ON COLUMN ptl.theatre_low_risk_share.low_risk_cases IS 'Cases whose assessment in force meets no setting rule';
COMMENT ON COLUMN ptl.theatre_low_risk_share.low_risk_high_capability_cases IS 'Low-risk cases in high-capability theatres';
COMMENT ON COLUMN ptl.theatre_low_risk_share.low_risk_high_capability_pct IS
    'Per cent of the low-risk cases that were in high-capability theatres (NULL: no low-risk case)';
