-- ---------------------------------------------------------------------------
-- ptl's functions plan their queries without JIT.
--
-- PostgreSQL compiles a query to machine code when its estimated cost passes
-- jit_above_cost (100,000 by default).  ptl's queries pass it without being
-- long: row-level security adds its tests to every table a reader's query
-- touches and the planner costs them per row, and statistics left by rows
-- rolled back since the last ANALYZE make tables look larger than they are.
-- The compilation then costs more than the query: a trust reader's monthly
-- return for 1,500 referrals took 10 s, 9.3 s of it compiling 721
-- functions, and 0.6 s without JIT.  This was the stall that followed
-- rolled-back bulk work.  ptl's heavy lifting is in its C aggregates, which
-- JIT does not speed up.
--
-- Applied here, after every function exists, to each ptl function that
-- already has a SET clause (such a function is never inlined, so the
-- setting costs nothing more); the upgrade script ends with this file too.
-- A user's own queries on ptl's views keep the session's setting
-- (docs/operations.md, "JIT").
-- ---------------------------------------------------------------------------
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
        FROM pg_catalog.pg_proc p
        WHERE p.pronamespace IN ('ptl'::regnamespace, 'ptl_internal'::regnamespace, 'ptl_stage'::regnamespace)
          AND p.prokind = 'f'
          AND p.proconfig IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'jit=%')
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET jit = off', f);
    END LOOP;
END
$$;
