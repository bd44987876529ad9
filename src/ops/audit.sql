-- ---------------------------------------------------------------------------
-- ops, part 4: the audit trail.  Every change to a clinical priority, a
-- pathway's status (its events' RTT status, kind and date; a waiting-list
-- entry's removal), a validation outcome, a mutual aid state, a patient's
-- identifiers or a pathway's patient and provider is written to
-- ptl.audit_log: who, when, from where, the row, the column, old and new.
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
    new_value       text,
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT audit_log_changed_at_in_range CHECK (ptl.in_storage_range(changed_at))
);
CREATE INDEX audit_log_row_idx ON ptl.audit_log (table_name, row_key);
CREATE INDEX audit_log_changed_at_idx ON ptl.audit_log (changed_at);
SELECT pg_catalog.pg_extension_config_dump('ptl.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.audit_log_audit_id_seq', '');
COMMENT ON TABLE ptl.audit_log IS
    'Who changed a clinical priority, a pathway''s status, a validation outcome or a mutual aid state, when, and from what to what (append only)';
COMMENT ON COLUMN ptl.audit_log.audit_id IS 'Entry number';
COMMENT ON COLUMN ptl.audit_log.changed_at IS 'When (the statement''s clock, not the transaction''s start)';
COMMENT ON COLUMN ptl.audit_log.changed_by IS 'Database role that made the change (current_user; the login, for changes made through ptl''s loading functions)';
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

-- Whoever writes an entry, it says who and when truly: a role that may
-- change audited rows may insert entries (the triggers run with its rights),
-- but not backdate them, sign them for someone else, or change or delete
-- them (no UPDATE or DELETE is granted).
CREATE FUNCTION ptl_internal.audit_log_stamp() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF ptl_internal.restoring() THEN
        RETURN NEW;
    END IF;
    NEW.changed_at := clock_timestamp();
    -- ptl's own SECURITY DEFINER functions (the loads) act as the
    -- extension's owner: the change is the session's login's.
    NEW.changed_by := CASE WHEN current_user = (SELECT e.extowner::regrole::name FROM pg_extension e
                                                WHERE e.extname = 'ptl')
                           THEN session_user ELSE current_user END;
    NEW.session_user_name := session_user;
    NEW.application_name := current_setting('application_name', true);
    NEW.client_addr := inet_client_addr();
    NEW.transaction_id := pg_current_xact_id();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ptl_internal.audit_log_stamp() IS 'Trigger: stamps an audit entry with the real user, time and transaction';
CREATE TRIGGER audit_log_stamp BEFORE INSERT ON ptl.audit_log
    FOR EACH ROW EXECUTE FUNCTION ptl_internal.audit_log_stamp();

-- Trigger: TG_ARGV[0] lists the key columns, the rest the audited columns.
CREATE FUNCTION ptl_internal.audit_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
    key jsonb;
    col text;
BEGIN
    IF TG_OP = 'INSERT' AND ptl_internal.restoring() THEN
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
COMMENT ON FUNCTION ptl_internal.audit_change() IS
    'Trigger: writes a ptl.audit_log entry for each audited column a row change altered (arguments: key columns, then audited columns)';

-- What is audited.  Events and entries arrive by the hundred thousand in
-- loads, so their inserts are not (the batch records them); their changes
-- and deletions are.
CREATE TRIGGER audit_priority AFTER INSERT OR UPDATE OR DELETE ON ptl.clinical_priority_history
    FOR EACH ROW EXECUTE FUNCTION ptl_internal.audit_change('history_id', 'entry_id', 'priority', 'valid_from', 'reviewed_by', 'reason');
CREATE TRIGGER audit_entry AFTER UPDATE OR DELETE ON ptl.waiting_list_entry
    FOR EACH ROW EXECUTE FUNCTION ptl_internal.audit_change('entry_id', 'clinical_priority', 'removed_date', 'removal_reason', 'tci_date');
CREATE TRIGGER audit_event AFTER UPDATE OR DELETE ON ptl.pathway_event
    FOR EACH ROW EXECUTE FUNCTION ptl_internal.audit_change('event_id', 'pathway_id', 'kind', 'rtt_status', 'event_date', 'ref_date');
CREATE TRIGGER audit_validation AFTER INSERT OR UPDATE OR DELETE ON ptl.pathway_validation
    FOR EACH ROW EXECUTE FUNCTION ptl_internal.audit_change('validation_id', 'pathway_id', 'validated_on', 'validated_by', 'outcome');
CREATE TRIGGER audit_validation_contact AFTER INSERT OR UPDATE OR DELETE ON ptl.validation_contact
    FOR EACH ROW EXECUTE FUNCTION ptl_internal.audit_change('contact_id', 'pathway_id', 'answer', 'applied_at', 'rtt_status_applied');
CREATE TRIGGER audit_request_state AFTER INSERT OR UPDATE OR DELETE ON ptl.mutual_aid_request
    FOR EACH ROW EXECUTE FUNCTION ptl_internal.audit_change('request_id', 'state');
CREATE TRIGGER audit_offer_state AFTER INSERT OR UPDATE OR DELETE ON ptl.mutual_aid_offer
    FOR EACH ROW EXECUTE FUNCTION ptl_internal.audit_change('offer_id', 'state');
CREATE TRIGGER audit_link_decision AFTER INSERT OR UPDATE OR DELETE ON ptl.link_decision
    FOR EACH ROW EXECUTE FUNCTION ptl_internal.audit_change('patient_a,patient_b', 'decision', 'decided_by');
-- Who a record is: a load or an administrator changing a patient's
-- identifiers, or moving a pathway to another patient or provider.
CREATE TRIGGER audit_patient AFTER UPDATE OR DELETE ON ptl.patient
    FOR EACH ROW EXECUTE FUNCTION ptl_internal.audit_change('patient_id', 'org_code', 'local_patient_id', 'nhs_number',
                                                   'nhs_number_as_recorded', 'given_name', 'family_name',
                                                   'date_of_birth', 'date_of_death', 'postcode', 'address_line_1',
                                                   'town', 'telephone', 'email', 'sex', 'commissioner_code');
CREATE TRIGGER audit_pathway AFTER UPDATE OR DELETE ON ptl.pathway
    FOR EACH ROW EXECUTE FUNCTION ptl_internal.audit_change('pathway_id', 'patient_id', 'provider_org', 'ppid_issuer', 'ppid',
                                                   'treatment_function', 'referral_received');

-- Dropping the extension would delete the audit log and every patient's
-- data without a word: refused while they hold rows, unless the DBA sets
-- ptl.allow_drop_with_data for that transaction (docs/operations.md,
-- "Uninstalling").
CREATE FUNCTION ptl_internal.guard_drop() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'ptl_guard_drop' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ptl_internal.guard_drop() IS
    'Event trigger: refuses DROP EXTENSION ptl (and DROP SCHEMA ptl CASCADE) while ptl holds patient data or audit entries, unless ptl.allow_drop_with_data is on';
CREATE EVENT TRIGGER ptl_guard_drop ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA')
    EXECUTE FUNCTION ptl_internal.guard_drop();
COMMENT ON EVENT TRIGGER ptl_guard_drop IS
    'Keeps DROP EXTENSION ptl from deleting patient data and the audit log by accident (ptl_internal.guard_drop)';
