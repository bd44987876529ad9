-- The right setting by risk on a generated ICS (20,000 referrals) with
-- sites of every kind (ptl_synth.site_capabilities), risk assessments for
-- two in three listed patients, theatres and mutual aid: no theatre proposal
-- and no mutual aid suggestion puts a patient where their risk needs are
-- unmet.  The shipped setting rules (docs/theatre.md, "The right setting by
-- risk") and what each site offers are written again here in plain SQL,
-- with the scores from ptl_synth's plain-SQL models, never with ptl's own.
BEGIN;
SELECT plan(13);

CREATE EXTENSION IF NOT EXISTS ptl_synth;
SET datestyle = 'ISO, YMD';
SELECT count(*) FROM ptl_synth.generate(20000, seed => 24) b, ptl.load(b) l;
CALL ptl.refresh('2025-03-31');
SELECT count(*) FROM ptl_synth.site_capabilities();
SELECT count(*) FROM ptl_synth.assess_waiting_patients(seed => 24) b, ptl.load(b) l;
SELECT count(*) FROM ptl_synth.theatres(24) b, ptl.load(b) l;
SELECT count(*) FROM ptl_synth.mutual_aid(24);
SELECT count(*) FROM ptl.batch b, ptl.load(b.batch_id) WHERE b.status = 'ready';
-- Offers from every site without critical care too, so that mutual aid
-- meets the rules: each site offers its trust's largest admitted specialty.
INSERT INTO ptl.mutual_aid_offer (offering_org, site_code, treatment_function, capability, available_from, available_until)
SELECT s.org_code, s.site_code,
       (SELECT l.treatment_function FROM ptl.ptl l WHERE l.waiting_list_entry_id IS NOT NULL
        GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1),
       CASE WHEN c.day_unit_only THEN 'daycase' ELSE 'inpatient' END, '2025-04-14', '2025-05-23'
FROM ptl.site s JOIN ptl.site_capability c USING (site_code)
WHERE NOT c.critical_care;
SELECT sum(ptl.add_mutual_aid_slots(o.offer_id, 40)) FROM ptl.mutual_aid_offer o
WHERE NOT EXISTS (SELECT FROM ptl.mutual_aid_slot s WHERE s.offer_id = o.offer_id);
CALL ptl.propose_theatre_lists('2025-04-01', '2025-05-12');

-- What each site offers, from ptl.site_capability's columns (a site not
-- described offers everything).
CREATE TEMP TABLE offers AS
SELECT s.site_code,
       array_remove(ARRAY[CASE WHEN coalesce(c.critical_care, true) THEN 'critical_care' END,
                          CASE WHEN NOT coalesce(c.day_unit_only, false) THEN 'inpatient_beds' END,
                          CASE WHEN coalesce(c.critical_care OR c.level2_beds, true) THEN 'level2' END], NULL) AS caps
FROM ptl.site s LEFT JOIN ptl.site_capability c USING (site_code);

-- What each waiting-list entry's risk needs on a date, by the shipped rules:
-- the latest assessment with an ASA grade of any record of the same person,
-- for the pathway or none, made by then and less than 84 days old; none
-- needs critical care; ASA 4 or more, or SORT 5% or more, need critical
-- care; ARISCAT 45 or more needs level 2; ARISCAT 26 or more, or CFS 5 or
-- more, an overnight bed.
CREATE FUNCTION pg_temp.needs_sql(e bigint, as_of date) RETURNS text[]
LANGUAGE sql STABLE AS $$
WITH w AS (SELECT x.pathway_id, x.patient_id FROM ptl.waiting_list_entry x WHERE x.entry_id = e),
same AS (SELECT w.patient_id FROM w
         UNION SELECT o.patient_id FROM w JOIN ptl.person_link p ON p.patient_id = w.patient_id
                                          JOIN ptl.person_link o ON o.person_id = p.person_id),
