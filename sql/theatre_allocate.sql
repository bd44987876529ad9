-- Theatre slot allocation, the pure core (a multiple knapsack;
-- docs/theatre.md): WE-42, each eligibility rule, turnaround, the
-- no-inversion rule, errors, and a property test against brute force over
-- random small instances.  The second opinions (eligibility, rule checker,
-- brute force) are plain SQL in ptl_synth.
SET search_path = ptl, public;
CREATE EXTENSION IF NOT EXISTS ptl_synth;

-- A session and a case with defaults, so each test states what it varies.
CREATE FUNCTION pg_temp.slot(id bigint, day date DEFAULT '2025-05-06', cap int DEFAULT 240,
                             site text DEFAULT 'AAA01', spec text DEFAULT '110', cons text DEFAULT 'C1',
                             kit text[] DEFAULT NULL)
RETURNS theatre_slot LANGUAGE sql RETURN ROW(id, day, site, spec, cons, cap, kit)::theatre_slot;
CREATE FUNCTION pg_temp.case_(id bigint, minutes int, pos bigint DEFAULT NULL, spec text DEFAULT '110',
                              cons text DEFAULT NULL, sites text[] DEFAULT NULL, ready_from date DEFAULT NULL,
                              ready_until date DEFAULT NULL, kit text[] DEFAULT NULL)
RETURNS theatre_case LANGUAGE sql
RETURN ROW(id, spec, cons, sites, minutes, coalesce(pos, id), ready_from, ready_until, kit)::theatre_case;

-- WE-42: two 240-minute sessions, seven cases whose durations include the
-- turnaround (so turnaround 0 here), priority order = c1..c7.  Greedy fills
-- 420 minutes and leaves c6 and c7; the optimum books 470 minutes and
-- leaves only c7 (sum of values 481.86).  There are four optimal
-- assignments, so the test checks totals, not the assignment.
WITH we42 (id, t, w) AS (VALUES (1, 120, 124.93), (2, 90, 100.00), (3, 80, 100.00), (4, 70, 74.79),
                                (5, 60, 50.00), (6, 50, 32.14), (7, 40, 20.00)),
     a AS (SELECT * FROM allocate_theatre(ARRAY[pg_temp.slot(1), pg_temp.slot(2)],
                                          (SELECT array_agg(pg_temp.case_(id, t) ORDER BY id) FROM we42), 0))
SELECT count(*) AS booked, sum(we42.t) AS booked_minutes, sum(we42.w) AS sum_of_values,
       array_agg(we42.id ORDER BY we42.id) AS cases_booked,
       (SELECT array_agg(s ORDER BY s) FROM (SELECT sum(we42.t) s FROM a JOIN we42 ON we42.id = a.case_id
                                            GROUP BY a.session_id) x) AS session_loads
FROM a JOIN we42 ON we42.id = a.case_id;

-- Running order and start offsets: list order within a session, each case
-- starting after the previous one and the turnaround.
SELECT * FROM allocate_theatre(ARRAY[pg_temp.slot(1)],
                               ARRAY[pg_temp.case_(11, 60, 2), pg_temp.case_(12, 90, 1), pg_temp.case_(13, 45, 3)], 15)
ORDER BY start_offset_minutes;

-- Turnaround: cases plus a turnaround between consecutive cases fit the
-- session, none after the last.  3 x 70 + 2 x 15 = 240 fits exactly; a
-- fourth minute does not.
SELECT (SELECT count(*) FROM allocate_theatre(ARRAY[pg_temp.slot(1)],
            ARRAY[pg_temp.case_(1, 70), pg_temp.case_(2, 70), pg_temp.case_(3, 70)], 15)) AS exact_fit,
       (SELECT count(*) FROM allocate_theatre(ARRAY[pg_temp.slot(1)],
            ARRAY[pg_temp.case_(1, 70), pg_temp.case_(2, 70), pg_temp.case_(3, 71)], 15)) AS one_minute_over;

-- Eligibility, one rule at a time: the case may go only to the session
-- named in "expected".
SELECT rule, (SELECT array_agg(session_id ORDER BY session_id) FROM allocate_theatre(slots, ARRAY[c], 15)) AS booked_into,
       expected
