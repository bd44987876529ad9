-- Reference data by the documented path (docs/reference-data.md): NHS
-- England's published ODS files, headerless and in their fixed column
-- layouts, read by ptl.load_reference.  The synthetic files in
-- test/reference/ describe an invented ICS (Q9X) with three trusts, one of
-- which (R9C) merged into R9A on 2024-04-01, and a neighbouring ICB (Q9Y).
-- psql reads each file (as hex) and passes its bytes.
\pset null '(null)'
SET datestyle = 'ISO, YMD';
\set icb `od -An -v -tx1 test/reference/icb.csv | tr -d ' \n'`
\set eccg `od -An -v -tx1 test/reference/eccg.csv | tr -d ' \n'`
\set etr `od -An -v -tx1 test/reference/etr.csv | tr -d ' \n'`
\set ets `od -An -v -tx1 test/reference/ets.csv | tr -d ' \n'`
\set epraccur `od -An -v -tx1 test/reference/epraccur.csv | tr -d ' \n'`
\set succ `od -An -v -tx1 test/reference/succ.csv | tr -d ' \n'`
\set tfc `od -An -v -tx1 test/reference/tfc.csv | tr -d ' \n'`
-- (The identities this script draws are given back at the end, for the
-- scripts after it.)
SELECT (SELECT last_value FROM ptl.batch_batch_id_seq) AS seq_batch,
       (SELECT last_value FROM ptl.patient_patient_id_seq) AS seq_patient,
       (SELECT last_value FROM ptl.pathway_pathway_id_seq) AS seq_pathway,
       (SELECT last_value FROM ptl.pathway_event_event_id_seq) AS seq_event,
       (SELECT is_called FROM ptl.batch_batch_id_seq) AS called_batch,
       (SELECT is_called FROM ptl.patient_patient_id_seq) AS called_patient,
       (SELECT is_called FROM ptl.pathway_pathway_id_seq) AS called_pathway,
       (SELECT is_called FROM ptl.pathway_event_event_id_seq) AS called_event \gset
CREATE TEMP VIEW counts AS
SELECT kind, file_name, rows_read, rows_inserted, rows_updated, rows_unchanged, rows_skipped, rows_rejected
FROM ptl.reference_load ORDER BY load_id DESC LIMIT 1;

-- Rule: files are read parents first.  The ICB file, naming the ICS this
-- database serves (ics_code): it becomes the organisation of kind ics
-- (in the ICS), the other ICB an organisation outside it; both are ICB
-- commissioners.
SELECT rows_read, inserted, updated, unchanged, skipped, rejected
FROM ptl.load_reference('icb', decode(:'icb', 'hex'), ics_code => 'Q9X', file_name => 'icb.csv');
SELECT org_code, org_kind, in_ics, open_date FROM ptl.organisation WHERE org_code LIKE 'Q9_' ORDER BY 1;
-- Sub-ICB locations (eccg.csv): field 4 (High Level Health Geography) is the ICB.
SELECT rows_read, inserted, rejected FROM ptl.load_reference('sub_icb', decode(:'eccg', 'hex'), file_name => 'eccg.csv');
SELECT commissioner_code, commissioner_kind, parent_code, name FROM ptl.commissioner
WHERE commissioner_code ~ '^(Q9|9[XY])' ORDER BY 1;
-- Trusts (etr.csv): field 4 is the ICB, the parent; a trust is in the ICS
-- when its ICB is.  The closed trust R9C is loaded with its Close Date and stays.
SELECT rows_read, inserted, rejected FROM ptl.load_reference('trust', decode(:'etr', 'hex'), file_name => 'etr.csv');
SELECT org_code, name, parent_org_code, in_ics, open_date, close_date
FROM ptl.organisation WHERE org_code LIKE 'R9_' ORDER BY 1;
-- Trust sites (ets.csv): field 15 is the trust.
SELECT rows_read, inserted, rejected FROM ptl.load_reference('trust_site', decode(:'ets', 'hex'), file_name => 'ets.csv');
SELECT site_code, org_code, name, postcode, open_date, close_date FROM ptl.site WHERE site_code LIKE 'R9%' ORDER BY 1;
-- GP practices (epraccur.csv): field 15 is the commissioner, 13 the status, 26 the prescribing setting.
SELECT rows_read, inserted, rejected FROM ptl.load_reference('gp_practice', decode(:'epraccur', 'hex'), file_name => 'epraccur.csv');
SELECT practice_code, commissioner_code, status, prescribing_setting, close_date FROM ptl.gp_practice ORDER BY 1;
-- Successions (succ.csv): predecessor, successor, reason, legal date.  A
-- succession between two organisations ptl holds neither of is skipped
-- (counted, not lost): the national file names every organisation that ever closed.
SELECT rows_read, inserted, skipped, rejected FROM ptl.load_reference('successor', decode(:'succ', 'hex'), file_name => 'succ.csv');
SELECT predecessor_code, successor_code, effective_date, reason FROM ptl.organisation_successor;
-- Treatment functions (code,title[,RTT line]): the ones ptl ships repeat
-- unchanged; a code ptl does not ship is added with its line, as the
-- trust's own row (not shipped: pg_dump keeps it).
SELECT rows_read, inserted, unchanged, rejected FROM ptl.load_reference('treatment_function', decode(:'tfc', 'hex'), file_name => 'tfc.csv');
SELECT tfc, name, rtt_line, consultant_led, shipped FROM ptl.treatment_function WHERE tfc = '190';

