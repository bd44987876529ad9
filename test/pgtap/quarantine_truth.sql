-- The loader against the generator's injected faults: every malformed value
-- the generator planted is quarantined or loaded with a warning exactly as
-- the loading policy says, with the reason the truth expects, and nothing
-- else is.
BEGIN;
SELECT plan(12);

CREATE EXTENSION IF NOT EXISTS ptl_synth;
CREATE TEMP TABLE loaded AS
SELECT l.* FROM ptl_synth.generate(20000, seed => 5) b, ptl.load(b) l;

-- What the loading policy (ptl.extract_column, docs/loading.md) says each
-- planted fault must become: the row quarantined (its column quarantines,
-- or a required one is missing or malformed), or loaded with a warning.
-- The truth records only the fault; the expected outcome is the policy's.
CREATE TEMP TABLE fault AS
SELECT f.*, r.reason AS got_reason, r.column_name AS got_column, r.rejected_id,
       w.reason AS warned_reason, w.column_name AS warned_column, w.warning_id,
       CASE WHEN c.when_invalid = 'quarantine'
                 OR (c.required AND (ptl.extract_value(f.bad_value) IS NULL OR f.bad_value !~ coalesce(c.pattern, '')
                                     OR c.value_type = 'date'::regtype))
            THEN 'quarantine' ELSE c.when_invalid END AS policy
FROM ptl_synth.injected_fault f
JOIN ptl.extract_column c ON c.extract = f.extract AND c.column_name = f.column_name
LEFT JOIN ptl.rejected_row r
       ON r.batch_id = f.batch_id AND r.extract = f.extract
      AND CASE f.extract
              WHEN 'patient' THEN r.raw ->> 'local_patient_id' = f.local_patient_id
              WHEN 'pathway' THEN r.raw ->> 'ppid' = f.ppid
              WHEN 'pathway_event' THEN r.raw ->> 'ppid' = f.ppid AND r.raw ->> 'event_ref' = f.event_ref
              ELSE r.raw ->> 'ppid' = f.ppid AND r.raw ->> 'entry_ref' = f.entry_ref
          END
LEFT JOIN ptl.load_warning w
       ON w.batch_id = f.batch_id AND w.extract = f.extract AND w.column_name = f.column_name
      AND w.record_key = CASE f.extract
              WHEN 'patient' THEN ARRAY[f.local_patient_id]
              WHEN 'pathway' THEN ARRAY[f.ppid_issuer, f.ppid]
              WHEN 'pathway_event' THEN ARRAY[f.ppid_issuer, f.ppid, f.event_ref]
              ELSE ARRAY[f.ppid_issuer, f.ppid, f.entry_ref]
          END
WHERE f.expected_reason IS NOT NULL AND f.expected_reason <> 'invalid_nhs_number';

SELECT cmp_ok((SELECT count(*) FROM fault), '>', 100::bigint,
    'the generator planted malformed dates and codes in every extract');
SELECT cmp_ok((SELECT count(DISTINCT policy) FROM fault), '=', 3::bigint,
    'faults of every kind of the policy are planted: quarantine, load_without, placeholder');
SELECT is((SELECT count(*) FROM fault WHERE policy = 'quarantine' AND (rejected_id IS NULL OR warning_id IS NOT NULL)), 0::bigint,
    'every planted fault the policy quarantines is quarantined');
SELECT is((SELECT count(*) FROM fault WHERE policy = 'quarantine' AND got_reason IS DISTINCT FROM expected_reason), 0::bigint,
    'each with the reason the truth expects (invalid_date, invalid_code, missing_required)');
SELECT is((SELECT count(*) FROM fault WHERE policy = 'quarantine' AND got_column IS DISTINCT FROM column_name), 0::bigint,
    'and the column the fault is in');
SELECT is((SELECT count(*) FROM fault WHERE policy <> 'quarantine' AND (rejected_id IS NOT NULL OR warning_id IS NULL)), 0::bigint,
    'every planted fault the policy loads with a warning loads, with a warning on its column');
SELECT is((SELECT count(*) FROM fault
           WHERE policy <> 'quarantine'
             AND warned_reason IS DISTINCT FROM CASE WHEN policy = 'placeholder' THEN 'placeholder_' || (SELECT c.code_table FROM ptl.extract_column c WHERE c.extract = fault.extract AND c.column_name = fault.column_name)
                                                     WHEN expected_reason = 'invalid_code' THEN 'invalid_' || column_name
                                                     ELSE expected_reason END), 0::bigint,
    'each warning with the reason its column rule gives (placeholder_*, invalid_<column>, invalid_date)');

-- Quarantined rows that no fault explains directly must be children of a
-- quarantined parent: no false alarms.
SELECT is((SELECT count(*) FROM ptl.rejected_row r
           WHERE r.reason <> 'parent_rejected'
             AND r.rejected_id NOT IN (SELECT rejected_id FROM fault WHERE rejected_id IS NOT NULL)),
    0::bigint, 'no row is quarantined that the truth did not spoil');
SELECT is((SELECT count(*) FROM ptl.rejected_row r WHERE r.reason = 'parent_rejected'),
    0::bigint, 'no pathway or event falls with its parent: no planted fault quarantines a patient or a pathway');

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
SELECT is((SELECT count(*) FROM ptl.load_warning w
           WHERE w.warning_id NOT IN (SELECT warning_id FROM fault WHERE warning_id IS NOT NULL)),
          (SELECT count(*) FROM ptl_synth.injected_fault WHERE expected_reason = 'invalid_nhs_number'),
    'and there are no other warnings');

SELECT ok((SELECT bool_and(rows_read = rows_loaded + rows_updated + rows_quarantined) FROM loaded),
    'nothing is lost in any batch');

SELECT * FROM finish();
ROLLBACK;
