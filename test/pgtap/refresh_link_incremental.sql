-- Incremental pathway linkage equals a full one: after a day's changes that
-- reach across records and providers (a new transfer out at one provider
-- matched by a transfer in at another, PPIDs changed, a pathway record
-- deleted, a patient record that now belongs to another person), the
-- refresh that links again only the ICS pathways that can have changed
-- (ptl.link_pathways(true): the rule in docs/rtt-engine.md, "The daily
-- refresh") stores exactly the ICS pathways, matched transfers and PTL that
-- a full refresh of the same data stores.  Three of the day's changes reach
-- records nothing else marks: a deleted record, and a record given a new
-- PPID, whose old PPID another person's record shares (the deletion marks
-- them; the other is found through the ICS pathway as linked before), and a
-- reviewer's match that makes two records' patients one person, so that a
-- transfer out and in recorded earlier now match (the person linkage's
-- moves).
BEGIN;
SELECT plan(23);

-- A record like another (jsonb_populate_record keeps every other column),
-- numbered as the loader numbers.
CREATE FUNCTION pg_temp.add_patient(like_patient bigint, changes jsonb) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO ptl.patient
    SELECT (jsonb_populate_record(pa, jsonb_build_object('patient_id', nextval(pg_get_serial_sequence('ptl.patient', 'patient_id')))
                                      || changes)).*
    FROM ptl.patient pa WHERE pa.patient_id = like_patient
    RETURNING patient_id $$;
CREATE FUNCTION pg_temp.add_pathway(like_pathway bigint, changes jsonb) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO ptl.pathway
    SELECT (jsonb_populate_record(p, jsonb_build_object('pathway_id', nextval(pg_get_serial_sequence('ptl.pathway', 'pathway_id')))
                                     || changes)).*
    FROM ptl.pathway p WHERE p.pathway_id = like_pathway
    RETURNING pathway_id $$;
CREATE FUNCTION pg_temp.add_event(pathway bigint, kind ptl.event_kind, status ptl.rtt_status, on_date date,
                                  ref date, event_ref text) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO ptl.pathway_event (event_id, pathway_id, patient_id, event_ref, event_date, kind, rtt_status, ref_date,
                                   site_code, treatment_function, batch_id)
    SELECT nextval(pg_get_serial_sequence('ptl.pathway_event', 'event_id')), p.pathway_id, p.patient_id, event_ref, on_date, kind,
           status, ref, p.site_code, p.treatment_function, p.batch_id
    FROM ptl.pathway p WHERE p.pathway_id = pathway
    RETURNING event_id $$;

CREATE EXTENSION IF NOT EXISTS ptl_synth;
SELECT count(*) FROM ptl_synth.generate(3000, seed => 11) b, ptl.load(b) l;

-- Before the first refresh: a record is given the issuer and PPID of
-- another provider's record of another patient (different NHS numbers: two
-- persons), no other record having either PPID.
CREATE TEMP TABLE shared_ppid AS
SELECT d.pathway_id AS first_id, e.pathway_id AS other_id
FROM (SELECT d.* FROM ptl.pathway d JOIN ptl.patient dp ON dp.patient_id = d.patient_id
      WHERE dp.nhs_number IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM ptl.waiting_list_entry w WHERE w.pathway_id = d.pathway_id)
        AND NOT EXISTS (SELECT 1 FROM ptl.pathway x
                        WHERE (x.ppid_issuer, x.ppid) = (d.ppid_issuer, d.ppid) AND x.pathway_id <> d.pathway_id)
      ORDER BY d.pathway_id LIMIT 20) d
CROSS JOIN LATERAL (
    SELECT e.pathway_id FROM ptl.pathway e JOIN ptl.patient ep ON ep.patient_id = e.patient_id
    WHERE e.pathway_id > d.pathway_id AND e.provider_org <> d.provider_org
      AND ep.nhs_number IS NOT NULL
      AND ep.nhs_number <> (SELECT dp.nhs_number FROM ptl.patient dp WHERE dp.patient_id = d.patient_id)
      AND NOT EXISTS (SELECT 1 FROM ptl.pathway x
                      WHERE (x.ppid_issuer, x.ppid) = (e.ppid_issuer, e.ppid) AND x.pathway_id <> e.pathway_id)
      AND NOT EXISTS (SELECT 1 FROM ptl.pathway_event x
                      WHERE x.pathway_id IN (d.pathway_id, e.pathway_id)
                        AND (x.kind IN ('transfer_in', 'transfer_out') OR x.rtt_status = '21'))
    ORDER BY e.pathway_id LIMIT 1) e
