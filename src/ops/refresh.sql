-- ---------------------------------------------------------------------------
-- ops, part 1: the daily refresh that runs unattended.  ptl.daily_refresh
-- loads every ready batch, runs ptl.refresh (link, clock, validate, rank and
-- snapshot) and applies snapshot retention, as one unit of work: it all
-- commits or none of it does.  The run log row is committed before the work
-- starts and finished after it, so a failure leaves its reason behind.
-- docs/operations.md is the operator's guide.
-- ---------------------------------------------------------------------------

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

-- One daily refresh at a time.  Each transaction of a run (its admission,
-- then its work) first locks the run log in SHARE UPDATE EXCLUSIVE mode: a
-- lock that conflicts with itself and not with readers or with writes to the
-- log's rows, and that a role may take only with UPDATE, DELETE or TRUNCATE
-- on ptl.refresh_run (a ptl_admin member), so no reader or loader can hold
-- the refresh off.  It is a transaction's lock, so a run that is cancelled,
-- times out or dies lets go of it with its transaction: nothing can be left
-- holding it.  (An advisory lock, which any session may take and which
-- outlives an error, is no gate for an unattended run.)
--
-- Between its two transactions a run holds no lock, so a run that finds
-- another's row still 'running' asks whether that run is alive: its server
-- process holds or waits for the lock, or is still in the statement that
-- started it.  A row that fails both tests belongs to a run that was
-- cancelled or died without recording it, and is marked failed.
CREATE FUNCTION ptl.refresh_run_is_live(backend_pid int, started_at timestamptz) RETURNS boolean
LANGUAGE sql VOLATILE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
-- (This session's own lock says nothing of an earlier run of the session.)
RETURN EXISTS (SELECT 1 FROM pg_catalog.pg_locks l
               WHERE l.pid = refresh_run_is_live.backend_pid AND l.pid <> pg_catalog.pg_backend_pid()
                 AND l.locktype = 'relation'
                 AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d
                                   WHERE d.datname = pg_catalog.current_database())
                 AND l.relation = 'ptl.refresh_run'::regclass AND l.mode = 'ShareUpdateExclusiveLock')
    -- Still in the top-level statement (the CALL) that began the run.
    -- Another role's session shows these columns only to pg_read_all_stats:
    -- then the lock alone decides.
    OR EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
               WHERE a.pid = refresh_run_is_live.backend_pid AND a.state = 'active'
                 AND a.backend_start <= refresh_run_is_live.started_at
                 AND a.query_start <= refresh_run_is_live.started_at);
COMMENT ON FUNCTION ptl.refresh_run_is_live(int, timestamptz) IS
    'Whether the daily refresh run begun at started_at by a server process is still going: the process holds or waits for the refresh lock (SHARE UPDATE EXCLUSIVE on ptl.refresh_run), or is still in the statement that began the run';

-- A ready batch whose load raised an error: marked failed with the error,
-- so the daily run goes on without it and does not try it again.
-- (SECURITY DEFINER: no role but the owner changes the load accounting;
-- only administrators may call it.)
CREATE FUNCTION ptl.fail_batch(batch bigint, sqlstate text, message text) RETURNS ptl.batch
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    b ptl.batch;
BEGIN
    SELECT * INTO b FROM ptl.batch x WHERE x.batch_id = fail_batch.batch FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'batch % does not exist', coalesce(fail_batch.batch::text, 'NULL')
            USING ERRCODE = 'no_data_found';
    END IF;
    IF b.status NOT IN ('open', 'ready') THEN
        RAISE EXCEPTION 'batch % is % and cannot be marked failed', b.batch_id, b.status
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Only a batch that is not loaded yet (open or ready) can fail.';
    END IF;
    UPDATE ptl.batch x
    SET status = 'failed', failed_at = now(),
        load_error = concat_ws(': ', nullif(fail_batch.sqlstate, ''),
                               coalesce(nullif(fail_batch.message, ''), 'no reason given'))
    WHERE x.batch_id = b.batch_id
    RETURNING * INTO b;
    RETURN b;
END
$$;
COMMENT ON FUNCTION ptl.fail_batch(bigint, text, text) IS
    'Marks a batch that is not loaded (open or ready) failed, keeping the SQLSTATE and message of the error its load raised in load_error; the daily refresh calls it and goes on with the other batches';

CREATE PROCEDURE ptl.daily_refresh(census date DEFAULT current_date, "full" boolean DEFAULT false,
                                   wait boolean DEFAULT false)
