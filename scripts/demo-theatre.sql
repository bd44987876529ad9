-- Theatres (scripts/demo): last weeks' productivity, then the next six
-- weeks' lists proposed from the admitted waiting list.
\pset footer off
\set census '''2025-03-31'''

\echo
\echo '==> theatre productivity, last four weeks, per site (capped utilisation target 85%)'
SELECT site_code AS site, sum(sessions) AS lists, sum(sessions_without_operation) AS "lists, no op",
       round(sum(capped_utilisation_pct * planned_minutes) / nullif(sum(planned_minutes), 0), 1) AS "CTU %",
       round(sum(uncapped_utilisation_pct * planned_minutes) / nullif(sum(planned_minutes), 0), 1) AS "uncapped %",
       sum(late_starts) AS "late starts", sum(early_finishes) AS "early finishes",
       round(sum(mean_turnaround_minutes * cases) / nullif(sum(cases), 0), 1) AS "turnaround min",
       round(sum(cases) * 240.0 / nullif(sum(planned_minutes), 0), 2) AS "cases per 4 h",
       round(sum(day_case_rate_pct * cases) / nullif(sum(cases), 0), 1) AS "day case %",
       sum(cancelled_on_the_day) AS "cancelled on day"
FROM ptl.theatre_productivity
WHERE grouping = 'site' AND week_starting > date :census - 28
GROUP BY site_code ORDER BY site_code;

\echo '==> on-the-day cancellations, last eight weeks'
SELECT description AS reason, sum(on_the_day) AS "on the day", sum(last_minute_non_clinical) AS "non-clinical",
       sum(not_rebooked_within_28_days) AS "not rebooked in 28 days"
FROM ptl.theatre_cancellations GROUP BY 1 ORDER BY 2 DESC;

-- The next six weeks' booked minutes, kept to compare with the proposals.
CREATE TEMP TABLE before_proposals AS
SELECT site_code, date_trunc('week', session_date)::date AS week, sum(planned_minutes) AS planned,
       sum(minutes_booked) AS booked
FROM ptl.theatre_session_load
WHERE session_date BETWEEN date :census + 1 AND date :census + 42
GROUP BY 1, 2;

\echo '==> CALL ptl.propose_theatre_lists(census + 1, census + 42)'
\timing on
CALL ptl.propose_theatre_lists(date :census + 1, date :census + 42);
\timing off

\echo '==> the run'
SELECT from_date, to_date, sessions, session_minutes, minutes_booked_before, cases_considered,
       cases_proposed, minutes_proposed
FROM ptl.theatre_proposal_run ORDER BY run_id DESC LIMIT 1;

\echo '==> planned utilisation per site and week: before, and with the proposals accepted'
\echo '    (the first week is mostly booked already: proposals need 7 days'' notice)'
SELECT b.site_code AS site, b.week, b.planned AS "planned min",
       round(100.0 * b.booked / b.planned, 1) AS "before %",
       round(100.0 * sum(l.minutes_booked + l.minutes_proposed) / b.planned, 1) AS "after %"
FROM before_proposals b
JOIN ptl.theatre_session_load l ON l.site_code = b.site_code AND date_trunc('week', l.session_date)::date = b.week
WHERE l.session_date BETWEEN date :census + 1 AND date :census + 42
GROUP BY b.site_code, b.week, b.planned, b.booked
ORDER BY 1, 2;

\echo '==> why the other listed patients were not proposed'
SELECT reason, count(*) AS patients, min(detail) AS example
FROM ptl.theatre_proposal_outcome
WHERE run_id = (SELECT max(run_id) FROM ptl.theatre_proposal_run) AND NOT proposed
GROUP BY reason ORDER BY 2 DESC;

\echo '==> the right setting by risk: cases booked in the next six weeks, and the share of the low-risk ones'
\echo '    in high-capability theatres (critical care on site), with the proposals accepted'
BEGIN;
SELECT count(ptl.accept_theatre_proposal(p.proposal_id)) AS "proposals accepted (undone after)"
FROM ptl.theatre_proposal p WHERE p.status = 'proposed';
SELECT coalesce(site_code, 'ICS') AS site, bool_or(high_capability) AS "critical care",
       sum(cases) AS cases, sum(unassessed_cases) AS unassessed, sum(low_risk_cases) AS "low risk",
       sum(low_risk_high_capability_cases) AS "low risk, high capability",
       round(100.0 * sum(low_risk_high_capability_cases) / nullif(sum(low_risk_cases), 0), 1) AS "share %"
FROM ptl.theatre_low_risk_share
WHERE week_start BETWEEN date :census + 1 AND date :census + 42
GROUP BY site_code ORDER BY site_code NULLS LAST;
ROLLBACK;

\echo '==> one proposed list: the session of the first full week with most minutes proposed'
WITH s AS (SELECT l.session_id FROM ptl.theatre_session_load l
           WHERE l.session_date BETWEEN date :census + 8 AND date :census + 14 AND l.minutes_proposed > 0
           ORDER BY l.minutes_proposed DESC, l.session_id LIMIT 1)
SELECT ts.session_date AS date, ts.theatre_code AS theatre, ts.consultant_code AS consultant,
       p.start_offset_minutes AS "+min", w.procedure_code AS procedure, p.planned_minutes AS minutes,
       p.list_position AS "list #", w.clinical_priority AS priority, l.pct_target_elapsed AS "% of target"
FROM s JOIN ptl.theatre_proposal p ON p.session_id = s.session_id AND p.status = 'proposed'
JOIN ptl.theatre_session ts ON ts.session_id = p.session_id
JOIN ptl.waiting_list_entry w ON w.entry_id = p.entry_id
JOIN ptl.ptl l ON l.waiting_list_entry_id = p.entry_id
ORDER BY p.start_offset_minutes;