ORDER BY d.pathway_id LIMIT 1;
UPDATE ptl.pathway d SET (ppid_issuer, ppid) = (e.ppid_issuer, e.ppid)
FROM shared_ppid s JOIN ptl.pathway e ON e.pathway_id = s.other_id
WHERE d.pathway_id = s.first_id;
-- Another such pair.
CREATE TEMP TABLE split_ppid AS
SELECT d.pathway_id AS first_id, e.pathway_id AS other_id
FROM (SELECT d.* FROM ptl.pathway d JOIN ptl.patient dp ON dp.patient_id = d.patient_id
      WHERE dp.nhs_number IS NOT NULL
        AND d.pathway_id NOT IN (SELECT first_id FROM shared_ppid UNION ALL SELECT other_id FROM shared_ppid)
        AND NOT EXISTS (SELECT 1 FROM ptl.waiting_list_entry w WHERE w.pathway_id = d.pathway_id)
        AND NOT EXISTS (SELECT 1 FROM ptl.pathway x
                        WHERE (x.ppid_issuer, x.ppid) = (d.ppid_issuer, d.ppid) AND x.pathway_id <> d.pathway_id)
      ORDER BY d.pathway_id LIMIT 20) d
CROSS JOIN LATERAL (
    SELECT e.pathway_id FROM ptl.pathway e JOIN ptl.patient ep ON ep.patient_id = e.patient_id
    WHERE e.pathway_id > d.pathway_id AND e.provider_org <> d.provider_org
      AND e.pathway_id NOT IN (SELECT first_id FROM shared_ppid UNION ALL SELECT other_id FROM shared_ppid)
      AND ep.nhs_number IS NOT NULL
      AND ep.nhs_number <> (SELECT dp.nhs_number FROM ptl.patient dp WHERE dp.patient_id = d.patient_id)
      AND NOT EXISTS (SELECT 1 FROM ptl.pathway x
                      WHERE (x.ppid_issuer, x.ppid) = (e.ppid_issuer, e.ppid) AND x.pathway_id <> e.pathway_id)
      AND NOT EXISTS (SELECT 1 FROM ptl.pathway_event x
                      WHERE x.pathway_id IN (d.pathway_id, e.pathway_id)
                        AND (x.kind IN ('transfer_in', 'transfer_out') OR x.rtt_status = '21'))
    ORDER BY e.pathway_id LIMIT 1) e
ORDER BY d.pathway_id LIMIT 1;
UPDATE ptl.pathway d SET (ppid_issuer, ppid) = (e.ppid_issuer, e.ppid)
FROM split_ppid s JOIN ptl.pathway e ON e.pathway_id = s.other_id
WHERE d.pathway_id = s.first_id;
-- And a transfer out on 18 March at one provider, and at another a
-- transfer in on 20 March carrying the original start, of a patient record
-- with no NHS number whose details match no one's: two persons, unmatched.
CREATE TEMP TABLE late_sender AS
SELECT p.pathway_id, p.patient_id, p.provider_org, p.referral_received
FROM ptl.pathway p JOIN ptl.patient pa ON pa.patient_id = p.patient_id
WHERE p.referral_received < '2025-03-01' AND pa.nhs_number IS NOT NULL
  AND p.pathway_id NOT IN (SELECT first_id FROM shared_ppid UNION ALL SELECT other_id FROM shared_ppid
                           UNION ALL SELECT first_id FROM split_ppid UNION ALL SELECT other_id FROM split_ppid)
  AND NOT EXISTS (SELECT 1 FROM ptl.pathway x
                  WHERE (x.ppid_issuer, x.ppid) = (p.ppid_issuer, p.ppid) AND x.pathway_id <> p.pathway_id)
  AND NOT EXISTS (SELECT 1 FROM ptl.pathway_event x
                  WHERE x.pathway_id = p.pathway_id AND (x.kind IN ('transfer_in', 'transfer_out') OR x.rtt_status = '21'))
