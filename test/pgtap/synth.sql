-- ptl_synth.generate(): determinism, fault rates, values the loader accepts,
-- event histories that follow the RTT rules, and a truth that matches them.
BEGIN;
SELECT plan(38);

CREATE EXTENSION IF NOT EXISTS ptl_synth;
-- The loader reads dates day first when they are not ISO (one synthetic
-- site writes DD/MM/YYYY); check them the same way.
SET LOCAL datestyle = 'ISO, DMY';

CREATE FUNCTION pg_temp.as_date(v text) RETURNS date
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN nullif(btrim(v), '')::date;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

-- ---------------------------------------------------------------------------
-- Determinism
-- ---------------------------------------------------------------------------
SELECT lives_ok($$SELECT ptl_synth.generate(3000, 11)$$, 'generate(3000, 11) runs');
CREATE TEMP TABLE d1 AS SELECT * FROM ptl_synth.staging_digest((SELECT batch_ids FROM ptl_synth.run));
CREATE TEMP TABLE t1 AS
SELECT md5(string_agg((to_jsonb(t) - 'batch_id')::text, '' ORDER BY org_code, ppid_issuer, ppid)) AS truth,
       (SELECT md5(string_agg((to_jsonb(f) - 'batch_id')::text, '' ORDER BY fault_id)) FROM ptl_synth.injected_fault f) AS faults
FROM ptl_synth.pathway_truth t;
SELECT lives_ok($$SELECT ptl_synth.generate(3000, 11)$$, 'generate(3000, 11) runs again');
CREATE TEMP TABLE d2 AS SELECT * FROM ptl_synth.staging_digest((SELECT batch_ids FROM ptl_synth.run));
SELECT is((SELECT count(*) FROM d1 JOIN d2 USING (extract_name)
           WHERE d1.row_count = d2.row_count AND d1.digest = d2.digest AND d1.row_count > 0),
          4::bigint, 'same seed: byte-identical staged rows in all four extracts, in the same order');
SELECT is((SELECT md5(string_agg((to_jsonb(t) - 'batch_id')::text, '' ORDER BY org_code, ppid_issuer, ppid))
           FROM ptl_synth.pathway_truth t),
          (SELECT truth FROM t1), 'same seed: the same pathway truth');
SELECT is((SELECT md5(string_agg((to_jsonb(f) - 'batch_id')::text, '' ORDER BY fault_id)) FROM ptl_synth.injected_fault f),
          (SELECT faults FROM t1), 'same seed: the same injected faults');
SELECT is((SELECT count(*) FROM ptl.organisation WHERE org_code ~ '^(QZZ|RZ[1-3])$'), 4::bigint,
          'calling again adds no reference rows twice');
SELECT lives_ok($$SELECT ptl_synth.generate(3000, 12)$$, 'generate(3000, 12) runs');
CREATE TEMP TABLE d3 AS SELECT * FROM ptl_synth.staging_digest((SELECT batch_ids FROM ptl_synth.run));
SELECT is((SELECT count(*) FROM d1 JOIN d3 USING (extract_name) WHERE d1.digest <> d3.digest),
          4::bigint, 'another seed: different rows in all four extracts');

-- ---------------------------------------------------------------------------
-- One larger ICS with raised fault rates, checked row by row
-- ---------------------------------------------------------------------------
SELECT lives_ok($$SELECT ptl_synth.generate(8000, 13, fault_rates =>
    '{"invalid_nhs_number": 0.02, "missing_nhs_number": 0.05, "cross_site_duplicate_patient": 0.05,
      "duplicate_pathway": 0.01, "malformed_date": 0.004, "malformed_code": 0.004}')$$,
    'generate(8000, 13) with raised fault rates runs');

CREATE TEMP TABLE cur AS SELECT unnest(batch_ids) AS batch_id FROM ptl_synth.run;
CREATE TEMP TABLE fault AS SELECT * FROM ptl_synth.injected_fault WHERE expected_reason IS NOT NULL;
-- Rows that must load: no planted fault on the row, its pathway or its patient.
CREATE TEMP TABLE bad_pathway AS
SELECT DISTINCT t.batch_id, t.ppid_issuer, t.ppid
FROM ptl_synth.pathway_truth t
WHERE t.faulted;
CREATE TEMP TABLE good_patient AS
SELECT s.* FROM ptl_stage.patient s JOIN cur USING (batch_id)
WHERE NOT EXISTS (SELECT 1 FROM fault f WHERE f.extract = 'patient' AND f.batch_id = s.batch_id
                                        AND f.local_patient_id = s.local_patient_id);
