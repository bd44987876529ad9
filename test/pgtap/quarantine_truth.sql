-- The loader against the generator's injected faults: every malformed value
-- the generator planted is quarantined (or, for NHS numbers, warned about)
-- with the reason the truth expects, and nothing else is.
BEGIN;
SELECT plan(9);

CREATE EXTENSION IF NOT EXISTS ptl_synth;
CREATE TEMP TABLE loaded AS
SELECT l.* FROM ptl_synth.generate(20000, seed => 5) b, ptl.load(b) l;

-- Each fault's staged row, found by its natural key.
CREATE TEMP TABLE fault AS
SELECT f.*, r.reason AS got_reason, r.column_name AS got_column, r.rejected_id
FROM ptl_synth.injected_fault f
LEFT JOIN ptl.rejected_row r
       ON r.batch_id = f.batch_id AND r.extract = f.extract
      AND CASE f.extract
              WHEN 'patient' THEN r.raw ->> 'local_patient_id' = f.local_patient_id
              WHEN 'pathway' THEN r.raw ->> 'ppid' = f.ppid
              WHEN 'pathway_event' THEN r.raw ->> 'ppid' = f.ppid AND r.raw ->> 'event_ref' = f.event_ref
              ELSE r.raw ->> 'ppid' = f.ppid AND r.raw ->> 'entry_ref' = f.entry_ref
          END
WHERE f.expected_reason IS NOT NULL AND f.expected_reason <> 'invalid_nhs_number';

SELECT cmp_ok((SELECT count(*) FROM fault), '>', 100::bigint,
    'the generator planted malformed dates and codes in every extract');
SELECT is((SELECT count(*) FROM fault WHERE rejected_id IS NULL), 0::bigint,
    'every planted malformed value is quarantined');
SELECT is((SELECT count(*) FROM fault WHERE got_reason IS DISTINCT FROM expected_reason), 0::bigint,
    'each with the reason the truth expects (invalid_date, invalid_code, missing_required)');
SELECT is((SELECT count(*) FROM fault WHERE got_column IS DISTINCT FROM column_name), 0::bigint,
    'and the column the fault is in');

-- Quarantined rows that no fault explains directly must be children of a
-- quarantined parent: no false alarms.
SELECT is((SELECT count(*) FROM ptl.rejected_row r
           WHERE r.reason <> 'parent_rejected'
             AND r.rejected_id NOT IN (SELECT rejected_id FROM fault WHERE rejected_id IS NOT NULL)),
    0::bigint, 'no row is quarantined that the truth did not spoil');
SELECT is((SELECT count(*) FROM ptl.rejected_row r
           WHERE r.reason = 'parent_rejected'
             AND r.extract = 'pathway'
             AND NOT EXISTS (SELECT 1 FROM ptl_synth.injected_fault f
                             WHERE f.extract = 'patient' AND f.expected_reason = 'invalid_code'
                               AND f.batch_id = r.batch_id
                               AND f.local_patient_id = r.raw ->> 'local_patient_id')),
    0::bigint, 'pathways quarantined with their patient belong to a patient with a planted fault');

-- Invalid NHS numbers: the patient loads, the number is kept, a warning names it.
SELECT is((SELECT count(*) FROM ptl_synth.injected_fault f
           WHERE f.expected_reason = 'invalid_nhs_number'
             AND NOT EXISTS (SELECT 1 FROM ptl.patient p
                             JOIN ptl.load_warning w ON w.batch_id = f.batch_id AND w.extract = 'patient'
                                                    AND w.value = p.nhs_number_as_recorded
                             WHERE p.org_code = (SELECT org_code FROM ptl.batch WHERE batch_id = f.batch_id)
                               AND p.local_patient_id = f.local_patient_id
                               AND p.nhs_number IS NULL)),
    0::bigint, 'every planted invalid NHS number loads as a warning, with the patient kept');
SELECT is((SELECT count(*) FROM ptl.load_warning),
          (SELECT count(*) FROM ptl_synth.injected_fault WHERE expected_reason = 'invalid_nhs_number'),
    'and there are no other warnings');

SELECT ok((SELECT bool_and(rows_read = rows_loaded + rows_updated + rows_quarantined) FROM loaded),
    'nothing is lost in any batch');

SELECT * FROM finish();
ROLLBACK;
