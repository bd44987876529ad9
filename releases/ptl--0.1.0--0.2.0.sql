-- ptl 0.1.0 -> 0.2.0: operations and security (the daily refresh, partitioned
-- snapshots, roles, row-level security, audit, extract files read record by
-- record).  Built by scripts/build-upgrade: the --@ lines take definitions
-- from src/, so a changed object is defined once.  test/t/upgrade.sh checks
-- that an updated database's catalogue equals a fresh install's.
\echo Use "ALTER EXTENSION ptl UPDATE TO '0.2.0'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Batches can be ready (closed by their loader, waiting for the daily refresh).
-- ---------------------------------------------------------------------------
ALTER TABLE ptl.batch DROP CONSTRAINT batch_status_check;
ALTER TABLE ptl.batch ADD CONSTRAINT batch_status_check CHECK (status IN ('open', 'ready', 'loaded'));
COMMENT ON COLUMN ptl.batch.status IS 'open (rows being staged), ready (closed by ptl.close_batch: the daily refresh loads it) or loaded';

-- Statistics after bulk writes: analysed with the owner's rights (so the
-- daily refresh as ptl_admin keeps them fresh), and after theatre proposals.
CREATE OR REPLACE FUNCTION ptl.analyze_if_grown(tbl regclass, rows_now bigint DEFAULT NULL) RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    est_rows float8;
    est_pages int;
    pages_now bigint;
BEGIN
    IF (SELECT c.relnamespace FROM pg_class c WHERE c.oid = tbl)
       NOT IN ('ptl'::regnamespace, 'ptl_stage'::regnamespace) THEN
        RAISE EXCEPTION 'ptl.analyze_if_grown analyses ptl''s own tables, not %', tbl
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    pages_now := pg_catalog.pg_relation_size(tbl) / current_setting('block_size')::int;
    SELECT c.reltuples, c.relpages INTO est_rows, est_pages FROM pg_class c WHERE c.oid = tbl;
    -- With a row count: more than twice what the statistics say.  Without:
    -- statistics that say "empty" for a table with pages (rows rolled back
    -- or deleted since), or a table that has more than doubled in pages.
    IF (rows_now IS NOT NULL AND rows_now > 1000 AND rows_now > 2 * greatest(est_rows, 0))
       OR (rows_now IS NULL AND pages_now > 8
           AND (est_rows <= 0 OR pages_now > 2 * greatest(est_pages, 1))) THEN
        EXECUTE format('ANALYZE %s', tbl);
        RETURN true;
    END IF;
    RETURN false;
END
$$;
CREATE OR REPLACE PROCEDURE ptl.propose_theatre_lists(from_date date, to_date date, as_of date DEFAULT NULL)
LANGUAGE plpgsql
SET search_path = pg_catalog, ptl, pg_temp
AS $proc$
DECLARE
    v_cfg       ptl.theatre_setting := ptl.theatre_setting_in_force();
    v_as_of     date;
    v_run       bigint;
    v_slots     ptl.theatre_slot[];
    v_cases     ptl.theatre_case[];
BEGIN
    IF from_date IS NULL OR to_date IS NULL OR to_date < from_date THEN
        RAISE EXCEPTION 'invalid date range % to %', from_date, to_date
            USING ERRCODE = '22023', HINT = 'Give the first and the last session date to fill, first <= last.';
    END IF;
    v_as_of := coalesce(as_of, (SELECT max(census) FROM ptl.rtt_pathway), current_date);

    -- One run at a time: a second waits here, then sees the first's
    -- proposals and supersedes them.  Readers are not blocked.
    LOCK TABLE ptl.theatre_proposal_run IN EXCLUSIVE MODE;

    -- A run replaces the open proposals of earlier runs in its range.
    UPDATE ptl.theatre_proposal p SET status = 'superseded'
    FROM ptl.theatre_session s
    WHERE p.session_id = s.session_id AND p.status = 'proposed'
      AND s.session_date BETWEEN from_date AND to_date;

    -- Sessions: elective and day-case lists in range, with what is left of
    -- them after existing bookings, and whether the consultant is on leave.
    CREATE TEMP TABLE theatre_run_session ON COMMIT DROP AS
    SELECT s.session_id, s.session_date, t.site_code, s.specialty, s.consultant_code, s.planned_minutes,
           (SELECT coalesce(array_agg(DISTINCT x ORDER BY x), '{}') FROM unnest(t.equipment || s.equipment
                                                                || CASE WHEN t.day_case_only THEN '{}'::text[]
                                                                        ELSE '{inpatient_beds}'::text[] END) x) AS equipment,
           coalesce(l.minutes, 0) AS minutes_booked,
           greatest(0, s.planned_minutes - coalesce(l.minutes + l.cases * v_cfg.turnaround_minutes, 0))::int AS capacity,
           EXISTS (SELECT FROM ptl.consultant_leave cl
                   WHERE cl.consultant_code = s.consultant_code
                     AND s.session_date BETWEEN cl.leave_from AND cl.leave_to) AS on_leave
    FROM ptl.theatre_session s
    JOIN ptl.theatre t USING (theatre_code)
    LEFT JOIN LATERAL (SELECT sum(b.planned_minutes) AS minutes, count(*) AS cases
                       FROM ptl.theatre_booking b
                       WHERE b.session_id = s.session_id AND b.status <> 'cancelled') l ON true
    WHERE s.session_date BETWEEN from_date AND to_date
      AND NOT s.cancelled AND s.session_type IN ('elective', 'day_case');

    -- Planning durations, fitted once (ptl.planned_case_minutes per row
    -- would refit the history for every entry).
    CREATE TEMP TABLE theatre_run_estimate ON COMMIT DROP AS
    SELECT e.procedure_code, e.consultant_code, e.all_consultants, e.planned_minutes FROM ptl.procedure_duration_estimate e;

    -- Cases: every open admitted entry on the PTL, with what it needs (once,
    -- at its best place, should the PTL show an entry on two periods).
    CREATE TEMP TABLE theatre_run_case ON COMMIT DROP AS
    SELECT DISTINCT ON (w.entry_id) p.waiting_list_entry_id AS entry_id, w.patient_id, p.provider_org, p.treatment_function AS specialty,
           p.list_position, p.order_group,
           CASE WHEN v_cfg.book_named_consultant THEN w.consultant_code END AS consultant,
           CASE WHEN w.site_code IS NOT NULL THEN ARRAY[w.site_code]
                ELSE (SELECT array_agg(st.site_code ORDER BY st.site_code) FROM ptl.site st
                      WHERE st.org_code = p.provider_org) END AS site_codes,
           coalesce(ec.planned_minutes, ep.planned_minutes, w.expected_duration_minutes) AS minutes,
           (SELECT array_agg(DISTINCT r.equipment ORDER BY r.equipment) FROM ptl.procedure_requirement r
            WHERE w.procedure_code = r.procedure_code
               OR (length(r.procedure_code) = 3 AND left(w.procedure_code, 3) = r.procedure_code))
           || CASE WHEN w.intended_management = '1' OR pa.needs_inpatient_bed THEN '{inpatient_beds}'::text[]
                   ELSE '{}'::text[] END AS equipment,
           pa.assessed_on AS preop_on, pa.outcome AS preop_outcome,
           coalesce(pa.valid_until, pa.assessed_on + v_cfg.preop_valid_days) AS preop_until,
           greatest(from_date, v_as_of + v_cfg.min_notice_days) AS ready_from,
           CASE WHEN pa.outcome IN ('fit', 'fit_with_conditions')
                THEN least(to_date, coalesce(pa.valid_until, pa.assessed_on + v_cfg.preop_valid_days)) END AS ready_until,
           (w.tci_date IS NOT NULL AND w.tci_date >= v_as_of)
           OR EXISTS (SELECT FROM ptl.theatre_booking b JOIN ptl.theatre_session s USING (session_id)
                      WHERE b.entry_id = w.entry_id AND b.status = 'booked' AND s.session_date >= v_as_of) AS booked
    FROM ptl.ptl p
    JOIN ptl.waiting_list_entry w ON w.entry_id = p.waiting_list_entry_id
    LEFT JOIN theatre_run_estimate ec ON ec.procedure_code = w.procedure_code AND ec.consultant_code = w.consultant_code
    LEFT JOIN theatre_run_estimate ep ON ep.procedure_code = w.procedure_code AND ep.all_consultants
    LEFT JOIN LATERAL (SELECT a.* FROM ptl.preop_assessment a
                       WHERE a.entry_id = w.entry_id AND a.assessed_on <= v_as_of
                       ORDER BY a.assessed_on DESC, a.preop_id DESC LIMIT 1) pa ON true
    WHERE p.waiting_list_entry_id IS NOT NULL
    ORDER BY w.entry_id, p.list_position NULLS LAST;

    -- Patient unavailability cuts the window to its first free stretch.
    UPDATE theatre_run_case c
    SET ready_from = x.ready_from, ready_until = x.ready_until
    FROM (SELECT c2.entry_id, f.free_from AS ready_from, f.free_until AS ready_until
          FROM theatre_run_case c2,
               LATERAL ptl.first_free_window(c2.patient_id, c2.ready_from, c2.ready_until) f
          WHERE c2.ready_until IS NOT NULL
            AND EXISTS (SELECT FROM ptl.patient_unavailability u WHERE u.patient_id = c2.patient_id)) x
    WHERE x.entry_id = c.entry_id;

    SELECT array_agg(ROW(s.session_id, s.session_date, s.site_code, s.specialty, s.consultant_code,
                         s.capacity, s.equipment)::ptl.theatre_slot)
    INTO v_slots
    FROM theatre_run_session s WHERE NOT s.on_leave AND s.capacity > 0;

    SELECT array_agg(ROW(c.entry_id, c.specialty, c.consultant, c.site_codes, c.minutes, c.list_position,
                         c.ready_from, c.ready_until, c.equipment)::ptl.theatre_case)
    INTO v_cases
    FROM theatre_run_case c
    WHERE NOT c.booked AND c.order_group <> 'set_aside' AND c.minutes IS NOT NULL
      AND c.ready_until IS NOT NULL AND c.ready_until >= c.ready_from;

    INSERT INTO ptl.theatre_proposal_run (from_date, to_date, as_of, turnaround_minutes, sessions, session_minutes,
                                          minutes_booked_before, cases_considered, cases_proposed, minutes_proposed)
    SELECT from_date, to_date, v_as_of, v_cfg.turnaround_minutes,
           count(*) FILTER (WHERE NOT s.on_leave), coalesce(sum(s.planned_minutes) FILTER (WHERE NOT s.on_leave), 0),
           coalesce(sum(s.minutes_booked) FILTER (WHERE NOT s.on_leave), 0),
           (SELECT count(*) FROM theatre_run_case), 0, 0
    FROM theatre_run_session s
    RETURNING run_id INTO v_run;

    INSERT INTO ptl.theatre_proposal (run_id, entry_id, session_id, list_position, start_offset_minutes, planned_minutes)
    SELECT v_run, a.case_id, a.session_id, c.list_position,
           s.planned_minutes - s.capacity + a.start_offset_minutes, c.minutes
    FROM ptl.allocate_theatre(coalesce(v_slots, '{}'), coalesce(v_cases, '{}'), v_cfg.turnaround_minutes) a
    JOIN theatre_run_case c ON c.entry_id = a.case_id
    JOIN theatre_run_session s ON s.session_id = a.session_id;

    UPDATE ptl.theatre_proposal_run r
    SET cases_proposed = x.n, minutes_proposed = x.m
    FROM (SELECT count(*) AS n, coalesce(sum(planned_minutes), 0) AS m
          FROM ptl.theatre_proposal WHERE run_id = v_run) x
    WHERE r.run_id = v_run;

    -- Why each entry was or was not proposed: the first rule that fails,
    -- checked in the order a scheduler would ask.
    INSERT INTO ptl.theatre_proposal_outcome (run_id, entry_id, list_position, proposed, reason, detail)
    SELECT v_run, c.entry_id, c.list_position, p.proposal_id IS NOT NULL, r.reason, r.detail
    FROM theatre_run_case c
    LEFT JOIN ptl.theatre_proposal p ON p.run_id = v_run AND p.entry_id = c.entry_id
    LEFT JOIN theatre_run_session ps ON ps.session_id = p.session_id
    LEFT JOIN LATERAL (
        SELECT count(*) FILTER (WHERE TRUE) AS n_site,
               count(*) FILTER (WHERE c.consultant IS NULL OR s.consultant_code = c.consultant) AS n_cons,
               count(*) FILTER (WHERE (c.consultant IS NULL OR s.consultant_code = c.consultant) AND NOT s.on_leave) AS n_avail,
               count(*) FILTER (WHERE (c.consultant IS NULL OR s.consultant_code = c.consultant) AND NOT s.on_leave
                                  AND array_remove(c.equipment, 'inpatient_beds') <@ s.equipment) AS n_kit,
               count(*) FILTER (WHERE (c.consultant IS NULL OR s.consultant_code = c.consultant) AND NOT s.on_leave
                                  AND c.equipment <@ s.equipment) AS n_beds,
               count(*) FILTER (WHERE (c.consultant IS NULL OR s.consultant_code = c.consultant) AND NOT s.on_leave
                                  AND c.equipment <@ s.equipment AND s.planned_minutes >= c.minutes) AS n_long,
               min(s.session_date) FILTER (WHERE (c.consultant IS NULL OR s.consultant_code = c.consultant) AND NOT s.on_leave
                                  AND c.equipment <@ s.equipment AND s.planned_minutes >= c.minutes) AS first_date
        FROM theatre_run_session s
        WHERE s.specialty = c.specialty AND s.site_code = ANY (c.site_codes)
          AND s.session_date BETWEEN c.ready_from AND c.ready_until) n ON c.ready_until >= c.ready_from
    CROSS JOIN LATERAL (SELECT * FROM (VALUES
        (1, p.proposal_id IS NOT NULL, 'proposed',
         format('session %s on %s at %s, %s minutes after the list starts', p.session_id, ps.session_date,
                ps.site_code, p.start_offset_minutes)),
        (2, c.booked, 'already_booked', 'has an admission date or a theatre booking to come'),
        (3, c.order_group = 'set_aside', 'set_aside', 'priority P5 or P6, or suspended from the list at the census'),
        (4, c.minutes IS NULL, 'no_duration', 'no duration history for the procedure and no expected minutes on the list'),
        (5, c.preop_outcome IS NULL, 'no_preop', 'no pre-operative assessment yet'),
        (6, c.preop_outcome NOT IN ('fit', 'fit_with_conditions'), 'no_preop',
         format('latest pre-operative assessment on %s: %s', c.preop_on, c.preop_outcome)),
        (7, c.preop_until < greatest(from_date, v_as_of + v_cfg.min_notice_days), 'preop_expired',
         format('pre-operative assessment of %s expires on %s, before the first date that can be booked (%s)',
                c.preop_on, c.preop_until, greatest(from_date, v_as_of + v_cfg.min_notice_days))),
        (8, c.ready_until < c.ready_from, 'unavailable', 'the patient is unavailable for the whole period'),
        (9, n.n_site = 0, 'no_session',
         format('no %s session at %s between %s and %s', c.specialty, array_to_string(c.site_codes, ', '),
                c.ready_from, c.ready_until)),
        (10, n.n_cons = 0, 'consultant_no_session',
         format('%s has no session between %s and %s', c.consultant, c.ready_from, c.ready_until)),
        (11, n.n_avail = 0, 'consultant_on_leave',
         format('%s is on leave for all %s of their sessions between %s and %s', c.consultant, n.n_cons,
                c.ready_from, c.ready_until)),
        (12, n.n_kit = 0, 'no_equipment',
         format('no session has %s', array_to_string(array_remove(c.equipment, 'inpatient_beds'), ' and '))),
        (13, n.n_beds = 0, 'inpatient_at_day_unit', 'needs an inpatient bed and every session is in a day-case unit'),
        (14, n.n_long = 0, 'too_long', format('needs %s minutes, longer than any session', c.minutes)),
        (15, true, 'sessions_full',
         format('%s eligible session(s) from %s were filled by patients ahead on the list, or had fewer than %s minutes left',
                n.n_long, n.first_date, c.minutes + v_cfg.turnaround_minutes))
        ) v(k, failed, reason, detail)
        WHERE v.failed ORDER BY v.k LIMIT 1) r;

    DROP TABLE theatre_run_session, theatre_run_case, theatre_run_estimate;
    -- Queries join the run's proposals and outcomes next: plan them for
    -- their size (a check joining outcomes planned as one row took 37 s).
    PERFORM ptl.analyze_if_grown('ptl.theatre_proposal');
    PERFORM ptl.analyze_if_grown('ptl.theatre_proposal_outcome');
