-- Attacks on trust separation, replayed as the login roles an ICS would
-- map to one trust each (docs/security.md).  Each block is one way a
-- hostile user, or data shaped by other hands, got past 0.3.0, and what
-- ptl does now.  test/pgtap/security_attacks.sql runs the same kinds of
-- probe against every relation and function on a generated ICS.
\pset null '(null)'
SELECT current_database() AS home \gset
CREATE DATABASE ptl_ops_attacks;
\c ptl_ops_attacks
SET client_min_messages = warning;
CREATE EXTENSION ptl;
RESET client_min_messages;
\set VERBOSITY terse

-- Three trusts; RS1 transferred a patient to RS3.
INSERT INTO ptl.organisation (org_code, name, org_kind) VALUES ('QSS', 'Test ICB', 'ics');
INSERT INTO ptl.organisation (org_code, name, parent_org_code) VALUES
    ('RS1', 'One Hospitals NHS Trust', 'QSS'), ('RS2', 'Two Hospitals NHS Trust', 'QSS'),
    ('RS3', 'Three Hospitals NHS Trust', 'QSS');
INSERT INTO ptl.site (site_code, org_code, name) VALUES ('RS101', 'RS1', 'One General'), ('RS201', 'RS2', 'Two General');
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_rs1_reader, regress_rs2_loader, regress_rs1_loader, regress_rs1_analyst, regress_ics_reader;
RESET client_min_messages;
CREATE ROLE regress_rs1_reader LOGIN IN ROLE ptl_reader;
CREATE ROLE regress_ics_reader LOGIN IN ROLE ptl_reader;
CREATE ROLE regress_rs1_analyst LOGIN IN ROLE ptl_analyst;
CREATE ROLE regress_rs1_loader LOGIN IN ROLE ptl_loader;
CREATE ROLE regress_rs2_loader LOGIN IN ROLE ptl_loader;
INSERT INTO ptl.user_organisation (role_name, org_code) VALUES
    ('regress_rs1_reader', 'RS1'), ('regress_ics_reader', 'QSS'), ('regress_rs1_analyst', 'RS1'),
    ('regress_rs1_loader', 'RS1'), ('regress_rs2_loader', 'RS2');

-- Each trust's loader loads its own extract.
SET SESSION AUTHORIZATION regress_rs1_loader;
SELECT ptl.open_batch('RS1', 'PAS', 'RS101') AS rs1 \gset
INSERT INTO ptl_stage.patient (local_patient_id, nhs_number, family_name, date_of_birth) VALUES
    ('H1', '9434765919', 'Smith', '1950-01-01'), ('H3', '9434765870', 'Brown', '1970-01-01');
INSERT INTO ptl_stage.pathway (local_patient_id, ppid, ppid_issuer, treatment_function, referral_received) VALUES
    ('H1', 'ONE', 'RS1', '110', '2025-01-06'), ('H3', 'MOVED', 'RS1', '110', '2025-01-02');
INSERT INTO ptl_stage.pathway_event (ppid_issuer, ppid, event_ref, event_date, kind, rtt_status, ref_date) VALUES
    ('RS1', 'ONE', 'E1', '2025-01-06', 'referral', NULL, NULL),
    ('RS1', 'ONE', 'E2', '2025-02-03', 'decision_to_admit', '20', NULL),
    ('RS1', 'MOVED', 'E1', '2025-01-02', 'referral', NULL, NULL),
    ('RS1', 'MOVED', 'E2', '2025-02-03', 'transfer_out', '21', NULL);
SELECT extract, rows_read, rows_loaded FROM ptl.load(:rs1) WHERE rows_read > 0;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_rs2_loader;
SELECT ptl.open_batch('RS2', 'PAS', 'RS201') AS rs2 \gset
INSERT INTO ptl_stage.patient (local_patient_id, nhs_number, family_name, date_of_birth) VALUES
    ('H2', '4857773457', 'Jones', '1960-01-01');
INSERT INTO ptl_stage.pathway (local_patient_id, ppid, ppid_issuer, treatment_function, referral_received) VALUES
    ('H2', 'TWO', 'RS2', '110', '2025-01-13');
INSERT INTO ptl_stage.pathway_event (ppid_issuer, ppid, event_ref, event_date, kind) VALUES
    ('RS2', 'TWO', 'E1', '2025-01-13', 'referral');
SELECT extract, rows_read, rows_loaded FROM ptl.load(:rs2) WHERE rows_read > 0;
RESET SESSION AUTHORIZATION;
-- RS3 received the transferred patient (loaded by an administrator here).
SELECT ptl.open_batch('RS3', 'PAS') AS rs3 \gset
INSERT INTO ptl_stage.patient (local_patient_id, nhs_number, family_name, date_of_birth) VALUES
    ('K3', '9434765870', 'Brown', '1970-01-01');
