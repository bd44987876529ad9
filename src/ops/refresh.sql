-- ---------------------------------------------------------------------------
-- ops, part 1: the daily refresh that runs unattended.  ptl.daily_refresh
-- loads every ready batch, runs ptl.refresh (link, clock, validate, rank and
-- snapshot) and applies snapshot retention, as one unit of work: it all
-- commits or none of it does.  The run log row is committed before the work
-- starts and finished after it, so a failure leaves its reason behind.
-- docs/operations.md is the operator's guide.
-- ---------------------------------------------------------------------------

-- Operational settings: one row, changed with UPDATE.
CREATE TABLE ptl.ops_setting (
    only_row            boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    snapshot_retention  interval DEFAULT '3 years' CHECK (snapshot_retention > interval '0'),
    changed_at          timestamptz NOT NULL DEFAULT now(),
    changed_by          text NOT NULL DEFAULT current_user
);
INSERT INTO ptl.ops_setting DEFAULT VALUES;
SELECT pg_catalog.pg_extension_config_dump('ptl.ops_setting', '');
COMMENT ON TABLE ptl.ops_setting IS 'Operational settings (one row; UPDATE it)';
COMMENT ON COLUMN ptl.ops_setting.only_row IS 'Always true: the table has one row';
COMMENT ON COLUMN ptl.ops_setting.snapshot_retention IS
    'How long census snapshots are kept: ptl.daily_refresh drops the months that ended longer ago than this before the census (NULL keeps them all)';
COMMENT ON COLUMN ptl.ops_setting.changed_at IS 'When the settings were last changed';
COMMENT ON COLUMN ptl.ops_setting.changed_by IS 'Who changed them';

-- Who changed the settings, whatever the UPDATE said.
CREATE FUNCTION ptl.ops_setting_stamp() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, ptl, pg_temp
AS $$
BEGIN
    NEW.changed_at := now();
    NEW.changed_by := current_user;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ptl.ops_setting_stamp() IS 'Trigger: stamps who changed ptl.ops_setting and when';
CREATE TRIGGER ops_setting_stamp BEFORE UPDATE ON ptl.ops_setting
    FOR EACH ROW EXECUTE FUNCTION ptl.ops_setting_stamp();

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
    EXECUTE format('ALTER TABLE ptl.%I ADD CONSTRAINT %I CHECK (census_date >= %L AND census_date < %L)',
                   part_name, part_name || '_month', month_start, month_end);
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
    keep interval := (SELECT s.snapshot_retention FROM ptl.ops_setting s);
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
    steps jsonb := '[]';
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
                  DETAIL = coalesce(format('Run %s started at %s by %s (server process %s).',
                                           holder.run_id, holder.started_at, holder.run_by, holder.backend_pid),
                                    'A session holds the refresh lock.'),
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