CREATE TEMP TABLE good_pathway AS
SELECT s.* FROM ptl_stage.pathway s JOIN cur USING (batch_id)
WHERE NOT EXISTS (SELECT 1 FROM bad_pathway b WHERE b.batch_id = s.batch_id AND b.ppid_issuer = s.ppid_issuer
                                                AND b.ppid = s.ppid);
CREATE TEMP TABLE good_event AS
SELECT s.*, pg_temp.as_date(s.event_date) AS d, pg_temp.as_date(s.ref_date) AS rd
FROM ptl_stage.pathway_event s JOIN cur USING (batch_id)
WHERE NOT EXISTS (SELECT 1 FROM fault f WHERE f.extract = 'pathway_event' AND f.batch_id = s.batch_id
                                        AND f.ppid = s.ppid AND f.event_ref = s.event_ref)
  AND NOT EXISTS (SELECT 1 FROM bad_pathway b WHERE b.batch_id = s.batch_id AND b.ppid_issuer = s.ppid_issuer
                                                AND b.ppid = s.ppid);
CREATE TEMP TABLE good_entry AS
SELECT s.* FROM ptl_stage.waiting_list_entry s JOIN cur USING (batch_id)
WHERE NOT EXISTS (SELECT 1 FROM fault f WHERE f.extract = 'waiting_list_entry' AND f.batch_id = s.batch_id
                                        AND f.ppid = s.ppid AND f.entry_ref = s.entry_ref)
  AND NOT EXISTS (SELECT 1 FROM bad_pathway b WHERE b.batch_id = s.batch_id AND b.ppid_issuer = s.ppid_issuer
                                                AND b.ppid = s.ppid);

ANALYZE good_patient;
ANALYZE good_pathway;
ANALYZE good_event;
ANALYZE good_entry;

-- Fault counts against the rates asked for (40% either way).  Malformed
-- dates are a share of the pathway, event and waiting-list rows; malformed
-- codes of all staged rows (invalid sex codes on patient rows included).
CREATE TEMP TABLE n AS
SELECT (SELECT count(*) FROM ptl_stage.patient JOIN cur USING (batch_id)) AS patients,
       (SELECT count(*) FROM ptl_stage.pathway JOIN cur USING (batch_id))
       + (SELECT count(*) FROM ptl_stage.pathway_event JOIN cur USING (batch_id))
       + (SELECT count(*) FROM ptl_stage.waiting_list_entry JOIN cur USING (batch_id)) AS other_rows;
CREATE TEMP TABLE got AS
SELECT fault_kind, count(*)::float8 AS n FROM ptl_synth.injected_fault GROUP BY 1;
SELECT ok((SELECT n FROM got WHERE fault_kind = 'invalid_nhs_number') / (0.02 * patients) BETWEEN 0.6 AND 1.4,
          'invalid NHS numbers: about 2% of patient rows') FROM n;
SELECT ok((SELECT n FROM got WHERE fault_kind = 'missing_nhs_number') / (0.05 * patients) BETWEEN 0.6 AND 1.4,
          'missing NHS numbers: about 5% of patient rows') FROM n;
SELECT ok((SELECT n FROM got WHERE fault_kind = 'cross_site_duplicate_patient') / (0.05 * patients) BETWEEN 0.6 AND 1.4,
          'second records with typing slips: about 5% of patient rows') FROM n;
SELECT ok((SELECT n FROM got WHERE fault_kind = 'duplicate_pathway') / (0.01 * 8000) BETWEEN 0.6 AND 1.4,
          'duplicate pathways: about 1% of referrals');
SELECT ok((SELECT n FROM got WHERE fault_kind = 'malformed_date') / (0.004 * other_rows) BETWEEN 0.6 AND 1.4,
          'malformed dates: about 0.4% of the staged rows') FROM n;
SELECT ok((SELECT n FROM got WHERE fault_kind = 'malformed_code') / (0.004 * (patients + other_rows)) BETWEEN 0.6 AND 1.4,
          'malformed codes: about 0.4% of the staged rows') FROM n;
