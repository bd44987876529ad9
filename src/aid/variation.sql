-- ---------------------------------------------------------------------------
-- aid/variation: how waits differ between the ICS's providers, per treatment
-- function and census, from the census snapshots (docs/ics.md,
-- "Variation"), and the weekly monitoring series built on them.
--
-- Waits are the snapshot's days waited (the clock's days, so pauses are
-- already excluded); weeks are days / 7, not rounded.  Periods with an
-- unknown clock start have no wait: the list size counts them, every wait
-- measure leaves them out (docs/measures.md, as ptl.ptl_headline).
-- ---------------------------------------------------------------------------

-- Per provider (docs/ics.md, "Variation").  The 92nd
-- percentile is the nearest rank (the value at rank ceil(0.92 n)), which is
-- what percentile_disc computes; NHS England's published percentiles are
-- interpolated within weekly bands (docs/measures.md), so they can differ by
-- up to a week.
CREATE VIEW ptl.provider_waits AS
SELECT s.census_date AS census, s.treatment_function, s.provider_org,
       count(*) AS list_size,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY s.days_waited / 7.0::float8) AS median_weeks,
       percentile_disc(0.92) WITHIN GROUP (ORDER BY s.days_waited / 7.0::float8) AS p92_weeks,
       avg(s.days_waited / 7.0::float8) AS mean_weeks,
       count(*) FILTER (WHERE ptl.rtt_over_weeks(s.days_waited, 18)) AS over_18_weeks,
       round(100.0 * count(*) FILTER (WHERE ptl.rtt_over_weeks(s.days_waited, 18)) / nullif(count(s.days_waited), 0), 2) AS pct_over_18_weeks,
       count(*) FILTER (WHERE ptl.rtt_over_weeks(s.days_waited, 52)) AS over_52_weeks,
       count(*) FILTER (WHERE ptl.rtt_over_weeks(s.days_waited, 65)) AS over_65_weeks,
       count(*) FILTER (WHERE ptl.rtt_over_weeks(s.days_waited, 78)) AS over_78_weeks,
       count(*) FILTER (WHERE ptl.rtt_over_weeks(s.days_waited, 104)) AS over_104_weeks,
       coalesce(sum(s.days_waited / 7.0 - 18) FILTER (WHERE ptl.rtt_over_weeks(s.days_waited, 18)), 0) AS excess_patient_weeks,
       count(*) FILTER (WHERE s.days_waited IS NULL) AS unknown_clock_start,
       s.census_date
FROM ptl.census_snapshot s
GROUP BY s.census_date, s.treatment_function, s.provider_org;
COMMENT ON VIEW ptl.provider_waits IS
    'Each provider''s waits per treatment function at each census (census snapshots; docs/ics.md): the figures a patient, referrer or ICS compares';
COMMENT ON COLUMN ptl.provider_waits.census IS 'Census date of the snapshot';
COMMENT ON COLUMN ptl.provider_waits.census_date IS
    'Deprecated since 0.4.0 and removed in 0.5.0: the same as census (the interface names the date a figure is as at census)';
