-- The monthly RTT return (long form, NHS England's wide layout and CSV), its
-- consistency checks, and the weekly WLMDS extract, on the small ICS
-- (sql/include/small_ics.sql, March 2025) plus a few pathways added here.
\ir sql/include/small_ics.sql
BEGIN;
-- Completed in March with the stopping activity in another function (counted there, 10.1.4);
-- a new period in March; a nullified period started in March (Part 3 excludes it, Q9).
SELECT count(rtt_test_pathway(provider, ppid, tfc, events)) AS pathways
FROM (VALUES
    ('RA2', 'XFN1', '301', '2025-01-06 referral; 2025-03-20 admission 30'),
    ('RA2', 'NEW1', '301', '2025-03-05 referral'),
    ('RA2', 'NUL2', '301', '2025-03-03 referral; 2025-03-24 dna 33')
) v (provider, ppid, tfc, events);
UPDATE pathway_event SET treatment_function = '100'
WHERE kind = 'admission' AND pathway_id = (SELECT pathway_id FROM pathway WHERE ppid = 'XFN1');

-- Long form: provider x commissioner x part x line x band; C_999 is every line.
SELECT * FROM rtt_return('2025-03-31') ORDER BY provider_org, part, line, week_band;

-- The published wide layout: bands shown here as band:count where non-zero.
SELECT provider_org, commissioner_code, part, line,
       (SELECT string_agg((i - 1) || ':' || bands[i], ' ') FROM generate_subscripts(bands, 1) i WHERE bands[i] > 0) AS bands,
       array_length(bands, 1) AS n_bands, total, unknown_start, total_all
FROM rtt_return_wide('2025-03-31');

-- The CSV header is NHS England's, column for column (121 columns, as in the
-- November 2024 full CSV extract): 13 descriptive, 105 bands, 3 totals.
SELECT n, h[n] AS column_name
FROM (SELECT string_to_array(ptl_internal.rtt_return_csv_header(), ',') AS h) x,
     unnest(ARRAY[1, 12, 13, 14, 15, 23, 24, 113, 114, 117, 118, 119, 120, 121]) n;
SELECT array_length(string_to_array(ptl_internal.rtt_return_csv_header(), ','), 1) AS columns;
-- CSV lines: the descriptive fields, the non-zero bands as band:count, then
-- Total, unknown clock starts and Total All (blank where NHS England leaves them blank).
SELECT array_to_string(f[1:13], ',') AS descriptive,
       (SELECT string_agg((i - 14) || ':' || f[i], ' ') FROM generate_series(14, 118) i WHERE f[i] NOT IN ('', '0')) AS bands,
       (SELECT count(*) FROM generate_series(14, 118) i WHERE f[i] = '') AS blank_bands,
       f[119] AS total, f[120] AS unknown, f[121] AS total_all, array_length(f, 1) AS fields
FROM (SELECT string_to_array(l, ',') AS f FROM rtt_return_csv('2025-03-31') l OFFSET 1) x;

-- The wide layout is a linear pivot of the long form; it equals release
-- 0.3.0's quadratic pivot (test/reference/rtt_return_wide_0_3.sql) row for
-- row, in the same order.
\set ECHO none
\i test/reference/rtt_return_wide_0_3.sql
\set ECHO all
SELECT d AS period_end, count(*) AS wide_rows,
       count(*) FILTER (WHERE n::text IS DISTINCT FROM o::text) AS rows_differing_from_0_3
FROM (VALUES (date '2025-02-28'), (date '2025-03-31')) v (d),
     LATERAL (SELECT n, o FROM rtt_return_wide(d) WITH ORDINALITY n
              FULL JOIN pg_temp.rtt_return_wide_0_3(d) WITH ORDINALITY o ON o.ordinality = n.ordinality) x
GROUP BY d ORDER BY d;

-- NHS England's checks (Annex B) as assertions.
SELECT check_id, provider_org, passed, detail FROM rtt_return_checks('2025-03-31');

-- One provider's return (its records only are computed) is its rows of the
-- whole return, in every layout.
SELECT (SELECT count(*) FROM (SELECT * FROM rtt_return('2025-03-31', 'RA2')
                              EXCEPT ALL SELECT * FROM rtt_return('2025-03-31') WHERE provider_org = 'RA2') x)
     + (SELECT count(*) FROM (SELECT * FROM rtt_return('2025-03-31') WHERE provider_org = 'RA2'
                              EXCEPT ALL SELECT * FROM rtt_return('2025-03-31', 'RA2')) y) AS long_rows_differing,
       (SELECT array_agg(csv_line ORDER BY o) FROM rtt_return_wide('2025-03-31', 'RA2') WITH ORDINALITY w (period, provider_org, commissioner_code, part, line, bands, total, unknown_start, total_all, csv_line, o))
     = (SELECT array_agg(csv_line ORDER BY o) FROM rtt_return_wide('2025-03-31') WITH ORDINALITY w (period, provider_org, commissioner_code, part, line, bands, total, unknown_start, total_all, csv_line, o)
        WHERE provider_org = 'RA2') AS wide_same,
       (SELECT count(*) FROM rtt_return_csv('2025-03-31', 'RA2')) AS csv_lines,
       (SELECT count(*) FROM rtt_return('2025-03-31', 'NOPE')) AS unknown_provider_rows;

-- Q9: counting nullified periods in Part 3 is a setting.
INSERT INTO rtt_setting (part3_counts_nullified) VALUES (true);
SELECT provider_org, sum(pathways) AS part_3 FROM rtt_return('2025-03-31')
WHERE part = 'Part_3' AND line = 'C_999' GROUP BY 1 ORDER BY 1;

-- WLMDS rows at the week-ending Sunday: IRTT with a decision to admit, ORTT without.
SELECT "ReportingOrganisation", "PATIENT_PATHWAY_IDENTIFIER", "REFERRAL_TO_TREATMENT_PERIOD_START_DATE",
       "ACTIVITY_TREATMENT_FUNCTION_CODE", "Waiting_List_Type", "PRIORITY_TYPE", "DATE_LAST_ATTENDED",
       "DAYS_WAITED", "WEEKS_WAITED_BAND"
FROM wlmds('2025-03-30');
ROLLBACK;

-- The return is for a month; WLMDS is for a week-ending Sunday.
SELECT * FROM rtt_return('2025-03-30');
SELECT * FROM wlmds('2025-03-31');
\ir sql/include/small_ics_drop.sql
