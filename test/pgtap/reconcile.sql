-- Reconciliation against the generator's truth (docs/outbound.md, rules
-- REC1-REC6): each site's PAS declares its open pathways per treatment
-- function, computed from the truth as the PAS holds them; planted
-- differences (quarantined pathways, an outside-RTT referral, ptl's own
-- clock stop and transfer, and the duplicates linkage merges) are each
-- explained in their column, and a pathway lost on the way is the only
-- thing unexplained.
BEGIN;
SELECT plan(13);

CREATE EXTENSION IF NOT EXISTS ptl_synth;
CREATE TEMP TABLE b AS
SELECT ptl_synth.generate(2000, seed => 3,
                          fault_rates => '{"invalid_nhs_number": 0, "missing_nhs_number": 0, "cross_site_duplicate_patient": 0,
                                           "duplicate_pathway": 0, "malformed_date": 0, "malformed_code": 0}') AS batch_id;
CREATE TEMP TABLE site_batch AS
SELECT x.batch_id, x.org_code, x.site_code FROM b JOIN ptl.batch x USING (batch_id);

-- The PAS's own count: its open (waiting) records, by the treatment
-- function it holds them under.
CREATE TEMP TABLE declared AS
SELECT t.batch_id, s.treatment_function AS tfc, count(*) AS n
FROM ptl_synth.pathway_truth t
JOIN ptl_stage.pathway s ON s.batch_id = t.batch_id AND s.ppid = t.ppid AND s.ppid_issuer = t.ppid_issuer
WHERE t.expected_outcome = 'waiting'
GROUP BY 1, 2;

-- Waiting open_wait records of the first site, to plant differences on.
CREATE TEMP TABLE pick AS
SELECT row_number() OVER (ORDER BY t.ppid) AS k, t.ppid, t.ppid_issuer, t.batch_id, t.treatment_function AS tfc
FROM ptl_synth.pathway_truth t
WHERE t.batch_id = (SELECT min(batch_id) FROM b) AND t.expected_outcome = 'waiting' AND t.scenario = 'open_wait'
  AND t.record_role = 'original';
-- REC1: two pathway rows whose PPID issuer cannot identify the pathway
-- (quarantined, with their events: docs/loading.md)
UPDATE ptl_stage.pathway s SET ppid_issuer = 'not a code'
FROM pick p WHERE p.k IN (1, 2) AND s.batch_id = p.batch_id AND s.ppid = p.ppid;
-- REC3: a referral recorded outside RTT (status 98), its activity too: no
-- clock starts
UPDATE ptl_stage.pathway_event s SET rtt_status = '98'
FROM pick p WHERE p.k = 3 AND s.batch_id = p.batch_id AND s.ppid = p.ppid;
-- REC6: a pathway lost on the way: the PAS counts it, nothing of it arrives
DELETE FROM ptl_stage.pathway_event s USING pick p WHERE p.k = 4 AND s.batch_id = p.batch_id AND s.ppid = p.ppid;
DELETE FROM ptl_stage.waiting_list_entry s USING pick p WHERE p.k = 4 AND s.batch_id = p.batch_id AND s.ppid = p.ppid;
DELETE FROM ptl_stage.pathway s USING pick p WHERE p.k = 4 AND s.batch_id = p.batch_id AND s.ppid = p.ppid;

-- REC7: the PAS discharged one (34), but the event's date is unusable: the
-- event is quarantined, ptl still runs the clock, the PAS counts it closed
INSERT INTO ptl_stage.pathway_event (batch_id, ppid_issuer, ppid, event_ref, event_date, kind, rtt_status)
SELECT p.batch_id, p.ppid_issuer, p.ppid, 'REC7', '31/02/2025', 'discharge', '34' FROM pick p WHERE p.k = 7;
UPDATE declared d SET n = d.n - 1 FROM pick p WHERE p.k = 7 AND d.batch_id = p.batch_id AND d.tfc = p.tfc;

SELECT count(*) FROM b, ptl.load(b.batch_id);
CALL ptl.refresh('2025-03-31');

-- REC5: a validation answer stops one clock of the first site (k = 5);
-- REC4: mutual aid moves another (k = 6) to the last trust's first site.
SELECT ptl.start_validation_campaign('reconcile test', 0, 0, (SELECT org_code FROM site_batch ORDER BY batch_id LIMIT 1)) AS campaign \gset
INSERT INTO ptl.validation_contact (campaign_id, pathway_id, contacted_on, method, answer)
SELECT :campaign, p.pathway_id, date '2025-03-31', 'letter', 'no_longer_required'
FROM pick k JOIN ptl.pathway p ON p.ppid = k.ppid AND p.ppid_issuer = k.ppid_issuer
WHERE k.k = 5;
SELECT ptl.apply_validation_contact(c.contact_id) FROM ptl.validation_contact c WHERE c.campaign_id = :campaign;
CREATE TEMP TABLE aid AS
SELECT p.pathway_id, p.treatment_function, s.org_code, s.site_code
FROM pick k JOIN ptl.pathway p ON p.ppid = k.ppid AND p.ppid_issuer = k.ppid_issuer
CROSS JOIN LATERAL (SELECT x.org_code, x.site_code FROM site_batch x ORDER BY x.org_code DESC, x.batch_id LIMIT 1) s
WHERE k.k = 6;
INSERT INTO ptl.mutual_aid_offer (offering_org, site_code, treatment_function, capability, available_from, available_until)
SELECT org_code, site_code, treatment_function, 'inpatient', '2025-04-07', '2025-04-11' FROM aid;
SELECT ptl.add_mutual_aid_slots(o.offer_id, 1) FROM ptl.mutual_aid_offer o;
SELECT ptl.transfer_for_mutual_aid(a.pathway_id, (SELECT min(slot_id) FROM ptl.mutual_aid_slot), '2025-03-31') FROM aid a;
CALL ptl.refresh('2025-03-31');

