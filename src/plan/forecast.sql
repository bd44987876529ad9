-- ---------------------------------------------------------------------------
-- plan/forecast: each list's size and long waiters over the coming weeks,
-- with what-if changes to capacity and demand.
--
-- The model is a stock of patients by whole weeks waited (bins 0..104, the
-- last holding everyone at 104 weeks or more), rolled forward a week at a
-- time, as NHSRtt (NHS BNSSG's R package) does by months: each week every bin loses
-- its share of clock stops (the removal rate the list showed recently),
-- what is left ages a week, and the week's new clock starts enter bin 0.
-- A what-if scales the removal rates (more or fewer clock stops of the same
-- shape), adds clock stops given to the longest waiters first (e.g. an
-- insourcing contract or mutual aid), or scales demand.  Counts are expected
-- values, so they are fractional.
-- ---------------------------------------------------------------------------

-- The model itself, on a stock and rates the caller gives: stock[i] and
-- removal_rate[i] are for weeks waited i - 1 (i = 1..105).  Row 0 is the
-- stock as given.  over_N counts bins N and above: whole weeks waited >= N.
CREATE FUNCTION ptl.forecast_queue(stock float8[], removal_rate float8[], weekly_demand float8,
                                   weeks int DEFAULT 52, capacity_change float8 DEFAULT 0,
                                   extra_weekly_capacity float8 DEFAULT 0, demand_change float8 DEFAULT 0)
RETURNS TABLE (week int, list_size float8, clock_stops float8, over_18_weeks float8, over_52_weeks float8,
               over_65_weeks float8, over_78_weeks float8, over_104_weeks float8)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    s float8[] := stock;
    removed float8[];
    stops float8;
    extra float8;
    take float8;
    b int;
BEGIN
    IF array_length(stock, 1) IS DISTINCT FROM 105 OR array_length(removal_rate, 1) IS DISTINCT FROM 105
       OR array_lower(stock, 1) <> 1 OR array_lower(removal_rate, 1) <> 1 THEN
        RAISE EXCEPTION 'stock and removal_rate must each have 105 elements (weeks waited 0 to 104+), not % and %',
            coalesce(array_length(stock, 1), 0), coalesce(array_length(removal_rate, 1), 0)
            USING ERRCODE = 'array_subscript_error';
    END IF;
    IF array_position(stock, NULL) IS NOT NULL OR array_position(removal_rate, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'stock and removal_rate must not contain NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    FOR b IN 1 .. 105 LOOP
        IF stock[b] < 0 OR removal_rate[b] < 0 OR removal_rate[b] > 1 THEN
            RAISE EXCEPTION 'invalid forecast input at weeks waited %: stock %, removal rate %', b - 1, stock[b], removal_rate[b]
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Stocks are zero or more; a removal rate is a weekly share between 0 and 1.';
        END IF;
    END LOOP;
    IF weeks < 0 OR weekly_demand < 0 OR capacity_change < -1 OR demand_change < -1 OR extra_weekly_capacity < 0 THEN
        RAISE EXCEPTION 'invalid forecast settings: weeks %, demand %, capacity change %, extra capacity %, demand change %',
            weeks, weekly_demand, capacity_change, extra_weekly_capacity, demand_change
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Changes are fractions (0.1 is 10% more, -1 is none at all); the rest are zero or more.';
    END IF;

    week := 0;
    clock_stops := 0;
    LOOP
        list_size := 0; over_18_weeks := 0; over_52_weeks := 0; over_65_weeks := 0;
        over_78_weeks := 0; over_104_weeks := 0;
        FOR b IN 1 .. 105 LOOP
            list_size := list_size + s[b];
            IF b > 18 THEN over_18_weeks := over_18_weeks + s[b]; END IF;
            IF b > 52 THEN over_52_weeks := over_52_weeks + s[b]; END IF;
            IF b > 65 THEN over_65_weeks := over_65_weeks + s[b]; END IF;
            IF b > 78 THEN over_78_weeks := over_78_weeks + s[b]; END IF;
            IF b > 104 THEN over_104_weeks := over_104_weeks + s[b]; END IF;
        END LOOP;
        RETURN NEXT;
        EXIT WHEN week >= weeks;

        -- this week's clock stops: the usual share of each bin, then the
        -- extra capacity from the longest waiters down
        removed := array_fill(0::float8, ARRAY[105]);
        stops := 0;
        FOR b IN 1 .. 105 LOOP
            removed[b] := least(s[b], s[b] * removal_rate[b] * (1 + capacity_change));
            stops := stops + removed[b];
        END LOOP;
        extra := extra_weekly_capacity;
        b := 105;
        WHILE extra > 0 AND b >= 1 LOOP
            take := least(extra, s[b] - removed[b]);
            removed[b] := removed[b] + take;
            stops := stops + take;
            extra := extra - take;
            b := b - 1;
        END LOOP;
        -- everyone left waits a week longer; 104+ stays in the last bin
        s[105] := s[105] - removed[105] + s[104] - removed[104];
        FOR b IN REVERSE 104 .. 2 LOOP
            s[b] := s[b - 1] - removed[b - 1];
        END LOOP;
        s[1] := weekly_demand * (1 + demand_change);
        week := week + 1;
        clock_stops := stops;
    END LOOP;
END $$;
COMMENT ON FUNCTION ptl.forecast_queue(float8[], float8[], float8, int, float8, float8, float8) IS
    'Rolls a waiting list forward week by week: stock and weekly removal rates by whole weeks waited (105 bins, 0 to 104+), new clock starts per week, and what-if changes to capacity (a fraction), extra weekly clock stops for the longest waiters, and demand (a fraction)';

-- The model for every list, calibrated on the data: the stock at the census
-- and, for each 4-week band of weeks waited, the share of its patients that
-- stopped per week over the last calibration_weeks weeks.  The exposure is
-- approximated by the band's stock at the census plus half the patients who
-- left it in the window (they were there part of the time).
CREATE FUNCTION ptl.forecast_waiting_list(census date DEFAULT NULL, weeks int DEFAULT 52,
                                          capacity_change float8 DEFAULT 0, extra_weekly_capacity float8 DEFAULT 0,
                                          demand_change float8 DEFAULT 0, calibration_weeks int DEFAULT 12,
                                          provider_org text DEFAULT NULL, treatment_function text DEFAULT NULL)
RETURNS TABLE (provider_org text, treatment_function text, week int, week_ending date, list_size float8,
               clock_stops float8, over_18_weeks float8, over_52_weeks float8, over_65_weeks float8,
               over_78_weeks float8, over_104_weeks float8, weekly_demand float8)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
WITH c AS (SELECT coalesce(forecast_waiting_list.census, (SELECT max(r.census) FROM ptl.rtt_pathway r)) AS census),
periods AS (
    SELECT p.provider_org, p.treatment_function, r.outcome, r.clock_start, r.clock_stop,
           least(r.days_waited / 7, 104) AS bin
    FROM ptl.rtt_period r
    JOIN ptl.rtt_pathway rp ON rp.pathway_id = r.pathway_id AND rp.responsible
    JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
    CROSS JOIN c
    WHERE (forecast_waiting_list.provider_org IS NULL OR p.provider_org = forecast_waiting_list.provider_org)
      AND (forecast_waiting_list.treatment_function IS NULL OR p.treatment_function = forecast_waiting_list.treatment_function)
      AND r.outcome <> 'nullified' AND r.days_waited IS NOT NULL
      -- the list as the PTL counts it (docs/measures.md): duplicates left out
      AND NOT EXISTS (SELECT 1 FROM ptl.pathway_duplicate d WHERE d.pathway_id = r.pathway_id)
      AND (r.outcome = 'incomplete'
           OR r.clock_stop > c.census - 7 * forecast_waiting_list.calibration_weeks AND r.clock_stop <= c.census
           OR r.clock_start > c.census - 7 * forecast_waiting_list.calibration_weeks AND r.clock_start <= c.census)),
counts AS (
    SELECT x.provider_org, x.treatment_function, x.bin,
           count(*) FILTER (WHERE x.outcome = 'incomplete') AS stock,
           count(*) FILTER (WHERE x.outcome <> 'incomplete'
                              AND x.clock_stop > c.census - 7 * forecast_waiting_list.calibration_weeks) AS stops,
           count(*) FILTER (WHERE x.clock_start > c.census - 7 * forecast_waiting_list.calibration_weeks) AS starts
    FROM periods x CROSS JOIN c
    GROUP BY x.provider_org, x.treatment_function, x.bin),
bins AS (
    SELECT k.provider_org, k.treatment_function, b.bin, coalesce(n.stock, 0) AS stock,
           sum(coalesce(n.stops, 0)) OVER band AS band_stops,
           sum(coalesce(n.stock, 0)) OVER band AS band_stock,
           sum(coalesce(n.starts, 0)) OVER (PARTITION BY k.provider_org, k.treatment_function) AS starts
    FROM (SELECT DISTINCT x.provider_org, x.treatment_function FROM counts x) k
    CROSS JOIN generate_series(0, 104) b(bin)
    LEFT JOIN counts n ON n.provider_org = k.provider_org AND n.treatment_function = k.treatment_function
                      AND n.bin = b.bin
    WINDOW band AS (PARTITION BY k.provider_org, k.treatment_function, b.bin / 4)),
lists AS (
    SELECT b.provider_org, b.treatment_function,
           array_agg(b.stock::float8 ORDER BY b.bin) AS stock,
           array_agg(CASE WHEN b.band_stops = 0 THEN 0
                          ELSE least(1, b.band_stops::float8 / forecast_waiting_list.calibration_weeks
                                        / (b.band_stock + b.band_stops / 2.0)) END ORDER BY b.bin) AS rate,
           max(b.starts)::float8 / forecast_waiting_list.calibration_weeks AS demand
    FROM bins b
    GROUP BY b.provider_org, b.treatment_function)
SELECT l.provider_org, l.treatment_function, f.week, c.census + 7 * f.week, f.list_size, f.clock_stops,
       f.over_18_weeks, f.over_52_weeks, f.over_65_weeks, f.over_78_weeks, f.over_104_weeks, l.demand
FROM lists l CROSS JOIN c,
     ptl.forecast_queue(l.stock, l.rate, l.demand, forecast_waiting_list.weeks,
                        forecast_waiting_list.capacity_change, forecast_waiting_list.extra_weekly_capacity,
                        forecast_waiting_list.demand_change) f
ORDER BY 1, 2, 3
$$;
COMMENT ON FUNCTION ptl.forecast_waiting_list(date, int, float8, float8, float8, int, text, text) IS
    'Forecast of each provider''s treatment-function list (or one, by provider_org and treatment_function) for the next `weeks` weeks from the census (default the last refresh), calibrated on the last calibration_weeks weeks of clock starts and stops, with what-if capacity_change (fraction), extra_weekly_capacity (clock stops for the longest waiters) and demand_change (fraction)';
