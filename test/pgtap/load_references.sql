-- What the PAS tables guarantee without a foreign key per row (issue 22;
-- docs/loading.md, "What the tables guarantee").  A row's parent is still a
-- foreign key; every other reference of ptl.patient, ptl.pathway,
-- ptl.pathway_event and ptl.waiting_list_entry (ptl.checked_reference) is
-- checked once per statement.  Proved: the loader never writes a row whose
-- parent, reference codes or batch are missing (it quarantines or adds a
-- placeholder first); a writer inserting or updating a row directly is
-- refused an orphan, an unknown code, batch or patient (23503, naming the
-- rule); a referenced row cannot be deleted, nor its key changed, while a
-- PAS row names it; every reference the foreign keys used to check is
-- either still a foreign key or a checked reference.
BEGIN;
SELECT plan(17);

INSERT INTO ptl.organisation (org_code, name) VALUES ('RQQ', 'Reference Test NHS Trust'), ('RQR', 'Other NHS Trust');
INSERT INTO ptl.site (site_code, org_code, name) VALUES ('RQQ01', 'RQQ', 'Reference Test Hospital');
SELECT ptl.open_batch('RQQ', 'PAS', 'RQQ01', 'references') AS b \gset

-- The loader: an event and an entry on a pathway nobody sent, and codes
-- nobody holds.
INSERT INTO ptl_stage.patient (local_patient_id, date_of_birth) VALUES ('Q1', '1960-01-01');
INSERT INTO ptl_stage.pathway (local_patient_id, ppid, ppid_issuer, treatment_function, referral_received, site_code, commissioner_code)
VALUES ('Q1', 'QPW1', 'RQQ', '110', '2024-11-04', 'RQQ77', 'QQC');
INSERT INTO ptl_stage.pathway_event (ppid_issuer, ppid, event_ref, event_date, kind, rtt_status, site_code, treatment_function)
VALUES ('RQQ', 'QPW1', 'E1', '2024-11-04', 'referral', '10', 'RQQ78', '998'),
       ('RQQ', 'NOPW', 'E2', '2024-11-04', 'referral', '10', NULL, NULL);
INSERT INTO ptl_stage.waiting_list_entry (ppid_issuer, ppid, entry_ref, intended_management, decision_to_admit)
VALUES ('RQQ', 'NOPW', 'W1', '1', '2025-01-06');
CREATE TEMP TABLE result AS SELECT * FROM ptl.load(:b);

SELECT is((SELECT string_agg(extract || ':' || reason, ' ' ORDER BY extract) FROM ptl.rejected_row WHERE batch_id = :b),
    'pathway_event:unknown_parent waiting_list_entry:unknown_parent',
    'the loader quarantines an event and an entry whose pathway is not held: it never writes an orphan');
SELECT ok((SELECT bool_and(rows_read = rows_loaded + rows_updated + rows_quarantined) FROM result),
    'and accounts for every row');
SELECT is((SELECT count(*) FROM ptl.pathway_event e WHERE e.batch_id = :b
           AND NOT EXISTS (SELECT 1 FROM ptl.pathway p WHERE p.pathway_id = e.pathway_id AND p.patient_id = e.patient_id)),
    0::bigint, 'every event the loader wrote hangs on a held pathway, with that pathway''s patient');
SELECT is((SELECT string_agg(s.site_code || '/' || s.placeholder, ' ' ORDER BY s.site_code) FROM ptl.site s
           WHERE s.site_code IN ('RQQ77', 'RQQ78')), 'RQQ77/true RQQ78/true',
    'an unknown site is added as a placeholder before the row that names it is written');
SELECT ok(EXISTS (SELECT 1 FROM ptl.treatment_function WHERE tfc = '998' AND placeholder)
          AND EXISTS (SELECT 1 FROM ptl.commissioner WHERE commissioner_code = 'QQC' AND placeholder),
    'and so are an unknown treatment function and commissioner');

-- A direct writer (ptl's own functions, an administrator).
SELECT pathway_id AS pw, patient_id AS pat FROM ptl.pathway WHERE ppid = 'QPW1' \gset
SELECT throws_ok(format($$INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, batch_id)
                         VALUES (-1, %s, 'X1', '2024-12-01', 'referral', %s)$$, :pat, :b),
    '23503', NULL, 'an event whose pathway does not exist is refused: the parent is still a foreign key');
