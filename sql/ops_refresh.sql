-- The daily refresh, as pg_cron would run it: load the batches their loaders
-- have closed, refresh, keep snapshots for the retention period; a run log
-- row for every run, and a failure rolled back with its reason kept.
-- ptl.daily_refresh commits, so this test has a database of its own.
\pset null '(null)'
SELECT current_database() AS home \gset
CREATE DATABASE ptl_ops_refresh;
\c ptl_ops_refresh
SET client_min_messages = warning;
CREATE EXTENSION ptl;
RESET client_min_messages;
SET datestyle = 'ISO, YMD';
INSERT INTO ptl.organisation (org_code, name) VALUES ('RZZ', 'Test Hospitals NHS Trust');
INSERT INTO ptl.site (site_code, org_code, name) VALUES ('RZZ01', 'RZZ', 'Test General Hospital');

-- A loader stages a delivery and closes the batch when every extract is in.
SELECT ptl.open_batch('RZZ', 'PAS', 'RZZ01', 'day 1') AS batch \gset
COPY ptl_stage.patient (local_patient_id, nhs_number, date_of_birth, sex) FROM stdin WITH (FORMAT csv);
P1,9434765919,1950-03-01,2
P2,,1961-04-02,1
\.
COPY ptl_stage.pathway (local_patient_id, ppid, ppid_issuer, treatment_function, referral_priority, referral_received)
    FROM stdin WITH (FORMAT csv);
P1,RZZ-1,RZZ,110,1,2025-01-06
P2,RZZ-2,RZZ,130,1,2025-01-13
\.
COPY ptl_stage.pathway_event (ppid, ppid_issuer, event_ref, event_date, kind, rtt_status) FROM stdin WITH (FORMAT csv);
RZZ-1,RZZ,E1,2025-01-06,referral,
RZZ-2,RZZ,E1,2025-01-13,referral,
RZZ-2,RZZ,E2,2025-02-30,outpatient,10
\.
SELECT batch_id, status FROM ptl.close_batch(:batch);

-- Rows staged into a closed batch are refused, not left behind unloaded.
INSERT INTO ptl_stage.patient (batch_id, local_patient_id) VALUES (:batch, 'P3');
SELECT ptl.close_batch(:batch);
INSERT INTO ptl_stage.patient (batch_id, local_patient_id) VALUES (424242, 'P3');

-- An open batch is not loaded by the daily refresh: its loader is not done.
SELECT ptl.open_batch('RZZ', 'PAS', 'RZZ01', 'day 1, still staging') AS open_batch \gset
INSERT INTO ptl_stage.patient (local_patient_id, date_of_birth) VALUES ('P9', '1970-01-01');

CALL ptl.daily_refresh('2025-03-31');
SELECT batch_id, label, status FROM ptl.batch ORDER BY batch_id;
SELECT local_patient_id FROM ptl.patient ORDER BY 1;
SELECT ppid, days_waited FROM ptl.ptl ORDER BY ppid;
SELECT run_id, census, entry_point, status, full_refresh, batches_loaded, rows_loaded, rows_rejected,
       pathways_computed, snapshot_rows, snapshot_partitions_dropped, failed_step, error_message
FROM ptl.refresh_status;
-- Every step is timed, in order.
SELECT string_agg(s ->> 'step', ' > ' ORDER BY o) AS steps,
       bool_and((s ->> 'ms')::numeric >= 0) AS all_timed
FROM ptl.refresh_run r, jsonb_array_elements(r.steps) WITH ORDINALITY e(s, o) WHERE r.run_id = 1;

-- Snapshots go into a partition for the census month.
SELECT c.oid::regclass AS partition, pg_get_expr(c.relpartbound, c.oid) AS bound,
       (SELECT count(*) FROM ptl.census_snapshot s WHERE s.tableoid = c.oid) AS rows
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'ptl.census_snapshot'::regclass ORDER BY 1;

-- A failure anywhere rolls the whole run back and is recorded.  Here the
-- clock store refuses rows (as a full disk or a bug would).
SELECT status FROM ptl.close_batch(:open_batch);
CREATE FUNCTION public.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'disk full (simulated)' USING ERRCODE = 'disk_full'; END $$;
CREATE TRIGGER refuse BEFORE INSERT ON ptl.rtt_period FOR EACH STATEMENT EXECUTE FUNCTION public.refuse();
\set VERBOSITY default
\set SHOW_CONTEXT never
CALL ptl.daily_refresh('2025-04-07', "full" => true);
-- The batch it had loaded is ready again, P9 is not loaded, no April snapshot.
SELECT batch_id, status FROM ptl.batch WHERE batch_id = :open_batch;
SELECT count(*) AS p9_loaded FROM ptl.patient WHERE local_patient_id = 'P9';
SELECT count(*) AS april_rows FROM ptl.census_snapshot WHERE census_date = '2025-04-07';
SELECT run_id, status, failed_step, error_sqlstate, error_message, finished_at IS NOT NULL AS finished
FROM ptl.refresh_run ORDER BY run_id;
DROP TRIGGER refuse ON ptl.rtt_period;

