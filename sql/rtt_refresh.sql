-- ptl.refresh() and the PTL: clocks stored per pathway, who reports a
-- transferred pathway, incremental refresh, census snapshots, settings.
-- The small ICS built here is kept for rtt_return and rtt_validation, which
-- run next; rtt_validation removes it.
SET search_path = ptl, public;
INSERT INTO organisation (org_code, name, org_kind) VALUES ('QAA', 'Test ICB', 'ics');
INSERT INTO organisation (org_code, name, parent_org_code) VALUES
    ('RA1', 'Alpha Hospitals NHS Trust', 'QAA'), ('RA2', 'Beta Hospitals NHS Trust', 'QAA');
INSERT INTO site (site_code, org_code, name) VALUES ('RA101', 'RA1', 'Alpha General'), ('RA201', 'RA2', 'Beta General');
INSERT INTO commissioner (commissioner_code, name) VALUES ('01A', 'Test Sub-ICB');
INSERT INTO batch (batch_id, org_code, source_system) VALUES (901, 'RA1', 'PAS'), (902, 'RA2', 'PAS');

-- A pathway with its patient and events: events are 'date kind [status [ref_date]]',
-- ';'-separated ('-' for no status).  nhs 'auto' gives each patient its own valid number.
CREATE FUNCTION public.rtt_test_pathway(provider text, ppid text, tfc text, events text,
    priority ptl.referral_priority DEFAULT 'routine', issuer text DEFAULT 'RA1',
    nhs text DEFAULT 'auto', born date DEFAULT '1960-01-01', died date DEFAULT NULL, ubrn text DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    b bigint := CASE provider WHEN 'RA1' THEN 901 ELSE 902 END;
    prefix bigint := 400000000 + abs(hashtext(provider || ppid)) % 1000000;
    pat bigint; pw bigint; e text; f text[]; n int := 0;
BEGIN
    IF nhs = 'auto' THEN
        WHILE NOT ptl.nhs_number_valid(prefix::text || ((11 - (SELECT sum(substr(prefix::text, i, 1)::int * (11 - i))
                                                              FROM generate_series(1, 9) i) % 11) % 11)::text) LOOP
            prefix := prefix + 1;
        END LOOP;
        nhs := prefix::text || ((11 - (SELECT sum(substr(prefix::text, i, 1)::int * (11 - i))
                                      FROM generate_series(1, 9) i) % 11) % 11)::text;
    END IF;
    INSERT INTO ptl.patient (org_code, source_system, local_patient_id, nhs_number, nhs_number_as_recorded,
                             date_of_birth, date_of_death, batch_id)
    VALUES (provider, 'PAS', 'P-' || ppid,
            CASE WHEN ptl.nhs_number_valid(nhs) THEN nhs::ptl.nhs_number END,
            CASE WHEN NOT ptl.nhs_number_valid(nhs) THEN nhs END, born, died, b)
    RETURNING patient_id INTO pat;
    INSERT INTO ptl.pathway (patient_id, provider_org, ppid, ppid_issuer, ubrn, treatment_function,
                             referral_priority, referral_received, commissioner_code, batch_id)
    VALUES (pat, provider, ppid, issuer, ubrn, tfc, priority, split_part(events, ' ', 1)::date, '01A', b)
    RETURNING pathway_id INTO pw;
    FOREACH e IN ARRAY string_to_array(events, ';') LOOP
        f := regexp_split_to_array(trim(e), '\s+');
        n := n + 1;
        INSERT INTO ptl.pathway_event (pathway_id, patient_id, event_ref, event_date, kind, rtt_status, ref_date, batch_id)
        VALUES (pw, pat, 'E' || n, f[1]::date, f[2]::ptl.event_kind, nullif(f[3], '-')::ptl.rtt_status, f[4]::date, b);
    END LOOP;
    RETURN pw;
END $$;

-- MOVE1 is transferred from RA1 to RA2 on 2025-01-27: RA2 keeps the PPID and
-- the original start (4.8).  BOOK1 has an admission date offered for after
-- the census.  DNA1 is discharged after a later DNA (Q2).
SELECT count(rtt_test_pathway(provider, ppid, tfc, events)) AS pathways
FROM (VALUES
    ('RA1', 'WAIT1', '110', '2024-11-25 referral; 2025-01-06 outpatient 10; 2025-01-06 decision_to_admit 20'),
    ('RA1', 'DONE1', '130', '2024-11-11 referral; 2025-03-10 admission 30'),
    ('RA1', 'NULL1', '120', '2024-12-02 referral; 2025-01-20 dna 33'),
    ('RA1', 'MOVE1', '100', '2025-01-02 referral; 2025-01-27 transfer_out 21'),
    ('RA2', 'MOVE1', '100', '2025-01-28 transfer_in 20 2025-01-02'),
    ('RA2', 'BOOK1', '110', '2024-10-01 referral; 2024-12-02 decision_to_admit 20; 2025-03-03 tci_offer - 2025-04-14'),
    ('RA2', 'DNA1', '330', '2024-10-07 referral; 2024-11-04 outpatient 10; 2025-02-10 dna 20; 2025-02-14 discharge 34')
) v (provider, ppid, tfc, events);

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
