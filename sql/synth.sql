-- ptl_synth: the seeded synthetic ICS generator used by ptl's tests, demo and
-- benchmarks.  ptl_synth.generate() invents an integrated care system (trusts,
-- sites, commissioners, small areas), its patients and their elective
-- pathways, stages what each site's system would send (one batch per site,
-- not loaded), and keeps the truth behind the extracts in schema ptl_synth.
-- All data are synthetic; the same arguments give the same staged rows.
SET datestyle TO ISO, YMD;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS ptl_synth;   -- (an earlier script may have left it)
RESET client_min_messages;

-- 2,000 referrals, seed 7, census 2025-03-31, 3 trusts with 2 sites each.
-- It returns the batches it opened, one per site.
SELECT count(*) AS batches FROM ptl_synth.generate(2000, 7);

-- The synthetic ICS it added to ptl's reference tables.
SELECT o.org_code, o.name, o.org_kind, o.parent_org_code
FROM ptl.organisation o
JOIN ptl_synth.created_reference r ON r.table_name = 'organisation' AND r.key_value = o.org_code
ORDER BY o.org_kind, o.org_code;
SELECT s.site_code, s.org_code, s.name, s.postcode
FROM ptl.site s
JOIN ptl_synth.created_reference r ON r.table_name = 'site' AND r.key_value = s.site_code
ORDER BY s.site_code;
SELECT c.commissioner_code, c.commissioner_kind, c.parent_code
FROM ptl.commissioner c
JOIN ptl_synth.created_reference r ON r.table_name = 'commissioner' AND r.key_value = c.commissioner_code
ORDER BY c.commissioner_kind, c.commissioner_code;
SELECT count(*) AS lsoas, min(a.lsoa_code), max(a.lsoa_code), min(imd_decile), max(imd_decile)
FROM ptl.area_deprivation a
JOIN ptl_synth.created_reference r ON r.table_name = 'area_deprivation' AND r.key_value = a.lsoa_code;

-- One batch per site, each site's system with its own name.
SELECT b.org_code, b.site_code, b.source_system, b.label, b.status
FROM ptl.batch b
WHERE b.batch_id = ANY ((SELECT batch_ids FROM ptl_synth.run)::bigint[])
ORDER BY b.batch_id;

-- Staged rows per extract and trust.
SELECT b.org_code,
       (SELECT count(*) FROM ptl_stage.patient s WHERE s.batch_id IN
            (SELECT batch_id FROM ptl.batch x WHERE x.org_code = b.org_code AND x.batch_id = ANY (r.batch_ids))) AS patients,
       (SELECT count(*) FROM ptl_stage.pathway s WHERE s.batch_id IN
            (SELECT batch_id FROM ptl.batch x WHERE x.org_code = b.org_code AND x.batch_id = ANY (r.batch_ids))) AS pathways,
       (SELECT count(*) FROM ptl_stage.pathway_event s WHERE s.batch_id IN
            (SELECT batch_id FROM ptl.batch x WHERE x.org_code = b.org_code AND x.batch_id = ANY (r.batch_ids))) AS events,
       (SELECT count(*) FROM ptl_stage.waiting_list_entry s WHERE s.batch_id IN
            (SELECT batch_id FROM ptl.batch x WHERE x.org_code = b.org_code AND x.batch_id = ANY (r.batch_ids))) AS waiting_list
FROM ptl_synth.run r
CROSS JOIN LATERAL (SELECT DISTINCT org_code FROM ptl.batch WHERE batch_id = ANY (r.batch_ids)) b
ORDER BY b.org_code;

-- What a site sends: the first patient, pathway and events of the first
-- trust's second site (its system writes dates day first and NHS numbers
-- 3-3-4).
SELECT local_patient_id, nhs_number, given_name, family_name, date_of_birth, sex, postcode,
       address_line_1, ethnic_category, lsoa_code, gp_practice_code, commissioner_code
FROM ptl_stage.patient
WHERE batch_id = (SELECT batch_ids[2] FROM ptl_synth.run)
ORDER BY row_no LIMIT 3;
SELECT local_patient_id, ppid, ppid_issuer, ubrn, site_code, treatment_function, referral_priority,
       referral_received, commissioner_code, consultant_code
FROM ptl_stage.pathway
WHERE batch_id = (SELECT batch_ids[2] FROM ptl_synth.run)
ORDER BY row_no LIMIT 3;
SELECT e.event_ref, e.event_date, e.kind, e.rtt_status, e.ref_date, e.treatment_function
FROM ptl_stage.pathway_event e
WHERE e.batch_id = (SELECT batch_ids[2] FROM ptl_synth.run)
  AND (e.ppid_issuer, e.ppid) IN (SELECT ppid_issuer, ppid FROM ptl_stage.pathway
                                  WHERE batch_id = (SELECT batch_ids[2] FROM ptl_synth.run)
                                  ORDER BY row_no LIMIT 3)
