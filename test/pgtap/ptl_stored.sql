-- The PTL stored at the refresh (docs/rtt-engine.md, "The PTL as at the
-- last refresh"): on a generated ICS, ptl.ptl equals the definition it had
-- when it was computed as it was read (test/reference/ptl_computed.sql, row for row,
-- every column), for the ICS and for a trust's reader; what changes between
-- refreshes shows at the next refresh, ptl's own open outbound actions at
-- once; a trust's reader's query for one list reads the list's index.
BEGIN;
SELECT plan(24);

CREATE EXTENSION IF NOT EXISTS ptl_synth;
SELECT count(*) FROM ptl_synth.generate(4000, seed => 7) b, ptl.load(b) l;
CALL ptl.refresh('2025-03-31');
-- The computed definition: bench.ptl_computed, bench.ptl_headline_computed.
\ir ../reference/ptl_computed.sql

CREATE FUNCTION pg_temp.differs(stored text, computed text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM ((%1$s EXCEPT ALL %2$s) UNION ALL (%2$s EXCEPT ALL %1$s)) d', stored, computed)
        INTO n;
    RETURN n;
END $$;
CREATE FUNCTION pg_temp.explain(query text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || query;
END $$;

SELECT cmp_ok((SELECT count(*) FROM ptl.ptl), '>', 1000::bigint, 'the generated ICS has a PTL to compare');
SELECT is(pg_temp.differs('SELECT * FROM ptl.ptl', 'SELECT * FROM bench.ptl_computed'), 0::bigint,
          'stored PTL: after a full refresh ptl.ptl equals the computed definition row for row, every column');
SELECT is(pg_temp.differs('SELECT * FROM ptl.ptl_headline', 'SELECT * FROM bench.ptl_headline_computed'), 0::bigint,
          'stored PTL: ptl_headline over the stored PTL equals the computed one (lists, providers, ICS)');
SELECT is((SELECT count(*) FROM ptl.ptl_entry e
           WHERE e.census <> (SELECT r.census FROM ptl.refresh_run r ORDER BY r.run_id DESC LIMIT 1)), 0::bigint,
          'stored PTL: every stored row is at the census of the last refresh');
SELECT is((SELECT count(*) FROM ptl.census_snapshot s
           WHERE s.census_date = '2025-03-31'
             AND NOT EXISTS (SELECT 1 FROM ptl.ptl_entry e
                             WHERE e.pathway_id = s.pathway_id AND e.period_no = s.period_no
                               AND e.list_position IS NOT DISTINCT FROM s.list_position
                               AND e.target_date IS NOT DISTINCT FROM s.target_date))
          + (SELECT count(*) FROM ptl.ptl_entry) - (SELECT count(*) FROM ptl.census_snapshot s WHERE s.census_date = '2025-03-31'),
          0::bigint,
          'stored PTL: the census snapshot is the stored PTL (same rows, positions and target dates)');

-- Changes between refreshes: priorities reviewed, suspensions, TCI dates.
CREATE TEMP TABLE before_edits AS SELECT * FROM ptl.ptl;
CREATE TEMP TABLE edited AS
SELECT waiting_list_entry_id AS entry_id, decision_to_admit AS listed, row_number() OVER (ORDER BY pathway_id) AS k
FROM ptl.ptl WHERE waiting_list_entry_id IS NOT NULL AND order_group <> 'set_aside'
ORDER BY pathway_id LIMIT 60;
SELECT count(ptl.review_clinical_priority(e.entry_id, CASE WHEN e.k % 2 = 0 THEN 'P1b' ELSE 'P4' END::ptl.clinical_priority,
                                          'ptl_stored test', greatest(e.listed, '2025-03-20')))
FROM edited e WHERE e.k <= 30;
INSERT INTO ptl.waiting_list_suspension (entry_id, suspended_from, suspended_until, reason, recorded_by)
SELECT e.entry_id, greatest(e.listed, '2025-03-01'), CASE WHEN e.k % 2 = 0 THEN greatest(e.listed, '2025-03-01') + 9 END,
       'patient_unavailable', 'ptl_stored test'
FROM edited e WHERE e.k > 30 AND e.k <= 50;
UPDATE ptl.waiting_list_entry w SET tci_date = '2025-05-01'
FROM edited e WHERE e.entry_id = w.entry_id AND e.k > 50;

SELECT is(pg_temp.differs('SELECT * FROM ptl.ptl', 'TABLE before_edits'), 0::bigint,
          'the PTL is as at the last refresh: priorities reviewed, suspensions and TCI dates edited since do not show before the next');
SELECT cmp_ok(pg_temp.differs('SELECT * FROM ptl.ptl', 'SELECT * FROM bench.ptl_computed'), '>', 0::bigint,
              '(the edits do change the computed list)');
CALL ptl.refresh('2025-03-31');
SELECT is(pg_temp.differs('SELECT * FROM ptl.ptl', 'SELECT * FROM bench.ptl_computed'), 0::bigint,
          'stored PTL: after the next (incremental) refresh the edits show, equal to the computed definition');
CALL ptl.refresh('2025-04-06');
SELECT is(pg_temp.differs('SELECT * FROM ptl.ptl', 'SELECT * FROM bench.ptl_computed'), 0::bigint,
          'stored PTL: a refresh at a later census restores every wait and position, equal to the computed definition');

-- provisional_action is live: an open outbound action shows at once.
CREATE TEMP TABLE acted AS
SELECT l.pathway_id, l.provider_org, p.ppid_issuer, p.ppid, p.treatment_function
FROM ptl.ptl l JOIN ptl.pathway p USING (pathway_id)
WHERE l.waiting_list_entry_id IS NOT NULL ORDER BY l.pathway_id LIMIT 2;
INSERT INTO ptl.outbound_action (provider_org, action_kind, pathway_id, ppid_issuer, ppid, treatment_function,
                                 action_date, detail, source_kind, source_id, state)
SELECT a.provider_org, 'book_tci', a.pathway_id, a.ppid_issuer, a.ppid, a.treatment_function,
       '2025-04-20', 'ptl_stored test', 'theatre_proposal', -row_number() OVER (ORDER BY a.pathway_id), 'proposed'
FROM acted a;
SELECT is((SELECT count(*) FROM ptl.ptl l JOIN acted a USING (pathway_id)
           WHERE l.provisional_action ~ '^book_tci 2025-04-20 \(proposed, action [0-9]+\)$'), 2::bigint,
          'provisional_action is live: an open outbound action shows on the PTL before any refresh');
SELECT is(pg_temp.differs('SELECT * FROM ptl.ptl', 'SELECT * FROM bench.ptl_computed'), 0::bigint,
          'stored PTL: with open actions, still equal to the computed definition');

-- A trust's reader: a role mapped to one provider.  An open action of
-- another provider on a pathway it sees through a transfer stays hidden.
CREATE ROLE ptl_stored_trust IN ROLE ptl_reader;
CREATE ROLE ptl_stored_nobody IN ROLE ptl_reader;
CREATE TEMP TABLE trust AS
SELECT provider_org AS org FROM ptl.ptl GROUP BY provider_org ORDER BY count(*) DESC, provider_org LIMIT 1;
INSERT INTO ptl.user_organisation (role_name, org_code) SELECT 'ptl_stored_trust', org FROM trust;
INSERT INTO ptl.organisation (org_code, name) VALUES ('RZZ', 'ptl_stored test trust, no patients');
INSERT INTO ptl.user_organisation (role_name, org_code) VALUES ('ptl_stored_nobody', 'RZZ');
CREATE TEMP TABLE trust_sees AS
SELECT e.pathway_id, e.period_no FROM ptl.ptl_entry e
WHERE e.provider_org = (SELECT org FROM trust)
   OR e.pathway_id IN (SELECT x.receiver_pathway_id FROM ptl.pathway_transfer x JOIN ptl.pathway s ON s.pathway_id = x.sender_pathway_id
                       WHERE s.provider_org = (SELECT org FROM trust)
                       UNION
                       SELECT x.sender_pathway_id FROM ptl.pathway_transfer x JOIN ptl.pathway r ON r.pathway_id = x.receiver_pathway_id
                       WHERE r.provider_org = (SELECT org FROM trust));
INSERT INTO ptl.outbound_action (provider_org, action_kind, pathway_id, ppid_issuer, ppid, treatment_function,
                                 action_date, detail, source_kind, source_id, state)
SELECT p.provider_org, 'transfer_out', p.pathway_id, p.ppid_issuer, p.ppid, p.treatment_function,
       '2025-04-21', 'ptl_stored test', 'mutual_aid_transfer', -p.pathway_id, 'proposed'
FROM trust_sees t JOIN ptl.pathway p USING (pathway_id)
WHERE p.provider_org <> (SELECT org FROM trust);
GRANT SELECT ON trust, trust_sees TO ptl_stored_trust;

SELECT cmp_ok((SELECT count(*) FROM trust_sees t JOIN ptl.pathway p USING (pathway_id)
               WHERE p.provider_org <> (SELECT org FROM trust)), '>', 0::bigint,
              '(the trust sees other providers'' pathways through transfers, with their open actions)');

SET LOCAL ROLE ptl_stored_trust;
SELECT is(pg_temp.differs('SELECT * FROM ptl.ptl', 'SELECT * FROM bench.ptl_computed'), 0::bigint,
          'stored PTL: a trust''s reader sees exactly what the computed definition shows it, every column');
SELECT is(pg_temp.differs('SELECT pathway_id, period_no FROM ptl.ptl', 'TABLE trust_sees'), 0::bigint,
          'stored PTL: a trust''s reader sees exactly its provider''s rows and those transferred to or from it');
SELECT is((SELECT count(*) FROM ptl.ptl WHERE nhs_number IS NOT NULL OR local_patient_id IS NOT NULL), 0::bigint,
          'stored PTL: a reader who may not identify sees no NHS number or hospital number');
SELECT is((SELECT count(*) FROM ptl.ptl WHERE provider_org <> (SELECT org FROM trust) AND provisional_action IS NOT NULL), 0::bigint,
          'provisional_action: another provider''s open actions on a pathway transferred to or from the reader''s stay hidden');
SELECT is(pg_temp.differs('SELECT * FROM ptl.ptl_headline', 'SELECT * FROM bench.ptl_headline_computed'), 0::bigint,
          'stored PTL: a trust''s reader''s ptl_headline equals the computed one');
SELECT is(pg_temp.differs('SELECT pathway_id, period_no, list_position FROM ptl.ptl_entry',
                          'SELECT pathway_id, period_no, list_position FROM ptl.ptl'), 0::bigint,
          'stored PTL: read directly, ptl.ptl_entry shows a trust''s reader the same rows (row-level security, pathway filter)');
SELECT throws_ok('SELECT nhs_number FROM ptl.ptl_entry', '42501', NULL,
                 'stored PTL: the stored NHS number is kept back from a reader who may not identify');
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT matches((SELECT string_agg(x, E'\n') FROM (
                    SELECT * FROM pg_temp.explain(format('SELECT * FROM ptl.ptl WHERE provider_org = %L AND treatment_function = %L ORDER BY list_position',
                                                         (SELECT org FROM trust),
                                                         (SELECT treatment_function FROM ptl.ptl GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1)))) e(x)),
               'Index Scan using ptl_entry_list_idx on ptl_entry e\s+Index Cond: \(\(provider_org = ''[A-Z0-9]+''::text\) AND \(treatment_function = ''[0-9]+''::text\)\)',
               'stored PTL: a trust''s reader''s query for one provider''s treatment function reaches the list''s index through the security barrier');
RESET enable_seqscan;
RESET enable_bitmapscan;
RESET ROLE;

SET LOCAL ROLE ptl_stored_nobody;
SELECT is((SELECT row(list_size, pct_within_18_weeks, median_weeks)::text FROM ptl.ptl_headline WHERE provider_org IS NULL),
          '(0,,)', 'ptl_headline: a reader who sees no row gets an ICS total of 0 and no percentage, not an error');
RESET ROLE;

-- A pathway record deleted leaves the PTL at once (its clocks cascade);
-- the others are renumbered by the next refresh.
CREATE TEMP TABLE gone AS
SELECT l.pathway_id FROM ptl.ptl l
WHERE l.provider_org = (SELECT org FROM trust)
  AND NOT EXISTS (SELECT 1 FROM ptl.waiting_list_entry w WHERE w.pathway_id = l.pathway_id)
  AND NOT EXISTS (SELECT 1 FROM ptl.outbound_action a WHERE a.pathway_id = l.pathway_id)
  AND NOT EXISTS (SELECT 1 FROM ptl.risk_assessment a WHERE a.pathway_id = l.pathway_id)
  AND NOT EXISTS (SELECT 1 FROM ptl.pathway_validation a WHERE a.pathway_id = l.pathway_id)
  AND NOT EXISTS (SELECT 1 FROM ptl.hospital_spell a WHERE a.pathway_id = l.pathway_id)
  AND NOT EXISTS (SELECT 1 FROM ptl.outpatient_appointment a WHERE a.pathway_id = l.pathway_id)
  AND NOT EXISTS (SELECT 1 FROM ptl.follow_up_request a WHERE a.pathway_id = l.pathway_id)
  AND NOT EXISTS (SELECT 1 FROM ptl.pifu_episode a WHERE a.pathway_id = l.pathway_id)
  AND NOT EXISTS (SELECT 1 FROM ptl.advice_request a WHERE a.referred_pathway_id = l.pathway_id)
ORDER BY l.pathway_id LIMIT 3;
CREATE TEMP TABLE before_delete AS SELECT * FROM ptl.ptl;
DELETE FROM ptl.pathway_event e USING gone g WHERE e.pathway_id = g.pathway_id;
DELETE FROM ptl.pathway p USING gone g WHERE p.pathway_id = g.pathway_id;
SELECT is((SELECT count(*) FROM gone), 3::bigint, '(three pathway records to delete)');
SELECT is((SELECT count(*) FROM ptl.ptl_entry e JOIN gone g USING (pathway_id)), 0::bigint,
          'stored PTL: a deleted pathway record leaves the PTL at once, before the next refresh');
SELECT is(pg_temp.differs('SELECT * FROM ptl.ptl', 'SELECT * FROM before_delete WHERE pathway_id NOT IN (TABLE gone)'), 0::bigint,
          'the PTL is as at the last refresh: the other rows keep their places until the next');

SELECT * FROM finish();
ROLLBACK;
