-- ---------------------------------------------------------------------------
-- ptl_synth.validation_recall(): how many of the faults generate() planted
-- ptl's validation rules find, after ptl.load() of every batch and
-- ptl.refresh().  The table of rules against injected faults in
-- docs/rtt-engine.md ("Validation") comes from here; test/pgtap/validation_truth.sql asserts it.
-- ---------------------------------------------------------------------------

-- The validation rule that should find a fault (NULL: the loader or linkage
-- finds it, not validation).  A second record of a person made with typing
-- slips may have lost its NHS number (V01) or mistyped it (V02).
CREATE FUNCTION ptl_synth.fault_rule(f ptl_synth.injected_fault) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE f.fault_kind
    WHEN 'missing_nhs_number' THEN 'V01'
    WHEN 'invalid_nhs_number' THEN 'V02'
    WHEN 'duplicate_pathway' THEN 'V07'
    WHEN 'cross_site_duplicate_patient' THEN
        CASE WHEN 'nhs_number' = ANY (string_to_array(f.column_name, ',')) THEN
            CASE WHEN trim(split_part(f.bad_value, ' | ',
                                      array_position(string_to_array(f.column_name, ','), 'nhs_number'))) = ''
                 THEN 'V01'
                 WHEN NOT ptl.nhs_number_valid(split_part(f.bad_value, ' | ',
                                      array_position(string_to_array(f.column_name, ','), 'nhs_number')))
                 THEN 'V02' END END END;
COMMENT ON FUNCTION ptl_synth.fault_rule(ptl_synth.injected_fault) IS
    'Validation rule expected to find an injected fault (NULL for faults the loader or linkage finds)';

-- Each planted fault with the pathway records it concerns: a patient fault
-- concerns the patient's pathways, a pathway fault its own record.
CREATE VIEW ptl_synth.fault_pathway AS
SELECT f.fault_id, f.fault_kind, ptl_synth.fault_rule(f) AS rule_id, p.pathway_id
FROM ptl_synth.injected_fault f
JOIN ptl.batch b ON b.batch_id = f.batch_id
JOIN ptl.patient pa ON pa.org_code = b.org_code AND pa.source_system = b.source_system
                   AND pa.local_patient_id = f.local_patient_id
JOIN ptl.pathway p ON p.patient_id = pa.patient_id
                  AND (f.extract = 'patient' OR (p.ppid_issuer = f.ppid_issuer AND p.ppid = f.ppid))
WHERE ptl_synth.fault_rule(f) IS NOT NULL;
COMMENT ON VIEW ptl_synth.fault_pathway IS 'Each injected fault a validation rule should find, with the loaded pathway records it concerns';
COMMENT ON COLUMN ptl_synth.fault_pathway.fault_id IS 'The fault';
COMMENT ON COLUMN ptl_synth.fault_pathway.fault_kind IS 'Its kind';
COMMENT ON COLUMN ptl_synth.fault_pathway.rule_id IS 'The rule that should find it';
COMMENT ON COLUMN ptl_synth.fault_pathway.pathway_id IS 'A pathway record it concerns';

CREATE FUNCTION ptl_synth.validation_recall()
RETURNS TABLE (fault_kind text, rule_id text, injected bigint, on_open_pathway bigint,
               found bigint, missed bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH per_fault AS (
        SELECT f.fault_id, f.fault_kind, ptl_synth.fault_rule(f) AS rule_id,
               bool_or(o.pathway_id IS NOT NULL) AS open,
               bool_or(i.pathway_id IS NOT NULL) AS found
        FROM ptl_synth.injected_fault f
        LEFT JOIN ptl_synth.fault_pathway fp ON fp.fault_id = f.fault_id
        LEFT JOIN ptl.rtt_open_period o ON o.pathway_id = fp.pathway_id
        LEFT JOIN ptl.validation_issue i ON i.pathway_id = fp.pathway_id AND i.rule_id = fp.rule_id
        WHERE ptl_synth.fault_rule(f) IS NOT NULL
        GROUP BY f.fault_id, f.fault_kind)
    SELECT fault_kind, rule_id, count(*), count(*) FILTER (WHERE open),
           count(*) FILTER (WHERE found), count(*) FILTER (WHERE open AND NOT found)
    FROM per_fault
    GROUP BY fault_kind, rule_id
    ORDER BY rule_id;
END;
COMMENT ON FUNCTION ptl_synth.validation_recall() IS
    'Per fault kind: faults injected, those on a pathway still open at the census (the rules look at open pathways), found by the expected rule, and open ones missed';
