-- ---------------------------------------------------------------------------
-- export: the PTL for people who are not SQL users (docs/export.md).  The
-- same rows as ptl.ptl, readable where a spreadsheet opens them: names
-- beside codes, Yes/No for booleans, lists joined with "; ", the share of
-- the target waited as a rounded percentage (not 90/28, which a spreadsheet
-- reads as a date), deprivation deciles as numbers, and, in the CSV, text a
-- spreadsheet would turn into a number, a date or a formula (losing leading
-- zeros, digits after the 15th, or running a formula from an extract)
-- written so that it stays text.
-- ---------------------------------------------------------------------------

-- Yes or No; NULL stays empty.
CREATE FUNCTION ptl.yes_no(value boolean) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN value THEN 'Yes' ELSE 'No' END;
COMMENT ON FUNCTION ptl.yes_no(boolean) IS 'Yes or No, as a spreadsheet user reads a boolean';

-- A text value as one CSV field that a spreadsheet shows as that text.
-- Excel and LibreOffice read a field of digits as a number (0123 loses its
-- zero; 20 digits keep 15), 3/4 or 1E5 as a date or a number, and a field
-- starting with = + - or @ as a formula (a value from an extract could run
-- one).  Such a value is written as the text formula ="0123", the
-- spreadsheets' own way to say "text", with every quote doubled so that no
-- value can close the string early.  Anything else is an ordinary field.
CREATE FUNCTION ptl.csv_text(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN value ~ '^\s*[-+]?[0-9]*[.,]?[0-9]+([eE][-+]?[0-9]+)?\s*$'
                 OR value ~ '^\s*[0-9]{1,4}\s*[-/.]\s*[0-9]{1,4}(\s*[-/.]\s*[0-9]{1,4})?\s*$'
                 OR value ~ '^[=+@\t\r-]'
            THEN ptl.csv_field('="' || replace(value, '"', '""') || '"')
            ELSE ptl.csv_field(value) END;
COMMENT ON FUNCTION ptl.csv_text(text) IS
    'A text value as a CSV field a spreadsheet shows as that text: numbers, date-like values and anything starting with = + - @ as the text formula ="..." (quotes doubled), the rest as ptl.csv_field';

CREATE VIEW ptl.ptl_export WITH (security_invoker) AS
SELECT l.census AS "Census date",
       l.provider_org AS "Provider",
       po.name AS "Provider name",
       l.site_code AS "Site",
       si.name AS "Site name",
       l.treatment_function AS "Treatment function",
       l.treatment_function_name AS "Treatment function name",
       rl.csv_code AS "RTT line",
       rl.name AS "RTT line name",
       l.commissioner_code AS "Commissioner",
       co.name AS "Commissioner name",
       l.pathway_id::text AS "Pathway record",
       l.ppid_issuer AS "PPID issuer",
       l.ppid AS "PPID",
       l.local_patient_id AS "Hospital number",
       l.nhs_number::text AS "NHS number",
       CASE l.referral_priority WHEN 'routine' THEN 'Routine' WHEN 'urgent' THEN 'Urgent'
                                WHEN 'two_week_wait' THEN 'Two week wait' END AS "Referral priority",
       l.clock_start AS "Clock start",
       l.days_waited AS "Days waited",
       l.weeks_waited AS "Weeks waited",
       l.breach_18_weeks_on AS "Over 18 weeks from",
       l.breach_52_weeks_on AS "Over 52 weeks from",
       ptl.yes_no(l.has_dta) AS "Decision to admit",
       l.decision_to_admit AS "Decision to admit date",
       l.clinical_priority::text AS "Clinical priority",
       l.procedure_code AS "Procedure",
       l.tci_date AS "TCI date",
       l.next_booked_date AS "Next booked",
       initcap(replace(l.next_booked_kind::text, '_', ' ')) AS "Next booked activity",
       array_to_string(l.validation_issues, '; ') AS "Validation issues",
       l.suspended_days AS "Days suspended",
       l.target_days AS "Target days",
       l.target_date AS "Target date",
       round(l.pct_target_elapsed, 1) AS "Percent of target waited",
       CASE l.order_group WHEN 'urgent' THEN 'Urgent (P1a, P1b)' WHEN 'by_target' THEN 'By share of target'
                          WHEN 'unprioritised' THEN 'No clinical priority' WHEN 'set_aside' THEN 'Set aside (P5, P6, suspended)'
                          WHEN 'non_admitted' THEN 'Non-admitted' END AS "Order group",
       l.list_position AS "List position",
       l.provisional_action AS "Provisional action",
       eg.decile AS "Deprivation decile"
FROM ptl.ptl l
LEFT JOIN ptl.organisation po ON po.org_code = l.provider_org
LEFT JOIN ptl.site si ON si.site_code = l.site_code
LEFT JOIN ptl.rtt_line rl ON rl.line_code = l.rtt_line
LEFT JOIN ptl.commissioner co ON co.commissioner_code = l.commissioner_code
LEFT JOIN ptl.patient_equity_group eg ON eg.patient_id = l.patient_id AND eg.dimension = 'imd_decile';
COMMENT ON VIEW ptl.ptl_export IS
    'The PTL for spreadsheets and people who are not SQL users: ptl.ptl''s rows with names beside codes, Yes/No, lists joined with "; ", percentages rounded, deprivation deciles as numbers (docs/export.md); ptl.ptl_export_csv writes it as CSV';
COMMENT ON COLUMN ptl.ptl_export."Census date" IS 'Census of the last refresh';
COMMENT ON COLUMN ptl.ptl_export."Provider" IS 'Provider code';
COMMENT ON COLUMN ptl.ptl_export."Provider name" IS 'Provider name';
COMMENT ON COLUMN ptl.ptl_export."Site" IS 'Managing site code';
COMMENT ON COLUMN ptl.ptl_export."Site name" IS 'Site name';
COMMENT ON COLUMN ptl.ptl_export."Treatment function" IS 'Treatment function code';
COMMENT ON COLUMN ptl.ptl_export."Treatment function name" IS 'Treatment function name';
COMMENT ON COLUMN ptl.ptl_export."RTT line" IS 'Line of the monthly RTT return (C_ code)';
COMMENT ON COLUMN ptl.ptl_export."RTT line name" IS 'Name of the line';
COMMENT ON COLUMN ptl.ptl_export."Commissioner" IS 'Commissioner code';
COMMENT ON COLUMN ptl.ptl_export."Commissioner name" IS 'Commissioner name';
COMMENT ON COLUMN ptl.ptl_export."Pathway record" IS 'ptl pathway record number, as text';
COMMENT ON COLUMN ptl.ptl_export."PPID issuer" IS 'Organisation that issued the patient pathway identifier';
COMMENT ON COLUMN ptl.ptl_export."PPID" IS 'Patient pathway identifier';
COMMENT ON COLUMN ptl.ptl_export."Hospital number" IS 'Local patient identifier (blank unless the user may see identifiers)';
COMMENT ON COLUMN ptl.ptl_export."NHS number" IS 'NHS number, 3-3-4 (blank unless the user may see identifiers)';
COMMENT ON COLUMN ptl.ptl_export."Referral priority" IS 'Routine, Urgent or Two week wait';
COMMENT ON COLUMN ptl.ptl_export."Clock start" IS 'RTT clock start (blank: unknown)';
COMMENT ON COLUMN ptl.ptl_export."Days waited" IS 'Days on the clock at the census';
COMMENT ON COLUMN ptl.ptl_export."Weeks waited" IS 'Whole weeks waited';
COMMENT ON COLUMN ptl.ptl_export."Over 18 weeks from" IS 'First day over 18 weeks';
COMMENT ON COLUMN ptl.ptl_export."Over 52 weeks from" IS 'First day over 52 weeks';
COMMENT ON COLUMN ptl.ptl_export."Decision to admit" IS 'Yes when a decision to admit has been made';
COMMENT ON COLUMN ptl.ptl_export."Decision to admit date" IS 'Date of the decision to admit';
COMMENT ON COLUMN ptl.ptl_export."Clinical priority" IS 'Surgical priority P1a to P6';
COMMENT ON COLUMN ptl.ptl_export."Procedure" IS 'Intended procedure (OPCS-4)';
COMMENT ON COLUMN ptl.ptl_export."TCI date" IS 'Admission date offered (to come in)';
COMMENT ON COLUMN ptl.ptl_export."Next booked" IS 'Next booked activity date';
COMMENT ON COLUMN ptl.ptl_export."Next booked activity" IS 'What is booked';
COMMENT ON COLUMN ptl.ptl_export."Validation issues" IS 'Validation rules the pathway breaks, e.g. V07; V26';
COMMENT ON COLUMN ptl.ptl_export."Days suspended" IS 'Days suspended since listing';
COMMENT ON COLUMN ptl.ptl_export."Target days" IS 'Days the clinical priority allows';
COMMENT ON COLUMN ptl.ptl_export."Target date" IS 'Date the clinical priority target falls due';
COMMENT ON COLUMN ptl.ptl_export."Percent of target waited" IS 'Share of the priority target waited so far, in percent, one decimal';
COMMENT ON COLUMN ptl.ptl_export."Order group" IS 'Which part of the ordered list the pathway is in';
COMMENT ON COLUMN ptl.ptl_export."List position" IS 'Place on the provider''s treatment function list';
COMMENT ON COLUMN ptl.ptl_export."Provisional action" IS 'ptl''s own change the PAS has not yet recorded';
COMMENT ON COLUMN ptl.ptl_export."Deprivation decile" IS 'IMD decile of the patient''s area, 1 most deprived (blank: not known)';

-- The export as CSV lines, header first, for \copy or a download: one
-- provider's rows, or all the caller may see.
CREATE FUNCTION ptl.ptl_export_csv(provider text DEFAULT NULL) RETURNS SETOF text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, ptl, pg_temp
BEGIN ATOMIC
    SELECT '"Census date","Provider","Provider name","Site","Site name","Treatment function","Treatment function name",'
        || '"RTT line","RTT line name","Commissioner","Commissioner name","Pathway record","PPID issuer","PPID",'
        || '"Hospital number","NHS number","Referral priority","Clock start","Days waited","Weeks waited",'
        || '"Over 18 weeks from","Over 52 weeks from","Decision to admit","Decision to admit date","Clinical priority",'
        || '"Procedure","TCI date","Next booked","Next booked activity","Validation issues","Days suspended",'
        || '"Target days","Target date","Percent of target waited","Order group","List position",'
        || '"Provisional action","Deprivation decile"'
    UNION ALL
    (SELECT concat_ws(',',
            to_char(x."Census date", 'YYYY-MM-DD'), ptl.csv_text(x."Provider"), ptl.csv_text(x."Provider name"),
            ptl.csv_text(x."Site"), ptl.csv_text(x."Site name"),
            ptl.csv_text(x."Treatment function"), ptl.csv_text(x."Treatment function name"),
            ptl.csv_text(x."RTT line"), ptl.csv_text(x."RTT line name"),
            ptl.csv_text(x."Commissioner"), ptl.csv_text(x."Commissioner name"),
            ptl.csv_text(x."Pathway record"), ptl.csv_text(x."PPID issuer"), ptl.csv_text(x."PPID"),
            ptl.csv_text(x."Hospital number"), ptl.csv_text(x."NHS number"), ptl.csv_text(x."Referral priority"),
            to_char(x."Clock start", 'YYYY-MM-DD'), x."Days waited"::text, x."Weeks waited"::text,
            to_char(x."Over 18 weeks from", 'YYYY-MM-DD'), to_char(x."Over 52 weeks from", 'YYYY-MM-DD'),
            ptl.csv_text(x."Decision to admit"), to_char(x."Decision to admit date", 'YYYY-MM-DD'),
            ptl.csv_text(x."Clinical priority"), ptl.csv_text(x."Procedure"),
            to_char(x."TCI date", 'YYYY-MM-DD'), to_char(x."Next booked", 'YYYY-MM-DD'),
            ptl.csv_text(x."Next booked activity"), ptl.csv_text(x."Validation issues"),
            x."Days suspended"::text, x."Target days"::text, to_char(x."Target date", 'YYYY-MM-DD'),
            x."Percent of target waited"::text, ptl.csv_text(x."Order group"), x."List position"::text,
            ptl.csv_text(x."Provisional action"), x."Deprivation decile"::text)
     FROM ptl.ptl_export x
     WHERE ptl_export_csv.provider IS NULL OR x."Provider" = ptl_export_csv.provider
     ORDER BY x."Provider", x."Treatment function", x."Decision to admit" DESC, x."List position", x."Pathway record");
END;
COMMENT ON FUNCTION ptl.ptl_export_csv(text) IS
    'ptl.ptl_export as CSV lines, header first, of one provider (NULL: every row the caller may see); text a spreadsheet would read as a number, a date or a formula is written so that it stays text (ptl.csv_text). E.g. \copy (SELECT * FROM ptl.ptl_export_csv(''RX1'')) TO ''ptl.csv''';
