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

-- ---------------------------------------------------------------------------
-- Theatres for a generated and refreshed synthetic ICS: theatres at every
-- site, sessions per consultant sized to their admitted list,
-- past sessions filled with the patients admitted then (with actual times,
-- late starts, overruns and on-the-day cancellations), future sessions
-- holding the admissions already dated, pre-operative assessments, leave,
-- patient unavailability and duration history.  Deterministic for a seed.
-- ---------------------------------------------------------------------------

-- A standard normal number from two uniform ones (Box-Muller).
CREATE FUNCTION ptl_synth.normal(u1 float8, u2 float8) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN sqrt(-2 * ln(greatest(u1, 1e-12))) * cos(2 * pi() * u2);
COMMENT ON FUNCTION ptl_synth.normal(float8, float8) IS 'A standard normal variate from two uniform ones in [0, 1) (Box-Muller)';

CREATE FUNCTION ptl_synth.theatres(seed bigint DEFAULT 42, census date DEFAULT NULL,
                                   weeks_back int DEFAULT 8, weeks_ahead int DEFAULT 6,
                                   weeks_to_clear int DEFAULT 60)
RETURNS SETOF bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, YMD'
AS $fn$
DECLARE
    v_census    date := coalesce(census, (SELECT max(r.census) FROM ptl.rtt_pathway r));
    v_monday    date;
    v_first     date;
    v_last      date;
    v_slots     ptl.theatre_slot[];
    v_cases     ptl.theatre_case[];
    v_prev_batch text := current_setting('ptl.current_batch', true);
    v_b         record;
