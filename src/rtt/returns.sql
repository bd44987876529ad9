-- ---------------------------------------------------------------------------
-- The monthly RTT return (RTT guidance 10, 10.1.4): long form, NHS England's
-- published wide layout (table and CSV), and NHS England's consistency
-- checks as assertions.  Computed from the events as at the month end, so a
-- return does not depend on when the last refresh ran.
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.rtt_part (
    part_code   text PRIMARY KEY,
    description text NOT NULL,
    sort_order  int NOT NULL UNIQUE
);
INSERT INTO ptl.rtt_part VALUES
    ('Part_1A', 'Completed Pathways For Admitted Patients', 1),
    ('Part_1B', 'Completed Pathways For Non-Admitted Patients', 2),
    ('Part_2', 'Incomplete Pathways', 3),
    ('Part_2A', 'Incomplete Pathways with DTA', 4),
    ('Part_3', 'New RTT Periods - All Patients', 5);
COMMENT ON TABLE ptl.rtt_part IS 'Parts of the monthly RTT return, with the codes and descriptions NHS England publishes';
COMMENT ON COLUMN ptl.rtt_part.part_code IS 'RTT Part Type as published, e.g. Part_2A';
COMMENT ON COLUMN ptl.rtt_part.description IS 'RTT Part Description as published';
COMMENT ON COLUMN ptl.rtt_part.sort_order IS 'Order in the published file';

-- Long form: one row per provider, commissioner, part, line and band, with
-- the all-lines total (line C_999).  week_band is NULL for Part 3 (new
-- periods have no wait) and for unknown clock starts (unknown_start).  For
-- one provider (the reporting one: a merged trust's records count under its
-- successor) only that provider's records are computed.
CREATE FUNCTION ptl.rtt_return(period_end date, provider text)
RETURNS TABLE (provider_org text, commissioner_code text, part text, line text,
               week_band int, unknown_start boolean, pathways bigint)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    month_start date := date_trunc('month', period_end)::date;
    count_nullified boolean := (ptl.rtt_setting_in_force()).part3_counts_nullified;
    -- the provider's own records and those of trusts merged into it
    records_of text[] := CASE WHEN provider IS NOT NULL THEN
        provider || ARRAY(SELECT m.org_code FROM ptl.successor_in_force(period_end) m
                          WHERE m.reporting_org = provider) END;
BEGIN
    IF period_end IS NULL THEN
        RAISE EXCEPTION 'the RTT return needs a month end, not NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF period_end <> (month_start + interval '1 month' - interval '1 day')::date THEN
        RAISE EXCEPTION 'the RTT return is for a month: % is not the last day of its month', period_end
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('Use %s.', (month_start + interval '1 month' - interval '1 day')::date);
    END IF;
    RETURN QUERY
    WITH periods AS (
        -- a merged trust's pathways under its successor from the month the
        -- merger is in force (ptl.successor_in_force, docs/reference-data.md)
        SELECT r.*, coalesce(m.reporting_org, p.provider_org) AS provider_org,
               -- NONC for non-English commissioners (RTT guidance 10.1.8)
               CASE WHEN c.commissioner_kind = 'non_english' THEN 'NONC'
                    ELSE coalesce(p.commissioner_code, pa.commissioner_code) END AS commissioner,
               -- incomplete: the function now; completed: the one that stopped it (10.1.4)
               CASE WHEN r.outcome = 'incomplete' THEN p.treatment_function
                    ELSE coalesce(r.stop_treatment_function, p.treatment_function) END AS tfc
        FROM ptl.rtt_periods_at(period_end, records_of) r
        JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
        JOIN ptl.patient pa ON pa.patient_id = p.patient_id
        LEFT JOIN ptl.commissioner c ON c.commissioner_code = coalesce(p.commissioner_code, pa.commissioner_code)
        LEFT JOIN ptl.successor_in_force(period_end) m ON m.org_code = p.provider_org
        WHERE r.responsible
          -- a trust merged into another reports nothing under its own code
          AND (provider IS NULL OR coalesce(m.reporting_org, p.provider_org) = provider)),
    counted AS (
        SELECT x.provider_org, x.commissioner, 'Part_1A' AS part, x.tfc, x.week_band, x.clock_start IS NULL AS unknown
        FROM periods x WHERE x.outcome = 'admitted' AND x.clock_stop BETWEEN month_start AND period_end
        UNION ALL
        SELECT x.provider_org, x.commissioner, 'Part_1B', x.tfc, x.week_band, x.clock_start IS NULL
        FROM periods x WHERE x.outcome = 'non_admitted' AND x.clock_stop BETWEEN month_start AND period_end
        UNION ALL
        SELECT x.provider_org, x.commissioner, 'Part_2', x.tfc, x.week_band, x.clock_start IS NULL
        FROM periods x WHERE x.outcome = 'incomplete'
        UNION ALL
        SELECT x.provider_org, x.commissioner, 'Part_2A', x.tfc, x.week_band, x.clock_start IS NULL
        FROM periods x WHERE x.outcome = 'incomplete' AND x.has_dta
        UNION ALL
        SELECT x.provider_org, x.commissioner, 'Part_3', x.tfc, NULL, false
        FROM periods x WHERE x.clock_start BETWEEN month_start AND period_end
          AND (x.outcome <> 'nullified' OR count_nullified))
    SELECT k.provider_org, k.commissioner, k.part,
           CASE WHEN grouping(l.csv_code) = 1 THEN 'C_999' ELSE l.csv_code END,
           k.week_band, k.unknown, count(*)
    FROM counted k
    JOIN ptl.treatment_function_in_use t ON t.tfc = k.tfc
    JOIN ptl.rtt_line l ON l.line_code = t.rtt_line
    GROUP BY GROUPING SETS ((k.provider_org, k.commissioner, k.part, l.csv_code, k.week_band, k.unknown),
                            (k.provider_org, k.commissioner, k.part, k.week_band, k.unknown));
