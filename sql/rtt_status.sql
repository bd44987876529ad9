-- ptl.rtt_status: the 17 national RTT period status codes and what each does
-- to the clock (NHS Data Dictionary REFERRAL TO TREATMENT PERIOD STATUS;
-- RTT guidance Annex D).
\set VERBOSITY default
SET search_path = public, ptl;

-- The btree and hash operator classes are well formed.
SELECT c.opcname, a.amname, amvalidate(c.oid)
FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE c.opcname LIKE 'rtt_status%' ORDER BY 1, 2;

-- Every code with its group and meaning (RTT guidance Annex D): starts 10, 11,
-- 12; running 20, 21; stops 30-36, of which 33 also nullifies the period;
-- outside RTT 90, 91, 92, 98; 99 not yet known.
SELECT s AS status,
       rtt_status_group(s) AS "group",
       rtt_status_starts_clock(s) AS starts,
       rtt_status_continues_clock(s) AS continues,
       rtt_status_stops_clock(s) AS stops,
       rtt_status_nullifies_clock(s) AS nullifies,
       rtt_status_outside_rtt(s) AS outside_rtt,
       rtt_status_description(s) AS description
FROM unnest('{10,11,12,20,21,30,31,32,33,34,35,36,90,91,92,98,99}'::rtt_status[]) s
ORDER BY s;

-- Each code belongs to exactly one group.
SELECT count(*) AS codes,
       count(*) FILTER (WHERE rtt_status_starts_clock(s)::int + rtt_status_continues_clock(s)::int
                              + rtt_status_stops_clock(s)::int + rtt_status_outside_rtt(s)::int
                              + (rtt_status_group(s) = 'unknown')::int = 1) AS in_one_group
FROM unnest('{10,11,12,20,21,30,31,32,33,34,35,36,90,91,92,98,99}'::rtt_status[]) s;

-- Input: exactly the two-digit code; white space around it is ignored.
-- Output: the two-digit code.
SELECT v AS input, v::rtt_status AS rtt_status
FROM unnest(ARRAY['30', ' 30 ']) v;
SELECT E'\t99\n'::rtt_status AS tab_before_newline_after;

-- Anything else is 22P02, with the list of the 17 codes (RTT guidance Annex D:
-- local codes must be mapped to the national ones).
SELECT '13'::rtt_status;    -- two digits, but not a national code
SELECT '00'::rtt_status;
SELECT '3'::rtt_status;     -- one digit
SELECT '030'::rtt_status;   -- three digits
SELECT '3O'::rtt_status;    -- letter O for zero
SELECT '+30'::rtt_status;   -- a sign
SELECT '3 0'::rtt_status;   -- a space inside
SELECT ''::rtt_status;      -- empty
SELECT '  '::rtt_status;    -- white space only

-- Casts to and from integer (explicit); from integer the value must be one
-- of the 17 codes (22023 otherwise).  Casts to and from text (explicit).
SELECT 33::rtt_status AS from_integer, '34'::rtt_status::integer AS to_integer,
       '35'::rtt_status::text AS to_text, ('36'::text)::rtt_status AS from_text;
SELECT 37::rtt_status;
SELECT (-10)::rtt_status;
SELECT 100010::rtt_status;

-- NULL in, NULL out, for the casts and every function.
SELECT NULL::rtt_status AS s, NULL::integer::rtt_status AS from_int,
       rtt_status_group(NULL) AS "group", rtt_status_stops_clock(NULL) AS stops,
       rtt_status_description(NULL) AS description;

-- Ordering is numeric.
SELECT array_agg(s ORDER BY s) AS ascending, array_agg(s ORDER BY s DESC) AS descending
FROM unnest('{20,10,99,30,33,90}'::rtt_status[]) s;
SELECT '10'::rtt_status < '20' AS lt, '33'::rtt_status = ' 33' AS eq, '98'::rtt_status >= '99' AS ge;

-- A btree index serves equality and ranges; a hash index serves equality.
CREATE TABLE rtt_t (s rtt_status);
INSERT INTO rtt_t SELECT (ARRAY[10,20,30,33,90,99])[1 + i % 6]::rtt_status FROM generate_series(1, 3000) i;
CREATE INDEX rtt_t_btree ON rtt_t (s);
ANALYZE rtt_t;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM rtt_t WHERE s = '33';
EXPLAIN (COSTS OFF) SELECT count(*) FROM rtt_t WHERE s BETWEEN '30' AND '36';
SELECT s, count(*) FROM rtt_t WHERE s BETWEEN '30' AND '36' GROUP BY s ORDER BY s;
DROP INDEX rtt_t_btree;
CREATE INDEX rtt_t_hash ON rtt_t USING hash (s);
EXPLAIN (COSTS OFF) SELECT count(*) FROM rtt_t WHERE s = '33';
SELECT count(*) FROM rtt_t WHERE s = '33';
RESET enable_seqscan;

-- Hash partitioning works too (hash support 2).
CREATE TABLE rtt_part (s rtt_status) PARTITION BY HASH (s);
CREATE TABLE rtt_part_0 PARTITION OF rtt_part FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE rtt_part_1 PARTITION OF rtt_part FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO rtt_part SELECT s FROM rtt_t;
SELECT count(*) AS rows_placed FROM rtt_part;
EXPLAIN (COSTS OFF) SELECT * FROM rtt_part WHERE s = '33';

-- Binary send/receive: a binary COPY out and back in gives the same codes;
-- on the wire a code is an int2, and receive refuses one that is not a code.
COPY rtt_t TO '/tmp/ptl_types_rtt_status.bin' (FORMAT binary);
CREATE TABLE rtt_back (s rtt_status);
COPY rtt_back FROM '/tmp/ptl_types_rtt_status.bin' (FORMAT binary);
SELECT count(*) AS rows_back,
       (SELECT array_agg(s ORDER BY s) FROM rtt_back) = (SELECT array_agg(s ORDER BY s) FROM rtt_t) AS identical
FROM rtt_back;
SELECT ptl_internal.rtt_status_send('33') = int2send(33::smallint) AS same_bytes_as_smallint;
COPY (SELECT 13::smallint) TO '/tmp/ptl_types_rtt_status_bad.bin' (FORMAT binary);
COPY rtt_back FROM '/tmp/ptl_types_rtt_status_bad.bin' (FORMAT binary);

DROP TABLE rtt_t, rtt_part, rtt_back;
RESET search_path;
