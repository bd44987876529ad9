-- Outpatients (scripts/demo): the follow-up backlog outside RTT, PIFU, the
-- outpatient measures of the largest specialties, and the independent
-- sector beside the NHS providers.
\pset footer off
\set census '''2025-03-31'''

\echo
\echo '==> the non-RTT follow-up backlog by specialty (ptl.follow_up_list): waiting, past their LCAD, and the high-risk ones past it'
SELECT treatment_function AS tfc, count(*) AS waiting, count(*) FILTER (WHERE overdue) AS "past LCAD",
       count(*) FILTER (WHERE weeks_past_lcad >= 12) AS "12+ weeks past",
       count(*) FILTER (WHERE overdue AND clinical_risk = 'high') AS "high risk past",
       count(*) FILTER (WHERE overdue AND next_booked IS NULL) AS "past, not booked",
       max(weeks_past_lcad) AS "most weeks past"
FROM ptl.follow_up_list
GROUP BY 1 ORDER BY 3 DESC, 2 DESC LIMIT 8;

\echo '==> two weeks of clinic proposals (ptl.propose_clinic_slots): the free slots filled from the non-admitted and follow-up lists in their order'
\echo '    (the demo adds new-patient clinics for the six longest non-admitted lists, a session each weekday with'
\echo '     six new and two either slots; the generated clinics are not each one consultant''s, so any clinician'
\echo '     of the specialty may see a patient: ptl.clinic_setting)'
INSERT INTO ptl.clinic_setting (book_named_clinician) VALUES (false);
CREATE TEMP TABLE demo_clinic AS
SELECT 'DEMO-' || l.site_code || '-' || l.treatment_function AS clinic_code, l.site_code, l.treatment_function
FROM ptl.ptl l WHERE l.order_group = 'non_admitted' AND l.site_code IS NOT NULL
GROUP BY 2, 3 ORDER BY count(*) DESC, 2, 3 LIMIT 6;
INSERT INTO ptl.clinic (clinic_code, site_code, treatment_function, name)
SELECT clinic_code, site_code, treatment_function, 'New patients (demo)' FROM demo_clinic;
INSERT INTO ptl.clinic_session (clinic_code, session_date, slots)
SELECT c.clinic_code, d::date, 8 FROM demo_clinic c, generate_series(date :census + 7, date :census + 14, '1 day') d
WHERE extract(isodow FROM d) < 6;
SELECT count(ptl.set_clinic_template(s.session_id, '{new,new,new,new,new,new,either,either}',
                                     '{20,20,20,20,20,20,15,15}', '{t,t,t,t,t,t,t,f}', NULL)) AS "demo sessions"
FROM ptl.clinic_session s JOIN demo_clinic c USING (clinic_code);
CALL ptl.propose_clinic_slots(2, :census);
SELECT o.list, count(*) FILTER (WHERE o.proposed) AS proposed, count(*) FILTER (WHERE NOT o.proposed) AS "not proposed"
FROM ptl.clinic_proposal_outcome o WHERE o.run_id = (SELECT max(run_id) FROM ptl.clinic_proposal_run)
GROUP BY 1 ORDER BY 1;
\echo '    the first proposals, in list order (a booking clerk accepts or rejects each: ptl.accept_clinic_proposal)'
SELECT p.list, p.list_rank AS "rank", c.clinic_code AS clinic, p.session_date AS date, p.need
FROM ptl.clinic_proposal p JOIN ptl.clinic_session c USING (session_id)
WHERE p.run_id = (SELECT max(run_id) FROM ptl.clinic_proposal_run)
ORDER BY p.list_rank LIMIT 6;
\echo '    why the others were not proposed (ptl.clinic_proposal_outcome.reason), with one example each'
SELECT DISTINCT ON (o.reason) o.reason, count(*) OVER (PARTITION BY o.reason) AS waits, o.detail AS example
FROM ptl.clinic_proposal_outcome o
WHERE o.run_id = (SELECT max(run_id) FROM ptl.clinic_proposal_run) AND NOT o.proposed
ORDER BY o.reason, o.list_rank;
\echo '    a clerk accepts the first proposal: ptl books the slot, and the PAS (the system of record) gets an outbound action'
SELECT ptl.accept_clinic_proposal(p.proposal_id, 'booking clerk (demo)') AS appointment
FROM ptl.clinic_proposal p WHERE p.run_id = (SELECT max(run_id) FROM ptl.clinic_proposal_run)
ORDER BY p.list_rank LIMIT 1;
SELECT a.provider_org AS provider, a.action_kind, a.state, a.action_date, a.detail
FROM ptl.outbound_action a WHERE a.source_kind = 'clinic_proposal' ORDER BY a.action_id;

