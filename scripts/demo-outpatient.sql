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
