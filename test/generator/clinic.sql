-- ---------------------------------------------------------------------------
-- Clinic slot allocation: seeded instances, and a second opinion written in
-- plain SQL -- eligibility, a checker of the one-patient-a-slot rule, the
-- no-inversion rule and the earlier-dates rule, and the problem as a MIP in
-- CPLEX LP format (bench/clinic.sh solves it with CBC).  None of this is
-- used by ptl itself; tests and the benchmark call it.
-- ---------------------------------------------------------------------------

-- The functions below take and return ptl's clinic types (0.4.0).  A
-- ptl_synth installed beside an older ptl (test/t/upgrade.sh starts from
-- 0.1.0) goes without them: they are made only where the types exist.
DO $synth_clinic$
BEGIN
    IF to_regtype('ptl.clinic_slot_offer') IS NULL THEN
        RETURN;
    END IF;

    -- A seeded instance: sessions over six weeks at six sites, four clinicians
    -- per specialty and site, 8 to 14 slots a session (two in five new, three
    -- in ten follow-up, the rest either; the follow-up and either slots of one
    -- session in five virtual); patients needing a new appointment (60%) or a
    -- follow-up, a named clinician half the time, one site (60%), two (20%) or
    -- any, a tenth of the follow-ups high risk (face to face) and a tenth tied
    -- to one clinic, some not before a date or not after one.
    EXECUTE $f$
CREATE FUNCTION ptl_synth.clinic_instance(n_sessions int, n_patients int, seed bigint DEFAULT 1,
                                          first_day date DEFAULT '2025-04-07')
RETURNS TABLE (slots ptl.clinic_slot_offer[], patients ptl.clinic_patient[])
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH spec AS (SELECT row_number() OVER (ORDER BY t.specialty) AS k, t.specialty
                  FROM ptl_synth.theatre_specialties() t),
         n AS (SELECT count(*) AS n_spec FROM spec),
         s AS (SELECT i,
                      (SELECT sp.specialty FROM spec sp
                       WHERE sp.k = 1 + floor(ptl_synth.u(i * 16 + 1, seed * 2) * n.n_spec)) AS specialty,
                      1 + floor(ptl_synth.u(i * 16 + 2, seed * 2) * 6)::int AS site,
                      1 + floor(ptl_synth.u(i * 16 + 3, seed * 2) * 4)::int AS clinician,
                      first_day + floor(ptl_synth.u(i * 16 + 4, seed * 2) * 42)::int AS day,
                      8 + floor(ptl_synth.u(i * 16 + 5, seed * 2) * 7)::int AS n_slots,
                      ptl_synth.u(i * 16 + 6, seed * 2) < 0.2 AS virtual
               FROM generate_series(1, n_sessions) i, n),
         x AS (SELECT s.*, k,
                      CASE WHEN k <= round(0.4 * s.n_slots) THEN 'new'
                           WHEN k <= round(0.7 * s.n_slots) THEN 'follow_up' ELSE 'either' END AS slot_type
               FROM s, generate_series(1, s.n_slots) k),
         c AS (SELECT i, sp.specialty,
                      1 + floor(ptl_synth.u(i * 16 + 2, seed * 2 + 1) * 6)::int AS site,
                      ptl_synth.u(i * 16 + 3, seed * 2 + 1) AS v_need,
                      ptl_synth.u(i * 16 + 4, seed * 2 + 1) AS v_cons,
                      ptl_synth.u(i * 16 + 5, seed * 2 + 1) AS v_site,
                      ptl_synth.u(i * 16 + 6, seed * 2 + 1) AS v_risk,
                      ptl_synth.u(i * 16 + 7, seed * 2 + 1) AS v_from,
                      ptl_synth.u(i * 16 + 8, seed * 2 + 1) AS v_until,
                      row_number() OVER (ORDER BY ptl_synth.u(i * 16 + 10, seed * 2 + 1), i) AS pos
               FROM generate_series(1, n_patients) i, n, spec sp
               WHERE sp.k = 1 + floor(ptl_synth.u(i * 16 + 1, seed * 2 + 1) * n.n_spec))
    SELECT (SELECT array_agg(ROW(x.i * 100 + x.k, x.i, x.day,
                                 'K' || x.specialty || '-' || x.site || '-' || x.clinician, 'S' || x.site, x.specialty,
                                 'C' || x.specialty || '-' || x.site || '-' || x.clinician,
                                 x.slot_type, NOT (x.virtual AND x.slot_type <> 'new'))::ptl.clinic_slot_offer
                             ORDER BY x.i, x.k)
            FROM x),
           (SELECT array_agg(ROW(c.i, CASE WHEN c.v_need < 0.6 THEN 'new' ELSE 'follow_up' END, c.specialty,
                                 CASE WHEN c.v_cons < 0.5
                                      THEN 'C' || c.specialty || '-' || c.site || '-' || (1 + floor(c.v_cons * 8)::int) END,
                                 CASE WHEN c.v_need >= 0.6 AND c.v_risk >= 0.9
                                      THEN 'K' || c.specialty || '-' || c.site || '-' || (1 + floor((c.v_risk - 0.9) * 40)::int) END,
                                 CASE WHEN c.v_cons < 0.5 OR c.v_site < 0.6 THEN ARRAY['S' || c.site]
                                      WHEN c.v_site < 0.8 THEN ARRAY['S' || c.site, 'S' || (c.site % 6 + 1)] END,
                                 c.v_need >= 0.6 AND c.v_risk < 0.1,
                                 c.pos,
                                 CASE WHEN c.v_from < 0.3 THEN first_day + floor(c.v_from * 100)::int END,
                                 CASE WHEN c.v_until < 0.2 THEN first_day + 14 + floor(c.v_until * 100)::int END
                                 )::ptl.clinic_patient ORDER BY c.i)
            FROM c);