ORDER BY e.row_no;

-- The truth: the story of each pathway record and its expected clock.
SELECT record_role, scenario, expected_outcome, count(*) AS records,
       round(avg(expected_days)) AS mean_days
FROM ptl_synth.pathway_truth
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3;

-- Waits at the census, shaped on NHS England's published RTT statistics.
SELECT count(*) AS waiting,
       round(avg((expected_days <= 126)::int), 2) AS within_18_weeks,
       round(avg((expected_days >= 365)::int), 3) AS over_52_weeks,
       round(avg(expected_dta::int), 2) AS with_decision_to_admit
FROM ptl_synth.pathway_truth
WHERE expected_outcome = 'waiting' AND record_role <> 'duplicate';

-- A transfer: the same PPID and issuer at two providers; the receiving
-- provider's first event is transfer_in with the original clock start.
SELECT t.org_code, t.record_role, t.transferred_from, t.expected_clock_start, e.kind, e.rtt_status,
       e.event_date, e.ref_date
FROM ptl_synth.pathway_truth t
JOIN ptl_stage.pathway_event e ON e.batch_id = t.batch_id AND e.ppid_issuer = t.ppid_issuer
                              AND e.ppid = t.ppid AND e.kind IN ('referral', 'transfer_out', 'transfer_in')
WHERE t.true_pathway_id = (SELECT min(true_pathway_id) FROM ptl_synth.pathway_truth WHERE scenario = 'transferred')
ORDER BY e.row_no;

-- Injected faults, and what the loader should say about them.
SELECT * FROM ptl_synth.fault_summary ORDER BY fault_kind, extract;
SELECT fault_kind, column_name, expected_reason, count(*)
FROM ptl_synth.injected_fault
WHERE fault_kind NOT IN ('cross_site_duplicate_patient')
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3;
-- A person recorded at a second site with typing slips (linkage truth).
SELECT f.column_name, f.bad_value, f.true_value, f.detail
FROM ptl_synth.injected_fault f
WHERE f.fault_kind = 'cross_site_duplicate_patient'
ORDER BY f.fault_id LIMIT 3;

-- Determinism: the same arguments stage byte-identical rows (the digest
-- ignores batch and row numbers, which differ between calls).
CREATE TEMP TABLE first_digest AS
SELECT * FROM ptl_synth.staging_digest((SELECT batch_ids FROM ptl_synth.run));
SELECT extract_name, row_count, digest FROM first_digest ORDER BY extract_name;
SELECT count(*) AS batches FROM ptl_synth.generate(2000, 7);
SELECT d.extract_name, d.row_count, d.digest = f.digest AS identical
FROM ptl_synth.staging_digest((SELECT batch_ids FROM ptl_synth.run)) d
JOIN first_digest f USING (extract_name)
ORDER BY d.extract_name;
-- ... and the reference rows were not added twice.
SELECT count(*) AS synthetic_organisations FROM ptl.organisation WHERE org_code ~ '^(QZZ|R[P-Z][1-9])$';

-- Arguments are checked.
\set VERBOSITY terse
SELECT ptl_synth.generate(0);
SELECT ptl_synth.generate(100, fault_rates => '{"typo": 0.1}');
SELECT ptl_synth.generate(100, fault_rates => '{"malformed_date": 2}');
SELECT ptl_synth.generate(100, trusts => 0);
SELECT ptl_synth.generate(100, census => '2999-01-01');
\set VERBOSITY default

-- Clean up: purge() removes the staged rows, batches and reference rows
-- the generator added (unloaded batches only); then the extension goes.
CREATE TEMP TABLE synthetic_batch AS SELECT batch_id FROM ptl_synth.generated_batch;
SELECT ptl_synth.purge();
DROP EXTENSION ptl_synth;
SELECT (SELECT count(*) FROM ptl.organisation WHERE org_code ~ '^(QZZ|R[P-Z][1-9])$') AS organisations,
       (SELECT count(*) FROM ptl.area_deprivation WHERE lsoa_code LIKE 'E019%') AS lsoas,
       (SELECT count(*) FROM ptl.batch WHERE batch_id IN (SELECT batch_id FROM synthetic_batch)) AS batches,
       (SELECT count(*) FROM ptl_stage.patient WHERE batch_id IN (SELECT batch_id FROM synthetic_batch))
       + (SELECT count(*) FROM ptl_stage.pathway WHERE batch_id IN (SELECT batch_id FROM synthetic_batch))
       + (SELECT count(*) FROM ptl_stage.pathway_event WHERE batch_id IN (SELECT batch_id FROM synthetic_batch))
       + (SELECT count(*) FROM ptl_stage.waiting_list_entry WHERE batch_id IN (SELECT batch_id FROM synthetic_batch))
         AS staged_rows;
DROP TABLE synthetic_batch, first_digest;
RESET datestyle;
