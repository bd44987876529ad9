-- ---------------------------------------------------------------------------
-- types: ptl.nhs_number, ptl.rtt_status, ptl.clinical_priority, the table of
-- priority targets and ptl.check_input.  C in src/types/*.c.
--
-- Order: shell types, I/O functions, types, functions, casts, operators,
-- operator classes, tables.  This file comes first in ptl--<version>.sql.
-- ---------------------------------------------------------------------------
\echo Use "CREATE EXTENSION ptl" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Shell types, so that the I/O functions can name them
-- ---------------------------------------------------------------------------
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
-- An NHS number is held as its 10 digits in an int8, by value, so it is as
-- fast to compare, hash and index as a bigint.
CREATE TYPE ptl.nhs_number (
    INPUT = ptl.nhs_number_in, OUTPUT = ptl.nhs_number_out,
    RECEIVE = ptl.nhs_number_recv, SEND = ptl.nhs_number_send,
    INTERNALLENGTH = 8, PASSEDBYVALUE, ALIGNMENT = double, STORAGE = plain
);
COMMENT ON TYPE ptl.nhs_number IS
    'A valid NHS number (10 digits passing the NHS Data Dictionary Modulus 11 check). Input: 10 digits, or 3-3-4 with single spaces or single hyphens; output: 943 476 5919';

CREATE TYPE ptl.rtt_status (
    INPUT = ptl.rtt_status_in, OUTPUT = ptl.rtt_status_out,
    RECEIVE = ptl.rtt_status_recv, SEND = ptl.rtt_status_send,
    INTERNALLENGTH = 2, PASSEDBYVALUE, ALIGNMENT = int2, STORAGE = plain
);
COMMENT ON TYPE ptl.rtt_status IS
    'One of the 17 national RTT period status codes: 10, 11, 12 (start), 20, 21 (running), 30-36 (stop), 90, 91, 92, 98 (not RTT), 99 (not yet known)';

CREATE TYPE ptl.clinical_priority (
    INPUT = ptl.clinical_priority_in, OUTPUT = ptl.clinical_priority_out,
    RECEIVE = ptl.clinical_priority_recv, SEND = ptl.clinical_priority_send,
    INTERNALLENGTH = 2, PASSEDBYVALUE, ALIGNMENT = int2, STORAGE = plain
);
COMMENT ON TYPE ptl.clinical_priority IS
    'Surgical priority P1a, P1b, P2, P3, P4, P5 or P6 (FSSA 2020), ordered by urgency: P1a sorts first. Input is case-insensitive';

-- What casting a text to a type would raise (ptl.check_input's result).
CREATE TYPE ptl.input_problem AS (sqlstate text, message text, detail text);
COMMENT ON TYPE ptl.input_problem IS
    'The error a cast would raise: its SQLSTATE, message and detail (NULL when it has none)';

COMMENT ON FUNCTION ptl.nhs_number_in(cstring) IS 'Text input of ptl.nhs_number (validates the Modulus 11 check digit)';
COMMENT ON FUNCTION ptl.nhs_number_out(ptl.nhs_number) IS 'Text output of ptl.nhs_number: 3-3-4 with single spaces';
COMMENT ON FUNCTION ptl.nhs_number_recv(internal) IS 'Binary input of ptl.nhs_number: an int8, validated like text input';
COMMENT ON FUNCTION ptl.nhs_number_send(ptl.nhs_number) IS 'Binary output of ptl.nhs_number: an int8';
COMMENT ON FUNCTION ptl.rtt_status_in(cstring) IS 'Text input of ptl.rtt_status: one of the 17 two-digit codes';
COMMENT ON FUNCTION ptl.rtt_status_out(ptl.rtt_status) IS 'Text output of ptl.rtt_status: the two-digit code';
COMMENT ON FUNCTION ptl.rtt_status_recv(internal) IS 'Binary input of ptl.rtt_status: an int2, which must be one of the 17 codes';
COMMENT ON FUNCTION ptl.rtt_status_send(ptl.rtt_status) IS 'Binary output of ptl.rtt_status: the code as an int2';
COMMENT ON FUNCTION ptl.clinical_priority_in(cstring) IS 'Text input of ptl.clinical_priority (case-insensitive)';
COMMENT ON FUNCTION ptl.clinical_priority_out(ptl.clinical_priority) IS 'Text output of ptl.clinical_priority: P1a, P1b, P2, P3, P4, P5 or P6';
COMMENT ON FUNCTION ptl.clinical_priority_recv(internal) IS 'Binary input of ptl.clinical_priority: its rank as an int2, 0 (P1a) to 6 (P6)';
COMMENT ON FUNCTION ptl.clinical_priority_send(ptl.clinical_priority) IS 'Binary output of ptl.clinical_priority: its rank as an int2, 0 (P1a) to 6 (P6)';

-- ---------------------------------------------------------------------------
-- Functions
-- ---------------------------------------------------------------------------
CREATE FUNCTION ptl.nhs_number_valid(text) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.nhs_number_valid(text) IS
    'True when the text is a valid NHS number by the rules of ptl.nhs_number input; never raises';

CREATE FUNCTION ptl.nhs_number_from_bigint(bigint) RETURNS ptl.nhs_number
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.nhs_number_from_bigint(bigint) IS
    'Cast bigint to ptl.nhs_number: the integer must be 0 to 9999999999 and pass the Modulus 11 check (else 22023)';

CREATE FUNCTION ptl.rtt_status_from_integer(integer) RETURNS ptl.rtt_status
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.rtt_status_from_integer(integer) IS
    'Cast integer to ptl.rtt_status: the integer must be one of the 17 codes (else 22023)';
CREATE FUNCTION ptl.rtt_status_to_integer(ptl.rtt_status) RETURNS integer
    AS 'i2toi4' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.rtt_status_to_integer(ptl.rtt_status) IS 'Cast ptl.rtt_status to integer: the code';

-- What each RTT status does to the clock (rtt-rules.md 4.3).
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
    'True for 30 to 36: the clock stops (33 also nullifies the period)';
CREATE FUNCTION ptl.rtt_status_nullifies_clock(ptl.rtt_status) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.rtt_status_nullifies_clock(ptl.rtt_status) IS
    'True for 33 only: a DNA of the first activity voids the whole period';
CREATE FUNCTION ptl.rtt_status_outside_rtt(ptl.rtt_status) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.rtt_status_outside_rtt(ptl.rtt_status) IS
    'True for 90, 91, 92, 98: activity outside an RTT period';
CREATE FUNCTION ptl.rtt_status_group(ptl.rtt_status) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.rtt_status_group(ptl.rtt_status) IS
    'The status group: start (10-12), running (20, 21), stop (30-36), not_rtt (90, 91, 92, 98) or unknown (99)';
CREATE FUNCTION ptl.rtt_status_description(ptl.rtt_status) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.rtt_status_description(ptl.rtt_status) IS
    'What the status code means, in words (paraphrasing the NHS Data Dictionary)';

-- The loader's set-wise validator: the cast's verdict without the cast.
CREATE FUNCTION ptl.check_input(value text, target regtype) RETURNS ptl.input_problem
    AS 'MODULE_PATHNAME', 'ptl_check_input' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.check_input(text, regtype) IS
    'NULL when value::target would succeed, otherwise the SQLSTATE, message and detail the cast would raise, without raising. Targets: ptl.nhs_number, ptl.rtt_status, ptl.clinical_priority, date, smallint, integer, bigint, enum types, text, varchar (others: 0A000)';

-- nhs_number: comparison, btree and hash support are PostgreSQL's own int8
-- functions, since the stored value is an int8.

CREATE FUNCTION ptl.nhs_number_eq(ptl.nhs_number, ptl.nhs_number) RETURNS boolean
    AS 'int8eq' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.nhs_number_eq(ptl.nhs_number, ptl.nhs_number) IS 'Implements the nhs_number = operator';

CREATE FUNCTION ptl.nhs_number_ne(ptl.nhs_number, ptl.nhs_number) RETURNS boolean
    AS 'int8ne' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.nhs_number_ne(ptl.nhs_number, ptl.nhs_number) IS 'Implements the nhs_number <> operator';

CREATE FUNCTION ptl.nhs_number_lt(ptl.nhs_number, ptl.nhs_number) RETURNS boolean
    AS 'int8lt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.nhs_number_lt(ptl.nhs_number, ptl.nhs_number) IS 'Implements the nhs_number < operator';

CREATE FUNCTION ptl.nhs_number_le(ptl.nhs_number, ptl.nhs_number) RETURNS boolean
    AS 'int8le' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.nhs_number_le(ptl.nhs_number, ptl.nhs_number) IS 'Implements the nhs_number <= operator';

CREATE FUNCTION ptl.nhs_number_gt(ptl.nhs_number, ptl.nhs_number) RETURNS boolean
    AS 'int8gt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.nhs_number_gt(ptl.nhs_number, ptl.nhs_number) IS 'Implements the nhs_number > operator';

CREATE FUNCTION ptl.nhs_number_ge(ptl.nhs_number, ptl.nhs_number) RETURNS boolean
    AS 'int8ge' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.nhs_number_ge(ptl.nhs_number, ptl.nhs_number) IS 'Implements the nhs_number >= operator';

CREATE FUNCTION ptl.nhs_number_cmp(ptl.nhs_number, ptl.nhs_number) RETURNS integer
    AS 'btint8cmp' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.nhs_number_cmp(ptl.nhs_number, ptl.nhs_number) IS 'Btree comparison of NHS numbers (-1, 0 or 1, by numeric order of the 10 digits)';

CREATE FUNCTION ptl.nhs_number_hash(ptl.nhs_number) RETURNS integer
    AS 'hashint8' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.nhs_number_hash(ptl.nhs_number) IS 'Hash of a nhs_number (hash support 1: hash indexes, hash joins, hash aggregation)';

CREATE FUNCTION ptl.nhs_number_hash_extended(ptl.nhs_number, bigint) RETURNS bigint
    AS 'hashint8extended' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.nhs_number_hash_extended(ptl.nhs_number, bigint) IS 'Seeded 64-bit hash of a nhs_number (hash support 2: hash partitioning)';

-- rtt_status: comparison, btree and hash support are PostgreSQL's own int2
-- functions, since the stored value is an int2.

CREATE FUNCTION ptl.rtt_status_eq(ptl.rtt_status, ptl.rtt_status) RETURNS boolean
    AS 'int2eq' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.rtt_status_eq(ptl.rtt_status, ptl.rtt_status) IS 'Implements the rtt_status = operator';

CREATE FUNCTION ptl.rtt_status_ne(ptl.rtt_status, ptl.rtt_status) RETURNS boolean
    AS 'int2ne' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.rtt_status_ne(ptl.rtt_status, ptl.rtt_status) IS 'Implements the rtt_status <> operator';

CREATE FUNCTION ptl.rtt_status_lt(ptl.rtt_status, ptl.rtt_status) RETURNS boolean
    AS 'int2lt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.rtt_status_lt(ptl.rtt_status, ptl.rtt_status) IS 'Implements the rtt_status < operator';

CREATE FUNCTION ptl.rtt_status_le(ptl.rtt_status, ptl.rtt_status) RETURNS boolean
    AS 'int2le' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.rtt_status_le(ptl.rtt_status, ptl.rtt_status) IS 'Implements the rtt_status <= operator';

CREATE FUNCTION ptl.rtt_status_gt(ptl.rtt_status, ptl.rtt_status) RETURNS boolean
    AS 'int2gt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.rtt_status_gt(ptl.rtt_status, ptl.rtt_status) IS 'Implements the rtt_status > operator';

CREATE FUNCTION ptl.rtt_status_ge(ptl.rtt_status, ptl.rtt_status) RETURNS boolean
    AS 'int2ge' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.rtt_status_ge(ptl.rtt_status, ptl.rtt_status) IS 'Implements the rtt_status >= operator';

CREATE FUNCTION ptl.rtt_status_cmp(ptl.rtt_status, ptl.rtt_status) RETURNS integer
    AS 'btint2cmp' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.rtt_status_cmp(ptl.rtt_status, ptl.rtt_status) IS 'Btree comparison of RTT period status codes (-1, 0 or 1, by numeric order of the codes)';

CREATE FUNCTION ptl.rtt_status_hash(ptl.rtt_status) RETURNS integer
    AS 'hashint2' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.rtt_status_hash(ptl.rtt_status) IS 'Hash of a rtt_status (hash support 1: hash indexes, hash joins, hash aggregation)';

CREATE FUNCTION ptl.rtt_status_hash_extended(ptl.rtt_status, bigint) RETURNS bigint
    AS 'hashint2extended' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.rtt_status_hash_extended(ptl.rtt_status, bigint) IS 'Seeded 64-bit hash of a rtt_status (hash support 2: hash partitioning)';

-- clinical_priority: comparison, btree and hash support are PostgreSQL's own int2
-- functions, since the stored value is an int2.

CREATE FUNCTION ptl.clinical_priority_eq(ptl.clinical_priority, ptl.clinical_priority) RETURNS boolean
    AS 'int2eq' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.clinical_priority_eq(ptl.clinical_priority, ptl.clinical_priority) IS 'Implements the clinical_priority = operator';

CREATE FUNCTION ptl.clinical_priority_ne(ptl.clinical_priority, ptl.clinical_priority) RETURNS boolean
    AS 'int2ne' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.clinical_priority_ne(ptl.clinical_priority, ptl.clinical_priority) IS 'Implements the clinical_priority <> operator';

CREATE FUNCTION ptl.clinical_priority_lt(ptl.clinical_priority, ptl.clinical_priority) RETURNS boolean
    AS 'int2lt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.clinical_priority_lt(ptl.clinical_priority, ptl.clinical_priority) IS 'Implements the clinical_priority < operator';

CREATE FUNCTION ptl.clinical_priority_le(ptl.clinical_priority, ptl.clinical_priority) RETURNS boolean
    AS 'int2le' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.clinical_priority_le(ptl.clinical_priority, ptl.clinical_priority) IS 'Implements the clinical_priority <= operator';

CREATE FUNCTION ptl.clinical_priority_gt(ptl.clinical_priority, ptl.clinical_priority) RETURNS boolean
    AS 'int2gt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.clinical_priority_gt(ptl.clinical_priority, ptl.clinical_priority) IS 'Implements the clinical_priority > operator';

CREATE FUNCTION ptl.clinical_priority_ge(ptl.clinical_priority, ptl.clinical_priority) RETURNS boolean
    AS 'int2ge' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.clinical_priority_ge(ptl.clinical_priority, ptl.clinical_priority) IS 'Implements the clinical_priority >= operator';

CREATE FUNCTION ptl.clinical_priority_cmp(ptl.clinical_priority, ptl.clinical_priority) RETURNS integer
    AS 'btint2cmp' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.clinical_priority_cmp(ptl.clinical_priority, ptl.clinical_priority) IS 'Btree comparison of clinical priorities (-1, 0 or 1, by urgency, P1a first)';

CREATE FUNCTION ptl.clinical_priority_hash(ptl.clinical_priority) RETURNS integer
    AS 'hashint2' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.clinical_priority_hash(ptl.clinical_priority) IS 'Hash of a clinical_priority (hash support 1: hash indexes, hash joins, hash aggregation)';

CREATE FUNCTION ptl.clinical_priority_hash_extended(ptl.clinical_priority, bigint) RETURNS bigint
    AS 'hashint2extended' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl.clinical_priority_hash_extended(ptl.clinical_priority, bigint) IS 'Seeded 64-bit hash of a clinical_priority (hash support 2: hash partitioning)';

-- ---------------------------------------------------------------------------
-- Casts (all explicit)
-- ---------------------------------------------------------------------------
CREATE CAST (ptl.nhs_number AS text) WITH INOUT;
COMMENT ON CAST (ptl.nhs_number AS text) IS 'The 3-3-4 display form, e.g. 943 476 5919';
CREATE CAST (text AS ptl.nhs_number) WITH INOUT;
COMMENT ON CAST (text AS ptl.nhs_number) IS 'Parses and validates an NHS number (22P02 when invalid)';
-- Same representation (an int8), so no function is needed.
CREATE CAST (ptl.nhs_number AS bigint) WITHOUT FUNCTION;
COMMENT ON CAST (ptl.nhs_number AS bigint) IS 'The NHS number as an integer, e.g. 9434765919';
CREATE CAST (bigint AS ptl.nhs_number) WITH FUNCTION ptl.nhs_number_from_bigint(bigint);
COMMENT ON CAST (bigint AS ptl.nhs_number) IS 'Validates an integer as an NHS number (22023 when invalid)';

CREATE CAST (ptl.rtt_status AS text) WITH INOUT;
COMMENT ON CAST (ptl.rtt_status AS text) IS 'The two-digit code';
CREATE CAST (text AS ptl.rtt_status) WITH INOUT;
COMMENT ON CAST (text AS ptl.rtt_status) IS 'Parses a national RTT period status code (22P02 when invalid)';
CREATE CAST (ptl.rtt_status AS integer) WITH FUNCTION ptl.rtt_status_to_integer(ptl.rtt_status);
COMMENT ON CAST (ptl.rtt_status AS integer) IS 'The code as an integer';
CREATE CAST (integer AS ptl.rtt_status) WITH FUNCTION ptl.rtt_status_from_integer(integer);
COMMENT ON CAST (integer AS ptl.rtt_status) IS 'Validates an integer as an RTT period status code (22023 when invalid)';

CREATE CAST (ptl.clinical_priority AS text) WITH INOUT;
COMMENT ON CAST (ptl.clinical_priority AS text) IS 'The canonical spelling, e.g. P1a';
CREATE CAST (text AS ptl.clinical_priority) WITH INOUT;
COMMENT ON CAST (text AS ptl.clinical_priority) IS 'Parses a surgical priority code, case-insensitively (22P02 when invalid)';

-- ---------------------------------------------------------------------------
-- Operators: =, <>, <, <=, >, >= for each type
-- ---------------------------------------------------------------------------
CREATE OPERATOR ptl.= (
    LEFTARG = ptl.nhs_number, RIGHTARG = ptl.nhs_number, FUNCTION = ptl.nhs_number_eq,
    COMMUTATOR = OPERATOR(ptl.=), NEGATOR = OPERATOR(ptl.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES
);
COMMENT ON OPERATOR ptl.= (ptl.nhs_number, ptl.nhs_number) IS 'equal to';

CREATE OPERATOR ptl.<> (
    LEFTARG = ptl.nhs_number, RIGHTARG = ptl.nhs_number, FUNCTION = ptl.nhs_number_ne,
    COMMUTATOR = OPERATOR(ptl.<>), NEGATOR = OPERATOR(ptl.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
COMMENT ON OPERATOR ptl.<> (ptl.nhs_number, ptl.nhs_number) IS 'not equal to';

CREATE OPERATOR ptl.< (
    LEFTARG = ptl.nhs_number, RIGHTARG = ptl.nhs_number, FUNCTION = ptl.nhs_number_lt,
    COMMUTATOR = OPERATOR(ptl.>), NEGATOR = OPERATOR(ptl.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
COMMENT ON OPERATOR ptl.< (ptl.nhs_number, ptl.nhs_number) IS 'less than (by numeric order of the 10 digits)';

CREATE OPERATOR ptl.<= (
    LEFTARG = ptl.nhs_number, RIGHTARG = ptl.nhs_number, FUNCTION = ptl.nhs_number_le,
    COMMUTATOR = OPERATOR(ptl.>=), NEGATOR = OPERATOR(ptl.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
COMMENT ON OPERATOR ptl.<= (ptl.nhs_number, ptl.nhs_number) IS 'less than or equal to (by numeric order of the 10 digits)';

CREATE OPERATOR ptl.> (
    LEFTARG = ptl.nhs_number, RIGHTARG = ptl.nhs_number, FUNCTION = ptl.nhs_number_gt,
    COMMUTATOR = OPERATOR(ptl.<), NEGATOR = OPERATOR(ptl.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
COMMENT ON OPERATOR ptl.> (ptl.nhs_number, ptl.nhs_number) IS 'greater than (by numeric order of the 10 digits)';

CREATE OPERATOR ptl.>= (
    LEFTARG = ptl.nhs_number, RIGHTARG = ptl.nhs_number, FUNCTION = ptl.nhs_number_ge,
    COMMUTATOR = OPERATOR(ptl.<=), NEGATOR = OPERATOR(ptl.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR ptl.>= (ptl.nhs_number, ptl.nhs_number) IS 'greater than or equal to (by numeric order of the 10 digits)';

CREATE OPERATOR ptl.= (
    LEFTARG = ptl.rtt_status, RIGHTARG = ptl.rtt_status, FUNCTION = ptl.rtt_status_eq,
    COMMUTATOR = OPERATOR(ptl.=), NEGATOR = OPERATOR(ptl.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES
);
COMMENT ON OPERATOR ptl.= (ptl.rtt_status, ptl.rtt_status) IS 'equal to';

CREATE OPERATOR ptl.<> (
    LEFTARG = ptl.rtt_status, RIGHTARG = ptl.rtt_status, FUNCTION = ptl.rtt_status_ne,
    COMMUTATOR = OPERATOR(ptl.<>), NEGATOR = OPERATOR(ptl.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
COMMENT ON OPERATOR ptl.<> (ptl.rtt_status, ptl.rtt_status) IS 'not equal to';

CREATE OPERATOR ptl.< (
    LEFTARG = ptl.rtt_status, RIGHTARG = ptl.rtt_status, FUNCTION = ptl.rtt_status_lt,
    COMMUTATOR = OPERATOR(ptl.>), NEGATOR = OPERATOR(ptl.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
COMMENT ON OPERATOR ptl.< (ptl.rtt_status, ptl.rtt_status) IS 'less than (by numeric order of the codes)';

CREATE OPERATOR ptl.<= (
    LEFTARG = ptl.rtt_status, RIGHTARG = ptl.rtt_status, FUNCTION = ptl.rtt_status_le,
    COMMUTATOR = OPERATOR(ptl.>=), NEGATOR = OPERATOR(ptl.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
COMMENT ON OPERATOR ptl.<= (ptl.rtt_status, ptl.rtt_status) IS 'less than or equal to (by numeric order of the codes)';

CREATE OPERATOR ptl.> (
    LEFTARG = ptl.rtt_status, RIGHTARG = ptl.rtt_status, FUNCTION = ptl.rtt_status_gt,
    COMMUTATOR = OPERATOR(ptl.<), NEGATOR = OPERATOR(ptl.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
COMMENT ON OPERATOR ptl.> (ptl.rtt_status, ptl.rtt_status) IS 'greater than (by numeric order of the codes)';

CREATE OPERATOR ptl.>= (
    LEFTARG = ptl.rtt_status, RIGHTARG = ptl.rtt_status, FUNCTION = ptl.rtt_status_ge,
    COMMUTATOR = OPERATOR(ptl.<=), NEGATOR = OPERATOR(ptl.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR ptl.>= (ptl.rtt_status, ptl.rtt_status) IS 'greater than or equal to (by numeric order of the codes)';

CREATE OPERATOR ptl.= (
    LEFTARG = ptl.clinical_priority, RIGHTARG = ptl.clinical_priority, FUNCTION = ptl.clinical_priority_eq,
    COMMUTATOR = OPERATOR(ptl.=), NEGATOR = OPERATOR(ptl.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES
);
COMMENT ON OPERATOR ptl.= (ptl.clinical_priority, ptl.clinical_priority) IS 'equal to';

CREATE OPERATOR ptl.<> (
    LEFTARG = ptl.clinical_priority, RIGHTARG = ptl.clinical_priority, FUNCTION = ptl.clinical_priority_ne,
    COMMUTATOR = OPERATOR(ptl.<>), NEGATOR = OPERATOR(ptl.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
COMMENT ON OPERATOR ptl.<> (ptl.clinical_priority, ptl.clinical_priority) IS 'not equal to';

CREATE OPERATOR ptl.< (
    LEFTARG = ptl.clinical_priority, RIGHTARG = ptl.clinical_priority, FUNCTION = ptl.clinical_priority_lt,
    COMMUTATOR = OPERATOR(ptl.>), NEGATOR = OPERATOR(ptl.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
COMMENT ON OPERATOR ptl.< (ptl.clinical_priority, ptl.clinical_priority) IS 'less than (by urgency, P1a first)';

CREATE OPERATOR ptl.<= (
    LEFTARG = ptl.clinical_priority, RIGHTARG = ptl.clinical_priority, FUNCTION = ptl.clinical_priority_le,
    COMMUTATOR = OPERATOR(ptl.>=), NEGATOR = OPERATOR(ptl.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
COMMENT ON OPERATOR ptl.<= (ptl.clinical_priority, ptl.clinical_priority) IS 'less than or equal to (by urgency, P1a first)';

CREATE OPERATOR ptl.> (
    LEFTARG = ptl.clinical_priority, RIGHTARG = ptl.clinical_priority, FUNCTION = ptl.clinical_priority_gt,
    COMMUTATOR = OPERATOR(ptl.<), NEGATOR = OPERATOR(ptl.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
COMMENT ON OPERATOR ptl.> (ptl.clinical_priority, ptl.clinical_priority) IS 'greater than (by urgency, P1a first)';

CREATE OPERATOR ptl.>= (
    LEFTARG = ptl.clinical_priority, RIGHTARG = ptl.clinical_priority, FUNCTION = ptl.clinical_priority_ge,
    COMMUTATOR = OPERATOR(ptl.<=), NEGATOR = OPERATOR(ptl.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR ptl.>= (ptl.clinical_priority, ptl.clinical_priority) IS 'greater than or equal to (by urgency, P1a first)';

-- ---------------------------------------------------------------------------
-- Operator classes: btree (with sort support and deduplication) and hash
-- (support functions 1 and 2, so PARTITION BY HASH works) for each type
-- ---------------------------------------------------------------------------
CREATE OPERATOR CLASS ptl.nhs_number_ops
    DEFAULT FOR TYPE ptl.nhs_number USING btree AS
        OPERATOR 1 ptl.<,
        OPERATOR 2 ptl.<=,
        OPERATOR 3 ptl.=,
        OPERATOR 4 ptl.>=,
        OPERATOR 5 ptl.>,
        FUNCTION 1 ptl.nhs_number_cmp(ptl.nhs_number, ptl.nhs_number),
        FUNCTION 2 pg_catalog.btint8sortsupport(internal),
        FUNCTION 4 pg_catalog.btequalimage(oid);
COMMENT ON OPERATOR CLASS ptl.nhs_number_ops USING btree IS
    'Default btree ordering of NHS numbers (numeric order of the 10 digits), with sort support and deduplication';
COMMENT ON OPERATOR FAMILY ptl.nhs_number_ops USING btree IS 'Btree operators of NHS numbers';

CREATE OPERATOR CLASS ptl.nhs_number_ops
    DEFAULT FOR TYPE ptl.nhs_number USING hash AS
        OPERATOR 1 ptl.=,
        FUNCTION 1 ptl.nhs_number_hash(ptl.nhs_number),
        FUNCTION 2 ptl.nhs_number_hash_extended(ptl.nhs_number, bigint);
COMMENT ON OPERATOR CLASS ptl.nhs_number_ops USING hash IS
    'Default hashing of NHS numbers (hash indexes, hash joins and aggregation, PARTITION BY HASH)';
COMMENT ON OPERATOR FAMILY ptl.nhs_number_ops USING hash IS 'Hash operators of NHS numbers';

CREATE OPERATOR CLASS ptl.rtt_status_ops
    DEFAULT FOR TYPE ptl.rtt_status USING btree AS
        OPERATOR 1 ptl.<,
        OPERATOR 2 ptl.<=,
        OPERATOR 3 ptl.=,
        OPERATOR 4 ptl.>=,
        OPERATOR 5 ptl.>,
        FUNCTION 1 ptl.rtt_status_cmp(ptl.rtt_status, ptl.rtt_status),
        FUNCTION 2 pg_catalog.btint2sortsupport(internal),
        FUNCTION 4 pg_catalog.btequalimage(oid);
COMMENT ON OPERATOR CLASS ptl.rtt_status_ops USING btree IS
    'Default btree ordering of RTT period status codes (numeric order of the codes), with sort support and deduplication';
COMMENT ON OPERATOR FAMILY ptl.rtt_status_ops USING btree IS 'Btree operators of RTT period status codes';

CREATE OPERATOR CLASS ptl.rtt_status_ops
    DEFAULT FOR TYPE ptl.rtt_status USING hash AS
        OPERATOR 1 ptl.=,
        FUNCTION 1 ptl.rtt_status_hash(ptl.rtt_status),
        FUNCTION 2 ptl.rtt_status_hash_extended(ptl.rtt_status, bigint);
COMMENT ON OPERATOR CLASS ptl.rtt_status_ops USING hash IS
    'Default hashing of RTT period status codes (hash indexes, hash joins and aggregation, PARTITION BY HASH)';
COMMENT ON OPERATOR FAMILY ptl.rtt_status_ops USING hash IS 'Hash operators of RTT period status codes';

CREATE OPERATOR CLASS ptl.clinical_priority_ops
    DEFAULT FOR TYPE ptl.clinical_priority USING btree AS
        OPERATOR 1 ptl.<,
        OPERATOR 2 ptl.<=,
        OPERATOR 3 ptl.=,
        OPERATOR 4 ptl.>=,
        OPERATOR 5 ptl.>,
        FUNCTION 1 ptl.clinical_priority_cmp(ptl.clinical_priority, ptl.clinical_priority),
        FUNCTION 2 pg_catalog.btint2sortsupport(internal),
        FUNCTION 4 pg_catalog.btequalimage(oid);
COMMENT ON OPERATOR CLASS ptl.clinical_priority_ops USING btree IS
    'Default btree ordering of clinical priorities (urgency, P1a first), with sort support and deduplication';
COMMENT ON OPERATOR FAMILY ptl.clinical_priority_ops USING btree IS 'Btree operators of clinical priorities';

CREATE OPERATOR CLASS ptl.clinical_priority_ops
    DEFAULT FOR TYPE ptl.clinical_priority USING hash AS
        OPERATOR 1 ptl.=,
        FUNCTION 1 ptl.clinical_priority_hash(ptl.clinical_priority),
        FUNCTION 2 ptl.clinical_priority_hash_extended(ptl.clinical_priority, bigint);
COMMENT ON OPERATOR CLASS ptl.clinical_priority_ops USING hash IS
    'Default hashing of clinical priorities (hash indexes, hash joins and aggregation, PARTITION BY HASH)';
COMMENT ON OPERATOR FAMILY ptl.clinical_priority_ops USING hash IS 'Hash operators of clinical priorities';

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------
-- Target days to surgery for each clinical priority: the FSSA defaults
-- (rtt-rules.md 8.1), which a trust may change.  pg_dump keeps the whole
-- table, so a restore first installs the defaults (CREATE EXTENSION) and
-- then loads the dumped rows over them: the trigger below turns an INSERT of
-- a priority that is already present into an UPDATE of its row.
CREATE TABLE ptl.priority_target (
    priority    ptl.clinical_priority PRIMARY KEY,
    target_days integer CHECK (target_days > 0),
    description text NOT NULL
);
COMMENT ON TABLE ptl.priority_target IS
    'Target days to surgery for each clinical priority (FSSA 2020 defaults; a trust may change them). Read by ptl.priority_target_days';
COMMENT ON COLUMN ptl.priority_target.priority IS 'Clinical priority, P1a to P6';
COMMENT ON COLUMN ptl.priority_target.target_days IS
    'Days from the decision to admit within which surgery should happen; NULL when there is no target (P5, P6: the patient chose to wait)';
COMMENT ON COLUMN ptl.priority_target.description IS 'What the priority means';

INSERT INTO ptl.priority_target (priority, target_days, description) VALUES
    ('P1a', 1,    'Emergency: surgery needed within 24 hours'),
    ('P1b', 3,    'Urgent: surgery needed within 72 hours'),
    ('P2',  28,   'Surgery that can be deferred for up to 4 weeks'),
    ('P3',  90,   'Surgery that can be delayed for up to 3 months'),
    ('P4',  365,  'Surgery that can be delayed for more than 3 months'),
    ('P5',  NULL, 'Patient chose to defer surgery because of concerns about COVID-19'),
    ('P6',  NULL, 'Patient chose to postpone surgery for reasons other than COVID-19');
SELECT pg_catalog.pg_extension_config_dump('ptl.priority_target', '');

CREATE FUNCTION ptl.priority_target_replace() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE ptl.priority_target t
       SET target_days = NEW.target_days, description = NEW.description
     WHERE t.priority OPERATOR(ptl.=) NEW.priority;
    IF FOUND THEN
        RETURN NULL;            -- the existing row now holds the new values
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ptl.priority_target_replace() IS
    'Trigger on ptl.priority_target: inserting a priority that is already there replaces its target (so pg_restore can load a dump over the defaults)';
CREATE TRIGGER priority_target_replace
    BEFORE INSERT ON ptl.priority_target
    FOR EACH ROW EXECUTE FUNCTION ptl.priority_target_replace();

CREATE FUNCTION ptl.priority_target_days(priority ptl.clinical_priority) RETURNS integer
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT t.target_days
      FROM ptl.priority_target t
     WHERE t.priority OPERATOR(ptl.=) priority_target_days.priority;
END;
COMMENT ON FUNCTION ptl.priority_target_days(ptl.clinical_priority) IS
    'Target days to surgery for a clinical priority, read from ptl.priority_target (defaults: P1a 1, P1b 3, P2 28, P3 90, P4 365; NULL for P5, P6)';
-- ---------------------------------------------------------------------------
-- risk: published peri-operative risk models (C, src/risk/scores.c) and the
-- exact ordering type ptl.target_elapsed (src/risk/target_elapsed.c).
-- Sources and boundary readings: ../shared/domain/clinical-theatre.md part
-- (a) and docs/risk.md.  Probabilities are in per cent.
-- ---------------------------------------------------------------------------

CREATE FUNCTION ptl.asa_physical_status(asa_grade integer, emergency boolean) RETURNS text
    AS 'MODULE_PATHNAME', 'asa_physical_status' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.asa_physical_status(integer, boolean) IS
    'ASA physical status as written, e.g. III or IIIE (grade 1 to 6; E marks an emergency; VI takes no E). A clinician''s grade: ptl checks and labels it, never derives it';

CREATE FUNCTION ptl.asa_description(asa_grade integer) RETURNS text
    AS 'MODULE_PATHNAME', 'asa_description' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.asa_description(integer) IS 'What an ASA physical status grade (1 to 6) means';

CREATE FUNCTION ptl.ariscat_score(age_years integer, spo2_pct float8, respiratory_infection_last_month boolean,
                                  hb_g_dl float8, incision text, surgery_duration_hours float8,
                                  emergency boolean) RETURNS integer
    AS 'MODULE_PATHNAME', 'ariscat_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.ariscat_score(integer, float8, boolean, float8, text, float8, boolean) IS
    'ARISCAT-2010 score (0 to 123) for postoperative pulmonary complications (Canet 2010): age, pre-operative SpO2 on air, respiratory infection in the last month, Hb (g/dL, 10 or less is anaemia), incision (peripheral, upper_abdominal, intrathoracic), planned duration in hours, emergency';

CREATE FUNCTION ptl.ariscat_class(ariscat_score integer) RETURNS text
    AS 'MODULE_PATHNAME', 'ariscat_class' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.ariscat_class(integer) IS
    'ARISCAT risk class: low (under 26), intermediate (26 to 44), high (45 or more)';

CREATE FUNCTION ptl.sort_logit(asa_grade integer, urgency text, high_risk_specialty boolean, severity text,
                               cancer boolean, age_years integer) RETURNS float8
    AS 'MODULE_PATHNAME', 'sort_logit' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.sort_logit(integer, text, boolean, text, boolean, integer) IS
    'SORT-2014 log-odds of death within 30 days (Protopapa 2014): ASA 1 to 5, NCEPOD urgency (elective, expedited, urgent, immediate), high-risk specialty (gastrointestinal, thoracic, vascular), AXA severity (minor, intermediate, major, xmajor, complex), cancer in the last 5 years, age';

CREATE FUNCTION ptl.sort_mortality_pct(asa_grade integer, urgency text, high_risk_specialty boolean, severity text,
                                       cancer boolean, age_years integer) RETURNS float8
    AS 'MODULE_PATHNAME', 'sort_mortality_pct' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.sort_mortality_pct(integer, text, boolean, text, boolean, integer) IS
    'SORT-2014 predicted 30-day mortality in per cent (see ptl.sort_logit for the inputs). Derived in adult non-cardiac inpatient surgery';

CREATE FUNCTION ptl.sort_high_risk_specialty(specialty text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'sort_high_risk_specialty' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.sort_high_risk_specialty(text) IS
    'Whether a SORT calculator specialty (colorectal, upper_gi, bariatric, hpb, thoracic, vascular, orthopaedic, other) is one of SORT''s high-risk ones (all but orthopaedic and other)';

CREATE FUNCTION ptl.sort_cj_logit(sort_mortality_pct float8, clinician_band text) RETURNS float8
    AS 'MODULE_PATHNAME', 'sort_cj_logit' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.sort_cj_logit(float8, text) IS
    'SORT-CJ-2020 log-odds of 30-day death from the SORT percentage and the clinician''s own band (<1%, 1-2.5%, 2.6-5%, 5.1-10%, 10.1-50%, >50%; unknown gives NULL)';

CREATE FUNCTION ptl.sort_cj_mortality_pct(sort_mortality_pct float8, clinician_band text) RETURNS float8
    AS 'MODULE_PATHNAME', 'sort_cj_mortality_pct' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.sort_cj_mortality_pct(float8, text) IS
    'SORT with clinical judgement (SORT-CJ-2020, Wong 2020): predicted 30-day mortality in per cent; NULL when the clinician''s band is unknown';

CREATE FUNCTION ptl.sort_morbidity_logit(asa_grade integer, specialty text, severity text, cancer boolean,
                                         age_years integer) RETURNS float8
    AS 'MODULE_PATHNAME', 'sort_morbidity_logit' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.sort_morbidity_logit(integer, text, text, boolean, integer) IS
    'SORT-morbidity-2017 log-odds of day-7 postoperative morbidity (POMS)';

CREATE FUNCTION ptl.sort_morbidity_pct(asa_grade integer, specialty text, severity text, cancer boolean,
                                       age_years integer) RETURNS float8
    AS 'MODULE_PATHNAME', 'sort_morbidity_pct' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.sort_morbidity_pct(integer, text, text, boolean, integer) IS
    'SORT-morbidity-2017 (Wong 2017): predicted day-7 postoperative morbidity in per cent from ASA 1 to 5, SORT specialty, AXA severity, malignancy and age';

CREATE FUNCTION ptl.possum_physiological_score(
        age_years integer, cardiac text, respiratory text, systolic_bp_mmhg integer, pulse_per_min integer,
        glasgow_coma_scale integer, hb_g_dl float8, wcc_10e9_per_l float8, urea_mmol_l float8,
        sodium_mmol_l float8, potassium_mmol_l float8, ecg text) RETURNS integer
    AS 'MODULE_PATHNAME', 'possum_physiological_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.possum_physiological_score(integer, text, text, integer, integer, integer, float8, float8, float8, float8, float8, text) IS
    'POSSUM physiological score (12 to 88) from 12 items scored 1, 2, 4 or 8. cardiac: no_failure, cardiac_drugs, oedema_or_warfarin, cardiomegaly; respiratory: no_dyspnoea, dyspnoea_on_exertion, limiting_dyspnoea, dyspnoea_at_rest; ecg: normal, af_rate_60_90, other_abnormal';

CREATE FUNCTION ptl.possum_operative_score(
        operative_severity text, procedure_count integer, blood_loss_ml integer, peritoneal_soiling text,
        malignancy text, mode_of_surgery text) RETURNS integer
    AS 'MODULE_PATHNAME', 'possum_operative_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.possum_operative_score(text, integer, integer, text, text, text) IS
    'POSSUM operative severity score (6 to 48). operative_severity: minor, moderate, major, major_plus; peritoneal_soiling: none, minor_serous, local_pus, free_content; malignancy: none, primary_only, nodal_metastases, distant_metastases; mode_of_surgery: elective, emergency, emergency_immediate. Before the operation use planned values: the result is provisional';

CREATE FUNCTION ptl.possum_morbidity_pct(physiological_score integer, operative_score integer) RETURNS float8
    AS 'MODULE_PATHNAME', 'possum_morbidity_pct' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.possum_morbidity_pct(integer, integer) IS
    'POSSUM-1991 predicted morbidity in per cent: ln(R/(1-R)) = -5.91 + 0.16 PS + 0.19 OS';

CREATE FUNCTION ptl.possum_mortality_pct(physiological_score integer, operative_score integer) RETURNS float8
    AS 'MODULE_PATHNAME', 'possum_mortality_pct' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.possum_mortality_pct(integer, integer) IS
    'POSSUM-1991 predicted mortality in per cent: ln(R/(1-R)) = -7.04 + 0.13 PS + 0.16 OS (over-predicts at low risk; prefer P-POSSUM)';

CREATE FUNCTION ptl.p_possum_logit(physiological_score integer, operative_score integer) RETURNS float8
    AS 'MODULE_PATHNAME', 'p_possum_logit' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.p_possum_logit(integer, integer) IS
    'P-POSSUM-1998 log-odds of death: -9.065 + 0.1692 PS + 0.1550 OS';

CREATE FUNCTION ptl.p_possum_mortality_pct(physiological_score integer, operative_score integer) RETURNS float8
    AS 'MODULE_PATHNAME', 'p_possum_mortality_pct' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.p_possum_mortality_pct(integer, integer) IS
    'P-POSSUM-1998 (Prytherch 1998) predicted mortality in per cent, from the physiological and operative scores';

-- POSSUM and P-POSSUM from the raw variables in one call.
CREATE FUNCTION ptl.possum_scores(
        age_years integer, cardiac text, respiratory text, systolic_bp_mmhg integer, pulse_per_min integer,
        glasgow_coma_scale integer, hb_g_dl float8, wcc_10e9_per_l float8, urea_mmol_l float8,
        sodium_mmol_l float8, potassium_mmol_l float8, ecg text,
        operative_severity text, procedure_count integer, blood_loss_ml integer, peritoneal_soiling text,
        malignancy text, mode_of_surgery text,
        OUT physiological_score integer, OUT operative_score integer, OUT possum_morbidity_pct float8,
        OUT possum_mortality_pct float8, OUT p_possum_mortality_pct float8)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT s.ps, s.os, ptl.possum_morbidity_pct(s.ps, s.os), ptl.possum_mortality_pct(s.ps, s.os),
           ptl.p_possum_mortality_pct(s.ps, s.os)
    FROM (SELECT ptl.possum_physiological_score(age_years, cardiac, respiratory, systolic_bp_mmhg, pulse_per_min,
                                                glasgow_coma_scale, hb_g_dl, wcc_10e9_per_l, urea_mmol_l,
                                                sodium_mmol_l, potassium_mmol_l, ecg) AS ps,
                 ptl.possum_operative_score(operative_severity, procedure_count, blood_loss_ml,
                                            peritoneal_soiling, malignancy, mode_of_surgery) AS os) s;
END;
COMMENT ON FUNCTION ptl.possum_scores(integer, text, text, integer, integer, integer, float8, float8, float8, float8, float8, text, text, integer, integer, text, text, text) IS
    'POSSUM and P-POSSUM from the 12 physiological and 6 operative variables (see ptl.possum_physiological_score and ptl.possum_operative_score): both scores, POSSUM morbidity and mortality, P-POSSUM mortality, in per cent';

CREATE FUNCTION ptl.cfs_label(cfs_level integer) RETURNS text
    AS 'MODULE_PATHNAME', 'cfs_label' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.cfs_label(integer) IS
    'Clinical Frailty Scale 2.0 name of a level 1 to 9 (the scale''s text and pictures are copyrighted; ptl keeps the level and name only)';

CREATE FUNCTION ptl.cfs_frail(cfs_level integer, frail_from_level integer DEFAULT 5) RETURNS boolean
    AS 'MODULE_PATHNAME', 'cfs_frail' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.cfs_frail(integer, integer) IS
    'Whether a Clinical Frailty Scale level counts as frail (level 5, living with mild frailty, or more by default)';

CREATE FUNCTION ptl.cfs_warning(cfs_level integer, age_years integer) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN ptl.cfs_label(cfs_level) IS NOT NULL AND age_years < 65 THEN 'CFS not validated under 65' END;
COMMENT ON FUNCTION ptl.cfs_warning(integer, integer) IS
    'A warning to show beside a Clinical Frailty Scale level: the scale is not validated under 65 (NULL when there is nothing to say)';

-- ---------------------------------------------------------------------------
-- ptl.target_elapsed: days waited over target days, ordered exactly.
-- ---------------------------------------------------------------------------
CREATE TYPE ptl.target_elapsed;
CREATE FUNCTION ptl.target_elapsed_in(cstring) RETURNS ptl.target_elapsed
    AS 'MODULE_PATHNAME', 'target_elapsed_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl.target_elapsed_out(ptl.target_elapsed) RETURNS cstring
    AS 'MODULE_PATHNAME', 'target_elapsed_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl.target_elapsed_recv(internal) RETURNS ptl.target_elapsed
    AS 'MODULE_PATHNAME', 'target_elapsed_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl.target_elapsed_send(ptl.target_elapsed) RETURNS bytea
    AS 'MODULE_PATHNAME', 'target_elapsed_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE ptl.target_elapsed (
    INPUT = ptl.target_elapsed_in, OUTPUT = ptl.target_elapsed_out,
    RECEIVE = ptl.target_elapsed_recv, SEND = ptl.target_elapsed_send,
    INTERNALLENGTH = 8, PASSEDBYVALUE, ALIGNMENT = double, STORAGE = plain
);
COMMENT ON TYPE ptl.target_elapsed IS
    'Days waited over a clinical priority''s target days, written wait/target (e.g. 90/28), compared exactly by cross-multiplying: 90/90 equals 28/28';
COMMENT ON FUNCTION ptl.target_elapsed_in(cstring) IS 'Input of ptl.target_elapsed: wait/target';
COMMENT ON FUNCTION ptl.target_elapsed_out(ptl.target_elapsed) IS 'Output of ptl.target_elapsed: wait/target';
COMMENT ON FUNCTION ptl.target_elapsed_recv(internal) IS 'Binary input of ptl.target_elapsed';
COMMENT ON FUNCTION ptl.target_elapsed_send(ptl.target_elapsed) IS 'Binary output of ptl.target_elapsed';

CREATE FUNCTION ptl.target_elapsed(wait_days integer, target_days integer) RETURNS ptl.target_elapsed
    AS 'MODULE_PATHNAME', 'target_elapsed' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.target_elapsed(integer, integer) IS
    'Days waited (0 or more) over target days (1 or more) as one exactly ordered value';
CREATE FUNCTION ptl.pct(ptl.target_elapsed) RETURNS float8
    AS 'MODULE_PATHNAME', 'target_elapsed_pct' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.pct(ptl.target_elapsed) IS 'Percentage of the target waited, for display (the order uses the exact value)';
CREATE FUNCTION ptl.wait_days(ptl.target_elapsed) RETURNS integer
    AS 'MODULE_PATHNAME', 'target_elapsed_wait_days' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.wait_days(ptl.target_elapsed) IS 'Days waited';
CREATE FUNCTION ptl.target_days(ptl.target_elapsed) RETURNS integer
    AS 'MODULE_PATHNAME', 'target_elapsed_target_days' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.target_days(ptl.target_elapsed) IS 'Target days';

CREATE FUNCTION ptl.target_elapsed_cmp(ptl.target_elapsed, ptl.target_elapsed) RETURNS integer
    AS 'MODULE_PATHNAME', 'target_elapsed_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.target_elapsed_cmp(ptl.target_elapsed, ptl.target_elapsed) IS
    'Btree comparison of target_elapsed values by 64-bit cross products';
CREATE FUNCTION ptl.target_elapsed_lt(ptl.target_elapsed, ptl.target_elapsed) RETURNS boolean
    AS 'MODULE_PATHNAME', 'target_elapsed_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl.target_elapsed_le(ptl.target_elapsed, ptl.target_elapsed) RETURNS boolean
    AS 'MODULE_PATHNAME', 'target_elapsed_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl.target_elapsed_eq(ptl.target_elapsed, ptl.target_elapsed) RETURNS boolean
    AS 'MODULE_PATHNAME', 'target_elapsed_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl.target_elapsed_ne(ptl.target_elapsed, ptl.target_elapsed) RETURNS boolean
    AS 'MODULE_PATHNAME', 'target_elapsed_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl.target_elapsed_ge(ptl.target_elapsed, ptl.target_elapsed) RETURNS boolean
    AS 'MODULE_PATHNAME', 'target_elapsed_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl.target_elapsed_gt(ptl.target_elapsed, ptl.target_elapsed) RETURNS boolean
    AS 'MODULE_PATHNAME', 'target_elapsed_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.target_elapsed_lt(ptl.target_elapsed, ptl.target_elapsed) IS 'Implements < on target_elapsed';
COMMENT ON FUNCTION ptl.target_elapsed_le(ptl.target_elapsed, ptl.target_elapsed) IS 'Implements <= on target_elapsed';
COMMENT ON FUNCTION ptl.target_elapsed_eq(ptl.target_elapsed, ptl.target_elapsed) IS 'Implements = on target_elapsed (equal shares of target)';
COMMENT ON FUNCTION ptl.target_elapsed_ne(ptl.target_elapsed, ptl.target_elapsed) IS 'Implements <> on target_elapsed';
COMMENT ON FUNCTION ptl.target_elapsed_ge(ptl.target_elapsed, ptl.target_elapsed) IS 'Implements >= on target_elapsed';
COMMENT ON FUNCTION ptl.target_elapsed_gt(ptl.target_elapsed, ptl.target_elapsed) IS 'Implements > on target_elapsed';

CREATE OPERATOR ptl.< (LEFTARG = ptl.target_elapsed, RIGHTARG = ptl.target_elapsed, FUNCTION = ptl.target_elapsed_lt,
    COMMUTATOR = OPERATOR(ptl.>), NEGATOR = OPERATOR(ptl.>=), RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR ptl.<= (LEFTARG = ptl.target_elapsed, RIGHTARG = ptl.target_elapsed, FUNCTION = ptl.target_elapsed_le,
    COMMUTATOR = OPERATOR(ptl.>=), NEGATOR = OPERATOR(ptl.>), RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR ptl.= (LEFTARG = ptl.target_elapsed, RIGHTARG = ptl.target_elapsed, FUNCTION = ptl.target_elapsed_eq,
    COMMUTATOR = OPERATOR(ptl.=), NEGATOR = OPERATOR(ptl.<>), RESTRICT = eqsel, JOIN = eqjoinsel, MERGES);
CREATE OPERATOR ptl.<> (LEFTARG = ptl.target_elapsed, RIGHTARG = ptl.target_elapsed, FUNCTION = ptl.target_elapsed_ne,
    COMMUTATOR = OPERATOR(ptl.<>), NEGATOR = OPERATOR(ptl.=), RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR ptl.>= (LEFTARG = ptl.target_elapsed, RIGHTARG = ptl.target_elapsed, FUNCTION = ptl.target_elapsed_ge,
    COMMUTATOR = OPERATOR(ptl.<=), NEGATOR = OPERATOR(ptl.<), RESTRICT = scalargesel, JOIN = scalargejoinsel);
CREATE OPERATOR ptl.> (LEFTARG = ptl.target_elapsed, RIGHTARG = ptl.target_elapsed, FUNCTION = ptl.target_elapsed_gt,
    COMMUTATOR = OPERATOR(ptl.<), NEGATOR = OPERATOR(ptl.<=), RESTRICT = scalargtsel, JOIN = scalargtjoinsel);

CREATE OPERATOR CLASS ptl.target_elapsed_ops DEFAULT FOR TYPE ptl.target_elapsed USING btree AS
    OPERATOR 1 ptl.<, OPERATOR 2 ptl.<=, OPERATOR 3 ptl.=, OPERATOR 4 ptl.>=, OPERATOR 5 ptl.>,
    FUNCTION 1 ptl.target_elapsed_cmp(ptl.target_elapsed, ptl.target_elapsed);
COMMENT ON OPERATOR CLASS ptl.target_elapsed_ops USING btree IS
    'Exact order of target_elapsed values (ORDER BY, indexes, merge joins)';
COMMENT ON OPERATOR FAMILY ptl.target_elapsed_ops USING btree IS 'Comparison operators of target_elapsed';
COMMENT ON OPERATOR ptl.< (ptl.target_elapsed, ptl.target_elapsed) IS 'a smaller share of its target waited';
COMMENT ON OPERATOR ptl.<= (ptl.target_elapsed, ptl.target_elapsed) IS 'no larger a share of its target waited';
COMMENT ON OPERATOR ptl.= (ptl.target_elapsed, ptl.target_elapsed) IS 'the same share of its target waited';
COMMENT ON OPERATOR ptl.<> (ptl.target_elapsed, ptl.target_elapsed) IS 'a different share of its target waited';
COMMENT ON OPERATOR ptl.>= (ptl.target_elapsed, ptl.target_elapsed) IS 'no smaller a share of its target waited';
COMMENT ON OPERATOR ptl.> (ptl.target_elapsed, ptl.target_elapsed) IS 'a larger share of its target waited';
-- ---------------------------------------------------------------------------
-- model: reference data and the canonical tables every capability reads.
--
-- Reference tables (organisation, site, commissioner, treatment function) are
-- small and are filled by the ICS's DBA (or the synthetic generator).  The
-- canonical tables (patient, pathway, pathway_event, waiting_list_entry) are
-- filled only by ptl.load() from the staging tables.  Every large table
-- carries patient_id so it can later be hash-partitioned or distributed by it.
-- ---------------------------------------------------------------------------

-- The event vocabulary of the RTT clock engine (rtt-rules.md section 9.1).
CREATE TYPE ptl.event_kind AS ENUM (
    'referral', 'transfer_in', 'outpatient', 'dna', 'patient_cancel',
    'provider_cancel', 'decision_to_admit', 'tci_offer', 'tci_declined',
    'admission', 'decision', 'discharge', 'transfer_out', 'death',
    'patient_ready'
);
COMMENT ON TYPE ptl.event_kind IS
    'What happened on a pathway event: the vocabulary the RTT clock engine reads';

-- NHS Data Dictionary PRIORITY TYPE (1 routine, 2 urgent, 3 two week wait).
CREATE TYPE ptl.referral_priority AS ENUM ('routine', 'urgent', 'two_week_wait');
COMMENT ON TYPE ptl.referral_priority IS
    'Priority of the referral as the referrer set it (NHS Data Dictionary PRIORITY TYPE)';

-- ---------------------------------------------------------------------------
-- Reference data
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.organisation (
    org_code        text PRIMARY KEY
                    CHECK (org_code ~ '^[A-Z0-9]{3,6}$'),
    name            text NOT NULL,
    org_kind        text NOT NULL DEFAULT 'nhs_trust'
                    CHECK (org_kind IN ('nhs_trust', 'independent_sector', 'ics', 'other')),
    parent_org_code text REFERENCES ptl.organisation (org_code),
    in_ics          boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE ptl.organisation IS
    'Providers (and the ICS itself) by ODS code: each trust reports its own RTT return';
COMMENT ON COLUMN ptl.organisation.org_code IS 'ODS organisation code, e.g. RBD';
COMMENT ON COLUMN ptl.organisation.name IS 'Organisation name as published by ODS';
COMMENT ON COLUMN ptl.organisation.org_kind IS
    'nhs_trust, independent_sector, ics or other';
COMMENT ON COLUMN ptl.organisation.parent_org_code IS
    'Parent organisation (for a trust, the ICS it belongs to)';
COMMENT ON COLUMN ptl.organisation.in_ics IS
    'True for organisations inside this ICS; false for providers outside it that send or receive transfers';

CREATE TABLE ptl.site (
    site_code   text PRIMARY KEY CHECK (site_code ~ '^[A-Z0-9]{5}$'),
    org_code    text NOT NULL REFERENCES ptl.organisation (org_code),
    name        text NOT NULL,
    postcode    text,
    latitude    float8 CHECK (latitude BETWEEN -90 AND 90),
    longitude   float8 CHECK (longitude BETWEEN -180 AND 180),
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);
CREATE INDEX site_org_code_idx ON ptl.site (org_code);
COMMENT ON TABLE ptl.site IS 'Hospital sites, each run by one organisation';
COMMENT ON COLUMN ptl.site.site_code IS 'ODS site code (5 characters), e.g. RBD01';
COMMENT ON COLUMN ptl.site.org_code IS 'The organisation that runs the site';
COMMENT ON COLUMN ptl.site.name IS 'Site name';
COMMENT ON COLUMN ptl.site.postcode IS 'Site postcode, for travel distances in mutual aid';
COMMENT ON COLUMN ptl.site.latitude IS 'Latitude in degrees (WGS84), for travel distances; NULL: taken from the postcode district';
COMMENT ON COLUMN ptl.site.longitude IS 'Longitude in degrees (WGS84); NULL: taken from the postcode district';

-- Postcode districts (the outward code, e.g. CM1) with a central point, for
-- travel distances between where patients live and sites.  The DBA loads
-- them from ONS's open postcode directory; ptl ships none.
CREATE TABLE ptl.postcode_district (
    district    text PRIMARY KEY CHECK (district ~ '^[A-Z]{1,2}[0-9][0-9A-Z]?$'),
    latitude    float8 NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude   float8 NOT NULL CHECK (longitude BETWEEN -180 AND 180)
);
COMMENT ON TABLE ptl.postcode_district IS
    'Postcode districts (outward codes) with a central point: where a patient lives, for travel distances in mutual aid and patient choice';
COMMENT ON COLUMN ptl.postcode_district.district IS 'Outward code, e.g. CM1';
COMMENT ON COLUMN ptl.postcode_district.latitude IS 'Latitude of its centre in degrees (WGS84)';
COMMENT ON COLUMN ptl.postcode_district.longitude IS 'Longitude of its centre in degrees (WGS84)';

CREATE TABLE ptl.commissioner (
    commissioner_code   text PRIMARY KEY CHECK (commissioner_code ~ '^[A-Z0-9]{3,5}$'),
    name                text NOT NULL,
    commissioner_kind   text NOT NULL DEFAULT 'sub_icb'
                        CHECK (commissioner_kind IN ('sub_icb', 'icb', 'nhs_england', 'non_english')),
    parent_code         text
);
COMMENT ON TABLE ptl.commissioner IS
    'Commissioners the RTT return is split by (Sub-ICB locations, NHS England, NONC)';
COMMENT ON COLUMN ptl.commissioner.commissioner_code IS 'ODS commissioner code, e.g. 11J, or NONC';
COMMENT ON COLUMN ptl.commissioner.name IS 'Commissioner name';
COMMENT ON COLUMN ptl.commissioner.commissioner_kind IS
    'sub_icb, icb, nhs_england (specialised commissioning) or non_english (reported as NONC)';
COMMENT ON COLUMN ptl.commissioner.parent_code IS 'Parent commissioner (the ICB of a Sub-ICB location)';

-- The lines of the monthly RTT return (rtt-rules.md section 5.4).
CREATE TABLE ptl.rtt_line (
    line_code   text PRIMARY KEY,
    csv_code    text NOT NULL UNIQUE,
    name        text NOT NULL,
    sort_order  int NOT NULL UNIQUE
);
COMMENT ON TABLE ptl.rtt_line IS
    'Treatment-function lines of the monthly RTT return, with the code and name NHS England publishes';
COMMENT ON COLUMN ptl.rtt_line.line_code IS 'Line, e.g. 110 or X05';
COMMENT ON COLUMN ptl.rtt_line.csv_code IS 'Code in the published CSV, e.g. C_110, X05, C_999';
COMMENT ON COLUMN ptl.rtt_line.name IS 'Treatment Function Name as published in the CSV';
COMMENT ON COLUMN ptl.rtt_line.sort_order IS 'Order of the line in the published file';

CREATE TABLE ptl.treatment_function (
    tfc             text PRIMARY KEY CHECK (tfc ~ '^[0-9]{3}$'),
    name            text NOT NULL,
    rtt_line        text NOT NULL REFERENCES ptl.rtt_line (line_code),
    consultant_led  boolean NOT NULL DEFAULT true,
    shipped         boolean NOT NULL DEFAULT false
);
CREATE INDEX treatment_function_rtt_line_idx ON ptl.treatment_function (rtt_line);
COMMENT ON TABLE ptl.treatment_function IS
    'Treatment function codes (DCB0028) and the RTT return line each is reported on. The mapping is data: a trust corrects a shipped row in ptl.treatment_function_override and adds local codes here; ptl.treatment_function_in_use shows what is in force.';
COMMENT ON COLUMN ptl.treatment_function.tfc IS 'Treatment function code, e.g. 110';
COMMENT ON COLUMN ptl.treatment_function.name IS 'Treatment function name';
COMMENT ON COLUMN ptl.treatment_function.rtt_line IS 'The RTT return line this function is counted on';
COMMENT ON COLUMN ptl.treatment_function.consultant_led IS
    'False for services outside RTT (e.g. AHP-only); such pathways are flagged by validation';
COMMENT ON COLUMN ptl.treatment_function.shipped IS
    'True for rows installed by ptl itself; rows a user adds are kept by pg_dump';

-- Index of multiple deprivation by small area (LSOA), for inequality analysis.
CREATE TABLE ptl.area_deprivation (
    lsoa_code   text PRIMARY KEY CHECK (lsoa_code ~ '^[EW][0-9]{8}$'),
    imd_decile  smallint NOT NULL CHECK (imd_decile BETWEEN 1 AND 10)
);
COMMENT ON TABLE ptl.area_deprivation IS
    'Index of Multiple Deprivation decile (1 = most deprived) of each lower-layer super output area';
COMMENT ON COLUMN ptl.area_deprivation.lsoa_code IS 'LSOA code, e.g. E01000001';
COMMENT ON COLUMN ptl.area_deprivation.imd_decile IS 'IMD decile, 1 most deprived to 10 least deprived';

-- ---------------------------------------------------------------------------
-- Load batches (one delivery of extracts from one source system)
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.batch (
    batch_id        bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    org_code        text NOT NULL REFERENCES ptl.organisation (org_code),
    site_code       text REFERENCES ptl.site (site_code),
    source_system   text NOT NULL CHECK (source_system <> ''),
    label           text,
    opened_at       timestamptz NOT NULL DEFAULT now(),
    opened_by       text NOT NULL DEFAULT current_user,
    loaded_at       timestamptz,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'ready', 'loaded'))
);
COMMENT ON TABLE ptl.batch IS
    'One delivery of extracts from one source system of one organisation (usually one site''s daily extract)';
COMMENT ON COLUMN ptl.batch.batch_id IS 'Batch number; staging rows carry it';
COMMENT ON COLUMN ptl.batch.org_code IS 'Organisation that sent the extracts';
COMMENT ON COLUMN ptl.batch.site_code IS 'Site the extracts come from, when they are per site; rows without a site take it';
COMMENT ON COLUMN ptl.batch.source_system IS 'The system that produced the extracts (e.g. the PAS name); part of the local patient key';
COMMENT ON COLUMN ptl.batch.label IS 'Free text, e.g. the file names or the extract date';
COMMENT ON COLUMN ptl.batch.opened_at IS 'When the batch was opened';
COMMENT ON COLUMN ptl.batch.opened_by IS 'Database user who opened the batch';
COMMENT ON COLUMN ptl.batch.loaded_at IS 'When ptl.load() last loaded the batch';
COMMENT ON COLUMN ptl.batch.status IS 'open (rows being staged), ready (closed by ptl.close_batch: the daily refresh loads it) or loaded';

-- ---------------------------------------------------------------------------
-- Canonical tables
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.patient (
    patient_id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    org_code            text NOT NULL REFERENCES ptl.organisation (org_code),
    source_system       text NOT NULL,
    local_patient_id    text NOT NULL CHECK (local_patient_id <> ''),
    nhs_number          ptl.nhs_number,
    nhs_number_as_recorded text,
    given_name          text,
    family_name         text,
    date_of_birth       date,
    date_of_death       date,
    sex                 text CHECK (sex IN ('1', '2', '9', 'X')),
    postcode            text,
    address_line_1      text,
    ethnic_category     text CHECK (ethnic_category ~ '^([A-HJ-NPR-SZ]|99)$'),
    lsoa_code           text,
    gp_practice_code    text,
    commissioner_code   text REFERENCES ptl.commissioner (commissioner_code),
    batch_id            bigint NOT NULL REFERENCES ptl.batch (batch_id),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_code, source_system, local_patient_id),
    CHECK (date_of_death IS NULL OR date_of_birth IS NULL OR date_of_death >= date_of_birth)
);
CREATE INDEX patient_nhs_number_idx ON ptl.patient (nhs_number);
CREATE INDEX patient_batch_idx ON ptl.patient (batch_id);
COMMENT ON TABLE ptl.patient IS
    'Patient records as each source system holds them: one person may have several records until linkage joins them';
COMMENT ON COLUMN ptl.patient.patient_id IS 'ptl''s key for this record';
COMMENT ON COLUMN ptl.patient.org_code IS 'Organisation whose system holds the record';
COMMENT ON COLUMN ptl.patient.source_system IS 'System that holds the record';
COMMENT ON COLUMN ptl.patient.local_patient_id IS 'The source system''s own patient identifier (hospital number)';
COMMENT ON COLUMN ptl.patient.nhs_number IS 'NHS number when the recorded one is valid; NULL when missing or invalid';
COMMENT ON COLUMN ptl.patient.nhs_number_as_recorded IS
    'The NHS number exactly as the extract gave it, kept when it was invalid so validation and linkage can see it';
COMMENT ON COLUMN ptl.patient.given_name IS 'Given name as recorded';
COMMENT ON COLUMN ptl.patient.family_name IS 'Family name as recorded';
COMMENT ON COLUMN ptl.patient.date_of_birth IS 'Date of birth';
COMMENT ON COLUMN ptl.patient.date_of_death IS 'Date of death, when known';
COMMENT ON COLUMN ptl.patient.sex IS 'NHS Data Dictionary PERSON STATED GENDER CODE: 1 male, 2 female, 9 indeterminate, X not known';
COMMENT ON COLUMN ptl.patient.postcode IS 'Postcode of usual address, upper case with one space';
COMMENT ON COLUMN ptl.patient.address_line_1 IS 'First line of the usual address';
COMMENT ON COLUMN ptl.patient.ethnic_category IS 'NHS Data Dictionary ETHNIC CATEGORY code (A-S, Z not stated, 99 not known)';
COMMENT ON COLUMN ptl.patient.lsoa_code IS 'Lower-layer super output area of residence (joins ptl.area_deprivation)';
COMMENT ON COLUMN ptl.patient.gp_practice_code IS 'ODS code of the registered GP practice';
COMMENT ON COLUMN ptl.patient.commissioner_code IS 'Responsible commissioner';
COMMENT ON COLUMN ptl.patient.batch_id IS 'Batch that last inserted or changed the record';
COMMENT ON COLUMN ptl.patient.updated_at IS 'When the record was last inserted or changed';

CREATE TABLE ptl.pathway (
    pathway_id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    patient_id          bigint NOT NULL REFERENCES ptl.patient (patient_id),
    provider_org        text NOT NULL REFERENCES ptl.organisation (org_code),
    site_code           text REFERENCES ptl.site (site_code),
    ppid                text NOT NULL CHECK (ppid ~ '^[!-~]{1,20}$'),
    ppid_issuer         text NOT NULL CHECK (ppid_issuer ~ '^[A-Z0-9]{3,6}$'),
    ubrn                text CHECK (ubrn ~ '^[0-9]{12}$'),
    treatment_function  text NOT NULL REFERENCES ptl.treatment_function (tfc),
    referral_priority   ptl.referral_priority NOT NULL DEFAULT 'routine',
    referral_received   date NOT NULL,
    commissioner_code   text REFERENCES ptl.commissioner (commissioner_code),
    consultant_code     text,
    batch_id            bigint NOT NULL REFERENCES ptl.batch (batch_id),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider_org, ppid_issuer, ppid)
);
CREATE INDEX pathway_patient_idx ON ptl.pathway (patient_id);
CREATE INDEX pathway_issuer_ppid_idx ON ptl.pathway (ppid_issuer, ppid);
CREATE INDEX pathway_ubrn_idx ON ptl.pathway (ubrn) WHERE ubrn IS NOT NULL;
CREATE INDEX pathway_provider_tfc_idx ON ptl.pathway (provider_org, treatment_function);
CREATE INDEX pathway_batch_idx ON ptl.pathway (batch_id);
COMMENT ON TABLE ptl.pathway IS
    'A patient pathway as one provider records it: from the referral for one condition to its end. A transferred pathway has a record at each provider, with the same PPID and issuer.';
COMMENT ON COLUMN ptl.pathway.pathway_id IS 'ptl''s key for this record';
COMMENT ON COLUMN ptl.pathway.patient_id IS 'The patient record the provider holds it against';
COMMENT ON COLUMN ptl.pathway.provider_org IS 'Provider that holds this record';
COMMENT ON COLUMN ptl.pathway.site_code IS 'Site that manages the pathway';
COMMENT ON COLUMN ptl.pathway.ppid IS 'Patient pathway identifier (up to 20 characters), issued by the first organisation to receive the referral';
COMMENT ON COLUMN ptl.pathway.ppid_issuer IS 'ODS code of the organisation that issued the PPID (X09 when the e-RS UBRN is the basis)';
COMMENT ON COLUMN ptl.pathway.ubrn IS 'e-Referral Service unique booking reference number (12 digits)';
COMMENT ON COLUMN ptl.pathway.treatment_function IS 'Treatment function now responsible for the pathway';
COMMENT ON COLUMN ptl.pathway.referral_priority IS 'routine, urgent or two_week_wait';
COMMENT ON COLUMN ptl.pathway.referral_received IS 'Date the provider received the referral (or the UBRN was converted)';
COMMENT ON COLUMN ptl.pathway.commissioner_code IS 'Commissioner the pathway is reported against';
COMMENT ON COLUMN ptl.pathway.consultant_code IS 'GMC or local code of the responsible consultant';
COMMENT ON COLUMN ptl.pathway.batch_id IS 'Batch that last inserted or changed the record';
COMMENT ON COLUMN ptl.pathway.updated_at IS 'When the record was last inserted or changed';

CREATE TABLE ptl.pathway_event (
    event_id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pathway_id          bigint NOT NULL REFERENCES ptl.pathway (pathway_id),
    patient_id          bigint NOT NULL REFERENCES ptl.patient (patient_id),
    event_ref           text NOT NULL CHECK (event_ref <> ''),
    event_date          date NOT NULL,
    kind                ptl.event_kind NOT NULL,
    rtt_status          ptl.rtt_status,
    ref_date            date,
    site_code           text REFERENCES ptl.site (site_code),
    treatment_function  text REFERENCES ptl.treatment_function (tfc),
    batch_id            bigint NOT NULL REFERENCES ptl.batch (batch_id),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (pathway_id, event_ref),
    -- The kinds whose meaning needs a second date (rtt-rules.md section 9.1).
    CONSTRAINT pathway_event_ref_date_needed CHECK (
        ref_date IS NOT NULL OR kind NOT IN ('transfer_in', 'tci_offer', 'tci_declined'))
);
CREATE INDEX pathway_event_pathway_date_idx ON ptl.pathway_event (pathway_id, event_date);
CREATE INDEX pathway_event_patient_idx ON ptl.pathway_event (patient_id);
CREATE INDEX pathway_event_batch_idx ON ptl.pathway_event (batch_id);
COMMENT ON TABLE ptl.pathway_event IS
    'What happened on a pathway, dated: referrals, appointments, DNAs, decisions, admissions, transfers. The RTT clock is computed from these.';
COMMENT ON COLUMN ptl.pathway_event.event_id IS 'ptl''s key for this event';
COMMENT ON COLUMN ptl.pathway_event.pathway_id IS 'The pathway record it belongs to';
COMMENT ON COLUMN ptl.pathway_event.patient_id IS 'The patient (copied from the pathway, for partitioning)';
COMMENT ON COLUMN ptl.pathway_event.event_ref IS 'The source system''s identifier of the event (appointment, episode, decision), unique within the pathway';
COMMENT ON COLUMN ptl.pathway_event.event_date IS 'Date of the event';
COMMENT ON COLUMN ptl.pathway_event.kind IS 'What happened (ptl.event_kind)';
COMMENT ON COLUMN ptl.pathway_event.rtt_status IS 'National RTT period status recorded at the end of the event, if any';
COMMENT ON COLUMN ptl.pathway_event.ref_date IS
    'Second date for kinds that need one: transfer_in = original clock start; tci_offer = admission date offered; tci_declined = date declined';
COMMENT ON COLUMN ptl.pathway_event.site_code IS 'Site where it happened';
COMMENT ON COLUMN ptl.pathway_event.treatment_function IS 'Treatment function of the activity (completed pathways are reported against the one that stopped the clock)';
COMMENT ON COLUMN ptl.pathway_event.batch_id IS 'Batch that last inserted or changed the event';
COMMENT ON COLUMN ptl.pathway_event.updated_at IS 'When the event was last inserted or changed';

CREATE TABLE ptl.waiting_list_entry (
    entry_id                    bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pathway_id                  bigint NOT NULL REFERENCES ptl.pathway (pathway_id),
    patient_id                  bigint NOT NULL REFERENCES ptl.patient (patient_id),
    entry_ref                   text NOT NULL CHECK (entry_ref <> ''),
    procedure_code              text CHECK (procedure_code ~ '^[A-Z][0-9]{2}\.?[0-9]?$'),
    procedure_description       text,
    intended_management         text NOT NULL CHECK (intended_management IN ('1', '2', '3', '4', '5')),
    clinical_priority           ptl.clinical_priority,
    decision_to_admit           date NOT NULL,
    expected_duration_minutes   int CHECK (expected_duration_minutes BETWEEN 1 AND 1440),
    consultant_code             text,
    tci_date                    date,
    removed_date                date,
    removal_reason              text CHECK (removal_reason IN ('admitted', 'no_longer_required', 'died', 'transferred', 'other')),
    site_code                   text REFERENCES ptl.site (site_code),
    batch_id                    bigint NOT NULL REFERENCES ptl.batch (batch_id),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (pathway_id, entry_ref),
    CHECK ((removed_date IS NULL) = (removal_reason IS NULL)),
    CHECK (removed_date IS NULL OR removed_date >= decision_to_admit)
);
CREATE INDEX waiting_list_entry_patient_idx ON ptl.waiting_list_entry (patient_id);
CREATE INDEX waiting_list_entry_open_idx ON ptl.waiting_list_entry (clinical_priority, decision_to_admit)
    WHERE removed_date IS NULL;
CREATE INDEX waiting_list_entry_batch_idx ON ptl.waiting_list_entry (batch_id);
COMMENT ON TABLE ptl.waiting_list_entry IS
    'Admitted waiting-list entries: a decision to admit for a procedure, with its clinical priority, until admission or removal';
COMMENT ON COLUMN ptl.waiting_list_entry.entry_id IS 'ptl''s key for this entry';
COMMENT ON COLUMN ptl.waiting_list_entry.pathway_id IS 'The pathway the admission treats';
COMMENT ON COLUMN ptl.waiting_list_entry.patient_id IS 'The patient (copied from the pathway, for partitioning)';
COMMENT ON COLUMN ptl.waiting_list_entry.entry_ref IS 'The source system''s identifier of the waiting-list entry';
COMMENT ON COLUMN ptl.waiting_list_entry.procedure_code IS 'Intended procedure, OPCS-4 code (e.g. W37.1)';
COMMENT ON COLUMN ptl.waiting_list_entry.procedure_description IS 'Intended procedure in words';
COMMENT ON COLUMN ptl.waiting_list_entry.intended_management IS
    'NHS Data Dictionary INTENDED MANAGEMENT: 1 inpatient, 2 day case, 3 regular day, 4 regular night, 5 two or more nights';
COMMENT ON COLUMN ptl.waiting_list_entry.clinical_priority IS 'Surgical priority P1a to P6';
COMMENT ON COLUMN ptl.waiting_list_entry.decision_to_admit IS 'Date of the decision to admit';
COMMENT ON COLUMN ptl.waiting_list_entry.expected_duration_minutes IS 'Expected time in theatre, minutes';
COMMENT ON COLUMN ptl.waiting_list_entry.consultant_code IS 'Consultant who will operate';
COMMENT ON COLUMN ptl.waiting_list_entry.tci_date IS 'Admission (to come in) date booked, if any';
COMMENT ON COLUMN ptl.waiting_list_entry.removed_date IS 'Date the entry left the list';
COMMENT ON COLUMN ptl.waiting_list_entry.removal_reason IS 'Why it left: admitted, no_longer_required, died, transferred, other';
COMMENT ON COLUMN ptl.waiting_list_entry.site_code IS 'Site where the admission is planned';
COMMENT ON COLUMN ptl.waiting_list_entry.batch_id IS 'Batch that last inserted or changed the entry';
COMMENT ON COLUMN ptl.waiting_list_entry.updated_at IS 'When the entry was last inserted or changed';

-- ---------------------------------------------------------------------------
-- Shipped reference rows: RTT lines (rtt-rules.md 5.4) and treatment functions
-- (rtt-rules.md appendix A: DCB0028 names; lines for the 18 named functions
-- and the stated exceptions are NHS England's, the X0n groups are the
-- reference's provisional reading and are data a trust may correct).
-- ---------------------------------------------------------------------------
INSERT INTO ptl.rtt_line (line_code, csv_code, name, sort_order) VALUES
    ('100', 'C_100', 'General Surgery Service', 1),
    ('101', 'C_101', 'Urology Service', 2),
    ('110', 'C_110', 'Trauma and Orthopaedic Service', 3),
    ('120', 'C_120', 'Ear Nose and Throat Service', 4),
    ('130', 'C_130', 'Ophthalmology Service', 5),
    ('140', 'C_140', 'Oral Surgery Service', 6),
    ('150', 'C_150', 'Neurosurgical Service', 7),
    ('160', 'C_160', 'Plastic Surgery Service', 8),
    ('170', 'C_170', 'Cardiothoracic Surgery Service', 9),
    ('300', 'C_300', 'General Internal Medicine Service', 10),
    ('301', 'C_301', 'Gastroenterology Service', 11),
    ('320', 'C_320', 'Cardiology Service', 12),
    ('330', 'C_330', 'Dermatology Service', 13),
    ('340', 'C_340', 'Respiratory Medicine Service', 14),
    ('400', 'C_400', 'Neurology Service', 15),
    ('410', 'C_410', 'Rheumatology Service', 16),
    ('430', 'C_430', 'Elderly Medicine Service', 17),
    ('502', 'C_502', 'Gynaecology Service', 18),
    ('X02', 'X02', 'Other - Medical Services', 19),
    ('X03', 'X03', 'Other - Mental Health Services', 20),
    ('X04', 'X04', 'Other - Paediatric Services', 21),
    ('X05', 'X05', 'Other - Surgical Services', 22),
    ('X06', 'X06', 'Other - Other Services', 23),
    ('999', 'C_999', 'Total', 24);

INSERT INTO ptl.treatment_function (tfc, name, rtt_line, consultant_led, shipped)
SELECT v.tfc, v.name, v.line, v.cl, true
FROM (VALUES
    ('100', 'General Surgery Service', '100', true),
    ('101', 'Urology Service', '101', true),
    ('102', 'Transplant Surgery Service', 'X05', true),
    ('103', 'Breast Surgery Service', 'X05', true),
    ('104', 'Colorectal Surgery Service', 'X05', true),
    ('105', 'Hepatobiliary and Pancreatic Surgery Service', 'X05', true),
    ('106', 'Upper Gastrointestinal Surgery Service', 'X05', true),
    ('107', 'Vascular Surgery Service', 'X05', true),
    ('108', 'Spinal Surgery Service', '110', true),
    ('109', 'Bariatric Surgery Service', 'X05', true),
    ('110', 'Trauma and Orthopaedic Service', '110', true),
    ('111', 'Orthopaedic Service', '110', true),
    ('113', 'Endocrine Surgery Service', 'X05', true),
    ('115', 'Trauma Surgery Service', '110', true),
    ('120', 'Ear Nose and Throat Service', '120', true),
    ('130', 'Ophthalmology Service', '130', true),
    ('140', 'Oral Surgery Service', '140', true),
    ('141', 'Restorative Dentistry Service', 'X05', true),
    ('142', 'Paediatric Dentistry Service', 'X04', true),
    ('143', 'Orthodontic Service', 'X05', true),
    ('144', 'Maxillofacial Surgery Service', '140', true),
    ('145', 'Oral and Maxillofacial Surgery Service', '140', true),
    ('150', 'Neurosurgical Service', '150', true),
    ('160', 'Plastic Surgery Service', '160', true),
    ('161', 'Burns Care Service', 'X05', true),
    ('170', 'Cardiothoracic Surgery Service', '170', true),
    ('171', 'Paediatric Surgery Service', 'X04', true),
    ('172', 'Cardiac Surgery Service', '170', true),
    ('173', 'Thoracic Surgery Service', '170', true),
    ('174', 'Cardiothoracic Transplantation Service', 'X05', true),
    ('191', 'Pain Management Service', 'X05', true),
    ('300', 'General Internal Medicine Service', '300', true),
    ('301', 'Gastroenterology Service', '301', true),
    ('302', 'Endocrinology Service', 'X02', true),
    ('303', 'Clinical Haematology Service', 'X02', true),
    ('306', 'Hepatology Service', 'X02', true),
    ('307', 'Diabetes Service', 'X02', true),
    ('308', 'Blood and Marrow Transplantation Service', 'X02', true),
    ('309', 'Haemophilia Service', 'X02', true),
    ('311', 'Clinical Genetics Service', 'X02', true),
    ('314', 'Rehabilitation Medicine Service', 'X02', true),
    ('315', 'Palliative Medicine Service', 'X02', true),
    ('317', 'Allergy Service', 'X02', true),
    ('320', 'Cardiology Service', '320', true),
    ('321', 'Paediatric Cardiology Service', 'X04', true),
    ('326', 'Acute Internal Medicine Service', 'X02', true),
    ('328', 'Stroke Medicine Service', 'X02', true),
    ('330', 'Dermatology Service', '330', true),
    ('340', 'Respiratory Medicine Service', '340', true),
    ('347', 'Sleep Medicine Service', 'X02', true),
    ('350', 'Infectious Diseases Service', 'X02', true),
    ('360', 'Genitourinary Medicine Service', 'X02', true),
    ('361', 'Renal Medicine Service', 'X02', true),
    ('370', 'Medical Oncology Service', 'X02', true),
    ('400', 'Neurology Service', '400', true),
    ('401', 'Clinical Neurophysiology Service', 'X02', true),
    ('410', 'Rheumatology Service', '410', true),
    ('420', 'Paediatric Service', 'X04', true),
    ('421', 'Paediatric Neurology Service', 'X04', true),
    ('430', 'Elderly Medicine Service', '430', true),
    ('460', 'Medical Ophthalmology Service', 'X02', true),
    ('502', 'Gynaecology Service', '502', true),
    ('503', 'Gynaecological Oncology Service', 'X05', true),
    ('290', 'Community Paediatric Service', 'X04', false),
    ('650', 'Physiotherapy Service', 'X06', false),
    ('653', 'Podiatry Service', 'X06', false),
    ('654', 'Dietetics Service', 'X06', false),
    ('656', 'Clinical Psychology Service', 'X03', true),
    ('710', 'Adult Mental Health Service', 'X03', true),
    ('711', 'Child and Adolescent Psychiatry Service', 'X03', true),
    ('715', 'Old Age Psychiatry Service', 'X03', true),
    ('800', 'Clinical Oncology Service', 'X02', true),
    ('812', 'Diagnostic Imaging Service', 'X06', false),
    ('840', 'Audiology Service', 'X06', false)
) AS v (tfc, name, line, cl);

-- Shipped rows are ptl's: CREATE EXTENSION writes them again on restore, so a
-- change made to one in place could not survive pg_dump.  A trust's
-- corrections go in ptl.treatment_function_override instead, and a change in
-- place is refused with a hint saying so.
CREATE TABLE ptl.treatment_function_override (
    tfc             text PRIMARY KEY REFERENCES ptl.treatment_function (tfc),
    rtt_line        text NOT NULL REFERENCES ptl.rtt_line (line_code),
    consultant_led  boolean NOT NULL,
    reason          text NOT NULL,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    changed_by      text NOT NULL DEFAULT current_user
);
COMMENT ON TABLE ptl.treatment_function_override IS
    'A trust''s correction of a shipped treatment function: the RTT line it is reported on (e.g. 172/173 on X05 instead of 170) or whether it is consultant-led';
COMMENT ON COLUMN ptl.treatment_function_override.tfc IS 'Treatment function code';
COMMENT ON COLUMN ptl.treatment_function_override.rtt_line IS 'RTT return line to report it on';
COMMENT ON COLUMN ptl.treatment_function_override.consultant_led IS 'Whether it is consultant-led (in RTT)';
COMMENT ON COLUMN ptl.treatment_function_override.reason IS 'Why (e.g. the DCB0028 group table, or the 170 reporting option)';
COMMENT ON COLUMN ptl.treatment_function_override.changed_at IS 'When it was set';
COMMENT ON COLUMN ptl.treatment_function_override.changed_by IS 'Who set it';

CREATE FUNCTION ptl.refuse_shipped_change() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'treatment function % is shipped with ptl and cannot be changed in place', OLD.tfc
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = 'CREATE EXTENSION writes shipped rows again when a dump is restored, so the change would be lost.',
              HINT = 'Put the correction in ptl.treatment_function_override.';
END
$$;
COMMENT ON FUNCTION ptl.refuse_shipped_change() IS
    'Trigger: refuses UPDATE or DELETE of a treatment function shipped with ptl (use ptl.treatment_function_override)';
CREATE TRIGGER treatment_function_shipped_is_read_only
    BEFORE UPDATE OR DELETE ON ptl.treatment_function
    FOR EACH ROW WHEN (OLD.shipped) EXECUTE FUNCTION ptl.refuse_shipped_change();

CREATE VIEW ptl.treatment_function_in_use AS
SELECT tf.tfc, tf.name,
       coalesce(o.rtt_line, tf.rtt_line) AS rtt_line,
       coalesce(o.consultant_led, tf.consultant_led) AS consultant_led,
       (o.tfc IS NOT NULL) AS overridden
FROM ptl.treatment_function tf
LEFT JOIN ptl.treatment_function_override o USING (tfc);
COMMENT ON VIEW ptl.treatment_function_in_use IS
    'Every treatment function with the RTT line and consultant-led flag in force (the trust''s override, else ptl''s)';
COMMENT ON COLUMN ptl.treatment_function_in_use.tfc IS 'Treatment function code';
COMMENT ON COLUMN ptl.treatment_function_in_use.name IS 'Name';
COMMENT ON COLUMN ptl.treatment_function_in_use.rtt_line IS 'RTT return line in force';
COMMENT ON COLUMN ptl.treatment_function_in_use.consultant_led IS 'Consultant-led flag in force';
COMMENT ON COLUMN ptl.treatment_function_in_use.overridden IS 'True when the trust has overridden ptl''s mapping';

-- pg_dump keeps what users put in the tables; rows ptl itself ships are
-- recreated by CREATE EXTENSION and so are left out of the dump.
-- Statistics after a bulk write.  Autovacuum analyses a table some time
-- after it changes; a bulk write inside one transaction (a first load, a
-- relinkage, or rows rolled back since the last analysis, which leave a
-- table analysed as empty) is then planned for the wrong size, and a join
-- planned for an empty table can cost minutes.  Sampling costs milliseconds.
--
-- SECURITY DEFINER: only a table's owner may ANALYZE it, and the daily
-- refresh runs as ptl_admin (ops/), for whom ANALYZE would only warn and
-- skip, leaving exactly the stale statistics this guards against.  Limited
-- to ptl's own tables.
CREATE FUNCTION ptl.analyze_if_grown(tbl regclass, rows_now bigint DEFAULT NULL) RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    est_rows float8;
    est_pages int;
    pages_now bigint;
BEGIN
    IF (SELECT c.relnamespace FROM pg_class c WHERE c.oid = tbl)
       NOT IN ('ptl'::regnamespace, 'ptl_stage'::regnamespace) THEN
        RAISE EXCEPTION 'ptl.analyze_if_grown analyses ptl''s own tables, not %', tbl
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    pages_now := pg_catalog.pg_relation_size(tbl) / current_setting('block_size')::int;
    SELECT c.reltuples, c.relpages INTO est_rows, est_pages FROM pg_class c WHERE c.oid = tbl;
    -- With a row count: more than twice what the statistics say.  Without:
    -- statistics that say "empty" for a table with pages (rows rolled back
    -- or deleted since), or a table that has more than doubled in pages.
    IF (rows_now IS NOT NULL AND rows_now > 1000 AND rows_now > 2 * greatest(est_rows, 0))
       OR (rows_now IS NULL AND pages_now > 8
           AND (est_rows <= 0 OR pages_now > 2 * greatest(est_pages, 1))) THEN
        EXECUTE format('ANALYZE %s', tbl);
        RETURN true;
    END IF;
    RETURN false;
END
$$;
COMMENT ON FUNCTION ptl.analyze_if_grown(regclass, bigint) IS
    'Internal: ANALYZE a table after a bulk write its statistics do not know of: rows_now over 1,000 and over twice the estimate, or (no count given) statistics saying empty for a table with pages, or pages more than doubled';

SELECT pg_catalog.pg_extension_config_dump('ptl.organisation', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.site', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.commissioner', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.treatment_function', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('ptl.treatment_function_override', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.area_deprivation', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.postcode_district', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.batch', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.batch_batch_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.patient', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.patient_patient_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.pathway', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.pathway_pathway_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.pathway_event', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.pathway_event_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.waiting_list_entry', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.waiting_list_entry_entry_id_seq', '');
-- ---------------------------------------------------------------------------
-- risk: settings, pre-operative risk assessments, the history of clinical
-- priorities and suspensions from the waiting list.  The views that derive
-- scores, cohorts and the order are in src/risk/cohorts.sql and ptl.ptl.
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.risk_setting (
    setting_id                      bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    set_at                          timestamptz NOT NULL DEFAULT now(),
    set_by                          text NOT NULL DEFAULT current_user,
    shipped                         boolean NOT NULL DEFAULT false,
    order_policy                    text NOT NULL DEFAULT 'clinical_priority'
                                    CHECK (order_policy IN ('clinical_priority', 'longest_wait')),
    prehabilitation_ariscat_from    int NOT NULL DEFAULT 26 CHECK (prehabilitation_ariscat_from BETWEEN 0 AND 123),
    high_mortality_sort_pct         float8 NOT NULL DEFAULT 5 CHECK (high_mortality_sort_pct > 0 AND high_mortality_sort_pct < 100),
    frail_from_cfs                  int NOT NULL DEFAULT 5 CHECK (frail_from_cfs BETWEEN 1 AND 9),
    assessment_valid_days           int NOT NULL DEFAULT 84 CHECK (assessment_valid_days > 0),
    harm_review_weeks               int NOT NULL DEFAULT 52 CHECK (harm_review_weeks > 0),
    harm_review_target_margin_days  int NOT NULL DEFAULT 0 CHECK (harm_review_target_margin_days >= 0),
    priority_review_days            int NOT NULL DEFAULT 84 CHECK (priority_review_days > 0)
);
INSERT INTO ptl.risk_setting (setting_id, set_at, set_by, shipped) VALUES (0, '-infinity', 'ptl', true);
SELECT pg_catalog.pg_extension_config_dump('ptl.risk_setting', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('ptl.risk_setting_setting_id_seq', '');
COMMENT ON TABLE ptl.risk_setting IS
    'Risk cohorts'' thresholds and the waiting-list order policy: a history, the latest row is in force (insert a row to change)';
COMMENT ON COLUMN ptl.risk_setting.setting_id IS 'Row number (0 = the defaults ptl ships)';
COMMENT ON COLUMN ptl.risk_setting.set_at IS 'When the settings were set';
COMMENT ON COLUMN ptl.risk_setting.set_by IS 'Who set them';
COMMENT ON COLUMN ptl.risk_setting.shipped IS 'True for the defaults row ptl ships';
COMMENT ON COLUMN ptl.risk_setting.order_policy IS
    'clinical_priority (default): P1a/P1b first, then P2-P4 by share of target waited, date listed, clock start; longest_wait: by RTT clock start instead of share of target';
COMMENT ON COLUMN ptl.risk_setting.prehabilitation_ariscat_from IS
    'ARISCAT score from which a patient joins the prehabilitation cohort (26: intermediate or high risk of pulmonary complications, observed rates above 10%)';
COMMENT ON COLUMN ptl.risk_setting.high_mortality_sort_pct IS 'SORT predicted 30-day mortality (per cent) from which a patient is high risk';
COMMENT ON COLUMN ptl.risk_setting.frail_from_cfs IS 'Clinical Frailty Scale level from which a patient is frail';
COMMENT ON COLUMN ptl.risk_setting.assessment_valid_days IS
    'Days a risk assessment stays fit for listing decisions (default 84, 12 weeks); older ones are flagged stale';
COMMENT ON COLUMN ptl.risk_setting.harm_review_weeks IS 'Pathways waiting more than this many weeks go to clinical harm review (default 52)';
COMMENT ON COLUMN ptl.risk_setting.harm_review_target_margin_days IS
    'Patients more than this many days past their clinical priority''s target date go to harm review (default 0: any breach)';
COMMENT ON COLUMN ptl.risk_setting.priority_review_days IS
    'Days after which a clinical priority is due for review (default 84); ptl.priority_review_due lists them';

CREATE FUNCTION ptl.risk_setting_in_force() RETURNS ptl.risk_setting
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN (SELECT s FROM ptl.risk_setting s ORDER BY s.set_at DESC, s.setting_id DESC LIMIT 1);
COMMENT ON FUNCTION ptl.risk_setting_in_force() IS 'The risk and ordering settings in force (the latest row of ptl.risk_setting)';

-- One pre-operative risk assessment: the inputs of every model, each
-- nullable (a model is scored when its inputs are complete).  The CHECKs
-- run the models themselves, so a row the scores would refuse is refused
-- here with the same message, and ptl.risk_score never fails on stored
-- data.  Age comes from the patient's date of birth at the assessment.
CREATE TABLE ptl.risk_assessment (
    assessment_id                   bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    patient_id                      bigint NOT NULL REFERENCES ptl.patient (patient_id),
    pathway_id                      bigint REFERENCES ptl.pathway (pathway_id),
    assessed_on                     date NOT NULL,
    recorded_by                     text NOT NULL CHECK (recorded_by <> ''),
    recorded_at                     timestamptz NOT NULL DEFAULT now(),
    asa_grade                       smallint,
    emergency                       boolean NOT NULL DEFAULT false,
    spo2_pct                        numeric(4,1),
    respiratory_infection_last_month boolean,
    hb_g_dl                         numeric(4,1),
    incision                        text,
    surgery_duration_hours          numeric(4,2),
    urgency                         text NOT NULL DEFAULT 'elective',
    sort_specialty                  text,
    severity                        text,
    cancer                          boolean,
    clinician_band                  text,
    cardiac                         text,
    respiratory                     text,
    systolic_bp_mmhg                int,
    pulse_per_min                   int,
    glasgow_coma_scale              int,
    wcc_10e9_per_l                  numeric(5,1),
    urea_mmol_l                     numeric(5,1),
    sodium_mmol_l                   numeric(5,1),
    potassium_mmol_l                numeric(4,1),
    ecg                             text,
    operative_severity              text,
    procedure_count                 int,
    blood_loss_ml                   int,
    peritoneal_soiling              text,
    malignancy                      text,
    mode_of_surgery                 text,
    cfs_level                       smallint,
    -- each is NULL (passes) while a model's inputs are incomplete
    CHECK (ptl.asa_physical_status(asa_grade, emergency) <> ''),
    CHECK (ptl.ariscat_score(50, spo2_pct, respiratory_infection_last_month, hb_g_dl, incision,
                             surgery_duration_hours, emergency) >= 0),
    CHECK (ptl.sort_logit(least(asa_grade, 5), urgency, ptl.sort_high_risk_specialty(sort_specialty),
                          severity, cancer, 50) < 100),
    CHECK (ptl.sort_morbidity_logit(least(asa_grade, 5), sort_specialty, severity, cancer, 50) < 100),
    CHECK (ptl.sort_cj_logit(0, clinician_band) < 100),
    CHECK (ptl.possum_physiological_score(50, cardiac, respiratory, systolic_bp_mmhg, pulse_per_min,
                                          glasgow_coma_scale, hb_g_dl, wcc_10e9_per_l, urea_mmol_l,
                                          sodium_mmol_l, potassium_mmol_l, ecg) > 0),
    CHECK (ptl.possum_operative_score(operative_severity, procedure_count, blood_loss_ml, peritoneal_soiling,
                                      malignancy, mode_of_surgery) > 0),
    CHECK (ptl.cfs_label(cfs_level) <> '')
);
CREATE INDEX risk_assessment_patient_idx ON ptl.risk_assessment (patient_id, assessed_on);
COMMENT ON TABLE ptl.risk_assessment IS
    'Pre-operative risk assessments: each model''s inputs with the date assessed and who recorded them. ptl.risk_score derives the scores; the latest assessment of a person counts';
COMMENT ON COLUMN ptl.risk_assessment.assessment_id IS 'ptl''s key for this assessment';
COMMENT ON COLUMN ptl.risk_assessment.patient_id IS 'Patient record assessed (the assessment counts for the ICS person)';
COMMENT ON COLUMN ptl.risk_assessment.pathway_id IS 'Pathway whose operation was assessed (NULL: any of the person''s pathways)';
COMMENT ON COLUMN ptl.risk_assessment.assessed_on IS 'Date of the assessment';
COMMENT ON COLUMN ptl.risk_assessment.recorded_by IS 'Who recorded it';
COMMENT ON COLUMN ptl.risk_assessment.recorded_at IS 'When it was recorded in ptl';
COMMENT ON COLUMN ptl.risk_assessment.asa_grade IS 'ASA physical status grade 1 to 6, the clinician''s judgement';
COMMENT ON COLUMN ptl.risk_assessment.emergency IS 'Emergency operation (ASA E suffix; ARISCAT emergency); false on an elective list';
COMMENT ON COLUMN ptl.risk_assessment.spo2_pct IS 'ARISCAT: pre-operative SpO2 on room air, supine, per cent';
COMMENT ON COLUMN ptl.risk_assessment.respiratory_infection_last_month IS 'ARISCAT: respiratory infection in the last month';
COMMENT ON COLUMN ptl.risk_assessment.hb_g_dl IS 'ARISCAT and POSSUM: haemoglobin, g/dL';
COMMENT ON COLUMN ptl.risk_assessment.incision IS 'ARISCAT: peripheral, upper_abdominal or intrathoracic';
COMMENT ON COLUMN ptl.risk_assessment.surgery_duration_hours IS 'ARISCAT: planned duration of surgery, hours';
COMMENT ON COLUMN ptl.risk_assessment.urgency IS 'SORT: NCEPOD urgency (elective, expedited, urgent, immediate)';
COMMENT ON COLUMN ptl.risk_assessment.sort_specialty IS
    'SORT: colorectal, upper_gi, bariatric, hpb, thoracic, vascular, orthopaedic or other';
COMMENT ON COLUMN ptl.risk_assessment.severity IS 'SORT: AXA severity (minor, intermediate, major, xmajor, complex)';
COMMENT ON COLUMN ptl.risk_assessment.cancer IS 'SORT: active malignancy in the last 5 years';
COMMENT ON COLUMN ptl.risk_assessment.clinician_band IS
    'SORT-CJ: the clinician''s estimate of 30-day mortality (<1%, 1-2.5%, 2.6-5%, 5.1-10%, 10.1-50%, >50%, unknown)';
COMMENT ON COLUMN ptl.risk_assessment.cardiac IS 'POSSUM: no_failure, cardiac_drugs, oedema_or_warfarin, cardiomegaly';
COMMENT ON COLUMN ptl.risk_assessment.respiratory IS
    'POSSUM: no_dyspnoea, dyspnoea_on_exertion, limiting_dyspnoea, dyspnoea_at_rest';
COMMENT ON COLUMN ptl.risk_assessment.systolic_bp_mmhg IS 'POSSUM: systolic blood pressure, mmHg';
COMMENT ON COLUMN ptl.risk_assessment.pulse_per_min IS 'POSSUM: pulse, beats per minute';
COMMENT ON COLUMN ptl.risk_assessment.glasgow_coma_scale IS 'POSSUM: Glasgow Coma Scale, 3 to 15';
COMMENT ON COLUMN ptl.risk_assessment.wcc_10e9_per_l IS 'POSSUM: white cell count, 10^9/L';
COMMENT ON COLUMN ptl.risk_assessment.urea_mmol_l IS 'POSSUM: urea, mmol/L';
COMMENT ON COLUMN ptl.risk_assessment.sodium_mmol_l IS 'POSSUM: sodium, mmol/L';
COMMENT ON COLUMN ptl.risk_assessment.potassium_mmol_l IS 'POSSUM: potassium, mmol/L';
COMMENT ON COLUMN ptl.risk_assessment.ecg IS 'POSSUM: normal, af_rate_60_90 or other_abnormal';
COMMENT ON COLUMN ptl.risk_assessment.operative_severity IS 'POSSUM: minor, moderate, major or major_plus';
COMMENT ON COLUMN ptl.risk_assessment.procedure_count IS 'POSSUM: number of procedures (planned)';
COMMENT ON COLUMN ptl.risk_assessment.blood_loss_ml IS 'POSSUM: total blood loss, mL (planned before the operation)';
COMMENT ON COLUMN ptl.risk_assessment.peritoneal_soiling IS 'POSSUM: none, minor_serous, local_pus or free_content';
COMMENT ON COLUMN ptl.risk_assessment.malignancy IS 'POSSUM: none, primary_only, nodal_metastases or distant_metastases';
COMMENT ON COLUMN ptl.risk_assessment.mode_of_surgery IS 'POSSUM: elective, emergency or emergency_immediate';
COMMENT ON COLUMN ptl.risk_assessment.cfs_level IS 'Clinical Frailty Scale level 1 to 9';

-- ---------------------------------------------------------------------------
-- Clinical priority history.  Two writers: the source systems (a load that
-- changes an entry's priority adds a row, by the trigger below) and
-- clinicians reviewing in ptl (ptl.review_clinical_priority).  The priority
-- in force at a date is the latest row valid from that date or before, so a
-- review stands until the source system itself changes it; an entry with no
-- history has had its loaded priority since it was listed.  Nothing is
-- written when an entry is inserted, so a restore does not write rows twice.
-- ---------------------------------------------------------------------------
CREATE TABLE ptl.clinical_priority_history (
    history_id      bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    entry_id        bigint NOT NULL REFERENCES ptl.waiting_list_entry (entry_id) ON DELETE CASCADE,
    priority        ptl.clinical_priority,
    valid_from      date NOT NULL,
    source          text NOT NULL CHECK (source IN ('listing', 'extract', 'review')),
    reviewed_by     text NOT NULL,
    reason          text,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX clinical_priority_history_entry_idx
    ON ptl.clinical_priority_history (entry_id, valid_from DESC, history_id DESC);
COMMENT ON TABLE ptl.clinical_priority_history IS
    'Every clinical priority a waiting-list entry has had once it changed: the one it was listed with (source listing), later changes in the source system (extract), clinical reviews in ptl (review). The latest row valid at a date is the priority then; an entry without rows has kept its loaded priority';
COMMENT ON COLUMN ptl.clinical_priority_history.history_id IS 'Row number';
COMMENT ON COLUMN ptl.clinical_priority_history.entry_id IS 'Waiting-list entry';
COMMENT ON COLUMN ptl.clinical_priority_history.priority IS 'Clinical priority from that date (NULL: none recorded)';
COMMENT ON COLUMN ptl.clinical_priority_history.valid_from IS
    'Date it applies from: the review date, the decision to admit for a new entry, the load date for a change in the source';
COMMENT ON COLUMN ptl.clinical_priority_history.source IS 'listing (the priority the entry was listed with), extract (a later change in the source system) or review (recorded in ptl)';
COMMENT ON COLUMN ptl.clinical_priority_history.reviewed_by IS 'Reviewing clinician, or the batch that carried the change';
COMMENT ON COLUMN ptl.clinical_priority_history.reason IS 'Why it changed';
COMMENT ON COLUMN ptl.clinical_priority_history.recorded_at IS 'When the row was written';

CREATE FUNCTION ptl.clinical_priority_history_extract() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
BEGIN
    -- The first change of an entry also records the priority it was listed
    -- with; an entry that never changes needs no history (its row says it).
    INSERT INTO ptl.clinical_priority_history (entry_id, priority, valid_from, source, reviewed_by)
    SELECT o.entry_id, o.clinical_priority, o.decision_to_admit, 'listing', 'batch ' || o.batch_id
    FROM old_rows o
    JOIN new_rows n ON n.entry_id = o.entry_id
    WHERE o.clinical_priority IS DISTINCT FROM n.clinical_priority
      AND NOT EXISTS (SELECT 1 FROM ptl.clinical_priority_history h WHERE h.entry_id = o.entry_id)
    UNION ALL
    SELECT n.entry_id, n.clinical_priority, greatest(current_date, n.decision_to_admit), 'extract',
           'batch ' || n.batch_id
    FROM new_rows n
    JOIN old_rows o ON o.entry_id = n.entry_id
    WHERE o.clinical_priority IS DISTINCT FROM n.clinical_priority;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ptl.clinical_priority_history_extract() IS
    'Trigger on ptl.waiting_list_entry: records a change of priority in the source system (and, the first time, the priority it replaced) in ptl.clinical_priority_history';
CREATE TRIGGER clinical_priority_history_update
    AFTER UPDATE ON ptl.waiting_list_entry REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ptl.clinical_priority_history_extract();

CREATE FUNCTION ptl.review_clinical_priority(entry_id bigint, priority ptl.clinical_priority,
                                             reviewed_by text, reviewed_on date DEFAULT current_date,
                                             reason text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    entry ptl.waiting_list_entry;
    id bigint;
BEGIN
    SELECT * INTO entry FROM ptl.waiting_list_entry e WHERE e.entry_id = entry_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'waiting-list entry % does not exist', entry_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF reviewed_on < entry.decision_to_admit
       OR reviewed_on > coalesce(entry.removed_date, 'infinity') THEN
        RAISE EXCEPTION 'review date % is outside the time waiting-list entry % was on the list', reviewed_on, entry.entry_ref
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The entry was listed on %s%s.', entry.decision_to_admit,
                                  coalesce(' and removed on ' || entry.removed_date, '')),
                  HINT = 'A clinical priority can be reviewed only while the patient is on the list.';
    END IF;
    IF coalesce(btrim(reviewed_by), '') = '' THEN
        RAISE EXCEPTION 'a clinical priority review needs the reviewer''s name'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- the first row of an entry's history is the priority it was listed with
    INSERT INTO ptl.clinical_priority_history (entry_id, priority, valid_from, source, reviewed_by)
    SELECT entry_id, entry.clinical_priority, entry.decision_to_admit, 'listing', 'batch ' || entry.batch_id
    WHERE NOT EXISTS (SELECT 1 FROM ptl.clinical_priority_history h WHERE h.entry_id = review_clinical_priority.entry_id);
    INSERT INTO ptl.clinical_priority_history (entry_id, priority, valid_from, source, reviewed_by, reason)
    VALUES (entry_id, priority, reviewed_on, 'review', reviewed_by, reason)
    RETURNING history_id INTO id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION ptl.review_clinical_priority(bigint, ptl.clinical_priority, text, date, text) IS
    'Records a clinical review of a waiting-list entry''s priority (who, when, why); the order uses it from that date until a later review or a change in the source system. Returns the history row';

-- ---------------------------------------------------------------------------
-- Suspensions: days a patient could not be treated (unavailable, or not
-- fit) do not count towards the clinical priority target, and a patient
-- suspended at the census is set aside from the order (clinical-theatre.md
-- 1.6-1.7; Australian "not ready for care" days).  They do not stop an RTT
-- clock: the RTT rules have no such pause.
-- ---------------------------------------------------------------------------
CREATE TABLE ptl.waiting_list_suspension (
    suspension_id   bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    entry_id        bigint NOT NULL REFERENCES ptl.waiting_list_entry (entry_id) ON DELETE CASCADE,
    suspended_from  date NOT NULL,
    suspended_until date,
    reason          text NOT NULL CHECK (reason IN ('patient_unavailable', 'clinically_unfit', 'other')),
    recorded_by     text NOT NULL CHECK (recorded_by <> ''),
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (suspended_until IS NULL OR suspended_until >= suspended_from)
);
CREATE INDEX waiting_list_suspension_entry_idx ON ptl.waiting_list_suspension (entry_id);
COMMENT ON TABLE ptl.waiting_list_suspension IS
    'Periods a listed patient could not be treated; they do not count towards the clinical priority target (the RTT clock runs on)';
COMMENT ON COLUMN ptl.waiting_list_suspension.suspension_id IS 'Row number';
COMMENT ON COLUMN ptl.waiting_list_suspension.entry_id IS 'Waiting-list entry';
COMMENT ON COLUMN ptl.waiting_list_suspension.suspended_from IS 'First day suspended';
COMMENT ON COLUMN ptl.waiting_list_suspension.suspended_until IS 'Last day suspended (NULL: until further notice)';
COMMENT ON COLUMN ptl.waiting_list_suspension.reason IS 'patient_unavailable, clinically_unfit or other';
COMMENT ON COLUMN ptl.waiting_list_suspension.recorded_by IS 'Who recorded it';
COMMENT ON COLUMN ptl.waiting_list_suspension.recorded_at IS 'When';

-- Assessments, priority history and suspensions are users' records: pg_dump keeps them.
SELECT pg_catalog.pg_extension_config_dump('ptl.risk_assessment', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.risk_assessment_assessment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.clinical_priority_history', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.clinical_priority_history_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.waiting_list_suspension', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.waiting_list_suspension_suspension_id_seq', '');
-- ---------------------------------------------------------------------------
-- load, part 1: staging.  Extracts are COPYed here as text, so nothing is
-- refused at the door; ptl.load() then parses and validates every row.
--
-- Each staging table carries the batch (defaulted from ptl.open_batch() in the
-- same session, so a plain COPY with a column list needs no batch column) and
-- a row number in arrival order, which is the line a data manager is shown.
-- ---------------------------------------------------------------------------
CREATE SCHEMA ptl_stage;
COMMENT ON SCHEMA ptl_stage IS
    'Raw extracts as delivered, every column text: COPY here, then call ptl.load(batch)';

-- The batch this session is filling, set by ptl.open_batch().
CREATE FUNCTION ptl.current_batch() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN nullif(current_setting('ptl.current_batch', true), '')::bigint;
COMMENT ON FUNCTION ptl.current_batch() IS
    'The batch opened by ptl.open_batch() in this session (the default batch of staging rows), or NULL';

CREATE TABLE ptl_stage.patient (
    batch_id            bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no              bigint GENERATED ALWAYS AS IDENTITY,
    local_patient_id    text,
    nhs_number          text,
    given_name          text,
    family_name         text,
    date_of_birth       text,
    date_of_death       text,
    sex                 text,
    postcode            text,
    address_line_1      text,
    ethnic_category     text,
    lsoa_code           text,
    gp_practice_code    text,
    commissioner_code   text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.patient (batch_id);
COMMENT ON TABLE ptl_stage.patient IS 'Patient extract as delivered (one row per patient record)';

CREATE TABLE ptl_stage.pathway (
    batch_id            bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no              bigint GENERATED ALWAYS AS IDENTITY,
    local_patient_id    text,
    ppid                text,
    ppid_issuer         text,
    ubrn                text,
    site_code           text,
    treatment_function  text,
    referral_priority   text,
    referral_received   text,
    commissioner_code   text,
    consultant_code     text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.pathway (batch_id);
COMMENT ON TABLE ptl_stage.pathway IS 'Pathway (referral) extract as delivered (one row per pathway)';

CREATE TABLE ptl_stage.pathway_event (
    batch_id            bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no              bigint GENERATED ALWAYS AS IDENTITY,
    ppid_issuer         text,
    ppid                text,
    event_ref           text,
    event_date          text,
    kind                text,
    rtt_status          text,
    ref_date            text,
    site_code           text,
    treatment_function  text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.pathway_event (batch_id);
COMMENT ON TABLE ptl_stage.pathway_event IS 'Pathway event extract as delivered (one row per event)';

CREATE TABLE ptl_stage.waiting_list_entry (
    batch_id                    bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no                      bigint GENERATED ALWAYS AS IDENTITY,
    ppid_issuer                 text,
    ppid                        text,
    entry_ref                   text,
    procedure_code              text,
    procedure_description       text,
    intended_management         text,
    clinical_priority           text,
    decision_to_admit           text,
    expected_duration_minutes   text,
    consultant_code             text,
    tci_date                    text,
    removed_date                text,
    removal_reason              text,
    site_code                   text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.waiting_list_entry (batch_id);
COMMENT ON TABLE ptl_stage.waiting_list_entry IS 'Admitted waiting-list extract as delivered (one row per entry)';
-- ---------------------------------------------------------------------------
-- load, part 2: batches, the extract specification, quarantine and ptl.load().
--
-- ptl.load(batch) works set-wise, one extract at a time in dependency order
-- (patients, pathways, events, waiting-list entries):
--   1. every staged row is checked column by column against ptl.extract_column
--      with the types' own non-raising parsers (ptl.check_input); the first
--      failing column is the row's reason;
--   2. rows that pass are checked against rules that span columns or rows
--      (plausible dates, a parent that exists, a key repeated in the extract);
--   3. good rows are upserted on their natural key (a re-sent row changes
--      nothing); bad rows go to ptl.rejected_row with the raw row, the column,
--      a SQLSTATE and a message; the staged rows are then removed.
-- Nothing is dropped: per extract, read = loaded + updated + quarantined.
-- ---------------------------------------------------------------------------

CREATE FUNCTION ptl.open_batch(org_code text, source_system text,
                               site_code text DEFAULT NULL, label text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    new_batch bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ptl.organisation o WHERE o.org_code = open_batch.org_code) THEN
        RAISE EXCEPTION 'organisation "%" is not in ptl.organisation', open_batch.org_code
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Add the organisation (its ODS code) to ptl.organisation before loading its extracts.';
    END IF;
    IF open_batch.site_code IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM ptl.site s
        WHERE s.site_code = open_batch.site_code AND s.org_code = open_batch.org_code) THEN
        RAISE EXCEPTION 'site "%" is not a site of organisation "%"', open_batch.site_code, open_batch.org_code
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Add the site to ptl.site with its organisation.';
    END IF;
    INSERT INTO ptl.batch (org_code, site_code, source_system, label)
    VALUES (open_batch.org_code, open_batch.site_code, open_batch.source_system, open_batch.label)
    RETURNING batch_id INTO new_batch;
    -- Staging rows COPYed later in this session default to this batch.
    PERFORM pg_catalog.set_config('ptl.current_batch', new_batch::text, false);
    RETURN new_batch;
END
$$;
COMMENT ON FUNCTION ptl.open_batch(text, text, text, text) IS
    'Opens a load batch for one delivery of extracts and makes it this session''s default for staging rows; returns its number';

-- A loader that stages for the daily refresh closes its batch when every
-- extract is staged: ptl.daily_refresh loads ready batches only, so it never
-- loads half a delivery.  Staging into a closed batch is refused (below).
CREATE FUNCTION ptl.close_batch(batch bigint DEFAULT ptl.current_batch()) RETURNS ptl.batch
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    b ptl.batch;
BEGIN
    SELECT * INTO b FROM ptl.batch x WHERE x.batch_id = close_batch.batch FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'batch % does not exist', coalesce(close_batch.batch::text, 'NULL')
            USING ERRCODE = 'no_data_found', HINT = 'Open a batch with ptl.open_batch().';
    END IF;
    IF b.status <> 'open' THEN
        RAISE EXCEPTION 'batch % is already %', b.batch_id, b.status
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Only an open batch can be closed.';
    END IF;
    UPDATE ptl.batch x SET status = 'ready' WHERE x.batch_id = b.batch_id RETURNING * INTO b;
    RETURN b;
END
$$;
COMMENT ON FUNCTION ptl.close_batch(bigint) IS
    'Marks an open batch ready: every extract is staged, and the next ptl.daily_refresh loads it';

-- Staged rows must belong to an open batch.  The share lock on the batch row
-- makes a load (which locks it for update) wait for the staging transaction
-- to commit, so rows staged while a load or refresh runs are either loaded
-- with the batch or refused with this message: never left behind unloaded.
CREATE FUNCTION ptl.stage_batch_is_open() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    b record;
BEGIN
    FOR b IN
        SELECT s.batch_id, (SELECT x.status FROM ptl.batch x WHERE x.batch_id = s.batch_id FOR SHARE) AS status
        FROM (SELECT DISTINCT n.batch_id FROM new_rows n) s
        ORDER BY s.batch_id
    LOOP
        IF b.status IS DISTINCT FROM 'open' THEN
            RAISE EXCEPTION 'cannot stage rows into batch %: it is %', coalesce(b.batch_id::text, 'NULL'),
                            coalesce(b.status, 'not opened')
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = format('%s rows for ptl_stage.%s were refused.',
                                      (SELECT count(*) FROM new_rows n WHERE n.batch_id IS NOT DISTINCT FROM b.batch_id),
                                      TG_TABLE_NAME),
                      HINT = 'Open a new batch with ptl.open_batch() and stage the rows into it.';
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ptl.stage_batch_is_open() IS
    'Trigger on the staging tables: refuses rows for a batch that is not open (ready or loaded)';
CREATE TRIGGER stage_batch_is_open AFTER INSERT ON ptl_stage.patient
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.stage_batch_is_open();
CREATE TRIGGER stage_batch_is_open AFTER INSERT ON ptl_stage.pathway
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.stage_batch_is_open();
CREATE TRIGGER stage_batch_is_open AFTER INSERT ON ptl_stage.pathway_event
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.stage_batch_is_open();
CREATE TRIGGER stage_batch_is_open AFTER INSERT ON ptl_stage.waiting_list_entry
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.stage_batch_is_open();

-- ---------------------------------------------------------------------------
-- The extract specification: what each staged column must hold.  It is the
-- document a site's data team reads, and the loader's only source of
-- column rules (so the two cannot drift apart).
-- ---------------------------------------------------------------------------
CREATE TABLE ptl.extract_column (
    extract         text NOT NULL CHECK (extract IN ('patient', 'pathway', 'pathway_event', 'waiting_list_entry')),
    column_name     text NOT NULL,
    ordinal         int NOT NULL,
    required        boolean NOT NULL DEFAULT false,
    value_type      regtype,
    allowed         text[],
    pattern         text,
    pattern_meaning text,
    code_table      text CHECK (code_table IN ('site', 'commissioner', 'treatment_function')),
    when_invalid    text NOT NULL DEFAULT 'quarantine' CHECK (when_invalid IN ('quarantine', 'load_without')),
    description     text NOT NULL,
    PRIMARY KEY (extract, column_name),
    UNIQUE (extract, ordinal),
    CHECK (pattern IS NULL OR pattern_meaning IS NOT NULL)
);
COMMENT ON TABLE ptl.extract_column IS
    'Specification of every extract column: required or not, its type, code list, pattern or code table. ptl.load() checks rows against it.';
COMMENT ON COLUMN ptl.extract_column.extract IS 'Extract (staging table in ptl_stage)';
COMMENT ON COLUMN ptl.extract_column.column_name IS 'Column of the extract';
COMMENT ON COLUMN ptl.extract_column.ordinal IS 'Order in which columns are checked (and their order in the CSV)';
COMMENT ON COLUMN ptl.extract_column.required IS 'True when an empty value quarantines the row';
COMMENT ON COLUMN ptl.extract_column.value_type IS 'Type the value must parse as (its own input parser decides); NULL for free text';
COMMENT ON COLUMN ptl.extract_column.allowed IS 'Code list the value must be one of, when there is one';
COMMENT ON COLUMN ptl.extract_column.pattern IS 'Regular expression the value must match, when there is one';
COMMENT ON COLUMN ptl.extract_column.pattern_meaning IS 'The pattern in words, for messages';
COMMENT ON COLUMN ptl.extract_column.code_table IS 'Reference table the code must exist in: site, commissioner or treatment_function';
COMMENT ON COLUMN ptl.extract_column.when_invalid IS
    'quarantine: an invalid value quarantines the row; load_without: the row loads without the value, which is kept as recorded, and a warning is logged';
COMMENT ON COLUMN ptl.extract_column.description IS 'What the column holds';

INSERT INTO ptl.extract_column
    (extract, column_name, ordinal, required, value_type, allowed, pattern, pattern_meaning, code_table, when_invalid, description)
VALUES
    ('patient', 'local_patient_id', 1, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', 'The source system''s patient identifier (hospital number)'),
    ('patient', 'nhs_number', 2, false, 'ptl.nhs_number', NULL, NULL, NULL, NULL, 'load_without', 'NHS number, 10 digits, optionally 3-3-4 with spaces or hyphens'),
    ('patient', 'given_name', 3, false, NULL, NULL, NULL, NULL, NULL, 'quarantine', 'Given name'),
    ('patient', 'family_name', 4, false, NULL, NULL, NULL, NULL, NULL, 'quarantine', 'Family name'),
    ('patient', 'date_of_birth', 5, false, 'date', NULL, NULL, NULL, NULL, 'quarantine', 'Date of birth, YYYY-MM-DD or DD/MM/YYYY'),
    ('patient', 'date_of_death', 6, false, 'date', NULL, NULL, NULL, NULL, 'quarantine', 'Date of death, when known'),
    ('patient', 'sex', 7, false, NULL, '{1,2,9,X}', NULL, NULL, NULL, 'quarantine', 'PERSON STATED GENDER CODE: 1 male, 2 female, 9 indeterminate, X not known'),
    ('patient', 'postcode', 8, false, NULL, NULL, '^[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}$', 'a UK postcode such as LS1 4AP', NULL, 'quarantine', 'Postcode of usual address'),
    ('patient', 'address_line_1', 9, false, NULL, NULL, NULL, NULL, NULL, 'quarantine', 'First line of usual address'),
    ('patient', 'ethnic_category', 10, false, NULL, '{A,B,C,D,E,F,G,H,J,K,L,M,N,P,R,S,Z,99}', NULL, NULL, NULL, 'quarantine', 'ETHNIC CATEGORY code (A-S, Z not stated, 99 not known)'),
    ('patient', 'lsoa_code', 11, false, NULL, NULL, '^[EW][0-9]{8}$', 'an LSOA code such as E01000001', NULL, 'quarantine', 'LSOA of residence'),
    ('patient', 'gp_practice_code', 12, false, NULL, NULL, '^[A-Z0-9]{3,8}$', 'an ODS code of 3 to 8 capitals or digits', NULL, 'quarantine', 'Registered GP practice ODS code'),
    ('patient', 'commissioner_code', 13, false, NULL, NULL, NULL, NULL, 'commissioner', 'quarantine', 'Responsible commissioner'),

    ('pathway', 'local_patient_id', 1, true, NULL, NULL, NULL, NULL, NULL, 'quarantine', 'The patient, by the same system''s patient identifier'),
    ('pathway', 'ppid', 2, true, NULL, NULL, '^[!-~]{1,20}$', 'up to 20 printable characters without spaces', NULL, 'quarantine', 'Patient pathway identifier'),
    ('pathway', 'ppid_issuer', 3, true, NULL, NULL, '^[A-Z0-9]{3,6}$', 'an ODS code of 3 to 6 capitals or digits', NULL, 'quarantine', 'ODS code of the organisation that issued the PPID (X09 for a UBRN)'),
    ('pathway', 'ubrn', 4, false, NULL, NULL, '^[0-9]{12}$', '12 digits', NULL, 'quarantine', 'e-RS unique booking reference number'),
    ('pathway', 'site_code', 5, false, NULL, NULL, NULL, NULL, 'site', 'quarantine', 'Managing site (default: the batch''s site)'),
    ('pathway', 'treatment_function', 6, true, NULL, NULL, NULL, NULL, 'treatment_function', 'quarantine', 'Treatment function code, e.g. 110'),
    ('pathway', 'referral_priority', 7, false, NULL, '{1,2,3,routine,urgent,two_week_wait}', NULL, NULL, NULL, 'quarantine', 'PRIORITY TYPE: 1 routine (the default), 2 urgent, 3 two week wait'),
    ('pathway', 'referral_received', 8, true, 'date', NULL, NULL, NULL, NULL, 'quarantine', 'Date the referral was received (clock start)'),
    ('pathway', 'commissioner_code', 9, false, NULL, NULL, NULL, NULL, 'commissioner', 'quarantine', 'Commissioner of the pathway'),
    ('pathway', 'consultant_code', 10, false, NULL, NULL, NULL, NULL, NULL, 'quarantine', 'Responsible consultant'),

    ('pathway_event', 'ppid_issuer', 1, true, NULL, NULL, '^[A-Z0-9]{3,6}$', 'an ODS code of 3 to 6 capitals or digits', NULL, 'quarantine', 'Pathway: PPID issuer'),
    ('pathway_event', 'ppid', 2, true, NULL, NULL, '^[!-~]{1,20}$', 'up to 20 printable characters without spaces', NULL, 'quarantine', 'Pathway: PPID'),
    ('pathway_event', 'event_ref', 3, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', 'The source system''s identifier of the event'),
    ('pathway_event', 'event_date', 4, true, 'date', NULL, NULL, NULL, NULL, 'quarantine', 'Date of the event'),
    ('pathway_event', 'kind', 5, true, 'ptl.event_kind', NULL, NULL, NULL, NULL, 'quarantine', 'What happened (ptl.event_kind)'),
    ('pathway_event', 'rtt_status', 6, false, 'ptl.rtt_status', NULL, NULL, NULL, NULL, 'quarantine', 'RTT period status at the end of the event'),
    ('pathway_event', 'ref_date', 7, false, 'date', NULL, NULL, NULL, NULL, 'quarantine', 'Second date: original clock start (transfer_in), date offered (tci_offer), date declined (tci_declined)'),
    ('pathway_event', 'site_code', 8, false, NULL, NULL, NULL, NULL, 'site', 'quarantine', 'Site of the event'),
    ('pathway_event', 'treatment_function', 9, false, NULL, NULL, NULL, NULL, 'treatment_function', 'quarantine', 'Treatment function of the activity'),

    ('waiting_list_entry', 'ppid_issuer', 1, true, NULL, NULL, '^[A-Z0-9]{3,6}$', 'an ODS code of 3 to 6 capitals or digits', NULL, 'quarantine', 'Pathway: PPID issuer'),
    ('waiting_list_entry', 'ppid', 2, true, NULL, NULL, '^[!-~]{1,20}$', 'up to 20 printable characters without spaces', NULL, 'quarantine', 'Pathway: PPID'),
    ('waiting_list_entry', 'entry_ref', 3, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', 'The source system''s identifier of the entry'),
    ('waiting_list_entry', 'procedure_code', 4, false, NULL, NULL, '^[A-Z][0-9]{2}\.?[0-9]?$', 'an OPCS-4 code such as W37.1', NULL, 'quarantine', 'Intended procedure (OPCS-4)'),
    ('waiting_list_entry', 'procedure_description', 5, false, NULL, NULL, NULL, NULL, NULL, 'quarantine', 'Intended procedure in words'),
    ('waiting_list_entry', 'intended_management', 6, true, NULL, '{1,2,3,4,5}', NULL, NULL, NULL, 'quarantine', 'INTENDED MANAGEMENT: 1 inpatient, 2 day case, 3 regular day, 4 regular night, 5 two or more nights'),
    ('waiting_list_entry', 'clinical_priority', 7, false, 'ptl.clinical_priority', NULL, NULL, NULL, NULL, 'quarantine', 'Surgical priority P1a to P6'),
    ('waiting_list_entry', 'decision_to_admit', 8, true, 'date', NULL, NULL, NULL, NULL, 'quarantine', 'Date of the decision to admit'),
    ('waiting_list_entry', 'expected_duration_minutes', 9, false, 'integer', NULL, NULL, NULL, NULL, 'quarantine', 'Expected theatre time in minutes (1 to 1440)'),
    ('waiting_list_entry', 'consultant_code', 10, false, NULL, NULL, NULL, NULL, NULL, 'quarantine', 'Consultant who will operate'),
    ('waiting_list_entry', 'tci_date', 11, false, 'date', NULL, NULL, NULL, NULL, 'quarantine', 'Admission date booked'),
    ('waiting_list_entry', 'removed_date', 12, false, 'date', NULL, NULL, NULL, NULL, 'quarantine', 'Date the entry left the list'),
    ('waiting_list_entry', 'removal_reason', 13, false, NULL, '{admitted,no_longer_required,died,transferred,other}', NULL, NULL, NULL, 'quarantine', 'Why the entry left the list'),
    ('waiting_list_entry', 'site_code', 14, false, NULL, NULL, NULL, NULL, 'site', 'quarantine', 'Site where the admission is planned');

-- ---------------------------------------------------------------------------
-- Quarantine, warnings and per-batch counts
-- ---------------------------------------------------------------------------
CREATE TABLE ptl.rejected_row (
    rejected_id     bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    batch_id        bigint NOT NULL REFERENCES ptl.batch (batch_id),
    extract         text NOT NULL,
    row_in_extract  bigint NOT NULL,
    column_name     text,
    value           text,
    reason          text NOT NULL CHECK (reason IN (
                        'missing_required', 'invalid_date', 'invalid_number', 'invalid_code',
                        'implausible_date', 'inconsistent', 'out_of_range',
                        'duplicate_in_extract', 'unknown_parent', 'parent_rejected',
                        -- refused by ptl.stage_extract before staging
                        'unterminated_quote', 'stray_quote', 'nul_byte', 'invalid_encoding',
                        'field_too_long', 'wrong_column_count', 'formula_injection')),
    sqlstate        text NOT NULL CHECK (sqlstate ~ '^[0-9A-Z]{5}$'),
    message         text NOT NULL,
    raw             jsonb NOT NULL,
    rejected_at     timestamptz NOT NULL DEFAULT now(),
    retried_in      bigint REFERENCES ptl.batch (batch_id),
    UNIQUE (batch_id, extract, row_in_extract)
);
CREATE INDEX rejected_row_reason_idx ON ptl.rejected_row (batch_id, extract, reason);
COMMENT ON TABLE ptl.rejected_row IS
    'Quarantine: every staged row ptl.load() could not load, with the whole raw row and why. Fix at source and resend; nothing here is lost.';
COMMENT ON COLUMN ptl.rejected_row.rejected_id IS 'Key';
COMMENT ON COLUMN ptl.rejected_row.batch_id IS 'Batch the row came in';
COMMENT ON COLUMN ptl.rejected_row.extract IS 'Extract the row came in (patient, pathway, pathway_event, waiting_list_entry)';
COMMENT ON COLUMN ptl.rejected_row.row_in_extract IS 'Position of the row in its extract as delivered (1 = first data row)';
COMMENT ON COLUMN ptl.rejected_row.column_name IS 'The column at fault (NULL when the fault is the whole row)';
COMMENT ON COLUMN ptl.rejected_row.value IS 'The value at fault, exactly as delivered';
COMMENT ON COLUMN ptl.rejected_row.reason IS
    'Reason code: missing_required, invalid_date, invalid_number, invalid_code, implausible_date, inconsistent, out_of_range, duplicate_in_extract, unknown_parent, parent_rejected; and from ptl.stage_extract: unterminated_quote, stray_quote, nul_byte, invalid_encoding, field_too_long, wrong_column_count, formula_injection';
COMMENT ON COLUMN ptl.rejected_row.sqlstate IS 'SQLSTATE of the fault (the one the type''s parser or the constraint would raise)';
COMMENT ON COLUMN ptl.rejected_row.message IS 'What is wrong, in words a data manager can act on';
COMMENT ON COLUMN ptl.rejected_row.raw IS 'The whole staged row, as delivered';
COMMENT ON COLUMN ptl.rejected_row.rejected_at IS 'When it was quarantined';
COMMENT ON COLUMN ptl.rejected_row.retried_in IS 'The batch ptl.retry_rejected() staged the row again in, once it was retried';

CREATE TABLE ptl.load_warning (
    warning_id      bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    batch_id        bigint NOT NULL REFERENCES ptl.batch (batch_id),
    extract         text NOT NULL,
    row_in_extract  bigint NOT NULL,
    column_name     text NOT NULL,
    value           text,
    reason          text NOT NULL,
    sqlstate        text NOT NULL,
    message         text NOT NULL,
    warned_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX load_warning_batch_idx ON ptl.load_warning (batch_id, extract, reason);
COMMENT ON TABLE ptl.load_warning IS
    'Rows that loaded without one invalid value (e.g. an invalid NHS number: the patient loads, the number is kept as recorded)';
COMMENT ON COLUMN ptl.load_warning.warning_id IS 'Key';
COMMENT ON COLUMN ptl.load_warning.batch_id IS 'Batch the row came in';
COMMENT ON COLUMN ptl.load_warning.extract IS 'Extract the row came in';
COMMENT ON COLUMN ptl.load_warning.row_in_extract IS 'Position of the row in its extract as delivered';
COMMENT ON COLUMN ptl.load_warning.column_name IS 'The column whose value was left out';
COMMENT ON COLUMN ptl.load_warning.value IS 'The value as delivered';
COMMENT ON COLUMN ptl.load_warning.reason IS 'Reason code, e.g. invalid_nhs_number';
COMMENT ON COLUMN ptl.load_warning.sqlstate IS 'SQLSTATE the type''s parser gives for the value';
COMMENT ON COLUMN ptl.load_warning.message IS 'What is wrong with the value';
COMMENT ON COLUMN ptl.load_warning.warned_at IS 'When it was logged';

CREATE TABLE ptl.batch_extract (
    batch_id        bigint NOT NULL REFERENCES ptl.batch (batch_id),
    extract         text NOT NULL,
    rows_read       bigint NOT NULL,
    rows_loaded     bigint NOT NULL,
    rows_updated    bigint NOT NULL,
    rows_unchanged  bigint NOT NULL,
    rows_quarantined bigint NOT NULL,
    rows_with_warnings bigint NOT NULL,
    load_ms         numeric NOT NULL,
    PRIMARY KEY (batch_id, extract),
    CONSTRAINT batch_extract_nothing_lost
        CHECK (rows_read = rows_loaded + rows_updated + rows_quarantined),
    CHECK (rows_unchanged <= rows_updated)
);
COMMENT ON TABLE ptl.batch_extract IS
    'What ptl.load() did with each extract of a batch. Nothing is lost: rows_read = rows_loaded + rows_updated + rows_quarantined (a constraint).';
COMMENT ON COLUMN ptl.batch_extract.batch_id IS 'Batch';
COMMENT ON COLUMN ptl.batch_extract.extract IS 'Extract';
COMMENT ON COLUMN ptl.batch_extract.rows_read IS 'Rows staged';
COMMENT ON COLUMN ptl.batch_extract.rows_loaded IS 'Rows that created a new record';
COMMENT ON COLUMN ptl.batch_extract.rows_updated IS 'Rows whose record already existed (changed or re-sent unchanged)';
COMMENT ON COLUMN ptl.batch_extract.rows_unchanged IS 'Of rows_updated, those identical to the record already held (nothing was written)';
COMMENT ON COLUMN ptl.batch_extract.rows_quarantined IS 'Rows put in ptl.rejected_row';
COMMENT ON COLUMN ptl.batch_extract.rows_with_warnings IS 'Loaded rows with a value left out (see ptl.load_warning)';
COMMENT ON COLUMN ptl.batch_extract.load_ms IS 'Milliseconds the extract took to load';

SELECT pg_catalog.pg_extension_config_dump('ptl.rejected_row', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.rejected_row_rejected_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.load_warning', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.load_warning_warning_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.batch_extract', '');

-- ---------------------------------------------------------------------------
-- Column checks, generated from ptl.extract_column
-- ---------------------------------------------------------------------------

-- The value as the loader sees it: trimmed, and empty means missing.  NULL
-- in gives NULL out, but it is not declared STRICT: a strict SQL function
-- around nullif() is not inlined, and the loader calls this for every value.
CREATE FUNCTION ptl.extract_value(raw text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN nullif(pg_catalog.btrim(raw), '');
COMMENT ON FUNCTION ptl.extract_value(text) IS
    'An extract value as the loader reads it: surrounding spaces removed, empty taken as missing';

-- SQL expression (over staged row alias s) that is true when the column's
-- value breaks its rule in ptl.extract_column.
CREATE FUNCTION ptl.extract_column_fails(c ptl.extract_column) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    v text := format('ptl.extract_value(s.%I)', c.column_name);
    tests text[] := '{}';
    codes text[];
BEGIN
    IF c.value_type IS NOT NULL AND c.value_type <> 'text'::regtype THEN
        tests := tests || format('NOT (ptl.check_input(%s, %L::regtype) IS NULL)', v, c.value_type::text);
    END IF;
    IF c.allowed IS NOT NULL THEN
        tests := tests || format('%s <> ALL (%L::text[])', v, c.allowed);
    END IF;
    IF c.pattern IS NOT NULL THEN
        tests := tests || format('%s !~ %L', v, c.pattern);
    END IF;
    IF c.code_table IS NOT NULL THEN
        EXECUTE format('SELECT coalesce(array_agg(%I ORDER BY 1), ''{}'') FROM ptl.%I',
                       CASE c.code_table WHEN 'site' THEN 'site_code'
                                         WHEN 'commissioner' THEN 'commissioner_code'
                                         ELSE 'tfc' END,
                       c.code_table)
            INTO codes;
        -- A constant array: PostgreSQL hashes it, so the test costs the same
        -- whatever the size of the code table.
        tests := tests || format('%s <> ALL (%L::text[])', v, codes);
    END IF;
    IF cardinality(tests) = 0 AND NOT c.required THEN
        RETURN NULL;
    END IF;
    -- A missing value fails only a required column; the value tests apply
    -- to values that are there (x <> ALL of an empty array would be true
    -- even for NULL).
    RETURN format(CASE WHEN c.required THEN '(%1$s IS NULL%2$s)'
                       ELSE '(%1$s IS NOT NULL AND (%3$s))' END,
                  v,
                  CASE WHEN cardinality(tests) > 0 THEN ' OR ' || array_to_string(tests, ' OR ') ELSE '' END,
                  array_to_string(tests, ' OR '));
END
$$;
COMMENT ON FUNCTION ptl.extract_column_fails(ptl.extract_column) IS
    'Internal to ptl.load(): SQL test, over staged row s, that a column breaks its rule in ptl.extract_column';

-- Why one value breaks its column's rule: reason, SQLSTATE and message.
-- Called only for rows that failed, so it may take its time.
CREATE FUNCTION ptl.extract_value_problem(c ptl.extract_column, raw text,
                                          OUT reason text, OUT sqlstate text, OUT message text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    v text := ptl.extract_value(raw);
    p ptl.input_problem;
BEGIN
    IF v IS NULL THEN
        IF c.required THEN
            reason := 'missing_required';
            sqlstate := '23502';
            message := format('%s is empty, but every %s row needs it',
                              c.column_name, replace(c.extract, '_', ' '));
        END IF;
        RETURN;
    END IF;
    IF c.value_type IS NOT NULL AND c.value_type <> 'text'::regtype THEN
        p := ptl.check_input(v, c.value_type);
        IF p.sqlstate IS NOT NULL THEN
            reason := CASE WHEN c.value_type = 'date'::regtype THEN 'invalid_date'
                           WHEN c.value_type IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype)
                                THEN 'invalid_number'
                           ELSE 'invalid_code' END;
            sqlstate := p.sqlstate;
            message := format('%s %L is not a valid %s: %s', c.column_name, raw,
                              replace(format_type(c.value_type, NULL), 'ptl.', ''),
                              coalesce(p.detail, p.message));
            RETURN;
        END IF;
    END IF;
    IF c.allowed IS NOT NULL AND v <> ALL (c.allowed) THEN
        reason := 'invalid_code';
        sqlstate := '22P02';
        message := format('%s %L is not one of the allowed codes (%s)', c.column_name, raw,
                          array_to_string(c.allowed, ', '));
    ELSIF c.pattern IS NOT NULL AND v !~ c.pattern THEN
        reason := 'invalid_code';
        sqlstate := '22P02';
        message := format('%s %L is not %s', c.column_name, raw, c.pattern_meaning);
    ELSIF c.code_table = 'site' AND NOT EXISTS (SELECT 1 FROM ptl.site WHERE site_code = v) THEN
        reason := 'invalid_code';
        sqlstate := '23503';
        message := format('%s %L is not a site in ptl.site', c.column_name, raw);
    ELSIF c.code_table = 'commissioner' AND NOT EXISTS (SELECT 1 FROM ptl.commissioner WHERE commissioner_code = v) THEN
        reason := 'invalid_code';
        sqlstate := '23503';
        message := format('%s %L is not a commissioner in ptl.commissioner', c.column_name, raw);
    ELSIF c.code_table = 'treatment_function' AND NOT EXISTS (SELECT 1 FROM ptl.treatment_function WHERE tfc = v) THEN
        reason := 'invalid_code';
        sqlstate := '23503';
        message := format('%s %L is not a treatment function code in ptl.treatment_function', c.column_name, raw);
    END IF;
END
$$;
COMMENT ON FUNCTION ptl.extract_value_problem(ptl.extract_column, text) IS
    'Internal to ptl.load(): the reason code, SQLSTATE and message for a value that breaks its column''s rule (all NULL when it does not)';

-- Stage 1 of loading one extract: copy the batch's staged rows into a work
-- table with their position and, for rows that break a column rule, the
-- first failing column.  Returns the number of rows read.
CREATE FUNCTION ptl.load_check_columns(batch bigint, extract_name text) RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    fails text := '';
    warns text := '';
    c ptl.extract_column;
    test text;
    n bigint;
BEGIN
    FOR c IN SELECT * FROM ptl.extract_column WHERE extract = extract_name ORDER BY ordinal LOOP
        test := ptl.extract_column_fails(c);
        CONTINUE WHEN test IS NULL;
        IF c.when_invalid = 'quarantine' THEN
            fails := fails || format(' WHEN %s THEN %L', test, c.column_name);
        ELSE
            warns := warns || format(' WHEN %s THEN %L', test, c.column_name);
        END IF;
    END LOOP;
    IF to_regclass('pg_temp.ptl_load_' || extract_name) IS NOT NULL THEN
        EXECUTE format('DROP TABLE pg_temp.%I', 'ptl_load_' || extract_name);
    END IF;
    EXECUTE format($q$
        CREATE TEMP TABLE %I ON COMMIT DROP AS
        SELECT s.*,
               coalesce(s.source_row, row_number() OVER (ORDER BY s.row_no)) AS row_in_extract,
               CASE %s END AS bad_column,
               CASE %s END AS warn_column,
               NULL::text AS reason,
               NULL::text AS rule_column,
               NULL::text AS bad_sqlstate,
               NULL::text AS bad_message
        FROM ptl_stage.%I s
        WHERE s.batch_id = $1$q$,
        'ptl_load_' || extract_name,
        CASE WHEN fails = '' THEN 'WHEN false THEN NULL' ELSE fails END,
        CASE WHEN warns = '' THEN 'WHEN false THEN NULL' ELSE warns END,
        extract_name)
    USING batch;
    GET DIAGNOSTICS n = ROW_COUNT;
    EXECUTE format('ANALYZE pg_temp.%I', 'ptl_load_' || extract_name);
    RETURN n;
END
$$;
COMMENT ON FUNCTION ptl.load_check_columns(bigint, text) IS
    'Internal to ptl.load(): stages one extract of a batch in a work table, marking the first column of each row that breaks its rule';

-- Stage 2 helper: quarantine rows (still good so far) that repeat a key
-- later in the same extract.  The last row is the source's latest word; if
-- it is itself bad, nothing of that key loads from this batch.
CREATE FUNCTION ptl.load_mark_repeats(extract_name text, key_columns text[], key_words text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    keys text := (SELECT string_agg(format('ptl.extract_value(%I)', k), ', ') FROM unnest(key_columns) k);
BEGIN
    -- Group first (a hash, no sort of the whole extract), then touch only
    -- the rows of keys that repeat.
    EXECUTE format($q$
        UPDATE pg_temp.%1$I w
        SET reason = 'duplicate_in_extract', bad_sqlstate = '23505',
            bad_message = format(%2$L, d.last_row)
        FROM (SELECT ROW(%3$s) AS key, max(row_in_extract) AS last_row
              FROM pg_temp.%1$I
              GROUP BY %3$s
              HAVING count(*) > 1) d
        WHERE ROW(%4$s) = d.key
          AND w.row_in_extract < d.last_row
          AND w.bad_column IS NULL$q$,
        'ptl_load_' || extract_name,
        -- the message as a quoted literal: key_words is text, not SQL
        format('the same %s appears again at row %%s of this extract; only the last row counts',
               replace(key_words, '%', '%%')),
        keys,
        (SELECT string_agg(format('ptl.extract_value(w.%I)', k), ', ') FROM unnest(key_columns) k));
END
$$;
COMMENT ON FUNCTION ptl.load_mark_repeats(text, text[], text) IS
    'Internal to ptl.load(): marks rows whose key appears again later in the same extract';

-- Stage 2 helper for extracts whose rows belong to a pathway (events,
-- waiting-list entries): the pathway must exist at this provider.
CREATE FUNCTION ptl.load_mark_orphans(extract_name text, batch bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    provider text := (SELECT b.org_code FROM ptl.batch b WHERE b.batch_id = load_mark_orphans.batch);
BEGIN
    EXECUTE format($q$
        UPDATE pg_temp.%I w
        SET reason = CASE WHEN o.rejected_at IS NOT NULL THEN 'parent_rejected' ELSE 'unknown_parent' END,
            bad_sqlstate = '23503', rule_column = 'ppid',
            bad_message = CASE
                WHEN o.rejected_at IS NOT NULL THEN
                    format('its pathway (PPID %%s issued by %%s) was quarantined at row %%s of this batch''s pathway extract',
                           o.ppid, o.ppid_issuer, o.rejected_at)
                ELSE
                    format('no pathway with PPID %%s issued by %%s is known at %%s; send the pathway row first',
                           o.ppid, o.ppid_issuer, $2)
                END
        FROM (SELECT x.row_no, x.ppid, x.ppid_issuer,
                     (SELECT max(r.row_in_extract) FROM ptl.rejected_row r
                      WHERE r.batch_id = $1 AND r.extract = 'pathway'
                        AND ptl.extract_value(r.raw ->> 'ppid') = x.ppid
                        AND ptl.extract_value(r.raw ->> 'ppid_issuer') = x.ppid_issuer) AS rejected_at
              FROM (SELECT v.row_no, ptl.extract_value(v.ppid) AS ppid,
                           ptl.extract_value(v.ppid_issuer) AS ppid_issuer
                    FROM pg_temp.%I v
                    WHERE v.bad_column IS NULL AND v.reason IS NULL) x
              WHERE NOT EXISTS (SELECT 1 FROM ptl.pathway p
                                WHERE p.provider_org = $2
                                  AND p.ppid_issuer = x.ppid_issuer
                                  AND p.ppid = x.ppid)) o
        WHERE w.row_no = o.row_no$q$,
        'ptl_load_' || extract_name, 'ptl_load_' || extract_name)
    USING batch, provider;
END
$$;
COMMENT ON FUNCTION ptl.load_mark_orphans(text, bigint) IS
    'Internal to ptl.load(): marks event or waiting-list rows whose pathway is not known at the batch''s provider';

-- Stage 3: quarantine the rows marked bad, log the warnings, and clear the
-- batch's rows from staging.
CREATE FUNCTION ptl.load_quarantine(batch bigint, extract_name text,
                                    OUT quarantined bigint, OUT warned bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    work text := 'ptl_load_' || extract_name;
    n bigint;
BEGIN
    -- Faults of one column: reason and message come from the column's rule.
    EXECUTE format($q$
        INSERT INTO ptl.rejected_row (batch_id, extract, row_in_extract, column_name, value,
                                      reason, sqlstate, message, raw)
        SELECT $1, $2, w.row_in_extract, w.bad_column, r.value,
               p.reason, p.sqlstate, p.message, r.raw
        FROM pg_temp.%I w
        CROSS JOIN LATERAL (
            SELECT to_jsonb(w) ->> w.bad_column AS value,
                   to_jsonb(w) - '{bad_column,warn_column,reason,rule_column,bad_sqlstate,bad_message,row_in_extract,batch_id,row_no,source_row}'::text[] AS raw) r
        JOIN ptl.extract_column c ON c.extract = $2 AND c.column_name = w.bad_column
        CROSS JOIN LATERAL ptl.extract_value_problem(c, r.value) p
        WHERE w.bad_column IS NOT NULL$q$, work)
    USING batch, extract_name;
    GET DIAGNOSTICS quarantined = ROW_COUNT;

    -- Faults found by the extract's row rules carry their own message.
    EXECUTE format($q$
        INSERT INTO ptl.rejected_row (batch_id, extract, row_in_extract, column_name, value,
                                      reason, sqlstate, message, raw)
        SELECT $1, $2, w.row_in_extract, w.rule_column, to_jsonb(w) ->> w.rule_column,
               w.reason, w.bad_sqlstate, w.bad_message,
               to_jsonb(w) - '{bad_column,warn_column,reason,rule_column,bad_sqlstate,bad_message,row_in_extract,batch_id,row_no,source_row}'::text[]
        FROM pg_temp.%I w
        WHERE w.bad_column IS NULL AND w.reason IS NOT NULL$q$, work)
    USING batch, extract_name;
    GET DIAGNOSTICS n = ROW_COUNT;
    quarantined := quarantined + n;

    -- Values left out of rows that loaded.
    EXECUTE format($q$
        INSERT INTO ptl.load_warning (batch_id, extract, row_in_extract, column_name, value,
                                      reason, sqlstate, message)
        SELECT $1, $2, w.row_in_extract, w.warn_column, r.value,
               'invalid_' || w.warn_column, p.sqlstate,
               format('%%s %%L is not valid and was left out (kept as recorded): %%s',
                      w.warn_column, r.value, coalesce(p.detail, p.message))
        FROM pg_temp.%I w
        CROSS JOIN LATERAL (SELECT to_jsonb(w) ->> w.warn_column AS value) r
        JOIN ptl.extract_column c ON c.extract = $2 AND c.column_name = w.warn_column
        CROSS JOIN LATERAL ptl.check_input(ptl.extract_value(r.value), c.value_type) p
        WHERE w.warn_column IS NOT NULL AND w.bad_column IS NULL AND w.reason IS NULL$q$, work)
    USING batch, extract_name;
    GET DIAGNOSTICS warned = ROW_COUNT;

    EXECUTE format('DELETE FROM ptl_stage.%I WHERE batch_id = $1', extract_name) USING batch;
END
$$;
COMMENT ON FUNCTION ptl.load_quarantine(bigint, text) IS
    'Internal to ptl.load(): quarantines an extract''s bad rows with their reasons, logs warnings and clears the batch from staging';

-- ---------------------------------------------------------------------------
-- One function per extract: its row rules (stage 2) and its upsert.  Each
-- returns (loaded, changed): new records, and existing records whose values
-- changed; re-sent identical rows write nothing.
-- ---------------------------------------------------------------------------

CREATE FUNCTION ptl.load_patients(batch bigint, OUT loaded bigint, OUT changed bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
BEGIN
    PERFORM ptl.load_mark_repeats('patient', '{local_patient_id}', 'patient (local_patient_id)');

    -- Dates must be possible for a living or dead person seen by the NHS.
    UPDATE pg_temp.ptl_load_patient w
    SET reason = 'implausible_date', bad_sqlstate = '23514',
        rule_column = CASE WHEN d.dob > b.opened_at::date OR d.dob < date '1880-01-01'
                           THEN 'date_of_birth' ELSE 'date_of_death' END,
        bad_message = CASE
            WHEN d.dob > b.opened_at::date THEN format('date_of_birth %s is in the future (after the batch was opened)', d.dob)
            WHEN d.dob < date '1880-01-01' THEN format('date_of_birth %s is before 1880', d.dob)
            WHEN d.dod < d.dob THEN format('date_of_death %s is before date_of_birth %s', d.dod, d.dob)
            ELSE format('date_of_death %s is in the future (after the batch was opened)', d.dod)
        END
    FROM (SELECT row_no,
                 ptl.extract_value(date_of_birth)::date AS dob,
                 ptl.extract_value(date_of_death)::date AS dod
          FROM pg_temp.ptl_load_patient
          WHERE bad_column IS NULL AND reason IS NULL
            AND (date_of_birth IS NOT NULL OR date_of_death IS NOT NULL)) d
    WHERE w.row_no = d.row_no
      AND (d.dob > b.opened_at::date OR d.dob < date '1880-01-01'
           OR d.dod < d.dob OR d.dod > b.opened_at::date);

    WITH upserted AS (
        INSERT INTO ptl.patient AS t
            (org_code, source_system, local_patient_id, nhs_number, nhs_number_as_recorded,
             given_name, family_name, date_of_birth, date_of_death, sex, postcode, address_line_1,
             ethnic_category, lsoa_code, gp_practice_code, commissioner_code, batch_id)
        SELECT b.org_code, b.source_system, ptl.extract_value(w.local_patient_id),
               CASE WHEN w.warn_column IS NULL THEN ptl.extract_value(w.nhs_number)::ptl.nhs_number END,
               ptl.extract_value(w.nhs_number),
               ptl.extract_value(w.given_name), ptl.extract_value(w.family_name),
               ptl.extract_value(w.date_of_birth)::date, ptl.extract_value(w.date_of_death)::date,
               ptl.extract_value(w.sex),
               -- Postcodes are stored upper case with one space before the inward code.
               regexp_replace(upper(replace(ptl.extract_value(w.postcode), ' ', '')), '^(.+)(...)$', '\1 \2'),
               ptl.extract_value(w.address_line_1), ptl.extract_value(w.ethnic_category),
               ptl.extract_value(w.lsoa_code), ptl.extract_value(w.gp_practice_code),
               ptl.extract_value(w.commissioner_code), batch
        FROM pg_temp.ptl_load_patient w
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (org_code, source_system, local_patient_id) DO UPDATE
        SET nhs_number = excluded.nhs_number, nhs_number_as_recorded = excluded.nhs_number_as_recorded,
            given_name = excluded.given_name, family_name = excluded.family_name,
            date_of_birth = excluded.date_of_birth, date_of_death = excluded.date_of_death,
            sex = excluded.sex, postcode = excluded.postcode, address_line_1 = excluded.address_line_1,
            ethnic_category = excluded.ethnic_category, lsoa_code = excluded.lsoa_code,
            gp_practice_code = excluded.gp_practice_code, commissioner_code = excluded.commissioner_code,
            batch_id = excluded.batch_id, updated_at = now()
        WHERE (t.nhs_number, t.nhs_number_as_recorded, t.given_name, t.family_name, t.date_of_birth,
               t.date_of_death, t.sex, t.postcode, t.address_line_1, t.ethnic_category, t.lsoa_code,
               t.gp_practice_code, t.commissioner_code)
              IS DISTINCT FROM
              (excluded.nhs_number, excluded.nhs_number_as_recorded, excluded.given_name,
               excluded.family_name, excluded.date_of_birth, excluded.date_of_death, excluded.sex,
               excluded.postcode, excluded.address_line_1, excluded.ethnic_category,
               excluded.lsoa_code, excluded.gp_practice_code, excluded.commissioner_code)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
    INTO loaded, changed
    FROM upserted;
END
$$;
COMMENT ON FUNCTION ptl.load_patients(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s patient extract';

CREATE FUNCTION ptl.load_pathways(batch bigint, OUT loaded bigint, OUT changed bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
BEGIN
    PERFORM ptl.load_mark_repeats('pathway', '{ppid_issuer,ppid}', 'pathway (ppid_issuer, ppid)');

    UPDATE pg_temp.ptl_load_pathway w
    SET reason = 'implausible_date', bad_sqlstate = '23514', rule_column = 'referral_received',
        bad_message = format('referral_received %s is %s', d.received,
                             CASE WHEN d.received < date '1980-01-01' THEN 'before 1980'
                                  ELSE 'in the future (after the batch was opened)' END)
    FROM (SELECT row_no, ptl.extract_value(referral_received)::date AS received
          FROM pg_temp.ptl_load_pathway
          WHERE bad_column IS NULL AND reason IS NULL) d
    WHERE w.row_no = d.row_no
      AND (d.received > b.opened_at::date OR d.received < date '1980-01-01');

    -- The patient must be known to the same system.
    UPDATE pg_temp.ptl_load_pathway w
    SET reason = CASE WHEN r.row_in_extract IS NOT NULL THEN 'parent_rejected' ELSE 'unknown_parent' END,
        bad_sqlstate = '23503', rule_column = 'local_patient_id',
        bad_message = CASE
            WHEN r.row_in_extract IS NOT NULL THEN
                format('its patient (local_patient_id %s) was quarantined at row %s of this batch''s patient extract',
                       ptl.extract_value(w.local_patient_id), r.row_in_extract)
            ELSE format('no patient with local_patient_id %s is known in %s at %s; send the patient row first',
                        ptl.extract_value(w.local_patient_id), b.source_system, b.org_code)
            END
    FROM pg_temp.ptl_load_pathway o
    LEFT JOIN (SELECT ptl.extract_value(raw ->> 'local_patient_id') AS local_patient_id,
                      max(row_in_extract) AS row_in_extract
               FROM ptl.rejected_row
               WHERE batch_id = batch AND extract = 'patient'
               GROUP BY 1) r ON r.local_patient_id = ptl.extract_value(o.local_patient_id)
    WHERE w.row_no = o.row_no
      AND o.bad_column IS NULL AND o.reason IS NULL
      AND NOT EXISTS (SELECT 1 FROM ptl.patient p
                      WHERE p.org_code = b.org_code AND p.source_system = b.source_system
                        AND p.local_patient_id = ptl.extract_value(o.local_patient_id));

    WITH upserted AS (
        INSERT INTO ptl.pathway AS t
            (patient_id, provider_org, site_code, ppid, ppid_issuer, ubrn, treatment_function,
             referral_priority, referral_received, commissioner_code, consultant_code, batch_id)
        SELECT p.patient_id, b.org_code, coalesce(ptl.extract_value(w.site_code), b.site_code),
               ptl.extract_value(w.ppid), ptl.extract_value(w.ppid_issuer), ptl.extract_value(w.ubrn),
               ptl.extract_value(w.treatment_function),
               CASE ptl.extract_value(w.referral_priority)
                   WHEN '1' THEN 'routine' WHEN '2' THEN 'urgent' WHEN '3' THEN 'two_week_wait'
                   ELSE coalesce(ptl.extract_value(w.referral_priority), 'routine')
               END::ptl.referral_priority,
               ptl.extract_value(w.referral_received)::date,
               ptl.extract_value(w.commissioner_code), ptl.extract_value(w.consultant_code), batch
        FROM pg_temp.ptl_load_pathway w
        JOIN ptl.patient p ON p.org_code = b.org_code AND p.source_system = b.source_system
                          AND p.local_patient_id = ptl.extract_value(w.local_patient_id)
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (provider_org, ppid_issuer, ppid) DO UPDATE
        SET patient_id = excluded.patient_id, site_code = excluded.site_code, ubrn = excluded.ubrn,
            treatment_function = excluded.treatment_function,
            referral_priority = excluded.referral_priority,
            referral_received = excluded.referral_received,
            commissioner_code = excluded.commissioner_code, consultant_code = excluded.consultant_code,
            batch_id = excluded.batch_id, updated_at = now()
        WHERE (t.patient_id, t.site_code, t.ubrn, t.treatment_function, t.referral_priority,
               t.referral_received, t.commissioner_code, t.consultant_code)
              IS DISTINCT FROM
              (excluded.patient_id, excluded.site_code, excluded.ubrn, excluded.treatment_function,
               excluded.referral_priority, excluded.referral_received, excluded.commissioner_code,
               excluded.consultant_code)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
    INTO loaded, changed
    FROM upserted;

    -- A pathway the source now files under another patient takes its
    -- events and waiting-list entries along (their patient_id is a copy).
    UPDATE ptl.pathway_event e SET patient_id = p.patient_id
    FROM ptl.pathway p
    WHERE p.batch_id = load_pathways.batch AND e.pathway_id = p.pathway_id
      AND e.patient_id <> p.patient_id;
    UPDATE ptl.waiting_list_entry e SET patient_id = p.patient_id
    FROM ptl.pathway p
    WHERE p.batch_id = load_pathways.batch AND e.pathway_id = p.pathway_id
      AND e.patient_id <> p.patient_id;
END
$$;
COMMENT ON FUNCTION ptl.load_pathways(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s pathway extract';

CREATE FUNCTION ptl.load_events(batch bigint, OUT loaded bigint, OUT changed bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
BEGIN
    PERFORM ptl.load_mark_repeats('pathway_event', '{ppid_issuer,ppid,event_ref}',
                                  'event (ppid_issuer, ppid, event_ref)');

    -- Kinds whose meaning needs a second date (rtt-rules.md 9.1), and dates
    -- before any RTT pathway could have started.
    UPDATE pg_temp.ptl_load_pathway_event w
    SET reason = CASE WHEN d.event_date < date '1980-01-01' OR d.ref_date < date '1980-01-01'
                      THEN 'implausible_date' ELSE 'missing_required' END,
        bad_sqlstate = CASE WHEN d.event_date < date '1980-01-01' OR d.ref_date < date '1980-01-01'
                            THEN '23514' ELSE '23502' END,
        rule_column = CASE WHEN d.event_date < date '1980-01-01' THEN 'event_date' ELSE 'ref_date' END,
        bad_message = CASE
            WHEN d.event_date < date '1980-01-01' THEN format('event_date %s is before 1980', d.event_date)
            WHEN d.ref_date < date '1980-01-01' THEN format('ref_date %s is before 1980', d.ref_date)
            ELSE format('ref_date is empty, but a %s event needs it (%s)', d.kind,
                        CASE d.kind WHEN 'transfer_in' THEN 'the original clock start'
                                    WHEN 'tci_offer' THEN 'the admission date offered'
                                    ELSE 'the date the offer was declined' END)
            END
    FROM (SELECT row_no, ptl.extract_value(event_date)::date AS event_date,
                 ptl.extract_value(ref_date)::date AS ref_date,
                 ptl.extract_value(kind)::ptl.event_kind AS kind
          FROM pg_temp.ptl_load_pathway_event
          WHERE bad_column IS NULL AND reason IS NULL) d
    WHERE w.row_no = d.row_no
      AND (d.event_date < date '1980-01-01' OR d.ref_date < date '1980-01-01'
           OR (d.ref_date IS NULL AND d.kind IN ('transfer_in', 'tci_offer', 'tci_declined')));

    PERFORM ptl.load_mark_orphans('pathway_event', batch);

    WITH upserted AS (
        INSERT INTO ptl.pathway_event AS t
            (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, ref_date,
             site_code, treatment_function, batch_id)
        SELECT p.pathway_id, p.patient_id, ptl.extract_value(w.event_ref),
               ptl.extract_value(w.event_date)::date, ptl.extract_value(w.kind)::ptl.event_kind,
               ptl.extract_value(w.rtt_status)::ptl.rtt_status, ptl.extract_value(w.ref_date)::date,
               coalesce(ptl.extract_value(w.site_code), b.site_code),
               ptl.extract_value(w.treatment_function), batch
        FROM pg_temp.ptl_load_pathway_event w
        JOIN ptl.pathway p ON p.provider_org = b.org_code
                          AND p.ppid_issuer = ptl.extract_value(w.ppid_issuer)
                          AND p.ppid = ptl.extract_value(w.ppid)
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (pathway_id, event_ref) DO UPDATE
        SET event_date = excluded.event_date, kind = excluded.kind, rtt_status = excluded.rtt_status,
            ref_date = excluded.ref_date, site_code = excluded.site_code,
            treatment_function = excluded.treatment_function,
            batch_id = excluded.batch_id, updated_at = now()
        WHERE (t.event_date, t.kind, t.rtt_status, t.ref_date, t.site_code, t.treatment_function)
              IS DISTINCT FROM
              (excluded.event_date, excluded.kind, excluded.rtt_status, excluded.ref_date,
               excluded.site_code, excluded.treatment_function)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
    INTO loaded, changed
    FROM upserted;
END
$$;
COMMENT ON FUNCTION ptl.load_events(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s pathway event extract';

CREATE FUNCTION ptl.load_waiting_list(batch bigint, OUT loaded bigint, OUT changed bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
BEGIN
    PERFORM ptl.load_mark_repeats('waiting_list_entry', '{ppid_issuer,ppid,entry_ref}',
                                  'waiting-list entry (ppid_issuer, ppid, entry_ref)');

    UPDATE pg_temp.ptl_load_waiting_list_entry w
    SET reason = CASE WHEN d.minutes NOT BETWEEN 1 AND 1440 THEN 'out_of_range'
                      WHEN d.dta < date '1980-01-01' THEN 'implausible_date'
                      ELSE 'inconsistent' END,
        bad_sqlstate = CASE WHEN d.minutes NOT BETWEEN 1 AND 1440 THEN '22003' ELSE '23514' END,
        rule_column = CASE WHEN d.minutes NOT BETWEEN 1 AND 1440 THEN 'expected_duration_minutes'
                           WHEN d.dta < date '1980-01-01' THEN 'decision_to_admit'
                           WHEN d.removed IS NOT NULL AND d.removal_reason IS NULL THEN 'removal_reason'
                           ELSE 'removed_date' END,
        bad_message = CASE
            WHEN d.minutes NOT BETWEEN 1 AND 1440 THEN
                format('expected_duration_minutes %s is outside 1 to 1440 minutes', d.minutes)
            WHEN d.dta < date '1980-01-01' THEN format('decision_to_admit %s is before 1980', d.dta)
            WHEN (d.removed IS NULL) <> (d.removal_reason IS NULL) THEN
                'removed_date and removal_reason must be given together'
            ELSE format('removed_date %s is before decision_to_admit %s', d.removed, d.dta)
            END
    FROM (SELECT row_no, ptl.extract_value(decision_to_admit)::date AS dta,
                 ptl.extract_value(removed_date)::date AS removed,
                 ptl.extract_value(removal_reason) AS removal_reason,
                 ptl.extract_value(expected_duration_minutes)::int AS minutes
          FROM pg_temp.ptl_load_waiting_list_entry
          WHERE bad_column IS NULL AND reason IS NULL) d
    WHERE w.row_no = d.row_no
      AND (d.minutes NOT BETWEEN 1 AND 1440 OR d.dta < date '1980-01-01'
           OR (d.removed IS NULL) <> (d.removal_reason IS NULL) OR d.removed < d.dta);

    PERFORM ptl.load_mark_orphans('waiting_list_entry', batch);

    WITH upserted AS (
        INSERT INTO ptl.waiting_list_entry AS t
            (pathway_id, patient_id, entry_ref, procedure_code, procedure_description,
             intended_management, clinical_priority, decision_to_admit, expected_duration_minutes,
             consultant_code, tci_date, removed_date, removal_reason, site_code, batch_id)
        SELECT p.pathway_id, p.patient_id, ptl.extract_value(w.entry_ref),
               ptl.extract_value(w.procedure_code), ptl.extract_value(w.procedure_description),
               ptl.extract_value(w.intended_management),
               ptl.extract_value(w.clinical_priority)::ptl.clinical_priority,
               ptl.extract_value(w.decision_to_admit)::date,
               ptl.extract_value(w.expected_duration_minutes)::int,
               ptl.extract_value(w.consultant_code), ptl.extract_value(w.tci_date)::date,
               ptl.extract_value(w.removed_date)::date, ptl.extract_value(w.removal_reason),
               coalesce(ptl.extract_value(w.site_code), b.site_code), batch
        FROM pg_temp.ptl_load_waiting_list_entry w
        JOIN ptl.pathway p ON p.provider_org = b.org_code
                          AND p.ppid_issuer = ptl.extract_value(w.ppid_issuer)
                          AND p.ppid = ptl.extract_value(w.ppid)
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (pathway_id, entry_ref) DO UPDATE
        SET procedure_code = excluded.procedure_code,
            procedure_description = excluded.procedure_description,
            intended_management = excluded.intended_management,
            clinical_priority = excluded.clinical_priority,
            decision_to_admit = excluded.decision_to_admit,
            expected_duration_minutes = excluded.expected_duration_minutes,
            consultant_code = excluded.consultant_code, tci_date = excluded.tci_date,
            removed_date = excluded.removed_date, removal_reason = excluded.removal_reason,
            site_code = excluded.site_code, batch_id = excluded.batch_id, updated_at = now()
        WHERE (t.procedure_code, t.procedure_description, t.intended_management, t.clinical_priority,
               t.decision_to_admit, t.expected_duration_minutes, t.consultant_code, t.tci_date,
               t.removed_date, t.removal_reason, t.site_code)
              IS DISTINCT FROM
              (excluded.procedure_code, excluded.procedure_description, excluded.intended_management,
               excluded.clinical_priority, excluded.decision_to_admit,
               excluded.expected_duration_minutes, excluded.consultant_code, excluded.tci_date,
               excluded.removed_date, excluded.removal_reason, excluded.site_code)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
    INTO loaded, changed
    FROM upserted;
END
$$;
COMMENT ON FUNCTION ptl.load_waiting_list(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s admitted waiting-list extract';

-- ---------------------------------------------------------------------------
-- ptl.load(batch): the one call that loads a batch.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ptl.load(batch bigint DEFAULT ptl.current_batch())
RETURNS SETOF ptl.batch_extract
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch;
    extract_name text;
    started timestamptz;
    n_read bigint;
    n_loaded bigint;
    n_changed bigint;
    n_refused bigint;
    q record;
BEGIN
    IF batch IS NULL THEN
        RAISE EXCEPTION 'no batch to load'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass the batch number, or call ptl.open_batch() first in this session.';
    END IF;
    -- One load of a batch at a time; a second caller waits here.
    SELECT * INTO b FROM ptl.batch x WHERE x.batch_id = batch FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'batch % does not exist', batch
            USING ERRCODE = 'no_data_found', HINT = 'Open a batch with ptl.open_batch().';
    END IF;
    IF b.status = 'loaded' THEN
        RAISE EXCEPTION 'batch % was already loaded', batch
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('It was loaded at %s.', b.loaded_at),
                  HINT = 'Open a new batch for a new delivery; re-sending the same rows in a new batch changes nothing.';
    END IF;

    -- Parents before children: a row can only point at what is loaded.
    FOREACH extract_name IN ARRAY ARRAY['patient', 'pathway', 'pathway_event', 'waiting_list_entry'] LOOP
        started := clock_timestamp();
        -- Records ptl.stage_extract refused before staging count as read
        -- and quarantined (the batch had no rejected rows before its load).
        n_refused := (SELECT count(*) FROM ptl.rejected_row r
                      WHERE r.batch_id = load.batch AND r.extract = extract_name);
        n_read := ptl.load_check_columns(batch, extract_name) + n_refused;
        CASE extract_name
            WHEN 'patient' THEN SELECT * INTO n_loaded, n_changed FROM ptl.load_patients(batch);
            WHEN 'pathway' THEN SELECT * INTO n_loaded, n_changed FROM ptl.load_pathways(batch);
            WHEN 'pathway_event' THEN SELECT * INTO n_loaded, n_changed FROM ptl.load_events(batch);
            ELSE SELECT * INTO n_loaded, n_changed FROM ptl.load_waiting_list(batch);
        END CASE;
        SELECT * INTO q FROM ptl.load_quarantine(batch, extract_name);
        EXECUTE format('DROP TABLE pg_temp.%I', 'ptl_load_' || extract_name);
        -- The next extract joins this one: plan it for its new size.
        PERFORM ptl.analyze_if_grown(format('ptl.%I', extract_name)::regclass, n_loaded);

        -- The constraint batch_extract_nothing_lost refuses the row, and so
        -- the whole load, if any staged row is unaccounted for.
        INSERT INTO ptl.batch_extract
            (batch_id, extract, rows_read, rows_loaded, rows_updated, rows_unchanged,
             rows_quarantined, rows_with_warnings, load_ms)
        VALUES (batch, extract_name, n_read, n_loaded, n_read - n_loaded - q.quarantined - n_refused,
                n_read - n_loaded - q.quarantined - n_refused - n_changed, q.quarantined + n_refused, q.warned,
                round(extract(epoch FROM clock_timestamp() - started) * 1000, 1));
    END LOOP;

    UPDATE ptl.batch x SET status = 'loaded', loaded_at = now() WHERE x.batch_id = batch;
    RETURN QUERY SELECT * FROM ptl.batch_extract WHERE batch_id = batch ORDER BY
        array_position(ARRAY['patient', 'pathway', 'pathway_event', 'waiting_list_entry'], extract);
END
$$;
COMMENT ON FUNCTION ptl.load(bigint) IS
    'Loads a batch: parses and validates every staged row, upserts the good ones, quarantines the bad ones with reasons; returns what happened per extract';

-- ---------------------------------------------------------------------------
-- What a data manager looks at after a load.
-- ---------------------------------------------------------------------------
CREATE VIEW ptl.load_summary AS
SELECT b.batch_id, b.org_code, b.site_code, b.source_system, b.label, b.loaded_at,
       e.extract, e.rows_read, e.rows_loaded, e.rows_updated, e.rows_unchanged,
       e.rows_quarantined, e.rows_with_warnings, e.load_ms,
       e.rows_read = e.rows_loaded + e.rows_updated + e.rows_quarantined AS nothing_lost
FROM ptl.batch b
JOIN ptl.batch_extract e USING (batch_id);
COMMENT ON VIEW ptl.load_summary IS
    'Per batch and extract: rows read, loaded (new), updated (already held), quarantined, with warnings; nothing_lost proves read = loaded + updated + quarantined';
COMMENT ON COLUMN ptl.load_summary.batch_id IS 'Batch';
COMMENT ON COLUMN ptl.load_summary.org_code IS 'Organisation that sent it';
COMMENT ON COLUMN ptl.load_summary.site_code IS 'Site it came from';
COMMENT ON COLUMN ptl.load_summary.source_system IS 'System that produced it';
COMMENT ON COLUMN ptl.load_summary.label IS 'Batch label';
COMMENT ON COLUMN ptl.load_summary.loaded_at IS 'When it was loaded';
COMMENT ON COLUMN ptl.load_summary.extract IS 'Extract';
COMMENT ON COLUMN ptl.load_summary.rows_read IS 'Rows staged';
COMMENT ON COLUMN ptl.load_summary.rows_loaded IS 'Rows that created a new record';
COMMENT ON COLUMN ptl.load_summary.rows_updated IS 'Rows whose record already existed';
COMMENT ON COLUMN ptl.load_summary.rows_unchanged IS 'Of those, rows identical to what was held';
COMMENT ON COLUMN ptl.load_summary.rows_quarantined IS 'Rows put in quarantine (ptl.rejected_row)';
COMMENT ON COLUMN ptl.load_summary.rows_with_warnings IS 'Loaded rows with a value left out';
COMMENT ON COLUMN ptl.load_summary.load_ms IS 'Milliseconds taken';
COMMENT ON COLUMN ptl.load_summary.nothing_lost IS 'True when read = loaded + updated + quarantined';

CREATE VIEW ptl.quarantine_summary AS
SELECT r.batch_id, b.org_code, b.site_code, r.extract, r.reason, r.column_name,
       count(*) AS rows_quarantined,
       count(*) FILTER (WHERE r.retried_in IS NULL) AS rows_outstanding,
       min(r.message) AS example_message
FROM ptl.rejected_row r
JOIN ptl.batch b USING (batch_id)
GROUP BY r.batch_id, b.org_code, b.site_code, r.extract, r.reason, r.column_name;
COMMENT ON VIEW ptl.quarantine_summary IS
    'Quarantined rows per batch, extract, reason and column, with an example message';
COMMENT ON COLUMN ptl.quarantine_summary.batch_id IS 'Batch';
COMMENT ON COLUMN ptl.quarantine_summary.org_code IS 'Organisation that sent it';
COMMENT ON COLUMN ptl.quarantine_summary.site_code IS 'Site it came from';
COMMENT ON COLUMN ptl.quarantine_summary.extract IS 'Extract';
COMMENT ON COLUMN ptl.quarantine_summary.reason IS 'Reason code';
COMMENT ON COLUMN ptl.quarantine_summary.column_name IS 'Column at fault (NULL for whole-row faults)';
COMMENT ON COLUMN ptl.quarantine_summary.rows_quarantined IS 'Rows';
COMMENT ON COLUMN ptl.quarantine_summary.rows_outstanding IS 'Of those, rows not yet retried';
COMMENT ON COLUMN ptl.quarantine_summary.example_message IS 'One of the messages';

-- Staging columns are described by the extract specification itself.
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT extract, column_name, description FROM ptl.extract_column LOOP
        EXECUTE format('COMMENT ON COLUMN ptl_stage.%I.%I IS %L', c.extract, c.column_name,
                       c.description || ' (as delivered, text; see ptl.extract_column)');
    END LOOP;
    FOR c IN SELECT unnest('{patient,pathway,pathway_event,waiting_list_entry}'::text[]) AS extract LOOP
        EXECUTE format('COMMENT ON COLUMN ptl_stage.%I.batch_id IS %L', c.extract,
                       'Batch the row belongs to (defaults to the one ptl.open_batch() opened in this session)');
        EXECUTE format('COMMENT ON COLUMN ptl_stage.%I.row_no IS %L', c.extract,
                       'Arrival order of the row (its position in the extract follows from it)');
        EXECUTE format('COMMENT ON COLUMN ptl_stage.%I.source_row IS %L', c.extract,
                       'Data record number in the delivered file (ptl.stage_extract); NULL when COPYed, and the position follows from row_no');
    END LOOP;
END
$$;

-- ---------------------------------------------------------------------------
-- Retrying quarantined rows: once the cause is mended (a site or
-- commissioner added to the reference tables, a parent row resent), the
-- rows go back to staging, as delivered, in a new batch of the same source.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ptl.retry_rejected(batch bigint, reasons text[] DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    b ptl.batch;
    new_batch bigint;
    extract_name text;
    columns text;
BEGIN
    SELECT * INTO b FROM ptl.batch x WHERE x.batch_id = retry_rejected.batch;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'batch % does not exist', retry_rejected.batch USING ERRCODE = 'no_data_found';
    END IF;
    new_batch := ptl.open_batch(b.org_code, b.source_system, b.site_code,
                                format('retry of batch %s', b.batch_id));
    FOREACH extract_name IN ARRAY ARRAY['patient', 'pathway', 'pathway_event', 'waiting_list_entry'] LOOP
        SELECT string_agg(quote_ident(c.column_name), ', ' ORDER BY c.ordinal) INTO columns
        FROM ptl.extract_column c WHERE c.extract = extract_name;
        -- Rows superseded later in their own extract stay where they are:
        -- the later row was the source's word.
        EXECUTE format($q$
            WITH retried AS (
                UPDATE ptl.rejected_row r SET retried_in = $1
                WHERE r.batch_id = $2 AND r.extract = $3 AND r.retried_in IS NULL
                  AND r.reason <> 'duplicate_in_extract'
                  AND ($4 IS NULL OR r.reason = ANY ($4))
                RETURNING r.row_in_extract, r.raw)
            INSERT INTO ptl_stage.%1$I (batch_id, %2$s)
            SELECT $1, %2$s
            FROM retried, jsonb_populate_record(NULL::ptl_stage.%1$I, retried.raw)
            ORDER BY retried.row_in_extract$q$, extract_name, columns)
        USING new_batch, b.batch_id, extract_name, reasons;
    END LOOP;
    RETURN new_batch;
END
$$;
COMMENT ON FUNCTION ptl.retry_rejected(bigint, text[]) IS
    'Stages a batch''s quarantined rows again, as delivered, in a new batch of the same source (optionally only some reasons; rows superseded in their extract excepted); returns the new batch for ptl.load()';

-- ---------------------------------------------------------------------------
-- Reading an extract file record by record.  COPY stops at the first bad
-- line; ptl.stage_extract stages every good record and refuses the others
-- into ptl.rejected_row with a reason, so one corrupt line never holds back
-- a site's whole delivery.  The file's first record names the columns.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ptl.csv_records(data bytea, encoding name DEFAULT 'UTF8', delimiter text DEFAULT ',',
                                max_field_bytes int DEFAULT 65536,
                                OUT record_no int, OUT fields text[], OUT problem text, OUT bad_field int,
                                OUT raw text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'csv_records'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.csv_records(bytea, name, text, int) IS
    'A CSV file (RFC 4180) split into records: the fields of each good record, or the problem with a bad one (unterminated_quote, stray_quote, nul_byte, invalid_encoding, field_too_long) and the record made printable';

-- A spreadsheet opening a cell that starts with = + - @ or a tab or
-- carriage return may run it as a formula (CSV injection, OWASP).  No
-- extract column holds such text, except a signed number.
CREATE FUNCTION ptl.is_formula_cell(cell text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN cell ~ '^[-=+@\t\r]' AND cell !~ '^[-+]?[0-9]+([.][0-9]*)?$';
COMMENT ON FUNCTION ptl.is_formula_cell(text) IS
    'Whether a cell would be read as a formula by a spreadsheet (starts with = + - @, tab or CR, and is not a signed number)';

CREATE FUNCTION ptl.stage_extract(batch bigint, extract_name text, data bytea,
                                  encoding name DEFAULT 'UTF8', delimiter text DEFAULT ',',
                                  max_field_bytes int DEFAULT 4096,
                                  OUT records bigint, OUT staged bigint, OUT refused bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    b ptl.batch;
    header text[];
    header_problem text;
    known text[];
    bad text;
BEGIN
    IF extract_name IS NULL OR extract_name NOT IN ('patient', 'pathway', 'pathway_event', 'waiting_list_entry') THEN
        RAISE EXCEPTION 'there is no extract called %', coalesce(quote_literal(extract_name), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The extracts are patient, pathway, pathway_event and waiting_list_entry.';
    END IF;
    SELECT * INTO b FROM ptl.batch x WHERE x.batch_id = stage_extract.batch FOR SHARE;
    IF NOT FOUND OR b.status <> 'open' THEN
        RAISE EXCEPTION 'cannot stage rows into batch %: it is %', coalesce(batch::text, 'NULL'),
                        coalesce(b.status, 'not opened')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Open a new batch with ptl.open_batch() and stage the file into it.';
    END IF;

    IF to_regclass('pg_temp.ptl_extract_record') IS NOT NULL THEN
        DROP TABLE pg_temp.ptl_extract_record;
    END IF;
    CREATE TEMP TABLE ptl_extract_record ON COMMIT DROP AS
    SELECT r.*, NULL::text AS reason, NULL::int AS column_no, NULL::text AS message
    FROM ptl.csv_records(data, encoding, delimiter, max_field_bytes) r;

    SELECT r.fields, r.problem INTO header, header_problem FROM ptl_extract_record r WHERE r.record_no = 1;
    IF NOT FOUND THEN
        records := 0; staged := 0; refused := 0;
        RETURN;
    END IF;
    IF header_problem IS NOT NULL THEN
        RAISE EXCEPTION 'the header of the % extract cannot be read: %', extract_name, header_problem
            USING ERRCODE = 'bad_copy_file_format',
                  HINT = 'The first line must name the columns, e.g. local_patient_id,nhs_number,...';
    END IF;
    header := ARRAY(SELECT lower(btrim(h)) FROM unnest(header) WITH ORDINALITY u(h, i) ORDER BY i);
    known := ARRAY(SELECT c.column_name FROM ptl.extract_column c WHERE c.extract = extract_name ORDER BY c.ordinal);
    bad := (SELECT h FROM unnest(header) h WHERE h IS NULL OR h <> ALL (known) LIMIT 1);
    IF bad IS NOT NULL OR array_position(header, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'column % in the header of the % extract is not one of its columns',
                        coalesce(quote_literal(bad), 'NULL'), extract_name
            USING ERRCODE = 'bad_copy_file_format',
                  HINT = format('The columns are: %s.', array_to_string(known, ', '));
    END IF;
    bad := (SELECT h FROM unnest(header) h GROUP BY h HAVING count(*) > 1 LIMIT 1);
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'column % appears twice in the header of the % extract', quote_literal(bad), extract_name
            USING ERRCODE = 'bad_copy_file_format';
    END IF;

    -- Why each refused record is refused: how it was written, then its
    -- shape, then a cell a spreadsheet would run.
    UPDATE ptl_extract_record r
    SET reason = coalesce(r.problem, v.reason), column_no = coalesce(r.bad_field, v.column_no),
        message = CASE coalesce(r.problem, v.reason)
            WHEN 'unterminated_quote' THEN 'the file ends inside a quoted field'
            WHEN 'stray_quote' THEN 'a quoted field is followed by more text before the next delimiter'
            WHEN 'nul_byte' THEN 'the record holds a zero byte, which text cannot'
            WHEN 'invalid_encoding' THEN format('the record is not valid %s', encoding)
            WHEN 'field_too_long' THEN format('a field is longer than %s bytes', max_field_bytes)
            WHEN 'wrong_column_count' THEN format('the record has %s fields, the header %s',
                                                  cardinality(r.fields), cardinality(header))
            WHEN 'formula_injection' THEN format('%s starts like a spreadsheet formula', header[v.column_no])
            END
    FROM ptl_extract_record x
    CROSS JOIN LATERAL (
        SELECT CASE WHEN x.fields IS NULL THEN NULL
                    WHEN cardinality(x.fields) <> cardinality(header) THEN 'wrong_column_count'
                    WHEN f.i IS NOT NULL THEN 'formula_injection' END AS reason,
               f.i::int AS column_no
        FROM (SELECT min(u.i) AS i FROM unnest(x.fields) WITH ORDINALITY u(cell, i)
              WHERE ptl.is_formula_cell(u.cell)) f) v
    WHERE r.record_no = x.record_no AND r.record_no > 1
      AND (r.problem IS NOT NULL OR v.reason IS NOT NULL);

    INSERT INTO ptl.rejected_row (batch_id, extract, row_in_extract, column_name, value, reason, sqlstate,
                                  message, raw)
    SELECT batch, extract_name, r.record_no - 1,
           CASE WHEN r.reason <> 'wrong_column_count' THEN header[r.column_no] END,
           CASE WHEN r.reason = 'formula_injection' THEN r.fields[r.column_no] END,
           r.reason,
           CASE r.reason WHEN 'nul_byte' THEN '22021' WHEN 'invalid_encoding' THEN '22021'
                         WHEN 'field_too_long' THEN '22001' WHEN 'formula_injection' THEN '22P02'
                         ELSE '22P04' END,
           format('record %s: %s', r.record_no - 1, r.message),
           CASE WHEN r.fields IS NOT NULL THEN to_jsonb(r.fields) ELSE to_jsonb(r.raw) END
    FROM ptl_extract_record r
    WHERE r.reason IS NOT NULL
    ORDER BY r.record_no;
    GET DIAGNOSTICS refused = ROW_COUNT;

    EXECUTE format('INSERT INTO ptl_stage.%I (batch_id, source_row, %s) SELECT $1, r.record_no - 1, %s
                    FROM pg_temp.ptl_extract_record r WHERE r.record_no > 1 AND r.reason IS NULL ORDER BY r.record_no',
                   extract_name,
                   (SELECT string_agg(format('%I', h), ', ' ORDER BY i) FROM unnest(header) WITH ORDINALITY u(h, i)),
                   (SELECT string_agg(format('r.fields[%s]', i), ', ' ORDER BY i) FROM generate_subscripts(header, 1) i))
    USING batch;
    GET DIAGNOSTICS staged = ROW_COUNT;
    records := staged + refused;
    DROP TABLE pg_temp.ptl_extract_record;
END
$$;
COMMENT ON FUNCTION ptl.stage_extract(bigint, text, bytea, name, text, int) IS
    'Stages an extract file (CSV with a header naming the columns, in the given encoding) into an open batch: good records into ptl_stage, malformed ones (quoting, zero bytes, encoding, huge fields, column count, formula cells) into ptl.rejected_row with the reason; then ptl.load checks the values';
-- ---------------------------------------------------------------------------
-- link/person: patient records of every source into ICS persons.
--
-- ptl.link_persons() compares candidate pairs of records (blocking rules),
-- links identical valid NHS numbers unless the rest of the record flatly
-- contradicts them, scores the other pairs with a Fellegi-Sunter model whose
-- m and u probabilities it estimates from the data (EM), and forms persons
-- by union-find with a guard against chaining.  Method and sources:
-- docs/linkage.md; Fellegi & Sunter (1969), and Splink's formulation
-- (peers.md 2.1): match weight = log2(lambda / (1 - lambda)) + sum of
-- log2(m / u) over the fields.
-- ---------------------------------------------------------------------------

-- The normalised fields linkage compares (ptl.link_fields_of).
CREATE TYPE ptl.link_fields AS (
    nhs_number      text,
    given_name      text,
    family_name     text,
    date_of_birth   date,
    sex             text,
    postcode        text,
    address         text
);
COMMENT ON TYPE ptl.link_fields IS
    'A patient record as linkage compares it: NHS number digits as recorded, names upper case letters only, sex 1 or 2, postcode without spaces, address upper case';

CREATE FUNCTION ptl.jaro(a text, b text) RETURNS float8
AS 'MODULE_PATHNAME', 'ptl_jaro' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.jaro(text, text) IS
    'Jaro similarity of two strings (0 to 1), on characters, case sensitive';

CREATE FUNCTION ptl.jaro_winkler(a text, b text) RETURNS float8
AS 'MODULE_PATHNAME', 'ptl_jaro_winkler' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.jaro_winkler(text, text) IS
    'Jaro-Winkler similarity (0 to 1): Jaro plus 0.1 per common leading character (up to 4) when Jaro is above 0.7';

CREATE FUNCTION ptl.damerau_levenshtein(a text, b text) RETURNS int
AS 'MODULE_PATHNAME', 'ptl_damerau_levenshtein' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.damerau_levenshtein(text, text) IS
    'Edits between two strings: insertions, deletions, substitutions and swaps of adjacent characters (optimal string alignment)';

CREATE FUNCTION ptl.link_compare(a ptl.link_fields, b ptl.link_fields) RETURNS int
AS 'MODULE_PATHNAME', 'ptl_link_compare' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.link_compare(ptl.link_fields, ptl.link_fields) IS
    'Comparison vector of two records: each field''s level (ptl.link_level) in 4 bits, field n at bit 4n';

CREATE FUNCTION ptl.link_em(patterns int[], counts float8[], u float8[], m_start float8[],
                            lambda_start float8, used_fields int, trained_fields int,
                            max_iterations int, tolerance float8,
                            OUT m float8[], OUT lambda float8, OUT iterations int)
AS 'MODULE_PATHNAME', 'ptl_link_em' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.link_em(int[], float8[], float8[], float8[], float8, int, int, int, float8) IS
    'Fellegi-Sunter EM over distinct comparison vectors and their counts, u fixed: the share of matches (lambda) and m for the trained fields (bit n = field n); m and u are 112-element arrays, field f level l at f*16+l+1';

CREATE FUNCTION ptl.link_clusters(record_ids bigint[], record_keys text[], left_ids bigint[],
                                  right_ids bigint[], weights float8[], max_cluster_size int)
RETURNS TABLE (left_id bigint, right_id bigint, left_cluster bigint, right_cluster bigint, outcome text)
AS 'MODULE_PATHNAME', 'ptl_link_clusters' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.link_clusters(bigint[], text[], bigint[], bigint[], float8[], int) IS
    'Union-find over links in descending weight, refusing a link that would join two different NHS numbers or exceed max_cluster_size; each link''s outcome and both records'' final clusters (named by their smallest record id)';

-- ---------------------------------------------------------------------------
-- The model's vocabulary
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.link_level (
    field_no    int NOT NULL CHECK (field_no BETWEEN 0 AND 6),
    field       text NOT NULL,
    level       int NOT NULL CHECK (level BETWEEN 0 AND 15),
    label       text NOT NULL,
    PRIMARY KEY (field_no, level)
);
COMMENT ON TABLE ptl.link_level IS 'Comparison levels of each field that person linkage compares (what ptl.link_compare returns)';
COMMENT ON COLUMN ptl.link_level.field_no IS 'Field number: its level sits at bits 4n to 4n+3 of the comparison vector';
COMMENT ON COLUMN ptl.link_level.field IS 'Field name';
COMMENT ON COLUMN ptl.link_level.level IS 'Level: 0 missing on either side (weight 0), 1 exact, higher agree less';
COMMENT ON COLUMN ptl.link_level.label IS 'What the level means';
INSERT INTO ptl.link_level (field_no, field, level, label) VALUES
    (0, 'nhs_number', 0, 'missing'), (0, 'nhs_number', 1, 'exact'),
    (0, 'nhs_number', 2, 'one edit (a digit wrong, or two swapped)'), (0, 'nhs_number', 3, 'different'),
    (1, 'given_name', 0, 'missing'), (1, 'given_name', 1, 'exact'),
    (1, 'given_name', 2, 'Jaro-Winkler >= 0.92'), (1, 'given_name', 3, 'Jaro-Winkler >= 0.88'),
    (1, 'given_name', 4, 'Jaro-Winkler >= 0.70'), (1, 'given_name', 5, 'different'),
    (2, 'family_name', 0, 'missing'), (2, 'family_name', 1, 'exact'),
    (2, 'family_name', 2, 'Jaro-Winkler >= 0.92'), (2, 'family_name', 3, 'Jaro-Winkler >= 0.88'),
    (2, 'family_name', 4, 'Jaro-Winkler >= 0.70'), (2, 'family_name', 5, 'different'),
    (3, 'date_of_birth', 0, 'missing'), (3, 'date_of_birth', 1, 'exact'),
    (3, 'date_of_birth', 2, 'day and month swapped, or two adjacent digits swapped'),
    (3, 'date_of_birth', 3, 'two of year, month and day agree, or one digit differs'),
    (3, 'date_of_birth', 4, 'different'),
    (4, 'sex', 0, 'missing or not stated'), (4, 'sex', 1, 'same'), (4, 'sex', 2, 'different'),
    (5, 'postcode', 0, 'missing'), (5, 'postcode', 1, 'exact'), (5, 'postcode', 2, 'same district (outward code)'),
    (5, 'postcode', 3, 'different'),
    (6, 'address', 0, 'missing'), (6, 'address', 1, 'exact'), (6, 'address', 2, 'Jaro-Winkler >= 0.88'),
    (6, 'address', 3, 'different');

-- Blocking: only pairs that agree on at least one rule's key are compared.
-- The keys are fixed (ptl.link_persons computes them); a rule does not train
-- m for the fields it joins on, since all its pairs agree on them.
CREATE TABLE ptl.link_blocking_rule (
    rule_no         int PRIMARY KEY CHECK (rule_no BETWEEN 1 AND 30),
    key_column      text NOT NULL UNIQUE,
    description     text NOT NULL,
    blocked_fields  int NOT NULL
);
COMMENT ON TABLE ptl.link_blocking_rule IS
    'Blocking rules of person linkage: two records are compared only when they share one of these keys';
COMMENT ON COLUMN ptl.link_blocking_rule.rule_no IS 'Rule number (bit rule_no - 1 of a pair''s rules)';
COMMENT ON COLUMN ptl.link_blocking_rule.key_column IS 'Key the rule joins on';
COMMENT ON COLUMN ptl.link_blocking_rule.description IS 'What the key is';
COMMENT ON COLUMN ptl.link_blocking_rule.blocked_fields IS 'Fields the key is made of (bit n = field n): EM does not train them on this rule''s pairs';
INSERT INTO ptl.link_blocking_rule VALUES
    (1, 'key_nhs', 'NHS number digits as recorded (valid or not)', 1),
    (2, 'key_dob_given', 'date of birth and given name initial', 8 | 2),
    (3, 'key_dob_district', 'date of birth and postcode district', 8 | 32),
    (4, 'key_postcode_given', 'postcode and given name initial', 32 | 2),
    (5, 'key_names_year', 'family name, given name and year of birth', 4 | 2 | 8),
    (6, 'key_postcode_family', 'postcode and family name initial', 32 | 4);

-- Settings: a history, the latest row is in force (as ptl.rtt_setting).
CREATE TABLE ptl.link_setting (
    setting_id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    set_at              timestamptz NOT NULL DEFAULT now(),
    set_by              text NOT NULL DEFAULT current_user,
    shipped             boolean NOT NULL DEFAULT false,
    link_probability    float8 NOT NULL DEFAULT 0.999 CHECK (link_probability > 0 AND link_probability < 1),
    review_probability  float8 NOT NULL DEFAULT 0.5 CHECK (review_probability > 0 AND review_probability < 1),
    max_cluster_size    int NOT NULL DEFAULT 20 CHECK (max_cluster_size >= 2),
    max_block_size      int NOT NULL DEFAULT 1000 CHECK (max_block_size >= 2),
    u_sample_pairs      int NOT NULL DEFAULT 1000000 CHECK (u_sample_pairs >= 1000),
    em_max_iterations   int NOT NULL DEFAULT 100 CHECK (em_max_iterations >= 1),
    em_tolerance        float8 NOT NULL DEFAULT 1e-6 CHECK (em_tolerance > 0),
    transfer_window_days int NOT NULL DEFAULT 42 CHECK (transfer_window_days >= 0),
    CHECK (review_probability <= link_probability)
);
INSERT INTO ptl.link_setting (setting_id, set_at, set_by, shipped) VALUES (0, '-infinity', 'ptl', true);
SELECT pg_catalog.pg_extension_config_dump('ptl.link_setting', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('ptl.link_setting_setting_id_seq', '');
COMMENT ON TABLE ptl.link_setting IS
    'Person linkage thresholds and limits: a history, the latest row is in force (insert a row to change)';
COMMENT ON COLUMN ptl.link_setting.setting_id IS 'Row number (0 = the defaults ptl ships)';
COMMENT ON COLUMN ptl.link_setting.set_at IS 'When the settings were set';
COMMENT ON COLUMN ptl.link_setting.set_by IS 'Who set them';
COMMENT ON COLUMN ptl.link_setting.shipped IS 'True for the defaults row ptl ships';
COMMENT ON COLUMN ptl.link_setting.link_probability IS
    'Match probability at or above which two records are linked (default 0.999, match weight 9.97)';
COMMENT ON COLUMN ptl.link_setting.review_probability IS
    'Pairs from this probability up to link_probability go to clerical review (ptl.link_review)';
COMMENT ON COLUMN ptl.link_setting.max_cluster_size IS 'Chaining guard: no person gathers more records than this';
COMMENT ON COLUMN ptl.link_setting.max_block_size IS
    'Blocks (records sharing one key) larger than this are not compared (keeps the work near linear; counted in ptl.link_run)';
COMMENT ON COLUMN ptl.link_setting.u_sample_pairs IS 'Random record pairs drawn to estimate u probabilities';
COMMENT ON COLUMN ptl.link_setting.em_max_iterations IS 'EM iterations at most';
COMMENT ON COLUMN ptl.link_setting.em_tolerance IS 'EM stops when no probability moves by more than this';
COMMENT ON COLUMN ptl.link_setting.transfer_window_days IS
    'Pathway linkage: a transfer_in matches a transfer_out of the same person at another provider when it comes at most this many days later';

CREATE FUNCTION ptl.link_setting_in_force() RETURNS ptl.link_setting
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN (SELECT s FROM ptl.link_setting s ORDER BY s.set_at DESC, s.setting_id DESC LIMIT 1);
COMMENT ON FUNCTION ptl.link_setting_in_force() IS 'The person linkage settings in force: the latest row of ptl.link_setting';

-- The fields of a patient record as linkage compares them.
CREATE FUNCTION ptl.link_fields_of(p ptl.patient) RETURNS ptl.link_fields
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ROW(
    nullif(upper(regexp_replace(coalesce(p.nhs_number::text, p.nhs_number_as_recorded), '[^[:alnum:]]', '', 'g')), ''),
    nullif(upper(regexp_replace(p.given_name, '[^[:alpha:]]', '', 'g')), ''),
    nullif(upper(regexp_replace(p.family_name, '[^[:alpha:]]', '', 'g')), ''),
    p.date_of_birth,
    CASE WHEN p.sex IN ('1', '2') THEN p.sex END,
    nullif(upper(regexp_replace(p.postcode, '[^[:alnum:]]', '', 'g')), ''),
    nullif(upper(btrim(regexp_replace(p.address_line_1, '[^[:alnum:]]+', ' ', 'g'))), '')
)::ptl.link_fields;
COMMENT ON FUNCTION ptl.link_fields_of(ptl.patient) IS
    'A patient record normalised for linkage (ptl.link_fields)';

-- ---------------------------------------------------------------------------
-- The model and its results
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.link_run (
    run_id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at          timestamptz NOT NULL,
    finished_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    records             bigint NOT NULL,
    candidate_pairs     bigint NOT NULL,
    skipped_blocks      bigint NOT NULL,
    u_sample_pairs      bigint NOT NULL,
    em_iterations       int NOT NULL,
    candidate_match_share float8 NOT NULL,
    prior_weight        float8 NOT NULL,
    nhs_number_links    bigint NOT NULL,
    probabilistic_links bigint NOT NULL,
    conflicts           bigint NOT NULL,
    refused_links       bigint NOT NULL,
    review_pairs        bigint NOT NULL,
    persons             bigint NOT NULL,
    run_by              text NOT NULL DEFAULT current_user
);
SELECT pg_catalog.pg_extension_config_dump('ptl.link_run', '');
COMMENT ON TABLE ptl.link_run IS 'One row per ptl.link_persons() run: the work done and what the model found';
COMMENT ON COLUMN ptl.link_run.run_id IS 'Run number';
COMMENT ON COLUMN ptl.link_run.started_at IS 'Start';
COMMENT ON COLUMN ptl.link_run.finished_at IS 'End';
COMMENT ON COLUMN ptl.link_run.records IS 'Patient records linked';
COMMENT ON COLUMN ptl.link_run.candidate_pairs IS 'Distinct pairs the blocking rules produced and compared';
COMMENT ON COLUMN ptl.link_run.skipped_blocks IS 'Blocks over max_block_size, not compared';
COMMENT ON COLUMN ptl.link_run.u_sample_pairs IS 'Random pairs compared to estimate u';
COMMENT ON COLUMN ptl.link_run.em_iterations IS 'EM iterations, all rules together';
COMMENT ON COLUMN ptl.link_run.candidate_match_share IS 'Estimated share of matches among the candidate pairs';
COMMENT ON COLUMN ptl.link_run.prior_weight IS 'log2(lambda / (1 - lambda)) for two records drawn at random';
COMMENT ON COLUMN ptl.link_run.nhs_number_links IS 'Pairs linked by identical valid NHS numbers';
COMMENT ON COLUMN ptl.link_run.probabilistic_links IS 'Other pairs at or above the link probability';
COMMENT ON COLUMN ptl.link_run.conflicts IS 'Pairs with one valid NHS number whose other fields flatly contradict it (not linked)';
COMMENT ON COLUMN ptl.link_run.refused_links IS 'Links the chaining guard refused';
COMMENT ON COLUMN ptl.link_run.review_pairs IS 'Pairs between the review and link probabilities';
COMMENT ON COLUMN ptl.link_run.persons IS 'Persons after the run';
COMMENT ON COLUMN ptl.link_run.run_by IS 'Database user';

CREATE TABLE ptl.link_parameter (
    field_no    int NOT NULL,
    level       int NOT NULL,
    m           float8 NOT NULL CHECK (m > 0 AND m <= 1),
    u           float8 NOT NULL CHECK (u > 0 AND u <= 1),
    weight      float8 GENERATED ALWAYS AS (ln(m / u) / ln(2.0::float8)) STORED,
    PRIMARY KEY (field_no, level),
    FOREIGN KEY (field_no, level) REFERENCES ptl.link_level (field_no, level)
);
COMMENT ON TABLE ptl.link_parameter IS 'The Fellegi-Sunter model the last run estimated: m and u of each field level';
COMMENT ON COLUMN ptl.link_parameter.field_no IS 'Field (ptl.link_level)';
COMMENT ON COLUMN ptl.link_parameter.level IS 'Level (1 exact ... last different)';
COMMENT ON COLUMN ptl.link_parameter.m IS 'Chance of this level when the records are the same person (EM)';
COMMENT ON COLUMN ptl.link_parameter.u IS 'Chance of this level when they are not (random pairs)';
COMMENT ON COLUMN ptl.link_parameter.weight IS 'Match weight of the level, log2(m / u)';

CREATE TABLE ptl.link_term_frequency (
    field_no    int NOT NULL CHECK (field_no IN (1, 2)),
    value       text NOT NULL,
    frequency   float8 NOT NULL CHECK (frequency > 0 AND frequency <= 1),
    PRIMARY KEY (field_no, value)
);
COMMENT ON TABLE ptl.link_term_frequency IS
    'Share of records with each given and family name: an exact match on a common name weighs log2(m / frequency), less than on a rare one';
COMMENT ON COLUMN ptl.link_term_frequency.field_no IS '1 given name, 2 family name';
COMMENT ON COLUMN ptl.link_term_frequency.value IS 'Normalised name';
COMMENT ON COLUMN ptl.link_term_frequency.frequency IS 'Share of records carrying it';

-- Pairs worth keeping: links, conflicts, refusals and review candidates.
CREATE TABLE ptl.link_pair (
    patient_a       bigint NOT NULL REFERENCES ptl.patient (patient_id) ON DELETE CASCADE,
    patient_b       bigint NOT NULL REFERENCES ptl.patient (patient_id) ON DELETE CASCADE,
    rules           int NOT NULL,
    gamma           int NOT NULL,
    match_weight    float8 NOT NULL,
    match_probability float8 NOT NULL,
    method          text NOT NULL CHECK (method IN ('nhs_number', 'probabilistic', 'reviewer', 'conflict', 'review')),
    outcome         text CHECK (outcome IN ('linked', 'already', 'refused_nhs_number', 'refused_size')),
    PRIMARY KEY (patient_a, patient_b),
    CHECK (patient_a < patient_b)
);
CREATE INDEX link_pair_b_idx ON ptl.link_pair (patient_b);
COMMENT ON TABLE ptl.link_pair IS
    'Record pairs of the last linkage run that were linked, refused, in conflict or left for review';
COMMENT ON COLUMN ptl.link_pair.patient_a IS 'One record (the smaller id)';
COMMENT ON COLUMN ptl.link_pair.patient_b IS 'The other';
COMMENT ON COLUMN ptl.link_pair.rules IS 'Blocking rules that produced the pair (bit n-1 = rule n)';
COMMENT ON COLUMN ptl.link_pair.gamma IS 'Comparison vector (ptl.link_compare)';
COMMENT ON COLUMN ptl.link_pair.match_weight IS 'Match weight: prior plus every field''s weight, names adjusted for frequency';
COMMENT ON COLUMN ptl.link_pair.match_probability IS 'Probability the records are one person, 2^w / (1 + 2^w)';
COMMENT ON COLUMN ptl.link_pair.method IS
    'nhs_number (identical valid numbers), probabilistic (at or above the link probability), reviewer (a clerical decision), conflict (identical numbers, contradicting details: not linked) or review (below the link probability)';
COMMENT ON COLUMN ptl.link_pair.outcome IS 'For links: what clustering did (linked, already joined, or refused by the chaining guard and why)';

-- Clerical decisions: a reviewer's match joins two records whatever their
-- weight, a non-match keeps that pair from linking.
CREATE TABLE ptl.link_decision (
    patient_a       bigint NOT NULL REFERENCES ptl.patient (patient_id) ON DELETE CASCADE,
    patient_b       bigint NOT NULL REFERENCES ptl.patient (patient_id) ON DELETE CASCADE,
    decision        text NOT NULL CHECK (decision IN ('match', 'non_match')),
    decided_by      text NOT NULL DEFAULT current_user,
    decided_at      timestamptz NOT NULL DEFAULT now(),
    note            text,
    PRIMARY KEY (patient_a, patient_b),
    CHECK (patient_a < patient_b)
);
SELECT pg_catalog.pg_extension_config_dump('ptl.link_decision', '');
COMMENT ON TABLE ptl.link_decision IS
    'Clerical review decisions on record pairs, applied by every later linkage run';
COMMENT ON COLUMN ptl.link_decision.patient_a IS 'One record (the smaller id)';
COMMENT ON COLUMN ptl.link_decision.patient_b IS 'The other';
COMMENT ON COLUMN ptl.link_decision.decision IS 'match or non_match';
COMMENT ON COLUMN ptl.link_decision.decided_by IS 'Reviewer';
COMMENT ON COLUMN ptl.link_decision.decided_at IS 'When';
COMMENT ON COLUMN ptl.link_decision.note IS 'Why';

CREATE SEQUENCE ptl.person_id_seq;
SELECT pg_catalog.pg_extension_config_dump('ptl.person_id_seq', '');
COMMENT ON SEQUENCE ptl.person_id_seq IS 'ICS person numbers';

CREATE TABLE ptl.person_link (
    patient_id      bigint PRIMARY KEY REFERENCES ptl.patient (patient_id) ON DELETE CASCADE,
    person_id       bigint NOT NULL,
    method          text NOT NULL CHECK (method IN ('nhs_number', 'probabilistic', 'reviewer', 'single')),
    match_weight    float8,
    linked_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX person_link_person_idx ON ptl.person_link (person_id);
SELECT pg_catalog.pg_extension_config_dump('ptl.person_link', '');
COMMENT ON TABLE ptl.person_link IS
    'The ICS person of every patient record: person numbers stay stable across runs while their records stay together';
COMMENT ON COLUMN ptl.person_link.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.person_link.person_id IS 'ICS person';
COMMENT ON COLUMN ptl.person_link.method IS
    'Strongest link joining the record to its person: nhs_number, reviewer, probabilistic, or single (no other record)';
COMMENT ON COLUMN ptl.person_link.match_weight IS 'Weight of that link (NULL for single)';
COMMENT ON COLUMN ptl.person_link.linked_at IS 'When the run that linked it finished';

-- ---------------------------------------------------------------------------
-- The run
-- ---------------------------------------------------------------------------

-- m and u arrays (112 elements, field f level l at f*16+l+1) from rows.
CREATE FUNCTION ptl.link_parameter_array(levels int[], probabilities float8[]) RETURNS float8[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT array_agg(coalesce(x.p, 1e-6) ORDER BY s.i)
    FROM generate_series(0, 111) AS s (i)
    LEFT JOIN unnest(levels, probabilities) AS x (slot, p) ON x.slot = s.i;
END;
COMMENT ON FUNCTION ptl.link_parameter_array(int[], float8[]) IS
    'Internal: slots (f*16+l) and probabilities into the 112-element array ptl.link_em takes (other slots 1e-6)';

CREATE FUNCTION ptl.link_persons() RETURNS ptl.link_run
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET work_mem = '256MB'
SET client_min_messages = warning
AS $$
DECLARE
    s ptl.link_setting := ptl.link_setting_in_force();
    run ptl.link_run;
    rule record;
    u_arr float8[];
    m_start float8[];
    em record;
    lambda_candidates float8;
    prior float8;
    link_weight float8 := (ln(s.link_probability / (1 - s.link_probability)) / ln(2.0::float8));
    review_weight float8 := (ln(s.review_probability / (1 - s.review_probability)) / ln(2.0::float8));
BEGIN
    run.started_at := clock_timestamp();
    -- One run at a time; readers of person_link see the old persons until commit.
    LOCK TABLE ptl.person_link IN SHARE ROW EXCLUSIVE MODE;

    -- 1. Normalised records and their blocking keys.
    DROP TABLE IF EXISTS link_rec, link_cand, link_edge, link_block, link_block_pair, link_draw, link_u, link_m,
                         link_outcome, link_member, link_person;
    CREATE TEMP TABLE link_rec ON COMMIT DROP AS
    SELECT x.patient_id, x.f, x.nhs_valid,
           row_number() OVER (ORDER BY x.patient_id) AS rn,
           -- keys hashed to bigint: grouping integers is several times faster
           -- than collating text, and a collision only adds a pair to compare
           hashtextextended((x.f).nhs_number, 0) AS key_nhs,
           hashtextextended((x.f).date_of_birth::text || left((x.f).given_name, 1), 0) AS key_dob_given,
           hashtextextended((x.f).date_of_birth::text || left((x.f).postcode, length((x.f).postcode) - 3), 0)
               AS key_dob_district,
           hashtextextended((x.f).postcode || left((x.f).given_name, 1), 0) AS key_postcode_given,
           hashtextextended((x.f).family_name || ' ' || (x.f).given_name
                            || extract(year FROM (x.f).date_of_birth)::text, 0) AS key_names_year,
           hashtextextended((x.f).postcode || left((x.f).family_name, 1), 0) AS key_postcode_family
    FROM (SELECT p.patient_id, ptl.link_fields_of(p) AS f,
                 regexp_replace(p.nhs_number::text, '[^0-9]', '', 'g') AS nhs_valid
          FROM ptl.patient p
          OFFSET 0) x;  -- a fence: normalise each record once, not once per key
    run.records := (SELECT count(*) FROM link_rec);
    ANALYZE link_rec;

    -- 2. Candidate pairs: the union of the blocking rules, each pair with
    --    every rule it satisfies.  Blocks over max_block_size are skipped.
    CREATE TEMP TABLE link_block_pair (a bigint, b bigint, rule_bit int) ON COMMIT DROP;
    run.skipped_blocks := 0;
    FOR rule IN SELECT * FROM ptl.link_blocking_rule ORDER BY rule_no LOOP
        -- one pass over the keys: each record with its block's size, then
        -- the pairs within the blocks kept
        EXECUTE format('CREATE TEMP TABLE link_block ON COMMIT DROP AS
                        SELECT patient_id, %1$I AS k, count(*) OVER (PARTITION BY %1$I) AS n
                        FROM pg_temp.link_rec WHERE %1$I IS NOT NULL', rule.key_column);
        INSERT INTO link_block_pair
        SELECT l.patient_id, r.patient_id, 1 << (rule.rule_no - 1)
        FROM link_block l JOIN link_block r ON r.k = l.k
        WHERE l.n BETWEEN 2 AND s.max_block_size AND r.n BETWEEN 2 AND s.max_block_size
          AND l.patient_id < r.patient_id;
        run.skipped_blocks := run.skipped_blocks
                              + (SELECT count(DISTINCT k) FROM link_block WHERE n > s.max_block_size);
        DROP TABLE link_block;
    END LOOP;

    CREATE TEMP TABLE link_cand ON COMMIT DROP AS
    SELECT c.a, c.b, c.rules, ptl.link_compare(ra.f, rb.f) AS gamma,
           ra.nhs_valid IS NOT NULL AND ra.nhs_valid = rb.nhs_valid AS same_nhs,
           (ra.f).given_name AS given_a, (ra.f).family_name AS family_a
    FROM (SELECT a, b, bit_or(rule_bit) AS rules FROM link_block_pair GROUP BY a, b) c
    JOIN link_rec ra ON ra.patient_id = c.a
    JOIN link_rec rb ON rb.patient_id = c.b;
    DROP TABLE link_block_pair;
    run.candidate_pairs := (SELECT count(*) FROM link_cand);

    -- 3. u: the levels of random pairs (almost all different persons),
    --    drawn reproducibly from the record numbers.
    CREATE TEMP TABLE link_draw ON COMMIT DROP AS
    SELECT 1 + (abs(hashint8extended(i, 1)) % run.records) AS x,
           1 + (abs(hashint8extended(i, 2)) % run.records) AS y
    FROM generate_series(1, least(s.u_sample_pairs, run.records * (run.records - 1) / 2)) AS i;
    ANALYZE link_draw;
    CREATE TEMP TABLE link_u ON COMMIT DROP AS
    WITH g AS MATERIALIZED (
        SELECT ptl.link_compare(rx.f, ry.f) AS gamma, count(*) AS n
        FROM link_draw d JOIN link_rec rx ON rx.rn = d.x JOIN link_rec ry ON ry.rn = d.y
        WHERE d.x <> d.y
        GROUP BY 1),
    seen AS (
        SELECT lv.field_no, lv.level, coalesce(sum(g.n), 0) AS n
        FROM ptl.link_level lv
        LEFT JOIN g ON (g.gamma >> (4 * lv.field_no)) & 15 = lv.level
        WHERE lv.level > 0
        GROUP BY lv.field_no, lv.level)
    -- add-one smoothing: a level never seen at random is rare, not impossible
    SELECT field_no, level,
           (n + 1)::float8 / (sum(n) OVER (PARTITION BY field_no) + count(*) OVER (PARTITION BY field_no)) AS u
    FROM seen;
    run.u_sample_pairs := least(s.u_sample_pairs, run.records * (run.records - 1) / 2);
    SELECT ptl.link_parameter_array(array_agg(field_no * 16 + level), array_agg(u)) INTO u_arr FROM link_u;

    -- Starting m: exact agreement likely among matches, the rest shared out.
    SELECT ptl.link_parameter_array(array_agg(lv.field_no * 16 + lv.level),
                                    array_agg(CASE WHEN lv.level = 1 THEN 0.9
                                                   ELSE 0.1 / (n.levels - 2) END))
    INTO m_start
    FROM ptl.link_level lv
    JOIN (SELECT field_no, count(*) AS levels FROM ptl.link_level GROUP BY field_no) n USING (field_no)
    WHERE lv.level > 0;

    -- 4. m by EM, once per blocking rule on the pairs it produced, not
    --    training the fields it blocks on; a field's m is the mean over the
    --    rules that trained it.
    CREATE TEMP TABLE link_m (field_no int, level int, m float8) ON COMMIT DROP;
    run.em_iterations := 0;
    FOR rule IN SELECT * FROM ptl.link_blocking_rule ORDER BY rule_no LOOP
        SELECT e.* INTO em
        FROM (SELECT array_agg(gamma) AS patterns, array_agg(n::float8) AS counts
              FROM (SELECT gamma, count(*) AS n FROM link_cand
                    WHERE rules & (1 << (rule.rule_no - 1)) <> 0 GROUP BY gamma) g) x,
             ptl.link_em(x.patterns, x.counts, u_arr, m_start, 0.5,
                         127 & ~rule.blocked_fields, 127 & ~rule.blocked_fields,
                         s.em_max_iterations, s.em_tolerance) e
        WHERE x.patterns IS NOT NULL;
        CONTINUE WHEN em IS NULL OR em.m IS NULL;
        run.em_iterations := run.em_iterations + em.iterations;
        INSERT INTO link_m
        SELECT lv.field_no, lv.level, em.m[lv.field_no * 16 + lv.level + 1]
        FROM ptl.link_level lv
        WHERE lv.level > 0 AND rule.blocked_fields & (1 << lv.field_no) = 0;
    END LOOP;

    DELETE FROM ptl.link_parameter;
    INSERT INTO ptl.link_parameter (field_no, level, m, u)
    SELECT u.field_no, u.level,
           coalesce(m.m, m_start[u.field_no * 16 + u.level + 1]), u.u
    FROM link_u u
    LEFT JOIN (SELECT field_no, level, avg(m) AS m FROM link_m GROUP BY field_no, level) m
           USING (field_no, level);

    -- 5. The prior: EM for lambda alone over all candidates with m and u
    --    fixed, then from the candidates' share to any two records.
    SELECT e.lambda, e.iterations INTO em
    FROM (SELECT array_agg(gamma) AS patterns, array_agg(n::float8) AS counts
          FROM (SELECT gamma, count(*) AS n FROM link_cand GROUP BY gamma) g) x,
         ptl.link_em(x.patterns, x.counts, u_arr,
                     (SELECT ptl.link_parameter_array(array_agg(field_no * 16 + level), array_agg(m))
                      FROM ptl.link_parameter),
                     0.5, 127, 0, s.em_max_iterations, s.em_tolerance) e
    WHERE x.patterns IS NOT NULL;
    lambda_candidates := coalesce(em.lambda, 1e-6);
    run.em_iterations := run.em_iterations + coalesce(em.iterations, 0);
    run.candidate_match_share := lambda_candidates;
    prior := greatest(lambda_candidates * greatest(run.candidate_pairs, 1)
                      / greatest(run.records::float8 * (run.records - 1) / 2, 1), 1e-12);
    prior := least(prior, 0.5);
    run.prior_weight := (ln(prior / (1 - prior)) / ln(2.0::float8));

    -- Name frequencies, for the term-frequency adjustment.
    DELETE FROM ptl.link_term_frequency;
    INSERT INTO ptl.link_term_frequency (field_no, value, frequency)
    SELECT 1, v, count(*)::float8 / sum(count(*)) OVER ()
    FROM (SELECT (f).given_name AS v FROM link_rec) x WHERE v IS NOT NULL GROUP BY v
    UNION ALL
    SELECT 2, v, count(*)::float8 / sum(count(*)) OVER ()
    FROM (SELECT (f).family_name AS v FROM link_rec) x WHERE v IS NOT NULL GROUP BY v;

    -- 6. Scores.  Identical valid NHS numbers link unless the record
    --    flatly contradicts them: the date of birth and both names all
    --    different (each present).
    CREATE TEMP TABLE link_edge ON COMMIT DROP AS
    WITH scored AS (
        SELECT c.a, c.b, c.rules, c.gamma, c.same_nhs,
               run.prior_weight + pw.weight
               + CASE WHEN (c.gamma >> 4) & 15 = 1
                      THEN (ln(pw.u_given / greatest(tg.frequency, 1e-9)) / ln(2.0::float8)) ELSE 0 END
               + CASE WHEN (c.gamma >> 8) & 15 = 1
                      THEN (ln(pw.u_family / greatest(tf.frequency, 1e-9)) / ln(2.0::float8)) ELSE 0 END
                 AS w
        FROM link_cand c
        JOIN (SELECT g.gamma,
                     sum(p.weight) FILTER (WHERE p.level = (g.gamma >> (4 * p.field_no)) & 15) AS weight,
                     max(p.u) FILTER (WHERE p.field_no = 1 AND p.level = 1) AS u_given,
                     max(p.u) FILTER (WHERE p.field_no = 2 AND p.level = 1) AS u_family
              FROM (SELECT DISTINCT gamma FROM link_cand) g CROSS JOIN ptl.link_parameter p
              GROUP BY g.gamma) pw ON pw.gamma = c.gamma
        LEFT JOIN ptl.link_term_frequency tg ON tg.field_no = 1 AND tg.value = c.given_a
        LEFT JOIN ptl.link_term_frequency tf ON tf.field_no = 2 AND tf.value = c.family_a)
    SELECT sc.a, sc.b, sc.rules, sc.gamma, sc.w,
           CASE WHEN d.decision = 'match' THEN 'reviewer'
                WHEN sc.same_nhs AND (sc.gamma >> 12) & 15 = 4 AND (sc.gamma >> 4) & 15 = 5
                     AND (sc.gamma >> 8) & 15 = 5 THEN 'conflict'
                WHEN sc.same_nhs THEN 'nhs_number'
                WHEN d.decision = 'non_match' THEN NULL
                WHEN sc.w >= link_weight THEN 'probabilistic'
                WHEN sc.w >= review_weight THEN 'review' END AS method
    FROM scored sc
    LEFT JOIN ptl.link_decision d ON d.patient_a = sc.a AND d.patient_b = sc.b;
    -- A reviewer's match on a pair no blocking rule produced still counts.
    INSERT INTO link_edge (a, b, rules, gamma, w, method)
    SELECT d.patient_a, d.patient_b, 0, ptl.link_compare(ra.f, rb.f), 'Infinity', 'reviewer'
    FROM ptl.link_decision d
    JOIN link_rec ra ON ra.patient_id = d.patient_a
    JOIN link_rec rb ON rb.patient_id = d.patient_b
    WHERE d.decision = 'match'
      AND NOT EXISTS (SELECT 1 FROM link_edge e WHERE e.a = d.patient_a AND e.b = d.patient_b);
    DELETE FROM link_edge WHERE method IS NULL;
    ANALYZE link_edge;

    -- 7. Persons: union-find over the links, strongest first (identical NHS
    --    numbers and reviewers' matches before any probabilistic link).
    CREATE TEMP TABLE link_outcome ON COMMIT DROP AS
    SELECT o.*
    FROM (SELECT array_agg(a ORDER BY a, b) AS l, array_agg(b ORDER BY a, b) AS r,
                 array_agg(CASE WHEN method IN ('nhs_number', 'reviewer') THEN 'Infinity' ELSE w END ORDER BY a, b) AS w
          FROM link_edge WHERE method IN ('nhs_number', 'reviewer', 'probabilistic')) e,
         (SELECT array_agg(patient_id ORDER BY patient_id) AS ids,
                 array_agg(nhs_valid ORDER BY patient_id) AS keys
          FROM link_rec
          WHERE patient_id IN (SELECT a FROM link_edge UNION SELECT b FROM link_edge)) rec,
         ptl.link_clusters(rec.ids, rec.keys, e.l, e.r, e.w, s.max_cluster_size) o
    WHERE e.l IS NOT NULL;

    DELETE FROM ptl.link_pair;
    INSERT INTO ptl.link_pair (patient_a, patient_b, rules, gamma, match_weight, match_probability, method, outcome)
    SELECT e.a, e.b, e.rules, e.gamma, e.w,
           CASE WHEN e.w = 'Infinity' THEN 1 ELSE 1 - 1 / (1 + power(2::float8, least(e.w, 1000))) END,
           e.method, o.outcome
    FROM link_edge e
    LEFT JOIN link_outcome o ON o.left_id = e.a AND o.right_id = e.b;

    -- 8. Stable person numbers: a cluster keeps the person number most of
    --    its records had (the larger cluster wins a split); others get new ones.
    CREATE TEMP TABLE link_member ON COMMIT DROP AS
    SELECT r.patient_id, coalesce(c.cluster, r.patient_id) AS cluster
    FROM link_rec r
    LEFT JOIN (SELECT left_id AS patient_id, min(left_cluster) AS cluster FROM link_outcome GROUP BY 1
               UNION
               SELECT right_id, min(right_cluster) FROM link_outcome GROUP BY 1) c USING (patient_id);
    CREATE TEMP TABLE link_person ON COMMIT DROP AS
    WITH votes AS (
        SELECT m.cluster, pl.person_id, count(*) AS n
        FROM link_member m JOIN ptl.person_link pl USING (patient_id)
        GROUP BY m.cluster, pl.person_id),
    best AS (
        SELECT DISTINCT ON (v.cluster) v.cluster, v.person_id, v.n
        FROM votes v ORDER BY v.cluster, v.n DESC, v.person_id),
    kept AS (
        SELECT DISTINCT ON (b.person_id) b.cluster, b.person_id
        FROM best b ORDER BY b.person_id, b.n DESC, b.cluster)
    SELECT c.cluster, coalesce(k.person_id, nextval('ptl.person_id_seq')) AS person_id
    FROM (SELECT DISTINCT cluster FROM link_member) c
    LEFT JOIN kept k USING (cluster);

    DELETE FROM ptl.person_link;
    INSERT INTO ptl.person_link (patient_id, person_id, method, match_weight, linked_at)
    SELECT m.patient_id, p.person_id,
           coalesce(strongest.method, 'single'), strongest.w, clock_timestamp()
    FROM link_member m
    JOIN link_person p USING (cluster)
    LEFT JOIN (
        SELECT DISTINCT ON (x.patient_id) x.patient_id, x.method, x.w
        FROM (SELECT e.a AS patient_id, e.method, e.w FROM link_edge e
              JOIN link_outcome o ON o.left_id = e.a AND o.right_id = e.b AND o.outcome = 'linked'
              UNION ALL
              SELECT e.b, e.method, e.w FROM link_edge e
              JOIN link_outcome o ON o.left_id = e.a AND o.right_id = e.b AND o.outcome = 'linked') x
        ORDER BY x.patient_id, x.method = 'nhs_number' DESC, x.method = 'reviewer' DESC, x.w DESC
        ) strongest USING (patient_id);
    -- Pathway linkage and the clocks join through these next.
    PERFORM ptl.analyze_if_grown('ptl.person_link', run.records);
    PERFORM ptl.analyze_if_grown('ptl.link_pair', (SELECT count(*) FROM ptl.link_pair));

    SELECT count(*) FILTER (WHERE method = 'nhs_number'),
           count(*) FILTER (WHERE method = 'probabilistic'),
           count(*) FILTER (WHERE method = 'conflict'),
           count(*) FILTER (WHERE outcome LIKE 'refused%'),
           count(*) FILTER (WHERE method = 'review')
    INTO run.nhs_number_links, run.probabilistic_links, run.conflicts, run.refused_links, run.review_pairs
    FROM ptl.link_pair;
    run.persons := (SELECT count(DISTINCT person_id) FROM ptl.person_link);
    run.run_by := current_user;
    run.finished_at := clock_timestamp();

    INSERT INTO ptl.link_run (started_at, finished_at, records, candidate_pairs, skipped_blocks, u_sample_pairs,
                              em_iterations, candidate_match_share, prior_weight, nhs_number_links,
                              probabilistic_links, conflicts, refused_links, review_pairs, persons)
    VALUES (run.started_at, run.finished_at, run.records, run.candidate_pairs, run.skipped_blocks,
            run.u_sample_pairs, run.em_iterations, run.candidate_match_share, run.prior_weight,
            run.nhs_number_links, run.probabilistic_links, run.conflicts, run.refused_links,
            run.review_pairs, run.persons)
    RETURNING * INTO run;
    RETURN run;
END
$$;
COMMENT ON FUNCTION ptl.link_persons() IS
    'Links every patient record to an ICS person (ptl.person_link): blocking, identical NHS numbers, a Fellegi-Sunter model estimated from the data, union-find with a chaining guard; returns the run''s figures';

-- Each ICS person with the records behind them.
CREATE VIEW ptl.person_record AS
SELECT pl.person_id, pl.patient_id, p.org_code, p.source_system, p.local_patient_id, p.nhs_number,
       p.given_name, p.family_name, p.date_of_birth, p.sex, p.postcode, pl.method, pl.match_weight
FROM ptl.person_link pl
JOIN ptl.patient p ON p.patient_id = pl.patient_id;
COMMENT ON VIEW ptl.person_record IS 'Every patient record with the ICS person it belongs to';
COMMENT ON COLUMN ptl.person_record.person_id IS 'ICS person';
COMMENT ON COLUMN ptl.person_record.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.person_record.org_code IS 'Organisation holding the record';
COMMENT ON COLUMN ptl.person_record.source_system IS 'System holding it';
COMMENT ON COLUMN ptl.person_record.local_patient_id IS 'Hospital number';
COMMENT ON COLUMN ptl.person_record.nhs_number IS 'Valid NHS number on the record';
COMMENT ON COLUMN ptl.person_record.given_name IS 'Given name as recorded';
COMMENT ON COLUMN ptl.person_record.family_name IS 'Family name as recorded';
COMMENT ON COLUMN ptl.person_record.date_of_birth IS 'Date of birth as recorded';
COMMENT ON COLUMN ptl.person_record.sex IS 'Sex code as recorded';
COMMENT ON COLUMN ptl.person_record.postcode IS 'Postcode as recorded';
COMMENT ON COLUMN ptl.person_record.method IS 'How the record joined the person';
COMMENT ON COLUMN ptl.person_record.match_weight IS 'Weight of that link';

CREATE VIEW ptl.person AS
SELECT pl.person_id,
       count(*) AS records,
       count(DISTINCT p.org_code) AS organisations,
       (array_agg(p.nhs_number ORDER BY p.updated_at DESC) FILTER (WHERE p.nhs_number IS NOT NULL))[1] AS nhs_number,
       (array_agg(p.given_name ORDER BY p.updated_at DESC) FILTER (WHERE p.given_name IS NOT NULL))[1] AS given_name,
       (array_agg(p.family_name ORDER BY p.updated_at DESC) FILTER (WHERE p.family_name IS NOT NULL))[1] AS family_name,
       mode() WITHIN GROUP (ORDER BY p.date_of_birth) AS date_of_birth,
       array_agg(p.org_code || ':' || p.local_patient_id ORDER BY p.org_code, p.local_patient_id) AS local_ids,
       array_agg(pl.patient_id ORDER BY pl.patient_id) AS patient_ids
FROM ptl.person_link pl
JOIN ptl.patient p ON p.patient_id = pl.patient_id
GROUP BY pl.person_id;
COMMENT ON VIEW ptl.person IS 'ICS persons: each with how many records and organisations hold them, and the identifiers behind them';
COMMENT ON COLUMN ptl.person.person_id IS 'ICS person';
COMMENT ON COLUMN ptl.person.records IS 'Patient records linked to the person';
COMMENT ON COLUMN ptl.person.organisations IS 'Organisations holding them';
COMMENT ON COLUMN ptl.person.nhs_number IS 'Valid NHS number of the most recently updated record that has one';
COMMENT ON COLUMN ptl.person.given_name IS 'Given name of the most recently updated record';
COMMENT ON COLUMN ptl.person.family_name IS 'Family name of the most recently updated record';
COMMENT ON COLUMN ptl.person.date_of_birth IS 'Most common date of birth among the records';
COMMENT ON COLUMN ptl.person.local_ids IS 'organisation:hospital number of each record';
COMMENT ON COLUMN ptl.person.patient_ids IS 'ptl patient record ids';

-- Clerical review: pairs between the thresholds, and links the guard refused.
CREATE VIEW ptl.link_review AS
SELECT lp.patient_a, lp.patient_b, lp.match_weight, lp.match_probability,
       CASE WHEN lp.outcome LIKE 'refused%' THEN lp.outcome ELSE 'between_thresholds' END AS why,
       a.org_code AS org_a, b.org_code AS org_b,
       a.nhs_number_as_recorded AS nhs_number_a, b.nhs_number_as_recorded AS nhs_number_b,
       a.given_name AS given_name_a, b.given_name AS given_name_b,
       a.family_name AS family_name_a, b.family_name AS family_name_b,
       a.date_of_birth AS date_of_birth_a, b.date_of_birth AS date_of_birth_b,
       a.postcode AS postcode_a, b.postcode AS postcode_b
FROM ptl.link_pair lp
JOIN ptl.patient a ON a.patient_id = lp.patient_a
JOIN ptl.patient b ON b.patient_id = lp.patient_b
WHERE (lp.method = 'review' OR lp.outcome LIKE 'refused%')
  AND NOT EXISTS (SELECT 1 FROM ptl.link_decision d WHERE d.patient_a = lp.patient_a AND d.patient_b = lp.patient_b);
COMMENT ON VIEW ptl.link_review IS
    'Record pairs for clerical review: match probability between the review and link thresholds, or a link the chaining guard refused; decide in ptl.link_decision';
COMMENT ON COLUMN ptl.link_review.patient_a IS 'One record';
COMMENT ON COLUMN ptl.link_review.patient_b IS 'The other';
COMMENT ON COLUMN ptl.link_review.match_weight IS 'Match weight (ptl.link_explain shows its parts)';
COMMENT ON COLUMN ptl.link_review.match_probability IS 'Match probability';
COMMENT ON COLUMN ptl.link_review.why IS 'between_thresholds, refused_nhs_number or refused_size';
COMMENT ON COLUMN ptl.link_review.org_a IS 'Organisation of record a';
COMMENT ON COLUMN ptl.link_review.org_b IS 'Organisation of record b';
COMMENT ON COLUMN ptl.link_review.nhs_number_a IS 'NHS number as recorded on a';
COMMENT ON COLUMN ptl.link_review.nhs_number_b IS 'NHS number as recorded on b';
COMMENT ON COLUMN ptl.link_review.given_name_a IS 'Given name on a';
COMMENT ON COLUMN ptl.link_review.given_name_b IS 'Given name on b';
COMMENT ON COLUMN ptl.link_review.family_name_a IS 'Family name on a';
COMMENT ON COLUMN ptl.link_review.family_name_b IS 'Family name on b';
COMMENT ON COLUMN ptl.link_review.date_of_birth_a IS 'Date of birth on a';
COMMENT ON COLUMN ptl.link_review.date_of_birth_b IS 'Date of birth on b';
COMMENT ON COLUMN ptl.link_review.postcode_a IS 'Postcode on a';
COMMENT ON COLUMN ptl.link_review.postcode_b IS 'Postcode on b';

CREATE VIEW ptl.link_conflict AS
SELECT lp.patient_a, lp.patient_b, a.nhs_number,
       a.given_name AS given_name_a, b.given_name AS given_name_b,
       a.family_name AS family_name_a, b.family_name AS family_name_b,
       a.date_of_birth AS date_of_birth_a, b.date_of_birth AS date_of_birth_b
FROM ptl.link_pair lp
JOIN ptl.patient a ON a.patient_id = lp.patient_a
JOIN ptl.patient b ON b.patient_id = lp.patient_b
WHERE lp.method = 'conflict';
COMMENT ON VIEW ptl.link_conflict IS
    'Records sharing a valid NHS number whose date of birth and both names all differ: not linked, for the trusts to correct';
COMMENT ON COLUMN ptl.link_conflict.patient_a IS 'One record';
COMMENT ON COLUMN ptl.link_conflict.patient_b IS 'The other';
COMMENT ON COLUMN ptl.link_conflict.nhs_number IS 'The NHS number both carry';
COMMENT ON COLUMN ptl.link_conflict.given_name_a IS 'Given name on a';
COMMENT ON COLUMN ptl.link_conflict.given_name_b IS 'Given name on b';
COMMENT ON COLUMN ptl.link_conflict.family_name_a IS 'Family name on a';
COMMENT ON COLUMN ptl.link_conflict.family_name_b IS 'Family name on b';
COMMENT ON COLUMN ptl.link_conflict.date_of_birth_a IS 'Date of birth on a';
COMMENT ON COLUMN ptl.link_conflict.date_of_birth_b IS 'Date of birth on b';

-- Why two records do or do not link: each field's level and weight.
CREATE FUNCTION ptl.link_explain(patient_a bigint, patient_b bigint)
RETURNS TABLE (field text, value_a text, value_b text, level int, level_label text,
               m float8, u float8, weight float8)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    WITH r AS (
        SELECT ptl.link_fields_of(a) AS fa, ptl.link_fields_of(b) AS fb,
               ptl.link_compare(ptl.link_fields_of(a), ptl.link_fields_of(b)) AS gamma
        FROM ptl.patient a, ptl.patient b
        WHERE a.patient_id = link_explain.patient_a AND b.patient_id = link_explain.patient_b),
    v AS (
        SELECT x.field_no, x.value_a, x.value_b, r.gamma
        FROM r, LATERAL (VALUES
            (0, (r.fa).nhs_number, (r.fb).nhs_number),
            (1, (r.fa).given_name, (r.fb).given_name),
            (2, (r.fa).family_name, (r.fb).family_name),
            (3, (r.fa).date_of_birth::text, (r.fb).date_of_birth::text),
            (4, (r.fa).sex, (r.fb).sex),
            (5, (r.fa).postcode, (r.fb).postcode),
            (6, (r.fa).address, (r.fb).address)) AS x (field_no, value_a, value_b)),
    f AS (
        SELECT v.field_no, lv.field, v.value_a, v.value_b, lv.level, lv.label, p.m,
               -- an exact name weighs against its own frequency (term-frequency adjustment)
               CASE WHEN lv.level = 1 AND v.field_no IN (1, 2) THEN coalesce(tf.frequency, p.u) ELSE p.u END AS u
        FROM v
        JOIN ptl.link_level lv ON lv.field_no = v.field_no AND lv.level = (v.gamma >> (4 * v.field_no)) & 15
        LEFT JOIN ptl.link_parameter p ON p.field_no = lv.field_no AND p.level = lv.level
        LEFT JOIN ptl.link_term_frequency tf ON tf.field_no = v.field_no AND tf.value = v.value_a)
    SELECT 'prior', NULL, NULL, NULL, 'two records drawn at random', NULL, NULL,
           (SELECT prior_weight FROM ptl.link_run ORDER BY run_id DESC LIMIT 1)
    UNION ALL
    (SELECT f.field, f.value_a, f.value_b, f.level, f.label, f.m, f.u,
            CASE WHEN f.level = 0 THEN 0 ELSE ln(f.m / f.u) / ln(2.0::float8) END
     FROM f ORDER BY f.field_no)
    UNION ALL
    SELECT 'total', NULL, NULL, NULL, 'match probability ' || round((1 - 1 / (1 + power(2::float8, least(t.w, 1000))))::numeric, 6),
           NULL, NULL, t.w
    FROM (SELECT (SELECT prior_weight FROM ptl.link_run ORDER BY run_id DESC LIMIT 1)
                 + sum(CASE WHEN f.level = 0 THEN 0 ELSE ln(f.m / f.u) / ln(2.0::float8) END) AS w
          FROM f) t;
END;
COMMENT ON FUNCTION ptl.link_explain(bigint, bigint) IS
    'Why two patient records do or do not link under the last estimated model: the prior, each field''s values, comparison level, m, u and weight, and the total with its match probability';
-- ---------------------------------------------------------------------------
-- link/pathway: records of one pathway at several providers become one ICS
-- pathway (rtt-rules.md 6.3, 4.8), so a transferred clock keeps its original
-- start and the PTL counts each period once.
--
--  * Records with the same issuer and PPID are one pathway (the receiving
--    provider must keep them, Annex C).
--  * A transfer_out at one provider and a transfer_in at another, for the
--    same ICS person, within the setting transfer_window_days, is a matched
--    transfer when both records carry the same PPID, or when the receiver's
--    original clock start is the sender's (then they are one pathway even if
--    the receiver issued a new PPID).
--  * The receiver's clock then runs on the merged events: the sender's up
--    to its transfer out, then its own (its transfer_in, a handover, is left
--    out: the clock does not restart).  See ptl.rtt_compute.
--  * Two records of one person in different ICS pathways, with the same
--    UBRN, or in the same treatment function both open, are duplicates:
--    listed in ptl.pathway_duplicate and counted once (the earlier clock
--    start is kept).
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.pathway_link (
    pathway_id      bigint PRIMARY KEY REFERENCES ptl.pathway (pathway_id) ON DELETE CASCADE,
    ics_pathway_id  bigint NOT NULL,
    method          text NOT NULL CHECK (method IN ('own', 'ppid', 'transfer')),
    linked_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pathway_link_ics_idx ON ptl.pathway_link (ics_pathway_id);
COMMENT ON TABLE ptl.pathway_link IS
    'The ICS pathway of every pathway record (named by its smallest record id), and how its records were joined';
COMMENT ON COLUMN ptl.pathway_link.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.pathway_link.ics_pathway_id IS 'ICS pathway: the smallest pathway_id among its records';
COMMENT ON COLUMN ptl.pathway_link.method IS
    'own (no other record), ppid (joined by issuer and PPID) or transfer (joined by a matched transfer out and in)';
COMMENT ON COLUMN ptl.pathway_link.linked_at IS 'When';

-- Matched transfers, one row per receiving record and each provider before
-- it (a pathway transferred twice gives its last receiver two senders).
CREATE TABLE ptl.pathway_transfer (
    receiver_pathway_id bigint NOT NULL REFERENCES ptl.pathway (pathway_id) ON DELETE CASCADE,
    sender_pathway_id   bigint NOT NULL REFERENCES ptl.pathway (pathway_id) ON DELETE CASCADE,
    transferred_out_on  date NOT NULL,
    transfer_in_event_id bigint,
    direct              boolean NOT NULL,
    PRIMARY KEY (receiver_pathway_id, sender_pathway_id)
);
CREATE INDEX pathway_transfer_sender_idx ON ptl.pathway_transfer (sender_pathway_id);
COMMENT ON TABLE ptl.pathway_transfer IS
    'Inter-provider transfers matched by ptl.link_pathways: the receiver''s clock runs on the sender''s events up to the transfer out';
COMMENT ON COLUMN ptl.pathway_transfer.receiver_pathway_id IS 'Record at the receiving provider';
COMMENT ON COLUMN ptl.pathway_transfer.sender_pathway_id IS 'Record at a provider that held the pathway before';
COMMENT ON COLUMN ptl.pathway_transfer.transferred_out_on IS 'Date the sender transferred it out: its events up to then are merged';
COMMENT ON COLUMN ptl.pathway_transfer.transfer_in_event_id IS 'The receiver''s transfer_in event for a direct transfer (left out of the merged events)';
COMMENT ON COLUMN ptl.pathway_transfer.direct IS 'False for an earlier provider reached through a chain of transfers';

CREATE TABLE ptl.pathway_duplicate (
    pathway_id          bigint PRIMARY KEY REFERENCES ptl.pathway (pathway_id) ON DELETE CASCADE,
    kept_pathway_id     bigint NOT NULL REFERENCES ptl.pathway (pathway_id) ON DELETE CASCADE,
    reason              text NOT NULL CHECK (reason IN ('same_ubrn', 'open_twice')),
    found_on            date NOT NULL
);
COMMENT ON TABLE ptl.pathway_duplicate IS
    'Pathway records that duplicate another record of the same person (same UBRN, or the same treatment function open twice): not counted on the PTL';
COMMENT ON COLUMN ptl.pathway_duplicate.pathway_id IS 'The duplicate record (left off the PTL)';
COMMENT ON COLUMN ptl.pathway_duplicate.kept_pathway_id IS 'The record counted instead: the earlier clock start, then the smaller id';
COMMENT ON COLUMN ptl.pathway_duplicate.reason IS 'same_ubrn or open_twice (same person and treatment function, both open)';
COMMENT ON COLUMN ptl.pathway_duplicate.found_on IS 'Census of the refresh that found it';

CREATE FUNCTION ptl.link_pathways(OUT records bigint, OUT ics_pathways bigint, OUT transfers bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET client_min_messages = warning
AS $$
DECLARE
    s ptl.link_setting := ptl.link_setting_in_force();
BEGIN
    LOCK TABLE ptl.pathway_link IN SHARE ROW EXCLUSIVE MODE;
    DROP TABLE IF EXISTS pathway_edge;

    -- Direct transfers: a transfer out (kind or status 21) matched to the
    -- other provider's transfer in that carries the sender's start.
    DELETE FROM ptl.pathway_transfer;
    INSERT INTO ptl.pathway_transfer (receiver_pathway_id, sender_pathway_id, transferred_out_on,
                                      transfer_in_event_id, direct)
    SELECT DISTINCT ON (ti.pathway_id, so.pathway_id)
           ti.pathway_id, so.pathway_id, so.event_date, ti.event_id, true
    FROM ptl.pathway_event so
    JOIN ptl.pathway sp ON sp.pathway_id = so.pathway_id
    JOIN ptl.person_link spl ON spl.patient_id = sp.patient_id
    JOIN ptl.person_link rpl ON rpl.person_id = spl.person_id
    JOIN ptl.pathway rp ON rp.patient_id = rpl.patient_id AND rp.provider_org <> sp.provider_org
    JOIN ptl.pathway_event ti ON ti.pathway_id = rp.pathway_id AND ti.kind = 'transfer_in'
    WHERE (so.kind = 'transfer_out' OR so.rtt_status = '21')
      AND ti.event_date BETWEEN so.event_date AND so.event_date + s.transfer_window_days
      -- the same pathway identifier, or the sender's original start carried over
      AND ((rp.ppid_issuer, rp.ppid) = (sp.ppid_issuer, sp.ppid)
           OR ti.ref_date = coalesce((SELECT min(e.ref_date) FROM ptl.pathway_event e
                                      WHERE e.pathway_id = sp.pathway_id AND e.kind = 'transfer_in'),
                                     sp.referral_received))
    ORDER BY ti.pathway_id, so.pathway_id, so.event_date DESC;

    -- Earlier providers of a chain of transfers, up to each one's own transfer out.
    INSERT INTO ptl.pathway_transfer (receiver_pathway_id, sender_pathway_id, transferred_out_on,
                                      transfer_in_event_id, direct)
    WITH RECURSIVE chain AS (
        SELECT t.receiver_pathway_id, t.sender_pathway_id, ARRAY[t.receiver_pathway_id, t.sender_pathway_id] AS seen
        FROM ptl.pathway_transfer t
        UNION ALL
        SELECT c.receiver_pathway_id, t.sender_pathway_id, c.seen || t.sender_pathway_id
        FROM chain c JOIN ptl.pathway_transfer t ON t.receiver_pathway_id = c.sender_pathway_id AND t.direct
        WHERE t.sender_pathway_id <> ALL (c.seen))
    SELECT DISTINCT ON (c.receiver_pathway_id, c.sender_pathway_id)
           c.receiver_pathway_id, c.sender_pathway_id, t.transferred_out_on, NULL::bigint, false
    FROM chain c
    JOIN ptl.pathway_transfer t ON t.sender_pathway_id = c.sender_pathway_id AND t.direct
    WHERE NOT EXISTS (SELECT 1 FROM ptl.pathway_transfer d
                      WHERE d.receiver_pathway_id = c.receiver_pathway_id AND d.sender_pathway_id = c.sender_pathway_id)
    ORDER BY c.receiver_pathway_id, c.sender_pathway_id, t.transferred_out_on DESC;

    -- Edges: same issuer and PPID (each record to the first), and transfers.
    CREATE TEMP TABLE pathway_edge ON COMMIT DROP AS
    SELECT least(x.first_id, x.pathway_id) AS a, greatest(x.first_id, x.pathway_id) AS b, 'ppid' AS method
    FROM (SELECT p.pathway_id, min(p.pathway_id) OVER (PARTITION BY p.ppid_issuer, p.ppid) AS first_id
          FROM ptl.pathway p) x
    WHERE x.pathway_id <> x.first_id
    UNION
    SELECT least(t.receiver_pathway_id, t.sender_pathway_id), greatest(t.receiver_pathway_id, t.sender_pathway_id),
           'transfer'
    FROM ptl.pathway_transfer t WHERE t.direct;

    DELETE FROM ptl.pathway_link;
    INSERT INTO ptl.pathway_link (pathway_id, ics_pathway_id, method)
    WITH joined AS (
        SELECT o.*
        FROM (SELECT array_agg(a ORDER BY a, b) AS l, array_agg(b ORDER BY a, b) AS r,
                     array_agg('Infinity'::float8) AS w
              FROM pathway_edge) e,
             (SELECT array_agg(id ORDER BY id) AS ids, array_agg(NULL::text) AS keys
              FROM (SELECT a AS id FROM pathway_edge UNION SELECT b FROM pathway_edge) x) rec,
             ptl.link_clusters(rec.ids, rec.keys, e.l, e.r, e.w, 2147483647) o
        WHERE e.l IS NOT NULL),
    member AS (
        SELECT left_id AS pathway_id, left_cluster AS ics_pathway_id FROM joined
        UNION
        SELECT right_id, right_cluster FROM joined),
    by_ppid AS (
        SELECT a AS pathway_id FROM pathway_edge WHERE method = 'ppid'
        UNION
        SELECT b FROM pathway_edge WHERE method = 'ppid')
    SELECT p.pathway_id, coalesce(m.ics_pathway_id, p.pathway_id),
           CASE WHEN m.pathway_id IS NULL THEN 'own'
                WHEN pp.pathway_id IS NOT NULL THEN 'ppid'
                ELSE 'transfer' END
    FROM ptl.pathway p
    LEFT JOIN member m ON m.pathway_id = p.pathway_id
    LEFT JOIN by_ppid pp ON pp.pathway_id = p.pathway_id;

    records := (SELECT count(*) FROM ptl.pathway_link);
    PERFORM ptl.analyze_if_grown('ptl.pathway_link', records);
    PERFORM ptl.analyze_if_grown('ptl.pathway_transfer', (SELECT count(*) FROM ptl.pathway_transfer));
    ics_pathways := (SELECT count(DISTINCT ics_pathway_id) FROM ptl.pathway_link);
    transfers := (SELECT count(*) FROM ptl.pathway_transfer WHERE direct);
END
$$;
COMMENT ON FUNCTION ptl.link_pathways() IS
    'Joins pathway records into ICS pathways (same issuer and PPID, or a matched transfer out and in of one person) and lists the transfers whose receivers'' clocks run on merged events; needs ptl.person_link';

-- Duplicates among the open pathways of the last refresh.
CREATE FUNCTION ptl.find_pathway_duplicates(census date) RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM ptl.pathway_duplicate;
    INSERT INTO ptl.pathway_duplicate (pathway_id, kept_pathway_id, reason, found_on)
    WITH open_record AS (
        SELECT r.pathway_id, p.ubrn, p.treatment_function, pl.person_id, l.ics_pathway_id,
               min(r.clock_start) AS clock_start
        FROM ptl.rtt_period r
        JOIN ptl.rtt_pathway rp ON rp.pathway_id = r.pathway_id AND rp.responsible
        JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
        JOIN ptl.person_link pl ON pl.patient_id = p.patient_id
        JOIN ptl.pathway_link l ON l.pathway_id = r.pathway_id
        WHERE r.outcome = 'incomplete'
        GROUP BY r.pathway_id, p.ubrn, p.treatment_function, pl.person_id, l.ics_pathway_id),
    pair AS (
        SELECT a.pathway_id, b.pathway_id AS other_id, b.clock_start AS other_start, a.clock_start,
               CASE WHEN a.ubrn = b.ubrn THEN 'same_ubrn' ELSE 'open_twice' END AS reason
        FROM open_record a
        JOIN open_record b ON b.person_id = a.person_id AND b.pathway_id <> a.pathway_id
                          AND b.ics_pathway_id <> a.ics_pathway_id
                          AND (b.ubrn = a.ubrn OR b.treatment_function = a.treatment_function))
    -- a record is a duplicate when another one should be kept before it
    SELECT DISTINCT ON (x.pathway_id) x.pathway_id, x.other_id, x.reason, census
    FROM pair x
    WHERE (x.other_start, x.other_id) < (x.clock_start, x.pathway_id)
       OR x.clock_start IS NULL AND x.other_start IS NOT NULL
    ORDER BY x.pathway_id, x.other_start NULLS LAST, x.other_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION ptl.find_pathway_duplicates(date) IS
    'Internal to ptl.refresh: lists open pathway records that duplicate another open record of the same person (same UBRN, or the same treatment function), keeping the earliest clock start';

-- ---------------------------------------------------------------------------
-- ops, part 2: who may see which organisation's patients.  A database role
-- (a login, or a group role its logins belong to) is mapped to one or more
-- organisations; mapped to the ICS (organisation.org_kind = 'ics'), or a
-- member of ptl_admin, it sees everything.  The row-level security policies
-- (ops/security.sql) and the PTL view use the functions below.
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.user_organisation (
    role_name   name NOT NULL,
    org_code    text NOT NULL REFERENCES ptl.organisation (org_code) ON UPDATE CASCADE ON DELETE CASCADE,
    granted_at  timestamptz NOT NULL DEFAULT now(),
    granted_by  text NOT NULL DEFAULT current_user,
    PRIMARY KEY (role_name, org_code)
);
SELECT pg_catalog.pg_extension_config_dump('ptl.user_organisation', '');
COMMENT ON TABLE ptl.user_organisation IS
    'Which organisations'' patients a database role may see (through row-level security); a role mapped to the ICS organisation sees all';
COMMENT ON COLUMN ptl.user_organisation.role_name IS 'Database role: a login, or a group role whose members all get the mapping';
COMMENT ON COLUMN ptl.user_organisation.org_code IS 'Organisation (a trust, or the ICS for everything)';
COMMENT ON COLUMN ptl.user_organisation.granted_at IS 'When the mapping was made';
COMMENT ON COLUMN ptl.user_organisation.granted_by IS 'Who made it';

-- The organisations the current user is mapped to (directly or through a
-- role it belongs to).  Not SECURITY DEFINER: current_user must be the
-- caller's, and a caller sees only its own mappings (policy below).
CREATE FUNCTION ptl.my_organisations() RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN coalesce((SELECT array_agg(DISTINCT u.org_code ORDER BY u.org_code) FROM ptl.user_organisation u
                 WHERE pg_catalog.pg_has_role(current_user, u.role_name, 'MEMBER')), '{}');
COMMENT ON FUNCTION ptl.my_organisations() IS
    'Organisations whose patients the current user may see (ptl.user_organisation, through role membership)';

-- Whether the current user is a superuser or belongs to a ptl role (NULL
-- role, e.g. not created yet: no).
CREATE FUNCTION ptl.current_user_in(role_name name) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
    OR (pg_catalog.to_regrole(role_name) IS NOT NULL
        AND pg_catalog.pg_has_role(current_user, role_name, 'MEMBER'));
COMMENT ON FUNCTION ptl.current_user_in(name) IS
    'Whether the current user is a superuser or a member of the role';

-- Sees every organisation: a superuser, a member of ptl_admin, or a role
-- mapped to an organisation of kind ics.
CREATE FUNCTION ptl.sees_all_organisations() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN ptl.current_user_in('ptl_admin')
    OR EXISTS (SELECT 1 FROM ptl.organisation o
               WHERE o.org_kind = 'ics' AND o.org_code = ANY (ptl.my_organisations()));
COMMENT ON FUNCTION ptl.sees_all_organisations() IS
    'Whether the current user sees every organisation''s patients (superuser, ptl_admin, or mapped to the ICS)';

-- May see patient-identifying columns (NHS number, names, date of birth,
-- address, hospital number): a member of ptl_identifiable or ptl_admin.
CREATE FUNCTION ptl.may_identify() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN ptl.current_user_in('ptl_identifiable') OR ptl.current_user_in('ptl_admin');
COMMENT ON FUNCTION ptl.may_identify() IS
    'Whether the current user may see patient-identifying values (member of ptl_identifiable or ptl_admin)';

-- Pathway records another organisation's user sees because of a transfer:
-- the receiver to the sender's organisation and the sender to the
-- receiver's, limited to the caller's organisations.  Runs with its owner's
-- rights (not security_invoker), so a policy on ptl.pathway can use it
-- without the policy reading ptl.pathway through itself.
CREATE VIEW ptl.transferred_pathway_visible AS
SELECT x.receiver_pathway_id AS pathway_id, s.provider_org AS org_code
FROM ptl.pathway_transfer x JOIN ptl.pathway s ON s.pathway_id = x.sender_pathway_id
WHERE s.provider_org = ANY (ptl.my_organisations())
UNION
SELECT x.sender_pathway_id, r.provider_org
FROM ptl.pathway_transfer x JOIN ptl.pathway r ON r.pathway_id = x.receiver_pathway_id
WHERE r.provider_org = ANY (ptl.my_organisations());
COMMENT ON VIEW ptl.transferred_pathway_visible IS
    'Pathway records the current user sees because they were transferred to or from one of its organisations';
COMMENT ON COLUMN ptl.transferred_pathway_visible.pathway_id IS 'Pathway record at the other provider';
COMMENT ON COLUMN ptl.transferred_pathway_visible.org_code IS 'The caller''s organisation it was transferred to or from';
-- ---------------------------------------------------------------------------
-- rtt engine: the RTT clock as functions (C in src/rtt/).  The rules are in
-- docs/rtt-engine.md; section numbers refer to rtt-rules.md.
-- ---------------------------------------------------------------------------

CREATE TYPE ptl.rtt_event AS (
    event_date  date,
    kind        ptl.event_kind,
    rtt_status  ptl.rtt_status,
    ref_date    date
);
COMMENT ON TYPE ptl.rtt_event IS
    'One event of a pathway as the RTT clock engine reads it';
COMMENT ON COLUMN ptl.rtt_event.event_date IS 'Date of the event';
COMMENT ON COLUMN ptl.rtt_event.kind IS 'What happened';
COMMENT ON COLUMN ptl.rtt_event.rtt_status IS 'RTT period status recorded on it, if any';
COMMENT ON COLUMN ptl.rtt_event.ref_date IS
    'transfer_in: original clock start; tci_offer: admission date offered; tci_declined: date declined; death: date of death';

CREATE TYPE ptl.rtt_computed_period AS (
    period_no       int,
    clock_start     date,
    clock_stop      date,
    stop_status     ptl.rtt_status,
    outcome         text,
    days_waited     int,
    week_band       int,
    has_dta         boolean,
    adjusted_days   int
);
COMMENT ON TYPE ptl.rtt_computed_period IS 'One RTT period as the engine computes it (the rows of ptl.rtt_periods)';
COMMENT ON COLUMN ptl.rtt_computed_period.period_no IS 'Period number on the pathway record, from 1';
COMMENT ON COLUMN ptl.rtt_computed_period.clock_start IS 'Clock start; NULL when unknown';
COMMENT ON COLUMN ptl.rtt_computed_period.clock_stop IS 'Clock stop; NULL while incomplete';
COMMENT ON COLUMN ptl.rtt_computed_period.stop_status IS 'Status that stopped the clock';
COMMENT ON COLUMN ptl.rtt_computed_period.outcome IS 'incomplete, admitted, non_admitted or nullified';
COMMENT ON COLUMN ptl.rtt_computed_period.days_waited IS '(stop, or census while incomplete) minus start, in days';
COMMENT ON COLUMN ptl.rtt_computed_period.week_band IS 'Published weekly band 0..104 (ptl.rtt_week_band)';
COMMENT ON COLUMN ptl.rtt_computed_period.has_dta IS 'A decision to admit was made in the period';
COMMENT ON COLUMN ptl.rtt_computed_period.adjusted_days IS 'Wait less pre-October-2015 admitted pauses (back-testing only)';

CREATE TYPE ptl.rtt_computed_issue AS (
    seq         bigint,
    rule_id     text,
    period_no   int,
    detail      text
);
COMMENT ON TYPE ptl.rtt_computed_issue IS
    'An event the clock engine ignored or doubted, with the validation rule it breaks';
COMMENT ON COLUMN ptl.rtt_computed_issue.seq IS 'The event''s seq argument (event_id in the refresh)';
COMMENT ON COLUMN ptl.rtt_computed_issue.rule_id IS 'Validation rule (rtt-rules.md 10.2), e.g. V17';
COMMENT ON COLUMN ptl.rtt_computed_issue.period_no IS 'Period it concerns (the latest one when no clock was running; 0 before any)';
COMMENT ON COLUMN ptl.rtt_computed_issue.detail IS 'What is wrong';

CREATE FUNCTION ptl.rtt_periods(events ptl.rtt_event[], census date,
                                two_week_wait boolean DEFAULT false,
                                dna_discharge_stop text DEFAULT 'discharge_date',
                                death_stop text DEFAULT 'date_of_death')
RETURNS TABLE (period_no int, clock_start date, clock_stop date, stop_status ptl.rtt_status,
               outcome text, days_waited int, week_band int, has_dta boolean, adjusted_days int)
AS 'MODULE_PATHNAME', 'rtt_periods'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 2;
COMMENT ON FUNCTION ptl.rtt_periods(ptl.rtt_event[], date, boolean, text, text) IS
    'The RTT periods of one pathway''s events at a census date, by NHS England''s rules (docs/rtt-engine.md): the reference interface';

CREATE FUNCTION ptl.rtt_event_issues(events ptl.rtt_event[], census date,
                                     two_week_wait boolean DEFAULT false)
RETURNS TABLE (event_no int, rule_id text, period_no int, detail text)
AS 'MODULE_PATHNAME', 'rtt_event_issues'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 1;
COMMENT ON FUNCTION ptl.rtt_event_issues(ptl.rtt_event[], date, boolean) IS
    'Events the clock engine ignored or doubted (validation rules V15, V16, V17, V24, V25, V27), by position in the array';

-- The bulk path.  Both aggregates share one transition function; the final
-- functions sort by (event_date, seq) and fold, so callers need no ORDER BY.
-- SSPACE is the measured state size (about 350 bytes for a three-event
-- pathway), so the planner sees what hashing a million pathways costs;
-- reading them in pathway order (GroupAggregate) is about twice as fast.
CREATE FUNCTION ptl.rtt_periods_agg_transfn(internal, date, ptl.event_kind, ptl.rtt_status,
                                            date, bigint, date, boolean)
RETURNS internal AS 'MODULE_PATHNAME', 'rtt_periods_agg_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ptl.rtt_periods_agg_transfn(internal, date, ptl.event_kind, ptl.rtt_status, date, bigint, date, boolean) IS
    'Transition function of ptl.rtt_periods_agg and ptl.rtt_issues_agg: collects a pathway''s events';
CREATE FUNCTION ptl.rtt_periods_agg_transfn(internal, date, ptl.event_kind, ptl.rtt_status,
                                            date, bigint, date, boolean, text, text)
RETURNS internal AS 'MODULE_PATHNAME', 'rtt_periods_agg_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ptl.rtt_periods_agg_transfn(internal, date, ptl.event_kind, ptl.rtt_status, date, bigint, date, boolean, text, text) IS
    'Transition function of ptl.rtt_periods_agg with the rule choices: collects a pathway''s events';
CREATE FUNCTION ptl.rtt_periods_agg_final(internal) RETURNS ptl.rtt_computed_period[]
AS 'MODULE_PATHNAME', 'rtt_periods_agg_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ptl.rtt_periods_agg_final(internal) IS
    'Final function of ptl.rtt_periods_agg: folds the collected events into periods';
CREATE FUNCTION ptl.rtt_issues_agg_final(internal) RETURNS ptl.rtt_computed_issue[]
AS 'MODULE_PATHNAME', 'rtt_issues_agg_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ptl.rtt_issues_agg_final(internal) IS
    'Final function of ptl.rtt_issues_agg: the events the fold ignored or doubted';

CREATE AGGREGATE ptl.rtt_periods_agg(event_date date, kind ptl.event_kind, rtt_status ptl.rtt_status,
                                     ref_date date, seq bigint, census date, two_week_wait boolean) (
    SFUNC = ptl.rtt_periods_agg_transfn, STYPE = internal, SSPACE = 400,
    FINALFUNC = ptl.rtt_periods_agg_final, FINALFUNC_MODIFY = READ_WRITE,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE ptl.rtt_periods_agg(date, ptl.event_kind, ptl.rtt_status, date, bigint, date, boolean) IS
    'Bulk RTT clock: a pathway''s event rows (same-day ties broken by seq) to the array of periods ptl.rtt_periods returns';
CREATE AGGREGATE ptl.rtt_periods_agg(event_date date, kind ptl.event_kind, rtt_status ptl.rtt_status,
                                     ref_date date, seq bigint, census date, two_week_wait boolean,
                                     dna_discharge_stop text, death_stop text) (
    SFUNC = ptl.rtt_periods_agg_transfn, STYPE = internal, SSPACE = 400,
    FINALFUNC = ptl.rtt_periods_agg_final, FINALFUNC_MODIFY = READ_WRITE,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE ptl.rtt_periods_agg(date, ptl.event_kind, ptl.rtt_status, date, bigint, date, boolean, text, text) IS
    'Bulk RTT clock with the rule choices of docs/rtt-engine.md (Q2, Q6)';
CREATE AGGREGATE ptl.rtt_issues_agg(event_date date, kind ptl.event_kind, rtt_status ptl.rtt_status,
                                    ref_date date, seq bigint, census date, two_week_wait boolean) (
    SFUNC = ptl.rtt_periods_agg_transfn, STYPE = internal, SSPACE = 400,
    FINALFUNC = ptl.rtt_issues_agg_final, FINALFUNC_MODIFY = READ_WRITE,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE ptl.rtt_issues_agg(date, ptl.event_kind, ptl.rtt_status, date, bigint, date, boolean) IS
    'Bulk form of ptl.rtt_event_issues: a pathway''s event rows to the events the fold ignored or doubted';

CREATE FUNCTION ptl.rtt_week_band(days int) RETURNS int
AS 'MODULE_PATHNAME', 'rtt_week_band'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.rtt_week_band(int) IS
    'Published weekly band of a wait in days (rtt-rules.md 5.2): 0 = 0-7 days, k = 7k+1..7k+7, 104 = over 104 weeks (729+ days)';

-- Thresholds are judged on days: "over N weeks" is more than 7N days, so 126
-- days is within 18 weeks and 364 days is not over 52 (rtt-rules.md 5.2).
CREATE FUNCTION ptl.rtt_over_weeks(days int, weeks int) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN days > 7 * weeks;
COMMENT ON FUNCTION ptl.rtt_over_weeks(int, int) IS
    'True when a wait of "days" is over "weeks" weeks (days > 7 x weeks): 127 days is over 18 weeks, 126 is not';

CREATE FUNCTION ptl.rtt_week_band_label(band int) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN band >= 104 THEN 'Gt 104 Weeks SUM 1'
            WHEN band >= 10 THEN pg_catalog.format('Gt %s To %s Weeks SUM 1', band, band + 1)
            ELSE pg_catalog.format('Gt 0%s To %s Weeks SUM 1', band,
                                   pg_catalog.lpad((band + 1)::text, 2, '0')) END;
COMMENT ON FUNCTION ptl.rtt_week_band_label(int) IS
    'Column name of a weekly band in NHS England''s full CSV extract: Gt 00 To 01 Weeks SUM 1 ... Gt 104 Weeks SUM 1';
-- ---------------------------------------------------------------------------
-- rtt refresh: the clock engine run over the canonical tables.  Triggers mark
-- pathways whose events change; ptl.refresh() recomputes those (or all) in
-- one transaction, stores their periods and the events the engine doubted,
-- and takes a census snapshot for trends.
-- ---------------------------------------------------------------------------

-- The choices rtt-rules.md leaves open, and validation thresholds.  Rows are
-- a history: the latest is in force.  ptl ships one row of defaults (left out
-- of pg_dump, CREATE EXTENSION writes it again); a trust changes a setting by
-- inserting a row, e.g. INSERT INTO ptl.rtt_setting (death_stop) VALUES
-- ('date_notified'), and the columns it does not give take the defaults.
CREATE TABLE ptl.rtt_setting (
    setting_id              bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    set_at                  timestamptz NOT NULL DEFAULT now(),
    set_by                  text NOT NULL DEFAULT current_user,
    shipped                 boolean NOT NULL DEFAULT false,
    dna_discharge_stop      text NOT NULL DEFAULT 'discharge_date'
                            CHECK (dna_discharge_stop IN ('discharge_date', 'dna_date')),
    death_stop              text NOT NULL DEFAULT 'date_of_death'
                            CHECK (death_stop IN ('date_of_death', 'date_notified')),
    two_week_wait_first_dna_nullifies boolean NOT NULL DEFAULT false,
    part3_counts_nullified  boolean NOT NULL DEFAULT false,
    unbooked_days           int NOT NULL DEFAULT 84 CHECK (unbooked_days > 0),
    status_unknown_days     int NOT NULL DEFAULT 28 CHECK (status_unknown_days > 0),
    lost_transfer_days      int NOT NULL DEFAULT 28 CHECK (lost_transfer_days > 0),
    revalidate_days         int NOT NULL DEFAULT 84 CHECK (revalidate_days > 0)
);
INSERT INTO ptl.rtt_setting (setting_id, set_at, set_by, shipped) VALUES (0, '-infinity', 'ptl', true);
SELECT pg_catalog.pg_extension_config_dump('ptl.rtt_setting', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('ptl.rtt_setting_setting_id_seq', '');
COMMENT ON TABLE ptl.rtt_setting IS
    'How ptl reads the RTT rules where NHS England''s guidance leaves a choice, and the validation thresholds: a history, the latest row is in force (insert a row to change)';
COMMENT ON COLUMN ptl.rtt_setting.setting_id IS 'Row number (0 = the defaults ptl ships)';
COMMENT ON COLUMN ptl.rtt_setting.set_at IS 'When the settings were set';
COMMENT ON COLUMN ptl.rtt_setting.set_by IS 'Who set them';
COMMENT ON COLUMN ptl.rtt_setting.shipped IS 'True for the defaults row ptl ships';
COMMENT ON COLUMN ptl.rtt_setting.dna_discharge_stop IS
    'Stop date of a discharge (34) after a later DNA: discharge_date (default; rule 5 "when communicated") or dna_date (the guidance''s worked example) - rtt-rules.md Q2';
COMMENT ON COLUMN ptl.rtt_setting.death_stop IS
    'Stop date of a death: date_of_death when the event carries it (default) or date_notified - rtt-rules.md Q6';
COMMENT ON COLUMN ptl.rtt_setting.two_week_wait_first_dna_nullifies IS
    'False (default, NHS Data Dictionary): a first DNA on a two-week-wait referral does not nullify the period; true follows the NHSE guidance, which has no exception - rtt-rules.md Q3';
COMMENT ON COLUMN ptl.rtt_setting.part3_counts_nullified IS
    'Whether Part 3 (new RTT periods) counts periods later nullified by a first DNA; default false, as a nullified period is excluded from all counts - rtt-rules.md Q9';
COMMENT ON COLUMN ptl.rtt_setting.unbooked_days IS 'V10: days since the last event after which an open pathway with nothing booked and no DTA is flagged';
COMMENT ON COLUMN ptl.rtt_setting.status_unknown_days IS 'V27: days after which a status 99 (not yet known) on an open pathway is flagged';
COMMENT ON COLUMN ptl.rtt_setting.lost_transfer_days IS 'V19: days after a transfer out within which the receiving provider''s record must appear';
COMMENT ON COLUMN ptl.rtt_setting.revalidate_days IS 'V26: pathways over 12 weeks must have been validated within this many days';

CREATE FUNCTION ptl.rtt_setting_in_force() RETURNS ptl.rtt_setting
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN (SELECT s FROM ptl.rtt_setting s ORDER BY s.set_at DESC, s.setting_id DESC LIMIT 1);
COMMENT ON FUNCTION ptl.rtt_setting_in_force() IS 'The RTT settings in force: the latest row of ptl.rtt_setting';

-- Pathways whose clock must be recomputed at the next refresh.
CREATE TABLE ptl.rtt_dirty_pathway (
    pathway_id  bigint PRIMARY KEY
);
COMMENT ON TABLE ptl.rtt_dirty_pathway IS
    'Pathways whose events or RTT-relevant fields changed since the last refresh (filled by triggers, emptied by ptl.refresh)';
COMMENT ON COLUMN ptl.rtt_dirty_pathway.pathway_id IS 'The pathway record';

-- Statement-level triggers with transition tables: one INSERT of distinct
-- ids per statement, not one per row, so a bulk load pays little for them.
-- Every trigger names its transition table changed_rows (the new rows of an
-- insert, the old ones of a delete, both of an update), so one function serves.
CREATE FUNCTION ptl.mark_dirty_pathways() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
BEGIN
    INSERT INTO ptl.rtt_dirty_pathway (pathway_id)
    SELECT DISTINCT pathway_id FROM changed_rows
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ptl.mark_dirty_pathways() IS
    'Trigger: marks the pathways of inserted, updated or deleted rows for the next refresh';

CREATE TRIGGER pathway_event_inserted AFTER INSERT ON ptl.pathway_event
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.mark_dirty_pathways();
CREATE TRIGGER pathway_event_updated_new AFTER UPDATE ON ptl.pathway_event
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.mark_dirty_pathways();
CREATE TRIGGER pathway_event_updated_old AFTER UPDATE ON ptl.pathway_event
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.mark_dirty_pathways();
CREATE TRIGGER pathway_event_deleted AFTER DELETE ON ptl.pathway_event
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.mark_dirty_pathways();
-- A pathway's referral priority decides the two-week-wait rule.
CREATE TRIGGER pathway_inserted AFTER INSERT ON ptl.pathway
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.mark_dirty_pathways();
CREATE TRIGGER pathway_updated AFTER UPDATE ON ptl.pathway
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.mark_dirty_pathways();

-- Per pathway record: when it was computed and who reports it.
CREATE TABLE ptl.rtt_pathway (
    pathway_id          bigint PRIMARY KEY REFERENCES ptl.pathway (pathway_id) ON DELETE CASCADE,
    census              date NOT NULL,
    computed_at         timestamptz NOT NULL DEFAULT now(),
    periods             int NOT NULL,
    responsible         boolean NOT NULL,
    transferred_out_on  date,
    last_event_date     date,
    next_event_date     date,
    next_booked_date    date,
    next_booked_kind    ptl.event_kind
);
CREATE INDEX rtt_pathway_next_event_idx ON ptl.rtt_pathway (next_event_date) WHERE next_event_date IS NOT NULL;
COMMENT ON TABLE ptl.rtt_pathway IS
    'Clock state of each pathway record at the last refresh: the census used, whether this provider reports it, what comes next';
COMMENT ON COLUMN ptl.rtt_pathway.pathway_id IS 'The pathway record';
COMMENT ON COLUMN ptl.rtt_pathway.census IS 'Census date its periods were computed at';
COMMENT ON COLUMN ptl.rtt_pathway.computed_at IS 'When';
COMMENT ON COLUMN ptl.rtt_pathway.periods IS 'Number of RTT periods';
COMMENT ON COLUMN ptl.rtt_pathway.responsible IS
    'False once the provider has transferred clinical responsibility (transfer_out or status 21 with no later transfer back): the receiver reports the period (rtt-rules.md 4.8)';
COMMENT ON COLUMN ptl.rtt_pathway.transferred_out_on IS 'Date of the transfer out that ended this provider''s responsibility';
COMMENT ON COLUMN ptl.rtt_pathway.last_event_date IS 'Latest event on or before the census';
COMMENT ON COLUMN ptl.rtt_pathway.next_event_date IS
    'First event dated after the census: when a later census passes it, the pathway is recomputed';
COMMENT ON COLUMN ptl.rtt_pathway.next_booked_date IS 'Next booked date: an event after the census, or an admission date offered and not declined';
COMMENT ON COLUMN ptl.rtt_pathway.next_booked_kind IS 'Kind of the next booked event (tci_offer for an admission date)';

CREATE TABLE ptl.rtt_period (
    pathway_id      bigint NOT NULL REFERENCES ptl.rtt_pathway (pathway_id) ON DELETE CASCADE,
    period_no       int NOT NULL,
    census          date NOT NULL,
    clock_start     date,
    clock_stop      date,
    stop_status     ptl.rtt_status,
    outcome         text NOT NULL CHECK (outcome IN ('incomplete', 'admitted', 'non_admitted', 'nullified')),
    days_waited     int,
    week_band       int,
    has_dta         boolean NOT NULL,
    adjusted_days   int,
    PRIMARY KEY (pathway_id, period_no)
);
CREATE INDEX rtt_period_incomplete_idx ON ptl.rtt_period (days_waited DESC) WHERE outcome = 'incomplete';
CREATE INDEX rtt_period_stop_idx ON ptl.rtt_period (clock_stop) WHERE clock_stop IS NOT NULL;
COMMENT ON TABLE ptl.rtt_period IS
    'Every RTT period of every pathway record as ptl.rtt_periods computes it at the census of the last refresh';
COMMENT ON COLUMN ptl.rtt_period.pathway_id IS 'The pathway record';
COMMENT ON COLUMN ptl.rtt_period.period_no IS 'Period number, from 1';
COMMENT ON COLUMN ptl.rtt_period.census IS 'Census date days_waited is measured at (for incomplete periods)';
COMMENT ON COLUMN ptl.rtt_period.clock_start IS 'Clock start; NULL when unknown';
COMMENT ON COLUMN ptl.rtt_period.clock_stop IS 'Clock stop; NULL while incomplete';
COMMENT ON COLUMN ptl.rtt_period.stop_status IS 'Status that stopped the clock';
COMMENT ON COLUMN ptl.rtt_period.outcome IS 'incomplete, admitted, non_admitted or nullified';
COMMENT ON COLUMN ptl.rtt_period.days_waited IS 'Days waited (to the stop, or to the census while incomplete)';
COMMENT ON COLUMN ptl.rtt_period.week_band IS 'Published weekly band 0..104';
COMMENT ON COLUMN ptl.rtt_period.has_dta IS 'A decision to admit was made in the period';
COMMENT ON COLUMN ptl.rtt_period.adjusted_days IS 'Pre-October-2015 adjusted wait (back-testing only)';

CREATE TABLE ptl.rtt_event_issue (
    pathway_id  bigint NOT NULL REFERENCES ptl.rtt_pathway (pathway_id) ON DELETE CASCADE,
    event_id    bigint NOT NULL,
    rule_id     text NOT NULL,
    period_no   int NOT NULL,
    detail      text NOT NULL,
    PRIMARY KEY (pathway_id, event_id, rule_id)
);
COMMENT ON TABLE ptl.rtt_event_issue IS
    'Events the clock engine ignored or doubted at the last refresh (rules V15, V16, V17, V24, V25, V27)';
COMMENT ON COLUMN ptl.rtt_event_issue.pathway_id IS 'The pathway record';
COMMENT ON COLUMN ptl.rtt_event_issue.event_id IS 'The event';
COMMENT ON COLUMN ptl.rtt_event_issue.rule_id IS 'Validation rule';
COMMENT ON COLUMN ptl.rtt_event_issue.period_no IS 'Period concerned (0 before any)';
COMMENT ON COLUMN ptl.rtt_event_issue.detail IS 'What is wrong';

-- Census snapshots: the reportable waiting list as it stood at each census.
CREATE TABLE ptl.census_snapshot (
    census_date         date NOT NULL,
    pathway_id          bigint NOT NULL,
    period_no           int NOT NULL,
    provider_org        text NOT NULL,
    site_code           text,
    treatment_function  text NOT NULL,
    rtt_line            text NOT NULL,
    commissioner_code   text,
    referral_priority   ptl.referral_priority NOT NULL,
    clinical_priority   ptl.clinical_priority,
    clock_start         date,
    days_waited         int,
    week_band           int,
    has_dta             boolean NOT NULL,
    target_date         date,
    list_position       bigint
) PARTITION BY RANGE (census_date);
-- One partition a calendar month, made by ptl.census_snapshot_partition()
-- when a refresh first writes the month, so retention drops whole months.
-- Rows written by hand for a month without one land in the default
-- partition until the month's partition is made.  Each partition has its
-- own key (census date, pathway, period) and index, rather than the parent:
-- the parent belongs to the extension and the months do not, and pg_dump
-- cannot restore indexes a member parent would give its partitions.
CREATE TABLE ptl.census_snapshot_default PARTITION OF ptl.census_snapshot (
    PRIMARY KEY (census_date, pathway_id, period_no)
) DEFAULT;
CREATE INDEX census_snapshot_default_provider_idx ON ptl.census_snapshot_default (census_date, provider_org, rtt_line);
CREATE INDEX census_snapshot_default_long_wait_idx ON ptl.census_snapshot_default (census_date, provider_org, days_waited)
    WHERE days_waited > 364;
COMMENT ON TABLE ptl.census_snapshot IS
    'The incomplete pathways each provider reported at each census, kept for trends (a refresh at the same census replaces its rows); partitioned by month, kept for ptl.ops_setting.snapshot_retention';
COMMENT ON TABLE ptl.census_snapshot_default IS
    'Snapshot rows of months that have no partition yet (moved when ptl.census_snapshot_partition makes it)';
COMMENT ON COLUMN ptl.census_snapshot.census_date IS 'Census date';
COMMENT ON COLUMN ptl.census_snapshot.pathway_id IS 'The pathway record (as at that census)';
COMMENT ON COLUMN ptl.census_snapshot.period_no IS 'The period';
COMMENT ON COLUMN ptl.census_snapshot.provider_org IS 'Reporting provider';
COMMENT ON COLUMN ptl.census_snapshot.site_code IS 'Managing site';
COMMENT ON COLUMN ptl.census_snapshot.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.census_snapshot.rtt_line IS 'RTT return line of the treatment function then';
COMMENT ON COLUMN ptl.census_snapshot.commissioner_code IS 'Commissioner';
COMMENT ON COLUMN ptl.census_snapshot.referral_priority IS 'Referral priority';
COMMENT ON COLUMN ptl.census_snapshot.clinical_priority IS 'Clinical priority of the open waiting-list entry';
COMMENT ON COLUMN ptl.census_snapshot.clock_start IS 'Clock start (NULL: unknown)';
COMMENT ON COLUMN ptl.census_snapshot.days_waited IS 'Days waited at the census';
COMMENT ON COLUMN ptl.census_snapshot.week_band IS 'Weekly band';
COMMENT ON COLUMN ptl.census_snapshot.target_date IS 'Date the clinical priority target was due then';
COMMENT ON COLUMN ptl.census_snapshot.list_position IS 'Place on the provider''s treatment function list then (see ptl.ptl.list_position)';
COMMENT ON COLUMN ptl.census_snapshot.has_dta IS 'Decision to admit made';

-- The run log: one row a refresh.  ptl.refresh writes its row when it
-- commits; ptl.daily_refresh (ops/refresh.sql) writes a 'running' row first
-- and commits it, so a run that fails, or dies with its server, still leaves
-- a row that says so.
CREATE TABLE ptl.refresh_run (
    run_id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    census              date NOT NULL,
    full_refresh        boolean NOT NULL,
    started_at          timestamptz NOT NULL,
    finished_at         timestamptz DEFAULT clock_timestamp(),
    pathways_computed   bigint,
    periods             bigint,
    event_issues        bigint,
    validation_issues   bigint,
    snapshot_rows       bigint,
    run_by              text NOT NULL DEFAULT current_user,
    status              text NOT NULL DEFAULT 'succeeded' CHECK (status IN ('running', 'succeeded', 'failed')),
    entry_point         text NOT NULL DEFAULT 'refresh' CHECK (entry_point IN ('refresh', 'daily_refresh')),
    backend_pid         int NOT NULL DEFAULT pg_backend_pid(),
    batches_loaded      int,
    rows_loaded         bigint,
    rows_rejected       bigint,
    snapshot_partitions_dropped int,
    steps               jsonb NOT NULL DEFAULT '[]',
    failed_step         text,
    error_sqlstate      text,
    error_message       text,
    error_detail        text,
    error_context       text,
    CONSTRAINT refresh_run_failure_has_reason CHECK ((status = 'failed') = (error_message IS NOT NULL))
);
COMMENT ON TABLE ptl.refresh_run IS 'One row a refresh: what it did, how long each step took, and why it failed if it did (see ptl.refresh_status)';
COMMENT ON COLUMN ptl.refresh_run.run_id IS 'Run number';
COMMENT ON COLUMN ptl.refresh_run.census IS 'Census date';
COMMENT ON COLUMN ptl.refresh_run.full_refresh IS 'Whether every pathway was recomputed';
COMMENT ON COLUMN ptl.refresh_run.started_at IS 'Start';
COMMENT ON COLUMN ptl.refresh_run.finished_at IS 'End (NULL while running)';
COMMENT ON COLUMN ptl.refresh_run.status IS 'running, succeeded, or failed (everything the run did was rolled back)';
COMMENT ON COLUMN ptl.refresh_run.entry_point IS 'refresh (ptl.refresh) or daily_refresh (load, then refresh, then retention)';
COMMENT ON COLUMN ptl.refresh_run.backend_pid IS 'Server process that ran it (a running row whose process is gone was interrupted)';
COMMENT ON COLUMN ptl.refresh_run.batches_loaded IS 'Ready batches loaded from staging (daily_refresh)';
COMMENT ON COLUMN ptl.refresh_run.rows_loaded IS 'Staged rows they loaded';
COMMENT ON COLUMN ptl.refresh_run.rows_rejected IS 'Staged rows they quarantined';
COMMENT ON COLUMN ptl.refresh_run.pathways_computed IS 'Pathway records whose clocks were recomputed';
COMMENT ON COLUMN ptl.refresh_run.periods IS 'Periods stored for them';
COMMENT ON COLUMN ptl.refresh_run.event_issues IS 'Engine issues stored for them';
COMMENT ON COLUMN ptl.refresh_run.validation_issues IS 'Validation issues listed after the run';
COMMENT ON COLUMN ptl.refresh_run.snapshot_rows IS 'Rows written to the census snapshot';
COMMENT ON COLUMN ptl.refresh_run.snapshot_partitions_dropped IS 'Monthly snapshot partitions dropped for retention (daily_refresh)';
COMMENT ON COLUMN ptl.refresh_run.steps IS 'Each step in order: {"step", "ms", "rows"}';
COMMENT ON COLUMN ptl.refresh_run.failed_step IS 'Step that failed';
COMMENT ON COLUMN ptl.refresh_run.error_sqlstate IS 'SQLSTATE of the failure';
COMMENT ON COLUMN ptl.refresh_run.error_message IS 'Error message of the failure';
COMMENT ON COLUMN ptl.refresh_run.error_detail IS 'Its detail';
COMMENT ON COLUMN ptl.refresh_run.error_context IS 'Where it was raised';
COMMENT ON COLUMN ptl.refresh_run.run_by IS 'Database user';

-- A step's entry for refresh_run.steps: its name, milliseconds since it
-- began, and the rows it reports.
CREATE FUNCTION ptl.refresh_step(steps jsonb, step text, began timestamptz, n bigint DEFAULT NULL) RETURNS jsonb
LANGUAGE sql VOLATILE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN steps || jsonb_build_array(jsonb_build_object(
    'step', step,
    'ms', round(extract(epoch FROM clock_timestamp() - began) * 1000),
    'rows', n));
COMMENT ON FUNCTION ptl.refresh_step(jsonb, text, timestamptz, bigint) IS
    'Internal to the refresh: appends a step''s name, elapsed milliseconds and row count to a run''s steps';

-- Clock state of a set of pathways (ids in pg_temp.rtt_target), replacing what
-- was stored.  The engine runs once per pathway through the bulk aggregates.
CREATE FUNCTION ptl.rtt_compute(census date, OUT pathways bigint, OUT periods bigint, OUT issues bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
-- Read events in pathway order (pathway_event's index) rather than hash a
-- million pathways' states: measured twice as fast (bench/rtt.sh).
SET enable_hashagg = off
AS $$
#variable_conflict use_variable
DECLARE
    s ptl.rtt_setting;
BEGIN
    s := ptl.rtt_setting_in_force();

    DELETE FROM ptl.rtt_pathway r USING pg_temp.rtt_target t WHERE r.pathway_id = t.pathway_id;

    -- Set-wise, not per pathway: a full refresh touches every event once.
    INSERT INTO ptl.rtt_pathway (pathway_id, census, periods, responsible, transferred_out_on,
                                 last_event_date, next_event_date, next_booked_date, next_booked_kind)
    WITH ev AS (
        SELECT e.pathway_id,
               max(e.event_date) FILTER (WHERE e.event_date <= census
                                          AND (e.kind = 'transfer_out' OR e.rtt_status = '21')) AS out_on,
               max(e.event_date) FILTER (WHERE e.event_date <= census
                                          AND e.kind IN ('transfer_in', 'referral')) AS back_on,
               max(e.event_date) FILTER (WHERE e.event_date <= census) AS last_on,
               min(e.event_date) FILTER (WHERE e.event_date > census) AS next_on
        FROM pg_temp.rtt_target t JOIN ptl.pathway_event e ON e.pathway_id = t.pathway_id
        GROUP BY e.pathway_id),
    next_event AS (
        SELECT DISTINCT ON (e.pathway_id) e.pathway_id, e.event_date, e.kind
        FROM pg_temp.rtt_target t JOIN ptl.pathway_event e ON e.pathway_id = t.pathway_id
        WHERE e.event_date > census
        ORDER BY e.pathway_id, e.event_date, e.event_id),
    -- The latest offer or decline: an offer still standing is a booked admission.
    last_tci AS (
        SELECT DISTINCT ON (e.pathway_id) e.pathway_id, e.kind, e.ref_date
        FROM pg_temp.rtt_target t JOIN ptl.pathway_event e ON e.pathway_id = t.pathway_id
        WHERE e.kind IN ('tci_offer', 'tci_declined') AND e.event_date <= census
        ORDER BY e.pathway_id, e.event_date DESC, e.event_id DESC),
    booked AS (
        SELECT t.pathway_id,
               CASE WHEN l.kind = 'tci_offer' AND l.ref_date > census THEN l.ref_date END AS tci_on,
               n.event_date AS next_on, n.kind AS next_kind
        FROM pg_temp.rtt_target t
        LEFT JOIN last_tci l ON l.pathway_id = t.pathway_id
        LEFT JOIN next_event n ON n.pathway_id = t.pathway_id)
    SELECT t.pathway_id, census, 0,
           -- Responsibility ends at a transfer out (or a 21) with no later
           -- transfer back or new referral on this record (rtt-rules.md 4.8).
           ev.out_on IS NULL OR ev.back_on > ev.out_on,
           CASE WHEN ev.out_on IS NOT NULL AND (ev.back_on IS NULL OR ev.back_on <= ev.out_on) THEN ev.out_on END,
           ev.last_on, ev.next_on,
           least(b.tci_on, b.next_on),
           CASE WHEN b.tci_on IS NOT NULL AND (b.next_on IS NULL OR b.tci_on <= b.next_on)
                THEN 'tci_offer'::ptl.event_kind ELSE b.next_kind END
    FROM pg_temp.rtt_target t
    LEFT JOIN ev ON ev.pathway_id = t.pathway_id
    LEFT JOIN booked b ON b.pathway_id = t.pathway_id;
    GET DIAGNOSTICS pathways = ROW_COUNT;

    -- Two passes: every target on its own events, then the receivers of
    -- matched transfers again on the merged events (the senders' events up to
    -- their transfer out, then their own; matched transfer_in events, mere
    -- handovers, left out) so the clock keeps its original start (link/pathway.sql).
    periods := 0;
    issues := 0;
    FOR pass IN 1..2 LOOP
        IF pass = 2 THEN
            IF to_regclass('pg_temp.rtt_merged_event') IS NOT NULL THEN
                DROP TABLE pg_temp.rtt_merged_event;
            END IF;
            CREATE TEMP TABLE rtt_merged_event ON COMMIT DROP AS
            WITH receiver AS (
                SELECT DISTINCT t.pathway_id FROM pg_temp.rtt_target t
                JOIN ptl.pathway_transfer x ON x.receiver_pathway_id = t.pathway_id),
            merged AS (
                SELECT x.receiver_pathway_id AS pathway_id, e.event_id, e.event_date, e.kind, e.rtt_status, e.ref_date
                FROM receiver r
                JOIN ptl.pathway_transfer x ON x.receiver_pathway_id = r.pathway_id
                JOIN ptl.pathway_event e ON e.pathway_id = x.sender_pathway_id
                                        AND e.event_date <= x.transferred_out_on
                UNION ALL
                SELECT r.pathway_id, e.event_id, e.event_date, e.kind, e.rtt_status, e.ref_date
                FROM receiver r JOIN ptl.pathway_event e ON e.pathway_id = r.pathway_id)
            SELECT m.pathway_id, m.event_id, m.event_date, m.kind, m.rtt_status, m.ref_date
            FROM merged m
            WHERE NOT EXISTS (SELECT 1 FROM ptl.pathway_transfer x WHERE x.transfer_in_event_id = m.event_id);
            DELETE FROM ptl.rtt_period r USING (SELECT DISTINCT pathway_id FROM rtt_merged_event) m
            WHERE r.pathway_id = m.pathway_id;
            DELETE FROM ptl.rtt_event_issue r USING (SELECT DISTINCT pathway_id FROM rtt_merged_event) m
            WHERE r.pathway_id = m.pathway_id;
        END IF;

        -- unnest in the select list (one pass) rather than in FROM (a tuplestore per pathway)
        EXECUTE format($q$
            INSERT INTO ptl.rtt_period (pathway_id, period_no, census, clock_start, clock_stop, stop_status,
                                        outcome, days_waited, week_band, has_dta, adjusted_days)
            SELECT g.pathway_id, (g.r).period_no, $1, (g.r).clock_start, (g.r).clock_stop, (g.r).stop_status,
                   (g.r).outcome, (g.r).days_waited, (g.r).week_band, (g.r).has_dta, (g.r).adjusted_days
            FROM (SELECT e.pathway_id,
                         unnest(ptl.rtt_periods_agg(e.event_date, e.kind, e.rtt_status, e.ref_date, e.event_id, $1,
                                                    p.referral_priority = 'two_week_wait' AND NOT $2, $3, $4)) AS r
                  FROM pg_temp.rtt_target t
                  JOIN ptl.pathway p ON p.pathway_id = t.pathway_id
                  JOIN %s e ON e.pathway_id = t.pathway_id
                  GROUP BY e.pathway_id) g$q$,
            CASE pass WHEN 1 THEN 'ptl.pathway_event' ELSE 'pg_temp.rtt_merged_event' END)
        USING census, s.two_week_wait_first_dna_nullifies, s.dna_discharge_stop, s.death_stop;

        -- Issues only on the record's own events (a sender's are its own).
        EXECUTE format($q$
            INSERT INTO ptl.rtt_event_issue (pathway_id, event_id, rule_id, period_no, detail)
            SELECT g.pathway_id, (g.i).seq, (g.i).rule_id, (g.i).period_no, (g.i).detail
            FROM (SELECT e.pathway_id,
                         unnest(ptl.rtt_issues_agg(e.event_date, e.kind, e.rtt_status, e.ref_date, e.event_id, $1,
                                                   p.referral_priority = 'two_week_wait' AND NOT $2)) AS i
                  FROM pg_temp.rtt_target t
                  JOIN ptl.pathway p ON p.pathway_id = t.pathway_id
                  JOIN %s e ON e.pathway_id = t.pathway_id
                  GROUP BY e.pathway_id) g
            WHERE $3 = 1 OR EXISTS (SELECT 1 FROM ptl.pathway_event x
                                    WHERE x.event_id = (g.i).seq AND x.pathway_id = g.pathway_id)
            ON CONFLICT DO NOTHING$q$,
            CASE pass WHEN 1 THEN 'ptl.pathway_event' ELSE 'pg_temp.rtt_merged_event' END)
        USING census, s.two_week_wait_first_dna_nullifies, pass;
    END LOOP;
    SELECT count(*) INTO periods FROM ptl.rtt_period r WHERE r.pathway_id IN (SELECT pathway_id FROM pg_temp.rtt_target);
    SELECT count(*) INTO issues FROM ptl.rtt_event_issue r WHERE r.pathway_id IN (SELECT pathway_id FROM pg_temp.rtt_target);

    UPDATE ptl.rtt_pathway r SET periods = c.n
    FROM (SELECT pathway_id, count(*)::int AS n FROM ptl.rtt_period
          WHERE pathway_id IN (SELECT pathway_id FROM pg_temp.rtt_target) GROUP BY pathway_id) c
    WHERE r.pathway_id = c.pathway_id;
END
$$;
COMMENT ON FUNCTION ptl.rtt_compute(date) IS
    'Internal to ptl.refresh: recomputes the clocks of the pathways listed in pg_temp.rtt_target at a census';

CREATE PROCEDURE ptl.refresh(census date DEFAULT current_date, "full" boolean DEFAULT false)
LANGUAGE plpgsql
SET search_path = pg_catalog, ptl, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    started timestamptz := clock_timestamp();
    last_census date;
    everything boolean := "full";
    computed record;
    n_snapshot bigint;
    n_validation bigint;
    n_target bigint;
    n_link bigint;
    n_journey bigint;
    steps jsonb := '[]';
    step_began timestamptz;
    daily_run bigint := nullif(current_setting('ptl.daily_refresh_run', true), '')::bigint;
BEGIN
    IF census IS NULL OR census = 'infinity' OR census = '-infinity' THEN
        RAISE EXCEPTION 'census date must be a finite date, not %', coalesce(census::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- One refresh at a time; readers (ACCESS SHARE) are not blocked and see
    -- the old list until this transaction commits.
    LOCK TABLE ptl.rtt_pathway IN SHARE ROW EXCLUSIVE MODE;
    steps := ptl.refresh_step(steps, 'table_lock', started);

    SELECT r.census INTO last_census FROM ptl.refresh_run r
    WHERE r.status = 'succeeded' ORDER BY r.run_id DESC LIMIT 1;
    -- Going back in time, or never computed: everything.
    IF last_census IS NULL OR census < last_census THEN
        everything := true;
    END IF;

    -- Statistics the planner can trust before anything joins: a load, or
    -- rows rolled back since autovacuum last looked, leave them stale.
    step_began := clock_timestamp();
    PERFORM ptl.analyze_if_grown(t)
    FROM unnest(ARRAY['ptl.patient', 'ptl.pathway', 'ptl.pathway_event', 'ptl.waiting_list_entry',
                      'ptl.rtt_dirty_pathway', 'ptl.rtt_pathway', 'ptl.rtt_period', 'ptl.person_link',
                      'ptl.pathway_link', 'ptl.pathway_transfer', 'ptl.pathway_duplicate',
                      'ptl.census_snapshot', 'ptl.waiting_list_suspension', 'ptl.risk_assessment',
                      'ptl.clinical_priority_history']::regclass[]) t;
    steps := ptl.refresh_step(steps, 'analyze', step_began);
    step_began := clock_timestamp();

    -- Link first (link/): persons when patient records changed since the
    -- last linkage run, then pathways across providers.
    IF NOT EXISTS (SELECT 1 FROM ptl.link_run)
       OR EXISTS (SELECT 1 FROM ptl.patient p
                  WHERE p.updated_at >= (SELECT max(r.started_at) FROM ptl.link_run r))
       OR (SELECT count(*) FROM ptl.patient)
          <> (SELECT r.records FROM ptl.link_run r ORDER BY r.run_id DESC LIMIT 1) THEN
        PERFORM ptl.link_persons();
    END IF;
    IF to_regclass('pg_temp.rtt_receiver_before') IS NOT NULL THEN
        DROP TABLE pg_temp.rtt_receiver_before;
    END IF;
    CREATE TEMP TABLE rtt_receiver_before ON COMMIT DROP AS
    SELECT DISTINCT receiver_pathway_id AS pathway_id FROM ptl.pathway_transfer;
    PERFORM ptl.link_pathways();
    n_link := (SELECT count(*) FROM ptl.pathway_transfer);
    steps := ptl.refresh_step(steps, 'link', step_began, n_link);
    step_began := clock_timestamp();

    IF to_regclass('pg_temp.rtt_target') IS NOT NULL THEN
        DROP TABLE pg_temp.rtt_target;
    END IF;
    CREATE TEMP TABLE rtt_target (pathway_id bigint PRIMARY KEY) ON COMMIT DROP;
    IF everything THEN
        DELETE FROM ptl.rtt_dirty_pathway;
        INSERT INTO rtt_target SELECT pathway_id FROM ptl.pathway;
        -- Pathway records that no longer exist lose their clocks.
        DELETE FROM ptl.rtt_pathway r WHERE NOT EXISTS (SELECT 1 FROM rtt_target t WHERE t.pathway_id = r.pathway_id);
    ELSE
        WITH taken AS (DELETE FROM ptl.rtt_dirty_pathway RETURNING pathway_id)
        INSERT INTO rtt_target
        SELECT pathway_id FROM taken
        UNION
        -- events that were in the future at the last census are not any more
        SELECT pathway_id FROM ptl.rtt_pathway WHERE next_event_date <= census
        UNION
        SELECT p.pathway_id FROM ptl.pathway p
        WHERE NOT EXISTS (SELECT 1 FROM ptl.rtt_pathway r WHERE r.pathway_id = p.pathway_id);
        -- Receivers of transfers (before and after this linkage) run on their
        -- senders' events too: a few, always recomputed.
        INSERT INTO rtt_target
        SELECT pathway_id FROM rtt_receiver_before
        UNION
        SELECT receiver_pathway_id FROM ptl.pathway_transfer
        ON CONFLICT DO NOTHING;
        DELETE FROM rtt_target t WHERE NOT EXISTS (SELECT 1 FROM ptl.pathway p WHERE p.pathway_id = t.pathway_id);
    END IF;
    ANALYZE rtt_target;
    -- After a big load the planner's statistics are stale (autovacuum has not
    -- caught up) and a bad join plan costs minutes; sampling costs a second.
    SELECT count(*) INTO n_target FROM rtt_target;
    IF n_target > 10000 THEN
        ANALYZE ptl.pathway, ptl.pathway_event, ptl.patient, ptl.waiting_list_entry;
    END IF;

    computed := ptl.rtt_compute(census);
    IF n_target > 10000 THEN
        ANALYZE ptl.rtt_pathway, ptl.rtt_period, ptl.rtt_event_issue;
    END IF;

    -- The other incomplete periods only grow older.
    UPDATE ptl.rtt_period
    SET census = refresh.census,
        days_waited = refresh.census - clock_start,
        week_band = CASE WHEN refresh.census - clock_start >= 0
                         THEN ptl.rtt_week_band(refresh.census - clock_start) END,
        adjusted_days = refresh.census - clock_start
    WHERE outcome = 'incomplete' AND rtt_period.census <> refresh.census;
    UPDATE ptl.rtt_pathway SET census = refresh.census WHERE rtt_pathway.census <> refresh.census;
    steps := ptl.refresh_step(steps, 'clock', step_began, computed.pathways);
    step_began := clock_timestamp();

    -- Journey stages (journey/journey.sql) of the same pathways.
    n_journey := ptl.journey_compute(census, CASE WHEN NOT everything THEN ARRAY(SELECT t.pathway_id FROM rtt_target t) END);
    steps := ptl.refresh_step(steps, 'journey', step_began, n_journey);
    step_began := clock_timestamp();

    PERFORM ptl.find_pathway_duplicates(census);
    n_validation := ptl.validate(census);
    steps := ptl.refresh_step(steps, 'validate', step_began, n_validation);
    step_began := clock_timestamp();

    -- Rank and snapshot: ptl.ptl orders each list (list_position) as it is
    -- read, and the snapshot keeps that order for the census.
    PERFORM ptl.census_snapshot_partition(census);

    DELETE FROM ptl.census_snapshot s WHERE s.census_date = census;
    INSERT INTO ptl.census_snapshot (census_date, pathway_id, period_no, provider_org, site_code,
                                     treatment_function, rtt_line, commissioner_code, referral_priority,
                                     clinical_priority, clock_start, days_waited, week_band, has_dta,
                                     target_date, list_position)
    SELECT census, l.pathway_id, l.period_no, l.provider_org, l.site_code, l.treatment_function,
           l.rtt_line, l.commissioner_code, l.referral_priority, l.clinical_priority,
           l.clock_start, l.days_waited, l.week_band, l.has_dta, l.target_date, l.list_position
    FROM ptl.ptl l;
    GET DIAGNOSTICS n_snapshot = ROW_COUNT;
    steps := ptl.refresh_step(steps, 'rank_and_snapshot', step_began, n_snapshot);

    IF daily_run IS NULL THEN
        INSERT INTO ptl.refresh_run (census, full_refresh, started_at, pathways_computed, periods,
                                     event_issues, validation_issues, snapshot_rows, steps)
        VALUES (census, everything, started, computed.pathways, computed.periods, computed.issues,
                n_validation, n_snapshot, steps);
    ELSE
        -- Under ptl.daily_refresh, which finishes its own row.
        UPDATE ptl.refresh_run r
        SET full_refresh = everything, pathways_computed = computed.pathways, periods = computed.periods,
            event_issues = computed.issues, validation_issues = n_validation, snapshot_rows = n_snapshot,
            steps = r.steps || steps
        WHERE r.run_id = daily_run;
    END IF;
END
$$;
COMMENT ON PROCEDURE ptl.refresh(date, boolean) IS
    'Links records (persons when patient records changed, then pathways), recomputes RTT clocks (changed pathways, or all with full => true) at a census, revalidates, and snapshots the PTL, in one transaction';

-- Snapshots and the run log are history that a refresh cannot rebuild, so
-- pg_dump keeps them; clocks and issues are recomputed by the first refresh
-- after a restore (pathways without a stored clock are always computed).
SELECT pg_catalog.pg_extension_config_dump('ptl.census_snapshot_default', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.refresh_run', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.refresh_run_run_id_seq', '');
-- ---------------------------------------------------------------------------
-- rtt validation: the record-level rules of rtt-rules.md section 10.2, run by
-- ptl.refresh() into ptl.validation_issue so a validation team can work
-- through one list.  Rules the data model cannot support yet are listed in
-- ptl.validation_rule with the reason.
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.validation_rule (
    rule_id         text PRIMARY KEY CHECK (rule_id ~ '^V[0-9]{2}$'),
    title           text NOT NULL,
    severity        text NOT NULL CHECK (severity IN ('error', 'warning', 'task')),
    basis           text NOT NULL,
    implemented     boolean NOT NULL,
    not_implemented_because text,
    CHECK (implemented = (not_implemented_because IS NULL))
);
COMMENT ON TABLE ptl.validation_rule IS
    'The PTL validation rules (rtt-rules.md 10.2): what each checks, how serious it is, and whether ptl can check it yet';
COMMENT ON COLUMN ptl.validation_rule.rule_id IS 'Rule id, V01..V30';
COMMENT ON COLUMN ptl.validation_rule.title IS 'What the rule finds';
COMMENT ON COLUMN ptl.validation_rule.severity IS 'error (the return or the clock is wrong), warning (probably wrong), task (work to do)';
COMMENT ON COLUMN ptl.validation_rule.basis IS 'Where the rule comes from';
COMMENT ON COLUMN ptl.validation_rule.implemented IS 'Whether ptl checks it';
COMMENT ON COLUMN ptl.validation_rule.not_implemented_because IS 'The data the rule needs that ptl does not hold yet';

INSERT INTO ptl.validation_rule VALUES
('V01', 'Open pathway whose patient has no NHS number', 'warning', 'NHS DD NHS NUMBER (mandatory); rtt-rules.md 10.2', true, NULL),
('V02', 'Open pathway whose patient''s NHS number is invalid (Modulus 11, length) or all one digit', 'error', 'NHS DD NHS NUMBER; rtt-rules.md 7', true, NULL),
('V03', 'Clock start or referral after the census date', 'error', 'rtt-rules.md 5.1 (negative waits are invalid)', true, NULL),
('V04', 'Clock stop before clock start', 'error', 'rtt-rules.md 5.1', true, NULL),
('V05', 'Clock start before the patient''s date of birth', 'error', 'rtt-rules.md 10.2', true, NULL),
('V06', 'Open pathway with an unknown clock start', 'error', 'RTT guidance 10.1.5 (reported in the unknown clock start column)', true, NULL),
('V07', 'Duplicate pathway: patient and treatment function open on another record, one referral recorded twice, or one UBRN twice', 'warning', 'NHSE validation programme findings (rtt-rules.md 10.1)', true, NULL),
('V08', 'Two providers both report the same pathway (issuer, PPID) as open', 'error', 'RTT guidance Annex C (periods never overlap), 11 (one provider reports)', true, NULL),
('V09', 'Open pathway of a patient recorded as dead', 'error', 'RTT guidance 4.4.1.2 (death stops the clock, 36)', true, NULL),
('V10', 'Open pathway with nothing booked and no decision to admit for longer than the setting unbooked_days', 'warning', 'Trust validation findings (rtt-rules.md 10.1)', true, NULL),
('V11', 'Waiting-list entry with a TCI date in the past and no admission', 'warning', 'Trust validation findings (rtt-rules.md 10.1)', true, NULL),
('V12', 'Decision to admit with no open waiting-list entry, or an open waiting-list entry with no open RTT clock', 'warning', 'Trust validation findings (rtt-rules.md 10.1)', true, NULL),
('V13', 'Status 30 on an admission that was diagnostic only or where no procedure was performed', 'error', 'RTT guidance 4.3.2.3', false, 'admissions carry no performed-procedure data yet'),
('V14', 'Status 30 on an outpatient attendance with no treatment recorded', 'warning', 'NHSE validation programme ("amend 30 to 34")', false, 'outpatient events carry no procedure or outcome data yet'),
('V15', 'Status 33 on an appointment that was not the first, or on a two-week-wait referral', 'error', 'RTT guidance 4.4.1.3; NHS DD REFERRAL TO TREATMENT PERIOD (2WW)', true, NULL),
('V16', 'Activity coded 20/21, or a stop code, with no clock running', 'warning', 'RTT guidance Annex D (after a stop, activity is 90/91 or a rule-3 start)', true, NULL),
('V17', 'A second clock-start code (10, 11, 12) inside a period already running', 'warning', 'RTT guidance Annex D', true, NULL),
('V18', 'A new period starting on an earlier period''s start date (the wait is elongated)', 'error', 'RTT guidance Annex C', true, NULL),
('V19', 'Transferred out, but no record at the receiving provider after the setting lost_transfer_days', 'warning', 'RTT guidance 11 (IPTAMDS)', true, NULL),
('V20', 'Received transfer whose clock start differs from the sending provider''s original start', 'error', 'RTT guidance 11.3', true, NULL),
('V21', 'Emergency admission opened as an RTT pathway without a decision to refer electively', 'error', 'RTT guidance 9.1', false, 'referrals carry no source-of-referral code yet'),
('V22', 'Planned-list patient with a running RTT clock, or overdue planned patient not moved', 'warning', 'RTT guidance 5', false, 'planned (surveillance) lists are not loaded yet'),
('V23', 'Open pathway in a treatment function that is not consultant-led (outside RTT)', 'warning', 'RTT guidance 6-7', true, NULL),
('V24', 'Discharged with no clock-stop code: the pathway is still open', 'error', 'NHSE validation programme findings', true, NULL),
('V25', 'Activity coded 20 within 14 days of starting active monitoring (misuse of 31/32)', 'warning', 'RTT guidance 4.4.1.4', true, NULL),
('V26', 'Open pathway over 12 weeks not validated within the setting revalidate_days', 'task', 'NHSE validation guidance, December 2022 (validate at 12, 26, 52 weeks; revalidate every 12 weeks)', true, NULL),
('V27', 'Status 99 (not yet known) on an open pathway older than the setting status_unknown_days', 'warning', 'rtt-rules.md 10.2', true, NULL),
('V28', 'UBRN converted or on the ASI worklist but no pathway on the PTL', 'error', 'RTT guidance 9.1', false, 'e-RS worklist extracts are not loaded yet'),
('V29', 'Treatment function not allowed for the commissioner or provider', 'warning', 'DCB0028', false, 'commissioner service agreements are not loaded yet (unknown codes are already refused by the loader)'),
('V30', 'Transplant-list addition recorded without a 34 stop', 'warning', 'RTT guidance Annex E', false, 'transplant-list additions are not an event kind yet');

-- Administrative validation of a pathway (rule V26; campaigns build on it).
CREATE TABLE ptl.pathway_validation (
    validation_id   bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pathway_id      bigint NOT NULL REFERENCES ptl.pathway (pathway_id),
    validated_on    date NOT NULL,
    validated_by    text NOT NULL DEFAULT current_user,
    outcome         text NOT NULL CHECK (outcome IN ('correct', 'corrected', 'remove', 'clinical_review')),
    note            text
);
CREATE INDEX pathway_validation_pathway_idx ON ptl.pathway_validation (pathway_id, validated_on);
COMMENT ON TABLE ptl.pathway_validation IS 'Each time someone validated a pathway record, and what they found';
COMMENT ON COLUMN ptl.pathway_validation.validation_id IS 'Validation number';
COMMENT ON COLUMN ptl.pathway_validation.pathway_id IS 'The pathway record';
COMMENT ON COLUMN ptl.pathway_validation.validated_on IS 'Date validated';
COMMENT ON COLUMN ptl.pathway_validation.validated_by IS 'Who validated it';
COMMENT ON COLUMN ptl.pathway_validation.outcome IS 'correct, corrected, remove (should leave the list) or clinical_review';
COMMENT ON COLUMN ptl.pathway_validation.note IS 'Free text';

CREATE TABLE ptl.validation_issue (
    pathway_id  bigint NOT NULL REFERENCES ptl.pathway (pathway_id) ON DELETE CASCADE,
    rule_id     text NOT NULL REFERENCES ptl.validation_rule (rule_id),
    event_id    bigint,
    detail      text NOT NULL,
    census      date NOT NULL
);
CREATE INDEX validation_issue_pathway_idx ON ptl.validation_issue (pathway_id);
CREATE INDEX validation_issue_rule_idx ON ptl.validation_issue (rule_id);
COMMENT ON TABLE ptl.validation_issue IS 'Every validation issue found by the last refresh (ptl.validate)';
COMMENT ON COLUMN ptl.validation_issue.pathway_id IS 'The pathway record';
COMMENT ON COLUMN ptl.validation_issue.rule_id IS 'Rule broken';
COMMENT ON COLUMN ptl.validation_issue.event_id IS 'The event concerned, when the rule is about one';
COMMENT ON COLUMN ptl.validation_issue.detail IS 'What is wrong, with the values';
COMMENT ON COLUMN ptl.validation_issue.census IS 'Census date of the refresh that found it';

-- Open periods a provider reports: the population most rules look at.
CREATE VIEW ptl.rtt_open_period AS
SELECT r.pathway_id, r.period_no, r.census, r.clock_start, r.days_waited, r.has_dta,
       p.patient_id, p.provider_org, p.treatment_function, p.ppid_issuer, p.ppid, p.ubrn,
       rp.last_event_date, rp.next_booked_date
FROM ptl.rtt_period r
JOIN ptl.rtt_pathway rp ON rp.pathway_id = r.pathway_id AND rp.responsible
JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
WHERE r.outcome = 'incomplete';
COMMENT ON VIEW ptl.rtt_open_period IS 'Incomplete periods at the last refresh that their provider reports (clinical responsibility not transferred)';
COMMENT ON COLUMN ptl.rtt_open_period.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.rtt_open_period.period_no IS 'Period';
COMMENT ON COLUMN ptl.rtt_open_period.census IS 'Census of the last refresh';
COMMENT ON COLUMN ptl.rtt_open_period.clock_start IS 'Clock start';
COMMENT ON COLUMN ptl.rtt_open_period.days_waited IS 'Days waited at the census';
COMMENT ON COLUMN ptl.rtt_open_period.has_dta IS 'Decision to admit made';
COMMENT ON COLUMN ptl.rtt_open_period.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.rtt_open_period.provider_org IS 'Reporting provider';
COMMENT ON COLUMN ptl.rtt_open_period.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.rtt_open_period.ppid_issuer IS 'PPID issuer';
COMMENT ON COLUMN ptl.rtt_open_period.ppid IS 'PPID';
COMMENT ON COLUMN ptl.rtt_open_period.ubrn IS 'UBRN';
COMMENT ON COLUMN ptl.rtt_open_period.last_event_date IS 'Latest event on or before the census';
COMMENT ON COLUMN ptl.rtt_open_period.next_booked_date IS 'Next booked date';

-- Runs every implemented rule at a census over the stored clocks; returns
-- the number of issues.  Called by ptl.refresh() after the clocks.
CREATE FUNCTION ptl.validate(census date) RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    s ptl.rtt_setting;
    n bigint;
BEGIN
    s := ptl.rtt_setting_in_force();
    DELETE FROM ptl.validation_issue;

    INSERT INTO ptl.validation_issue (pathway_id, rule_id, event_id, detail, census)
    -- V01, V02: the patient's NHS number
    SELECT o.pathway_id, 'V01', NULL::bigint, 'patient record ' || pa.local_patient_id || ' has no NHS number', census
    FROM ptl.rtt_open_period o JOIN ptl.patient pa ON pa.patient_id = o.patient_id
    WHERE pa.nhs_number IS NULL AND pa.nhs_number_as_recorded IS NULL
    UNION ALL
    SELECT o.pathway_id, 'V02', NULL,
           format('NHS number %s of patient record %s is %s',
                  coalesce(pa.nhs_number_as_recorded, pa.nhs_number::text), pa.local_patient_id,
                  CASE WHEN pa.nhs_number IS NULL THEN 'invalid' ELSE 'all one digit' END), census
    FROM ptl.rtt_open_period o JOIN ptl.patient pa ON pa.patient_id = o.patient_id
    WHERE (pa.nhs_number IS NULL AND pa.nhs_number_as_recorded IS NOT NULL)
       OR pa.nhs_number::text ~ '^(\d)\1\1 \1\1\1 \1\1\1\1$'
    -- V03: starts after the census
    UNION ALL
    SELECT r.pathway_id, 'V03', NULL, format('clock start %s is after the census %s', r.clock_start, census), census
    FROM ptl.rtt_period r WHERE r.clock_start > census
    UNION ALL
    SELECT p.pathway_id, 'V03', NULL, format('referral received %s is after the census %s', p.referral_received, census), census
    FROM ptl.pathway p WHERE p.referral_received > census
    -- V04: stop before start
    UNION ALL
    SELECT r.pathway_id, 'V04', NULL, format('period %s stops %s before it starts %s', r.period_no, r.clock_stop, r.clock_start), census
    FROM ptl.rtt_period r WHERE r.clock_stop < r.clock_start
    -- V05: start before birth
    UNION ALL
    SELECT o.pathway_id, 'V05', NULL, format('clock start %s is before the date of birth %s', o.clock_start, pa.date_of_birth), census
    FROM ptl.rtt_open_period o JOIN ptl.patient pa ON pa.patient_id = o.patient_id
    WHERE o.clock_start < pa.date_of_birth
    -- V06: unknown start
    UNION ALL
    SELECT o.pathway_id, 'V06', NULL, format('period %s has no known clock start', o.period_no), census
    FROM ptl.rtt_open_period o WHERE o.clock_start IS NULL
    -- V07: an open pathway recorded twice: the same NHS number and treatment
    -- function open on another record, or closed there but for the same
    -- referral (same date received), or the same UBRN on another record
    UNION ALL
    SELECT v.pathway_id, 'V07', NULL, v.detail, census
    FROM (SELECT a.pathway_id,
                 format('also recorded as %s %s (%s)%s', b.ppid_issuer, b.ppid, b.provider_org,
                        CASE WHEN bo.pathway_id IS NULL THEN ', closed there' ELSE '' END) AS detail
          FROM ptl.rtt_open_period a
          JOIN ptl.pathway ap ON ap.pathway_id = a.pathway_id
          JOIN ptl.patient pa ON pa.patient_id = a.patient_id
          JOIN ptl.patient pb ON pb.nhs_number = pa.nhs_number
          JOIN ptl.pathway b ON b.patient_id = pb.patient_id AND b.treatment_function = a.treatment_function
          LEFT JOIN ptl.rtt_open_period bo ON bo.pathway_id = b.pathway_id
          WHERE b.pathway_id <> a.pathway_id
            AND (b.ppid_issuer, b.ppid) IS DISTINCT FROM (a.ppid_issuer, a.ppid)
            AND (bo.pathway_id IS NOT NULL OR b.referral_received = ap.referral_received)
          UNION
          SELECT a.pathway_id,
                 format('also recorded as %s %s (%s)%s', b.ppid_issuer, b.ppid, b.provider_org,
                        CASE WHEN bo.pathway_id IS NULL THEN ', closed there' ELSE '' END)
          FROM ptl.rtt_open_period a
          JOIN ptl.pathway b ON b.ubrn = a.ubrn
          LEFT JOIN ptl.rtt_open_period bo ON bo.pathway_id = b.pathway_id
          WHERE b.pathway_id <> a.pathway_id
            AND (b.ppid_issuer, b.ppid) IS DISTINCT FROM (a.ppid_issuer, a.ppid)) v
    -- V08: two providers report the same pathway
    UNION ALL
    SELECT a.pathway_id, 'V08', NULL,
           format('%s also reports pathway %s %s as open', b.provider_org, a.ppid_issuer, a.ppid), census
    FROM ptl.rtt_open_period a
    JOIN ptl.rtt_open_period b ON b.ppid_issuer = a.ppid_issuer AND b.ppid = a.ppid
                              AND b.pathway_id <> a.pathway_id
    -- V09: dead patients still waiting
    UNION ALL
    SELECT o.pathway_id, 'V09', NULL, format('patient died on %s; the pathway needs a 36 stop', pa.date_of_death), census
    FROM ptl.rtt_open_period o JOIN ptl.patient pa ON pa.patient_id = o.patient_id
    WHERE pa.date_of_death <= census
    -- V10: nothing booked for too long
    UNION ALL
    SELECT o.pathway_id, 'V10', NULL,
           format('nothing booked, no decision to admit, last event %s (%s days before the census)',
                  o.last_event_date, census - o.last_event_date), census
    FROM ptl.rtt_open_period o
    WHERE NOT o.has_dta AND o.next_booked_date IS NULL
      AND o.last_event_date < census - s.unbooked_days
    -- V11: TCI date passed without an admission
    UNION ALL
    SELECT w.pathway_id, 'V11', NULL, format('waiting-list entry %s: TCI %s has passed with no admission', w.entry_ref, w.tci_date), census
    FROM ptl.waiting_list_entry w
    WHERE w.removed_date IS NULL AND w.tci_date < census
      AND EXISTS (SELECT 1 FROM ptl.rtt_open_period o WHERE o.pathway_id = w.pathway_id)
      AND NOT EXISTS (SELECT 1 FROM ptl.pathway_event e
                      WHERE e.pathway_id = w.pathway_id AND e.kind = 'admission'
                        AND e.event_date >= w.tci_date AND e.event_date <= census)
    -- V12: decision to admit and waiting list disagree
    UNION ALL
    SELECT o.pathway_id, 'V12', NULL, 'decision to admit recorded but no open waiting-list entry', census
    FROM ptl.rtt_open_period o
    WHERE o.has_dta
      AND NOT EXISTS (SELECT 1 FROM ptl.waiting_list_entry w
                      WHERE w.pathway_id = o.pathway_id AND w.removed_date IS NULL)
    UNION ALL
    SELECT w.pathway_id, 'V12', NULL, format('waiting-list entry %s is open but the pathway has no open RTT clock', w.entry_ref), census
    FROM ptl.waiting_list_entry w
    WHERE w.removed_date IS NULL
      AND NOT EXISTS (SELECT 1 FROM ptl.rtt_period r
                      WHERE r.pathway_id = w.pathway_id AND r.outcome = 'incomplete')
    -- V15, V16, V17, V25: events the engine ignored or doubted
    UNION ALL
    SELECT i.pathway_id, i.rule_id, i.event_id, i.detail, census
    FROM ptl.rtt_event_issue i
    WHERE i.rule_id IN ('V15', 'V16', 'V17', 'V25')
    -- V24, V27: only while the period is still open
    UNION ALL
    SELECT i.pathway_id, i.rule_id, i.event_id,
           i.detail || format(' (event of %s)', e.event_date), census
    FROM ptl.rtt_event_issue i
    JOIN ptl.rtt_period r ON r.pathway_id = i.pathway_id AND r.period_no = i.period_no AND r.outcome = 'incomplete'
    JOIN ptl.pathway_event e ON e.event_id = i.event_id
    WHERE i.rule_id = 'V24'
       OR (i.rule_id = 'V27' AND e.event_date < census - s.status_unknown_days)
    -- V18: a new period reusing an earlier start
    UNION ALL
    SELECT b.pathway_id, 'V18', NULL,
           format('period %s starts %s, the start of period %s', b.period_no, b.clock_start, a.period_no), census
    FROM ptl.rtt_period a
    JOIN ptl.rtt_period b ON b.pathway_id = a.pathway_id AND b.period_no > a.period_no
                         AND b.clock_start = a.clock_start
    -- V19: lost transfers
    UNION ALL
    SELECT rp.pathway_id, 'V19', NULL,
           format('transferred out on %s; no record of %s %s at another provider', rp.transferred_out_on, p.ppid_issuer, p.ppid), census
    FROM ptl.rtt_pathway rp JOIN ptl.pathway p ON p.pathway_id = rp.pathway_id
    WHERE rp.transferred_out_on < census - s.lost_transfer_days
      AND NOT EXISTS (SELECT 1 FROM ptl.pathway q
                      WHERE q.ppid_issuer = p.ppid_issuer AND q.ppid = p.ppid
                        AND q.provider_org <> p.provider_org)
    -- V20: a received transfer whose start is not the sender's
    UNION ALL
    SELECT e.pathway_id, 'V20', e.event_id,
           format('transfer in gives clock start %s; %s started the clock on %s',
                  e.ref_date, q.provider_org, sr.clock_start), census
    FROM ptl.pathway_event e
    JOIN ptl.pathway p ON p.pathway_id = e.pathway_id
    JOIN ptl.pathway q ON q.ppid_issuer = p.ppid_issuer AND q.ppid = p.ppid AND q.provider_org <> p.provider_org
    JOIN ptl.rtt_pathway qp ON qp.pathway_id = q.pathway_id AND NOT qp.responsible
    JOIN LATERAL (SELECT r.clock_start FROM ptl.rtt_period r
                  WHERE r.pathway_id = q.pathway_id ORDER BY r.period_no DESC LIMIT 1) sr ON true
    WHERE e.kind = 'transfer_in' AND e.event_date <= census
      AND e.ref_date IS DISTINCT FROM sr.clock_start
    -- V23: outside RTT
    UNION ALL
    SELECT o.pathway_id, 'V23', NULL, format('treatment function %s (%s) is not consultant-led', t.tfc, t.name), census
    FROM ptl.rtt_open_period o JOIN ptl.treatment_function_in_use t ON t.tfc = o.treatment_function
    WHERE NOT t.consultant_led
    -- V26: validation due
    UNION ALL
    SELECT o.pathway_id, 'V26', NULL,
           format('waiting %s days; not validated since %s', o.days_waited,
                  coalesce((SELECT max(v.validated_on)::text FROM ptl.pathway_validation v
                            WHERE v.pathway_id = o.pathway_id), 'ever')), census
    FROM ptl.rtt_open_period o
    WHERE o.days_waited > 84
      AND NOT EXISTS (SELECT 1 FROM ptl.pathway_validation v
                      WHERE v.pathway_id = o.pathway_id
                        AND v.validated_on > census - s.revalidate_days AND v.validated_on <= census);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION ptl.validate(date) IS
    'Runs every implemented validation rule over the stored clocks at a census into ptl.validation_issue (called by ptl.refresh); returns the number of issues';

CREATE VIEW ptl.validation_issues AS
SELECT i.rule_id, r.severity, r.title, i.pathway_id, p.provider_org, p.site_code,
       p.treatment_function, p.ppid_issuer, p.ppid, pa.local_patient_id, i.event_id, i.detail, i.census
FROM ptl.validation_issue i
JOIN ptl.validation_rule r USING (rule_id)
JOIN ptl.pathway p ON p.pathway_id = i.pathway_id
JOIN ptl.patient pa ON pa.patient_id = p.patient_id;
COMMENT ON VIEW ptl.validation_issues IS 'The validation work list: each issue with its rule, severity and pathway';
COMMENT ON COLUMN ptl.validation_issues.rule_id IS 'Rule';
COMMENT ON COLUMN ptl.validation_issues.severity IS 'error, warning or task';
COMMENT ON COLUMN ptl.validation_issues.title IS 'What the rule finds';
COMMENT ON COLUMN ptl.validation_issues.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.validation_issues.provider_org IS 'Provider';
COMMENT ON COLUMN ptl.validation_issues.site_code IS 'Site';
COMMENT ON COLUMN ptl.validation_issues.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.validation_issues.ppid_issuer IS 'PPID issuer';
COMMENT ON COLUMN ptl.validation_issues.ppid IS 'PPID';
COMMENT ON COLUMN ptl.validation_issues.local_patient_id IS 'Hospital number';
COMMENT ON COLUMN ptl.validation_issues.event_id IS 'Event concerned, if any';
COMMENT ON COLUMN ptl.validation_issues.detail IS 'What is wrong';
COMMENT ON COLUMN ptl.validation_issues.census IS 'Census of the refresh that found it';

CREATE VIEW ptl.validation_summary AS
SELECT p.provider_org, r.rule_id, r.severity, r.title,
       count(i.pathway_id) AS issues, count(DISTINCT i.pathway_id) AS pathways
FROM ptl.validation_rule r
JOIN ptl.validation_issue i USING (rule_id)
JOIN ptl.pathway p ON p.pathway_id = i.pathway_id
GROUP BY p.provider_org, r.rule_id, r.severity, r.title;
COMMENT ON VIEW ptl.validation_summary IS 'Validation issues counted per provider and rule';
COMMENT ON COLUMN ptl.validation_summary.provider_org IS 'Provider';
COMMENT ON COLUMN ptl.validation_summary.rule_id IS 'Rule';
COMMENT ON COLUMN ptl.validation_summary.severity IS 'Severity';
COMMENT ON COLUMN ptl.validation_summary.title IS 'What the rule finds';
COMMENT ON COLUMN ptl.validation_summary.issues IS 'Issues';
COMMENT ON COLUMN ptl.validation_summary.pathways IS 'Distinct pathway records';

SELECT pg_catalog.pg_extension_config_dump('ptl.pathway_validation', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.pathway_validation_validation_id_seq', '');
-- ---------------------------------------------------------------------------
-- The PTL: one row per incomplete RTT period its provider reports, at the
-- census of the last refresh, with what a waiting-list manager needs beside
-- it; headline measures; the clock as at any census.
-- ---------------------------------------------------------------------------

-- The order (clinical-theatre.md 1.7; docs/risk.md): within each provider's
-- treatment function, the admitted list and the non-admitted list are each
-- numbered from 1.  On the admitted list P1a/P1b come first, then P2-P4
-- together by share of target waited (ptl.target_elapsed, exact), date
-- listed, RTT clock start; entries without a priority follow by clock start;
-- P5/P6 and suspended patients are set aside (no position).  The
-- non-admitted list, which has no surgical priority, runs by clock start.
-- risk_setting.order_policy = longest_wait puts clock start before the
-- share of target.  A priority's wait excludes suspended days.
--
-- Access (ops/access.sql): the view runs with its owner's rights, so each
-- provider's list is numbered whole, then shows a user the rows of its
-- organisations (and of pathways transferred to or from them), with the NHS
-- number and hospital number blank unless it may see identifiers.
CREATE VIEW ptl.ptl AS
SELECT l.* FROM (
SELECT o.pathway_id, o.period_no, o.patient_id,
       CASE WHEN (SELECT ptl.may_identify()) THEN o.nhs_number END AS nhs_number,
       CASE WHEN (SELECT ptl.may_identify()) THEN o.local_patient_id END AS local_patient_id,
       o.provider_org, o.site_code,
       o.treatment_function, o.treatment_function_name, o.rtt_line, o.commissioner_code, o.ppid_issuer, o.ppid,
       o.referral_priority, o.census, o.clock_start, o.days_waited, o.weeks_waited, o.week_band,
       o.breach_18_weeks_on, o.breach_52_weeks_on, o.breach_65_weeks_on, o.breach_78_weeks_on,
       o.breach_104_weeks_on, o.has_dta, o.waiting_list_entry_id, o.decision_to_admit, o.clinical_priority,
       o.procedure_code, o.tci_date, o.next_booked_date, o.next_booked_kind, o.validation_issues,
       o.suspended_days, o.days_on_list, o.target_days,
       o.decision_to_admit + o.suspended_days + o.target_days AS target_date,
       round(ptl.pct(o.target_elapsed)::numeric, 2) AS pct_target_elapsed,
       o.target_elapsed, o.order_group,
       CASE WHEN o.order_group <> 'set_aside' THEN
           row_number() OVER (PARTITION BY o.provider_org, o.treatment_function, o.waiting_list_entry_id IS NOT NULL
                              ORDER BY o.group_rank,
                                       CASE WHEN o.longest_wait_first OR o.group_rank >= 3 THEN o.clock_start END
                                           NULLS LAST,
                                       o.target_elapsed DESC NULLS LAST, o.decision_to_admit,
                                       o.clock_start NULLS LAST, o.patient_id, o.pathway_id, o.period_no) END
           AS list_position
FROM (
    SELECT b.*,
           CASE WHEN b.target_days IS NOT NULL
                THEN ptl.target_elapsed(b.days_on_list, b.target_days) END AS target_elapsed,
           CASE WHEN b.waiting_list_entry_id IS NULL THEN 3
                WHEN b.suspended_now OR b.clinical_priority >= 'P5' THEN 9
                WHEN b.clinical_priority <= 'P1b' THEN 1
                WHEN b.clinical_priority IS NOT NULL THEN 2
                ELSE 3 END AS group_rank,
           CASE WHEN b.waiting_list_entry_id IS NULL THEN 'non_admitted'
                WHEN b.suspended_now OR b.clinical_priority >= 'P5' THEN 'set_aside'
                WHEN b.clinical_priority <= 'P1b' THEN 'urgent'
                WHEN b.clinical_priority IS NOT NULL THEN 'by_target'
                ELSE 'unprioritised' END AS order_group
    FROM (
        SELECT r.pathway_id, r.period_no, p.patient_id, pa.nhs_number, pa.local_patient_id,
               p.provider_org, p.site_code, p.treatment_function, tf.name AS treatment_function_name,
               tf.rtt_line, p.commissioner_code, p.ppid_issuer, p.ppid, p.referral_priority,
               r.census, r.clock_start, r.days_waited, r.days_waited / 7 AS weeks_waited, r.week_band,
               -- The first day the wait is over N weeks: start + 7N + 1 (rtt-rules.md 5.2).
               r.clock_start + 127 AS breach_18_weeks_on,
               r.clock_start + 365 AS breach_52_weeks_on,
               r.clock_start + 456 AS breach_65_weeks_on,
               r.clock_start + 547 AS breach_78_weeks_on,
               r.clock_start + 729 AS breach_104_weeks_on,
               r.has_dta, w.entry_id AS waiting_list_entry_id, w.decision_to_admit,
               coalesce(h.priority, w.clinical_priority) AS clinical_priority,
               w.procedure_code, w.tci_date, rp.next_booked_date, rp.next_booked_kind,
               coalesce(v.rules, '{}') AS validation_issues,
               su.days AS suspended_days, coalesce(su.suspended_now, false) AS suspended_now,
               CASE WHEN w.entry_id IS NOT NULL
                    THEN greatest(0, r.census - w.decision_to_admit - su.days) END AS days_on_list,
               t.target_days, s.order_policy = 'longest_wait' AS longest_wait_first
        FROM ptl.rtt_period r
        JOIN ptl.rtt_pathway rp ON rp.pathway_id = r.pathway_id AND rp.responsible
        JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
        JOIN ptl.patient pa ON pa.patient_id = p.patient_id
        JOIN ptl.treatment_function_in_use tf ON tf.tfc = p.treatment_function
        CROSS JOIN ptl.risk_setting_in_force() s
        LEFT JOIN LATERAL (
            SELECT e.entry_id, e.decision_to_admit, e.clinical_priority, e.procedure_code, e.tci_date
            FROM ptl.waiting_list_entry e
            -- listed by the census (a refresh at an earlier census must not
            -- see an entry decided later)
            WHERE e.pathway_id = r.pathway_id AND e.removed_date IS NULL AND e.decision_to_admit <= r.census
            ORDER BY e.decision_to_admit DESC, e.entry_id DESC
            LIMIT 1) w ON true
        -- the priority in force at the census (ptl.clinical_priority_history)
        LEFT JOIN LATERAL (
            SELECT ph.priority FROM ptl.clinical_priority_history ph
            WHERE ph.entry_id = w.entry_id AND ph.valid_from <= r.census
            ORDER BY ph.valid_from DESC, ph.history_id DESC
            LIMIT 1) h ON true
        -- suspended days since listing (overlaps once), and suspended at the census
        LEFT JOIN LATERAL (
            SELECT coalesce((SELECT sum(upper(x) - lower(x))
                             FROM unnest(range_agg(daterange(ws.suspended_from, ws.suspended_until, '[]'))
                                         * datemultirange(daterange(w.decision_to_admit, r.census))) x),
                            0)::int AS days,
                   bool_or(ws.suspended_from <= r.census
                           AND coalesce(ws.suspended_until, 'infinity') >= r.census) AS suspended_now
            FROM ptl.waiting_list_suspension ws
            WHERE ws.entry_id = w.entry_id) su ON w.entry_id IS NOT NULL
        LEFT JOIN ptl.priority_target t ON t.priority = coalesce(h.priority, w.clinical_priority)
        LEFT JOIN LATERAL (
            SELECT array_agg(DISTINCT i.rule_id ORDER BY i.rule_id) AS rules
            FROM ptl.validation_issue i WHERE i.pathway_id = r.pathway_id) v ON true
        WHERE r.outcome = 'incomplete'
          -- a record duplicating another of the same person is counted once (link/pathway.sql)
          AND NOT EXISTS (SELECT 1 FROM ptl.pathway_duplicate d WHERE d.pathway_id = r.pathway_id)) b) o) l
WHERE (SELECT ptl.sees_all_organisations())
   OR l.provider_org = ANY ((SELECT ptl.my_organisations())::text[])
   OR l.pathway_id IN (SELECT t.pathway_id FROM ptl.transferred_pathway_visible t);
COMMENT ON VIEW ptl.ptl IS
    'The patient tracking list: every incomplete RTT period a provider reports (clinical responsibility not transferred), at the census of the last ptl.refresh()';
COMMENT ON COLUMN ptl.ptl.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.ptl.period_no IS 'RTT period on it';
COMMENT ON COLUMN ptl.ptl.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.ptl.nhs_number IS 'NHS number (NULL when missing or invalid, or when the user may not see identifiers)';
COMMENT ON COLUMN ptl.ptl.local_patient_id IS 'Hospital number (NULL when the user may not see identifiers)';
COMMENT ON COLUMN ptl.ptl.provider_org IS 'Reporting provider';
COMMENT ON COLUMN ptl.ptl.site_code IS 'Managing site';
COMMENT ON COLUMN ptl.ptl.treatment_function IS 'Treatment function code';
COMMENT ON COLUMN ptl.ptl.treatment_function_name IS 'Treatment function name';
COMMENT ON COLUMN ptl.ptl.rtt_line IS 'Line of the RTT return';
COMMENT ON COLUMN ptl.ptl.commissioner_code IS 'Commissioner';
COMMENT ON COLUMN ptl.ptl.ppid_issuer IS 'PPID issuer';
COMMENT ON COLUMN ptl.ptl.ppid IS 'Patient pathway identifier';
COMMENT ON COLUMN ptl.ptl.referral_priority IS 'Referral priority';
COMMENT ON COLUMN ptl.ptl.census IS 'Census date of the waits';
COMMENT ON COLUMN ptl.ptl.clock_start IS 'Clock start (NULL: unknown)';
COMMENT ON COLUMN ptl.ptl.days_waited IS 'Days waited at the census';
COMMENT ON COLUMN ptl.ptl.weeks_waited IS 'Whole weeks waited, floor(days / 7), as PTLs show it; thresholds use days (see week_band)';
COMMENT ON COLUMN ptl.ptl.week_band IS 'Published weekly band 0..104';
COMMENT ON COLUMN ptl.ptl.breach_18_weeks_on IS 'First day over 18 weeks (start + 127)';
COMMENT ON COLUMN ptl.ptl.breach_52_weeks_on IS 'First day over 52 weeks (start + 365)';
COMMENT ON COLUMN ptl.ptl.breach_65_weeks_on IS 'First day over 65 weeks (start + 456)';
COMMENT ON COLUMN ptl.ptl.breach_78_weeks_on IS 'First day over 78 weeks (start + 547)';
COMMENT ON COLUMN ptl.ptl.breach_104_weeks_on IS 'First day over 104 weeks (start + 729)';
COMMENT ON COLUMN ptl.ptl.has_dta IS 'A decision to admit was recorded in the period (Part 2A)';
COMMENT ON COLUMN ptl.ptl.waiting_list_entry_id IS 'Open waiting-list entry (NULL: not on the admitted list)';
COMMENT ON COLUMN ptl.ptl.decision_to_admit IS 'Decision-to-admit date of the open waiting-list entry';
COMMENT ON COLUMN ptl.ptl.clinical_priority IS 'Clinical priority of the open waiting-list entry in force at the census (reviews included: ptl.clinical_priority_history)';
COMMENT ON COLUMN ptl.ptl.procedure_code IS 'Intended procedure (OPCS-4)';
COMMENT ON COLUMN ptl.ptl.tci_date IS 'TCI date on the waiting-list entry';
COMMENT ON COLUMN ptl.ptl.next_booked_date IS 'Next booked date (an event after the census, or an admission date offered and not declined)';
COMMENT ON COLUMN ptl.ptl.next_booked_kind IS 'Kind of the next booked event';
COMMENT ON COLUMN ptl.ptl.validation_issues IS 'Validation rules the pathway breaks (see ptl.validation_issues)';
COMMENT ON COLUMN ptl.ptl.suspended_days IS 'Days the patient was suspended since listing (ptl.waiting_list_suspension)';
COMMENT ON COLUMN ptl.ptl.days_on_list IS 'Days on the admitted list at the census, suspended days excluded: the wait measured against the clinical priority target';
COMMENT ON COLUMN ptl.ptl.target_days IS 'Target days of the clinical priority (ptl.priority_target)';
COMMENT ON COLUMN ptl.ptl.target_date IS 'Date the clinical priority target is reached: listed + suspended days + target days (breached from that day)';
COMMENT ON COLUMN ptl.ptl.pct_target_elapsed IS 'Days on list as a percentage of the target days, for display';
COMMENT ON COLUMN ptl.ptl.target_elapsed IS 'Days on list over target days, exactly ordered (the order''s first key)';
COMMENT ON COLUMN ptl.ptl.order_group IS
    'urgent (P1a, P1b), by_target (P2-P4), unprioritised (admitted, no priority), set_aside (P5, P6 or suspended at the census: no position), non_admitted';
COMMENT ON COLUMN ptl.ptl.list_position IS
    'Place in the provider''s treatment function list (admitted and non-admitted lists numbered separately), 1 first; see ptl.risk_setting.order_policy';

-- Headline measures per provider and treatment function, with provider and
-- ICS totals (treatment_function NULL; provider_org NULL for the ICS).  The
-- median and 92nd percentile are exact over days, in weeks; NHS England
-- estimates its published ones from the bands (rtt-rules.md Q8).
CREATE VIEW ptl.ptl_headline AS
SELECT l.provider_org, l.treatment_function,
       count(*) AS list_size,
       round(100.0 * count(*) FILTER (WHERE l.days_waited <= 126) / count(*), 1) AS pct_within_18_weeks,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY l.days_waited) / 7)::numeric, 1) AS median_weeks,
       round((percentile_cont(0.92) WITHIN GROUP (ORDER BY l.days_waited) / 7)::numeric, 1) AS p92_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 18) AS over_18_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 52) AS over_52_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 65) AS over_65_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 78) AS over_78_weeks,
       count(*) FILTER (WHERE l.days_waited > 7 * 104) AS over_104_weeks,
       count(*) FILTER (WHERE l.clock_start IS NULL) AS unknown_clock_start
FROM ptl.ptl l
GROUP BY GROUPING SETS ((l.provider_org, l.treatment_function), (l.provider_org), ());
COMMENT ON VIEW ptl.ptl_headline IS
    'Headline measures of the PTL per provider and treatment function, with provider totals (treatment_function NULL) and the ICS total (both NULL)';
COMMENT ON COLUMN ptl.ptl_headline.provider_org IS 'Provider (NULL: the whole ICS)';
COMMENT ON COLUMN ptl.ptl_headline.treatment_function IS 'Treatment function (NULL: all)';
COMMENT ON COLUMN ptl.ptl_headline.list_size IS 'Incomplete pathways';
COMMENT ON COLUMN ptl.ptl_headline.pct_within_18_weeks IS 'Percentage waiting 126 days or less (the 92% standard)';
COMMENT ON COLUMN ptl.ptl_headline.median_weeks IS 'Median wait in weeks (exact, from days)';
COMMENT ON COLUMN ptl.ptl_headline.p92_weeks IS '92nd percentile wait in weeks (exact, from days)';
COMMENT ON COLUMN ptl.ptl_headline.over_18_weeks IS 'Waiting over 18 weeks (127+ days)';
COMMENT ON COLUMN ptl.ptl_headline.over_52_weeks IS 'Over 52 weeks (365+ days)';
COMMENT ON COLUMN ptl.ptl_headline.over_65_weeks IS 'Over 65 weeks (456+ days)';
COMMENT ON COLUMN ptl.ptl_headline.over_78_weeks IS 'Over 78 weeks (547+ days)';
COMMENT ON COLUMN ptl.ptl_headline.over_104_weeks IS 'Over 104 weeks (729+ days)';
COMMENT ON COLUMN ptl.ptl_headline.unknown_clock_start IS 'Pathways with an unknown clock start (not in the percentages)';

-- Every pathway record's periods as at any census, set-wise, with whether its
-- provider reported it then.  The statutory outputs use this, so a return for
-- a past month end does not depend on when the last refresh ran.
CREATE FUNCTION ptl.rtt_periods_at(census date)
RETURNS TABLE (pathway_id bigint, responsible boolean, period_no int, clock_start date,
               clock_stop date, stop_status ptl.rtt_status, outcome text, days_waited int,
               week_band int, has_dta boolean, stop_treatment_function text)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
SET enable_hashagg = off   -- pathways in index order, not hashed (see ptl.rtt_compute)
BEGIN ATOMIC
    WITH s AS (SELECT * FROM ptl.rtt_setting_in_force()),
    per_period AS (
        SELECT e.pathway_id,
               unnest(ptl.rtt_periods_agg(e.event_date, e.kind, e.rtt_status, e.ref_date, e.event_id, census,
                                          p.referral_priority = 'two_week_wait'
                                              AND NOT s.two_week_wait_first_dna_nullifies,
                                          s.dna_discharge_stop, s.death_stop)) AS r,
               max(e.event_date) FILTER (WHERE e.event_date <= census
                                          AND (e.kind = 'transfer_out' OR e.rtt_status = '21')) AS out_on,
               max(e.event_date) FILTER (WHERE e.event_date <= census
                                          AND e.kind IN ('transfer_in', 'referral')) AS back_on
        FROM ptl.pathway_event e
        JOIN ptl.pathway p ON p.pathway_id = e.pathway_id
        CROSS JOIN s
        GROUP BY e.pathway_id)
    SELECT g.pathway_id,
           (g.out_on IS NULL OR g.back_on > g.out_on)
           -- a duplicate record (ptl.pathway_duplicate, last refresh) reports nothing
           AND NOT EXISTS (SELECT 1 FROM ptl.pathway_duplicate d WHERE d.pathway_id = g.pathway_id),
           (g.r).period_no, (g.r).clock_start, (g.r).clock_stop, (g.r).stop_status, (g.r).outcome,
           (g.r).days_waited, (g.r).week_band, (g.r).has_dta,
           -- completed periods count against the function of the activity
           -- that stopped the clock (RTT guidance 10.1.4)
           CASE WHEN (g.r).clock_stop IS NOT NULL THEN
               (SELECT e.treatment_function FROM ptl.pathway_event e
                WHERE e.pathway_id = g.pathway_id AND e.event_date = (g.r).clock_stop
                  AND e.treatment_function IS NOT NULL
                ORDER BY (e.rtt_status = (g.r).stop_status) DESC NULLS LAST, e.event_id DESC
                LIMIT 1) END
    FROM per_period g;
END;
COMMENT ON FUNCTION ptl.rtt_periods_at(date) IS
    'Every pathway record''s RTT periods as at a census (bulk engine), with whether its provider held clinical responsibility then (false for duplicate records the last refresh found) and the treatment function of the activity that stopped each completed period';

-- The weekly Waiting List Minimum Data Set rows (rtt-rules.md 5.5): every
-- open pathway on a week-ending Sunday.  Field names follow the WLMDS names
-- seen in NHS England's and OpenSAFELY's public material (Q11: the NHSE
-- specification itself was not available).
CREATE FUNCTION ptl.wlmds(week_ending date)
RETURNS TABLE ("Week_Ending_Date" date, "ReportingOrganisation" text, "ORGANISATION_CODE" text,
               "PATIENT_PATHWAY_IDENTIFIER" text, "UBRN" text, "LOCAL_PATIENT_IDENTIFIER" text,
               "NHS_NUMBER" text, "REFERRAL_TO_TREATMENT_PERIOD_START_DATE" date,
               "ACTIVITY_TREATMENT_FUNCTION_CODE" text, "Waiting_List_Type" text,
               "PRIORITY_TYPE" text, "CLINICAL_PRIORITY" text, "DECISION_TO_ADMIT_DATE" date,
               "TCI_DATE" date, "DATE_LAST_ATTENDED" date, "COMMISSIONER_CODE" text,
               "DAYS_WAITED" int, "WEEKS_WAITED_BAND" int)
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
BEGIN
    IF extract(isodow FROM week_ending) <> 7 THEN
        RAISE EXCEPTION 'WLMDS census % is a %, not a Sunday', week_ending, to_char(week_ending, 'FMDay')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('The week ending on or after it is %s.', week_ending + (7 - extract(isodow FROM week_ending)::int));
    END IF;
    RETURN QUERY
    SELECT week_ending, p.provider_org, p.ppid_issuer, p.ppid, p.ubrn, pa.local_patient_id,
           pa.nhs_number::text, r.clock_start, p.treatment_function,
           -- IRTT: waiting for admission (a decision to admit); ORTT: not yet
           CASE WHEN r.has_dta OR w.entry_id IS NOT NULL THEN 'IRTT' ELSE 'ORTT' END,
           CASE p.referral_priority WHEN 'routine' THEN '1' WHEN 'urgent' THEN '2' ELSE '3' END,
           w.clinical_priority::text, w.decision_to_admit, w.tci_date,
           (SELECT max(e.event_date) FROM ptl.pathway_event e
            WHERE e.pathway_id = p.pathway_id AND e.kind IN ('outpatient', 'admission')
              AND e.event_date <= week_ending),
           p.commissioner_code, r.days_waited, r.week_band
    FROM ptl.rtt_periods_at(week_ending) r
    JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
    JOIN ptl.patient pa ON pa.patient_id = p.patient_id
    LEFT JOIN LATERAL (
        SELECT e.entry_id, e.decision_to_admit, e.clinical_priority, e.tci_date
        FROM ptl.waiting_list_entry e
        WHERE e.pathway_id = p.pathway_id AND e.decision_to_admit <= week_ending
          AND (e.removed_date IS NULL OR e.removed_date > week_ending)
        ORDER BY e.decision_to_admit DESC, e.entry_id DESC LIMIT 1) w ON true
    WHERE r.outcome = 'incomplete' AND r.responsible
    ORDER BY p.provider_org, p.ppid_issuer, p.ppid, r.period_no;
END
$$;
COMMENT ON FUNCTION ptl.wlmds(date) IS
    'The weekly Waiting List Minimum Data Set extract for a week-ending Sunday: one row per open RTT pathway a provider reports';
-- ---------------------------------------------------------------------------
-- risk: scores derived from the assessments, each PTL row's risk, the
-- cohorts that call for action, harm review and priorities due for review.
-- Thresholds are in ptl.risk_setting.
-- ---------------------------------------------------------------------------

-- Every assessment with every score its inputs allow.  Age is whole years
-- at the assessment from the patient's date of birth.
CREATE VIEW ptl.risk_score AS
SELECT x.assessment_id, x.patient_id, x.person_id, x.pathway_id, x.assessed_on, x.recorded_by,
       x.assessed_on + x.valid_days AS valid_until,
       current_date >= x.assessed_on + x.valid_days AS stale,
       x.age_years, x.asa_grade, x.asa_physical_status,
       x.ariscat_score, ptl.ariscat_class(x.ariscat_score) AS ariscat_class,
       x.sort_mortality_pct,
       ptl.sort_cj_mortality_pct(x.sort_mortality_pct, x.clinician_band) AS sort_cj_mortality_pct,
       x.sort_morbidity_pct,
       x.possum_physiological_score, x.possum_operative_score,
       ptl.possum_morbidity_pct(x.possum_physiological_score, x.possum_operative_score) AS possum_morbidity_pct,
       ptl.possum_mortality_pct(x.possum_physiological_score, x.possum_operative_score) AS possum_mortality_pct,
       ptl.p_possum_mortality_pct(x.possum_physiological_score, x.possum_operative_score) AS p_possum_mortality_pct,
       x.cfs_level, ptl.cfs_label(x.cfs_level) AS cfs_label, ptl.cfs_frail(x.cfs_level, x.frail_from) AS frail,
       ptl.cfs_warning(x.cfs_level, x.age_years) AS cfs_warning
FROM (
    SELECT a.*, pl.person_id, s.assessment_valid_days AS valid_days, s.frail_from_cfs AS frail_from,
           ptl.asa_physical_status(a.asa_grade, a.emergency) AS asa_physical_status,
           ptl.ariscat_score(y.age_years, a.spo2_pct, a.respiratory_infection_last_month, a.hb_g_dl, a.incision,
                             a.surgery_duration_hours, a.emergency) AS ariscat_score,
           ptl.sort_mortality_pct(nullif(a.asa_grade, 6), a.urgency, ptl.sort_high_risk_specialty(a.sort_specialty),
                                  a.severity, a.cancer, y.age_years) AS sort_mortality_pct,
           ptl.sort_morbidity_pct(nullif(a.asa_grade, 6), a.sort_specialty, a.severity, a.cancer, y.age_years)
               AS sort_morbidity_pct,
           ptl.possum_physiological_score(y.age_years, a.cardiac, a.respiratory, a.systolic_bp_mmhg, a.pulse_per_min,
                                          a.glasgow_coma_scale, a.hb_g_dl, a.wcc_10e9_per_l, a.urea_mmol_l,
                                          a.sodium_mmol_l, a.potassium_mmol_l, a.ecg) AS possum_physiological_score,
           ptl.possum_operative_score(a.operative_severity, a.procedure_count, a.blood_loss_ml,
                                      a.peritoneal_soiling, a.malignancy, a.mode_of_surgery) AS possum_operative_score,
           y.age_years
    FROM ptl.risk_assessment a
    JOIN ptl.patient p ON p.patient_id = a.patient_id
    LEFT JOIN ptl.person_link pl ON pl.patient_id = a.patient_id
    CROSS JOIN ptl.risk_setting_in_force() s
    -- an impossible age (birth after the assessment) scores nothing
    CROSS JOIN LATERAL (
        SELECT CASE WHEN n BETWEEN 0 AND 130 THEN n END AS age_years
        FROM (SELECT extract(year FROM age(a.assessed_on, p.date_of_birth))::int AS n) q) y
    OFFSET 0) x;     -- score once per row, not once per reference
COMMENT ON VIEW ptl.risk_score IS
    'Every risk assessment with every score its inputs allow (ASA, ARISCAT, SORT, SORT-CJ, SORT morbidity, POSSUM, P-POSSUM, CFS) and whether it is too old to trust';
COMMENT ON COLUMN ptl.risk_score.assessment_id IS 'Assessment';
COMMENT ON COLUMN ptl.risk_score.patient_id IS 'Patient record assessed';
COMMENT ON COLUMN ptl.risk_score.person_id IS 'ICS person (NULL until persons are linked)';
COMMENT ON COLUMN ptl.risk_score.pathway_id IS 'Pathway assessed (NULL: any)';
COMMENT ON COLUMN ptl.risk_score.assessed_on IS 'Date assessed';
COMMENT ON COLUMN ptl.risk_score.recorded_by IS 'Who recorded it';
COMMENT ON COLUMN ptl.risk_score.valid_until IS 'First day the assessment is too old for listing decisions (risk_setting.assessment_valid_days)';
COMMENT ON COLUMN ptl.risk_score.stale IS 'Too old to trust today';
COMMENT ON COLUMN ptl.risk_score.age_years IS 'Age in whole years at the assessment';
COMMENT ON COLUMN ptl.risk_score.asa_grade IS 'ASA grade 1 to 6';
COMMENT ON COLUMN ptl.risk_score.asa_physical_status IS 'ASA physical status as written (e.g. IIIE)';
COMMENT ON COLUMN ptl.risk_score.ariscat_score IS 'ARISCAT-2010 score 0 to 123';
COMMENT ON COLUMN ptl.risk_score.ariscat_class IS 'ARISCAT class: low, intermediate, high';
COMMENT ON COLUMN ptl.risk_score.sort_mortality_pct IS 'SORT-2014 30-day mortality, per cent (not for ASA VI)';
COMMENT ON COLUMN ptl.risk_score.sort_cj_mortality_pct IS 'SORT with clinical judgement (SORT-CJ-2020), per cent';
COMMENT ON COLUMN ptl.risk_score.sort_morbidity_pct IS 'SORT-morbidity-2017 day-7 morbidity, per cent';
COMMENT ON COLUMN ptl.risk_score.possum_physiological_score IS 'POSSUM physiological score 12 to 88';
COMMENT ON COLUMN ptl.risk_score.possum_operative_score IS 'POSSUM operative severity score 6 to 48 (provisional before the operation)';
COMMENT ON COLUMN ptl.risk_score.possum_morbidity_pct IS 'POSSUM-1991 morbidity, per cent';
COMMENT ON COLUMN ptl.risk_score.possum_mortality_pct IS 'POSSUM-1991 mortality, per cent';
COMMENT ON COLUMN ptl.risk_score.p_possum_mortality_pct IS 'P-POSSUM-1998 mortality, per cent';
COMMENT ON COLUMN ptl.risk_score.cfs_level IS 'Clinical Frailty Scale level';
COMMENT ON COLUMN ptl.risk_score.cfs_label IS 'Clinical Frailty Scale 2.0 name';
COMMENT ON COLUMN ptl.risk_score.frail IS 'Frail (CFS at or above risk_setting.frail_from_cfs)';
COMMENT ON COLUMN ptl.risk_score.cfs_warning IS 'Caution about the frailty level (not validated under 65)';

-- The latest assessment of each person (of each patient record not yet
-- linked to a person).
CREATE VIEW ptl.risk_latest AS
SELECT DISTINCT ON (coalesce(r.person_id, -r.patient_id)) r.*
FROM ptl.risk_score r
ORDER BY coalesce(r.person_id, -r.patient_id), r.assessed_on DESC, r.assessment_id DESC;
COMMENT ON VIEW ptl.risk_latest IS
    'The latest risk assessment of each ICS person (records not yet linked count alone), with every score (columns as ptl.risk_score)';
-- the same columns as ptl.risk_score, so the same comments
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT a.attname, col_description(a.attrelid, a.attnum) AS description
             FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = 'ptl.risk_score'::regclass AND a.attnum > 0 LOOP
        EXECUTE format('COMMENT ON COLUMN ptl.risk_latest.%I IS %L', c.attname, c.description);
    END LOOP;
END
$$;

-- Each PTL row with the latest assessment that applies to it: one of the
-- same person, for this pathway or for none in particular.
CREATE VIEW ptl.ptl_risk AS
SELECT DISTINCT ON (l.pathway_id, l.period_no)
       l.pathway_id, l.period_no, l.patient_id, l.provider_org, l.site_code, l.treatment_function,
       l.clinical_priority, l.order_group, l.list_position, l.days_waited, l.weeks_waited, l.days_on_list,
       l.target_date, r.assessment_id, r.assessed_on, l.census >= r.valid_until AS assessment_stale, r.age_years,
       r.asa_physical_status, r.ariscat_score, r.ariscat_class, r.sort_mortality_pct, r.sort_cj_mortality_pct,
       r.sort_morbidity_pct, r.p_possum_mortality_pct, r.cfs_level, r.cfs_label, r.frail, r.cfs_warning
FROM ptl.ptl l
LEFT JOIN ptl.person_link pl ON pl.patient_id = l.patient_id
LEFT JOIN ptl.risk_score r
       ON coalesce(r.person_id, -r.patient_id) = coalesce(pl.person_id, -l.patient_id)
      AND (r.pathway_id IS NULL OR r.pathway_id = l.pathway_id)
ORDER BY l.pathway_id, l.period_no, r.assessed_on DESC NULLS LAST, r.assessment_id DESC;
COMMENT ON VIEW ptl.ptl_risk IS
    'Every PTL row with the latest risk assessment of the same ICS person that applies to its pathway (NULL scores: none)';
COMMENT ON COLUMN ptl.ptl_risk.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.ptl_risk.period_no IS 'RTT period';
COMMENT ON COLUMN ptl.ptl_risk.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.ptl_risk.provider_org IS 'Reporting provider';
COMMENT ON COLUMN ptl.ptl_risk.site_code IS 'Managing site';
COMMENT ON COLUMN ptl.ptl_risk.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.ptl_risk.clinical_priority IS 'Clinical priority in force';
COMMENT ON COLUMN ptl.ptl_risk.order_group IS 'Group in the order (see ptl.ptl)';
COMMENT ON COLUMN ptl.ptl_risk.list_position IS 'Place on the list (see ptl.ptl)';
COMMENT ON COLUMN ptl.ptl_risk.days_waited IS 'RTT days waited';
COMMENT ON COLUMN ptl.ptl_risk.weeks_waited IS 'RTT whole weeks waited';
COMMENT ON COLUMN ptl.ptl_risk.days_on_list IS 'Days on the admitted list, suspensions excluded';
COMMENT ON COLUMN ptl.ptl_risk.target_date IS 'Clinical priority target date';
COMMENT ON COLUMN ptl.ptl_risk.assessment_id IS 'Assessment used';
COMMENT ON COLUMN ptl.ptl_risk.assessed_on IS 'Date assessed';
COMMENT ON COLUMN ptl.ptl_risk.assessment_stale IS 'The assessment was too old for listing decisions at the census';
COMMENT ON COLUMN ptl.ptl_risk.age_years IS 'Age at the assessment';
COMMENT ON COLUMN ptl.ptl_risk.asa_physical_status IS 'ASA physical status';
COMMENT ON COLUMN ptl.ptl_risk.ariscat_score IS 'ARISCAT score';
COMMENT ON COLUMN ptl.ptl_risk.ariscat_class IS 'ARISCAT class';
COMMENT ON COLUMN ptl.ptl_risk.sort_mortality_pct IS 'SORT 30-day mortality, per cent';
COMMENT ON COLUMN ptl.ptl_risk.sort_cj_mortality_pct IS 'SORT-CJ 30-day mortality, per cent';
COMMENT ON COLUMN ptl.ptl_risk.sort_morbidity_pct IS 'SORT day-7 morbidity, per cent';
COMMENT ON COLUMN ptl.ptl_risk.p_possum_mortality_pct IS 'P-POSSUM mortality, per cent';
COMMENT ON COLUMN ptl.ptl_risk.cfs_level IS 'Clinical Frailty Scale level';
COMMENT ON COLUMN ptl.ptl_risk.cfs_label IS 'Clinical Frailty Scale name';
COMMENT ON COLUMN ptl.ptl_risk.frail IS 'Frail';
COMMENT ON COLUMN ptl.ptl_risk.cfs_warning IS 'Caution about the frailty level';

-- The cohorts: one view each, thresholds from ptl.risk_setting.
CREATE VIEW ptl.risk_cohort AS
SELECT c.cohort, r.pathway_id, r.period_no, r.patient_id, r.provider_org, r.site_code, r.treatment_function,
       r.clinical_priority, r.order_group, r.list_position, r.days_waited, r.weeks_waited, r.target_date,
       r.assessment_id, r.assessed_on, r.assessment_stale, c.measure, c.threshold
FROM ptl.ptl_risk r
CROSS JOIN ptl.risk_setting_in_force() s
CROSS JOIN LATERAL (VALUES
    ('prehabilitation', r.ariscat_score::float8, s.prehabilitation_ariscat_from::float8),
    ('high_mortality_risk', r.sort_mortality_pct, s.high_mortality_sort_pct),
    ('frail', r.cfs_level::float8, s.frail_from_cfs::float8)) c (cohort, measure, threshold)
WHERE c.measure >= c.threshold;
COMMENT ON VIEW ptl.risk_cohort IS
    'Patients on the PTL whose latest assessment puts them in a cohort: prehabilitation (ARISCAT at or above 26), high_mortality_risk (SORT at or above 5%), frail (CFS at or above 5); thresholds in ptl.risk_setting';
COMMENT ON COLUMN ptl.risk_cohort.cohort IS 'prehabilitation, high_mortality_risk or frail';
COMMENT ON COLUMN ptl.risk_cohort.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.risk_cohort.period_no IS 'RTT period';
COMMENT ON COLUMN ptl.risk_cohort.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.risk_cohort.provider_org IS 'Reporting provider';
COMMENT ON COLUMN ptl.risk_cohort.site_code IS 'Managing site';
COMMENT ON COLUMN ptl.risk_cohort.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.risk_cohort.clinical_priority IS 'Clinical priority in force';
COMMENT ON COLUMN ptl.risk_cohort.order_group IS 'Group in the order';
COMMENT ON COLUMN ptl.risk_cohort.list_position IS 'Place on the list';
COMMENT ON COLUMN ptl.risk_cohort.days_waited IS 'RTT days waited';
COMMENT ON COLUMN ptl.risk_cohort.weeks_waited IS 'RTT whole weeks waited';
COMMENT ON COLUMN ptl.risk_cohort.target_date IS 'Clinical priority target date';
COMMENT ON COLUMN ptl.risk_cohort.assessment_id IS 'Assessment that put the patient in the cohort';
COMMENT ON COLUMN ptl.risk_cohort.assessed_on IS 'Date assessed';
COMMENT ON COLUMN ptl.risk_cohort.assessment_stale IS 'The assessment is too old: reassess before acting';
COMMENT ON COLUMN ptl.risk_cohort.measure IS 'The score: ARISCAT points, SORT per cent or CFS level';
COMMENT ON COLUMN ptl.risk_cohort.threshold IS 'The threshold it met';

CREATE VIEW ptl.cohort_prehabilitation AS
SELECT c.pathway_id, c.period_no, c.patient_id, c.provider_org, c.site_code, c.treatment_function,
       c.clinical_priority, c.list_position, c.days_waited, c.weeks_waited, c.target_date,
       c.measure::int AS ariscat_score, c.assessed_on, c.assessment_stale
FROM ptl.risk_cohort c WHERE c.cohort = 'prehabilitation';
COMMENT ON VIEW ptl.cohort_prehabilitation IS
    'Patients for respiratory prehabilitation: ARISCAT at or above risk_setting.prehabilitation_ariscat_from (26: intermediate or high risk of pulmonary complications), with their place on the list and wait';
COMMENT ON COLUMN ptl.cohort_prehabilitation.ariscat_score IS 'ARISCAT score';

CREATE VIEW ptl.cohort_high_mortality_risk AS
SELECT c.pathway_id, c.period_no, c.patient_id, c.provider_org, c.site_code, c.treatment_function,
       c.clinical_priority, c.list_position, c.days_waited, c.weeks_waited, c.target_date,
       round(c.measure::numeric, 3) AS sort_mortality_pct, c.assessed_on, c.assessment_stale
FROM ptl.risk_cohort c WHERE c.cohort = 'high_mortality_risk';
COMMENT ON VIEW ptl.cohort_high_mortality_risk IS
    'High-risk surgical patients: SORT predicted 30-day mortality at or above risk_setting.high_mortality_sort_pct (5%), with their place on the list and wait';
COMMENT ON COLUMN ptl.cohort_high_mortality_risk.sort_mortality_pct IS 'SORT 30-day mortality, per cent';

CREATE VIEW ptl.cohort_frail AS
SELECT c.pathway_id, c.period_no, c.patient_id, c.provider_org, c.site_code, c.treatment_function,
       c.clinical_priority, c.list_position, c.days_waited, c.weeks_waited, c.target_date,
       c.measure::int AS cfs_level, c.assessed_on, c.assessment_stale
FROM ptl.risk_cohort c WHERE c.cohort = 'frail';
COMMENT ON VIEW ptl.cohort_frail IS
    'Frail patients: Clinical Frailty Scale at or above risk_setting.frail_from_cfs (5), with their place on the list and wait';
COMMENT ON COLUMN ptl.cohort_frail.cfs_level IS 'Clinical Frailty Scale level';

-- The cohort views' shared columns mean what they mean in ptl.risk_cohort.
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT v.attrelid::regclass AS cohort_view, v.attname, col_description(r.attrelid, r.attnum) AS description
             FROM pg_catalog.pg_attribute v
             JOIN pg_catalog.pg_attribute r ON r.attrelid = 'ptl.risk_cohort'::regclass AND r.attname = v.attname
             WHERE v.attrelid IN ('ptl.cohort_prehabilitation'::regclass, 'ptl.cohort_high_mortality_risk'::regclass,
                                  'ptl.cohort_frail'::regclass)
               AND v.attnum > 0 LOOP
        EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', c.cohort_view, c.attname, c.description);
    END LOOP;
END
$$;

-- Harm review: long waits, and patients past their priority's target.
CREATE VIEW ptl.harm_review AS
SELECT l.pathway_id, l.period_no, l.patient_id, l.provider_org, l.site_code, l.treatment_function,
       l.clinical_priority, l.list_position, l.days_waited, l.weeks_waited, l.target_date,
       l.census - l.target_date AS days_past_target,
       array_remove(ARRAY[
           CASE WHEN l.days_waited > 7 * s.harm_review_weeks
                THEN format('waiting over %s weeks', s.harm_review_weeks) END,
           CASE WHEN l.census = l.target_date AND s.harm_review_target_margin_days = 0
                THEN format('%s target date reached', l.clinical_priority)
                WHEN l.census >= l.target_date + s.harm_review_target_margin_days
                THEN format('%s target passed by %s days', l.clinical_priority, l.census - l.target_date) END],
           NULL) AS reasons
FROM ptl.ptl l
CROSS JOIN ptl.risk_setting_in_force() s
WHERE l.days_waited > 7 * s.harm_review_weeks
   OR l.census >= l.target_date + s.harm_review_target_margin_days;
COMMENT ON VIEW ptl.harm_review IS
    'Pathways for clinical harm review, with the reasons: waiting more than risk_setting.harm_review_weeks (52), or at or past the clinical priority target date by risk_setting.harm_review_target_margin_days (0)';
COMMENT ON COLUMN ptl.harm_review.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.harm_review.period_no IS 'RTT period';
COMMENT ON COLUMN ptl.harm_review.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.harm_review.provider_org IS 'Reporting provider';
COMMENT ON COLUMN ptl.harm_review.site_code IS 'Managing site';
COMMENT ON COLUMN ptl.harm_review.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.harm_review.clinical_priority IS 'Clinical priority in force';
COMMENT ON COLUMN ptl.harm_review.list_position IS 'Place on the list';
COMMENT ON COLUMN ptl.harm_review.days_waited IS 'RTT days waited';
COMMENT ON COLUMN ptl.harm_review.weeks_waited IS 'RTT whole weeks waited';
COMMENT ON COLUMN ptl.harm_review.target_date IS 'Clinical priority target date';
COMMENT ON COLUMN ptl.harm_review.days_past_target IS 'Days since the target date (0 on the day it is breached; negative: not yet due)';
COMMENT ON COLUMN ptl.harm_review.reasons IS 'Why the pathway needs a harm review';

-- Admitted-list entries whose clinical priority is missing or has not been
-- set or reviewed for risk_setting.priority_review_days.
CREATE VIEW ptl.priority_review_due AS
SELECT l.waiting_list_entry_id, l.pathway_id, l.patient_id, l.provider_org, l.site_code, l.treatment_function,
       l.clinical_priority, l.list_position, l.days_waited,
       coalesce(h.valid_from, l.decision_to_admit) AS priority_set_on,
       coalesce(h.source, 'listing') AS priority_source, h.reviewed_by AS priority_set_by,
       l.census - coalesce(h.valid_from, l.decision_to_admit) AS days_since_set,
       CASE WHEN l.clinical_priority IS NULL THEN 'no clinical priority'
            ELSE format('priority not reviewed for %s days', l.census - coalesce(h.valid_from, l.decision_to_admit))
       END AS reason
FROM ptl.ptl l
CROSS JOIN ptl.risk_setting_in_force() s
LEFT JOIN LATERAL (
    SELECT ph.valid_from, ph.source, ph.reviewed_by FROM ptl.clinical_priority_history ph
    WHERE ph.entry_id = l.waiting_list_entry_id AND ph.valid_from <= l.census
    ORDER BY ph.valid_from DESC, ph.history_id DESC
    LIMIT 1) h ON true
WHERE l.waiting_list_entry_id IS NOT NULL
  AND (l.clinical_priority IS NULL
       OR l.census - coalesce(h.valid_from, l.decision_to_admit) >= s.priority_review_days);
COMMENT ON VIEW ptl.priority_review_due IS
    'Waiting-list entries with no clinical priority, or whose priority was last set or reviewed risk_setting.priority_review_days (84) or more days before the census';
COMMENT ON COLUMN ptl.priority_review_due.waiting_list_entry_id IS 'Waiting-list entry';
COMMENT ON COLUMN ptl.priority_review_due.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.priority_review_due.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.priority_review_due.provider_org IS 'Reporting provider';
COMMENT ON COLUMN ptl.priority_review_due.site_code IS 'Managing site';
COMMENT ON COLUMN ptl.priority_review_due.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.priority_review_due.clinical_priority IS 'Clinical priority in force';
COMMENT ON COLUMN ptl.priority_review_due.list_position IS 'Place on the list';
COMMENT ON COLUMN ptl.priority_review_due.days_waited IS 'RTT days waited';
COMMENT ON COLUMN ptl.priority_review_due.priority_set_on IS 'Date the priority was last set or reviewed';
COMMENT ON COLUMN ptl.priority_review_due.priority_source IS 'listing or extract (source system) or review (in ptl)';
COMMENT ON COLUMN ptl.priority_review_due.priority_set_by IS 'Reviewer, or the batch that carried it (NULL: unchanged since listing)';
COMMENT ON COLUMN ptl.priority_review_due.days_since_set IS 'Days since then, at the census';
COMMENT ON COLUMN ptl.priority_review_due.reason IS 'Why a review is due';
-- ---------------------------------------------------------------------------
-- The monthly RTT return (rtt-rules.md 5.3, 5.4): long form, NHS England's
-- published wide layout (table and CSV), and NHS England's consistency
-- checks as assertions.  Computed from the events as at the month end, so a
-- return does not depend on when the last refresh ran.
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.rtt_part (
    part_code   text PRIMARY KEY,
    description text NOT NULL,
    sort_order  int NOT NULL UNIQUE
);
INSERT INTO ptl.rtt_part VALUES
    ('Part_1A', 'Completed Pathways For Admitted Patients', 1),
    ('Part_1B', 'Completed Pathways For Non-Admitted Patients', 2),
    ('Part_2', 'Incomplete Pathways', 3),
    ('Part_2A', 'Incomplete Pathways with DTA', 4),
    ('Part_3', 'New RTT Periods - All Patients', 5);
COMMENT ON TABLE ptl.rtt_part IS 'Parts of the monthly RTT return, with the codes and descriptions NHS England publishes';
COMMENT ON COLUMN ptl.rtt_part.part_code IS 'RTT Part Type as published, e.g. Part_2A';
COMMENT ON COLUMN ptl.rtt_part.description IS 'RTT Part Description as published';
COMMENT ON COLUMN ptl.rtt_part.sort_order IS 'Order in the published file';

-- Long form: one row per provider, commissioner, part, line and band, with
-- the all-lines total (line C_999).  week_band is NULL for Part 3 (new
-- periods have no wait) and for unknown clock starts (unknown_start).
CREATE FUNCTION ptl.rtt_return(period_end date)
RETURNS TABLE (provider_org text, commissioner_code text, part text, line text,
               week_band int, unknown_start boolean, pathways bigint)
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    month_start date := date_trunc('month', period_end)::date;
    count_nullified boolean := (ptl.rtt_setting_in_force()).part3_counts_nullified;
BEGIN
    IF period_end <> (month_start + interval '1 month' - interval '1 day')::date THEN
        RAISE EXCEPTION 'the RTT return is for a month: % is not the last day of its month', period_end
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('Use %s.', (month_start + interval '1 month' - interval '1 day')::date);
    END IF;
    RETURN QUERY
    WITH periods AS (
        SELECT r.*, p.provider_org,
               -- NONC for non-English commissioners (RTT guidance 10.1.8)
               CASE WHEN c.commissioner_kind = 'non_english' THEN 'NONC'
                    ELSE coalesce(p.commissioner_code, pa.commissioner_code) END AS commissioner,
               -- incomplete: the function now; completed: the one that stopped it (10.1.4)
               CASE WHEN r.outcome = 'incomplete' THEN p.treatment_function
                    ELSE coalesce(r.stop_treatment_function, p.treatment_function) END AS tfc
        FROM ptl.rtt_periods_at(period_end) r
        JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
        JOIN ptl.patient pa ON pa.patient_id = p.patient_id
        LEFT JOIN ptl.commissioner c ON c.commissioner_code = coalesce(p.commissioner_code, pa.commissioner_code)
        WHERE r.responsible),
    counted AS (
        SELECT x.provider_org, x.commissioner, 'Part_1A' AS part, x.tfc, x.week_band, x.clock_start IS NULL AS unknown
        FROM periods x WHERE x.outcome = 'admitted' AND x.clock_stop BETWEEN month_start AND period_end
        UNION ALL
        SELECT x.provider_org, x.commissioner, 'Part_1B', x.tfc, x.week_band, x.clock_start IS NULL
        FROM periods x WHERE x.outcome = 'non_admitted' AND x.clock_stop BETWEEN month_start AND period_end
        UNION ALL
        SELECT x.provider_org, x.commissioner, 'Part_2', x.tfc, x.week_band, x.clock_start IS NULL
        FROM periods x WHERE x.outcome = 'incomplete'
        UNION ALL
        SELECT x.provider_org, x.commissioner, 'Part_2A', x.tfc, x.week_band, x.clock_start IS NULL
        FROM periods x WHERE x.outcome = 'incomplete' AND x.has_dta
        UNION ALL
        SELECT x.provider_org, x.commissioner, 'Part_3', x.tfc, NULL, false
        FROM periods x WHERE x.clock_start BETWEEN month_start AND period_end
          AND (x.outcome <> 'nullified' OR count_nullified))
    SELECT k.provider_org, k.commissioner, k.part,
           CASE WHEN grouping(l.csv_code) = 1 THEN 'C_999' ELSE l.csv_code END,
           k.week_band, k.unknown, count(*)
    FROM counted k
    JOIN ptl.treatment_function_in_use t ON t.tfc = k.tfc
    JOIN ptl.rtt_line l ON l.line_code = t.rtt_line
    GROUP BY GROUPING SETS ((k.provider_org, k.commissioner, k.part, l.csv_code, k.week_band, k.unknown),
                            (k.provider_org, k.commissioner, k.part, k.week_band, k.unknown));
END
$$;
COMMENT ON FUNCTION ptl.rtt_return(date) IS
    'The monthly RTT return for a month end in long form: provider, commissioner, part, line (C_999 = all lines), weekly band, unknown clock start, count';

-- The published wide layout: NHS England's full CSV extract, column for column.
-- Blank cells follow the published file (checked against NHS England's
-- November 2024 extract): completed parts fill Total and the unknown-start
-- column; incomplete parts leave both blank (the unknown count is shown when
-- there is one); Part 3 fills only Total All.
CREATE FUNCTION ptl.rtt_return_csv_header() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN 'Period,Provider Parent Org Code,Provider Parent Name,Provider Org Code,Provider Org Name,'
    || 'Commissioner Parent Org Code,Commissioner Parent Name,Commissioner Org Code,Commissioner Org Name,'
    || 'RTT Part Type,RTT Part Description,Treatment Function Code,Treatment Function Name,'
    || (SELECT string_agg(ptl.rtt_week_band_label(b), ',' ORDER BY b) FROM generate_series(0, 104) b)
    || ',Total,Patients with unknown clock start date,Total All';
COMMENT ON FUNCTION ptl.rtt_return_csv_header() IS 'Header line of NHS England''s full CSV extract of the RTT return';

CREATE FUNCTION ptl.csv_field(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN value IS NULL THEN ''
            WHEN value ~ '[",\n\r]' THEN '"' || replace(value, '"', '""') || '"'
            ELSE value END;
COMMENT ON FUNCTION ptl.csv_field(text) IS 'A value as one CSV field (RFC 4180 quoting; NULL as empty)';

CREATE FUNCTION ptl.rtt_return_wide(period_end date)
RETURNS TABLE (period text, provider_org text, commissioner_code text, part text, line text,
               bands bigint[], total bigint, unknown_start bigint, total_all bigint, csv_line text)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
BEGIN ATOMIC
    WITH r AS (SELECT * FROM ptl.rtt_return(period_end)),
    cell AS (
        SELECT r.provider_org, r.commissioner_code, r.part, r.line,
               array_agg(coalesce(b.pathways, 0) ORDER BY g.band) AS bands,
               max(u.n) AS unknown
        FROM (SELECT DISTINCT provider_org, commissioner_code, part, line FROM r) r
        CROSS JOIN generate_series(0, 104) g(band)
        LEFT JOIN r b ON b.provider_org = r.provider_org AND b.commissioner_code IS NOT DISTINCT FROM r.commissioner_code
                     AND b.part = r.part AND b.line = r.line AND b.week_band = g.band AND NOT b.unknown_start
        LEFT JOIN (SELECT provider_org, commissioner_code, part, line, sum(pathways) AS n
                   FROM r WHERE unknown_start GROUP BY 1, 2, 3, 4) u
               ON u.provider_org = r.provider_org AND u.commissioner_code IS NOT DISTINCT FROM r.commissioner_code
              AND u.part = r.part AND u.line = r.line AND g.band = 0
        GROUP BY r.provider_org, r.commissioner_code, r.part, r.line),
    p3 AS (SELECT provider_org, commissioner_code, line, sum(pathways) AS n
           FROM r WHERE part = 'Part_3' GROUP BY 1, 2, 3),
    shaped AS (
        SELECT c.*,
               (SELECT sum(x) FROM unnest(c.bands) x)::bigint AS banded,
               coalesce(c.unknown, 0)::bigint AS unknown_n
        FROM cell c)
    SELECT 'RTT-' || to_char(period_end, 'FMMonth-YYYY'), s.provider_org, s.commissioner_code, s.part, s.line,
           CASE WHEN s.part = 'Part_3' THEN NULL ELSE s.bands END,
           CASE WHEN s.part IN ('Part_1A', 'Part_1B') THEN s.banded END,
           CASE WHEN s.part IN ('Part_1A', 'Part_1B') OR s.unknown_n > 0 THEN s.unknown_n END,
           CASE WHEN s.part = 'Part_3' THEN p3.n ELSE s.banded + s.unknown_n END,
           concat_ws(',',
               ptl.csv_field('RTT-' || to_char(period_end, 'FMMonth-YYYY')),
               ptl.csv_field(po.parent_org_code), ptl.csv_field(pp.name),
               ptl.csv_field(s.provider_org), ptl.csv_field(po.name),
               ptl.csv_field(co.parent_code), ptl.csv_field(cp.name),
               ptl.csv_field(s.commissioner_code), ptl.csv_field(co.name),
               ptl.csv_field(s.part), ptl.csv_field(pt.description),
               ptl.csv_field(s.line), ptl.csv_field(coalesce(l.name, 'Total')),
               CASE WHEN s.part = 'Part_3' THEN repeat(',', 104)
                    ELSE array_to_string(s.bands, ',') END,
               CASE WHEN s.part IN ('Part_1A', 'Part_1B') THEN s.banded::text ELSE '' END,
               CASE WHEN s.part IN ('Part_1A', 'Part_1B') OR s.unknown_n > 0 THEN s.unknown_n::text ELSE '' END,
               (CASE WHEN s.part = 'Part_3' THEN p3.n ELSE s.banded + s.unknown_n END)::text)
    FROM shaped s
    JOIN ptl.rtt_part pt ON pt.part_code = s.part
    LEFT JOIN ptl.rtt_line l ON l.csv_code = s.line AND s.line <> 'C_999'
    LEFT JOIN p3 ON s.part = 'Part_3' AND p3.provider_org = s.provider_org
                AND p3.commissioner_code IS NOT DISTINCT FROM s.commissioner_code AND p3.line = s.line
    LEFT JOIN ptl.organisation po ON po.org_code = s.provider_org
    LEFT JOIN ptl.organisation pp ON pp.org_code = po.parent_org_code
    LEFT JOIN ptl.commissioner co ON co.commissioner_code = s.commissioner_code
    LEFT JOIN ptl.commissioner cp ON cp.commissioner_code = co.parent_code
    ORDER BY s.provider_org, s.commissioner_code, pt.sort_order,
             coalesce(l.sort_order, 1000);
END;
COMMENT ON FUNCTION ptl.rtt_return_wide(date) IS
    'The monthly RTT return in NHS England''s published wide layout: bands 0..104 as an array, Total, unknown clock starts, Total All, and the row as a line of the full CSV extract';

CREATE FUNCTION ptl.rtt_return_csv(period_end date) RETURNS SETOF text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
BEGIN ATOMIC
    SELECT ptl.rtt_return_csv_header()
    UNION ALL
    (SELECT w.csv_line FROM ptl.rtt_return_wide(period_end) w);
END;
COMMENT ON FUNCTION ptl.rtt_return_csv(date) IS
    'The monthly RTT return as NHS England''s full CSV extract, header first (e.g. \copy (SELECT * FROM ptl.rtt_return_csv(''2025-03-31'')) TO ''rtt.csv'')';

-- NHS England's central checks on a return (RTT guidance Annex B;
-- rtt-rules.md 10.3), run as assertions.  Where NHS England gives no
-- threshold ("large", "unexpectedly"), the one used is stated in the detail
-- and is ptl's judgement.
CREATE FUNCTION ptl.rtt_return_checks(period_end date)
RETURNS TABLE (check_id text, description text, provider_org text, passed boolean, detail text)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
BEGIN ATOMIC
    WITH now_ AS (SELECT * FROM ptl.rtt_return(period_end)),
    prev AS (SELECT * FROM ptl.rtt_return((date_trunc('month', period_end) - interval '1 day')::date)),
    providers AS (SELECT DISTINCT n.provider_org FROM now_ n),
    part_total AS (
        SELECT n.provider_org, n.part, sum(n.pathways) AS n FROM now_ n WHERE n.line = 'C_999' GROUP BY 1, 2),
    prev_total AS (
        SELECT p.provider_org, p.part, sum(p.pathways) AS n FROM prev p WHERE p.line = 'C_999' GROUP BY 1, 2),
    checks AS (
        SELECT 'R01' AS id, 'No negative or decimal values' AS descr, pr.provider_org,
               NOT EXISTS (SELECT 1 FROM now_ n WHERE n.provider_org = pr.provider_org AND n.pathways < 0) AS ok,
               NULL::text AS why
        FROM providers pr
        UNION ALL
        SELECT 'R02', 'Commissioner codes are valid (Sub-ICB, NHS England or NONC)', pr.provider_org,
               bad.codes IS NULL, 'not known: ' || bad.codes
        FROM providers pr
        LEFT JOIN LATERAL (
            SELECT string_agg(DISTINCT coalesce(n.commissioner_code, '(none)'), ', ') AS codes
            FROM now_ n
            WHERE n.provider_org = pr.provider_org AND n.commissioner_code IS DISTINCT FROM 'NONC'
              AND NOT EXISTS (SELECT 1 FROM ptl.commissioner c WHERE c.commissioner_code = n.commissioner_code)) bad ON true
        UNION ALL
        SELECT 'R03', 'The total line (C_999) equals the sum over treatment functions', pr.provider_org,
               bad.n = 0, bad.n || ' commissioner/part/band cells differ'
        FROM providers pr
        CROSS JOIN LATERAL (
            SELECT count(*) AS n FROM (
                SELECT n.commissioner_code, n.part, n.week_band, n.unknown_start,
                       sum(n.pathways) FILTER (WHERE n.line = 'C_999') AS total,
                       sum(n.pathways) FILTER (WHERE n.line <> 'C_999') AS lines
                FROM now_ n WHERE n.provider_org = pr.provider_org
                GROUP BY 1, 2, 3, 4) c
            WHERE c.total IS DISTINCT FROM c.lines) bad
        UNION ALL
        SELECT 'R04', 'A provider reporting completed pathways also reports incomplete ones', pr.provider_org,
               NOT (EXISTS (SELECT 1 FROM part_total t WHERE t.provider_org = pr.provider_org AND t.part IN ('Part_1A', 'Part_1B'))
                    AND NOT EXISTS (SELECT 1 FROM part_total t WHERE t.provider_org = pr.provider_org AND t.part = 'Part_2')),
               NULL
        FROM providers pr
        UNION ALL
        SELECT 'R05', 'Part 2A is not more than Part 2', pr.provider_org, bad.n = 0,
               bad.n || ' commissioner/line rows have more with a DTA than incomplete'
        FROM providers pr
        CROSS JOIN LATERAL (
            SELECT count(*) AS n FROM (
                SELECT n.commissioner_code, n.line,
                       coalesce(sum(n.pathways) FILTER (WHERE n.part = 'Part_2A'), 0) AS dta,
                       coalesce(sum(n.pathways) FILTER (WHERE n.part = 'Part_2'), 0) AS incomplete
                FROM now_ n WHERE n.provider_org = pr.provider_org GROUP BY 1, 2) c
            WHERE c.dta > c.incomplete) bad
        UNION ALL
        SELECT 'R06', 'Part 3 (new periods) is at least the incomplete pathways waiting 0-4 weeks', pr.provider_org,
               coalesce(p3.n, 0) >= coalesce(b4.n, 0),
               format('Part 3 %s, incomplete 0-4 weeks %s', coalesce(p3.n, 0), coalesce(b4.n, 0))
        FROM providers pr
        LEFT JOIN part_total p3 ON p3.provider_org = pr.provider_org AND p3.part = 'Part_3'
        LEFT JOIN LATERAL (SELECT sum(n.pathways) AS n FROM now_ n
                           WHERE n.provider_org = pr.provider_org AND n.part = 'Part_2'
                             AND n.line = 'C_999' AND n.week_band BETWEEN 0 AND 3) b4 ON true
        UNION ALL
        SELECT 'R07', 'Completed pathways in the 0-1 week band are not a large share (threshold 25%)', pr.provider_org,
               coalesce(z.share, 0) <= 0.25, format('%s%% of completed pathways', round(100 * coalesce(z.share, 0), 1))
        FROM providers pr
        LEFT JOIN LATERAL (
            SELECT sum(n.pathways) FILTER (WHERE n.week_band = 0)::numeric / nullif(sum(n.pathways), 0) AS share
            FROM now_ n WHERE n.provider_org = pr.provider_org AND n.line = 'C_999'
              AND n.part IN ('Part_1A', 'Part_1B')) z ON true
        UNION ALL
        SELECT 'R08', 'Unknown clock starts are not a large share of incomplete pathways (threshold 1%)', pr.provider_org,
               coalesce(u.share, 0) <= 0.01, format('%s%% unknown', round(100 * coalesce(u.share, 0), 2))
        FROM providers pr
        LEFT JOIN LATERAL (
            SELECT sum(n.pathways) FILTER (WHERE n.unknown_start)::numeric / nullif(sum(n.pathways), 0) AS share
            FROM now_ n WHERE n.provider_org = pr.provider_org AND n.line = 'C_999' AND n.part = 'Part_2') u ON true
        UNION ALL
        SELECT 'R09', 'No large month-on-month change in a part (threshold 20%, when last month had 100 or more)',
               t.provider_org,
               NOT (p.n >= 100 AND abs(t.n - p.n) > 0.2 * p.n),
               format('%s: %s last month, %s this month', t.part, p.n, t.n)
        FROM part_total t JOIN prev_total p ON p.provider_org = t.provider_org AND p.part = t.part
        UNION ALL
        SELECT 'R10', 'No part reported last month is missing this month', pp.provider_org,
               EXISTS (SELECT 1 FROM part_total t WHERE t.provider_org = pp.provider_org AND t.part = pp.part),
               pp.part || ' was reported last month'
        FROM prev_total pp WHERE pp.provider_org IN (SELECT provider_org FROM providers)
        UNION ALL
        SELECT 'R11', 'The return is not identical to last month''s', pr.provider_org,
               EXISTS (SELECT n.commissioner_code, n.part, n.line, n.week_band, n.unknown_start, n.pathways
                       FROM now_ n WHERE n.provider_org = pr.provider_org
                       EXCEPT
                       SELECT p.commissioner_code, p.part, p.line, p.week_band, p.unknown_start, p.pathways
                       FROM prev p WHERE p.provider_org = pr.provider_org)
               OR EXISTS (SELECT p.commissioner_code, p.part, p.line, p.week_band, p.unknown_start, p.pathways
                          FROM prev p WHERE p.provider_org = pr.provider_org
                          EXCEPT
                          SELECT n.commissioner_code, n.part, n.line, n.week_band, n.unknown_start, n.pathways
                          FROM now_ n WHERE n.provider_org = pr.provider_org),
               NULL
        FROM providers pr)
    SELECT c.id, c.descr, c.provider_org, c.ok, CASE WHEN NOT c.ok THEN c.why ELSE c.why END
    FROM checks c
    ORDER BY c.provider_org, c.id, c.why;
END;
COMMENT ON FUNCTION ptl.rtt_return_checks(date) IS
    'NHS England''s consistency checks on a month''s RTT return (RTT guidance Annex B), one row per check and provider: passed or not, with the figures';
-- ---------------------------------------------------------------------------
-- rtt/campaign: administrative validation campaigns (rtt-rules.md 10.1:
-- validate pathways at 12, 26 and 52 weeks and again when not validated in
-- the last 12 weeks).  A campaign picks a cohort from the PTL, records each
-- contact and the patient's answer, and applies the answer to the pathway.
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.validation_campaign (
    campaign_id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name                    text NOT NULL CHECK (name <> ''),
    census                  date NOT NULL,
    min_weeks               int NOT NULL CHECK (min_weeks >= 0),
    not_validated_weeks     int NOT NULL CHECK (not_validated_weeks >= 0),
    provider_org            text REFERENCES ptl.organisation (org_code),
    treatment_function      text REFERENCES ptl.treatment_function (tfc),
    started_at              timestamptz NOT NULL DEFAULT now(),
    started_by              text NOT NULL DEFAULT current_user,
    list                    text NOT NULL DEFAULT 'rtt' CHECK (list IN ('rtt', 'follow_up')),
    min_days_past_lcad      int,
    CHECK ((list = 'follow_up') = (min_days_past_lcad IS NOT NULL))
);
COMMENT ON TABLE ptl.validation_campaign IS 'Administrative validation campaigns: who was picked, by what rule';
COMMENT ON COLUMN ptl.validation_campaign.campaign_id IS 'Campaign number';
COMMENT ON COLUMN ptl.validation_campaign.name IS 'Name, e.g. "52-week validation, March"';
COMMENT ON COLUMN ptl.validation_campaign.census IS 'Census of the PTL the cohort was picked from';
COMMENT ON COLUMN ptl.validation_campaign.min_weeks IS 'Pathways waiting more than this many weeks';
COMMENT ON COLUMN ptl.validation_campaign.not_validated_weeks IS '... and not validated in this many weeks before the census';
COMMENT ON COLUMN ptl.validation_campaign.provider_org IS 'Only this provider (NULL: all)';
COMMENT ON COLUMN ptl.validation_campaign.treatment_function IS 'Only this treatment function (NULL: all)';
COMMENT ON COLUMN ptl.validation_campaign.started_at IS 'When it started';
COMMENT ON COLUMN ptl.validation_campaign.started_by IS 'Who started it';
COMMENT ON COLUMN ptl.validation_campaign.list IS 'rtt (the PTL) or follow_up (the non-RTT follow-up list, ptl.follow_up_list)';
COMMENT ON COLUMN ptl.validation_campaign.min_days_past_lcad IS 'Follow-up campaigns: follow-ups at least this many days past their LCAD';

CREATE TABLE ptl.validation_campaign_pathway (
    campaign_id     bigint NOT NULL REFERENCES ptl.validation_campaign (campaign_id),
    pathway_id      bigint NOT NULL REFERENCES ptl.pathway (pathway_id),
    days_waited     int,
    PRIMARY KEY (campaign_id, pathway_id)
);
COMMENT ON TABLE ptl.validation_campaign_pathway IS 'The cohort of each campaign';
COMMENT ON COLUMN ptl.validation_campaign_pathway.campaign_id IS 'Campaign';
COMMENT ON COLUMN ptl.validation_campaign_pathway.pathway_id IS 'Pathway record picked';
COMMENT ON COLUMN ptl.validation_campaign_pathway.days_waited IS 'Days waited when picked';

-- The answers and what each does (rtt-rules.md table 3.1): still wants
-- treatment: validated, nothing changes; no longer required: clock stop 34
-- (decision not to treat / no further contact required) and the entry
-- removed; treated elsewhere (e.g. privately): also 34, since this provider
-- gave no first definitive treatment (30 is for the treatment it gives);
-- died: 36; unavailable until a date: the RTT clock runs on (there are no
-- patient pauses since October 2015), so the entry is suspended to that
-- date, which takes the patient out of the list order; no response:
-- recorded, not validated, nothing changes (a pathway is not closed for a
-- missed letter).
CREATE TABLE ptl.validation_contact (
    contact_id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    campaign_id         bigint NOT NULL,
    pathway_id          bigint NOT NULL,
    contacted_on        date NOT NULL,
    method              text NOT NULL CHECK (method IN ('letter', 'sms', 'phone', 'email', 'portal', 'clinic')),
    answer              text NOT NULL CHECK (answer IN ('still_wants_treatment', 'no_longer_required',
                                                        'treated_elsewhere', 'unavailable_until', 'died',
                                                        'no_response')),
    unavailable_until   date,
    note                text,
    recorded_by         text NOT NULL DEFAULT current_user,
    recorded_at         timestamptz NOT NULL DEFAULT now(),
    applied_at          timestamptz,
    applied_by          text,
    rtt_status_applied  ptl.rtt_status,
    event_id            bigint REFERENCES ptl.pathway_event (event_id),
    validation_id       bigint REFERENCES ptl.pathway_validation (validation_id),
    suspension_id       bigint REFERENCES ptl.waiting_list_suspension (suspension_id),
    FOREIGN KEY (campaign_id, pathway_id) REFERENCES ptl.validation_campaign_pathway (campaign_id, pathway_id),
    CHECK ((answer = 'unavailable_until') = (unavailable_until IS NOT NULL)),
    CHECK (unavailable_until IS NULL OR unavailable_until >= contacted_on)
);
CREATE INDEX validation_contact_pathway_idx ON ptl.validation_contact (campaign_id, pathway_id);
COMMENT ON TABLE ptl.validation_contact IS
    'Each contact with a patient in a validation campaign, their answer, and what applying it did to the pathway (the audit record)';
COMMENT ON COLUMN ptl.validation_contact.contact_id IS 'Contact number';
COMMENT ON COLUMN ptl.validation_contact.campaign_id IS 'Campaign';
COMMENT ON COLUMN ptl.validation_contact.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.validation_contact.contacted_on IS 'Date of the contact (the answer''s date)';
COMMENT ON COLUMN ptl.validation_contact.method IS 'letter, sms, phone, email, portal or clinic';
COMMENT ON COLUMN ptl.validation_contact.answer IS 'still_wants_treatment, no_longer_required, treated_elsewhere, unavailable_until, died or no_response';
COMMENT ON COLUMN ptl.validation_contact.unavailable_until IS 'Last day the patient is unavailable (answer unavailable_until)';
COMMENT ON COLUMN ptl.validation_contact.note IS 'Free text';
COMMENT ON COLUMN ptl.validation_contact.recorded_by IS 'Who recorded the contact';
COMMENT ON COLUMN ptl.validation_contact.recorded_at IS 'When';
COMMENT ON COLUMN ptl.validation_contact.applied_at IS 'When the answer was applied to the pathway (NULL: not yet)';
COMMENT ON COLUMN ptl.validation_contact.applied_by IS 'Who applied it';
COMMENT ON COLUMN ptl.validation_contact.rtt_status_applied IS 'RTT status recorded on the pathway (34 or 36), if any';
COMMENT ON COLUMN ptl.validation_contact.event_id IS 'The pathway event recorded, if any';
COMMENT ON COLUMN ptl.validation_contact.validation_id IS 'The validation recorded in ptl.pathway_validation, if any';
COMMENT ON COLUMN ptl.validation_contact.suspension_id IS 'The suspension recorded, if any';

-- Picks the cohort from the PTL at the last refresh: pathways waiting more
-- than min_weeks (days > 7 x weeks, as every threshold) with no validation
-- in the not_validated_weeks weeks before the census.
CREATE FUNCTION ptl.start_validation_campaign(name text, min_weeks int DEFAULT 12,
                                              not_validated_weeks int DEFAULT 12,
                                              provider_org text DEFAULT NULL,
                                              treatment_function text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
    c date := (SELECT max(r.census) FROM ptl.rtt_pathway r);
    id bigint;
BEGIN
    IF c IS NULL THEN
        RAISE EXCEPTION 'there is no PTL to pick a validation cohort from'
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'CALL ptl.refresh() first.';
    END IF;
    IF min_weeks IS NULL OR min_weeks < 0 OR not_validated_weeks IS NULL OR not_validated_weeks < 0 THEN
        RAISE EXCEPTION 'invalid campaign rule: over % weeks, not validated in % weeks', min_weeks, not_validated_weeks
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Both are weeks, zero or more (e.g. 12, 26 or 52, and 12).';
    END IF;
    INSERT INTO ptl.validation_campaign (name, census, min_weeks, not_validated_weeks, provider_org, treatment_function)
    VALUES (name, c, min_weeks, not_validated_weeks, provider_org, treatment_function)
    RETURNING validation_campaign.campaign_id INTO id;
    INSERT INTO ptl.validation_campaign_pathway (campaign_id, pathway_id, days_waited)
    SELECT DISTINCT ON (l.pathway_id) id, l.pathway_id, l.days_waited
    FROM ptl.ptl l
    WHERE l.days_waited > 7 * min_weeks
      AND (provider_org IS NULL OR l.provider_org = provider_org)
      AND (treatment_function IS NULL OR l.treatment_function = treatment_function)
      AND NOT EXISTS (SELECT 1 FROM ptl.pathway_validation v
                      WHERE v.pathway_id = l.pathway_id AND v.validated_on > c - 7 * not_validated_weeks)
    ORDER BY l.pathway_id, l.days_waited DESC;
    RETURN id;
END $$;
COMMENT ON FUNCTION ptl.start_validation_campaign(text, int, int, text, text) IS
    'Starts a validation campaign: the pathways on the PTL (optionally one provider or treatment function) waiting more than min_weeks and not validated in the last not_validated_weeks weeks; returns the campaign number';

-- Applies a recorded answer to its pathway, once.
CREATE FUNCTION ptl.apply_validation_contact(contact_id bigint) RETURNS text
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    k ptl.validation_contact;
    p ptl.pathway;
    w ptl.waiting_list_entry;
    b bigint;
    status ptl.rtt_status;
    ev bigint;
    val bigint;
    sus bigint;
BEGIN
    SELECT * INTO k FROM ptl.validation_contact x WHERE x.contact_id = apply_validation_contact.contact_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'validation contact % does not exist', apply_validation_contact.contact_id
            USING ERRCODE = 'no_data_found';
    END IF;
    IF k.applied_at IS NOT NULL THEN
        RAISE EXCEPTION 'validation contact % was applied on % by %', k.contact_id, k.applied_at, k.applied_by
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT * INTO p FROM ptl.pathway x WHERE x.pathway_id = k.pathway_id;

    -- On the follow-up list there is no clock to stop: an answer closes or
    -- keeps the pathway's open follow-up requests (outpatient/outpatient.sql).
    IF (SELECT c.list FROM ptl.validation_campaign c WHERE c.campaign_id = k.campaign_id) = 'follow_up' THEN
        IF k.answer IN ('no_longer_required', 'treated_elsewhere', 'died') THEN
            UPDATE ptl.follow_up_request f
            SET closed_on = greatest(k.contacted_on, f.requested_on),
                closed_reason = CASE k.answer WHEN 'died' THEN 'died' ELSE 'no_longer_required' END
            WHERE f.pathway_id = k.pathway_id AND f.closed_on IS NULL;
            INSERT INTO ptl.pathway_validation (pathway_id, validated_on, outcome, note)
            VALUES (p.pathway_id, k.contacted_on, 'remove', format('follow-up campaign %s: %s', k.campaign_id, k.answer))
            RETURNING validation_id INTO val;
        ELSIF k.answer IN ('still_wants_treatment', 'unavailable_until') THEN
            UPDATE ptl.follow_up_request f SET unavailable_until = k.unavailable_until
            WHERE f.pathway_id = k.pathway_id AND f.closed_on IS NULL AND k.answer = 'unavailable_until';
            INSERT INTO ptl.pathway_validation (pathway_id, validated_on, outcome, note)
            VALUES (p.pathway_id, k.contacted_on, 'correct',
                    format('follow-up campaign %s: %s', k.campaign_id,
                           CASE k.answer WHEN 'unavailable_until' THEN 'unavailable until ' || k.unavailable_until
                                         ELSE 'still wants to be seen' END))
            RETURNING validation_id INTO val;
        END IF;
        UPDATE ptl.validation_contact x SET applied_at = now(), applied_by = current_user, validation_id = val
        WHERE x.contact_id = k.contact_id;
        RETURN CASE k.answer
            WHEN 'no_longer_required' THEN 'follow-up closed: no longer required'
            WHEN 'treated_elsewhere' THEN 'follow-up closed: no longer required (seen elsewhere)'
            WHEN 'died' THEN 'follow-up closed: died'
            WHEN 'unavailable_until' THEN format('validated; not to be booked before %s', k.unavailable_until)
            WHEN 'still_wants_treatment' THEN 'validated'
            ELSE 'recorded; not validated' END;
    END IF;

    SELECT * INTO w FROM ptl.waiting_list_entry e
    WHERE e.pathway_id = k.pathway_id AND e.removed_date IS NULL
    ORDER BY e.decision_to_admit DESC, e.entry_id DESC LIMIT 1 FOR UPDATE;

    IF k.answer IN ('no_longer_required', 'treated_elsewhere', 'died') THEN
        status := CASE k.answer WHEN 'died' THEN '36' ELSE '34' END;
        INSERT INTO ptl.batch (org_code, site_code, source_system, label, loaded_at, status)
        VALUES (p.provider_org, p.site_code, 'ptl_validation',
                format('validation campaign %s, contact %s', k.campaign_id, k.contact_id), now(), 'loaded')
        RETURNING batch_id INTO b;
        INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, ref_date,
                                       site_code, treatment_function, batch_id)
        VALUES (p.pathway_id, p.patient_id, format('validation-%s', k.contact_id), k.contacted_on,
                CASE k.answer WHEN 'died' THEN 'death' ELSE 'decision' END::ptl.event_kind, status,
                CASE k.answer WHEN 'died' THEN k.contacted_on END, p.site_code, p.treatment_function, b)
        RETURNING event_id INTO ev;
        IF w.entry_id IS NOT NULL THEN
            UPDATE ptl.waiting_list_entry e
            SET removed_date = greatest(k.contacted_on, e.decision_to_admit),
                removal_reason = CASE k.answer WHEN 'died' THEN 'died' WHEN 'no_longer_required' THEN 'no_longer_required'
                                               ELSE 'other' END,
                updated_at = now()
            WHERE e.entry_id = w.entry_id;
        END IF;
        INSERT INTO ptl.pathway_validation (pathway_id, validated_on, outcome, note)
        VALUES (p.pathway_id, k.contacted_on, 'remove', format('campaign %s: %s', k.campaign_id, k.answer))
        RETURNING validation_id INTO val;
    ELSIF k.answer = 'unavailable_until' THEN
        IF w.entry_id IS NOT NULL THEN
            INSERT INTO ptl.waiting_list_suspension (entry_id, suspended_from, suspended_until, reason, recorded_by)
            VALUES (w.entry_id, k.contacted_on, k.unavailable_until, 'patient_unavailable', current_user)
            RETURNING suspension_id INTO sus;
        END IF;
        INSERT INTO ptl.pathway_validation (pathway_id, validated_on, outcome, note)
        VALUES (p.pathway_id, k.contacted_on, 'correct',
                format('campaign %s: unavailable until %s', k.campaign_id, k.unavailable_until))
        RETURNING validation_id INTO val;
    ELSIF k.answer = 'still_wants_treatment' THEN
        INSERT INTO ptl.pathway_validation (pathway_id, validated_on, outcome, note)
        VALUES (p.pathway_id, k.contacted_on, 'correct', format('campaign %s: still wants treatment', k.campaign_id))
        RETURNING validation_id INTO val;
    END IF;
    UPDATE ptl.validation_contact x
    SET applied_at = now(), applied_by = current_user, rtt_status_applied = status, event_id = ev,
        validation_id = val, suspension_id = sus
    WHERE x.contact_id = k.contact_id;
    RETURN CASE k.answer
        WHEN 'no_longer_required' THEN 'clock stopped (34), entry removed'
        WHEN 'treated_elsewhere' THEN 'clock stopped (34), entry removed'
        WHEN 'died' THEN 'clock stopped (36), entry removed'
        WHEN 'unavailable_until' THEN CASE WHEN sus IS NULL THEN 'validated; not on the admitted list, nothing to suspend'
                                           ELSE format('validated; suspended until %s (the clock runs on)', k.unavailable_until) END
        WHEN 'still_wants_treatment' THEN 'validated'
        ELSE 'recorded; not validated' END;
END $$;
COMMENT ON FUNCTION ptl.apply_validation_contact(bigint) IS
    'Applies a validation answer to its pathway once: 34 or 36 clock stop and entry removal, suspension until a date, or a validation record; on the follow-up list, closing or keeping its follow-up requests; the contact keeps what was done (audit); the next refresh shows the result';

CREATE VIEW ptl.validation_campaign_summary AS
SELECT c.campaign_id, c.name, c.census, c.min_weeks, c.not_validated_weeks,
       (SELECT count(*) FROM ptl.validation_campaign_pathway cp WHERE cp.campaign_id = c.campaign_id) AS cohort,
       count(DISTINCT k.pathway_id) AS contacted,
       count(DISTINCT k.pathway_id) FILTER (WHERE k.applied_at IS NOT NULL AND k.answer <> 'no_response') AS validated,
       count(DISTINCT k.pathway_id) FILTER (WHERE k.applied_at IS NOT NULL
                                              AND k.answer IN ('no_longer_required', 'treated_elsewhere', 'died')) AS removed,
       count(*) FILTER (WHERE k.answer = 'still_wants_treatment') AS still_wants_treatment,
       count(*) FILTER (WHERE k.answer = 'no_longer_required') AS no_longer_required,
       count(*) FILTER (WHERE k.answer = 'treated_elsewhere') AS treated_elsewhere,
       count(*) FILTER (WHERE k.answer = 'unavailable_until') AS unavailable,
       count(*) FILTER (WHERE k.answer = 'died') AS died,
       count(*) FILTER (WHERE k.answer = 'no_response') AS no_response,
       count(*) FILTER (WHERE k.applied_at IS NULL AND k.contact_id IS NOT NULL) AS not_yet_applied,
       c.list
FROM ptl.validation_campaign c
LEFT JOIN ptl.validation_contact k ON k.campaign_id = c.campaign_id
GROUP BY c.campaign_id;
COMMENT ON VIEW ptl.validation_campaign_summary IS 'Per campaign: cohort, pathways contacted, validated and removed, and the answers by reason';
COMMENT ON COLUMN ptl.validation_campaign_summary.campaign_id IS 'Campaign';
COMMENT ON COLUMN ptl.validation_campaign_summary.name IS 'Name';
COMMENT ON COLUMN ptl.validation_campaign_summary.census IS 'Census the cohort was picked at';
COMMENT ON COLUMN ptl.validation_campaign_summary.min_weeks IS 'Cohort rule: waiting more than these weeks';
COMMENT ON COLUMN ptl.validation_campaign_summary.not_validated_weeks IS 'Cohort rule: not validated in these weeks';
COMMENT ON COLUMN ptl.validation_campaign_summary.cohort IS 'Pathways picked';
COMMENT ON COLUMN ptl.validation_campaign_summary.contacted IS 'Pathways with at least one contact';
COMMENT ON COLUMN ptl.validation_campaign_summary.validated IS 'Pathways with an answer applied (no response does not validate)';
COMMENT ON COLUMN ptl.validation_campaign_summary.removed IS 'Pathways whose clock was stopped by an answer';
COMMENT ON COLUMN ptl.validation_campaign_summary.still_wants_treatment IS 'Answers: still wants treatment';
COMMENT ON COLUMN ptl.validation_campaign_summary.no_longer_required IS 'Answers: no longer required';
COMMENT ON COLUMN ptl.validation_campaign_summary.treated_elsewhere IS 'Answers: treated elsewhere';
COMMENT ON COLUMN ptl.validation_campaign_summary.unavailable IS 'Answers: unavailable until a date';
COMMENT ON COLUMN ptl.validation_campaign_summary.died IS 'Answers: died';
COMMENT ON COLUMN ptl.validation_campaign_summary.no_response IS 'No response';
COMMENT ON COLUMN ptl.validation_campaign_summary.not_yet_applied IS 'Contacts recorded but not applied';
COMMENT ON COLUMN ptl.validation_campaign_summary.list IS 'rtt or follow_up';

SELECT pg_catalog.pg_extension_config_dump('ptl.validation_campaign', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.validation_campaign_campaign_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.validation_campaign_pathway', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.validation_contact', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.validation_contact_contact_id_seq', '');
-- ---------------------------------------------------------------------------
-- Theatre slot allocation: the pure core (src/theatre/allocate.c).
-- clinical-theatre.md 3.2-3.3; the rules are in allocate.c's header and
-- docs/theatre.md.
-- ---------------------------------------------------------------------------

CREATE TYPE ptl.theatre_slot AS (
    session_id          bigint,
    session_date        date,
    site_code           text,
    specialty           text,
    consultant          text,
    capacity_minutes    int,
    equipment           text[]
);
COMMENT ON TYPE ptl.theatre_slot IS
    'A theatre session offered to ptl.allocate_theatre: when, where, whose, how many minutes are free and what kit it has';
COMMENT ON COLUMN ptl.theatre_slot.session_id IS 'The session''s key (unique in one call)';
COMMENT ON COLUMN ptl.theatre_slot.session_date IS 'Date of the session';
COMMENT ON COLUMN ptl.theatre_slot.site_code IS 'Site of the theatre';
COMMENT ON COLUMN ptl.theatre_slot.specialty IS 'Specialty (treatment function code) the session belongs to';
COMMENT ON COLUMN ptl.theatre_slot.consultant IS 'Consultant who operates in it (NULL: none named)';
COMMENT ON COLUMN ptl.theatre_slot.capacity_minutes IS 'Minutes free to book (planned minutes less minutes already booked)';
COMMENT ON COLUMN ptl.theatre_slot.equipment IS 'Equipment available in the theatre that day';

CREATE TYPE ptl.theatre_case AS (
    case_id             bigint,
    specialty           text,
    consultant          text,
    site_codes          text[],
    duration_minutes    int,
    list_position       bigint,
    ready_from          date,
    ready_until         date,
    equipment           text[]
);
COMMENT ON TYPE ptl.theatre_case IS
    'A waiting-list case offered to ptl.allocate_theatre: what it needs, how long it takes, where it stands on the list and when it can be done';
COMMENT ON COLUMN ptl.theatre_case.case_id IS 'The case''s key (unique in one call)';
COMMENT ON COLUMN ptl.theatre_case.specialty IS 'Specialty (treatment function code) that must own the session';
COMMENT ON COLUMN ptl.theatre_case.consultant IS 'Named consultant (NULL: any consultant of the specialty)';
COMMENT ON COLUMN ptl.theatre_case.site_codes IS 'Sites where it may be done (NULL: any site)';
COMMENT ON COLUMN ptl.theatre_case.duration_minutes IS 'Minutes to book in theatre, excluding turnaround';
COMMENT ON COLUMN ptl.theatre_case.list_position IS 'Place on the ordered waiting list (1 = first); ties are broken by case_id';
COMMENT ON COLUMN ptl.theatre_case.ready_from IS 'First date it may be done (NULL: no limit)';
COMMENT ON COLUMN ptl.theatre_case.ready_until IS 'Last date it may be done, e.g. pre-operative assessment expiry (NULL: no limit)';
COMMENT ON COLUMN ptl.theatre_case.equipment IS 'Equipment the session must have (all of it)';

CREATE FUNCTION ptl.allocate_theatre(
    sessions ptl.theatre_slot[],
    cases ptl.theatre_case[],
    turnaround_minutes int DEFAULT 15)
RETURNS TABLE (case_id bigint, session_id bigint, start_offset_minutes int)
AS 'MODULE_PATHNAME', 'ptl_allocate_theatre'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.allocate_theatre(ptl.theatre_slot[], ptl.theatre_case[], int) IS
    'Books cases into sessions they are eligible for, with turnaround between cases, never leaving a case out for a later one that took its place, and as many minutes then patients as possible; returns the booked cases with their start offset in the session';
-- ---------------------------------------------------------------------------
-- Theatres: settings, theatres and their sessions, bookings with planned and
-- actual times, on-the-day cancellations, consultant leave, pre-operative
-- assessment, patient unavailability and procedure duration history.
-- Definitions follow clinical-theatre.md part (b); docs/theatre.md.
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.theatre_setting (
    setting_id                  bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    set_at                      timestamptz NOT NULL DEFAULT now(),
    set_by                      text NOT NULL DEFAULT current_user,
    shipped                     boolean NOT NULL DEFAULT false,
    turnaround_minutes          int NOT NULL DEFAULT 15 CHECK (turnaround_minutes BETWEEN 0 AND 240),
    duration_percentile         float8 NOT NULL DEFAULT 0.8 CHECK (duration_percentile > 0 AND duration_percentile < 1),
    duration_min_cases          int NOT NULL DEFAULT 5 CHECK (duration_min_cases >= 2),
    preop_valid_days            int NOT NULL DEFAULT 84 CHECK (preop_valid_days > 0),
    min_notice_days             int NOT NULL DEFAULT 7 CHECK (min_notice_days >= 0),
    book_named_consultant       boolean NOT NULL DEFAULT true,
    late_start_flag_minutes     int NOT NULL DEFAULT 30 CHECK (late_start_flag_minutes > 0),
    early_finish_flag_minutes   int NOT NULL DEFAULT 30 CHECK (early_finish_flag_minutes > 0),
    utilisation_target_pct      float8 NOT NULL DEFAULT 85 CHECK (utilisation_target_pct > 0 AND utilisation_target_pct <= 100)
);
INSERT INTO ptl.theatre_setting (setting_id, set_at, set_by, shipped) VALUES (0, '-infinity', 'ptl', true);
SELECT pg_catalog.pg_extension_config_dump('ptl.theatre_setting', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('ptl.theatre_setting_setting_id_seq', '');
COMMENT ON TABLE ptl.theatre_setting IS
    'Theatre planning and productivity settings: a history, the latest row is in force (insert a row to change)';
COMMENT ON COLUMN ptl.theatre_setting.setting_id IS 'Row number (0 = the defaults ptl ships)';
COMMENT ON COLUMN ptl.theatre_setting.set_at IS 'When the settings were set';
COMMENT ON COLUMN ptl.theatre_setting.set_by IS 'Who set them';
COMMENT ON COLUMN ptl.theatre_setting.shipped IS 'True for the defaults row ptl ships';
COMMENT ON COLUMN ptl.theatre_setting.turnaround_minutes IS 'Minutes planned between consecutive cases in a session (default 15)';
COMMENT ON COLUMN ptl.theatre_setting.duration_percentile IS
    'Percentile of the lognormal fit of past durations at which a case is booked (default 0.8; clinical-theatre.md 3.5 suggests 0.5-0.8)';
COMMENT ON COLUMN ptl.theatre_setting.duration_min_cases IS
    'Past cases needed to fit a consultant''s own durations for a procedure; with fewer, all consultants'' are used (default 5)';
COMMENT ON COLUMN ptl.theatre_setting.preop_valid_days IS 'Days a pre-operative assessment stays valid when it states no expiry (default 84, 12 weeks)';
COMMENT ON COLUMN ptl.theatre_setting.min_notice_days IS 'Fewest days between proposing and the operation (default 7)';
COMMENT ON COLUMN ptl.theatre_setting.book_named_consultant IS
    'True (default): a case goes only to its own consultant''s sessions; false: to any session of the specialty (pooled lists)';
COMMENT ON COLUMN ptl.theatre_setting.late_start_flag_minutes IS 'A list starting this many minutes late or more is flagged (default 30, NHS Improvement 2019)';
COMMENT ON COLUMN ptl.theatre_setting.early_finish_flag_minutes IS 'A list finishing this many minutes early or more is flagged (default 30; one commercial product uses 45)';
COMMENT ON COLUMN ptl.theatre_setting.utilisation_target_pct IS 'Capped theatre utilisation target, per cent (default 85, NHS England)';

CREATE FUNCTION ptl.theatre_setting_in_force() RETURNS ptl.theatre_setting
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN (SELECT s FROM ptl.theatre_setting s ORDER BY s.set_at DESC, s.setting_id DESC LIMIT 1);
COMMENT ON FUNCTION ptl.theatre_setting_in_force() IS 'The theatre settings in force (the latest row of ptl.theatre_setting)';

-- Duration uncertainty (src/theatre/duration.c; clinical-theatre.md 3.5).
CREATE FUNCTION ptl.normal_quantile(p float8) RETURNS float8
AS 'MODULE_PATHNAME', 'ptl_normal_quantile'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.normal_quantile(float8) IS 'The standard normal z with P(Z <= z) = p, e.g. 1.281552 for p = 0.9';

CREATE FUNCTION ptl.lognormal_quantile(mean_minutes float8, sd_minutes float8, p float8) RETURNS float8
AS 'MODULE_PATHNAME', 'ptl_lognormal_quantile'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.lognormal_quantile(float8, float8, float8) IS
    'The p point of the lognormal with this mean and standard deviation: exp(mu + z_p sigma), sigma^2 = ln(1 + s^2/m^2), mu = ln m - sigma^2/2';

CREATE FUNCTION ptl.session_overrun_probability(mean_minutes float8[], sd_minutes float8[], capacity_minutes float8,
                                                method text DEFAULT 'normal') RETURNS float8
AS 'MODULE_PATHNAME', 'ptl_session_overrun_probability'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.session_overrun_probability(float8[], float8[], float8, text) IS
    'Chance that cases with these mean and SD durations run past capacity_minutes: method normal (sum approximated as normal) or fenton_wilkinson (as lognormal)';

CREATE TABLE ptl.theatre (
    theatre_code    text PRIMARY KEY CHECK (theatre_code <> ''),
    site_code       text NOT NULL REFERENCES ptl.site (site_code),
    name            text NOT NULL,
    equipment       text[] NOT NULL DEFAULT '{}',
    day_case_only   boolean NOT NULL DEFAULT false
);
CREATE INDEX theatre_site_idx ON ptl.theatre (site_code);
COMMENT ON TABLE ptl.theatre IS 'Operating theatres, each at one site, with the equipment always there';
COMMENT ON COLUMN ptl.theatre.theatre_code IS 'The trust''s code for the theatre';
COMMENT ON COLUMN ptl.theatre.site_code IS 'Site of the theatre';
COMMENT ON COLUMN ptl.theatre.name IS 'Name of the theatre';
COMMENT ON COLUMN ptl.theatre.equipment IS 'Equipment always in the theatre (e.g. image_intensifier, laser, robot)';
COMMENT ON COLUMN ptl.theatre.day_case_only IS 'True for a day-case unit: cases planned as inpatients are not booked here';

CREATE TABLE ptl.theatre_session (
    session_id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    theatre_code        text NOT NULL REFERENCES ptl.theatre (theatre_code),
    session_date        date NOT NULL,
    planned_start       time NOT NULL,
    planned_end         time NOT NULL,
    specialty           text NOT NULL REFERENCES ptl.treatment_function (tfc),
    consultant_code     text,
    session_type        text NOT NULL DEFAULT 'elective'
                        CHECK (session_type IN ('elective', 'day_case', 'emergency', 'trauma')),
    equipment           text[] NOT NULL DEFAULT '{}',
    cancelled           boolean NOT NULL DEFAULT false,
    cancelled_reason    text,
    planned_minutes     int GENERATED ALWAYS AS ((extract(epoch FROM planned_end - planned_start) / 60)::int) STORED,
    UNIQUE (theatre_code, session_date, planned_start),
    CHECK (planned_end > planned_start),
    CHECK (cancelled OR cancelled_reason IS NULL)
);
CREATE INDEX theatre_session_date_idx ON ptl.theatre_session (session_date);
COMMENT ON TABLE ptl.theatre_session IS
    'Theatre sessions (lists): a block of one theatre''s time given to one specialty and consultant on one day';
COMMENT ON COLUMN ptl.theatre_session.session_id IS 'ptl''s key for the session';
COMMENT ON COLUMN ptl.theatre_session.theatre_code IS 'Theatre';
COMMENT ON COLUMN ptl.theatre_session.session_date IS 'Date';
COMMENT ON COLUMN ptl.theatre_session.planned_start IS 'Planned start (local time)';
COMMENT ON COLUMN ptl.theatre_session.planned_end IS 'Planned end (local time)';
COMMENT ON COLUMN ptl.theatre_session.specialty IS 'Treatment function that owns the session';
COMMENT ON COLUMN ptl.theatre_session.consultant_code IS 'Consultant who operates (NULL: not yet named)';
COMMENT ON COLUMN ptl.theatre_session.session_type IS 'elective, day_case, emergency or trauma; only elective and day_case sessions are filled from the waiting list';
COMMENT ON COLUMN ptl.theatre_session.equipment IS 'Equipment brought in for this session, beyond the theatre''s own';
COMMENT ON COLUMN ptl.theatre_session.cancelled IS 'True if the session was cancelled in advance (not used)';
COMMENT ON COLUMN ptl.theatre_session.cancelled_reason IS 'Why the session was cancelled';
COMMENT ON COLUMN ptl.theatre_session.planned_minutes IS 'Planned session minutes C = planned end - planned start';

CREATE TABLE ptl.cancellation_reason (
    reason_code     text PRIMARY KEY,
    description     text NOT NULL,
    clinical        boolean NOT NULL,
    initiated_by    text NOT NULL CHECK (initiated_by IN ('hospital', 'patient')),
    shipped         boolean NOT NULL DEFAULT false
);
SELECT pg_catalog.pg_extension_config_dump('ptl.cancellation_reason', 'WHERE NOT shipped');
COMMENT ON TABLE ptl.cancellation_reason IS 'Reasons an operation is cancelled, clinical or not, and on whose side';
COMMENT ON COLUMN ptl.cancellation_reason.reason_code IS 'Code of the reason';
COMMENT ON COLUMN ptl.cancellation_reason.description IS 'The reason in words';
COMMENT ON COLUMN ptl.cancellation_reason.clinical IS 'True for clinical reasons (not counted as last-minute cancellations for non-clinical reasons)';
COMMENT ON COLUMN ptl.cancellation_reason.initiated_by IS 'hospital or patient';
COMMENT ON COLUMN ptl.cancellation_reason.shipped IS 'True for the reasons ptl ships; a trust adds its own';
INSERT INTO ptl.cancellation_reason (reason_code, description, clinical, initiated_by) VALUES
    ('no_bed', 'No ward or critical care bed', false, 'hospital'),
    ('list_overran', 'List overran: no time left', false, 'hospital'),
    ('emergency_priority', 'Theatre given to an emergency', false, 'hospital'),
    ('staff_unavailable', 'Surgeon, anaesthetist or theatre staff unavailable', false, 'hospital'),
    ('equipment', 'Equipment failure or unavailable', false, 'hospital'),
    ('admin_error', 'Administrative error', false, 'hospital'),
    ('patient_unfit', 'Patient unfit for surgery on the day', true, 'hospital'),
    ('patient_dna', 'Patient did not attend', false, 'patient'),
    ('patient_declined', 'Patient cancelled or declined on the day', false, 'patient');
UPDATE ptl.cancellation_reason SET shipped = true;

CREATE TABLE ptl.theatre_booking (
    booking_id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    session_id          bigint NOT NULL REFERENCES ptl.theatre_session (session_id),
    entry_id            bigint NOT NULL REFERENCES ptl.waiting_list_entry (entry_id),
    planned_order       int NOT NULL CHECK (planned_order > 0),
    planned_minutes     int NOT NULL CHECK (planned_minutes > 0),
    status              text NOT NULL DEFAULT 'booked' CHECK (status IN ('booked', 'completed', 'cancelled')),
    day_case            boolean,
    into_theatre        timestamp,
    anaesthetic_start   timestamp,
    knife_to_skin       timestamp,
    out_of_theatre      timestamp,
    booked_at           timestamptz NOT NULL DEFAULT now(),
    booked_by           text NOT NULL DEFAULT current_user,
    UNIQUE (session_id, planned_order),
    CHECK (out_of_theatre IS NULL OR coalesce(anaesthetic_start, into_theatre) < out_of_theatre),
    CHECK (status <> 'completed' OR out_of_theatre IS NOT NULL)
);
CREATE INDEX theatre_booking_entry_idx ON ptl.theatre_booking (entry_id);
COMMENT ON TABLE ptl.theatre_booking IS
    'Cases booked into theatre sessions, with the planned order and minutes and, once done, the actual times';
COMMENT ON COLUMN ptl.theatre_booking.booking_id IS 'ptl''s key for the booking';
COMMENT ON COLUMN ptl.theatre_booking.session_id IS 'Session';
COMMENT ON COLUMN ptl.theatre_booking.entry_id IS 'Waiting-list entry operated on';
COMMENT ON COLUMN ptl.theatre_booking.planned_order IS 'Place in the session''s running order (1 = first)';
COMMENT ON COLUMN ptl.theatre_booking.planned_minutes IS 'Minutes planned in theatre, excluding turnaround';
COMMENT ON COLUMN ptl.theatre_booking.status IS 'booked, completed or cancelled (see ptl.theatre_cancellation)';
COMMENT ON COLUMN ptl.theatre_booking.day_case IS 'Admitted as a day case (true) or an inpatient (false), once known';
COMMENT ON COLUMN ptl.theatre_booking.into_theatre IS 'Patient into theatre (or anaesthetic room)';
COMMENT ON COLUMN ptl.theatre_booking.anaesthetic_start IS 'Anaesthetic start; touch time starts here (at into_theatre when there is no anaesthetic)';
COMMENT ON COLUMN ptl.theatre_booking.knife_to_skin IS 'Operation start';
COMMENT ON COLUMN ptl.theatre_booking.out_of_theatre IS 'Patient leaves theatre; touch time ends here';
COMMENT ON COLUMN ptl.theatre_booking.booked_at IS 'When it was booked';
COMMENT ON COLUMN ptl.theatre_booking.booked_by IS 'Who booked it';

CREATE TABLE ptl.theatre_cancellation (
    booking_id      bigint PRIMARY KEY REFERENCES ptl.theatre_booking (booking_id),
    cancelled_on    date NOT NULL,
    reason_code     text NOT NULL REFERENCES ptl.cancellation_reason (reason_code),
    recorded_by     text NOT NULL DEFAULT current_user,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ptl.theatre_cancellation IS
    'Cancelled bookings: when and why.  Cancelled on the session''s day for a non-clinical reason = a last-minute cancellation (28-day standard)';
COMMENT ON COLUMN ptl.theatre_cancellation.booking_id IS 'The booking cancelled';
COMMENT ON COLUMN ptl.theatre_cancellation.cancelled_on IS 'Date of the cancellation';
COMMENT ON COLUMN ptl.theatre_cancellation.reason_code IS 'Why (ptl.cancellation_reason)';
COMMENT ON COLUMN ptl.theatre_cancellation.recorded_by IS 'Who recorded it';
COMMENT ON COLUMN ptl.theatre_cancellation.recorded_at IS 'When';

CREATE TABLE ptl.consultant_leave (
    leave_id        bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    consultant_code text NOT NULL CHECK (consultant_code <> ''),
    leave_from      date NOT NULL,
    leave_to        date NOT NULL,
    reason          text NOT NULL DEFAULT 'annual' CHECK (reason IN ('annual', 'study', 'sick', 'other')),
    CHECK (leave_to >= leave_from)
);
CREATE INDEX consultant_leave_idx ON ptl.consultant_leave (consultant_code, leave_from);
COMMENT ON TABLE ptl.consultant_leave IS 'Consultants'' leave: their sessions in it are not filled';
COMMENT ON COLUMN ptl.consultant_leave.leave_id IS 'Row number';
COMMENT ON COLUMN ptl.consultant_leave.consultant_code IS 'Consultant';
COMMENT ON COLUMN ptl.consultant_leave.leave_from IS 'First day of leave';
COMMENT ON COLUMN ptl.consultant_leave.leave_to IS 'Last day of leave';
COMMENT ON COLUMN ptl.consultant_leave.reason IS 'annual, study, sick or other';

CREATE TABLE ptl.preop_assessment (
    preop_id        bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    entry_id        bigint NOT NULL REFERENCES ptl.waiting_list_entry (entry_id),
    assessed_on     date NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('fit', 'fit_with_conditions', 'not_fit', 'deferred')),
    valid_until     date,
    needs_inpatient_bed boolean NOT NULL DEFAULT false,
    recorded_by     text NOT NULL DEFAULT current_user,
    CHECK (valid_until IS NULL OR valid_until >= assessed_on)
);
CREATE INDEX preop_assessment_entry_idx ON ptl.preop_assessment (entry_id, assessed_on);
COMMENT ON TABLE ptl.preop_assessment IS
    'Pre-operative assessments: outcome and expiry; a patient is ready for theatre only between a fit outcome and its expiry';
COMMENT ON COLUMN ptl.preop_assessment.preop_id IS 'Row number';
COMMENT ON COLUMN ptl.preop_assessment.entry_id IS 'Waiting-list entry assessed for';
COMMENT ON COLUMN ptl.preop_assessment.assessed_on IS 'Date of the assessment';
COMMENT ON COLUMN ptl.preop_assessment.outcome IS 'fit, fit_with_conditions, not_fit or deferred';
COMMENT ON COLUMN ptl.preop_assessment.valid_until IS
    'Last day the assessment holds (NULL: assessed_on + theatre_setting.preop_valid_days)';
COMMENT ON COLUMN ptl.preop_assessment.needs_inpatient_bed IS 'True if the patient must not go to a day-case-only unit';
COMMENT ON COLUMN ptl.preop_assessment.recorded_by IS 'Who recorded it';

CREATE TABLE ptl.patient_unavailability (
    unavailability_id   bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    patient_id          bigint NOT NULL REFERENCES ptl.patient (patient_id),
    unavailable_from    date NOT NULL,
    unavailable_to      date NOT NULL,
    reason              text,
    CHECK (unavailable_to >= unavailable_from)
);
CREATE INDEX patient_unavailability_idx ON ptl.patient_unavailability (patient_id);
COMMENT ON TABLE ptl.patient_unavailability IS 'Periods a patient has said they cannot come in';
COMMENT ON COLUMN ptl.patient_unavailability.unavailability_id IS 'Row number';
COMMENT ON COLUMN ptl.patient_unavailability.patient_id IS 'Patient';
COMMENT ON COLUMN ptl.patient_unavailability.unavailable_from IS 'First day unavailable';
COMMENT ON COLUMN ptl.patient_unavailability.unavailable_to IS 'Last day unavailable';
COMMENT ON COLUMN ptl.patient_unavailability.reason IS 'Why, as the patient gave it';

CREATE TABLE ptl.procedure_duration (
    duration_id     bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    procedure_code  text NOT NULL CHECK (procedure_code ~ '^[A-Z][0-9]{2}\.?[0-9]?$'),
    consultant_code text,
    performed_on    date NOT NULL,
    minutes         int NOT NULL CHECK (minutes BETWEEN 1 AND 1440)
);
CREATE INDEX procedure_duration_idx ON ptl.procedure_duration (procedure_code, consultant_code);
COMMENT ON TABLE ptl.procedure_duration IS
    'Past operation durations (touch time, minutes) from the theatre system, beyond the completed bookings ptl holds itself';
COMMENT ON COLUMN ptl.procedure_duration.duration_id IS 'Row number';
COMMENT ON COLUMN ptl.procedure_duration.procedure_code IS 'OPCS-4 procedure';
COMMENT ON COLUMN ptl.procedure_duration.consultant_code IS 'Consultant who operated';
COMMENT ON COLUMN ptl.procedure_duration.performed_on IS 'Date of the operation';
COMMENT ON COLUMN ptl.procedure_duration.minutes IS 'Touch time, minutes';

SELECT pg_catalog.pg_extension_config_dump('ptl.theatre', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.theatre_session', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.theatre_session_session_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.theatre_booking', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.theatre_booking_booking_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.theatre_cancellation', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.consultant_leave', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.consultant_leave_leave_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.preop_assessment', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.preop_assessment_preop_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.patient_unavailability', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.patient_unavailability_unavailability_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.procedure_duration', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.procedure_duration_duration_id_seq', '');

-- ---------------------------------------------------------------------------
-- Planning durations (clinical-theatre.md 3.5).  Durations are right-skewed
-- and lognormal; ptl fits ln(minutes) by its mean and standard deviation
-- (the maximum-likelihood fit) per procedure and consultant, falls back to
-- the procedure across consultants when a consultant has fewer than
-- duration_min_cases, and books the duration_percentile point of the fit.
-- ---------------------------------------------------------------------------
CREATE VIEW ptl.procedure_duration_history AS
SELECT d.procedure_code, d.consultant_code, d.performed_on, d.minutes, 'theatre_system' AS source
FROM ptl.procedure_duration d
UNION ALL
SELECT w.procedure_code, s.consultant_code, s.session_date,
       round(extract(epoch FROM b.out_of_theatre - coalesce(b.anaesthetic_start, b.into_theatre)) / 60)::int,
       'booking'
FROM ptl.theatre_booking b
JOIN ptl.theatre_session s USING (session_id)
JOIN ptl.waiting_list_entry w USING (entry_id)
WHERE b.status = 'completed' AND w.procedure_code IS NOT NULL;
COMMENT ON VIEW ptl.procedure_duration_history IS
    'Every past duration ptl knows: the theatre system''s history and the touch times of completed bookings';
COMMENT ON COLUMN ptl.procedure_duration_history.procedure_code IS 'OPCS-4 procedure';
COMMENT ON COLUMN ptl.procedure_duration_history.consultant_code IS 'Consultant who operated';
COMMENT ON COLUMN ptl.procedure_duration_history.performed_on IS 'Date of the operation';
COMMENT ON COLUMN ptl.procedure_duration_history.minutes IS 'Touch time, minutes';
COMMENT ON COLUMN ptl.procedure_duration_history.source IS 'theatre_system (ptl.procedure_duration) or booking (a completed ptl.theatre_booking)';

CREATE VIEW ptl.procedure_duration_estimate AS
WITH cfg AS (SELECT s.duration_percentile AS p, s.duration_min_cases AS min_cases
             FROM ptl.theatre_setting_in_force() s),
     fit AS (
         SELECT h.procedure_code, h.consultant_code, GROUPING(h.consultant_code) = 1 AS all_consultants, count(*) AS cases,
                avg(h.minutes)::float8 AS mean_minutes, stddev_samp(h.minutes)::float8 AS sd_minutes,
                avg(ln(h.minutes))::float8 AS mu, stddev_samp(ln(h.minutes))::float8 AS sigma
         FROM ptl.procedure_duration_history h
         GROUP BY GROUPING SETS ((h.procedure_code, h.consultant_code), (h.procedure_code)))
SELECT f.procedure_code, f.consultant_code, f.all_consultants, f.cases, round(f.mean_minutes::numeric, 1) AS mean_minutes,
       round(f.sd_minutes::numeric, 1) AS sd_minutes, f.mu, f.sigma, cfg.p AS percentile,
       ceil(exp(f.mu + ptl.normal_quantile(cfg.p) * f.sigma))::int AS planned_minutes
FROM fit f, cfg
WHERE f.cases >= cfg.min_cases
  AND (f.all_consultants OR f.consultant_code IS NOT NULL);
COMMENT ON VIEW ptl.procedure_duration_estimate IS
    'Planning durations: a lognormal fit of past durations per procedure and consultant (consultant NULL: all consultants), booked at the configured percentile';
COMMENT ON COLUMN ptl.procedure_duration_estimate.procedure_code IS 'OPCS-4 procedure';
COMMENT ON COLUMN ptl.procedure_duration_estimate.consultant_code IS 'Consultant (NULL on the fit over all consultants)';
COMMENT ON COLUMN ptl.procedure_duration_estimate.all_consultants IS 'True for the fit over all consultants'' cases of the procedure';
COMMENT ON COLUMN ptl.procedure_duration_estimate.cases IS 'Past cases fitted (at least theatre_setting.duration_min_cases)';
COMMENT ON COLUMN ptl.procedure_duration_estimate.mean_minutes IS 'Mean of past durations';
COMMENT ON COLUMN ptl.procedure_duration_estimate.sd_minutes IS 'Standard deviation of past durations';
COMMENT ON COLUMN ptl.procedure_duration_estimate.mu IS 'Lognormal mu: mean of ln(minutes)';
COMMENT ON COLUMN ptl.procedure_duration_estimate.sigma IS 'Lognormal sigma: standard deviation of ln(minutes)';
COMMENT ON COLUMN ptl.procedure_duration_estimate.percentile IS 'Percentile booked (theatre_setting.duration_percentile)';
COMMENT ON COLUMN ptl.procedure_duration_estimate.planned_minutes IS 'Minutes to book: exp(mu + z_p sigma), rounded up';
-- ---------------------------------------------------------------------------
-- Proposing theatre lists: ptl.allocate_theatre over the tables.  A run
-- offers the sessions of a date range, less leave and existing bookings, to
-- the admitted waiting list in its order (ptl.ptl.list_position); it writes
-- proposals a scheduler accepts (they become bookings) or rejects, and for
-- every listed patient it did not book, the reason.  docs/theatre.md.
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.procedure_requirement (
    procedure_code  text NOT NULL CHECK (procedure_code ~ '^[A-Z][0-9]{2}\.?[0-9]?$'),
    equipment       text NOT NULL CHECK (equipment <> ''),
    PRIMARY KEY (procedure_code, equipment)
);
SELECT pg_catalog.pg_extension_config_dump('ptl.procedure_requirement', '');
COMMENT ON TABLE ptl.procedure_requirement IS
    'Equipment a procedure needs in theatre (e.g. W37.1 needs image_intensifier): a case is booked only where all of it is';
COMMENT ON COLUMN ptl.procedure_requirement.procedure_code IS 'OPCS-4 procedure (e.g. W37.1); a three-character code (W37) covers all its subcodes';
COMMENT ON COLUMN ptl.procedure_requirement.equipment IS 'Equipment needed, named as in ptl.theatre.equipment';

CREATE TABLE ptl.theatre_proposal_run (
    run_id              bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    from_date           date NOT NULL,
    to_date             date NOT NULL,
    as_of               date NOT NULL,
    turnaround_minutes  int NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    created_by          text NOT NULL DEFAULT current_user,
    sessions            int NOT NULL,
    session_minutes     bigint NOT NULL,
    minutes_booked_before bigint NOT NULL,
    cases_considered    int NOT NULL,
    cases_proposed      int NOT NULL,
    minutes_proposed    bigint NOT NULL,
    CHECK (to_date >= from_date)
);
COMMENT ON TABLE ptl.theatre_proposal_run IS 'Each run of ptl.propose_theatre_lists: its range, settings and what it found';
COMMENT ON COLUMN ptl.theatre_proposal_run.run_id IS 'Run number';
COMMENT ON COLUMN ptl.theatre_proposal_run.from_date IS 'First session date filled';
COMMENT ON COLUMN ptl.theatre_proposal_run.to_date IS 'Last session date filled';
COMMENT ON COLUMN ptl.theatre_proposal_run.as_of IS 'Date the run planned from (booking notice counts from it)';
COMMENT ON COLUMN ptl.theatre_proposal_run.turnaround_minutes IS 'Turnaround used between cases';
COMMENT ON COLUMN ptl.theatre_proposal_run.created_at IS 'When it ran';
COMMENT ON COLUMN ptl.theatre_proposal_run.created_by IS 'Who ran it';
COMMENT ON COLUMN ptl.theatre_proposal_run.sessions IS 'Sessions offered (elective and day-case, not cancelled, consultant not on leave)';
COMMENT ON COLUMN ptl.theatre_proposal_run.session_minutes IS 'Planned minutes of the sessions offered';
COMMENT ON COLUMN ptl.theatre_proposal_run.minutes_booked_before IS 'Minutes already booked in them before the run (excluding turnaround)';
COMMENT ON COLUMN ptl.theatre_proposal_run.cases_considered IS 'Admitted waiting-list entries considered';
COMMENT ON COLUMN ptl.theatre_proposal_run.cases_proposed IS 'Entries proposed for a session';
COMMENT ON COLUMN ptl.theatre_proposal_run.minutes_proposed IS 'Minutes proposed (excluding turnaround)';

CREATE TABLE ptl.theatre_proposal (
    proposal_id         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    run_id              bigint NOT NULL REFERENCES ptl.theatre_proposal_run (run_id) ON DELETE CASCADE,
    entry_id            bigint NOT NULL REFERENCES ptl.waiting_list_entry (entry_id),
    session_id          bigint NOT NULL REFERENCES ptl.theatre_session (session_id),
    list_position       bigint NOT NULL,
    start_offset_minutes int NOT NULL,
    planned_minutes     int NOT NULL,
    status              text NOT NULL DEFAULT 'proposed'
                        CHECK (status IN ('proposed', 'accepted', 'rejected', 'superseded')),
    decided_at          timestamptz,
    decided_by          text,
    reject_reason       text,
    booking_id          bigint REFERENCES ptl.theatre_booking (booking_id),
    UNIQUE (run_id, entry_id),
    CHECK ((status = 'accepted') = (booking_id IS NOT NULL)),
    CHECK (status <> 'rejected' OR reject_reason IS NOT NULL)
);
CREATE INDEX theatre_proposal_session_idx ON ptl.theatre_proposal (session_id);
CREATE INDEX theatre_proposal_entry_idx ON ptl.theatre_proposal (entry_id);
COMMENT ON TABLE ptl.theatre_proposal IS
    'Proposed bookings: a scheduler accepts (ptl.accept_theatre_proposal, which books it) or rejects (ptl.reject_theatre_proposal) each';
COMMENT ON COLUMN ptl.theatre_proposal.proposal_id IS 'ptl''s key for the proposal';
COMMENT ON COLUMN ptl.theatre_proposal.run_id IS 'Run that proposed it';
COMMENT ON COLUMN ptl.theatre_proposal.entry_id IS 'Waiting-list entry';
COMMENT ON COLUMN ptl.theatre_proposal.session_id IS 'Session proposed';
COMMENT ON COLUMN ptl.theatre_proposal.list_position IS 'The entry''s place on its ordered list at the run';
COMMENT ON COLUMN ptl.theatre_proposal.start_offset_minutes IS 'Minutes after the session''s free time starts (after cases already booked)';
COMMENT ON COLUMN ptl.theatre_proposal.planned_minutes IS 'Minutes planned for the case';
COMMENT ON COLUMN ptl.theatre_proposal.status IS 'proposed, accepted, rejected, or superseded by a later run';
COMMENT ON COLUMN ptl.theatre_proposal.decided_at IS 'When it was accepted or rejected';
COMMENT ON COLUMN ptl.theatre_proposal.decided_by IS 'Who decided';
COMMENT ON COLUMN ptl.theatre_proposal.reject_reason IS 'Why it was rejected';
COMMENT ON COLUMN ptl.theatre_proposal.booking_id IS 'The booking made when it was accepted';

CREATE TABLE ptl.theatre_proposal_outcome (
    run_id          bigint NOT NULL REFERENCES ptl.theatre_proposal_run (run_id) ON DELETE CASCADE,
    entry_id        bigint NOT NULL REFERENCES ptl.waiting_list_entry (entry_id),
    list_position   bigint,
    proposed        boolean NOT NULL,
    reason          text NOT NULL,
    detail          text NOT NULL,
    PRIMARY KEY (run_id, entry_id)
);
CREATE INDEX theatre_proposal_outcome_entry_idx ON ptl.theatre_proposal_outcome (entry_id);
COMMENT ON TABLE ptl.theatre_proposal_outcome IS
    'For every open admitted waiting-list entry at a run: proposed or not, and why not';
COMMENT ON COLUMN ptl.theatre_proposal_outcome.run_id IS 'Run';
COMMENT ON COLUMN ptl.theatre_proposal_outcome.entry_id IS 'Waiting-list entry';
COMMENT ON COLUMN ptl.theatre_proposal_outcome.list_position IS 'Its place on its ordered list (NULL: set aside)';
COMMENT ON COLUMN ptl.theatre_proposal_outcome.proposed IS 'True if the run proposed a session for it';
COMMENT ON COLUMN ptl.theatre_proposal_outcome.reason IS
    'proposed, already_booked, set_aside, no_duration, no_preop, preop_expired, unavailable, no_session, consultant_no_session, '
    'consultant_on_leave, no_equipment, inpatient_at_day_unit, too_long, sessions_full';
COMMENT ON COLUMN ptl.theatre_proposal_outcome.detail IS 'The reason in words, with the dates and counts behind it';

SELECT pg_catalog.pg_extension_config_dump('ptl.theatre_proposal_run', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.theatre_proposal_run_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.theatre_proposal', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.theatre_proposal_proposal_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.theatre_proposal_outcome', '');

-- Minutes booked in a session and still to happen or done (not cancelled).
CREATE VIEW ptl.theatre_session_load AS
SELECT s.session_id, s.session_date, t.site_code, s.theatre_code, s.specialty, s.consultant_code,
       s.planned_minutes, b.cases AS cases_booked, b.minutes AS minutes_booked,
       p.cases AS cases_proposed, p.minutes AS minutes_proposed
FROM ptl.theatre_session s
JOIN ptl.theatre t USING (theatre_code)
CROSS JOIN LATERAL (SELECT count(*) AS cases, coalesce(sum(x.planned_minutes), 0) AS minutes
                    FROM ptl.theatre_booking x WHERE x.session_id = s.session_id AND x.status <> 'cancelled') b
CROSS JOIN LATERAL (SELECT count(*) AS cases, coalesce(sum(x.planned_minutes), 0) AS minutes
                    FROM ptl.theatre_proposal x WHERE x.session_id = s.session_id AND x.status = 'proposed') p
WHERE NOT s.cancelled;
COMMENT ON VIEW ptl.theatre_session_load IS
    'Each session''s booked and (open) proposed cases and minutes against its planned minutes: planned utilisation before and after accepting proposals';
COMMENT ON COLUMN ptl.theatre_session_load.session_id IS 'Session';
COMMENT ON COLUMN ptl.theatre_session_load.session_date IS 'Date';
COMMENT ON COLUMN ptl.theatre_session_load.site_code IS 'Site';
COMMENT ON COLUMN ptl.theatre_session_load.theatre_code IS 'Theatre';
COMMENT ON COLUMN ptl.theatre_session_load.specialty IS 'Specialty (treatment function)';
COMMENT ON COLUMN ptl.theatre_session_load.consultant_code IS 'Consultant';
COMMENT ON COLUMN ptl.theatre_session_load.planned_minutes IS 'Planned session minutes';
COMMENT ON COLUMN ptl.theatre_session_load.cases_booked IS 'Cases booked (not cancelled)';
COMMENT ON COLUMN ptl.theatre_session_load.minutes_booked IS 'Their planned minutes';
COMMENT ON COLUMN ptl.theatre_session_load.cases_proposed IS 'Cases proposed and not yet decided';
COMMENT ON COLUMN ptl.theatre_session_load.minutes_proposed IS 'Their planned minutes';

-- The planning duration of one waiting-list entry: the consultant's own fit,
-- else the procedure's, else the minutes the list gives.
CREATE FUNCTION ptl.planned_case_minutes(procedure_code text, consultant_code text, expected_minutes int)
RETURNS int
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN coalesce((SELECT e.planned_minutes FROM ptl.procedure_duration_estimate e
                 WHERE e.procedure_code = $1 AND e.consultant_code = $2),
                (SELECT e.planned_minutes FROM ptl.procedure_duration_estimate e
                 WHERE e.procedure_code = $1 AND e.all_consultants),
                $3);
COMMENT ON FUNCTION ptl.planned_case_minutes(text, text, int) IS
    'Minutes to book for a case: the lognormal percentile of the consultant''s history for the procedure, else of all consultants'', else the expected minutes on the list';

-- The first stretch of [window_from, window_until] outside the patient's
-- unavailable periods (periods may touch or overlap).  A case has one
-- readiness window, so a patient free before and after a holiday is offered
-- the stretch before it: the earlier date.
CREATE FUNCTION ptl.first_free_window(patient bigint, window_from date, window_until date)
RETURNS TABLE (free_from date, free_until date)
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $fn$
DECLARE
    v_u     record;
BEGIN
    free_from := window_from;
    free_until := window_until;
    FOR v_u IN SELECT u.unavailable_from, u.unavailable_to FROM ptl.patient_unavailability u
               WHERE u.patient_id = patient AND u.unavailable_to >= window_from
               ORDER BY u.unavailable_from, u.unavailable_to LOOP
        EXIT WHEN v_u.unavailable_from > free_until;
        IF v_u.unavailable_from <= free_from THEN
            free_from := greatest(free_from, v_u.unavailable_to + 1);    -- starts unavailable: move the start on
        ELSE
            free_until := v_u.unavailable_from - 1;                       -- free until the period starts
            EXIT;
        END IF;
    END LOOP;
    RETURN NEXT;
END
$fn$;
COMMENT ON FUNCTION ptl.first_free_window(bigint, date, date) IS
    'The first stretch of days from window_from to window_until on which the patient has not said they are unavailable (free_from > free_until: none)';

CREATE PROCEDURE ptl.propose_theatre_lists(from_date date, to_date date, as_of date DEFAULT NULL)
LANGUAGE plpgsql
SET search_path = pg_catalog, ptl, pg_temp
AS $proc$
DECLARE
    v_cfg       ptl.theatre_setting := ptl.theatre_setting_in_force();
    v_as_of     date;
    v_run       bigint;
    v_slots     ptl.theatre_slot[];
    v_cases     ptl.theatre_case[];
BEGIN
    IF from_date IS NULL OR to_date IS NULL OR to_date < from_date THEN
        RAISE EXCEPTION 'invalid date range % to %', from_date, to_date
            USING ERRCODE = '22023', HINT = 'Give the first and the last session date to fill, first <= last.';
    END IF;
    v_as_of := coalesce(as_of, (SELECT max(census) FROM ptl.rtt_pathway), current_date);

    -- One run at a time: a second waits here, then sees the first's
    -- proposals and supersedes them.  Readers are not blocked.
    LOCK TABLE ptl.theatre_proposal_run IN EXCLUSIVE MODE;

    -- A run replaces the open proposals of earlier runs in its range.
    UPDATE ptl.theatre_proposal p SET status = 'superseded'
    FROM ptl.theatre_session s
    WHERE p.session_id = s.session_id AND p.status = 'proposed'
      AND s.session_date BETWEEN from_date AND to_date;

    -- Sessions: elective and day-case lists in range, with what is left of
    -- them after existing bookings, and whether the consultant is on leave.
    CREATE TEMP TABLE theatre_run_session ON COMMIT DROP AS
    SELECT s.session_id, s.session_date, t.site_code, s.specialty, s.consultant_code, s.planned_minutes,
           (SELECT coalesce(array_agg(DISTINCT x ORDER BY x), '{}') FROM unnest(t.equipment || s.equipment
                                                                || CASE WHEN t.day_case_only THEN '{}'::text[]
                                                                        ELSE '{inpatient_beds}'::text[] END) x) AS equipment,
           coalesce(l.minutes, 0) AS minutes_booked,
           greatest(0, s.planned_minutes - coalesce(l.minutes + l.cases * v_cfg.turnaround_minutes, 0))::int AS capacity,
           EXISTS (SELECT FROM ptl.consultant_leave cl
                   WHERE cl.consultant_code = s.consultant_code
                     AND s.session_date BETWEEN cl.leave_from AND cl.leave_to) AS on_leave
    FROM ptl.theatre_session s
    JOIN ptl.theatre t USING (theatre_code)
    LEFT JOIN LATERAL (SELECT sum(b.planned_minutes) AS minutes, count(*) AS cases
                       FROM ptl.theatre_booking b
                       WHERE b.session_id = s.session_id AND b.status <> 'cancelled') l ON true
    WHERE s.session_date BETWEEN from_date AND to_date
      AND NOT s.cancelled AND s.session_type IN ('elective', 'day_case');

    -- Planning durations, fitted once (ptl.planned_case_minutes per row
    -- would refit the history for every entry).
    CREATE TEMP TABLE theatre_run_estimate ON COMMIT DROP AS
    SELECT e.procedure_code, e.consultant_code, e.all_consultants, e.planned_minutes FROM ptl.procedure_duration_estimate e;

    -- Cases: every open admitted entry on the PTL, with what it needs (once,
    -- at its best place, should the PTL show an entry on two periods).
    CREATE TEMP TABLE theatre_run_case ON COMMIT DROP AS
    SELECT DISTINCT ON (w.entry_id) p.waiting_list_entry_id AS entry_id, w.patient_id, p.provider_org, p.treatment_function AS specialty,
           p.list_position, p.order_group,
           CASE WHEN v_cfg.book_named_consultant THEN w.consultant_code END AS consultant,
           CASE WHEN w.site_code IS NOT NULL THEN ARRAY[w.site_code]
                ELSE (SELECT array_agg(st.site_code ORDER BY st.site_code) FROM ptl.site st
                      WHERE st.org_code = p.provider_org) END AS site_codes,
           coalesce(ec.planned_minutes, ep.planned_minutes, w.expected_duration_minutes) AS minutes,
           (SELECT array_agg(DISTINCT r.equipment ORDER BY r.equipment) FROM ptl.procedure_requirement r
            WHERE w.procedure_code = r.procedure_code
               OR (length(r.procedure_code) = 3 AND left(w.procedure_code, 3) = r.procedure_code))
           || CASE WHEN w.intended_management = '1' OR pa.needs_inpatient_bed THEN '{inpatient_beds}'::text[]
                   ELSE '{}'::text[] END AS equipment,
           pa.assessed_on AS preop_on, pa.outcome AS preop_outcome,
           coalesce(pa.valid_until, pa.assessed_on + v_cfg.preop_valid_days) AS preop_until,
           greatest(from_date, v_as_of + v_cfg.min_notice_days) AS ready_from,
           CASE WHEN pa.outcome IN ('fit', 'fit_with_conditions')
                THEN least(to_date, coalesce(pa.valid_until, pa.assessed_on + v_cfg.preop_valid_days)) END AS ready_until,
           (w.tci_date IS NOT NULL AND w.tci_date >= v_as_of)
           OR EXISTS (SELECT FROM ptl.theatre_booking b JOIN ptl.theatre_session s USING (session_id)
                      WHERE b.entry_id = w.entry_id AND b.status = 'booked' AND s.session_date >= v_as_of) AS booked
    FROM ptl.ptl p
    JOIN ptl.waiting_list_entry w ON w.entry_id = p.waiting_list_entry_id
    LEFT JOIN theatre_run_estimate ec ON ec.procedure_code = w.procedure_code AND ec.consultant_code = w.consultant_code
    LEFT JOIN theatre_run_estimate ep ON ep.procedure_code = w.procedure_code AND ep.all_consultants
    LEFT JOIN LATERAL (SELECT a.* FROM ptl.preop_assessment a
                       WHERE a.entry_id = w.entry_id AND a.assessed_on <= v_as_of
                       ORDER BY a.assessed_on DESC, a.preop_id DESC LIMIT 1) pa ON true
    WHERE p.waiting_list_entry_id IS NOT NULL
    ORDER BY w.entry_id, p.list_position NULLS LAST;

    -- Patient unavailability cuts the window to its first free stretch.
    UPDATE theatre_run_case c
    SET ready_from = x.ready_from, ready_until = x.ready_until
    FROM (SELECT c2.entry_id, f.free_from AS ready_from, f.free_until AS ready_until
          FROM theatre_run_case c2,
               LATERAL ptl.first_free_window(c2.patient_id, c2.ready_from, c2.ready_until) f
          WHERE c2.ready_until IS NOT NULL
            AND EXISTS (SELECT FROM ptl.patient_unavailability u WHERE u.patient_id = c2.patient_id)) x
    WHERE x.entry_id = c.entry_id;

    SELECT array_agg(ROW(s.session_id, s.session_date, s.site_code, s.specialty, s.consultant_code,
                         s.capacity, s.equipment)::ptl.theatre_slot)
    INTO v_slots
    FROM theatre_run_session s WHERE NOT s.on_leave AND s.capacity > 0;

    SELECT array_agg(ROW(c.entry_id, c.specialty, c.consultant, c.site_codes, c.minutes, c.list_position,
                         c.ready_from, c.ready_until, c.equipment)::ptl.theatre_case)
    INTO v_cases
    FROM theatre_run_case c
    WHERE NOT c.booked AND c.order_group <> 'set_aside' AND c.minutes IS NOT NULL
      AND c.ready_until IS NOT NULL AND c.ready_until >= c.ready_from;

    INSERT INTO ptl.theatre_proposal_run (from_date, to_date, as_of, turnaround_minutes, sessions, session_minutes,
                                          minutes_booked_before, cases_considered, cases_proposed, minutes_proposed)
    SELECT from_date, to_date, v_as_of, v_cfg.turnaround_minutes,
           count(*) FILTER (WHERE NOT s.on_leave), coalesce(sum(s.planned_minutes) FILTER (WHERE NOT s.on_leave), 0),
           coalesce(sum(s.minutes_booked) FILTER (WHERE NOT s.on_leave), 0),
           (SELECT count(*) FROM theatre_run_case), 0, 0
    FROM theatre_run_session s
    RETURNING run_id INTO v_run;

    INSERT INTO ptl.theatre_proposal (run_id, entry_id, session_id, list_position, start_offset_minutes, planned_minutes)
    SELECT v_run, a.case_id, a.session_id, c.list_position,
           s.planned_minutes - s.capacity + a.start_offset_minutes, c.minutes
    FROM ptl.allocate_theatre(coalesce(v_slots, '{}'), coalesce(v_cases, '{}'), v_cfg.turnaround_minutes) a
    JOIN theatre_run_case c ON c.entry_id = a.case_id
    JOIN theatre_run_session s ON s.session_id = a.session_id;

    UPDATE ptl.theatre_proposal_run r
    SET cases_proposed = x.n, minutes_proposed = x.m
    FROM (SELECT count(*) AS n, coalesce(sum(planned_minutes), 0) AS m
          FROM ptl.theatre_proposal WHERE run_id = v_run) x
    WHERE r.run_id = v_run;

    -- Why each entry was or was not proposed: the first rule that fails,
    -- checked in the order a scheduler would ask.
    INSERT INTO ptl.theatre_proposal_outcome (run_id, entry_id, list_position, proposed, reason, detail)
    SELECT v_run, c.entry_id, c.list_position, p.proposal_id IS NOT NULL, r.reason, r.detail
    FROM theatre_run_case c
    LEFT JOIN ptl.theatre_proposal p ON p.run_id = v_run AND p.entry_id = c.entry_id
    LEFT JOIN theatre_run_session ps ON ps.session_id = p.session_id
    LEFT JOIN LATERAL (
        SELECT count(*) FILTER (WHERE TRUE) AS n_site,
               count(*) FILTER (WHERE c.consultant IS NULL OR s.consultant_code = c.consultant) AS n_cons,
               count(*) FILTER (WHERE (c.consultant IS NULL OR s.consultant_code = c.consultant) AND NOT s.on_leave) AS n_avail,
               count(*) FILTER (WHERE (c.consultant IS NULL OR s.consultant_code = c.consultant) AND NOT s.on_leave
                                  AND array_remove(c.equipment, 'inpatient_beds') <@ s.equipment) AS n_kit,
               count(*) FILTER (WHERE (c.consultant IS NULL OR s.consultant_code = c.consultant) AND NOT s.on_leave
                                  AND c.equipment <@ s.equipment) AS n_beds,
               count(*) FILTER (WHERE (c.consultant IS NULL OR s.consultant_code = c.consultant) AND NOT s.on_leave
                                  AND c.equipment <@ s.equipment AND s.planned_minutes >= c.minutes) AS n_long,
               min(s.session_date) FILTER (WHERE (c.consultant IS NULL OR s.consultant_code = c.consultant) AND NOT s.on_leave
                                  AND c.equipment <@ s.equipment AND s.planned_minutes >= c.minutes) AS first_date
        FROM theatre_run_session s
        WHERE s.specialty = c.specialty AND s.site_code = ANY (c.site_codes)
          AND s.session_date BETWEEN c.ready_from AND c.ready_until) n ON c.ready_until >= c.ready_from
    CROSS JOIN LATERAL (SELECT * FROM (VALUES
        (1, p.proposal_id IS NOT NULL, 'proposed',
         format('session %s on %s at %s, %s minutes after the list starts', p.session_id, ps.session_date,
                ps.site_code, p.start_offset_minutes)),
        (2, c.booked, 'already_booked', 'has an admission date or a theatre booking to come'),
        (3, c.order_group = 'set_aside', 'set_aside', 'priority P5 or P6, or suspended from the list at the census'),
        (4, c.minutes IS NULL, 'no_duration', 'no duration history for the procedure and no expected minutes on the list'),
        (5, c.preop_outcome IS NULL, 'no_preop', 'no pre-operative assessment yet'),
        (6, c.preop_outcome NOT IN ('fit', 'fit_with_conditions'), 'no_preop',
         format('latest pre-operative assessment on %s: %s', c.preop_on, c.preop_outcome)),
        (7, c.preop_until < greatest(from_date, v_as_of + v_cfg.min_notice_days), 'preop_expired',
         format('pre-operative assessment of %s expires on %s, before the first date that can be booked (%s)',
                c.preop_on, c.preop_until, greatest(from_date, v_as_of + v_cfg.min_notice_days))),
        (8, c.ready_until < c.ready_from, 'unavailable', 'the patient is unavailable for the whole period'),
        (9, n.n_site = 0, 'no_session',
         format('no %s session at %s between %s and %s', c.specialty, array_to_string(c.site_codes, ', '),
                c.ready_from, c.ready_until)),
        (10, n.n_cons = 0, 'consultant_no_session',
         format('%s has no session between %s and %s', c.consultant, c.ready_from, c.ready_until)),
        (11, n.n_avail = 0, 'consultant_on_leave',
         format('%s is on leave for all %s of their sessions between %s and %s', c.consultant, n.n_cons,
                c.ready_from, c.ready_until)),
        (12, n.n_kit = 0, 'no_equipment',
         format('no session has %s', array_to_string(array_remove(c.equipment, 'inpatient_beds'), ' and '))),
        (13, n.n_beds = 0, 'inpatient_at_day_unit', 'needs an inpatient bed and every session is in a day-case unit'),
        (14, n.n_long = 0, 'too_long', format('needs %s minutes, longer than any session', c.minutes)),
        (15, true, 'sessions_full',
         format('%s eligible session(s) from %s were filled by patients ahead on the list, or had fewer than %s minutes left',
                n.n_long, n.first_date, c.minutes + v_cfg.turnaround_minutes))
        ) v(k, failed, reason, detail)
        WHERE v.failed ORDER BY v.k LIMIT 1) r;

    DROP TABLE theatre_run_session, theatre_run_case, theatre_run_estimate;
    -- Queries join the run's proposals and outcomes next: plan them for
    -- their size (a check joining outcomes planned as one row took 37 s).
    PERFORM ptl.analyze_if_grown('ptl.theatre_proposal');
    PERFORM ptl.analyze_if_grown('ptl.theatre_proposal_outcome');
END
$proc$;
COMMENT ON PROCEDURE ptl.propose_theatre_lists(date, date, date) IS
    'Fills the elective and day-case sessions from from_date to to_date from the admitted waiting list in its order (ptl.allocate_theatre), '
    'respecting leave, pre-operative assessment, patient unavailability, equipment and existing bookings; writes ptl.theatre_proposal and, '
    'for every entry not proposed, the reason in ptl.theatre_proposal_outcome.  as_of defaults to the census of the last refresh';

CREATE FUNCTION ptl.accept_theatre_proposal(proposal_id bigint, decided_by text DEFAULT current_user)
RETURNS bigint
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, ptl, pg_temp
AS $fn$
DECLARE
    v_p         ptl.theatre_proposal;
    v_session   ptl.theatre_session;
    v_turn      int := (ptl.theatre_setting_in_force()).turnaround_minutes;
    v_used      bigint;
    v_booking   bigint;
BEGIN
    SELECT * INTO v_p FROM ptl.theatre_proposal p WHERE p.proposal_id = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'theatre proposal % does not exist', $1 USING ERRCODE = 'P0002';
    END IF;
    IF v_p.status <> 'proposed' THEN
        RAISE EXCEPTION 'theatre proposal % is %, not proposed', $1, v_p.status
            USING ERRCODE = '55000', HINT = 'Only an open proposal can be accepted; run ptl.propose_theatre_lists again for new ones.';
    END IF;
    -- Lock the session so two schedulers cannot overfill it together.
    SELECT * INTO v_session FROM ptl.theatre_session s WHERE s.session_id = v_p.session_id FOR UPDATE;
    IF v_session.cancelled THEN
        RAISE EXCEPTION 'session % has been cancelled', v_p.session_id USING ERRCODE = '55000';
    END IF;
    IF EXISTS (SELECT FROM ptl.theatre_booking b WHERE b.entry_id = v_p.entry_id AND b.status = 'booked') THEN
        RAISE EXCEPTION 'waiting-list entry % already has a theatre booking', v_p.entry_id USING ERRCODE = '55000';
    END IF;
    SELECT coalesce(sum(b.planned_minutes + v_turn), 0) INTO v_used
    FROM ptl.theatre_booking b WHERE b.session_id = v_p.session_id AND b.status <> 'cancelled';
    IF v_used + v_p.planned_minutes > v_session.planned_minutes + v_turn THEN
        RAISE EXCEPTION 'session % has no room left for % minutes', v_p.session_id, v_p.planned_minutes
            USING ERRCODE = '55000',
                  DETAIL = format('Its cases take %s minutes with a turnaround after each; the list has %s, and the last case needs no turnaround.',
                                  v_used, v_session.planned_minutes);
    END IF;
    INSERT INTO ptl.theatre_booking (session_id, entry_id, planned_order, planned_minutes, booked_by)
    VALUES (v_p.session_id, v_p.entry_id,
            1 + coalesce((SELECT max(b.planned_order) FROM ptl.theatre_booking b WHERE b.session_id = v_p.session_id), 0),
            v_p.planned_minutes, decided_by)
    RETURNING booking_id INTO v_booking;
    UPDATE ptl.theatre_proposal p
    SET status = 'accepted', decided_at = now(), decided_by = $2, booking_id = v_booking
    WHERE p.proposal_id = $1;
    RETURN v_booking;
END
$fn$;
COMMENT ON FUNCTION ptl.accept_theatre_proposal(bigint, text) IS
    'Accepts an open theatre proposal: books the case at the end of the session''s running order (if it still has room) and returns the booking';

CREATE FUNCTION ptl.reject_theatre_proposal(proposal_id bigint, reason text, decided_by text DEFAULT current_user)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, ptl, pg_temp
AS $fn$
BEGIN
    IF reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'a rejected proposal needs a reason' USING ERRCODE = '22004';
    END IF;
    UPDATE ptl.theatre_proposal p
    SET status = 'rejected', decided_at = now(), decided_by = $3, reject_reason = $2
    WHERE p.proposal_id = $1 AND p.status = 'proposed';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'theatre proposal % is not open', $1
            USING ERRCODE = '55000', HINT = 'It does not exist, or it was already accepted, rejected or superseded.';
    END IF;
END
$fn$;
COMMENT ON FUNCTION ptl.reject_theatre_proposal(bigint, text, text) IS 'Rejects an open theatre proposal, with the scheduler''s reason';

CREATE FUNCTION ptl.why_not_booked(entry_id bigint)
RETURNS TABLE (run_id bigint, as_of date, from_date date, to_date date, proposed boolean, reason text, detail text)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
BEGIN ATOMIC
    SELECT o.run_id, r.as_of, r.from_date, r.to_date, o.proposed, o.reason, o.detail
    FROM ptl.theatre_proposal_outcome o JOIN ptl.theatre_proposal_run r USING (run_id)
    WHERE o.entry_id = why_not_booked.entry_id
    ORDER BY o.run_id DESC LIMIT 1;
END;
COMMENT ON FUNCTION ptl.why_not_booked(bigint) IS
    'What the latest theatre proposal run decided for a waiting-list entry, and why it was not proposed if it was not';
-- ---------------------------------------------------------------------------
-- Theatre productivity (clinical-theatre.md 2.1).  Per session from the
-- bookings' actual times, then per week by theatre, specialty and site.
--   touch time   anaesthetic start (into theatre if none) -> out of theatre
--   CTU          touch time inside [planned start, planned end] / C
--   uncapped     all touch time / C (can exceed 100%)
--   late start   max(0, first touch start - planned start)
--   early finish max(0, planned end - last out of theatre)
--   overrun      max(0, last out of theatre - planned end)
--   turnaround   next case's touch start - previous case out of theatre
--   cases per 4-hour list = cases * 240 / C
-- Only sessions held by ptl.theatre_measured_until() count, so lists still
-- to come do not dilute the measures; a held session with no operation
-- performed counts as cancelled (NHS Data Dictionary) and is reported, not
-- averaged in.
-- ---------------------------------------------------------------------------

-- The last day whose theatre activity is known: today, or the census of the
-- last refresh if earlier (theatre extracts arrive with the PTL's).
CREATE FUNCTION ptl.theatre_measured_until() RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN least(current_date, coalesce((SELECT max(r.census) FROM ptl.rtt_pathway r), current_date));
COMMENT ON FUNCTION ptl.theatre_measured_until() IS
    'Last session date the productivity measures include: today, or the census of the last refresh if earlier';

CREATE VIEW ptl.theatre_case_times AS
SELECT b.booking_id, b.session_id, b.entry_id, s.session_date,
       coalesce(b.anaesthetic_start, b.into_theatre) AS touch_start, b.out_of_theatre AS touch_end,
       extract(epoch FROM b.out_of_theatre - coalesce(b.anaesthetic_start, b.into_theatre))::float8 / 60 AS touch_minutes,
       greatest(0, extract(epoch FROM least(b.out_of_theatre, s.session_date + s.planned_end)
                                      - greatest(coalesce(b.anaesthetic_start, b.into_theatre), s.session_date + s.planned_start))::float8 / 60)
           AS capped_touch_minutes,
       extract(epoch FROM coalesce(b.anaesthetic_start, b.into_theatre)
                          - lag(b.out_of_theatre) OVER w)::float8 / 60 AS turnaround_minutes,
       coalesce(b.day_case, w2.intended_management IN ('2', '3', '4')) AS day_case
FROM ptl.theatre_booking b
JOIN ptl.theatre_session s USING (session_id)
JOIN ptl.waiting_list_entry w2 ON w2.entry_id = b.entry_id
WHERE b.status = 'completed'
WINDOW w AS (PARTITION BY b.session_id ORDER BY coalesce(b.anaesthetic_start, b.into_theatre), b.booking_id);
COMMENT ON VIEW ptl.theatre_case_times IS 'Each completed case''s touch time, the part inside its session''s planned time, and the turnaround before it';
COMMENT ON COLUMN ptl.theatre_case_times.booking_id IS 'Booking';
COMMENT ON COLUMN ptl.theatre_case_times.session_id IS 'Session';
COMMENT ON COLUMN ptl.theatre_case_times.entry_id IS 'Waiting-list entry';
COMMENT ON COLUMN ptl.theatre_case_times.session_date IS 'Date';
COMMENT ON COLUMN ptl.theatre_case_times.touch_start IS 'Anaesthetic start, or into theatre when there was none';
COMMENT ON COLUMN ptl.theatre_case_times.touch_end IS 'Out of theatre';
COMMENT ON COLUMN ptl.theatre_case_times.touch_minutes IS 'Touch time, minutes';
COMMENT ON COLUMN ptl.theatre_case_times.capped_touch_minutes IS 'Touch time inside the planned session, minutes';
COMMENT ON COLUMN ptl.theatre_case_times.turnaround_minutes IS 'Minutes from the previous case leaving theatre to this one''s touch start (NULL for the first)';
COMMENT ON COLUMN ptl.theatre_case_times.day_case IS 'Day case (as admitted, else as intended on the list)';

CREATE VIEW ptl.theatre_session_measures AS
WITH cfg AS (SELECT * FROM ptl.theatre_setting_in_force()),
     c AS (SELECT t.session_id, count(*) AS cases, sum(t.touch_minutes) AS touch, sum(t.capped_touch_minutes) AS capped,
                  min(t.touch_start) AS first_start, max(t.touch_end) AS last_end,
                  count(t.turnaround_minutes) AS turnarounds, sum(t.turnaround_minutes) AS turnaround,
                  count(*) FILTER (WHERE t.day_case) AS day_cases
           FROM ptl.theatre_case_times t GROUP BY t.session_id),
     x AS (SELECT b.session_id, count(*) AS cancelled_on_day
           FROM ptl.theatre_booking b
           JOIN ptl.theatre_cancellation k USING (booking_id)
           JOIN ptl.cancellation_reason r USING (reason_code)
           JOIN ptl.theatre_session s USING (session_id)
           WHERE k.cancelled_on = s.session_date AND NOT r.clinical
           GROUP BY b.session_id)
SELECT s.session_id, s.session_date, date_trunc('week', s.session_date)::date AS week_starting,
       t.site_code, s.theatre_code, s.specialty, s.consultant_code, s.session_type, s.planned_minutes,
       coalesce(c.cases, 0) AS cases, c.cases IS NULL AS no_operation,
       round(coalesce(c.touch, 0)::numeric, 1) AS touch_minutes,
       round(coalesce(c.capped, 0)::numeric, 1) AS capped_touch_minutes,
       round((100 * coalesce(c.capped, 0) / s.planned_minutes)::numeric, 2) AS capped_utilisation_pct,
       round((100 * coalesce(c.touch, 0) / s.planned_minutes)::numeric, 2) AS uncapped_utilisation_pct,
       round(greatest(0, extract(epoch FROM c.first_start - (s.session_date + s.planned_start)) / 60)::numeric, 1) AS late_start_minutes,
       round(greatest(0, extract(epoch FROM (s.session_date + s.planned_end) - c.last_end) / 60)::numeric, 1) AS early_finish_minutes,
       round(greatest(0, extract(epoch FROM c.last_end - (s.session_date + s.planned_end)) / 60)::numeric, 1) AS overrun_minutes,
       coalesce(c.turnarounds, 0) AS turnarounds,
       round(coalesce(c.turnaround, 0)::numeric, 1) AS turnaround_minutes,
       round((coalesce(c.cases, 0) * 240.0 / s.planned_minutes)::numeric, 2) AS cases_per_4_hours,
       coalesce(c.day_cases, 0) AS day_cases,
       coalesce(x.cancelled_on_day, 0) AS cancelled_on_the_day,
       extract(epoch FROM c.first_start - (s.session_date + s.planned_start)) / 60 >= cfg.late_start_flag_minutes AS late_start_flag,
       extract(epoch FROM (s.session_date + s.planned_end) - c.last_end) / 60 >= cfg.early_finish_flag_minutes AS early_finish_flag
FROM ptl.theatre_session s
JOIN ptl.theatre t USING (theatre_code)
LEFT JOIN c USING (session_id)
LEFT JOIN x USING (session_id)
CROSS JOIN cfg
WHERE NOT s.cancelled AND s.session_date <= ptl.theatre_measured_until();
COMMENT ON VIEW ptl.theatre_session_measures IS
    'Productivity of each held session (clinical-theatre.md 2.1): capped and uncapped utilisation, touch time, late start, early finish, overrun, turnaround, cases, day cases, on-the-day cancellations';
COMMENT ON COLUMN ptl.theatre_session_measures.session_id IS 'Session';
COMMENT ON COLUMN ptl.theatre_session_measures.session_date IS 'Date';
COMMENT ON COLUMN ptl.theatre_session_measures.week_starting IS 'Monday of its week';
COMMENT ON COLUMN ptl.theatre_session_measures.site_code IS 'Site';
COMMENT ON COLUMN ptl.theatre_session_measures.theatre_code IS 'Theatre';
COMMENT ON COLUMN ptl.theatre_session_measures.specialty IS 'Specialty (treatment function)';
COMMENT ON COLUMN ptl.theatre_session_measures.consultant_code IS 'Consultant';
COMMENT ON COLUMN ptl.theatre_session_measures.session_type IS 'elective, day_case, emergency or trauma';
COMMENT ON COLUMN ptl.theatre_session_measures.planned_minutes IS 'Planned session minutes C';
COMMENT ON COLUMN ptl.theatre_session_measures.cases IS 'Completed cases';
COMMENT ON COLUMN ptl.theatre_session_measures.no_operation IS 'True if no operation was performed (counts as a cancelled session)';
COMMENT ON COLUMN ptl.theatre_session_measures.touch_minutes IS 'All touch time, minutes';
COMMENT ON COLUMN ptl.theatre_session_measures.capped_touch_minutes IS 'Touch time inside the planned start and end, minutes';
COMMENT ON COLUMN ptl.theatre_session_measures.capped_utilisation_pct IS 'Capped theatre utilisation (CTU): capped touch time / C, per cent';
COMMENT ON COLUMN ptl.theatre_session_measures.uncapped_utilisation_pct IS 'Uncapped utilisation: all touch time / C, per cent (can exceed 100)';
COMMENT ON COLUMN ptl.theatre_session_measures.late_start_minutes IS 'Minutes the first case''s touch time started after the planned start';
COMMENT ON COLUMN ptl.theatre_session_measures.early_finish_minutes IS 'Minutes the last case left before the planned end';
COMMENT ON COLUMN ptl.theatre_session_measures.overrun_minutes IS 'Minutes the last case left after the planned end';
COMMENT ON COLUMN ptl.theatre_session_measures.turnarounds IS 'Changeovers between consecutive cases';
COMMENT ON COLUMN ptl.theatre_session_measures.turnaround_minutes IS 'Sum of changeover minutes';
COMMENT ON COLUMN ptl.theatre_session_measures.cases_per_4_hours IS 'Cases normalised to a 4-hour session: cases * 240 / C';
COMMENT ON COLUMN ptl.theatre_session_measures.day_cases IS 'Completed cases that were day cases';
COMMENT ON COLUMN ptl.theatre_session_measures.cancelled_on_the_day IS 'Bookings cancelled on the day for non-clinical reasons';
COMMENT ON COLUMN ptl.theatre_session_measures.late_start_flag IS 'Started late by theatre_setting.late_start_flag_minutes or more';
COMMENT ON COLUMN ptl.theatre_session_measures.early_finish_flag IS 'Finished early by theatre_setting.early_finish_flag_minutes or more';

-- Weekly roll-up.  Ratios are recomputed from the summed minutes, never
-- averaged from the sessions' ratios.  grouping says which level a row is.
CREATE VIEW ptl.theatre_productivity AS
SELECT CASE WHEN GROUPING(m.theatre_code) = 0 THEN 'theatre'
            WHEN GROUPING(m.specialty) = 0 THEN 'specialty'
            WHEN GROUPING(m.site_code) = 0 THEN 'site'
            ELSE 'ics' END AS grouping,
       m.week_starting, m.site_code, m.theatre_code, m.specialty,
       count(*) FILTER (WHERE NOT m.no_operation) AS sessions,
       count(*) FILTER (WHERE m.no_operation) AS sessions_without_operation,
       sum(m.planned_minutes) FILTER (WHERE NOT m.no_operation) AS planned_minutes,
       sum(m.touch_minutes) AS touch_minutes,
       round(100 * sum(m.capped_touch_minutes) / nullif(sum(m.planned_minutes) FILTER (WHERE NOT m.no_operation), 0), 2)
           AS capped_utilisation_pct,
       round(100 * sum(m.touch_minutes) / nullif(sum(m.planned_minutes) FILTER (WHERE NOT m.no_operation), 0), 2)
           AS uncapped_utilisation_pct,
       count(*) FILTER (WHERE m.late_start_flag) AS late_starts,
       round(avg(m.late_start_minutes), 1) AS mean_late_start_minutes,
       count(*) FILTER (WHERE m.early_finish_flag) AS early_finishes,
       round(avg(m.early_finish_minutes), 1) AS mean_early_finish_minutes,
       sum(m.overrun_minutes) AS overrun_minutes,
       round(sum(m.turnaround_minutes) / nullif(sum(m.turnarounds), 0), 1) AS mean_turnaround_minutes,
       sum(m.cases) AS cases,
       round(sum(m.cases) * 240.0 / nullif(sum(m.planned_minutes) FILTER (WHERE NOT m.no_operation), 0), 2) AS cases_per_4_hours,
       round(100.0 * sum(m.day_cases) / nullif(sum(m.cases), 0), 1) AS day_case_rate_pct,
       sum(m.cancelled_on_the_day) AS cancelled_on_the_day
FROM ptl.theatre_session_measures m
GROUP BY GROUPING SETS ((m.week_starting, m.site_code, m.theatre_code),
                        (m.week_starting, m.site_code, m.specialty),
                        (m.week_starting, m.site_code),
                        (m.week_starting));
COMMENT ON VIEW ptl.theatre_productivity IS
    'Theatre productivity per week by theatre, by specialty, by site and for the ICS (grouping says which), from ptl.theatre_session_measures';
COMMENT ON COLUMN ptl.theatre_productivity.grouping IS 'theatre (site and theatre), specialty (site and specialty), site, or ics';
COMMENT ON COLUMN ptl.theatre_productivity.week_starting IS 'Monday of the week';
COMMENT ON COLUMN ptl.theatre_productivity.site_code IS 'Site (NULL on ics rows)';
COMMENT ON COLUMN ptl.theatre_productivity.theatre_code IS 'Theatre (theatre rows only)';
COMMENT ON COLUMN ptl.theatre_productivity.specialty IS 'Specialty (specialty rows only)';
COMMENT ON COLUMN ptl.theatre_productivity.sessions IS 'Sessions held with at least one operation';
COMMENT ON COLUMN ptl.theatre_productivity.sessions_without_operation IS 'Sessions held with none (counted as cancelled)';
COMMENT ON COLUMN ptl.theatre_productivity.planned_minutes IS 'Planned minutes of the sessions with an operation';
COMMENT ON COLUMN ptl.theatre_productivity.touch_minutes IS 'All touch time';
COMMENT ON COLUMN ptl.theatre_productivity.capped_utilisation_pct IS 'Capped theatre utilisation, per cent (target in theatre_setting, default 85)';
COMMENT ON COLUMN ptl.theatre_productivity.uncapped_utilisation_pct IS 'Uncapped utilisation, per cent';
COMMENT ON COLUMN ptl.theatre_productivity.late_starts IS 'Sessions flagged as starting late';
COMMENT ON COLUMN ptl.theatre_productivity.mean_late_start_minutes IS 'Mean late start, minutes';
COMMENT ON COLUMN ptl.theatre_productivity.early_finishes IS 'Sessions flagged as finishing early';
COMMENT ON COLUMN ptl.theatre_productivity.mean_early_finish_minutes IS 'Mean early finish, minutes';
COMMENT ON COLUMN ptl.theatre_productivity.overrun_minutes IS 'Total overrun minutes';
COMMENT ON COLUMN ptl.theatre_productivity.mean_turnaround_minutes IS 'Mean changeover between cases, minutes';
COMMENT ON COLUMN ptl.theatre_productivity.cases IS 'Completed cases';
COMMENT ON COLUMN ptl.theatre_productivity.cases_per_4_hours IS 'Cases per 4-hour session equivalent';
COMMENT ON COLUMN ptl.theatre_productivity.day_case_rate_pct IS 'Day cases / completed cases, per cent';
COMMENT ON COLUMN ptl.theatre_productivity.cancelled_on_the_day IS 'Bookings cancelled on the day for non-clinical reasons';

CREATE VIEW ptl.theatre_cancellations AS
SELECT date_trunc('week', s.session_date)::date AS week_starting, t.site_code, s.specialty, k.reason_code,
       r.description, r.clinical, r.initiated_by,
       count(*) AS cancellations,
       count(*) FILTER (WHERE k.cancelled_on = s.session_date) AS on_the_day,
       count(*) FILTER (WHERE k.cancelled_on = s.session_date AND NOT r.clinical) AS last_minute_non_clinical,
       count(*) FILTER (WHERE k.cancelled_on = s.session_date AND NOT r.clinical
                          AND NOT EXISTS (SELECT FROM ptl.theatre_booking b2 JOIN ptl.theatre_session s2 USING (session_id)
                                          WHERE b2.entry_id = b.entry_id AND b2.booking_id <> b.booking_id
                                            AND b2.status <> 'cancelled'
                                            AND s2.session_date > k.cancelled_on
                                            AND s2.session_date <= k.cancelled_on + 28)) AS not_rebooked_within_28_days
FROM ptl.theatre_cancellation k
JOIN ptl.theatre_booking b USING (booking_id)
JOIN ptl.theatre_session s USING (session_id)
JOIN ptl.theatre t USING (theatre_code)
JOIN ptl.cancellation_reason r USING (reason_code)
GROUP BY 1, 2, 3, 4, 5, 6, 7;
COMMENT ON VIEW ptl.theatre_cancellations IS
    'Cancelled operations per week, site, specialty and reason; last-minute (on the day, non-clinical) ones and those not rebooked within 28 days (NHS Constitution standard)';
COMMENT ON COLUMN ptl.theatre_cancellations.week_starting IS 'Monday of the week of the session';
COMMENT ON COLUMN ptl.theatre_cancellations.site_code IS 'Site';
COMMENT ON COLUMN ptl.theatre_cancellations.specialty IS 'Specialty (treatment function)';
COMMENT ON COLUMN ptl.theatre_cancellations.reason_code IS 'Reason';
COMMENT ON COLUMN ptl.theatre_cancellations.description IS 'Reason in words';
COMMENT ON COLUMN ptl.theatre_cancellations.clinical IS 'Clinical reason';
COMMENT ON COLUMN ptl.theatre_cancellations.initiated_by IS 'hospital or patient';
COMMENT ON COLUMN ptl.theatre_cancellations.cancellations IS 'Bookings cancelled';
COMMENT ON COLUMN ptl.theatre_cancellations.on_the_day IS 'Cancelled on the day of the session';
COMMENT ON COLUMN ptl.theatre_cancellations.last_minute_non_clinical IS 'On the day and for a non-clinical reason (the national last-minute cancellation)';
COMMENT ON COLUMN ptl.theatre_cancellations.not_rebooked_within_28_days IS
    'Last-minute non-clinical cancellations with no new booking within the following 28 days';

-- Pre-operative assessment lead time: days from the latest fit assessment
-- to the operation, for booked and completed cases.
CREATE VIEW ptl.preop_lead_time AS
WITH b AS (
    SELECT date_trunc('week', s.session_date)::date AS week_starting, t.site_code, s.specialty,
           s.session_date - pa.assessed_on AS lead_days,
           pa.assessed_on IS NULL AS no_assessment,
           s.session_date > coalesce(pa.valid_until, pa.assessed_on + (ptl.theatre_setting_in_force()).preop_valid_days) AS expired
    FROM ptl.theatre_booking bk
    JOIN ptl.theatre_session s USING (session_id)
    JOIN ptl.theatre t USING (theatre_code)
    LEFT JOIN LATERAL (SELECT a.* FROM ptl.preop_assessment a
                       WHERE a.entry_id = bk.entry_id AND a.assessed_on <= s.session_date
                         AND a.outcome IN ('fit', 'fit_with_conditions')
                       ORDER BY a.assessed_on DESC, a.preop_id DESC LIMIT 1) pa ON true
    WHERE bk.status <> 'cancelled')
SELECT week_starting, site_code, specialty, count(*) AS operations,
       count(*) FILTER (WHERE no_assessment) AS without_assessment,
       count(*) FILTER (WHERE expired) AS assessment_expired,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY lead_days) AS median_lead_days,
       percentile_disc(0.9) WITHIN GROUP (ORDER BY lead_days) AS p90_lead_days
FROM b
GROUP BY 1, 2, 3;
COMMENT ON VIEW ptl.preop_lead_time IS
    'Pre-operative assessment lead time before the operation, per week, site and specialty of the session';
COMMENT ON COLUMN ptl.preop_lead_time.week_starting IS 'Monday of the week of the operation';
COMMENT ON COLUMN ptl.preop_lead_time.site_code IS 'Site';
COMMENT ON COLUMN ptl.preop_lead_time.specialty IS 'Specialty (treatment function)';
COMMENT ON COLUMN ptl.preop_lead_time.operations IS 'Operations booked or done';
COMMENT ON COLUMN ptl.preop_lead_time.without_assessment IS 'With no fit assessment before the operation';
COMMENT ON COLUMN ptl.preop_lead_time.assessment_expired IS 'Whose latest fit assessment had expired by the operation';
COMMENT ON COLUMN ptl.preop_lead_time.median_lead_days IS 'Median days from the latest fit assessment to the operation';
COMMENT ON COLUMN ptl.preop_lead_time.p90_lead_days IS '90th percentile of those days';
-- ---------------------------------------------------------------------------
-- aid/variation: how waits differ between the ICS's providers, per treatment
-- function and census, from the census snapshots (clinical-theatre.md
-- section 7), and the weekly monitoring series built on them.
--
-- Waits are the snapshot's days waited (the clock's days, so pauses are
-- already excluded); weeks are days / 7, not rounded.  Periods with an
-- unknown clock start have no wait and are left out of every measure (the
-- PTL's headline counts them separately).
-- ---------------------------------------------------------------------------

-- Per provider: clinical-theatre.md section 7, first table.  The 92nd
-- percentile is the nearest rank (the value at rank ceil(0.92 n)), which is
-- what percentile_disc computes; NHS England's published percentiles are
-- interpolated within weekly bands (rtt-rules.md Q8), so they can differ by
-- up to a week.
CREATE VIEW ptl.provider_waits AS
SELECT s.census_date, s.treatment_function, s.provider_org,
       count(*) AS list_size,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY s.days_waited / 7.0::float8) AS median_weeks,
       percentile_disc(0.92) WITHIN GROUP (ORDER BY s.days_waited / 7.0::float8) AS p92_weeks,
       avg(s.days_waited / 7.0::float8) AS mean_weeks,
       count(*) FILTER (WHERE s.days_waited > 126) AS over_18_weeks,
       round(100.0 * count(*) FILTER (WHERE s.days_waited > 126) / count(*), 2) AS pct_over_18_weeks,
       count(*) FILTER (WHERE s.days_waited > 364) AS over_52_weeks,
       count(*) FILTER (WHERE s.days_waited > 455) AS over_65_weeks,
       count(*) FILTER (WHERE s.days_waited > 546) AS over_78_weeks,
       count(*) FILTER (WHERE s.days_waited > 728) AS over_104_weeks,
       coalesce(sum(s.days_waited / 7.0 - 18) FILTER (WHERE s.days_waited > 126), 0) AS excess_patient_weeks
FROM ptl.census_snapshot s
WHERE s.days_waited IS NOT NULL
GROUP BY s.census_date, s.treatment_function, s.provider_org;
COMMENT ON VIEW ptl.provider_waits IS
    'Each provider''s waits per treatment function at each census (census snapshots; clinical-theatre.md section 7): the figures a patient, referrer or ICS compares';
COMMENT ON COLUMN ptl.provider_waits.census_date IS 'Census date of the snapshot';
COMMENT ON COLUMN ptl.provider_waits.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.provider_waits.provider_org IS 'Reporting provider';
COMMENT ON COLUMN ptl.provider_waits.list_size IS 'Incomplete pathways with a known clock start';
COMMENT ON COLUMN ptl.provider_waits.median_weeks IS 'Median wait in weeks (even count: mean of the two middle waits)';
COMMENT ON COLUMN ptl.provider_waits.p92_weeks IS '92nd percentile wait in weeks, nearest rank (the wait at rank ceil(0.92 n))';
COMMENT ON COLUMN ptl.provider_waits.mean_weeks IS 'Mean wait in weeks';
COMMENT ON COLUMN ptl.provider_waits.over_18_weeks IS 'Waiting more than 126 days';
COMMENT ON COLUMN ptl.provider_waits.pct_over_18_weeks IS 'Percentage waiting more than 126 days';
COMMENT ON COLUMN ptl.provider_waits.over_52_weeks IS 'Waiting more than 364 days';
COMMENT ON COLUMN ptl.provider_waits.over_65_weeks IS 'Waiting more than 455 days';
COMMENT ON COLUMN ptl.provider_waits.over_78_weeks IS 'Waiting more than 546 days';
COMMENT ON COLUMN ptl.provider_waits.over_104_weeks IS 'Waiting more than 728 days';
COMMENT ON COLUMN ptl.provider_waits.excess_patient_weeks IS 'Patient-weeks beyond 18 weeks: the sum of max(0, weeks - 18)';

-- Between providers: clinical-theatre.md section 7, second table, over the
-- providers with at least n_min waiting.  between_share is eta squared: the
-- patient-weighted variance of provider means over the variance of all
-- waits.  gini_mean uses the sorted form of the double sum,
-- sum_i sum_j |m_i - m_j| = 2 sum_i (2i - k - 1) m_(i).
CREATE FUNCTION ptl.wait_variation(census date DEFAULT NULL, n_min int DEFAULT 1)
RETURNS TABLE (census_date date, treatment_function text, providers int, list_size bigint,
               median_weeks float8, p92_weeks float8, over_18_weeks bigint,
               range_median float8, ratio_median float8, cv_median float8, gap_p92 float8,
               between_share float8, gini_mean float8)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
WITH pw AS MATERIALIZED (
    SELECT w.census_date, w.treatment_function, w.provider_org, w.list_size,
           w.median_weeks, w.p92_weeks::float8 AS p92_weeks, w.mean_weeks,
           row_number() OVER (PARTITION BY w.census_date, w.treatment_function
                              ORDER BY w.mean_weeks, w.provider_org) AS mean_rank,
           count(*) OVER (PARTITION BY w.census_date, w.treatment_function) AS k
    FROM ptl.provider_waits w
    WHERE (wait_variation.census IS NULL OR w.census_date = wait_variation.census)
      AND w.list_size >= greatest(wait_variation.n_min, 1)),
between_providers AS (
    SELECT pw.census_date, pw.treatment_function,
           count(*)::int AS k,
           max(pw.median_weeks) - min(pw.median_weeks) AS range_median,
           max(pw.median_weeks) / nullif(min(pw.median_weeks), 0) AS ratio_median,
           stddev_pop(pw.median_weeks) / nullif(avg(pw.median_weeks), 0) AS cv_median,
           max(pw.p92_weeks) - min(pw.p92_weeks) AS gap_p92,
           sum(pw.list_size * pw.mean_weeks) / sum(pw.list_size) AS grand_mean,
           sum(pw.list_size * pw.mean_weeks ^ 2) / sum(pw.list_size) AS mean_of_squares_of_means,
           sum((2 * pw.mean_rank - pw.k - 1) * pw.mean_weeks) AS gini_numerator,
           avg(pw.mean_weeks) AS mean_of_means
    FROM pw
    GROUP BY pw.census_date, pw.treatment_function),
patients AS (
    SELECT s.census_date, s.treatment_function,
           count(*) AS n,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY s.days_waited / 7.0::float8) AS median_weeks,
           percentile_disc(0.92) WITHIN GROUP (ORDER BY s.days_waited / 7.0::float8) AS p92_weeks,
           count(*) FILTER (WHERE s.days_waited > 126) AS over_18,
           var_pop(s.days_waited / 7.0::float8) AS total_variance
    FROM ptl.census_snapshot s
    JOIN pw ON pw.census_date = s.census_date AND pw.treatment_function = s.treatment_function
           AND pw.provider_org = s.provider_org
    WHERE s.days_waited IS NOT NULL
    GROUP BY s.census_date, s.treatment_function)
SELECT b.census_date, b.treatment_function, b.k, p.n, p.median_weeks, p.p92_weeks::float8, p.over_18,
       b.range_median, b.ratio_median, b.cv_median, b.gap_p92,
       (b.mean_of_squares_of_means - b.grand_mean ^ 2) / nullif(p.total_variance, 0),
       b.gini_numerator / nullif(b.k ^ 2 * b.mean_of_means, 0)
FROM between_providers b
JOIN patients p USING (census_date, treatment_function)
ORDER BY 1, 2
$$;
COMMENT ON FUNCTION ptl.wait_variation(date, int) IS
    'Variation in waits between providers per treatment function at a census (NULL: every census), over providers with at least n_min waiting (clinical-theatre.md section 7)';

-- Weekly monitoring: the last census of each week (weeks end on Sunday, as
-- NHS England's weekly returns do), per treatment function and provider,
-- with the change since the week before.  A week with no refresh has no
-- row, and the change is then measured against the last week that had one
-- (weeks_since_previous says how far back that was).
CREATE VIEW ptl.wait_monitoring AS
WITH by_week AS (
    SELECT w.*, (date_trunc('week', w.census_date) + interval '6 days')::date AS week_ending,
           dense_rank() OVER (PARTITION BY date_trunc('week', w.census_date) ORDER BY w.census_date DESC) AS latest
    FROM ptl.provider_waits w),
weekly AS (SELECT * FROM by_week WHERE latest = 1)
SELECT w.week_ending, w.census_date, w.treatment_function, w.provider_org,
       w.list_size, w.median_weeks, w.p92_weeks, w.over_18_weeks, w.pct_over_18_weeks,
       w.over_52_weeks, w.over_65_weeks, w.over_78_weeks, w.over_104_weeks,
       (w.week_ending - lag(w.week_ending) OVER t) / 7 AS weeks_since_previous,
       w.list_size - lag(w.list_size) OVER t AS list_size_change,
       w.median_weeks - lag(w.median_weeks) OVER t AS median_weeks_change,
       w.p92_weeks - lag(w.p92_weeks) OVER t AS p92_weeks_change,
       w.over_18_weeks - lag(w.over_18_weeks) OVER t AS over_18_weeks_change,
       w.over_52_weeks - lag(w.over_52_weeks) OVER t AS over_52_weeks_change,
       w.over_65_weeks - lag(w.over_65_weeks) OVER t AS over_65_weeks_change,
       w.over_78_weeks - lag(w.over_78_weeks) OVER t AS over_78_weeks_change
FROM weekly w
WINDOW t AS (PARTITION BY w.treatment_function, w.provider_org ORDER BY w.week_ending);
COMMENT ON VIEW ptl.wait_monitoring IS
    'Weekly monitoring of waits per treatment function and provider: the last census of each week (ending Sunday) and the change since the previous week with a snapshot';
COMMENT ON COLUMN ptl.wait_monitoring.week_ending IS 'Sunday ending the week';
COMMENT ON COLUMN ptl.wait_monitoring.census_date IS 'The last census in that week';
COMMENT ON COLUMN ptl.wait_monitoring.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.wait_monitoring.provider_org IS 'Reporting provider';
COMMENT ON COLUMN ptl.wait_monitoring.list_size IS 'Incomplete pathways with a known clock start';
COMMENT ON COLUMN ptl.wait_monitoring.median_weeks IS 'Median wait in weeks';
COMMENT ON COLUMN ptl.wait_monitoring.p92_weeks IS '92nd percentile wait in weeks (nearest rank)';
COMMENT ON COLUMN ptl.wait_monitoring.over_18_weeks IS 'Waiting more than 126 days';
COMMENT ON COLUMN ptl.wait_monitoring.pct_over_18_weeks IS 'Percentage waiting more than 126 days';
COMMENT ON COLUMN ptl.wait_monitoring.over_52_weeks IS 'Waiting more than 364 days';
COMMENT ON COLUMN ptl.wait_monitoring.over_65_weeks IS 'Waiting more than 455 days';
COMMENT ON COLUMN ptl.wait_monitoring.over_78_weeks IS 'Waiting more than 546 days';
COMMENT ON COLUMN ptl.wait_monitoring.over_104_weeks IS 'Waiting more than 728 days';
COMMENT ON COLUMN ptl.wait_monitoring.weeks_since_previous IS 'Weeks back to the previous row (1 when the week before had a snapshot; NULL for the first)';
COMMENT ON COLUMN ptl.wait_monitoring.list_size_change IS 'Change in list size since the previous row';
COMMENT ON COLUMN ptl.wait_monitoring.median_weeks_change IS 'Change in the median wait (weeks)';
COMMENT ON COLUMN ptl.wait_monitoring.p92_weeks_change IS 'Change in the 92nd percentile wait (weeks)';
COMMENT ON COLUMN ptl.wait_monitoring.over_18_weeks_change IS 'Change in the number over 18 weeks';
COMMENT ON COLUMN ptl.wait_monitoring.over_52_weeks_change IS 'Change in the number over 52 weeks';
COMMENT ON COLUMN ptl.wait_monitoring.over_65_weeks_change IS 'Change in the number over 65 weeks';
COMMENT ON COLUMN ptl.wait_monitoring.over_78_weeks_change IS 'Change in the number over 78 weeks';

-- The between-provider measures week by week (the last census of each
-- week), with the change since the previous week that had a snapshot: is
-- the ICS evening out its waits?
CREATE VIEW ptl.wait_variation_trend AS
WITH weekly AS (
    SELECT v.*, (date_trunc('week', v.census_date) + interval '6 days')::date AS week_ending,
           dense_rank() OVER (PARTITION BY date_trunc('week', v.census_date) ORDER BY v.census_date DESC) AS latest
    FROM ptl.wait_variation() v)
SELECT w.week_ending, w.census_date, w.treatment_function, w.providers, w.list_size,
       w.range_median, w.cv_median, w.gap_p92, w.between_share, w.gini_mean,
       (w.week_ending - lag(w.week_ending) OVER t) / 7 AS weeks_since_previous,
       w.range_median - lag(w.range_median) OVER t AS range_median_change,
       w.cv_median - lag(w.cv_median) OVER t AS cv_median_change,
       w.gap_p92 - lag(w.gap_p92) OVER t AS gap_p92_change,
       w.between_share - lag(w.between_share) OVER t AS between_share_change
FROM weekly w
WHERE w.latest = 1
WINDOW t AS (PARTITION BY w.treatment_function ORDER BY w.week_ending);
COMMENT ON VIEW ptl.wait_variation_trend IS
    'Between-provider variation per treatment function week by week (last census of each week ending Sunday), with the change since the previous week with a snapshot';
COMMENT ON COLUMN ptl.wait_variation_trend.week_ending IS 'Sunday ending the week';
COMMENT ON COLUMN ptl.wait_variation_trend.census_date IS 'The last census in that week';
COMMENT ON COLUMN ptl.wait_variation_trend.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.wait_variation_trend.providers IS 'Providers with patients waiting';
COMMENT ON COLUMN ptl.wait_variation_trend.list_size IS 'Patients waiting (known clock start) at those providers';
COMMENT ON COLUMN ptl.wait_variation_trend.range_median IS 'Highest less lowest provider median (weeks)';
COMMENT ON COLUMN ptl.wait_variation_trend.cv_median IS 'Coefficient of variation of provider medians';
COMMENT ON COLUMN ptl.wait_variation_trend.gap_p92 IS 'Highest less lowest provider 92nd percentile (weeks)';
COMMENT ON COLUMN ptl.wait_variation_trend.between_share IS 'Share of the variance of waits between providers (eta squared)';
COMMENT ON COLUMN ptl.wait_variation_trend.gini_mean IS 'Gini coefficient of provider mean waits';
COMMENT ON COLUMN ptl.wait_variation_trend.weeks_since_previous IS 'Weeks back to the previous row';
COMMENT ON COLUMN ptl.wait_variation_trend.range_median_change IS 'Change in the range of medians';
COMMENT ON COLUMN ptl.wait_variation_trend.cv_median_change IS 'Change in the CV of medians';
COMMENT ON COLUMN ptl.wait_variation_trend.gap_p92_change IS 'Change in the 92nd percentile gap';
COMMENT ON COLUMN ptl.wait_variation_trend.between_share_change IS 'Change in the between-provider share';

-- History for monitoring where none was kept: snapshots rebuilt from the
-- events for past census dates (every step_days days from from_date to
-- to_date) that have none.  The clock is the bulk engine's as at each date
-- (ptl.rtt_periods_at), on the events known now, so a late-keyed event
-- counts from its own date rather than from when it was keyed: a rebuilt
-- week can differ from what the providers reported then.  Clinical
-- priority, target date and list position are not rebuilt (NULL): they
-- depend on reviews and orders of the day.  Returns the rows written.
CREATE FUNCTION ptl.backfill_census_snapshots(from_date date, to_date date, step_days int DEFAULT 7) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    d date;
    n bigint;
    total bigint := 0;
BEGIN
    IF from_date IS NULL OR to_date IS NULL OR step_days IS NULL OR step_days < 1 OR to_date < from_date THEN
        RAISE EXCEPTION 'invalid backfill range: % to % every % days', from_date, to_date, step_days
            USING ERRCODE = 'invalid_parameter_value', HINT = 'from_date <= to_date, and a step of one day or more.';
    END IF;
    FOR d IN SELECT g::date FROM generate_series(from_date, to_date, make_interval(days => step_days)) g LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM ptl.census_snapshot s WHERE s.census_date = d);
        PERFORM ptl.census_snapshot_partition(d);
        INSERT INTO ptl.census_snapshot (census_date, pathway_id, period_no, provider_org, site_code,
                                         treatment_function, rtt_line, commissioner_code, referral_priority,
                                         clock_start, days_waited, week_band, has_dta)
        SELECT d, r.pathway_id, r.period_no, p.provider_org, p.site_code, p.treatment_function, tf.rtt_line,
               p.commissioner_code, p.referral_priority, r.clock_start, r.days_waited, r.week_band, r.has_dta
        FROM ptl.rtt_periods_at(d) r
        JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
        JOIN ptl.treatment_function_in_use tf ON tf.tfc = p.treatment_function
        WHERE r.outcome = 'incomplete' AND r.responsible;
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total + n;
    END LOOP;
    RETURN total;
END $$;
COMMENT ON FUNCTION ptl.backfill_census_snapshots(date, date, int) IS
    'Rebuilds census snapshots from the events for past dates that have none (every step_days from from_date to to_date), for trends where no history was kept; priority, target date and list position are left NULL; returns the rows written';
-- ---------------------------------------------------------------------------
-- aid/mutual_aid: providers ask for help and offer capacity; ptl suggests
-- which long waiters to move where (clinical-theatre.md section 6), and
-- records a move as an inter-provider transfer whose clock continues.
-- ---------------------------------------------------------------------------

-- Great-circle distance in miles (clinical-theatre.md 6.3, R = 3958.8).
CREATE FUNCTION ptl.haversine_miles(lat1 float8, lon1 float8, lat2 float8, lon2 float8) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
-- (clamped at 1 so rounding near antipodal points cannot push asin out of range)
SELECT 2 * 3958.8 * asin(least(1, sqrt(sin(radians(lat2 - lat1) / 2) ^ 2
                                       + cos(radians(lat1)) * cos(radians(lat2)) * sin(radians(lon2 - lon1) / 2) ^ 2)))
$$;
COMMENT ON FUNCTION ptl.haversine_miles(float8, float8, float8, float8) IS
    'Great-circle distance in miles between two points in degrees (haversine, earth radius 3958.8 miles)';

-- The outward code of a postcode: what comes before the space, or all but
-- the last three characters when there is none ("CM11AA" -> CM1).
CREATE FUNCTION ptl.postcode_district_of(postcode text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT CASE WHEN position(' ' IN t) > 0 THEN split_part(t, ' ', 1)
            WHEN length(t) BETWEEN 5 AND 7 THEN left(t, length(t) - 3) END
FROM (SELECT upper(btrim(postcode)) AS t) x
$$;
COMMENT ON FUNCTION ptl.postcode_district_of(text) IS
    'Postcode district (outward code) of a postcode, e.g. CM1 for "CM1 1AA" or "cm11aa"; NULL when it cannot tell';

-- Where each site is: its own coordinates, else its postcode district's.
CREATE VIEW ptl.site_location AS
SELECT s.site_code, s.org_code,
       coalesce(s.latitude, d.latitude) AS latitude,
       coalesce(s.longitude, d.longitude) AS longitude
FROM ptl.site s
LEFT JOIN ptl.postcode_district d ON d.district = ptl.postcode_district_of(s.postcode);
COMMENT ON VIEW ptl.site_location IS 'Where each site is: its own coordinates, else the centre of its postcode district (NULL when neither is known)';
COMMENT ON COLUMN ptl.site_location.site_code IS 'Site';
COMMENT ON COLUMN ptl.site_location.org_code IS 'Organisation that runs it';
COMMENT ON COLUMN ptl.site_location.latitude IS 'Latitude in degrees';
COMMENT ON COLUMN ptl.site_location.longitude IS 'Longitude in degrees';

-- ---------------------------------------------------------------------------
-- The suggestion algorithm on inputs the caller gives (clinical-theatre.md
-- 6.1-6.5).  ptl.mutual_aid_suggestions builds the inputs from the PTL.
-- ---------------------------------------------------------------------------

CREATE TYPE ptl.aid_patient AS (
    patient_key         bigint,
    origin              text,
    specialty           text,
    procedure_code      text,
    clock_start         date,
    priority            ptl.clinical_priority,
    tci_date            date,
    age                 int,
    tertiary_referral   boolean,
    opted_in            boolean,
    radius_miles        float8,
    latitude            float8,
    longitude           float8,
    required_capability text,
    clinician_veto      boolean,
    suspended           boolean,
    expected_date       date
);
COMMENT ON TYPE ptl.aid_patient IS
    'A patient offered to ptl.mutual_aid_plan: an incomplete admitted pathway at its origin provider (clinical-theatre.md 6.1)';
COMMENT ON COLUMN ptl.aid_patient.patient_key IS 'The patient''s key (unique in one call; ptl uses the pathway record)';
COMMENT ON COLUMN ptl.aid_patient.origin IS 'Provider the patient waits at';
COMMENT ON COLUMN ptl.aid_patient.specialty IS 'Treatment function';
COMMENT ON COLUMN ptl.aid_patient.procedure_code IS 'Intended procedure (OPCS-4), matched against a slot''s accepted groups';
COMMENT ON COLUMN ptl.aid_patient.clock_start IS 'RTT clock start';
COMMENT ON COLUMN ptl.aid_patient.priority IS 'Clinical priority';
COMMENT ON COLUMN ptl.aid_patient.tci_date IS 'Admission date booked at the origin, if any';
COMMENT ON COLUMN ptl.aid_patient.age IS 'Age in years at the as-of date';
COMMENT ON COLUMN ptl.aid_patient.tertiary_referral IS 'Referred on by another hospital';
COMMENT ON COLUMN ptl.aid_patient.opted_in IS 'The patient agreed to be considered for a move';
COMMENT ON COLUMN ptl.aid_patient.radius_miles IS 'How far the patient will travel (50, 100; NULL: anywhere in England)';
COMMENT ON COLUMN ptl.aid_patient.latitude IS 'Where the patient travels from (home district, else the origin site)';
COMMENT ON COLUMN ptl.aid_patient.longitude IS 'Where the patient travels from';
COMMENT ON COLUMN ptl.aid_patient.required_capability IS 'daycase, inpatient or level2 (ordered)';
COMMENT ON COLUMN ptl.aid_patient.clinician_veto IS 'The origin''s clinical review says the patient must not move';
COMMENT ON COLUMN ptl.aid_patient.suspended IS 'Suspended from the list (or P5/P6)';
COMMENT ON COLUMN ptl.aid_patient.expected_date IS 'Expected treatment date at the origin, E_o (NULL: never, at the current rate)';

CREATE TYPE ptl.aid_slot AS (
    slot_id             bigint,
    provider            text,
    site_code           text,
    latitude            float8,
    longitude           float8,
    specialty           text,
    accepted_groups     text[],
    slot_date           date,
    capability          text
);
COMMENT ON TYPE ptl.aid_slot IS 'One patient-sized unit of offered capacity, offered to ptl.mutual_aid_plan (clinical-theatre.md 6.1)';
COMMENT ON COLUMN ptl.aid_slot.slot_id IS 'The slot''s key (unique in one call)';
COMMENT ON COLUMN ptl.aid_slot.provider IS 'Provider offering it';
COMMENT ON COLUMN ptl.aid_slot.site_code IS 'Site where it is';
COMMENT ON COLUMN ptl.aid_slot.latitude IS 'Latitude of the site';
COMMENT ON COLUMN ptl.aid_slot.longitude IS 'Longitude of the site';
COMMENT ON COLUMN ptl.aid_slot.specialty IS 'Treatment function';
COMMENT ON COLUMN ptl.aid_slot.accepted_groups IS 'Procedure groups it takes, as OPCS-4 code prefixes (e.g. W37, W40); NULL: any';
COMMENT ON COLUMN ptl.aid_slot.slot_date IS 'Date of the slot';
COMMENT ON COLUMN ptl.aid_slot.capability IS 'daycase, inpatient or level2: the most the site can look after';

CREATE FUNCTION ptl.capability_rank(capability text) RETURNS int
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT CASE capability WHEN 'daycase' THEN 1 WHEN 'inpatient' THEN 2 WHEN 'level2' THEN 3 END
$$;
COMMENT ON FUNCTION ptl.capability_rank(text) IS 'Order of care capabilities: daycase 1 < inpatient 2 < level2 3 (NULL for anything else)';

CREATE FUNCTION ptl.mutual_aid_match(patients bigint[], slots bigint[], wait_days int[], clock_starts date[],
                                     slot_dates date[], distances float8[], savings int[], optimal boolean)
RETURNS TABLE (patient bigint, slot bigint)
AS 'MODULE_PATHNAME', 'ptl_mutual_aid_match'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.mutual_aid_match(bigint[], bigint[], int[], date[], date[], float8[], int[], boolean) IS
    'Chooses patients for slots from feasible pairs given as parallel arrays: greedy by longest wait, or a maximum-weight matching on (wait days, days saved) lexicographically (src/aid/match.c)';

-- Eligibility (6.2) and feasibility (6.3) of every patient against every
-- slot: one row per ineligible patient (slot columns NULL), and one per
-- eligible patient and slot of its specialty at another provider (or one
-- with no slot when there is none) with the stage it reached: 0 procedure
-- group not accepted, 1 capability, 2 radius, 3 lead time, 4 gain, 5
-- feasible.  Slots of other specialties or of the patient's own provider
-- are left out: they fail the first test whatever else holds.  A distance
-- that cannot be computed (no coordinates) fails a radius, never a
-- national search.
CREATE FUNCTION ptl.mutual_aid_pairs(patients ptl.aid_patient[], slots ptl.aid_slot[], as_of date,
                                     min_wait_days int DEFAULT 280, tci_horizon_days int DEFAULT 56,
                                     lead_days int DEFAULT 14, min_gain_days int DEFAULT 28,
                                     categories ptl.clinical_priority[] DEFAULT '{P3,P4}')
RETURNS TABLE (patient_key bigint, origin text, wait_days int, clock_start date, ineligible text,
               slot_id bigint, destination text, site_code text, slot_date date, distance_miles float8,
               stage int, days_saved int)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM unnest(patients) p GROUP BY p.patient_key HAVING count(*) > 1 OR p.patient_key IS NULL)
       OR EXISTS (SELECT 1 FROM unnest(slots) s GROUP BY s.slot_id HAVING count(*) > 1 OR s.slot_id IS NULL) THEN
        RAISE EXCEPTION 'patient and slot keys must be present and unique in one call'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(patients) p
               WHERE p.required_capability IS NOT NULL AND ptl.capability_rank(p.required_capability) IS NULL)
       OR EXISTS (SELECT 1 FROM unnest(slots) s WHERE ptl.capability_rank(s.capability) IS NULL) THEN
        RAISE EXCEPTION 'capability must be daycase, inpatient or level2'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    WITH p AS MATERIALIZED (
        SELECT x.*, (as_of - x.clock_start)::int AS wait,
               CASE WHEN NOT coalesce(x.opted_in, false) THEN 'NOT_OPTED_IN'
                    WHEN coalesce(x.clinician_veto, false) THEN 'CLINICIAN_VETO'
                    WHEN coalesce(x.suspended, false) THEN 'SUSPENDED'
                    WHEN x.age IS NULL OR x.age < 18 THEN 'UNDER_18'
                    WHEN coalesce(x.tertiary_referral, false) THEN 'TERTIARY_REFERRAL'
                    WHEN x.priority IS NULL OR NOT x.priority OPERATOR(ptl.=) ANY (categories) THEN 'CATEGORY'
                    WHEN x.clock_start IS NULL OR as_of - x.clock_start < min_wait_days THEN 'WAIT_BELOW_MIN'
                    WHEN x.tci_date IS NOT NULL AND x.tci_date - as_of <= tci_horizon_days THEN 'TCI_WITHIN_8W'
               END AS why_not
        FROM unnest(patients) x),
    s AS MATERIALIZED (SELECT y.* FROM unnest(slots) y)
    SELECT p.patient_key, p.origin, p.wait, p.clock_start, p.why_not,
           NULL::bigint, NULL::text, NULL::text, NULL::date, NULL::float8, NULL::int, NULL::int
    FROM p WHERE p.why_not IS NOT NULL
    UNION ALL
    SELECT p.patient_key, p.origin, p.wait, p.clock_start, NULL, s.slot_id, s.provider, s.site_code, s.slot_date,
           d.miles,
           CASE WHEN s.slot_id IS NULL THEN NULL
                WHEN NOT (s.accepted_groups IS NULL
                             OR EXISTS (SELECT 1 FROM unnest(s.accepted_groups) g
                                        WHERE p.procedure_code LIKE g || '%')) THEN 0
                WHEN ptl.capability_rank(s.capability) < coalesce(ptl.capability_rank(p.required_capability), 1) THEN 1
                WHEN p.radius_miles IS NOT NULL AND (d.miles IS NULL OR d.miles > p.radius_miles + 1e-9) THEN 2
                WHEN s.slot_date < as_of + lead_days THEN 3
                WHEN p.expected_date IS NOT NULL AND p.expected_date - s.slot_date < min_gain_days THEN 4
                ELSE 5 END,
           CASE WHEN p.expected_date IS NOT NULL THEN p.expected_date - s.slot_date END
    FROM p LEFT JOIN s ON s.specialty = p.specialty AND s.provider IS DISTINCT FROM p.origin
    CROSS JOIN LATERAL (SELECT ptl.haversine_miles(p.latitude, p.longitude, s.latitude, s.longitude) AS miles) d
    WHERE p.why_not IS NULL;
END $$;
COMMENT ON FUNCTION ptl.mutual_aid_pairs(ptl.aid_patient[], ptl.aid_slot[], date, int, int, int, int, ptl.clinical_priority[]) IS
    'Eligibility (clinical-theatre.md 6.2) of each patient and feasibility (6.3) of each eligible patient with each slot: the failing eligibility test, or the stage a pair reached (5 = feasible) with its distance and days saved';

-- Every patient gets one row: a suggestion (reason SUGGESTED), or the first
-- eligibility test it fails, or, for an eligible patient left without a
-- slot, the furthest any slot it could not use got through the tests of
-- 6.3, in their order: NO_SLOT (no slot of its specialty and procedure
-- group at another provider), NO_CAPABILITY, OUT_OF_RADIUS, LEAD_TIME,
-- NO_GAIN (WE-45 reports p2 this way: NO_CAPABILITY, although q1 would
-- have done had p1 not taken it).  feasible_slots_taken counts the slots
-- that would have done but went to others; SLOT_TAKEN is the reason when
-- those were its only candidates.  Expected date NULL (no treatments at
-- the origin lately) counts as any slot saving time; its days_saved is
-- NULL and the optimal mode weighs it as a saving of ten years less the
-- slot's distance in time.
CREATE FUNCTION ptl.mutual_aid_plan(patients ptl.aid_patient[], slots ptl.aid_slot[], as_of date,
                                    mode text DEFAULT 'greedy', min_wait_days int DEFAULT 280,
                                    tci_horizon_days int DEFAULT 56, lead_days int DEFAULT 14,
                                    min_gain_days int DEFAULT 28,
                                    categories ptl.clinical_priority[] DEFAULT '{P3,P4}')
RETURNS TABLE (patient_key bigint, origin text, destination text, site_code text, slot_id bigint,
               slot_date date, distance_miles float8, days_saved int, wait_days int, plan_mode text, reason text,
               feasible_slots_taken int)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    IF mode NOT IN ('greedy', 'optimal') THEN
        RAISE EXCEPTION 'unknown mutual aid mode "%"', mode
            USING ERRCODE = 'invalid_parameter_value', HINT = 'The modes are greedy (by longest wait) and optimal.';
    END IF;
    RETURN QUERY
    WITH pairs AS MATERIALIZED (
        SELECT * FROM ptl.mutual_aid_pairs(patients, slots, as_of, min_wait_days, tci_horizon_days, lead_days,
                                           min_gain_days, categories)),
    chosen AS MATERIALIZED (
        SELECT m.patient, m.slot
        FROM (SELECT array_agg(f.patient_key) AS pk, array_agg(f.slot_id) AS sk, array_agg(f.wait_days) AS w,
                     array_agg(f.clock_start) AS cs, array_agg(f.slot_date) AS sd,
                     array_agg(coalesce(f.distance_miles, 'Infinity')) AS dist,
                     array_agg(coalesce(f.days_saved, greatest(0, 3650 - (f.slot_date - as_of)))) AS sv
              FROM pairs f WHERE f.stage = 5) a,
             ptl.mutual_aid_match(a.pk, a.sk, a.w, a.cs, a.sd, a.dist, a.sv, mode = 'optimal') m),
    patient AS (
        SELECT x.patient_key, min(x.origin) AS origin, min(x.wait_days) AS wait, min(x.clock_start) AS clock_start,
               min(x.ineligible) AS ineligible,
               max(x.stage) FILTER (WHERE x.stage < 5) AS best_failing,
               count(*) FILTER (WHERE x.stage = 5)::int AS feasible
        FROM pairs x GROUP BY x.patient_key)
    SELECT p.patient_key, p.origin, f.destination, f.site_code, f.slot_id, f.slot_date, f.distance_miles,
           f.days_saved, p.wait, mutual_aid_plan.mode,
           CASE WHEN c.patient IS NOT NULL THEN 'SUGGESTED'
                WHEN p.ineligible IS NOT NULL THEN p.ineligible
                WHEN coalesce(p.best_failing, 0) = 0 AND p.feasible > 0 THEN 'SLOT_TAKEN'
                ELSE (ARRAY['NO_SLOT', 'NO_CAPABILITY', 'OUT_OF_RADIUS', 'LEAD_TIME', 'NO_GAIN'])
                     [coalesce(p.best_failing, 0) + 1] END,
           CASE WHEN p.ineligible IS NULL AND c.patient IS NULL THEN p.feasible END
    FROM patient p
    LEFT JOIN chosen c ON c.patient = p.patient_key
    LEFT JOIN pairs f ON f.patient_key = c.patient AND f.slot_id = c.slot
    ORDER BY c.patient IS NULL, p.wait DESC NULLS LAST, p.clock_start, p.patient_key;
END $$;
COMMENT ON FUNCTION ptl.mutual_aid_plan(ptl.aid_patient[], ptl.aid_slot[], date, text, int, int, int, int, ptl.clinical_priority[]) IS
    'The mutual aid suggestion algorithm (clinical-theatre.md section 6) on the patients and slots given: one row per patient, a suggested slot with distance and days saved, or the reason there is none; mode greedy (longest wait first, earliest slot) or optimal (most wait-days served, then most days saved)';

-- ---------------------------------------------------------------------------
-- Requests, offers and their slots, patients' wishes, and moves.
-- ---------------------------------------------------------------------------

-- What a patient said about moving, and the origin's clinical review.
CREATE TABLE ptl.transfer_preference (
    pathway_id          bigint PRIMARY KEY REFERENCES ptl.pathway (pathway_id),
    opted_in            boolean NOT NULL,
    radius_miles        float8 CHECK (radius_miles > 0),
    recorded_on         date NOT NULL DEFAULT current_date,
    clinician_veto      boolean NOT NULL DEFAULT false,
    veto_reason         text,
    required_capability text CHECK (required_capability IN ('daycase', 'inpatient', 'level2')),
    tertiary_referral   boolean,
    recorded_by         text NOT NULL DEFAULT current_user,
    CHECK (NOT clinician_veto OR veto_reason IS NOT NULL)
);
COMMENT ON TABLE ptl.transfer_preference IS
    'Whether a patient will move provider for treatment and how far (PIDMAS), with the origin''s clinical and social suitability review';
COMMENT ON COLUMN ptl.transfer_preference.pathway_id IS 'The pathway record at the origin';
COMMENT ON COLUMN ptl.transfer_preference.opted_in IS 'The patient asked (or agreed) to be considered for a move';
COMMENT ON COLUMN ptl.transfer_preference.radius_miles IS 'How far the patient will travel: 50 or 100 miles, or NULL for anywhere in England';
COMMENT ON COLUMN ptl.transfer_preference.recorded_on IS 'Date the patient said so';
COMMENT ON COLUMN ptl.transfer_preference.clinician_veto IS 'The clinical review found the patient unsuitable to move';
COMMENT ON COLUMN ptl.transfer_preference.veto_reason IS 'Why (required with a veto)';
COMMENT ON COLUMN ptl.transfer_preference.required_capability IS 'Override of the care the patient needs (daycase, inpatient, level2); NULL: from the waiting-list entry';
COMMENT ON COLUMN ptl.transfer_preference.tertiary_referral IS 'Override of whether this is a tertiary referral; NULL: from the pathway''s first event';
COMMENT ON COLUMN ptl.transfer_preference.recorded_by IS 'Who recorded it';

-- A tertiary referral: the record's first event is a transfer in from
-- another provider (Cambridge's PIDMAS reading: referred from another
-- hospital), unless the preference recorded says otherwise.
CREATE FUNCTION ptl.tertiary_referral(pathway_id bigint) RETURNS boolean
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
SELECT coalesce((SELECT tp.tertiary_referral FROM ptl.transfer_preference tp
                 WHERE tp.pathway_id = tertiary_referral.pathway_id),
                (SELECT e.kind = 'transfer_in' FROM ptl.pathway_event e
                 WHERE e.pathway_id = tertiary_referral.pathway_id
                 ORDER BY e.event_date, e.event_id LIMIT 1),
                false)
$$;
COMMENT ON FUNCTION ptl.tertiary_referral(bigint) IS
    'Whether a pathway record is a tertiary referral: ptl.transfer_preference.tertiary_referral when recorded, else whether its first event is a transfer in from another provider';

-- States: a request or offer is open, then agreed (a partner is found),
-- then completed; or it ends withdrawn, declined or expired.
CREATE FUNCTION ptl.mutual_aid_state_allowed(old_state text, new_state text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT old_state = new_state
    OR (old_state, new_state) IN (('open', 'agreed'), ('agreed', 'completed'), ('open', 'withdrawn'),
                                  ('agreed', 'withdrawn'), ('open', 'declined'), ('open', 'expired'),
                                  ('agreed', 'open'))
$$;
COMMENT ON FUNCTION ptl.mutual_aid_state_allowed(text, text) IS
    'Whether a mutual aid request or offer may go from one state to another: open -> agreed -> completed; open or agreed -> withdrawn; open -> declined or expired; agreed -> open (the agreement fell through)';

CREATE TABLE ptl.mutual_aid_request (
    request_id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    requesting_org      text NOT NULL REFERENCES ptl.organisation (org_code),
    treatment_function  text NOT NULL REFERENCES ptl.treatment_function (tfc),
    procedure_groups    text[],
    patients            int NOT NULL CHECK (patients > 0),
    min_wait_weeks      int CHECK (min_wait_weeks >= 0),
    needed_from         date NOT NULL,
    needed_until        date NOT NULL,
    cohort              text,
    state               text NOT NULL DEFAULT 'open'
                        CHECK (state IN ('open', 'agreed', 'completed', 'withdrawn', 'declined', 'expired')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    created_by          text NOT NULL DEFAULT current_user,
    CHECK (needed_until >= needed_from)
);
COMMENT ON TABLE ptl.mutual_aid_request IS 'A provider asks the ICS for help with a cohort of its waiting list';
COMMENT ON COLUMN ptl.mutual_aid_request.request_id IS 'Request number';
COMMENT ON COLUMN ptl.mutual_aid_request.requesting_org IS 'Provider asking for help';
COMMENT ON COLUMN ptl.mutual_aid_request.treatment_function IS 'Treatment function of the cohort';
COMMENT ON COLUMN ptl.mutual_aid_request.procedure_groups IS 'Procedures of the cohort as OPCS-4 prefixes (NULL: any)';
COMMENT ON COLUMN ptl.mutual_aid_request.patients IS 'How many patients it wants treated elsewhere';
COMMENT ON COLUMN ptl.mutual_aid_request.min_wait_weeks IS 'Patients waiting at least this long (NULL: any)';
COMMENT ON COLUMN ptl.mutual_aid_request.needed_from IS 'First date treatment elsewhere would help';
COMMENT ON COLUMN ptl.mutual_aid_request.needed_until IS 'Last date';
COMMENT ON COLUMN ptl.mutual_aid_request.cohort IS 'The cohort in words';
COMMENT ON COLUMN ptl.mutual_aid_request.state IS 'open, agreed, completed, withdrawn, declined or expired';
COMMENT ON COLUMN ptl.mutual_aid_request.created_at IS 'When it was raised';
COMMENT ON COLUMN ptl.mutual_aid_request.created_by IS 'Who raised it';

CREATE TABLE ptl.mutual_aid_offer (
    offer_id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    offering_org        text NOT NULL REFERENCES ptl.organisation (org_code),
    site_code           text NOT NULL REFERENCES ptl.site (site_code),
    treatment_function  text NOT NULL REFERENCES ptl.treatment_function (tfc),
    accepted_groups     text[],
    capability          text NOT NULL CHECK (capability IN ('daycase', 'inpatient', 'level2')),
    available_from      date NOT NULL,
    available_until     date NOT NULL,
    sessions            int CHECK (sessions > 0),
    conditions          text,
    request_id          bigint REFERENCES ptl.mutual_aid_request (request_id),
    state               text NOT NULL DEFAULT 'open'
                        CHECK (state IN ('open', 'agreed', 'completed', 'withdrawn', 'declined', 'expired')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    created_by          text NOT NULL DEFAULT current_user,
    CHECK (available_until >= available_from)
);
COMMENT ON TABLE ptl.mutual_aid_offer IS 'A provider offers capacity to the ICS: a specialty at a site, for procedures it accepts, over dates; its slots are in ptl.mutual_aid_slot';
COMMENT ON COLUMN ptl.mutual_aid_offer.offer_id IS 'Offer number';
COMMENT ON COLUMN ptl.mutual_aid_offer.offering_org IS 'Provider offering';
COMMENT ON COLUMN ptl.mutual_aid_offer.site_code IS 'Site where patients would be treated';
COMMENT ON COLUMN ptl.mutual_aid_offer.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.mutual_aid_offer.accepted_groups IS 'Procedures accepted as OPCS-4 prefixes, e.g. {W37,W40} (NULL: any)';
COMMENT ON COLUMN ptl.mutual_aid_offer.capability IS 'Most the site can look after: daycase, inpatient or level2';
COMMENT ON COLUMN ptl.mutual_aid_offer.available_from IS 'First date';
COMMENT ON COLUMN ptl.mutual_aid_offer.available_until IS 'Last date';
COMMENT ON COLUMN ptl.mutual_aid_offer.sessions IS 'Theatre sessions offered, when offered by session';
COMMENT ON COLUMN ptl.mutual_aid_offer.conditions IS 'Conditions in words (e.g. ASA 1-2 only, own pre-assessment)';
COMMENT ON COLUMN ptl.mutual_aid_offer.request_id IS 'The request it answers, if any';
COMMENT ON COLUMN ptl.mutual_aid_offer.state IS 'open, agreed, completed, withdrawn, declined or expired';
COMMENT ON COLUMN ptl.mutual_aid_offer.created_at IS 'When it was made';
COMMENT ON COLUMN ptl.mutual_aid_offer.created_by IS 'Who made it';

CREATE TABLE ptl.mutual_aid_slot (
    slot_id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    offer_id            bigint NOT NULL REFERENCES ptl.mutual_aid_offer (offer_id),
    slot_date           date NOT NULL
);
CREATE INDEX mutual_aid_slot_offer_idx ON ptl.mutual_aid_slot (offer_id, slot_date);
COMMENT ON TABLE ptl.mutual_aid_slot IS 'One patient-sized unit of an offer on a date';
COMMENT ON COLUMN ptl.mutual_aid_slot.slot_id IS 'Slot number';
COMMENT ON COLUMN ptl.mutual_aid_slot.offer_id IS 'The offer';
COMMENT ON COLUMN ptl.mutual_aid_slot.slot_date IS 'Date a patient would be treated';

CREATE TABLE ptl.mutual_aid_transfer (
    transfer_id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pathway_id              bigint NOT NULL REFERENCES ptl.pathway (pathway_id),
    slot_id                 bigint NOT NULL REFERENCES ptl.mutual_aid_slot (slot_id),
    destination_pathway_id  bigint NOT NULL REFERENCES ptl.pathway (pathway_id),
    transfer_date           date NOT NULL,
    clock_start             date,
    wait_days               int,
    days_saved              int,
    created_at              timestamptz NOT NULL DEFAULT now(),
    created_by              text NOT NULL DEFAULT current_user,
    UNIQUE (slot_id),
    UNIQUE (pathway_id)
);
COMMENT ON TABLE ptl.mutual_aid_transfer IS
    'Patients moved under mutual aid: the origin record, the slot, the record created at the destination, and the clock that continued';
COMMENT ON COLUMN ptl.mutual_aid_transfer.transfer_id IS 'Transfer number';
COMMENT ON COLUMN ptl.mutual_aid_transfer.pathway_id IS 'Pathway record at the origin (now transferred out)';
COMMENT ON COLUMN ptl.mutual_aid_transfer.slot_id IS 'Slot the patient took';
COMMENT ON COLUMN ptl.mutual_aid_transfer.destination_pathway_id IS 'Pathway record created at the destination (same PPID and issuer)';
COMMENT ON COLUMN ptl.mutual_aid_transfer.transfer_date IS 'Date clinical responsibility moved';
COMMENT ON COLUMN ptl.mutual_aid_transfer.clock_start IS 'The RTT clock start, which the destination continues';
COMMENT ON COLUMN ptl.mutual_aid_transfer.wait_days IS 'Days waited at the transfer';
COMMENT ON COLUMN ptl.mutual_aid_transfer.days_saved IS 'Expected days saved (origin''s expected date less the slot date) when suggested';
COMMENT ON COLUMN ptl.mutual_aid_transfer.created_at IS 'When recorded';
COMMENT ON COLUMN ptl.mutual_aid_transfer.created_by IS 'Who recorded it';

-- Every change of state, kept for audit.
CREATE TABLE ptl.mutual_aid_state_change (
    change_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('request', 'offer')),
    id              bigint NOT NULL,
    old_state       text NOT NULL,
    new_state       text NOT NULL,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    changed_by      text NOT NULL DEFAULT current_user
);
COMMENT ON TABLE ptl.mutual_aid_state_change IS 'Every change of state of a mutual aid request or offer: who, when, from and to';
COMMENT ON COLUMN ptl.mutual_aid_state_change.change_id IS 'Change number';
COMMENT ON COLUMN ptl.mutual_aid_state_change.kind IS 'request or offer';
COMMENT ON COLUMN ptl.mutual_aid_state_change.id IS 'Request or offer number';
COMMENT ON COLUMN ptl.mutual_aid_state_change.old_state IS 'State before';
COMMENT ON COLUMN ptl.mutual_aid_state_change.new_state IS 'State after';
COMMENT ON COLUMN ptl.mutual_aid_state_change.changed_at IS 'When';
COMMENT ON COLUMN ptl.mutual_aid_state_change.changed_by IS 'Database user';

-- Only changes are guarded: a row may be recorded in any state (a request
-- agreed outside ptl, or rows a restore brings back), and its creation is
-- in created_at / created_by.
CREATE FUNCTION ptl.mutual_aid_state_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    kind text := CASE TG_TABLE_NAME WHEN 'mutual_aid_request' THEN 'request' ELSE 'offer' END;
    id bigint := CASE TG_TABLE_NAME WHEN 'mutual_aid_request' THEN (to_jsonb(NEW) ->> 'request_id')::bigint
                                    ELSE (to_jsonb(NEW) ->> 'offer_id')::bigint END;
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state THEN
        IF NOT ptl.mutual_aid_state_allowed(OLD.state, NEW.state) THEN
            RAISE EXCEPTION 'mutual aid % % cannot go from % to %', kind, id, OLD.state, NEW.state
                USING ERRCODE = 'check_violation',
                      HINT = 'open -> agreed -> completed; open or agreed -> withdrawn; open -> declined or expired; agreed -> open.';
        END IF;
        INSERT INTO ptl.mutual_aid_state_change (kind, id, old_state, new_state) VALUES (kind, id, OLD.state, NEW.state);
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION ptl.mutual_aid_state_guard() IS
    'Trigger: refuses a state change mutual_aid_state_allowed does not allow and records every change in ptl.mutual_aid_state_change';
CREATE TRIGGER mutual_aid_request_state BEFORE UPDATE OF state ON ptl.mutual_aid_request
    FOR EACH ROW EXECUTE FUNCTION ptl.mutual_aid_state_guard();
CREATE TRIGGER mutual_aid_offer_state BEFORE UPDATE OF state ON ptl.mutual_aid_offer
    FOR EACH ROW EXECUTE FUNCTION ptl.mutual_aid_state_guard();

-- Spreads `slots` slots over the weekdays of an offer's dates, evenly, the
-- first on the first weekday; returns how many it added.
CREATE FUNCTION ptl.add_mutual_aid_slots(offer_id bigint, slots int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    o ptl.mutual_aid_offer;
    days date[];
    added int;
BEGIN
    SELECT * INTO o FROM ptl.mutual_aid_offer x WHERE x.offer_id = add_mutual_aid_slots.offer_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'mutual aid offer % does not exist', offer_id USING ERRCODE = 'no_data_found';
    END IF;
    IF slots IS NULL OR slots < 1 THEN
        RAISE EXCEPTION 'invalid number of slots: %', slots
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Add one slot or more.';
    END IF;
    SELECT array_agg(d::date ORDER BY d) INTO days
    FROM generate_series(o.available_from, o.available_until, interval '1 day') d
    WHERE extract(isodow FROM d) < 6;
    IF days IS NULL THEN
        RAISE EXCEPTION 'mutual aid offer % has no weekday between % and %', offer_id, o.available_from, o.available_until
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO ptl.mutual_aid_slot (offer_id, slot_date)
    SELECT o.offer_id, days[1 + ((k - 1) * cardinality(days)) / slots]
    FROM generate_series(1, slots) k;
    GET DIAGNOSTICS added = ROW_COUNT;
    RETURN added;
END $$;
COMMENT ON FUNCTION ptl.add_mutual_aid_slots(bigint, int) IS
    'Adds `slots` patient slots to an offer, spread evenly over the weekdays of its dates; returns how many';

-- Slots still free, of offers open or agreed.
CREATE VIEW ptl.mutual_aid_free_slot AS
SELECT s.slot_id, o.offer_id, o.offering_org, o.site_code, l.latitude, l.longitude, o.treatment_function,
       o.accepted_groups, s.slot_date, o.capability
FROM ptl.mutual_aid_slot s
JOIN ptl.mutual_aid_offer o ON o.offer_id = s.offer_id AND o.state IN ('open', 'agreed')
JOIN ptl.site_location l ON l.site_code = o.site_code
WHERE NOT EXISTS (SELECT 1 FROM ptl.mutual_aid_transfer t WHERE t.slot_id = s.slot_id);
COMMENT ON VIEW ptl.mutual_aid_free_slot IS 'Slots of open or agreed offers that no patient has taken';
COMMENT ON COLUMN ptl.mutual_aid_free_slot.slot_id IS 'Slot';
COMMENT ON COLUMN ptl.mutual_aid_free_slot.offer_id IS 'Offer';
COMMENT ON COLUMN ptl.mutual_aid_free_slot.offering_org IS 'Provider offering';
COMMENT ON COLUMN ptl.mutual_aid_free_slot.site_code IS 'Site';
COMMENT ON COLUMN ptl.mutual_aid_free_slot.latitude IS 'Site latitude';
COMMENT ON COLUMN ptl.mutual_aid_free_slot.longitude IS 'Site longitude';
COMMENT ON COLUMN ptl.mutual_aid_free_slot.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.mutual_aid_free_slot.accepted_groups IS 'Procedures accepted (OPCS-4 prefixes; NULL: any)';
COMMENT ON COLUMN ptl.mutual_aid_free_slot.slot_date IS 'Date';
COMMENT ON COLUMN ptl.mutual_aid_free_slot.capability IS 'daycase, inpatient or level2';

-- The admitted PTL as mutual aid sees it.  E_o (6.1): rank is the list
-- position on the provider's admitted list of the treatment function, and
-- throughput the admitted clock stops of that list per week over the last
-- 12 weeks; E_o = census + 7 ceil(rank / throughput), NULL when nothing was
-- admitted lately.  ptl ranks by treatment function, not procedure group,
-- because that is the list a provider works through.  Capability comes from
-- intended management (day case, else inpatient) unless the preference or
-- the procedure's requirements (equipment 'level2') say more.
CREATE VIEW ptl.mutual_aid_candidate AS
WITH throughput AS (
    SELECT p.provider_org, p.treatment_function, count(*) / 12.0 AS per_week
    FROM ptl.rtt_period r
    JOIN ptl.rtt_pathway rp ON rp.pathway_id = r.pathway_id
    JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
    WHERE r.outcome = 'admitted' AND r.clock_stop > rp.census - 84 AND r.clock_stop <= rp.census
    GROUP BY p.provider_org, p.treatment_function)
SELECT l.pathway_id, l.provider_org, l.site_code, l.treatment_function, l.census, l.clock_start, l.days_waited,
       l.clinical_priority, l.procedure_code, coalesce(l.tci_date, l.next_booked_date) AS tci_date,
       extract(year FROM age(l.census, pa.date_of_birth))::int AS age,
       ptl.tertiary_referral(l.pathway_id) AS tertiary_referral,
       coalesce(tp.opted_in, false) AS opted_in, tp.radius_miles,
       coalesce(home.latitude, origin.latitude) AS latitude,
       coalesce(home.longitude, origin.longitude) AS longitude,
       coalesce(tp.required_capability,
                CASE WHEN EXISTS (SELECT 1 FROM ptl.procedure_requirement q
                                  WHERE l.procedure_code LIKE q.procedure_code || '%' AND q.equipment = 'level2')
                     THEN 'level2'
                     WHEN w.intended_management = '2' THEN 'daycase' ELSE 'inpatient' END) AS required_capability,
       coalesce(tp.clinician_veto, false) AS clinician_veto,
       l.order_group = 'set_aside' AS suspended,
       l.list_position,
       CASE WHEN t.per_week > 0 AND l.list_position IS NOT NULL
            THEN l.census + 7 * ceil(l.list_position / t.per_week)::int END AS expected_date
FROM ptl.ptl l
JOIN ptl.patient pa ON pa.patient_id = l.patient_id
JOIN ptl.waiting_list_entry w ON w.entry_id = l.waiting_list_entry_id
LEFT JOIN ptl.transfer_preference tp ON tp.pathway_id = l.pathway_id
LEFT JOIN ptl.postcode_district home ON home.district = ptl.postcode_district_of(pa.postcode)
LEFT JOIN ptl.site_location origin ON origin.site_code = l.site_code
LEFT JOIN throughput t ON t.provider_org = l.provider_org AND t.treatment_function = l.treatment_function;
COMMENT ON VIEW ptl.mutual_aid_candidate IS
    'Patients on the admitted PTL with what mutual aid needs to know: wishes, travel origin, capability needed, and the expected treatment date at the origin (E_o, clinical-theatre.md 6.1)';
COMMENT ON COLUMN ptl.mutual_aid_candidate.pathway_id IS 'Pathway record at the origin';
COMMENT ON COLUMN ptl.mutual_aid_candidate.provider_org IS 'Origin provider';
COMMENT ON COLUMN ptl.mutual_aid_candidate.site_code IS 'Origin site';
COMMENT ON COLUMN ptl.mutual_aid_candidate.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.mutual_aid_candidate.census IS 'Census of the PTL';
COMMENT ON COLUMN ptl.mutual_aid_candidate.clock_start IS 'RTT clock start';
COMMENT ON COLUMN ptl.mutual_aid_candidate.days_waited IS 'Days waited at the census';
COMMENT ON COLUMN ptl.mutual_aid_candidate.clinical_priority IS 'Clinical priority';
COMMENT ON COLUMN ptl.mutual_aid_candidate.procedure_code IS 'Intended procedure';
COMMENT ON COLUMN ptl.mutual_aid_candidate.tci_date IS 'Admission date booked (the entry''s TCI, else the next booked admission)';
COMMENT ON COLUMN ptl.mutual_aid_candidate.age IS 'Age in years at the census';
COMMENT ON COLUMN ptl.mutual_aid_candidate.tertiary_referral IS 'Referred on by another hospital';
COMMENT ON COLUMN ptl.mutual_aid_candidate.opted_in IS 'The patient will consider moving';
COMMENT ON COLUMN ptl.mutual_aid_candidate.radius_miles IS 'How far (NULL: anywhere)';
COMMENT ON COLUMN ptl.mutual_aid_candidate.latitude IS 'Travel origin: home postcode district, else the origin site';
COMMENT ON COLUMN ptl.mutual_aid_candidate.longitude IS 'Travel origin longitude';
COMMENT ON COLUMN ptl.mutual_aid_candidate.required_capability IS 'daycase, inpatient or level2';
COMMENT ON COLUMN ptl.mutual_aid_candidate.clinician_veto IS 'Clinical review says do not move';
COMMENT ON COLUMN ptl.mutual_aid_candidate.suspended IS 'Set aside on the list (P5, P6 or suspended)';
COMMENT ON COLUMN ptl.mutual_aid_candidate.list_position IS 'Place on the origin''s admitted list';
COMMENT ON COLUMN ptl.mutual_aid_candidate.expected_date IS 'Expected treatment date at the origin at its recent admission rate (NULL: none lately)';

CREATE FUNCTION ptl.mutual_aid_suggestions(mode text DEFAULT 'greedy', treatment_function text DEFAULT NULL,
                                           min_wait_days int DEFAULT 280, tci_horizon_days int DEFAULT 56,
                                           lead_days int DEFAULT 14, min_gain_days int DEFAULT 28,
                                           categories ptl.clinical_priority[] DEFAULT '{P3,P4}')
RETURNS TABLE (pathway_id bigint, origin text, destination text, site_code text, slot_id bigint,
               slot_date date, distance_miles float8, days_saved int, wait_days int, plan_mode text,
               reason text, feasible_slots_taken int)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT m.*
FROM (SELECT array_agg(ROW(c.pathway_id, c.provider_org, c.treatment_function, c.procedure_code, c.clock_start,
                           c.clinical_priority, c.tci_date, c.age, c.tertiary_referral, c.opted_in, c.radius_miles,
                           c.latitude, c.longitude, c.required_capability, c.clinician_veto, c.suspended,
                           c.expected_date)::ptl.aid_patient) AS patients,
             max(c.census) AS census
      FROM ptl.mutual_aid_candidate c
      WHERE mutual_aid_suggestions.treatment_function IS NULL
         OR c.treatment_function = mutual_aid_suggestions.treatment_function) p,
     (SELECT coalesce(array_agg(ROW(f.slot_id, f.offering_org, f.site_code, f.latitude, f.longitude,
                                    f.treatment_function, f.accepted_groups, f.slot_date, f.capability)::ptl.aid_slot),
                      '{}') AS slots
      FROM ptl.mutual_aid_free_slot f
      WHERE mutual_aid_suggestions.treatment_function IS NULL
         OR f.treatment_function = mutual_aid_suggestions.treatment_function) s,
     ptl.mutual_aid_plan(p.patients, s.slots, p.census, mutual_aid_suggestions.mode,
                         mutual_aid_suggestions.min_wait_days, mutual_aid_suggestions.tci_horizon_days,
                         mutual_aid_suggestions.lead_days, mutual_aid_suggestions.min_gain_days,
                         mutual_aid_suggestions.categories) m
$$;
COMMENT ON FUNCTION ptl.mutual_aid_suggestions(text, text, int, int, int, int, ptl.clinical_priority[]) IS
    'Mutual aid suggestions for the admitted PTL at the last refresh against the free slots of open and agreed offers: ptl.mutual_aid_plan on ptl.mutual_aid_candidate and ptl.mutual_aid_free_slot (one row per patient; suggestions first)';

-- The suggestions as a CSV file in a neutral layout, for a coordinator or
-- for DMAS, whose own fields are not published (clinical-theatre.md 4.2):
-- who (NHS number and the pathway's PPID and issuer), from where to where,
-- when, what for, how long they have waited and what the move saves.
CREATE FUNCTION ptl.mutual_aid_suggestions_csv(mode text DEFAULT 'greedy', treatment_function text DEFAULT NULL)
RETURNS SETOF text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT x.line FROM (
    SELECT 0 AS part, 0 AS wait_days, 0::bigint AS pathway_id,
           'nhs_number,ppid_issuer,ppid,origin,destination,site_code,slot_id,slot_date,treatment_function,'
           'procedure_code,clinical_priority,clock_start,wait_days,days_saved,distance_miles,mode' AS line
    UNION ALL
    SELECT 1, s.wait_days, s.pathway_id,
           concat_ws(',', ptl.csv_field(pa.nhs_number::text), ptl.csv_field(p.ppid_issuer), ptl.csv_field(p.ppid),
                     ptl.csv_field(s.origin), ptl.csv_field(s.destination), ptl.csv_field(s.site_code),
                     s.slot_id::text, s.slot_date::text, ptl.csv_field(p.treatment_function),
                     ptl.csv_field(w.procedure_code), coalesce(w.clinical_priority::text, ''),
                     (rp.census - s.wait_days)::text, s.wait_days::text, coalesce(s.days_saved::text, ''),
                     round(s.distance_miles::numeric, 1)::text, s.plan_mode)
    FROM ptl.mutual_aid_suggestions(mutual_aid_suggestions_csv.mode, mutual_aid_suggestions_csv.treatment_function) s
    JOIN ptl.pathway p ON p.pathway_id = s.pathway_id
    JOIN ptl.patient pa ON pa.patient_id = p.patient_id
    JOIN ptl.rtt_pathway rp ON rp.pathway_id = s.pathway_id
    LEFT JOIN LATERAL (SELECT e.procedure_code, e.clinical_priority FROM ptl.waiting_list_entry e
                       WHERE e.pathway_id = s.pathway_id AND e.removed_date IS NULL
                       ORDER BY e.decision_to_admit DESC, e.entry_id DESC LIMIT 1) w ON true
    WHERE s.reason = 'SUGGESTED') x
ORDER BY x.part, x.wait_days DESC, x.pathway_id
$$;
COMMENT ON FUNCTION ptl.mutual_aid_suggestions_csv(text, text) IS
    'The mutual aid suggestions as CSV lines (a header, then one line per suggestion, longest wait first) in a neutral layout for coordinators or DMAS (clinical-theatre.md 6.5)';

-- Moves a patient to a mutual aid slot as an inter-provider transfer: the
-- clock continues (rtt-rules.md 4.8; clinical-theatre.md 4.1).  At the
-- origin the record gets a transfer_out event (status 21) and the waiting
-- list entry is removed as transferred; at the destination ptl creates the
-- patient record, a pathway record with the same PPID and issuer (so
-- linkage joins them), a transfer_in event (status 20) carrying the
-- original clock start, and a waiting-list entry with the same procedure,
-- priority and decision to admit.  The rows go in under a batch of the
-- destination with source system 'ptl_mutual_aid'.  The next refresh
-- computes the destination's clock from the original start.
CREATE FUNCTION ptl.transfer_for_mutual_aid(pathway_id bigint, slot_id bigint,
                                            transfer_date date DEFAULT current_date,
                                            days_saved int DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    s record;
    p ptl.pathway;
    w ptl.waiting_list_entry;
    pa ptl.patient;
    start date;
    new_batch bigint;
    new_patient bigint;
    new_pathway bigint;
    new_transfer bigint;
BEGIN
    SELECT sl.slot_id, sl.slot_date, o.offer_id, o.offering_org, o.site_code, o.treatment_function, o.state
      INTO s
    FROM ptl.mutual_aid_slot sl JOIN ptl.mutual_aid_offer o ON o.offer_id = sl.offer_id
    WHERE sl.slot_id = transfer_for_mutual_aid.slot_id
    FOR UPDATE OF sl;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'mutual aid slot % does not exist', slot_id USING ERRCODE = 'no_data_found';
    END IF;
    IF s.state NOT IN ('open', 'agreed') THEN
        RAISE EXCEPTION 'mutual aid offer % is %, so its slot % cannot be used', s.offer_id, s.state, slot_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF EXISTS (SELECT 1 FROM ptl.mutual_aid_transfer t WHERE t.slot_id = transfer_for_mutual_aid.slot_id) THEN
        RAISE EXCEPTION 'mutual aid slot % is already taken', slot_id
            USING ERRCODE = 'unique_violation', HINT = 'Ask ptl.mutual_aid_suggestions() again for a free slot.';
    END IF;
    SELECT * INTO p FROM ptl.pathway x WHERE x.pathway_id = transfer_for_mutual_aid.pathway_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'pathway record % does not exist', pathway_id USING ERRCODE = 'no_data_found';
    END IF;
    IF EXISTS (SELECT 1 FROM ptl.mutual_aid_transfer t WHERE t.pathway_id = p.pathway_id) THEN
        RAISE EXCEPTION 'pathway record % has already moved under mutual aid', p.pathway_id
            USING ERRCODE = 'unique_violation',
                  HINT = 'See ptl.mutual_aid_transfer; the destination''s record carries the pathway now.';
    END IF;
    IF p.provider_org = s.offering_org THEN
        RAISE EXCEPTION 'pathway record % is already at %', pathway_id, s.offering_org
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Mutual aid moves a patient to another provider.';
    END IF;
    IF p.treatment_function <> s.treatment_function THEN
        RAISE EXCEPTION 'pathway record % is in treatment function %, the slot is for %',
            pathway_id, p.treatment_function, s.treatment_function USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT r.clock_start INTO start
    FROM ptl.rtt_period r JOIN ptl.rtt_pathway rp ON rp.pathway_id = r.pathway_id AND rp.responsible
    WHERE r.pathway_id = p.pathway_id AND r.outcome = 'incomplete'
    ORDER BY r.period_no DESC LIMIT 1;
    IF start IS NULL THEN
        RAISE EXCEPTION 'pathway record % has no incomplete RTT period with a known clock start at the last refresh', pathway_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Only patients waiting on the PTL can move; refresh first if the pathway is new.';
    END IF;
    IF transfer_date IS NULL OR transfer_date < start OR transfer_date > s.slot_date THEN
        RAISE EXCEPTION 'transfer date % must fall between the clock start % and the slot date %',
            transfer_date, start, s.slot_date USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO w FROM ptl.waiting_list_entry e
    WHERE e.pathway_id = p.pathway_id AND e.removed_date IS NULL
    ORDER BY e.decision_to_admit DESC, e.entry_id DESC LIMIT 1 FOR UPDATE;
    SELECT * INTO pa FROM ptl.patient x WHERE x.patient_id = p.patient_id;

    INSERT INTO ptl.batch (org_code, site_code, source_system, label, loaded_at, status)
    VALUES (s.offering_org, s.site_code, 'ptl_mutual_aid',
            format('mutual aid: pathway record %s from %s, slot %s', p.pathway_id, p.provider_org, s.slot_id),
            now(), 'loaded')
    RETURNING batch_id INTO new_batch;
    INSERT INTO ptl.patient (org_code, source_system, local_patient_id, nhs_number, nhs_number_as_recorded,
                             given_name, family_name, date_of_birth, date_of_death, sex, postcode,
                             address_line_1, ethnic_category, lsoa_code, gp_practice_code, commissioner_code, batch_id)
    VALUES (s.offering_org, 'ptl_mutual_aid', format('MA%s-%s', p.provider_org, pa.patient_id), pa.nhs_number,
            pa.nhs_number_as_recorded, pa.given_name, pa.family_name, pa.date_of_birth, pa.date_of_death, pa.sex,
            pa.postcode, pa.address_line_1, pa.ethnic_category, pa.lsoa_code, pa.gp_practice_code,
            pa.commissioner_code, new_batch)
    ON CONFLICT (org_code, source_system, local_patient_id) DO UPDATE SET batch_id = excluded.batch_id
    RETURNING patient_id INTO new_patient;
    INSERT INTO ptl.pathway (patient_id, provider_org, site_code, ppid, ppid_issuer, ubrn, treatment_function,
                             referral_priority, referral_received, commissioner_code, batch_id)
    VALUES (new_patient, s.offering_org, s.site_code, p.ppid, p.ppid_issuer, p.ubrn, p.treatment_function,
            p.referral_priority, transfer_date, p.commissioner_code, new_batch)
    RETURNING pathway_id INTO new_pathway;

    INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, ref_date,
                                   site_code, treatment_function, batch_id)
    VALUES (p.pathway_id, p.patient_id, format('mutual-aid-out-%s', s.slot_id), transfer_date, 'transfer_out', '21',
            NULL, p.site_code, p.treatment_function, new_batch),
           (new_pathway, new_patient, format('mutual-aid-in-%s', s.slot_id), transfer_date, 'transfer_in', '20',
            start, s.site_code, p.treatment_function, new_batch);
    IF w.entry_id IS NOT NULL THEN
        UPDATE ptl.waiting_list_entry e SET removed_date = greatest(transfer_date, e.decision_to_admit),
                                            removal_reason = 'transferred', updated_at = now()
        WHERE e.entry_id = w.entry_id;
        INSERT INTO ptl.waiting_list_entry (pathway_id, patient_id, entry_ref, procedure_code, procedure_description,
                                            intended_management, clinical_priority, decision_to_admit,
                                            expected_duration_minutes, tci_date, site_code, batch_id)
        VALUES (new_pathway, new_patient, format('mutual-aid-%s', s.slot_id), w.procedure_code,
                w.procedure_description, w.intended_management, w.clinical_priority, w.decision_to_admit,
                w.expected_duration_minutes, s.slot_date, s.site_code, new_batch);
    END IF;
    INSERT INTO ptl.mutual_aid_transfer (pathway_id, slot_id, destination_pathway_id, transfer_date, clock_start,
                                         wait_days, days_saved)
    VALUES (p.pathway_id, s.slot_id, new_pathway, transfer_date, start, transfer_date - start,
            transfer_for_mutual_aid.days_saved)
    RETURNING transfer_id INTO new_transfer;
    RETURN new_transfer;
END $$;
COMMENT ON FUNCTION ptl.transfer_for_mutual_aid(bigint, bigint, date, int) IS
    'Moves a patient to a mutual aid slot as an inter-provider transfer whose clock continues: transfer_out at the origin, a new record with the same PPID and a transfer_in carrying the clock start at the destination, the waiting-list entry moved with its TCI set to the slot date; returns the transfer number';

SELECT pg_catalog.pg_extension_config_dump('ptl.transfer_preference', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.mutual_aid_request', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.mutual_aid_request_request_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.mutual_aid_offer', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.mutual_aid_offer_offer_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.mutual_aid_slot', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.mutual_aid_slot_slot_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.mutual_aid_transfer', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.mutual_aid_transfer_transfer_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.mutual_aid_state_change', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.mutual_aid_state_change_change_id_seq', '');
-- ---------------------------------------------------------------------------
-- aid/choice: patient-initiated transfer (PIDMAS) eligibility and the
-- provider waits a patient or referrer compares within a travel limit.
-- ---------------------------------------------------------------------------

-- Eligibility rules per cohort (rtt-rules.md 8.2; clinical-theatre.md 4.3).
-- Cohort 1 is shipped as NHS England published it (clock start before 22
-- January 2023, i.e. over 40 weeks at its launch); 'over_40_weeks' is the
-- same rules with a rolling wait, for use at any census.  Later cohorts'
-- rules were not published in full (clinical-theatre.md section 8): a trust
-- adds a row.
CREATE TABLE ptl.pidmas_cohort (
    cohort              text PRIMARY KEY CHECK (cohort ~ '^[a-z0-9_]+$'),
    description         text NOT NULL,
    clock_start_before  date,
    min_wait_days       int CHECK (min_wait_days >= 0),
    booking_horizon_days int NOT NULL DEFAULT 56 CHECK (booking_horizon_days >= 0),
    min_age             int NOT NULL DEFAULT 18,
    routine_only        boolean NOT NULL DEFAULT true,
    exclude_tertiary    boolean NOT NULL DEFAULT true,
    english_only        boolean NOT NULL DEFAULT true,
    shipped             boolean NOT NULL DEFAULT false,
    CHECK (clock_start_before IS NOT NULL OR min_wait_days IS NOT NULL)
);
COMMENT ON TABLE ptl.pidmas_cohort IS
    'Patient-initiated transfer (PIDMAS) cohorts and their eligibility rules; cohort_1 is as published, trusts add later ones';
COMMENT ON COLUMN ptl.pidmas_cohort.cohort IS 'Cohort name';
COMMENT ON COLUMN ptl.pidmas_cohort.description IS 'The rules in words, with their source';
COMMENT ON COLUMN ptl.pidmas_cohort.clock_start_before IS 'Eligible only if the clock started before this date (NULL: no such rule)';
COMMENT ON COLUMN ptl.pidmas_cohort.min_wait_days IS 'Eligible only after waiting at least this many days at the census (NULL: no such rule)';
COMMENT ON COLUMN ptl.pidmas_cohort.booking_horizon_days IS 'Not eligible with an admission or first appointment booked within this many days (56: 8 weeks)';
COMMENT ON COLUMN ptl.pidmas_cohort.min_age IS 'Minimum age in years';
COMMENT ON COLUMN ptl.pidmas_cohort.routine_only IS 'Only routine referrals (not urgent or two-week-wait)';
COMMENT ON COLUMN ptl.pidmas_cohort.exclude_tertiary IS 'Leave out tertiary referrals (referred on by another hospital)';
COMMENT ON COLUMN ptl.pidmas_cohort.english_only IS 'Only patients with an English commissioner (NONC left out)';
COMMENT ON COLUMN ptl.pidmas_cohort.shipped IS 'True for rows installed by ptl';
SELECT pg_catalog.pg_extension_config_dump('ptl.pidmas_cohort', 'WHERE NOT shipped');
INSERT INTO ptl.pidmas_cohort (cohort, description, clock_start_before, min_wait_days, shipped) VALUES
    ('cohort_1', 'PIDMAS cohort 1 (31 October 2023, as published by Nottingham University Hospitals): routine, clock start before 22 January 2023, no admission or first appointment within 8 weeks, not tertiary, 18 or over, English', '2023-01-22', NULL, true),
    ('over_40_weeks', 'Cohort 1''s rules with a rolling wait: over 40 weeks (281 days or more) at the census', NULL, 281, true);

-- Each patient on the PTL against each cohort, with the first rule that
-- fails (NULL: eligible).  The booking rule: on the admitted list, no
-- admission booked within the horizon; otherwise, the first outpatient
-- appointment not yet had (no attendance in the period) and none booked
-- within the horizon.  A patient who has had the first appointment and is
-- not listed is outside the cohort ('FIRST_APPOINTMENT_HAD').
CREATE VIEW ptl.pidmas_eligibility AS
SELECT c.cohort, l.pathway_id, l.period_no, l.provider_org, l.site_code, l.treatment_function, l.census,
       l.clock_start, l.days_waited, l.waiting_list_entry_id IS NOT NULL AS admitted,
       extract(year FROM age(l.census, pa.date_of_birth))::int AS age,
       CASE WHEN c.routine_only AND l.referral_priority <> 'routine' THEN 'NOT_ROUTINE'
            WHEN l.clock_start IS NULL
              OR (c.clock_start_before IS NOT NULL AND l.clock_start >= c.clock_start_before)
              OR (c.min_wait_days IS NOT NULL AND l.days_waited < c.min_wait_days) THEN 'WAIT_TOO_SHORT'
            WHEN l.waiting_list_entry_id IS NOT NULL
             AND coalesce(l.tci_date, CASE WHEN l.next_booked_kind IN ('admission', 'tci_offer') THEN l.next_booked_date END)
                 BETWEEN l.census AND l.census + c.booking_horizon_days THEN 'TCI_WITHIN_8W'
            WHEN l.waiting_list_entry_id IS NULL
             AND EXISTS (SELECT 1 FROM ptl.pathway_event e
                         WHERE e.pathway_id = l.pathway_id AND e.kind = 'outpatient'
                           AND e.event_date BETWEEN l.clock_start AND l.census) THEN 'FIRST_APPOINTMENT_HAD'
            WHEN l.waiting_list_entry_id IS NULL AND l.next_booked_kind = 'outpatient'
             AND l.next_booked_date <= l.census + c.booking_horizon_days THEN 'APPOINTMENT_WITHIN_8W'
            WHEN c.exclude_tertiary AND ptl.tertiary_referral(l.pathway_id) THEN 'TERTIARY_REFERRAL'
            WHEN pa.date_of_birth IS NULL OR pa.date_of_birth + make_interval(years => c.min_age) > l.census THEN 'UNDER_18'
            WHEN c.english_only AND (l.commissioner_code IS NULL OR cm.commissioner_kind = 'non_english') THEN 'NOT_ENGLISH'
       END AS ineligible_reason
FROM ptl.ptl l
CROSS JOIN ptl.pidmas_cohort c
JOIN ptl.patient pa ON pa.patient_id = l.patient_id
LEFT JOIN ptl.commissioner cm ON cm.commissioner_code = l.commissioner_code;
COMMENT ON VIEW ptl.pidmas_eligibility IS
    'Every patient on the PTL against every PIDMAS cohort: eligible to ask for a transfer when ineligible_reason is NULL (rtt-rules.md 8.2)';
COMMENT ON COLUMN ptl.pidmas_eligibility.cohort IS 'Cohort (ptl.pidmas_cohort)';
COMMENT ON COLUMN ptl.pidmas_eligibility.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.pidmas_eligibility.period_no IS 'RTT period';
COMMENT ON COLUMN ptl.pidmas_eligibility.provider_org IS 'Provider';
COMMENT ON COLUMN ptl.pidmas_eligibility.site_code IS 'Site';
COMMENT ON COLUMN ptl.pidmas_eligibility.treatment_function IS 'Treatment function';
COMMENT ON COLUMN ptl.pidmas_eligibility.census IS 'Census';
COMMENT ON COLUMN ptl.pidmas_eligibility.clock_start IS 'Clock start';
COMMENT ON COLUMN ptl.pidmas_eligibility.days_waited IS 'Days waited';
COMMENT ON COLUMN ptl.pidmas_eligibility.admitted IS 'On the admitted waiting list';
COMMENT ON COLUMN ptl.pidmas_eligibility.age IS 'Age in years at the census';
COMMENT ON COLUMN ptl.pidmas_eligibility.ineligible_reason IS
    'First rule failed: NOT_ROUTINE, WAIT_TOO_SHORT, TCI_WITHIN_8W, FIRST_APPOINTMENT_HAD, APPOINTMENT_WITHIN_8W, TERTIARY_REFERRAL, UNDER_18, NOT_ENGLISH; NULL when eligible';

-- The providers a patient living in a postcode district could choose for a
-- treatment function within a radius: every site where a provider reported
-- patients of that function at the census, nearest first, with that
-- provider's waits (ptl.provider_waits).  NULL radius: every site.
CREATE FUNCTION ptl.provider_waits_near(district text, treatment_function text, radius_miles float8 DEFAULT 50,
                                        census date DEFAULT NULL)
RETURNS TABLE (provider_org text, site_code text, distance_miles float8, list_size bigint,
               median_weeks float8, p92_weeks float8, pct_over_18_weeks numeric, over_52_weeks bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
WITH c AS (SELECT coalesce(provider_waits_near.census,
                           (SELECT max(s.census_date) FROM ptl.census_snapshot s)) AS census),
home AS (SELECT d.latitude, d.longitude FROM ptl.postcode_district d
         WHERE d.district = upper(btrim(provider_waits_near.district))),
sites AS (SELECT DISTINCT s.provider_org, s.site_code
          FROM ptl.census_snapshot s, c
          WHERE s.census_date = c.census AND s.treatment_function = provider_waits_near.treatment_function
            AND s.site_code IS NOT NULL)
SELECT s.provider_org, s.site_code, d.miles, w.list_size, w.median_weeks, w.p92_weeks, w.pct_over_18_weeks,
       w.over_52_weeks
FROM sites s
CROSS JOIN c
CROSS JOIN home h
JOIN ptl.site_location l ON l.site_code = s.site_code
CROSS JOIN LATERAL (SELECT ptl.haversine_miles(h.latitude, h.longitude, l.latitude, l.longitude) AS miles) d
JOIN ptl.provider_waits w ON w.census_date = c.census AND w.provider_org = s.provider_org
                         AND w.treatment_function = provider_waits_near.treatment_function
WHERE provider_waits_near.radius_miles IS NULL OR d.miles <= provider_waits_near.radius_miles
ORDER BY d.miles NULLS LAST, s.provider_org, s.site_code
$$;
COMMENT ON FUNCTION ptl.provider_waits_near(text, text, float8, date) IS
    'Sites offering a treatment function within radius_miles of a postcode district (NULL radius: all), nearest first, with their provider''s list size, median and 92nd percentile wait at the census (default the latest snapshot): what a patient or referrer compares when choosing';

-- The same for a patient on the PTL, from their home district.
CREATE FUNCTION ptl.provider_waits_for(pathway_id bigint, radius_miles float8 DEFAULT 50)
RETURNS TABLE (provider_org text, site_code text, distance_miles float8, list_size bigint,
               median_weeks float8, p92_weeks float8, pct_over_18_weeks numeric, over_52_weeks bigint,
               current_provider boolean)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT n.*, n.provider_org = p.provider_org
FROM ptl.pathway p
JOIN ptl.patient pa ON pa.patient_id = p.patient_id,
     ptl.provider_waits_near(ptl.postcode_district_of(pa.postcode), p.treatment_function,
                             provider_waits_for.radius_miles) n
WHERE p.pathway_id = provider_waits_for.pathway_id
$$;
COMMENT ON FUNCTION ptl.provider_waits_for(bigint, float8) IS
    'Provider waits within radius_miles of a patient''s home postcode district for their pathway''s treatment function, nearest first, marking their current provider';
-- ---------------------------------------------------------------------------
-- plan/queue: waiting-list queue formulas and per-list pressures.
--
-- The formulas are NHSRwaitinglist's (NHS-R Community, MIT; peers.md 1.1.1),
-- from Fong et al. 2022, "Understanding Waiting Lists Pressures" (peers.md
-- 1.2).  Units are the caller's: demand and capacity per week with waits in
-- weeks, or per day with waits in days, but never mixed (the package's own
-- wl_stats mixes days and weeks in its pressure; ptl does not).  Each
-- function refuses an argument outside its domain with 22023.
-- ---------------------------------------------------------------------------

CREATE FUNCTION ptl.queue_check(name text, value float8, allow_zero boolean) RETURNS void
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    IF value < 0 OR (value = 0 AND NOT allow_zero) OR value = 'NaN' OR value = 'Infinity' THEN
        RAISE EXCEPTION 'invalid % for a waiting-list formula: %', name, value
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = CASE WHEN allow_zero THEN 'It must be a finite number, zero or more.'
                              ELSE 'It must be a finite number greater than zero.' END;
    END IF;
END $$;
COMMENT ON FUNCTION ptl.queue_check(text, float8, boolean) IS
    'Raises 22023 naming the argument when a queue formula''s input is negative, zero (where not allowed) or not finite';

-- Fact 2: load = demand / capacity; over 1 the list grows without bound.
CREATE FUNCTION ptl.queue_load(demand float8, capacity float8) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    PERFORM ptl.queue_check('demand', demand, true);
    PERFORM ptl.queue_check('capacity', capacity, false);
    RETURN demand / capacity;
END $$;
COMMENT ON FUNCTION ptl.queue_load(float8, float8) IS
    'Queue load: demand / capacity (NHSRwaitinglist calc_queue_load). Above 1 the list grows without bound; below 1 it is the share of time the list is not empty.';

-- Fact 4: a mean wait of target/factor keeps exp(-factor) of patients past
-- the target when waits are exponential (factor 4: 1.8%; 6: 0.25%).
CREATE FUNCTION ptl.target_mean_wait(target_wait float8, factor float8 DEFAULT 4) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    PERFORM ptl.queue_check('target_wait', target_wait, false);
    PERFORM ptl.queue_check('factor', factor, false);
    RETURN target_wait / factor;
END $$;
COMMENT ON FUNCTION ptl.target_mean_wait(float8, float8) IS
    'Mean wait that meets a target wait: target_wait / factor (factor 4 leaves about 1.8% past the target, 6 about 0.25%)';

-- Little's law with the target mean wait.
CREATE FUNCTION ptl.target_queue_size(demand float8, target_wait float8, factor float8 DEFAULT 4) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    PERFORM ptl.queue_check('demand', demand, true);
    RETURN demand * ptl.target_mean_wait(target_wait, factor);
END $$;
COMMENT ON FUNCTION ptl.target_queue_size(float8, float8, float8) IS
    'List size that meets a target wait: demand x target_wait / factor (Little''s law). A list over twice this needs relief capacity.';

-- Capacity that brings the list to its target size in time_to_target.  With
-- num_referrals and cv_demand, demand is first inflated for its
-- variability when 2 d cv / sqrt(n) < 1, as the package does (and, as the
-- package does, left alone otherwise).
CREATE FUNCTION ptl.relief_capacity(demand float8, queue_size float8, target_queue_size float8,
                                    time_to_target float8 DEFAULT 26, num_referrals float8 DEFAULT 0,
                                    cv_demand float8 DEFAULT 0) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    spread float8;
BEGIN
    PERFORM ptl.queue_check('demand', demand, true);
    PERFORM ptl.queue_check('queue_size', queue_size, true);
    PERFORM ptl.queue_check('target_queue_size', target_queue_size, true);
    PERFORM ptl.queue_check('time_to_target', time_to_target, false);
    PERFORM ptl.queue_check('num_referrals', num_referrals, true);
    PERFORM ptl.queue_check('cv_demand', cv_demand, true);
    IF num_referrals > 0 THEN
        spread := 2 * demand * cv_demand / sqrt(num_referrals);
        IF spread < 1 THEN
            demand := demand / (1 - spread);
        END IF;
    END IF;
    RETURN demand + (queue_size - target_queue_size) / time_to_target;
END $$;
COMMENT ON FUNCTION ptl.relief_capacity(float8, float8, float8, float8, float8, float8) IS
    'Capacity per unit time that brings the list from queue_size to target_queue_size in time_to_target (default 26): demand + (queue_size - target) / time_to_target (NHSRwaitinglist calc_relief_capacity)';

-- Capacity that keeps a list at its target once there (Pollaczek-Khinchine
-- style).  The package's code halves the variability term; its header does
-- not.  ptl follows the code, whose tests give the published values.
CREATE FUNCTION ptl.target_capacity(demand float8, target_wait float8, factor float8 DEFAULT 4,
                                    cv_demand float8 DEFAULT 1, cv_capacity float8 DEFAULT 1) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    PERFORM ptl.queue_check('demand', demand, true);
    PERFORM ptl.queue_check('target_wait', target_wait, false);
    PERFORM ptl.queue_check('factor', factor, false);
    PERFORM ptl.queue_check('cv_demand', cv_demand, true);
    PERFORM ptl.queue_check('cv_capacity', cv_capacity, true);
    RETURN demand + ((cv_demand ^ 2 + cv_capacity ^ 2) / 2) * (factor / target_wait);
END $$;
COMMENT ON FUNCTION ptl.target_capacity(float8, float8, float8, float8, float8) IS
    'Capacity that holds a list at its target wait: demand + ((cv_demand^2 + cv_capacity^2) / 2) x factor / target_wait (NHSRwaitinglist calc_target_capacity)';

-- Fact 9: pressure = 2 x mean wait / target; under 1 the list is on track.
CREATE FUNCTION ptl.waiting_list_pressure(mean_wait float8, target_wait float8) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    PERFORM ptl.queue_check('mean_wait', mean_wait, true);
    PERFORM ptl.queue_check('target_wait', target_wait, false);
    RETURN 2 * mean_wait / target_wait;
END $$;
COMMENT ON FUNCTION ptl.waiting_list_pressure(float8, float8) IS
    'Waiting-list pressure: 2 x mean wait / target wait (Fong et al. 2022). Under 1 the list meets its target; lists with different targets compare by it.';

-- The list an exponential wait shape allows at a performance standard
-- (NHSRwaitinglist plot_rtt_journey): lambda = -ln(1 - p) / weeks.
CREATE FUNCTION ptl.sustainable_list_size(weekly_clock_starts float8, share_within float8,
                                          standard_weeks float8 DEFAULT 18) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    PERFORM ptl.queue_check('weekly_clock_starts', weekly_clock_starts, true);
    PERFORM ptl.queue_check('standard_weeks', standard_weeks, false);
    IF NOT (share_within > 0 AND share_within < 1) THEN
        RAISE EXCEPTION 'invalid share_within for a waiting-list formula: %', share_within
            USING ERRCODE = 'invalid_parameter_value', HINT = 'It is a share strictly between 0 and 1, e.g. 0.92.';
    END IF;
    RETURN weekly_clock_starts * standard_weeks / -ln(1 - share_within);
END $$;
COMMENT ON FUNCTION ptl.sustainable_list_size(float8, float8, float8) IS
    'Largest list that meets "share_within of patients within standard_weeks" when waits are exponential: weekly clock starts / (-ln(1 - share) / weeks); at 92% and 18 weeks about 7.13 x weekly clock starts';

-- Each list's queue at a census: demand is the mean weekly clock starts and
-- capacity the mean weekly clock stops (every stop but a nullification,
-- validation removals included, as NHSRtt counts removals) over the last
-- `weeks` weeks before the census, on the records their provider reports.
-- Clock starts are dated by the period's start, so a transfer in adds to the
-- receiver's list but not to its demand (peers.md 1.3, negative reneges).
CREATE FUNCTION ptl.waiting_list_queue(census date DEFAULT NULL, target_weeks float8 DEFAULT 18,
                                       weeks int DEFAULT 12, factor float8 DEFAULT 4)
RETURNS TABLE (provider_org text, treatment_function text, list_size bigint, mean_wait_weeks float8,
               weekly_demand float8, weekly_capacity float8, load float8, target_queue_size float8,
               queue_too_big boolean, relief_capacity float8, target_capacity float8, pressure float8,
               clearance_weeks float8, sustainable_list_size float8)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
WITH c AS (SELECT coalesce(waiting_list_queue.census, (SELECT max(r.census) FROM ptl.rtt_pathway r)) AS census),
periods AS (
    SELECT p.provider_org, p.treatment_function, r.clock_start, r.clock_stop, r.outcome, r.days_waited
    FROM ptl.rtt_period r
    JOIN ptl.rtt_pathway rp ON rp.pathway_id = r.pathway_id AND rp.responsible
    JOIN ptl.pathway p ON p.pathway_id = r.pathway_id),
lists AS (
    SELECT x.provider_org, x.treatment_function,
           count(*) FILTER (WHERE x.outcome = 'incomplete') AS list_size,
           avg(x.days_waited / 7.0::float8) FILTER (WHERE x.outcome = 'incomplete') AS mean_wait_weeks,
           count(*) FILTER (WHERE x.outcome <> 'nullified' AND x.clock_start > c.census - 7 * waiting_list_queue.weeks
                              AND x.clock_start <= c.census)::float8 / waiting_list_queue.weeks AS demand,
           count(*) FILTER (WHERE x.outcome NOT IN ('nullified', 'incomplete')
                              AND x.clock_stop > c.census - 7 * waiting_list_queue.weeks
                              AND x.clock_stop <= c.census)::float8 / waiting_list_queue.weeks AS capacity
    FROM periods x CROSS JOIN c
    GROUP BY x.provider_org, x.treatment_function)
SELECT l.provider_org, l.treatment_function, l.list_size, l.mean_wait_weeks, l.demand, l.capacity,
       CASE WHEN l.capacity > 0 THEN ptl.queue_load(l.demand, l.capacity) END,
       ptl.target_queue_size(l.demand, waiting_list_queue.target_weeks, waiting_list_queue.factor) AS tqs,
       l.list_size > 2 * ptl.target_queue_size(l.demand, waiting_list_queue.target_weeks, waiting_list_queue.factor),
       ptl.relief_capacity(l.demand, l.list_size,
                           ptl.target_queue_size(l.demand, waiting_list_queue.target_weeks, waiting_list_queue.factor)),
       ptl.target_capacity(l.demand, waiting_list_queue.target_weeks, waiting_list_queue.factor),
       ptl.waiting_list_pressure(coalesce(l.mean_wait_weeks, 0), waiting_list_queue.target_weeks),
       CASE WHEN l.capacity > 0 THEN l.list_size / l.capacity END,
       ptl.sustainable_list_size(l.demand, 0.92, 18)
FROM lists l
WHERE l.list_size > 0 OR l.demand > 0
ORDER BY l.provider_org, l.treatment_function
$$;
COMMENT ON FUNCTION ptl.waiting_list_queue(date, float8, int, float8) IS
    'Each provider''s treatment-function list as a queue at a census (default the last refresh): demand and capacity per week over the last `weeks` weeks, load, target size, relief and target capacity, pressure against target_weeks, clearance time (list / weekly clock stops) and the list the 92% standard allows';
-- ---------------------------------------------------------------------------
-- plan/forecast: each list's size and long waiters over the coming weeks,
-- with what-if changes to capacity and demand.
--
-- The model is a stock of patients by whole weeks waited (bins 0..104, the
-- last holding everyone at 104 weeks or more), rolled forward a week at a
-- time, as NHSRtt does by months (peers.md 1.3): each week every bin loses
-- its share of clock stops (the removal rate the list showed recently),
-- what is left ages a week, and the week's new clock starts enter bin 0.
-- A what-if scales the removal rates (more or fewer clock stops of the same
-- shape), adds clock stops given to the longest waiters first (e.g. an
-- insourcing contract or mutual aid), or scales demand.  Counts are expected
-- values, so they are fractional.
-- ---------------------------------------------------------------------------

-- The model itself, on a stock and rates the caller gives: stock[i] and
-- removal_rate[i] are for weeks waited i - 1 (i = 1..105).  Row 0 is the
-- stock as given.  over_N counts bins N and above: whole weeks waited >= N.
CREATE FUNCTION ptl.forecast_queue(stock float8[], removal_rate float8[], weekly_demand float8,
                                   weeks int DEFAULT 52, capacity_change float8 DEFAULT 0,
                                   extra_weekly_capacity float8 DEFAULT 0, demand_change float8 DEFAULT 0)
RETURNS TABLE (week int, list_size float8, clock_stops float8, over_18_weeks float8, over_52_weeks float8,
               over_65_weeks float8, over_78_weeks float8, over_104_weeks float8)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    s float8[] := stock;
    removed float8[];
    stops float8;
    extra float8;
    take float8;
    b int;
BEGIN
    IF array_length(stock, 1) IS DISTINCT FROM 105 OR array_length(removal_rate, 1) IS DISTINCT FROM 105
       OR array_lower(stock, 1) <> 1 OR array_lower(removal_rate, 1) <> 1 THEN
        RAISE EXCEPTION 'stock and removal_rate must each have 105 elements (weeks waited 0 to 104+), not % and %',
            coalesce(array_length(stock, 1), 0), coalesce(array_length(removal_rate, 1), 0)
            USING ERRCODE = 'array_subscript_error';
    END IF;
    IF array_position(stock, NULL) IS NOT NULL OR array_position(removal_rate, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'stock and removal_rate must not contain NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    FOR b IN 1 .. 105 LOOP
        IF stock[b] < 0 OR removal_rate[b] < 0 OR removal_rate[b] > 1 THEN
            RAISE EXCEPTION 'invalid forecast input at weeks waited %: stock %, removal rate %', b - 1, stock[b], removal_rate[b]
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Stocks are zero or more; a removal rate is a weekly share between 0 and 1.';
        END IF;
    END LOOP;
    IF weeks < 0 OR weekly_demand < 0 OR capacity_change < -1 OR demand_change < -1 OR extra_weekly_capacity < 0 THEN
        RAISE EXCEPTION 'invalid forecast settings: weeks %, demand %, capacity change %, extra capacity %, demand change %',
            weeks, weekly_demand, capacity_change, extra_weekly_capacity, demand_change
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Changes are fractions (0.1 is 10% more, -1 is none at all); the rest are zero or more.';
    END IF;

    week := 0;
    clock_stops := 0;
    LOOP
        list_size := 0; over_18_weeks := 0; over_52_weeks := 0; over_65_weeks := 0;
        over_78_weeks := 0; over_104_weeks := 0;
        FOR b IN 1 .. 105 LOOP
            list_size := list_size + s[b];
            IF b > 18 THEN over_18_weeks := over_18_weeks + s[b]; END IF;
            IF b > 52 THEN over_52_weeks := over_52_weeks + s[b]; END IF;
            IF b > 65 THEN over_65_weeks := over_65_weeks + s[b]; END IF;
            IF b > 78 THEN over_78_weeks := over_78_weeks + s[b]; END IF;
            IF b > 104 THEN over_104_weeks := over_104_weeks + s[b]; END IF;
        END LOOP;
        RETURN NEXT;
        EXIT WHEN week >= weeks;

        -- this week's clock stops: the usual share of each bin, then the
        -- extra capacity from the longest waiters down
        removed := array_fill(0::float8, ARRAY[105]);
        stops := 0;
        FOR b IN 1 .. 105 LOOP
            removed[b] := least(s[b], s[b] * removal_rate[b] * (1 + capacity_change));
            stops := stops + removed[b];
        END LOOP;
        extra := extra_weekly_capacity;
        b := 105;
        WHILE extra > 0 AND b >= 1 LOOP
            take := least(extra, s[b] - removed[b]);
            removed[b] := removed[b] + take;
            stops := stops + take;
            extra := extra - take;
            b := b - 1;
        END LOOP;
        -- everyone left waits a week longer; 104+ stays in the last bin
        s[105] := s[105] - removed[105] + s[104] - removed[104];
        FOR b IN REVERSE 104 .. 2 LOOP
            s[b] := s[b - 1] - removed[b - 1];
        END LOOP;
        s[1] := weekly_demand * (1 + demand_change);
        week := week + 1;
        clock_stops := stops;
    END LOOP;
END $$;
COMMENT ON FUNCTION ptl.forecast_queue(float8[], float8[], float8, int, float8, float8, float8) IS
    'Rolls a waiting list forward week by week: stock and weekly removal rates by whole weeks waited (105 bins, 0 to 104+), new clock starts per week, and what-if changes to capacity (a fraction), extra weekly clock stops for the longest waiters, and demand (a fraction)';

-- The model for every list, calibrated on the data: the stock at the census
-- and, for each 4-week band of weeks waited, the share of its patients that
-- stopped per week over the last calibration_weeks weeks.  The exposure is
-- approximated by the band's stock at the census plus half the patients who
-- left it in the window (they were there part of the time).
CREATE FUNCTION ptl.forecast_waiting_list(census date DEFAULT NULL, weeks int DEFAULT 52,
                                          capacity_change float8 DEFAULT 0, extra_weekly_capacity float8 DEFAULT 0,
                                          demand_change float8 DEFAULT 0, calibration_weeks int DEFAULT 12,
                                          provider_org text DEFAULT NULL, treatment_function text DEFAULT NULL)
RETURNS TABLE (provider_org text, treatment_function text, week int, week_ending date, list_size float8,
               clock_stops float8, over_18_weeks float8, over_52_weeks float8, over_65_weeks float8,
               over_78_weeks float8, over_104_weeks float8, weekly_demand float8)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
WITH c AS (SELECT coalesce(forecast_waiting_list.census, (SELECT max(r.census) FROM ptl.rtt_pathway r)) AS census),
periods AS (
    SELECT p.provider_org, p.treatment_function, r.outcome, r.clock_start, r.clock_stop,
           least(r.days_waited / 7, 104) AS bin
    FROM ptl.rtt_period r
    JOIN ptl.rtt_pathway rp ON rp.pathway_id = r.pathway_id AND rp.responsible
    JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
    CROSS JOIN c
    WHERE (forecast_waiting_list.provider_org IS NULL OR p.provider_org = forecast_waiting_list.provider_org)
      AND (forecast_waiting_list.treatment_function IS NULL OR p.treatment_function = forecast_waiting_list.treatment_function)
      AND r.outcome <> 'nullified' AND r.days_waited IS NOT NULL
      AND (r.outcome = 'incomplete'
           OR r.clock_stop > c.census - 7 * forecast_waiting_list.calibration_weeks AND r.clock_stop <= c.census
           OR r.clock_start > c.census - 7 * forecast_waiting_list.calibration_weeks AND r.clock_start <= c.census)),
counts AS (
    SELECT x.provider_org, x.treatment_function, x.bin,
           count(*) FILTER (WHERE x.outcome = 'incomplete') AS stock,
           count(*) FILTER (WHERE x.outcome <> 'incomplete'
                              AND x.clock_stop > c.census - 7 * forecast_waiting_list.calibration_weeks) AS stops,
           count(*) FILTER (WHERE x.clock_start > c.census - 7 * forecast_waiting_list.calibration_weeks) AS starts
    FROM periods x CROSS JOIN c
    GROUP BY x.provider_org, x.treatment_function, x.bin),
bins AS (
    SELECT k.provider_org, k.treatment_function, b.bin, coalesce(n.stock, 0) AS stock,
           sum(coalesce(n.stops, 0)) OVER band AS band_stops,
           sum(coalesce(n.stock, 0)) OVER band AS band_stock,
           sum(coalesce(n.starts, 0)) OVER (PARTITION BY k.provider_org, k.treatment_function) AS starts
    FROM (SELECT DISTINCT x.provider_org, x.treatment_function FROM counts x) k
    CROSS JOIN generate_series(0, 104) b(bin)
    LEFT JOIN counts n ON n.provider_org = k.provider_org AND n.treatment_function = k.treatment_function
                      AND n.bin = b.bin
    WINDOW band AS (PARTITION BY k.provider_org, k.treatment_function, b.bin / 4)),
lists AS (
    SELECT b.provider_org, b.treatment_function,
           array_agg(b.stock::float8 ORDER BY b.bin) AS stock,
           array_agg(CASE WHEN b.band_stops = 0 THEN 0
                          ELSE least(1, b.band_stops::float8 / forecast_waiting_list.calibration_weeks
                                        / (b.band_stock + b.band_stops / 2.0)) END ORDER BY b.bin) AS rate,
           max(b.starts)::float8 / forecast_waiting_list.calibration_weeks AS demand
    FROM bins b
    GROUP BY b.provider_org, b.treatment_function)
SELECT l.provider_org, l.treatment_function, f.week, c.census + 7 * f.week, f.list_size, f.clock_stops,
       f.over_18_weeks, f.over_52_weeks, f.over_65_weeks, f.over_78_weeks, f.over_104_weeks, l.demand
FROM lists l CROSS JOIN c,
     ptl.forecast_queue(l.stock, l.rate, l.demand, forecast_waiting_list.weeks,
                        forecast_waiting_list.capacity_change, forecast_waiting_list.extra_weekly_capacity,
                        forecast_waiting_list.demand_change) f
ORDER BY 1, 2, 3
$$;
COMMENT ON FUNCTION ptl.forecast_waiting_list(date, int, float8, float8, float8, int, text, text) IS
    'Forecast of each provider''s treatment-function list (or one, by provider_org and treatment_function) for the next `weeks` weeks from the census (default the last refresh), calibrated on the last calibration_weeks weeks of clock starts and stops, with what-if capacity_change (fraction), extra_weekly_capacity (clock stops for the longest waiters) and demand_change (fraction)';
-- ---------------------------------------------------------------------------
-- plan/inequality: do some groups of patients wait longer, sit lower on the
-- list, or miss more appointments?  By deprivation decile (IMD of the
-- patient's LSOA) and by ethnic group, per provider and treatment function
-- with provider and ICS totals.
--
-- Small numbers are suppressed, as NHS statistics are (ptl.suppressed_cells):
-- a group of fewer than suppress_below (default 5) people or appointments
-- shows NULL for every figure, and a count of events (DNAs, waits over 18
-- or 52 weeks) from 1 to suppress_below - 1 shows NULL, with any rate made
-- from it; zero is shown, as it identifies no one.  Because totals are shown
-- too, a single hidden cell could be found by subtraction, so where only
-- one cell of a breakdown (one dimension, one provider and function) is
-- hidden the next smallest is hidden as well (secondary suppression).
-- suppressed is true when any figure of the row is hidden.
-- ---------------------------------------------------------------------------

-- Which cells of one breakdown to hide: primary where count < suppress_below
-- (and above zero when zero_is_safe), or already hidden; then, when exactly
-- one cell of two or more is hidden, also the smallest other (the first on
-- a tie), so that no hidden cell is the total less the shown ones.
CREATE FUNCTION ptl.suppressed_cells(counts bigint[], suppress_below int, zero_is_safe boolean,
                                     already_hidden boolean[] DEFAULT NULL) RETURNS boolean[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    hidden boolean[] := '{}';
    n int := coalesce(cardinality(counts), 0);
    smallest int;
    i int;
BEGIN
    IF suppress_below IS NULL OR suppress_below < 1 THEN
        RAISE EXCEPTION 'invalid suppression threshold: %', suppress_below
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Counts below the threshold are hidden; it is 1 (hide nothing) or more, usually 5.';
    END IF;
    FOR i IN 1 .. n LOOP
        hidden := hidden || (coalesce(already_hidden[i], false)
                             OR (counts[i] < suppress_below AND (NOT zero_is_safe OR counts[i] > 0)));
    END LOOP;
    IF n > 1 AND (SELECT count(*) FROM unnest(hidden) h WHERE h) = 1 THEN
        FOR i IN 1 .. n LOOP
            IF NOT hidden[i] AND (smallest IS NULL OR counts[i] < counts[smallest]) THEN
                smallest := i;
            END IF;
        END LOOP;
        IF smallest IS NOT NULL THEN
            hidden[smallest] := true;
        END IF;
    END IF;
    RETURN hidden;
END $$;
COMMENT ON FUNCTION ptl.suppressed_cells(bigint[], int, boolean, boolean[]) IS
    'Small-number suppression of one breakdown''s counts: hides counts below suppress_below (zero shown when zero_is_safe) and cells already hidden, then, if exactly one of two or more is hidden, the smallest other too (secondary suppression)';

-- NHS Data Dictionary ETHNIC CATEGORY codes grouped as the 2001 census's
-- five groups, with not stated (Z) and not known (99 or missing) apart.
CREATE FUNCTION ptl.ethnic_group(ethnic_category text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN ethnic_category IN ('A', 'B', 'C') THEN 'White'
            WHEN ethnic_category IN ('D', 'E', 'F', 'G') THEN 'Mixed'
            WHEN ethnic_category IN ('H', 'J', 'K', 'L') THEN 'Asian or Asian British'
            WHEN ethnic_category IN ('M', 'N', 'P') THEN 'Black or Black British'
            WHEN ethnic_category IN ('R', 'S') THEN 'Other ethnic group'
            WHEN ethnic_category = 'Z' THEN 'Not stated'
            ELSE 'Not known' END
$$;
COMMENT ON FUNCTION ptl.ethnic_group(text) IS
    'Ethnic group of an ETHNIC CATEGORY code: White (A-C), Mixed (D-G), Asian or Asian British (H-L), Black or Black British (M-P), Other ethnic group (R-S), Not stated (Z), Not known (99 or missing)';

-- The groups a patient record falls in, one row per dimension.
CREATE VIEW ptl.patient_equity_group AS
SELECT pa.patient_id, 'imd_decile'::text AS dimension,
       coalesce(d.imd_decile::text, 'Not known') AS group_value
FROM ptl.patient pa LEFT JOIN ptl.area_deprivation d ON d.lsoa_code = pa.lsoa_code
UNION ALL
SELECT pa.patient_id, 'ethnic_group', ptl.ethnic_group(pa.ethnic_category)
FROM ptl.patient pa;
COMMENT ON VIEW ptl.patient_equity_group IS
    'Each patient record''s deprivation decile (1 most deprived; from its LSOA) and ethnic group, one row per dimension';
COMMENT ON COLUMN ptl.patient_equity_group.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.patient_equity_group.dimension IS 'imd_decile or ethnic_group';
COMMENT ON COLUMN ptl.patient_equity_group.group_value IS 'Decile 1-10 or ethnic group; Not known when missing';

-- Did-not-attend rates: DNAs over appointments (attended plus DNA'd) dated
-- in [from_date, to_date], first and follow-up alike.
CREATE FUNCTION ptl.dna_rates(from_date date, to_date date, suppress_below int DEFAULT 5)
RETURNS TABLE (dimension text, group_value text, provider_org text, treatment_function text,
               appointments bigint, dnas bigint, dna_rate numeric, suppressed boolean)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
WITH counts AS (
    SELECT g.dimension, g.group_value, p.provider_org, p.treatment_function,
           grouping(p.provider_org, p.treatment_function) AS level,
           count(*) AS appointments, count(*) FILTER (WHERE e.kind = 'dna') AS dnas
    FROM ptl.pathway_event e
    JOIN ptl.pathway p ON p.pathway_id = e.pathway_id
    JOIN ptl.patient_equity_group g ON g.patient_id = e.patient_id
    WHERE e.kind IN ('outpatient', 'dna') AND e.event_date BETWEEN dna_rates.from_date AND dna_rates.to_date
    GROUP BY g.dimension, g.group_value, GROUPING SETS ((p.provider_org, p.treatment_function), (p.provider_org), ())),
rows_hidden AS (
    SELECT c.*, row_number() OVER w AS pos,
           ptl.suppressed_cells(array_agg(c.appointments) OVER w, dna_rates.suppress_below, false) AS hide_row
    FROM counts c
    WINDOW w AS (PARTITION BY c.dimension, c.level, c.provider_org, c.treatment_function ORDER BY c.group_value
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)),
events_hidden AS (
    SELECT r.*, ptl.suppressed_cells(array_agg(r.dnas) OVER w, dna_rates.suppress_below, true, r.hide_row) AS hide_events
    FROM rows_hidden r
    WINDOW w AS (PARTITION BY r.dimension, r.level, r.provider_org, r.treatment_function ORDER BY r.group_value
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING))
SELECT c.dimension, c.group_value, c.provider_org, c.treatment_function,
       CASE WHEN NOT c.hide_row[c.pos] THEN c.appointments END,
       CASE WHEN NOT c.hide_events[c.pos] THEN c.dnas END,
       CASE WHEN NOT c.hide_events[c.pos] THEN round(100.0 * c.dnas / c.appointments, 2) END,
       c.hide_events[c.pos]
FROM events_hidden c
ORDER BY c.dimension, c.level DESC, c.provider_org NULLS FIRST, c.treatment_function NULLS FIRST,
         CASE WHEN c.group_value ~ '^[0-9]+$' THEN lpad(c.group_value, 2, '0') ELSE c.group_value END
$$;
COMMENT ON FUNCTION ptl.dna_rates(date, date, int) IS
    'Did-not-attend rate (%) of outpatient appointments dated in the range, by deprivation decile and by ethnic group, per provider and treatment function with provider totals (treatment_function NULL) and ICS totals (both NULL); groups of fewer than suppress_below appointments are suppressed, and DNA counts from 1 to suppress_below - 1 with their rate, with secondary suppression (ptl.suppressed_cells)';

-- Waits and list position on the PTL at the last refresh.  List position
-- is compared as a percentile of the list (position / list size x 100; 1
-- is the front), since lists differ in size.
CREATE FUNCTION ptl.wait_inequality(suppress_below int DEFAULT 5)
RETURNS TABLE (dimension text, group_value text, provider_org text, treatment_function text,
               patients bigint, median_weeks float8, pct_over_18_weeks numeric, over_52_weeks bigint,
               mean_list_percentile numeric, suppressed boolean)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
WITH l AS (
    SELECT l.*, 100.0 * l.list_position
                / count(l.list_position) OVER (PARTITION BY l.provider_org, l.treatment_function,
                                                            l.waiting_list_entry_id IS NOT NULL) AS list_percentile
    FROM ptl.ptl l),
counts AS (
    SELECT g.dimension, g.group_value, l.provider_org, l.treatment_function,
           grouping(l.provider_org, l.treatment_function) AS level,
           count(*) AS patients,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY l.days_waited / 7.0::float8) AS median_weeks,
           round(100.0 * count(*) FILTER (WHERE l.days_waited > 126) / nullif(count(l.days_waited), 0), 2) AS pct18,
           count(*) FILTER (WHERE l.days_waited > 126) AS over18,
           count(*) FILTER (WHERE l.days_waited > 364) AS over52,
           round(avg(l.list_percentile), 1) AS pos
    FROM l JOIN ptl.patient_equity_group g ON g.patient_id = l.patient_id
    GROUP BY g.dimension, g.group_value, GROUPING SETS ((l.provider_org, l.treatment_function), (l.provider_org), ())),
rows_hidden AS (
    SELECT c.*, row_number() OVER w AS n,
           ptl.suppressed_cells(array_agg(c.patients) OVER w, wait_inequality.suppress_below, false) AS hide_row
    FROM counts c
    WINDOW w AS (PARTITION BY c.dimension, c.level, c.provider_org, c.treatment_function ORDER BY c.group_value
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)),
events_hidden AS (
    SELECT r.*, ptl.suppressed_cells(array_agg(r.over52) OVER w, wait_inequality.suppress_below, true, r.hide_row) AS hide_events,
           ptl.suppressed_cells(array_agg(r.over18) OVER w, wait_inequality.suppress_below, true, r.hide_row) AS hide_18
    FROM rows_hidden r
    WINDOW w AS (PARTITION BY r.dimension, r.level, r.provider_org, r.treatment_function ORDER BY r.group_value
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING))
SELECT c.dimension, c.group_value, c.provider_org, c.treatment_function,
       CASE WHEN NOT c.hide_row[c.n] THEN c.patients END, CASE WHEN NOT c.hide_row[c.n] THEN c.median_weeks END,
       CASE WHEN NOT c.hide_18[c.n] THEN c.pct18 END, CASE WHEN NOT c.hide_events[c.n] THEN c.over52 END,
       CASE WHEN NOT c.hide_row[c.n] THEN c.pos END, c.hide_events[c.n] OR c.hide_18[c.n]
FROM events_hidden c
ORDER BY c.dimension, c.level DESC, c.provider_org NULLS FIRST, c.treatment_function NULLS FIRST,
         CASE WHEN c.group_value ~ '^[0-9]+$' THEN lpad(c.group_value, 2, '0') ELSE c.group_value END
$$;
COMMENT ON FUNCTION ptl.wait_inequality(int) IS
    'Waits and list position on the PTL by deprivation decile and by ethnic group, per provider and treatment function with provider and ICS totals; groups of fewer than suppress_below patients are suppressed, and counts over 18 or 52 weeks from 1 to suppress_below - 1 (the share over 18 weeks with its count), with secondary suppression (ptl.suppressed_cells)';
-- ---------------------------------------------------------------------------
-- ops, part 1: the daily refresh that runs unattended.  ptl.daily_refresh
-- loads every ready batch, runs ptl.refresh (link, clock, validate, rank and
-- snapshot) and applies snapshot retention, as one unit of work: it all
-- commits or none of it does.  The run log row is committed before the work
-- starts and finished after it, so a failure leaves its reason behind.
-- docs/operations.md is the operator's guide.
-- ---------------------------------------------------------------------------

-- Operational settings.  Rows are a history: the latest is in force.  ptl
-- ships one row of defaults (left out of pg_dump; CREATE EXTENSION writes it
-- again); change a setting by inserting a row, e.g. INSERT INTO
-- ptl.ops_setting (snapshot_retention) VALUES ('5 years').
CREATE TABLE ptl.ops_setting (
    setting_id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    set_at              timestamptz NOT NULL DEFAULT now(),
    set_by              text NOT NULL DEFAULT current_user,
    shipped             boolean NOT NULL DEFAULT false,
    snapshot_retention  interval DEFAULT '3 years' CHECK (snapshot_retention > interval '0'),
    los_percentile      float8 NOT NULL DEFAULT 0.8 CHECK (los_percentile > 0 AND los_percentile < 1),
    los_history         interval NOT NULL DEFAULT '1 year' CHECK (los_history > interval '0'),
    los_min_spells      int NOT NULL DEFAULT 5 CHECK (los_min_spells >= 1),
    bed_horizon_days    int NOT NULL DEFAULT 42 CHECK (bed_horizon_days BETWEEN 1 AND 366),
    bottleneck_weeks    int NOT NULL DEFAULT 4 CHECK (bottleneck_weeks >= 1)
);
INSERT INTO ptl.ops_setting (setting_id, set_at, set_by, shipped) VALUES (0, '-infinity', 'ptl', true);
SELECT pg_catalog.pg_extension_config_dump('ptl.ops_setting', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('ptl.ops_setting_setting_id_seq', '');
COMMENT ON TABLE ptl.ops_setting IS
    'Operational settings: a history, the latest row is in force (insert a row to change)';
COMMENT ON COLUMN ptl.ops_setting.setting_id IS 'Row number (0 = the defaults ptl ships)';
COMMENT ON COLUMN ptl.ops_setting.set_at IS 'When the settings were set';
COMMENT ON COLUMN ptl.ops_setting.set_by IS 'Who set them';
COMMENT ON COLUMN ptl.ops_setting.shipped IS 'True for the defaults row ptl ships';
COMMENT ON COLUMN ptl.ops_setting.snapshot_retention IS
    'How long census snapshots are kept: ptl.daily_refresh drops the months that ended longer ago than this before the census (NULL keeps them all)';
COMMENT ON COLUMN ptl.ops_setting.los_percentile IS
    'Length-of-stay percentile planned bed occupancy assumes for every admission (default 0.8: the stay 80% of past patients were home within)';
COMMENT ON COLUMN ptl.ops_setting.los_history IS 'How far back past elective spells are read for lengths of stay (default 1 year)';
COMMENT ON COLUMN ptl.ops_setting.los_min_spells IS
    'Past spells of a procedure needed to use its own stays; with fewer, its specialty''s are used (default 5)';
COMMENT ON COLUMN ptl.ops_setting.bed_horizon_days IS 'Days ahead planned bed occupancy looks (default 42, six weeks)';
COMMENT ON COLUMN ptl.ops_setting.bottleneck_weeks IS 'Recent weeks whose entries and exits measure a stage''s growth and clearance time (default 4)';

CREATE FUNCTION ptl.ops_setting_in_force() RETURNS ptl.ops_setting
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN (SELECT s FROM ptl.ops_setting s ORDER BY s.set_at DESC, s.setting_id DESC LIMIT 1);
COMMENT ON FUNCTION ptl.ops_setting_in_force() IS 'The operational settings in force: the latest row of ptl.ops_setting';

-- The month's snapshot partition, made when first needed (rows already in the
-- default partition for that month move into it).  SECURITY DEFINER: the
-- refresh may run as ptl_admin, who does not own the snapshot table.
CREATE FUNCTION ptl.census_snapshot_partition(census date) RETURNS regclass
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    month_start date := date_trunc('month', census)::date;
    month_end date := (date_trunc('month', census) + interval '1 month')::date;
    part_name text := format('census_snapshot_y%sm%s', to_char(census, 'YYYY'), to_char(census, 'MM'));
    part regclass;
BEGIN
    IF census IN ('infinity', '-infinity') THEN
        RAISE EXCEPTION 'census date must be a finite date, not %', census
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    part := to_regclass(format('ptl.%I', part_name));
    IF part IS NOT NULL THEN
        RETURN part;
    END IF;
    -- Made beside the parent, then attached: attaching scans only the new
    -- month, and the default partition gives up its rows for it first.
    LOCK TABLE ptl.census_snapshot_default IN ACCESS EXCLUSIVE MODE;
    EXECUTE format('CREATE TABLE ptl.%I (LIKE ptl.census_snapshot INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   part_name);
    EXECUTE format('INSERT INTO ptl.%I SELECT * FROM ptl.census_snapshot_default
                    WHERE census_date >= %L AND census_date < %L', part_name, month_start, month_end);
    DELETE FROM ptl.census_snapshot_default d WHERE d.census_date >= month_start AND d.census_date < month_end;
    EXECUTE format('ALTER TABLE ptl.%I ADD CONSTRAINT %I CHECK (census_date >= %L AND census_date < %L),
                    ADD PRIMARY KEY (census_date, pathway_id, period_no)',
                   part_name, part_name || '_month', month_start, month_end);
    EXECUTE format('CREATE INDEX %I ON ptl.%I (census_date, provider_org, rtt_line)',
                   part_name || '_provider_idx', part_name);
    -- long waiters at each census, for trends (the weekly pack)
    EXECUTE format('CREATE INDEX %I ON ptl.%I (census_date, provider_org, days_waited) WHERE days_waited > 364',
                   part_name || '_long_wait_idx', part_name);
    EXECUTE format('ALTER TABLE ptl.census_snapshot ATTACH PARTITION ptl.%I FOR VALUES FROM (%L) TO (%L)',
                   part_name, month_start, month_end);
    EXECUTE format('COMMENT ON TABLE ptl.%I IS %L', part_name,
                   format('Census snapshots of %s (a partition of ptl.census_snapshot)', to_char(census, 'FMMonth YYYY')));
    RETURN format('ptl.%I', part_name)::regclass;
END
$$;
COMMENT ON FUNCTION ptl.census_snapshot_partition(date) IS
    'The monthly partition of ptl.census_snapshot holding a census date, made (and filled from the default partition) if missing';

-- Drops the snapshot months that ended more than the retention before the
-- census; returns how many months went.
CREATE FUNCTION ptl.apply_snapshot_retention(census date) RETURNS int
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    keep interval := (ptl.ops_setting_in_force()).snapshot_retention;
    cutoff date;
    part record;
    dropped int := 0;
BEGIN
    IF keep IS NULL THEN
        RETURN 0;
    END IF;
    cutoff := (census - keep)::date;
    FOR part IN
        SELECT c.oid::regclass AS rel, pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'ptl.census_snapshot'::regclass AND c.oid <> 'ptl.census_snapshot_default'::regclass
        ORDER BY 1
    LOOP
        -- "FOR VALUES FROM ('2025-03-01') TO ('2025-04-01')": the upper bound.
        IF substring(part.bound FROM $r$TO \('([0-9-]+)'\)$r$)::date <= cutoff THEN
            EXECUTE format('DROP TABLE %s', part.rel);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    DELETE FROM ptl.census_snapshot_default d WHERE d.census_date < date_trunc('month', cutoff);
    RETURN dropped;
END
$$;
COMMENT ON FUNCTION ptl.apply_snapshot_retention(date) IS
    'Drops the monthly census snapshot partitions that ended more than ptl.ops_setting.snapshot_retention before the census; returns how many';

-- The advisory lock that admits one daily refresh at a time, keyed on the
-- run log's oid so that it is this database's and shows in pg_locks.
CREATE FUNCTION ptl.refresh_lock_key() RETURNS int
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN 'ptl.refresh_run'::regclass::oid::int;
COMMENT ON FUNCTION ptl.refresh_lock_key() IS
    'First key of the session advisory lock a daily refresh holds (the second is 1): see pg_locks';

CREATE PROCEDURE ptl.daily_refresh(census date DEFAULT current_date, "full" boolean DEFAULT false,
                                   wait boolean DEFAULT false)
LANGUAGE plpgsql
-- No SET search_path: a procedure with SET clauses cannot COMMIT.  Every
-- name below is qualified instead (pg_catalog is searched first anyway).
AS $$
#variable_conflict use_variable
DECLARE
    run bigint;
    phase text := 'lock';
    began timestamptz;
    holder record;
    b record;
    n_batches int := 0;
    n_loaded bigint := 0;
    n_rejected bigint := 0;
    n_dropped int;
    err_state text;
    err_message text;
    err_detail text;
    err_hint text;
    err_context text;
BEGIN
    -- Transaction control below: CALL it on its own, not inside BEGIN ... COMMIT.
    COMMIT;
    IF census IS NULL OR census IN ('infinity', '-infinity') THEN
        RAISE EXCEPTION 'census date must be a finite date, not %', coalesce(census::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    began := clock_timestamp();
    IF wait THEN
        PERFORM pg_advisory_lock(ptl.refresh_lock_key(), 1);
    ELSIF NOT pg_try_advisory_lock(ptl.refresh_lock_key(), 1) THEN
        SELECT r.run_id, r.started_at, r.backend_pid, r.run_by INTO holder
        FROM ptl.refresh_run r WHERE r.status = 'running' ORDER BY r.run_id DESC LIMIT 1;
        RAISE EXCEPTION 'another ptl refresh is running, so this one did nothing'
            USING ERRCODE = 'lock_not_available',
                  DETAIL = CASE WHEN holder.run_id IS NULL THEN 'A session holds the refresh lock.'
                                ELSE format('Run %s started at %s by %s (server process %s).',
                                            holder.run_id, holder.started_at, holder.run_by, holder.backend_pid) END,
                  HINT = 'Wait for it to finish (ptl.refresh_status), or call ptl.daily_refresh(wait => true) to queue behind it.';
    END IF;

    INSERT INTO ptl.refresh_run (census, full_refresh, started_at, finished_at, status, entry_point, steps)
    VALUES (census, "full", began, NULL, 'running', 'daily_refresh',
            ptl.refresh_step('[]', 'advisory_lock', began))
    RETURNING run_id INTO run;
    COMMIT;

    BEGIN
        PERFORM set_config('ptl.daily_refresh_run', run::text, true);

        -- Load: every batch its loader has closed, oldest first.
        phase := 'load';
        began := clock_timestamp();
        FOR b IN SELECT x.batch_id FROM ptl.batch x WHERE x.status = 'ready' ORDER BY x.batch_id LOOP
            SELECT n_loaded + coalesce(sum(e.rows_loaded + e.rows_updated), 0),
                   n_rejected + coalesce(sum(e.rows_quarantined), 0)
            INTO n_loaded, n_rejected
            FROM ptl.load(b.batch_id) e;
            n_batches := n_batches + 1;
        END LOOP;
        UPDATE ptl.refresh_run r
        SET batches_loaded = n_batches, rows_loaded = n_loaded, rows_rejected = n_rejected,
            steps = ptl.refresh_step(r.steps, 'load', began, n_loaded)
        WHERE r.run_id = run;

        -- Link, clock, validate, rank and snapshot.
        phase := 'refresh';
        CALL ptl.refresh(census, "full");

        phase := 'retention';
        began := clock_timestamp();
        n_dropped := ptl.apply_snapshot_retention(census);
        UPDATE ptl.refresh_run r
        SET snapshot_partitions_dropped = n_dropped,
            steps = ptl.refresh_step(r.steps, 'retention', began, n_dropped),
            status = 'succeeded', finished_at = clock_timestamp()
        WHERE r.run_id = run;
    EXCEPTION WHEN OTHERS THEN
        -- Everything since the block began is rolled back; keep why.
        GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,
                                err_detail = PG_EXCEPTION_DETAIL, err_hint = PG_EXCEPTION_HINT,
                                err_context = PG_EXCEPTION_CONTEXT;
    END;

    -- Unlock only after the commit: the next run must see this one's work.
    IF err_message IS NOT NULL THEN
        UPDATE ptl.refresh_run r
        SET status = 'failed', finished_at = clock_timestamp(), failed_step = phase,
            error_sqlstate = err_state, error_message = err_message,
            error_detail = nullif(err_detail, ''), error_context = nullif(err_context, '')
        WHERE r.run_id = run;
        COMMIT;
        PERFORM pg_advisory_unlock(ptl.refresh_lock_key(), 1);
        err_hint := coalesce(nullif(err_hint, ''), format('See ptl.refresh_run where run_id = %s.', run));
        IF coalesce(err_detail, '') = '' THEN
            RAISE EXCEPTION 'ptl refresh run % failed at its % step, and was rolled back: %', run, phase, err_message
                USING ERRCODE = err_state, HINT = err_hint;
        END IF;
        RAISE EXCEPTION 'ptl refresh run % failed at its % step, and was rolled back: %', run, phase, err_message
            USING ERRCODE = err_state, DETAIL = err_detail, HINT = err_hint;
    END IF;
    COMMIT;
    PERFORM pg_advisory_unlock(ptl.refresh_lock_key(), 1);
END
$$;
COMMENT ON PROCEDURE ptl.daily_refresh(date, boolean, boolean) IS
    'The unattended daily run: loads ready batches, refreshes (link, clock, validate, rank, snapshot) and applies snapshot retention as one unit; one at a time (wait => false exits with a message), logged in ptl.refresh_run whether it succeeds or fails; CALL it outside a transaction block';

-- The run log as an operator reads it: the runs newest first, how long they
-- took, and a running row whose server process has gone marked interrupted.
CREATE VIEW ptl.refresh_status AS
SELECT r.run_id, r.census, r.entry_point,
       CASE WHEN r.status = 'running'
                 AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = r.backend_pid)
            THEN 'interrupted' ELSE r.status END AS status,
       r.started_at, r.finished_at,
       coalesce(r.finished_at, clock_timestamp()) - r.started_at AS duration,
       r.full_refresh, r.batches_loaded, r.rows_loaded, r.rows_rejected, r.pathways_computed,
       r.validation_issues, r.snapshot_rows, r.snapshot_partitions_dropped,
       (SELECT string_agg(format('%s %s ms', s ->> 'step', s ->> 'ms'), ', ' ORDER BY o)
        FROM jsonb_array_elements(r.steps) WITH ORDINALITY AS e(s, o)) AS step_times,
       r.failed_step, r.error_message, r.run_by
FROM ptl.refresh_run r
ORDER BY r.run_id DESC;
COMMENT ON VIEW ptl.refresh_status IS
    'Refresh runs newest first: status (running, succeeded, failed, or interrupted when a running row''s server process is gone), duration, counts, step times and the reason for a failure';
COMMENT ON COLUMN ptl.refresh_status.run_id IS 'Run number';
COMMENT ON COLUMN ptl.refresh_status.census IS 'Census date';
COMMENT ON COLUMN ptl.refresh_status.entry_point IS 'refresh or daily_refresh';
COMMENT ON COLUMN ptl.refresh_status.status IS 'running, succeeded, failed or interrupted';
COMMENT ON COLUMN ptl.refresh_status.started_at IS 'Start';
COMMENT ON COLUMN ptl.refresh_status.finished_at IS 'End';
COMMENT ON COLUMN ptl.refresh_status.duration IS 'How long it took (so far, if running)';
COMMENT ON COLUMN ptl.refresh_status.full_refresh IS 'Every pathway recomputed';
COMMENT ON COLUMN ptl.refresh_status.batches_loaded IS 'Batches loaded';
COMMENT ON COLUMN ptl.refresh_status.rows_loaded IS 'Staged rows loaded';
COMMENT ON COLUMN ptl.refresh_status.rows_rejected IS 'Staged rows quarantined';
COMMENT ON COLUMN ptl.refresh_status.pathways_computed IS 'Pathway records recomputed';
COMMENT ON COLUMN ptl.refresh_status.validation_issues IS 'Validation issues after the run';
COMMENT ON COLUMN ptl.refresh_status.snapshot_rows IS 'Snapshot rows written';
COMMENT ON COLUMN ptl.refresh_status.snapshot_partitions_dropped IS 'Snapshot months dropped for retention';
COMMENT ON COLUMN ptl.refresh_status.step_times IS 'Each step and its milliseconds, in order';
COMMENT ON COLUMN ptl.refresh_status.failed_step IS 'Step that failed';
COMMENT ON COLUMN ptl.refresh_status.error_message IS 'Why it failed';
COMMENT ON COLUMN ptl.refresh_status.run_by IS 'Database user';
-- ---------------------------------------------------------------------------
-- ops, part 4: the audit trail.  Every change to a clinical priority, a
-- pathway's status (its events' RTT status, kind and date; a waiting-list
-- entry's removal), a validation outcome or a mutual aid state is written
-- to ptl.audit_log: who, when, from where, the row, the column, old and new.
-- Loading new events is not audited row by row: each event already carries
-- the batch that brought it (ptl.batch says who opened it and when).
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.audit_log (
    audit_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    changed_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    changed_by      text NOT NULL DEFAULT current_user,
    session_user_name text NOT NULL DEFAULT session_user,
    application_name text DEFAULT current_setting('application_name', true),
    client_addr     inet DEFAULT inet_client_addr(),
    transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
    table_name      text NOT NULL,
    row_key         jsonb NOT NULL,
    action          text NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
    column_name     text NOT NULL,
    old_value       text,
    new_value       text
);
CREATE INDEX audit_log_row_idx ON ptl.audit_log (table_name, row_key);
CREATE INDEX audit_log_changed_at_idx ON ptl.audit_log (changed_at);
SELECT pg_catalog.pg_extension_config_dump('ptl.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.audit_log_audit_id_seq', '');
COMMENT ON TABLE ptl.audit_log IS
    'Who changed a clinical priority, a pathway''s status, a validation outcome or a mutual aid state, when, and from what to what (append only)';
COMMENT ON COLUMN ptl.audit_log.audit_id IS 'Entry number';
COMMENT ON COLUMN ptl.audit_log.changed_at IS 'When (the statement''s clock, not the transaction''s start)';
COMMENT ON COLUMN ptl.audit_log.changed_by IS 'Database role that made the change (current_user)';
COMMENT ON COLUMN ptl.audit_log.session_user_name IS 'Login that was connected (differs after SET ROLE)';
COMMENT ON COLUMN ptl.audit_log.application_name IS 'The client''s application_name';
COMMENT ON COLUMN ptl.audit_log.client_addr IS 'Client address (NULL over a local socket)';
COMMENT ON COLUMN ptl.audit_log.transaction_id IS 'Transaction, to group the changes made together';
COMMENT ON COLUMN ptl.audit_log.table_name IS 'Table changed';
COMMENT ON COLUMN ptl.audit_log.row_key IS 'Primary key of the row, e.g. {"entry_id": 12}';
COMMENT ON COLUMN ptl.audit_log.action IS 'insert, update or delete';
COMMENT ON COLUMN ptl.audit_log.column_name IS 'Column whose value changed';
COMMENT ON COLUMN ptl.audit_log.old_value IS 'Value before (NULL for an insert)';
COMMENT ON COLUMN ptl.audit_log.new_value IS 'Value after (NULL for a delete)';

-- pg_restore, run by a superuser, puts back rows that were audited when they
-- were first written: its inserts are neither audited again nor re-stamped.
-- (Restore custom-format dumps with pg_restore; a plain SQL dump replayed
-- through psql would audit every restored row as new.)
CREATE FUNCTION ptl.restoring() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN current_setting('application_name', true) = 'pg_restore'
   AND (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user);
COMMENT ON FUNCTION ptl.restoring() IS
    'Whether this session is a superuser''s pg_restore (whose inserts restore audited rows rather than make changes)';

-- Whoever writes an entry, it says who and when truly: a role that may
-- change audited rows may insert entries (the triggers run with its rights),
-- but not backdate them, sign them for someone else, or change or delete
-- them (no UPDATE or DELETE is granted).
CREATE FUNCTION ptl.audit_log_stamp() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF ptl.restoring() THEN
        RETURN NEW;
    END IF;
    NEW.changed_at := clock_timestamp();
    NEW.changed_by := current_user;
    NEW.session_user_name := session_user;
    NEW.application_name := current_setting('application_name', true);
    NEW.client_addr := inet_client_addr();
    NEW.transaction_id := pg_current_xact_id();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ptl.audit_log_stamp() IS 'Trigger: stamps an audit entry with the real user, time and transaction';
CREATE TRIGGER audit_log_stamp BEFORE INSERT ON ptl.audit_log
    FOR EACH ROW EXECUTE FUNCTION ptl.audit_log_stamp();

-- Trigger: TG_ARGV[0] lists the key columns, the rest the audited columns.
CREATE FUNCTION ptl.audit_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
    key jsonb;
    col text;
BEGIN
    IF TG_OP = 'INSERT' AND ptl.restoring() THEN
        RETURN NULL;
    END IF;
    SELECT jsonb_object_agg(k, coalesce(new_row, old_row) -> k) INTO key
    FROM unnest(string_to_array(TG_ARGV[0], ',')) k;
    FOREACH col IN ARRAY TG_ARGV[1:] LOOP
        CONTINUE WHEN TG_OP = 'UPDATE' AND (old_row -> col) IS NOT DISTINCT FROM (new_row -> col);
        CONTINUE WHEN TG_OP <> 'UPDATE' AND coalesce(new_row, old_row) ->> col IS NULL;
        INSERT INTO ptl.audit_log (table_name, row_key, action, column_name, old_value, new_value)
        VALUES (TG_TABLE_NAME, key, lower(TG_OP), col, old_row ->> col, new_row ->> col);
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ptl.audit_change() IS
    'Trigger: writes a ptl.audit_log entry for each audited column a row change altered (arguments: key columns, then audited columns)';

-- What is audited.  Events and entries arrive by the hundred thousand in
-- loads, so their inserts are not (the batch records them); their changes
-- and deletions are.
CREATE TRIGGER audit_priority AFTER INSERT OR UPDATE OR DELETE ON ptl.clinical_priority_history
    FOR EACH ROW EXECUTE FUNCTION ptl.audit_change('history_id', 'entry_id', 'priority', 'valid_from', 'reviewed_by', 'reason');
CREATE TRIGGER audit_entry AFTER UPDATE OR DELETE ON ptl.waiting_list_entry
    FOR EACH ROW EXECUTE FUNCTION ptl.audit_change('entry_id', 'clinical_priority', 'removed_date', 'removal_reason', 'tci_date');
CREATE TRIGGER audit_event AFTER UPDATE OR DELETE ON ptl.pathway_event
    FOR EACH ROW EXECUTE FUNCTION ptl.audit_change('event_id', 'pathway_id', 'kind', 'rtt_status', 'event_date', 'ref_date');
CREATE TRIGGER audit_validation AFTER INSERT OR UPDATE OR DELETE ON ptl.pathway_validation
    FOR EACH ROW EXECUTE FUNCTION ptl.audit_change('validation_id', 'pathway_id', 'validated_on', 'validated_by', 'outcome');
CREATE TRIGGER audit_validation_contact AFTER INSERT OR UPDATE OR DELETE ON ptl.validation_contact
    FOR EACH ROW EXECUTE FUNCTION ptl.audit_change('contact_id', 'pathway_id', 'answer', 'applied_at', 'rtt_status_applied');
CREATE TRIGGER audit_request_state AFTER INSERT OR UPDATE OR DELETE ON ptl.mutual_aid_request
    FOR EACH ROW EXECUTE FUNCTION ptl.audit_change('request_id', 'state');
CREATE TRIGGER audit_offer_state AFTER INSERT OR UPDATE OR DELETE ON ptl.mutual_aid_offer
    FOR EACH ROW EXECUTE FUNCTION ptl.audit_change('offer_id', 'state');
CREATE TRIGGER audit_link_decision AFTER INSERT OR UPDATE OR DELETE ON ptl.link_decision
    FOR EACH ROW EXECUTE FUNCTION ptl.audit_change('patient_a,patient_b', 'decision', 'decided_by');
-- ---------------------------------------------------------------------------
-- journey: where each pathway is in its journey (the stage it waits in, how
-- long it has been there), the weekly flows between stages, and the stages
-- whose queue grows faster than it clears.  docs/journey.md.
--
-- A pathway's stage is derived from its events, replayed in date order: each
-- event either moves the pathway to a stage or leaves it where it is.  Which
-- stage an event means is data (ptl.journey_stage_rule), because trusts code
-- the same step differently; a trust's own rules beat the ICS-wide ones.
-- Waiting-list entries add what events may not say: a decision to admit, a
-- booked admission date, and removal from the list.  ptl.refresh derives the
-- stages (ptl.journey_compute) for the pathways it recomputes.
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.journey_stage (
    stage           text PRIMARY KEY CHECK (stage ~ '^[a-z_]+$'),
    label           text NOT NULL,
    sort_order      int NOT NULL UNIQUE,
    closed          boolean NOT NULL,
    queue           boolean NOT NULL,
    description     text NOT NULL,
    shipped         boolean NOT NULL DEFAULT false,
    CHECK (NOT (closed AND queue))
);
SELECT pg_catalog.pg_extension_config_dump('ptl.journey_stage', 'WHERE NOT shipped');
COMMENT ON TABLE ptl.journey_stage IS
    'The stages of a patient''s journey: open ones a pathway waits in, closed ones it ends in. ptl ships the stages of docs/journey.md; a trust may add its own';
COMMENT ON COLUMN ptl.journey_stage.stage IS 'Name of the stage, e.g. awaiting_first_outpatient';
COMMENT ON COLUMN ptl.journey_stage.label IS 'The stage in words, for reports';
COMMENT ON COLUMN ptl.journey_stage.sort_order IS 'Order along the journey, for reports';
COMMENT ON COLUMN ptl.journey_stage.closed IS 'True for stages a pathway ends in (treated, discharged, died)';
COMMENT ON COLUMN ptl.journey_stage.queue IS
    'True for stages where the provider owes the next step: these are the queues whose growth flags a bottleneck';
COMMENT ON COLUMN ptl.journey_stage.description IS 'What being in the stage means';
COMMENT ON COLUMN ptl.journey_stage.shipped IS 'True for the stages ptl ships';

INSERT INTO ptl.journey_stage (stage, label, sort_order, closed, queue, description, shipped) VALUES
    ('awaiting_first_outpatient', 'Awaiting first outpatient appointment', 10, false, true,
     'Referred (or transferred in) and not yet seen: first appointments booked, cancelled or not attended leave the patient here', true),
    ('awaiting_follow_up', 'Awaiting follow-up or diagnostics', 20, false, true,
     'Seen, with the clock running: waiting for a further appointment, a test or its result before a decision', true),
    ('decision_to_admit_no_date', 'Decision to admit, no date', 30, false, true,
     'On the admitted waiting list without an admission date (or the offered date was declined)', true),
    ('date_booked', 'Admission date booked', 40, false, true,
     'On the admitted waiting list with a date to come in', true),
    ('active_monitoring', 'Active monitoring', 50, false, false,
     'Clock stopped for active monitoring (watchful waiting): reviewed, not treated, for now', true),
    ('transferred', 'Transferred to another provider', 60, false, false,
     'Sent to another provider, who carries the pathway on', true),
    ('treated', 'Treated', 70, true, false,
     'First definitive treatment given (clock stopped), including follow-up afterwards', true),
    ('discharged', 'Discharged without treatment', 80, true, false,
     'Discharged, or a decision not to treat, or taken off the list as no longer needed', true),
    ('declined', 'Declined treatment', 90, true, false,
     'The patient declined treatment', true),
    ('died', 'Died', 100, true, false,
     'The patient died before treatment', true);

CREATE TABLE ptl.journey_stage_rule (
    rule_id         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    provider_org    text REFERENCES ptl.organisation (org_code),
    kind            ptl.event_kind NOT NULL,
    rtt_status      text CHECK (rtt_status ~ '^[0-9]{2}$'),
    stage           text REFERENCES ptl.journey_stage (stage),
    shipped         boolean NOT NULL DEFAULT false,
    set_at          timestamptz NOT NULL DEFAULT now(),
    set_by          text NOT NULL DEFAULT current_user,
    note            text
);
CREATE UNIQUE INDEX journey_stage_rule_key_idx
    ON ptl.journey_stage_rule (coalesce(provider_org, ''), kind, coalesce(rtt_status, ''), shipped);
SELECT pg_catalog.pg_extension_config_dump('ptl.journey_stage_rule', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('ptl.journey_stage_rule_rule_id_seq', '');
COMMENT ON TABLE ptl.journey_stage_rule IS
    'Which stage an event moves its pathway to, by event kind and RTT status. The most specific rule wins: an exact status before any status, then a provider''s own rule before the ICS-wide one, then a rule a trust added before the one ptl ships. A change takes effect for every pathway at the next refresh';
COMMENT ON COLUMN ptl.journey_stage_rule.rule_id IS 'ptl''s key for the rule';
COMMENT ON COLUMN ptl.journey_stage_rule.provider_org IS 'The provider whose events the rule reads (NULL: every provider)';
COMMENT ON COLUMN ptl.journey_stage_rule.kind IS 'Event kind';
COMMENT ON COLUMN ptl.journey_stage_rule.rtt_status IS 'RTT status recorded on the event (NULL: any status, or none)';
COMMENT ON COLUMN ptl.journey_stage_rule.stage IS 'Stage the event moves the pathway to (NULL: the event leaves the stage as it is)';
COMMENT ON COLUMN ptl.journey_stage_rule.shipped IS 'True for the rules ptl ships';
COMMENT ON COLUMN ptl.journey_stage_rule.set_at IS 'When the rule was set';
COMMENT ON COLUMN ptl.journey_stage_rule.set_by IS 'Who set it';
COMMENT ON COLUMN ptl.journey_stage_rule.note IS 'Why the rule is as it is';

-- The shipped reading of the national RTT statuses (rtt-rules.md 9.1 and
-- the status codes of its section 3): 10-12 start or continue a clock, 20
-- continues, 21 transfers, 30 treats, 31/32 start active monitoring, 33
-- is a first-appointment DNA, 34 a decision not to treat, 35 a patient
-- declining, 36 death, 90-92 activity after the clock stopped, 98 outside RTT.
INSERT INTO ptl.journey_stage_rule (kind, rtt_status, stage, shipped, set_at, set_by, note)
SELECT v.kind::ptl.event_kind, v.status, v.stage, true, '-infinity', 'ptl', v.note
FROM (VALUES
    ('referral', NULL, 'awaiting_first_outpatient', 'A new referral waits to be seen'),
    ('transfer_in', NULL, 'awaiting_first_outpatient', 'The receiving provider has yet to see the patient'),
    ('outpatient', NULL, 'awaiting_follow_up', 'Seen: what comes next is a further appointment, test or decision'),
    ('outpatient', '10', 'awaiting_follow_up', 'First activity: seen, clock running'),
    ('outpatient', '20', 'awaiting_follow_up', 'Subsequent activity, clock running'),
    ('outpatient', '21', 'transferred', 'Transferred to another provider at the appointment'),
    ('outpatient', '30', 'treated', 'First definitive treatment in clinic'),
    ('outpatient', '31', 'active_monitoring', 'Active monitoring started by the patient'),
    ('outpatient', '32', 'active_monitoring', 'Active monitoring started by the clinician'),
    ('outpatient', '34', 'discharged', 'Decision not to treat'),
    ('outpatient', '35', 'declined', 'Patient declined treatment'),
    ('outpatient', '36', 'died', 'Patient died'),
    ('outpatient', '90', 'treated', 'Follow-up after treatment: the clock stopped earlier'),
    ('outpatient', '91', 'active_monitoring', 'Review during active monitoring'),
    ('outpatient', '92', NULL, 'Not yet referred for treatment: no change'),
    ('outpatient', '98', NULL, 'Outside RTT: no change'),
    ('dna', NULL, NULL, 'A missed appointment leaves the patient where they were'),
    ('patient_cancel', NULL, NULL, 'A cancelled appointment leaves the patient where they were'),
    ('provider_cancel', NULL, NULL, 'A cancelled appointment leaves the patient where they were'),
    ('decision_to_admit', NULL, 'decision_to_admit_no_date', 'Added to the admitted waiting list'),
    ('tci_offer', NULL, 'date_booked', 'An admission date offered'),
    ('tci_declined', NULL, 'decision_to_admit_no_date', 'The offered date declined: back to waiting for one'),
    ('admission', NULL, 'treated', 'Admitted for treatment'),
    ('admission', '20', 'awaiting_follow_up', 'Admitted for a diagnostic procedure: the clock runs on'),
    ('admission', '10', 'awaiting_follow_up', 'Admitted for a diagnostic procedure: the clock runs on'),
    ('decision', NULL, NULL, 'A decision without a status: no change'),
    ('decision', '10', 'awaiting_follow_up', 'A new clock starts'),
    ('decision', '11', 'awaiting_follow_up', 'A new clock starts after active monitoring'),
    ('decision', '12', 'awaiting_follow_up', 'A new clock starts for a second treatment'),
    ('decision', '20', 'awaiting_follow_up', 'Clock continues'),
    ('decision', '21', 'transferred', 'Transferred to another provider'),
    ('decision', '30', 'treated', 'First definitive treatment'),
    ('decision', '31', 'active_monitoring', 'Active monitoring started by the patient'),
    ('decision', '32', 'active_monitoring', 'Active monitoring started by the clinician'),
    ('decision', '34', 'discharged', 'Decision not to treat'),
    ('decision', '35', 'declined', 'Patient declined treatment'),
    ('decision', '36', 'died', 'Patient died'),
    ('discharge', NULL, 'discharged', 'Discharged back to the referrer'),
    ('discharge', '30', 'treated', 'Discharged after treatment'),
    ('transfer_out', NULL, 'transferred', 'Sent to another provider'),
    ('death', NULL, 'died', 'Patient died'),
    ('patient_ready', NULL, NULL, 'Patient available again (pre-2015 pause): no change')
) AS v (kind, status, stage, note);

-- A changed rule may move any pathway of the providers it covers: the next
-- refresh derives their stages (and clocks) again.
CREATE FUNCTION ptl.journey_stage_rule_changed() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
BEGIN
    INSERT INTO ptl.rtt_dirty_pathway (pathway_id)
    SELECT p.pathway_id FROM ptl.pathway p
    WHERE EXISTS (SELECT 1 FROM changed_rows c WHERE c.provider_org IS NULL OR c.provider_org = p.provider_org)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ptl.journey_stage_rule_changed() IS
    'Trigger: marks the pathways of the providers a changed journey stage rule covers for the next refresh';
CREATE TRIGGER journey_stage_rule_inserted AFTER INSERT ON ptl.journey_stage_rule
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.journey_stage_rule_changed();
CREATE TRIGGER journey_stage_rule_updated AFTER UPDATE ON ptl.journey_stage_rule
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.journey_stage_rule_changed();
CREATE TRIGGER journey_stage_rule_deleted AFTER DELETE ON ptl.journey_stage_rule
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.journey_stage_rule_changed();

-- The rule in force for each provider, event kind and status key ('*' =
-- any status): for each, a provider's own rule before the ICS-wide one, a
-- trust's before a shipped one.  An event takes the rule of its exact status
-- if there is one, else that of '*'.
CREATE VIEW ptl.journey_stage_rule_in_force AS
SELECT DISTINCT ON (o.org_code, r.kind, coalesce(r.rtt_status, '*'))
       o.org_code AS provider_org, r.kind, coalesce(r.rtt_status, '*') AS rtt_status, r.stage, r.rule_id
FROM ptl.organisation o
JOIN ptl.journey_stage_rule r ON r.provider_org IS NULL OR r.provider_org = o.org_code
ORDER BY o.org_code, r.kind, coalesce(r.rtt_status, '*'), r.provider_org IS NULL, r.shipped, r.set_at DESC;
COMMENT ON VIEW ptl.journey_stage_rule_in_force IS
    'For each provider, the stage rule in force per event kind and status (''*'': any status); an event takes its exact status''s rule, else ''*''''s';
COMMENT ON COLUMN ptl.journey_stage_rule_in_force.provider_org IS 'Provider';
COMMENT ON COLUMN ptl.journey_stage_rule_in_force.kind IS 'Event kind';
COMMENT ON COLUMN ptl.journey_stage_rule_in_force.rtt_status IS 'RTT status, or * for any';
COMMENT ON COLUMN ptl.journey_stage_rule_in_force.stage IS 'Stage the event moves the pathway to (NULL: no change)';
COMMENT ON COLUMN ptl.journey_stage_rule_in_force.rule_id IS 'The rule (ptl.journey_stage_rule)';

-- Derived, and written only by ptl.journey_compute from the pathways and
-- the stage rules, so it carries no foreign keys: checking four of them on
-- each of some three million rows a full derivation writes at a million
-- referrals took most of its time.  The pathway's provider and specialty
-- are copied in, so that flows and bottlenecks count without a join.
CREATE TABLE ptl.journey_episode (
    pathway_id      bigint NOT NULL,
    episode_no      int NOT NULL CHECK (episode_no > 0),
    provider_org    text NOT NULL,
    treatment_function text NOT NULL,
    stage           text NOT NULL,
    previous_stage  text,
    entered         date NOT NULL,
    entered_by      text NOT NULL,
    left_on         date,
    next_stage      text,
    census          date NOT NULL,
    PRIMARY KEY (pathway_id, episode_no),
    CHECK (left_on IS NULL OR left_on >= entered),
    CHECK ((left_on IS NULL) = (next_stage IS NULL))
);
CREATE INDEX journey_episode_entered_idx ON ptl.journey_episode (entered);
CREATE INDEX journey_episode_current_idx ON ptl.journey_episode (stage) WHERE left_on IS NULL;
COMMENT ON TABLE ptl.journey_episode IS
    'Each pathway''s stages in turn, derived from its events and waiting-list entries up to the census of the last refresh (ptl.journey_compute); the row without left_on is where it is now';
COMMENT ON COLUMN ptl.journey_episode.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.journey_episode.episode_no IS 'Order of the stage on the pathway (1 = first)';
COMMENT ON COLUMN ptl.journey_episode.provider_org IS 'Provider of the pathway record (copied, for counting without a join)';
COMMENT ON COLUMN ptl.journey_episode.treatment_function IS 'Treatment function of the pathway record (copied, as provider_org)';
COMMENT ON COLUMN ptl.journey_episode.stage IS 'Stage (ptl.journey_stage)';
COMMENT ON COLUMN ptl.journey_episode.previous_stage IS 'Stage before (NULL on the first)';
COMMENT ON COLUMN ptl.journey_episode.entered IS 'Date the pathway entered the stage';
COMMENT ON COLUMN ptl.journey_episode.entered_by IS
    'What moved it there: an event kind (e.g. outpatient), or entry_decision, entry_booked, entry_admitted, entry_removed for a waiting-list entry';
COMMENT ON COLUMN ptl.journey_episode.left_on IS 'Date it left the stage (NULL: still in it)';
COMMENT ON COLUMN ptl.journey_episode.next_stage IS 'Stage it left for (NULL: still in it)';
COMMENT ON COLUMN ptl.journey_episode.census IS 'Census the stages were derived at';

-- Replays the events (on or before the census) of the given pathways, or of
-- all with NULL, through the rules in force, and stores their stages.  An
-- event whose rule says NULL (or that no rule covers) leaves the stage as it
-- is; consecutive events meaning the same stage continue one stay in it.
-- Waiting-list entries add their decision to admit, their booked date (when
-- it is known, from the first theatre booking, else from when ptl saw the
-- entry; never before the decision) and their removal.  Returns the stages
-- stored.
CREATE FUNCTION ptl.journey_compute(census date, pathways bigint[] DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    n bigint;
BEGIN
    IF census IS NULL OR NOT isfinite(census) THEN
        RAISE EXCEPTION 'census date must be a finite date, not %', coalesce(census::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF to_regclass('pg_temp.journey_target') IS NOT NULL THEN
        DROP TABLE pg_temp.journey_target;
    END IF;
    CREATE TEMP TABLE journey_target ON COMMIT DROP AS
    SELECT p.pathway_id, p.provider_org, p.treatment_function FROM ptl.pathway p WHERE pathways IS NULL
    UNION ALL
    SELECT p.pathway_id, p.provider_org, p.treatment_function FROM (SELECT DISTINCT u.id FROM unnest(pathways) u (id)) u
    JOIN ptl.pathway p ON p.pathway_id = u.id
    WHERE pathways IS NOT NULL;
    ALTER TABLE journey_target ADD PRIMARY KEY (pathway_id);
    ANALYZE journey_target;

    -- (DELETE, not TRUNCATE: readers keep seeing the old stages until commit)
    IF pathways IS NULL THEN
        DELETE FROM ptl.journey_episode;
    ELSE
        DELETE FROM ptl.journey_episode e USING journey_target t WHERE e.pathway_id = t.pathway_id;
    END IF;

    INSERT INTO ptl.journey_episode (pathway_id, episode_no, provider_org, treatment_function, stage, previous_stage,
                                     entered, entered_by, left_on, next_stage, census)
    WITH rule AS (
        SELECT * FROM ptl.journey_stage_rule_in_force
    ),
    happening AS (
        -- Events, with the stage their rule in force gives (exact status first).
        SELECT e.pathway_id, e.event_date AS on_date, 0 AS source_order, e.event_id AS tiebreak,
               e.kind::text AS what, coalesce(exact.stage, anystatus.stage) AS stage
        FROM ptl.pathway_event e
        JOIN journey_target t ON t.pathway_id = e.pathway_id
        LEFT JOIN rule exact ON exact.provider_org = t.provider_org AND exact.kind = e.kind
                            AND exact.rtt_status = e.rtt_status::text
        LEFT JOIN rule anystatus ON anystatus.provider_org = t.provider_org AND anystatus.kind = e.kind
                                AND anystatus.rtt_status = '*'
        WHERE e.event_date <= census
        UNION ALL
        -- Waiting-list entries: the decision, the date booked, the removal.
        SELECT w.pathway_id, x.on_date, x.source_order, w.entry_id, x.what, x.stage
        FROM ptl.waiting_list_entry w
        JOIN journey_target t ON t.pathway_id = w.pathway_id
        CROSS JOIN LATERAL (VALUES
            (w.decision_to_admit, 1, 'entry_decision', 'decision_to_admit_no_date'),
            (CASE WHEN w.tci_date IS NOT NULL AND w.removed_date IS NULL
                  THEN greatest(w.decision_to_admit,
                                least(coalesce((SELECT min(b.booked_at)::date FROM ptl.theatre_booking b
                                                WHERE b.entry_id = w.entry_id AND b.status <> 'cancelled'),
                                               w.updated_at::date),
                                      w.tci_date, census)) END,
             2, 'entry_booked', 'date_booked'),
            (w.removed_date, 3,
             CASE w.removal_reason WHEN 'admitted' THEN 'entry_admitted' ELSE 'entry_removed' END,
             CASE w.removal_reason WHEN 'admitted' THEN 'treated' WHEN 'no_longer_required' THEN 'discharged'
                                   WHEN 'died' THEN 'died' WHEN 'transferred' THEN 'transferred' END)
        ) AS x (on_date, source_order, what, stage)
        WHERE x.on_date IS NOT NULL AND x.on_date <= census AND x.stage IS NOT NULL
          AND w.decision_to_admit <= census
    ),
    runs AS (
        -- The happenings that name a stage, in order; the others leave the
        -- pathway where it was.
        SELECT h.pathway_id, h.on_date, h.what, h.stage,
               row_number() OVER w AS run, lag(h.stage) OVER w AS before
        FROM happening h
        WHERE h.stage IS NOT NULL
        WINDOW w AS (PARTITION BY h.pathway_id ORDER BY h.on_date, h.source_order, h.tiebreak)
    ),
    stays AS (
        -- A run that names the stage the pathway is already in continues it.
        SELECT r.pathway_id, r.on_date, r.what, r.stage, r.before,
               row_number() OVER w AS episode_no,
               lead(r.on_date) OVER w AS left_on,
               lead(r.stage) OVER w AS next_stage
        FROM runs r
        WHERE r.before IS DISTINCT FROM r.stage
        WINDOW w AS (PARTITION BY r.pathway_id ORDER BY r.run)
    )
    SELECT s.pathway_id, s.episode_no, t.provider_org, t.treatment_function, s.stage, s.before, s.on_date, s.what,
           s.left_on, s.next_stage, census
    FROM stays s
    JOIN journey_target t ON t.pathway_id = s.pathway_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    -- The stages of the other pathways are as they were, only older.
    UPDATE ptl.journey_episode e SET census = census
    WHERE e.left_on IS NULL AND e.census <> census;
    PERFORM ptl.analyze_if_grown('ptl.journey_episode');
    RETURN n;
END
$$;
COMMENT ON FUNCTION ptl.journey_compute(date, bigint[]) IS
    'Derives the journey stages of the given pathways (NULL: all) from their events and waiting-list entries up to the census, through the stage rules in force; stores them in ptl.journey_episode and returns how many';

-- A change to a waiting-list entry (a decision, a date booked, a removal)
-- moves its pathway's stage: the next refresh derives it again.
CREATE TRIGGER waiting_list_entry_inserted AFTER INSERT ON ptl.waiting_list_entry
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.mark_dirty_pathways();
CREATE TRIGGER waiting_list_entry_updated AFTER UPDATE ON ptl.waiting_list_entry
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.mark_dirty_pathways();
CREATE TRIGGER waiting_list_entry_deleted AFTER DELETE ON ptl.waiting_list_entry
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl.mark_dirty_pathways();

-- Where every open pathway is now.
CREATE VIEW ptl.journey AS
SELECT e.pathway_id, p.patient_id, p.provider_org, p.site_code, p.treatment_function,
       e.stage, s.label AS stage_label, s.queue, e.entered AS stage_entered, e.entered_by,
       e.census - e.entered AS days_in_stage,
       (e.census - e.entered) / 7 AS weeks_in_stage,
       p.referral_received,
       e.census - p.referral_received AS days_on_pathway,
       (e.census - p.referral_received) / 7 AS weeks_on_pathway,
       o.days_waited AS rtt_days_waited,
       e.census
FROM ptl.journey_episode e
JOIN ptl.journey_stage s ON s.stage = e.stage AND NOT s.closed
JOIN ptl.pathway p ON p.pathway_id = e.pathway_id
LEFT JOIN ptl.rtt_period o ON o.pathway_id = e.pathway_id AND o.outcome = 'incomplete'
WHERE e.left_on IS NULL;
COMMENT ON VIEW ptl.journey IS
    'Every open pathway record''s current stage, how long it has been in it and on the pathway, at the census of the last refresh';
COMMENT ON COLUMN ptl.journey.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.journey.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.journey.provider_org IS 'Provider';
COMMENT ON COLUMN ptl.journey.site_code IS 'Site that manages the pathway';
COMMENT ON COLUMN ptl.journey.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.journey.stage IS 'Current stage';
COMMENT ON COLUMN ptl.journey.stage_label IS 'Current stage in words';
COMMENT ON COLUMN ptl.journey.queue IS 'True when the provider owes the next step';
COMMENT ON COLUMN ptl.journey.stage_entered IS 'Date it entered the stage';
COMMENT ON COLUMN ptl.journey.entered_by IS 'What moved it there (event kind or entry_*)';
COMMENT ON COLUMN ptl.journey.days_in_stage IS 'Days in the stage at the census';
COMMENT ON COLUMN ptl.journey.weeks_in_stage IS 'Completed weeks in the stage';
COMMENT ON COLUMN ptl.journey.referral_received IS 'Date the provider received the referral';
COMMENT ON COLUMN ptl.journey.days_on_pathway IS 'Days since the referral was received';
COMMENT ON COLUMN ptl.journey.weeks_on_pathway IS 'Completed weeks since the referral was received';
COMMENT ON COLUMN ptl.journey.rtt_days_waited IS 'Days waited on the open RTT clock, if one runs';
COMMENT ON COLUMN ptl.journey.census IS 'Census the stages were derived at';

-- Movements between stages per week: how many entered each stage from which,
-- i.e. how many left each stage for which (from_stage NULL: a new pathway).
CREATE VIEW ptl.journey_flow AS
SELECT date_trunc('week', e.entered)::date AS week_starting, e.provider_org, e.treatment_function,
       e.previous_stage AS from_stage, e.stage AS to_stage, count(*) AS pathways
FROM ptl.journey_episode e
GROUP BY 1, 2, 3, 4, 5;
COMMENT ON VIEW ptl.journey_flow IS
    'Pathways that moved between stages, per week (Monday), provider and specialty: a row counts both those leaving from_stage and those entering to_stage';
COMMENT ON COLUMN ptl.journey_flow.week_starting IS 'Monday of the week of the move';
COMMENT ON COLUMN ptl.journey_flow.provider_org IS 'Provider';
COMMENT ON COLUMN ptl.journey_flow.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.journey_flow.from_stage IS 'Stage left (NULL: the pathway began)';
COMMENT ON COLUMN ptl.journey_flow.to_stage IS 'Stage entered (why it left from_stage)';
COMMENT ON COLUMN ptl.journey_flow.pathways IS 'Pathway records that made the move';

-- The same per stage: how many entered and left each week, and what they
-- left for.
CREATE VIEW ptl.journey_stage_week AS
WITH moves AS (
    SELECT f.week_starting, f.provider_org, f.treatment_function, f.to_stage AS stage, f.pathways AS entered,
           0::bigint AS left_stage, NULL::text AS left_for
    FROM ptl.journey_flow f
    UNION ALL
    SELECT f.week_starting, f.provider_org, f.treatment_function, f.from_stage, 0, f.pathways, f.to_stage
    FROM ptl.journey_flow f WHERE f.from_stage IS NOT NULL
)
SELECT m.week_starting, m.provider_org, m.treatment_function, m.stage,
       sum(m.entered) AS entered, sum(m.left_stage) AS left_stage,
       coalesce(jsonb_object_agg(m.left_for, m.left_stage) FILTER (WHERE m.left_for IS NOT NULL), '{}') AS left_for
FROM moves m
GROUP BY 1, 2, 3, 4;
COMMENT ON VIEW ptl.journey_stage_week IS
    'Per week (Monday), provider, specialty and stage: pathways that entered it, that left it, and the stages they left for';
COMMENT ON COLUMN ptl.journey_stage_week.week_starting IS 'Monday of the week';
COMMENT ON COLUMN ptl.journey_stage_week.provider_org IS 'Provider';
COMMENT ON COLUMN ptl.journey_stage_week.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.journey_stage_week.stage IS 'Stage';
COMMENT ON COLUMN ptl.journey_stage_week.entered IS 'Pathways that entered the stage that week';
COMMENT ON COLUMN ptl.journey_stage_week.left_stage IS 'Pathways that left it that week';
COMMENT ON COLUMN ptl.journey_stage_week.left_for IS 'Why they left: the stages they went to, with how many, e.g. {"treated": 3}';

-- Per provider, specialty and open stage at a census: the queue now and
-- `weeks` weeks before, the mean weekly entries and exits over those weeks,
-- and the clearance time (queue / mean weekly exits).  A queue stage whose
-- entries outpace its exits grows faster than it clears: a bottleneck.
CREATE FUNCTION ptl.journey_bottlenecks(census date DEFAULT NULL, weeks int DEFAULT NULL)
RETURNS TABLE (provider_org text, treatment_function text, stage text, stage_label text,
               queue_now bigint, queue_before bigint, entered_per_week numeric, exited_per_week numeric,
               growth_per_week numeric, clearance_weeks numeric, bottleneck boolean)
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 500
SET search_path = pg_catalog, ptl, pg_temp
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    at_date date := coalesce($1, (SELECT max(e.census) FROM ptl.journey_episode e));
    span int := coalesce($2, (ptl.ops_setting_in_force()).bottleneck_weeks);
    since date;
BEGIN
    IF span < 1 THEN
        RAISE EXCEPTION 'weeks must be at least 1, not %', span
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    since := at_date - 7 * span;
    RETURN QUERY
    WITH counted AS (
        SELECT e.provider_org, e.treatment_function, e.stage,
               count(*) FILTER (WHERE e.entered <= at_date AND (e.left_on IS NULL OR e.left_on > at_date)) AS queue_now,
               count(*) FILTER (WHERE e.entered <= since AND (e.left_on IS NULL OR e.left_on > since)) AS queue_before,
               count(*) FILTER (WHERE e.entered > since AND e.entered <= at_date) AS entered,
               count(*) FILTER (WHERE e.left_on > since AND e.left_on <= at_date) AS exited
        FROM ptl.journey_episode e
        WHERE e.entered <= at_date AND (e.left_on IS NULL OR e.left_on > since)
        GROUP BY 1, 2, 3
    )
    SELECT c.provider_org, c.treatment_function, c.stage, s.label, c.queue_now, c.queue_before,
           round(c.entered::numeric / span, 2), round(c.exited::numeric / span, 2),
           round((c.queue_now - c.queue_before)::numeric / span, 2),
           -- no exits at all: it never clears (NULL, flagged when anyone waits)
           CASE WHEN c.exited > 0 THEN round(c.queue_now / (c.exited::numeric / span), 1) END,
           s.queue AND c.queue_now > 0 AND c.entered > c.exited
    FROM counted c
    JOIN ptl.journey_stage s ON s.stage = c.stage AND NOT s.closed
    ORDER BY 1, 2, s.sort_order;
END
$$;
COMMENT ON FUNCTION ptl.journey_bottlenecks(date, int) IS
    'Per provider, specialty and open stage at a census (default: the last refresh''s): queue now and weeks before (default ops_setting.bottleneck_weeks), mean weekly entries and exits, clearance weeks = queue / mean weekly exits, and whether it is a bottleneck (a queue stage entered faster than it is left)';

CREATE VIEW ptl.journey_bottleneck AS
SELECT * FROM ptl.journey_bottlenecks();
COMMENT ON VIEW ptl.journey_bottleneck IS
    'ptl.journey_bottlenecks at the last refresh''s census over the weeks in ptl.ops_setting';
COMMENT ON COLUMN ptl.journey_bottleneck.provider_org IS 'Provider';
COMMENT ON COLUMN ptl.journey_bottleneck.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.journey_bottleneck.stage IS 'Open stage';
COMMENT ON COLUMN ptl.journey_bottleneck.stage_label IS 'The stage in words';
COMMENT ON COLUMN ptl.journey_bottleneck.queue_now IS 'Pathways in the stage at the census';
COMMENT ON COLUMN ptl.journey_bottleneck.queue_before IS 'Pathways in the stage the given weeks before';
COMMENT ON COLUMN ptl.journey_bottleneck.entered_per_week IS 'Mean pathways entering the stage a week over those weeks';
COMMENT ON COLUMN ptl.journey_bottleneck.exited_per_week IS 'Mean pathways leaving the stage a week';
COMMENT ON COLUMN ptl.journey_bottleneck.growth_per_week IS 'Mean weekly growth of the queue (entries - exits)';
COMMENT ON COLUMN ptl.journey_bottleneck.clearance_weeks IS 'Weeks to clear the queue at the recent exit rate (queue / mean weekly exits; NULL: no exits)';
COMMENT ON COLUMN ptl.journey_bottleneck.bottleneck IS 'True for a queue stage entered faster than it is left';
-- ---------------------------------------------------------------------------
-- beds: the elective beds that booked and proposed admissions will occupy at
-- each site over the coming weeks, against the site's elective bed base.
-- docs/journey.md.
--
-- Length of stay comes from past elective spells (ptl.hospital_spell), per
-- procedure when there are enough of them, else per specialty and intended
-- management, else per intended management.  Beds are counted as the NHS
-- counts them (KH03): occupied overnight, at midnight, so a spell from day a
-- to day b fills the nights a .. b-1 and a same-day case fills none (it is
-- counted as a day case on its day).
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.hospital_spell (
    spell_id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pathway_id          bigint NOT NULL REFERENCES ptl.pathway (pathway_id),
    entry_id            bigint REFERENCES ptl.waiting_list_entry (entry_id),
    site_code           text NOT NULL REFERENCES ptl.site (site_code),
    procedure_code      text CHECK (procedure_code ~ '^[A-Z][0-9]{2}\.?[0-9]?$'),
    treatment_function  text NOT NULL REFERENCES ptl.treatment_function (tfc),
    intended_management text NOT NULL CHECK (intended_management IN ('1', '2', '3', '4', '5')),
    elective            boolean NOT NULL DEFAULT true,
    admitted            date NOT NULL,
    discharged          date,
    CHECK (discharged IS NULL OR discharged >= admitted)
);
CREATE INDEX hospital_spell_admitted_idx ON ptl.hospital_spell (admitted);
CREATE INDEX hospital_spell_in_hospital_idx ON ptl.hospital_spell (site_code) WHERE discharged IS NULL;
CREATE INDEX hospital_spell_pathway_idx ON ptl.hospital_spell (pathway_id);
COMMENT ON TABLE ptl.hospital_spell IS
    'Hospital spells (admission to discharge) of pathways'' patients: the length-of-stay history behind planned bed occupancy, and the patients in a bed now';
COMMENT ON COLUMN ptl.hospital_spell.spell_id IS 'ptl''s key for the spell';
COMMENT ON COLUMN ptl.hospital_spell.pathway_id IS 'Pathway the spell belongs to';
COMMENT ON COLUMN ptl.hospital_spell.entry_id IS 'Waiting-list entry it admitted, if any';
COMMENT ON COLUMN ptl.hospital_spell.site_code IS 'Site of the bed';
COMMENT ON COLUMN ptl.hospital_spell.procedure_code IS 'Main procedure, OPCS-4';
COMMENT ON COLUMN ptl.hospital_spell.treatment_function IS 'Treatment function of the spell';
COMMENT ON COLUMN ptl.hospital_spell.intended_management IS 'INTENDED MANAGEMENT: 1 inpatient, 2 day case, 3 regular day, 4 regular night, 5 two or more nights';
COMMENT ON COLUMN ptl.hospital_spell.elective IS 'True for elective admissions (only these feed the length-of-stay history)';
COMMENT ON COLUMN ptl.hospital_spell.admitted IS 'Admission date';
COMMENT ON COLUMN ptl.hospital_spell.discharged IS 'Discharge date (NULL: still in hospital)';
SELECT pg_catalog.pg_extension_config_dump('ptl.hospital_spell', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.hospital_spell_spell_id_seq', '');

CREATE TABLE ptl.elective_bed_base (
    site_code       text NOT NULL REFERENCES ptl.site (site_code),
    valid_from      date NOT NULL,
    isodow          int CHECK (isodow BETWEEN 1 AND 7),
    beds            int NOT NULL CHECK (beds >= 0),
    set_at          timestamptz NOT NULL DEFAULT now(),
    set_by          text NOT NULL DEFAULT current_user,
    note            text
);
CREATE UNIQUE INDEX elective_bed_base_key_idx ON ptl.elective_bed_base (site_code, valid_from, coalesce(isodow, 0));
COMMENT ON TABLE ptl.elective_bed_base IS
    'The overnight beds a site keeps for elective patients, from a date; a row for one day of the week (isodow) beats the every-day row, e.g. a five-day ward with no beds at the weekend';
COMMENT ON COLUMN ptl.elective_bed_base.site_code IS 'Site';
COMMENT ON COLUMN ptl.elective_bed_base.valid_from IS 'First day the number holds';
COMMENT ON COLUMN ptl.elective_bed_base.isodow IS 'Day of the week it holds for (1 Monday .. 7 Sunday; NULL: every day)';
COMMENT ON COLUMN ptl.elective_bed_base.beds IS 'Elective beds open overnight';
COMMENT ON COLUMN ptl.elective_bed_base.set_at IS 'When it was set';
COMMENT ON COLUMN ptl.elective_bed_base.set_by IS 'Who set it';
COMMENT ON COLUMN ptl.elective_bed_base.note IS 'Why, e.g. ward closed for refurbishment';
SELECT pg_catalog.pg_extension_config_dump('ptl.elective_bed_base', '');

-- Lengths of stay (nights) of elective spells discharged in the history
-- window before the census, at three levels: a procedure, a specialty with
-- its intended management, an intended management.  Each level has the
-- percentile stay and the share still in hospital after each night.
CREATE FUNCTION ptl.length_of_stay(census date, percentile float8 DEFAULT NULL)
RETURNS TABLE (level text, key text, spells bigint, nights_at_percentile int, mean_nights numeric,
               still_in_after float8[])
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 200
SET search_path = pg_catalog, ptl, pg_temp
-- a few hundred thousand spells: compiling the query (JIT) cost more than running it
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    s ptl.ops_setting := ptl.ops_setting_in_force();
    p float8 := coalesce($2, s.los_percentile);
    since date := $1 - s.los_history;
BEGIN
    IF $1 IS NULL OR NOT isfinite($1) THEN
        RAISE EXCEPTION 'census date must be a finite date, not %', coalesce($1::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p <= 0 OR p >= 1 THEN
        RAISE EXCEPTION 'length-of-stay percentile must be between 0 and 1 (exclusive), not %', p
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'e.g. 0.8 plans for the stay 80% of past patients were home within';
    END IF;
    RETURN QUERY
    WITH stay AS (
        -- spells counted per procedure, specialty, management and stay:
        -- a few thousand rows however many spells, so what follows is cheap
        SELECT h.procedure_code, h.treatment_function,
               CASE WHEN h.intended_management IN ('2', '3') THEN 'day' ELSE 'overnight' END AS management,
               h.discharged - h.admitted AS nights, count(*) AS spells
        FROM ptl.hospital_spell h
        WHERE h.elective AND h.discharged IS NOT NULL AND h.discharged > since AND h.discharged <= $1
        GROUP BY 1, 2, 3, 4
    ),
    per_stay AS (
        SELECT g.level, g.key, st.nights, sum(st.spells) AS spells
        FROM stay st
        CROSS JOIN LATERAL (VALUES ('procedure', st.procedure_code),
                                   ('specialty', st.treatment_function || '/' || st.management),
                                   ('management', st.management)) g (level, key)
        WHERE g.key IS NOT NULL
        GROUP BY 1, 2, 3
    ),
    cumulative AS (
        SELECT ps.*, sum(ps.spells) OVER (PARTITION BY ps.level, ps.key ORDER BY ps.nights) AS up_to,
               sum(ps.spells) OVER (PARTITION BY ps.level, ps.key) AS total
        FROM per_stay ps
    ),
    summary AS (
        -- the percentile by nearest rank (as percentile_disc): the shortest
        -- stay at least that share of spells were home within
        SELECT c.level, c.key, min(c.total)::bigint AS spells,
               min(c.nights) FILTER (WHERE c.up_to >= p * c.total) AS at_percentile,
               round(sum(c.nights * c.spells)::numeric / min(c.total), 2) AS mean_nights
        FROM cumulative c GROUP BY 1, 2
    ),
    curve AS (
        -- spells longer than n nights = all spells - those of n nights or fewer
        SELECT sm.level, sm.key, g.n,
               (sm.spells - sum(coalesce(ps.spells, 0)) OVER (PARTITION BY sm.level, sm.key ORDER BY g.n))::float8
                   / sm.spells AS still_in
        FROM summary sm
        CROSS JOIN generate_series(0, 90) g (n)
        LEFT JOIN per_stay ps ON ps.level = sm.level AND ps.key = sm.key AND ps.nights = g.n
    )
    SELECT sm.level, sm.key, sm.spells, sm.at_percentile, sm.mean_nights, cv.still_in
    FROM summary sm
    JOIN (SELECT c.level, c.key, array_agg(c.still_in ORDER BY c.n) AS still_in FROM curve c GROUP BY 1, 2) cv
      ON cv.level = sm.level AND cv.key = sm.key;
END
$$;
COMMENT ON FUNCTION ptl.length_of_stay(date, float8) IS
    'Nights in hospital of elective spells discharged within ops_setting.los_history before the census, per procedure, specialty/management (day or overnight) and management: spells, the stay at the percentile (default ops_setting.los_percentile), the mean, and still_in_after[n+1] = share still in after n nights';

-- Planned admissions from the census on: booked theatre cases, admission
-- dates booked on the waiting list, and the latest proposal run's proposed
-- cases not yet booked.  One row per waiting-list entry (a theatre booking
-- beats the entry's own date, a booking beats a proposal).
CREATE FUNCTION ptl.planned_admissions(census date, horizon_days int DEFAULT NULL)
RETURNS TABLE (entry_id bigint, pathway_id bigint, site_code text, admission_date date, source text,
               procedure_code text, treatment_function text, intended_management text)
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1000
SET search_path = pg_catalog, ptl, pg_temp
AS $$
    WITH window_days AS (
        SELECT $1 AS first_day, $1 + coalesce($2, (ptl.ops_setting_in_force()).bed_horizon_days) - 1 AS last_day
    ),
    booked AS (
        SELECT b.entry_id, t.site_code, s.session_date AS admission_date, 'theatre_booking' AS source, 1 AS rank
        FROM ptl.theatre_booking b
        JOIN ptl.theatre_session s ON s.session_id = b.session_id AND NOT s.cancelled
        JOIN ptl.theatre t ON t.theatre_code = s.theatre_code, window_days d
        WHERE b.status = 'booked' AND s.session_date BETWEEN d.first_day AND d.last_day
    ),
    dated AS (
        SELECT w.entry_id, coalesce(w.site_code, p.site_code) AS site_code, w.tci_date, 'tci_date', 2
        FROM ptl.waiting_list_entry w
        JOIN ptl.pathway p ON p.pathway_id = w.pathway_id, window_days d
        WHERE w.removed_date IS NULL AND w.tci_date BETWEEN d.first_day AND d.last_day
    ),
    proposed AS (
        SELECT pr.entry_id, t.site_code, s.session_date, 'theatre_proposal', 3
        FROM ptl.theatre_proposal pr
        JOIN ptl.theatre_session s ON s.session_id = pr.session_id AND NOT s.cancelled
        JOIN ptl.theatre t ON t.theatre_code = s.theatre_code, window_days d
        WHERE pr.status = 'proposed'
          AND pr.run_id = (SELECT max(r.run_id) FROM ptl.theatre_proposal_run r)
          AND s.session_date BETWEEN d.first_day AND d.last_day
    ),
    picked AS (
        SELECT DISTINCT ON (a.entry_id) a.*
        FROM (SELECT * FROM booked UNION ALL SELECT * FROM dated UNION ALL SELECT * FROM proposed) a
        ORDER BY a.entry_id, a.rank
    )
    SELECT k.entry_id, w.pathway_id, k.site_code, k.admission_date, k.source,
           w.procedure_code, p.treatment_function, w.intended_management
    FROM picked k
    JOIN ptl.waiting_list_entry w ON w.entry_id = k.entry_id AND w.removed_date IS NULL
    JOIN ptl.pathway p ON p.pathway_id = w.pathway_id
    WHERE k.site_code IS NOT NULL
$$;
COMMENT ON FUNCTION ptl.planned_admissions(date, int) IS
    'Admissions planned from the census for horizon_days (default ops_setting.bed_horizon_days): theatre bookings, then booked admission dates, then the latest run''s proposed cases; one per open waiting-list entry';

-- Expected occupied elective beds per site and night.  Each admission fills
-- nights from its day: in expectation (the share of past stays still in),
-- and at the percentile (every patient staying the percentile stay), which
-- is what the bed base is compared with.  Patients in a bed at the census
-- count too: in expectation given how long they have stayed, and at the
-- percentile until their stay reaches it.  Stays are read per procedure
-- with at least ops_setting.los_min_spells past spells, else per specialty
-- and management, else per management; with no history at all, a day case
-- goes home the same day and an inpatient after one night.
CREATE FUNCTION ptl.bed_occupancy(census date, horizon_days int DEFAULT NULL, percentile float8 DEFAULT NULL)
RETURNS TABLE (site_code text, day date, admissions bigint, day_cases bigint, expected_beds numeric,
               planned_beds bigint, bed_base int, over_base boolean, beds_free bigint)
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 300
SET search_path = pg_catalog, ptl, pg_temp
-- small joins the planner over-estimates: compiling them (JIT) took a second
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    s ptl.ops_setting := ptl.ops_setting_in_force();
    horizon int := coalesce($2, s.bed_horizon_days);
BEGIN
    IF horizon IS NULL OR horizon < 1 OR horizon > 366 THEN
        RAISE EXCEPTION 'horizon must be 1 to 366 days, not %', coalesce(horizon::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    WITH los AS (
        SELECT * FROM ptl.length_of_stay($1, $3)
    ),
    patient AS (
        -- who will be (or is) in a bed, from which day, with which stay
        SELECT a.site_code, a.admission_date AS admitted, 0 AS stayed,
               CASE WHEN a.intended_management IN ('2', '3') THEN 'day' ELSE 'overnight' END AS management,
               a.procedure_code, a.treatment_function
        FROM ptl.planned_admissions($1, horizon) a
        UNION ALL
        SELECT h.site_code, h.admitted, $1 - h.admitted,
               CASE WHEN h.intended_management IN ('2', '3') THEN 'day' ELSE 'overnight' END,
               h.procedure_code, h.treatment_function
        FROM ptl.hospital_spell h
        WHERE h.elective AND h.admitted < $1 AND h.discharged IS NULL
    ),
    with_stay AS (
        SELECT pt.*,
               coalesce(bp.nights_at_percentile, bs.nights_at_percentile, bm.nights_at_percentile,
                        CASE pt.management WHEN 'day' THEN 0 ELSE 1 END) AS stay,
               coalesce(bp.still_in_after, bs.still_in_after, bm.still_in_after,
                        CASE pt.management WHEN 'day' THEN ARRAY[0::float8] ELSE ARRAY[1::float8, 0] END) AS still_in
        FROM patient pt
        LEFT JOIN los bp ON bp.level = 'procedure' AND bp.key = pt.procedure_code AND bp.spells >= s.los_min_spells
        LEFT JOIN los bs ON bs.level = 'specialty' AND bs.key = pt.treatment_function || '/' || pt.management
                        AND bs.spells >= s.los_min_spells
        LEFT JOIN los bm ON bm.level = 'management' AND bm.key = pt.management
    ),
    night AS (
        -- Night n after admission (0 = the admission night) inside the
        -- window.  still_in[n + 1] is the share of past stays longer than n
        -- nights; a patient in a bed at the census (stayed > 0) is there
        -- tonight, and after that as likely as a past patient who had
        -- stayed as long.
        SELECT ws.site_code, ws.admitted + n AS day,
               CASE WHEN ws.stayed > 0 AND n = ws.stayed THEN 1
                    ELSE coalesce(ws.still_in[n + 1]
                                  / nullif(CASE WHEN ws.stayed = 0 THEN 1 ELSE ws.still_in[ws.stayed + 1] END, 0), 0)
               END AS expected,
               n < greatest(ws.stay, CASE WHEN ws.stayed > 0 THEN ws.stayed + 1 ELSE 0 END) AS at_percentile
        FROM with_stay ws
        -- up to the night after which no past stay lasted (nor the percentile)
        CROSS JOIN LATERAL generate_series(ws.stayed,
                                           least(ws.stayed + horizon - 1,
                                                 greatest(ws.stay, ws.stayed + 1,
                                                          coalesce(array_position(ws.still_in, 0::float8), 92) - 1))) n
        WHERE ws.admitted + n BETWEEN $1 AND $1 + horizon - 1
    ),
    by_night AS (
        SELECT nt.site_code, nt.day, sum(least(nt.expected, 1)) AS expected,
               count(*) FILTER (WHERE nt.at_percentile) AS planned
        FROM night nt
        WHERE nt.at_percentile OR nt.expected > 0
        GROUP BY 1, 2
    ),
    arriving AS (
        SELECT pt.site_code, pt.admitted AS day, count(*) AS admissions,
               count(*) FILTER (WHERE pt.management = 'day') AS day_cases
        FROM patient pt WHERE pt.stayed = 0 GROUP BY 1, 2
    ),
    grid AS (
        SELECT si.site_code, $1 + d.offset_days AS day
        FROM (SELECT DISTINCT x.site_code FROM (SELECT site_code FROM with_stay
                                                UNION SELECT site_code FROM ptl.elective_bed_base) x) si
        CROSS JOIN generate_series(0, horizon - 1) d (offset_days)
    )
    SELECT g.site_code, g.day, coalesce(a.admissions, 0), coalesce(a.day_cases, 0),
           round(coalesce(b.expected, 0)::numeric, 1), coalesce(b.planned, 0), base.beds,
           coalesce(b.planned, 0) > base.beds,
           base.beds - coalesce(b.planned, 0)
    FROM grid g
    LEFT JOIN by_night b ON b.site_code = g.site_code AND b.day = g.day
    LEFT JOIN arriving a ON a.site_code = g.site_code AND a.day = g.day
    LEFT JOIN LATERAL (
        SELECT e.beds FROM ptl.elective_bed_base e
        WHERE e.site_code = g.site_code AND e.valid_from <= g.day
          AND (e.isodow IS NULL OR e.isodow = extract(isodow FROM g.day))
        ORDER BY e.valid_from DESC, e.isodow IS NULL LIMIT 1) base ON true
    ORDER BY 1, 2;
END
$$;
COMMENT ON FUNCTION ptl.bed_occupancy(date, int, float8) IS
    'Per site and night from the census: planned admissions and day cases, expected occupied elective beds (mean), planned beds at the length-of-stay percentile, the elective bed base, and whether planned beds exceed it';
-- ---------------------------------------------------------------------------
-- outpatient: clinics and their sessions, appointments with attendance and
-- clinic outcome, follow-up requests with their latest clinically
-- appropriate date (LCAD), patient-initiated follow-up (PIFU), and advice
-- and guidance.  docs/outpatients.md.
--
-- Follow-ups after a clock stop sit outside RTT and start no clock
-- (rtt-rules.md 4.7): they are managed by risk and LCAD, which is what the
-- non-RTT follow-up list here does; NHS England asks trusts to validate
-- these lists as well as the RTT list (rtt-rules.md 10.1), so the same
-- validation campaigns run on them.
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.clinic (
    clinic_code         text PRIMARY KEY CHECK (clinic_code <> ''),
    site_code           text NOT NULL REFERENCES ptl.site (site_code),
    treatment_function  text NOT NULL REFERENCES ptl.treatment_function (tfc),
    name                text NOT NULL,
    consultant_code     text
);
CREATE INDEX clinic_site_idx ON ptl.clinic (site_code);
COMMENT ON TABLE ptl.clinic IS 'Outpatient clinics: a specialty''s clinic at a site, usually one consultant''s';
COMMENT ON COLUMN ptl.clinic.clinic_code IS 'The trust''s code for the clinic';
COMMENT ON COLUMN ptl.clinic.site_code IS 'Site';
COMMENT ON COLUMN ptl.clinic.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.clinic.name IS 'Name of the clinic';
COMMENT ON COLUMN ptl.clinic.consultant_code IS 'Consultant who runs it, if one does';
SELECT pg_catalog.pg_extension_config_dump('ptl.clinic', '');

CREATE TABLE ptl.clinic_session (
    session_id      bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    clinic_code     text NOT NULL REFERENCES ptl.clinic (clinic_code),
    session_date    date NOT NULL,
    slots           int NOT NULL CHECK (slots >= 0),
    cancelled       boolean NOT NULL DEFAULT false,
    UNIQUE (clinic_code, session_date)
);
CREATE INDEX clinic_session_date_idx ON ptl.clinic_session (session_date);
COMMENT ON TABLE ptl.clinic_session IS 'A clinic on a day, with the appointment slots it offers';
COMMENT ON COLUMN ptl.clinic_session.session_id IS 'ptl''s key for the session';
COMMENT ON COLUMN ptl.clinic_session.clinic_code IS 'Clinic';
COMMENT ON COLUMN ptl.clinic_session.session_date IS 'Date';
COMMENT ON COLUMN ptl.clinic_session.slots IS 'Appointment slots offered';
COMMENT ON COLUMN ptl.clinic_session.cancelled IS 'True if the whole session was cancelled (its slots are not offered)';
SELECT pg_catalog.pg_extension_config_dump('ptl.clinic_session', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.clinic_session_session_id_seq', '');

CREATE TABLE ptl.outpatient_appointment (
    appointment_id      bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pathway_id          bigint NOT NULL REFERENCES ptl.pathway (pathway_id),
    clinic_code         text NOT NULL REFERENCES ptl.clinic (clinic_code),
    appointment_date    date NOT NULL,
    appointment_type    text NOT NULL CHECK (appointment_type IN ('first', 'follow_up')),
    attendance          text NOT NULL DEFAULT 'booked'
                        CHECK (attendance IN ('booked', 'attended', 'dna', 'cancelled_by_patient', 'cancelled_by_hospital')),
    outcome             text CHECK (outcome IN ('discharged', 'follow_up', 'pifu', 'listed', 'other')),
    follow_up_weeks     int CHECK (follow_up_weeks BETWEEN 1 AND 520),
    booked_on           date,
    CHECK (outcome IS NULL OR attendance = 'attended'),
    CHECK ((outcome = 'follow_up') = (follow_up_weeks IS NOT NULL)),
    CHECK (booked_on IS NULL OR booked_on <= appointment_date)
);
CREATE INDEX outpatient_appointment_pathway_idx ON ptl.outpatient_appointment (pathway_id, appointment_date);
CREATE INDEX outpatient_appointment_clinic_date_idx ON ptl.outpatient_appointment (clinic_code, appointment_date);
CREATE INDEX outpatient_appointment_date_idx ON ptl.outpatient_appointment (appointment_date);
COMMENT ON TABLE ptl.outpatient_appointment IS
    'Outpatient appointments, first and follow-up: booked, attended, not attended (DNA) or cancelled (by whom), and the clinic outcome';
COMMENT ON COLUMN ptl.outpatient_appointment.appointment_id IS 'ptl''s key for the appointment';
COMMENT ON COLUMN ptl.outpatient_appointment.pathway_id IS 'Pathway the appointment belongs to';
COMMENT ON COLUMN ptl.outpatient_appointment.clinic_code IS 'Clinic';
COMMENT ON COLUMN ptl.outpatient_appointment.appointment_date IS 'Date of the appointment';
COMMENT ON COLUMN ptl.outpatient_appointment.appointment_type IS 'first or follow_up';
COMMENT ON COLUMN ptl.outpatient_appointment.attendance IS 'booked (still to happen), attended, dna, cancelled_by_patient or cancelled_by_hospital';
COMMENT ON COLUMN ptl.outpatient_appointment.outcome IS
    'Clinic outcome of an attendance: discharged, follow_up (in follow_up_weeks), pifu (moved to patient-initiated follow-up), listed (added to the admitted list), other';
COMMENT ON COLUMN ptl.outpatient_appointment.follow_up_weeks IS 'Weeks to the follow-up asked for (outcome follow_up)';
COMMENT ON COLUMN ptl.outpatient_appointment.booked_on IS 'When the appointment was booked';

CREATE TABLE ptl.follow_up_request (
    request_id              bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pathway_id              bigint NOT NULL REFERENCES ptl.pathway (pathway_id),
    treatment_function      text NOT NULL REFERENCES ptl.treatment_function (tfc),
    clinic_code             text REFERENCES ptl.clinic (clinic_code),
    from_appointment_id     bigint REFERENCES ptl.outpatient_appointment (appointment_id),
    requested_on            date NOT NULL,
    due_date                date NOT NULL,
    lcad                    date NOT NULL,
    clinical_risk           text CHECK (clinical_risk IN ('high', 'medium', 'low')),
    unavailable_until       date,
    seen_appointment_id     bigint REFERENCES ptl.outpatient_appointment (appointment_id),
    closed_on               date,
    closed_reason           text CHECK (closed_reason IN ('seen', 'discharged', 'pifu', 'no_longer_required',
                                                          'died', 'transferred')),
    CHECK (due_date >= requested_on),
    CHECK (lcad >= due_date),
    CHECK ((closed_on IS NULL) = (closed_reason IS NULL)),
    CHECK (closed_on IS NULL OR closed_on >= requested_on),
    CHECK ((closed_reason = 'seen') = (seen_appointment_id IS NOT NULL))
);
CREATE INDEX follow_up_request_pathway_idx ON ptl.follow_up_request (pathway_id);
CREATE INDEX follow_up_request_open_idx ON ptl.follow_up_request (lcad) WHERE closed_on IS NULL;
COMMENT ON TABLE ptl.follow_up_request IS
    'Follow-ups a clinician asked for: when (due), by when at the latest (LCAD), how risky a delay is, and how the request ended';
COMMENT ON COLUMN ptl.follow_up_request.request_id IS 'ptl''s key for the request';
COMMENT ON COLUMN ptl.follow_up_request.pathway_id IS 'Pathway';
COMMENT ON COLUMN ptl.follow_up_request.treatment_function IS 'Treatment function (specialty) to see the patient';
COMMENT ON COLUMN ptl.follow_up_request.clinic_code IS 'Clinic to see the patient in, if set';
COMMENT ON COLUMN ptl.follow_up_request.from_appointment_id IS 'The attendance whose outcome asked for it';
COMMENT ON COLUMN ptl.follow_up_request.requested_on IS 'Date it was asked for';
COMMENT ON COLUMN ptl.follow_up_request.due_date IS 'When the clinician wants to see the patient';
COMMENT ON COLUMN ptl.follow_up_request.lcad IS 'Latest clinically appropriate date: seeing the patient later than this risks harm';
COMMENT ON COLUMN ptl.follow_up_request.clinical_risk IS 'Risk of harm from delay, as the clinician stratified it: high, medium or low (NULL: not stratified)';
COMMENT ON COLUMN ptl.follow_up_request.unavailable_until IS 'The patient said they cannot come before this date (a validation answer)';
COMMENT ON COLUMN ptl.follow_up_request.seen_appointment_id IS 'The attendance that met it (closed_reason seen)';
COMMENT ON COLUMN ptl.follow_up_request.closed_on IS 'Date the request ended (NULL: still waiting)';
COMMENT ON COLUMN ptl.follow_up_request.closed_reason IS 'seen, discharged, pifu, no_longer_required, died or transferred';

CREATE TABLE ptl.pifu_episode (
    pifu_id                 bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pathway_id              bigint NOT NULL REFERENCES ptl.pathway (pathway_id),
    treatment_function      text NOT NULL REFERENCES ptl.treatment_function (tfc),
    from_appointment_id     bigint REFERENCES ptl.outpatient_appointment (appointment_id),
    started_on              date NOT NULL,
    window_end              date NOT NULL,
    initiated_on            date,
    ended_on                date,
    end_reason              text CHECK (end_reason IN ('discharged_at_window_end', 'discharged_early',
                                                       'returned_to_routine_follow_up')),
    CHECK (window_end > started_on),
    CHECK (initiated_on IS NULL OR initiated_on BETWEEN started_on AND window_end),
    CHECK ((ended_on IS NULL) = (end_reason IS NULL)),
    CHECK (ended_on IS NULL OR ended_on >= started_on)
);
CREATE INDEX pifu_episode_pathway_idx ON ptl.pifu_episode (pathway_id);
COMMENT ON TABLE ptl.pifu_episode IS
    'Patient-initiated follow-up: a patient who books their own follow-up when they need it, within a window, instead of a routine review';
COMMENT ON COLUMN ptl.pifu_episode.pifu_id IS 'ptl''s key';
COMMENT ON COLUMN ptl.pifu_episode.pathway_id IS 'Pathway';
COMMENT ON COLUMN ptl.pifu_episode.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.pifu_episode.from_appointment_id IS 'The attendance that moved the patient to PIFU';
COMMENT ON COLUMN ptl.pifu_episode.started_on IS 'Date moved to PIFU';
COMMENT ON COLUMN ptl.pifu_episode.window_end IS 'Last day the patient may initiate a follow-up';
COMMENT ON COLUMN ptl.pifu_episode.initiated_on IS 'Date the patient first asked to be seen (NULL: not yet, or never)';
COMMENT ON COLUMN ptl.pifu_episode.ended_on IS 'Date the episode ended (NULL: open)';
COMMENT ON COLUMN ptl.pifu_episode.end_reason IS 'discharged_at_window_end, discharged_early or returned_to_routine_follow_up';

CREATE TABLE ptl.advice_request (
    advice_id               bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    provider_org            text NOT NULL REFERENCES ptl.organisation (org_code),
    treatment_function      text NOT NULL REFERENCES ptl.treatment_function (tfc),
    gp_practice_code        text,
    requested_on            date NOT NULL,
    responded_on            date,
    outcome                 text NOT NULL DEFAULT 'pending'
                            CHECK (outcome IN ('pending', 'diverted', 'referral_advised', 'other')),
    referred_pathway_id     bigint REFERENCES ptl.pathway (pathway_id),
    CHECK ((outcome = 'pending') = (responded_on IS NULL)),
    CHECK (responded_on IS NULL OR responded_on >= requested_on)
);
CREATE INDEX advice_request_requested_idx ON ptl.advice_request (requested_on);
COMMENT ON TABLE ptl.advice_request IS
    'Advice and guidance: a GP asks a specialist before (or instead of) referring; diverted means the patient was managed without a referral';
COMMENT ON COLUMN ptl.advice_request.advice_id IS 'ptl''s key';
COMMENT ON COLUMN ptl.advice_request.provider_org IS 'Provider whose specialist was asked';
COMMENT ON COLUMN ptl.advice_request.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.advice_request.gp_practice_code IS 'The practice that asked';
COMMENT ON COLUMN ptl.advice_request.requested_on IS 'Date asked';
COMMENT ON COLUMN ptl.advice_request.responded_on IS 'Date answered (NULL: pending)';
COMMENT ON COLUMN ptl.advice_request.outcome IS 'pending, diverted (no referral needed), referral_advised or other';
COMMENT ON COLUMN ptl.advice_request.referred_pathway_id IS 'The pathway of the referral that followed, if any';

SELECT pg_catalog.pg_extension_config_dump('ptl.outpatient_appointment', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.outpatient_appointment_appointment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.follow_up_request', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.follow_up_request_request_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.pifu_episode', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.pifu_episode_pifu_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.advice_request', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.advice_request_advice_id_seq', '');

-- ---------------------------------------------------------------------------
-- The non-RTT follow-up list
-- ---------------------------------------------------------------------------

-- Open follow-up requests at a census whose pathway has no open RTT clock
-- (those with one are on the PTL), with how far past their LCAD they are
-- (negative: days still to go), the next booked follow-up, the clinician's
-- risk stratification, and the pathway's latest validation.
CREATE FUNCTION ptl.follow_up_backlog(census date DEFAULT NULL)
RETURNS TABLE (request_id bigint, pathway_id bigint, patient_id bigint, provider_org text, site_code text,
               treatment_function text, clinic_code text, requested_on date, due_date date, lcad date,
               days_past_due int, days_past_lcad int, weeks_past_lcad int, overdue boolean, clinical_risk text,
               next_booked date, booked_after_lcad boolean, unavailable_until date,
               last_validated_on date, last_validation_outcome text, census date)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
    WITH c AS (SELECT coalesce($1, (SELECT max(r.census) FROM ptl.rtt_pathway r), current_date) AS census)
    SELECT f.request_id, p.pathway_id, p.patient_id, p.provider_org, p.site_code, f.treatment_function, f.clinic_code,
           f.requested_on, f.due_date, f.lcad,
           c.census - f.due_date, c.census - f.lcad,
           CASE WHEN c.census > f.lcad THEN (c.census - f.lcad) / 7 ELSE 0 END,
           c.census > f.lcad, f.clinical_risk,
           nb.next_booked, nb.next_booked > f.lcad, f.unavailable_until,
           v.validated_on, v.outcome, c.census
    FROM ptl.follow_up_request f
    CROSS JOIN c
    JOIN ptl.pathway p ON p.pathway_id = f.pathway_id
    LEFT JOIN LATERAL (
        SELECT min(a.appointment_date) AS next_booked FROM ptl.outpatient_appointment a
        WHERE a.pathway_id = f.pathway_id AND a.appointment_type = 'follow_up' AND a.attendance = 'booked'
          AND a.appointment_date >= c.census) nb ON true
    LEFT JOIN LATERAL (
        SELECT pv.validated_on, pv.outcome FROM ptl.pathway_validation pv
        WHERE pv.pathway_id = f.pathway_id AND pv.validated_on <= c.census
        ORDER BY pv.validated_on DESC, pv.validation_id DESC LIMIT 1) v ON true
    WHERE f.requested_on <= c.census
      AND (f.closed_on IS NULL OR f.closed_on > c.census)
      AND NOT EXISTS (SELECT 1 FROM ptl.rtt_period r
                      WHERE r.pathway_id = f.pathway_id AND r.outcome = 'incomplete')
$$;
COMMENT ON FUNCTION ptl.follow_up_backlog(date) IS
    'The non-RTT follow-up list at a census (default: the last refresh''s): open follow-up requests of pathways with no open RTT clock, days past due and past LCAD, risk, next booked follow-up, and latest validation';

CREATE VIEW ptl.follow_up_list AS
SELECT * FROM ptl.follow_up_backlog();
COMMENT ON VIEW ptl.follow_up_list IS
    'The non-RTT follow-up list at the last refresh''s census (ptl.follow_up_backlog): follow-ups waiting with no RTT clock, how far past their LCAD';
COMMENT ON COLUMN ptl.follow_up_list.request_id IS 'Follow-up request';
COMMENT ON COLUMN ptl.follow_up_list.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.follow_up_list.patient_id IS 'Patient record';
COMMENT ON COLUMN ptl.follow_up_list.provider_org IS 'Provider';
COMMENT ON COLUMN ptl.follow_up_list.site_code IS 'Site that manages the pathway';
COMMENT ON COLUMN ptl.follow_up_list.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.follow_up_list.clinic_code IS 'Clinic, if set';
COMMENT ON COLUMN ptl.follow_up_list.requested_on IS 'Date the follow-up was asked for';
COMMENT ON COLUMN ptl.follow_up_list.due_date IS 'When the clinician wanted to see the patient';
COMMENT ON COLUMN ptl.follow_up_list.lcad IS 'Latest clinically appropriate date';
COMMENT ON COLUMN ptl.follow_up_list.days_past_due IS 'Days since the due date (negative: not yet due)';
COMMENT ON COLUMN ptl.follow_up_list.days_past_lcad IS 'Days since the LCAD (negative: days still to go)';
COMMENT ON COLUMN ptl.follow_up_list.weeks_past_lcad IS 'Completed weeks past the LCAD (0 if not past)';
COMMENT ON COLUMN ptl.follow_up_list.overdue IS 'True when past the LCAD';
COMMENT ON COLUMN ptl.follow_up_list.clinical_risk IS 'Risk of harm from delay: high, medium, low (NULL: not stratified)';
COMMENT ON COLUMN ptl.follow_up_list.next_booked IS 'Next booked follow-up appointment, if any';
COMMENT ON COLUMN ptl.follow_up_list.booked_after_lcad IS 'True when the next booked follow-up is after the LCAD';
COMMENT ON COLUMN ptl.follow_up_list.unavailable_until IS 'The patient cannot come before this date';
COMMENT ON COLUMN ptl.follow_up_list.last_validated_on IS 'Latest validation of the pathway';
COMMENT ON COLUMN ptl.follow_up_list.last_validation_outcome IS 'Its outcome';
COMMENT ON COLUMN ptl.follow_up_list.census IS 'Census';

-- A validation campaign on the follow-up list: the pathways with a follow-up
-- at least min_days_past_lcad past its LCAD (default 0: due by the LCAD and
-- not yet seen) and no validation in not_validated_weeks weeks.
CREATE FUNCTION ptl.start_follow_up_validation_campaign(name text, min_days_past_lcad int DEFAULT 0,
                                                        not_validated_weeks int DEFAULT 12,
                                                        provider_org text DEFAULT NULL,
                                                        treatment_function text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    c date := (SELECT max(r.census) FROM ptl.rtt_pathway r);
    id bigint;
BEGIN
    IF min_days_past_lcad IS NULL OR not_validated_weeks IS NULL OR not_validated_weeks < 0 THEN
        RAISE EXCEPTION 'invalid campaign rule: % days past the LCAD, not validated in % weeks',
                        coalesce(min_days_past_lcad::text, 'NULL'), coalesce(not_validated_weeks::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Days past the LCAD may be negative (due within that many days); weeks are zero or more.';
    END IF;
    IF c IS NULL THEN
        RAISE EXCEPTION 'there is no census to pick a follow-up validation cohort at'
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'CALL ptl.refresh() first.';
    END IF;
    INSERT INTO ptl.validation_campaign (name, census, min_weeks, not_validated_weeks, provider_org,
                                         treatment_function, list, min_days_past_lcad)
    VALUES (name, c, 0, not_validated_weeks, provider_org, treatment_function, 'follow_up', min_days_past_lcad)
    RETURNING validation_campaign.campaign_id INTO id;
    INSERT INTO ptl.validation_campaign_pathway (campaign_id, pathway_id, days_waited)
    SELECT DISTINCT ON (b.pathway_id) id, b.pathway_id, c - b.requested_on
    FROM ptl.follow_up_backlog(c) b
    WHERE b.days_past_lcad >= min_days_past_lcad
      AND (provider_org IS NULL OR b.provider_org = provider_org)
      AND (treatment_function IS NULL OR b.treatment_function = treatment_function)
      AND (b.last_validated_on IS NULL OR b.last_validated_on <= c - 7 * not_validated_weeks)
    ORDER BY b.pathway_id, b.days_past_lcad DESC;
    RETURN id;
END
$$;
COMMENT ON FUNCTION ptl.start_follow_up_validation_campaign(text, int, int, text, text) IS
    'Starts a validation campaign on the non-RTT follow-up list: pathways with a follow-up at least min_days_past_lcad past its LCAD, not validated in not_validated_weeks weeks; answers are applied by ptl.apply_validation_contact';

-- ---------------------------------------------------------------------------
-- PIFU
-- ---------------------------------------------------------------------------

-- Per provider and specialty at a census: patients moved to PIFU, on it now,
-- who initiated a follow-up, and how the windows that ended ended.
CREATE FUNCTION ptl.pifu_summary(census date DEFAULT NULL)
RETURNS TABLE (provider_org text, treatment_function text, moved_to_pifu bigint, on_pifu_now bigint,
               initiated bigint, windows_ended bigint, discharged_at_window_end bigint, discharged_early bigint,
               returned_to_routine bigint, initiated_pct numeric, discharged_at_end_pct numeric)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
    WITH c AS (SELECT coalesce($1, (SELECT max(r.census) FROM ptl.rtt_pathway r), current_date) AS census),
    e AS (
        SELECT p.provider_org, e.treatment_function, e.started_on, e.window_end,
               CASE WHEN e.initiated_on <= c.census THEN e.initiated_on END AS initiated_on,
               CASE WHEN e.ended_on <= c.census THEN e.ended_on END AS ended_on,
               CASE WHEN e.ended_on <= c.census THEN e.end_reason END AS end_reason, c.census
        FROM ptl.pifu_episode e
        JOIN ptl.pathway p ON p.pathway_id = e.pathway_id
        CROSS JOIN c
        WHERE e.started_on <= c.census
    )
    SELECT e.provider_org, e.treatment_function, count(*),
           count(*) FILTER (WHERE e.ended_on IS NULL AND e.window_end >= e.census),
           count(*) FILTER (WHERE e.initiated_on IS NOT NULL),
           count(*) FILTER (WHERE e.window_end < e.census OR e.ended_on IS NOT NULL),
           count(*) FILTER (WHERE e.end_reason = 'discharged_at_window_end'),
           count(*) FILTER (WHERE e.end_reason = 'discharged_early'),
           count(*) FILTER (WHERE e.end_reason = 'returned_to_routine_follow_up'),
           round(100.0 * count(*) FILTER (WHERE e.initiated_on IS NOT NULL) / count(*), 1),
           round(100.0 * count(*) FILTER (WHERE e.end_reason = 'discharged_at_window_end')
                 / nullif(count(*) FILTER (WHERE e.window_end < e.census OR e.ended_on IS NOT NULL), 0), 1)
    FROM e
    GROUP BY 1, 2
$$;
COMMENT ON FUNCTION ptl.pifu_summary(date) IS
    'PIFU per provider and specialty at a census: moved to PIFU, on it now, initiated a follow-up, windows ended and how (discharged at the end, early, back to routine), and the shares initiated and discharged at the end';
-- ---------------------------------------------------------------------------
-- outpatient measures: per specialty, clinic and week; and the independent
-- sector's activity beside the NHS providers', with displacement.
-- docs/outpatients.md.
-- ---------------------------------------------------------------------------

-- Per week (Monday), provider, specialty and clinic ('clinic' rows), and per
-- provider and specialty ('specialty' rows, which add advice and guidance).
-- The provider is the one running the clinic; weeks run up to the last
-- refresh's census (what has happened).  Rates are per cent:
--   DNA rate: DNAs / (attendances + DNAs), first and follow-up apart;
--   cancellation rates: cancellations by the hospital (or the patient) /
--     all appointments that were due that week;
--   follow-ups per first: follow-up attendances / first attendances (the
--     new-to-follow-up ratio);
--   PIFU uptake: attendances moved to PIFU / attendances;
--   slot utilisation: slots used (attended or not attended) / slots offered
--     in sessions not cancelled;
--   advice diverted: advice answered with no referral needed / answered.
CREATE VIEW ptl.outpatient_measures AS
WITH appt AS (
    SELECT si.org_code AS provider_org, c.treatment_function, a.clinic_code,
           date_trunc('week', a.appointment_date)::date AS week_starting,
           count(*) AS appointments_due,
           count(*) FILTER (WHERE a.appointment_type = 'first' AND a.attendance = 'attended') AS first_attended,
           count(*) FILTER (WHERE a.appointment_type = 'follow_up' AND a.attendance = 'attended') AS follow_up_attended,
           count(*) FILTER (WHERE a.appointment_type = 'first' AND a.attendance = 'dna') AS first_dna,
           count(*) FILTER (WHERE a.appointment_type = 'follow_up' AND a.attendance = 'dna') AS follow_up_dna,
           count(*) FILTER (WHERE a.attendance = 'cancelled_by_hospital') AS hospital_cancelled,
           count(*) FILTER (WHERE a.attendance = 'cancelled_by_patient') AS patient_cancelled,
           count(*) FILTER (WHERE a.outcome = 'pifu') AS moved_to_pifu,
           count(*) FILTER (WHERE a.outcome = 'discharged') AS discharged
    FROM ptl.outpatient_appointment a
    JOIN ptl.clinic c ON c.clinic_code = a.clinic_code
    JOIN ptl.site si ON si.site_code = c.site_code
    WHERE a.attendance <> 'booked' AND a.appointment_date <= (SELECT max(r.census) FROM ptl.rtt_pathway r)
    GROUP BY 1, 2, 3, 4
),
sess AS (
    SELECT si.org_code AS provider_org, c.treatment_function, s.clinic_code,
           date_trunc('week', s.session_date)::date AS week_starting,
           sum(s.slots) FILTER (WHERE NOT s.cancelled) AS slots
    FROM ptl.clinic_session s
    JOIN ptl.clinic c ON c.clinic_code = s.clinic_code
    JOIN ptl.site si ON si.site_code = c.site_code
    WHERE s.session_date <= (SELECT max(r.census) FROM ptl.rtt_pathway r)
      -- sessions and advice hold no patient data, so no row security: show
      -- a user only its own organisations' (as the appointments are)
      AND ((SELECT ptl.sees_all_organisations()) OR si.org_code = ANY ((SELECT ptl.my_organisations())::text[]))
    GROUP BY 1, 2, 3, 4
),
per_clinic AS (
    SELECT coalesce(a.provider_org, s.provider_org) AS provider_org,
           coalesce(a.treatment_function, s.treatment_function) AS treatment_function,
           coalesce(a.clinic_code, s.clinic_code) AS clinic_code,
           coalesce(a.week_starting, s.week_starting) AS week_starting,
           coalesce(a.appointments_due, 0) AS appointments_due, coalesce(a.first_attended, 0) AS first_attended,
           coalesce(a.follow_up_attended, 0) AS follow_up_attended, coalesce(a.first_dna, 0) AS first_dna,
           coalesce(a.follow_up_dna, 0) AS follow_up_dna, coalesce(a.hospital_cancelled, 0) AS hospital_cancelled,
           coalesce(a.patient_cancelled, 0) AS patient_cancelled, coalesce(a.moved_to_pifu, 0) AS moved_to_pifu,
           coalesce(a.discharged, 0) AS discharged, s.slots
    FROM appt a
    FULL JOIN sess s ON s.clinic_code = a.clinic_code AND s.week_starting = a.week_starting
),
advice AS (
    SELECT r.provider_org, r.treatment_function, date_trunc('week', r.requested_on)::date AS week_starting,
           count(*) AS advice_requests,
           count(*) FILTER (WHERE r.outcome <> 'pending') AS advice_answered,
           count(*) FILTER (WHERE r.outcome = 'diverted') AS advice_diverted
    FROM ptl.advice_request r
    WHERE r.requested_on <= (SELECT max(r2.census) FROM ptl.rtt_pathway r2)
      AND ((SELECT ptl.sees_all_organisations()) OR r.provider_org = ANY ((SELECT ptl.my_organisations())::text[]))
    GROUP BY 1, 2, 3
),
per_specialty AS (
    SELECT coalesce(k.provider_org, v.provider_org) AS provider_org,
           coalesce(k.treatment_function, v.treatment_function) AS treatment_function,
           coalesce(k.week_starting, v.week_starting) AS week_starting,
           coalesce(k.appointments_due, 0) AS appointments_due, coalesce(k.first_attended, 0) AS first_attended,
           coalesce(k.follow_up_attended, 0) AS follow_up_attended, coalesce(k.first_dna, 0) AS first_dna,
           coalesce(k.follow_up_dna, 0) AS follow_up_dna, coalesce(k.hospital_cancelled, 0) AS hospital_cancelled,
           coalesce(k.patient_cancelled, 0) AS patient_cancelled, coalesce(k.moved_to_pifu, 0) AS moved_to_pifu,
           coalesce(k.discharged, 0) AS discharged, k.slots,
           v.advice_requests, v.advice_answered, v.advice_diverted
    FROM (SELECT pc.provider_org, pc.treatment_function, pc.week_starting,
                 sum(pc.appointments_due) AS appointments_due, sum(pc.first_attended) AS first_attended,
                 sum(pc.follow_up_attended) AS follow_up_attended, sum(pc.first_dna) AS first_dna,
                 sum(pc.follow_up_dna) AS follow_up_dna, sum(pc.hospital_cancelled) AS hospital_cancelled,
                 sum(pc.patient_cancelled) AS patient_cancelled, sum(pc.moved_to_pifu) AS moved_to_pifu,
                 sum(pc.discharged) AS discharged, sum(pc.slots) AS slots
          FROM per_clinic pc GROUP BY 1, 2, 3) k
    FULL JOIN advice v ON v.provider_org = k.provider_org AND v.treatment_function = k.treatment_function
                      AND v.week_starting = k.week_starting
),
measured AS (
    SELECT 'clinic' AS grouping, pc.provider_org, pc.treatment_function, pc.clinic_code, pc.week_starting,
           pc.appointments_due, pc.first_attended, pc.follow_up_attended, pc.first_dna, pc.follow_up_dna,
           pc.hospital_cancelled, pc.patient_cancelled, pc.moved_to_pifu, pc.discharged, pc.slots,
           NULL::bigint AS advice_requests, NULL::bigint AS advice_answered, NULL::bigint AS advice_diverted
    FROM per_clinic pc
    UNION ALL
    SELECT 'specialty', ps.provider_org, ps.treatment_function, NULL, ps.week_starting,
           ps.appointments_due, ps.first_attended, ps.follow_up_attended, ps.first_dna, ps.follow_up_dna,
           ps.hospital_cancelled, ps.patient_cancelled, ps.moved_to_pifu, ps.discharged, ps.slots,
           coalesce(ps.advice_requests, 0), coalesce(ps.advice_answered, 0), coalesce(ps.advice_diverted, 0)
    FROM per_specialty ps
)
SELECT m.grouping, m.week_starting, m.provider_org, m.treatment_function, m.clinic_code,
       m.first_attended, m.follow_up_attended,
       round(m.follow_up_attended::numeric / nullif(m.first_attended, 0), 2) AS follow_ups_per_first,
       m.first_dna, round(100.0 * m.first_dna / nullif(m.first_attended + m.first_dna, 0), 1) AS first_dna_pct,
       m.follow_up_dna, round(100.0 * m.follow_up_dna / nullif(m.follow_up_attended + m.follow_up_dna, 0), 1) AS follow_up_dna_pct,
       m.hospital_cancelled, round(100.0 * m.hospital_cancelled / nullif(m.appointments_due, 0), 1) AS hospital_cancelled_pct,
       m.patient_cancelled, round(100.0 * m.patient_cancelled / nullif(m.appointments_due, 0), 1) AS patient_cancelled_pct,
       m.moved_to_pifu,
       round(100.0 * m.moved_to_pifu / nullif(m.first_attended + m.follow_up_attended, 0), 1) AS pifu_uptake_pct,
       m.discharged, m.slots,
       m.first_attended + m.follow_up_attended + m.first_dna + m.follow_up_dna AS slots_used,
       round(100.0 * (m.first_attended + m.follow_up_attended + m.first_dna + m.follow_up_dna) / nullif(m.slots, 0), 1)
           AS slot_utilisation_pct,
       m.advice_requests, m.advice_answered, m.advice_diverted,
       round(100.0 * m.advice_diverted / nullif(m.advice_answered, 0), 1) AS advice_diverted_pct
FROM measured m;
COMMENT ON VIEW ptl.outpatient_measures IS
    'Outpatient measures per week, provider, specialty and clinic (grouping clinic) or specialty (grouping specialty, with advice and guidance): attendances, follow-ups per first, DNA rates, cancellation rates by whom, PIFU uptake, slot utilisation, advice diverted from referral';
COMMENT ON COLUMN ptl.outpatient_measures.grouping IS 'clinic (one clinic) or specialty (all the provider''s clinics of the specialty, and advice and guidance)';
COMMENT ON COLUMN ptl.outpatient_measures.week_starting IS 'Monday of the week';
COMMENT ON COLUMN ptl.outpatient_measures.provider_org IS 'Provider running the clinic (asked, for advice)';
COMMENT ON COLUMN ptl.outpatient_measures.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.outpatient_measures.clinic_code IS 'Clinic (clinic rows)';
COMMENT ON COLUMN ptl.outpatient_measures.first_attended IS 'First attendances';
COMMENT ON COLUMN ptl.outpatient_measures.follow_up_attended IS 'Follow-up attendances';
COMMENT ON COLUMN ptl.outpatient_measures.follow_ups_per_first IS 'Follow-up attendances per first attendance (new-to-follow-up ratio)';
COMMENT ON COLUMN ptl.outpatient_measures.first_dna IS 'First appointments not attended';
COMMENT ON COLUMN ptl.outpatient_measures.first_dna_pct IS 'First DNA rate: DNAs / (attendances + DNAs), per cent';
COMMENT ON COLUMN ptl.outpatient_measures.follow_up_dna IS 'Follow-up appointments not attended';
COMMENT ON COLUMN ptl.outpatient_measures.follow_up_dna_pct IS 'Follow-up DNA rate, per cent';
COMMENT ON COLUMN ptl.outpatient_measures.hospital_cancelled IS 'Appointments the hospital cancelled';
COMMENT ON COLUMN ptl.outpatient_measures.hospital_cancelled_pct IS 'Hospital cancellations / appointments due that week, per cent';
COMMENT ON COLUMN ptl.outpatient_measures.patient_cancelled IS 'Appointments the patient cancelled';
COMMENT ON COLUMN ptl.outpatient_measures.patient_cancelled_pct IS 'Patient cancellations / appointments due that week, per cent';
COMMENT ON COLUMN ptl.outpatient_measures.moved_to_pifu IS 'Attendances whose outcome moved the patient to PIFU';
COMMENT ON COLUMN ptl.outpatient_measures.pifu_uptake_pct IS 'PIFU uptake: attendances moved to PIFU / attendances, per cent';
COMMENT ON COLUMN ptl.outpatient_measures.discharged IS 'Attendances whose outcome was discharge';
COMMENT ON COLUMN ptl.outpatient_measures.slots IS 'Slots offered in sessions not cancelled';
COMMENT ON COLUMN ptl.outpatient_measures.slots_used IS 'Slots used: attended or not attended';
COMMENT ON COLUMN ptl.outpatient_measures.slot_utilisation_pct IS 'Slots used / slots offered, per cent';
COMMENT ON COLUMN ptl.outpatient_measures.advice_requests IS 'Advice and guidance requests (specialty rows)';
COMMENT ON COLUMN ptl.outpatient_measures.advice_answered IS 'Requests answered';
COMMENT ON COLUMN ptl.outpatient_measures.advice_diverted IS 'Requests answered with no referral needed';
COMMENT ON COLUMN ptl.outpatient_measures.advice_diverted_pct IS 'Share of answered requests diverted from referral, per cent';

-- ---------------------------------------------------------------------------
-- Independent sector
-- ---------------------------------------------------------------------------

-- Activity and clock stops per month, specialty and provider type (NHS
-- trust or independent sector, from ptl.organisation.org_kind): outpatient
-- attendances and admissions from the pathway events, clock stops from the
-- completed RTT periods at the last refresh.
CREATE VIEW ptl.provider_type_activity AS
WITH kind AS (
    SELECT o.org_code, CASE o.org_kind WHEN 'independent_sector' THEN 'independent_sector' ELSE 'nhs' END AS provider_type
    FROM ptl.organisation o WHERE o.org_kind IN ('nhs_trust', 'independent_sector')
),
events AS (
    SELECT date_trunc('month', e.event_date)::date AS month, p.treatment_function, k.provider_type,
           count(*) FILTER (WHERE e.kind = 'outpatient') AS attendances,
           count(*) FILTER (WHERE e.kind = 'admission') AS admissions
    FROM ptl.pathway_event e
    JOIN ptl.pathway p ON p.pathway_id = e.pathway_id
    JOIN kind k ON k.org_code = p.provider_org
    WHERE e.kind IN ('outpatient', 'admission')
    GROUP BY 1, 2, 3
),
stops AS (
    SELECT date_trunc('month', r.clock_stop)::date AS month, p.treatment_function, k.provider_type,
           count(*) AS clock_stops
    FROM ptl.rtt_period r
    JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
    JOIN kind k ON k.org_code = p.provider_org
    WHERE r.outcome IN ('admitted', 'non_admitted')
    GROUP BY 1, 2, 3
)
SELECT coalesce(e.month, s.month) AS month, coalesce(e.treatment_function, s.treatment_function) AS treatment_function,
       coalesce(e.provider_type, s.provider_type) AS provider_type,
       coalesce(e.attendances, 0) AS attendances, coalesce(e.admissions, 0) AS admissions,
       coalesce(e.attendances, 0) + coalesce(e.admissions, 0) AS activity,
       coalesce(s.clock_stops, 0) AS clock_stops
FROM events e
FULL JOIN stops s ON s.month = e.month AND s.treatment_function = e.treatment_function AND s.provider_type = e.provider_type;
COMMENT ON VIEW ptl.provider_type_activity IS
    'Outpatient attendances, admissions and RTT clock stops per month, specialty and provider type (nhs or independent_sector)';
COMMENT ON COLUMN ptl.provider_type_activity.month IS 'First day of the month';
COMMENT ON COLUMN ptl.provider_type_activity.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.provider_type_activity.provider_type IS 'nhs (NHS trusts) or independent_sector';
COMMENT ON COLUMN ptl.provider_type_activity.attendances IS 'Outpatient attendances (events of kind outpatient)';
COMMENT ON COLUMN ptl.provider_type_activity.admissions IS 'Admissions (events of kind admission)';
COMMENT ON COLUMN ptl.provider_type_activity.activity IS 'Attendances + admissions';
COMMENT ON COLUMN ptl.provider_type_activity.clock_stops IS 'RTT periods completed (admitted or non-admitted) in the month';

-- Displacement: in the three months to each month, against the three months
-- before, did the independent sector's activity grow while the NHS
-- providers' own activity in the same specialty fell?  (Three-month sums
-- smooth a month's noise; a year-on-year comparison would also remove the
-- season but needs two years of data.)
CREATE VIEW ptl.independent_sector_displacement AS
WITH grid AS (
    SELECT t.treatment_function, m::date AS month
    FROM (SELECT DISTINCT treatment_function FROM ptl.provider_type_activity) t
    CROSS JOIN generate_series((SELECT min(month) FROM ptl.provider_type_activity),
                               (SELECT max(month) FROM ptl.provider_type_activity), interval '1 month') m
),
monthly AS (
    SELECT g.treatment_function, g.month,
           coalesce(sum(a.activity) FILTER (WHERE a.provider_type = 'nhs'), 0) AS nhs_activity,
           coalesce(sum(a.activity) FILTER (WHERE a.provider_type = 'independent_sector'), 0) AS is_activity,
           coalesce(sum(a.clock_stops) FILTER (WHERE a.provider_type = 'nhs'), 0) AS nhs_clock_stops,
           coalesce(sum(a.clock_stops) FILTER (WHERE a.provider_type = 'independent_sector'), 0) AS is_clock_stops
    FROM grid g
    LEFT JOIN ptl.provider_type_activity a ON a.treatment_function = g.treatment_function AND a.month = g.month
    GROUP BY 1, 2
),
rolled AS (
    SELECT m.*,
           sum(m.nhs_activity) OVER last3 AS nhs_3m, sum(m.nhs_activity) OVER before3 AS nhs_3m_before,
           sum(m.is_activity) OVER last3 AS is_3m, sum(m.is_activity) OVER before3 AS is_3m_before,
           count(*) OVER before3 AS months_before
    FROM monthly m
    WINDOW last3 AS (PARTITION BY m.treatment_function ORDER BY m.month ROWS BETWEEN 2 PRECEDING AND CURRENT ROW),
           before3 AS (PARTITION BY m.treatment_function ORDER BY m.month ROWS BETWEEN 5 PRECEDING AND 3 PRECEDING)
)
SELECT r.month, r.treatment_function, r.nhs_activity, r.is_activity, r.nhs_clock_stops, r.is_clock_stops,
       round(100.0 * r.is_activity / nullif(r.nhs_activity + r.is_activity, 0), 1) AS is_share_pct,
       r.nhs_3m, r.nhs_3m_before, r.is_3m, r.is_3m_before,
       CASE WHEN r.months_before = 3 THEN r.nhs_3m - r.nhs_3m_before END AS nhs_change,
       CASE WHEN r.months_before = 3 THEN r.is_3m - r.is_3m_before END AS is_change,
       CASE WHEN r.months_before = 3 THEN r.is_3m > r.is_3m_before AND r.nhs_3m < r.nhs_3m_before END AS displacement
FROM rolled r;
COMMENT ON VIEW ptl.independent_sector_displacement IS
    'Per specialty and month: NHS and independent sector activity and clock stops, the independent sector''s share, and displacement (its activity in the three months to the month grew on the three before while the NHS providers'' fell)';
COMMENT ON COLUMN ptl.independent_sector_displacement.month IS 'Month (first day)';
COMMENT ON COLUMN ptl.independent_sector_displacement.treatment_function IS 'Treatment function (specialty)';
COMMENT ON COLUMN ptl.independent_sector_displacement.nhs_activity IS 'NHS providers'' attendances and admissions in the month';
COMMENT ON COLUMN ptl.independent_sector_displacement.is_activity IS 'Independent sector attendances and admissions in the month';
COMMENT ON COLUMN ptl.independent_sector_displacement.nhs_clock_stops IS 'NHS providers'' clock stops in the month';
COMMENT ON COLUMN ptl.independent_sector_displacement.is_clock_stops IS 'Independent sector clock stops in the month';
COMMENT ON COLUMN ptl.independent_sector_displacement.is_share_pct IS 'Independent sector share of the month''s activity, per cent';
COMMENT ON COLUMN ptl.independent_sector_displacement.nhs_3m IS 'NHS activity in the three months to the month';
COMMENT ON COLUMN ptl.independent_sector_displacement.nhs_3m_before IS 'NHS activity in the three months before those';
COMMENT ON COLUMN ptl.independent_sector_displacement.is_3m IS 'Independent sector activity in the three months to the month';
COMMENT ON COLUMN ptl.independent_sector_displacement.is_3m_before IS 'Independent sector activity in the three months before those';
COMMENT ON COLUMN ptl.independent_sector_displacement.nhs_change IS 'NHS change, three months on three months (NULL without six months of data)';
COMMENT ON COLUMN ptl.independent_sector_displacement.is_change IS 'Independent sector change, three months on three months';
COMMENT ON COLUMN ptl.independent_sector_displacement.displacement IS 'True when independent sector activity grew while the NHS providers'' own fell (NULL without six months of data)';
-- ---------------------------------------------------------------------------
-- pack: the weekly PTL pack, one self-contained HTML document (no scripts,
-- fonts, images or network) with charts ptl draws itself as inline SVG, each
-- followed by its table of numbers (for screen readers and for checking),
-- and a print stylesheet for A4.  docs/journey.md.
--
-- The drawing functions are general: a title, categories along the x axis,
-- series, and values as a two-dimensional array vals[series][category]
-- (NULL: no value).  Colours are the Okabe-Ito palette, which readers with
-- colour-vision deficiency can tell apart.
-- ---------------------------------------------------------------------------

CREATE FUNCTION ptl.html_escape(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN replace(replace(replace(replace(replace(t, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;');
COMMENT ON FUNCTION ptl.html_escape(text) IS 'Text made safe inside HTML or SVG, in elements and quoted attributes';

-- A table row: header cells (th) or data cells (td, numbers right-aligned).
CREATE FUNCTION ptl.html_row(cells text[], header boolean DEFAULT false) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '<tr>' || coalesce((SELECT string_agg(
            CASE WHEN header THEN '<th scope="col">' || ptl.html_escape(coalesce(c, '')) || '</th>'
                 WHEN c ~ '^[-+]?[0-9][0-9,]*(\.[0-9]+)?%?$' THEN '<td class="num">' || c || '</td>'
                 ELSE '<td>' || ptl.html_escape(coalesce(c, '')) || '</td>' END, '' ORDER BY i)
        FROM unnest(cells) WITH ORDINALITY u (c, i)), '') || '</tr>';
COMMENT ON FUNCTION ptl.html_row(text[], boolean) IS 'One HTML table row of the cells, escaped: th cells for a header, else td (numbers right-aligned)';

-- The i-th colour of the palette (Okabe and Ito 2008, "Color Universal
-- Design"), repeating after eight.
CREATE FUNCTION ptl.chart_colour(i int) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (ARRAY['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#7F7F7F', '#F0E442'])
       [1 + ((i - 1) % 8 + 8) % 8];
COMMENT ON FUNCTION ptl.chart_colour(int) IS 'Series colour i (1-based) of the Okabe-Ito palette, distinguishable with colour-vision deficiency';

-- A round step for about `ticks` gridlines up to top: 1, 2 or 5 times a
-- power of ten.
CREATE FUNCTION ptl.chart_step(top float8, ticks int DEFAULT 5) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    raw float8;
    magnitude float8;
BEGIN
    IF top <= 0 OR ticks < 1 THEN
        RETURN 1;
    END IF;
    raw := top / ticks;
    magnitude := power(10, floor(log(raw)));
    RETURN magnitude * CASE WHEN raw / magnitude <= 1 THEN 1 WHEN raw / magnitude <= 2 THEN 2
                            WHEN raw / magnitude <= 5 THEN 5 ELSE 10 END;
END
$$;
COMMENT ON FUNCTION ptl.chart_step(float8, int) IS 'A round gridline step (1, 2 or 5 times a power of ten) giving about ticks lines up to top';

-- A number as a chart prints it: whole numbers plainly, others to one place.
CREATE FUNCTION ptl.chart_number(v float8) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN v = trunc(v) AND abs(v) < 1e15 THEN to_char(v, 'FM999,999,999,999,990')
            ELSE to_char(v, 'FM999,999,999,990.0') END;
COMMENT ON FUNCTION ptl.chart_number(float8) IS 'A number for a chart or table: thousands separated, one decimal place unless whole';

-- Bars (stacked or side by side) or lines, on one frame: axes, gridlines,
-- a legend, and an optional dashed reference line (a target, a bed base).
-- Each mark has a <title>, so hovering names the series, category and value.
CREATE FUNCTION ptl.svg_chart(kind text, title text, categories text[], series text[], vals float8[],
                              y_label text, reference float8 DEFAULT NULL, reference_label text DEFAULT NULL,
                              colours text[] DEFAULT NULL, reference_line float8[] DEFAULT NULL,
                              width int DEFAULT 720, height int DEFAULT 300)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    n int := coalesce(cardinality(categories), 0);
    s int := coalesce(cardinality(series), 0);
    left_edge CONSTANT int := 64;
    right_edge int := width - 16;
    top_edge int;
    bottom_edge int := height - 74;
    legend text := '';
    legend_x float8 := 64;
    legend_y int := 10;
    legend_width float8;
    colour text[];
    band float8;
    top float8 := 0;
    step float8;
    scale float8;
    tick float8;
    total float8;
    v float8;
    y0 float8;
    x float8;
    bar float8;
    label_every int;
    points text;
    out text;
    i int;
    j int;
BEGIN
    IF kind NOT IN ('stacked', 'grouped', 'lines') THEN
        RAISE EXCEPTION 'chart kind must be stacked, grouped or lines, not %', coalesce(kind, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF s > 0 AND n > 0 AND (array_ndims(vals) IS DISTINCT FROM 2 OR array_length(vals, 1) <> s
                            OR array_length(vals, 2) <> n) THEN
        RAISE EXCEPTION 'chart "%" needs values for % series by % categories, not %', title, s, n,
                        coalesce(array_dims(vals), 'none')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'vals is a two-dimensional array: vals[series][category]';
    END IF;
    out := format('<svg class="chart-svg" role="img" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" '
                  'width="%s" height="%s" aria-label="%s"><title>%s</title>',
                  width, height, width, height, html_escape(title), html_escape(title));
    -- the largest value (or stack), and the reference, fix the scale
    FOR j IN 1 .. n LOOP
        total := 0;
        FOR i IN 1 .. s LOOP
            v := coalesce(vals[i][j], 0);
            IF kind = 'stacked' THEN total := total + greatest(v, 0); ELSE total := greatest(total, v); END IF;
        END LOOP;
        top := greatest(top, total);
    END LOOP;
    -- series colours: the caller's, else the palette's
    colour := ARRAY(SELECT coalesce(colours[k], chart_colour(k)) FROM generate_series(1, s) k);
    -- the legend, in rows above the plot
    FOR i IN 1 .. s LOOP
        legend_width := 22 + 6.2 * length(series[i]);
        IF legend_x + legend_width > right_edge AND legend_x > left_edge THEN
            legend_x := left_edge;
            legend_y := legend_y + 16;
        END IF;
        legend := legend || format('<rect x="%s" y="%s" width="12" height="12" fill="%s"/><text class="legend" x="%s" y="%s">%s</text>',
                                   round(legend_x::numeric, 1), legend_y, colour[i], round((legend_x + 16)::numeric, 1),
                                   legend_y + 10, html_escape(series[i]));
        legend_x := legend_x + legend_width + 8;
    END LOOP;
    top_edge := legend_y + 30;
    IF reference_line IS NOT NULL AND cardinality(reference_line) <> n THEN
        RAISE EXCEPTION 'chart "%" has % categories but % reference values', title, n, cardinality(reference_line)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF n = 0 OR s = 0 OR top <= 0 AND reference IS NULL AND reference_line IS NULL THEN
        RETURN out || format('<text class="no-data" x="%s" y="%s" text-anchor="middle">No data</text></svg>',
                             width / 2, height / 2);
    END IF;
    top := greatest(top, coalesce(reference, 0),
                    coalesce((SELECT max(r) FROM unnest(reference_line) r), 0)) * 1.05;
    step := chart_step(top);
    top := ceil(top / step) * step;
    scale := (bottom_edge - top_edge) / top;
    band := (right_edge - left_edge)::float8 / n;

    -- gridlines and the y axis
    tick := 0;
    WHILE tick <= top + step / 2 LOOP
        out := out || format('<line class="grid" x1="%s" x2="%s" y1="%s" y2="%s"/>'
                             '<text class="tick" x="%s" y="%s" text-anchor="end">%s</text>',
                             left_edge, right_edge, round((bottom_edge - tick * scale)::numeric, 1),
                             round((bottom_edge - tick * scale)::numeric, 1),
                             left_edge - 6, round((bottom_edge - tick * scale + 4)::numeric, 1),
                             -- short tick labels (300k, 1.5M) keep clear of the axis title;
                             -- one unit for the whole axis
                             CASE WHEN tick = 0 THEN '0'
                                  WHEN top >= 1e6 THEN to_char(tick / 1e6, 'FM999990.##') || 'M'
                                  WHEN top >= 1e4 THEN to_char(tick / 1e3, 'FM999990.##') || 'k'
                                  ELSE chart_number(tick) END);
        tick := tick + step;
    END LOOP;
    out := out || format('<text class="axis-label" transform="translate(14 %s) rotate(-90)" text-anchor="middle">%s</text>',
                         (top_edge + bottom_edge) / 2, html_escape(y_label));
    out := out || format('<line class="axis" x1="%s" x2="%s" y1="%s" y2="%s"/>', left_edge, right_edge, bottom_edge, bottom_edge);

    -- category labels: every one if they fit, else every k-th, slanted
    label_every := greatest(1, ceil(n / 16.0)::int);
    FOR j IN 1 .. n LOOP
        CONTINUE WHEN (j - 1) % label_every <> 0;
        x := left_edge + (j - 0.5) * band;
        -- long labels are cut (the table beneath has them whole)
        out := out || format('<text class="category" text-anchor="end" transform="translate(%s %s) rotate(-35)">%s</text>',
                             round(x::numeric, 1), bottom_edge + 14,
                             html_escape(CASE WHEN length(categories[j]) > 16 THEN left(categories[j], 15) || '…'
                                              ELSE categories[j] END));
    END LOOP;

    -- the marks
    IF kind = 'lines' THEN
        FOR i IN 1 .. s LOOP
            points := '';
            FOR j IN 1 .. n LOOP
                v := vals[i][j];
                IF v IS NULL THEN
                    -- a gap: the line breaks here
                    IF points <> '' THEN
                        out := out || format('<polyline class="mark" fill="none" stroke="%s" stroke-width="2" points="%s"/>',
                                             colour[i], trim(points));
                    END IF;
                    points := '';
                    CONTINUE;
                END IF;
                x := left_edge + (j - 0.5) * band;
                points := points || format(' %s,%s', round(x::numeric, 1), round((bottom_edge - v * scale)::numeric, 1));
                out := out || format('<circle class="mark" cx="%s" cy="%s" r="2.5" fill="%s"><title>%s, %s: %s</title></circle>',
                                     round(x::numeric, 1), round((bottom_edge - v * scale)::numeric, 1), colour[i],
                                     html_escape(series[i]), html_escape(categories[j]), chart_number(v));
            END LOOP;
            IF points <> '' THEN
                out := out || format('<polyline class="mark" fill="none" stroke="%s" stroke-width="2" points="%s"/>',
                                     colour[i], trim(points));
            END IF;
        END LOOP;
    ELSE
        FOR j IN 1 .. n LOOP
            y0 := bottom_edge;
            FOR i IN 1 .. s LOOP
                v := vals[i][j];
                CONTINUE WHEN v IS NULL OR v <= 0;
                IF kind = 'stacked' THEN
                    bar := band * 0.8;
                    x := left_edge + (j - 1) * band + band * 0.1;
                    y0 := y0 - v * scale;
                    out := out || format('<rect class="mark" x="%s" y="%s" width="%s" height="%s" fill="%s">',
                                         round(x::numeric, 1), round(y0::numeric, 1), round(bar::numeric, 1),
                                         round((v * scale)::numeric, 1), colour[i]);
                ELSE
                    bar := band * 0.8 / s;
                    x := left_edge + (j - 1) * band + band * 0.1 + (i - 1) * bar;
                    out := out || format('<rect class="mark" x="%s" y="%s" width="%s" height="%s" fill="%s">',
                                         round(x::numeric, 1), round((bottom_edge - v * scale)::numeric, 1),
                                         round(bar::numeric, 1), round((v * scale)::numeric, 1), colour[i]);
                END IF;
                out := out || format('<title>%s, %s: %s</title></rect>', html_escape(series[i]),
                                     html_escape(categories[j]), chart_number(v));
            END LOOP;
        END LOOP;
    END IF;

    -- a reference that changes along the x axis: a dashed step line
    IF reference_line IS NOT NULL THEN
        points := '';
        FOR j IN 1 .. n LOOP
            CONTINUE WHEN reference_line[j] IS NULL;
            points := points || format(' %s,%s %s,%s',
                                       round((left_edge + (j - 1) * band)::numeric, 1),
                                       round((bottom_edge - reference_line[j] * scale)::numeric, 1),
                                       round((left_edge + j * band)::numeric, 1),
                                       round((bottom_edge - reference_line[j] * scale)::numeric, 1));
        END LOOP;
        out := out || format('<polyline class="reference" fill="none" points="%s"/>', trim(points))
            || format('<text class="reference-label" x="%s" y="%s" text-anchor="end">%s</text>', right_edge, top_edge - 4,
                      html_escape(coalesce(reference_label, 'reference')) || ' (dashed)');
    END IF;
    IF reference IS NOT NULL THEN
        out := out || format('<line class="reference" x1="%s" x2="%s" y1="%s" y2="%s"/>'
                             '<text class="reference-label" x="%s" y="%s" text-anchor="end">%s</text>',
                             left_edge, right_edge, round((bottom_edge - reference * scale)::numeric, 1),
                             round((bottom_edge - reference * scale)::numeric, 1), right_edge,
                             round((bottom_edge - reference * scale - 4)::numeric, 1),
                             html_escape(coalesce(reference_label, chart_number(reference))));
    END IF;

    out := out || legend;
    RETURN out || '</svg>';
END
$$;
COMMENT ON FUNCTION ptl.svg_chart(text, text, text[], text[], float8[], text, float8, text, text[], float8[], int, int) IS
    'An SVG chart: kind stacked or grouped (bars) or lines, categories on the x axis, vals[series][category], an optional dashed reference line (constant, or reference_line[category]), series colours (default: the Okabe-Ito palette)';

-- A chart, its caption and its table, as one figure.
CREATE FUNCTION ptl.pack_figure(chart_id text, heading text, caption text, svg text, table_header text[], table_rows text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN format('<figure class="chart" id="chart-%s"%s><h2>%s</h2>%s<figcaption>%s</figcaption>'
              '<table><caption>%s: the numbers</caption><thead>%s</thead><tbody>%s</tbody></table></figure>',
              chart_id, CASE WHEN svg LIKE '%class="no-data"%' THEN ' data-empty="true"' ELSE '' END,
              ptl.html_escape(heading), svg, ptl.html_escape(caption), ptl.html_escape(heading),
              ptl.html_row(table_header, true),
              coalesce(nullif(table_rows, ''),
                       format('<tr><td colspan="%s">No data</td></tr>', cardinality(table_header))));
COMMENT ON FUNCTION ptl.pack_figure(text, text, text, text, text[], text) IS
    'One figure of the weekly pack: heading, chart, caption, and the table of its numbers';

-- The weekly PTL pack.  Every number is read as the caller may see it (row
-- security applies), for one provider, or the whole ICS, or for a user who
-- does not see the whole ICS, the organisations it is mapped to.  The waiting list is
-- the census snapshot on or before the census date (so a past week's pack
-- can be made again); stages are those of the last refresh.  VOLATILE
-- only because it gathers each part once into temporary tables.
CREATE FUNCTION ptl.weekly_pack(census date, provider text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
-- Each query reads a few hundred thousand rows at most: compiling them (JIT)
-- cost more than it saved, about half a second a query at a million referrals.
SET jit = off
AS $$
#variable_conflict use_variable
DECLARE
    snap date;
    week_before date;
    scope text;
    target float8 := (ptl.theatre_setting_in_force()).utilisation_target_pct;
    head record;
    cats text[];
    sers text[];
    vals float8[];
    rows_html text;
    figures text := '';
    in_bottleneck bigint;
    base_line float8[];
    orgs text[];
BEGIN
    IF census IS NULL OR NOT isfinite(census) THEN
        RAISE EXCEPTION 'census date must be a finite date, not %', coalesce(census::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF provider IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ptl.organisation o WHERE o.org_code = provider) THEN
        RAISE EXCEPTION 'provider % is not in ptl.organisation', provider
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Give an ODS organisation code, e.g. RBD, or NULL for the whole ICS.';
    END IF;
    SELECT max(s.census_date) INTO snap FROM ptl.census_snapshot s WHERE s.census_date <= census;
    IF snap IS NULL THEN
        RAISE EXCEPTION 'no census snapshot on or before %', census
            USING ERRCODE = 'no_data_found',
                  HINT = 'Run CALL ptl.daily_refresh() (or ptl.refresh(census)) first: the pack reads its snapshot.';
    END IF;
    SELECT max(s.census_date) INTO week_before FROM ptl.census_snapshot s WHERE s.census_date <= snap - 7;
    -- Whose sites the theatre and bed charts show: the provider's; else,
    -- for a user who does not see the whole ICS, the organisations it may
    -- see (the rest of the pack is filtered by row-level security).
    IF provider IS NOT NULL THEN
        orgs := ARRAY[provider];
        scope := (SELECT o.name || ' (' || o.org_code || ')' FROM ptl.organisation o WHERE o.org_code = provider);
    ELSIF ptl.sees_all_organisations() THEN
        scope := 'All providers in the ICS';
    ELSE
        orgs := ptl.my_organisations();
        scope := coalesce('The organisations you may see: '
                          || (SELECT string_agg(o.name || ' (' || o.org_code || ')', ', ' ORDER BY o.org_code)
                              FROM ptl.organisation o WHERE o.org_code = ANY (orgs)),
                          'No organisations: ask for a mapping in ptl.user_organisation');
    END IF;


    -- Headline figures, against the week before.
    SELECT count(*) AS waiting,
           count(*) FILTER (WHERE l.days_waited <= 126) AS within_18,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY l.days_waited / 7.0) AS median_weeks,
           count(*) FILTER (WHERE l.days_waited > 364) AS over_52,
           count(*) FILTER (WHERE l.days_waited > 455) AS over_65,
           count(*) FILTER (WHERE l.days_waited > 546) AS over_78,
           count(*) FILTER (WHERE l.days_waited > 728) AS over_104,
           (SELECT count(*) FROM ptl.census_snapshot b
            WHERE b.census_date = week_before AND b.days_waited IS NOT NULL
              AND (orgs IS NULL OR b.provider_org = ANY (orgs))) AS waiting_before,
           (SELECT count(*) FROM ptl.census_snapshot b
            WHERE b.census_date = week_before AND b.days_waited > 364
              AND (orgs IS NULL OR b.provider_org = ANY (orgs))) AS over_52_before
    INTO head FROM ptl.census_snapshot l
    WHERE l.census_date = snap AND l.days_waited IS NOT NULL AND (orgs IS NULL OR l.provider_org = ANY (orgs));

    -- 1. The waiting list by weeks waited (four-week bands), stacked by priority.
    WITH banded AS (
        SELECT least(l.days_waited / 28, 26) AS band,
               coalesce(l.clinical_priority::text, CASE WHEN l.has_dta THEN 'admitted, no priority' ELSE 'non-admitted' END)
                   AS priority
        FROM ptl.census_snapshot l
        WHERE l.census_date = snap AND l.days_waited IS NOT NULL AND (orgs IS NULL OR l.provider_org = ANY (orgs))
    ),
    priorities AS (
        SELECT DISTINCT b.priority FROM banded b
    ),
    ordered AS (
        SELECT p.priority, row_number() OVER (ORDER BY p.priority ~ '^P' DESC, p.priority) AS k FROM priorities p
    ),
    grid AS (
        SELECT o.priority, o.k, g.bucket, count(b.band) AS n
        FROM ordered o CROSS JOIN generate_series(0, 26) g (bucket)
        LEFT JOIN banded b ON b.priority = o.priority AND b.band = g.bucket
        GROUP BY 1, 2, 3
    ),
    per_series AS (
        SELECT g.k, g.priority, array_agg(g.n::float8 ORDER BY g.bucket) AS counts FROM grid g GROUP BY 1, 2
    )
    SELECT array_agg(ps.priority ORDER BY ps.k), array_agg(ps.counts ORDER BY ps.k),
           (SELECT string_agg(ptl.html_row(ARRAY[CASE WHEN b = 26 THEN '104+' ELSE (4 * b) || '–' || (4 * b + 3) END]
                                           || ARRAY(SELECT chart_number(x.counts[b + 1]) FROM per_series x ORDER BY x.k)
                                           || chart_number((SELECT sum(x.counts[b + 1]) FROM per_series x))), '' ORDER BY b)
            FROM generate_series(0, 26) b)
    INTO sers, vals, rows_html FROM per_series ps;
    cats := ARRAY(SELECT CASE WHEN b = 26 THEN '104+' ELSE (4 * b) || '–' || (4 * b + 3) END FROM generate_series(0, 26) b);
    figures := figures || pack_figure('waits', 'Waiting list by weeks waited',
        format('%s pathways waiting at %s, in four-week bands of weeks waited, coloured by surgical priority (non-admitted pathways have none).',
               chart_number(head.waiting), snap),
        svg_chart('stacked', 'Waiting list by weeks waited, stacked by priority', cats, sers, vals, 'Pathways',
                  colours => ARRAY(SELECT CASE p WHEN 'P1a' THEN '#7A0019' WHEN 'P1b' THEN '#D55E00' WHEN 'P2' THEN '#E69F00'
                                                 WHEN 'P3' THEN '#CC79A7' WHEN 'P4' THEN '#0072B2' WHEN 'P5' THEN '#56B4E9'
                                                 WHEN 'P6' THEN '#009E73' WHEN 'non-admitted' THEN '#B8B8B8' ELSE '#6E6E6E' END
                                   FROM unnest(sers) p)),
        ARRAY['Weeks waited'] || coalesce(sers, '{}') || ARRAY['All'], rows_html);

    -- 2. Long waiters over the census snapshots: the last census of each of
    -- the 26 weeks up to this one.
    WITH weeks AS (
        -- each week's last census: one short index probe a week
        SELECT last.census_date
        FROM generate_series(0, 25) k
        CROSS JOIN LATERAL (
            SELECT max(s.census_date) AS census_date FROM ptl.census_snapshot s
            WHERE s.census_date >= date_trunc('week', snap)::date - 7 * k
              AND s.census_date < date_trunc('week', snap)::date - 7 * k + 7
              AND s.census_date <= snap) last
        WHERE last.census_date IS NOT NULL
    ),
    counted AS (
        -- one census at a time, through each month's index of long waiters
        SELECT w.census_date, c.*
        FROM weeks w
        CROSS JOIN LATERAL (
            SELECT count(*) FILTER (WHERE s.days_waited > 364) AS w52,
                   count(*) FILTER (WHERE s.days_waited > 455) AS w65,
                   count(*) FILTER (WHERE s.days_waited > 546) AS w78,
                   count(*) FILTER (WHERE s.days_waited > 728) AS w104
            FROM ptl.census_snapshot s
            WHERE s.census_date = w.census_date AND s.days_waited > 364
              AND (orgs IS NULL OR s.provider_org = ANY (orgs))) c
    )
    SELECT array_agg(c.census_date::text ORDER BY c.census_date),
           ARRAY[array_agg(c.w52::float8 ORDER BY c.census_date), array_agg(c.w65::float8 ORDER BY c.census_date),
                 array_agg(c.w78::float8 ORDER BY c.census_date), array_agg(c.w104::float8 ORDER BY c.census_date)],
           string_agg(ptl.html_row(ARRAY[c.census_date::text, chart_number(c.w52), chart_number(c.w65),
                                         chart_number(c.w78), chart_number(c.w104)]), '' ORDER BY c.census_date)
    INTO cats, vals, rows_html FROM counted c;
    figures := figures || pack_figure('long-waiters', 'Long waiters over time',
        'Pathways waiting more than 52, 65, 78 and 104 weeks at the last census of each week (up to 26 weeks).',
        svg_chart('lines', 'Long waiters at each weekly census', cats,
                  ARRAY['over 52 weeks', 'over 65 weeks', 'over 78 weeks', 'over 104 weeks'], vals, 'Pathways'),
        ARRAY['Census', 'Over 52 weeks', 'Over 65 weeks', 'Over 78 weeks', 'Over 104 weeks'], rows_html);

    -- 3. Provider variation: median weeks waited per provider in the eight
    -- largest specialties.
    WITH per AS (
        SELECT l.treatment_function, l.provider_org, count(*) AS waiting,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY l.days_waited / 7.0) AS median_weeks,
               percentile_disc(0.92) WITHIN GROUP (ORDER BY l.days_waited / 7.0) AS p92_weeks,
               100.0 * count(*) FILTER (WHERE l.days_waited > 126) / count(*) AS pct_over_18
        FROM ptl.census_snapshot l
        WHERE l.census_date = snap AND l.days_waited IS NOT NULL AND (orgs IS NULL OR l.provider_org = ANY (orgs))
        GROUP BY 1, 2
    ),
    largest AS (
        SELECT p.treatment_function, row_number() OVER (ORDER BY sum(p.waiting) DESC, p.treatment_function) AS k
        FROM per p GROUP BY 1 ORDER BY 2 LIMIT 8
    ),
    providers AS (
        SELECT DISTINCT p.provider_org FROM per p JOIN largest g USING (treatment_function)
    ),
    ordered AS (
        SELECT v.provider_org, row_number() OVER (ORDER BY v.provider_org) AS k FROM providers v
    )
    SELECT (SELECT array_agg(g.treatment_function || ' ' || coalesce(t.name, '') ORDER BY g.k)
            FROM largest g LEFT JOIN ptl.treatment_function t ON t.tfc = g.treatment_function),
           (SELECT array_agg(o.provider_org ORDER BY o.k) FROM ordered o),
           (SELECT array_agg(x.medians ORDER BY x.k)
            FROM (SELECT o.k, array_agg(round(p.median_weeks::numeric, 1)::float8 ORDER BY g.k) AS medians
                  FROM ordered o CROSS JOIN largest g
                  LEFT JOIN per p ON p.provider_org = o.provider_org AND p.treatment_function = g.treatment_function
                  GROUP BY o.k) x),
           (SELECT string_agg(ptl.html_row(ARRAY[g.treatment_function, p.provider_org, chart_number(p.waiting),
                                                 chart_number(round(p.median_weeks::numeric, 1)),
                                                 chart_number(round(p.p92_weeks::numeric, 1)),
                                                 chart_number(round(p.pct_over_18, 1)) || '%']), '' ORDER BY g.k, p.provider_org)
            FROM largest g JOIN per p USING (treatment_function))
    INTO cats, sers, vals, rows_html;
    figures := figures || pack_figure('variation', 'Provider variation per specialty',
        'Median weeks waited at each provider in the eight specialties with the most patients waiting; the table adds the 92nd percentile and the share over 18 weeks.',
        svg_chart('grouped', 'Median weeks waited by provider and specialty', cats, sers, vals, 'Median weeks'),
        ARRAY['Specialty', 'Provider', 'Waiting', 'Median weeks', '92nd percentile weeks', 'Over 18 weeks'], rows_html);

    -- 4. Stage bottlenecks: each open stage's queue now and four weeks ago;
    -- the table lists the worst bottlenecks by specialty and provider.
    CREATE TEMP TABLE pack_bottleneck ON COMMIT DROP AS
    SELECT b.* FROM ptl.journey_bottlenecks(census) b WHERE orgs IS NULL OR b.provider_org = ANY (orgs);
    SELECT coalesce(sum(b.queue_now), 0) INTO in_bottleneck FROM pack_bottleneck b WHERE b.bottleneck;
    WITH per_stage AS (
        SELECT s.stage, s.label, s.sort_order, coalesce(sum(b.queue_now), 0) AS now,
               coalesce(sum(b.queue_before), 0) AS before
        FROM ptl.journey_stage s
        LEFT JOIN pack_bottleneck b ON b.stage = s.stage
        WHERE NOT s.closed GROUP BY 1, 2, 3
    )
    SELECT array_agg(p.label ORDER BY p.sort_order),
           ARRAY[array_agg(p.before::float8 ORDER BY p.sort_order), array_agg(p.now::float8 ORDER BY p.sort_order)]
    INTO cats, vals FROM per_stage p;
    SELECT string_agg(ptl.html_row(ARRAY[b.provider_org, b.treatment_function, b.stage_label, chart_number(b.queue_now),
                                         chart_number(b.entered_per_week), chart_number(b.exited_per_week),
                                         coalesce(chart_number(b.clearance_weeks), 'no exits')]), '')
    INTO rows_html
    FROM (SELECT * FROM pack_bottleneck b WHERE b.bottleneck
          ORDER BY b.growth_per_week DESC, b.clearance_weeks DESC NULLS FIRST, b.queue_now DESC LIMIT 15) b;
    figures := figures || pack_figure('bottlenecks', 'Where patients are stuck',
        format('Pathways in each open stage now and %s weeks ago. The table lists the bottlenecks: queues entered faster than they are left, fastest growing first, with their clearance time (queue ÷ mean weekly exits).',
               (ptl.ops_setting_in_force()).bottleneck_weeks),
        svg_chart('grouped', 'Pathways per journey stage', cats,
                  ARRAY[format('%s weeks ago', (ptl.ops_setting_in_force()).bottleneck_weeks), 'now'], vals, 'Pathways'),
        ARRAY['Provider', 'Specialty', 'Stage', 'Queue', 'In per week', 'Out per week', 'Clearance weeks'], rows_html);

    -- 5. Theatre utilisation, capped, per site and week, against the target.
    WITH weeks AS (
        SELECT p.week_starting, p.site_code, p.capped_utilisation_pct, p.sessions, p.cases
        FROM ptl.theatre_productivity p
        JOIN ptl.site si ON si.site_code = p.site_code
        WHERE p.grouping = 'site' AND p.week_starting > census - 8 * 7 AND p.week_starting <= census
          AND (orgs IS NULL OR si.org_code = ANY (orgs))
    ),
    sites AS (
        SELECT w.site_code, row_number() OVER (ORDER BY w.site_code) AS k FROM (SELECT DISTINCT site_code FROM weeks) w
    ),
    week_list AS (
        SELECT DISTINCT w.week_starting FROM weeks w
    )
    SELECT (SELECT array_agg(x.week_starting::text ORDER BY x.week_starting) FROM week_list x),
           (SELECT array_agg(si.site_code ORDER BY si.k) FROM sites si),
           (SELECT array_agg(y.pcts ORDER BY y.k)
            FROM (SELECT si.k, array_agg(w.capped_utilisation_pct::float8 ORDER BY x.week_starting) AS pcts
                  FROM sites si CROSS JOIN week_list x
                  LEFT JOIN weeks w ON w.site_code = si.site_code AND w.week_starting = x.week_starting
                  GROUP BY si.k) y),
           (SELECT string_agg(ptl.html_row(ARRAY[w.week_starting::text, w.site_code, chart_number(w.sessions),
                                                 chart_number(w.cases), coalesce(chart_number(w.capped_utilisation_pct) || '%', '')]),
                              '' ORDER BY w.week_starting, w.site_code) FROM weeks w)
    INTO cats, sers, vals, rows_html;
    figures := figures || pack_figure('theatre', 'Theatre utilisation against target',
        format('Capped theatre utilisation per site and week (touch time within planned session time), last eight weeks; the dashed line is the %s%% target.',
               chart_number(target)),
        svg_chart('lines', 'Capped theatre utilisation per site', cats, sers, vals, 'Utilisation %',
                  target, format('target %s%%', chart_number(target))),
        ARRAY['Week starting', 'Site', 'Sessions', 'Cases', 'Capped utilisation'], rows_html);

    -- 6. Planned bed occupancy, six weeks ahead, as a share of each site's
    -- elective bed base.
    CREATE TEMP TABLE pack_beds ON COMMIT DROP AS
    SELECT b.* FROM ptl.bed_occupancy(census) b
    JOIN ptl.site si ON si.site_code = b.site_code
    WHERE orgs IS NULL OR si.org_code = ANY (orgs);
    WITH sites AS (
        SELECT b.site_code, row_number() OVER (ORDER BY b.site_code) AS k FROM pack_beds b GROUP BY 1
    )
    SELECT (SELECT array_agg(to_char(d.day, 'Dy DD Mon') ORDER BY d.day) FROM (SELECT DISTINCT b.day FROM pack_beds b) d),
           (SELECT array_agg(si.site_code ORDER BY si.k) FROM sites si),
           (SELECT array_agg(y.beds ORDER BY y.k)
            FROM (SELECT si.k, array_agg(b.planned_beds::float8 ORDER BY b.day) AS beds
                  FROM sites si JOIN pack_beds b ON b.site_code = si.site_code GROUP BY si.k) y),
           (SELECT array_agg(z.base ORDER BY z.day)
            FROM (SELECT b.day, sum(b.bed_base)::float8 AS base FROM pack_beds b GROUP BY 1) z)
    INTO cats, sers, vals, base_line;
    SELECT string_agg(ptl.html_row(ARRAY[x.site_code, chart_number(x.admissions), chart_number(x.peak_planned),
                                         chart_number(x.peak_expected), coalesce(chart_number(x.base), 'not set'),
                                         chart_number(x.days_over), coalesce(x.first_over::text, '')]), '' ORDER BY x.site_code)
    INTO rows_html
    FROM (SELECT b.site_code, sum(b.admissions) AS admissions, max(b.planned_beds) AS peak_planned,
                 max(b.expected_beds) AS peak_expected, min(b.bed_base) AS base,
                 count(*) FILTER (WHERE b.over_base) AS days_over, min(b.day) FILTER (WHERE b.over_base) AS first_over
          FROM pack_beds b GROUP BY 1) x;
    figures := figures || pack_figure('beds', 'Planned elective bed occupancy',
        format('Overnight elective beds that booked and proposed admissions (and patients in now) will fill each night for %s days, stacked by site, against the elective bed base (dashed); each stay is the %s percentile of past stays for the procedure. The table counts the nights each site plans more patients than beds.',
               (ptl.ops_setting_in_force()).bed_horizon_days,
               to_char(100 * (ptl.ops_setting_in_force()).los_percentile, 'FM990') || 'th'),
        svg_chart('stacked', 'Planned elective beds per night, by site, against the bed base', cats, sers, vals, 'Beds',
                  reference_label => 'elective bed base', reference_line => base_line),
        ARRAY['Site', 'Admissions planned', 'Peak planned beds', 'Peak expected beds', 'Smallest bed base',
              'Nights over base', 'First night over'], rows_html);

    -- 7. The validation backlog: pathways with open validation issues by rule.
    WITH per AS (
        SELECT v.rule_id, v.title, v.severity, v.provider_org, v.pathways
        FROM ptl.validation_summary v WHERE orgs IS NULL OR v.provider_org = ANY (orgs)
    ),
    rules AS (
        SELECT p.rule_id, row_number() OVER (ORDER BY sum(p.pathways) DESC, p.rule_id) AS k
        FROM per p GROUP BY 1 ORDER BY 2 LIMIT 12
    ),
    providers AS (
        SELECT v.provider_org, row_number() OVER (ORDER BY v.provider_org) AS k
        FROM (SELECT DISTINCT p.provider_org FROM per p JOIN rules r USING (rule_id)) v
    )
    SELECT (SELECT array_agg(r.rule_id ORDER BY r.k) FROM rules r),
           (SELECT array_agg(v.provider_org ORDER BY v.k) FROM providers v),
           (SELECT array_agg(y.counts ORDER BY y.k)
            FROM (SELECT v.k, array_agg(coalesce(p.pathways, 0)::float8 ORDER BY r.k) AS counts
                  FROM providers v CROSS JOIN rules r
                  LEFT JOIN per p ON p.provider_org = v.provider_org AND p.rule_id = r.rule_id GROUP BY v.k) y),
           (SELECT string_agg(ptl.html_row(ARRAY[r.rule_id, x.title, x.severity, chart_number(x.pathways)]), '' ORDER BY r.k)
            FROM rules r
            JOIN (SELECT p.rule_id, min(p.title) AS title, min(p.severity) AS severity, sum(p.pathways) AS pathways
                  FROM per p GROUP BY 1) x USING (rule_id))
    INTO cats, sers, vals, rows_html;
    figures := figures || pack_figure('validation', 'Validation backlog',
        'Pathways with an open validation issue at the last refresh, per rule (the twelve largest) and provider.',
        svg_chart('stacked', 'Pathways with validation issues by rule', cats, sers, vals, 'Pathways'),
        ARRAY['Rule', 'What it finds', 'Severity', 'Pathways'], rows_html);

    -- 8. Outpatients: follow-ups waiting with no RTT clock by how far past
    -- their LCAD, stacked by the risk of harm from delay; the table adds
    -- the last four weeks' outpatient measures of the largest specialties.
    CREATE TEMP TABLE pack_follow_up ON COMMIT DROP AS
    SELECT b.treatment_function, b.days_past_lcad, coalesce(b.clinical_risk, 'not stratified') AS risk
    FROM ptl.follow_up_backlog(census) b WHERE orgs IS NULL OR b.provider_org = ANY (orgs);
    WITH banded AS (
        SELECT CASE WHEN f.days_past_lcad <= 0 THEN 0 WHEN f.days_past_lcad <= 28 THEN 1 WHEN f.days_past_lcad <= 56 THEN 2
                    WHEN f.days_past_lcad <= 84 THEN 3 WHEN f.days_past_lcad <= 182 THEN 4 WHEN f.days_past_lcad <= 364 THEN 5
                    ELSE 6 END AS band, f.risk
        FROM pack_follow_up f
    ),
    risks AS (
        SELECT r.risk, r.k FROM (VALUES ('high', 1), ('medium', 2), ('low', 3), ('not stratified', 4)) r (risk, k)
        WHERE EXISTS (SELECT 1 FROM banded b WHERE b.risk = r.risk)
    )
    SELECT array_agg(r.risk ORDER BY r.k),
           array_agg((SELECT array_agg((SELECT count(*) FROM banded b WHERE b.risk = r.risk AND b.band = g)::float8 ORDER BY g)
                      FROM generate_series(0, 6) g) ORDER BY r.k)
    INTO sers, vals FROM risks r;
    cats := ARRAY['not yet past', '1–4 weeks', '5–8 weeks', '9–12 weeks', '13–26 weeks', '27–52 weeks', 'over 52 weeks'];
    WITH waiting AS (
        SELECT f.treatment_function, count(*) AS waiting, count(*) FILTER (WHERE f.days_past_lcad > 0) AS past_lcad,
               count(*) FILTER (WHERE f.days_past_lcad > 84) AS past_12_weeks,
               count(*) FILTER (WHERE f.days_past_lcad > 0 AND f.risk = 'high') AS high_risk_past
        FROM pack_follow_up f GROUP BY 1
    ),
    measured AS (
        -- the four weeks to the census, as ptl.outpatient_measures counts
        -- them, read straight from the appointments of those weeks
        SELECT c.treatment_function,
               count(*) FILTER (WHERE a.appointment_type = 'first' AND a.attendance = 'attended') AS first_attended,
               count(*) FILTER (WHERE a.appointment_type = 'follow_up' AND a.attendance = 'attended') AS follow_up_attended,
               count(*) FILTER (WHERE a.appointment_type = 'first' AND a.attendance = 'dna') AS first_dna,
               count(*) FILTER (WHERE a.appointment_type = 'follow_up' AND a.attendance = 'dna') AS follow_up_dna,
               count(*) FILTER (WHERE a.outcome = 'pifu') AS moved_to_pifu,
               count(*) FILTER (WHERE a.attendance IN ('attended', 'dna')) AS slots_used,
               (SELECT sum(s.slots) FROM ptl.clinic_session s JOIN ptl.clinic c2 ON c2.clinic_code = s.clinic_code
                JOIN ptl.site s2 ON s2.site_code = c2.site_code
                WHERE c2.treatment_function = c.treatment_function AND NOT s.cancelled
                  AND s.session_date BETWEEN date_trunc('week', census)::date - 21 AND census
                  AND (orgs IS NULL OR s2.org_code = ANY (orgs))) AS slots
        FROM ptl.outpatient_appointment a
        JOIN ptl.clinic c ON c.clinic_code = a.clinic_code
        JOIN ptl.site si ON si.site_code = c.site_code
        WHERE a.appointment_date BETWEEN date_trunc('week', census)::date - 21 AND census AND a.attendance <> 'booked'
          AND (orgs IS NULL OR si.org_code = ANY (orgs))
        GROUP BY 1
    )
    SELECT string_agg(ptl.html_row(ARRAY[
               x.treatment_function || ' ' || coalesce(t.name, ''), chart_number(coalesce(w.waiting, 0)),
               chart_number(coalesce(w.past_lcad, 0)), chart_number(coalesce(w.past_12_weeks, 0)),
               chart_number(coalesce(w.high_risk_past, 0)),
               coalesce(chart_number(round(100.0 * m.first_dna / nullif(m.first_attended + m.first_dna, 0), 1)) || '%', ''),
               coalesce(chart_number(round(100.0 * m.follow_up_dna / nullif(m.follow_up_attended + m.follow_up_dna, 0), 1)) || '%', ''),
               coalesce(chart_number(round(m.follow_up_attended::numeric / nullif(m.first_attended, 0), 2)), ''),
               coalesce(chart_number(round(100.0 * m.moved_to_pifu / nullif(m.first_attended + m.follow_up_attended, 0), 1)) || '%', ''),
               coalesce(chart_number(round(100.0 * m.slots_used / nullif(m.slots, 0), 1)) || '%', '')]),
               '' ORDER BY coalesce(w.waiting, 0) DESC, x.treatment_function)
    INTO rows_html
    FROM (SELECT y.treatment_function FROM (SELECT treatment_function FROM waiting UNION SELECT treatment_function FROM measured) y
          ORDER BY (SELECT w2.waiting FROM waiting w2 WHERE w2.treatment_function = y.treatment_function) DESC NULLS LAST,
                   y.treatment_function LIMIT 10) x
    LEFT JOIN waiting w ON w.treatment_function = x.treatment_function
    LEFT JOIN measured m ON m.treatment_function = x.treatment_function
    LEFT JOIN ptl.treatment_function t ON t.tfc = x.treatment_function;
    figures := figures || pack_figure('outpatients', 'Outpatient follow-ups past their LCAD',
        'Follow-ups waiting with no RTT clock, by how far past their latest clinically appropriate date (LCAD), coloured by the risk of harm from delay. The table gives the largest specialties'' follow-up backlog and their last four weeks'' outpatient measures.',
        svg_chart('stacked', 'Follow-ups waiting, by weeks past their LCAD', cats, sers, vals, 'Follow-ups',
                  colours => ARRAY(SELECT CASE r WHEN 'high' THEN '#D55E00' WHEN 'medium' THEN '#E69F00'
                                                 WHEN 'low' THEN '#56B4E9' ELSE '#B8B8B8' END FROM unnest(sers) r)),
        ARRAY['Specialty', 'Follow-ups waiting', 'Past LCAD', 'Over 12 weeks past', 'High risk past LCAD',
              'First DNA rate', 'Follow-up DNA rate', 'Follow-ups per first', 'PIFU uptake', 'Slot utilisation'],
        rows_html);

    DROP TABLE pack_bottleneck, pack_beds, pack_follow_up;

    RETURN '<!DOCTYPE html>' || E'\n' || '<html lang="en"><head><meta charset="utf-8">'
        || '<meta name="viewport" content="width=device-width, initial-scale=1">'
        || '<meta name="ptl-charts" content="8">'
        || format('<meta name="generator" content="ptl %s">',
                  (SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname = 'ptl'))
        || format('<title>Weekly PTL pack: %s, %s</title>', html_escape(scope), snap)
        || '<style>'
        || 'body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;color:#1a1a1a;max-width:760px;margin:1.5em auto;padding:0 1em;line-height:1.4}'
        || 'h1{font-size:1.6em;margin:0}h2{font-size:1.15em;margin:0 0 .4em}.scope{color:#444;margin:.2em 0 1em}'
        || '.headline{display:grid;grid-template-columns:repeat(4,1fr);gap:.5em;margin:1em 0 1.5em}'
        || '.headline div{border:1px solid #ccc;border-radius:4px;padding:.4em .6em}.headline b{display:block;font-size:1.4em}'
        || 'figure.chart{margin:0 0 2em;padding:0}svg.chart-svg{max-width:100%;height:auto;display:block}'
        || 'svg text{font-size:11px;fill:#1a1a1a}svg .grid{stroke:#e3e3e3}svg .axis{stroke:#666}'
        || 'svg .reference{stroke:#b00020;stroke-width:1.5;stroke-dasharray:6 4}svg .reference-label{fill:#b00020}'
        || 'svg .no-data{font-size:16px;fill:#666}figcaption{font-size:.9em;color:#333;margin:.3em 0}'
        || 'table{border-collapse:collapse;font-size:.8em;margin-top:.4em;width:100%}'
        || 'caption{text-align:left;font-weight:600;padding:.2em 0}th,td{border-bottom:1px solid #ddd;padding:.15em .4em;text-align:left}'
        || 'td.num{text-align:right;font-variant-numeric:tabular-nums}footer{font-size:.8em;color:#555;border-top:1px solid #ccc;margin-top:2em}'
        || '@media print{@page{size:A4 portrait;margin:12mm}body{max-width:none;margin:0;font-size:10pt}'
        || 'figure.chart{break-inside:avoid-page;page-break-inside:avoid}figure.chart table{break-inside:auto}'
        || 'h2{break-after:avoid}.headline{break-inside:avoid}}'
        || '</style></head><body>'
        || format('<header><h1>Weekly PTL pack</h1><p class="scope">%s · waiting list at %s%s</p></header>',
                  html_escape(scope), snap,
                  CASE WHEN snap <> census THEN format(' (the last snapshot on or before %s)', census) ELSE '' END)
        || '<section class="headline" aria-label="Headline figures">'
        || format('<div><b>%s</b>waiting%s</div>', chart_number(head.waiting),
                  CASE WHEN week_before IS NOT NULL
                       THEN format(' (%s%s on %s)', CASE WHEN head.waiting >= head.waiting_before THEN '+' ELSE '' END,
                                   chart_number(head.waiting - head.waiting_before), week_before) ELSE '' END)
        || format('<div><b>%s%%</b>within 18 weeks (standard 92%%)</div>',
                  chart_number(round(100.0 * head.within_18 / nullif(head.waiting, 0), 1)::float8))
        || format('<div><b>%s</b>median weeks waited</div>', coalesce(chart_number(round(head.median_weeks::numeric, 1)), '–'))
        || format('<div><b>%s</b>over 52 weeks%s</div>', chart_number(head.over_52),
                  CASE WHEN week_before IS NOT NULL
                       THEN format(' (%s%s)', CASE WHEN head.over_52 >= head.over_52_before THEN '+' ELSE '' END,
                                   chart_number(head.over_52 - head.over_52_before)) ELSE '' END)
        || format('<div><b>%s</b>over 65 weeks</div><div><b>%s</b>over 78 weeks</div><div><b>%s</b>over 104 weeks</div>',
                  chart_number(head.over_65), chart_number(head.over_78), chart_number(head.over_104))
        || format('<div><b>%s</b>in a bottleneck stage</div>',
                  chart_number(in_bottleneck))
        || '</section>'
        || figures
        || format('<footer><p>Made by ptl %s at %s from the census snapshots, journey stages, theatre sessions, '
                  'bookings and proposals, hospital spells, validation issues and outpatient records the caller may see. '
                  'Waits are RTT waits (days since clock start ÷ 7); weeks bands include their lower bound.</p></footer>',
                  (SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname = 'ptl'),
                  to_char(now(), 'YYYY-MM-DD HH24:MI'))
        || '</body></html>';
END
$$;
COMMENT ON FUNCTION ptl.weekly_pack(date, text) IS
    'The weekly PTL pack for a census (the snapshot on or before it) and one provider or the whole ICS: one self-contained HTML document with eight inline SVG charts, each with its table, and an A4 print stylesheet';
-- ---------------------------------------------------------------------------
-- ops, part 3: roles, privileges and row-level security.  Runs last, so it
-- covers every table and view the capabilities above created; an upgrade
-- script runs it again for the objects a release adds.  docs/operations.md
-- explains how to give people access.
--
--   ptl_reader        the PTL, reports and the tables behind them: read only,
--                     without patient-identifying columns
--   ptl_identifiable  added to any role: NHS number, names, date of birth,
--                     address, hospital number, and the raw extract rows
--   ptl_analyst       a reader who also runs the planning workflows that write
--                     (validation campaigns, theatre proposals, mutual aid
--                     requests and offers)
--   ptl_loader        stages extracts and loads them
--   ptl_admin         everything, including the refresh and clinical changes;
--                     sees every organisation
--
-- Rows: a role sees the patients of the organisations it is mapped to in
-- ptl.user_organisation (and pathways transferred to or from them); mapped
-- to the ICS, or ptl_admin, it sees all (ops/access.sql).  Views run with
-- the caller's rights (security_invoker) so that these policies apply
-- through them; ptl.ptl and ptl.transferred_pathway_visible are the two
-- exceptions, and filter rows themselves.
-- ---------------------------------------------------------------------------

-- Roles are the cluster's, not the database's: made once, kept when the
-- extension is dropped, shared by every database that installs ptl.
DO $$
DECLARE
    r text;
    m text;
BEGIN
    FOREACH r IN ARRAY ARRAY['ptl_reader', 'ptl_identifiable', 'ptl_analyst', 'ptl_loader', 'ptl_admin'] LOOP
        IF pg_catalog.to_regrole(r) IS NULL THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
    -- Memberships, each once (a second GRANT would only warn).
    FOR r, m IN SELECT * FROM (VALUES ('ptl_reader', 'ptl_analyst'), ('ptl_analyst', 'ptl_admin'),
                                      ('ptl_loader', 'ptl_admin'), ('ptl_identifiable', 'ptl_admin')) g(grp, member)
    LOOP
        IF NOT pg_catalog.pg_has_role(m, r, 'MEMBER') THEN
            EXECUTE pg_catalog.format('GRANT %I TO %I', r, m);
        END IF;
    END LOOP;
END
$$;
COMMENT ON ROLE ptl_reader IS 'ptl: reads the PTL and reports (no patient-identifying columns), rows limited by ptl.user_organisation';
COMMENT ON ROLE ptl_identifiable IS 'ptl: may also read patient-identifying columns and raw extract rows';
COMMENT ON ROLE ptl_analyst IS 'ptl: a reader who runs planning workflows (validation campaigns, theatre proposals, mutual aid)';
COMMENT ON ROLE ptl_loader IS 'ptl: stages and loads extracts';
COMMENT ON ROLE ptl_admin IS 'ptl: runs the refresh, makes clinical changes, sees every organisation';

-- Views run with the caller's rights, so row-level security applies.
DO $$
DECLARE
    v regclass;
BEGIN
    FOR v IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
             WHERE c.relnamespace = 'ptl'::regnamespace AND c.relkind = 'v'
               AND c.oid NOT IN ('ptl.ptl'::regclass, 'ptl.transferred_pathway_visible'::regclass)
    LOOP
        EXECUTE pg_catalog.format('ALTER VIEW %s SET (security_invoker = true)', v);
    END LOOP;
END
$$;

-- ---------------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------------
GRANT USAGE ON SCHEMA ptl TO ptl_reader, ptl_loader;
-- Everyone reads its own mappings (the row policies look them up).
GRANT SELECT ON ptl.user_organisation, ptl.transferred_pathway_visible TO ptl_reader, ptl_loader;
GRANT USAGE ON SCHEMA ptl_stage TO ptl_loader;

-- Readers: every table and view, then the exceptions taken back.
GRANT SELECT ON ALL TABLES IN SCHEMA ptl TO ptl_reader;
REVOKE SELECT ON ptl.patient, ptl.rejected_row, ptl.load_warning, ptl.census_snapshot_default,
    ptl.audit_log FROM ptl_reader;
GRANT SELECT (patient_id, org_code, source_system, sex, ethnic_category, lsoa_code, gp_practice_code,
              commissioner_code, batch_id, updated_at) ON ptl.patient TO ptl_reader;
-- The extracts' raw rows and values carry identifiers.
GRANT SELECT (rejected_id, batch_id, extract, row_in_extract, column_name, reason, sqlstate, rejected_at, retried_in)
    ON ptl.rejected_row TO ptl_reader;
GRANT SELECT (warning_id, batch_id, extract, row_in_extract, column_name, reason, sqlstate, warned_at)
    ON ptl.load_warning TO ptl_reader;
GRANT SELECT ON ptl.patient, ptl.rejected_row, ptl.load_warning TO ptl_identifiable;
GRANT USAGE ON SCHEMA ptl TO ptl_identifiable;

-- Analysts: the planning workflows' own tables.
GRANT INSERT, UPDATE, DELETE ON ptl.validation_campaign, ptl.validation_campaign_pathway,
    ptl.theatre_proposal_run, ptl.theatre_proposal, ptl.theatre_proposal_outcome,
    ptl.mutual_aid_request, ptl.mutual_aid_offer, ptl.mutual_aid_slot, ptl.mutual_aid_state_change
    TO ptl_analyst;

-- Loaders: staging, the batch, and the tables a load writes.
GRANT SELECT, INSERT, DELETE ON ALL TABLES IN SCHEMA ptl_stage TO ptl_loader;
GRANT SELECT ON ptl.organisation, ptl.site, ptl.commissioner, ptl.treatment_function, ptl.extract_column,
    ptl.batch, ptl.batch_extract TO ptl_loader;
GRANT SELECT, INSERT, UPDATE ON ptl.batch, ptl.patient, ptl.pathway, ptl.pathway_event,
    ptl.waiting_list_entry, ptl.rejected_row, ptl.load_warning, ptl.batch_extract TO ptl_loader;
GRANT DELETE ON ptl.load_warning, ptl.rejected_row TO ptl_loader;
-- a loaded event marks its pathway for the next refresh (rtt/refresh.sql)
GRANT SELECT, INSERT ON ptl.rtt_dirty_pathway TO ptl_loader;
-- a priority in the extract starts or extends its history (risk/assessment.sql)
GRANT SELECT, INSERT, UPDATE ON ptl.clinical_priority_history TO ptl_loader;

-- Administrators: everything.
GRANT ALL ON ALL TABLES IN SCHEMA ptl TO ptl_admin;
GRANT ALL ON ALL TABLES IN SCHEMA ptl_stage TO ptl_admin;
GRANT USAGE ON SCHEMA ptl_stage TO ptl_admin;

-- The audit log: written through the audit triggers by whoever changes an
-- audited row (stamped truly, ops/audit.sql), read by administrators, never
-- changed.
GRANT INSERT ON ptl.audit_log TO ptl_analyst, ptl_loader;
REVOKE UPDATE, DELETE, TRUNCATE ON ptl.audit_log FROM ptl_admin;

GRANT USAGE ON ALL SEQUENCES IN SCHEMA ptl TO ptl_analyst, ptl_loader;
GRANT ALL ON ALL SEQUENCES IN SCHEMA ptl TO ptl_admin;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA ptl_stage TO ptl_loader;

-- Functions keep PostgreSQL's default (anyone may call them; what they read
-- or write is checked on the tables), except these: the refresh, and the
-- SECURITY DEFINER functions, which act with the owner's rights
-- (analyze_if_grown for whoever bulk-writes: loads, proposals, refreshes).
REVOKE EXECUTE ON PROCEDURE ptl.refresh(date, boolean), ptl.daily_refresh(date, boolean, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION ptl.census_snapshot_partition(date), ptl.apply_snapshot_retention(date),
    ptl.analyze_if_grown(regclass, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ptl.analyze_if_grown(regclass, bigint) TO ptl_analyst, ptl_loader;
GRANT EXECUTE ON PROCEDURE ptl.refresh(date, boolean), ptl.daily_refresh(date, boolean, boolean) TO ptl_admin;
GRANT EXECUTE ON FUNCTION ptl.census_snapshot_partition(date), ptl.apply_snapshot_retention(date) TO ptl_admin;

-- ---------------------------------------------------------------------------
-- Row-level security.  Each table that holds patients' data gets one policy
-- by the column that ties it to a pathway, a patient, a waiting-list entry
-- or a batch.  (SELECT f()) makes each test an init plan: once a query.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ptl.row_security_predicate(tbl regclass) RETURNS text
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cols text[] := ARRAY(SELECT a.attname::text FROM pg_attribute a
                         WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped);
    everyone CONSTANT text := '(SELECT ptl.sees_all_organisations())';
    mine CONSTANT text := '((SELECT ptl.my_organisations())::text[])';
BEGIN
    -- A role's own mappings (ptl.my_organisations reads them, so this test
    -- cannot call it).
    IF tbl = 'ptl.user_organisation'::regclass THEN
        RETURN 'pg_catalog.pg_has_role(current_user, role_name, ''MEMBER'')'
            || ' OR pg_catalog.pg_has_role(current_user, ''ptl_admin'', ''MEMBER'')';
    END IF;
    RETURN everyone || ' OR ' || CASE
        WHEN tbl = 'ptl.pathway'::regclass THEN
            format('provider_org = ANY %s OR pathway_id IN (SELECT t.pathway_id FROM ptl.transferred_pathway_visible t)', mine)
        WHEN tbl = 'ptl.patient'::regclass THEN
            format('org_code = ANY %s OR patient_id IN (SELECT p.patient_id FROM ptl.pathway p)', mine)
        WHEN tbl = 'ptl.batch'::regclass THEN
            format('org_code = ANY %s', mine)
        WHEN tbl = 'ptl.pathway_transfer'::regclass THEN
            'receiver_pathway_id IN (SELECT p.pathway_id FROM ptl.pathway p) OR sender_pathway_id IN (SELECT p.pathway_id FROM ptl.pathway p)'
        WHEN 'pathway_id' = ANY (cols) THEN
            'pathway_id IN (SELECT p.pathway_id FROM ptl.pathway p)'
        WHEN 'patient_id' = ANY (cols) THEN
            'patient_id IN (SELECT p.patient_id FROM ptl.patient p)'
        WHEN 'patient_a' = ANY (cols) THEN
            'patient_a IN (SELECT p.patient_id FROM ptl.patient p) OR patient_b IN (SELECT p.patient_id FROM ptl.patient p)'
        WHEN 'entry_id' = ANY (cols) THEN
            'entry_id IN (SELECT e.entry_id FROM ptl.waiting_list_entry e)'
        WHEN 'booking_id' = ANY (cols) THEN
            'booking_id IN (SELECT b.booking_id FROM ptl.theatre_booking b)'
        WHEN 'batch_id' = ANY (cols) THEN
            'batch_id IN (SELECT b.batch_id FROM ptl.batch b)'
        END;
END
$$;
COMMENT ON FUNCTION ptl.row_security_predicate(regclass) IS
    'The row-level security test ptl applies to a table, by the column that ties its rows to an organisation; NULL for tables of reference data';

DO $$
DECLARE
    t regclass;
    predicate text;
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
             WHERE c.relnamespace = 'ptl'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
             ORDER BY c.relname
    LOOP
        predicate := ptl.row_security_predicate(t);
        CONTINUE WHEN predicate IS NULL;
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
        EXECUTE pg_catalog.format('DROP POLICY IF EXISTS organisation_rows ON %s', t);
        EXECUTE pg_catalog.format('CREATE POLICY organisation_rows ON %s USING (%s) WITH CHECK (%s)',
                                  t, predicate, predicate);
    END LOOP;
END
$$;
