-- Order-proof clocks (issue 21; docs/rtt-engine.md, "Events on the same
-- day"): the same events delivered in another order, or with other event
-- references, give the same RTT periods, the same PTL (rows and list
-- positions), the same engine issues and the same monthly return.
--
-- Method: a generated ICS of 20,000 referrals, with the generator's planted
-- faults, is loaded and refreshed; its events are kept; then
-- ptl.pathway_event is rebuilt four times from them, each time numbering the
-- rows (event_id, the arrival order) in another order, and once also
-- re-assigning the event references, and the clocks are recomputed in full.
-- Everything is compared with the first run on the events' content, never
-- on event_id.
BEGIN;
SET client_min_messages = warning;
SELECT plan(30);

CREATE EXTENSION IF NOT EXISTS ptl_synth;
SELECT count(*) FROM ptl_synth.generate(20000, seed => 21) b, ptl.load(b) l;

-- The PAS extract often leaves a day's rows in any order: give the
-- generated pathways some such days (a referral, a decision to admit and a
-- treatment on one day; a first side treated and the second side ready on
-- one day), so that the permutations below have something to get wrong.
INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, ref_date, batch_id)
SELECT p.pathway_id, p.patient_id, 'ORDER-' || x.n, p.referral_received, x.kind, x.status::ptl.rtt_status, NULL, p.batch_id
FROM (SELECT * FROM ptl.pathway ORDER BY pathway_id LIMIT 300) p
CROSS JOIN (VALUES (1, 'decision_to_admit'::ptl.event_kind, '20'), (2, 'admission', '30')) x (n, kind, status)
WHERE p.pathway_id % 3 = 0;
INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, ref_date, batch_id)
SELECT p.pathway_id, p.patient_id, 'ORDER-' || x.n, p.referral_received + 30, x.kind, x.status::ptl.rtt_status, NULL, p.batch_id
FROM (SELECT * FROM ptl.pathway ORDER BY pathway_id LIMIT 300) p
CROSS JOIN (VALUES (3, 'admission'::ptl.event_kind, '30'), (4, 'patient_ready', NULL)) x (n, kind, status)
WHERE p.pathway_id % 3 = 1;

CALL ptl.refresh('2025-03-31', "full" => true);

-- The events as first delivered.
CREATE TEMP TABLE original_event AS SELECT * FROM ptl.pathway_event;

