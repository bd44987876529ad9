-- The small ICS of the RTT scripts (rtt_refresh, rtt_refresh_link,
-- rtt_return, rtt_validation): an ICB, two trusts with a site each, a
-- commissioner, a batch per trust, the helper rtt_test_pathway and seven
-- pathways.  Each script builds it first (\ir sql/include/small_ics.sql)
-- and removes it last (sql/include/small_ics_drop.sql), so it runs alone or
-- in any order.
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