END
$$;
COMMENT ON FUNCTION ptl.rtt_return(date, text) IS
    'The monthly RTT return for a month end of one reporting provider (NULL: every provider), in long form, as ptl.rtt_return(date); only that provider''s records are computed';

CREATE FUNCTION ptl.rtt_return(period_end date)
RETURNS TABLE (provider_org text, commissioner_code text, part text, line text,
               week_band int, unknown_start boolean, pathways bigint)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$ SELECT * FROM ptl.rtt_return(period_end, NULL::text) $$;
COMMENT ON FUNCTION ptl.rtt_return(date) IS
    'The monthly RTT return for a month end in long form: provider (a merged trust''s successor, from the month the merger is in force), commissioner, part, line (C_999 = all lines), weekly band, unknown clock start, count';

-- The published wide layout: NHS England's full CSV extract, column for column.
-- Blank cells follow the published file (checked against NHS England's
-- November 2024 extract): completed parts fill Total and the unknown-start
-- column; incomplete parts leave both blank (the unknown count is shown when
-- there is one); Part 3 fills only Total All.
CREATE FUNCTION ptl_internal.rtt_return_csv_header() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN 'Period,Provider Parent Org Code,Provider Parent Name,Provider Org Code,Provider Org Name,'
    || 'Commissioner Parent Org Code,Commissioner Parent Name,Commissioner Org Code,Commissioner Org Name,'
    || 'RTT Part Type,RTT Part Description,Treatment Function Code,Treatment Function Name,'
    || (SELECT string_agg(ptl.rtt_week_band_label(b), ',' ORDER BY b) FROM generate_series(0, 104) b)
    || ',Total,Patients with unknown clock start date,Total All';
COMMENT ON FUNCTION ptl_internal.rtt_return_csv_header() IS 'Header line of NHS England''s full CSV extract of the RTT return';

