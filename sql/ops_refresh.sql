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

\c :home
DROP DATABASE ptl_ops_refresh;