END
$proc$;

-- ---------------------------------------------------------------------------
-- Loading: staged rows know their record in the file; files read record by
-- record; staging into a closed batch refused.
-- ---------------------------------------------------------------------------
ALTER TABLE ptl_stage.patient ADD COLUMN source_row bigint;
ALTER TABLE ptl_stage.pathway ADD COLUMN source_row bigint;
ALTER TABLE ptl_stage.pathway_event ADD COLUMN source_row bigint;
ALTER TABLE ptl_stage.waiting_list_entry ADD COLUMN source_row bigint;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY '{patient,pathway,pathway_event,waiting_list_entry}'::text[] LOOP
        EXECUTE format('COMMENT ON COLUMN ptl_stage.%I.source_row IS %L', t,
                       'Data record number in the delivered file (ptl.stage_extract); NULL when COPYed, and the position follows from row_no');
    END LOOP;
END
$$;

ALTER TABLE ptl.rejected_row DROP CONSTRAINT rejected_row_reason_check;
ALTER TABLE ptl.rejected_row ADD CONSTRAINT rejected_row_reason_check CHECK (reason IN (
    'missing_required', 'invalid_date', 'invalid_number', 'invalid_code',
    'implausible_date', 'inconsistent', 'out_of_range',
    'duplicate_in_extract', 'unknown_parent', 'parent_rejected',
    'unterminated_quote', 'stray_quote', 'nul_byte', 'invalid_encoding',
    'field_too_long', 'wrong_column_count', 'formula_injection'));
COMMENT ON COLUMN ptl.rejected_row.reason IS
    'Reason code: missing_required, invalid_date, invalid_number, invalid_code, implausible_date, inconsistent, out_of_range, duplicate_in_extract, unknown_parent, parent_rejected; and from ptl.stage_extract: unterminated_quote, stray_quote, nul_byte, invalid_encoding, field_too_long, wrong_column_count, formula_injection';

CREATE OR REPLACE FUNCTION ptl.close_batch(batch bigint DEFAULT ptl.current_batch()) RETURNS ptl.batch
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    b ptl.batch;
BEGIN
    SELECT * INTO b FROM ptl.batch x WHERE x.batch_id = close_batch.batch FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'batch % does not exist', coalesce(close_batch.batch::text, 'NULL')
            USING ERRCODE = 'no_data_found', HINT = 'Open a batch with ptl.open_batch().';
    END IF;
    IF b.status <> 'open' THEN
        RAISE EXCEPTION 'batch % is already %', b.batch_id, b.status
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Only an open batch can be closed.';
    END IF;
    UPDATE ptl.batch x SET status = 'ready' WHERE x.batch_id = b.batch_id RETURNING * INTO b;
    RETURN b;
END
$$;
COMMENT ON FUNCTION ptl.close_batch(bigint) IS
    'Marks an open batch ready: every extract is staged, and the next ptl.daily_refresh loads it';
CREATE OR REPLACE FUNCTION ptl.stage_batch_is_open() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    b record;
BEGIN
    FOR b IN
        SELECT s.batch_id, (SELECT x.status FROM ptl.batch x WHERE x.batch_id = s.batch_id FOR SHARE) AS status
        FROM (SELECT DISTINCT n.batch_id FROM new_rows n) s
        ORDER BY s.batch_id
    LOOP
        IF b.status IS DISTINCT FROM 'open' THEN
            RAISE EXCEPTION 'cannot stage rows into batch %: it is %', coalesce(b.batch_id::text, 'NULL'),
                            coalesce(b.status, 'not opened')
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = format('%s rows for ptl_stage.%s were refused.',
                                      (SELECT count(*) FROM new_rows n WHERE n.batch_id IS NOT DISTINCT FROM b.batch_id),
                                      TG_TABLE_NAME),
                      HINT = 'Open a new batch with ptl.open_batch() and stage the rows into it.';
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ptl.stage_batch_is_open() IS
    'Trigger on the staging tables: refuses rows for a batch that is not open (ready or loaded)';
CREATE TRIGGER stage_batch_is_open AFTER INSERT ON ptl_stage.patient
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.stage_batch_is_open();
CREATE TRIGGER stage_batch_is_open AFTER INSERT ON ptl_stage.pathway
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.stage_batch_is_open();
CREATE TRIGGER stage_batch_is_open AFTER INSERT ON ptl_stage.pathway_event
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.stage_batch_is_open();
CREATE TRIGGER stage_batch_is_open AFTER INSERT ON ptl_stage.waiting_list_entry
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.stage_batch_is_open();
CREATE OR REPLACE FUNCTION ptl.load_check_columns(batch bigint, extract_name text) RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    fails text := '';
    warns text := '';
    c ptl.extract_column;
    test text;
    n bigint;
BEGIN
    FOR c IN SELECT * FROM ptl.extract_column WHERE extract = extract_name ORDER BY ordinal LOOP
        test := ptl.extract_column_fails(c);
        CONTINUE WHEN test IS NULL;
        IF c.when_invalid = 'quarantine' THEN
            fails := fails || format(' WHEN %s THEN %L', test, c.column_name);
        ELSE
            warns := warns || format(' WHEN %s THEN %L', test, c.column_name);
        END IF;
    END LOOP;
    IF to_regclass('pg_temp.ptl_load_' || extract_name) IS NOT NULL THEN
        EXECUTE format('DROP TABLE pg_temp.%I', 'ptl_load_' || extract_name);
    END IF;
    EXECUTE format($q$
        CREATE TEMP TABLE %I ON COMMIT DROP AS
        SELECT s.*,
               coalesce(s.source_row, row_number() OVER (ORDER BY s.row_no)) AS row_in_extract,
               CASE %s END AS bad_column,
               CASE %s END AS warn_column,
               NULL::text AS reason,
               NULL::text AS rule_column,
               NULL::text AS bad_sqlstate,
               NULL::text AS bad_message
        FROM ptl_stage.%I s
        WHERE s.batch_id = $1$q$,
        'ptl_load_' || extract_name,
        CASE WHEN fails = '' THEN 'WHEN false THEN NULL' ELSE fails END,
        CASE WHEN warns = '' THEN 'WHEN false THEN NULL' ELSE warns END,
        extract_name)
    USING batch;
    GET DIAGNOSTICS n = ROW_COUNT;
    EXECUTE format('ANALYZE pg_temp.%I', 'ptl_load_' || extract_name);
    RETURN n;
