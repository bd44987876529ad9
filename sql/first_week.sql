-- The first week of a DBA and an analyst: what they met, replayed, and what
-- ptl does now.  ptl.daily_refresh commits, and a drop is tried, so this
-- test has a database of its own.  What needs more than one database or a
-- shell is replayed by scripts: a restore (test/t/dump_restore.sh), the
-- pg_cron schedule (test/cron/schedule.sh) and the README's and guides'
-- first-week blocks as written (test/t/first_week_docs.sh).
\pset null '(null)'
SELECT current_database() AS home \gset
CREATE DATABASE ptl_first_week;
\c ptl_first_week
SET client_min_messages = warning;
CREATE EXTENSION ptl;
RESET client_min_messages;
SET datestyle = 'ISO, YMD';
DO $$ BEGIN
    IF to_regrole('regress_fw_bi') IS NULL THEN CREATE ROLE regress_fw_bi LOGIN; END IF;
    IF to_regrole('regress_fw_trust') IS NULL THEN CREATE ROLE regress_fw_trust LOGIN; END IF;
END $$;
GRANT ptl_reader TO regress_fw_bi, regress_fw_trust;

-- ---------------------------------------------------------------------------
-- Day 1, a fresh install.  A BI account nobody has mapped yet reads the
-- headline (no division by zero on an empty list) and learns why it is empty.
-- ---------------------------------------------------------------------------
SET ROLE regress_fw_bi;
SELECT provider_org, list_size, pct_within_18_weeks, median_weeks FROM ptl.ptl_headline;
SELECT organisations, sees_all_organisations, may_identify, explanation FROM ptl.my_access;
RESET ROLE;

-- Every view a plain reader is granted answers it, with rows or none; a view
-- it may not read (identifiers) is not granted to it, so a BI tool that
-- lists what it may select never meets "permission denied".
SET ROLE regress_fw_bi;
DO $$
DECLARE
    v record;
    failed text[] := '{}';
    granted int := 0;
BEGIN
    FOR v IN SELECT c.oid::regclass AS view_name FROM pg_class c
             WHERE c.relnamespace = 'ptl'::regnamespace AND c.relkind = 'v'
               AND has_table_privilege(c.oid, 'SELECT') ORDER BY 1 LOOP
        granted := granted + 1;
        BEGIN
            EXECUTE format('SELECT FROM %s LIMIT 1', v.view_name);
        EXCEPTION WHEN others THEN failed := failed || (v.view_name::text || ': ' || SQLERRM);
        END;
    END LOOP;
    RAISE NOTICE 'a plain reader may select % views; failing: %', granted, failed;
END $$;
RESET ROLE;

-- Two trusts send their first extracts.
INSERT INTO ptl.organisation (org_code, name) VALUES
    ('RZA', 'Alpha Hospitals NHS Trust'), ('RZB', 'Beta Hospitals NHS Trust');
INSERT INTO ptl.site (site_code, org_code, name) VALUES
    ('RZA01', 'RZA', 'Alpha General'), ('RZB01', 'RZB', 'Beta General');
SELECT ptl.open_batch('RZA', 'PAS', 'RZA01', 'first week') AS batch_a \gset
COPY ptl_stage.patient (local_patient_id, nhs_number, date_of_birth, sex) FROM stdin WITH (FORMAT csv);
A1,9434765919,1950-03-01,2
A2,4857773457,1961-04-02,1
007,,1972-05-03,1
\.
COPY ptl_stage.pathway (local_patient_id, ppid, ppid_issuer, treatment_function, referral_priority, referral_received)
    FROM stdin WITH (FORMAT csv);
