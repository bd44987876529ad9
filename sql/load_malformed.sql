-- Malformed extracts (test/extracts/malformed/README.md): each bad record is
-- refused or quarantined with its reason, every good record loads, and the
-- accounts balance.  psql reads the files (as hex, so zero bytes survive)
-- and ptl.stage_extract stages them.
\pset null '(null)'
SET datestyle = 'ISO, YMD';
INSERT INTO ptl.organisation (org_code, name) VALUES ('RMF', 'Malformed Files NHS Trust');

\set patient_csv `od -An -v -tx1 test/extracts/malformed/patient.csv | tr -d ' \n'`
SELECT ptl.open_batch('RMF', 'PAS', NULL, 'malformed') AS batch \gset
SELECT * FROM ptl.stage_extract(:batch, 'patient', decode(:'patient_csv', 'hex'));

-- Refused at staging: the reason, the column, and the record as it was
-- (non-ASCII bytes written \xNN, long records cut).
SELECT row_in_extract AS rec, reason, sqlstate, column_name, left(value, 40) AS value, message,
       left(raw #>> '{}', 60) AS raw
FROM ptl.rejected_row WHERE batch_id = :batch ORDER BY row_in_extract;

-- Staged: the good records, with their record numbers in the file.
SELECT source_row, local_patient_id, given_name, family_name, date_of_birth
FROM ptl_stage.patient WHERE batch_id = :batch ORDER BY source_row;

-- The load checks values and balances: read = loaded + quarantined.  Cells
-- a spreadsheet would run as formulas (P7, P8, P9) are a value rule of the
-- load, not of the file: the patient loads without the cell, which is never
-- stored, and a warning names it; 30 February (P10) is an invalid date of
-- birth, which the patient also loads without (sql/load_formula.sql and
-- sql/load_dates.sql show these rules in full).
SELECT extract, rows_read, rows_loaded, rows_quarantined, rows_with_warnings
FROM ptl.load(:batch) WHERE extract = 'patient';
SELECT row_in_extract AS rec, column_name, value, reason, sqlstate FROM ptl.load_warning
WHERE batch_id = :batch ORDER BY row_in_extract;
SELECT local_patient_id, given_name, family_name, date_of_birth FROM ptl.patient WHERE org_code = 'RMF' ORDER BY patient_id;
SELECT nothing_lost FROM ptl.load_summary WHERE batch_id = :batch AND extract = 'patient';

-- A Latin-1 file read as Latin-1 loads whole, converted to the database's encoding.
\set latin1_csv `od -An -v -tx1 test/extracts/malformed/patient_latin1.csv | tr -d ' \n'`
SELECT ptl.open_batch('RMF', 'PAS', NULL, 'latin-1') AS batch2 \gset
SELECT * FROM ptl.stage_extract(:batch2, 'patient', decode(:'latin1_csv', 'hex'), encoding => 'LATIN1');
SELECT local_patient_id, given_name, family_name FROM ptl_stage.patient WHERE batch_id = :batch2 ORDER BY 1;
-- Read as UTF-8 instead, the same bytes are refused, not garbled.
SELECT * FROM ptl.stage_extract(:batch2, 'patient', decode(:'latin1_csv', 'hex'));

-- Another delimiter; a short record is refused.
\set semicolon_csv `od -An -v -tx1 test/extracts/malformed/semicolon.csv | tr -d ' \n'`
SELECT ptl.open_batch('RMF', 'PAS', NULL, 'semicolons') AS batch3 \gset
SELECT * FROM ptl.stage_extract(:batch3, 'patient', decode(:'semicolon_csv', 'hex'), delimiter => ';');

-- Whole-file problems are errors that name the fault.
\set VERBOSITY default
\set SHOW_CONTEXT never
\set empty_csv `od -An -v -tx1 test/extracts/malformed/empty.csv | tr -d ' \n'`
\set header_only_csv `od -An -v -tx1 test/extracts/malformed/header_only.csv | tr -d ' \n'`
\set unknown_csv `od -An -v -tx1 test/extracts/malformed/unknown_column.csv | tr -d ' \n'`
SELECT ptl.open_batch('RMF', 'PAS', NULL, 'edge cases') AS batch4 \gset
SELECT * FROM ptl.stage_extract(:batch4, 'patient', decode(:'empty_csv', 'hex'));
SELECT * FROM ptl.stage_extract(:batch4, 'patient', decode(:'header_only_csv', 'hex'));
SELECT * FROM ptl.stage_extract(:batch4, 'patient', decode(:'unknown_csv', 'hex'));
SELECT * FROM ptl.stage_extract(:batch4, 'patients', decode(:'header_only_csv', 'hex'));
SELECT * FROM ptl.stage_extract(:batch4, 'patient', decode(:'header_only_csv', 'hex'), encoding => 'KLINGON');
SELECT * FROM ptl.stage_extract(:batch4, 'patient', decode(:'header_only_csv', 'hex'), delimiter => '"');
-- (a loaded batch: the message names its number, so only the SQLSTATE here)
\set VERBOSITY sqlstate
SELECT * FROM ptl.stage_extract(:batch, 'patient', decode(:'header_only_csv', 'hex'));
\set VERBOSITY default
SELECT * FROM ptl.stage_extract(:batch4, 'patient', convert_to(E'"local_patient_id\nx', 'UTF8'));
SELECT * FROM ptl.stage_extract(:batch4, 'patient', convert_to(E'local_patient_id,Local_Patient_ID\nx,y', 'UTF8'));

-- Cells a spreadsheet would run, and cells it would not.  A cell is judged
-- as it would be stored, surrounding spaces trimmed: ' =1+1' is a formula.
SELECT c, ptl.is_formula_cell(c) FROM unnest(ARRAY['=1+1', '+441234', '-2+3', '@SUM(A1)', E'\tx', '-12', '+3.5',
                                                    '2025-02-30', 'O''Neil', 'a=b', ' =1+1', '   @SUM(A1)',
                                                    ' -12 ', E' \t=1', '', '   ']) c;

-- Leave nothing behind for later tests.
DELETE FROM ptl.rejected_row WHERE batch_id IN (:batch, :batch2, :batch3, :batch4);
DELETE FROM ptl.load_warning WHERE batch_id IN (:batch, :batch2, :batch3, :batch4);
DELETE FROM ptl.batch_extract WHERE batch_id IN (:batch, :batch2, :batch3, :batch4);
DELETE FROM ptl_stage.patient WHERE batch_id IN (:batch, :batch2, :batch3, :batch4);
DELETE FROM ptl.patient WHERE org_code = 'RMF';
DELETE FROM ptl.batch WHERE org_code = 'RMF';
DELETE FROM ptl.organisation WHERE org_code = 'RMF';