-- Rule: reading a file again changes nothing (every record unchanged).
SELECT rows_read, inserted, updated, unchanged FROM ptl.load_reference('trust', decode(:'etr', 'hex'));
SELECT rows_read, inserted, updated, unchanged FROM ptl.load_reference('trust_site', decode(:'ets', 'hex'));

-- Rule: bad records are refused with the field and the reason, never
-- dropped; the good ones load.  A faulty trust file: a short record, a
-- code of the wrong form, a missing name, 30 February, closing before
-- opening, a code twice, an ICB ptl does not hold, an unfinished quote.
\set f ',Y99,Q9X,,,,,,QN9 9ZZ,20200401,,,,,,,,,,,0,,,,,'
SELECT rows_read, inserted, updated, unchanged, skipped, rejected
FROM ptl.load_reference('trust', convert_to(
       'R9E,EASTHOLM HOSPITALS NHS TRUST (SYNTHETIC)' || :'f' || E'\n'
    || E'R9F,SHORT RECORD NHS TRUST,Y99,Q9X\n'
    || 'r9-g,LOWER CASE NHS TRUST' || :'f' || E'\n'
    || 'R9H,' || :'f' || E'\n'
    || E'R9J,LEAP DAY NHS TRUST,Y99,Q9X,,,,,,QN9 9ZZ,20230230,,,,,,,,,,,0,,,,,\n'
    || E'R9K,BACKWARDS NHS TRUST,Y99,Q9X,,,,,,QN9 9ZZ,20200401,20190331,,,,,,,,,,0,,,,,\n'
    || 'R9E,EASTHOLM AGAIN NHS TRUST' || :'f' || E'\n'
    || E'R9L,ELSEWHERE NHS TRUST,Y99,Q9Q,,,,,,QN9 9ZZ,20200401,,,,,,,,,,,0,,,,,\n'
    || E'R9M,"UNFINISHED NHS TRUST,Y99,Q9X\n', 'UTF8'), file_name => 'etr-faulty.csv');
SELECT record_no, field_no, field_name, value, reason, message
FROM ptl.reference_rejected WHERE load_id = (SELECT max(load_id) FROM ptl.reference_load) ORDER BY record_no;
-- Rule: nothing is lost: read = inserted + updated + unchanged + skipped + rejected (a constraint).
SELECT * FROM counts;
-- A file of another layout (e.g. with a header line) is refused record by record.
SELECT rows_read, rejected FROM ptl.load_reference('sub_icb', convert_to(E'Organisation Code,Name\n', 'UTF8'));
SELECT reason, message FROM ptl.reference_rejected WHERE load_id = (SELECT max(load_id) FROM ptl.reference_load);

-- Rule: successions must be between organisations ptl holds, one
-- successor each, no organisation its own successor, no circle.
SELECT rows_read, inserted, updated, unchanged, skipped, rejected
FROM ptl.load_reference('successor', convert_to(
       E'R9B,R7Z,R,20250401,\n'
    || E'R9B,R9B,R,20250401,\n'
    || E'R9A,R9C,R,20250401,\n'
    || E'R9C,R9B,R,20250401,\n'
    || E'R9C,R9A,R,2024-04-01,\n', 'UTF8'));