a AS (SELECT r.*, pt.date_of_birth, extract(year FROM age(r.assessed_on, pt.date_of_birth))::int AS age
      FROM ptl.risk_assessment r JOIN ptl.patient pt ON pt.patient_id = r.patient_id, w
      WHERE r.patient_id IN (SELECT patient_id FROM same)
        AND (r.pathway_id IS NULL OR r.pathway_id = w.pathway_id)
        AND r.asa_grade IS NOT NULL AND r.assessed_on <= as_of AND as_of < r.assessed_on + 84
      ORDER BY r.assessed_on DESC, r.assessment_id DESC LIMIT 1),
s AS (SELECT a.asa_grade, a.cfs_level,
             CASE WHEN a.spo2_pct IS NOT NULL AND a.respiratory_infection_last_month IS NOT NULL AND a.hb_g_dl IS NOT NULL
                       AND a.incision IS NOT NULL AND a.surgery_duration_hours IS NOT NULL AND a.age BETWEEN 0 AND 130
                  THEN ptl_synth.ariscat_score_sql(a.age, a.spo2_pct, a.respiratory_infection_last_month, a.hb_g_dl,
                                                   a.incision, a.surgery_duration_hours, a.emergency) END AS ariscat,
             CASE WHEN a.asa_grade <= 5 AND a.sort_specialty IS NOT NULL AND a.severity IS NOT NULL
                       AND a.cancer IS NOT NULL AND a.age BETWEEN 0 AND 130
                  THEN ptl_synth.sort_mortality_pct_sql(a.asa_grade, a.urgency, a.sort_specialty, a.severity,
                                                        a.cancer, a.age) END AS sort
      FROM a)
SELECT CASE WHEN NOT EXISTS (SELECT FROM s) THEN '{critical_care}'::text[]
            ELSE (SELECT array_remove(ARRAY[CASE WHEN s.asa_grade >= 4 OR s.sort >= 5 THEN 'critical_care' END,
                                            CASE WHEN s.ariscat >= 26 OR s.cfs_level >= 5 THEN 'inpatient_beds' END,
                                            CASE WHEN s.ariscat >= 45 THEN 'level2' END], NULL) FROM s) END
$$;

CREATE TEMP TABLE listed AS
SELECT w.entry_id, w.site_code, l.treatment_function, pg_temp.needs_sql(w.entry_id, '2025-03-31') AS needs
FROM ptl.ptl l JOIN ptl.waiting_list_entry w ON w.entry_id = l.waiting_list_entry_id;
CREATE INDEX ON listed (entry_id);
ANALYZE listed;

SELECT ok((SELECT count(*) FILTER (WHERE elective_hub AND NOT critical_care) > 0
                  AND count(*) FILTER (WHERE day_unit_only) > 0
                  AND count(*) FILTER (WHERE NOT critical_care AND level2_beds) > 0
           FROM ptl.site_capability),
          'the generated ICS has an elective hub without critical care, a day unit, and a site with level 2 but no critical care');
SELECT ok((SELECT count(*) FILTER (WHERE needs = '{}') > 20 AND count(*) FILTER (WHERE needs @> '{critical_care}') > 100
                  AND count(*) FILTER (WHERE needs @> '{level2}') > 10 AND count(*) FILTER (WHERE needs @> '{inpatient_beds}') > 100
           FROM listed),
          'the listed patients'' risks call on every rule: some need nothing, some an overnight bed, level 2 or critical care');
SELECT is((SELECT count(*) FROM ptl.risk_score r FULL JOIN ptl.setting_risk_score s USING (assessment_id)
           WHERE (r.asa_grade, r.sort_mortality_pct, r.ariscat_class, r.cfs_level, r.assessed_on, r.valid_until)
                 IS DISTINCT FROM (s.asa_grade, s.sort_mortality_pct, s.ariscat_class, s.cfs_level, s.assessed_on, s.valid_until)),
          0::bigint, 'ptl.setting_risk_score scores every assessment as ptl.risk_score does');
SELECT is((SELECT count(*) FROM listed l JOIN ptl.setting_need_at('2025-03-31') n USING (entry_id)
           WHERE n.needs IS DISTINCT FROM l.needs),
          0::bigint, 'ptl.setting_need_at gives every listed patient the needs the rules written in plain SQL give');

