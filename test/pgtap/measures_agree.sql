-- One definition of each measure (docs/measures.md): every view and function
-- that reports a list size reports the PTL's list, duplicates left out, at
-- the census it is asked about.  A generated ICS with its planted duplicate
-- pathways, refreshed at two censuses a month apart; each reporter is
-- compared with the PTL (the last census) and with the snapshot (the first).
BEGIN;
SELECT plan(11);

CREATE EXTENSION IF NOT EXISTS ptl_synth;
SELECT count(*) FROM ptl_synth.generate(3000, seed => 27) b, ptl.load(b) l;
CALL ptl.refresh('2025-03-02');
CALL ptl.refresh('2025-03-31');

SELECT ok((SELECT count(*) FROM ptl.pathway_duplicate d
           JOIN ptl.rtt_period r ON r.pathway_id = d.pathway_id AND r.outcome = 'incomplete') > 0,
          'the generated ICS has open duplicate pathways (the measure must leave them out)');

-- One listed pathway whose clock start is unknown (as a record with no
-- referral date would be): it counts in the list and in no wait.
CREATE TEMP TABLE unknown_start AS SELECT pathway_id, period_no FROM ptl.ptl_entry ORDER BY pathway_id LIMIT 1;
UPDATE ptl.ptl_entry e SET clock_start = NULL, days_waited = NULL
FROM unknown_start u WHERE (e.pathway_id, e.period_no) = (u.pathway_id, u.period_no);
UPDATE ptl.census_snapshot s SET clock_start = NULL, days_waited = NULL
FROM unknown_start u WHERE (s.pathway_id, s.period_no) = (u.pathway_id, u.period_no) AND s.census_date = '2025-03-31';

-- The list at the last census, per provider and treatment function, as the PTL has it.
CREATE TEMP TABLE ptl_list AS
SELECT provider_org, treatment_function, count(*) AS list_size FROM ptl.ptl GROUP BY 1, 2;

SELECT set_eq(
    $$SELECT provider_org, treatment_function, list_size FROM ptl.ptl_headline
      WHERE treatment_function IS NOT NULL$$,
    $$SELECT provider_org, treatment_function, list_size FROM ptl_list$$,
    'list size: ptl.ptl_headline counts the PTL');
SELECT set_eq(
    $$SELECT provider_org, treatment_function, list_size FROM ptl.provider_waits WHERE census = '2025-03-31'$$,
    $$SELECT provider_org, treatment_function, list_size FROM ptl_list$$,
    'list size: ptl.provider_waits at the last census counts the PTL');
SELECT set_eq(
    $$SELECT provider_org, treatment_function, list_size FROM ptl.waiting_list_queue() WHERE list_size > 0$$,
    $$SELECT provider_org, treatment_function, list_size FROM ptl_list$$,
    'list size: ptl.waiting_list_queue counts the PTL (duplicates left out)');
SELECT set_eq(
    $$SELECT provider_org, treatment_function, list_size::bigint FROM ptl.forecast_waiting_list(weeks => 1)
      WHERE week = 0 AND list_size > 0$$,
    $$SELECT provider_org, treatment_function, list_size FROM ptl_list l
      WHERE EXISTS (SELECT 1 FROM ptl.ptl p WHERE p.provider_org = l.provider_org
                      AND p.treatment_function = l.treatment_function AND p.clock_start IS NOT NULL)$$,
    'list size: ptl.forecast_waiting_list starts from the PTL (its clocks with a known start)');
SELECT set_eq(
    $$SELECT provider_org, sum(pathways) FROM ptl.rtt_return('2025-03-31')
      WHERE part = 'Part_2' AND line <> 'C_999' GROUP BY 1$$,
    $$SELECT provider_org, sum(list_size) FROM ptl_list GROUP BY 1$$,
    'list size: the RTT return''s incomplete pathways are the PTL''s');

-- The waits: the same median, 92nd percentile (nearest rank), counts over
-- 18 and 52 weeks and share within 18 weeks, over the known clock starts.
SELECT set_eq(
    $$SELECT provider_org, treatment_function, median_weeks, p92_weeks, over_18_weeks, over_52_weeks,
             pct_within_18_weeks, unknown_clock_start
      FROM ptl.ptl_headline WHERE treatment_function IS NOT NULL$$,
    $$SELECT provider_org, treatment_function, round(median_weeks::numeric, 1) AS median,
             round(p92_weeks::numeric, 1) AS p92, over_18_weeks, over_52_weeks,
             round(100.0 * (list_size - unknown_clock_start - over_18_weeks)
                   / nullif(list_size - unknown_clock_start, 0), 1) AS pct_within_18, unknown_clock_start
      FROM ptl.provider_waits WHERE census = '2025-03-31'$$,
    'waits: ptl.ptl_headline and ptl.provider_waits define median, 92nd percentile and the 18-week share alike');
SELECT is((SELECT sum(unknown_clock_start) FROM ptl.ptl_headline WHERE treatment_function IS NOT NULL), 1::numeric,
          'the unknown clock start is counted once, in the list');

-- A past census gives that census's list, not today's.
SELECT set_eq(
    $$SELECT provider_org, treatment_function, list_size FROM ptl.waiting_list_queue('2025-03-02') WHERE list_size > 0$$,
    $$SELECT provider_org, treatment_function, count(*) FROM ptl.census_snapshot
      WHERE census_date = '2025-03-02' GROUP BY 1, 2$$,
    'list size: ptl.waiting_list_queue at a past census counts that census''s snapshot');
SELECT ok(EXISTS (SELECT 1 FROM ptl.waiting_list_queue('2025-03-02') a
                  JOIN ptl.waiting_list_queue('2025-03-31') b USING (provider_org, treatment_function)
                  WHERE a.list_size <> b.list_size),
          'list size: two censuses give two lists');
SELECT is_empty($$SELECT * FROM ptl.waiting_list_queue('2025-02-14')$$,
                'list size: a census with no snapshot kept has no list (not today''s)');

SELECT * FROM finish();
ROLLBACK;
