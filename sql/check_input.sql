-- ptl.check_input(value, target): what value::target would raise, returned
-- instead of raised, so that the loader can test millions of staged values
-- set-wise, without a subtransaction each.  This test proves, value by
-- value, that it says exactly what the cast says: the same SQLSTATE, the
-- same message and the same detail.
\set VERBOSITY default
SET search_path = public, ptl;

-- The cast's own verdict: NULL when it succeeds, else what it raised.
CREATE FUNCTION pg_temp.cast_error(value text, target regtype) RETURNS ptl.input_problem
LANGUAGE plpgsql AS $$
DECLARE
    st text;
    msg text;
    det text;
BEGIN
    EXECUTE format('SELECT %L::%s', value, target);
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN ROW(st, msg, nullif(det, ''))::ptl.input_problem;
END
$$;

-- Shows a value or message on one line (tabs and newlines as \t and \n)
-- and at most 70 characters long, for the listing below.
CREATE FUNCTION pg_temp.shown(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN length(t) > 70 THEN left(t, 67) || '...' ELSE t END
    FROM (SELECT replace(replace(s, E'\t', '\t'), E'\n', '\n')) AS e (t)
$$;

CREATE TYPE ci_colour AS ENUM ('red', 'green', 'blue');

-- The probes: for each supported type, values it accepts and values that
-- break each of its rules.
CREATE TABLE ci_probe (target regtype, value text);
INSERT INTO ci_probe
-- NHS number (NHS Data Dictionary): valid spellings, then one value per reason.
SELECT 'ptl.nhs_number'::regtype, v FROM unnest(ARRAY[
    '9434765919', '943 476 5919', '943-476-5919', ' 4857773457 ', '400 000 0020',
    '485 777 3456', '123 456 7890', '943476591', '94347659190', '', '   ', 'abc',
    '943 476 591X', E'943\t476 5919', 'é43 476 5919', '943 4765919', '943-476 5919',
    '943  476 5919', '-943 476 5919']) v
UNION ALL
-- RTT status (NHS Data Dictionary): the 17 codes only.
SELECT 'ptl.rtt_status', v FROM unnest(ARRAY[
    '10', '33', ' 99 ', '13', '00', '3', '030', '3O', '+30', '']) v
UNION ALL
-- Clinical priority (FSSA 2020).
SELECT 'ptl.clinical_priority', v FROM unnest(ARRAY[
    'P1a', 'p1B', ' P6 ', 'P1', 'P7', 'D1', 'urgent', '']) v
UNION ALL
-- Dates, read with PostgreSQL's own date parser: valid dates in several
-- forms, impossible days and months (22008), bad syntax (22007), the range
-- limits (22008 "date out of range"), special values, times and zones
-- (which a date ignores), a zone displacement out of range (22009), and a
-- word after a date that PostgreSQL takes for an unknown time zone (22023).
SELECT 'date', v FROM unnest(ARRAY[
    '2025-03-31', '31/03/2025', '03/31/2025', '31.03.2025', '20250331', '1 Jan 2025',
    'January 31, 2025', 'Jan/02/2025', '2024-02-29', '2025-02-29', '2025-02-30',
    '31/13/2024', '2025-13-01', '2025-1-32', '0000-01-01', 'January 32 2025', '99999999',
    'N/A', 'n/k', '', ' ', 'TBC', 'yesterday-ish', '2025-01-01x', '2025-01-01 xyz',
    'epoch', 'infinity', '-infinity', 'today', 'allballs',
    '5874897-12-31', '5874898-01-01', '4714-11-24 BC', '4714-11-23 BC',
    '2025-01-01 12:00', '2025-01-01 25:00', '2025-01-01T12:00:00Z', '2025-01-01 +01',
    '2025-01-01 +16', '2025-01-01 Europe/London', '2025-01-01 Mars/Olympus',
    '01/02/2025 N/A', 'J2451545']) v
UNION ALL
-- Integers, by PostgreSQL 15's rules: white space, a sign, digits.
SELECT 'integer', v FROM unnest(ARRAY[
    '0', ' 42 ', E'\t7\n', '+7', '-2147483648', '2147483647', '0000000000000042',
    '2147483648', '-2147483649', '99999999999999999999', '99999999999x', '2147483648x',
    'thirty', '1.5', '1e3', '0x1F', '1_000', '', ' ', '+', '- 7', '7 7']) v
UNION ALL
SELECT 'smallint', v FROM unnest(ARRAY[
    '32767', '-32768', '32768', '-32769', '32768 x', 'x']) v
UNION ALL
SELECT 'bigint', v FROM unnest(ARRAY[
    '9223372036854775807', '-9223372036854775808', '9223372036854775808',
    '-9223372036854775809', '9223372036854775808x', '99999999999999999999x', 'x']) v
UNION ALL
-- Enum labels: exact and case-sensitive; an over-long label is refused the
-- same way.
SELECT 'ci_colour', v FROM unnest(ARRAY[
    'red', 'blue', 'Red', ' red', '', repeat('x', 64)]) v
UNION ALL
-- Text and varchar accept anything.
SELECT 'text', v FROM unnest(ARRAY['anything', '']) v
UNION ALL
SELECT 'character varying', v FROM unnest(ARRAY['anything', '']) v;

-- Under two date orders (day first, as the loader reads UK extracts, and
-- month first): the cast's verdict and check_input's are identical for
-- every probe.  Each query lists the differences, so none is the pass.
SET datestyle = 'ISO, DMY';
SELECT target, value, ptl.check_input(value, target) AS check_input,
       pg_temp.cast_error(value, target) AS cast
FROM ci_probe
WHERE ptl.check_input(value, target) IS DISTINCT FROM pg_temp.cast_error(value, target);
SET datestyle = 'ISO, MDY';
SELECT target, value, ptl.check_input(value, target) AS check_input,
       pg_temp.cast_error(value, target) AS cast
FROM ci_probe
WHERE ptl.check_input(value, target) IS DISTINCT FROM pg_temp.cast_error(value, target);

-- And here is what they say (day-first dates).
SET datestyle = 'ISO, DMY';
SELECT target, pg_temp.shown(value) AS value, p.sqlstate, pg_temp.shown(p.message) AS message, p.detail
FROM ci_probe, LATERAL ptl.check_input(value, target) p
ORDER BY target::text, value COLLATE "C";
SELECT count(*) AS probes,
       count(*) FILTER (WHERE ptl.check_input(value, target) IS NULL) AS accepted
FROM ci_probe;

-- A label added to an enum in the current transaction may not be used
-- before it commits (55P04); check_input says so too.  A label of an enum
-- created in the same transaction is fine.
BEGIN;
ALTER TYPE ci_colour ADD VALUE 'purple';
CREATE TYPE ci_shape AS ENUM ('round');
SELECT v.target, v.value, ptl.check_input(v.value, v.target) AS check_input,
       ptl.check_input(v.value, v.target) IS NOT DISTINCT FROM pg_temp.cast_error(v.value, v.target) AS same_as_cast
FROM (VALUES ('ci_colour'::regtype, 'purple'), ('ci_shape'::regtype, 'round')) v (target, value);
ROLLBACK;

-- check_input is PARALLEL SAFE: run in a parallel worker it gives the same
-- answers (including the enum lookups and the dates).
SELECT md5(string_agg(format('%s|%s|%s', target, value, ptl.check_input(value, target)), ','
                      ORDER BY target::text, value)) AS serial_md5
FROM ci_probe \gset
SET force_parallel_mode = on;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
EXPLAIN (COSTS OFF)
SELECT target, value, ptl.check_input(value, target) FROM ci_probe;
SELECT md5(string_agg(format('%s|%s|%s', target, value, ptl.check_input(value, target)), ','
                      ORDER BY target::text, value)) = :'serial_md5' AS same_in_parallel
FROM ci_probe;
RESET force_parallel_mode;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;

-- NULL in, NULL out (STRICT).
SELECT ptl.check_input(NULL, 'date') IS NULL AS null_value,
       ptl.check_input('2025-01-01', NULL) IS NULL AS null_target;

-- Any other target type is an error (0A000), not a guess.
SELECT ptl.check_input('1', 'numeric');
SELECT ptl.check_input('2025-01-01', 'timestamp');
CREATE DOMAIN ci_positive AS integer CHECK (VALUE > 0);
SELECT ptl.check_input('1', 'ci_positive');

-- A regtype is only an OID: one that names no type is the caller's error
-- (42704, undefined_object, naming the OID), never an internal one.
-- (OID 0 used to be taken for whatever type the call site had cached.)
SELECT ptl.check_input('x', 999999::regtype);
SELECT ptl.check_input('x', 0::regtype);
\set VERBOSITY sqlstate
SELECT ptl.check_input('x', 999999::regtype);
\set VERBOSITY default

RESET datestyle;
DROP DOMAIN ci_positive;
DROP TABLE ci_probe;
DROP TYPE ci_colour;
RESET search_path;
