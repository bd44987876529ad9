-- ---------------------------------------------------------------------------
-- access: who may see which organisation's patients.  A database role
-- (a login, or a group role its logins belong to) is mapped to one or more
-- organisations; mapped to the ICS (organisation.org_kind = 'ics'), or a
-- member of ptl_admin, it sees everything.  The row-level security policies
-- (ops/security.sql), the PTL view and every room's loaders and views use
-- the functions below; they need only the model, so they come just after it
-- (docs/architecture.md, "Rooms and the way dependencies run").
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.user_organisation (
    role_name   name NOT NULL,
    org_code    text NOT NULL REFERENCES ptl.organisation (org_code) ON UPDATE CASCADE ON DELETE CASCADE,
    granted_at  timestamptz NOT NULL DEFAULT now(),
    granted_by  text NOT NULL DEFAULT current_user,
    PRIMARY KEY (role_name, org_code),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT user_organisation_granted_at_in_range CHECK (ptl.in_storage_range(granted_at))
);
SELECT pg_catalog.pg_extension_config_dump('ptl.user_organisation', '');
COMMENT ON TABLE ptl.user_organisation IS
    'Which organisations'' patients a database role may see (through row-level security); a role mapped to the ICS organisation sees all';
COMMENT ON COLUMN ptl.user_organisation.role_name IS 'Database role: a login, or a group role whose members all get the mapping';
COMMENT ON COLUMN ptl.user_organisation.org_code IS 'Organisation (a trust, or the ICS for everything)';
COMMENT ON COLUMN ptl.user_organisation.granted_at IS 'When the mapping was made';
COMMENT ON COLUMN ptl.user_organisation.granted_by IS 'Who made it';

-- The organisations a role is mapped to, directly or through a role it
-- belongs to.  A mapping whose role has been dropped matches nobody (it
-- must not make every policy check fail).
CREATE FUNCTION ptl_internal.organisations_of(who name) RETURNS text[]
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN coalesce((SELECT array_agg(DISTINCT u.org_code ORDER BY u.org_code) FROM ptl.user_organisation u
                 WHERE pg_catalog.pg_has_role(who, pg_catalog.to_regrole(u.role_name), 'MEMBER')), '{}');
COMMENT ON FUNCTION ptl_internal.organisations_of(name) IS
    'Organisations whose patients a role may see (ptl.user_organisation, through role membership)';

-- The current user's.  Not SECURITY DEFINER: current_user must be the
-- caller's, and a caller sees only its own mappings (policy below).
CREATE FUNCTION ptl.my_organisations() RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN ptl_internal.organisations_of(current_user);
COMMENT ON FUNCTION ptl.my_organisations() IS
    'Organisations whose patients the current user may see (ptl.user_organisation, through role membership)';

-- Whether a role is a superuser or belongs to a ptl role (NULL role, e.g.
-- not created yet: no).
CREATE FUNCTION ptl_internal.role_in(who name, role_name name) RETURNS boolean
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = who), false)
    OR coalesce(pg_catalog.pg_has_role(who, pg_catalog.to_regrole(role_name), 'MEMBER'), false);
COMMENT ON FUNCTION ptl_internal.role_in(name, name) IS
    'Whether a role is a superuser or a member of another role';

CREATE FUNCTION ptl_internal.current_user_in(role_name name) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN ptl_internal.role_in(current_user, role_name);
COMMENT ON FUNCTION ptl_internal.current_user_in(name) IS
    'Whether the current user is a superuser or a member of the role';

-- Sees every organisation: a superuser, a member of ptl_admin, or a role
-- mapped to an organisation of kind ics.
CREATE FUNCTION ptl_internal.sees_all_organisations_of(who name) RETURNS boolean
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN ptl_internal.role_in(who, 'ptl_admin')
    OR EXISTS (SELECT 1 FROM ptl.organisation o
               WHERE o.org_kind = 'ics' AND o.org_code = ANY (ptl_internal.organisations_of(who)));
COMMENT ON FUNCTION ptl_internal.sees_all_organisations_of(name) IS
    'Whether a role sees every organisation''s patients (superuser, ptl_admin, or mapped to the ICS)';

CREATE FUNCTION ptl.sees_all_organisations() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN ptl_internal.sees_all_organisations_of(current_user);
COMMENT ON FUNCTION ptl.sees_all_organisations() IS
    'Whether the current user sees every organisation''s patients (superuser, ptl_admin, or mapped to the ICS)';

-- May see patient-identifying columns (NHS number, names, date of birth,
-- address, hospital number): a member of ptl_identifiable or ptl_admin.
CREATE FUNCTION ptl.may_identify() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN ptl_internal.current_user_in('ptl_identifiable') OR ptl_internal.current_user_in('ptl_admin');
COMMENT ON FUNCTION ptl.may_identify() IS
    'Whether the current user may see patient-identifying values (member of ptl_identifiable or ptl_admin)';