ORDER BY p.pathway_id DESC LIMIT 1;
CREATE TEMP TABLE late_receiver AS
SELECT pg_temp.add_patient(q.patient_id, jsonb_build_object('org_code', q.provider_org, 'local_patient_id', 'LATEPAT1',
                                                            'nhs_number', NULL, 'nhs_number_as_recorded', NULL,
                                                            'given_name', 'Zebulon', 'family_name', 'Quillfeather',
                                                            'date_of_birth', '1901-01-01', 'postcode', NULL,
                                                            'address_line_1', NULL, 'batch_id', q.batch_id)) AS patient_id,
       q.pathway_id AS like_pathway_id
FROM ptl.pathway q, late_sender s WHERE q.provider_org <> s.provider_org ORDER BY q.pathway_id LIMIT 1;
ALTER TABLE late_receiver ADD pathway_id bigint;
UPDATE late_receiver r
SET pathway_id = pg_temp.add_pathway(r.like_pathway_id,
                                     jsonb_build_object('patient_id', r.patient_id, 'ppid', 'LATEIN1', 'ubrn', NULL,
                                                        'referral_received', '2025-03-20'));
SELECT count(pg_temp.add_event(s.pathway_id, 'transfer_out', '21', '2025-03-18', NULL, 'LATEOUT1'))
     + count(pg_temp.add_event(r.pathway_id, 'transfer_in', '20', '2025-03-20', s.referral_received, 'LATEIN1'))
FROM late_sender s, late_receiver r;

CALL ptl.refresh('2025-03-31');
SELECT ok((SELECT bool_and(l.ics_pathway_id = s.first_id AND l.method = 'ppid')
           FROM ptl.pathway_link l
           JOIN (TABLE shared_ppid UNION ALL TABLE split_ppid) s ON s.other_id = l.pathway_id)
          AND NOT EXISTS (SELECT 1 FROM ptl.pathway_transfer t
                          WHERE t.receiver_pathway_id = (SELECT pathway_id FROM late_receiver)),
          'before the day: two persons'' records of one PPID are one ICS pathway, the late transfer is unmatched');
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

-- 2b. The first record of another two persons' PPID is given a PPID of its
-- own (nothing of the other person changed).
UPDATE ptl.pathway p SET ppid = 'SPLIT1', updated_at = now() FROM split_ppid s WHERE s.first_id = p.pathway_id;

-- 3. The first record of the two persons' PPID is deleted (its ICS pathway
-- was named after it; nothing of the other person changed).
CREATE TEMP TABLE deleted AS
SELECT l.pathway_id, l.ics_pathway_id FROM ptl.pathway_link l JOIN shared_ppid s ON s.first_id = l.pathway_id;
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
  AND a.patient_id NOT IN (SELECT patient_id FROM sender UNION ALL SELECT patient_id FROM new_patient
                           UNION ALL SELECT patient_id FROM late_sender UNION ALL SELECT patient_id FROM late_receiver
                           UNION ALL SELECT p.patient_id FROM ptl.pathway p
                                     JOIN (TABLE shared_ppid UNION ALL TABLE split_ppid) s
                                       ON p.pathway_id IN (s.first_id, s.other_id))
  AND b.patient_id NOT IN (SELECT p.patient_id FROM ptl.pathway p
                           JOIN (TABLE shared_ppid UNION ALL TABLE split_ppid) s ON p.pathway_id IN (s.first_id, s.other_id))
  AND (SELECT count(*) FROM ptl.person_link x WHERE x.person_id = pla.person_id) = 1
ORDER BY a.patient_id, b.patient_id LIMIT 1;
UPDATE ptl.patient a
SET (nhs_number, nhs_number_as_recorded, given_name, family_name, date_of_birth, sex, postcode, address_line_1) =
    (b.nhs_number, b.nhs_number_as_recorded, b.given_name, b.family_name, b.date_of_birth, b.sex, b.postcode,
     b.address_line_1),
    updated_at = now()
FROM relinked r JOIN ptl.patient b ON b.patient_id = r.like_patient_id
WHERE a.patient_id = r.patient_id;

-- 5. A reviewer decides that the late transfer's two patient records are
-- one person (ptl.link_decision): no record of theirs changes.
INSERT INTO ptl.link_decision (patient_a, patient_b, decision, note)
SELECT least(s.patient_id, r.patient_id), greatest(s.patient_id, r.patient_id), 'match', 'test: same person'
FROM late_sender s, late_receiver r;

