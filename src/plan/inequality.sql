-- ---------------------------------------------------------------------------
-- plan/inequality: do some groups of patients wait longer, sit lower on the
-- list, or miss more appointments?  By deprivation decile (IMD of the
-- patient's LSOA) and by ethnic group, per provider and treatment function
-- with provider and ICS totals.
--
-- Small numbers are suppressed, as NHS statistics are (ptl.suppressed_cells):
-- a group of fewer than suppress_below (default 5) people or appointments
-- shows NULL for every figure, and a count of events (DNAs, waits over 18
-- or 52 weeks) from 1 to suppress_below - 1 shows NULL, with any rate made
-- from it; zero is shown, as it identifies no one.  Because totals are shown
-- too, a single hidden cell could be found by subtraction, so where only
-- one cell of a breakdown (one dimension, one provider and function) is
-- hidden the next smallest is hidden as well (secondary suppression).
-- suppressed is true when any figure of the row is hidden.
-- ---------------------------------------------------------------------------

-- Which cells of one breakdown to hide: primary where count < suppress_below
-- (and above zero when zero_is_safe), or already hidden; then, when exactly
-- one cell of two or more is hidden, also the smallest other (the first on
-- a tie), so that no hidden cell is the total less the shown ones.
CREATE FUNCTION ptl.suppressed_cells(counts bigint[], suppress_below int, zero_is_safe boolean,
                                     already_hidden boolean[] DEFAULT NULL) RETURNS boolean[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    hidden boolean[] := '{}';
    n int := coalesce(cardinality(counts), 0);
    smallest int;
    i int;
BEGIN
    IF suppress_below IS NULL OR suppress_below < 1 THEN
        RAISE EXCEPTION 'invalid suppression threshold: %', suppress_below
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Counts below the threshold are hidden; it is 1 (hide nothing) or more, usually 5.';
    END IF;
    FOR i IN 1 .. n LOOP
        hidden := hidden || (coalesce(already_hidden[i], false)
                             OR (counts[i] < suppress_below AND (NOT zero_is_safe OR counts[i] > 0)));
    END LOOP;
    IF n > 1 AND (SELECT count(*) FROM unnest(hidden) h WHERE h) = 1 THEN
        FOR i IN 1 .. n LOOP
            IF NOT hidden[i] AND (smallest IS NULL OR counts[i] < counts[smallest]) THEN
                smallest := i;
            END IF;
        END LOOP;
        IF smallest IS NOT NULL THEN
            hidden[smallest] := true;
        END IF;
    END IF;
    RETURN hidden;
END $$;
COMMENT ON FUNCTION ptl.suppressed_cells(bigint[], int, boolean, boolean[]) IS
    'Small-number suppression of one breakdown''s counts: hides counts below suppress_below (zero shown when zero_is_safe) and cells already hidden, then, if exactly one of two or more is hidden, the smallest other too (secondary suppression)';

-- NHS Data Dictionary ETHNIC CATEGORY codes grouped as the 2001 census's
-- five groups, with not stated (Z) and not known (99 or missing) apart.
CREATE FUNCTION ptl.ethnic_group(ethnic_category text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN ethnic_category IN ('A', 'B', 'C') THEN 'White'
            WHEN ethnic_category IN ('D', 'E', 'F', 'G') THEN 'Mixed'
            WHEN ethnic_category IN ('H', 'J', 'K', 'L') THEN 'Asian or Asian British'
            WHEN ethnic_category IN ('M', 'N', 'P') THEN 'Black or Black British'
            WHEN ethnic_category IN ('R', 'S') THEN 'Other ethnic group'
            WHEN ethnic_category = 'Z' THEN 'Not stated'
            ELSE 'Not known' END
$$;
COMMENT ON FUNCTION ptl.ethnic_group(text) IS
    'Ethnic group of an ETHNIC CATEGORY code: White (A-C), Mixed (D-G), Asian or Asian British (H-L), Black or Black British (M-P), Other ethnic group (R-S), Not stated (Z), Not known (99 or missing)';

-- The groups a patient record falls in, one row per dimension.
CREATE VIEW ptl.patient_equity_group AS
SELECT pa.patient_id, 'imd_decile'::text AS dimension,
       coalesce(d.imd_decile::text, 'Not known') AS group_value,
       d.imd_decile::int AS decile
FROM ptl.patient pa LEFT JOIN ptl.area_deprivation d ON d.lsoa_code = pa.lsoa_code
UNION ALL
SELECT pa.patient_id, 'ethnic_group', ptl.ethnic_group(pa.ethnic_category), NULL::int
FROM ptl.patient pa;
COMMENT ON VIEW ptl.patient_equity_group IS
    'Each patient record''s deprivation decile (1 most deprived; from its LSOA) and ethnic group, one row per dimension';
COMMENT ON COLUMN ptl.patient_equity_group.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.patient_equity_group.dimension IS 'imd_decile or ethnic_group';
COMMENT ON COLUMN ptl.patient_equity_group.group_value IS 'Decile 1-10 or ethnic group; Not known when missing';
COMMENT ON COLUMN ptl.patient_equity_group.decile IS 'The deprivation decile as a number, so that it sorts 1, 2, ..., 10 (NULL: not known, or an ethnic group row)';

-- Did-not-attend rates: DNAs over appointments (attended plus DNA'd) dated
-- in [from_date, to_date], first and follow-up alike.
CREATE FUNCTION ptl.dna_rates(from_date date, to_date date, suppress_below int DEFAULT 5)
RETURNS TABLE (dimension text, group_value text, provider_org text, treatment_function text,
               appointments bigint, dnas bigint, dna_rate numeric, suppressed boolean, decile int)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
WITH counts AS (
    SELECT g.dimension, g.group_value, g.decile, p.provider_org, p.treatment_function,
           grouping(p.provider_org, p.treatment_function) AS level,
           count(*) AS appointments, count(*) FILTER (WHERE e.kind = 'dna') AS dnas
    FROM ptl.pathway_event e
    JOIN ptl.pathway p ON p.pathway_id = e.pathway_id
    JOIN ptl.patient_equity_group g ON g.patient_id = e.patient_id
    WHERE e.kind IN ('outpatient', 'dna') AND e.event_date BETWEEN dna_rates.from_date AND dna_rates.to_date
    GROUP BY g.dimension, g.group_value, g.decile, GROUPING SETS ((p.provider_org, p.treatment_function), (p.provider_org), ())),
rows_hidden AS (
    SELECT c.*, row_number() OVER w AS pos,
           ptl.suppressed_cells(array_agg(c.appointments) OVER w, dna_rates.suppress_below, false) AS hide_row
    FROM counts c
    WINDOW w AS (PARTITION BY c.dimension, c.level, c.provider_org, c.treatment_function ORDER BY c.group_value
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)),
events_hidden AS (
    SELECT r.*, ptl.suppressed_cells(array_agg(r.dnas) OVER w, dna_rates.suppress_below, true, r.hide_row) AS hide_events
    FROM rows_hidden r
    WINDOW w AS (PARTITION BY r.dimension, r.level, r.provider_org, r.treatment_function ORDER BY r.group_value
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING))
SELECT c.dimension, c.group_value, c.provider_org, c.treatment_function,
       CASE WHEN NOT c.hide_row[c.pos] THEN c.appointments END,
       CASE WHEN NOT c.hide_events[c.pos] THEN c.dnas END,
       CASE WHEN NOT c.hide_events[c.pos] THEN round(100.0 * c.dnas / c.appointments, 2) END,
       c.hide_events[c.pos], c.decile
FROM events_hidden c
ORDER BY c.dimension, c.level DESC, c.provider_org NULLS FIRST, c.treatment_function NULLS FIRST,
         CASE WHEN c.group_value ~ '^[0-9]+$' THEN lpad(c.group_value, 2, '0') ELSE c.group_value END
$$;
COMMENT ON FUNCTION ptl.dna_rates(date, date, int) IS
    'Did-not-attend rate (%) of outpatient appointments dated in the range, by deprivation decile and by ethnic group, per provider and treatment function with provider totals (treatment_function NULL) and ICS totals (both NULL); groups of fewer than suppress_below appointments are suppressed, and DNA counts from 1 to suppress_below - 1 with their rate, with secondary suppression (ptl.suppressed_cells); decile is the deprivation decile as a number, to sort by';

-- Waits and list position on the PTL at the last refresh.  List position
-- is compared as a percentile of the list (position / list size x 100; 1
-- is the front), since lists differ in size.
CREATE FUNCTION ptl.wait_inequality(suppress_below int DEFAULT 5)
RETURNS TABLE (dimension text, group_value text, provider_org text, treatment_function text,
               patients bigint, median_weeks float8, pct_over_18_weeks numeric, over_52_weeks bigint,
               mean_list_percentile numeric, suppressed boolean, decile int)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
WITH l AS (
    SELECT l.*, 100.0 * l.list_position
                / count(l.list_position) OVER (PARTITION BY l.provider_org, l.treatment_function,
                                                            l.waiting_list_entry_id IS NOT NULL) AS list_percentile
    FROM ptl.ptl l),
counts AS (
    SELECT g.dimension, g.group_value, g.decile, l.provider_org, l.treatment_function,
           grouping(l.provider_org, l.treatment_function) AS level,
           count(*) AS patients,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY l.days_waited / 7.0::float8) AS median_weeks,
           round(100.0 * count(*) FILTER (WHERE ptl.rtt_over_weeks(l.days_waited, 18)) / nullif(count(l.days_waited), 0), 2) AS pct18,
           count(*) FILTER (WHERE ptl.rtt_over_weeks(l.days_waited, 18)) AS over18,
           count(*) FILTER (WHERE ptl.rtt_over_weeks(l.days_waited, 52)) AS over52,
           round(avg(l.list_percentile), 1) AS pos
    FROM l JOIN ptl.patient_equity_group g ON g.patient_id = l.patient_id
    GROUP BY g.dimension, g.group_value, g.decile, GROUPING SETS ((l.provider_org, l.treatment_function), (l.provider_org), ())),
rows_hidden AS (
    SELECT c.*, row_number() OVER w AS n,
           ptl.suppressed_cells(array_agg(c.patients) OVER w, wait_inequality.suppress_below, false) AS hide_row
    FROM counts c
    WINDOW w AS (PARTITION BY c.dimension, c.level, c.provider_org, c.treatment_function ORDER BY c.group_value
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)),
events_hidden AS (
    SELECT r.*, ptl.suppressed_cells(array_agg(r.over52) OVER w, wait_inequality.suppress_below, true, r.hide_row) AS hide_events,
           ptl.suppressed_cells(array_agg(r.over18) OVER w, wait_inequality.suppress_below, true, r.hide_row) AS hide_18
    FROM rows_hidden r
    WINDOW w AS (PARTITION BY r.dimension, r.level, r.provider_org, r.treatment_function ORDER BY r.group_value
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING))
SELECT c.dimension, c.group_value, c.provider_org, c.treatment_function,
       CASE WHEN NOT c.hide_row[c.n] THEN c.patients END, CASE WHEN NOT c.hide_row[c.n] THEN c.median_weeks END,
       CASE WHEN NOT c.hide_18[c.n] THEN c.pct18 END, CASE WHEN NOT c.hide_events[c.n] THEN c.over52 END,
       CASE WHEN NOT c.hide_row[c.n] THEN c.pos END, c.hide_events[c.n] OR c.hide_18[c.n], c.decile
FROM events_hidden c
ORDER BY c.dimension, c.level DESC, c.provider_org NULLS FIRST, c.treatment_function NULLS FIRST,
         CASE WHEN c.group_value ~ '^[0-9]+$' THEN lpad(c.group_value, 2, '0') ELSE c.group_value END
$$;
COMMENT ON FUNCTION ptl.wait_inequality(int) IS
    'Waits and list position on the PTL by deprivation decile and by ethnic group, per provider and treatment function with provider and ICS totals; groups of fewer than suppress_below patients are suppressed, and counts over 18 or 52 weeks from 1 to suppress_below - 1 (the share over 18 weeks with its count), with secondary suppression (ptl.suppressed_cells); decile is the deprivation decile as a number, to sort by';