SELECT is((SELECT count(*) FROM ptl_synth.injected_fault
           WHERE (fault_kind = 'malformed_date' AND expected_reason NOT IN ('invalid_date', 'missing_required'))
              OR (fault_kind = 'malformed_code' AND expected_reason <> 'invalid_code')
              OR (fault_kind = 'invalid_nhs_number' AND expected_reason <> 'invalid_nhs_number')
              OR (fault_kind IN ('missing_nhs_number', 'cross_site_duplicate_patient', 'duplicate_pathway')
                  AND expected_reason IS NOT NULL)),
          0::bigint, 'each fault kind carries the reason the loader should give');

-- Values of good rows are valid for their types and the extract specification.
SELECT is((SELECT count(*) FROM good_event
           WHERE ptl.check_input(kind, 'ptl.event_kind'::regtype) IS NOT NULL
              OR ptl.check_input(rtt_status, 'ptl.rtt_status'::regtype) IS NOT NULL),
          0::bigint, 'every event kind and RTT status of good rows is valid');
SELECT is((SELECT count(*) FROM good_event
           WHERE d IS NULL OR (ref_date IS NOT NULL AND rd IS NULL)
              OR (kind IN ('transfer_in', 'tci_offer', 'tci_declined') AND rd IS NULL)),
          0::bigint, 'every event date of good rows is a date, and kinds that need a ref_date have one');
SELECT is((SELECT count(*) FROM good_entry
           WHERE ptl.check_input(clinical_priority, 'ptl.clinical_priority'::regtype) IS NOT NULL
              OR pg_temp.as_date(decision_to_admit) IS NULL
              OR (removed_date IS NULL) <> (removal_reason IS NULL)
              OR pg_temp.as_date(removed_date) < pg_temp.as_date(decision_to_admit)),
          0::bigint, 'every good waiting-list entry has a valid priority, a decision date and a consistent removal');
SELECT is((SELECT count(*) FROM good_patient
           WHERE nullif(nhs_number, '') IS NOT NULL
             AND ptl.check_input(nhs_number, 'ptl.nhs_number'::regtype) IS NOT NULL),
          0::bigint, 'every NHS number on a patient row without a planted fault is valid');
SELECT is((SELECT count(*) FROM ptl_synth.person
           WHERE ptl.check_input(nhs_number, 'ptl.nhs_number'::regtype) IS NOT NULL
              OR nhs_number !~ '^9[0-9]{9}$'),
          0::bigint, 'every true NHS number is valid and starts with 9 (never issued to a patient)');
SELECT is((SELECT count(*) - count(DISTINCT nhs_number) FROM ptl_synth.person), 0::bigint,
          'no two persons share an NHS number');

-- Every column rule of the extract specification (ptl.extract_column), as
-- the loader applies it, holds for the good rows.
CREATE FUNCTION pg_temp.rule_failures(extract_name text, good_table text) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, ptl, pg_temp   -- as ptl.load() runs the rules
AS $$
DECLARE
    tests text;
    n bigint;
BEGIN
    SELECT string_agg(ptl_internal.extract_column_fails(c), ' OR ')
      INTO tests
      FROM ptl.extract_column c
     WHERE c.extract = extract_name AND c.when_invalid = 'quarantine'
       AND ptl_internal.extract_column_fails(c) IS NOT NULL;
    EXECUTE format('SELECT count(*) FROM pg_temp.%I s WHERE %s', good_table, tests) INTO n;
    RETURN n;
END
$$;
SELECT is(pg_temp.rule_failures('patient', 'good_patient')
          + pg_temp.rule_failures('pathway', 'good_pathway')
          + pg_temp.rule_failures('pathway_event', 'good_event')
          + pg_temp.rule_failures('waiting_list_entry', 'good_entry'),
          0::bigint, 'good rows pass every column rule of the extract specification');

-- Keys are unique where the loader needs them to be.
SELECT is((SELECT count(*) FROM (SELECT 1 FROM ptl_stage.patient JOIN cur USING (batch_id)
                                 GROUP BY batch_id, local_patient_id HAVING count(*) > 1) x)
          + (SELECT count(*) FROM (SELECT 1 FROM ptl_stage.pathway p JOIN ptl.batch b USING (batch_id)
                                   WHERE p.batch_id IN (SELECT batch_id FROM cur)
                                   GROUP BY b.org_code, p.ppid_issuer, p.ppid HAVING count(*) > 1) x)
          + (SELECT count(*) FROM (SELECT 1 FROM ptl_stage.pathway_event JOIN cur USING (batch_id)
                                   GROUP BY batch_id, ppid_issuer, ppid, event_ref HAVING count(*) > 1) x)
          + (SELECT count(*) FROM (SELECT 1 FROM ptl_stage.waiting_list_entry JOIN cur USING (batch_id)
                                   GROUP BY batch_id, ppid_issuer, ppid, entry_ref HAVING count(*) > 1) x),
          0::bigint, 'patient, pathway, event and entry keys are unique');