END
$f$;
    EXECUTE $f$
COMMENT ON FUNCTION ptl_synth.clinic_instance(int, int, bigint, date) IS
    'A seeded clinic allocation instance: n_sessions clinic sessions over six weeks from first_day, with their slots, and n_patients waiting patients'
$f$;

    -- Eligibility written again in SQL (the C is in src/outpatient/allocate_clinic.c).
    EXECUTE $f$
CREATE FUNCTION ptl_synth.clinic_eligible(slots ptl.clinic_slot_offer[], patients ptl.clinic_patient[])
RETURNS TABLE (patient_key bigint, slot_id bigint)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT c.patient_key, s.slot_id
    FROM unnest(patients) c, unnest(slots) s
    WHERE c.specialty = s.specialty
      AND (c.clinician IS NULL OR c.clinician = s.clinician)
      AND (c.clinic_code IS NULL OR c.clinic_code = s.clinic_code)
      AND (c.site_codes IS NULL OR s.site_code = ANY (c.site_codes))
      AND (c.ready_from IS NULL OR s.session_date >= c.ready_from)
      AND (c.ready_until IS NULL OR s.session_date <= c.ready_until)
      AND s.slot_type IN (c.need, 'either')
      AND (s.face_to_face OR NOT coalesce(c.face_to_face, false));
END
$f$;
    EXECUTE $f$
COMMENT ON FUNCTION ptl_synth.clinic_eligible(ptl.clinic_slot_offer[], ptl.clinic_patient[]) IS
    'Every (patient, slot) pair that is eligible: specialty, clinician if named, clinic if asked for, site, dates, slot type, face to face if needed'
$f$;

    -- Check an allocation against the rules; one row of counts.  An inversion
    -- is an unbooked patient u and a booked patient j further down the order
    -- in a slot u is eligible for; a date inversion is a booked patient i with
    -- a later date than a booked j further down whose slot i is eligible for,
    -- while j is eligible for i's (they could swap).
    EXECUTE $f$
CREATE FUNCTION ptl_synth.clinic_check(slots ptl.clinic_slot_offer[], patients ptl.clinic_patient[],
                                       booked_patient bigint[], booked_slot bigint[])
RETURNS TABLE (patients_booked bigint, ineligible bigint, double_booked_slots bigint, double_booked_patients bigint,
               inversions bigint, date_inversions bigint)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH a AS MATERIALIZED (SELECT b.patient_key, b.slot_id FROM unnest(booked_patient, booked_slot) b(patient_key, slot_id)),
         e AS MATERIALIZED (SELECT * FROM ptl_synth.clinic_eligible(slots, patients)),
         c AS MATERIALIZED (SELECT x.patient_key, x.list_rank AS pos FROM unnest(patients) x),
         d AS MATERIALIZED (SELECT x.slot_id, x.session_date FROM unnest(slots) x)
    SELECT (SELECT count(DISTINCT a.patient_key) FROM a),
           (SELECT count(*) FROM a WHERE NOT EXISTS (SELECT FROM e WHERE e.patient_key = a.patient_key AND e.slot_id = a.slot_id)),
           (SELECT count(*) - count(DISTINCT a.slot_id) FROM a),
           (SELECT count(*) - count(DISTINCT a.patient_key) FROM a),
           (SELECT count(*)
            FROM c u JOIN e ON e.patient_key = u.patient_key
                     JOIN a j ON j.slot_id = e.slot_id
                     JOIN c cj ON cj.patient_key = j.patient_key
            WHERE NOT EXISTS (SELECT FROM a WHERE a.patient_key = u.patient_key)
              AND (cj.pos, cj.patient_key) > (u.pos, u.patient_key)),
           (SELECT count(*)
            FROM a i JOIN c ci ON ci.patient_key = i.patient_key JOIN d di ON di.slot_id = i.slot_id
            JOIN e ei ON ei.patient_key = i.patient_key
            JOIN a j ON j.slot_id = ei.slot_id JOIN c cj ON cj.patient_key = j.patient_key JOIN d dj ON dj.slot_id = j.slot_id
            WHERE (cj.pos, cj.patient_key) > (ci.pos, ci.patient_key) AND dj.session_date < di.session_date
              AND EXISTS (SELECT FROM e WHERE e.patient_key = j.patient_key AND e.slot_id = i.slot_id));