SELECT throws_ok(format($$INSERT INTO ptl.waiting_list_entry (pathway_id, patient_id, entry_ref, intended_management, decision_to_admit, batch_id)
                         VALUES (-1, %s, 'X1', '1', '2024-12-01', %s)$$, :pat, :b),
    '23503', NULL, 'so is a waiting-list entry whose pathway does not exist');
SELECT throws_ok(format($$INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, batch_id)
                         VALUES (%s, -7, 'X2', '2024-12-01', 'referral', %s)$$, :pw, :b),
    '23503', 'ptl.pathway_event.patient_id ''-7'' is not in ptl.patient (rule pathway_event_patient_id_fkey)',
    'an event naming a patient that does not exist is refused, naming the rule');
SELECT throws_ok(format($$INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, site_code, batch_id)
                         VALUES (%1$s, %2$s, 'X3', '2024-12-01', 'referral', 'RQQ01', %3$s),
                                (%1$s, %2$s, 'X4', '2024-12-01', 'referral', 'NOPE1', %3$s)$$, :pw, :pat, :b),
    '23503', 'ptl.pathway_event.site_code ''NOPE1'' is not in ptl.site (rule pathway_event_site_code_fkey)',
    'one unknown site among a statement''s rows refuses the statement');
SELECT throws_ok(format($$UPDATE ptl.pathway SET treatment_function = '000' WHERE pathway_id = %s$$, :pw),
    '23503', 'ptl.pathway.treatment_function ''000'' is not in ptl.treatment_function (rule pathway_treatment_function_fkey)',
    'an update is checked as an insert is');
SELECT throws_ok($$INSERT INTO ptl.patient (org_code, source_system, local_patient_id, batch_id)
                   VALUES ('RQQ', 'PAS', 'Q9', -3)$$,
    '23503', 'ptl.patient.batch_id ''-3'' is not in ptl.batch (rule patient_batch_id_fkey)',
    'a patient of a batch that does not exist is refused');
SELECT lives_ok(format($$INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, site_code, treatment_function, batch_id)
                         VALUES (%s, %s, 'X5', '2024-12-01', 'referral', 'RQQ01', '110', %s)$$, :pw, :pat, :b),
    'a row whose references are all held is written');

-- The referenced side.
SELECT throws_ok($$DELETE FROM ptl.site WHERE site_code = 'RQQ77'$$,
    '23503', 'delete on table ptl.site takes away site_code ''RQQ77'', which ptl.pathway.site_code still names (rule pathway_site_code_fkey)',
    'a site a pathway names cannot be deleted');
SELECT throws_ok($$UPDATE ptl.treatment_function SET tfc = '997' WHERE tfc = '998'$$,
    '23503', NULL, 'nor can a treatment function an event names change its code');
SELECT throws_ok(format($$DELETE FROM ptl.patient WHERE patient_id = %s$$, :pat),
    '23503', NULL, 'nor can a patient with pathways be deleted');
SELECT lives_ok($$UPDATE ptl.site SET name = 'Placeholder renamed' WHERE site_code = 'RQQ78'$$,
    'a referenced row''s other columns change freely');

-- Every reference the PAS tables held as foreign keys in 0.3.0 is still a
-- foreign key or a checked reference, and no checked reference is also a
-- foreign key.
SELECT is((SELECT count(*) FROM (VALUES
              ('patient', 'org_code'), ('patient', 'commissioner_code'), ('patient', 'batch_id'),
              ('pathway', 'patient_id'), ('pathway', 'provider_org'), ('pathway', 'site_code'),
              ('pathway', 'treatment_function'), ('pathway', 'commissioner_code'), ('pathway', 'batch_id'),
              ('pathway_event', 'pathway_id'), ('pathway_event', 'patient_id'), ('pathway_event', 'site_code'),
              ('pathway_event', 'treatment_function'), ('pathway_event', 'batch_id'),
              ('waiting_list_entry', 'pathway_id'), ('waiting_list_entry', 'patient_id'),
              ('waiting_list_entry', 'site_code'), ('waiting_list_entry', 'batch_id')) r (t, c)
           WHERE (EXISTS (SELECT 1 FROM pg_constraint k JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)
                          WHERE k.contype = 'f' AND k.conrelid = ('ptl.' || r.t)::regclass AND a.attname = r.c)
                  ::int
                  + EXISTS (SELECT 1 FROM ptl.checked_reference x WHERE x.table_name = r.t AND x.column_name = r.c)::int) <> 1),
    0::bigint, 'every reference of the PAS tables is checked exactly once: a foreign key or a checked reference');

SELECT * FROM finish();
ROLLBACK;
