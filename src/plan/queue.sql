-- ---------------------------------------------------------------------------
-- plan/queue: waiting-list queue formulas and per-list pressures.
--
-- The formulas are NHSRwaitinglist's (NHS-R Community, MIT),
-- from Fong et al. 2022, "Understanding Waiting Lists Pressures" (medRxiv,
-- doi 10.1101/2022.08.23.22279117).  Units are the caller's: demand and capacity per week with waits in
-- weeks, or per day with waits in days, but never mixed (the package's own
-- wl_stats mixes days and weeks in its pressure; ptl does not).  Each
-- function refuses an argument outside its domain with 22023.
-- ---------------------------------------------------------------------------

CREATE FUNCTION ptl_internal.queue_check(name text, value float8, allow_zero boolean) RETURNS void
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    IF value < 0 OR (value = 0 AND NOT allow_zero) OR value = 'NaN' OR value = 'Infinity' THEN
        RAISE EXCEPTION 'invalid % for a waiting-list formula: %', name, value
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = CASE WHEN allow_zero THEN 'It must be a finite number, zero or more.'
                              ELSE 'It must be a finite number greater than zero.' END;
    END IF;
END $$;
COMMENT ON FUNCTION ptl_internal.queue_check(text, float8, boolean) IS
    'Raises 22023 naming the argument when a queue formula''s input is negative, zero (where not allowed) or not finite';

-- Fact 2: load = demand / capacity; over 1 the list grows without bound.
CREATE FUNCTION ptl.queue_load(demand float8, capacity float8) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    PERFORM ptl_internal.queue_check('demand', demand, true);
    PERFORM ptl_internal.queue_check('capacity', capacity, false);
    RETURN demand / capacity;
END $$;
COMMENT ON FUNCTION ptl.queue_load(float8, float8) IS
    'Queue load: demand / capacity (NHSRwaitinglist calc_queue_load). Above 1 the list grows without bound; below 1 it is the share of time the list is not empty.';

-- Fact 4: a mean wait of target/factor keeps exp(-factor) of patients past
-- the target when waits are exponential (factor 4: 1.8%; 6: 0.25%).
CREATE FUNCTION ptl.target_mean_wait(target_wait float8, factor float8 DEFAULT 4) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    PERFORM ptl_internal.queue_check('target_wait', target_wait, false);
    PERFORM ptl_internal.queue_check('factor', factor, false);
    RETURN target_wait / factor;
END $$;
COMMENT ON FUNCTION ptl.target_mean_wait(float8, float8) IS
    'Mean wait that meets a target wait: target_wait / factor (factor 4 leaves about 1.8% past the target, 6 about 0.25%)';

-- Little's law with the target mean wait.
CREATE FUNCTION ptl.target_queue_size(demand float8, target_wait float8, factor float8 DEFAULT 4) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    PERFORM ptl_internal.queue_check('demand', demand, true);
    RETURN demand * ptl.target_mean_wait(target_wait, factor);
END $$;
COMMENT ON FUNCTION ptl.target_queue_size(float8, float8, float8) IS
    'List size that meets a target wait: demand x target_wait / factor (Little''s law). A list over twice this needs relief capacity.';

-- Capacity that brings the list to its target size in time_to_target.  With
-- num_referrals and cv_demand, demand is first inflated for its
-- variability when 2 d cv / sqrt(n) < 1, as the package does (and, as the
-- package does, left alone otherwise).
CREATE FUNCTION ptl.relief_capacity(demand float8, queue_size float8, target_queue_size float8,
                                    time_to_target float8 DEFAULT 26, num_referrals float8 DEFAULT 0,
                                    cv_demand float8 DEFAULT 0) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    spread float8;
BEGIN
    PERFORM ptl_internal.queue_check('demand', demand, true);
    PERFORM ptl_internal.queue_check('queue_size', queue_size, true);
    PERFORM ptl_internal.queue_check('target_queue_size', target_queue_size, true);
    PERFORM ptl_internal.queue_check('time_to_target', time_to_target, false);
    PERFORM ptl_internal.queue_check('num_referrals', num_referrals, true);
    PERFORM ptl_internal.queue_check('cv_demand', cv_demand, true);
    IF num_referrals > 0 THEN
        spread := 2 * demand * cv_demand / sqrt(num_referrals);
        IF spread < 1 THEN
            demand := demand / (1 - spread);
        END IF;
    END IF;
    RETURN demand + (queue_size - target_queue_size) / time_to_target;
