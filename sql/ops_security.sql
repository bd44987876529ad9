-- Access control, as each kind of user sees it.  Three trusts in one ICS;
-- a pathway transferred from RS1 to RS3.  Logins are connected with SET
-- SESSION AUTHORIZATION, which changes the session user as a new
-- connection would.  Own database: roles and policies see every row in it.
\pset null '(null)'
SELECT current_database() AS home \gset
CREATE DATABASE ptl_ops_security;
\c ptl_ops_security
SET client_min_messages = warning;
CREATE EXTENSION ptl;
RESET client_min_messages;
\set VERBOSITY terse

INSERT INTO ptl.organisation (org_code, name, org_kind) VALUES ('QSS', 'Test ICB', 'ics');
INSERT INTO ptl.organisation (org_code, name, parent_org_code) VALUES
    ('RS1', 'One Hospitals NHS Trust', 'QSS'), ('RS2', 'Two Hospitals NHS Trust', 'QSS'),
    ('RS3', 'Three Hospitals NHS Trust', 'QSS');
INSERT INTO ptl.batch (batch_id, org_code, source_system, status) VALUES
    (901, 'RS1', 'PAS', 'loaded'), (902, 'RS2', 'PAS', 'loaded'), (903, 'RS3', 'PAS', 'loaded');
INSERT INTO ptl.patient (patient_id, org_code, source_system, local_patient_id, nhs_number, family_name,
                         date_of_birth, batch_id) VALUES
    (1, 'RS1', 'PAS', 'H1', '9434765919', 'Smith', '1950-01-01', 901),
    (2, 'RS2', 'PAS', 'H2', '4857773457', 'Jones', '1960-01-01', 902),
    (3, 'RS1', 'PAS', 'H3', '9434765870', 'Brown', '1970-01-01', 901),
    (4, 'RS3', 'PAS', 'K3', '9434765870', 'Brown', '1970-01-01', 903);
INSERT INTO ptl.pathway (pathway_id, patient_id, provider_org, ppid, ppid_issuer, treatment_function,
                         referral_received, batch_id) VALUES
    (1, 1, 'RS1', 'ONE', 'RS1', '110', '2025-01-06', 901),
    (2, 2, 'RS2', 'TWO', 'RS2', '110', '2025-01-13', 902),
    (3, 3, 'RS1', 'MOVED', 'RS1', '110', '2025-01-02', 901),
    (4, 4, 'RS3', 'MOVED', 'RS1', '110', '2025-02-10', 903);
INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, ref_date, batch_id) VALUES
    (1, 1, 'E1', '2025-01-06', 'referral', NULL, NULL, 901),
    (1, 1, 'E2', '2025-02-03', 'decision_to_admit', '20', NULL, 901),
    (2, 2, 'E1', '2025-01-13', 'referral', NULL, NULL, 902),
    (3, 3, 'E1', '2025-01-02', 'referral', NULL, NULL, 901),
    (3, 3, 'E2', '2025-02-03', 'transfer_out', '21', NULL, 901),
    (4, 4, 'E1', '2025-02-10', 'transfer_in', '20', '2025-01-02', 903);
INSERT INTO ptl.waiting_list_entry (entry_id, pathway_id, patient_id, entry_ref, intended_management,
                                    clinical_priority, decision_to_admit, batch_id)
VALUES (1, 1, 1, 'W1', '1', 'P3', '2025-02-03', 901);
SELECT setval(pg_get_serial_sequence('ptl.' || t, c), 100)
FROM (VALUES ('patient', 'patient_id'), ('pathway', 'pathway_id'), ('waiting_list_entry', 'entry_id'),
             ('batch', 'batch_id')) v(t, c) \gset
CALL ptl.refresh('2025-03-31');

-- Logins, and the organisations they are mapped to.
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_rs1_reader, regress_rs1_clinician, regress_ics_analyst, regress_rs2_loader,
    regress_admin, regress_nobody, regress_rs3_reader;
