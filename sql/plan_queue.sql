-- Waiting-list queue formulas (NHS-R Community's NHSRwaitinglist) with the
-- package's own test vectors, and the weekly forecast model on hand-built
-- stocks.
SET extra_float_digits = 0;

-- calc_queue_load(30, 27) = 1.11111111; (35,27) (30,25) (52,42) = 1.2962963, 1.2, 1.23809524
SELECT round(ptl.queue_load(30, 27)::numeric, 8) AS load,
       array_agg(round(ptl.queue_load(d, c)::numeric, 8) ORDER BY i) AS loads
FROM unnest(ARRAY[35, 30, 52], ARRAY[27, 25, 42]) WITH ORDINALITY v(d, c, i);
-- calc_target_mean_wait(52, 4) = 13; (35,4) (30,4) (52,6) = 8.75, 7.5, 8.6666667
SELECT ptl.target_mean_wait(52) AS mean_wait,
       array_agg(round(ptl.target_mean_wait(t, f)::numeric, 7) ORDER BY i) AS mean_waits
FROM unnest(ARRAY[35, 30, 52], ARRAY[4, 4, 6]) WITH ORDINALITY v(t, f, i);
-- calc_target_queue_size(30, 52) / (30, 50) / (30, 50, 6) = 390 / 375 / 250
SELECT ptl.target_queue_size(30, 52), ptl.target_queue_size(30, 50), ptl.target_queue_size(30, 50, 6);
-- calc_relief_capacity(30, 1200, 390, 26) = 61.153846; vectors 61.153846, 53, 45
SELECT round(ptl.relief_capacity(30, 1200, 390, 26)::numeric, 6) AS relief,
       array_agg(round(ptl.relief_capacity(d, q, t, w)::numeric, 6) ORDER BY i) AS reliefs
FROM unnest(ARRAY[30, 33, 35], ARRAY[1200, 800, 250], ARRAY[390, 200, 100], ARRAY[26, 30, 15])
     WITH ORDINALITY v(d, q, t, w, i);
-- demand inflated for its variability: 0.5 / (1 - 2 x 0.5 x 1 / 10) = 0.5556;
-- relief from 1,200 to 390 in 26 weeks = 31.7094 (computed)
SELECT round(ptl.relief_capacity(0.5, 1200, 390, 26, num_referrals => 100, cv_demand => 1)::numeric, 4) AS relief_inflated;
-- ... and left alone, as the package does, when 2 d cv / sqrt(n) >= 1
SELECT round(ptl.relief_capacity(30, 1200, 390, 26, num_referrals => 100, cv_demand => 1)::numeric, 6) AS relief_not_inflated;
-- calc_target_capacity(30, 52, 3, 1.1, 1.2) = 30.076442; vectors 30.0914423, 42.0567692, 35.0425;
-- (4, 52) = 4.0769 (computed)
SELECT round(ptl.target_capacity(30, 52, 3, 1.1, 1.2)::numeric, 6) AS target_capacity,
       round(ptl.target_capacity(4, 52)::numeric, 4) AS target_capacity_defaults,
       array_agg(round(ptl.target_capacity(d, t, f, a, b)::numeric, 7) ORDER BY i) AS target_capacities
FROM unnest(ARRAY[30, 42, 35], ARRAY[52, 65, 50], ARRAY[3, 2, 1], ARRAY[1.1, 1.2, 1.3], ARRAY[1.4, 1.5, 1.6])
     WITH ORDINALITY v(d, t, f, a, b, i);
-- calc_waiting_list_pressure(63, 52) = 2.42307692; vectors 2.42307692, 3.5, 2.2;
-- the P2 list of the paper (mean 24, target 4) = 12
SELECT round(ptl.waiting_list_pressure(63, 52)::numeric, 8) AS pressure,
       ptl.waiting_list_pressure(24, 4) AS pressure_p2,
       array_agg(round(ptl.waiting_list_pressure(m, t)::numeric, 8) ORDER BY i) AS pressures
FROM unnest(ARRAY[63, 42, 55], ARRAY[52, 24, 50]) WITH ORDINALITY v(m, t, i);
-- RTT journey at 100 clock starts a week: 92% in 18 weeks allows 712.67,
-- 50% allows 2,596.85 (the package's own tests)
SELECT round(ptl.sustainable_list_size(100, 0.92)::numeric, 2) AS at_92,
       round(ptl.sustainable_list_size(100, 0.5)::numeric, 2) AS at_50;
-- Bad input is refused, naming the argument.
SELECT ptl.queue_load(30, 0);
SELECT ptl.target_queue_size(-1, 52);
SELECT ptl.sustainable_list_size(100, 1);
-- NULL in, NULL out.
SELECT ptl.waiting_list_pressure(NULL, 52) IS NULL AS strict;

-- The forecast model.  No removals: everyone ages a week each week and 10
-- join each week; the 100 at 50 weeks are over 52 weeks from week 3.
SELECT week, list_size, clock_stops, over_18_weeks, over_52_weeks, over_104_weeks
FROM ptl.forecast_queue((SELECT array_agg(CASE WHEN b = 50 THEN 100 ELSE 0 END::float8 ORDER BY b)
                         FROM generate_series(0, 104) b),
                        array_fill(0::float8, ARRAY[105]), 10, weeks => 4);
-- Steady state: 20 a week join, half of every bin leaves each week; the
-- list settles at 20 + 10 + 5 + ... = 40 with 20 stops a week.
SELECT week, round(list_size::numeric, 4) AS list_size, round(clock_stops::numeric, 4) AS clock_stops
FROM ptl.forecast_queue(array_fill(0::float8, ARRAY[105]), array_fill(0.5::float8, ARRAY[105]), 20, weeks => 30)
WHERE week IN (0, 1, 2, 30);
-- What-if: 10% more clock stops of the same shape, or 3 extra a week for the
-- longest waiters (the 104+ bin empties first), or 50% more demand.
WITH start AS (SELECT array_agg(CASE WHEN b IN (60, 104) THEN 10 ELSE 0 END::float8 ORDER BY b) AS s
               FROM generate_series(0, 104) b)
SELECT 'capacity +10%' AS what_if, week, round(list_size::numeric, 4), round(over_104_weeks::numeric, 4)
FROM start, ptl.forecast_queue(s, array_fill(0.1::float8, ARRAY[105]), 0, 1, capacity_change => 0.1)
UNION ALL
SELECT 'extra 3 a week', week, round(list_size::numeric, 4), round(over_104_weeks::numeric, 4)
FROM start, ptl.forecast_queue(s, array_fill(0.1::float8, ARRAY[105]), 0, 1, extra_weekly_capacity => 3)
UNION ALL
SELECT 'demand +50%', week, round(list_size::numeric, 4), round(over_104_weeks::numeric, 4)
FROM start, ptl.forecast_queue(s, array_fill(0.1::float8, ARRAY[105]), 4, 1, demand_change => 0.5)
ORDER BY 1, 2;
-- Inputs of the wrong shape or out of range are refused.
SELECT * FROM ptl.forecast_queue('{1,2}', '{0,0}', 1);
SELECT * FROM ptl.forecast_queue(array_fill(0::float8, ARRAY[105]), array_fill(2::float8, ARRAY[105]), 1);
SELECT * FROM ptl.forecast_queue(array_fill(0::float8, ARRAY[105]), array_fill(0::float8, ARRAY[105]), 1,
                                 capacity_change => -2);
