-- ---------------------------------------------------------------------------
-- ptl_synth.mutual_aid(seed): what mutual aid needs on top of a generated,
-- loaded and refreshed ICS.  Synthetic coordinates for the synthetic
-- postcode districts (each trust's districts within about 12 miles of a
-- centre; the trusts' centres some 20 to 40 miles apart), the sites at their
-- districts' centres, patients' wishes (a third of the admitted list waiting
-- over 200 days opted in, with a radius of 50 miles, 100 miles or
-- national; one in twenty vetoed at clinical review), and offers of
-- capacity from each provider in the three largest admitted specialties
-- where its median wait is below the ICS's.  Wishes and offers are staged
-- as each trust's extracts (ptl.daily_refresh loads them).
-- ---------------------------------------------------------------------------
CREATE FUNCTION ptl_synth.mutual_aid(seed bigint DEFAULT 42)
RETURNS TABLE (what text, rows_made bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_census date := (SELECT max(r.census) FROM ptl.rtt_pathway r);
    n bigint;
    o record;
    batch bigint;
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

    -- Patients' wishes and the offers are what each trust's own systems
    -- hold: staged as its transfer preference and mutual aid extracts, in
    -- a closed batch a trust, which ptl.daily_refresh loads.
    IF to_regclass('pg_temp.synth_aid_asked') IS NOT NULL THEN DROP TABLE pg_temp.synth_aid_asked; END IF;
    CREATE TEMP TABLE synth_aid_asked ON COMMIT DROP AS
    SELECT p.provider_org, p.ppid_issuer, p.ppid,
           CASE WHEN ptl_synth.u(l.pathway_id * 16 + 2, seed) < 0.5 THEN 50
                WHEN ptl_synth.u(l.pathway_id * 16 + 2, seed) < 0.8 THEN 100 END AS radius_miles,
           v_census - floor(ptl_synth.u(l.pathway_id * 16 + 3, seed) * 30)::int AS recorded_on,
           ptl_synth.u(l.pathway_id * 16 + 4, seed) < 0.05 AS clinician_veto,
           CASE WHEN ptl_synth.u(l.pathway_id * 16 + 4, seed) < 0.05
                THEN 'needs surgeon and anaesthetist who know the history' END AS veto_reason
    FROM ptl.ptl l
    JOIN ptl.pathway p ON p.pathway_id = l.pathway_id
    WHERE l.waiting_list_entry_id IS NOT NULL AND l.days_waited > 200
      AND ptl_synth.u(l.pathway_id * 16 + 1, seed) < 1.0 / 3
      AND NOT EXISTS (SELECT 1 FROM ptl.transfer_preference t WHERE t.pathway_id = l.pathway_id);
    SELECT count(*) INTO n FROM synth_aid_asked;
    what := 'patients opted in'; rows_made := n; RETURN NEXT;

    -- Offers of capacity, each with its slots spread evenly over the
    -- weekdays of its dates (as ptl.add_mutual_aid_slots spreads them).
    IF to_regclass('pg_temp.synth_aid_offer') IS NOT NULL THEN DROP TABLE pg_temp.synth_aid_offer; END IF;
    CREATE TEMP TABLE synth_aid_offer ON COMMIT DROP AS
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
    SELECT w.treatment_function, w.provider_org, 'MA' || w.treatment_function || '-' || to_char(v_census, 'YYYYMMDD') AS offer_ref,
           greatest(5, (w.listed / 40)::int) AS slots,
           (SELECT min(s.site_code) FROM ptl.site s WHERE s.org_code = w.provider_org) AS site_code
    FROM waits w
    WHERE w.median < (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l.days_waited)
                      FROM ptl.ptl l WHERE l.treatment_function = w.treatment_function
                        AND l.waiting_list_entry_id IS NOT NULL);
    IF to_regclass('pg_temp.synth_aid_slot') IS NOT NULL THEN DROP TABLE pg_temp.synth_aid_slot; END IF;
    CREATE TEMP TABLE synth_aid_slot ON COMMIT DROP AS
    SELECT f.provider_org, f.offer_ref, f.offer_ref || '-' || k AS slot_ref,
           d.days[1 + ((k - 1) * cardinality(d.days)) / f.slots] AS slot_date
    FROM synth_aid_offer f
    CROSS JOIN LATERAL (SELECT array_agg(x::date ORDER BY x) AS days
                        FROM generate_series(v_census + 14, v_census + 55, interval '1 day') x
                        WHERE extract(isodow FROM x) < 6) d
    CROSS JOIN LATERAL generate_series(1, f.slots) k;
    SELECT count(*) INTO n FROM synth_aid_slot;
    what := 'mutual aid slots offered'; rows_made := n; RETURN NEXT;

    FOR o IN SELECT g.org_code FROM ptl.organisation g
             WHERE EXISTS (SELECT 1 FROM synth_aid_asked a WHERE a.provider_org = g.org_code)
                OR EXISTS (SELECT 1 FROM synth_aid_offer x WHERE x.provider_org = g.org_code)
             ORDER BY 1 LOOP
        batch := ptl.open_batch(o.org_code, 'PAS', NULL, 'transfer preferences and mutual aid offers (ptl_synth.mutual_aid)');
        INSERT INTO ptl_stage.transfer_preference (batch_id, ppid_issuer, ppid, opted_in, radius_miles, recorded_on,
                                                   clinician_veto, veto_reason)
        SELECT batch, a.ppid_issuer, a.ppid, 'Y', a.radius_miles::text, to_char(a.recorded_on, 'YYYY-MM-DD'),
               CASE WHEN a.clinician_veto THEN 'Y' ELSE 'N' END, a.veto_reason
        FROM synth_aid_asked a WHERE a.provider_org = o.org_code ORDER BY a.ppid_issuer, a.ppid;
        INSERT INTO ptl_stage.mutual_aid_offer (batch_id, offer_ref, site_code, treatment_function, capability,
                                                available_from, available_until, sessions, conditions)
        SELECT batch, x.offer_ref, x.site_code, x.treatment_function, 'inpatient',
               to_char(v_census + 14, 'YYYY-MM-DD'), to_char(v_census + 55, 'YYYY-MM-DD'), '6',
               'ASA 1-3; own pre-operative assessment'
        FROM synth_aid_offer x WHERE x.provider_org = o.org_code ORDER BY x.offer_ref;
        INSERT INTO ptl_stage.mutual_aid_slot (batch_id, offer_ref, slot_ref, slot_date)
        SELECT batch, x.offer_ref, x.slot_ref, to_char(x.slot_date, 'YYYY-MM-DD')
        FROM synth_aid_slot x WHERE x.provider_org = o.org_code ORDER BY x.offer_ref, x.slot_date, x.slot_ref;
        PERFORM ptl.close_batch(batch);
        what := format('batch %s (%s) ready for ptl.daily_refresh', batch, o.org_code); rows_made := 1; RETURN NEXT;
    END LOOP;

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
    'Adds synthetic postcode district coordinates, site coordinates and mutual aid requests to a generated and refreshed ICS, and stages each trust''s patients'' transfer wishes and mutual aid offers with slots as extracts in a closed batch for ptl.daily_refresh to load';

-- A mutual aid instance for benchmarks: `patients` patients waiting at
-- three origin providers in four specialties and `slots` slots offered by
-- five providers, as of 2025-03-31, seeded.  Places are within about 60
-- miles of each other; E_o comes from each origin list's rank at a random
-- throughput, as ptl.mutual_aid_candidate computes it.
CREATE FUNCTION ptl_synth.aid_instance(patients int, slots int, seed bigint DEFAULT 1,
                                       OUT patient_list ptl.aid_patient[], OUT slot_list ptl.aid_slot[])
LANGUAGE sql STABLE PARALLEL SAFE AS $$
WITH p AS (
    SELECT k, 'RA' || (1 + (k % 3)) AS origin,
           (ARRAY['110', '120', '130', '101'])[1 + floor(ptl_synth.u(k * 32 + 1, seed) * 4)::int] AS tfc,
           (ARRAY['W37.1', 'W40.1', 'W38.2', 'T20.1', 'E03.6'])[1 + floor(ptl_synth.u(k * 32 + 2, seed) * 5)::int] AS proc,
           date '2025-03-31' - (150 + floor(ptl_synth.u(k * 32 + 3, seed) * 550)::int) AS start,
           CASE WHEN ptl_synth.u(k * 32 + 4, seed) < 0.1 THEN 'P2' WHEN ptl_synth.u(k * 32 + 4, seed) < 0.45 THEN 'P3'
                WHEN ptl_synth.u(k * 32 + 4, seed) < 0.97 THEN 'P4' ELSE 'P5' END AS priority,
           CASE WHEN ptl_synth.u(k * 32 + 5, seed) < 0.15
                THEN date '2025-03-31' + floor(ptl_synth.u(k * 32 + 6, seed) * 120)::int END AS tci,
           16 + floor(ptl_synth.u(k * 32 + 7, seed) * 75)::int AS age,
           ptl_synth.u(k * 32 + 8, seed) < 0.03 AS tertiary,
           ptl_synth.u(k * 32 + 9, seed) < 0.7 AS opted_in,
           CASE WHEN ptl_synth.u(k * 32 + 10, seed) < 0.5 THEN 50 WHEN ptl_synth.u(k * 32 + 10, seed) < 0.8 THEN 100 END AS radius,
           51.5 + ptl_synth.u(k * 32 + 11, seed) * 0.9 AS lat, -0.6 + ptl_synth.u(k * 32 + 12, seed) * 1.4 AS lon,
           (ARRAY['daycase', 'inpatient', 'inpatient', 'level2'])[1 + floor(ptl_synth.u(k * 32 + 13, seed) * 4)::int] AS cap,
           ptl_synth.u(k * 32 + 14, seed) < 0.03 AS veto,
           ptl_synth.u(k * 32 + 15, seed) < 0.02 AS suspended
    FROM generate_series(1, patients) k),
ranked AS (
    SELECT p.*, row_number() OVER (PARTITION BY p.origin, p.tfc ORDER BY p.start, p.k) AS rank,
           4 + floor(ptl_synth.u(hashtext(p.origin || p.tfc)::bigint, seed) * 16) AS per_week
    FROM p),
q AS (
    SELECT k, 'RA' || (1 + (k % 5)) AS provider,
           (ARRAY['110', '120', '130', '101'])[1 + floor(ptl_synth.u(k * 32 + 21, seed) * 4)::int] AS tfc,
           CASE WHEN ptl_synth.u(k * 32 + 22, seed) < 0.5 THEN NULL::text[]
                WHEN ptl_synth.u(k * 32 + 22, seed) < 0.75 THEN '{W37,W38,W40}' ELSE '{T20,E03}' END AS groups,
           date '2025-03-31' + 7 + floor(ptl_synth.u(k * 32 + 23, seed) * 63)::int AS d,
           (ARRAY['daycase', 'inpatient', 'inpatient', 'level2'])[1 + floor(ptl_synth.u(k * 32 + 24, seed) * 4)::int] AS cap
    FROM generate_series(1, slots) k)
SELECT (SELECT array_agg(ROW(r.k, r.origin, r.tfc, r.proc, r.start, r.priority, r.tci, r.age, r.tertiary, r.opted_in,
                             r.radius, r.lat, r.lon, r.cap, r.veto, r.suspended,
                             date '2025-03-31' + 7 * ceil(r.rank / r.per_week)::int, NULL)::ptl.aid_patient ORDER BY r.k)
        FROM ranked r),
       (SELECT array_agg(ROW(q.k, q.provider, q.provider || '01', 51.6 + 0.2 * (q.k % 5), -0.4 + 0.25 * (q.k % 5),
                             q.tfc, q.groups, q.d, q.cap, NULL)::ptl.aid_slot ORDER BY q.k)
        FROM q)
$$;
COMMENT ON FUNCTION ptl_synth.aid_instance(int, int, bigint) IS
    'A seeded mutual aid instance (patients and slots as of 2025-03-31) for benchmarks';

-- The optimal mode's problem as an LP in CPLEX format, for CBC: maximise
-- sum (W wait + saving) x over feasible pairs, each patient and slot used at
-- most once; the bipartite matching polytope is integral, so the LP
-- relaxation's optimum is a matching.  W = min(P, Q) x max saving + 1 makes
-- wait-days served count first (docs/ics.md, optimal mode).
CREATE FUNCTION ptl_synth.aid_lp(patient_list ptl.aid_patient[], slot_list ptl.aid_slot[], as_of date)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
WITH f AS (
    SELECT x.patient_key, x.slot_id, x.wait_days,
           coalesce(x.days_saved, greatest(0, 3650 - (x.slot_date - as_of))) AS saving
    FROM ptl.mutual_aid_pairs(patient_list, slot_list, as_of) x WHERE x.stage = 6),
w AS (SELECT least(count(DISTINCT patient_key), count(DISTINCT slot_id)) * max(saving) + 1 AS big FROM f)
SELECT 'Maximize' || E'\n obj: ' || coalesce(string_agg(format('%s x%s_%s', w.big * f.wait_days + f.saving,
                                                                f.patient_key, f.slot_id), ' + '), '0 x0_0')
       || E'\nSubject To\n'
       || coalesce((SELECT string_agg(format(' p%s: %s <= 1', g.patient_key, g.terms), E'\n')
                    FROM (SELECT patient_key, string_agg(format('x%s_%s', patient_key, slot_id), ' + ') AS terms
                          FROM f GROUP BY patient_key) g), '') || E'\n'
       || coalesce((SELECT string_agg(format(' q%s: %s <= 1', g.slot_id, g.terms), E'\n')
                    FROM (SELECT slot_id, string_agg(format('x%s_%s', patient_key, slot_id), ' + ') AS terms
                          FROM f GROUP BY slot_id) g), ' c0: x0_0 <= 0') || E'\nBounds\n'
       || coalesce(string_agg(format(' 0 <= x%s_%s <= 1', f.patient_key, f.slot_id), E'\n'), ' 0 <= x0_0 <= 0')
       || E'\nEnd\n'
FROM f CROSS JOIN w
GROUP BY w.big
$$;
COMMENT ON FUNCTION ptl_synth.aid_lp(ptl.aid_patient[], ptl.aid_slot[], date) IS
    'The optimal mutual aid matching as an LP in CPLEX format (for CBC in bench/aid.sh)';