RESET client_min_messages;
CREATE ROLE regress_rs1_reader LOGIN IN ROLE ptl_reader;
CREATE ROLE regress_rs1_clinician LOGIN IN ROLE ptl_reader, ptl_identifiable;
CREATE ROLE regress_rs3_reader LOGIN IN ROLE ptl_reader;
CREATE ROLE regress_ics_analyst LOGIN IN ROLE ptl_analyst;
CREATE ROLE regress_rs2_loader LOGIN IN ROLE ptl_loader;
CREATE ROLE regress_admin LOGIN IN ROLE ptl_admin;
CREATE ROLE regress_nobody LOGIN;
INSERT INTO ptl.user_organisation (role_name, org_code) VALUES
    ('regress_rs1_reader', 'RS1'), ('regress_rs1_clinician', 'RS1'), ('regress_rs3_reader', 'RS3'),
    ('regress_ics_analyst', 'QSS'), ('regress_rs2_loader', 'RS2');

-- A trust's reader: its own patients, and the record its patient was
-- transferred to at RS3; no identifiers (blank on the PTL, refused on the
-- patient table); nothing changed.
SET SESSION AUTHORIZATION regress_rs1_reader;
SELECT ptl.my_organisations(), ptl.sees_all_organisations(), ptl.may_identify();
SELECT provider_org, ppid, nhs_number, local_patient_id, days_waited, list_position FROM ptl.ptl ORDER BY 1, 2;
SELECT pathway_id, provider_org, ppid FROM ptl.pathway ORDER BY 1;
SELECT patient_id, org_code FROM ptl.patient ORDER BY 1;
SELECT nhs_number FROM ptl.patient;
SELECT * FROM ptl.patient;
SELECT provider_org, count(*) FROM ptl.census_snapshot GROUP BY 1 ORDER BY 1;
SELECT provider_org, treatment_function, list_size FROM ptl.ptl_headline ORDER BY 1, 2;
SELECT count(*) AS events FROM ptl.pathway_event;
SELECT role_name, org_code FROM ptl.user_organisation;
UPDATE ptl.waiting_list_entry SET clinical_priority = 'P2';
INSERT INTO ptl.user_organisation (role_name, org_code) VALUES ('regress_rs1_reader', 'QSS');
SELECT count(*) FROM ptl.audit_log;
SELECT count(*) FROM ptl.census_snapshot_default;
SELECT count(*) FROM ptl_stage.patient;
CALL ptl.refresh('2025-04-07');
SELECT ptl.census_snapshot_partition('2025-05-01');
RESET SESSION AUTHORIZATION;

-- The receiving trust sees its record and the sending record behind it.
SET SESSION AUTHORIZATION regress_rs3_reader;
SELECT pathway_id, provider_org, ppid FROM ptl.pathway ORDER BY 1;
SELECT provider_org, ppid FROM ptl.ptl ORDER BY 1;
RESET SESSION AUTHORIZATION;

-- The same trust's clinician also sees who the patients are.
SET SESSION AUTHORIZATION regress_rs1_clinician;
SELECT provider_org, ppid, nhs_number, local_patient_id FROM ptl.ptl ORDER BY 1, 2;
SELECT patient_id, nhs_number, family_name FROM ptl.patient ORDER BY 1;
RESET SESSION AUTHORIZATION;

-- The ICS analyst sees every trust, without identifiers, and runs a
-- validation campaign, but makes no clinical change.
SET SESSION AUTHORIZATION regress_ics_analyst;
SELECT ptl.sees_all_organisations(), ptl.may_identify();
SELECT provider_org, ppid, nhs_number FROM ptl.ptl ORDER BY 1, 2;
SELECT ptl.start_validation_campaign('all over 4 weeks', min_weeks => 4) AS campaign;
SELECT count(*) AS in_campaign FROM ptl.validation_campaign_pathway;
SELECT ptl.review_clinical_priority(1, 'P2', 'Dr Who');
DELETE FROM ptl.pathway_event;
RESET SESSION AUTHORIZATION;

