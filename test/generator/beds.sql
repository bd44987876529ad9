-- ---------------------------------------------------------------------------
-- Beds: a seeded history of elective hospital spells for the synthetic ICS
-- (from its admitted waiting-list entries), the patients still in a bed at
-- the census, and each site's elective bed base, as staged extracts of each
-- trust (a closed batch each, which ptl.daily_refresh loads).
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
    org record;
    batch bigint;
BEGIN
    IF v_census IS NULL THEN
        RAISE EXCEPTION 'no census: generate, load and refresh a synthetic ICS first';
    END IF;
    -- One spell per entry admitted in the year before the census; a stay
    -- that runs past the census is a patient in a bed now.
    IF to_regclass('pg_temp.synth_bed_spell') IS NOT NULL THEN DROP TABLE pg_temp.synth_bed_spell; END IF;
    CREATE TEMP TABLE synth_bed_spell ON COMMIT DROP AS
    SELECT p.provider_org, p.ppid_issuer, p.ppid, 'SP' || w.entry_ref AS spell_ref, w.entry_ref,
           coalesce(w.site_code, p.site_code) AS site_code, w.procedure_code, p.treatment_function,
           w.intended_management, w.removed_date AS admitted,
           nullif(least(w.removed_date + ptl_synth.stay_nights(w.intended_management, p.treatment_function,
                                                               ptl_synth.u(w.entry_id * 4 + 1, seed),
                                                               ptl_synth.u(w.entry_id * 4 + 2, seed)),
                        v_census + 1), v_census + 1) AS discharged
    FROM ptl.waiting_list_entry w
    JOIN ptl.pathway p ON p.pathway_id = w.pathway_id
    WHERE w.removal_reason = 'admitted' AND w.removed_date > v_census - 365 AND w.removed_date <= v_census
      AND coalesce(w.site_code, p.site_code) IS NOT NULL;

    -- Each site's elective bed base: its typical weekday night over the
    -- six weeks before the census (beds its elective spells filled at
    -- midnight) times a seeded 0.8 to 1.3, so some sites run short on their
    -- busy nights; one site in two is a five-day ward with a third of its
    -- beds open at weekends.
    IF to_regclass('pg_temp.synth_beds_base') IS NOT NULL THEN DROP TABLE pg_temp.synth_beds_base; END IF;
    CREATE TEMP TABLE synth_beds_base ON COMMIT DROP AS
    SELECT b.site_code, v_census - 365 AS valid_from, d.isodow,
           CASE WHEN d.isodow IS NULL THEN b.beds ELSE b.beds / 3 END AS beds
    FROM (SELECT o.site_code,
                 greatest(2, ceil(percentile_cont(0.5) WITHIN GROUP (ORDER BY o.occupied)
                                  * (0.8 + 0.5 * ptl_synth.u(hashtext(o.site_code)::bigint, seed))))::int AS beds,
                 ptl_synth.u(hashtext(o.site_code)::bigint + 1, seed) < 0.5 AS five_day
          FROM (SELECT s.site_code, night::date AS night,
                       (SELECT count(*) FROM synth_bed_spell x
                        WHERE x.site_code = s.site_code AND x.admitted <= night::date
                          AND coalesce(x.discharged, v_census + 1) > night::date) AS occupied
                FROM (SELECT DISTINCT site_code FROM synth_bed_spell) s,
                     generate_series(v_census - 42, v_census - 1, interval '1 day') night
                WHERE extract(isodow FROM night) < 6) o
          GROUP BY o.site_code) b
    CROSS JOIN LATERAL (SELECT NULL::int AS isodow UNION ALL
                        SELECT x FROM generate_series(6, 7) x WHERE b.five_day) d;

    -- Each trust sends its spells and bed base as extracts, in one batch
    -- (ptl.daily_refresh loads it).
    FOR org IN SELECT o.org_code FROM ptl.organisation o
               WHERE EXISTS (SELECT 1 FROM synth_bed_spell x WHERE x.provider_org = o.org_code)
                  OR EXISTS (SELECT 1 FROM synth_beds_base x JOIN ptl.site s USING (site_code) WHERE s.org_code = o.org_code)
               ORDER BY 1 LOOP
        batch := ptl.open_batch(org.org_code, 'PAS', NULL, 'spells and elective bed base (ptl_synth.beds)');
        INSERT INTO ptl_stage.hospital_spell (batch_id, ppid_issuer, ppid, spell_ref, entry_ref, site_code, procedure_code,
                                              treatment_function, intended_management, elective, admitted, discharged)
        SELECT batch, x.ppid_issuer, x.ppid, x.spell_ref, x.entry_ref, x.site_code, x.procedure_code,
               x.treatment_function, x.intended_management, 'true', to_char(x.admitted, 'YYYY-MM-DD'), to_char(x.discharged, 'YYYY-MM-DD')
        FROM synth_bed_spell x WHERE x.provider_org = org.org_code
        ORDER BY x.admitted, x.spell_ref;
        GET DIAGNOSTICS n = ROW_COUNT;
        what := format('hospital_spell staged in batch %s (%s)', batch, org.org_code); rows_made := n; RETURN NEXT;
        INSERT INTO ptl_stage.elective_bed_base (batch_id, site_code, valid_from, isodow, beds, note)
        SELECT batch, x.site_code, to_char(x.valid_from, 'YYYY-MM-DD'), x.isodow::text, x.beds::text, 'synthetic (ptl_synth.beds)'
        FROM synth_beds_base x JOIN ptl.site s USING (site_code)
        WHERE s.org_code = org.org_code
        ORDER BY x.site_code, x.isodow NULLS FIRST;
        GET DIAGNOSTICS n = ROW_COUNT;
        what := format('elective_bed_base staged in batch %s (%s)', batch, org.org_code); rows_made := n; RETURN NEXT;
        PERFORM ptl.close_batch(batch);
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION ptl_synth.beds(bigint, date) IS
    'Stages, per trust, seeded elective spells for the synthetic ICS''s admitted entries of the past year (patients still in where the stay runs past the census) and a bed base per site, and closes each batch for ptl.daily_refresh to load';
