-- The town of the usual address as evidence for person linkage
-- (docs/linkage.md, "Fields and levels"): it loads through the front door,
-- compares as a field of its own, agrees with the postcode and address line
-- only once, blocks records without postcode or address, and makes the
-- hard world (no NHS number, no postcode) link better than the same world
-- without it.
BEGIN;
SELECT plan(14);
CREATE EXTENSION IF NOT EXISTS ptl_synth;

-- Through the front door: trimmed, and a formula cell left out with a
-- warning while the patient loads.
INSERT INTO ptl.organisation (org_code, name, org_kind, in_ics) VALUES ('TWN', 'Town test trust', 'nhs_trust', true);
SELECT ptl.open_batch('TWN', 'PAS') AS b \gset
INSERT INTO ptl_stage.patient (batch_id, local_patient_id, given_name, family_name, date_of_birth, sex, town)
VALUES (:b, 'T1', 'Ann', 'Smith', '1950-03-01', '2', '  Dorchester '),
       (:b, 'T2', 'Bob', 'Jones', '1960-04-02', '1', '=HYPERLINK("x")');
SELECT ok((SELECT rows_loaded = 2 FROM ptl.load(:b) WHERE extract = 'patient'), 'both patients load');
SELECT is((SELECT town FROM ptl.patient WHERE local_patient_id = 'T1'), 'Dorchester', 'the town loads, trimmed');
SELECT is((SELECT town FROM ptl.patient WHERE local_patient_id = 'T2'), NULL, 'a town that starts like a formula is left out');
SELECT is((SELECT count(*) FROM ptl.load_warning WHERE batch_id = :b AND column_name = 'town'), 1::bigint,
          'and the left-out town is a warning of its batch');
SELECT is((ptl_internal.link_fields_of(p)).town, 'DORCHESTER', 'linkage compares the town upper case')
FROM ptl.patient p WHERE local_patient_id = 'T1';

-- Comparison levels: exact, a slip, different, missing (field 7).
SELECT is(ARRAY(SELECT (ptl.link_compare(ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL, a)::ptl.link_fields,
                                         ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL, b)::ptl.link_fields) >> 28) & 15
                FROM (VALUES ('DORCHESTER', 'DORCHESTER'), ('DORCHESTER', 'DORCHESTR'), ('DORCHESTER', 'WEYMOUTH'),
                             ('DORCHESTER', NULL)) AS t (a, b)),
          ARRAY[1, 2, 3, 0], 'town levels: exact 1, Jaro-Winkler >= 0.88 2, different 3, missing 0');
SELECT is((SELECT blocked_fields & (1 << 7) <> 0 FROM ptl.link_blocking_rule WHERE rule_no = 14), true,
          'rule 14 blocks on the town (with the family name''s Soundex and the given-name initial)');

-- The hard world, linked with its towns, then again with every town removed.
SELECT ptl_synth.link_world(3000, 7, 'hard') > 0 AS made \gset
SELECT ok((SELECT abs(avg((town IS NOT NULL)::int) - 0.60) < 0.03 FROM ptl.patient WHERE org_code <> 'TWN'),
          'hard world: about 60% of records carry a town');
SELECT ok((ptl.link_persons()).run_id IS NOT NULL, 'ptl.link_persons() links the hard world with its towns');
CREATE TEMP TABLE with_town AS SELECT * FROM ptl_synth.link_accuracy() WHERE method = 'ptl.link_persons';
SELECT is((SELECT untrained_fields FROM ptl.link_run ORDER BY run_id DESC LIMIT 1), 'nhs_number, postcode',
          'the town is trained where records carry it');

-- Postcode, address and town all say where someone lives: of those that
-- agree, only the largest weight counts (the explanation shows the rest
-- taken off), so a household is not three pieces of evidence.
CREATE TEMP TABLE explained AS
SELECT e.*
FROM (SELECT a.patient_id AS pa, b.patient_id AS pb
      FROM ptl.patient a JOIN ptl.patient b ON a.patient_id < b.patient_id
       AND a.town = b.town AND a.address_line_1 = b.address_line_1
      WHERE a.org_code <> 'TWN' LIMIT 1) x,
     ptl.link_explain(x.pa, x.pb) e;
SELECT is((SELECT round(weight::numeric, 6) FROM explained WHERE field = 'residence'),
          (SELECT round((-(sum(weight) - max(weight)))::numeric, 6) FROM explained
           WHERE field IN ('postcode', 'address', 'town') AND weight > 0),
          'address and town agreeing: the residence line takes off all but the largest agreeing weight');
SELECT is((SELECT round(weight::numeric, 6) FROM explained WHERE field = 'total'),
          (SELECT round(sum(weight)::numeric, 6) FROM explained WHERE field NOT IN ('total', 'blocking', 'decision')),
          'the total is the prior, the fields and the residence line');

UPDATE ptl.patient SET town = NULL;
SELECT ok((ptl.link_persons()).run_id IS NOT NULL, 'the same world linked again without any town');
CREATE TEMP TABLE without_town AS SELECT * FROM ptl_synth.link_accuracy() WHERE method = 'ptl.link_persons';
SELECT diag(format('hard world with towns: precision %s, recall %s, F1 %s; without: precision %s, recall %s, F1 %s',
                   round(w.precision::numeric, 4), round(w.recall::numeric, 4), round(w.f1::numeric, 4),
                   round(o.precision::numeric, 4), round(o.recall::numeric, 4), round(o.f1::numeric, 4)))
FROM with_town w, without_town o;
SELECT ok(w.f1 > o.f1 AND w.recall > o.recall AND w.precision >= 0.98,
          'the towns add evidence: recall and F1 higher than without them, precision still at least 0.98')
FROM with_town w, without_town o;

SELECT * FROM finish();
ROLLBACK;
