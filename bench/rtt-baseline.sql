-- The RTT clock rules of docs/rtt-engine.md in plain SQL (window functions,
-- no loops), the baseline bench/rtt.sh times against ptl.rtt_periods_agg.
-- Input: bench_event (pathway_id, event_id, event_date, kind, rtt_status,
-- ref_date, two_week_wait); psql variable census.  Default choices (Q2
-- discharge_date, Q6 date_of_death).  Output: sql_period.
--
-- The engine's state machine, read as tokens: after a stop (H) no clock
-- runs, so each stop closes a "segment".  Inside a segment, a start (S)
-- after nothing or after an activity/DNA seen while idle opens a period; a
-- 33 (D) straight after the start's run of S tokens nullifies it; the first
-- activity (A) straight after an S run (or a start that is itself an
-- attendance, SA) makes the period "active" until the segment's stop.
-- The CTEs' row estimates are poor and the planner picks nested loops over
-- them (minutes at 20,000 pathways); hash joins are what a DBA would force.
SET enable_nestloop = off;
DROP TABLE IF EXISTS sql_period;
CREATE UNLOGGED TABLE sql_period AS
WITH ev AS (
    SELECT e.pathway_id, e.event_id, e.event_date, e.kind, e.rtt_status::text::int AS status,
           e.ref_date, e.two_week_wait,
           row_number() OVER (PARTITION BY e.pathway_id ORDER BY e.event_date, e.event_id) AS pos
    FROM bench_event e
    WHERE e.event_date <= :'census'::date
),
tok AS (
    SELECT ev.*,
           -- rule 4/5 stops (and a death whatever its code)
           (kind = 'death' OR status IN (30, 31, 32, 34, 35, 36)) AS is_h,
           CASE WHEN kind = 'death' OR status IN (30, 31, 32, 34, 35, 36) THEN NULL
                -- rules 1-3: what opens a clock when none runs
                WHEN kind IN ('referral', 'transfer_in', 'patient_ready') OR status BETWEEN 10 AND 12
                     THEN CASE WHEN kind IN ('outpatient', 'admission') THEN 'SA' ELSE 'S' END
                -- rule 5e: a 33 nullifies only as the first activity (never on 2WW, Q3)
                WHEN status = 33 THEN CASE WHEN two_week_wait THEN 'A' ELSE 'D' END
                WHEN kind IN ('outpatient', 'admission', 'dna') THEN 'A'
           END AS tok
    FROM ev
),
seg AS (
    -- segment = number of stops strictly before; a stop belongs to the segment it closes
    SELECT tok.*,
           count(*) FILTER (WHERE is_h) OVER (PARTITION BY pathway_id ORDER BY pos)
               - CASE WHEN is_h THEN 1 ELSE 0 END AS seg_no
    FROM tok
),
flow AS (
    SELECT s.*, lag(tok) OVER (PARTITION BY pathway_id, seg_no ORDER BY pos) AS prev_tok
    FROM seg s WHERE tok IS NOT NULL
),
flow2 AS (
    SELECT f.*,
           min(pos) FILTER (WHERE tok = 'SA' OR (tok = 'A' AND prev_tok = 'S'))
               OVER (PARTITION BY pathway_id, seg_no) AS active_pos
    FROM flow f
),
mark AS (
    -- effective starts and nullifications, before the period turns active
    SELECT pathway_id, seg_no, pos, event_date, kind, ref_date, 'start' AS what
    FROM flow2
    WHERE tok IN ('S', 'SA') AND (prev_tok IS NULL OR prev_tok IN ('A', 'D'))
      AND (active_pos IS NULL OR pos <= active_pos)
    UNION ALL
    SELECT pathway_id, seg_no, pos, event_date, kind, ref_date, 'nullify'
    FROM flow2
    WHERE tok = 'D' AND prev_tok = 'S' AND (active_pos IS NULL OR pos < active_pos)
),
seg_active AS (
    SELECT pathway_id, seg_no, bool_or(active_pos IS NOT NULL) AS active
    FROM flow2 GROUP BY pathway_id, seg_no
),
seg_last_mark AS (
    SELECT DISTINCT ON (pathway_id, seg_no) pathway_id, seg_no, what
    FROM mark ORDER BY pathway_id, seg_no, pos DESC
),
seg_state AS (
    -- a clock runs when the segment's stop comes if the period turned
    -- active, or if its last start was not nullified
    SELECT h.pathway_id, h.seg_no, h.pos, h.event_date, h.kind, h.status, h.ref_date,
           coalesce(a.active, false) OR coalesce(l.what = 'start', false) AS running
    FROM seg h
    LEFT JOIN seg_active a ON a.pathway_id = h.pathway_id AND a.seg_no = h.seg_no
    LEFT JOIN seg_last_mark l ON l.pathway_id = h.pathway_id AND l.seg_no = h.seg_no
    WHERE h.is_h
),
period AS (
    SELECT m.pathway_id, m.seg_no, m.pos AS start_pos,
           row_number() OVER (PARTITION BY m.pathway_id ORDER BY m.pos)::int AS period_no,
           CASE WHEN m.kind = 'transfer_in' THEN m.ref_date ELSE m.event_date END AS clock_start,
           -- starts and nullifications alternate: the mark after a start is its nullification
           m.next_pos AS null_pos, m.next_date AS null_date
    FROM (SELECT mk.*, lead(pos) OVER w AS next_pos, lead(event_date) OVER w AS next_date
          FROM mark mk WINDOW w AS (PARTITION BY pathway_id, seg_no ORDER BY pos)) m
    WHERE m.what = 'start'
),
closed AS (
    SELECT p.*,
           CASE WHEN p.null_pos IS NOT NULL THEN p.null_pos WHEN h.running THEN h.pos END AS end_pos,
           CASE WHEN p.null_pos IS NOT NULL THEN p.null_date
                WHEN h.running AND h.kind = 'death' THEN coalesce(h.ref_date, h.event_date)
                WHEN h.running THEN h.event_date END AS clock_stop,
           CASE WHEN p.null_pos IS NOT NULL THEN 33
                WHEN h.running AND h.kind = 'death' THEN 36
                WHEN h.running THEN h.status END AS stop_status,
           CASE WHEN p.null_pos IS NOT NULL THEN 'nullified'
                WHEN h.running AND h.status = 30 AND h.kind = 'admission' THEN 'admitted'
                WHEN h.running THEN 'non_admitted' ELSE 'incomplete' END AS outcome
    FROM period p
    LEFT JOIN seg_state h ON h.pathway_id = p.pathway_id AND h.seg_no = p.seg_no
),
-- Each event with the period running when it happened (a running max of
-- the period numbers started so far), so later joins are on equality.
ev_period AS (
    SELECT ev.*, max(p.period_no) OVER (PARTITION BY ev.pathway_id ORDER BY ev.pos) AS period_no
    FROM ev LEFT JOIN period p ON p.pathway_id = ev.pathway_id AND p.start_pos = ev.pos
),
-- Legacy pause (4.5): inside an admitted period, between availability
-- events, the j-th decline declines the j-th offer; two reasonable ones
-- declined and a patient_ready close a pause [earliest offered date, ready).
inside AS (
    SELECT c.pathway_id, c.period_no, c.clock_start, c.clock_stop, e.pos, e.kind, e.event_date, e.ref_date,
           count(*) FILTER (WHERE e.kind = 'patient_ready')
               OVER (PARTITION BY c.pathway_id, c.period_no ORDER BY e.pos ROWS UNBOUNDED PRECEDING)
               - CASE WHEN e.kind = 'patient_ready' THEN 1 ELSE 0 END AS part_no
    FROM closed c
    JOIN ev_period e ON e.pathway_id = c.pathway_id AND e.period_no = c.period_no
    WHERE c.outcome = 'admitted' AND e.kind IN ('tci_offer', 'tci_declined', 'patient_ready')
      AND e.pos > c.start_pos AND e.pos < c.end_pos
),
numbered AS (
    SELECT i.*, row_number() OVER (PARTITION BY pathway_id, period_no, part_no, kind ORDER BY pos) AS k
    FROM inside i WHERE kind IN ('tci_offer', 'tci_declined')
),
part_pause AS (
    SELECT o.pathway_id, o.period_no, o.part_no,
           count(*) FILTER (WHERE o.ref_date - o.event_date >= 21) AS reasonable,
           min(o.ref_date) FILTER (WHERE o.ref_date - o.event_date >= 21) AS erod
    FROM numbered o
    JOIN numbered d ON d.pathway_id = o.pathway_id AND d.period_no = o.period_no AND d.part_no = o.part_no
                   AND d.kind = 'tci_declined' AND d.k = o.k AND d.pos > o.pos
    WHERE o.kind = 'tci_offer' AND o.ref_date IS NOT NULL
    GROUP BY 1, 2, 3
),
pause AS (
    SELECT p.pathway_id, p.period_no,
           sum(greatest(0, least(r.event_date, i.clock_stop) - greatest(p.erod, i.clock_start))) AS days
    FROM part_pause p
    JOIN (SELECT DISTINCT pathway_id, period_no, clock_start, clock_stop FROM inside) i
      ON i.pathway_id = p.pathway_id AND i.period_no = p.period_no
    JOIN inside r ON r.pathway_id = p.pathway_id AND r.period_no = p.period_no
                 AND r.kind = 'patient_ready' AND r.part_no = p.part_no   -- the ready that closes the part
    WHERE p.reasonable >= 2 AND r.event_date > p.erod
    GROUP BY 1, 2
)
SELECT c.pathway_id, c.period_no, c.clock_start, c.clock_stop, c.stop_status::text::ptl.rtt_status AS stop_status,
       c.outcome,
       coalesce(c.clock_stop, :'census'::date) - c.clock_start AS days_waited,
       CASE WHEN coalesce(c.clock_stop, :'census'::date) - c.clock_start < 0 THEN NULL
            WHEN coalesce(c.clock_stop, :'census'::date) - c.clock_start <= 7 THEN 0
            ELSE least((coalesce(c.clock_stop, :'census'::date) - c.clock_start - 1) / 7, 104) END AS week_band,
       dta.pathway_id IS NOT NULL AS has_dta,
       coalesce(c.clock_stop, :'census'::date) - c.clock_start - coalesce(pa.days, 0)::int AS adjusted_days
FROM closed c
LEFT JOIN pause pa ON pa.pathway_id = c.pathway_id AND pa.period_no = c.period_no
-- a decision to admit inside the period (from its start, before its stop)
LEFT JOIN (SELECT DISTINCT c2.pathway_id, c2.period_no
           FROM closed c2
           JOIN ev_period d ON d.pathway_id = c2.pathway_id AND d.period_no = c2.period_no
           WHERE d.kind = 'decision_to_admit' AND (c2.end_pos IS NULL OR d.pos < c2.end_pos)) dta
       ON dta.pathway_id = c.pathway_id AND dta.period_no = c.period_no;
RESET enable_nestloop;