COMMENT ON COLUMN ptl.provider_waits.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.provider_waits.provider_org IS 'Reporting provider';
COMMENT ON COLUMN ptl.provider_waits.list_size IS 'Incomplete pathways on the PTL at that census, an unknown clock start included (the waits are over known starts)';
COMMENT ON COLUMN ptl.provider_waits.unknown_clock_start IS 'Of which with an unknown clock start (no wait)';
COMMENT ON COLUMN ptl.provider_waits.median_weeks IS 'Median wait in weeks (even count: mean of the two middle waits)';
COMMENT ON COLUMN ptl.provider_waits.p92_weeks IS '92nd percentile wait in weeks, nearest rank (the wait at rank ceil(0.92 n))';
COMMENT ON COLUMN ptl.provider_waits.mean_weeks IS 'Mean wait in weeks';
COMMENT ON COLUMN ptl.provider_waits.over_18_weeks IS 'Waiting more than 126 days';
COMMENT ON COLUMN ptl.provider_waits.pct_over_18_weeks IS 'Percentage waiting more than 126 days, of the pathways with a known clock start';
COMMENT ON COLUMN ptl.provider_waits.over_52_weeks IS 'Waiting more than 364 days';
COMMENT ON COLUMN ptl.provider_waits.over_65_weeks IS 'Waiting more than 455 days';
COMMENT ON COLUMN ptl.provider_waits.over_78_weeks IS 'Waiting more than 546 days';
COMMENT ON COLUMN ptl.provider_waits.over_104_weeks IS 'Waiting more than 728 days';
COMMENT ON COLUMN ptl.provider_waits.excess_patient_weeks IS 'Patient-weeks beyond 18 weeks: the sum of max(0, weeks - 18)';

-- Between providers (docs/ics.md, "Variation"), over the
-- providers with at least n_min waiting.  between_share is eta squared: the
-- patient-weighted variance of provider means over the variance of all
-- waits.  gini_mean uses the sorted form of the double sum,
-- sum_i sum_j |m_i - m_j| = 2 sum_i (2i - k - 1) m_(i).
CREATE FUNCTION ptl.wait_variation(census date DEFAULT NULL, n_min int DEFAULT 1)
RETURNS TABLE (census_date date, treatment_function text, providers int, list_size bigint,
               median_weeks float8, p92_weeks float8, over_18_weeks bigint,
               range_median float8, ratio_median float8, cv_median float8, gap_p92 float8,
               between_share float8, gini_mean float8)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
WITH pw AS MATERIALIZED (
    -- known: the waits behind the provider's mean, its weight
    SELECT w.census AS census_date, w.treatment_function, w.provider_org, w.list_size - w.unknown_clock_start AS known,
           w.median_weeks, w.p92_weeks::float8 AS p92_weeks, w.mean_weeks,
           row_number() OVER (PARTITION BY w.census, w.treatment_function
                              ORDER BY w.mean_weeks, w.provider_org) AS mean_rank,
           count(*) OVER (PARTITION BY w.census, w.treatment_function) AS k
    FROM ptl.provider_waits w
    WHERE (wait_variation.census IS NULL OR w.census = wait_variation.census)
      AND w.list_size - w.unknown_clock_start >= greatest(wait_variation.n_min, 1)),
between_providers AS (
    SELECT pw.census_date, pw.treatment_function,
           count(*)::int AS k,
           max(pw.median_weeks) - min(pw.median_weeks) AS range_median,
           max(pw.median_weeks) / nullif(min(pw.median_weeks), 0) AS ratio_median,
           stddev_pop(pw.median_weeks) / nullif(avg(pw.median_weeks), 0) AS cv_median,
           max(pw.p92_weeks) - min(pw.p92_weeks) AS gap_p92,
           sum(pw.known * pw.mean_weeks) / sum(pw.known) AS grand_mean,
           sum(pw.known * pw.mean_weeks ^ 2) / sum(pw.known) AS mean_of_squares_of_means,
           sum((2 * pw.mean_rank - pw.k - 1) * pw.mean_weeks) AS gini_numerator,
           avg(pw.mean_weeks) AS mean_of_means
    FROM pw
    GROUP BY pw.census_date, pw.treatment_function),
patients AS (
    SELECT s.census_date, s.treatment_function,
           count(*) AS n,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY s.days_waited / 7.0::float8) AS median_weeks,
           percentile_disc(0.92) WITHIN GROUP (ORDER BY s.days_waited / 7.0::float8) AS p92_weeks,
           count(*) FILTER (WHERE ptl.rtt_over_weeks(s.days_waited, 18)) AS over_18,
           var_pop(s.days_waited / 7.0::float8) AS total_variance
    FROM ptl.census_snapshot s
    JOIN pw ON pw.census_date = s.census_date AND pw.treatment_function = s.treatment_function
           AND pw.provider_org = s.provider_org
    GROUP BY s.census_date, s.treatment_function)
