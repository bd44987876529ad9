-- Incremental pathway linkage equals a full one: after a day's changes that
-- reach across records and providers (a new transfer out at one provider
-- matched by a transfer in at another, a PPID changed, a pathway record
-- deleted, a patient record that now belongs to another person), the
-- refresh that links again only the ICS pathways that can have changed
-- (ptl.link_pathways(true): the rule in docs/rtt-engine.md, "The daily
-- refresh") stores exactly the ICS pathways, matched transfers and PTL that
-- a full refresh of the same data stores.
BEGIN;
SELECT plan(12);

CREATE EXTENSION IF NOT EXISTS ptl_synth;
SELECT count(*) FROM ptl_synth.generate(3000, seed => 11) b, ptl.load(b) l;
CALL ptl.refresh('2025-03-31');
CREATE TEMP TABLE link_day1 AS SELECT l.pathway_id, l.ics_pathway_id, l.method FROM ptl.pathway_link l;

-- The day's extracts: 3% of the records change, and a day of referrals.
SELECT count(*) FROM ptl_synth.next_day('2025-04-01', 0.03, seed => 11) b, ptl.load(b) l;

-- 1. A transfer between providers: an open pathway of its own at one
-- provider is transferred out on 8 April; the other provider records the
-- patient (a record of its own, the same person) and a pathway under a new
-- PPID whose transfer in, on 10 April, carries the original start.
CREATE TEMP TABLE sender AS
SELECT p.pathway_id, p.patient_id, p.provider_org, p.treatment_function, p.referral_received
FROM ptl.rtt_open_period o
JOIN ptl.pathway p ON p.pathway_id = o.pathway_id
JOIN ptl.pathway_link l ON l.pathway_id = p.pathway_id AND l.method = 'own'
JOIN ptl.patient pa ON pa.patient_id = p.patient_id AND pa.nhs_number IS NOT NULL
WHERE p.referral_received IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM ptl.pathway_event e
                  WHERE e.pathway_id = p.pathway_id
                    AND (e.kind IN ('transfer_in', 'transfer_out') OR e.rtt_status = '21'))
  AND NOT EXISTS (SELECT 1 FROM ptl.pathway_duplicate d WHERE p.pathway_id IN (d.pathway_id, d.kept_pathway_id))
ORDER BY p.pathway_id LIMIT 1;
CREATE TEMP TABLE receiver_template AS
SELECT q.* FROM ptl.pathway q, sender s WHERE q.provider_org <> s.provider_org ORDER BY q.pathway_id LIMIT 1;
CREATE TEMP TABLE new_patient AS
SELECT pa.* FROM ptl.patient pa JOIN sender s ON s.patient_id = pa.patient_id;
UPDATE new_patient SET patient_id = (SELECT max(patient_id) + 1 FROM ptl.patient),
                       org_code = (SELECT provider_org FROM receiver_template),
                       local_patient_id = 'XFERPAT1',
                       batch_id = (SELECT batch_id FROM receiver_template);
INSERT INTO ptl.patient SELECT * FROM new_patient;
CREATE TEMP TABLE receiver AS SELECT * FROM receiver_template;
UPDATE receiver SET pathway_id = (SELECT max(pathway_id) + 1 FROM ptl.pathway),
                    patient_id = (SELECT patient_id FROM new_patient),
                    ppid = 'XFERIN1', ubrn = NULL, referral_received = '2025-04-10',
                    treatment_function = (SELECT treatment_function FROM sender);
INSERT INTO ptl.pathway SELECT * FROM receiver;
CREATE TEMP TABLE transfer_event AS
SELECT e.* FROM ptl.pathway_event e JOIN sender s ON s.pathway_id = e.pathway_id ORDER BY e.event_id LIMIT 1;
INSERT INTO transfer_event SELECT * FROM transfer_event;
UPDATE transfer_event SET event_id = NULL;
WITH n AS (SELECT ctid, row_number() OVER () AS k FROM transfer_event)
UPDATE transfer_event t
SET event_id = (SELECT max(event_id) FROM ptl.pathway_event) + n.k,
    pathway_id = CASE n.k WHEN 1 THEN (SELECT pathway_id FROM sender) ELSE (SELECT pathway_id FROM receiver) END,
    patient_id = CASE n.k WHEN 1 THEN (SELECT patient_id FROM sender) ELSE (SELECT patient_id FROM receiver) END,
    event_ref = CASE n.k WHEN 1 THEN 'XFEROUT1' ELSE 'XFERIN1' END,
    event_date = CASE n.k WHEN 1 THEN date '2025-04-08' ELSE date '2025-04-10' END,
    event_time = NULL,
    kind = CASE n.k WHEN 1 THEN 'transfer_out'::ptl.event_kind ELSE 'transfer_in'::ptl.event_kind END,
    rtt_status = CASE n.k WHEN 1 THEN '21'::ptl.rtt_status ELSE '20'::ptl.rtt_status END,
    ref_date = CASE n.k WHEN 1 THEN NULL ELSE (SELECT referral_received FROM sender) END,
    site_code = CASE n.k WHEN 1 THEN t.site_code ELSE (SELECT site_code FROM receiver) END,
    batch_id = CASE n.k WHEN 1 THEN t.batch_id ELSE (SELECT batch_id FROM receiver) END