LANGUAGE plpgsql
-- No SET clauses (search_path, jit): a procedure with them cannot COMMIT.
-- Every name below is qualified instead (pg_catalog is searched first
-- anyway), and jit is set for the work's transaction.
AS $$
#variable_conflict use_variable
DECLARE
    run bigint;
    phase text := 'lock';
    began timestamptz;
    busy boolean;
    holder record;
    holder_pid int;
    lock_wait text;
    b record;
    n_batches int := 0;
    n_failed int := 0;
    n_loaded bigint := 0;
    n_rejected bigint := 0;
    n_dropped int;
    batch_state text;
    batch_message text;
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

    -- Admission: the lock, then no other run alive.
    began := clock_timestamp();
    LOOP
        BEGIN
            LOCK TABLE ptl.refresh_run IN SHARE UPDATE EXCLUSIVE MODE NOWAIT;
            busy := false;
        EXCEPTION WHEN lock_not_available THEN
            busy := true;
        END;
        IF busy THEN
            SELECT r.run_id, r.started_at, r.backend_pid, r.run_by INTO holder
            FROM ptl.refresh_run r
            WHERE r.status = 'running' AND ptl.refresh_run_is_live(r.backend_pid, r.started_at)
            ORDER BY r.run_id DESC LIMIT 1;
            -- Queued, wait for the lock.  Not queued, wait for it only if no
            -- run holds it, and not long: autovacuum or an ANALYZE of the log
            -- (they take the same lock), or a run being admitted.
            IF wait OR holder.run_id IS NULL THEN
                lock_wait := current_setting('lock_timeout');
                BEGIN
                    IF NOT wait THEN
                        PERFORM set_config('lock_timeout', '10s', true);
                    END IF;
                    LOCK TABLE ptl.refresh_run IN SHARE UPDATE EXCLUSIVE MODE;
                    busy := false;
                EXCEPTION WHEN lock_not_available THEN
                    NULL;
                END;
                PERFORM set_config('lock_timeout', lock_wait, true);
            END IF;
        END IF;
        -- A run alive while this session has the lock is between its two
        -- transactions.
        IF NOT busy THEN
            SELECT r.run_id, r.started_at, r.backend_pid, r.run_by INTO holder
            FROM ptl.refresh_run r
            WHERE r.status = 'running' AND ptl.refresh_run_is_live(r.backend_pid, r.started_at)
            ORDER BY r.run_id DESC LIMIT 1;
            EXIT WHEN holder.run_id IS NULL;
        END IF;
        IF NOT wait THEN
            SELECT l.pid INTO holder_pid FROM pg_catalog.pg_locks l
            WHERE l.locktype = 'relation' AND l.relation = 'ptl.refresh_run'::regclass
              AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
              AND l.mode = 'ShareUpdateExclusiveLock' AND l.granted AND l.pid <> pg_catalog.pg_backend_pid()
            LIMIT 1;
            RAISE EXCEPTION 'another ptl refresh is running, so this one did nothing'
                USING ERRCODE = 'lock_not_available',
                      DETAIL = CASE WHEN holder.run_id IS NULL
                                    THEN format('Server process %s has held the refresh lock (SHARE UPDATE EXCLUSIVE on ptl.refresh_run) for 10 seconds, and is not a daily refresh.',
                                                coalesce(holder_pid::text, 'unknown'))
                                    ELSE format('Run %s started at %s by %s (server process %s).',
                                                holder.run_id, holder.started_at, holder.run_by, holder.backend_pid) END,
                      HINT = 'Wait for it to finish (ptl.refresh_status), or call ptl.daily_refresh(wait => true) to queue behind it.';
        END IF;
        -- Queued behind a live run between its transactions: let it take
        -- the lock for its work, then queue again.
        COMMIT;
        PERFORM pg_catalog.pg_sleep(0.05);
    END LOOP;

    -- Holding the lock, with no other run alive: a row still 'running' is a
    -- run that was cancelled or died without saying so.
    UPDATE ptl.refresh_run r
    SET status = 'failed', finished_at = clock_timestamp(), error_sqlstate = NULL,
        error_message = CASE
            WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.pid = r.backend_pid)
            THEN format('interrupted: server process %s stopped running it without recording why (cancelled between its transactions)',
                        r.backend_pid)
            ELSE format('interrupted: server process %s ended before the run finished (terminated, or the server restarted)',
                        r.backend_pid) END
    WHERE r.status = 'running' AND NOT ptl.refresh_run_is_live(r.backend_pid, r.started_at);

    INSERT INTO ptl.refresh_run (census, full_refresh, started_at, finished_at, status, entry_point, steps)
    VALUES (census, "full", began, NULL, 'running', 'daily_refresh',
            ptl_internal.refresh_step('[]', 'lock', began))
    RETURNING run_id INTO run;
    COMMIT;

    BEGIN
        -- The lock again, for the work.  A run that found this one between
        -- its transactions (unlikely: microseconds) took it for dead.
        LOCK TABLE ptl.refresh_run IN SHARE UPDATE EXCLUSIVE MODE;
        IF (SELECT r.status FROM ptl.refresh_run r WHERE r.run_id = run) IS DISTINCT FROM 'running' THEN
            RAISE EXCEPTION 'run % was marked interrupted by a later run before it began its work', run
                USING ERRCODE = 'lock_not_available';
        END IF;
        -- No JIT: for a ptl_admin member (not the tables' owner) row-level
        -- security makes the planner cost the load's and the validation's
        -- queries past jit_above_cost, and compiling them took longer than
        -- running them (ptl.refresh has SET jit = off for the same reason).
        PERFORM set_config('jit', 'off', true);

        -- Load: every batch its loader has closed, oldest first, each in a
        -- subtransaction of its own.  A batch whose load raises is rolled
        -- back alone, marked failed with its reason, and the run goes on: one
        -- bad delivery must not stop every trust's daily run.  Errors that
        -- are not the batch's (lack of resources, a lock, a conflict, a
        -- cancel, a privilege or a broken catalogue) stop the run instead,
        -- and the batch stays ready for the next.
        phase := 'load';
        began := clock_timestamp();
        FOR b IN SELECT x.batch_id FROM ptl.batch x WHERE x.status = 'ready' ORDER BY x.batch_id LOOP
            BEGIN
                SELECT n_loaded + coalesce(sum(e.rows_loaded + e.rows_updated), 0),
                       n_rejected + coalesce(sum(e.rows_quarantined), 0)
                INTO n_loaded, n_rejected
                FROM ptl.load(b.batch_id) e;
                n_batches := n_batches + 1;
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS batch_state = RETURNED_SQLSTATE, batch_message = MESSAGE_TEXT;
                IF left(batch_state, 2) IN ('08', '25', '40', '42', '53', '55', '57', '58', 'F0', 'HV')
                   OR batch_state IN ('XX001', 'XX002') THEN
                    RAISE;
                END IF;
                PERFORM ptl.fail_batch(b.batch_id, batch_state, batch_message);
                n_failed := n_failed + 1;
                RAISE WARNING 'batch % was not loaded, and is marked failed: %', b.batch_id, batch_message
                    USING DETAIL = format('SQLSTATE %s.  The run goes on with the other batches.', batch_state),
                          HINT = 'ptl.batch.load_error keeps the reason; the loader sends the delivery again in a new batch.';
            END;
        END LOOP;
        UPDATE ptl.refresh_run r
        SET batches_loaded = n_batches, batches_failed = n_failed, rows_loaded = n_loaded, rows_rejected = n_rejected,
            steps = ptl_internal.refresh_step(r.steps, 'load', began, n_loaded)
        WHERE r.run_id = run;

        -- Link, clock, validate, rank and snapshot.
        phase := 'refresh';
        CALL ptl_internal.refresh_work(census, "full", run);

        phase := 'retention';
        began := clock_timestamp();
        n_dropped := ptl.apply_snapshot_retention(census);
        UPDATE ptl.refresh_run r
        SET snapshot_partitions_dropped = n_dropped,
            steps = ptl_internal.refresh_step(r.steps, 'retention', began, n_dropped),
            status = 'succeeded', finished_at = clock_timestamp()
        WHERE r.run_id = run;
    -- query_canceled is not among OTHERS: named, so that a cancel or a
    -- statement_timeout is recorded and lets go of the lock like any error.
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        -- Everything since the block began is rolled back; keep why.
        GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,
                                err_detail = PG_EXCEPTION_DETAIL, err_hint = PG_EXCEPTION_HINT,
                                err_context = PG_EXCEPTION_CONTEXT;
    END;

    -- The lock goes with the commit, so the next run sees this one's work.
    IF err_message IS NOT NULL THEN
        IF err_state = '57014' AND coalesce(err_detail, '') = '' THEN
            err_detail := 'The run was cancelled (pg_cancel_backend, or statement_timeout ran out).';
        END IF;
        UPDATE ptl.refresh_run r
        SET status = 'failed', finished_at = clock_timestamp(), failed_step = phase,
            error_sqlstate = err_state, error_message = err_message,
            error_detail = nullif(err_detail, ''), error_context = nullif(err_context, '')
        WHERE r.run_id = run;
        COMMIT;
        err_hint := coalesce(nullif(err_hint, ''), format('See ptl.refresh_run where run_id = %s.', run));
        IF coalesce(err_detail, '') = '' THEN
            RAISE EXCEPTION 'ptl refresh run % failed at its % step, and was rolled back: %', run, phase, err_message
                USING ERRCODE = err_state, HINT = err_hint;
        END IF;
        RAISE EXCEPTION 'ptl refresh run % failed at its % step, and was rolled back: %', run, phase, err_message
            USING ERRCODE = err_state, DETAIL = err_detail, HINT = err_hint;
    END IF;
    COMMIT;