SELECT record_no, field_no, value, reason, message
FROM ptl.reference_rejected WHERE load_id = (SELECT max(load_id) FROM ptl.reference_load) ORDER BY record_no;
-- Rule: a treatment function ptl does not ship needs its RTT line; one ptl
-- ships keeps ptl's name and line (corrections go in
-- ptl.treatment_function_override); a line must be one of the return's.
SELECT rows_read, inserted, unchanged, rejected
FROM ptl.load_reference('treatment_function', convert_to(
       E'192,Critical Care Medicine Service\n'
    || E'110,Orthopaedic Surgery Service\n'
    || E'172,Cardiac Surgery Service,X05\n'
    || E'193,Local Test Service,Z99\n', 'UTF8'));
SELECT record_no, field_no, value, reason, message
FROM ptl.reference_rejected WHERE load_id = (SELECT max(load_id) FROM ptl.reference_load) ORDER BY record_no;

-- Who may load: an ICS administrator (ptl_admin); a reader or a loader may not.
SELECT r AS role, has_function_privilege(r, 'ptl.load_reference(text,bytea,text,text,name)', 'EXECUTE') AS may_load_reference
FROM unnest(ARRAY['ptl_reader', 'ptl_analyst', 'ptl_loader', 'ptl_admin']) r;

-- Rule: a placeholder is resolved by the reference data.  The loader met
-- trust R9N, its site R9N01 and commissioner 9XC in an extract before ODS
-- named them, and made placeholders (as below); a data manager sees them
-- with the rows that use them ...
INSERT INTO ptl.organisation (org_code, name, placeholder) VALUES ('R9N', 'R9N (code from an extract)', true);
INSERT INTO ptl.site (site_code, org_code, name, placeholder) VALUES ('R9N01', 'R9N', 'R9N01 (code from an extract)', true);
INSERT INTO ptl.commissioner (commissioner_code, name, placeholder) VALUES ('9XC', '9XC (code from an extract)', true);
INSERT INTO ptl.batch (org_code, site_code, source_system) VALUES ('R9N', 'R9N01', 'PAS') RETURNING batch_id AS nbatch \gset
INSERT INTO ptl.patient (org_code, source_system, local_patient_id, commissioner_code, batch_id)
VALUES ('R9N', 'PAS', 'N1', '9XC', :nbatch) RETURNING patient_id AS npatient \gset
INSERT INTO ptl.pathway (patient_id, provider_org, site_code, ppid, ppid_issuer, treatment_function,
                         referral_received, commissioner_code, batch_id)
VALUES (:npatient, 'R9N', 'R9N01', 'NPH1', 'R9N', '110', '2024-01-10', '9XC', :nbatch);
SELECT kind, code, name, rows_using, resolved_by, first_seen <= now() AS first_seen_recorded
FROM ptl.reference_placeholder ORDER BY kind, code;
-- ... and the published files resolve them: the real name and parent, and
-- placeholder = false (counted as updated).
SELECT rows_read, inserted, updated, unchanged FROM ptl.load_reference('sub_icb', convert_to(
    E'9XC,NHS NORTHFELL AND RIVERMOUTH ICB - 9XC (SYNTHETIC),Y99,Q9X,,,,,,QN1 1AA,20130401,,A,C,,,,,,,,0,,,,,\n', 'UTF8'));
SELECT rows_read, inserted, updated, unchanged FROM ptl.load_reference('trust', convert_to(
    E'R9N,NORTHMOOR HOSPITALS NHS TRUST (SYNTHETIC),Y99,Q9X,,,,,,QN5 1AA,20150401,,,,,,,,,,,0,,,,,\n', 'UTF8'));
SELECT rows_read, inserted, updated, unchanged FROM ptl.load_reference('trust_site', convert_to(
    E'R9N01,NORTHMOOR HOSPITAL (SYNTHETIC),Y99,Q9X,,,,,,QN5 1AB,20150401,,,,R9N,,,,,,,0,,,,,\n', 'UTF8'));
SELECT org_code, name, parent_org_code, in_ics, placeholder FROM ptl.organisation WHERE org_code = 'R9N';
SELECT commissioner_code, name, parent_code, placeholder FROM ptl.commissioner WHERE commissioner_code = '9XC';
SELECT count(*) AS unresolved_placeholders FROM ptl.reference_placeholder;

