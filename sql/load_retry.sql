-- Retrying quarantined rows: a worked example.
--
-- Rule R1: ptl.retry_rejected(batch) stages the batch's quarantined rows
--   again, as delivered, in a new batch of the same source; ptl.load then
--   judges them afresh (every value rule applies again, formulas included).
-- Rule R2: only rows held as columns can be staged again.  A record that
--   ptl.stage_extract refused before staging (broken quoting, a zero byte,
--   the wrong number of fields...) is kept as text or as an array of fields
--   that no header maps to columns: it stays quarantined, and a NOTICE
--   counts such rows and names their reasons.
-- Rule R3: a row superseded later in its own extract (duplicate_in_extract)
--   stays where it is: the later row was the source's word.
\pset null '(null)'
SET datestyle = 'ISO, YMD';
INSERT INTO ptl.organisation (org_code, name) VALUES ('RRT', 'Retry Test NHS Trust');

-- A file with a good record, a record for a commissioner ptl does not know
-- yet, a record with a field too few, a repeated patient, a hospital number
-- that starts like a formula and a record whose quote never closes.
-- (The batch is numbered here so that the NOTICE below reads the same
-- whatever ran before.)
INSERT INTO ptl.batch (batch_id, org_code, source_system, label) VALUES (7701, 'RRT', 'PAS', 'retry');
\set batch 7701
SELECT * FROM ptl.stage_extract(:batch, 'patient', convert_to(
'local_patient_id,given_name,family_name,commissioner_code
RT1,Ann,Able,
RT2,Bob,Baker,07Z
RT3,Cat,Cole
RT4,Dan,Dale,
RT4,Dan,Dale,
=RT6,Fay,Ford,
"RT5,Eve,Ellis,', 'UTF8'));
-- Before 0.4.0, ptl.stage_extract refused formula cells itself, keeping the
-- record's fields as an array (without the header that names them): one
-- such row, as an older release left it.
INSERT INTO ptl.rejected_row (batch_id, extract, row_in_extract, column_name, value, reason, sqlstate, message, raw)
VALUES (:batch, 'patient', 8, 'given_name', '=1+1', 'formula_injection', '22P02',
        'record 8: given_name starts like a spreadsheet formula', '["RT7", "=1+1", "Gray", null]');
SELECT extract, rows_read, rows_loaded, rows_quarantined FROM ptl.load(:batch) WHERE extract = 'patient';
SELECT row_in_extract AS row, reason, jsonb_typeof(raw) AS raw_is, left(raw::text, 50) AS raw
FROM ptl.rejected_row WHERE batch_id = :batch ORDER BY row_in_extract;

-- The batch's quarantined rows are retried (RT2 loaded at once: its
-- commissioner 07Z became a placeholder).  =RT6 (held as columns) is staged
-- again (R1) and quarantined again in the new batch; RT4's first row stays
-- (R3); the three records held as text or as bare fields stay, and the
-- NOTICE says so (R2).
SELECT ptl.retry_rejected(:batch) AS retry \gset
SELECT local_patient_id, given_name, family_name, commissioner_code
FROM ptl_stage.patient WHERE batch_id = :retry;
SELECT extract, rows_read, rows_loaded, rows_quarantined FROM ptl.load(:retry) WHERE extract = 'patient';
SELECT row_in_extract AS row, reason, value FROM ptl.rejected_row WHERE batch_id = :retry;
SELECT local_patient_id, commissioner_code FROM ptl.patient WHERE org_code = 'RRT' ORDER BY local_patient_id;
SELECT row_in_extract AS row, reason, retried_in = :retry AS retried
FROM ptl.rejected_row WHERE batch_id = :batch ORDER BY row_in_extract;

-- Asking again, or for the unreadable reasons only: nothing is staged, and
-- the NOTICE still counts what cannot be.
SELECT ptl.retry_rejected(:batch, '{wrong_column_count,unterminated_quote}') AS retry2 \gset
SELECT count(*) AS staged FROM ptl_stage.patient WHERE batch_id = :retry2;

-- Clean up: this database is shared with the other tests.
DELETE FROM ptl.patient WHERE org_code = 'RRT';
DELETE FROM ptl.load_warning WHERE batch_id IN (SELECT batch_id FROM ptl.batch WHERE org_code = 'RRT');
DELETE FROM ptl.rejected_row WHERE batch_id IN (SELECT batch_id FROM ptl.batch WHERE org_code = 'RRT');
DELETE FROM ptl.batch_extract WHERE batch_id IN (SELECT batch_id FROM ptl.batch WHERE org_code = 'RRT');
DELETE FROM ptl_stage.patient WHERE batch_id IN (SELECT batch_id FROM ptl.batch WHERE org_code = 'RRT');
DELETE FROM ptl.batch WHERE org_code = 'RRT';
DELETE FROM ptl.commissioner WHERE commissioner_code = '07Z';
DELETE FROM ptl.organisation WHERE org_code = 'RRT';
