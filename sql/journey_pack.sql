-- The weekly PTL pack (docs/journey.md): the SVG charts ptl draws, the
-- tables beneath them, and the whole document for a hand-built ICS, for the
-- ICS and for one provider.  (test/t/pack_render.sh renders a generated
-- ICS's pack in headless Chromium.)
SET search_path = ptl, public;
SET datestyle = 'ISO, YMD';

-- Drawing.  A stacked chart of 2 series by 3 categories: one rect per
-- non-zero value, each with a title naming series, category and value; the
-- gridline step is round (1, 2 or 5 times a power of ten).
SELECT ptl_internal.chart_step(7) AS step_7, ptl_internal.chart_step(130) AS step_130, ptl_internal.chart_step(0.9) AS step_0_9,
       ptl_internal.chart_number(1234567) AS whole, ptl_internal.chart_number(12.345) AS fraction;
SELECT (SELECT count(*) FROM regexp_matches(svg, '<rect class="mark"', 'g')) AS bars,
       (regexp_match(svg, '<title>P2, 4–7: 5</title>'))[1] IS NOT NULL AS titled,
       (regexp_match(svg, 'viewBox="0 0 720 300"'))[1] IS NOT NULL AS sized,
       svg ~ '^<svg class="chart-svg" role="img"' AS opens, svg ~ '</svg>$' AS closes
FROM (SELECT ptl_internal.svg_chart('stacked', 'Waits', ARRAY['0–3', '4–7', '8–11'], ARRAY['P2', 'P3'],
                       ARRAY[[1, 5, 0], [2, NULL, 3]]::float8[], 'Pathways') AS svg) c;
-- Lines break at a missing value; a reference line is dashed and labelled.
SELECT (SELECT count(*) FROM regexp_matches(svg, '<polyline class="mark"', 'g')) AS line_pieces,
       (SELECT count(*) FROM regexp_matches(svg, '<circle class="mark"', 'g')) AS points,
       (regexp_match(svg, '<line class="reference"[^>]*/><text class="reference-label"[^>]*>target 85%</text>'))[1] IS NOT NULL
           AS reference
FROM (SELECT ptl_internal.svg_chart('lines', 'Utilisation', ARRAY['w1', 'w2', 'w3', 'w4'], ARRAY['site A'],
                       ARRAY[[80, 90, NULL, 70]]::float8[], '%', 85, 'target 85%') AS svg) c;
-- A reference that changes along the axis (a bed base) is a dashed step line.
SELECT (regexp_match(svg, '<polyline class="reference" fill="none" points="([^"]*)"/>'))[1] AS step_line
FROM (SELECT ptl_internal.svg_chart('stacked', 'Beds', ARRAY['Mon', 'Tue'], ARRAY['A'], ARRAY[[1, 2]]::float8[], 'Beds',
                       reference_line => ARRAY[3, 2], width => 200, height => 200) AS svg) c;
-- Nothing to draw says so (and the figure is marked empty).
SELECT ptl_internal.svg_chart('grouped', 'Nothing', '{}', '{}', '{}', 'n') ~ '<text class="no-data"' AS says_no_data,
       ptl_internal.pack_figure('x', 'Nothing', 'caption', ptl_internal.svg_chart('grouped', 'Nothing', '{}', '{}', '{}', 'n'), ARRAY['a'], '')
           ~ '^<figure class="chart" id="chart-x" data-empty="true">' AS marked_empty;
-- Text is escaped wherever it goes: titles, labels, legends, tables.
SELECT ptl_internal.svg_chart('stacked', '<script>alert(1)</script>', ARRAY['a&b'], ARRAY['"quoted"'], ARRAY[[1]]::float8[], 'y')
           !~ '<script|a&b|"quoted"' AS escaped,
       ptl_internal.html_row(ARRAY['<b>', '1,234', '12.5%', NULL]) AS row_cells,
       ptl_internal.html_row(ARRAY['Rule', 'Count'], true) AS header_cells;
\set VERBOSITY terse
SELECT ptl_internal.svg_chart('pie', 'x', ARRAY['a'], ARRAY['s'], ARRAY[[1]]::float8[], 'y');
SELECT ptl_internal.svg_chart('stacked', 'Bad shape', ARRAY['a', 'b'], ARRAY['s'], ARRAY[1, 2]::float8[], 'y');
SELECT ptl_internal.svg_chart('lines', 'Bad reference', ARRAY['a', 'b'], ARRAY['s'], ARRAY[[1, 2]]::float8[], 'y',
                 reference_line => ARRAY[1]);
\set VERBOSITY default

-- A small ICS: two trusts, snapshots for four weekly censuses.
BEGIN;
INSERT INTO organisation (org_code, name) VALUES ('JP1', 'Pack One NHS Trust'), ('JP2', 'Pack <Two> NHS Trust');
INSERT INTO site (site_code, org_code, name) VALUES ('JP101', 'JP1', 'One General'), ('JP201', 'JP2', 'Two General');
INSERT INTO batch (batch_id, org_code, source_system) VALUES (971, 'JP1', 'PAS'), (972, 'JP2', 'PAS');
INSERT INTO patient (patient_id, org_code, source_system, local_patient_id, batch_id)
SELECT 97000 + i, CASE WHEN i <= 6 THEN 'JP1' ELSE 'JP2' END, 'PAS', 'P' || i, CASE WHEN i <= 6 THEN 971 ELSE 972 END
FROM generate_series(1, 10) i;
INSERT INTO pathway (pathway_id, patient_id, provider_org, site_code, ppid, ppid_issuer, treatment_function,
                     referral_received, batch_id)
SELECT 97000 + i, 97000 + i, CASE WHEN i <= 6 THEN 'JP1' ELSE 'JP2' END, CASE WHEN i <= 6 THEN 'JP101' ELSE 'JP201' END,
       'PK' || i, 'JP1', CASE WHEN i % 2 = 0 THEN '110' ELSE '130' END,
       date '2025-03-31' - 60 * i, CASE WHEN i <= 6 THEN 971 ELSE 972 END
FROM generate_series(1, 10) i;
-- referrals 60 to 600 days ago; every other one seen and listed
INSERT INTO pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, batch_id)
SELECT p.pathway_id, p.patient_id, 'R', p.referral_received, 'referral'::event_kind, NULL::rtt_status, p.batch_id
FROM pathway p WHERE p.ppid LIKE 'PK%'
UNION ALL
SELECT p.pathway_id, p.patient_id, 'D', p.referral_received + 30, 'decision_to_admit', '20', p.batch_id
FROM pathway p WHERE p.ppid LIKE 'PK%' AND p.pathway_id % 2 = 0;
INSERT INTO waiting_list_entry (pathway_id, patient_id, entry_ref, intended_management, clinical_priority,
                                decision_to_admit, batch_id)
