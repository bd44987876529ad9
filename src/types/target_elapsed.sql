-- ---------------------------------------------------------------------------
-- types, part 2: ptl.target_elapsed, days waited over target days, ordered
-- exactly.  The PTL's order, the risk cohorts and the reports compare waits
-- against different targets with it (C: src/types/target_elapsed.c).
-- ---------------------------------------------------------------------------
CREATE TYPE ptl.target_elapsed;
CREATE FUNCTION ptl_internal.target_elapsed_in(cstring) RETURNS ptl.target_elapsed
    AS 'MODULE_PATHNAME', 'target_elapsed_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl_internal.target_elapsed_out(ptl.target_elapsed) RETURNS cstring
    AS 'MODULE_PATHNAME', 'target_elapsed_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl_internal.target_elapsed_recv(internal) RETURNS ptl.target_elapsed
    AS 'MODULE_PATHNAME', 'target_elapsed_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl_internal.target_elapsed_send(ptl.target_elapsed) RETURNS bytea
    AS 'MODULE_PATHNAME', 'target_elapsed_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE ptl.target_elapsed (
    INPUT = ptl_internal.target_elapsed_in, OUTPUT = ptl_internal.target_elapsed_out,
    RECEIVE = ptl_internal.target_elapsed_recv, SEND = ptl_internal.target_elapsed_send,
    INTERNALLENGTH = 8, PASSEDBYVALUE, ALIGNMENT = double, STORAGE = plain
);
COMMENT ON TYPE ptl.target_elapsed IS
    'Days waited over a clinical priority''s target days, written wait/target (e.g. 90/28), compared exactly by cross-multiplying: 90/90 equals 28/28';
COMMENT ON FUNCTION ptl_internal.target_elapsed_in(cstring) IS 'Input of ptl.target_elapsed: wait/target';
COMMENT ON FUNCTION ptl_internal.target_elapsed_out(ptl.target_elapsed) IS 'Output of ptl.target_elapsed: wait/target';
COMMENT ON FUNCTION ptl_internal.target_elapsed_recv(internal) IS 'Binary input of ptl.target_elapsed';
COMMENT ON FUNCTION ptl_internal.target_elapsed_send(ptl.target_elapsed) IS 'Binary output of ptl.target_elapsed';

CREATE FUNCTION ptl.target_elapsed(wait_days integer, target_days integer) RETURNS ptl.target_elapsed
    AS 'MODULE_PATHNAME', 'target_elapsed' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.target_elapsed(integer, integer) IS
    'Days waited (0 or more) over target days (1 or more) as one exactly ordered value';
CREATE FUNCTION ptl_internal.pct(ptl.target_elapsed) RETURNS float8
    AS 'MODULE_PATHNAME', 'target_elapsed_pct' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl_internal.pct(ptl.target_elapsed) IS 'Percentage of the target waited, for display (the order uses the exact value)';
CREATE FUNCTION ptl.wait_days(ptl.target_elapsed) RETURNS integer
    AS 'MODULE_PATHNAME', 'target_elapsed_wait_days' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.wait_days(ptl.target_elapsed) IS 'Days waited';
CREATE FUNCTION ptl.target_days(ptl.target_elapsed) RETURNS integer
    AS 'MODULE_PATHNAME', 'target_elapsed_target_days' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.target_days(ptl.target_elapsed) IS 'Target days';

CREATE FUNCTION ptl_internal.target_elapsed_cmp(ptl.target_elapsed, ptl.target_elapsed) RETURNS integer
    AS 'MODULE_PATHNAME', 'target_elapsed_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl_internal.target_elapsed_cmp(ptl.target_elapsed, ptl.target_elapsed) IS
    'Btree comparison of target_elapsed values by 64-bit cross products';
CREATE FUNCTION ptl_internal.target_elapsed_lt(ptl.target_elapsed, ptl.target_elapsed) RETURNS boolean
    AS 'MODULE_PATHNAME', 'target_elapsed_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl_internal.target_elapsed_le(ptl.target_elapsed, ptl.target_elapsed) RETURNS boolean
    AS 'MODULE_PATHNAME', 'target_elapsed_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl_internal.target_elapsed_eq(ptl.target_elapsed, ptl.target_elapsed) RETURNS boolean
    AS 'MODULE_PATHNAME', 'target_elapsed_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl_internal.target_elapsed_ne(ptl.target_elapsed, ptl.target_elapsed) RETURNS boolean
    AS 'MODULE_PATHNAME', 'target_elapsed_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl_internal.target_elapsed_ge(ptl.target_elapsed, ptl.target_elapsed) RETURNS boolean
    AS 'MODULE_PATHNAME', 'target_elapsed_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ptl_internal.target_elapsed_gt(ptl.target_elapsed, ptl.target_elapsed) RETURNS boolean
    AS 'MODULE_PATHNAME', 'target_elapsed_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl_internal.target_elapsed_lt(ptl.target_elapsed, ptl.target_elapsed) IS 'Implements < on target_elapsed';
