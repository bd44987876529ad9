-- What a manager looks at first after a load (scripts/demo).
\pset footer off
\echo
\echo '==> rows loaded and quarantined per batch (read = loaded + updated + quarantined)'
SELECT batch_id AS batch, org_code AS org, site_code AS site, extract,
       rows_read AS read, rows_loaded AS loaded, rows_updated AS updated,
       rows_quarantined AS quarantined, rows_with_warnings AS warnings, nothing_lost
FROM ptl.load_summary
ORDER BY batch_id, array_position('{patient,pathway,pathway_event,waiting_list_entry}'::text[], extract);

\echo '==> quarantined rows by reason (all batches)'
SELECT extract, reason, column_name AS "column", sum(rows_quarantined) AS "rows",
       min(example_message) AS example
FROM ptl.quarantine_summary
GROUP BY extract, reason, column_name
ORDER BY 4 DESC;

\echo '==> values left out of loaded rows (warnings)'
SELECT extract, reason, count(*) AS "rows", min(message) AS example
FROM ptl.load_warning GROUP BY extract, reason ORDER BY 3 DESC;

\echo '==> pathways per provider and RTT specialty line'
SELECT l.name AS specialty,
       count(*) FILTER (WHERE o.rn = 1) AS "provider 1",
       count(*) FILTER (WHERE o.rn = 2) AS "provider 2",
       count(*) FILTER (WHERE o.rn = 3) AS "provider 3",
       count(*) FILTER (WHERE o.rn > 3) AS "others",
       count(*) AS total
FROM ptl.pathway p
JOIN ptl.treatment_function tf ON tf.tfc = p.treatment_function
JOIN ptl.rtt_line l ON l.line_code = tf.rtt_line
JOIN (SELECT org_code, row_number() OVER (ORDER BY org_code) AS rn
      FROM ptl.organisation WHERE org_kind = 'nhs_trust') o ON o.org_code = p.provider_org
GROUP BY l.name, l.sort_order
ORDER BY l.sort_order;
\echo '    providers:'
SELECT row_number() OVER (ORDER BY org_code) AS provider, org_code, name,
       (SELECT count(*) FROM ptl.pathway p WHERE p.provider_org = o.org_code) AS pathways,
       (SELECT count(*) FROM ptl.site s WHERE s.org_code = o.org_code) AS sites
FROM ptl.organisation o WHERE org_kind = 'nhs_trust' ORDER BY org_code;