INSERT INTO ptl_stage.pathway (local_patient_id, ppid, ppid_issuer, treatment_function, referral_received) VALUES
    ('K3', 'MOVED', 'RS1', '110', '2025-02-10');
INSERT INTO ptl_stage.pathway_event (ppid_issuer, ppid, event_ref, event_date, kind, rtt_status, ref_date) VALUES
    ('RS1', 'MOVED', 'E1', '2025-02-10', 'transfer_in', '20', '2025-01-02');
SELECT count(*) FROM ptl.load(:rs3);
CALL ptl.refresh('2025-03-31');

-- 1. The PTL view ran with its owner's rights and was no security barrier,
-- so a condition a reader wrote ran before the view's own filter: a cast
-- quoted another trust's PPID in its error, a cheap function saw every
-- trust's rows.  Now the reader's conditions see only its rows.
CREATE SCHEMA regress_attacker AUTHORIZATION regress_rs1_reader;
SET SESSION AUTHORIZATION regress_rs1_reader;
SELECT count(*) FROM ptl.ptl WHERE ppid::int = 0 AND provider_org = 'RS2';
CREATE FUNCTION regress_attacker.leak(v text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE COST 0.0000001 AS $$
BEGIN
    PERFORM set_config('attack.seen', coalesce(current_setting('attack.seen', true), '') || ' ' || v, false);
    RETURN true;
END $$;
SELECT count(*) AS rows_read FROM ptl.ptl WHERE regress_attacker.leak(provider_org || '/' || ppid);
SELECT current_setting('attack.seen') AS what_the_function_saw;
SELECT provider_org, ppid FROM ptl.ptl ORDER BY 1, 2;
RESET SESSION AUTHORIZATION;

-- 2. Identifiers reached readers: validation details quoted NHS numbers
-- and hospital numbers; how often each name occurs was readable.  Now
-- details name no identifier, and the name frequencies are identifiable.
SET SESSION AUTHORIZATION regress_ics_reader;
SELECT rule_id, detail FROM ptl.validation_issue ORDER BY 1, 2;
SELECT count(*) FROM ptl.link_term_frequency;
RESET SESSION AUTHORIZATION;

-- 3. Staging had no row security: a loader read and deleted another
-- trust's staged rows.  Now a loader may only insert into staging, into
-- open batches of its own organisations, and reads its own counts through
-- ptl.staged_rows.
SET SESSION AUTHORIZATION regress_rs1_loader;
SELECT ptl.open_batch('RS1', 'PAS', 'RS101', 'day 2') AS rs1_day2 \gset
INSERT INTO ptl_stage.patient (local_patient_id, family_name) VALUES ('H4', 'Green');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_rs2_loader;
SELECT count(*) FROM ptl_stage.patient;
DELETE FROM ptl_stage.patient;
SELECT * FROM ptl.staged_rows(:rs1_day2);
SELECT ptl.unstage(:rs1_day2);
INSERT INTO ptl_stage.patient (batch_id, local_patient_id, family_name) VALUES (:rs1_day2, 'H5', 'Forged');
RESET SESSION AUTHORIZATION;
SELECT extract, rows_staged FROM ptl.staged_rows(:rs1_day2) WHERE rows_staged > 0;

-- 4. Through a transfer a loader could update another trust's patients,
-- pathways, events and entries.  Now loaders write no canonical table (the
-- refusal names the first object PostgreSQL checks, the row filter's), and
-- an analyst's writes reach only its own organisations' records even where
-- a transfer lets it see another's.
SET SESSION AUTHORIZATION regress_rs1_loader;
UPDATE ptl.patient SET family_name = 'Changed' WHERE local_patient_id = 'K3';
UPDATE ptl.pathway_event SET rtt_status = '30';
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_rs1_analyst;
SELECT provider_org, ppid FROM ptl.pathway ORDER BY 1;
SELECT ptl.start_validation_campaign('RS1 over 1 week', min_weeks => 1) AS campaign \gset
SELECT v.provider_org FROM ptl.validation_campaign v;
SELECT p.provider_org, p.ppid FROM ptl.validation_campaign_pathway c JOIN ptl.pathway p USING (pathway_id) ORDER BY 1, 2;
INSERT INTO ptl.validation_campaign_pathway (campaign_id, pathway_id, days_waited)
SELECT :campaign, pathway_id, 1 FROM ptl.pathway WHERE provider_org = 'RS3';
INSERT INTO ptl.validation_campaign (name, census, min_weeks, not_validated_weeks, provider_org)
VALUES ('for RS2', '2025-03-31', 1, 1, 'RS2');
RESET SESSION AUTHORIZATION;
-- A patient's identifiers changed by a later load are audited, under the
-- loader's login.
SET SESSION AUTHORIZATION regress_rs1_loader;
SELECT ptl.open_batch('RS1', 'PAS', 'RS101', 'day 3') AS rs1_day3 \gset
INSERT INTO ptl_stage.patient (local_patient_id, nhs_number, family_name, date_of_birth) VALUES
    ('H1', '9434765919', 'Smith-Jones', '1950-01-01');
SELECT extract, rows_read, rows_updated FROM ptl.load(:rs1_day3) WHERE rows_read > 0;
RESET SESSION AUTHORIZATION;
SELECT changed_by, table_name, column_name, old_value, new_value FROM ptl.audit_log WHERE table_name = 'patient';

-- 6. A loader could reset a batch to ready (failing every trust's next
-- daily run), delete quarantined rows and rewrite the counts, and the
-- "nothing lost" check could not fail: one count was the remainder.  Now
-- loaders write none of it, and every count is measured.
SET SESSION AUTHORIZATION regress_rs2_loader;
UPDATE ptl.batch SET status = 'ready' WHERE batch_id = :rs2;
DELETE FROM ptl.rejected_row;
UPDATE ptl.batch_extract SET rows_quarantined = 0;
SELECT ptl.close_batch(:rs1_day2);
RESET SESSION AUTHORIZATION;
-- Even its owner cannot make the counts disagree with each other, and a
-- consistent forgery disagrees with the rows still held.
UPDATE ptl.batch_extract SET rows_quarantined = rows_quarantined + 1 WHERE batch_id = :rs1 AND extract = 'patient';
UPDATE ptl.batch_extract SET rows_quarantined = rows_quarantined + 1, rows_read = rows_read + 1
WHERE batch_id = :rs1 AND extract = 'patient';
SELECT batch_id, extract, nothing_lost, counts_agree FROM ptl.load_summary WHERE batch_id = :rs1 ORDER BY 2;

-- 7. One extract staged twice in a batch made ptl.load fail ("ON CONFLICT
-- DO UPDATE command cannot affect row a second time").  Now the second
-- file's records are numbered after the first's and every repeat but the
-- last is quarantined as a duplicate.
SET SESSION AUTHORIZATION regress_rs2_loader;
SELECT ptl.open_batch('RS2', 'PAS', 'RS201', 'twice') AS twice \gset
SELECT * FROM ptl.stage_extract(:twice, 'patient',
    convert_to(E'local_patient_id,family_name,date_of_birth\nH2,Jones,1960-01-01\nH6,Black,1980-05-05\n', 'UTF8'));
SELECT * FROM ptl.stage_extract(:twice, 'patient',
    convert_to(E'local_patient_id,family_name,date_of_birth\nH2,Jones,1960-01-01\nH6,Black,1980-05-05\n', 'UTF8'));
SELECT extract, rows_read, rows_loaded, rows_updated, rows_quarantined FROM ptl.load(:twice) WHERE rows_read > 0;
SELECT row_in_extract, reason, message FROM ptl.rejected_row WHERE batch_id = :twice ORDER BY 1;
RESET SESSION AUTHORIZATION;

-- 12. Readers read every trust's advice and guidance requests, and the
-- refresh log's error texts (which may quote a value).  Now advice requests
-- are their provider's, and error texts are kept back from plain readers.
INSERT INTO ptl.advice_request (provider_org, treatment_function, requested_on, outcome)
VALUES ('RS1', '110', '2025-03-01', 'pending'), ('RS2', '110', '2025-03-02', 'pending');
INSERT INTO ptl.refresh_run (census, full_refresh, started_at, status, failed_step, error_message)
VALUES ('2025-03-30', false, '2025-03-30 05:30', 'failed', 'load', 'duplicate key value violates unique constraint: (local_patient_id)=(H2)');
SET SESSION AUTHORIZATION regress_rs1_reader;
SELECT provider_org, requested_on FROM ptl.advice_request;
SELECT status, failed_step FROM ptl.refresh_run WHERE status = 'failed';
SELECT error_message FROM ptl.refresh_run;
RESET SESSION AUTHORIZATION;

-- The security model holds: nothing in the catalogue differs from it.
SELECT count(*) AS departures_from_the_security_model FROM ptl.access_policy_violations();

\c :home
DROP DATABASE ptl_ops_attacks;
DROP ROLE regress_rs1_reader, regress_rs2_loader, regress_rs1_loader, regress_rs1_analyst, regress_ics_reader;
