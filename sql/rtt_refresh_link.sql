-- Pathway linkage (src/link/pathway.sql) on the small ICS (sql/include/small_ics.sql):
-- a transfer to a provider that issued a new PPID, a transfer whose
-- receiver recorded the wrong original start, and duplicates.
\ir sql/include/small_ics.sql
BEGIN;
SELECT array_agg(x::text ORDER BY x) AS nhs
FROM (SELECT x FROM generate_series(9450000000::bigint, 9450000200) x WHERE nhs_number_valid(x::text) LIMIT 4) v
\gset
-- One person each: their records at RA1 and RA2 share an NHS number.
SELECT count(rtt_test_pathway(provider, ppid, tfc, events, issuer => issuer,
                              nhs => (:'nhs'::text[])[person], ubrn => ubrn)) AS pathways
FROM (VALUES
    -- RTT guidance 11: RA2 should have kept PPID IPT1 but issued its own;
    -- its transfer in carries the original start.
    (1, 'RA1', 'IPT1', 'RA1', '100', '2025-01-02 referral; 2025-01-20 outpatient 20; 2025-02-01 transfer_out 21', NULL),
    (1, 'RA2', 'IPTB1', 'RA2', '100', '2025-02-05 transfer_in 20 2025-01-02; 2025-03-01 outpatient 20', NULL),
    -- Same PPID, but RA2 entered the transfer date as the clock start.
    (2, 'RA1', 'IPT2', 'RA1', '130', '2025-01-05 referral; 2025-02-01 transfer_out 21', NULL),
    (2, 'RA2', 'IPT2', 'RA1', '130', '2025-02-10 transfer_in 20 2025-02-10', NULL),
    -- The same referral opened at both providers, no transfer: counted once.
    (3, 'RA1', 'DUPA', 'RA1', '110', '2025-01-10 referral', NULL),
    (3, 'RA2', 'DUPB', 'RA2', '110', '2025-02-01 referral', NULL),
    -- One UBRN on two pathways in different treatment functions.
    (4, 'RA2', 'UBR1', 'RA2', '120', '2025-01-15 referral', '123456789012'),
    (4, 'RA1', 'UBR2', 'RA1', '330', '2025-01-20 referral', '123456789012')
) v (person, provider, ppid, issuer, tfc, events, ubrn);

CALL refresh('2025-03-31');

-- ICS pathways: IPT1 and IPTB1 by the matched transfer, the IPT2 records by PPID.
SELECT p.provider_org, p.ppid, l.method, q.ppid AS ics_pathway_of
FROM pathway_link l JOIN pathway p USING (pathway_id) JOIN pathway q ON q.pathway_id = l.ics_pathway_id
WHERE p.ppid ~ '^(IPT|DUP|UBR)' ORDER BY p.ppid, p.provider_org;
SELECT r.ppid AS receiver, s.ppid AS sender, t.transferred_out_on, t.direct
FROM pathway_transfer t JOIN pathway r ON r.pathway_id = t.receiver_pathway_id
JOIN pathway s ON s.pathway_id = t.sender_pathway_id
ORDER BY 1, 2;

-- The receivers' clocks run on the merged events: both keep the original
-- start (2 and 5 January), IPT2 although RA2 recorded 10 February.
SELECT provider_org, ppid, clock_start, days_waited FROM ptl WHERE ppid ~ '^(IPT|DUP|UBR)' ORDER BY ppid;
SELECT p.ppid, i.rule_id, i.detail FROM validation_issue i JOIN pathway p USING (pathway_id)
WHERE p.ppid ~ '^IPT' AND i.rule_id IN ('V17', 'V20') ORDER BY 1, 2;

-- Duplicates are listed and left off the PTL (above): the later clock start goes.
SELECT p.ppid, p.provider_org, d.reason, k.ppid AS kept
FROM pathway_duplicate d JOIN pathway p USING (pathway_id) JOIN pathway k ON k.pathway_id = d.kept_pathway_id
ORDER BY 1;

-- Linkage is data-driven: with a 2-day window the new-PPID transfer is not
-- matched, IPTB1 is a pathway of its own again (its clock starts on the
-- date its transfer in carries).
INSERT INTO link_setting (transfer_window_days) VALUES (2);
CALL refresh('2025-03-31');
SELECT p.ppid, l.method, r.clock_start
FROM pathway_link l JOIN pathway p USING (pathway_id) JOIN ptl r USING (pathway_id)
WHERE p.ppid = 'IPTB1';
ROLLBACK;
\ir sql/include/small_ics_drop.sql
