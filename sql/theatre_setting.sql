-- The right setting by risk (docs/theatre.md): what each site can look
-- after, the shipped setting rules one by one at their thresholds, a
-- trust's own rules, theatre proposals that place a case only where its
-- risk needs are met (reason risk_needs_unmet otherwise), mutual aid the
-- same (RISK_NEEDS_UNMET), and the share of low-risk cases in
-- high-capability theatres.  Undone at the end.
SET search_path = ptl, public;
SET datestyle = 'ISO, YMD';
SET extra_float_digits = 0;
\set ON_ERROR_ROLLBACK on
\set SHOW_CONTEXT never
BEGIN;
INSERT INTO organisation (org_code, name, org_kind) VALUES ('QSS', 'Setting ICB', 'ics');
INSERT INTO organisation (org_code, name, parent_org_code) VALUES
    ('RS1', 'Setting Hospitals NHS Trust', 'QSS'), ('RS2', 'Setting Independent Hospital', 'QSS');
INSERT INTO site (site_code, org_code, name) VALUES
    ('RS101', 'RS1', 'Setting General'), ('RS102', 'RS1', 'Setting Elective Hub'),
    ('RS103', 'RS1', 'Setting Day Unit'), ('RS104', 'RS1', 'Setting Community Hospital'),
    ('RS201', 'RS2', 'Setting Independent');
INSERT INTO commissioner (commissioner_code, name) VALUES ('01S', 'Setting Sub-ICB');
INSERT INTO batch (batch_id, org_code, source_system) VALUES (981, 'RS1', 'PAS');

-- 1. What each site can look after.  The general hospital has critical
-- care (which takes level 2 patients too); the hub has overnight beds but
-- no level 2 or critical care; the day unit has no overnight beds; the
-- independent hospital has level 2 beds.  The community hospital is not
-- described, so it is taken as a general acute hospital, as before 0.4.0.
INSERT INTO site_capability (site_code, critical_care, level2_beds, day_unit_only, elective_hub, independent_sector) VALUES
    ('RS101', true, true, false, false, false),
    ('RS102', false, false, false, true, false),
    ('RS103', false, false, true, false, false),
    ('RS201', false, true, false, false, true);
SELECT site_code, described, capabilities, critical_care, day_unit_only, elective_hub, independent_sector
FROM site_care_capability WHERE org_code IN ('RS1', 'RS2') ORDER BY site_code;
-- A day unit with level 2 beds is a contradiction.
\set VERBOSITY terse
INSERT INTO site_capability (site_code, level2_beds, day_unit_only) VALUES ('RS104', true, true);
\set VERBOSITY default

-- 2. The shipped rules.
SELECT rule_code, measure, at_least, at_least_class, needs FROM setting_rule_in_force ORDER BY rule_code;
-- Each at its threshold: ASA 3 needs nothing, ASA 4 critical care
-- (asa_4_critical_care); SORT 4.99% nothing, 5% critical care
-- (sort_5pct_critical_care); ARISCAT low nothing, intermediate an overnight
-- bed (ariscat_intermediate_inpatient), high level 2 as well
-- (ariscat_high_level2); CFS 4 nothing, 5 an overnight bed
-- (cfs_5_inpatient); no ASA grade (no assessment in force) critical care
-- (no_assessment_critical_care), with whatever else is known.
SELECT x.example, n.rules, n.needs
FROM (VALUES ('ASA 3', 3, NULL::float8, NULL::text, NULL::int),
             ('ASA 4', 4, NULL, NULL, NULL),
             ('ASA 6', 6, NULL, NULL, NULL),
             ('SORT 4.99%', 2, 4.99, NULL, NULL),
             ('SORT 5%', 2, 5, NULL, NULL),
             ('ARISCAT low', 2, NULL, 'low', NULL),
             ('ARISCAT intermediate', 2, NULL, 'intermediate', NULL),
             ('ARISCAT high', 2, NULL, 'high', NULL),
             ('CFS 4', 2, NULL, NULL, 4),
             ('CFS 5', 2, NULL, NULL, 5),
             ('no assessment', NULL, NULL, NULL, NULL),
             ('no assessment, CFS 6', NULL, NULL, NULL, 6),
             ('ASA 4, SORT 7%, ARISCAT high, CFS 7', 4, 7, 'high', 7)) x (example, asa, sort, ariscat, cfs),
     setting_needs(x.asa, x.sort, x.ariscat, x.cfs) n;