-- What must not change, keyed on content (an issue by its event's content).
CREATE TEMP TABLE outcome (variant text, what text, line text);
CREATE FUNCTION pg_temp.record_outcome(variant text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO outcome
    SELECT variant, 'period', format('%s %s %s %s %s %s %s %s %s %s', r.pathway_id, r.period_no, r.clock_start,
                                     r.clock_stop, r.stop_status, r.outcome, r.days_waited, r.week_band,
                                     r.has_dta, r.adjusted_days)
    FROM ptl.rtt_period r
    UNION ALL
    SELECT variant, 'pathway', format('%s %s %s %s %s %s %s', rp.pathway_id, rp.periods, rp.responsible,
                                      rp.transferred_out_on, rp.last_event_date, rp.next_booked_date,
                                      rp.next_booked_kind)
    FROM ptl.rtt_pathway rp
    UNION ALL
    SELECT variant, 'ptl', format('%s %s %s %s %s %s %s %s %s', l.pathway_id, l.period_no, l.list_position,
                                  l.order_group, l.clock_start, l.days_waited, l.has_dta,
                                  l.next_booked_kind, l.validation_issues)
    FROM ptl.ptl l
    UNION ALL
    SELECT variant, 'issue', format('%s %s %s %s | %s %s %s %s %s %s', i.pathway_id, i.rule_id, i.period_no, i.detail,
                                    e.event_date, e.kind, e.rtt_status, e.ref_date, e.site_code, e.treatment_function)
    FROM ptl.rtt_event_issue i JOIN ptl.pathway_event e ON e.event_id = i.event_id
    UNION ALL
    SELECT variant, 'validation', format('%s %s %s | %s %s %s %s', v.pathway_id, v.rule_id, v.detail,
                                         e.event_date, e.kind, e.rtt_status, e.ref_date)
    FROM ptl.validation_issue v LEFT JOIN ptl.pathway_event e ON e.event_id = v.event_id
    UNION ALL
    SELECT variant, 'return ' || m.period_end, w.csv_line
    FROM (VALUES (date '2025-02-28'), (date '2025-03-31')) m (period_end),
         ptl.rtt_return_wide(m.period_end) w;
$$;
SELECT pg_temp.record_outcome('as delivered');

-- Rebuild ptl.pathway_event from the kept events: event_id numbered in the
-- order of the arrival key (an array), event_ref as given.
CREATE FUNCTION pg_temp.redeliver(variant text, arrival text, new_ref text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE ptl.pathway_event CASCADE;
    EXECUTE format($q$
        INSERT INTO ptl.pathway_event (event_id, pathway_id, patient_id, event_ref, event_date, kind, rtt_status,
                                       ref_date, site_code, treatment_function, batch_id, updated_at, event_time)
        SELECT 10000000 + row_number() OVER (ORDER BY o.arrival_key), o.pathway_id, o.patient_id, o.new_ref,
               o.event_date, o.kind, o.rtt_status, o.ref_date, o.site_code, o.treatment_function, o.batch_id,
               o.updated_at, o.event_time
        FROM (SELECT o.*, %s AS arrival_key, %s AS new_ref FROM original_event o) o$q$, arrival, new_ref);
    CALL ptl.refresh('2025-03-31', "full" => true);
    PERFORM pg_temp.record_outcome(variant);
END $$;

-- The permutations (hashtext of the old event_id: a fixed shuffle).
CREATE TEMP TABLE arrival_check AS SELECT event_id, pathway_id, event_date FROM original_event;
SELECT pg_temp.redeliver('shuffled within each day',
                         $k$ARRAY[o.pathway_id, o.event_date - date '2000-01-01', hashtext(o.event_id::text)]$k$,
                         'o.event_ref');
CREATE TEMP TABLE arrival_shuffled AS
SELECT e.event_id AS new_id, o.event_id AS old_id, o.pathway_id, o.event_date
FROM ptl.pathway_event e JOIN original_event o
  ON (o.pathway_id, o.event_ref) = (e.pathway_id, e.event_ref);
SELECT pg_temp.redeliver('reversed', 'ARRAY[-o.event_id]', 'o.event_ref');
SELECT pg_temp.redeliver('interleaved across pathways',
                         'ARRAY[row_number() OVER (PARTITION BY o.pathway_id ORDER BY o.event_date DESC, o.event_id DESC), -o.pathway_id]',
                         'o.event_ref');
SELECT pg_temp.redeliver('references re-assigned',
                         'ARRAY[hashtext(o.event_ref || o.pathway_id::text)]',
                         $r$'REF-' || row_number() OVER (PARTITION BY o.pathway_id ORDER BY hashtext(o.event_ref || 'x'))$r$);

-- The permutations really did change arrival order within days and the references.
SELECT cmp_ok((SELECT count(*) FROM (
                   SELECT o.pathway_id, o.event_date FROM original_event o
                   GROUP BY o.pathway_id, o.event_date
                   HAVING count(DISTINCT ptl.rtt_same_day_precedence(o.kind, o.rtt_status)) > 1) d),
              '>', 400::bigint, 'the extract has hundreds of days on which events of different precedence share a date');
SELECT cmp_ok((SELECT count(*) FROM arrival_shuffled a JOIN arrival_shuffled b
                 ON b.pathway_id = a.pathway_id AND b.event_date = a.event_date AND b.old_id > a.old_id
               WHERE b.new_id < a.new_id),
              '>', 100::bigint, 'shuffling within days put later-loaded events of a day before earlier ones');
SELECT is((SELECT count(*) FROM ptl.pathway_event e JOIN original_event o
             ON (o.pathway_id, o.event_ref) = (e.pathway_id, e.event_ref)), 0::bigint,
          'the last delivery re-assigned every event reference');
SELECT cmp_ok((SELECT count(*) FROM outcome WHERE variant = 'as delivered' AND what = 'ptl'), '>', 1000::bigint,
              'the PTL compared has over a thousand rows');
SELECT cmp_ok((SELECT count(*) FROM outcome WHERE variant = 'as delivered' AND what = 'issue'), '>', 10::bigint,
              'the engine issues compared are not few');

-- Identical outcomes, each variant against the first delivery.
CREATE FUNCTION pg_temp.differences(variant text, what text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM (
        (SELECT line FROM outcome o WHERE o.variant = 'as delivered' AND o.what LIKE differences.what
         EXCEPT ALL
         SELECT line FROM outcome o WHERE o.variant = differences.variant AND o.what LIKE differences.what)
        UNION ALL
        (SELECT line FROM outcome o WHERE o.variant = differences.variant AND o.what LIKE differences.what
         EXCEPT ALL
         SELECT line FROM outcome o WHERE o.variant = 'as delivered' AND o.what LIKE differences.what)) d;
$$;

SELECT is(pg_temp.differences(v, w), 0::bigint,
          format('same-day precedence and content order: %s gives identical %s', v, d))
FROM (VALUES ('shuffled within each day'), ('reversed'), ('interleaved across pathways'),
             ('references re-assigned')) vs (v)
CROSS JOIN (VALUES ('period', 'RTT periods'), ('ptl', 'PTL rows and list positions'),
                   ('return %', 'wide monthly returns (ptl.rtt_return_wide, February and March)'),
                   ('issue', 'engine issues (by event content)'),
                   ('pathway', 'clock state (responsibility, next booked date and kind)')) ws (w, d)
ORDER BY v, w;

SELECT is((SELECT count(*) FROM (SELECT DISTINCT variant FROM outcome) v), 5::bigint,
          'five deliveries were compared');
SELECT cmp_ok((SELECT count(*) FROM outcome WHERE variant = 'as delivered' AND what LIKE 'return %'), '>', 500::bigint,
              'the wide returns compared have hundreds of rows');
SELECT is((SELECT count(*) FROM ptl.pathway p
           JOIN ptl.rtt_period r ON r.pathway_id = p.pathway_id AND r.period_no = 1
           WHERE p.pathway_id IN (SELECT pathway_id FROM original_event WHERE event_ref = 'ORDER-1')
             AND EXISTS (SELECT 1 FROM original_event o WHERE o.pathway_id = p.pathway_id
                           AND o.kind = 'referral' AND o.event_date = p.referral_received)
             AND NOT (r.clock_start = p.referral_received AND r.clock_stop = p.referral_received
                      AND r.outcome = 'admitted' AND r.days_waited = 0)), 0::bigint,
          'start before activity before stop: a referral, a decision to admit and a treatment on one day give a 0-day admitted period');
SELECT is(pg_temp.differences('references re-assigned', 'validation'), 0::bigint,
          'the validation work list is the same whatever the arrival order and references');

-- The wide return is a linear pivot of the long form (issue 22): on this
-- generated ICS, with its planted faults, it equals release 0.3.0's
-- quadratic pivot row for row and in the same order.
\i test/reference/rtt_return_wide_0_3.sql
SELECT is((SELECT count(*) FILTER (WHERE n::text IS DISTINCT FROM o::text)
           FROM (VALUES (date '2025-02-28'), (date '2025-03-31')) v (d),
                LATERAL (SELECT n, o FROM ptl.rtt_return_wide(d) WITH ORDINALITY n
                         FULL JOIN pg_temp.rtt_return_wide_0_3(d) WITH ORDINALITY o
                                ON o.ordinality = n.ordinality) x), 0::bigint,
          'linear pivot: ptl.rtt_return_wide equals release 0.3.0''s pivot row for row, in order (February and March)');

SELECT * FROM finish();
ROLLBACK;
