-- ptl.clinical_priority: the surgical priority codes P1a to P6 (FSSA 2020;
-- clinical guide to surgical prioritisation), ordered by urgency, and their target days in
-- ptl.priority_target.
\set VERBOSITY default
SET search_path = public, ptl;

-- The btree and hash operator classes are well formed.
SELECT c.opcname, a.amname, amvalidate(c.oid)
FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE c.opcname LIKE 'clinical_priority%' ORDER BY 1, 2;

-- Input is case-insensitive, white space around it ignored; output is the
-- canonical spelling.
SELECT v AS input, v::clinical_priority AS clinical_priority
FROM unnest(ARRAY['P1a', 'p1a', 'P1A', 'p1B', ' P2 ', 'p3', 'P4', 'p5', 'P6']) v;
SELECT E'\tp3\n'::clinical_priority AS tab_before_newline_after;

-- Ordered by urgency: P1a first, P6 last (FSSA 2020).
SELECT array_agg(p ORDER BY p) AS most_urgent_first
FROM unnest('{p6, P2, p1B, P1A, P4, p3, P5}'::clinical_priority[]) p;
SELECT 'P1a'::clinical_priority < 'P1b' AS p1a_before_p1b,
       'P1b'::clinical_priority < 'P2' AS p1b_before_p2,
       'P4'::clinical_priority < 'P5' AS p4_before_p5,
       'p3'::clinical_priority = 'P3' AS case_insensitive;

-- Anything else is 22P02 with the list of the seven codes.  A bare P1,
-- retired in the 2020 guidance, gets a hint saying how it was split.
SELECT 'P1'::clinical_priority;
SELECT ' p1 '::clinical_priority;
SELECT 'P7'::clinical_priority;
SELECT 'P1c'::clinical_priority;
SELECT 'P 1a'::clinical_priority;
SELECT 'D1'::clinical_priority;      -- diagnostic priorities are another scale
SELECT 'urgent'::clinical_priority;
SELECT ''::clinical_priority;

-- Casts to and from text (explicit).  NULL in, NULL out.
SELECT 'p1b'::clinical_priority::text AS to_text, ('P2'::text)::clinical_priority AS from_text,
       NULL::clinical_priority AS null_priority, priority_target_days(NULL) AS null_days;

-- Target days (FSSA 2020 defaults): P1a within 24 hours, P1b
-- within 72 hours, P2 up to 4 weeks, P3 up to 3 months, P4 more than 3
-- months (365 days here); P5 and P6 have none (the patient chose to wait).
SELECT priority, target_days, description, priority_target_days(priority) AS priority_target_days
FROM priority_target ORDER BY priority;
-- The table is kept by pg_dump, all of it.
SELECT c.t::regclass AS dumped_table, c.condition = '' AS whole_table
FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS c (t, condition)
WHERE e.extname = 'ptl' AND c.t = 'ptl.priority_target'::regclass;

-- A trust changes a target by updating the table; priority_target_days
-- follows (it is STABLE, reading the table).
BEGIN;
UPDATE priority_target SET target_days = 21 WHERE priority = 'P2';
SELECT priority_target_days('P2') AS p2_days;
-- Inserting a priority that is already there replaces its row (this is how
-- pg_restore loads a dump over the defaults that CREATE EXTENSION installs).
INSERT INTO priority_target VALUES ('P3', 60, 'Local policy: within 60 days');
SELECT priority, target_days, description FROM priority_target WHERE priority = 'P3';
SELECT count(*) AS rows FROM priority_target;
-- Without a row, a priority has no target.
DELETE FROM priority_target WHERE priority = 'P4';
SELECT priority_target_days('P4') AS p4_days;
INSERT INTO priority_target VALUES ('P4', 180, 'Local policy: within 6 months');
SELECT priority_target_days('P4') AS p4_days;
-- A target is a positive number of days.
UPDATE priority_target SET target_days = 0 WHERE priority = 'P2';
ROLLBACK;
SELECT priority, target_days FROM priority_target ORDER BY priority;

-- A btree index serves ranges ("P2 or more urgent"); a hash index equality.
CREATE TABLE prio_t (p clinical_priority);
INSERT INTO prio_t SELECT (ARRAY['P1a','P1b','P2','P3','P4','P5','P6'])[1 + i % 7]::clinical_priority
FROM generate_series(1, 2100) i;
CREATE INDEX prio_t_btree ON prio_t (p);
ANALYZE prio_t;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM prio_t WHERE p <= 'P2';
SELECT p, count(*) FROM prio_t WHERE p <= 'P2' GROUP BY p ORDER BY p;
DROP INDEX prio_t_btree;
CREATE INDEX prio_t_hash ON prio_t USING hash (p);
EXPLAIN (COSTS OFF) SELECT count(*) FROM prio_t WHERE p = 'P1b';
SELECT count(*) FROM prio_t WHERE p = 'P1b';
RESET enable_seqscan;

-- Hash partitioning works too (hash support 2).
CREATE TABLE prio_part (p clinical_priority) PARTITION BY HASH (p);
CREATE TABLE prio_part_0 PARTITION OF prio_part FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE prio_part_1 PARTITION OF prio_part FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO prio_part SELECT p FROM prio_t;
SELECT count(*) AS rows_placed FROM prio_part;

-- Binary send/receive: on the wire a priority is its rank as an int2, 0
-- (P1a) to 6 (P6); a binary COPY round-trips, and receive refuses a rank
-- outside 0-6.
SELECT ptl_internal.clinical_priority_send('P1a') = int2send(0::smallint) AS p1a_is_0,
       ptl_internal.clinical_priority_send('P6') = int2send(6::smallint) AS p6_is_6;
COPY prio_t TO '/tmp/ptl_types_priority.bin' (FORMAT binary);
CREATE TABLE prio_back (p clinical_priority);
COPY prio_back FROM '/tmp/ptl_types_priority.bin' (FORMAT binary);
SELECT count(*) AS rows_back,
       (SELECT array_agg(p ORDER BY p) FROM prio_back) = (SELECT array_agg(p ORDER BY p) FROM prio_t) AS identical
FROM prio_back;
COPY (SELECT 7::smallint) TO '/tmp/ptl_types_priority_bad.bin' (FORMAT binary);
COPY prio_back FROM '/tmp/ptl_types_priority_bad.bin' (FORMAT binary);

DROP TABLE prio_t, prio_part, prio_back;
RESET search_path;