SELECT ptl.declare_source_counts(sb.batch_id, (SELECT jsonb_object_agg(d.tfc, d.n) FROM declared d WHERE d.batch_id = sb.batch_id))
FROM site_batch sb;
CREATE TEMP TABLE rec AS SELECT sb.batch_id, r.* FROM site_batch sb, ptl.reconcile(sb.batch_id) r;

SELECT ok((SELECT bool_and(difference = quarantined + stop_quarantined + duplicate + outside_rtt + transferred + provisional + unexplained) FROM rec),
    'REC6: every row adds up: difference = quarantined + stop quarantined + duplicate + outside RTT + transferred + provisional + unexplained');
SELECT is((SELECT sum(source_open) FROM rec), (SELECT sum(n) FROM declared)::numeric,
    'the source counts are the ones declared');
SELECT is((SELECT array_agg(r.treatment_function ORDER BY r.treatment_function) FROM rec r WHERE r.quarantined <> 0),
          (SELECT array_agg(k.tfc ORDER BY k.tfc) FROM pick k WHERE k.k IN (1, 2)),
    'REC1: each quarantined pathway is explained as quarantined, under its own treatment function');
SELECT is((SELECT sum(quarantined) FROM rec), 2::numeric, 'REC1: and nothing else is');
SELECT cmp_ok((SELECT sum(duplicate) FROM rec), '>', 0::numeric,
    'REC2: the generated ICS has records linkage merges as duplicates of an open one');
SELECT is((SELECT sum(duplicate) FROM rec),
          (SELECT count(*) FROM ptl.pathway_duplicate d JOIN ptl.rtt_period r ON r.pathway_id = d.pathway_id
           WHERE r.outcome = 'incomplete')::numeric,
    'REC2: every merged open record is explained as a duplicate');
SELECT is((SELECT array_agg(r.treatment_function) FROM rec r WHERE r.outside_rtt <> 0),
          (SELECT array_agg(k.tfc) FROM pick k WHERE k.k = 3),
    'REC3: the referral with activity outside RTT (98) is explained as outside RTT');
SELECT is((SELECT array_agg(format('%s %s', r.treatment_function, r.stop_quarantined)) FROM rec r WHERE r.stop_quarantined <> 0),
          (SELECT array_agg(format('%s -1', k.tfc)) FROM pick k WHERE k.k = 7),
    'REC7: the record whose clock-stop event was quarantined is explained as stop_quarantined (-1: on the PTL, closed at the source)');
SELECT is((SELECT array_agg(r.treatment_function) FROM rec r WHERE r.provisional <> 0),
          (SELECT array_agg(k.tfc) FROM pick k WHERE k.k = 5),
    'REC5: ptl''s provisional clock stop is explained as provisional');
SELECT is((SELECT array_agg(format('%s %s %s', r.provider_org, r.treatment_function, r.transferred) ORDER BY r.transferred DESC)
           FROM rec r WHERE r.transferred <> 0),
          (SELECT ARRAY[format('%s %s 1', (SELECT org_code FROM site_batch ORDER BY batch_id LIMIT 1), a.treatment_function),
                        format('%s %s -1', a.org_code, a.treatment_function)] FROM aid a),
    'REC4: ptl''s mutual aid transfer is explained at both ends (+1 at the origin, -1 at the destination)');
SELECT is((SELECT array_agg(format('%s %s %s', r.batch_id, r.treatment_function, r.unexplained)) FROM rec r WHERE r.unexplained <> 0),
          (SELECT array_agg(format('%s %s 1', k.batch_id, k.tfc)) FROM pick k WHERE k.k = 4),
    'REC6: the one pathway lost on the way is unexplained, and nothing else is');
SELECT throws_ok(format('SELECT * FROM ptl.reconcile(%s)', (SELECT max(batch_id) + 1000 FROM ptl.batch)), 'P0002', NULL,
    'reconciling a batch that does not exist is refused');
SELECT throws_ok(format('SELECT ptl.declare_source_counts(%s, ''{"110": "many"}'')', (SELECT min(batch_id) FROM b)), '22023',
    'source count for treatment function 110 is "many", not a whole number of pathways',
    'a count that is not a whole number is refused, naming it');

SELECT * FROM finish();
ROLLBACK;
