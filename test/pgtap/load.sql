-- Loading with quarantine: behaviour, SQLSTATEs and the accounting rule.
BEGIN;
SELECT plan(26);

INSERT INTO ptl.organisation (org_code, name) VALUES ('RZZ', 'Test Hospitals NHS Trust');
INSERT INTO ptl.site (site_code, org_code, name) VALUES ('RZZ01', 'RZZ', 'Test General Hospital');

-- Opening a batch checks the organisation and site.
SELECT throws_ok($$SELECT ptl.open_batch('NOPE', 'PAS')$$, '23503',
    'organisation "NOPE" is not in ptl.organisation', 'a batch needs a known organisation');
SELECT throws_ok($$SELECT ptl.open_batch('RZZ', 'PAS', 'XXX01')$$, '23503',
    'site "XXX01" is not a site of organisation "RZZ"', 'a batch''s site must belong to its organisation');
SELECT throws_ok($$SELECT ptl.load(NULL)$$, '22004', 'no batch to load', 'ptl.load needs a batch');
SELECT throws_ok($$SELECT ptl.load(-1)$$, 'P0002', 'batch -1 does not exist', 'an unknown batch is an error');

-- Staged rows default to the batch this session opened.
SELECT ptl.open_batch('RZZ', 'PAS', 'RZZ01', 'pgtap') AS b \gset
INSERT INTO ptl_stage.patient (local_patient_id, nhs_number, date_of_birth) VALUES
    ('P1', '943 476 5919', '1950-01-01'),
    ('P2', '943-476-5919', '01/02/1950'),
    ('P3', '1234567890', '1950-01-01'),
    ('P4', NULL, '1950-02-29');
SELECT is((SELECT count(*) FROM ptl_stage.patient WHERE batch_id = :b), 4::bigint,
    'COPY or INSERT without a batch column fills the session''s batch');

-- A batch with 1 bad row in 100,000 loads the other 99,999: the row whose
-- PPID cannot identify a pathway (a space in it) is quarantined; the row
-- with an impossible referral date loads without it (docs/loading.md).
INSERT INTO ptl_stage.pathway (local_patient_id, ppid, ppid_issuer, treatment_function, referral_received)
SELECT 'P1', CASE WHEN i = 50000 THEN 'RZZ 50000' ELSE 'RZZ-' || i END, 'RZZ', '110',
       CASE WHEN i = 60000 THEN '2025-13-01' ELSE (date '2024-01-01' + (i % 400))::text END
FROM generate_series(1, 100000) i;

CREATE TEMP TABLE result AS SELECT * FROM ptl.load(:b);
SELECT is((SELECT rows_quarantined FROM result WHERE extract = 'patient'), 0::bigint,
    'the impossible date of birth 1950-02-29 does not quarantine its row (docs/loading.md)');
SELECT is((SELECT rows_with_warnings FROM result WHERE extract = 'patient'), 2::bigint,
    'an invalid NHS number and an impossible date of birth are warnings, not quarantines');
SELECT is((SELECT w.reason || ' ' || w.sqlstate || ' ' || (p.date_of_birth IS NULL)
           FROM ptl.load_warning w JOIN ptl.patient p ON p.local_patient_id = 'P4' AND p.batch_id = w.batch_id
           WHERE w.batch_id = :b AND w.column_name = 'date_of_birth'),
    'invalid_date 22008 true', 'the patient loads without the impossible date, and the warning says why');
SELECT is((SELECT rows_loaded FROM result WHERE extract = 'pathway'), 99999::bigint,
    'one bad row in 100,000 does not stop the other 99,999');
SELECT is((SELECT reason FROM ptl.rejected_row WHERE batch_id = :b AND extract = 'pathway'), 'invalid_code',
    'the unidentifiable PPID is quarantined as invalid_code');
SELECT is((SELECT w.reason || ' ' || w.sqlstate || ' ' || (p.referral_received IS NULL)
           FROM ptl.load_warning w JOIN ptl.pathway p ON p.ppid = 'RZZ-60000'
           WHERE w.batch_id = :b AND w.extract = 'pathway'),
    'invalid_date 22008 true', 'the impossible referral date is a warning with the date parser''s SQLSTATE, and the pathway loads without it');
SELECT is((SELECT row_in_extract FROM ptl.rejected_row WHERE batch_id = :b AND extract = 'pathway'), 50000::bigint,
    'and the row''s position in the extract');
