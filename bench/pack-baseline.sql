-- The weekly pack's numbers as plain SQL over the same tables and functions,
-- read the same way (the snapshot date as a literal, so only its month is
-- read; each week's last census by an index probe), with nothing drawn: the
-- baseline of bench/pack.sh.  psql variables: census, provider ('' for the
-- ICS).
\set p 'nullif(:''provider'', '''')'
SET search_path = ptl, public;

-- the snapshot read, and the week before
SELECT max(census_date) AS snap FROM census_snapshot WHERE census_date <= :'census' \gset
SELECT max(census_date) AS before FROM census_snapshot WHERE census_date <= date :'snap' - 7 \gset

-- headline
SELECT count(*), count(*) FILTER (WHERE days_waited <= 126), percentile_cont(0.5) WITHIN GROUP (ORDER BY days_waited / 7.0),
       count(*) FILTER (WHERE days_waited > 364), count(*) FILTER (WHERE days_waited > 455),
       count(*) FILTER (WHERE days_waited > 546), count(*) FILTER (WHERE days_waited > 728)
FROM census_snapshot s
WHERE s.census_date = :'snap' AND s.days_waited IS NOT NULL AND (:p IS NULL OR s.provider_org = :p);
SELECT count(*), count(*) FILTER (WHERE days_waited > 364)
FROM census_snapshot s
WHERE s.census_date = :'before' AND s.days_waited IS NOT NULL AND (:p IS NULL OR s.provider_org = :p);

-- 1 waits by band and priority
SELECT least(days_waited / 28, 26) AS band,
       coalesce(clinical_priority::text, CASE WHEN has_dta THEN 'admitted, no priority' ELSE 'non-admitted' END), count(*)
FROM census_snapshot s
WHERE s.census_date = :'snap' AND s.days_waited IS NOT NULL AND (:p IS NULL OR s.provider_org = :p)
GROUP BY 1, 2;

-- 2 long waiters at the last census of each of 26 weeks
SELECT w.census_date, c.*
FROM (SELECT (SELECT max(census_date) FROM census_snapshot
              WHERE census_date >= date_trunc('week', date :'snap')::date - 7 * k
                AND census_date < date_trunc('week', date :'snap')::date - 7 * k + 7
                AND census_date <= :'snap') AS census_date
      FROM generate_series(0, 25) k) w
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE s.days_waited > 364), count(*) FILTER (WHERE s.days_waited > 455),
           count(*) FILTER (WHERE s.days_waited > 546), count(*) FILTER (WHERE s.days_waited > 728)
    FROM census_snapshot s
    WHERE s.census_date = w.census_date AND s.days_waited > 364 AND (:p IS NULL OR s.provider_org = :p)) c
WHERE w.census_date IS NOT NULL;

-- 3 provider variation
SELECT treatment_function, provider_org, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY days_waited / 7.0),
       percentile_disc(0.92) WITHIN GROUP (ORDER BY days_waited / 7.0), count(*) FILTER (WHERE days_waited > 126)
FROM census_snapshot s
WHERE s.census_date = :'snap' AND s.days_waited IS NOT NULL AND (:p IS NULL OR s.provider_org = :p)
GROUP BY 1, 2;

-- 4 bottlenecks
SELECT stage, sum(queue_now), sum(queue_before) FROM journey_bottlenecks(:'census')
WHERE :p IS NULL OR provider_org = :p GROUP BY 1;

-- 5 theatre utilisation
SELECT p.week_starting, p.site_code, p.capped_utilisation_pct, p.sessions, p.cases
FROM theatre_productivity p JOIN site si USING (site_code)
WHERE p.grouping = 'site' AND p.week_starting > date :'census' - 56 AND p.week_starting <= :'census'
  AND (:p IS NULL OR si.org_code = :p);

-- 6 beds
SELECT b.* FROM bed_occupancy(:'census') b JOIN site si USING (site_code) WHERE :p IS NULL OR si.org_code = :p;

-- 7 validation backlog
SELECT rule_id, provider_org, pathways FROM validation_summary WHERE :p IS NULL OR provider_org = :p;

-- 8 outpatients: follow-ups waiting with no RTT clock, and four weeks' measures
SELECT treatment_function, count(*), count(*) FILTER (WHERE days_past_lcad > 0), count(*) FILTER (WHERE days_past_lcad > 84)
FROM follow_up_backlog(:'census') WHERE :p IS NULL OR provider_org = :p GROUP BY 1;
SELECT c.treatment_function, count(*) FILTER (WHERE a.appointment_type = 'first' AND a.attendance = 'attended'),
       count(*) FILTER (WHERE a.appointment_type = 'follow_up' AND a.attendance = 'attended'),
       count(*) FILTER (WHERE a.attendance = 'dna'), count(*) FILTER (WHERE a.outcome = 'pifu')
FROM outpatient_appointment a JOIN clinic c USING (clinic_code) JOIN site si ON si.site_code = c.site_code
WHERE a.appointment_date BETWEEN date_trunc('week', date :'census')::date - 21 AND :'census' AND a.attendance <> 'booked'
  AND (:p IS NULL OR si.org_code = :p)
GROUP BY 1;

-- 9 the non-admitted list by referral priority (triage in place of the referral's), past target
SELECT coalesce(l.triage_priority, l.referral_priority) AS priority, count(*),
       count(*) FILTER (WHERE l.days_waited >= CASE coalesce(l.triage_priority, l.referral_priority)
                                                   WHEN 'two_week_wait' THEN rs.two_week_wait_target_days
                                                   WHEN 'urgent' THEN rs.urgent_referral_target_days
                                                   ELSE rs.routine_referral_target_days END),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY l.days_waited)
FROM census_snapshot l CROSS JOIN risk_setting_in_force() rs
WHERE l.census_date = :'snap' AND l.days_waited IS NOT NULL AND l.clinical_priority IS NULL AND NOT l.has_dta
  AND (:p IS NULL OR l.provider_org = :p)
GROUP BY 1;
