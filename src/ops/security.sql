-- ---------------------------------------------------------------------------
-- ops, part 3: roles, privileges and row-level security, as a model written
-- as data.  Runs last, so it covers every object the capabilities above
-- created; an upgrade script runs it again.  docs/security.md explains the
-- model and how to give people access.
--
--   ptl_reader        the PTL, reports and the tables behind them: read only,
--                     without patient-identifying columns
--   ptl_identifiable  added to any role: NHS number, names, date of birth,
--                     address, hospital number, and the raw extract rows
--   ptl_analyst       a reader who also runs the planning workflows that write
--                     (validation campaigns, theatre proposals, mutual aid
--                     requests and offers)
--   ptl_loader        stages its organisations' extracts and loads them,
--                     through ptl's loading functions only
--   ptl_admin         the refresh and clinical changes; sees every
--                     organisation and identifiers
--
-- The model: every object of schemas ptl and ptl_stage is declared in
-- ptl.access_object with an access class (ptl.access_class says what each
-- role may do with an object of that class) and, for tables, a row filter.
-- ptl_internal.apply_access_policy() makes the catalogue say exactly that;
-- ptl.access_policy_violations() reads the catalogue and lists every way it
-- differs, and every object nobody declared.
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
COMMENT ON ROLE ptl_loader IS 'ptl: stages and loads its organisations'' extracts through ptl''s loading functions';
COMMENT ON ROLE ptl_admin IS 'ptl: runs the refresh, makes clinical changes, sees every organisation';

-- ---------------------------------------------------------------------------
-- The model
-- ---------------------------------------------------------------------------
CREATE TABLE ptl.access_class (
    access_class    text NOT NULL,
    grantee         text NOT NULL CHECK (grantee IN ('PUBLIC', 'ptl_reader', 'ptl_identifiable', 'ptl_analyst',
                                                     'ptl_loader', 'ptl_admin')),
    privileges      text[] NOT NULL CHECK (privileges <@ '{SELECT,SELECT_UNWITHHELD,INSERT,UPDATE,DELETE,USAGE,EXECUTE}'),
    PRIMARY KEY (access_class, grantee)
);
COMMENT ON TABLE ptl.access_class IS
    'The security model: what each role is granted on an object of each access class (roles also have what the roles they belong to have)';
COMMENT ON COLUMN ptl.access_class.access_class IS 'Access class (ptl.access_object says which objects are in it)';
COMMENT ON COLUMN ptl.access_class.grantee IS 'Role granted the privileges (PUBLIC: every role)';
COMMENT ON COLUMN ptl.access_class.privileges IS
    'Privileges granted; SELECT_UNWITHHELD is SELECT on every column but those ptl.access_withheld_column keeps back';

CREATE TABLE ptl.access_object (
    object_type     text NOT NULL CHECK (object_type IN ('schema', 'table', 'view', 'sequence', 'function')),
    object_name     text NOT NULL,
    access_class    text NOT NULL,
    runs_as         text CHECK (runs_as IN ('caller', 'owner')),
    row_filter      text CHECK (row_filter IN ('organisation', 'site', 'clinic', 'theatre', 'campaign',
                                               'market', 'market_offer', 'pathway_record', 'patient_record',
                                               'pathway', 'patient', 'patient_pair', 'transfer', 'entry',
                                               'booking', 'batch', 'own_role')),
    filter_column   text,
    note            text,
    PRIMARY KEY (object_type, object_name),
    CHECK ((runs_as IS NOT NULL) = (object_type IN ('view', 'function'))),
    CHECK (row_filter IS NULL OR object_type = 'table'),
    CHECK ((filter_column IS NOT NULL) = (row_filter IN ('organisation', 'site', 'clinic', 'theatre', 'campaign', 'market')))
);
COMMENT ON TABLE ptl.access_object IS
    'The security model: every schema, table, view, sequence and function of ptl and ptl_stage, its access class, whose rights it runs with, and which rows a user sees';
COMMENT ON COLUMN ptl.access_object.object_type IS 'schema, table, view, sequence or function';
COMMENT ON COLUMN ptl.access_object.object_name IS 'Qualified name (functions with their argument types)';
COMMENT ON COLUMN ptl.access_object.access_class IS 'Access class (ptl.access_class); a table''s partitions are granted nothing';
COMMENT ON COLUMN ptl.access_object.runs_as IS
    'Views and functions: caller (security_invoker views, SECURITY INVOKER functions) or owner (security_barrier views and SECURITY DEFINER functions, which check who may do what themselves)';
COMMENT ON COLUMN ptl.access_object.row_filter IS
    'Tables: which rows a user sees (row-level security), by what ties a row to an organisation; NULL: every row (reference data, settings, ICS-wide records)';
COMMENT ON COLUMN ptl.access_object.filter_column IS 'The column the row filter reads, for filters by an organisation, site, clinic, theatre, campaign or market column';
COMMENT ON COLUMN ptl.access_object.note IS 'Why, where it is not plain';

CREATE TABLE ptl.access_withheld_column (
    table_name      text NOT NULL,
    column_name     text NOT NULL,
    reason          text NOT NULL,
    PRIMARY KEY (table_name, column_name)
);
COMMENT ON TABLE ptl.access_withheld_column IS
    'The security model: columns a plain reader may not read (identifiers, or text that may quote them); ptl_identifiable may';
COMMENT ON COLUMN ptl.access_withheld_column.table_name IS 'Qualified table name';
COMMENT ON COLUMN ptl.access_withheld_column.column_name IS 'Column';
COMMENT ON COLUMN ptl.access_withheld_column.reason IS 'What it holds';