-- What the current user may see, and why a list it reads may be empty: a
-- BI account nobody mapped sees no rows anywhere, which without this looks
-- like an empty PTL.
CREATE VIEW ptl.my_access WITH (security_invoker) AS
SELECT current_user::text AS role_name,
       ptl.my_organisations() AS organisations,
       ptl.sees_all_organisations() AS sees_all_organisations,
       ptl.may_identify() AS may_identify,
       CASE WHEN ptl.sees_all_organisations() THEN 'sees every organisation''s patients'
            WHEN cardinality(ptl.my_organisations()) > 0
            THEN 'sees the patients of ' || array_to_string(ptl.my_organisations(), ', ')
            ELSE 'mapped to no organisation, so every list is empty: a ptl_admin adds the role (or a group role it belongs to) to ptl.user_organisation'
       END AS explanation;
COMMENT ON VIEW ptl.my_access IS
    'The current user''s access: organisations it sees, whether it sees all or identifiers, and why its lists would be empty';
COMMENT ON COLUMN ptl.my_access.role_name IS 'The current user';
COMMENT ON COLUMN ptl.my_access.organisations IS 'Organisations it is mapped to (ptl.user_organisation, through role membership)';
COMMENT ON COLUMN ptl.my_access.sees_all_organisations IS 'Whether it sees every organisation (superuser, ptl_admin, or mapped to the ICS)';
COMMENT ON COLUMN ptl.my_access.may_identify IS 'Whether it may read patient-identifying columns (ptl_identifiable)';
COMMENT ON COLUMN ptl.my_access.explanation IS 'What it sees, in words; says how to fix an unmapped role';

-- ptl's own SECURITY DEFINER functions act as their owner, so they cannot
-- ask who current_user is.  They ask about the session's login instead:
-- what it may do is what any role it may SET ROLE to may do, so this gives
-- a caller nothing it could not take anyway.
CREATE FUNCTION ptl_internal.assert_may_load(org text) RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT (ptl_internal.role_in(session_user, 'ptl_loader') OR ptl_internal.role_in(session_user, 'ptl_admin')) THEN
        RAISE EXCEPTION 'role "%" may not load extracts', session_user
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Loading needs membership of ptl_loader.';
    END IF;
    IF NOT (ptl_internal.sees_all_organisations_of(session_user) OR coalesce(org = ANY (ptl_internal.organisations_of(session_user)), false)) THEN
        RAISE EXCEPTION 'role "%" may not load extracts of organisation "%"', session_user, coalesce(org, 'NULL')
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'An administrator maps the role to the organisation in ptl.user_organisation.';
    END IF;
END
$$;
COMMENT ON FUNCTION ptl_internal.assert_may_load(text) IS
    'Internal to the loading functions: refuses (42501) a session whose login may not load an organisation''s extracts';

-- Takes back every privilege any role but the owner holds on a relation,
-- its columns included.  Monthly snapshot partitions are made by the
-- refresh; this keeps a database's default privileges from opening them.
-- (The first REVOKE writes out the default privileges, so that a fresh
-- install and an upgraded database hold the same catalogue.)
CREATE FUNCTION ptl_internal.revoke_all_grants(rel regclass) RETURNS void
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g record;
BEGIN
    EXECUTE format('REVOKE ALL ON %s %s FROM PUBLIC',
                   CASE (SELECT c.relkind FROM pg_class c WHERE c.oid = rel) WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, rel);
    FOR g IN
        SELECT DISTINCT x.grantee, a.attname
        FROM pg_class c
        CROSS JOIN LATERAL aclexplode(c.relacl) x
        LEFT JOIN pg_attribute a ON false
        WHERE c.oid = rel AND x.grantee <> c.relowner
        UNION
        SELECT DISTINCT x.grantee, a.attname
        FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        CROSS JOIN LATERAL aclexplode(a.attacl) x
        WHERE c.oid = rel AND x.grantee <> c.relowner
    LOOP
        EXECUTE format('REVOKE ALL %s ON %s FROM %s',
                       CASE WHEN g.attname IS NOT NULL THEN format('(%I)', g.attname) ELSE '' END,
                       CASE (SELECT c.relkind FROM pg_class c WHERE c.oid = rel) WHEN 'S' THEN 'SEQUENCE ' ELSE 'TABLE ' END
                           || rel::text,
                       CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END);
    END LOOP;
END
$$;
COMMENT ON FUNCTION ptl_internal.revoke_all_grants(regclass) IS
    'Internal: takes back every privilege on a relation and its columns from every role but its owner';
