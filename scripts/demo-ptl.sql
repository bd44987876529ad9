-- The PTL after the first refresh (scripts/demo): what a manager looks at first.
\pset footer off
\echo
\echo '==> headline measures per provider (ICS total last)'
SELECT coalesce(provider_org, 'ICS') AS provider, list_size, pct_within_18_weeks AS "% <= 18 wk",
       median_weeks AS "median wk", p92_weeks AS "92nd pct wk", over_18_weeks AS ">18 wk",
       over_52_weeks AS ">52 wk", over_65_weeks AS ">65 wk", over_78_weeks AS ">78 wk", over_104_weeks AS ">104 wk"
FROM ptl.ptl_headline WHERE treatment_function IS NULL
ORDER BY provider_org NULLS LAST;

\echo '==> the five largest specialties of the ICS'
SELECT h.treatment_function AS tfc, t.name, sum(h.list_size) AS list_size,
       round(sum(h.list_size * h.pct_within_18_weeks) / sum(h.list_size), 1) AS "% <= 18 wk",
       sum(h.over_52_weeks) AS ">52 wk"
FROM ptl.ptl_headline h JOIN ptl.treatment_function t ON t.tfc = h.treatment_function
WHERE h.provider_org IS NOT NULL AND h.treatment_function IS NOT NULL
GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 5;

\echo '==> top of the list: the longest waits'
SELECT provider_org AS provider, ppid, treatment_function AS tfc, clock_start, days_waited AS days,
       weeks_waited AS weeks, breach_52_weeks_on AS "52 wk breach", has_dta AS dta,
       clinical_priority AS priority, next_booked_date AS "next booked", validation_issues AS issues
FROM ptl.ptl ORDER BY days_waited DESC, pathway_id LIMIT 10;

\echo '==> the ordered admitted list: top 3 of the five largest specialties at the largest provider'
\echo '    (P1a/P1b first, then P2-P4 by share of target waited, date listed, clock start)'
WITH biggest AS (SELECT provider_org FROM ptl.ptl WHERE waiting_list_entry_id IS NOT NULL
                 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1),
     specialties AS (SELECT l.treatment_function FROM ptl.ptl l JOIN biggest USING (provider_org)
                     WHERE l.waiting_list_entry_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 5)
SELECT l.provider_org AS provider, l.treatment_function AS tfc, l.list_position AS "#", l.ppid,
       l.clinical_priority AS priority, l.decision_to_admit AS listed, l.days_on_list AS "days listed",
       l.pct_target_elapsed AS "% of target", l.target_date AS "target date", l.weeks_waited AS "RTT wk"
FROM ptl.ptl l JOIN biggest USING (provider_org) JOIN specialties USING (treatment_function)
WHERE l.waiting_list_entry_id IS NOT NULL AND l.list_position <= 3
ORDER BY l.treatment_function, l.list_position;

\echo '==> the non-admitted list in order: top 5 of the largest specialty at the largest provider'
\echo '    (two-week wait, then urgent, then routine, each by share of its target waited; triage priority first)'
WITH biggest AS (SELECT provider_org, treatment_function FROM ptl.ptl WHERE order_group = 'non_admitted'
                 GROUP BY 1, 2 ORDER BY count(*) DESC, 1, 2 LIMIT 1)
SELECT l.provider_org AS provider, l.treatment_function AS tfc, l.list_position AS "#", l.ppid,
       l.referral_priority AS referral, l.triage_priority AS triage, l.clock_start, l.days_waited AS days,
       l.pct_target_elapsed AS "% of target", l.target_date AS "target date", l.consultant_code AS consultant
FROM ptl.ptl l JOIN biggest USING (provider_org, treatment_function)
WHERE l.order_group = 'non_admitted' AND l.list_position <= 5
ORDER BY l.list_position;

\echo '==> one consultant''s lists (ptl.consultant_list): the consultant with most patients, first 8 with actions due'
WITH busiest AS (SELECT consultant_code FROM ptl.consultant_list WHERE consultant_code IS NOT NULL
                 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1)
SELECT c.consultant_code AS consultant, c.list, c.treatment_function AS tfc, c.list_position AS "#",
       c.clinical_priority AS priority, coalesce(c.triage_priority, c.referral_priority) AS referral,
       c.weeks_waited AS weeks, c.tci_date AS tci, array_to_string(c.next_actions, '; ') AS "next actions"
FROM ptl.consultant_list c JOIN busiest USING (consultant_code)
WHERE cardinality(c.next_actions) > 0
ORDER BY c.list, c.treatment_function, c.list_position NULLS LAST LIMIT 8;

\echo '==> the admitted list by order group, and set-aside patients (P5, P6, suspended)'
SELECT order_group, count(*) AS pathways, count(*) FILTER (WHERE census >= target_date) AS "at or past target"
FROM ptl.ptl WHERE waiting_list_entry_id IS NOT NULL GROUP BY 1 ORDER BY 1;

\echo '==> validation: issues per rule (all providers)'
SELECT rule_id AS rule, severity, sum(issues) AS issues, sum(pathways) AS pathways, title
FROM ptl.validation_summary GROUP BY rule_id, severity, title ORDER BY rule_id;

\echo '==> the March 2025 RTT return: totals per part (C_999) and NHS England''s checks'
SELECT provider_org AS provider, part, sum(pathways) AS pathways
FROM ptl.rtt_return('2025-03-31') WHERE line = 'C_999' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT check_id, provider_org AS provider, detail
FROM ptl.rtt_return_checks('2025-03-31') WHERE NOT passed;
\echo '    (checks not listed passed)'