END
$f$;
    EXECUTE $f$
COMMENT ON FUNCTION ptl_synth.clinic_check(ptl.clinic_slot_offer[], ptl.clinic_patient[], bigint[], bigint[]) IS
    'Patients booked by a clinic allocation, and its breaches: ineligible bookings, slots or patients booked twice, priority inversions, date inversions'
$f$;

    -- The same problem as a MIP in CPLEX LP format, for glpsol or cbc: x_p_s
    -- for every eligible pair, one patient a slot, one slot a patient, and with
    -- no_inversion, for every slot s and eligible patients u before j on the
    -- list, x_js <= b_u (b_u = 1 when u is booked anywhere): j may hold a slot
    -- u could have had only if u is booked.  Objective: patients booked.
    EXECUTE $f$
CREATE FUNCTION ptl_synth.clinic_lp(slots ptl.clinic_slot_offer[], patients ptl.clinic_patient[],
                                    no_inversion boolean DEFAULT true)
RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH e AS MATERIALIZED (
             SELECT e.patient_key, e.slot_id, c.list_rank AS pos, 'x' || e.patient_key || '_' || e.slot_id AS v
             FROM ptl_synth.clinic_eligible(slots, patients) e
             JOIN unnest(patients) c ON c.patient_key = e.patient_key)
    SELECT line FROM (
        SELECT 1 AS part, 0::bigint AS k, 0::bigint AS k2, 'Maximize' AS line
        UNION ALL
        SELECT 2, 0, 0, ' obj: ' || coalesce(string_agg(e.v, ' + ' ORDER BY e.patient_key, e.slot_id), '0 dummy') FROM e
        UNION ALL SELECT 3, 0, 0, 'Subject To'
        UNION ALL
        SELECT 4, e.patient_key, 0, ' b' || e.patient_key || ': b' || e.patient_key || ' - '
                                    || string_agg(e.v, ' - ' ORDER BY e.slot_id) || ' = 0'
        FROM e GROUP BY e.patient_key
        UNION ALL
        SELECT 5, e.slot_id, 0, ' s' || e.slot_id || ': ' || string_agg(e.v, ' + ' ORDER BY e.patient_key) || ' <= 1'
        FROM e GROUP BY e.slot_id
        UNION ALL
        SELECT 6, ej.slot_id, eu.patient_key * 1000000 + ej.patient_key,
               ' inv' || eu.patient_key || '_' || ej.patient_key || '_' || ej.slot_id || ': '
               || ej.v || ' - b' || eu.patient_key || ' <= 0'
        FROM e eu JOIN e ej ON ej.slot_id = eu.slot_id AND (ej.pos, ej.patient_key) > (eu.pos, eu.patient_key)
        WHERE no_inversion
        UNION ALL SELECT 7, 0, 0, 'Bounds'
        UNION ALL SELECT 8, e.patient_key, 0, ' 0 <= b' || e.patient_key || ' <= 1' FROM e GROUP BY e.patient_key
        UNION ALL SELECT 10, 0, 0, 'Binary'
        UNION ALL SELECT 11, 0, 0, ' ' || e.v FROM e
        UNION ALL SELECT 12, 0, 0, 'End') l
    ORDER BY part, k, k2;
END
$f$;
    EXECUTE $f$
COMMENT ON FUNCTION ptl_synth.clinic_lp(ptl.clinic_slot_offer[], ptl.clinic_patient[], boolean) IS
    'The clinic allocation problem as a CPLEX LP file (lines) for glpsol or cbc; with no_inversion, the list-order rule as constraints, otherwise an upper bound on patients booked'
$f$;

END
$synth_clinic$;