-- ---------------------------------------------------------------------------
-- Event histories
-- ---------------------------------------------------------------------------
SELECT is((SELECT count(*) FROM good_event WHERE d > (SELECT census_date FROM ptl_synth.run)),
          0::bigint, 'no event is dated after the census');
SELECT is((SELECT count(*) FROM good_event
           WHERE rd > (SELECT census_date FROM ptl_synth.run) AND kind <> 'tci_offer'),
          0::bigint, 'only booked admissions (tci_offer ref_date) lie after the census');
SELECT is((SELECT count(*) FROM good_pathway p
           LEFT JOIN (SELECT e.batch_id, e.ppid_issuer, e.ppid,
                             count(*) FILTER (WHERE e.kind IN ('referral', 'transfer_in') AND e.d = m.first_d) AS starts
                      FROM good_event e
                      JOIN (SELECT batch_id, ppid_issuer, ppid, min(d) AS first_d FROM good_event GROUP BY 1, 2, 3) m
                        USING (batch_id, ppid_issuer, ppid)
                      GROUP BY 1, 2, 3) s USING (batch_id, ppid_issuer, ppid)
           WHERE s.starts IS DISTINCT FROM 1),
          0::bigint, 'every pathway record starts with one referral (or transfer_in) event');

-- Transfers: transfer_out (21) at one trust, and at another trust a record
-- with the same PPID and issuer whose first event is transfer_in with the
-- original clock start.
CREATE TEMP TABLE transfer AS
SELECT o.ppid_issuer, o.ppid, bo.org_code AS from_org, o.d AS out_date, r.d AS start_date,
       bi.org_code AS to_org, i.d AS in_date, i.rd AS in_ref_date
FROM good_event o
JOIN ptl.batch bo ON bo.batch_id = o.batch_id
JOIN good_event r ON r.batch_id = o.batch_id AND r.ppid_issuer = o.ppid_issuer AND r.ppid = o.ppid
                 AND r.kind = 'referral'
LEFT JOIN good_event i ON i.ppid_issuer = o.ppid_issuer AND i.ppid = o.ppid AND i.kind = 'transfer_in'
LEFT JOIN ptl.batch bi ON bi.batch_id = i.batch_id
WHERE o.kind = 'transfer_out';
SELECT ok((SELECT count(*) FROM transfer) BETWEEN 0.01 * 8000 AND 0.05 * 8000,
          'a few percent of referrals are transferred between trusts');
SELECT is((SELECT count(*) FROM transfer
           WHERE to_org IS NULL OR to_org = from_org OR in_ref_date <> start_date OR in_date < out_date),
          0::bigint, 'every transfer_out has a transfer_in at another trust with the original clock start');
SELECT is((SELECT count(*) FROM good_event WHERE kind = 'transfer_in'),
          (SELECT count(*) FROM transfer), 'and every transfer_in has its transfer_out');
SELECT is((SELECT count(*) FROM good_event WHERE kind = 'transfer_out' AND rtt_status IS DISTINCT FROM '21'),
          0::bigint, 'transfer_out carries status 21');

-- Deaths: the patient's date of death is the death event's date, and
-- nothing happens after it.
SELECT is((SELECT count(*) FROM good_event e
           JOIN ptl.batch b ON b.batch_id = e.batch_id
           JOIN ptl_synth.pathway_truth t ON t.batch_id = e.batch_id AND t.ppid_issuer = e.ppid_issuer
                                         AND t.ppid = e.ppid
           JOIN ptl_synth.person p ON p.person_id = t.person_id
           WHERE e.kind = 'death'
             AND (p.date_of_death IS DISTINCT FROM e.d
                  OR EXISTS (SELECT 1 FROM good_event x WHERE x.batch_id = e.batch_id AND x.ppid = e.ppid
                                                        AND x.ppid_issuer = e.ppid_issuer AND x.d > e.d))),
          0::bigint, 'deaths match the person''s date of death and end the pathway');