-- A loader for RS2 stages RS2's extracts and loads them through ptl's
-- loading functions.  It writes no canonical table or load count itself,
-- reads no one's staged rows but through ptl.staged_rows, and touches no
-- other trust's batch.
SET SESSION AUTHORIZATION regress_rs2_loader;
SELECT ptl.open_batch('RS2', 'PAS', NULL, 'day 2') AS rs2_batch \gset
INSERT INTO ptl_stage.patient (local_patient_id, date_of_birth) VALUES ('H9', '1980-01-01');
INSERT INTO ptl_stage.pathway (local_patient_id, ppid, ppid_issuer, treatment_function, referral_received)
VALUES ('H9', 'NINE', 'RS2', '110', '2025-03-03');
INSERT INTO ptl_stage.pathway_event (ppid_issuer, ppid, event_ref, event_date, kind, rtt_status)
VALUES ('RS2', 'NINE', 'E1', '2025-03-03', 'referral', NULL), ('RS2', 'NINE', 'E2', '2025-03-20', 'decision_to_admit', '20');
INSERT INTO ptl_stage.waiting_list_entry (ppid_issuer, ppid, entry_ref, intended_management, clinical_priority,
                                          decision_to_admit)
VALUES ('RS2', 'NINE', 'W9', '1', 'P2', '2025-03-20');
SELECT * FROM ptl.staged_rows(:rs2_batch);
SELECT extract, rows_read, rows_loaded, rows_quarantined FROM ptl.load(:rs2_batch) WHERE rows_read > 0;
SELECT batch_id, extract, nothing_lost, counts_agree FROM ptl.load_summary ORDER BY 1, 2;
SELECT count(*) FROM ptl_stage.patient;
SELECT count(*) FROM ptl.pathway;
UPDATE ptl.batch SET status = 'ready';
UPDATE ptl.batch_extract SET rows_read = 0;
DELETE FROM ptl.rejected_row;
INSERT INTO ptl_stage.patient (batch_id, local_patient_id) VALUES (901, 'RS1 ROW');
SELECT ptl.open_batch('RS1', 'PAS', NULL, 'not mine');
SELECT ptl.load(901);
SELECT count(*) FROM ptl.ptl;
RESET SESSION AUTHORIZATION;

-- The administrator refreshes, changes a priority, and sees everything;
-- the change is audited under its name, and the log cannot be altered.
SET SESSION AUTHORIZATION regress_admin;
CALL ptl.refresh('2025-04-07');
SELECT ptl.review_clinical_priority(1, 'P2', 'Dr Who', '2025-04-07', 'deteriorated') > 0 AS reviewed;
UPDATE ptl.waiting_list_entry SET tci_date = '2025-05-01' WHERE entry_id = 1;
UPDATE ptl.pathway_event SET rtt_status = '30' WHERE pathway_id = 2 AND event_ref = 'E1';
SELECT changed_by, session_user_name, table_name, row_key, action, column_name, old_value, new_value
FROM ptl.audit_log ORDER BY audit_id;
UPDATE ptl.audit_log SET changed_by = 'someone else';
DELETE FROM ptl.audit_log;
SELECT count(*) AS patients FROM ptl.patient;
RESET SESSION AUTHORIZATION;

-- An entry cannot be forged in someone else's name or backdated: an
-- analyst (whose changes are audited, so it may write entries) signs any
-- entry it writes itself, now; a loader writes none.
SET SESSION AUTHORIZATION regress_rs2_loader;
INSERT INTO ptl.audit_log (changed_at, changed_by, table_name, row_key, action, column_name)
VALUES ('2000-01-01', 'regress_admin', 'patient', '{}', 'update', 'nhs_number');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_ics_analyst;
INSERT INTO ptl.audit_log (changed_at, changed_by, table_name, row_key, action, column_name)
VALUES ('2000-01-01', 'regress_admin', 'forged', '{}', 'update', 'nhs_number');
RESET SESSION AUTHORIZATION;
SELECT changed_by, changed_at > '2020-01-01' AS stamped_now FROM ptl.audit_log WHERE table_name = 'forged';