-- 3. A trust's own rules: it switches frailty off (its own row with the
-- same code, enabled false), lowers ASA to 3 for level 2, and the shipped
-- rows stay as they were.
INSERT INTO setting_rule (rule_code, measure, at_least, needs, enabled, source) VALUES
    ('cfs_5_inpatient', 'cfs_level', 5, 'inpatient_beds', false, 'the trust''s frailty pathway decides'),
    ('asa_3_level2', 'asa_grade', 3, 'level2', true, 'the trust''s anaesthetists');
SELECT rule_code, needs, shipped FROM setting_rule_in_force WHERE rule_code IN ('cfs_5_inpatient', 'asa_3_level2', 'asa_4_critical_care')
ORDER BY rule_code;
SELECT (setting_needs(3, NULL, NULL, 5)).*;
-- A shipped rule cannot be changed in place (a dump restore would lose it),
-- and a threshold must fit its measure.
UPDATE setting_rule SET at_least = 5 WHERE rule_code = 'asa_4_critical_care';
DELETE FROM setting_rule WHERE rule_code = 'no_assessment_critical_care';
\set VERBOSITY terse
INSERT INTO setting_rule (rule_code, measure, at_least, needs) VALUES ('asa_7', 'asa_grade', 7, 'critical_care');
INSERT INTO setting_rule (rule_code, measure, at_least_class, needs) VALUES ('ariscat_x', 'ariscat_class', 'low', 'level2');
\set VERBOSITY default
DELETE FROM setting_rule WHERE NOT shipped;

-- 4. Theatre proposals.  A T&O patient listed at a site, with a risk
-- assessment (or none) and a fit pre-operative assessment.
CREATE FUNCTION pg_temp.listed(name text, site text, asa int, cfs int DEFAULT NULL, ariscat_spo2 numeric DEFAULT NULL,
                               assessed date DEFAULT '2025-04-20', management text DEFAULT '2') RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE pat bigint; pw bigint; e bigint;
BEGIN
    INSERT INTO ptl.patient (org_code, source_system, local_patient_id, date_of_birth, batch_id)
    VALUES ('RS1', 'PAS', name, '1955-01-01', 981) RETURNING patient_id INTO pat;
    INSERT INTO ptl.pathway (patient_id, provider_org, site_code, ppid, ppid_issuer, treatment_function,
                             referral_received, commissioner_code, batch_id)
    VALUES (pat, 'RS1', site, 'PPID-' || name, 'RS1', '110', '2024-12-01', '01S', 981) RETURNING pathway_id INTO pw;
    INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, batch_id)
    VALUES (pw, pat, 'R', '2024-12-01', 'referral', 981);
    INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, batch_id)
    VALUES (pw, pat, 'D', '2025-02-01', 'decision_to_admit', '20', 981);
    INSERT INTO ptl.waiting_list_entry (pathway_id, patient_id, entry_ref, procedure_code, intended_management,
                                        clinical_priority, decision_to_admit, expected_duration_minutes,
                                        consultant_code, site_code, batch_id)
    VALUES (pw, pat, 'WL-' || name, 'W40.1', management, 'P3', '2025-02-01', 60, 'C1', site, 981)
    RETURNING entry_id INTO e;
    INSERT INTO ptl.preop_assessment (entry_id, assessed_on, outcome) VALUES (e, '2025-04-20', 'fit');
    -- ARISCAT: age 70 (3), upper abdominal incision (15), 1 hour, no
    -- infection, Hb 13, and the SpO2 given: 95% (8) scores 26,
    -- intermediate; 90% (24) scores 42, still intermediate, with an
    -- infection (17) 59, high.
    IF asa IS NOT NULL OR cfs IS NOT NULL THEN
        INSERT INTO ptl.risk_assessment (patient_id, pathway_id, assessed_on, recorded_by, asa_grade, cfs_level, spo2_pct,
                                         respiratory_infection_last_month, hb_g_dl, incision, surgery_duration_hours)
        VALUES (pat, pw, assessed, 'pre-assessment nurse', asa, cfs, ariscat_spo2,
                CASE WHEN ariscat_spo2 < 91 THEN true ELSE false END, 13.0, 'upper_abdominal', 1.0);
    END IF;
    RETURN e;
