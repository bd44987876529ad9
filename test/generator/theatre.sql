-- ---------------------------------------------------------------------------
-- Theatre allocation: seeded instances in the synthetic ICS's shape, and a
-- second opinion written in plain SQL -- eligibility, a checker of capacity
-- and of the no-inversion rule, a brute-force optimum for small instances,
-- and the MIP as a CPLEX LP file (bench/theatre.sh solves it with CBC).
-- None of this is used by ptl itself; tests and the benchmark call it.
-- ---------------------------------------------------------------------------

-- Specialties with theatre work: the synthetic ICS's RTT lines that carry
-- procedures, each with its typical procedure minutes.
CREATE FUNCTION ptl_synth.theatre_specialties()
RETURNS TABLE (specialty text, minutes int[])
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT m.line, array_agg(m.minutes ORDER BY m.opcs)
    FROM ptl_synth.procedure_mix m
    GROUP BY m.line
    ORDER BY m.line;
END;
COMMENT ON FUNCTION ptl_synth.theatre_specialties() IS
    'Specialties (RTT lines) that have procedures in the synthetic ICS, with their procedures'' typical minutes';

-- A seeded allocation instance: sessions over six weeks at six sites, 4-hour
-- (70%) or 8-hour lists, three consultants per specialty and site; cases
-- with the synthetic procedures' minutes +-25%, a named consultant 30% of
-- the time, one or two sites or any, readiness windows and equipment.
CREATE FUNCTION ptl_synth.theatre_instance(n_sessions int, n_cases int, seed bigint DEFAULT 1,
                                           first_day date DEFAULT '2025-04-07')
RETURNS TABLE (slots ptl.theatre_slot[], cases ptl.theatre_case[])
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH spec AS (SELECT row_number() OVER (ORDER BY t.specialty) AS k, t.specialty, t.minutes
                  FROM ptl_synth.theatre_specialties() t),
         n AS (SELECT count(*) AS n_spec FROM spec),
         s AS (SELECT i,
                      (SELECT sp.specialty FROM spec sp
                       WHERE sp.k = 1 + floor(ptl_synth.u(i * 16 + 1, seed * 2) * n.n_spec)) AS specialty,
                      1 + floor(ptl_synth.u(i * 16 + 2, seed * 2) * 6)::int AS site,
                      1 + floor(ptl_synth.u(i * 16 + 3, seed * 2) * 3)::int AS consultant,
                      first_day + floor(ptl_synth.u(i * 16 + 4, seed * 2) * 42)::int AS day,
                      CASE WHEN ptl_synth.u(i * 16 + 5, seed * 2) < 0.7 THEN 240 ELSE 480 END AS capacity,
                      array_remove(ARRAY[CASE WHEN ptl_synth.u(i * 16 + 6, seed * 2) < 0.30 THEN 'image_intensifier' END,
                                         CASE WHEN ptl_synth.u(i * 16 + 7, seed * 2) < 0.10 THEN 'laser' END,
                                         CASE WHEN ptl_synth.u(i * 16 + 8, seed * 2) < 0.05 THEN 'robot' END],
                                   NULL) AS equipment
               FROM generate_series(1, n_sessions) i, n),
         c AS (SELECT i, sp.specialty, sp.minutes,
                      1 + floor(ptl_synth.u(i * 16 + 2, seed * 2 + 1) * 6)::int AS site,
                      ptl_synth.u(i * 16 + 3, seed * 2 + 1) AS v_cons,
                      ptl_synth.u(i * 16 + 4, seed * 2 + 1) AS v_site,
                      ptl_synth.u(i * 16 + 5, seed * 2 + 1) AS v_proc,
                      ptl_synth.u(i * 16 + 6, seed * 2 + 1) AS v_dur,
                      ptl_synth.u(i * 16 + 7, seed * 2 + 1) AS v_from,
                      ptl_synth.u(i * 16 + 8, seed * 2 + 1) AS v_until,
                      ptl_synth.u(i * 16 + 9, seed * 2 + 1) AS v_kit,
                      row_number() OVER (ORDER BY ptl_synth.u(i * 16 + 10, seed * 2 + 1), i) AS pos
               FROM generate_series(1, n_cases) i, n, spec sp
               WHERE sp.k = 1 + floor(ptl_synth.u(i * 16 + 1, seed * 2 + 1) * n.n_spec))
    SELECT (SELECT array_agg(ROW(s.i, s.day, 'S' || s.site, s.specialty,
                                 'C' || s.specialty || '-' || s.site || '-' || s.consultant,
                                 s.capacity, s.equipment)::ptl.theatre_slot ORDER BY s.i)
            FROM s),
           (SELECT array_agg(ROW(c.i, c.specialty,
                                 CASE WHEN c.v_cons < 0.3
                                      THEN 'C' || c.specialty || '-' || c.site || '-' || (1 + floor(c.v_cons * 10)::int) END,
                                 CASE WHEN c.v_cons < 0.3 OR c.v_site < 0.5 THEN ARRAY['S' || c.site]
                                      WHEN c.v_site < 0.7 THEN ARRAY['S' || c.site, 'S' || (c.site % 6 + 1)] END,
                                 (5 * round(c.minutes[1 + floor(c.v_proc * cardinality(c.minutes))::int]
                                            * (0.75 + 0.5 * c.v_dur) / 5))::int,
                                 c.pos,
                                 CASE WHEN c.v_from < 0.4 THEN first_day + floor(c.v_from * 50)::int END,
                                 CASE WHEN c.v_until < 0.6 THEN first_day + 28 + floor(c.v_until * 90)::int END,
                                 CASE WHEN c.v_kit < 0.08 THEN ARRAY['image_intensifier']
                                      WHEN c.v_kit < 0.10 THEN ARRAY['robot']
                                      WHEN c.v_kit < 0.13 THEN ARRAY['laser'] END)::ptl.theatre_case ORDER BY c.i)
            FROM c);
