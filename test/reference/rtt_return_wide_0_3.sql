-- The wide RTT return as release 0.3.0 built it (a join of every row's 105
-- bands to the long form; run here without merge joins, which made it
-- quadratic in a provider's return).  Kept only as the reference that the
-- linear pivot in src/rtt/returns.sql must equal row for row
-- (sql/rtt_return.sql, test/pgtap/clock_order.sql, bench/return.sh).
-- Creates pg_temp.rtt_return_wide_0_3(date).
CREATE FUNCTION pg_temp.rtt_return_wide_0_3(period_end date)
RETURNS TABLE (period text, provider_org text, commissioner_code text, part text, line text,
               bands bigint[], total bigint, unknown_start bigint, total_all bigint, csv_line text)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
-- The band cells join the long form on a commissioner that may be NULL (IS
-- NOT DISTINCT FROM): a merge join can use only the provider as its key and
-- filtered 90 million pairs for 4,000 referrals (9 s); hashed, 0.6 s.
SET enable_mergejoin = off
BEGIN ATOMIC
    WITH r AS (SELECT * FROM ptl.rtt_return(period_end)),
    cell AS (
        SELECT r.provider_org, r.commissioner_code, r.part, r.line,
               array_agg(coalesce(b.pathways, 0) ORDER BY g.band) AS bands,
               max(u.n) AS unknown
        FROM (SELECT DISTINCT provider_org, commissioner_code, part, line FROM r) r
        CROSS JOIN generate_series(0, 104) g(band)
        LEFT JOIN r b ON b.provider_org = r.provider_org AND b.commissioner_code IS NOT DISTINCT FROM r.commissioner_code
                     AND b.part = r.part AND b.line = r.line AND b.week_band = g.band AND NOT b.unknown_start
        LEFT JOIN (SELECT provider_org, commissioner_code, part, line, sum(pathways) AS n
                   FROM r WHERE unknown_start GROUP BY 1, 2, 3, 4) u
               ON u.provider_org = r.provider_org AND u.commissioner_code IS NOT DISTINCT FROM r.commissioner_code
              AND u.part = r.part AND u.line = r.line AND g.band = 0
        GROUP BY r.provider_org, r.commissioner_code, r.part, r.line),
    p3 AS (SELECT provider_org, commissioner_code, line, sum(pathways) AS n
           FROM r WHERE part = 'Part_3' GROUP BY 1, 2, 3),
    shaped AS (
        SELECT c.*,
               (SELECT sum(x) FROM unnest(c.bands) x)::bigint AS banded,
               coalesce(c.unknown, 0)::bigint AS unknown_n
        FROM cell c)
    SELECT 'RTT-' || to_char(period_end, 'FMMonth-YYYY'), s.provider_org, s.commissioner_code, s.part, s.line,
           CASE WHEN s.part = 'Part_3' THEN NULL ELSE s.bands END,
           CASE WHEN s.part IN ('Part_1A', 'Part_1B') THEN s.banded END,
           CASE WHEN s.part IN ('Part_1A', 'Part_1B') OR s.unknown_n > 0 THEN s.unknown_n END,
           CASE WHEN s.part = 'Part_3' THEN p3.n ELSE s.banded + s.unknown_n END,
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
               (CASE WHEN s.part = 'Part_3' THEN p3.n ELSE s.banded + s.unknown_n END)::text)
    FROM shaped s
    JOIN ptl.rtt_part pt ON pt.part_code = s.part
    LEFT JOIN ptl.rtt_line l ON l.csv_code = s.line AND s.line <> 'C_999'
    LEFT JOIN p3 ON s.part = 'Part_3' AND p3.provider_org = s.provider_org
                AND p3.commissioner_code IS NOT DISTINCT FROM s.commissioner_code AND p3.line = s.line
    LEFT JOIN ptl.organisation po ON po.org_code = s.provider_org
    LEFT JOIN ptl.organisation pp ON pp.org_code = po.parent_org_code
    LEFT JOIN ptl.commissioner co ON co.commissioner_code = s.commissioner_code
    LEFT JOIN ptl.commissioner cp ON cp.commissioner_code = co.parent_code
    ORDER BY s.provider_org, s.commissioner_code, pt.sort_order,
             coalesce(l.sort_order, 1000);
END;
