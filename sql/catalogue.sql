-- The catalogue: every function ptl installs with its markings (volatility,
-- STRICT, PARALLEL), and proof that everything a BI tool or analyst sees
-- carries a comment.  A change of marking shows up here as a diff.

-- Functions and procedures: v = volatile, s = stable, i = immutable;
-- parallel s = safe, r = restricted, u = unsafe.  Schema ptl is the
-- interface (what \df ptl.* lists); ptl_internal holds the helpers only ptl's
-- own code calls.  A function that joins the interface shows up here.
SELECT p.pronamespace::regnamespace AS schema,
       p.oid::regprocedure::text AS function,
       p.provolatile AS volatility,
       p.proisstrict AS strict,
       p.proparallel AS parallel
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ptl'
ORDER BY 1, 2;

-- The volatile functions, listed so that a new one is seen in review: each
-- of them writes (the loader); anything that only reads is stable or
-- immutable.
SELECT p.oid::regprocedure::text AS volatile_function
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ptl'
WHERE p.provolatile = 'v'
ORDER BY 1;

-- Functions that set a planner or path setting but leave JIT on (should be
-- none: src/ops/jit.sql, the stall JIT compilation caused).
SELECT p.oid::regprocedure::text AS jit_left_on
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ptl'
WHERE p.prokind = 'f' AND p.proconfig IS NOT NULL
  AND NOT 'jit=off' = ANY (p.proconfig)
ORDER BY 1;

-- Objects without a comment (should be none).
SELECT 'function' AS kind, p.oid::regprocedure::text AS object
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ptl'
WHERE obj_description(p.oid, 'pg_proc') IS NULL
UNION ALL
SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'table' END, c.oid::regclass::text
FROM pg_class c
WHERE c.relnamespace IN ('ptl'::regnamespace, 'ptl_stage'::regnamespace)
  AND c.relkind IN ('r', 'v', 'm', 'p')
  AND obj_description(c.oid, 'pg_class') IS NULL
UNION ALL
SELECT 'column', c.oid::regclass::text || '.' || a.attname
FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace IN ('ptl'::regnamespace, 'ptl_stage'::regnamespace)
  AND c.relkind IN ('r', 'v', 'm', 'p')
  AND NOT c.relispartition  -- a partition's columns are its parent's
  AND col_description(c.oid, a.attnum) IS NULL
UNION ALL
SELECT 'type', t.oid::regtype::text
FROM pg_type t
WHERE t.typnamespace = 'ptl'::regnamespace AND t.typcategory <> 'A'
  AND (t.typtype IN ('b', 'e')
       OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
  AND obj_description(t.oid, 'pg_type') IS NULL
ORDER BY 1, 2;

-- Tables that hold users' data are kept by pg_dump (pg_extension_config_dump).
SELECT unnest(extconfig)::regclass::text AS dumped, unnest(extcondition) AS condition
FROM pg_extension WHERE extname = 'ptl'
ORDER BY 1;

-- Names in the interface: in a view, the date a figure is as at is census
-- and a treatment function code is treatment_function.  Another spelling is
-- a column deprecated in 0.4.0 (removed in 0.5.0), which says so, or the key
-- of the code table itself (tfc in ptl.treatment_function_in_use, as in
-- ptl.treatment_function).
SELECT c.oid::regclass AS view, a.attname AS name,
       col_description(c.oid, a.attnum) LIKE 'Deprecated since 0.4.0 and removed in 0.5.0:%' AS deprecated
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
WHERE c.relnamespace = 'ptl'::regnamespace AND c.relkind = 'v' AND a.attnum > 0 AND NOT a.attisdropped
  AND a.attname IN ('census_date', 'census_day', 'as_at', 'specialty', 'tfc', 'treatment_function_code')
ORDER BY 1, 2;