END;
COMMENT ON FUNCTION ptl_synth.theatre_instance(int, int, bigint, date) IS
    'A seeded theatre allocation instance: n_sessions sessions over six weeks from first_day and n_cases waiting-list cases';

-- Eligibility written again in SQL (the C is in src/theatre/allocate.c).
CREATE FUNCTION ptl_synth.theatre_eligible(slots ptl.theatre_slot[], cases ptl.theatre_case[],
                                           turnaround_minutes int DEFAULT 15)
RETURNS TABLE (case_id bigint, session_id bigint)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT c.case_id, s.session_id
    FROM unnest(cases) c, unnest(slots) s
    WHERE c.specialty = s.specialty
      AND (c.consultant IS NULL OR c.consultant = s.consultant)
      AND (c.site_codes IS NULL OR s.site_code = ANY (c.site_codes))
      AND (c.ready_from IS NULL OR s.session_date >= c.ready_from)
      AND (c.ready_until IS NULL OR s.session_date <= c.ready_until)
      AND coalesce(array_remove(c.equipment, NULL), '{}') <@ coalesce(s.equipment, '{}')
      AND c.duration_minutes <= s.capacity_minutes;
END;
COMMENT ON FUNCTION ptl_synth.theatre_eligible(ptl.theatre_slot[], ptl.theatre_case[], int) IS
    'Every (case, session) pair that is eligible: specialty, consultant if named, site, readiness window, equipment, and duration within capacity';

-- Check an allocation against the rules; one row of counts.  An inversion is
-- an unbooked case u and a booked case j further down the list in a session
-- u is eligible for, where u would fit had j not been there.
CREATE FUNCTION ptl_synth.theatre_check(slots ptl.theatre_slot[], cases ptl.theatre_case[],
                                        turnaround_minutes int, booked_case bigint[], booked_session bigint[])
RETURNS TABLE (booked_minutes bigint, patients_booked bigint, ineligible bigint,
               overfull_sessions bigint, double_booked bigint, inversions bigint)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH a AS MATERIALIZED (SELECT b.case_id, b.session_id FROM unnest(booked_case, booked_session) b(case_id, session_id)),
         e AS MATERIALIZED (SELECT * FROM ptl_synth.theatre_eligible(slots, cases, turnaround_minutes)),
         c AS MATERIALIZED (SELECT x.case_id, x.duration_minutes AS d, x.list_position AS pos FROM unnest(cases) x),
         load AS MATERIALIZED (
             SELECT s.session_id, s.capacity_minutes AS cap,
                    coalesce(sum(c.d + turnaround_minutes), 0) AS used   -- includes one turnaround too many
             FROM unnest(slots) s LEFT JOIN a ON a.session_id = s.session_id LEFT JOIN c ON c.case_id = a.case_id
             GROUP BY s.session_id, s.capacity_minutes)
    SELECT (SELECT coalesce(sum(c.d), 0) FROM a JOIN c USING (case_id)),
           (SELECT count(DISTINCT a.case_id) FROM a),
           (SELECT count(*) FROM a WHERE NOT EXISTS (SELECT FROM e WHERE e.case_id = a.case_id AND e.session_id = a.session_id)),
           (SELECT count(*) FROM load WHERE used > cap + turnaround_minutes),
           (SELECT count(*) - count(DISTINCT a.case_id) FROM a),
           (SELECT count(*)
            FROM c u JOIN e ON e.case_id = u.case_id
                     JOIN a j ON j.session_id = e.session_id
                     JOIN c cj ON cj.case_id = j.case_id
                     JOIN load l ON l.session_id = e.session_id
            WHERE NOT EXISTS (SELECT FROM a WHERE a.case_id = u.case_id)
              AND (cj.pos, cj.case_id) > (u.pos, u.case_id)
              AND l.used - (cj.d + turnaround_minutes) + (u.d + turnaround_minutes) <= l.cap + turnaround_minutes);