-- An independent reading of the clock from the staged events agrees with the
-- truth: the last start (referral, transfer_in with its ref_date, or status
-- 11), then the first stop after it (21, 30-36).
CREATE TEMP TABLE reading AS
WITH ev AS (
    SELECT batch_id, ppid_issuer, ppid, right(event_ref, 2)::int AS slot, kind, rtt_status, d, rd
    FROM good_event),
starts AS (
    SELECT DISTINCT ON (batch_id, ppid_issuer, ppid) batch_id, ppid_issuer, ppid, d AS start_d, slot AS start_slot,
           CASE WHEN kind = 'transfer_in' THEN rd ELSE d END AS clock_start
    FROM ev WHERE kind IN ('referral', 'transfer_in') OR rtt_status = '11'
    ORDER BY batch_id, ppid_issuer, ppid, d DESC, slot DESC),
stops AS (
    SELECT DISTINCT ON (ev.batch_id, ev.ppid_issuer, ev.ppid) ev.batch_id, ev.ppid_issuer, ev.ppid,
           ev.d AS stop_d, ev.rtt_status, ev.kind
    FROM ev JOIN starts s USING (batch_id, ppid_issuer, ppid)
    WHERE ev.rtt_status IN ('21', '30', '31', '32', '33', '34', '35', '36')
      AND (ev.d, ev.slot) > (s.start_d, s.start_slot)
    ORDER BY ev.batch_id, ev.ppid_issuer, ev.ppid, ev.d, ev.slot)
SELECT s.batch_id, s.ppid_issuer, s.ppid, s.clock_start, t.stop_d, t.rtt_status,
       CASE WHEN t.rtt_status = '21' THEN 'transferred_out'
            WHEN t.rtt_status = '33' THEN 'nullified'
            WHEN t.rtt_status = '30' AND t.kind = 'admission' THEN 'stopped_admitted'
            WHEN t.rtt_status IS NOT NULL THEN 'stopped_non_admitted'
            ELSE 'waiting' END AS outcome
FROM starts s LEFT JOIN stops t USING (batch_id, ppid_issuer, ppid);
SELECT is((SELECT count(*) FROM ptl_synth.pathway_truth t
           LEFT JOIN reading r USING (batch_id, ppid_issuer, ppid)
           WHERE NOT t.faulted
             AND (r.outcome IS DISTINCT FROM CASE t.expected_outcome WHEN 'duplicate' THEN 'waiting'
                                                                     ELSE t.expected_outcome END
                  OR r.clock_start IS DISTINCT FROM t.expected_clock_start
                  OR (t.expected_clock_stop IS NOT NULL AND r.stop_d IS DISTINCT FROM t.expected_clock_stop))),
          0::bigint, 'the clock read from the events agrees with the truth for every pathway record');
SELECT is((SELECT count(*) FROM ptl_synth.pathway_truth t
           JOIN good_entry w USING (batch_id, ppid_issuer, ppid)
           WHERE t.expected_outcome = 'waiting' AND NOT t.expected_dta AND w.removed_date IS NULL),
          0::bigint, 'open waiting-list entries belong to pathways waiting with a decision to admit');

-- ---------------------------------------------------------------------------
-- Shape
-- ---------------------------------------------------------------------------
SELECT ok((SELECT avg((expected_outcome = 'waiting')::int) FROM ptl_synth.pathway_truth
           WHERE record_role = 'original') >= 0.5,
          'half or more of the referrals are still waiting at the census');
SELECT ok((SELECT avg((expected_days <= 126)::int) BETWEEN 0.5 AND 0.66
              AND avg((expected_days >= 365)::int) BETWEEN 0.02 AND 0.09
           FROM ptl_synth.pathway_truth
           WHERE expected_outcome = 'waiting' AND record_role <> 'duplicate'),
          'waits look like England''s: about 58% within 18 weeks, a tail past 52 weeks');
SELECT ok((SELECT avg((referral_priority = '3')::int) FROM ptl_synth.pathway_truth
           WHERE record_role = 'original') BETWEEN 0.01 AND 0.1,
          'two-week-wait referrals are a small share');
SELECT ok((SELECT avg((n > 1)::int) FROM (SELECT count(*) AS n FROM ptl_synth.pathway_truth
                                          WHERE record_role = 'original' GROUP BY person_id) x) > 0.1,
          'more than 10% of persons are referred more than once');

SELECT * FROM finish();
ROLLBACK;