\echo '==> a validation campaign on the follow-ups 12 weeks or more past their LCAD (ptl.start_follow_up_validation_campaign)'
SELECT ptl.start_follow_up_validation_campaign('Follow-ups 12+ weeks past LCAD', 84) AS campaign \gset
SELECT c.campaign_id, c.name, c.list, c.cohort FROM ptl.validation_campaign_summary c WHERE c.campaign_id = :campaign;

\echo '==> outpatient measures, last four weeks, the four largest specialties (ptl.outpatient_measures)'
WITH four AS (
    SELECT m.treatment_function, sum(m.first_attended) AS first_att, sum(m.follow_up_attended) AS fu_att,
           sum(m.first_dna) AS first_dna, sum(m.follow_up_dna) AS fu_dna, sum(m.hospital_cancelled) AS hosp,
           sum(m.patient_cancelled) AS pat, sum(m.moved_to_pifu) AS pifu, sum(m.slots) AS slots,
           sum(m.slots_used) AS used, sum(m.advice_answered) AS answered, sum(m.advice_diverted) AS diverted,
           sum(m.first_attended + m.follow_up_attended + m.first_dna + m.follow_up_dna + m.hospital_cancelled
               + m.patient_cancelled) AS due
    FROM ptl.outpatient_measures m
    WHERE m.grouping = 'specialty' AND m.week_starting > date :census - 28
    GROUP BY 1
)
SELECT treatment_function AS tfc, first_att AS "first", fu_att AS "follow-up",
       round(fu_att::numeric / nullif(first_att, 0), 2) AS "fu per first",
       round(100.0 * first_dna / nullif(first_att + first_dna, 0), 1) AS "first DNA %",
       round(100.0 * fu_dna / nullif(fu_att + fu_dna, 0), 1) AS "fu DNA %",
       round(100.0 * hosp / nullif(due, 0), 1) AS "hosp cancel %",
       round(100.0 * pat / nullif(due, 0), 1) AS "patient cancel %",
       round(100.0 * pifu / nullif(first_att + fu_att, 0), 1) AS "PIFU %",
       round(100.0 * used / nullif(slots, 0), 1) AS "slots used %",
       round(100.0 * diverted / nullif(answered, 0), 1) AS "A&G diverted %"
FROM four ORDER BY first_att + fu_att DESC LIMIT 4;

\echo '==> PIFU per specialty (ptl.pifu_summary), the largest'
SELECT treatment_function AS tfc, sum(moved_to_pifu) AS "moved to PIFU", sum(on_pifu_now) AS "on PIFU now",
       sum(initiated) AS initiated, sum(windows_ended) AS "windows ended",
       sum(discharged_at_window_end) AS "discharged at end",
       round(100.0 * sum(initiated) / nullif(sum(moved_to_pifu), 0), 1) AS "initiated %"
FROM ptl.pifu_summary(:census) GROUP BY 1 ORDER BY 2 DESC LIMIT 5;

\echo '==> the independent sector (the demo marks one provider so): activity share and displacement, last three months, largest specialties'
SELECT month, treatment_function AS tfc, nhs_activity AS nhs, is_activity AS "independent", is_share_pct AS "IS share %",
       nhs_change AS "NHS 3m change", is_change AS "IS 3m change", displacement
FROM ptl.independent_sector_displacement
WHERE month > date :census - 90
  AND treatment_function IN (SELECT treatment_function FROM ptl.provider_type_activity
                             GROUP BY 1 ORDER BY sum(activity) DESC LIMIT 3)
ORDER BY tfc, month;