SELECT b.census_date, b.treatment_function, b.k, p.n, p.median_weeks, p.p92_weeks::float8, p.over_18,
       b.range_median, b.ratio_median, b.cv_median, b.gap_p92,
       (b.mean_of_squares_of_means - b.grand_mean ^ 2) / nullif(p.total_variance, 0),
       b.gini_numerator / nullif(b.k ^ 2 * b.mean_of_means, 0)
FROM between_providers b
JOIN patients p USING (census_date, treatment_function)
ORDER BY 1, 2
$$;
COMMENT ON FUNCTION ptl.wait_variation(date, int) IS
    'Variation in waits between providers per treatment function at a census (NULL: every census), over providers with at least n_min waiting (docs/ics.md)';

-- Weekly monitoring: the last census of each week (weeks end on Sunday, as
-- NHS England's weekly returns do), per treatment function and provider,
-- with the change since the week before.  A week with no refresh has no
-- row, and the change is then measured against the last week that had one
-- (weeks_since_previous says how far back that was).
CREATE VIEW ptl.wait_monitoring AS
WITH by_week AS (
    SELECT w.*, (date_trunc('week', w.census) + interval '6 days')::date AS week_ending,
           dense_rank() OVER (PARTITION BY date_trunc('week', w.census) ORDER BY w.census DESC) AS latest
    FROM ptl.provider_waits w),
weekly AS (SELECT * FROM by_week WHERE latest = 1)
SELECT w.week_ending, w.census, w.treatment_function, w.provider_org,
       w.list_size, w.median_weeks, w.p92_weeks, w.over_18_weeks, w.pct_over_18_weeks,
       w.over_52_weeks, w.over_65_weeks, w.over_78_weeks, w.over_104_weeks,
       (w.week_ending - lag(w.week_ending) OVER t) / 7 AS weeks_since_previous,
       w.list_size - lag(w.list_size) OVER t AS list_size_change,
       w.median_weeks - lag(w.median_weeks) OVER t AS median_weeks_change,
       w.p92_weeks - lag(w.p92_weeks) OVER t AS p92_weeks_change,
       w.over_18_weeks - lag(w.over_18_weeks) OVER t AS over_18_weeks_change,
       w.over_52_weeks - lag(w.over_52_weeks) OVER t AS over_52_weeks_change,
       w.over_65_weeks - lag(w.over_65_weeks) OVER t AS over_65_weeks_change,
       w.over_78_weeks - lag(w.over_78_weeks) OVER t AS over_78_weeks_change,
       w.census AS census_date
FROM weekly w
WINDOW t AS (PARTITION BY w.treatment_function, w.provider_org ORDER BY w.week_ending);
COMMENT ON VIEW ptl.wait_monitoring IS
    'Weekly monitoring of waits per treatment function and provider: the last census of each week (ending Sunday) and the change since the previous week with a snapshot';
COMMENT ON COLUMN ptl.wait_monitoring.week_ending IS 'Sunday ending the week';
COMMENT ON COLUMN ptl.wait_monitoring.census IS 'The last census in that week';
COMMENT ON COLUMN ptl.wait_monitoring.census_date IS
    'Deprecated since 0.4.0 and removed in 0.5.0: the same as census (the interface names the date a figure is as at census)';
COMMENT ON COLUMN ptl.wait_monitoring.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.wait_monitoring.provider_org IS 'Reporting provider';
COMMENT ON COLUMN ptl.wait_monitoring.list_size IS 'Incomplete pathways on the PTL at that census, an unknown clock start included';
COMMENT ON COLUMN ptl.wait_monitoring.median_weeks IS 'Median wait in weeks';
COMMENT ON COLUMN ptl.wait_monitoring.p92_weeks IS '92nd percentile wait in weeks (nearest rank)';
COMMENT ON COLUMN ptl.wait_monitoring.over_18_weeks IS 'Waiting more than 126 days';
COMMENT ON COLUMN ptl.wait_monitoring.pct_over_18_weeks IS 'Percentage waiting more than 126 days';
COMMENT ON COLUMN ptl.wait_monitoring.over_52_weeks IS 'Waiting more than 364 days';
COMMENT ON COLUMN ptl.wait_monitoring.over_65_weeks IS 'Waiting more than 455 days';
COMMENT ON COLUMN ptl.wait_monitoring.over_78_weeks IS 'Waiting more than 546 days';
COMMENT ON COLUMN ptl.wait_monitoring.over_104_weeks IS 'Waiting more than 728 days';
COMMENT ON COLUMN ptl.wait_monitoring.weeks_since_previous IS 'Weeks back to the previous row (1 when the week before had a snapshot; NULL for the first)';
COMMENT ON COLUMN ptl.wait_monitoring.list_size_change IS 'Change in list size since the previous row';
COMMENT ON COLUMN ptl.wait_monitoring.median_weeks_change IS 'Change in the median wait (weeks)';
COMMENT ON COLUMN ptl.wait_monitoring.p92_weeks_change IS 'Change in the 92nd percentile wait (weeks)';
COMMENT ON COLUMN ptl.wait_monitoring.over_18_weeks_change IS 'Change in the number over 18 weeks';
COMMENT ON COLUMN ptl.wait_monitoring.over_52_weeks_change IS 'Change in the number over 52 weeks';
COMMENT ON COLUMN ptl.wait_monitoring.over_65_weeks_change IS 'Change in the number over 65 weeks';
COMMENT ON COLUMN ptl.wait_monitoring.over_78_weeks_change IS 'Change in the number over 78 weeks';

-- The between-provider measures week by week (the last census of each
-- week), with the change since the previous week that had a snapshot: is
-- the ICS evening out its waits?
CREATE VIEW ptl.wait_variation_trend AS
WITH weekly AS (
    SELECT v.*, (date_trunc('week', v.census_date) + interval '6 days')::date AS week_ending,
           dense_rank() OVER (PARTITION BY date_trunc('week', v.census_date) ORDER BY v.census_date DESC) AS latest
    FROM ptl.wait_variation() v)
SELECT w.week_ending, w.census_date AS census, w.treatment_function, w.providers, w.list_size,
       w.range_median, w.cv_median, w.gap_p92, w.between_share, w.gini_mean,
       (w.week_ending - lag(w.week_ending) OVER t) / 7 AS weeks_since_previous,
       w.range_median - lag(w.range_median) OVER t AS range_median_change,
       w.cv_median - lag(w.cv_median) OVER t AS cv_median_change,
       w.gap_p92 - lag(w.gap_p92) OVER t AS gap_p92_change,
       w.between_share - lag(w.between_share) OVER t AS between_share_change,
       w.census_date
FROM weekly w
WHERE w.latest = 1
WINDOW t AS (PARTITION BY w.treatment_function ORDER BY w.week_ending);
COMMENT ON VIEW ptl.wait_variation_trend IS
    'Between-provider variation per treatment function week by week (last census of each week ending Sunday), with the change since the previous week with a snapshot';
COMMENT ON COLUMN ptl.wait_variation_trend.week_ending IS 'Sunday ending the week';
COMMENT ON COLUMN ptl.wait_variation_trend.census IS 'The last census in that week';
COMMENT ON COLUMN ptl.wait_variation_trend.census_date IS
    'Deprecated since 0.4.0 and removed in 0.5.0: the same as census (the interface names the date a figure is as at census)';
COMMENT ON COLUMN ptl.wait_variation_trend.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.wait_variation_trend.providers IS 'Providers with patients waiting';
COMMENT ON COLUMN ptl.wait_variation_trend.list_size IS 'Patients waiting at those providers, an unknown clock start included';
COMMENT ON COLUMN ptl.wait_variation_trend.range_median IS 'Highest less lowest provider median (weeks)';
COMMENT ON COLUMN ptl.wait_variation_trend.cv_median IS 'Coefficient of variation of provider medians';
COMMENT ON COLUMN ptl.wait_variation_trend.gap_p92 IS 'Highest less lowest provider 92nd percentile (weeks)';
COMMENT ON COLUMN ptl.wait_variation_trend.between_share IS 'Share of the variance of waits between providers (eta squared)';
COMMENT ON COLUMN ptl.wait_variation_trend.gini_mean IS 'Gini coefficient of provider mean waits';
COMMENT ON COLUMN ptl.wait_variation_trend.weeks_since_previous IS 'Weeks back to the previous row';
COMMENT ON COLUMN ptl.wait_variation_trend.range_median_change IS 'Change in the range of medians';
COMMENT ON COLUMN ptl.wait_variation_trend.cv_median_change IS 'Change in the CV of medians';
COMMENT ON COLUMN ptl.wait_variation_trend.gap_p92_change IS 'Change in the 92nd percentile gap';
COMMENT ON COLUMN ptl.wait_variation_trend.between_share_change IS 'Change in the between-provider share';

-- History for monitoring where none was kept: snapshots rebuilt from the
-- events for past census dates (every step_days days from from_date to
-- to_date) that have none.  The clock is the bulk engine's as at each date
-- (ptl.rtt_periods_at), on the events known now, so a late-keyed event
-- counts from its own date rather than from when it was keyed: a rebuilt
-- week can differ from what the providers reported then.  Clinical
-- priority, target date and list position are not rebuilt (NULL): they
-- depend on reviews and orders of the day.  Returns the rows written.
CREATE FUNCTION ptl.backfill_census_snapshots(from_date date, to_date date, step_days int DEFAULT 7) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    d date;
    n bigint;
    total bigint := 0;
BEGIN
    IF from_date IS NULL OR to_date IS NULL OR step_days IS NULL OR step_days < 1 OR to_date < from_date THEN
        RAISE EXCEPTION 'invalid backfill range: % to % every % days', from_date, to_date, step_days
            USING ERRCODE = 'invalid_parameter_value', HINT = 'from_date <= to_date, and a step of one day or more.';
    END IF;
    FOR d IN SELECT g::date FROM generate_series(from_date, to_date, make_interval(days => step_days)) g LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM ptl.census_snapshot s WHERE s.census_date = d);
        PERFORM ptl.census_snapshot_partition(d);
        INSERT INTO ptl.census_snapshot (census_date, pathway_id, period_no, provider_org, site_code,
                                         treatment_function, rtt_line, commissioner_code, referral_priority,
                                         clock_start, days_waited, week_band, has_dta, triage_priority, consultant_code)
        SELECT d, r.pathway_id, r.period_no, p.provider_org, p.site_code, p.treatment_function, tf.rtt_line,
               p.commissioner_code, p.referral_priority, r.clock_start, r.days_waited, r.week_band, r.has_dta,
               p.triage_priority, p.consultant_code
        FROM ptl.rtt_periods_at(d) r
        JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
        JOIN ptl.treatment_function_in_use tf ON tf.tfc = p.treatment_function
        WHERE r.outcome = 'incomplete' AND r.responsible
          -- the list as the PTL counts it (docs/measures.md): duplicates left out
          AND NOT EXISTS (SELECT 1 FROM ptl.pathway_duplicate x WHERE x.pathway_id = r.pathway_id);
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total + n;
    END LOOP;
    RETURN total;
END $$;
COMMENT ON FUNCTION ptl.backfill_census_snapshots(date, date, int) IS
    'Rebuilds census snapshots from the events for past dates that have none (every step_days from from_date to to_date), for trends where no history was kept; clinical priority, target date and list position are left NULL, and triage priority and consultant are the pathway''s today; returns the rows written';
