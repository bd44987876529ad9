-- Cells a spreadsheet would run as a formula (CSV injection): a worked example.
--
-- Rule F1: a value that, as it would be stored (surrounding spaces
--   trimmed), starts with = + - @, a tab or a carriage return, and is not a
--   signed number, is never stored (ptl.is_formula_cell: the rule's one
--   definition).  reason formula_injection, SQLSTATE 22P02.
-- Rule F2: the loader applies F1 to every text column of every staged row
--   (a column with no type, code list or code table), however the row was
--   staged: from a file by ptl.stage_extract, COPYed, INSERTed or retried.
-- Rule F3: in a column that identifies the row (local_patient_id, ppid,
--   event_ref, entry_ref), such a value quarantines the row; in free text
--   (names, address, consultant, procedure description) the row loads
--   without the value, with a warning, so that no patient falls off the
--   list.
\pset null '(null)'
SET datestyle = 'ISO, YMD';
INSERT INTO ptl.organisation (org_code, name) VALUES ('RFX', 'Formula Test NHS Trust');

-- F1: the value as stored decides.  A leading space used to hide a formula
-- from the guard, and the loader then stored it trimmed.
SELECT c AS cell, ptl.extract_value(c) AS stored_as, ptl.is_formula_cell(c) AS formula
FROM unnest(ARRAY['=HYPERLINK("http://evil.example/","x")', ' =HYPERLINK("http://evil.example/","x")',
                  '  @SUM(A1:A9)', ' +cmd|'' /C calc''!A0', ' -2+3', ' -12', '+44 113 000 0000',
                  'Smith-Jones', 'a=b']) c;

-- The same rows by both paths.  A file, read by ptl.stage_extract: it stages
-- every well-formed record, formula or not; the value rule is the load's.
SELECT ptl.open_batch('RFX', 'PAS', NULL, 'formula: file') AS file_batch \gset
SELECT * FROM ptl.stage_extract(:file_batch, 'patient', convert_to(
'local_patient_id,given_name,family_name,address_line_1,date_of_birth
F1,Ann," =HYPERLINK(""http://evil.example/"",""x"")",1 High Street,1950-01-01
F2,  @SUM(A1:A9),Bell,2 Low Road,1950-01-01
F3,Cat,Cole," +cmd|'' /C calc''!A0",1950-01-01
F4,Dan,Dale,4 Mill Lane,1950-01-01
=F5,Eve,Ellis,5 Hill Top,1950-01-01
F6,Fay,Smith-Jones, -2+3,1950-01-01
', 'UTF8'));

-- COPY straight into staging: no file reader on the way.
SELECT ptl.open_batch('RFX', 'PAS-B', NULL, 'formula: COPY') AS copy_batch \gset
COPY ptl_stage.patient (local_patient_id, given_name, family_name, address_line_1, date_of_birth)
    FROM stdin WITH (FORMAT csv);
F1,Ann," =HYPERLINK(""http://evil.example/"",""x"")",1 High Street,1950-01-01
F2,  @SUM(A1:A9),Bell,2 Low Road,1950-01-01
F3,Cat,Cole," +cmd|' /C calc'!A0",1950-01-01
F4,Dan,Dale,4 Mill Lane,1950-01-01
=F5,Eve,Ellis,5 Hill Top,1950-01-01
F6,Fay,Smith-Jones, -2+3,1950-01-01
\.

-- Both load alike: five patients, four of them without their formula cell
-- (F3: names, address); one row quarantined, whose hospital number is a
-- formula (F3: an identifier).
SELECT b.label, l.extract, l.rows_read, l.rows_loaded, l.rows_quarantined, l.rows_with_warnings
FROM (VALUES (:file_batch), (:copy_batch)) v (batch_id)
JOIN ptl.batch b USING (batch_id)
CROSS JOIN LATERAL ptl.load(v.batch_id) l
WHERE l.extract = 'patient' ORDER BY b.batch_id;
SELECT b.label, p.local_patient_id, p.given_name, p.family_name, p.address_line_1
FROM ptl.patient p JOIN ptl.batch b USING (batch_id)
WHERE p.org_code = 'RFX' ORDER BY b.batch_id, p.local_patient_id;
SELECT b.label, w.row_in_extract AS row, w.column_name, w.value, w.reason, w.sqlstate, w.message
FROM ptl.load_warning w JOIN ptl.batch b USING (batch_id)
WHERE b.org_code = 'RFX' ORDER BY b.batch_id, w.row_in_extract;
SELECT b.label, r.row_in_extract AS row, r.column_name, r.value, r.reason, r.sqlstate, r.message
FROM ptl.rejected_row r JOIN ptl.batch b USING (batch_id)
WHERE b.org_code = 'RFX' ORDER BY b.batch_id, r.row_in_extract;

-- Nothing stored in any text column of the canonical tables starts like a
-- formula.
SELECT count(*) AS formula_cells_stored
FROM ptl.patient p, unnest(ARRAY[p.local_patient_id, p.given_name, p.family_name, p.address_line_1]) v
WHERE p.org_code = 'RFX' AND ptl.is_formula_cell(v);

-- F2 covers the other extracts' text columns too, as the specification says.
SELECT extract, column_name, when_invalid
FROM ptl.extract_column c WHERE ptl_internal.extract_column_is_text(c)
ORDER BY (SELECT f.load_order FROM ptl.feed f WHERE f.extract = c.extract), ordinal;

-- Clean up: this database is shared with the other tests.
DELETE FROM ptl.patient WHERE org_code = 'RFX';
DELETE FROM ptl.load_warning WHERE batch_id IN (:file_batch, :copy_batch);
DELETE FROM ptl.rejected_row WHERE batch_id IN (:file_batch, :copy_batch);
DELETE FROM ptl.batch_extract WHERE batch_id IN (:file_batch, :copy_batch);
DELETE FROM ptl.batch WHERE org_code = 'RFX';
DELETE FROM ptl.organisation WHERE org_code = 'RFX';
