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

-- The loading functions run with their owner's rights (SECURITY DEFINER):
-- a loader has no privilege on the canonical tables or the load accounting,
-- so it can change them only through these, each of which first checks
-- that the session's login may load the batch's organisation
-- (ptl_internal.assert_may_load).
CREATE FUNCTION ptl.open_batch(org_code text, source_system text,
                               site_code text DEFAULT NULL, label text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    new_batch bigint;
BEGIN
    PERFORM ptl_internal.assert_may_load(open_batch.org_code);
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
    INSERT INTO ptl.batch (org_code, site_code, source_system, label, opened_by)
    VALUES (open_batch.org_code, open_batch.site_code, open_batch.source_system, open_batch.label, session_user)
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
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
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
    PERFORM ptl_internal.assert_may_load(b.org_code);
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

-- Staged rows must belong to an open batch of an organisation the session
-- may load (loaders may only insert into staging: COPY needs a table without
-- row-level security, so this trigger is the check).  The share lock on the
-- batch row makes a load (which locks it for update) wait for the staging
-- transaction to commit, so rows staged while a load or refresh runs are
-- either loaded with the batch or refused with this message: never left
-- behind unloaded.  Runs with its owner's rights: a loader may read, not
-- lock, batches.
CREATE FUNCTION ptl_internal.stage_batch_is_open() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    b record;
BEGIN
    FOR b IN
        SELECT s.batch_id, (SELECT x.status FROM ptl.batch x WHERE x.batch_id = s.batch_id FOR SHARE) AS status,
               (SELECT x.org_code FROM ptl.batch x WHERE x.batch_id = s.batch_id) AS org_code
        FROM (SELECT DISTINCT n.batch_id FROM new_rows n) s
        ORDER BY s.batch_id
    LOOP
        IF b.org_code IS NOT NULL THEN
            PERFORM ptl_internal.assert_may_load(b.org_code);
        END IF;
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
COMMENT ON FUNCTION ptl_internal.stage_batch_is_open() IS
    'Trigger on the staging tables: refuses rows for a batch that is not open (ready or loaded) or whose organisation the session may not load';

-- The extract a caller names must be one of ptl.feed.
CREATE FUNCTION ptl_internal.assert_extract(extract_name text) RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF extract_name IS NULL OR NOT EXISTS (SELECT 1 FROM ptl.feed e WHERE e.extract = extract_name) THEN
        RAISE EXCEPTION 'there is no extract called %', coalesce(quote_literal(extract_name), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('The extracts are %s (ptl.feed).',
                                (SELECT string_agg(e.extract, ', ' ORDER BY e.load_order) FROM ptl.feed e));
    END IF;
END
$$;
COMMENT ON FUNCTION ptl_internal.assert_extract(text) IS
    'Internal to the loading functions: raises invalid_parameter_value, listing the extracts, unless the name is one of ptl.feed';

-- Whether a batch has rows staged in an extract.
CREATE FUNCTION ptl_internal.load_has_staged(batch bigint, extract_name text) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found boolean;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM ptl_stage.%I s WHERE s.batch_id = $1)', extract_name)
        INTO found USING batch;
    RETURN found;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_has_staged(bigint, text) IS
    'Internal to ptl.load(): whether a batch has rows staged in an extract';

-- A registered extract's staging table gets the batch check (the trigger
-- above) and its columns are described by the extract specification.
-- Called once per extract when ptl is installed or updated.
CREATE FUNCTION ptl_internal.prepare_staging_table(extract_name text) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    c record;
BEGIN
    PERFORM ptl_internal.assert_extract(extract_name);
    EXECUTE format('DROP TRIGGER IF EXISTS stage_batch_is_open ON ptl_stage.%I', extract_name);
    EXECUTE format('CREATE TRIGGER stage_batch_is_open AFTER INSERT ON ptl_stage.%I
                    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ptl_internal.stage_batch_is_open()',
                   extract_name);
    FOR c IN SELECT x.column_name, x.description FROM ptl.extract_column x WHERE x.extract = extract_name LOOP
        EXECUTE format('COMMENT ON COLUMN ptl_stage.%I.%I IS %L', extract_name, c.column_name,
                       c.description || ' (as delivered, text; see ptl.extract_column)');
    END LOOP;
    EXECUTE format('COMMENT ON COLUMN ptl_stage.%I.batch_id IS %L', extract_name,
                   'Batch the row belongs to (defaults to the one ptl.open_batch() opened in this session)');
    EXECUTE format('COMMENT ON COLUMN ptl_stage.%I.row_no IS %L', extract_name,
                   'Arrival order of the row (its position in the extract follows from it)');
    EXECUTE format('COMMENT ON COLUMN ptl_stage.%I.source_row IS %L', extract_name,
                   'Data record number in the delivered file (ptl.stage_extract); NULL when COPYed, and the position follows from row_no');
END
$$;
COMMENT ON FUNCTION ptl_internal.prepare_staging_table(text) IS
    'Internal, at install: puts the batch check on an extract''s staging table and describes its columns from ptl.extract_column';