END;
COMMENT ON FUNCTION ptl_synth.theatre_check(ptl.theatre_slot[], ptl.theatre_case[], int, bigint[], bigint[]) IS
    'Booked minutes and patients of an allocation, and its breaches: ineligible bookings, overfull sessions, double bookings, priority inversions';

-- The best allocation by brute force: every assignment of cases to an
-- eligible session or to nobody, kept if it breaks no rule; the most booked
-- minutes, then the most patients.  Small instances only ((s + 1) ^ n leaves).
CREATE FUNCTION ptl_synth.theatre_brute_force(slots ptl.theatre_slot[], cases ptl.theatre_case[],
                                              turnaround_minutes int DEFAULT 15)
RETURNS TABLE (booked_minutes bigint, patients_booked bigint)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $fn$
DECLARE
    v_n         int := cardinality(cases);
    v_m         int := cardinality(slots);
    v_choice    int[];
    v_best_min  bigint := -1;
    v_best_pat  bigint := -1;
    v_k         int;
    v_bc        bigint[];
    v_bs        bigint[];
    v_r         record;
    v_elig      boolean[];
BEGIN
    IF v_n > 9 OR (v_m + 1) ^ v_n > 100000 THEN
        RAISE EXCEPTION 'instance too large for brute force: % cases, % sessions', v_n, v_m;
    END IF;
    -- eligibility as a flat matrix, (case - 1) * m + session
    SELECT array_agg(EXISTS (SELECT FROM ptl_synth.theatre_eligible(slots, cases, turnaround_minutes) e
                             WHERE e.case_id = (cases[i]).case_id AND e.session_id = (slots[j]).session_id)
                     ORDER BY i, j)
    INTO v_elig
    FROM generate_series(1, v_n) i, generate_series(1, v_m) j;
    v_choice := array_fill(0, ARRAY[v_n]);
    LOOP
        -- evaluate the assignment when every chosen session is eligible
        IF NOT EXISTS (SELECT FROM generate_series(1, v_n) i
                       WHERE v_choice[i] > 0 AND NOT v_elig[(i - 1) * v_m + v_choice[i]]) THEN
            SELECT array_agg((cases[i]).case_id), array_agg((slots[v_choice[i]]).session_id)
            INTO v_bc, v_bs
            FROM generate_series(1, v_n) i WHERE v_choice[i] > 0;
            SELECT * INTO v_r FROM ptl_synth.theatre_check(slots, cases, turnaround_minutes,
                                                           coalesce(v_bc, '{}'), coalesce(v_bs, '{}'));
            IF v_r.overfull_sessions = 0 AND v_r.inversions = 0
               AND (v_r.booked_minutes > v_best_min
                    OR (v_r.booked_minutes = v_best_min AND v_r.patients_booked > v_best_pat)) THEN
                v_best_min := v_r.booked_minutes;
                v_best_pat := v_r.patients_booked;
            END IF;
        END IF;
        -- next assignment (odometer over 0..m per case)
        v_k := 1;
        WHILE v_k <= v_n AND v_choice[v_k] = v_m LOOP
            v_choice[v_k] := 0;
            v_k := v_k + 1;
        END LOOP;
        EXIT WHEN v_k > v_n;
        v_choice[v_k] := v_choice[v_k] + 1;
    END LOOP;
    booked_minutes := v_best_min;
    patients_booked := v_best_pat;
    RETURN NEXT;
END
$fn$;
COMMENT ON FUNCTION ptl_synth.theatre_brute_force(ptl.theatre_slot[], ptl.theatre_case[], int) IS
    'Most booked minutes, then patients, over every allocation that breaks no rule (capacity, eligibility, no inversion); small instances only';