SELECT is((SELECT count(*) FROM sender) + (SELECT count(*) FROM reissued) + (SELECT count(*) FROM deleted)
          + (SELECT count(*) FROM relinked) + (SELECT count(*) FROM late_receiver) + (SELECT count(*) FROM split_ppid),
          6::bigint,
          'the day plants a transfer, two PPIDs changed, a deleted record, a patient of another person and a reviewer''s match');

-- A month on.
CALL ptl.refresh('2025-04-30');
CREATE TEMP TABLE incremental_link AS SELECT l.pathway_id, l.ics_pathway_id, l.method FROM ptl.pathway_link l;
CREATE TEMP TABLE incremental_transfer AS SELECT * FROM ptl.pathway_transfer;
CREATE TEMP TABLE incremental_ptl AS SELECT * FROM ptl.ptl;

SELECT ok((SELECT NOT r.full_refresh FROM ptl.refresh_run r ORDER BY r.run_id DESC LIMIT 1),
          'the second refresh was incremental');
SELECT is((SELECT array_agg(r.kind ORDER BY r.run_id) FROM ptl.link_run r), ARRAY['full', 'incremental'],
          'the first refresh estimated the linkage model (a full run); the daily one, with a model and the same link settings, linked persons incrementally (docs/linkage.md, "Incremental runs")');
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
SELECT ok((SELECT l.ics_pathway_id = l.pathway_id AND l.method = 'own'
           FROM incremental_link l JOIN shared_ppid s ON s.other_id = l.pathway_id),
          'the other person''s record that shared the deleted record''s PPID is a pathway of its own');
SELECT ok((SELECT l.ics_pathway_id = l.pathway_id AND l.method = 'own'
           FROM incremental_link l JOIN split_ppid s ON s.other_id = l.pathway_id),
          'the other person''s record that shared a PPID given up is a pathway of its own');
SELECT ok((SELECT pl.person_id <> r.person_before FROM relinked r JOIN ptl.person_link pl USING (patient_id)),
          'the corrected patient record belongs to another person');
SELECT ok(EXISTS (SELECT 1 FROM incremental_transfer t
                  WHERE t.receiver_pathway_id = (SELECT pathway_id FROM late_receiver)
                    AND t.sender_pathway_id = (SELECT pathway_id FROM late_sender) AND t.direct),
          'the reviewer''s match makes the late transfer out and in one person''s: matched');

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
SELECT is((SELECT r.kind FROM ptl.link_run r ORDER BY r.run_id DESC LIMIT 1), 'full',
          'a full refresh estimates the linkage model again');

-- ptl.link_record is unlogged (docs/linkage.md, "Incremental runs"): a crash
-- or a promoted standby empties it.  An incremental run refuses to guess
-- what changed since; the next daily refresh links every record with the
-- stored model, and the persons are what they were.
SELECT is((SELECT relpersistence FROM pg_class WHERE oid = 'ptl.link_record'::regclass), 'u'::"char",
          'ptl.link_record is unlogged');
CREATE TEMP TABLE persons_before_crash AS SELECT patient_id, person_id FROM ptl.person_link;
TRUNCATE ptl.link_record;
SELECT throws_ok('SELECT ptl.link_persons_incremental()', '55000', NULL,
                 'an incremental run refuses an emptied ptl.link_record');
UPDATE ptl.patient SET updated_at = now() WHERE patient_id = (SELECT min(patient_id) FROM ptl.patient);
CALL ptl.refresh('2025-04-30');
SELECT is((SELECT r.kind FROM ptl.link_run r ORDER BY r.run_id DESC LIMIT 1), 'frozen',
          'the next daily refresh links every record with the stored model');
SELECT is((SELECT count(*) FROM ptl.link_record), (SELECT count(*) FROM ptl.patient),
          'ptl.link_record holds every record again');
SELECT bag_eq('TABLE persons_before_crash', 'SELECT patient_id, person_id FROM ptl.person_link',
              'every record keeps its person and person number');

-- New link settings: the next daily refresh estimates the model again too.
UPDATE ptl.patient SET family_name = family_name || 'E'
WHERE patient_id = (SELECT min(patient_id) FROM ptl.patient WHERE family_name IS NOT NULL);
INSERT INTO ptl.link_setting (review_probability) VALUES (0.6);
CALL ptl.refresh('2025-04-30');
SELECT is((SELECT r.kind FROM ptl.link_run r ORDER BY r.run_id DESC LIMIT 1), 'full',
          'a daily refresh after the link settings changed links with a full, retraining run');

SELECT * FROM finish();
ROLLBACK;