SELECT p.pathway_id, p.patient_id, 'W', '1', 'P3', p.referral_received + 30, p.batch_id
FROM pathway p WHERE p.ppid LIKE 'PK%' AND p.pathway_id % 2 = 0;
-- two consultants; the newest referral (60 days) triaged urgent
UPDATE pathway SET consultant_code = CASE WHEN ppid IN ('PK1', 'PK3', 'PK5') THEN 'C100' ELSE 'C200' END
WHERE ppid LIKE 'PK%';
UPDATE pathway SET triage_priority = 'urgent' WHERE ppid = 'PK1';
CALL refresh('2025-03-31');
SELECT backfill_census_snapshots('2025-03-10', '2025-03-24') AS backfilled;

CREATE TEMP TABLE pack AS SELECT weekly_pack('2025-03-31') AS html;
-- One document: nine charts, each with its table; nothing it would fetch
-- and no script; the print stylesheet for A4.
SELECT html ~ '^<!DOCTYPE html>' AS doctype, html ~ '</html>$' AS ends,
       (regexp_match(html, '<meta name="ptl-charts" content="(\d+)">'))[1] AS charts_said,
       (SELECT count(*) FROM regexp_matches(html, '<figure class="chart"', 'g')) AS figures,
       (SELECT count(*) FROM regexp_matches(html, '<svg class="chart-svg"', 'g')) AS svgs,
       (SELECT count(*) FROM regexp_matches(html, '</svg><figcaption>[^<]*</figcaption><table>', 'g')) AS tables_beneath,
       html !~* '<script|<img|<link|<iframe|src=|href=|url\(|@import' AS self_contained,
       html ~ '@media print\{@page\{size:A4' AS a4