END $$;
SELECT count(*) AS listed FROM (VALUES
    (pg_temp.listed('HUB_LOW', 'RS102', 2)),                        -- ASA 2: the hub takes it
    (pg_temp.listed('HUB_ASA4', 'RS102', 4)),                       -- critical care: not at the hub
    (pg_temp.listed('HUB_NONE', 'RS102', NULL)),                    -- no assessment: not at the hub
    (pg_temp.listed('HUB_STALE', 'RS102', 2, assessed => '2025-01-20')), -- 101 days old at the census: none in force
    (pg_temp.listed('HUB_CHEST', 'RS102', 2, ariscat_spo2 => 90)),  -- ARISCAT high: level 2, not at the hub
    (pg_temp.listed('HUB_ARISCAT26', 'RS102', 2, ariscat_spo2 => 95)), -- ARISCAT intermediate: the hub has beds
    (pg_temp.listed('DAY_FRAIL', 'RS103', 2, cfs => 6)),            -- frail: an overnight bed, not the day unit
    (pg_temp.listed('DAY_LOW', 'RS103', 1, cfs => 3)),              -- the day unit takes it
    (pg_temp.listed('DAY_INPATIENT', 'RS103', 1, management => '1')), -- planned inpatient: the older reason comes first
    (pg_temp.listed('GEN_ASA4', 'RS101', 4)),                       -- the general hospital has critical care
    (pg_temp.listed('GEN_LOW', 'RS101', 2)),                        -- low risk in a high-capability theatre
    (pg_temp.listed('COMM_ASA4', 'RS104', 4))) v (e);               -- a site not described offers everything
CALL refresh('2025-05-01');
SELECT w.entry_ref, n.asa_grade, n.ariscat_class, n.cfs_level, n.rules, n.needs
FROM setting_need_at('2025-05-01') n JOIN waiting_list_entry w USING (entry_id)
WHERE w.entry_ref LIKE 'WL-%' AND w.batch_id = 981 ORDER BY w.entry_ref;

INSERT INTO theatre (theatre_code, site_code, name, day_case_only) VALUES
    ('TS-GEN', 'RS101', 'General 1', false), ('TS-HUB', 'RS102', 'Hub 1', false),
    ('TS-DAY', 'RS103', 'Day unit 1', true), ('TS-COM', 'RS104', 'Community 1', false);
INSERT INTO theatre_session (session_id, theatre_code, session_date, planned_start, planned_end, specialty, consultant_code) VALUES
    (981, 'TS-GEN', '2025-05-12', '08:00', '17:00', '110', 'C1'),
    (982, 'TS-HUB', '2025-05-13', '08:00', '17:00', '110', 'C1'),
    (983, 'TS-DAY', '2025-05-14', '08:00', '17:00', '110', 'C1'),
    (984, 'TS-COM', '2025-05-15', '08:00', '17:00', '110', 'C1');
CALL propose_theatre_lists('2025-05-12', '2025-05-16');
SELECT w.entry_ref, o.proposed, s.site_code, o.reason, o.detail
FROM theatre_proposal_outcome o JOIN waiting_list_entry w USING (entry_id)
LEFT JOIN theatre_proposal p ON p.run_id = o.run_id AND p.entry_id = o.entry_id
LEFT JOIN theatre_session ts ON ts.session_id = p.session_id LEFT JOIN theatre s ON s.theatre_code = ts.theatre_code
ORDER BY w.entry_ref;

-- 5. The measure.  The proposals are accepted and become bookings.  As
-- known on Monday 12 May the low-risk cases are HUB_LOW, DAY_LOW and
-- GEN_LOW (HUB_ARISCAT26 needs an overnight bed): one of the three is in a
-- high-capability theatre, the general hospital's.  The community
-- hospital, not described, counts as high capability.
SELECT count(accept_theatre_proposal(p.proposal_id)) AS booked FROM theatre_proposal p WHERE p.status = 'proposed';
SELECT week_start, site_code, high_capability, cases, high_capability_cases, unassessed_cases, low_risk_cases,
       low_risk_high_capability_cases, low_risk_high_capability_pct