-- Rule: a merged trust stays, with its pathways; the RTT return reports
-- them under its successor for every month whose last day is on or after
-- the succession's date (R9C by R9A from 2024-04-01).  One pathway at R9C,
-- referred in February 2024 and still waiting:
INSERT INTO ptl.batch (org_code, site_code, source_system) VALUES ('R9C', 'R9C01', 'PAS') RETURNING batch_id AS cbatch \gset
INSERT INTO ptl.patient (org_code, source_system, local_patient_id, commissioner_code, batch_id)
VALUES ('R9C', 'PAS', 'C1', '9XA', :cbatch) RETURNING patient_id AS cpatient \gset
INSERT INTO ptl.pathway (patient_id, provider_org, site_code, ppid, ppid_issuer, treatment_function,
                         referral_received, commissioner_code, batch_id)
VALUES (:cpatient, 'R9C', 'R9C01', 'CPH1', 'R9C', '110', '2024-02-05', '9XA', :cbatch) RETURNING pathway_id AS cpathway \gset
INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, site_code, treatment_function, batch_id)
VALUES (:cpathway, :cpatient, 'E1', '2024-02-05', 'referral', '10', 'R9C01', '110', :cbatch);
SELECT d AS month_end, ptl.reporting_org('R9C', d) AS reported_by
FROM unnest(ARRAY['2024-03-31', '2024-04-30']::date[]) d;
SELECT r.provider_org, r.part, r.line, sum(r.pathways) AS pathways
FROM unnest(ARRAY['2024-03-31', '2024-04-30']::date[]) d, ptl.rtt_return(d) r
WHERE r.line = 'C_999' AND r.provider_org LIKE 'R9_' GROUP BY 1, 2, 3 ORDER BY 2, 1;
SELECT left(csv_line, 120) AS csv_line FROM ptl.rtt_return_wide('2024-04-30') WHERE provider_org LIKE 'R9_' AND line = 'C_999';
-- The pathway itself keeps its provider.
SELECT provider_org FROM ptl.pathway WHERE pathway_id = :cpathway;
-- Asked for one provider, the return counts the records of the trusts merged
-- into it; the merged trust's own return is empty from the merger on.
SELECT d AS month_end, p AS provider, sum(r.pathways) FILTER (WHERE r.part = 'Part_2' AND r.line = 'C_999') AS part_2
FROM unnest(ARRAY['2024-03-31', '2024-04-30']::date[]) d, unnest(ARRAY['R9A', 'R9C']) p
LEFT JOIN LATERAL ptl.rtt_return(d, p) r ON true
GROUP BY 1, 2 ORDER BY 1, 2;

-- Clean up (later scripts expect none of this).
DELETE FROM ptl.pathway_event WHERE batch_id IN (:cbatch, :nbatch);
DELETE FROM ptl.pathway WHERE batch_id IN (:cbatch, :nbatch);
DELETE FROM ptl.patient WHERE batch_id IN (:cbatch, :nbatch);
DELETE FROM ptl.batch WHERE batch_id IN (:cbatch, :nbatch);
-- (deleting the rows marked their pathways for the next refresh)
DELETE FROM ptl.rtt_dirty_pathway d WHERE NOT EXISTS (SELECT 1 FROM ptl.pathway p WHERE p.pathway_id = d.pathway_id);
DELETE FROM ptl.reference_rejected;
DELETE FROM ptl.reference_load;
DELETE FROM ptl.organisation_successor;
DELETE FROM ptl.gp_practice;
DELETE FROM ptl.treatment_function WHERE tfc = '190';
DELETE FROM ptl.site WHERE site_code LIKE 'R9%';
DELETE FROM ptl.organisation WHERE org_code LIKE 'R9_';
DELETE FROM ptl.organisation WHERE org_code LIKE 'Q9_';
DELETE FROM ptl.commissioner WHERE commissioner_code ~ '^9[XY]';
DELETE FROM ptl.commissioner WHERE commissioner_code LIKE 'Q9_';
SELECT setval('ptl.batch_batch_id_seq', :seq_batch, :'called_batch') IS NOT NULL AS batch_ids_given_back,
       setval('ptl.patient_patient_id_seq', :seq_patient, :'called_patient') IS NOT NULL AS patient_ids_given_back,
       setval('ptl.pathway_pathway_id_seq', :seq_pathway, :'called_pathway') IS NOT NULL AS pathway_ids_given_back,
       setval('ptl.pathway_event_event_id_seq', :seq_event, :'called_event') IS NOT NULL AS event_ids_given_back;
SELECT count(*) AS violations FROM ptl.access_policy_violations();
