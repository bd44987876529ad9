-- ---------------------------------------------------------------------------
-- plan/inequality: do some groups of patients wait longer, sit lower on the
-- list, or miss more appointments?  By deprivation decile (IMD of the
-- patient's LSOA) and by ethnic group, per provider and treatment function
-- with provider and ICS totals.
--
-- Small numbers are suppressed, as NHS statistics are: a group of fewer
-- than suppress_below (default 5) people or appointments shows NULL for
-- every figure, and a count of events (DNAs, waits over 52 weeks) from 1 to
-- suppress_below - 1 shows NULL, with any rate made from it; suppressed is
-- then true.  Zero is shown: it identifies no one.  Secondary suppression (hiding a second cell so the
-- first cannot be found from a total) is not done: totals are published
-- alongside, so a reader must not combine cells of one dimension.
-- ---------------------------------------------------------------------------

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
       coalesce(d.imd_decile::text, 'Not known') AS group_value
FROM ptl.patient pa LEFT JOIN ptl.area_deprivation d ON d.lsoa_code = pa.lsoa_code
UNION ALL
SELECT pa.patient_id, 'ethnic_group', ptl.ethnic_group(pa.ethnic_category)
FROM ptl.patient pa;
COMMENT ON VIEW ptl.patient_equity_group IS
    'Each patient record''s deprivation decile (1 most deprived; from its LSOA) and ethnic group, one row per dimension';
COMMENT ON COLUMN ptl.patient_equity_group.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.patient_equity_group.dimension IS 'imd_decile or ethnic_group';
COMMENT ON COLUMN ptl.patient_equity_group.group_value IS 'Decile 1-10 or ethnic group; Not known when missing';

-- Did-not-attend rates: DNAs over appointments (attended plus DNA'd) dated
-- in [from_date, to_date], first and follow-up alike.
CREATE FUNCTION ptl.dna_rates(from_date date, to_date date, suppress_below int DEFAULT 5)
RETURNS TABLE (dimension text, group_value text, provider_org text, treatment_function text,
               appointments bigint, dnas bigint, dna_rate numeric, suppressed boolean)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
WITH counts AS (
    SELECT g.dimension, g.group_value, p.provider_org, p.treatment_function,
           grouping(p.provider_org, p.treatment_function) AS level,
           count(*) AS appointments, count(*) FILTER (WHERE e.kind = 'dna') AS dnas
    FROM ptl.pathway_event e
    JOIN ptl.pathway p ON p.pathway_id = e.pathway_id
    JOIN ptl.patient_equity_group g ON g.patient_id = e.patient_id
    WHERE e.kind IN ('outpatient', 'dna') AND e.event_date BETWEEN dna_rates.from_date AND dna_rates.to_date
    GROUP BY g.dimension, g.group_value, GROUPING SETS ((p.provider_org, p.treatment_function), (p.provider_org), ()))
SELECT c.dimension, c.group_value, c.provider_org, c.treatment_function,
       CASE WHEN NOT x.hide_all THEN c.appointments END, CASE WHEN NOT x.hide THEN c.dnas END,
       CASE WHEN NOT x.hide THEN round(100.0 * c.dnas / c.appointments, 2) END, x.hide
FROM counts c
CROSS JOIN LATERAL (SELECT c.appointments < dna_rates.suppress_below AS hide_all,
                           c.appointments < dna_rates.suppress_below
                           OR c.dnas BETWEEN 1 AND dna_rates.suppress_below - 1 AS hide) x
ORDER BY c.dimension, c.level DESC, c.provider_org NULLS FIRST, c.treatment_function NULLS FIRST,
         CASE WHEN c.group_value ~ '^[0-9]+$' THEN lpad(c.group_value, 2, '0') ELSE c.group_value END
$$;
COMMENT ON FUNCTION ptl.dna_rates(date, date, int) IS
    'Did-not-attend rate (%) of outpatient appointments dated in the range, by deprivation decile and by ethnic group, per provider and treatment function with provider totals (treatment_function NULL) and ICS totals (both NULL); groups of fewer than suppress_below appointments are suppressed, and DNA counts from 1 to suppress_below - 1 with their rate';

-- Waits and list position on the PTL at the last refresh.  List position
-- is compared as a percentile of the list (position / list size x 100; 1
-- is the front), since lists differ in size.
CREATE FUNCTION ptl.wait_inequality(suppress_below int DEFAULT 5)
RETURNS TABLE (dimension text, group_value text, provider_org text, treatment_function text,
               patients bigint, median_weeks float8, pct_over_18_weeks numeric, over_52_weeks bigint,
               mean_list_percentile numeric, suppressed boolean)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
WITH l AS (
    SELECT l.*, 100.0 * l.list_position
                / count(l.list_position) OVER (PARTITION BY l.provider_org, l.treatment_function,
                                                            l.waiting_list_entry_id IS NOT NULL) AS list_percentile
    FROM ptl.ptl l),
counts AS (
    SELECT g.dimension, g.group_value, l.provider_org, l.treatment_function,
           grouping(l.provider_org, l.treatment_function) AS level,
           count(*) AS patients,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY l.days_waited / 7.0::float8) AS median_weeks,
           round(100.0 * count(*) FILTER (WHERE l.days_waited > 126) / nullif(count(l.days_waited), 0), 2) AS pct18,
           count(*) FILTER (WHERE l.days_waited > 364) AS over52,
           round(avg(l.list_percentile), 1) AS pos
    FROM l JOIN ptl.patient_equity_group g ON g.patient_id = l.patient_id
    GROUP BY g.dimension, g.group_value, GROUPING SETS ((l.provider_org, l.treatment_function), (l.provider_org), ()))
SELECT c.dimension, c.group_value, c.provider_org, c.treatment_function,
       CASE WHEN NOT x.hide THEN c.patients END, CASE WHEN NOT x.hide THEN c.median_weeks END,
       CASE WHEN NOT x.hide THEN c.pct18 END,
       CASE WHEN NOT x.hide AND NOT c.over52 BETWEEN 1 AND wait_inequality.suppress_below - 1 THEN c.over52 END,
       CASE WHEN NOT x.hide THEN c.pos END,
       x.hide OR c.over52 BETWEEN 1 AND wait_inequality.suppress_below - 1
FROM counts c
CROSS JOIN LATERAL (SELECT c.patients < wait_inequality.suppress_below AS hide) x
ORDER BY c.dimension, c.level DESC, c.provider_org NULLS FIRST, c.treatment_function NULLS FIRST,
         CASE WHEN c.group_value ~ '^[0-9]+$' THEN lpad(c.group_value, 2, '0') ELSE c.group_value END
$$;
COMMENT ON FUNCTION ptl.wait_inequality(int) IS
    'Waits and list position on the PTL by deprivation decile and by ethnic group, per provider and treatment function with provider and ICS totals; groups of fewer than suppress_below patients are suppressed, and counts over 52 weeks from 1 to suppress_below - 1';
