-- ---------------------------------------------------------------------------
-- ptl_synth, the day after: the extracts a PAS sends for one more day, to
-- measure and test a daily refresh that follows changes (bench/refresh.sh,
-- test/pgtap/refresh_incremental.sql).  Reads the canonical tables and the
-- clocks of the last refresh, and stages, dated the given day:
--  * one event on a share of the pathway records (default 0.5%), drawn
--    among the open ones: seen again (20), treated in clinic (30), a
--    decision to admit (20, with its waiting-list entry), a missed
--    appointment, a discharge (34), a cancellation; a pathway with an open
--    waiting-list entry may be admitted instead (30, and the entry removed);
--  * one day's new referrals (the last year's referrals divided by 365),
--    half for patients already known, half for new patients, each with its
--    referral event.
-- Batches are opened per source system of the generated ICS and left open,
-- as ptl_synth.generate leaves its own: close them, then load.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ptl_synth.next_day(day date, changed_share float8 DEFAULT 0.005, seed int DEFAULT 42)
RETURNS SETOF bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
AS $fn$
DECLARE
    v_s1    bigint := seed::bigint * 8 + 7;     -- which pathways change, and how
    v_s2    bigint := seed::bigint * 16 + 9;    -- new referrals
    v_changed bigint;
    v_new   bigint;
    v_tag   text := to_char(day, 'YYYYMMDD');
    v_src   record;
    v_prev_batch text := current_setting('ptl.current_batch', true);