-- Retried once the cause is gone, it loads the batch and moves on.
CALL ptl.daily_refresh('2025-04-07');
SELECT run_id, census, status, batches_loaded, rows_loaded, rows_rejected, full_refresh FROM ptl.refresh_status LIMIT 1;

-- Retention: with a year's retention, months that ended more than a year
-- before the census go; the rest stay.  (A backfill of 2024, before the
-- first referral, makes empty months.)
SELECT ptl.backfill_census_snapshots('2024-01-01', '2024-06-30', 30) AS rows_backfilled;
INSERT INTO ptl.ops_setting (snapshot_retention) VALUES ('1 year');
SELECT snapshot_retention, set_by = current_user AS by_me FROM ptl.ops_setting_in_force();
CALL ptl.daily_refresh('2025-05-31');
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'ptl.census_snapshot'::regclass ORDER BY 1;
SELECT run_id, snapshot_partitions_dropped FROM ptl.refresh_status LIMIT 1;
SELECT min(census_date) AS oldest_kept FROM ptl.census_snapshot;

-- Rows written by hand for a month without a partition wait in the default
-- partition; the month's partition takes them when it is made.
INSERT INTO ptl.census_snapshot (census_date, pathway_id, period_no, provider_org, treatment_function,
                                 rtt_line, referral_priority, has_dta)
VALUES ('2025-07-06', 1, 1, 'RZZ', '110', '110', 'routine', false);
SELECT tableoid::regclass FROM ptl.census_snapshot WHERE census_date = '2025-07-06';
SELECT ptl.census_snapshot_partition('2025-07-31');
SELECT tableoid::regclass FROM ptl.census_snapshot WHERE census_date = '2025-07-06';
SELECT ptl.census_snapshot_partition('infinity');

-- A run whose server process died (crash, kill) shows as interrupted.
INSERT INTO ptl.refresh_run (census, full_refresh, started_at, finished_at, status, entry_point, backend_pid)
VALUES ('2025-06-01', false, '2025-06-01 05:00', NULL, 'running', 'daily_refresh', 0);
SELECT run_id, status FROM ptl.refresh_status LIMIT 1;

-- Inside a transaction block it cannot commit its log, so it refuses.
BEGIN;
CALL ptl.daily_refresh('2025-06-02');
ROLLBACK;
CALL ptl.daily_refresh(NULL);

-- Rule (a refresh no session can wedge): a run takes the run lock, SHARE
-- UPDATE EXCLUSIVE on ptl.refresh_run, for each of its transactions, and a
-- row still 'running' whose run is not alive is marked failed by the next
-- run, which goes on.  specs/daily_refresh_interrupted.spec cancels, times
-- out and terminates real runs; here, the rows such runs leave.
-- The row above: its server process (0) is gone.  And a row this very
-- session left (as a run cancelled between its transactions would): the
-- process is alive but has begun other statements since.
INSERT INTO ptl.refresh_run (census, full_refresh, started_at, finished_at, status, entry_point, steps)
VALUES ('2025-06-02', false, clock_timestamp(), NULL, 'running', 'daily_refresh', '[]');
SELECT run_id, status FROM ptl.refresh_status LIMIT 2;
CALL ptl.daily_refresh('2025-06-02');
SELECT run_id, status, failed_step, error_sqlstate,
       regexp_replace(error_message, 'server process [1-9][0-9]*', 'server process N') AS error_message,
       finished_at IS NOT NULL AS finished
FROM ptl.refresh_run WHERE run_id >= 5 ORDER BY run_id;

-- Rule: only a ptl_admin member may take the run lock (it needs UPDATE,
-- DELETE or TRUNCATE on ptl.refresh_run), so a reader cannot hold the
-- refresh off; any session could take the advisory lock it used to be.
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_ops_reader;
RESET client_min_messages;
CREATE ROLE regress_ops_reader LOGIN IN ROLE ptl_reader;
SET ROLE regress_ops_reader;
BEGIN;
LOCK TABLE ptl.refresh_run IN SHARE UPDATE EXCLUSIVE MODE NOWAIT;
ROLLBACK;
RESET ROLE;
DROP ROLE regress_ops_reader;

