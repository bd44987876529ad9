-- ptl.clinical_priority: surgical priority P1a-P6 (FSSA 2020; rtt-rules.md
-- 8.1), ordered by urgency, with target days that a trust may override.

-- Input is case-insensitive; output is canonical; P1a sorts first.
SELECT array_agg(p ORDER BY p)
FROM unnest('{p6, P2, p1B, P1A, P4, p3, P5}'::ptl.clinical_priority[]) p;
SELECT ' p2 '::ptl.clinical_priority::text;

-- Errors: 22P02 with the list of codes, and a hint for the retired P1.
SELECT 'P1'::ptl.clinical_priority;
SELECT 'P7'::ptl.clinical_priority;
SELECT 'urgent'::ptl.clinical_priority;
SELECT ''::ptl.clinical_priority;

-- Target days: the FSSA defaults (P1a 24 hours, P1b 72 hours, P2 4 weeks,
-- P3 3 months, P4 over 3 months as 365 days, none for P5/P6) ...
SELECT priority, default_days, target_days, overridden, description FROM ptl.priority_target ORDER BY priority;
-- ... which a trust overrides in a table that pg_dump keeps.
INSERT INTO ptl.priority_target_override (priority, target_days, reason) VALUES ('P2', 21, 'local policy: 3 weeks');
SELECT ptl.priority_target_days('P2'), ptl.priority_default_target_days('P2');
DELETE FROM ptl.priority_target_override;
SELECT ptl.priority_target_days('P2');

-- Operator classes, index use, hash aggregation.
SELECT opcname, amname, amvalidate(c.oid)
FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE opcname LIKE 'clinical_priority%' ORDER BY 1;
SET search_path = public, ptl;
CREATE TABLE prio_t (p clinical_priority);
INSERT INTO prio_t SELECT (ARRAY['P1a','P2','P3','P4','P6'])[1 + i % 5]::clinical_priority FROM generate_series(1, 2000) i;
CREATE INDEX ON prio_t (p);
ANALYZE prio_t;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM prio_t WHERE p < 'P3';
RESET enable_seqscan;
SELECT p, count(*) FROM prio_t WHERE p < 'P3' GROUP BY p ORDER BY p;

-- Binary round trip, and an out-of-range binary value is refused.
COPY prio_t TO '/tmp/ptl_priority.bin' (FORMAT binary);
CREATE TABLE prio_back (p clinical_priority);
COPY prio_back FROM '/tmp/ptl_priority.bin' (FORMAT binary);
SELECT count(*) AS rows_back FROM prio_back;
COPY (SELECT 7::smallint) TO '/tmp/ptl_priority_bad.bin' (FORMAT binary);
COPY prio_back FROM '/tmp/ptl_priority_bad.bin' (FORMAT binary);

RESET search_path;
DROP TABLE prio_t, prio_back;