BEGIN
    IF day IS NULL OR NOT isfinite(day) THEN
        RAISE EXCEPTION 'day must be a finite date, not %', coalesce(day::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF changed_share IS NULL OR changed_share < 0 OR changed_share > 1 THEN
        RAISE EXCEPTION 'changed_share must be between 0 and 1 (got %)', changed_share
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF day > current_date THEN
        RAISE EXCEPTION 'day % is in the future', day
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'ptl.load() quarantines events dated after the day their batch is opened.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM ptl.rtt_pathway) THEN
        RAISE EXCEPTION 'no clocks yet: refresh before staging the next day'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    -- (a second call in one transaction makes them again)
    IF to_regclass('pg_temp.nd_source') IS NOT NULL THEN
        DROP TABLE pg_temp.nd_source, pg_temp.nd_changed, pg_temp.nd_new;
    END IF;
    -- Where each record came from: its batch's organisation, system and site.
    CREATE TEMP TABLE nd_source ON COMMIT DROP AS
    SELECT DISTINCT ON (b.source_system) b.org_code, b.source_system, b.site_code, NULL::bigint AS batch_id
    FROM ptl.batch b WHERE b.status = 'loaded' AND b.source_system IS NOT NULL
    ORDER BY b.source_system, b.batch_id DESC;

    -- The pathways that change: a share of all records, drawn among the open.
    v_changed := round(changed_share * (SELECT count(*) FROM ptl.pathway));
    CREATE TEMP TABLE nd_changed ON COMMIT DROP AS
    SELECT o.pathway_id, p.ppid_issuer, p.ppid, p.site_code, p.treatment_function, p.consultant_code,
           b.org_code, b.source_system, b.site_code AS batch_site, o.has_dta,
           (SELECT w.entry_id FROM ptl.waiting_list_entry w
            WHERE w.pathway_id = o.pathway_id AND w.removed_date IS NULL ORDER BY w.entry_id LIMIT 1) AS entry_id,
           ptl_synth.u(o.pathway_id, v_s1 + 1) AS v
    FROM (SELECT DISTINCT ON (x.pathway_id) x.pathway_id, x.has_dta FROM ptl.rtt_open_period x
          ORDER BY x.pathway_id, x.period_no DESC) o
    JOIN ptl.pathway p ON p.pathway_id = o.pathway_id
    JOIN ptl.batch b ON b.batch_id = p.batch_id
    ORDER BY ptl_synth.u(o.pathway_id, v_s1), o.pathway_id
    LIMIT v_changed;

    -- One day's new referrals: the last year's, a day's worth.
    v_new := round((SELECT count(*) FROM ptl.pathway p
                    WHERE p.referral_received > day - 366 AND p.referral_received < day) / 365.0);
    CREATE TEMP TABLE nd_new ON COMMIT DROP AS
    WITH pick AS (
        SELECT k, ptl_synth.u(k, v_s2) < 0.5 AS new_patient,
               (SELECT count(*) FROM ptl.pathway) AS n_pathways
        FROM generate_series(1, v_new) k),
    model AS (
        -- a recent referral of the ICS lends its site, specialty and patient
        SELECT pk.k, pk.new_patient, m.*
        FROM pick pk
        CROSS JOIN LATERAL (
            SELECT p.pathway_id AS model_pathway, p.patient_id, p.site_code, p.treatment_function,
                   p.commissioner_code, p.consultant_code, b.org_code, b.source_system, b.site_code AS batch_site
            FROM ptl.pathway p JOIN ptl.batch b ON b.batch_id = p.batch_id
            WHERE p.pathway_id >= 1 + floor(ptl_synth.u(pk.k, v_s2 + 1) * pk.n_pathways)::bigint
            ORDER BY p.pathway_id LIMIT 1) m)
    SELECT m.*, pa.local_patient_id AS known_patient,
           format('ND%s-%s', v_tag, m.k) AS new_local_id,
           -- a fresh 9-digit prefix; a prefix with no check digit gives none
           (990000000 + (m.k * 7919 + (day - date '2000-01-01') * 104729) % 9000000)::bigint AS n9
    FROM model m JOIN ptl.patient pa ON pa.patient_id = m.patient_id;

    -- A batch per source system that has anything to send.
    FOR v_src IN
        SELECT DISTINCT s.org_code, s.source_system, s.site_code FROM nd_source s
        WHERE EXISTS (SELECT 1 FROM nd_changed c WHERE c.source_system = s.source_system)
           OR EXISTS (SELECT 1 FROM nd_new n WHERE n.source_system = s.source_system)
        ORDER BY 2
    LOOP
        UPDATE nd_source s
        SET batch_id = ptl.open_batch(v_src.org_code, v_src.source_system, v_src.site_code,
                                      format('ptl_synth next day %s (seed %s)', day, seed))
        WHERE s.source_system = v_src.source_system;
    END LOOP;
    PERFORM set_config('ptl.current_batch', coalesce(v_prev_batch, ''), false);

    -- Events on the changed pathways.
    INSERT INTO ptl_stage.pathway_event (batch_id, ppid_issuer, ppid, event_ref, event_date, kind, rtt_status,
                                         site_code, treatment_function)
    SELECT s.batch_id, c.ppid_issuer, c.ppid, format('ND%s-%s', v_tag, c.pathway_id), day::text,
           e.kind, e.status, c.site_code, c.treatment_function
    FROM nd_changed c
    JOIN nd_source s ON s.source_system = c.source_system
    CROSS JOIN LATERAL (
        SELECT * FROM (VALUES
            (c.entry_id IS NOT NULL AND c.v < 0.5, 'admission', '30'),
            (c.v < 0.45, 'outpatient', '20'),
            (c.v < 0.60, 'outpatient', '30'),
            (c.v < 0.72, 'decision_to_admit', '20'),
            (c.v < 0.85, 'dna', NULL),
            (c.v < 0.93, 'discharge', '34'),
            (true, 'provider_cancel', NULL)) x (taken, kind, status)
        WHERE x.taken LIMIT 1) e;

    -- Entries: a decision to admit adds one; an admission removes the open one.
    INSERT INTO ptl_stage.waiting_list_entry (batch_id, ppid_issuer, ppid, entry_ref, procedure_code,
                                              procedure_description, intended_management, clinical_priority,
                                              decision_to_admit, expected_duration_minutes, consultant_code,
                                              tci_date, removed_date, removal_reason, site_code)
    SELECT s.batch_id, c.ppid_issuer, c.ppid, format('ND%s-%s', v_tag, c.pathway_id), NULL, NULL, '1', 'P3',
           day::text, NULL, c.consultant_code, NULL, NULL, NULL, c.site_code
    FROM nd_changed c JOIN nd_source s ON s.source_system = c.source_system
    WHERE NOT (c.entry_id IS NOT NULL AND c.v < 0.5) AND c.v >= 0.60 AND c.v < 0.72
    UNION ALL
    SELECT s.batch_id, c.ppid_issuer, c.ppid, w.entry_ref, w.procedure_code, w.procedure_description,
           w.intended_management, w.clinical_priority::text, w.decision_to_admit::text,
           w.expected_duration_minutes::text, w.consultant_code, w.tci_date::text, day::text, 'admitted', w.site_code
    FROM nd_changed c JOIN nd_source s ON s.source_system = c.source_system
    JOIN ptl.waiting_list_entry w ON w.entry_id = c.entry_id
    WHERE c.entry_id IS NOT NULL AND c.v < 0.5;

    -- New patients (a name and birth borrowed from two others of the ICS).
    INSERT INTO ptl_stage.patient (batch_id, local_patient_id, nhs_number, given_name, family_name, date_of_birth,
                                   sex, postcode, ethnic_category, gp_practice_code, commissioner_code)
    SELECT s.batch_id, n.new_local_id, n.n9::text || ptl_synth.nhs_check_digit(n.n9)::text,
           pa.given_name, pb.family_name, pa.date_of_birth::text, pa.sex, pb.postcode, pa.ethnic_category,
           pb.gp_practice_code, pb.commissioner_code
    FROM nd_new n
    JOIN nd_source s ON s.source_system = n.source_system
    JOIN ptl.patient pa ON pa.patient_id = n.patient_id
    JOIN ptl.patient pb ON pb.patient_id = (SELECT max(x.patient_id) FROM ptl.patient x WHERE x.patient_id <= n.patient_id + 7)
    WHERE n.new_patient AND ptl_synth.mod11_remainder(n.n9) <> 1;

    INSERT INTO ptl_stage.pathway (batch_id, local_patient_id, ppid, ppid_issuer, site_code, treatment_function,
                                   referral_priority, referral_received, commissioner_code, consultant_code)
    SELECT s.batch_id, CASE WHEN n.new_patient THEN n.new_local_id ELSE n.known_patient END,
           format('%sN%s%s', n.org_code, v_tag, n.k), n.org_code, n.site_code, n.treatment_function,
           'routine', day::text, n.commissioner_code, n.consultant_code
    FROM nd_new n JOIN nd_source s ON s.source_system = n.source_system
    WHERE NOT n.new_patient OR ptl_synth.mod11_remainder(n.n9) <> 1;

    INSERT INTO ptl_stage.pathway_event (batch_id, ppid_issuer, ppid, event_ref, event_date, kind, site_code,
                                         treatment_function)
    SELECT s.batch_id, n.org_code, format('%sN%s%s', n.org_code, v_tag, n.k), 'REF', day::text, 'referral',
           n.site_code, n.treatment_function
    FROM nd_new n JOIN nd_source s ON s.source_system = n.source_system
    WHERE NOT n.new_patient OR ptl_synth.mod11_remainder(n.n9) <> 1;

    RETURN QUERY SELECT DISTINCT s.batch_id FROM nd_source s WHERE s.batch_id IS NOT NULL ORDER BY 1;
END
$fn$;
COMMENT ON FUNCTION ptl_synth.next_day(date, float8, int) IS
    'Stages the extracts of one more day, dated day: an event on changed_share of the pathway records (drawn among the open ones) and a day''s new referrals (half for new patients); returns the batches opened, left open';