FROM n WHERE n.ctid = t.ctid;
INSERT INTO ptl.pathway_event SELECT * FROM transfer_event;

-- 2. A record of its own is given the issuer and PPID of another
-- provider's record (of another person): they are one ICS pathway now.
CREATE TEMP TABLE reissued AS
SELECT x.pathway_id, y.pathway_id AS like_pathway_id
FROM ptl.pathway_link lx JOIN ptl.pathway x ON x.pathway_id = lx.pathway_id
JOIN ptl.pathway y ON y.provider_org <> x.provider_org AND y.patient_id <> x.patient_id
JOIN ptl.pathway_link ly ON ly.pathway_id = y.pathway_id
WHERE lx.method = 'own' AND ly.method = 'own'
  AND x.pathway_id NOT IN (SELECT pathway_id FROM sender) AND y.pathway_id NOT IN (SELECT pathway_id FROM sender)
ORDER BY x.pathway_id, y.pathway_id LIMIT 1;
UPDATE ptl.pathway p SET (ppid_issuer, ppid) = (y.ppid_issuer, y.ppid), updated_at = now()
FROM reissued r JOIN ptl.pathway y ON y.pathway_id = r.like_pathway_id
WHERE r.pathway_id = p.pathway_id;

-- 3. The first record of an ICS pathway of several records is deleted (its
-- ICS pathway was named after it).
CREATE TEMP TABLE deleted AS
SELECT l.pathway_id, l.ics_pathway_id FROM ptl.pathway_link l
WHERE l.pathway_id = l.ics_pathway_id
  AND EXISTS (SELECT 1 FROM ptl.pathway_link m WHERE m.ics_pathway_id = l.ics_pathway_id AND m.pathway_id <> l.pathway_id)
  AND NOT EXISTS (SELECT 1 FROM ptl.pathway_link m
                  WHERE m.ics_pathway_id = l.ics_pathway_id
                    AND m.pathway_id IN (SELECT pathway_id FROM reissued UNION ALL SELECT like_pathway_id FROM reissued
                                         UNION ALL SELECT pathway_id FROM sender))
  AND NOT EXISTS (SELECT 1 FROM ptl.waiting_list_entry w WHERE w.pathway_id = l.pathway_id)
ORDER BY l.pathway_id LIMIT 1;
CREATE TEMP TABLE deleted_partner AS
SELECT m.pathway_id FROM ptl.pathway_link m JOIN deleted d ON d.ics_pathway_id = m.ics_pathway_id
WHERE m.pathway_id <> d.pathway_id;
DELETE FROM ptl.pathway_event WHERE pathway_id IN (SELECT pathway_id FROM deleted);
DELETE FROM ptl.pathway WHERE pathway_id IN (SELECT pathway_id FROM deleted);

-- 4. A patient record is corrected to another person's details (same NHS
-- number, name, birth, address): linkage moves it to that person.
CREATE TEMP TABLE relinked AS
SELECT a.patient_id, b.patient_id AS like_patient_id, pla.person_id AS person_before
FROM ptl.patient a
JOIN ptl.person_link pla ON pla.patient_id = a.patient_id
JOIN ptl.patient b ON b.org_code <> a.org_code AND b.nhs_number IS NOT NULL
JOIN ptl.person_link plb ON plb.patient_id = b.patient_id AND plb.person_id <> pla.person_id
WHERE EXISTS (SELECT 1 FROM ptl.pathway p WHERE p.patient_id = a.patient_id)
  AND EXISTS (SELECT 1 FROM ptl.pathway p WHERE p.patient_id = b.patient_id)
  AND a.patient_id NOT IN (SELECT patient_id FROM sender UNION ALL SELECT patient_id FROM new_patient)
  AND (SELECT count(*) FROM ptl.person_link x WHERE x.person_id = pla.person_id) = 1
