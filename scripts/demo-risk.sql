-- Risk after the assessments are loaded (scripts/demo).
\pset footer off
\echo
\echo '==> risk cohorts per provider (latest assessment; stale = older than 12 weeks at the census)'
SELECT provider_org AS provider, cohort, count(*) AS patients, count(*) FILTER (WHERE assessment_stale) AS stale,
       round(avg(weeks_waited), 1) AS "mean RTT wk"
FROM ptl.risk_cohort GROUP BY 1, 2 ORDER BY 1, 2;

\echo '==> clinical harm review and priorities due for review'
SELECT reason, count(*) AS pathways
FROM (SELECT regexp_replace(unnest(reasons), ' by [0-9]+ days', '') AS reason FROM ptl.harm_review) r
GROUP BY 1 ORDER BY 2 DESC;
SELECT count(*) AS "priorities due for review", count(*) FILTER (WHERE clinical_priority IS NULL) AS "no priority"
FROM ptl.priority_review_due;
