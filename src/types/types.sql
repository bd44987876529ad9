-- ---------------------------------------------------------------------------
-- types: ptl.nhs_number, ptl.rtt_status, ptl.clinical_priority and
-- ptl.check_input.  C in src/types/*.c.
-- ---------------------------------------------------------------------------
\echo Use "CREATE EXTENSION ptl" to load this file. \quit

-- Shell types, so the I/O functions can name them.
CREATE TYPE ptl.nhs_number;
CREATE TYPE ptl.rtt_status;
CREATE TYPE ptl.clinical_priority;

-- ---------------------------------------------------------------------------
-- I/O functions
-- ---------------------------------------------------------------------------
CREATE FUNCTION ptl.nhs_number_in(cstring) RETURNS ptl.nhs_number
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl.nhs_number_out(ptl.nhs_number) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl.nhs_number_recv(internal) RETURNS ptl.nhs_number
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl.nhs_number_send(ptl.nhs_number) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION ptl.rtt_status_in(cstring) RETURNS ptl.rtt_status
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl.rtt_status_out(ptl.rtt_status) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl.rtt_status_recv(internal) RETURNS ptl.rtt_status
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl.rtt_status_send(ptl.rtt_status) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION ptl.clinical_priority_in(cstring) RETURNS ptl.clinical_priority
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl.clinical_priority_out(ptl.clinical_priority) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl.clinical_priority_recv(internal) RETURNS ptl.clinical_priority
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl.clinical_priority_send(ptl.clinical_priority) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- ---------------------------------------------------------------------------
-- Types
-- ---------------------------------------------------------------------------
CREATE TYPE ptl.nhs_number (
    INPUT = ptl.nhs_number_in, OUTPUT = ptl.nhs_number_out,
    RECEIVE = ptl.nhs_number_recv, SEND = ptl.nhs_number_send,
    INTERNALLENGTH = 8, PASSEDBYVALUE, ALIGNMENT = double, STORAGE = plain
);
COMMENT ON TYPE ptl.nhs_number IS
    'A valid NHS number (10 digits, Modulus 11 check); input 10 digits or 3-3-4 with spaces or hyphens, output 943 476 5919';

CREATE TYPE ptl.rtt_status (
    INPUT = ptl.rtt_status_in, OUTPUT = ptl.rtt_status_out,
    RECEIVE = ptl.rtt_status_recv, SEND = ptl.rtt_status_send,
    INTERNALLENGTH = 2, PASSEDBYVALUE, ALIGNMENT = int2, STORAGE = plain
);
COMMENT ON TYPE ptl.rtt_status IS
    'One of the 17 national RTT period status codes (10, 11, 12, 20, 21, 30-36, 90, 91, 92, 98, 99)';

CREATE TYPE ptl.clinical_priority (
    INPUT = ptl.clinical_priority_in, OUTPUT = ptl.clinical_priority_out,
    RECEIVE = ptl.clinical_priority_recv, SEND = ptl.clinical_priority_send,
    INTERNALLENGTH = 2, PASSEDBYVALUE, ALIGNMENT = int2, STORAGE = plain
);
COMMENT ON TYPE ptl.clinical_priority IS
    'Surgical priority P1a, P1b, P2, P3, P4, P5, P6, ordered by urgency (P1a first)';

COMMENT ON FUNCTION ptl.nhs_number_in(cstring) IS 'Text input of ptl.nhs_number';
COMMENT ON FUNCTION ptl.nhs_number_out(ptl.nhs_number) IS 'Text output of ptl.nhs_number (3-3-4 with spaces)';
COMMENT ON FUNCTION ptl.nhs_number_recv(internal) IS 'Binary input of ptl.nhs_number (int8, validated)';
COMMENT ON FUNCTION ptl.nhs_number_send(ptl.nhs_number) IS 'Binary output of ptl.nhs_number (int8)';
COMMENT ON FUNCTION ptl.rtt_status_in(cstring) IS 'Text input of ptl.rtt_status';
COMMENT ON FUNCTION ptl.rtt_status_out(ptl.rtt_status) IS 'Text output of ptl.rtt_status (two digits)';
COMMENT ON FUNCTION ptl.rtt_status_recv(internal) IS 'Binary input of ptl.rtt_status (int2, validated)';
COMMENT ON FUNCTION ptl.rtt_status_send(ptl.rtt_status) IS 'Binary output of ptl.rtt_status (int2)';
COMMENT ON FUNCTION ptl.clinical_priority_in(cstring) IS 'Text input of ptl.clinical_priority (case-insensitive)';
COMMENT ON FUNCTION ptl.clinical_priority_out(ptl.clinical_priority) IS 'Text output of ptl.clinical_priority (P1a ... P6)';
COMMENT ON FUNCTION ptl.clinical_priority_recv(internal) IS 'Binary input of ptl.clinical_priority (int2 ordinal 0-6, validated)';
COMMENT ON FUNCTION ptl.clinical_priority_send(ptl.clinical_priority) IS 'Binary output of ptl.clinical_priority (int2 ordinal 0-6)';

-- ---------------------------------------------------------------------------
-- Functions
-- ---------------------------------------------------------------------------
CREATE FUNCTION ptl.nhs_number_valid(text) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.nhs_number_valid(text) IS
    'True when the text is a valid NHS number (same rules as ptl.nhs_number input); never raises';

CREATE FUNCTION ptl.nhs_number_from_bigint(bigint) RETURNS ptl.nhs_number
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.nhs_number_from_bigint(bigint) IS 'Cast bigint to ptl.nhs_number (validated)';
CREATE FUNCTION ptl.nhs_number_to_bigint(ptl.nhs_number) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.nhs_number_to_bigint(ptl.nhs_number) IS 'Cast ptl.nhs_number to bigint';

CREATE FUNCTION ptl.rtt_status_from_integer(integer) RETURNS ptl.rtt_status
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.rtt_status_from_integer(integer) IS 'Cast integer to ptl.rtt_status (validated)';
CREATE FUNCTION ptl.rtt_status_to_integer(ptl.rtt_status) RETURNS integer
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.rtt_status_to_integer(ptl.rtt_status) IS 'Cast ptl.rtt_status to integer';

CREATE FUNCTION ptl.rtt_status_starts_clock(ptl.rtt_status) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.rtt_status_starts_clock(ptl.rtt_status) IS
    'True for 10, 11, 12: the first activity of an RTT period';
CREATE FUNCTION ptl.rtt_status_continues_clock(ptl.rtt_status) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.rtt_status_continues_clock(ptl.rtt_status) IS
    'True for 20, 21: the clock keeps running';
CREATE FUNCTION ptl.rtt_status_stops_clock(ptl.rtt_status) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.rtt_status_stops_clock(ptl.rtt_status) IS
    'True for 30-36: the clock stops (33 also nullifies the period)';
CREATE FUNCTION ptl.rtt_status_nullifies_clock(ptl.rtt_status) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.rtt_status_nullifies_clock(ptl.rtt_status) IS
    'True for 33: a DNA of the first activity nullifies the period';
CREATE FUNCTION ptl.rtt_status_outside_rtt(ptl.rtt_status) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.rtt_status_outside_rtt(ptl.rtt_status) IS
    'True for 90, 91, 92, 98: activity outside an RTT period';
CREATE FUNCTION ptl.rtt_status_group(ptl.rtt_status) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.rtt_status_group(ptl.rtt_status) IS
    'start, running, stop, not_rtt, or unknown (99)';
CREATE FUNCTION ptl.rtt_status_description(ptl.rtt_status) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.rtt_status_description(ptl.rtt_status) IS
    'What the status code means, in words';

-- The verdict of a type's parser without raising (for the loader).
CREATE TYPE ptl.input_problem AS (sqlstate text, message text, detail text);
COMMENT ON TYPE ptl.input_problem IS
    'What casting a text to a type would raise: SQLSTATE, message and detail';
CREATE FUNCTION ptl.check_input(value text, target regtype) RETURNS ptl.input_problem
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.check_input(text, regtype) IS
    'NULL when value::target would succeed, else the SQLSTATE, message and detail it would raise; never raises. For ptl types, date, integers, enums and text.';

-- ---------------------------------------------------------------------------
-- Casts
-- ---------------------------------------------------------------------------
CREATE CAST (ptl.nhs_number AS text) WITH INOUT;
CREATE CAST (text AS ptl.nhs_number) WITH INOUT;
CREATE CAST (ptl.nhs_number AS bigint) WITH FUNCTION ptl.nhs_number_to_bigint(ptl.nhs_number);
CREATE CAST (bigint AS ptl.nhs_number) WITH FUNCTION ptl.nhs_number_from_bigint(bigint);
COMMENT ON CAST (ptl.nhs_number AS text) IS 'The 3-3-4 display form';
COMMENT ON CAST (text AS ptl.nhs_number) IS 'Parses and validates an NHS number';
COMMENT ON CAST (ptl.nhs_number AS bigint) IS 'The NHS number as an integer';
COMMENT ON CAST (bigint AS ptl.nhs_number) IS 'Validates an integer as an NHS number';

CREATE CAST (ptl.rtt_status AS text) WITH INOUT;
CREATE CAST (text AS ptl.rtt_status) WITH INOUT;
CREATE CAST (ptl.rtt_status AS integer) WITH FUNCTION ptl.rtt_status_to_integer(ptl.rtt_status);
CREATE CAST (integer AS ptl.rtt_status) WITH FUNCTION ptl.rtt_status_from_integer(integer);
COMMENT ON CAST (ptl.rtt_status AS text) IS 'The two-digit code';
COMMENT ON CAST (text AS ptl.rtt_status) IS 'Parses a national RTT status code';
COMMENT ON CAST (ptl.rtt_status AS integer) IS 'The code as an integer';
COMMENT ON CAST (integer AS ptl.rtt_status) IS 'Validates an integer as an RTT status code';

CREATE CAST (ptl.clinical_priority AS text) WITH INOUT;
CREATE CAST (text AS ptl.clinical_priority) WITH INOUT;
COMMENT ON CAST (ptl.clinical_priority AS text) IS 'The canonical spelling, e.g. P1a';
COMMENT ON CAST (text AS ptl.clinical_priority) IS 'Parses a surgical priority code';

-- ---------------------------------------------------------------------------
-- Operators, operator classes (btree and hash for each type)
-- ---------------------------------------------------------------------------
DO $body$
DECLARE
    t text;
    op record;
BEGIN
    FOREACH t IN ARRAY ARRAY['nhs_number', 'rtt_status', 'clinical_priority'] LOOP
        FOR op IN SELECT * FROM (VALUES
            ('eq', '=',  '=',  '<>', 'eqsel', 'eqjoinsel', 'equal to'),
            ('ne', '<>', '<>', '=',  'neqsel', 'neqjoinsel', 'not equal to'),
            ('lt', '<',  '>',  '>=', 'scalarltsel', 'scalarltjoinsel', 'less than'),
            ('le', '<=', '>=', '>',  'scalarlesel', 'scalarlejoinsel', 'less than or equal to'),
            ('gt', '>',  '<',  '<=', 'scalargtsel', 'scalargtjoinsel', 'greater than'),
            ('ge', '>=', '<=', '<',  'scalargesel', 'scalargejoinsel', 'greater than or equal to')
        ) AS v (fn, sym, commutator, negator, restrict_fn, join_fn, words) LOOP
            EXECUTE format('CREATE FUNCTION ptl.%1$s_%2$s(ptl.%1$s, ptl.%1$s) RETURNS boolean
                            AS %3$L LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF',
                           t, op.fn, 'MODULE_PATHNAME');
            EXECUTE format('COMMENT ON FUNCTION ptl.%1$s_%2$s(ptl.%1$s, ptl.%1$s) IS %3$L',
                           t, op.fn, format('Implements the %s %s operator', t, op.sym));
            EXECUTE format('CREATE OPERATOR ptl.%2$s (LEFTARG = ptl.%1$s, RIGHTARG = ptl.%1$s,
                            FUNCTION = ptl.%1$s_%3$s, COMMUTATOR = OPERATOR(ptl.%4$s),
                            NEGATOR = OPERATOR(ptl.%5$s), RESTRICT = %6$s, JOIN = %7$s%8$s)',
                           t, op.sym, op.fn, op.commutator, op.negator, op.restrict_fn, op.join_fn,
                           CASE op.fn WHEN 'eq' THEN ', HASHES, MERGES' ELSE '' END);
            EXECUTE format('COMMENT ON OPERATOR ptl.%2$s (ptl.%1$s, ptl.%1$s) IS %3$L',
                           t, op.sym, op.words);
        END LOOP;
        EXECUTE format('CREATE FUNCTION ptl.%1$s_cmp(ptl.%1$s, ptl.%1$s) RETURNS integer
                        AS %2$L LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF', t, 'MODULE_PATHNAME');
        EXECUTE format('COMMENT ON FUNCTION ptl.%1$s_cmp(ptl.%1$s, ptl.%1$s) IS %2$L',
                       t, 'Btree comparison of ' || t || ': -1, 0 or 1');
        EXECUTE format('CREATE FUNCTION ptl.%1$s_hash(ptl.%1$s) RETURNS integer
                        AS %2$L LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF', t, 'MODULE_PATHNAME');
        EXECUTE format('COMMENT ON FUNCTION ptl.%1$s_hash(ptl.%1$s) IS %2$L',
                       t, 'Hash of ' || t || ' (hash support 1)');
        EXECUTE format('CREATE FUNCTION ptl.%1$s_hash_extended(ptl.%1$s, bigint) RETURNS bigint
                        AS %2$L LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF', t, 'MODULE_PATHNAME');
        EXECUTE format('COMMENT ON FUNCTION ptl.%1$s_hash_extended(ptl.%1$s, bigint) IS %2$L',
                       t, 'Seeded 64-bit hash of ' || t || ' (hash support 2, used by hash partitioning)');
        -- The values are integers in the Datum, so int8/int2 sort support fits.
        EXECUTE format('CREATE OPERATOR CLASS ptl.%1$s_ops DEFAULT FOR TYPE ptl.%1$s USING btree AS
                            OPERATOR 1 ptl.<, OPERATOR 2 ptl.<=, OPERATOR 3 ptl.=,
                            OPERATOR 4 ptl.>=, OPERATOR 5 ptl.>,
                            FUNCTION 1 ptl.%1$s_cmp(ptl.%1$s, ptl.%1$s),
                            FUNCTION 2 pg_catalog.%2$s(internal)',
                       t, CASE t WHEN 'nhs_number' THEN 'btint8sortsupport' ELSE 'btint2sortsupport' END);
        EXECUTE format('CREATE OPERATOR CLASS ptl.%1$s_hash_ops DEFAULT FOR TYPE ptl.%1$s USING hash AS
                            OPERATOR 1 ptl.=,
                            FUNCTION 1 ptl.%1$s_hash(ptl.%1$s),
                            FUNCTION 2 ptl.%1$s_hash_extended(ptl.%1$s, bigint)', t);
        EXECUTE format('COMMENT ON OPERATOR CLASS ptl.%1$s_ops USING btree IS %2$L',
                       t, 'Default btree ordering of ' || t);
        EXECUTE format('COMMENT ON OPERATOR CLASS ptl.%1$s_hash_ops USING hash IS %2$L',
                       t, 'Default hashing of ' || t || ' (hash indexes, hash joins, hash partitioning)');
    END LOOP;
END
$body$;

-- ---------------------------------------------------------------------------
-- Target times of the clinical priorities (FSSA surgical prioritisation,
-- 2020; rtt-rules.md 8.1).  The defaults are code; a trust overrides them in
-- ptl.priority_target_override (a table pg_dump keeps), and
-- ptl.priority_target_days reads the override first.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ptl.priority_default_target_days(priority ptl.clinical_priority) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE priority::text
    WHEN 'P1a' THEN 1 WHEN 'P1b' THEN 3 WHEN 'P2' THEN 28 WHEN 'P3' THEN 90 WHEN 'P4' THEN 365
END;
COMMENT ON FUNCTION ptl.priority_default_target_days(ptl.clinical_priority) IS
    'FSSA default target days: P1a 1, P1b 3, P2 28, P3 90, P4 365; NULL for P5 and P6 (patient chose to wait)';

CREATE TABLE ptl.priority_target_override (
    priority    ptl.clinical_priority PRIMARY KEY,
    target_days int CHECK (target_days > 0),
    reason      text NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    changed_by  text NOT NULL DEFAULT current_user
);
COMMENT ON TABLE ptl.priority_target_override IS
    'A trust''s own target days for a clinical priority, replacing the FSSA default (a row with NULL target_days means no target)';
COMMENT ON COLUMN ptl.priority_target_override.priority IS 'Clinical priority';
COMMENT ON COLUMN ptl.priority_target_override.target_days IS 'Target days to treatment; NULL for none';
COMMENT ON COLUMN ptl.priority_target_override.reason IS 'Why the default is replaced (e.g. the local policy)';
COMMENT ON COLUMN ptl.priority_target_override.changed_at IS 'When it was set';
COMMENT ON COLUMN ptl.priority_target_override.changed_by IS 'Who set it';
SELECT pg_catalog.pg_extension_config_dump('ptl.priority_target_override', '');

CREATE FUNCTION ptl.priority_target_days(priority ptl.clinical_priority) RETURNS integer
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE
    WHEN EXISTS (SELECT 1 FROM ptl.priority_target_override o WHERE o.priority OPERATOR(ptl.=) priority)
        THEN (SELECT o.target_days FROM ptl.priority_target_override o WHERE o.priority OPERATOR(ptl.=) priority)
    ELSE ptl.priority_default_target_days(priority)
END;
COMMENT ON FUNCTION ptl.priority_target_days(ptl.clinical_priority) IS
    'Target days to treatment for a clinical priority: the trust''s override if any, else the FSSA default (1, 3, 28, 90, 365; NULL for P5 and P6)';

CREATE VIEW ptl.priority_target AS
SELECT p.priority, ptl.priority_default_target_days(p.priority) AS default_days,
       ptl.priority_target_days(p.priority) AS target_days,
       (o.priority IS NOT NULL) AS overridden, p.description
FROM (VALUES
    ('P1a'::ptl.clinical_priority, 'Emergency: operation needed within 24 hours'),
    ('P1b', 'Urgent: operation needed within 72 hours'),
    ('P2', 'Surgery that can be deferred for up to 4 weeks'),
    ('P3', 'Surgery that can be delayed for up to 3 months'),
    ('P4', 'Surgery that can be delayed for more than 3 months'),
    ('P5', 'Patient chose to wait: concerns about COVID-19'),
    ('P6', 'Patient chose to wait: reasons other than COVID-19')
) AS p (priority, description)
LEFT JOIN ptl.priority_target_override o ON o.priority OPERATOR(ptl.=) p.priority;
COMMENT ON VIEW ptl.priority_target IS 'Every clinical priority with its meaning, default and effective target days';
COMMENT ON COLUMN ptl.priority_target.priority IS 'Clinical priority';
COMMENT ON COLUMN ptl.priority_target.default_days IS 'FSSA default target days';
COMMENT ON COLUMN ptl.priority_target.target_days IS 'Target days in force';
COMMENT ON COLUMN ptl.priority_target.overridden IS 'True when the trust has replaced the default';
COMMENT ON COLUMN ptl.priority_target.description IS 'What the priority means (FSSA, 2020)';
