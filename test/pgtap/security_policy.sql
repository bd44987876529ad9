-- The security model (docs/security.md): every object of ptl and ptl_stage
-- is declared in ptl.access_object, and ptl.access_policy_violations()
-- reads the catalogue and lists every way it differs.  Empty on this
-- install; and each kind of departure, made by hand, is found.
BEGIN;
SELECT plan(18);

SELECT is_empty($$SELECT * FROM ptl.access_policy_violations()$$,
    'the catalogue is exactly what the security model declares');

-- Every role the model names exists, and nothing outside the five roles and
-- PUBLIC is granted anything.
SELECT is((SELECT count(DISTINCT grantee) FROM ptl.access_class), 6::bigint,
    'the model grants to the five ptl roles and PUBLIC only');

-- Each kind of departure shows.
CREATE FUNCTION pg_temp.found(change text, pattern text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    hit boolean;
BEGIN
    EXECUTE change;
    hit := EXISTS (SELECT 1 FROM ptl.access_policy_violations() v
                   WHERE v.object_name || ': ' || v.problem ~ pattern);
    RAISE EXCEPTION 'undo' USING ERRCODE = 'P0001';
EXCEPTION WHEN raise_exception THEN
    RETURN hit;
END $$;

SELECT ok(pg_temp.found('GRANT SELECT ON ptl.patient TO ptl_reader',
                        'ptl.patient: ptl_reader holds SELECT, which the security model does not grant'),
    'a grant made by hand (identifiers to plain readers) is found');
SELECT ok(pg_temp.found('CREATE ROLE tap_bi_tool; GRANT SELECT ON ptl.pathway TO tap_bi_tool',
                        'ptl.pathway: tap_bi_tool holds SELECT'),
    'a grant to a role outside the model is found');
SELECT ok(pg_temp.found('REVOKE SELECT ON ptl.ptl FROM ptl_reader',
                        'ptl.ptl: ptl_reader lacks SELECT'),
    'a grant the model makes and the catalogue lacks is found');
SELECT ok(pg_temp.found('CREATE TABLE ptl.new_capability (pathway_id bigint)',
                        'ptl.new_capability: no access policy is declared'),
    'a new table nobody declared is found');
SELECT ok(pg_temp.found('CREATE FUNCTION ptl.new_function() RETURNS int LANGUAGE sql RETURN 1',
                        'ptl.new_function\(\): no access policy is declared'),
    'a new function nobody declared is found');
SELECT ok(pg_temp.found('CREATE TABLE ptl.census_snapshot_y2099m01 PARTITION OF ptl.census_snapshot FOR VALUES FROM (''2099-01-01'') TO (''2099-02-01'');
                         GRANT SELECT ON ptl.census_snapshot_y2099m01 TO ptl_reader',
                        'census_snapshot_y2099m01: ptl_reader holds SELECT'),
    'a snapshot partition opened to readers (as the 0.2.0 -> 0.3.0 upgrade did) is found');
SELECT ok(pg_temp.found('ALTER TABLE ptl.rtt_period DISABLE ROW LEVEL SECURITY',
                        'ptl.rtt_period: has no row-level security'),
    'row-level security switched off is found');
SELECT ok(pg_temp.found('DROP POLICY visible_rows ON ptl.rtt_period',
                        'ptl.rtt_period: has policies all_rows_for_admin, own_rows;'),
    'a policy dropped is found');
SELECT ok(pg_temp.found('ALTER VIEW ptl.ptl RESET (security_barrier)',
                        'ptl.ptl: runs with its owner''s rights, so it must be a security barrier'),
    'the PTL view no longer a security barrier is found');
SELECT ok(pg_temp.found('ALTER VIEW ptl.journey RESET (security_invoker)',
                        'ptl.journey: must run with the caller''s rights'),
    'a view that stops running with the caller''s rights is found');
SELECT ok(pg_temp.found('ALTER FUNCTION ptl.validate(date) SECURITY DEFINER',
                        'ptl.validate\(date\): is SECURITY DEFINER'),
    'a function made SECURITY DEFINER is found');
SELECT ok(pg_temp.found('ALTER FUNCTION ptl.load(bigint) SET search_path = public, pg_temp',
                        'ptl.load\(bigint\): is SECURITY DEFINER without a search_path that starts at pg_catalog'),
    'a definer''s search path that does not start at pg_catalog is found');
SELECT ok(pg_temp.found('GRANT EXECUTE ON FUNCTION ptl.load(bigint) TO PUBLIC',
                        'ptl.load\(bigint\): runs with its owner''s rights and anyone may call it'),
    'a definer anyone may call is found');
SELECT ok(pg_temp.found('CREATE VIEW ptl.names WITH (security_invoker) AS SELECT family_name FROM ptl.patient;
                         INSERT INTO ptl.access_object VALUES (''view'', ''ptl.names'', ''view'', ''caller'', NULL, NULL, NULL);
                         GRANT SELECT ON ptl.names TO ptl_reader',
                        'ptl.names: a plain reader may read it, but it reads ptl.patient.family_name'),
    'a reader''s view over a column kept back from readers is found, even when declared');

-- A month's snapshot partition made by the refresh is granted nothing,
-- whatever the database's default privileges would give a new table.
ALTER DEFAULT PRIVILEGES IN SCHEMA ptl GRANT SELECT ON TABLES TO ptl_reader, PUBLIC;
SELECT ptl.census_snapshot_partition('2098-05-01');
SELECT is_empty($$SELECT * FROM ptl.access_policy_violations()$$,
    'a snapshot partition made under default privileges that open new tables is granted nothing');
ALTER DEFAULT PRIVILEGES IN SCHEMA ptl REVOKE SELECT ON TABLES FROM ptl_reader, PUBLIC;

-- Applying the model puts a departure right.  (The table is locked before
-- its grant, as ptl_internal.apply_access_policy() locks every table before
-- it writes: an autovacuum of ptl.patient would otherwise wait for this
-- transaction, which has rewritten its pg_class row, while the function
-- waits for the autovacuum.)
LOCK TABLE ptl.patient IN ACCESS EXCLUSIVE MODE;
GRANT SELECT ON ptl.patient TO ptl_reader;
SELECT ptl_internal.apply_access_policy();
SELECT is_empty($$SELECT * FROM ptl.access_policy_violations()$$,
    'ptl_internal.apply_access_policy() takes back what the model does not grant');

SELECT * FROM finish();
ROLLBACK;