INSERT INTO ptl.access_class (access_class, grantee, privileges) VALUES
    -- reference data, settings and ICS-wide records: everyone reads, administrators change
    ('shared', 'ptl_reader', '{SELECT}'), ('shared', 'ptl_loader', '{SELECT}'),
    ('shared', 'ptl_admin', '{SELECT,INSERT,UPDATE,DELETE}'),
    -- the security model itself: read by everyone, changed only by a release
    ('model', 'ptl_reader', '{SELECT}'), ('model', 'ptl_loader', '{SELECT}'),
    -- patients' and organisations' records, under a row filter
    ('rows', 'ptl_reader', '{SELECT}'), ('rows', 'ptl_admin', '{SELECT,INSERT,UPDATE,DELETE}'),
    -- the same, with identifying columns kept back from plain readers
    ('rows_withheld', 'ptl_reader', '{SELECT_UNWITHHELD}'), ('rows_withheld', 'ptl_identifiable', '{SELECT}'),
    ('rows_withheld', 'ptl_admin', '{SELECT,INSERT,UPDATE,DELETE}'),
    -- identifiers only
    ('identifiable', 'ptl_identifiable', '{SELECT}'), ('identifiable', 'ptl_admin', '{SELECT,INSERT,UPDATE,DELETE}'),
    -- planning workflows analysts run
    ('planning', 'ptl_reader', '{SELECT}'), ('planning', 'ptl_analyst', '{SELECT,INSERT,UPDATE,DELETE}'),
    ('planning', 'ptl_admin', '{SELECT,INSERT,UPDATE,DELETE}'),
    -- the load accounting: written only by ptl's loading functions
    ('load_batch', 'ptl_reader', '{SELECT}'), ('load_batch', 'ptl_loader', '{SELECT}'),
    ('load_batch', 'ptl_admin', '{SELECT,INSERT}'),
    ('load_record', 'ptl_reader', '{SELECT}'), ('load_record', 'ptl_loader', '{SELECT}'),
    ('load_record', 'ptl_admin', '{SELECT}'),
    ('load_quarantine', 'ptl_reader', '{SELECT_UNWITHHELD}'), ('load_quarantine', 'ptl_identifiable', '{SELECT}'),
    ('load_quarantine', 'ptl_loader', '{SELECT}'), ('load_quarantine', 'ptl_admin', '{SELECT}'),
    -- staged extracts: loaders insert (COPY) into their own organisations'
    -- open batches (a trigger checks); ptl.staged_rows and ptl.unstage
    -- read and clear them
    ('staging', 'ptl_loader', '{INSERT}'), ('staging', 'ptl_admin', '{SELECT,DELETE}'),
    -- the refresh's own work tables
    ('work', 'ptl_admin', '{SELECT,INSERT,UPDATE,DELETE}'),
    -- the audit log: written through the audit triggers, read by administrators, never changed
    ('audit', 'ptl_analyst', '{INSERT}'), ('audit', 'ptl_admin', '{SELECT,INSERT}'),
    -- the refresh run log: its error texts may quote a value
    ('run_log', 'ptl_reader', '{SELECT_UNWITHHELD}'), ('run_log', 'ptl_identifiable', '{SELECT}'),
    ('run_log', 'ptl_admin', '{SELECT,INSERT,UPDATE,DELETE}'),
    -- who sees which organisation
    ('mappings', 'ptl_reader', '{SELECT}'), ('mappings', 'ptl_loader', '{SELECT}'),
    ('mappings', 'ptl_admin', '{SELECT,INSERT,UPDATE,DELETE}'),
    -- views: for readers, or over columns kept back from them
    ('view', 'ptl_reader', '{SELECT}'),
    ('view_withheld', 'ptl_identifiable', '{SELECT}'),
    ('load_view', 'ptl_reader', '{SELECT}'), ('load_view', 'ptl_loader', '{SELECT}'),
    -- sequences: identity columns need no grant; the person numbers do
    ('identity', 'ptl_admin', '{}'),
    ('sequence', 'ptl_admin', '{USAGE}'),
    -- schemas
    ('schema', 'ptl_reader', '{USAGE}'), ('schema', 'ptl_identifiable', '{USAGE}'), ('schema', 'ptl_loader', '{USAGE}'),
    ('stage_schema', 'ptl_loader', '{USAGE}'), ('stage_schema', 'ptl_admin', '{USAGE}'),
    -- functions: anyone (they read and write with the caller's rights), no
    -- one (internal: called by ptl's own functions and triggers), loaders,
    -- administrators, and whoever bulk-writes
    ('any', 'PUBLIC', '{EXECUTE}'),
    ('internal', 'ptl_admin', '{}'),
    ('load', 'ptl_loader', '{EXECUTE}'),
    ('operate', 'ptl_admin', '{EXECUTE}'),
    ('bulk_write', 'ptl_analyst', '{EXECUTE}'), ('bulk_write', 'ptl_loader', '{EXECUTE}');

INSERT INTO ptl.access_object (object_type, object_name, access_class, runs_as, row_filter, filter_column, note) VALUES
    ('schema', 'ptl', 'schema', NULL, NULL, NULL, NULL),
    ('schema', 'ptl_internal', 'schema', NULL, NULL, NULL, 'helpers: each function''s own class says who may execute it'),
    ('schema', 'ptl_stage', 'stage_schema', NULL, NULL, NULL, NULL),
    -- reference data and settings
    ('table', 'ptl.area_deprivation', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.cancellation_reason', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.commissioner', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.extract_column', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.gp_practice', 'shared', NULL, NULL, NULL, 'published by ODS (epraccur.csv)'),
    ('table', 'ptl.journey_census', 'shared', NULL, NULL, NULL, 'one ICS-wide date'),
    ('table', 'ptl.journey_stage', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.journey_stage_rule', 'shared', NULL, NULL, NULL, 'configuration, per provider'),
    ('table', 'ptl.link_blocking_rule', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.link_level', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.link_nickname', 'shared', NULL, NULL, NULL, 'given names and their nicknames: no one''s record'),
    ('table', 'ptl.link_parameter', 'shared', NULL, NULL, NULL, 'fitted match weights: no values of any record'),
    ('table', 'ptl.link_run', 'shared', NULL, NULL, NULL, 'ICS-wide counts of a linkage run'),
    ('table', 'ptl.link_run_rule', 'shared', NULL, NULL, NULL, 'ICS-wide counts of each blocking rule in a run'),
    ('table', 'ptl.link_setting', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.ops_setting', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.organisation', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.organisation_successor', 'shared', NULL, NULL, NULL, 'published by ODS (succ.csv)'),
    ('table', 'ptl.pidmas_cohort', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.postcode_district', 'shared', NULL, NULL, NULL, 'districts (outward codes) and their centres: no one''s address'),
    ('table', 'ptl.priority_target', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.procedure_duration', 'shared', NULL, NULL, NULL, 'past case durations by procedure and consultant: no patient'),
    ('table', 'ptl.procedure_requirement', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.consultant_leave', 'shared', NULL, NULL, NULL, 'consultants'' leave, read by every trust''s theatre planning: no patient'),
    ('table', 'ptl.risk_setting', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.rtt_line', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.rtt_part', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.rtt_setting', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.setting_rule', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.site', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.site_capability', 'shared', NULL, NULL, NULL, 'what each site can look after: no patient'),
    ('table', 'ptl.theatre', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.theatre_setting', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.clinic_setting', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.treatment_function', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.treatment_function_override', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.validation_rule', 'shared', NULL, NULL, NULL, NULL),
    ('table', 'ptl.access_class', 'model', NULL, NULL, NULL, NULL),
    ('table', 'ptl.access_object', 'model', NULL, NULL, NULL, NULL),
    ('table', 'ptl.access_withheld_column', 'model', NULL, NULL, NULL, NULL),
    ('table', 'ptl.checked_reference', 'model', NULL, NULL, NULL, 'names the references ptl''s triggers check with their owner''s rights: no role may change it'),
    ('table', 'ptl.feed', 'model', NULL, NULL, NULL, 'names the loader ptl.load runs with its owner''s rights: no role may change it'),
    ('table', 'ptl.feed_example', 'model', NULL, NULL, NULL, 'the loading policy''s examples: the extension''s own'),
    ('table', 'ptl.feed_rule', 'model', NULL, NULL, NULL, 'the loading policy''s row rules: the extension''s own'),
    ('table', 'ptl.user_organisation', 'mappings', NULL, 'own_role', NULL, 'a role reads its own mappings'),
    -- patients and their pathways
    ('table', 'ptl.patient', 'rows_withheld', NULL, 'patient_record', NULL, NULL),
    ('table', 'ptl.pathway', 'rows', NULL, 'pathway_record', NULL, NULL),
    ('table', 'ptl.pathway_event', 'rows', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.waiting_list_entry', 'rows', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.waiting_list_suspension', 'rows', NULL, 'entry', NULL, NULL),
    ('table', 'ptl.clinical_priority_history', 'rows', NULL, 'entry', NULL, NULL),
    ('table', 'ptl.risk_assessment', 'rows', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.patient_unavailability', 'rows', NULL, 'patient', NULL, NULL),
    ('table', 'ptl.transfer_preference', 'rows', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.person_link', 'rows', NULL, 'patient', NULL, NULL),
    ('table', 'ptl.link_pair', 'rows', NULL, 'patient_pair', NULL, NULL),
    ('table', 'ptl.link_record', 'work', NULL, 'patient', NULL, 'the linkage run''s own copy of each record''s identifying fields: administrators only'),
    ('table', 'ptl.link_pending', 'work', NULL, 'patient', NULL, NULL),
    ('table', 'ptl.link_decision', 'rows', NULL, 'patient_pair', NULL, NULL),
    ('table', 'ptl.link_term_frequency', 'identifiable', NULL, NULL, NULL, 'how common each name and postcode is: the values themselves'),
    ('table', 'ptl.pathway_link', 'rows', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.pathway_transfer', 'rows', NULL, 'transfer', NULL, NULL),
    ('table', 'ptl.pathway_duplicate', 'rows', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.rtt_pathway', 'rows', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.rtt_period', 'rows', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.rtt_event_issue', 'rows', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.rtt_dirty_pathway', 'work', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.census_snapshot', 'rows', NULL, 'pathway', NULL, 'its monthly partitions are granted nothing: read through this table'),
    ('table', 'ptl.ptl_entry', 'rows_withheld', NULL, 'pathway', NULL, 'the PTL as the last refresh stored it; readers read it through ptl.ptl'),
    ('table', 'ptl.validation_issue', 'rows', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.validation_pending_key', 'identifiable', NULL, NULL, NULL, 'NHS numbers, UBRNs and PPIDs records had before they changed: the values themselves'),
    ('table', 'ptl.pathway_validation', 'rows', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.validation_contact', 'rows', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.theatre_booking', 'rows', NULL, 'entry', NULL, NULL),
    ('table', 'ptl.theatre_cancellation', 'rows', NULL, 'booking', NULL, NULL),
    ('table', 'ptl.preop_assessment', 'rows', NULL, 'entry', NULL, NULL),
    ('table', 'ptl.mutual_aid_transfer', 'rows', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.journey_episode', 'rows', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.hospital_spell', 'rows', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.outpatient_appointment', 'rows', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.follow_up_request', 'rows', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.pifu_episode', 'rows', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.outbound_action', 'rows', NULL, 'organisation', 'provider_org', 'a provider''s actions for its own PAS: a mutual aid transfer gives each side its own'),
    -- organisations' own records
    ('table', 'ptl.advice_request', 'rows', NULL, 'organisation', 'provider_org', NULL),
    ('table', 'ptl.clinic', 'rows', NULL, 'site', 'site_code', NULL),
    ('table', 'ptl.clinic_session', 'rows', NULL, 'clinic', 'clinic_code', NULL),
    ('table', 'ptl.clinic_slot', 'rows', NULL, 'clinic', 'clinic_code', NULL),
    ('table', 'ptl.theatre_session', 'rows', NULL, 'theatre', 'theatre_code', NULL),
    ('table', 'ptl.elective_bed_base', 'rows', NULL, 'site', 'site_code', NULL),
    -- planning workflows
    ('table', 'ptl.validation_campaign', 'planning', NULL, 'campaign', 'provider_org', 'a campaign of no one provider is the ICS''s'),
    ('table', 'ptl.validation_campaign_pathway', 'planning', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.theatre_proposal_run', 'planning', NULL, NULL, NULL, 'counts of a proposal run'),
    ('table', 'ptl.theatre_proposal', 'planning', NULL, 'entry', NULL, NULL),
    ('table', 'ptl.theatre_proposal_outcome', 'planning', NULL, 'entry', NULL, NULL),
    ('table', 'ptl.clinic_proposal_run', 'planning', NULL, NULL, NULL, 'counts of a proposal run'),
    ('table', 'ptl.clinic_proposal', 'planning', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.clinic_proposal_outcome', 'planning', NULL, 'pathway', NULL, NULL),
    ('table', 'ptl.mutual_aid_request', 'planning', NULL, 'market', 'requesting_org', 'mutual aid is a market between the ICS''s trusts: each reads all, writes its own'),
    ('table', 'ptl.mutual_aid_offer', 'planning', NULL, 'market', 'offering_org', 'mutual aid is a market between the ICS''s trusts: each reads all, writes its own'),
    ('table', 'ptl.mutual_aid_slot', 'planning', NULL, 'market_offer', NULL, 'slots of an offer: each trust adds to its own offers'),
    ('table', 'ptl.mutual_aid_state_change', 'planning', NULL, NULL, NULL, 'the history of requests'' and offers'' states'),
    -- loading
    ('table', 'ptl.batch', 'load_batch', NULL, 'organisation', 'org_code', 'changed only by ptl''s loading functions; administrators add the batches of ptl''s own events'),
    ('table', 'ptl.batch_extract', 'load_record', NULL, 'batch', NULL, 'written only by ptl.load'),
    ('table', 'ptl.batch_source_count', 'load_record', NULL, 'batch', NULL, 'written only by ptl.declare_source_counts'),
    ('table', 'ptl.rejected_row', 'load_quarantine', NULL, 'batch', NULL, 'written only by ptl''s loading functions'),
    ('table', 'ptl.load_warning', 'load_quarantine', NULL, 'batch', NULL, 'written only by ptl.load'),
    ('table', 'ptl.reference_load', 'load_record', NULL, NULL, NULL, 'written only by ptl.load_reference: published reference files, no patient'),
    ('table', 'ptl.reference_rejected', 'load_record', NULL, NULL, NULL, 'written only by ptl.load_reference: records of published reference files, no patient'),
    ('table', 'ptl_stage.patient', 'staging', NULL, NULL, NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.pathway', 'staging', NULL, NULL, NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.pathway_event', 'staging', NULL, NULL, NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.waiting_list_entry', 'staging', NULL, NULL, NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.theatre_session', 'staging', NULL, NULL, NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.theatre_booking', 'staging', NULL, NULL, NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.theatre_cancellation', 'staging', NULL, NULL, NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.consultant_leave', 'staging', NULL, NULL, NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.preop_assessment', 'staging', NULL, NULL, NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.patient_unavailability', 'staging', NULL, NULL, NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.risk_assessment', 'staging', NULL, NULL, NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.procedure_duration', 'staging', NULL, NULL, NULL, 'COPY needs a table without row-level security'),
    -- operations
    ('table', 'ptl.refresh_run', 'run_log', NULL, NULL, NULL, 'ICS-wide runs; their error texts are kept back from plain readers'),
    ('table', 'ptl.audit_log', 'audit', NULL, NULL, NULL, 'append only');

INSERT INTO ptl.access_withheld_column (table_name, column_name, reason) VALUES
    ('ptl.patient', 'local_patient_id', 'hospital number'),
    ('ptl.patient', 'nhs_number', 'NHS number'),
    ('ptl.patient', 'nhs_number_as_recorded', 'NHS number'),
    ('ptl.patient', 'given_name', 'name'),
    ('ptl.patient', 'family_name', 'name'),
    ('ptl.patient', 'date_of_birth', 'date of birth'),
    ('ptl.patient', 'date_of_death', 'date of death'),
    ('ptl.patient', 'postcode', 'address'),
    ('ptl.patient', 'address_line_1', 'address'),
    ('ptl.patient', 'town', 'address'),
    ('ptl.patient', 'telephone', 'telephone number'),
    ('ptl.patient', 'email', 'email address'),
    ('ptl.ptl_entry', 'local_patient_id', 'hospital number'),
    ('ptl.ptl_entry', 'nhs_number', 'NHS number'),
    ('ptl.rejected_row', 'value', 'a delivered value, which may be an identifier'),
    ('ptl.rejected_row', 'raw', 'the delivered row, identifiers included'),
    ('ptl.load_warning', 'value', 'a delivered value, which may be an identifier'),
    ('ptl.load_warning', 'record_key', 'a record''s key as delivered: a patient''s is the hospital number'),
    ('ptl.refresh_run', 'error_message', 'an error''s text may quote a value'),
    ('ptl.refresh_run', 'error_detail', 'an error''s text may quote a value'),
    ('ptl.refresh_run', 'error_context', 'an error''s text may quote a value');

-- Views run with the caller's rights, so that row-level security applies
-- through them, except two that must see every row to do their work: the
-- PTL (its rows stored with identifiers, shown filtered and masked) and the
-- transfers a pathway policy looks up.  Those are security barriers.  A
-- view over a column kept back from readers is for ptl_identifiable.
INSERT INTO ptl.access_object (object_type, object_name, access_class, runs_as, note)
VALUES
    ('view', 'ptl.cohort_frail', 'view_withheld', 'caller', NULL),
    ('view', 'ptl.cohort_high_mortality_risk', 'view_withheld', 'caller', NULL),
    ('view', 'ptl.cohort_prehabilitation', 'view_withheld', 'caller', NULL),
    ('view', 'ptl.consultant_list', 'view', 'caller', NULL),
    ('view', 'ptl.follow_up_list', 'view', 'caller', NULL),
    ('view', 'ptl.harm_review', 'view', 'caller', NULL),
    ('view', 'ptl.independent_sector_displacement', 'view', 'caller', NULL),
    ('view', 'ptl.journey', 'view', 'caller', NULL),
    ('view', 'ptl.journey_bottleneck', 'view', 'caller', NULL),
    ('view', 'ptl.journey_flow', 'view', 'caller', NULL),
    ('view', 'ptl.journey_stage_rule_in_force', 'view', 'caller', NULL),
    ('view', 'ptl.journey_stage_week', 'view', 'caller', NULL),
    ('view', 'ptl.link_conflict', 'view_withheld', 'caller', NULL),
    ('view', 'ptl.link_review', 'view_withheld', 'caller', NULL),
    ('view', 'ptl.load_policy', 'view', 'caller', NULL),
    ('view', 'ptl.load_summary', 'load_view', 'caller', 'also for the loaders who sent the batches'),
    ('view', 'ptl.mutual_aid_candidate', 'view_withheld', 'caller', NULL),
    ('view', 'ptl.mutual_aid_free_slot', 'view', 'caller', NULL),
    ('view', 'ptl.my_access', 'view', 'caller', 'a reader sees its own access only'),
    ('view', 'ptl.outpatient_measures', 'view', 'caller', NULL),
    ('view', 'ptl.outbound_action_list', 'view', 'owner', 'a user''s own organisations'' actions, the hospital number blank unless it may see identifiers'),
    ('view', 'ptl.outbound_contradiction', 'view', 'caller', NULL),
    ('view', 'ptl.patient_equity_group', 'view', 'caller', NULL),
    ('view', 'ptl.person', 'view_withheld', 'caller', NULL),
    ('view', 'ptl.person_record', 'view_withheld', 'caller', NULL),
    ('view', 'ptl.pidmas_eligibility', 'view_withheld', 'caller', NULL),
    ('view', 'ptl.preop_lead_time', 'view', 'caller', NULL),
    ('view', 'ptl.priority_review_due', 'view', 'caller', NULL),
    ('view', 'ptl.procedure_duration_estimate', 'view', 'caller', NULL),
    ('view', 'ptl.procedure_duration_history', 'view', 'caller', NULL),
    ('view', 'ptl.provider_type_activity', 'view', 'caller', NULL),
    ('view', 'ptl.provider_waits', 'view', 'caller', NULL),
    ('view', 'ptl.ptl', 'view', 'owner', 'shows a user its own rows of the stored PTL (each provider''s list numbered whole by the refresh) and blanks identifiers unless it may see them'),
    ('view', 'ptl.ptl_export', 'view', 'caller', NULL),
    ('view', 'ptl.ptl_headline', 'view', 'caller', NULL),
    ('view', 'ptl.ptl_risk', 'view_withheld', 'caller', NULL),
    ('view', 'ptl.quarantine_summary', 'load_view', 'caller', 'also for the loaders who sent the batches'),
    ('view', 'ptl.reference_placeholder', 'view', 'caller', 'counts only the rows the reader may see'),
    ('view', 'ptl.refresh_status', 'view_withheld', 'caller', NULL),
    ('view', 'ptl.risk_cohort', 'view_withheld', 'caller', NULL),
    ('view', 'ptl.risk_latest', 'view_withheld', 'caller', NULL),
    ('view', 'ptl.risk_score', 'view_withheld', 'caller', NULL),
    ('view', 'ptl.rtt_clock_event', 'view', 'caller', NULL),
    ('view', 'ptl.rtt_open_period', 'view', 'caller', NULL),
    ('view', 'ptl.setting_risk_score', 'view', 'owner', 'the scores the setting rules read, for the user''s organisations'' persons, without the age that ptl.risk_score takes from the date of birth'),
    ('view', 'ptl.setting_rule_in_force', 'view', 'caller', NULL),
    ('view', 'ptl.settings', 'view', 'caller', NULL),
    ('view', 'ptl.site_location', 'view', 'caller', NULL),
    ('view', 'ptl.site_care_capability', 'view', 'caller', NULL),
    ('view', 'ptl.theatre_cancellations', 'view', 'caller', NULL),
    ('view', 'ptl.theatre_case_times', 'view', 'caller', NULL),
    ('view', 'ptl.theatre_low_risk_share', 'view', 'caller', NULL),
    ('view', 'ptl.theatre_productivity', 'view', 'caller', NULL),
    ('view', 'ptl.theatre_session_load', 'view', 'caller', NULL),
    ('view', 'ptl.theatre_session_measures', 'view', 'caller', NULL),
    ('view', 'ptl.transferred_pathway_visible', 'view', 'owner', 'read by the pathway row filter, which cannot read ptl.pathway through itself'),
    ('view', 'ptl.treatment_function_in_use', 'view', 'caller', NULL),
    ('view', 'ptl.validation_campaign_summary', 'view', 'caller', NULL),
    ('view', 'ptl.validation_issues', 'view_withheld', 'caller', NULL),
    ('view', 'ptl.validation_summary', 'view', 'caller', NULL),
    ('view', 'ptl.wait_monitoring', 'view', 'caller', NULL),
    ('view', 'ptl.wait_variation_trend', 'view', 'caller', NULL);

INSERT INTO ptl.access_object (object_type, object_name, access_class, runs_as, note) VALUES
    ('sequence', 'ptl.person_id_seq', 'sequence', NULL, 'person numbers, drawn by the refresh''s linkage');

-- Loading: each checks that the session's login may load the batch's organisation.
INSERT INTO ptl.access_object (object_type, object_name, access_class, runs_as) VALUES
    ('function', 'ptl.close_batch(bigint)', 'load', 'owner'),
    ('function', 'ptl.declare_source_counts(bigint,jsonb)', 'load', 'owner'),
    ('function', 'ptl.load(bigint)', 'load', 'owner'),
    ('function', 'ptl.open_batch(text,text,text,text)', 'load', 'owner'),
    ('function', 'ptl.reconcile(bigint)', 'load', 'owner'),
    ('function', 'ptl.retry_rejected(bigint,text[])', 'load', 'owner'),
    ('function', 'ptl.stage_extract(bigint,text,bytea,name,text,integer)', 'load', 'owner'),
    ('function', 'ptl.staged_rows(bigint)', 'load', 'owner'),
    ('function', 'ptl.unstage(bigint,text)', 'load', 'owner');

-- Operations, for administrators.
INSERT INTO ptl.access_object (object_type, object_name, access_class, runs_as) VALUES
    ('function', 'ptl.apply_snapshot_retention(date)', 'operate', 'owner'),
    ('function', 'ptl.census_snapshot_partition(date)', 'operate', 'owner'),
    ('function', 'ptl.daily_refresh(date,boolean,boolean)', 'operate', 'caller'),
    ('function', 'ptl.fail_batch(bigint,text,text)', 'operate', 'owner'),
    ('function', 'ptl.link_decisions_by_record()', 'operate', 'caller'),
    -- (runs the query it is given: a reader has no use for it)
    ('function', 'ptl_internal.link_candidates(text,integer,integer)', 'operate', 'caller'),
    ('function', 'ptl_internal.link_window_delta(text,integer,integer)', 'operate', 'caller'),
    ('function', 'ptl_internal.link_vote(text)', 'operate', 'caller'),
    ('function', 'ptl.load_reference(text,bytea,text,text,name)', 'operate', 'owner'),
    ('function', 'ptl.reconcile_outbound()', 'operate', 'caller'),
    ('function', 'ptl.refresh(date,boolean)', 'operate', 'caller'),
    ('function', 'ptl.refresh_after_restore()', 'operate', 'caller'),
    ('function', 'ptl_internal.refresh_work(date,boolean,bigint)', 'operate', 'caller');

-- Statistics after a bulk write, for whoever bulk-writes.
INSERT INTO ptl.access_object (object_type, object_name, access_class, runs_as) VALUES
    ('function', 'ptl.analyze_if_grown(regclass,bigint)', 'bulk_write', 'owner');

-- Internal: triggers, and the steps of ptl.load (run with its owner's rights).
INSERT INTO ptl.access_object (object_type, object_name, access_class, runs_as) VALUES
    ('function', 'ptl_internal.apply_access_policy()', 'internal', 'caller'),
    ('function', 'ptl_internal.assert_extract(text)', 'internal', 'caller'),
    ('function', 'ptl_internal.assert_may_load(text)', 'internal', 'caller'),
    ('function', 'ptl_internal.audit_change()', 'internal', 'caller'),
    ('function', 'ptl_internal.audit_log_stamp()', 'internal', 'caller'),
    ('function', 'ptl_internal.check_referenced()', 'internal', 'owner'),
    ('function', 'ptl_internal.check_references()', 'internal', 'owner'),
    ('function', 'ptl_internal.clinic_slots_from_count(date,date)', 'internal', 'caller'),
    ('function', 'ptl_internal.clinical_priority_history_extract()', 'internal', 'caller'),
    ('function', 'ptl_internal.extract_column_fails(ptl.extract_column,date)', 'internal', 'caller'),
    ('function', 'ptl_internal.extract_column_is_text(ptl.extract_column)', 'internal', 'caller'),
    ('function', 'ptl_internal.extract_value_problem(ptl.extract_column,text,date)', 'internal', 'caller'),
    ('function', 'ptl_internal.forget_ptl_entries()', 'internal', 'caller'),
    ('function', 'ptl_internal.guard_drop()', 'internal', 'caller'),
    ('function', 'ptl_internal.input_problem_text(ptl.input_problem,boolean)', 'internal', 'caller'),
    ('function', 'ptl_internal.journey_stage_rule_changed()', 'internal', 'caller'),
    ('function', 'ptl_internal.link_blocking_rule_check()', 'internal', 'caller'),
    ('function', 'ptl_internal.load_check_columns(bigint,text)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_consultant_leave(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_events(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_has_staged(bigint,text)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_mark_bad(text,bigint[],text,text,text,text[])', 'internal', 'caller'),
    ('function', 'ptl_internal.load_mark_orphans(text,bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_mark_period(text,text,text)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_mark_repeats(text,text[],text)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_mark_warn(text,bigint[],text,text,text,text[])', 'internal', 'caller'),
    ('function', 'ptl_internal.load_pathways(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_patient_unavailability(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_patients(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_placeholders(bigint,text)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_preop_assessments(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_procedure_durations(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_quarantine(bigint,text)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_risk_assessments(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_theatre_bookings(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_theatre_cancellations(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_theatre_sessions(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_waiting_list(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.mark_dirty_pathways()', 'internal', 'caller'),
    ('function', 'ptl_internal.mark_person_pathways_dirty()', 'internal', 'caller'),
    ('function', 'ptl_internal.mark_ppid_pathways_dirty()', 'internal', 'caller'),
    ('function', 'ptl_internal.mutual_aid_state_guard()', 'internal', 'caller'),
    ('function', 'ptl_internal.note_link_pending()', 'internal', 'caller'),
    ('function', 'ptl_internal.note_validation_keys()', 'internal', 'caller'),
    ('function', 'ptl_internal.pattern_fails_sql(text,text)', 'internal', 'caller'),
    ('function', 'ptl_internal.prepare_staging_table(text)', 'internal', 'caller'),
    ('function', 'ptl_internal.priority_target_replace()', 'internal', 'caller'),
    ('function', 'ptl_internal.refuse_shipped_change()', 'internal', 'caller'),
    ('function', 'ptl_internal.revoke_all_grants(regclass)', 'internal', 'caller'),
    ('function', 'ptl_internal.row_filter_sql(text,text,boolean)', 'internal', 'caller'),
    ('function', 'ptl_internal.setting_rule_guard()', 'internal', 'caller'),
    ('function', 'ptl_internal.settings_history_ready(regclass)', 'internal', 'caller'),
    ('function', 'ptl_internal.stage_batch_is_open()', 'internal', 'owner');

-- The care feeds (outpatient, beds, aid: src/outpatient/feed.sql,
-- src/journey/beds_feed.sql, src/aid/feed.sql): their staging tables and
-- the steps ptl.load runs for them.
INSERT INTO ptl.access_object (object_type, object_name, access_class, runs_as, note) VALUES
    ('table', 'ptl_stage.advice_request', 'staging', NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.clinic', 'staging', NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.clinic_session', 'staging', NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.clinic_slot', 'staging', NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.elective_bed_base', 'staging', NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.follow_up_request', 'staging', NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.hospital_spell', 'staging', NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.mutual_aid_offer', 'staging', NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.mutual_aid_slot', 'staging', NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.outpatient_appointment', 'staging', NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.pifu_episode', 'staging', NULL, 'COPY needs a table without row-level security'),
    ('table', 'ptl_stage.transfer_preference', 'staging', NULL, 'COPY needs a table without row-level security');
INSERT INTO ptl.access_object (object_type, object_name, access_class, runs_as) VALUES
    ('function', 'ptl_internal.load_advice_requests(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_appointment_is_known(text,text)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_clinic_is_known(text,text)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_clinic_sessions(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_clinic_slots(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_clinics(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_elective_bed_base(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_follow_up_requests(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_hospital_spells(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_kept(text,text,text[])', 'internal', 'caller'),
    ('function', 'ptl_internal.load_leave_out(text,text,text,text,text,text)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_mark_foreign_sites(bigint,text,text)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_mutual_aid_offers(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_mutual_aid_slots(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_outpatient_appointments(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_pifu_episodes(bigint)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_reject(text,text,text,text,text,text)', 'internal', 'caller'),
    ('function', 'ptl_internal.load_transfer_preferences(bigint)', 'internal', 'caller');

-- Everything else: anyone may call them; they read and write with the caller's
-- rights, so a table's privileges and row filter decide what they may do.
INSERT INTO ptl.access_object (object_type, object_name, access_class, runs_as) VALUES
    ('function', 'ptl.accept_clinic_proposal(bigint,text)', 'any', 'caller'),
    ('function', 'ptl.accept_theatre_proposal(bigint,text)', 'any', 'caller'),
    ('function', 'ptl.access_policy_violations()', 'any', 'caller'),
    ('function', 'ptl.add_mutual_aid_slots(bigint,integer)', 'any', 'caller'),
    ('function', 'ptl.allocate_clinic(ptl.clinic_slot_offer[],ptl.clinic_patient[])', 'any', 'caller'),
    ('function', 'ptl.allocate_theatre(ptl.theatre_slot[],ptl.theatre_case[],integer)', 'any', 'caller'),
    ('function', 'ptl.apply_validation_contact(bigint)', 'any', 'caller'),
    ('function', 'ptl.ariscat_class(integer)', 'any', 'caller'),
    ('function', 'ptl.ariscat_score(integer,double precision,boolean,double precision,text,double precision,boolean)', 'any', 'caller'),
    ('function', 'ptl.asa_description(integer)', 'any', 'caller'),
    ('function', 'ptl.asa_physical_status(integer,boolean)', 'any', 'caller'),
    ('function', 'ptl.backfill_census_snapshots(date,date,integer)', 'any', 'caller'),
    ('function', 'ptl.bed_occupancy(date,integer,double precision)', 'any', 'caller'),
    ('function', 'ptl_internal.campaign_provider(text)', 'any', 'caller'),
    ('function', 'ptl.capability_rank(text)', 'any', 'caller'),
    ('function', 'ptl.cfs_frail(integer,integer)', 'any', 'caller'),
    ('function', 'ptl.cfs_label(integer)', 'any', 'caller'),
    ('function', 'ptl.cfs_warning(integer,integer)', 'any', 'caller'),
    ('function', 'ptl.change_settings(regclass,jsonb)', 'any', 'caller'),
    ('function', 'ptl_internal.chart_colour(integer)', 'any', 'caller'),
    ('function', 'ptl_internal.chart_number(double precision)', 'any', 'caller'),
    ('function', 'ptl_internal.chart_step(double precision,integer)', 'any', 'caller'),
    ('function', 'ptl.check_input(text,regtype)', 'any', 'caller'),
    ('function', 'ptl.clinic_free_slots(date,date)', 'any', 'caller'),
    ('function', 'ptl.clinic_setting_in_force()', 'any', 'caller'),
    ('function', 'ptl_internal.clinical_priority_cmp(ptl.clinical_priority,ptl.clinical_priority)', 'any', 'caller'),
    ('function', 'ptl_internal.clinical_priority_eq(ptl.clinical_priority,ptl.clinical_priority)', 'any', 'caller'),
    ('function', 'ptl_internal.clinical_priority_ge(ptl.clinical_priority,ptl.clinical_priority)', 'any', 'caller'),
    ('function', 'ptl_internal.clinical_priority_gt(ptl.clinical_priority,ptl.clinical_priority)', 'any', 'caller'),
    ('function', 'ptl_internal.clinical_priority_hash(ptl.clinical_priority)', 'any', 'caller'),
    ('function', 'ptl_internal.clinical_priority_hash_extended(ptl.clinical_priority,bigint)', 'any', 'caller'),
    ('function', 'ptl_internal.clinical_priority_in(cstring)', 'any', 'caller'),
    ('function', 'ptl_internal.clinical_priority_le(ptl.clinical_priority,ptl.clinical_priority)', 'any', 'caller'),
    ('function', 'ptl_internal.clinical_priority_lt(ptl.clinical_priority,ptl.clinical_priority)', 'any', 'caller'),
    ('function', 'ptl_internal.clinical_priority_ne(ptl.clinical_priority,ptl.clinical_priority)', 'any', 'caller'),
    ('function', 'ptl_internal.clinical_priority_out(ptl.clinical_priority)', 'any', 'caller'),
    ('function', 'ptl_internal.clinical_priority_recv(internal)', 'any', 'caller'),
    ('function', 'ptl_internal.clinical_priority_send(ptl.clinical_priority)', 'any', 'caller'),
    ('function', 'ptl.csv_field(text)', 'any', 'caller'),
    ('function', 'ptl.csv_records(bytea,name,text,integer)', 'any', 'caller'),
    ('function', 'ptl.csv_text(text)', 'any', 'caller'),
    ('function', 'ptl.current_batch()', 'any', 'caller'),
    ('function', 'ptl_internal.current_user_in(name)', 'any', 'caller'),
    ('function', 'ptl.damerau_levenshtein(text,text)', 'any', 'caller'),
    ('function', 'ptl_internal.derived_tables_empty()', 'any', 'caller'),
    ('function', 'ptl.dna_rates(date,date,integer)', 'any', 'caller'),
    ('function', 'ptl_internal.duplicate_pathway_detail(text,text,text,text,boolean)', 'any', 'caller'),
    ('function', 'ptl.ethnic_group(text)', 'any', 'caller'),
    ('function', 'ptl.extract_value(text)', 'any', 'caller'),
    ('function', 'ptl_internal.find_pathway_duplicates(date)', 'any', 'caller'),
    ('function', 'ptl_internal.find_pathway_duplicates(date,boolean)', 'any', 'caller'),
    ('function', 'ptl.first_free_window(bigint,date,date)', 'any', 'caller'),
    ('function', 'ptl.follow_up_backlog(date)', 'any', 'caller'),
    ('function', 'ptl.forecast_queue(double precision[],double precision[],double precision,integer,double precision,double precision,double precision)', 'any', 'caller'),
    ('function', 'ptl.forecast_waiting_list(date,integer,double precision,double precision,double precision,integer,text,text)', 'any', 'caller'),
    ('function', 'ptl.haversine_miles(double precision,double precision,double precision,double precision)', 'any', 'caller'),
    ('function', 'ptl_internal.html_escape(text)', 'any', 'caller'),
    ('function', 'ptl_internal.html_row(text[],boolean)', 'any', 'caller'),
    ('function', 'ptl.in_storage_range(date)', 'any', 'caller'),
    ('function', 'ptl.in_storage_range(timestamp with time zone)', 'any', 'caller'),
    ('function', 'ptl.in_storage_range(timestamp without time zone)', 'any', 'caller'),
    ('function', 'ptl.is_formula_cell(text)', 'any', 'caller'),
    ('function', 'ptl_internal.is_ptl_source(text)', 'any', 'caller'),
    ('function', 'ptl.jaro(text,text)', 'any', 'caller'),
    ('function', 'ptl.jaro_winkler(text,text)', 'any', 'caller'),
    ('function', 'ptl.journey_bottlenecks(date,integer)', 'any', 'caller'),
    ('function', 'ptl.journey_compute(date,bigint[])', 'any', 'caller'),
    ('function', 'ptl.length_of_stay(date,double precision)', 'any', 'caller'),
    ('function', 'ptl_internal.link_block_members_sql(text)', 'any', 'caller'),
    ('function', 'ptl_internal.link_block_sql(text)', 'any', 'caller'),
    ('function', 'ptl_internal.link_cluster(boolean)', 'any', 'caller'),
    ('function', 'ptl.link_clusters(bigint[],text[],bigint[],bigint[],double precision[],integer)', 'any', 'caller'),
    ('function', 'ptl.link_compare(ptl.link_fields,ptl.link_fields)', 'any', 'caller'),
    ('function', 'ptl.link_em(bigint[],double precision[],double precision[],double precision[],double precision,integer,integer,integer,double precision)', 'any', 'caller'),
    ('function', 'ptl.link_explain(bigint,bigint)', 'any', 'caller'),
    ('function', 'ptl_internal.link_expression_fields(text)', 'any', 'caller'),
    ('function', 'ptl_internal.link_fields_of(ptl.patient)', 'any', 'caller'),
    ('function', 'ptl_internal.link_keys_of(ptl.link_fields)', 'any', 'caller'),
    ('function', 'ptl_internal.link_keys_sql()', 'any', 'caller'),
    ('function', 'ptl_internal.link_look_alike(bigint)', 'any', 'caller'),
    ('function', 'ptl_internal.link_model_stale()', 'any', 'caller'),
    ('function', 'ptl_internal.link_name_order_sql()', 'any', 'caller'),
    ('function', 'ptl_internal.link_nhs_valid(ptl.nhs_number)', 'any', 'caller'),
    ('function', 'ptl_internal.link_normalise(text,text,text,date,text,text,text,text,text,text)', 'any', 'caller'),
    ('function', 'ptl_internal.link_parameter_array(integer[],double precision[])', 'any', 'caller'),
    ('function', 'ptl_internal.link_window_sql(integer)', 'any', 'caller'),
    ('function', 'ptl.link_pathways()', 'any', 'caller'),
    ('function', 'ptl.link_pathways(boolean)', 'any', 'caller'),
    ('function', 'ptl.link_persons()', 'any', 'caller'),
    ('function', 'ptl.link_persons(boolean)', 'any', 'caller'),
    ('function', 'ptl.link_persons_incremental()', 'any', 'caller'),
    ('function', 'ptl_internal.link_rules_signature()', 'any', 'caller'),
    ('function', 'ptl_internal.link_run_rules(bigint)', 'any', 'caller'),
    ('function', 'ptl_internal.link_score(double precision,boolean)', 'any', 'caller'),
    ('function', 'ptl_internal.link_setting_in_force()', 'any', 'caller'),
    ('function', 'ptl_internal.link_stored_model()', 'any', 'caller'),
    ('function', 'ptl.lognormal_quantile(double precision,double precision,double precision)', 'any', 'caller'),
    ('function', 'ptl.mark_outbound_sent(text,timestamp with time zone)', 'any', 'caller'),
    ('function', 'ptl.may_identify()', 'any', 'caller'),
    ('function', 'ptl.mutual_aid_match(bigint[],bigint[],integer[],date[],date[],double precision[],integer[],boolean)', 'any', 'caller'),
    ('function', 'ptl.mutual_aid_pairs(ptl.aid_patient[],ptl.aid_slot[],date,integer,integer,integer,integer,ptl.clinical_priority[])', 'any', 'caller'),
    ('function', 'ptl.mutual_aid_plan(ptl.aid_patient[],ptl.aid_slot[],date,text,integer,integer,integer,integer,ptl.clinical_priority[])', 'any', 'caller'),
    ('function', 'ptl_internal.mutual_aid_state_allowed(text,text)', 'any', 'caller'),
    ('function', 'ptl.mutual_aid_suggestions(text,text,integer,integer,integer,integer,ptl.clinical_priority[])', 'any', 'caller'),
    ('function', 'ptl.mutual_aid_suggestions_csv(text,text)', 'any', 'caller'),
    ('function', 'ptl.my_organisations()', 'any', 'caller'),
    ('function', 'ptl_internal.my_transferred_pathways()', 'any', 'caller'),
    ('function', 'ptl_internal.nhs_number_cmp(ptl.nhs_number,ptl.nhs_number)', 'any', 'caller'),
    ('function', 'ptl_internal.nhs_number_eq(ptl.nhs_number,ptl.nhs_number)', 'any', 'caller'),
    ('function', 'ptl_internal.nhs_number_from_bigint(bigint)', 'any', 'caller'),
    ('function', 'ptl_internal.nhs_number_ge(ptl.nhs_number,ptl.nhs_number)', 'any', 'caller'),
    ('function', 'ptl_internal.nhs_number_gt(ptl.nhs_number,ptl.nhs_number)', 'any', 'caller'),
    ('function', 'ptl_internal.nhs_number_hash(ptl.nhs_number)', 'any', 'caller'),
    ('function', 'ptl_internal.nhs_number_hash_extended(ptl.nhs_number,bigint)', 'any', 'caller'),
    ('function', 'ptl_internal.nhs_number_in(cstring)', 'any', 'caller'),
    ('function', 'ptl_internal.nhs_number_le(ptl.nhs_number,ptl.nhs_number)', 'any', 'caller'),
    ('function', 'ptl_internal.nhs_number_lt(ptl.nhs_number,ptl.nhs_number)', 'any', 'caller'),
    ('function', 'ptl_internal.nhs_number_ne(ptl.nhs_number,ptl.nhs_number)', 'any', 'caller'),
    ('function', 'ptl_internal.nhs_number_out(ptl.nhs_number)', 'any', 'caller'),
    ('function', 'ptl_internal.nhs_number_recv(internal)', 'any', 'caller'),
    ('function', 'ptl_internal.nhs_number_send(ptl.nhs_number)', 'any', 'caller'),
    ('function', 'ptl.nhs_number_valid(text)', 'any', 'caller'),
    ('function', 'ptl.normal_quantile(double precision)', 'any', 'caller'),
    ('function', 'ptl_internal.ods_date(text)', 'any', 'caller'),
    ('function', 'ptl.ops_setting_in_force()', 'any', 'caller'),
    ('function', 'ptl_internal.organisations_of(name)', 'any', 'caller'),
    ('function', 'ptl.outbound_actions(text,timestamp with time zone)', 'any', 'caller'),
    ('function', 'ptl.outbound_actions_csv(text,timestamp with time zone)', 'any', 'caller'),
    ('function', 'ptl_internal.outbound_actions_csv_header()', 'any', 'caller'),
    ('function', 'ptl.p_possum_logit(integer,integer)', 'any', 'caller'),
    ('function', 'ptl.p_possum_mortality_pct(integer,integer)', 'any', 'caller'),
    ('function', 'ptl_internal.pack_figure(text,text,text,text,text[],text)', 'any', 'caller'),
    ('function', 'ptl_internal.pct(ptl.target_elapsed)', 'any', 'caller'),
    ('function', 'ptl.pifu_summary(date)', 'any', 'caller'),
    ('function', 'ptl.planned_admissions(date,integer)', 'any', 'caller'),
    ('function', 'ptl.planned_case_minutes(text,text,integer)', 'any', 'caller'),
    ('function', 'ptl.possum_morbidity_pct(integer,integer)', 'any', 'caller'),
    ('function', 'ptl.possum_mortality_pct(integer,integer)', 'any', 'caller'),
    ('function', 'ptl.possum_operative_score(text,integer,integer,text,text,text)', 'any', 'caller'),
    ('function', 'ptl.possum_physiological_score(integer,text,text,integer,integer,integer,double precision,double precision,double precision,double precision,double precision,text)', 'any', 'caller'),
    ('function', 'ptl.possum_scores(integer,text,text,integer,integer,integer,double precision,double precision,double precision,double precision,double precision,text,text,integer,integer,text,text,text)', 'any', 'caller'),
    ('function', 'ptl.postcode_district_of(text)', 'any', 'caller'),
    ('function', 'ptl.priority_target_days(ptl.clinical_priority)', 'any', 'caller'),
    ('function', 'ptl.propose_clinic_slots(integer,date)', 'any', 'caller'),
    ('function', 'ptl.propose_theatre_lists(date,date,date)', 'any', 'caller'),
    ('function', 'ptl.provider_waits_for(bigint,double precision)', 'any', 'caller'),
    ('function', 'ptl.provider_waits_near(text,text,double precision,date)', 'any', 'caller'),
    ('function', 'ptl.ptl_export_csv(text)', 'any', 'caller'),
    ('function', 'ptl_internal.queue_check(text,double precision,boolean)', 'any', 'caller'),
    ('function', 'ptl.queue_load(double precision,double precision)', 'any', 'caller'),
    ('function', 'ptl.rank_ptl()', 'any', 'caller'),
    ('function', 'ptl.refresh_run_is_live(integer,timestamp with time zone)', 'any', 'caller'),
    ('function', 'ptl_internal.refresh_step(jsonb,text,timestamp with time zone,bigint)', 'any', 'caller'),
    ('function', 'ptl.reject_clinic_proposal(bigint,text,text)', 'any', 'caller'),
    ('function', 'ptl.reject_theatre_proposal(bigint,text,text)', 'any', 'caller'),
    ('function', 'ptl.relief_capacity(double precision,double precision,double precision,double precision,double precision,double precision)', 'any', 'caller'),
    ('function', 'ptl.reporting_org(text,date)', 'any', 'caller'),
    ('function', 'ptl_internal.restoring()', 'any', 'caller'),
    ('function', 'ptl.review_clinical_priority(bigint,ptl.clinical_priority,text,date,text)', 'any', 'caller'),
    ('function', 'ptl.risk_setting_in_force()', 'any', 'caller'),
    ('function', 'ptl_internal.role_in(name,name)', 'any', 'caller'),
    ('function', 'ptl.rtt_compute(date)', 'any', 'caller'),
    ('function', 'ptl.rtt_event_issues(ptl.rtt_event[],date,boolean)', 'any', 'caller'),
    ('function', 'ptl.rtt_issues_agg(date,ptl.event_kind,ptl.rtt_status,date,bigint,date,boolean)', 'any', 'caller'),
    ('function', 'ptl.rtt_issues_agg(date,time without time zone,ptl.event_kind,ptl.rtt_status,date,text,text,bigint,date,boolean,text,text)', 'any', 'caller'),
    ('function', 'ptl_internal.rtt_issues_agg_final(internal)', 'any', 'caller'),
    ('function', 'ptl.rtt_over_weeks(integer,integer)', 'any', 'caller'),
    ('function', 'ptl.rtt_periods(ptl.rtt_event[],date,boolean,text,text)', 'any', 'caller'),
    ('function', 'ptl.rtt_periods_agg(date,ptl.event_kind,ptl.rtt_status,date,bigint,date,boolean)', 'any', 'caller'),
    ('function', 'ptl.rtt_periods_agg(date,ptl.event_kind,ptl.rtt_status,date,bigint,date,boolean,text,text)', 'any', 'caller'),
    ('function', 'ptl.rtt_periods_agg(date,time without time zone,ptl.event_kind,ptl.rtt_status,date,text,text,bigint,date,boolean,text,text)', 'any', 'caller'),
    ('function', 'ptl_internal.rtt_periods_agg_final(internal)', 'any', 'caller'),
    ('function', 'ptl_internal.rtt_periods_agg_timed_transfn(internal,date,time without time zone,ptl.event_kind,ptl.rtt_status,date,text,text,bigint,date,boolean,text,text)', 'any', 'caller'),
    ('function', 'ptl_internal.rtt_periods_agg_transfn(internal,date,ptl.event_kind,ptl.rtt_status,date,bigint,date,boolean)', 'any', 'caller'),
    ('function', 'ptl_internal.rtt_periods_agg_transfn(internal,date,ptl.event_kind,ptl.rtt_status,date,bigint,date,boolean,text,text)', 'any', 'caller'),
    ('function', 'ptl.rtt_periods_at(date)', 'any', 'caller'),
    ('function', 'ptl.rtt_periods_at(date,text[])', 'any', 'caller'),
    ('function', 'ptl.rtt_return(date)', 'any', 'caller'),
    ('function', 'ptl.rtt_return(date,text)', 'any', 'caller'),
    ('function', 'ptl.rtt_return_checks(date)', 'any', 'caller'),
    ('function', 'ptl.rtt_return_csv(date)', 'any', 'caller'),
    ('function', 'ptl.rtt_return_csv(date,text)', 'any', 'caller'),
    ('function', 'ptl_internal.rtt_return_csv_header()', 'any', 'caller'),
    ('function', 'ptl.rtt_return_wide(date)', 'any', 'caller'),
    ('function', 'ptl.rtt_return_wide(date,text)', 'any', 'caller'),
    ('function', 'ptl.rtt_same_day_precedence(ptl.event_kind,ptl.rtt_status)', 'any', 'caller'),
    ('function', 'ptl.rtt_setting_in_force()', 'any', 'caller'),
    ('function', 'ptl_internal.rtt_status_cmp(ptl.rtt_status,ptl.rtt_status)', 'any', 'caller'),
    ('function', 'ptl.rtt_status_continues_clock(ptl.rtt_status)', 'any', 'caller'),
    ('function', 'ptl.rtt_status_description(ptl.rtt_status)', 'any', 'caller'),
    ('function', 'ptl_internal.rtt_status_eq(ptl.rtt_status,ptl.rtt_status)', 'any', 'caller'),
    ('function', 'ptl_internal.rtt_status_from_integer(integer)', 'any', 'caller'),
    ('function', 'ptl_internal.rtt_status_ge(ptl.rtt_status,ptl.rtt_status)', 'any', 'caller'),
    ('function', 'ptl.rtt_status_group(ptl.rtt_status)', 'any', 'caller'),
    ('function', 'ptl_internal.rtt_status_gt(ptl.rtt_status,ptl.rtt_status)', 'any', 'caller'),
    ('function', 'ptl_internal.rtt_status_hash(ptl.rtt_status)', 'any', 'caller'),
    ('function', 'ptl_internal.rtt_status_hash_extended(ptl.rtt_status,bigint)', 'any', 'caller'),
    ('function', 'ptl_internal.rtt_status_in(cstring)', 'any', 'caller'),
    ('function', 'ptl_internal.rtt_status_le(ptl.rtt_status,ptl.rtt_status)', 'any', 'caller'),
    ('function', 'ptl_internal.rtt_status_lt(ptl.rtt_status,ptl.rtt_status)', 'any', 'caller'),
    ('function', 'ptl_internal.rtt_status_ne(ptl.rtt_status,ptl.rtt_status)', 'any', 'caller'),
    ('function', 'ptl.rtt_status_nullifies_clock(ptl.rtt_status)', 'any', 'caller'),
    ('function', 'ptl_internal.rtt_status_out(ptl.rtt_status)', 'any', 'caller'),
    ('function', 'ptl.rtt_status_outside_rtt(ptl.rtt_status)', 'any', 'caller'),
    ('function', 'ptl_internal.rtt_status_recv(internal)', 'any', 'caller'),
    ('function', 'ptl_internal.rtt_status_send(ptl.rtt_status)', 'any', 'caller'),
    ('function', 'ptl.rtt_status_starts_clock(ptl.rtt_status)', 'any', 'caller'),
    ('function', 'ptl.rtt_status_stops_clock(ptl.rtt_status)', 'any', 'caller'),
    ('function', 'ptl_internal.rtt_status_to_integer(ptl.rtt_status)', 'any', 'caller'),
    ('function', 'ptl.rtt_week_band(integer)', 'any', 'caller'),
    ('function', 'ptl.rtt_week_band_label(integer)', 'any', 'caller'),
    ('function', 'ptl.sees_all_organisations()', 'any', 'caller'),
    ('function', 'ptl_internal.sees_all_organisations_of(name)', 'any', 'caller'),
    ('function', 'ptl.session_overrun_probability(double precision[],double precision[],double precision,text)', 'any', 'caller'),
    ('function', 'ptl.set_clinic_template(bigint,text[],integer[],boolean[],text)', 'any', 'caller'),
    ('function', 'ptl.setting_need_at(date)', 'any', 'caller'),
    ('function', 'ptl.setting_needs(integer,double precision,text,integer)', 'any', 'caller'),
    ('function', 'ptl.settings_in_force()', 'any', 'caller'),
    ('function', 'ptl.sort_cj_logit(double precision,text)', 'any', 'caller'),
    ('function', 'ptl.sort_cj_mortality_pct(double precision,text)', 'any', 'caller'),
    ('function', 'ptl.sort_high_risk_specialty(text)', 'any', 'caller'),
    ('function', 'ptl.sort_logit(integer,text,boolean,text,boolean,integer)', 'any', 'caller'),
    ('function', 'ptl.sort_morbidity_logit(integer,text,text,boolean,integer)', 'any', 'caller'),
    ('function', 'ptl.sort_morbidity_pct(integer,text,text,boolean,integer)', 'any', 'caller'),
    ('function', 'ptl.sort_mortality_pct(integer,text,boolean,text,boolean,integer)', 'any', 'caller'),
    ('function', 'ptl.start_follow_up_validation_campaign(text,integer,integer,text,text)', 'any', 'caller'),
    ('function', 'ptl.start_validation_campaign(text,integer,integer,text,text)', 'any', 'caller'),
    ('function', 'ptl.soundex(text)', 'any', 'caller'),
    ('function', 'ptl.successor_in_force(date)', 'any', 'caller'),
    ('function', 'ptl.suppressed_cells(bigint[],integer,boolean,boolean[])', 'any', 'caller'),
    ('function', 'ptl.sustainable_list_size(double precision,double precision,double precision)', 'any', 'caller'),
    ('function', 'ptl_internal.settings_tables()', 'any', 'caller'),
    ('function', 'ptl_internal.svg_chart(text,text,text[],text[],double precision[],text,double precision,text,text[],double precision[],integer,integer)', 'any', 'caller'),
    ('function', 'ptl.target_capacity(double precision,double precision,double precision,double precision,double precision)', 'any', 'caller'),
    ('function', 'ptl.target_days(ptl.target_elapsed)', 'any', 'caller'),
    ('function', 'ptl.target_elapsed(integer,integer)', 'any', 'caller'),
    ('function', 'ptl_internal.target_elapsed_cmp(ptl.target_elapsed,ptl.target_elapsed)', 'any', 'caller'),
    ('function', 'ptl_internal.target_elapsed_eq(ptl.target_elapsed,ptl.target_elapsed)', 'any', 'caller'),
    ('function', 'ptl_internal.target_elapsed_ge(ptl.target_elapsed,ptl.target_elapsed)', 'any', 'caller'),
    ('function', 'ptl_internal.target_elapsed_gt(ptl.target_elapsed,ptl.target_elapsed)', 'any', 'caller'),
    ('function', 'ptl_internal.target_elapsed_in(cstring)', 'any', 'caller'),
    ('function', 'ptl_internal.target_elapsed_le(ptl.target_elapsed,ptl.target_elapsed)', 'any', 'caller'),
    ('function', 'ptl_internal.target_elapsed_lt(ptl.target_elapsed,ptl.target_elapsed)', 'any', 'caller'),
    ('function', 'ptl_internal.target_elapsed_ne(ptl.target_elapsed,ptl.target_elapsed)', 'any', 'caller'),
    ('function', 'ptl_internal.target_elapsed_out(ptl.target_elapsed)', 'any', 'caller'),
    ('function', 'ptl_internal.target_elapsed_recv(internal)', 'any', 'caller'),
    ('function', 'ptl_internal.target_elapsed_send(ptl.target_elapsed)', 'any', 'caller'),
    ('function', 'ptl.target_mean_wait(double precision,double precision)', 'any', 'caller'),
    ('function', 'ptl.target_queue_size(double precision,double precision,double precision)', 'any', 'caller'),
    ('function', 'ptl.tertiary_referral(bigint)', 'any', 'caller'),
    ('function', 'ptl.theatre_measured_until()', 'any', 'caller'),
    ('function', 'ptl.theatre_setting_in_force()', 'any', 'caller'),
    ('function', 'ptl.transfer_for_mutual_aid(bigint,bigint,date,integer)', 'any', 'caller'),
    ('function', 'ptl.validate(date)', 'any', 'caller'),
    ('function', 'ptl.validate(date,date)', 'any', 'caller'),
    ('function', 'ptl_internal.validation_scope(date,date)', 'any', 'caller'),
    ('function', 'ptl.wait_days(ptl.target_elapsed)', 'any', 'caller'),
    ('function', 'ptl.wait_inequality(integer)', 'any', 'caller'),
    ('function', 'ptl.wait_variation(date,integer)', 'any', 'caller'),
    ('function', 'ptl.waiting_list_pressure(double precision,double precision)', 'any', 'caller'),
    ('function', 'ptl.waiting_list_queue(date,double precision,integer,double precision)', 'any', 'caller'),
    ('function', 'ptl.weekly_pack(date,text)', 'any', 'caller'),
    ('function', 'ptl.why_no_clinic_slot(bigint)', 'any', 'caller'),
    ('function', 'ptl.why_not_booked(bigint)', 'any', 'caller'),
    ('function', 'ptl.wlmds(date)', 'any', 'caller'),
    ('function', 'ptl.yes_no(boolean)', 'any', 'caller');

-- ---------------------------------------------------------------------------
-- Row filters.  A row filter is two tests: the rows a user sees (its
-- organisations' records, and those transferred to or from them), and the
-- rows it may write (its organisations' own: a transfer shows a record, it
-- does not hand it over).  ptl_admin, a superuser and a role mapped to the
-- ICS pass both.  (SELECT f()) makes each test an init plan: once a query.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ptl_internal.row_filter_sql(row_filter text, filter_column text, writing boolean) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    everyone CONSTANT text := '(SELECT ptl.sees_all_organisations())';
    mine CONSTANT text := '((SELECT ptl.my_organisations())::text[])';
    own_pathways CONSTANT text := format('(SELECT p.pathway_id FROM ptl.pathway p WHERE p.provider_org = ANY %s)', mine);
    own_patients CONSTANT text := format('(SELECT p.patient_id FROM ptl.patient p WHERE p.org_code = ANY %s)', mine);
    pathways text := CASE WHEN writing THEN own_pathways ELSE '(SELECT p.pathway_id FROM ptl.pathway p)' END;
    patients text := CASE WHEN writing THEN own_patients ELSE '(SELECT p.patient_id FROM ptl.patient p)' END;
    test text;
BEGIN
    -- A role's own mappings (ptl.my_organisations reads them, so this test
    -- cannot call it); administrators change them.
    IF row_filter = 'own_role' THEN
        RETURN CASE WHEN writing THEN 'ptl_internal.current_user_in(''ptl_admin'')'
                    ELSE 'ptl_internal.current_user_in(''ptl_admin'') OR coalesce(pg_catalog.pg_has_role(current_user, '
                         || 'pg_catalog.to_regrole(role_name), ''MEMBER''), false)' END;
    END IF;
    test := CASE row_filter
        WHEN 'organisation' THEN format('%I = ANY %s', filter_column, mine)
        WHEN 'site' THEN format('%I IN (SELECT s.site_code FROM ptl.site s WHERE s.org_code = ANY %s)', filter_column, mine)
        WHEN 'clinic' THEN format('%I IN (SELECT c.clinic_code FROM ptl.clinic c)', filter_column)
        WHEN 'theatre' THEN format('%I IN (SELECT t.theatre_code FROM ptl.theatre t JOIN ptl.site s ON s.site_code = t.site_code'
                                   ' WHERE s.org_code = ANY %s)', filter_column, mine)
        WHEN 'campaign' THEN CASE WHEN writing THEN format('%I = ANY %s', filter_column, mine)
                                  ELSE format('%1$I IS NULL OR %1$I = ANY %2$s', filter_column, mine) END
        WHEN 'market' THEN CASE WHEN writing THEN format('%I = ANY %s', filter_column, mine) ELSE 'true' END
        WHEN 'market_offer' THEN CASE WHEN writing
                                      THEN format('offer_id IN (SELECT o.offer_id FROM ptl.mutual_aid_offer o WHERE o.offering_org = ANY %s)', mine)
                                      ELSE 'true' END
        WHEN 'pathway_record' THEN CASE WHEN writing THEN format('provider_org = ANY %s', mine)
                                        ELSE format('provider_org = ANY %s OR pathway_id IN (SELECT t.pathway_id FROM ptl.transferred_pathway_visible t)', mine) END
        WHEN 'patient_record' THEN CASE WHEN writing THEN format('org_code = ANY %s', mine)
                                        ELSE format('org_code = ANY %s OR patient_id IN (SELECT p.patient_id FROM ptl.pathway p)', mine) END
        WHEN 'pathway' THEN 'pathway_id IN ' || pathways
        WHEN 'patient' THEN 'patient_id IN ' || patients
        WHEN 'patient_pair' THEN format('patient_a IN %1$s OR patient_b IN %1$s', patients)
        WHEN 'transfer' THEN format('receiver_pathway_id IN %1$s OR sender_pathway_id IN %1$s', pathways)
        WHEN 'entry' THEN 'entry_id IN (SELECT e.entry_id FROM ptl.waiting_list_entry e WHERE e.pathway_id IN ' || pathways || ')'
        WHEN 'booking' THEN 'booking_id IN (SELECT b.booking_id FROM ptl.theatre_booking b JOIN ptl.waiting_list_entry e'
                            ' ON e.entry_id = b.entry_id WHERE e.pathway_id IN ' || pathways || ')'
        WHEN 'batch' THEN 'batch_id IN (SELECT b.batch_id FROM ptl.batch b)'
        END;
    IF test IS NULL THEN
        RAISE EXCEPTION 'unknown row filter %', coalesce(quote_literal(row_filter), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN everyone || ' OR ' || test;
END
$$;
COMMENT ON FUNCTION ptl_internal.row_filter_sql(text, text, boolean) IS
    'The row-level security test of a row filter of the security model (ptl.access_object.row_filter), for reading or for writing';

-- Makes the catalogue say what the model says: every grant on every object
-- of the two schemas taken back, then the model's granted; row-level
-- security and its policies; how views run.  Run by CREATE EXTENSION and
-- by every upgrade, so an upgrade can never leave an object more open than
-- a fresh install.
CREATE FUNCTION ptl_internal.apply_access_policy() RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    p text;
    read_test text;
    write_test text;
BEGIN
    -- Every table locked first, in one order.  Taking back a table's grants
    -- rewrites its pg_class row, which an autovacuum of the table also
    -- writes when it finishes, waiting for this transaction to end; a
    -- policy dropped later needs the table to itself and would wait for
    -- that autovacuum: a deadlock (40P01).  Waiting for the locks before
    -- writing anything, this transaction has such an autovacuum cancelled
    -- (autovacuum yields to a lock it blocks), and later ones skip the
    -- locked tables.
    FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c
             WHERE c.relnamespace IN ('ptl'::regnamespace, 'ptl_stage'::regnamespace)
               AND c.relkind IN ('r', 'p')
             ORDER BY c.oid
    LOOP
        EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', r.rel);
    END LOOP;
    -- Every grant taken back.
    FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c
             WHERE c.relnamespace IN ('ptl'::regnamespace, 'ptl_stage'::regnamespace)
               AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
             ORDER BY c.oid
    LOOP
        PERFORM ptl_internal.revoke_all_grants(r.rel);
    END LOOP;
    FOR r IN SELECT DISTINCT p.oid, p.oid::regprocedure AS f, x.grantee
             FROM pg_proc p CROSS JOIN LATERAL (SELECT 0::oid AS grantee
                                                UNION
                                                SELECT a.grantee FROM aclexplode(p.proacl) a
                                                WHERE a.grantee <> p.proowner) x
             WHERE p.pronamespace IN ('ptl'::regnamespace, 'ptl_internal'::regnamespace, 'ptl_stage'::regnamespace)
             ORDER BY p.oid, x.grantee
    LOOP
        EXECUTE format('REVOKE ALL ON ROUTINE %s FROM %s', r.f,
                       CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.grantee::regrole::text) END);
    END LOOP;
    FOR r IN SELECT DISTINCT n.nspname, x.grantee
             FROM pg_namespace n CROSS JOIN LATERAL (SELECT 0::oid AS grantee
                                                     UNION
                                                     SELECT a.grantee FROM aclexplode(n.nspacl) a
                                                     WHERE a.grantee <> n.nspowner) x
             WHERE n.nspname IN ('ptl', 'ptl_internal', 'ptl_stage')
             ORDER BY n.nspname, x.grantee
    LOOP
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM %s', r.nspname,
                       CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.grantee::regrole::text) END);
    END LOOP;

    -- The model's grants, in a fixed order (a fresh install and an upgraded
    -- database then hold the same privileges in the same order).
    FOR r IN SELECT o.object_type, o.object_name, c.grantee, c.privileges
             FROM ptl.access_object o JOIN ptl.access_class c ON c.access_class = o.access_class
             ORDER BY o.object_type, o.object_name, c.grantee
    LOOP
        FOREACH p IN ARRAY r.privileges LOOP
            IF p = 'SELECT_UNWITHHELD' THEN
                EXECUTE format('GRANT SELECT (%s) ON TABLE %s TO %s',
                               (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
                                FROM pg_attribute a
                                WHERE a.attrelid = r.object_name::regclass AND a.attnum > 0 AND NOT a.attisdropped
                                  AND NOT EXISTS (SELECT 1 FROM ptl.access_withheld_column w
                                                  WHERE w.table_name = r.object_name AND w.column_name = a.attname)),
                               r.object_name, r.grantee);
            ELSE
                EXECUTE format('GRANT %s ON %s %s TO %s', p,
                               CASE r.object_type WHEN 'function' THEN 'ROUTINE' WHEN 'view' THEN 'TABLE'
                                                  ELSE upper(r.object_type) END,
                               CASE WHEN r.object_type = 'schema' THEN quote_ident(r.object_name) ELSE r.object_name END,
                               r.grantee);
            END IF;
        END LOOP;
    END LOOP;

    -- Row-level security: three policies on each filtered table, none on the others.
    FOR r IN SELECT o.object_name, o.row_filter, o.filter_column, pol.polname
             FROM ptl.access_object o
             LEFT JOIN pg_policy pol ON pol.polrelid = o.object_name::regclass
             WHERE o.object_type = 'table'
             ORDER BY o.object_name, pol.polname
    LOOP
        IF r.polname IS NOT NULL THEN
            EXECUTE format('DROP POLICY %I ON %s', r.polname, r.object_name);
        END IF;
    END LOOP;
    -- (The model's own tables have none: a table being read cannot be altered.)
    FOR r IN SELECT o.object_name, o.row_filter, o.filter_column, c.relrowsecurity
             FROM ptl.access_object o JOIN pg_class c ON c.oid = o.object_name::regclass
             WHERE o.object_type = 'table' ORDER BY o.object_name
    LOOP
        IF r.row_filter IS NULL THEN
            IF r.relrowsecurity THEN
                EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', r.object_name);
            END IF;
        ELSE
            read_test := ptl_internal.row_filter_sql(r.row_filter, r.filter_column, false);
            write_test := ptl_internal.row_filter_sql(r.row_filter, r.filter_column, true);
            IF NOT r.relrowsecurity THEN
                EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', r.object_name);
            END IF;
            EXECUTE format('CREATE POLICY visible_rows ON %s FOR SELECT USING (%s)', r.object_name, read_test);
            EXECUTE format('CREATE POLICY own_rows ON %s FOR ALL USING (%s) WITH CHECK (%s)',
                           r.object_name, write_test, write_test);
            -- Administrators pass both tests anyway; saying so outright lets
            -- the planner drop them from an administrator's queries (the
            -- daily refresh), which it cannot do for a test it must run.
            EXECUTE format('CREATE POLICY all_rows_for_admin ON %s FOR ALL TO ptl_admin USING (true) WITH CHECK (true)',
                           r.object_name);
        END IF;
    END LOOP;

    -- Views run with the caller's rights, or are security barriers.
    FOR r IN SELECT o.object_name, o.runs_as FROM ptl.access_object o WHERE o.object_type = 'view' ORDER BY 1 LOOP
        IF r.runs_as = 'caller' THEN
            EXECUTE format('ALTER VIEW %s RESET (security_barrier)', r.object_name);
            EXECUTE format('ALTER VIEW %s SET (security_invoker = true)', r.object_name);
        ELSE
            EXECUTE format('ALTER VIEW %s RESET (security_invoker)', r.object_name);
            EXECUTE format('ALTER VIEW %s SET (security_barrier = true)', r.object_name);
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION ptl_internal.apply_access_policy() IS
    'Makes every privilege, row-level security policy and view setting of ptl and ptl_stage what the security model (ptl.access_object) declares, and nothing more; run by CREATE EXTENSION and every upgrade';

-- Everything about the catalogue that is not what the model declares.
-- Empty when ptl's objects are exactly as declared.  The rules hold for
-- every object, declared or not, so a new object that nobody declared, a
-- grant made by hand, a partition opened by default privileges or an
-- upgrade that re-granted shows here.
CREATE FUNCTION ptl.access_policy_violations()
RETURNS TABLE (object_type text, object_name text, problem text)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
WITH catalogue AS (
    -- Every object of the two schemas; partitions and identity sequences
    -- belong to their table (granted nothing, whatever its class).
    SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'S' THEN 'sequence' ELSE 'table' END AS object_type,
           c.oid::regclass::text AS object_name, c.oid AS relid, NULL::oid AS procid,
           c.relispartition
           OR (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d
                                           WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                             AND d.deptype = 'i')) AS belongs_to_table,
           c.relowner AS owner, coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner)) AS acl
    FROM pg_class c
    WHERE c.relnamespace IN ('ptl'::regnamespace, 'ptl_stage'::regnamespace) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    UNION ALL
    SELECT 'function', p.oid::regprocedure::text, NULL, p.oid, false, p.proowner,
           coalesce(p.proacl, acldefault('f', p.proowner))
    FROM pg_proc p WHERE p.pronamespace IN ('ptl'::regnamespace, 'ptl_internal'::regnamespace, 'ptl_stage'::regnamespace)
    UNION ALL
    SELECT 'schema', n.nspname::text, NULL, NULL, false, n.nspowner, coalesce(n.nspacl, acldefault('n', n.nspowner))
    FROM pg_namespace n WHERE n.nspname IN ('ptl', 'ptl_internal', 'ptl_stage')
),
declared AS (
    SELECT o.*, c.grantee, c.privileges
    FROM ptl.access_object o LEFT JOIN ptl.access_class c ON c.access_class = o.access_class
),
-- Grants as (object, grantee, privilege, column); column '' for the whole object.
actual AS (
    SELECT k.object_type, k.object_name, CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE x.grantee::regrole::text END AS grantee,
           x.privilege_type AS privilege, '' AS column_name
    FROM catalogue k CROSS JOIN LATERAL aclexplode(k.acl) x
    WHERE x.grantee <> k.owner
    UNION ALL
    SELECT k.object_type, k.object_name, CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE x.grantee::regrole::text END,
           x.privilege_type, a.attname::text
    FROM catalogue k JOIN pg_attribute a ON a.attrelid = k.relid AND a.attnum > 0 AND NOT a.attisdropped
    CROSS JOIN LATERAL aclexplode(a.attacl) x
    WHERE x.grantee <> k.owner
),
expected AS (
    SELECT d.object_type, d.object_name, d.grantee, p AS privilege, '' AS column_name
    FROM declared d CROSS JOIN LATERAL unnest(d.privileges) p
    WHERE p <> 'SELECT_UNWITHHELD'
    UNION ALL
    SELECT d.object_type, d.object_name, d.grantee, 'SELECT', a.attname::text
    FROM declared d CROSS JOIN LATERAL unnest(d.privileges) p
    JOIN pg_attribute a ON a.attrelid = to_regclass(d.object_name) AND a.attnum > 0 AND NOT a.attisdropped
    WHERE p = 'SELECT_UNWITHHELD'
      AND NOT EXISTS (SELECT 1 FROM ptl.access_withheld_column w
                      WHERE w.table_name = d.object_name AND w.column_name = a.attname)
),
model AS (SELECT DISTINCT o.object_type, o.object_name, o.access_class, o.runs_as, o.row_filter FROM ptl.access_object o)
-- Objects nobody declared, and declarations of nothing.
SELECT k.object_type, k.object_name, 'no access policy is declared for it in ptl.access_object'
FROM catalogue k
WHERE NOT k.belongs_to_table
  AND NOT EXISTS (SELECT 1 FROM model m WHERE m.object_type = k.object_type AND m.object_name = k.object_name)
UNION ALL
SELECT m.object_type, m.object_name, 'is declared in ptl.access_object but does not exist'
FROM model m
WHERE NOT EXISTS (SELECT 1 FROM catalogue k WHERE k.object_type = m.object_type AND k.object_name = m.object_name)
UNION ALL
SELECT m.object_type, m.object_name, format('access class %s is not in ptl.access_class', m.access_class)
FROM model m WHERE NOT EXISTS (SELECT 1 FROM ptl.access_class c WHERE c.access_class = m.access_class)
-- Grants the model does not make, and grants it makes that are missing.
UNION ALL
SELECT g.object_type, g.object_name,
       format('%s holds %s%s, which the security model does not grant', g.grantee, g.privilege,
              CASE WHEN g.column_name <> '' THEN format(' on column %s', g.column_name) ELSE '' END)
FROM (SELECT * FROM actual EXCEPT SELECT * FROM expected) g
UNION ALL
SELECT g.object_type, g.object_name,
       format('%s lacks %s%s, which the security model grants', g.grantee, g.privilege,
              CASE WHEN g.column_name <> '' THEN format(' on column %s', g.column_name) ELSE '' END)
FROM (SELECT * FROM expected EXCEPT SELECT * FROM actual) g
WHERE EXISTS (SELECT 1 FROM catalogue k WHERE k.object_type = g.object_type AND k.object_name = g.object_name)
-- Row-level security and its policies.
UNION ALL
SELECT 'table', m.object_name,
       CASE WHEN m.row_filter IS NULL THEN 'has row-level security, but the model declares no row filter'
            ELSE format('has no row-level security, but the model declares the %s row filter', m.row_filter) END
FROM model m JOIN pg_class c ON c.oid = to_regclass(m.object_name)
WHERE m.object_type = 'table' AND c.relrowsecurity <> (m.row_filter IS NOT NULL)
UNION ALL
SELECT 'table', m.object_name,
       format('has policies %s; the model makes %s', coalesce(string_agg(pol.polname, ', ' ORDER BY pol.polname), 'none'),
              CASE WHEN m.row_filter IS NULL THEN 'none' ELSE 'all_rows_for_admin, own_rows, visible_rows' END)
FROM model m JOIN pg_class c ON c.oid = to_regclass(m.object_name)
LEFT JOIN pg_policy pol ON pol.polrelid = c.oid
WHERE m.object_type = 'table'
GROUP BY m.object_name, m.row_filter
HAVING coalesce(string_agg(pol.polname || ':' || pol.polcmd::text || ':' || pol.polroles::regrole[]::text, ','
                           ORDER BY pol.polname), '')
       <> CASE WHEN m.row_filter IS NULL THEN ''
               ELSE 'all_rows_for_admin:*:{ptl_admin},own_rows:*:{-},visible_rows:r:{-}' END
UNION ALL
SELECT 'table', c.oid::regclass::text, 'has row-level security policies, but it is a partition (read through its table)'
FROM pg_class c
WHERE c.relnamespace IN ('ptl'::regnamespace, 'ptl_stage'::regnamespace) AND c.relispartition
  AND EXISTS (SELECT 1 FROM pg_policy pol WHERE pol.polrelid = c.oid)
-- How views run.
UNION ALL
SELECT 'view', m.object_name,
       CASE WHEN m.runs_as = 'caller' THEN 'must run with the caller''s rights (security_invoker = true)'
            ELSE 'runs with its owner''s rights, so it must be a security barrier (security_barrier = true)' END
FROM model m JOIN pg_class c ON c.oid = to_regclass(m.object_name)
WHERE m.object_type = 'view'
  AND CASE WHEN m.runs_as = 'caller' THEN NOT coalesce('security_invoker=true' = ANY (c.reloptions), false)
           ELSE NOT coalesce('security_barrier=true' = ANY (c.reloptions), false)
                OR coalesce('security_invoker=true' = ANY (c.reloptions), false) END
-- Whose rights functions run with, and the search path of those that run
-- with their owner's: pg_catalog first, pg_temp last, nothing between that
-- a role but the owner may create objects in.
UNION ALL
SELECT 'function', m.object_name,
       CASE WHEN p.prosecdef THEN 'is SECURITY DEFINER, but the model says it runs with the caller''s rights'
            ELSE 'is SECURITY INVOKER, but the model says it runs with its owner''s rights' END
FROM model m JOIN pg_proc p ON p.oid = to_regprocedure(m.object_name)
WHERE m.object_type = 'function' AND p.prosecdef <> (m.runs_as = 'owner')
UNION ALL
SELECT 'function', p.oid::regprocedure::text,
       'is SECURITY DEFINER without a search_path that starts at pg_catalog, ends at pg_temp and holds only schemas no other role may create in'
FROM pg_proc p
CROSS JOIN LATERAL (SELECT string_to_array(replace(substr(s, 13), ' ', ''), ',') AS path
                    FROM unnest(coalesce(p.proconfig, '{}')) s WHERE s LIKE 'search_path=%') sp
WHERE p.pronamespace IN ('ptl'::regnamespace, 'ptl_internal'::regnamespace, 'ptl_stage'::regnamespace) AND p.prosecdef
  AND (sp.path[1] <> 'pg_catalog' OR sp.path[cardinality(sp.path)] <> 'pg_temp'
       OR EXISTS (SELECT 1 FROM unnest(sp.path) s JOIN pg_namespace n ON n.nspname = s
                  CROSS JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) x
                  WHERE x.privilege_type = 'CREATE' AND x.grantee <> n.nspowner))
UNION ALL
SELECT 'function', p.oid::regprocedure::text,
       'is SECURITY DEFINER without a search_path of its own'
FROM pg_proc p
WHERE p.pronamespace IN ('ptl'::regnamespace, 'ptl_internal'::regnamespace, 'ptl_stage'::regnamespace) AND p.prosecdef
  AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) s WHERE s LIKE 'search_path=%')
-- Rules that hold whatever the declarations say.
UNION ALL
SELECT 'function', k.object_name, 'runs with its owner''s rights and anyone may call it'
FROM catalogue k JOIN pg_proc p ON p.oid = k.procid
WHERE p.prosecdef AND EXISTS (SELECT 1 FROM actual a WHERE a.object_type = 'function' AND a.object_name = k.object_name
                                                       AND a.grantee = 'PUBLIC')
UNION ALL
SELECT DISTINCT 'table', k.object_name,
       'holds patients'' records and a plain reader may read it, but it has no row filter'
FROM catalogue k JOIN pg_class c ON c.oid = k.relid
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE k.object_type = 'table' AND NOT c.relispartition AND NOT c.relrowsecurity
  AND a.attname IN ('patient_id', 'pathway_id', 'entry_id', 'booking_id', 'batch_id', 'patient_a',
                    'receiver_pathway_id')
  AND has_table_privilege('ptl_reader', c.oid, 'SELECT')
UNION ALL
-- A view a plain reader may read must read no column kept back from it,
-- directly or through another view (it would fail, or show the column).
SELECT 'view', v.view::regclass::text,
       format('a plain reader may read it, but it reads %s, which is kept back from readers', v.withheld)
FROM (WITH RECURSIVE reads(view, relid, attnum) AS (
          SELECT r.ev_class, d.refobjid, d.refobjsubid
          FROM pg_rewrite r JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                                             AND d.refclassid = 'pg_class'::regclass
          JOIN pg_class v ON v.oid = r.ev_class AND v.relkind = 'v'
          WHERE v.relnamespace = 'ptl'::regnamespace AND d.refobjid <> r.ev_class
            AND NOT coalesce('security_barrier=true' = ANY (v.reloptions), false)
          UNION
          -- through the views it reads, but not into a security barrier's
          -- own reads (it shows only what it shows: ptl.ptl blanks identifiers)
          SELECT reads.view, d.refobjid, d.refobjsubid
          FROM reads JOIN pg_class rv ON rv.oid = reads.relid AND rv.relkind = 'v'
                                     AND NOT coalesce('security_barrier=true' = ANY (rv.reloptions), false)
          JOIN pg_rewrite r ON r.ev_class = reads.relid
          JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                          AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class)
      SELECT DISTINCT reads.view, w.table_name || '.' || w.column_name AS withheld
      FROM reads JOIN pg_attribute a ON a.attrelid = reads.relid AND a.attnum = reads.attnum
      JOIN ptl.access_withheld_column w ON w.table_name = reads.relid::regclass::text AND w.column_name = a.attname) v
WHERE has_table_privilege('ptl_reader', v.view, 'SELECT')
$$;
COMMENT ON FUNCTION ptl.access_policy_violations() IS
    'Every way the catalogue differs from the security model (privileges, row-level security, views'' and functions'' rights, search paths) and every object of ptl or ptl_stage the model does not declare; empty when all is as declared';

SELECT ptl_internal.apply_access_policy();