END
$$;
CREATE OR REPLACE FUNCTION ptl.load_mark_repeats(extract_name text, key_columns text[], key_words text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    keys text := (SELECT string_agg(format('ptl.extract_value(%I)', k), ', ') FROM unnest(key_columns) k);
BEGIN
    -- Group first (a hash, no sort of the whole extract), then touch only
    -- the rows of keys that repeat.
    EXECUTE format($q$
        UPDATE pg_temp.%1$I w
        SET reason = 'duplicate_in_extract', bad_sqlstate = '23505',
            bad_message = format(%2$L, d.last_row)
        FROM (SELECT ROW(%3$s) AS key, max(row_in_extract) AS last_row
              FROM pg_temp.%1$I
              GROUP BY %3$s
              HAVING count(*) > 1) d
        WHERE ROW(%4$s) = d.key
          AND w.row_in_extract < d.last_row
          AND w.bad_column IS NULL$q$,
        'ptl_load_' || extract_name,
        -- the message as a quoted literal: key_words is text, not SQL
        format('the same %s appears again at row %%s of this extract; only the last row counts',
               replace(key_words, '%', '%%')),
        keys,
        (SELECT string_agg(format('ptl.extract_value(w.%I)', k), ', ') FROM unnest(key_columns) k));
END
$$;
CREATE OR REPLACE FUNCTION ptl.load_quarantine(batch bigint, extract_name text,
                                    OUT quarantined bigint, OUT warned bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    work text := 'ptl_load_' || extract_name;
    n bigint;
BEGIN
    -- Faults of one column: reason and message come from the column's rule.
    EXECUTE format($q$
        INSERT INTO ptl.rejected_row (batch_id, extract, row_in_extract, column_name, value,
                                      reason, sqlstate, message, raw)
        SELECT $1, $2, w.row_in_extract, w.bad_column, r.value,
               p.reason, p.sqlstate, p.message, r.raw
        FROM pg_temp.%I w
        CROSS JOIN LATERAL (
            SELECT to_jsonb(w) ->> w.bad_column AS value,
                   to_jsonb(w) - '{bad_column,warn_column,reason,rule_column,bad_sqlstate,bad_message,row_in_extract,batch_id,row_no,source_row}'::text[] AS raw) r
        JOIN ptl.extract_column c ON c.extract = $2 AND c.column_name = w.bad_column
        CROSS JOIN LATERAL ptl.extract_value_problem(c, r.value) p
        WHERE w.bad_column IS NOT NULL$q$, work)
    USING batch, extract_name;
    GET DIAGNOSTICS quarantined = ROW_COUNT;

    -- Faults found by the extract's row rules carry their own message.
    EXECUTE format($q$
        INSERT INTO ptl.rejected_row (batch_id, extract, row_in_extract, column_name, value,
                                      reason, sqlstate, message, raw)
        SELECT $1, $2, w.row_in_extract, w.rule_column, to_jsonb(w) ->> w.rule_column,
               w.reason, w.bad_sqlstate, w.bad_message,
               to_jsonb(w) - '{bad_column,warn_column,reason,rule_column,bad_sqlstate,bad_message,row_in_extract,batch_id,row_no,source_row}'::text[]
        FROM pg_temp.%I w
        WHERE w.bad_column IS NULL AND w.reason IS NOT NULL$q$, work)
    USING batch, extract_name;
    GET DIAGNOSTICS n = ROW_COUNT;
    quarantined := quarantined + n;

    -- Values left out of rows that loaded.
    EXECUTE format($q$
        INSERT INTO ptl.load_warning (batch_id, extract, row_in_extract, column_name, value,
                                      reason, sqlstate, message)
        SELECT $1, $2, w.row_in_extract, w.warn_column, r.value,
               'invalid_' || w.warn_column, p.sqlstate,
               format('%%s %%L is not valid and was left out (kept as recorded): %%s',
                      w.warn_column, r.value, coalesce(p.detail, p.message))
        FROM pg_temp.%I w
        CROSS JOIN LATERAL (SELECT to_jsonb(w) ->> w.warn_column AS value) r
        JOIN ptl.extract_column c ON c.extract = $2 AND c.column_name = w.warn_column
        CROSS JOIN LATERAL ptl.check_input(ptl.extract_value(r.value), c.value_type) p
        WHERE w.warn_column IS NOT NULL AND w.bad_column IS NULL AND w.reason IS NULL$q$, work)
    USING batch, extract_name;
    GET DIAGNOSTICS warned = ROW_COUNT;

    EXECUTE format('DELETE FROM ptl_stage.%I WHERE batch_id = $1', extract_name) USING batch;
END
$$;
CREATE OR REPLACE FUNCTION ptl.load(batch bigint DEFAULT ptl.current_batch())
RETURNS SETOF ptl.batch_extract
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch;
    extract_name text;
    started timestamptz;
    n_read bigint;
    n_loaded bigint;
    n_changed bigint;
    n_refused bigint;
    q record;
BEGIN
    IF batch IS NULL THEN
        RAISE EXCEPTION 'no batch to load'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass the batch number, or call ptl.open_batch() first in this session.';
    END IF;
    -- One load of a batch at a time; a second caller waits here.
    SELECT * INTO b FROM ptl.batch x WHERE x.batch_id = batch FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'batch % does not exist', batch
            USING ERRCODE = 'no_data_found', HINT = 'Open a batch with ptl.open_batch().';
    END IF;
    IF b.status = 'loaded' THEN
        RAISE EXCEPTION 'batch % was already loaded', batch
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('It was loaded at %s.', b.loaded_at),
                  HINT = 'Open a new batch for a new delivery; re-sending the same rows in a new batch changes nothing.';
    END IF;

    -- Parents before children: a row can only point at what is loaded.
    FOREACH extract_name IN ARRAY ARRAY['patient', 'pathway', 'pathway_event', 'waiting_list_entry'] LOOP
        started := clock_timestamp();
        -- Records ptl.stage_extract refused before staging count as read
        -- and quarantined (the batch had no rejected rows before its load).
        n_refused := (SELECT count(*) FROM ptl.rejected_row r
                      WHERE r.batch_id = load.batch AND r.extract = extract_name);
        n_read := ptl.load_check_columns(batch, extract_name) + n_refused;
        CASE extract_name
            WHEN 'patient' THEN SELECT * INTO n_loaded, n_changed FROM ptl.load_patients(batch);
            WHEN 'pathway' THEN SELECT * INTO n_loaded, n_changed FROM ptl.load_pathways(batch);
            WHEN 'pathway_event' THEN SELECT * INTO n_loaded, n_changed FROM ptl.load_events(batch);
            ELSE SELECT * INTO n_loaded, n_changed FROM ptl.load_waiting_list(batch);
        END CASE;
        SELECT * INTO q FROM ptl.load_quarantine(batch, extract_name);
        EXECUTE format('DROP TABLE pg_temp.%I', 'ptl_load_' || extract_name);
        -- The next extract joins this one: plan it for its new size.
        PERFORM ptl.analyze_if_grown(format('ptl.%I', extract_name)::regclass, n_loaded);

        -- The constraint batch_extract_nothing_lost refuses the row, and so
        -- the whole load, if any staged row is unaccounted for.
        INSERT INTO ptl.batch_extract
            (batch_id, extract, rows_read, rows_loaded, rows_updated, rows_unchanged,
             rows_quarantined, rows_with_warnings, load_ms)
        VALUES (batch, extract_name, n_read, n_loaded, n_read - n_loaded - q.quarantined - n_refused,
                n_read - n_loaded - q.quarantined - n_refused - n_changed, q.quarantined + n_refused, q.warned,
                round(extract(epoch FROM clock_timestamp() - started) * 1000, 1));
    END LOOP;

    UPDATE ptl.batch x SET status = 'loaded', loaded_at = now() WHERE x.batch_id = batch;
    RETURN QUERY SELECT * FROM ptl.batch_extract WHERE batch_id = batch ORDER BY
        array_position(ARRAY['patient', 'pathway', 'pathway_event', 'waiting_list_entry'], extract);
END
$$;
CREATE OR REPLACE FUNCTION ptl.csv_records(data bytea, encoding name DEFAULT 'UTF8', delimiter text DEFAULT ',',
                                max_field_bytes int DEFAULT 65536,
                                OUT record_no int, OUT fields text[], OUT problem text, OUT bad_field int,
                                OUT raw text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'csv_records'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.csv_records(bytea, name, text, int) IS
    'A CSV file (RFC 4180) split into records: the fields of each good record, or the problem with a bad one (unterminated_quote, stray_quote, nul_byte, invalid_encoding, field_too_long) and the record made printable';
CREATE OR REPLACE FUNCTION ptl.is_formula_cell(cell text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN cell ~ '^[-=+@\t\r]' AND cell !~ '^[-+]?[0-9]+([.][0-9]*)?$';
COMMENT ON FUNCTION ptl.is_formula_cell(text) IS
    'Whether a cell would be read as a formula by a spreadsheet (starts with = + - @, tab or CR, and is not a signed number)';
CREATE OR REPLACE FUNCTION ptl.stage_extract(batch bigint, extract_name text, data bytea,
                                  encoding name DEFAULT 'UTF8', delimiter text DEFAULT ',',
                                  max_field_bytes int DEFAULT 4096,
                                  OUT records bigint, OUT staged bigint, OUT refused bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    b ptl.batch;
    header text[];
    header_problem text;
    known text[];
    bad text;
BEGIN
    IF extract_name IS NULL OR extract_name NOT IN ('patient', 'pathway', 'pathway_event', 'waiting_list_entry') THEN
        RAISE EXCEPTION 'there is no extract called %', coalesce(quote_literal(extract_name), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The extracts are patient, pathway, pathway_event and waiting_list_entry.';
    END IF;
    SELECT * INTO b FROM ptl.batch x WHERE x.batch_id = stage_extract.batch FOR SHARE;
    IF NOT FOUND OR b.status <> 'open' THEN
        RAISE EXCEPTION 'cannot stage rows into batch %: it is %', coalesce(batch::text, 'NULL'),
                        coalesce(b.status, 'not opened')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Open a new batch with ptl.open_batch() and stage the file into it.';
    END IF;

    IF to_regclass('pg_temp.ptl_extract_record') IS NOT NULL THEN
        DROP TABLE pg_temp.ptl_extract_record;
    END IF;
    CREATE TEMP TABLE ptl_extract_record ON COMMIT DROP AS
    SELECT r.*, NULL::text AS reason, NULL::int AS column_no, NULL::text AS message
    FROM ptl.csv_records(data, encoding, delimiter, max_field_bytes) r;

    SELECT r.fields, r.problem INTO header, header_problem FROM ptl_extract_record r WHERE r.record_no = 1;
    IF NOT FOUND THEN
        records := 0; staged := 0; refused := 0;
        RETURN;
    END IF;
    IF header_problem IS NOT NULL THEN
        RAISE EXCEPTION 'the header of the % extract cannot be read: %', extract_name, header_problem
            USING ERRCODE = 'bad_copy_file_format',
                  HINT = 'The first line must name the columns, e.g. local_patient_id,nhs_number,...';
    END IF;
    header := ARRAY(SELECT lower(btrim(h)) FROM unnest(header) WITH ORDINALITY u(h, i) ORDER BY i);
    known := ARRAY(SELECT c.column_name FROM ptl.extract_column c WHERE c.extract = extract_name ORDER BY c.ordinal);
    bad := (SELECT h FROM unnest(header) h WHERE h IS NULL OR h <> ALL (known) LIMIT 1);
    IF bad IS NOT NULL OR array_position(header, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'column % in the header of the % extract is not one of its columns',
                        coalesce(quote_literal(bad), 'NULL'), extract_name
            USING ERRCODE = 'bad_copy_file_format',
                  HINT = format('The columns are: %s.', array_to_string(known, ', '));
    END IF;
    bad := (SELECT h FROM unnest(header) h GROUP BY h HAVING count(*) > 1 LIMIT 1);
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'column % appears twice in the header of the % extract', quote_literal(bad), extract_name
            USING ERRCODE = 'bad_copy_file_format';
    END IF;

    -- Why each refused record is refused: how it was written, then its
    -- shape, then a cell a spreadsheet would run.
    UPDATE ptl_extract_record r
    SET reason = coalesce(r.problem, v.reason), column_no = coalesce(r.bad_field, v.column_no),
        message = CASE coalesce(r.problem, v.reason)
            WHEN 'unterminated_quote' THEN 'the file ends inside a quoted field'
            WHEN 'stray_quote' THEN 'a quoted field is followed by more text before the next delimiter'
            WHEN 'nul_byte' THEN 'the record holds a zero byte, which text cannot'
            WHEN 'invalid_encoding' THEN format('the record is not valid %s', encoding)
            WHEN 'field_too_long' THEN format('a field is longer than %s bytes', max_field_bytes)
            WHEN 'wrong_column_count' THEN format('the record has %s fields, the header %s',
                                                  cardinality(r.fields), cardinality(header))
            WHEN 'formula_injection' THEN format('%s starts like a spreadsheet formula', header[v.column_no])
            END
    FROM ptl_extract_record x
    CROSS JOIN LATERAL (
        SELECT CASE WHEN x.fields IS NULL THEN NULL
                    WHEN cardinality(x.fields) <> cardinality(header) THEN 'wrong_column_count'
                    WHEN f.i IS NOT NULL THEN 'formula_injection' END AS reason,
               f.i::int AS column_no
        FROM (SELECT min(u.i) AS i FROM unnest(x.fields) WITH ORDINALITY u(cell, i)
              WHERE ptl.is_formula_cell(u.cell)) f) v
    WHERE r.record_no = x.record_no AND r.record_no > 1
      AND (r.problem IS NOT NULL OR v.reason IS NOT NULL);

    INSERT INTO ptl.rejected_row (batch_id, extract, row_in_extract, column_name, value, reason, sqlstate,
                                  message, raw)
    SELECT batch, extract_name, r.record_no - 1,
           CASE WHEN r.reason <> 'wrong_column_count' THEN header[r.column_no] END,
           CASE WHEN r.reason = 'formula_injection' THEN r.fields[r.column_no] END,
           r.reason,
           CASE r.reason WHEN 'nul_byte' THEN '22021' WHEN 'invalid_encoding' THEN '22021'
                         WHEN 'field_too_long' THEN '22001' WHEN 'formula_injection' THEN '22P02'
                         ELSE '22P04' END,
           format('record %s: %s', r.record_no - 1, r.message),
           CASE WHEN r.fields IS NOT NULL THEN to_jsonb(r.fields) ELSE to_jsonb(r.raw) END
    FROM ptl_extract_record r
    WHERE r.reason IS NOT NULL
    ORDER BY r.record_no;
    GET DIAGNOSTICS refused = ROW_COUNT;

    EXECUTE format('INSERT INTO ptl_stage.%I (batch_id, source_row, %s) SELECT $1, r.record_no - 1, %s
                    FROM pg_temp.ptl_extract_record r WHERE r.record_no > 1 AND r.reason IS NULL ORDER BY r.record_no',
                   extract_name,
                   (SELECT string_agg(format('%I', h), ', ' ORDER BY i) FROM unnest(header) WITH ORDINALITY u(h, i)),
                   (SELECT string_agg(format('r.fields[%s]', i), ', ' ORDER BY i) FROM generate_subscripts(header, 1) i))
    USING batch;
    GET DIAGNOSTICS staged = ROW_COUNT;
    records := staged + refused;
    DROP TABLE pg_temp.ptl_extract_record;
END
$$;
COMMENT ON FUNCTION ptl.stage_extract(bigint, text, bytea, name, text, int) IS
    'Stages an extract file (CSV with a header naming the columns, in the given encoding) into an open batch: good records into ptl_stage, malformed ones (quoting, zero bytes, encoding, huge fields, column count, formula cells) into ptl.rejected_row with the reason; then ptl.load checks the values';

-- ---------------------------------------------------------------------------
-- The run log records running and failed runs, step times and loads.
-- ---------------------------------------------------------------------------
ALTER TABLE ptl.refresh_run
    ALTER COLUMN finished_at DROP NOT NULL,
    ALTER COLUMN pathways_computed DROP NOT NULL,
    ALTER COLUMN periods DROP NOT NULL,
    ALTER COLUMN event_issues DROP NOT NULL,
    ALTER COLUMN validation_issues DROP NOT NULL,
    ALTER COLUMN snapshot_rows DROP NOT NULL,
    ADD COLUMN status text NOT NULL DEFAULT 'succeeded' CHECK (status IN ('running', 'succeeded', 'failed')),
    ADD COLUMN entry_point text NOT NULL DEFAULT 'refresh' CHECK (entry_point IN ('refresh', 'daily_refresh')),
    ADD COLUMN backend_pid int NOT NULL DEFAULT pg_backend_pid(),
    ADD COLUMN batches_loaded int,
    ADD COLUMN rows_loaded bigint,
    ADD COLUMN rows_rejected bigint,
    ADD COLUMN snapshot_partitions_dropped int,
    ADD COLUMN steps jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN failed_step text,
    ADD COLUMN error_sqlstate text,
    ADD COLUMN error_message text,
    ADD COLUMN error_detail text,
    ADD COLUMN error_context text,
    ADD CONSTRAINT refresh_run_failure_has_reason CHECK ((status = 'failed') = (error_message IS NOT NULL));
COMMENT ON TABLE ptl.refresh_run IS 'One row a refresh: what it did, how long each step took, and why it failed if it did (see ptl.refresh_status)';
COMMENT ON COLUMN ptl.refresh_run.run_id IS 'Run number';
COMMENT ON COLUMN ptl.refresh_run.census IS 'Census date';
COMMENT ON COLUMN ptl.refresh_run.full_refresh IS 'Whether every pathway was recomputed';
COMMENT ON COLUMN ptl.refresh_run.started_at IS 'Start';
COMMENT ON COLUMN ptl.refresh_run.finished_at IS 'End (NULL while running)';
COMMENT ON COLUMN ptl.refresh_run.status IS 'running, succeeded, or failed (everything the run did was rolled back)';
COMMENT ON COLUMN ptl.refresh_run.entry_point IS 'refresh (ptl.refresh) or daily_refresh (load, then refresh, then retention)';
COMMENT ON COLUMN ptl.refresh_run.backend_pid IS 'Server process that ran it (a running row whose process is gone was interrupted)';
COMMENT ON COLUMN ptl.refresh_run.batches_loaded IS 'Ready batches loaded from staging (daily_refresh)';
COMMENT ON COLUMN ptl.refresh_run.rows_loaded IS 'Staged rows they loaded';
COMMENT ON COLUMN ptl.refresh_run.rows_rejected IS 'Staged rows they quarantined';
COMMENT ON COLUMN ptl.refresh_run.pathways_computed IS 'Pathway records whose clocks were recomputed';
COMMENT ON COLUMN ptl.refresh_run.periods IS 'Periods stored for them';
COMMENT ON COLUMN ptl.refresh_run.event_issues IS 'Engine issues stored for them';
COMMENT ON COLUMN ptl.refresh_run.validation_issues IS 'Validation issues listed after the run';
COMMENT ON COLUMN ptl.refresh_run.snapshot_rows IS 'Rows written to the census snapshot';
COMMENT ON COLUMN ptl.refresh_run.snapshot_partitions_dropped IS 'Monthly snapshot partitions dropped for retention (daily_refresh)';
COMMENT ON COLUMN ptl.refresh_run.steps IS 'Each step in order: {"step", "ms", "rows"}';
COMMENT ON COLUMN ptl.refresh_run.failed_step IS 'Step that failed';
COMMENT ON COLUMN ptl.refresh_run.error_sqlstate IS 'SQLSTATE of the failure';
COMMENT ON COLUMN ptl.refresh_run.error_message IS 'Error message of the failure';
COMMENT ON COLUMN ptl.refresh_run.error_detail IS 'Its detail';
COMMENT ON COLUMN ptl.refresh_run.error_context IS 'Where it was raised';
COMMENT ON COLUMN ptl.refresh_run.run_by IS 'Database user';
CREATE OR REPLACE FUNCTION ptl.refresh_step(steps jsonb, step text, began timestamptz, n bigint DEFAULT NULL) RETURNS jsonb
LANGUAGE sql VOLATILE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN steps || jsonb_build_array(jsonb_build_object(
    'step', step,
    'ms', round(extract(epoch FROM clock_timestamp() - began) * 1000),
    'rows', n));
COMMENT ON FUNCTION ptl.refresh_step(jsonb, text, timestamptz, bigint) IS
    'Internal to the refresh: appends a step''s name, elapsed milliseconds and row count to a run''s steps';
CREATE OR REPLACE PROCEDURE ptl.refresh(census date DEFAULT current_date, "full" boolean DEFAULT false)
LANGUAGE plpgsql
SET search_path = pg_catalog, ptl, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    started timestamptz := clock_timestamp();
    last_census date;
    everything boolean := "full";
    computed record;
    n_snapshot bigint;
    n_validation bigint;
    n_target bigint;
    n_link bigint;
    steps jsonb := '[]';
    step_began timestamptz;
    daily_run bigint := nullif(current_setting('ptl.daily_refresh_run', true), '')::bigint;
BEGIN
    IF census IS NULL OR census = 'infinity' OR census = '-infinity' THEN
        RAISE EXCEPTION 'census date must be a finite date, not %', coalesce(census::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- One refresh at a time; readers (ACCESS SHARE) are not blocked and see
    -- the old list until this transaction commits.
    LOCK TABLE ptl.rtt_pathway IN SHARE ROW EXCLUSIVE MODE;
    steps := ptl.refresh_step(steps, 'table_lock', started);

    SELECT r.census INTO last_census FROM ptl.refresh_run r
    WHERE r.status = 'succeeded' ORDER BY r.run_id DESC LIMIT 1;
    -- Going back in time, or never computed: everything.
    IF last_census IS NULL OR census < last_census THEN
        everything := true;
    END IF;

    -- Statistics the planner can trust before anything joins: a load, or
    -- rows rolled back since autovacuum last looked, leave them stale.
    step_began := clock_timestamp();
    PERFORM ptl.analyze_if_grown(t)
    FROM unnest(ARRAY['ptl.patient', 'ptl.pathway', 'ptl.pathway_event', 'ptl.waiting_list_entry',
                      'ptl.rtt_dirty_pathway', 'ptl.rtt_pathway', 'ptl.rtt_period', 'ptl.person_link',
                      'ptl.pathway_link', 'ptl.pathway_transfer', 'ptl.pathway_duplicate',
                      'ptl.census_snapshot', 'ptl.waiting_list_suspension', 'ptl.risk_assessment',
                      'ptl.clinical_priority_history']::regclass[]) t;
    steps := ptl.refresh_step(steps, 'analyze', step_began);
    step_began := clock_timestamp();

    -- Link first (link/): persons when patient records changed since the
    -- last linkage run, then pathways across providers.
    IF NOT EXISTS (SELECT 1 FROM ptl.link_run)
       OR EXISTS (SELECT 1 FROM ptl.patient p
                  WHERE p.updated_at >= (SELECT max(r.started_at) FROM ptl.link_run r))
       OR (SELECT count(*) FROM ptl.patient)
          <> (SELECT r.records FROM ptl.link_run r ORDER BY r.run_id DESC LIMIT 1) THEN
        PERFORM ptl.link_persons();
    END IF;
    IF to_regclass('pg_temp.rtt_receiver_before') IS NOT NULL THEN
        DROP TABLE pg_temp.rtt_receiver_before;
    END IF;
    CREATE TEMP TABLE rtt_receiver_before ON COMMIT DROP AS
    SELECT DISTINCT receiver_pathway_id AS pathway_id FROM ptl.pathway_transfer;
    PERFORM ptl.link_pathways();
    n_link := (SELECT count(*) FROM ptl.pathway_transfer);
    steps := ptl.refresh_step(steps, 'link', step_began, n_link);
    step_began := clock_timestamp();

    IF to_regclass('pg_temp.rtt_target') IS NOT NULL THEN
        DROP TABLE pg_temp.rtt_target;
    END IF;
    CREATE TEMP TABLE rtt_target (pathway_id bigint PRIMARY KEY) ON COMMIT DROP;
    IF everything THEN
        DELETE FROM ptl.rtt_dirty_pathway;
        INSERT INTO rtt_target SELECT pathway_id FROM ptl.pathway;
        -- Pathway records that no longer exist lose their clocks.
        DELETE FROM ptl.rtt_pathway r WHERE NOT EXISTS (SELECT 1 FROM rtt_target t WHERE t.pathway_id = r.pathway_id);
    ELSE
        WITH taken AS (DELETE FROM ptl.rtt_dirty_pathway RETURNING pathway_id)
        INSERT INTO rtt_target
        SELECT pathway_id FROM taken
        UNION
        -- events that were in the future at the last census are not any more
        SELECT pathway_id FROM ptl.rtt_pathway WHERE next_event_date <= census
        UNION
        SELECT p.pathway_id FROM ptl.pathway p
        WHERE NOT EXISTS (SELECT 1 FROM ptl.rtt_pathway r WHERE r.pathway_id = p.pathway_id);
        -- Receivers of transfers (before and after this linkage) run on their
        -- senders' events too: a few, always recomputed.
        INSERT INTO rtt_target
        SELECT pathway_id FROM rtt_receiver_before
        UNION
        SELECT receiver_pathway_id FROM ptl.pathway_transfer
        ON CONFLICT DO NOTHING;
        DELETE FROM rtt_target t WHERE NOT EXISTS (SELECT 1 FROM ptl.pathway p WHERE p.pathway_id = t.pathway_id);
    END IF;
    ANALYZE rtt_target;
    -- After a big load the planner's statistics are stale (autovacuum has not
    -- caught up) and a bad join plan costs minutes; sampling costs a second.
    SELECT count(*) INTO n_target FROM rtt_target;
    IF n_target > 10000 THEN
        ANALYZE ptl.pathway, ptl.pathway_event, ptl.patient, ptl.waiting_list_entry;
    END IF;

    computed := ptl.rtt_compute(census);
    IF n_target > 10000 THEN
        ANALYZE ptl.rtt_pathway, ptl.rtt_period, ptl.rtt_event_issue;
    END IF;

    -- The other incomplete periods only grow older.
    UPDATE ptl.rtt_period
    SET census = refresh.census,
        days_waited = refresh.census - clock_start,
        week_band = CASE WHEN refresh.census - clock_start >= 0
                         THEN ptl.rtt_week_band(refresh.census - clock_start) END,
        adjusted_days = refresh.census - clock_start
    WHERE outcome = 'incomplete' AND rtt_period.census <> refresh.census;
    UPDATE ptl.rtt_pathway SET census = refresh.census WHERE rtt_pathway.census <> refresh.census;
    steps := ptl.refresh_step(steps, 'clock', step_began, computed.pathways);
    step_began := clock_timestamp();

    PERFORM ptl.find_pathway_duplicates(census);
    n_validation := ptl.validate(census);
    steps := ptl.refresh_step(steps, 'validate', step_began, n_validation);
    step_began := clock_timestamp();

    -- Rank and snapshot: ptl.ptl orders each list (list_position) as it is
    -- read, and the snapshot keeps that order for the census.
    PERFORM ptl.census_snapshot_partition(census);

    DELETE FROM ptl.census_snapshot s WHERE s.census_date = census;
    INSERT INTO ptl.census_snapshot (census_date, pathway_id, period_no, provider_org, site_code,
                                     treatment_function, rtt_line, commissioner_code, referral_priority,
                                     clinical_priority, clock_start, days_waited, week_band, has_dta,
                                     target_date, list_position)
    SELECT census, l.pathway_id, l.period_no, l.provider_org, l.site_code, l.treatment_function,
           l.rtt_line, l.commissioner_code, l.referral_priority, l.clinical_priority,
           l.clock_start, l.days_waited, l.week_band, l.has_dta, l.target_date, l.list_position
    FROM ptl.ptl l;
    GET DIAGNOSTICS n_snapshot = ROW_COUNT;
    steps := ptl.refresh_step(steps, 'rank_and_snapshot', step_began, n_snapshot);

    IF daily_run IS NULL THEN
        INSERT INTO ptl.refresh_run (census, full_refresh, started_at, pathways_computed, periods,
                                     event_issues, validation_issues, snapshot_rows, steps)
        VALUES (census, everything, started, computed.pathways, computed.periods, computed.issues,
                n_validation, n_snapshot, steps);
    ELSE
        -- Under ptl.daily_refresh, which finishes its own row.
        UPDATE ptl.refresh_run r
        SET full_refresh = everything, pathways_computed = computed.pathways, periods = computed.periods,
            event_issues = computed.issues, validation_issues = n_validation, snapshot_rows = n_snapshot,
            steps = r.steps || steps
        WHERE r.run_id = daily_run;
    END IF;
END
$$;

-- ---------------------------------------------------------------------------
-- Who sees which organisation (used by the PTL view and the policies), and
-- the daily refresh.
-- ---------------------------------------------------------------------------
-- from src/ops/access.sql
-- ---------------------------------------------------------------------------
-- ops, part 2: who may see which organisation's patients.  A database role
-- (a login, or a group role its logins belong to) is mapped to one or more
-- organisations; mapped to the ICS (organisation.org_kind = 'ics'), or a
-- member of ptl_admin, it sees everything.  The row-level security policies
-- (ops/security.sql) and the PTL view use the functions below.
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.user_organisation (
    role_name   name NOT NULL,
    org_code    text NOT NULL REFERENCES ptl.organisation (org_code) ON UPDATE CASCADE ON DELETE CASCADE,
    granted_at  timestamptz NOT NULL DEFAULT now(),
    granted_by  text NOT NULL DEFAULT current_user,
    PRIMARY KEY (role_name, org_code)
);
SELECT pg_catalog.pg_extension_config_dump('ptl.user_organisation', '');
COMMENT ON TABLE ptl.user_organisation IS
    'Which organisations'' patients a database role may see (through row-level security); a role mapped to the ICS organisation sees all';
COMMENT ON COLUMN ptl.user_organisation.role_name IS 'Database role: a login, or a group role whose members all get the mapping';
COMMENT ON COLUMN ptl.user_organisation.org_code IS 'Organisation (a trust, or the ICS for everything)';
COMMENT ON COLUMN ptl.user_organisation.granted_at IS 'When the mapping was made';
COMMENT ON COLUMN ptl.user_organisation.granted_by IS 'Who made it';

-- The organisations the current user is mapped to (directly or through a
-- role it belongs to).  Not SECURITY DEFINER: current_user must be the
-- caller's, and a caller sees only its own mappings (policy below).
CREATE FUNCTION ptl.my_organisations() RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN coalesce((SELECT array_agg(DISTINCT u.org_code ORDER BY u.org_code) FROM ptl.user_organisation u
                 WHERE pg_catalog.pg_has_role(current_user, u.role_name, 'MEMBER')), '{}');
COMMENT ON FUNCTION ptl.my_organisations() IS
    'Organisations whose patients the current user may see (ptl.user_organisation, through role membership)';

-- Whether the current user is a superuser or belongs to a ptl role (NULL
-- role, e.g. not created yet: no).
CREATE FUNCTION ptl.current_user_in(role_name name) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
    OR (pg_catalog.to_regrole(role_name) IS NOT NULL
        AND pg_catalog.pg_has_role(current_user, role_name, 'MEMBER'));
COMMENT ON FUNCTION ptl.current_user_in(name) IS
    'Whether the current user is a superuser or a member of the role';

-- Sees every organisation: a superuser, a member of ptl_admin, or a role
-- mapped to an organisation of kind ics.
CREATE FUNCTION ptl.sees_all_organisations() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN ptl.current_user_in('ptl_admin')
    OR EXISTS (SELECT 1 FROM ptl.organisation o
               WHERE o.org_kind = 'ics' AND o.org_code = ANY (ptl.my_organisations()));
COMMENT ON FUNCTION ptl.sees_all_organisations() IS
    'Whether the current user sees every organisation''s patients (superuser, ptl_admin, or mapped to the ICS)';

-- May see patient-identifying columns (NHS number, names, date of birth,
-- address, hospital number): a member of ptl_identifiable or ptl_admin.
CREATE FUNCTION ptl.may_identify() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN ptl.current_user_in('ptl_identifiable') OR ptl.current_user_in('ptl_admin');
COMMENT ON FUNCTION ptl.may_identify() IS
    'Whether the current user may see patient-identifying values (member of ptl_identifiable or ptl_admin)';

-- Pathway records another organisation's user sees because of a transfer:
-- the receiver to the sender's organisation and the sender to the
-- receiver's, limited to the caller's organisations.  Runs with its owner's
-- rights (not security_invoker), so a policy on ptl.pathway can use it
-- without the policy reading ptl.pathway through itself.
CREATE VIEW ptl.transferred_pathway_visible AS
SELECT x.receiver_pathway_id AS pathway_id, s.provider_org AS org_code
FROM ptl.pathway_transfer x JOIN ptl.pathway s ON s.pathway_id = x.sender_pathway_id
WHERE s.provider_org = ANY (ptl.my_organisations())
UNION
SELECT x.sender_pathway_id, r.provider_org
FROM ptl.pathway_transfer x JOIN ptl.pathway r ON r.pathway_id = x.receiver_pathway_id
WHERE r.provider_org = ANY (ptl.my_organisations());
COMMENT ON VIEW ptl.transferred_pathway_visible IS
    'Pathway records the current user sees because they were transferred to or from one of its organisations';
COMMENT ON COLUMN ptl.transferred_pathway_visible.pathway_id IS 'Pathway record at the other provider';
COMMENT ON COLUMN ptl.transferred_pathway_visible.org_code IS 'The caller''s organisation it was transferred to or from';
-- from src/ops/refresh.sql
-- ---------------------------------------------------------------------------
-- ops, part 1: the daily refresh that runs unattended.  ptl.daily_refresh
-- loads every ready batch, runs ptl.refresh (link, clock, validate, rank and
-- snapshot) and applies snapshot retention, as one unit of work: it all
-- commits or none of it does.  The run log row is committed before the work
-- starts and finished after it, so a failure leaves its reason behind.
-- docs/operations.md is the operator's guide.
-- ---------------------------------------------------------------------------

-- Operational settings.  Rows are a history: the latest is in force.  ptl
-- ships one row of defaults (left out of pg_dump; CREATE EXTENSION writes it
-- again); change a setting by inserting a row, e.g. INSERT INTO
-- ptl.ops_setting (snapshot_retention) VALUES ('5 years').
CREATE TABLE ptl.ops_setting (
    setting_id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    set_at              timestamptz NOT NULL DEFAULT now(),
    set_by              text NOT NULL DEFAULT current_user,
    shipped             boolean NOT NULL DEFAULT false,
    snapshot_retention  interval DEFAULT '3 years' CHECK (snapshot_retention > interval '0')
);
INSERT INTO ptl.ops_setting (setting_id, set_at, set_by, shipped) VALUES (0, '-infinity', 'ptl', true);
SELECT pg_catalog.pg_extension_config_dump('ptl.ops_setting', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('ptl.ops_setting_setting_id_seq', '');
COMMENT ON TABLE ptl.ops_setting IS
    'Operational settings: a history, the latest row is in force (insert a row to change)';
COMMENT ON COLUMN ptl.ops_setting.setting_id IS 'Row number (0 = the defaults ptl ships)';
COMMENT ON COLUMN ptl.ops_setting.set_at IS 'When the settings were set';
COMMENT ON COLUMN ptl.ops_setting.set_by IS 'Who set them';
COMMENT ON COLUMN ptl.ops_setting.shipped IS 'True for the defaults row ptl ships';
COMMENT ON COLUMN ptl.ops_setting.snapshot_retention IS
    'How long census snapshots are kept: ptl.daily_refresh drops the months that ended longer ago than this before the census (NULL keeps them all)';

CREATE FUNCTION ptl.ops_setting_in_force() RETURNS ptl.ops_setting
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN (SELECT s FROM ptl.ops_setting s ORDER BY s.set_at DESC, s.setting_id DESC LIMIT 1);
COMMENT ON FUNCTION ptl.ops_setting_in_force() IS 'The operational settings in force: the latest row of ptl.ops_setting';

-- The month's snapshot partition, made when first needed (rows already in the
-- default partition for that month move into it).  SECURITY DEFINER: the
-- refresh may run as ptl_admin, who does not own the snapshot table.
CREATE FUNCTION ptl.census_snapshot_partition(census date) RETURNS regclass
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    month_start date := date_trunc('month', census)::date;
    month_end date := (date_trunc('month', census) + interval '1 month')::date;
    part_name text := format('census_snapshot_y%sm%s', to_char(census, 'YYYY'), to_char(census, 'MM'));
    part regclass;
BEGIN
    IF census IN ('infinity', '-infinity') THEN
        RAISE EXCEPTION 'census date must be a finite date, not %', census
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    part := to_regclass(format('ptl.%I', part_name));
    IF part IS NOT NULL THEN
        RETURN part;
    END IF;
    -- Made beside the parent, then attached: attaching scans only the new
    -- month, and the default partition gives up its rows for it first.
    LOCK TABLE ptl.census_snapshot_default IN ACCESS EXCLUSIVE MODE;
    EXECUTE format('CREATE TABLE ptl.%I (LIKE ptl.census_snapshot INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   part_name);
    EXECUTE format('INSERT INTO ptl.%I SELECT * FROM ptl.census_snapshot_default
                    WHERE census_date >= %L AND census_date < %L', part_name, month_start, month_end);
    DELETE FROM ptl.census_snapshot_default d WHERE d.census_date >= month_start AND d.census_date < month_end;
    EXECUTE format('ALTER TABLE ptl.%I ADD CONSTRAINT %I CHECK (census_date >= %L AND census_date < %L),
                    ADD PRIMARY KEY (census_date, pathway_id, period_no)',
                   part_name, part_name || '_month', month_start, month_end);
    EXECUTE format('CREATE INDEX %I ON ptl.%I (census_date, provider_org, rtt_line)',
                   part_name || '_provider_idx', part_name);
    EXECUTE format('ALTER TABLE ptl.census_snapshot ATTACH PARTITION ptl.%I FOR VALUES FROM (%L) TO (%L)',
                   part_name, month_start, month_end);
    EXECUTE format('COMMENT ON TABLE ptl.%I IS %L', part_name,
                   format('Census snapshots of %s (a partition of ptl.census_snapshot)', to_char(census, 'FMMonth YYYY')));
    RETURN format('ptl.%I', part_name)::regclass;
END
$$;
COMMENT ON FUNCTION ptl.census_snapshot_partition(date) IS
    'The monthly partition of ptl.census_snapshot holding a census date, made (and filled from the default partition) if missing';

-- Drops the snapshot months that ended more than the retention before the
-- census; returns how many months went.
CREATE FUNCTION ptl.apply_snapshot_retention(census date) RETURNS int
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    keep interval := (ptl.ops_setting_in_force()).snapshot_retention;
    cutoff date;
    part record;
    dropped int := 0;
BEGIN
    IF keep IS NULL THEN
        RETURN 0;
    END IF;
    cutoff := (census - keep)::date;
    FOR part IN
        SELECT c.oid::regclass AS rel, pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'ptl.census_snapshot'::regclass AND c.oid <> 'ptl.census_snapshot_default'::regclass
        ORDER BY 1
    LOOP
        -- "FOR VALUES FROM ('2025-03-01') TO ('2025-04-01')": the upper bound.
        IF substring(part.bound FROM $r$TO \('([0-9-]+)'\)$r$)::date <= cutoff THEN
            EXECUTE format('DROP TABLE %s', part.rel);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    DELETE FROM ptl.census_snapshot_default d WHERE d.census_date < date_trunc('month', cutoff);
    RETURN dropped;
END
$$;
COMMENT ON FUNCTION ptl.apply_snapshot_retention(date) IS
    'Drops the monthly census snapshot partitions that ended more than ptl.ops_setting.snapshot_retention before the census; returns how many';

-- The advisory lock that admits one daily refresh at a time, keyed on the
-- run log's oid so that it is this database's and shows in pg_locks.
CREATE FUNCTION ptl.refresh_lock_key() RETURNS int
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN 'ptl.refresh_run'::regclass::oid::int;
COMMENT ON FUNCTION ptl.refresh_lock_key() IS
    'First key of the session advisory lock a daily refresh holds (the second is 1): see pg_locks';

CREATE PROCEDURE ptl.daily_refresh(census date DEFAULT current_date, "full" boolean DEFAULT false,
                                   wait boolean DEFAULT false)
LANGUAGE plpgsql
-- No SET search_path: a procedure with SET clauses cannot COMMIT.  Every
-- name below is qualified instead (pg_catalog is searched first anyway).
AS $$
#variable_conflict use_variable
DECLARE
    run bigint;
    phase text := 'lock';
    began timestamptz;
    holder record;
    b record;
    n_batches int := 0;
    n_loaded bigint := 0;
    n_rejected bigint := 0;
    n_dropped int;
    err_state text;
    err_message text;
    err_detail text;
    err_hint text;
    err_context text;
BEGIN
    -- Transaction control below: CALL it on its own, not inside BEGIN ... COMMIT.
    COMMIT;
    IF census IS NULL OR census IN ('infinity', '-infinity') THEN
        RAISE EXCEPTION 'census date must be a finite date, not %', coalesce(census::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    began := clock_timestamp();
    IF wait THEN
        PERFORM pg_advisory_lock(ptl.refresh_lock_key(), 1);
    ELSIF NOT pg_try_advisory_lock(ptl.refresh_lock_key(), 1) THEN
        SELECT r.run_id, r.started_at, r.backend_pid, r.run_by INTO holder
        FROM ptl.refresh_run r WHERE r.status = 'running' ORDER BY r.run_id DESC LIMIT 1;
        RAISE EXCEPTION 'another ptl refresh is running, so this one did nothing'
            USING ERRCODE = 'lock_not_available',
                  DETAIL = CASE WHEN holder.run_id IS NULL THEN 'A session holds the refresh lock.'
                                ELSE format('Run %s started at %s by %s (server process %s).',
                                            holder.run_id, holder.started_at, holder.run_by, holder.backend_pid) END,
                  HINT = 'Wait for it to finish (ptl.refresh_status), or call ptl.daily_refresh(wait => true) to queue behind it.';
    END IF;

    INSERT INTO ptl.refresh_run (census, full_refresh, started_at, finished_at, status, entry_point, steps)
    VALUES (census, "full", began, NULL, 'running', 'daily_refresh',
            ptl.refresh_step('[]', 'advisory_lock', began))
    RETURNING run_id INTO run;
    COMMIT;

    BEGIN
        PERFORM set_config('ptl.daily_refresh_run', run::text, true);

        -- Load: every batch its loader has closed, oldest first.
        phase := 'load';
        began := clock_timestamp();
        FOR b IN SELECT x.batch_id FROM ptl.batch x WHERE x.status = 'ready' ORDER BY x.batch_id LOOP
            SELECT n_loaded + coalesce(sum(e.rows_loaded + e.rows_updated), 0),
                   n_rejected + coalesce(sum(e.rows_quarantined), 0)
            INTO n_loaded, n_rejected
            FROM ptl.load(b.batch_id) e;
            n_batches := n_batches + 1;
        END LOOP;
        UPDATE ptl.refresh_run r
        SET batches_loaded = n_batches, rows_loaded = n_loaded, rows_rejected = n_rejected,
            steps = ptl.refresh_step(r.steps, 'load', began, n_loaded)
        WHERE r.run_id = run;

        -- Link, clock, validate, rank and snapshot.
        phase := 'refresh';
        CALL ptl.refresh(census, "full");

        phase := 'retention';
        began := clock_timestamp();
        n_dropped := ptl.apply_snapshot_retention(census);
        UPDATE ptl.refresh_run r
        SET snapshot_partitions_dropped = n_dropped,
            steps = ptl.refresh_step(r.steps, 'retention', began, n_dropped),
            status = 'succeeded', finished_at = clock_timestamp()
        WHERE r.run_id = run;
    EXCEPTION WHEN OTHERS THEN
        -- Everything since the block began is rolled back; keep why.
        GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,
                                err_detail = PG_EXCEPTION_DETAIL, err_hint = PG_EXCEPTION_HINT,
                                err_context = PG_EXCEPTION_CONTEXT;
    END;

    -- Unlock only after the commit: the next run must see this one's work.
    IF err_message IS NOT NULL THEN
        UPDATE ptl.refresh_run r
        SET status = 'failed', finished_at = clock_timestamp(), failed_step = phase,
            error_sqlstate = err_state, error_message = err_message,
            error_detail = nullif(err_detail, ''), error_context = nullif(err_context, '')
        WHERE r.run_id = run;
        COMMIT;
        PERFORM pg_advisory_unlock(ptl.refresh_lock_key(), 1);
        err_hint := coalesce(nullif(err_hint, ''), format('See ptl.refresh_run where run_id = %s.', run));
        IF coalesce(err_detail, '') = '' THEN
            RAISE EXCEPTION 'ptl refresh run % failed at its % step, and was rolled back: %', run, phase, err_message
                USING ERRCODE = err_state, HINT = err_hint;
        END IF;
        RAISE EXCEPTION 'ptl refresh run % failed at its % step, and was rolled back: %', run, phase, err_message
            USING ERRCODE = err_state, DETAIL = err_detail, HINT = err_hint;
    END IF;
    COMMIT;
    PERFORM pg_advisory_unlock(ptl.refresh_lock_key(), 1);
END
$$;
COMMENT ON PROCEDURE ptl.daily_refresh(date, boolean, boolean) IS
    'The unattended daily run: loads ready batches, refreshes (link, clock, validate, rank, snapshot) and applies snapshot retention as one unit; one at a time (wait => false exits with a message), logged in ptl.refresh_run whether it succeeds or fails; CALL it outside a transaction block';

-- The run log as an operator reads it: the runs newest first, how long they
-- took, and a running row whose server process has gone marked interrupted.
CREATE VIEW ptl.refresh_status AS
SELECT r.run_id, r.census, r.entry_point,
       CASE WHEN r.status = 'running'
                 AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = r.backend_pid)
            THEN 'interrupted' ELSE r.status END AS status,
       r.started_at, r.finished_at,
       coalesce(r.finished_at, clock_timestamp()) - r.started_at AS duration,
       r.full_refresh, r.batches_loaded, r.rows_loaded, r.rows_rejected, r.pathways_computed,
       r.validation_issues, r.snapshot_rows, r.snapshot_partitions_dropped,
       (SELECT string_agg(format('%s %s ms', s ->> 'step', s ->> 'ms'), ', ' ORDER BY o)
        FROM jsonb_array_elements(r.steps) WITH ORDINALITY AS e(s, o)) AS step_times,
       r.failed_step, r.error_message, r.run_by
FROM ptl.refresh_run r
ORDER BY r.run_id DESC;
COMMENT ON VIEW ptl.refresh_status IS
    'Refresh runs newest first: status (running, succeeded, failed, or interrupted when a running row''s server process is gone), duration, counts, step times and the reason for a failure';
COMMENT ON COLUMN ptl.refresh_status.run_id IS 'Run number';
COMMENT ON COLUMN ptl.refresh_status.census IS 'Census date';
COMMENT ON COLUMN ptl.refresh_status.entry_point IS 'refresh or daily_refresh';
COMMENT ON COLUMN ptl.refresh_status.status IS 'running, succeeded, failed or interrupted';
COMMENT ON COLUMN ptl.refresh_status.started_at IS 'Start';
COMMENT ON COLUMN ptl.refresh_status.finished_at IS 'End';
COMMENT ON COLUMN ptl.refresh_status.duration IS 'How long it took (so far, if running)';
COMMENT ON COLUMN ptl.refresh_status.full_refresh IS 'Every pathway recomputed';
COMMENT ON COLUMN ptl.refresh_status.batches_loaded IS 'Batches loaded';
COMMENT ON COLUMN ptl.refresh_status.rows_loaded IS 'Staged rows loaded';
COMMENT ON COLUMN ptl.refresh_status.rows_rejected IS 'Staged rows quarantined';
COMMENT ON COLUMN ptl.refresh_status.pathways_computed IS 'Pathway records recomputed';
COMMENT ON COLUMN ptl.refresh_status.validation_issues IS 'Validation issues after the run';
COMMENT ON COLUMN ptl.refresh_status.snapshot_rows IS 'Snapshot rows written';
COMMENT ON COLUMN ptl.refresh_status.snapshot_partitions_dropped IS 'Snapshot months dropped for retention';
COMMENT ON COLUMN ptl.refresh_status.step_times IS 'Each step and its milliseconds, in order';
COMMENT ON COLUMN ptl.refresh_status.failed_step IS 'Step that failed';
COMMENT ON COLUMN ptl.refresh_status.error_message IS 'Why it failed';
COMMENT ON COLUMN ptl.refresh_status.run_by IS 'Database user';

-- ---------------------------------------------------------------------------
-- Census snapshots become a table partitioned by month.  The views on the
-- old table are defined again on the new one, then its rows move across.
-- ---------------------------------------------------------------------------
-- (kept in a setting for the transaction: a table made here would become
-- part of the extension)
SELECT set_config('ptl.upgrade_views', (
    SELECT jsonb_agg(jsonb_build_object('name', x.view_name, 'definition', x.definition) ORDER BY x.oid)::text
    FROM (SELECT DISTINCT v.oid, v.oid::regclass::text AS view_name, pg_get_viewdef(v.oid) AS definition
          FROM pg_depend d
          JOIN pg_rewrite w ON w.oid = d.objid AND d.classid = 'pg_rewrite'::regclass
          JOIN pg_class v ON v.oid = w.ev_class
          WHERE d.refobjid = 'ptl.census_snapshot'::regclass AND v.oid <> 'ptl.census_snapshot'::regclass) x),
    true);
ALTER TABLE ptl.census_snapshot RENAME TO census_snapshot_0_1_0;
ALTER INDEX ptl.census_snapshot_pkey RENAME TO census_snapshot_0_1_0_pkey;
ALTER INDEX ptl.census_snapshot_provider_idx RENAME TO census_snapshot_0_1_0_provider_idx;
CREATE TABLE ptl.census_snapshot (
    census_date         date NOT NULL,
    pathway_id          bigint NOT NULL,
    period_no           int NOT NULL,
    provider_org        text NOT NULL,
    site_code           text,
    treatment_function  text NOT NULL,
    rtt_line            text NOT NULL,
    commissioner_code   text,
    referral_priority   ptl.referral_priority NOT NULL,
    clinical_priority   ptl.clinical_priority,
    clock_start         date,
    days_waited         int,
    week_band           int,
    has_dta             boolean NOT NULL,
    target_date         date,
    list_position       bigint
) PARTITION BY RANGE (census_date);
CREATE TABLE ptl.census_snapshot_default PARTITION OF ptl.census_snapshot (
    PRIMARY KEY (census_date, pathway_id, period_no)
) DEFAULT;
CREATE INDEX census_snapshot_default_provider_idx ON ptl.census_snapshot_default (census_date, provider_org, rtt_line);
COMMENT ON TABLE ptl.census_snapshot IS
    'The incomplete pathways each provider reported at each census, kept for trends (a refresh at the same census replaces its rows); partitioned by month, kept for ptl.ops_setting.snapshot_retention';
COMMENT ON TABLE ptl.census_snapshot_default IS
    'Snapshot rows of months that have no partition yet (moved when ptl.census_snapshot_partition makes it)';
COMMENT ON COLUMN ptl.census_snapshot.census_date IS 'Census date';
COMMENT ON COLUMN ptl.census_snapshot.pathway_id IS 'The pathway record (as at that census)';
COMMENT ON COLUMN ptl.census_snapshot.period_no IS 'The period';
COMMENT ON COLUMN ptl.census_snapshot.provider_org IS 'Reporting provider';
COMMENT ON COLUMN ptl.census_snapshot.site_code IS 'Managing site';
COMMENT ON COLUMN ptl.census_snapshot.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.census_snapshot.rtt_line IS 'RTT return line of the treatment function then';
COMMENT ON COLUMN ptl.census_snapshot.commissioner_code IS 'Commissioner';
COMMENT ON COLUMN ptl.census_snapshot.referral_priority IS 'Referral priority';
COMMENT ON COLUMN ptl.census_snapshot.clinical_priority IS 'Clinical priority of the open waiting-list entry';
COMMENT ON COLUMN ptl.census_snapshot.clock_start IS 'Clock start (NULL: unknown)';
COMMENT ON COLUMN ptl.census_snapshot.days_waited IS 'Days waited at the census';
COMMENT ON COLUMN ptl.census_snapshot.week_band IS 'Weekly band';
COMMENT ON COLUMN ptl.census_snapshot.target_date IS 'Date the clinical priority target was due then';
COMMENT ON COLUMN ptl.census_snapshot.list_position IS 'Place on the provider''s treatment function list then (see ptl.ptl.list_position)';
COMMENT ON COLUMN ptl.census_snapshot.has_dta IS 'Decision to admit made';
SELECT pg_catalog.pg_extension_config_dump('ptl.census_snapshot_default', '');
DO $$
DECLARE
    v record;
    month date;
BEGIN
    FOR v IN SELECT e ->> 'name' AS view_name, e ->> 'definition' AS definition
             FROM jsonb_array_elements(coalesce(current_setting('ptl.upgrade_views'), '[]')::jsonb) e LOOP
        EXECUTE format('CREATE OR REPLACE VIEW %s AS %s', v.view_name, v.definition);
    END LOOP;
    -- A month's partition is data, like those refreshes make later: not a
    -- member of the extension, so that pg_dump keeps it.
    FOR month IN SELECT DISTINCT date_trunc('month', s.census_date)::date FROM ptl.census_snapshot_0_1_0 s LOOP
        EXECUTE format('ALTER EXTENSION ptl DROP TABLE %s', ptl.census_snapshot_partition(month));
    END LOOP;
END
$$;
INSERT INTO ptl.census_snapshot SELECT * FROM ptl.census_snapshot_0_1_0;
ALTER EXTENSION ptl DROP TABLE ptl.census_snapshot_0_1_0;
DROP TABLE ptl.census_snapshot_0_1_0;
CREATE OR REPLACE FUNCTION ptl.backfill_census_snapshots(from_date date, to_date date, step_days int DEFAULT 7) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    d date;
    n bigint;
    total bigint := 0;
BEGIN
    IF from_date IS NULL OR to_date IS NULL OR step_days IS NULL OR step_days < 1 OR to_date < from_date THEN
        RAISE EXCEPTION 'invalid backfill range: % to % every % days', from_date, to_date, step_days
            USING ERRCODE = 'invalid_parameter_value', HINT = 'from_date <= to_date, and a step of one day or more.';
    END IF;
    FOR d IN SELECT g::date FROM generate_series(from_date, to_date, make_interval(days => step_days)) g LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM ptl.census_snapshot s WHERE s.census_date = d);
        PERFORM ptl.census_snapshot_partition(d);
        INSERT INTO ptl.census_snapshot (census_date, pathway_id, period_no, provider_org, site_code,
                                         treatment_function, rtt_line, commissioner_code, referral_priority,
                                         clock_start, days_waited, week_band, has_dta)
        SELECT d, r.pathway_id, r.period_no, p.provider_org, p.site_code, p.treatment_function, tf.rtt_line,
               p.commissioner_code, p.referral_priority, r.clock_start, r.days_waited, r.week_band, r.has_dta
        FROM ptl.rtt_periods_at(d) r
        JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
        JOIN ptl.treatment_function_in_use tf ON tf.tfc = p.treatment_function
        WHERE r.outcome = 'incomplete' AND r.responsible;
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total + n;
    END LOOP;
    RETURN total;
END $$;

-- ---------------------------------------------------------------------------
-- The PTL shows each user its organisations' rows, identifiers masked.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE VIEW ptl.ptl AS
SELECT l.* FROM (
SELECT o.pathway_id, o.period_no, o.patient_id,
       CASE WHEN (SELECT ptl.may_identify()) THEN o.nhs_number END AS nhs_number,
       CASE WHEN (SELECT ptl.may_identify()) THEN o.local_patient_id END AS local_patient_id,
       o.provider_org, o.site_code,
       o.treatment_function, o.treatment_function_name, o.rtt_line, o.commissioner_code, o.ppid_issuer, o.ppid,
       o.referral_priority, o.census, o.clock_start, o.days_waited, o.weeks_waited, o.week_band,
       o.breach_18_weeks_on, o.breach_52_weeks_on, o.breach_65_weeks_on, o.breach_78_weeks_on,
       o.breach_104_weeks_on, o.has_dta, o.waiting_list_entry_id, o.decision_to_admit, o.clinical_priority,
       o.procedure_code, o.tci_date, o.next_booked_date, o.next_booked_kind, o.validation_issues,
       o.suspended_days, o.days_on_list, o.target_days,
       o.decision_to_admit + o.suspended_days + o.target_days AS target_date,
       round(ptl.pct(o.target_elapsed)::numeric, 2) AS pct_target_elapsed,
       o.target_elapsed, o.order_group,
       CASE WHEN o.order_group <> 'set_aside' THEN
           row_number() OVER (PARTITION BY o.provider_org, o.treatment_function, o.waiting_list_entry_id IS NOT NULL
                              ORDER BY o.group_rank,
                                       CASE WHEN o.longest_wait_first OR o.group_rank >= 3 THEN o.clock_start END
                                           NULLS LAST,
                                       o.target_elapsed DESC NULLS LAST, o.decision_to_admit,
                                       o.clock_start NULLS LAST, o.patient_id, o.pathway_id, o.period_no) END
           AS list_position
FROM (
    SELECT b.*,
           CASE WHEN b.target_days IS NOT NULL
                THEN ptl.target_elapsed(b.days_on_list, b.target_days) END AS target_elapsed,
           CASE WHEN b.waiting_list_entry_id IS NULL THEN 3
                WHEN b.suspended_now OR b.clinical_priority >= 'P5' THEN 9
                WHEN b.clinical_priority <= 'P1b' THEN 1
                WHEN b.clinical_priority IS NOT NULL THEN 2
                ELSE 3 END AS group_rank,
           CASE WHEN b.waiting_list_entry_id IS NULL THEN 'non_admitted'
                WHEN b.suspended_now OR b.clinical_priority >= 'P5' THEN 'set_aside'
                WHEN b.clinical_priority <= 'P1b' THEN 'urgent'
                WHEN b.clinical_priority IS NOT NULL THEN 'by_target'
                ELSE 'unprioritised' END AS order_group
    FROM (
        SELECT r.pathway_id, r.period_no, p.patient_id, pa.nhs_number, pa.local_patient_id,
               p.provider_org, p.site_code, p.treatment_function, tf.name AS treatment_function_name,
               tf.rtt_line, p.commissioner_code, p.ppid_issuer, p.ppid, p.referral_priority,
               r.census, r.clock_start, r.days_waited, r.days_waited / 7 AS weeks_waited, r.week_band,
               -- The first day the wait is over N weeks: start + 7N + 1 (rtt-rules.md 5.2).
               r.clock_start + 127 AS breach_18_weeks_on,
               r.clock_start + 365 AS breach_52_weeks_on,
               r.clock_start + 456 AS breach_65_weeks_on,
               r.clock_start + 547 AS breach_78_weeks_on,
               r.clock_start + 729 AS breach_104_weeks_on,
               r.has_dta, w.entry_id AS waiting_list_entry_id, w.decision_to_admit,
               coalesce(h.priority, w.clinical_priority) AS clinical_priority,
               w.procedure_code, w.tci_date, rp.next_booked_date, rp.next_booked_kind,
               coalesce(v.rules, '{}') AS validation_issues,
               su.days AS suspended_days, coalesce(su.suspended_now, false) AS suspended_now,
               CASE WHEN w.entry_id IS NOT NULL
                    THEN greatest(0, r.census - w.decision_to_admit - su.days) END AS days_on_list,
               t.target_days, s.order_policy = 'longest_wait' AS longest_wait_first
        FROM ptl.rtt_period r
        JOIN ptl.rtt_pathway rp ON rp.pathway_id = r.pathway_id AND rp.responsible
        JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
        JOIN ptl.patient pa ON pa.patient_id = p.patient_id
        JOIN ptl.treatment_function_in_use tf ON tf.tfc = p.treatment_function
        CROSS JOIN ptl.risk_setting_in_force() s
        LEFT JOIN LATERAL (
            SELECT e.entry_id, e.decision_to_admit, e.clinical_priority, e.procedure_code, e.tci_date
            FROM ptl.waiting_list_entry e
            -- listed by the census (a refresh at an earlier census must not
            -- see an entry decided later)
            WHERE e.pathway_id = r.pathway_id AND e.removed_date IS NULL AND e.decision_to_admit <= r.census
            ORDER BY e.decision_to_admit DESC, e.entry_id DESC
            LIMIT 1) w ON true
        -- the priority in force at the census (ptl.clinical_priority_history)
        LEFT JOIN LATERAL (
            SELECT ph.priority FROM ptl.clinical_priority_history ph
            WHERE ph.entry_id = w.entry_id AND ph.valid_from <= r.census
            ORDER BY ph.valid_from DESC, ph.history_id DESC
            LIMIT 1) h ON true
        -- suspended days since listing (overlaps once), and suspended at the census
        LEFT JOIN LATERAL (
            SELECT coalesce((SELECT sum(upper(x) - lower(x))
                             FROM unnest(range_agg(daterange(ws.suspended_from, ws.suspended_until, '[]'))
                                         * datemultirange(daterange(w.decision_to_admit, r.census))) x),
                            0)::int AS days,
                   bool_or(ws.suspended_from <= r.census
                           AND coalesce(ws.suspended_until, 'infinity') >= r.census) AS suspended_now
            FROM ptl.waiting_list_suspension ws
            WHERE ws.entry_id = w.entry_id) su ON w.entry_id IS NOT NULL
        LEFT JOIN ptl.priority_target t ON t.priority = coalesce(h.priority, w.clinical_priority)
        LEFT JOIN LATERAL (
            SELECT array_agg(DISTINCT i.rule_id ORDER BY i.rule_id) AS rules
            FROM ptl.validation_issue i WHERE i.pathway_id = r.pathway_id) v ON true
        WHERE r.outcome = 'incomplete'
          -- a record duplicating another of the same person is counted once (link/pathway.sql)
          AND NOT EXISTS (SELECT 1 FROM ptl.pathway_duplicate d WHERE d.pathway_id = r.pathway_id)) b) o) l
WHERE (SELECT ptl.sees_all_organisations())
   OR l.provider_org = ANY ((SELECT ptl.my_organisations())::text[])
   OR l.pathway_id IN (SELECT t.pathway_id FROM ptl.transferred_pathway_visible t);
COMMENT ON COLUMN ptl.ptl.nhs_number IS 'NHS number (NULL when missing or invalid, or when the user may not see identifiers)';
COMMENT ON COLUMN ptl.ptl.local_patient_id IS 'Hospital number (NULL when the user may not see identifiers)';

-- ---------------------------------------------------------------------------
-- Audit, then roles, privileges and row-level security over everything.
-- ---------------------------------------------------------------------------
-- from src/ops/audit.sql
-- ---------------------------------------------------------------------------
-- ops, part 4: the audit trail.  Every change to a clinical priority, a
-- pathway's status (its events' RTT status, kind and date; a waiting-list
-- entry's removal), a validation outcome or a mutual aid state is written
-- to ptl.audit_log: who, when, from where, the row, the column, old and new.
-- Loading new events is not audited row by row: each event already carries
-- the batch that brought it (ptl.batch says who opened it and when).
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.audit_log (
    audit_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    changed_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    changed_by      text NOT NULL DEFAULT current_user,
    session_user_name text NOT NULL DEFAULT session_user,
    application_name text DEFAULT current_setting('application_name', true),
    client_addr     inet DEFAULT inet_client_addr(),
    transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
    table_name      text NOT NULL,
    row_key         jsonb NOT NULL,
    action          text NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
    column_name     text NOT NULL,
    old_value       text,
    new_value       text
);
CREATE INDEX audit_log_row_idx ON ptl.audit_log (table_name, row_key);
CREATE INDEX audit_log_changed_at_idx ON ptl.audit_log (changed_at);
SELECT pg_catalog.pg_extension_config_dump('ptl.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.audit_log_audit_id_seq', '');
COMMENT ON TABLE ptl.audit_log IS
    'Who changed a clinical priority, a pathway''s status, a validation outcome or a mutual aid state, when, and from what to what (append only)';
COMMENT ON COLUMN ptl.audit_log.audit_id IS 'Entry number';
COMMENT ON COLUMN ptl.audit_log.changed_at IS 'When (the statement''s clock, not the transaction''s start)';
COMMENT ON COLUMN ptl.audit_log.changed_by IS 'Database role that made the change (current_user)';
COMMENT ON COLUMN ptl.audit_log.session_user_name IS 'Login that was connected (differs after SET ROLE)';
COMMENT ON COLUMN ptl.audit_log.application_name IS 'The client''s application_name';
COMMENT ON COLUMN ptl.audit_log.client_addr IS 'Client address (NULL over a local socket)';
COMMENT ON COLUMN ptl.audit_log.transaction_id IS 'Transaction, to group the changes made together';
COMMENT ON COLUMN ptl.audit_log.table_name IS 'Table changed';
COMMENT ON COLUMN ptl.audit_log.row_key IS 'Primary key of the row, e.g. {"entry_id": 12}';
COMMENT ON COLUMN ptl.audit_log.action IS 'insert, update or delete';
COMMENT ON COLUMN ptl.audit_log.column_name IS 'Column whose value changed';
COMMENT ON COLUMN ptl.audit_log.old_value IS 'Value before (NULL for an insert)';
COMMENT ON COLUMN ptl.audit_log.new_value IS 'Value after (NULL for a delete)';

-- pg_restore, run by a superuser, puts back rows that were audited when they
-- were first written: its inserts are neither audited again nor re-stamped.
-- (Restore custom-format dumps with pg_restore; a plain SQL dump replayed
-- through psql would audit every restored row as new.)
CREATE FUNCTION ptl.restoring() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN current_setting('application_name', true) = 'pg_restore'
   AND (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user);
COMMENT ON FUNCTION ptl.restoring() IS
    'Whether this session is a superuser''s pg_restore (whose inserts restore audited rows rather than make changes)';

-- Whoever writes an entry, it says who and when truly: a role that may
-- change audited rows may insert entries (the triggers run with its rights),
-- but not backdate them, sign them for someone else, or change or delete
-- them (no UPDATE or DELETE is granted).
CREATE FUNCTION ptl.audit_log_stamp() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF ptl.restoring() THEN
        RETURN NEW;
    END IF;
    NEW.changed_at := clock_timestamp();
    NEW.changed_by := current_user;
    NEW.session_user_name := session_user;
    NEW.application_name := current_setting('application_name', true);
    NEW.client_addr := inet_client_addr();
    NEW.transaction_id := pg_current_xact_id();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ptl.audit_log_stamp() IS 'Trigger: stamps an audit entry with the real user, time and transaction';
CREATE TRIGGER audit_log_stamp BEFORE INSERT ON ptl.audit_log
    FOR EACH ROW EXECUTE FUNCTION ptl.audit_log_stamp();

-- Trigger: TG_ARGV[0] lists the key columns, the rest the audited columns.
CREATE FUNCTION ptl.audit_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
    key jsonb;
    col text;
BEGIN
    IF TG_OP = 'INSERT' AND ptl.restoring() THEN
        RETURN NULL;
    END IF;
    SELECT jsonb_object_agg(k, coalesce(new_row, old_row) -> k) INTO key
    FROM unnest(string_to_array(TG_ARGV[0], ',')) k;
    FOREACH col IN ARRAY TG_ARGV[1:] LOOP
        CONTINUE WHEN TG_OP = 'UPDATE' AND (old_row -> col) IS NOT DISTINCT FROM (new_row -> col);
        CONTINUE WHEN TG_OP <> 'UPDATE' AND coalesce(new_row, old_row) ->> col IS NULL;
        INSERT INTO ptl.audit_log (table_name, row_key, action, column_name, old_value, new_value)
        VALUES (TG_TABLE_NAME, key, lower(TG_OP), col, old_row ->> col, new_row ->> col);
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ptl.audit_change() IS
    'Trigger: writes a ptl.audit_log entry for each audited column a row change altered (arguments: key columns, then audited columns)';

-- What is audited.  Events and entries arrive by the hundred thousand in
-- loads, so their inserts are not (the batch records them); their changes
-- and deletions are.
CREATE TRIGGER audit_priority AFTER INSERT OR UPDATE OR DELETE ON ptl.clinical_priority_history
    FOR EACH ROW EXECUTE FUNCTION ptl.audit_change('history_id', 'entry_id', 'priority', 'valid_from', 'reviewed_by', 'reason');
CREATE TRIGGER audit_entry AFTER UPDATE OR DELETE ON ptl.waiting_list_entry
    FOR EACH ROW EXECUTE FUNCTION ptl.audit_change('entry_id', 'clinical_priority', 'removed_date', 'removal_reason', 'tci_date');
CREATE TRIGGER audit_event AFTER UPDATE OR DELETE ON ptl.pathway_event
    FOR EACH ROW EXECUTE FUNCTION ptl.audit_change('event_id', 'pathway_id', 'kind', 'rtt_status', 'event_date', 'ref_date');
CREATE TRIGGER audit_validation AFTER INSERT OR UPDATE OR DELETE ON ptl.pathway_validation
    FOR EACH ROW EXECUTE FUNCTION ptl.audit_change('validation_id', 'pathway_id', 'validated_on', 'validated_by', 'outcome');
CREATE TRIGGER audit_validation_contact AFTER INSERT OR UPDATE OR DELETE ON ptl.validation_contact
    FOR EACH ROW EXECUTE FUNCTION ptl.audit_change('contact_id', 'pathway_id', 'answer', 'applied_at', 'rtt_status_applied');
CREATE TRIGGER audit_request_state AFTER INSERT OR UPDATE OR DELETE ON ptl.mutual_aid_request
    FOR EACH ROW EXECUTE FUNCTION ptl.audit_change('request_id', 'state');
CREATE TRIGGER audit_offer_state AFTER INSERT OR UPDATE OR DELETE ON ptl.mutual_aid_offer
    FOR EACH ROW EXECUTE FUNCTION ptl.audit_change('offer_id', 'state');
CREATE TRIGGER audit_link_decision AFTER INSERT OR UPDATE OR DELETE ON ptl.link_decision
    FOR EACH ROW EXECUTE FUNCTION ptl.audit_change('patient_a,patient_b', 'decision', 'decided_by');
-- from src/ops/security.sql
-- ---------------------------------------------------------------------------
-- ops, part 3: roles, privileges and row-level security.  Runs last, so it
-- covers every table and view the capabilities above created; an upgrade
-- script runs it again for the objects a release adds.  docs/operations.md
-- explains how to give people access.
--
--   ptl_reader        the PTL, reports and the tables behind them: read only,
--                     without patient-identifying columns
--   ptl_identifiable  added to any role: NHS number, names, date of birth,
--                     address, hospital number, and the raw extract rows
--   ptl_analyst       a reader who also runs the planning workflows that write
--                     (validation campaigns, theatre proposals, mutual aid
--                     requests and offers)
--   ptl_loader        stages extracts and loads them
--   ptl_admin         everything, including the refresh and clinical changes;
--                     sees every organisation
--
-- Rows: a role sees the patients of the organisations it is mapped to in
-- ptl.user_organisation (and pathways transferred to or from them); mapped
-- to the ICS, or ptl_admin, it sees all (ops/access.sql).  Views run with
-- the caller's rights (security_invoker) so that these policies apply
-- through them; ptl.ptl and ptl.transferred_pathway_visible are the two
-- exceptions, and filter rows themselves.
-- ---------------------------------------------------------------------------

-- Roles are the cluster's, not the database's: made once, kept when the
-- extension is dropped, shared by every database that installs ptl.
DO $$
DECLARE
    r text;
    m text;
BEGIN
    FOREACH r IN ARRAY ARRAY['ptl_reader', 'ptl_identifiable', 'ptl_analyst', 'ptl_loader', 'ptl_admin'] LOOP
        IF pg_catalog.to_regrole(r) IS NULL THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
    -- Memberships, each once (a second GRANT would only warn).
    FOR r, m IN SELECT * FROM (VALUES ('ptl_reader', 'ptl_analyst'), ('ptl_analyst', 'ptl_admin'),
                                      ('ptl_loader', 'ptl_admin'), ('ptl_identifiable', 'ptl_admin')) g(grp, member)
    LOOP
        IF NOT pg_catalog.pg_has_role(m, r, 'MEMBER') THEN
            EXECUTE pg_catalog.format('GRANT %I TO %I', r, m);
        END IF;
    END LOOP;
END
$$;
COMMENT ON ROLE ptl_reader IS 'ptl: reads the PTL and reports (no patient-identifying columns), rows limited by ptl.user_organisation';
COMMENT ON ROLE ptl_identifiable IS 'ptl: may also read patient-identifying columns and raw extract rows';
COMMENT ON ROLE ptl_analyst IS 'ptl: a reader who runs planning workflows (validation campaigns, theatre proposals, mutual aid)';
COMMENT ON ROLE ptl_loader IS 'ptl: stages and loads extracts';
COMMENT ON ROLE ptl_admin IS 'ptl: runs the refresh, makes clinical changes, sees every organisation';

-- Views run with the caller's rights, so row-level security applies.
DO $$
DECLARE
    v regclass;
BEGIN
    FOR v IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
             WHERE c.relnamespace = 'ptl'::regnamespace AND c.relkind = 'v'
               AND c.oid NOT IN ('ptl.ptl'::regclass, 'ptl.transferred_pathway_visible'::regclass)
    LOOP
        EXECUTE pg_catalog.format('ALTER VIEW %s SET (security_invoker = true)', v);
    END LOOP;
END
$$;

-- ---------------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------------
GRANT USAGE ON SCHEMA ptl TO ptl_reader, ptl_loader;
-- Everyone reads its own mappings (the row policies look them up).
GRANT SELECT ON ptl.user_organisation, ptl.transferred_pathway_visible TO ptl_reader, ptl_loader;
GRANT USAGE ON SCHEMA ptl_stage TO ptl_loader;

-- Readers: every table and view, then the exceptions taken back.
GRANT SELECT ON ALL TABLES IN SCHEMA ptl TO ptl_reader;
REVOKE SELECT ON ptl.patient, ptl.rejected_row, ptl.load_warning, ptl.census_snapshot_default,
    ptl.audit_log FROM ptl_reader;
GRANT SELECT (patient_id, org_code, source_system, sex, ethnic_category, lsoa_code, gp_practice_code,
              commissioner_code, batch_id, updated_at) ON ptl.patient TO ptl_reader;
-- The extracts' raw rows and values carry identifiers.
GRANT SELECT (rejected_id, batch_id, extract, row_in_extract, column_name, reason, sqlstate, rejected_at, retried_in)
    ON ptl.rejected_row TO ptl_reader;
GRANT SELECT (warning_id, batch_id, extract, row_in_extract, column_name, reason, sqlstate, warned_at)
    ON ptl.load_warning TO ptl_reader;
GRANT SELECT ON ptl.patient, ptl.rejected_row, ptl.load_warning TO ptl_identifiable;
GRANT USAGE ON SCHEMA ptl TO ptl_identifiable;

-- Analysts: the planning workflows' own tables.
GRANT INSERT, UPDATE, DELETE ON ptl.validation_campaign, ptl.validation_campaign_pathway,
    ptl.theatre_proposal_run, ptl.theatre_proposal, ptl.theatre_proposal_outcome,
    ptl.mutual_aid_request, ptl.mutual_aid_offer, ptl.mutual_aid_slot, ptl.mutual_aid_state_change
    TO ptl_analyst;

-- Loaders: staging, the batch, and the tables a load writes.
GRANT SELECT, INSERT, DELETE ON ALL TABLES IN SCHEMA ptl_stage TO ptl_loader;
GRANT SELECT ON ptl.organisation, ptl.site, ptl.commissioner, ptl.treatment_function, ptl.extract_column,
    ptl.batch, ptl.batch_extract TO ptl_loader;
GRANT SELECT, INSERT, UPDATE ON ptl.batch, ptl.patient, ptl.pathway, ptl.pathway_event,
    ptl.waiting_list_entry, ptl.rejected_row, ptl.load_warning, ptl.batch_extract TO ptl_loader;
GRANT DELETE ON ptl.load_warning, ptl.rejected_row TO ptl_loader;
-- a loaded event marks its pathway for the next refresh (rtt/refresh.sql)
GRANT SELECT, INSERT ON ptl.rtt_dirty_pathway TO ptl_loader;
-- a priority in the extract starts or extends its history (risk/assessment.sql)
GRANT SELECT, INSERT, UPDATE ON ptl.clinical_priority_history TO ptl_loader;

-- Administrators: everything.
GRANT ALL ON ALL TABLES IN SCHEMA ptl TO ptl_admin;
GRANT ALL ON ALL TABLES IN SCHEMA ptl_stage TO ptl_admin;
GRANT USAGE ON SCHEMA ptl_stage TO ptl_admin;

-- The audit log: written through the audit triggers by whoever changes an
-- audited row (stamped truly, ops/audit.sql), read by administrators, never
-- changed.
GRANT INSERT ON ptl.audit_log TO ptl_analyst, ptl_loader;
REVOKE UPDATE, DELETE, TRUNCATE ON ptl.audit_log FROM ptl_admin;

GRANT USAGE ON ALL SEQUENCES IN SCHEMA ptl TO ptl_analyst, ptl_loader;
GRANT ALL ON ALL SEQUENCES IN SCHEMA ptl TO ptl_admin;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA ptl_stage TO ptl_loader;

-- Functions keep PostgreSQL's default (anyone may call them; what they read
-- or write is checked on the tables), except these: the refresh, and the
-- SECURITY DEFINER functions, which act with the owner's rights
-- (analyze_if_grown for whoever bulk-writes: loads, proposals, refreshes).
REVOKE EXECUTE ON PROCEDURE ptl.refresh(date, boolean), ptl.daily_refresh(date, boolean, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION ptl.census_snapshot_partition(date), ptl.apply_snapshot_retention(date),
    ptl.analyze_if_grown(regclass, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ptl.analyze_if_grown(regclass, bigint) TO ptl_analyst, ptl_loader;
GRANT EXECUTE ON PROCEDURE ptl.refresh(date, boolean), ptl.daily_refresh(date, boolean, boolean) TO ptl_admin;
GRANT EXECUTE ON FUNCTION ptl.census_snapshot_partition(date), ptl.apply_snapshot_retention(date) TO ptl_admin;

-- ---------------------------------------------------------------------------
-- Row-level security.  Each table that holds patients' data gets one policy
-- by the column that ties it to a pathway, a patient, a waiting-list entry
-- or a batch.  (SELECT f()) makes each test an init plan: once a query.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ptl.row_security_predicate(tbl regclass) RETURNS text
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cols text[] := ARRAY(SELECT a.attname::text FROM pg_attribute a
                         WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped);
    everyone CONSTANT text := '(SELECT ptl.sees_all_organisations())';
    mine CONSTANT text := '((SELECT ptl.my_organisations())::text[])';
BEGIN
    -- A role's own mappings (ptl.my_organisations reads them, so this test
    -- cannot call it).
    IF tbl = 'ptl.user_organisation'::regclass THEN
        RETURN 'pg_catalog.pg_has_role(current_user, role_name, ''MEMBER'')'
            || ' OR pg_catalog.pg_has_role(current_user, ''ptl_admin'', ''MEMBER'')';
    END IF;
    RETURN everyone || ' OR ' || CASE
        WHEN tbl = 'ptl.pathway'::regclass THEN
            format('provider_org = ANY %s OR pathway_id IN (SELECT t.pathway_id FROM ptl.transferred_pathway_visible t)', mine)
        WHEN tbl = 'ptl.patient'::regclass THEN
            format('org_code = ANY %s OR patient_id IN (SELECT p.patient_id FROM ptl.pathway p)', mine)
        WHEN tbl = 'ptl.batch'::regclass THEN
            format('org_code = ANY %s', mine)
        WHEN tbl = 'ptl.pathway_transfer'::regclass THEN
            'receiver_pathway_id IN (SELECT p.pathway_id FROM ptl.pathway p) OR sender_pathway_id IN (SELECT p.pathway_id FROM ptl.pathway p)'
        WHEN 'pathway_id' = ANY (cols) THEN
            'pathway_id IN (SELECT p.pathway_id FROM ptl.pathway p)'
        WHEN 'patient_id' = ANY (cols) THEN
            'patient_id IN (SELECT p.patient_id FROM ptl.patient p)'
        WHEN 'patient_a' = ANY (cols) THEN
            'patient_a IN (SELECT p.patient_id FROM ptl.patient p) OR patient_b IN (SELECT p.patient_id FROM ptl.patient p)'
        WHEN 'entry_id' = ANY (cols) THEN
            'entry_id IN (SELECT e.entry_id FROM ptl.waiting_list_entry e)'
        WHEN 'booking_id' = ANY (cols) THEN
            'booking_id IN (SELECT b.booking_id FROM ptl.theatre_booking b)'
        WHEN 'batch_id' = ANY (cols) THEN
            'batch_id IN (SELECT b.batch_id FROM ptl.batch b)'
        END;
END
$$;
COMMENT ON FUNCTION ptl.row_security_predicate(regclass) IS
    'The row-level security test ptl applies to a table, by the column that ties its rows to an organisation; NULL for tables of reference data';

DO $$
DECLARE
    t regclass;
    predicate text;
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
             WHERE c.relnamespace = 'ptl'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
             ORDER BY c.relname
    LOOP
        predicate := ptl.row_security_predicate(t);
        CONTINUE WHEN predicate IS NULL;
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
        EXECUTE pg_catalog.format('DROP POLICY IF EXISTS organisation_rows ON %s', t);
        EXECUTE pg_catalog.format('CREATE POLICY organisation_rows ON %s USING (%s) WITH CHECK (%s)',
                                  t, predicate, predicate);
    END LOOP;
END
$$;
