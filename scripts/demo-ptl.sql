-- The PTL after the refresh (scripts/demo).
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

\echo '==> validation: issues per rule (all providers)'
SELECT rule_id AS rule, severity, sum(issues) AS issues, sum(pathways) AS pathways, title
FROM ptl.validation_summary GROUP BY rule_id, severity, title ORDER BY rule_id;

\echo '==> the March 2025 RTT return: totals per part (C_999) and NHS England''s checks'
SELECT provider_org AS provider, part, sum(pathways) AS pathways
FROM ptl.rtt_return('2025-03-31') WHERE line = 'C_999' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT check_id, provider_org AS provider, detail
FROM ptl.rtt_return_checks('2025-03-31') WHERE NOT passed;
\echo '    (checks not listed passed)'
