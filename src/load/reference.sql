-- ---------------------------------------------------------------------------
-- load, part 2: reference data from the files NHS England publishes.
--
-- The Organisation Data Service (ODS) publishes each kind of organisation as
-- a headerless CSV file of fixed column positions ("ODS data downloads",
-- digital.nhs.uk/services/organisation-data-service/data-search-and-export/
-- csv-downloads): NHS trusts (etr.csv), their sites (ets.csv), Integrated
-- Care Boards, Sub-ICB locations (eccg.csv), GP practices (epraccur.csv), and
-- successor organisations (succ.csv).  The organisation files share one
-- 27-field layout:
--   1 Organisation Code   2 Name   3 National Grouping
--   4 High Level Health Geography   5..9 Address Line 1..5   10 Postcode
--   11 Open Date   12 Close Date (both CCYYMMDD)   13 Status Code
--   14 Organisation Sub-Type Code   15 Parent Organisation Code
--   16 Join Parent Date   17 Left Parent Date   18 Contact Telephone Number
--   22 Amended Record Indicator   24 (GP practices: Provider/Purchaser)
--   26 (GP practices: Prescribing Setting); the others are null fields.
-- For a trust and a Sub-ICB location, field 4 is its ICB; for a trust site,
-- field 15 is its trust; for a GP practice, field 15 is its commissioner
-- (the Sub-ICB location).  succ.csv has 4 fields and a trailing empty one:
-- predecessor code, successor code, succession reason, effective date
-- (CCYYMMDD, the legal date).  Treatment functions (NHS Data Dictionary
-- TREATMENT FUNCTION CODE) have no ODS file: ptl reads code,title[,RTT
-- line] (docs/reference-data.md).
--
-- ptl.load_reference reads one file, checks every record, keeps each one it
-- refuses in ptl.reference_rejected with the field and the reason, and
-- upserts the others: nothing is lost (rows_read = inserted + updated +
-- unchanged + skipped + rejected, a constraint of ptl.reference_load).  It
-- resolves placeholders (rows the loader made from a code in an extract that
-- ptl did not know).  A closed or merged organisation stays: its pathways
-- keep it as their provider, and ptl.organisation_successor says who
-- reports them from the merger on (src/rtt/returns.sql).
--
-- Here, after src/load/load.sql, because it reuses its CSV splitter
-- (ptl.csv_records); the placeholder and open/close columns are the model's
-- (src/model/model.sql).
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.gp_practice (
    practice_code       text PRIMARY KEY CHECK (practice_code ~ '^[A-Z0-9]{6}$'),
    name                text NOT NULL,
    postcode            text,
    commissioner_code   text NOT NULL REFERENCES ptl.commissioner (commissioner_code),
    status              text NOT NULL CHECK (status IN ('active', 'closed', 'dormant', 'proposed')),
    prescribing_setting smallint CHECK (prescribing_setting BETWEEN 0 AND 99),
    open_date           date,
    close_date          date,
    recorded_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT gp_practice_closes_after_opening CHECK (close_date >= open_date),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT gp_practice_open_date_in_range CHECK (ptl.in_storage_range(open_date)),
    CONSTRAINT gp_practice_close_date_in_range CHECK (ptl.in_storage_range(close_date)),
    CONSTRAINT gp_practice_recorded_at_in_range CHECK (ptl.in_storage_range(recorded_at))
);
CREATE INDEX gp_practice_commissioner_idx ON ptl.gp_practice (commissioner_code);
COMMENT ON TABLE ptl.gp_practice IS
    'GP practices (prescribing cost centres) as ODS publishes them in epraccur.csv, with the commissioner (Sub-ICB location) each belongs to';
COMMENT ON COLUMN ptl.gp_practice.practice_code IS 'ODS code of the practice, e.g. A81001 (patient.gp_practice_code)';
COMMENT ON COLUMN ptl.gp_practice.name IS 'Name as ODS publishes it';
COMMENT ON COLUMN ptl.gp_practice.postcode IS 'Postcode';
COMMENT ON COLUMN ptl.gp_practice.commissioner_code IS 'Commissioner (Sub-ICB location) of the practice: epraccur field 15';
COMMENT ON COLUMN ptl.gp_practice.status IS 'ODS Status Code: active (A), closed (C), dormant (D) or proposed (P)';
COMMENT ON COLUMN ptl.gp_practice.prescribing_setting IS 'ODS Prescribing Setting (4 = GP practice): epraccur field 26';
COMMENT ON COLUMN ptl.gp_practice.open_date IS 'Open Date';
COMMENT ON COLUMN ptl.gp_practice.close_date IS 'Close Date (a closed practice stays: patients'' records keep its code)';
COMMENT ON COLUMN ptl.gp_practice.recorded_at IS 'When ptl first recorded the practice';

-- Successions (ODS: "one or more new or existing entities displace or
-- merge with one or more organisations which have closed legally"; the
-- date is the legal one).  One reporting successor per organisation.
CREATE TABLE ptl.organisation_successor (
    predecessor_code    text PRIMARY KEY REFERENCES ptl.organisation (org_code),
    successor_code      text NOT NULL REFERENCES ptl.organisation (org_code),
    effective_date      date NOT NULL,
    reason              text,
    recorded_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organisation_successor_not_itself CHECK (successor_code <> predecessor_code),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT organisation_successor_effective_date_in_range CHECK (ptl.in_storage_range(effective_date)),
    CONSTRAINT organisation_successor_recorded_at_in_range CHECK (ptl.in_storage_range(recorded_at))
);
CREATE INDEX organisation_successor_successor_idx ON ptl.organisation_successor (successor_code);
COMMENT ON TABLE ptl.organisation_successor IS
    'Which organisation succeeded a closed or merged one, and from when (ODS succ.csv). The predecessor stays, with its pathways; the RTT return reports them under the successor for every month whose last day is on or after the effective date';
