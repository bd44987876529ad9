-- ptl.refresh() and the PTL: clocks stored per pathway, who reports a
-- transferred pathway, incremental refresh, census snapshots, settings.
-- On the small ICS of sql/include/small_ics.sql: WAIT1, DONE1, NULL1, MOVE1
-- (transferred from RA1 to RA2 on 2025-01-27: RA2 keeps the PPID and the
-- original start, RTT guidance 11), BOOK1 (an admission date offered for
-- after the census) and DNA1 (discharged after a later DNA, Q2).
\ir sql/include/small_ics.sql

-- Triggers marked every new pathway for the next refresh.  What follows is undone at the end.
BEGIN;
SELECT count(*) AS dirty FROM rtt_dirty_pathway;

CALL refresh('2025-03-31');
SELECT census, full_refresh, pathways_computed, periods, snapshot_rows FROM refresh_run ORDER BY run_id;
SELECT count(*) AS dirty_after FROM rtt_dirty_pathway;

-- Every period of every record, as ptl.rtt_periods gives it.
SELECT p.provider_org, p.ppid, r.period_no, r.clock_start, r.clock_stop, r.stop_status, r.outcome,
       r.days_waited, r.week_band, r.has_dta, rp.responsible, rp.transferred_out_on
FROM rtt_period r JOIN rtt_pathway rp USING (pathway_id) JOIN pathway p USING (pathway_id)
ORDER BY p.ppid, p.provider_org, r.period_no;

-- The PTL: incomplete periods their provider reports.  MOVE1 is on RA2's list
-- only (4.8: the referrer stops reporting at the transfer); breach dates are
-- start + 127, + 365 ...
SELECT provider_org, ppid, treatment_function, rtt_line, clock_start, days_waited, weeks_waited, week_band,
       breach_18_weeks_on, breach_52_weeks_on, has_dta, next_booked_date, next_booked_kind
FROM ptl ORDER BY provider_org, ppid;

-- Incremental: a new event marks its pathway; only it is recomputed.  WAIT1 is admitted.
INSERT INTO pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, batch_id)
SELECT pathway_id, patient_id, 'E9', '2025-04-03', 'admission', '30', 901 FROM pathway WHERE ppid = 'WAIT1';
SELECT p.ppid FROM rtt_dirty_pathway d JOIN pathway p USING (pathway_id);
CALL refresh('2025-04-07');
SELECT census, full_refresh, pathways_computed FROM refresh_run ORDER BY run_id DESC LIMIT 1;
-- Pathways not recomputed have grown a week older; WAIT1 is off the list.
SELECT provider_org, ppid, census, days_waited, week_band FROM ptl ORDER BY provider_org, ppid;
-- BOOK1's admission date (14 April) is now in the future still; the snapshot kept both censuses.
SELECT census_date, count(*) FROM census_snapshot GROUP BY 1 ORDER BY 1;

-- Events dated after an earlier census are picked up when a later census passes them.
INSERT INTO pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, batch_id)
SELECT pathway_id, patient_id, 'E9', '2025-04-20', 'admission', '30', 902 FROM pathway WHERE ppid = 'BOOK1';
CALL refresh('2025-04-14');
SELECT ppid, days_waited, next_event_date FROM ptl JOIN rtt_pathway USING (pathway_id) WHERE ppid = 'BOOK1';
CALL refresh('2025-04-21');
SELECT count(*) AS book1_on_list FROM ptl WHERE ppid = 'BOOK1';
SELECT p.ppid, r.clock_stop, r.outcome FROM rtt_period r JOIN pathway p USING (pathway_id) WHERE p.ppid = 'BOOK1';

-- Going back in time recomputes everything.
CALL refresh('2025-03-31');
SELECT census, full_refresh, pathways_computed FROM refresh_run ORDER BY run_id DESC LIMIT 1;

-- Settings are a history; the latest row is in force (Q2: stop a discharge after a DNA on the DNA's date).
INSERT INTO rtt_setting (dna_discharge_stop) VALUES ('dna_date');
SELECT dna_discharge_stop, death_stop FROM rtt_setting_in_force();
CALL refresh('2025-03-31', "full" => true);
SELECT p.ppid, r.clock_stop, r.days_waited, r.week_band FROM rtt_period r JOIN pathway p USING (pathway_id) WHERE p.ppid = 'DNA1';

-- Headline measures per provider and specialty, with totals.
SELECT * FROM ptl_headline ORDER BY provider_org NULLS LAST, treatment_function NULLS LAST;

-- A bad census is refused.
CALL refresh(NULL);
ROLLBACK;
\ir sql/include/small_ics_drop.sql