-- Theatre proposals.
CREATE TEMP TABLE p AS
SELECT pr.entry_id, t.site_code, t.day_case_only, l.needs
FROM ptl.theatre_proposal pr
JOIN ptl.theatre_session s USING (session_id)
JOIN ptl.theatre t USING (theatre_code)
JOIN listed l USING (entry_id)
WHERE pr.status = 'proposed';
SELECT cmp_ok((SELECT count(*) FROM p), '>', 30::bigint, 'the run proposes patients');
SELECT ok((SELECT count(DISTINCT site_code) FROM p p1 JOIN offers o USING (site_code) WHERE NOT 'critical_care' = ANY (o.caps)) >= 2,
          'proposals go to sites without critical care too');
SELECT is((SELECT count(*) FROM p JOIN offers o USING (site_code)
           WHERE NOT p.needs <@ CASE WHEN p.day_case_only THEN array_remove(o.caps, 'inpatient_beds') ELSE o.caps END),
          0::bigint, 'no proposal puts a patient in a theatre whose site does not offer what their risk needs');
SELECT cmp_ok((SELECT count(*) FROM ptl.theatre_proposal_outcome
               WHERE run_id = (SELECT max(run_id) FROM ptl.theatre_proposal_run) AND reason = 'risk_needs_unmet'),
              '>', 20::bigint, 'patients whose needs no session meets are told so (risk_needs_unmet)');
SELECT is((SELECT count(*) FROM ptl.theatre_proposal_outcome o JOIN listed l USING (entry_id) JOIN offers f USING (site_code)
           WHERE o.run_id = (SELECT max(run_id) FROM ptl.theatre_proposal_run) AND o.reason = 'risk_needs_unmet'
             AND l.needs <@ f.caps),
          0::bigint, 'risk_needs_unmet only where the patient''s site does not offer what their risk needs');

-- Mutual aid suggestions, both modes.
CREATE TEMP TABLE sug AS
SELECT m.*, w.entry_id
FROM unnest(ARRAY['greedy', 'optimal']) mode, ptl.mutual_aid_suggestions(mode) m
LEFT JOIN ptl.ptl l ON l.pathway_id = m.pathway_id AND l.waiting_list_entry_id IS NOT NULL
LEFT JOIN ptl.waiting_list_entry w ON w.entry_id = l.waiting_list_entry_id;
SELECT cmp_ok((SELECT count(*) FROM sug s JOIN offers o USING (site_code)
               WHERE s.reason = 'SUGGESTED' AND NOT 'critical_care' = ANY (o.caps)), '>', 0::bigint,
              'mutual aid suggests slots at sites without critical care');
SELECT is((SELECT count(*) FROM sug s JOIN offers o USING (site_code) JOIN listed l USING (entry_id)
           WHERE s.reason = 'SUGGESTED' AND NOT l.needs <@ o.caps),
          0::bigint, 'no mutual aid suggestion sends a patient to a site that does not offer what their risk needs');
SELECT cmp_ok((SELECT count(*) FROM sug WHERE reason = 'RISK_NEEDS_UNMET'), '>', 0::bigint,
              'patients whose needs no offered site meets are told so (RISK_NEEDS_UNMET)');
-- RISK_NEEDS_UNMET: some slot passed the procedure group and the
-- capability, but no such slot's site offers what the risk needs (unless
-- it went to another patient: feasible_slots_taken counts those).
SELECT is((SELECT count(*)
           FROM sug s
           JOIN listed l USING (entry_id)
           JOIN ptl.mutual_aid_candidate c USING (pathway_id)
           WHERE s.reason = 'RISK_NEEDS_UNMET' AND s.feasible_slots_taken = 0
             AND EXISTS (SELECT FROM ptl.mutual_aid_free_slot q JOIN offers o USING (site_code)
                         WHERE q.treatment_function = c.treatment_function AND q.offering_org <> c.provider_org
                           AND (q.accepted_groups IS NULL OR left(c.procedure_code, 3) = ANY (q.accepted_groups))
                           AND ptl.capability_rank(q.capability) >= ptl.capability_rank(c.required_capability)
                           AND l.needs <@ o.caps)),
          0::bigint, 'RISK_NEEDS_UNMET only when every slot the patient could otherwise use is at a site short of their needs');

SELECT * FROM finish();
ROLLBACK;
