-- ptl.nhs_number: a valid NHS number, held in 8 bytes.
-- Rules: NHS Data Dictionary, NHS NUMBER, Modulus 11.
\set VERBOSITY default
SET search_path = public, ptl;

-- The btree and hash operator classes are well formed (every operator and
-- support function present with the right signature).
SELECT c.opcname, a.amname, amvalidate(c.oid)
FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE c.opcname LIKE 'nhs_number%' ORDER BY 1, 2;

-- Valid spellings (NHS CUI number display guidance): 10 digits, or 3-3-4
-- with single spaces or single hyphens; white space around is ignored.
-- Output is always 3-3-4 with single spaces.
SELECT v AS input, v::nhs_number AS nhs_number
FROM unnest(ARRAY['9434765919', '943 476 5919', '943-476-5919', '  943 476 5919  ']) v;
SELECT E'\t9434765919\n'::nhs_number AS tab_before_newline_after;

-- Worked Modulus 11 examples that pass the check.
SELECT v AS input, v::nhs_number AS nhs_number
FROM unnest(ARRAY['943 476 5919',   -- sum 299, 299 mod 11 = 2, check 9
                  '485 777 3457',   -- the NHS Data Dictionary example, check 7
                  '400 000 0020',   -- sum 44, 44 mod 11 = 0: check 11 is written 0
                  '400 000 0071',   -- sum 54, 54 mod 11 = 10: check 1
                  '000 000 0000'    -- passes Modulus 11; rejecting it is left to a local rule (V02)
                 ]) v;

-- Every error is 22P02 "invalid input syntax for type nhs_number", with a
-- detail that gives the reason and a hint.  The first rule broken is
-- reported, in this order: a character that does not belong, the number of
-- digits, the grouping, the check digit.

-- Modulus 11, step 5: the check digit must equal digit 10.
SELECT '485 777 3456'::nhs_number;
-- Modulus 11, step 4: check value 10 means no valid NHS number starts with
-- these nine digits, whatever the last digit is.
SELECT '123 456 7890'::nhs_number;
SELECT '400 000 0080'::nhs_number;
SELECT count(*) AS valid_among_400_000_008x
FROM generate_series(0, 9) d WHERE nhs_number_valid('400000008' || d);

-- Step 1: exactly 10 digits.
SELECT '943 476 591'::nhs_number;       -- 9 digits
SELECT '94347659190'::nhs_number;       -- 11 digits
SELECT '943 476 5919 1'::nhs_number;    -- a trailing group makes 11
SELECT ''::nhs_number;                  -- none
SELECT '   '::nhs_number;               -- none: white space only

-- Only digits, spaces and hyphens; the position counts characters of the
-- input as written, and an invisible character is named by its code point.
SELECT '943 476 591X'::nhs_number;      -- a letter (reported before the 9-digit count)
SELECT '  x434765919'::nhs_number;      -- position counts the leading spaces
SELECT '943.476.5919'::nhs_number;      -- a dot is not a separator
SELECT '+9434765919'::nhs_number;       -- nor is a sign
SELECT E'943\t476\t5919'::nhs_number;   -- a tab inside the number
SELECT E'943\u00a0476\u00a05919'::nhs_number; -- a no-break space (as pasted from a spreadsheet)
SELECT 'é43 476 5919'::nhs_number;      -- a multibyte character is named whole

-- Separators: only after digits 3 and 6, single, and the same both times.
SELECT '943 4765919'::nhs_number;       -- only one separator
SELECT '94 3476 5919'::nhs_number;      -- in the wrong places
SELECT '943  476 5919'::nhs_number;     -- a double space
SELECT '943-476 5919'::nhs_number;      -- mixed separators
SELECT '943 476 59 19'::nhs_number;     -- three separators
SELECT '-943 476 5919'::nhs_number;     -- a leading hyphen
SELECT '943-476-5919-'::nhs_number;     -- a trailing hyphen