FROM (VALUES
    ('specialty must match',
     ARRAY[pg_temp.slot(1, spec => '120'), pg_temp.slot(2, spec => '110')], pg_temp.case_(1, 60), '{2}'::bigint[]),
    ('named consultant must match',
     ARRAY[pg_temp.slot(1, cons => 'C1'), pg_temp.slot(2, cons => 'C2')], pg_temp.case_(1, 60, cons => 'C2'), '{2}'),
    ('named consultant: a session without one does not do',
     ARRAY[pg_temp.slot(1, cons => NULL)], pg_temp.case_(1, 60, cons => 'C2'), NULL),
    ('no consultant named: any of the specialty (earliest)',
     ARRAY[pg_temp.slot(2, cons => 'C2'), pg_temp.slot(1, cons => NULL)], pg_temp.case_(1, 60), '{1}'),
    ('site must be one of the case''s',
     ARRAY[pg_temp.slot(1, site => 'AAA01'), pg_temp.slot(2, site => 'BBB01')], pg_temp.case_(1, 60, sites => '{BBB01,CCC01}'), '{2}'),
    ('ready_from is inclusive',
     ARRAY[pg_temp.slot(1, day => '2025-05-05'), pg_temp.slot(2, day => '2025-05-06')],
     pg_temp.case_(1, 60, ready_from => '2025-05-06'), '{2}'),
    ('ready_until is inclusive',
     ARRAY[pg_temp.slot(1, day => '2025-05-06'), pg_temp.slot(2, day => '2025-05-07')],
     pg_temp.case_(1, 60, ready_until => '2025-05-06'), '{1}'),
    ('outside the readiness window: not booked',
     ARRAY[pg_temp.slot(1, day => '2025-05-06')], pg_temp.case_(1, 60, ready_from => '2025-05-07'), NULL),
    ('every piece of equipment must be there',
     ARRAY[pg_temp.slot(1, kit => '{laser}'), pg_temp.slot(2, kit => '{laser,image_intensifier}')],
     pg_temp.case_(1, 60, kit => '{image_intensifier,laser}'), '{2}'),
    ('no equipment needed: any session',
     ARRAY[pg_temp.slot(1, kit => NULL)], pg_temp.case_(1, 60, kit => '{}'), '{1}'),
    ('longer than the session: not booked',
     ARRAY[pg_temp.slot(1, cap => 59)], pg_temp.case_(1, 60), NULL),
    ('a zero-minute session takes nothing',
     ARRAY[pg_temp.slot(1, cap => 0)], pg_temp.case_(1, 1), NULL)
) v (rule, slots, c, expected);

-- No priority inversion.  One 100-minute session, turnaround 0; cases A, B,
-- C in list order.
-- (a) A (60), B (50), C (50): A alone books 60.  B + C books 100 and leaves
--     A out, but A would not fit in the place of either (100 - 50 + 60 >
--     100), so the rule allows it and it books more.
SELECT array_agg(case_id ORDER BY case_id) AS booked
FROM allocate_theatre(ARRAY[pg_temp.slot(1, cap => 100)],
                      ARRAY[pg_temp.case_(1, 60), pg_temp.case_(2, 50), pg_temp.case_(3, 50)], 0);
-- (b) A needs 50: it would fit in place of B, so B + C (100) is an
--     inversion; A is booked with one of the later cases instead.
SELECT array_agg(case_id ORDER BY case_id) AS booked
FROM allocate_theatre(ARRAY[pg_temp.slot(1, cap => 100)],
                      ARRAY[pg_temp.case_(1, 50), pg_temp.case_(2, 50), pg_temp.case_(3, 50)], 0);
-- (c) A patient is not bumped by someone further down for a better fit:
--     A (70) + C (30) would fill the session exactly, but B (20) would fit
--     in C's place, so A + B (90) it is.
SELECT array_agg(case_id ORDER BY case_id) AS booked
FROM allocate_theatre(ARRAY[pg_temp.slot(1, cap => 100)],
                      ARRAY[pg_temp.case_(1, 70), pg_temp.case_(2, 20), pg_temp.case_(3, 30)], 0);
-- (d) Input order does not matter: the list position does (ties by case_id).
SELECT array_agg(case_id ORDER BY case_id) AS booked
FROM allocate_theatre(ARRAY[pg_temp.slot(1, cap => 100)],
                      ARRAY[pg_temp.case_(3, 50, 1), pg_temp.case_(2, 50, 2), pg_temp.case_(1, 50, 2)], 0);

-- (e) Higher on the list, earlier date: best fit would put A in the 100-
--     minute list of 6 May (nothing left over) and B, C in the 200-minute
--     list of 5 May; A then swaps with B, and B with C, so the list runs in
--     order of date: A and B on 5 May, C on 6 May.
SELECT case_id, session_id FROM allocate_theatre(
    ARRAY[pg_temp.slot(1, day => '2025-05-05', cap => 200), pg_temp.slot(2, day => '2025-05-06', cap => 100)],
    ARRAY[pg_temp.case_(1, 100), pg_temp.case_(2, 100), pg_temp.case_(3, 100)], 0)
ORDER BY case_id;

-- A large instance (the heuristic, then pairs of sessions re-solved): every booking eligible,
-- no session overfull, no one booked twice, no inversion.
WITH i AS (SELECT * FROM ptl_synth.theatre_instance(120, 1500, seed => 7)),
     a AS (SELECT array_agg(r.case_id) AS c, array_agg(r.session_id) AS s FROM i, allocate_theatre(i.slots, i.cases) r)
SELECT k.patients_booked > 400 AS books_hundreds, k.ineligible, k.overfull_sessions, k.double_booked, k.inversions
FROM i, a, ptl_synth.theatre_check(i.slots, i.cases, 15, a.c, a.s) k;

