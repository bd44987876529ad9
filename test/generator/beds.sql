-- ---------------------------------------------------------------------------
-- Beds: a seeded history of elective hospital spells for the synthetic ICS
-- (from its admitted waiting-list entries), the patients still in a bed at
-- the census, and each site's elective bed base.  Run after the theatre
-- proposals, so that the bed base can be sized against what is planned.
-- ---------------------------------------------------------------------------

-- Nights in hospital for one synthetic spell: day cases (intended
-- management 2, 3) go home the same day, one in twelve stays a night;
-- inpatients stay a lognormal number of nights (at least one) whose median
-- depends on the specialty (2 to 5 nights).
CREATE FUNCTION ptl_synth.stay_nights(intended_management text, tfc text, u1 float8, u2 float8) RETURNS int
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN intended_management IN ('2', '3') THEN (u1 < 1.0 / 12)::int
            ELSE greatest(1, round(exp(ln(2 + abs(hashtext(tfc)) % 4) + 0.6 * ptl_synth.normal(u1, u2))))::int END;
COMMENT ON FUNCTION ptl_synth.stay_nights(text, text, float8, float8) IS
    'Synthetic length of stay in nights: day cases 0 (1 in 12 stay one night), inpatients lognormal with a median of 2-5 nights by specialty';

CREATE FUNCTION ptl_synth.beds(seed bigint DEFAULT 42, census date DEFAULT NULL)
RETURNS TABLE (what text, rows_made bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, ptl, pg_temp
AS $fn$
DECLARE
    v_census date := coalesce(census, (SELECT max(r.census) FROM ptl.rtt_pathway r));
    n bigint;
BEGIN
    IF v_census IS NULL THEN
        RAISE EXCEPTION 'no census: generate, load and refresh a synthetic ICS first';
    END IF;
    -- One spell per entry admitted in the year before the census; a stay
    -- that runs past the census is a patient in a bed now.
    INSERT INTO ptl.hospital_spell (pathway_id, entry_id, site_code, procedure_code, treatment_function,
                                    intended_management, admitted, discharged)
    SELECT w.pathway_id, w.entry_id, coalesce(w.site_code, p.site_code), w.procedure_code, p.treatment_function,
           w.intended_management, w.removed_date,
           nullif(least(w.removed_date + ptl_synth.stay_nights(w.intended_management, p.treatment_function,
                                                               ptl_synth.u(w.entry_id * 4 + 1, seed),
                                                               ptl_synth.u(w.entry_id * 4 + 2, seed)),
                        v_census + 1), v_census + 1)
    FROM ptl.waiting_list_entry w
    JOIN ptl.pathway p ON p.pathway_id = w.pathway_id
    WHERE w.removal_reason = 'admitted' AND w.removed_date > v_census - 365 AND w.removed_date <= v_census
      AND coalesce(w.site_code, p.site_code) IS NOT NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    what := 'hospital_spell'; rows_made := n; RETURN NEXT;

    -- Each site's elective bed base: its typical planned night (the median
    -- over the next six weeks) times a seeded 0.8 to 1.3, so some sites run
    -- short on their busy nights; one site in two is a five-day ward with
    -- a third of its beds open at weekends.
    INSERT INTO ptl.elective_bed_base (site_code, valid_from, isodow, beds, note)
    SELECT b.site_code, v_census - 365, d.isodow,
           CASE WHEN d.isodow IS NULL THEN b.beds ELSE b.beds / 3 END,
           'synthetic (ptl_synth.beds)'
    FROM (SELECT o.site_code,
                 greatest(2, ceil(percentile_cont(0.5) WITHIN GROUP (ORDER BY o.planned_beds)
                                  * (0.8 + 0.5 * ptl_synth.u(hashtext(o.site_code)::bigint, seed))))::int AS beds,
                 ptl_synth.u(hashtext(o.site_code)::bigint + 1, seed) < 0.5 AS five_day
          FROM ptl.bed_occupancy(v_census) o
          WHERE extract(isodow FROM o.day) < 6
          GROUP BY o.site_code) b
    CROSS JOIN LATERAL (SELECT NULL::int AS isodow UNION ALL
                        SELECT x FROM generate_series(6, 7) x WHERE b.five_day) d;
    GET DIAGNOSTICS n = ROW_COUNT;
    what := 'elective_bed_base'; rows_made := n; RETURN NEXT;
END
$fn$;
COMMENT ON FUNCTION ptl_synth.beds(bigint, date) IS
    'Seeded elective spells for the synthetic ICS''s admitted entries of the past year (patients still in where the stay runs past the census) and a bed base per site';