-- ptl.nhs_number_valid applies the same rules and never raises; NULL in,
-- NULL out.
SELECT v AS input, nhs_number_valid(v) AS valid
FROM unnest(ARRAY['943 476 5919', '943-476-5919', ' 9434765919 ', '485 777 3456',
                  '123 456 7890', '943 4765919', '943 476 591X', 'x', '', NULL]) v;

-- Casts to and from text (explicit).
SELECT '9434765919'::nhs_number::text AS to_text,
       ('943-476-5919'::text)::nhs_number AS from_text;
-- Casts to and from bigint (explicit).  From bigint the integer must be
-- 0 to 9999999999 and pass the check (22023 otherwise); leading zeros are
-- digits too.
SELECT '943 476 5919'::nhs_number::bigint AS to_bigint,
       4857773457::bigint::nhs_number AS from_bigint;
SELECT 0::bigint::nhs_number AS zero;
SELECT 4857773456::bigint::nhs_number;   -- wrong check digit
SELECT 1234567890::bigint::nhs_number;   -- check value 10
SELECT 20::bigint::nhs_number;           -- 000 000 0020 fails the check
SELECT 12345678901::bigint::nhs_number;  -- more than 10 digits
SELECT (-9434765919)::bigint::nhs_number; -- negative
-- No implicit or assignment cast: an NHS number is not silently a number.
CREATE TABLE nhs_int (b bigint);
INSERT INTO nhs_int VALUES ('943 476 5919'::nhs_number);
INSERT INTO nhs_int VALUES ('943 476 5919'::nhs_number::bigint);
SELECT b FROM nhs_int;
DROP TABLE nhs_int;

-- NULL handling: a NULL NHS number is NULL through every cast and operator.
SELECT NULL::nhs_number AS n, NULL::nhs_number::bigint AS b, NULL::bigint::nhs_number AS n2,
       (NULL::nhs_number = '943 476 5919') IS NULL AS eq_is_null;

-- Comparison is numeric, whatever the spelling; NULLs sort last.
CREATE TABLE nhs_t (n nhs_number);
INSERT INTO nhs_t VALUES ('485 777 3457'), ('400-000-0020'), ('9434765919'), (NULL), ('400 000 0071');
SELECT n FROM nhs_t ORDER BY n;
SELECT n FROM nhs_t ORDER BY n DESC NULLS LAST;
SELECT n FROM nhs_t WHERE n > '4000000071' ORDER BY n;
SELECT '943 476 5919'::nhs_number = '943-476-5919' AS eq, '400 000 0020'::nhs_number < '400 000 0071' AS lt,
       '400 000 0020'::nhs_number <> '400 000 0071' AS ne, '485 777 3457'::nhs_number >= '485 777 3457' AS ge;

-- A btree index serves equality, ranges and ORDER BY.
INSERT INTO nhs_t
SELECT (4000000000 + i * 10 + c.check_digit)::bigint::nhs_number
FROM generate_series(0, 9999) i
CROSS JOIN LATERAL (SELECT d AS check_digit FROM generate_series(0, 9) d
                    WHERE nhs_number_valid((4000000000 + i * 10 + d)::text)) c;
SELECT count(*) AS rows FROM nhs_t;
CREATE INDEX nhs_t_btree ON nhs_t (n);
ANALYZE nhs_t;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM nhs_t WHERE n = '943 476 5919';
EXPLAIN (COSTS OFF) SELECT * FROM nhs_t WHERE n BETWEEN '400 000 0020' AND '400 000 0500';
SELECT count(*) FROM nhs_t WHERE n BETWEEN '400 000 0020' AND '400 000 0500';
EXPLAIN (COSTS OFF) SELECT n FROM nhs_t ORDER BY n LIMIT 3;
SELECT n FROM nhs_t ORDER BY n LIMIT 3;
-- A hash index serves equality.
DROP INDEX nhs_t_btree;
CREATE INDEX nhs_t_hash ON nhs_t USING hash (n);
EXPLAIN (COSTS OFF) SELECT * FROM nhs_t WHERE n = '943 476 5919';
SELECT n FROM nhs_t WHERE n = '943 476 5919';
RESET enable_seqscan;

