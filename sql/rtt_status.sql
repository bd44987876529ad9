-- ptl.rtt_status: the 17 national RTT period status codes (rtt-rules.md 4.3)
-- and what each does to the clock.

-- Every code, its group and meaning.  Starts: 10, 11, 12; running: 20, 21;
-- stops: 30-36 (33 also nullifies the period); outside RTT: 90, 91, 92, 98;
-- 99 not yet known.
SELECT s AS status,
       ptl.rtt_status_group(s) AS "group",
       ptl.rtt_status_starts_clock(s) AS starts,
       ptl.rtt_status_continues_clock(s) AS continues,
       ptl.rtt_status_stops_clock(s) AS stops,
       ptl.rtt_status_nullifies_clock(s) AS nullifies,
       ptl.rtt_status_outside_rtt(s) AS outside_rtt,
       ptl.rtt_status_description(s) AS description
FROM unnest('{10,11,12,20,21,30,31,32,33,34,35,36,90,91,92,98,99}'::ptl.rtt_status[]) s
ORDER BY s;

-- Surrounding white space is ignored; anything else is refused with 22P02.
SELECT ' 30 '::ptl.rtt_status;
SELECT '13'::ptl.rtt_status;   -- not a national code
SELECT '3'::ptl.rtt_status;    -- one digit
SELECT '030'::ptl.rtt_status;  -- three digits
SELECT '3O'::ptl.rtt_status;   -- letter O for zero
SELECT ''::ptl.rtt_status;

-- Casts: integer both ways (validated), text both ways.
SELECT 33::ptl.rtt_status, '34'::ptl.rtt_status::integer, '35'::ptl.rtt_status::text;
SELECT 37::ptl.rtt_status;

-- Ordering, btree and hash operator classes.
SELECT array_agg(s ORDER BY s DESC) FROM unnest('{20,10,99,30}'::ptl.rtt_status[]) s;
SELECT opcname, amname, amvalidate(c.oid)
FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE opcname LIKE 'rtt_status%' ORDER BY 1;
SET search_path = public, ptl;
CREATE TABLE rtt_t (s rtt_status);
INSERT INTO rtt_t SELECT (ARRAY[10,20,30,33,90,99])[1 + i % 6]::rtt_status FROM generate_series(1, 3000) i;
CREATE INDEX ON rtt_t (s);
ANALYZE rtt_t;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM rtt_t WHERE s = '33';
RESET enable_seqscan;
SELECT s, count(*) FROM rtt_t WHERE s >= '30' GROUP BY s ORDER BY s;

-- Binary round trip, and a binary code that is not a status is refused.
COPY rtt_t TO '/tmp/ptl_rtt_status.bin' (FORMAT binary);
CREATE TABLE rtt_back (s rtt_status);
COPY rtt_back FROM '/tmp/ptl_rtt_status.bin' (FORMAT binary);
SELECT count(*) AS rows_back FROM rtt_back;
COPY (SELECT 13::smallint) TO '/tmp/ptl_rtt_status_bad.bin' (FORMAT binary);
COPY rtt_back FROM '/tmp/ptl_rtt_status_bad.bin' (FORMAT binary);

RESET search_path;
DROP TABLE rtt_t, rtt_back;