COMMENT ON COLUMN ptl.organisation_successor.predecessor_code IS 'The organisation that closed or merged';
COMMENT ON COLUMN ptl.organisation_successor.successor_code IS 'The organisation that succeeded it';
COMMENT ON COLUMN ptl.organisation_successor.effective_date IS 'Legal date of the succession (ODS)';
COMMENT ON COLUMN ptl.organisation_successor.reason IS 'Succession reason as ODS publishes it (succ.csv field 3)';
COMMENT ON COLUMN ptl.organisation_successor.recorded_at IS 'When ptl recorded the succession';

CREATE TABLE ptl.reference_load (
    load_id         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('icb', 'sub_icb', 'trust', 'trust_site', 'gp_practice',
                                                  'successor', 'treatment_function')),
    file_name       text,
    loaded_at       timestamptz NOT NULL DEFAULT now(),
    loaded_by       text NOT NULL DEFAULT session_user,
    rows_read       bigint NOT NULL DEFAULT 0,
    rows_inserted   bigint NOT NULL DEFAULT 0,
    rows_updated    bigint NOT NULL DEFAULT 0,
    rows_unchanged  bigint NOT NULL DEFAULT 0,
    rows_skipped    bigint NOT NULL DEFAULT 0,
    rows_rejected   bigint NOT NULL DEFAULT 0,
    CONSTRAINT reference_load_nothing_lost
        CHECK (rows_read = rows_inserted + rows_updated + rows_unchanged + rows_skipped + rows_rejected),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT reference_load_loaded_at_in_range CHECK (ptl.in_storage_range(loaded_at))
);
COMMENT ON TABLE ptl.reference_load IS
    'Each reference file ptl.load_reference read, and what it did with its records. Nothing is lost: rows_read = inserted + updated + unchanged + skipped + rejected (a constraint).';
COMMENT ON COLUMN ptl.reference_load.load_id IS 'Key';
COMMENT ON COLUMN ptl.reference_load.kind IS 'Kind of file: icb, sub_icb, trust, trust_site, gp_practice, successor or treatment_function';
COMMENT ON COLUMN ptl.reference_load.file_name IS 'File name as the caller gave it, e.g. etr.csv';
COMMENT ON COLUMN ptl.reference_load.loaded_at IS 'When it was read';
COMMENT ON COLUMN ptl.reference_load.loaded_by IS 'Login that read it';
COMMENT ON COLUMN ptl.reference_load.rows_read IS 'Records in the file';
COMMENT ON COLUMN ptl.reference_load.rows_inserted IS 'Records of a code ptl did not hold';
COMMENT ON COLUMN ptl.reference_load.rows_updated IS 'Records that changed a row ptl held (a placeholder resolved counts here)';
COMMENT ON COLUMN ptl.reference_load.rows_unchanged IS 'Records identical to the row ptl held';
COMMENT ON COLUMN ptl.reference_load.rows_skipped IS 'Successions between two organisations ptl holds neither of (the national file covers every organisation)';
COMMENT ON COLUMN ptl.reference_load.rows_rejected IS 'Records refused, each in ptl.reference_rejected';

CREATE TABLE ptl.reference_rejected (
    load_id         bigint NOT NULL REFERENCES ptl.reference_load (load_id),
    record_no       int NOT NULL,
    field_no        int,
    field_name      text,
    value           text,
    reason          text NOT NULL CHECK (reason IN (
                        'unterminated_quote', 'stray_quote', 'nul_byte', 'invalid_encoding', 'field_too_long',
                        'wrong_column_count', 'missing_required', 'invalid_code', 'invalid_date', 'inconsistent',
                        'duplicate_in_file', 'unknown_parent', 'unknown_organisation', 'shipped_row')),
    message         text NOT NULL,
    raw             jsonb NOT NULL,
    PRIMARY KEY (load_id, record_no)
);
COMMENT ON TABLE ptl.reference_rejected IS
    'Records of a reference file ptl.load_reference refused, with the field at fault and why. Fix the file (or load the parent first) and read it again.';
COMMENT ON COLUMN ptl.reference_rejected.load_id IS 'The load (ptl.reference_load)';
COMMENT ON COLUMN ptl.reference_rejected.record_no IS 'Position of the record in the file (1 = first line)';
COMMENT ON COLUMN ptl.reference_rejected.field_no IS 'Field at fault, numbered as the published layout numbers it (NULL: the whole record)';
COMMENT ON COLUMN ptl.reference_rejected.field_name IS 'Name of that field in the published layout';
COMMENT ON COLUMN ptl.reference_rejected.value IS 'The value at fault, as in the file';
COMMENT ON COLUMN ptl.reference_rejected.reason IS
    'Reason code: the CSV faults of ptl.csv_records, wrong_column_count, missing_required, invalid_code, invalid_date, inconsistent (e.g. closes before it opens), duplicate_in_file (a later record of a code), unknown_parent (its ICB, trust or commissioner is not held: load that file first), unknown_organisation (a succession to or from an organisation ptl does not hold), shipped_row (a treatment function ptl ships, given another name or line)';
COMMENT ON COLUMN ptl.reference_rejected.message IS 'What is wrong, in words a data manager can act on';
COMMENT ON COLUMN ptl.reference_rejected.raw IS 'The record''s fields as read (or, when they could not be read, the record made printable)';

