-- Dates in extracts: a worked example of every date rule of the loader.
--
-- Rule D1 (form): a date is written YYYY-MM-DD or DD/MM/YYYY, nothing else.
--   PostgreSQL's own date input also takes words (today, tomorrow,
--   yesterday, now, epoch, allballs, infinity, -infinity), Julian days
--   (J2451545), BC dates, times and other layouts; an extract may send none
--   of them.  reason invalid_date, SQLSTATE 22007.
-- Rule D2 (real date): in that form, a date that exists (not 30 February).
--   reason invalid_date, SQLSTATE 22008 (the date parser's own verdict).
-- Rule D3 (plausible window): each date column states in ptl.extract_column
--   its earliest plausible date and its latest, as days after the day the
--   batch was opened.  reason implausible_date, SQLSTATE 23514.
-- Rule D4 (death after birth): a date of death before the date of birth.
--   reason inconsistent, SQLSTATE 23514.
-- Whether a broken date quarantines the row or the row loads without it (a
-- warning in ptl.load_warning) is the column's when_invalid: a date that
-- places the pathway or event quarantines; one that does not (birth, death,
-- TCI) is left out, so that no patient falls off the list.
\pset null '(null)'
SET datestyle = 'ISO, YMD';

-- The specification a site's data team reads (the PAS extracts'; the care
-- feeds' dates are in load_care_feeds).
SELECT extract, column_name, required, when_invalid, earliest_date, latest_days_after_opening
FROM ptl.extract_column WHERE value_type = 'date'::regtype
  AND extract IN (SELECT f.extract FROM ptl.feed f WHERE f.capability = 'pas')
ORDER BY array_position('{patient,pathway,pathway_event,waiting_list_entry}'::text[], extract), ordinal;
SELECT DISTINCT pattern, pattern_meaning FROM ptl.extract_column WHERE value_type = 'date'::regtype;

INSERT INTO ptl.organisation (org_code, name) VALUES ('RDT', 'Date Test Hospitals NHS Trust');
INSERT INTO ptl.site (site_code, org_code, name) VALUES ('RDT01', 'RDT', 'Date Test General');

-- The batch is opened on 31 March 2025 (set here so that the example does
-- not depend on the day it runs): the windows are counted from that day.
SELECT ptl.open_batch('RDT', 'PAS', 'RDT01', 'dates') AS batch \gset
UPDATE ptl.batch SET opened_at = '2025-03-31 12:00' WHERE batch_id = :batch;

-- Patients: each row's date of birth tries one rule.  Every patient loads;
-- a date of birth that breaks a rule is left out, with a warning.
COPY ptl_stage.patient (local_patient_id, date_of_birth, date_of_death) FROM stdin WITH (FORMAT csv);
D01,1960-01-31,
D02,31/01/1960,
D03, 1960-01-31 ,
D04,today,
D05,tomorrow,
D06,yesterday,
D07,now,
D08,epoch,
D09,allballs,
D10,J2451545,
D11,infinity,
D12,-infinity,
D13,1960-01-31 BC,
D14,1/3/1960,
D15,1960-01-31 10:00,
D16,19600131,
D17,31-01-1960,
D18,Jan 31 1960,
D19,1960-02-30,
D20,31/13/1960,
D21,0001-01-01,
D22,1879-12-31,
D23,1880-01-01,
D24,2025-03-31,
D25,2025-04-01,
D26,5874897-12-31,
D27,1960-01-31,2025-03-31
D28,1960-01-31,2025-04-01
D29,1960-01-31,1959-12-31
D30,1960-01-31,infinity
\.
SELECT extract, rows_read, rows_loaded, rows_quarantined, rows_with_warnings
FROM ptl.load(:batch) WHERE extract = 'patient';
SELECT local_patient_id, date_of_birth, date_of_death FROM ptl.patient WHERE batch_id = :batch
ORDER BY local_patient_id;
SELECT row_in_extract AS row, column_name, value, reason, sqlstate, message
FROM ptl.load_warning WHERE batch_id = :batch ORDER BY row_in_extract, column_name;

-- Pathways: the referral date is the clock start, so a broken one
-- quarantines the row (D1, D2, D3: from 1980-01-01 to the day the batch was
-- opened).
SELECT ptl.open_batch('RDT', 'PAS', 'RDT01', 'dates: pathways') AS batch2 \gset
UPDATE ptl.batch SET opened_at = '2025-03-31 12:00' WHERE batch_id = :batch2;
COPY ptl_stage.pathway (local_patient_id, ppid, ppid_issuer, treatment_function, referral_received)
    FROM stdin WITH (FORMAT csv);
D01,RDT-01,RDT,100,2024-10-01
D01,RDT-02,RDT,100,01/10/2024
D01,RDT-03,RDT,100,1980-01-01
D01,RDT-04,RDT,100,2025-03-31
D01,RDT-05,RDT,100,today
D01,RDT-06,RDT,100,1979-12-31
D01,RDT-07,RDT,100,2025-04-01
D01,RDT-08,RDT,100,-infinity
D01,RDT-09,RDT,100,2024-02-30
\.

-- Events: the event date has happened (up to the day the batch was opened);
-- ref_date may lie ahead for an admission offered (tci_offer), up to 730
-- days after that day.  Both quarantine the event: the clock cannot place
-- it, or cannot read it, without them.
COPY ptl_stage.pathway_event (ppid_issuer, ppid, event_ref, event_date, kind, rtt_status, ref_date)
    FROM stdin WITH (FORMAT csv);
RDT,RDT-01,E01,2024-10-01,referral,,
RDT,RDT-01,E02,2024-11-04,decision_to_admit,20,
RDT,RDT-01,E03,2025-03-03,tci_offer,20,2027-03-31
RDT,RDT-01,E04,2025-03-03,tci_offer,20,2027-04-01
RDT,RDT-01,E05,2025-04-01,outpatient,20,
RDT,RDT-01,E06,yesterday,outpatient,20,
RDT,RDT-02,E01,2024-10-01,transfer_in,20,5874897-12-31
RDT,RDT-02,E02,2024-10-01,transfer_in,20,infinity
RDT,RDT-02,E03,2024-10-01,transfer_in,20,1979-12-31
RDT,RDT-02,E04,2024-10-01,transfer_in,20,J2451545
RDT,RDT-02,E05,2024-10-01,transfer_in,20,2020-06-01
\.

-- Waiting-list entries: the decision to admit and the removal quarantine
-- (up to the day the batch was opened); a TCI date that breaks a rule is
-- left out, and the patient stays on the list as not booked.
COPY ptl_stage.waiting_list_entry (ppid_issuer, ppid, entry_ref, intended_management, decision_to_admit,
                                   tci_date, removed_date, removal_reason)
    FROM stdin WITH (FORMAT csv);
RDT,RDT-01,W01,1,2024-11-04,2027-03-31,,
RDT,RDT-01,W02,1,2024-11-04,2027-04-01,,
RDT,RDT-01,W03,1,2024-11-04,infinity,,
RDT,RDT-01,W04,1,2024-11-04,tomorrow,,
RDT,RDT-01,W05,1,2025-04-01,,,
RDT,RDT-01,W06,1,allballs,,,
RDT,RDT-01,W07,1,2024-11-04,,2025-04-01,other
RDT,RDT-01,W08,1,2024-11-04,,epoch,other
RDT,RDT-01,W09,1,2024-11-04,,2025-03-31,admitted
\.
SELECT extract, rows_read, rows_loaded, rows_quarantined, rows_with_warnings FROM ptl.load(:batch2);
SELECT extract, row_in_extract AS row, column_name, value, reason, sqlstate, message
FROM ptl.rejected_row WHERE batch_id = :batch2
ORDER BY array_position('{patient,pathway,pathway_event,waiting_list_entry}'::text[], extract), row_in_extract;
SELECT extract, row_in_extract AS row, column_name, value, reason, sqlstate, message
FROM ptl.load_warning WHERE batch_id = :batch2 ORDER BY extract, row_in_extract;
SELECT ppid, referral_received FROM ptl.pathway WHERE batch_id = :batch2 ORDER BY ppid;
SELECT p.ppid, e.event_ref, e.event_date, e.kind, e.ref_date
FROM ptl.pathway_event e JOIN ptl.pathway p USING (pathway_id)
WHERE e.batch_id = :batch2 ORDER BY p.ppid, e.event_ref;
SELECT entry_ref, decision_to_admit, tci_date, removed_date FROM ptl.waiting_list_entry
WHERE batch_id = :batch2 ORDER BY entry_ref;

-- What the loader refuses, the tables refuse too: every stored date lies
-- between 1850-01-01 and 2200-12-31 (ptl.in_storage_range), so that no
-- date arithmetic in a view can overflow.  A row written straight into a
-- table with an extreme date is refused by its CHECK constraint (23514).
\set VERBOSITY terse
INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, ref_date, batch_id)
SELECT pathway_id, patient_id, 'X1', date '2024-10-01', 'transfer_in', date '5874897-12-31', :batch2
FROM ptl.pathway WHERE ppid = 'RDT-02';
INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, batch_id)
SELECT pathway_id, patient_id, 'X2', date 'infinity', 'referral', :batch2
FROM ptl.pathway WHERE ppid = 'RDT-02';
UPDATE ptl.waiting_list_entry SET tci_date = date '1849-12-31' WHERE entry_ref = 'W01';
\set VERBOSITY sqlstate
UPDATE ptl.waiting_list_entry SET tci_date = date 'infinity' WHERE entry_ref = 'W01';
\set VERBOSITY default
SELECT d, ptl.in_storage_range(d)
FROM unnest(ARRAY['-infinity', '1849-12-31', '1850-01-01', '2200-12-31', '2201-01-01', 'infinity']::date[]) d;

-- Clean up: this database is shared with the other tests.
DELETE FROM ptl.waiting_list_entry WHERE batch_id IN (:batch, :batch2);
DELETE FROM ptl.pathway_event WHERE batch_id IN (:batch, :batch2);
DELETE FROM ptl.pathway WHERE provider_org = 'RDT';
DELETE FROM ptl.patient WHERE org_code = 'RDT';
DELETE FROM ptl.load_warning WHERE batch_id IN (:batch, :batch2);
DELETE FROM ptl.rejected_row WHERE batch_id IN (:batch, :batch2);
DELETE FROM ptl.batch_extract WHERE batch_id IN (:batch, :batch2);
DELETE FROM ptl.batch WHERE org_code = 'RDT';
DELETE FROM ptl.site WHERE org_code = 'RDT';
DELETE FROM ptl.organisation WHERE org_code = 'RDT';
-- (deleting the rows marked their pathways for the next refresh)
DELETE FROM ptl.rtt_dirty_pathway d WHERE NOT EXISTS (SELECT 1 FROM ptl.pathway p WHERE p.pathway_id = d.pathway_id);