-- The same problem as a MIP in CPLEX LP format, for glpsol or cbc.  With
-- no_inversion, the rule is written as constraints for every session k and
-- pair of eligible cases u before j on the list, with helper variables
-- b_u = sum of u's x (booked or not) and L_k = load of k in needed minutes:
--   need(u) <= need(j):  x_jk <= b_u  (u would always fit in j's place)
--   otherwise:           L_k >= (C_k + T + need(j) - need(u) + 1) * (x_jk - b_u)
-- Without it the optimum is an upper bound on the optimum with the rule.
-- Objective: booked minutes, plus 1/(n+1) per patient, which orders
-- solutions by minutes first and patients second.
CREATE FUNCTION ptl_synth.theatre_lp(slots ptl.theatre_slot[], cases ptl.theatre_case[],
                                     turnaround_minutes int DEFAULT 15, no_inversion boolean DEFAULT true)
RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH e AS MATERIALIZED (
             SELECT e.case_id, e.session_id, c.duration_minutes + turnaround_minutes AS t, c.duration_minutes AS d,
                    c.list_position AS pos, s.capacity_minutes + turnaround_minutes AS cap,
                    'x' || e.case_id || '_' || e.session_id AS v
             FROM ptl_synth.theatre_eligible(slots, cases, turnaround_minutes) e
             JOIN unnest(cases) c ON c.case_id = e.case_id
             JOIN unnest(slots) s ON s.session_id = e.session_id),
         eps AS (SELECT 1.0 / (cardinality(cases) + 1) AS w)
    SELECT line FROM (
        SELECT 1 AS part, 0::bigint AS k, 0::bigint AS k2, 'Maximize' AS line
        UNION ALL
        SELECT 2, 0, 0, ' obj: ' || coalesce(string_agg(round(e.d + eps.w, 9)::text || ' ' || e.v, ' + '
                                                        ORDER BY e.case_id, e.session_id), '0 dummy')
        FROM e, eps
        UNION ALL SELECT 3, 0, 0, 'Subject To'
        UNION ALL
        SELECT 4, e.case_id, 0, ' b' || e.case_id || ': b' || e.case_id || ' - '
                                || string_agg(e.v, ' - ' ORDER BY e.session_id) || ' = 0'
        FROM e GROUP BY e.case_id
        UNION ALL
        SELECT 5, e.session_id, 0, ' load' || e.session_id || ': L' || e.session_id || ' - '
                                   || string_agg(e.t || ' ' || e.v, ' - ' ORDER BY e.case_id) || ' = 0'
        FROM e GROUP BY e.session_id
        UNION ALL
        SELECT 6, ej.session_id, eu.case_id * 1000000 + ej.case_id,
               ' inv' || eu.case_id || '_' || ej.case_id || '_' || ej.session_id || ': '
               || CASE WHEN eu.t <= ej.t
                       THEN ej.v || ' - b' || eu.case_id || ' <= 0'
                       ELSE 'L' || ej.session_id || ' - ' || (ej.cap + ej.t - eu.t + 1) || ' ' || ej.v
                            || ' + ' || (ej.cap + ej.t - eu.t + 1) || ' b' || eu.case_id || ' >= 0' END
        FROM e eu JOIN e ej ON ej.session_id = eu.session_id AND (ej.pos, ej.case_id) > (eu.pos, eu.case_id)
        WHERE no_inversion
        UNION ALL SELECT 7, 0, 0, 'Bounds'
        UNION ALL SELECT 8, e.case_id, 0, ' 0 <= b' || e.case_id || ' <= 1' FROM e GROUP BY e.case_id
        UNION ALL SELECT 9, e.session_id, 0, ' 0 <= L' || e.session_id || ' <= ' || min(e.cap) FROM e GROUP BY e.session_id
        UNION ALL SELECT 10, 0, 0, 'Binary'
        UNION ALL SELECT 11, 0, 0, ' ' || e.v FROM e
        UNION ALL SELECT 12, 0, 0, 'End') l
    ORDER BY part, k, k2;
END;
COMMENT ON FUNCTION ptl_synth.theatre_lp(ptl.theatre_slot[], ptl.theatre_case[], int, boolean) IS
    'The allocation problem as a CPLEX LP file (lines) for glpsol or cbc; with no_inversion, the list-order rule as constraints, otherwise an upper bound on booked minutes';
