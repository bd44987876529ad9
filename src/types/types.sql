-- ---------------------------------------------------------------------------
-- types: ptl.nhs_number, ptl.rtt_status, ptl.clinical_priority, the table of
-- priority targets and ptl.check_input.  C in src/types/*.c.
--
-- Order: shell types, I/O functions, types, functions, casts, operators,
-- operator classes, tables.  This file comes first in ptl--<version>.sql.
-- ---------------------------------------------------------------------------
\echo Use "CREATE EXTENSION ptl" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Two schemas: ptl is the interface (what users, loaders, BI tools and
-- administrators name); ptl_internal holds what only ptl's own code calls
-- (type support, aggregate states, trigger functions, loader steps, the
-- linkage engine's steps, row-security helpers, the pack's drawing), so that
-- \df ptl.* lists the interface alone (docs/architecture.md, "Schemas").
-- ---------------------------------------------------------------------------
CREATE SCHEMA ptl_internal;
COMMENT ON SCHEMA ptl_internal IS
    'ptl''s helpers: called by ptl''s own functions, triggers and types, not an interface (no stability promise)';

-- ---------------------------------------------------------------------------
-- Shell types, so that the I/O functions can name them
-- ---------------------------------------------------------------------------
CREATE TYPE ptl.nhs_number;
CREATE TYPE ptl.rtt_status;
CREATE TYPE ptl.clinical_priority;

-- ---------------------------------------------------------------------------
-- I/O functions
-- ---------------------------------------------------------------------------
CREATE FUNCTION ptl_internal.nhs_number_in(cstring) RETURNS ptl.nhs_number
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl_internal.nhs_number_out(ptl.nhs_number) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl_internal.nhs_number_recv(internal) RETURNS ptl.nhs_number
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl_internal.nhs_number_send(ptl.nhs_number) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION ptl_internal.rtt_status_in(cstring) RETURNS ptl.rtt_status
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl_internal.rtt_status_out(ptl.rtt_status) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl_internal.rtt_status_recv(internal) RETURNS ptl.rtt_status
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl_internal.rtt_status_send(ptl.rtt_status) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION ptl_internal.clinical_priority_in(cstring) RETURNS ptl.clinical_priority
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl_internal.clinical_priority_out(ptl.clinical_priority) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl_internal.clinical_priority_recv(internal) RETURNS ptl.clinical_priority
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl_internal.clinical_priority_send(ptl.clinical_priority) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- ---------------------------------------------------------------------------
-- Types
-- ---------------------------------------------------------------------------
-- An NHS number is held as its 10 digits in an int8, by value, so it is as
-- fast to compare, hash and index as a bigint.
CREATE TYPE ptl.nhs_number (
    INPUT = ptl_internal.nhs_number_in, OUTPUT = ptl_internal.nhs_number_out,
    RECEIVE = ptl_internal.nhs_number_recv, SEND = ptl_internal.nhs_number_send,
    INTERNALLENGTH = 8, PASSEDBYVALUE, ALIGNMENT = double, STORAGE = plain
);
COMMENT ON TYPE ptl.nhs_number IS
    'A valid NHS number (10 digits passing the NHS Data Dictionary Modulus 11 check). Input: 10 digits, or 3-3-4 with single spaces or single hyphens; output: 943 476 5919';

CREATE TYPE ptl.rtt_status (
    INPUT = ptl_internal.rtt_status_in, OUTPUT = ptl_internal.rtt_status_out,
    RECEIVE = ptl_internal.rtt_status_recv, SEND = ptl_internal.rtt_status_send,
    INTERNALLENGTH = 2, PASSEDBYVALUE, ALIGNMENT = int2, STORAGE = plain
);
COMMENT ON TYPE ptl.rtt_status IS
    'One of the 17 national RTT period status codes: 10, 11, 12 (start), 20, 21 (running), 30-36 (stop), 90, 91, 92, 98 (not RTT), 99 (not yet known)';

CREATE TYPE ptl.clinical_priority (
    INPUT = ptl_internal.clinical_priority_in, OUTPUT = ptl_internal.clinical_priority_out,
    RECEIVE = ptl_internal.clinical_priority_recv, SEND = ptl_internal.clinical_priority_send,
    INTERNALLENGTH = 2, PASSEDBYVALUE, ALIGNMENT = int2, STORAGE = plain
);
COMMENT ON TYPE ptl.clinical_priority IS
    'Surgical priority P1a, P1b, P2, P3, P4, P5 or P6 (FSSA 2020), ordered by urgency: P1a sorts first. Input is case-insensitive';

-- What casting a text to a type would raise (ptl.check_input's result).
CREATE TYPE ptl.input_problem AS (sqlstate text, message text, detail text);
COMMENT ON TYPE ptl.input_problem IS
    'The error a cast would raise: its SQLSTATE, message and detail (NULL when it has none)';

COMMENT ON FUNCTION ptl_internal.nhs_number_in(cstring) IS 'Text input of ptl.nhs_number (validates the Modulus 11 check digit)';
COMMENT ON FUNCTION ptl_internal.nhs_number_out(ptl.nhs_number) IS 'Text output of ptl.nhs_number: 3-3-4 with single spaces';
COMMENT ON FUNCTION ptl_internal.nhs_number_recv(internal) IS 'Binary input of ptl.nhs_number: an int8, validated like text input';
COMMENT ON FUNCTION ptl_internal.nhs_number_send(ptl.nhs_number) IS 'Binary output of ptl.nhs_number: an int8';
COMMENT ON FUNCTION ptl_internal.rtt_status_in(cstring) IS 'Text input of ptl.rtt_status: one of the 17 two-digit codes';
COMMENT ON FUNCTION ptl_internal.rtt_status_out(ptl.rtt_status) IS 'Text output of ptl.rtt_status: the two-digit code';
COMMENT ON FUNCTION ptl_internal.rtt_status_recv(internal) IS 'Binary input of ptl.rtt_status: an int2, which must be one of the 17 codes';
COMMENT ON FUNCTION ptl_internal.rtt_status_send(ptl.rtt_status) IS 'Binary output of ptl.rtt_status: the code as an int2';
COMMENT ON FUNCTION ptl_internal.clinical_priority_in(cstring) IS 'Text input of ptl.clinical_priority (case-insensitive)';
COMMENT ON FUNCTION ptl_internal.clinical_priority_out(ptl.clinical_priority) IS 'Text output of ptl.clinical_priority: P1a, P1b, P2, P3, P4, P5 or P6';
COMMENT ON FUNCTION ptl_internal.clinical_priority_recv(internal) IS 'Binary input of ptl.clinical_priority: its rank as an int2, 0 (P1a) to 6 (P6)';
COMMENT ON FUNCTION ptl_internal.clinical_priority_send(ptl.clinical_priority) IS 'Binary output of ptl.clinical_priority: its rank as an int2, 0 (P1a) to 6 (P6)';

-- ---------------------------------------------------------------------------
-- Functions
-- ---------------------------------------------------------------------------
CREATE FUNCTION ptl.nhs_number_valid(text) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.nhs_number_valid(text) IS
    'True when the text is a valid NHS number by the rules of ptl.nhs_number input; never raises';

CREATE FUNCTION ptl_internal.nhs_number_from_bigint(bigint) RETURNS ptl.nhs_number
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl_internal.nhs_number_from_bigint(bigint) IS
    'Cast bigint to ptl.nhs_number: the integer must be 0 to 9999999999 and pass the Modulus 11 check (else 22023)';

CREATE FUNCTION ptl_internal.rtt_status_from_integer(integer) RETURNS ptl.rtt_status
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl_internal.rtt_status_from_integer(integer) IS
    'Cast integer to ptl.rtt_status: the integer must be one of the 17 codes (else 22023)';
CREATE FUNCTION ptl_internal.rtt_status_to_integer(ptl.rtt_status) RETURNS integer
    AS 'i2toi4' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.rtt_status_to_integer(ptl.rtt_status) IS 'Cast ptl.rtt_status to integer: the code';

-- What each RTT status does to the clock (RTT guidance Annex D).
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

CREATE FUNCTION ptl_internal.nhs_number_eq(ptl.nhs_number, ptl.nhs_number) RETURNS boolean
    AS 'int8eq' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.nhs_number_eq(ptl.nhs_number, ptl.nhs_number) IS 'Implements the nhs_number = operator';

CREATE FUNCTION ptl_internal.nhs_number_ne(ptl.nhs_number, ptl.nhs_number) RETURNS boolean
    AS 'int8ne' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.nhs_number_ne(ptl.nhs_number, ptl.nhs_number) IS 'Implements the nhs_number <> operator';

CREATE FUNCTION ptl_internal.nhs_number_lt(ptl.nhs_number, ptl.nhs_number) RETURNS boolean
    AS 'int8lt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.nhs_number_lt(ptl.nhs_number, ptl.nhs_number) IS 'Implements the nhs_number < operator';

CREATE FUNCTION ptl_internal.nhs_number_le(ptl.nhs_number, ptl.nhs_number) RETURNS boolean
    AS 'int8le' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.nhs_number_le(ptl.nhs_number, ptl.nhs_number) IS 'Implements the nhs_number <= operator';

CREATE FUNCTION ptl_internal.nhs_number_gt(ptl.nhs_number, ptl.nhs_number) RETURNS boolean
    AS 'int8gt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.nhs_number_gt(ptl.nhs_number, ptl.nhs_number) IS 'Implements the nhs_number > operator';

CREATE FUNCTION ptl_internal.nhs_number_ge(ptl.nhs_number, ptl.nhs_number) RETURNS boolean
    AS 'int8ge' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.nhs_number_ge(ptl.nhs_number, ptl.nhs_number) IS 'Implements the nhs_number >= operator';

CREATE FUNCTION ptl_internal.nhs_number_cmp(ptl.nhs_number, ptl.nhs_number) RETURNS integer
    AS 'btint8cmp' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.nhs_number_cmp(ptl.nhs_number, ptl.nhs_number) IS 'Btree comparison of NHS numbers (-1, 0 or 1, by numeric order of the 10 digits)';

CREATE FUNCTION ptl_internal.nhs_number_hash(ptl.nhs_number) RETURNS integer
    AS 'hashint8' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.nhs_number_hash(ptl.nhs_number) IS 'Hash of a nhs_number (hash support 1: hash indexes, hash joins, hash aggregation)';

CREATE FUNCTION ptl_internal.nhs_number_hash_extended(ptl.nhs_number, bigint) RETURNS bigint
    AS 'hashint8extended' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.nhs_number_hash_extended(ptl.nhs_number, bigint) IS 'Seeded 64-bit hash of a nhs_number (hash support 2: hash partitioning)';

-- rtt_status: comparison, btree and hash support are PostgreSQL's own int2
-- functions, since the stored value is an int2.

CREATE FUNCTION ptl_internal.rtt_status_eq(ptl.rtt_status, ptl.rtt_status) RETURNS boolean
    AS 'int2eq' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.rtt_status_eq(ptl.rtt_status, ptl.rtt_status) IS 'Implements the rtt_status = operator';

CREATE FUNCTION ptl_internal.rtt_status_ne(ptl.rtt_status, ptl.rtt_status) RETURNS boolean
    AS 'int2ne' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.rtt_status_ne(ptl.rtt_status, ptl.rtt_status) IS 'Implements the rtt_status <> operator';

CREATE FUNCTION ptl_internal.rtt_status_lt(ptl.rtt_status, ptl.rtt_status) RETURNS boolean
    AS 'int2lt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.rtt_status_lt(ptl.rtt_status, ptl.rtt_status) IS 'Implements the rtt_status < operator';

CREATE FUNCTION ptl_internal.rtt_status_le(ptl.rtt_status, ptl.rtt_status) RETURNS boolean
    AS 'int2le' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.rtt_status_le(ptl.rtt_status, ptl.rtt_status) IS 'Implements the rtt_status <= operator';

CREATE FUNCTION ptl_internal.rtt_status_gt(ptl.rtt_status, ptl.rtt_status) RETURNS boolean
    AS 'int2gt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.rtt_status_gt(ptl.rtt_status, ptl.rtt_status) IS 'Implements the rtt_status > operator';

CREATE FUNCTION ptl_internal.rtt_status_ge(ptl.rtt_status, ptl.rtt_status) RETURNS boolean
    AS 'int2ge' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.rtt_status_ge(ptl.rtt_status, ptl.rtt_status) IS 'Implements the rtt_status >= operator';

CREATE FUNCTION ptl_internal.rtt_status_cmp(ptl.rtt_status, ptl.rtt_status) RETURNS integer
    AS 'btint2cmp' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.rtt_status_cmp(ptl.rtt_status, ptl.rtt_status) IS 'Btree comparison of RTT period status codes (-1, 0 or 1, by numeric order of the codes)';

CREATE FUNCTION ptl_internal.rtt_status_hash(ptl.rtt_status) RETURNS integer
    AS 'hashint2' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.rtt_status_hash(ptl.rtt_status) IS 'Hash of a rtt_status (hash support 1: hash indexes, hash joins, hash aggregation)';

CREATE FUNCTION ptl_internal.rtt_status_hash_extended(ptl.rtt_status, bigint) RETURNS bigint
    AS 'hashint2extended' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.rtt_status_hash_extended(ptl.rtt_status, bigint) IS 'Seeded 64-bit hash of a rtt_status (hash support 2: hash partitioning)';

-- clinical_priority: comparison, btree and hash support are PostgreSQL's own int2
-- functions, since the stored value is an int2.

CREATE FUNCTION ptl_internal.clinical_priority_eq(ptl.clinical_priority, ptl.clinical_priority) RETURNS boolean
    AS 'int2eq' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.clinical_priority_eq(ptl.clinical_priority, ptl.clinical_priority) IS 'Implements the clinical_priority = operator';

CREATE FUNCTION ptl_internal.clinical_priority_ne(ptl.clinical_priority, ptl.clinical_priority) RETURNS boolean
    AS 'int2ne' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.clinical_priority_ne(ptl.clinical_priority, ptl.clinical_priority) IS 'Implements the clinical_priority <> operator';

CREATE FUNCTION ptl_internal.clinical_priority_lt(ptl.clinical_priority, ptl.clinical_priority) RETURNS boolean
    AS 'int2lt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.clinical_priority_lt(ptl.clinical_priority, ptl.clinical_priority) IS 'Implements the clinical_priority < operator';

CREATE FUNCTION ptl_internal.clinical_priority_le(ptl.clinical_priority, ptl.clinical_priority) RETURNS boolean
    AS 'int2le' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.clinical_priority_le(ptl.clinical_priority, ptl.clinical_priority) IS 'Implements the clinical_priority <= operator';

CREATE FUNCTION ptl_internal.clinical_priority_gt(ptl.clinical_priority, ptl.clinical_priority) RETURNS boolean
    AS 'int2gt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.clinical_priority_gt(ptl.clinical_priority, ptl.clinical_priority) IS 'Implements the clinical_priority > operator';

CREATE FUNCTION ptl_internal.clinical_priority_ge(ptl.clinical_priority, ptl.clinical_priority) RETURNS boolean
    AS 'int2ge' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.clinical_priority_ge(ptl.clinical_priority, ptl.clinical_priority) IS 'Implements the clinical_priority >= operator';

CREATE FUNCTION ptl_internal.clinical_priority_cmp(ptl.clinical_priority, ptl.clinical_priority) RETURNS integer
    AS 'btint2cmp' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.clinical_priority_cmp(ptl.clinical_priority, ptl.clinical_priority) IS 'Btree comparison of clinical priorities (-1, 0 or 1, by urgency, P1a first)';

CREATE FUNCTION ptl_internal.clinical_priority_hash(ptl.clinical_priority) RETURNS integer
    AS 'hashint2' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.clinical_priority_hash(ptl.clinical_priority) IS 'Hash of a clinical_priority (hash support 1: hash indexes, hash joins, hash aggregation)';

CREATE FUNCTION ptl_internal.clinical_priority_hash_extended(ptl.clinical_priority, bigint) RETURNS bigint
    AS 'hashint2extended' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION ptl_internal.clinical_priority_hash_extended(ptl.clinical_priority, bigint) IS 'Seeded 64-bit hash of a clinical_priority (hash support 2: hash partitioning)';

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
CREATE CAST (bigint AS ptl.nhs_number) WITH FUNCTION ptl_internal.nhs_number_from_bigint(bigint);
COMMENT ON CAST (bigint AS ptl.nhs_number) IS 'Validates an integer as an NHS number (22023 when invalid)';

CREATE CAST (ptl.rtt_status AS text) WITH INOUT;
COMMENT ON CAST (ptl.rtt_status AS text) IS 'The two-digit code';
CREATE CAST (text AS ptl.rtt_status) WITH INOUT;
COMMENT ON CAST (text AS ptl.rtt_status) IS 'Parses a national RTT period status code (22P02 when invalid)';
CREATE CAST (ptl.rtt_status AS integer) WITH FUNCTION ptl_internal.rtt_status_to_integer(ptl.rtt_status);
COMMENT ON CAST (ptl.rtt_status AS integer) IS 'The code as an integer';
CREATE CAST (integer AS ptl.rtt_status) WITH FUNCTION ptl_internal.rtt_status_from_integer(integer);
COMMENT ON CAST (integer AS ptl.rtt_status) IS 'Validates an integer as an RTT period status code (22023 when invalid)';

CREATE CAST (ptl.clinical_priority AS text) WITH INOUT;
COMMENT ON CAST (ptl.clinical_priority AS text) IS 'The canonical spelling, e.g. P1a';
CREATE CAST (text AS ptl.clinical_priority) WITH INOUT;
COMMENT ON CAST (text AS ptl.clinical_priority) IS 'Parses a surgical priority code, case-insensitively (22P02 when invalid)';

-- ---------------------------------------------------------------------------
-- Operators: =, <>, <, <=, >, >= for each type.  They live in pg_catalog,
-- which every search_path includes, so an analyst's or a BI tool's
-- `a.nhs_number = b.nhs_number`, `priority < 'P3'` or `IN (...)` works
-- without ptl on the path.  Operators are found only through the path, and
-- implicit casts to bigint or text would instead compare the wrong way
-- (text order) or lose the indexes; the argument types are ptl's own, so
-- nothing else in pg_catalog can clash with them.
-- ---------------------------------------------------------------------------
CREATE OPERATOR pg_catalog.= (
    LEFTARG = ptl.nhs_number, RIGHTARG = ptl.nhs_number, FUNCTION = ptl_internal.nhs_number_eq,
    COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES
);
COMMENT ON OPERATOR pg_catalog.= (ptl.nhs_number, ptl.nhs_number) IS 'equal to';

CREATE OPERATOR pg_catalog.<> (
    LEFTARG = ptl.nhs_number, RIGHTARG = ptl.nhs_number, FUNCTION = ptl_internal.nhs_number_ne,
    COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
COMMENT ON OPERATOR pg_catalog.<> (ptl.nhs_number, ptl.nhs_number) IS 'not equal to';

CREATE OPERATOR pg_catalog.< (
    LEFTARG = ptl.nhs_number, RIGHTARG = ptl.nhs_number, FUNCTION = ptl_internal.nhs_number_lt,
    COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
COMMENT ON OPERATOR pg_catalog.< (ptl.nhs_number, ptl.nhs_number) IS 'less than (by numeric order of the 10 digits)';

CREATE OPERATOR pg_catalog.<= (
    LEFTARG = ptl.nhs_number, RIGHTARG = ptl.nhs_number, FUNCTION = ptl_internal.nhs_number_le,
    COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
COMMENT ON OPERATOR pg_catalog.<= (ptl.nhs_number, ptl.nhs_number) IS 'less than or equal to (by numeric order of the 10 digits)';

CREATE OPERATOR pg_catalog.> (
    LEFTARG = ptl.nhs_number, RIGHTARG = ptl.nhs_number, FUNCTION = ptl_internal.nhs_number_gt,
    COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
COMMENT ON OPERATOR pg_catalog.> (ptl.nhs_number, ptl.nhs_number) IS 'greater than (by numeric order of the 10 digits)';

CREATE OPERATOR pg_catalog.>= (
    LEFTARG = ptl.nhs_number, RIGHTARG = ptl.nhs_number, FUNCTION = ptl_internal.nhs_number_ge,
    COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR pg_catalog.>= (ptl.nhs_number, ptl.nhs_number) IS 'greater than or equal to (by numeric order of the 10 digits)';

CREATE OPERATOR pg_catalog.= (
    LEFTARG = ptl.rtt_status, RIGHTARG = ptl.rtt_status, FUNCTION = ptl_internal.rtt_status_eq,
    COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES
);
COMMENT ON OPERATOR pg_catalog.= (ptl.rtt_status, ptl.rtt_status) IS 'equal to';

CREATE OPERATOR pg_catalog.<> (
    LEFTARG = ptl.rtt_status, RIGHTARG = ptl.rtt_status, FUNCTION = ptl_internal.rtt_status_ne,
    COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
COMMENT ON OPERATOR pg_catalog.<> (ptl.rtt_status, ptl.rtt_status) IS 'not equal to';

CREATE OPERATOR pg_catalog.< (
    LEFTARG = ptl.rtt_status, RIGHTARG = ptl.rtt_status, FUNCTION = ptl_internal.rtt_status_lt,
    COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
COMMENT ON OPERATOR pg_catalog.< (ptl.rtt_status, ptl.rtt_status) IS 'less than (by numeric order of the codes)';

CREATE OPERATOR pg_catalog.<= (
    LEFTARG = ptl.rtt_status, RIGHTARG = ptl.rtt_status, FUNCTION = ptl_internal.rtt_status_le,
    COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
COMMENT ON OPERATOR pg_catalog.<= (ptl.rtt_status, ptl.rtt_status) IS 'less than or equal to (by numeric order of the codes)';

CREATE OPERATOR pg_catalog.> (
    LEFTARG = ptl.rtt_status, RIGHTARG = ptl.rtt_status, FUNCTION = ptl_internal.rtt_status_gt,
    COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
COMMENT ON OPERATOR pg_catalog.> (ptl.rtt_status, ptl.rtt_status) IS 'greater than (by numeric order of the codes)';

CREATE OPERATOR pg_catalog.>= (
    LEFTARG = ptl.rtt_status, RIGHTARG = ptl.rtt_status, FUNCTION = ptl_internal.rtt_status_ge,
    COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR pg_catalog.>= (ptl.rtt_status, ptl.rtt_status) IS 'greater than or equal to (by numeric order of the codes)';

CREATE OPERATOR pg_catalog.= (
    LEFTARG = ptl.clinical_priority, RIGHTARG = ptl.clinical_priority, FUNCTION = ptl_internal.clinical_priority_eq,
    COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES
);
COMMENT ON OPERATOR pg_catalog.= (ptl.clinical_priority, ptl.clinical_priority) IS 'equal to';

CREATE OPERATOR pg_catalog.<> (
    LEFTARG = ptl.clinical_priority, RIGHTARG = ptl.clinical_priority, FUNCTION = ptl_internal.clinical_priority_ne,
    COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
COMMENT ON OPERATOR pg_catalog.<> (ptl.clinical_priority, ptl.clinical_priority) IS 'not equal to';

CREATE OPERATOR pg_catalog.< (
    LEFTARG = ptl.clinical_priority, RIGHTARG = ptl.clinical_priority, FUNCTION = ptl_internal.clinical_priority_lt,
    COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
COMMENT ON OPERATOR pg_catalog.< (ptl.clinical_priority, ptl.clinical_priority) IS 'less than (by urgency, P1a first)';

CREATE OPERATOR pg_catalog.<= (
    LEFTARG = ptl.clinical_priority, RIGHTARG = ptl.clinical_priority, FUNCTION = ptl_internal.clinical_priority_le,
    COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
COMMENT ON OPERATOR pg_catalog.<= (ptl.clinical_priority, ptl.clinical_priority) IS 'less than or equal to (by urgency, P1a first)';

CREATE OPERATOR pg_catalog.> (
    LEFTARG = ptl.clinical_priority, RIGHTARG = ptl.clinical_priority, FUNCTION = ptl_internal.clinical_priority_gt,
    COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
COMMENT ON OPERATOR pg_catalog.> (ptl.clinical_priority, ptl.clinical_priority) IS 'greater than (by urgency, P1a first)';

CREATE OPERATOR pg_catalog.>= (
    LEFTARG = ptl.clinical_priority, RIGHTARG = ptl.clinical_priority, FUNCTION = ptl_internal.clinical_priority_ge,
    COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR pg_catalog.>= (ptl.clinical_priority, ptl.clinical_priority) IS 'greater than or equal to (by urgency, P1a first)';

-- ---------------------------------------------------------------------------
-- Operator classes: btree (with sort support and deduplication) and hash
-- (support functions 1 and 2, so PARTITION BY HASH works) for each type
-- ---------------------------------------------------------------------------
CREATE OPERATOR CLASS ptl.nhs_number_ops
    DEFAULT FOR TYPE ptl.nhs_number USING btree AS
        OPERATOR 1 pg_catalog.<,
        OPERATOR 2 pg_catalog.<=,
        OPERATOR 3 pg_catalog.=,
        OPERATOR 4 pg_catalog.>=,
        OPERATOR 5 pg_catalog.>,
        FUNCTION 1 ptl_internal.nhs_number_cmp(ptl.nhs_number, ptl.nhs_number),
        FUNCTION 2 pg_catalog.btint8sortsupport(internal),
        FUNCTION 4 pg_catalog.btequalimage(oid);
COMMENT ON OPERATOR CLASS ptl.nhs_number_ops USING btree IS
    'Default btree ordering of NHS numbers (numeric order of the 10 digits), with sort support and deduplication';
COMMENT ON OPERATOR FAMILY ptl.nhs_number_ops USING btree IS 'Btree operators of NHS numbers';

CREATE OPERATOR CLASS ptl.nhs_number_ops
    DEFAULT FOR TYPE ptl.nhs_number USING hash AS
        OPERATOR 1 pg_catalog.=,
        FUNCTION 1 ptl_internal.nhs_number_hash(ptl.nhs_number),
        FUNCTION 2 ptl_internal.nhs_number_hash_extended(ptl.nhs_number, bigint);
COMMENT ON OPERATOR CLASS ptl.nhs_number_ops USING hash IS
    'Default hashing of NHS numbers (hash indexes, hash joins and aggregation, PARTITION BY HASH)';
COMMENT ON OPERATOR FAMILY ptl.nhs_number_ops USING hash IS 'Hash operators of NHS numbers';

CREATE OPERATOR CLASS ptl.rtt_status_ops
    DEFAULT FOR TYPE ptl.rtt_status USING btree AS
        OPERATOR 1 pg_catalog.<,
        OPERATOR 2 pg_catalog.<=,
        OPERATOR 3 pg_catalog.=,
        OPERATOR 4 pg_catalog.>=,
        OPERATOR 5 pg_catalog.>,
        FUNCTION 1 ptl_internal.rtt_status_cmp(ptl.rtt_status, ptl.rtt_status),
        FUNCTION 2 pg_catalog.btint2sortsupport(internal),
        FUNCTION 4 pg_catalog.btequalimage(oid);
COMMENT ON OPERATOR CLASS ptl.rtt_status_ops USING btree IS
    'Default btree ordering of RTT period status codes (numeric order of the codes), with sort support and deduplication';
COMMENT ON OPERATOR FAMILY ptl.rtt_status_ops USING btree IS 'Btree operators of RTT period status codes';

CREATE OPERATOR CLASS ptl.rtt_status_ops
    DEFAULT FOR TYPE ptl.rtt_status USING hash AS
        OPERATOR 1 pg_catalog.=,
        FUNCTION 1 ptl_internal.rtt_status_hash(ptl.rtt_status),
        FUNCTION 2 ptl_internal.rtt_status_hash_extended(ptl.rtt_status, bigint);
COMMENT ON OPERATOR CLASS ptl.rtt_status_ops USING hash IS
    'Default hashing of RTT period status codes (hash indexes, hash joins and aggregation, PARTITION BY HASH)';
COMMENT ON OPERATOR FAMILY ptl.rtt_status_ops USING hash IS 'Hash operators of RTT period status codes';

CREATE OPERATOR CLASS ptl.clinical_priority_ops
    DEFAULT FOR TYPE ptl.clinical_priority USING btree AS
        OPERATOR 1 pg_catalog.<,
        OPERATOR 2 pg_catalog.<=,
        OPERATOR 3 pg_catalog.=,
        OPERATOR 4 pg_catalog.>=,
        OPERATOR 5 pg_catalog.>,
        FUNCTION 1 ptl_internal.clinical_priority_cmp(ptl.clinical_priority, ptl.clinical_priority),
        FUNCTION 2 pg_catalog.btint2sortsupport(internal),
        FUNCTION 4 pg_catalog.btequalimage(oid);
COMMENT ON OPERATOR CLASS ptl.clinical_priority_ops USING btree IS
    'Default btree ordering of clinical priorities (urgency, P1a first), with sort support and deduplication';
COMMENT ON OPERATOR FAMILY ptl.clinical_priority_ops USING btree IS 'Btree operators of clinical priorities';

CREATE OPERATOR CLASS ptl.clinical_priority_ops
    DEFAULT FOR TYPE ptl.clinical_priority USING hash AS
        OPERATOR 1 pg_catalog.=,
        FUNCTION 1 ptl_internal.clinical_priority_hash(ptl.clinical_priority),
        FUNCTION 2 ptl_internal.clinical_priority_hash_extended(ptl.clinical_priority, bigint);
COMMENT ON OPERATOR CLASS ptl.clinical_priority_ops USING hash IS
    'Default hashing of clinical priorities (hash indexes, hash joins and aggregation, PARTITION BY HASH)';
COMMENT ON OPERATOR FAMILY ptl.clinical_priority_ops USING hash IS 'Hash operators of clinical priorities';

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------
-- Target days to surgery for each clinical priority: the FSSA defaults
-- (2020 clinical guide to surgical prioritisation), which a trust may change.  pg_dump keeps the whole
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

CREATE FUNCTION ptl_internal.priority_target_replace() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE ptl.priority_target t
       SET target_days = NEW.target_days, description = NEW.description
     WHERE t.priority = NEW.priority;
    IF FOUND THEN
        RETURN NULL;            -- the existing row now holds the new values
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ptl_internal.priority_target_replace() IS
    'Trigger on ptl.priority_target: inserting a priority that is already there replaces its target (so pg_restore can load a dump over the defaults)';
CREATE TRIGGER priority_target_replace
    BEFORE INSERT ON ptl.priority_target
    FOR EACH ROW EXECUTE FUNCTION ptl_internal.priority_target_replace();

CREATE FUNCTION ptl.priority_target_days(priority ptl.clinical_priority) RETURNS integer
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT t.target_days
      FROM ptl.priority_target t
     WHERE t.priority = priority_target_days.priority;
END;
COMMENT ON FUNCTION ptl.priority_target_days(ptl.clinical_priority) IS
    'Target days to surgery for a clinical priority, read from ptl.priority_target (defaults: P1a 1, P1b 3, P2 28, P3 90, P4 365; NULL for P5, P6)';