A1,RZA-1,RZA,110,1,2025-01-06
A2,RZA-2,RZA,110,1,2024-02-05
007,12345678901234567890,RZA,110,3,2025-03-03
\.
COPY ptl_stage.pathway_event (ppid, ppid_issuer, event_ref, event_date, kind, rtt_status) FROM stdin WITH (FORMAT csv);
RZA-1,RZA,E1,2025-01-06,referral,
RZA-2,RZA,E1,2024-02-05,referral,
12345678901234567890,RZA,E1,2025-03-03,referral,
\.
SELECT status FROM ptl.close_batch(:batch_a);
SELECT ptl.open_batch('RZB', 'PAS', 'RZB01', 'first week') AS batch_b \gset
COPY ptl_stage.patient (local_patient_id, nhs_number, date_of_birth, sex) FROM stdin WITH (FORMAT csv);
B1,9434765919,1950-03-01,2
\.
COPY ptl_stage.pathway (local_patient_id, ppid, ppid_issuer, treatment_function, referral_priority, referral_received)
    FROM stdin WITH (FORMAT csv);
B1,RZB-1,RZB,130,2,2025-02-03
\.
COPY ptl_stage.pathway_event (ppid, ppid_issuer, event_ref, event_date, kind, rtt_status) FROM stdin WITH (FORMAT csv);
RZB-1,RZB,E1,2025-02-03,referral,
\.
SELECT status FROM ptl.close_batch(:batch_b);
SET client_min_messages = warning;
CALL ptl.daily_refresh('2025-03-03');
CALL ptl.daily_refresh('2025-03-31');
RESET client_min_messages;

-- The BI account is mapped to one trust: it now sees that trust's list.
INSERT INTO ptl.user_organisation (role_name, org_code) VALUES ('regress_fw_trust', 'RZA');
SET ROLE regress_fw_trust;
SELECT organisations, sees_all_organisations, explanation FROM ptl.my_access;
SELECT provider_org, treatment_function, list_size FROM ptl.ptl_headline ORDER BY 1, 2;
RESET ROLE;

-- ---------------------------------------------------------------------------
-- Figures that agree, at the census asked for: the trust's list in ptl.ptl,
-- the queue measures and the provider waits count the same pathways
-- (docs/measures.md); a census four weeks back gives its own figures, to
-- the trust's reader as to an administrator (trends need no admin rights).
-- The monthly return for one trust computes that trust's rows only.
-- ---------------------------------------------------------------------------
SET ROLE regress_fw_trust;
SELECT (SELECT count(*) FROM ptl.ptl WHERE treatment_function = '110') AS ptl_rows,
       (SELECT list_size FROM ptl.waiting_list_queue('2025-03-31')
        WHERE provider_org = 'RZA' AND treatment_function = '110') AS waiting_list_queue,
       (SELECT list_size FROM ptl.provider_waits
        WHERE census = '2025-03-31' AND provider_org = 'RZA' AND treatment_function = '110') AS provider_waits;
SELECT census, provider_org, treatment_function, list_size, round(median_weeks::numeric, 1) AS median_weeks
FROM ptl.provider_waits ORDER BY census, provider_org, treatment_function;
SELECT provider_org, treatment_function, list_size FROM ptl.waiting_list_queue('2025-03-03') ORDER BY 1, 2;
RESET ROLE;
SELECT count(*) AS csv_lines, count(*) FILTER (WHERE line LIKE '%RZB%') AS lines_of_the_other_trust
FROM ptl.rtt_return_csv('2025-03-31', 'RZA') AS line;

-- ---------------------------------------------------------------------------
-- An analyst's SQL with the default search_path: the comparison operators of
-- ptl's types live in pg_catalog, so =, <, IN and joins on NHS numbers,
-- statuses and priorities work without ptl on the path.
-- ---------------------------------------------------------------------------
SET search_path = "$user", public;
SELECT a.org_code AS org_a, b.org_code AS org_b, a.nhs_number
FROM ptl.patient a JOIN ptl.patient b ON a.nhs_number = b.nhs_number AND a.patient_id < b.patient_id;
SELECT count(*) AS matching FROM ptl.patient
WHERE nhs_number IN ('943 476 5919', '485-777-3457') AND nhs_number <> '4000000071';
SELECT 'P2'::ptl.clinical_priority < 'P3', 'p1a'::ptl.clinical_priority = 'P1a',
       '30'::ptl.rtt_status >= '10', '20'::ptl.rtt_status IN ('20', '21');