BEGIN
    IF v_census IS NULL THEN
        RAISE EXCEPTION 'no census: generate, load and refresh a synthetic ICS first';
    END IF;
    v_monday := date_trunc('week', v_census)::date;
    v_first := v_monday - 7 * weeks_back;
    v_last := v_monday + 7 * weeks_ahead + 6;

    -- Sessions per consultant: enough to clear their admitted list's
    -- minutes in weeks_to_clear weeks, spread evenly (a consultant needing
    -- 0.5 a week operates every other week, from a seeded phase).  Each
    -- site's sessions of a week fill its theatres' ten half-days in turn.
    CREATE TEMP TABLE synth_session ON COMMIT DROP AS
    SELECT x.*, (row_number() OVER (PARTITION BY x.site_code, x.wk ORDER BY x.tfc, x.consultant_code, x.j) - 1)::int AS slot
    FROM (SELECT d.site_code, d.tfc, d.consultant_code, wk, j
          FROM (SELECT w.site_code, p.treatment_function AS tfc, w.consultant_code,
                       sum(coalesce(w.expected_duration_minutes, 60) + 15) / (weeks_to_clear * 240.0) AS per_week,
                       ptl_synth.u(hashtext(w.site_code || p.treatment_function || w.consultant_code)::bigint, seed) AS phase
                FROM ptl.ptl p JOIN ptl.waiting_list_entry w ON w.entry_id = p.waiting_list_entry_id
                WHERE w.site_code IS NOT NULL AND w.consultant_code IS NOT NULL
                GROUP BY 1, 2, 3) d,
               generate_series(-weeks_back, weeks_ahead) wk,
               LATERAL generate_series(1, (floor((wk + 1000 + 1) * d.per_week + d.phase)
                                           - floor((wk + 1000) * d.per_week + d.phase))::int) j) x;

    -- Theatres are reference data an administrator keeps (not a feed).
    -- Every site's first theatre has an image intensifier, odd ones a
    -- laser, the first site's first a robot.
    INSERT INTO ptl.theatre (theatre_code, site_code, name, equipment)
    SELECT w.site_code || '-T' || (t + 1), w.site_code, 'Theatre ' || (t + 1),
           array_remove(ARRAY[CASE WHEN t = 0 THEN 'image_intensifier' END,
                              CASE WHEN t % 2 = 1 THEN 'laser' END,
                              CASE WHEN t = 0 AND w.site_code = (SELECT min(site_code) FROM synth_session) THEN 'robot' END],
                        NULL)
    FROM (SELECT site_code, max(slot) AS top FROM synth_session GROUP BY 1) w, generate_series(0, w.top / 10) t;
    INSERT INTO ptl.procedure_requirement VALUES ('W37', 'image_intensifier'), ('V25', 'image_intensifier')
    ON CONFLICT DO NOTHING;

    -- Everything else is the trusts' theatre systems' extracts, staged in
    -- one batch per organisation and patient administration system (an
    -- unavailability names its patient by that system's number); the
    -- organisation's records go in its first system's batch.
    CREATE TEMP TABLE synth_theatre_batch ON COMMIT DROP AS
    SELECT s.org_code, s.source_system,
           s.source_system = min(s.source_system) OVER (PARTITION BY s.org_code) AS main,
           ptl.open_batch(s.org_code, s.source_system, NULL, format('ptl_synth theatres seed %s, census %s', seed, v_census)) AS batch_id
    FROM (SELECT DISTINCT p.org_code, p.source_system FROM ptl.patient p) s
    ORDER BY s.org_code, s.source_system;

    -- Sessions, numbered here (the slots of the allocation below) and named
    -- by the theatre system's reference.
    CREATE TEMP TABLE synth_sess ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY w.site_code, d.day, w.slot) AS sid,
           w.site_code, st.org_code, w.site_code || '-T' || (w.slot / 10 + 1) AS theatre_code, d.day AS session_date,
           CASE WHEN w.slot % 2 = 0 THEN time '08:30' ELSE time '13:30' END AS planned_start,
           CASE WHEN w.slot % 2 = 0 THEN time '12:30' ELSE time '17:30' END AS planned_end,
           w.tfc AS specialty, w.consultant_code, d.v < 0.02 AS cancelled
    FROM synth_session w
    JOIN ptl.site st ON st.site_code = w.site_code,
         LATERAL (SELECT v_monday + 7 * w.wk + (w.slot % 10) / 2 AS day,
                         ptl_synth.u(hashtext(w.site_code || w.slot || w.wk)::bigint, seed + 1) AS v) d;
    ALTER TABLE synth_sess ADD COLUMN session_ref text;
    UPDATE synth_sess SET session_ref = theatre_code || '-' || to_char(session_date, 'YYYYMMDD')
                                        || CASE WHEN planned_start < '12:00' THEN 'AM' ELSE 'PM' END;
    INSERT INTO ptl_stage.theatre_session (batch_id, session_ref, theatre_code, session_date, planned_start, planned_end,
                                           specialty, consultant_code, cancelled, cancelled_reason)
    SELECT b.batch_id, s.session_ref, s.theatre_code, s.session_date, s.planned_start, s.planned_end,
           s.specialty, s.consultant_code, s.cancelled, CASE WHEN s.cancelled THEN 'staffing' END
    FROM synth_sess s JOIN synth_theatre_batch b ON b.org_code = s.org_code AND b.main
    ORDER BY s.sid;

    -- Past sessions: the patients admitted then, allocated within a week of
    -- their admission date, with actual times drawn around the plan.
    SELECT array_agg(ROW(s.sid, s.session_date, s.site_code, s.specialty, s.consultant_code,
                         (extract(epoch FROM s.planned_end - s.planned_start) / 60)::int, t.equipment)::ptl.theatre_slot)
    INTO v_slots
    FROM synth_sess s JOIN ptl.theatre t USING (theatre_code)
    WHERE s.session_date <= v_census AND NOT s.cancelled;
    SELECT array_agg(ROW(w.entry_id, pw.treatment_function, NULL, ARRAY[w.site_code],
                         coalesce(w.expected_duration_minutes, 60), (w.removed_date - v_first)::bigint,
                         w.removed_date - 7, w.removed_date + 7, NULL)::ptl.theatre_case)
    INTO v_cases
    FROM ptl.waiting_list_entry w JOIN ptl.pathway pw USING (pathway_id)
    WHERE w.removal_reason = 'admitted' AND w.removed_date BETWEEN v_first AND v_census AND w.site_code IS NOT NULL;
    CREATE TEMP TABLE synth_past ON COMMIT DROP AS
    SELECT a.*, row_number() OVER (PARTITION BY a.session_id ORDER BY a.start_offset_minutes) AS ord
    FROM ptl.allocate_theatre(coalesce(v_slots, '{}'), coalesce(v_cases, '{}'), 15) a;

    CREATE TEMP TABLE synth_booking ON COMMIT DROP AS
    SELECT x.sid, x.session_ref, x.org_code, x.case_id AS entry_id, x.ord, x.planned, x.cancel,
           'TB' || x.sid || '-' || x.ord AS booking_ref, x.session_date,
           CASE WHEN x.cancel THEN 'cancelled' ELSE 'completed' END AS status,
           CASE WHEN NOT x.cancel THEN x.intended_management <> '1' END AS day_case,
           CASE WHEN NOT x.cancel THEN x.t_start - interval '5 min' END AS into_theatre,
           CASE WHEN NOT x.cancel THEN x.t_start END AS anaesthetic_start,
           CASE WHEN NOT x.cancel THEN x.t_start + interval '15 min' END AS knife_to_skin,
           CASE WHEN NOT x.cancel THEN x.t_start + x.actual * interval '1 min' END AS out_of_theatre
    FROM (SELECT y.*, y.session_date + y.planned_start + (y.late + y.before) * interval '1 min' AS t_start
          FROM (SELECT p.session_id AS sid, s.session_ref, s.org_code, p.case_id, p.ord,
                       coalesce(w.expected_duration_minutes, 60) AS planned, w.intended_management,
                       s.session_date, s.planned_start, z.cancel, z.actual,
                       -- the list starts late by 0-50 minutes (mostly a few)
                       (50 * ptl_synth.u(p.session_id, seed + 7) ^ 3)::int AS late,
                       coalesce(sum(CASE WHEN z.cancel THEN 0 ELSE z.actual + z.turn END)
                                OVER (PARTITION BY p.session_id ORDER BY p.ord
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
                FROM synth_past p
                JOIN ptl.waiting_list_entry w ON w.entry_id = p.case_id
                JOIN synth_sess s ON s.sid = p.session_id
                CROSS JOIN LATERAL (
                    SELECT ptl_synth.u(p.case_id, seed + 8) < 0.03 AS cancel,
                           greatest(10, round(coalesce(w.expected_duration_minutes, 60)
                                              * exp(0.2 * ptl_synth.normal(ptl_synth.u(p.case_id, seed + 9),
                                                                           ptl_synth.u(p.case_id, seed + 10))) - 5))::int AS actual,
                           (8 + 17 * ptl_synth.u(p.case_id, seed + 11))::int AS turn) z) y) x;

    -- Future sessions hold the admissions already dated (within 3 days).
    SELECT array_agg(ROW(s.sid, s.session_date, s.site_code, s.specialty, s.consultant_code,
                         (extract(epoch FROM s.planned_end - s.planned_start) / 60)::int, t.equipment)::ptl.theatre_slot)
    INTO v_slots
    FROM synth_sess s JOIN ptl.theatre t USING (theatre_code)
    WHERE s.session_date > v_census AND NOT s.cancelled;
    SELECT array_agg(ROW(p.waiting_list_entry_id, p.treatment_function, w.consultant_code, ARRAY[w.site_code],
                         coalesce(w.expected_duration_minutes, 60), p.list_position, w.tci_date - 3, w.tci_date + 3,
                         NULL)::ptl.theatre_case)
    INTO v_cases
    FROM ptl.ptl p JOIN ptl.waiting_list_entry w ON w.entry_id = p.waiting_list_entry_id
    WHERE w.tci_date BETWEEN v_census + 1 AND v_last AND w.site_code IS NOT NULL AND p.list_position IS NOT NULL;
    INSERT INTO synth_booking (sid, session_ref, org_code, entry_id, ord, planned, cancel, booking_ref, session_date, status)
    SELECT a.sid, a.session_ref, a.org_code, a.case_id, a.ord, a.planned, false, 'TB' || a.sid || '-' || a.ord,
           a.session_date, 'booked'
    FROM (SELECT x.session_id AS sid, s.session_ref, s.org_code, s.session_date, x.case_id,
                 row_number() OVER (PARTITION BY x.session_id ORDER BY x.start_offset_minutes) AS ord,
                 coalesce(w.expected_duration_minutes, 60) AS planned
          FROM ptl.allocate_theatre(coalesce(v_slots, '{}'), coalesce(v_cases, '{}'), 15) x
          JOIN ptl.waiting_list_entry w ON w.entry_id = x.case_id
          JOIN synth_sess s ON s.sid = x.session_id) a;

    INSERT INTO ptl_stage.theatre_booking (batch_id, booking_ref, session_ref, ppid_issuer, ppid, entry_ref,
                                           planned_order, planned_minutes, status, day_case,
                                           into_theatre, anaesthetic_start, knife_to_skin, out_of_theatre)
    SELECT b.batch_id, k.booking_ref, k.session_ref, pw.ppid_issuer, pw.ppid, w.entry_ref, k.ord, k.planned, k.status,
           k.day_case, to_char(k.into_theatre, 'YYYY-MM-DD HH24:MI:SS'), to_char(k.anaesthetic_start, 'YYYY-MM-DD HH24:MI:SS'),
           to_char(k.knife_to_skin, 'YYYY-MM-DD HH24:MI:SS'), to_char(k.out_of_theatre, 'YYYY-MM-DD HH24:MI:SS')
    FROM synth_booking k
    JOIN synth_theatre_batch b ON b.org_code = k.org_code AND b.main
    JOIN ptl.waiting_list_entry w ON w.entry_id = k.entry_id
    JOIN ptl.pathway pw ON pw.pathway_id = w.pathway_id
    ORDER BY k.sid, k.ord;
    INSERT INTO ptl_stage.theatre_cancellation (batch_id, booking_ref, cancelled_on, reason_code)
    SELECT b.batch_id, k.booking_ref, k.session_date,
           (ARRAY['no_bed', 'no_bed', 'list_overran', 'emergency_priority', 'patient_unfit', 'patient_dna',
                  'staff_unavailable'])[1 + floor(7 * ptl_synth.u(k.sid * 1000 + k.ord, seed + 12))::int]
    FROM synth_booking k JOIN synth_theatre_batch b ON b.org_code = k.org_code AND b.main
    WHERE k.cancel
    ORDER BY k.sid, k.ord;

    -- Pre-operative assessment: 85% of open entries assessed in the last 90
    -- days (some expire within the horizon), 3% of them not fit.
    INSERT INTO ptl_stage.preop_assessment (batch_id, assessment_ref, ppid_issuer, ppid, entry_ref, assessed_on, outcome)
    SELECT b.batch_id, 'PA' || w.entry_id, pw.ppid_issuer, pw.ppid, w.entry_ref,
           v_census - floor(90 * ptl_synth.u(w.entry_id, seed + 21))::int,
           CASE WHEN ptl_synth.u(w.entry_id, seed + 20) < 0.03 THEN 'not_fit' ELSE 'fit' END
    FROM ptl.ptl p JOIN ptl.waiting_list_entry w ON w.entry_id = p.waiting_list_entry_id
    JOIN ptl.pathway pw ON pw.pathway_id = w.pathway_id
    JOIN synth_theatre_batch b ON b.org_code = pw.provider_org AND b.main
    WHERE ptl_synth.u(w.entry_id, seed + 20) < 0.85
    ORDER BY w.entry_id;

    -- Leave: four in ten consultants take a week in the horizon.
    INSERT INTO ptl_stage.consultant_leave (batch_id, leave_ref, consultant_code, leave_from, leave_to, leave_reason)
    SELECT b.batch_id, 'CL-' || c.consultant_code,  c.consultant_code,
           v_monday + 7 * (1 + floor(weeks_ahead * ptl_synth.u(hashtext(c.consultant_code), seed + 31))::int),
           v_monday + 7 * (1 + floor(weeks_ahead * ptl_synth.u(hashtext(c.consultant_code), seed + 31))::int) + 4,
           'annual'
    FROM (SELECT DISTINCT s.org_code, s.consultant_code FROM synth_sess s WHERE s.consultant_code IS NOT NULL) c
    JOIN synth_theatre_batch b ON b.org_code = c.org_code AND b.main
    WHERE ptl_synth.u(hashtext(c.consultant_code), seed + 30) < 0.4
    ORDER BY c.org_code, c.consultant_code;

    -- One listed patient in twenty is away for one to three weeks (in the
    -- batch of the system that numbers the patient).
    INSERT INTO ptl_stage.patient_unavailability (batch_id, unavailability_ref, local_patient_id, unavailable_from,
                                                  unavailable_to, unavailable_reason)
    SELECT b.batch_id, 'PU' || w.entry_id, pt.local_patient_id,
           v_census + floor(35 * ptl_synth.u(w.entry_id, seed + 41))::int,
           v_census + floor(35 * ptl_synth.u(w.entry_id, seed + 41))::int + 7 * (1 + floor(3 * ptl_synth.u(w.entry_id, seed + 42))::int) - 1,
           'holiday'
    FROM ptl.ptl p JOIN ptl.waiting_list_entry w ON w.entry_id = p.waiting_list_entry_id
    JOIN ptl.patient pt ON pt.patient_id = w.patient_id
    JOIN synth_theatre_batch b ON b.org_code = pt.org_code AND b.source_system = pt.source_system
    WHERE ptl_synth.u(w.entry_id, seed + 40) < 0.05
    ORDER BY w.entry_id;

    -- Duration history from the theatre system: eight past cases per
    -- procedure and consultant, lognormal around the listed minutes.
    INSERT INTO ptl_stage.procedure_duration (batch_id, case_ref, procedure_code, consultant_code, performed_on, minutes)
    SELECT b.batch_id, format('PD-%s-%s-%s', d.procedure_code, d.consultant_code, k), d.procedure_code, d.consultant_code,
           v_census - 400 + 40 * k,
           greatest(5, round(d.m * exp(0.25 * ptl_synth.normal(ptl_synth.u(hashtext(d.procedure_code || d.consultant_code)::bigint * 16 + k, seed + 50),
                                                                 ptl_synth.u(hashtext(d.procedure_code || d.consultant_code)::bigint * 16 + k, seed + 51)) - 0.03)))::int
    FROM (SELECT pw.provider_org AS org_code, w.procedure_code, w.consultant_code, avg(w.expected_duration_minutes) AS m
          FROM ptl.waiting_list_entry w JOIN ptl.pathway pw ON pw.pathway_id = w.pathway_id
          WHERE w.procedure_code IS NOT NULL AND w.consultant_code IS NOT NULL AND w.expected_duration_minutes IS NOT NULL
          GROUP BY 1, 2, 3) d
    JOIN synth_theatre_batch b ON b.org_code = d.org_code AND b.main,
         generate_series(1, 8) k
    ORDER BY d.org_code, d.procedure_code, d.consultant_code, k;

    PERFORM set_config('ptl.current_batch', coalesce(v_prev_batch, ''), false);
    RETURN QUERY SELECT b.batch_id FROM synth_theatre_batch b ORDER BY b.batch_id;
END
$fn$;
COMMENT ON FUNCTION ptl_synth.theatres(bigint, date, int, int, int) IS
    'Adds theatres (reference data) for the refreshed synthetic ICS and stages its theatre systems'' extracts: sessions (weeks_back before the census to weeks_ahead after), past bookings with actual times and cancellations, future bookings, pre-operative assessments, leave, unavailability and duration history; returns the open batches, one per organisation and PAS, for ptl.load or (closed) ptl.daily_refresh';

-- What each generated site can look after (ptl.site_capability, reference
-- data an administrator keeps), so the ICS exercises the setting rules
-- (docs/theatre.md, "The right setting by risk"): each trust's first site
-- is an acute hospital with critical care; the first trust's second site
-- is an elective hub with no level 2 or critical care beds, the second
-- trust's a day unit, and the other trusts' further sites independent
-- sector hospitals with level 2 beds but no critical care.
CREATE FUNCTION ptl_synth.site_capabilities()
RETURNS TABLE (site_code text, setting text)
LANGUAGE plpgsql VOLATILE
AS $fn$
#variable_conflict use_column
BEGIN
    -- (plpgsql: ptl_synth installs over older releases of ptl, which have no ptl.site_capability)
    RETURN QUERY
    INSERT INTO ptl.site_capability AS c (site_code, critical_care, level2_beds, day_unit_only, elective_hub,
                                          independent_sector, note)
    SELECT x.site_code, x.k = 1, x.k = 1 OR x.t > 2, x.k > 1 AND x.t = 2, x.k > 1 AND x.t = 1, x.k > 1 AND x.t > 2,
           'ptl_synth.site_capabilities'
    FROM (SELECT s.site_code,
                 row_number() OVER (PARTITION BY s.org_code ORDER BY s.site_code) AS k,
                 dense_rank() OVER (ORDER BY s.org_code) AS t
          FROM ptl.site s JOIN ptl.organisation o ON o.org_code = s.org_code AND o.org_kind = 'nhs_trust') x
    ON CONFLICT ON CONSTRAINT site_capability_pkey DO UPDATE
        SET critical_care = excluded.critical_care, level2_beds = excluded.level2_beds,
            day_unit_only = excluded.day_unit_only, elective_hub = excluded.elective_hub,
            independent_sector = excluded.independent_sector, note = excluded.note, set_at = now()
    RETURNING c.site_code,
              CASE WHEN c.critical_care THEN 'acute, critical care' WHEN c.day_unit_only THEN 'day unit'
                   WHEN c.elective_hub THEN 'elective hub, no level 2 or critical care'
                   WHEN c.independent_sector THEN 'independent sector, level 2, no critical care'
                   ELSE 'level 2, no critical care' END;
END
$fn$;
COMMENT ON FUNCTION ptl_synth.site_capabilities() IS
    'Describes the generated sites in ptl.site_capability: each trust''s first site acute with critical care, then an elective hub, a day unit and independent sector sites without critical care; returns each site and its setting';
