-- ---------------------------------------------------------------------------
-- refresh: the pipeline.  ptl.refresh runs, in one transaction, each
-- capability's step through the entry point that capability documents:
-- reconcile ptl's outbound actions (rtt/outbound.sql), link persons and
-- pathways (link/), compute the clocks (ptl.rtt_compute), derive the
-- journeys (ptl.journey_compute), validate (ptl.validate), rank the PTL
-- (ptl.rank_ptl) and snapshot it; it records each step in the run log,
-- ptl.refresh_run.  ptl.daily_refresh (ops/refresh.sql) loads the ready
-- batches first and calls the same work.  This room orders the steps and
-- keeps the log; what each step does is its capability's
-- (docs/architecture.md, "Rooms and the way dependencies run").
-- ---------------------------------------------------------------------------

-- The run log: one row a refresh.  ptl.refresh writes its row when it
-- commits; ptl.daily_refresh (ops/refresh.sql) writes a 'running' row first
-- and commits it, so a run that fails, or dies with its server, still leaves
-- a row that says so.
CREATE TABLE ptl.refresh_run (
    run_id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    census              date NOT NULL,
    full_refresh        boolean NOT NULL,
    started_at          timestamptz NOT NULL,
    finished_at         timestamptz DEFAULT clock_timestamp(),
    pathways_computed   bigint,
    periods             bigint,
    event_issues        bigint,
    validation_issues   bigint,
    snapshot_rows       bigint,
    run_by              text NOT NULL DEFAULT current_user,
    status              text NOT NULL DEFAULT 'succeeded' CHECK (status IN ('running', 'succeeded', 'failed')),
    entry_point         text NOT NULL DEFAULT 'refresh' CHECK (entry_point IN ('refresh', 'daily_refresh')),
    backend_pid         int NOT NULL DEFAULT pg_backend_pid(),
    batches_loaded      int,
    rows_loaded         bigint,
    rows_rejected       bigint,
    snapshot_partitions_dropped int,
    steps               jsonb NOT NULL DEFAULT '[]',
    failed_step         text,
    error_sqlstate      text,
    error_message       text,
    error_detail        text,
    error_context       text,
    batches_failed      int,
    CONSTRAINT refresh_run_failure_has_reason CHECK ((status = 'failed') = (error_message IS NOT NULL)),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT refresh_run_census_in_range CHECK (ptl.in_storage_range(census)),
    CONSTRAINT refresh_run_finished_at_in_range CHECK (ptl.in_storage_range(finished_at)),
    CONSTRAINT refresh_run_started_at_in_range CHECK (ptl.in_storage_range(started_at))
);
COMMENT ON TABLE ptl.refresh_run IS 'One row a refresh: what it did, how long each step took, and why it failed if it did (see ptl.refresh_status)';
COMMENT ON COLUMN ptl.refresh_run.run_id IS 'Run number';
COMMENT ON COLUMN ptl.refresh_run.census IS 'Census date';
COMMENT ON COLUMN ptl.refresh_run.full_refresh IS 'Whether every pathway was recomputed';
COMMENT ON COLUMN ptl.refresh_run.started_at IS 'Start';
COMMENT ON COLUMN ptl.refresh_run.finished_at IS 'End (NULL while running)';
COMMENT ON COLUMN ptl.refresh_run.status IS
    'running, succeeded, or failed (everything the run did was rolled back; a run cancelled, or whose server process died, is marked failed by the next daily refresh if not by itself)';
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
COMMENT ON COLUMN ptl.refresh_run.batches_failed IS
    'Ready batches whose load failed (daily_refresh): each was marked failed, with its reason in ptl.batch.load_error, and the run went on without it';

-- A step's entry for refresh_run.steps: its name, milliseconds since it
-- began, and the rows it reports.
CREATE FUNCTION ptl_internal.refresh_step(steps jsonb, step text, began timestamptz, n bigint DEFAULT NULL) RETURNS jsonb
LANGUAGE sql VOLATILE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN steps || jsonb_build_array(jsonb_build_object(
    'step', step,
    'ms', round(extract(epoch FROM clock_timestamp() - began) * 1000),
    'rows', n));
