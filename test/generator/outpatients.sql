-- ---------------------------------------------------------------------------
-- Outpatients: seeded clinics, sessions, appointments, follow-up requests
-- with LCADs, PIFU episodes and advice and guidance, drawn from the
-- synthetic ICS's own outpatient events (every attendance, DNA and
-- cancellation becomes an appointment), so the outpatient measures and the
-- RTT clocks describe the same patients.
-- ---------------------------------------------------------------------------

CREATE FUNCTION ptl_synth.outpatients(seed bigint DEFAULT 42, census date DEFAULT NULL,
                                      independent_sector text[] DEFAULT NULL)
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
    -- Providers the demo treats as independent sector (org_kind).
    UPDATE ptl.organisation o SET org_kind = 'independent_sector' WHERE o.org_code = ANY (independent_sector);
    GET DIAGNOSTICS n = ROW_COUNT;
    what := 'independent sector providers'; rows_made := n; RETURN NEXT;

    -- Each event with what came after it on its pathway.
    CREATE TEMP TABLE synth_next ON COMMIT DROP AS
    SELECT e.event_id, e.pathway_id, e.event_date, e.kind, e.rtt_status::text AS status,
           coalesce(e.site_code, p.site_code) AS site_code, p.treatment_function,
           min(CASE WHEN e.kind = 'outpatient' THEN e.event_date END) OVER (PARTITION BY e.pathway_id) AS first_seen,
           min(CASE WHEN e.kind = 'outpatient' THEN e.event_date END) OVER later AS next_seen,
           min(CASE WHEN e.kind = 'decision_to_admit' THEN e.event_date END) OVER later AS next_listed,
           min(CASE WHEN e.kind IN ('discharge', 'death') OR e.rtt_status::text IN ('34', '35') THEN e.event_date END)
               OVER later AS next_discharged
    FROM ptl.pathway_event e
    JOIN ptl.pathway p ON p.pathway_id = e.pathway_id
    WHERE e.event_date <= v_census
    WINDOW later AS (PARTITION BY e.pathway_id ORDER BY e.event_date, e.event_id
                     ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING);

    INSERT INTO ptl.clinic (clinic_code, site_code, treatment_function, name)
    SELECT DISTINCT x.site_code || '-' || x.treatment_function, x.site_code, x.treatment_function,
           t.name || ' clinic, ' || s.name
    FROM synth_next x
    JOIN ptl.site s ON s.site_code = x.site_code
    JOIN ptl.treatment_function t ON t.tfc = x.treatment_function
    WHERE x.kind IN ('outpatient', 'dna', 'patient_cancel', 'provider_cancel')
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    what := 'clinics'; rows_made := n; RETURN NEXT;

    -- Appointments: first until the first attendance (and post-treatment
    -- reviews, 90 and 91, are follow-ups); an attendance's outcome is what
    -- followed it: listed, discharged, seen again (follow-up in that many
    -- weeks); the last attendance with nothing after it asked for a
    -- follow-up (60%), moved the patient to PIFU (15%) or discharged (25%).
    INSERT INTO ptl.outpatient_appointment (appointment_id, pathway_id, clinic_code, appointment_date, appointment_type,
                                            attendance, outcome, follow_up_weeks, booked_on)
    SELECT x.event_id, x.pathway_id, x.site_code || '-' || x.treatment_function, x.event_date,
           CASE WHEN x.event_date <= coalesce(x.first_seen, 'infinity') AND coalesce(x.status, '') NOT IN ('90', '91')
                THEN 'first' ELSE 'follow_up' END,
           CASE x.kind WHEN 'outpatient' THEN 'attended' WHEN 'dna' THEN 'dna'
                       WHEN 'patient_cancel' THEN 'cancelled_by_patient' ELSE 'cancelled_by_hospital' END,
           o.outcome,
           CASE WHEN o.outcome = 'follow_up' THEN o.weeks END,
           x.event_date - 7 - floor(ptl_synth.u(x.event_id * 8 + 1, seed) * 42)::int
    FROM synth_next x
    CROSS JOIN LATERAL (
        SELECT CASE WHEN x.kind <> 'outpatient' THEN NULL
                    WHEN x.next_listed <= x.event_date + 30 THEN 'listed'
                    WHEN x.status IN ('30', '34', '35') OR x.next_discharged <= x.event_date + 30 THEN 'discharged'
                    WHEN x.next_seen IS NOT NULL THEN 'follow_up'
                    WHEN ptl_synth.u(x.event_id * 8 + 2, seed) < 0.60 THEN 'follow_up'
                    WHEN ptl_synth.u(x.event_id * 8 + 2, seed) < 0.75 THEN 'pifu'
                    ELSE 'discharged' END AS outcome,
               least(52, greatest(1, CASE WHEN x.next_seen IS NOT NULL THEN ceil((x.next_seen - x.event_date) / 7.0)::int
                                          ELSE 4 + floor(ptl_synth.u(x.event_id * 8 + 3, seed) * 23)::int END)) AS weeks) o
    WHERE x.kind IN ('outpatient', 'dna', 'patient_cancel', 'provider_cancel') AND x.site_code IS NOT NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    what := 'appointments'; rows_made := n; RETURN NEXT;
    -- (keyed by their events above; appointments added later follow them)
    PERFORM setval(pg_get_serial_sequence('ptl.outpatient_appointment', 'appointment_id'),
                   (SELECT max(appointment_id) FROM ptl.outpatient_appointment));

    -- Follow-up requests from each follow-up outcome: due when asked, the
    -- LCAD 0 to 8 weeks later, a risk of harm from delay; met by the next
    -- attendance, or ended by a discharge, or still waiting.
    INSERT INTO ptl.follow_up_request (pathway_id, treatment_function, clinic_code, from_appointment_id, requested_on,
                                       due_date, lcad, clinical_risk, seen_appointment_id, closed_on, closed_reason)
    SELECT a.pathway_id, c.treatment_function, a.clinic_code, a.appointment_id, a.appointment_date,
           a.appointment_date + 7 * a.follow_up_weeks,
           a.appointment_date + 7 * a.follow_up_weeks + 14 * floor(ptl_synth.u(a.appointment_id * 8 + 4, seed) * 5)::int,
           CASE WHEN ptl_synth.u(a.appointment_id * 8 + 5, seed) < 0.15 THEN 'high'
                WHEN ptl_synth.u(a.appointment_id * 8 + 5, seed) < 0.50 THEN 'medium'
                WHEN ptl_synth.u(a.appointment_id * 8 + 5, seed) < 0.90 THEN 'low' END,
           seen.appointment_id,
           coalesce(seen.appointment_date, CASE WHEN x.next_discharged > a.appointment_date THEN x.next_discharged END),
           CASE WHEN seen.appointment_id IS NOT NULL THEN 'seen'
                WHEN x.next_discharged > a.appointment_date THEN 'discharged' END
    FROM ptl.outpatient_appointment a
    JOIN ptl.clinic c ON c.clinic_code = a.clinic_code
    JOIN synth_next x ON x.event_id = a.appointment_id
    LEFT JOIN LATERAL (
        SELECT b.appointment_id, b.appointment_date FROM ptl.outpatient_appointment b
        WHERE b.pathway_id = a.pathway_id AND b.attendance = 'attended' AND b.appointment_date > a.appointment_date
        ORDER BY b.appointment_date LIMIT 1) seen ON true
    WHERE a.outcome = 'follow_up';
    GET DIAGNOSTICS n = ROW_COUNT;
    what := 'follow-up requests'; rows_made := n; RETURN NEXT;

    -- Two in five waiting follow-ups have their appointment booked, from
    -- the due date (or the census) on.
    INSERT INTO ptl.outpatient_appointment (pathway_id, clinic_code, appointment_date, appointment_type, booked_on)
    SELECT f.pathway_id, f.clinic_code,
           greatest(f.due_date, v_census + 1) + floor(ptl_synth.u(f.request_id * 8 + 6, seed) * 56)::int,
           'follow_up', v_census
    FROM ptl.follow_up_request f
    WHERE f.closed_on IS NULL AND ptl_synth.u(f.request_id * 8 + 7, seed) < 0.4;
    GET DIAGNOSTICS n = ROW_COUNT;
    what := 'follow-ups booked'; rows_made := n; RETURN NEXT;

    -- PIFU: a window of 3, 6 or 12 months; one in four patients asks to be
    -- seen within it; windows past are closed at their end, one in twenty
    -- early.
    INSERT INTO ptl.pifu_episode (pathway_id, treatment_function, from_appointment_id, started_on, window_end,
                                  initiated_on, ended_on, end_reason)
    SELECT a.pathway_id, c.treatment_function, a.appointment_id, a.appointment_date, w.window_end,
           CASE WHEN ptl_synth.u(a.appointment_id * 8 + 6, seed) < 0.25
                THEN a.appointment_date + floor(ptl_synth.u(a.appointment_id * 8 + 7, seed) * (w.window_end - a.appointment_date))::int END,
           CASE WHEN ptl_synth.u(a.appointment_id * 8 + 1, seed + 1) < 0.05 AND a.appointment_date + 30 <= v_census
                THEN a.appointment_date + 30
                WHEN w.window_end <= v_census THEN w.window_end END,
           CASE WHEN ptl_synth.u(a.appointment_id * 8 + 1, seed + 1) < 0.05 AND a.appointment_date + 30 <= v_census
                THEN 'discharged_early'
                WHEN w.window_end <= v_census THEN 'discharged_at_window_end' END
    FROM ptl.outpatient_appointment a
    JOIN ptl.clinic c ON c.clinic_code = a.clinic_code
    CROSS JOIN LATERAL (SELECT (a.appointment_date + (ARRAY[3, 6, 12])[1 + floor(ptl_synth.u(a.appointment_id * 8 + 5, seed + 1) * 3)::int]
                                                      * interval '1 month')::date AS window_end) w
    WHERE a.outcome = 'pifu';
    GET DIAGNOSTICS n = ROW_COUNT;
    what := 'PIFU episodes'; rows_made := n; RETURN NEXT;

    -- Sessions: one a clinic a day it held appointments, with 5% to 35%
    -- more slots than it used; one session in fifty cancelled.
    INSERT INTO ptl.clinic_session (clinic_code, session_date, slots, cancelled)
    SELECT a.clinic_code, a.appointment_date,
           greatest(count(*) FILTER (WHERE a.attendance IN ('attended', 'dna', 'booked')),
                    round(count(*) FILTER (WHERE a.attendance IN ('attended', 'dna', 'booked'))
                          * (1.05 + 0.3 * ptl_synth.u(hashtext(a.clinic_code)::bigint, seed))))::int,
           ptl_synth.u(hashtext(a.clinic_code || a.appointment_date)::bigint, seed) < 0.02
               AND bool_and(a.attendance = 'cancelled_by_hospital')
    FROM ptl.outpatient_appointment a
    GROUP BY 1, 2;
    GET DIAGNOSTICS n = ROW_COUNT;
    what := 'clinic sessions'; rows_made := n; RETURN NEXT;

    -- Advice and guidance: about one request for every ten referrals a
    -- provider's specialty had over the 26 weeks before the census; three in
    -- ten answered with no referral needed; the last five days pending.
    INSERT INTO ptl.advice_request (provider_org, treatment_function, gp_practice_code, requested_on, responded_on, outcome)
    SELECT r.provider_org, r.treatment_function, NULL, d.requested_on,
           CASE WHEN d.requested_on <= v_census - 5 THEN d.requested_on + 1 + floor(ptl_synth.u(r.k * 8 + 1, seed) * 4)::int END,
           CASE WHEN d.requested_on > v_census - 5 THEN 'pending'
                WHEN ptl_synth.u(r.k * 8 + 2, seed) < 0.30 THEN 'diverted'
                WHEN ptl_synth.u(r.k * 8 + 2, seed) < 0.95 THEN 'referral_advised'
                ELSE 'other' END
    FROM (SELECT p.provider_org, p.treatment_function, p.pathway_id AS k
          FROM ptl.pathway p
          JOIN ptl.organisation o ON o.org_code = p.provider_org
          WHERE p.referral_received > v_census - 182 AND p.referral_received <= v_census
            AND ptl_synth.u(p.pathway_id * 8 + 3, seed) < 0.1) r
    CROSS JOIN LATERAL (SELECT v_census - floor(ptl_synth.u(r.k * 8 + 4, seed) * 182)::int AS requested_on) d;
    GET DIAGNOSTICS n = ROW_COUNT;
    what := 'advice and guidance requests'; rows_made := n; RETURN NEXT;
END
$fn$;
COMMENT ON FUNCTION ptl_synth.outpatients(bigint, date, text[]) IS
    'Seeded clinics, sessions, appointments (from the outpatient events), follow-up requests with LCADs, PIFU episodes and advice and guidance for the synthetic ICS; independent_sector names providers to mark as independent sector';
