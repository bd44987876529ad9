-- ---------------------------------------------------------------------------
-- Outpatients: seeded clinics, sessions, appointments, follow-up requests
-- with LCADs, PIFU episodes and advice and guidance, drawn from the
-- synthetic ICS's own outpatient events (every attendance, DNA and
-- cancellation becomes an appointment), so the outpatient measures and the
-- RTT clocks describe the same patients.  Each trust's records are staged
-- as its outpatient extracts, in a closed batch that ptl.daily_refresh loads.
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
    org record;
    batch bigint;
BEGIN
    IF v_census IS NULL THEN
        RAISE EXCEPTION 'no census: generate, load and refresh a synthetic ICS first';
    END IF;
    -- Providers the demo treats as independent sector (org_kind).
    UPDATE ptl.organisation o SET org_kind = 'independent_sector' WHERE o.org_code = ANY (independent_sector);
    GET DIAGNOSTICS n = ROW_COUNT;
    what := 'independent sector providers'; rows_made := n; RETURN NEXT;

    -- Each event with what came after it on its pathway.
    IF to_regclass('pg_temp.synth_op_next') IS NOT NULL THEN DROP TABLE pg_temp.synth_op_next; END IF;
    CREATE TEMP TABLE synth_op_next ON COMMIT DROP AS
    SELECT e.event_id, e.event_ref, e.pathway_id, p.provider_org, p.ppid_issuer, p.ppid,
           e.event_date, e.kind, e.rtt_status::text AS status,
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

    IF to_regclass('pg_temp.synth_op_clinic') IS NOT NULL THEN DROP TABLE pg_temp.synth_op_clinic; END IF;
    CREATE TEMP TABLE synth_op_clinic ON COMMIT DROP AS
    SELECT DISTINCT s.org_code, x.site_code || '-' || x.treatment_function AS clinic_code, x.site_code,
           x.treatment_function, t.name || ' clinic, ' || s.name AS name
    FROM synth_op_next x
    JOIN ptl.site s ON s.site_code = x.site_code
    JOIN ptl.treatment_function t ON t.tfc = x.treatment_function
    WHERE x.kind IN ('outpatient', 'dna', 'patient_cancel', 'provider_cancel')
      AND NOT EXISTS (SELECT 1 FROM ptl.clinic c WHERE c.clinic_code = x.site_code || '-' || x.treatment_function);

    -- Appointments (the source's reference is its event's): first until the
    -- first attendance (and post-treatment reviews, 90 and 91, are
    -- follow-ups); an attendance's outcome is what followed it: listed,
    -- discharged, seen again (follow-up in that many weeks); the last
    -- attendance with nothing after it asked for a follow-up (60%), moved
    -- the patient to PIFU (15%) or discharged (25%).
    IF to_regclass('pg_temp.synth_op_appt') IS NOT NULL THEN DROP TABLE pg_temp.synth_op_appt; END IF;
    CREATE TEMP TABLE synth_op_appt ON COMMIT DROP AS
    SELECT x.event_id AS k, x.provider_org, x.ppid_issuer, x.ppid, x.pathway_id, x.treatment_function,
           'OP' || x.event_ref AS appointment_ref, x.site_code || '-' || x.treatment_function AS clinic_code,
           x.event_date AS appointment_date,
           CASE WHEN x.event_date <= coalesce(x.first_seen, 'infinity') AND coalesce(x.status, '') NOT IN ('90', '91')
                THEN 'first' ELSE 'follow_up' END AS appointment_type,
           CASE x.kind WHEN 'outpatient' THEN 'attended' WHEN 'dna' THEN 'dna'
                       WHEN 'patient_cancel' THEN 'cancelled_by_patient' ELSE 'cancelled_by_hospital' END AS attendance,
           o.outcome,
           CASE WHEN o.outcome = 'follow_up' THEN o.weeks END AS follow_up_weeks,
           x.event_date - 7 - floor(ptl_synth.u(x.event_id * 8 + 1, seed) * 42)::int AS booked_on,
           x.next_discharged
    FROM synth_op_next x
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

    -- (the next attendance of a pathway is looked up per appointment)
    CREATE INDEX ON synth_op_appt (pathway_id, appointment_date);
    ANALYZE synth_op_appt;

    -- Follow-up requests from each follow-up outcome: due when asked, the
    -- LCAD 0 to 8 weeks later, a risk of harm from delay; met by the next
    -- attendance, or ended by a discharge, or still waiting.
    IF to_regclass('pg_temp.synth_op_fur') IS NOT NULL THEN DROP TABLE pg_temp.synth_op_fur; END IF;
    CREATE TEMP TABLE synth_op_fur ON COMMIT DROP AS
    SELECT a.k, a.provider_org, a.ppid_issuer, a.ppid, 'FR' || a.appointment_ref AS request_ref, a.treatment_function,
           a.clinic_code, a.appointment_ref AS from_appointment_ref, a.appointment_date AS requested_on,
           a.appointment_date + 7 * a.follow_up_weeks AS due_date,
           a.appointment_date + 7 * a.follow_up_weeks + 14 * floor(ptl_synth.u(a.k * 8 + 4, seed) * 5)::int AS lcad,
           CASE WHEN ptl_synth.u(a.k * 8 + 5, seed) < 0.15 THEN 'high'
                WHEN ptl_synth.u(a.k * 8 + 5, seed) < 0.50 THEN 'medium'
                WHEN ptl_synth.u(a.k * 8 + 5, seed) < 0.90 THEN 'low' END AS clinical_risk,
           seen.appointment_ref AS seen_appointment_ref,
           coalesce(seen.appointment_date, CASE WHEN a.next_discharged > a.appointment_date THEN a.next_discharged END) AS closed_on,
           CASE WHEN seen.appointment_ref IS NOT NULL THEN 'seen'
                WHEN a.next_discharged > a.appointment_date THEN 'discharged' END AS closed_reason
    FROM synth_op_appt a
    LEFT JOIN LATERAL (
        SELECT b.appointment_ref, b.appointment_date FROM synth_op_appt b
        WHERE b.pathway_id = a.pathway_id AND b.attendance = 'attended' AND b.appointment_date > a.appointment_date
        ORDER BY b.appointment_date LIMIT 1) seen ON true
    WHERE a.outcome = 'follow_up';

    -- Two in five waiting follow-ups have their appointment booked, from
    -- the due date (or the census) on.
    INSERT INTO synth_op_appt (k, provider_org, ppid_issuer, ppid, pathway_id, treatment_function, appointment_ref, clinic_code,
                            appointment_date, appointment_type, attendance, booked_on)
    SELECT f.k, f.provider_org, f.ppid_issuer, f.ppid, NULL, f.treatment_function, 'BK' || f.request_ref, f.clinic_code,
           greatest(f.due_date, v_census + 1) + floor(ptl_synth.u(f.k * 8 + 6, seed + 2) * 56)::int,
           'follow_up', 'booked', v_census
    FROM synth_op_fur f
    WHERE f.closed_on IS NULL AND ptl_synth.u(f.k * 8 + 7, seed + 2) < 0.4;
    GET DIAGNOSTICS n = ROW_COUNT;
    what := 'follow-ups booked'; rows_made := n; RETURN NEXT;

    -- PIFU: a window of 3, 6 or 12 months; one in four patients asks to be
    -- seen within it; windows past are closed at their end, one in twenty
    -- early.
    IF to_regclass('pg_temp.synth_op_pifu') IS NOT NULL THEN DROP TABLE pg_temp.synth_op_pifu; END IF;
    CREATE TEMP TABLE synth_op_pifu ON COMMIT DROP AS
    SELECT a.provider_org, a.ppid_issuer, a.ppid, 'PF' || a.appointment_ref AS pifu_ref, a.treatment_function,
           a.appointment_ref AS from_appointment_ref, a.appointment_date AS started_on, w.window_end,
           CASE WHEN ptl_synth.u(a.k * 8 + 6, seed) < 0.25
                THEN a.appointment_date + floor(ptl_synth.u(a.k * 8 + 7, seed) * (w.window_end - a.appointment_date))::int END AS initiated_on,
           CASE WHEN ptl_synth.u(a.k * 8 + 1, seed + 1) < 0.05 AND a.appointment_date + 30 <= v_census
                THEN a.appointment_date + 30
                WHEN w.window_end <= v_census THEN w.window_end END AS ended_on,
           CASE WHEN ptl_synth.u(a.k * 8 + 1, seed + 1) < 0.05 AND a.appointment_date + 30 <= v_census
                THEN 'discharged_early'
                WHEN w.window_end <= v_census THEN 'discharged_at_window_end' END AS end_reason
    FROM synth_op_appt a
    CROSS JOIN LATERAL (SELECT (a.appointment_date + (ARRAY[3, 6, 12])[1 + floor(ptl_synth.u(a.k * 8 + 5, seed + 1) * 3)::int]
                                                      * interval '1 month')::date AS window_end) w
    WHERE a.outcome = 'pifu';

    -- Sessions: one a clinic a day it held appointments, with 5% to 35%
    -- more slots than it used; one session in fifty cancelled.
    IF to_regclass('pg_temp.synth_op_session') IS NOT NULL THEN DROP TABLE pg_temp.synth_op_session; END IF;
    CREATE TEMP TABLE synth_op_session ON COMMIT DROP AS
    SELECT a.provider_org, a.clinic_code, a.appointment_date AS session_date,
           greatest(count(*) FILTER (WHERE a.attendance IN ('attended', 'dna', 'booked')),
                    round(count(*) FILTER (WHERE a.attendance IN ('attended', 'dna', 'booked'))
                          * (1.05 + 0.3 * ptl_synth.u(hashtext(a.clinic_code)::bigint, seed))))::int AS slots,
           ptl_synth.u(hashtext(a.clinic_code || a.appointment_date::text)::bigint, seed) < 0.02
               AND bool_and(a.attendance = 'cancelled_by_hospital') AS cancelled
    FROM synth_op_appt a
    GROUP BY 1, 2, 3;

    -- Advice and guidance: about one request for every ten referrals a
    -- provider's specialty had over the 26 weeks before the census; three in
    -- ten answered with no referral needed; the last five days pending.
    IF to_regclass('pg_temp.synth_op_advice') IS NOT NULL THEN DROP TABLE pg_temp.synth_op_advice; END IF;
    CREATE TEMP TABLE synth_op_advice ON COMMIT DROP AS
    SELECT r.provider_org, 'AG' || r.k AS advice_ref, r.treatment_function, d.requested_on,
           CASE WHEN d.requested_on <= v_census - 5 THEN d.requested_on + 1 + floor(ptl_synth.u(r.k * 8 + 1, seed) * 4)::int END AS responded_on,
           CASE WHEN d.requested_on > v_census - 5 THEN 'pending'
                WHEN ptl_synth.u(r.k * 8 + 2, seed) < 0.30 THEN 'diverted'
                WHEN ptl_synth.u(r.k * 8 + 2, seed) < 0.95 THEN 'referral_advised'
                ELSE 'other' END AS outcome
    FROM (SELECT p.provider_org, p.treatment_function, p.pathway_id AS k
          FROM ptl.pathway p
          JOIN ptl.organisation o ON o.org_code = p.provider_org
          WHERE p.referral_received > v_census - 182 AND p.referral_received <= v_census
            AND ptl_synth.u(p.pathway_id * 8 + 3, seed) < 0.1) r
    CROSS JOIN LATERAL (SELECT v_census - floor(ptl_synth.u(r.k * 8 + 4, seed) * 182)::int AS requested_on) d;

    -- Each trust sends its six outpatient extracts in one batch, closed for
    -- ptl.daily_refresh to load (clinics before sessions and appointments,
    -- appointments before the requests that name them: ptl.feed's order).
    FOR org IN SELECT o.org_code FROM ptl.organisation o ORDER BY 1 LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM synth_op_clinic x WHERE x.org_code = org.org_code)
                  AND NOT EXISTS (SELECT 1 FROM synth_op_appt x WHERE x.provider_org = org.org_code)
                  AND NOT EXISTS (SELECT 1 FROM synth_op_advice x WHERE x.provider_org = org.org_code);
        batch := ptl.open_batch(org.org_code, 'PAS', NULL, 'outpatients (ptl_synth.outpatients)');
        INSERT INTO ptl_stage.clinic (batch_id, clinic_code, site_code, treatment_function, name)
        SELECT batch, x.clinic_code, x.site_code, x.treatment_function, x.name
        FROM synth_op_clinic x WHERE x.org_code = org.org_code ORDER BY x.clinic_code;
        GET DIAGNOSTICS n = ROW_COUNT;
        what := format('clinics staged in batch %s (%s)', batch, org.org_code); rows_made := n; RETURN NEXT;
        INSERT INTO ptl_stage.clinic_session (batch_id, clinic_code, session_date, slots, cancelled)
        SELECT batch, x.clinic_code, to_char(x.session_date, 'YYYY-MM-DD'), x.slots::text, CASE WHEN x.cancelled THEN 'Y' ELSE 'N' END
        FROM synth_op_session x WHERE x.provider_org = org.org_code ORDER BY x.session_date, x.clinic_code;
        GET DIAGNOSTICS n = ROW_COUNT;
        what := format('clinic sessions staged in batch %s (%s)', batch, org.org_code); rows_made := n; RETURN NEXT;
        -- Templates (the clinic_slot extract) of the sessions from the census
        -- on, at half the clinics: each slot new (20 minutes) 45%, follow-up
        -- (15 minutes) 40% or either (15 minutes) 15%; a clinic in seven
        -- runs its follow-ups by telephone or video.
        INSERT INTO ptl_stage.clinic_slot (batch_id, clinic_code, session_date, slot_no, slot_type, minutes, face_to_face)
        SELECT batch, x.clinic_code, to_char(x.session_date, 'YYYY-MM-DD'), k::text, t.slot_type,
               CASE t.slot_type WHEN 'new' THEN '20' ELSE '15' END,
               CASE WHEN t.slot_type = 'follow_up'
                         AND ptl_synth.u(hashtext(x.clinic_code || 'virtual')::bigint, seed) < 1.0 / 7 THEN 'N' ELSE 'Y' END
        FROM synth_op_session x
        CROSS JOIN LATERAL generate_series(1, x.slots) k
        CROSS JOIN LATERAL (SELECT ptl_synth.u(hashtext(x.clinic_code || x.session_date::text || k)::bigint, seed) AS r) d
        CROSS JOIN LATERAL (SELECT CASE WHEN d.r < 0.45 THEN 'new' WHEN d.r < 0.85 THEN 'follow_up' ELSE 'either' END
                                   AS slot_type) t
        WHERE x.provider_org = org.org_code AND x.session_date >= v_census AND NOT x.cancelled
          AND ptl_synth.u(hashtext(x.clinic_code || 'template')::bigint, seed) < 0.5
        ORDER BY x.session_date, x.clinic_code, k;
        GET DIAGNOSTICS n = ROW_COUNT;
        what := format('clinic slots staged in batch %s (%s)', batch, org.org_code); rows_made := n; RETURN NEXT;
        INSERT INTO ptl_stage.outpatient_appointment (batch_id, ppid_issuer, ppid, appointment_ref, clinic_code, appointment_date,
                                                      appointment_type, attendance, outcome, follow_up_weeks, booked_on)
        SELECT batch, x.ppid_issuer, x.ppid, x.appointment_ref, x.clinic_code, to_char(x.appointment_date, 'YYYY-MM-DD'),
               x.appointment_type, x.attendance, x.outcome, x.follow_up_weeks::text, to_char(x.booked_on, 'YYYY-MM-DD')
        FROM synth_op_appt x WHERE x.provider_org = org.org_code ORDER BY x.appointment_date, x.appointment_ref;
        GET DIAGNOSTICS n = ROW_COUNT;
        what := format('appointments staged in batch %s (%s)', batch, org.org_code); rows_made := n; RETURN NEXT;
        INSERT INTO ptl_stage.follow_up_request (batch_id, ppid_issuer, ppid, request_ref, treatment_function, clinic_code,
                                                 from_appointment_ref, requested_on, due_date, lcad, clinical_risk,
                                                 seen_appointment_ref, closed_on, closed_reason)
        SELECT batch, x.ppid_issuer, x.ppid, x.request_ref, x.treatment_function, x.clinic_code, x.from_appointment_ref,
               to_char(x.requested_on, 'YYYY-MM-DD'), to_char(x.due_date, 'YYYY-MM-DD'), to_char(x.lcad, 'YYYY-MM-DD'),
               x.clinical_risk, x.seen_appointment_ref, to_char(x.closed_on, 'YYYY-MM-DD'), x.closed_reason
        FROM synth_op_fur x WHERE x.provider_org = org.org_code ORDER BY x.requested_on, x.request_ref;
        GET DIAGNOSTICS n = ROW_COUNT;
        what := format('follow-up requests staged in batch %s (%s)', batch, org.org_code); rows_made := n; RETURN NEXT;
        INSERT INTO ptl_stage.pifu_episode (batch_id, ppid_issuer, ppid, pifu_ref, treatment_function, from_appointment_ref,
                                            started_on, window_end, initiated_on, ended_on, end_reason)
        SELECT batch, x.ppid_issuer, x.ppid, x.pifu_ref, x.treatment_function, x.from_appointment_ref,
               to_char(x.started_on, 'YYYY-MM-DD'), to_char(x.window_end, 'YYYY-MM-DD'), to_char(x.initiated_on, 'YYYY-MM-DD'),
               to_char(x.ended_on, 'YYYY-MM-DD'), x.end_reason
        FROM synth_op_pifu x WHERE x.provider_org = org.org_code ORDER BY x.started_on, x.pifu_ref;
        GET DIAGNOSTICS n = ROW_COUNT;
        what := format('PIFU episodes staged in batch %s (%s)', batch, org.org_code); rows_made := n; RETURN NEXT;
        INSERT INTO ptl_stage.advice_request (batch_id, advice_ref, treatment_function, requested_on, responded_on, outcome)
        SELECT batch, x.advice_ref, x.treatment_function, to_char(x.requested_on, 'YYYY-MM-DD'),
               to_char(x.responded_on, 'YYYY-MM-DD'), x.outcome
        FROM synth_op_advice x WHERE x.provider_org = org.org_code ORDER BY x.requested_on, x.advice_ref;
        GET DIAGNOSTICS n = ROW_COUNT;
        what := format('advice and guidance requests staged in batch %s (%s)', batch, org.org_code); rows_made := n; RETURN NEXT;
        PERFORM ptl.close_batch(batch);
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION ptl_synth.outpatients(bigint, date, text[]) IS
    'Stages, per trust, seeded clinics, sessions, appointments (from the outpatient events), follow-up requests with LCADs, PIFU episodes and advice and guidance for the synthetic ICS, and closes each batch for ptl.daily_refresh to load; independent_sector names providers to mark as independent sector';
