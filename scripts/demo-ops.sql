-- Access and audit on the demo ICS (scripts/demo).  A trust's reader sees
-- its own trust's list, without identifiers; the ICS's analyst sees all.
\pset footer off
DO $$
BEGIN
    IF to_regrole('demo_trust_reader') IS NULL THEN
        CREATE ROLE demo_trust_reader IN ROLE ptl_reader;
        CREATE ROLE demo_ics_analyst IN ROLE ptl_analyst;
    END IF;
END $$;
INSERT INTO ptl.user_organisation (role_name, org_code)
SELECT 'demo_trust_reader', min(org_code) FROM ptl.organisation WHERE org_kind = 'nhs_trust'
UNION ALL
SELECT 'demo_ics_analyst', min(org_code) FROM ptl.organisation WHERE org_kind = 'ics'
ON CONFLICT DO NOTHING;

\echo '==> the PTL as a trust''s reader sees it (its trust, and pathways transferred to or from it; NHS numbers blank)'
SET ROLE demo_trust_reader;
SELECT provider_org AS provider, count(*) AS pathways, count(nhs_number) AS with_nhs_number_shown
FROM ptl.ptl GROUP BY 1 ORDER BY 1;
RESET ROLE;
\echo '==> and as the ICS''s analyst sees it (every trust)'
SET ROLE demo_ics_analyst;
SELECT provider_org AS provider, count(*) AS pathways, count(nhs_number) AS with_nhs_number_shown
FROM ptl.ptl GROUP BY 1 ORDER BY 1;
RESET ROLE;

\echo '==> a clinical priority review, and the audit trail it leaves'
SELECT ptl.review_clinical_priority(e.entry_id, 'P2', 'Consultant (demo)', '2025-03-31', 'symptoms worse') AS history_id
FROM ptl.waiting_list_entry e
WHERE e.removed_date IS NULL AND e.decision_to_admit <= '2025-03-31'
ORDER BY e.entry_id LIMIT 1 \gset
SELECT changed_by, action, table_name, row_key, column_name, old_value, new_value
FROM ptl.audit_log WHERE row_key = jsonb_build_object('history_id', :history_id) ORDER BY audit_id;