FROM pack;
SELECT (regexp_matches(html, '<figure class="chart" id="(chart-[a-z-]+)"( data-empty="true")?', 'g')) AS figure FROM pack;
-- The non-admitted list by referral priority: its table (priority, waiting,
-- at or past the target of 14, 28 or 126 days, the share, median weeks, the
-- consultant with most past target).  PK1, routine but triaged urgent, has
-- waited 60 days, past an urgent referral's 28; the four routine referrals (180 to
-- 540 days) are past 126, two of them C100's and two C200's (the first
-- code named on a tie).
SELECT regexp_replace(regexp_replace((regexp_match(html, '<figure class="chart" id="chart-non-admitted".*?<tbody>(.*?)</tbody>'))[1],
                                     '</tr>', E'\n', 'g'), '<[^>]+>', ' ', 'g') AS non_admitted_table
FROM pack;
-- A past census reads as it stood: after the census a clinician takes
-- PK1's triage back to routine and the pathway passes to C300, and the
-- pack of 31 March still counts PK1 urgent, with C100 (the snapshot keeps
-- the triage priority and the consultant).
UPDATE pathway SET triage_priority = 'routine', consultant_code = 'C300' WHERE ppid = 'PK1';
SELECT (SELECT html FROM pack) = weekly_pack('2025-03-31') AS pack_of_the_census_unchanged;
UPDATE pathway SET triage_priority = 'urgent', consultant_code = 'C100' WHERE ppid = 'PK1';
-- The headline: 10 waiting at the census (waits of 60 to 600 days), 4 of
-- them over 52 weeks; a week earlier the same.
SELECT regexp_replace((regexp_match(html, '<section class="headline"[^>]*>(.*?)</section>'))[1], '<[^>]+>', ' ', 'g')
       AS headline
FROM pack;
-- The waiting-list table: a row per four-week band, a column per priority.
SELECT (regexp_match(html, '<caption>Waiting list by weeks waited: the numbers</caption><thead>(.*?)</thead>'))[1] AS head,
       (regexp_match(html, '(<tr><td>32–35</td>.*?</tr>)'))[1] AS band_32_35
FROM pack;
-- For one provider: its name (escaped) heads the pack and only its
-- pathways count.
SELECT (regexp_match(html, '<p class="scope">([^<]*)'))[1] AS scope,
       (regexp_match(html, '<b>(\d+)</b>waiting'))[1] AS waiting
FROM (SELECT weekly_pack('2025-03-31', 'JP2') AS html) p;
-- A trust's reader gets its trust's pack without asking: the same numbers.
CREATE ROLE journey_pack_reader IN ROLE ptl_reader;
INSERT INTO user_organisation (role_name, org_code) VALUES ('journey_pack_reader', 'JP2');
SET ROLE journey_pack_reader;
SELECT (regexp_match(html, '<p class="scope">([^<]*)'))[1] AS scope,
       (regexp_match(html, '<b>(\d+)</b>waiting'))[1] AS waiting
FROM (SELECT weekly_pack('2025-03-31') AS html) p;
RESET ROLE;
-- A census between snapshots reads the last one before it, and says so.
SELECT (regexp_match(weekly_pack('2025-03-20'), '<p class="scope">([^<]*)'))[1] AS scope;
ROLLBACK;

\set VERBOSITY terse
SELECT weekly_pack('2025-03-31', 'NOPE');
SELECT weekly_pack('1990-01-01');
\set VERBOSITY default