END
$$;
COMMENT ON PROCEDURE ptl.daily_refresh(date, boolean, boolean) IS
    'The unattended daily run: loads ready batches (each on its own: a batch whose load fails is marked failed and the run goes on), refreshes (link, clock, validate, rank, snapshot) and applies snapshot retention as one unit; one at a time (wait => false exits with a message), logged in ptl.refresh_run whether it succeeds, fails or is cancelled (a run that died is marked failed by the next); CALL it outside a transaction block';

-- After pg_restore the derived tables (clocks, links, issues, the stored
-- PTL, journeys) are empty: pg_dump keeps only what a refresh cannot
-- rebuild.  Read with the caller's rights: a trust's operator is told about
-- its own pathways, which is what its lists show.
CREATE FUNCTION ptl_internal.derived_tables_empty() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN NOT EXISTS (SELECT 1 FROM ptl.rtt_pathway) AND EXISTS (SELECT 1 FROM ptl.pathway);
COMMENT ON FUNCTION ptl_internal.derived_tables_empty() IS
    'Whether pathways are loaded but no clock is computed, as after pg_restore: the refresh''s results are gone until ptl.refresh_after_restore()';

-- The next step after pg_restore: the derived tables rebuilt at the census
-- of the last refresh that succeeded before the dump (not today's), by a
-- full daily refresh, which also loads any batch that was ready.
CREATE PROCEDURE ptl.refresh_after_restore()
LANGUAGE plpgsql
-- No SET clauses: it calls ptl.daily_refresh, which commits.
AS $$
DECLARE
    last_census date;
BEGIN
    SELECT r.census INTO last_census
    FROM ptl.refresh_run r WHERE r.status = 'succeeded' ORDER BY r.run_id DESC LIMIT 1;
    IF last_census IS NULL THEN
        RAISE EXCEPTION 'no refresh has succeeded in this database: there is no census to rebuild'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Run the first refresh instead: CALL ptl.daily_refresh(census => ''YYYY-MM-DD'').';
    END IF;
    RAISE NOTICE 'rebuilding clocks, links, validation, the PTL and journeys at census %, the last refresh before the dump',
        last_census;
    CALL ptl.daily_refresh(last_census, "full" => true);
END
$$;
COMMENT ON PROCEDURE ptl.refresh_after_restore() IS
    'The step after pg_restore: a full daily refresh at the census of the last refresh that succeeded (the derived tables are not dumped); CALL it outside a transaction block';

-- The run log as an operator reads it: the runs newest first, how long they
-- took, and a running row whose run is no longer alive (cancelled, or its
-- server process gone) marked interrupted until the next run marks it failed.
CREATE VIEW ptl.refresh_status AS
SELECT r.run_id, r.census, r.entry_point,
       CASE WHEN r.status = 'running' AND NOT ptl.refresh_run_is_live(r.backend_pid, r.started_at)
            THEN 'interrupted'
            -- its results are gone (a restore): not a success a list can be read from
            WHEN r.status = 'succeeded' AND ptl_internal.derived_tables_empty()
                 AND r.run_id = (SELECT max(l.run_id) FROM ptl.refresh_run l WHERE l.status = 'succeeded')
            THEN 'needs_refresh'
            ELSE r.status END AS status,
       r.started_at, r.finished_at,
       coalesce(r.finished_at, clock_timestamp()) - r.started_at AS duration,
       r.full_refresh, r.batches_loaded, r.rows_loaded, r.rows_rejected, r.pathways_computed,
       r.validation_issues, r.snapshot_rows, r.snapshot_partitions_dropped,
       (SELECT string_agg(format('%s %s ms', s ->> 'step', s ->> 'ms'), ', ' ORDER BY o)
        FROM jsonb_array_elements(r.steps) WITH ORDINALITY AS e(s, o)) AS step_times,
       r.failed_step, r.error_message, r.run_by, r.batches_failed
FROM ptl.refresh_run r
ORDER BY r.run_id DESC;
COMMENT ON VIEW ptl.refresh_status IS
    'Refresh runs newest first: status (running, succeeded, failed, or interrupted when a running row''s run is no longer alive: the next daily refresh marks it failed), duration, counts, step times and the reason for a failure';
COMMENT ON COLUMN ptl.refresh_status.run_id IS 'Run number';
COMMENT ON COLUMN ptl.refresh_status.census IS 'Census date';
COMMENT ON COLUMN ptl.refresh_status.entry_point IS 'refresh or daily_refresh';
COMMENT ON COLUMN ptl.refresh_status.status IS 'running, succeeded, failed, interrupted, or needs_refresh for the last success whose results are gone (after pg_restore: CALL ptl.refresh_after_restore())';
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
COMMENT ON COLUMN ptl.refresh_status.batches_failed IS 'Batches whose load failed: marked failed (ptl.batch.load_error says why) while the run went on';