END $$;
COMMENT ON FUNCTION ptl.relief_capacity(float8, float8, float8, float8, float8, float8) IS
    'Capacity per unit time that brings the list from queue_size to target_queue_size in time_to_target (default 26): demand + (queue_size - target) / time_to_target (NHSRwaitinglist calc_relief_capacity)';

-- Capacity that keeps a list at its target once there (Pollaczek-Khinchine
-- style).  The package's code halves the variability term; its header does
-- not.  ptl follows the code, whose tests give the published values.
CREATE FUNCTION ptl.target_capacity(demand float8, target_wait float8, factor float8 DEFAULT 4,
                                    cv_demand float8 DEFAULT 1, cv_capacity float8 DEFAULT 1) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    PERFORM ptl_internal.queue_check('demand', demand, true);
    PERFORM ptl_internal.queue_check('target_wait', target_wait, false);
    PERFORM ptl_internal.queue_check('factor', factor, false);
    PERFORM ptl_internal.queue_check('cv_demand', cv_demand, true);
    PERFORM ptl_internal.queue_check('cv_capacity', cv_capacity, true);
    RETURN demand + ((cv_demand ^ 2 + cv_capacity ^ 2) / 2) * (factor / target_wait);
END $$;
COMMENT ON FUNCTION ptl.target_capacity(float8, float8, float8, float8, float8) IS
    'Capacity that holds a list at its target wait: demand + ((cv_demand^2 + cv_capacity^2) / 2) x factor / target_wait (NHSRwaitinglist calc_target_capacity)';

-- Fact 9: pressure = 2 x mean wait / target; under 1 the list is on track.
CREATE FUNCTION ptl.waiting_list_pressure(mean_wait float8, target_wait float8) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    PERFORM ptl_internal.queue_check('mean_wait', mean_wait, true);
    PERFORM ptl_internal.queue_check('target_wait', target_wait, false);
    RETURN 2 * mean_wait / target_wait;
END $$;
COMMENT ON FUNCTION ptl.waiting_list_pressure(float8, float8) IS
    'Waiting-list pressure: 2 x mean wait / target wait (Fong et al. 2022). Under 1 the list meets its target; lists with different targets compare by it.';

-- The list an exponential wait shape allows at a performance standard
-- (NHSRwaitinglist plot_rtt_journey): lambda = -ln(1 - p) / weeks.
CREATE FUNCTION ptl.sustainable_list_size(weekly_clock_starts float8, share_within float8,
                                          standard_weeks float8 DEFAULT 18) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    PERFORM ptl_internal.queue_check('weekly_clock_starts', weekly_clock_starts, true);
    PERFORM ptl_internal.queue_check('standard_weeks', standard_weeks, false);
    IF NOT (share_within > 0 AND share_within < 1) THEN
        RAISE EXCEPTION 'invalid share_within for a waiting-list formula: %', share_within
            USING ERRCODE = 'invalid_parameter_value', HINT = 'It is a share strictly between 0 and 1, e.g. 0.92.';
    END IF;
    RETURN weekly_clock_starts * standard_weeks / -ln(1 - share_within);
END $$;
COMMENT ON FUNCTION ptl.sustainable_list_size(float8, float8, float8) IS
    'Largest list that meets "share_within of patients within standard_weeks" when waits are exponential: weekly clock starts / (-ln(1 - share) / weeks); at 92% and 18 weeks about 7.13 x weekly clock starts';

-- Each list's queue at a census: demand is the mean weekly clock starts and
-- capacity the mean weekly clock stops (every stop but a nullification,
-- validation removals included, as NHSRtt counts removals) over the last
-- `weeks` weeks before the census, on the records their provider reports.
-- Clock starts are dated by the period's start, so a transfer in adds to the
-- receiver's list but not to its demand (NHSRtt's "negative reneges").
-- The list itself is the PTL's, as every view reports it (docs/measures.md):
-- the census's snapshot of the stored PTL, so duplicates are left out and a
-- past census gives that census's list (none kept: no rows).  Starts and
-- stops leave duplicates out too.
CREATE FUNCTION ptl.waiting_list_queue(census date DEFAULT NULL, target_weeks float8 DEFAULT 18,
                                       weeks int DEFAULT 12, factor float8 DEFAULT 4)