-- Property test: 150 random instances of 2-6 cases and 1-3 sessions
-- (mixed specialties, consultants, sites, windows, equipment, durations
-- 20-200 minutes, capacities 60-300).  ptl's allocation must break no rule
-- and book as many minutes, then patients, as the brute-force optimum.
WITH inst AS (
    SELECT n, 2 + (n * 7) % 5 AS n_cases, 1 + (n * 5) % 3 AS n_slots FROM generate_series(1, 150) n),
     slots AS (
    SELECT inst.n, array_agg(ROW(j, DATE '2025-05-05' + floor(ptl_synth.u(n * 100 + j, 1) * 4)::int,
                                 CASE WHEN ptl_synth.u(n * 100 + j, 2) < 0.7 THEN 'AAA01' ELSE 'BBB01' END,
                                 CASE WHEN ptl_synth.u(n * 100 + j, 3) < 0.85 THEN '110' ELSE '120' END,
                                 CASE WHEN ptl_synth.u(n * 100 + j, 4) < 0.5 THEN 'C1' ELSE 'C2' END,
                                 60 + floor(ptl_synth.u(n * 100 + j, 5) * 241)::int,
                                 CASE WHEN ptl_synth.u(n * 100 + j, 6) < 0.3 THEN '{laser}'::text[] END)::theatre_slot
                             ORDER BY j) AS a
    FROM inst, generate_series(1, inst.n_slots) j GROUP BY inst.n),
     cases AS (
    SELECT inst.n, array_agg(ROW(j, CASE WHEN ptl_synth.u(n * 100 + j, 13) < 0.9 THEN '110' ELSE '120' END,
                                 CASE WHEN ptl_synth.u(n * 100 + j, 14) < 0.3 THEN 'C1' END,
                                 CASE WHEN ptl_synth.u(n * 100 + j, 12) < 0.2 THEN '{AAA01}'::text[] END,
                                 20 + 5 * floor(ptl_synth.u(n * 100 + j, 15) * 37)::int,
                                 1 + floor(ptl_synth.u(n * 100 + j, 16) * 4)::int,
                                 CASE WHEN ptl_synth.u(n * 100 + j, 17) < 0.2 THEN DATE '2025-05-07' END,
                                 CASE WHEN ptl_synth.u(n * 100 + j, 18) < 0.2 THEN DATE '2025-05-06' END,
                                 CASE WHEN ptl_synth.u(n * 100 + j, 19) < 0.15 THEN '{laser}'::text[] END)::theatre_case
                             ORDER BY j) AS a
    FROM inst, generate_series(1, inst.n_cases) j GROUP BY inst.n),
     res AS (
    SELECT s.n, k.*, b.booked_minutes AS best_minutes, b.patients_booked AS best_patients
    FROM slots s JOIN cases c USING (n)
    CROSS JOIN LATERAL (SELECT coalesce(array_agg(r.case_id), '{}') AS bc, coalesce(array_agg(r.session_id), '{}') AS bs
                        FROM allocate_theatre(s.a, c.a, 15) r) r
    CROSS JOIN LATERAL ptl_synth.theatre_check(s.a, c.a, 15, r.bc, r.bs) k
    CROSS JOIN LATERAL ptl_synth.theatre_brute_force(s.a, c.a, 15) b)
SELECT count(*) AS instances,
       count(*) FILTER (WHERE booked_minutes = best_minutes AND patients_booked = best_patients) AS optimal,
       count(*) FILTER (WHERE ineligible + overfull_sessions + double_booked + inversions > 0) AS breaking_a_rule,
       count(*) FILTER (WHERE best_minutes > 0) AS with_something_to_book,
       count(*) FILTER (WHERE booked_minutes < best_minutes) AS fewer_minutes
FROM res;

-- Errors name the bad value.
SELECT * FROM allocate_theatre(ARRAY[pg_temp.slot(1)], ARRAY[pg_temp.case_(1, 0)]);
SELECT * FROM allocate_theatre(ARRAY[pg_temp.slot(1, cap => -5)], ARRAY[pg_temp.case_(1, 10)]);
SELECT * FROM allocate_theatre(ARRAY[pg_temp.slot(1), pg_temp.slot(1)], ARRAY[pg_temp.case_(1, 10)]);
SELECT * FROM allocate_theatre(ARRAY[pg_temp.slot(1)], ARRAY[pg_temp.case_(1, 10), pg_temp.case_(1, 20)]);
SELECT * FROM allocate_theatre(ARRAY[pg_temp.slot(1), pg_temp.slot(1, day => '2025-06-01')], ARRAY[pg_temp.case_(1, 10)]);
SELECT * FROM allocate_theatre(ARRAY[pg_temp.slot(1)],
                               ARRAY[pg_temp.case_(7, 10, 1), pg_temp.case_(8, 10, 2), pg_temp.case_(7, 20, 3)]);
SELECT * FROM allocate_theatre(ARRAY[pg_temp.slot(1)], ARRAY[pg_temp.case_(1, 10)], -1);
SELECT * FROM allocate_theatre(ARRAY[pg_temp.slot(1, spec => NULL)], ARRAY[pg_temp.case_(1, 10)]);
SELECT * FROM allocate_theatre(ARRAY[pg_temp.slot(1)], ARRAY[pg_temp.case_(1, 10), NULL]);
-- Nothing to do is not an error.
SELECT count(*) FROM allocate_theatre('{}', '{}');
