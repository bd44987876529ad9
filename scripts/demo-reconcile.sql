-- Demo: one trust's reconciliation and outbound actions (docs/outbound.md).
-- Run with psql on a database where ptl has loaded and refreshed an ICS
-- (e.g. ptl_synth.generate(...), ptl.load of each batch, CALL ptl.refresh):
--   psql -v trust=RZ1 -f scripts/demo-reconcile.sql
-- It declares, for each of the trust's loaded batches that declared none,
-- the source counts the synthetic generator's truth gives (when ptl_synth is
-- installed), then shows the reconciliation, the trust's outbound actions
-- as the PAS team receives them, and the contradictions.  It changes only
-- ptl.batch_source_count.
\if :{?trust}
\else
\set trust RZ1
\endif
\pset null ''

\echo '== Declared source counts (from the generator''s truth, for batches that declared none)'
SELECT b.batch_id, ptl.declare_source_counts(b.batch_id, c.counts) AS treatment_functions
FROM ptl.batch b
CROSS JOIN LATERAL (
    SELECT jsonb_object_agg(t.tfc, t.n) AS counts
    FROM (SELECT coalesce(p.treatment_function, r.raw ->> 'treatment_function') AS tfc, count(*) AS n
          FROM ptl_synth.pathway_truth t
          -- (the treatment function the PAS holds, as it sent it)
          LEFT JOIN ptl.pathway p ON p.provider_org = t.org_code AND p.ppid_issuer = t.ppid_issuer AND p.ppid = t.ppid
          LEFT JOIN LATERAL (SELECT r.raw FROM ptl.rejected_row r
                             WHERE r.batch_id = t.batch_id AND r.extract = 'pathway' AND r.raw ->> 'ppid' = t.ppid
                             LIMIT 1) r ON true
          WHERE t.batch_id = b.batch_id AND t.expected_outcome IN ('waiting', 'duplicate')
          GROUP BY 1) t) c
WHERE b.org_code = :'trust' AND b.status = 'loaded' AND NOT ptl_internal.is_ptl_source(b.source_system)
  AND to_regclass('ptl_synth.pathway_truth') IS NOT NULL AND c.counts IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM ptl.batch_source_count s WHERE s.batch_id = b.batch_id)
ORDER BY b.batch_id;

\echo '== Reconciliation: the source''s open pathways against the PTL, every difference explained'
SELECT r.*
FROM ptl.batch b
CROSS JOIN LATERAL ptl.reconcile(b.batch_id) r
WHERE b.org_code = :'trust'
  AND EXISTS (SELECT 1 FROM ptl.batch_source_count s WHERE s.batch_id = b.batch_id)
  AND (r.difference <> 0 OR r.unexplained <> 0)
ORDER BY r.site_code, r.treatment_function;

\echo '== Totals per batch'
SELECT b.batch_id, b.site_code, sum(r.source_open) AS source_open, sum(r.ptl_open) AS ptl_open,
       sum(r.quarantined) AS quarantined, sum(r.stop_quarantined) AS stop_quarantined, sum(r.duplicate) AS duplicate, sum(r.outside_rtt) AS outside_rtt,
       sum(r.transferred) AS transferred, sum(r.provisional) AS provisional, sum(r.unexplained) AS unexplained
FROM ptl.batch b
CROSS JOIN LATERAL ptl.reconcile(b.batch_id) r
WHERE b.org_code = :'trust'
  AND EXISTS (SELECT 1 FROM ptl.batch_source_count s WHERE s.batch_id = b.batch_id)
GROUP BY b.batch_id, b.site_code ORDER BY b.batch_id;

\echo '== Outbound actions by state'
SELECT action_kind, state, count(*) FROM ptl.outbound_actions(:'trust') GROUP BY 1, 2 ORDER BY 1, 2;

\echo '== The file for the PAS team (first lines)'
SELECT line FROM ptl.outbound_actions_csv(:'trust') AS line LIMIT 6;

\echo '== Contradictions: the PAS''s record stands'
SELECT action_id, action_kind, ppid, proposed_date, resolution_rule, resolution
FROM ptl.outbound_contradiction WHERE provider_org = :'trust' ORDER BY action_id;
