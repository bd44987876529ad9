-- ---------------------------------------------------------------------------
-- ptl_synth.mutual_aid(seed): what mutual aid needs on top of a generated,
-- loaded and refreshed ICS.  Synthetic coordinates for the synthetic
-- postcode districts (each trust's districts within about 12 miles of a
-- centre; the trusts' centres some 20 to 40 miles apart), the sites at their
-- districts' centres, patients' wishes (a third of the admitted list waiting
-- over 200 days opted in, with a radius of 50 miles, 100 miles or
-- national; one in twenty vetoed at clinical review), and offers of
-- capacity from each provider in the three largest admitted specialties
-- where its median wait is below the ICS's.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ptl_synth.mutual_aid(seed bigint DEFAULT 42)
RETURNS TABLE (what text, rows_made bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_census date := (SELECT max(r.census) FROM ptl.rtt_pathway r);
    n bigint;
    o record;
BEGIN
    IF v_census IS NULL THEN
        RAISE EXCEPTION 'refresh the ICS before generating mutual aid' USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    WITH districts AS (
        SELECT DISTINCT ptl.postcode_district_of(x.postcode) AS district
        FROM (SELECT postcode FROM ptl.patient UNION ALL SELECT postcode FROM ptl.site) x
        WHERE ptl.postcode_district_of(x.postcode) ~ '^Q[A-Z][0-9]{1,2}$'),
    placed AS (
        SELECT d.district, strpos('ABDEFGHJLNPRSTUWY', substr(d.district, 2, 1)) AS trust_k,
               ptl_synth.u(hashtext(d.district)::bigint * 8 + 1, seed) AS r1,
               ptl_synth.u(hashtext(d.district)::bigint * 8 + 2, seed) AS r2
        FROM districts d),
    ins AS (
        INSERT INTO ptl.postcode_district (district, latitude, longitude)
        SELECT p.district,
               51.60 + 0.30 * (p.trust_k % 3) + 0.18 * sqrt(p.r1) * cos(2 * pi() * p.r2),
               0.45 - 0.45 * (p.trust_k / 3) + 0.28 * sqrt(p.r1) * sin(2 * pi() * p.r2)
        FROM placed p
        ON CONFLICT (district) DO NOTHING
        RETURNING 1)
    SELECT count(*) INTO n FROM ins;
    what := 'postcode districts'; rows_made := n; RETURN NEXT;

    UPDATE ptl.site s SET latitude = d.latitude, longitude = d.longitude
    FROM ptl.postcode_district d
    WHERE d.district = ptl.postcode_district_of(s.postcode) AND s.latitude IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    what := 'sites placed'; rows_made := n; RETURN NEXT;

    WITH asked AS (
        INSERT INTO ptl.transfer_preference (pathway_id, opted_in, radius_miles, recorded_on, clinician_veto, veto_reason)
        SELECT l.pathway_id, true,
               CASE WHEN ptl_synth.u(l.pathway_id * 16 + 2, seed) < 0.5 THEN 50
                    WHEN ptl_synth.u(l.pathway_id * 16 + 2, seed) < 0.8 THEN 100 END,
               v_census - floor(ptl_synth.u(l.pathway_id * 16 + 3, seed) * 30)::int,
               ptl_synth.u(l.pathway_id * 16 + 4, seed) < 0.05,
               CASE WHEN ptl_synth.u(l.pathway_id * 16 + 4, seed) < 0.05
                    THEN 'needs surgeon and anaesthetist who know the history' END
        FROM ptl.ptl l
        WHERE l.waiting_list_entry_id IS NOT NULL AND l.days_waited > 200
          AND ptl_synth.u(l.pathway_id * 16 + 1, seed) < 1.0 / 3
        ON CONFLICT (pathway_id) DO NOTHING
        RETURNING 1)
    SELECT count(*) INTO n FROM asked;
    what := 'patients opted in'; rows_made := n; RETURN NEXT;

    n := 0;
    FOR o IN
        WITH big AS (
            SELECT l.treatment_function FROM ptl.ptl l WHERE l.waiting_list_entry_id IS NOT NULL
            GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 3),
        waits AS (
            SELECT l.treatment_function, l.provider_org,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY l.days_waited) AS median,
                   count(*) AS listed
            FROM ptl.ptl l JOIN big USING (treatment_function)
            WHERE l.waiting_list_entry_id IS NOT NULL
            GROUP BY 1, 2)
        SELECT w.treatment_function, w.provider_org, w.listed,
               (SELECT min(s.site_code) FROM ptl.site s WHERE s.org_code = w.provider_org) AS site_code
        FROM waits w
        WHERE w.median < (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l.days_waited)
                          FROM ptl.ptl l WHERE l.treatment_function = w.treatment_function
                            AND l.waiting_list_entry_id IS NOT NULL)
        ORDER BY 1, 2
    LOOP
        WITH offer AS (
            INSERT INTO ptl.mutual_aid_offer (offering_org, site_code, treatment_function, capability,
                                              available_from, available_until, sessions, conditions)
            VALUES (o.provider_org, o.site_code, o.treatment_function, 'inpatient', v_census + 14, v_census + 55,
                    6, 'ASA 1-3; own pre-operative assessment')
            RETURNING offer_id)
        SELECT n + ptl.add_mutual_aid_slots(offer.offer_id, greatest(5, (o.listed / 40)::int)) INTO n FROM offer;
    END LOOP;
    what := 'mutual aid slots offered'; rows_made := n; RETURN NEXT;

    INSERT INTO ptl.mutual_aid_request (requesting_org, treatment_function, patients, min_wait_weeks,
                                        needed_from, needed_until, cohort)
    SELECT w.provider_org, w.treatment_function, greatest(5, (count(*) / 20)::int), 40, v_census + 14, v_census + 90,
           'admitted patients over 40 weeks'
    FROM ptl.ptl w
    WHERE w.waiting_list_entry_id IS NOT NULL AND w.days_waited > 280
    GROUP BY w.provider_org, w.treatment_function
    HAVING count(*) >= 20;
    GET DIAGNOSTICS n = ROW_COUNT;
    what := 'mutual aid requests'; rows_made := n; RETURN NEXT;
END $$;
COMMENT ON FUNCTION ptl_synth.mutual_aid(bigint) IS
    'Adds synthetic postcode district coordinates, site coordinates, patients'' transfer wishes, mutual aid offers with slots and requests to a generated and refreshed ICS';
