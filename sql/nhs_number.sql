-- ptl.nhs_number: a valid NHS number in 8 bytes.
-- Rules: NHS Data Dictionary Modulus 11 (rtt-rules.md section 7).

-- Valid spellings: 10 digits, or 3-3-4 with single spaces or single hyphens,
-- surrounding white space ignored.  Output is always 3-3-4 with spaces.
SELECT v AS input, v::ptl.nhs_number AS nhs_number
FROM unnest(ARRAY['9434765919', '943 476 5919', '943-476-5919', '  943 476 5919  ',
                  '4857773457',      -- the NHS Data Dictionary's own example
                  '4000000020',      -- check value 11 is written 0
                  '4000000071']) v;

-- Every error branch, with its detail.
SELECT '485 777 3456'::ptl.nhs_number;   -- wrong check digit (expected 7)
SELECT '1234567890'::ptl.nhs_number;     -- check value 10: no valid number starts 123456789
SELECT '4000000080'::ptl.nhs_number;     -- check value 10 again, whatever the last digit
SELECT '943476591'::ptl.nhs_number;      -- 9 digits
SELECT '94347659190'::ptl.nhs_number;    -- 11 digits
SELECT ''::ptl.nhs_number;               -- empty
SELECT '943 476 591X'::ptl.nhs_number;   -- a letter
SELECT '943.476.5919'::ptl.nhs_number;   -- a separator that is not allowed
SELECT '943 4765919'::ptl.nhs_number;    -- only one separator
SELECT '94 3476 5919'::ptl.nhs_number;   -- separators in the wrong places
SELECT '943  476 5919'::ptl.nhs_number;  -- a double space
SELECT '943-476 5919'::ptl.nhs_number;   -- mixed separators
SELECT '943 476 5919 1'::ptl.nhs_number; -- a trailing group makes 11 digits
SELECT 'é43 476 5919'::ptl.nhs_number;   -- a multibyte character is named whole

-- ptl.nhs_number_valid applies the same rules and never raises.
SELECT v, ptl.nhs_number_valid(v)
FROM unnest(ARRAY['943 476 5919', '943-476-5919', '4857773456', '123 456 7890', 'x', '']) v;
SELECT ptl.nhs_number_valid(NULL) IS NULL AS null_in_null_out;

-- Casts: text both ways, bigint both ways (validated).
SELECT '9434765919'::ptl.nhs_number::text, '9434765919'::ptl.nhs_number::bigint;
SELECT 4857773457::bigint::ptl.nhs_number;
SELECT 4857773456::bigint::ptl.nhs_number;  -- fails the check digit
SELECT 12345678901::bigint::ptl.nhs_number; -- more than 10 digits
SELECT (-1)::bigint::ptl.nhs_number;

-- Ordering is numeric; NULLs sort last as usual.
CREATE TABLE nhs_t (n ptl.nhs_number);
INSERT INTO nhs_t VALUES ('485 777 3457'), ('400 000 0020'), ('943 476 5919'), (NULL), ('400 000 0071');
SELECT n FROM nhs_t ORDER BY n;
SELECT n FROM nhs_t WHERE n OPERATOR(ptl.>) '4000000071' ORDER BY n;
SELECT count(*) FROM nhs_t WHERE n OPERATOR(ptl.=) '943-476-5919';

-- The operator classes are well formed.
SELECT opcname, amname, amvalidate(c.oid)
FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE opcname LIKE 'nhs_number%' ORDER BY 1;

-- A btree index serves equality and ranges; a hash index serves equality.
SET search_path = public, ptl;
INSERT INTO nhs_t SELECT (4000000000 + i * 11)::bigint::text::nhs_number
FROM generate_series(0, 5000) i WHERE nhs_number_valid((4000000000 + i * 11)::text);
CREATE INDEX nhs_t_btree ON nhs_t (n);
ANALYZE nhs_t;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM nhs_t WHERE n = '943 476 5919';
EXPLAIN (COSTS OFF) SELECT * FROM nhs_t WHERE n BETWEEN '400 000 0020' AND '400 000 0500';
SELECT count(*) FROM nhs_t WHERE n BETWEEN '400 000 0020' AND '400 000 0500';
DROP INDEX nhs_t_btree;
CREATE INDEX nhs_t_hash ON nhs_t USING hash (n);
EXPLAIN (COSTS OFF) SELECT * FROM nhs_t WHERE n = '943 476 5919';
SELECT n FROM nhs_t WHERE n = '943 476 5919';
RESET enable_seqscan;

-- Hash joins and hash aggregation work on the type.
SET enable_mergejoin = off;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM nhs_t a JOIN nhs_t b USING (n);
SELECT count(*) FROM nhs_t a JOIN nhs_t b USING (n);
RESET enable_mergejoin;
RESET enable_nestloop;

-- Hash partitioning by NHS number (hash support function 2): rows spread
-- over the partitions, and a query on one number reads one partition.
CREATE TABLE nhs_part (n nhs_number, payload int) PARTITION BY HASH (n);
CREATE TABLE nhs_part_0 PARTITION OF nhs_part FOR VALUES WITH (MODULUS 4, REMAINDER 0);
CREATE TABLE nhs_part_1 PARTITION OF nhs_part FOR VALUES WITH (MODULUS 4, REMAINDER 1);
CREATE TABLE nhs_part_2 PARTITION OF nhs_part FOR VALUES WITH (MODULUS 4, REMAINDER 2);
CREATE TABLE nhs_part_3 PARTITION OF nhs_part FOR VALUES WITH (MODULUS 4, REMAINDER 3);
INSERT INTO nhs_part SELECT n, 1 FROM nhs_t WHERE n IS NOT NULL;
SELECT tableoid::regclass AS partition, count(*) > 100 AS well_filled
FROM nhs_part GROUP BY 1 ORDER BY 1;
SELECT (SELECT count(*) FROM nhs_part) = (SELECT count(*) FROM nhs_t WHERE n IS NOT NULL) AS all_rows_placed;
EXPLAIN (COSTS OFF) SELECT * FROM nhs_part WHERE n = '943 476 5919';
-- The hash of a value is stable: the same number always lands in the same place.
SELECT ptl.nhs_number_hash('943 476 5919') = hashint8(9434765919) AS same_as_bigint,
       ptl.nhs_number_hash_extended('943 476 5919', 0) = hashint8extended(9434765919, 0) AS extended_same_as_bigint;

-- Binary send/receive round trip (COPY in binary format through a file).
COPY (SELECT n FROM nhs_t WHERE n IS NOT NULL) TO '/tmp/ptl_nhs_number.bin' (FORMAT binary);
CREATE TABLE nhs_back (n nhs_number);
COPY nhs_back FROM '/tmp/ptl_nhs_number.bin' (FORMAT binary);
SELECT count(*) AS rows_back,
       count(*) = (SELECT count(*) FROM nhs_t WHERE n IS NOT NULL) AS all_back,
       NOT EXISTS (SELECT n FROM nhs_t WHERE n IS NOT NULL EXCEPT SELECT n FROM nhs_back) AS identical
FROM nhs_back;
-- A binary value that is not a valid NHS number is refused.
COPY (SELECT 4857773456::bigint) TO '/tmp/ptl_nhs_number_bad.bin' (FORMAT binary);
COPY nhs_back FROM '/tmp/ptl_nhs_number_bad.bin' (FORMAT binary);

-- Text output is accepted back by text input unchanged (postgres_fdw and
-- pg_dump send values as text).
SELECT bool_and(n::text::nhs_number = n) AS text_round_trip FROM nhs_t;

RESET search_path;
DROP TABLE nhs_t, nhs_part, nhs_back;