COMMENT ON FUNCTION ptl_internal.refresh_step(jsonb, text, timestamptz, bigint) IS
    'Internal to the refresh: appends a step''s name, elapsed milliseconds and row count to a run''s steps';

CREATE PROCEDURE ptl_internal.refresh_work(census date, "full" boolean, daily_run bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, ptl, pg_temp
-- No JIT.  For a ptl_admin member (not the tables' owner) every table the
-- validation reads carries its row-level security test, and the planner,
-- which cannot know that the test is true for an administrator, costs the
-- query past jit_above_cost: compiling its 3,700 expressions took 15 s of a
-- 20,000-referral refresh whose validation runs in half a second.
SET jit = off
AS $$
#variable_conflict use_variable
DECLARE
    started timestamptz := clock_timestamp();
    last_census date;
    last_started timestamptz;
    last_finished timestamptz;
    everything boolean := "full";
    persons_relinked boolean := false;
    link_everything boolean;
    n_pathways bigint;
    computed record;
    n_snapshot bigint;
    n_validation bigint;
    n_link bigint;
    n_journey bigint;
    n_outbound bigint;
    steps jsonb := '[]';
    step_began timestamptz;
BEGIN
    IF census IS NULL OR census = 'infinity' OR census = '-infinity' THEN
        RAISE EXCEPTION 'census date must be a finite date, not %', coalesce(census::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- One refresh at a time; readers (ACCESS SHARE) are not blocked and see
    -- the old list until this transaction commits.
    LOCK TABLE ptl.rtt_pathway IN SHARE ROW EXCLUSIVE MODE;
    -- Autovacuum stays off the tables the run reads and rewrites until it
    -- commits.  A vacuum or analyze by another process counts this
    -- transaction's new rows as not there yet; a planner that then takes a
    -- table of thousands of rows for empty chooses plans that run for many
    -- minutes.  (SHARE UPDATE EXCLUSIVE: readers and loaders are not
    -- blocked, and autovacuum skips a table it cannot lock.)
    LOCK TABLE ptl.patient, ptl.pathway, ptl.pathway_event, ptl.waiting_list_entry, ptl.rtt_dirty_pathway,
               ptl.rtt_pathway, ptl.rtt_period, ptl.rtt_event_issue, ptl.person_link, ptl.link_pair,
               ptl.pathway_link, ptl.pathway_transfer, ptl.pathway_duplicate, ptl.census_snapshot,
               ptl.waiting_list_suspension, ptl.risk_assessment, ptl.clinical_priority_history,
               ptl.journey_episode, ptl.validation_issue
        IN SHARE UPDATE EXCLUSIVE MODE;
    steps := ptl_internal.refresh_step(steps, 'table_lock', started);

    SELECT r.census, r.started_at, r.finished_at INTO last_census, last_started, last_finished FROM ptl.refresh_run r
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
    steps := ptl_internal.refresh_step(steps, 'analyze', step_began);
    step_began := clock_timestamp();

    -- The PAS is the system of record: ptl's proposed actions are confirmed
    -- or contradicted by what was loaded, and a provisional event that gives
    -- way leaves before the clocks are computed (rtt/outbound.sql).
    n_outbound := ptl.reconcile_outbound();
    steps := ptl_internal.refresh_step(steps, 'reconcile_outbound', step_began, n_outbound);
    step_began := clock_timestamp();

    -- Link first (link/): persons when patient records changed since the
    -- last linkage run, then pathways across providers.
    -- Pathways are linked again where something can have changed (the rule:
    -- ptl.link_pathways(boolean), docs/rtt-engine.md "The daily refresh"),
    -- and everywhere on a full refresh, when the linkage settings changed
    -- since the last refresh, or when persons were linked since it by
    -- another than a refresh (what moved is not known then).
    link_everything := everything
        -- (set since the last refresh began, or in this refresh's own transaction)
        OR EXISTS (SELECT 1 FROM ptl.link_setting ls WHERE ls.set_at >= least(last_started, now()))
        OR EXISTS (SELECT 1 FROM ptl.link_run r WHERE r.started_at > last_finished);
    -- A refresh that links every record but recomputes incrementally keeps
    -- the linkage as it was, to see what moved (duplicates).
    IF NOT everything AND link_everything THEN
        IF to_regclass('pg_temp.refresh_link_before') IS NOT NULL THEN
            DROP TABLE pg_temp.refresh_link_before;
        END IF;
        CREATE TEMP TABLE refresh_link_before ON COMMIT DROP AS
        SELECT l.pathway_id, l.ics_pathway_id FROM ptl.pathway_link l;
    END IF;
    -- Persons are linked again on a full refresh, when the link settings or
    -- blocking rules changed since the full linkage run that estimated the
    -- model (or in this refresh's own transaction), and when patient records
    -- or reviewers' decisions changed (the triggers noted them in
    -- ptl.link_pending).
    IF everything
       OR ptl_internal.link_model_stale()
       OR EXISTS (SELECT 1 FROM ptl.link_pending) THEN
        IF to_regclass('pg_temp.refresh_person_moved') IS NOT NULL THEN
            DROP TABLE pg_temp.refresh_person_moved;
        END IF;
        -- The model is estimated by a full run and then frozen: a daily
        -- refresh links incrementally (only the pairs touching records
        -- changed since the last run, docs/linkage.md "Incremental runs")
        -- when a model exists and neither the link settings nor the blocking
        -- rules changed since the full run that estimated it; a full
        -- refresh, the first run and new settings or rules estimate the
        -- model again and link every record.
        IF NOT everything
           AND EXISTS (SELECT 1 FROM ptl.link_parameter)
           AND EXISTS (SELECT 1 FROM ptl.link_record)
           AND NOT ptl_internal.link_model_stale() THEN
            PERFORM ptl.link_persons_incremental();
            -- the records that moved are among those it clustered again
            -- (pg_temp.link_scope, which its comment says it leaves)
            CREATE TEMP TABLE refresh_person_moved ON COMMIT DROP AS
            SELECT s.patient_id, s.person_before, pl.person_id AS person_after
            FROM pg_temp.link_scope s LEFT JOIN ptl.person_link pl USING (patient_id)
            WHERE pl.person_id IS DISTINCT FROM s.person_before;
        ELSIF NOT everything THEN
            CREATE TEMP TABLE refresh_person_before ON COMMIT DROP AS
            SELECT pl.patient_id, pl.person_id FROM ptl.person_link pl;
            -- (with the stored model when only ptl.link_record is missing:
            -- it is unlogged, and a crash or a promoted standby empties it)
            PERFORM ptl.link_persons(NOT EXISTS (SELECT 1 FROM ptl.link_parameter) OR ptl_internal.link_model_stale());
            CREATE TEMP TABLE refresh_person_moved ON COMMIT DROP AS
            SELECT coalesce(a.patient_id, b.patient_id) AS patient_id, b.person_id AS person_before,
                   a.person_id AS person_after
            FROM ptl.person_link a FULL JOIN pg_temp.refresh_person_before b ON b.patient_id = a.patient_id
            WHERE a.person_id IS DISTINCT FROM b.person_id;
            DROP TABLE pg_temp.refresh_person_before;
        ELSE
            PERFORM ptl.link_persons();
        END IF;
        persons_relinked := NOT everything;
        -- (its own step: linkage of the patient records, linkage/; its rows:
        -- the records linked)
        steps := ptl_internal.refresh_step(steps, 'link_persons', step_began,
                                           (SELECT r.records FROM ptl.link_run r ORDER BY r.run_id DESC LIMIT 1));
        step_began := clock_timestamp();
    END IF;
    IF to_regclass('pg_temp.rtt_transfer_before') IS NOT NULL THEN
        DROP TABLE pg_temp.rtt_transfer_before;
    END IF;
    CREATE TEMP TABLE rtt_transfer_before ON COMMIT DROP AS
    SELECT x.receiver_pathway_id, x.sender_pathway_id, x.transferred_out_on, x.transfer_in_event_id, x.direct
    FROM ptl.pathway_transfer x;
    IF NOT link_everything THEN
        -- What changed since the last refresh: records and events marked
        -- by the triggers (a deleted record marks its person's records and
        -- those of its PPID), records never linked, and the records of the
        -- patients the person linkage moved.
        IF to_regclass('pg_temp.pathway_link_scope') IS NOT NULL THEN
            DROP TABLE pg_temp.pathway_link_scope;
        END IF;
        CREATE TEMP TABLE pathway_link_scope (pathway_id bigint PRIMARY KEY) ON COMMIT DROP;
        INSERT INTO pg_temp.pathway_link_scope (pathway_id)
        SELECT d.pathway_id FROM ptl.rtt_dirty_pathway d;
        -- (a new record is marked by its trigger; a record never linked
        -- otherwise is looked for only when the counts say there is one:
        -- ptl.pathway_link holds existing records only, by its foreign key)
        n_pathways := (SELECT count(*) FROM ptl.pathway);
        IF n_pathways <> (SELECT count(*) FROM ptl.pathway_link) THEN
            INSERT INTO pg_temp.pathway_link_scope (pathway_id)
            SELECT p.pathway_id FROM ptl.pathway p
            WHERE NOT EXISTS (SELECT 1 FROM ptl.pathway_link l WHERE l.pathway_id = p.pathway_id)
            ON CONFLICT DO NOTHING;
        END IF;
        IF persons_relinked THEN
            INSERT INTO pg_temp.pathway_link_scope (pathway_id)
            SELECT p.pathway_id
            FROM pg_temp.refresh_person_moved m JOIN ptl.pathway p ON p.patient_id = m.patient_id
            ON CONFLICT DO NOTHING;
        END IF;
    END IF;
    -- (the step's rows: the records linked)
    n_link := (SELECT l.records FROM ptl.link_pathways(NOT link_everything) l);
    -- The records whose ICS pathway moved (for the duplicates).
    IF NOT everything THEN
        IF to_regclass('pg_temp.refresh_link_moved') IS NOT NULL THEN
            DROP TABLE pg_temp.refresh_link_moved;
        END IF;
        IF link_everything THEN
            CREATE TEMP TABLE refresh_link_moved ON COMMIT DROP AS
            SELECT coalesce(a.pathway_id, b.pathway_id) AS pathway_id
            FROM ptl.pathway_link a FULL JOIN pg_temp.refresh_link_before b ON b.pathway_id = a.pathway_id
            WHERE a.ics_pathway_id IS DISTINCT FROM b.ics_pathway_id;
        ELSE
            CREATE TEMP TABLE refresh_link_moved ON COMMIT DROP AS
            SELECT z.pathway_id
            FROM pg_temp.pathway_relink z LEFT JOIN ptl.pathway_link l ON l.pathway_id = z.pathway_id
            WHERE l.ics_pathway_id IS DISTINCT FROM z.ics_before;
        END IF;
    END IF;
    steps := ptl_internal.refresh_step(steps, 'link', step_began, n_link);
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
        -- events (or an admission date offered) that were in the future at
        -- the last census are not any more
        SELECT pathway_id FROM ptl.rtt_pathway WHERE next_event_date <= census
        UNION
        SELECT pathway_id FROM ptl.rtt_pathway WHERE next_booked_date <= census;
        -- records never computed (ptl.rtt_pathway holds existing records
        -- only, by its foreign key: equal counts mean none)
        IF coalesce(n_pathways, (SELECT count(*) FROM ptl.pathway)) <> (SELECT count(*) FROM ptl.rtt_pathway) THEN
            INSERT INTO rtt_target
            SELECT p.pathway_id FROM ptl.pathway p
            WHERE NOT EXISTS (SELECT 1 FROM ptl.rtt_pathway r WHERE r.pathway_id = p.pathway_id)
            ON CONFLICT DO NOTHING;
        END IF;
        -- Receivers of transfers run on their senders' events too: those
        -- whose matched transfers this linkage changed (made, altered or
        -- undone), and those of a sender recomputed (a chain's receiver has
        -- a row for each provider before it).
        INSERT INTO rtt_target
        SELECT coalesce(a.receiver_pathway_id, b.receiver_pathway_id)
        FROM ptl.pathway_transfer a
        FULL JOIN rtt_transfer_before b ON b.receiver_pathway_id = a.receiver_pathway_id
                                       AND b.sender_pathway_id = a.sender_pathway_id
        WHERE (a.transferred_out_on, a.transfer_in_event_id, a.direct)
              IS DISTINCT FROM (b.transferred_out_on, b.transfer_in_event_id, b.direct)
           OR a.receiver_pathway_id IS NULL OR b.receiver_pathway_id IS NULL
        UNION
        SELECT x.receiver_pathway_id FROM ptl.pathway_transfer x JOIN rtt_target t ON t.pathway_id = x.sender_pathway_id
        ON CONFLICT DO NOTHING;
        DELETE FROM rtt_target t WHERE NOT EXISTS (SELECT 1 FROM ptl.pathway p WHERE p.pathway_id = t.pathway_id);
    END IF;
    ANALYZE rtt_target;

    computed := ptl.rtt_compute(census);
    -- The clock tables were just rewritten for the targets: after a first
    -- load their statistics say empty, and the validation's joins planned
    -- on them cost minutes.  (The tables the clock read were seen to by the
    -- analyze step.)  Like the
    -- analyze step, through ptl.analyze_if_grown, which runs as the tables'
    -- owner: a plain ANALYZE by a ptl_admin member who does not own them is
    -- skipped with a warning (a 20,000-referral first load then spent 16
    -- minutes validating, not 26 seconds).
    PERFORM ptl.analyze_if_grown(t)
    FROM unnest(ARRAY['ptl.rtt_pathway', 'ptl.rtt_period', 'ptl.rtt_event_issue']::regclass[]) t;

    -- The other incomplete periods only grow older.
    UPDATE ptl.rtt_period
    SET census = refresh_work.census,
        days_waited = refresh_work.census - clock_start,
        week_band = CASE WHEN refresh_work.census - clock_start >= 0
                         THEN ptl.rtt_week_band(refresh_work.census - clock_start) END,
        adjusted_days = refresh_work.census - clock_start
    WHERE outcome = 'incomplete' AND rtt_period.census <> refresh_work.census;
    -- (ptl.rtt_pathway.census stays the census each clock was computed at:
    -- rewriting every pathway's row each day would say nothing new.)
    steps := ptl_internal.refresh_step(steps, 'clock', step_began, computed.pathways);
    step_began := clock_timestamp();

    -- Journey stages (journey/journey.sql) of the same pathways.
    n_journey := ptl.journey_compute(census, CASE WHEN NOT everything THEN ARRAY(SELECT t.pathway_id FROM rtt_target t) END);
    steps := ptl_internal.refresh_step(steps, 'journey', step_began, n_journey);
    step_began := clock_timestamp();

    -- Duplicates and validation: of everything, or of what can have
    -- changed (the persons and pathways of the recomputed clocks and moved
    -- links; validation's rules and their scopes: ptl_internal.validation_scope).
    -- Settings changed since the last refresh move every threshold.
    IF NOT everything AND EXISTS (SELECT 1 FROM ptl.rtt_setting s WHERE s.set_at >= last_started) THEN
        last_census := NULL;
    END IF;
    IF NOT everything THEN
        IF to_regclass('pg_temp.duplicate_scope') IS NOT NULL THEN
            DROP TABLE pg_temp.duplicate_scope;
        END IF;
        CREATE TEMP TABLE duplicate_scope (person_id bigint PRIMARY KEY) ON COMMIT DROP;
        INSERT INTO pg_temp.duplicate_scope (person_id)
        SELECT pl.person_id
        FROM (SELECT t.pathway_id FROM rtt_target t
              UNION
              SELECT m.pathway_id FROM pg_temp.refresh_link_moved m) c
        JOIN ptl.pathway p ON p.pathway_id = c.pathway_id
        JOIN ptl.person_link pl ON pl.patient_id = p.patient_id
        ON CONFLICT DO NOTHING;
        IF persons_relinked THEN
            INSERT INTO pg_temp.duplicate_scope (person_id)
            SELECT x.person_id
            FROM pg_temp.refresh_person_moved m
            CROSS JOIN LATERAL (VALUES (m.person_before), (m.person_after)) x (person_id)
            WHERE x.person_id IS NOT NULL
            ON CONFLICT DO NOTHING;
        END IF;
        ANALYZE pg_temp.duplicate_scope;
    END IF;
    PERFORM ptl_internal.find_pathway_duplicates(census, NOT everything);
    n_validation := ptl.validate(census, CASE WHEN NOT everything THEN last_census END);
    steps := ptl_internal.refresh_step(steps, 'validate', step_began, n_validation);
    step_began := clock_timestamp();

    -- Rank and snapshot: the PTL is computed and each list numbered
    -- (list_position) once, into ptl.ptl_entry, which ptl.ptl reads until
    -- the next refresh; the snapshot keeps it for the census.
    PERFORM ptl.rank_ptl();
    PERFORM ptl.census_snapshot_partition(census);

    DELETE FROM ptl.census_snapshot s WHERE s.census_date = census;
    INSERT INTO ptl.census_snapshot (census_date, pathway_id, period_no, provider_org, site_code,
                                     treatment_function, rtt_line, commissioner_code, referral_priority,
                                     clinical_priority, clock_start, days_waited, week_band, has_dta,
                                     target_date, list_position, triage_priority, consultant_code)
    SELECT census, l.pathway_id, l.period_no, l.provider_org, l.site_code, l.treatment_function,
           l.rtt_line, l.commissioner_code, l.referral_priority, l.clinical_priority,
           l.clock_start, l.days_waited, l.week_band, l.has_dta, l.target_date, l.list_position,
           l.triage_priority, l.consultant_code
    FROM ptl.ptl_entry l;
    GET DIAGNOSTICS n_snapshot = ROW_COUNT;
    steps := ptl_internal.refresh_step(steps, 'rank_and_snapshot', step_began, n_snapshot);

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
COMMENT ON PROCEDURE ptl_internal.refresh_work(date, boolean, bigint) IS
    'The work of ptl.refresh: its steps are recorded in the run daily_run of ptl.refresh_run (under ptl.daily_refresh, which finishes that row), or in a row of their own when daily_run is NULL';

-- The refresh an administrator calls; ptl.daily_refresh calls the work
-- itself with its run (ptl_internal.refresh_work).
CREATE PROCEDURE ptl.refresh(census date DEFAULT current_date, "full" boolean DEFAULT false)
LANGUAGE plpgsql
SET search_path = pg_catalog, ptl, pg_temp
SET jit = off
AS $$
BEGIN
    CALL ptl_internal.refresh_work(census, "full", NULL);
END
$$;
COMMENT ON PROCEDURE ptl.refresh(date, boolean) IS
    'Reconciles ptl''s outbound actions with the extracts loaded, links records (persons when patient records changed, then pathways), recomputes RTT clocks (changed pathways, or all with full => true) at a census, revalidates, and snapshots the PTL, in one transaction';

-- The run log is history that a refresh cannot rebuild, so pg_dump keeps it.
SELECT pg_catalog.pg_extension_config_dump('ptl.refresh_run', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.refresh_run_run_id_seq', '');
