-- Validation rules (ptl.validation_rule): one pathway breaking each rule ptl
-- checks, on the small ICS of sql/include/small_ics.sql.
\ir sql/include/small_ics.sql
BEGIN;
SELECT count(rtt_test_pathway(provider, ppid, tfc, events, nhs => nhs, born => born::date, died => died::date, ubrn => ubrn)) AS pathways
FROM (VALUES
    ('RA1', 'V01', '110', '2025-01-06 referral', NULL, '1960-01-01', NULL::date, NULL),
    ('RA1', 'V02A', '110', '2025-01-06 referral', '943 476 5918', '1960-01-01', NULL, NULL),
    ('RA1', 'V02B', '120', '2025-01-06 referral', '000 000 0000', '1960-01-01', NULL, NULL),
    ('RA1', 'V05', '110', '2025-01-06 referral', 'auto', '2025-02-01', NULL, NULL),
    ('RA1', 'V09', '110', '2025-01-06 referral', 'auto', '1930-01-01', '2025-03-01', NULL),
    ('RA1', 'V10', '130', '2024-06-03 referral; 2024-07-01 outpatient 10', 'auto', '1960-01-01', NULL, NULL),
    ('RA1', 'V15', '110', '2025-01-06 referral; 2025-01-20 outpatient 10; 2025-02-03 dna 33', 'auto', '1960-01-01', NULL, NULL),
    ('RA1', 'V16', '110', '2024-10-07 referral; 2024-11-04 admission 30; 2025-01-06 outpatient 20', 'auto', '1960-01-01', NULL, NULL),
    ('RA1', 'V17', '110', '2025-01-06 referral; 2025-01-20 outpatient 10; 2025-02-03 outpatient 10', 'auto', '1960-01-01', NULL, NULL),
    ('RA1', 'V03', '110', '2025-03-10 transfer_in 20 2025-04-15', 'auto', '1960-01-01', NULL, NULL),
    ('RA1', 'V04', '110', '2025-01-06 referral; 2025-02-03 death 36 2024-12-01', 'auto', '1960-01-01', NULL, NULL),
    ('RA1', 'V18', '110', '2024-11-04 referral; 2025-01-20 dna 33; 2025-02-10 transfer_in 20 2024-11-04', 'auto', '1960-01-01', NULL, NULL),
    ('RA1', 'V19', '110', '2025-01-06 referral; 2025-02-03 transfer_out 21', 'auto', '1960-01-01', NULL, NULL),
    ('RA1', 'V24', '110', '2025-01-06 referral; 2025-01-20 outpatient 10; 2025-02-03 discharge', 'auto', '1960-01-01', NULL, NULL),
    ('RA1', 'V25', '110', '2025-01-06 referral; 2025-01-20 decision 32; 2025-01-27 outpatient 20', 'auto', '1960-01-01', NULL, NULL),
    ('RA1', 'V27', '110', '2025-01-06 referral; 2025-01-20 outpatient 99', 'auto', '1960-01-01', NULL, NULL),
    ('RA1', 'V23', '840', '2025-01-06 referral', 'auto', '1960-01-01', NULL, NULL),
    -- V23 lists only a record that would be waiting: this one was discharged
    ('RA1', 'V23X', '840', '2025-01-06 referral; 2025-02-03 discharge 34', 'auto', '1960-01-01', NULL, NULL),
    -- V06: a transfer in without the original clock start; V31: a referral recorded outside RTT
    ('RA1', 'V06', '110', '2025-01-28 transfer_in 20', 'auto', '1960-01-01', NULL, NULL),
    ('RA1', 'V31', '110', '2025-01-06 referral 98', 'auto', '1960-01-01', NULL, NULL),
    -- V07: the same NHS number open twice in one function at two providers (not a transfer)
    ('RA1', 'V07A', '101', '2025-01-06 referral', '943 476 5919', '1960-01-01', NULL, NULL),
    ('RA2', 'V07B', '101', '2025-02-06 referral', '943 476 5919', '1960-01-01', NULL, NULL),
    -- ... and a referral recorded twice, one record since closed: the open one is a duplicate
    ('RA1', 'V07C', '502', '2025-01-06 referral', '485 777 3457', '1960-01-01', NULL, NULL),
    ('RA1', 'V07D', '502', '2025-01-06 referral; 2025-02-03 outpatient 30', '485 777 3457', '1960-01-01', NULL, NULL),
    -- V08 and V20: a transfer whose sender never recorded the transfer out, received with the receipt date as start
    ('RA1', 'V08', '100', '2025-01-02 referral', 'auto', '1960-01-01', NULL, NULL),
    ('RA2', 'V08', '100', '2025-01-28 transfer_in 20 2025-01-28', 'auto', '1960-01-01', NULL, NULL),
    ('RA1', 'V20', '100', '2025-01-02 referral; 2025-01-27 transfer_out 21', 'auto', '1960-01-01', NULL, NULL),
    ('RA2', 'V20', '100', '2025-01-28 transfer_in 20 2025-01-28', 'auto', '1960-01-01', NULL, NULL)
) v (provider, ppid, tfc, events, nhs, born, died, ubrn);
-- V11 and V12: waiting-list entries that disagree with the clock
INSERT INTO waiting_list_entry (pathway_id, patient_id, entry_ref, intended_management, decision_to_admit, tci_date, batch_id)
SELECT pathway_id, patient_id, 'WL1', '1', date '2024-11-25', date '2025-03-03', 901 FROM pathway WHERE ppid = 'WAIT1'
UNION ALL
SELECT pathway_id, patient_id, 'WL1', '2', '2024-11-11', NULL, 901 FROM pathway WHERE ppid = 'DONE1';
-- V26: WAIT1 (126 days) was validated a month ago; BOOK1 (181 days) never.
INSERT INTO pathway_validation (pathway_id, validated_on, outcome)
SELECT pathway_id, '2025-03-01', 'correct' FROM pathway WHERE ppid = 'WAIT1';

CALL refresh('2025-03-31');

-- The work list, by rule.
SELECT rule_id, severity, provider_org, ppid, detail
FROM validation_issues ORDER BY rule_id, ppid, provider_org, detail;
-- Counts per rule and provider.
SELECT provider_org, rule_id, issues, pathways FROM validation_summary ORDER BY provider_org, rule_id;
-- Every implemented rule fired above.  Rules not implemented say what they lack.
SELECT r.rule_id, r.implemented,
       EXISTS (SELECT 1 FROM validation_issue i WHERE i.rule_id = r.rule_id) AS found,
       r.not_implemented_because
FROM validation_rule r ORDER BY r.rule_id;
-- The PTL carries each pathway's issues.
SELECT provider_org, ppid, validation_issues FROM ptl WHERE ppid IN ('V07A', 'V09', 'WAIT1') ORDER BY ppid;
-- Outside RTT (V23, V31): no clock, so neither on the PTL nor in the return;
-- an unknown clock start (V06) stays on the list, its wait unknown.
SELECT ppid, clock_start, days_waited, validation_issues FROM ptl WHERE ppid IN ('V06', 'V23', 'V23X', 'V31') ORDER BY ppid;
SELECT p.ppid, count(r.*) AS periods FROM pathway p LEFT JOIN rtt_period r USING (pathway_id)
WHERE p.ppid IN ('V06', 'V23', 'V23X', 'V31') GROUP BY p.ppid ORDER BY p.ppid;
ROLLBACK;

\ir sql/include/small_ics_drop.sql