RETURNS TABLE (provider_org text, treatment_function text, list_size bigint, mean_wait_weeks float8,
               weekly_demand float8, weekly_capacity float8, load float8, target_queue_size float8,
               queue_too_big boolean, relief_capacity float8, target_capacity float8, pressure float8,
               clearance_weeks float8, sustainable_list_size float8)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
WITH c AS (SELECT coalesce(waiting_list_queue.census, (SELECT max(r.census) FROM ptl.rtt_pathway r)) AS census),
listed AS (
    SELECT s.provider_org, s.treatment_function, count(*) AS list_size,
           avg(s.days_waited / 7.0::float8) AS mean_wait_weeks
    FROM ptl.census_snapshot s CROSS JOIN c
    WHERE s.census_date = c.census
    GROUP BY s.provider_org, s.treatment_function),
flows AS (
    SELECT p.provider_org, p.treatment_function,
           count(*) FILTER (WHERE r.outcome <> 'nullified' AND r.clock_start > c.census - 7 * waiting_list_queue.weeks
                              AND r.clock_start <= c.census)::float8 / waiting_list_queue.weeks AS demand,
           count(*) FILTER (WHERE r.outcome NOT IN ('nullified', 'incomplete')
                              AND r.clock_stop > c.census - 7 * waiting_list_queue.weeks
                              AND r.clock_stop <= c.census)::float8 / waiting_list_queue.weeks AS capacity
    FROM ptl.rtt_period r
    JOIN ptl.rtt_pathway rp ON rp.pathway_id = r.pathway_id AND rp.responsible
    JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
    CROSS JOIN c
    WHERE NOT EXISTS (SELECT 1 FROM ptl.pathway_duplicate d WHERE d.pathway_id = r.pathway_id)
    GROUP BY p.provider_org, p.treatment_function),
lists AS (
    SELECT coalesce(l.provider_org, f.provider_org) AS provider_org,
           coalesce(l.treatment_function, f.treatment_function) AS treatment_function,
           coalesce(l.list_size, 0) AS list_size, l.mean_wait_weeks,
           coalesce(f.demand, 0) AS demand, coalesce(f.capacity, 0) AS capacity
    FROM listed l
    FULL JOIN flows f ON f.provider_org = l.provider_org AND f.treatment_function = l.treatment_function)
SELECT l.provider_org, l.treatment_function, l.list_size, l.mean_wait_weeks, l.demand, l.capacity,
       CASE WHEN l.capacity > 0 THEN ptl.queue_load(l.demand, l.capacity) END,
       ptl.target_queue_size(l.demand, waiting_list_queue.target_weeks, waiting_list_queue.factor) AS tqs,
       l.list_size > 2 * ptl.target_queue_size(l.demand, waiting_list_queue.target_weeks, waiting_list_queue.factor),
       ptl.relief_capacity(l.demand, l.list_size,
                           ptl.target_queue_size(l.demand, waiting_list_queue.target_weeks, waiting_list_queue.factor)),
       ptl.target_capacity(l.demand, waiting_list_queue.target_weeks, waiting_list_queue.factor),
       ptl.waiting_list_pressure(coalesce(l.mean_wait_weeks, 0), waiting_list_queue.target_weeks),
       CASE WHEN l.capacity > 0 THEN l.list_size / l.capacity END,
       ptl.sustainable_list_size(l.demand, 0.92, 18)
FROM lists l
WHERE (l.list_size > 0 OR l.demand > 0)
  -- a census with no snapshot kept has no list to report
  AND EXISTS (SELECT 1 FROM listed)
ORDER BY l.provider_org, l.treatment_function
$$;
COMMENT ON FUNCTION ptl.waiting_list_queue(date, float8, int, float8) IS
    'Each provider''s treatment-function list as a queue at a census (default the last refresh): demand and capacity per week over the last `weeks` weeks, load, target size, relief and target capacity, pressure against target_weeks, clearance time of the whole list (list / weekly clock stops; ptl.journey_bottleneck''s is one stage''s queue / its exits) and the list the 92% standard allows. The list is the PTL''s at that census (its snapshot: duplicates left out); no rows for a census with no snapshot kept';