-- A login without a ptl role sees nothing at all.
SET SESSION AUTHORIZATION regress_nobody;
SELECT count(*) FROM ptl.ptl;
SELECT count(*) FROM ptl.pathway;
RESET SESSION AUTHORIZATION;

-- Every table holding patients' data has row-level security; the tables
-- without it hold reference data, settings or organisation-level records.
SELECT c.relname, c.relrowsecurity
FROM pg_class c WHERE c.relnamespace = 'ptl'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND NOT c.relrowsecurity ORDER BY 1;

-- Every view but three runs with the caller's rights.
SELECT c.relname FROM pg_class c
WHERE c.relnamespace = 'ptl'::regnamespace AND c.relkind = 'v'
  AND NOT coalesce('security_invoker=true' = ANY (c.reloptions), false) ORDER BY 1;

-- SECURITY DEFINER functions pin a search_path that starts at pg_catalog
-- and ends at pg_temp, and readers may not call them (the loading
-- functions serve loaders, and administrators through ptl_loader;
-- analyze_if_grown whoever bulk-writes; the staging trigger no one).
SELECT p.oid::regprocedure, p.proconfig,
       has_function_privilege('regress_rs1_reader', p.oid, 'EXECUTE') AS reader_may_call,
       has_function_privilege('regress_admin', p.oid, 'EXECUTE') AS admin_may_call
FROM pg_proc p WHERE p.pronamespace IN ('ptl'::regnamespace, 'ptl_internal'::regnamespace) AND p.prosecdef
ORDER BY p.oid::regprocedure::text;  -- (by name: ORDER BY 1 sorted regprocedure by OID, that is by install order)

-- Search-path hijacking: an administrator's own schema, first on its path,
-- holds functions and a table that shadow the names the definer functions
-- use.  They are not called.
CREATE SCHEMA regress_evil AUTHORIZATION regress_admin;
SET SESSION AUTHORIZATION regress_admin;
CREATE FUNCTION regress_evil.to_char(date, text) RETURNS text LANGUAGE plpgsql AS
    $$BEGIN RAISE EXCEPTION 'hijacked to_char'; END$$;
CREATE FUNCTION regress_evil.date_trunc(text, date) RETURNS timestamp LANGUAGE plpgsql AS
    $$BEGIN RAISE EXCEPTION 'hijacked date_trunc'; END$$;
CREATE FUNCTION regress_evil.format(text, text) RETURNS text LANGUAGE plpgsql AS
    $$BEGIN RAISE EXCEPTION 'hijacked format'; END$$;
CREATE TABLE regress_evil.ops_setting (snapshot_retention interval);
INSERT INTO regress_evil.ops_setting VALUES ('1 day');
CREATE TEMP TABLE census_snapshot_default (census_date date);
SET search_path = regress_evil, pg_temp, ptl, public;
SELECT ptl.census_snapshot_partition('2025-06-15');
SELECT ptl.apply_snapshot_retention('2025-06-15') AS dropped_with_three_years;
-- The definer's ANALYZE is for ptl's own tables only.
SELECT ptl.analyze_if_grown('regress_evil.ops_setting');
-- ptl's internal functions are not for anyone to call.
SELECT ptl_internal.load_mark_repeats('patient', '{local_patient_id}', 'x');
SELECT ptl_internal.row_filter_sql('organisation', 'org_code', false);
RESET search_path;
RESET SESSION AUTHORIZATION;
-- Even called by their owner, a hostile table or column name is quoted,
-- never run.
SELECT ptl_internal.row_filter_sql('organisation', 'org_code) OR (true', false);
SELECT ptl_internal.load_mark_repeats('patient; DROP TABLE ptl.patient', '{local_patient_id}', 'x');
SELECT ptl_internal.load_mark_repeats('patient', '{"local_patient_id) FROM ptl.patient; --"}', 'x');
SELECT count(*) > 0 AS patient_table_intact FROM ptl.patient;

\c :home
DROP DATABASE ptl_ops_security;
DROP ROLE regress_rs1_reader, regress_rs1_clinician, regress_ics_analyst, regress_rs2_loader,
    regress_admin, regress_nobody, regress_rs3_reader;