-- Hash joins work on the type (hash support 1).
SET enable_mergejoin = off;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM nhs_t a JOIN nhs_t b USING (n);
SELECT count(*) FROM nhs_t a JOIN nhs_t b USING (n);
RESET enable_mergejoin;
RESET enable_nestloop;

-- Hash partitioning by NHS number (hash support 2): every row lands in one
-- of the 4 partitions, the spread is even, and a query on one number reads
-- one partition only (partition pruning).
CREATE TABLE nhs_part (n nhs_number NOT NULL, payload int) PARTITION BY HASH (n);
CREATE TABLE nhs_part_0 PARTITION OF nhs_part FOR VALUES WITH (MODULUS 4, REMAINDER 0);
CREATE TABLE nhs_part_1 PARTITION OF nhs_part FOR VALUES WITH (MODULUS 4, REMAINDER 1);
CREATE TABLE nhs_part_2 PARTITION OF nhs_part FOR VALUES WITH (MODULUS 4, REMAINDER 2);
CREATE TABLE nhs_part_3 PARTITION OF nhs_part FOR VALUES WITH (MODULUS 4, REMAINDER 3);
INSERT INTO nhs_part SELECT n, 1 FROM nhs_t WHERE n IS NOT NULL;
SELECT tableoid::regclass AS partition, count(*) BETWEEN 1800 AND 2700 AS about_a_quarter
FROM nhs_part GROUP BY 1 ORDER BY 1;
SELECT (SELECT count(*) FROM nhs_part) = (SELECT count(*) FROM nhs_t WHERE n IS NOT NULL) AS all_rows_placed;
EXPLAIN (COSTS OFF) SELECT * FROM nhs_part WHERE n = '943 476 5919';
SELECT tableoid::regclass AS partition, n FROM nhs_part WHERE n = '943 476 5919';
-- The hashes are bigint's hashes of the same integer.
SELECT ptl_internal.nhs_number_hash('943 476 5919') = hashint8(9434765919) AS hash_as_bigint,
       ptl_internal.nhs_number_hash_extended('943 476 5919', 42) = hashint8extended(9434765919, 42) AS extended_as_bigint;

-- Binary send/receive: a binary COPY out and back in gives the same numbers.
COPY (SELECT n FROM nhs_t WHERE n IS NOT NULL) TO '/tmp/ptl_types_nhs_number.bin' (FORMAT binary);
CREATE TABLE nhs_back (n nhs_number);
COPY nhs_back FROM '/tmp/ptl_types_nhs_number.bin' (FORMAT binary);
SELECT count(*) AS rows_back,
       NOT EXISTS (SELECT n FROM nhs_t WHERE n IS NOT NULL EXCEPT ALL SELECT n FROM nhs_back)
       AND NOT EXISTS (SELECT n FROM nhs_back EXCEPT ALL SELECT n FROM nhs_t WHERE n IS NOT NULL) AS identical
FROM nhs_back;
-- On the wire it is an int8: the bytes of 9434765919.
SELECT ptl_internal.nhs_number_send('943 476 5919') = int8send(9434765919) AS same_bytes_as_bigint;
-- Receive validates: an int8 that is not a valid NHS number is refused.
COPY (SELECT 4857773456::bigint) TO '/tmp/ptl_types_nhs_number_bad.bin' (FORMAT binary);
COPY nhs_back FROM '/tmp/ptl_types_nhs_number_bad.bin' (FORMAT binary);
COPY (SELECT 12345678901::bigint) TO '/tmp/ptl_types_nhs_number_bad.bin' (FORMAT binary);
COPY nhs_back FROM '/tmp/ptl_types_nhs_number_bad.bin' (FORMAT binary);

-- Text output reads back unchanged (pg_dump and postgres_fdw send text).
SELECT bool_and(n::text::nhs_number = n) AS text_round_trip FROM nhs_t;

DROP TABLE nhs_t, nhs_part, nhs_back;
RESET search_path;
