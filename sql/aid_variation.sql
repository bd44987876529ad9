-- Variation in waits between providers (docs/ics.md, "Variation") and
-- the weekly monitoring series, on hand-built census snapshots.
BEGIN;
-- WE-47: waits in weeks; A = [2,10,20,30,45,52,60,70], B = [1,3,5,8,12,15,19],
-- C = [4,6,9,11,14], treatment function 110, census 2025-03-02 (a Sunday).
INSERT INTO ptl.census_snapshot (census_date, pathway_id, period_no, provider_org, treatment_function,
                                 rtt_line, referral_priority, clock_start, days_waited, has_dta)
SELECT '2025-03-02', row_number() OVER (), 1, provider, '110', '110', 'routine',
       date '2025-03-02' - 7 * weeks, 7 * weeks, false
FROM (VALUES ('AAA', ARRAY[2,10,20,30,45,52,60,70]), ('BBB', ARRAY[1,3,5,8,12,15,19]),
             ('CCC', ARRAY[4,6,9,11,14])) v(provider, waits),
     unnest(waits) weeks;
-- an unknown clock start counts in the list size and in no wait measure
-- (docs/measures.md): C lists 6, its waits are the 5 above
INSERT INTO ptl.census_snapshot (census_date, pathway_id, period_no, provider_org, treatment_function,
                                 rtt_line, referral_priority, clock_start, days_waited, has_dta)
VALUES ('2025-03-02', 99, 1, 'CCC', '110', '110', 'routine', NULL, NULL, false);

-- WE-47 per provider: A 8, 37.5, 70, 36.125, 6 (75%), 2, 169; B 7, 8, 19, 9,
-- 1 (14.29%), 0, 1; C 5 (listed: 6), 9, 14, 8.8, 0, 0, 0.  52 weeks is not over 52.
SELECT provider_org, list_size, median_weeks, p92_weeks, round(mean_weeks::numeric, 3) AS mean_weeks,
       over_18_weeks, pct_over_18_weeks, over_52_weeks, round(excess_patient_weeks, 6) AS excess_pw
FROM ptl.provider_waits WHERE census = '2025-03-02' ORDER BY provider_org;

-- WE-47 between providers: range 29.5, ratio 4.6875, cv 0.75285, gap 56,
-- between_share 0.44027, gini 0.33781; system n 20 (listed: 21), median 11.5, p92 60, 7 over 18.
SELECT providers, list_size, median_weeks, p92_weeks, over_18_weeks, range_median, ratio_median,
       round(cv_median::numeric, 5) AS cv_median, gap_p92,
       round(between_share::numeric, 5) AS between_share, round(gini_mean::numeric, 5) AS gini_mean
FROM ptl.wait_variation('2025-03-02');

-- n_min leaves out small providers: with n_min 6 only A and B count.
SELECT providers, list_size, range_median, gap_p92 FROM ptl.wait_variation('2025-03-02', n_min => 6);

-- A zero median makes the ratio undefined (NULL), never a division error.
INSERT INTO ptl.census_snapshot (census_date, pathway_id, period_no, provider_org, treatment_function,
                                 rtt_line, referral_priority, clock_start, days_waited, has_dta)
VALUES ('2025-03-02', 200, 1, 'DDD', '110', '110', 'routine', '2025-03-01', 1, false);
SELECT providers, range_median, ratio_median FROM ptl.wait_variation('2025-03-02');
DELETE FROM ptl.census_snapshot WHERE provider_org = 'DDD';

-- Weekly monitoring: a Tuesday census and a Friday census in the next week;
-- the Friday one is the week's.  Everyone has waited 11 days longer; two of
-- A's longest waiters were treated and one new patient joined B.
INSERT INTO ptl.census_snapshot (census_date, pathway_id, period_no, provider_org, treatment_function,
                                 rtt_line, referral_priority, clock_start, days_waited, has_dta)
SELECT d, pathway_id, 1, provider_org, treatment_function, rtt_line, referral_priority, clock_start,
       days_waited + (d - date '2025-03-02'), false
FROM ptl.census_snapshot, (VALUES (date '2025-03-04'), (date '2025-03-07')) c(d)
WHERE census_date = '2025-03-02' AND days_waited IS NOT NULL AND days_waited < 7 * 60;
INSERT INTO ptl.census_snapshot (census_date, pathway_id, period_no, provider_org, treatment_function,
                                 rtt_line, referral_priority, clock_start, days_waited, has_dta)
VALUES ('2025-03-07', 300, 1, 'BBB', '110', '110', 'routine', '2025-03-06', 1, false);
SELECT week_ending, census, provider_org, list_size, median_weeks, over_52_weeks, weeks_since_previous,
       list_size_change, round(median_weeks_change::numeric, 4) AS median_change, over_52_weeks_change
FROM ptl.wait_monitoring ORDER BY provider_org, week_ending;
-- ... and the between-provider measures week by week.
SELECT week_ending, census, providers, list_size, range_median, round(range_median_change::numeric, 4) AS range_change,
       round(between_share::numeric, 5) AS between_share, weeks_since_previous
FROM ptl.wait_variation_trend ORDER BY week_ending;
ROLLBACK;
