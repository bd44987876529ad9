-- Loading with quarantine: a worked example.
-- A site sends four extracts (patients, pathways, events, waiting list) as
-- CSV with every column as text.  ptl.load() loads the good rows and puts
-- every bad row in ptl.rejected_row with the column, SQLSTATE and a reason.
\pset null '(null)'
SET datestyle = 'ISO, YMD';

-- Reference data the extracts point at.
INSERT INTO ptl.organisation (org_code, name) VALUES ('RZZ', 'Test Hospitals NHS Trust');
INSERT INTO ptl.site (site_code, org_code, name) VALUES ('RZZ01', 'RZZ', 'Test General Hospital');
INSERT INTO ptl.commissioner (commissioner_code, name) VALUES ('00T', 'Test Sub-ICB location');

-- An unknown organisation cannot open a batch.
SELECT ptl.open_batch('NOPE', 'PAS');

-- Open a batch; COPY then needs no batch column.
SELECT ptl.open_batch('RZZ', 'PAS', 'RZZ01', 'day 1') AS batch \gset

COPY ptl_stage.patient (local_patient_id, nhs_number, given_name, family_name, date_of_birth,
                        date_of_death, sex, postcode, address_line_1, ethnic_category, lsoa_code,
                        gp_practice_code, commissioner_code) FROM stdin WITH (FORMAT csv);
P1,9434765919,Ann,Smith,1950-03-01,,2,ls1 4ap,1 High Street,A,E01000001,B82001,00T
P2,485 777 3457,Bob,Jones,02/04/1961,,1,LS2 9JT,2 Low Road,B,,,00T
P3,485 777 3456,Cat,Brown,1970-05-05,,2,,3 Mill Lane,C,,,
P4,,Dan,Green,1980-06-06,,X,,,,,,
P5,4000000020,Eve,White,1990-02-30,,2,,,,,,
P6,4000000071,Fay,Black,2099-01-01,,2,,,,,,
P7,4000000071,Gus,Grey,1960-01-01,,M,,,,,,
P8,,Hal,Hill,1960-01-01,,1,,,,,,ZZZ
,,No,Identifier,1960-01-01,,1,,,,,,
P9,,Ivy,Old,1960-01-01,,2,,,,,,
P9,,Ivy,Young,1961-01-01,,2,,,,,,
\.

COPY ptl_stage.pathway (local_patient_id, ppid, ppid_issuer, ubrn, site_code, treatment_function,
                        referral_priority, referral_received, commissioner_code, consultant_code)
    FROM stdin WITH (FORMAT csv);
P1,RZZ-0001,RZZ,000000000001,,110,1,2025-01-06,00T,C1
P2,RZZ-0002,RZZ,,RZZ01,130,2,2024-11-25,00T,C2
P3,RZZ-0003,RZZ,,,502,3,2024-12-02,,
P4,RZZ-0004,RZZ,,,999,1,2025-01-06,,
P5,RZZ-0005,RZZ,,,110,1,2025-01-06,,
P9,RZZ-0009,RZZ,,,100,4,2025-01-06,,
P1,RZZ-0010,RZZ,12345,,100,1,2025-01-06,,
P1,RZZ-0011,RZZ,,,100,1,2031-01-06,,
UNKNOWN,RZZ-0012,RZZ,,,100,1,2025-01-06,,
P1,RZZ-0013,RZZ,,NOSITE,100,1,2025-01-06,,
\.

COPY ptl_stage.pathway_event (ppid_issuer, ppid, event_ref, event_date, kind, rtt_status, ref_date,
                              site_code, treatment_function) FROM stdin WITH (FORMAT csv);
RZZ,RZZ-0001,E1,2025-01-06,referral,,,,
RZZ,RZZ-0001,E2,2025-02-03,outpatient,10,,,110
RZZ,RZZ-0001,E3,2025-02-03,decision_to_admit,20,,,110
RZZ,RZZ-0002,E1,2024-11-25,referral,,,,
RZZ,RZZ-0002,E2,2025-02-30,outpatient,20,,,
RZZ,RZZ-0002,E3,2025-03-03,outpatient,13,,,
RZZ,RZZ-0002,E4,2025-03-03,appointment,20,,,
RZZ,RZZ-0002,E5,2025-03-10,tci_offer,20,,,
RZZ,RZZ-0004,E1,2025-01-06,referral,,,,
RZZ,RZZ-9999,E1,2025-01-06,referral,,,,
RZZ,RZZ-0003,E1,2024-12-02,referral,,,,
RZZ,RZZ-0003,E1,2024-12-03,referral,,,,
\.

COPY ptl_stage.waiting_list_entry (ppid_issuer, ppid, entry_ref, procedure_code,
                                   procedure_description, intended_management, clinical_priority,
                                   decision_to_admit, expected_duration_minutes, consultant_code,
                                   tci_date, removed_date, removal_reason, site_code)
    FROM stdin WITH (FORMAT csv);
