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