SELECT ok((SELECT bool_and(rows_read = rows_loaded + rows_updated + rows_quarantined) FROM result),
    'read = loaded + updated + quarantined for every extract');
SELECT is((SELECT count(*) FROM ptl_stage.pathway WHERE batch_id = :b), 0::bigint,
    'staging is cleared once the batch is loaded');
SELECT is((SELECT nhs_number::text FROM ptl.patient WHERE local_patient_id = 'P2'), '943 476 5919',
    'NHS numbers written with hyphens load');
SELECT is((SELECT date_of_birth FROM ptl.patient WHERE local_patient_id = 'P2'), date '1950-02-01',
    'DD/MM/YYYY dates are read day first (UK extracts)');
SELECT is((SELECT nhs_number_as_recorded FROM ptl.patient WHERE local_patient_id = 'P3' AND nhs_number IS NULL),
    '1234567890', 'the invalid NHS number is kept as recorded');
SELECT throws_ok(format('SELECT ptl.load(%s)', :b), '55000', NULL, 'a batch loads once');

-- The accounting is a constraint: a load that lost a row could not commit.
SELECT throws_ok($$INSERT INTO ptl.batch_extract VALUES (
        (SELECT min(batch_id) FROM ptl.batch), 'lost', 10, 5, 0, 0, 4, 0, 1)$$,
    '23514', NULL, 'a summary where read <> loaded + updated + quarantined is refused');

-- Re-loading the same extract creates nothing new.
SELECT ptl.open_batch('RZZ', 'PAS', 'RZZ01', 'again') AS b2 \gset
INSERT INTO ptl_stage.pathway (local_patient_id, ppid, ppid_issuer, treatment_function, referral_received)
SELECT 'P1', 'RZZ-' || i, 'RZZ', '110', (date '2024-01-01' + (i % 400))::text
FROM generate_series(1, 100000) i WHERE i <> 50000;
CREATE TEMP TABLE result2 AS SELECT * FROM ptl.load(:b2);
SELECT is((SELECT rows_loaded FROM result2 WHERE extract = 'pathway'), 0::bigint,
    'a re-sent extract loads no new pathways');
SELECT is((SELECT rows_unchanged FROM result2 WHERE extract = 'pathway'), 99998::bigint,
    'and finds them unchanged, but for the one whose referral date it now gives');
SELECT is((SELECT resolved_in FROM ptl.load_warning WHERE batch_id = :b AND extract = 'pathway'), :b2::bigint,
    'the re-sent row without the fault resolves the earlier warning (V32 no longer lists it)');
SELECT is((SELECT count(*) FROM ptl.pathway WHERE provider_org = 'RZZ'), 99999::bigint,
    'no duplicate pathways');

-- Every type's own parser decides: a kind that is not an event kind is
-- quarantined, a code that is not an RTT status is left out (the event
-- loads), each with the type's message.
SELECT ptl.open_batch('RZZ', 'PAS', 'RZZ01', 'codes') AS b3 \gset
INSERT INTO ptl_stage.pathway_event (ppid_issuer, ppid, event_ref, event_date, kind, rtt_status) VALUES
    ('RZZ', 'RZZ-1', 'E1', '2025-01-01', 'referral', NULL),
    ('RZZ', 'RZZ-1', 'E2', '2025-01-02', 'outpatient', '13'),
    ('RZZ', 'RZZ-1', 'E3', '2025-01-03', 'appointment', '20');
SELECT * FROM ptl.load(:b3) \g /dev/null
SELECT results_eq(
    format('SELECT column_name, reason, sqlstate FROM ptl.rejected_row WHERE batch_id = %s
            UNION ALL SELECT column_name, reason, sqlstate FROM ptl.load_warning WHERE batch_id = %s', :b3, :b3),
    $$VALUES ('kind', 'invalid_code', '22P02'), ('rtt_status', 'invalid_rtt_status', '22P02')$$,
    'an unknown event kind is quarantined, an unknown RTT status is a warning, both with 22P02');
SELECT ok((SELECT bool_and(message LIKE '%is not a valid%')
           FROM (SELECT message FROM ptl.rejected_row WHERE batch_id = :b3
                 UNION ALL SELECT message FROM ptl.load_warning WHERE batch_id = :b3) m),
    'the message says which value is not valid');
SELECT is((SELECT count(*) FROM ptl.pathway_event WHERE batch_id = :b3), 2::bigint,
    'the other two events load');

SELECT * FROM finish();
ROLLBACK;
