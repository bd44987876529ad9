-- ---------------------------------------------------------------------------
-- beds, the front door: hospital spells and the elective bed base as
-- extracts (the admitted patient care spells of a trust's PAS, and its bed
-- management system's elective beds), loaded by ptl.load() like the PAS
-- extracts (src/load/stage.sql, docs/loading.md).  A spell is identified
-- on its pathway by the source's spell reference; a bed base by its site,
-- first day and day of the week.
-- ---------------------------------------------------------------------------

-- The source's reference of a spell, unique on its pathway (NULL for
-- spells inserted directly by an administrator).
ALTER TABLE ptl.hospital_spell ADD COLUMN source_ref text,
    ADD CONSTRAINT hospital_spell_source_ref_key UNIQUE (pathway_id, source_ref);
COMMENT ON COLUMN ptl.hospital_spell.source_ref IS
    'The source system''s reference of the spell (spell_ref of the hospital_spell extract), unique on its pathway; NULL when inserted directly';

CREATE TABLE ptl_stage.hospital_spell (
    batch_id            bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no              bigint GENERATED ALWAYS AS IDENTITY,
    ppid_issuer         text,
    ppid                text,
    spell_ref           text,
    entry_ref           text,
    site_code           text,
    procedure_code      text,
    treatment_function  text,
    intended_management text,
    elective            text,
    admitted            text,
    discharged          text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.hospital_spell (batch_id);
COMMENT ON TABLE ptl_stage.hospital_spell IS 'Hospital spell extract as delivered (one row per spell, admission to discharge)';

CREATE TABLE ptl_stage.elective_bed_base (
    batch_id            bigint NOT NULL DEFAULT ptl.current_batch(),
    row_no              bigint GENERATED ALWAYS AS IDENTITY,
    site_code           text,
    valid_from          text,
    isodow              text,
    beds                text,
    note                text,
    source_row          bigint
);
CREATE INDEX ON ptl_stage.elective_bed_base (batch_id);
COMMENT ON TABLE ptl_stage.elective_bed_base IS 'Elective bed base extract as delivered (one row per site, first day and day of the week)';

INSERT INTO ptl.feed (extract, load_order, capability, natural_key, key_words, placed_on, loader, target, description)
VALUES
    ('hospital_spell', 410, 'beds', '{ppid_issuer,ppid,spell_ref}', 'spell (ppid_issuer, ppid, spell_ref)', 'pathway',
     'ptl_internal.load_hospital_spells', 'ptl.hospital_spell', 'A hospital spell of a pathway''s patient, admission to discharge'),
    ('elective_bed_base', 420, 'beds', '{site_code,valid_from,isodow}', 'bed base (site_code, valid_from, isodow)', 'organisation',
     'ptl_internal.load_elective_bed_base', 'ptl.elective_bed_base', 'The elective beds a site keeps open overnight, from a date, every day or on one day of the week');

-- The policy's examples (ptl.feed_example: the PAS examples' pathway
-- RZ9/EX-PW1 and entry EX-W1 at site RZ901) and the row rules beyond the
-- column rules, named as in sql/load_care_feeds.sql (ptl.feed_rule;
-- docs/loading.md).  (C10, an every-day bed base row repeated, is the
-- repeated key of ptl.load_policy: the example's isodow is empty.)
INSERT INTO ptl.feed_example (extract, example) VALUES
    ('hospital_spell', '{"ppid_issuer": "RZ9", "ppid": "EX-PW1", "spell_ref": "EX-SP1", "entry_ref": "EX-W1", "site_code": "RZ901",
                         "procedure_code": "W37.1", "treatment_function": "110", "intended_management": "1", "elective": "Y",
                         "admitted": "2025-02-03", "discharged": "2025-02-06"}'),
    ('elective_bed_base', '{"site_code": "RZ901", "valid_from": "2025-01-01", "isodow": "", "beds": "24", "note": "Example ward"}');

INSERT INTO ptl.feed_rule (extract, rule, column_name, action, reason, listed_by, description, example) VALUES
    ('hospital_spell', 'C1_site_of_another_trust', 'site_code', 'quarantine', 'unknown_parent', NULL,
     'A site of another organisation: a trust''s extract loads into its own organisation''s records only',
     '[{"extract": "hospital_spell", "set": {"site_code": "RZ801"}}]'),
    ('hospital_spell', 'C6_discharge_before_admission', 'discharged', 'quarantine', 'inconsistent', NULL,
     'A discharge before the admission: which is wrong cannot be told, and left out the discharge would put the patient in a bed now',
     '[{"extract": "hospital_spell", "set": {"discharged": "2025-02-01"}}]'),
    ('hospital_spell', 'C8_entry_known', 'entry_ref', 'load_without', 'unknown_entry', 'V32',
     'An entry reference the pathway does not hold is left out: the spell still counts in the length-of-stay history',
     '[{"extract": "hospital_spell", "set": {"entry_ref": "NO-SUCH-ENTRY"}}]'),
    ('elective_bed_base', 'C1_site_of_another_trust', 'site_code', 'quarantine', 'unknown_parent', NULL,
     'A site of another organisation: a trust''s extract sets its own sites'' beds only',
     '[{"extract": "elective_bed_base", "set": {"site_code": "RZ801"}}]'),
    ('elective_bed_base', 'C4_beds_not_negative', 'beds', 'quarantine', 'out_of_range', NULL,
     'Negative beds: a bed base is its number of beds, and none can be read from it',
     '[{"extract": "elective_bed_base", "set": {"beds": "-1"}}]');

INSERT INTO ptl.extract_column
    (extract, column_name, ordinal, required, value_type, allowed, pattern, pattern_meaning, code_table, when_invalid, description,
     earliest_date, latest_days_after_opening, listed_by)
VALUES
    ('hospital_spell', 'ppid_issuer', 1, true, NULL, NULL, '^[A-Z0-9]{3,6}$', 'an ODS code of 3 to 6 capitals or digits', NULL, 'quarantine', 'Pathway: PPID issuer', NULL, NULL, NULL),
    ('hospital_spell', 'ppid', 2, true, NULL, NULL, '^[!-~]{1,20}$', 'up to 20 printable characters without spaces', NULL, 'quarantine', 'Pathway: PPID', NULL, NULL, NULL),
    ('hospital_spell', 'spell_ref', 3, true, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'quarantine', 'The source system''s identifier of the spell', NULL, NULL, NULL),
    ('hospital_spell', 'entry_ref', 4, false, NULL, NULL, '^[!-~]{1,40}$', 'up to 40 printable characters without spaces', NULL, 'load_without', 'The waiting-list entry the spell admitted, by its entry_ref on the same pathway. A malformed or unknown reference is left out (warning): the spell still counts in the length-of-stay history', NULL, NULL, 'V32'),
    ('hospital_spell', 'site_code', 5, false, NULL, NULL, '^[A-Z0-9]{5}$', 'an ODS site code of 5 capitals or digits', 'site', 'placeholder', 'Site of the bed (default: the batch''s site, else the pathway''s). A code ptl.site does not hold yet loads as a placeholder site of the batch''s organisation (warning); a malformed one is left out (warning); a site of another organisation quarantines the row (unknown_parent), and so does a spell whose site cannot be told at all', NULL, NULL, 'V32'),
    ('hospital_spell', 'procedure_code', 6, false, NULL, NULL, '^[A-Z][0-9]{2}\.?[0-9]?$', 'an OPCS-4 code such as W37.1', NULL, 'load_without', 'Main procedure (OPCS-4). Another value is left out (warning): the spell counts under its specialty', NULL, NULL, 'V32'),
    ('hospital_spell', 'treatment_function', 7, false, NULL, NULL, '^[0-9]{3}$', 'a treatment function code of 3 digits', 'treatment_function', 'placeholder', 'Treatment function of the spell (default: the pathway''s). A code ptl.treatment_function does not hold yet loads as a placeholder (warning); a malformed one is left out (warning) and the pathway''s is used', NULL, NULL, 'V32'),
    ('hospital_spell', 'intended_management', 8, true, NULL, '{1,2,3,4,5}', NULL, NULL, NULL, 'quarantine', 'INTENDED MANAGEMENT: 1 inpatient, 2 day case, 3 regular day, 4 regular night, 5 two or more nights. Required: lengths of stay are counted per intended management, so a spell without it says nothing', NULL, NULL, NULL),
    ('hospital_spell', 'elective', 9, false, NULL, '{Y,N,true,false}', NULL, NULL, NULL, 'load_without', 'Whether the admission was elective: Y or true, N or false. Missing or another value: loads as elective (warning for another value), which is what the extract is for', NULL, NULL, 'V32'),
    ('hospital_spell', 'admitted', 10, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', 'Admission date, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to the day the batch was opened. Required: a spell is its dates', '1980-01-01', 0, NULL),
    ('hospital_spell', 'discharged', 11, false, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', 'Discharge date (empty: still in hospital), YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to the day the batch was opened, not before admitted. An invalid, implausible or inconsistent date quarantines the row: left out, it would put the patient in a bed now (a held spell keeps its last loaded state)', '1980-01-01', 0, NULL),

    ('elective_bed_base', 'site_code', 1, true, NULL, NULL, '^[A-Z0-9]{5}$', 'an ODS site code of 5 capitals or digits', 'site', 'placeholder', 'Site. Required: the bed base is the site''s. A code ptl.site does not hold yet loads as a placeholder site of the batch''s organisation (warning); a site of another organisation quarantines the row (unknown_parent)', NULL, NULL, 'V32'),
    ('elective_bed_base', 'valid_from', 2, true, 'date', NULL, '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4})$', 'a date written YYYY-MM-DD or DD/MM/YYYY', NULL, 'quarantine', 'First day the number holds, YYYY-MM-DD or DD/MM/YYYY, plausible from 1980-01-01 to 730 days after the day the batch was opened. Required: part of the record''s key', '1980-01-01', 730, NULL),
    ('elective_bed_base', 'isodow', 3, false, NULL, '{1,2,3,4,5,6,7}', NULL, NULL, NULL, 'quarantine', 'Day of the week it holds for (1 Monday .. 7 Sunday; empty: every day). Part of the record''s key: another value quarantines the row', NULL, NULL, NULL),
    ('elective_bed_base', 'beds', 4, true, 'integer', NULL, NULL, NULL, NULL, 'quarantine', 'Elective beds open overnight (0 or more). Required: a bed base without its number of beds says nothing, so a missing, non-integer or negative value quarantines the row', NULL, NULL, NULL),
    ('elective_bed_base', 'note', 5, false, NULL, NULL, NULL, NULL, NULL, 'load_without', 'Why, e.g. ward closed for refurbishment. A value that starts like a spreadsheet formula is left out (warning)', NULL, NULL, 'V32');

CREATE FUNCTION ptl_internal.load_hospital_spells(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
BEGIN
    PERFORM ptl_internal.load_mark_foreign_sites(batch, 'hospital_spell', 'site_code');

    -- Where the spell is: the site given, else the batch's, else the
    -- pathway's; a spell nowhere cannot be placed in a bed count.
    UPDATE pg_temp.ptl_load_hospital_spell w
    SET reason = 'missing_required', bad_sqlstate = '23502', rule_column = 'site_code',
        bad_message = 'site_code is empty or unusable, and neither the batch nor the pathway has a site: the spell cannot be placed'
    FROM ptl.pathway p
    WHERE w.bad_column IS NULL AND w.reason IS NULL
      AND p.provider_org = b.org_code AND p.ppid_issuer = ptl.extract_value(w.ppid_issuer) AND p.ppid = ptl.extract_value(w.ppid)
      AND coalesce(CASE WHEN 'site_code' <> ALL (w.warn_columns) THEN ptl.extract_value(w.site_code) END,
                   b.site_code, p.site_code) IS NULL;

    -- A discharge before the admission: which is wrong cannot be told.
    UPDATE pg_temp.ptl_load_hospital_spell w
    SET reason = 'inconsistent', bad_sqlstate = '23514', rule_column = 'discharged',
        bad_message = format('discharged %s is before admitted %s', ptl.extract_value(w.discharged), ptl.extract_value(w.admitted))
    WHERE w.bad_column IS NULL AND w.reason IS NULL
      -- (CASE: only dates that passed their column rules are cast)
      AND CASE WHEN w.bad_column IS NULL THEN ptl.extract_value(w.discharged)::date < ptl.extract_value(w.admitted)::date END;

    -- An entry reference the pathway does not hold is left out.
    UPDATE pg_temp.ptl_load_hospital_spell w
    SET warn_columns = w.warn_columns || 'entry_ref'::text,
        warn_notes = coalesce(w.warn_notes, '{}') || jsonb_build_object('entry_ref', jsonb_build_object(
            'reason', 'unknown_entry', 'sqlstate', '23503',
            'message', format('entry_ref %s is not a waiting-list entry of this pathway', ptl.extract_value(w.entry_ref))))
    WHERE w.bad_column IS NULL AND w.reason IS NULL
      AND ptl.extract_value(w.entry_ref) IS NOT NULL AND 'entry_ref' <> ALL (w.warn_columns)
      AND NOT EXISTS (SELECT 1 FROM ptl.pathway p JOIN ptl.waiting_list_entry e ON e.pathway_id = p.pathway_id
                      WHERE p.provider_org = b.org_code AND p.ppid_issuer = ptl.extract_value(w.ppid_issuer)
                        AND p.ppid = ptl.extract_value(w.ppid) AND e.entry_ref = ptl.extract_value(w.entry_ref));

    WITH upserted AS (
        INSERT INTO ptl.hospital_spell AS t
            (pathway_id, source_ref, entry_id, site_code, procedure_code, treatment_function,
             intended_management, elective, admitted, discharged)
        SELECT p.pathway_id, ptl.extract_value(w.spell_ref), e.entry_id,
               coalesce(CASE WHEN 'site_code' <> ALL (w.warn_columns) THEN ptl.extract_value(w.site_code) END,
                        b.site_code, p.site_code),
               CASE WHEN 'procedure_code' <> ALL (w.warn_columns) THEN ptl.extract_value(w.procedure_code) END,
               coalesce(CASE WHEN 'treatment_function' <> ALL (w.warn_columns) THEN ptl.extract_value(w.treatment_function) END,
                        p.treatment_function),
               ptl.extract_value(w.intended_management),
               coalesce(CASE WHEN 'elective' <> ALL (w.warn_columns) THEN ptl.extract_value(w.elective) IN ('Y', 'true') END, true),
               ptl.extract_value(w.admitted)::date, ptl.extract_value(w.discharged)::date
        FROM pg_temp.ptl_load_hospital_spell w
        JOIN ptl.pathway p ON p.provider_org = b.org_code AND p.ppid_issuer = ptl.extract_value(w.ppid_issuer)
                          AND p.ppid = ptl.extract_value(w.ppid)
        LEFT JOIN ptl.waiting_list_entry e ON e.pathway_id = p.pathway_id AND 'entry_ref' <> ALL (w.warn_columns)
                                          AND e.entry_ref = ptl.extract_value(w.entry_ref)
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (pathway_id, source_ref) DO UPDATE
        SET entry_id = excluded.entry_id, site_code = excluded.site_code, procedure_code = excluded.procedure_code,
            treatment_function = excluded.treatment_function, intended_management = excluded.intended_management,
            elective = excluded.elective, admitted = excluded.admitted, discharged = excluded.discharged
        WHERE (t.entry_id, t.site_code, t.procedure_code, t.treatment_function, t.intended_management,
               t.elective, t.admitted, t.discharged)
              IS DISTINCT FROM
              (excluded.entry_id, excluded.site_code, excluded.procedure_code, excluded.treatment_function,
               excluded.intended_management, excluded.elective, excluded.admitted, excluded.discharged)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
    INTO loaded, changed
    FROM upserted;

    -- Good rows whose record was already held (counted, not taken as the
    -- remainder, so that a row lost on the way fails the accounting).
    PERFORM ptl.analyze_if_grown('ptl.hospital_spell', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_hospital_spell w
    JOIN ptl.pathway p ON p.provider_org = b.org_code AND p.ppid_issuer = ptl.extract_value(w.ppid_issuer)
                      AND p.ppid = ptl.extract_value(w.ppid)
    JOIN ptl.hospital_spell t ON t.pathway_id = p.pathway_id AND t.source_ref = ptl.extract_value(w.spell_ref)
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_hospital_spells(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s hospital spell extract';

CREATE FUNCTION ptl_internal.load_elective_bed_base(batch bigint, OUT loaded bigint, OUT changed bigint, OUT matched bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET datestyle = 'ISO, DMY'
AS $$
DECLARE
    b ptl.batch := (SELECT x FROM ptl.batch x WHERE x.batch_id = batch);
BEGIN
    PERFORM ptl_internal.load_mark_foreign_sites(batch, 'elective_bed_base', 'site_code');

    UPDATE pg_temp.ptl_load_elective_bed_base w
    SET reason = 'out_of_range', bad_sqlstate = '22003', rule_column = 'beds',
        bad_message = format('beds %s is negative', ptl.extract_value(w.beds))
    WHERE w.bad_column IS NULL AND w.reason IS NULL
      AND CASE WHEN w.bad_column IS NULL THEN ptl.extract_value(w.beds)::int < 0 END;

    -- Every-day rows (isodow empty) repeated for a site and first day: the
    -- last counts (ptl_internal.load_mark_repeats compares keys, and an empty day
    -- is no value to compare).
    UPDATE pg_temp.ptl_load_elective_bed_base w
    SET reason = 'duplicate_in_extract', bad_sqlstate = '23505',
        bad_message = format('the same bed base (site_code, valid_from, isodow) appears again at row %s of this extract; only the last row counts', d.last_row)
    FROM (SELECT ptl.extract_value(site_code) AS site_code, ptl.extract_value(valid_from) AS valid_from,
                 max(row_in_extract) AS last_row
          FROM pg_temp.ptl_load_elective_bed_base
          WHERE bad_column IS NULL AND ptl.extract_value(isodow) IS NULL
          GROUP BY 1, 2 HAVING count(*) > 1) d
    WHERE w.bad_column IS NULL AND w.reason IS NULL AND ptl.extract_value(w.isodow) IS NULL
      AND ptl.extract_value(w.site_code) = d.site_code AND ptl.extract_value(w.valid_from) = d.valid_from
      AND w.row_in_extract < d.last_row;

    WITH upserted AS (
        INSERT INTO ptl.elective_bed_base AS t (site_code, valid_from, isodow, beds, set_by, note)
        SELECT ptl.extract_value(w.site_code), ptl.extract_value(w.valid_from)::date,
               ptl.extract_value(w.isodow)::int, ptl.extract_value(w.beds)::int,
               b.opened_by, CASE WHEN 'note' <> ALL (w.warn_columns) THEN ptl.extract_value(w.note) END
        FROM pg_temp.ptl_load_elective_bed_base w
        WHERE w.bad_column IS NULL AND w.reason IS NULL
        ON CONFLICT (site_code, valid_from, coalesce(isodow, 0)) DO UPDATE
        SET beds = excluded.beds, note = excluded.note, set_by = excluded.set_by, set_at = now()
        WHERE (t.beds, t.note) IS DISTINCT FROM (excluded.beds, excluded.note)
        RETURNING (t.xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
    INTO loaded, changed
    FROM upserted;

    PERFORM ptl.analyze_if_grown('ptl.elective_bed_base', loaded);
    SELECT count(*) - loaded INTO matched
    FROM pg_temp.ptl_load_elective_bed_base w
    JOIN ptl.elective_bed_base t ON t.site_code = ptl.extract_value(w.site_code)
                                AND t.valid_from = ptl.extract_value(w.valid_from)::date
                                AND coalesce(t.isodow, 0) = coalesce(ptl.extract_value(w.isodow)::int, 0)
    WHERE w.bad_column IS NULL AND w.reason IS NULL;
END
$$;
COMMENT ON FUNCTION ptl_internal.load_elective_bed_base(bigint) IS
    'Internal to ptl.load(): row rules and upsert of a batch''s elective bed base extract';

SELECT ptl_internal.prepare_staging_table(e.extract) FROM ptl.feed e WHERE e.capability = 'beds';