RZZ,RZZ-0001,W1,W37.1,Primary total hip replacement,1,P3,2025-02-03,120,C1,,,,
RZZ,RZZ-0002,W1,C71.2,Phacoemulsification,2,P7,2025-02-03,30,C2,,,,
RZZ,RZZ-0002,W2,C71.2,Phacoemulsification,2,P1,2025-02-03,30,C2,,,,
RZZ,RZZ-0002,W3,C71,Phacoemulsification,2,P4,2025-02-03,thirty,C2,,,,
RZZ,RZZ-0002,W4,C71,Phacoemulsification,2,P4,2025-02-03,3000,C2,,,,
RZZ,RZZ-0002,W5,C71,Phacoemulsification,2,P4,2025-02-03,30,C2,,2025-03-01,,
RZZ,RZZ-0002,W6,C71,Phacoemulsification,7,P4,2025-02-03,30,C2,,,,
RZZ,RZZ-0002,W7,XYZ,Phacoemulsification,2,P4,2025-02-03,30,C2,,,,
\.

-- One call loads the batch.  Per extract: read = loaded + updated + quarantined.
SELECT extract, rows_read, rows_loaded, rows_updated, rows_unchanged, rows_quarantined,
       rows_with_warnings
FROM ptl.load(:batch);

-- Every quarantined row, with the column, the value, the reason and a message.
SELECT extract, row_in_extract AS row, column_name, value, reason, sqlstate, message
FROM ptl.rejected_row WHERE batch_id = :batch
ORDER BY array_position('{patient,pathway,pathway_event,waiting_list_entry}'::text[], extract), row_in_extract;

-- The raw row is kept whole.
SELECT raw FROM ptl.rejected_row
WHERE batch_id = :batch AND extract = 'patient' AND row_in_extract = 5;

-- An invalid NHS number does not cost the patient their place: the record
-- loads without it, keeps the number as recorded, and a warning is logged.
-- So does an invalid or implausible date of birth (P5, P6): the patient is
-- known by the hospital number, and their pathways stay on the list.
-- (sql/load_dates.sql shows every date rule.)
SELECT local_patient_id, nhs_number, nhs_number_as_recorded, date_of_birth, postcode
FROM ptl.patient WHERE batch_id = :batch ORDER BY local_patient_id;
SELECT extract, row_in_extract, column_name, value, reason, sqlstate, message
FROM ptl.load_warning WHERE batch_id = :batch
ORDER BY array_position('{patient,pathway,pathway_event,waiting_list_entry}'::text[], extract), row_in_extract;

-- What loaded, and the referral priority codes mapped to names.
SELECT ppid, treatment_function, referral_priority, referral_received, site_code
FROM ptl.pathway WHERE batch_id = :batch ORDER BY ppid;
SELECT p.ppid, e.event_ref, e.event_date, e.kind, e.rtt_status
FROM ptl.pathway_event e JOIN ptl.pathway p USING (pathway_id)
WHERE e.batch_id = :batch ORDER BY p.ppid, e.event_ref;
SELECT entry_ref, procedure_code, clinical_priority, decision_to_admit, expected_duration_minutes
FROM ptl.waiting_list_entry WHERE batch_id = :batch ORDER BY entry_ref;

-- A batch loads once (55000, object not in prerequisite state).
\set VERBOSITY sqlstate
SELECT ptl.load(:batch);
\set VERBOSITY default

-- The summary views a data manager reads.
SELECT extract, rows_read, rows_loaded, rows_quarantined, nothing_lost
FROM ptl.load_summary WHERE batch_id = :batch ORDER BY extract;
SELECT extract, reason, column_name, rows_quarantined FROM ptl.quarantine_summary
WHERE batch_id = :batch ORDER BY extract, reason, column_name;

-- Re-sending the same extract in a new batch creates no duplicates: the
-- rows count as updated, and those identical to what is held as unchanged
-- (nothing is written for them); P2's new family name is a real update.
SELECT ptl.open_batch('RZZ', 'PAS', 'RZZ01', 'day 1, resent') AS batch2 \gset
COPY ptl_stage.patient (local_patient_id, nhs_number, given_name, family_name, date_of_birth,
                        date_of_death, sex, postcode, address_line_1, ethnic_category, lsoa_code,
                        gp_practice_code, commissioner_code) FROM stdin WITH (FORMAT csv);
P1,9434765919,Ann,Smith,1950-03-01,,2,ls1 4ap,1 High Street,A,E01000001,B82001,00T
P2,485 777 3457,Bob,Jones-Smith,02/04/1961,,1,LS2 9JT,2 Low Road,B,,,00T
\.
COPY ptl_stage.pathway_event (ppid_issuer, ppid, event_ref, event_date, kind, rtt_status)
    FROM stdin WITH (FORMAT csv);