-- Rule (one batch must not stop the ICS's daily run): each ready batch is
-- loaded in a subtransaction of its own; a batch whose load raises is
-- marked failed by ptl.fail_batch, with the SQLSTATE and message in
-- load_error, and the run loads the others, refreshes and succeeds.  The
-- loader quarantines every bad row it knows of, so a trigger made here
-- stands in for a delivery it cannot load (say, a rule it does not check).
CREATE FUNCTION public.refuse_batch_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.event_ref LIKE 'BAD%' THEN
        RAISE EXCEPTION 'event % cannot be loaded (simulated bad delivery)', NEW.event_ref
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse_batch_events BEFORE INSERT ON ptl.pathway_event
    FOR EACH ROW EXECUTE FUNCTION public.refuse_batch_events();
SELECT ptl.open_batch('RZZ', 'PAS', 'RZZ01', 'day 70, good') AS good_batch \gset
INSERT INTO ptl_stage.patient (local_patient_id, date_of_birth) VALUES ('P20', '1980-01-01');
INSERT INTO ptl_stage.pathway (local_patient_id, ppid, ppid_issuer, treatment_function, referral_received)
VALUES ('P20', 'RZZ-20', 'RZZ', '110', '2025-05-01');
INSERT INTO ptl_stage.pathway_event (ppid, ppid_issuer, event_ref, event_date, kind)
VALUES ('RZZ-20', 'RZZ', 'E1', '2025-05-01', 'referral');
SELECT status FROM ptl.close_batch(:good_batch);
SELECT ptl.open_batch('RZZ', 'PAS', 'RZZ01', 'day 70, bad') AS bad_batch \gset
INSERT INTO ptl_stage.patient (local_patient_id, date_of_birth) VALUES ('P21', '1981-01-01');
INSERT INTO ptl_stage.pathway (local_patient_id, ppid, ppid_issuer, treatment_function, referral_received)
VALUES ('P21', 'RZZ-21', 'RZZ', '110', '2025-05-02');
INSERT INTO ptl_stage.pathway_event (ppid, ppid_issuer, event_ref, event_date, kind)
VALUES ('RZZ-21', 'RZZ', 'BAD1', '2025-05-02', 'referral');
SELECT status FROM ptl.close_batch(:bad_batch);
CALL ptl.daily_refresh('2025-06-09');
-- The good batch is loaded; the bad one is failed with its reason, nothing
-- of it loaded (its patient neither), its staged rows kept for a look.
SELECT batch_id, label, status, failed_at IS NOT NULL AS failed_at_set, load_error
FROM ptl.batch WHERE batch_id IN (:good_batch, :bad_batch) ORDER BY batch_id;
SELECT local_patient_id FROM ptl.patient WHERE local_patient_id IN ('P20', 'P21') ORDER BY 1;
SELECT ppid, days_waited FROM ptl.ptl WHERE ppid IN ('RZZ-20', 'RZZ-21') ORDER BY ppid;
SELECT (SELECT count(*) FROM ptl_stage.patient WHERE batch_id = :bad_batch) AS patients_staged,
       (SELECT count(*) FROM ptl_stage.pathway_event WHERE batch_id = :bad_batch) AS events_staged;
-- The run succeeded and counts the failed batch.
SELECT run_id, census, status, batches_loaded, batches_failed, rows_loaded, error_message
FROM ptl.refresh_status LIMIT 1;

-- Rule: a failed batch is not tried again; the next run proceeds without
-- it, nothing more can be staged into it, and its loader sends the
-- delivery again in a new batch.
CALL ptl.daily_refresh('2025-06-10');
SELECT run_id, status, batches_loaded, batches_failed FROM ptl.refresh_status LIMIT 1;
SELECT status FROM ptl.batch WHERE batch_id = :bad_batch;
INSERT INTO ptl_stage.patient (batch_id, local_patient_id) VALUES (:bad_batch, 'P21');
DROP TRIGGER refuse_batch_events ON ptl.pathway_event;
SELECT ptl.open_batch('RZZ', 'PAS', 'RZZ01', 'day 70, sent again') AS resent_batch \gset
INSERT INTO ptl_stage.patient (local_patient_id, date_of_birth) VALUES ('P21', '1981-01-01');
INSERT INTO ptl_stage.pathway (local_patient_id, ppid, ppid_issuer, treatment_function, referral_received)
VALUES ('P21', 'RZZ-21', 'RZZ', '110', '2025-05-02');
INSERT INTO ptl_stage.pathway_event (ppid, ppid_issuer, event_ref, event_date, kind)
VALUES ('RZZ-21', 'RZZ', 'BAD1', '2025-05-02', 'referral');
SELECT status FROM ptl.close_batch(:resent_batch);
CALL ptl.daily_refresh('2025-06-10');
SELECT run_id, status, batches_loaded, batches_failed FROM ptl.refresh_status LIMIT 1;
SELECT ppid, days_waited FROM ptl.ptl WHERE ppid IN ('RZZ-20', 'RZZ-21') ORDER BY ppid;

-- Rule: ptl.fail_batch marks only a batch not yet loaded.
SELECT ptl.fail_batch(:good_batch, '22000', 'too late');
SELECT ptl.fail_batch(424242, '22000', 'no such batch');

-- Rule: an error that is not the batch's (here the disk) stops the run
-- instead: it is rolled back and failed at its load step, and the batch
-- stays ready for the next run, which loads it.
CREATE FUNCTION public.disk_full_on_load() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'disk full (simulated)' USING ERRCODE = 'disk_full'; END $$;
CREATE TRIGGER disk_full_on_load BEFORE INSERT ON ptl.patient
    FOR EACH STATEMENT EXECUTE FUNCTION public.disk_full_on_load();
SELECT ptl.open_batch('RZZ', 'PAS', 'RZZ01', 'day 71') AS day71_batch \gset
INSERT INTO ptl_stage.patient (local_patient_id, date_of_birth) VALUES ('P22', '1982-01-01');
SELECT status FROM ptl.close_batch(:day71_batch);
CALL ptl.daily_refresh('2025-06-11');
SELECT run_id, status, failed_step, error_sqlstate, batches_failed FROM ptl.refresh_run ORDER BY run_id DESC LIMIT 1;
SELECT status, load_error FROM ptl.batch WHERE batch_id = :day71_batch;
DROP TRIGGER disk_full_on_load ON ptl.patient;
CALL ptl.daily_refresh('2025-06-11');
SELECT run_id, status, batches_loaded, batches_failed FROM ptl.refresh_status LIMIT 1;
SELECT status FROM ptl.batch WHERE batch_id = :day71_batch;

-- Rule (operations as a real admin, not a superuser): a ptl_admin member's
-- daily refresh analyses ptl's tables through ptl.analyze_if_grown, as
-- their owner (a plain ANALYZE would be skipped with a warning, and the
-- validation planned on the statistics of near-empty clock tables), and
-- runs without JIT (row security costs its queries past jit_above_cost).
-- 1,200 new referrals are enough to make the clock tables outgrow theirs.
SELECT ptl.open_batch('RZZ', 'PAS', 'RZZ01', 'day 72, many') AS many_batch \gset
INSERT INTO ptl_stage.patient (local_patient_id, date_of_birth)
SELECT 'M' || i, '1970-01-01' FROM generate_series(1, 1200) i;
INSERT INTO ptl_stage.pathway (local_patient_id, ppid, ppid_issuer, treatment_function, referral_received)
SELECT 'M' || i, 'RZZ-M' || i, 'RZZ', '110', '2025-05-01' FROM generate_series(1, 1200) i;
INSERT INTO ptl_stage.pathway_event (ppid, ppid_issuer, event_ref, event_date, kind)
SELECT 'RZZ-M' || i, 'RZZ', 'E1', '2025-05-01', 'referral' FROM generate_series(1, 1200) i;
SELECT status FROM ptl.close_batch(:many_batch);
SELECT c.relname, c.reltuples < 1200 AS statistics_behind
FROM pg_class c WHERE c.oid IN ('ptl.rtt_pathway'::regclass, 'ptl.rtt_period'::regclass) ORDER BY 1;
CREATE FUNCTION public.show_jit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE NOTICE 'jit while loading: %', current_setting('jit'); RETURN NULL; END $$;
CREATE TRIGGER show_jit AFTER INSERT ON ptl.patient FOR EACH STATEMENT EXECUTE FUNCTION public.show_jit();
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_ops_admin;
RESET client_min_messages;
CREATE ROLE regress_ops_admin LOGIN IN ROLE ptl_admin;
SET ROLE regress_ops_admin;
SELECT rolsuper, pg_has_role('ptl_admin', 'MEMBER') AS admin,
       (SELECT relowner FROM pg_class WHERE oid = 'ptl.rtt_period'::regclass) = oid AS owns_tables
FROM pg_roles WHERE rolname = current_user;
CALL ptl.daily_refresh('2025-06-12');
RESET ROLE;
DROP TRIGGER show_jit ON ptl.patient;
SELECT c.relname, c.reltuples >= 1200 AS analysed
FROM pg_class c WHERE c.oid IN ('ptl.rtt_pathway'::regclass, 'ptl.rtt_period'::regclass) ORDER BY 1;
SELECT run_id, status, run_by, batches_loaded, pathways_computed FROM ptl.refresh_status LIMIT 1;
SELECT p.oid::regprocedure AS procedure, p.proconfig FROM pg_proc p WHERE p.oid = 'ptl.refresh(date, boolean)'::regprocedure;
DROP ROLE regress_ops_admin;

\c :home
DROP DATABASE ptl_ops_refresh;