COMMENT ON FUNCTION ptl_internal.target_elapsed_le(ptl.target_elapsed, ptl.target_elapsed) IS 'Implements <= on target_elapsed';
COMMENT ON FUNCTION ptl_internal.target_elapsed_eq(ptl.target_elapsed, ptl.target_elapsed) IS 'Implements = on target_elapsed (equal shares of target)';
COMMENT ON FUNCTION ptl_internal.target_elapsed_ne(ptl.target_elapsed, ptl.target_elapsed) IS 'Implements <> on target_elapsed';
COMMENT ON FUNCTION ptl_internal.target_elapsed_ge(ptl.target_elapsed, ptl.target_elapsed) IS 'Implements >= on target_elapsed';
COMMENT ON FUNCTION ptl_internal.target_elapsed_gt(ptl.target_elapsed, ptl.target_elapsed) IS 'Implements > on target_elapsed';

CREATE OPERATOR pg_catalog.< (LEFTARG = ptl.target_elapsed, RIGHTARG = ptl.target_elapsed, FUNCTION = ptl_internal.target_elapsed_lt,
    COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=), RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR pg_catalog.<= (LEFTARG = ptl.target_elapsed, RIGHTARG = ptl.target_elapsed, FUNCTION = ptl_internal.target_elapsed_le,
    COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>), RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR pg_catalog.= (LEFTARG = ptl.target_elapsed, RIGHTARG = ptl.target_elapsed, FUNCTION = ptl_internal.target_elapsed_eq,
    COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>), RESTRICT = eqsel, JOIN = eqjoinsel, MERGES);
CREATE OPERATOR pg_catalog.<> (LEFTARG = ptl.target_elapsed, RIGHTARG = ptl.target_elapsed, FUNCTION = ptl_internal.target_elapsed_ne,
    COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=), RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR pg_catalog.>= (LEFTARG = ptl.target_elapsed, RIGHTARG = ptl.target_elapsed, FUNCTION = ptl_internal.target_elapsed_ge,
    COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<), RESTRICT = scalargesel, JOIN = scalargejoinsel);
CREATE OPERATOR pg_catalog.> (LEFTARG = ptl.target_elapsed, RIGHTARG = ptl.target_elapsed, FUNCTION = ptl_internal.target_elapsed_gt,
    COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=), RESTRICT = scalargtsel, JOIN = scalargtjoinsel);

CREATE OPERATOR CLASS ptl.target_elapsed_ops DEFAULT FOR TYPE ptl.target_elapsed USING btree AS
    OPERATOR 1 pg_catalog.<, OPERATOR 2 pg_catalog.<=, OPERATOR 3 pg_catalog.=, OPERATOR 4 pg_catalog.>=, OPERATOR 5 pg_catalog.>,
    FUNCTION 1 ptl_internal.target_elapsed_cmp(ptl.target_elapsed, ptl.target_elapsed);
COMMENT ON OPERATOR CLASS ptl.target_elapsed_ops USING btree IS
    'Exact order of target_elapsed values (ORDER BY, indexes, merge joins)';
COMMENT ON OPERATOR FAMILY ptl.target_elapsed_ops USING btree IS 'Comparison operators of target_elapsed';
COMMENT ON OPERATOR pg_catalog.< (ptl.target_elapsed, ptl.target_elapsed) IS 'a smaller share of its target waited';
COMMENT ON OPERATOR pg_catalog.<= (ptl.target_elapsed, ptl.target_elapsed) IS 'no larger a share of its target waited';
COMMENT ON OPERATOR pg_catalog.= (ptl.target_elapsed, ptl.target_elapsed) IS 'the same share of its target waited';
COMMENT ON OPERATOR pg_catalog.<> (ptl.target_elapsed, ptl.target_elapsed) IS 'a different share of its target waited';
COMMENT ON OPERATOR pg_catalog.>= (ptl.target_elapsed, ptl.target_elapsed) IS 'no smaller a share of its target waited';
COMMENT ON OPERATOR pg_catalog.> (ptl.target_elapsed, ptl.target_elapsed) IS 'a larger share of its target waited';
