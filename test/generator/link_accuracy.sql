-- ---------------------------------------------------------------------------
-- Person linkage against the generator's truth: pairwise precision, recall
-- and F1 of ptl.person_link, and of a plain deterministic match on valid NHS
-- numbers over the same records (the floor linkage must beat).
-- Pairs are counted from group sizes, so a million records cost one pass:
-- predicted pairs = sum of C(n, 2) over persons, true pairs over true
-- persons, true positives over (person, true person) groups.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ptl_synth.pairwise_accuracy(assignment regclass)
RETURNS TABLE (predicted_pairs bigint, true_pairs bigint, true_positives bigint,
               "precision" float8, recall float8, f1 float8)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY EXECUTE format($q$
        WITH a AS (SELECT record_id, predicted, truth FROM %s),
        pred AS (SELECT coalesce(sum(n * (n - 1) / 2), 0)::bigint AS n
                 FROM (SELECT count(*) AS n FROM a GROUP BY predicted) x),
        tru AS (SELECT coalesce(sum(n * (n - 1) / 2), 0)::bigint AS n
                FROM (SELECT count(*) AS n FROM a GROUP BY truth) x),
        tp AS (SELECT coalesce(sum(n * (n - 1) / 2), 0)::bigint AS n
               FROM (SELECT count(*) AS n FROM a GROUP BY predicted, truth) x)
        SELECT pred.n, tru.n, tp.n,
               CASE WHEN pred.n > 0 THEN tp.n::float8 / pred.n END,
               CASE WHEN tru.n > 0 THEN tp.n::float8 / tru.n END,
               CASE WHEN pred.n + tru.n > 0 THEN 2 * tp.n::float8 / (pred.n + tru.n) END
        FROM pred, tru, tp$q$, assignment);
END
$$;
COMMENT ON FUNCTION ptl_synth.pairwise_accuracy(regclass) IS
    'Pairwise precision, recall and F1 of a record-to-cluster assignment: a relation with columns record_id, predicted (cluster) and truth (true entity)';

-- Loaded patient records with their true person, ptl's person, and the
-- person a plain NHS-number match would give (the record itself when it has
-- no valid number).
CREATE VIEW ptl_synth.person_link_truth AS
SELECT p.patient_id AS record_id, pl.person_id AS predicted, r.person_id AS truth,
       coalesce('n' || p.nhs_number::text, 'r' || p.patient_id::text) AS nhs_match
FROM ptl.patient p
JOIN ptl_synth.patient_record r
  ON r.org_code = p.org_code AND r.source_system = p.source_system AND r.local_patient_id = p.local_patient_id
LEFT JOIN ptl.person_link pl ON pl.patient_id = p.patient_id;
COMMENT ON VIEW ptl_synth.person_link_truth IS
    'Each loaded patient record: ptl''s person, the true person, and the cluster of a plain NHS-number match';

CREATE VIEW ptl_synth.nhs_match_truth AS
SELECT record_id, nhs_match AS predicted, truth FROM ptl_synth.person_link_truth;
COMMENT ON VIEW ptl_synth.nhs_match_truth IS
    'The deterministic baseline: records clustered by valid NHS number alone';

CREATE FUNCTION ptl_synth.link_accuracy()
RETURNS TABLE (method text, predicted_pairs bigint, true_pairs bigint, true_positives bigint,
               "precision" float8, recall float8, f1 float8)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT 'ptl.link_persons', a.* FROM ptl_synth.pairwise_accuracy('ptl_synth.person_link_truth') a
    UNION ALL
    SELECT 'nhs_number_only', b.* FROM ptl_synth.pairwise_accuracy('ptl_synth.nhs_match_truth') b;
END;
COMMENT ON FUNCTION ptl_synth.link_accuracy() IS
    'Pairwise precision, recall and F1 of ptl''s person linkage and of a plain NHS-number match, against the generator''s truth';
