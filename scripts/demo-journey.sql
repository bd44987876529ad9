-- Journey, beds and the weekly pack (scripts/demo): where patients are stuck,
-- what the planned admissions do to beds, the numbers behind the pack.
\pset footer off
\set census '''2025-03-31'''

\echo
\echo '==> where every open pathway is (ptl.journey): pathways per stage and provider, median weeks in the stage'
SELECT stage_label AS stage, provider_org AS provider, count(*) AS pathways,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY weeks_in_stage) AS "median weeks in stage",
       max(weeks_in_stage) AS "longest weeks in stage",
       percentile_disc(0.5) WITHIN GROUP (ORDER BY weeks_on_pathway) AS "median weeks on pathway"
FROM ptl.journey
GROUP BY stage_label, provider_org, queue
ORDER BY min((SELECT s.sort_order FROM ptl.journey_stage s WHERE s.label = stage_label)), provider_org;

\echo '==> last four weeks'' moves between stages, ICS-wide (ptl.journey_flow)'
SELECT coalesce(from_stage, '(new pathway)') AS "from", to_stage AS "to", sum(pathways) AS pathways
FROM ptl.journey_flow
WHERE week_starting > date :census - 28 AND week_starting <= date :census
GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 12;

\echo '==> bottlenecks: queues entered faster than they clear over the last 4 weeks, fastest growing (ptl.journey_bottleneck)'
SELECT provider_org AS provider, treatment_function AS tfc, stage_label AS stage, queue_now AS queue,
       queue_before AS "4 weeks ago", entered_per_week AS "in/week", exited_per_week AS "out/week",
       clearance_weeks AS "clearance weeks"
FROM ptl.journey_bottleneck WHERE bottleneck
ORDER BY growth_per_week DESC, queue_now DESC LIMIT 10;

\echo '==> lengths of stay behind the bed plan: the commonest procedures (ptl.length_of_stay, 80th percentile)'
SELECT key AS procedure, spells, nights_at_percentile AS "nights at p80", mean_nights AS "mean nights"
FROM ptl.length_of_stay(:census) WHERE level = 'procedure' ORDER BY spells DESC LIMIT 6;

\echo '==> planned elective beds, next two weeks, per site: booked and proposed admissions against the bed base (ptl.bed_occupancy)'
SELECT site_code AS site, sum(admissions) AS admissions, sum(day_cases) AS "day cases",
       max(expected_beds) AS "peak expected beds", max(planned_beds) AS "peak planned beds (p80)",
       min(bed_base) AS "smallest bed base", count(*) FILTER (WHERE over_base) AS "nights over base",
       min(day) FILTER (WHERE over_base) AS "first night over"
FROM ptl.bed_occupancy(:census, 14)
GROUP BY site_code ORDER BY site_code;