ORDER BY a.patient_id, b.patient_id LIMIT 1;
UPDATE ptl.patient a
SET (nhs_number, nhs_number_as_recorded, given_name, family_name, date_of_birth, sex, postcode, address_line_1) =
    (b.nhs_number, b.nhs_number_as_recorded, b.given_name, b.family_name, b.date_of_birth, b.sex, b.postcode,
     b.address_line_1),
    updated_at = now()
FROM relinked r JOIN ptl.patient b ON b.patient_id = r.like_patient_id
WHERE a.patient_id = r.patient_id;

SELECT is((SELECT count(*) FROM sender) + (SELECT count(*) FROM reissued) + (SELECT count(*) FROM deleted)
          + (SELECT count(*) FROM relinked), 4::bigint,
          'the day plants a transfer, a new PPID, a deleted record and a patient of another person');

-- A month on.
CALL ptl.refresh('2025-04-30');
CREATE TEMP TABLE incremental_link AS SELECT l.pathway_id, l.ics_pathway_id, l.method FROM ptl.pathway_link l;
CREATE TEMP TABLE incremental_transfer AS SELECT * FROM ptl.pathway_transfer;
CREATE TEMP TABLE incremental_ptl AS SELECT * FROM ptl.ptl;

SELECT ok((SELECT NOT r.full_refresh FROM ptl.refresh_run r ORDER BY r.run_id DESC LIMIT 1),
          'the second refresh was incremental');
SELECT ok((SELECT (s ->> 'rows')::bigint BETWEEN 1 AND (SELECT count(*) FROM ptl.pathway) / 4
           FROM (SELECT steps FROM ptl.refresh_run ORDER BY run_id DESC LIMIT 1) r, jsonb_array_elements(r.steps) s
           WHERE s ->> 'step' = 'link'),
          'it linked again only the records that can have changed (fewer than a quarter)');
SELECT ok(EXISTS (SELECT 1 FROM incremental_transfer t
                  WHERE t.receiver_pathway_id = (SELECT pathway_id FROM receiver)
                    AND t.sender_pathway_id = (SELECT pathway_id FROM sender) AND t.direct
                    AND t.transferred_out_on = '2025-04-08'),
          'the new transfer out and in at another provider is matched');
SELECT ok((SELECT l.ics_pathway_id = (SELECT pathway_id FROM sender) FROM incremental_link l
           WHERE l.pathway_id = (SELECT pathway_id FROM receiver)),
          'the receiver joins the sender''s ICS pathway');
SELECT ok((SELECT l.ics_pathway_id = least(r.pathway_id, r.like_pathway_id) AND l.method = 'ppid'
           FROM incremental_link l JOIN reissued r USING (pathway_id)),
          'the record given another provider''s PPID joins its ICS pathway');
SELECT ok(NOT EXISTS (SELECT 1 FROM incremental_link l
                      WHERE l.pathway_id IN (SELECT pathway_id FROM deleted_partner)
                        AND l.ics_pathway_id = (SELECT pathway_id FROM deleted)),
          'the deleted record''s ICS pathway is named anew');
SELECT ok((SELECT pl.person_id <> r.person_before FROM relinked r JOIN ptl.person_link pl USING (patient_id)),
          'the corrected patient record belongs to another person');

-- The same data, every record linked and every clock recomputed.
CALL ptl.refresh('2025-04-30', "full" => true);

SELECT is((SELECT count(*) FROM ((TABLE incremental_link
                                  EXCEPT ALL SELECT l.pathway_id, l.ics_pathway_id, l.method FROM ptl.pathway_link l)
                                 UNION ALL (SELECT l.pathway_id, l.ics_pathway_id, l.method FROM ptl.pathway_link l
                                            EXCEPT ALL TABLE incremental_link)) x),
          0::bigint,
          'incremental linkage after a day''s changes stores exactly the ICS pathways of a full linkage');
SELECT is((SELECT count(*) FROM ((TABLE incremental_transfer EXCEPT ALL TABLE ptl.pathway_transfer)
                                 UNION ALL (TABLE ptl.pathway_transfer EXCEPT ALL TABLE incremental_transfer)) x),
          0::bigint,
          'incremental linkage after a day''s changes stores exactly the matched transfers of a full linkage');
SELECT is((SELECT count(*) FROM ((TABLE incremental_ptl EXCEPT ALL TABLE ptl.ptl)
                                 UNION ALL (TABLE ptl.ptl EXCEPT ALL TABLE incremental_ptl)) x),
          0::bigint,
          'the PTL of the incremental refresh equals the full refresh''s');
SELECT cmp_ok((SELECT count(*) FROM ptl.pathway_transfer), '>', 10::bigint,
              'the full linkage matched transfers to compare');

SELECT * FROM finish();
ROLLBACK;