-- A loader may insert into staging but not read or delete there (another
-- organisation's rows are there too); these two read and clear the rows of
-- a batch it may load.
CREATE FUNCTION ptl.staged_rows(batch bigint DEFAULT ptl.current_batch())
RETURNS TABLE ("extract" text, rows_staged bigint)
LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    org text := (SELECT b.org_code FROM ptl.batch b WHERE b.batch_id = staged_rows.batch);
BEGIN
    IF org IS NULL THEN
        RAISE EXCEPTION 'batch % does not exist', coalesce(batch::text, 'NULL')
            USING ERRCODE = 'no_data_found', HINT = 'Open a batch with ptl.open_batch().';
    END IF;
    PERFORM ptl_internal.assert_may_load(org);
    FOR "extract" IN SELECT e.extract FROM ptl.feed e ORDER BY e.load_order LOOP
        EXECUTE format('SELECT count(*) FROM ptl_stage.%I s WHERE s.batch_id = $1', staged_rows."extract")
            INTO rows_staged USING batch;
        IF rows_staged > 0 THEN
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION ptl.staged_rows(bigint) IS
    'Rows staged in a batch so far, per extract that has any, in load order (for a loader of the batch''s organisation)';

CREATE FUNCTION ptl.unstage(batch bigint, extract_name text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b ptl.batch;
    e text;
    n bigint;
    removed bigint := 0;
BEGIN
    SELECT * INTO b FROM ptl.batch x WHERE x.batch_id = unstage.batch FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'batch % does not exist', coalesce(batch::text, 'NULL')
            USING ERRCODE = 'no_data_found', HINT = 'Open a batch with ptl.open_batch().';
    END IF;
    PERFORM ptl_internal.assert_may_load(b.org_code);
    IF b.status <> 'open' THEN
        RAISE EXCEPTION 'cannot unstage rows of batch %: it is %', b.batch_id, b.status
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Only an open batch''s rows can be taken back.';
    END IF;
    IF extract_name IS NOT NULL THEN
        PERFORM ptl_internal.assert_extract(extract_name);
    END IF;
    FOR e IN SELECT x.extract FROM ptl.feed x ORDER BY x.load_order LOOP
        CONTINUE WHEN extract_name IS NOT NULL AND e <> extract_name;
        EXECUTE format('DELETE FROM ptl_stage.%I s WHERE s.batch_id = $1', e) USING b.batch_id;
        GET DIAGNOSTICS n = ROW_COUNT;
        removed := removed + n;
    END LOOP;
    RETURN removed;
END
$$;
COMMENT ON FUNCTION ptl.unstage(bigint, text) IS
    'Takes back the rows staged in an open batch (one extract, or all), for a loader of the batch''s organisation; returns how many';

-- ---------------------------------------------------------------------------
-- The extract specification: what each staged column must hold.  It is the
-- document a site's data team reads, and the loader's only source of
-- column rules (so the two cannot drift apart).
-- ---------------------------------------------------------------------------
CREATE TABLE ptl.extract_column (
    extract         text NOT NULL REFERENCES ptl.feed (extract),
    column_name     text NOT NULL,
    ordinal         int NOT NULL,
    required        boolean NOT NULL DEFAULT false,
    value_type      regtype,
    allowed         text[],
    pattern         text,
    pattern_meaning text,
    code_table      text CHECK (code_table IN ('site', 'commissioner', 'treatment_function')),
    when_invalid    text NOT NULL DEFAULT 'quarantine' CHECK (when_invalid IN ('quarantine', 'load_without', 'placeholder')),
    description     text NOT NULL,
    listed_by       text CHECK (listed_by ~ '^V[0-9]{2}$'),
    earliest_date   date,
    latest_days_after_opening int,
    identifying     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (extract, column_name),
    UNIQUE (extract, ordinal),
    CHECK (pattern IS NULL OR pattern_meaning IS NOT NULL),
    -- A row that must have the value cannot load without it.
    CONSTRAINT extract_column_required_quarantines CHECK (NOT (required AND when_invalid = 'load_without')),
    -- Only a code looked up in a reference table can stand for a record
    -- the reference data does not hold yet.
    CONSTRAINT extract_column_placeholder_has_code_table CHECK (when_invalid <> 'placeholder' OR code_table IS NOT NULL),
    -- Every date column states its written form and its plausible window,
    -- and the window lies inside the dates the canonical tables can store.
    CONSTRAINT extract_column_date_window CHECK (
        CASE WHEN value_type = 'date'::regtype
             THEN pattern IS NOT NULL AND earliest_date IS NOT NULL AND latest_days_after_opening IS NOT NULL
             ELSE earliest_date IS NULL AND latest_days_after_opening IS NULL END),
    CONSTRAINT extract_column_earliest_date_in_range CHECK (ptl.in_storage_range(earliest_date)),
    CONSTRAINT extract_column_latest_days_after_opening_check CHECK (latest_days_after_opening BETWEEN 0 AND 3650)
);
COMMENT ON TABLE ptl.extract_column IS
    'Specification of every extract column: required or not, its type, code list, pattern or code table, for dates the written form and plausible window, and whether an invalid value quarantines the row or is left out. Text columns (no type, code list or code table) must not start like a spreadsheet formula. ptl.load() checks rows against it.';
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
    'quarantine: an invalid value quarantines the row; load_without: the row loads without the value, which is kept as recorded in ptl.load_warning; placeholder: a well-formed code the reference table does not hold loads as it is, and the loader adds it to the table as a placeholder for the reference data to resolve (a malformed one is left out, or quarantines a required column). Both log a warning';
COMMENT ON COLUMN ptl.extract_column.listed_by IS
    'The validation rule (ptl.validation_rule) that lists open pathways whose record loaded with this column''s fault, for the trust to correct at source';
COMMENT ON COLUMN ptl.extract_column.description IS 'What the column holds, its plausible window and why an invalid value quarantines the row or not';
COMMENT ON COLUMN ptl.extract_column.earliest_date IS
    'Date columns: the earliest plausible date (an earlier one is implausible_date)';
COMMENT ON COLUMN ptl.extract_column.latest_days_after_opening IS
    'Date columns: the latest plausible date, as days after the day the batch was opened (0: not after that day; a later date is implausible_date)';
COMMENT ON COLUMN ptl.extract_column.identifying IS
    'True for a column that identifies the patient (hospital number, NHS number, names, dates of birth and death, address): messages never quote its value, which only ptl_identifiable reads';

INSERT INTO ptl.extract_column
    (extract, column_name, ordinal, required, value_type, allowed, pattern, pattern_meaning, code_table, when_invalid, description,
     earliest_date, latest_days_after_opening)
VALUES
    ('patient', 'local_patient_id', 1, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', 'The source system''s patient identifier (hospital number)', NULL, NULL),
    ('patient', 'nhs_number', 2, false, 'ptl.nhs_number', NULL, NULL, NULL, NULL, 'load_without', 'NHS number, 10 digits, optionally 3-3-4 with spaces or hyphens', NULL, NULL),
    ('patient', 'given_name', 3, false, NULL, NULL, NULL, NULL, NULL, 'load_without', 'Given name. A value that starts like a spreadsheet formula is left out (warning): the patient still loads', NULL, NULL),
    ('patient', 'family_name', 4, false, NULL, NULL, NULL, NULL, NULL, 'load_without', 'Family name. A value that starts like a spreadsheet formula is left out (warning): the patient still loads', NULL, NULL),
    ('patient', 'date_of_birth', 5, false, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'load_without', 'Date of birth, YYYY-MM-DD or DD/MM/YYYY, plausible from 1880-01-01 to the day the batch was opened. An invalid or implausible date is left out (warning): the patient is identified by local_patient_id, and quarantining the row would take all their pathways off the list', '1880-01-01', 0),
    ('patient', 'date_of_death', 6, false, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'load_without', 'Date of death, when known, YYYY-MM-DD or DD/MM/YYYY, plausible from 1880-01-01 to the day the batch was opened and not before the date of birth. An invalid, implausible or inconsistent date is left out (warning): a doubtful death must not take a patient off the list', '1880-01-01', 0),
    ('patient', 'sex', 7, false, NULL, '{1,2,9,X}', NULL, NULL, NULL, 'load_without', 'PERSON STATED GENDER CODE: 1 male, 2 female, 9 indeterminate, X not known. Another value is left out (warning): the patient still loads', NULL, NULL),
    ('patient', 'postcode', 8, false, NULL, NULL, '^[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}$', 'a UK postcode such as LS1 4AP', NULL, 'load_without', 'Postcode of usual address. A value that is not a UK postcode is left out (warning): the patient still loads', NULL, NULL),
    ('patient', 'address_line_1', 9, false, NULL, NULL, NULL, NULL, NULL, 'load_without', 'First line of usual address. A value that starts like a spreadsheet formula is left out (warning): the patient still loads', NULL, NULL),
    ('patient', 'ethnic_category', 10, false, NULL, '{A,B,C,D,E,F,G,H,J,K,L,M,N,P,R,S,Z,99}', NULL, NULL, NULL, 'load_without', 'ETHNIC CATEGORY code (A-S, Z not stated, 99 not known). Another value is left out (warning): the patient still loads', NULL, NULL),
    ('patient', 'lsoa_code', 11, false, NULL, NULL, '^[EW][0-9]{8}$', 'an LSOA code such as E01000001', NULL, 'load_without', 'LSOA of residence. Another value is left out (warning): the patient still loads', NULL, NULL),
    ('patient', 'gp_practice_code', 12, false, NULL, NULL, '^[A-Z0-9]{3,8}$', 'an ODS code of 3 to 8 capitals or digits', NULL, 'load_without', 'Registered GP practice ODS code. Another value is left out (warning): the patient still loads', NULL, NULL),
    ('patient', 'commissioner_code', 13, false, NULL, NULL, '^[A-Z0-9]{3,5}$', 'an ODS commissioner code of 3 to 5 capitals or digits', 'commissioner', 'placeholder', 'Responsible commissioner. A code ptl.commissioner does not hold yet loads as a placeholder there (warning) for the reference data to resolve; a malformed one is left out (warning): the patient still loads', NULL, NULL),
    ('patient', 'town', 14, false, NULL, NULL, NULL, NULL, NULL, 'load_without', 'Town or city of usual address, compared by person linkage (most useful where the extract has no address line). A value that starts like a spreadsheet formula is left out (warning): the patient still loads', NULL, NULL),
    ('patient', 'telephone', 15, false, NULL, NULL, '^[+]?[(]?[0-9][0-9 ()-]{8,19}$', 'a telephone number: digits, spaces, brackets and hyphens, optionally after + or an opening bracket', NULL, 'load_without', 'Telephone number, compared by person linkage (+44 and 0 forms are one number; +44 followed by a space starts like a spreadsheet formula and is left out, so send +441305123456 or 01305 123456). Another value is left out (warning): the patient still loads', NULL, NULL),
    ('patient', 'email', 16, false, NULL, NULL, '^[^@[:space:]]+@[^@[:space:]]+[.][^@[:space:]]+$', 'an email address such as ann@example.org', NULL, 'load_without', 'Email address, compared by person linkage. Another value is left out (warning): the patient still loads', NULL, NULL),

    ('pathway', 'local_patient_id', 1, true, NULL, NULL, NULL, NULL, NULL, 'quarantine', 'The patient, by the same system''s patient identifier', NULL, NULL),
    ('pathway', 'ppid', 2, true, NULL, NULL, '^[!-~]{1,20}$', 'up to 20 printable characters without spaces', NULL, 'quarantine', 'Patient pathway identifier', NULL, NULL),
    ('pathway', 'ppid_issuer', 3, true, NULL, NULL, '^[A-Z0-9]{3,6}$', 'an ODS code of 3 to 6 capitals or digits', NULL, 'quarantine', 'ODS code of the organisation that issued the PPID (X09 for a UBRN)', NULL, NULL),
    ('pathway', 'ubrn', 4, false, NULL, NULL, '^[0-9]{12}$', '12 digits', NULL, 'load_without', 'e-RS unique booking reference number. Another value is left out (warning): the pathway still loads', NULL, NULL),
    ('pathway', 'site_code', 5, false, NULL, NULL, '^[A-Z0-9]{5}$', 'an ODS site code of 5 capitals or digits', 'site', 'placeholder', 'Managing site (default: the batch''s site). A code ptl.site does not hold yet loads as a placeholder site of the batch''s organisation (warning); a malformed one is left out (warning)', NULL, NULL),
    ('pathway', 'treatment_function', 6, true, NULL, NULL, '^[0-9]{3}$', 'a treatment function code of 3 digits', 'treatment_function', 'placeholder', 'Treatment function code, e.g. 110. Required: a pathway is reported under its specialty, so a missing or malformed code quarantines the row; a well-formed code ptl.treatment_function does not hold yet loads as a placeholder there, reported on the return line Other - Other Services (X06) until the reference data resolves it (warning)', NULL, NULL),
    ('pathway', 'referral_priority', 7, false, NULL, '{1,2,3,routine,urgent,two_week_wait}', NULL, NULL, NULL, 'load_without', 'PRIORITY TYPE: 1 routine (the default), 2 urgent, 3 two week wait. Another value is left out (warning): the pathway loads as routine', NULL, NULL),
    ('pathway', 'referral_received', 8, false, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'load_without', 'Date the referral was received, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 (before any RTT pathway) to the day the batch was opened. The clock is computed from the pathway''s events, not from this date, so a missing, invalid or implausible date is left out (warning): the pathway still loads and stays on the list', '1980-01-01', 0),
    ('pathway', 'commissioner_code', 9, false, NULL, NULL, '^[A-Z0-9]{3,5}$', 'an ODS commissioner code of 3 to 5 capitals or digits', 'commissioner', 'placeholder', 'Commissioner of the pathway. A code ptl.commissioner does not hold yet loads as a placeholder there (warning) for the reference data to resolve; a malformed one is left out (warning)', NULL, NULL),
    ('pathway', 'consultant_code', 10, false, NULL, NULL, NULL, NULL, NULL, 'load_without', 'Responsible consultant. A value that starts like a spreadsheet formula is left out (warning): the pathway still loads', NULL, NULL),
    ('pathway', 'triage_priority', 11, false, NULL, '{1,2,3,routine,urgent,two_week_wait}', NULL, NULL, NULL, 'load_without', 'Priority a clinician gave the referral on triage, coded as referral_priority (1 routine, 2 urgent, 3 two week wait); empty when not triaged. Another value is left out (warning): the pathway loads, ordered by its referral priority', NULL, NULL),

    ('pathway_event', 'ppid_issuer', 1, true, NULL, NULL, '^[A-Z0-9]{3,6}$', 'an ODS code of 3 to 6 capitals or digits', NULL, 'quarantine', 'Pathway: PPID issuer', NULL, NULL),
    ('pathway_event', 'ppid', 2, true, NULL, NULL, '^[!-~]{1,20}$', 'up to 20 printable characters without spaces', NULL, 'quarantine', 'Pathway: PPID', NULL, NULL),
    ('pathway_event', 'event_ref', 3, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', 'The source system''s identifier of the event', NULL, NULL),
    ('pathway_event', 'event_date', 4, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', 'Date of the event, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to the day the batch was opened (an event has happened; a booking ahead is a tci_offer whose ref_date is ahead). Required: the clock cannot place an undated event, so an invalid or implausible date quarantines the row', '1980-01-01', 0),
    ('pathway_event', 'kind', 5, true, 'ptl.event_kind', NULL, NULL, NULL, NULL, 'quarantine', 'What happened (ptl.event_kind)', NULL, NULL),
    ('pathway_event', 'rtt_status', 6, false, 'ptl.rtt_status', NULL, NULL, NULL, NULL, 'load_without', 'RTT period status at the end of the event. An invalid status is left out (warning): the event loads, and the clock reads it by its kind', NULL, NULL),
    ('pathway_event', 'ref_date', 7, false, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'load_without', 'Second date: original clock start (transfer_in), admission date offered (tci_offer), date declined (tci_declined); YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to 730 days after the day the batch was opened (an offered admission may lie ahead, but not beyond the longest wait any RTT standard allows, 104 weeks). A transfer_in without a usable original start loads with an unknown clock start (warning), reported in the return''s unknown clock start column; an offer or a decline without its date is not an offer, so that row is quarantined', '1980-01-01', 730),
    ('pathway_event', 'site_code', 8, false, NULL, NULL, '^[A-Z0-9]{5}$', 'an ODS site code of 5 capitals or digits', 'site', 'placeholder', 'Site of the event. A code ptl.site does not hold yet loads as a placeholder (warning); a malformed one is left out (warning)', NULL, NULL),
    ('pathway_event', 'treatment_function', 9, false, NULL, NULL, '^[0-9]{3}$', 'a treatment function code of 3 digits', 'treatment_function', 'placeholder', 'Treatment function of the activity. A code ptl.treatment_function does not hold yet loads as a placeholder (warning); a malformed one is left out (warning)', NULL, NULL),
    ('pathway_event', 'event_time', 10, false, NULL, NULL, '^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$', 'a time of day written HH:MM or HH:MM:SS (24-hour)', NULL, 'load_without', 'Time of the event in the source system, when the extract carries one: on a day whose events all have a time, the clock takes them in time order (docs/rtt-engine.md). An invalid time is left out (warning): the day''s events are then ordered by the RTT precedence', NULL, NULL),

    ('waiting_list_entry', 'ppid_issuer', 1, true, NULL, NULL, '^[A-Z0-9]{3,6}$', 'an ODS code of 3 to 6 capitals or digits', NULL, 'quarantine', 'Pathway: PPID issuer', NULL, NULL),
    ('waiting_list_entry', 'ppid', 2, true, NULL, NULL, '^[!-~]{1,20}$', 'up to 20 printable characters without spaces', NULL, 'quarantine', 'Pathway: PPID', NULL, NULL),
    ('waiting_list_entry', 'entry_ref', 3, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', 'The source system''s identifier of the entry', NULL, NULL),
    ('waiting_list_entry', 'procedure_code', 4, false, NULL, NULL, '^[A-Z][0-9]{2}\.?[0-9]?$', 'an OPCS-4 code such as W37.1', NULL, 'load_without', 'Intended procedure (OPCS-4). Another value is left out (warning): the entry still loads', NULL, NULL),
    ('waiting_list_entry', 'procedure_description', 5, false, NULL, NULL, NULL, NULL, NULL, 'load_without', 'Intended procedure in words. A value that starts like a spreadsheet formula is left out (warning): the entry still loads', NULL, NULL),
    ('waiting_list_entry', 'intended_management', 6, true, NULL, '{1,2,3,4,5}', NULL, NULL, NULL, 'quarantine', 'INTENDED MANAGEMENT: 1 inpatient, 2 day case, 3 regular day, 4 regular night, 5 two or more nights', NULL, NULL),
    ('waiting_list_entry', 'clinical_priority', 7, false, 'ptl.clinical_priority', NULL, NULL, NULL, NULL, 'load_without', 'Surgical priority P1a to P6. An invalid priority is left out (warning): the entry loads unprioritised and is listed for validation', NULL, NULL),
    ('waiting_list_entry', 'decision_to_admit', 8, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', 'Date of the decision to admit, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to the day the batch was opened. Required: an invalid or implausible date quarantines the row', '1980-01-01', 0),
    ('waiting_list_entry', 'expected_duration_minutes', 9, false, 'integer', NULL, NULL, NULL, NULL, 'load_without', 'Expected theatre time in minutes (1 to 1440). Another value is left out (warning): the entry loads and theatre planning uses the procedure''s typical time', NULL, NULL),
    ('waiting_list_entry', 'consultant_code', 10, false, NULL, NULL, NULL, NULL, NULL, 'load_without', 'Consultant who will operate. A value that starts like a spreadsheet formula is left out (warning): the entry still loads', NULL, NULL),
    ('waiting_list_entry', 'tci_date', 11, false, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'load_without', 'Admission date booked (to come in), YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to 730 days after the day the batch was opened (104 weeks, the longest wait any RTT standard allows). An invalid or implausible date is left out (warning): the patient stays on the list, shown as not booked', '1980-01-01', 730),
    ('waiting_list_entry', 'removed_date', 12, false, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', 'Date the entry left the list, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to the day the batch was opened, with removal_reason. An invalid or implausible date quarantines the row: without it the entry could be neither kept on nor taken off the list (a held entry keeps its last loaded state)', '1980-01-01', 0),
    ('waiting_list_entry', 'removal_reason', 13, false, NULL, '{admitted,no_longer_required,died,transferred,other}', NULL, NULL, NULL, 'quarantine', 'Why the entry left the list', NULL, NULL),
    ('waiting_list_entry', 'site_code', 14, false, NULL, NULL, '^[A-Z0-9]{5}$', 'an ODS site code of 5 capitals or digits', 'site', 'placeholder', 'Site where the admission is planned. A code ptl.site does not hold yet loads as a placeholder (warning); a malformed one is left out (warning)', NULL, NULL);
-- Messages about these columns name the column, not the value: plain
-- readers read the messages (docs/security.md).
UPDATE ptl.extract_column SET identifying = true
WHERE column_name IN ('local_patient_id', 'nhs_number', 'given_name', 'family_name', 'date_of_birth', 'date_of_death',
                      'postcode', 'address_line_1', 'town', 'telephone', 'email');
-- Values loaded with a fault are listed for the trust: an NHS number by V02
-- (invalid) and V01 (missing), every other one by V32.
UPDATE ptl.extract_column
SET listed_by = CASE WHEN column_name = 'nhs_number' THEN 'V02' ELSE 'V32' END
WHERE when_invalid <> 'quarantine';
-- Every value loaded with a fault is listed by a validation rule for the
-- trust to correct at source.
ALTER TABLE ptl.extract_column ADD CONSTRAINT extract_column_fault_is_listed
    CHECK ((when_invalid = 'quarantine') = (listed_by IS NULL));

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
                        -- refused by ptl.stage_extract before staging (and, before
                        -- 0.4.0, formula_injection: now a value rule of ptl.load)
                        'unterminated_quote', 'stray_quote', 'nul_byte', 'invalid_encoding',
                        'field_too_long', 'wrong_column_count', 'formula_injection')),
    sqlstate        text NOT NULL CHECK (sqlstate ~ '^[0-9A-Z]{5}$'),
    message         text NOT NULL,
    raw             jsonb NOT NULL,
    rejected_at     timestamptz NOT NULL DEFAULT now(),
    retried_in      bigint REFERENCES ptl.batch (batch_id),
    UNIQUE (batch_id, extract, row_in_extract),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT rejected_row_rejected_at_in_range CHECK (ptl.in_storage_range(rejected_at))
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
    'Reason code: missing_required, invalid_date, invalid_number, invalid_code, implausible_date, inconsistent, out_of_range, duplicate_in_extract, unknown_parent, parent_rejected, formula_injection; and from ptl.stage_extract: unterminated_quote, stray_quote, nul_byte, invalid_encoding, field_too_long, wrong_column_count';
COMMENT ON COLUMN ptl.rejected_row.sqlstate IS 'SQLSTATE of the fault (the one the type''s parser or the constraint would raise)';
COMMENT ON COLUMN ptl.rejected_row.message IS 'What is wrong, in words a data manager can act on';
COMMENT ON COLUMN ptl.rejected_row.raw IS
    'The whole row as delivered: an object of its columns when it was staged; for a record ptl.stage_extract refused, the array of its fields or, when they could not be read, the record as text';
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
    warned_at       timestamptz NOT NULL DEFAULT now(),
    record_key      text[],
    patient_id      bigint,
    pathway_id      bigint,
    resolved_in     bigint REFERENCES ptl.batch (batch_id),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT load_warning_warned_at_in_range CHECK (ptl.in_storage_range(warned_at))
);
CREATE INDEX load_warning_batch_idx ON ptl.load_warning (batch_id, extract, reason);
CREATE INDEX load_warning_open_record_idx ON ptl.load_warning (extract, record_key) WHERE resolved_in IS NULL;
CREATE INDEX load_warning_open_pathway_idx ON ptl.load_warning (pathway_id) WHERE resolved_in IS NULL;
CREATE INDEX load_warning_open_patient_idx ON ptl.load_warning (patient_id) WHERE resolved_in IS NULL;
COMMENT ON TABLE ptl.load_warning IS
    'Values rows loaded without (e.g. an invalid NHS number: the patient loads, the number is kept as recorded here) and codes they loaded with as placeholders; listed for validation (V32) until a later delivery resolves them';
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
COMMENT ON COLUMN ptl.load_warning.record_key IS 'The record''s natural key in its extract (ptl.feed.natural_key), as delivered';
COMMENT ON COLUMN ptl.load_warning.patient_id IS 'The patient the record belongs to, when it belongs to one';
COMMENT ON COLUMN ptl.load_warning.pathway_id IS 'The pathway the record belongs to, when it belongs to one';
COMMENT ON COLUMN ptl.load_warning.resolved_in IS
    'The later batch that delivered the record again without this fault; until then validation rule V32 lists it';

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

-- A spreadsheet opening a cell that starts with = + - @ or a tab or
-- carriage return may run it as a formula (CSV injection, OWASP).  No
-- extract column holds such text, except a signed number.  The cell is
-- judged as it would be stored (ptl.extract_value: spaces trimmed), so
-- ' =HYPERLINK(...)' is a formula too.  The loader applies this to every
-- text column of every staged row, however it was staged
-- (ptl_internal.extract_column_fails); this is the rule's one definition.  The
-- loader calls it for every text value, so, like ptl.extract_value, it is
-- written to be inlined: no SET clause (its body is parsed once, when it is
-- created, so the search path cannot change what it calls), and not STRICT
-- (a missing value is not a formula: false, not NULL).
CREATE FUNCTION ptl.is_formula_cell(cell text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(ptl.extract_value(cell) ~ '^[-=+@\t\r]'
                AND ptl.extract_value(cell) !~ '^[-+]?[0-9]+([.][0-9]*)?$', false);
COMMENT ON FUNCTION ptl.is_formula_cell(text) IS
    'Whether a cell, as it would be stored (surrounding spaces trimmed), would be read as a formula by a spreadsheet: starts with = + - @, tab or CR, and is not a signed number (false for a missing value)';

-- Whether a column's value is stored as the text delivered: no type parses
-- it and no code list or code table confines it.  Such columns are the ones
-- a spreadsheet formula could reach.
CREATE FUNCTION ptl_internal.extract_column_is_text(c ptl.extract_column) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN (c.value_type IS NULL OR c.value_type = 'text'::regtype) AND c.allowed IS NULL AND c.code_table IS NULL;
COMMENT ON FUNCTION ptl_internal.extract_column_is_text(ptl.extract_column) IS
    'Internal to ptl.load(): whether an extract column is stored as the text delivered (no type, code list or code table), so that the spreadsheet-formula rule applies to it';

-- SQL expression that is true when value expression v breaks a column's
-- pattern.  A pattern that is one bracket expression repeated m to n times
-- (^[A-Z0-9]{3,6}$) is tested as the same rule in two parts: only
-- characters of the class, and m to n of them.  PostgreSQL's regular
-- expressions take ten times as long over a bounded repetition ({1,40}) as
-- over an unbounded one, and the loader tests every staged value.
CREATE FUNCTION ptl_internal.pattern_fails_sql(v text, pattern text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN (SELECT CASE WHEN r.m IS NULL THEN format('%s !~ %L', v, pattern)
                    ELSE format('(%1$s !~ %2$L OR length(%1$s) NOT BETWEEN %3$s AND %4$s)',
                                v, '^' || r.m[1] || CASE WHEN r.m[2]::int = 0 THEN '*' ELSE '+' END || '$',
                                r.m[2], coalesce(r.m[3], r.m[2])) END
        FROM (SELECT regexp_match(pattern, '^\^(\[[^][]+\])\{([0-9]+)(?:,([0-9]+))?\}[$]$') AS m) r);
COMMENT ON FUNCTION ptl_internal.pattern_fails_sql(text, text) IS
    'Internal to ptl.load(): SQL test that a value expression breaks a regular expression; a bracket expression repeated m to n times is tested as its class and a length, the same rule';

-- SQL expression (over staged row alias s) that is true when the column's
-- value breaks its rule in ptl.extract_column, for a batch opened on
-- batch_opened (the end of a date column's plausible window is counted from
-- it).
CREATE FUNCTION ptl_internal.extract_column_fails(c ptl.extract_column, batch_opened date DEFAULT CURRENT_DATE)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    v text := format('ptl.extract_value(s.%I)', c.column_name);
    tests text[] := '{}';
    codes text[];
BEGIN
    IF c.value_type = 'date'::regtype THEN
        -- Written in a documented form, a real date, and inside the
        -- column's plausible window.  CASE, so that the cast runs only on a
        -- value that passed the first two.  (NOT (x IS NULL): a problem
        -- with a NULL detail is not IS NOT NULL, as a row.)
        tests := tests || format(
            'CASE WHEN %1$s !~ %2$L OR NOT (ptl.check_input(%1$s, ''date''::regtype) IS NULL) THEN true'
            ' ELSE %1$s::date NOT BETWEEN %3$L::date AND %4$L::date END',
            v, c.pattern, c.earliest_date, batch_opened + c.latest_days_after_opening);
    ELSE
        IF ptl_internal.extract_column_is_text(c) THEN
            tests := tests || format('ptl.is_formula_cell(%s)', v);
        END IF;
        IF c.value_type IS NOT NULL AND c.value_type <> 'text'::regtype THEN
            tests := tests || format('NOT (ptl.check_input(%s, %L::regtype) IS NULL)', v, c.value_type::text);
        END IF;
        IF c.allowed IS NOT NULL THEN
            tests := tests || format('%s <> ALL (%L::text[])', v, c.allowed);
        END IF;
        IF c.pattern IS NOT NULL THEN
            tests := tests || ptl_internal.pattern_fails_sql(v, c.pattern);
        END IF;
        -- A placeholder column's code is looked up by ptl_internal.load_placeholders:
        -- an unknown code is not a fault of the row.
        IF c.code_table IS NOT NULL AND c.when_invalid <> 'placeholder' THEN
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
COMMENT ON FUNCTION ptl_internal.extract_column_fails(ptl.extract_column, date) IS
    'Internal to ptl.load(): SQL test, over staged row s, that a column breaks its rule in ptl.extract_column (for dates, the plausible window of a batch opened on the given day)';

-- A parser's complaint, for a message: its detail, or its message, which
-- quotes the value and so is not used for a column that identifies the
-- patient.
CREATE FUNCTION ptl_internal.input_problem_text(p ptl.input_problem, identifying boolean) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(p.detail, CASE WHEN identifying THEN 'it cannot be read' ELSE p.message END);
COMMENT ON FUNCTION ptl_internal.input_problem_text(ptl.input_problem, boolean) IS
    'Internal to ptl.load(): a parser''s complaint for a message (never quoting a value of a column that identifies the patient)';

-- Why one value breaks its column's rule: reason, SQLSTATE and message.
-- Called only for rows that failed, so it may take its time.  The rules are
-- checked in the order ptl_internal.extract_column_fails states them.
CREATE FUNCTION ptl_internal.extract_value_problem(c ptl.extract_column, raw text, batch_opened date DEFAULT CURRENT_DATE,
                                          OUT reason text, OUT sqlstate text, OUT message text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    v text := ptl.extract_value(raw);
    -- how messages show the value: never, for a column that identifies
    shown text := CASE WHEN c.identifying THEN '' ELSE ' ' || quote_literal(raw) END;
    p ptl.input_problem;
    d date;
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
    IF c.value_type = 'date'::regtype THEN
        IF v !~ c.pattern THEN
            reason := 'invalid_date';
            sqlstate := '22007';
            message := format('%s%s is not %s (no words such as today or infinity, Julian days, BC dates or times)',
                              c.column_name, shown, c.pattern_meaning);
            RETURN;
        END IF;
        p := ptl.check_input(v, 'date'::regtype);
        IF p.sqlstate IS NOT NULL THEN
            reason := 'invalid_date';
            sqlstate := p.sqlstate;
            message := format('%s%s is not a valid date: %s', c.column_name, shown,
                              CASE WHEN c.identifying THEN 'there is no such day' ELSE coalesce(p.detail, p.message) END);
            RETURN;
        END IF;
        d := v::date;
        IF d < c.earliest_date OR d > batch_opened + c.latest_days_after_opening THEN
            reason := 'implausible_date';
            sqlstate := '23514';
            message := format('%s%s is %s (plausible: from %s to %s)',
                              c.column_name, shown,
                              CASE WHEN d < c.earliest_date THEN format('before %s', c.earliest_date)
                                   WHEN c.latest_days_after_opening = 0 THEN 'after the day the batch was opened'
                                   ELSE format('more than %s days after the day the batch was opened',
                                               c.latest_days_after_opening) END,
                              c.earliest_date,
                              CASE WHEN c.latest_days_after_opening = 0 THEN 'the day the batch was opened'
                                   ELSE format('%s days after the day the batch was opened',
                                               c.latest_days_after_opening) END);
        END IF;
        RETURN;
    END IF;
    IF ptl_internal.extract_column_is_text(c) AND ptl.is_formula_cell(v) THEN
        reason := 'formula_injection';
        sqlstate := '22P02';
        message := format('%s%s starts like a spreadsheet formula (= + - @, tab or carriage return), which is never stored',
                          c.column_name, shown);
        RETURN;
    END IF;
    IF c.value_type IS NOT NULL AND c.value_type <> 'text'::regtype THEN
        p := ptl.check_input(v, c.value_type);
        IF p.sqlstate IS NOT NULL THEN
            reason := CASE WHEN c.value_type IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype)
                                THEN 'invalid_number'
                           ELSE 'invalid_code' END;
            sqlstate := p.sqlstate;
            message := format('%s%s is not a valid %s: %s', c.column_name, shown,
                              replace(format_type(c.value_type, NULL), 'ptl.', ''),
                              ptl_internal.input_problem_text(p, c.identifying));
            RETURN;
        END IF;
    END IF;
    IF c.allowed IS NOT NULL AND v <> ALL (c.allowed) THEN
        reason := 'invalid_code';
        sqlstate := '22P02';
        message := format('%s%s is not one of the allowed codes (%s)', c.column_name, shown,
                          array_to_string(c.allowed, ', '));
    ELSIF c.pattern IS NOT NULL AND v !~ c.pattern THEN
        reason := 'invalid_code';
        sqlstate := '22P02';
        message := format('%s%s is not %s', c.column_name, shown, c.pattern_meaning);
    ELSIF c.when_invalid = 'placeholder' THEN
        NULL;  -- an unknown code becomes a placeholder (ptl_internal.load_placeholders)
    ELSIF c.code_table = 'site' AND NOT EXISTS (SELECT 1 FROM ptl.site WHERE site_code = v) THEN
        reason := 'invalid_code';
        sqlstate := '23503';
        message := format('%s%s is not a site in ptl.site', c.column_name, shown);
    ELSIF c.code_table = 'commissioner' AND NOT EXISTS (SELECT 1 FROM ptl.commissioner WHERE commissioner_code = v) THEN
        reason := 'invalid_code';
        sqlstate := '23503';
        message := format('%s%s is not a commissioner in ptl.commissioner', c.column_name, shown);
    ELSIF c.code_table = 'treatment_function' AND NOT EXISTS (SELECT 1 FROM ptl.treatment_function WHERE tfc = v) THEN
        reason := 'invalid_code';
        sqlstate := '23503';
        message := format('%s%s is not a treatment function code in ptl.treatment_function', c.column_name, shown);
    END IF;
END
$$;
COMMENT ON FUNCTION ptl_internal.extract_value_problem(ptl.extract_column, text, date) IS
    'Internal to ptl.load(): the reason code, SQLSTATE and message for a value that breaks its column''s rule, for a batch opened on the given day (all NULL when it does not)';

-- Stage 1 of loading one extract: copy the batch's staged rows into a work
-- table with their position; for rows that break a column rule that
-- quarantines, the first failing column (bad_column); and the columns whose
-- invalid value the row loads without (warn_columns).  Row rules of stage 2
-- may add to warn_columns, with their own reason in warn_notes; placeholder
-- codes are noted in kept_columns (ptl_internal.load_placeholders).  Returns the
-- number of rows read.
CREATE FUNCTION ptl_internal.load_check_columns(batch bigint, extract_name text) RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
-- The work table is analysed for the row rules' joins (row counts, how
-- many rows are still good, distinct keys); a sample of 3,000 rows tells
-- them that as well as the default 30,000 and costs a tenth.
SET default_statistics_target = 10
AS $$
DECLARE
    opened date := (SELECT b.opened_at::date FROM ptl.batch b WHERE b.batch_id = load_check_columns.batch);
    fails text := '';
    warns text[] := '{}';
    c ptl.extract_column;
    test text;
    n bigint;
    by_source_row boolean;
    refused_before bigint;
BEGIN
    FOR c IN SELECT * FROM ptl.extract_column WHERE extract = extract_name ORDER BY ordinal LOOP
        test := ptl_internal.extract_column_fails(c, opened);
        CONTINUE WHEN test IS NULL;
        -- (a required placeholder column: only an unknown code is a
        -- placeholder; a missing or malformed one quarantines the row)
        IF c.when_invalid = 'quarantine' OR c.required THEN
            fails := fails || format(' WHEN %s THEN %L', test, c.column_name);
        ELSE
            -- Every column to leave out, not only the first.
            warns := warns || format('CASE WHEN %s THEN %L END', test, c.column_name);
        END IF;
    END LOOP;
    IF to_regclass('pg_temp.ptl_load_' || extract_name) IS NOT NULL THEN
        EXECUTE format('DROP TABLE pg_temp.%I', 'ptl_load_' || extract_name);
    END IF;
    -- A row's place in its extract: its record number in the delivered file
    -- (ptl.stage_extract), when every staged row has one of its own that no
    -- record refused at staging took; otherwise (rows COPYed, or a source_row
    -- given twice) its place in arrival order after the refused records, so
    -- that no two rows of an extract ever share a place.
    EXECUTE format($q$
        SELECT count(s.source_row) = count(*) AND count(DISTINCT s.source_row) = count(*)
               AND NOT EXISTS (SELECT 1 FROM ptl.rejected_row r
                               WHERE r.batch_id = $1 AND r.extract = $2
                                 AND r.row_in_extract IN (SELECT x.source_row FROM ptl_stage.%1$I x WHERE x.batch_id = $1)),
               (SELECT coalesce(max(r.row_in_extract), 0) FROM ptl.rejected_row r WHERE r.batch_id = $1 AND r.extract = $2)
        FROM ptl_stage.%1$I s WHERE s.batch_id = $1$q$, extract_name)
    INTO by_source_row, refused_before
    USING batch, extract_name;
    EXECUTE format($q$
        CREATE TEMP TABLE %I ON COMMIT DROP AS
        SELECT s.*,
               CASE WHEN $2 THEN s.source_row ELSE $3 + row_number() OVER (ORDER BY s.row_no) END AS row_in_extract,
               CASE %s END AS bad_column,
               %s AS warn_columns,
               '{}'::text[] AS kept_columns,
               NULL::jsonb AS warn_notes,
               NULL::text AS reason,
               NULL::text AS rule_column,
               NULL::text AS bad_sqlstate,
               NULL::text AS bad_message
        FROM ptl_stage.%I s
        WHERE s.batch_id = $1$q$,
        'ptl_load_' || extract_name,
        CASE WHEN fails = '' THEN 'WHEN false THEN NULL' ELSE fails END,
        CASE WHEN cardinality(warns) = 0 THEN '''{}''::text[]'
             ELSE format('array_remove(ARRAY[%s]::text[], NULL)', array_to_string(warns, ', ')) END,
        extract_name)
    USING batch, by_source_row, refused_before;
    GET DIAGNOSTICS n = ROW_COUNT;
    EXECUTE format('ANALYZE pg_temp.%I', 'ptl_load_' || extract_name);
    RETURN n;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_check_columns(bigint, text) IS
    'Internal to ptl.load(): stages one extract of a batch in a work table, marking the first column of each row that breaks a rule that quarantines, and every column to load without';

-- Stage 2 helper: quarantine rows (still good so far) that repeat a key
-- later in the same extract.  The last row is the source's latest word; if
-- it is itself bad, nothing of that key loads from this batch.
CREATE FUNCTION ptl_internal.load_mark_repeats(extract_name text, key_columns text[], key_words text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    -- A key column with a type compares by its value, not its spelling
    -- (2025-05-14 and 14/05/2025 are one day, 1 and 01 one slot): two
    -- spellings of one key would otherwise both reach the upsert, which
    -- refuses to change a row twice and fails the whole batch.  A row that
    -- failed its column checks keeps its spelling (it may not parse).
    keys text := (SELECT string_agg(
                      CASE WHEN c.value_type IS NOT NULL AND c.value_type <> 'text'::regtype
                           THEN format('CASE WHEN w.bad_column IS NULL THEN (ptl.extract_value(w.%1$I)::%2$s)::text
                                             ELSE ptl.extract_value(w.%1$I) END', k.k, c.value_type)
                           ELSE format('ptl.extract_value(w.%I)', k.k) END, ', ' ORDER BY k.n)
                  FROM unnest(key_columns) WITH ORDINALITY AS k (k, n)
                  LEFT JOIN ptl.extract_column c ON c.extract = extract_name AND c.column_name = k.k);
BEGIN
    -- Group first (a hash, no sort of the whole extract), then touch only
    -- the rows of keys that repeat.
    EXECUTE format($q$
        UPDATE pg_temp.%1$I w
        SET reason = 'duplicate_in_extract', bad_sqlstate = '23505',
            bad_message = format(%2$L, d.last_row)
        FROM (SELECT ROW(%3$s) AS key, max(w.row_in_extract) AS last_row
              FROM pg_temp.%1$I w
              GROUP BY %3$s
              HAVING count(*) > 1) d
        WHERE ROW(%3$s) = d.key
          AND w.row_in_extract < d.last_row
          AND w.bad_column IS NULL$q$,
        'ptl_load_' || extract_name,
        -- the message as a quoted literal: key_words is text, not SQL
        format('the same %s appears again at row %%s of this extract; only the last row counts',
               replace(key_words, '%', '%%')),
        keys);
END
$$;
COMMENT ON FUNCTION ptl_internal.load_mark_repeats(text, text[], text) IS
    'Internal to ptl.load(): marks rows whose key appears again later in the same extract (typed key columns compared by value, not spelling)';

-- Stage 2 helper: a row must hang on a record the batch's organisation
-- holds (ptl.feed.placed_on): its patient (local_patient_id, in the same
-- source system), its pathway (ppid_issuer, ppid) or its waiting-list entry
-- (ppid_issuer, ppid, entry_ref).  A row whose parent is missing is
-- quarantined: parent_rejected when this batch quarantined the parent's row
-- (the message points at it), unknown_parent otherwise.  Messages never
-- quote a local patient identifier.
CREATE FUNCTION ptl_internal.load_mark_orphans(extract_name text, batch bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = load_mark_orphans.batch);
    placed text := (SELECT e.placed_on FROM ptl.feed e WHERE e.extract = extract_name);
    keys text[];
    parent_extract text;
    held text;
    rejected_msg text;
    unknown_msg text;
BEGIN
    CASE placed
        WHEN 'patient' THEN
            keys := '{local_patient_id}';
            parent_extract := 'patient';
            held := 'SELECT 1 FROM ptl.patient p WHERE p.org_code = $2 AND p.source_system = $3
                     AND p.local_patient_id = o.k[1]';
            rejected_msg := $m$format('its patient was quarantined at row %s of this batch''s patient extract', o.rejected_at)$m$;
            unknown_msg := $m$format('no patient with this local_patient_id is known in %s at %s; send the patient row first', $3, $2)$m$;
        WHEN 'pathway' THEN
            keys := '{ppid_issuer,ppid}';
            parent_extract := 'pathway';
            held := 'SELECT 1 FROM ptl.pathway p WHERE p.provider_org = $2 AND p.ppid_issuer = o.k[1] AND p.ppid = o.k[2]';
            rejected_msg := $m$format('its pathway (PPID %s issued by %s) was quarantined at row %s of this batch''s pathway extract',
                                   o.k[2], o.k[1], o.rejected_at)$m$;
            unknown_msg := $m$format('no pathway with PPID %s issued by %s is known at %s; send the pathway row first',
                                  o.k[2], o.k[1], $2)$m$;
        WHEN 'entry' THEN
            keys := '{ppid_issuer,ppid,entry_ref}';
            parent_extract := 'waiting_list_entry';
            held := 'SELECT 1 FROM ptl.pathway p JOIN ptl.waiting_list_entry e ON e.pathway_id = p.pathway_id
                     WHERE p.provider_org = $2 AND p.ppid_issuer = o.k[1] AND p.ppid = o.k[2] AND e.entry_ref = o.k[3]';
            rejected_msg := $m$format('its waiting-list entry (%s on PPID %s issued by %s) was quarantined at row %s of this batch''s waiting_list_entry extract',
                                   o.k[3], o.k[2], o.k[1], o.rejected_at)$m$;
            unknown_msg := $m$format('no waiting-list entry %s on a pathway with PPID %s issued by %s is known at %s; send the waiting-list row first',
                                  o.k[3], o.k[2], o.k[1], $2)$m$;
        ELSE
            RETURN;  -- placed on the organisation alone: the batch's
    END CASE;
    EXECUTE format($q$
        UPDATE pg_temp.%1$I w
        SET reason = CASE WHEN o.rejected_at IS NOT NULL THEN 'parent_rejected' ELSE 'unknown_parent' END,
            bad_sqlstate = '23503', rule_column = %2$L,
            bad_message = CASE WHEN o.rejected_at IS NOT NULL THEN %3$s ELSE %4$s END
        FROM (SELECT x.row_no, x.k,
                     (SELECT max(r.row_in_extract) FROM ptl.rejected_row r
                      WHERE r.batch_id = $1 AND r.extract = %5$L
                        AND ARRAY[%6$s] = x.k) AS rejected_at
              FROM (SELECT v.row_no, ARRAY[%7$s] AS k
                    FROM pg_temp.%1$I v
                    WHERE v.bad_column IS NULL AND v.reason IS NULL) x
              WHERE NOT EXISTS (%8$s)) o
        WHERE w.row_no = o.row_no$q$,
        'ptl_load_' || extract_name,
        keys[cardinality(keys)],
        rejected_msg, unknown_msg, parent_extract,
        (SELECT string_agg(format('ptl.extract_value(r.raw ->> %L)', k), ', ') FROM unnest(keys) k),
        (SELECT string_agg(format('ptl.extract_value(v.%I)', k), ', ') FROM unnest(keys) k),
        replace(held, 'o.k', 'x.k'))
    USING batch, b.org_code, b.source_system;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_mark_orphans(text, bigint) IS
    'Internal to ptl.load(): marks rows whose patient, pathway or waiting-list entry (ptl.feed.placed_on) the batch''s organisation does not hold';

-- Stage 2 helper: codes of placeholder columns (ptl.extract_column) that the
-- reference table does not hold, or holds only as a placeholder, are noted
-- in kept_columns (the row loads with the code, and a warning), and the
-- codes missing from the table are added to it as placeholders for the
-- reference data to resolve (a site is taken to be the batch's
-- organisation's).  So an unknown site, commissioner or treatment function
-- never takes a patient off the list.
CREATE FUNCTION ptl_internal.load_placeholders(batch bigint, extract_name text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    org text := (SELECT b.org_code FROM ptl.batch b WHERE b.batch_id = load_placeholders.batch);
    work text := 'ptl_load_' || extract_name;
    c ptl.extract_column;
    code_column text;
BEGIN
    FOR c IN SELECT * FROM ptl.extract_column x
             WHERE x.extract = extract_name AND x.when_invalid = 'placeholder' ORDER BY x.ordinal LOOP
        code_column := CASE c.code_table WHEN 'site' THEN 'site_code'
                                         WHEN 'commissioner' THEN 'commissioner_code' ELSE 'tfc' END;
        EXECUTE format($q$
            UPDATE pg_temp.%1$I w SET kept_columns = w.kept_columns || %2$L::text
            WHERE w.bad_column IS NULL AND w.reason IS NULL
              AND ptl.extract_value(w.%2$I) IS NOT NULL
              AND %2$L <> ALL (w.warn_columns)
              AND NOT EXISTS (SELECT 1 FROM ptl.%3$I t
                              WHERE t.%4$I = ptl.extract_value(w.%2$I) AND NOT t.placeholder)$q$,
            work, c.column_name, c.code_table, code_column);
        EXECUTE format($q$
            INSERT INTO ptl.%3$I (%4$I, %5$s placeholder)
            SELECT DISTINCT ptl.extract_value(w.%2$I), %6$s true
            FROM pg_temp.%1$I w
            WHERE %2$L = ANY (w.kept_columns)
            ON CONFLICT DO NOTHING$q$,
            work, c.column_name, c.code_table, code_column,
            CASE c.code_table WHEN 'site' THEN 'org_code, name,'
                              WHEN 'commissioner' THEN 'name,'
                              ELSE 'name, rtt_line,' END,
            CASE c.code_table
                WHEN 'site' THEN format('%L, format(''Site %%s (placeholder: not in the reference data)'', ptl.extract_value(w.%I)),',
                                        org, c.column_name)
                WHEN 'commissioner' THEN format('format(''Commissioner %%s (placeholder: not in the reference data)'', ptl.extract_value(w.%I)),',
                                                c.column_name)
                -- reported on Other - Other Services until resolved
                ELSE format('format(''Treatment function %%s (placeholder: not in the reference data)'', ptl.extract_value(w.%I)), ''X06'',',
                            c.column_name) END);
    END LOOP;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_placeholders(bigint, text) IS
    'Internal to ptl.load(): notes the rows whose site, commissioner or treatment function code is not (yet) in the reference data, and adds such codes there as placeholders';

-- Helpers for the feeds' loaders (theatre, risk, outpatient, beds, aid):
-- row rules that quarantine rows or leave a value out, over the work table.

-- Shared by the care feeds (outpatient, beds, aid): a row naming a site
-- that belongs to another organisation than the batch's is quarantined.
-- A trust's extract loads into its own organisation's rows only (an unknown
-- code became a placeholder site of the batch's organisation before this:
-- ptl_internal.load_placeholders).
CREATE FUNCTION ptl_internal.load_mark_foreign_sites(batch bigint, extract_name text, column_name text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    org text := (SELECT b.org_code FROM ptl.batch b WHERE b.batch_id = load_mark_foreign_sites.batch);
BEGIN
    EXECUTE format($q$
        UPDATE pg_temp.%1$I w
        SET reason = 'unknown_parent', bad_sqlstate = '23503', rule_column = %2$L,
            bad_message = format('%2$s %%s is a site of %%s, not of %%s, which sent this batch', s.site_code, s.org_code, $1)
        FROM ptl.site s
        WHERE w.bad_column IS NULL AND w.reason IS NULL AND %2$L <> ALL (w.warn_columns)
          AND s.site_code = ptl.extract_value(w.%2$I) AND s.org_code <> $1$q$,
        'ptl_load_' || extract_name, column_name)
    USING org;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_mark_foreign_sites(bigint, text, text) IS
    'Internal to the care feeds'' loaders: quarantines (unknown_parent) rows whose site code is a site of another organisation than the batch''s';

-- Shared by the care feeds' loaders: a staged value as the upsert takes it,
-- or NULL when the row loads without it (it is in the row's warn_columns).
CREATE FUNCTION ptl_internal.load_kept(raw text, column_name text, warn_columns text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN column_name <> ALL (warn_columns) THEN ptl.extract_value(raw) END;
COMMENT ON FUNCTION ptl_internal.load_kept(text, text, text[]) IS
    'Internal to the care feeds'' loaders: a staged value as loaded (spaces trimmed, empty as NULL), or NULL when the row loads without that column';

-- Shared by the care feeds' loaders: a row rule that leaves a column out
-- (warning, with its own reason) where a condition over the work table's
-- row w holds, for rows still good and still holding the column.
CREATE FUNCTION ptl_internal.load_leave_out(extract_name text, column_name text, reason text, sqlstate text,
                                   message_sql text, condition_sql text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
BEGIN
    EXECUTE format($q$
        UPDATE pg_temp.%1$I w
        SET warn_columns = w.warn_columns || %2$L::text,
            warn_notes = coalesce(w.warn_notes, '{}') || jsonb_build_object(%2$L, jsonb_build_object(
                'reason', %3$L, 'sqlstate', %4$L, 'message', %5$s))
        WHERE w.bad_column IS NULL AND w.reason IS NULL
          -- (CASE: the condition, which may cast values, sees only rows
          -- still good that hold the column)
          AND CASE WHEN w.bad_column IS NULL AND w.reason IS NULL AND %2$L <> ALL (w.warn_columns)
                        AND ptl.extract_value(w.%2$I) IS NOT NULL
                   THEN (%6$s) END$q$,
        'ptl_load_' || extract_name, column_name, reason, sqlstate, message_sql, condition_sql);
END
$$;
COMMENT ON FUNCTION ptl_internal.load_leave_out(text, text, text, text, text, text) IS
    'Internal to the care feeds'' loaders: a row rule that loads the good rows meeting a condition without a column (a warning with the rule''s reason)';

-- Shared by the care feeds' loaders: a row rule that quarantines the good
-- rows meeting a condition.
CREATE FUNCTION ptl_internal.load_reject(extract_name text, column_name text, reason text, sqlstate text,
                                message_sql text, condition_sql text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
BEGIN
    EXECUTE format($q$
        UPDATE pg_temp.%1$I w
        SET reason = %3$L, bad_sqlstate = %4$L, rule_column = %2$L, bad_message = %5$s
        WHERE w.bad_column IS NULL AND w.reason IS NULL
          AND CASE WHEN w.bad_column IS NULL AND w.reason IS NULL THEN (%6$s) END$q$,
        'ptl_load_' || extract_name, column_name, reason, sqlstate, message_sql, condition_sql);
END
$$;
COMMENT ON FUNCTION ptl_internal.load_reject(text, text, text, text, text, text) IS
    'Internal to the care feeds'' loaders: a row rule that quarantines the good rows meeting a condition, with the rule''s reason, SQLSTATE and message';

-- Quarantines a staged row with a reason of a row rule (the work table's
-- row_no), unless already quarantined.  Internal to the theatre and risk
-- loaders.
CREATE FUNCTION ptl_internal.load_mark_bad(work text, row_numbers bigint[], reason text, sqlstate text,
                                  rule_column text, messages text[])
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
BEGIN
    EXECUTE format($q$
        UPDATE pg_temp.%I w
        SET reason = $1, bad_sqlstate = $2, rule_column = $3, bad_message = m.message
        FROM unnest($4, $5) m(row_no, message)
        WHERE w.row_no = m.row_no AND w.bad_column IS NULL AND w.reason IS NULL$q$, work)
    USING reason, sqlstate, rule_column, row_numbers, messages;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_mark_bad(text, bigint[], text, text, text, text[]) IS
    'Internal to ptl.load()''s loaders: quarantines the given rows of an extract''s work table with a row rule''s reason, SQLSTATE, column and messages';

-- Loads a staged row without a value (a row rule's warning).
CREATE FUNCTION ptl_internal.load_mark_warn(work text, row_numbers bigint[], column_name text, reason text, sqlstate text,
                                   messages text[])
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
BEGIN
    EXECUTE format($q$
        UPDATE pg_temp.%I w
        SET warn_columns = w.warn_columns || $1,
            warn_notes = coalesce(w.warn_notes, '{}') || jsonb_build_object($1, jsonb_build_object(
                'reason', $2, 'sqlstate', $3, 'message', m.message))
        FROM unnest($4, $5) m(row_no, message)
        WHERE w.row_no = m.row_no AND w.bad_column IS NULL AND w.reason IS NULL
          AND $1 <> ALL (w.warn_columns)$q$, work)
    USING column_name, reason, sqlstate, row_numbers, messages;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_mark_warn(text, bigint[], text, text, text, text[]) IS
    'Internal to ptl.load()''s loaders: the given rows of an extract''s work table load without a column''s value, with a row rule''s reason, SQLSTATE and messages (a warning)';

-- A period whose last day is before its first is meaningless: the row is
-- quarantined (rule <extract>_period_in_order).
CREATE FUNCTION ptl_internal.load_mark_period(work text, from_column text, to_column text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    r bigint[];
    m text[];
BEGIN
    EXECUTE format($q$
        SELECT array_agg(d.row_no), array_agg(format('%3$s %%s is before %2$s %%s', d.t, d.f))
        FROM (SELECT w.row_no, ptl.extract_value(w.%2$I)::date AS f, ptl.extract_value(w.%3$I)::date AS t
              FROM pg_temp.%1$I w WHERE w.bad_column IS NULL AND w.reason IS NULL OFFSET 0) d
        WHERE d.t < d.f$q$, work, from_column, to_column)
    INTO r, m;
    PERFORM ptl_internal.load_mark_bad(work, r, 'inconsistent', '23514', to_column, m);
END
$$;
COMMENT ON FUNCTION ptl_internal.load_mark_period(text, text, text) IS
    'Internal to ptl.load()''s loaders: quarantines rows of an extract''s work table whose period ends before it starts';

-- Stage 3: quarantine the rows marked bad, log the warnings, and clear the
-- batch's rows from staging.
CREATE FUNCTION ptl_internal.load_quarantine(batch bigint, extract_name text,
                                    OUT quarantined bigint, OUT warned bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    work text := 'ptl_load_' || extract_name;
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = load_quarantine.batch);
    opened date := b.opened_at::date;
    cols text[] := ARRAY(SELECT c.column_name FROM ptl.extract_column c WHERE c.extract = extract_name);
    key_values text := (SELECT string_agg(format('ptl.extract_value(w.%I)', k), ', ' ORDER BY i)
                        FROM ptl.feed e, unnest(e.natural_key) WITH ORDINALITY u(k, i)
                        WHERE e.extract = extract_name);
    -- the patient and pathway a warned row belongs to (after the upsert)
    subject text := CASE
        WHEN cols @> '{ppid_issuer,ppid}' THEN
            'SELECT p.patient_id, p.pathway_id FROM ptl.pathway p
             WHERE p.provider_org = $4 AND p.ppid_issuer = ptl.extract_value(w.ppid_issuer)
               AND p.ppid = ptl.extract_value(w.ppid)'
        WHEN cols @> '{local_patient_id}' THEN
            'SELECT p.patient_id, NULL::bigint AS pathway_id FROM ptl.patient p
             WHERE p.org_code = $4 AND p.source_system = $5
               AND p.local_patient_id = ptl.extract_value(w.local_patient_id)'
        ELSE 'SELECT NULL::bigint AS patient_id, NULL::bigint AS pathway_id' END;
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
                   to_jsonb(w) - '{bad_column,warn_columns,kept_columns,warn_notes,reason,rule_column,bad_sqlstate,bad_message,row_in_extract,batch_id,row_no,source_row}'::text[] AS raw) r
        JOIN ptl.extract_column c ON c.extract = $2 AND c.column_name = w.bad_column
        CROSS JOIN LATERAL ptl_internal.extract_value_problem(c, r.value, $3) p
        WHERE w.bad_column IS NOT NULL$q$, work)
    USING batch, extract_name, opened;
    GET DIAGNOSTICS quarantined = ROW_COUNT;

    -- Faults found by the extract's row rules carry their own message.
    EXECUTE format($q$
        INSERT INTO ptl.rejected_row (batch_id, extract, row_in_extract, column_name, value,
                                      reason, sqlstate, message, raw)
        SELECT $1, $2, w.row_in_extract, w.rule_column, to_jsonb(w) ->> w.rule_column,
               w.reason, w.bad_sqlstate, w.bad_message,
               to_jsonb(w) - '{bad_column,warn_columns,kept_columns,warn_notes,reason,rule_column,bad_sqlstate,bad_message,row_in_extract,batch_id,row_no,source_row}'::text[]
        FROM pg_temp.%I w
        WHERE w.bad_column IS NULL AND w.reason IS NOT NULL$q$, work)
    USING batch, extract_name;
    GET DIAGNOSTICS n = ROW_COUNT;
    quarantined := quarantined + n;

    -- Values left out of rows that loaded: one warning per value, with the
    -- reason its column rule gives (an invalid NHS number keeps its old
    -- name, invalid_nhs_number), or the one a row rule noted; and one per
    -- code loaded as a placeholder.  Each names its record (the extract's
    -- natural key, the patient and pathway), so that validation rule V32
    -- lists it until a later delivery of the record comes without the fault.
    EXECUTE format($q$
        INSERT INTO ptl.load_warning (batch_id, extract, row_in_extract, column_name, value,
                                      reason, sqlstate, message, record_key, patient_id, pathway_id)
        SELECT $1, $2, w.row_in_extract, x.column_name, x.value,
               CASE WHEN x.kept THEN 'placeholder_' || c.code_table
                    ELSE coalesce(x.note ->> 'reason',
                                  CASE WHEN p.reason = 'invalid_code' THEN 'invalid_' || x.column_name ELSE p.reason END)
                    END,
               CASE WHEN x.kept THEN '23503' ELSE coalesce(x.note ->> 'sqlstate', p.sqlstate) END,
               CASE WHEN x.kept
                    THEN format('%%s %%s is not in ptl.%%s yet; the row loaded with it, added there as a placeholder for the reference data to resolve',
                                x.column_name, quote_literal(x.value), c.code_table)
                    ELSE rtrim(coalesce(x.note ->> 'message', p.message), '.') || '; the row loaded without it' END,
               ARRAY[%2$s], s.patient_id, s.pathway_id
        FROM pg_temp.%1$I w
        CROSS JOIN LATERAL (SELECT u.column_name, to_jsonb(w) ->> u.column_name AS value,
                                   w.warn_notes -> u.column_name AS note, false AS kept
                            FROM unnest(w.warn_columns) u(column_name)
                            UNION ALL
                            SELECT k.column_name, to_jsonb(w) ->> k.column_name, NULL, true
                            FROM unnest(w.kept_columns) k(column_name)) x
        JOIN ptl.extract_column c ON c.extract = $2 AND c.column_name = x.column_name
        CROSS JOIN LATERAL ptl_internal.extract_value_problem(c, x.value, $3) p
        LEFT JOIN LATERAL (%3$s) s ON true
        WHERE w.bad_column IS NULL AND w.reason IS NULL
          AND cardinality(w.warn_columns) + cardinality(w.kept_columns) > 0
        ORDER BY w.row_in_extract, c.ordinal$q$, work, key_values, subject)
    USING batch, extract_name, opened, b.org_code, b.source_system;
    EXECUTE format($q$
        SELECT count(*) FROM pg_temp.%I w
        WHERE w.bad_column IS NULL AND w.reason IS NULL
          AND cardinality(w.warn_columns) + cardinality(w.kept_columns) > 0$q$, work)
    INTO warned;

    -- A record delivered again without a fault it had: the earlier warning
    -- is resolved.
    EXECUTE format($q$
        UPDATE ptl.load_warning lw SET resolved_in = $1
        FROM pg_temp.%1$I w
        WHERE lw.extract = $2 AND lw.resolved_in IS NULL AND lw.batch_id <> $1
          AND lw.record_key = ARRAY[%2$s]
          AND w.bad_column IS NULL AND w.reason IS NULL
          AND lw.column_name <> ALL (w.warn_columns || w.kept_columns)
          AND lw.batch_id IN (SELECT x.batch_id FROM ptl.batch x WHERE x.org_code = $3)$q$, work, key_values)
    USING batch, extract_name, b.org_code;

    EXECUTE format('DELETE FROM ptl_stage.%I WHERE batch_id = $1', extract_name) USING batch;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_quarantine(bigint, text) IS
    'Internal to ptl.load(): quarantines an extract''s bad rows with their reasons, logs warnings and clears the batch from staging';

-- ---------------------------------------------------------------------------
-- One function per extract: its row rules (stage 2) and its upsert.  Each
-- returns (loaded, changed, matched): new records, existing records whose
-- values changed, and good rows whose record was already held; re-sent
-- identical rows write nothing.
-- ---------------------------------------------------------------------------

CREATE FUNCTION ptl_internal.load_patients(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
BEGIN
    -- Each date's form and plausible window is a column rule
    -- (ptl.extract_column).  A death before the birth is a row rule: which
    -- of the two is wrong cannot be told, and a doubtful death must not
    -- take a patient off the list, so the row loads without the death.
    UPDATE pg_temp.ptl_load_patient w
    SET warn_columns = w.warn_columns || 'date_of_death'::text,
        warn_notes = coalesce(w.warn_notes, '{}') || jsonb_build_object('date_of_death', jsonb_build_object(
            'reason', 'inconsistent', 'sqlstate', '23514',
            'message', 'date_of_death is before date_of_birth'))
    FROM (SELECT row_no,
                 -- (CASE: only dates that passed their column rules are cast)
                 CASE WHEN NOT warn_columns && '{date_of_birth,date_of_death}'
                      THEN ptl.extract_value(date_of_birth)::date END AS dob,
                 CASE WHEN NOT warn_columns && '{date_of_birth,date_of_death}'
                      THEN ptl.extract_value(date_of_death)::date END AS dod
          FROM pg_temp.ptl_load_patient
          WHERE bad_column IS NULL AND reason IS NULL) d
    WHERE w.row_no = d.row_no AND d.dod < d.dob;

    WITH upserted AS (
        INSERT INTO ptl.patient AS t
            (org_code, source_system, local_patient_id, nhs_number, nhs_number_as_recorded,
             given_name, family_name, date_of_birth, date_of_death, sex, postcode, address_line_1,
             ethnic_category, lsoa_code, gp_practice_code, commissioner_code, batch_id, town, telephone, email)
        -- Values in warn_columns are left out (NULL); the NHS number is
        -- still kept as recorded.
        SELECT b.org_code, b.source_system, ptl.extract_value(w.local_patient_id),
               CASE WHEN 'nhs_number' <> ALL (w.warn_columns) THEN ptl.extract_value(w.nhs_number)::ptl.nhs_number END,
               ptl.extract_value(w.nhs_number),
               CASE WHEN 'given_name' <> ALL (w.warn_columns) THEN ptl.extract_value(w.given_name) END,
               CASE WHEN 'family_name' <> ALL (w.warn_columns) THEN ptl.extract_value(w.family_name) END,
               CASE WHEN 'date_of_birth' <> ALL (w.warn_columns) THEN ptl.extract_value(w.date_of_birth)::date END,
               CASE WHEN 'date_of_death' <> ALL (w.warn_columns) THEN ptl.extract_value(w.date_of_death)::date END,
               CASE WHEN 'sex' <> ALL (w.warn_columns) THEN ptl.extract_value(w.sex) END,
               -- Postcodes are stored upper case with one space before the inward code.
               CASE WHEN 'postcode' <> ALL (w.warn_columns) THEN regexp_replace(upper(replace(ptl.extract_value(w.postcode), ' ', '')), '^(.+)(...)$', '\1 \2') END,
               CASE WHEN 'address_line_1' <> ALL (w.warn_columns) THEN ptl.extract_value(w.address_line_1) END,
               CASE WHEN 'ethnic_category' <> ALL (w.warn_columns) THEN ptl.extract_value(w.ethnic_category) END,
               CASE WHEN 'lsoa_code' <> ALL (w.warn_columns) THEN ptl.extract_value(w.lsoa_code) END, CASE WHEN 'gp_practice_code' <> ALL (w.warn_columns) THEN ptl.extract_value(w.gp_practice_code) END,
               CASE WHEN 'commissioner_code' <> ALL (w.warn_columns) THEN ptl.extract_value(w.commissioner_code) END, batch,
               CASE WHEN 'town' <> ALL (w.warn_columns) THEN ptl.extract_value(w.town) END,
               CASE WHEN 'telephone' <> ALL (w.warn_columns) THEN ptl.extract_value(w.telephone) END,
               CASE WHEN 'email' <> ALL (w.warn_columns) THEN ptl.extract_value(w.email) END
        FROM pg_temp.ptl_load_patient w
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (org_code, source_system, local_patient_id) DO UPDATE
        SET nhs_number = excluded.nhs_number, nhs_number_as_recorded = excluded.nhs_number_as_recorded,
            given_name = excluded.given_name, family_name = excluded.family_name,
            date_of_birth = excluded.date_of_birth, date_of_death = excluded.date_of_death,
            sex = excluded.sex, postcode = excluded.postcode, address_line_1 = excluded.address_line_1,
            ethnic_category = excluded.ethnic_category, lsoa_code = excluded.lsoa_code,
            gp_practice_code = excluded.gp_practice_code, commissioner_code = excluded.commissioner_code,
            town = excluded.town, telephone = excluded.telephone, email = excluded.email,
            batch_id = excluded.batch_id, updated_at = now()
        WHERE (t.nhs_number, t.nhs_number_as_recorded, t.given_name, t.family_name, t.date_of_birth,
               t.date_of_death, t.sex, t.postcode, t.address_line_1, t.ethnic_category, t.lsoa_code,
               t.gp_practice_code, t.commissioner_code, t.town, t.telephone, t.email)
              IS DISTINCT FROM
              (excluded.nhs_number, excluded.nhs_number_as_recorded, excluded.given_name,
               excluded.family_name, excluded.date_of_birth, excluded.date_of_death, excluded.sex,
               excluded.postcode, excluded.address_line_1, excluded.ethnic_category,
               excluded.lsoa_code, excluded.gp_practice_code, excluded.commissioner_code, excluded.town,
               excluded.telephone, excluded.email)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
    INTO loaded, changed
    FROM upserted;

    -- Good rows whose record was already held: every good row must have a
    -- record now, and those this load did not create were there before
    -- (counted, not taken as the remainder, so that a row lost on the way
    -- fails the load's accounting).  It joins the rows just written, so
    -- it plans on statistics that know them: after a load rolled back,
    -- statistics say "empty" for the table's pages, and this count took
    -- a nested loop over every row of the provider for each row read
    -- (minutes at 100,000 rows).  Every feed's loader does the same.
    PERFORM ptl.analyze_if_grown('ptl.patient', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_patient w
    JOIN ptl.patient t ON t.org_code = b.org_code AND t.source_system = b.source_system
                      AND t.local_patient_id = ptl.extract_value(w.local_patient_id)
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_patients(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s patient extract';

CREATE FUNCTION ptl_internal.load_pathways(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
BEGIN
    WITH upserted AS (
        INSERT INTO ptl.pathway AS t
            (patient_id, provider_org, site_code, ppid, ppid_issuer, ubrn, treatment_function,
             referral_priority, referral_received, commissioner_code, consultant_code, batch_id, triage_priority)
        SELECT p.patient_id, b.org_code, coalesce(CASE WHEN 'site_code' <> ALL (w.warn_columns) THEN ptl.extract_value(w.site_code) END, b.site_code),
               ptl.extract_value(w.ppid), ptl.extract_value(w.ppid_issuer), CASE WHEN 'ubrn' <> ALL (w.warn_columns) THEN ptl.extract_value(w.ubrn) END,
               ptl.extract_value(w.treatment_function),
               CASE CASE WHEN 'referral_priority' <> ALL (w.warn_columns) THEN ptl.extract_value(w.referral_priority) END
                   WHEN '1' THEN 'routine' WHEN '2' THEN 'urgent' WHEN '3' THEN 'two_week_wait'
                   ELSE coalesce(CASE WHEN 'referral_priority' <> ALL (w.warn_columns) THEN ptl.extract_value(w.referral_priority) END, 'routine')
               END::ptl.referral_priority,
               CASE WHEN 'referral_received' <> ALL (w.warn_columns) THEN ptl.extract_value(w.referral_received)::date END,
               CASE WHEN 'commissioner_code' <> ALL (w.warn_columns) THEN ptl.extract_value(w.commissioner_code) END,
               CASE WHEN 'consultant_code' <> ALL (w.warn_columns) THEN ptl.extract_value(w.consultant_code) END,
               batch,
               CASE CASE WHEN 'triage_priority' <> ALL (w.warn_columns) THEN ptl.extract_value(w.triage_priority) END
                   WHEN '1' THEN 'routine' WHEN '2' THEN 'urgent' WHEN '3' THEN 'two_week_wait'
                   ELSE CASE WHEN 'triage_priority' <> ALL (w.warn_columns) THEN ptl.extract_value(w.triage_priority) END
               END::ptl.referral_priority
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
            triage_priority = excluded.triage_priority,
            batch_id = excluded.batch_id, updated_at = now()
        WHERE (t.patient_id, t.site_code, t.ubrn, t.treatment_function, t.referral_priority,
               t.referral_received, t.commissioner_code, t.consultant_code, t.triage_priority)
              IS DISTINCT FROM
              (excluded.patient_id, excluded.site_code, excluded.ubrn, excluded.treatment_function,
               excluded.referral_priority, excluded.referral_received, excluded.commissioner_code,
               excluded.consultant_code, excluded.triage_priority)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
    INTO loaded, changed
    FROM upserted;

    -- Good rows whose record was already held: every good row must have a
    -- record now, and those this load did not create were there before
    -- (counted, not taken as the remainder, so that a row lost on the way
    -- fails the load's accounting).
    PERFORM ptl.analyze_if_grown('ptl.pathway', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_pathway w
    JOIN ptl.pathway t ON t.provider_org = b.org_code AND t.ppid_issuer = ptl.extract_value(w.ppid_issuer)
                      AND t.ppid = ptl.extract_value(w.ppid)
    WHERE w.bad_column IS NULL AND w.reason IS NULL;

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
COMMENT ON FUNCTION ptl_internal.load_pathways(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s pathway extract';

CREATE FUNCTION ptl_internal.load_events(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
BEGIN
    -- Kinds whose meaning needs a second date (RTT guidance 9.1).  An offer
    -- or a decline without its date is not an offer: the row is
    -- quarantined (the pathway stays on the list).  A transfer in without a
    -- usable original clock start loads: its clock start is unknown, which
    -- the return reports in its own column (validation V06 lists it).
    UPDATE pg_temp.ptl_load_pathway_event w
    SET reason = coalesce(p.reason, 'missing_required'), bad_sqlstate = coalesce(p.sqlstate, '23502'),
        rule_column = 'ref_date',
        bad_message = format('%s, but a %s event needs it (%s)',
                             coalesce(p.message, 'ref_date is empty'), d.kind,
                             CASE d.kind WHEN 'tci_offer' THEN 'the admission date offered'
                                         ELSE 'the date the offer was declined' END)
    FROM (SELECT row_no, ptl.extract_value(kind)::ptl.event_kind AS kind, ref_date
          FROM pg_temp.ptl_load_pathway_event
          WHERE bad_column IS NULL AND reason IS NULL
            AND (ptl.extract_value(ref_date) IS NULL OR 'ref_date' = ANY (warn_columns))) d
    JOIN ptl.extract_column c ON c.extract = 'pathway_event' AND c.column_name = 'ref_date'
    CROSS JOIN LATERAL ptl_internal.extract_value_problem(c, d.ref_date, (SELECT x.opened_at::date FROM ptl.batch x WHERE x.batch_id = load_events.batch)) p
    WHERE w.row_no = d.row_no
      AND d.kind IN ('tci_offer', 'tci_declined');
    UPDATE pg_temp.ptl_load_pathway_event w
    SET warn_columns = w.warn_columns || 'ref_date'::text,
        warn_notes = coalesce(w.warn_notes, '{}') || jsonb_build_object('ref_date', jsonb_build_object(
            'reason', 'unknown_clock_start', 'sqlstate', '23502',
            'message', 'ref_date (the original clock start) is empty on a transfer_in: the clock start is unknown'))
    WHERE w.bad_column IS NULL AND w.reason IS NULL
      AND ptl.extract_value(w.kind) = 'transfer_in' AND ptl.extract_value(w.ref_date) IS NULL;

    WITH upserted AS (
        INSERT INTO ptl.pathway_event AS t
            (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, ref_date,
             site_code, treatment_function, event_time, batch_id)
        SELECT p.pathway_id, p.patient_id, ptl.extract_value(w.event_ref),
               ptl.extract_value(w.event_date)::date, ptl.extract_value(w.kind)::ptl.event_kind,
               CASE WHEN 'rtt_status' <> ALL (w.warn_columns) THEN ptl.extract_value(w.rtt_status)::ptl.rtt_status END,
               CASE WHEN 'ref_date' <> ALL (w.warn_columns) THEN ptl.extract_value(w.ref_date)::date END,
               coalesce(CASE WHEN 'site_code' <> ALL (w.warn_columns) THEN ptl.extract_value(w.site_code) END, b.site_code),
               CASE WHEN 'treatment_function' <> ALL (w.warn_columns) THEN ptl.extract_value(w.treatment_function) END,
               CASE WHEN 'event_time' <> ALL (w.warn_columns) THEN ptl.extract_value(w.event_time)::time END,
               batch
        FROM pg_temp.ptl_load_pathway_event w
        JOIN ptl.pathway p ON p.provider_org = b.org_code
                          AND p.ppid_issuer = ptl.extract_value(w.ppid_issuer)
                          AND p.ppid = ptl.extract_value(w.ppid)
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (pathway_id, event_ref) DO UPDATE
        SET event_date = excluded.event_date, kind = excluded.kind, rtt_status = excluded.rtt_status,
            ref_date = excluded.ref_date, site_code = excluded.site_code,
            treatment_function = excluded.treatment_function, event_time = excluded.event_time,
            batch_id = excluded.batch_id, updated_at = now()
        WHERE (t.event_date, t.kind, t.rtt_status, t.ref_date, t.site_code, t.treatment_function, t.event_time)
              IS DISTINCT FROM
              (excluded.event_date, excluded.kind, excluded.rtt_status, excluded.ref_date,
               excluded.site_code, excluded.treatment_function, excluded.event_time)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
    INTO loaded, changed
    FROM upserted;

    -- Good rows whose record was already held: every good row must have a
    -- record now, and those this load did not create were there before
    -- (counted, not taken as the remainder, so that a row lost on the way
    -- fails the load's accounting).
    PERFORM ptl.analyze_if_grown('ptl.pathway_event', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_pathway_event w
    JOIN ptl.pathway p ON p.provider_org = b.org_code AND p.ppid_issuer = ptl.extract_value(w.ppid_issuer)
                      AND p.ppid = ptl.extract_value(w.ppid)
    JOIN ptl.pathway_event t ON t.pathway_id = p.pathway_id AND t.event_ref = ptl.extract_value(w.event_ref)
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_events(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s pathway event extract';

CREATE FUNCTION ptl_internal.load_waiting_list(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
BEGIN
    -- An expected theatre time outside 1 to 1440 minutes is left out
    -- (warning): theatre planning then uses the procedure's typical time.
    PERFORM ptl_internal.load_leave_out('waiting_list_entry', 'expected_duration_minutes', 'out_of_range', '22003',
        $m$format('expected_duration_minutes %s is outside 1 to 1440 minutes', ptl.extract_value(w.expected_duration_minutes))$m$,
        'ptl.extract_value(w.expected_duration_minutes)::int NOT BETWEEN 1 AND 1440');

    -- The dates' form and plausible window are column rules; these rules
    -- span columns.  Without a consistent removal the entry could be
    -- neither kept on nor taken off the list: the row is quarantined, and
    -- the entry keeps its last loaded state.
    UPDATE pg_temp.ptl_load_waiting_list_entry w
    SET reason = 'inconsistent', bad_sqlstate = '23514',
        rule_column = CASE WHEN d.removed IS NOT NULL AND d.removal_reason IS NULL THEN 'removal_reason'
                           ELSE 'removed_date' END,
        bad_message = CASE
            WHEN (d.removed IS NULL) <> (d.removal_reason IS NULL) THEN
                'removed_date and removal_reason must be given together'
            ELSE format('removed_date %s is before decision_to_admit %s', d.removed, d.dta)
            END
    FROM (SELECT row_no, ptl.extract_value(decision_to_admit)::date AS dta,
                 ptl.extract_value(removed_date)::date AS removed,
                 ptl.extract_value(removal_reason) AS removal_reason
          FROM pg_temp.ptl_load_waiting_list_entry
          WHERE bad_column IS NULL AND reason IS NULL) d
    WHERE w.row_no = d.row_no
      AND ((d.removed IS NULL) <> (d.removal_reason IS NULL) OR d.removed < d.dta);

    WITH upserted AS (
        INSERT INTO ptl.waiting_list_entry AS t
            (pathway_id, patient_id, entry_ref, procedure_code, procedure_description,
             intended_management, clinical_priority, decision_to_admit, expected_duration_minutes,
             consultant_code, tci_date, removed_date, removal_reason, site_code, batch_id)
        SELECT p.pathway_id, p.patient_id, ptl.extract_value(w.entry_ref),
               CASE WHEN 'procedure_code' <> ALL (w.warn_columns) THEN ptl.extract_value(w.procedure_code) END,
               CASE WHEN 'procedure_description' <> ALL (w.warn_columns) THEN ptl.extract_value(w.procedure_description) END,
               ptl.extract_value(w.intended_management),
               CASE WHEN 'clinical_priority' <> ALL (w.warn_columns) THEN ptl.extract_value(w.clinical_priority)::ptl.clinical_priority END,
               ptl.extract_value(w.decision_to_admit)::date,
               CASE WHEN 'expected_duration_minutes' <> ALL (w.warn_columns) THEN ptl.extract_value(w.expected_duration_minutes)::int END,
               CASE WHEN 'consultant_code' <> ALL (w.warn_columns) THEN ptl.extract_value(w.consultant_code) END,
               CASE WHEN 'tci_date' <> ALL (w.warn_columns) THEN ptl.extract_value(w.tci_date)::date END,
               ptl.extract_value(w.removed_date)::date, ptl.extract_value(w.removal_reason),
               coalesce(CASE WHEN 'site_code' <> ALL (w.warn_columns) THEN ptl.extract_value(w.site_code) END, b.site_code), batch
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

    -- Good rows whose record was already held: every good row must have a
    -- record now, and those this load did not create were there before
    -- (counted, not taken as the remainder, so that a row lost on the way
    -- fails the load's accounting).
    PERFORM ptl.analyze_if_grown('ptl.waiting_list_entry', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_waiting_list_entry w
    JOIN ptl.pathway p ON p.provider_org = b.org_code AND p.ppid_issuer = ptl.extract_value(w.ppid_issuer)
                      AND p.ppid = ptl.extract_value(w.ppid)
    JOIN ptl.waiting_list_entry t ON t.pathway_id = p.pathway_id AND t.entry_ref = ptl.extract_value(w.entry_ref)
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_waiting_list(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s admitted waiting-list extract';

-- The PAS extracts' staging tables (registered in src/load/stage.sql).
SELECT ptl_internal.prepare_staging_table(e.extract) FROM ptl.feed e WHERE e.capability = 'pas';

-- ---------------------------------------------------------------------------
-- ptl.load(batch): the one call that loads a batch.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ptl.load(batch bigint DEFAULT ptl.current_batch())
RETURNS SETOF ptl.batch_extract
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
-- A load's statements pass jit_above_cost at a few thousand rows, and
-- compiling them took longer than running them (bench/load.sh).
SET jit = off
AS $$
DECLARE
    b ptl.batch;
    e ptl.feed;
    extract_name text;
    started timestamptz;
    n_read bigint;
    n_loaded bigint;
    n_changed bigint;
    n_matched bigint;
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
    PERFORM ptl_internal.assert_may_load(b.org_code);
    IF b.status NOT IN ('open', 'ready') THEN
        RAISE EXCEPTION 'batch % was already %', batch, b.status
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = CASE WHEN b.loaded_at IS NOT NULL THEN format('It was loaded at %s.', b.loaded_at) END,
                  HINT = 'Open a new batch for a new delivery; re-sending the same rows in a new batch changes nothing.';
    END IF;

    -- Parents before children: a row can only point at what is loaded.
    FOR e IN SELECT * FROM ptl.feed x ORDER BY x.load_order LOOP
        extract_name := e.extract;
        -- Records ptl.stage_extract refused before staging count as read
        -- and quarantined (the batch had no rejected rows before its load).
        n_refused := (SELECT count(*) FROM ptl.rejected_row r
                      WHERE r.batch_id = load.batch AND r.extract = extract_name);
        -- An extract the batch did not deliver is not accounted.
        CONTINUE WHEN n_refused = 0 AND NOT ptl_internal.load_has_staged(batch, extract_name);
        started := clock_timestamp();
        n_read := ptl_internal.load_check_columns(batch, extract_name) + n_refused;
        PERFORM ptl_internal.load_mark_repeats(extract_name, e.natural_key, e.key_words);
        PERFORM ptl_internal.load_mark_orphans(extract_name, batch);
        PERFORM ptl_internal.load_placeholders(batch, extract_name);
        EXECUTE format('SELECT * FROM %s($1)', e.loader) INTO n_loaded, n_changed, n_matched USING batch;
        SELECT * INTO q FROM ptl_internal.load_quarantine(batch, extract_name);
        EXECUTE format('DROP TABLE pg_temp.%I', 'ptl_load_' || extract_name);

        -- Each count is measured on its own: rows staged, records created,
        -- records that were already held (counted after the upsert), rows
        -- quarantined.  The constraint batch_extract_nothing_lost refuses
        -- the row, and so the whole load, if any staged row is unaccounted
        -- for.
        INSERT INTO ptl.batch_extract
            (batch_id, extract, rows_read, rows_loaded, rows_updated, rows_unchanged,
             rows_quarantined, rows_with_warnings, load_ms)
        VALUES (batch, extract_name, n_read, n_loaded, n_matched, n_matched - n_changed,
                q.quarantined + n_refused, q.warned,
                round(extract(epoch FROM clock_timestamp() - started) * 1000, 1));
    END LOOP;

    UPDATE ptl.batch x SET status = 'loaded', loaded_at = now() WHERE x.batch_id = batch;
    RETURN QUERY SELECT x.* FROM ptl.batch_extract x JOIN ptl.feed y USING (extract)
        WHERE x.batch_id = batch ORDER BY y.load_order;
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
       e.rows_read = e.rows_loaded + e.rows_updated + e.rows_quarantined AS nothing_lost,
       -- the counts against the evidence: the quarantined rows and warnings
       -- are still there to count (no role may delete them)
       e.rows_quarantined = (SELECT count(*) FROM ptl.rejected_row r
                             WHERE r.batch_id = e.batch_id AND r.extract = e.extract)
       AND e.rows_with_warnings = (SELECT count(DISTINCT w.row_in_extract) FROM ptl.load_warning w
                                   WHERE w.batch_id = e.batch_id AND w.extract = e.extract) AS counts_agree
FROM ptl.batch b
JOIN ptl.batch_extract e USING (batch_id);
COMMENT ON VIEW ptl.load_summary IS
    'Per batch and extract: rows read, loaded (new), updated (already held), quarantined, with warnings; nothing_lost proves read = loaded + updated + quarantined, each counted on its own; counts_agree checks the quarantine and warning counts against the rows still held';
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
COMMENT ON COLUMN ptl.load_summary.nothing_lost IS 'True when read = loaded + updated + quarantined (each counted on its own by ptl.load)';
COMMENT ON COLUMN ptl.load_summary.counts_agree IS 'True when ptl.rejected_row and ptl.load_warning hold as many of the batch''s rows as were counted';

-- ---------------------------------------------------------------------------
-- The loading policy, as data: what becomes of each fault of each extract.
-- A row is quarantined only when its record, or the patient, pathway or
-- entry it hangs on, cannot be identified, or the record means nothing
-- without the value; every other fault loads the row with the value left
-- out (or, for an unknown code, a placeholder) and a warning that a
-- validation rule lists.  ptl.load_policy is the table docs/loading.md
-- shows, and test/pgtap/load_policy.sql proves every line of it.
-- ---------------------------------------------------------------------------
CREATE TABLE ptl.feed_example (
    extract     text PRIMARY KEY REFERENCES ptl.feed (extract),
    example     jsonb NOT NULL CHECK (jsonb_typeof(example) = 'object')
);
COMMENT ON TABLE ptl.feed_example IS
    'One row of each extract that loads clean (at an organisation holding its parents'' example rows): the documentation''s example, and the starting point of every fault ptl.load_policy describes';
COMMENT ON COLUMN ptl.feed_example.extract IS 'Extract';
COMMENT ON COLUMN ptl.feed_example.example IS 'The row, as an object of its staged columns';

CREATE TABLE ptl.feed_rule (
    extract     text NOT NULL REFERENCES ptl.feed (extract),
    rule        text NOT NULL,
    column_name text,
    action      text NOT NULL CHECK (action IN ('quarantine', 'load_without')),
    reason      text NOT NULL,
    listed_by   text CHECK (listed_by ~ '^V[0-9]{2}$'),
    description text NOT NULL,
    example     jsonb NOT NULL CHECK (jsonb_typeof(example) = 'array' AND jsonb_array_length(example) > 0),
    PRIMARY KEY (extract, rule),
    CHECK ((action = 'quarantine') = (listed_by IS NULL))
);
COMMENT ON TABLE ptl.feed_rule IS
    'Row rules of an extract beyond its columns'' rules (which ptl.extract_column states), with an example that breaks each';
COMMENT ON COLUMN ptl.feed_rule.extract IS 'Extract';
COMMENT ON COLUMN ptl.feed_rule.rule IS 'Name of the rule';
COMMENT ON COLUMN ptl.feed_rule.column_name IS 'The column the quarantine or the warning names';
COMMENT ON COLUMN ptl.feed_rule.action IS 'quarantine the row, or load_without the value (warning)';
COMMENT ON COLUMN ptl.feed_rule.reason IS 'Reason code in ptl.rejected_row or ptl.load_warning';
COMMENT ON COLUMN ptl.feed_rule.listed_by IS 'Validation rule listing a warned record';
COMMENT ON COLUMN ptl.feed_rule.description IS 'The rule in words, and why';
COMMENT ON COLUMN ptl.feed_rule.example IS
    'Rows that break it, staged in order in one batch: each {"extract": ..., "set": {column: value}} over that extract''s example row; the last is the row the rule applies to';

INSERT INTO ptl.feed_example (extract, example) VALUES
    ('patient', '{"local_patient_id": "EX-P1", "nhs_number": "943 476 5919", "given_name": "Ann", "family_name": "Example",
                  "date_of_birth": "1960-05-01", "sex": "2", "postcode": "LS1 4AP", "address_line_1": "1 Example Street",
                  "ethnic_category": "A", "lsoa_code": "E01000001", "gp_practice_code": "B86001"}'),
    ('pathway', '{"local_patient_id": "EX-P1", "ppid": "EX-PW1", "ppid_issuer": "RZ9", "treatment_function": "110",
                  "referral_priority": "1", "referral_received": "2024-11-04", "consultant_code": "C1234567",
                  "triage_priority": "2"}'),
    ('pathway_event', '{"ppid_issuer": "RZ9", "ppid": "EX-PW1", "event_ref": "EX-E1", "event_date": "2024-11-04",
                        "kind": "referral", "rtt_status": "10", "event_time": "09:30"}'),
    ('waiting_list_entry', '{"ppid_issuer": "RZ9", "ppid": "EX-PW1", "entry_ref": "EX-W1", "procedure_code": "W37.1",
                             "procedure_description": "Total hip replacement", "intended_management": "1",
                             "clinical_priority": "P3", "decision_to_admit": "2025-01-06", "expected_duration_minutes": "120",
                             "consultant_code": "C1234567"}');

INSERT INTO ptl.feed_rule (extract, rule, column_name, action, reason, listed_by, description, example) VALUES
    ('patient', 'death_before_birth', 'date_of_death', 'load_without', 'inconsistent', 'V32',
     'A date of death before the date of birth: which is wrong cannot be told, and a doubtful death must not take a patient off the list, so the row loads without the death',
     '[{"extract": "patient", "set": {"date_of_birth": "1990-01-01", "date_of_death": "1980-01-01"}}]'),
    ('pathway', 'patient_quarantined', 'local_patient_id', 'quarantine', 'parent_rejected', NULL,
     'The pathway''s patient row in the same batch was quarantined (it cannot be identified): the pathway cannot be placed',
     '[{"extract": "patient", "set": {"local_patient_id": "EX P2"}}, {"extract": "pathway", "set": {"local_patient_id": "EX P2"}}]'),
    ('pathway_event', 'pathway_quarantined', 'ppid', 'quarantine', 'parent_rejected', NULL,
     'The event''s pathway row in the same batch was quarantined: the event cannot be placed',
     '[{"extract": "pathway", "set": {"treatment_function": ""}}, {"extract": "pathway_event", "set": {}}]'),
    ('pathway_event', 'offer_without_date', 'ref_date', 'quarantine', 'missing_required', NULL,
     'An offer or a decline of an admission date without that date is not an offer',
     '[{"extract": "pathway_event", "set": {"kind": "tci_offer", "rtt_status": "", "ref_date": ""}}]'),
    ('pathway_event', 'offer_with_unusable_date', 'ref_date', 'quarantine', 'invalid_date', NULL,
     'An offer or a decline whose date cannot be read is not an offer',
     '[{"extract": "pathway_event", "set": {"kind": "tci_declined", "rtt_status": "", "ref_date": "31/02/2025"}}]'),
    ('pathway_event', 'transfer_without_start', 'ref_date', 'load_without', 'unknown_clock_start', 'V06',
     'A transfer in without the original clock start loads with an unknown clock start, reported in the return''s unknown clock start column (RTT guidance 10.1.5)',
     '[{"extract": "pathway_event", "set": {"kind": "transfer_in", "rtt_status": "", "ref_date": ""}}]'),
    ('waiting_list_entry', 'duration_out_of_range', 'expected_duration_minutes', 'load_without', 'out_of_range', 'V32',
     'An expected theatre time outside 1 to 1440 minutes is left out; theatre planning uses the procedure''s typical time',
     '[{"extract": "waiting_list_entry", "set": {"expected_duration_minutes": "3000"}}]'),
    ('waiting_list_entry', 'removal_without_reason', 'removal_reason', 'quarantine', 'inconsistent', NULL,
     'A removal date without its reason (or a reason without its date): the entry could be neither kept on nor taken off the list, so it keeps its last loaded state',
     '[{"extract": "waiting_list_entry", "set": {"removed_date": "2025-02-01"}}]'),
    ('waiting_list_entry', 'removed_before_decision', 'removed_date', 'quarantine', 'inconsistent', NULL,
     'A removal before the decision to admit',
     '[{"extract": "waiting_list_entry", "set": {"removed_date": "2024-12-01", "removal_reason": "other"}}]');

-- The policy, one line per fault: the column rules' faults (a required
-- value missing, a malformed or implausible value, a code the reference
-- table does not hold), the two rules every extract has (a key repeated
-- later in the extract; a parent not held), and each extract's row rules.
CREATE VIEW ptl.load_policy AS
SELECT f.load_order, c.extract, c.ordinal, x.fault, c.column_name, x.action,
       CASE WHEN x.action = 'quarantine' THEN NULL ELSE c.listed_by END AS listed_by,
       x.why
FROM ptl.extract_column c
JOIN ptl.feed f USING (extract)
CROSS JOIN LATERAL (VALUES
    ('missing', CASE WHEN c.required THEN 'quarantine' END,
     'a value every row needs'),
    ('malformed', CASE WHEN c.value_type IS NOT NULL OR c.allowed IS NOT NULL OR c.pattern IS NOT NULL
                            OR ptl_internal.extract_column_is_text(c)
                       THEN CASE WHEN c.when_invalid = 'quarantine' OR c.required THEN 'quarantine' ELSE 'load_without' END END,
     CASE WHEN ptl_internal.extract_column_is_text(c) THEN 'starts like a spreadsheet formula'
          ELSE coalesce(c.pattern_meaning, 'not a valid ' || format_type(c.value_type, NULL), 'not one of the allowed codes') END),
    ('implausible', CASE WHEN c.earliest_date IS NOT NULL
                         THEN CASE WHEN c.when_invalid = 'quarantine' OR c.required THEN 'quarantine' ELSE 'load_without' END END,
     format('outside %s to %s days after the batch opened', c.earliest_date, c.latest_days_after_opening)),
    ('unknown_code', CASE WHEN c.code_table IS NOT NULL THEN c.when_invalid END,
     format('well-formed, but not in ptl.%s', c.code_table))) x (fault, action, why)
WHERE x.action IS NOT NULL
UNION ALL
SELECT f.load_order, f.extract, 1000, 'repeated_key', NULL, 'quarantine', NULL,
       format('the same %s appears again later in the extract: only the last row counts', f.key_words)
FROM ptl.feed f
UNION ALL
SELECT f.load_order, f.extract, 1001, 'unknown_parent',
       CASE f.placed_on WHEN 'patient' THEN 'local_patient_id' WHEN 'pathway' THEN 'ppid' ELSE 'entry_ref' END,
       'quarantine', NULL, format('no such %s is held at the batch''s organisation', f.placed_on)
FROM ptl.feed f WHERE f.placed_on <> 'organisation'
UNION ALL
SELECT f.load_order, r.extract, 1002, r.rule, r.column_name, r.action, r.listed_by, r.description
FROM ptl.feed_rule r JOIN ptl.feed f USING (extract);
COMMENT ON VIEW ptl.load_policy IS
    'The loading policy, one line per fault of each extract: quarantine the row, or load it without the value (load_without) or with a placeholder code, and the validation rule that lists a warned record (docs/loading.md)';
COMMENT ON COLUMN ptl.load_policy.load_order IS 'The extract''s place in a load';
COMMENT ON COLUMN ptl.load_policy.extract IS 'Extract';
COMMENT ON COLUMN ptl.load_policy.ordinal IS 'The column''s place (row rules after the columns)';
COMMENT ON COLUMN ptl.load_policy.fault IS 'missing, malformed, implausible, unknown_code, repeated_key, unknown_parent, or a row rule''s name';
COMMENT ON COLUMN ptl.load_policy.column_name IS 'The column at fault';
COMMENT ON COLUMN ptl.load_policy.action IS 'quarantine, load_without or placeholder';
COMMENT ON COLUMN ptl.load_policy.listed_by IS 'The validation rule that lists a record loaded with the fault';
COMMENT ON COLUMN ptl.load_policy.why IS 'The fault in words';

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


-- ---------------------------------------------------------------------------
-- Retrying quarantined rows: once the cause is mended (a site or
-- commissioner added to the reference tables, a parent row resent), the
-- rows go back to staging, as delivered, in a new batch of the same source.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ptl.retry_rejected(batch bigint, reasons text[] DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    b ptl.batch;
    new_batch bigint;
    extract_name text;
    columns text;
    left_behind record;
BEGIN
    SELECT * INTO b FROM ptl.batch x WHERE x.batch_id = retry_rejected.batch;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'batch % does not exist', retry_rejected.batch USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM ptl_internal.assert_may_load(b.org_code);
    new_batch := ptl.open_batch(b.org_code, b.source_system, b.site_code,
                                format('retry of batch %s', b.batch_id));
    FOR extract_name IN SELECT x.extract FROM ptl.feed x ORDER BY x.load_order LOOP
        SELECT string_agg(quote_ident(c.column_name), ', ' ORDER BY c.ordinal) INTO columns
        FROM ptl.extract_column c WHERE c.extract = extract_name;
        -- Rows superseded later in their own extract stay where they are:
        -- the later row was the source's word.  So do records
        -- ptl.stage_extract refused (their raw is not an object of columns:
        -- a broken record, or fields the header cannot be matched to); they
        -- are counted below.
        EXECUTE format($q$
            WITH retried AS (
                UPDATE ptl.rejected_row r SET retried_in = $1
                WHERE r.batch_id = $2 AND r.extract = $3 AND r.retried_in IS NULL
                  AND r.reason <> 'duplicate_in_extract'
                  AND ($4 IS NULL OR r.reason = ANY ($4))
                  AND jsonb_typeof(r.raw) = 'object'
                RETURNING r.row_in_extract, r.raw)
            INSERT INTO ptl_stage.%1$I (batch_id, %2$s)
            SELECT $1, %2$s
            FROM retried, jsonb_populate_record(NULL::ptl_stage.%1$I, retried.raw)
            ORDER BY retried.row_in_extract$q$, extract_name, columns)
        USING new_batch, b.batch_id, extract_name, reasons;
    END LOOP;

    SELECT count(*) AS n,
           string_agg(DISTINCT r.reason, ', ' ORDER BY r.reason) AS reasons
    INTO left_behind
    FROM ptl.rejected_row r
    WHERE r.batch_id = b.batch_id AND r.retried_in IS NULL
      AND r.reason <> 'duplicate_in_extract'
      AND (retry_rejected.reasons IS NULL OR r.reason = ANY (retry_rejected.reasons))
      AND jsonb_typeof(r.raw) <> 'object';
    IF left_behind.n > 0 THEN
        RAISE NOTICE '% quarantined rows of batch % stay quarantined: they could not be read as columns (%)',
                     left_behind.n, b.batch_id, left_behind.reasons
            USING DETAIL = 'ptl.stage_extract refused these records before staging: the record is broken or its fields do not match the header, so it cannot be staged again as it was.',
                  HINT = 'Have the site correct and resend them; ptl.rejected_row.raw holds each one as delivered.';
    END IF;
    RETURN new_batch;
END
$$;
COMMENT ON FUNCTION ptl.retry_rejected(bigint, text[]) IS
    'Stages a batch''s quarantined rows again, as delivered, in a new batch of the same source (optionally only some reasons; rows superseded in their extract, and records ptl.stage_extract could not read as columns, excepted: a NOTICE counts the latter); returns the new batch for ptl.load()';

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

CREATE FUNCTION ptl.stage_extract(batch bigint, extract_name text, data bytea,
                                  encoding name DEFAULT 'UTF8', delimiter text DEFAULT ',',
                                  max_field_bytes int DEFAULT 4096,
                                  OUT records bigint, OUT staged bigint, OUT refused bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    b ptl.batch;
    header text[];
    header_problem text;
    known text[];
    bad text;
    records_before bigint;
BEGIN
    PERFORM ptl_internal.assert_extract(extract_name);
    SELECT * INTO b FROM ptl.batch x WHERE x.batch_id = stage_extract.batch FOR SHARE;
    IF FOUND THEN
        PERFORM ptl_internal.assert_may_load(b.org_code);
    END IF;
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

    -- A second file of the same extract in this batch numbers its records
    -- after the first's, so that each record keeps a place of its own.
    EXECUTE format('SELECT greatest((SELECT max(s.source_row) FROM ptl_stage.%I s WHERE s.batch_id = $1),
                                    (SELECT max(r.row_in_extract) FROM ptl.rejected_row r
                                     WHERE r.batch_id = $1 AND r.extract = $2), 0)', extract_name)
    INTO records_before
    USING batch, extract_name;

    -- Why each refused record is refused: how it was written, then its
    -- shape.  (A cell a spreadsheet would run is a value rule: ptl.load
    -- applies it to every staged row, however it was staged.)
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
            END
    FROM ptl_extract_record x
    CROSS JOIN LATERAL (
        SELECT CASE WHEN x.fields IS NOT NULL AND cardinality(x.fields) <> cardinality(header)
                    THEN 'wrong_column_count' END AS reason,
               NULL::int AS column_no) v
    WHERE r.record_no = x.record_no AND r.record_no > 1
      AND (r.problem IS NOT NULL OR v.reason IS NOT NULL);

    INSERT INTO ptl.rejected_row (batch_id, extract, row_in_extract, column_name, value, reason, sqlstate,
                                  message, raw)
    SELECT batch, extract_name, records_before + r.record_no - 1,
           CASE WHEN r.reason <> 'wrong_column_count' THEN header[r.column_no] END,
           NULL,
           r.reason,
           CASE r.reason WHEN 'nul_byte' THEN '22021' WHEN 'invalid_encoding' THEN '22021'
                         WHEN 'field_too_long' THEN '22001'
                         ELSE '22P04' END,
           format('record %s: %s', records_before + r.record_no - 1, r.message),
           CASE WHEN r.fields IS NOT NULL THEN to_jsonb(r.fields) ELSE to_jsonb(r.raw) END
    FROM ptl_extract_record r
    WHERE r.reason IS NOT NULL
    ORDER BY r.record_no;
    GET DIAGNOSTICS refused = ROW_COUNT;

    EXECUTE format('INSERT INTO ptl_stage.%I (batch_id, source_row, %s) SELECT $1, $2 + r.record_no - 1, %s
                    FROM pg_temp.ptl_extract_record r WHERE r.record_no > 1 AND r.reason IS NULL ORDER BY r.record_no',
                   extract_name,
                   (SELECT string_agg(format('%I', h), ', ' ORDER BY i) FROM unnest(header) WITH ORDINALITY u(h, i)),
                   (SELECT string_agg(format('r.fields[%s]', i), ', ' ORDER BY i) FROM generate_subscripts(header, 1) i))
    USING batch, records_before;
    GET DIAGNOSTICS staged = ROW_COUNT;
    records := staged + refused;
    DROP TABLE pg_temp.ptl_extract_record;
END
$$;
COMMENT ON FUNCTION ptl.stage_extract(bigint, text, bytea, name, text, int) IS
    'Stages an extract file (CSV with a header naming the columns, in the given encoding) into an open batch: good records into ptl_stage, malformed ones (quoting, zero bytes, encoding, huge fields, column count) into ptl.rejected_row with the reason; then ptl.load checks the values (formula cells among them)';