SELECT o.oprnamespace::regnamespace AS schema, count(*) AS operators
FROM pg_operator o WHERE o.oprleft IN ('ptl.nhs_number'::regtype, 'ptl.rtt_status'::regtype,
                                        'ptl.clinical_priority'::regtype, 'ptl.target_elapsed'::regtype)
GROUP BY 1;
RESET search_path;

-- ---------------------------------------------------------------------------
-- A spreadsheet user's export: names beside codes, Yes/No, readable lists and
-- percentages, and identifiers that stay as they were: hospital number 007
-- and a 20-digit PPID are written as text (="..."), not numbers that lose
-- their zeros or digits.
-- ---------------------------------------------------------------------------
SELECT "Provider", "Provider name", "Treatment function", "Treatment function name", "RTT line name",
       "PPID", "Hospital number", "Referral priority", "Decision to admit", "Validation issues", "List position"
FROM ptl.ptl_export ORDER BY "Provider", "List position";
SELECT line FROM ptl.ptl_export_csv('RZA') AS line;
-- The rule on its own: numbers, dates and formulas stay text; quotes cannot escape.
SELECT v AS value, ptl.csv_text(v) AS csv_field
FROM unnest(ARRAY['0123', '12345678901234567890', '3/4', '1E5', '-2', '=1+1', '@SUM(A1)',
                  'RZA-1', 'Alpha, General', '1" & "x', NULL]) v;

-- ---------------------------------------------------------------------------
-- A public interface a person can read: \df ptl.* lists what users call;
-- the helpers (type support, aggregate states, trigger functions, loader
-- steps, the linkage engine's steps, the pack's drawing) are in ptl_internal.
-- One name for one thing: census and treatment_function in every view; the
-- old column names still answer, deprecated, until 0.5.0.
-- ---------------------------------------------------------------------------
SELECT p.pronamespace::regnamespace AS schema, count(*) AS functions,
       count(*) FILTER (WHERE p.prorettype = 'trigger'::regtype) AS trigger_functions,
       count(*) FILTER (WHERE p.proname ~ '_(in|out|recv|send|cmp|hash|transfn|final)$') AS type_and_aggregate_support
FROM pg_proc p WHERE p.pronamespace IN ('ptl'::regnamespace, 'ptl_internal'::regnamespace)
GROUP BY 1 ORDER BY 1;
SELECT count(*) FILTER (WHERE census IS DISTINCT FROM census_date) AS provider_waits_disagree
FROM ptl.provider_waits;

-- ---------------------------------------------------------------------------
-- Uninstalling: DROP EXTENSION ptl would delete the patients, pathways and
-- the audit log without a word.  While they hold rows it is refused, as is
-- DROP SCHEMA ptl CASCADE, unless the DBA says so for that transaction.
-- ---------------------------------------------------------------------------
UPDATE ptl.patient SET postcode = 'LS1 4AP' WHERE local_patient_id = 'A1';  -- one audited change
DROP EXTENSION ptl;
DROP EXTENSION ptl CASCADE;
DROP SCHEMA ptl CASCADE;
BEGIN;
SET LOCAL ptl.allow_drop_with_data = off;
DROP EXTENSION ptl;
ROLLBACK;
-- Said explicitly, in the transaction that drops it (rolled back here).
BEGIN;
SET LOCAL ptl.allow_drop_with_data = on;
DROP EXTENSION ptl;
SELECT count(*) AS ptl_tables_left FROM pg_class WHERE relnamespace = to_regnamespace('ptl');
ROLLBACK;
SELECT count(*) AS patients_kept FROM ptl.patient;
-- Other extensions drop as ever.
CREATE EXTENSION ptl_synth;
DROP EXTENSION ptl_synth;

\c :home
DROP DATABASE ptl_first_week;
DROP ROLE regress_fw_bi, regress_fw_trust;