SELECT pg_catalog.pg_extension_config_dump('ptl.gp_practice', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.organisation_successor', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.reference_load', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.reference_load_load_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ptl.reference_rejected', '');

-- An ODS date (CCYYMMDD) as a date; NULL when it is not one.  Checked
-- field by field so that no input can raise.
CREATE FUNCTION ptl_internal.ods_date(value text) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN value !~ '^[0-9]{8}$' THEN NULL
            WHEN substr(value, 1, 4)::int < 1 OR substr(value, 5, 2)::int NOT BETWEEN 1 AND 12 THEN NULL
            WHEN substr(value, 7, 2)::int NOT BETWEEN 1
                 AND extract(day FROM make_date(substr(value, 1, 4)::int, substr(value, 5, 2)::int, 1)
                                      + interval '1 month - 1 day')::int THEN NULL
            ELSE make_date(substr(value, 1, 4)::int, substr(value, 5, 2)::int, substr(value, 7, 2)::int) END;
COMMENT ON FUNCTION ptl_internal.ods_date(text) IS
    'A date as ODS writes it (CCYYMMDD, e.g. 20240401) as a date; NULL when it is not a valid date';

-- Who reports an organisation's pathways for a month: its successor, and
-- the successor's, for every succession in force by the month's last day.
CREATE FUNCTION ptl.successor_in_force(period_end date)
RETURNS TABLE (org_code text, reporting_org text)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
BEGIN ATOMIC
    WITH RECURSIVE chain (org_code, reporting_org, depth) AS (
        SELECT s.predecessor_code, s.successor_code, 1
        FROM ptl.organisation_successor s WHERE s.effective_date <= period_end
        UNION ALL
        SELECT c.org_code, s.successor_code, c.depth + 1
        FROM chain c
        JOIN ptl.organisation_successor s ON s.predecessor_code = c.reporting_org AND s.effective_date <= period_end)
    CYCLE reporting_org SET looped USING path
    SELECT DISTINCT ON (c.org_code) c.org_code, c.reporting_org
    FROM chain c WHERE NOT c.looped
    ORDER BY c.org_code, c.depth DESC;
END;
COMMENT ON FUNCTION ptl.successor_in_force(date) IS
    'Organisations succeeded by the given day (a month''s last day), each with the organisation that reports its pathways: the end of its chain of successions in force by then';

CREATE FUNCTION ptl.reporting_org(org text, period_end date) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN coalesce((SELECT s.reporting_org FROM ptl.successor_in_force(period_end) s WHERE s.org_code = org), org);
COMMENT ON FUNCTION ptl.reporting_org(text, date) IS
    'The organisation that reports an organisation''s pathways in the RTT return for the month ending on period_end: its successor once a merger is in force, else itself';

-- ---------------------------------------------------------------------------
-- Reading a file
-- ---------------------------------------------------------------------------
CREATE FUNCTION ptl.load_reference(kind text, data bytea, ics_code text DEFAULT NULL,
                                   file_name text DEFAULT NULL, encoding name DEFAULT 'UTF8',
                                   OUT load_id bigint, OUT rows_read bigint, OUT inserted bigint,
                                   OUT updated bigint, OUT unchanged bigint, OUT skipped bigint,
                                   OUT rejected bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    k CONSTANT text := load_reference.kind;
    standard CONSTANT boolean := load_reference.kind IN ('icb', 'sub_icb', 'trust', 'trust_site', 'gp_practice');
    -- where each value is, by kind (NULL: not in this file)
    f_parent int := CASE k WHEN 'sub_icb' THEN 4 WHEN 'trust' THEN 4 WHEN 'trust_site' THEN 15
                           WHEN 'gp_practice' THEN 15 WHEN 'successor' THEN 2 WHEN 'treatment_function' THEN 3 END;
    f_open int := CASE WHEN standard THEN 11 WHEN k = 'successor' THEN 4 END;
    min_fields int := CASE WHEN standard THEN 27 WHEN k = 'successor' THEN 4 ELSE 2 END;
    max_fields int := CASE WHEN standard THEN 27 WHEN k = 'successor' THEN 5 ELSE 3 END;
    field_names text[] := CASE
        WHEN standard THEN ARRAY['Organisation Code', 'Name', 'National Grouping', 'High Level Health Geography',
                                 'Address Line 1', 'Address Line 2', 'Address Line 3', 'Address Line 4',
                                 'Address Line 5', 'Postcode', 'Open Date', 'Close Date', 'Status Code',
                                 'Organisation Sub-Type Code', 'Parent Organisation Code', 'Join Parent Date',
                                 'Left Parent Date', 'Contact Telephone Number', NULL, NULL, NULL,
                                 'Amended Record Indicator', NULL, 'Provider/Purchaser', NULL,
                                 'Prescribing Setting', NULL]
        WHEN k = 'successor' THEN ARRAY['Predecessor Organisation Code', 'Successor Organisation Code',
                                        'Succession Reason', 'Effective Date', NULL]
        ELSE ARRAY['Treatment Function Code', 'Treatment Function Title', 'RTT Line'] END;
    code_pattern text := CASE k WHEN 'icb' THEN '^[A-Z0-9]{3,5}$' WHEN 'sub_icb' THEN '^[A-Z0-9]{3,5}$'
                                WHEN 'trust' THEN '^[A-Z0-9]{3,6}$' WHEN 'trust_site' THEN '^[A-Z0-9]{5}$'
                                WHEN 'gp_practice' THEN '^[A-Z0-9]{6}$' WHEN 'successor' THEN '^[A-Z0-9]{3,6}$'
                                ELSE '^[0-9]{3}$' END;
    parent_pattern text := CASE k WHEN 'sub_icb' THEN '^[A-Z0-9]{3,5}$' WHEN 'gp_practice' THEN '^[A-Z0-9]{3,5}$'
                                  WHEN 'treatment_function' THEN '^[0-9A-Z]{3}$' ELSE '^[A-Z0-9]{3,6}$' END;
    chk record;
    succ record;
BEGIN
    IF k IS NULL OR k NOT IN ('icb', 'sub_icb', 'trust', 'trust_site', 'gp_practice', 'successor', 'treatment_function') THEN
        RAISE EXCEPTION 'there is no reference file of kind %', coalesce(quote_literal(k), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The kinds are icb, sub_icb (eccg.csv), trust (etr.csv), trust_site (ets.csv), gp_practice (epraccur.csv), successor (succ.csv) and treatment_function.';
    END IF;
    IF ics_code IS NOT NULL AND k <> 'icb' THEN
        RAISE EXCEPTION 'ics_code names the ICS among the ICBs, so it is given with a file of kind icb, not %', k
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A trust is in the ICS when its ICB is: load the ICB file with ics_code first.';
    END IF;
    IF ics_code !~ '^[A-Z0-9]{3,5}$' THEN
        RAISE EXCEPTION 'ics_code % is not an ICB code', quote_literal(ics_code)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'An ICB code is three characters, e.g. QZZ.';
    END IF;
    IF data IS NULL THEN
        RAISE EXCEPTION 'the file of kind % is NULL', k USING ERRCODE = 'null_value_not_allowed';
    END IF;

    INSERT INTO ptl.reference_load (kind, file_name) VALUES (k, load_reference.file_name)
    RETURNING reference_load.load_id INTO load_reference.load_id;

    IF to_regclass('pg_temp.ptl_reference_record') IS NOT NULL THEN
        DROP TABLE pg_temp.ptl_reference_record;
    END IF;
    -- Every record, its values by role, and (later) why it is refused.
    -- Values are trimmed; an empty field is missing.
    CREATE TEMP TABLE ptl_reference_record ON COMMIT DROP AS
    SELECT c.record_no, c.fields, c.problem, c.bad_field, c.raw,
           nullif(btrim(c.fields[1]), '') AS code,
           CASE WHEN k <> 'successor' THEN nullif(btrim(c.fields[2]), '') END AS name,
           nullif(btrim(c.fields[f_parent]), '') AS parent,
           CASE WHEN standard THEN nullif(btrim(c.fields[10]), '') END AS postcode,
           nullif(btrim(c.fields[f_open]), '') AS open_text,
           CASE WHEN standard THEN nullif(btrim(c.fields[12]), '') END AS close_text,
           CASE k WHEN 'gp_practice' THEN nullif(btrim(c.fields[13]), '')
                  WHEN 'successor' THEN nullif(btrim(c.fields[3]), '') END AS extra,
           CASE WHEN k = 'gp_practice' THEN nullif(btrim(c.fields[26]), '') END AS setting,
           NULL::text AS reason, NULL::int AS field_no, NULL::text AS message, NULL::text AS outcome
    FROM ptl.csv_records(data, encoding, ',', 4096) c;

    -- 1. How the record is written, then its shape.
    UPDATE ptl_reference_record r
    SET reason = r.problem, field_no = r.bad_field,
        message = CASE r.problem
            WHEN 'unterminated_quote' THEN 'the file ends inside a quoted field'
            WHEN 'stray_quote' THEN 'a quoted field is followed by more text before the next comma'
            WHEN 'nul_byte' THEN 'the record holds a zero byte, which text cannot'
            WHEN 'invalid_encoding' THEN format('the record is not valid %s', encoding)
            ELSE 'a field is longer than 4096 bytes' END
    WHERE r.problem IS NOT NULL;
    UPDATE ptl_reference_record r
    SET reason = 'wrong_column_count',
        message = format('the record has %s fields; the published %s layout has %s', cardinality(r.fields),
                         CASE WHEN standard THEN 'ODS' WHEN k = 'successor' THEN 'succ.csv' ELSE 'treatment function' END,
                         CASE WHEN min_fields = max_fields THEN min_fields::text
                              ELSE min_fields || ' or ' || max_fields END)
    WHERE r.reason IS NULL AND cardinality(r.fields) NOT BETWEEN min_fields AND max_fields;

    -- 2. Each value: present where required, a code of the right form, a
    --    date.  The first fault of a record is the one reported.
    FOR chk IN
        SELECT * FROM (VALUES
            (1, 'code', 'required', NULL, true),
            (1, 'code', 'pattern', code_pattern, true),
            (2, 'name', 'required', NULL, k <> 'successor'),
            (f_parent, 'parent', 'required', NULL, k NOT IN ('icb', 'treatment_function')),
            (f_parent, 'parent', 'pattern', parent_pattern, k <> 'icb'),
            (13, 'extra', 'required', NULL, k = 'gp_practice'),
            (13, 'extra', 'status', NULL, k = 'gp_practice'),
            (26, 'setting', 'pattern', '^[0-9]{1,2}$', k = 'gp_practice'),
            (f_open, 'open_text', 'required', NULL, k = 'successor'),
            (f_open, 'open_text', 'date', NULL, k <> 'treatment_function'),
            (12, 'close_text', 'date', NULL, standard)) v (field_no, col, rule, pattern, applies)
        WHERE v.applies
    LOOP
        EXECUTE format($q$
            UPDATE pg_temp.ptl_reference_record r
            SET reason = %1$L, field_no = %2$s,
                message = format(%3$L, %4$L, %2$s, r.%5$I, %6$L)
            WHERE r.reason IS NULL AND %7$s$q$,
            CASE chk.rule WHEN 'required' THEN 'missing_required' WHEN 'date' THEN 'invalid_date' ELSE 'invalid_code' END,
            chk.field_no,
            CASE chk.rule
                WHEN 'required' THEN '%s (field %s) is empty'
                WHEN 'date' THEN '%s (field %s) is %L, not a date written CCYYMMDD between 1850 and 2200'
                WHEN 'status' THEN '%s (field %s) is %L, not A (active), C (closed), D (dormant) or P (proposed)'
                ELSE '%s (field %s) is %L, not a code of the form %s' END,
            field_names[chk.field_no], chk.col,
            CASE WHEN chk.rule = 'pattern' THEN chk.pattern END,
            CASE chk.rule
                WHEN 'required' THEN format('r.%I IS NULL', chk.col)
                WHEN 'pattern' THEN format('r.%1$I !~ %2$L', chk.col, chk.pattern)
                WHEN 'status' THEN format('r.%I NOT IN (''A'', ''C'', ''D'', ''P'')', chk.col)
                ELSE format('r.%1$I IS NOT NULL AND NOT coalesce(ptl.in_storage_range(ptl_internal.ods_date(r.%1$I)), false)', chk.col)
                END);
    END LOOP;

    -- 3. The record as a whole.
    UPDATE ptl_reference_record r
    SET reason = 'inconsistent', field_no = 12,
        message = format('Close Date %s is before Open Date %s', r.close_text, r.open_text)
    WHERE r.reason IS NULL AND ptl_internal.ods_date(r.close_text) < ptl_internal.ods_date(r.open_text);
    UPDATE ptl_reference_record r
    SET reason = 'inconsistent', field_no = 2,
        message = format('organisation %s cannot succeed itself', r.code)
    WHERE r.reason IS NULL AND k = 'successor' AND r.parent = r.code;
    -- The national succession file names every organisation that ever
    -- closed: a succession between two organisations ptl holds neither of
    -- is not ptl's (skipped, and counted); one with a single end held is a
    -- fault to act on.
    UPDATE ptl_reference_record r SET outcome = 'skipped'
    WHERE r.reason IS NULL AND k = 'successor'
      AND NOT EXISTS (SELECT 1 FROM ptl.organisation o WHERE o.org_code IN (r.code, r.parent));
    UPDATE ptl_reference_record r
    SET reason = 'duplicate_in_file', field_no = 1,
        message = format('%s appears in an earlier record of the file (record %s), which is the one read',
                         r.code, d.first_record)
    FROM (SELECT x.record_no, min(x.record_no) OVER (PARTITION BY x.code) AS first_record
          FROM ptl_reference_record x WHERE x.reason IS NULL AND x.outcome IS NULL) d
    WHERE r.record_no = d.record_no AND d.first_record < r.record_no;

    -- 4. What it hangs from: the parent must be held already (the files
    --    are read parents first: ICBs, Sub-ICB locations, trusts, sites,
    --    GP practices, successions).
    UPDATE ptl_reference_record r
    SET reason = 'unknown_parent', field_no = f_parent,
        message = format('%s %s is not held: %s', field_names[f_parent], r.parent,
                         CASE k WHEN 'sub_icb' THEN 'load the ICB file first'
                                WHEN 'trust' THEN 'load the ICB file first'
                                WHEN 'trust_site' THEN 'load the trust file (etr.csv) first'
                                ELSE 'load the Sub-ICB location file (eccg.csv) first' END)
    WHERE r.reason IS NULL
      AND CASE k WHEN 'sub_icb' THEN NOT EXISTS (SELECT 1 FROM ptl.commissioner c
                                                 WHERE c.commissioner_code = r.parent AND c.commissioner_kind = 'icb')
                 WHEN 'trust' THEN NOT EXISTS (SELECT 1 FROM ptl.organisation o WHERE o.org_code = r.parent)
                 WHEN 'trust_site' THEN NOT EXISTS (SELECT 1 FROM ptl.organisation o WHERE o.org_code = r.parent)
                 WHEN 'gp_practice' THEN NOT EXISTS (SELECT 1 FROM ptl.commissioner c WHERE c.commissioner_code = r.parent)
                 ELSE false END;
    IF k = 'treatment_function' THEN
        UPDATE ptl_reference_record r
        SET reason = 'invalid_code', field_no = 3,
            message = format('RTT Line (field 3) is %L, not a line of the RTT return (ptl.rtt_line)', r.parent)
        WHERE r.reason IS NULL AND r.parent IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM ptl.rtt_line l WHERE l.line_code = r.parent AND l.line_code <> '999');
        UPDATE ptl_reference_record r
        SET reason = 'missing_required', field_no = 3,
            message = format('treatment function %s is not one ptl ships: its RTT Line (field 3) says which line of the return it is counted on', r.code)
        WHERE r.reason IS NULL AND r.parent IS NULL
          AND NOT EXISTS (SELECT 1 FROM ptl.treatment_function t WHERE t.tfc = r.code);
        UPDATE ptl_reference_record r
        SET reason = 'shipped_row', field_no = CASE WHEN t.name <> r.name THEN 2 ELSE 3 END,
            message = format('treatment function %s is shipped with ptl as %L on line %s; the file says %L%s',
                             r.code, t.name, t.rtt_line, r.name,
                             CASE WHEN r.parent IS NOT NULL THEN ' on line ' || r.parent ELSE '' END)
                      || CASE WHEN t.name <> r.name THEN ' (a newer title: ptl''s next release ships it)'
                              ELSE ' (a trust''s line goes in ptl.treatment_function_override)' END
        FROM ptl.treatment_function t
        WHERE r.reason IS NULL AND t.tfc = r.code AND t.shipped
          AND (t.name <> r.name OR t.rtt_line <> coalesce(r.parent, t.rtt_line));
    END IF;
    IF k = 'successor' THEN
        UPDATE ptl_reference_record r
        SET reason = 'unknown_organisation', field_no = CASE WHEN p.org_code IS NULL THEN 1 ELSE 2 END,
            message = format('%s %s is not held, so its succession cannot be recorded: load its file (e.g. etr.csv) first',
                             CASE WHEN p.org_code IS NULL THEN 'predecessor' ELSE 'successor' END,
                             CASE WHEN p.org_code IS NULL THEN r.code ELSE r.parent END)
        FROM ptl_reference_record x
        LEFT JOIN ptl.organisation p ON p.org_code = x.code
        LEFT JOIN ptl.organisation s ON s.org_code = x.parent
        WHERE r.record_no = x.record_no AND r.reason IS NULL AND r.outcome IS NULL
          AND (p.org_code IS NULL OR s.org_code IS NULL);
        UPDATE ptl_reference_record r
        SET reason = 'inconsistent', field_no = 2,
            message = format('%s is already succeeded by %s (from %s); ptl reports an organisation''s pathways under one successor',
                             r.code, s.successor_code, s.effective_date)
        FROM ptl.organisation_successor s
        WHERE r.reason IS NULL AND r.outcome IS NULL AND s.predecessor_code = r.code AND s.successor_code <> r.parent;
        -- A record that would make a circle of successions (A by B, B by A).
        FOR succ IN SELECT x.record_no, x.code, x.parent FROM ptl_reference_record x
                    WHERE x.reason IS NULL AND x.outcome IS NULL ORDER BY x.record_no LOOP
            IF EXISTS (WITH RECURSIVE ahead (code) AS (
                           SELECT succ.parent
                           UNION
                           SELECT s.successor_code FROM ahead a
                           JOIN (SELECT o.predecessor_code, o.successor_code FROM ptl.organisation_successor o
                                 WHERE o.predecessor_code <> succ.code
                                 UNION ALL
                                 SELECT y.code, y.parent FROM ptl_reference_record y
                                 WHERE y.reason IS NULL AND y.outcome IS NULL AND y.record_no < succ.record_no) s
                             ON s.predecessor_code = a.code)
                       SELECT 1 FROM ahead WHERE ahead.code = succ.code) THEN
                UPDATE ptl_reference_record x
                SET reason = 'inconsistent', field_no = 2,
                    message = format('%s succeeded by %s would make a circle of successions', succ.code, succ.parent)
                WHERE x.record_no = succ.record_no;
            END IF;
        END LOOP;
    END IF;

    INSERT INTO ptl.reference_rejected (load_id, record_no, field_no, field_name, value, reason, message, raw)
    SELECT load_reference.load_id, r.record_no, r.field_no, field_names[r.field_no],
           CASE WHEN r.fields IS NOT NULL AND r.field_no IS NOT NULL THEN r.fields[r.field_no] END,
           r.reason, format('record %s: %s', r.record_no, r.message),
           CASE WHEN r.fields IS NOT NULL THEN to_jsonb(r.fields) ELSE to_jsonb(r.raw) END
    FROM ptl_reference_record r
    WHERE r.reason IS NOT NULL
    ORDER BY r.record_no;

    -- 5. What each good record does: a new code, a change (a placeholder
    --    resolved is one), or nothing.
    IF k = 'icb' THEN
        UPDATE ptl_reference_record r
        SET outcome = CASE WHEN c.commissioner_code IS NULL AND o.org_code IS NULL THEN 'inserted'
                           WHEN c.commissioner_code IS NULL OR o.org_code IS NULL
                                OR (c.name, c.commissioner_kind, c.parent_code, c.open_date, c.close_date, c.placeholder)
                                   IS DISTINCT FROM (r.name, 'icb', NULL::text, ptl_internal.ods_date(r.open_text), ptl_internal.ods_date(r.close_text), false)
                                OR (o.name, o.open_date, o.close_date, o.placeholder)
                                   IS DISTINCT FROM (r.name, ptl_internal.ods_date(r.open_text), ptl_internal.ods_date(r.close_text), false)
                                OR (ics_code IS NOT NULL AND (o.org_kind, o.in_ics) IS DISTINCT FROM
                                    (CASE WHEN r.code = ics_code THEN 'ics' ELSE 'other' END, r.code = ics_code))
                                THEN 'updated'
                           ELSE 'unchanged' END
        FROM ptl_reference_record x
        LEFT JOIN ptl.commissioner c ON c.commissioner_code = x.code
        LEFT JOIN ptl.organisation o ON o.org_code = x.code
        WHERE r.record_no = x.record_no AND r.reason IS NULL;
        INSERT INTO ptl.commissioner AS c (commissioner_code, name, commissioner_kind, parent_code, open_date, close_date, placeholder)
        SELECT r.code, r.name, 'icb', NULL, ptl_internal.ods_date(r.open_text), ptl_internal.ods_date(r.close_text), false
        FROM ptl_reference_record r WHERE r.outcome IN ('inserted', 'updated') ORDER BY r.record_no
        ON CONFLICT (commissioner_code) DO UPDATE
        SET name = excluded.name, commissioner_kind = excluded.commissioner_kind, parent_code = excluded.parent_code,
            open_date = excluded.open_date, close_date = excluded.close_date, placeholder = false;
        -- The ICB is also the organisation its trusts hang from (the RTT
        -- return's Provider Parent Org Code); the one named by ics_code is
        -- the ICS, the others are outside it.
        INSERT INTO ptl.organisation AS o (org_code, name, org_kind, in_ics, open_date, close_date, placeholder)
        SELECT r.code, r.name, CASE WHEN r.code = ics_code THEN 'ics' ELSE 'other' END,
               coalesce(r.code = ics_code, false), ptl_internal.ods_date(r.open_text), ptl_internal.ods_date(r.close_text), false
        FROM ptl_reference_record r WHERE r.outcome IN ('inserted', 'updated') ORDER BY r.record_no
        ON CONFLICT (org_code) DO UPDATE
        SET name = excluded.name, open_date = excluded.open_date, close_date = excluded.close_date, placeholder = false,
            org_kind = CASE WHEN ics_code IS NULL THEN o.org_kind ELSE excluded.org_kind END,
            in_ics = CASE WHEN ics_code IS NULL THEN o.in_ics ELSE excluded.in_ics END;
    ELSIF k = 'sub_icb' THEN
        UPDATE ptl_reference_record r
        SET outcome = CASE WHEN c.commissioner_code IS NULL THEN 'inserted'
                           WHEN (c.name, c.commissioner_kind, c.parent_code, c.open_date, c.close_date, c.placeholder)
                                IS DISTINCT FROM (r.name, 'sub_icb', r.parent, ptl_internal.ods_date(r.open_text), ptl_internal.ods_date(r.close_text), false)
                                THEN 'updated'
                           ELSE 'unchanged' END
        FROM ptl_reference_record x LEFT JOIN ptl.commissioner c ON c.commissioner_code = x.code
        WHERE r.record_no = x.record_no AND r.reason IS NULL;
        INSERT INTO ptl.commissioner (commissioner_code, name, commissioner_kind, parent_code, open_date, close_date, placeholder)
        SELECT r.code, r.name, 'sub_icb', r.parent, ptl_internal.ods_date(r.open_text), ptl_internal.ods_date(r.close_text), false
        FROM ptl_reference_record r WHERE r.outcome IN ('inserted', 'updated') ORDER BY r.record_no
        ON CONFLICT (commissioner_code) DO UPDATE
        SET name = excluded.name, commissioner_kind = excluded.commissioner_kind, parent_code = excluded.parent_code,
            open_date = excluded.open_date, close_date = excluded.close_date, placeholder = false;
    ELSIF k = 'trust' THEN
        -- A trust is in the ICS when its ICB is.
        UPDATE ptl_reference_record r
        SET outcome = CASE WHEN o.org_code IS NULL THEN 'inserted'
                           WHEN (o.name, o.org_kind, o.parent_org_code, o.in_ics, o.open_date, o.close_date, o.placeholder)
                                IS DISTINCT FROM (r.name, 'nhs_trust', r.parent, p.in_ics, ptl_internal.ods_date(r.open_text),
                                                  ptl_internal.ods_date(r.close_text), false)
                                THEN 'updated'
                           ELSE 'unchanged' END
        FROM ptl_reference_record x
        JOIN ptl.organisation p ON p.org_code = x.parent
        LEFT JOIN ptl.organisation o ON o.org_code = x.code
        WHERE r.record_no = x.record_no AND r.reason IS NULL;
        INSERT INTO ptl.organisation (org_code, name, org_kind, parent_org_code, in_ics, open_date, close_date, placeholder)
        SELECT r.code, r.name, 'nhs_trust', r.parent, p.in_ics, ptl_internal.ods_date(r.open_text), ptl_internal.ods_date(r.close_text), false
        FROM ptl_reference_record r JOIN ptl.organisation p ON p.org_code = r.parent
        WHERE r.outcome IN ('inserted', 'updated') ORDER BY r.record_no
        ON CONFLICT (org_code) DO UPDATE
        SET name = excluded.name, org_kind = excluded.org_kind, parent_org_code = excluded.parent_org_code,
            in_ics = excluded.in_ics, open_date = excluded.open_date, close_date = excluded.close_date,
            placeholder = false;
    ELSIF k = 'trust_site' THEN
        UPDATE ptl_reference_record r
        SET outcome = CASE WHEN s.site_code IS NULL THEN 'inserted'
                           WHEN (s.org_code, s.name, s.postcode, s.open_date, s.close_date, s.placeholder)
                                IS DISTINCT FROM (r.parent, r.name, r.postcode, ptl_internal.ods_date(r.open_text),
                                                  ptl_internal.ods_date(r.close_text), false)
                                THEN 'updated'
                           ELSE 'unchanged' END
        FROM ptl_reference_record x LEFT JOIN ptl.site s ON s.site_code = x.code
        WHERE r.record_no = x.record_no AND r.reason IS NULL;
        INSERT INTO ptl.site (site_code, org_code, name, postcode, open_date, close_date, placeholder)
        SELECT r.code, r.parent, r.name, r.postcode, ptl_internal.ods_date(r.open_text), ptl_internal.ods_date(r.close_text), false
        FROM ptl_reference_record r WHERE r.outcome IN ('inserted', 'updated') ORDER BY r.record_no
        ON CONFLICT (site_code) DO UPDATE
        SET org_code = excluded.org_code, name = excluded.name, postcode = excluded.postcode,
            open_date = excluded.open_date, close_date = excluded.close_date, placeholder = false;
    ELSIF k = 'gp_practice' THEN
        UPDATE ptl_reference_record r
        SET outcome = CASE WHEN g.practice_code IS NULL THEN 'inserted'
                           WHEN (g.name, g.postcode, g.commissioner_code, g.status, g.prescribing_setting, g.open_date, g.close_date)
                                IS DISTINCT FROM (r.name, r.postcode, r.parent,
                                                  CASE r.extra WHEN 'A' THEN 'active' WHEN 'C' THEN 'closed'
                                                               WHEN 'D' THEN 'dormant' ELSE 'proposed' END,
                                                  r.setting::smallint, ptl_internal.ods_date(r.open_text), ptl_internal.ods_date(r.close_text))
                                THEN 'updated'
                           ELSE 'unchanged' END
        FROM ptl_reference_record x LEFT JOIN ptl.gp_practice g ON g.practice_code = x.code
        WHERE r.record_no = x.record_no AND r.reason IS NULL;
        INSERT INTO ptl.gp_practice (practice_code, name, postcode, commissioner_code, status, prescribing_setting,
                                     open_date, close_date)
        SELECT r.code, r.name, r.postcode, r.parent,
               CASE r.extra WHEN 'A' THEN 'active' WHEN 'C' THEN 'closed' WHEN 'D' THEN 'dormant' ELSE 'proposed' END,
               r.setting::smallint, ptl_internal.ods_date(r.open_text), ptl_internal.ods_date(r.close_text)
        FROM ptl_reference_record r WHERE r.outcome IN ('inserted', 'updated') ORDER BY r.record_no
        ON CONFLICT (practice_code) DO UPDATE
        SET name = excluded.name, postcode = excluded.postcode, commissioner_code = excluded.commissioner_code,
            status = excluded.status, prescribing_setting = excluded.prescribing_setting,
            open_date = excluded.open_date, close_date = excluded.close_date;
    ELSIF k = 'successor' THEN
        UPDATE ptl_reference_record r
        SET outcome = CASE WHEN s.predecessor_code IS NULL THEN 'inserted'
                           WHEN (s.effective_date, s.reason) IS DISTINCT FROM (ptl_internal.ods_date(r.open_text), r.extra)
                                THEN 'updated'
                           ELSE 'unchanged' END
        FROM ptl_reference_record x LEFT JOIN ptl.organisation_successor s ON s.predecessor_code = x.code
        WHERE r.record_no = x.record_no AND r.reason IS NULL AND r.outcome IS NULL;
        INSERT INTO ptl.organisation_successor (predecessor_code, successor_code, effective_date, reason)
        SELECT r.code, r.parent, ptl_internal.ods_date(r.open_text), r.extra
        FROM ptl_reference_record r WHERE r.outcome IN ('inserted', 'updated') ORDER BY r.record_no
        ON CONFLICT (predecessor_code) DO UPDATE
        SET effective_date = excluded.effective_date, reason = excluded.reason;
    ELSE
        -- Treatment functions a trust adds are its own rows (not shipped:
        -- pg_dump keeps them); a shipped one that the file repeats is unchanged.
        UPDATE ptl_reference_record r
        SET outcome = CASE WHEN t.tfc IS NULL THEN 'inserted'
                           WHEN t.shipped OR (t.name, t.rtt_line) IS NOT DISTINCT FROM (r.name, coalesce(r.parent, t.rtt_line))
                                THEN 'unchanged'
                           ELSE 'updated' END
        FROM ptl_reference_record x LEFT JOIN ptl.treatment_function t ON t.tfc = x.code
        WHERE r.record_no = x.record_no AND r.reason IS NULL;
        INSERT INTO ptl.treatment_function AS t (tfc, name, rtt_line, shipped)
        SELECT r.code, r.name, r.parent, false
        FROM ptl_reference_record r WHERE r.outcome IN ('inserted', 'updated') ORDER BY r.record_no
        ON CONFLICT (tfc) DO UPDATE
        SET name = excluded.name, rtt_line = coalesce(excluded.rtt_line, t.rtt_line);
    END IF;

    SELECT count(*), count(*) FILTER (WHERE r.outcome = 'inserted'), count(*) FILTER (WHERE r.outcome = 'updated'),
           count(*) FILTER (WHERE r.outcome = 'unchanged'), count(*) FILTER (WHERE r.outcome = 'skipped'),
           count(*) FILTER (WHERE r.reason IS NOT NULL)
    INTO rows_read, inserted, updated, unchanged, skipped, rejected
    FROM ptl_reference_record r;
    UPDATE ptl.reference_load l
    SET rows_read = load_reference.rows_read, rows_inserted = inserted, rows_updated = updated,
        rows_unchanged = unchanged, rows_skipped = skipped, rows_rejected = rejected
    WHERE l.load_id = load_reference.load_id;
    DROP TABLE pg_temp.ptl_reference_record;
END
$$;
COMMENT ON FUNCTION ptl.load_reference(text, bytea, text, text, name) IS
    'Reads one reference file in its published layout (kind icb, sub_icb = eccg.csv, trust = etr.csv, trust_site = ets.csv, gp_practice = epraccur.csv, successor = succ.csv, treatment_function), upserts its good records (resolving placeholders) and keeps every refused one in ptl.reference_rejected; returns the load and its counts (read = inserted + updated + unchanged + skipped + rejected). ics_code (with the ICB file) names the ICS this database serves';

-- ---------------------------------------------------------------------------
-- Placeholders waiting for their reference data
-- ---------------------------------------------------------------------------
CREATE VIEW ptl.reference_placeholder AS
SELECT 'organisation'::text AS kind, o.org_code AS code, o.name, o.recorded_at AS first_seen,
       (SELECT count(*) FROM ptl.pathway p WHERE p.provider_org = o.org_code)
       + (SELECT count(*) FROM ptl.patient pa WHERE pa.org_code = o.org_code) AS rows_using,
       'etr.csv: ptl.load_reference(''trust'', ...)'::text AS resolved_by
FROM ptl.organisation o WHERE o.placeholder
UNION ALL
SELECT 'site', s.site_code, s.name, s.recorded_at,
       (SELECT count(*) FROM ptl.pathway p WHERE p.site_code = s.site_code)
       + (SELECT count(*) FROM ptl.waiting_list_entry e WHERE e.site_code = s.site_code),
       'ets.csv: ptl.load_reference(''trust_site'', ...)'
FROM ptl.site s WHERE s.placeholder
UNION ALL
SELECT 'commissioner', c.commissioner_code, c.name, c.recorded_at,
       (SELECT count(*) FROM ptl.pathway p WHERE p.commissioner_code = c.commissioner_code)
       + (SELECT count(*) FROM ptl.patient pa WHERE pa.commissioner_code = c.commissioner_code),
       'eccg.csv: ptl.load_reference(''sub_icb'', ...), or the ICB file'
FROM ptl.commissioner c WHERE c.placeholder;
COMMENT ON VIEW ptl.reference_placeholder IS
    'Codes the loader met in an extract before the reference data named them (placeholders), with how many rows use each and which file resolves it';
COMMENT ON COLUMN ptl.reference_placeholder.kind IS 'organisation, site or commissioner';
COMMENT ON COLUMN ptl.reference_placeholder.code IS 'The code as the extract gave it';
COMMENT ON COLUMN ptl.reference_placeholder.name IS 'The name the loader gave the placeholder';
COMMENT ON COLUMN ptl.reference_placeholder.first_seen IS 'When an extract first used the code';
COMMENT ON COLUMN ptl.reference_placeholder.rows_using IS 'Pathways and patient records (for a site: pathways and waiting-list entries) that use it, of those the reader may see';
COMMENT ON COLUMN ptl.reference_placeholder.resolved_by IS 'The published file whose load resolves it';