FROM theatre_low_risk_share ORDER BY week_start, site_code NULLS LAST;

-- A plain reader of the trust (no identifiers) sees the measure for its
-- sites, and an analyst proposes lists by the same rules: the scores come
-- through ptl.setting_risk_score, which needs no date of birth
-- (ptl.risk_score does, so the reader may not read it).
CREATE ROLE regress_setting_reader IN ROLE ptl_reader;
CREATE ROLE regress_setting_analyst IN ROLE ptl_analyst;
INSERT INTO user_organisation (role_name, org_code) VALUES ('regress_setting_reader', 'RS1'), ('regress_setting_analyst', 'RS1');
SET ROLE regress_setting_reader;
SELECT week_start, site_code, cases, low_risk_cases, low_risk_high_capability_pct
FROM theatre_low_risk_share ORDER BY week_start, site_code NULLS LAST;
SELECT count(*) FROM risk_score;
RESET ROLE;
SET ROLE regress_setting_analyst;
CALL propose_theatre_lists('2025-05-12', '2025-05-16');
RESET ROLE;
SELECT w.entry_ref, o.reason FROM theatre_proposal_outcome o JOIN waiting_list_entry w USING (entry_id)
WHERE o.run_id = (SELECT max(run_id) FROM theatre_proposal_run) AND NOT o.proposed ORDER BY 1;

-- 6. Mutual aid, on inputs given: one patient and one slot each, the
-- patient needing what its risk needs and the slot's site offering what it
-- offers (NULL: not given, nothing is checked).
SELECT x.p, x.why, m.reason
FROM (VALUES (1, 'low risk at a hub', '{}'::text[], '{inpatient_beds}'::text[]),
             (2, 'ASA 4 at a hub', '{critical_care}', '{inpatient_beds}'),
             (3, 'ASA 4 at a general hospital', '{critical_care}', '{critical_care,inpatient_beds,level2}'),
             (4, 'ARISCAT high at an independent hospital with level 2', '{inpatient_beds,level2}', '{inpatient_beds,level2}'),
             (5, 'frail at a day unit', '{inpatient_beds}', '{}'),
             (6, 'no assessment, site not given', '{critical_care}', NULL)) x (p, why, needs, caps),
     mutual_aid_plan(ARRAY[ROW(x.p, 'A', '110', 'W37.1', date '2024-01-01', 'P4', NULL, 60, false, true, NULL,
                               53.4084, -2.99, 'inpatient', false, false, date '2026-01-01', x.needs)::aid_patient],
                     ARRAY[ROW(1, 'B', 'SB', 53.19, -2.89, '110', NULL, date '2025-04-01', 'level2', x.caps)::aid_slot],
                     '2025-03-03') m
ORDER BY x.p;
-- Capability comes before risk: a day unit's slot for an inpatient is
-- NO_CAPABILITY whatever the risk.
SELECT reason FROM mutual_aid_plan(
    ARRAY[ROW(1, 'A', '110', 'W37.1', date '2024-01-01', 'P4', NULL, 60, false, true, NULL, 53.4084, -2.99,
              'inpatient', false, false, date '2026-01-01', '{critical_care}')::aid_patient],
    ARRAY[ROW(1, 'B', 'SB', 53.19, -2.89, '110', NULL, date '2025-04-01', 'daycase', '{}')::aid_slot], '2025-03-03');
-- From the tables: the candidates carry their risk needs at the census,
-- and a slot its site's capabilities.
SELECT p.ppid, c.required_capability, c.risk_needs, c.risk_rules
FROM mutual_aid_candidate c JOIN pathway p USING (pathway_id)
WHERE p.ppid IN ('PPID-GEN_ASA4', 'PPID-HUB_NONE', 'PPID-DAY_FRAIL', 'PPID-GEN_LOW') ORDER BY p.ppid;
INSERT INTO mutual_aid_offer (offer_id, offering_org, site_code, treatment_function, capability, available_from, available_until)
VALUES (981, 'RS2', 'RS201', '110', 'inpatient', '2025-05-19', '2025-05-23');
SELECT add_mutual_aid_slots(981, 1);
SELECT offering_org, site_code, capability, site_capabilities FROM mutual_aid_free_slot WHERE offer_id = 981;
ROLLBACK;