RZZ,RZZ-0001,E1,2025-01-06,referral,
RZZ,RZZ-0001,E2,2025-02-03,outpatient,10
\.
-- The source now files pathway RZZ-0002 under patient P1: its events follow.
COPY ptl_stage.pathway (local_patient_id, ppid, ppid_issuer, ubrn, site_code, treatment_function,
                        referral_priority, referral_received, commissioner_code, consultant_code)
    FROM stdin WITH (FORMAT csv);
P1,RZZ-0002,RZZ,,RZZ01,130,2,2024-11-25,00T,C2
\.
SELECT extract, rows_read, rows_loaded, rows_updated, rows_unchanged, rows_quarantined
FROM ptl.load(:batch2);
SELECT p.ppid, pt.local_patient_id AS pathway_patient, ept.local_patient_id AS event_patient
FROM ptl.pathway p
JOIN ptl.patient pt ON pt.patient_id = p.patient_id
JOIN ptl.pathway_event e ON e.pathway_id = p.pathway_id
JOIN ptl.patient ept ON ept.patient_id = e.patient_id
WHERE p.ppid = 'RZZ-0002';
SELECT count(*) AS patients, count(DISTINCT local_patient_id) AS distinct_patients
FROM ptl.patient WHERE org_code = 'RZZ';
SELECT family_name, postcode FROM ptl.patient WHERE local_patient_id = 'P2';
SELECT count(*) AS events FROM ptl.pathway_event e JOIN ptl.pathway p USING (pathway_id)
WHERE p.ppid = 'RZZ-0001';

-- A pathway row for a patient quarantined earlier in the same batch is
-- quarantined with parent_rejected, naming the patient row (a patient row
-- is quarantined only when it cannot be identified: here a hospital number
-- with a space in it).
SELECT ptl.open_batch('RZZ', 'PAS', NULL, 'parent rejected') AS batch3 \gset
INSERT INTO ptl_stage.patient (local_patient_id, sex) VALUES ('Q 1', 'male');
INSERT INTO ptl_stage.pathway (local_patient_id, ppid, ppid_issuer, treatment_function, referral_received)
VALUES ('Q 1', 'RZZ-Q1', 'RZZ', '100', '2025-01-01');
INSERT INTO ptl_stage.pathway_event (ppid_issuer, ppid, event_ref, event_date, kind)
VALUES ('RZZ', 'RZZ-Q1', 'E1', '2025-01-01', 'referral');
SELECT extract, rows_read, rows_loaded, rows_quarantined FROM ptl.load(:batch3);
SELECT extract, reason, message FROM ptl.rejected_row WHERE batch_id = :batch3 ORDER BY rejected_id;

-- The unknown commissioner ZZZ and treatment function 999 became
-- placeholders; the reference data resolves them (here by hand).  V32 lists
-- a pathway only while a placeholder it loaded with is unresolved.
SELECT commissioner_code, name, placeholder FROM ptl.commissioner WHERE placeholder;
SELECT tfc, name, rtt_line, placeholder FROM ptl.treatment_function WHERE placeholder;
UPDATE ptl.commissioner SET name = 'Late-registered commissioner', placeholder = false
WHERE commissioner_code = 'ZZZ';
-- Once the cause is mended, quarantined rows are retried as delivered: the
-- rows refused for a code go back to staging in a new batch of the same
-- source; still wrong, they are quarantined again, in the new batch.
SELECT ptl.retry_rejected(:batch, '{invalid_code}') AS batch4 \gset
SELECT extract, rows_read, rows_loaded, rows_quarantined FROM ptl.load(:batch4);
SELECT extract, reason, column_name, rows_quarantined, rows_outstanding
FROM ptl.quarantine_summary WHERE batch_id = :batch AND reason = 'invalid_code' ORDER BY 1, 3;

-- Clean up: this database is shared with the other tests.
DELETE FROM ptl.waiting_list_entry;
DELETE FROM ptl.pathway_event;
DELETE FROM ptl.pathway;
DELETE FROM ptl.patient;
DELETE FROM ptl.load_warning;
DELETE FROM ptl.batch_extract;
DELETE FROM ptl.rejected_row;
DELETE FROM ptl.batch;
DELETE FROM ptl.commissioner;
DELETE FROM ptl.treatment_function WHERE placeholder;
DELETE FROM ptl.site;
DELETE FROM ptl.organisation;
-- (deleting the rows marked their pathways for the next refresh)
DELETE FROM ptl.rtt_dirty_pathway d WHERE NOT EXISTS (SELECT 1 FROM ptl.pathway p WHERE p.pathway_id = d.pathway_id);