CREATE FUNCTION ptl.csv_field(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN value IS NULL THEN ''
            WHEN value ~ '[",\n\r]' THEN '"' || replace(value, '"', '""') || '"'
            ELSE value END;
COMMENT ON FUNCTION ptl.csv_field(text) IS 'A value as one CSV field (RFC 4180 quoting; NULL as empty)';

CREATE FUNCTION ptl.rtt_return_wide(period_end date, provider text)
RETURNS TABLE (period text, provider_org text, commissioner_code text, part text, line text,
               bands bigint[], total bigint, unknown_start bigint, total_all bigint, csv_line text)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
-- A linear pivot: the long form is grouped once by its row key and each
-- row's few non-empty bands are spread over 0..104 within the row, so the
-- cost is the long form's plus 105 cells a row.  (Release 0.3.0 joined every
-- row's 105 bands to the long form on the provider: quadratic in a
-- provider's return, 4 minutes at 200,000 referrals.)
BEGIN ATOMIC
    WITH cell AS (
        SELECT r.provider_org, r.commissioner_code, r.part, r.line,
               array_agg(r.week_band) FILTER (WHERE NOT r.unknown_start AND r.week_band BETWEEN 0 AND 104) AS band_no,
               array_agg(r.pathways) FILTER (WHERE NOT r.unknown_start AND r.week_band BETWEEN 0 AND 104) AS band_n,
               coalesce(sum(r.pathways) FILTER (WHERE r.unknown_start), 0)::bigint AS unknown_n,
               sum(r.pathways)::bigint AS all_n
        FROM ptl.rtt_return(period_end, provider) r
        GROUP BY r.provider_org, r.commissioner_code, r.part, r.line),
    shaped AS (
        SELECT c.*, b.bands, (SELECT sum(x) FROM unnest(b.bands) x)::bigint AS banded
        FROM cell c
        CROSS JOIN LATERAL (
            SELECT array_agg(coalesce(n.n, 0) ORDER BY g.band) AS bands
            FROM generate_series(0, 104) g (band)
            LEFT JOIN (SELECT u.band, sum(u.n) AS n FROM unnest(c.band_no, c.band_n) u (band, n) GROUP BY u.band) n
                   ON n.band = g.band) b)
    SELECT 'RTT-' || to_char(period_end, 'FMMonth-YYYY'), s.provider_org, s.commissioner_code, s.part, s.line,
           CASE WHEN s.part = 'Part_3' THEN NULL ELSE s.bands END,
           CASE WHEN s.part IN ('Part_1A', 'Part_1B') THEN s.banded END,
           CASE WHEN s.part IN ('Part_1A', 'Part_1B') OR s.unknown_n > 0 THEN s.unknown_n END,
           CASE WHEN s.part = 'Part_3' THEN s.all_n ELSE s.banded + s.unknown_n END,
           concat_ws(',',
               ptl.csv_field('RTT-' || to_char(period_end, 'FMMonth-YYYY')),
               ptl.csv_field(po.parent_org_code), ptl.csv_field(pp.name),
               ptl.csv_field(s.provider_org), ptl.csv_field(po.name),
               ptl.csv_field(co.parent_code), ptl.csv_field(cp.name),
               ptl.csv_field(s.commissioner_code), ptl.csv_field(co.name),
               ptl.csv_field(s.part), ptl.csv_field(pt.description),
               ptl.csv_field(s.line), ptl.csv_field(coalesce(l.name, 'Total')),
               CASE WHEN s.part = 'Part_3' THEN repeat(',', 104)
                    ELSE array_to_string(s.bands, ',') END,
               CASE WHEN s.part IN ('Part_1A', 'Part_1B') THEN s.banded::text ELSE '' END,
               CASE WHEN s.part IN ('Part_1A', 'Part_1B') OR s.unknown_n > 0 THEN s.unknown_n::text ELSE '' END,
               (CASE WHEN s.part = 'Part_3' THEN s.all_n ELSE s.banded + s.unknown_n END)::text)
    FROM shaped s
    JOIN ptl.rtt_part pt ON pt.part_code = s.part
    LEFT JOIN ptl.rtt_line l ON l.csv_code = s.line AND s.line <> 'C_999'
    LEFT JOIN ptl.organisation po ON po.org_code = s.provider_org
    LEFT JOIN ptl.organisation pp ON pp.org_code = po.parent_org_code
    LEFT JOIN ptl.commissioner co ON co.commissioner_code = s.commissioner_code
    LEFT JOIN ptl.commissioner cp ON cp.commissioner_code = co.parent_code
    ORDER BY s.provider_org, s.commissioner_code, pt.sort_order,
             coalesce(l.sort_order, 1000);
END;
COMMENT ON FUNCTION ptl.rtt_return_wide(date, text) IS
    'The monthly RTT return of one reporting provider (NULL: every provider) in NHS England''s published wide layout, as ptl.rtt_return_wide(date)';

CREATE FUNCTION ptl.rtt_return_wide(period_end date)
RETURNS TABLE (period text, provider_org text, commissioner_code text, part text, line text,
               bands bigint[], total bigint, unknown_start bigint, total_all bigint, csv_line text)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$ SELECT * FROM ptl.rtt_return_wide(period_end, NULL::text) $$;
COMMENT ON FUNCTION ptl.rtt_return_wide(date) IS
    'The monthly RTT return in NHS England''s published wide layout: bands 0..104 as an array, Total, unknown clock starts, Total All, and the row as a line of the full CSV extract';

CREATE FUNCTION ptl.rtt_return_csv(period_end date, provider text) RETURNS SETOF text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
BEGIN ATOMIC
    SELECT ptl_internal.rtt_return_csv_header()
    UNION ALL
    (SELECT w.csv_line FROM ptl.rtt_return_wide(period_end, provider) w);
END;
COMMENT ON FUNCTION ptl.rtt_return_csv(date, text) IS
    'The monthly RTT return of one reporting provider (NULL: every provider) as NHS England''s full CSV extract, header first (e.g. \copy (SELECT * FROM ptl.rtt_return_csv(''2025-03-31'', ''RX1'')) TO ''rtt.csv'')';

CREATE FUNCTION ptl.rtt_return_csv(period_end date) RETURNS SETOF text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$ SELECT * FROM ptl.rtt_return_csv(period_end, NULL::text) $$;
COMMENT ON FUNCTION ptl.rtt_return_csv(date) IS
    'The monthly RTT return as NHS England''s full CSV extract, header first (e.g. \copy (SELECT * FROM ptl.rtt_return_csv(''2025-03-31'')) TO ''rtt.csv'')';

-- NHS England's central checks on a return (RTT guidance Annex B),
-- run as assertions.  Where NHS England gives no
-- threshold ("large", "unexpectedly"), the one used is stated in the detail
-- and is ptl's judgement.
CREATE FUNCTION ptl.rtt_return_checks(period_end date)
RETURNS TABLE (check_id text, description text, provider_org text, passed boolean, detail text)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
BEGIN ATOMIC
    WITH now_ AS (SELECT * FROM ptl.rtt_return(period_end)),
    prev AS (SELECT * FROM ptl.rtt_return((date_trunc('month', period_end) - interval '1 day')::date)),
    providers AS (SELECT DISTINCT n.provider_org FROM now_ n),
    part_total AS (
        SELECT n.provider_org, n.part, sum(n.pathways) AS n FROM now_ n WHERE n.line = 'C_999' GROUP BY 1, 2),
    prev_total AS (
        SELECT p.provider_org, p.part, sum(p.pathways) AS n FROM prev p WHERE p.line = 'C_999' GROUP BY 1, 2),
    checks AS (
        SELECT 'R01' AS id, 'No negative or decimal values' AS descr, pr.provider_org,
               NOT EXISTS (SELECT 1 FROM now_ n WHERE n.provider_org = pr.provider_org AND n.pathways < 0) AS ok,
               NULL::text AS why
        FROM providers pr
        UNION ALL
        SELECT 'R02', 'Commissioner codes are valid (Sub-ICB, NHS England or NONC)', pr.provider_org,
               bad.codes IS NULL, 'not known: ' || bad.codes
        FROM providers pr
        LEFT JOIN LATERAL (
            SELECT string_agg(DISTINCT coalesce(n.commissioner_code, '(none)'), ', ') AS codes
            FROM now_ n
            WHERE n.provider_org = pr.provider_org AND n.commissioner_code IS DISTINCT FROM 'NONC'
              AND NOT EXISTS (SELECT 1 FROM ptl.commissioner c WHERE c.commissioner_code = n.commissioner_code)) bad ON true
        UNION ALL
        SELECT 'R03', 'The total line (C_999) equals the sum over treatment functions', pr.provider_org,
               bad.n = 0, bad.n || ' commissioner/part/band cells differ'
        FROM providers pr
        CROSS JOIN LATERAL (
            SELECT count(*) AS n FROM (
                SELECT n.commissioner_code, n.part, n.week_band, n.unknown_start,
                       sum(n.pathways) FILTER (WHERE n.line = 'C_999') AS total,
                       sum(n.pathways) FILTER (WHERE n.line <> 'C_999') AS lines
                FROM now_ n WHERE n.provider_org = pr.provider_org
                GROUP BY 1, 2, 3, 4) c
            WHERE c.total IS DISTINCT FROM c.lines) bad
        UNION ALL
        SELECT 'R04', 'A provider reporting completed pathways also reports incomplete ones', pr.provider_org,
               NOT (EXISTS (SELECT 1 FROM part_total t WHERE t.provider_org = pr.provider_org AND t.part IN ('Part_1A', 'Part_1B'))
                    AND NOT EXISTS (SELECT 1 FROM part_total t WHERE t.provider_org = pr.provider_org AND t.part = 'Part_2')),
               NULL
        FROM providers pr
        UNION ALL
        SELECT 'R05', 'Part 2A is not more than Part 2', pr.provider_org, bad.n = 0,
               bad.n || ' commissioner/line rows have more with a DTA than incomplete'
        FROM providers pr
        CROSS JOIN LATERAL (
            SELECT count(*) AS n FROM (
                SELECT n.commissioner_code, n.line,
                       coalesce(sum(n.pathways) FILTER (WHERE n.part = 'Part_2A'), 0) AS dta,
                       coalesce(sum(n.pathways) FILTER (WHERE n.part = 'Part_2'), 0) AS incomplete
                FROM now_ n WHERE n.provider_org = pr.provider_org GROUP BY 1, 2) c
            WHERE c.dta > c.incomplete) bad
        UNION ALL
        SELECT 'R06', 'Part 3 (new periods) is at least the incomplete pathways waiting 0-4 weeks', pr.provider_org,
               coalesce(p3.n, 0) >= coalesce(b4.n, 0),
               format('Part 3 %s, incomplete 0-4 weeks %s', coalesce(p3.n, 0), coalesce(b4.n, 0))
        FROM providers pr
        LEFT JOIN part_total p3 ON p3.provider_org = pr.provider_org AND p3.part = 'Part_3'
        LEFT JOIN LATERAL (SELECT sum(n.pathways) AS n FROM now_ n
                           WHERE n.provider_org = pr.provider_org AND n.part = 'Part_2'
                             AND n.line = 'C_999' AND n.week_band BETWEEN 0 AND 3) b4 ON true
        UNION ALL
        SELECT 'R07', 'Completed pathways in the 0-1 week band are not a large share (threshold 25%)', pr.provider_org,
               coalesce(z.share, 0) <= 0.25, format('%s%% of completed pathways', round(100 * coalesce(z.share, 0), 1))
        FROM providers pr
        LEFT JOIN LATERAL (
            SELECT sum(n.pathways) FILTER (WHERE n.week_band = 0)::numeric / nullif(sum(n.pathways), 0) AS share
            FROM now_ n WHERE n.provider_org = pr.provider_org AND n.line = 'C_999'
              AND n.part IN ('Part_1A', 'Part_1B')) z ON true
        UNION ALL
        SELECT 'R08', 'Unknown clock starts are not a large share of incomplete pathways (threshold 1%)', pr.provider_org,
               coalesce(u.share, 0) <= 0.01, format('%s%% unknown', round(100 * coalesce(u.share, 0), 2))
        FROM providers pr
        LEFT JOIN LATERAL (
            SELECT sum(n.pathways) FILTER (WHERE n.unknown_start)::numeric / nullif(sum(n.pathways), 0) AS share
            FROM now_ n WHERE n.provider_org = pr.provider_org AND n.line = 'C_999' AND n.part = 'Part_2') u ON true
        UNION ALL
        SELECT 'R09', 'No large month-on-month change in a part (threshold 20%, when last month had 100 or more)',
               t.provider_org,
               NOT (p.n >= 100 AND abs(t.n - p.n) > 0.2 * p.n),
               format('%s: %s last month, %s this month', t.part, p.n, t.n)
        FROM part_total t JOIN prev_total p ON p.provider_org = t.provider_org AND p.part = t.part
        UNION ALL
        SELECT 'R10', 'No part reported last month is missing this month', pp.provider_org,
               EXISTS (SELECT 1 FROM part_total t WHERE t.provider_org = pp.provider_org AND t.part = pp.part),
               pp.part || ' was reported last month'
        FROM prev_total pp WHERE pp.provider_org IN (SELECT provider_org FROM providers)
        UNION ALL
        SELECT 'R11', 'The return is not identical to last month''s', pr.provider_org,
               EXISTS (SELECT n.commissioner_code, n.part, n.line, n.week_band, n.unknown_start, n.pathways
                       FROM now_ n WHERE n.provider_org = pr.provider_org
                       EXCEPT
                       SELECT p.commissioner_code, p.part, p.line, p.week_band, p.unknown_start, p.pathways
                       FROM prev p WHERE p.provider_org = pr.provider_org)
               OR EXISTS (SELECT p.commissioner_code, p.part, p.line, p.week_band, p.unknown_start, p.pathways
                          FROM prev p WHERE p.provider_org = pr.provider_org
                          EXCEPT
                          SELECT n.commissioner_code, n.part, n.line, n.week_band, n.unknown_start, n.pathways
                          FROM now_ n WHERE n.provider_org = pr.provider_org),
               NULL
        FROM providers pr)
    SELECT c.id, c.descr, c.provider_org, c.ok, CASE WHEN NOT c.ok THEN c.why ELSE c.why END
    FROM checks c
    ORDER BY c.provider_org, c.id, c.why;
END;
COMMENT ON FUNCTION ptl.rtt_return_checks(date) IS
    'NHS England''s consistency checks on a month''s RTT return (RTT guidance Annex B), one row per check and provider: passed or not, with the figures';
